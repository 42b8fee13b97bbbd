//! Decision trees and forests of them (CART, random forest, extra trees), with
//! scikit-learn's parameter names, defaults and definitions.
//!
//! - [`DecisionTreeParams`], [`RandomForestParams`] and [`ExtraTreesParams`] hold the
//!   hyperparameters; [`Params::check`] validates them into a [`DecisionTree`] or a [`Forest`],
//!   whose [`Estimator::fit`] returns a [`DecisionTreeModel`] or a [`ForestModel`].
//! - Every tree is grown by one histogram learner (`grow.rs`) on features binned once per fit
//!   with the gradient-boosting quantile binning (at most `max_bins` ≤ 255 bins per feature,
//!   with LightGBM's `min_data_in_bin` set to 1). A candidate split is a boundary between two
//!   bins; when every feature has at most as many distinct values as bins, the bins are the
//!   distinct values and the splits are exactly scikit-learn's. The stored threshold is placed
//!   as scikit-learn places it: midway between the node's largest value going left and its
//!   smallest value going right (not at the bin boundary, which sits next to the bin's largest
//!   value over all training rows and so gave the whole gap between the node's values to the
//!   right child).
//! - Categorical features (native encoding: [`crate::FeatureKind::Categorical`]) split on sets
//!   of categories for binary classification and regression, as LightGBM and scikit-learn's
//!   `HistGradientBoosting` do: a node orders its categories by mean response (share of
//!   class 1, or mean target) and tries every prefix of that order as the left set, which for
//!   these criteria finds the best of all two-way partitions. A node stores the codes going
//!   left; unknown categories (NaN after native encoding) go where the node sends missing
//!   values. Multiclass targets, extra trees and features with more categories than
//!   `max_bins` split the codes as ordered numbers (as `encoding: ordinal` does).
//! - Trees grow depth first like scikit-learn's `DepthFirstTreeBuilder`, with its stopping
//!   rules (`max_depth`, `min_samples_split`, `min_samples_leaf`, pure nodes,
//!   `min_impurity_decrease` on the weighted impurity decrease) and its per-node feature
//!   sampling (features are drawn without replacement; each draw counts towards
//!   `max_features`, constant or not, and the search goes past it only until one non-constant
//!   feature was drawn). A node's histogram is built over the node's own rows (kept contiguous by
//!   partitioning a row array in place), one sampled feature at a time, and only the bins that
//!   occur in the node are scanned — so small nodes deep in a fully grown tree cost what their
//!   rows cost, not what 255 bins cost.
//! - Missing values (NaN): a node whose rows have NaN in the split feature learns where they go
//!   (both sides are tried, plus "all values left, NaN right"), as scikit-learn ≥ 1.3 does.
//!   Where the node saw no NaN, NaN goes to the child with more training rows.
//! - Extra trees draw, per visited feature, one threshold uniformly at random between the
//!   node's smallest and largest value of that feature, as scikit-learn's `RandomSplitter`
//!   does, and a random side for NaN; the node's rows are split by their raw values (not by
//!   bins) and the drawn value is the stored threshold. The best of these random splits is
//!   taken.
//! - Weights: `class_weight` (`balanced` = `n / (n_classes · count(class))`, or per class)
//!   multiplies the sample weights, exactly as scikit-learn's `compute_sample_weight`; with
//!   `bootstrap`, a row drawn `k` times gets weight `k · w`, and rows not drawn are left out, as
//!   in scikit-learn (so `min_samples_*` count distinct rows).
//! - Forests: trees are grown in parallel (rayon, `n_jobs` threads); tree `i` draws everything
//!   from ChaCha8 seeded by `random_state` on stream `i + 1`, so a seed gives a bit-identical
//!   forest for any thread count. Class probabilities are the mean of the trees' leaf class
//!   fractions; regression predictions the mean of leaf means. `oob_score` is the accuracy (R²
//!   for regression) of the out-of-bag predictions, with scikit-learn's definition (rows never
//!   out of bag count as predicted class 0 / value 0). Feature importance is the mean decrease
//!   in impurity, normalized per tree and then over the forest like scikit-learn's
//!   `feature_importances_`.
//!
//! Why not `linfa-trees`: it has a single exact (sort-based) CART and no forests, histograms,
//! sample weights or missing-value handling, so it could not meet the forest training-time
//! target or scikit-learn's semantics.

