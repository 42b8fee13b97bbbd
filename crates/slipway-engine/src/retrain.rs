//! Retraining a registered model under its policy ([`slipway_monitor::retrain`]): what the
//! triggers see ([`plan`], the dry run), the retrain itself as a queued job ([`JobQueue`]:
//! an id, a status file, a log file, a worker thread of its own), the comparison of the
//! challenger with the champion on the same recent labelled window, the decision, and what
//! follows it through a [`RetrainRecorder`] (the run, the new version, the deployment).
//!
//! The window is the last `window_rows` labelled rows of `new_rows`; the challenger is
//! trained on the reference plus the other new rows, so neither model has seen the window.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use slipway_data::Table;
use slipway_data::ingest::{self, ReadOptions};
use slipway_monitor::drift::DriftOptions;
use slipway_monitor::retrain::{
    Action, Decision, PairedMetric, PairedOutputs, RetrainPolicy, RetrainState, TriggerInputs,
    TriggerResult, compare, decide, evaluate_triggers,
};
use slipway_monitor::run::{Chunking, drift_file};
use slipway_monitor::summary::ReferenceSummary;

use crate::serving::{Output, ServedModel};
use crate::{Engine, Error, PipelineConfig, Progress, Result, TrainOutcome};

fn retrain_err(message: impl Into<String>) -> Error {
    Error::Retrain(message.into())
}

/// What the triggers saw and said: the dry run's answer.
#[derive(Debug, Clone, Serialize)]
pub struct RetrainPlan {
    /// The registered model.
    pub model: String,
    /// The champion's bundle.
    pub champion: PathBuf,
    /// What the triggers were evaluated on.
    pub inputs: TriggerInputs,
    /// Every trigger's verdict.
    pub triggers: Vec<TriggerResult>,
    /// Whether any fired.
    pub retrain: bool,
    /// Rows of the reference.
    pub reference_rows: usize,
    /// Labelled new rows the challenger trains on (the window held out).
    pub new_training_rows: usize,
    /// Rows of the comparison window.
    pub window_rows: usize,
    /// What a retrain would do, step by step.
    pub steps: Vec<String>,
}

/// The champion and the data as read once.
struct Loaded {
    champion: ServedModel,
    metrics: BTreeMap<String, f64>,
    created_at: Option<DateTime<Utc>>,
    target: String,
    reference: Table,
    /// Labelled new rows other than the window.
    new_train: Table,
    window: Table,
}

/// Reads a file with `types` for the columns it has (read again when inference differed).
fn read(
    path: &Path,
    what: &str,
    types: &BTreeMap<String, slipway_data::DataType>,
) -> Result<Table> {
    let fail =
        |e: slipway_data::Error| retrain_err(format!("retrain.{what}: {}: {e}", path.display()));
    let table = ingest::read_table(path, &ReadOptions::default()).map_err(fail)?;
    let differ: BTreeMap<String, slipway_data::DataType> = types
        .iter()
        .filter(|(n, t)| table.schema().field(n).is_some_and(|f| f.dtype != **t))
        .map(|(n, t)| (n.clone(), *t))
        .collect();
    if differ.is_empty() {
        return Ok(table);
    }
    let opts = ReadOptions {
        types: differ,
        ..ReadOptions::default()
    };
    ingest::read_table(path, &opts).map_err(fail)
}

