//! The in-memory table the generators work on: numeric columns as `f64` (integers, dates and
//! timestamps keep their kind for output), categorical columns as codes into their levels.
//! Converted from and to Arrow record batches.

use crate::GenError;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use std::sync::Arc;

/// What a column is to the generators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Continuous or count values.
    Numeric,
    /// Labels from a finite set (booleans too).
    Categorical,
    /// Dates and timestamps, generated as numbers.
    Datetime,
    /// Row identifiers: never copied, generated fresh.
    Id,
    /// Free text: resampled from the real values.
    Text,
}

/// How numbers go back out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NumberKind {
    Float,
    Integer,
    /// Days since 1970-01-01.
    Date,
    /// Microseconds since the epoch, with the source's time zone if any.
    Timestamp,
}

/// The values of one column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Values {
    Numbers { kind: NumberKind, values: Vec<Option<f64>>, timezone: Option<String> },
    Labels { levels: Vec<String>, codes: Vec<Option<u32>>, boolean: bool },
}

/// One column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Column {
    pub name: String,
    pub role: Role,
    pub values: Values,
}

impl Column {
    /// A numeric column.
    pub fn numbers(name: &str, kind: NumberKind, values: Vec<Option<f64>>) -> Self {
        let role = if matches!(kind, NumberKind::Date | NumberKind::Timestamp) {
            Role::Datetime
        } else {
            Role::Numeric
        };
        Self { name: name.to_owned(), role, values: Values::Numbers { kind, values, timezone: None } }
    }

    /// A categorical column from its labels.
    pub fn labels<S: AsRef<str>>(name: &str, labels: &[Option<S>]) -> Self {
        let mut levels: Vec<String> = Vec::new();
        let mut index = std::collections::HashMap::new();
        let codes = labels
            .iter()
            .map(|label| {
                label.as_ref().map(|label| {
                    let label = label.as_ref();
                    *index.entry(label.to_owned()).or_insert_with(|| {
                        levels.push(label.to_owned());
                        (levels.len() - 1) as u32
                    })
                })
            })
            .collect();
        Self {
            name: name.to_owned(),
            role: Role::Categorical,
            values: Values::Labels { levels, codes, boolean: false },
        }
    }

    pub fn len(&self) -> usize {
        match &self.values {
            Values::Numbers { values, .. } => values.len(),
            Values::Labels { codes, .. } => codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of a row as text (for reports and conditions).
    pub fn text(&self, row: usize) -> Option<String> {
        match &self.values {
            Values::Numbers { values, .. } => values[row].map(|v| v.to_string()),
            Values::Labels { levels, codes, .. } => codes[row].map(|c| levels[c as usize].clone()),
        }
    }
}

/// A table: columns of equal length.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Table {
    pub columns: Vec<Column>,
}

impl Table {
    /// A table from columns, which must have equal lengths.
    pub fn new(columns: Vec<Column>) -> Result<Self, GenError> {
        if let Some(first) = columns.first()
            && let Some(other) = columns.iter().find(|c| c.len() != first.len())
        {
            return Err(GenError::Input(format!(
                "column {} has {} rows but {} has {}",
                other.name,
                other.len(),
                first.name,
                first.len()
            )));
        }
        Ok(Self { columns })
    }

    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// The rows at `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> Table {
        let columns = self
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.clone(),
                role: c.role,
                values: match &c.values {
                    Values::Numbers { kind, values, timezone } => Values::Numbers {
                        kind: *kind,
                        values: rows.iter().map(|&r| values[r]).collect(),
                        timezone: timezone.clone(),
                    },
                    Values::Labels { levels, codes, boolean } => Values::Labels {
                        levels: levels.clone(),
                        codes: rows.iter().map(|&r| codes[r]).collect(),
                        boolean: *boolean,
                    },
                },
            })
            .collect();
        Table { columns }
    }

    /// The position of a column by name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Reads record batches of one schema. Integers, floats and decimals become numbers;
    /// dates and timestamps datetimes; everything else labels (booleans keep their type on
    /// output). Label columns whose values are all distinct get the id role — generated fresh,
    /// never copied — when their name ends in `id` or the table has 50 rows or more (keys,
    /// URLs, free text unique to each row: resampling them would copy real values verbatim).
    pub fn from_batches(batches: &[RecordBatch]) -> Result<Self, GenError> {
        let Some(first) = batches.first() else {
            return Err(GenError::Input("the table has no rows".into()));
        };
        let schema = first.schema();
        let mut columns = Vec::with_capacity(schema.fields().len());
        for (i, field) in schema.fields().iter().enumerate() {
            let arrays: Vec<&ArrayRef> = batches.iter().map(|b| b.column(i)).collect();
            columns.push(column_from_arrays(field, &arrays)?);
        }
        Table::new(columns)
    }

    /// The table as one record batch.
    pub fn to_batch(&self) -> Result<RecordBatch, GenError> {
        let mut fields = Vec::with_capacity(self.columns.len());
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for column in &self.columns {
            let (field, array) = column_to_array(column);
            fields.push(field);
            arrays.push(array);
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
            .map_err(|e| GenError::Input(e.to_string()))
    }
}