mod forest;
mod grow;
pub(crate) mod model;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use model::{DecisionTreeModel, ForestModel, Tree};

use crate::{Error, Estimator, Params, Result, Target, Task, TrainData};

/// How a node's impurity is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Gini impurity (classification).
    Gini,
    /// Shannon entropy in bits (classification).
    Entropy,
    /// scikit-learn's alias of `entropy`.
    LogLoss,
    /// Variance (regression).
    SquaredError,
}

/// How many features a node looks at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MaxFeatures {
    /// `sqrt` or `log2` of the number of features.
    Rule(MaxFeaturesRule),
    /// This many features.
    Count(usize),
    /// This fraction of the features (at least one).
    Fraction(f64),
}

/// A named rule for [`MaxFeatures`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxFeaturesRule {
    /// `max(1, floor(sqrt(n_features)))`.
    Sqrt,
    /// `max(1, floor(log2(n_features)))`.
    Log2,
}

/// Per-class weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassWeight {
    /// `balanced`: `n_samples / (n_classes · count(class))`.
    Rule(ClassWeightRule),
    /// A weight per class, keyed by class code (`"0"`, `"1"`, ... — the index of the class
    /// in the target's class list); classes not named get weight 1.
    Map(BTreeMap<String, f64>),
}

/// A named rule for [`ClassWeight`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeightRule {
    /// Weights inversely proportional to class frequencies.
    Balanced,
}

/// How many rows each bootstrap sample draws.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MaxSamples {
    /// This many rows.
    Count(usize),
    /// This fraction of the rows, rounded (at least one).
    Fraction(f64),
}

/// Decision tree hyperparameters (scikit-learn's `DecisionTreeClassifier` /
/// `DecisionTreeRegressor` names and defaults; the task comes from the target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionTreeParams {
    /// Impurity measure (`None`: `gini` for classification, `squared_error` for regression).
    pub criterion: Option<Criterion>,
    /// Deepest a leaf may be (`None`: unlimited).
    pub max_depth: Option<usize>,
    /// Fewest rows a node needs to be split.
    pub min_samples_split: usize,
    /// Fewest rows in each child of a split.
    pub min_samples_leaf: usize,
    /// Smallest weighted impurity decrease a split must bring.
    pub min_impurity_decrease: f64,
    /// Features looked at per node (`None`: all).
    pub max_features: Option<MaxFeatures>,
    /// Per-class weights (classification only).
    pub class_weight: Option<ClassWeight>,
    /// Seed of the feature order and sampling (the config's `seed` unless set).
    pub random_state: u64,
    /// Most bins per feature (2..=255).
    pub max_bins: usize,
    /// Threads for binning and prediction (`None`: rayon's global pool; the config's
    /// `threads` unless set). One tree grows on one thread; the model does not depend on it.
    pub n_jobs: Option<usize>,
}

impl Default for DecisionTreeParams {
    fn default() -> Self {
        DecisionTreeParams {
            criterion: None,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            min_impurity_decrease: 0.0,
            max_features: None,
            class_weight: None,
            random_state: 0,
            max_bins: 255,
            n_jobs: None,
        }
    }
}