/// The rows of `rows` whose id has a label in `labels.file`, with the label as the target
/// column (replacing one already there); a duplicate id in the labels file is refused.
fn join_labels(
    rows: &Table,
    labels: &slipway_monitor::retrain::LabelsSource,
    target: &str,
    types: &BTreeMap<String, slipway_data::DataType>,
) -> Result<Table> {
    let id = &labels.id_column;
    let lab = read(&labels.file, "labels.file", types)?;
    for (t, what, file) in [
        (&lab, "labels.file", &labels.file),
        (rows, "new_rows", &labels.file),
    ] {
        if t.schema().field(id).is_none() {
            return Err(retrain_err(format!(
                "retrain.{what}: no id column \"{id}\" (retrain.labels.id_column){}",
                if what == "labels.file" {
                    format!(" in {}", file.display())
                } else {
                    String::new()
                }
            )));
        }
    }
    if lab.schema().field(target).is_none() {
        return Err(retrain_err(format!(
            "retrain.labels.file: {}: no column \"{target}\" (the champion's target)",
            labels.file.display()
        )));
    }
    let mut by_id = std::collections::HashMap::with_capacity(lab.n_rows());
    for i in 0..lab.n_rows() {
        let (Some(key), Some(_)) = (lab.display_value(id, i)?, lab.display_value(target, i)?)
        else {
            continue;
        };
        if by_id.insert(key.clone(), i).is_some() {
            return Err(retrain_err(format!(
                "retrain.labels.file: {}: id {key} appears twice (row {i}); one label per id",
                labels.file.display()
            )));
        }
    }
    let mut keep = Vec::new();
    let mut from = Vec::new();
    for i in 0..rows.n_rows() {
        if let Some(j) = rows
            .display_value(id, i)?
            .and_then(|k| by_id.get(&k).copied())
        {
            keep.push(i);
            from.push(j);
        }
    }
    let names: Vec<&str> = rows
        .schema()
        .names()
        .into_iter()
        .filter(|n| *n != target)
        .collect();
    let base = rows.select(&names)?.take(&keep)?;
    let label_col = lab.select(&[target])?.take(&from)?;
    let mut fields = Vec::with_capacity(names.len() + 1);
    let mut columns = Vec::with_capacity(names.len() + 1);
    for n in &names {
        fields.push(base.schema().require(n)?.clone());
        columns.push(base.column(n)?.clone());
    }
    fields.push(label_col.schema().require(target)?.clone());
    columns.push(label_col.column(target)?.clone());
    Table::new(slipway_data::Schema::new(fields)?, columns).map_err(Error::from)
}

fn load(policy: &RetrainPolicy) -> Result<Loaded> {
    let bundle = slipway_learn::bundle::load_bundle(&policy.champion).map_err(|e| {
        retrain_err(format!(
            "retrain.champion: {}: {e}",
            policy.champion.display()
        ))
    })?;
    let target = bundle.manifest.target.name.clone();
    if !bundle.manifest.target.task.is_classification() {
        return Err(retrain_err(format!(
            "retrain.champion: {} is a {:?} model; the paired tests compare classifiers (accuracy, ROC AUC)",
            policy.champion.display(),
            bundle.manifest.target.task
        )));
    }
    let champion = ServedModel::load(&policy.champion)?;
    let mut types: BTreeMap<String, slipway_data::DataType> =
        champion.inputs().iter().cloned().collect();
    let reference = read(&policy.reference, "reference", &types)?;
    // The new rows are read with the reference's types, so both stack into one table.
    for name in reference.schema().names() {
        if let Some(f) = reference.schema().field(name) {
            types.entry(name.to_string()).or_insert(f.dtype);
        }
    }
    let mut new_rows = read(&policy.new_rows, "new_rows", &types)?;
    if let Some(labels) = &policy.labels {
        new_rows = join_labels(&new_rows, labels, &target, &types)?;
    }
    for (file, t, field) in [
        (&policy.reference, &reference, "reference"),
        (&policy.new_rows, &new_rows, "new_rows"),
    ] {
        if t.schema().field(&target).is_none() {
            return Err(retrain_err(format!(
                "retrain.{field}: {}: no column \"{target}\" (the champion's target); the rows must be labelled",
                file.display()
            )));
        }
    }
    // Labelled rows only, in file order; the last window_rows of them are the window.
    let mut labelled = Vec::with_capacity(new_rows.n_rows());
    for i in 0..new_rows.n_rows() {
        if new_rows.display_value(&target, i)?.is_some() {
            labelled.push(i);
        }
    }
    if labelled.len() < policy.window_rows + 1 {
        return Err(retrain_err(format!(
            "retrain.window_rows: {} labelled rows in {} (column \"{target}\"); the window of {} needs at least one more",
            labelled.len(),
            policy.new_rows.display(),
            policy.window_rows
        )));
    }
    let split = labelled.len() - policy.window_rows;
    let new_train = new_rows.take(&labelled[..split])?;
    let window = new_rows.take(&labelled[split..])?;
    let created_at = DateTime::parse_from_rfc3339(&bundle.manifest.created_at)
        .ok()
        .map(|d| d.with_timezone(&Utc));
    Ok(Loaded {
        champion,
        metrics: bundle.manifest.metrics.clone(),
        created_at,
        target,
        reference,
        new_train,
        window,
    })
}

