//! MCMC over a kernel density of the rows, restricted to the region of the constraints and the
//! condition: Metropolis–Hastings (Gaussian random walk), MALA (Langevin proposal with a
//! Metropolis correction) and unadjusted Langevin (reflected at the region's walls).
//!
//! The density is a mixture over real rows: a product Gaussian kernel on the standardised
//! numbers (one bandwidth, Scott's rule for the dimension) times an Aitchison–Aitken kernel per
//! label column whose mismatch mass is one pseudo-row spread over the table (λ = (k − 1)/N), so
//! a label seen in five rows borrows about a sixth of its shape from the rest and a label seen
//! once about half. Its kernels reach past the observed range, so a chain can walk into a tail
//! region that no real row reaches (a magnitude above the largest observed), which a bootstrap
//! or an empirical copula cannot.
//!
//! Local moves (the random walk or the Langevin step) are mixed with independence jumps from
//! the kernel mixture given the current labels (one step in ten): the target's own conditional,
//! accepted whenever it lands in the region, so chains cross between modes — a rare class far
//! from the bulk — that local moves alone would not. Labels move by Metropolis steps among the
//! allowed ones.
//!
//! Every chain starts inside the region and never leaves it: proposals outside are rejected
//! (MH, MALA) or reflected back (unadjusted Langevin). Chains are seeded by number, so the same
//! seed gives the same rows whatever the thread count. The report carries the acceptance rate,
//! the effective sample size per column (Geyer's initial positive sequence over the pooled
//! chains) and split-R̂ over chains.

use crate::region::{Region, Regions, regions};
use crate::table::{Role, Table, Values};
use crate::{Condition, GenError, Model, Sample, assemble, stream};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Rows kept as kernel centres when fitting.
const MAX_ROWS: usize = 50_000;
/// Kernel centres used by one sampling run (inside the region first).
const MAX_CENTRES: usize = 2048;
/// Steps before the first row of a chain (adapting the step size), and between rows.
const BURN_IN: usize = 400;
const THIN: usize = 4;
/// Rows per chain at most; more rows get more chains.
const CHAIN_ROWS: usize = 4096;
const MIN_CHAINS: usize = 4;
/// Share of steps that are independence jumps from the kernel mixture.
const JUMP: f64 = 0.1;

/// The three samplers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sampler {
    /// Gaussian random walk with a Metropolis–Hastings correction.
    Metropolis,
    /// Metropolis-adjusted Langevin: a gradient step plus noise, then the correction.
    Mala,
    /// Unadjusted Langevin: a gradient step plus noise, reflected at the region's walls.
    Langevin,
}

impl Sampler {
    /// The acceptance rate the step size is tuned toward (Roberts & Rosenthal's optima).
    fn target(self) -> f64 {
        match self {
            Sampler::Metropolis => 0.234,
            Sampler::Mala => 0.574,
            Sampler::Langevin => f64::NAN,
        }
    }
}

/// What the chains report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Diagnostics {
    pub sampler: Sampler,
    pub chains: usize,
    pub burn_in: usize,
    pub thin: usize,
    /// Share of accepted moves of the numbers after burn-in (1 for unadjusted Langevin).
    pub acceptance_rate: f64,
    /// Share of accepted label moves after burn-in (none when there are no label columns).
    pub label_acceptance_rate: Option<f64>,
    /// Share of steps after burn-in that were accepted independence jumps.
    pub jump_share: f64,
    /// The tuned step, in standard deviations of the standardised columns.
    pub step_size: f64,
    /// Kernel bandwidth in standard deviations.
    pub bandwidth: f64,
    /// Kernel centres used: real rows inside the region and outside it (weighted).
    pub centres_inside: usize,
    pub centres_outside: usize,
    /// Effective sample size per numeric column over all chains.
    pub ess: Vec<(String, f64)>,
    /// Split-R̂ per numeric column over chains (1 is converged; above 1.01 is suspect).
    pub r_hat: Vec<(String, f64)>,
    pub min_ess: Option<f64>,
    pub max_r_hat: Option<f64>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Kde {
    template: Table,
    /// Numeric columns (not identifiers) with their mean and standard deviation.
    numeric: Vec<(usize, f64, f64)>,
    /// Label columns with their number of levels and kernel mismatch mass λ.
    labels: Vec<(usize, usize, f64)>,
    /// Standardised numbers of the kept rows, row-major (a null is the mean).
    points: Vec<f64>,
    /// Label codes of the kept rows, row-major (u32::MAX for null).
    codes: Vec<u32>,
    /// The share of nulls per column.
    null_shares: Vec<f64>,
    bandwidth: f64,
    sampler: Sampler,
}

