//! Online learning over streams: the learners (from `slipway_learn::online`), streaming drift
//! detectors, and progressive validation.
//!
//! - [`detect`]: ADWIN, Page-Hinkley, DDM and KSWIN with River's semantics and defaults.
//! - [`linear`], [`tree`], [`forest`]: the online learners, re-exported from
//!   `slipway_learn::online` (where bundles can hold them).
//! - [`stream`]: rows of a JSON-lines stream, and [`stream::Progressive`], test-then-train
//!   validation with periodic metrics and detector alarms.

pub mod detect;
pub use slipway_learn::online::{forest, linear, tree};
pub mod stream;
