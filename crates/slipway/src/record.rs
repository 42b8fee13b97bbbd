//! Records a `slipway train` run through the MLflow REST client: the experiment is the
//! pipeline `name`; params of every candidate, per-fold CV scores (metric steps, step = fold
//! index), holdout metrics, data and config fingerprints as tags, the bundle and the reports
//! as artifacts, and the final status.

use std::path::Path;

use serde_json::{Value, json};
use slipway_engine::{PipelineConfig, TrainOutcome};

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
    /// Creates a RUNNING run in the experiment named after the pipeline.
    pub fn start(client: &'a Client, cfg: &PipelineConfig) -> Result<Self> {
        let experiment_id = experiment_id(client, &cfg.name)?;
        let v = client.post(
            "runs/create",
            &json!({
                "experiment_id": experiment_id,
                "run_name": cfg.name,
                "start_time": now_ms(),
                "tags": [{"key": "mlflow.source.name", "value": "slipway train"}],
            }),
        )?;
        Ok(RunRecorder {
            client,
            run_id: str_at(&v, &["run", "info", "run_id"]),
            experiment_id,
            artifact_uri: str_at(&v, &["run", "info", "artifact_uri"]),
        })
    }

    /// Marks the run FAILED, with the error as a tag.
    pub fn fail(&self, error: &str) -> Result<()> {
        let msg: String = error.chars().take(5000).collect();
        self.client.post(
            "runs/set-tag",
            &json!({"run_id": self.run_id, "key": "slipway.error", "value": msg}),
        )?;
        self.finish("FAILED")
    }

    fn finish(&self, status: &str) -> Result<()> {
        self.client.post(
            "runs/update",
            &json!({"run_id": self.run_id, "status": status, "end_time": now_ms()}),
        )?;
        Ok(())
    }

    /// Logs everything about a finished training and marks the run FINISHED.
    pub fn record(
        &self,
        cfg: &PipelineConfig,
        config_text: &str,
        out: &TrainOutcome,
    ) -> Result<()> {
        let params = params(cfg, out);
        let metrics = metrics(out, now_ms());
        let tags = tags(cfg, config_text, out)?;
        for chunk in params.chunks(BATCH_PARAMS) {
            self.batch(json!({"params": chunk}))?;
        }
        for chunk in metrics.chunks(BATCH_METRICS) {
            self.batch(json!({"metrics": chunk}))?;
        }
        for chunk in tags.chunks(BATCH_TAGS) {
            self.batch(json!({"tags": chunk}))?;
        }
        self.upload_artifacts(out)?;
        self.finish("FINISHED")
    }

    fn batch(&self, mut body: Value) -> Result<()> {
        body["run_id"] = json!(self.run_id);
        self.client.post("runs/log-batch", &body)?;
        Ok(())
    }

    fn upload_artifacts(&self, out: &TrainOutcome) -> Result<()> {
        let Some(root) = self.artifact_uri.strip_prefix("mlflow-artifacts:/") else {
            return Err(ClientError::Transport(format!(
                "run artifact URI '{}' is not served by the tracking server (mlflow-artifacts:/ expected)",
                self.artifact_uri
            )));
        };
        let root = root.trim_start_matches('/').trim_end_matches('/');
        for path in [&out.report_html, &out.report_json] {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            self.upload_file(path, &format!("{root}/{name}"))?;
        }
        if let Some(bundle) = &out.bundle {
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
        kv(
            "candidates",
            out.candidates
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
    ];
    for c in &out.candidates {
        p.push(kv(format!("{}.type", c.name), c.model_type.clone()));
        if let Value::Object(map) = &c.params {
            for (k, v) in map {
                p.push(kv(format!("{}.{k}", c.name), param_text(v)));
            }
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
/// deviations, and the holdout metrics (`holdout.<metric>`).
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
    m.extend(metric("train_rows".into(), out.train_rows as f64, ts, 0));
    m.extend(metric("test_rows".into(), out.test_rows as f64, ts, 0));
    m
}

/// Fingerprints (data files, config), the selection and the gate as run tags.
fn tags(cfg: &PipelineConfig, config_text: &str, out: &TrainOutcome) -> Result<Vec<Value>> {
    let fp = |p: &Path| {
        slipway_data::ingest::fingerprint(p)
            .map_err(|e| ClientError::Transport(format!("{}: fingerprint: {e}", p.display())))
    };
    let mut t = vec![
        kv("mlflow.runName", cfg.name.clone()),
        kv(
            "slipway.data.train.path",
            cfg.data.train.display().to_string(),
        ),
        kv("slipway.data.train.fingerprint", fp(&cfg.data.train)?),
        kv(
            "slipway.config.fingerprint",
            slipway_learn::bundle::sha256(config_text.as_bytes()),
        ),
        kv("slipway.selected", out.selected.clone()),
        kv("slipway.gate.passed", out.gate.passed.to_string()),
        kv(
            "slipway.validation.passed",
            out.validation.is_ok().to_string(),
        ),
        kv("slipway.version", env!("CARGO_PKG_VERSION")),
    ];
    if let Some(test) = &cfg.data.test {
        t.push(kv("slipway.data.test.path", test.display().to_string()));
        t.push(kv("slipway.data.test.fingerprint", fp(test)?));
    }
    if let Some(b) = &out.bundle {
        t.push(kv("slipway.bundle", b.display().to_string()));
    }
    Ok(t)
}