/// The standardised box of every numeric dimension and the allowed codes of every label one.
type Boxes = (Vec<(f64, f64)>, Vec<Vec<u32>>);

/// The kernel centres of one run.
struct Centres {
    points: Vec<f64>,
    codes: Vec<u32>,
    log_weights: Vec<f64>,
}

impl Kde {
    pub fn fit(table: &Table, sampler: Sampler, smoothing: f64) -> Result<Self, GenError> {
        let n = table.rows();
        let mut numeric = Vec::new();
        let mut labels = Vec::new();
        let mut null_shares = Vec::with_capacity(table.columns.len());
        for (c, column) in table.columns.iter().enumerate() {
            match &column.values {
                Values::Numbers { values, .. } => {
                    let present: Vec<f64> = values.iter().flatten().copied().collect();
                    null_shares.push(1.0 - present.len() as f64 / n as f64);
                    if column.role == Role::Id {
                        continue;
                    }
                    if present.is_empty() {
                        continue;
                    }
                    let mean = present.iter().sum::<f64>() / present.len() as f64;
                    let sd = (present.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
                        / present.len().max(2).saturating_sub(1) as f64)
                        .sqrt();
                    // A constant column keeps a unit scale: its kernels still have a width.
                    let sd = if sd > 0.0 && sd.is_finite() { sd } else { mean.abs().max(1.0) * 1e-3 };
                    numeric.push((c, mean, sd));
                }
                Values::Labels { levels, codes, .. } => {
                    let present = codes.iter().flatten().count();
                    null_shares.push(1.0 - present as f64 / n as f64);
                    if column.role == Role::Id || present == 0 {
                        continue;
                    }
                    let k = levels.len().max(2);
                    let lambda = ((k - 1) as f64 / n as f64).min((k - 1) as f64 / k as f64);
                    labels.push((c, levels.len(), lambda));
                }
            }
        }
        if numeric.is_empty() && labels.is_empty() {
            return Err(GenError::Input("the table has no column to learn from".into()));
        }
        // Rows kept as centres: all, or an even subsample of a large table.
        let kept: Vec<usize> =
            if n <= MAX_ROWS { (0..n).collect() } else { (0..MAX_ROWS).map(|k| k * n / MAX_ROWS).collect() };
        let mut points = Vec::with_capacity(kept.len() * numeric.len());
        let mut codes = Vec::with_capacity(kept.len() * labels.len());
        for &row in &kept {
            for &(c, mean, sd) in &numeric {
                let Values::Numbers { values, .. } = &table.columns[c].values else { unreachable!() };
                points.push(values[row].map_or(0.0, |v| (v - mean) / sd));
            }
            for &(c, _, _) in &labels {
                let Values::Labels { codes: column, .. } = &table.columns[c].values else { unreachable!() };
                codes.push(column[row].unwrap_or(u32::MAX));
            }
        }
        let d = numeric.len() as f64;
        let factor = if smoothing > 0.0 { smoothing } else { 1.0 };
        let bandwidth = factor * (4.0 / (d + 2.0)).powf(1.0 / (d + 4.0)) * (n as f64).powf(-1.0 / (d + 4.0));
        Ok(Self {
            template: table.select(&[]),
            numeric,
            labels,
            points,
            codes,
            null_shares,
            bandwidth,
            sampler,
        })
    }

