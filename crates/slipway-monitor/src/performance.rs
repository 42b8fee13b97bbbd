//! Model performance over time: realized from labels (delayed labels joined by an id) and,
//! for binary classifiers, estimated before the labels arrive with NannyML's
//! confidence-based performance estimation (CBPE).
//!
//! Data flows like this:
//!
//! - [`ModelOutputs`] holds what the model said and, where known, the truth, for the rows of
//!   one file: [`ModelOutputs::from_table`] reads the target / prediction / probability
//!   columns, checking every value (probabilities in \[0, 1\], binary labels), and
//!   [`LabelFile::join`] fills the labels from a second file by an id column (a left join:
//!   rows without a label stay, counted as unlabelled; a duplicate id is an error).
//! - [`evaluate`] cuts the reference and the analysis rows into chunks ([`Chunking`], the
//!   drift run's), fits [`Cbpe`] on the reference when the model gives probabilities, and
//!   per chunk and metric reports the estimate with its sampling-error band, the realized
//!   value (labelled rows only) with a seeded percentile-bootstrap interval, NannyML's alert
//!   thresholds (mean ± 3 standard deviations of the realized metric over the reference's
//!   chunks) and whether each value is outside them: a [`PerformanceReport`].
//!
//! Realized metrics are `slipway_learn::metrics` (equal to scikit-learn). CBPE follows
//! NannyML 0.13.1 (`performance_estimation/confidence_based/metrics.py`,
//! `sampling_error/binary_classification.py`, `calibration.py`); the reference numbers of
//! `tests/reference/cbpe_employment.py` check it.

use std::collections::HashMap;
use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use slipway_data::ingest::{ReadOptions, read_table};
use slipway_data::{DataType, Table};
use slipway_learn::calibration::IsotonicCalibrator;
use slipway_learn::metrics::{self as m, Average};

use crate::run::Chunking;
use crate::special::numpy_sum;
use crate::{Error, Result};

/// A performance metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Area under the ROC curve (needs probabilities).
    RocAuc,
    /// Share of correct predictions.
    Accuracy,
    /// Precision of the positive class.
    Precision,
    /// Recall of the positive class.
    Recall,
    /// F1 of the positive class.
    F1,
    /// Mean absolute error.
    Mae,
    /// Root mean squared error.
    Rmse,
    /// Mean absolute percentage error (scikit-learn's, as a fraction).
    Mape,
    /// Coefficient of determination.
    R2,
}

impl Metric {
    /// The binary classification metrics, in report order.
    pub const CLASSIFICATION: [Metric; 5] = [
        Metric::RocAuc,
        Metric::Accuracy,
        Metric::Precision,
        Metric::Recall,
        Metric::F1,
    ];
    /// The regression metrics, in report order.
    pub const REGRESSION: [Metric; 4] = [Metric::Mae, Metric::Rmse, Metric::Mape, Metric::R2];

    /// The name used in flags and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Metric::RocAuc => "roc_auc",
            Metric::Accuracy => "accuracy",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::F1 => "f1",
            Metric::Mae => "mae",
            Metric::Rmse => "rmse",
            Metric::Mape => "mape",
            Metric::R2 => "r2",
        }
    }

    /// Parses a name of [`Metric::name`].
    pub fn parse(s: &str) -> Option<Metric> {
        Metric::CLASSIFICATION
            .iter()
            .chain(&Metric::REGRESSION)
            .copied()
            .find(|m| m.name() == s)
    }

    /// Whether it is a classification metric.
    pub fn is_classification(self) -> bool {
        Metric::CLASSIFICATION.contains(&self)
    }

    /// The range the metric can take (NannyML clips thresholds and bands to it).
    fn limits(self) -> (Option<f64>, Option<f64>) {
        match self {
            Metric::Mae | Metric::Rmse | Metric::Mape => (Some(0.0), None),
            Metric::R2 => (None, Some(1.0)),
            _ => (Some(0.0), Some(1.0)),
        }
    }
}

/// Binary classification or regression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Labels 0 / 1, predicted labels and/or probabilities of 1.
    Binary,
    /// Numeric target and prediction.
    Regression,
}

/// Which columns hold the truth and the model's outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Columns {
    /// The label (truth).
    pub target: String,
    /// The predicted label (classification) or value (regression).
    pub prediction: Option<String>,
    /// The predicted probability of class 1 (binary classification).
    pub probability: Option<String>,
}

/// What one file's rows say: the truth where known and the model's outputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelOutputs {
    /// The truth per row; `None` when not (yet) known.
    pub labels: Vec<Option<f64>>,
    /// Predicted labels (0 / 1) or values; for a classifier given only probabilities,
    /// `probability ≥ 0.5`.
    pub prediction: Vec<f64>,
    /// Probabilities of class 1 (binary classification with a probability column).
    pub probability: Option<Vec<f64>>,
    /// Per-row losses predicted by DLE (regression with features).
    pub expected_loss: Option<crate::dle::ExpectedLoss>,
}

fn bad(message: String) -> Error {
    Error::BadInput { message }
}

fn numeric(table: &Table, name: &str, what: &str) -> Result<Vec<f64>> {
    let dtype = table.schema().require(name)?.dtype;
    // A column with no value at all (read as text from a CSV) is all missing.
    if table.null_count(name)? == table.n_rows() {
        return Ok(vec![f64::NAN; table.n_rows()]);
    }
    if matches!(dtype, DataType::Categorical | DataType::Text) {
        return Err(bad(format!(
            "{what} column \"{name}\" is {dtype}: it must hold numbers (0 / 1 for a binary classifier)"
        )));
    }
    Ok(table.numeric_values(name)?)
}

fn check_binary(values: &[f64], name: &str, what: &str) -> Result<()> {
    for (i, v) in values.iter().enumerate() {
        if !v.is_nan() && *v != 0.0 && *v != 1.0 {
            return Err(bad(format!(
                "{what} column \"{name}\": value {v} at row {} is not 0 or 1; a binary classifier's {what} must be 0 or 1",
                i + 1
            )));
        }
    }
    Ok(())
}

fn check_present(values: &[f64], name: &str, what: &str) -> Result<()> {
    if let Some(i) = values.iter().position(|v| v.is_nan()) {
        return Err(bad(format!(
            "{what} column \"{name}\": missing at row {}; every row needs the model's output",
            i + 1
        )));
    }
    Ok(())
}

