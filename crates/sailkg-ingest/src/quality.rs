//! Data quality after cleansing: exact duplicate rows, near-duplicate values (key-collision
//! clusters as OpenRefine finds them), and outliers. Reported always; changed only when a rule
//! says so, and a removed row goes to the reject file, never away.

use crate::Result;
use crate::cleanse::{OutlierMethod, Rules};
use crate::profile::{ColumnProfile, Counts, quantile};
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

/// Runs the checks and profiles every column of the result: row checks first (required values,
/// duplicates), then one parallel pass per column that clusters, flags outliers and profiles
/// from the same counts and sorted values.
pub(crate) fn apply(frame: &mut DataFrame, rules: &Rules) -> Result<(QualityReport, Vec<ColumnProfile>)> {
    use rayon::prelude::*;
    let mut report = QualityReport::default();
    required(frame, rules, &mut report)?;
    duplicates(frame, rules, &mut report)?;
    let outcomes =
        frame.columns().par_iter().map(|column| analyse(column, rules)).collect::<Result<Vec<_>>>()?;
    let mut profiles = Vec::with_capacity(outcomes.len() + 1);
    let mut merged_cells = 0;
    let mut flagged: Vec<(PlSmallStr, Vec<usize>)> = Vec::new();
    for outcome in outcomes {
        report.clusters.extend(outcome.clusters);
        if let Some((column, changed)) = outcome.merged {
            merged_cells += changed;
            frame.replace(&column.name().clone(), column)?;
        }
        if !outcome.outliers.is_empty() {
            flagged.push((PlSmallStr::from(outcome.profile.name.as_str()), outcome.outliers));
        }
        profiles.push(outcome.profile);
    }
    if !rules.merge_clusters.is_empty() {
        report.changed.push(("merge_clusters".into(), merged_cells));
    }
    if rules.outliers != OutlierMethod::None && frame.height() > 0 {
        let cells = flagged.iter().map(|(_, rows)| rows.len() as u64).sum();
        report.changed.push((format!("outliers_{}", rules.outliers.name()), cells));
        if cells > 0 {
            let mut names: Vec<Option<String>> = vec![None; frame.height()];
            for (column, rows) in &flagged {
                for &row in rows {
                    match &mut names[row] {
                        Some(list) => {
                            list.push(',');
                            list.push_str(column);
                        }
                        empty => *empty = Some(column.to_string()),
                    }
                }
            }
            let column = Column::new(PlSmallStr::from(OUTLIER_COLUMN), names);
            profiles.push(crate::profile::profile_column(&column)?);
            frame.with_column(column)?;
        }
    }
    Ok((report, profiles))
}

/// What the per-column pass found for one column.
struct ColumnOutcome {
    clusters: Vec<Cluster>,
    /// The column with its clusters merged, and the cells that changed.
    merged: Option<(Column, u64)>,
    /// Rows whose value is an outlier.
    outliers: Vec<usize>,
    profile: ColumnProfile,
}

