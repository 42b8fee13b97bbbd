//! The drift report's sections for multivariate drift and calibrated thresholds
//! (summaries only: one value per chunk, the bounds).

use slipway_data::html::{self, ChartOptions, Series, escape, format_number};

use super::{Method, MultivariateChunk, MultivariateReport};
use crate::calibrate::Calibration;

fn cell(v: Option<f64>) -> String {
    v.map(format_number).unwrap_or_else(|| "—".into())
}

fn verdict(c: &MultivariateChunk) -> String {
    if c.small_sample {
        "small sample".into()
    } else if c.alert {
        "ALERT".into()
    } else {
        "ok".into()
    }
}

/// One section per multivariate report and one for the calibration, for
/// [`crate::report::render_html_with`].
pub fn sections(
    reports: &[MultivariateReport],
    calibration: Option<&Calibration>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for r in reports {
        let (heading, what) = match r.options.method {
            Method::Pca => (
                "Multivariate drift: PCA reconstruction error",
                "mean reconstruction error",
            ),
            Method::Domain => (
                "Multivariate drift: domain classifier",
                "cross-validated ROC AUC",
            ),
        };
        let n_ref = r.reference_chunks.len();
        let points = |chunks: &[MultivariateChunk], offset: usize| -> Vec<(f64, f64)> {
            chunks
                .iter()
                .filter_map(|c| Some(((offset + c.index) as f64, c.value?)))
                .collect()
        };
        let mut series = vec![
            Series {
                name: "reference".into(),
                points: points(&r.reference_chunks, 0),
            },
            Series {
                name: "current".into(),
                points: points(&r.chunks, n_ref),
            },
        ];
        let total = (n_ref + r.chunks.len()) as f64;
        for (name, b) in [
            ("lower bound", r.bounds.lower),
            ("upper bound", r.bounds.upper),
        ] {
            if let Some(b) = b {
                series.push(Series {
                    name: name.into(),
                    points: vec![(0.0, b), ((total - 1.0).max(1.0), b)],
                });
            }
        }
        let chart = html::line_chart(
            &series,
            &ChartOptions {
                title: format!("{what} per chunk (reference chunks first)"),
                x_label: "chunk".into(),
                y_label: what.into(),
                width: 900,
                height: 320,
                ..ChartOptions::default()
            },
        );
        let mut rows = Vec::new();
        for (period, chunks) in [("reference", &r.reference_chunks), ("current", &r.chunks)] {
            for c in chunks {
                rows.push(vec![
                    format!("{period} {} · {}", c.index, c.label),
                    c.rows.to_string(),
                    cell(c.value),
                    cell(c.sampling_error),
                    c.reason.clone().unwrap_or_else(|| verdict(c)),
                ]);
            }
        }
        let pca = r
            .pca
            .as_ref()
            .map(|p| {
                format!(
                    "<p>{} of {} components kept (explained variance ratios {}).</p>",
                    p.n_components,
                    p.explained_variance_ratio.len(),
                    escape(
                        &p.explained_variance_ratio
                            .iter()
                            .map(|v| format!("{v:.3}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                )
            })
            .unwrap_or_default();
        let body = format!(
            "<p>Columns: {}. Alert outside ({}, {}); {} of {} current chunks alert.</p>{pca}{chart}{}",
            escape(&r.columns.join(", ")),
            cell(r.bounds.lower),
            cell(r.bounds.upper),
            r.chunks.iter().filter(|c| c.alert).count(),
            r.chunks.len(),
            html::table(
                &["chunk", "rows", "value", "sampling error", "verdict / note"],
                &rows
            )
        );
        out.push((heading.to_string(), body));
    }
    if let Some(c) = calibration {
        let rows: Vec<Vec<String>> = c
            .bounds
            .iter()
            .map(|b| {
                vec![
                    b.column.clone(),
                    b.stat.name().into(),
                    format_number(b.mean),
                    format_number(b.std),
                    format_number(b.upper),
                ]
            })
            .collect();
        out.push((
            "Calibrated thresholds".to_string(),
            format!(
                "<p>Each statistic drifts above mean + {}·std of its values over {} reference chunks, each chunk compared with the rest of the reference (never with itself).</p>{}",
                c.k,
                c.reference_chunks.len() - c.small_reference_chunks,
                html::table(&["feature", "statistic", "mean", "std", "upper bound"], &rows)
            ),
        ));
    }
    out
}
