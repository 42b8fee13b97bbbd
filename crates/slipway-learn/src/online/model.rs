//! Online classifiers inside a pipeline: `type: online` in a config.
//!
//! [`OnlineParams`] (`learner: hoeffding_tree | arf | logistic` and the learner's settings)
//! is checked once; fitting learns the training rows once, in the order given, with
//! progressive (test-then-train) validation, and returns an [`OnlineModel`]: the learner's
//! whole state (trees, detectors, generator, scaler, weights) plus the progressive
//! counters, all serializable, so a bundle holds a learner that predicts and keeps learning
//! exactly as the one that was saved. [`OnlineModel::learn_one`] goes on learning (serving
//! calls it with labelled feedback).
//!
//! Classes are the pipeline's class codes `0..n` (labels sorted, as River sorts them), so
//! ties go to the lowest code, as in River and in [`crate::pipeline::FittedPipeline`].

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::forest::AdaptiveRandomForest;
use super::linear::{LogisticRegression, StandardScaler};
use super::tree::{ClassOrder, HoeffdingTree, TreeParams};
use crate::{
    Error, Estimator, Matrix, Params, Prediction, Predictor, Result, Target, Task, TrainData,
};

/// The learners `learner:` names.
pub const LEARNERS: &str = "hoeffding_tree, arf, logistic";

/// Hyperparameters of `type: online`, as read from a config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnlineParams {
    /// The learner: `hoeffding_tree`, `arf` (adaptive random forest) or `logistic`
    /// (streaming standard scaler + logistic regression by SGD, binary only). Required.
    pub learner: Option<String>,
    /// Trees: weight a leaf sees between split attempts (default 200 for `hoeffding_tree`,
    /// 50 for `arf`, as River).
    pub grace_period: Option<f64>,
    /// Trees: one minus the confidence of the Hoeffding bound (default 1e-7 for
    /// `hoeffding_tree`, 0.01 for `arf`).
    pub delta: Option<f64>,
    /// Trees: split anyway when the bound falls below this (default 0.05).
    pub tau: Option<f64>,
    /// `arf`: number of trees (default 10).
    pub n_models: Option<usize>,
    /// `logistic`: SGD learning rate of the weights and intercept (default 0.01).
    pub learning_rate: Option<f64>,
    /// Seed of the forest's bagging and feature draws.
    pub seed: u64,
    /// Accepted so every family takes the config's `threads`; learning is sequential.
    pub n_threads: Option<usize>,
}

/// Which online learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LearnerKind {
    /// [`HoeffdingTree`].
    HoeffdingTree,
    /// [`AdaptiveRandomForest`].
    Arf,
    /// [`StandardScaler`] then [`LogisticRegression`].
    Logistic,
}

impl LearnerKind {
    /// The name in configs.
    pub fn name(self) -> &'static str {
        match self {
            LearnerKind::HoeffdingTree => "hoeffding_tree",
            LearnerKind::Arf => "arf",
            LearnerKind::Logistic => "logistic",
        }
    }
}

/// Checked `type: online` hyperparameters; [`Estimator::fit`] returns an [`OnlineModel`].
#[derive(Debug, Clone)]
pub struct Online {
    kind: LearnerKind,
    tree: TreeParams,
    n_models: usize,
    learning_rate: f64,
    seed: u64,
}

fn positive_finite(name: &str, v: Option<f64>) -> Result<()> {
    match v {
        Some(x) if !(x.is_finite() && x > 0.0) => Err(Error::param(
            name,
            format!("must be a finite number > 0, got {x}"),
        )),
        _ => Ok(()),
    }
}

impl Params for OnlineParams {
    type Checked = Online;

