//! Model metrics, each matching scikit-learn's function of the same name on the same inputs
//! (to floating-point round-off).
//!
//! Free functions take slices: class labels as `u32`, scores and probabilities as `f64`, and
//! optional sample weights (finite, non-negative, not all zero). Binary ranking metrics
//! ([`roc_auc`], [`average_precision`], the curves) take labels in `{0, 1}` with 1 the
//! positive class. Label sets for precision/recall/F1, the confusion matrix and the report
//! are the sorted union of the labels present in `y_true` and `y_pred`, as in scikit-learn;
//! probability-based metrics map column `c` to class `c`.
//!
//! Where scikit-learn returns NaN with an `UndefinedMetricWarning` (ROC AUC or a ROC curve
//! with one class only, R² of fewer than two rows) or raises, these return
//! [`Error::InvalidData`] saying why. Average precision with no positive row (scikit-learn
//! warns and returns 0) is an error too. Where scikit-learn's `zero_division="warn"` gives 0
//! (precision with nothing predicted positive, ...), so do these.
//!
//! [`Metric`] names a metric in configs and scores a [`Prediction`] against a [`Target`];
//! [`evaluate`] computes every metric that applies.

mod classification;
mod ranking;
mod regression;
mod report;

pub use classification::{
    Average, ConfusionMatrix, Prf, accuracy, brier_score, brier_score_binary, confusion_matrix, f1,
    log_loss, log_loss_binary, precision, precision_recall_f1, recall,
};
pub use ranking::{
    PrCurve, RocCurve, average_precision, average_precision_ovr, precision_recall_curve, roc_auc,
    roc_auc_ovr, roc_curve,
};
pub use regression::{mae, mape, r2, rmse};
pub use report::{ClassificationReport, ReportRow, classification_report};

use serde::{Deserialize, Serialize};

use crate::{Error, Matrix, Prediction, Result, Target, Task};

/// A metric the training pipeline can select models by.
///
/// For two classes the positive class is 1 and its probability is column 1; hard
/// predictions are the most probable class (ties: the lower class, like `argmax`). For more
/// than two classes [`Metric::Precision`], [`Metric::Recall`] and [`Metric::F1`] are
/// macro-averaged, [`Metric::RocAuc`] and [`Metric::AveragePrecision`] are one-vs-rest
/// macro averages, [`Metric::LogLoss`] and [`Metric::Brier`] use all columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Fraction of correct predictions ([`accuracy`]).
    Accuracy,
    /// Precision of class 1 (binary) or macro precision ([`precision`]).
    Precision,
    /// Recall of class 1 (binary) or macro recall ([`recall`]).
    Recall,
    /// F1 of class 1 (binary) or macro F1 ([`f1`]).
    F1,
    /// Unweighted mean of per-class F1.
    F1Macro,
    /// Support-weighted mean of per-class F1.
    F1Weighted,
    /// Area under the ROC curve ([`roc_auc`], [`roc_auc_ovr`] macro).
    RocAuc,
    /// Average precision ([`average_precision`], [`average_precision_ovr`] macro).
    AveragePrecision,
    /// Cross-entropy of the probabilities ([`log_loss`]).
    LogLoss,
    /// Brier score ([`brier_score_binary`] for two classes, [`brier_score`] otherwise).
    Brier,
    /// Root mean squared error ([`rmse`]).
    Rmse,
    /// Mean absolute error ([`mae`]).
    Mae,
    /// Coefficient of determination ([`r2`]).
    R2,
    /// Mean absolute percentage error, as a fraction ([`mape`]).
    Mape,
}

impl Metric {
    /// Every metric, in declaration order.
    pub const ALL: [Metric; 14] = [
        Metric::Accuracy,
        Metric::Precision,
        Metric::Recall,
        Metric::F1,
        Metric::F1Macro,
        Metric::F1Weighted,
        Metric::RocAuc,
        Metric::AveragePrecision,
        Metric::LogLoss,
        Metric::Brier,
        Metric::Rmse,
        Metric::Mae,
        Metric::R2,
        Metric::Mape,
    ];

