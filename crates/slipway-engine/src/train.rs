//! `train`: validate, profile, split, cross-validate every candidate, select, refit,
//! evaluate on held-out rows, gate, and write the bundle and the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use slipway_data::ingest::{self, ReadOptions};
use slipway_data::validate::{self, ValidationReport};
use slipway_data::{Role, Table, profile};
use slipway_learn::bundle::{self, BundleContents, DataLineage, Lineage};
use slipway_learn::metrics::Metric;
use slipway_learn::pipeline::{FittedPipeline, TargetInfo};
use slipway_learn::{Target, Task, split};

use crate::config::{Candidate, PipelineConfig};
use crate::progress::Progress;
use crate::report::{self, Evaluation};
use crate::{Error, Result};

/// One candidate's cross-validation result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CandidateResult {
    /// Display name.
    pub name: String,
    /// Model family.
    pub model_type: String,
    /// The hyperparameters, as checked.
    pub params: serde_json::Value,
    /// Selection metric per fold.
    pub fold_scores: Vec<f64>,
    /// Mean of every metric over folds.
    pub mean: BTreeMap<String, f64>,
    /// Population standard deviation of every metric over folds.
    pub std: BTreeMap<String, f64>,
    /// Mean seconds to fit one fold (preprocessing included).
    pub fit_seconds: f64,
}

/// The quality gate's verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateResult {
    /// The metric checked.
    pub metric: String,
    /// Its holdout value.
    pub value: f64,
    /// The required bound, if any.
    pub minimum: Option<f64>,
    /// Whether the model may be published.
    pub passed: bool,
    /// Why not, in words.
    pub reason: Option<String>,
}

/// Everything `train` did, as the report's JSON twin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainOutcome {
    /// The model name.
    pub name: String,
    /// The problem type.
    pub task: Task,
    /// Target and classes.
    pub target: TargetInfo,
    /// Rows used to train (cross-validate and refit).
    pub train_rows: usize,
    /// Rows held out for the final evaluation.
    pub test_rows: usize,
    /// The validation report (empty when every rule held).
    pub validation: ValidationReport,
    /// Feature columns that could not be used, with the reason.
    pub skipped_columns: Vec<String>,
    /// The metric candidates were ranked by.
    pub selection_metric: Metric,
    /// Cross-validation of every candidate, in config order.
    pub candidates: Vec<CandidateResult>,
    /// The chosen candidate.
    pub selected: String,
    /// Holdout evaluation of the chosen model.
    pub evaluation: Evaluation,
    /// The gate.
    pub gate: GateResult,
    /// The bundle, when the gate passed.
    pub bundle: Option<PathBuf>,
    /// The HTML report.
    pub report_html: PathBuf,
    /// The JSON report.
    pub report_json: PathBuf,
    /// Seconds the whole run took.
    pub seconds: f64,
}

/// The default selection metric for a task.
pub fn default_metric(task: Task) -> Metric {
    match task {
        Task::Binary => Metric::RocAuc,
        Task::Multiclass { .. } => Metric::F1Macro,
        Task::Regression => Metric::Rmse,
    }
}

fn read(path: &Path, opts: &ReadOptions, cfg: &PipelineConfig) -> Result<Table> {
    let mut t = ingest::read_table(path, opts)?;
    t.set_role(&cfg.target, Role::Target)?;
    for (names, role) in [
        (&cfg.roles.id, Role::Id),
        (&cfg.roles.timestamp, Role::Timestamp),
        (&cfg.roles.protected, Role::Protected),
        (&cfg.roles.ignored, Role::Ignored),
    ] {
        for n in names {
            if n == &cfg.target {
                return Err(Error::Config {
                    path: "config".into(),
                    message: format!("roles: \"{n}\" is the target and cannot also be {role:?}"),
                });
            }
            t.set_role(n, role)?;
        }
    }
    Ok(t)
}

fn folds_for(y: &Target, k: usize, seed: u64) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
    Ok(match y {
        Target::Classes { labels, .. } => split::stratified_k_fold(labels, k, seed)?,
        Target::Real(v) => split::k_fold(v.len(), k, true, seed)?,
    })
}

