//! Training spread over a Kubernetes Indexed Job: the plan, one index's share, and the
//! collect step.
//!
//! - [`train_plan`] lists the units of work of a config, deterministically and in the order
//!   the single-process search evaluates them: for each candidate (config order), each
//!   configuration of its grid or random search (one, without a search) × each fold. A
//!   successive-halving search is one unit (its rounds depend on the previous ones).
//! - Completion index `i` of `n` takes units `i, i + n, i + 2n, …` ([`share`]), fits them
//!   exactly as `train` would and returns a [`TrainPart`]: each fold's score, metrics and
//!   fit time, plus the fingerprint of the config and data it ran on. The caller stores it
//!   (the CLI writes it under the job's prefix in the artifact store).
//! - The collect step checks that the parts of every index are there, agree on the plan and
//!   cover each unit once, then runs `train` with the fold results read back instead of
//!   fitted ([`crate::train::CvSource::Recorded`]): the search, the ranking, the ties and
//!   the warnings are computed by the same code from the same numbers, so the chosen
//!   candidate, its scores and the refitted bundle equal a single-process run's.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use slipway_learn::search::{FoldTask, ParamSet, SearchSpec};

use crate::config::PipelineConfig;
use crate::train::FoldOut;
use crate::{Error, Result};

/// The version of the part files' layout.
pub const PART_FORMAT: u32 = 1;

/// One unit of a training job's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkUnit {
    /// The candidate's name.
    pub candidate: String,
    /// Its place among the config's `models`.
    pub candidate_index: usize,
    /// The search configuration (`None`: the whole successive-halving search).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<usize>,
    /// The configuration's parameters (absent for a halving unit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<ParamSet>,
    /// The fold (`None` for a halving unit: every fold of every round).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold: Option<usize>,
}

impl WorkUnit {
    fn key(&self) -> (usize, Option<usize>, Option<usize>) {
        (self.candidate_index, self.configuration, self.fold)
    }

    /// The unit in words, for messages.
    pub fn describe(&self) -> String {
        match (self.configuration, self.fold) {
            (Some(c), Some(f)) => format!(
                "model \"{}\" configuration {} fold {}",
                self.candidate,
                c + 1,
                f + 1
            ),
            _ => format!("model \"{}\" (its whole halving search)", self.candidate),
        }
    }
}

/// Every unit of `cfg`'s training, in the single-process search's order.
pub fn train_plan(cfg: &PipelineConfig) -> Result<Vec<WorkUnit>> {
    if cfg.is_clustering() {
        return Err(cfg.error_at(
            "task",
            "task: clustering fits each candidate once, with no folds to spread over a job",
        ));
    }
    let mut units = Vec::new();
    for (ci, c) in cfg.candidates()?.into_iter().enumerate() {
        let configurations = match &c.search {
            Some(SearchSpec::Halving(_)) => {
                units.push(WorkUnit {
                    candidate: c.name.clone(),
                    candidate_index: ci,
                    configuration: None,
                    params: None,
                    fold: None,
                });
                continue;
            }
            Some(s) => s.candidates(cfg.seed).map_err(|e| {
                cfg.error_at(
                    &format!("models[{ci}].search"),
                    format!("model \"{}\": {e}", c.name),
                )
            })?,
            None => vec![ParamSet::new()],
        };
        for (k, params) in configurations.into_iter().enumerate() {
            for fold in 0..cfg.cv.folds {
                units.push(WorkUnit {
                    candidate: c.name.clone(),
                    candidate_index: ci,
                    configuration: Some(k),
                    params: Some(params.clone()),
                    fold: Some(fold),
                });
            }
        }
    }
    Ok(units)
}

/// The units (indices into the plan) that completion index `index` of `total` runs:
/// every `total`-th, starting at `index`, so that each candidate's folds spread over the
/// indices.
pub fn share(n_units: usize, index: usize, total: usize) -> Vec<usize> {
    (index..n_units).step_by(total.max(1)).collect()
}

