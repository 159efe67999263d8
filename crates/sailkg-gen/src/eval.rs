//! Evaluation of a synthetic table against the real one, with SDMetrics' definitions so the
//! numbers compare: per column the KS complement (numbers: 1 − the two-sample Kolmogorov–Smirnov
//! statistic) or the TV complement (labels: 1 − total variation distance), their mean as the
//! fidelity, the correlation similarity of numeric pairs (1 − |ρ_real − ρ_synthetic| / 2,
//! averaged), the contingency similarity of pairs with a label column (1 − total variation
//! distance of their joint distribution, numbers in the real deciles), and the share of
//! synthetic rows that copy a real row exactly. [`privacy`] compares the synthetic rows'
//! distance to their closest real record with a hold-out's.

use crate::table::{Role, Table, Values};
use std::collections::{HashMap, HashSet};

/// The score of one column.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ColumnScore {
    pub column: String,
    /// `ks_complement` or `tv_complement`.
    pub metric: &'static str,
    pub score: f64,
}

/// What [`evaluate`] finds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub real_rows: usize,
    pub synthetic_rows: usize,
    pub columns: Vec<ColumnScore>,
    /// Mean of the column scores.
    pub fidelity: f64,
    /// Mean correlation similarity over numeric column pairs, if there are two numeric columns.
    pub correlation_similarity: Option<f64>,
    /// Mean contingency similarity over column pairs with a label column.
    pub contingency_similarity: Option<f64>,
    /// Share of synthetic rows equal to a real row on every non-identifier column.
    pub exact_copy_share: f64,
}

/// Compares `synthetic` with `real` (same columns by name).
pub fn evaluate(real: &Table, synthetic: &Table) -> Report {
    let mut columns = Vec::new();
    // Real and synthetic values of each numeric column.
    let mut numeric: Vec<[&[Option<f64>]; 2]> = Vec::new();
    for column in &real.columns {
        if column.role == Role::Id {
            continue;
        }
        let Some(other) = synthetic.position(&column.name).map(|p| &synthetic.columns[p]) else { continue };
        match (&column.values, &other.values) {
            (Values::Numbers { values: a, .. }, Values::Numbers { values: b, .. }) => {
                let ks = ks_statistic(a, b);
                columns.push(ColumnScore {
                    column: column.name.clone(),
                    metric: "ks_complement",
                    score: 1.0 - ks,
                });
                numeric.push([a, b]);
            }
            _ => {
                let a: Vec<Option<String>> = (0..column.len()).map(|r| column.text(r)).collect();
                let b: Vec<Option<String>> = (0..other.len()).map(|r| other.text(r)).collect();
                columns.push(ColumnScore {
                    column: column.name.clone(),
                    metric: "tv_complement",
                    score: 1.0 - total_variation(&a, &b),
                });
            }
        }
    }
    let fidelity = if columns.is_empty() {
        0.0
    } else {
        columns.iter().map(|c| c.score).sum::<f64>() / columns.len() as f64
    };
    let mut similarities = Vec::new();
    for i in 0..numeric.len() {
        for j in i + 1..numeric.len() {
            if let (Some(r), Some(s)) =
                (pearson(numeric[i][0], numeric[j][0]), pearson(numeric[i][1], numeric[j][1]))
            {
                similarities.push(1.0 - (r - s).abs() / 2.0);
            }
        }
    }
    let correlation_similarity =
        (!similarities.is_empty()).then(|| similarities.iter().sum::<f64>() / similarities.len() as f64);
    Report {
        real_rows: real.rows(),
        synthetic_rows: synthetic.rows(),
        columns,
        fidelity,
        correlation_similarity,
        contingency_similarity: contingency_similarity(real, synthetic),
        exact_copy_share: exact_copies(real, synthetic),
    }
}