    fn rows(&self) -> usize {
        if self.numeric.is_empty() {
            self.codes.len() / self.labels.len()
        } else {
            self.points.len() / self.numeric.len()
        }
    }

    /// The standardised box of each numeric dimension and the allowed codes of each label one.
    fn boxes(&self, regions: &Regions) -> Result<Boxes, GenError> {
        let bounds = self
            .numeric
            .iter()
            .map(|&(c, mean, sd)| match regions.columns[c].0 {
                Region::Numbers { lo, hi } => ((lo - mean) / sd, (hi - mean) / sd),
                Region::Labels { .. } => unreachable!("regions follow the columns"),
            })
            .collect();
        let mut allowed = Vec::with_capacity(self.labels.len());
        for &(c, levels, _) in &self.labels {
            let Region::Labels { allowed: a } = &regions.columns[c].0 else {
                unreachable!("regions follow the columns")
            };
            let codes: Vec<u32> = match a {
                Some(a) => a.clone(),
                None => (0..levels as u32).collect(),
            };
            if codes.is_empty() {
                return Err(GenError::Impossible(format!(
                    "no label of {} is allowed",
                    self.template.columns[c].name
                )));
            }
            allowed.push(codes);
        }
        Ok((bounds, allowed))
    }

    /// Kernel centres for a run: real rows inside the region first, then the others, each
    /// group subsampled evenly with weights that keep the mixture unbiased.
    fn centres(&self, bounds: &[(f64, f64)], allowed: &[Vec<u32>], seed: u64) -> (Centres, usize, usize) {
        let (d, l) = (self.numeric.len(), self.labels.len());
        let rows = self.rows();
        let inside_row = |r: usize| {
            (0..d).all(|k| {
                let v = self.points[r * d + k];
                v >= bounds[k].0 && v <= bounds[k].1
            }) && (0..l).all(|k| allowed[k].contains(&self.codes[r * l + k]))
        };
        let (inside, outside): (Vec<usize>, Vec<usize>) = (0..rows).partition(|&r| inside_row(r));
        let mut rng = stream(seed ^ 0x6B64_6563, 0);
        let mut pick = |from: &[usize], room: usize| -> (Vec<usize>, f64) {
            if from.len() <= room {
                return (from.to_vec(), 1.0);
            }
            // An even subsample from a random offset.
            let offset: f64 = rng.random();
            let step = from.len() as f64 / room as f64;
            let chosen =
                (0..room).map(|k| from[((offset + k as f64) * step) as usize % from.len()]).collect();
            (chosen, step)
        };
        let (chosen_inside, w_inside) = pick(&inside, MAX_CENTRES / 2);
        let room = MAX_CENTRES - chosen_inside.len();
        let (chosen_outside, w_outside) = pick(&outside, room);
        let mut centres = Centres { points: Vec::new(), codes: Vec::new(), log_weights: Vec::new() };
        for (rows, weight) in [(&chosen_inside, w_inside), (&chosen_outside, w_outside)] {
            for &r in rows {
                centres.points.extend_from_slice(&self.points[r * d..(r + 1) * d]);
                centres.codes.extend_from_slice(&self.codes[r * l..(r + 1) * l]);
                centres.log_weights.push(weight.ln());
            }
        }
        (centres, inside.len(), outside.len())
    }

    /// The log Aitchison–Aitken kernel of a centre's labels at `labels`.
    fn label_kernel(&self, centre: &[u32], labels: &[u32]) -> f64 {
        self.labels
            .iter()
            .zip(centre.iter().zip(labels))
            .map(
                |(&(_, levels, lambda), (c, l))| {
                    if c == l { (1.0 - lambda).ln() } else { (lambda / (levels.max(2) - 1) as f64).ln() }
                },
            )
            .sum()
    }

