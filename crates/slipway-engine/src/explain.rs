//! `explain`: SHAP values of a file's rows under a model bundle.
//!
//! The bundle's model must have trees (see [`slipway_learn::trees::SUPPORTED`]); its trees are
//! prepared once, then the input is read a chunk at a time (only the model's input columns,
//! each as the type `predict` reads it), preprocessed and explained in parallel, so memory
//! stays bounded whatever the file's size. Contributions are summed back to the input
//! columns (one-hot indicators, TF-IDF terms and datetime parts to the column they come
//! from), or kept per encoded feature when asked. The outcome ranks columns by mean |SHAP|;
//! the optional output file holds every row's base value and contributions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array};
use serde::{Deserialize, Serialize};
use slipway_data::ingest::{self, ReadOptions, TableWriter};
use slipway_data::{DataType, Field, Schema, Table};
use slipway_explain::PipelineExplainer;
use slipway_learn::bundle;

use crate::{Error, Result};

/// Most rows read and explained at a time.
const CHUNK_ROWS: usize = 16 * 1024;

/// Most contributions held for one chunk (8 bytes each, in both views): a wide model (TF-IDF,
/// many one-hot columns, many classes) explains fewer rows at a time.
const CHUNK_VALUES: usize = 8 << 20;

/// What to explain and where to write it.
#[derive(Debug, Clone, Default)]
pub struct ExplainOptions {
    /// Explain only the first rows of the file.
    pub rows: Option<usize>,
    /// Write every row's contributions here (.csv, .parquet or .jsonl).
    pub output: Option<PathBuf>,
    /// Contributions per encoded feature (one-hot indicator, TF-IDF term, datetime part)
    /// rather than per input column.
    pub per_encoded: bool,
    /// Interventional values against a background sample from this file (its model input
    /// columns), rather than path-dependent ones.
    pub background: Option<PathBuf>,
    /// Most background rows taken (evenly spaced through the file; 100 when 0).
    pub background_rows: usize,
    /// How the values are computed.
    pub method: ShapMethod,
    /// [`ShapMethod::Kernel`]: coalition pairs sampled (1024 when 0).
    pub samples: usize,
    /// [`ShapMethod::Kernel`]: the seed of the coalitions.
    pub seed: u64,
}

/// How `explain` computes SHAP values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShapMethod {
    /// TreeSHAP for tree models, linear SHAP for linear ones.
    #[default]
    Auto,
    /// Exact Shapley values over the input columns of any model (at most 12), against
    /// the background sample.
    Exact,
    /// Sampled KernelSHAP over the input columns of any model, against the background
    /// sample, with standard errors.
    Kernel,
}

/// One column's (or feature's) mean absolute contribution to one output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Importance {
    /// The input column (or encoded feature).
    pub name: String,
    /// Mean |SHAP value| over the rows explained.
    pub mean_abs: f64,
    /// Mean SHAP value (signed).
    pub mean: f64,
}

/// The explanation of one output (a class, or the single score).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutputExplanation {
    /// The output's name.
    pub output: String,
    /// The base value: the expected score every row's contributions start from.
    pub base_value: f64,
    /// Columns (or features) by decreasing mean |SHAP|.
    pub importance: Vec<Importance>,
}

/// What `explain` did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExplainOutcome {
    /// The model's name.
    pub model: String,
    /// Its type (`gbdt`, `random_forest`, `imported`, ...).
    pub model_type: String,
    /// The explainer.
    pub method: String,
    /// What the explained score is (`log-odds`, `probability`, ...).
    pub space: String,
    /// `columns` (contributions summed to input columns) or `features` (per encoded feature).
    pub view: String,
    /// Rows explained.
    pub rows: usize,
    /// Per output, the base value and the ranking.
    pub outputs: Vec<OutputExplanation>,
    /// Where every row's contributions were written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<PathBuf>,
    /// Sampled values (KernelSHAP): the largest standard error of any value explained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_standard_error: Option<f64>,
}

