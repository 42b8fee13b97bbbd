//! `slipway monitor report`: one HTML page (and its JSON twin) from the JSON twins that
//! `monitor drift` and `monitor performance` wrote and the alert delivery log: the drift
//! table with each feature's reference and current histograms, the multivariate drift per
//! chunk when the drift run computed it (`--multivariate`), the metrics per chunk with their
//! thresholds and bands, and the alert timeline. Summaries only, never rows, so the
//! page stays small on any data size.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use slipway_data::html::{self, Page, escape};

use crate::multivariate::MultivariateReport;
use crate::performance::PerformanceReport;
use crate::run::DriftReport;
use crate::{Error, Result};

/// One line of the alert delivery log (`--alert-log`, JSON lines), as `monitor` wrote it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedAttempt {
    /// When the attempt ended (RFC 3339).
    pub time: String,
    /// The rule.
    pub rule: String,
    /// The column, or `all`.
    pub subject: String,
    /// The dedup key.
    #[serde(default)]
    pub dedup_key: String,
    /// `trigger` or `resolve`.
    pub action: String,
    /// The channel's name.
    pub channel: String,
    /// 1-based attempt.
    pub attempt: u32,
    /// `delivered`, `retrying` or `failed`.
    pub status: String,
    /// The HTTP (or SMTP) status, when one came.
    #[serde(default)]
    pub code: Option<u16>,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<String>,
}

/// What one combined report holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MonitoringReport {
    /// The drift run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftReport>,
    /// The drift run's multivariate reports (`monitor drift --multivariate`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub multivariate: Vec<MultivariateReport>,
    /// The performance run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance: Option<PerformanceReport>,
    /// Every delivery attempt of the alert log, oldest first.
    pub alerts: Vec<LoggedAttempt>,
}

