//! What `train` tells the user about the data and the run besides scores: columns left out
//! of the features and why, id-like columns, single columns that predict the target almost
//! perfectly (leakage), cross-validation scores far from the holdout score, capped thread
//! counts, search rounds that could not separate their candidates and failed candidates.
//!
//! The column checks run on the training rows before anything is fitted, so they are
//! announced up front; every warning is also kept in the outcome (`--json`, `report.json`,
//! `report.html`). The rules and thresholds are documented on each constant.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use slipway_data::{DataType, Role, Table};
use slipway_learn::pipeline::TargetInfo;
use slipway_learn::{Target, Task};

use crate::Result;
use crate::config::Candidate;

/// What a [`Warning`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// A feature column no candidate uses (text without a text transformer).
    DroppedColumn,
    /// A column with (nearly) one distinct value per row: an identifier, not a feature.
    IdLike,
    /// A single column predicts the target almost perfectly on held-out folds.
    Leakage,
    /// A column with one value in every row (or no value at all): it carries nothing.
    Constant,
    /// The holdout score is far from the cross-validated score.
    CvHoldoutGap,
    /// More threads were asked for than there are cores; the count was capped.
    ThreadsCapped,
    /// A search round could not separate the candidates it had to choose between.
    SearchTie,
    /// A candidate failed; the run went on with the others.
    CandidateFailed,
}

/// One thing the user should know about a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    /// What it is about.
    pub kind: WarningKind,
    /// The column concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// The candidate concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    /// What was found, in words.
    pub message: String,
    /// The config change that addresses it, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Warning {
    /// The warning as one line: the message and, after `;`, the hint.
    pub fn line(&self) -> String {
        match &self.hint {
            Some(h) => format!("{}; {h}", self.message),
            None => self.message.clone(),
        }
    }
}

/// A categorical column with at least this many non-missing values ...
pub const ID_LIKE_MIN_ROWS: usize = 20;
/// ... and distinct values in at least this fraction of them is id-like.
pub const ID_LIKE_DISTINCT_RATIO: f64 = 0.9;
/// A single feature whose out-of-fold score reaches this is reported as leakage: ROC AUC
/// (binary), balanced accuracy (multiclass) or R² (regression).
pub const LEAKAGE_SCORE: f64 = 0.99;
/// Numeric columns are cut into at most this many quantile bins for the leakage check.
pub const LEAKAGE_BINS: usize = 32;

