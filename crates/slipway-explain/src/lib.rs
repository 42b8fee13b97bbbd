//! Slipway's model explanations.
//!
//! - [`treeshap::TreeShap`]: exact path-dependent TreeSHAP for every tree model
//!   ([`slipway_learn::trees::Ensemble`]): Slipway's GBDT, decision tree, random forest and
//!   extra trees, and imported LightGBM and XGBoost models. Values are in the model's raw
//!   score space (log-odds for binary boosting, per-class raw scores for multiclass
//!   boosting, probabilities for trees and forests, values for regression), equal to
//!   LightGBM's `pred_contrib` and `shap.TreeExplainer`; per row the base value plus the
//!   contributions is the raw score.
//! - [`interventional::Interventional`]: exact interventional TreeSHAP with a background
//!   sample (`shap.TreeExplainer(model, data=bg, feature_perturbation="interventional")`).
//! - [`linear::LinearShap`]: exact SHAP values of linear and logistic models against a
//!   background's means (`shap.LinearExplainer` with an independent masker).
//! - [`columns`]: contributions of encoded features (one-hot indicators, TF-IDF terms,
//!   datetime parts) summed back to the input column they come from.
//! - [`interactions::TreeInteractions`]: exact path-dependent SHAP interaction values of
//!   tree models (`shap.TreeExplainer(model).shap_interaction_values`), also summed to input
//!   columns ([`PipelineExplainer::interactions`]).
//! - [`PipelineExplainer`]: a pipeline and a table in, both views out.
//!
//! Model-agnostic explanations, for every model family and whole pipelines, in input
//! columns ([`agnostic::ModelOutput`]: the pipeline as a function of raw rows, predicting
//! the positive class's probability, each class's probability or the value):
//!
//! - [`pdp`]: partial dependence and ICE, one- and two-way
//!   (scikit-learn's `partial_dependence(method="brute")`);
//! - [`permutation`]: permutation importance with repeats for any metric
//!   (scikit-learn's `permutation_importance`);
//! - [`shapley::ExactShapley`]: exact Shapley values over at most 12 input columns against
//!   a background (`shap.explainers.Exact` with an independent masker), also behind
//!   [`PipelineExplainer::exact`];
//! - [`kernel::KernelShap`]: sampled KernelSHAP over any number of input columns, seeded,
//!   additive by construction, with a standard error per value
//!   ([`PipelineExplainer::kernel`]);
//! - [`lime::LimeTabular`]: LIME for tabular data (the `lime` package's
//!   `LimeTabularExplainer`: quartile bins, exponential kernel, weighted ridge), with its
//!   local fidelity score, seeded, many rows per model call.

pub mod agnostic;
pub mod columns;
pub mod interactions;
pub mod interventional;
pub mod kernel;
pub mod lime;
pub mod linear;
pub mod pdp;
pub mod permutation;
pub mod shapley;
pub mod treeshap;

use slipway_data::{ErrorKind, Table};
use slipway_learn::pipeline::FittedPipeline;
use slipway_learn::trees::{Ensemble, RawSpace};

pub use treeshap::TreeShap;

/// What can go wrong explaining.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model records no covers: trained before Slipway kept them.
    #[error(
        "{0}. The model was trained before Slipway kept node covers (or its file has none); retrain it (or re-import the model file) to explain it"
    )]
    NoCovers(String),
    /// The model family has no explainer here.
    #[error("{0}")]
    Unsupported(String),
    /// The model's trees cannot be explained as they are.
    #[error("the model cannot be explained: {0}")]
    Model(String),
    /// The rows do not fit the model.
    #[error("input does not match the model: {0}")]
    Input(String),
    /// From the learning core (preprocessing the rows, reading the model).
    #[error(transparent)]
    Learn(#[from] slipway_learn::Error),
    /// A failure inside Slipway.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Whether the user can fix this.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Learn(e) => e.kind(),
            Error::Internal(_) => ErrorKind::Internal,
            Error::NoCovers(_) | Error::Unsupported(_) | Error::Model(_) | Error::Input(_) => {
                ErrorKind::User
            }
        }
    }
}

