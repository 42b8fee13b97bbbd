//! Slipway's learning core.
//!
//! - [`Matrix`], [`Target`] and [`TrainData`] are what estimators consume.
//! - `*Params` structs ([`Params`]) are checked once into an [`Estimator`], whose `fit`
//!   returns a separate fitted type implementing [`Predictor`].
//! - [`gbdt`] is the histogram gradient-boosting machine; [`linear`] holds linear, ridge and
//!   logistic regression; [`svm`] holds support vector machines; [`metrics`] and [`split`]
//!   score and cross-validate them.
//! - [`tree`] holds decision trees, random forests and extra trees (histogram CART).
//! - [`preprocess`] turns a table into a matrix (imputation, scaling, encoding), fitted on
//!   training rows only; [`pipeline::FittedPipeline`] joins it with a fitted model, and
//!   [`bundle`] stores that pipeline on disk.
//! - [`import`] reads LightGBM and XGBoost models into a pipeline evaluated as those
//!   libraries do, and writes Slipway GBDT models as LightGBM text.
//! - [`search`] runs grid / random / successive-halving hyperparameter searches;
//!   [`calibration`], [`threshold`] and [`class_weight`] calibrate probabilities, tune the
//!   binary decision threshold and weight imbalanced classes; [`mixture`] is the randomized
//!   mixture of binary models that fairness mitigation by exponentiated gradient fits.

pub mod bundle;
pub mod calibration;
pub mod class_weight;
pub mod cluster;
mod error;
mod estimator;
pub mod exact_json;
pub mod gbdt;
mod gemm;
pub mod import;
pub mod linear;
mod matrix;
pub mod metrics;
pub mod mixture;
pub mod mlp;
pub mod naive_bayes;
pub mod neighbors;
pub mod online;
pub mod pipeline;
pub mod preprocess;
mod quickscorer;
pub mod search;
pub mod split;
pub mod svm;
pub mod threshold;
pub mod tree;
pub mod trees;

pub use error::{Error, ErrorKind, Result};
pub use estimator::{
    Estimator, FeatureKind, FeatureMeta, Params, Prediction, Predictor, Target, Task, TrainData,
};
pub use matrix::Matrix;
