//! Ranking metrics: ROC and precision–recall curves, ROC AUC, average precision.

use super::{Average, check_finite, check_len, check_weights};
use crate::{Error, Matrix, Result};

/// Points of a ROC curve (`roc_curve`), by decreasing threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct RocCurve {
    /// False positive rate at each threshold (starts at 0, ends at 1).
    pub fpr: Vec<f64>,
    /// True positive rate at each threshold (starts at 0, ends at 1).
    pub tpr: Vec<f64>,
    /// Thresholds, decreasing; the first is `+∞` (no row predicted positive).
    pub thresholds: Vec<f64>,
}

/// Points of a precision–recall curve (`precision_recall_curve`), by increasing threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct PrCurve {
    /// Precision at each threshold, then a final 1.
    pub precision: Vec<f64>,
    /// Recall at each threshold (decreasing), then a final 0.
    pub recall: Vec<f64>,
    /// Thresholds, increasing; one fewer than the points.
    pub thresholds: Vec<f64>,
}

/// Cumulative (weighted) counts at each distinct score, by decreasing score
/// (scikit-learn's `confusion_matrix_at_thresholds`).
struct ClfCurve {
    fps: Vec<f64>,
    tps: Vec<f64>,
    thresholds: Vec<f64>,
}

fn binary_positives(y_true: &[u32]) -> Result<Vec<bool>> {
    if let Some(i) = y_true.iter().position(|&l| l > 1) {
        return Err(Error::InvalidData(format!(
            "label {} at row {i}: binary ranking metrics need labels 0 and 1 (1 = positive)",
            y_true[i]
        )));
    }
    Ok(y_true.iter().map(|&l| l == 1).collect())
}

fn clf_curve(pos: &[bool], score: &[f64], sample_weight: Option<&[f64]>) -> Result<ClfCurve> {
    check_len("y_true", pos.len(), "y_score", score.len())?;
    check_weights(sample_weight, pos.len())?;
    check_finite("y_score", score)?;
    // Zero-weighted rows are dropped (they would only add thresholds).
    let mut idx: Vec<usize> = match sample_weight {
        Some(w) => (0..pos.len()).filter(|&i| w[i] != 0.0).collect(),
        None => (0..pos.len()).collect(),
    };
    // Stable sort by decreasing score, like `argsort(stable=True, descending=True)`.
    idx.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let (mut fps, mut tps, mut thresholds) = (Vec::new(), Vec::new(), Vec::new());
    let (mut tp, mut fp) = (0.0, 0.0);
    for (r, &i) in idx.iter().enumerate() {
        let w = sample_weight.map_or(1.0, |w| w[i]);
        if pos[i] {
            tp += w;
        } else if sample_weight.is_some() {
            fp += w;
        }
        let last = r + 1 == idx.len() || score[idx[r + 1]] != score[i];
        if last {
            tps.push(tp);
            // Unweighted false positives are exact integers: rows so far minus positives.
            fps.push(if sample_weight.is_some() {
                fp
            } else {
                (r + 1) as f64 - tp
            });
            thresholds.push(score[i]);
        }
    }
    Ok(ClfCurve {
        fps,
        tps,
        thresholds,
    })
}

fn roc_from(c: ClfCurve, drop_intermediate: bool) -> Result<RocCurve> {
    let ClfCurve {
        mut fps,
        mut tps,
        mut thresholds,
    } = c;
    if drop_intermediate && fps.len() > 2 {
        // Keep the ends and every point where the curve bends (second differences ≠ 0),
        // computed exactly as `np.diff(x, 2)`.
        let n = fps.len();
        let d2 = |v: &[f64], i: usize| (v[i + 1] - v[i]) - (v[i] - v[i - 1]);
        let keep: Vec<usize> = (0..n)
            .filter(|&i| i == 0 || i == n - 1 || d2(&fps, i) != 0.0 || d2(&tps, i) != 0.0)
            .collect();
        fps = keep.iter().map(|&i| fps[i]).collect();
        tps = keep.iter().map(|&i| tps[i]).collect();
        thresholds = keep.iter().map(|&i| thresholds[i]).collect();
    }
    fps.insert(0, 0.0);
    tps.insert(0, 0.0);
    thresholds.insert(0, f64::INFINITY);
    let (fp_total, tp_total) = (fps[fps.len() - 1], tps[tps.len() - 1]);
    if fp_total <= 0.0 {
        return Err(Error::InvalidData(
            "no negative rows in y_true (with positive weight): the ROC curve is undefined".into(),
        ));
    }
    if tp_total <= 0.0 {
        return Err(Error::InvalidData(
            "no positive rows in y_true (with positive weight): the ROC curve is undefined".into(),
        ));
    }
    Ok(RocCurve {
        fpr: fps.iter().map(|v| v / fp_total).collect(),
        tpr: tps.iter().map(|v| v / tp_total).collect(),
        thresholds,
    })
}

