//! Data quality after cleansing: exact duplicate rows, near-duplicate values (key-collision
//! clusters as OpenRefine finds them), and outliers. Reported always; changed only when a rule
//! says so, and a removed row goes to the reject file, never away.

use crate::Result;
use crate::cleanse::{OutlierMethod, Rules};
use crate::read::Reject;
use polars::prelude::*;
use std::collections::HashMap;

/// How many clusters per column a report keeps.
const CLUSTERS_PER_COLUMN: usize = 20;
/// Columns with more distinct values than this are not clustered (the work grows with them).
const MAX_CLUSTER_DISTINCT: usize = 200_000;
/// The column that lists, per row, the columns whose value is an outlier.
pub const OUTLIER_COLUMN: &str = "_outliers";

/// Values of one column that collide on a key and so probably mean the same thing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Cluster {
    /// The column.
    pub column: String,
    /// The keying method: `fingerprint` or `ngram-fingerprint`.
    pub method: String,
    /// The distinct values with their counts, most frequent first.
    pub values: Vec<(String, u64)>,
}

/// What the quality checks found and changed.
#[derive(Debug, Clone, Default)]
pub(crate) struct QualityReport {
    pub duplicate_rows: u64,
    pub clusters: Vec<Cluster>,
    pub changed: Vec<(String, u64)>,
    pub removed: Vec<Reject>,
}

pub(crate) fn apply(frame: &mut DataFrame, rules: &Rules) -> Result<QualityReport> {
    let mut report = QualityReport::default();
    required(frame, rules, &mut report)?;
    duplicates(frame, rules, &mut report)?;
    clusters(frame, rules, &mut report)?;
    outliers(frame, rules, &mut report)?;
    Ok(report)
}

