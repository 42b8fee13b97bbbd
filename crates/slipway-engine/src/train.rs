//! `train`: validate, profile, split, cross-validate every candidate, select, refit,
//! evaluate on held-out rows, gate, and write the bundle and the report.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use slipway_data::ingest::{self, ReadOptions};
use slipway_data::validate::{self, ValidationReport};
use slipway_data::{Table, profile};
use slipway_learn::bundle::{self, BundleContents, DataLineage, Lineage};
use slipway_learn::calibration::{Calibration, CalibrationMethod};
use slipway_learn::class_weight::ClassWeight;
use slipway_learn::metrics::Metric;
use slipway_learn::pipeline::{FittedModel, FittedPipeline, ModelSpec, TargetInfo};
use slipway_learn::search::{self, SearchSettings, SearchSpec, run_search};
use slipway_learn::threshold::{TunedThreshold, tune_threshold};
use slipway_learn::{Matrix, Prediction, Target, Task, split};

use crate::audit::{self, Warning, WarningKind};
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
    /// The hyperparameter search, when the candidate had one (the fields above are its
    /// best configuration's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchResult>,
    /// Why the candidate failed (its cross-validation, or its refit on every training row
    /// when it ranked first); the run went on with the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A model spec's hyperparameters as the reports show them (its `params` object).
pub(crate) fn spec_params<S: Serialize>(spec: &S) -> serde_json::Value {
    serde_json::to_value(spec)
        .ok()
        .and_then(|v| v.get("params").cloned())
        .unwrap_or_default()
}

impl CandidateResult {
    /// A candidate whose cross-validation failed with `error`.
    fn failed(c: &Candidate, error: String) -> CandidateResult {
        CandidateResult {
            name: c.name.clone(),
            model_type: c.spec.kind().to_string(),
            params: spec_params(&c.spec),
            fold_scores: Vec::new(),
            mean: BTreeMap::new(),
            std: BTreeMap::new(),
            fit_seconds: 0.0,
            search: None,
            error: Some(error),
        }
    }
}

/// A candidate's hyperparameter search.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResult {
    /// `grid`, `random` or `halving`.
    pub method: String,
    /// The searched parameters of the best configuration.
    pub best_params: search::ParamSet,
    /// Every configuration evaluated, in order (all rounds for halving).
    pub evaluations: Vec<SearchEvaluation>,
    /// Resources and candidates per round (halving only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<search::HalvingSchedule>,
    /// Rounds (or the final choice) that could not separate the candidates they chose
    /// between, and the rule that decided (the earliest listed candidate wins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ties: Vec<String>,
}

/// One evaluated configuration of a search.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchEvaluation {
    /// The searched parameters (and the halving resource when it is a parameter).
    pub params: search::ParamSet,
    /// Halving round (0 otherwise).
    pub iteration: usize,
    /// Halving resource of the round.
    pub n_resources: Option<usize>,
    /// Selection metric per fold.
    pub fold_scores: Vec<f64>,
    /// Mean over folds.
    pub mean: f64,
    /// Population standard deviation over folds.
    pub std: f64,
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
    /// Feature columns the chosen model did not use (text without a text transformer); the
    /// reasons and the config lines that bring them back are in `warnings`.
    pub skipped_columns: Vec<String>,
    /// The positive class of a binary target, and whether the config chose it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive_class: Option<PositiveClass>,
    /// Worker threads used for fitting.
    #[serde(default)]
    pub threads: usize,
    /// Everything worth a warning: dropped, id-like, constant and leaking columns, a
    /// cross-validation / holdout gap, capped threads, search ties and failed candidates.
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// The metric candidates were ranked by.
    pub selection_metric: Metric,
    /// Cross-validation of every candidate, in config order.
    pub candidates: Vec<CandidateResult>,
    /// The chosen candidate.
    pub selected: String,
    /// Holdout evaluation of the chosen model.
    pub evaluation: Evaluation,
    /// Probability calibration of the chosen model, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<report::CalibrationReport>,
    /// The tuned decision threshold, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<TunedThreshold>,
    /// Fairness of the held-out predictions by each protected column (`roles: {protected:
    /// [...]}`), for binary targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fairness: Option<slipway_govern::fairness::FairnessReport>,
    /// The fairness mitigation the config asked for and what it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigation: Option<crate::mitigation::MitigationSummary>,
    /// Exact SHAP values of up to 1,000 held-out rows, for models with an exact explainer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<crate::shap_summary::ShapSummary>,
    /// The gate.
    pub gate: GateResult,
    /// Progressive (test-then-train) validation of an online model's training pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<OnlineTraining>,
    /// The bundle, when the gate passed.
    pub bundle: Option<PathBuf>,
    /// The HTML report.
    pub report_html: PathBuf,
    /// The JSON report.
    pub report_json: PathBuf,
    /// Seconds the whole run took.
    pub seconds: f64,
}

/// How an online model (`type: online`) did while it learned the training rows once, in
/// file order: each row was predicted before it was learned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnlineTraining {
    /// The learner (`hoeffding_tree`, `arf`, `logistic`).
    pub learner: String,
    /// Rows learned.
    pub rows: u64,
    /// Progressive accuracy.
    pub progressive_accuracy: f64,
    /// Progressive mean log loss.
    pub progressive_log_loss: f64,
}

impl OnlineTraining {
    fn of(model: &FittedModel) -> Option<OnlineTraining> {
        let FittedModel::Online(m) = model else {
            return None;
        };
        let p = m.train_progressive;
        Some(OnlineTraining {
            learner: m.learner_name().into(),
            rows: p.rows,
            progressive_accuracy: p.accuracy()?,
            progressive_log_loss: p.log_loss()?,
        })
    }
}

