//! Constraints (from the ontology's SHACL shapes or given directly) and the region each column
//! must stay in: the constraints intersected with the sampling condition. Generators sample
//! inside the region by construction.

use crate::GenError;
use crate::condition::{Condition, Test, Value};
use crate::table::{NumberKind, Table, Values};
use std::collections::BTreeMap;

/// What one column must satisfy (`sh:minInclusive` … `sh:in`, `sh:pattern`, `sh:minCount`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ColumnConstraint {
    /// Lower bound and whether it is inclusive.
    pub min: Option<(f64, bool)>,
    /// Upper bound and whether it is inclusive.
    pub max: Option<(f64, bool)>,
    /// The allowed labels.
    pub allowed: Option<Vec<String>>,
    /// A regular expression every label must match.
    pub pattern: Option<String>,
    /// Never null (`sh:minCount 1`).
    pub required: bool,
}

/// The constraints of a table.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Constraints {
    pub columns: BTreeMap<String, ColumnConstraint>,
    /// Pairs of number columns whose values are ordered in every row (`sh:lessThan`:
    /// strict, `sh:lessThanOrEquals`: not).
    #[serde(default)]
    pub order: Vec<Order>,
}

/// `smaller` < `larger` (or ≤ when not strict) in every row where both have values.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Order {
    pub smaller: String,
    pub larger: String,
    pub strict: bool,
}

/// Where a column's generated values must lie.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Region {
    /// Numbers in [lo, hi] (bounds already tightened for open ends and integers).
    Numbers { lo: f64, hi: f64 },
    /// Labels among these level codes (`None`: any level).
    Labels { allowed: Option<Vec<u32>> },
}

/// The region of every column, plus whether it may be null.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Regions {
    pub columns: Vec<(Region, bool)>,
}

impl Regions {
    /// Whether a column is restricted beyond its full range.
    pub fn is_restricted(&self, column: usize) -> bool {
        match &self.columns[column].0 {
            Region::Numbers { lo, hi } => lo.is_finite() || hi.is_finite(),
            Region::Labels { allowed } => allowed.is_some(),
        }
    }

    /// Whether a real row of `table` lies in every region.
    pub fn contains(&self, table: &Table, row: usize) -> bool {
        table.columns.iter().zip(&self.columns).all(|(column, (region, nullable))| {
            match (&column.values, region) {
                (Values::Numbers { values, .. }, Region::Numbers { lo, hi }) => match values[row] {
                    Some(v) => v >= *lo && v <= *hi,
                    None => *nullable,
                },
                (Values::Labels { codes, .. }, Region::Labels { allowed }) => match codes[row] {
                    Some(c) => allowed.as_ref().is_none_or(|a| a.contains(&c)),
                    None => *nullable,
                },
                _ => false,
            }
        })
    }
}

/// The smallest representable step above/below a bound for open intervals.
fn open(bound: f64, up: bool, kind: NumberKind) -> f64 {
    match kind {
        NumberKind::Float => {
            if up {
                bound.next_up()
            } else {
                bound.next_down()
            }
        }
        _ => {
            if up {
                bound.floor() + 1.0
            } else {
                bound.ceil() - 1.0
            }
        }
    }
}