fn row_key(frame: &DataFrame, row: usize) -> String {
    frame
        .columns()
        .iter()
        .map(|c| c.get(row).map(|v| v.to_string()).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

/// Rows missing a required value go to the reject file.
fn required(frame: &mut DataFrame, rules: &Rules, report: &mut QualityReport) -> Result<()> {
    if rules.required.is_empty() {
        return Ok(());
    }
    let mut keep = vec![true; frame.height()];
    let mut missing: Vec<(usize, String)> = Vec::new();
    for name in &rules.required {
        let column = frame.column(name).map_err(|_| {
            crate::IngestError::Rules(format!("required column {name:?} is not in the table"))
        })?;
        for (row, kept) in keep.iter_mut().enumerate() {
            if *kept && column.get(row).map(|v| v.is_null()).unwrap_or(true) {
                *kept = false;
                missing.push((row, name.clone()));
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    for (row, field) in &missing {
        report.removed.push(Reject {
            row: *row as u64 + 1,
            field: field.clone(),
            reason: format!("required column {field} has no value"),
            raw: row_key(frame, *row).replace('\u{1f}', ","),
        });
    }
    *frame = frame.filter(&BooleanChunked::from_slice(PlSmallStr::from("keep"), &keep))?;
    report.changed.push(("required".into(), missing.len() as u64));
    Ok(())
}

fn duplicates(frame: &mut DataFrame, rules: &Rules, report: &mut QualityReport) -> Result<()> {
    if frame.width() == 0 || frame.height() < 2 {
        return Ok(());
    }
    let duplicated = frame.is_duplicated()?;
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    let mut later = Vec::new();
    for (row, flag) in duplicated.iter().enumerate() {
        if flag != Some(true) {
            continue;
        }
        let key = row_key(frame, row);
        match first_seen.get(&key) {
            Some(first) => later.push((row, *first, key)),
            None => {
                first_seen.insert(key, row);
            }
        }
    }
    report.duplicate_rows = later.len() as u64;
    if rules.remove_exact_duplicates && !later.is_empty() {
        let mut keep = vec![true; frame.height()];
        for (row, first, key) in &later {
            keep[*row] = false;
            report.removed.push(Reject {
                row: *row as u64 + 1,
                field: String::new(),
                reason: format!("exact duplicate of table row {}", first + 1),
                raw: key.replace('\u{1f}', ","),
            });
        }
        *frame = frame.filter(&BooleanChunked::from_slice(PlSmallStr::from("keep"), &keep))?;
        report.changed.push(("remove_exact_duplicates".into(), later.len() as u64));
    }
    Ok(())
}

/// OpenRefine's fingerprint: lower case, punctuation removed, unique sorted tokens.
fn fingerprint(value: &str) -> String {
    let cleaned: String = value
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() || c.is_whitespace() { c } else { ' ' })
        .collect();
    let mut tokens: Vec<&str> = cleaned.split_whitespace().collect();
    tokens.sort_unstable();
    tokens.dedup();
    tokens.join(" ")
}

/// OpenRefine's n-gram fingerprint with n = 2: unique sorted character pairs of the letters and
/// digits.
fn ngram_fingerprint(value: &str) -> String {
    let chars: Vec<char> = value.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect();
    let mut grams: Vec<String> = chars.windows(2).map(|w| w.iter().collect()).collect();
    grams.sort_unstable();
    grams.dedup();
    grams.concat()
}

fn clusters(frame: &mut DataFrame, rules: &Rules, report: &mut QualityReport) -> Result<()> {
    let mut replacements = Vec::new();
    for column in frame.columns() {
        if column.dtype() != &DataType::String {
            continue;
        }
        let strings = column.as_materialized_series().str()?;
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for value in strings.iter().flatten() {
            *counts.entry(value).or_default() += 1;
        }
        if counts.len() < 2 || counts.len() > MAX_CLUSTER_DISTINCT {
            continue;
        }
        let mut found: Vec<Cluster> = Vec::new();
        for (method, key) in
            [("fingerprint", fingerprint as fn(&str) -> String), ("ngram-fingerprint", ngram_fingerprint)]
        {
            let mut groups: HashMap<String, Vec<(&str, u64)>> = HashMap::new();
            for (value, count) in &counts {
                let k = key(value);
                if !k.is_empty() {
                    groups.entry(k).or_default().push((value, *count));
                }
            }
            for (_, mut members) in groups {
                if members.len() < 2 {
                    continue;
                }
                members.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
                let values: Vec<(String, u64)> = members.iter().map(|(v, c)| ((*v).to_owned(), *c)).collect();
                // The n-gram key often finds the same groups again; keep each group once.
                if !found.iter().any(|c| c.values.iter().map(|v| &v.0).eq(values.iter().map(|v| &v.0))) {
                    found.push(Cluster { column: column.name().to_string(), method: method.into(), values });
                }
            }
        }
        found.sort_by(|a, b| {
            let total = |c: &Cluster| c.values.iter().map(|v| v.1).sum::<u64>();
            total(b).cmp(&total(a)).then_with(|| a.values[0].0.cmp(&b.values[0].0))
        });
        if rules.merge_clusters.iter().any(|c| c == column.name().as_str()) && !found.is_empty() {
            let mut to: HashMap<String, String> = HashMap::new();
            for cluster in &found {
                let canonical = cluster.values[0].0.clone();
                for (value, _) in &cluster.values[1..] {
                    to.entry(value.clone()).or_insert_with(|| canonical.clone());
                }
            }
            let mut changed = 0u64;
            let merged: Vec<Option<String>> = strings
                .iter()
                .map(|v| {
                    v.map(|v| match to.get(v) {
                        Some(canonical) => {
                            changed += 1;
                            canonical.clone()
                        }
                        None => v.to_owned(),
                    })
                })
                .collect();
            replacements.push((column.name().clone(), merged, changed));
        }
        found.truncate(CLUSTERS_PER_COLUMN);
        report.clusters.extend(found);
    }
    let mut merged_cells = 0;
    for (name, values, changed) in replacements {
        merged_cells += changed;
        frame.replace(&name.clone(), Column::new(name, values))?;
    }
    if !rules.merge_clusters.is_empty() {
        report.changed.push(("merge_clusters".into(), merged_cells));
    }
    Ok(())
}

fn outliers(frame: &mut DataFrame, rules: &Rules, report: &mut QualityReport) -> Result<()> {
    if rules.outliers == OutlierMethod::None || frame.height() == 0 {
        return Ok(());
    }
    let mut flagged: Vec<Vec<String>> = vec![Vec::new(); frame.height()];
    let mut cells = 0u64;
    for column in frame.columns() {
        if !column.dtype().is_primitive_numeric() || column.name().as_str() == OUTLIER_COLUMN {
            continue;
        }
        let values = column.cast(&DataType::Float64)?;
        let values: Vec<Option<f64>> = values.f64()?.iter().collect();
        let mut present: Vec<f64> = values.iter().flatten().copied().filter(|v| v.is_finite()).collect();
        if present.len() < 4 {
            continue;
        }
        present.sort_by(f64::total_cmp);
        let quantile = |p: f64| {
            let position = p * (present.len() - 1) as f64;
            let (lo, hi) = (position.floor() as usize, position.ceil() as usize);
            present[lo] + (present[hi] - present[lo]) * (position - lo as f64)
        };
        let is_outlier: Box<dyn Fn(f64) -> bool> = match rules.outliers {
            OutlierMethod::Iqr => {
                let (q1, q3) = (quantile(0.25), quantile(0.75));
                let spread = q3 - q1;
                Box::new(move |v| v < q1 - 1.5 * spread || v > q3 + 1.5 * spread)
            }
            OutlierMethod::Mad => {
                let median = quantile(0.5);
                let mut deviations: Vec<f64> = present.iter().map(|v| (v - median).abs()).collect();
                deviations.sort_by(f64::total_cmp);
                let mad = deviations[deviations.len() / 2];
                if mad == 0.0 {
                    continue;
                }
                Box::new(move |v| ((v - median) / (1.4826 * mad)).abs() > 3.5)
            }
            OutlierMethod::None => continue,
        };
        for (row, value) in values.iter().enumerate() {
            if let Some(v) = value
                && is_outlier(*v)
            {
                flagged[row].push(column.name().to_string());
                cells += 1;
            }
        }
    }
    report.changed.push((format!("outliers_{}", rules.outliers.name()), cells));
    if cells > 0 {
        let column: Vec<Option<String>> =
            flagged.into_iter().map(|names| (!names.is_empty()).then(|| names.join(","))).collect();
        frame.with_column(Column::new(PlSmallStr::from(OUTLIER_COLUMN), column))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_collide_like_openrefine() {
        assert_eq!(fingerprint("  Tom Cruise "), fingerprint("cruise, tom"));
        assert_eq!(ngram_fingerprint("Paris"), ngram_fingerprint("paris"));
        assert_ne!(fingerprint("Paris"), fingerprint("Pari"));
    }
}