    fn check(&self) -> Result<Online> {
        let kind = match self.learner.as_deref() {
            None => {
                return Err(Error::param(
                    "learner",
                    format!("is required: one of {LEARNERS}"),
                ));
            }
            Some("hoeffding_tree") => LearnerKind::HoeffdingTree,
            Some("arf") => LearnerKind::Arf,
            Some("logistic") => LearnerKind::Logistic,
            Some(other) => {
                return Err(Error::param(
                    "learner",
                    format!("must be one of {LEARNERS}, got \"{other}\""),
                ));
            }
        };
        let only = |name: &str, given: bool, takes: &[LearnerKind]| -> Result<()> {
            if given && !takes.contains(&kind) {
                let names: Vec<&str> = takes.iter().map(|k| k.name()).collect();
                return Err(Error::param(
                    name,
                    format!(
                        "is a setting of {}; learner {} does not take it",
                        names.join(" and "),
                        kind.name()
                    ),
                ));
            }
            Ok(())
        };
        let trees = [LearnerKind::HoeffdingTree, LearnerKind::Arf];
        only("grace_period", self.grace_period.is_some(), &trees)?;
        only("delta", self.delta.is_some(), &trees)?;
        only("tau", self.tau.is_some(), &trees)?;
        only("n_models", self.n_models.is_some(), &[LearnerKind::Arf])?;
        only(
            "learning_rate",
            self.learning_rate.is_some(),
            &[LearnerKind::Logistic],
        )?;
        positive_finite("grace_period", self.grace_period)?;
        positive_finite("tau", self.tau)?;
        positive_finite("learning_rate", self.learning_rate)?;
        if let Some(d) = self.delta
            && !(d > 0.0 && d < 1.0)
        {
            return Err(Error::param(
                "delta",
                format!("must be between 0 and 1 (exclusive), got {d}"),
            ));
        }
        if let Some(n) = self.n_models
            && !(1..=1000).contains(&n)
        {
            return Err(Error::param(
                "n_models",
                format!("must be between 1 and 1000, got {n}"),
            ));
        }
        let tree = match kind {
            LearnerKind::Arf => TreeParams {
                grace_period: self.grace_period.unwrap_or(50.0),
                delta: self.delta.unwrap_or(0.01),
                tau: self.tau.unwrap_or(0.05),
                ..TreeParams::default()
            },
            _ => TreeParams {
                grace_period: self.grace_period.unwrap_or(200.0),
                delta: self.delta.unwrap_or(1e-7),
                tau: self.tau.unwrap_or(0.05),
                ..TreeParams::default()
            },
        };
        Ok(Online {
            kind,
            tree,
            n_models: self.n_models.unwrap_or(10),
            learning_rate: self.learning_rate.unwrap_or(0.01),
            seed: self.seed,
        })
    }
}

/// The learner's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "learner", rename_all = "snake_case")]
pub enum Learner {
    /// A Hoeffding tree and its generator (a single tree watches every feature, so the
    /// generator is drawn from only if `max_features` is set).
    HoeffdingTree {
        /// The tree.
        tree: HoeffdingTree,
        /// Its generator.
        #[serde(with = "super::rng")]
        rng: ChaCha8Rng,
    },
    /// An adaptive random forest (its generator and detectors inside).
    Arf {
        /// The forest.
        forest: AdaptiveRandomForest,
    },
    /// Streaming standard scaler then logistic regression; class code 1 is the positive
    /// class.
    Logistic {
        /// The scaler.
        scaler: StandardScaler,
        /// The model.
        model: LogisticRegression,
    },
}

/// Progressive (test-then-train) counters: every learned row was first predicted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Progressive {
    /// Rows learned.
    pub rows: u64,
    /// Rows whose prediction (most probable class, ties to the lowest code) was right.
    pub correct: u64,
    /// Sum of the log loss of each row's prediction (probabilities clipped to
    /// `[1e-15, 1 - 1e-15]`).
    pub log_loss_sum: f64,
}

impl Progressive {
    /// Progressive accuracy (`None` before any row).
    pub fn accuracy(&self) -> Option<f64> {
        (self.rows > 0).then(|| self.correct as f64 / self.rows as f64)
    }

    /// Progressive mean log loss (`None` before any row).
    pub fn log_loss(&self) -> Option<f64> {
        (self.rows > 0).then(|| self.log_loss_sum / self.rows as f64)
    }
}