impl ModelOutputs {
    /// Reads the columns of `columns` from `table`. The target column may be absent
    /// (`require_labels == false`): every row is then unlabelled.
    pub fn from_table(
        table: &Table,
        columns: &Columns,
        task: Task,
        require_labels: bool,
    ) -> Result<ModelOutputs> {
        let n = table.n_rows();
        let has_target = table.schema().require(&columns.target).is_ok();
        if require_labels && !has_target {
            table.schema().require(&columns.target)?;
        }
        let labels: Vec<Option<f64>> = if has_target {
            let v = numeric(table, &columns.target, "target")?;
            if task == Task::Binary {
                check_binary(&v, &columns.target, "target")?;
            }
            v.into_iter()
                .map(|x| if x.is_nan() { None } else { Some(x) })
                .collect()
        } else {
            vec![None; n]
        };
        let probability = match (&columns.probability, task) {
            (Some(p), Task::Binary) => {
                let v = numeric(table, p, "probability")?;
                check_present(&v, p, "probability")?;
                if let Some(i) = v.iter().position(|x| !(0.0..=1.0).contains(x)) {
                    return Err(bad(format!(
                        "probability column \"{p}\": value {} at row {} is outside [0, 1]",
                        v[i],
                        i + 1
                    )));
                }
                Some(v)
            }
            (Some(p), Task::Regression) => {
                return Err(bad(format!(
                    "probability column \"{p}\" given for a regression model"
                )));
            }
            _ => None,
        };
        let prediction = match (&columns.prediction, &probability) {
            (Some(c), _) => {
                let v = numeric(table, c, "prediction")?;
                check_present(&v, c, "prediction")?;
                if task == Task::Binary {
                    check_binary(&v, c, "prediction")?;
                }
                v
            }
            (None, Some(p)) => p.iter().map(|x| f64::from(u8::from(*x >= 0.5))).collect(),
            (None, None) => {
                return Err(bad(
                    "no model output: name the prediction column and/or the probability column"
                        .into(),
                ));
            }
        };
        Ok(ModelOutputs {
            labels,
            prediction,
            probability,
            expected_loss: None,
        })
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.prediction.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.prediction.is_empty()
    }

    /// Rows whose label is known.
    pub fn labelled(&self) -> usize {
        self.labels.iter().filter(|l| l.is_some()).count()
    }
}

/// Labels that arrive later, in a file of their own: one row per id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelFile {
    /// The file (CSV, Parquet, JSON lines).
    pub path: std::path::PathBuf,
    /// The column holding the id in both files.
    pub id_column: String,
}

/// What a join of labels found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinSummary {
    /// Rows of the labels file.
    pub label_rows: u64,
    /// Analysis rows that got a label.
    pub matched: u64,
    /// Analysis rows left without a label (no id, an id not in the labels file, or a
    /// missing label there).
    pub unlabelled: u64,
    /// Labels whose id is in no analysis row.
    pub unused_labels: u64,
}

fn ids(table: &Table, column: &str, file: &Path) -> Result<Vec<Option<String>>> {
    table.schema().require(column).map_err(|_| {
        bad(format!(
            "{}: id column \"{column}\" not found",
            file.display()
        ))
    })?;
    crate::summary::category_values(table, column)
}

impl LabelFile {
    /// Left-joins the labels onto `outputs` by id (`analysis` holds the id column). A label
    /// from the file replaces the analysis file's own; a duplicate id in the labels file is
    /// an error naming it.
    pub fn join(
        &self,
        analysis: &Table,
        analysis_path: &Path,
        target: &str,
        task: Task,
        outputs: &mut ModelOutputs,
    ) -> Result<JoinSummary> {
        let labels = read_table(&self.path, &ReadOptions::default())?;
        let label_ids = ids(&labels, &self.id_column, &self.path)?;
        labels.schema().require(target).map_err(|_| {
            bad(format!(
                "{}: target column \"{target}\" not found in the labels file",
                self.path.display()
            ))
        })?;
        let values = numeric(&labels, target, "target")?;
        if task == Task::Binary {
            check_binary(&values, target, "target")?;
        }
        let mut by_id: HashMap<&str, (usize, f64)> = HashMap::with_capacity(values.len());
        for (i, id) in label_ids.iter().enumerate() {
            let Some(id) = id else {
                return Err(bad(format!(
                    "{}: id column \"{}\" is missing at row {}",
                    self.path.display(),
                    self.id_column,
                    i + 1
                )));
            };
            if let Some((first, _)) = by_id.insert(id, (i, values[i])) {
                return Err(bad(format!(
                    "{}: id \"{id}\" appears twice in column \"{}\" (rows {} and {}); each id takes one label",
                    self.path.display(),
                    self.id_column,
                    first + 1,
                    i + 1
                )));
            }
        }
        let analysis_ids = ids(analysis, &self.id_column, analysis_path)?;
        let mut used = vec![false; values.len()];
        let mut summary = JoinSummary {
            label_rows: values.len() as u64,
            ..JoinSummary::default()
        };
        for (row, id) in analysis_ids.iter().enumerate() {
            let found = id.as_deref().and_then(|id| by_id.get(id));
            if let Some(&(i, v)) = found {
                used[i] = true;
                if !v.is_nan() {
                    outputs.labels[row] = Some(v);
                }
            }
            if outputs.labels[row].is_some() {
                summary.matched += 1;
            } else {
                summary.unlabelled += 1;
            }
        }
        summary.unused_labels = used.iter().filter(|u| !**u).count() as u64;
        Ok(summary)
    }
}

/// One chunk of rows: its label and row indices.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChunk {
    /// `rows 0–4999`, the period or the value.
    pub label: String,
    /// Row indices, in file order.
    pub rows: Vec<usize>,
}

/// Cuts `table`'s rows into chunks. Chunks of rows keep NannyML's `incomplete="keep"`: the
/// last chunk holds the remainder. Periods and values come in sorted order; rows whose
/// period column or value is missing are in no chunk (returned as the second value).
pub fn split_rows(table: &Table, chunking: &Chunking) -> Result<(Vec<RowChunk>, u64)> {
    let n = table.n_rows();
    let label_rows = |a: usize, b: usize| format!("rows {a}–{}", b - 1);
    Ok(match chunking {
        Chunking::Whole => (
            vec![RowChunk {
                label: label_rows(0, n.max(1)),
                rows: (0..n).collect(),
            }],
            0,
        ),
        Chunking::Rows { size } => {
            let size = (*size).max(1) as usize;
            let chunks = (0..n)
                .step_by(size)
                .map(|s| RowChunk {
                    label: label_rows(s, (s + size).min(n)),
                    rows: (s..(s + size).min(n)).collect(),
                })
                .collect();
            (chunks, 0)
        }
        Chunking::Period { column, period } => {
            let dtype = table.schema().require(column)?.dtype;
            if dtype != DataType::Datetime {
                return Err(bad(format!(
                    "timestamp column \"{column}\" is {dtype}, but chunking by period needs a datetime column (chunk by its values instead)"
                )));
            }
            let ts = table.numeric_values(column)?;
            group(
                ts.iter()
                    .map(|t| (!t.is_nan()).then(|| period.label(*t as i64))),
            )
        }
        Chunking::Value { column } => {
            let v = crate::summary::category_values(table, column)?;
            let numeric = !matches!(
                table.schema().require(column)?.dtype,
                DataType::Categorical | DataType::Text
            );
            let (mut chunks, missing) = group(v.into_iter());
            if numeric {
                // 9 before 10.
                chunks.sort_by(|a, b| {
                    let key = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
                    key(&a.label).total_cmp(&key(&b.label))
                });
            }
            (chunks, missing)
        }
    })
}

