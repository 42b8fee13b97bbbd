//! Records runs through the MLflow REST client. A `slipway train` run goes to the experiment
//! named after the pipeline: params of every candidate, per-fold CV scores (metric steps,
//! step = fold index), holdout metrics (clustering: each candidate's scores and the selected
//! one's), data and config fingerprints as tags, the data files as dataset inputs (what the
//! MLflow UI and `run.inputs` show), the bundle and the reports as artifacts, and the final
//! status. `slipway models register --bundle` records an import run the same way
//! from what the bundle's manifest says.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use slipway_engine::{ClusterOutcome, PipelineConfig, TrainOutcome};
use slipway_learn::bundle::Lineage;

use crate::tracking::{Client, ClientError, Result, now_ms};

/// MLflow's per-request `log-batch` limits.
const BATCH_METRICS: usize = 1000;
const BATCH_PARAMS: usize = 100;
const BATCH_TAGS: usize = 100;

/// A run being recorded.
pub struct RunRecorder<'a> {
    client: &'a Client,
    /// The run id.
    pub run_id: String,
    /// The experiment id.
    pub experiment_id: String,
    artifact_uri: String,
    /// The name given to `start` (the pipeline's), kept for a failed run's name.
    base_name: String,
    /// When the run started, in ms since the epoch.
    started_ms: i64,
}

