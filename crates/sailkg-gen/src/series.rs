//! Time series: moving-block and stationary bootstraps, and fitted discretised SDEs —
//! Ornstein–Uhlenbeck, geometric Brownian motion, a zero-inflated wet/dry chain with log-normal
//! amounts for precipitation-like series — and autoregressions (order by AIC).
//!
//! Rare events by a change of measure: to make paths that reach a level common, the driving
//! Gaussian innovations get a drift δ under the sampling measure Q until the path reaches the
//! level (the discrete form of Girsanov's theorem with a drift stopped at the hitting time), and
//! every path carries its likelihood ratio dP/dQ. The drift starts at a random step (a path
//! may reach the level at any time) or, for a tenth of the paths, never; the ratio is that of
//! the whole mixture, 1 / (0.1 + 0.9 · meanₛ Π_{s≤t<τ} exp(δ eₜ − δ²/2)), so no path weighs
//! more than 10. Averages weighted by it are unbiased under
//! the fitted model; the report gives the event's probability so estimated, with its standard
//! error and the variance reduction against plain Monte Carlo run beside it.

use crate::table::{Column, NumberKind, Table, Values};
use crate::{GenError, stream};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Share of tilted paths that are drawn without drift (the defensive component).
const DEFENSIVE: f64 = 0.1;

/// The series methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeriesMethod {
    /// Blocks of a fixed length from random places, concatenated (Künsch).
    MovingBlock,
    /// Blocks of geometric length, wrapping around (Politis & Romano).
    StationaryBlock,
    /// Ornstein–Uhlenbeck: dX = κ(μ − X)dt + σ dW, exact discretisation.
    Ou,
    /// Geometric Brownian motion: d log X = m dt + v dW.
    Gbm,
    /// Wet/dry Markov chain with log-normal amounts on wet steps.
    ZeroInflated,
    /// Autoregression AR(p), Yule–Walker, p by AIC.
    Ar,
}

impl SeriesMethod {
    pub fn name(self) -> &'static str {
        match self {
            SeriesMethod::MovingBlock => "moving-block",
            SeriesMethod::StationaryBlock => "stationary-block",
            SeriesMethod::Ou => "ou",
            SeriesMethod::Gbm => "gbm",
            SeriesMethod::ZeroInflated => "zero-inflated",
            SeriesMethod::Ar => "ar",
        }
    }
}

/// Series read from a table: one or more value columns, split into groups, each in time order.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Series {
    pub columns: Vec<String>,
    /// Per group, per step, the values of every column.
    pub groups: Vec<Vec<Vec<f64>>>,
    /// The first time and the usual step, with the time column's name and kind.
    pub time: Option<(String, NumberKind, f64, f64)>,
}

