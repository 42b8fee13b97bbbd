//! [`Table`]: a schema plus one Arrow array per column.

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};

use crate::{DataType, Error, Result, Schema};

/// A table of data: a [`Schema`] (logical types and roles) over an Arrow [`RecordBatch`].
///
/// Missing values are Arrow nulls. Each logical type has one Arrow representation (see
/// [`DataType`]); [`Table::new`] enforces it, so accessors can rely on it.
#[derive(Debug, Clone)]
pub struct Table {
    schema: Schema,
    batch: RecordBatch,
}

impl Table {
    /// A table from a schema and one array per field, in order.
    pub fn new(schema: Schema, columns: Vec<ArrayRef>) -> Result<Self> {
        if columns.len() != schema.fields.len() {
            return Err(Error::InvalidSchema(format!(
                "{} columns given for a schema of {}",
                columns.len(),
                schema.fields.len()
            )));
        }
        for (f, c) in schema.fields.iter().zip(&columns) {
            if *c.data_type() != f.dtype.arrow_type() {
                return Err(Error::Internal(format!(
                    "column \"{}\" declared {} but stored as {}",
                    f.name,
                    f.dtype,
                    c.data_type()
                )));
            }
        }
        let arrow_schema = Arc::new(schema.to_arrow());
        let batch = if columns.is_empty() {
            RecordBatch::new_empty(arrow_schema)
        } else {
            RecordBatch::try_new(arrow_schema, columns)?
        };
        Ok(Table { schema, batch })
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Mutable access to roles (types cannot change: the arrays would not match).
    pub fn set_role(&mut self, name: &str, role: crate::Role) -> Result<()> {
        self.schema.set_role(name, role)
    }

    /// The underlying Arrow batch.
    pub fn record_batch(&self) -> &RecordBatch {
        &self.batch
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.schema.fields.len()
    }

    /// The array of column `name`, or an error naming the columns that exist.
    pub fn column(&self, name: &str) -> Result<&ArrayRef> {
        let i = self
            .schema
            .index_of(name)
            .ok_or_else(|| self.schema.missing(name))?;
        Ok(self.batch.column(i))
    }

    /// Number of missing values in column `name`.
    pub fn null_count(&self, name: &str) -> Result<usize> {
        Ok(self.column(name)?.null_count())
    }

    /// A numeric column as `f64`, missing values as NaN. Booleans become 0/1 and datetimes
    /// epoch milliseconds.
    pub fn numeric_values(&self, name: &str) -> Result<Vec<f64>> {
        let field = self.schema.require(name)?;
        let col = self.column(name)?;
        let any = col.as_any();
        let out = match field.dtype {
            DataType::Float => {
                let a = downcast::<Float64Array>(any, name)?;
                (0..a.len())
                    .map(|i| if a.is_null(i) { f64::NAN } else { a.value(i) })
                    .collect()
            }
            DataType::Integer => {
                let a = downcast::<Int64Array>(any, name)?;
                (0..a.len())
                    .map(|i| {
                        if a.is_null(i) {
                            f64::NAN
                        } else {
                            a.value(i) as f64
                        }
                    })
                    .collect()
            }
            DataType::Boolean => {
                let a = downcast::<BooleanArray>(any, name)?;
                (0..a.len())
                    .map(|i| {
                        if a.is_null(i) {
                            f64::NAN
                        } else if a.value(i) {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect()
            }
            DataType::Datetime => {
                let a = downcast::<TimestampMillisecondArray>(any, name)?;
                (0..a.len())
                    .map(|i| {
                        if a.is_null(i) {
                            f64::NAN
                        } else {
                            a.value(i) as f64
                        }
                    })
                    .collect()
            }
            DataType::Categorical | DataType::Text => {
                return Err(Error::WrongType {
                    column: name.to_string(),
                    expected: "a numeric column".into(),
                    actual: field.dtype.to_string(),
                });
            }
        };
        Ok(out)
    }

    /// A categorical or text column as string slices, missing values as `None`.
    pub fn string_values(&self, name: &str) -> Result<Vec<Option<&str>>> {
        let field = self.schema.require(name)?;
        if !matches!(field.dtype, DataType::Categorical | DataType::Text) {
            return Err(Error::WrongType {
                column: name.to_string(),
                expected: "a categorical or text column".into(),
                actual: field.dtype.to_string(),
            });
        }
        let a = downcast::<StringArray>(self.column(name)?.as_any(), name)?;
        Ok((0..a.len())
            .map(|i| if a.is_null(i) { None } else { Some(a.value(i)) })
            .collect())
    }

    /// Any column's values rendered as text (for messages and reports); missing as `None`.
    pub fn display_value(&self, name: &str, row: usize) -> Result<Option<String>> {
        let col = self.column(name)?;
        if col.is_null(row) {
            return Ok(None);
        }
        let field = self.schema.require(name)?;
        Ok(Some(match field.dtype {
            DataType::Categorical | DataType::Text => downcast::<StringArray>(col.as_any(), name)?
                .value(row)
                .to_string(),
            DataType::Integer => downcast::<Int64Array>(col.as_any(), name)?
                .value(row)
                .to_string(),
            DataType::Float => downcast::<Float64Array>(col.as_any(), name)?
                .value(row)
                .to_string(),
            DataType::Boolean => downcast::<BooleanArray>(col.as_any(), name)?
                .value(row)
                .to_string(),
            DataType::Datetime => {
                let ms = downcast::<TimestampMillisecondArray>(col.as_any(), name)?.value(row);
                chrono::DateTime::from_timestamp_millis(ms)
                    .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                    .unwrap_or_else(|| ms.to_string())
            }
        }))
    }

    /// The rows at `rows`, in that order.
    pub fn take(&self, rows: &[usize]) -> Result<Table> {
        let idx = arrow_array::UInt64Array::from_iter_values(rows.iter().map(|&r| r as u64));
        let columns = self
            .batch
            .columns()
            .iter()
            .map(|c| arrow_select::take::take(c.as_ref(), &idx, None))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Table::new(self.schema.clone(), columns)
    }

    /// The rows of `tables` one after another; every table must have the same schema.
    pub fn concat(tables: &[Table]) -> Result<Table> {
        let Some(first) = tables.first() else {
            return Err(Error::Internal("concatenating no tables".into()));
        };
        if let Some(other) = tables.iter().find(|t| t.schema != first.schema) {
            return Err(Error::InvalidSchema(format!(
                "cannot concatenate tables with different schemas ({} and {})",
                first.schema.names().join(", "),
                other.schema.names().join(", ")
            )));
        }
        let batches: Vec<&RecordBatch> = tables.iter().map(|t| &t.batch).collect();
        let batch = arrow_select::concat::concat_batches(&first.batch.schema(), batches)?;
        Ok(Table {
            schema: first.schema.clone(),
            batch,
        })
    }

    /// Only the named columns, in the given order.
    pub fn select(&self, names: &[&str]) -> Result<Table> {
        let mut fields = Vec::with_capacity(names.len());
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            fields.push(self.schema.require(name)?.clone());
            columns.push(self.column(name)?.clone());
        }
        Table::new(Schema::new(fields)?, columns)
    }
}

fn downcast<'a, T: 'static>(any: &'a dyn std::any::Any, name: &str) -> Result<&'a T> {
    any.downcast_ref::<T>().ok_or_else(|| {
        Error::Internal(format!(
            "column \"{name}\" is not stored as its declared type"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Field;

    fn small() -> Table {
        let schema = Schema::new(vec![
            Field::new("x", DataType::Float),
            Field::new("c", DataType::Categorical),
        ])
        .unwrap();
        Table::new(
            schema,
            vec![
                Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0)])),
                Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn accessors_map_nulls() {
        let t = small();
        let x = t.numeric_values("x").unwrap();
        assert_eq!(x[0], 1.0);
        assert!(x[1].is_nan());
        assert_eq!(
            t.string_values("c").unwrap(),
            vec![Some("a"), Some("b"), None]
        );
        assert!(matches!(
            t.numeric_values("c"),
            Err(Error::WrongType { .. })
        ));
    }

    #[test]
    fn missing_column_names_existing_ones() {
        let err = small().column("y").unwrap_err().to_string();
        assert!(err.contains("\"y\"") && err.contains("x, c"), "{err}");
    }

    #[test]
    fn take_reorders_rows() {
        let t = small().take(&[2, 0]).unwrap();
        assert_eq!(t.n_rows(), 2);
        assert_eq!(t.numeric_values("x").unwrap()[1], 1.0);
        assert_eq!(t.string_values("c").unwrap(), vec![None, Some("a")]);
    }
}