fn analyse(column: &Column, rules: &Rules) -> Result<ColumnOutcome> {
    if let Ok(strings) = column.as_materialized_series().str() {
        let mut counts = crate::profile::string_counts(strings);
        let mut clusters = clusters(column.name(), &counts);
        let mut merged = None;
        if rules.merge_clusters.iter().any(|c| c == column.name().as_str()) && !clusters.is_empty() {
            let mut to: foldhash::HashMap<&str, &str> = foldhash::HashMap::default();
            for cluster in &clusters {
                for (value, _) in &cluster.values[1..] {
                    to.entry(value.as_str()).or_insert(cluster.values[0].0.as_str());
                }
            }
            let mut changed = 0u64;
            let column = StringChunked::from_iter_options(
                column.name().clone(),
                strings.iter().map(|v| {
                    v.map(|v| match to.get(v) {
                        Some(canonical) => {
                            changed += 1;
                            *canonical
                        }
                        None => v,
                    })
                }),
            )
            .into_column();
            // The profile describes the merged values.
            for (variant, canonical) in &to {
                if let Some(n) = counts.remove(variant) {
                    *counts.entry(canonical).or_default() += n;
                }
            }
            merged = Some((column, changed));
        }
        let profile = crate::profile::string_profile(merged.as_ref().map_or(column, |m| &m.0), &counts);
        clusters.truncate(CLUSTERS_PER_COLUMN);
        Ok(ColumnOutcome { clusters, merged, outliers: Vec::new(), profile })
    } else if column.dtype().is_primitive_numeric() && column.name().as_str() != OUTLIER_COLUMN {
        let sorted = crate::profile::sorted_numbers(column)?;
        Ok(ColumnOutcome {
            clusters: Vec::new(),
            merged: None,
            outliers: outliers(column, &sorted, rules.outliers)?,
            profile: crate::profile::numeric_profile(column, &sorted)?,
        })
    } else {
        let profile = crate::profile::profile_column(column)?;
        Ok(ColumnOutcome { clusters: Vec::new(), merged: None, outliers: Vec::new(), profile })
    }
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

/// Rows equal to an earlier row, each with that earlier row: rows are hashed column by column
/// and only rows whose hash was seen before are compared value by value.
fn duplicate_rows(frame: &DataFrame) -> Result<Vec<(usize, usize)>> {
    let Some(hashes) = row_hashes(frame)? else {
        // Column types without a vectorised hash: let polars find the duplicated rows.
        let duplicated = frame.is_duplicated()?;
        let mut first_seen: HashMap<String, usize> = HashMap::new();
        let mut later = Vec::new();
        for (row, flag) in duplicated.iter().enumerate() {
            if flag == Some(true) {
                match first_seen.entry(row_key(frame, row)) {
                    std::collections::hash_map::Entry::Occupied(first) => later.push((row, *first.get())),
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(row);
                    }
                }
            }
        }
        return Ok(later);
    };
    let mut first_by_hash: foldhash::HashMap<u64, usize> =
        foldhash::HashMap::with_capacity_and_hasher(hashes.len(), Default::default());
    // Distinct rows that share a hash with an earlier, different row (astronomically rare).
    let mut collided: Vec<(u64, usize)> = Vec::new();
    let mut later = Vec::new();
    for (row, &hash) in hashes.iter().enumerate() {
        let Some(&first) = first_by_hash.get(&hash) else {
            first_by_hash.insert(hash, row);
            continue;
        };
        let key = row_key(frame, row);
        let earlier = std::iter::once(first)
            .chain(collided.iter().filter(|(h, _)| *h == hash).map(|(_, r)| *r))
            .find(|&candidate| row_key(frame, candidate) == key);
        match earlier {
            Some(first) => later.push((row, first)),
            None => collided.push((hash, row)),
        }
    }
    Ok(later)
}

/// A hash per row, combined from vectorised column hashes; `None` when a column's type has none.
fn row_hashes(frame: &DataFrame) -> Result<Option<Vec<u64>>> {
    let state = polars::prelude::PlSeedableRandomStateQuality::default();
    let mut hashes: Vec<u64> = Vec::new();
    for (index, column) in frame.columns().iter().enumerate() {
        let series = column.as_materialized_series().to_physical_repr();
        macro_rules! hash {
            ($chunked:expr) => {
                if index == 0 {
                    $chunked.vec_hash(state.clone(), &mut hashes)?
                } else {
                    $chunked.vec_hash_combine(state.clone(), &mut hashes)?
                }
            };
        }
        match series.dtype() {
            DataType::String => hash!(series.str()?),
            DataType::Boolean => hash!(series.bool()?),
            DataType::Int64 => hash!(series.i64()?),
            DataType::Int32 => hash!(series.i32()?),
            DataType::Int16 => hash!(series.i16()?),
            DataType::Int8 => hash!(series.i8()?),
            DataType::UInt64 => hash!(series.u64()?),
            DataType::UInt32 => hash!(series.u32()?),
            DataType::UInt16 => hash!(series.u16()?),
            DataType::UInt8 => hash!(series.u8()?),
            DataType::Float64 => hash!(series.f64()?),
            DataType::Float32 => hash!(series.f32()?),
            _ => return Ok(None),
        }
    }
    Ok(Some(hashes))
}