/// Checks an index against the job's size.
pub fn check_index(index: usize, total: usize) -> Result<()> {
    if total == 0 {
        return Err(job_error(
            "the job's size (--parallelism) must be at least 1",
        ));
    }
    if index >= total {
        return Err(job_error(format!(
            "JOB_COMPLETION_INDEX {index} is outside the job's {total} indices (0 to {})",
            total - 1
        )));
    }
    Ok(())
}

fn job_error(message: impl Into<String>) -> Error {
    Error::Config {
        path: "indexed job".into(),
        message: message.into(),
    }
}

/// What a plan's results depend on: the config (its output folder and thread count aside)
/// and the training and test files' bytes. Parts from another config or other data are
/// refused by the collect step.
pub fn fingerprint(cfg: &PipelineConfig) -> Result<String> {
    let mut c = cfg.clone();
    c.output = None;
    c.threads = None;
    let mut h = Sha256::new();
    // Through a JSON value: its maps are ordered, whatever maps the config holds.
    let value =
        slipway_learn::exact_json::to_value(&c).map_err(|e| Error::Internal(e.to_string()))?;
    h.update(serde_json::to_vec(&value).map_err(|e| Error::Internal(e.to_string()))?);
    h.update(slipway_data::ingest::fingerprint(&c.data.train)?.as_bytes());
    if let Some(test) = &c.data.test {
        h.update(slipway_data::ingest::fingerprint(test)?.as_bytes());
    }
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    Ok(format!("sha256:{}", hex::encode(h.finalize())))
}

/// A fold fit's failure, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordedError {
    /// `user` (a property of the data or the parameters) or `internal`.
    pub kind: String,
    /// The message.
    pub message: String,
}

/// One fold fit a worker made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FoldRecord {
    /// The candidate's name.
    pub candidate: String,
    /// Its place among the config's `models`.
    pub candidate_index: usize,
    /// The search's evaluation (configuration, or for halving configuration and round).
    pub evaluation: usize,
    /// The fold.
    pub fold: usize,
    /// The parameters fitted (the halving resource included when it is a parameter).
    pub params: ParamSet,
    /// The halving subsample fraction, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsample: Option<f64>,
    /// The selection metric on the fold's validation rows.
    pub score: f64,
    /// Every metric that could be computed on the fold.
    pub metrics: Vec<(String, f64)>,
    /// Seconds the fit took.
    pub seconds: f64,
    /// Why the fit failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RecordedError>,
}

/// What one completion index of a training job hands to the collect step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainPart {
    /// [`PART_FORMAT`].
    pub format: u32,
    /// The job's id.
    pub job: String,
    /// This completion index.
    pub index: usize,
    /// The job's number of indices.
    pub total: usize,
    /// [`fingerprint`] of the config and data.
    pub fingerprint: String,
    /// The plan's units this index ran.
    pub units: Vec<WorkUnit>,
    /// Every fold fit it made, in no particular order.
    pub folds: Vec<FoldRecord>,
    /// Seconds the index took.
    pub seconds: f64,
}

impl TrainPart {
    /// The part as stored (exact floats: NaN scores survive).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        slipway_learn::exact_json::to_vec_pretty(self).map_err(|e| Error::Internal(e.to_string()))
    }

    /// A stored part; `name` (where it was read from) is for messages.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<TrainPart> {
        slipway_learn::exact_json::from_slice(bytes).map_err(|e| {
            job_error(format!(
                "{name}: not a training job part ({e}); was it written by another version?"
            ))
        })
    }
}

/// One index's share, as [`crate::train::CvSource::Worker`] uses it.
pub(crate) struct WorkerShare {
    units: HashSet<(usize, Option<usize>, Option<usize>)>,
    candidates: HashSet<usize>,
    records: Mutex<Vec<FoldRecord>>,
}

impl WorkerShare {
    fn new(units: &[WorkUnit]) -> Self {
        WorkerShare {
            units: units.iter().map(WorkUnit::key).collect(),
            candidates: units.iter().map(|u| u.candidate_index).collect(),
            records: Mutex::new(Vec::new()),
        }
    }

