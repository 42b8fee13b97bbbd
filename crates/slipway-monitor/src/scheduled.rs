//! Scheduled monitors: the file `slipway serve --monitors monitors.yaml` reads, and one run of
//! a monitor over a window of the prediction log.
//!
//! ```yaml
//! monitors:
//!   - name: adult-drift          # letters, digits, '-', '_' and '.'; unique
//!     model: adult               # a served model (the prediction log's model name)
//!     every: 1h                  # how often it runs (at least 1s); the first run is at start
//!     window: 24h                # the log's rows scored in the last 24 hours are compared
//!     chunk_rows: 5000           # optional: chunks of this many rows (default: the window whole)
//!     min_rows: 100              # fewer rows in a chunk's column: a small sample, never drift
//!     alerts: rules.yaml         # optional: alert rules (relative to this file)
//!     reference: {file: train.parquet}   # optional: rows to compare with (or {log_window: 7d})
//!     multivariate: [pca, domain]        # optional: needs a reference with rows
//! ```
//!
//! By default the reference is the served version's training profile
//! ([`ReferenceSummary::from_profile`]): the model's input columns as the bundle saw them in
//! training, summaries only. `reference: {file: ...}` compares with the rows of a file
//! (relative to this file) and `reference: {log_window: 7d}` with the live version's own log
//! in the 7 days before each run's window ([`MonitorReference`]); only a reference with rows
//! can give KS, Wasserstein and the multivariate methods ([`compare_rows`]). The server does
//! the scheduling, reads the window ([`crate::run::drift_file`] on the exported rows) and
//! stores each run's report; what a run is and decides lives here, so every caller behaves
//! alike.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alerts::config::{AlertConfig, parse_duration};
use crate::drift::DriftOptions;
use crate::multivariate::{self, Method, MultivariateOptions, MultivariateReport};
use crate::run::{Chunking, DriftReport, drift_file};
use crate::summary::{ReferenceSource, ReferenceSummary, load_reference};
use crate::{Error, Result};

/// The shortest schedule accepted.
pub const MIN_EVERY: Duration = Duration::from_secs(1);

/// Every monitor of a monitors file, checked.
#[derive(Debug, Clone)]
pub struct MonitorsFile {
    /// In the file's order.
    pub monitors: Vec<ScheduledMonitor>,
}

/// One monitor.
#[derive(Debug, Clone)]
pub struct ScheduledMonitor {
    /// Its name: in report paths, the UI and the REST listing.
    pub name: String,
    /// The served model whose prediction log it reads.
    pub model: String,
    /// How often it runs.
    pub every: Duration,
    /// How far back each run reads.
    pub window: Duration,
    /// Chunks of this many rows (`None`: the window is one chunk).
    pub chunk_rows: Option<u64>,
    /// The drift thresholds (defaults, with `min_rows` from the file).
    pub options: DriftOptions,
    /// The alert rules, loaded and checked with the file.
    pub alerts: Option<AlertConfig>,
    /// Where the rules came from.
    pub alerts_path: Option<PathBuf>,
    /// What the window is compared with.
    pub reference: MonitorReference,
    /// The multivariate methods computed on each run (only with a reference that has rows).
    pub multivariate: Vec<Method>,
}

/// What a monitor compares its window with.
#[derive(Debug, Clone, PartialEq)]
pub enum MonitorReference {
    /// The live version's training profile (summaries only: no KS, no Wasserstein, no
    /// multivariate drift).
    Profile,
    /// The rows of a file (CSV, Parquet or JSON lines).
    File(PathBuf),
    /// The live version's own log, this long before each run's window.
    LogWindow(Duration),
}

impl MonitorReference {
    /// Whether it gives rows (else only a summary).
    pub fn has_rows(&self) -> bool {
        !matches!(self, MonitorReference::Profile)
    }

    /// The window of the log it reads for a run comparing `window` (`LogWindow` only).
    pub fn log_window(&self, window: (i64, i64)) -> Option<(i64, i64)> {
        match self {
            MonitorReference::LogWindow(d) => {
                let d = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
                Some((window.0.saturating_sub(d), window.0))
            }
            _ => None,
        }
    }

