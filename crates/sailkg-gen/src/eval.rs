//! Evaluation of a synthetic table against the real one, with SDMetrics' definitions so the
//! numbers compare: per column the KS complement (numbers: 1 − the two-sample Kolmogorov–Smirnov
//! statistic) or the TV complement (labels: 1 − total variation distance), their mean as the
//! fidelity, the correlation similarity of numeric pairs (1 − |ρ_real − ρ_synthetic| / 2,
//! averaged), and the share of synthetic rows that copy a real row exactly.

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