    /// Whether this share holds any unit of candidate `ci`.
    pub(crate) fn has_units_of(&self, ci: usize) -> bool {
        self.candidates.contains(&ci)
    }

    /// Fits the task when it is this share's (and records the result); any other task of
    /// the candidate is skipped with a NaN score, which only this worker's discarded search
    /// sees.
    pub(crate) fn evaluate(
        &self,
        ci: usize,
        name: &str,
        task: &FoldTask<'_>,
        fit: impl FnOnce() -> slipway_learn::Result<(f64, FoldOut)>,
    ) -> slipway_learn::Result<(f64, FoldOut)> {
        let mine = self.units.contains(&(ci, None, None))
            || self
                .units
                .contains(&(ci, Some(task.evaluation), Some(task.fold)));
        if !mine {
            return Ok((
                f64::NAN,
                FoldOut {
                    metrics: Vec::new(),
                    oof: None,
                    seconds: 0.0,
                },
            ));
        }
        let result = fit();
        let mut record = FoldRecord {
            candidate: name.to_string(),
            candidate_index: ci,
            evaluation: task.evaluation,
            fold: task.fold,
            params: task.params.clone(),
            subsample: task.subsample.map(|(f, _)| f),
            score: f64::NAN,
            metrics: Vec::new(),
            seconds: 0.0,
            error: None,
        };
        match &result {
            Ok((score, out)) => {
                record.score = *score;
                record.metrics = out.metrics.clone();
                record.seconds = out.seconds;
            }
            Err(e) => {
                record.error = Some(RecordedError {
                    kind: match e.kind() {
                        slipway_data::ErrorKind::Internal => "internal".into(),
                        _ => "user".into(),
                    },
                    message: match e {
                        slipway_learn::Error::InvalidData(m) => m.clone(),
                        e => e.to_string(),
                    },
                });
            }
        }
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(record);
        result
    }
}

/// Every fold fit of a job, by (candidate, evaluation, fold), for the collect step.
pub(crate) struct RecordedFolds {
    folds: HashMap<(usize, usize, usize), FoldRecord>,
}

impl RecordedFolds {
    /// The recorded result of `task`, as the fit would have returned it (without the
    /// out-of-fold predictions, which calibration and threshold tuning recompute).
    pub(crate) fn replay(
        &self,
        ci: usize,
        name: &str,
        task: &FoldTask<'_>,
    ) -> slipway_learn::Result<(f64, FoldOut)> {
        let what = || {
            format!(
                "model \"{name}\" evaluation {} fold {}",
                task.evaluation + 1,
                task.fold + 1
            )
        };
        let Some(r) = self.folds.get(&(ci, task.evaluation, task.fold)) else {
            return Err(slipway_learn::Error::Internal(format!(
                "the job's parts hold no result for {}: they do not cover the plan",
                what()
            )));
        };
        if r.candidate != name || &r.params != task.params {
            return Err(slipway_learn::Error::Internal(format!(
                "the job's result for {} was fitted with other parameters ({} {}) than the \
                 plan's ({})",
                what(),
                r.candidate,
                serde_json::to_string(&r.params).unwrap_or_default(),
                serde_json::to_string(task.params).unwrap_or_default()
            )));
        }
        if let Some(e) = &r.error {
            return Err(if e.kind == "internal" {
                slipway_learn::Error::Internal(e.message.clone())
            } else {
                slipway_learn::Error::InvalidData(e.message.clone())
            });
        }
        Ok((
            r.score,
            FoldOut {
                metrics: r.metrics.clone(),
                oof: None,
                seconds: r.seconds,
            },
        ))
    }
}

