//! Decision-threshold tuning for binary classifiers (the idea of scikit-learn's
//! `TunedThresholdClassifierCV`): on out-of-fold probabilities, pick the threshold that
//! maximizes (or minimizes) one metric, optionally subject to bounds on others.
//!
//! A row is predicted positive when its positive-class probability is `>= threshold`. The
//! candidate thresholds are the distinct probabilities seen (every distinct confusion matrix
//! reachable with at least one positive prediction); ties in the objective go to the lowest
//! threshold.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A metric of the confusion matrix at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMetric {
    /// `2·tp / (2·tp + fp + fn)`.
    F1,
    /// `tp / (tp + fp)` (0 when nothing is predicted positive).
    Precision,
    /// `tp / (tp + fn)`, the true positive rate.
    Recall,
    /// `tn / (tn + fp)`, the true negative rate.
    Specificity,
    /// `fp / (fp + tn)`.
    FalsePositiveRate,
    /// `fn / (fn + tp)`.
    FalseNegativeRate,
    /// `(tp + tn) / n`.
    Accuracy,
    /// Mean of recall and specificity.
    BalancedAccuracy,
}

impl ThresholdMetric {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            ThresholdMetric::F1 => "f1",
            ThresholdMetric::Precision => "precision",
            ThresholdMetric::Recall => "recall",
            ThresholdMetric::Specificity => "specificity",
            ThresholdMetric::FalsePositiveRate => "false_positive_rate",
            ThresholdMetric::FalseNegativeRate => "false_negative_rate",
            ThresholdMetric::Accuracy => "accuracy",
            ThresholdMetric::BalancedAccuracy => "balanced_accuracy",
        }
    }

    /// The value from confusion counts.
    pub fn value(self, tp: f64, fp: f64, tn: f64, fn_: f64) -> f64 {
        let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        match self {
            ThresholdMetric::F1 => div(2.0 * tp, 2.0 * tp + fp + fn_),
            ThresholdMetric::Precision => div(tp, tp + fp),
            ThresholdMetric::Recall => div(tp, tp + fn_),
            ThresholdMetric::Specificity => div(tn, tn + fp),
            ThresholdMetric::FalsePositiveRate => div(fp, fp + tn),
            ThresholdMetric::FalseNegativeRate => div(fn_, fn_ + tp),
            ThresholdMetric::Accuracy => div(tp + tn, tp + tn + fp + fn_),
            ThresholdMetric::BalancedAccuracy => (div(tp, tp + fn_) + div(tn, tn + fp)) / 2.0,
        }
    }
}

/// A bound such as `">= 0.85"` or `"<= 0.1"`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Bound {
    /// `true` for `>=` / `>`, `false` for `<=` / `<`.
    pub at_least: bool,
    /// Whether equality is allowed.
    pub inclusive: bool,
    /// The bound.
    pub value: f64,
}

impl TryFrom<String> for Bound {
    type Error = String;

    fn try_from(s: String) -> std::result::Result<Self, String> {
        let t = s.trim();
        let (at_least, inclusive, rest) = if let Some(r) = t.strip_prefix(">=") {
            (true, true, r)
        } else if let Some(r) = t.strip_prefix("<=") {
            (false, true, r)
        } else if let Some(r) = t.strip_prefix('>') {
            (true, false, r)
        } else if let Some(r) = t.strip_prefix('<') {
            (false, false, r)
        } else {
            return Err(format!(
                "bound \"{s}\" must start with >=, <=, > or < (e.g. \">= 0.85\")"
            ));
        };
        let value: f64 = rest
            .trim()
            .parse()
            .map_err(|_| format!("bound \"{s}\": \"{}\" is not a number", rest.trim()))?;
        if !value.is_finite() {
            return Err(format!("bound \"{s}\" must be finite"));
        }
        Ok(Bound {
            at_least,
            inclusive,
            value,
        })
    }
}