fn bad(message: String) -> Error {
    Error::BadInput { message }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Reads a drift report's JSON twin (`monitor drift --output X.html` writes `X.json`).
pub fn read_drift(path: &Path) -> Result<DriftReport> {
    read_drift_with(path).map(|(d, _)| d)
}

/// Reads a drift report's JSON twin with its multivariate reports (the `multivariate` key
/// `monitor drift --multivariate` adds; none when it is absent). A scheduled monitor's
/// `report.json` (`{"report": ..., "multivariate": [...]}`) reads too.
pub fn read_drift_with(path: &Path) -> Result<(DriftReport, Vec<MultivariateReport>)> {
    let not = |e: String| {
        bad(format!(
            "{}: not a drift report's JSON (write one with monitor drift --output report.html, \
             which writes report.json beside it): {e}",
            path.display()
        ))
    };
    let mut body: Value = serde_json::from_slice(&read(path)?).map_err(|e| not(e.to_string()))?;
    let multivariate = match body.get_mut("multivariate").map(Value::take) {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => {
            serde_json::from_value(v).map_err(|e| not(format!("field \"multivariate\": {e}")))?
        }
    };
    if body.get("chunks").is_none() && body.get("report").is_some_and(Value::is_object) {
        body = body["report"].take();
    }
    let drift = serde_json::from_value(body).map_err(|e| not(e.to_string()))?;
    Ok((drift, multivariate))
}

/// Reads a performance report's JSON twin.
pub fn read_performance(path: &Path) -> Result<PerformanceReport> {
    serde_json::from_slice(&read(path)?).map_err(|e| {
        bad(format!(
            "{}: not a performance report's JSON (write one with monitor performance --output \
             report.html, which writes report.json beside it): {e}",
            path.display()
        ))
    })
}

/// Reads the alert delivery log; a bad line's error names its number.
pub fn read_alert_log(path: &Path) -> Result<Vec<LoggedAttempt>> {
    let text = String::from_utf8(read(path)?).map_err(|_| {
        bad(format!(
            "{}: the alert log is not UTF-8 text",
            path.display()
        ))
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let a: LoggedAttempt = serde_json::from_str(line).map_err(|e| {
            bad(format!(
                "{}: line {}: not a delivery log record (monitor --alert-log writes them): {e}",
                path.display(),
                i + 1
            ))
        })?;
        out.push(a);
    }
    out.sort_by(|a, b| a.time.cmp(&b.time));
    Ok(out)
}

/// The alert timeline: one row per rule and subject (triggers, resolves, deliveries, the
/// last status), then every attempt in time order.
fn alert_sections(page: &mut Page, alerts: &[LoggedAttempt]) {
    if alerts.is_empty() {
        page.section(
            "Alert timeline",
            "<p class=\"muted\">The alert log holds no delivery.</p>".into(),
        );
        return;
    }
    let mut keys: Vec<(String, String)> = Vec::new();
    for a in alerts {
        let k = (a.rule.clone(), a.subject.clone());
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|(rule, subject)| {
            let of: Vec<&LoggedAttempt> = alerts
                .iter()
                .filter(|a| &a.rule == rule && &a.subject == subject)
                .collect();
            let count = |action: &str, status: &str| {
                of.iter()
                    .filter(|a| a.action == action && a.status == status)
                    .count()
                    .to_string()
            };
            let last = of.last().map_or(String::new(), |a| {
                format!("{} {} ({})", a.action, a.status, a.time)
            });
            vec![
                rule.clone(),
                subject.clone(),
                count("trigger", "delivered"),
                count("resolve", "delivered"),
                of.iter()
                    .filter(|a| a.status == "failed")
                    .count()
                    .to_string(),
                last,
            ]
        })
        .collect();
    page.section(
        "Alerts by rule",
        html::table(
            &[
                "rule",
                "subject",
                "triggers delivered",
                "resolves delivered",
                "failed deliveries",
                "last",
            ],
            &rows,
        ),
    );
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .map(|a| {
            vec![
                a.time.clone(),
                a.rule.clone(),
                a.subject.clone(),
                a.action.clone(),
                a.channel.clone(),
                a.attempt.to_string(),
                a.status.clone(),
                a.code.map_or(String::new(), |c| c.to_string()),
                a.error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    page.section(
        "Alert timeline",
        html::table(
            &[
                "time", "rule", "subject", "action", "channel", "attempt", "status", "code",
                "error",
            ],
            &rows,
        ),
    );
}

impl MonitoringReport {
    /// The page: what it was made of, then the drift sections, the performance sections and
    /// the alert timeline.
    pub fn render_html(&self, sources: &[(String, String)]) -> String {
        let mut page = Page::new("Monitoring report");
        let rows: Vec<Vec<String>> = sources
            .iter()
            .map(|(what, path)| vec![what.clone(), path.clone()])
            .collect();
        let mut summary = html::table(&["part", "from"], &rows);
        if let Some(d) = &self.drift {
            let drifted: Vec<String> = d
                .columns
                .iter()
                .map(|(n, _)| n)
                .filter(|n| {
                    d.chunks
                        .iter()
                        .any(|c| c.features.iter().any(|f| &&f.column == n && f.drifted))
                })
                .cloned()
                .collect();
            summary.push_str(&format!(
                "<p>Drift: {} of {} features drifted in some chunk{}.</p>",
                drifted.len(),
                d.columns.len(),
                if drifted.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", escape(&drifted.join(", ")))
                }
            ));
        }
        for m in &self.multivariate {
            let alerts = m.chunks.iter().filter(|c| c.alert).count();
            summary.push_str(&format!(
                "<p>Multivariate drift ({}): {alerts} of {} chunks outside the bounds.</p>",
                escape(
                    &crate::alerts::config::Signal::Multivariate {
                        method: m.options.method
                    }
                    .name()
                ),
                m.chunks.len()
            ));
        }
        let fired = self
            .alerts
            .iter()
            .filter(|a| a.action == "trigger" && a.status == "delivered")
            .count();
        if !self.alerts.is_empty() {
            summary.push_str(&format!(
                "<p>Alerts: {fired} trigger(s) delivered, {} failed delivery attempt(s).</p>",
                self.alerts.iter().filter(|a| a.status == "failed").count()
            ));
        }
        page.section("Summary", summary);
        if let Some(d) = &self.drift {
            page.append_page(
                "Drift: ",
                crate::report::drift_page(
                    d,
                    crate::multivariate::report::sections(&self.multivariate, None),
                ),
            );
        }
        if let Some(p) = &self.performance {
            page.append_page(
                "Performance: ",
                crate::performance_report::performance_page(p),
            );
        }
        if sources.iter().any(|(what, _)| what == "alert log") {
            alert_sections(&mut page, &self.alerts);
        }
        page.render()
    }

    /// The JSON twin.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alert_log_reads_back_and_a_bad_line_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.jsonl");
        std::fs::write(
            &p,
            "{\"time\":\"2026-01-02T00:00:00Z\",\"rule\":\"r\",\"subject\":\"x\",\"dedup_key\":\"m/r/x\",\"action\":\"trigger\",\"channel\":\"hook\",\"attempt\":1,\"status\":\"delivered\",\"code\":200,\"error\":null}\n\
             {\"time\":\"2026-01-01T00:00:00Z\",\"rule\":\"r\",\"subject\":\"x\",\"dedup_key\":\"m/r/x\",\"action\":\"trigger\",\"channel\":\"hook\",\"attempt\":1,\"status\":\"failed\",\"code\":500,\"error\":\"HTTP 500\"}\n",
        )
        .unwrap();
        let log = read_alert_log(&p).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].status, "failed", "sorted by time");
        let r = MonitoringReport {
            alerts: log,
            ..Default::default()
        };
        let html = r.render_html(&[("alert log".into(), p.display().to_string())]);
        assert!(html.contains("Alert timeline"));
        assert!(html.contains("1 trigger(s) delivered, 1 failed"));
        std::fs::write(&p, "{\"time\": 1}\n").unwrap();
        match read_alert_log(&p) {
            Err(Error::BadInput { message }) => assert!(message.contains("line 1"), "{message}"),
            other => panic!("{other:?}"),
        }
    }
}
