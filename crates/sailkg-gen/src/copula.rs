//! Gaussian copula: each column is mapped to a standard normal latent by its empirical
//! distribution (numbers: quantile knots with linear interpolation; labels: one interval of
//! [0, 1] per label, by frequency), the latents share one correlation matrix, and rows are drawn
//! from the multivariate normal and mapped back.
//!
//! Conditions and constraints are exact in the latent space: a number range is an interval of
//! its latent, a set of labels a union of intervals. The latents of restricted columns are drawn
//! from the multivariate normal truncated to those intervals (Gibbs sampling, each step an exact
//! univariate truncated normal draw), the others from their exact conditional normal given them.
//! A label seen in a handful of rows is sampled directly and never gives up.
//!
//! Numeric margins carry generalised Pareto tails beyond their upper (and, for columns that go
//! below zero, lower) 1–5 %, fitted by probability-weighted moments: unconditional rows exceed
//! the observed maximum about as often as the data's tail says, and a condition past every
//! observed value (a magnitude above the largest recorded) is sampled from the fitted tail
//! instead of refused.

use crate::normal::{self, Matrix};
use crate::region::{Region, regions};
use crate::table::{Table, Values};
use crate::{Condition, GenError, Model, Sample, assemble, blocks};
use rand::Rng;
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

/// Share of a tilted sample drawn from the untilted model (the defensive mixture).
const DEFENSIVE: f64 = 0.2;
/// Quantile knots kept per numeric column.
const KNOTS: usize = 4096;
/// Gibbs sweeps before the first row of a block, and between rows.
const BURN_IN: usize = 40;
const THIN: usize = 3;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Margin {
    /// Sorted quantile knots (empty: the column was all null).
    Numbers {
        knots: Vec<f64>,
        null_share: f64,
        #[serde(default)]
        tails: Tails,
    },
    /// Levels in latent order (most frequent first) with cumulative shares (len + 1 values).
    Labels { order: Vec<u32>, cumulative: Vec<f64>, null_share: f64 },
    /// Identifiers: generated fresh, not modelled.
    Id,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Copula {
    /// The columns without rows: names, kinds and label levels, for regions and output.
    template: Table,
    margins: Vec<Margin>,
    /// The column of each latent dimension.
    dims: Vec<usize>,
    correlation: Matrix,
    /// How far the correlation was shrunk toward the identity to be positive definite.
    shrink: f64,
    /// Margins within the rare classes of label columns, for conditions that fix a class.
    #[serde(default)]
    classes: Vec<ClassMargins>,
}

/// The margins of every column within each rare class of one label column: a condition that
/// fixes the class samples the other columns' values from the class's own distributions (joined
/// by the global latent correlation) instead of shifting the global ones, so a class whose rows
/// look unlike the bulk keeps its look.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct ClassMargins {
    column: usize,
    /// Per level code: the margins (None: not rare, or too few rows to copy no row).
    levels: Vec<Option<Vec<Margin>>>,
    /// Per level code: hashes of the class's real rows, so that no generated row copies one.
    #[serde(default)]
    rows: Vec<Vec<u64>>,
}

/// A hash of one row's values on every non-identifier column (numbers by their bits, labels by
/// their codes), as exact copies are judged.
fn row_hash(table: &Table, row: usize) -> u64 {
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    let mut mix = |v: u64| {
        hash ^= v;
        hash = hash.wrapping_mul(0x0100_0000_01B3).rotate_left(17);
    };
    for (c, column) in table.columns.iter().enumerate() {
        if column.role == crate::Role::Id {
            continue;
        }
        mix(c as u64);
        match &column.values {
            Values::Numbers { values, .. } => mix(values[row].map_or(u64::MAX, |v| (v + 0.0).to_bits())),
            Values::Labels { codes, .. } => mix(codes[row].map_or(u64::MAX, u64::from)),
        }
    }
    hash
}

/// A class gets its own margins from this many rows (fewer: its values would be near copies).
const CLASS_MIN_ROWS: usize = 10;
/// ... and when it holds at most this share of the rows.
const CLASS_MAX_SHARE: f64 = 0.2;
/// Label columns with more levels keep only the global margins.
const CLASS_MAX_LEVELS: usize = 64;
/// Quantile knots kept per class margin.
const CLASS_KNOTS: usize = 512;

impl Margin {
    fn numbers(values: &[Option<f64>]) -> (Self, Vec<Option<f64>>) {
        let n = values.len();
        let mut present: Vec<(f64, usize)> =
            values.iter().enumerate().filter_map(|(i, v)| v.map(|v| (v, i))).collect();
        let null_share = if n == 0 { 1.0 } else { 1.0 - present.len() as f64 / n as f64 };
        present.sort_by(|a, b| a.0.total_cmp(&b.0));
        let m = present.len();
        // Latent of each row: Φ⁻¹ of its mid-rank, ties sharing their average rank.
        let mut latent = vec![None; n];
        let mut i = 0;
        while i < m {
            let mut j = i;
            while j + 1 < m && present[j + 1].0 == present[i].0 {
                j += 1;
            }
            let rank = (i + j) as f64 / 2.0 + 0.5;
            let z = normal::quantile(rank / m as f64);
            for &(_, row) in &present[i..=j] {
                latent[row] = Some(z);
            }
            i = j + 1;
        }
        let knots: Vec<f64> = if m <= KNOTS {
            present.iter().map(|p| p.0).collect()
        } else {
            (0..KNOTS).map(|k| present[k * (m - 1) / (KNOTS - 1)].0).collect()
        };
        let tails = Tails::fit(&present.iter().map(|p| p.0).collect::<Vec<_>>(), &knots);
        (Margin::Numbers { knots, null_share, tails }, latent)
    }