/// Runs completion index `index` of a `total`-index training job `job`: its share of the
/// plan, fitted; nothing is written (the caller stores the part).
#[allow(clippy::too_many_arguments)]
pub(crate) fn train_worker(
    cfg: &PipelineConfig,
    config_text: Option<&str>,
    job: &str,
    index: usize,
    total: usize,
    oversubscribe: bool,
    progress: &dyn crate::Progress,
) -> Result<TrainPart> {
    check_index(index, total)?;
    let started = std::time::Instant::now();
    let plan = train_plan(cfg)?;
    let units: Vec<WorkUnit> = share(plan.len(), index, total)
        .into_iter()
        .map(|u| plan[u].clone())
        .collect();
    let fingerprint = fingerprint(cfg)?;
    progress.note(&format!(
        "index {index} of {total}: {} of the plan's {} units",
        units.len(),
        plan.len()
    ));
    let worker = WorkerShare::new(&units);
    if !units.is_empty() {
        // The output folder is never written: the run stops after cross-validation.
        crate::train::run_with(
            cfg,
            config_text,
            Path::new("."),
            oversubscribe,
            progress,
            &crate::train::CvSource::Worker(&worker),
        )?;
    }
    let mut folds = worker
        .records
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    folds.sort_by_key(|r| (r.candidate_index, r.evaluation, r.fold));
    Ok(TrainPart {
        format: PART_FORMAT,
        job: job.to_string(),
        index,
        total,
        fingerprint,
        units,
        folds,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Checks the parts of a `total`-index job against the plan and gathers their fold fits.
pub(crate) fn gather(
    cfg: &PipelineConfig,
    job: &str,
    total: usize,
    parts: &BTreeMap<usize, Vec<u8>>,
) -> Result<RecordedFolds> {
    if total == 0 {
        return Err(job_error(
            "the job's size (--parallelism) must be at least 1",
        ));
    }
    let missing: Vec<String> = (0..total)
        .filter(|i| !parts.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(job_error(format!(
            "job \"{job}\": no result from completion index {} of {total}: those pods have not \
             finished or failed (kubectl logs job/<job> for their output); rerun an index with \
             JOB_COMPLETION_INDEX set",
            missing.join(", ")
        )));
    }
    if let Some(extra) = parts.keys().find(|&&i| i >= total) {
        return Err(job_error(format!(
            "job \"{job}\": a result from completion index {extra}, beyond the job's {total} \
             indices: was the job emitted with another --parallelism?"
        )));
    }
    let plan = train_plan(cfg)?;
    let expected = fingerprint(cfg)?;
    let mut covered: BTreeSet<usize> = BTreeSet::new();
    let mut folds = HashMap::new();
    let by_key: HashMap<_, usize> = plan.iter().enumerate().map(|(i, u)| (u.key(), i)).collect();
    for (&i, bytes) in parts {
        let name = format!("part {i}");
        let p = TrainPart::from_bytes(bytes, &name)?;
        if p.format != PART_FORMAT {
            return Err(job_error(format!(
                "{name}: format {} (this slipway reads {PART_FORMAT})",
                p.format
            )));
        }
        if p.job != job || p.index != i || p.total != total {
            return Err(job_error(format!(
                "{name}: written by index {} of {} of job \"{}\", not index {i} of {total} of \
                 job \"{job}\"",
                p.index, p.total, p.job
            )));
        }
        if p.fingerprint != expected {
            return Err(job_error(format!(
                "{name}: computed from another config or other data ({}; here {expected}): \
                 every index and the collect step must read the same config and files",
                p.fingerprint
            )));
        }
        for u in &p.units {
            let Some(&at) = by_key.get(&u.key()).filter(|&&at| plan[at] == *u) else {
                return Err(job_error(format!(
                    "{name}: {} is not in this config's plan",
                    u.describe()
                )));
            };
            if !covered.insert(at) {
                return Err(job_error(format!(
                    "{name}: {} was also run by another index",
                    u.describe()
                )));
            }
        }
        for r in p.folds {
            folds.insert((r.candidate_index, r.evaluation, r.fold), r);
        }
    }
    if let Some(u) = (0..plan.len()).find(|u| !covered.contains(u)) {
        return Err(job_error(format!(
            "job \"{job}\": no index ran {} ({} of the plan's {} units are missing)",
            plan[u].describe(),
            plan.len() - covered.len(),
            plan.len()
        )));
    }
    Ok(RecordedFolds { folds })
}

/// The row groups completion index `index` of `total` scores: a contiguous block, so the
/// parts concatenated in index order keep the input's row order.
pub fn row_group_share(n_groups: usize, index: usize, total: usize) -> std::ops::Range<usize> {
    let total = total.max(1);
    (index * n_groups / total)..((index + 1) * n_groups / total)
}

/// What one completion index of a scoring job stored next to its predictions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PredictPart {
    /// [`PART_FORMAT`].
    pub format: u32,
    /// The job's id.
    pub job: String,
    /// This completion index.
    pub index: usize,
    /// The job's number of indices.
    pub total: usize,
    /// `sha256:` of the input file.
    pub input_fingerprint: String,
    /// `sha256:` of the model bundle's manifest.
    pub model_fingerprint: String,
    /// The input's row groups.
    pub row_groups_total: usize,
    /// The row groups this index scored.
    pub row_groups: std::ops::Range<usize>,
    /// Rows scored.
    pub rows: usize,
    /// Seconds the index took.
    pub seconds: f64,
}

fn model_fingerprint(model: &Path) -> Result<String> {
    let manifest = model.join("manifest.json");
    let bytes = std::fs::read(&manifest).map_err(|e| Error::io(&manifest, e))?;
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(&bytes))))
}