    /// The config name (snake case, as serialized).
    pub fn name(&self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::F1 => "f1",
            Metric::F1Macro => "f1_macro",
            Metric::F1Weighted => "f1_weighted",
            Metric::RocAuc => "roc_auc",
            Metric::AveragePrecision => "average_precision",
            Metric::LogLoss => "log_loss",
            Metric::Brier => "brier",
            Metric::Rmse => "rmse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
            Metric::Mape => "mape",
        }
    }

    /// Whether a larger value is a better model (false for losses and errors).
    pub fn greater_is_better(&self) -> bool {
        !matches!(
            self,
            Metric::LogLoss | Metric::Brier | Metric::Rmse | Metric::Mae | Metric::Mape
        )
    }

    /// Whether the metric is defined for `task`.
    pub fn applies_to(&self, task: Task) -> bool {
        let regression = matches!(self, Metric::Rmse | Metric::Mae | Metric::R2 | Metric::Mape);
        regression != task.is_classification()
    }

    /// Scores `pred` against `y`: class probabilities against labels for classification,
    /// values against real targets for regression.
    pub fn score(&self, y: &Target, pred: &Prediction) -> Result<f64> {
        if y.len() != pred.n_rows() {
            return Err(Error::InvalidData(format!(
                "{} labels but {} predictions",
                y.len(),
                pred.n_rows()
            )));
        }
        if !self.applies_to(y.task()) {
            return Err(Error::InvalidData(format!(
                "metric {} does not apply to a {} task",
                self.name(),
                task_name(y.task())
            )));
        }
        match (y, pred) {
            (Target::Real(t), Prediction::Values(p)) => match self {
                Metric::Rmse => rmse(t, p, None),
                Metric::Mae => mae(t, p, None),
                Metric::R2 => r2(t, p, None),
                Metric::Mape => mape(t, p, None),
                _ => Err(Error::Internal("classification metric on values".into())),
            },
            (Target::Classes { labels, n_classes }, Prediction::Probabilities(proba)) => {
                if proba.n_cols() != *n_classes {
                    return Err(Error::InvalidData(format!(
                        "{} probability columns for {n_classes} classes",
                        proba.n_cols()
                    )));
                }
                self.score_classes(labels, *n_classes, proba)
            }
            (Target::Real(_), Prediction::Probabilities(_)) => Err(Error::InvalidData(
                "class probabilities given for a real-valued target".into(),
            )),
            (Target::Classes { .. }, Prediction::Values(_)) => Err(Error::InvalidData(
                "real values given for class labels; classification metrics need probabilities"
                    .into(),
            )),
        }
    }

    fn score_classes(&self, labels: &[u32], n_classes: usize, proba: &Matrix) -> Result<f64> {
        let binary = n_classes == 2;
        let hard = || argmax_rows(proba);
        let multi_avg = if binary {
            Average::Binary { pos_label: 1 }
        } else {
            Average::Macro
        };
        match self {
            Metric::Accuracy => accuracy(labels, &hard()?, None),
            Metric::Precision => precision(labels, &hard()?, multi_avg, None),
            Metric::Recall => recall(labels, &hard()?, multi_avg, None),
            Metric::F1 => f1(labels, &hard()?, multi_avg, None),
            Metric::F1Macro => f1(labels, &hard()?, Average::Macro, None),
            Metric::F1Weighted => f1(labels, &hard()?, Average::Weighted, None),
            Metric::RocAuc if binary => roc_auc(labels, proba.col(1), None),
            Metric::RocAuc => roc_auc_ovr(labels, proba, Average::Macro, None),
            Metric::AveragePrecision if binary => average_precision(labels, proba.col(1), None),
            Metric::AveragePrecision => average_precision_ovr(labels, proba, Average::Macro, None),
            Metric::LogLoss => log_loss(labels, proba, None),
            Metric::Brier if binary => brier_score_binary(labels, proba.col(1), None),
            Metric::Brier => brier_score(labels, proba, None),
            Metric::Rmse | Metric::Mae | Metric::R2 | Metric::Mape => {
                Err(Error::Internal("regression metric on classes".into()))
            }
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Metric {
    type Err = Error;

    fn from_str(s: &str) -> Result<Metric> {
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Metric::ALL.iter().map(Metric::name).collect();
                Error::param(
                    "metric",
                    format!("unknown metric '{s}', expected one of {names:?}"),
                )
            })
    }
}

