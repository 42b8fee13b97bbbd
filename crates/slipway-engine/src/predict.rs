//! `predict`: score a file with a model bundle.
//!
//! The input must have the model's input columns ([`FittedPipeline::input_schema`], the same
//! list as the manifest's `inputs` and the `MLmodel` signature), each read as the type that
//! schema gives: a column trained as integer takes any number unless the training config
//! declared it integer. Id columns (role `id` in training) and columns named with `keep` are
//! copied to the output ahead of the predictions; every other column (the target, ignored
//! or protected columns, anything else) is left out and listed in
//! [`PredictOutcome::ignored_columns`].

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use serde::{Deserialize, Serialize};
use slipway_data::ingest::{self, ReadOptions};
use slipway_data::{DataType, Field, Role, Schema, Table};
use slipway_learn::bundle;
use slipway_learn::cluster::bundle as cbundle;
use slipway_learn::pipeline::FittedPipeline;
use slipway_learn::{Prediction, Task};

use crate::config::PipelineConfig;
use crate::{Error, Result};

/// How `predict` treats columns beyond the model's inputs.
#[derive(Debug, Clone, Default)]
pub struct PredictOptions {
    /// Columns copied from the input to the output as they are (in this order, after the id
    /// columns), whether or not the model uses them.
    pub keep: Vec<String>,
}

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
    /// Input columns the model does not use and that were not passed through (not an id
    /// column, not named with `keep`), in file order.
    #[serde(default)]
    pub ignored_columns: Vec<String>,
}

/// A loaded bundle of either flavor, as far as reading its input goes.
pub(crate) struct Model {
    pub(crate) name: String,
    /// The training schema (for the id columns and their types).
    pub(crate) schema: Schema,
    /// The input columns with the types they are read as.
    pub(crate) inputs: Vec<(String, DataType)>,
    /// Columns the training config declared, by name.
    pub(crate) declared: BTreeMap<String, DataType>,
}

pub(crate) fn run(
    model: &Path,
    input: &Path,
    output: &Path,
    opts: &PredictOptions,
) -> Result<PredictOutcome> {
    let (m, scorer) = load(model)?;
    let input_table = read_input(input, &m, &opts.keep)?;
    let table = &input_table.table;

    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for name in &input_table.passed_through {
        let f = table.schema().require(name)?;
        let role = m.schema.field(name).map_or(Role::Feature, |t| t.role);
        fields.push(Field::new(name, f.dtype).with_role(role));
        columns.push(table.column(name)?.clone());
    }
    let scored = scorer.score(table)?;
    let task = scored.task();
    match scored {
        Output::Values(v) => {
            fields.push(Field::new("prediction", DataType::Float));
            columns.push(Arc::new(Float64Array::from(v)));
        }
        Output::Classes {
            labels,
            probabilities,
            classes,
            ..
        } => {
            fields.push(Field::new("prediction", DataType::Categorical));
            columns.push(Arc::new(StringArray::from(labels)));
            for (k, class) in classes.iter().enumerate() {
                fields.push(Field::new(format!("probability_{class}"), DataType::Float));
                columns.push(Arc::new(Float64Array::from(probabilities.col(k).to_vec())));
            }
        }
        Output::Clusters(labels) => {
            fields.push(Field::new("cluster", DataType::Integer));
            columns.push(Arc::new(Int64Array::from(labels)));
        }
    }
    let kept: BTreeSet<&str> = input_table
        .passed_through
        .iter()
        .map(String::as_str)
        .collect();
    if let Some(clash) = fields
        .iter()
        .skip(kept.len())
        .find(|f| kept.contains(f.name.as_str()))
    {
        return Err(slipway_learn::Error::InvalidData(format!(
            "--keep: the input column \"{}\" has the name of a column predict writes; rename it in the input to pass it through",
            clash.name
        ))
        .into());
    }
    let names = fields.iter().map(|f| f.name.clone()).collect();
    let out = Table::new(Schema::new(fields)?, columns)?;
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    ingest::write_table(&out, output)?;
    Ok(PredictOutcome {
        model: m.name,
        task,
        rows: table.n_rows(),
        output: output.to_path_buf(),
        columns: names,
        ignored_columns: input_table.ignored,
    })
}

