//! Slipway's deployment strategies: who sees which model, and whether the new one is better.
//!
//! - [`assign`]: sticky A/B assignment, `md5(key) mod 100 < split` → arm B ([`assign::Arm`]).
//! - [`stats`]: the statistics, equal to scipy / statsmodels to 1e-9: sample-ratio mismatch,
//!   two-proportion z-test, Welch, CUPED, the mSPRT's always-valid p-values, Mann–Whitney.
//! - [`readout`]: an experiment's exposures and outcomes (columns of a file) → a
//!   [`readout::Readout`] (counts, SRM overall and per segment, the test that fits the
//!   outcome, CUPED, mSPRT, interval, lift) and its [`readout::Recommendation`]; the
//!   file-reading entry point [`readout::readout_file`]; [`report`] renders it as HTML / JSON.
//! - [`logged`]: a deployment's exposures and outcomes gathered from the prediction log's
//!   segments (the arm of each logged prediction, the latest feedback by prediction id, the
//!   named covariate and segment fields) → [`logged::LogReadout`].
//! - [`canary`]: fail-safe canary analysis of one window (`Healthy` / `Unhealthy` /
//!   `Inconclusive`, each with the values it was made on) and the step controller, a pure
//!   state machine.
//! - [`bluegreen`]: the smoke test's verdict on green's answers to recorded requests, and
//!   the blue's instant-rollback window.
//! - [`deployment`]: a deployment's plan (model, champion, challenger, strategy and its
//!   parameters), state (status, the challenger's share) and the events of its lifecycle
//!   (created, step up, paused, rolled back, promoted, ended), as pure transitions.
//!
//! Serving-side routing and the deployment store use these; nothing here does I/O except
//! [`readout::readout_file`] and [`report::write_report`].

pub mod assign;
pub mod bluegreen;
pub mod canary;
pub mod deployment;
mod error;
pub mod logged;
pub mod readout;
pub mod report;
pub mod stats;

pub use error::{Error, ErrorKind, Result};