/// The explanations' result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a pipeline's model is explained.
#[derive(Debug, Clone)]
enum Method {
    /// Path-dependent TreeSHAP.
    Tree(TreeShap),
    /// Interventional TreeSHAP against a background.
    Interventional(interventional::Interventional),
    /// A linear model: its coefficients and intercepts, and once a background is set, the
    /// explainer.
    Linear {
        coef: Vec<Vec<f64>>,
        intercept: Vec<f64>,
        shap: Option<linear::LinearShap>,
    },
    /// Exact Shapley values of the pipeline's output over its input columns.
    Exact(shapley::ExactShapley),
    /// Sampled KernelSHAP over the input columns.
    Kernel(kernel::KernelShap),
}

/// An explainer for a fitted pipeline: its model's trees (or coefficients) and how encoded
/// features map back to input columns.
#[derive(Debug, Clone)]
pub struct PipelineExplainer {
    method: Method,
    raw_space: RawSpace,
    /// Names of the model's input features (after preprocessing).
    features: Vec<String>,
    /// Names of the outputs explained (classes for multiclass, one name otherwise).
    outputs: Vec<String>,
    groups: columns::Groups,
}

impl PipelineExplainer {
    /// Prepares an explainer: TreeSHAP for tree models, linear SHAP for linear and logistic
    /// models (which need a background, [`PipelineExplainer::set_background`]); fails for
    /// other families, naming the ones explained. Calibrated pipelines are explained before
    /// calibration.
    pub fn new(p: &FittedPipeline) -> Result<PipelineExplainer> {
        let features: Vec<String> = p.features().into_iter().map(|f| f.name).collect();
        let (method, raw_space, n_outputs, nf) = match Ensemble::of(&p.model) {
            Ok(ensemble) => {
                let shap = TreeShap::new(&ensemble)?;
                let (k, nf) = (shap.n_outputs(), shap.n_features());
                (Method::Tree(shap), ensemble.raw_space, k, nf)
            }
            Err(slipway_learn::Error::InvalidData(m)) => {
                let Some((coef, intercept)) = linear::LinearShap::coefficients(&p.model) else {
                    return Err(Error::Unsupported(format!(
                        "model type {}: {m}, and linear SHAP covers linear_regression, ridge, lasso, elastic_net and logistic_regression",
                        p.spec.kind()
                    )));
                };
                let space = match p.target.task {
                    slipway_learn::Task::Binary => RawSpace::LogOdds,
                    slipway_learn::Task::Multiclass { .. } => RawSpace::ClassScores,
                    slipway_learn::Task::Regression => RawSpace::Value,
                };
                let (k, nf) = (coef.len(), coef.first().map_or(0, Vec::len));
                (
                    Method::Linear {
                        coef,
                        intercept,
                        shap: None,
                    },
                    space,
                    k,
                    nf,
                )
            }
            Err(e) => return Err(Error::Learn(e)),
        };
        if features.len() != nf {
            return Err(Error::Internal(format!(
                "the preprocessing gives {} features, the model takes {nf}",
                features.len()
            )));
        }
        let outputs = match (raw_space, n_outputs) {
            (_, k) if k == p.target.classes.len() && k > 1 => p.target.classes.clone(),
            (RawSpace::LogOdds, 1) => vec![format!(
                "log-odds of {}",
                p.target.classes.get(1).map_or("class 1", String::as_str)
            )],
            (_, 1) => vec![p.target.name.clone()],
            (_, k) => (0..k).map(|c| format!("output {c}")).collect(),
        };
        let groups = columns::Groups::of(&p.preprocessor);
        Ok(PipelineExplainer {
            method,
            raw_space,
            features,
            outputs,
            groups,
        })
    }

    /// An explainer of exact Shapley values over the input columns of any pipeline
    /// ([`shapley::ExactShapley`]) against at most `max_rows` rows of `background` (evenly
    /// spaced); values are in the space of [`agnostic::ModelOutput`] (the positive class's
    /// probability, each class's probability, or the value).
    pub fn exact(
        p: &FittedPipeline,
        background: &Table,
        max_rows: usize,
    ) -> Result<PipelineExplainer> {
        let table = evenly_spaced(background, max_rows)?;
        let exact = shapley::ExactShapley::new(p, &table)?;
        let mut ex = PipelineExplainer::exact_like(p, exact.columns().to_vec());
        ex.method = Method::Exact(exact);
        Ok(ex)
    }

