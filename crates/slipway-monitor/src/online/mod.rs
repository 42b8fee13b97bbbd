//! Online learning over streams: the learners (from `slipway_learn::online`), streaming drift
//! detectors, and progressive validation.
//!
//! - [`detect`]: ADWIN, Page-Hinkley, DDM and KSWIN with River's semantics and defaults.
//! - [`linear`], [`tree`], [`forest`]: the online learners, re-exported from
//!   `slipway_learn::online` (where bundles can hold them).
//! - [`tree_regressor`], [`forest_regressor`]: the Hoeffding tree and adaptive random
//!   forest regressors, re-exported likewise.
//! - [`regress`]: progressive validation of a regressor over a JSON-lines stream (MAE, RMSE,
//!   R2; a detector on the absolute errors).
//! - [`stream`]: rows of a JSON-lines stream, and [`stream::Progressive`], test-then-train
//!   validation with periodic metrics and detector alarms.

pub mod detect;
pub use slipway_learn::online::{forest, forest_regressor, linear, tree, tree_regressor};
pub mod regress;
pub mod stream;