fn ks_statistic(a: &[Option<f64>], b: &[Option<f64>]) -> f64 {
    let mut a: Vec<f64> = a.iter().flatten().copied().collect();
    let mut b: Vec<f64> = b.iter().flatten().copied().collect();
    if a.is_empty() || b.is_empty() {
        return if a.is_empty() && b.is_empty() { 0.0 } else { 1.0 };
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

fn total_variation(a: &[Option<String>], b: &[Option<String>]) -> f64 {
    let shares = |values: &[Option<String>]| {
        let mut counts: HashMap<&Option<String>, f64> = HashMap::new();
        for v in values {
            *counts.entry(v).or_default() += 1.0;
        }
        let n = values.len().max(1) as f64;
        counts.into_iter().map(|(k, c)| (k.clone(), c / n)).collect::<HashMap<Option<String>, f64>>()
    };
    let (pa, pb) = (shares(a), shares(b));
    let keys: HashSet<&Option<String>> = pa.keys().chain(pb.keys()).collect();
    keys.into_iter().map(|k| (pa.get(k).unwrap_or(&0.0) - pb.get(k).unwrap_or(&0.0)).abs()).sum::<f64>() / 2.0
}

fn pearson(a: &[Option<f64>], b: &[Option<f64>]) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = a.iter().zip(b).filter_map(|(x, y)| Some(((*x)?, (*y)?))).collect();
    if pairs.len() < 3 {
        return None;
    }
    let n = pairs.len() as f64;
    let (ma, mb) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        ab += (x - ma) * (y - mb);
        aa += (x - ma).powi(2);
        bb += (y - mb).powi(2);
    }
    (aa > 0.0 && bb > 0.0).then(|| ab / (aa * bb).sqrt())
}

fn exact_copies(real: &Table, synthetic: &Table) -> f64 {
    let names: Vec<&str> =
        real.columns.iter().filter(|c| c.role != Role::Id).map(|c| c.name.as_str()).collect();
    let key = |table: &Table, row: usize| -> Option<Vec<Option<String>>> {
        names.iter().map(|n| table.position(n).map(|p| table.columns[p].text(row))).collect()
    };
    let seen: HashSet<Vec<Option<String>>> = (0..real.rows()).filter_map(|r| key(real, r)).collect();
    let copies =
        (0..synthetic.rows()).filter(|&r| key(synthetic, r).is_some_and(|k| seen.contains(&k))).count();
    copies as f64 / synthetic.rows().max(1) as f64
}

/// The `p` quantile of sorted values, interpolated (NaN when empty).
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let position = p.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let i = position.floor() as usize;
    let next = (i + 1).min(sorted.len() - 1);
    sorted[i] + (sorted[next] - sorted[i]) * (position - i as f64)
}

/// The cells of a column as text, for joint counts.
type Cells = Vec<Option<String>>;

/// The cell of every row of a column for contingency tables: the label, or the real decile.
fn cells(column: &crate::table::Column, edges: Option<&[f64]>) -> Vec<Option<u32>> {
    match (&column.values, edges) {
        (Values::Numbers { values, .. }, Some(edges)) => {
            values.iter().map(|v| v.map(|v| edges.partition_point(|e| *e < v) as u32)).collect()
        }
        (Values::Labels { codes, .. }, _) => codes.clone(),
        (Values::Numbers { values, .. }, None) => values.iter().map(|v| v.map(|v| v as u32)).collect(),
    }
}