/// Loads the bundle at `dir`, of either flavor.
pub(crate) fn load(dir: &Path) -> Result<(Model, Scorer)> {
    Ok(if bundle::read_flavor(dir)? == cbundle::FLAVOR {
        let b = cbundle::load_cluster_bundle(dir)?;
        (
            Model {
                name: b.manifest.name,
                schema: b.pipeline.schema.clone(),
                inputs: b.pipeline.input_schema(),
                declared: b.pipeline.declared_types.clone(),
            },
            Scorer::Clusters(Box::new(b.pipeline)),
        )
    } else {
        let b = bundle::load_bundle(dir)?;
        (
            Model {
                name: b.manifest.name,
                schema: b.pipeline.schema.clone(),
                inputs: b.pipeline.input_schema(),
                declared: b.pipeline.declared_types.clone(),
            },
            Scorer::Pipeline(Box::new(b.pipeline)),
        )
    })
}

/// A loaded model of either flavor, as far as scoring goes.
pub(crate) enum Scorer {
    Pipeline(Box<FittedPipeline>),
    Clusters(Box<slipway_learn::cluster::FittedClusterPipeline>),
}

/// What a model gives for a table: one entry per row, in order.
#[derive(Debug, Clone)]
pub enum Output {
    /// Regression values.
    Values(Vec<f64>),
    /// Classification: the predicted labels and the probability of each class.
    Classes {
        /// The task (binary or multiclass).
        task: Task,
        /// The predicted label of each row.
        labels: Vec<String>,
        /// Rows × classes, in the order of `classes`.
        probabilities: slipway_learn::Matrix,
        /// The class labels.
        classes: Vec<String>,
    },
    /// Clustering: the cluster of each row.
    Clusters(Vec<i64>),
}

impl Output {
    /// How many rows it covers.
    pub fn n_rows(&self) -> usize {
        match self {
            Output::Values(v) => v.len(),
            Output::Classes { labels, .. } => labels.len(),
            Output::Clusters(c) => c.len(),
        }
    }

    /// The task (none for clustering).
    pub fn task(&self) -> Option<Task> {
        match self {
            Output::Values(_) => Some(Task::Regression),
            Output::Classes { task, .. } => Some(*task),
            Output::Clusters(_) => None,
        }
    }
}

impl Scorer {
    /// Scores every row of `table` (which holds the model's input columns).
    pub(crate) fn score(&self, table: &Table) -> Result<Output> {
        let out = match self {
            Scorer::Pipeline(p) => match p.predict(table)? {
                Prediction::Values(v) => Output::Values(v),
                pred @ Prediction::Probabilities(_) => {
                    let labels = p.predicted_labels(&pred);
                    let Prediction::Probabilities(probabilities) = pred else {
                        unreachable!("matched above")
                    };
                    Output::Classes {
                        task: p.target.task,
                        labels,
                        probabilities,
                        classes: p.target.classes.clone(),
                    }
                }
            },
            Scorer::Clusters(p) => Output::Clusters(p.predict(table)?),
        };
        if out.n_rows() != table.n_rows() {
            return Err(Error::Internal(
                "the model returned a different number of rows than it was given".into(),
            ));
        }
        Ok(out)
    }
}

/// The input as read for a model.
struct InputTable {
    table: Table,
    /// Id and `keep` columns, in output order.
    passed_through: Vec<String>,
    /// The other columns the model does not use, in file order.
    ignored: Vec<String>,
}