    /// log p(x, labels) up to a constant, and its gradient in x if asked.
    fn log_density(&self, centres: &Centres, x: &[f64], labels: &[u32], grad: Option<&mut [f64]>) -> f64 {
        let (d, l) = (self.numeric.len(), self.labels.len());
        let h2 = self.bandwidth * self.bandwidth;
        let m = centres.log_weights.len();
        let mut terms = Vec::with_capacity(m);
        let mut max = f64::NEG_INFINITY;
        for i in 0..m {
            let p = &centres.points[i * d..(i + 1) * d];
            let mut t = centres.log_weights[i];
            let mut sq = 0.0;
            for k in 0..d {
                sq += (x[k] - p[k]).powi(2);
            }
            t -= sq / (2.0 * h2);
            t += self.label_kernel(&centres.codes[i * l..(i + 1) * l], labels);
            max = max.max(t);
            terms.push(t);
        }
        if max == f64::NEG_INFINITY {
            return f64::NEG_INFINITY;
        }
        let mut total = 0.0;
        for t in &mut terms {
            *t = (*t - max).exp();
            total += *t;
        }
        if let Some(grad) = grad {
            grad.iter_mut().for_each(|g| *g = 0.0);
            for (i, w) in terms.iter().enumerate() {
                let p = &centres.points[i * d..(i + 1) * d];
                for k in 0..d {
                    grad[k] += w * (p[k] - x[k]);
                }
            }
            grad.iter_mut().for_each(|g| *g /= total * h2);
        }
        max + total.ln()
    }