fn parquet_input(input: &Path) -> Result<usize> {
    if slipway_data::ingest::Format::from_path(input)? != slipway_data::ingest::Format::Parquet {
        return Err(Error::Config {
            path: input.display().to_string(),
            message: "a scoring job spreads a Parquet file's row groups over its indices; this \
                      input is not Parquet (.parquet)"
                .into(),
        });
    }
    Ok(slipway_data::ingest::parquet_row_groups(input)?.0)
}

/// Scores completion index `index`'s row groups of `input` with the bundle at `model`:
/// the row groups are copied to `scratch` and scored there; returns the part's description
/// and its predictions file (Parquet, in `scratch`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn predict_worker(
    model: &Path,
    input: &Path,
    job: &str,
    index: usize,
    total: usize,
    scratch: &Path,
    options: &crate::PredictOptions,
    progress: &dyn crate::Progress,
) -> Result<(PredictPart, std::path::PathBuf)> {
    check_index(index, total)?;
    let started = std::time::Instant::now();
    let n = parquet_input(input)?;
    let groups = row_group_share(n, index, total);
    progress.note(&format!(
        "index {index} of {total}: row groups {}..{} of {n}",
        groups.start, groups.end
    ));
    std::fs::create_dir_all(scratch).map_err(|e| Error::io(scratch, e))?;
    let subset = scratch.join(format!("input-{index:05}.parquet"));
    let wanted: Vec<usize> = groups.clone().collect();
    slipway_data::ingest::copy_parquet_row_groups(input, &wanted, &subset)?;
    let out = scratch.join(format!("predictions-{index:05}.parquet"));
    let outcome = crate::predict::run(model, &subset, &out, options, progress)?;
    let _ = std::fs::remove_file(&subset);
    Ok((
        PredictPart {
            format: PART_FORMAT,
            job: job.to_string(),
            index,
            total,
            input_fingerprint: slipway_data::ingest::fingerprint(input)?,
            model_fingerprint: model_fingerprint(model)?,
            row_groups_total: n,
            row_groups: groups,
            rows: outcome.rows,
            seconds: started.elapsed().as_secs_f64(),
        },
        out,
    ))
}

/// What the collect step of a scoring job did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PredictCollectOutcome {
    /// The job's id.
    pub job: String,
    /// Rows written.
    pub rows: u64,
    /// Indices collected.
    pub parts: usize,
    /// Where the predictions were written.
    pub output: std::path::PathBuf,
}