    /// Labels take intervals of the latent in an order that lets one correlation carry their
    /// dependence: by their mean latent in the numeric column they explain best (largest
    /// correlation ratio), so that, say, a state's airports sit where their latitudes are; by
    /// frequency when no numeric column depends on them.
    fn labels(
        codes: &[Option<u32>],
        levels: usize,
        numeric: &[Vec<Option<f64>>],
    ) -> (Self, Vec<Option<f64>>) {
        let n = codes.len();
        let mut counts = vec![0usize; levels];
        for code in codes.iter().flatten() {
            counts[*code as usize] += 1;
        }
        let present: usize = counts.iter().sum();
        let null_share = if n == 0 { 1.0 } else { 1.0 - present as f64 / n as f64 };
        let mut order: Vec<u32> = (0..levels as u32).filter(|&c| counts[c as usize] > 0).collect();
        let mut best: Option<(f64, Vec<f64>)> = None;
        for latent in numeric {
            let (mut sums, mut seen) = (vec![0.0; levels], vec![0usize; levels]);
            let (mut total, mut total_sq, mut m) = (0.0, 0.0, 0usize);
            for (code, z) in codes.iter().zip(latent) {
                if let (Some(code), Some(z)) = (code, z) {
                    sums[*code as usize] += z;
                    seen[*code as usize] += 1;
                    total += z;
                    total_sq += z * z;
                    m += 1;
                }
            }
            if m < 3 {
                continue;
            }
            let mean = total / m as f64;
            let variance = total_sq - m as f64 * mean * mean;
            let means: Vec<f64> =
                (0..levels).map(|k| if seen[k] > 0 { sums[k] / seen[k] as f64 } else { mean }).collect();
            let between: f64 = (0..levels).map(|k| seen[k] as f64 * (means[k] - mean).powi(2)).sum();
            let ratio = if variance > 0.0 { between / variance } else { 0.0 };
            if ratio > 0.01 && best.as_ref().is_none_or(|(r, _)| ratio > *r) {
                best = Some((ratio, means));
            }
        }
        match &best {
            Some((_, means)) => {
                order.sort_by(|a, b| means[*a as usize].total_cmp(&means[*b as usize]).then(a.cmp(b)))
            }
            None => order.sort_by(|a, b| counts[*b as usize].cmp(&counts[*a as usize]).then(a.cmp(b))),
        }
        let mut cumulative = vec![0.0];
        for &code in &order {
            cumulative
                .push(cumulative.last().unwrap() + counts[code as usize] as f64 / present.max(1) as f64);
        }
        *cumulative.last_mut().unwrap() = 1.0;
        let mut mid = vec![0.0; levels];
        for (k, &code) in order.iter().enumerate() {
            mid[code as usize] = normal::quantile((cumulative[k] + cumulative[k + 1]) / 2.0);
        }
        let latent = codes.iter().map(|c| c.map(|c| mid[c as usize])).collect();
        (Margin::Labels { order, cumulative, null_share }, latent)
    }

    fn null_share(&self) -> f64 {
        match self {
            Margin::Numbers { null_share, .. } | Margin::Labels { null_share, .. } => *null_share,
            Margin::Id => 0.0,
        }
    }
}

/// The value at probability `u` of sorted knots, interpolated.
fn knot_quantile(knots: &[f64], u: f64) -> f64 {
    let position = u.clamp(0.0, 1.0) * (knots.len() - 1) as f64;
    let i = (position.floor() as usize).min(knots.len() - 1);
    let next = (i + 1).min(knots.len() - 1);
    knots[i] + (knots[next] - knots[i]) * (position - i as f64)
}

/// The smallest probability whose value is ≥ x (None: above every knot).
fn knot_at_least(knots: &[f64], x: f64) -> Option<f64> {
    let last = (knots.len() - 1) as f64;
    if knots.len() == 1 {
        return (x <= knots[0]).then_some(0.0);
    }
    let i = knots.partition_point(|&k| k < x);
    if i == 0 {
        Some(0.0)
    } else if i == knots.len() {
        None
    } else {
        Some((i as f64 - 1.0 + (x - knots[i - 1]) / (knots[i] - knots[i - 1])) / last)
    }
}

/// The largest probability whose value is ≤ x (None: below every knot).
fn knot_at_most(knots: &[f64], x: f64) -> Option<f64> {
    let last = (knots.len() - 1) as f64;
    if knots.len() == 1 {
        return (x >= knots[0]).then_some(1.0);
    }
    let j = knots.partition_point(|&k| k <= x);
    if j == 0 {
        None
    } else if j == knots.len() {
        Some(1.0)
    } else {
        let j = j - 1;
        Some((j as f64 + (x - knots[j]) / (knots[j + 1] - knots[j])) / last)
    }
}

/// A generalised Pareto tail beyond a threshold: P(X > x) = p·(1 + ξ(x − t)/σ)^(−1/ξ).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
struct Tail {
    /// Probability beyond the threshold.
    p: f64,
    threshold: f64,
    xi: f64,
    sigma: f64,
}

impl Tail {
    /// Fits exceedances over `threshold` by probability-weighted moments (Hosking & Wallis
    /// 1987); ξ is kept in [−1, 0.9] (−1: a uniform's tail, ending near the maximum).
    fn fit(mut exceedances: Vec<f64>, p: f64, threshold: f64) -> Option<Self> {
        let n = exceedances.len();
        if n < 10 {
            return None;
        }
        exceedances.sort_by(f64::total_cmp);
        let a0 = exceedances.iter().sum::<f64>() / n as f64;
        let a1 =
            exceedances.iter().enumerate().map(|(j, y)| y * (n - 1 - j) as f64 / (n - 1) as f64).sum::<f64>()
                / n as f64;
        let denominator = a0 - 2.0 * a1;
        if denominator <= 0.0 || a0 <= 0.0 {
            return None;
        }
        let xi = (2.0 - a0 / denominator).clamp(-1.0, 0.9);
        let sigma = 2.0 * a0 * a1 / denominator;
        (sigma > 0.0 && sigma.is_finite()).then_some(Self { p, threshold, xi, sigma })
    }

