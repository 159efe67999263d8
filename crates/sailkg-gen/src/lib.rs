//! SAIL-KG generation engine: ontology-constrained, conditional sampling of synthetic rows for
//! the long tail. Pure Rust on `rand` and `rand_distr`; it knows nothing of the store — tables
//! come in as Arrow record batches, constraints as [`Constraints`] (the CLI reads them from the
//! SHACL shapes), and rows go out as Arrow.
//!
//! Every method fits a [`Model`] (serializable with its parameters) and samples `n` rows under a
//! [`Condition`] inside the [`Region`] of each column, by construction. Sampling is reproducible:
//! rows are made in blocks of [`BLOCK`] rows, each block from its own random stream derived from
//! the seed and the block number, so the same seed gives the same rows whatever the thread count.

mod bootstrap;
pub mod condition;
mod copula;
pub mod eval;
mod kde;
pub mod normal;
pub mod region;
pub mod report;
pub mod series;
mod smote;
pub mod table;
pub mod te;
pub mod utility;

pub use condition::{Condition, Value};
pub use copula::TiltReport;
pub use kde::{Diagnostics, Sampler};
pub use region::{ColumnConstraint, Constraints, Order, Region, Regions};
pub use table::{Column, NumberKind, Role, Table, Values};

use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// Rows per random stream.
pub const BLOCK: usize = 1024;

/// Why fitting or sampling failed.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// The input table cannot be used.
    #[error("{0}")]
    Input(String),
    /// The condition does not parse or does not fit the table; `column` is 1-based.
    #[error("condition, column {column}: {message}")]
    Condition { column: usize, message: String },
    /// A constraint is malformed.
    #[error("constraint: {0}")]
    Constraint(String),
    /// Nothing can satisfy the constraints and the condition.
    #[error("impossible: {0}")]
    Impossible(String),
    /// A saved model cannot be read.
    #[error("model: {0}")]
    Model(String),
}

/// The sampling methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Real rows drawn with replacement.
    Bootstrap,
    /// Real rows drawn with replacement, the same number from every class of a column.
    StratifiedBootstrap,
    /// Real rows drawn with replacement, numeric columns moved by kernel noise.
    SmoothedBootstrap,
    /// Gaussian copula with empirical marginals; conditions exact in the latent space.
    Copula,
    /// Interpolation between a real row and one of its nearest neighbours (SMOTE-NC).
    Smote,
    /// Metropolis–Hastings over a kernel density, inside the region.
    Mh,
    /// Metropolis-adjusted Langevin over a kernel density, inside the region.
    Mala,
    /// Unadjusted Langevin over a kernel density, reflected at the region's walls.
    Ula,
    /// The copula tilted toward a tail region, every row with its importance weight.
    Tilt,
}

impl Method {
    /// The names the CLI takes.
    pub fn name(self) -> &'static str {
        match self {
            Method::Bootstrap => "bootstrap",
            Method::StratifiedBootstrap => "stratified-bootstrap",
            Method::SmoothedBootstrap => "smoothed-bootstrap",
            Method::Copula => "copula",
            Method::Smote => "smote",
            Method::Mh => "mh",
            Method::Mala => "mala",
            Method::Ula => "ula",
            Method::Tilt => "tilt",
        }
    }
}

/// Settings of fitting.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct FitOptions {
    /// The class column of the stratified bootstrap.
    pub class: Option<String>,
    /// Kernel width of the smoothed bootstrap and of the MCMC's density, as a multiple of the
    /// default bandwidth (0: 1.0).
    pub smoothing: f64,
}

/// A fitted model.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Model {
    pub method: Method,
    pub constraints: Constraints,
    /// Column names, roles and output types, in order.
    pub schema: Vec<(String, Role, Option<NumberKind>, bool)>,
    /// The time zone of each timestamp column.
    timezones: Vec<Option<String>>,
    kind: Kind,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
