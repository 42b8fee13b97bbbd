//! The performance report as one self-contained HTML page (inline SVG, no scripts): a
//! summary, one chart per metric over the reference and analysis chunks (estimate,
//! realized, the estimate's band, the alert thresholds) and the table of every chunk ×
//! metric. Summaries only, never rows.

use slipway_data::html::{self, ChartOptions, Page, Series, escape, format_number};

use crate::performance::{ChunkPerformance, Metric, PerformanceReport};

fn cell(v: Option<f64>) -> String {
    v.map(format_number).unwrap_or_else(|| "—".into())
}

fn interval(v: Option<[f64; 2]>) -> String {
    v.map(|[a, b]| format!("{} – {}", format_number(a), format_number(b)))
        .unwrap_or_else(|| "—".into())
}

/// Chunks of the reference then the analysis, numbered along one axis.
fn timeline(r: &PerformanceReport) -> Vec<(f64, &'static str, &ChunkPerformance)> {
    let n_ref = r.reference_chunks.len();
    r.reference_chunks
        .iter()
        .enumerate()
        .map(|(i, c)| (i as f64, "reference", c))
        .chain(
            r.chunks
                .iter()
                .enumerate()
                .map(move |(i, c)| ((n_ref + i) as f64, "analysis", c)),
        )
        .collect()
}

fn chart(r: &PerformanceReport, metric: Metric) -> String {
    let points = timeline(r);
    let pick = |f: &dyn Fn(&ChunkPerformance) -> Option<f64>| -> Vec<(f64, f64)> {
        points
            .iter()
            .filter_map(|(x, _, c)| f(c).map(|y| (*x, y)))
            .collect()
    };
    let value = |c: &ChunkPerformance| c.metrics.iter().find(|x| x.metric == metric).cloned();
    let mut series = Vec::new();
    if r.estimated {
        series.push(Series {
            name: format!(
                "estimated ({})",
                r.estimator.as_deref().unwrap_or("").to_uppercase()
            ),
            points: pick(&|c| value(c)?.estimated),
        });
    }
    series.push(Series {
        name: "realized".into(),
        points: pick(&|c| value(c)?.realized),
    });
    if r.estimated {
        series.push(Series {
            name: "band low (−3 sampling errors)".into(),
            points: pick(&|c| Some(value(c)?.band?[0])),
        });
        series.push(Series {
            name: "band high (+3 sampling errors)".into(),
            points: pick(&|c| Some(value(c)?.band?[1])),
        });
    }
    if let Some(t) = r.thresholds.iter().find(|t| t.metric == metric) {
        let (first, last) = (0.0, points.len().saturating_sub(1) as f64);
        for (name, v) in [("lower threshold", t.lower), ("upper threshold", t.upper)] {
            if let Some(v) = v {
                series.push(Series {
                    name: name.into(),
                    points: vec![(first, v), (last, v)],
                });
            }
        }
    }
    html::line_chart(
        &series,
        &ChartOptions {
            title: format!(
                "{} per chunk (reference chunks 0–{}, then analysis)",
                metric.name(),
                r.reference_chunks.len().saturating_sub(1)
            ),
            x_label: "chunk".into(),
            y_label: metric.name().into(),
            width: 900,
            height: 340,
            ..ChartOptions::default()
        },
    )
}

/// The report as an HTML page.
pub fn render_html(r: &PerformanceReport) -> String {
    performance_page(r).render()
}

/// The report's page, not yet rendered (to be combined with others by `monitor report`).
pub fn performance_page(r: &PerformanceReport) -> Page {
    let mut page = Page::new("Performance report");
    let mut rows = vec![
        vec![
            "reference".into(),
            format!("{} ({} rows)", r.reference, r.reference_rows),
        ],
        vec![
            "analysis".into(),
            format!(
                "{} ({} rows, {} labelled)",
                r.analysis, r.analysis_rows, r.labelled_rows
            ),
        ],
        vec!["chunking".into(), crate::report::chunking_text(&r.chunking)],
        vec![
            "method".into(),
            if r.estimated {
                if r.estimator.as_deref() == Some("dle") {
                    "estimated before labels by direct loss estimation (NannyML's DLE, Slipway's GBDT); realized on labelled rows".into()
                } else {
                    "estimated before labels by confidence-based performance estimation (NannyML's CBPE); realized on labelled rows".into()
                }
            } else {
                "realized on labelled rows".into()
            },
        ],
        vec![
            "thresholds".into(),
            "mean ± 3 standard deviations of the realized metric over the reference's chunks"
                .into(),
        ],
        vec!["alerts".into(), r.alerts.to_string()],
    ];
    if let (Some(l), Some(j)) = (&r.labels, &r.join) {
        rows.push(vec![
            "labels".into(),
            format!(
                "{l}: {} rows, {} analysis rows matched, {} unlabelled, {} labels matched no row",
                j.label_rows, j.matched, j.unlabelled, j.unused_labels
            ),
        ]);
    }
    if let Some(c) = &r.calibration {
        rows.push(vec![
            "calibration".into(),
            format!(
                "{} ({:?}{})",
                if c.calibrated {
                    "isotonic, fitted on the reference"
                } else {
                    "none"
                },
                c.mode,
                match (c.ece_before, c.ece_after) {
                    (Some(b), Some(a)) => format!(
                        "; held-out ECE {} before, {} after",
                        format_number(b),
                        format_number(a)
                    ),
                    _ => String::new(),
                }
            )
            .to_lowercase(),
        ]);
    }
    page.section("Summary", html::table(&["", ""], &rows));

    let mut charts = String::new();
    for &m in &r.options.metrics {
        charts.push_str(&format!("<h3>{}</h3>{}", escape(m.name()), chart(r, m)));
    }
    page.section("Metrics over time", charts);

    let mut table = Vec::new();
    for (x, period, c) in timeline(r) {
        for v in &c.metrics {
            table.push(vec![
                format!("{x} · {period} · {}", c.label),
                format!("{} / {}", c.labelled_rows, c.rows),
                v.metric.name().into(),
                cell(v.estimated),
                interval(v.band),
                cell(v.realized),
                interval(v.realized_interval),
                if v.alert || v.realized_alert {
                    "ALERT".into()
                } else {
                    "ok".into()
                },
            ]);
        }
    }
    if let Some(f) = &r.fairness {
        fairness_section(&mut page, f);
    }
    page.section(
        "Per chunk",
        html::table(
            &[
                "chunk",
                "labelled / rows",
                "metric",
                "estimated",
                "band",
                "realized",
                "bootstrap interval",
                "alert",
            ],
            &table,
        ),
    );
    page
}