/// Every metric that applies to `y`'s task, scored; metrics that are undefined on this data
/// (e.g. ROC AUC when one class is absent) are left out.
pub fn evaluate(y: &Target, pred: &Prediction) -> Vec<(Metric, f64)> {
    let task = y.task();
    Metric::ALL
        .into_iter()
        .filter(|m| m.applies_to(task))
        .filter_map(|m| m.score(y, pred).ok().map(|v| (m, v)))
        .collect()
}

fn task_name(task: Task) -> &'static str {
    match task {
        Task::Binary => "binary classification",
        Task::Multiclass { .. } => "multiclass classification",
        Task::Regression => "regression",
    }
}

/// Most probable class of each row (first maximum, like `numpy.argmax`).
fn argmax_rows(proba: &Matrix) -> Result<Vec<u32>> {
    let n = proba.n_rows();
    let mut best = vec![0u32; n];
    let mut best_p = proba.col(0).to_vec();
    for c in 1..proba.n_cols() {
        for (i, &v) in proba.col(c).iter().enumerate() {
            if v > best_p[i] {
                best_p[i] = v;
                best[i] = c as u32;
            }
        }
    }
    if let Some(i) = best_p.iter().position(|v| v.is_nan()) {
        return Err(Error::InvalidData(format!("probability is NaN in row {i}")));
    }
    for c in 1..proba.n_cols() {
        if let Some(i) = proba.col(c).iter().position(|v| v.is_nan()) {
            return Err(Error::InvalidData(format!("probability is NaN in row {i}")));
        }
    }
    Ok(best)
}

/// Fails unless there is at least one row and `b` has as many as `a`.
fn check_len(what_a: &str, a: usize, what_b: &str, b: usize) -> Result<()> {
    if a != b {
        return Err(Error::InvalidData(format!(
            "{what_a} has {a} rows but {what_b} has {b}"
        )));
    }
    if a == 0 {
        return Err(Error::InvalidData(format!("{what_a} is empty")));
    }
    Ok(())
}

/// Checks sample weights against `n` rows: finite, non-negative, not all zero.
fn check_weights(w: Option<&[f64]>, n: usize) -> Result<()> {
    if let Some(w) = w {
        check_len("y_true", n, "sample_weight", w.len())?;
        if let Some(i) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
            return Err(Error::InvalidData(format!(
                "sample weight {} at row {i}; weights must be finite and non-negative",
                w[i]
            )));
        }
        if w.iter().all(|&v| v == 0.0) {
            return Err(Error::InvalidData(
                "sample weights sum to zero, the average is undefined".into(),
            ));
        }
    }
    Ok(())
}

/// Fails if any value is not finite.
fn check_finite(what: &str, v: &[f64]) -> Result<()> {
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::InvalidData(format!(
            "{what} is {} at row {i}; values must be finite",
            v[i]
        )));
    }
    Ok(())
}

/// `Σ wᵢ vᵢ / Σ wᵢ` (plain mean without weights), as `numpy.average`.
fn weighted_mean(values: impl Iterator<Item = f64>, w: Option<&[f64]>) -> f64 {
    match w {
        None => {
            let (mut s, mut n) = (0.0, 0usize);
            for v in values {
                s += v;
                n += 1;
            }
            s / n as f64
        }
        Some(w) => {
            let (mut s, mut ws) = (0.0, 0.0);
            for (v, &wi) in values.zip(w) {
                s += v * wi;
                ws += wi;
            }
            s / ws
        }
    }
}