    /// One chain: a start inside the region, burn-in with step-size adaptation, then `rows`
    /// draws `THIN` steps apart.
    fn chain(
        &self,
        centres: &Centres,
        bounds: &[(f64, f64)],
        allowed: &[Vec<u32>],
        rows: usize,
        rng: &mut rand::rngs::Xoshiro256PlusPlus,
    ) -> Result<Chain, GenError> {
        let (d, l) = (self.numeric.len(), self.labels.len());
        let m = centres.log_weights.len();
        let mut out = Chain {
            rows,
            x: Vec::with_capacity(rows * d),
            labels: Vec::with_capacity(rows * l),
            moves: 0,
            accepted: 0,
            label_moves: 0,
            label_accepted: 0,
            jumps: 0,
            step: 0.0,
        };
        if rows == 0 {
            return Ok(out);
        }
        // Start at a random centre's labels (made allowed), and a draw of the kernel mixture
        // given them inside the region if one comes in a few tries, else clamped into it.
        let start = if m == 0 { 0 } else { rng.random_range(0..m) };
        let mut labels: Vec<u32> = (0..l)
            .map(|k| {
                let code = centres.codes.get(start * l + k).copied().unwrap_or(u32::MAX);
                if allowed[k].contains(&code) {
                    code
                } else {
                    allowed[k][rng.random_range(0..allowed[k].len())]
                }
            })
            .collect();
        let mut x = vec![0.0; d];
        for attempt in 0..100 {
            let draw = self.jump(centres, &labels, rng);
            let inside = (0..d).all(|k| draw[k] >= bounds[k].0 && draw[k] <= bounds[k].1);
            if inside || attempt == 99 {
                x = (0..d).map(|k| clamp_into(draw[k], bounds[k])).collect();
                break;
            }
        }
        let mut grad = vec![0.0; d];
        let mut log_p = self.log_density(centres, &x, &labels, Some(&mut grad));
        if !log_p.is_finite() {
            return Err(GenError::Impossible(
                "the fitted density has no mass inside the region (it lies too far from every real row)"
                    .into(),
            ));
        }
        let h = self.bandwidth;
        // Step sizes in the standardised space: a random walk of about the kernel width, a
        // Langevin step a little smaller.
        let mut log_step = match self.sampler {
            Sampler::Metropolis => (2.38 * h / (d.max(1) as f64).sqrt()).ln(),
            Sampler::Mala | Sampler::Langevin => (h / (d.max(1) as f64).powf(1.0 / 6.0)).ln(),
        };
        let mut proposal = vec![0.0; d];
        let mut proposal_grad = vec![0.0; d];
        let total = BURN_IN + rows * THIN;
        for t in 0..total {
            let burning = t < BURN_IN;
            let step = log_step.exp();
            // Now and then an independence jump from the kernel mixture given the labels: it is
            // the target's own conditional, so it is accepted whenever it lands in the region,
            // and it carries the chain between modes that local moves cannot cross.
            if d > 0 && rng.random::<f64>() < JUMP {
                let jump = self.jump(centres, &labels, rng);
                if (0..d).all(|k| jump[k] >= bounds[k].0 && jump[k] <= bounds[k].1) {
                    let log_q = self.log_density(centres, &jump, &labels, Some(&mut proposal_grad[..]));
                    if log_q.is_finite() {
                        x.copy_from_slice(&jump);
                        grad.copy_from_slice(&proposal_grad);
                        log_p = log_q;
                        if !burning {
                            out.jumps += 1;
                        }
                    }
                }
            } else if d > 0 {
                match self.sampler {
                    Sampler::Metropolis => {
                        for k in 0..d {
                            let e: f64 = StandardNormal.sample(rng);
                            proposal[k] = x[k] + step * e;
                        }
                    }
                    Sampler::Mala | Sampler::Langevin => {
                        for k in 0..d {
                            let e: f64 = StandardNormal.sample(rng);
                            proposal[k] = x[k] + 0.5 * step * step * grad[k] + step * e;
                        }
                    }
                }
                if self.sampler == Sampler::Langevin {
                    for k in 0..d {
                        proposal[k] = reflect(proposal[k], bounds[k]);
                    }
                }
                let inside = (0..d).all(|k| proposal[k] >= bounds[k].0 && proposal[k] <= bounds[k].1);
                let mut accept_probability = 0.0;
                if inside {
                    let want_grad = self.sampler != Sampler::Metropolis;
                    let log_q = self.log_density(
                        centres,
                        &proposal,
                        &labels,
                        want_grad.then_some(&mut proposal_grad[..]),
                    );
                    let log_alpha = match self.sampler {
                        Sampler::Metropolis => log_q - log_p,
                        Sampler::Mala => {
                            // log q(x | x') − log q(x' | x) of the Langevin proposals.
                            let s2 = step * step;
                            let (mut back, mut forth) = (0.0, 0.0);
                            for k in 0..d {
                                back += (x[k] - proposal[k] - 0.5 * s2 * proposal_grad[k]).powi(2);
                                forth += (proposal[k] - x[k] - 0.5 * s2 * grad[k]).powi(2);
                            }
                            log_q - log_p - (back - forth) / (2.0 * s2)
                        }
                        Sampler::Langevin => 0.0,
                    };
                    accept_probability = if log_alpha.is_nan() { 0.0 } else { log_alpha.min(0.0).exp() };
                    let accept =
                        self.sampler == Sampler::Langevin || rng.random::<f64>() < accept_probability;
                    if accept && log_q.is_finite() {
                        x.copy_from_slice(&proposal);
                        if want_grad {
                            grad.copy_from_slice(&proposal_grad);
                        }
                        log_p = log_q;
                        if !burning {
                            out.accepted += 1;
                        }
                    }
                } else if self.sampler == Sampler::Langevin {
                    // Reflection keeps every proposal inside; only rounding lands here.
                    for k in 0..d {
                        x[k] = clamp_into(proposal[k], bounds[k]);
                    }
                    log_p = self.log_density(centres, &x, &labels, Some(&mut grad));
                    if !burning {
                        out.accepted += 1;
                    }
                }
                if !burning {
                    out.moves += 1;
                }
                if burning && self.sampler != Sampler::Langevin {
                    // Robbins–Monro toward the target acceptance rate.
                    log_step += (accept_probability - self.sampler.target()) / ((t + 1) as f64).sqrt();
                    log_step = log_step.clamp((1e-4 * h).ln(), (10.0f64).ln());
                }
            }
            // One label column: a uniform proposal among its allowed labels.
            if l > 0 {
                let k = rng.random_range(0..l);
                if allowed[k].len() > 1 {
                    let before = labels[k];
                    labels[k] = allowed[k][rng.random_range(0..allowed[k].len())];
                    let want_grad = self.sampler != Sampler::Metropolis;
                    let log_q =
                        self.log_density(centres, &x, &labels, want_grad.then_some(&mut proposal_grad[..]));
                    let accept = log_q.is_finite() && rng.random::<f64>().ln() < log_q - log_p;
                    if accept {
                        log_p = log_q;
                        if want_grad {
                            grad.copy_from_slice(&proposal_grad);
                        }
                    } else {
                        labels[k] = before;
                    }
                    if !burning {
                        out.label_moves += 1;
                        out.label_accepted += usize::from(accept);
                    }
                }
            }
            if !burning && (t - BURN_IN + 1).is_multiple_of(THIN) {
                out.x.extend_from_slice(&x);
                out.labels.extend_from_slice(&labels);
            }
        }
        out.step = log_step.exp();
        Ok(out)
    }
}