fn group(keys: impl Iterator<Item = Option<String>>) -> (Vec<RowChunk>, u64) {
    let mut map: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    let mut missing = 0;
    for (i, k) in keys.enumerate() {
        match k {
            Some(k) => map.entry(k).or_default().push(i),
            None => missing += 1,
        }
    }
    let chunks = map
        .into_iter()
        .map(|(label, rows)| RowChunk { label, rows })
        .collect();
    (chunks, missing)
}

/// Whether CBPE calibrates the probabilities on the reference first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationMode {
    /// NannyML's test: calibrate when isotonic calibration lowers the expected calibration
    /// error in a 10-fold stratified shuffle split of the reference.
    #[default]
    Auto,
    /// Always calibrate.
    Always,
    /// Never calibrate.
    Never,
}

/// Options of a performance run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceOptions {
    /// The metrics, in report order.
    pub metrics: Vec<Metric>,
    /// Bootstrap resamples per chunk for the realized values' intervals (0: none).
    pub bootstrap: usize,
    /// Coverage of the bootstrap interval.
    pub confidence: f64,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// Calibration of the probabilities before estimation.
    pub calibration: CalibrationMode,
}

impl Default for PerformanceOptions {
    fn default() -> Self {
        PerformanceOptions {
            metrics: Metric::CLASSIFICATION.to_vec(),
            bootstrap: 200,
            confidence: 0.95,
            seed: 0,
            calibration: CalibrationMode::Auto,
        }
    }
}

/// NannyML's calibration decision and the fitted calibrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationInfo {
    /// How it was decided.
    pub mode: CalibrationMode,
    /// Whether the probabilities are calibrated before estimation.
    pub calibrated: bool,
    /// Expected calibration error of the held-out folds before and after calibration
    /// (`auto` only; NaN-free).
    pub ece_before: Option<f64>,
    /// See `ece_before`.
    pub ece_after: Option<f64>,
}

/// The alert thresholds of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The metric.
    pub metric: Metric,
    /// Below this the metric alerts.
    pub lower: Option<f64>,
    /// Above this the metric alerts.
    pub upper: Option<f64>,
}

impl Threshold {
    fn outside(&self, v: f64) -> bool {
        self.lower.is_some_and(|l| v < l) || self.upper.is_some_and(|u| v > u)
    }
}

/// One metric in one chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkMetric {
    /// The metric.
    pub metric: Metric,
    /// CBPE's estimate (binary classifiers with probabilities).
    pub estimated: Option<f64>,
    /// NannyML's sampling error of the estimate.
    pub sampling_error: Option<f64>,
    /// The estimate ± 3 sampling errors, clipped to the metric's range.
    pub band: Option<[f64; 2]>,
    /// The value on the chunk's labelled rows; `None` when it has none, or the metric is
    /// undefined there (a single class).
    pub realized: Option<f64>,
    /// Percentile bootstrap interval of the realized value.
    pub realized_interval: Option<[f64; 2]>,
    /// The estimate is outside the thresholds.
    pub alert: bool,
    /// The realized value is outside the thresholds.
    pub realized_alert: bool,
    /// Whether the realized value lies within the estimate's band.
    pub realized_in_band: Option<bool>,
}

/// One chunk's performance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkPerformance {
    /// 0-based position.
    pub index: usize,
    /// `rows 0–4999`, the period or the value.
    pub label: String,
    /// Rows in the chunk.
    pub rows: u64,
    /// Rows with a label.
    pub labelled_rows: u64,
    /// One entry per metric.
    pub metrics: Vec<ChunkMetric>,
}

/// The result of a performance run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerformanceReport {
    /// The reference file.
    pub reference: String,
    /// The analysis file.
    pub analysis: String,
    /// The labels file, when labels were joined.
    pub labels: Option<String>,
    /// What the join found.
    pub join: Option<JoinSummary>,
    /// The task.
    pub task: Task,
    /// The columns.
    pub columns: Columns,
    /// How rows were chunked.
    pub chunking: Chunking,
    /// Options.
    pub options: PerformanceOptions,
    /// Rows in the reference.
    pub reference_rows: u64,
    /// Rows in the analysis file.
    pub analysis_rows: u64,
    /// Analysis rows with a label.
    pub labelled_rows: u64,
    /// Analysis rows in no chunk (missing period or value).
    pub rows_without_chunk: u64,
    /// Whether the values are estimated as well as realized.
    pub estimated: bool,
    /// `cbpe` (binary classifiers with probabilities) or `dle` (regression with features).
    pub estimator: Option<String>,
    /// The calibration (CBPE only).
    pub calibration: Option<CalibrationInfo>,
    /// Alert thresholds per metric, from the reference's chunks.
    pub thresholds: Vec<Threshold>,
    /// The reference's chunks.
    pub reference_chunks: Vec<ChunkPerformance>,
    /// The analysis chunks.
    pub chunks: Vec<ChunkPerformance>,
    /// Chunk × metric pairs whose estimate (or, without estimates, realized value) is
    /// outside the thresholds.
    pub alerts: usize,
    /// Fairness by protected group on each analysis chunk's labelled rows (with
    /// [`PerformanceRun::fairness`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fairness: Option<FairnessOverTime>,
}

/// Fairness per chunk and what it alerts on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessOverTime {
    /// The protected columns and bounds.
    pub monitor: crate::fairness::FairnessMonitor,
    /// One entry per analysis chunk.
    pub chunks: Vec<crate::fairness::ChunkFairness>,
    /// Chunk × attribute pairs whose bound is broken with every group large enough.
    pub alerts: usize,
}