/// A model's outputs on the window, as class indices of the champion's classes.
struct Scored {
    pred: Vec<u32>,
    score: Option<Vec<f64>>,
}

fn truth(window: &Table, target: &str, classes: &[String]) -> Result<Vec<u32>> {
    (0..window.n_rows())
        .map(|i| {
            let v = window.display_value(target, i)?.unwrap_or_default();
            classes
                .iter()
                .position(|c| *c == v)
                .map(|p| p as u32)
                .ok_or_else(|| {
                    retrain_err(format!(
                        "retrain.new_rows: window row {i}: \"{target}\" is '{v}', not a class the champion knows ({})",
                        classes.join(", ")
                    ))
                })
        })
        .collect()
}

fn score(model: &ServedModel, window: &Table, classes: &[String], who: &str) -> Result<Scored> {
    match model.score(window)? {
        Output::Classes {
            labels,
            probabilities,
            classes: own,
            ..
        } => {
            if own != classes {
                return Err(retrain_err(format!(
                    "the {who}'s classes ({}) are not the champion's ({})",
                    own.join(", "),
                    classes.join(", ")
                )));
            }
            let pred = labels
                .iter()
                .map(|l| classes.iter().position(|c| c == l).unwrap_or(0) as u32)
                .collect();
            let score = (classes.len() == 2).then(|| {
                (0..probabilities.n_rows())
                    .map(|r| probabilities.get(r, 1))
                    .collect()
            });
            Ok(Scored { pred, score })
        }
        _ => Err(retrain_err(format!("the {who} is not a classifier"))),
    }
}

fn metric_of(metric: PairedMetric, truth: &[u32], s: &Scored) -> Option<f64> {
    match metric {
        PairedMetric::Accuracy => Some(
            truth.iter().zip(&s.pred).filter(|(a, b)| a == b).count() as f64 / truth.len() as f64,
        ),
        PairedMetric::RocAuc => s
            .score
            .as_ref()
            .and_then(|sc| slipway_learn::metrics::roc_auc(truth, sc, None).ok())
            .filter(|v| v.is_finite()),
    }
}

fn state_path(policy: &RetrainPolicy) -> PathBuf {
    policy.jobs_dir().join("state.json")
}

fn gather(policy: &RetrainPolicy, l: &Loaded, now: DateTime<Utc>) -> Result<TriggerInputs> {
    let classes = l.champion.classes().to_vec();
    let truth = truth(&l.window, &l.target, &classes)?;
    let champ = score(&l.champion, &l.window, &classes, "champion")?;
    let pd = &policy.triggers.performance_drop;
    let reference_metric = pd
        .reference_value
        .or_else(|| l.metrics.get(pd.metric.name()).copied());
    let current_metric = metric_of(pd.metric, &truth, &champ);
    // Drift: the champion's inputs (or the policy's columns), reference against current.
    let mut drift_share = None;
    let mut drifted = Vec::new();
    if policy.triggers.drift_share.enabled {
        let columns: Vec<String> = match &policy.triggers.drift_share.columns {
            Some(c) => c.clone(),
            None => l.champion.inputs().iter().map(|(n, _)| n.clone()).collect(),
        };
        let summary = ReferenceSummary::from_table(
            &l.reference,
            &columns,
            &[],
            &policy.reference.display().to_string(),
        )?;
        let current = policy.current.as_ref().unwrap_or(&policy.new_rows);
        let report = drift_file(
            &summary,
            current,
            &Chunking::Whole,
            &DriftOptions::default(),
            &[],
        )?;
        if let Some(chunk) = report.chunks.first() {
            let n = chunk.features.len().max(1);
            drifted = chunk
                .features
                .iter()
                .filter(|f| f.drifted)
                .map(|f| f.column.clone())
                .collect();
            drift_share = Some(chunk.drifted_features as f64 / n as f64);
        }
    }
    let state = RetrainState::load(&state_path(policy))?;
    Ok(TriggerInputs {
        reference_metric,
        current_metric,
        drift_share,
        drifted_features: drifted,
        last_retrain: state.last_retrain_at.or(l.created_at),
        now,
        new_labelled_rows: (l.new_train.n_rows() + l.window.n_rows()) as u64,
    })
}