pub(crate) fn run(
    cfg: &PipelineConfig,
    config_text: Option<&str>,
    output: &Path,
    progress: &dyn Progress,
) -> Result<TrainOutcome> {
    let started = Instant::now();
    let candidates = cfg.candidates()?;
    let opts = cfg.read_options();

    progress.note(&format!("reading {}", cfg.data.train.display()));
    let train_all = read(&cfg.data.train, &opts, cfg)?;
    let validation = validate::validate(&train_all, &cfg.validation);
    if !validation.is_ok() {
        return Err(Error::Validation(Box::new(validation)));
    }
    let baseline = profile::profile(&train_all);
    let (target, y_all) = TargetInfo::fit(&train_all, &cfg.target, cfg.task)?;
    for c in &candidates {
        c.spec.check(target.task).map_err(|e| Error::Config {
            path: "config".into(),
            message: format!("model \"{}\": {e}", c.name),
        })?;
    }
    let metric = cfg
        .selection
        .metric
        .unwrap_or_else(|| default_metric(target.task));
    if !metric.applies_to(target.task) {
        return Err(Error::Config {
            path: "config".into(),
            message: format!(
                "selection.metric: {} does not apply to {:?} targets",
                metric.name(),
                target.task
            ),
        });
    }

    // The held-out rows: a separate file read with the training types, or a split.
    let mut lineage = vec![DataLineage {
        role: "train".into(),
        path: cfg.data.train.display().to_string(),
        fingerprint: ingest::fingerprint(&cfg.data.train)?,
        rows: train_all.n_rows(),
    }];
    let (train, y_train, test, y_test) = match &cfg.data.test {
        Some(test_path) => {
            let mut test_opts = opts.clone();
            for f in &train_all.schema().fields {
                test_opts.types.insert(f.name.clone(), f.dtype);
            }
            let test = read(test_path, &test_opts, cfg)?;
            let y_test = target.encode(&test)?;
            lineage.push(DataLineage {
                role: "test".into(),
                path: test_path.display().to_string(),
                fingerprint: ingest::fingerprint(test_path)?,
                rows: test.n_rows(),
            });
            (train_all, y_all, test, y_test)
        }
        None => {
            let strat = match &y_all {
                Target::Classes { labels, .. } => Some(labels.as_slice()),
                Target::Real(_) => None,
            };
            let (tr, te) =
                split::train_test_split(train_all.n_rows(), cfg.test_fraction, strat, cfg.seed)?;
            (
                train_all.take(&tr)?,
                y_all.take(&tr),
                train_all.take(&te)?,
                y_all.take(&te),
            )
        }
    };

    // Cross-validate every candidate on the training rows.
    let folds = folds_for(&y_train, cfg.cv.folds, cfg.seed)?;
    progress.begin("cross-validating", (candidates.len() * folds.len()) as u64);
    let mut results = Vec::with_capacity(candidates.len());
    for c in &candidates {
        results.push(cross_validate(
            c, &train, &target, &y_train, &folds, metric, progress,
        )?);
    }
    progress.end();

    let best = select(&results, metric)?;
    let chosen = &candidates[best];
    progress.note(&format!(
        "refitting {} on {} rows",
        chosen.name,
        train.n_rows()
    ));
    let all_rows: Vec<usize> = (0..train.n_rows()).collect();
    let pipeline = FittedPipeline::fit(
        &train,
        &all_rows,
        &target,
        &y_train,
        &chosen.spec,
        &chosen.preprocess,
    )?;
    let pred = pipeline.predict(&test)?;
    let evaluation = report::evaluate(&pipeline, &y_test, &pred)?;
    let value = evaluation
        .metrics
        .get(metric.name())
        .copied()
        .ok_or_else(|| Error::Internal(format!("{} was not computed", metric.name())))?;
    let gate = gate(metric, value, cfg.selection.minimum);

    let mut outcome = TrainOutcome {
        name: cfg.name.clone(),
        task: target.task,
        target: target.clone(),
        train_rows: train.n_rows(),
        test_rows: test.n_rows(),
        validation,
        skipped_columns: pipeline.preprocessor.skipped.clone(),
        selection_metric: metric,
        candidates: results,
        selected: chosen.name.clone(),
        evaluation,
        gate,
        bundle: None,
        report_html: output.join("report.html"),
        report_json: output.join("report.json"),
        seconds: 0.0,
    };
    std::fs::create_dir_all(output).map_err(|e| Error::io(output, e))?;
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let bundle_dir = output.join("model");
    if outcome.gate.passed {
        outcome.bundle = Some(bundle_dir.clone());
    }
    outcome.seconds = started.elapsed().as_secs_f64();
    let html = report::render_html(&outcome, &baseline);
    let json = serde_json::to_vec_pretty(&outcome).map_err(|e| Error::Internal(e.to_string()))?;
    if outcome.gate.passed {
        bundle::write_bundle(
            &bundle_dir,
            BundleContents {
                name: &cfg.name,
                created_at: &created_at,
                pipeline: &pipeline,
                profile: &baseline,
                metrics: outcome.evaluation.metrics.clone(),
                lineage: Lineage {
                    data: lineage,
                    config_fingerprint: config_text.map(|t| bundle::sha256(t.as_bytes())),
                    seed: cfg.seed,
                    slipway_version: env!("CARGO_PKG_VERSION").into(),
                },
                extra_files: vec![
                    ("evaluation.json".into(), json.clone()),
                    ("report.html".into(), html.clone().into_bytes()),
                ],
            },
        )?;
    }
    write_atomic(&outcome.report_html, html.as_bytes())?;
    write_atomic(&outcome.report_json, &json)?;
    write_atomic(
        &output.join("profile.html"),
        slipway_data::profile::render_html(&baseline, &format!("{}: training data", cfg.name))
            .as_bytes(),
    )?;
    Ok(outcome)
}