/// The column checks on the training rows (`table`, roles set), before fitting: dropped
/// text columns, id-like columns, constant columns and single-feature leakage (scored on
/// the cross-validation `folds`).
pub fn audit_columns(
    table: &Table,
    target: &TargetInfo,
    y: &Target,
    folds: &[(Vec<usize>, Vec<usize>)],
    candidates: &[Candidate],
) -> Result<Vec<Warning>> {
    let mut out = Vec::new();
    let features: Vec<_> = table.schema().with_role(Role::Feature).cloned().collect();
    for field in &features {
        let name = &field.name;
        let column = Some(name.clone());
        if field.dtype == DataType::Text {
            let dropping: Vec<&str> = candidates
                .iter()
                .filter(|c| {
                    c.preprocess.tfidf.is_none()
                        && c.preprocess
                            .columns
                            .get(name)
                            .is_none_or(|o| o.tfidf.is_none())
                })
                .map(|c| c.name.as_str())
                .collect();
            if !dropping.is_empty() {
                let who = if dropping.len() == candidates.len() {
                    "every candidate".to_string()
                } else {
                    format!("candidates {}", dropping.join(", "))
                };
                let values = table.string_values(name)?;
                let present: Vec<&str> = values.iter().flatten().copied().collect();
                let distinct = present.iter().collect::<HashSet<_>>().len();
                out.push(Warning {
                    kind: WarningKind::DroppedColumn,
                    column: column.clone(),
                    candidate: None,
                    message: format!(
                        "column \"{name}\" is read as free text ({distinct} distinct values in {} rows, long or wordy) and {who} leaves it out of the features (no text transformer)",
                        present.len()
                    ),
                    hint: Some(format!(
                        "to use it as categories add `data: {{types: {{{name}: categorical}}}}`; as text, `preprocess: {{columns: {{{name}: {{tfidf: {{}}}}}}}}`; to silence this, `roles: {{ignored: [{name}]}}`"
                    )),
                });
            }
            continue;
        }
        let Some(keys) = column_keys(table, name, field.dtype)? else {
            continue;
        };
        if let Some(w) = id_like(table, name, field.dtype, &keys)? {
            out.push(w);
            // An identifier cannot leak through held-out folds (its values do not repeat).
            continue;
        }
        let constant =
            keys.n_levels == 0 || (keys.n_levels == 1 && keys.n_present == keys.keys.len());
        if constant {
            out.push(Warning {
                kind: WarningKind::Constant,
                column: column.clone(),
                candidate: None,
                message: if keys.n_levels == 0 {
                    format!(
                        "column \"{name}\" is missing in every training row; it carries no information"
                    )
                } else {
                    format!(
                        "column \"{name}\" has the same value in every training row; it carries no information"
                    )
                },
                hint: Some(format!("`roles: {{ignored: [{name}]}}` leaves it out")),
            });
            continue;
        }
        if let Some((score, what)) = single_feature_score(&keys.keys, y, folds, target)
            && score >= LEAKAGE_SCORE
        {
            out.push(Warning {
                kind: WarningKind::Leakage,
                column: column.clone(),
                candidate: None,
                message: format!(
                    "column \"{name}\" alone predicts \"{}\" almost perfectly (out-of-fold {what} {score:.4} from this column only); it may be derived from the target or known only after it",
                    target.name
                ),
                hint: Some(format!(
                    "if it is not available when predicting, `roles: {{ignored: [{name}]}}`"
                )),
            });
        }
    }
    Ok(out)
}

/// A column as small integer keys per row: category levels, or quantile bins of numbers;
/// missing values get a key of their own.
struct Keys {
    keys: Vec<u32>,
    /// Distinct non-missing values (levels or numbers, before binning).
    n_levels: usize,
    /// Non-missing values.
    n_present: usize,
}

fn column_keys(table: &Table, name: &str, dtype: DataType) -> Result<Option<Keys>> {
    match dtype {
        DataType::Text => Ok(None),
        DataType::Categorical => {
            let values = table.string_values(name)?;
            let mut index: HashMap<&str, u32> = HashMap::new();
            let mut keys = Vec::with_capacity(values.len());
            let mut n_present = 0;
            for v in &values {
                keys.push(match v {
                    None => 0,
                    Some(s) => {
                        n_present += 1;
                        let next = index.len() as u32 + 1;
                        *index.entry(s).or_insert(next)
                    }
                });
            }
            Ok(Some(Keys {
                keys,
                n_levels: index.len(),
                n_present,
            }))
        }
        _ => {
            let values = table.numeric_values(name)?;
            let mut present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
            present.sort_by(f64::total_cmp);
            let mut distinct = present.clone();
            distinct.dedup();
            // Bin edges: quantiles of the present values, deduplicated.
            let mut edges: Vec<f64> = (1..LEAKAGE_BINS)
                .filter_map(|b| present.get(b * present.len() / LEAKAGE_BINS).copied())
                .collect();
            edges.dedup();
            let keys = values
                .iter()
                .map(|v| {
                    if v.is_nan() {
                        0
                    } else {
                        edges.partition_point(|e| e <= v) as u32 + 1
                    }
                })
                .collect();
            Ok(Some(Keys {
                keys,
                n_levels: distinct.len(),
                n_present: present.len(),
            }))
        }
    }
}