impl From<Bound> for String {
    fn from(b: Bound) -> String {
        let op = match (b.at_least, b.inclusive) {
            (true, true) => ">=",
            (true, false) => ">",
            (false, true) => "<=",
            (false, false) => "<",
        };
        format!("{op} {}", b.value)
    }
}

impl Bound {
    fn holds(&self, v: f64) -> bool {
        match (self.at_least, self.inclusive) {
            (true, true) => v >= self.value,
            (true, false) => v > self.value,
            (false, true) => v <= self.value,
            (false, false) => v < self.value,
        }
    }
}

/// What to tune, as written under `threshold:` in a config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// Metric to maximize.
    #[serde(default)]
    pub maximize: Option<ThresholdMetric>,
    /// Metric to minimize.
    #[serde(default)]
    pub minimize: Option<ThresholdMetric>,
    /// Bounds every candidate threshold must meet.
    #[serde(default)]
    pub subject_to: BTreeMap<ThresholdMetric, Bound>,
}

impl ThresholdSpec {
    /// The objective and its direction (`true`: maximize).
    pub fn objective(&self) -> Result<(ThresholdMetric, bool)> {
        match (self.maximize, self.minimize) {
            (Some(m), None) => Ok((m, true)),
            (None, Some(m)) => Ok((m, false)),
            _ => Err(Error::param(
                "threshold",
                "give exactly one of maximize: <metric> or minimize: <metric>",
            )),
        }
    }
}

/// The tuned threshold, with the objective's curve over thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TunedThreshold {
    /// Predict positive when `P(positive) >= threshold`.
    pub threshold: f64,
    /// The objective metric.
    pub metric: ThresholdMetric,
    /// Its value at the threshold.
    pub value: f64,
    /// Every metric at the chosen threshold.
    pub metrics_at_threshold: BTreeMap<ThresholdMetric, f64>,
    /// `(threshold, objective)` over the candidate thresholds, ascending (at most ~400
    /// points, thinned evenly).
    pub curve: Vec<(f64, f64)>,
}

const ALL: [ThresholdMetric; 8] = [
    ThresholdMetric::F1,
    ThresholdMetric::Precision,
    ThresholdMetric::Recall,
    ThresholdMetric::Specificity,
    ThresholdMetric::FalsePositiveRate,
    ThresholdMetric::FalseNegativeRate,
    ThresholdMetric::Accuracy,
    ThresholdMetric::BalancedAccuracy,
];

/// Tunes the threshold on `scores` (positive-class probabilities) and `labels`.
pub fn tune_threshold(
    scores: &[f64],
    labels: &[bool],
    spec: &ThresholdSpec,
) -> Result<TunedThreshold> {
    let (objective, maximize) = spec.objective()?;
    if scores.len() != labels.len() || scores.is_empty() {
        return Err(Error::InvalidData(format!(
            "threshold tuning needs one score per label ({} scores, {} labels)",
            scores.len(),
            labels.len()
        )));
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::InvalidData(format!(
            "score at row {i} is not finite"
        )));
    }
    let pos = labels.iter().filter(|&&l| l).count() as f64;
    let neg = labels.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return Err(Error::InvalidData(
            "threshold tuning needs both classes among the out-of-fold rows".into(),
        ));
    }
    // Descending scores: after the block of rows equal to t, tp/fp are the counts >= t.
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points: Vec<(f64, [f64; 4])> = Vec::new();
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let t = scores[order[i]];
        while i < order.len() && scores[order[i]] == t {
            if labels[order[i]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        points.push((t, [tp, fp, neg - fp, pos - tp]));
    }
    points.reverse(); // ascending thresholds
    let val = |m: ThresholdMetric, c: &[f64; 4]| m.value(c[0], c[1], c[2], c[3]);
    let mut best: Option<usize> = None;
    for (k, (_, c)) in points.iter().enumerate() {
        if !spec.subject_to.iter().all(|(m, b)| b.holds(val(*m, c))) {
            continue;
        }
        let v = val(objective, c);
        let improves = best.is_none_or(|b| {
            let bv = val(objective, &points[b].1);
            if maximize { v > bv } else { v < bv }
        });
        if improves {
            best = Some(k);
        }
    }
    let Some(b) = best else {
        return Err(unreachable(spec, &points));
    };
    let (threshold, c) = points[b];
    let step = (points.len() / 400).max(1);
    let mut curve: Vec<(f64, f64)> = points
        .iter()
        .step_by(step)
        .map(|(t, c)| (*t, val(objective, c)))
        .collect();
    if let Some((t, c)) = points.last() {
        if curve.last().map(|p| p.0) != Some(*t) {
            curve.push((*t, val(objective, c)));
        }
    }
    Ok(TunedThreshold {
        threshold,
        metric: objective,
        value: val(objective, &c),
        metrics_at_threshold: ALL.iter().map(|m| (*m, val(*m, &c))).collect(),
        curve,
    })
}

