//! Logical column types, column roles and the [`Schema`] that travels from training to serving.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The logical type of a column, as a user thinks of it (not the physical Arrow type).
///
/// Each logical type has exactly one Arrow representation in a [`crate::Table`]:
///
/// | logical | Arrow |
/// |---|---|
/// | `Integer` | `Int64` |
/// | `Float` | `Float64` |
/// | `Boolean` | `Boolean` |
/// | `Categorical` | `Utf8` |
/// | `Datetime` | `Timestamp(Millisecond, None)` (UTC) |
/// | `Text` | `Utf8` |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    /// Whole numbers.
    Integer,
    /// Real numbers.
    Float,
    /// `true`/`false` (also read from `yes`/`no`, `1`/`0` when declared).
    Boolean,
    /// A small set of labels.
    Categorical,
    /// A point in time, stored as UTC milliseconds.
    Datetime,
    /// Free text.
    Text,
}

impl DataType {
    /// The Arrow type a column of this logical type is stored as.
    pub fn arrow_type(self) -> arrow_schema::DataType {
        use arrow_schema::{DataType as A, TimeUnit};
        match self {
            DataType::Integer => A::Int64,
            DataType::Float => A::Float64,
            DataType::Boolean => A::Boolean,
            DataType::Categorical | DataType::Text => A::Utf8,
            DataType::Datetime => A::Timestamp(TimeUnit::Millisecond, None),
        }
    }

    /// Whether values of this type are numbers (booleans and datetimes count: they map to
    /// 0/1 and epoch milliseconds).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            DataType::Integer | DataType::Float | DataType::Boolean | DataType::Datetime
        )
    }

    /// The name used in configs and messages.
    pub fn name(self) -> &'static str {
        match self {
            DataType::Integer => "integer",
            DataType::Float => "float",
            DataType::Boolean => "boolean",
            DataType::Categorical => "categorical",
            DataType::Datetime => "datetime",
            DataType::Text => "text",
        }
    }
}

impl std::fmt::Display for DataType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a column is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An input to the model.
    #[default]
    Feature,
    /// The label the model learns to predict.
    Target,
    /// A row identifier: kept for joins, never a feature.
    Id,
    /// When the row happened: kept for time-based checks, never a feature.
    Timestamp,
    /// A protected attribute (sex, race, ...): kept for fairness slicing, never a feature.
    Protected,
    /// Read but not used.
    Ignored,
}

/// One column of a [`Schema`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// The column name, as in the file header.
    pub name: String,
    /// Its logical type.
    pub dtype: DataType,
    /// What it is for.
    #[serde(default)]
    pub role: Role,
}

impl Field {
    /// A feature column.
    pub fn new(name: impl Into<String>, dtype: DataType) -> Self {
        Field {
            name: name.into(),
            dtype,
            role: Role::Feature,
        }
    }

    /// The same field with another role.
    pub fn with_role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }
}

/// The ordered columns of a table with their logical types and roles.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Schema {
    /// The columns, in file order.
    pub fields: Vec<Field>,
}

impl Schema {
    /// A schema of these fields; names must be unique and non-empty.
    pub fn new(fields: Vec<Field>) -> Result<Self> {
        // A few columns (every request a server scores) are compared pairwise: cheaper
        // than hashing every name.
        const PAIRWISE: usize = 32;
        let mut seen = std::collections::HashSet::new();
        for (i, f) in fields.iter().enumerate() {
            if f.name.is_empty() {
                return Err(Error::InvalidSchema(format!(
                    "column {} has an empty name",
                    i + 1
                )));
            }
            let repeated = if fields.len() <= PAIRWISE {
                fields[..i].iter().any(|g| g.name == f.name)
            } else {
                !seen.insert(f.name.as_str())
            };
            if repeated {
                return Err(Error::InvalidSchema(format!(
                    "column \"{}\" appears more than once",
                    f.name
                )));
            }
        }
        Ok(Schema { fields })
    }

    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The position of the column called `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The field called `name`, or an error naming the columns that do exist.
    pub fn require(&self, name: &str) -> Result<&Field> {
        self.field(name).ok_or_else(|| self.missing(name))
    }

    /// The error for a column that is not in this schema.
    pub fn missing(&self, name: &str) -> Error {
        Error::MissingColumn {
            name: name.to_string(),
            available: self.names().join(", "),
        }
    }

    /// Column names in order.
    pub fn names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f.name.as_str()).collect()
    }

    /// The fields with a given role, in order.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(move |f| f.role == role)
    }

    /// The target field, if one is declared.
    pub fn target(&self) -> Option<&Field> {
        self.with_role(Role::Target).next()
    }

    /// Sets the role of column `name`.
    pub fn set_role(&mut self, name: &str, role: Role) -> Result<()> {
        let i = self.index_of(name).ok_or_else(|| self.missing(name))?;
        self.fields[i].role = role;
        Ok(())
    }

    /// The equivalent Arrow schema (all columns nullable).
    pub fn to_arrow(&self) -> arrow_schema::Schema {
        arrow_schema::Schema::new(
            self.fields
                .iter()
                .map(|f| arrow_schema::Field::new(&f.name, f.dtype.arrow_type(), true))
                .collect::<Vec<_>>(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(names: &[String]) -> Vec<Field> {
        names
            .iter()
            .map(|n| Field::new(n.clone(), DataType::Float))
            .collect()
    }

    #[test]
    fn repeated_and_empty_names_are_refused_for_few_and_many_columns() {
        for n in [2, 13, 32, 33, 200] {
            let mut names: Vec<String> = (0..n).map(|i| format!("c{i}")).collect();
            assert!(Schema::new(fields(&names)).is_ok(), "{n} columns");
            names[n - 1] = "c0".into();
            let e = Schema::new(fields(&names)).unwrap_err().to_string();
            assert!(e.contains("\"c0\" appears more than once"), "{n}: {e}");
            names[n - 1] = String::new();
            let e = Schema::new(fields(&names)).unwrap_err().to_string();
            assert!(
                e.contains(&format!("column {n} has an empty name")),
                "{n}: {e}"
            );
        }
    }
}