/// Intersects the constraints and the condition per column of `table`. An unknown column, a
/// test that does not fit the column, or an empty intersection is an error saying why.
pub fn regions(table: &Table, constraints: &Constraints, condition: &Condition) -> Result<Regions, GenError> {
    for order in &constraints.order {
        for name in [&order.smaller, &order.larger] {
            match table.position(name).map(|p| &table.columns[p].values) {
                Some(Values::Numbers { .. }) => {}
                Some(Values::Labels { .. }) => {
                    return Err(GenError::Constraint(format!(
                        "{} {} {}: {name} holds labels, and only numbers are ordered",
                        order.smaller,
                        if order.strict { "<" } else { "<=" },
                        order.larger
                    )));
                }
                None => {
                    return Err(GenError::Constraint(format!(
                        "an order constraint names column {name}, which the table lacks"
                    )));
                }
            }
        }
    }
    for name in constraints.columns.keys() {
        if table.position(name).is_none() {
            return Err(GenError::Constraint(format!(
                "a constraint names column {name}, which the table lacks"
            )));
        }
    }
    let mut out = Vec::with_capacity(table.columns.len());
    for column in &table.columns {
        let constraint = constraints.columns.get(&column.name).cloned().unwrap_or_default();
        let clauses: Vec<&Test> =
            condition.clauses.iter().filter(|c| c.column == column.name).map(|c| &c.test).collect();
        let nullable = !constraint.required && clauses.is_empty();
        let region = match &column.values {
            Values::Numbers { kind, .. } => {
                let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
                let mut tighten = |bound: Option<(f64, bool)>, is_lo: bool| {
                    if let Some((v, inclusive)) = bound {
                        let v = if inclusive {
                            match kind {
                                NumberKind::Float => v,
                                _ if is_lo => v.ceil(),
                                _ => v.floor(),
                            }
                        } else {
                            open(v, is_lo, *kind)
                        };
                        if is_lo {
                            lo = lo.max(v);
                        } else {
                            hi = hi.min(v);
                        }
                    }
                };
                tighten(constraint.min, true);
                tighten(constraint.max, false);
                for test in &clauses {
                    match test {
                        Test::Range { lo, hi } => {
                            tighten(*lo, true);
                            tighten(*hi, false);
                        }
                        Test::Eq(Value::Number(v)) => {
                            tighten(Some((*v, true)), true);
                            tighten(Some((*v, true)), false);
                        }
                        other => {
                            return Err(GenError::Condition {
                                column: 1,
                                message: format!(
                                    "{} is a number column: use =, <, <=, >, >= or between with numbers, not {other:?}",
                                    column.name
                                ),
                            });
                        }
                    }
                }
                if lo > hi {
                    return Err(GenError::Impossible(format!(
                        "no value of {} satisfies both the constraints and the condition (they leave [{lo}, {hi}])",
                        column.name
                    )));
                }
                Region::Numbers { lo, hi }
            }
            Values::Labels { levels, .. } => {
                let mut allowed: Option<Vec<u32>> = None;
                let mut restrict = |keep: &dyn Fn(&str) -> bool| {
                    let codes: Vec<u32> =
                        (0..levels.len() as u32).filter(|&c| keep(&levels[c as usize])).collect();
                    allowed = Some(match allowed.take() {
                        None => codes,
                        Some(before) => before.into_iter().filter(|c| codes.contains(c)).collect(),
                    });
                };
                if let Some(set) = &constraint.allowed {
                    restrict(&|l| set.iter().any(|s| s == l));
                }
                if let Some(pattern) = &constraint.pattern {
                    let regex = regex::Regex::new(pattern)
                        .map_err(|e| GenError::Constraint(format!("the pattern of {}: {e}", column.name)))?;
                    restrict(&|l| regex.is_match(l));
                }
                for test in &clauses {
                    match test {
                        Test::Eq(v) => {
                            let v = v.label();
                            restrict(&|l| l == v);
                        }
                        Test::Ne(v) => {
                            let v = v.label();
                            restrict(&|l| l != v);
                        }
                        Test::In(values) => {
                            let values: Vec<String> = values.iter().map(Value::label).collect();
                            restrict(&|l| values.iter().any(|v| v == l));
                        }
                        Test::Range { .. } => {
                            return Err(GenError::Condition {
                                column: 1,
                                message: format!(
                                    "{} is a label column: use =, != or in, not a range",
                                    column.name
                                ),
                            });
                        }
                    }
                }
                if allowed.as_ref().is_some_and(Vec::is_empty) {
                    return Err(GenError::Impossible(format!(
                        "no label of {} satisfies the constraints and the condition (its labels: {})",
                        column.name,
                        levels.iter().take(20).cloned().collect::<Vec<_>>().join(", ")
                    )));
                }
                Region::Labels { allowed }
            }
        };
        out.push((region, nullable));
    }
    for clause in &condition.clauses {
        if table.position(&clause.column).is_none() {
            return Err(GenError::Condition {
                column: 1,
                message: format!(
                    "unknown column {}; the table has {}",
                    clause.column,
                    table.columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
                ),
            });
        }
    }
    Ok(Regions { columns: out })
}

/// Puts every row's ordered pairs in order: a row where `smaller` is not below `larger` gets the
/// two values swapped when both stay inside their regions, else `larger` moves just above
/// `smaller` (or `smaller` just below `larger`) inside its region. Returns the rows it could not
/// repair (their regions leave no room), which the caller reports.
pub fn enforce_order(table: &mut Table, constraints: &Constraints, regions: &Regions) -> usize {
    let mut unrepaired = 0;
    for order in &constraints.order {
        let (Some(a), Some(b)) = (table.position(&order.smaller), table.position(&order.larger)) else {
            continue;
        };
        let bounds = |c: usize| match regions.columns[c].0 {
            Region::Numbers { lo, hi } => (lo, hi),
            Region::Labels { .. } => (f64::NEG_INFINITY, f64::INFINITY),
        };
        let ((alo, ahi), (blo, bhi)) = (bounds(a), bounds(b));
        let kind = |c: usize| match &table.columns[c].values {
            Values::Numbers { kind, .. } => *kind,
            Values::Labels { .. } => NumberKind::Float,
        };
        let step = |kind: NumberKind, v: f64, up: bool| match kind {
            NumberKind::Float => {
                if up {
                    v.next_up()
                } else {
                    v.next_down()
                }
            }
            _ => {
                if up {
                    v + 1.0
                } else {
                    v - 1.0
                }
            }
        };
        let (ka, kb) = (kind(a), kind(b));
        let (Values::Numbers { values: va, .. }, Values::Numbers { values: vb, .. }) =
            (table.columns[a].values.clone(), table.columns[b].values.clone())
        else {
            continue;
        };
        let (mut va, mut vb) = (va, vb);
        for r in 0..va.len() {
            let (Some(x), Some(y)) = (va[r], vb[r]) else { continue };
            let ok = |x: f64, y: f64| if order.strict { x < y } else { x <= y };
            if ok(x, y) {
                continue;
            }
            let inside = |v: f64, (lo, hi): (f64, f64)| v >= lo && v <= hi;
            if ok(y, x) && inside(y, (alo, ahi)) && inside(x, (blo, bhi)) {
                (va[r], vb[r]) = (Some(y), Some(x));
                continue;
            }
            let above = if order.strict { step(kb, x, true) } else { x };
            if inside(above, (blo, bhi)) && ok(x, above) {
                vb[r] = Some(above);
                continue;
            }
            let below = if order.strict { step(ka, y, false) } else { y };
            if inside(below, (alo, ahi)) && ok(below, y) {
                va[r] = Some(below);
                continue;
            }
            unrepaired += 1;
        }
        if let Values::Numbers { values, .. } = &mut table.columns[a].values {
            *values = va;
        }
        if let Values::Numbers { values, .. } = &mut table.columns[b].values {
            *values = vb;
        }
    }
    unrepaired
}