/// Forest hyperparameters shared by [`RandomForestParams`] and [`ExtraTreesParams`]
/// (scikit-learn's names; defaults as in scikit-learn 1.9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForestParams {
    /// Number of trees.
    pub n_estimators: usize,
    /// Impurity measure (`None`: `gini` for classification, `squared_error` for regression).
    pub criterion: Option<Criterion>,
    /// Deepest a leaf may be (`None`: unlimited).
    pub max_depth: Option<usize>,
    /// Fewest rows a node needs to be split.
    pub min_samples_split: usize,
    /// Fewest rows in each child of a split.
    pub min_samples_leaf: usize,
    /// Smallest weighted impurity decrease a split must bring.
    pub min_impurity_decrease: f64,
    /// Features looked at per node (`None`: `sqrt` for classification, all for regression).
    pub max_features: Option<MaxFeatures>,
    /// Whether each tree fits a bootstrap sample (`None`: yes for random forests, no for extra
    /// trees).
    pub bootstrap: Option<bool>,
    /// Score the out-of-bag predictions (needs `bootstrap`).
    pub oob_score: bool,
    /// Rows per bootstrap sample (`None`: as many as there are rows; needs `bootstrap`).
    pub max_samples: Option<MaxSamples>,
    /// Per-class weights (classification only).
    pub class_weight: Option<ClassWeight>,
    /// Threads (`None`: all cores; the config's `threads` unless set). The model does not
    /// depend on it.
    pub n_jobs: Option<usize>,
    /// Seed of every random choice (the config's `seed` unless set).
    pub random_state: u64,
    /// Most bins per feature (2..=255).
    pub max_bins: usize,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            n_estimators: 100,
            criterion: None,
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf: 1,
            min_impurity_decrease: 0.0,
            max_features: None,
            bootstrap: None,
            oob_score: false,
            max_samples: None,
            class_weight: None,
            n_jobs: None,
            random_state: 0,
            max_bins: 255,
        }
    }
}

/// Random forest hyperparameters: best splits, bootstrap samples by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RandomForestParams(pub ForestParams);

/// Extremely randomized trees hyperparameters: random thresholds, all rows by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExtraTreesParams(pub ForestParams);

/// The tree-growing settings every tree of a fit shares.
#[derive(Debug, Clone, PartialEq)]
struct TreeSettings {
    criterion: Option<Criterion>,
    max_depth: Option<usize>,
    min_samples_split: usize,
    min_samples_leaf: usize,
    min_impurity_decrease: f64,
    max_features: Option<MaxFeatures>,
    class_weight: Option<ClassWeight>,
    max_bins: usize,
}

impl TreeSettings {
    fn check(&self) -> Result<()> {
        if let Some(d) = self.max_depth {
            at_least("max_depth", d, 1)?;
        }
        at_least("min_samples_split", self.min_samples_split, 2)?;
        at_least("min_samples_leaf", self.min_samples_leaf, 1)?;
        if !(self.min_impurity_decrease.is_finite() && self.min_impurity_decrease >= 0.0) {
            return Err(Error::param(
                "min_impurity_decrease",
                format!(
                    "must be a finite number >= 0, got {}",
                    self.min_impurity_decrease
                ),
            ));
        }
        match self.max_features {
            Some(MaxFeatures::Count(c)) => at_least("max_features", c, 1)?,
            Some(MaxFeatures::Fraction(f)) if !(f > 0.0 && f <= 1.0) => {
                return Err(Error::param(
                    "max_features",
                    format!("a fraction must be in (0, 1], got {f}"),
                ));
            }
            _ => {}
        }
        if let Some(ClassWeight::Map(m)) = &self.class_weight {
            for (k, &w) in m {
                if !(w.is_finite() && w >= 0.0) {
                    return Err(Error::param(
                        "class_weight",
                        format!(
                            "the weight of class \"{k}\" must be a finite number >= 0, got {w}"
                        ),
                    ));
                }
            }
        }
        if !(2..=255).contains(&self.max_bins) {
            return Err(Error::param(
                "max_bins",
                format!("must be in 2..=255, got {}", self.max_bins),
            ));
        }
        Ok(())
    }