impl Series {
    /// The series of `columns` in `table`, ordered by `time`, one per value of `by`. Rows with a
    /// null in any of the columns are left out.
    pub fn from_table(
        table: &Table,
        columns: &[String],
        time: Option<&str>,
        by: Option<&str>,
    ) -> Result<Self, GenError> {
        let number_column = |name: &str| -> Result<(&Vec<Option<f64>>, NumberKind), GenError> {
            let p = table.position(name).ok_or_else(|| {
                GenError::Input(format!(
                    "no column {name}; the table has {}",
                    table.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })?;
            match &table.columns[p].values {
                Values::Numbers { values, kind, .. } => Ok((values, *kind)),
                Values::Labels { .. } => Err(GenError::Input(format!("{name} must hold numbers or times"))),
            }
        };
        if columns.is_empty() {
            return Err(GenError::Input("name the series column(s)".into()));
        }
        let values: Vec<&Vec<Option<f64>>> =
            columns.iter().map(|c| number_column(c).map(|v| v.0)).collect::<Result<_, _>>()?;
        let time = time.map(|t| number_column(t).map(|(v, kind)| (t.to_owned(), v, kind))).transpose()?;
        let group_of: Vec<Option<String>> = match by {
            None => vec![None; table.rows()],
            Some(by) => {
                let p = table.position(by).ok_or_else(|| GenError::Input(format!("no column {by}")))?;
                (0..table.rows()).map(|r| table.columns[p].text(r)).collect()
            }
        };
        let mut order: Vec<Option<String>> = Vec::new();
        let mut rows_of: std::collections::HashMap<Option<String>, Vec<usize>> = Default::default();
        for (r, g) in group_of.iter().enumerate() {
            let complete = values.iter().all(|v| v[r].is_some_and(f64::is_finite))
                && time.as_ref().is_none_or(|(_, t, _)| t[r].is_some());
            if !complete {
                continue;
            }
            rows_of.entry(g.clone()).or_insert_with(|| {
                order.push(g.clone());
                Vec::new()
            });
            rows_of.get_mut(g).expect("inserted").push(r);
        }
        let mut groups = Vec::new();
        let mut steps = Vec::new();
        let mut first = f64::INFINITY;
        for g in &order {
            let mut rows = rows_of.remove(g).unwrap_or_default();
            if let Some((_, t, _)) = &time {
                rows.sort_by(|a, b| t[*a].unwrap_or(0.0).total_cmp(&t[*b].unwrap_or(0.0)));
                for w in rows.windows(2) {
                    let d = t[w[1]].unwrap_or(0.0) - t[w[0]].unwrap_or(0.0);
                    if d > 0.0 {
                        steps.push(d);
                    }
                }
                first = first.min(rows.first().and_then(|r| t[*r]).unwrap_or(f64::INFINITY));
            }
            groups.push(rows.iter().map(|&r| values.iter().map(|v| v[r].unwrap_or(0.0)).collect()).collect());
        }
        if groups.iter().all(|g: &Vec<Vec<f64>>| g.len() < 2) {
            return Err(GenError::Input(format!(
                "{} has fewer than two values in every series",
                columns.join(", ")
            )));
        }
        steps.sort_by(f64::total_cmp);
        let time = time.map(|(name, _, kind)| {
            let step = steps.get(steps.len() / 2).copied().unwrap_or(1.0);
            (name, kind, if first.is_finite() { first } else { 0.0 }, step)
        });
        Ok(Self { columns: columns.to_vec(), groups, time })
    }

    fn longest(&self) -> usize {
        self.groups.iter().map(Vec::len).max().unwrap_or(0)
    }

    /// All values of column `k`, group after group.
    pub fn values(&self, k: usize) -> Vec<f64> {
        self.groups.iter().flat_map(|g| g.iter().map(move |row| row[k])).collect()
    }
}

/// A fitted series model.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SeriesModel {
    pub method: SeriesMethod,
    pub series: Series,
    /// The fitted parameters, by name (for the report and the catalogue).
    pub parameters: Vec<(String, f64)>,
    params: Params,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Params {
    Block { length: usize },
    Ou { mu: f64, a: f64, s: f64 },
    Gbm { m: f64, v: f64, starts: Vec<f64> },
    ZeroInflated { p01: f64, p11: f64, m: f64, v: f64 },
    Ar { mean: f64, phi: Vec<f64>, sigma: f64 },
}

/// The rare event paths should reach: some step at or above (or at or below) a level.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    pub level: f64,
    pub above: bool,
}

/// What the change of measure gives.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EventReport {
    pub level: f64,
    pub above: bool,
    /// The innovations' drift under the sampling measure.
    pub drift: f64,
    /// Share of the generated paths that reach the level.
    pub paths_reaching_share: f64,
    /// The likelihood-ratio estimate of the probability that a path reaches the level.
    pub probability: f64,
    pub standard_error: f64,
    /// Plain Monte Carlo with as many paths, run beside it.
    pub plain_monte_carlo_probability: f64,
    pub plain_monte_carlo_hits: usize,
    /// The standard error plain Monte Carlo has at the estimated probability.
    pub plain_monte_carlo_standard_error: f64,
    /// Variance of plain Monte Carlo over that of the likelihood-ratio estimate.
    pub variance_reduction: f64,
    /// Mean likelihood ratio (1 in expectation).
    pub mean_likelihood_ratio: f64,
}