/// The ROC curve (`roc_curve`) of scores against labels in `{0, 1}`.
///
/// `drop_intermediate = true` is scikit-learn's default: collinear points are dropped.
/// Errors when either class is absent (scikit-learn returns NaN rates with a warning).
pub fn roc_curve(
    y_true: &[u32],
    y_score: &[f64],
    sample_weight: Option<&[f64]>,
    drop_intermediate: bool,
) -> Result<RocCurve> {
    let pos = binary_positives(y_true)?;
    roc_from(clf_curve(&pos, y_score, sample_weight)?, drop_intermediate)
}

fn auc_of(pos: &[bool], score: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    let roc = roc_from(clf_curve(pos, score, sample_weight)?, true)?;
    let mut area = 0.0;
    for i in 1..roc.fpr.len() {
        area += (roc.fpr[i] - roc.fpr[i - 1]) * (roc.tpr[i] + roc.tpr[i - 1]) / 2.0;
    }
    Ok(area)
}

/// Area under the ROC curve (`roc_auc_score`) for labels in `{0, 1}`; ties count half.
/// Errors when only one class is present.
pub fn roc_auc(y_true: &[u32], y_score: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    let pos = binary_positives(y_true)?;
    auc_of(&pos, y_score, sample_weight)
}

fn pr_from(c: ClfCurve, drop_intermediate: bool) -> Result<PrCurve> {
    let ClfCurve {
        mut fps,
        mut tps,
        mut thresholds,
    } = c;
    if drop_intermediate && fps.len() > 2 {
        // Keep the first and last point of each run of equal true-positive counts.
        let n = tps.len();
        let keep: Vec<usize> = (0..n)
            .filter(|&i| {
                i == 0 || i == n - 1 || tps[i] - tps[i - 1] != 0.0 || tps[i + 1] - tps[i] != 0.0
            })
            .collect();
        fps = keep.iter().map(|&i| fps[i]).collect();
        tps = keep.iter().map(|&i| tps[i]).collect();
        thresholds = keep.iter().map(|&i| thresholds[i]).collect();
    }
    let tp_total = tps[tps.len() - 1];
    if tp_total <= 0.0 {
        return Err(Error::InvalidData(
            "no positive rows in y_true (with positive weight): recall is undefined".into(),
        ));
    }
    let mut precision: Vec<f64> = tps
        .iter()
        .zip(&fps)
        .rev()
        .map(|(&tp, &fp)| if tp + fp != 0.0 { tp / (tp + fp) } else { 0.0 })
        .collect();
    let mut recall: Vec<f64> = tps.iter().rev().map(|&tp| tp / tp_total).collect();
    precision.push(1.0);
    recall.push(0.0);
    thresholds.reverse();
    Ok(PrCurve {
        precision,
        recall,
        thresholds,
    })
}

/// The precision–recall curve (`precision_recall_curve`) for labels in `{0, 1}`.
///
/// `drop_intermediate = false` is scikit-learn's default. Errors when there is no positive
/// row (scikit-learn sets recall to 1 with a warning).
pub fn precision_recall_curve(
    y_true: &[u32],
    y_score: &[f64],
    sample_weight: Option<&[f64]>,
    drop_intermediate: bool,
) -> Result<PrCurve> {
    let pos = binary_positives(y_true)?;
    pr_from(clf_curve(&pos, y_score, sample_weight)?, drop_intermediate)
}

fn ap_of(pos: &[bool], score: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    let pr = pr_from(clf_curve(pos, score, sample_weight)?, false)?;
    let mut ap = 0.0;
    for i in 0..pr.recall.len() - 1 {
        ap -= (pr.recall[i + 1] - pr.recall[i]) * pr.precision[i];
    }
    Ok(ap.max(0.0))
}