/// Reads `input` for model `m`: its input columns with the types the model reads them as,
/// the id columns it knows with their training types (where the file has them), and the
/// rest as inferred.
fn read_input(input: &Path, m: &Model, keep: &[String]) -> Result<InputTable> {
    let mut opts = ReadOptions::default();
    for (name, dtype) in &m.inputs {
        opts.types.insert(name.clone(), *dtype);
    }
    // Pass-through columns the training schema knows keep their training type, so an id
    // such as "007" is not read as a number when it was text in training. A file may lack
    // them: each missing one is dropped from the declared types and the file read again.
    let mut optional: Vec<String> = m
        .schema
        .with_role(Role::Id)
        .map(|f| f.name.clone())
        .chain(keep.iter().cloned())
        .filter(|n| !opts.types.contains_key(n))
        .collect();
    let mut seen = BTreeSet::new();
    optional.retain(|n| seen.insert(n.clone()));
    for name in &optional {
        if let Some(f) = m.schema.field(name) {
            opts.types.insert(name.clone(), f.dtype);
        }
    }
    let table = loop {
        match ingest::read_table(input, &opts) {
            Ok(t) => break t,
            Err(slipway_data::Error::MissingColumn { name, available }) => {
                if optional.contains(&name) && opts.types.remove(&name).is_some() {
                    continue;
                }
                return Err(missing_input(m, name, available));
            }
            Err(slipway_data::Error::Malformed {
                path,
                line,
                message,
            }) => {
                // A passed-through column that no longer fits its training type is read
                // as it comes: the model does not use it.
                if let Some(o) = optional.iter().find(|o| {
                    opts.types.contains_key(*o) && message.starts_with(&format!("column \"{o}\":"))
                }) {
                    opts.types.remove(o);
                    continue;
                }
                return Err(slipway_data::Error::Malformed {
                    path,
                    line,
                    message: declared_rule(message, m),
                }
                .into());
            }
            Err(e) => return Err(e.into()),
        }
    };
    let names = table.schema().names();
    for k in keep {
        if !names.contains(&k.as_str()) {
            return Err(slipway_data::Error::MissingColumn {
                name: k.clone(),
                available: names.join(", "),
            }
            .into());
        }
    }
    let mut passed_through: Vec<String> = Vec::new();
    for name in m
        .schema
        .with_role(Role::Id)
        .map(|f| f.name.as_str())
        .filter(|n| names.contains(n))
        .chain(keep.iter().map(String::as_str))
    {
        if !passed_through.iter().any(|p| p == name) {
            passed_through.push(name.to_string());
        }
    }
    let ignored = names
        .iter()
        .filter(|n| {
            !m.inputs.iter().any(|(i, _)| i == *n) && !passed_through.iter().any(|p| p == *n)
        })
        .map(|n| n.to_string())
        .collect();
    Ok(InputTable {
        table,
        passed_through,
        ignored,
    })
}

/// The error for an input without column `name` (`available`: what the input has): a
/// schema mismatch naming the type the model needs, when it is a model input.
pub(crate) fn missing_input(m: &Model, name: String, available: String) -> Error {
    match m.inputs.iter().find(|(n, _)| *n == name).map(|(_, t)| *t) {
        Some(t) => slipway_learn::Error::SchemaMismatch(format!(
            "column \"{name}\" is missing; the model needs it as {t} (model inputs: {}; the input has: {available})",
            m.inputs
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into(),
        None => slipway_data::Error::MissingColumn { name, available }.into(),
    }
}

/// A value error in a column the training config declared integer names that rule.
pub(crate) fn declared_rule(message: String, m: &Model) -> String {
    for (name, dtype) in &m.inputs {
        if *dtype == DataType::Integer
            && m.declared.get(name) == Some(&DataType::Integer)
            && message.starts_with(&format!("column \"{name}\":"))
        {
            return format!(
                "{message}; the model's training config declared \"{name}\" integer, so predict holds it to integers (other columns trained as integers accept any number)"
            );
        }
    }
    message
}

/// The types the config declared for the columns of `schema`: `data.types`, and `type`
/// rules under `validation.columns`. Stored in the bundle so that `predict` holds those
/// columns to them.
pub(crate) fn declared_types(cfg: &PipelineConfig, schema: &Schema) -> BTreeMap<String, DataType> {
    let mut out = BTreeMap::new();
    for (name, dtype) in &cfg.data.types {
        out.insert(name.clone(), *dtype);
    }
    for (name, rules) in &cfg.validation.columns {
        if let Some(dtype) = rules.dtype {
            out.entry(name.clone()).or_insert(dtype);
        }
    }
    out.retain(|name, _| schema.field(name).is_some());
    out
}

/// Up to `n` rows of `table`, spread over it: what a written bundle is checked against.
pub(crate) fn sample_rows(table: &Table, n: usize) -> Result<Table> {
    let rows = table.n_rows();
    let take: Vec<usize> = if rows <= n {
        (0..rows).collect()
    } else {
        (0..n).map(|i| i * rows / n).collect()
    };
    Ok(table.take(&take)?)
}
