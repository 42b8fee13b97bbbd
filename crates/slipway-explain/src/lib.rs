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
//! - [`columns`]: contributions of encoded features (one-hot indicators, TF-IDF terms,
//!   datetime parts) summed back to the input column they come from.
//! - [`explain_table`]: a pipeline and a table in, both views out.

pub mod columns;
pub mod interventional;
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

/// An explainer for a fitted pipeline: its model's trees and how encoded features map back to
/// input columns.
#[derive(Debug, Clone)]
pub struct PipelineExplainer {
    shap: TreeShap,
    raw_space: RawSpace,
    /// Names of the model's input features (after preprocessing).
    features: Vec<String>,
    /// Names of the outputs explained (classes for multiclass, one name otherwise).
    outputs: Vec<String>,
    groups: columns::Groups,
    /// With a background sample: interventional values instead of path-dependent ones.
    background: Option<interventional::Interventional>,
}

impl PipelineExplainer {
    /// Prepares an explainer; fails for models without trees (naming the families that have
    /// them), calibrated pipelines are explained before calibration.
    pub fn new(p: &FittedPipeline) -> Result<PipelineExplainer> {
        let ensemble = Ensemble::of(&p.model).map_err(|e| match e {
            slipway_learn::Error::InvalidData(m) => {
                Error::Unsupported(format!("model type {}: {m}", p.spec.kind()))
            }
            e => Error::Learn(e),
        })?;
        let shap = TreeShap::new(&ensemble)?;
        let features: Vec<String> = p.features().into_iter().map(|f| f.name).collect();
        if features.len() != shap.n_features() {
            return Err(Error::Internal(format!(
                "the preprocessing gives {} features, the model takes {}",
                features.len(),
                shap.n_features()
            )));
        }
        let outputs = match (ensemble.raw_space, shap.n_outputs()) {
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
            shap,
            raw_space: ensemble.raw_space,
            features,
            outputs,
            groups,
            background: None,
        })
    }

    /// Explains interventionally from now on, against at most `max_rows` rows of `table`
    /// (evenly spaced through it; all of them when it has fewer); returns how many were
    /// taken.
    pub fn set_background(
        &mut self,
        p: &FittedPipeline,
        table: &Table,
        max_rows: usize,
    ) -> Result<usize> {
        let n = table.n_rows();
        if n == 0 || max_rows == 0 {
            return Err(Error::Input("the background sample has no rows".into()));
        }
        let take: Vec<usize> = if n <= max_rows {
            (0..n).collect()
        } else {
            (0..max_rows).map(|i| i * n / max_rows).collect()
        };
        let table = table.take(&take).map_err(slipway_learn::Error::from)?;
        let x = p.preprocessor.transform(&table)?;
        let ensemble = Ensemble::of(&p.model)?;
        self.background = Some(interventional::Interventional::new(&ensemble, &x)?);
        Ok(take.len())
    }

    /// Whether values are interventional (a background was set).
    pub fn is_interventional(&self) -> bool {
        self.background.is_some()
    }

    /// The tree explainer.
    pub fn shap(&self) -> &TreeShap {
        &self.shap
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
        let x = p.preprocessor.transform(table)?;
        let (values, base) = match &self.background {
            Some(b) => (b.explain(&x)?, b.base_values().to_vec()),
            None => (self.shap.explain(&x)?, self.shap.base_values().to_vec()),
        };
        let n = x.n_rows();
        let k = self.shap.n_outputs();
        let nf = self.shap.n_features();
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
        })
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