/// A fitted online classifier: it predicts like any model and can go on learning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnlineModel {
    /// The learner.
    pub learner: Learner,
    /// Number of input features.
    pub n_features: usize,
    /// Number of classes (codes `0..n_classes`).
    pub n_classes: usize,
    /// Progressive counters over the training pass (`fit`).
    pub train_progressive: Progressive,
    /// Progressive counters over rows learned after training ([`OnlineModel::learn_one`]).
    #[serde(default)]
    pub live_progressive: Progressive,
}

impl Online {
    /// A model that has learned nothing yet.
    pub fn empty(&self, n_features: usize, n_classes: usize) -> Result<OnlineModel> {
        if n_classes < 2 {
            return Err(Error::InvalidData(format!(
                "online learners need at least two classes, got {n_classes}"
            )));
        }
        if self.kind == LearnerKind::Logistic && n_classes != 2 {
            return Err(Error::param(
                "learner",
                format!(
                    "logistic is binary; the target has {n_classes} classes (use hoeffding_tree or arf)"
                ),
            ));
        }
        let learner = match self.kind {
            LearnerKind::HoeffdingTree => Learner::HoeffdingTree {
                tree: HoeffdingTree::new(n_features, self.tree.clone()),
                rng: ChaCha8Rng::seed_from_u64(self.seed),
            },
            LearnerKind::Arf => Learner::Arf {
                forest: AdaptiveRandomForest::with_tree_params(
                    n_features,
                    self.n_models,
                    self.seed,
                    self.tree.clone(),
                ),
            },
            LearnerKind::Logistic => Learner::Logistic {
                scaler: StandardScaler::new(n_features),
                model: LogisticRegression::new(n_features).with_learning_rate(self.learning_rate),
            },
        };
        Ok(OnlineModel {
            learner,
            n_features,
            n_classes,
            train_progressive: Progressive::default(),
            live_progressive: Progressive::default(),
        })
    }
}

impl Estimator for Online {
    type Fitted = OnlineModel;

    /// Learns the training rows once, in order, each predicted before it is learned.
    /// Sample weights are not supported (a row's weight would be its repeat count).
    fn fit(&self, train: &TrainData<'_>, _valid: Option<&TrainData<'_>>) -> Result<OnlineModel> {
        train.check_shapes()?;
        if train.weights.is_some() {
            return Err(Error::param(
                "class_weight",
                "online learners learn each row once and take no sample weights",
            ));
        }
        let (labels, n_classes) = match train.y {
            Target::Classes { labels, n_classes } => (labels.as_slice(), *n_classes),
            Target::Real(_) => {
                return Err(Error::param(
                    "type",
                    "online learners classify; the target is real-valued (regression)",
                ));
            }
        };
        let x = train.x;
        let mut model = self.empty(x.n_cols(), n_classes)?;
        let mut row = vec![0.0; x.n_cols()];
        for (i, &y) in labels.iter().enumerate() {
            x.row_into(i, &mut row);
            if let Some(j) = row.iter().position(|v| !v.is_finite()) {
                let name = train.features.get(j).map_or("?", |f| f.name.as_str());
                return Err(Error::InvalidData(format!(
                    "feature \"{name}\" is missing or not finite at training row {}; online learners need every value (impute it)",
                    i + 1
                )));
            }
            let step = model.step(&row, y)?;
            model.train_progressive.add(step);
        }
        Ok(model)
    }
}

/// What predicting one row before learning it gave.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    /// Whether the most probable class was the true one.
    pub correct: bool,
    /// The log loss of the prediction.
    pub log_loss: f64,
}

impl Progressive {
    fn add(&mut self, s: Step) {
        self.rows += 1;
        self.correct += u64::from(s.correct);
        self.log_loss_sum += s.log_loss;
    }
}

/// The most probable class, ties to the lowest code.
fn argmax(p: &[f64]) -> usize {
    let mut best = 0;
    for k in 1..p.len() {
        if p[k] > p[best] {
            best = k;
        }
    }
    best
}

