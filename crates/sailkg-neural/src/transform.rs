//! The shared data transform of the neural generators (CTGAN's and TVAE's): every numeric column
//! by mode-specific normalisation — a Gaussian mixture fitted by EM (up to 10 modes, modes
//! under 0.5 % of the weight pruned), a value as the one-hot of its mode plus its offset
//! α = (x − μₖ)/(4σₖ) in (−1, 1) — and every label column one-hot; nulls are one more position
//! of the column's one-hot. The inverse keeps each column inside its region: a label among the
//! allowed ones, a number drawn from the decoder's mixture truncated to the column's range.

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use sailkg_gen::table::{Column, NumberKind, Role, Table, Values};
use sailkg_gen::{GenError, Region, Regions};

/// Modes tried per numeric column.
const MAX_MODES: usize = 10;
/// Modes below this weight are dropped.
const MIN_WEIGHT: f64 = 0.005;
/// Values EM sees at most (an even subsample).
const EM_VALUES: usize = 20_000;

/// One column's encoding.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Encoding {
    /// Mode-specific normalisation: modes (weight, mean, sd); whether a null position follows.
    Numbers { modes: Vec<(f64, f64, f64)>, nullable: bool, kind: NumberKind, timezone: Option<String> },
    /// One-hot labels: a slot per frequent level (`slots`, codes), one shared slot for the rest
    /// (`rest`, drawn by frequency when decoded), and a null slot when the column has nulls.
    Labels {
        levels: Vec<String>,
        boolean: bool,
        nullable: bool,
        /// Share of every level code.
        frequencies: Vec<f64>,
        slots: Vec<u32>,
        rest: Vec<u32>,
    },
    /// Identifiers: generated fresh.
    Id { numeric: bool },
    /// A column with no values: stays null.
    Null { numeric: bool, kind: NumberKind, boolean: bool },
}

/// Label columns keep this many slots at most (the rest share one).
const MAX_SLOTS: usize = 100;

impl Encoding {
    /// Slots of a label column's levels (its null slot excluded).
    pub fn label_slots(&self) -> usize {
        match self {
            Encoding::Labels { slots, rest, .. } => slots.len() + usize::from(!rest.is_empty()),
            _ => 0,
        }
    }

    /// The slot of a level code.
    pub fn slot_of(&self, code: u32) -> usize {
        match self {
            Encoding::Labels { slots, .. } => slots.iter().position(|&s| s == code).unwrap_or(slots.len()),
            _ => 0,
        }
    }

    /// The share of every slot (the rest's summed).
    pub fn slot_shares(&self) -> Vec<f64> {
        match self {
            Encoding::Labels { slots, rest, frequencies, .. } => {
                let mut shares: Vec<f64> = slots.iter().map(|&c| frequencies[c as usize]).collect();
                if !rest.is_empty() {
                    shares.push(rest.iter().map(|&c| frequencies[c as usize]).sum());
                }
                shares
            }
            _ => Vec::new(),
        }
    }

    /// Width of the encoded column: [α] + modes (+ null) for numbers, levels (+ null) for labels.
    pub fn width(&self) -> usize {
        match self {
            Encoding::Numbers { modes, nullable, .. } => 1 + modes.len() + usize::from(*nullable),
            Encoding::Labels { slots, rest, nullable, .. } => {
                slots.len() + usize::from(!rest.is_empty()) + usize::from(*nullable)
            }
            Encoding::Id { .. } | Encoding::Null { .. } => 0,
        }
    }
}

/// The fitted transform.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Transform {
    pub names: Vec<String>,
    pub roles: Vec<Role>,
    pub encodings: Vec<Encoding>,
    /// Offset of each column in the encoded row.
    pub offsets: Vec<usize>,
    pub width: usize,
}

/// A segment of the encoded row and its activation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Span {
    /// One α value (tanh).
    Tanh { start: usize },
    /// A one-hot block (softmax); `label` says whether it is a label column (not a mode).
    Softmax { start: usize, size: usize, label: bool, column: usize },
}

