//! `explain --interactions` (SHAP interaction values of tree models) and `explain --method
//! lime` (LIME for any model): the input read a chunk at a time, explained, written, and
//! summarized.
//!
//! Interaction values are written in long format, one line per row, output, pair: `row`,
//! `output` (with several outputs), `feature_i`, `feature_j`, `value` (input columns, or
//! encoded features with `--per-encoded`); `pandas.read_csv(f).pivot_table(index=["row",
//! "feature_i"], columns="feature_j", values="value")` gives the matrices back. LIME is
//! written one line per row (and output): the model's output, the surrogate's `local_pred`,
//! `intercept` and `score`, then per input column its weight (`lime:<column>`, empty when not
//! selected) and the condition the row meets (`condition:<column>`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
use serde::{Deserialize, Serialize};
use slipway_data::ingest::TableWriter;
use slipway_data::{DataType, Field, Schema, Table};
use slipway_explain::PipelineExplainer;
use slipway_explain::lime::{LimeOptions, LimeTabular};
use slipway_learn::bundle;
use slipway_learn::trees::Ensemble;

use crate::explain::{open_inputs, read_inputs};
use crate::{Error, Result};

/// Most values held for one chunk.
const CHUNK_VALUES: usize = 8 << 20;

/// What `explain --interactions` computes and writes.
#[derive(Debug, Clone, Default)]
pub struct InteractionOptions {
    /// Explain only the first rows of the file.
    pub rows: Option<usize>,
    /// Write every row's interaction values here (.csv, .parquet or .jsonl), long format.
    pub output: Option<PathBuf>,
    /// Per encoded feature rather than per input column.
    pub per_encoded: bool,
}

/// One pair's mean |interaction value|.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PairImportance {
    /// The first column (or feature).
    pub a: String,
    /// The second (the same as `a` for a main effect).
    pub b: String,
    /// Mean over the rows of |Φ_ab| (for a pair `a ≠ b`, |Φ_ab| + |Φ_ba| = 2|Φ_ab|, the
    /// pair's whole interaction).
    pub mean_abs: f64,
}

/// The interactions of one output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutputInteractions {
    /// The output's name.
    pub output: String,
    /// Its base value.
    pub base_value: f64,
    /// Pairs of different columns by decreasing mean |Φ_ab| + |Φ_ba|.
    pub pairs: Vec<PairImportance>,
    /// Main effects (the diagonal) by decreasing mean |Φ_aa|.
    pub main_effects: Vec<PairImportance>,
}

/// What `explain --interactions` did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InteractionOutcome {
    /// The model's name.
    pub model: String,
    /// Its type.
    pub model_type: String,
    /// The explainer.
    pub method: String,
    /// The explained score's space.
    pub space: String,
    /// `columns` or `features`.
    pub view: String,
    /// Rows explained.
    pub rows: usize,
    /// Per output.
    pub outputs: Vec<OutputInteractions>,
    /// Where the values were written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<PathBuf>,
}

