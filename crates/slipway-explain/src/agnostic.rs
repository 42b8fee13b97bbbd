//! What every model-agnostic explanation needs: a fitted pipeline seen as a function of raw
//! input rows ([`ModelOutput`]), and tables with some input columns replaced (by a constant
//! or by another array) to ask it "what if".
//!
//! Partial dependence ([`crate::pdp`]), permutation importance ([`crate::permutation`]) and
//! exact Shapley values ([`crate::shapley`]) only call [`ModelOutput::predict`], so they
//! explain every model family and whole pipelines (imputation, encoding, categorical
//! columns) in the columns the user knows.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, StringArray};
use serde::{Deserialize, Serialize};
use slipway_data::{DataType, Schema, Table};
use slipway_learn::Prediction;
use slipway_learn::pipeline::FittedPipeline;

use crate::{Error, Result};

/// Most rows handed to the model in one prediction: what-if tables are built and scored a
/// block at a time so memory stays bounded whatever the input's size.
pub const BLOCK_ROWS: usize = 1 << 16;

/// What is explained of a pipeline's prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// Binary classification: the positive class's probability (scikit-learn's
    /// `response_method="auto"` → `predict_proba[:, 1]`).
    PositiveProbability,
    /// Multiclass: each class's probability.
    ClassProbabilities,
    /// Regression: the predicted value.
    Value,
}

/// A fitted pipeline as a function of raw input rows: per row, one value per output.
#[derive(Debug, Clone)]
pub struct ModelOutput<'a> {
    pipeline: &'a FittedPipeline,
    kind: OutputKind,
    outputs: Vec<String>,
}

impl<'a> ModelOutput<'a> {
    /// The outputs of `p`: the positive class's probability for binary classifiers, every
    /// class's probability for multiclass ones (calibrated when the pipeline is), the value
    /// for regressors.
    pub fn new(p: &'a FittedPipeline) -> ModelOutput<'a> {
        let classes = &p.target.classes;
        let (kind, outputs) = match p.target.task {
            slipway_learn::Task::Binary => (
                OutputKind::PositiveProbability,
                vec![format!(
                    "probability of {}",
                    classes.get(1).map_or("class 1", String::as_str)
                )],
            ),
            slipway_learn::Task::Multiclass { .. } => {
                (OutputKind::ClassProbabilities, classes.clone())
            }
            slipway_learn::Task::Regression => (OutputKind::Value, vec![p.target.name.clone()]),
        };
        ModelOutput {
            pipeline: p,
            kind,
            outputs,
        }
    }

    /// The pipeline.
    pub fn pipeline(&self) -> &'a FittedPipeline {
        self.pipeline
    }

    /// What is explained.
    pub fn kind(&self) -> OutputKind {
        self.kind
    }

    /// The outputs' names.
    pub fn outputs(&self) -> &[String] {
        &self.outputs
    }

    /// The space the outputs are in, in words.
    pub fn space(&self) -> &'static str {
        match self.kind {
            OutputKind::PositiveProbability | OutputKind::ClassProbabilities => "probability",
            OutputKind::Value => "prediction",
        }
    }

    /// The model's full prediction of `table`, scored [`BLOCK_ROWS`] rows at a time.
    pub fn prediction(&self, table: &Table) -> Result<Prediction> {
        let n = table.n_rows();
        if n <= BLOCK_ROWS {
            return Ok(self.pipeline.predict(table)?);
        }
        let mut parts = Vec::with_capacity(n.div_ceil(BLOCK_ROWS));
        for start in (0..n).step_by(BLOCK_ROWS) {
            let block = rows(table, start, (start + BLOCK_ROWS).min(n))?;
            parts.push(self.pipeline.predict(&block)?);
        }
        match parts.first() {
            Some(Prediction::Values(_)) => Ok(Prediction::Values(
                parts
                    .into_iter()
                    .flat_map(|p| match p {
                        Prediction::Values(v) => v,
                        Prediction::Probabilities(_) => Vec::new(),
                    })
                    .collect(),
            )),
            _ => {
                let k = self.pipeline.target.classes.len().max(1);
                let mut columns = vec![Vec::with_capacity(n); k];
                for p in parts {
                    let Prediction::Probabilities(m) = p else {
                        return Err(Error::Internal("mixed prediction kinds".into()));
                    };
                    for (j, c) in columns.iter_mut().enumerate() {
                        c.extend_from_slice(m.col(j));
                    }
                }
                Ok(Prediction::Probabilities(
                    slipway_learn::Matrix::from_columns(columns)?,
                ))
            }
        }
    }

    /// The explained outputs of every row of `table`: `n_rows × outputs`, row-major.
    pub fn predict(&self, table: &Table) -> Result<Vec<f64>> {
        let pred = self.prediction(table)?;
        Ok(match (self.kind, pred) {
            (OutputKind::Value, Prediction::Values(v)) => v,
            (OutputKind::PositiveProbability, Prediction::Probabilities(m)) => m.col(1).to_vec(),
            (OutputKind::ClassProbabilities, Prediction::Probabilities(m)) => {
                let mut out = Vec::with_capacity(m.n_rows() * m.n_cols());
                for i in 0..m.n_rows() {
                    out.extend((0..m.n_cols()).map(|j| m.get(i, j)));
                }
                out
            }
            (kind, _) => {
                return Err(Error::Internal(format!(
                    "the model's prediction does not fit {kind:?}"
                )));
            }
        })
    }
}

