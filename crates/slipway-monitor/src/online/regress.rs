//! Online regression over a JSON-lines stream with progressive (test-then-train)
//! validation: each row is first predicted, scored (absolute and squared error), and only
//! then learned. The features go through a streaming standard scaler first (as in River's
//! documented `StandardScaler() | HoeffdingTreeRegressor()`: the trees' linear leaves learn
//! by SGD, which raw features such as dates make diverge). A drift detector, if any, sees the
//! stream of absolute errors.

use std::collections::VecDeque;
use std::io::BufRead;

use serde::Serialize;

use super::detect::DriftDetector;
use super::forest::ForestEvents;
use super::forest_regressor::{Aggregation, ArfRegressor};
use super::linear::StandardScaler;
use super::stream::{DetectorKind, describe, parse_features};
use super::tree_regressor::{HoeffdingTreeRegressor, RegressorParams};
use crate::{Error, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Which online regressor learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegressorKind {
    /// [`HoeffdingTreeRegressor`] with River's defaults.
    HoeffdingTreeRegressor,
    /// [`ArfRegressor`] with 10 trees and median aggregation (River's defaults).
    ArfRegressor,
}

impl RegressorKind {
    /// Parses `hoeffding_tree_regressor` or `arf_regressor`.
    pub fn parse(s: &str) -> Option<RegressorKind> {
        match s {
            "hoeffding_tree_regressor" => Some(RegressorKind::HoeffdingTreeRegressor),
            "arf_regressor" => Some(RegressorKind::ArfRegressor),
            _ => None,
        }
    }
}

/// How to learn a regressor from a stream.
#[derive(Debug, Clone)]
pub struct RegressionOptions {
    /// The model.
    pub model: RegressorKind,
    /// The numeric target field.
    pub target: String,
    /// A detector on the absolute errors (ADWIN, Page-Hinkley or KSWIN; DDM needs 0/1
    /// errors and is refused).
    pub detector: Option<DetectorKind>,
    /// Report progressive metrics every this many rows (0: only at the end).
    pub every: u64,
    /// Skip malformed lines (counting them) instead of stopping at the first.
    pub skip_bad: bool,
    /// Seed of the forest's bagging and feature draws, and of KSWIN's draws.
    pub seed: u64,
}

/// Progressive MAE, RMSE and R2 of the rows so far.
#[derive(Debug, Clone, Default)]
struct Scores {
    n: f64,
    abs: f64,
    sq: f64,
    /// Welford summary of the targets, for R2's total sum of squares.
    y_mean: f64,
    y_ss: f64,
}

impl Scores {
    fn add(&mut self, y: f64, pred: f64) {
        self.n += 1.0;
        self.abs += (y - pred).abs();
        self.sq += (y - pred).powi(2);
        let old = self.y_mean;
        self.y_mean += (y - old) / self.n;
        self.y_ss += (y - old) * (y - self.y_mean);
    }

    fn mae(&self) -> f64 {
        if self.n > 0.0 { self.abs / self.n } else { 0.0 }
    }

    fn rmse(&self) -> f64 {
        if self.n > 0.0 {
            (self.sq / self.n).sqrt()
        } else {
            0.0
        }
    }

    /// `1 - SS_res / SS_tot`; 0 while the targets have no spread (as River's `R2`).
    fn r2(&self) -> f64 {
        if self.y_ss > 0.0 {
            1.0 - self.sq / self.y_ss
        } else {
            0.0
        }
    }
}

/// Progressive metrics after some rows.
#[derive(Debug, Clone, Serialize)]
pub struct RegressionCheckpoint {
    /// Rows learned so far.
    pub rows: u64,
    /// Progressive mean absolute error so far.
    pub mae: f64,
    /// Progressive root mean squared error so far.
    pub rmse: f64,
    /// Progressive coefficient of determination so far.
    pub r2: f64,
    /// Drift alarms so far.
    pub alarms: usize,
}

/// A drift alarm of the detector on the absolute errors.
#[derive(Debug, Clone, Serialize)]
pub struct RegressionAlarm {
    /// The row (1-based, counting learned rows) whose error completed the drift.
    pub row: u64,
    /// Its line in the input.
    pub line: u64,
    /// Mean absolute error of the last 500 rows before the alarm.
    pub recent_mae: f64,
}

/// The result of a regression stream.
#[derive(Debug, Clone, Serialize)]
pub struct RegressionSummary {
    /// The model.
    pub model: RegressorKind,
    /// The target field.
    pub target: String,
    /// The feature fields, in the order the model sees them.
    pub features: Vec<String>,
    /// Rows learned.
    pub rows: u64,
    /// Malformed lines skipped (`skip_bad`).
    pub skipped: u64,
    /// The first skipped lines' errors (at most 10).
    pub skipped_examples: Vec<String>,
    /// Progressive mean absolute error over the whole stream.
    pub mae: f64,
    /// Progressive root mean squared error over the whole stream.
    pub rmse: f64,
    /// Progressive R2 over the whole stream.
    pub r2: f64,
    /// The forest's own detectors (warnings, tree replacements); absent for a single tree.
    pub forest_events: Option<ForestEvents>,
    /// The detector, if any.
    pub detector: Option<DetectorKind>,
    /// Its alarms.
    pub alarms: Vec<RegressionAlarm>,
    /// Periodic metrics.
    pub checkpoints: Vec<RegressionCheckpoint>,
}

/// A standard scaler in front of one of the two regressors.
#[derive(Debug, Clone)]
pub struct OnlineRegressor {
    scaler: StandardScaler,
    scaled: Vec<f64>,
    model: RegressorModel,
}

#[derive(Debug, Clone)]
enum RegressorModel {
    /// The generator draws nothing for a single tree (it watches every feature).
    Tree(HoeffdingTreeRegressor, ChaCha8Rng),
    Forest(ArfRegressor),
}

impl OnlineRegressor {
    /// A fresh model for `n_features` features.
    pub fn new(kind: RegressorKind, n_features: usize, seed: u64) -> OnlineRegressor {
        let model = match kind {
            RegressorKind::HoeffdingTreeRegressor => RegressorModel::Tree(
                HoeffdingTreeRegressor::new(n_features, RegressorParams::default()),
                ChaCha8Rng::seed_from_u64(seed),
            ),
            RegressorKind::ArfRegressor => {
                RegressorModel::Forest(ArfRegressor::new(n_features, 10, Aggregation::Median, seed))
            }
        };
        OnlineRegressor {
            scaler: StandardScaler::new(n_features),
            scaled: Vec::with_capacity(n_features),
            model,
        }
    }

    /// The prediction for `x` (0 before the first row).
    pub fn predict(&mut self, x: &[f64]) -> f64 {
        self.scaler.transform_into(x, &mut self.scaled);
        match &mut self.model {
            RegressorModel::Tree(t, _) => t.predict(&self.scaled),
            RegressorModel::Forest(f) => f.predict(&self.scaled),
        }
    }

    /// Learns one row: the scaler first, then the model on the scaled row.
    pub fn learn(&mut self, x: &[f64], y: f64) {
        self.scaler.learn_one(x);
        self.scaler.transform_into(x, &mut self.scaled);
        match &mut self.model {
            RegressorModel::Tree(t, rng) => t.learn_one(&self.scaled, y, 1.0, rng),
            RegressorModel::Forest(f) => f.learn_one(&self.scaled, y),
        }
    }

    fn forest_events(&self) -> Option<ForestEvents> {
        match &self.model {
            RegressorModel::Tree(..) => None,
            RegressorModel::Forest(f) => Some(f.events()),
        }
    }
}

fn parse_row(
    line: &str,
    line_no: u64,
    target: &str,
    features: &mut Option<Vec<String>>,
) -> std::result::Result<(Vec<f64>, f64), String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("line {line_no}: not valid JSON ({e})"))?;
    let serde_json::Value::Object(obj) = value else {
        return Err(format!(
            "line {line_no}: expected a JSON object with one field per feature, found {}",
            describe(&value)
        ));
    };
    let y = match obj.get(target) {
        None => {
            let fields: Vec<&str> = obj.keys().map(String::as_str).collect();
            return Err(format!(
                "line {line_no}: no target field \"{target}\" (fields: {}); name the target with --target",
                fields.join(", ")
            ));
        }
        Some(serde_json::Value::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() => v,
            _ => {
                return Err(format!(
                    "line {line_no}: field \"{target}\": {n} is not a finite number"
                ));
            }
        },
        Some(other) => {
            return Err(format!(
                "line {line_no}: field \"{target}\": a regressor's target must be a number, found {}",
                describe(other)
            ));
        }
    };
    let x = parse_features(&obj, line_no, target, features)?;
    Ok((x, y))
}