pub(crate) fn interactions(
    model: &Path,
    input: &Path,
    opts: &InteractionOptions,
) -> Result<InteractionOutcome> {
    let b = bundle::load_bundle(model)?;
    let p = &b.pipeline;
    if Ensemble::of(&p.model).is_err() {
        return Err(Error::Explain(slipway_explain::Error::Unsupported(
            slipway_explain::interactions::unsupported(p.spec.kind()),
        )));
    }
    let ex = PipelineExplainer::new(p)?;
    let names: Vec<String> = if opts.per_encoded {
        ex.features().to_vec()
    } else {
        ex.columns().to_vec()
    };
    let outputs = ex.outputs().to_vec();
    let k = outputs.len();
    let nn = names.len();
    let (m, c) = (ex.features().len(), ex.columns().len());
    let per_row = k * (m * m + c * c) + k * nn * nn;
    let chunk_rows = (CHUNK_VALUES / per_row.max(1)).clamp(1, 4096);
    let mut writer = create(opts.output.as_deref())?;
    let limit = opts.rows.unwrap_or(usize::MAX);
    let mut sum_abs = vec![0.0; k * nn * nn];
    let mut done = 0usize;
    let mut base = ex.base_values();
    for chunk in open_inputs(p, input, &[], chunk_rows)? {
        if done >= limit {
            break;
        }
        let mut table = chunk?;
        if table.n_rows() > limit - done {
            table = table.take(&(0..limit - done).collect::<Vec<_>>())?;
        }
        let e = ex.interactions(p, &table)?;
        base.clone_from(&e.base);
        for r in 0..e.n_rows {
            for o in 0..k {
                let mat = if opts.per_encoded {
                    e.features(r, o)
                } else {
                    e.columns(r, o)
                };
                for (s, v) in sum_abs[o * nn * nn..(o + 1) * nn * nn].iter_mut().zip(mat) {
                    *s += v.abs();
                }
            }
        }
        if let Some(w) = writer.as_mut() {
            w.write(&long_table(&e, done, &names, &outputs, opts.per_encoded)?)?;
        }
        done += e.n_rows;
    }
    if let Some(w) = writer {
        w.finish()?;
    }
    let denom = done.max(1) as f64;
    let outputs = outputs
        .iter()
        .enumerate()
        .map(|(o, name)| {
            let s = &sum_abs[o * nn * nn..(o + 1) * nn * nn];
            let mut pairs = Vec::new();
            let mut main_effects = Vec::new();
            for i in 0..nn {
                main_effects.push(PairImportance {
                    a: names[i].clone(),
                    b: names[i].clone(),
                    mean_abs: s[i * nn + i] / denom,
                });
                for j in i + 1..nn {
                    pairs.push(PairImportance {
                        a: names[i].clone(),
                        b: names[j].clone(),
                        mean_abs: (s[i * nn + j] + s[j * nn + i]) / denom,
                    });
                }
            }
            let by = |a: &PairImportance, b: &PairImportance| {
                b.mean_abs
                    .total_cmp(&a.mean_abs)
                    .then_with(|| (&a.a, &a.b).cmp(&(&b.a, &b.b)))
            };
            pairs.sort_by(by);
            main_effects.sort_by(by);
            OutputInteractions {
                output: name.clone(),
                base_value: base[o],
                pairs,
                main_effects,
            }
        })
        .collect();
    Ok(InteractionOutcome {
        model: b.manifest.name.clone(),
        model_type: p.spec.kind().to_string(),
        method: "SHAP interaction values (path-dependent TreeSHAP, exact)".into(),
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
    })
}

fn create(path: Option<&Path>) -> Result<Option<TableWriter>> {
    Ok(match path {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            Some(TableWriter::create(path)?)
        }
        None => None,
    })
}

/// A chunk's interaction values in long format.
fn long_table(
    e: &slipway_explain::InteractionExplanation,
    first_row: usize,
    names: &[String],
    outputs: &[String],
    per_encoded: bool,
) -> Result<Table> {
    let nn = names.len();
    let k = outputs.len();
    let n = e.n_rows * k * nn * nn;
    let mut row = Vec::with_capacity(n);
    let mut out = Vec::with_capacity(if k > 1 { n } else { 0 });
    let mut fi = Vec::with_capacity(n);
    let mut fj = Vec::with_capacity(n);
    let mut value = Vec::with_capacity(n);
    for r in 0..e.n_rows {
        for (o, oname) in outputs.iter().enumerate() {
            let mat = if per_encoded {
                e.features(r, o)
            } else {
                e.columns(r, o)
            };
            for i in 0..nn {
                for j in 0..nn {
                    row.push((first_row + r) as i64);
                    if k > 1 {
                        out.push(oname.as_str());
                    }
                    fi.push(names[i].as_str());
                    fj.push(names[j].as_str());
                    value.push(mat[i * nn + j]);
                }
            }
        }
    }
    let mut fields = vec![Field::new("row", DataType::Integer)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(row))];
    if k > 1 {
        fields.push(Field::new("output", DataType::Categorical));
        columns.push(Arc::new(StringArray::from(out)));
    }
    fields.push(Field::new("feature_i", DataType::Categorical));
    columns.push(Arc::new(StringArray::from(fi)));
    fields.push(Field::new("feature_j", DataType::Categorical));
    columns.push(Arc::new(StringArray::from(fj)));
    fields.push(Field::new("value", DataType::Float));
    columns.push(Arc::new(Float64Array::from(value)));
    Ok(Table::new(Schema::new(fields)?, columns)?)
}