/// Rows `start..end` of `table`.
pub(crate) fn rows(table: &Table, start: usize, end: usize) -> Result<Table> {
    if start == 0 && end == table.n_rows() {
        return Ok(table.clone());
    }
    Ok(table
        .take(&(start..end).collect::<Vec<_>>())
        .map_err(slipway_learn::Error::from)?)
}

/// One value a column is set to (a grid point of partial dependence).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GridValue {
    /// A boolean column's value.
    Bool(bool),
    /// A numeric column's value (integer columns take it as a real number).
    Number(f64),
    /// A categorical or text column's category.
    Category(String),
}

impl std::fmt::Display for GridValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GridValue::Bool(b) => write!(f, "{b}"),
            GridValue::Number(v) => write!(f, "{v}"),
            GridValue::Category(c) => f.write_str(c),
        }
    }
}

impl GridValue {
    /// The value for people: numbers to about 4 significant digits.
    pub fn label(&self) -> String {
        match self {
            GridValue::Number(v) => slipway_data::html::format_number(*v),
            other => other.to_string(),
        }
    }

    /// `n` copies of the value, with the type the column gets.
    fn array(&self, n: usize) -> (ArrayRef, Option<DataType>) {
        match self {
            GridValue::Bool(b) => (
                Arc::new(BooleanArray::from(vec![*b; n])),
                Some(DataType::Boolean),
            ),
            GridValue::Number(v) => (
                Arc::new(Float64Array::from(vec![*v; n])),
                Some(DataType::Float),
            ),
            GridValue::Category(c) => (Arc::new(StringArray::from(vec![c.as_str(); n])), None),
        }
    }
}

/// `table` with the named columns replaced by arrays of its length. A column's type follows
/// its array (an integer column set to real numbers becomes a float column: pipelines read
/// both as numbers).
pub(crate) fn replace(table: &Table, with: &[(&str, ArrayRef, Option<DataType>)]) -> Result<Table> {
    let mut fields = table.schema().fields.clone();
    let mut columns: Vec<ArrayRef> = table.record_batch().columns().to_vec();
    for (name, array, dtype) in with {
        let j = fields
            .iter()
            .position(|f| f.name == *name)
            .ok_or_else(|| Error::Input(format!("column \"{name}\" is not in the input")))?;
        if let Some(t) = dtype {
            fields[j].dtype = *t;
        }
        columns[j] = array.clone();
    }
    let schema = Schema::new(fields).map_err(slipway_learn::Error::from)?;
    Ok(Table::new(schema, columns).map_err(slipway_learn::Error::from)?)
}

/// `table` with each named column set to one value on every row.
pub(crate) fn with_values(table: &Table, values: &[(&str, &GridValue)]) -> Result<Table> {
    let n = table.n_rows();
    let with: Vec<(&str, ArrayRef, Option<DataType>)> = values
        .iter()
        .map(|(name, v)| {
            let (a, t) = v.array(n);
            (*name, a, t)
        })
        .collect();
    replace(table, &with)
}

/// Checks that `column` is one of the pipeline's input columns and in `table`.
pub(crate) fn require_input(p: &FittedPipeline, table: &Table, column: &str) -> Result<()> {
    let inputs: Vec<String> = p.input_schema().into_iter().map(|(n, _)| n).collect();
    if !inputs.iter().any(|n| n == column) {
        return Err(Error::Input(format!(
            "column \"{column}\" is not an input of the model (its inputs: {})",
            inputs.join(", ")
        )));
    }
    if table.schema().field(column).is_none() {
        return Err(Error::Input(format!(
            "column \"{column}\" is missing from the input (its columns: {})",
            table.schema().names().join(", ")
        )));
    }
    Ok(())
}
