//! Explaining one served row: what `POST /explain` on `slipway serve` answers.
//!
//! The method is the model's exact one where it has one, as `slipway explain` and the
//! training report choose it: path-dependent TreeSHAP for tree models (Slipway's GBDT and
//! forests, imported LightGBM and XGBoost), linear SHAP for linear and logistic models.
//! Any other family is explained in input columns by exact Shapley values (at most
//! [`MAX_EXACT_COLUMNS`] input columns) or by seeded KernelSHAP ([`KERNEL_PAIRS`]
//! coalition pairs, seed [`KERNEL_SEED`]).
//!
//! Linear SHAP and the model-agnostic methods average over a background. A bundle holds no
//! sample of training rows, only its training profile (`profile.json`), so the background
//! is one typical training row built from it: each numeric column's mean (rounded for an
//! integer column), each other column's most frequent value. The answer says so. For a
//! linear model over numeric columns this is exactly `shap.LinearExplainer` against the
//! training data (it uses the feature means); for a one-hot encoded category it is the most
//! frequent category rather than the category frequencies.
//!
//! Per row and output, the base value plus the contributions is the explained score: the
//! raw score of a tree or linear model (log-odds for binary boosting and logistic models,
//! raw class scores for multiclass boosting and logistic models, class probabilities for
//! trees and forests, the value for regression), the probability (the positive class's, or
//! each class's) or the value for the model-agnostic methods. Calibrated pipelines are
//! explained before calibration.

use std::sync::OnceLock;

use serde::Serialize;
use serde_json::Value;
use slipway_data::profile::Profile;
use slipway_data::{DataType, Table};
use slipway_explain::PipelineExplainer;
use slipway_learn::pipeline::FittedPipeline;
use slipway_learn::trees::RawSpace;

use crate::serving::ServedModel;
use crate::{Error, Result};

/// Most input columns explained by exact Shapley values (2^12 coalitions); beyond,
/// KernelSHAP.
pub const MAX_EXACT_COLUMNS: usize = 12;

/// Coalition pairs KernelSHAP samples.
pub const KERNEL_PAIRS: usize = 1024;

/// The seed of KernelSHAP's coalitions: the same row gets the same values every time.
pub const KERNEL_SEED: u64 = 0;

/// What an explanation is built from, kept with the served model; the explainer itself
/// is built on the first request (on a scoring thread).
pub(crate) struct ExplainState {
    /// The one-row background from the training profile (`Err`: why it could not be built).
    background: std::result::Result<Table, String>,
    explainer: OnceLock<std::result::Result<Built, String>>,
}

struct Built {
    explainer: PipelineExplainer,
    /// Whether the method averages over the background.
    uses_background: bool,
    /// KernelSHAP's pairs and seed.
    sampled: Option<(usize, u64)>,
}

impl ExplainState {
    pub(crate) fn new(background: std::result::Result<Table, String>) -> Self {
        ExplainState {
            background,
            explainer: OnceLock::new(),
        }
    }
}

/// What the background of an explanation was.
pub const PROFILE_BACKGROUND: &str = "one typical training row from the bundle's profile.json \
     (each numeric column's mean, rounded for integer columns; each other column's most \
     frequent value): the bundle holds no sample of training rows";

/// One output's explanation of a row.
#[derive(Debug, Clone, Serialize)]
pub struct OutputContributions {
    /// The output explained (`log-odds of >50K`, a class, the target).
    pub output: String,
    /// The base value (the expected score over the background, or the model's expected
    /// raw score for path-dependent TreeSHAP).
    pub base_value: f64,
    /// The explained score: the base value plus every contribution.
    pub score: f64,
    /// Each input column's contribution, in the model's column order.
    pub columns: Vec<(String, f64)>,
    /// Each encoded feature's contribution (when asked for; TreeSHAP and linear SHAP).
    pub features: Option<Vec<(String, f64)>>,
    /// KernelSHAP only: the standard error of each column's contribution.
    pub standard_errors: Option<Vec<(String, f64)>>,
}

/// A served row's explanation.
#[derive(Debug, Clone, Serialize)]
pub struct RowExplanation {
    /// The method, in words (as `slipway explain` writes it).
    pub method: String,
    /// `tree_shap`, `linear_shap`, `exact_shapley` or `kernel_shap`.
    pub method_id: &'static str,
    /// Whether the values are exact (all but KernelSHAP).
    pub exact: bool,
    /// What the explained score is: `log_odds`, `class_scores`, `probability` or `value`.
    pub space: &'static str,
    /// The background averaged over (`None` for path-dependent TreeSHAP, which needs none).
    pub background: Option<String>,
    /// KernelSHAP: the seed of its coalitions.
    pub seed: Option<u64>,
    /// KernelSHAP: the coalition pairs sampled.
    pub samples: Option<usize>,
    /// One entry per output (one for regression and binary models, one per class for
    /// multiclass).
    pub outputs: Vec<OutputContributions>,
}

fn space_id(s: RawSpace) -> &'static str {
    match s {
        RawSpace::LogOdds => "log_odds",
        RawSpace::ClassScores => "class_scores",
        RawSpace::Probability => "probability",
        RawSpace::Value => "value",
    }
}