/// Generated paths as a table (`path`, `step`, the time if the series had one, the values and
/// `likelihood_ratio`), with the event report when there was an event.
#[derive(Debug, Clone)]
pub struct Paths {
    pub table: Table,
    pub likelihood_ratios: Vec<f64>,
    pub report: Option<EventReport>,
    pub warnings: Vec<String>,
}

impl SeriesModel {
    /// Fits `method`; `block` is the bootstrap's (mean) block length, `order` the largest AR
    /// order tried.
    pub fn fit(
        method: SeriesMethod,
        series: Series,
        block: Option<usize>,
        order: Option<usize>,
    ) -> Result<Self, GenError> {
        let univariate = || -> Result<Vec<Vec<f64>>, GenError> {
            if series.columns.len() != 1 {
                return Err(GenError::Input(format!(
                    "{} models one series; the block bootstraps take several",
                    method.name()
                )));
            }
            Ok(series.groups.iter().map(|g| g.iter().map(|r| r[0]).collect()).collect())
        };
        let (params, parameters) = match method {
            SeriesMethod::MovingBlock | SeriesMethod::StationaryBlock => {
                let total: usize = series.groups.iter().map(Vec::len).sum();
                let length = block.unwrap_or_else(|| ((total as f64).cbrt().round() as usize).max(2)).max(1);
                (Params::Block { length }, vec![("block_length".into(), length as f64)])
            }
            SeriesMethod::Ou => {
                let groups = univariate()?;
                let (a, b, s) = ar1(&groups)?;
                let a = a.clamp(1e-6, 0.999);
                let mu = b / (1.0 - a);
                let kappa = -a.ln();
                let sigma = s * (2.0 * kappa / (1.0 - a * a)).sqrt();
                (
                    Params::Ou { mu, a, s },
                    vec![("mu".into(), mu), ("kappa".into(), kappa), ("sigma".into(), sigma)],
                )
            }
            SeriesMethod::Gbm => {
                let groups = univariate()?;
                if groups.iter().flatten().any(|v| *v <= 0.0) {
                    return Err(GenError::Input(
                        "geometric Brownian motion needs positive values; for series with zeros use the zero-inflated model".into(),
                    ));
                }
                let returns: Vec<f64> =
                    groups.iter().flat_map(|g| g.windows(2).map(|w| (w[1] / w[0]).ln())).collect();
                let (m, v) = mean_sd(&returns);
                let starts = groups.iter().filter_map(|g| g.first().copied()).collect();
                (Params::Gbm { m, v, starts }, vec![("drift".into(), m), ("volatility".into(), v)])
            }
            SeriesMethod::ZeroInflated => {
                let groups = univariate()?;
                if groups.iter().flatten().any(|v| *v < 0.0) {
                    return Err(GenError::Input("the zero-inflated model needs values ≥ 0".into()));
                }
                let (mut n0, mut n01, mut n1, mut n11) = (0usize, 0usize, 0usize, 0usize);
                for g in &groups {
                    for w in g.windows(2) {
                        if w[0] > 0.0 {
                            n1 += 1;
                            n11 += usize::from(w[1] > 0.0);
                        } else {
                            n0 += 1;
                            n01 += usize::from(w[1] > 0.0);
                        }
                    }
                }
                let logs: Vec<f64> = groups.iter().flatten().filter(|v| **v > 0.0).map(|v| v.ln()).collect();
                if logs.is_empty() {
                    return Err(GenError::Input("the series is all zeros: nothing to model".into()));
                }
                let (m, v) = mean_sd(&logs);
                // Laplace's rule keeps both transitions possible.
                let p01 = (n01 as f64 + 0.5) / (n0 as f64 + 1.0);
                let p11 = (n11 as f64 + 0.5) / (n1 as f64 + 1.0);
                (
                    Params::ZeroInflated { p01, p11, m, v },
                    vec![
                        ("p_wet_after_dry".into(), p01),
                        ("p_wet_after_wet".into(), p11),
                        ("log_amount_mean".into(), m),
                        ("log_amount_sd".into(), v),
                    ],
                )
            }
            SeriesMethod::Ar => {
                let groups = univariate()?;
                let (mean, phi, sigma) = yule_walker(&groups, order.unwrap_or(5))?;
                let mut parameters = vec![("mean".into(), mean), ("sigma".into(), sigma)];
                parameters.extend(phi.iter().enumerate().map(|(k, p)| (format!("phi{}", k + 1), *p)));
                (Params::Ar { mean, phi, sigma }, parameters)
            }
        };
        Ok(Self { method, series, parameters, params })
    }

