//! `predict`: score a file with a model bundle.
//!
//! The input must have the model's input columns ([`FittedPipeline::input_schema`], the same
//! list as the manifest's `inputs` and the `MLmodel` signature), each read as the type that
//! schema gives: a column trained as integer takes any number unless the training config
//! declared it integer. Id columns (role `id` in training) and columns named with `keep` are
//! copied to the output ahead of the predictions; every other column (the target, ignored
//! or protected columns, anything else) is left out and listed in
//! [`PredictOutcome::ignored_columns`].
//!
//! A bundle with per-group thresholds (`fairness: {mitigation: {method:
//! threshold_optimizer}}`, see [`crate::postprocess`]) also needs its protected column, which
//! it reads as an input: `prediction` is then the thresholds' decision, drawn with the
//! training seed and the row's position in the file; `prediction_unmitigated` is the
//! model's own label, `probability_*` its raw scores, and `mitigated_probability` the
//! probability the thresholds gave the row of being predicted the positive class.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use slipway_data::ingest::{self, ProgressUnit, ReadOptions, ReadProgress, TableWriter};
use slipway_data::{DataType, Field, Role, Schema, Table};
use slipway_learn::bundle;
use slipway_learn::cluster::bundle as cbundle;
use slipway_learn::pipeline::FittedPipeline;
use slipway_learn::{Prediction, Task};

use crate::config::PipelineConfig;
use crate::postprocess::Draws;
use crate::progress::Progress;
use crate::{Error, Result};

/// Rows read, scored and written at a time by default: a chunk of a wide file stays within
/// some tens of MiB, and a few chunks per thread are in memory at once.
pub const DEFAULT_CHUNK_ROWS: usize = 64 * 1024;

/// How `predict` treats columns beyond the model's inputs, and how it reads.
#[derive(Debug, Clone)]
pub struct PredictOptions {
    /// Columns copied from the input to the output as they are (in this order, after the id
    /// columns), whether or not the model uses them.
    pub keep: Vec<String>,
    /// Rows read, scored and written at a time ([`DEFAULT_CHUNK_ROWS`]). Memory grows with
    /// it (about two chunks per thread are held at once); the output does not depend on it.
    pub chunk_rows: usize,
}

impl Default for PredictOptions {
    fn default() -> Self {
        PredictOptions {
            keep: Vec::new(),
            chunk_rows: DEFAULT_CHUNK_ROWS,
        }
    }
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
    /// Per-group thresholds on the model's scores (their protected column is among
    /// `inputs`).
    pub(crate) post: Option<Arc<crate::postprocess::PostProcessor>>,
}

/// Scores `input` chunk by chunk: a reader thread reads chunks ahead, the rayon pool scores
/// a wave of them (one per thread) at a time, and a writer thread appends the results in
/// input order to a temporary file renamed over `output` at the end. At most about two
/// chunks per thread are in memory, whatever the size of the file.
pub(crate) fn run(
    model: &Path,
    input: &Path,
    output: &Path,
    opts: &PredictOptions,
    progress: &dyn Progress,
) -> Result<PredictOutcome> {
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    passes(model, input, &mut Sink::File(output), opts, progress)
}

/// The scored chunks of a file, in input order, for whoever consumes them without a file.
pub type EachChunk<'a> = dyn FnMut(u64, Table) -> ControlFlow<()> + Send + 'a;

/// Scores `input` chunk by chunk as [`run`] does, but hands each output chunk (the
/// passed-through columns, then the predictions) with the index of its first row to
/// `each` instead of writing a file. A pass that has to start over starts again at row 0;
/// `each` breaking ends the pass early (the outcome then counts the rows handed over).
pub(crate) fn run_each(
    model: &Path,
    input: &Path,
    opts: &PredictOptions,
    each: &mut EachChunk<'_>,
) -> Result<PredictOutcome> {
    passes(
        model,
        input,
        &mut Sink::Each(each),
        opts,
        &crate::NoProgress,
    )
}

