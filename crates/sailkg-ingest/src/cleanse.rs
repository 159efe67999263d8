//! Cleansing by declarative rules. Every rule counts the cells it changed; no row is dropped.

use crate::{IngestError, Result};
use polars::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};

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
    /// thousands separators are accepted.
    pub parse_numbers: bool,
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
}

/// Applies the rules to every text column.
pub(crate) fn apply(frame: &mut DataFrame, rules: &Rules) -> Result<CleanseReport> {
    let (mut trimmed, mut collapsed, mut nulled, mut numbers) = (0u64, 0u64, 0u64, 0u64);
    let tokens: Vec<String> = rules.null_tokens.iter().map(|t| t.to_lowercase()).collect();
    let mut replaced = Vec::new();
    for column in frame.columns() {
        if column.dtype() != &DataType::String {
            continue;
        }
        let values = column.as_materialized_series().str()?;
        let mut changed = false;
        let cleaned: Vec<Option<String>> = values
            .iter()
            .map(|value| {
                let value = value?;
                let mut text = value.to_owned();
                if rules.trim {
                    let t = text.trim();
                    if t.len() != text.len() {
                        trimmed += 1;
                        changed = true;
                        text = t.to_owned();
                    }
                }
                if rules.collapse_whitespace && text.split_whitespace().count() > 1 {
                    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    if joined != text {
                        collapsed += 1;
                        changed = true;
                        text = joined;
                    }
                }
                if tokens.iter().any(|t| *t == text.to_lowercase()) {
                    nulled += 1;
                    changed = true;
                    return None;
                }
                Some(text)
            })
            .collect();
        let name = column.name().clone();
        let numeric = if rules.parse_numbers { as_numbers(&cleaned) } else { None };
        match numeric {
            Some(column) => {
                numbers += cleaned.iter().flatten().count() as u64;
                replaced.push(Column::new(name, column));
            }
            None if changed => replaced.push(Column::new(name, cleaned)),
            None => {}
        }
    }
    for column in replaced {
        let name = column.name().clone();
        frame.replace(&name, column)?;
    }
    Ok(CleanseReport {
        changed: vec![
            ("trim".into(), trimmed),
            ("collapse_whitespace".into(), collapsed),
            ("null_tokens".into(), nulled),
            ("parse_numbers".into(), numbers),
        ],
    })
}

/// The values as numbers when every present value is one (at least one present).
fn as_numbers(values: &[Option<String>]) -> Option<Vec<Option<f64>>> {
    if values.iter().all(Option::is_none) {
        return None;
    }
    values
        .iter()
        .map(|v| match v {
            None => Some(None),
            Some(text) => parse_number(text).map(Some),
        })
        .collect()
}

fn parse_number(text: &str) -> Option<f64> {
    let plain: String =
        if text.contains(',') && is_grouped(text) { text.replace(',', "") } else { text.to_owned() };
    let value: f64 = plain.parse().ok()?;
    value.is_finite().then_some(value)
}

/// `1,234,567.8`: commas only as thousands separators.
fn is_grouped(text: &str) -> bool {
    let digits = text.trim_start_matches(['-', '+']);
    let integer = digits.split('.').next().unwrap_or("");
    let groups: Vec<&str> = integer.split(',').collect();
    groups.len() > 1
        && (1..=3).contains(&groups[0].len())
        && groups[1..].iter().all(|g| g.len() == 3)
        && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit()))
}
