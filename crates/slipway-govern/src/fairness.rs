//! Fairness metrics of a binary classifier by protected group, with Fairlearn's definitions.
//!
//! [`evaluate`] takes the true and predicted outcomes (`true` = the positive class), optional
//! scores (the positive class's probability) and one or more protected attribute columns, and
//! reports for every attribute (and, when asked, for the intersection of all of them):
//!
//! - per group: count, selection rate, accuracy, TPR, FPR, FNR, precision, ROC AUC;
//! - between groups: demographic parity difference and ratio, equalized odds difference and
//!   ratio (Fairlearn's default `agg="worst_case"`: the larger TPR/FPR difference, the smaller
//!   TPR/FPR ratio), equal opportunity difference (the TPR difference) and the disparate
//!   impact ratio (the demographic parity ratio) with the four-fifths rule;
//! - a percentile bootstrap confidence interval for every one of them.
//!
//! Definitions follow `fairlearn.metrics` (0.15) exactly, including its conventions for
//! undefined rates: a rate whose denominator is zero (TPR and FNR of a group without actual
//! positives, FPR without actual negatives, precision without predicted positives) is 0, as
//! scikit-learn's `confusion_matrix(normalize="true")` and `zero_division` make it, and the
//! group carries a note saying so. ROC AUC is reported as not computable (with the reason)
//! for a group holding one class only. A ratio whose groups' largest value is 0 (0/0) is
//! not computable either. The equalized odds ratio is the smaller of the TPR and FPR ratios
//! as Fairlearn takes it: not computable when the TPR ratio is 0/0, the TPR ratio when only
//! the FPR ratio is.
//!
//! A missing protected value is a group of its own, named [`MISSING_GROUP`]. Groups smaller
//! than [`FairnessOptions::min_group_size`] are flagged `small`.
//!
//! Everything is computed from streamed counts ([`FairnessAccumulator`], in [`stream`]): the
//! rows go in a batch at a time and only per-group counts, score sums and a bounded score
//! tally are kept, so the data need not fit in memory. [`evaluate`] is one push and a finish.
//!
//! The bootstrap is a seeded Poisson bootstrap (every row weighs Poisson(1) in a replicate),
//! drawn from the final counts: the same seed gives the same intervals for any batching and
//! on any number of threads, because replicate `b` draws from its own ChaCha stream. See
//! [`stream`] for how, and for the bound on memory.

mod recommend;
pub mod stream;

pub use recommend::{Recommendation, recommendations};
pub use stream::{Batch, FairnessAccumulator, MAX_DISTINCT_SCORES};

use serde::{Deserialize, Serialize};

/// The name of the group of rows whose protected value is missing.
pub const MISSING_GROUP: &str = "(missing)";

/// What separates the values of an intersectional group's name (`Female | White`).
pub const INTERSECTION_SEPARATOR: &str = " | ";

/// The between-group summaries by their names in run metrics and policies
/// (`fairness.<column>.<summary>`).
pub const SUMMARIES: [&str; 6] = [
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "equal_opportunity_difference",
    "disparate_impact_ratio",
];