impl Transform {
    /// Fits the transform on every column; `max_width` bounds the encoded width.
    pub fn fit(table: &Table, max_width: usize, seed: u64) -> Result<Self, GenError> {
        let mut rng = sailkg_gen::stream(seed, 0x7472_616E);
        let mut encodings = Vec::with_capacity(table.columns.len());
        for column in &table.columns {
            let encoding = match (&column.values, column.role) {
                (Values::Numbers { .. }, Role::Id) => Encoding::Id { numeric: true },
                (Values::Labels { .. }, Role::Id) => Encoding::Id { numeric: false },
                (Values::Numbers { values, kind, .. }, _)
                    if values.iter().all(|v| v.is_none_or(|v| !v.is_finite())) =>
                {
                    Encoding::Null { numeric: true, kind: *kind, boolean: false }
                }
                (Values::Labels { codes, boolean, .. }, _) if codes.iter().all(Option::is_none) => {
                    Encoding::Null { numeric: false, kind: NumberKind::Float, boolean: *boolean }
                }
                (Values::Numbers { values, kind, timezone }, _) => {
                    let present: Vec<f64> =
                        values.iter().flatten().copied().filter(|v| v.is_finite()).collect();
                    Encoding::Numbers {
                        modes: fit_modes(&present, &mut rng),
                        nullable: present.len() < values.len(),
                        kind: *kind,
                        timezone: timezone.clone(),
                    }
                }
                (Values::Labels { levels, codes, boolean }, _) => {
                    let mut counts = vec![0.0; levels.len()];
                    for code in codes.iter().flatten() {
                        counts[*code as usize] += 1.0;
                    }
                    let total: f64 = counts.iter().sum::<f64>().max(1.0);
                    let mut order: Vec<u32> =
                        (0..levels.len() as u32).filter(|&c| counts[c as usize] > 0.0).collect();
                    order.sort_by(|a, b| counts[*b as usize].total_cmp(&counts[*a as usize]).then(a.cmp(b)));
                    let kept = if order.len() > MAX_SLOTS { MAX_SLOTS - 1 } else { order.len() };
                    let rest = order.split_off(kept);
                    Encoding::Labels {
                        levels: levels.clone(),
                        boolean: *boolean,
                        nullable: codes.iter().any(Option::is_none),
                        frequencies: counts.iter().map(|c| c / total).collect(),
                        slots: order,
                        rest,
                    }
                }
            };
            encodings.push(encoding);
        }
        let mut offsets = Vec::with_capacity(encodings.len());
        let mut width = 0;
        for e in &encodings {
            offsets.push(width);
            width += e.width();
        }
        if width > max_width {
            let widest = table
                .columns
                .iter()
                .zip(&encodings)
                .max_by_key(|(_, e)| e.width())
                .map(|(c, e)| format!("{} ({} positions)", c.name, e.width()))
                .unwrap_or_default();
            return Err(GenError::Input(format!(
                "the table encodes to {width} positions, over the limit of {max_width} (widest column: {widest}); leave out or group high-cardinality columns"
            )));
        }
        if width == 0 {
            return Err(GenError::Input("the table has no column a neural model can learn".into()));
        }
        Ok(Self {
            names: table.columns.iter().map(|c| c.name.clone()).collect(),
            roles: table.columns.iter().map(|c| c.role).collect(),
            encodings,
            offsets,
            width,
        })
    }

    /// The spans of the encoded row.
    pub fn spans(&self) -> Vec<Span> {
        let mut spans = Vec::new();
        for (c, (e, &start)) in self.encodings.iter().zip(&self.offsets).enumerate() {
            match e {
                Encoding::Numbers { .. } => {
                    spans.push(Span::Tanh { start });
                    spans.push(Span::Softmax {
                        start: start + 1,
                        size: e.width() - 1,
                        label: false,
                        column: c,
                    });
                }
                Encoding::Labels { .. } => {
                    spans.push(Span::Softmax { start, size: e.width(), label: true, column: c })
                }
                Encoding::Id { .. } | Encoding::Null { .. } => {}
            }
        }
        spans
    }