/// A run's name as people read it in a runs table: `base` (`<pipeline>-<selected candidate>`),
/// the start time in UTC (`MMDD-HHMM`) and the last 4 characters of the run id, which keep
/// two runs started in the same minute apart (a run id starts with its creation time, so its
/// first characters are shared by runs made together): `churn-gbdt-1206-0323-9f2c`.
pub fn run_name(base: &str, started_ms: i64, run_id: &str) -> String {
    let time = chrono::DateTime::from_timestamp_millis(started_ms)
        .map(|t| t.format("%m%d-%H%M").to_string())
        .unwrap_or_default();
    let skip = run_id.chars().count().saturating_sub(4);
    let id: String = run_id.chars().skip(skip).collect();
    [base, time.as_str(), id.as_str()]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// Everything one run logs, whichever command produced it.
pub struct RunLog {
    /// What the run's name starts with (`<pipeline>-<selected candidate>`); see [`run_name`].
    name: String,
    params: Vec<Value>,
    metrics: Vec<Value>,
    tags: Vec<Value>,
    /// Dataset inputs (MLflow's `DatasetInput` JSON).
    inputs: Vec<Value>,
    /// Files uploaded at the artifact root (the reports).
    files: Vec<PathBuf>,
    /// The bundle, uploaded as `model/`.
    bundle: Option<PathBuf>,
}

impl RunLog {
    /// A supervised `slipway train` run.
    pub fn train(cfg: &PipelineConfig, config_text: &str, out: &TrainOutcome) -> Result<Self> {
        let (mut tags, mut inputs) = run_tags(
            cfg,
            config_text,
            &out.selected,
            out.gate.passed,
            out.validation.is_ok(),
        )?;
        if let Some(test) = &cfg.data.test {
            let fp = fingerprint(test)?;
            tags.push(kv("slipway.data.test.path", test.display().to_string()));
            inputs.push(dataset_input(&test.display().to_string(), &fp, "test"));
            tags.push(kv("slipway.data.test.fingerprint", fp));
        }
        // A failed candidate's error, so the comparison in the tracking UI shows why it has
        // no scores (MLflow tag values hold up to 8,000 characters).
        for c in &out.candidates {
            if let Some(e) = &c.error {
                let text: String = e.chars().take(5000).collect();
                tags.push(kv(format!("slipway.candidate.{}.error", c.name), text));
            }
        }
        if !out.warnings.is_empty() {
            tags.push(kv("slipway.warnings", out.warnings.len().to_string()));
        }
        Ok(RunLog {
            name: format!("{}-{}", cfg.name, out.selected),
            params: params(cfg, out),
            metrics: metrics(out, now_ms()),
            tags: with_bundle(tags, out.bundle.as_deref()),
            inputs,
            // report.html links profile.html, which `train` writes next to it.
            files: vec![
                out.report_html.clone(),
                out.report_json.clone(),
                out.report_html.with_file_name("profile.html"),
            ],
            bundle: out.bundle.clone(),
        })
    }

    /// A `task: clustering` run: each candidate's scores (`cluster.<candidate>.<score>`,
    /// `cluster.<candidate>.n_clusters`) and the selected candidate's scores by their own
    /// names (`silhouette`, ...), which a promotion policy can name.
    pub fn cluster(cfg: &PipelineConfig, config_text: &str, out: &ClusterOutcome) -> Result<Self> {
        let (tags, inputs) = run_tags(
            cfg,
            config_text,
            &out.selected,
            out.gate.passed,
            out.validation.is_ok(),
        )?;
        let mut p = vec![
            kv("seed", cfg.seed.to_string()),
            kv("selection_metric", out.selection_metric.clone()),
            kv("selected", out.selected.clone()),
        ];
        let ts = now_ms();
        let mut m = Vec::new();
        for c in &out.candidates {
            p.extend(candidate_params(&c.name, &c.model_type, &c.params));
            m.extend(metric(
                format!("cluster.{}.n_clusters", c.name),
                c.n_clusters as f64,
                ts,
                0,
            ));
            for (k, v) in &c.scores {
                m.extend(metric(format!("cluster.{}.{k}", c.name), *v, ts, 0));
                if c.name == out.selected {
                    m.extend(metric(k.clone(), *v, ts, 0));
                }
            }
        }
        m.extend(metric("rows".into(), out.rows as f64, ts, 0));
        Ok(RunLog {
            name: format!("{}-{}", cfg.name, out.selected),
            params: p,
            metrics: m,
            tags: with_bundle(tags, out.bundle.as_deref()),
            inputs,
            files: vec![out.report_html.clone(), out.report_json.clone()],
            bundle: out.bundle.clone(),
        })
    }

    /// An import of an existing bundle: its model and params, its metrics (a supervised
    /// bundle's are holdout metrics, `holdout.<metric>`; a clustering bundle's keep their
    /// names) and its lineage from the manifest. The bundle must already be verified.
    pub fn bundle_import(dir: &Path, manifest: &ImportedManifest) -> Result<Self> {
        let ts = now_ms();
        let prefix = if manifest.clustering { "" } else { "holdout." };
        let metrics = manifest
            .metrics
            .iter()
            .filter_map(|(k, v)| metric(format!("{prefix}{k}"), *v, ts, 0))
            .collect();
        let mut params = vec![
            kv("seed", manifest.lineage.seed.to_string()),
            kv("selected", "model"),
        ];
        params.extend(candidate_params(
            "model",
            &manifest.model_type,
            &manifest.params,
        ));
        let mut tags = vec![
            kv("slipway.selected", "model"),
            kv("slipway.version", env!("CARGO_PKG_VERSION")),
            kv(
                "slipway.bundle.slipway_version",
                manifest.lineage.slipway_version.clone(),
            ),
            kv("slipway.bundle.created_at", manifest.created_at.clone()),
        ];
        let mut inputs = Vec::new();
        for d in &manifest.lineage.data {
            inputs.push(dataset_input(&d.path, &d.fingerprint, &d.role));
            tags.push(kv(format!("slipway.data.{}.path", d.role), d.path.clone()));
            tags.push(kv(
                format!("slipway.data.{}.fingerprint", d.role),
                d.fingerprint.clone(),
            ));
        }
        if let Some(c) = &manifest.lineage.config_fingerprint {
            tags.push(kv("slipway.config.fingerprint", c.clone()));
        }
        Ok(RunLog {
            name: format!("import {}", manifest.name),
            params,
            metrics,
            tags: with_bundle(tags, Some(dir)),
            inputs,
            files: Vec::new(),
            bundle: Some(dir.to_path_buf()),
        })
    }
}

/// The manifest fields an import records, read from either bundle flavor's manifest.
#[derive(serde::Deserialize)]
pub struct ImportedManifest {
    /// The bundle's name.
    pub name: String,
    /// When the bundle was written.
    pub created_at: String,
    /// `true` for a clustering bundle (from the flavor, not a manifest field).
    #[serde(skip)]
    pub clustering: bool,
    /// The model type.
    pub model_type: String,
    /// The model's hyperparameters.
    pub params: Value,
    /// The bundle's metrics.
    pub metrics: std::collections::BTreeMap<String, f64>,
    /// Data and config fingerprints, seed and writer version.
    pub lineage: Lineage,
}

/// The experiment named `name`, created when missing.
pub fn experiment_id(client: &Client, name: &str) -> Result<String> {
    match client.get("experiments/get-by-name", &[("experiment_name", name)]) {
        Ok(v) => Ok(str_at(&v, &["experiment", "experiment_id"])),
        Err(e) if e.is_not_found() => {
            let v = client.post("experiments/create", &json!({ "name": name }))?;
            Ok(str_at(&v, &["experiment_id"]))
        }
        Err(e) => Err(e),
    }
}

fn str_at(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or_default().to_string()
}

impl<'a> RunRecorder<'a> {
    /// Creates a RUNNING run named `run_name` in the experiment `experiment` (created when
    /// missing); `source` is the command, recorded as `mlflow.source.name`.
    pub fn start(
        client: &'a Client,
        experiment: &str,
        run_name: &str,
        source: &str,
    ) -> Result<Self> {
        let experiment_id = experiment_id(client, experiment)?;
        let started_ms = now_ms();
        let v = client.post(
            "runs/create",
            &json!({
                "experiment_id": experiment_id,
                "run_name": self::run_name(run_name, started_ms, ""),
                "start_time": started_ms,
                "tags": [{"key": "mlflow.source.name", "value": source}],
            }),
        )?;
        Ok(RunRecorder {
            client,
            run_id: str_at(&v, &["run", "info", "run_id"]),
            experiment_id,
            artifact_uri: str_at(&v, &["run", "info", "artifact_uri"]),
            base_name: run_name.to_string(),
            started_ms,
        })
    }

    /// The `mlflow.runName` tag that names this run `base-MMDD-HHMM-<id>` (see [`run_name`]).
    fn name_tag(&self, base: &str) -> Value {
        kv(
            "mlflow.runName",
            run_name(base, self.started_ms, &self.run_id),
        )
    }

    /// Marks the run FAILED, with the error as a tag.
    pub fn fail(&self, error: &str) -> Result<()> {
        let msg: String = error.chars().take(5000).collect();
        self.batch(json!({"tags": [
            kv("slipway.error", msg),
            self.name_tag(&self.base_name),
        ]}))?;
        self.finish("FAILED")
    }

    fn finish(&self, status: &str) -> Result<()> {
        self.client.post(
            "runs/update",
            &json!({"run_id": self.run_id, "status": status, "end_time": now_ms()}),
        )?;
        Ok(())
    }

    /// Logs everything in `log` and marks the run FINISHED.
    pub fn record(&self, log: &RunLog) -> Result<()> {
        for chunk in log.params.chunks(BATCH_PARAMS) {
            self.batch(json!({"params": chunk}))?;
        }
        for chunk in log.metrics.chunks(BATCH_METRICS) {
            self.batch(json!({"metrics": chunk}))?;
        }
        let mut tags = log.tags.clone();
        tags.push(self.name_tag(&log.name));
        for chunk in tags.chunks(BATCH_TAGS) {
            self.batch(json!({"tags": chunk}))?;
        }
        if !log.inputs.is_empty() {
            self.client.post(
                "runs/log-inputs",
                &json!({"run_id": self.run_id, "datasets": log.inputs}),
            )?;
        }
        self.upload_artifacts(log)?;
        self.finish("FINISHED")
    }

    fn batch(&self, mut body: Value) -> Result<()> {
        body["run_id"] = json!(self.run_id);
        self.client.post("runs/log-batch", &body)?;
        Ok(())
    }

    fn upload_artifacts(&self, log: &RunLog) -> Result<()> {
        let Some(root) = self.artifact_uri.strip_prefix("mlflow-artifacts:/") else {
            return Err(ClientError::Transport(format!(
                "run artifact URI '{}' is not served by the tracking server (mlflow-artifacts:/ expected)",
                self.artifact_uri
            )));
        };
        let root = root.trim_start_matches('/').trim_end_matches('/');
        for path in &log.files {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            self.upload_file(path, &format!("{root}/{name}"))?;
        }
        if let Some(bundle) = &log.bundle {
            self.upload_dir(bundle, &format!("{root}/model"))?;
        }
        Ok(())
    }

    fn upload_file(&self, path: &Path, dest: &str) -> Result<()> {
        let bytes = std::fs::read(path)
            .map_err(|e| ClientError::Transport(format!("{}: cannot read: {e}", path.display())))?;
        self.client.upload(dest, bytes)
    }

    fn upload_dir(&self, dir: &Path, dest: &str) -> Result<()> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| ClientError::Transport(format!("{}: cannot list: {e}", dir.display())))?;
        for entry in entries {
            let entry =
                entry.map_err(|e| ClientError::Transport(format!("{}: {e}", dir.display())))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                self.upload_dir(&path, &format!("{dest}/{name}"))?;
            } else {
                self.upload_file(&path, &format!("{dest}/{name}"))?;
            }
        }
        Ok(())
    }
}