/// Evaluates the policy's triggers at `now` without training anything.
pub fn plan(policy: &RetrainPolicy, now: DateTime<Utc>) -> Result<RetrainPlan> {
    let l = load(policy)?;
    plan_loaded(policy, &l, now)
}

fn plan_loaded(policy: &RetrainPolicy, l: &Loaded, now: DateTime<Utc>) -> Result<RetrainPlan> {
    let inputs = gather(policy, l, now)?;
    let triggers = evaluate_triggers(policy, &inputs);
    let retrain = triggers.iter().any(|t| t.fired);
    let d = &policy.decision;
    let mut steps = vec![
        format!(
            "train {} on {} reference + {} new labelled rows (job under {})",
            policy.pipeline.display(),
            l.reference.n_rows(),
            l.new_train.n_rows(),
            policy.jobs_dir().display()
        ),
        format!(
            "compare with the champion on the last {} labelled rows: {} by {}",
            l.window.n_rows(),
            d.metric.name(),
            d.test().name()
        ),
        format!(
            "register the challenger as a new version of '{}'",
            policy.model
        ),
        format!(
            "{} when it beats the champion by more than {:.2} %{}; otherwise keep the champion",
            match &policy.deployment {
                Some(dep) => format!("create deployment '{}' ({})", dep.name, d.strategy.name()),
                None => format!("decide {} (no deployment configured)", d.strategy.name()),
            },
            d.min_improvement * 100.0,
            d.alpha
                .map(|a| format!(" with p < {a}"))
                .unwrap_or_default()
        ),
    ];
    if !retrain {
        steps = vec!["nothing: no trigger fired".into()];
    }
    Ok(RetrainPlan {
        model: policy.model.clone(),
        champion: policy.champion.clone(),
        inputs,
        triggers,
        retrain,
        reference_rows: l.reference.n_rows(),
        new_training_rows: l.new_train.n_rows(),
        window_rows: l.window.n_rows(),
        steps,
    })
}

/// Where a retrain's run, version and deployment are recorded: the CLI implements it over
/// the tracking client (local store or server); tests keep them in memory.
pub trait RetrainRecorder: Send {
    /// Records the challenger's training run (finished) and returns its id.
    fn record_run(
        &mut self,
        config: &PipelineConfig,
        config_text: &str,
        outcome: &TrainOutcome,
        decision: &Decision,
    ) -> std::result::Result<String, String>;
    /// Registers the run's bundle as a new version of `model` with `tags`; returns the version.
    fn register(
        &mut self,
        model: &str,
        run_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> std::result::Result<String, String>;
    /// Creates a deployment from a checked plan; returns what the registry answered.
    fn create_deployment(
        &mut self,
        plan: &serde_json::Value,
    ) -> std::result::Result<serde_json::Value, String>;
}

/// A retrain's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetrainOutcome {
    /// The challenger's bundle.
    pub challenger: Option<PathBuf>,
    /// The challenger's holdout metrics from training.
    pub holdout: BTreeMap<String, f64>,
    /// Training rows.
    pub train_rows: usize,
    /// The decision with its numbers.
    pub decision: Decision,
    /// The tracked run.
    pub run_id: Option<String>,
    /// The registered version.
    pub version: Option<String>,
    /// The deployment created.
    pub deployment: Option<serde_json::Value>,
}

/// A job's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for the worker.
    Queued,
    /// Being worked on.
    Running,
    /// Done.
    Succeeded,
    /// Stopped with an error.
    Failed,
}