/// The realized `metric` on the rows `rows` of `o` (all labelled). `None` where NannyML
/// reports NaN: ROC AUC with a single class; precision, recall and F1 with a single class
/// of labels or of predictions.
pub fn realized(metric: Metric, o: &ModelOutputs, rows: &[usize]) -> Option<f64> {
    if rows.is_empty() {
        return None;
    }
    let truth = |i: usize| o.labels[i].unwrap_or(f64::NAN);
    if metric.is_classification() {
        let y: Vec<u32> = rows.iter().map(|&i| truth(i) as u32).collect();
        let p: Vec<u32> = rows.iter().map(|&i| o.prediction[i] as u32).collect();
        let single = |v: &[u32]| v.iter().all(|x| *x == v[0]);
        let bin = Average::Binary { pos_label: 1 };
        match metric {
            Metric::RocAuc => {
                let s: Vec<f64> = rows
                    .iter()
                    .map(|&i| o.probability.as_ref()?.get(i).copied())
                    .collect::<Option<_>>()?;
                if single(&y) {
                    return None;
                }
                m::roc_auc(&y, &s, None).ok()
            }
            Metric::Accuracy => m::accuracy(&y, &p, None).ok(),
            _ if single(&y) || single(&p) => None,
            Metric::Precision => m::precision(&y, &p, bin, None).ok(),
            Metric::Recall => m::recall(&y, &p, bin, None).ok(),
            _ => m::f1(&y, &p, bin, None).ok(),
        }
    } else {
        let y: Vec<f64> = rows.iter().map(|&i| truth(i)).collect();
        let p: Vec<f64> = rows.iter().map(|&i| o.prediction[i]).collect();
        match metric {
            Metric::Mae => m::mae(&y, &p, None).ok(),
            Metric::Rmse => m::rmse(&y, &p, None).ok(),
            Metric::Mape => m::mape(&y, &p, None).ok(),
            _ => m::r2(&y, &p, None).ok(),
        }
    }
}

/// Linear-interpolation percentile (numpy's default) of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Percentile bootstrap of `metric` over `rows`: `n` resamples with replacement, each
/// drawn from its own ChaCha stream of `seed`, so the interval does not depend on threads.
/// Resamples where the metric is undefined are left out.
pub fn bootstrap_interval(
    metric: Metric,
    o: &ModelOutputs,
    rows: &[usize],
    n: usize,
    confidence: f64,
    seed: u64,
) -> Option<[f64; 2]> {
    if n == 0 || rows.len() < 2 {
        return None;
    }
    let mut values: Vec<f64> = (0..n)
        .into_par_iter()
        .filter_map(|b| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(b as u64);
            let sample: Vec<usize> = (0..rows.len())
                .map(|_| rows[rng.random_range(0..rows.len())])
                .collect();
            realized(metric, o, &sample).filter(|v| v.is_finite())
        })
        .collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let a = (1.0 - confidence) / 2.0;
    Some([percentile(&values, a), percentile(&values, 1.0 - a)])
}

/// numpy's `np.std` (population) of `v`.
fn np_std(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mean = numpy_sum(v) / v.len() as f64;
    let sq: Vec<f64> = v.iter().map(|x| (x - mean) * (x - mean)).collect();
    (numpy_sum(&sq) / v.len() as f64).sqrt()
}

/// NannyML's `StandardDeviationThreshold` (mean ± 3 `nanstd`) over the reference chunks'
/// values, replaced by the metric's limit where it passes it. With fewer than two reference
/// chunks there is no spread to measure: no thresholds (NannyML would put both at the one
/// value and alert on every chunk).
fn threshold_of(metric: Metric, values: &[Option<f64>]) -> Threshold {
    let v: Vec<f64> = values.iter().flatten().copied().collect();
    if v.len() < 2 {
        return Threshold {
            metric,
            lower: None,
            upper: None,
        };
    }
    let mean = numpy_sum(&v) / v.len() as f64;
    let std = np_std(&v);
    let (lo_lim, hi_lim) = metric.limits();
    let mut lower = mean - 3.0 * std;
    let mut upper = mean + 3.0 * std;
    if let Some(l) = lo_lim.filter(|l| lower <= *l) {
        lower = l;
    }
    if let Some(u) = hi_lim.filter(|u| upper >= *u) {
        upper = u;
    }
    Threshold {
        metric,
        lower: Some(lower),
        upper: Some(upper),
    }
}

/// Sampling-error components of one metric (NannyML's `*_sampling_error_components`):
/// the standard deviation of the per-observation contribution on the reference and the
/// fraction of rows it concerns; the error of a chunk of `n` rows is `std / √(n·fraction)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SamplingError {
    /// The standard deviation.
    pub std: f64,
    /// The fraction of rows.
    pub fraction: f64,
}

impl SamplingError {
    fn of(&self, n: usize) -> f64 {
        self.std / (n as f64 * self.fraction).sqrt()
    }

    fn fit(metric: Metric, y: &[f64], pred: &[f64], proba: &[f64]) -> SamplingError {
        let n = y.len() as f64;
        let tp = || {
            (0..y.len())
                .filter(|&i| y[i] == pred[i] && pred[i] == 1.0)
                .count()
        };
        let fp = || {
            (0..y.len())
                .filter(|&i| y[i] != pred[i] && pred[i] == 1.0)
                .count()
        };
        let fneg = || {
            (0..y.len())
                .filter(|&i| y[i] != pred[i] && pred[i] == 0.0)
                .count()
        };
        // [1; tp] followed by [0; rest]: the observation-level values NannyML takes std of.
        let ones_zeros = |ones: usize, zeros: usize, scale: f64| -> Vec<f64> {
            let mut v = vec![scale; ones];
            v.extend(std::iter::repeat_n(0.0, zeros));
            v
        };
        match metric {
            Metric::RocAuc => {
                // auroc_sampling_error_components: the Mann-Whitney view of AUROC.
                let flip = numpy_sum(y) / n > 0.5;
                let (yy, pp): (Vec<f64>, Vec<f64>) = if flip {
                    (
                        y.iter().map(|v| (v - 1.0).abs()).collect(),
                        proba.iter().map(|p| 1.0 - p).collect(),
                    )
                } else {
                    (y.to_vec(), proba.to_vec())
                };
                let mut order: Vec<usize> = (0..yy.len()).collect();
                // Ties in the score give the same `ser` whichever way they are ordered
                // only in the positive-rank count; a stable sort is the reproducible choice.
                order.sort_by(|&a, &b| pp[a].total_cmp(&pp[b]));
                let mut ser = Vec::new();
                for (rank, &i) in order.iter().enumerate() {
                    if yy[i] == 1.0 && rank > 0 {
                        ser.push((rank - ser.len()) as f64);
                    }
                }
                let n_pos = yy.iter().filter(|v| **v == 1.0).count();
                let n_neg = yy.len() - n_pos;
                let ser: Vec<f64> = ser.iter().map(|s| s / n_neg as f64).collect();
                SamplingError {
                    std: np_std(&ser),
                    fraction: n_pos as f64 / n,
                }
            }
            Metric::F1 => {
                let (t, f_p, f_n) = (tp(), fp(), fneg());
                let len = (t + f_p + f_n) as f64;
                if len == 0.0 {
                    return SamplingError {
                        std: f64::NAN,
                        fraction: 0.0,
                    };
                }
                let factor = len / ((f_n + f_p) as f64 * 0.5 + t as f64);
                SamplingError {
                    std: np_std(&ones_zeros(t, f_n + f_p, factor)),
                    fraction: len / n,
                }
            }
            Metric::Precision => SamplingError {
                std: np_std(&ones_zeros(tp(), fp(), 1.0)),
                fraction: numpy_sum(pred) / n,
            },
            Metric::Recall => SamplingError {
                std: np_std(&ones_zeros(tp(), fneg(), 1.0)),
                fraction: y.iter().sum::<f64>() / n,
            },
            _ => {
                let correct = (0..y.len()).filter(|&i| y[i] == pred[i]).count();
                SamplingError {
                    std: np_std(&ones_zeros(correct, y.len() - correct, 1.0)),
                    fraction: 1.0,
                }
            }
        }
    }
}