/// Fairness per analysis chunk: the demographic parity difference and disparate impact
/// ratio of each attribute with their bounds, and the table of every chunk × attribute.
fn fairness_section(page: &mut Page, f: &crate::performance::FairnessOverTime) {
    let t = &f.monitor.options.thresholds;
    let attributes: Vec<String> = f
        .chunks
        .iter()
        .flat_map(|c| c.attributes.iter().map(|a| a.attribute.clone()))
        .fold(Vec::new(), |mut acc, a| {
            if !acc.contains(&a) {
                acc.push(a);
            }
            acc
        });
    let last = f.chunks.len().saturating_sub(1) as f64;
    let mut body = format!(
        "<p>Fairlearn's definitions on each analysis chunk's labelled rows. Bounds: demographic \
         parity difference ≤ {}, disparate impact ratio ≥ {}. A chunk with a group under {} \
         labelled rows is flagged, not alarmed on. Alerts: {}.</p>",
        t.max_demographic_parity_difference,
        t.min_disparate_impact_ratio,
        f.monitor.options.min_group_size,
        f.alerts
    );
    for (metric, bound, pick) in [
        (
            "demographic parity difference",
            t.max_demographic_parity_difference,
            (|s: &slipway_govern::fairness::Summary| s.demographic_parity_difference.value)
                as fn(&slipway_govern::fairness::Summary) -> Option<f64>,
        ),
        (
            "disparate impact ratio",
            t.min_disparate_impact_ratio,
            |s: &slipway_govern::fairness::Summary| s.disparate_impact_ratio.value,
        ),
    ] {
        let mut series: Vec<Series> = attributes
            .iter()
            .map(|name| Series {
                name: name.clone(),
                points: f
                    .chunks
                    .iter()
                    .filter_map(|c| {
                        let a = c.attributes.iter().find(|a| &a.attribute == name)?;
                        Some((c.index as f64, pick(&a.summary)?))
                    })
                    .collect(),
            })
            .collect();
        series.push(Series {
            name: "bound".into(),
            points: vec![(0.0, bound), (last, bound)],
        });
        body.push_str(&html::line_chart(
            &series,
            &ChartOptions {
                title: format!("{metric} per analysis chunk"),
                x_label: "chunk".into(),
                y_label: metric.into(),
                width: 900,
                height: 300,
                ..ChartOptions::default()
            },
        ));
    }
    let rows: Vec<Vec<String>> = f
        .chunks
        .iter()
        .flat_map(|c| {
            if c.attributes.is_empty() {
                return vec![vec![
                    format!("{} · {}", c.index, c.label),
                    c.labelled_rows.to_string(),
                    "—".into(),
                    "—".into(),
                    "—".into(),
                    "—".into(),
                    c.note.clone().unwrap_or_default(),
                ]];
            }
            c.attributes
                .iter()
                .map(|a| {
                    vec![
                        format!("{} · {}", c.index, c.label),
                        c.labelled_rows.to_string(),
                        a.attribute.clone(),
                        cell(a.summary.demographic_parity_difference.value),
                        cell(a.summary.disparate_impact_ratio.value),
                        cell(a.summary.equalized_odds_difference.value),
                        if a.alert {
                            "ALERT".into()
                        } else if a.flagged {
                            format!("flagged: small {}", a.small_groups.join(", "))
                        } else {
                            "ok".into()
                        },
                    ]
                })
                .collect()
        })
        .collect();
    body.push_str(&html::table(
        &[
            "chunk",
            "labelled rows",
            "attribute",
            "DP difference",
            "DI ratio",
            "EO difference",
            "alert",
        ],
        &rows,
    ));
    page.section("Fairness over time", body);
}
