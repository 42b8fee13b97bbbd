//! Recommendations grounded in one attribute's figures: which group, which rate, and which
//! mitigation the data supports. Nothing here is a fixed list: every sentence quotes the
//! numbers it rests on, and an attribute whose figures raise nothing gets no recommendation.

use serde::{Deserialize, Serialize};

use super::{AttributeReport, Estimate, FairnessOptions, GroupMetrics};

/// One finding and what to do about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// What the finding is about: `small_groups`, `undefined_rates`, `demographic_parity`,
    /// `equalized_odds`, `calibration` or `uncertain`.
    pub topic: String,
    /// The finding, with its numbers.
    pub finding: String,
    /// What to do, grounded in the finding.
    pub suggestion: String,
}

fn v(e: &Estimate) -> Option<f64> {
    e.value
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

/// The groups to compare: those large enough to judge, or all of them when none is.
fn judged(a: &AttributeReport) -> Vec<&GroupMetrics> {
    let big: Vec<&GroupMetrics> = a.groups.iter().filter(|g| !g.small).collect();
    if big.len() >= 2 {
        big
    } else {
        a.groups.iter().collect()
    }
}

/// A group and its value of some figure.
type Valued<'a> = (&'a GroupMetrics, f64);

/// The groups with the smallest and the largest value of `f` (None when fewer than two
/// groups have a value).
fn extremes<'a>(
    groups: &[&'a GroupMetrics],
    f: impl Fn(&GroupMetrics) -> Option<f64>,
) -> Option<(Valued<'a>, Valued<'a>)> {
    let vals: Vec<(&GroupMetrics, f64)> = groups
        .iter()
        .filter_map(|g| f(g).map(|x| (*g, x)))
        .collect();
    if vals.len() < 2 {
        return None;
    }
    let lo = vals.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1))?;
    let hi = vals.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1))?;
    Some((lo, hi))
}