pub(crate) fn run(model: &Path, input: &Path, opts: &ExplainOptions) -> Result<ExplainOutcome> {
    let b = bundle::load_bundle(model)?;
    let p = &b.pipeline;
    let bg_rows = if opts.background_rows == 0 {
        100
    } else {
        opts.background_rows
    };
    let user = |m: &str| Error::Explain(slipway_explain::Error::Input(m.into()));
    let (ex, method) = match (opts.method, &opts.background) {
        (ShapMethod::Exact | ShapMethod::Kernel, None) => {
            return Err(user(
                "exact and KernelSHAP values average over a background sample: give one (--background FILE)",
            ));
        }
        (ShapMethod::Exact | ShapMethod::Kernel, Some(_)) if opts.per_encoded => {
            return Err(user(
                "exact and KernelSHAP values are per input column; --per-encoded applies to TreeSHAP and linear SHAP",
            ));
        }
        (ShapMethod::Kernel, Some(bg)) => {
            let table = read_inputs(p, bg, &[], None)?;
            let pairs = if opts.samples == 0 {
                1024
            } else {
                opts.samples
            };
            let ex = PipelineExplainer::kernel(p, &table, bg_rows, pairs, opts.seed)?;
            let method = format!(
                "{} ({pairs} coalition pairs, seed {}) with {} background rows",
                ex.method(),
                opts.seed,
                table.n_rows().min(bg_rows)
            );
            (ex, method)
        }
        (ShapMethod::Exact, Some(bg)) => {
            let table = read_inputs(p, bg, &[], None)?;
            let ex = PipelineExplainer::exact(p, &table, bg_rows)?;
            let method = format!(
                "{} with {} background rows",
                ex.method(),
                table.n_rows().min(bg_rows)
            );
            (ex, method)
        }
        (ShapMethod::Auto, Some(bg)) => {
            let mut ex = PipelineExplainer::new(p)?;
            let table = read_inputs(p, bg, &[], None)?;
            let taken = ex.set_background(p, &table, bg_rows)?;
            let method = format!("{} with {taken} background rows", ex.method());
            (ex, method)
        }
        (ShapMethod::Auto, None) => {
            let ex = PipelineExplainer::new(p)?;
            let method = ex.method().to_string();
            (ex, method)
        }
    };
    let names: Vec<String> = if opts.per_encoded {
        ex.features().to_vec()
    } else {
        ex.columns().to_vec()
    };
    let outputs = ex.outputs().to_vec();
    let k = outputs.len();
    let nn = names.len();
    let per_row = k * (ex.features().len() + 1 + ex.columns().len());
    let chunk_rows = (CHUNK_VALUES / per_row.max(1)).clamp(64, CHUNK_ROWS);
    let open = |file: &Path| open_inputs(p, file, &[], chunk_rows);
    let chunks = open(input)?;
    let mut writer = match &opts.output {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            Some(TableWriter::create(path)?)
        }
        None => None,
    };
    let limit = opts.rows.unwrap_or(usize::MAX);
    let mut sum_abs = vec![0.0; k * nn];
    let mut sum = vec![0.0; k * nn];
    let mut base = vec![0.0; k];
    let mut done = 0usize;
    let mut max_se: Option<f64> = None;
    for chunk in chunks {
        if done >= limit {
            break;
        }
        let mut table = chunk?;
        if table.n_rows() > limit - done {
            table = table.take(&(0..limit - done).collect::<Vec<_>>())?;
        }
        let e = ex.explain(p, &table)?;
        base.clone_from(&e.base);
        if let Some(m) = e.standard_errors.iter().copied().reduce(f64::max) {
            max_se = Some(max_se.map_or(m, |s| s.max(m)));
        }
        for r in 0..e.n_rows {
            for c in 0..k {
                let v = if opts.per_encoded {
                    e.features(r, c)
                } else {
                    e.columns(r, c)
                };
                for (j, x) in v.iter().enumerate() {
                    sum_abs[c * nn + j] += x.abs();
                    sum[c * nn + j] += x;
                }
            }
        }
        if let Some(w) = writer.as_mut() {
            w.write(&contributions_table(
                &e,
                done,
                &names,
                &outputs,
                opts.per_encoded,
            )?)?;
        }
        done += e.n_rows;
    }
    if let Some(w) = writer {
        w.finish()?;
    }
    if done == 0 {
        base = ex.base_values();
    }
    let denom = done.max(1) as f64;
    let outputs = outputs
        .iter()
        .enumerate()
        .map(|(c, o)| {
            let mut importance: Vec<Importance> = names
                .iter()
                .enumerate()
                .map(|(j, n)| Importance {
                    name: n.clone(),
                    mean_abs: sum_abs[c * nn + j] / denom,
                    mean: sum[c * nn + j] / denom,
                })
                .collect();
            importance.sort_by(|a, b| b.mean_abs.total_cmp(&a.mean_abs).then(a.name.cmp(&b.name)));
            OutputExplanation {
                output: o.clone(),
                base_value: base[c],
                importance,
            }
        })
        .collect();
    Ok(ExplainOutcome {
        model: b.manifest.name.clone(),
        model_type: p.spec.kind().to_string(),
        method,
        space: ex.raw_space().describe().into(),
        view: if opts.per_encoded {
            "features"
        } else {
            "columns"
        }
        .into(),
        rows: done,
        outputs,
        output: opts.output.clone(),
        max_standard_error: max_se,
    })
}

