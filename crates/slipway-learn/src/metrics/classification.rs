//! Label and probability metrics: accuracy, precision/recall/F1, confusion matrix, log loss,
//! Brier score.

use super::{check_finite, check_len, check_weights, weighted_mean};
use crate::{Error, Matrix, Result};

/// How per-class scores are combined (scikit-learn's `average=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Average {
    /// The score of one class only. Like scikit-learn, the labels present must be at most
    /// two, and `pos_label` one of them when there are two.
    Binary {
        /// The positive class.
        pos_label: u32,
    },
    /// Unweighted mean over classes.
    Macro,
    /// Mean over classes weighted by their (weighted) number of true rows.
    Weighted,
    /// Global counts of true positives, false positives and false negatives.
    Micro,
}

/// Precision, recall and F1 together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prf {
    /// `tp / (tp + fp)`, 0 when nothing is predicted positive.
    pub precision: f64,
    /// `tp / (tp + fn)`, 0 when there is no true positive row.
    pub recall: f64,
    /// `2·tp / (2·tp + fp + fn)`, 0 when that is 0/0.
    pub f1: f64,
}

/// Fraction of rows (or of weight) where `y_pred == y_true` (`accuracy_score`).
pub fn accuracy(y_true: &[u32], y_pred: &[u32], sample_weight: Option<&[f64]>) -> Result<f64> {
    check_len("y_true", y_true.len(), "y_pred", y_pred.len())?;
    check_weights(sample_weight, y_true.len())?;
    let hits = y_true
        .iter()
        .zip(y_pred)
        .map(|(a, b)| if a == b { 1.0 } else { 0.0 });
    Ok(weighted_mean(hits, sample_weight))
}

/// Per-label sufficient statistics over the sorted union of labels in `y_true` and `y_pred`.
pub(crate) struct LabelStats {
    pub labels: Vec<u32>,
    pub tp: Vec<f64>,
    pub pred: Vec<f64>,
    pub truth: Vec<f64>,
}

