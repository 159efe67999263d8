//! Cleansing by declarative rules. Every rule counts the cells it changed; no row is dropped.

use crate::{IngestError, Result};
use polars::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// The cleansing rules (a `rules.toml`; every key optional, unknown keys are errors).
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Remove leading and trailing white space.
    pub trim: bool,
    /// Replace runs of white space inside a value by one space.
    pub collapse_whitespace: bool,
    /// Values (compared without case) that mean "no value".
    pub null_tokens: Vec<String>,
    /// Turn text columns whose every value is a number (after the rules above) into numbers;
    /// thousands separators and one column-wide unit suffix ("12 kg", "30%") are accepted, and
    /// the unit is recorded in the catalogue.
    pub parse_numbers: bool,
    /// Columns that must have a value: a row missing one goes to the reject file.
    pub required: Vec<String>,
    /// Normalise text to Unicode NFC, so that visually equal strings compare equal.
    pub unicode_nfc: bool,
    /// Letter case of text values: keep, lower, upper or title.
    pub case: Case,
    /// Rewrite text columns whose every value is a date or date-time in one common layout as
    /// ISO-8601; the detected layout is recorded in the catalogue.
    pub parse_dates: bool,
    /// Remove rows equal to an earlier row (they go to the reject file). Duplicates are always
    /// counted.
    pub remove_exact_duplicates: bool,
    /// Columns whose near-duplicate values (key-collision clusters) are merged into the most
    /// frequent variant. Clusters are always reported.
    pub merge_clusters: Vec<String>,
    /// How outliers of numeric columns are flagged in the `_outliers` column: iqr, mad or none.
    /// Outliers are never removed.
    pub outliers: OutlierMethod,
}

/// Letter case for text values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Case {
    /// Leave as is.
    Keep,
    /// all lower case.
    Lower,
    /// ALL UPPER CASE.
    Upper,
    /// First Letter Of Each Word.
    Title,
}

/// How outliers are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutlierMethod {
    /// Outside 1.5 interquartile ranges beyond the quartiles (Tukey's fences).
    Iqr,
    /// Robust z-score (median absolute deviation) above 3.5.
    Mad,
    /// Do not look for outliers.
    None,
}

impl OutlierMethod {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Iqr => "iqr",
            Self::Mad => "mad",
            Self::None => "none",
        }
    }
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            trim: true,
            collapse_whitespace: true,
            null_tokens: ["", "NA", "N/A", "n/a", "-", "null", "NULL", "None", "NaN"]
                .map(String::from)
                .to_vec(),
            parse_numbers: true,
            required: Vec::new(),
            unicode_nfc: true,
            case: Case::Keep,
            parse_dates: true,
            remove_exact_duplicates: false,
            merge_clusters: Vec::new(),
            outliers: OutlierMethod::Iqr,
        }
    }
}