impl OnlineModel {
    /// The learner's name in configs.
    pub fn learner_name(&self) -> &'static str {
        match self.learner {
            Learner::HoeffdingTree { .. } => "hoeffding_tree",
            Learner::Arf { .. } => "arf",
            Learner::Logistic { .. } => "logistic",
        }
    }

    /// Class probabilities of one row into `out` (length `n_classes`); uniform before the
    /// learner can say.
    pub fn predict_row(&self, x: &[f64], out: &mut [f64]) {
        let known = match &self.learner {
            Learner::HoeffdingTree { tree, .. } => tree.predict_proba(x, out),
            Learner::Arf { forest } => forest.predict_proba(x, out),
            Learner::Logistic { scaler, model } => {
                let mut scaled = Vec::with_capacity(x.len());
                scaler.transform_into(x, &mut scaled);
                let p = model.predict_proba(&scaled);
                out[0] = 1.0 - p;
                out[1] = p;
                true
            }
        };
        let total: f64 = out.iter().sum();
        if !known || total <= 0.0 || !total.is_finite() {
            let u = 1.0 / out.len() as f64;
            out.iter_mut().for_each(|p| *p = u);
        }
    }

    /// Predicts `x` then learns it with class `y`; the error names the rule broken.
    fn step(&mut self, x: &[f64], y: u32) -> Result<Step> {
        if x.len() != self.n_features {
            return Err(Error::InvalidData(format!(
                "a row of {} features for a model of {}",
                x.len(),
                self.n_features
            )));
        }
        if y as usize >= self.n_classes {
            return Err(Error::InvalidData(format!(
                "class code {y} is not below {}",
                self.n_classes
            )));
        }
        let mut proba = vec![0.0; self.n_classes];
        self.predict_row(x, &mut proba);
        let p = proba[y as usize].clamp(1e-15, 1.0 - 1e-15);
        let step = Step {
            correct: argmax(&proba) == y as usize,
            log_loss: -p.ln(),
        };
        match &mut self.learner {
            Learner::HoeffdingTree { tree, rng } => tree.learn_one(x, y, 1.0, rng),
            Learner::Arf { forest } => {
                let order = ClassOrder {
                    rank: (0..self.n_classes).collect(),
                };
                forest.learn_one(x, y, &order, self.n_classes);
            }
            Learner::Logistic { scaler, model } => {
                scaler.learn_one(x);
                let mut scaled = Vec::with_capacity(x.len());
                scaler.transform_into(x, &mut scaled);
                model.learn_one(&scaled, y == 1);
            }
        }
        Ok(step)
    }

    /// Learns one more row (features after preprocessing, class code `y`), first scoring
    /// it into [`OnlineModel::live_progressive`]. A row with a missing or infinite value is
    /// refused (nothing is learned).
    pub fn learn_one(&mut self, x: &[f64], y: u32) -> Result<Step> {
        if let Some(j) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidData(format!(
                "feature {j} is missing or not finite; online learners need every value"
            )));
        }
        let step = self.step(x, y)?;
        self.live_progressive.add(step);
        Ok(step)
    }

    /// Rows learned after training.
    pub fn live_updates(&self) -> u64 {
        self.live_progressive.rows
    }
}

impl Predictor for OnlineModel {
    fn task(&self) -> Task {
        if self.n_classes == 2 {
            Task::Binary
        } else {
            Task::Multiclass {
                n_classes: self.n_classes,
            }
        }
    }

    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        if x.n_cols() != self.n_features {
            return Err(Error::InvalidData(format!(
                "{} feature columns for a model of {}",
                x.n_cols(),
                self.n_features
            )));
        }
        let mut out = Matrix::zeros(x.n_rows(), self.n_classes);
        let mut row = vec![0.0; x.n_cols()];
        let mut proba = vec![0.0; self.n_classes];
        for i in 0..x.n_rows() {
            x.row_into(i, &mut row);
            self.predict_row(&row, &mut proba);
            for (k, &p) in proba.iter().enumerate() {
                out.set(i, k, p);
            }
        }
        Ok(Prediction::Probabilities(out))
    }
}