/// Learns a regressor from a JSON-lines stream with progressive validation, calling
/// `on_checkpoint` every `options.every` rows.
pub fn learn_regression_stream<R: BufRead>(
    reader: R,
    options: &RegressionOptions,
    mut on_checkpoint: impl FnMut(&RegressionCheckpoint),
) -> Result<RegressionSummary> {
    if options.detector == Some(DetectorKind::Ddm) {
        return Err(Error::BadInput {
            message: "--detector ddm: DDM models a rate of 0/1 errors and a regressor's errors \
                      are real numbers; use adwin, page_hinkley or kswin"
                .into(),
        });
    }
    let mut features: Option<Vec<String>> = None;
    let mut model: Option<OnlineRegressor> = None;
    let mut detector: Option<Box<dyn DriftDetector>> =
        options.detector.map(|d| d.build(options.seed));
    let mut scores = Scores::default();
    let (mut rows, mut skipped) = (0u64, 0u64);
    let mut skipped_examples = Vec::new();
    let mut alarms = Vec::new();
    let mut checkpoints = Vec::new();
    let mut recent: VecDeque<f64> = VecDeque::with_capacity(500);
    for (i, line) in reader.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|e| Error::Io {
            path: format!("line {line_no}"),
            source: e,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let (x, y) = match parse_row(&line, line_no, &options.target, &mut features) {
            Ok(r) => r,
            Err(message) if options.skip_bad => {
                skipped += 1;
                if skipped_examples.len() < 10 {
                    skipped_examples.push(message);
                }
                continue;
            }
            Err(message) => return Err(Error::BadInput { message }),
        };
        let m =
            model.get_or_insert_with(|| OnlineRegressor::new(options.model, x.len(), options.seed));
        let pred = m.predict(&x);
        scores.add(y, pred);
        rows += 1;
        let abs = (y - pred).abs();
        if recent.len() == 500 {
            recent.pop_front();
        }
        recent.push_back(abs);
        if let Some(d) = &mut detector
            && d.update(abs)
        {
            alarms.push(RegressionAlarm {
                row: rows,
                line: line_no,
                recent_mae: recent.iter().sum::<f64>() / recent.len() as f64,
            });
        }
        m.learn(&x, y);
        if options.every > 0 && rows % options.every == 0 {
            let c = RegressionCheckpoint {
                rows,
                mae: scores.mae(),
                rmse: scores.rmse(),
                r2: scores.r2(),
                alarms: alarms.len(),
            };
            on_checkpoint(&c);
            checkpoints.push(c);
        }
    }
    if rows == 0 {
        return Err(super::stream::no_rows(skipped, &skipped_examples));
    }
    Ok(RegressionSummary {
        model: options.model,
        target: options.target.clone(),
        features: features.unwrap_or_default(),
        rows,
        skipped,
        skipped_examples,
        mae: scores.mae(),
        rmse: scores.rmse(),
        r2: scores.r2(),
        forest_events: model.as_ref().and_then(OnlineRegressor::forest_events),
        detector: options.detector,
        alarms,
        checkpoints,
    })
}