/// The recommendations for one attribute's report.
pub fn recommendations(a: &AttributeReport, opts: &FairnessOptions) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let name = &a.attribute;
    let rec = |topic: &str, finding: String, suggestion: String| Recommendation {
        topic: topic.into(),
        finding,
        suggestion,
    };

    let small: Vec<String> = a
        .groups
        .iter()
        .filter(|g| g.small)
        .map(|g| format!("{} ({} rows)", g.group, g.count))
        .collect();
    if !small.is_empty() {
        out.push(rec(
            "small_groups",
            format!(
                "{} of {name}'s {} groups have fewer than {} rows: {}",
                small.len(),
                a.groups.len(),
                opts.min_group_size,
                small.join(", ")
            ),
            "their rates are too noisy to judge: collect more labelled rows for them, or merge \
             rare categories into a larger group before drawing conclusions"
                .into(),
        ));
    }

    let one_class: Vec<String> = a
        .groups
        .iter()
        .filter_map(|g| match v(&g.base_rate) {
            Some(0.0) => Some(format!("{} (no actual positives)", g.group)),
            Some(1.0) => Some(format!("{} (no actual negatives)", g.group)),
            _ => None,
        })
        .collect();
    if !one_class.is_empty() {
        out.push(rec(
            "undefined_rates",
            format!("{name}: {}", one_class.join(", ")),
            "TPR/FNR (no positives) or FPR (no negatives) are undefined there and reported as 0, \
             as Fairlearn does, so equalized odds and equal opportunity say nothing about these \
             groups: judge them by selection rate, or gather labelled rows of the missing class"
                .into(),
        ));
    }

    let groups = judged(a);
    let dp_failed = a.checks.iter().any(|c| {
        !c.passed
            && c.value.is_some()
            && (c.metric == "demographic_parity_difference" || c.metric == "disparate_impact_ratio")
    });
    if dp_failed && let Some(((lo, s_lo), (hi, s_hi))) = extremes(&groups, |g| v(&g.selection_rate))
    {
        let ratio = if s_hi > 0.0 {
            format!(", a ratio of {:.2}", s_lo / s_hi)
        } else {
            String::new()
        };
        let finding = format!(
            "{} is selected at {} and {} at {} (difference {:.3}{ratio}; bounds: difference ≤ {}, \
             ratio ≥ {})",
            lo.group,
            pct(s_lo),
            hi.group,
            pct(s_hi),
            s_hi - s_lo,
            opts.thresholds.max_demographic_parity_difference,
            opts.thresholds.min_disparate_impact_ratio
        );
        let suggestion = match (v(&lo.base_rate), v(&hi.base_rate)) {
            (Some(b_lo), Some(b_hi)) if b_hi - b_lo >= 0.5 * (s_hi - s_lo) => format!(
                "the labels differ too: {}'s actual positive rate is {} against {} for {}, so most \
                 of the gap is in the data. Equalizing selection rates (reweighing, `fairness: \
                 {{mitigation: {{method: reweighing, protected: {}}}}}` in the pipeline config, or \
                 per-group thresholds) will cost accuracy; if equal error rates are the aim, \
                 judge the equalized odds difference ({}) instead",
                lo.group,
                pct(b_lo),
                pct(b_hi),
                hi.group,
                a.columns.join(","),
                a.summary
                    .equalized_odds_difference
                    .value
                    .map_or("not computable".into(), |x| format!("{x:.3}"))
            ),
            (Some(b_lo), Some(b_hi)) => format!(
                "the labels do not explain it: {}'s actual positive rate is {} against {} for {}, \
                 so the model under-selects {} beyond its data. Reweighing (`fairness: \
                 {{mitigation: {{method: reweighing, protected: {}}}}}` in the pipeline config) \
                 balances the training rows of each group and label; per-group thresholds \
                 equalize selection directly",
                lo.group,
                pct(b_lo),
                pct(b_hi),
                hi.group,
                lo.group,
                a.columns.join(",")
            ),
            _ => "per-group decision thresholds equalize selection rates directly".into(),
        };
        out.push(rec("demographic_parity", finding, suggestion));
    }

    let eo = v(&a.summary.equalized_odds_difference);
    let bound = opts.thresholds.max_demographic_parity_difference;
    if let Some(eo) = eo.filter(|&x| x > bound) {
        let tpr = extremes(&groups, |g| {
            (v(&g.base_rate) != Some(0.0))
                .then(|| v(&g.true_positive_rate))
                .flatten()
        });
        let fpr = extremes(&groups, |g| {
            (v(&g.base_rate) != Some(1.0))
                .then(|| v(&g.false_positive_rate))
                .flatten()
        });
        let tpr_gap = tpr.map_or(0.0, |((_, a), (_, b))| b - a);
        let fpr_gap = fpr.map_or(0.0, |((_, a), (_, b))| b - a);
        let finding = match (tpr, fpr) {
            (Some(((lo, t_lo), (hi, t_hi))), _) if tpr_gap >= fpr_gap => format!(
                "equalized odds difference {eo:.3} (above {bound}) comes from the TPR: {} of {}'s \
                 actual positives are found against {} of {}'s: the model misses more of {}'s",
                pct(t_lo),
                lo.group,
                pct(t_hi),
                hi.group,
                lo.group
            ),
            (_, Some(((lo, f_lo), (hi, f_hi)))) => format!(
                "equalized odds difference {eo:.3} (above {bound}) comes from the FPR: {} of {}'s \
                 actual negatives are wrongly selected against {} of {}'s",
                pct(f_hi),
                hi.group,
                pct(f_lo),
                lo.group
            ),
            _ => format!("equalized odds difference {eo:.3} (above {bound})"),
        };
        out.push(rec(
            "equalized_odds",
            finding,
            "reweighing balances selection, not error rates, and can widen this gap: per-group \
             thresholds under an equalized-odds constraint (Fairlearn's ThresholdOptimizer \
             semantics, randomizing between two thresholds where the groups' ROC curves do not \
             meet) equalize TPR and FPR; check the groups' ROC curves first"
                .into(),
        ));
    }

    // Calibration: mean score against base rate, per group.
    let gaps: Vec<(&GroupMetrics, f64)> = groups
        .iter()
        .filter_map(|g| Some((*g, v(&g.mean_score)? - v(&g.base_rate)?)))
        .collect();
    if gaps.len() >= 2 {
        let lo = gaps.iter().min_by(|a, b| a.1.total_cmp(&b.1)).copied();
        let hi = gaps.iter().max_by(|a, b| a.1.total_cmp(&b.1)).copied();
        if let (Some((glo, lo)), Some((ghi, hi))) = (lo, hi)
            && hi - lo > 0.05
        {
            let say = |g: &GroupMetrics, gap: f64| {
                format!(
                    "{}'s mean score is {} against an actual rate of {} ({} by {})",
                    g.group,
                    pct(v(&g.mean_score).unwrap_or(f64::NAN)),
                    pct(v(&g.base_rate).unwrap_or(f64::NAN)),
                    if gap >= 0.0 { "over" } else { "under" },
                    pct(gap.abs())
                )
            };
            out.push(rec(
                "calibration",
                format!("{}; {}", say(ghi, hi), say(glo, lo)),
                "the same score means a different chance for each group, so one threshold treats \
                 them differently: calibrate per group (isotonic or Platt on each group's rows) \
                 before thresholding, or compare the reliability of each group before trusting \
                 the scores"
                    .into(),
            ));
        }
    }

    // An interval that straddles a bound: the data cannot tell pass from fail.
    if let Some(c) = a
        .checks
        .iter()
        .find(|c| c.metric == "demographic_parity_difference")
        && let (Some(value), Some([l, h])) = (c.value, a.summary.demographic_parity_difference.ci)
        && l <= c.threshold
        && c.threshold <= h
    {
        let fewest = groups.iter().min_by_key(|g| g.count);
        out.push(rec(
            "uncertain",
            format!(
                "the demographic parity difference {value:.3} has the 95 % interval [{l:.3}, \
                 {h:.3}], which contains the bound {}",
                c.threshold
            ),
            format!(
                "the data cannot tell pass from fail: more labelled rows{} would narrow the \
                 interval",
                fewest.map_or(String::new(), |g| format!(
                    ", above all for {} ({} rows)",
                    g.group, g.count
                ))
            ),
        ));
    }
    out
}