impl Rules {
    /// Reads rules from TOML text; `name` only names the file in errors.
    pub fn from_toml(text: &str, name: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| IngestError::Rules(format!("{name}: {}", e.to_string().trim_end())))
    }

    /// A digest of the rules, recorded with every version.
    pub fn hash(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        Sha256::digest(text.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

/// What cleansing changed.
#[derive(Debug, Clone, Default)]
pub struct CleanseReport {
    /// Cells changed per rule, in rule order.
    pub changed: Vec<(String, u64)>,
    /// Columns rewritten as ISO-8601, with the layout they were in.
    pub date_formats: Vec<(String, String)>,
    /// Numeric columns whose values carried a unit, with that unit.
    pub units: Vec<(String, String)>,
}

/// Applies the rules to every text column.
/// Cells changed per rule, in the order of [`RULE_NAMES`].
const RULE_NAMES: [&str; 7] =
    ["trim", "collapse_whitespace", "unicode_nfc", "case", "null_tokens", "parse_numbers", "parse_dates"];

/// What cleansing did to one text column.
#[derive(Default)]
struct ColumnOutcome {
    counts: [u64; 7],
    replacement: Option<Column>,
    date_format: Option<(String, String)>,
    unit: Option<(String, String)>,
}

fn clean_column(
    column: &Column,
    rules: &Rules,
    tokens: &std::collections::HashSet<String>,
    longest_token: usize,
) -> Result<ColumnOutcome> {
    use unicode_normalization::UnicodeNormalization;
    let (mut trimmed, mut collapsed, mut nulled, mut numbers) = (0u64, 0u64, 0u64, 0u64);
    let (mut normalised, mut cased, mut dated) = (0u64, 0u64, 0u64);
    let mut replacement = None;
    let mut date_format = None;
    let mut unit_found = None;
    let values = column.as_materialized_series().str()?;
    let mut changed = false;
    // Cells borrow from the column unless a rule changes them, so clean text costs no copy.
    let cleaned: Vec<Option<Cow<'_, str>>> = values
        .iter()
        .map(|value| {
            let mut text = Cow::Borrowed(value?);
            if rules.trim && text.trim().len() != text.len() {
                trimmed += 1;
                changed = true;
                // A trimmed value still borrows from the column.
                text = match text {
                    Cow::Borrowed(t) => Cow::Borrowed(t.trim()),
                    Cow::Owned(t) => Cow::Owned(t.trim().to_owned()),
                };
            }
            if rules.collapse_whitespace && needs_collapse(&text) {
                let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
                if joined != text {
                    collapsed += 1;
                    changed = true;
                    text = Cow::Owned(joined);
                }
            }
            if rules.unicode_nfc && !text.is_ascii() && !unicode_normalization::is_nfc(&text) {
                text = Cow::Owned(text.nfc().collect());
                normalised += 1;
                changed = true;
            }
            let recased = match rules.case {
                Case::Keep => None,
                Case::Lower => Some(text.to_lowercase()),
                Case::Upper => Some(text.to_uppercase()),
                Case::Title => Some(title_case(&text)),
            };
            if let Some(recased) = recased
                && recased != text
            {
                text = Cow::Owned(recased);
                cased += 1;
                changed = true;
            }
            if text.len() <= longest_token && is_null_token(&text, tokens) {
                nulled += 1;
                changed = true;
                return None;
            }
            Some(text)
        })
        .collect();
    let name = column.name().clone();
    let numeric = if rules.parse_numbers { as_numbers(&cleaned) } else { None };
    let layout = if rules.parse_dates && numeric.is_none() {
        crate::dates::detect(cleaned.iter().flatten().map(|v| v.as_ref()))
    } else {
        None
    };
    match (numeric, layout) {
        (Some((column, unit)), _) => {
            numbers += cleaned.iter().flatten().count() as u64;
            if let Some(unit) = unit {
                unit_found = Some((name.to_string(), unit));
            }
            replacement = Some(Column::new(name, column));
        }
        (None, Some(layout)) => {
            let iso: Vec<Option<String>> = cleaned
                .iter()
                .map(|v| v.as_deref().and_then(|v| crate::dates::parse(layout, v)).map(|s| s.iso()))
                .collect();
            dated += cleaned.iter().zip(&iso).filter(|(a, b)| a.as_deref() != b.as_deref()).count() as u64;
            date_format = Some((name.to_string(), layout.name.to_owned()));
            replacement = Some(Column::new(name, iso));
        }
        (None, None) if changed => {
            replacement = Some(
                StringChunked::from_iter_options(name, cleaned.iter().map(|v| v.as_deref())).into_column(),
            )
        }
        (None, None) => {}
    }
    Ok(ColumnOutcome {
        counts: [trimmed, collapsed, normalised, cased, nulled, numbers, dated],
        replacement,
        date_format,
        unit: unit_found,
    })
}

pub(crate) fn apply(frame: &mut DataFrame, rules: &Rules) -> Result<CleanseReport> {
    use rayon::prelude::*;
    let tokens: std::collections::HashSet<String> =
        rules.null_tokens.iter().map(|t| t.to_lowercase()).collect();
    let longest_token = tokens.iter().map(String::len).max().unwrap_or(0);
    // Columns are independent: clean them in parallel.
    let outcomes = frame
        .columns()
        .par_iter()
        .filter(|c| c.dtype() == &DataType::String)
        .map(|c| clean_column(c, rules, &tokens, longest_token))
        .collect::<Result<Vec<_>>>()?;
    let mut counts = [0u64; 7];
    let mut date_formats = Vec::new();
    let mut units = Vec::new();
    let mut replaced = Vec::new();
    for outcome in outcomes {
        for (total, n) in counts.iter_mut().zip(outcome.counts) {
            *total += n;
        }
        date_formats.extend(outcome.date_format);
        units.extend(outcome.unit);
        replaced.extend(outcome.replacement);
    }
    for column in replaced {
        let name = column.name().clone();
        frame.replace(&name, column)?;
    }
    Ok(CleanseReport {
        changed: RULE_NAMES.iter().zip(counts).map(|(name, n)| ((*name).to_owned(), n)).collect(),
        date_formats,
        units,
    })
}

fn title_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut start = true;
    for c in text.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = c.is_whitespace() || c == '-';
    }
    out
}