fn duplicates(frame: &mut DataFrame, rules: &Rules, report: &mut QualityReport) -> Result<()> {
    if frame.width() == 0 || frame.height() < 2 {
        return Ok(());
    }
    let later = duplicate_rows(frame)?;
    report.duplicate_rows = later.len() as u64;
    if rules.remove_exact_duplicates && !later.is_empty() {
        let mut keep = vec![true; frame.height()];
        for &(row, first) in &later {
            keep[row] = false;
            report.removed.push(Reject {
                row: row as u64 + 1,
                field: String::new(),
                reason: format!("exact duplicate of table row {}", first + 1),
                raw: row_key(frame, row).replace('\u{1f}', ","),
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

/// Key-collision clusters of a text column's distinct values, largest first.
fn clusters(column: &str, counts: &Counts<'_>) -> Vec<Cluster> {
    if counts.len() < 2 || counts.len() > MAX_CLUSTER_DISTINCT {
        return Vec::new();
    }
    let mut found: Vec<Cluster> = Vec::new();
    for (method, key) in
        [("fingerprint", fingerprint as fn(&str) -> String), ("ngram-fingerprint", ngram_fingerprint)]
    {
        let mut groups: foldhash::HashMap<String, Vec<(&str, u64)>> = foldhash::HashMap::default();
        for (value, count) in counts {
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
                found.push(Cluster { column: column.to_owned(), method: method.into(), values });
            }
        }
    }
    found.sort_by(|a, b| {
        let total = |c: &Cluster| c.values.iter().map(|v| v.1).sum::<u64>();
        total(b).cmp(&total(a)).then_with(|| a.values[0].0.cmp(&b.values[0].0))
    });
    found
}

/// Rows whose value lies outside the method's fences, computed from the sorted values.
fn outliers(column: &Column, sorted: &[f64], method: OutlierMethod) -> Result<Vec<usize>> {
    // Sorted by total order, the finite values lie between the infinities and NaNs.
    let from = sorted.partition_point(|v| !v.is_finite() && v.is_sign_negative());
    let to = sorted.partition_point(|v| v.is_finite() || v.is_sign_negative());
    let finite = &sorted[from..to.max(from)];
    if finite.len() < 4 {
        return Ok(Vec::new());
    }
    let (low, high) = match method {
        OutlierMethod::None => return Ok(Vec::new()),
        OutlierMethod::Iqr => {
            let (q1, q3) = (quantile(finite, 0.25), quantile(finite, 0.75));
            let spread = q3 - q1;
            (q1 - 1.5 * spread, q3 + 1.5 * spread)
        }
        OutlierMethod::Mad => {
            let median = quantile(finite, 0.5);
            let mut deviations: Vec<f64> = finite.iter().map(|v| (v - median).abs()).collect();
            let middle = deviations.len() / 2;
            let mad = *deviations.select_nth_unstable_by(middle, f64::total_cmp).1;
            if mad == 0.0 {
                return Ok(Vec::new());
            }
            (median - 3.5 * 1.4826 * mad, median + 3.5 * 1.4826 * mad)
        }
    };
    // Nothing to flag when every value is inside the fences: skip the pass over the rows.
    if finite[0] >= low && finite[finite.len() - 1] <= high {
        return Ok(Vec::new());
    }
    let values = column.cast(&DataType::Float64)?;
    Ok(values
        .f64()?
        .iter()
        .enumerate()
        .filter_map(|(row, v)| v.filter(|v| *v < low || *v > high).map(|_| row))
        .collect())
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