/// A retrain job's record (`<jobs>/<id>/job.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRecord {
    /// The id.
    pub id: String,
    /// The model.
    pub model: String,
    /// Where it stands.
    pub status: JobStatus,
    /// When it was queued / started / finished.
    pub queued_at: DateTime<Utc>,
    /// Started.
    pub started_at: Option<DateTime<Utc>>,
    /// Finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Its log file.
    pub log: PathBuf,
    /// The error, when it failed.
    pub error: Option<String>,
    /// The result, when it succeeded.
    pub outcome: Option<RetrainOutcome>,
}

struct Work {
    record: JobRecord,
    dir: PathBuf,
    policy: RetrainPolicy,
    recorder: Box<dyn RetrainRecorder>,
    done: mpsc::Sender<JobRecord>,
}

/// A queue of retrain jobs with one worker thread of its own (never an async executor's).
pub struct JobQueue {
    send: Option<mpsc::Sender<Work>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

/// A submitted job: its id and a way to wait for it.
pub struct JobHandle {
    /// The job id.
    pub id: String,
    /// The job's folder (`job.json`, `job.log`, the training data, the challenger).
    pub dir: PathBuf,
    done: mpsc::Receiver<JobRecord>,
}

impl JobHandle {
    /// Blocks until the job is over and returns its final record.
    pub fn wait(self) -> Result<JobRecord> {
        self.done
            .recv()
            .map_err(|_| Error::Internal("the retrain worker stopped".into()))
    }
}

impl JobQueue {
    /// Starts the worker.
    pub fn start(engine: Engine, progress: Arc<dyn Progress>) -> Result<JobQueue> {
        let (send, recv) = mpsc::channel::<Work>();
        let worker = std::thread::Builder::new()
            .name("slipway-retrain".into())
            .spawn(move || {
                while let Ok(w) = recv.recv() {
                    run_job(&engine, w, progress.as_ref());
                }
            })
            .map_err(|e| Error::Internal(format!("cannot start the retrain worker: {e}")))?;
        Ok(JobQueue {
            send: Some(send),
            worker: Some(worker),
        })
    }

    /// Queues a retrain of `policy`; its record is written before this returns.
    pub fn submit(
        &self,
        policy: &RetrainPolicy,
        recorder: Box<dyn RetrainRecorder>,
    ) -> Result<JobHandle> {
        let now = Utc::now();
        let id = format!(
            "{}-{:08x}",
            now.format("%Y%m%dT%H%M%SZ"),
            now.timestamp_subsec_nanos() ^ std::process::id()
        );
        let dir = policy.jobs_dir().join(&id);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let record = JobRecord {
            id: id.clone(),
            model: policy.model.clone(),
            status: JobStatus::Queued,
            queued_at: now,
            started_at: None,
            finished_at: None,
            log: dir.join("job.log"),
            error: None,
            outcome: None,
        };
        save_record(&dir, &record)?;
        let (done, wait) = mpsc::channel();
        self.send
            .as_ref()
            .ok_or_else(|| Error::Internal("the retrain queue is closed".into()))?
            .send(Work {
                record,
                dir: dir.clone(),
                policy: policy.clone(),
                recorder,
                done,
            })
            .map_err(|_| Error::Internal("the retrain worker stopped".into()))?;
        Ok(JobHandle {
            id,
            dir,
            done: wait,
        })
    }
}

impl Drop for JobQueue {
    fn drop(&mut self) {
        self.send.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

fn save_record(dir: &Path, record: &JobRecord) -> Result<()> {
    let path = dir.join("job.json");
    let tmp = dir.join(".job.json.tmp");
    let bytes = serde_json::to_vec_pretty(record).map_err(|e| Error::Internal(e.to_string()))?;
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
}

/// The job's log file, and the caller's progress, at once.
struct JobLog<'a> {
    file: Mutex<std::fs::File>,
    progress: &'a dyn Progress,
}

impl JobLog<'_> {
    fn line(&self, message: &str) {
        if let Ok(mut f) = self.file.lock() {
            let _ = writeln!(f, "{} {message}", Utc::now().format("%Y-%m-%dT%H:%M:%SZ"));
        }
    }
}

impl Progress for JobLog<'_> {
    fn begin(&self, label: &str, total: u64) {
        self.line(&format!("{label} ({total} steps)"));
        self.progress.begin(label, total);
    }
    fn advance(&self, message: &str) {
        if !message.is_empty() {
            self.line(message);
        }
        self.progress.advance(message);
    }
    fn set_position(&self, done: u64) {
        self.progress.set_position(done);
    }
    fn end(&self) {
        self.progress.end();
    }
    fn note(&self, message: &str) {
        self.line(message);
        self.progress.note(message);
    }
    fn warn(&self, message: &str) {
        self.line(&format!("warning: {message}"));
        self.progress.warn(message);
    }
}