    /// `profile`, `file PATH` or `log_window SECONDS` for listings.
    pub fn describe(&self) -> String {
        match self {
            MonitorReference::Profile => "training profile".into(),
            MonitorReference::File(p) => format!("file {}", p.display()),
            MonitorReference::LogWindow(d) => format!("log window of {}s", d.as_secs()),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    monitors: Vec<RawMonitor>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMonitor {
    name: String,
    model: String,
    every: String,
    window: String,
    #[serde(default)]
    chunk_rows: Option<u64>,
    #[serde(default)]
    min_rows: Option<u64>,
    #[serde(default)]
    alerts: Option<PathBuf>,
    #[serde(default)]
    reference: Option<RawReference>,
    #[serde(default)]
    multivariate: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReference {
    #[serde(default)]
    file: Option<PathBuf>,
    #[serde(default)]
    log_window: Option<String>,
}

fn bad(message: String) -> Error {
    Error::BadInput { message }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl MonitorsFile {
    /// Reads and checks a monitors file; `alerts:` paths are relative to its folder.
    pub fn load(path: &Path) -> Result<MonitorsFile> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        MonitorsFile::parse(&text, base).map_err(|e| match e {
            Error::BadInput { message } => bad(format!("{}: {message}", path.display())),
            other => other,
        })
    }

    /// Parses and checks the YAML text; every error names the monitor and the field.
    pub fn parse(text: &str, base: &Path) -> Result<MonitorsFile> {
        let raw: RawFile = serde_norway::from_str(text).map_err(|e| bad(e.to_string()))?;
        if raw.monitors.is_empty() {
            return Err(bad("field \"monitors\": list at least one monitor".into()));
        }
        let mut monitors: Vec<ScheduledMonitor> = Vec::with_capacity(raw.monitors.len());
        for (i, m) in raw.monitors.into_iter().enumerate() {
            let at = format!("monitors[{i}] {:?}", m.name);
            if !valid_name(&m.name) {
                return Err(bad(format!(
                    "{at}: field \"name\": use 1 to 128 letters, digits, '-', '_' or '.'"
                )));
            }
            if monitors.iter().any(|o| o.name == m.name) {
                return Err(bad(format!(
                    "{at}: field \"name\": another monitor has this name"
                )));
            }
            if !valid_name(&m.model) {
                return Err(bad(format!(
                    "{at}: field \"model\" {:?}: a served model name holds letters, digits, \
                     '-', '_' and '.'",
                    m.model
                )));
            }
            let duration = |field: &str, s: &str| {
                parse_duration(s).ok_or_else(|| {
                    bad(format!(
                        "{at}: field \"{field}\" {s:?}: write a duration such as 30s, 15m, 2h or 1d"
                    ))
                })
            };
            let every = duration("every", &m.every)?;
            if every < MIN_EVERY {
                return Err(bad(format!(
                    "{at}: field \"every\" {:?}: at least {}s",
                    m.every,
                    MIN_EVERY.as_secs()
                )));
            }
            let window = duration("window", &m.window)?;
            if window.is_zero() {
                return Err(bad(format!(
                    "{at}: field \"window\": must be longer than 0"
                )));
            }
            if m.chunk_rows == Some(0) {
                return Err(bad(format!("{at}: field \"chunk_rows\": at least 1 row")));
            }
            let mut options = DriftOptions::default();
            if let Some(min) = m.min_rows {
                options.min_rows = min;
            }
            let (alerts, alerts_path) = match m.alerts {
                Some(p) => {
                    let p = if p.is_absolute() { p } else { base.join(p) };
                    let config = AlertConfig::load(&p).map_err(|e| match e {
                        Error::BadInput { message } => {
                            bad(format!("{at}: field \"alerts\": {message}"))
                        }
                        Error::Io { path, source } => {
                            bad(format!("{at}: field \"alerts\": {path}: {source}"))
                        }
                        other => other,
                    })?;
                    (Some(config), Some(p))
                }
                None => (None, None),
            };
            let reference = match m.reference {
                None => MonitorReference::Profile,
                Some(RawReference {
                    file: Some(_),
                    log_window: Some(_),
                }) => {
                    return Err(bad(format!(
                        "{at}: field \"reference\": give \"file\" or \"log_window\", not both"
                    )));
                }
                Some(RawReference {
                    file: None,
                    log_window: None,
                }) => {
                    return Err(bad(format!(
                        "{at}: field \"reference\": give \"file: PATH\" (rows to compare with) or \"log_window: 7d\" (the log before each window); leave it out for the training profile"
                    )));
                }
                Some(RawReference {
                    file: Some(p),
                    log_window: None,
                }) => {
                    let p = if p.is_absolute() { p } else { base.join(p) };
                    if let Err(e) = std::fs::metadata(&p) {
                        return Err(bad(format!(
                            "{at}: field \"reference.file\": {}: {e}",
                            p.display()
                        )));
                    }
                    slipway_data::ingest::Format::from_path(&p)
                        .map_err(|e| bad(format!("{at}: field \"reference.file\": {e}")))?;
                    MonitorReference::File(p)
                }
                Some(RawReference {
                    file: None,
                    log_window: Some(w),
                }) => {
                    let d = duration("reference.log_window", &w)?;
                    if d.is_zero() {
                        return Err(bad(format!(
                            "{at}: field \"reference.log_window\": must be longer than 0"
                        )));
                    }
                    MonitorReference::LogWindow(d)
                }
            };
            let mut methods = Vec::new();
            for name in &m.multivariate {
                let method = Method::parse(name).ok_or_else(|| {
                    bad(format!(
                        "{at}: field \"multivariate\": unknown method {name:?}; the methods are pca, domain"
                    ))
                })?;
                if methods.contains(&method) {
                    return Err(bad(format!(
                        "{at}: field \"multivariate\": {name:?} is listed twice"
                    )));
                }
                methods.push(method);
            }
            if !methods.is_empty() && !reference.has_rows() {
                return Err(bad(format!(
                    "{at}: field \"multivariate\": PCA reconstruction and the domain classifier need the reference's rows, and this monitor's reference is the training profile (summaries only); add \"reference: {{file: PATH}}\" or \"reference: {{log_window: 7d}}\""
                )));
            }
            if let Some(config) = &alerts {
                config
                    .check_multivariate(&methods, "add it to the monitor's \"multivariate\" list")
                    .map_err(|e| bad(format!("{at}: field \"alerts\": {e}")))?;
            }
            monitors.push(ScheduledMonitor {
                name: m.name,
                model: m.model,
                every,
                window,
                chunk_rows: m.chunk_rows,
                options,
                alerts,
                alerts_path,
                reference,
                multivariate: methods,
            });
        }
        Ok(MonitorsFile { monitors })
    }
}

/// How a monitor run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Compared; the report says whether anything drifted.
    Ok,
    /// Nothing to compare (no rows in the window, no version loaded yet).
    Skipped,
    /// The run could not finish (the message says why).
    Failed,
}

/// One run of a monitor, as stored next to its report and listed by the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorRun {
    /// The monitor.
    pub monitor: String,
    /// The served model.
    pub model: String,
    /// The version whose training profile was the reference.
    pub version: Option<String>,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// The window compared: scoring times from (inclusive) ...
    pub window_start_ms: i64,
    /// ... to (exclusive), UTC milliseconds.
    pub window_end_ms: i64,
    /// How it ended.
    pub status: RunStatus,
    /// Why it was skipped or failed.
    pub message: Option<String>,
    /// Rows compared.
    pub rows: u64,
    /// Chunks compared.
    pub chunks: usize,
    /// Whether any feature drifted in any chunk.
    pub drifted: bool,
    /// The features that drifted in some chunk, in the reference's order.
    pub drifted_features: Vec<String>,
    /// Alerts firing after the run (with `alerts:`).
    pub alerts_firing: Option<usize>,
    /// Alert deliveries that failed after their retries.
    pub failed_deliveries: Option<usize>,
    /// The report's HTML and JSON, where the caller stored them.
    pub report_html: Option<String>,
    /// See `report_html`.
    pub report_json: Option<String>,
    /// What the window was compared with (`training profile`, `file PATH`, `log window of
    /// Ns`; absent in runs stored before it was recorded).
    #[serde(default)]
    pub reference: Option<String>,
    /// One entry per multivariate method computed (`multivariate:`).
    #[serde(default)]
    pub multivariate: Vec<MultivariateRun>,
}

/// A multivariate method's outcome in one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultivariateRun {
    /// `pca` or `domain`.
    pub method: Method,
    /// The alert signal of its value (`multivariate.pca.reconstruction_error`, ...).
    pub metric: String,
    /// The latest chunk's value.
    pub value: Option<f64>,
    /// Alert at or below this.
    pub lower: Option<f64>,
    /// Alert at or above this.
    pub upper: Option<f64>,
    /// Chunks outside the bounds.
    pub alert_chunks: usize,
    /// Chunks compared.
    pub chunks: usize,
}

impl MultivariateRun {
    /// The outcome of one multivariate report.
    pub fn of(report: &MultivariateReport) -> MultivariateRun {
        let method = report.options.method;
        MultivariateRun {
            method,
            metric: crate::alerts::config::Signal::Multivariate { method }.name(),
            value: report.chunks.last().and_then(|c| c.value),
            lower: report.bounds.lower,
            upper: report.bounds.upper,
            alert_chunks: report.chunks.iter().filter(|c| c.alert).count(),
            chunks: report.chunks.len(),
        }
    }
}

impl MonitorRun {
    /// A run that compared nothing, or failed, with its reason.
    pub fn without_report(
        spec: &ScheduledMonitor,
        version: Option<String>,
        started_at: String,
        window: (i64, i64),
        status: RunStatus,
        message: String,
    ) -> MonitorRun {
        MonitorRun {
            monitor: spec.name.clone(),
            model: spec.model.clone(),
            version,
            started_at,
            window_start_ms: window.0,
            window_end_ms: window.1,
            status,
            message: Some(message),
            rows: 0,
            chunks: 0,
            drifted: false,
            drifted_features: Vec::new(),
            alerts_firing: None,
            failed_deliveries: None,
            report_html: None,
            report_json: None,
            reference: Some(spec.reference.describe()),
            multivariate: Vec::new(),
        }
    }