pub(crate) fn label_stats(
    y_true: &[u32],
    y_pred: &[u32],
    sample_weight: Option<&[f64]>,
) -> Result<LabelStats> {
    check_len("y_true", y_true.len(), "y_pred", y_pred.len())?;
    check_weights(sample_weight, y_true.len())?;
    let mut labels: Vec<u32> = y_true.iter().chain(y_pred).copied().collect();
    labels.sort_unstable();
    labels.dedup();
    let k = labels.len();
    let idx = |l: u32| labels.binary_search(&l).unwrap_or(0);
    let (mut tp, mut pred, mut truth) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    for (i, (&t, &p)) in y_true.iter().zip(y_pred).enumerate() {
        let w = sample_weight.map_or(1.0, |w| w[i]);
        let (ti, pi) = (idx(t), idx(p));
        truth[ti] += w;
        pred[pi] += w;
        if t == p {
            tp[ti] += w;
        }
    }
    Ok(LabelStats {
        labels,
        tp,
        pred,
        truth,
    })
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

pub(crate) fn prf_of(tp: f64, pred: f64, truth: f64) -> Prf {
    Prf {
        precision: ratio(tp, pred),
        recall: ratio(tp, truth),
        f1: ratio(2.0 * tp, truth + pred),
    }
}

/// Precision, recall and F1 combined by `average` (`precision_recall_fscore_support`).
pub fn precision_recall_f1(
    y_true: &[u32],
    y_pred: &[u32],
    average: Average,
    sample_weight: Option<&[f64]>,
) -> Result<Prf> {
    let s = label_stats(y_true, y_pred, sample_weight)?;
    average_stats(&s, average)
}

pub(crate) fn average_stats(s: &LabelStats, average: Average) -> Result<Prf> {
    let k = s.labels.len();
    match average {
        Average::Binary { pos_label } => {
            if k > 2 {
                return Err(Error::InvalidData(format!(
                    "labels {:?} are not binary; use a macro, weighted or micro average",
                    s.labels
                )));
            }
            match s.labels.binary_search(&pos_label) {
                Ok(i) => Ok(prf_of(s.tp[i], s.pred[i], s.truth[i])),
                Err(_) if k == 2 => Err(Error::InvalidData(format!(
                    "pos_label {pos_label} is not one of the labels {:?}",
                    s.labels
                ))),
                Err(_) => Ok(prf_of(0.0, 0.0, 0.0)),
            }
        }
        Average::Micro => Ok(prf_of(
            s.tp.iter().sum(),
            s.pred.iter().sum(),
            s.truth.iter().sum(),
        )),
        Average::Macro | Average::Weighted => {
            let per: Vec<Prf> = (0..k)
                .map(|i| prf_of(s.tp[i], s.pred[i], s.truth[i]))
                .collect();
            let w = if average == Average::Weighted {
                let total: f64 = s.truth.iter().sum();
                if total == 0.0 {
                    return Err(Error::InvalidData(
                        "no true rows with positive weight; the weighted average is undefined"
                            .into(),
                    ));
                }
                Some(s.truth.as_slice())
            } else {
                None
            };
            Ok(Prf {
                precision: weighted_mean(per.iter().map(|p| p.precision), w),
                recall: weighted_mean(per.iter().map(|p| p.recall), w),
                f1: weighted_mean(per.iter().map(|p| p.f1), w),
            })
        }
    }
}

/// Precision (`precision_score`).
pub fn precision(
    y_true: &[u32],
    y_pred: &[u32],
    average: Average,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    Ok(precision_recall_f1(y_true, y_pred, average, sample_weight)?.precision)
}

/// Recall (`recall_score`).
pub fn recall(
    y_true: &[u32],
    y_pred: &[u32],
    average: Average,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    Ok(precision_recall_f1(y_true, y_pred, average, sample_weight)?.recall)
}

/// F1 score (`f1_score`).
pub fn f1(
    y_true: &[u32],
    y_pred: &[u32],
    average: Average,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    Ok(precision_recall_f1(y_true, y_pred, average, sample_weight)?.f1)
}

/// A confusion matrix over the sorted union of labels present.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusionMatrix {
    /// The labels, in the order of rows and columns.
    pub labels: Vec<u32>,
    /// `counts[i][j]`: (weighted) rows of true class `labels[i]` predicted as `labels[j]`.
    pub counts: Vec<Vec<f64>>,
}

/// The confusion matrix (`confusion_matrix`): rows are true classes, columns predictions.
pub fn confusion_matrix(
    y_true: &[u32],
    y_pred: &[u32],
    sample_weight: Option<&[f64]>,
) -> Result<ConfusionMatrix> {
    check_len("y_true", y_true.len(), "y_pred", y_pred.len())?;
    check_weights(sample_weight, y_true.len())?;
    let mut labels: Vec<u32> = y_true.iter().chain(y_pred).copied().collect();
    labels.sort_unstable();
    labels.dedup();
    let k = labels.len();
    let idx = |l: u32| labels.binary_search(&l).unwrap_or(0);
    let mut counts = vec![vec![0.0; k]; k];
    for (i, (&t, &p)) in y_true.iter().zip(y_pred).enumerate() {
        counts[idx(t)][idx(p)] += sample_weight.map_or(1.0, |w| w[i]);
    }
    Ok(ConfusionMatrix { labels, counts })
}

/// Checks that probabilities lie in `[0, 1]`.
fn check_probabilities(what: &str, v: &[f64]) -> Result<()> {
    if let Some(i) = v.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(Error::InvalidData(format!(
            "{what} is {} at row {i}; probabilities must lie in [0, 1]",
            v[i]
        )));
    }
    Ok(())
}

fn check_proba_matrix(y_true: &[u32], proba: &Matrix, sample_weight: Option<&[f64]>) -> Result<()> {
    check_len("y_true", y_true.len(), "probabilities", proba.n_rows())?;
    check_weights(sample_weight, y_true.len())?;
    let k = proba.n_cols();
    if k < 2 {
        return Err(Error::InvalidData(format!(
            "need probabilities of at least 2 classes, got {k} column(s)"
        )));
    }
    for c in 0..k {
        check_probabilities(&format!("probability of class {c}"), proba.col(c))?;
    }
    if let Some(i) = y_true.iter().position(|&l| l as usize >= k) {
        return Err(Error::InvalidData(format!(
            "label {} at row {i} has no probability column (only {k})",
            y_true[i]
        )));
    }
    Ok(())
}

