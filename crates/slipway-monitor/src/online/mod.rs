//! Online learning: models that learn one row at a time, and streaming drift detectors.
//!
//! - [`detect`]: ADWIN, Page-Hinkley, DDM and KSWIN with River's semantics and defaults.
//! - [`linear`]: the streaming [`linear::StandardScaler`] and online
//!   [`linear::LogisticRegression`] (SGD), equal to River's.
//! - [`tree`]: the Hoeffding tree classifier (Gaussian split observers, naive-Bayes-adaptive
//!   leaves), as River's `tree.HoeffdingTreeClassifier`.
//! - [`forest`]: the adaptive random forest classifier (Poisson bagging, random feature
//!   subsets per leaf, ADWIN warning/drift detectors that grow and swap background trees).
//! - [`stream`]: rows of a JSON-lines stream, and [`stream::Progressive`], test-then-train
//!   validation with periodic metrics and detector alarms.

pub mod detect;
pub mod forest;
pub mod linear;
pub mod stream;
pub mod tree;
