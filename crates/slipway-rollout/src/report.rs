//! The readout as a self-contained HTML page (counts, SRM, test results, the interval of
//! B − A as an inline SVG chart, the recommendation) and its JSON twin.

use std::path::Path;

use slipway_data::html::{self, ChartOptions, Dot, Page, format_number};

use crate::logged::LogReadout;
use crate::readout::{OutcomeKind, Readout};
use crate::{Error, Result};

fn num(x: f64) -> String {
    format_number(x)
}

fn p(x: f64) -> String {
    if x.is_nan() {
        "n/a".into()
    } else if x < 1e-4 {
        format!("{x:.2e}")
    } else {
        format!("{x:.4}")
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |v| format!("{:+.2}%", 100.0 * v))
}

/// The HTML page of a readout.
pub fn render_html(r: &Readout) -> String {
    let mut page = Page::new("A/B test readout");
    readout_sections(&mut page, r);
    page.render()
}

/// The HTML page of a deployment's readout from the prediction log: what was read (the
/// window, exposures, unrouted predictions, feedback matched), then the readout.
pub fn render_log_html(r: &LogReadout) -> String {
    let mut page = Page::new(&format!("A/B test readout: {}", r.deployment));
    let time = utc_time;
    let rows = vec![
        vec![
            "window".to_string(),
            format!(
                "{} to {}",
                time(r.since_ms),
                r.until_ms.map_or("now (running)".into(), time)
            ),
        ],
        vec![
            "exposures (routed predictions)".into(),
            r.exposures.to_string(),
        ],
        vec![
            "predictions without an arm (not counted)".into(),
            r.unrouted.to_string(),
        ],
        vec!["feedback labels read".into(), r.feedback.to_string()],
        vec![
            "exposures with feedback".into(),
            r.feedback_matched.to_string(),
        ],
        vec![
            "CUPED covariate".into(),
            r.fields.covariate.clone().unwrap_or_else(|| "-".into()),
        ],
        vec![
            "segment field".into(),
            r.fields.segment.clone().unwrap_or_else(|| "-".into()),
        ],
    ];
    page.section("From the prediction log", html::table(&["", ""], &rows));
    readout_sections(&mut page, &r.readout);
    page.render()
}