    /// The criterion for `task`, checked against it.
    fn criterion_for(&self, task: Task) -> Result<Criterion> {
        let c = self.criterion.unwrap_or(if task.is_classification() {
            Criterion::Gini
        } else {
            Criterion::SquaredError
        });
        let ok = match c {
            Criterion::SquaredError => !task.is_classification(),
            Criterion::Gini | Criterion::Entropy | Criterion::LogLoss => task.is_classification(),
        };
        if !ok {
            let want = if task.is_classification() {
                "gini, entropy or log_loss for classification"
            } else {
                "squared_error for regression"
            };
            return Err(Error::param(
                "criterion",
                format!("must be {want}, got {c:?}"),
            ));
        }
        Ok(c)
    }

    /// Features per node for `n_features` features (`default` when unset).
    fn max_features_for(&self, n_features: usize, default: Option<MaxFeatures>) -> Result<usize> {
        let k = match self.max_features.or(default) {
            None => n_features,
            Some(MaxFeatures::Rule(MaxFeaturesRule::Sqrt)) => (n_features as f64).sqrt() as usize,
            Some(MaxFeatures::Rule(MaxFeaturesRule::Log2)) => (n_features as f64).log2() as usize,
            Some(MaxFeatures::Count(c)) => {
                if c > n_features {
                    return Err(Error::param(
                        "max_features",
                        format!("must be at most the number of features ({n_features}), got {c}"),
                    ));
                }
                c
            }
            Some(MaxFeatures::Fraction(f)) => (f * n_features as f64) as usize,
        };
        Ok(k.clamp(1, n_features.max(1)))
    }

    /// Sample weights times class weights (scikit-learn's `compute_sample_weight`).
    fn row_weights(&self, train: &TrainData<'_>) -> Result<Vec<f64>> {
        let n = train.x.n_rows();
        let mut w = match train.weights {
            Some(w) => {
                if let Some(i) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                    return Err(Error::InvalidData(format!(
                        "sample weight at row {} is {}; weights must be finite and >= 0",
                        i + 1,
                        w[i]
                    )));
                }
                w.to_vec()
            }
            None => vec![1.0; n],
        };
        if let Some(cw) = &self.class_weight {
            let Target::Classes { labels, n_classes } = train.y else {
                return Err(Error::param(
                    "class_weight",
                    "is for classification; this target is real-valued",
                ));
            };
            let per_class = class_weights(cw, labels, *n_classes)?;
            for (wi, &l) in w.iter_mut().zip(labels) {
                *wi *= per_class[l as usize];
            }
        }
        if w.iter().sum::<f64>() <= 0.0 {
            return Err(Error::InvalidData(
                "the sample weights (times class weights) sum to 0".into(),
            ));
        }
        Ok(w)
    }
}

/// One weight per class code.
fn class_weights(cw: &ClassWeight, labels: &[u32], n_classes: usize) -> Result<Vec<f64>> {
    match cw {
        ClassWeight::Rule(ClassWeightRule::Balanced) => {
            let mut counts = vec![0usize; n_classes];
            for &l in labels {
                counts[l as usize] += 1;
            }
            // Like scikit-learn, weights only for the classes present.
            let present = counts.iter().filter(|&&c| c > 0).count();
            Ok(counts
                .iter()
                .map(|&c| {
                    if c == 0 {
                        1.0
                    } else {
                        labels.len() as f64 / (present as f64 * c as f64)
                    }
                })
                .collect())
        }
        ClassWeight::Map(m) => {
            let mut out = vec![1.0; n_classes];
            for (k, &w) in m {
                let code = k
                    .parse::<usize>()
                    .ok()
                    .filter(|&c| c < n_classes)
                    .ok_or_else(|| {
                        Error::param(
                            "class_weight",
                            format!(
                                "class \"{k}\" is not a class code of this target (0..{})",
                                n_classes - 1
                            ),
                        )
                    })?;
                out[code] = w;
            }
            Ok(out)
        }
    }
}