    /// `n` paths of `length` steps (default: the longest real series). With an event, the
    /// innovations are tilted toward it and each path carries its likelihood ratio.
    pub fn paths(
        &self,
        n: usize,
        length: Option<usize>,
        event: Option<Event>,
        seed: u64,
    ) -> Result<Paths, GenError> {
        let length = length.unwrap_or_else(|| self.series.longest()).max(1);
        let mut warnings = Vec::new();
        let drift = match event {
            None => 0.0,
            Some(event) => self.drift(event, length)?,
        };
        let k = self.series.columns.len();
        let reached_at = |values: &[f64]| -> usize {
            event
                .and_then(|event| {
                    values
                        .chunks(k)
                        .position(|v| if event.above { v[0] >= event.level } else { v[0] <= event.level })
                })
                .map_or(length, |t| t + 1)
        };
        // With an event: each path's drift starts at a random step, or never (a tenth of the
        // paths, so that no likelihood ratio exceeds 10).
        let run = |seed: u64, drift: f64| -> Vec<(Vec<f64>, f64)> {
            (0..n)
                .into_par_iter()
                .map(|p| {
                    let mut rng = stream(seed, p);
                    let tilt = match event {
                        Some(event) if drift != 0.0 => {
                            let start = if rng.random::<f64>() < DEFENSIVE {
                                usize::MAX
                            } else {
                                rng.random_range(0..length)
                            };
                            Tilt { drift, start, event: Some(event), reached: false, innovations: Vec::new() }
                        }
                        _ => Tilt::none(),
                    };
                    let (values, innovations) = self.path(length, tilt, &mut rng);
                    let lr = if drift == 0.0 {
                        1.0
                    } else {
                        likelihood_ratio(&innovations, reached_at(&values), drift, length, DEFENSIVE)
                    };
                    (values, lr.ln())
                })
                .collect()
        };
        let generated = run(seed, drift);
        let mut report = None;
        if let Some(event) = event {
            let reaches = |values: &[f64]| {
                let k = self.series.columns.len();
                values.chunks(k).any(|v| if event.above { v[0] >= event.level } else { v[0] <= event.level })
            };
            let weighted: Vec<f64> =
                generated.iter().map(|(v, log_lr)| if reaches(v) { log_lr.exp() } else { 0.0 }).collect();
            let (probability, sd) = mean_sd(&weighted);
            let plain = run(seed ^ 0x706C_6169_6E00, 0.0);
            let hits = plain.iter().filter(|(v, _)| reaches(v)).count();
            let variance = sd * sd / n as f64;
            let plain_variance = probability * (1.0 - probability) / n as f64;
            let lrs: Vec<f64> = generated.iter().map(|(_, l)| l.exp()).collect();
            report = Some(EventReport {
                level: event.level,
                above: event.above,
                drift,
                paths_reaching_share: generated.iter().filter(|(v, _)| reaches(v)).count() as f64 / n as f64,
                probability,
                standard_error: variance.sqrt(),
                plain_monte_carlo_probability: hits as f64 / n as f64,
                plain_monte_carlo_hits: hits,
                plain_monte_carlo_standard_error: plain_variance.sqrt(),
                variance_reduction: if variance > 0.0 { plain_variance / variance } else { f64::NAN },
                mean_likelihood_ratio: lrs.iter().sum::<f64>() / n as f64,
            });
            if weighted.iter().all(|w| *w == 0.0) {
                warnings
                    .push("no generated path reached the level: the estimate is 0 with no precision".into());
            }
        }
        // The table: path, step, time, values, likelihood ratio.
        let k = self.series.columns.len();
        let rows = n * length;
        let mut columns = vec![
            Column::numbers(
                "path",
                NumberKind::Integer,
                (0..rows).map(|r| Some((r / length) as f64)).collect(),
            ),
            Column::numbers(
                "step",
                NumberKind::Integer,
                (0..rows).map(|r| Some((r % length) as f64)).collect(),
            ),
        ];
        if let Some((name, kind, first, step)) = &self.series.time {
            columns.push(Column::numbers(
                name,
                *kind,
                (0..rows).map(|r| Some(first + (r % length) as f64 * step)).collect(),
            ));
        }
        for (c, name) in self.series.columns.iter().enumerate() {
            let values =
                generated.iter().flat_map(|(v, _)| (0..length).map(move |t| Some(v[t * k + c]))).collect();
            columns.push(Column::numbers(name, NumberKind::Float, values));
        }
        let likelihood_ratios: Vec<f64> = generated.iter().map(|(_, l)| l.exp()).collect();
        columns.push(Column::numbers(
            "likelihood_ratio",
            NumberKind::Float,
            likelihood_ratios.iter().flat_map(|l| std::iter::repeat_n(Some(*l), length)).collect(),
        ));
        Ok(Paths { table: Table::new(columns)?, likelihood_ratios, report, warnings })
    }