/// CBPE fitted on a labelled reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cbpe {
    /// The calibration decision.
    pub calibration: CalibrationInfo,
    /// The isotonic calibrator, when calibrating.
    pub calibrator: Option<IsotonicCalibrator>,
    /// Sampling-error components per metric.
    pub sampling: Vec<(Metric, SamplingError)>,
}

/// NannyML's `_get_bin_index_edges`.
fn bin_edges(len: usize, bins: usize) -> Vec<(usize, usize)> {
    let bins = if len <= 2 * bins { len / 2 } else { bins }.max(1);
    let width = (len / bins).max(1);
    let mut edges: Vec<usize> = (0..=len).step_by(width).collect();
    if let Some(last) = edges.last_mut() {
        *last = len;
    }
    edges.windows(2).map(|w| (w[0], w[1])).collect()
}

/// NannyML's `_calculate_expected_calibration_error`.
fn ece(y: &[f64], p: &[f64], edges: &[(usize, usize)]) -> f64 {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let n = p.len() as f64;
    let terms: Vec<f64> = edges
        .iter()
        .map(|&(l, r)| {
            let idx = &order[l..r];
            let k = idx.len() as f64;
            let mp = idx.iter().map(|&i| p[i]).sum::<f64>() / k;
            let my = idx.iter().map(|&i| y[i]).sum::<f64>() / k;
            k / n * (mp - my).abs()
        })
        .collect();
    numpy_sum(&terms)
}

/// NannyML's `needs_calibration`: over 10 stratified shuffle splits (10% held out) the
/// isotonic calibrator is fitted on the rest and applied to the held-out rows; calibrate when
/// the expected calibration error (10 equal-count bins) of all held-out rows drops.
/// The splits are Slipway's own (seeded ChaCha, stratified like scikit-learn's
/// `StratifiedShuffleSplit`), not NumPy's Mersenne Twister: the held-out rows differ from
/// NannyML's, so a decision that hinges on a tiny ECE difference may differ; the ECEs are
/// reported, and `always` / `never` override the test.
fn needs_calibration(y: &[f64], p: &[f64]) -> Result<(bool, Option<f64>, Option<f64>)> {
    let pos: Vec<usize> = (0..y.len()).filter(|&i| y[i] == 1.0).collect();
    let neg: Vec<usize> = (0..y.len()).filter(|&i| y[i] != 1.0).collect();
    if pos.is_empty() || neg.is_empty() {
        return Ok((false, None, None));
    }
    let yu: Vec<u32> = y.iter().map(|v| *v as u32).collect();
    if m::roc_auc(&yu, p, None).map_err(|e| Error::Internal(e.to_string()))? > 0.999 {
        return Ok((false, None, None));
    }
    let n_test = (y.len() as f64 * 0.1).ceil() as usize;
    let t_pos = ((pos.len() as f64 / y.len() as f64) * n_test as f64).round() as usize;
    let t_neg = n_test.saturating_sub(t_pos);
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let (mut ty, mut tp, mut tc) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..10 {
        let mut test = Vec::with_capacity(n_test);
        let mut train = Vec::with_capacity(y.len());
        for (class, take) in [(&pos, t_pos), (&neg, t_neg)] {
            let mut c = class.clone();
            for i in (1..c.len()).rev() {
                c.swap(i, rng.random_range(0..=i));
            }
            let take = take.min(c.len());
            test.extend_from_slice(&c[..take]);
            train.extend_from_slice(&c[take..]);
        }
        let xs: Vec<f64> = train.iter().map(|&i| p[i]).collect();
        let ys: Vec<f64> = train.iter().map(|&i| y[i]).collect();
        let cal = IsotonicCalibrator::fit(&xs, &ys, None)?;
        for &i in &test {
            ty.push(y[i]);
            tp.push(p[i]);
            tc.push(cal.predict(p[i]));
        }
    }
    if ty.len() < 4 {
        return Ok((false, None, None));
    }
    let edges = bin_edges(ty.len(), 10);
    let before = ece(&ty, &tp, &edges);
    let after = ece(&ty, &tc, &edges);
    Ok((before > after, Some(before), Some(after)))
}

