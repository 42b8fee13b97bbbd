//! The drift report as one self-contained HTML page (inline SVG, no scripts, no external
//! resources): a summary, the main statistic of every feature over the chunks, the table
//! of every chunk × feature × statistic, and each feature's reference and current
//! histograms. It carries summaries only (bin counts, statistics), never rows, so its size
//! depends on the number of features, chunks and categories, not on the number of rows.

use slipway_data::html::{self, ChartOptions, Page, Series, escape, format_number};

use crate::drift::FeatureDrift;
use crate::run::DriftReport;
use crate::summary::ColumnKind;

/// Categories drawn per feature; the rest are counted in a note.
const MAX_CATEGORIES_SHOWN: usize = 30;

/// How a run cut its data, in words.
pub fn chunking_text(chunking: &crate::run::Chunking) -> String {
    match chunking {
        crate::run::Chunking::Whole => "one chunk (the whole file)".into(),
        crate::run::Chunking::Rows { size } => format!("chunks of {size} rows"),
        crate::run::Chunking::Period { column, period } => {
            format!("one chunk per {period:?} of \"{column}\"").to_lowercase()
        }
        crate::run::Chunking::Value { column } => format!("one chunk per value of \"{column}\""),
    }
}

fn cell(v: Option<f64>) -> String {
    v.map(format_number).unwrap_or_else(|| "—".into())
}

/// The report as an HTML page.
pub fn render_html(report: &DriftReport) -> String {
    render_html_with(report, Vec::new())
}

/// The report as an HTML page with `extra` sections (heading, trusted HTML) after the
/// summary's (multivariate drift, calibrated thresholds).
pub fn render_html_with(report: &DriftReport, extra: Vec<(String, String)>) -> String {
    drift_page(report, extra).render()
}