/// Writes a file through a temporary sibling and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp-{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

fn cross_validate(
    c: &Candidate,
    train: &Table,
    target: &TargetInfo,
    y: &Target,
    folds: &[(Vec<usize>, Vec<usize>)],
    metric: Metric,
    progress: &dyn Progress,
) -> Result<CandidateResult> {
    let mut per_metric: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut fold_scores = Vec::with_capacity(folds.len());
    let mut seconds = 0.0;
    for (i, (fit_rows, val_rows)) in folds.iter().enumerate() {
        let t0 = Instant::now();
        let p = FittedPipeline::fit(train, fit_rows, target, y, &c.spec, &c.preprocess)?;
        seconds += t0.elapsed().as_secs_f64();
        let pred = p.predict(&train.take(val_rows)?)?;
        let y_val = y.take(val_rows);
        let score = metric.score(&y_val, &pred)?;
        fold_scores.push(score);
        for (m, v) in slipway_learn::metrics::evaluate(&y_val, &pred) {
            per_metric.entry(m.name().to_string()).or_default().push(v);
        }
        progress.advance(&format!(
            "{} fold {}/{}: {} {score:.4}",
            c.name,
            i + 1,
            folds.len(),
            metric.name()
        ));
    }
    let mut mean = BTreeMap::new();
    let mut std = BTreeMap::new();
    for (k, v) in per_metric {
        // A metric that failed on some fold (one class present) is not averaged.
        if v.len() != folds.len() {
            continue;
        }
        let (m, s) = mean_std(&v);
        mean.insert(k.clone(), m);
        std.insert(k, s);
    }
    let (m, s) = mean_std(&fold_scores);
    mean.insert(metric.name().to_string(), m);
    std.insert(metric.name().to_string(), s);
    Ok(CandidateResult {
        name: c.name.clone(),
        model_type: c.spec.kind().to_string(),
        params: serde_json::to_value(&c.spec)
            .ok()
            .and_then(|v| v.get("params").cloned())
            .unwrap_or_default(),
        fold_scores,
        mean,
        std,
        fit_seconds: seconds / folds.len() as f64,
    })
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

fn select(results: &[CandidateResult], metric: Metric) -> Result<usize> {
    let key = metric.name();
    let mut best: Option<(usize, f64)> = None;
    for (i, r) in results.iter().enumerate() {
        let v = r.mean.get(key).copied().unwrap_or(f64::NAN);
        if v.is_nan() {
            continue;
        }
        let better = match best {
            None => true,
            Some((_, b)) if metric.greater_is_better() => v > b,
            Some((_, b)) => v < b,
        };
        if better {
            best = Some((i, v));
        }
    }
    best.map(|(i, _)| i)
        .ok_or_else(|| Error::Internal(format!("no candidate produced a {key} score")))
}

fn gate(metric: Metric, value: f64, bound: Option<f64>) -> GateResult {
    let (passed, reason) = match bound {
        None => (true, None),
        Some(b) if metric.greater_is_better() => (
            value >= b,
            (value < b).then(|| {
                format!(
                    "holdout {} is {value:.4}, below the required minimum {b}",
                    metric.name()
                )
            }),
        ),
        Some(b) => (
            value <= b,
            (value > b).then(|| {
                format!(
                    "holdout {} is {value:.4}, above the allowed maximum {b} (lower is better for this metric)",
                    metric.name()
                )
            }),
        ),
    };
    GateResult {
        metric: metric.name().to_string(),
        value,
        minimum: bound,
        passed,
        reason,
    }
}
