//! Holdout evaluation of a fitted pipeline, and the training report (HTML with plots; the
//! JSON twin is [`crate::TrainOutcome`] itself).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use slipway_data::html::{self, ChartOptions, Page, Series};
use slipway_data::profile::Profile;
use slipway_learn::calibration::{CalibrationCurve, CalibrationMethod, calibration_curve};
use slipway_learn::metrics::{self, Metric};
use slipway_learn::pipeline::FittedPipeline;
use slipway_learn::{Matrix, Prediction, Predictor, Target};

use slipway_learn::threshold::TunedThreshold;

use crate::Result;
use crate::train::{SearchResult, TrainOutcome};

/// Most points kept per curve (curves are thinned evenly beyond this; the metrics are
/// computed on every point).
const MAX_CURVE_POINTS: usize = 800;

/// A confusion matrix with its class labels (rows: true class, columns: predicted).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Class labels in code order.
    pub labels: Vec<String>,
    /// Counts.
    pub counts: Vec<Vec<u64>>,
}

/// The holdout evaluation of the chosen model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evaluation {
    /// Every metric that applies, by name.
    pub metrics: BTreeMap<String, f64>,
    /// ROC curve `(fpr, tpr)` for binary tasks.
    pub roc_curve: Option<Vec<(f64, f64)>>,
    /// Precision-recall curve `(recall, precision)` for binary tasks.
    pub pr_curve: Option<Vec<(f64, f64)>>,
    /// Confusion matrix for classification.
    pub confusion_matrix: Option<ConfusionMatrix>,
    /// scikit-learn-style classification report text.
    pub classification_report: Option<String>,
    /// Feature importance, largest first.
    pub feature_importance: Vec<(String, f64)>,
    /// Histogram of residuals (actual − predicted) for regression: `(edges, counts)`.
    pub residuals: Option<(Vec<f64>, Vec<u64>)>,
}

/// Calibration of the chosen model, measured on the held-out rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CalibrationReport {
    /// `sigmoid` or `isotonic`.
    pub method: CalibrationMethod,
    /// Reliability curve of the positive class before calibration (binary only; 10 uniform
    /// bins).
    pub curve_before: Option<CalibrationCurve>,
    /// The same after calibration.
    pub curve_after: Option<CalibrationCurve>,
    /// Holdout Brier score before calibration.
    pub brier_before: Option<f64>,
    /// Holdout Brier score after calibration.
    pub brier_after: Option<f64>,
    /// Holdout log loss before calibration.
    pub log_loss_before: Option<f64>,
    /// Holdout log loss after calibration.
    pub log_loss_after: Option<f64>,
}

/// Bins of the reliability diagram.
const CALIBRATION_BINS: usize = 10;

/// Compares holdout probabilities before and after calibration.
pub fn calibration_report(
    method: CalibrationMethod,
    before: &Prediction,
    after: &Prediction,
    y: &Target,
) -> Result<CalibrationReport> {
    let score = |m: Metric, p: &Prediction| m.score(y, p).ok();
    let mut r = CalibrationReport {
        method,
        curve_before: None,
        curve_after: None,
        brier_before: score(Metric::Brier, before),
        brier_after: score(Metric::Brier, after),
        log_loss_before: score(Metric::LogLoss, before),
        log_loss_after: score(Metric::LogLoss, after),
    };
    if let (
        Target::Classes {
            labels,
            n_classes: 2,
        },
        Prediction::Probabilities(b),
        Prediction::Probabilities(a),
    ) = (y, before, after)
    {
        let pos: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
        let clip = |v: &[f64]| -> Vec<f64> { v.iter().map(|p| p.clamp(0.0, 1.0)).collect() };
        r.curve_before = Some(calibration_curve(&pos, &clip(b.col(1)), CALIBRATION_BINS)?);
        r.curve_after = Some(calibration_curve(&pos, &clip(a.col(1)), CALIBRATION_BINS)?);
    }
    Ok(r)
}

fn thin(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if points.len() <= MAX_CURVE_POINTS {
        return points;
    }
    let step = points.len() as f64 / MAX_CURVE_POINTS as f64;
    let last = points[points.len() - 1];
    let mut out: Vec<(f64, f64)> = (0..MAX_CURVE_POINTS)
        .map(|i| points[(i as f64 * step) as usize])
        .collect();
    out.push(last);
    out
}

/// Evaluates a prediction of held-out rows.
pub fn evaluate(pipeline: &FittedPipeline, y: &Target, pred: &Prediction) -> Result<Evaluation> {
    evaluate_with_codes(pipeline, y, pred, None)
}

