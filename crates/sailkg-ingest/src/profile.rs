//! Column profiles: type, nulls, distinct values, range, quantiles, most frequent values, text
//! lengths.

use crate::Result;
use polars::prelude::*;
use std::collections::HashMap;

/// How many most frequent values a profile keeps.
const TOP: usize = 5;

/// The profile of one column.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ColumnProfile {
    /// The column name.
    pub name: String,
    /// The column's type as polars names it.
    pub datatype: String,
    /// Share of missing values, 0 to 1.
    pub null_share: f64,
    /// Number of distinct values (missing counted once).
    pub distinct: u64,
    /// Smallest value, as text.
    pub min: Option<String>,
    /// Largest value, as text.
    pub max: Option<String>,
    /// Quartiles of numeric columns (25 %, 50 %, 75 %).
    pub quartiles: Option<[f64; 3]>,
    /// The most frequent values with their counts.
    pub top: Vec<TopValue>,
    /// Shortest, mean and longest length of text values, in characters.
    pub text_length: Option<[f64; 3]>,
    /// The unit split off the column's values ("kg", "%"), when there was one.
    pub unit: Option<String>,
    /// The layout the column's dates were in, when they were rewritten as ISO-8601.
    pub date_format: Option<String>,
    /// Frequency, gaps and duplicates, for a column of dates or times.
    pub time_series: Option<crate::TimeSeriesProfile>,
}

/// A frequent value.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TopValue {
    /// The value as text.
    pub value: String,
    /// How often it occurs.
    pub count: u64,
}

/// Profiles every column.
pub(crate) fn profile(frame: &DataFrame) -> Result<Vec<ColumnProfile>> {
    use rayon::prelude::*;
    let height = frame.height().max(1) as f64;
    // Columns are independent: profile them in parallel.
    frame.columns().par_iter().map(|column| profile_column(column, height)).collect()
}

fn profile_column(column: &Column, height: f64) -> Result<ColumnProfile> {
    let dtype = column.dtype().clone();
    let nested = matches!(dtype, DataType::List(_) | DataType::Struct(_));
    let numeric = dtype.is_primitive_numeric();
    let (min, max) = if nested {
        (None, None)
    } else {
        (scalar_text(column.min_reduce().ok()), scalar_text(column.max_reduce().ok()))
    };
    let quartiles = if numeric && column.null_count() < column.len() {
        let q = |p| {
            column.quantile_reduce(p, QuantileMethod::Linear).ok().and_then(|s| s.value().extract::<f64>())
        };
        match (q(0.25), q(0.5), q(0.75)) {
            (Some(a), Some(b), Some(c)) => Some([a, b, c]),
            _ => None,
        }
    } else {
        None
    };
    let series = column.as_materialized_series();
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut lengths: Option<(usize, usize, usize)> = None;
    if let Ok(strings) = series.str() {
        let mut borrowed: HashMap<&str, u64> = HashMap::new();
        for value in strings.iter().flatten() {
            *borrowed.entry(value).or_default() += 1;
            let n = value.chars().count();
            lengths = Some(match lengths {
                None => (n, n, n),
                Some((lo, hi, sum)) => (lo.min(n), hi.max(n), sum + n),
            });
        }
        counts = top_of(borrowed.into_iter().map(|(k, v)| (k.to_owned(), v)));
    } else if numeric {
        // Count numbers by their bits, format only the few that are kept.
        let as_float = series.cast(&DataType::Float64)?;
        let mut by_bits: HashMap<u64, u64> = HashMap::new();
        for value in as_float.f64()?.iter().flatten() {
            *by_bits.entry(value.to_bits()).or_default() += 1;
        }
        let integral = matches!(
            dtype,
            DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32
                | DataType::UInt64
        );
        let mut frequent: Vec<(u64, u64)> = by_bits.into_iter().collect();
        frequent
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| f64::from_bits(a.0).total_cmp(&f64::from_bits(b.0))));
        frequent.truncate(TOP);
        counts = frequent
            .into_iter()
            .map(|(bits, count)| {
                let value = f64::from_bits(bits);
                (if integral { format!("{}", value as i64) } else { value.to_string() }, count)
            })
            .collect();
    } else if !nested {
        for index in 0..series.len() {
            if let Ok(value) = series.get(index)
                && !value.is_null()
            {
                *counts.entry(any_text(&value)).or_default() += 1;
            }
        }
    }
    let present = (column.len() - column.null_count()).max(1);
    let mut top: Vec<TopValue> = counts.into_iter().map(|(value, count)| TopValue { value, count }).collect();
    top.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    top.truncate(TOP);
    Ok(ColumnProfile {
        name: column.name().to_string(),
        datatype: dtype.to_string(),
        null_share: column.null_count() as f64 / height,
        distinct: if nested { 0 } else { column.n_unique().unwrap_or(0) as u64 },
        min,
        max,
        quartiles,
        top,
        text_length: lengths.map(|(lo, hi, sum)| [lo as f64, sum as f64 / present as f64, hi as f64]),
        unit: None,
        date_format: None,
        time_series: None,
    })
}

/// Keeps the most frequent entries only, so callers need not format every distinct value.
fn top_of(entries: impl Iterator<Item = (String, u64)>) -> HashMap<String, u64> {
    let mut all: Vec<(String, u64)> = entries.collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(TOP);
    all.into_iter().collect()
}

fn scalar_text(scalar: Option<Scalar>) -> Option<String> {
    let scalar = scalar?;
    let value = scalar.value();
    (!value.is_null()).then(|| any_text(value))
}

fn any_text(value: &AnyValue<'_>) -> String {
    match value {
        AnyValue::String(s) => (*s).to_owned(),
        AnyValue::StringOwned(s) => s.to_string(),
        other => other.to_string(),
    }
}