enum Kind {
    Bootstrap(bootstrap::Bootstrap),
    Copula(copula::Copula),
    Smote(smote::Smote),
    Kde(kde::Kde),
}

/// What every fitted generator offers the CLI and the server, whichever crate fits it: the
/// statistical models of this crate and the neural ones of `sailkg-neural`.
pub trait Synthesizer: Send + Sync {
    /// The method's name (`copula`, `tvae`, …), as runs record it.
    fn method_name(&self) -> &'static str;
    /// `n` rows satisfying `condition` and the constraints, from `seed`.
    fn sample(&self, n: usize, condition: &Condition, seed: u64) -> Result<Sample, GenError>;
    /// The fitted model with its parameters, to reload later.
    fn to_json(&self) -> String;
}

impl Synthesizer for Model {
    fn method_name(&self) -> &'static str {
        self.method.name()
    }

    fn sample(&self, n: usize, condition: &Condition, seed: u64) -> Result<Sample, GenError> {
        Model::sample(self, n, condition, seed)
    }

    fn to_json(&self) -> String {
        Model::to_json(self)
    }
}

/// What every table method implements: sampling `n` rows under a condition, inside the
/// model's constraints, reproducibly from a seed. Fitting is each method's own constructor,
/// reached through [`fit`].
pub(crate) trait Generator {
    fn sample(&self, model: &Model, n: usize, condition: &Condition, seed: u64) -> Result<Sample, GenError>;
}

/// What a sample gives back.
#[derive(Debug, Clone)]
pub struct Sample {
    pub table: Table,
    /// Per-row importance weights, for methods that tilt the distribution.
    pub weights: Option<Vec<f64>>,
    /// Things the user should know (a class with one row, a shrunk correlation matrix).
    pub warnings: Vec<String>,
    /// The chains' diagnostics (MCMC methods).
    pub mcmc: Option<Diagnostics>,
    /// The importance-sampling estimate (tilting).
    pub tilt: Option<TiltReport>,
}

/// Fits `method` on `table` under `constraints`.
pub fn fit(
    method: Method,
    table: &Table,
    constraints: &Constraints,
    options: &FitOptions,
) -> Result<Model, GenError> {
    if table.rows() == 0 {
        return Err(GenError::Input("the table has no rows".into()));
    }
    // Checks the constraints against the table once, with no condition.
    region::regions(table, constraints, &Condition::default())?;
    let schema = table
        .columns
        .iter()
        .map(|c| match &c.values {
            Values::Numbers { kind, .. } => (c.name.clone(), c.role, Some(*kind), false),
            Values::Labels { boolean, .. } => (c.name.clone(), c.role, None, *boolean),
        })
        .collect();
    let timezones = table
        .columns
        .iter()
        .map(|c| match &c.values {
            Values::Numbers { timezone, .. } => timezone.clone(),
            Values::Labels { .. } => None,
        })
        .collect();
    let kind = match method {
        Method::Bootstrap | Method::StratifiedBootstrap | Method::SmoothedBootstrap => {
            Kind::Bootstrap(bootstrap::Bootstrap::fit(method, table, options)?)
        }
        Method::Copula | Method::Tilt => Kind::Copula(copula::Copula::fit(table)?),
        Method::Smote => Kind::Smote(smote::Smote::fit(table)),
        Method::Mh => Kind::Kde(kde::Kde::fit(table, Sampler::Metropolis, options.smoothing)?),
        Method::Mala => Kind::Kde(kde::Kde::fit(table, Sampler::Mala, options.smoothing)?),
        Method::Ula => Kind::Kde(kde::Kde::fit(table, Sampler::Langevin, options.smoothing)?),
    };
    Ok(Model { method, constraints: constraints.clone(), schema, timezones, kind })
}