/// The positive class of a binary target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PositiveClass {
    /// The label.
    pub label: String,
    /// `config` when `positive_class:` named it, `implicit` when it is the second label in
    /// sort order (numeric order for whole numbers).
    pub source: String,
}

/// The positive class of a binary target: `positive_class` from the config (moved to class
/// code 1, which every binary metric, the threshold and calibration treat as positive, and
/// which the bundle stores) or the implicit second label. The labels are re-encoded when the
/// order changes.
pub(crate) fn positive_class(
    cfg: &PipelineConfig,
    table: &Table,
    target: TargetInfo,
    y: Target,
) -> Result<(TargetInfo, Target, Option<PositiveClass>)> {
    let given = cfg.positive_class.as_deref();
    if target.task != Task::Binary {
        if let Some(p) = given {
            return Err(Error::Config {
                path: "config".into(),
                message: format!(
                    "positive_class: \"{p}\" applies to binary classification only; target \"{}\" is {}",
                    target.name,
                    match target.task {
                        Task::Regression => "a regression target".to_string(),
                        _ => format!("multiclass ({} classes)", target.classes.len()),
                    }
                ),
            });
        }
        return Ok((target, y, None));
    }
    let Some(p) = given else {
        let label = target.classes[1].clone();
        return Ok((
            target,
            y,
            Some(PositiveClass {
                label,
                source: "implicit".into(),
            }),
        ));
    };
    let Some(pos) = target.classes.iter().position(|c| c == p) else {
        return Err(Error::Config {
            path: "config".into(),
            message: format!(
                "positive_class: \"{p}\" is not a label of target \"{}\"; its labels are {}",
                target.name,
                target
                    .classes
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    let chosen = Some(PositiveClass {
        label: p.to_string(),
        source: "config".into(),
    });
    if pos == 1 {
        return Ok((target, y, chosen));
    }
    let mut target = target;
    target.classes.swap(0, 1);
    let y = target.encode(table)?;
    Ok((target, y, chosen))
}

/// The worker threads for a run: the requested count, capped at the cores unless
/// `oversubscribe`; with a warning when capped. Unrequested: every core.
pub(crate) fn thread_budget(
    requested: Option<usize>,
    oversubscribe: bool,
) -> (usize, Option<Warning>) {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    match requested {
        None => (cores, None),
        Some(t) if t > cores && !oversubscribe => (
            cores,
            Some(Warning {
                kind: WarningKind::ThreadsCapped,
                column: None,
                candidate: None,
                message: format!(
                    "{t} threads were asked for but this machine has {cores} cores; using {cores} (more compute threads than cores only slow training down)"
                ),
                hint: Some(
                    "to run more threads than cores anyway, pass --oversubscribe (or set SLIPWAY_OVERSUBSCRIBE=1)"
                        .into(),
                ),
            }),
        ),
        Some(t) => (t, None),
    }
}

/// Caps a candidate's own `n_threads` parameter at `threads` (unless oversubscribing).
fn cap_candidate_threads(c: &mut Candidate, threads: usize) -> Result<Option<Warning>> {
    let asked = serde_json::to_value(&c.spec)
        .ok()
        .and_then(|v| v.get("params")?.get("n_threads")?.as_u64());
    let Some(asked) = asked.filter(|&t| t as usize > threads) else {
        return Ok(None);
    };
    let mut p = search::ParamSet::new();
    p.insert("n_threads".into(), serde_json::json!(threads));
    c.spec = search::with_params(&c.spec, &p).map_err(|e| candidate_error(c, e))?;
    Ok(Some(Warning {
        kind: WarningKind::ThreadsCapped,
        column: None,
        candidate: Some(c.name.clone()),
        message: format!(
            "model \"{}\": n_threads {asked} is more than the {threads} threads of this run; using {threads}",
            c.name
        ),
        hint: Some(
            "to run more threads than cores anyway, pass --oversubscribe (or set SLIPWAY_OVERSUBSCRIBE=1)"
                .into(),
        ),
    }))
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
    cfg.assign_roles(&mut t, path)?;
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
    oversubscribe: bool,
    progress: &dyn Progress,
) -> Result<TrainOutcome> {
    run_with(
        cfg,
        config_text,
        output,
        oversubscribe,
        progress,
        &CvSource::Fit,
    )?
    .ok_or_else(|| Error::Internal("a training run stopped after cross-validation".into()))
}

/// [`run`] with the fold fits taken from `source`: fitted here, fitted in part for an
/// Indexed Job's worker (which stops after cross-validation and returns `None`), or read
/// back from the workers' records by the collect step (see [`crate::indexed_job`]).
pub(crate) fn run_with(
    cfg: &PipelineConfig,
    config_text: Option<&str>,
    output: &Path,
    oversubscribe: bool,
    progress: &dyn Progress,
    source: &CvSource<'_>,
) -> Result<Option<TrainOutcome>> {
    let started = Instant::now();
    let mut warnings: Vec<Warning> = Vec::new();
    let (threads, capped) = thread_budget(cfg.threads, oversubscribe);
    warnings.extend(capped);
    let mut candidates = if cfg.threads.is_some_and(|t| t != threads) {
        let mut capped_cfg = cfg.clone();
        capped_cfg.threads = Some(threads);
        capped_cfg.candidates()?
    } else {
        cfg.candidates()?
    };
    if !oversubscribe {
        for c in &mut candidates {
            warnings.extend(cap_candidate_threads(c, threads)?);
        }
    }
    for w in &warnings {
        progress.warn(&w.line());
    }
    let opts = cfg.read_options();

    progress.note(&format!("reading {}", cfg.data.train.display()));
    let train_all = read(&cfg.data.train, &opts, cfg)?;
    let validation = validate::validate(&train_all, &cfg.validation);
    if !validation.is_ok() {
        return Err(Error::Validation(Box::new(validation)));
    }
    let baseline = profile::profile(&train_all);
    let (target, y_all) = TargetInfo::fit(&train_all, &cfg.target, cfg.task)?;
    let (target, y_all, positive) = positive_class(cfg, &train_all, target, y_all)?;
    if let Some(p) = &positive {
        progress.note(&format!(
            "positive class of \"{}\": \"{}\" ({})",
            target.name,
            p.label,
            if p.source == "config" {
                "positive_class in the config"
            } else {
                "implicit: the second label in sort order; set positive_class: to choose"
            }
        ));
    }
    // `candidates` are `models` in order.
    for (i, c) in candidates.iter().enumerate() {
        c.spec.check(target.task).map_err(|e| {
            cfg.error_at(
                &format!("models[{i}]"),
                format!("model \"{}\": {e}", c.name),
            )
        })?;
    }
    if cfg.threshold.is_some() && target.task != Task::Binary {
        return Err(cfg.error_at(
            "threshold",
            format!(
                "threshold: tuning a decision threshold needs a binary target; \"{}\" is {:?}",
                target.name, target.task
            ),
        ));
    }
    if cfg.calibration.is_some() && !target.task.is_classification() {
        return Err(cfg.error_at(
            "calibration",
            format!(
                "calibration: applies to classification; \"{}\" is a regression target",
                target.name
            ),
        ));
    }
    let metric = cfg
        .selection
        .metric
        .unwrap_or_else(|| default_metric(target.task));
    if !metric.applies_to(target.task) {
        return Err(cfg.error_at(
            "selection.metric",
            format!(
                "selection.metric: {} does not apply to {:?} targets",
                metric.name(),
                target.task
            ),
        ));
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
            let (mut tr, mut te) =
                split::train_test_split(train_all.n_rows(), cfg.test_fraction, strat, cfg.seed)?;
            // An online model learns the training rows once, in file order.
            if candidates
                .iter()
                .any(|c| matches!(c.spec, ModelSpec::Online(_)))
            {
                tr.sort_unstable();
                te.sort_unstable();
            }
            (
                train_all.take(&tr)?,
                y_all.take(&tr),
                train_all.take(&te)?,
                y_all.take(&te),
            )
        }
    };

    // Cross-validate every candidate on the training rows (searching where asked).
    let folds = folds_for(&y_train, cfg.cv.folds, cfg.seed)?;
    let mitigation = crate::mitigation::Mitigation::prepare(cfg, &train, &target)?;
    let mut mitigation_summary = match (&mitigation, &y_train) {
        (Some(m), Target::Classes { labels, .. }) => {
            let s = m.summary(labels, &target.classes)?;
            progress.note(&match s.method {
                crate::mitigation::MitigationMethod::ThresholdOptimizer => format!(
                    "fairness mitigation: {} by \"{}\" on the chosen model's out-of-fold scores",
                    s.method.name(),
                    s.column
                ),
                _ => format!(
                    "fairness mitigation: {} by \"{}\" in every fit",
                    s.method.name(),
                    s.column
                ),
            });
            for n in &s.notes {
                progress.warn(n);
            }
            Some(s)
        }
        _ => None,
    };
    // The column checks, announced before anything is fitted.
    let column_warnings = audit::audit_columns(&train, &target, &y_train, &folds, &candidates)?;
    for w in &column_warnings {
        progress.warn(&w.line());
    }
    warnings.extend(column_warnings);
    let ctx = CvContext {
        train: &train,
        target: &target,
        y: &y_train,
        folds: &folds,
        metric,
        seed: cfg.seed,
        threads,
        mitigation: mitigation.as_ref(),
    };
    let settings = search_settings(&ctx);
    let total: u64 = candidates.iter().map(|c| planned_fits(c, &settings)).sum();
    progress.begin("cross-validating", total);
    // A failing candidate is reported and the run goes on with the others.
    let mut runs: Vec<Option<CandidateRun>> = Vec::with_capacity(candidates.len());
    let mut failure_kinds: Vec<slipway_data::ErrorKind> = Vec::new();
    let mut results: Vec<CandidateResult> = Vec::with_capacity(candidates.len());
    for (ci, c) in candidates.iter().enumerate() {
        if let CvSource::Worker(w) = source {
            // A worker fits its own share only; what the search makes of it is the
            // collect step's.
            if w.has_units_of(ci) {
                let _ = cross_validate(ci, c, c.search.as_ref(), &ctx, progress, source);
            }
            continue;
        }
        match cross_validate(ci, c, c.search.as_ref(), &ctx, progress, source) {
            Ok(r) => {
                for t in r.result.search.iter().flat_map(|s| &s.ties) {
                    let w = Warning {
                        kind: WarningKind::SearchTie,
                        column: None,
                        candidate: Some(c.name.clone()),
                        message: format!("model \"{}\" search: {t}", c.name),
                        hint: None,
                    };
                    progress.warn(&w.line());
                    warnings.push(w);
                }
                results.push(r.result.clone());
                runs.push(Some(r));
            }
            Err(e) => {
                let w = failure_warning(c, "cross-validation", &e);
                progress.warn(&w.line());
                warnings.push(w);
                failure_kinds.push(e.kind());
                results.push(CandidateResult::failed(c, e.to_string()));
                runs.push(None);
            }
        }
    }
    progress.end();
    if matches!(source, CvSource::Worker(_)) {
        return Ok(None);
    }
    if results.iter().all(|r| r.error.is_some()) {
        return Err(all_failed(&results, &failure_kinds));
    }
    if let Some(w) = selection_tie(&results, metric) {
        progress.warn(&w.line());
        warnings.push(w);
    }

    // Refit the best candidate on every training row; when that fails, the next best.
    let all_rows: Vec<usize> = (0..train.n_rows()).collect();
    let mut refit = None;
    for i in ranking(&results, metric) {
        let (Some(run), c) = (runs[i].as_ref(), &candidates[i]) else {
            continue;
        };
        progress.note(&format!("refitting {} on {} rows", c.name, train.n_rows()));
        let fitted = spec_for(&c.spec, &run.best_params, None).and_then(|spec| {
            let weights = sample_weights_for(
                c.class_weight.as_ref(),
                mitigation.as_ref(),
                &target,
                &y_train,
                &all_rows,
            )?;
            let (p, game) = crate::mitigation::Mitigation::fit(
                mitigation.as_ref(),
                &train,
                &all_rows,
                &target,
                &y_train,
                &spec,
                &c.preprocess,
                weights.as_deref(),
            )?;
            Ok((spec, p, game))
        });
        match fitted {
            Ok((spec, p, game)) => {
                if let (Some(s), Some(g)) = (mitigation_summary.as_mut(), game) {
                    s.exponentiated_gradient = Some(g);
                }
                refit = Some((i, spec, p));
                break;
            }
            Err(e) => {
                let e = candidate_error(c, e);
                let w = failure_warning(c, "the refit on every training row", &e);
                progress.warn(&w.line());
                warnings.push(w);
                results[i].error = Some(format!("refit on every training row: {e}"));
                failure_kinds.push(e.kind());
            }
        }
    }
    let Some((best, chosen_spec, mut pipeline)) = refit else {
        return Err(all_failed(&results, &failure_kinds));
    };
    let chosen = &candidates[best];
    let run_best = runs[best]
        .as_ref()
        .ok_or_else(|| Error::Internal("the chosen candidate has no cross-validation".into()))?;
    let thresholds_cfg = cfg
        .fairness
        .as_ref()
        .and_then(|f| f.mitigation.as_ref())
        .filter(|m| m.method == crate::mitigation::MitigationMethod::ThresholdOptimizer);
    let (calibration_fit, threshold, oof) =
        if cfg.calibration.is_some() || cfg.threshold.is_some() || thresholds_cfg.is_some() {
            post_fit(
                cfg,
                &target,
                &ctx,
                chosen,
                &chosen_spec,
                run_best,
                &mut pipeline,
                progress,
            )?
        } else {
            (None, None, None)
        };
    // Fairness post-processing: per-group thresholds on the out-of-fold scores.
    let post = match (thresholds_cfg, &mitigation, &y_train, &oof) {
        (Some(m), Some(mit), Target::Classes { labels, .. }, Some(oof)) => {
            let post = crate::postprocess::fit(
                cfg,
                m,
                &mit.column,
                &mit.groups,
                oof.col(1),
                labels,
                &target.classes,
            )?;
            progress.note(&format!(
                "{} fitted on {} out-of-fold scores: {}",
                post.describe(),
                labels.len(),
                post.rule
                    .groups
                    .iter()
                    .map(|g| format!(
                        "{} > {:.4} (p {:.3}) / > {:.4}",
                        g.group, g.threshold0.0, g.p0, g.threshold1.0
                    ))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
            std::fs::create_dir_all(output).map_err(|e| Error::io(output, e))?;
            write_atomic(
                &output.join(crate::postprocess::SCORES_FILE),
                &crate::postprocess::scores_csv(&mit.groups, labels, oof.col(1)),
            )?;
            Some(post)
        }
        _ => None,
    };
    let pred = pipeline.predict(&test)?;
    let mitigated_codes = match (&post, &pred, &y_test) {
        (Some(post), Prediction::Probabilities(p), Target::Classes { labels, .. }) => {
            let before: Vec<bool> = pipeline
                .predicted_codes(p)
                .iter()
                .map(|&c| c == 1)
                .collect();
            let decided = post.apply(&test, p, crate::postprocess::Draws::Rows(0));
            let groups = post.groups(&test)?;
            let (after, codes) = match decided {
                Ok(d) => (
                    Some(crate::postprocess::decision_metrics(
                        &groups,
                        labels,
                        &d.positive,
                    )),
                    Some(
                        d.positive
                            .iter()
                            .map(|&b| u32::from(b))
                            .collect::<Vec<u32>>(),
                    ),
                ),
                Err(e) => {
                    let note = format!(
                        "the held-out rows are not decided by the thresholds (no before/after comparison): {e}"
                    );
                    progress.warn(&note);
                    if let Some(s) = mitigation_summary.as_mut() {
                        s.notes.push(note);
                    }
                    (None, None)
                }
            };
            let summary = crate::postprocess::ThresholdSummary {
                post: post.clone(),
                holdout_before: Some(crate::postprocess::decision_metrics(
                    &groups, labels, &before,
                )),
                holdout_after: after,
            };
            if let (Some(b), Some(a)) = (&summary.holdout_before, &summary.holdout_after) {
                progress.note(&format!(
                    "held out, before → after the thresholds: demographic parity difference {:.4} → {:.4}, equalized odds difference {:.4} → {:.4}, accuracy {:.4} → {:.4}",
                    b.demographic_parity_difference,
                    a.demographic_parity_difference,
                    b.equalized_odds_difference,
                    a.equalized_odds_difference,
                    b.accuracy,
                    a.accuracy
                ));
            }
            if let Some(s) = mitigation_summary.as_mut() {
                s.thresholds = Some(summary);
            }
            codes
        }
        _ => None,
    };
    // The held-out labels (a fairness mixture's are drawn per row).
    let test_codes = match (&pred, &pipeline.model) {
        (Prediction::Probabilities(p), FittedModel::Mixture(_)) => {
            Some(pipeline.codes_for(&test, p)?)
        }
        _ => None,
    };
    let evaluation = report::evaluate_with_codes(&pipeline, &y_test, &pred, test_codes.as_deref())?;
    let calibration = match calibration_fit {
        Some(method) => Some(report::calibration_report(
            method,
            &pipeline.predict_uncalibrated(&test)?,
            &pred,
            &y_test,
        )?),
        None => None,
    };
    let fairness = match &pred {
        Prediction::Probabilities(p) if !cfg.roles.protected.is_empty() => {
            if target.classes.len() == 2 {
                crate::fairness::holdout(
                    &cfg.roles.protected,
                    &test,
                    &y_test,
                    &pred,
                    &match &mitigated_codes {
                        Some(codes) => codes.clone(),
                        None => pipeline.codes_for(&test, p)?,
                    },
                    cfg.seed,
                )?
            } else {
                progress.note(&format!(
                    "fairness by {} is computed for binary targets; \"{}\" has {} classes",
                    cfg.roles.protected.join(", "),
                    target.name,
                    target.classes.len()
                ));
                None
            }
        }
        _ => None,
    };
    let explanation = match crate::shap_summary::summarize(&pipeline, &train, &test) {
        Ok(s) => s,
        Err(e) => {
            progress.note(&format!("the report has no SHAP explanation: {e}"));
            None
        }
    };
    let value = evaluation
        .metrics
        .get(metric.name())
        .copied()
        .ok_or_else(|| Error::Internal(format!("{} was not computed", metric.name())))?;
    let gate = gate(metric, value, cfg.selection.minimum);
    let cv = &results[best];
    if let Some(w) = audit::cv_holdout_gap(
        &chosen.name,
        metric.name(),
        cv.mean.get(metric.name()).copied().unwrap_or(f64::NAN),
        cv.std.get(metric.name()).copied().unwrap_or(f64::NAN),
        value,
    ) {
        progress.warn(&w.line());
        warnings.push(w);
    }

    let online = OnlineTraining::of(&pipeline.model);
    if let Some(o) = &online {
        progress.note(&format!(
            "online {}: progressive accuracy {:.4}, log loss {:.4} over {} training rows (each predicted, then learned)",
            o.learner, o.progressive_accuracy, o.progressive_log_loss, o.rows
        ));
    }
    let mut outcome = TrainOutcome {
        name: cfg.name.clone(),
        task: target.task,
        target: target.clone(),
        train_rows: train.n_rows(),
        test_rows: test.n_rows(),
        validation,
        skipped_columns: pipeline.preprocessor.skipped.clone(),
        positive_class: positive,
        threads,
        warnings,
        selection_metric: metric,
        candidates: results,
        selected: chosen.name.clone(),
        evaluation,
        calibration,
        threshold,
        fairness,
        mitigation: mitigation_summary,
        explanation,
        gate,
        online,
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
    // The report links profile.html: it sits next to report.html in the output folder and
    // in the bundle (and among the run's artifacts).
    let profile_html =
        slipway_data::profile::render_html(&baseline, &format!("{}: training data", cfg.name));
    // Exact floats (a NaN metric is "NaN", not null): this is also the bundle's
    // evaluation.json.
    let json = slipway_learn::exact_json::to_vec_pretty(&outcome)
        .map_err(|e| Error::Internal(e.to_string()))?;
    if outcome.gate.passed {
        // The bundle is read back and must predict these rows bit for bit before the run
        // reports success.
        pipeline.declared_types = crate::predict::declared_types(cfg, &pipeline.schema);
        let verify_rows = crate::predict::sample_rows(&train, VERIFY_ROWS)?;
        let mut extra_files = vec![
            ("evaluation.json".into(), json.clone()),
            ("report.html".into(), html.clone().into_bytes()),
            ("profile.html".into(), profile_html.clone().into_bytes()),
        ];
        if let Some(post) = &post {
            extra_files.push((
                crate::postprocess::FILE.into(),
                slipway_learn::exact_json::to_vec_pretty(post)
                    .map_err(|e| Error::Internal(e.to_string()))?,
            ));
        }
        bundle::write_verified_bundle_with(
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
                extra_files,
            },
            Some(&verify_rows),
            |staged| match &post {
                Some(post) => {
                    crate::postprocess::verify_staged(staged, post, &pipeline, &verify_rows)
                }
                None => Ok(()),
            },
        )?;
    }
    write_atomic(&outcome.report_html, html.as_bytes())?;
    write_atomic(&outcome.report_json, &json)?;
    write_atomic(&output.join("profile.html"), profile_html.as_bytes())?;
    Ok(Some(outcome))
}

/// Calibration and threshold tuning of the refitted model on out-of-fold predictions of
/// the chosen configuration (recomputed when the search's last round used subsamples).
#[allow(clippy::too_many_arguments)]
fn post_fit(
    cfg: &PipelineConfig,
    target: &TargetInfo,
    ctx: &CvContext<'_>,
    chosen: &Candidate,
    chosen_spec: &ModelSpec,
    run: &CandidateRun,
    pipeline: &mut FittedPipeline,
    progress: &dyn Progress,
) -> Result<(
    Option<CalibrationMethod>,
    Option<TunedThreshold>,
    Option<Matrix>,
)> {
    let config_err = |message: String| cfg.located(message);
    let Target::Classes { labels, .. } = ctx.y else {
        return Err(config_err(
            "calibration / threshold: apply to classification targets only".into(),
        ));
    };
    if cfg.threshold.is_some() && target.task != Task::Binary {
        return Err(config_err(format!(
            "threshold: tuning a decision threshold needs a binary target; \"{}\" has {} classes",
            target.name,
            target.classes.len()
        )));
    }
    let parts = match &run.oof {
        Some(p) => p.clone(),
        None => {
            progress.note(&format!(
                "out-of-fold predictions of {} on every row",
                chosen.name
            ));
            let single = Candidate {
                spec: chosen_spec.clone(),
                search: None,
                ..chosen.clone()
            };
            cross_validate(0, &single, None, ctx, &crate::NoProgress, &CvSource::Fit)?
                .oof
                .ok_or_else(|| Error::Internal("no out-of-fold predictions".into()))?
        }
    };
    let mut oof = assemble_oof(&parts, ctx.train.n_rows())?;
    let mut method = None;
    if let Some(c) = &cfg.calibration {
        let cal = Calibration::fit(c.method, &oof, labels)
            .map_err(|e| config_err(format!("calibration: {e}")))?;
        oof = cal.apply(&oof)?;
        pipeline.calibration = Some(cal);
        method = Some(c.method);
    }
    let mut tuned = None;
    if let Some(spec) = &cfg.threshold {
        let y: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
        let t = tune_threshold(oof.col(1), &y, spec)
            .map_err(|e| config_err(format!("threshold: {e}")))?;
        progress.note(&format!(
            "decision threshold {:.4} ({} {:.4} out of fold)",
            t.threshold,
            t.metric.name(),
            t.value
        ));
        pipeline.decision_threshold = Some(t.threshold);
        tuned = Some(t);
    }
    Ok((method, tuned, Some(oof)))
}

/// Writes a file through a temporary sibling and a rename.
/// Training rows a written bundle is read back and checked against.
const VERIFY_ROWS: usize = 256;

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp-{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// What one fold fit hands back to the search.
pub(crate) struct FoldOut {
    /// Every metric that could be computed on the fold.
    pub(crate) metrics: Vec<(String, f64)>,
    /// Validation rows (indices into the training rows) and their predictions, when the
    /// fold used all of its rows (not a halving subsample).
    pub(crate) oof: Option<(Vec<usize>, Prediction)>,
    pub(crate) seconds: f64,
}

/// Where the fold fits of cross-validation come from.
pub(crate) enum CvSource<'a> {
    /// Fitted here.
    Fit,
    /// An Indexed Job's worker: its own units are fitted and recorded, the rest skipped.
    Worker(&'a crate::indexed_job::WorkerShare),
    /// The collect step: every fold's result, as the workers recorded it.
    Recorded(&'a crate::indexed_job::RecordedFolds),
}

/// Everything needed to cross-validate candidates on the training rows.
struct CvContext<'a> {
    train: &'a Table,
    target: &'a TargetInfo,
    y: &'a Target,
    folds: &'a [(Vec<usize>, Vec<usize>)],
    metric: Metric,
    seed: u64,
    threads: usize,
    mitigation: Option<&'a crate::mitigation::Mitigation>,
}

/// The sample weights of `rows`, in a vector over all rows: class weights, then fairness
/// reweighing (fitted on `rows`, counting the class weights) when the config asks for it.
fn sample_weights_for(
    cw: Option<&ClassWeight>,
    mitigation: Option<&crate::mitigation::Mitigation>,
    ctx_target: &TargetInfo,
    y: &Target,
    rows: &[usize],
) -> slipway_learn::Result<Option<Vec<f64>>> {
    let base = class_weights_for(cw, ctx_target, y, rows)?;
    match (mitigation, y) {
        (Some(m), Target::Classes { labels, .. }) => m
            .sample_weights(labels, &ctx_target.classes, rows, base)
            .map_err(|e| slipway_learn::Error::InvalidData(e.to_string())),
        _ => Ok(base),
    }
}

/// The sample weights of `rows` from a class-weight rule, in a vector over all rows.
fn class_weights_for(
    cw: Option<&ClassWeight>,
    ctx_target: &TargetInfo,
    y: &Target,
    rows: &[usize],
) -> slipway_learn::Result<Option<Vec<f64>>> {
    let Some(cw) = cw else { return Ok(None) };
    let Target::Classes { labels, .. } = y else {
        return Err(slipway_learn::Error::param(
            "class_weight",
            "applies to classification targets only",
        ));
    };
    let fit_labels: Vec<u32> = rows.iter().map(|&r| labels[r]).collect();
    let w = cw.sample_weights(&fit_labels, &ctx_target.classes)?;
    let mut all = vec![0.0; labels.len()];
    for (&r, &v) in rows.iter().zip(&w) {
        all[r] = v;
    }
    Ok(Some(all))
}

/// Fits `spec` on one fold (optionally subsampled) and scores it.
fn fit_fold(
    c: &Candidate,
    spec: &ModelSpec,
    ctx: &CvContext<'_>,
    fold: usize,
    subsample: Option<(f64, u64)>,
) -> slipway_learn::Result<(f64, FoldOut)> {
    let (fit_all, val_all) = &ctx.folds[fold];
    let (fit_rows, val_rows) = match subsample {
        Some((f, seed)) => (
            search::subsample(fit_all, f, seed),
            search::subsample(val_all, f, seed ^ 0x5bd1_e995),
        ),
        None => (fit_all.clone(), val_all.clone()),
    };
    let t0 = Instant::now();
    let weights = sample_weights_for(
        c.class_weight.as_ref(),
        ctx.mitigation,
        ctx.target,
        ctx.y,
        &fit_rows,
    )?;
    let fitted = crate::mitigation::Mitigation::fit(
        ctx.mitigation,
        ctx.train,
        &fit_rows,
        ctx.target,
        ctx.y,
        spec,
        &c.preprocess,
        weights.as_deref(),
    )
    .map(|(p, _)| p);
    let p = match fitted {
        Ok(p) => p,
        // A halving subsample can be too small to fit (one class, too few rows): the
        // candidate scores NaN there and ranks last, like scikit-learn's error_score=nan.
        Err(e) if subsample.is_some() && e.kind() == slipway_data::ErrorKind::User => {
            let out = FoldOut {
                metrics: Vec::new(),
                oof: None,
                seconds: t0.elapsed().as_secs_f64(),
            };
            return Ok((f64::NAN, out));
        }
        Err(e) => return Err(e),
    };
    let seconds = t0.elapsed().as_secs_f64();
    let pred = p.predict(&ctx.train.take(&val_rows)?)?;
    let y_val = ctx.y.take(&val_rows);
    let score = match ctx.metric.score(&y_val, &pred) {
        Ok(v) => v,
        // A halving subsample can be too small for the metric (one class in a fold): the
        // candidate scores NaN there and ranks last, like scikit-learn's error_score=nan.
        Err(e) if subsample.is_some() && e.kind() == slipway_data::ErrorKind::User => f64::NAN,
        Err(e) => return Err(e),
    };
    let metrics = slipway_learn::metrics::evaluate(&y_val, &pred)
        .into_iter()
        .map(|(m, v)| (m.name().to_string(), v))
        .collect();
    Ok((
        score,
        FoldOut {
            metrics,
            oof: subsample.is_none().then_some((val_rows, pred)),
            seconds,
        },
    ))
}

/// `spec` with `params` set and that many threads (every family has a thread count; see
/// [`ModelSpec::threads_param`]).
fn spec_for(
    base: &ModelSpec,
    params: &search::ParamSet,
    threads: Option<usize>,
) -> slipway_learn::Result<ModelSpec> {
    let mut spec = search::with_params(base, params)?;
    if threads.is_some() {
        spec.set_threads(threads);
    }
    Ok(spec)
}

/// How many fold fits a candidate's search will make (for the progress bar).
fn planned_fits(c: &Candidate, settings: &SearchSettings) -> u64 {
    let k = settings.n_folds as u64;
    let Some(s) = &c.search else { return k };
    let Ok(cands) = s.candidates(settings.seed) else {
        return k;
    };
    match s {
        SearchSpec::Halving(h) => {
            let by_samples = h.resource == "n_samples";
            let smallest = if by_samples {
                2 * settings.n_folds * settings.n_classes.max(1)
            } else {
                1
            };
            search::halving_schedule(
                cands.len(),
                h.factor,
                h.min_resources,
                h.max_resources.unwrap_or(settings.n_samples),
                smallest,
                h.aggressive_elimination,
            )
            .map(|s| s.n_candidates.iter().sum::<usize>() as u64 * k)
            .unwrap_or(k)
        }
        _ => cands.len() as u64 * k,
    }
}

/// One candidate's search (or plain cross-validation), the best configuration's results
/// and its out-of-fold predictions when every fold used all its rows.
struct CandidateRun {
    result: CandidateResult,
    best_params: search::ParamSet,
    oof: Option<Vec<(Vec<usize>, Prediction)>>,
}

fn search_settings(ctx: &CvContext<'_>) -> SearchSettings {
    SearchSettings {
        n_folds: ctx.folds.len(),
        greater_is_better: ctx.metric.greater_is_better(),
        seed: ctx.seed,
        threads: ctx.threads,
        n_samples: ctx.train.n_rows(),
        n_classes: match ctx.y {
            Target::Classes { n_classes, .. } => *n_classes,
            Target::Real(_) => 0,
        },
    }
}

fn candidate_error(c: &Candidate, e: slipway_learn::Error) -> Error {
    if e.kind() == slipway_data::ErrorKind::Internal {
        return Error::Learn(e);
    }
    let weights = if c.class_weight.is_some() {
        " with class_weight"
    } else {
        ""
    };
    let what = format!("model \"{}\" ({}){weights}", c.name, c.spec.kind());
    match e {
        // A property of the data (e.g. collinear features), not of the config: still the
        // user's to fix (exit 2), but not labelled a config error.
        slipway_learn::Error::InvalidData(m) => {
            Error::Learn(slipway_learn::Error::InvalidData(format!("{what}: {m}")))
        }
        e => Error::Config {
            path: "config".into(),
            message: format!("{what}: {e}"),
        },
    }
}

fn cross_validate(
    ci: usize,
    c: &Candidate,
    search_spec: Option<&SearchSpec>,
    ctx: &CvContext<'_>,
    progress: &dyn Progress,
    source: &CvSource<'_>,
) -> Result<CandidateRun> {
    let settings = search_settings(ctx);
    let outcome = run_search(search_spec, &settings, |task| {
        let fit = || -> slipway_learn::Result<(f64, FoldOut)> {
            let spec = spec_for(&c.spec, task.params, Some(task.threads))?;
            fit_fold(c, &spec, ctx, task.fold, task.subsample)
        };
        let out = match source {
            CvSource::Fit => fit(),
            CvSource::Worker(w) => w.evaluate(ci, &c.name, task, fit),
            CvSource::Recorded(r) => r.replay(ci, &c.name, task),
        }
        .map_err(|e| {
            if task.params.is_empty() || e.kind() == slipway_data::ErrorKind::Internal {
                e
            } else {
                slipway_learn::Error::InvalidData(format!(
                    "search candidate {}: {e}",
                    serde_json::to_string(task.params).unwrap_or_default()
                ))
            }
        })?;
        progress.advance(&format!(
            "{} fold {}/{}: {} {:.4}",
            c.name,
            task.fold + 1,
            ctx.folds.len(),
            ctx.metric.name(),
            out.0
        ));
        Ok(out)
    })
    .map_err(|e| candidate_error(c, e))?;
    let best = &outcome.evaluations[outcome.best];
    let mut per_metric: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for o in &best.outputs {
        for (m, v) in &o.metrics {
            per_metric.entry(m.clone()).or_default().push(*v);
        }
    }
    let n_folds = ctx.folds.len();
    let mut mean = BTreeMap::new();
    let mut std = BTreeMap::new();
    for (k, v) in per_metric {
        // A metric that failed on some fold (one class present) is not averaged.
        if v.len() != n_folds {
            continue;
        }
        let (m, s) = mean_std(&v);
        mean.insert(k.clone(), m);
        std.insert(k, s);
    }
    mean.insert(ctx.metric.name().to_string(), best.mean);
    std.insert(ctx.metric.name().to_string(), best.std);
    let best_spec = spec_for(&c.spec, &best.params, None).map_err(|e| candidate_error(c, e))?;
    let oof: Option<Vec<(Vec<usize>, Prediction)>> =
        best.outputs.iter().map(|o| o.oof.clone()).collect();
    let search_result = search_spec.map(|s| SearchResult {
        method: match s {
            SearchSpec::Grid(_) => "grid",
            SearchSpec::Random(_) => "random",
            SearchSpec::Halving(_) => "halving",
        }
        .to_string(),
        best_params: best.params.clone(),
        evaluations: outcome
            .evaluations
            .iter()
            .map(|e| SearchEvaluation {
                params: e.params.clone(),
                iteration: e.iteration,
                n_resources: e.n_resources,
                fold_scores: e.fold_scores.clone(),
                mean: e.mean,
                std: e.std,
            })
            .collect(),
        schedule: outcome.schedule.clone(),
        ties: outcome.ties.clone(),
    });
    Ok(CandidateRun {
        result: CandidateResult {
            name: c.name.clone(),
            model_type: c.spec.kind().to_string(),
            params: spec_params(&best_spec),
            fold_scores: best.fold_scores.clone(),
            mean,
            std,
            fit_seconds: best.outputs.iter().map(|o| o.seconds).sum::<f64>() / n_folds as f64,
            search: search_result,
            error: None,
        },
        best_params: best.params.clone(),
        oof,
    })
}

/// Out-of-fold class probabilities of every training row, in row order.
fn assemble_oof(parts: &[(Vec<usize>, Prediction)], n_rows: usize) -> Result<Matrix> {
    let n_cols = match parts.first() {
        Some((_, Prediction::Probabilities(p))) => p.n_cols(),
        _ => {
            return Err(Error::Internal(
                "out-of-fold predictions are not class probabilities".into(),
            ));
        }
    };
    let mut out = Matrix::zeros(n_rows, n_cols);
    let mut seen = vec![false; n_rows];
    for (rows, pred) in parts {
        let Prediction::Probabilities(p) = pred else {
            return Err(Error::Internal("mixed out-of-fold predictions".into()));
        };
        for (i, &r) in rows.iter().enumerate() {
            seen[r] = true;
            for k in 0..n_cols {
                out.set(r, k, p.get(i, k));
            }
        }
    }
    if seen.iter().any(|s| !s) {
        return Err(Error::Internal(
            "the folds do not cover every training row".into(),
        ));
    }
    Ok(out)
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

/// Candidates with a score, best first; equal scores keep the config order.
fn ranking(results: &[CandidateResult], metric: Metric) -> Vec<usize> {
    let key = metric.name();
    let score = |i: usize| results[i].mean.get(key).copied().unwrap_or(f64::NAN);
    let mut order: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].error.is_none() && !score(i).is_nan())
        .collect();
    order.sort_by(|&a, &b| {
        if metric.greater_is_better() {
            score(b).total_cmp(&score(a))
        } else {
            score(a).total_cmp(&score(b))
        }
    });
    order
}

/// A warning when the best cross-validated score is shared: the first listed candidate is
/// chosen.
fn selection_tie(results: &[CandidateResult], metric: Metric) -> Option<Warning> {
    let order = ranking(results, metric);
    let key = metric.name();
    let best = results[*order.first()?].mean[key];
    let tied: Vec<&str> = order
        .iter()
        .filter(|&&i| search::same_score(results[i].mean[key], best))
        .map(|&i| results[i].name.as_str())
        .collect();
    (tied.len() > 1).then(|| Warning {
        kind: WarningKind::SearchTie,
        column: None,
        candidate: Some(tied[0].to_string()),
        message: format!(
            "candidates {} have the same cross-validated {key} ({best:.4}); the first listed in the config, {}, is chosen",
            tied.join(", "),
            tied[0]
        ),
        hint: Some("more rows or more folds (cv.folds) may separate them".into()),
    })
}

/// The warning for a candidate that failed at `stage`.
fn failure_warning(c: &Candidate, stage: &str, e: &Error) -> Warning {
    Warning {
        kind: WarningKind::CandidateFailed,
        column: None,
        candidate: Some(c.name.clone()),
        message: format!(
            "candidate \"{}\" failed in {stage} and is left out: {e}",
            c.name
        ),
        hint: Some("the run goes on with the other candidates".into()),
    }
}

/// The error when no candidate could be trained: every candidate's failure, as a config
/// error when each is one the user can fix, else internal.
fn all_failed(results: &[CandidateResult], kinds: &[slipway_data::ErrorKind]) -> Error {
    let lines: Vec<String> = results
        .iter()
        .map(|r| {
            format!(
                "  - {} ({}): {}",
                r.name,
                r.model_type,
                r.error.as_deref().unwrap_or("no score")
            )
        })
        .collect();
    let message = format!("every candidate failed:\n{}", lines.join("\n"));
    if kinds.iter().all(|k| *k == slipway_data::ErrorKind::User) {
        Error::Config {
            path: "config".into(),
            message,
        }
    } else {
        Error::Internal(message)
    }
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