    /// An explainer of sampled KernelSHAP values over the input columns of any pipeline
    /// ([`kernel::KernelShap`]: `pairs` coalition pairs drawn from `seed`) against at most
    /// `max_rows` rows of `background` (evenly spaced); values in the space of
    /// [`agnostic::ModelOutput`], with standard errors.
    pub fn kernel(
        p: &FittedPipeline,
        background: &Table,
        max_rows: usize,
        pairs: usize,
        seed: u64,
    ) -> Result<PipelineExplainer> {
        let table = evenly_spaced(background, max_rows)?;
        let kernel = kernel::KernelShap::new(p, &table, pairs, seed)?;
        let mut ex = PipelineExplainer::exact_like(p, kernel.columns().to_vec());
        ex.method = Method::Kernel(kernel);
        Ok(ex)
    }

    /// The fields every input-column explainer shares, with a placeholder method.
    fn exact_like(p: &FittedPipeline, columns: Vec<String>) -> PipelineExplainer {
        let model = agnostic::ModelOutput::new(p);
        let raw_space = match model.kind() {
            agnostic::OutputKind::Value => RawSpace::Value,
            _ => RawSpace::Probability,
        };
        PipelineExplainer {
            raw_space,
            features: columns.clone(),
            outputs: model.outputs().to_vec(),
            groups: columns::Groups::identity(columns),
            method: Method::Linear {
                coef: Vec::new(),
                intercept: Vec::new(),
                shap: None,
            },
        }
    }

    /// Explains against a background from now on (interventional TreeSHAP for tree models,
    /// the feature means for linear ones), with at most `max_rows` rows of `table` (evenly
    /// spaced through it; all of them when it has fewer); returns how many were taken.
    pub fn set_background(
        &mut self,
        p: &FittedPipeline,
        table: &Table,
        max_rows: usize,
    ) -> Result<usize> {
        let table = evenly_spaced(table, max_rows)?;
        let x = p.preprocessor.transform(&table)?;
        self.method = match &self.method {
            Method::Linear {
                coef, intercept, ..
            } => Method::Linear {
                coef: coef.clone(),
                intercept: intercept.clone(),
                shap: Some(linear::LinearShap::new(
                    coef.clone(),
                    intercept.clone(),
                    &x,
                )?),
            },
            Method::Tree(_) | Method::Interventional(_) => {
                let ensemble = Ensemble::of(&p.model)?;
                Method::Interventional(interventional::Interventional::new(&ensemble, &x)?)
            }
            Method::Exact(_) => {
                self.method = Method::Exact(shapley::ExactShapley::new(p, &table)?);
                return Ok(table.n_rows());
            }
            Method::Kernel(k) => {
                let (pairs, seed) = (k.pairs(), k.seed());
                self.method = Method::Kernel(kernel::KernelShap::new(p, &table, pairs, seed)?);
                return Ok(table.n_rows());
            }
        };
        Ok(table.n_rows())
    }