fn id_like(table: &Table, name: &str, dtype: DataType, keys: &Keys) -> Result<Option<Warning>> {
    if keys.n_present < ID_LIKE_MIN_ROWS {
        return Ok(None);
    }
    let hint = Some(format!(
        "if it identifies rows, declare it `roles: {{id: [{name}]}}` (kept out of the features, passed through by predict)"
    ));
    let message = match dtype {
        DataType::Categorical
            if keys.n_levels as f64 >= ID_LIKE_DISTINCT_RATIO * keys.n_present as f64 =>
        {
            format!(
                "column \"{name}\" has {} distinct values in {} rows: it looks like an identifier (a name or a key), and a model can memorize it instead of learning",
                keys.n_levels, keys.n_present
            )
        }
        DataType::Integer if keys.n_levels == keys.n_present => {
            let v: Vec<f64> = table
                .numeric_values(name)?
                .into_iter()
                .filter(|x| !x.is_nan())
                .collect();
            let (lo, hi) = v
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
                    (a.min(x), b.max(x))
                });
            if hi - lo + 1.0 != keys.n_present as f64 {
                return Ok(None);
            }
            format!(
                "column \"{name}\" holds consecutive whole numbers, a different one in every row ({lo} to {hi}): it looks like a row number, not a feature"
            )
        }
        _ => return Ok(None),
    };
    Ok(Some(Warning {
        kind: WarningKind::IdLike,
        column: Some(name.to_string()),
        candidate: None,
        message,
        hint,
    }))
}

/// The out-of-fold score of predicting the target from one column's keys alone (the
/// per-key class distribution or mean learned on each fold's fitting rows; keys unseen there
/// get the fitting rows' overall value), with the score's name: ROC AUC for binary targets,
/// balanced accuracy for multiclass, R² for regression. `None` when it cannot be computed.
fn single_feature_score(
    keys: &[u32],
    y: &Target,
    folds: &[(Vec<usize>, Vec<usize>)],
    target: &TargetInfo,
) -> Option<(f64, &'static str)> {
    match y {
        Target::Classes { labels, n_classes } => {
            let k = *n_classes;
            let mut oof = vec![vec![0.0; k]; labels.len()];
            for (fit, val) in folds {
                let mut counts: HashMap<u32, Vec<f64>> = HashMap::new();
                let mut prior = vec![0.0; k];
                for &r in fit {
                    counts.entry(keys[r]).or_insert_with(|| vec![0.0; k])[labels[r] as usize] +=
                        1.0;
                    prior[labels[r] as usize] += 1.0;
                }
                for &r in val {
                    let c = counts.get(&keys[r]).unwrap_or(&prior);
                    let total: f64 = c.iter().sum();
                    oof[r] = c.iter().map(|x| x / total.max(1.0)).collect();
                }
            }
            if target.task == Task::Binary {
                let scores: Vec<f64> = oof.iter().map(|p| p[1]).collect();
                auc(&scores, labels).map(|a| (a, "ROC AUC"))
            } else {
                let mut hit = vec![0.0; k];
                let mut n = vec![0.0; k];
                for (p, &l) in oof.iter().zip(labels) {
                    let arg = p
                        .iter()
                        .enumerate()
                        .fold(0, |b, (i, &v)| if v > p[b] { i } else { b });
                    n[l as usize] += 1.0;
                    if arg == l as usize {
                        hit[l as usize] += 1.0;
                    }
                }
                let present: Vec<f64> = hit
                    .iter()
                    .zip(&n)
                    .filter(|(_, n)| **n > 0.0)
                    .map(|(h, n)| h / n)
                    .collect();
                (!present.is_empty()).then(|| {
                    (
                        present.iter().sum::<f64>() / present.len() as f64,
                        "balanced accuracy",
                    )
                })
            }
        }
        Target::Real(v) => {
            let mut oof = vec![0.0; v.len()];
            for (fit, val) in folds {
                let mut sums: HashMap<u32, (f64, f64)> = HashMap::new();
                let (mut s, mut n) = (0.0, 0.0);
                for &r in fit {
                    let e = sums.entry(keys[r]).or_insert((0.0, 0.0));
                    e.0 += v[r];
                    e.1 += 1.0;
                    s += v[r];
                    n += 1.0;
                }
                for &r in val {
                    let (a, b) = sums.get(&keys[r]).copied().unwrap_or((s, n));
                    oof[r] = a / b.max(1.0);
                }
            }
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let ss_tot: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
            let ss_res: f64 = v.iter().zip(&oof).map(|(x, p)| (x - p) * (x - p)).sum();
            (ss_tot > 0.0).then(|| (1.0 - ss_res / ss_tot, "R²"))
        }
    }
}