fn kv(key: impl Into<String>, value: impl Into<String>) -> Value {
    json!({"key": key.into(), "value": value.into()})
}

fn param_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Every candidate's type and params (`<candidate>.<param>`), plus run-level settings.
fn params(cfg: &PipelineConfig, out: &TrainOutcome) -> Vec<Value> {
    let mut p = vec![
        kv("seed", cfg.seed.to_string()),
        kv("selection_metric", out.selection_metric.name()),
        kv("selected", out.selected.clone()),
        kv("threads", out.threads.to_string()),
        kv(
            "candidates",
            out.candidates
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
    ];
    if let Some(pc) = &out.positive_class {
        p.push(kv("positive_class", pc.label.clone()));
    }
    for c in &out.candidates {
        p.extend(candidate_params(&c.name, &c.model_type, &c.params));
    }
    p
}

/// `<candidate>.type` and `<candidate>.<param>` for each hyperparameter.
fn candidate_params(name: &str, model_type: &str, params: &Value) -> Vec<Value> {
    let mut p = vec![kv(format!("{name}.type"), model_type)];
    if let Value::Object(map) = params {
        for (k, v) in map {
            p.push(kv(format!("{name}.{k}"), param_text(v)));
        }
    }
    p
}

fn metric(key: String, value: f64, timestamp: i64, step: usize) -> Option<Value> {
    // MLflow's JSON carries finite numbers only; NaN scores are left out.
    value
        .is_finite()
        .then(|| json!({"key": key, "value": value, "timestamp": timestamp, "step": step}))
}

/// Per-fold CV scores (`cv.<candidate>.<metric>`, step = fold index), CV means and standard
/// deviations, the holdout metrics (`holdout.<metric>`) and the holdout's fairness by
/// protected column (`fairness.<column>.<summary>`).
fn metrics(out: &TrainOutcome, ts: i64) -> Vec<Value> {
    let sel = out.selection_metric.name();
    let mut m = Vec::new();
    for c in &out.candidates {
        for (fold, score) in c.fold_scores.iter().enumerate() {
            m.extend(metric(format!("cv.{}.{sel}", c.name), *score, ts, fold));
        }
        for (k, v) in &c.mean {
            m.extend(metric(format!("cv.{}.{k}_mean", c.name), *v, ts, 0));
        }
        for (k, v) in &c.std {
            m.extend(metric(format!("cv.{}.{k}_std", c.name), *v, ts, 0));
        }
    }
    for (k, v) in &out.evaluation.metrics {
        m.extend(metric(format!("holdout.{k}"), *v, ts, 0));
    }
    if let Some(f) = &out.fairness {
        for (k, v) in slipway_engine::fairness::metrics(f) {
            m.extend(metric(k, v, ts, 0));
        }
    }
    if let Some(o) = &out.online {
        m.extend(metric(
            "progressive.accuracy".into(),
            o.progressive_accuracy,
            ts,
            0,
        ));
        m.extend(metric(
            "progressive.log_loss".into(),
            o.progressive_log_loss,
            ts,
            0,
        ));
    }
    m.extend(metric("train_rows".into(), out.train_rows as f64, ts, 0));
    m.extend(metric("test_rows".into(), out.test_rows as f64, ts, 0));
    m
}

fn fingerprint(p: &Path) -> Result<String> {
    slipway_data::ingest::fingerprint(p)
        .map_err(|e| ClientError::Transport(format!("{}: fingerprint: {e}", p.display())))
}

/// A data file as an MLflow dataset input: named by its file name, its digest the first 16
/// hex digits of its SHA-256 `fingerprint` (MLflow allows 36 characters; the whole
/// fingerprint is a tag), its source the path as given, and `mlflow.data.context` from its
/// role (`train` → `training`, `test` → `testing`).
fn dataset_input(path: &str, fingerprint: &str, role: &str) -> Value {
    let name = Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned());
    let digest: String = fingerprint
        .trim_start_matches("sha256:")
        .chars()
        .take(16)
        .collect();
    let context = match role {
        "train" => "training",
        "test" => "testing",
        other => other,
    };
    json!({
        "tags": [kv("mlflow.data.context", context)],
        "dataset": {
            "name": name,
            "digest": digest,
            "source_type": "local",
            "source": json!({"uri": path}).to_string(),
        },
    })
}