/// An attribute's name as a run metric's key segment. MLflow metric names take letters,
/// digits, `_ - . /` and spaces: an intersection's ` & ` becomes `_and_`, anything else `_`.
pub fn metric_key(attribute: &str) -> String {
    attribute
        .replace(" & ", "_and_")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "_-./".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Bad input to [`evaluate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

/// The result of [`evaluate`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Pass/fail bounds on the between-group summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Largest acceptable demographic parity difference (default 0.1, the seed's
    /// `FairnessEvaluator` bound).
    pub max_demographic_parity_difference: f64,
    /// Smallest acceptable disparate impact ratio (default 0.8, the four-fifths rule).
    pub min_disparate_impact_ratio: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_demographic_parity_difference: 0.1,
            min_disparate_impact_ratio: 0.8,
        }
    }
}

/// How [`evaluate`] runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessOptions {
    /// Groups with fewer rows are flagged `small` (default 30).
    pub min_group_size: usize,
    /// Bootstrap resamples (default 1000; 0 turns the intervals off).
    pub bootstrap: usize,
    /// The bootstrap's seed.
    pub seed: u64,
    /// The intervals' confidence level (default 0.95: the 2.5 % and 97.5 % percentiles).
    pub confidence: f64,
    /// Also analyse the intersection of all protected columns (when there are several).
    pub intersect: bool,
    /// The pass/fail bounds.
    pub thresholds: Thresholds,
}

impl Default for FairnessOptions {
    fn default() -> Self {
        FairnessOptions {
            min_group_size: 30,
            bootstrap: 1000,
            seed: 0,
            confidence: 0.95,
            intersect: false,
            thresholds: Thresholds::default(),
        }
    }
}

/// One protected attribute column: its name and each row's value (`None`: missing).
#[derive(Debug, Clone, Copy)]
pub struct Protected<'a> {
    /// The column's name.
    pub name: &'a str,
    /// One value per row.
    pub values: &'a [Option<String>],
}

/// A figure with its bootstrap interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The value on the data (`None`: not computable, see `note`).
    pub value: Option<f64>,
    /// The percentile bootstrap interval `[low, high]` (absent without bootstrap, or when
    /// no resample gave a value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<[f64; 2]>,
    /// Why the value is missing or what convention gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The figures of one group.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupMetrics {
    /// The group's name (values joined by [`INTERSECTION_SEPARATOR`] for an intersection).
    pub group: String,
    /// Its value in each column of the attribute.
    pub values: Vec<String>,
    /// Rows in the group.
    pub count: usize,
    /// Fewer rows than [`FairnessOptions::min_group_size`]: too small to judge.
    pub small: bool,
    /// Share of rows predicted positive.
    pub selection_rate: Estimate,
    /// Share of rows predicted right.
    pub accuracy: Estimate,
    /// TP / (TP + FN) (0 without actual positives, as Fairlearn).
    pub true_positive_rate: Estimate,
    /// FP / (FP + TN) (0 without actual negatives, as Fairlearn).
    pub false_positive_rate: Estimate,
    /// FN / (TP + FN) (0 without actual positives, as Fairlearn).
    pub false_negative_rate: Estimate,
    /// TP / (TP + FP) (0 without predicted positives, as scikit-learn's `zero_division`).
    pub precision: Estimate,
    /// ROC AUC of the scores (absent without scores or with one class only).
    pub roc_auc: Estimate,
    /// Share of rows whose label is the positive class (the group's base rate).
    #[serde(default)]
    pub base_rate: Estimate,
    /// Mean score: the positive rate the model's probabilities promise (absent without
    /// scores). Well calibrated for the group when it is close to `base_rate`.
    #[serde(default)]
    pub mean_score: Estimate,
    /// Mean squared difference of score and outcome (`sklearn.metrics.brier_score_loss`).
    #[serde(default)]
    pub brier_score: Estimate,
    /// Expected calibration error: over 10 equal-width score bins (scikit-learn's
    /// `calibration_curve(strategy="uniform")` binning), the row-weighted mean of
    /// |mean score − share of positives|.
    #[serde(default)]
    pub calibration_error: Estimate,
    /// What a reader should know about the group's figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The between-group summaries of one attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Largest minus smallest selection rate.
    pub demographic_parity_difference: Estimate,
    /// Smallest over largest selection rate.
    pub demographic_parity_ratio: Estimate,
    /// The larger of the TPR and FPR differences.
    pub equalized_odds_difference: Estimate,
    /// The smaller of the TPR and FPR ratios.
    pub equalized_odds_ratio: Estimate,
    /// Largest minus smallest TPR.
    pub equal_opportunity_difference: Estimate,
    /// The demographic parity ratio under its legal name.
    pub disparate_impact_ratio: Estimate,
    /// The disparate impact ratio is at least 0.8 (absent when it is not computable).
    pub four_fifths_rule: Option<bool>,
}

/// One pass/fail check against a [`Thresholds`] bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// The summary checked.
    pub metric: String,
    /// `max` or `min`.
    pub bound: String,
    /// The bound's value.
    pub threshold: f64,
    /// The summary's value (absent: not computable, which fails).
    pub value: Option<f64>,
    /// Whether the value is within the bound.
    pub passed: bool,
}

/// Everything about one attribute (one protected column, or the intersection).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttributeReport {
    /// The attribute's name: the column, or the columns joined by ` & `.
    pub attribute: String,
    /// The columns it combines.
    pub columns: Vec<String>,
    /// Its groups, sorted by name.
    pub groups: Vec<GroupMetrics>,
    /// The between-group summaries.
    pub summary: Summary,
    /// The checks against the thresholds.
    pub checks: Vec<Check>,
    /// Every check passed.
    pub passed: bool,
    /// What the figures suggest doing, each grounded in the numbers ([`recommendations`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recommendations: Vec<Recommendation>,
}

/// What [`evaluate`] found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FairnessReport {
    /// Rows evaluated.
    pub rows: usize,
    /// Whether ROC AUC could be computed (scores were given).
    pub has_scores: bool,
    /// The options it ran with.
    pub options: FairnessOptions,
    /// One report per protected column, then the intersection when asked.
    pub attributes: Vec<AttributeReport>,
    /// Every attribute passed every check.
    pub passed: bool,
}

/// Computes the fairness metrics of binary predictions by protected group.
///
/// `y_true[i]` and `y_pred[i]` say whether row `i` is / is predicted the positive class;
/// `scores[i]` is its positive-class score. Errors name the input whose length or value is
/// wrong.
pub fn evaluate(
    y_true: &[bool],
    y_pred: &[bool],
    scores: Option<&[f64]>,
    protected: &[Protected<'_>],
    opts: &FairnessOptions,
) -> Result<FairnessReport> {
    let n = y_true.len();
    if n == 0 {
        return Err(Error("no rows to evaluate".into()));
    }
    let columns: Vec<&str> = protected.iter().map(|p| p.name).collect();
    let values: Vec<&[Option<String>]> = protected.iter().map(|p| p.values).collect();
    let mut acc = FairnessAccumulator::new(&columns, opts)?;
    acc.push(&Batch {
        offset: 0,
        y_true,
        y_pred,
        scores,
        protected: &values,
    })?;
    acc.finish()
}

/// Per-group figures: selection rate, accuracy, TPR, FPR, FNR, precision, ROC AUC, base rate,
/// mean score, Brier score, calibration error.
const FIGURES: usize = 11;

/// Bins of the calibration error (scikit-learn's `calibration_curve` default `n_bins`).
const CALIBRATION_BINS: usize = 10;

/// The calibration bin of a score in [0, 1], as `np.searchsorted(linspace(0, 1, 11)[1:-1],
/// score)`: the number of inner edges `i · 0.1` strictly below it.
fn calibration_bin(score: f64) -> usize {
    (1..CALIBRATION_BINS)
        .take_while(|&i| (i as f64) * 0.1 < score)
        .count()
}

/// Score sums of a group: Σw·s, Σw·(s − y)², and per calibration bin (Σw, Σw·s, Σw·y).
#[derive(Debug, Clone, Copy, Default)]
struct ScoreSums {
    score: f64,
    brier: f64,
    bins: [[f64; 3]; CALIBRATION_BINS],
}

/// Confusion counts (weights are whole multiplicities in a resample).
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    tp: f64,
    fp: f64,
    tn: f64,
    fn_: f64,
}

/// Share over total, 0 when the total is 0 (scikit-learn's convention).
fn share(num: f64, den: f64) -> f64 {
    if den > 0.0 { num / den } else { 0.0 }
}

impl Counts {
    fn n(&self) -> f64 {
        self.tp + self.fp + self.tn + self.fn_
    }
    /// selection rate, accuracy, TPR, FPR, FNR, precision.
    fn rates(&self) -> [f64; 6] {
        let n = self.n();
        let pos = self.tp + self.fn_;
        let neg = self.fp + self.tn;
        [
            share(self.tp + self.fp, n),
            share(self.tp + self.tn, n),
            share(self.tp, pos),
            share(self.fp, neg),
            share(self.fn_, pos),
            share(self.tp, self.tp + self.fp),
        ]
    }
}

/// The per-group figures of one sample (NaN: not computable): 6 rates, AUC, base rate and,
/// with scores, the calibration figures.
fn group_figures(c: &Counts, auc: Option<f64>, sums: &ScoreSums, scored: bool) -> [f64; FIGURES] {
    let r = c.rates();
    let n = c.n();
    let base = share(c.tp + c.fn_, n);
    let (mean, brier, ece) = if scored && n > 0.0 {
        let ece = sums
            .bins
            .iter()
            .filter(|b| b[0] > 0.0)
            .map(|b| b[0] / n * (b[1] / b[0] - b[2] / b[0]).abs())
            .sum();
        (sums.score / n, sums.brier / n, ece)
    } else {
        (f64::NAN, f64::NAN, f64::NAN)
    };
    [
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        auc.unwrap_or(f64::NAN),
        base,
        mean,
        brier,
        ece,
    ]
}

/// Difference (max − min) and ratio (min / max, NaN for 0/0) of one rate over groups
/// (NaN: a group absent from a bootstrap replicate, left out).
fn spread(vals: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| !v.is_nan()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let ratio = if hi > 0.0 { lo / hi } else { f64::NAN };
    (hi - lo, ratio)
}

/// The 5 summaries (dp diff, dp ratio, eo diff, eo ratio, eop diff) from per-group figures.
fn summaries(figs: &[[f64; FIGURES]]) -> [f64; 5] {
    let (dp_d, dp_r) = spread(figs.iter().map(|f| f[0]));
    let (tpr_d, tpr_r) = spread(figs.iter().map(|f| f[2]));
    let (fpr_d, fpr_r) = spread(figs.iter().map(|f| f[3]));
    // Fairlearn's worst case is Python's `min([tpr_ratio, fpr_ratio])`: NaN when the TPR
    // ratio is 0/0, the TPR ratio when only the FPR ratio is.
    let eo_r = if tpr_r.is_nan() {
        f64::NAN
    } else if fpr_r.is_nan() {
        tpr_r
    } else {
        tpr_r.min(fpr_r)
    };
    [dp_d, dp_r, tpr_d.max(fpr_d), eo_r, tpr_d]
}

/// Linear-interpolation percentile (numpy's default) of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The interval of the finite values among `samples`.
fn interval(samples: impl Iterator<Item = f64>, confidence: f64) -> Option<[f64; 2]> {
    let mut v: Vec<f64> = samples.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let a = (1.0 - confidence) / 2.0;
    Some([percentile(&v, a), percentile(&v, 1.0 - a)])
}

fn estimate(value: f64, ci: Option<[f64; 2]>, note: Option<String>) -> Estimate {
    Estimate {
        value: value.is_finite().then_some(value),
        ci,
        note,
    }
}

/// One group's point figures, as [`stream`] found them.
struct GroupPoint {
    /// Its value in each column of the attribute.
    values: Vec<String>,
    /// Rows in it.
    count: usize,
    /// Its confusion counts.
    counts: Counts,
    /// Its figures (see [`group_figures`]).
    figures: [f64; FIGURES],
    /// Notes on how they were computed (a truncated score tally).
    notes: Vec<String>,
}

/// The report of one attribute from its groups' point figures and summaries, and the
/// bootstrap replicates' figures (per group, NaN where a group is absent) and summaries.
fn attribute_report(
    columns: Vec<String>,
    gs: Vec<GroupPoint>,
    point_sum: [f64; 5],
    boots: &[(Vec<[f64; FIGURES]>, [f64; 5])],
    opts: &FairnessOptions,
    scored: bool,
    probabilities: bool,
) -> AttributeReport {
    let ci_group = |gi: usize, k: usize| {
        (opts.bootstrap > 0)
            .then(|| interval(boots.iter().map(|(f, _)| f[gi][k]), opts.confidence))
            .flatten()
    };
    let ci_sum = |k: usize| {
        (opts.bootstrap > 0)
            .then(|| interval(boots.iter().map(|(_, s)| s[k]), opts.confidence))
            .flatten()
    };
    let groups: Vec<GroupMetrics> = gs
        .into_iter()
        .enumerate()
        .map(|(gi, g)| {
            let f = &g.figures;
            let c = &g.counts;
            let pos = c.tp + c.fn_;
            let neg = c.fp + c.tn;
            let mut notes = Vec::new();
            let count = g.count;
            let small = count < opts.min_group_size;
            if small {
                notes.push(format!(
                    "only {count} row{}: fewer than {}, too small to judge",
                    if count == 1 { "" } else { "s" },
                    opts.min_group_size
                ));
            }
            let zero = |what: &str| Some(format!("{what}: 0 by Fairlearn's convention"));
            let no_pos = (pos == 0.0).then(|| "no actual positives".to_string());
            let no_neg = (neg == 0.0).then(|| "no actual negatives".to_string());
            let no_sel = (c.tp + c.fp == 0.0).then(|| "no predicted positives".to_string());
            if let Some(m) = &no_pos {
                notes.push(format!("{m}: TPR and FNR are undefined (reported as 0)"));
            }
            if let Some(m) = &no_neg {
                notes.push(format!("{m}: FPR is undefined (reported as 0)"));
            }
            let no_scores = if !scored {
                Some("no scores given".to_string())
            } else if !probabilities {
                Some("scores outside [0, 1] are not probabilities: calibration not computed".into())
            } else {
                None
            };
            let auc_note = if !scored {
                Some("no scores given".to_string())
            } else if pos == 0.0 || neg == 0.0 {
                Some("one class only in this group: ROC AUC is not defined".to_string())
            } else {
                None
            };
            let auc_note = auc_note.or_else(|| g.notes.first().cloned());
            notes.extend(g.notes);
            GroupMetrics {
                group: g.values.join(INTERSECTION_SEPARATOR),
                values: g.values,
                count,
                small,
                selection_rate: estimate(f[0], ci_group(gi, 0), None),
                accuracy: estimate(f[1], ci_group(gi, 1), None),
                true_positive_rate: estimate(
                    f[2],
                    ci_group(gi, 2),
                    no_pos.as_deref().and_then(zero),
                ),
                false_positive_rate: estimate(
                    f[3],
                    ci_group(gi, 3),
                    no_neg.as_deref().and_then(zero),
                ),
                false_negative_rate: estimate(
                    f[4],
                    ci_group(gi, 4),
                    no_pos.as_deref().and_then(zero),
                ),
                precision: estimate(f[5], ci_group(gi, 5), no_sel.as_deref().and_then(zero)),
                roc_auc: estimate(f[6], ci_group(gi, 6), auc_note),
                base_rate: estimate(f[7], ci_group(gi, 7), None),
                mean_score: estimate(f[8], ci_group(gi, 8), no_scores.clone()),
                brier_score: estimate(f[9], ci_group(gi, 9), no_scores.clone()),
                calibration_error: estimate(f[10], ci_group(gi, 10), no_scores.clone()),
                notes,
            }
        })
        .collect();
    let zero_ratio = |v: f64, what: &str| {
        (!v.is_finite()).then(|| format!("0/0: every group's {what} is 0, the ratio is undefined"))
    };
    let dp_ratio_note = zero_ratio(point_sum[1], "selection rate");
    let summary = Summary {
        demographic_parity_difference: estimate(point_sum[0], ci_sum(0), None),
        demographic_parity_ratio: estimate(point_sum[1], ci_sum(1), dp_ratio_note.clone()),
        equalized_odds_difference: estimate(point_sum[2], ci_sum(2), None),
        equalized_odds_ratio: estimate(
            point_sum[3],
            ci_sum(3),
            zero_ratio(point_sum[3], "TPR or FPR"),
        ),
        equal_opportunity_difference: estimate(point_sum[4], ci_sum(4), None),
        disparate_impact_ratio: estimate(point_sum[1], ci_sum(1), dp_ratio_note),
        four_fifths_rule: point_sum[1].is_finite().then(|| point_sum[1] >= 0.8),
    };
    let t = &opts.thresholds;
    let checks = vec![
        check(
            "demographic_parity_difference",
            "max",
            t.max_demographic_parity_difference,
            summary.demographic_parity_difference.value,
        ),
        check(
            "disparate_impact_ratio",
            "min",
            t.min_disparate_impact_ratio,
            summary.disparate_impact_ratio.value,
        ),
    ];
    let mut report = AttributeReport {
        attribute: columns.join(" & "),
        columns,
        groups,
        summary,
        passed: checks.iter().all(|c| c.passed),
        checks,
        recommendations: Vec::new(),
    };
    report.recommendations = recommendations(&report, opts);
    report
}

fn check(metric: &str, bound: &str, threshold: f64, value: Option<f64>) -> Check {
    let passed = match (bound, value) {
        (_, None) => false,
        ("max", Some(v)) => v <= threshold,
        (_, Some(v)) => v >= threshold,
    };
    Check {
        metric: metric.into(),
        bound: bound.into(),
        threshold,
        value,
        passed,
    }
}