/// What `explain --method lime` computes and writes.
#[derive(Debug, Clone)]
pub struct LimeRunOptions {
    /// The training data the statistics come from.
    pub train: PathBuf,
    /// Explain only the first rows of the input.
    pub rows: Option<usize>,
    /// Write every row's explanation here (.csv, .parquet or .jsonl).
    pub output: Option<PathBuf>,
    /// The explainer's options.
    pub lime: LimeOptions,
}

/// One condition's weight in a row's explanation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LimeWeight {
    /// The input column.
    pub column: String,
    /// The condition the row meets (`age <= 37.00`, `sex=Male`).
    pub condition: String,
    /// Its weight in the surrogate.
    pub weight: f64,
}

/// A column's mean |weight| over the rows explained.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LimeImportance {
    /// The input column.
    pub column: String,
    /// Mean |weight| (0 where not selected).
    pub mean_abs: f64,
    /// The share of rows whose explanation selected it.
    pub selected: f64,
}

/// LIME's results for one output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LimeOutput {
    /// The output's name.
    pub output: String,
    /// The mean local fidelity (weighted R²) over the rows.
    pub mean_score: f64,
    /// Columns by decreasing mean |weight|.
    pub importance: Vec<LimeImportance>,
    /// The first row's explanation: the model's output, the surrogate's, its intercept,
    /// score and weights (by decreasing |weight|).
    pub first_row: Option<LimeRow>,
}

/// One row's explanation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LimeRow {
    /// The model's output.
    pub prediction: f64,
    /// The surrogate's prediction.
    pub local_pred: f64,
    /// The surrogate's intercept.
    pub intercept: f64,
    /// Its weighted R² on the neighbourhood.
    pub score: f64,
    /// Its weights.
    pub weights: Vec<LimeWeight>,
}

/// What `explain --method lime` did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LimeOutcome {
    /// The model's name.
    pub model: String,
    /// Its type.
    pub model_type: String,
    /// The explainer, with its settings.
    pub method: String,
    /// The explained output's space (`probability`, `prediction`).
    pub space: String,
    /// Training rows the statistics come from.
    pub training_rows: usize,
    /// Rows explained.
    pub rows: usize,
    /// Per output.
    pub outputs: Vec<LimeOutput>,
    /// Where the explanations were written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<PathBuf>,
}