/// Fingerprints (training data, config), the selection, the gate and the validation outcome
/// as run tags, and the training data as a dataset input.
fn run_tags(
    cfg: &PipelineConfig,
    config_text: &str,
    selected: &str,
    gate_passed: bool,
    validation_passed: bool,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let train_path = cfg.data.train.display().to_string();
    let train_fp = fingerprint(&cfg.data.train)?;
    let inputs = vec![dataset_input(&train_path, &train_fp, "train")];
    let tags = vec![
        kv("slipway.data.train.path", train_path),
        kv("slipway.data.train.fingerprint", train_fp),
        kv(
            "slipway.config.fingerprint",
            slipway_learn::bundle::sha256(config_text.as_bytes()),
        ),
        kv("slipway.selected", selected),
        kv("slipway.gate.passed", gate_passed.to_string()),
        kv("slipway.validation.passed", validation_passed.to_string()),
        kv("slipway.version", env!("CARGO_PKG_VERSION")),
    ];
    Ok((tags, inputs))
}

/// `tags` plus `slipway.bundle` (the bundle's local path), which `models register` requires.
fn with_bundle(mut tags: Vec<Value>, bundle: Option<&Path>) -> Vec<Value> {
    if let Some(b) = bundle {
        tags.push(kv("slipway.bundle", b.display().to_string()));
    }
    tags
}