    /// The run of a finished drift report.
    pub fn from_report(
        spec: &ScheduledMonitor,
        version: Option<String>,
        started_at: String,
        window: (i64, i64),
        report: &DriftReport,
    ) -> MonitorRun {
        let drifted_features: Vec<String> = report
            .columns
            .iter()
            .map(|(name, _)| name)
            .filter(|name| {
                report
                    .chunks
                    .iter()
                    .any(|c| c.features.iter().any(|f| &f.column == *name && f.drifted))
            })
            .cloned()
            .collect();
        MonitorRun {
            monitor: spec.name.clone(),
            model: spec.model.clone(),
            version,
            started_at,
            window_start_ms: window.0,
            window_end_ms: window.1,
            status: RunStatus::Ok,
            message: None,
            rows: report.current_rows,
            chunks: report.chunks.len(),
            drifted: report.drifted,
            drifted_features,
            alerts_firing: None,
            failed_deliveries: None,
            report_html: None,
            report_json: None,
            reference: Some(spec.reference.describe()),
            multivariate: Vec::new(),
        }
    }
}

/// What a run with a reference of rows computed.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The per-column drift.
    pub drift: DriftReport,
    /// One report per method of the monitor's `multivariate:`, in its order.
    pub multivariate: Vec<MultivariateReport>,
}