pub(crate) fn lime(model: &Path, input: &Path, opts: &LimeRunOptions) -> Result<LimeOutcome> {
    let b = bundle::load_bundle(model)?;
    let p = &b.pipeline;
    let train = read_inputs(p, &opts.train, &[], None)?;
    let lime = LimeTabular::new(p, &train, opts.lime)?;
    let columns: Vec<String> = lime.columns().iter().map(|c| c.to_string()).collect();
    let outputs = lime.outputs().to_vec();
    let k = outputs.len();
    let nc = columns.len();
    let chunk_rows = lime.rows_per_call() * 8;
    let mut writer = create(opts.output.as_deref())?;
    let limit = opts.rows.unwrap_or(usize::MAX);
    let mut sum_abs = vec![0.0; k * nc];
    let mut selected = vec![0usize; k * nc];
    let mut score = vec![0.0; k];
    let mut first: Vec<Option<LimeRow>> = vec![None; k];
    let mut done = 0usize;
    for chunk in open_inputs(p, input, &[], chunk_rows)? {
        if done >= limit {
            break;
        }
        let mut table = chunk?;
        if table.n_rows() > limit - done {
            table = table.take(&(0..limit - done).collect::<Vec<_>>())?;
        }
        let e = lime.explain(p, &table, done)?;
        for r in 0..e.n_rows {
            for o in 0..k {
                let f = &e.fits[r * k + o];
                score[o] += f.score;
                for &(j, w) in &f.coefficients {
                    sum_abs[o * nc + j] += w.abs();
                    selected[o * nc + j] += 1;
                }
                if done == 0 && r == 0 {
                    first[o] = Some(LimeRow {
                        prediction: e.predictions[o],
                        local_pred: f.local_pred,
                        intercept: f.intercept,
                        score: f.score,
                        weights: f
                            .coefficients
                            .iter()
                            .map(|&(j, w)| LimeWeight {
                                column: columns[j].clone(),
                                condition: e.conditions[0][j].clone(),
                                weight: w,
                            })
                            .collect(),
                    });
                }
            }
        }
        if let Some(w) = writer.as_mut() {
            w.write(&lime_table(&e, done, &columns, &outputs)?)?;
        }
        done += e.n_rows;
    }
    if let Some(w) = writer {
        w.finish()?;
    }
    let denom = done.max(1) as f64;
    let outputs = outputs
        .iter()
        .enumerate()
        .map(|(o, name)| {
            let mut importance: Vec<LimeImportance> = columns
                .iter()
                .enumerate()
                .map(|(j, c)| LimeImportance {
                    column: c.clone(),
                    mean_abs: sum_abs[o * nc + j] / denom,
                    selected: selected[o * nc + j] as f64 / denom,
                })
                .collect();
            importance.sort_by(|a, b| {
                b.mean_abs
                    .total_cmp(&a.mean_abs)
                    .then_with(|| a.column.cmp(&b.column))
            });
            LimeOutput {
                output: name.clone(),
                mean_score: score[o] / denom,
                importance,
                first_row: first[o].take(),
            }
        })
        .collect();
    let lo = opts.lime;
    let selection = if lo.num_features <= 6 {
        "forward selection"
    } else {
        "highest weights"
    };
    Ok(LimeOutcome {
        model: b.manifest.name.clone(),
        model_type: p.spec.kind().to_string(),
        method: format!(
            "lime (quartile bins, kernel width {:.4}, {} samples per row, {} features by {selection}, weighted ridge, seed {})",
            lime.kernel_width(),
            lo.num_samples,
            lo.num_features,
            lo.seed
        ),
        space: slipway_explain::agnostic::ModelOutput::new(p)
            .space()
            .to_string(),
        training_rows: train.n_rows(),
        rows: done,
        outputs,
        output: opts.output.clone(),
    })
}

/// A chunk's LIME explanations, one line per row (and output).
fn lime_table(
    e: &slipway_explain::lime::LimeExplanation,
    first_row: usize,
    columns: &[String],
    outputs: &[String],
) -> Result<Table> {
    let k = outputs.len();
    let n = e.n_rows * k;
    let mut fields = vec![Field::new("row", DataType::Integer)];
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(
        (0..n)
            .map(|i| (first_row + i / k) as i64)
            .collect::<Vec<_>>(),
    ))];
    if k > 1 {
        fields.push(Field::new("output", DataType::Categorical));
        arrays.push(Arc::new(StringArray::from(
            (0..n).map(|i| outputs[i % k].as_str()).collect::<Vec<_>>(),
        )));
    }
    let fit = |i: usize| &e.fits[i];
    for (name, v) in [
        (
            "prediction",
            (0..n).map(|i| e.predictions[i]).collect::<Vec<_>>(),
        ),
        ("local_pred", (0..n).map(|i| fit(i).local_pred).collect()),
        ("intercept", (0..n).map(|i| fit(i).intercept).collect()),
        ("score", (0..n).map(|i| fit(i).score).collect()),
    ] {
        fields.push(Field::new(name, DataType::Float));
        arrays.push(Arc::new(Float64Array::from(v)));
    }
    for (j, c) in columns.iter().enumerate() {
        fields.push(Field::new(format!("lime:{c}"), DataType::Float));
        let w: Vec<Option<f64>> = (0..n)
            .map(|i| {
                fit(i)
                    .coefficients
                    .iter()
                    .find(|(f, _)| *f == j)
                    .map(|(_, w)| *w)
            })
            .collect();
        arrays.push(Arc::new(Float64Array::from(w)));
    }
    for (j, c) in columns.iter().enumerate() {
        fields.push(Field::new(format!("condition:{c}"), DataType::Categorical));
        arrays.push(Arc::new(StringArray::from(
            (0..n)
                .map(|i| e.conditions[i / k][j].as_str())
                .collect::<Vec<_>>(),
        )));
    }
    Ok(Table::new(Schema::new(fields)?, arrays)?)
}