/// The one-row background of `pipeline`'s input columns built from its training profile.
pub(crate) fn profile_background(model: &ServedModel, profile: &Profile) -> Result<Table> {
    let mut row = serde_json::Map::new();
    for (name, dtype) in model.inputs() {
        let col = profile.columns.iter().find(|c| &c.name == name);
        let value = match (dtype, col) {
            (_, None) => Value::Null,
            (DataType::Float, Some(c)) => c
                .numeric
                .as_ref()
                .and_then(|n| serde_json::Number::from_f64(n.mean))
                .map_or(Value::Null, Value::Number),
            (DataType::Integer, Some(c)) => c
                .numeric
                .as_ref()
                .filter(|n| n.mean.is_finite())
                .map_or(Value::Null, |n| Value::from(n.mean.round() as i64)),
            (_, Some(c)) => c
                .categories
                .as_ref()
                .and_then(|cats| cats.top.iter().max_by_key(|t| t.count))
                .map_or(Value::Null, |t| Value::String(t.value.clone())),
        };
        row.insert(name.clone(), value);
    }
    let mut rows = slipway_data::ingest::Rows::new();
    rows.push_object(row.iter().map(|(k, v)| (k.as_str(), v)))?;
    Ok(model.read_rows(rows)?.table)
}

fn build(p: &FittedPipeline, background: &std::result::Result<Table, String>) -> Result<Built> {
    let bg = || {
        background.as_ref().map_err(|e| {
            Error::Explain(slipway_explain::Error::Unsupported(format!(
                "this model is explained against a background, and none could be built from the bundle's profile: {e}"
            )))
        })
    };
    match PipelineExplainer::new(p) {
        Ok(mut ex) => {
            // Linear SHAP needs the background's feature means; TreeSHAP is exact as it is.
            let uses_background = ex.base_values().is_empty();
            if uses_background {
                ex.set_background(p, bg()?, 1)?;
            }
            Ok(Built {
                explainer: ex,
                uses_background,
                sampled: None,
            })
        }
        Err(slipway_explain::Error::Unsupported(_)) => {
            let table = bg()?;
            let n_columns = p.input_schema().len();
            if n_columns <= MAX_EXACT_COLUMNS {
                Ok(Built {
                    explainer: PipelineExplainer::exact(p, table, 1)?,
                    uses_background: true,
                    sampled: None,
                })
            } else {
                Ok(Built {
                    explainer: PipelineExplainer::kernel(p, table, 1, KERNEL_PAIRS, KERNEL_SEED)?,
                    uses_background: true,
                    sampled: Some((KERNEL_PAIRS, KERNEL_SEED)),
                })
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Explains the one row of `table` (read by [`ServedModel::read_rows`]).
pub(crate) fn explain_row(
    p: &FittedPipeline,
    state: &ExplainState,
    table: &Table,
    per_feature: bool,
) -> Result<RowExplanation> {
    if table.n_rows() != 1 {
        return Err(slipway_learn::Error::InvalidData(format!(
            "one row is explained at a time; the request has {}",
            table.n_rows()
        ))
        .into());
    }
    let built = state
        .explainer
        .get_or_init(|| build(p, &state.background).map_err(|e| e.to_string()));
    let built = match built {
        Ok(b) => b,
        Err(m) => {
            return Err(Error::Explain(slipway_explain::Error::Unsupported(
                m.clone(),
            )));
        }
    };
    let ex = &built.explainer;
    let method_id = match ex.method().split_whitespace().next().unwrap_or("") {
        "tree_shap" => "tree_shap",
        "linear_shap" => "linear_shap",
        "kernel_shap" => "kernel_shap",
        _ => "exact_shapley",
    };
    let agnostic = matches!(method_id, "kernel_shap" | "exact_shapley");
    if per_feature && agnostic {
        return Err(Error::Explain(slipway_explain::Error::Input(
            "\"per_feature\": contributions per encoded feature come from TreeSHAP and linear \
             SHAP; this model is explained per input column (leave per_feature out)"
                .into(),
        )));
    }
    let e = ex.explain(p, table)?;
    let columns = ex.columns();
    let features = ex.features();
    let outputs = ex
        .outputs()
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let cols = e.columns(0, k);
            OutputContributions {
                output: name.clone(),
                base_value: e.base[k],
                score: e.base[k] + cols.iter().sum::<f64>(),
                columns: columns.iter().cloned().zip(cols.iter().copied()).collect(),
                features: per_feature.then(|| {
                    features
                        .iter()
                        .cloned()
                        .zip(e.features(0, k).iter().copied())
                        .collect()
                }),
                standard_errors: (!e.standard_errors.is_empty()).then(|| {
                    let at = k * e.n_columns;
                    columns
                        .iter()
                        .cloned()
                        .zip(e.standard_errors[at..at + e.n_columns].iter().copied())
                        .collect()
                }),
            }
        })
        .collect();
    Ok(RowExplanation {
        method: ex.method().to_string(),
        method_id,
        exact: method_id != "kernel_shap",
        space: space_id(ex.raw_space()),
        background: built
            .uses_background
            .then(|| PROFILE_BACKGROUND.to_string()),
        seed: built.sampled.map(|(_, s)| s),
        samples: built.sampled.map(|(n, _)| n),
        outputs,
    })
}