fn check_binary_labels(y_true: &[u32]) -> Result<()> {
    if let Some(i) = y_true.iter().position(|&l| l > 1) {
        return Err(Error::InvalidData(format!(
            "label {} at row {i}: binary metrics need labels 0 and 1",
            y_true[i]
        )));
    }
    Ok(())
}

/// `−log p`, with `p` clipped to `[ε, 1 − ε]` as scikit-learn ≥ 1.5 does (ε = f64 epsilon).
fn neg_log_clipped(p: f64) -> f64 {
    -p.clamp(f64::EPSILON, 1.0 - f64::EPSILON).ln()
}

/// Cross-entropy of class probabilities (`log_loss(y_true, proba, labels=range(k))`):
/// column `c` is the probability of class `c`. Probabilities are clipped to
/// `[ε, 1 − ε]` (ε = `f64::EPSILON`) and, as in scikit-learn, not renormalized.
pub fn log_loss(y_true: &[u32], proba: &Matrix, sample_weight: Option<&[f64]>) -> Result<f64> {
    check_proba_matrix(y_true, proba, sample_weight)?;
    let losses = y_true
        .iter()
        .enumerate()
        .map(|(i, &l)| neg_log_clipped(proba.get(i, l as usize)));
    Ok(weighted_mean(losses, sample_weight))
}

/// Log loss from the probability of class 1 (`log_loss(y_true, p1)`), labels in `{0, 1}`.
pub fn log_loss_binary(y_true: &[u32], p1: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    check_len("y_true", y_true.len(), "probabilities", p1.len())?;
    check_weights(sample_weight, y_true.len())?;
    check_binary_labels(y_true)?;
    check_probabilities("probability of class 1", p1)?;
    let losses = y_true.iter().zip(p1).map(|(&l, &p)| {
        if l == 1 {
            neg_log_clipped(p)
        } else {
            neg_log_clipped(1.0 - p)
        }
    });
    Ok(weighted_mean(losses, sample_weight))
}

/// Brier score of class probabilities (`brier_score_loss(y_true, proba)`): the mean over
/// rows of `Σ_c (1[y = c] − p_c)²`, halved for two columns (scikit-learn's
/// `scale_by_half="auto"`), so that two columns give the binary score.
pub fn brier_score(y_true: &[u32], proba: &Matrix, sample_weight: Option<&[f64]>) -> Result<f64> {
    check_proba_matrix(y_true, proba, sample_weight)?;
    let k = proba.n_cols();
    let rows = y_true.iter().enumerate().map(|(i, &l)| {
        (0..k)
            .map(|c| {
                let t = if c == l as usize { 1.0 } else { 0.0 };
                let d = t - proba.get(i, c);
                d * d
            })
            .sum::<f64>()
    });
    let score = weighted_mean(rows, sample_weight);
    Ok(if k < 3 { 0.5 * score } else { score })
}

/// Brier score from the probability of class 1 (`brier_score_loss(y_true, p1)`): the mean of
/// `(y − p₁)²`, labels in `{0, 1}`.
pub fn brier_score_binary(
    y_true: &[u32],
    p1: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    check_len("y_true", y_true.len(), "probabilities", p1.len())?;
    check_weights(sample_weight, y_true.len())?;
    check_binary_labels(y_true)?;
    check_finite("probability of class 1", p1)?;
    check_probabilities("probability of class 1", p1)?;
    let rows = y_true.iter().zip(p1).map(|(&l, &p)| {
        let y = f64::from(l);
        let (d0, d1) = ((1.0 - y) - (1.0 - p), y - p);
        0.5 * (d0 * d0 + d1 * d1)
    });
    Ok(weighted_mean(rows, sample_weight))
}
