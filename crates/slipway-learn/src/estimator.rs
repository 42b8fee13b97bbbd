//! The traits every model implements, and the data they are fitted on.
//!
//! Hyperparameters arrive as a `*Params` struct (what a config holds). `check()` validates
//! them once and returns the estimator; [`Estimator::fit`] returns a separate fitted type that
//! implements [`Predictor`]. A fitted model therefore never holds unchecked hyperparameters.

use serde::{Deserialize, Serialize};

use crate::{Matrix, Result};

/// What kind of problem a model solves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Task {
    /// Two classes; class 1 is the positive class.
    Binary,
    /// More than two classes.
    Multiclass {
        /// Number of classes.
        n_classes: usize,
    },
    /// A real-valued target.
    Regression,
}

impl Task {
    /// Number of model outputs per row: class probabilities, or one value.
    pub fn n_outputs(self) -> usize {
        match self {
            Task::Binary => 2,
            Task::Multiclass { n_classes } => n_classes,
            Task::Regression => 1,
        }
    }

    /// Whether this is a classification task.
    pub fn is_classification(self) -> bool {
        !matches!(self, Task::Regression)
    }
}

/// Training labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Target {
    /// Class indices in `0..n_classes`.
    Classes {
        /// One class index per row.
        labels: Vec<u32>,
        /// Number of classes (at least 2).
        n_classes: usize,
    },
    /// Real values.
    Real(Vec<f64>),
}

impl Target {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Target::Classes { labels, .. } => labels.len(),
            Target::Real(v) => v.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The task these labels define.
    pub fn task(&self) -> Task {
        match self {
            Target::Classes { n_classes: 2, .. } => Task::Binary,
            Target::Classes { n_classes, .. } => Task::Multiclass {
                n_classes: *n_classes,
            },
            Target::Real(_) => Task::Regression,
        }
    }

    /// The labels at `rows`, in that order.
    pub fn take(&self, rows: &[usize]) -> Target {
        match self {
            Target::Classes { labels, n_classes } => Target::Classes {
                labels: rows.iter().map(|&r| labels[r]).collect(),
                n_classes: *n_classes,
            },
            Target::Real(v) => Target::Real(rows.iter().map(|&r| v[r]).collect()),
        }
    }
}

/// How a feature column should be treated by models that care (trees split categorical
/// features on sets of categories).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FeatureKind {
    /// An ordered number.
    Numeric,
    /// Category codes `0..n_categories` stored as `f64` (NaN when missing).
    Categorical {
        /// Number of distinct codes.
        n_categories: usize,
    },
}

/// A feature column's name and kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureMeta {
    /// The feature name (after preprocessing, e.g. `workclass=Private`).
    pub name: String,
    /// How to treat it.
    pub kind: FeatureKind,
}

impl FeatureMeta {
    /// A numeric feature.
    pub fn numeric(name: impl Into<String>) -> Self {
        FeatureMeta {
            name: name.into(),
            kind: FeatureKind::Numeric,
        }
    }
}

/// Features, labels and optional sample weights, fitted on together.
#[derive(Debug, Clone, Copy)]
pub struct TrainData<'a> {
    /// Features, one column per entry of `features`.
    pub x: &'a Matrix,
    /// Labels, one per row of `x`.
    pub y: &'a Target,
    /// Names and kinds of the columns of `x`.
    pub features: &'a [FeatureMeta],
    /// Optional per-row weights.
    pub weights: Option<&'a [f64]>,
}

impl TrainData<'_> {
    /// Checks that shapes agree; every estimator calls this first.
    pub fn check_shapes(&self) -> Result<()> {
        if self.x.n_rows() != self.y.len() {
            return Err(crate::Error::InvalidData(format!(
                "{} feature rows but {} labels",
                self.x.n_rows(),
                self.y.len()
            )));
        }
        if self.x.n_cols() != self.features.len() {
            return Err(crate::Error::InvalidData(format!(
                "{} feature columns but {} feature names",
                self.x.n_cols(),
                self.features.len()
            )));
        }
        if let Some(w) = self.weights {
            if w.len() != self.x.n_rows() {
                return Err(crate::Error::InvalidData(format!(
                    "{} weights for {} rows",
                    w.len(),
                    self.x.n_rows()
                )));
            }
        }
        if self.x.n_rows() == 0 {
            return Err(crate::Error::InvalidData("no rows to fit on".into()));
        }
        Ok(())
    }
}

/// What a fitted model outputs for a batch of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Prediction {
    /// Class probabilities: `n_rows × n_classes`, each row summing to 1.
    Probabilities(Matrix),
    /// One real value per row.
    Values(Vec<f64>),
}

impl Prediction {
    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        match self {
            Prediction::Probabilities(m) => m.n_rows(),
            Prediction::Values(v) => v.len(),
        }
    }
}

/// Checked hyperparameters that can be fitted.
pub trait Estimator: Send + Sync {
    /// The fitted model.
    type Fitted: Predictor;

    /// Fits on `train`. Estimators that stop early use `valid` when given.
    fn fit(&self, train: &TrainData<'_>, valid: Option<&TrainData<'_>>) -> Result<Self::Fitted>;
}

/// A fitted model.
pub trait Predictor: Send + Sync {
    /// The task it was fitted for.
    fn task(&self) -> Task;

    /// Predicts for every row of `x` (columns as at fit time).
    fn predict(&self, x: &Matrix) -> Result<Prediction>;

    /// Per-feature importance, if the model has a notion of it (normalized to sum to 1).
    fn feature_importance(&self) -> Option<Vec<f64>> {
        None
    }
}

/// Unchecked hyperparameters, as read from a config.
pub trait Params {
    /// The checked estimator.
    type Checked: Estimator;

    /// Validates every hyperparameter once; the error names the parameter and the rule.
    fn check(&self) -> Result<Self::Checked>;
}
