//! `predict`: score a file with a model bundle.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, StringArray};
use serde::{Deserialize, Serialize};
use slipway_data::ingest::{self, ReadOptions};
use slipway_data::{DataType, Field, Role, Schema, Table};
use slipway_learn::bundle;
use slipway_learn::{Prediction, Task};

use crate::{Error, Result};

/// What `predict` did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PredictOutcome {
    /// The model's name.
    pub model: String,
    /// Its task (absent for a clustering bundle, whose output is a `cluster` column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    /// Rows scored.
    pub rows: usize,
    /// Where the predictions were written.
    pub output: PathBuf,
    /// Columns written.
    pub columns: Vec<String>,
}

pub(crate) fn run(model: &Path, input: &Path, output: &Path) -> Result<PredictOutcome> {
    if bundle::read_flavor(model)? == slipway_learn::cluster::bundle::FLAVOR {
        let (name, rows, columns) = crate::cluster::predict(model, input, output)?;
        return Ok(PredictOutcome {
            model: name,
            task: None,
            rows,
            output: output.to_path_buf(),
            columns,
        });
    }
    let b = bundle::load_bundle(model)?;
    let p = &b.pipeline;
    // Read every column the model knows with its training type, so a value that does not
    // fit is refused with its line and column instead of being guessed at.
    let mut opts = ReadOptions::default();
    for f in &p.schema.fields {
        opts.types.insert(f.name.clone(), f.dtype);
    }
    let table = ingest::read_table(input, &opts)?;
    let pred = p.predict(&table)?;
    if pred.n_rows() != table.n_rows() {
        return Err(Error::Internal(
            "the model returned a different number of rows than it was given".into(),
        ));
    }

    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    // Identify rows by the id columns the training data declared, when the input has them.
    for f in p.schema.with_role(Role::Id) {
        if let Ok(c) = table.column(&f.name) {
            fields.push(Field::new(&f.name, f.dtype).with_role(Role::Id));
            columns.push(c.clone());
        }
    }
    match &pred {
        Prediction::Values(v) => {
            fields.push(Field::new("prediction", DataType::Float));
            columns.push(Arc::new(Float64Array::from(v.clone())));
        }
        Prediction::Probabilities(m) => {
            let labels = p.predicted_labels(&pred);
            fields.push(Field::new("prediction", DataType::Categorical));
            columns.push(Arc::new(StringArray::from(labels)));
            for (k, class) in p.target.classes.iter().enumerate() {
                fields.push(Field::new(format!("probability_{class}"), DataType::Float));
                columns.push(Arc::new(Float64Array::from(m.col(k).to_vec())));
            }
        }
    }
    let names = fields.iter().map(|f| f.name.clone()).collect();
    let out = Table::new(Schema::new(fields)?, columns)?;
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    ingest::write_table(&out, output)?;
    Ok(PredictOutcome {
        model: b.manifest.name,
        task: Some(p.target.task),
        rows: table.n_rows(),
        output: output.to_path_buf(),
        columns: names,
    })
}