impl Kde {
    /// A draw of the numbers from the kernel mixture given the labels: a centre by its weight
    /// times its label kernel, then its Gaussian kernel.
    fn jump(&self, centres: &Centres, labels: &[u32], rng: &mut rand::rngs::Xoshiro256PlusPlus) -> Vec<f64> {
        let (d, l) = (self.numeric.len(), self.labels.len());
        let m = centres.log_weights.len();
        if m == 0 {
            return vec![0.0; d];
        }
        let logs: Vec<f64> = (0..m)
            .map(|i| centres.log_weights[i] + self.label_kernel(&centres.codes[i * l..(i + 1) * l], labels))
            .collect();
        let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = logs.iter().map(|t| (t - max).exp()).collect();
        let mut u = rng.random::<f64>() * weights.iter().sum::<f64>();
        let mut chosen = m - 1;
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                chosen = i;
                break;
            }
            u -= w;
        }
        (0..d)
            .map(|k| {
                let e: f64 = StandardNormal.sample(rng);
                centres.points[chosen * d + k] + self.bandwidth * e
            })
            .collect()
    }
}

struct Chain {
    rows: usize,
    x: Vec<f64>,
    labels: Vec<u32>,
    moves: usize,
    accepted: usize,
    label_moves: usize,
    label_accepted: usize,
    jumps: usize,
    step: f64,
}

fn clamp_into(v: f64, (lo, hi): (f64, f64)) -> f64 {
    if lo > hi { lo } else { v.clamp(lo, hi) }
}

/// Reflects `v` at the walls of [lo, hi] (a few times at most, then clamps).
fn reflect(mut v: f64, (lo, hi): (f64, f64)) -> f64 {
    for _ in 0..4 {
        if v < lo {
            v = 2.0 * lo - v;
        } else if v > hi {
            v = 2.0 * hi - v;
        } else {
            return v;
        }
    }
    clamp_into(v, (lo, hi))
}

