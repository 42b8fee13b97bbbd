//! Histogram gradient-boosted decision trees, LightGBM's algorithm.
//!
//! - [`GbdtParams`] holds the hyperparameters, with LightGBM's names and defaults;
//!   [`Params::check`] validates them into a [`Gbdt`], whose [`Estimator::fit`] returns a
//!   [`GbdtModel`].
//! - The objective follows the target: binary log loss (two classes), softmax (more classes,
//!   one tree per class per round) or squared error (real values). Scores start from the
//!   (weighted) average like LightGBM's `boost_from_average`. Sample weights multiply the
//!   gradients and hessians.
//! - Features are binned once (LightGBM's greedy quantile bins from a sample of at most
//!   200,000 rows, NaN in a bin of its own, categories one bin each). Trees grow leaf-wise on
//!   gradient/hessian histograms; only the smaller child's is built, the larger one's is its
//!   parent's minus it. Each split learns where NaN goes; categorical features split
//!   one-vs-rest or on a set of categories (LightGBM's many-vs-many search); unseen and
//!   missing categories go right.
//! - Like LightGBM, histograms hold no row counts: `min_data_in_leaf` (and the categorical
//!   group sizes) are checked against counts estimated from hessian sums (`h · n / H` within
//!   the leaf), exact for unweighted squared error. Leaf row counts themselves are exact.
//! - Everything random (binning sample, holdout, bagging, feature sampling) comes from
//!   ChaCha8 seeded by `seed`, and no floating-point sum depends on how work is shared out
//!   between threads: a given seed gives the same model for any `n_threads`.
//! - Prediction scores with QuickScorer (`crate::quickscorer`: per feature, one binary
//!   search and one AND of precomputed leaf masks) when every tree has at most 64 leaves,
//!   else walks flattened trees eight rows at a time in lock step; in parallel blocks of
//!   rows, with the same bits either way.

pub(crate) mod binning;
mod boost;
mod cover;
mod grow;
mod hist;
mod model;
mod objective;
mod splitter;

use serde::{Deserialize, Serialize};

pub use model::{GbdtModel, ImportanceKind};
pub(crate) use objective::softmax_into;

use crate::{Error, Estimator, Params, Result, TrainData};

/// Gradient-boosting hyperparameters (LightGBM's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GbdtParams {
    /// Boosting rounds (trees per output).
    pub n_estimators: usize,
    /// Shrinkage applied to every tree's outputs.
    pub learning_rate: f64,
    /// Most leaves per tree.
    pub num_leaves: usize,
    /// Most depth per tree (`None`: unlimited).
    pub max_depth: Option<usize>,
    /// Fewest rows in a leaf.
    pub min_data_in_leaf: usize,
    /// Smallest sum of hessians in a leaf.
    pub min_sum_hessian_in_leaf: f64,
    /// L2 regularization of leaf outputs.
    pub lambda_l2: f64,
    /// Smallest gain for a split to be made.
    pub min_gain_to_split: f64,
    /// Fraction of features each tree may use (sampled per tree).
    pub feature_fraction: f64,
    /// Fraction of rows each tree sees when bagging.
    pub bagging_fraction: f64,
    /// Re-draw the bag every this many rounds (0: no bagging).
    pub bagging_freq: usize,
    /// Most bins per numeric feature (at most 255).
    pub max_bin: usize,
    /// Stop when the validation loss has not improved for this many rounds.
    pub early_stopping_rounds: Option<usize>,
    /// Fraction of rows held out for early stopping when `fit` gets no validation set
    /// (stratified by class for classification).
    pub validation_fraction: f64,
    /// Threads (`None`: all cores).
    pub n_threads: Option<usize>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Smoothing of the per-category gradient ratio that orders categories.
    pub cat_smooth: f64,
    /// Extra L2 regularization of many-vs-many categorical splits.
    pub cat_l2: f64,
    /// Most categories on the left of a categorical split.
    pub max_cat_threshold: usize,
    /// Fewest rows per group of categories in a categorical split.
    pub min_data_per_group: usize,
    /// Features with at most this many categories split one category against the rest.
    pub max_cat_to_onehot: usize,
}