/// The report's page, not yet rendered (to be combined with others by `monitor report`).
pub fn drift_page(report: &DriftReport, extra: Vec<(String, String)>) -> Page {
    let mut page = Page::new("Drift report");
    let drifted_chunks = report
        .chunks
        .iter()
        .filter(|c| c.drifted_features > 0)
        .count();
    let o = &report.options;
    let thresholds: Vec<String> = o
        .stats
        .iter()
        .map(|s| format!("{} {}", s.name(), o.threshold(*s)))
        .collect();
    let summary = html::table(
        &["", ""],
        &[
            vec![
                "reference".into(),
                format!("{} ({} rows)", report.reference, report.reference_rows),
            ],
            vec![
                "current".into(),
                format!("{} ({} rows)", report.current, report.current_rows),
            ],
            vec!["chunking".into(), chunking_text(&report.chunking)],
            vec![
                "verdict".into(),
                if report.drifted {
                    format!(
                        "drift in {drifted_chunks} of {} chunks",
                        report.chunks.len()
                    )
                } else {
                    "no drift".into()
                },
            ],
            vec!["thresholds".into(), thresholds.join(", ")],
            vec![
                "tests".into(),
                format!(
                    "alpha {} after {:?} correction across each chunk's tests; a column with fewer than {} values in a chunk is a small sample, never drift",
                    o.alpha, o.correction, o.min_rows
                )
                .to_lowercase(),
            ],
        ],
    );
    page.section("Summary", summary);
    for (heading, body) in extra {
        page.section(&heading, body);
    }

    if report.chunks.len() < 2 {
        page.section(
            "Timeline",
            "<p class=\"muted\">One chunk: cut the current data with --chunk-size or --chunk-period for a timeline.</p>".to_string(),
        );
    } else if let Some(main) = report.main_stat() {
        let series: Vec<Series> = report
            .columns
            .iter()
            .map(|(name, _)| Series {
                name: name.clone(),
                points: report
                    .chunks
                    .iter()
                    .filter_map(|c| {
                        let f = c.features.iter().find(|f| &f.column == name)?;
                        let v = f.stats.iter().find(|s| s.stat == main)?.value?;
                        Some((c.index as f64, v))
                    })
                    .collect(),
            })
            .collect();
        let chart = html::line_chart(
            &series,
            &ChartOptions {
                title: format!(
                    "{} per chunk (threshold {})",
                    main.name(),
                    o.threshold(main)
                ),
                x_label: "chunk".into(),
                y_label: main.name().into(),
                width: 900,
                height: 360,
                ..ChartOptions::default()
            },
        );
        let labels: Vec<String> = report
            .chunks
            .iter()
            .map(|c| format!("chunk {}: {} ({} rows)", c.index, c.label, c.rows))
            .collect();
        page.section(
            "Timeline",
            format!(
                "{chart}<p class=\"muted\">{}</p>",
                escape(&labels.join(" · "))
            ),
        );
    }

    let mut rows = Vec::new();
    for c in &report.chunks {
        for f in &c.features {
            let verdict = if f.small_sample {
                "small sample"
            } else if f.drifted {
                "DRIFT"
            } else {
                "ok"
            };
            for s in &f.stats {
                rows.push(vec![
                    format!("{} · {}", c.index, c.label),
                    f.column.clone(),
                    s.stat.name().into(),
                    cell(s.value),
                    cell(s.adjusted_p_value),
                    cell(s.effect),
                    format_number(s.threshold),
                    if s.drifted { "yes" } else { "no" }.into(),
                    s.reason.clone().unwrap_or_else(|| verdict.into()),
                ]);
            }
            rows.push(vec![
                format!("{} · {}", c.index, c.label),
                f.column.clone(),
                "missing rate".into(),
                format!("{:.4}", f.missing_rate),
                "—".into(),
                format!("{:.4}", f.reference_missing_rate),
                format_number(o.missing_rate_change),
                if f.missing_drifted { "yes" } else { "no" }.into(),
                "effect: the reference's rate".into(),
            ]);
        }
    }
    page.section(
        "Statistics per chunk",
        html::table(
            &[
                "chunk",
                "feature",
                "statistic",
                "value",
                "adjusted p",
                "effect",
                "threshold",
                "drifted",
                "feature verdict / note",
            ],
            &rows,
        ),
    );

    let mut hist = String::new();
    for (name, kind) in &report.columns {
        let per_chunk: Vec<&FeatureDrift> = report
            .chunks
            .iter()
            .filter_map(|c| c.features.iter().find(|f| &f.column == name))
            .collect();
        let Some(first) = per_chunk.first() else {
            continue;
        };
        // The current side: every chunk's counts summed.
        let mut current = vec![0u64; first.histogram.current.len()];
        for f in &per_chunk {
            for (a, b) in current.iter_mut().zip(&f.histogram.current) {
                *a += b;
            }
        }
        let h = &first.histogram;
        let opts = |title: &str| ChartOptions {
            title: title.into(),
            width: 420,
            height: 220,
            ..ChartOptions::default()
        };
        let (left, right, note) = match kind {
            ColumnKind::Numeric if !h.edges.is_empty() => {
                let inside = &current[..h.edges.len() - 1];
                let outside = current.last().copied().unwrap_or(0);
                (
                    html::histogram(&h.edges, &h.reference, &opts("reference")),
                    html::histogram(&h.edges, inside, &opts("current (all chunks)")),
                    if outside > 0 {
                        format!("{outside} current values fall outside the reference's range")
                    } else {
                        String::new()
                    },
                )
            }
            ColumnKind::Categorical if !h.labels.is_empty() => {
                let nr: u64 = h.reference.iter().sum::<u64>().max(1);
                let nc: u64 = current.iter().sum::<u64>().max(1);
                let mut order: Vec<usize> = (0..h.labels.len()).collect();
                order.sort_by(|a, b| {
                    (h.reference[*b] + current[*b]).cmp(&(h.reference[*a] + current[*a]))
                });
                let shown = &order[..order.len().min(MAX_CATEGORIES_SHOWN)];
                let labels: Vec<String> = shown.iter().map(|i| h.labels[*i].clone()).collect();
                let r: Vec<f64> = shown
                    .iter()
                    .map(|i| h.reference[*i] as f64 / nr as f64)
                    .collect();
                let c: Vec<f64> = shown
                    .iter()
                    .map(|i| current[*i] as f64 / nc as f64)
                    .collect();
                let unseen = h.reference.iter().filter(|c| **c == 0).count();
                let mut note = String::new();
                if order.len() > shown.len() {
                    note.push_str(&format!(
                        "{} more categories not drawn. ",
                        order.len() - shown.len()
                    ));
                }
                if unseen > 0 {
                    note.push_str(&format!(
                        "{unseen} categories appear only in the current data."
                    ));
                }
                let tall = |title: &str| ChartOptions {
                    height: 60 + 18 * labels.len() as u32,
                    ..opts(title)
                };
                (
                    html::bar_chart(&labels, &r, &tall("reference (share)")),
                    html::bar_chart(&labels, &c, &tall("current, all chunks (share)")),
                    note,
                )
            }
            _ => (
                String::new(),
                String::new(),
                "no values to draw".to_string(),
            ),
        };
        hist.push_str(&format!(
            "<h3>{}</h3><div style=\"display:flex;flex-wrap:wrap;gap:12px\"><div>{left}</div><div>{right}</div></div>{}",
            escape(name),
            if note.is_empty() {
                String::new()
            } else {
                format!("<p class=\"muted\">{}</p>", escape(&note))
            }
        ));
    }
    page.section("Reference vs current", hist);
    page
}