    /// The innovations' drift that makes paths reach the level within `length` steps.
    fn drift(&self, event: Event, length: usize) -> Result<f64, GenError> {
        let sign = if event.above { 1.0 } else { -1.0 };
        let delta = match &self.params {
            Params::Block { .. } => {
                return Err(GenError::Input(
                    "a block bootstrap only resamples observed blocks and cannot make rare paths common: use an SDE or AR model with a level".into(),
                ));
            }
            Params::Ou { mu, a, s } => {
                // The mean under Q reaches the level from μ within two relaxation times.
                let steps = ((2.0 / (1.0 - a)).ceil() as usize).clamp(1, length);
                (event.level - mu) * (1.0 - a) / (s * (1.0 - a.powi(steps as i32)))
            }
            Params::Ar { mean, phi, sigma } => {
                let persistence = (1.0 - phi.iter().sum::<f64>()).max(1e-3);
                (event.level - mean) * persistence / sigma
            }
            Params::Gbm { m, v, starts } => {
                if event.level <= 0.0 {
                    return Err(GenError::Input(
                        "geometric Brownian motion stays positive: the level must be > 0".into(),
                    ));
                }
                let mut starts = starts.clone();
                starts.sort_by(f64::total_cmp);
                let start = starts[starts.len() / 2];
                ((event.level / start).ln() / (length as f64 / 2.0).max(1.0) - m) / v.max(1e-12)
            }
            Params::ZeroInflated { m, v, .. } => {
                if !event.above {
                    return Err(GenError::Input(
                        "the zero-inflated model tilts amounts upward only: give a level to reach from below (value >= X)".into(),
                    ));
                }
                if event.level <= 0.0 {
                    return Ok(0.0);
                }
                (event.level.ln() - m) / v.max(1e-12)
            }
        };
        // Never tilt away from the event.
        Ok(if delta * sign > 0.0 { delta } else { 0.0 })
    }