    /// Encodes every row (row-major, `width` values each); modes are drawn from their posterior.
    pub fn encode(&self, table: &Table, seed: u64) -> Vec<f32> {
        let n = table.rows();
        let mut rng = sailkg_gen::stream(seed, 0x656E_636F);
        let mut out = vec![0.0f32; n * self.width];
        for (c, e) in self.encodings.iter().enumerate() {
            let at = self.offsets[c];
            match (e, &table.columns[c].values) {
                (Encoding::Numbers { modes, nullable, .. }, Values::Numbers { values, .. }) => {
                    for r in 0..n {
                        let row = &mut out[r * self.width + at..r * self.width + at + e.width()];
                        match values[r].filter(|v| v.is_finite()) {
                            Some(x) => {
                                let k = draw_mode(modes, x, &mut rng);
                                let (_, mean, sd) = modes[k];
                                row[0] = ((x - mean) / (4.0 * sd)).clamp(-0.99, 0.99) as f32;
                                row[1 + k] = 1.0;
                            }
                            None if *nullable => row[1 + modes.len()] = 1.0,
                            None => {}
                        }
                    }
                }
                (Encoding::Labels { nullable, .. }, Values::Labels { codes, .. }) => {
                    let null_slot = e.label_slots();
                    for r in 0..n {
                        match codes[r] {
                            Some(code) => out[r * self.width + at + e.slot_of(code)] = 1.0,
                            None if *nullable => out[r * self.width + at + null_slot] = 1.0,
                            None => {}
                        }
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Decodes generated rows: `alpha_noise` per numeric column is the decoder's output noise
    /// (in α units); softmax blocks are probabilities. Every value lands inside `regions`.
    pub fn decode(
        &self,
        rows: &[f32],
        alpha_noise: &[f32],
        regions: &Regions,
        seed: u64,
    ) -> Result<Table, GenError> {
        let n = rows.len() / self.width;
        let mut rng = sailkg_gen::stream(seed, 0x6465_636F);
        let mut columns = Vec::with_capacity(self.encodings.len());
        for (c, e) in self.encodings.iter().enumerate() {
            let at = self.offsets[c];
            let name = &self.names[c];
            let (region, nullable) = &regions.columns[c];
            let column = match e {
                Encoding::Null { numeric: true, kind, .. } => Column {
                    name: name.clone(),
                    role: self.roles[c],
                    values: Values::Numbers { kind: *kind, values: vec![None; n], timezone: None },
                },
                Encoding::Null { numeric: false, boolean, .. } => Column {
                    name: name.clone(),
                    role: self.roles[c],
                    values: Values::Labels { levels: Vec::new(), codes: vec![None; n], boolean: *boolean },
                },
                Encoding::Id { numeric: true } => Column {
                    name: name.clone(),
                    role: Role::Id,
                    values: Values::Numbers {
                        kind: NumberKind::Integer,
                        values: (0..n).map(|r| Some(r as f64)).collect(),
                        timezone: None,
                    },
                },
                Encoding::Id { numeric: false } => Column {
                    name: name.clone(),
                    role: Role::Id,
                    values: Values::Labels {
                        levels: (0..n).map(|r| format!("syn-{seed:x}-{r}")).collect(),
                        codes: (0..n as u32).map(Some).collect(),
                        boolean: false,
                    },
                },
                Encoding::Numbers { modes, nullable: has_null, kind, timezone } => {
                    let Region::Numbers { lo, hi } = *region else {
                        unreachable!("regions follow the columns")
                    };
                    let noise = f64::from(alpha_noise.get(c).copied().unwrap_or(0.01)).max(1e-3);
                    let mut values = Vec::with_capacity(n);
                    for r in 0..n {
                        let row = &rows[r * self.width + at..r * self.width + at + e.width()];
                        let alpha = f64::from(row[0]);
                        // Mode weights, each times its mass inside [lo, hi].
                        let mut weights: Vec<f64> = modes
                            .iter()
                            .enumerate()
                            .map(|(k, &(_, mean, sd))| {
                                let centre = mean + 4.0 * sd * alpha;
                                let spread = 4.0 * sd * noise;
                                f64::from(row[1 + k]).max(0.0) * mass(centre, spread, lo, hi)
                            })
                            .collect();
                        let null_weight = if *has_null && *nullable {
                            f64::from(row[1 + modes.len()]).max(0.0)
                        } else {
                            0.0
                        };
                        weights.push(null_weight);
                        let total: f64 = weights.iter().sum();
                        let k = if total > 0.0 && total.is_finite() {
                            pick(&weights, total, &mut rng)
                        } else {
                            // No mode reaches the range: the one nearest to it.
                            nearest_mode(modes, alpha, lo, hi)
                        };
                        if k == modes.len() {
                            values.push(None);
                            continue;
                        }
                        let (_, mean, sd) = modes[k];
                        let (centre, spread) = (mean + 4.0 * sd * alpha, 4.0 * sd * noise);
                        let a = (lo - centre) / spread;
                        let b = (hi - centre) / spread;
                        let z = if a > 8.0 || b < -8.0 {
                            if a > 8.0 { a } else { b }
                        } else {
                            sailkg_gen::normal::truncated(&mut rng, a, b)
                        };
                        let v = (centre + spread * z).clamp(lo, hi);
                        values.push(Some(if matches!(kind, NumberKind::Float) {
                            v
                        } else {
                            v.round().clamp(lo, hi)
                        }));
                    }
                    Column {
                        name: name.clone(),
                        role: self.roles[c],
                        values: Values::Numbers { kind: *kind, values, timezone: timezone.clone() },
                    }
                }
                Encoding::Labels { levels, boolean, nullable: has_null, frequencies, slots, rest } => {
                    let Region::Labels { allowed } = region else {
                        unreachable!("regions follow the columns")
                    };
                    let ok = |code: u32| allowed.as_ref().is_none_or(|a| a.contains(&code));
                    let rest_allowed: Vec<u32> = rest.iter().copied().filter(|&c| ok(c)).collect();
                    let rest_total: f64 = rest_allowed.iter().map(|&c| frequencies[c as usize]).sum();
                    let null_slot = e.label_slots();
                    let mut codes = Vec::with_capacity(n);
                    for r in 0..n {
                        let row = &rows[r * self.width + at..r * self.width + at + e.width()];
                        let mut weights: Vec<f64> = slots
                            .iter()
                            .enumerate()
                            .map(|(k, &code)| if ok(code) { f64::from(row[k]).max(0.0) } else { 0.0 })
                            .collect();
                        if !rest.is_empty() {
                            weights.push(if rest_allowed.is_empty() {
                                0.0
                            } else {
                                f64::from(row[slots.len()]).max(0.0)
                            });
                        }
                        weights.push(if *has_null && *nullable && allowed.is_none() {
                            f64::from(row[null_slot]).max(0.0)
                        } else {
                            0.0
                        });
                        let total: f64 = weights.iter().sum();
                        let slot = if total > 0.0 && total.is_finite() {
                            pick(&weights, total, &mut rng)
                        } else {
                            // The decoder gives the allowed labels no mass: the most frequent allowed.
                            slots.iter().position(|&c| ok(c)).unwrap_or(slots.len())
                        };
                        let code = if slot < slots.len() {
                            Some(slots[slot])
                        } else if slot == slots.len() && !rest.is_empty() && !rest_allowed.is_empty() {
                            let weights: Vec<f64> =
                                rest_allowed.iter().map(|&c| frequencies[c as usize]).collect();
                            Some(rest_allowed[pick(&weights, rest_total, &mut rng)])
                        } else {
                            None
                        };
                        codes.push(code);
                    }
                    Column {
                        name: name.clone(),
                        role: self.roles[c],
                        values: Values::Labels { levels: levels.clone(), codes, boolean: *boolean },
                    }
                }
            };
            columns.push(column);
        }
        Table::new(columns)
    }
}

/// P(lo ≤ N(centre, spread²) ≤ hi).
fn mass(centre: f64, spread: f64, lo: f64, hi: f64) -> f64 {
    let (a, b) = ((lo - centre) / spread, (hi - centre) / spread);
    if a >= 0.0 {
        sailkg_gen::normal::survival(a) - sailkg_gen::normal::survival(b)
    } else {
        sailkg_gen::normal::cdf(b) - sailkg_gen::normal::cdf(a)
    }
}

/// Draws an index by weights summing to `total`.
pub(crate) fn pick(weights: &[f64], total: f64, rng: &mut rand::rngs::Xoshiro256PlusPlus) -> usize {
    let mut u = rng.random::<f64>() * total;
    for (k, w) in weights.iter().enumerate() {
        if u < *w {
            return k;
        }
        u -= w;
    }
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

fn nearest_mode(modes: &[(f64, f64, f64)], alpha: f64, lo: f64, hi: f64) -> usize {
    (0..modes.len())
        .min_by(|&x, &y| {
            let distance = |k: usize| {
                let (_, mean, sd) = modes[k];
                let c = mean + 4.0 * sd * alpha;
                if c < lo {
                    lo - c
                } else if c > hi {
                    c - hi
                } else {
                    0.0
                }
            };
            distance(x).total_cmp(&distance(y))
        })
        .unwrap_or(0)
}

/// A mode drawn from its posterior at x.
fn draw_mode(modes: &[(f64, f64, f64)], x: f64, rng: &mut rand::rngs::Xoshiro256PlusPlus) -> usize {
    let logs: Vec<f64> =
        modes.iter().map(|&(w, m, s)| w.ln() - ((x - m) / s).powi(2) / 2.0 - s.ln()).collect();
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = logs.iter().map(|l| (l - max).exp()).collect();
    let total = weights.iter().sum();
    pick(&weights, total, rng)
}

/// A one-dimensional Gaussian mixture by EM: up to `MAX_MODES` modes started at quantiles,
/// those under `MIN_WEIGHT` dropped and the rest refitted. An empty or constant column gets
/// one narrow mode.
fn fit_modes(values: &[f64], rng: &mut rand::rngs::Xoshiro256PlusPlus) -> Vec<(f64, f64, f64)> {
    if values.is_empty() {
        return vec![(1.0, 0.0, 1.0)];
    }
    let sample: Vec<f64> = if values.len() <= EM_VALUES {
        values.to_vec()
    } else {
        (0..EM_VALUES).map(|i| values[i * values.len() / EM_VALUES]).collect()
    };
    let mut sorted = sample.clone();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let mean = sorted.iter().sum::<f64>() / n;
    let sd = (sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut distinct = sorted.clone();
    distinct.dedup();
    let floor = (sd * 1e-3).max(mean.abs() * 1e-9).max(1e-9);
    if sd <= 0.0 || distinct.len() == 1 {
        return vec![(1.0, mean, floor.max(1e-6))];
    }
    let k = MAX_MODES.min(distinct.len());
    let mut modes: Vec<(f64, f64, f64)> = (0..k)
        .map(|j| {
            let q = sorted[((j as f64 + 0.5) / k as f64 * (n - 1.0)) as usize];
            (1.0 / k as f64, q + 1e-6 * sd * (rng.random::<f64>() - 0.5), sd / k as f64)
        })
        .collect();
    for round in 0..2 {
        em(&sample, &mut modes, floor, 100);
        let before = modes.len();
        modes.retain(|m| m.0 >= MIN_WEIGHT);
        if modes.len() == before || round == 1 {
            break;
        }
        let total: f64 = modes.iter().map(|m| m.0).sum();
        modes.iter_mut().for_each(|m| m.0 /= total);
    }
    let total: f64 = modes.iter().map(|m| m.0).sum();
    modes.iter_mut().for_each(|m| m.0 /= total);
    modes.sort_by(|a, b| a.1.total_cmp(&b.1));
    modes
}

fn em(values: &[f64], modes: &mut [(f64, f64, f64)], floor: f64, iterations: usize) {
    let k = modes.len();
    let mut responsibility = vec![0.0; k];
    let mut previous = f64::NEG_INFINITY;
    for _ in 0..iterations {
        let (mut w, mut s1, mut s2) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
        let mut likelihood = 0.0;
        for &x in values {
            let mut max = f64::NEG_INFINITY;
            for (j, &(weight, mean, sd)) in modes.iter().enumerate() {
                responsibility[j] = weight.max(1e-300).ln() - ((x - mean) / sd).powi(2) / 2.0 - sd.ln();
                max = max.max(responsibility[j]);
            }
            let mut total = 0.0;
            for r in responsibility.iter_mut() {
                *r = (*r - max).exp();
                total += *r;
            }
            likelihood += max + total.ln();
            for j in 0..k {
                let r = responsibility[j] / total;
                w[j] += r;
                s1[j] += r * x;
                s2[j] += r * x * x;
            }
        }
        let n = values.len() as f64;
        for j in 0..k {
            if w[j] > 1e-12 {
                let mean = s1[j] / w[j];
                let variance = (s2[j] / w[j] - mean * mean).max(floor * floor);
                modes[j] = (w[j] / n, mean, variance.sqrt());
            } else {
                modes[j].0 = 0.0;
            }
        }
        if (likelihood - previous).abs() < 1e-6 * n {
            break;
        }
        previous = likelihood;
    }
}

/// A standard normal draw (for noise outside burn's generator, so samples follow our seed).
pub(crate) fn normal(rng: &mut rand::rngs::Xoshiro256PlusPlus) -> f32 {
    let z: f64 = StandardNormal.sample(rng);
    z as f32
}