    /// The value whose exceedance probability is s (0 < s ≤ p).
    fn value(&self, s: f64) -> f64 {
        let ratio = self.p / s;
        if self.xi.abs() < 1e-9 {
            self.threshold + self.sigma * ratio.ln()
        } else {
            self.threshold + self.sigma / self.xi * (ratio.powf(self.xi) - 1.0)
        }
    }

    /// P(X > x) for x ≥ the threshold (0 past a bounded tail's end).
    fn survival(&self, x: f64) -> f64 {
        let y = (x - self.threshold) / self.sigma;
        if self.xi.abs() < 1e-9 {
            return self.p * (-y).exp();
        }
        let base = 1.0 + self.xi * y;
        if base <= 0.0 { 0.0 } else { self.p * base.powf(-1.0 / self.xi) }
    }

    /// The largest value the tail reaches (infinite unless ξ < 0).
    fn end(&self) -> f64 {
        if self.xi < 0.0 { self.threshold - self.sigma / self.xi } else { f64::INFINITY }
    }
}

/// The tails of a numeric margin, so that the copula reaches past the observed range the way
/// the data's extremes suggest: a generalised Pareto beyond the upper tail (and the lower one
/// when the column goes below zero — a count or an amount never does), each holding about 200
/// of the values (between the outer 1 % and 5 %). Between them the empirical knots.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Tails {
    upper: Option<Tail>,
    /// Fitted on the negated values.
    lower: Option<Tail>,
}

impl Tails {
    fn fit(values: &[f64], knots: &[f64]) -> Self {
        let m = values.len();
        let mut distinct: Vec<f64> = knots.to_vec();
        distinct.dedup();
        if m < 100 || distinct.len() < 30 {
            return Self::default();
        }
        // About 200 exceedances (at least 20), between the top 1 % and the top 5 %.
        let p = if m < 400 { 20.0 / m as f64 } else { (200.0 / m as f64).clamp(0.01, 0.05) };
        let high = knot_quantile(knots, 1.0 - p);
        let upper = Tail::fit(values.iter().filter(|v| **v > high).map(|v| v - high).collect(), p, high);
        let low = knot_quantile(knots, p);
        let lower = if knots[0] < 0.0 {
            Tail::fit(values.iter().filter(|v| **v < low).map(|v| low - v).collect(), p, -low)
        } else {
            None
        };
        Self { upper, lower }
    }

    /// The value at latent z.
    fn value(&self, knots: &[f64], z: f64) -> f64 {
        if let Some(t) = &self.upper {
            let s = normal::survival(z);
            if s < t.p {
                return t.value(s);
            }
        }
        if let Some(t) = &self.lower {
            let c = normal::cdf(z);
            if c < t.p {
                return -t.value(c);
            }
        }
        knot_quantile(knots, normal::cdf(z))
    }

    /// The latent interval whose values lie in [lo, hi].
    fn latent_interval(&self, knots: &[f64], lo: f64, hi: f64) -> Option<(f64, f64)> {
        let at_least = |x: f64| -> Option<f64> {
            match (&self.upper, &self.lower) {
                (Some(t), _) if x > t.threshold => {
                    let s = t.survival(x);
                    (s > 0.0).then(|| -normal::quantile(s))
                }
                (_, Some(t)) if x < -t.threshold => {
                    let s = t.survival(-x);
                    Some(if s > 0.0 { normal::quantile(s) } else { f64::NEG_INFINITY })
                }
                _ => knot_at_least(knots, x).map(normal::quantile),
            }
        };
        let at_most = |x: f64| -> Option<f64> {
            match (&self.upper, &self.lower) {
                (Some(t), _) if x > t.threshold => {
                    let s = t.survival(x);
                    Some(if s > 0.0 { -normal::quantile(s) } else { f64::INFINITY })
                }
                (_, Some(t)) if x < -t.threshold => {
                    let s = t.survival(-x);
                    (s > 0.0).then(|| normal::quantile(s))
                }
                _ => knot_at_most(knots, x).map(normal::quantile),
            }
        };
        let (a, b) = (at_least(lo)?, at_most(hi)?);
        (a <= b).then_some((a, b))
    }

    fn lowest(&self, knots: &[f64]) -> f64 {
        self.lower.map_or(knots[0], |t| -t.end())
    }

    fn highest(&self, knots: &[f64]) -> f64 {
        self.upper.map_or(knots[knots.len() - 1], |t| t.end())
    }
}

impl Copula {
    pub fn fit(table: &Table) -> Result<Self, GenError> {
        let n = table.rows();
        let mut margins = Vec::new();
        let mut latents: Vec<Vec<Option<f64>>> = Vec::new();
        let mut dims = Vec::new();
        // Numbers first: the order of labels depends on them.
        let numeric: Vec<Option<(Margin, Vec<Option<f64>>)>> = table
            .columns
            .iter()
            .map(|column| match (&column.values, column.role) {
                (Values::Numbers { values, .. }, role) if role != crate::Role::Id => {
                    Some(Margin::numbers(values))
                }
                _ => None,
            })
            .collect();
        let numeric_latents: Vec<Vec<Option<f64>>> =
            numeric.iter().flatten().map(|(_, l)| l.clone()).collect();
        for ((c, column), numbers) in table.columns.iter().enumerate().zip(numeric) {
            let (margin, latent) = match (&column.values, column.role) {
                (_, crate::Role::Id) => (Margin::Id, None),
                (Values::Numbers { .. }, _) => {
                    let (m, l) = numbers.expect("numbers were fitted");
                    (m, Some(l))
                }
                (Values::Labels { codes, levels, .. }, _) => {
                    let (m, l) = Margin::labels(codes, levels.len(), &numeric_latents);
                    (m, Some(l))
                }
            };
            margins.push(margin);
            if let Some(latent) = latent {
                dims.push(c);
                latents.push(latent);
            }
        }
        let d = dims.len();
        let mut values = vec![0.0; d * d];
        for a in 0..d {
            values[a * d + a] = 1.0;
            for b in a + 1..d {
                let r = pairwise_correlation(&latents[a], &latents[b], n);
                values[a * d + b] = r;
                values[b * d + a] = r;
            }
        }
        let correlation = Matrix { n: d, values };
        let (_, shrink) = correlation.cholesky_shrunk();
        let classes = class_margins(table, &margins);
        // The columns without rows: names, kinds and levels, for regions and output.
        let template = table.select(&[]);
        Ok(Self { template, margins, dims, correlation, shrink, classes })
    }