fn at_least(name: &str, v: usize, min: usize) -> Result<()> {
    if v < min {
        return Err(Error::param(
            name,
            format!("must be at least {min}, got {v}"),
        ));
    }
    Ok(())
}

impl DecisionTreeParams {
    fn settings(&self) -> TreeSettings {
        TreeSettings {
            criterion: self.criterion,
            max_depth: self.max_depth,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            min_impurity_decrease: self.min_impurity_decrease,
            max_features: self.max_features,
            class_weight: self.class_weight.clone(),
            max_bins: self.max_bins,
        }
    }
}

impl Params for DecisionTreeParams {
    type Checked = DecisionTree;

    fn check(&self) -> Result<DecisionTree> {
        self.settings().check()?;
        Ok(DecisionTree {
            settings: self.settings(),
            seed: self.random_state,
        })
    }
}

/// Checked decision tree hyperparameters, ready to fit.
#[derive(Debug, Clone)]
pub struct DecisionTree {
    settings: TreeSettings,
    seed: u64,
}

impl Estimator for DecisionTree {
    type Fitted = DecisionTreeModel;

    fn fit(&self, train: &TrainData<'_>, _valid: Option<&TrainData<'_>>) -> Result<Self::Fitted> {
        forest::fit_tree(&self.settings, self.seed, train)
    }
}

/// Which forest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ForestKind {
    Random,
    Extra,
}

impl ForestParams {
    fn check_as(&self, kind: ForestKind) -> Result<Forest> {
        let settings = TreeSettings {
            criterion: self.criterion,
            max_depth: self.max_depth,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            min_impurity_decrease: self.min_impurity_decrease,
            max_features: self.max_features,
            class_weight: self.class_weight.clone(),
            max_bins: self.max_bins,
        };
        settings.check()?;
        at_least("n_estimators", self.n_estimators, 1)?;
        let bootstrap = self.bootstrap.unwrap_or(kind == ForestKind::Random);
        if self.oob_score && !bootstrap {
            return Err(Error::param(
                "oob_score",
                "needs bootstrap = true (out-of-bag rows exist only with bootstrap samples)",
            ));
        }
        match self.max_samples {
            Some(_) if !bootstrap => {
                return Err(Error::param(
                    "max_samples",
                    "can only be set with bootstrap = true",
                ));
            }
            Some(MaxSamples::Count(c)) => at_least("max_samples", c, 1)?,
            Some(MaxSamples::Fraction(f)) if !(f > 0.0 && f <= 1.0) => {
                return Err(Error::param(
                    "max_samples",
                    format!("a fraction must be in (0, 1], got {f}"),
                ));
            }
            _ => {}
        }
        if let Some(t) = self.n_jobs {
            at_least("n_jobs", t, 1)?;
        }
        Ok(Forest {
            settings,
            kind,
            n_estimators: self.n_estimators,
            bootstrap,
            oob_score: self.oob_score,
            max_samples: self.max_samples,
            n_jobs: self.n_jobs,
            seed: self.random_state,
        })
    }
}

impl Params for RandomForestParams {
    type Checked = Forest;

    fn check(&self) -> Result<Forest> {
        self.0.check_as(ForestKind::Random)
    }
}

impl Params for ExtraTreesParams {
    type Checked = Forest;

    fn check(&self) -> Result<Forest> {
        self.0.check_as(ForestKind::Extra)
    }
}

/// Checked forest hyperparameters (random forest or extra trees), ready to fit.
#[derive(Debug, Clone)]
pub struct Forest {
    settings: TreeSettings,
    kind: ForestKind,
    n_estimators: usize,
    bootstrap: bool,
    oob_score: bool,
    max_samples: Option<MaxSamples>,
    n_jobs: Option<usize>,
    seed: u64,
}

impl Estimator for Forest {
    type Fitted = ForestModel;

    fn fit(&self, train: &TrainData<'_>, _valid: Option<&TrainData<'_>>) -> Result<Self::Fitted> {
        forest::fit_forest(self, train)
    }
}