    /// One path (row-major steps × columns) with the innovations it drew (step, value under
    /// P) and the step from which the level was reached (`length` if never). The drift acts
    /// from step `start` until the level is reached.
    fn path(
        &self,
        length: usize,
        tilt: Tilt,
        rng: &mut rand::rngs::Xoshiro256PlusPlus,
    ) -> (Vec<f64>, Vec<(usize, f64)>) {
        let mut tilt = tilt;
        let mut out: Vec<f64> = Vec::with_capacity(length * self.series.columns.len());
        match &self.params {
            Params::Block { length: block } => {
                let groups: Vec<&Vec<Vec<f64>>> =
                    self.series.groups.iter().filter(|g| !g.is_empty()).collect();
                let total: usize = groups.iter().map(|g| g.len()).sum();
                // A random position, each position equally likely.
                let position = |rng: &mut rand::rngs::Xoshiro256PlusPlus| {
                    let mut i = rng.random_range(0..total);
                    for (g, group) in groups.iter().enumerate() {
                        if i < group.len() {
                            return (g, i);
                        }
                        i -= group.len();
                    }
                    (0, 0)
                };
                let stationary = self.method == SeriesMethod::StationaryBlock;
                let fit_start = |g: usize, rng: &mut rand::rngs::Xoshiro256PlusPlus| {
                    let fits = groups[g].len().saturating_sub(*block);
                    if fits > 0 { rng.random_range(0..=fits) } else { 0 }
                };
                let (mut g, mut i) = position(rng);
                if !stationary {
                    i = fit_start(g, rng);
                }
                let mut left = *block;
                for _ in 0..length {
                    out.extend_from_slice(&groups[g][i]);
                    left = left.saturating_sub(1);
                    let restart =
                        if stationary { rng.random::<f64>() < 1.0 / *block as f64 } else { left == 0 };
                    if restart {
                        (g, i) = position(rng);
                        if !stationary {
                            i = fit_start(g, rng);
                        }
                        left = *block;
                    } else {
                        i = (i + 1) % groups[g].len();
                    }
                }
            }
            Params::Ou { mu, a, s } => {
                let e: f64 = StandardNormal.sample(rng);
                let mut x = mu + s / (1.0 - a * a).sqrt() * e;
                for t in 0..length {
                    x = mu + a * (x - mu) + s * tilt.draw(rng, t);
                    tilt.observe(x);
                    out.push(x);
                }
            }
            Params::Gbm { m, v, starts } => {
                let mut log_x = starts[rng.random_range(0..starts.len())].ln();
                for t in 0..length {
                    log_x += m + v * tilt.draw(rng, t);
                    tilt.observe(log_x.exp());
                    out.push(log_x.exp());
                }
            }
            Params::ZeroInflated { p01, p11, m, v } => {
                let stationary_wet = p01 / (1.0 - p11 + p01);
                let mut wet = rng.random::<f64>() < stationary_wet;
                for t in 0..length {
                    wet = rng.random::<f64>() < if wet { *p11 } else { *p01 };
                    let value = if wet { (m + v * tilt.draw(rng, t)).exp() } else { 0.0 };
                    tilt.observe(value);
                    out.push(value);
                }
            }
            Params::Ar { mean, phi, sigma } => {
                let p = phi.len();
                let mut history = vec![0.0; p];
                let step = |history: &mut Vec<f64>, e: f64| {
                    let next =
                        phi.iter().zip(history.iter().rev()).map(|(f, h)| f * h).sum::<f64>() + sigma * e;
                    if p > 0 {
                        history.remove(0);
                        history.push(next);
                    }
                    next
                };
                // Burn-in under the model itself, untilted.
                for _ in 0..(50 + 10 * p) {
                    let e: f64 = StandardNormal.sample(rng);
                    step(&mut history, e);
                }
                for t in 0..length {
                    let e = tilt.draw(rng, t);
                    let value = mean + step(&mut history, e);
                    tilt.observe(value);
                    out.push(value);
                }
            }
        }
        (out, tilt.innovations)
    }
}

/// The change of measure along one path: a drift on the innovations from `start` until the
/// path reaches the level.
#[derive(Debug, Clone)]
struct Tilt {
    drift: f64,
    start: usize,
    event: Option<Event>,
    reached: bool,
    /// (step, innovation) of every drawn innovation, as a standard normal under P.
    innovations: Vec<(usize, f64)>,
}

