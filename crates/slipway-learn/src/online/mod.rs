//! Online learning: models that learn one row at a time.
//!
//! - [`linear`]: the streaming [`linear::StandardScaler`] and online
//!   [`linear::LogisticRegression`] (SGD), equal to River's.
//! - [`tree`]: the Hoeffding tree classifier (Gaussian split observers, naive-Bayes-adaptive
//!   leaves), as River's `tree.HoeffdingTreeClassifier`.
//! - [`forest`]: the adaptive random forest classifier (Poisson bagging, random feature
//!   subsets per leaf, ADWIN warning/drift detectors that grow and swap background trees).
//! - [`tree_regressor`]: the Hoeffding tree regressor (truncated E-BST observers,
//!   variance reduction, adaptive mean/linear leaves), as River's
//!   `tree.HoeffdingTreeRegressor`.
//! - [`forest_regressor`]: the adaptive random forest regressor, as River's
//!   `forest.ARFRegressor`.
//! - [`model`]: `type: online` in a pipeline: [`model::OnlineParams`] checked and fitted
//!   into a serializable [`model::OnlineModel`] that predicts and keeps learning.
//! - [`adwin`]: the ADWIN detector the forest uses, and the [`adwin::DriftDetector`] trait.
//!
//! Progressive validation over a stream and the other drift detectors are in
//! `slipway_monitor::online`.

pub mod adwin;
pub mod forest;
pub mod forest_regressor;
pub mod linear;
pub mod model;
mod rng;
pub mod tree;
pub mod tree_regressor;