fn run_job(engine: &Engine, mut w: Work, progress: &dyn Progress) {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&w.record.log);
    w.record.status = JobStatus::Running;
    w.record.started_at = Some(Utc::now());
    let result = match log_file {
        Ok(file) => {
            let _ = save_record(&w.dir, &w.record);
            let log = JobLog {
                file: Mutex::new(file),
                progress,
            };
            log.line(&format!(
                "job {} started: retrain '{}'",
                w.record.id, w.policy.model
            ));
            let r = retrain(engine, &w.policy, &w.dir, w.recorder.as_mut(), &log);
            match &r {
                Ok(o) => log.line(&format!(
                    "job succeeded: {} ({})",
                    o.decision.action.name(),
                    o.decision.reason
                )),
                Err(e) => log.line(&format!("job failed: {e}")),
            }
            r
        }
        Err(e) => Err(Error::io(&w.record.log, e)),
    };
    w.record.finished_at = Some(Utc::now());
    match result {
        Ok(o) => {
            w.record.status = JobStatus::Succeeded;
            w.record.outcome = Some(o);
        }
        Err(e) => {
            w.record.status = JobStatus::Failed;
            w.record.error = Some(e.to_string());
        }
    }
    if let Err(e) = save_record(&w.dir, &w.record) {
        w.record.status = JobStatus::Failed;
        w.record.error = Some(format!("the job record could not be saved: {e}"));
    }
    let _ = w.done.send(w.record);
}