    /// The method, in words.
    pub fn method(&self) -> &'static str {
        match self.method {
            Method::Tree(_) => "tree_shap (path-dependent, exact)",
            Method::Interventional(_) => "tree_shap (interventional, exact)",
            Method::Linear { .. } => "linear_shap (independent, exact)",
            Method::Exact(_) => {
                "exact Shapley values (independent, all coalitions of input columns)"
            }
            Method::Kernel(_) => "kernel_shap (independent, sampled coalitions of input columns)",
        }
    }

    /// The base value of each output (for a linear model, once a background is set).
    pub fn base_values(&self) -> Vec<f64> {
        match &self.method {
            Method::Tree(s) => s.base_values().to_vec(),
            Method::Interventional(s) => s.base_values().to_vec(),
            Method::Linear { shap, .. } => shap
                .as_ref()
                .map(|s| s.base_values().to_vec())
                .unwrap_or_default(),
            Method::Exact(s) => s.base_values().to_vec(),
            Method::Kernel(s) => s.base_values().to_vec(),
        }
    }

    /// What the explained score is.
    pub fn raw_space(&self) -> RawSpace {
        self.raw_space
    }

    /// The model's features (after preprocessing), in order.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// The input columns contributions are summed to, in order.
    pub fn columns(&self) -> &[String] {
        self.groups.names()
    }

    /// The outputs explained: class names for multiclass models and probability-space
    /// classifiers, else one name.
    pub fn outputs(&self) -> &[String] {
        &self.outputs
    }

    /// Explains every row of `table` (the pipeline's preprocessing first).
    pub fn explain(&self, p: &FittedPipeline, table: &Table) -> Result<Explanation> {
        match &self.method {
            Method::Exact(s) => {
                let values = s.explain(p, table)?;
                return Ok(self.per_column(table.n_rows(), values, Vec::new()));
            }
            Method::Kernel(s) => {
                let v = s.explain(p, table)?;
                return Ok(self.per_column(table.n_rows(), v.values, v.standard_errors));
            }
            _ => {}
        }
        let x = p.preprocessor.transform(table)?;
        let values = match &self.method {
            Method::Exact(_) | Method::Kernel(_) => unreachable!("explained above"),
            Method::Tree(s) => s.explain(&x)?,
            Method::Interventional(s) => s.explain(&x)?,
            Method::Linear { shap: Some(s), .. } => s.explain(&x)?,
            Method::Linear { shap: None, .. } => {
                return Err(Error::Unsupported(format!(
                    "model type {} is explained against a background sample (its feature means, as shap.LinearExplainer): give one (--background FILE)",
                    p.spec.kind()
                )));
            }
        };
        let base = self.base_values();
        let n = x.n_rows();
        let k = self.outputs.len();
        let nf = self.features.len();
        let nc = self.groups.names().len();
        let mut by_column = vec![0.0; n * k * nc];
        for (row, out) in values
            .chunks_exact(k * (nf + 1))
            .zip(by_column.chunks_exact_mut(k * nc))
        {
            for c in 0..k {
                self.groups.sum_into(
                    &row[c * (nf + 1)..c * (nf + 1) + nf],
                    &mut out[c * nc..(c + 1) * nc],
                );
            }
        }
        Ok(Explanation {
            n_rows: n,
            n_outputs: k,
            n_features: nf,
            n_columns: nc,
            base,
            per_feature: values,
            per_column: by_column,
            standard_errors: Vec::new(),
        })
    }
}

impl PipelineExplainer {
    /// SHAP interaction values of every row of `table` (path-dependent TreeSHAP's tree
    /// models only), per encoded feature and summed to input columns. Memory is
    /// `rows × outputs × (features² + columns²)` values: callers pass blocks of rows.
    pub fn interactions(
        &self,
        p: &FittedPipeline,
        table: &Table,
    ) -> Result<InteractionExplanation> {
        match &self.method {
            Method::Tree(_) => {}
            Method::Interventional(_) => {
                return Err(Error::Unsupported(
                    "SHAP interaction values are computed path-dependent (as shap's TreeExplainer computes them), not against a background sample: drop the background".into(),
                ));
            }
            _ => return Err(Error::Unsupported(interactions::unsupported(p.spec.kind()))),
        }
        let ensemble = Ensemble::of(&p.model)?;
        let inter = interactions::TreeInteractions::new(&ensemble)?;
        let x = p.preprocessor.transform(table)?;
        let per_feature = inter.explain(&x)?;
        let n = x.n_rows();
        let k = self.outputs.len();
        let m = self.features.len();
        let nc = self.groups.names().len();
        let mut per_column = vec![0.0; n * k * nc * nc];
        if m > 0 && nc > 0 {
            for (f, c) in per_feature
                .chunks_exact(m * m)
                .zip(per_column.chunks_exact_mut(nc * nc))
            {
                interactions::sum_to_columns(&self.groups, f, c);
            }
        }
        Ok(InteractionExplanation {
            n_rows: n,
            n_outputs: k,
            n_features: m,
            n_columns: nc,
            base: inter.base_values().to_vec(),
            per_feature,
            per_column,
        })
    }