impl Cbpe {
    /// Fits on the labelled reference: every row must have a label.
    pub fn fit(
        reference: &ModelOutputs,
        metrics: &[Metric],
        mode: CalibrationMode,
    ) -> Result<Cbpe> {
        let Some(proba) = &reference.probability else {
            return Err(bad("CBPE needs the predicted probability column".into()));
        };
        let y: Vec<f64> = reference
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.ok_or_else(|| {
                    bad(format!(
                        "the reference's target is missing at row {}; CBPE needs every reference row labelled",
                        i + 1
                    ))
                })
            })
            .collect::<Result<_>>()?;
        let (calibrated, ece_before, ece_after) = match mode {
            CalibrationMode::Auto => needs_calibration(&y, proba)?,
            CalibrationMode::Always => (true, None, None),
            CalibrationMode::Never => (false, None, None),
        };
        let calibrator = if calibrated {
            Some(IsotonicCalibrator::fit(proba, &y, None)?)
        } else {
            None
        };
        let sampling = metrics
            .iter()
            .map(|&mt| (mt, SamplingError::fit(mt, &y, &reference.prediction, proba)))
            .collect();
        Ok(Cbpe {
            calibration: CalibrationInfo {
                mode,
                calibrated,
                ece_before,
                ece_after,
            },
            calibrator,
            sampling,
        })
    }

    /// The calibrated probabilities of `rows`.
    fn calibrated(&self, proba: &[f64], rows: &[usize]) -> Vec<f64> {
        rows.iter()
            .map(|&i| match &self.calibrator {
                Some(c) => c.predict(proba[i]),
                None => proba[i],
            })
            .collect()
    }

    /// The estimate of `metric` on `rows` of `o`, and its sampling error.
    pub fn estimate(&self, metric: Metric, o: &ModelOutputs, rows: &[usize]) -> Option<(f64, f64)> {
        let proba = o.probability.as_ref()?;
        if rows.is_empty() {
            return None;
        }
        let pc = self.calibrated(proba, rows);
        let pred: Vec<f64> = rows.iter().map(|&i| o.prediction[i]).collect();
        let sum_where = |want: f64, f: &dyn Fn(f64) -> f64| -> f64 {
            let v: Vec<f64> = pc
                .iter()
                .zip(&pred)
                .map(|(p, d)| if *d == want { f(*p) } else { 0.0 })
                .collect();
            numpy_sum(&v)
        };
        let ratio = |a: f64, b: f64| if b != 0.0 { a / b } else { 0.0 };
        let value = match metric {
            Metric::RocAuc => {
                let pu: Vec<f64> = rows.iter().map(|&i| proba[i]).collect();
                estimate_roc_auc(&pc, &pu)
            }
            Metric::Accuracy => {
                (sum_where(1.0, &|p| p) + sum_where(0.0, &|p| 1.0 - p)) / rows.len() as f64
            }
            Metric::Precision => {
                let tp = sum_where(1.0, &|p| p);
                ratio(tp, tp + sum_where(1.0, &|p| 1.0 - p))
            }
            Metric::Recall => {
                let tp = sum_where(1.0, &|p| p);
                ratio(tp, tp + sum_where(0.0, &|p| p))
            }
            Metric::F1 => {
                let tp = sum_where(1.0, &|p| p);
                let fp = sum_where(1.0, &|p| 1.0 - p);
                let fneg = sum_where(0.0, &|p| p);
                ratio(tp, tp + 0.5 * (fp + fneg))
            }
            _ => return None,
        };
        let se = self
            .sampling
            .iter()
            .find(|(mt, _)| *mt == metric)
            .map_or(f64::NAN, |(_, s)| s.of(rows.len()));
        Some((value, se))
    }
}

/// numpy's `np.round(x, 5)`: scale, round half to even, unscale.
fn round5(x: f64) -> f64 {
    (x * 1e5).round_ties_even() / 1e5
}

/// NannyML's `estimate_roc_auc`: the ROC curve of expected true and false positives when
/// rows are ranked by the model's (uncalibrated) score and each counts its calibrated
/// probability as a positive; counts rounded to 5 decimals, area by the trapezoid rule.
fn estimate_roc_auc(calibrated: &[f64], score: &[f64]) -> f64 {
    let n = score.len();
    let mut order: Vec<usize> = (0..n).collect();
    // Descending score; tied scores have tied calibrated values (the calibrator is a
    // function of the score), so their order does not matter.
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let mut tps = Vec::with_capacity(n + 1);
    let mut fps = Vec::with_capacity(n + 1);
    tps.push(0.0);
    fps.push(0.0);
    let mut acc = 0.0;
    for (k, &i) in order.iter().enumerate() {
        acc += calibrated[i];
        tps.push(round5(acc));
        fps.push(round5((1 + k) as f64 - acc));
    }
    let (tl, fl) = (tps[n], fps[n]);
    let terms: Vec<f64> = (0..n)
        .map(|k| {
            let dx = fps[k + 1] / fl - fps[k] / fl;
            dx * (tps[k + 1] / tl + tps[k] / tl) / 2.0
        })
        .collect();
    numpy_sum(&terms)
}

/// The estimator of a run, if any.
#[derive(Debug, Clone, Copy)]
enum Estimate<'a> {
    None,
    Cbpe(&'a Cbpe),
    Dle(&'a crate::dle::DleSampling),
}

impl Estimate<'_> {
    fn of(&self, metric: Metric, o: &ModelOutputs, rows: &[usize]) -> Option<(f64, f64)> {
        match self {
            Estimate::None => None,
            Estimate::Cbpe(c) => c.estimate(metric, o, rows),
            Estimate::Dle(d) => d.estimate(metric, o, rows),
        }
    }
}

fn chunk_metrics(
    o: &ModelOutputs,
    chunk: &RowChunk,
    index: usize,
    estimator: Estimate<'_>,
    thresholds: Option<&[Threshold]>,
    opts: &PerformanceOptions,
) -> ChunkPerformance {
    let labelled: Vec<usize> = chunk
        .rows
        .iter()
        .copied()
        .filter(|&i| o.labels[i].is_some())
        .collect();
    let metrics = opts
        .metrics
        .iter()
        .map(|&mt| {
            let est = estimator.of(mt, o, &chunk.rows);
            let band = est.map(|(v, se)| {
                let (lo, hi) = mt.limits();
                [
                    (v - 3.0 * se).max(lo.unwrap_or(f64::NEG_INFINITY)),
                    (v + 3.0 * se).min(hi.unwrap_or(f64::INFINITY)),
                ]
            });
            let real = realized(mt, o, &labelled);
            let interval = real.and_then(|_| {
                let seed = opts
                    .seed
                    .wrapping_add((index as u64) << 16)
                    .wrapping_add(mt as u64);
                bootstrap_interval(mt, o, &labelled, opts.bootstrap, opts.confidence, seed)
            });
            let th = thresholds.and_then(|t| t.iter().find(|t| t.metric == mt));
            ChunkMetric {
                metric: mt,
                estimated: est.map(|e| e.0),
                sampling_error: est.map(|e| e.1),
                band,
                realized: real,
                realized_interval: interval,
                alert: matches!((th, est), (Some(t), Some((v, _))) if t.outside(v)),
                realized_alert: matches!((th, real), (Some(t), Some(v)) if t.outside(v)),
                realized_in_band: match (band, real) {
                    (Some([lo, hi]), Some(v)) => Some(lo <= v && v <= hi),
                    _ => None,
                },
            }
        })
        .collect();
    ChunkPerformance {
        index,
        label: chunk.label.clone(),
        rows: chunk.rows.len() as u64,
        labelled_rows: labelled.len() as u64,
        metrics,
    }
}

/// Everything [`evaluate`] needs besides the rows.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    /// The reference (every row labelled).
    pub reference: &'a ModelOutputs,
    /// The reference's chunks.
    pub reference_chunks: &'a [RowChunk],
    /// The analysis rows.
    pub analysis: &'a ModelOutputs,
    /// The analysis chunks.
    pub chunks: &'a [RowChunk],
    /// DLE's sampling components, when both outputs carry DLE's expected losses.
    pub dle: Option<crate::dle::DleSampling>,
}