/// Effective sample size of several chains of equal length: N / (1 + 2 Σ ρ_t), the
/// autocorrelations averaged over chains and summed in pairs while the pair sum stays positive
/// (Geyer's initial positive sequence).
pub(crate) fn effective_sample_size(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    let n = chains.first().map_or(0, Vec::len);
    if m == 0 || n < 4 {
        return (m * n) as f64;
    }
    let means: Vec<f64> = chains.iter().map(|c| c.iter().sum::<f64>() / n as f64).collect();
    let autocovariance = |lag: usize| -> f64 {
        chains
            .iter()
            .zip(&means)
            .map(|(c, mean)| {
                (0..n - lag).map(|i| (c[i] - mean) * (c[i + lag] - mean)).sum::<f64>() / n as f64
            })
            .sum::<f64>()
            / m as f64
    };
    let variance = autocovariance(0);
    if variance <= 0.0 {
        return (m * n) as f64;
    }
    let mut sum = 0.0;
    let mut lag = 1;
    while lag + 1 < n {
        let pair = (autocovariance(lag) + autocovariance(lag + 1)) / variance;
        if pair <= 0.0 {
            break;
        }
        sum += pair;
        lag += 2;
    }
    let tau = (1.0 + 2.0 * sum).max(1.0 / (m * n) as f64);
    (m * n) as f64 / tau
}

/// Split-R̂ (Gelman et al.): every chain split in halves, between- against within-chain
/// variance.
pub(crate) fn split_r_hat(chains: &[Vec<f64>]) -> f64 {
    let halves: Vec<&[f64]> = chains
        .iter()
        .flat_map(|c| {
            let h = c.len() / 2;
            [&c[..h], &c[c.len() - h..]]
        })
        .collect();
    let n = halves.first().map_or(0, |h| h.len());
    if halves.len() < 2 || n < 2 {
        return f64::NAN;
    }
    let means: Vec<f64> = halves.iter().map(|h| h.iter().sum::<f64>() / n as f64).collect();
    let grand = means.iter().sum::<f64>() / means.len() as f64;
    let between =
        n as f64 * means.iter().map(|m| (m - grand).powi(2)).sum::<f64>() / (means.len() - 1) as f64;
    let within = halves
        .iter()
        .zip(&means)
        .map(|(h, m)| h.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1) as f64)
        .sum::<f64>()
        / halves.len() as f64;
    if within <= 0.0 {
        return if between <= 0.0 { 1.0 } else { f64::INFINITY };
    }
    let pooled = (n - 1) as f64 / n as f64 * within + between / n as f64;
    (pooled / within).sqrt()
}