/// Opens `file` a chunk at a time, reading only the model's input columns (typed as
/// `predict` types them) and the `extra` columns (typed from the file).
pub(crate) fn open_inputs(
    p: &slipway_learn::pipeline::FittedPipeline,
    file: &Path,
    extra: &[String],
    chunk_rows: usize,
) -> Result<ingest::TableChunks> {
    let mut read = ReadOptions::default();
    let mut select: Vec<String> = p
        .input_schema()
        .into_iter()
        .map(|(n, t)| {
            read.types.insert(n.clone(), t);
            n
        })
        .collect();
    let inputs = select.join(", ");
    for e in extra {
        if !select.contains(e) {
            select.push(e.clone());
        }
    }
    ingest::read_chunks(file, &read, Some(&select), chunk_rows).map_err(|e| match e {
        slipway_data::Error::MissingColumn { name, available } => {
            let needs = if extra.contains(&name) {
                format!("column \"{name}\" is needed here")
            } else {
                format!("the model needs {inputs}")
            };
            Error::Learn(slipway_learn::Error::SchemaMismatch(format!(
                "column \"{name}\" is missing from {}; {needs} (the file has: {available})",
                file.display(),
            )))
        }
        e => e.into(),
    })
}

/// The model's input columns and `extra` columns of `file` (its first `limit` rows when
/// given) as one table.
pub(crate) fn read_inputs(
    p: &slipway_learn::pipeline::FittedPipeline,
    file: &Path,
    extra: &[String],
    limit: Option<usize>,
) -> Result<Table> {
    let limit = limit.unwrap_or(usize::MAX);
    let mut tables = Vec::new();
    let mut rows = 0usize;
    for chunk in open_inputs(p, file, extra, CHUNK_ROWS)? {
        if rows >= limit {
            break;
        }
        let mut t = chunk?;
        if t.n_rows() > limit - rows {
            t = t.take(&(0..limit - rows).collect::<Vec<_>>())?;
        }
        rows += t.n_rows();
        tables.push(t);
    }
    if tables.is_empty() {
        return Err(Error::Explain(slipway_explain::Error::Input(format!(
            "{} has no rows",
            file.display()
        ))));
    }
    Ok(Table::concat(&tables)?)
}

/// A chunk's contributions as a table: `row` (0-based in the file), then per output its base
/// value and one column per input column (or feature): `base_value`, `shap:<name>`, or with
/// several outputs `base_value:<class>`, `shap:<class>:<name>`.
fn contributions_table(
    e: &slipway_explain::Explanation,
    first_row: usize,
    names: &[String],
    outputs: &[String],
    per_encoded: bool,
) -> Result<Table> {
    let mut fields = vec![Field::new("row", DataType::Integer)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(
        (0..e.n_rows)
            .map(|r| (first_row + r) as i64)
            .collect::<Vec<_>>(),
    ))];
    for (c, o) in outputs.iter().enumerate() {
        let (base, prefix) = if outputs.len() > 1 {
            (format!("base_value:{o}"), format!("shap:{o}:"))
        } else {
            ("base_value".to_string(), "shap:".to_string())
        };
        fields.push(Field::new(base, DataType::Float));
        columns.push(Arc::new(Float64Array::from(vec![e.base[c]; e.n_rows])));
        for (j, n) in names.iter().enumerate() {
            fields.push(Field::new(format!("{prefix}{n}"), DataType::Float));
            let v: Vec<f64> = (0..e.n_rows)
                .map(|r| {
                    if per_encoded {
                        e.features(r, c)[j]
                    } else {
                        e.columns(r, c)[j]
                    }
                })
                .collect();
            columns.push(Arc::new(Float64Array::from(v)));
        }
    }
    Ok(Table::new(Schema::new(fields)?, columns)?)
}