/// [`evaluate`] with the rows' predicted class codes given (a fairness mixture draws its
/// labels from the rows, which the probabilities alone do not tell): label metrics score them.
pub fn evaluate_with_codes(
    pipeline: &FittedPipeline,
    y: &Target,
    pred: &Prediction,
    codes: Option<&[u32]>,
) -> Result<Evaluation> {
    let mut metrics: BTreeMap<String, f64> = metrics::evaluate(y, pred)
        .into_iter()
        .map(|(m, v)| (m.name().to_string(), v))
        .collect();
    // With a tuned threshold, label metrics score the thresholded labels.
    let relabel = pipeline.decision_threshold.is_some() || codes.is_some();
    if let (true, Prediction::Probabilities(p)) = (relabel, pred) {
        let codes = codes.map_or_else(|| pipeline.predicted_codes(p), <[u32]>::to_vec);
        let mut onehot = Matrix::zeros(p.n_rows(), p.n_cols());
        for (i, &c) in codes.iter().enumerate() {
            onehot.set(i, c as usize, 1.0);
        }
        let hard = Prediction::Probabilities(onehot);
        for m in [
            Metric::Accuracy,
            Metric::Precision,
            Metric::Recall,
            Metric::F1,
            Metric::F1Macro,
            Metric::F1Weighted,
        ] {
            if let Ok(v) = m.score(y, &hard) {
                metrics.insert(m.name().to_string(), v);
            }
        }
    }
    let mut eval = Evaluation {
        metrics,
        roc_curve: None,
        pr_curve: None,
        confusion_matrix: None,
        classification_report: None,
        feature_importance: Vec::new(),
        residuals: None,
    };
    match (y, pred) {
        (Target::Classes { labels, n_classes }, Prediction::Probabilities(p)) => {
            let predicted = codes.map_or_else(|| pipeline.predicted_codes(p), <[u32]>::to_vec);
            if *n_classes == 2 {
                let scores = p.col(1);
                if let Ok(roc) = metrics::roc_curve(labels, scores, None, true) {
                    eval.roc_curve = Some(thin(roc.fpr.into_iter().zip(roc.tpr).collect()));
                }
                if let Ok(pr) = metrics::precision_recall_curve(labels, scores, None, true) {
                    eval.pr_curve = Some(thin(pr.recall.into_iter().zip(pr.precision).collect()));
                }
            }
            let cm = metrics::confusion_matrix(labels, &predicted, None)?;
            let names: Vec<String> = cm
                .labels
                .iter()
                .map(|&l| pipeline.target.classes[l as usize].clone())
                .collect();
            if let Ok(r) = metrics::classification_report(labels, &predicted, Some(&names), None) {
                eval.classification_report = Some(r.to_string());
            }
            eval.confusion_matrix = Some(ConfusionMatrix {
                labels: names,
                counts: cm
                    .counts
                    .iter()
                    .map(|r| r.iter().map(|&c| c as u64).collect())
                    .collect(),
            });
        }
        (Target::Real(actual), Prediction::Values(v)) => {
            let residuals: Vec<f64> = actual.iter().zip(v).map(|(a, p)| a - p).collect();
            eval.residuals = Some(histogram(&residuals, 30));
        }
        _ => {}
    }
    if let Some(imp) = pipeline.model.feature_importance() {
        let mut pairs: Vec<(String, f64)> = pipeline
            .features()
            .into_iter()
            .map(|f| f.name)
            .zip(imp)
            .collect();
        pairs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        eval.feature_importance = pairs;
    }
    Ok(eval)
}

fn histogram(v: &[f64], bins: usize) -> (Vec<f64>, Vec<u64>) {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if lo < hi {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let width = (hi - lo) / bins as f64;
    let edges: Vec<f64> = (0..=bins).map(|i| lo + width * i as f64).collect();
    let mut counts = vec![0u64; bins];
    for &x in v {
        let b = (((x - lo) / width) as usize).min(bins - 1);
        counts[b] += 1;
    }
    (edges, counts)
}

fn fmt(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.4}")
    }
}

