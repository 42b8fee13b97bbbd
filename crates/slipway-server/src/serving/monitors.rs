//! Scheduled monitors (`slipway serve --monitors monitors.yaml`): every `every`, each monitor
//! compares the window of the prediction log its served model scored with that version's
//! training profile (or with the rows of its `reference:` file or log window, with the
//! multivariate methods of its `multivariate:`), stores the report (HTML and JSON) and the run's record in the artifact
//! store under `_monitoring/{monitor}/{time}/`, and evaluates its alert rules (the alert state
//! is kept at `_monitoring/{monitor}/alert-state.json`, so a restarted server does not alert
//! twice). `GET /monitors` lists the monitors and their latest runs; the web UI's monitoring
//! page shows them with the reports' charts.
//!
//! What a run is and decides is `slipway_monitor::scheduled`'s; this module schedules,
//! exports the window ([`super::export_predictions`]) and stores. The comparison and the
//! alert deliveries (which may sleep between retries) run on the blocking pool, never on an
//! async worker.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};

use axum::Extension;
use axum::Json;
use bytes::Bytes;
use serde_json::{Value, json};
use slipway_monitor::alerts::deliver::DeliveryLog;
use slipway_monitor::alerts::evaluate::AlertState;
use slipway_monitor::alerts::{MonitorReport, process_with_channels};
use slipway_monitor::scheduled::{
    MonitorReference, MonitorRun, MonitorsFile, RunStatus, ScheduledMonitor, compare, compare_rows,
    window_of,
};
use slipway_monitor::summary::ReferenceSummary;
use slipway_store::{ArtifactPath, ArtifactStore};

use super::Serving;

/// Where monitors keep their reports, under the artifact root.
pub const MONITORING_ROOT: &str = "_monitoring";

/// Runs kept in memory per monitor (older ones stay in the artifact store).
const KEPT_RUNS: usize = 50;

/// The monitors of a server and their recent runs.
pub struct Monitors {
    specs: Vec<ScheduledMonitor>,
    runs: Mutex<BTreeMap<String, VecDeque<MonitorRun>>>,
}

impl std::fmt::Debug for Monitors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitors")
            .field("monitors", &self.specs.len())
            .finish_non_exhaustive()
    }
}

impl Monitors {
    /// The monitors of a checked file.
    pub fn new(file: MonitorsFile) -> Monitors {
        Monitors {
            specs: file.monitors,
            runs: Mutex::new(BTreeMap::new()),
        }
    }

    /// The monitors, in the file's order.
    pub fn specs(&self) -> &[ScheduledMonitor] {
        &self.specs
    }

    /// A monitor's recent runs, newest first.
    pub fn runs(&self, name: &str) -> Vec<MonitorRun> {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.get(name)
            .map(|q| q.iter().rev().cloned().collect())
            .unwrap_or_default()
    }

    fn record(&self, run: MonitorRun) {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let q = runs.entry(run.monitor.clone()).or_default();
        q.push_back(run);
        while q.len() > KEPT_RUNS {
            q.pop_front();
        }
    }
}

fn path(parts: &[&str]) -> Result<ArtifactPath, String> {
    ArtifactPath::parse(&parts.join("/")).map_err(|e| e.to_string())
}

/// Loads the runs stored by earlier servers (newest [`KEPT_RUNS`] per monitor).
async fn load_stored_runs(monitors: &Monitors, artifacts: &dyn ArtifactStore) {
    for spec in monitors.specs() {
        let Ok(dir) = path(&[MONITORING_ROOT, &spec.name]) else {
            continue;
        };
        let Ok(entries) = artifacts.list(&dir).await else {
            continue;
        };
        let mut stamps: Vec<String> = entries
            .into_iter()
            .filter(|e| e.is_dir)
            .map(|e| e.name)
            .collect();
        stamps.sort();
        let skip = stamps.len().saturating_sub(KEPT_RUNS);
        for stamp in &stamps[skip..] {
            let Ok(p) = path(&[MONITORING_ROOT, &spec.name, stamp, "run.json"]) else {
                continue;
            };
            if let Ok(bytes) = artifacts.get(&p).await {
                if let Ok(run) = serde_json::from_slice::<MonitorRun>(&bytes) {
                    monitors.record(run);
                }
            }
        }
    }
}

/// Starts one task per monitor; each stops when the server is dropped.
pub(crate) fn start(serving: &Arc<Serving>) {
    let Some(monitors) = serving.monitors.clone() else {
        return;
    };
    let weak = Arc::downgrade(serving);
    tokio::spawn(async move {
        if let Some(s) = weak.upgrade() {
            if let Some(log) = &s.log {
                load_stored_runs(&monitors, log.store().artifacts.as_ref()).await;
            }
        }
        for (i, _) in monitors.specs().iter().enumerate() {
            tokio::spawn(schedule(weak.clone(), monitors.clone(), i));
        }
    });
}