/// Average precision (`average_precision_score`): `Σₙ (Rₙ − Rₙ₋₁)·Pₙ` over thresholds (the
/// step function, not the trapezoid), for labels in `{0, 1}`. Errors without positives.
pub fn average_precision(
    y_true: &[u32],
    y_score: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    let pos = binary_positives(y_true)?;
    ap_of(&pos, y_score, sample_weight)
}

/// Checks the one-vs-rest inputs; returns the per-class weights of a weighted average.
fn ovr_setup(
    y_true: &[u32],
    proba: &Matrix,
    average: Average,
    sample_weight: Option<&[f64]>,
) -> Result<Vec<f64>> {
    check_len("y_true", y_true.len(), "probabilities", proba.n_rows())?;
    check_weights(sample_weight, y_true.len())?;
    if !matches!(average, Average::Macro | Average::Weighted) {
        return Err(Error::param(
            "average",
            format!("one-vs-rest scores support macro or weighted averages, got {average:?}"),
        ));
    }
    let k = proba.n_cols();
    if let Some(i) = y_true.iter().position(|&l| l as usize >= k) {
        return Err(Error::InvalidData(format!(
            "label {} at row {i} has no probability column (only {k})",
            y_true[i]
        )));
    }
    let mut class_weight = vec![0.0; k];
    let mut count = vec![0usize; k];
    for (i, &l) in y_true.iter().enumerate() {
        class_weight[l as usize] += sample_weight.map_or(1.0, |w| w[i]);
        count[l as usize] += 1;
    }
    if let Some(c) = count.iter().position(|&n| n == 0) {
        return Err(Error::InvalidData(format!(
            "class {c} does not occur in y_true; one-vs-rest scores need every one of the \
             {k} classes"
        )));
    }
    Ok(class_weight)
}

/// A binary score of positives, scores and weights.
type BinaryScore = fn(&[bool], &[f64], Option<&[f64]>) -> Result<f64>;

fn ovr_average(
    y_true: &[u32],
    proba: &Matrix,
    average: Average,
    sample_weight: Option<&[f64]>,
    class_weight: &[f64],
    metric: BinaryScore,
) -> Result<f64> {
    let k = proba.n_cols();
    let mut scores = Vec::with_capacity(k);
    for c in 0..k {
        let pos: Vec<bool> = y_true.iter().map(|&l| l as usize == c).collect();
        let s = metric(&pos, proba.col(c), sample_weight)
            .map_err(|e| Error::InvalidData(format!("class {c} vs rest: {e}")))?;
        scores.push(s);
    }
    Ok(match average {
        Average::Weighted => {
            let total: f64 = class_weight.iter().sum();
            if total == 0.0 {
                return Err(Error::InvalidData(
                    "all classes have zero weight; the weighted average is undefined".into(),
                ));
            }
            scores
                .iter()
                .zip(class_weight)
                .map(|(s, w)| if *w == 0.0 { 0.0 } else { s * w })
                .sum::<f64>()
                / total
        }
        _ => scores.iter().sum::<f64>() / k as f64,
    })
}

/// One-vs-rest ROC AUC of class probabilities (`roc_auc_score(multi_class="ovr")`), column
/// `c` scoring class `c`, averaged by `average` (macro, or weighted by class prevalence).
///
/// Like scikit-learn, every class must occur in `y_true` and rows must sum to 1
/// (`numpy.allclose`).
pub fn roc_auc_ovr(
    y_true: &[u32],
    proba: &Matrix,
    average: Average,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    let class_weight = ovr_setup(y_true, proba, average, sample_weight)?;
    for i in 0..proba.n_rows() {
        let s: f64 = (0..proba.n_cols()).map(|c| proba.get(i, c)).sum();
        let close = (1.0 - s).abs() <= 1e-8 + 1e-5 * s.abs();
        if !close {
            return Err(Error::InvalidData(format!(
                "probabilities of row {i} sum to {s}, not 1; multiclass ROC AUC needs \
                 probabilities"
            )));
        }
    }
    ovr_average(y_true, proba, average, sample_weight, &class_weight, auc_of)
}

/// One-vs-rest average precision of class probabilities (`average_precision_score` on
/// multiclass labels), averaged by `average`. Every class must occur in `y_true`.
pub fn average_precision_ovr(
    y_true: &[u32],
    proba: &Matrix,
    average: Average,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    let class_weight = ovr_setup(y_true, proba, average, sample_weight)?;
    ovr_average(y_true, proba, average, sample_weight, &class_weight, ap_of)
}