/// Where a pass's scored chunks go.
enum Sink<'a, 'b> {
    File(&'a Path),
    Each(&'a mut EachChunk<'b>),
}

fn passes(
    model: &Path,
    input: &Path,
    sink: &mut Sink<'_, '_>,
    opts: &PredictOptions,
    progress: &dyn Progress,
) -> Result<PredictOutcome> {
    let (m, scorer) = load(model)?;
    let mut plan = plan_input(input, &m, opts)?;
    loop {
        let pass = score_file(input, sink, &m, &scorer, &plan, opts, progress);
        progress.end();
        match pass {
            Ok(outcome) => return Ok(outcome),
            Err(Pass::Failed(e)) => return Err(e),
            Err(Pass::Retype(column)) => plan.retype(input, &column, &m)?,
        }
    }
}

/// How the input is read for a model: which columns, with which types.
struct InputPlan {
    /// A declared type for every column read, so that every chunk types a column alike.
    read: ReadOptions,
    /// The columns read: the model's inputs and the passed-through columns.
    select: Vec<String>,
    /// Id and `keep` columns, in output order.
    passed_through: Vec<String>,
    /// The other columns the model does not use, in file order (never read).
    ignored: Vec<String>,
    /// Passed-through columns read with their training type: a value that breaks it makes
    /// the column read as inferred instead (the model does not use it), which starts the
    /// pass over.
    retypable: Vec<String>,
}

impl InputPlan {
    /// Reads `column` as a whole-file read would infer it, from now on.
    fn retype(&mut self, input: &Path, column: &str, m: &Model) -> Result<()> {
        self.retypable.retain(|c| c != column);
        self.read.types.remove(column);
        let types = ingest::infer_types(input, &self.read, &[column.to_string()])
            .map_err(|e| value_rule(e, m))?;
        self.read.types.extend(types);
        Ok(())
    }
}

/// Plans the reading of `input` for model `m`: its input columns with the types the model
/// reads them as, the id columns it knows with their training types (where the file has
/// them), `keep` columns with their training type or, for a column the model never saw,
/// the type a whole-file read infers (found by one pass over the file before scoring, so
/// every chunk reads the column alike). Other columns are listed as ignored and never read.
fn plan_input(input: &Path, m: &Model, opts: &PredictOptions) -> Result<InputPlan> {
    let keep = &opts.keep;
    let mut read = ReadOptions::default();
    for (name, dtype) in &m.inputs {
        read.types.insert(name.clone(), *dtype);
    }
    // Pass-through columns the training schema knows keep their training type, so an id
    // such as "007" is not read as a number when it was text in training. A file may lack
    // them: each missing one is dropped from the declared types and the file opened again.
    let mut optional: Vec<String> = m
        .schema
        .with_role(Role::Id)
        .map(|f| f.name.clone())
        .chain(keep.iter().cloned())
        .filter(|n| !read.types.contains_key(n))
        .collect();
    let mut seen = BTreeSet::new();
    optional.retain(|n| seen.insert(n.clone()));
    for name in &optional {
        if let Some(f) = m.schema.field(name) {
            read.types.insert(name.clone(), f.dtype);
        }
    }
    let mut absent: BTreeSet<String> = BTreeSet::new();
    let mut inferred: BTreeSet<String> = BTreeSet::new();
    let names = loop {
        let select: Vec<String> = dedup(
            m.inputs
                .iter()
                .map(|(n, _)| n.clone())
                .chain(optional.iter().filter(|n| !absent.contains(*n)).cloned()),
        );
        // Opening reads the header (CSV), the metadata (Parquet) or the whole file (JSON
        // lines); a chunk of one row is enough for it.
        match ingest::read_chunks(input, &read, Some(&select), 1) {
            Ok(chunks) => break chunks.columns().to_vec(),
            Err(slipway_data::Error::MissingColumn { name, available }) => {
                if optional.contains(&name) && read.types.remove(&name).is_some() {
                    absent.insert(name);
                    continue;
                }
                return Err(missing_input(m, name, available));
            }
            Err(slipway_data::Error::Malformed {
                path,
                line,
                message,
            }) => {
                if let Some(o) = optional.iter().find(|o| {
                    read.types.contains_key(*o) && message.starts_with(&format!("column \"{o}\":"))
                }) {
                    read.types.remove(o);
                    inferred.insert(o.clone());
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
    let passed_through: Vec<String> = dedup(
        m.schema
            .with_role(Role::Id)
            .map(|f| f.name.clone())
            .filter(|n| names.contains(n))
            .chain(keep.iter().cloned()),
    );
    let ignored = names
        .iter()
        .filter(|n| {
            !m.inputs.iter().any(|(i, _)| i == *n) && !passed_through.iter().any(|p| p == *n)
        })
        .cloned()
        .collect();
    let undeclared: Vec<String> = passed_through
        .iter()
        .filter(|n| !read.types.contains_key(*n))
        .cloned()
        .collect();
    if !undeclared.is_empty() {
        let types = ingest::infer_types(input, &read, &undeclared).map_err(|e| value_rule(e, m))?;
        read.types.extend(types);
    }
    let retypable = passed_through
        .iter()
        .filter(|n| optional.contains(n) && !inferred.contains(*n) && !undeclared.contains(n))
        .filter(|n| !m.inputs.iter().any(|(i, _)| i == *n))
        .cloned()
        .collect();
    let select = dedup(
        m.inputs
            .iter()
            .map(|(n, _)| n.clone())
            .chain(passed_through.iter().cloned()),
    );
    Ok(InputPlan {
        read,
        select,
        passed_through,
        ignored,
        retypable,
    })
}

fn dedup(names: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    names.filter(|n| seen.insert(n.clone())).collect()
}

/// How a pass over the input ended, short of success.
enum Pass {
    /// A passed-through column broke its training type: read it as inferred and start over.
    Retype(String),
    Failed(Error),
}

impl From<Error> for Pass {
    fn from(e: Error) -> Self {
        Pass::Failed(e)
    }
}

/// One pass: read, score and write every chunk of `input`.
fn score_file(
    input: &Path,
    sink: &mut Sink<'_, '_>,
    m: &Model,
    scorer: &Scorer,
    plan: &InputPlan,
    opts: &PredictOptions,
    progress: &dyn Progress,
) -> std::result::Result<PredictOutcome, Pass> {
    let classify = |e: slipway_data::Error| -> Pass {
        if let slipway_data::Error::Malformed { message, .. } = &e {
            if let Some(o) = plan
                .retypable
                .iter()
                .find(|o| message.starts_with(&format!("column \"{o}\":")))
            {
                return Pass::Retype(o.clone());
            }
        }
        Pass::Failed(value_rule(e, m))
    };
    let mut chunks = ingest::read_chunks(input, &plan.read, Some(&plan.select), opts.chunk_rows)
        .map_err(classify)?;
    let start = chunks.progress();
    let mib = |bytes: u64| bytes.div_ceil(1 << 20);
    match start.unit {
        ProgressUnit::Rows => progress.begin("scoring rows", start.total),
        ProgressUnit::Bytes => progress.begin("scoring (MiB read)", mib(start.total)),
    }
    let (writer, output) = match sink {
        Sink::File(output) => (
            Some(TableWriter::create(output).map_err(Error::from)?),
            output.to_path_buf(),
        ),
        Sink::Each(_) => (None, PathBuf::new()),
    };
    let threads = rayon::current_num_threads().max(1);
    let mut first: Option<(Vec<String>, Option<Task>)> = None;
    let mut rows = 0usize;
    std::thread::scope(|s| -> std::result::Result<(), Pass> {
        let (read_tx, read_rx) =
            sync_channel::<(slipway_data::Result<Table>, ReadProgress)>(threads);
        let (write_tx, write_rx) = sync_channel::<Table>(1);
        s.spawn(move || {
            loop {
                let next = chunks.next_chunk().transpose();
                let at = chunks.progress();
                let Some(next) = next else { break };
                let failed = next.is_err();
                if read_tx.send((next, at)).is_err() || failed {
                    break;
                }
            }
        });
        let written = s.spawn(move || -> slipway_data::Result<Option<TableWriter>> {
            match (writer, sink) {
                (Some(mut writer), _) => {
                    for table in write_rx {
                        writer.write(&table)?;
                    }
                    Ok(Some(writer))
                }
                (None, Sink::Each(each)) => {
                    let mut at = 0u64;
                    for table in write_rx {
                        let n = table.n_rows() as u64;
                        if each(at, table).is_break() {
                            break;
                        }
                        at += n;
                    }
                    Ok(None)
                }
                (None, Sink::File(_)) => Ok(None),
            }
        });
        let scored = score_waves(
            read_rx,
            &write_tx,
            threads,
            |(first, table)| assemble(m, scorer, plan, &table, first),
            |names, task, n| {
                first.get_or_insert((names, task));
                rows += n;
            },
            |at| {
                progress.set_position(match at.unit {
                    ProgressUnit::Rows => at.done,
                    ProgressUnit::Bytes => mib(at.done),
                })
            },
        );
        drop(write_tx);
        let writer = written
            .join()
            .map_err(|_| Pass::Failed(Error::Internal("the output writer panicked".into())))?;
        match scored {
            Err(ScoreError::Read(e)) => return Err(classify(e)),
            Err(ScoreError::Other(e)) => return Err(Pass::Failed(e)),
            Ok(()) => {}
        }
        if let Some(writer) = writer.map_err(Error::from)? {
            writer.finish().map_err(Error::from)?;
        }
        Ok(())
    })?;
    let (columns, task) = first.ok_or_else(|| Error::Internal("the input gave no chunk".into()))?;
    Ok(PredictOutcome {
        model: m.name.clone(),
        task,
        rows,
        output,
        columns,
        ignored_columns: plan.ignored.clone(),
    })
}

enum ScoreError {
    Read(slipway_data::Error),
    Other(Error),
}

type Assembled = (Table, Vec<String>, Option<Task>);

/// Takes chunks from `read` a wave at a time (up to `threads`), scores a wave in parallel
/// and sends the results to `write` in input order; `chunk` hears of each chunk sent
/// (its columns, task and rows), `wave` of how far reading had come.
fn score_waves(
    read: Receiver<(slipway_data::Result<Table>, ReadProgress)>,
    write: &SyncSender<Table>,
    threads: usize,
    score: impl Fn((u64, Table)) -> Result<Assembled> + Sync,
    mut chunk: impl FnMut(Vec<String>, Option<Task>, usize),
    wave_done: impl Fn(ReadProgress),
) -> std::result::Result<(), ScoreError> {
    let mut wave = Vec::with_capacity(threads);
    // The position in the input of the next chunk's first row.
    let mut next_row = 0u64;
    loop {
        let mut at = None;
        while wave.len() < threads {
            match read.recv() {
                Ok((Ok(table), p)) => {
                    let n = table.n_rows() as u64;
                    wave.push((next_row, table));
                    next_row += n;
                    at = Some(p);
                }
                Ok((Err(e), _)) => return Err(ScoreError::Read(e)),
                Err(_) => break,
            }
        }
        let Some(at) = at else { return Ok(()) };
        let results: Vec<Result<Assembled>> = wave.par_drain(..).map(&score).collect();
        for result in results {
            let (table, names, task) = result.map_err(ScoreError::Other)?;
            let n = table.n_rows();
            if write.send(table).is_err() {
                // The writer stopped on an error, which joining it reports.
                return Ok(());
            }
            chunk(names, task, n);
        }
        wave_done(at);
    }
}

/// Scores one chunk and lays out the output: passed-through columns, then the predictions.
fn assemble(
    m: &Model,
    scorer: &Scorer,
    plan: &InputPlan,
    table: &Table,
    first_row: u64,
) -> Result<Assembled> {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for name in &plan.passed_through {
        let f = table.schema().require(name)?;
        let role = m.schema.field(name).map_or(Role::Feature, |t| t.role);
        fields.push(Field::new(name, f.dtype).with_role(role));
        columns.push(table.column(name)?.clone());
    }
    let (scored, mitigated) = score_rows(m, scorer, table, Draws::Rows(first_row))?;
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
            if let Some(mit) = &mitigated {
                fields.push(Field::new("prediction_unmitigated", DataType::Categorical));
                columns.push(Arc::new(StringArray::from(mit.raw_labels.clone())));
            }
            for (k, class) in classes.iter().enumerate() {
                fields.push(Field::new(format!("probability_{class}"), DataType::Float));
                columns.push(Arc::new(Float64Array::from(probabilities.col(k).to_vec())));
            }
            if let Some(mit) = mitigated {
                fields.push(Field::new("mitigated_probability", DataType::Float));
                columns.push(Arc::new(Float64Array::from(mit.probability)));
            }
        }
        Output::Clusters(labels) => {
            fields.push(Field::new("cluster", DataType::Integer));
            columns.push(Arc::new(Int64Array::from(labels)));
        }
    }
    let kept: BTreeSet<&str> = plan.passed_through.iter().map(String::as_str).collect();
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
    Ok((Table::new(Schema::new(fields)?, columns)?, names, task))
}

/// A data error, with a value error in a column the training config declared integer
/// naming that rule.
fn value_rule(e: slipway_data::Error, m: &Model) -> Error {
    match e {
        slipway_data::Error::Malformed {
            path,
            line,
            message,
        } => slipway_data::Error::Malformed {
            path,
            line,
            message: declared_rule(message, m),
        }
        .into(),
        other => other.into(),
    }
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
                post: None,
            },
            Scorer::Clusters(Box::new(b.pipeline)),
        )
    } else {
        let b = bundle::load_bundle(dir)?;
        let post = crate::postprocess::load(dir, &b.manifest, &b.pipeline.target.classes)?;
        let mut inputs = b.pipeline.input_schema();
        if let Some(p) = &post
            && !inputs.iter().any(|(n, _)| *n == p.column)
        {
            let dtype = b
                .pipeline
                .schema
                .field(&p.column)
                .map(|f| f.dtype)
                .ok_or_else(|| slipway_learn::Error::BundleDefect {
                    path: dir.display().to_string(),
                    file: crate::postprocess::FILE.into(),
                    message: format!(
                        "the thresholds' column \"{}\" is not in the training schema",
                        p.column
                    ),
                })?;
            inputs.push((p.column.clone(), dtype));
        }
        (
            Model {
                name: b.manifest.name,
                schema: b.pipeline.schema.clone(),
                inputs,
                declared: b.pipeline.declared_types.clone(),
                post: post.map(Arc::new),
            },
            Scorer::Pipeline(std::sync::Arc::new(b.pipeline)),
        )
    })
}