/// The training report as a self-contained HTML page.
pub fn render_html(o: &TrainOutcome, baseline: &Profile) -> String {
    let mut page = Page::new(&format!("Slipway training report: {}", o.name));
    let metric = o.selection_metric.name();
    let gate = if o.gate.passed {
        format!(
            "<p class=\"ok\">Gate passed: holdout {metric} = {}{}.</p>",
            fmt(o.gate.value),
            o.gate
                .minimum
                .map(|m| format!(" (required {m})"))
                .unwrap_or_default()
        )
    } else {
        format!(
            "<p class=\"fail\">Gate failed: {}. No model bundle was written.</p>",
            html::escape(o.gate.reason.as_deref().unwrap_or("")),
        )
    };
    let summary = html::table(
        &["", ""],
        &[
            vec!["target".into(), o.target.name.clone()],
            vec!["task".into(), format!("{:?}", o.task)],
            vec!["classes".into(), o.target.classes.join(", ")],
            vec![
                "positive class".into(),
                match &o.positive_class {
                    Some(p) if p.source == "config" => {
                        format!("{} (positive_class in the config)", p.label)
                    }
                    Some(p) => format!(
                        "{} (implicit: the second label in sort order; set positive_class to choose)",
                        p.label
                    ),
                    None => "–".into(),
                },
            ],
            vec!["training rows".into(), o.train_rows.to_string()],
            vec!["held-out rows".into(), o.test_rows.to_string()],
            vec!["selected model".into(), o.selected.clone()],
            vec!["selection metric".into(), metric.to_string()],
            vec![
                "bundle".into(),
                o.bundle
                    .as_ref()
                    .map(|b| b.display().to_string())
                    .unwrap_or_else(|| "not written".into()),
            ],
            vec!["run time".into(), format!("{:.1} s", o.seconds)],
        ],
    );
    page.section("Summary", format!("{gate}{summary}"));
    if !o.warnings.is_empty() {
        let rows: Vec<Vec<String>> = o
            .warnings
            .iter()
            .map(|w| {
                vec![
                    serde_json::to_value(w.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    w.column
                        .clone()
                        .or_else(|| w.candidate.clone())
                        .unwrap_or_default(),
                    w.message.clone(),
                    w.hint.clone().unwrap_or_default(),
                ]
            })
            .collect();
        page.section(
            "Warnings",
            html::table(
                &["kind", "column / candidate", "what was found", "what to do"],
                &rows,
            ),
        );
    }

    // Candidates: mean ± std of every metric, and a chart of the selection metric.
    let metric_names: Vec<String> = o
        .candidates
        .iter()
        .find(|c| !c.mean.is_empty())
        .map(|c| c.mean.keys().cloned().collect())
        .unwrap_or_default();
    let mut headers: Vec<&str> = vec!["candidate", "type"];
    headers.extend(metric_names.iter().map(String::as_str));
    headers.push("fit s/fold");
    headers.push("status");
    let rows: Vec<Vec<String>> = o
        .candidates
        .iter()
        .map(|c| {
            let mut r = vec![
                if c.name == o.selected {
                    format!("{} ★", c.name)
                } else {
                    c.name.clone()
                },
                c.model_type.clone(),
            ];
            for m in &metric_names {
                r.push(match (c.mean.get(m), c.std.get(m)) {
                    (Some(a), Some(s)) => format!("{} ± {}", fmt(*a), fmt(*s)),
                    _ => "–".into(),
                });
            }
            r.push(format!("{:.2}", c.fit_seconds));
            r.push(
                c.error
                    .as_ref()
                    .map(|e| format!("failed: {e}"))
                    .unwrap_or_else(|| "ok".into()),
            );
            r
        })
        .collect();
    page.section(
        "Candidates (cross-validation on the training rows)",
        html::table(&headers, &rows),
    );

    page.section(
        "Comparison (cross-validated, mean ± standard deviation over folds)",
        comparison_chart(o),
    );
    for c in &o.candidates {
        if let Some(s) = &c.search {
            page.section(
                &format!("Hyperparameter search: {} ({})", c.name, s.method),
                search_section(s, metric, o.selection_metric.greater_is_better()),
            );
        }
    }

    let e = &o.evaluation;
    let metric_rows: Vec<Vec<String>> = e
        .metrics
        .iter()
        .map(|(k, v)| vec![k.clone(), fmt(*v)])
        .collect();
    let mut body = html::table(&["metric", "holdout value"], &metric_rows);
    if let Some(roc) = &e.roc_curve {
        body.push_str(&html::line_chart(
            &[Series {
                name: format!(
                    "AUC {}",
                    fmt(e.metrics.get("roc_auc").copied().unwrap_or(f64::NAN))
                ),
                points: roc.clone(),
            }],
            &ChartOptions {
                title: "ROC curve".into(),
                x_label: "false positive rate".into(),
                y_label: "true positive rate".into(),
                diagonal: true,
                ..ChartOptions::default()
            },
        ));
    }
    if let Some(pr) = &e.pr_curve {
        body.push_str(&html::line_chart(
            &[Series {
                name: format!(
                    "AP {}",
                    fmt(e
                        .metrics
                        .get("average_precision")
                        .copied()
                        .unwrap_or(f64::NAN))
                ),
                points: pr.clone(),
            }],
            &ChartOptions {
                title: "Precision-recall curve".into(),
                x_label: "recall".into(),
                y_label: "precision".into(),
                ..ChartOptions::default()
            },
        ));
    }
    if let Some(cm) = &e.confusion_matrix {
        body.push_str(&html::heatmap(
            &cm.labels,
            &cm.labels,
            &cm.counts
                .iter()
                .map(|r| r.iter().map(|&c| c as f64).collect())
                .collect::<Vec<_>>(),
            &ChartOptions {
                title: "Confusion matrix (rows: true class, columns: predicted)".into(),
                x_label: "predicted".into(),
                y_label: "true".into(),
                ..ChartOptions::default()
            },
        ));
    }
    if let Some(r) = &e.classification_report {
        body.push_str(&format!("<pre>{}</pre>", html::escape(r)));
    }
    if let Some((edges, counts)) = &e.residuals {
        body.push_str(&html::histogram(
            edges,
            counts,
            &ChartOptions {
                title: "Residuals (actual − predicted)".into(),
                x_label: "residual".into(),
                y_label: "rows".into(),
                ..ChartOptions::default()
            },
        ));
    }
    page.section(&format!("Holdout evaluation of {}", o.selected), body);

    if let Some(c) = &o.calibration {
        page.section("Probability calibration", calibration_section(c));
    }
    if let Some(t) = &o.threshold {
        page.section("Decision threshold", threshold_section(t));
    }

    if !e.feature_importance.is_empty() {
        let top: Vec<&(String, f64)> = e.feature_importance.iter().take(20).collect();
        page.section(
            "Feature importance",
            html::bar_chart(
                &top.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
                &top.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
                &ChartOptions {
                    title: format!("top {} features (normalized importance)", top.len()),
                    x_label: "importance".into(),
                    y_label: String::new(),
                    ..ChartOptions::default()
                },
            ),
        );
    }

    if let Some(x) = &o.explanation {
        page.section("Explanations (SHAP)", crate::shap_summary::section(x));
    }
    if let Some(f) = &o.fairness {
        let positive = o.positive_class.as_ref().map_or("", |p| p.label.as_str());
        crate::fairness::report_sections(
            &mut page,
            f,
            "held-out rows",
            positive,
            &[],
            "",
            "Fairness",
        );
    }

    let mut data = format!(
        "<p>{} training rows, {} columns. Every validation rule held. The full column profile (the drift baseline stored with the model) is in <a href=\"profile.html\">profile.html</a>.</p>",
        baseline.n_rows,
        baseline.columns.len()
    );
    if !o.skipped_columns.is_empty() {
        data.push_str(&format!(
            "<p>Text columns not used as features (no text vectorizer configured): {}.</p>",
            html::escape(&o.skipped_columns.join(", "))
        ));
    }
    page.section("Data", data);
    page.render()
}

/// Each candidate by name with its mean ± std as an error bar and its fold scores as
/// ticks, on an axis fitted to the scores (a small gap between candidates stays visible).
fn comparison_chart(o: &TrainOutcome) -> String {
    let metric = o.selection_metric.name();
    let rows: Vec<html::Dot> = o
        .candidates
        .iter()
        .map(|c| html::Dot {
            label: c.name.clone(),
            value: c.mean.get(metric).copied().unwrap_or(f64::NAN),
            spread: c.std.get(metric).copied(),
            points: c.fold_scores.clone(),
            highlight: c.name == o.selected,
        })
        .collect();
    let better = if o.selection_metric.greater_is_better() {
        "higher is better"
    } else {
        "lower is better"
    };
    format!(
        "{}<p>Dots are the mean of {metric} over the folds ({better}), bars span one standard deviation either side, and thin ticks are the individual folds; ★ marks the selected candidate.</p>",
        html::dot_chart(
            &rows,
            &ChartOptions {
                title: format!("cross-validated {metric} per candidate"),
                x_label: metric.to_string(),
                ..ChartOptions::default()
            },
        )
    )
}

fn search_section(s: &SearchResult, metric: &str, greater: bool) -> String {
    let mut order: Vec<usize> = (0..s.evaluations.len()).collect();
    // Last round first (halving), then by mean score.
    order.sort_by(|&a, &b| {
        let (x, y) = (&s.evaluations[a], &s.evaluations[b]);
        y.iteration.cmp(&x.iteration).then(if greater {
            y.mean.total_cmp(&x.mean)
        } else {
            x.mean.total_cmp(&y.mean)
        })
    });
    let rows: Vec<Vec<String>> = order
        .iter()
        .take(30)
        .enumerate()
        .map(|(rank, &i)| {
            let e = &s.evaluations[i];
            vec![
                (rank + 1).to_string(),
                serde_json::to_string(&e.params).unwrap_or_default(),
                e.iteration.to_string(),
                e.n_resources.map(|r| r.to_string()).unwrap_or_default(),
                format!("{} ± {}", fmt(e.mean), fmt(e.std)),
            ]
        })
        .collect();
    let mut body = format!(
        "<p>{} configurations evaluated; best: <code>{}</code>.</p>",
        s.evaluations.len(),
        html::escape(&serde_json::to_string(&s.best_params).unwrap_or_default())
    );
    if let Some(h) = &s.schedule {
        body.push_str(&format!(
            "<p>Successive halving: resources per round {:?}, candidates per round {:?}.</p>",
            h.n_resources, h.n_candidates
        ));
    }
    body.push_str(&html::table(
        &[
            "rank",
            "parameters",
            "round",
            "resource",
            &format!("{metric} (mean ± std)"),
        ],
        &rows,
    ));
    if s.evaluations.len() > 30 {
        body.push_str("<p>Top 30 shown; report.json lists every configuration.</p>");
    }
    body
}

fn calibration_section(c: &CalibrationReport) -> String {
    let method = match c.method {
        CalibrationMethod::Sigmoid => "sigmoid (Platt)",
        CalibrationMethod::Isotonic => "isotonic",
    };
    let mut body = format!(
        "<p>Method: {method}, fitted on out-of-fold predictions of the chosen configuration (scikit-learn's CalibratedClassifierCV with ensemble=False); measured here on the held-out rows.</p>"
    );
    let opt = |v: Option<f64>| v.map(fmt).unwrap_or_else(|| "–".into());
    body.push_str(&html::table(
        &["holdout metric", "before", "after"],
        &[
            vec!["brier".into(), opt(c.brier_before), opt(c.brier_after)],
            vec![
                "log_loss".into(),
                opt(c.log_loss_before),
                opt(c.log_loss_after),
            ],
        ],
    ));
    if let (Some(b), Some(a)) = (&c.curve_before, &c.curve_after) {
        let pts = |cv: &CalibrationCurve| -> Vec<(f64, f64)> {
            cv.prob_pred
                .iter()
                .copied()
                .zip(cv.prob_true.iter().copied())
                .collect()
        };
        body.push_str(&html::line_chart(
            &[
                Series {
                    name: "before calibration".into(),
                    points: pts(b),
                },
                Series {
                    name: "after calibration".into(),
                    points: pts(a),
                },
            ],
            &ChartOptions {
                title: format!("Reliability diagram ({CALIBRATION_BINS} uniform bins)"),
                x_label: "mean predicted probability".into(),
                y_label: "fraction of positives".into(),
                diagonal: true,
                ..ChartOptions::default()
            },
        ));
    }
    body
}

fn threshold_section(t: &TunedThreshold) -> String {
    let mut body = format!(
        "<p>Predict the positive class when its probability is at least <b>{}</b> (tuned on out-of-fold predictions: {} = {}). Probabilities are unchanged.</p>",
        fmt(t.threshold),
        t.metric.name(),
        fmt(t.value)
    );
    let rows: Vec<Vec<String>> = t
        .metrics_at_threshold
        .iter()
        .map(|(m, v)| vec![m.name().to_string(), fmt(*v)])
        .collect();
    body.push_str(&html::table(
        &["out-of-fold metric at the threshold", "value"],
        &rows,
    ));
    body.push_str(&html::line_chart(
        &[
            Series {
                name: t.metric.name().to_string(),
                points: t.curve.clone(),
            },
            Series {
                name: format!("chosen threshold {}", fmt(t.threshold)),
                points: vec![(t.threshold, 0.0), (t.threshold, 1.0)],
            },
        ],
        &ChartOptions {
            title: format!("{} by decision threshold (out of fold)", t.metric.name()),
            x_label: "threshold".into(),
            y_label: t.metric.name().to_string(),
            ..ChartOptions::default()
        },
    ));
    body
}
