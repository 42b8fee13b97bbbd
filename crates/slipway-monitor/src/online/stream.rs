//! Learning from a JSON-lines stream with progressive (test-then-train) validation: each
//! row is first predicted, scored, and only then learned. A drift detector, if any, sees
//! the stream of errors (1 wrong, 0 right).

use std::collections::HashMap;
use std::io::BufRead;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::detect::{Adwin, Ddm, DriftDetector, Kswin, PageHinkley};
use super::forest::AdaptiveRandomForest;
use super::linear::{LogisticRegression, StandardScaler};
use super::tree::{ClassOrder, HoeffdingTree, TreeParams};
use crate::{Error, Result};

/// Which online model learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// [`HoeffdingTree`] with River's defaults.
    HoeffdingTree,
    /// [`AdaptiveRandomForest`] with 10 trees.
    Arf,
    /// Standard scaler then [`LogisticRegression`] (binary targets).
    Logistic,
}

impl ModelKind {
    /// Parses `hoeffding_tree`, `arf` or `logistic`.
    pub fn parse(s: &str) -> Option<ModelKind> {
        match s {
            "hoeffding_tree" => Some(ModelKind::HoeffdingTree),
            "arf" => Some(ModelKind::Arf),
            "logistic" => Some(ModelKind::Logistic),
            _ => None,
        }
    }
}

/// Which drift detector watches the error stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorKind {
    /// [`Adwin`] (delta 0.002).
    Adwin,
    /// [`PageHinkley`].
    PageHinkley,
    /// [`Ddm`].
    Ddm,
    /// [`Kswin`] (seeded).
    Kswin,
}

impl DetectorKind {
    /// Parses `adwin`, `page_hinkley`, `ddm` or `kswin`.
    pub fn parse(s: &str) -> Option<DetectorKind> {
        match s {
            "adwin" => Some(DetectorKind::Adwin),
            "page_hinkley" => Some(DetectorKind::PageHinkley),
            "ddm" => Some(DetectorKind::Ddm),
            "kswin" => Some(DetectorKind::Kswin),
            _ => None,
        }
    }

    pub(super) fn build(self, seed: u64) -> Box<dyn DriftDetector> {
        match self {
            DetectorKind::Adwin => Box::new(Adwin::default()),
            DetectorKind::PageHinkley => Box::new(PageHinkley::default()),
            DetectorKind::Ddm => Box::new(Ddm::default()),
            DetectorKind::Kswin => Box::new(Kswin::new(seed)),
        }
    }
}

/// How to learn from a stream.
#[derive(Debug, Clone)]
pub struct OnlineOptions {
    /// The model.
    pub model: ModelKind,
    /// The target field.
    pub target: String,
    /// A detector on the error stream.
    pub detector: Option<DetectorKind>,
    /// Report progressive metrics every this many rows (0: only at the end).
    pub every: u64,
    /// Skip malformed lines (counting them) instead of stopping at the first.
    pub skip_bad: bool,
    /// Seed of the forest's bagging and KSWIN's draws.
    pub seed: u64,
}

/// Progressive metrics after some rows.
#[derive(Debug, Clone, Serialize)]
pub struct Checkpoint {
    /// Rows learned so far.
    pub rows: u64,
    /// Progressive accuracy so far.
    pub accuracy: f64,
    /// Drift alarms so far.
    pub alarms: usize,
}

/// A drift alarm of the detector.
#[derive(Debug, Clone, Serialize)]
pub struct Alarm {
    /// The row (1-based, counting learned rows) whose error completed the drift.
    pub row: u64,
    /// Its line in the input.
    pub line: u64,
    /// Progressive accuracy of the last 500 rows before the alarm.
    pub recent_accuracy: f64,
}

/// The result of a stream.
#[derive(Debug, Clone, Serialize)]
pub struct OnlineSummary {
    /// The model.
    pub model: ModelKind,
    /// The target field.
    pub target: String,
    /// The feature fields, in the order the model sees them.
    pub features: Vec<String>,
    /// Class labels, in the order first seen.
    pub classes: Vec<String>,
    /// Rows learned.
    pub rows: u64,
    /// Malformed lines skipped (`skip_bad`).
    pub skipped: u64,
    /// The first skipped lines' errors (at most 10).
    pub skipped_examples: Vec<String>,
    /// Progressive accuracy over the whole stream.
    pub accuracy: f64,
    /// The detector, if any.
    pub detector: Option<DetectorKind>,
    /// Its alarms.
    pub alarms: Vec<Alarm>,
    /// Periodic metrics.
    pub checkpoints: Vec<Checkpoint>,
}

/// Maps class labels to ids and keeps River's tie order (labels sorted).
#[derive(Debug, Clone, Default)]
pub struct Labels {
    names: Vec<String>,
    ids: HashMap<String, u32>,
    order: ClassOrder,
}