    /// Values per input column (exact or sampled Shapley values): both views are the
    /// same.
    fn per_column(&self, n: usize, values: Vec<f64>, standard_errors: Vec<f64>) -> Explanation {
        let k = self.outputs.len();
        let m = self.features.len();
        let base = self.base_values();
        let mut per_feature = Vec::with_capacity(n * k * (m + 1));
        for (i, v) in values.chunks_exact(m).enumerate() {
            per_feature.extend_from_slice(v);
            per_feature.push(base[i % k]);
        }
        Explanation {
            n_rows: n,
            n_outputs: k,
            n_features: m,
            n_columns: m,
            base,
            per_feature,
            per_column: values,
            standard_errors,
        }
    }
}

/// At most `max_rows` rows of `table`, evenly spaced through it (all when it has fewer).
fn evenly_spaced(table: &Table, max_rows: usize) -> Result<Table> {
    let n = table.n_rows();
    if n == 0 || max_rows == 0 {
        return Err(Error::Input("the background sample has no rows".into()));
    }
    if n <= max_rows {
        return Ok(table.clone());
    }
    let take: Vec<usize> = (0..max_rows).map(|i| i * n / max_rows).collect();
    Ok(table.take(&take).map_err(slipway_learn::Error::from)?)
}

/// SHAP interaction values for a block of rows, in both views.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionExplanation {
    /// Rows explained.
    pub n_rows: usize,
    /// Outputs per row.
    pub n_outputs: usize,
    /// Model features.
    pub n_features: usize,
    /// Input columns.
    pub n_columns: usize,
    /// Base value per output.
    pub base: Vec<f64>,
    /// Per row, per output: a `features × features` matrix, row-major.
    pub per_feature: Vec<f64>,
    /// Per row, per output: a `columns × columns` matrix, row-major.
    pub per_column: Vec<f64>,
}

impl InteractionExplanation {
    /// Row `r`, output `k`: the matrix per feature.
    pub fn features(&self, r: usize, k: usize) -> &[f64] {
        let w = self.n_features * self.n_features;
        let at = (r * self.n_outputs + k) * w;
        &self.per_feature[at..at + w]
    }

    /// Row `r`, output `k`: the matrix per input column.
    pub fn columns(&self, r: usize, k: usize) -> &[f64] {
        let w = self.n_columns * self.n_columns;
        let at = (r * self.n_outputs + k) * w;
        &self.per_column[at..at + w]
    }
}

/// Contributions for a block of rows, in both views.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// Rows explained.
    pub n_rows: usize,
    /// Outputs per row.
    pub n_outputs: usize,
    /// Model features.
    pub n_features: usize,
    /// Input columns.
    pub n_columns: usize,
    /// Base value per output.
    pub base: Vec<f64>,
    /// Per row, per output: each feature's contribution, then the base value.
    pub per_feature: Vec<f64>,
    /// Per row, per output: each input column's contribution.
    pub per_column: Vec<f64>,
    /// Sampled values only (KernelSHAP): the standard error of each value of
    /// `per_column`, in its layout; empty for exact values.
    pub standard_errors: Vec<f64>,
}

impl Explanation {
    /// Contributions of row `r`, output `k`, per feature.
    pub fn features(&self, r: usize, k: usize) -> &[f64] {
        let w = self.n_features + 1;
        let at = (r * self.n_outputs + k) * w;
        &self.per_feature[at..at + self.n_features]
    }

    /// Contributions of row `r`, output `k`, per input column.
    pub fn columns(&self, r: usize, k: usize) -> &[f64] {
        let at = (r * self.n_outputs + k) * self.n_columns;
        &self.per_column[at..at + self.n_columns]
    }

    /// The explained raw score of row `r`, output `k`: base plus contributions.
    pub fn score(&self, r: usize, k: usize) -> f64 {
        self.base[k] + self.features(r, k).iter().sum::<f64>()
    }
}
