//! SMOTE: a synthetic row lies on the segment between a real row of the region and one of its
//! k nearest neighbours in the region (numbers interpolated, labels taken from either end), as
//! in Chawla et al. (2002), with SMOTE-NC's label mismatch cost (the median standard deviation of
//! the numeric columns). It only interpolates inside the convex hull of the region's rows; the
//! copula is the method that goes beyond them.

use crate::region::Region;
use crate::table::{Table, Values};
use crate::{Condition, GenError, Model, Sample, assemble, blocks};
use rand::RngExt;

/// Neighbours considered per row.
const K: usize = 5;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Smote {
    table: Table,
    /// Per column: the standard deviation used to scale numbers (0 for labels).
    scales: Vec<f64>,
    /// What a label mismatch adds to a squared distance.
    mismatch: f64,
}

impl Smote {
    pub fn fit(table: &Table) -> Self {
        let scales: Vec<f64> = table
            .columns
            .iter()
            .map(|column| match &column.values {
                Values::Numbers { values, .. } => {
                    let present: Vec<f64> = values.iter().flatten().copied().collect();
                    let n = present.len().max(1) as f64;
                    let mean = present.iter().sum::<f64>() / n;
                    (present.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
                }
                Values::Labels { .. } => 0.0,
            })
            .collect();
        // Numbers are scaled to unit spread, so SMOTE-NC's mismatch cost (the median spread of
        // the numeric columns) is 1 in squared-distance units.
        Self { table: table.clone(), scales, mismatch: 1.0 }
    }

    fn distance(&self, a: usize, b: usize) -> f64 {
        let mut sum = 0.0;
        for (column, scale) in self.table.columns.iter().zip(&self.scales) {
            if column.role == crate::Role::Id {
                continue;
            }
            match &column.values {
                Values::Numbers { values, .. } => {
                    if let (Some(x), Some(y), true) = (values[a], values[b], *scale > 0.0) {
                        sum += ((x - y) / scale).powi(2);
                    }
                }
                Values::Labels { codes, .. } => {
                    if codes[a] != codes[b] {
                        sum += self.mismatch;
                    }
                }
            }
        }
        sum
    }
}

impl crate::Generator for Smote {
    fn sample(&self, model: &Model, n: usize, condition: &Condition, seed: u64) -> Result<Sample, GenError> {
        let (regions, rows, warnings) =
            crate::bootstrap::real_rows_inside(&self.table, model, condition, "SMOTE interpolates between")?;
        // Each synthetic row: (a, b, λ) over positions in `rows`.
        let picks: Vec<Vec<(usize, usize, f64)>> = blocks(n, seed, |_, range, rng| {
            range
                .map(|_| {
                    let a = rows[rng.random_range(0..rows.len())];
                    let mut near: Vec<(f64, usize)> =
                        rows.iter().filter(|&&r| r != a).map(|&r| (self.distance(a, r), r)).collect();
                    let k = K.min(near.len());
                    let b = if k == 0 {
                        a
                    } else {
                        near.select_nth_unstable_by(k - 1, |x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                        let mut nearest: Vec<(f64, usize)> = near[..k].to_vec();
                        nearest.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                        nearest[rng.random_range(0..k)].1
                    };
                    (a, b, rng.random::<f64>())
                })
                .collect()
        });
        let picks: Vec<(usize, usize, f64)> = picks.into_iter().flatten().collect();
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
                            .map(|&(a, b, t)| match (values[a], values[b]) {
                                (Some(x), Some(y)) => Some((x + t * (y - x)).clamp(lo, hi)),
                                (x, _) => x,
                            })
                            .collect(),
                    ));
                    codes.push(None);
                    levels.push(None);
                }
                Values::Labels { levels: l, codes: real, .. } => {
                    numbers.push(None);
                    codes.push(Some(
                        picks
                            .iter()
                            .map(|&(a, b, t)| if t < 0.5 || real[b].is_none() { real[a] } else { real[b] })
                            .collect(),
                    ));
                    levels.push(Some(l.clone()));
                }
            }
        }
        let table = assemble(model, &levels, numbers, codes, seed)?;
        Ok(Sample { table, weights: None, warnings, mcmc: None, tilt: None })
    }
}