/// The collect step of a scoring job: checks each index's part description (the same
/// input and model, row groups covering the file in order), then writes the parts'
/// predictions, in index order, to `output` (format by extension).
pub(crate) fn predict_collect(
    model: &Path,
    input: &Path,
    job: &str,
    total: usize,
    parts: &BTreeMap<usize, (Vec<u8>, std::path::PathBuf)>,
    output: &Path,
) -> Result<PredictCollectOutcome> {
    let missing: Vec<String> = (0..total)
        .filter(|i| !parts.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if total == 0 || !missing.is_empty() {
        return Err(job_error(format!(
            "job \"{job}\": no result from completion index {} of {total}: those pods have not \
             finished or failed (kubectl logs job/<job> for their output); rerun an index with \
             JOB_COMPLETION_INDEX set",
            missing.join(", ")
        )));
    }
    let input_fp = slipway_data::ingest::fingerprint(input)?;
    let model_fp = model_fingerprint(model)?;
    let n = parquet_input(input)?;
    let mut next_group = 0;
    let mut writer: Option<slipway_data::ingest::TableWriter> = None;
    for (&i, (meta, file)) in parts.range(0..total) {
        let name = format!("part {i}");
        let p: PredictPart = serde_json::from_slice(meta)
            .map_err(|e| job_error(format!("{name}: not a scoring job part ({e})")))?;
        if p.format != PART_FORMAT || p.job != job || p.index != i || p.total != total {
            return Err(job_error(format!(
                "{name}: written by index {} of {} of job \"{}\" (format {}), not index {i} of \
                 {total} of job \"{job}\"",
                p.index, p.total, p.job, p.format
            )));
        }
        if p.input_fingerprint != input_fp || p.model_fingerprint != model_fp {
            return Err(job_error(format!(
                "{name}: scored another input or model than {} with {}: every index and the \
                 collect step must read the same files",
                input.display(),
                model.display()
            )));
        }
        if p.row_groups_total != n || p.row_groups.start != next_group {
            return Err(job_error(format!(
                "{name}: row groups {}..{} of {}, expected to start at {next_group} of {n}",
                p.row_groups.start, p.row_groups.end, p.row_groups_total
            )));
        }
        next_group = p.row_groups.end;
        let mut chunks = slipway_data::ingest::read_chunks(
            file,
            &slipway_data::ingest::ReadOptions::default(),
            None,
            crate::predict::DEFAULT_CHUNK_ROWS,
        )?;
        while let Some(t) = chunks.next_chunk()? {
            if t.n_rows() == 0 && writer.is_some() {
                continue;
            }
            let w = match &mut writer {
                Some(w) => w,
                None => writer.insert(slipway_data::ingest::TableWriter::create(output)?),
            };
            w.write(&t)?;
        }
    }
    if next_group != n {
        return Err(job_error(format!(
            "job \"{job}\": the parts cover row groups 0..{next_group} of {n}"
        )));
    }
    let w = writer.ok_or_else(|| Error::Internal("no part had a table to write".into()))?;
    let rows = w.rows();
    w.finish()?;
    Ok(PredictCollectOutcome {
        job: job.to_string(),
        rows,
        parts: parts.len(),
        output: output.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_every_unit_once() {
        for total in 1..9 {
            let mut all: Vec<usize> = (0..total).flat_map(|i| share(23, i, total)).collect();
            all.sort_unstable();
            assert_eq!(all, (0..23).collect::<Vec<_>>(), "{total}");
        }
        assert!(share(3, 5, 8).is_empty());
    }

    #[test]
    fn row_group_shares_are_contiguous_and_in_order() {
        for total in 1..9 {
            let mut next = 0;
            for i in 0..total {
                let r = row_group_share(13, i, total);
                assert_eq!(r.start, next, "{total}");
                next = r.end;
            }
            assert_eq!(next, 13);
        }
    }

    #[test]
    fn an_index_outside_the_job_is_refused() {
        assert!(check_index(3, 4).is_ok());
        let e = check_index(4, 4).unwrap_err().to_string();
        assert!(
            e.contains("JOB_COMPLETION_INDEX 4") && e.contains("0 to 3"),
            "{e}"
        );
        assert!(check_index(0, 0).is_err());
    }
}