fn chunking(spec: &ScheduledMonitor) -> Chunking {
    match spec.chunk_rows {
        Some(size) => Chunking::Rows { size },
        None => Chunking::Whole,
    }
}

/// Compares the rows of `current` with the rows of `reference` (a file, or a window of the
/// log exported) on `columns` (the model's inputs): the per-column drift against the
/// reference's summary, then each multivariate method of the monitor, both sides cut into
/// the monitor's chunks (so PCA's mean ± 3·std bounds need `chunk_rows`: one reference chunk
/// gives no spread). Heavy: call it off the async executor.
pub fn compare_rows(
    spec: &ScheduledMonitor,
    reference: &Path,
    reference_label: &str,
    columns: &[String],
    current: &Path,
    current_label: &str,
) -> Result<Comparison> {
    let source = ReferenceSource::File(reference.to_path_buf());
    let mut summary = load_reference(&source, Some(columns), &[])?;
    summary.source = reference_label.to_string();
    let chunking = chunking(spec);
    let mut drift = drift_file(&summary, current, &chunking, &spec.options, &[])?;
    drift.current = current_label.to_string();
    let mut reports = Vec::new();
    if !spec.multivariate.is_empty() {
        let reference = slipway_data::ingest::read_table(reference, &Default::default())?;
        let current = slipway_data::ingest::read_table(current, &Default::default())?;
        for &method in &spec.multivariate {
            let options = MultivariateOptions {
                min_rows: spec.options.min_rows,
                ..MultivariateOptions::new(method)
            };
            reports.push(multivariate::run(
                &reference,
                &current,
                columns,
                &[],
                &chunking,
                &options,
            )?);
        }
    }
    Ok(Comparison {
        drift,
        multivariate: reports,
    })
}