/// What per-group thresholds changed in an output: the model's own labels and the
/// probability each row had of being predicted positive.
#[derive(Debug, Clone)]
pub(crate) struct MitigatedColumns {
    pub(crate) raw_labels: Vec<String>,
    pub(crate) probability: Vec<f64>,
}

/// Scores `table` with the model and, for a bundle with per-group thresholds, replaces the
/// predicted labels by the thresholds' decisions (drawn by `draws`).
pub(crate) fn score_rows(
    m: &Model,
    scorer: &Scorer,
    table: &Table,
    draws: Draws<'_>,
) -> Result<(Output, Option<MitigatedColumns>)> {
    let mut out = scorer.score(table)?;
    let Some(post) = &m.post else {
        return Ok((out, None));
    };
    let Output::Classes {
        labels,
        probabilities,
        ..
    } = &mut out
    else {
        return Err(Error::Internal(
            "per-group thresholds on a model without class probabilities".into(),
        ));
    };
    let decided = post.apply(table, probabilities, draws)?;
    let mitigated = decided
        .positive
        .iter()
        .map(|&p| {
            if p {
                post.positive_class.clone()
            } else {
                post.negative_class.clone()
            }
        })
        .collect();
    let raw_labels = std::mem::replace(labels, mitigated);
    Ok((
        out,
        Some(MitigatedColumns {
            raw_labels,
            probability: decided.probability,
        }),
    ))
}

/// A loaded model of either flavor, as far as scoring goes.
pub(crate) enum Scorer {
    Pipeline(std::sync::Arc<FittedPipeline>),
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
                    // A fairness mixture draws each row's label from the row.
                    let labels = p.labels_for(table, &pred)?;
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

/// The error for an input without column `name` (`available`: what the input has): a
/// schema mismatch naming the type the model needs, when it is a model input.
pub(crate) fn missing_input(m: &Model, name: String, available: String) -> Error {
    if let Some(post) = m.post.as_ref().filter(|p| p.column == name) {
        return slipway_learn::Error::SchemaMismatch(format!(
            "column \"{name}\" is missing; the model's {} decide each row's label from its group, so every row needs \"{name}\" although it is not a feature (the input has: {available})",
            post.describe()
        ))
        .into();
    }
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