/// ROC AUC of `scores` for class 1 (Mann-Whitney, ties counted half); `None` with one class.
fn auc(scores: &[f64], labels: &[u32]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut ranks = vec![0.0; scores.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &t in &idx[i..=j] {
            ranks[t] = r;
        }
        i = j + 1;
    }
    let n_pos = labels.iter().filter(|&&l| l == 1).count() as f64;
    let n_neg = labels.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return None;
    }
    let sum_pos: f64 = ranks
        .iter()
        .zip(labels)
        .filter(|(_, l)| **l == 1)
        .map(|(r, _)| r)
        .sum();
    Some((sum_pos - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg))
}

/// The cross-validation / holdout gap rule: a warning when the chosen candidate's holdout
/// score differs from its cross-validated mean by more than `max(3 · cv_std, 0.05 ·
/// max(1, |cv_mean|))` (3 standard deviations of the fold scores, and at least 0.05 on
/// scores like AUC, accuracy or R², 5 % of the score on unbounded losses like RMSE).
pub fn cv_holdout_gap(
    candidate: &str,
    metric: &str,
    cv_mean: f64,
    cv_std: f64,
    holdout: f64,
) -> Option<Warning> {
    if !(cv_mean.is_finite() && holdout.is_finite()) {
        return None;
    }
    let allowed = (3.0 * cv_std.max(0.0)).max(0.05 * cv_mean.abs().max(1.0));
    let gap = (holdout - cv_mean).abs();
    (gap > allowed).then(|| Warning {
        kind: WarningKind::CvHoldoutGap,
        column: None,
        candidate: Some(candidate.to_string()),
        message: format!(
            "holdout {metric} {holdout:.4} differs from the cross-validated {cv_mean:.4} ± {cv_std:.4} by {gap:.4} (more than the {allowed:.4} allowed): the holdout rows may differ from the training rows (a shift, a leak, or too few rows to tell)"
        ),
        hint: Some(
            "check how the held-out rows were chosen (data.test, test_fraction), and the leakage and id-like warnings"
                .into(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_half() {
        assert_eq!(auc(&[0.1, 0.9], &[0, 1]), Some(1.0));
        assert_eq!(auc(&[0.5, 0.5], &[0, 1]), Some(0.5));
        assert_eq!(auc(&[0.9, 0.1], &[0, 1]), Some(0.0));
        assert_eq!(auc(&[0.1, 0.2], &[1, 1]), None);
    }

    #[test]
    fn gap_rule() {
        assert!(cv_holdout_gap("m", "roc_auc", 0.80, 0.01, 0.84).is_none());
        assert!(cv_holdout_gap("m", "roc_auc", 0.80, 0.01, 0.90).is_some());
        // Wide folds widen the tolerance.
        assert!(cv_holdout_gap("m", "roc_auc", 0.80, 0.05, 0.90).is_none());
        // Unbounded losses: 5 % of the score.
        assert!(cv_holdout_gap("m", "rmse", 100.0, 1.0, 104.0).is_none());
        assert!(cv_holdout_gap("m", "rmse", 100.0, 1.0, 110.0).is_some());
    }
}
