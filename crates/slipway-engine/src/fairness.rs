//! Fairness by protected group in the lifecycle: the held-out rows of a training run are
//! evaluated by every `roles: {protected: [...]}` column ([`holdout`]), the results become
//! run metrics (`fairness.<column>.<summary>`, which promotion policies bound) and a section
//! of the training report; `slipway fairness` renders its report with the same sections
//! ([`report_sections`]). The metrics themselves are `slipway_govern::fairness`'s.

use slipway_data::Table;
use slipway_data::html::{self, Page};
use slipway_govern::fairness::{
    self, AttributeReport, Estimate, FairnessOptions, FairnessReport, GroupMetrics, Protected,
};
use slipway_learn::{Prediction, Target};

use crate::{Error, Result};

/// Fairness of a binary classifier's held-out predictions by each protected column of
/// `test` (and their intersection when there are several); `None` without protected
/// columns. `predicted` holds each row's predicted class code (the threshold applied) and
/// `pred` the probabilities; class code 1 is the positive class.
pub fn holdout(
    protected: &[String],
    test: &Table,
    y: &Target,
    pred: &Prediction,
    predicted: &[u32],
    seed: u64,
) -> Result<Option<FairnessReport>> {
    if protected.is_empty() {
        return Ok(None);
    }
    let (
        Target::Classes {
            labels,
            n_classes: 2,
        },
        Prediction::Probabilities(p),
    ) = (y, pred)
    else {
        return Ok(None);
    };
    let mut values = Vec::with_capacity(protected.len());
    for name in protected {
        let column: Vec<Option<String>> = (0..test.n_rows())
            .map(|r| test.display_value(name, r))
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| Error::Internal(format!("protected column \"{name}\": {e}")))?;
        values.push(column);
    }
    let cols: Vec<Protected<'_>> = protected
        .iter()
        .zip(&values)
        .map(|(name, values)| Protected { name, values })
        .collect();
    let y_true: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
    let y_pred: Vec<bool> = predicted.iter().map(|&c| c == 1).collect();
    let opts = FairnessOptions {
        seed,
        intersect: protected.len() > 1,
        ..FairnessOptions::default()
    };
    fairness::evaluate(&y_true, &y_pred, Some(p.col(1)), &cols, &opts)
        .map(Some)
        .map_err(|e| Error::Internal(format!("fairness of the held-out rows: {e}")))
}

/// Run metrics of a fairness report: `fairness.<attribute>.<summary>` for each attribute
/// (an intersection's name joins its columns with `&`) and each computable summary.
pub fn metrics(report: &FairnessReport) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for a in &report.attributes {
        let s = &a.summary;
        let values = [
            &s.demographic_parity_difference,
            &s.demographic_parity_ratio,
            &s.equalized_odds_difference,
            &s.equalized_odds_ratio,
            &s.equal_opportunity_difference,
            &s.disparate_impact_ratio,
        ];
        for (name, e) in fairness::SUMMARIES.iter().zip(values) {
            if let Some(v) = e.value {
                let key = fairness::metric_key(&a.attribute);
                out.push((format!("fairness.{key}.{name}"), v));
            }
        }
    }
    out
}