async fn schedule(serving: Weak<Serving>, monitors: Arc<Monitors>, index: usize) {
    let every = monitors.specs()[index].every;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The alert state survives restarts in the artifact store.
    let mut state: Option<AlertState> = None;
    loop {
        tick.tick().await;
        let Some(s) = serving.upgrade() else {
            return;
        };
        let spec = &monitors.specs()[index];
        let run = run_once(&s, spec, &mut state).await;
        match run.status {
            RunStatus::Ok => tracing::info!(
                monitor = %spec.name,
                rows = run.rows,
                drifted = run.drifted,
                "monitor run"
            ),
            _ => tracing::warn!(
                monitor = %spec.name,
                status = ?run.status,
                message = run.message.as_deref().unwrap_or(""),
                "monitor run"
            ),
        }
        monitors.record(run);
    }
}

/// One run of `spec` now.
async fn run_once(
    serving: &Serving,
    spec: &ScheduledMonitor,
    state: &mut Option<AlertState>,
) -> MonitorRun {
    let now = chrono::Utc::now();
    let started_at = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let window = window_of(spec, now.timestamp_millis());
    let without = |version: Option<String>, status, message: String| {
        MonitorRun::without_report(spec, version, started_at.clone(), window, status, message)
    };
    let Some(log) = &serving.log else {
        return without(None, RunStatus::Failed, "the prediction log is off".into());
    };
    let Some(live) = serving.deployment(&spec.model).and_then(|d| d.live()) else {
        return without(
            None,
            RunStatus::Skipped,
            format!("model '{}' has no version loaded", spec.model),
        );
    };
    let version = Some(live.version.clone());
    let Some(profile) = live.model.profile().cloned() else {
        return without(
            version,
            RunStatus::Failed,
            format!(
                "version {} of '{}' carries no training profile to compare with",
                live.version, spec.model
            ),
        );
    };
    let inputs: Vec<String> = live.model.inputs().iter().map(|(n, _)| n.clone()).collect();
    // Rows still queued are written first, so the window holds everything scored in it.
    serving.flush_log().await;
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            return without(version, RunStatus::Failed, format!("temporary folder: {e}"));
        }
    };
    let file = dir.path().join("window.parquet");
    match super::export_predictions(
        log.store(),
        &spec.model,
        Some(&live.version),
        Some(window.0),
        Some(window.1),
        &file,
    )
    .await
    {
        Ok(_) => {}
        Err(e) if e.starts_with("no predictions") => {
            return without(version, RunStatus::Skipped, e);
        }
        Err(e) => return without(version, RunStatus::Failed, e),
    }
    // A reference of rows: a file, or the live version's log before the window.
    let reference_rows = match &spec.reference {
        MonitorReference::Profile => None,
        MonitorReference::File(p) => Some((p.clone(), format!("file {}", p.display()))),
        MonitorReference::LogWindow(_) => {
            let Some(rw) = spec.reference.log_window(window) else {
                return without(version, RunStatus::Failed, "no reference window".into());
            };
            let ref_file = dir.path().join("reference.parquet");
            match super::export_predictions(
                log.store(),
                &spec.model,
                Some(&live.version),
                Some(rw.0),
                Some(rw.1),
                &ref_file,
            )
            .await
            {
                Ok(_) => {}
                Err(e) if e.starts_with("no predictions") => {
                    return without(
                        version,
                        RunStatus::Skipped,
                        format!("no reference rows before the window: {e}"),
                    );
                }
                Err(e) => return without(version, RunStatus::Failed, e),
            }
            Some((
                ref_file,
                format!(
                    "prediction log of {} version {}, {} to {}",
                    spec.model,
                    live.version,
                    ms_text(rw.0),
                    ms_text(rw.1)
                ),
            ))
        }
    };
    let artifacts = log.store().artifacts.clone();
    if state.is_none() && spec.alerts.is_some() {
        *state = Some(load_state(artifacts.as_ref(), &spec.name).await);
    }
    let job_spec = spec.clone();
    let job_state = state.clone();
    let label = format!("{} version {} (training profile)", spec.model, live.version);
    let current_label = format!(
        "prediction log of {} version {}, {} to {}",
        spec.model,
        live.version,
        ms_text(window.0),
        ms_text(window.1)
    );
    let job = tokio::task::spawn_blocking(move || {
        let _dir = dir;
        let (report, multivariate) = match &reference_rows {
            None => {
                let summary = ReferenceSummary::from_profile(&profile, &inputs, &label)
                    .map_err(|e| e.to_string())?;
                let report = compare(&job_spec, &summary, &file, &current_label)
                    .map_err(|e| e.to_string())?;
                (report, Vec::new())
            }
            Some((path, ref_label)) => {
                let c = compare_rows(&job_spec, path, ref_label, &inputs, &file, &current_label)
                    .map_err(|e| e.to_string())?;
                (c.drift, c.multivariate)
            }
        };
        let html = slipway_monitor::report::render_html_with(
            &report,
            slipway_monitor::multivariate::report::sections(&multivariate, None),
        );
        let alerts = match (&job_spec.alerts, job_state) {
            (Some(config), Some(mut st)) => {
                let mut log = DeliveryLog::new(None);
                let run = process_with_channels(
                    config,
                    MonitorReport::DriftWith {
                        drift: &report,
                        multivariate: &multivariate,
                    },
                    &mut st,
                    chrono::Utc::now(),
                    &mut log,
                    &|var| std::env::var(var).ok(),
                )
                .map_err(|e| e.to_string())?;
                Some((run, st, log.records))
            }
            _ => None,
        };
        Ok::<_, String>((report, multivariate, html, alerts))
    })
    .await;
    let (report, multivariate, html, alerts) = match job {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => return without(version, RunStatus::Failed, e),
        Err(_) => {
            return without(
                version,
                RunStatus::Failed,
                "the comparison stopped unexpectedly".into(),
            );
        }
    };
    let mut run = MonitorRun::from_report(spec, version, started_at.clone(), window, &report);
    run.multivariate = multivariate
        .iter()
        .map(slipway_monitor::scheduled::MultivariateRun::of)
        .collect();
    let stamp = now.format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let mut deliveries = Value::Null;
    if let Some((alert_run, new_state, records)) = alerts {
        run.alerts_firing = Some(alert_run.firing);
        run.failed_deliveries = Some(alert_run.failed_deliveries);
        deliveries = serde_json::to_value(&records).unwrap_or(Value::Null);
        if let Err(e) = save_state(artifacts.as_ref(), &spec.name, &new_state).await {
            tracing::warn!(monitor = %spec.name, error = %e, "saving the alert state");
        }
        *state = Some(new_state);
    }
    let html_path = format!("{MONITORING_ROOT}/{}/{stamp}/report.html", spec.name);
    let json_path = format!("{MONITORING_ROOT}/{}/{stamp}/report.json", spec.name);
    let report_json = serde_json::to_vec_pretty(&json!({
        "report": report,
        "multivariate": multivariate,
        "alert_deliveries": deliveries,
    }))
    .unwrap_or_default();
    let stored = async {
        put(artifacts.as_ref(), &html_path, Bytes::from(html)).await?;
        put(artifacts.as_ref(), &json_path, Bytes::from(report_json)).await
    }
    .await;
    match stored {
        Ok(()) => {
            run.report_html = Some(html_path);
            run.report_json = Some(json_path);
        }
        Err(e) => {
            run.message = Some(format!("the report could not be stored: {e}"));
        }
    }
    let run_path = format!("{MONITORING_ROOT}/{}/{stamp}/run.json", spec.name);
    if let Ok(bytes) = serde_json::to_vec_pretty(&run) {
        if let Err(e) = put(artifacts.as_ref(), &run_path, Bytes::from(bytes)).await {
            tracing::warn!(monitor = %spec.name, error = %e, "storing the run record");
        }
    }
    run
}