impl Tilt {
    fn none() -> Self {
        Self { drift: 0.0, start: usize::MAX, event: None, reached: false, innovations: Vec::new() }
    }

    fn draw(&mut self, rng: &mut rand::rngs::Xoshiro256PlusPlus, t: usize) -> f64 {
        let e: f64 = StandardNormal.sample(rng);
        let e = if !self.reached && t >= self.start { e + self.drift } else { e };
        if self.event.is_some() {
            self.innovations.push((t, e));
        }
        e
    }

    fn observe(&mut self, value: f64) {
        if let Some(event) = self.event {
            self.reached |= if event.above { value >= event.level } else { value <= event.level };
        }
    }
}

/// dP/dQ of a path under the mixture of drifts starting at each step (each 1 − `defensive`
/// over `length`) and no drift (`defensive`): 1 / (defensive + (1 − defensive) · mean over
/// starts of Π exp(δ eₜ − δ²/2)), the product over the path's innovations from that start until
/// the level was reached (`until`).
fn likelihood_ratio(
    innovations: &[(usize, f64)],
    until: usize,
    drift: f64,
    length: usize,
    defensive: f64,
) -> f64 {
    // Suffix sums of δ·e − δ²/2 over innovations before `until`, by start step.
    let mut suffix = vec![0.0; length + 1];
    let mut per_step = vec![0.0; length];
    for &(t, e) in innovations {
        if t < until && t < length {
            per_step[t] += drift * e - drift * drift / 2.0;
        }
    }
    for t in (0..length).rev() {
        suffix[t] = suffix[t + 1] + per_step[t];
    }
    let max = suffix[..length].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean_ratio = suffix[..length].iter().map(|s| (s - max).exp()).sum::<f64>() / length as f64;
    // 1 / (defensive + (1 − defensive) · e^max · mean_ratio), kept finite in logs.
    let log_tilted = max + mean_ratio.ln() + (1.0 - defensive).ln();
    let log_denominator = if log_tilted > defensive.ln() {
        log_tilted + (1.0 + (defensive.ln() - log_tilted).exp()).ln()
    } else {
        defensive.ln() + (1.0 + (log_tilted - defensive.ln()).exp()).ln()
    };
    (-log_denominator).exp()
}

fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, variance.sqrt())
}

/// x_{t+1} = a x_t + b + s ε by least squares over the groups' consecutive pairs.
fn ar1(groups: &[Vec<f64>]) -> Result<(f64, f64, f64), GenError> {
    let pairs: Vec<(f64, f64)> = groups.iter().flat_map(|g| g.windows(2).map(|w| (w[0], w[1]))).collect();
    if pairs.len() < 3 {
        return Err(GenError::Input("fewer than three consecutive pairs: too short to fit".into()));
    }
    let n = pairs.len() as f64;
    let (mx, my) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = pairs.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 {
        return Err(GenError::Input("the series is constant: nothing to model".into()));
    }
    let a = sxy / sxx;
    let b = my - a * mx;
    let residual: f64 = pairs.iter().map(|p| (p.1 - a * p.0 - b).powi(2)).sum::<f64>() / (n - 2.0);
    Ok((a, b, residual.sqrt().max(1e-12)))
}