impl Default for GbdtParams {
    fn default() -> Self {
        GbdtParams {
            n_estimators: 100,
            learning_rate: 0.1,
            num_leaves: 31,
            max_depth: None,
            min_data_in_leaf: 20,
            min_sum_hessian_in_leaf: 1e-3,
            lambda_l2: 0.0,
            min_gain_to_split: 0.0,
            feature_fraction: 1.0,
            bagging_fraction: 1.0,
            bagging_freq: 0,
            max_bin: 255,
            early_stopping_rounds: None,
            validation_fraction: 0.1,
            n_threads: None,
            seed: 0,
            cat_smooth: 10.0,
            cat_l2: 10.0,
            max_cat_threshold: 32,
            min_data_per_group: 100,
            max_cat_to_onehot: 4,
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

fn non_negative(name: &str, v: f64) -> Result<()> {
    if !(v.is_finite() && v >= 0.0) {
        return Err(Error::param(
            name,
            format!("must be a finite number >= 0, got {v}"),
        ));
    }
    Ok(())
}

fn fraction(name: &str, v: f64) -> Result<()> {
    if !(v > 0.0 && v <= 1.0) {
        return Err(Error::param(name, format!("must be in (0, 1], got {v}")));
    }
    Ok(())
}

impl Params for GbdtParams {
    type Checked = Gbdt;

    fn check(&self) -> Result<Gbdt> {
        let p = self;
        at_least("n_estimators", p.n_estimators, 1)?;
        if !(p.learning_rate.is_finite() && p.learning_rate > 0.0) {
            return Err(Error::param(
                "learning_rate",
                format!("must be a finite number > 0, got {}", p.learning_rate),
            ));
        }
        at_least("num_leaves", p.num_leaves, 2)?;
        if p.num_leaves > 131_072 {
            return Err(Error::param(
                "num_leaves",
                format!("must be at most 131072, got {}", p.num_leaves),
            ));
        }
        if let Some(d) = p.max_depth {
            at_least("max_depth", d, 1)?;
        }
        at_least("min_data_in_leaf", p.min_data_in_leaf, 1)?;
        if p.min_data_in_leaf > u32::MAX as usize / 2 {
            return Err(Error::param(
                "min_data_in_leaf",
                format!(
                    "must be at most {}, got {}",
                    u32::MAX / 2,
                    p.min_data_in_leaf
                ),
            ));
        }
        non_negative("min_sum_hessian_in_leaf", p.min_sum_hessian_in_leaf)?;
        non_negative("lambda_l2", p.lambda_l2)?;
        non_negative("min_gain_to_split", p.min_gain_to_split)?;
        fraction("feature_fraction", p.feature_fraction)?;
        fraction("bagging_fraction", p.bagging_fraction)?;
        if !(2..=255).contains(&p.max_bin) {
            return Err(Error::param(
                "max_bin",
                format!("must be in 2..=255, got {}", p.max_bin),
            ));
        }
        if let Some(r) = p.early_stopping_rounds {
            at_least("early_stopping_rounds", r, 1)?;
        }
        if !(p.validation_fraction > 0.0 && p.validation_fraction < 1.0) {
            return Err(Error::param(
                "validation_fraction",
                format!("must be in (0, 1), got {}", p.validation_fraction),
            ));
        }
        if let Some(t) = p.n_threads {
            at_least("n_threads", t, 1)?;
        }
        non_negative("cat_smooth", p.cat_smooth)?;
        non_negative("cat_l2", p.cat_l2)?;
        at_least("max_cat_threshold", p.max_cat_threshold, 1)?;
        at_least("min_data_per_group", p.min_data_per_group, 1)?;
        if p.min_data_per_group > u32::MAX as usize {
            return Err(Error::param(
                "min_data_per_group",
                format!("must be at most {}, got {}", u32::MAX, p.min_data_per_group),
            ));
        }
        at_least("max_cat_to_onehot", p.max_cat_to_onehot, 1)?;
        Ok(Gbdt { params: p.clone() })
    }
}

/// Checked gradient-boosting hyperparameters, ready to fit.
#[derive(Debug, Clone)]
pub struct Gbdt {
    params: GbdtParams,
}

impl Gbdt {
    /// The hyperparameters.
    pub fn params(&self) -> &GbdtParams {
        &self.params
    }
}

impl Estimator for Gbdt {
    type Fitted = GbdtModel;

    /// Fits; with `early_stopping_rounds` set, stops on the validation loss of `valid`, or
    /// of `validation_fraction` of the training rows held out when `valid` is `None`. A given
    /// `valid` is also scored every round (see [`GbdtModel::eval_history`]).
    fn fit(&self, train: &TrainData<'_>, valid: Option<&TrainData<'_>>) -> Result<GbdtModel> {
        boost::fit(&self.params, train, valid)
    }
}