fn column_from_arrays(field: &Field, arrays: &[&ArrayRef]) -> Result<Column, GenError> {
    let name = field.name().as_str();
    let cast = |to: &DataType| -> Result<Vec<ArrayRef>, GenError> {
        arrays
            .iter()
            .map(|a| {
                arrow_cast::cast(a.as_ref(), to).map_err(|e| GenError::Input(format!("column {name}: {e}")))
            })
            .collect()
    };
    let numbers = |kind: NumberKind, timezone: Option<String>| -> Result<Column, GenError> {
        let mut values = Vec::new();
        let target = match kind {
            NumberKind::Float => DataType::Float64,
            NumberKind::Integer | NumberKind::Timestamp => DataType::Int64,
            NumberKind::Date => DataType::Int32,
        };
        let source = match kind {
            NumberKind::Date => cast(&DataType::Date32)?,
            NumberKind::Timestamp => {
                cast(&DataType::Timestamp(TimeUnit::Microsecond, timezone.clone().map(Into::into)))?
            }
            _ => arrays.iter().map(|a| Arc::clone(a)).collect(),
        };
        for array in source {
            let array = arrow_cast::cast(array.as_ref(), &target)
                .map_err(|e| GenError::Input(format!("column {name}: {e}")))?;
            let array = arrow_cast::cast(array.as_ref(), &DataType::Float64)
                .map_err(|e| GenError::Input(format!("column {name}: {e}")))?;
            let array = array.as_any().downcast_ref::<arrow_array::Float64Array>().expect("cast to Float64");
            values.extend(array.iter().map(|v| v.filter(|v| v.is_finite())));
        }
        let mut column = Column::numbers(name, kind, values);
        if let Values::Numbers { timezone: tz, .. } = &mut column.values {
            *tz = timezone;
        }
        Ok(column)
    };
    match field.data_type() {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => numbers(NumberKind::Integer, None),
        DataType::Float16
        | DataType::Float32
        | DataType::Float64
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => numbers(NumberKind::Float, None),
        DataType::Date32 | DataType::Date64 => numbers(NumberKind::Date, None),
        DataType::Timestamp(_, timezone) => {
            numbers(NumberKind::Timestamp, timezone.as_ref().map(|t| t.to_string()))
        }
        data_type => {
            let boolean = *data_type == DataType::Boolean;
            let mut labels: Vec<Option<String>> = Vec::new();
            for array in cast(&DataType::Utf8)? {
                let array = array.as_any().downcast_ref::<arrow_array::StringArray>().expect("cast to Utf8");
                labels.extend(array.iter().map(|v| v.map(str::to_owned)));
            }
            let mut column = Column::labels(name, &labels);
            if let Values::Labels { boolean: b, levels, .. } = &mut column.values {
                *b = boolean;
                let lower = name.to_lowercase();
                if !boolean
                    && levels.len() == labels.len()
                    && labels.len() > 1
                    && (lower.ends_with("id") || labels.len() >= 50)
                {
                    column.role = Role::Id;
                }
            }
            Ok(column)
        }
    }
}

fn column_to_array(column: &Column) -> (Field, ArrayRef) {
    let name = column.name.as_str();
    match &column.values {
        Values::Numbers { kind, values, timezone } => match kind {
            NumberKind::Float => (
                Field::new(name, DataType::Float64, true),
                Arc::new(values.iter().copied().collect::<arrow_array::Float64Array>()),
            ),
            NumberKind::Integer => (
                Field::new(name, DataType::Int64, true),
                Arc::new(
                    values.iter().map(|v| v.map(|v| v.round() as i64)).collect::<arrow_array::Int64Array>(),
                ),
            ),
            NumberKind::Date => (
                Field::new(name, DataType::Date32, true),
                Arc::new(
                    values.iter().map(|v| v.map(|v| v.round() as i32)).collect::<arrow_array::Date32Array>(),
                ),
            ),
            NumberKind::Timestamp => {
                let array = values
                    .iter()
                    .map(|v| v.map(|v| v.round() as i64))
                    .collect::<arrow_array::TimestampMicrosecondArray>()
                    .with_timezone_opt(timezone.clone());
                (Field::new(name, array.data_type().clone(), true), Arc::new(array))
            }
        },
        Values::Labels { levels, codes, boolean: true } => (
            Field::new(name, DataType::Boolean, true),
            Arc::new(
                codes
                    .iter()
                    .map(|c| c.map(|c| levels[c as usize] == "true"))
                    .collect::<arrow_array::BooleanArray>(),
            ),
        ),
        Values::Labels { levels, codes, .. } => (
            Field::new(name, DataType::Utf8, true),
            Arc::new(
                codes
                    .iter()
                    .map(|c| c.map(|c| levels[c as usize].as_str()))
                    .collect::<arrow_array::StringArray>(),
            ),
        ),
    }
}
