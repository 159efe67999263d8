//! Column profiles: type, nulls, distinct values, range, quantiles, most frequent values, text
//! lengths.

use crate::Result;
use polars::prelude::*;

/// How many most frequent values a profile keeps.
const TOP: usize = 5;

/// The profile of one column.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
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

/// Counts of the distinct values of a text column.
pub(crate) type Counts<'a> = foldhash::HashMap<&'a str, u64>;

/// Profiles one column.
pub(crate) fn profile_column(column: &Column) -> Result<ColumnProfile> {
    if let Ok(strings) = column.as_materialized_series().str() {
        Ok(string_profile(column, &string_counts(strings)))
    } else if column.dtype().is_primitive_numeric() {
        numeric_profile(column, &sorted_numbers(column)?)
    } else {
        other_profile(column)
    }
}

/// How often each present value of a text column occurs.
pub(crate) fn string_counts(strings: &StringChunked) -> Counts<'_> {
    let mut counts = Counts::default();
    for value in strings.iter().flatten() {
        *counts.entry(value).or_default() += 1;
    }
    counts
}

/// The profile of a text column from the counts of its values: one pass over the rows, the
/// rest over distinct values only.
pub(crate) fn string_profile(column: &Column, counts: &Counts<'_>) -> ColumnProfile {
    let present = counts.values().sum::<u64>();
    let mut lengths: Option<(usize, usize, u64)> = None;
    for (value, count) in counts {
        let n = value.chars().count();
        lengths = Some(match lengths {
            None => (n, n, n as u64 * count),
            Some((lo, hi, sum)) => (lo.min(n), hi.max(n), sum + n as u64 * count),
        });
    }
    let top = top_values(counts.iter().map(|(v, c)| (*v, *c)));
    ColumnProfile {
        distinct: counts.len() as u64 + u64::from(column.null_count() > 0),
        min: counts.keys().min().map(|v| (*v).to_owned()),
        max: counts.keys().max().map(|v| (*v).to_owned()),
        quartiles: None,
        top: top.into_iter().map(|(value, count)| TopValue { value: value.to_owned(), count }).collect(),
        text_length: lengths.map(|(lo, hi, sum)| [lo as f64, sum as f64 / present.max(1) as f64, hi as f64]),
        ..blank(column)
    }
}

/// The present values of a numeric column as numbers, sorted (NaN last).
pub(crate) fn sorted_numbers(column: &Column) -> Result<Vec<f64>> {
    let as_float = column.cast(&DataType::Float64)?;
    let mut values: Vec<f64> = as_float.f64()?.iter().flatten().collect();
    values.sort_unstable_by(f64::total_cmp);
    Ok(values)
}

/// The `p` quantile of sorted values by linear interpolation (polars' `Linear` method).
pub(crate) fn quantile(sorted: &[f64], p: f64) -> f64 {
    let position = p * (sorted.len() - 1) as f64;
    let (lo, hi) = (position.floor() as usize, position.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo as f64)
}

/// The profile of a numeric column from its sorted values: quartiles, distinct values and the
/// most frequent ones come from runs of equal values, with no hashing.
pub(crate) fn numeric_profile(column: &Column, sorted: &[f64]) -> Result<ColumnProfile> {
    let integral = column.dtype().is_integer();
    let text = |value: f64| if integral { format!("{}", value as i64) } else { value.to_string() };
    let (runs, top) = runs(sorted);
    let quartiles =
        (!sorted.is_empty()).then(|| [quantile(sorted, 0.25), quantile(sorted, 0.5), quantile(sorted, 0.75)]);
    Ok(ColumnProfile {
        distinct: runs + u64::from(column.null_count() > 0),
        min: scalar_text(column.min_reduce().ok()),
        max: scalar_text(column.max_reduce().ok()),
        quartiles,
        top: top.into_iter().map(|(value, count)| TopValue { value: text(value), count }).collect(),
        ..blank(column)
    })
}

/// The number of runs of equal values in sorted values and the longest runs, longest first.
fn runs(sorted: &[f64]) -> (u64, Vec<(f64, u64)>) {
    let mut runs = 0u64;
    let mut top: Vec<(f64, u64)> = Vec::with_capacity(TOP + 1);
    let mut i = 0;
    while i < sorted.len() {
        let value = sorted[i];
        let mut j = i + 1;
        while j < sorted.len() && sorted[j].total_cmp(&value).is_eq() {
            j += 1;
        }
        runs += 1;
        let count = (j - i) as u64;
        // Values come in ascending order, so among equal counts the smaller value stays first.
        if top.len() < TOP || count > top[top.len() - 1].1 {
            let at = top.iter().position(|t| t.1 < count).unwrap_or(top.len());
            top.insert(at, (value, count));
            top.truncate(TOP);
        }
        i = j;
    }
    (runs, top)
}

/// Dates, times, booleans and nested values. Temporal values are counted by their physical
/// integers and only the kept ones are formatted.
fn other_profile(column: &Column) -> Result<ColumnProfile> {
    let dtype = column.dtype();
    if matches!(dtype, DataType::List(_) | DataType::Struct(_)) {
        return Ok(blank(column));
    }
    let top: Vec<(String, u64)> = if dtype.is_temporal() {
        let physical = column.to_physical_repr();
        let (_, top) = runs(&sorted_numbers(&physical)?);
        let values: Vec<i64> = top.iter().map(|t| t.0 as i64).collect();
        let logical = Series::new(PlSmallStr::EMPTY, values).cast(&physical.dtype().clone())?.cast(dtype)?;
        top.iter()
            .enumerate()
            .map(|(i, t)| Ok((logical.get(i).map(|v| any_text(&v)).unwrap_or_default(), t.1)))
            .collect::<Result<_>>()?
    } else {
        let series = column.as_materialized_series();
        let mut counts: foldhash::HashMap<String, u64> = foldhash::HashMap::default();
        for index in 0..series.len() {
            if let Ok(value) = series.get(index)
                && !value.is_null()
            {
                *counts.entry(any_text(&value)).or_default() += 1;
            }
        }
        top_values(counts.iter().map(|(v, c)| (v.as_str(), *c)))
            .into_iter()
            .map(|(v, c)| (v.to_owned(), c))
            .collect()
    };
    Ok(ColumnProfile {
        distinct: column.n_unique().unwrap_or(0) as u64,
        min: scalar_text(column.min_reduce().ok()),
        max: scalar_text(column.max_reduce().ok()),
        top: top.into_iter().map(|(value, count)| TopValue { value, count }).collect(),
        ..blank(column)
    })
}

/// A profile with only the name, type and null share filled in.
fn blank(column: &Column) -> ColumnProfile {
    ColumnProfile {
        name: column.name().to_string(),
        datatype: column.dtype().to_string(),
        null_share: column.null_count() as f64 / column.len().max(1) as f64,
        ..ColumnProfile::default()
    }
}

/// The most frequent values, most frequent first, ties in value order.
fn top_values<'a>(entries: impl Iterator<Item = (&'a str, u64)>) -> Vec<(&'a str, u64)> {
    let ranks_before = |a: (&str, u64), b: (&str, u64)| a.1 > b.1 || (a.1 == b.1 && a.0 < b.0);
    let mut top: Vec<(&str, u64)> = Vec::with_capacity(TOP + 1);
    for entry in entries {
        if top.len() < TOP || ranks_before(entry, top[top.len() - 1]) {
            let at = top.iter().position(|t| ranks_before(entry, *t)).unwrap_or(top.len());
            top.insert(at, entry);
            top.truncate(TOP);
        }
    }
    top
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