/// What [`evaluate`] found.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// CBPE fitted on the reference (binary classifiers with probabilities).
    pub cbpe: Option<Cbpe>,
    /// Alert thresholds per metric.
    pub thresholds: Vec<Threshold>,
    /// The reference's chunks.
    pub reference_chunks: Vec<ChunkPerformance>,
    /// The analysis chunks.
    pub chunks: Vec<ChunkPerformance>,
}

/// Realized (and, with probabilities, CBPE-estimated) performance per chunk. Thresholds come
/// from the realized metric over the reference chunks, as NannyML computes them.
pub fn evaluate(inputs: &Inputs<'_>, task: Task, opts: &PerformanceOptions) -> Result<Evaluation> {
    let r = inputs.reference;
    if r.labelled() == 0 {
        return Err(bad(
            "the reference has no labels: performance thresholds (and CBPE) need a labelled reference"
                .into(),
        ));
    }
    for mt in &opts.metrics {
        if mt.is_classification() != (task == Task::Binary) {
            return Err(bad(format!(
                "metric {} does not apply to a {} model",
                mt.name(),
                if task == Task::Binary {
                    "binary classification"
                } else {
                    "regression"
                }
            )));
        }
        if *mt == Metric::RocAuc && r.probability.is_none() {
            return Err(bad(
                "metric roc_auc needs the predicted probability column".into()
            ));
        }
    }
    let cbpe = match (&r.probability, task) {
        (Some(_), Task::Binary) => Some(Cbpe::fit(r, &opts.metrics, opts.calibration)?),
        _ => None,
    };
    let estimator = match (&cbpe, &inputs.dle) {
        (Some(c), _) => Estimate::Cbpe(c),
        (None, Some(d)) => Estimate::Dle(d),
        _ => Estimate::None,
    };
    let reference_rows: Vec<ChunkPerformance> = inputs
        .reference_chunks
        .par_iter()
        .enumerate()
        .map(|(i, c)| chunk_metrics(r, c, i, estimator, None, opts))
        .collect();
    let thresholds: Vec<Threshold> = opts
        .metrics
        .iter()
        .map(|&mt| {
            let values: Vec<Option<f64>> = reference_rows
                .iter()
                .map(|c| {
                    c.metrics
                        .iter()
                        .find(|x| x.metric == mt)
                        .and_then(|x| x.realized)
                })
                .collect();
            threshold_of(mt, &values)
        })
        .collect();
    let finish = |cs: Vec<ChunkPerformance>| -> Vec<ChunkPerformance> {
        cs.into_iter()
            .map(|mut c| {
                for x in &mut c.metrics {
                    if let Some(t) = thresholds.iter().find(|t| t.metric == x.metric) {
                        x.alert = x.estimated.is_some_and(|v| t.outside(v));
                        x.realized_alert = x.realized.is_some_and(|v| t.outside(v));
                    }
                }
                c
            })
            .collect()
    };
    let reference_chunks = finish(reference_rows);
    let chunks: Vec<ChunkPerformance> = inputs
        .chunks
        .par_iter()
        .enumerate()
        .map(|(i, c)| chunk_metrics(inputs.analysis, c, i, estimator, Some(&thresholds), opts))
        .collect();
    Ok(Evaluation {
        cbpe,
        thresholds,
        reference_chunks,
        chunks,
    })
}

/// A performance run over files: the reference (labelled), the analysis file, and
/// optionally the labels that arrived later, joined by id.
#[derive(Debug, Clone)]
pub struct PerformanceRun<'a> {
    /// The reference file.
    pub reference: &'a Path,
    /// The analysis file.
    pub analysis: &'a Path,
    /// Labels in their own file.
    pub labels: Option<&'a LabelFile>,
    /// The columns.
    pub columns: &'a Columns,
    /// The task.
    pub task: Task,
    /// Chunking of both files.
    pub chunking: &'a Chunking,
    /// Feature columns: with a regression model, DLE estimates MAE and RMSE from them.
    pub features: &'a [String],
    /// Fairness by these protected columns per chunk (binary classifiers).
    pub fairness: Option<&'a crate::fairness::FairnessMonitor>,
}

impl PerformanceRun<'_> {
    /// Reads the files and evaluates.
    pub fn run(&self, opts: &PerformanceOptions) -> Result<PerformanceReport> {
        let read = |p: &Path| -> Result<Table> {
            let t = read_table(p, &ReadOptions::default())?;
            if t.n_rows() == 0 {
                return Err(bad(format!("{}: no rows", p.display())));
            }
            Ok(t)
        };
        let ref_table = read(self.reference)?;
        let mut reference = ModelOutputs::from_table(&ref_table, self.columns, self.task, true)
            .map_err(|e| in_file(e, self.reference))?;
        let ana_table = read(self.analysis)?;
        let mut analysis = ModelOutputs::from_table(&ana_table, self.columns, self.task, false)
            .map_err(|e| in_file(e, self.analysis))?;
        let join = match self.labels {
            Some(l) => Some(l.join(
                &ana_table,
                self.analysis,
                &self.columns.target,
                self.task,
                &mut analysis,
            )?),
            None => None,
        };
        let (reference_chunks, _) =
            split_rows(&ref_table, self.chunking).map_err(|e| in_file(e, self.reference))?;
        let (chunks, without) =
            split_rows(&ana_table, self.chunking).map_err(|e| in_file(e, self.analysis))?;
        let fairness = match self.fairness {
            Some(_) if self.task != Task::Binary => {
                return Err(bad(
                    "fairness by protected group needs a binary classifier's outputs".into(),
                ));
            }
            Some(m) => {
                let values = crate::fairness::ProtectedValues::read(&ana_table, &m.protected)
                    .map_err(|e| in_file(e, self.analysis))?;
                let per_chunk = crate::fairness::by_chunk(&analysis, &values, &chunks, m)?;
                Some(FairnessOverTime {
                    monitor: m.clone(),
                    alerts: crate::fairness::alerts(&per_chunk),
                    chunks: per_chunk,
                })
            }
            None => None,
        };
        let dle = if self.task == Task::Regression && !self.features.is_empty() {
            let d = crate::dle::Dle::fit(&ref_table, self.features, &reference)
                .map_err(|e| in_file(e, self.reference))?;
            reference.expected_loss = Some(d.expected_loss(&ref_table, &reference)?);
            analysis.expected_loss = Some(
                d.expected_loss(&ana_table, &analysis)
                    .map_err(|e| in_file(e, self.analysis))?,
            );
            Some(d.sampling())
        } else {
            None
        };
        let inputs = Inputs {
            reference: &reference,
            reference_chunks: &reference_chunks,
            analysis: &analysis,
            chunks: &chunks,
            dle,
        };
        let Evaluation {
            cbpe,
            thresholds,
            reference_chunks,
            chunks,
        } = evaluate(&inputs, self.task, opts)?;
        let estimator = match (&cbpe, &dle) {
            (Some(_), _) => Some("cbpe".to_string()),
            (None, Some(_)) => Some("dle".to_string()),
            _ => None,
        };
        let estimated = estimator.is_some();
        let alerts = chunks
            .iter()
            .flat_map(|c| &c.metrics)
            .filter(|x| if estimated { x.alert } else { x.realized_alert })
            .count();
        Ok(PerformanceReport {
            reference: self.reference.display().to_string(),
            analysis: self.analysis.display().to_string(),
            labels: self.labels.map(|l| l.path.display().to_string()),
            join,
            task: self.task,
            columns: self.columns.clone(),
            chunking: self.chunking.clone(),
            options: opts.clone(),
            reference_rows: reference.len() as u64,
            analysis_rows: analysis.len() as u64,
            labelled_rows: analysis.labelled() as u64,
            rows_without_chunk: without,
            estimated,
            estimator,
            calibration: cbpe.map(|c| c.calibration),
            thresholds,
            reference_chunks,
            chunks,
            alerts,
            fairness,
        })
    }
}