/// The window a run that starts at `now_ms` compares: `[now − window, now)`.
pub fn window_of(spec: &ScheduledMonitor, now_ms: i64) -> (i64, i64) {
    let w = i64::try_from(spec.window.as_millis()).unwrap_or(i64::MAX);
    (now_ms.saturating_sub(w), now_ms)
}

/// Compares the rows of `current` (a window of the log, exported) with `reference`, chunked
/// as the monitor says. `current_label` names the window in the report.
pub fn compare(
    spec: &ScheduledMonitor,
    reference: &ReferenceSummary,
    current: &Path,
    current_label: &str,
) -> Result<DriftReport> {
    let mut report = drift_file(reference, current, &chunking(spec), &spec.options, &[])?;
    report.current = current_label.to_string();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<MonitorsFile> {
        MonitorsFile::parse(text, Path::new("."))
    }

    fn message(r: Result<MonitorsFile>) -> String {
        match r {
            Err(Error::BadInput { message }) => message,
            Err(other) => panic!("not bad input: {other}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn a_monitor_is_read_with_its_defaults() {
        let f = parse(
            "monitors:\n  - {name: adult-drift, model: adult, every: 1h, window: 1d, chunk_rows: 500}\n",
        )
        .unwrap();
        let m = &f.monitors[0];
        assert_eq!(m.every, Duration::from_secs(3600));
        assert_eq!(m.window, Duration::from_secs(86_400));
        assert_eq!(m.chunk_rows, Some(500));
        assert_eq!(m.options.min_rows, 100);
        assert!(m.alerts.is_none());
        assert_eq!(
            window_of(m, 100_000_000),
            (100_000_000 - 86_400_000, 100_000_000)
        );
    }

    #[test]
    fn each_error_names_the_monitor_and_the_field() {
        let m = message(parse("monitors: []\n"));
        assert!(m.contains("at least one monitor"), "{m}");
        let m = message(parse(
            "monitors:\n  - {name: a, model: adult, every: 0, window: 1h}\n",
        ));
        assert!(m.contains("monitors[0] \"a\": field \"every\""), "{m}");
        assert!(m.contains("at least 1s"), "{m}");
        let m = message(parse(
            "monitors:\n  - {name: a, model: adult, every: 1h, window: soon}\n",
        ));
        assert!(m.contains("field \"window\" \"soon\""), "{m}");
        let m = message(parse(
            "monitors:\n  - {name: a, model: adult, every: 1h, window: 1h}\n  - {name: a, model: b, every: 1h, window: 1h}\n",
        ));
        assert!(m.contains("monitors[1] \"a\": field \"name\""), "{m}");
        let m = message(parse(
            "monitors:\n  - {name: \"../x\", model: adult, every: 1h, window: 1h}\n",
        ));
        assert!(m.contains("field \"name\""), "{m}");
        let m = message(parse(
            "monitors:\n  - {name: a, model: \"a/b\", every: 1h, window: 1h}\n",
        ));
        assert!(m.contains("field \"model\""), "{m}");
        let m = message(parse(
            "monitors:\n  - {name: a, model: b, every: 1h, window: 1h, chunk_rows: 0}\n",
        ));
        assert!(m.contains("field \"chunk_rows\""), "{m}");
        let m = message(parse(
            "monitors:\n  - {name: a, model: b, every: 1h, window: 1h, alerts: /nonexistent/rules.yaml}\n",
        ));
        assert!(m.contains("field \"alerts\""), "{m}");
        let m = message(parse(
            "monitors:\n  - {name: a, model: b, every: 1h, window: 1h, colour: red}\n",
        ));
        assert!(m.contains("colour"), "{m}");
    }

    #[test]
    fn reference_and_multivariate_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ref.csv"), "a,b\n1,2\n").unwrap();
        std::fs::write(
            dir.path().join("rules.yaml"),
            "channels:\n  s: { type: slack, url_env: U }\nrules:\n  - { name: auc, metric: multivariate.domain.auc, above: 0.7, severity: info, channels: [s] }\n",
        )
        .unwrap();
        let parse = |text: &str| MonitorsFile::parse(text, dir.path());
        let f = parse(
            "monitors:\n  - {name: a, model: b, every: 1h, window: 1h, reference: {file: ref.csv}, multivariate: [pca, domain], alerts: rules.yaml}\n  - {name: c, model: b, every: 1h, window: 1h, reference: {log_window: 7d}, multivariate: [domain]}\n  - {name: d, model: b, every: 1h, window: 1h}\n",
        )
        .unwrap();
        let [a, c, d] = &f.monitors[..] else {
            panic!("three monitors")
        };
        assert_eq!(
            a.reference,
            MonitorReference::File(dir.path().join("ref.csv"))
        );
        assert_eq!(a.multivariate, [Method::Pca, Method::Domain]);
        assert_eq!(
            c.reference,
            MonitorReference::LogWindow(Duration::from_secs(7 * 86_400))
        );
        assert_eq!(
            c.reference.log_window((10 * 86_400_000, 11 * 86_400_000)),
            Some((3 * 86_400_000, 10 * 86_400_000))
        );
        assert_eq!(d.reference, MonitorReference::Profile);
        assert!(d.multivariate.is_empty() && !d.reference.has_rows());

        for (text, expect) in [
            (
                "multivariate: [pca]",
                "monitors[0] \"a\": field \"multivariate\": PCA reconstruction and the domain classifier need the reference's rows, and this monitor's reference is the training profile (summaries only)",
            ),
            (
                "reference: {file: ref.csv}, multivariate: [umap]",
                "field \"multivariate\": unknown method \"umap\"; the methods are pca, domain",
            ),
            (
                "reference: {file: ref.csv}, multivariate: [pca, pca]",
                "field \"multivariate\": \"pca\" is listed twice",
            ),
            (
                "reference: {file: missing.parquet}, multivariate: [pca]",
                "field \"reference.file\": ",
            ),
            (
                "reference: {file: rules.yaml}",
                "field \"reference.file\": ",
            ),
            (
                "reference: {file: ref.csv, log_window: 1d}",
                "field \"reference\": give \"file\" or \"log_window\", not both",
            ),
            ("reference: {}", "field \"reference\": give \"file: PATH\""),
            (
                "reference: {log_window: soon}",
                "field \"reference.log_window\" \"soon\"",
            ),
            ("reference: {log_window: 0}", "must be longer than 0"),
            ("reference: {rows: x.csv}", "unknown field `rows`"),
            (
                "reference: {file: ref.csv}, multivariate: [pca], alerts: rules.yaml",
                "monitors[0] \"a\": field \"alerts\": rule \"auc\": field \"metric\": multivariate.domain.auc needs the domain multivariate run, and this run computes pca (add it to the monitor's \"multivariate\" list)",
            ),
        ] {
            let m = message(parse(&format!(
                "monitors:\n  - {{name: a, model: b, every: 1h, window: 1h, {text}}}\n"
            )));
            assert!(m.contains(expect), "{text}: {m}");
        }
    }
}