/// `ms` (UTC milliseconds) as `YYYY-MM-DD HH:MM:SS UTC`, without a date library.
fn utc_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn readout_sections(page: &mut Page, r: &Readout) {
    page.section(
        "Recommendation",
        format!(
            "<p><strong>{}</strong></p><p>{}</p>",
            html::escape(&r.recommendation.to_string()),
            html::escape(&r.reason)
        ),
    );
    let rate = match r.outcome_kind {
        OutcomeKind::Conversion => "conversion rate",
        OutcomeKind::Numeric => "mean outcome",
    };
    let rows: Vec<Vec<String>> = r
        .arms
        .iter()
        .map(|a| {
            vec![
                a.arm.name().to_string(),
                a.label.clone(),
                a.exposures.to_string(),
                a.with_outcome.to_string(),
                a.missing_outcome.to_string(),
                num(a.mean),
            ]
        })
        .collect();
    let missing_note = if r.options.missing_outcome_as_zero {
        "Missing outcomes are read as 0."
    } else {
        "Rows with a missing outcome count as exposures (and in the sample-ratio check) but are left out of the tests."
    };
    page.section(
        "Arms",
        format!(
            "{}<p>{}</p>",
            html::table(
                &[
                    "arm",
                    "label",
                    "exposures",
                    "with outcome",
                    "missing outcome",
                    rate
                ],
                &rows
            ),
            html::escape(missing_note)
        ),
    );
    let srm_row = |scope: &str, s: &crate::stats::Srm| {
        vec![
            scope.to_string(),
            s.observed[0].to_string(),
            s.observed[1].to_string(),
            num(s.expected[0]),
            num(s.expected[1]),
            num(s.statistic),
            p(s.p_value),
            if s.alarm { "MISMATCH" } else { "ok" }.to_string(),
        ]
    };
    let mut srm_rows = vec![srm_row("all rows", &r.srm)];
    srm_rows.extend(r.segments.iter().map(|s| srm_row(&s.segment, &s.srm)));
    page.section(
        "Sample ratio",
        format!(
            "<p>Chi-square goodness of fit of the arm counts against the configured {}/{} split; alarm below p = {}.</p>{}",
            num(100.0 - r.options.split_percent_b),
            num(r.options.split_percent_b),
            num(r.options.srm_threshold),
            html::table(
                &["scope", "A", "B", "expected A", "expected B", "chi-square", "p-value", ""],
                &srm_rows
            )
        ),
    );
    let mut tests: Vec<Vec<String>> = Vec::new();
    let level = format!("{}% CI", num(100.0 * (1.0 - r.options.alpha)));
    if let Some(t) = &r.conversion {
        tests.push(vec![
            "two-proportion z-test".into(),
            num(t.difference),
            format!("{} to {}", num(t.ci[0]), num(t.ci[1])),
            pct(t.relative_lift),
            format!("z = {}", num(t.z)),
            p(t.p_value),
        ]);
    }
    if let Some(t) = &r.welch {
        tests.push(vec![
            "Welch's t-test".into(),
            num(t.difference),
            format!("{} to {}", num(t.ci[0]), num(t.ci[1])),
            pct(t.relative_lift),
            format!("t = {}, df = {}", num(t.statistic), num(t.df)),
            p(t.p_value),
        ]);
    }
    if let Some(c) = &r.cuped {
        tests.push(vec![
            "CUPED + Welch".into(),
            num(c.test.difference),
            format!("{} to {}", num(c.test.ci[0]), num(c.test.ci[1])),
            pct(c.test.relative_lift),
            format!(
                "theta = {}, variance −{}%",
                num(c.theta),
                num(100.0 * c.variance_reduction)
            ),
            p(c.test.p_value),
        ]);
    }
    tests.push(vec![
        "mSPRT (always valid)".into(),
        String::new(),
        String::new(),
        String::new(),
        format!("tau² = {}, {} looks", num(r.msprt.tau2), r.msprt.looks),
        p(r.msprt.p_value),
    ]);
    page.section(
        "Tests (B − A)",
        format!(
            "{}<p>Power to detect an effect of {} (a {}% lift): {}%.</p>",
            html::table(
                &[
                    "test",
                    "difference",
                    &level,
                    "relative lift",
                    "statistic",
                    "p-value"
                ],
                &tests
            ),
            num(r.min_effect),
            num(100.0 * r.options.min_detectable_effect),
            num(100.0 * r.power)
        ),
    );
    let mut dots = Vec::new();
    let mut dot = |label: &str, d: f64, ci: [f64; 2], highlight: bool| {
        if d.is_finite() && ci.iter().all(|c| c.is_finite()) {
            dots.push(Dot {
                label: label.into(),
                value: d,
                spread: Some((ci[1] - ci[0]) / 2.0),
                // A tick at 0: no difference.
                points: vec![0.0],
                highlight,
            });
        }
    };
    if let Some(t) = &r.conversion {
        dot("z-test", t.difference, t.ci, r.cuped.is_none());
    }
    if let Some(t) = &r.welch {
        dot("Welch", t.difference, t.ci, r.cuped.is_none());
    }
    if let Some(c) = &r.cuped {
        dot("CUPED", c.test.difference, c.test.ci, true);
    }
    if !dots.is_empty() {
        let chart = html::dot_chart(
            &dots,
            &ChartOptions {
                title: format!("B − A with its {level} (tick: 0, no difference)"),
                x_label: "difference".into(),
                ..ChartOptions::default()
            },
        );
        page.section("Confidence interval", chart);
    }
}

/// Writes a deployment's readout into `dir` (created if needed): `report.html` and its JSON
/// twin `report.json`, each to a temporary name renamed into place. Returns the HTML path.
pub fn write_log_report(r: &LogReadout, dir: &Path) -> Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let html_path = dir.join("report.html");
    write_atomic(&html_path, render_log_html(r).as_bytes())?;
    let json_path = dir.join("report.json");
    let json = serde_json::to_string_pretty(r).map_err(|e| Error::Io {
        path: json_path.display().to_string(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&json_path, json.as_bytes())?;
    Ok(html_path)
}

/// Writes the HTML report to `path` and its JSON twin next to it (`.json`), each to a
/// temporary name renamed into place.
pub fn write_report(r: &Readout, path: &Path) -> Result<()> {
    write_atomic(path, render_html(r).as_bytes())?;
    let json = serde_json::to_string_pretty(r).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: std::io::Error::other(e),
    })?;
    write_atomic(&path.with_extension("json"), json.as_bytes())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp-slipway");
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}