impl Labels {
    /// The id of `label`, adding it if new.
    pub fn id(&mut self, label: &str) -> u32 {
        if let Some(&id) = self.ids.get(label) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(label.to_string());
        self.ids.insert(label.to_string(), id);
        let mut sorted: Vec<usize> = (0..self.names.len()).collect();
        sorted.sort_by(|&a, &b| self.names[a].cmp(&self.names[b]));
        self.order.rank = vec![0; self.names.len()];
        for (r, &c) in sorted.iter().enumerate() {
            self.order.rank[c] = r;
        }
        id
    }

    /// The tie order.
    pub fn order(&self) -> &ClassOrder {
        &self.order
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no class was seen.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// One of the three online classifiers behind one interface.
#[derive(Debug, Clone)]
pub enum OnlineModel {
    /// A Hoeffding tree (the generator is unused: a single tree watches every feature).
    Tree(HoeffdingTree, ChaCha8Rng),
    /// An adaptive random forest.
    Forest(AdaptiveRandomForest),
    /// Standard scaler then logistic regression; the positive class is the one whose label
    /// sorts last (`true` for booleans, as River), known once two classes were seen.
    Logistic {
        /// The scaler.
        scaler: StandardScaler,
        /// The model.
        model: LogisticRegression,
        /// The positive class, once two classes were seen.
        positive: Option<u32>,
        /// Scratch for the scaled row.
        scaled: Vec<f64>,
    },
}

impl OnlineModel {
    /// A fresh model for `n_features` features.
    pub fn new(kind: ModelKind, n_features: usize, seed: u64) -> OnlineModel {
        match kind {
            ModelKind::HoeffdingTree => OnlineModel::Tree(
                HoeffdingTree::new(n_features, TreeParams::default()),
                ChaCha8Rng::seed_from_u64(seed),
            ),
            ModelKind::Arf => OnlineModel::Forest(AdaptiveRandomForest::new(n_features, 10, seed)),
            ModelKind::Logistic => OnlineModel::Logistic {
                scaler: StandardScaler::new(n_features),
                model: LogisticRegression::new(n_features),
                positive: None,
                scaled: Vec::with_capacity(n_features),
            },
        }
    }

    /// Predicts the class of `x` (`None` before the model can say).
    pub fn predict(&mut self, x: &[f64], labels: &Labels, proba: &mut Vec<f64>) -> Option<u32> {
        proba.resize(labels.len(), 0.0);
        match self {
            OnlineModel::Tree(t, _) => t.predict(x, labels.order(), proba),
            OnlineModel::Forest(f) => f.predict(x, labels.order(), proba),
            OnlineModel::Logistic {
                scaler,
                model,
                positive,
                scaled,
            } => {
                let positive = match (labels.len(), *positive) {
                    (0, _) => return None,
                    // One class so far: it is the answer.
                    (_, None) => return Some(0),
                    (_, Some(p)) => p,
                };
                scaler.transform_into(x, scaled);
                if model.predict_proba(scaled) > 0.5 {
                    Some(positive)
                } else {
                    Some(1 - positive)
                }
            }
        }
    }

    /// Learns one row of class `y`.
    pub fn learn(&mut self, x: &[f64], y: u32, labels: &Labels) {
        match self {
            OnlineModel::Tree(t, rng) => t.learn_one(x, y, 1.0, rng),
            OnlineModel::Forest(f) => f.learn_one(x, y, labels.order(), labels.len()),
            OnlineModel::Logistic {
                scaler,
                model,
                positive,
                scaled,
            } => {
                if positive.is_none() && labels.len() == 2 {
                    // Rows so far were learned with the first class as the negative one.
                    let p = if labels.order().rank[1] > labels.order().rank[0] {
                        1
                    } else {
                        0
                    };
                    if p == 0 {
                        model.flip();
                    }
                    *positive = Some(p);
                }
                scaler.learn_one(x);
                scaler.transform_into(x, scaled);
                model.learn_one(scaled, Some(y) == *positive);
            }
        }
    }
}

/// The fields of a JSON-lines row: features by name and the target label.
struct Row {
    x: Vec<f64>,
    label: String,
}

pub(super) fn describe(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

fn parse_row(
    line: &str,
    line_no: u64,
    target: &str,
    features: &mut Option<Vec<String>>,
) -> std::result::Result<Row, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("line {line_no}: not valid JSON ({e})"))?;
    let serde_json::Value::Object(obj) = value else {
        return Err(format!(
            "line {line_no}: expected a JSON object with one field per feature, found {}",
            describe(&value)
        ));
    };
    let label = match obj.get(target) {
        None => {
            let fields: Vec<&str> = obj.keys().map(String::as_str).collect();
            return Err(format!(
                "line {line_no}: no target field \"{target}\" (fields: {}); name the target with --target",
                fields.join(", ")
            ));
        }
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Bool(b)) => b.to_string(),
        Some(serde_json::Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        Some(other) => {
            return Err(format!(
                "line {line_no}: field \"{target}\": the target must be a class label (a string, a boolean or a whole number), found {}",
                describe(other)
            ));
        }
    };
    let x = parse_features(&obj, line_no, target, features)?;
    Ok(Row { x, label })
}

/// The features of a row's JSON object in the order of the first line's fields (all but
/// the target), each a finite number or a boolean; the first line fixes the names.
pub(super) fn parse_features(
    obj: &serde_json::Map<String, serde_json::Value>,
    line_no: u64,
    target: &str,
    features: &mut Option<Vec<String>>,
) -> std::result::Result<Vec<f64>, String> {
    let names = features.get_or_insert_with(|| {
        obj.keys()
            .filter(|k| k.as_str() != target)
            .cloned()
            .collect()
    });
    let mut x = Vec::with_capacity(names.len());
    for name in names.iter() {
        match obj.get(name) {
            Some(serde_json::Value::Number(n)) => match n.as_f64() {
                Some(v) if v.is_finite() => x.push(v),
                _ => {
                    return Err(format!(
                        "line {line_no}: field \"{name}\": {n} is not a finite number"
                    ));
                }
            },
            Some(serde_json::Value::Bool(b)) => x.push(if *b { 1.0 } else { 0.0 }),
            None | Some(serde_json::Value::Null) => {
                return Err(format!(
                    "line {line_no}: field \"{name}\" is missing; every line needs the features of the first line"
                ));
            }
            Some(other) => {
                return Err(format!(
                    "line {line_no}: field \"{name}\": {} is not a number (online models take numeric features and booleans)",
                    describe(other)
                ));
            }
        }
    }
    if obj.len() != names.len() + 1
        && let Some(extra) = obj
            .keys()
            .find(|k| k.as_str() != target && !names.contains(k))
    {
        return Err(format!(
            "line {line_no}: field \"{extra}\" was not on the first line; every line needs the same fields"
        ));
    }
    Ok(x)
}

/// Learns from a JSON-lines stream with progressive validation, calling `on_checkpoint`
/// every `options.every` rows.
pub fn learn_stream<R: BufRead>(
    reader: R,
    options: &OnlineOptions,
    mut on_checkpoint: impl FnMut(&Checkpoint),
) -> Result<OnlineSummary> {
    let mut features: Option<Vec<String>> = None;
    let mut model: Option<OnlineModel> = None;
    let mut labels = Labels::default();
    let mut detector = options.detector.map(|d| d.build(options.seed));
    let mut proba = Vec::new();
    let (mut rows, mut correct, mut skipped) = (0u64, 0u64, 0u64);
    let mut skipped_examples = Vec::new();
    let mut alarms = Vec::new();
    let mut checkpoints = Vec::new();
    let mut recent = std::collections::VecDeque::with_capacity(500);
    for (i, line) in reader.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|e| Error::Io {
            path: format!("line {line_no}"),
            source: e,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let row = match parse_row(&line, line_no, &options.target, &mut features) {
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
        let n_features = row.x.len();
        let is_new_class = !labels.ids.contains_key(&row.label);
        if options.model == ModelKind::Logistic && is_new_class && labels.len() == 2 {
            let message = format!(
                "line {line_no}: field \"{}\": a third class \"{}\" (logistic regression is binary: {} and {} were seen)",
                options.target, row.label, labels.names[0], labels.names[1]
            );
            if options.skip_bad {
                skipped += 1;
                if skipped_examples.len() < 10 {
                    skipped_examples.push(message);
                }
                continue;
            }
            return Err(Error::BadInput { message });
        }
        let m =
            model.get_or_insert_with(|| OnlineModel::new(options.model, n_features, options.seed));
        let pred = m.predict(&row.x, &labels, &mut proba);
        let y = labels.id(&row.label);
        let ok = pred == Some(y);
        rows += 1;
        correct += u64::from(ok);
        if recent.len() == 500 {
            recent.pop_front();
        }
        recent.push_back(ok);
        if let Some(d) = &mut detector
            && d.update(if ok { 0.0 } else { 1.0 })
        {
            let recent_ok = recent.iter().filter(|&&b| b).count();
            alarms.push(Alarm {
                row: rows,
                line: line_no,
                recent_accuracy: recent_ok as f64 / recent.len() as f64,
            });
        }
        m.learn(&row.x, y, &labels);
        if options.every > 0 && rows % options.every == 0 {
            let c = Checkpoint {
                rows,
                accuracy: correct as f64 / rows as f64,
                alarms: alarms.len(),
            };
            on_checkpoint(&c);
            checkpoints.push(c);
        }
    }
    if rows == 0 {
        return Err(no_rows(skipped, &skipped_examples));
    }
    Ok(OnlineSummary {
        model: options.model,
        target: options.target.clone(),
        features: features.unwrap_or_default(),
        classes: labels.names.clone(),
        rows,
        skipped,
        skipped_examples,
        accuracy: correct as f64 / rows as f64,
        detector: options.detector,
        alarms,
        checkpoints,
    })
}

/// The error of a stream that gave no usable row: every line malformed, or none at all.
pub(super) fn no_rows(skipped: u64, skipped_examples: &[String]) -> Error {
    Error::BadInput {
        message: if skipped > 0 {
            format!(
                "no usable rows: all {skipped} non-empty lines were malformed (first: {})",
                skipped_examples.first().cloned().unwrap_or_default()
            )
        } else {
            "the stream has no rows: give one JSON object per line".into()
        },
    }
}
