//! Slipway's monitoring: drift of current data against a reference.
//!
//! Data flows through it like this:
//!
//! - [`summary::ReferenceSummary`] is built once from the reference ([`summary::ReferenceSummary::from_table`],
//!   or a bundle's training profile with [`summary::ReferenceSummary::from_profile`]), saved
//!   as JSON and reused.
//! - [`run::drift_file`] streams the current file, cuts it into chunks ([`run::Chunking`]:
//!   rows or calendar periods) and compares each column of each chunk with the summary
//!   ([`drift::compare_column`], statistics in [`stats`], p-values in [`special`]); then
//!   [`drift::decide`] applies the thresholds of [`drift::DriftOptions`] (effect sizes by
//!   default; p-values corrected across the chunk's features).
//! - The [`run::DriftReport`] is printed, written as JSON, or as a self-contained HTML page
//!   with [`report::render_html`] (summaries only, never rows).
//!
//! Every statistic equals its reference library to 1e-9 (`tests/reference/`): KS and
//! Wasserstein as scipy, chi-square as `scipy.stats.chi2_contingency`, Jensen–Shannon as
//! `scipy.spatial.distance.jensenshannon` (base 2) on NannyML's bins, Hellinger and
//! L-infinity as NannyML.

pub mod alerts;
pub mod calibrate;
/// `slipway monitor report`: drift, performance and alerts on one page.
pub mod combined;
pub mod dle;
pub mod drift;
pub mod fairness;
pub mod multivariate;
/// Online learners and streaming drift detectors.
pub mod online;
pub mod performance;
/// The HTML performance report.
pub mod performance_report;
/// The HTML drift report.
pub mod report;
/// Retraining: the policy, its triggers, the paired comparison and the deployment decision.
pub mod retrain;
pub mod run;
/// Scheduled monitors over the prediction log (`slipway serve --monitors`).
pub mod scheduled;
pub mod special;
pub mod stats;
pub mod summary;
mod tally;

/// Whether an error is the user's to fix or a failure inside Slipway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: a file, a column, an option.
    User,
    /// Something broke inside.
    Internal,
}

/// What can go wrong computing drift.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading data failed (the data layer's error, with its kind).
    #[error(transparent)]
    Data(#[from] slipway_data::Error),
    /// Loading a model bundle failed.
    #[error(transparent)]
    Bundle(#[from] slipway_learn::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The input cannot be compared (a type mismatch, no rows, a bad summary file).
    #[error("{message}")]
    BadInput {
        /// What is wrong, naming the column.
        message: String,
    },
    /// A failure inside Slipway.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Whose problem it is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Data(e) => match e.kind() {
                slipway_data::ErrorKind::User => ErrorKind::User,
                slipway_data::ErrorKind::Internal => ErrorKind::Internal,
            },
            Error::Bundle(e) => match e.kind() {
                slipway_data::ErrorKind::User => ErrorKind::User,
                slipway_data::ErrorKind::Internal => ErrorKind::Internal,
            },
            Error::Io { .. } | Error::BadInput { .. } => ErrorKind::User,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Writes `bytes` to a temporary file next to `path` and renames it over `path`.
pub(crate) fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    // A temporary file is private (0600); the output is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(io)?;
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