/// Whether collapsing white space would change the text: two spaces in a row, or white space
/// other than a plain space.
fn needs_collapse(text: &str) -> bool {
    if text.is_ascii() {
        let bytes = text.as_bytes();
        bytes.iter().any(|&b| matches!(b, b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
            || bytes.windows(2).any(|w| w == b"  ")
    } else {
        text.contains("  ") || text.chars().any(|c| c.is_whitespace() && c != ' ')
    }
}

/// Whether the text is a null token, compared without case (`tokens` are lower case).
fn is_null_token(text: &str, tokens: &std::collections::HashSet<String>) -> bool {
    if text.is_ascii() {
        tokens.iter().any(|t| t.eq_ignore_ascii_case(text))
    } else {
        tokens.contains(&text.to_lowercase())
    }
}

/// The values as numbers when every present value is one (at least one present).
/// A column-wide unit suffix ("12.5 kg", "30%") is split off when every present value has it.
fn as_numbers(values: &[Option<Cow<'_, str>>]) -> Option<(Vec<Option<f64>>, Option<String>)> {
    let first = values.iter().flatten().next()?;
    let unit = unit_of(first);
    let numbers = values
        .iter()
        .map(|v| match v {
            None => Some(None),
            Some(text) => {
                let number = match &unit {
                    Some(unit) => text.strip_suffix(unit.as_str())?.trim_end(),
                    None => text,
                };
                parse_number(number).map(Some)
            }
        })
        .collect::<Option<Vec<_>>>()?;
    Some((numbers, unit))
}

/// The unit after a number: letters, `%`, `°` or `/`, after an optional space.
fn unit_of(text: &str) -> Option<String> {
    let split = text.find(|c: char| c.is_alphabetic() || c == '%' || c == '°')?;
    let (number, unit) = text.split_at(split);
    let unit_ok = unit.len() <= 12
        && unit.chars().all(|c| c.is_alphabetic() || matches!(c, '%' | '°' | '/' | '²' | '³'));
    let number = number.trim_end();
    (unit_ok && !number.is_empty() && parse_number(number).is_some() && !unit.eq_ignore_ascii_case("e"))
        .then(|| unit.to_owned())
}

fn parse_number(text: &str) -> Option<f64> {
    let value: f64 = if !text.contains(',') {
        text.parse().ok()?
    } else if is_grouped(text) && text.len() <= 64 {
        // Drop the separators into a stack buffer: no allocation per cell.
        let mut buffer = [0u8; 64];
        let mut n = 0;
        for &b in text.as_bytes().iter().filter(|&&b| b != b',') {
            buffer[n] = b;
            n += 1;
        }
        std::str::from_utf8(&buffer[..n]).ok()?.parse().ok()?
    } else {
        return None;
    };
    value.is_finite().then_some(value)
}

/// `1,234,567.8`: commas only as thousands separators.
fn is_grouped(text: &str) -> bool {
    let digits = text.trim_start_matches(['-', '+']);
    let integer = digits.split('.').next().unwrap_or("");
    let mut groups = integer.split(',');
    let all_digits = |g: &str| g.bytes().all(|b| b.is_ascii_digit());
    let Some(first) = groups.next() else { return false };
    let mut more = 0;
    (1..=3).contains(&first.len())
        && all_digits(first)
        && groups.all(|g| {
            more += 1;
            g.len() == 3 && all_digits(g)
        })
        && more > 0
}