/// Prefixes a bad-input error with the file it is about.
fn in_file(e: Error, path: &Path) -> Error {
    match e {
        Error::BadInput { message } => bad(format!("{}: {message}", path.display())),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(labels: &[Option<f64>], pred: &[f64], proba: Option<&[f64]>) -> ModelOutputs {
        ModelOutputs {
            labels: labels.to_vec(),
            prediction: pred.to_vec(),
            probability: proba.map(<[f64]>::to_vec),
            expected_loss: None,
        }
    }

    #[test]
    fn realized_skips_unlabelled_and_single_class() {
        let o = outputs(
            &[Some(1.0), Some(0.0), None, Some(1.0)],
            &[1.0, 1.0, 0.0, 0.0],
            Some(&[0.9, 0.6, 0.1, 0.4]),
        );
        assert_eq!(realized(Metric::Accuracy, &o, &[0, 1, 3]), Some(1.0 / 3.0));
        assert_eq!(realized(Metric::RocAuc, &o, &[0, 3]), None);
        // One class of predictions: NannyML reports NaN.
        assert_eq!(realized(Metric::Precision, &o, &[0, 1]), None);
        assert_eq!(realized(Metric::RocAuc, &o, &[0, 1, 3]), Some(0.5));
    }

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_value() {
        let n = 400;
        let labels: Vec<Option<f64>> = (0..n)
            .map(|i| Some(f64::from(u8::from(i % 3 == 0))))
            .collect();
        let pred: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i % 4 == 0))).collect();
        let o = outputs(&labels, &pred, None);
        let rows: Vec<usize> = (0..n).collect();
        let a = bootstrap_interval(Metric::Accuracy, &o, &rows, 200, 0.95, 7).unwrap();
        let b = bootstrap_interval(Metric::Accuracy, &o, &rows, 200, 0.95, 7).unwrap();
        let c = bootstrap_interval(Metric::Accuracy, &o, &rows, 200, 0.95, 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let v = realized(Metric::Accuracy, &o, &rows).unwrap();
        assert!(a[0] < v && v < a[1], "{a:?} {v}");
        assert!(a[1] - a[0] < 0.15);
    }

    #[test]
    fn perfect_calibration_estimates_the_expected_confusion() {
        // Calibrated probabilities: the estimate is the expected metric.
        let proba = [0.9, 0.8, 0.3, 0.1];
        let pred = [1.0, 1.0, 0.0, 0.0];
        let o = outputs(&[None; 4], &pred, Some(&proba));
        let cbpe = Cbpe {
            calibration: CalibrationInfo {
                mode: CalibrationMode::Never,
                calibrated: false,
                ece_before: None,
                ece_after: None,
            },
            calibrator: None,
            sampling: vec![],
        };
        let rows = [0, 1, 2, 3];
        let acc = cbpe.estimate(Metric::Accuracy, &o, &rows).unwrap().0;
        assert!((acc - (0.9 + 0.8 + 0.7 + 0.9) / 4.0).abs() < 1e-12);
        let prec = cbpe.estimate(Metric::Precision, &o, &rows).unwrap().0;
        assert!((prec - 1.7 / 2.0).abs() < 1e-12);
        let rec = cbpe.estimate(Metric::Recall, &o, &rows).unwrap().0;
        assert!((rec - 1.7 / 2.1).abs() < 1e-12);
    }

    fn csv(text: &str) -> Table {
        slipway_data::ingest::read_csv_bytes(text.as_bytes(), "test.csv", &ReadOptions::default())
            .unwrap()
    }

    #[test]
    fn chunks_by_rows_keep_the_remainder_and_values_sort_numerically() {
        let t = csv("year,y\n10,1\n9,0\n,1\n10,0\n9,1\n");
        let (c, missing) = split_rows(&t, &Chunking::Rows { size: 2 }).unwrap();
        assert_eq!(missing, 0);
        let sizes: Vec<usize> = c.iter().map(|c| c.rows.len()).collect();
        assert_eq!(sizes, [2, 2, 1]);
        assert_eq!(c[2].label, "rows 4–4");
        let (c, missing) = split_rows(
            &t,
            &Chunking::Value {
                column: "year".into(),
            },
        )
        .unwrap();
        assert_eq!(missing, 1);
        let labels: Vec<&str> = c.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["9", "10"]);
        assert_eq!(c[0].rows, [1, 4]);
        // A period needs a datetime column.
        let err = split_rows(
            &t,
            &Chunking::Period {
                column: "year".into(),
                period: crate::run::Period::Month,
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("datetime"), "{err}");
    }

    #[test]
    fn thresholds_need_two_reference_chunks_and_respect_limits() {
        let one = threshold_of(Metric::F1, &[Some(0.8)]);
        assert_eq!((one.lower, one.upper), (None, None));
        let t = threshold_of(Metric::Accuracy, &[Some(0.99), Some(0.3), None]);
        assert_eq!(t.upper, Some(1.0));
        assert_eq!(t.lower, Some(0.0));
        let t = threshold_of(Metric::Mae, &[Some(2.0), Some(4.0)]);
        assert_eq!((t.lower, t.upper), (Some(0.0), Some(6.0)));
    }

    #[test]
    fn bin_edges_match_nannyml() {
        assert_eq!(bin_edges(20, 4), vec![(0, 5), (5, 10), (10, 15), (15, 20)]);
        let e = bin_edges(23, 10);
        assert_eq!((e.len(), e[0], e[10]), (11, (0, 2), (20, 23)));
        assert_eq!(bin_edges(9, 10), vec![(0, 2), (2, 4), (4, 6), (6, 9)]);
    }
}