/// Mean over column pairs with at least one label column of 1 − TVD(joint real, joint
/// synthetic), SDMetrics' ContingencySimilarity; numbers fall into the real deciles. At most
/// 30 columns are paired.
pub fn contingency_similarity(real: &Table, synthetic: &Table) -> Option<f64> {
    let usable: Vec<(usize, usize)> = real
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.role != Role::Id)
        .filter_map(|(i, c)| synthetic.position(&c.name).map(|j| (i, j)))
        .take(30)
        .collect();
    // Cells per column, labels by text so that both tables share codes.
    let mut prepared: Vec<(bool, Cells, Cells)> = Vec::new();
    for &(i, j) in &usable {
        let (a, b) = (&real.columns[i], &synthetic.columns[j]);
        match (&a.values, &b.values) {
            (Values::Numbers { values, .. }, Values::Numbers { .. }) => {
                let mut sorted: Vec<f64> = values.iter().flatten().copied().collect();
                sorted.sort_by(f64::total_cmp);
                let edges: Vec<f64> = (1..10).map(|k| quantile_sorted(&sorted, k as f64 / 10.0)).collect();
                let text = |c: &crate::table::Column| -> Vec<Option<String>> {
                    cells(c, Some(&edges)).into_iter().map(|v| v.map(|v| v.to_string())).collect()
                };
                prepared.push((false, text(a), text(b)));
            }
            _ => {
                let text = |c: &crate::table::Column| (0..c.len()).map(|r| c.text(r)).collect();
                prepared.push((true, text(a), text(b)));
            }
        }
    }
    let mut scores = Vec::new();
    for x in 0..prepared.len() {
        for y in x + 1..prepared.len() {
            if !prepared[x].0 && !prepared[y].0 {
                continue;
            }
            let joint = |a: &[Option<String>],
                         b: &[Option<String>]|
             -> HashMap<(Option<String>, Option<String>), f64> {
                let mut counts = HashMap::new();
                for (u, v) in a.iter().zip(b) {
                    *counts.entry((u.clone(), v.clone())).or_default() += 1.0;
                }
                let n = a.len().max(1) as f64;
                counts.values_mut().for_each(|c| *c /= n);
                counts
            };
            let (p, q) = (joint(&prepared[x].1, &prepared[y].1), joint(&prepared[x].2, &prepared[y].2));
            let keys: HashSet<&(Option<String>, Option<String>)> = p.keys().chain(q.keys()).collect();
            let tvd: f64 = keys
                .into_iter()
                .map(|k| (p.get(k).unwrap_or(&0.0) - q.get(k).unwrap_or(&0.0)).abs())
                .sum::<f64>()
                / 2.0;
            scores.push(1.0 - tvd);
        }
    }
    (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
}

/// Distance to closest record, against a hold-out.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Privacy {
    /// What the synthetic rows' distances are compared with: `holdout` (real rows the generator
    /// did not see) or `leave-one-out` (each real row's distance to the other real rows).
    pub baseline: &'static str,
    pub synthetic_rows_compared: usize,
    /// Median distance of a synthetic row to its closest training row.
    pub median_dcr_synthetic: f64,
    /// Median distance of a baseline row to its closest training row.
    pub median_dcr_baseline: f64,
    /// Share of synthetic rows closer to a training row than the baseline median: about 0.5
    /// when the generator does not memorise, toward 1 when it copies.
    pub share_closer_than_baseline_median: f64,
}