impl Model {
    /// Samples `n` rows satisfying `condition` and the constraints, from `seed`. Tilting
    /// instead takes the condition as the tail region to tilt toward: its rows satisfy the
    /// constraints and carry importance weights.
    pub fn sample(&self, n: usize, condition: &Condition, seed: u64) -> Result<Sample, GenError> {
        let mut sample = self.sample_unordered(n, condition, seed)?;
        if !self.constraints.order.is_empty() {
            let condition = if self.method == Method::Tilt { &Condition::default() } else { condition };
            let regions = region::regions(&sample.table.select(&[]), &self.constraints, condition)?;
            let unrepaired = region::enforce_order(&mut sample.table, &self.constraints, &regions);
            if unrepaired > 0 {
                return Err(GenError::Impossible(format!(
                    "{unrepaired} rows cannot satisfy the order constraints inside their columns' ranges"
                )));
            }
        }
        Ok(sample)
    }

    fn sample_unordered(&self, n: usize, condition: &Condition, seed: u64) -> Result<Sample, GenError> {
        match &self.kind {
            Kind::Bootstrap(model) => model.sample(self, n, condition, seed),
            Kind::Copula(model) if self.method == Method::Tilt => {
                model.sample_tilted(self, n, condition, seed)
            }
            Kind::Copula(model) => model.sample(self, n, condition, seed),
            Kind::Kde(model) => model.sample(self, n, condition, seed),
            Kind::Smote(model) => model.sample(self, n, condition, seed),
        }
    }

    /// The model with its parameters as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a model serializes")
    }

    /// Reads a model written by [`Model::to_json`].
    pub fn from_json(text: &str) -> Result<Self, GenError> {
        serde_json::from_str(text).map_err(|e| GenError::Model(e.to_string()))
    }
}

/// The random stream of one block (or chain, or path) of a seed.
pub fn stream(seed: u64, block: usize) -> Xoshiro256PlusPlus {
    // SplitMix64 of the pair, so neighbouring seeds and blocks give unrelated streams.
    let mut z = seed ^ (block as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Xoshiro256PlusPlus::seed_from_u64(z ^ (z >> 31))
}

/// Runs `make(block, rows, rng)` for every block of `n` rows in parallel, in block order.
pub(crate) fn blocks<T: Send>(
    n: usize,
    seed: u64,
    make: impl Fn(usize, std::ops::Range<usize>, &mut Xoshiro256PlusPlus) -> T + Sync,
) -> Vec<T> {
    (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut rng = stream(seed, b);
            make(b, b * BLOCK..((b + 1) * BLOCK).min(n), &mut rng)
        })
        .collect()
}

/// Builds the output table from per-column generated values, in the model's schema.
pub(crate) fn assemble(
    model: &Model,
    levels: &[Option<Vec<String>>],
    numbers: Vec<Option<Vec<Option<f64>>>>,
    codes: Vec<Option<Vec<Option<u32>>>>,
    seed: u64,
) -> Result<Table, GenError> {
    let mut columns = Vec::with_capacity(model.schema.len());
    for (i, ((name, role, kind, boolean), (numbers, codes))) in
        model.schema.iter().zip(numbers.into_iter().zip(codes)).enumerate()
    {
        let values = match (kind, numbers, codes) {
            (Some(kind), Some(values), _) => {
                let values = match kind {
                    NumberKind::Float => values,
                    _ => values.into_iter().map(|v| v.map(f64::round)).collect(),
                };
                Values::Numbers { kind: *kind, values, timezone: model.timezones[i].clone() }
            }
            (None, _, Some(codes)) if *role == Role::Id => {
                // Fresh identifiers: never a real one.
                let levels: Vec<String> = (0..codes.len()).map(|r| format!("syn-{seed:x}-{r}")).collect();
                Values::Labels { codes: (0..codes.len() as u32).map(Some).collect(), levels, boolean: false }
            }
            (None, _, Some(codes)) => {
                Values::Labels { levels: levels[i].clone().unwrap_or_default(), codes, boolean: *boolean }
            }
            _ => return Err(GenError::Input(format!("no values were generated for {name}"))),
        };
        columns.push(Column { name: name.clone(), role: *role, values });
    }
    Table::new(columns)
}

#[cfg(test)]
mod tests;