    /// The class a condition fixes, if the model has margins for it: (column, level, margins,
    /// hashes of the class's real rows).
    fn fixed_class(&self, regions: &crate::region::Regions) -> Option<(usize, u32, &[Margin], &[u64])> {
        self.classes.iter().find_map(|class| match &regions.columns[class.column].0 {
            Region::Labels { allowed: Some(allowed) } if allowed.len() == 1 => {
                let level = allowed[0];
                let margins = class.levels.get(level as usize)?.as_deref()?;
                let rows = class.rows.get(level as usize).map_or(&[][..], Vec::as_slice);
                Some((class.column, level, margins, rows))
            }
            _ => None,
        })
    }

    /// Rows of a fixed class from its own margins; rows that copy a real row of the class are
    /// drawn again (a class's values can be few), up to eight times.
    #[allow(clippy::too_many_arguments)]
    fn sample_class(
        &self,
        model: &Model,
        regions: &crate::region::Regions,
        (column, level, margins, real): (usize, u32, &[Margin], &[u64]),
        n: usize,
        seed: u64,
        warnings: &mut Vec<String>,
    ) -> Result<Table, GenError> {
        let mut boxes = self.boxes(margins, regions)?;
        if let Some(k) = self.dims.iter().position(|&c| c == column) {
            boxes[k] = vec![(f64::NEG_INFINITY, f64::INFINITY)];
        }
        let draw = |n: usize, seed: u64| -> Result<Table, GenError> {
            let latents = self.latents(n, seed, &boxes, &vec![0.0; self.dims.len()]);
            let mut table = self.decode(margins, model, regions, &latents, n, seed)?;
            if let Values::Labels { codes, .. } = &mut table.columns[column].values {
                codes.iter_mut().for_each(|c| *c = Some(level));
            }
            Ok(table)
        };
        let real: std::collections::HashSet<u64> = real.iter().copied().collect();
        let mut table = draw(n, seed)?;
        for attempt in 1..=8u64 {
            let copies: Vec<usize> = (0..n).filter(|&r| real.contains(&row_hash(&table, r))).collect();
            if copies.is_empty() {
                return Ok(table);
            }
            if attempt == 8 {
                warnings.push(format!(
                    "{} rows equal real rows of the class: its values are too few to vary",
                    copies.len()
                ));
                break;
            }
            let again = draw(copies.len(), seed ^ attempt.wrapping_mul(0x9E37_79B9_7F4A_7C15))?;
            for (j, &r) in copies.iter().enumerate() {
                for (target, source) in table.columns.iter_mut().zip(&again.columns) {
                    match (&mut target.values, &source.values) {
                        _ if target.role == crate::Role::Id => {}
                        (Values::Numbers { values, .. }, Values::Numbers { values: from, .. }) => {
                            values[r] = from[j]
                        }
                        (Values::Labels { codes, .. }, Values::Labels { codes: from, .. }) => {
                            codes[r] = from[j]
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(table)
    }

    /// Importance sampling toward a tail region by exponential tilting: the latent normal
    /// N(0, Σ) becomes N(Σθ, Σ), with θ chosen so that the restricted latents' mean moves to
    /// their mean inside the region (the minimum-KL tilt). A fifth of the rows come from the
    /// untilted model (a defensive mixture, so no weight exceeds 5), and every row carries its
    /// self-normalised weight p / (0.2 p + 0.8 p·exp(θᵀz − θᵀΣθ/2)). Rows stay inside the constraints by
    /// construction; the region itself is not imposed, so the weighted rows estimate the
    /// probability of the region under the model, reported with its variance reduction over
    /// plain Monte Carlo.
    pub fn sample_tilted(
        &self,
        model: &Model,
        n: usize,
        region: &Condition,
        seed: u64,
    ) -> Result<Sample, GenError> {
        if region.is_empty() {
            return Err(GenError::Input(
                "tilting needs the tail region to tilt toward: give it as the condition (--where)".into(),
            ));
        }
        let constrained = regions(&self.template, &model.constraints, &Condition::default())?;
        let boxes = self.boxes(&self.margins, &constrained)?;
        let tail_regions = regions(&self.template, &model.constraints, region)?;
        let tail = self.boxes(&self.margins, &tail_regions)?;
        let d = self.dims.len();
        let tilted: Vec<usize> = (0..d).filter(|&k| tail[k] != boxes[k]).collect();
        if tilted.is_empty() {
            return Err(GenError::Input(
                "the tail region restricts no modelled column beyond the constraints: nothing to tilt toward"
                    .into(),
            ));
        }
        // Target means: the standard normal's mean inside each tilted latent's region.
        let target: Vec<f64> = tilted.iter().map(|&k| truncated_mean(&tail[k])).collect();
        let sigma = |i: usize, j: usize| {
            let v = self.correlation.get(i, j);
            if i == j { v } else { (1.0 - self.shrink) * v }
        };
        let block: Vec<Vec<f64>> =
            tilted.iter().map(|&i| tilted.iter().map(|&j| sigma(i, j)).collect()).collect();
        let theta_r = normal::solve(&block, &target)
            .ok_or_else(|| GenError::Input("the tilted columns are collinear in the latent space".into()))?;
        let mean: Vec<f64> =
            (0..d).map(|i| tilted.iter().zip(&theta_r).map(|(&j, t)| sigma(i, j) * t).sum()).collect();
        let quadratic: f64 = theta_r.iter().zip(&target).map(|(t, m)| t * m).sum();
        // A defensive mixture (Hesterberg): a share of the rows from the model itself keeps
        // the weights bounded by 1/share; the rest from the tilted model.
        let untilted = ((DEFENSIVE * n as f64).round() as usize).min(n);
        let mut latents = self.latents(untilted, seed ^ 0x6465_6665, &boxes, &vec![0.0; d]);
        latents.extend(self.latents(n - untilted, seed, &boxes, &mean));
        let table = self.decode(&self.margins, model, &constrained, &latents, n, seed)?;
        // The mixture's components are truncated to the constraints' box: their masses there,
        // from untruncated draws, correct the mixture density.
        let (mass, tilted_mass) =
            if (0..d).any(|k| boxes[k].len() != 1 || boxes[k][0] != (f64::NEG_INFINITY, f64::INFINITY)) {
                let free = Plan::new(&self.correlation, &[], self.shrink);
                let inside = |mean: &[f64], stream_seed: u64| {
                    let draws = 20_000;
                    let hits: usize = blocks(draws, stream_seed, |_, range, rng| {
                        let mut z = vec![0.0; d];
                        range
                            .filter(|_| {
                                free.complete(rng, &[], &mut z);
                                (0..d).all(|k| {
                                    boxes[k].iter().any(|&(a, b)| z[k] + mean[k] >= a && z[k] + mean[k] <= b)
                                })
                            })
                            .count()
                    })
                    .into_iter()
                    .sum();
                    (hits as f64 + 0.5) / (draws as f64 + 1.0)
                };
                (inside(&vec![0.0; d], seed ^ 0x6D61_7373), inside(&mean, seed ^ 0x6D61_7374))
            } else {
                (1.0, 1.0)
            };
        let share = untilted as f64 / n.max(1) as f64;
        // w = p̃(z) / (share·p̃(z) + (1 − share)·p̃_θ(z)), the densities truncated and renormalised.
        let raw: Vec<f64> = (0..n)
            .map(|r| {
                let z = &latents[r * d..(r + 1) * d];
                let log_ratio =
                    tilted.iter().zip(&theta_r).map(|(&k, t)| t * z[k]).sum::<f64>() - quadratic / 2.0;
                1.0 / (share + (1.0 - share) * (log_ratio.exp() * mass / tilted_mass))
            })
            .collect();
        let total: f64 = raw.iter().sum();
        let weights: Vec<f64> = raw.iter().map(|w| w * n as f64 / total).collect();
        let hits: Vec<bool> = (0..n)
            .map(|r| {
                tilted.iter().all(|&k| {
                    tail[k].iter().any(|&(a, b)| latents[r * d + k] >= a && latents[r * d + k] <= b)
                })
            })
            .collect();
        let sum_w: f64 = weights.iter().sum();
        let estimate = weights.iter().zip(&hits).filter(|(_, h)| **h).map(|(w, _)| w).sum::<f64>() / sum_w;
        let variance_is = weights
            .iter()
            .zip(&hits)
            .map(|(w, h)| (w * (f64::from(u8::from(*h)) - estimate)).powi(2))
            .sum::<f64>()
            / (sum_w * sum_w);
        let variance_plain = estimate * (1.0 - estimate) / n as f64;
        let ess = sum_w * sum_w / weights.iter().map(|w| w * w).sum::<f64>();
        let report = TiltReport {
            region: region.text.clone(),
            tilted_columns: tilted
                .iter()
                .map(|&k| self.template.columns[self.dims[k]].name.clone())
                .collect(),
            latent_shift: tilted.iter().map(|&k| mean[k]).collect(),
            rows_in_region_share: hits.iter().filter(|h| **h).count() as f64 / n.max(1) as f64,
            effective_sample_size: ess,
            probability: estimate,
            standard_error: variance_is.sqrt(),
            plain_monte_carlo_standard_error: variance_plain.sqrt(),
            variance_reduction: if variance_is > 0.0 { variance_plain / variance_is } else { f64::NAN },
        };
        let mut warnings = self.warnings();
        if ess < 0.05 * n as f64 {
            warnings.push(format!(
                "the importance weights are uneven (effective sample size {ess:.0} of {n}): the tilt is far from the model"
            ));
        }
        Ok(Sample { table, weights: Some(weights), warnings, mcmc: None, tilt: Some(report) })
    }

    fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.shrink > 0.0 {
            warnings.push(format!(
                "the latent correlation matrix was shrunk by {:.1e} toward the identity (collinear or constant columns)",
                self.shrink
            ));
        }
        warnings
    }

    /// The latent intervals of every dimension inside `regions`, through `margins`.
    fn boxes(
        &self,
        margins: &[Margin],
        regions: &crate::region::Regions,
    ) -> Result<Vec<Vec<(f64, f64)>>, GenError> {
        let mut boxes: Vec<Vec<(f64, f64)>> = Vec::with_capacity(self.dims.len());
        for &c in &self.dims {
            let name = &self.template.columns[c].name;
            let (region, nullable) = &regions.columns[c];
            let intervals = match (&margins[c], region) {
                (Margin::Numbers { knots, tails, .. }, Region::Numbers { lo, hi }) => {
                    if knots.is_empty() {
                        if !nullable {
                            return Err(GenError::Impossible(format!("{name} has no values to learn from")));
                        }
                        vec![(f64::NEG_INFINITY, f64::INFINITY)]
                    } else {
                        let interval = tails.latent_interval(knots, *lo, *hi).ok_or_else(|| {
                            GenError::Impossible(format!(
                                "{name} must lie in [{lo}, {hi}], but its fitted margin ranges over [{}, {}] (values range over [{}, {}]; {})",
                                tails.lowest(knots),
                                tails.highest(knots),
                                knots[0],
                                knots[knots.len() - 1],
                                "the mh and langevin methods reach further"
                            ))
                        })?;
                        vec![interval]
                    }
                }
                (Margin::Labels { order, cumulative, .. }, Region::Labels { allowed }) => {
                    let mut intervals: Vec<(f64, f64)> = Vec::new();
                    for (k, code) in order.iter().enumerate() {
                        if allowed.as_ref().is_none_or(|a| a.contains(code)) {
                            let (a, b) =
                                (normal::quantile(cumulative[k]), normal::quantile(cumulative[k + 1]));
                            match intervals.last_mut() {
                                Some(last) if last.1 == a => last.1 = b,
                                _ => intervals.push((a, b)),
                            }
                        }
                    }
                    if intervals.is_empty() {
                        if order.is_empty() && *nullable {
                            intervals.push((f64::NEG_INFINITY, f64::INFINITY));
                        } else {
                            return Err(GenError::Impossible(format!(
                                "none of the allowed labels of {name} occurs in the data"
                            )));
                        }
                    }
                    intervals
                }
                _ => unreachable!("regions follow the columns"),
            };
            boxes.push(intervals);
        }
        Ok(boxes)
    }

    /// n latent rows (row-major) from N(mean, Σ) truncated to the boxes.
    fn latents(&self, n: usize, seed: u64, boxes: &[Vec<(f64, f64)>], mean: &[f64]) -> Vec<f64> {
        // Work with y = z − mean ~ N(0, Σ) in shifted boxes.
        let boxes: Vec<Vec<(f64, f64)>> = boxes
            .iter()
            .zip(mean)
            .map(|(b, m)| b.iter().map(|(lo, hi)| (lo - m, hi - m)).collect())
            .collect();
        let restricted: Vec<usize> = (0..self.dims.len())
            .filter(|&k| boxes[k].len() != 1 || boxes[k][0] != (f64::NEG_INFINITY, f64::INFINITY))
            .collect();
        let plan = Plan::new(&self.correlation, &restricted, self.shrink);
        let d = self.dims.len();
        let latents: Vec<Vec<f64>> = blocks(n, seed, |_, range, rng| {
            let mut out = Vec::with_capacity(range.len() * d);
            let mut state: Vec<f64> =
                restricted.iter().map(|&k| draw_union(rng, 0.0, 1.0, &boxes[k])).collect();
            for _ in 0..BURN_IN {
                plan.sweep(rng, &mut state, &restricted, &boxes);
            }
            let mut z = vec![0.0; d];
            for i in range.clone() {
                if i > range.start {
                    for _ in 0..THIN {
                        plan.sweep(rng, &mut state, &restricted, &boxes);
                    }
                }
                plan.complete(rng, &state, &mut z);
                for (v, m) in z.iter_mut().zip(mean) {
                    *v += m;
                }
                out.extend_from_slice(&z);
            }
            out
        });
        latents.into_iter().flatten().collect()
    }

    /// Latent rows back to values in `regions`, through `margins` (the global ones or a class's).
    fn decode(
        &self,
        margins: &[Margin],
        model: &Model,
        regions: &crate::region::Regions,
        latents: &[f64],
        n: usize,
        seed: u64,
    ) -> Result<Table, GenError> {
        let d = self.dims.len();
        // Nulls: independent of the latents, never where the region forbids them.
        let nulls: Vec<Vec<bool>> = blocks(n, seed ^ 0x6E75_6C6C, |_, range, rng| {
            range
                .flat_map(|_| {
                    self.dims
                        .iter()
                        .map(|&c| {
                            let share = margins[c].null_share();
                            regions.columns[c].1 && share > 0.0 && rng.random_bool(share.min(1.0))
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        });
        let nulls: Vec<bool> = nulls.into_iter().flatten().collect();
        let columns = self.template.columns.len();
        let mut numbers: Vec<Option<Vec<Option<f64>>>> = vec![None; columns];
        let mut codes: Vec<Option<Vec<Option<u32>>>> = vec![None; columns];
        let mut levels: Vec<Option<Vec<String>>> = vec![None; columns];
        for (c, column) in self.template.columns.iter().enumerate() {
            if let (Margin::Id, Values::Labels { .. }) = (&margins[c], &column.values) {
                codes[c] = Some(vec![None; n]);
            } else if let Margin::Id = margins[c] {
                numbers[c] = Some((0..n).map(|r| Some(r as f64)).collect());
            }
        }
        for (k, &c) in self.dims.iter().enumerate() {
            let latent = (0..n).map(|r| (latents[r * d + k], nulls[r * d + k]));
            match (&margins[c], &regions.columns[c].0, &self.template.columns[c].values) {
                (Margin::Numbers { knots, tails, .. }, Region::Numbers { lo, hi }, _) => {
                    numbers[c] = Some(
                        latent
                            .map(|(z, null)| {
                                (!null && !knots.is_empty()).then(|| tails.value(knots, z).clamp(*lo, *hi))
                            })
                            .collect(),
                    );
                }
                (Margin::Labels { order, cumulative, .. }, _, Values::Labels { levels: l, .. }) => {
                    codes[c] = Some(
                        latent
                            .map(|(z, null)| {
                                if null || order.is_empty() {
                                    return None;
                                }
                                let u = normal::cdf(z);
                                let k = cumulative[1..].partition_point(|&c| c < u).min(order.len() - 1);
                                Some(order[k])
                            })
                            .collect(),
                    );
                    levels[c] = Some(l.clone());
                }
                _ => unreachable!("margins follow the columns"),
            }
        }
        assemble(model, &levels, numbers, codes, seed)
    }
}

/// What tilting reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TiltReport {
    pub region: String,
    pub tilted_columns: Vec<String>,
    /// The latent mean of each tilted column under the proposal.
    pub latent_shift: Vec<f64>,
    /// Share of the rows that fall in the region (under the model alone it is `probability`).
    pub rows_in_region_share: f64,
    /// (Σw)² / Σw².
    pub effective_sample_size: f64,
    /// The self-normalised estimate of the region's probability under the model.
    pub probability: f64,
    pub standard_error: f64,
    /// The standard error plain Monte Carlo would have with as many rows.
    pub plain_monte_carlo_standard_error: f64,
    /// Variance of plain Monte Carlo over that of the tilted estimate.
    pub variance_reduction: f64,
}

/// The mean of a standard normal restricted to a union of intervals.
fn truncated_mean(intervals: &[(f64, f64)]) -> f64 {
    let density =
        |x: f64| if x.is_finite() { (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt() } else { 0.0 };
    let (mut mass, mut first) = (0.0, 0.0);
    for &(a, b) in intervals {
        mass += if a >= 0.0 {
            normal::survival(a) - normal::survival(b)
        } else {
            normal::cdf(b) - normal::cdf(a)
        };
        first += density(a) - density(b);
    }
    if mass > 0.0 {
        first / mass
    } else {
        // Too far out for the mass to be represented: the nearest end.
        intervals
            .iter()
            .map(|&(a, b)| if a > 0.0 { a } else { b })
            .fold(0.0, |acc: f64, v| if v.abs() > acc.abs() { v } else { acc })
    }
}

/// Margins within the rare classes of every label column with few enough levels.
fn class_margins(table: &Table, margins: &[Margin]) -> Vec<ClassMargins> {
    let n = table.rows();
    let mut out = Vec::new();
    for (c, column) in table.columns.iter().enumerate() {
        let Values::Labels { codes, levels, .. } = &column.values else { continue };
        if column.role == crate::Role::Id || levels.len() > CLASS_MAX_LEVELS || levels.len() < 2 {
            continue;
        }
        let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); levels.len()];
        for (r, code) in codes.iter().enumerate() {
            if let Some(code) = code {
                rows_of[*code as usize].push(r);
            }
        }
        let per_level: Vec<Option<Vec<Margin>>> = rows_of
            .iter()
            .map(|rows| {
                if rows.len() < CLASS_MIN_ROWS || rows.len() as f64 > CLASS_MAX_SHARE * n as f64 {
                    return None;
                }
                Some(
                    table
                        .columns
                        .iter()
                        .zip(margins)
                        .map(|(other, global)| match (&other.values, global) {
                            (Values::Numbers { values, .. }, Margin::Numbers { .. }) => {
                                let subset: Vec<Option<f64>> = rows.iter().map(|&r| values[r]).collect();
                                let (margin, _) = Margin::numbers(&subset);
                                thin_knots(margin)
                            }
                            (Values::Labels { codes, .. }, Margin::Labels { order, .. }) => {
                                // The global order (the latent correlation is in its terms), the
                                // class's shares.
                                let mut counts =
                                    vec![0usize; order.iter().map(|&o| o as usize + 1).max().unwrap_or(0)];
                                let mut nulls = 0usize;
                                for &r in rows {
                                    match codes[r] {
                                        Some(code) if (code as usize) < counts.len() => {
                                            counts[code as usize] += 1
                                        }
                                        Some(_) => {}
                                        None => nulls += 1,
                                    }
                                }
                                let present = (rows.len() - nulls).max(1) as f64;
                                let mut cumulative = vec![0.0];
                                for &code in order {
                                    cumulative.push(
                                        cumulative.last().unwrap() + counts[code as usize] as f64 / present,
                                    );
                                }
                                *cumulative.last_mut().unwrap() = 1.0;
                                Margin::Labels {
                                    order: order.clone(),
                                    cumulative,
                                    null_share: nulls as f64 / rows.len() as f64,
                                }
                            }
                            _ => global.clone(),
                        })
                        .collect(),
                )
            })
            .collect();
        if per_level.iter().any(Option::is_some) {
            let rows = rows_of
                .iter()
                .zip(&per_level)
                .map(|(rows, margins)| match margins {
                    Some(_) => rows.iter().map(|&r| row_hash(table, r)).collect(),
                    None => Vec::new(),
                })
                .collect();
            out.push(ClassMargins { column: c, levels: per_level, rows });
        }
    }
    out
}

/// A numeric margin with at most `CLASS_KNOTS` knots.
fn thin_knots(margin: Margin) -> Margin {
    match margin {
        Margin::Numbers { knots, null_share, tails } if knots.len() > CLASS_KNOTS => {
            let m = knots.len();
            let knots = (0..CLASS_KNOTS).map(|k| knots[k * (m - 1) / (CLASS_KNOTS - 1)]).collect();
            Margin::Numbers { knots, null_share, tails }
        }
        other => other,
    }
}

fn pairwise_correlation(a: &[Option<f64>], b: &[Option<f64>], n: usize) -> f64 {
    let pairs: Vec<(f64, f64)> = (0..n).filter_map(|i| Some((a[i]?, b[i]?))).collect();
    if pairs.len() < 3 {
        return 0.0;
    }
    let m = pairs.len() as f64;
    let (ma, mb) = (pairs.iter().map(|p| p.0).sum::<f64>() / m, pairs.iter().map(|p| p.1).sum::<f64>() / m);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    if saa <= 0.0 || sbb <= 0.0 { 0.0 } else { (sab / (saa * sbb).sqrt()).clamp(-1.0, 1.0) }
}

/// A standard-form draw N(mean, sd²) restricted to a union of intervals.
fn draw_union(rng: &mut impl Rng, mean: f64, sd: f64, intervals: &[(f64, f64)]) -> f64 {
    let standard: Vec<(f64, f64)> =
        intervals.iter().map(|(a, b)| ((a - mean) / sd, (b - mean) / sd)).collect();
    let masses: Vec<f64> = standard
        .iter()
        .map(|&(a, b)| {
            if a >= 0.0 { normal::survival(a) - normal::survival(b) } else { normal::cdf(b) - normal::cdf(a) }
        })
        .collect();
    let total: f64 = masses.iter().sum();
    let chosen = if total > 0.0 && total.is_finite() {
        let mut u = normal::open_unit(rng) * total;
        let mut chosen = standard.len() - 1;
        for (k, m) in masses.iter().enumerate() {
            if u < *m {
                chosen = k;
                break;
            }
            u -= m;
        }
        chosen
    } else {
        // All mass underflows: the interval nearest the mean.
        (0..standard.len())
            .min_by(|&x, &y| {
                let distance = |(a, b): (f64, f64)| {
                    if a > 0.0 {
                        a
                    } else if b < 0.0 {
                        -b
                    } else {
                        0.0
                    }
                };
                distance(standard[x]).total_cmp(&distance(standard[y]))
            })
            .unwrap_or(0)
    };
    let (a, b) = standard[chosen];
    let z = normal::truncated(rng, a, b);
    (mean + sd * z).clamp(intervals[chosen].0, intervals[chosen].1)
}

/// Precomputed conditionals: Gibbs steps over the restricted dimensions, then the free ones
/// given them.
struct Plan {
    d: usize,
    /// For restricted dimension i (in `restricted` order): the weights of the others in its
    /// conditional mean, and its conditional standard deviation.
    gibbs: Vec<(Vec<f64>, f64)>,
    free: Vec<usize>,
    /// Free latents = gain · restricted + factor · ε.
    gain: Vec<Vec<f64>>,
    factor: Matrix,
    restricted: Vec<usize>,
}

impl Plan {
    fn new(correlation: &Matrix, restricted: &[usize], shrink: f64) -> Self {
        let d = correlation.n;
        let sigma = |i: usize, j: usize| {
            let v = correlation.get(i, j);
            if i == j { v } else { (1.0 - shrink) * v }
        };
        let free: Vec<usize> = (0..d).filter(|k| !restricted.contains(k)).collect();
        let m = restricted.len();
        let cc: Vec<Vec<f64>> =
            restricted.iter().map(|&i| restricted.iter().map(|&j| sigma(i, j)).collect()).collect();
        // Precision of the restricted block, column by column.
        let mut precision = vec![vec![0.0; m]; m];
        for j in 0..m {
            let mut unit = vec![0.0; m];
            unit[j] = 1.0;
            let column = normal::solve(&cc, &unit).unwrap_or(unit);
            for i in 0..m {
                precision[i][j] = column[i];
            }
        }
        let gibbs = (0..m)
            .map(|i| {
                let q = precision[i][i].max(1e-12);
                let weights = (0..m).map(|j| if i == j { 0.0 } else { -precision[i][j] / q }).collect();
                (weights, 1.0 / q.sqrt())
            })
            .collect();
        // gain = Σ_FC Σ_CC⁻¹; conditional covariance Σ_FF - gain Σ_CF.
        let gain: Vec<Vec<f64>> = free
            .iter()
            .map(|&f| {
                let fc: Vec<f64> = restricted.iter().map(|&c| sigma(f, c)).collect();
                (0..m).map(|j| (0..m).map(|k| fc[k] * precision[k][j]).sum()).collect()
            })
            .collect();
        let mut conditional = vec![0.0; free.len() * free.len()];
        for (a, &fa) in free.iter().enumerate() {
            for (b, &fb) in free.iter().enumerate() {
                let explained: f64 = (0..m).map(|k| gain[a][k] * sigma(restricted[k], fb)).sum();
                conditional[a * free.len() + b] = sigma(fa, fb) - explained;
            }
        }
        let (factor, _) = Matrix { n: free.len(), values: conditional }.cholesky_shrunk();
        Plan { d, gibbs, free, gain, factor, restricted: restricted.to_vec() }
    }

    fn sweep(&self, rng: &mut impl Rng, state: &mut [f64], restricted: &[usize], boxes: &[Vec<(f64, f64)>]) {
        for (i, (weights, sd)) in self.gibbs.iter().enumerate() {
            let mean: f64 = weights.iter().zip(state.iter()).map(|(w, z)| w * z).sum();
            state[i] = draw_union(rng, mean, *sd, &boxes[restricted[i]]);
        }
    }

    fn complete(&self, rng: &mut impl Rng, state: &[f64], z: &mut [f64]) {
        debug_assert_eq!(z.len(), self.d);
        for (i, &k) in self.restricted.iter().enumerate() {
            z[k] = state[i];
        }
        let f = self.free.len();
        let mut eps = [0.0f64; 64];
        let mut heap = Vec::new();
        let eps: &mut [f64] = if f <= 64 {
            &mut eps[..f]
        } else {
            heap.resize(f, 0.0);
            &mut heap
        };
        for e in eps.iter_mut() {
            *e = StandardNormal.sample(rng);
        }
        for (a, &k) in self.free.iter().enumerate() {
            let explained: f64 = self.gain[a].iter().zip(state).map(|(g, s)| g * s).sum();
            let noise: f64 =
                self.factor.values[a * f..=a * f + a].iter().zip(eps.iter()).map(|(l, e)| l * e).sum();
            z[k] = explained + noise;
        }
    }
}

impl crate::Generator for Copula {
    fn sample(&self, model: &Model, n: usize, condition: &Condition, seed: u64) -> Result<Sample, GenError> {
        let regions = regions(&self.template, &model.constraints, condition)?;
        if let Some(class) = self.fixed_class(&regions) {
            // The class's own margins; its label's latent is left free and its value fixed. A
            // condition the class's rows never reach falls back to the global margins.
            let mut warnings = self.warnings();
            if let Ok(table) = self.sample_class(model, &regions, class, n, seed, &mut warnings) {
                return Ok(Sample { table, weights: None, warnings, mcmc: None, tilt: None });
            }
        }
        let boxes = self.boxes(&self.margins, &regions)?;
        let latents = self.latents(n, seed, &boxes, &vec![0.0; self.dims.len()]);
        let table = self.decode(&self.margins, model, &regions, &latents, n, seed)?;
        Ok(Sample { table, weights: None, warnings: self.warnings(), mcmc: None, tilt: None })
    }
}