/// Distances are Gower-like: the mean over non-identifier columns of |Δ| / range for numbers and
/// 0/1 for labels (a null matches a null). At most 2,000 synthetic and baseline rows and
/// 20,000 training rows are compared, evenly chosen.
pub fn privacy(train: &Table, holdout: Option<&Table>, synthetic: &Table) -> Privacy {
    use rayon::prelude::*;
    let columns: Vec<(usize, Option<f64>)> = train
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.role != Role::Id)
        .map(|(i, c)| match &c.values {
            Values::Numbers { values, .. } => {
                let (lo, hi) =
                    values.iter().flatten().fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
                (i, Some(if hi > lo { hi - lo } else { 1.0 }))
            }
            Values::Labels { .. } => (i, None),
        })
        .collect();
    // Rows as numbers and texts in the training table's column order.
    let encode = |table: &Table, row: usize| -> Vec<(Option<f64>, Option<String>)> {
        columns
            .iter()
            .map(|&(i, range)| {
                let name = &train.columns[i].name;
                match table.position(name).map(|p| &table.columns[p]) {
                    Some(c) => match (&c.values, range) {
                        (Values::Numbers { values, .. }, Some(_)) => (values[row], None),
                        _ => (None, c.text(row)),
                    },
                    None => (None, None),
                }
            })
            .collect()
    };
    let even = |n: usize, cap: usize| -> Vec<usize> {
        if n <= cap { (0..n).collect() } else { (0..cap).map(|k| k * n / cap).collect() }
    };
    let train_rows: Vec<usize> = even(train.rows(), 20_000);
    let train_encoded: Vec<Vec<(Option<f64>, Option<String>)>> =
        train_rows.iter().map(|&r| encode(train, r)).collect();
    let distance = |a: &[(Option<f64>, Option<String>)], b: &[(Option<f64>, Option<String>)]| -> f64 {
        let mut total = 0.0;
        for (k, &(_, range)) in columns.iter().enumerate() {
            total += match range {
                Some(range) => match (a[k].0, b[k].0) {
                    (Some(x), Some(y)) => ((x - y).abs() / range).min(1.0),
                    (None, None) => 0.0,
                    _ => 1.0,
                },
                None => f64::from(u8::from(a[k].1 != b[k].1)),
            };
        }
        total / columns.len().max(1) as f64
    };
    let closest = |row: &[(Option<f64>, Option<String>)], skip: Option<usize>| -> f64 {
        train_encoded
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != skip)
            .map(|(_, t)| distance(row, t))
            .fold(f64::INFINITY, f64::min)
    };
    let synthetic_rows = even(synthetic.rows(), 2000);
    let mut synthetic_dcr: Vec<f64> =
        synthetic_rows.par_iter().map(|&r| closest(&encode(synthetic, r), None)).collect();
    let (baseline, mut baseline_dcr): (&'static str, Vec<f64>) = match holdout {
        Some(holdout) => (
            "holdout",
            even(holdout.rows(), 2000).par_iter().map(|&r| closest(&encode(holdout, r), None)).collect(),
        ),
        None => (
            "leave-one-out",
            even(train_rows.len(), 2000).par_iter().map(|&i| closest(&train_encoded[i], Some(i))).collect(),
        ),
    };
    synthetic_dcr.sort_by(f64::total_cmp);
    baseline_dcr.sort_by(f64::total_cmp);
    let median_baseline = quantile_sorted(&baseline_dcr, 0.5);
    Privacy {
        baseline,
        synthetic_rows_compared: synthetic_dcr.len(),
        median_dcr_synthetic: quantile_sorted(&synthetic_dcr, 0.5),
        median_dcr_baseline: median_baseline,
        share_closer_than_baseline_median: synthetic_dcr.iter().filter(|d| **d < median_baseline).count()
            as f64
            / synthetic_dcr.len().max(1) as f64,
    }
}

/// Splits the rows of `table` into training and hold-out rows: `fraction` of every class of
/// `stratify` (or of all rows) is held out, rounded, keeping at least one row of each class
/// for training. Seeded.
pub fn holdout_split(
    table: &Table,
    fraction: f64,
    stratify: Option<&str>,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    use rand::RngExt;
    let class: Vec<Option<String>> = match stratify.and_then(|s| table.position(s)) {
        Some(p) => (0..table.rows()).map(|r| table.columns[p].text(r)).collect(),
        None => vec![None; table.rows()],
    };
    let mut groups: Vec<(Option<String>, Vec<usize>)> = Vec::new();
    let mut index: HashMap<Option<String>, usize> = HashMap::new();
    for (r, c) in class.into_iter().enumerate() {
        let g = *index.entry(c.clone()).or_insert_with(|| {
            groups.push((c, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push(r);
    }
    let mut rng = crate::stream(seed, 0x686F_6C64);
    let (mut train, mut holdout) = (Vec::new(), Vec::new());
    for (_, mut rows) in groups {
        for i in (1..rows.len()).rev() {
            rows.swap(i, rng.random_range(0..=i));
        }
        let held = ((fraction * rows.len() as f64).round() as usize).min(rows.len().saturating_sub(1));
        holdout.extend_from_slice(&rows[..held]);
        train.extend_from_slice(&rows[held..]);
    }
    train.sort_unstable();
    holdout.sort_unstable();
    (train, holdout)
}