fn unreachable(spec: &ThresholdSpec, points: &[(f64, [f64; 4])]) -> Error {
    let mut parts = Vec::new();
    for (m, b) in &spec.subject_to {
        let vals = points.iter().map(|(_, c)| m.value(c[0], c[1], c[2], c[3]));
        let best = if b.at_least {
            vals.fold(f64::NEG_INFINITY, f64::max)
        } else {
            vals.fold(f64::INFINITY, f64::min)
        };
        parts.push(format!(
            "{} {} (best achievable {best:.4})",
            m.name(),
            String::from(*b)
        ));
    }
    Error::InvalidData(format!(
        "threshold: no threshold meets every constraint together: {}",
        parts.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: serde_json::Value) -> ThresholdSpec {
        serde_json::from_value(yaml).unwrap()
    }

    #[test]
    fn picks_the_f1_threshold_by_hand() {
        // Scores ascending with labels: 0.1 N, 0.3 P, 0.4 N, 0.6 P, 0.8 P, 0.9 N.
        // t=0.1: tp3 fp3 fn0 → f1 6/9=.667; t=0.3: tp3 fp2 → 6/8=.75; t=0.4: tp2 fp2 fn1 →
        // 4/7=.571; t=0.6: tp2 fp1 fn1 → 4/6=.667; t=0.8: tp1 fp1 → .4; t=0.9: 0.
        let s = [0.9, 0.1, 0.6, 0.3, 0.8, 0.4];
        let l = [false, false, true, true, true, false];
        let t = tune_threshold(&s, &l, &spec(serde_json::json!({"maximize": "f1"}))).unwrap();
        assert_eq!(t.threshold, 0.3);
        assert!((t.value - 0.75).abs() < 1e-12);
        // Lowest false-positive rate with recall >= 0.6: t=0.6 (recall 2/3, fpr 1/3).
        let t = tune_threshold(
            &s,
            &l,
            &spec(serde_json::json!({"minimize": "false_positive_rate",
                                     "subject_to": {"recall": ">= 0.6"}})),
        )
        .unwrap();
        assert_eq!(t.threshold, 0.6);
        assert!((t.value - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn unreachable_constraints_report_the_best_value() {
        let s = [0.9, 0.1, 0.6, 0.3];
        let l = [false, false, true, true];
        let e = tune_threshold(
            &s,
            &l,
            &spec(serde_json::json!({"maximize": "recall", "subject_to": {"precision": ">= 0.9"}})),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("precision >= 0.9") && e.contains("best achievable 0.6667"),
            "{e}"
        );
        assert!(
            serde_json::from_value::<ThresholdSpec>(
                serde_json::json!({"maximize": "f1", "subject_to": {"recall": "about 0.8"}})
            )
            .is_err()
        );
        let both = spec(serde_json::json!({"maximize": "f1", "minimize": "recall"}));
        assert!(tune_threshold(&s, &l, &both).is_err());
    }
}