/// The retrain itself: train, compare, decide, record, register, deploy.
fn retrain(
    engine: &Engine,
    policy: &RetrainPolicy,
    dir: &Path,
    recorder: &mut dyn RetrainRecorder,
    log: &JobLog<'_>,
) -> Result<RetrainOutcome> {
    let l = load(policy)?;
    let text =
        std::fs::read_to_string(&policy.pipeline).map_err(|e| Error::io(&policy.pipeline, e))?;
    let mut cfg = PipelineConfig::parse(&text, &policy.pipeline)?;
    // The training data: the reference's columns, the reference's rows then the new ones.
    let names: Vec<&str> = l
        .reference
        .schema()
        .names()
        .into_iter()
        .filter(|n| l.new_train.schema().field(n).is_some())
        .collect();
    let stack = Table::concat(&[l.reference.select(&names)?, l.new_train.select(&names)?])
        .map_err(|e| {
            retrain_err(format!(
                "retrain.new_rows: {e} (the new rows need the reference's columns and types)"
            ))
        })?;
    let data = dir.join("train.parquet");
    ingest::write_table(&stack, &data)?;
    log.note(&format!(
        "training data: {} reference + {} new labelled rows → {}",
        l.reference.n_rows(),
        l.new_train.n_rows(),
        data.display()
    ));
    cfg.data.train = data;
    cfg.data.test = None;
    cfg.output = Some(dir.join("challenger"));
    let outcome = engine.train(&cfg, Some(&text), log)?;
    let classes = l.champion.classes().to_vec();
    let truth = truth(&l.window, &l.target, &classes)?;
    let champ = score(&l.champion, &l.window, &classes, "champion")?;
    let rule = &policy.decision;
    let decision = match &outcome.bundle {
        Some(bundle) => {
            let challenger = ServedModel::load(bundle)?;
            let chall = score(&challenger, &l.window, &classes, "challenger")?;
            let cmp = compare(
                rule,
                &PairedOutputs {
                    truth: &truth,
                    champion_pred: &champ.pred,
                    challenger_pred: &chall.pred,
                    champion_score: champ.score.as_deref(),
                    challenger_score: chall.score.as_deref(),
                },
            )?;
            decide(rule, cmp)
        }
        None => {
            return Err(retrain_err(format!(
                "the challenger failed its training gate: {}; the champion stays",
                outcome.gate.reason.as_deref().unwrap_or("gate failed")
            )));
        }
    };
    log.note(&format!(
        "decision: {} — {}",
        decision.action.name(),
        decision.reason
    ));
    std::fs::write(
        dir.join("decision.json"),
        serde_json::to_vec_pretty(&decision).map_err(|e| Error::Internal(e.to_string()))?,
    )
    .map_err(|e| Error::io(&dir.join("decision.json"), e))?;
    let run_id = recorder
        .record_run(&cfg, &text, &outcome, &decision)
        .map_err(|e| retrain_err(format!("recording the challenger's run: {e}")))?;
    log.note(&format!("run {run_id} recorded"));
    let c = &decision.comparison;
    let mut tags = BTreeMap::new();
    tags.insert(
        "slipway.retrain.decision".to_string(),
        decision.action.name().to_string(),
    );
    tags.insert(
        "slipway.retrain.reason".to_string(),
        decision.reason.clone(),
    );
    tags.insert(
        "slipway.retrain.metric".to_string(),
        c.metric.name().to_string(),
    );
    tags.insert(
        "slipway.retrain.champion".to_string(),
        format!("{}", c.champion),
    );
    tags.insert(
        "slipway.retrain.challenger".to_string(),
        format!("{}", c.challenger),
    );
    tags.insert(
        "slipway.retrain.test".to_string(),
        c.test.name().to_string(),
    );
    tags.insert(
        "slipway.retrain.p_value".to_string(),
        format!("{}", c.p_value),
    );
    tags.insert(
        "slipway.retrain.window_rows".to_string(),
        c.rows.to_string(),
    );
    let version = recorder
        .register(&policy.model, &run_id, &tags)
        .map_err(|e| retrain_err(format!("registering the challenger: {e}")))?;
    log.note(&format!("registered '{}' version {version}", policy.model));
    let deployment = match (&policy.deployment, decision.action) {
        (Some(dep), Action::Canary | Action::BlueGreen) => {
            let mut plan = serde_json::json!({
                "name": dep.name,
                "model": policy.model,
                "champion": dep.champion,
                "challenger": version,
                "strategy": decision.action.name(),
            });
            if decision.action == Action::Canary
                && let Some(serde_json::Value::Object(params)) = &dep.canary
            {
                for (k, v) in params {
                    plan[k] = v.clone();
                }
            }
            // The rollout library checks the plan before anything is created.
            let checked = slipway_rollout::deployment::DeploymentPlan::from_json(plan)
                .map_err(|e| retrain_err(format!("retrain.deployment: {e}")))?;
            let body =
                serde_json::to_value(&checked).map_err(|e| Error::Internal(e.to_string()))?;
            let created = recorder
                .create_deployment(&body)
                .map_err(|e| retrain_err(format!("creating deployment '{}': {e}", dep.name)))?;
            log.note(&format!(
                "deployment '{}' created ({})",
                dep.name,
                decision.action.name()
            ));
            Some(created)
        }
        _ => None,
    };
    RetrainState {
        last_retrain_at: Some(Utc::now()),
        last_job: dir.file_name().map(|n| n.to_string_lossy().into_owned()),
    }
    .save(&state_path(policy))?;
    Ok(RetrainOutcome {
        challenger: outcome.bundle.clone(),
        holdout: outcome.evaluation.metrics.clone(),
        train_rows: outcome.train_rows + outcome.test_rows,
        decision,
        run_id: Some(run_id),
        version: Some(version),
        deployment,
    })
}