/// Horizontal bars of one rate per group with their interval whiskers (inline SVG).
fn rate_chart(a: &AttributeReport, title: &str, pick: fn(&GroupMetrics) -> &Estimate) -> String {
    let row_h = 22.0;
    let left = 180.0;
    let width = 420.0;
    let h = 40.0 + row_h * a.groups.len() as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{h}\" role=\"img\"><text x=\"4\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{}</text>",
        left + width + 60.0,
        html::escape(title)
    );
    for x in [0.0, 0.5, 1.0] {
        let px = left + x * width;
        svg.push_str(&format!(
            "<line x1=\"{px}\" y1=\"24\" x2=\"{px}\" y2=\"{}\" stroke=\"#ccc\"/><text x=\"{px}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{x}</text>",
            h - 12.0,
            h - 2.0
        ));
    }
    for (i, g) in a.groups.iter().enumerate() {
        let y = 28.0 + row_h * i as f64;
        let e = pick(g);
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y + 12.0,
            html::escape(&g.group)
        ));
        if let Some(v) = e.value {
            let fill = if g.small { "#e8a33d" } else { "#4c78a8" };
            svg.push_str(&format!(
                "<rect x=\"{left}\" y=\"{y}\" width=\"{:.1}\" height=\"14\" fill=\"{fill}\"><title>{}: {v:.4}</title></rect>",
                v * width,
                html::escape(&g.group)
            ));
            if let Some([lo, hi]) = e.ci {
                let (x0, x1) = (left + lo * width, left + hi * width);
                let ym = y + 7.0;
                svg.push_str(&format!(
                    "<line x1=\"{x0:.1}\" y1=\"{ym}\" x2=\"{x1:.1}\" y2=\"{ym}\" stroke=\"#000\"/><line x1=\"{x0:.1}\" y1=\"{}\" x2=\"{x0:.1}\" y2=\"{}\" stroke=\"#000\"/><line x1=\"{x1:.1}\" y1=\"{}\" x2=\"{x1:.1}\" y2=\"{}\" stroke=\"#000\"/>",
                    ym - 4.0, ym + 4.0, ym - 4.0, ym + 4.0
                ));
            }
            svg.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"10\">{v:.3}</text>",
                left + width + 6.0,
                y + 11.0
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The sections of a fairness report: a summary, then per attribute its summaries with
/// their checks, rate charts with intervals, and the group table.
///
/// `heading` names the summary section (`Summary` in a report of its own, `Fairness` inside
/// another); each attribute's section follows as `By <attribute>` (`Fairness by sex`).
pub fn report_sections(
    page: &mut Page,
    r: &FairnessReport,
    source: &str,
    positive: &str,
    notes: &[String],
    suffix: &str,
    heading: &str,
) {
    let verdict = if r.passed {
        "<p class=\"ok\">Every check passed.</p>".to_string()
    } else {
        "<p class=\"fail\">Some checks failed.</p>".to_string()
    };
    let mut intro = format!(
        "{verdict}<p>{} rows, {}, positive class <b>{}</b>; intervals: {} bootstrap resamples within each group (seed {}), 95 % percentile. Definitions: Fairlearn's. A missing protected value is the group <b>{}</b>; groups under {} rows are flagged small.</p>",
        r.rows,
        html::escape(source),
        html::escape(positive),
        r.options.bootstrap,
        r.options.seed,
        fairness::MISSING_GROUP,
        r.options.min_group_size
    );
    for n in notes {
        intro.push_str(&format!("<p>{}</p>", html::escape(n)));
    }
    page.section(&format!("{heading}{suffix}"), intro);
    let by = if heading == "Summary" {
        "By".to_string()
    } else {
        format!("{heading} by")
    };
    for a in &r.attributes {
        let rows: Vec<Vec<String>> = a
            .groups
            .iter()
            .map(|g| {
                vec![
                    g.group.clone(),
                    g.count.to_string(),
                    fci(&g.selection_rate),
                    fci(&g.accuracy),
                    fci(&g.true_positive_rate),
                    fci(&g.false_positive_rate),
                    fci(&g.false_negative_rate),
                    fci(&g.precision),
                    fci(&g.roc_auc),
                    fci(&g.base_rate),
                    fci(&g.mean_score),
                    fci(&g.brier_score),
                    fci(&g.calibration_error),
                    g.notes.join("; "),
                ]
            })
            .collect();
        let groups = html::table(
            &[
                "group",
                "count",
                "selection rate",
                "accuracy",
                "TPR",
                "FPR",
                "FNR",
                "precision",
                "ROC AUC",
                "base rate",
                "mean score",
                "Brier score",
                "calibration error",
                "notes",
            ],
            &rows,
        );
        let s = &a.summary;
        let mut srows: Vec<Vec<String>> = [
            (
                "demographic parity difference",
                &s.demographic_parity_difference,
            ),
            ("demographic parity ratio", &s.demographic_parity_ratio),
            (
                "equalized odds difference (worst case)",
                &s.equalized_odds_difference,
            ),
            ("equalized odds ratio (worst case)", &s.equalized_odds_ratio),
            (
                "equal opportunity difference",
                &s.equal_opportunity_difference,
            ),
            ("disparate impact ratio", &s.disparate_impact_ratio),
        ]
        .iter()
        .map(|(n, e)| vec![n.to_string(), fci(e), String::new()])
        .collect();
        for c in &a.checks {
            srows.push(vec![
                format!(
                    "{} {} {}",
                    c.metric,
                    if c.bound == "max" { "≤" } else { "≥" },
                    c.threshold
                ),
                c.value
                    .map_or("not computable".into(), |v| format!("{v:.3}")),
                if c.passed { "PASS" } else { "FAIL" }.into(),
            ]);
        }
        let summary = html::table(&["summary", "value [95 % CI]", "check"], &srows);
        let charts = format!(
            "{}{}{}",
            rate_chart(a, "selection rate", |g| &g.selection_rate),
            rate_chart(a, "true positive rate", |g| &g.true_positive_rate),
            rate_chart(a, "false positive rate", |g| &g.false_positive_rate)
        );
        let advice = if a.recommendations.is_empty() {
            String::new()
        } else {
            let items: String = a
                .recommendations
                .iter()
                .map(|r| {
                    format!(
                        "<li><b>{}</b>: {}. {}.</li>",
                        html::escape(&r.topic.replace('_', " ")),
                        html::escape(&r.finding),
                        html::escape(&r.suggestion)
                    )
                })
                .collect();
            format!("<h3>Recommendations</h3><ul>{items}</ul>")
        };
        page.section(
            &format!("{by} {}{suffix}", a.attribute),
            format!("{summary}{advice}<div>{charts}</div>{groups}"),
        );
    }
}

/// An estimate as `value [low, high]`, or why it is missing.
pub fn fci(e: &Estimate) -> String {
    match (e.value, e.ci) {
        (Some(v), Some([lo, hi])) => format!("{v:.3} [{lo:.3}, {hi:.3}]"),
        (Some(v), None) => format!("{v:.3}"),
        (None, _) => format!("– ({})", e.note.as_deref().unwrap_or("not computable")),
    }
}