impl crate::Generator for Kde {
    fn sample(&self, model: &Model, n: usize, condition: &Condition, seed: u64) -> Result<Sample, GenError> {
        let regions = regions(&self.template, &model.constraints, condition)?;
        let (bounds, allowed) = self.boxes(&regions)?;
        let (centres, inside, outside) = self.centres(&bounds, &allowed, seed);
        let mut warnings = Vec::new();
        if inside == 0 {
            warnings.push(
                "no real row lies inside the condition: the chains sample the kernels' tails there, an extrapolation"
                    .to_owned(),
            );
        } else if inside == 1 {
            warnings.push(
                "one real row lies inside the condition: the rows are that row's kernel, shaped by the others".to_owned(),
            );
        }
        let chains = MIN_CHAINS.max(n.div_ceil(CHAIN_ROWS));
        let per_chain = n.div_ceil(chains);
        let (d, l) = (self.numeric.len(), self.labels.len());
        let runs: Vec<Result<Chain, GenError>> = (0..chains)
            .into_par_iter()
            .map(|c| {
                let rows = per_chain.min(n.saturating_sub(c * per_chain));
                self.chain(&centres, &bounds, &allowed, rows, &mut stream(seed, c))
            })
            .collect();
        let runs = runs.into_iter().collect::<Result<Vec<_>, _>>()?;
        // Diagnostics over the chains' draws of each numeric column.
        let moves: usize = runs.iter().map(|r| r.moves).sum();
        let accepted: usize = runs.iter().map(|r| r.accepted).sum();
        let label_moves: usize = runs.iter().map(|r| r.label_moves).sum();
        let label_accepted: usize = runs.iter().map(|r| r.label_accepted).sum();
        let full: Vec<&Chain> = runs.iter().filter(|r| r.rows == per_chain).collect();
        let mut ess = Vec::new();
        let mut r_hat = Vec::new();
        if per_chain >= 8 && full.len() >= 2 {
            for (k, &(c, _, _)) in self.numeric.iter().enumerate() {
                let draws: Vec<Vec<f64>> =
                    full.iter().map(|r| (0..r.rows).map(|i| r.x[i * d + k]).collect()).collect();
                let name = self.template.columns[c].name.clone();
                ess.push((
                    name.clone(),
                    effective_sample_size(&draws) * runs.len() as f64 / full.len() as f64,
                ));
                r_hat.push((name, split_r_hat(&draws)));
            }
        }
        let diagnostics = Diagnostics {
            sampler: self.sampler,
            chains,
            burn_in: BURN_IN,
            thin: THIN,
            acceptance_rate: if moves == 0 { 1.0 } else { accepted as f64 / moves as f64 },
            jump_share: runs.iter().map(|r| r.jumps).sum::<usize>() as f64
                / runs.iter().map(|r| r.rows * THIN).sum::<usize>().max(1) as f64,
            label_acceptance_rate: (label_moves > 0).then(|| label_accepted as f64 / label_moves as f64),
            step_size: runs.iter().map(|r| r.step).sum::<f64>() / runs.len() as f64,
            bandwidth: self.bandwidth,
            centres_inside: inside,
            centres_outside: outside,
            min_ess: ess.iter().map(|e| e.1).min_by(f64::total_cmp),
            max_r_hat: r_hat.iter().map(|e| e.1).filter(|v| v.is_finite()).max_by(f64::total_cmp),
            ess,
            r_hat,
        };
        // Back to the columns; nulls independent of the chains, never where forbidden.
        let columns = self.template.columns.len();
        let mut numbers: Vec<Option<Vec<Option<f64>>>> = vec![None; columns];
        let mut codes: Vec<Option<Vec<Option<u32>>>> = vec![None; columns];
        let mut levels: Vec<Option<Vec<String>>> = vec![None; columns];
        let mut null_rng = stream(seed ^ 0x6E75_6C6C, 0);
        let null = |c: usize, rng: &mut rand::rngs::Xoshiro256PlusPlus| {
            let share = self.null_shares[c];
            regions.columns[c].1 && share > 0.0 && rng.random_bool(share.min(1.0))
        };
        for (c, column) in self.template.columns.iter().enumerate() {
            match &column.values {
                Values::Numbers { .. } => {
                    if let Some(k) = self.numeric.iter().position(|e| e.0 == c) {
                        let (_, mean, sd) = self.numeric[k];
                        let Region::Numbers { lo, hi } = regions.columns[c].0 else { unreachable!() };
                        let values = runs
                            .iter()
                            .flat_map(|r| (0..r.rows).map(move |i| r.x[i * d + k]))
                            .map(|z| (!null(c, &mut null_rng)).then(|| (mean + sd * z).clamp(lo, hi)))
                            .collect();
                        numbers[c] = Some(values);
                    } else if column.role == Role::Id {
                        numbers[c] = Some((0..n).map(|r| Some(r as f64)).collect());
                    } else {
                        numbers[c] = Some(vec![None; n]);
                    }
                }
                Values::Labels { levels: l_, .. } => {
                    if let Some(k) = self.labels.iter().position(|e| e.0 == c) {
                        let values = runs
                            .iter()
                            .flat_map(|r| (0..r.rows).map(move |i| r.labels[i * l + k]))
                            .map(|code| (!null(c, &mut null_rng)).then_some(code))
                            .collect();
                        codes[c] = Some(values);
                    } else {
                        codes[c] = Some(vec![None; n]);
                    }
                    levels[c] = Some(l_.clone());
                }
            }
        }
        let table = assemble(model, &levels, numbers, codes, seed)?;
        Ok(Sample { table, weights: None, warnings, mcmc: Some(diagnostics), tilt: None })
    }
}