fn ms_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| ms.to_string())
}

async fn put(artifacts: &dyn ArtifactStore, raw: &str, bytes: Bytes) -> Result<(), String> {
    let p = ArtifactPath::parse(raw).map_err(|e| e.to_string())?;
    artifacts.put(&p, bytes).await.map_err(|e| e.to_string())
}

async fn load_state(artifacts: &dyn ArtifactStore, monitor: &str) -> AlertState {
    let Ok(p) = path(&[MONITORING_ROOT, monitor, "alert-state.json"]) else {
        return AlertState::default();
    };
    match artifacts.get(&p).await {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(monitor, error = %e, "the stored alert state is unreadable; starting empty");
            AlertState::default()
        }),
        Err(_) => AlertState::default(),
    }
}

async fn save_state(
    artifacts: &dyn ArtifactStore,
    monitor: &str,
    state: &AlertState,
) -> Result<(), String> {
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?;
    put(
        artifacts,
        &format!("{MONITORING_ROOT}/{monitor}/alert-state.json"),
        Bytes::from(bytes),
    )
    .await
}

/// The listing `GET /monitors` answers (and the UI page draws).
pub(crate) fn listing(monitors: Option<&Monitors>) -> Value {
    let Some(m) = monitors else {
        return json!({ "monitors": [] });
    };
    let list: Vec<Value> = m
        .specs()
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "model": s.model,
                "every_seconds": s.every.as_secs(),
                "window_seconds": s.window.as_secs(),
                "chunk_rows": s.chunk_rows,
                "alerts": s.alerts_path.as_ref().map(|p| p.display().to_string()),
                "reference": s.reference.describe(),
                "multivariate": s.multivariate.iter().map(|m| m.name()).collect::<Vec<_>>(),
                "runs": m.runs(&s.name),
            })
        })
        .collect();
    json!({ "monitors": list })
}

/// `GET /monitors`: each monitor with its settings and recent runs, newest first.
pub(crate) async fn list(Extension(serving): Extension<Arc<Serving>>) -> Json<Value> {
    Json(listing(serving.monitors.as_deref()))
}
