//! Bootstraps: real rows drawn with replacement — plain, stratified by a class column (every
//! class equally often), or smoothed (Gaussian kernel noise on numeric columns, Silverman's
//! bandwidth, kept inside each column's region). Only rows inside the condition's region are
//! drawn, so a bootstrap can only give what the data has: an empty region is an error.

use crate::region::{Region, Regions, regions};
use crate::table::{Table, Values};
use crate::{Condition, FitOptions, GenError, Method, Model, Sample, assemble, blocks};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Bootstrap {
    table: Table,
    /// Per row, its class (stratified).
    classes: Option<Vec<u32>>,
    /// Per column, the kernel width (smoothed, numeric columns).
    widths: Vec<f64>,
}

impl Bootstrap {
    pub fn fit(method: Method, table: &Table, options: &FitOptions) -> Result<Self, GenError> {
        let classes = match method {
            Method::StratifiedBootstrap => {
                let name = options
                    .class
                    .as_deref()
                    .ok_or_else(|| GenError::Input("the stratified bootstrap needs a class column".into()))?;
                let position =
                    table.position(name).ok_or_else(|| GenError::Input(format!("no column {name}")))?;
                let Values::Labels { codes, levels, .. } = &table.columns[position].values else {
                    return Err(GenError::Input(format!("the class column {name} must hold labels")));
                };
                // Nulls form a class of their own.
                Some(codes.iter().map(|c| c.unwrap_or(levels.len() as u32)).collect())
            }
            _ => None,
        };
        let factor = if options.smoothing > 0.0 { options.smoothing } else { 1.0 };
        let widths = table
            .columns
            .iter()
            .map(|column| match (&column.values, method) {
                (Values::Numbers { values, .. }, Method::SmoothedBootstrap) => {
                    let present: Vec<f64> = values.iter().flatten().copied().collect();
                    factor * silverman(&present)
                }
                _ => 0.0,
            })
            .collect();
        Ok(Self { table: table.clone(), classes, widths })
    }
}

/// Silverman's rule of thumb: 0.9 · min(σ, IQR/1.34) · n^(-1/5).
pub(crate) fn silverman(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let iqr = sorted[(3 * n) / 4] - sorted[n / 4];
    let spread = if iqr > 0.0 { sd.min(iqr / 1.34) } else { sd };
    0.9 * spread * (n as f64).powf(-0.2)
}

/// The region of each column and the real rows inside all of them, for methods that can only
/// reuse real rows (`what` says how, in the error when there are none).
pub(crate) fn real_rows_inside(
    table: &Table,
    model: &Model,
    condition: &Condition,
    what: &str,
) -> Result<(Regions, Vec<usize>, Vec<String>), GenError> {
    let regions = regions(table, &model.constraints, condition)?;
    let rows: Vec<usize> = (0..table.rows()).filter(|&r| regions.contains(table, r)).collect();
    if rows.is_empty() {
        return Err(GenError::Impossible(format!(
            "no real row satisfies {}; {what} real rows — use the copula to go beyond them",
            if condition.is_empty() { "the constraints".to_owned() } else { format!("`{}`", condition.text) }
        )));
    }
    let mut warnings = Vec::new();
    if rows.len() == 1 {
        warnings
            .push("only one real row satisfies the condition: every synthetic row derives from it".into());
    }
    Ok((regions, rows, warnings))
}

impl crate::Generator for Bootstrap {
    fn sample(&self, model: &Model, n: usize, condition: &Condition, seed: u64) -> Result<Sample, GenError> {
        let (regions, rows, warnings) =
            real_rows_inside(&self.table, model, condition, "a bootstrap only redraws")?;
        // Strata: the rows of each class, in class order.
        let strata: Vec<Vec<usize>> = match &self.classes {
            Some(classes) => {
                let mut by_class: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
                for &r in &rows {
                    by_class.entry(classes[r]).or_default().push(r);
                }
                by_class.into_values().collect()
            }
            None => vec![rows],
        };
        let picks: Vec<Vec<(usize, Vec<f64>)>> = blocks(n, seed, |_, range, rng| {
            range
                .map(|i| {
                    let stratum = &strata[i % strata.len()];
                    let row = stratum[rng.random_range(0..stratum.len())];
                    let noise = self
                        .widths
                        .iter()
                        .map(|&w| {
                            if w > 0.0 {
                                let z: f64 = StandardNormal.sample(rng);
                                w * z
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    (row, noise)
                })
                .collect()
        });
        let picks: Vec<(usize, Vec<f64>)> = picks.into_iter().flatten().collect();
        let mut numbers = Vec::with_capacity(self.table.columns.len());
        let mut codes = Vec::with_capacity(self.table.columns.len());
        let mut levels = Vec::with_capacity(self.table.columns.len());
        for (c, column) in self.table.columns.iter().enumerate() {
            match &column.values {
                Values::Numbers { values, .. } => {
                    let Region::Numbers { lo, hi } = regions.columns[c].0 else { unreachable!("numbers") };
                    numbers.push(Some(
                        picks
                            .iter()
                            .map(|(row, noise)| values[*row].map(|v| (v + noise[c]).clamp(lo, hi)))
                            .collect(),
                    ));
                    codes.push(None);
                    levels.push(None);
                }
                Values::Labels { levels: l, codes: real, .. } => {
                    numbers.push(None);
                    codes.push(Some(picks.iter().map(|(row, _)| real[*row]).collect()));
                    levels.push(Some(l.clone()));
                }
            }
        }
        let table = assemble(model, &levels, numbers, codes, seed)?;
        Ok(Sample { table, weights: None, warnings, mcmc: None, tilt: None })
    }
}