/// AR(p) by Yule–Walker (Levinson–Durbin) on the pooled autocovariances, p ≤ `max_order` by
/// AIC. Returns the mean, the coefficients and the innovations' standard deviation.
fn yule_walker(groups: &[Vec<f64>], max_order: usize) -> Result<(f64, Vec<f64>, f64), GenError> {
    let all: Vec<f64> = groups.iter().flatten().copied().collect();
    let n = all.len();
    if n < 4 {
        return Err(GenError::Input("fewer than four values: too short to fit".into()));
    }
    let mean = all.iter().sum::<f64>() / n as f64;
    let max_order = max_order.min(n / 4).max(1);
    let gamma: Vec<f64> = (0..=max_order)
        .map(|lag| {
            groups
                .iter()
                .map(|g| (lag..g.len()).map(|t| (g[t] - mean) * (g[t - lag] - mean)).sum::<f64>())
                .sum::<f64>()
                / n as f64
        })
        .collect();
    if gamma[0] <= 0.0 {
        return Err(GenError::Input("the series is constant: nothing to model".into()));
    }
    // Levinson–Durbin, keeping the order with the smallest AIC.
    let mut phi: Vec<f64> = Vec::new();
    let mut variance = gamma[0];
    let mut best = (n as f64 * variance.ln(), Vec::new(), variance);
    for k in 1..=max_order {
        let reflection =
            (gamma[k] - phi.iter().enumerate().map(|(j, p)| p * gamma[k - 1 - j]).sum::<f64>()) / variance;
        let mut next: Vec<f64> =
            phi.iter().enumerate().map(|(j, p)| p - reflection * phi[k - 2 - j]).collect();
        next.push(reflection);
        phi = next;
        variance *= 1.0 - reflection * reflection;
        if variance <= 0.0 {
            break;
        }
        let aic = n as f64 * variance.ln() + 2.0 * k as f64;
        if aic < best.0 {
            best = (aic, phi.clone(), variance);
        }
    }
    Ok((mean, best.1, best.2.sqrt()))
}

/// Time-series measures of one column of several series, for evaluation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeriesMeasures {
    pub values: usize,
    pub mean: f64,
    pub sd: f64,
    pub q50: f64,
    pub q90: f64,
    pub q99: f64,
    pub q999: f64,
    pub max: f64,
    pub min: f64,
    /// Share of values above the reference (real) q99.
    pub exceedance_share: f64,
    /// Mean length of runs above the reference q90.
    pub mean_run_above_q90: f64,
    pub zero_share: f64,
    /// Autocorrelation at lags 1 to 5, pooled over the series.
    pub autocorrelation: Vec<f64>,
}

/// Measures of `series` (each a path) against the reference quantiles `q90`, `q99`.
pub fn measures(series: &[Vec<f64>], reference: Option<(f64, f64)>) -> SeriesMeasures {
    let mut all: Vec<f64> = series.iter().flatten().copied().collect();
    all.sort_by(f64::total_cmp);
    let q = |p: f64| crate::eval::quantile_sorted(&all, p);
    let (q90, q99) = reference.unwrap_or((q(0.9), q(0.99)));
    let (mean, sd) = mean_sd(&all);
    let mut runs = Vec::new();
    for s in series {
        let mut run = 0usize;
        for v in s {
            if *v > q90 {
                run += 1;
            } else if run > 0 {
                runs.push(run);
                run = 0;
            }
        }
        if run > 0 {
            runs.push(run);
        }
    }
    let autocorrelation = (1..=5)
        .map(|lag| {
            let (mut num, mut den) = (0.0, 0.0);
            for s in series {
                for t in 0..s.len() {
                    den += (s[t] - mean).powi(2);
                    if t >= lag {
                        num += (s[t] - mean) * (s[t - lag] - mean);
                    }
                }
            }
            if den > 0.0 { num / den } else { 0.0 }
        })
        .collect();
    SeriesMeasures {
        values: all.len(),
        mean,
        sd,
        q50: q(0.5),
        q90: q(0.9),
        q99: q(0.99),
        q999: q(0.999),
        max: all.last().copied().unwrap_or(f64::NAN),
        min: all.first().copied().unwrap_or(f64::NAN),
        exceedance_share: all.iter().filter(|v| **v > q99).count() as f64 / all.len().max(1) as f64,
        mean_run_above_q90: if runs.is_empty() {
            0.0
        } else {
            runs.iter().sum::<usize>() as f64 / runs.len() as f64
        },
        zero_share: all.iter().filter(|v| **v == 0.0).count() as f64 / all.len().max(1) as f64,
        autocorrelation,
    }
}
