//! The engine's error type: what the CLI and the server turn into exit codes and statuses.

use slipway_data::validate::ValidationReport;

pub use slipway_data::ErrorKind;

/// Everything a lifecycle operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file is unreadable or inconsistent.
    #[error("{path}: {message}")]
    Config {
        /// The config file.
        path: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// The data broke validation rules; the report lists every one.
    #[error("data validation failed: {} rule(s) broken", .0.violations.len())]
    Validation(Box<ValidationReport>),
    /// From the data layer.
    #[error(transparent)]
    Data(#[from] slipway_data::Error),
    /// From the learning core.
    #[error(transparent)]
    Learn(#[from] slipway_learn::Error),
    /// From the explainers.
    #[error(transparent)]
    Explain(slipway_explain::Error),
    /// An output could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// From the monitoring rules (a retrain policy, drift of the retraining data).
    #[error(transparent)]
    Monitor(#[from] slipway_monitor::Error),
    /// A step of a retrain failed (the policy's data, the registry, the deployment); the
    /// message names the policy field or the step.
    #[error("{0}")]
    Retrain(String),
    /// A failure inside Slipway.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Whether the user can fix this.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Data(e) => e.kind(),
            Error::Learn(e) => e.kind(),
            Error::Explain(e) => e.kind(),
            Error::Monitor(e) => match e.kind() {
                slipway_monitor::ErrorKind::User => ErrorKind::User,
                slipway_monitor::ErrorKind::Internal => ErrorKind::Internal,
            },
            Error::Internal(_) => ErrorKind::Internal,
            Error::Retrain(_) | Error::Config { .. } | Error::Validation(_) | Error::Io { .. } => {
                ErrorKind::User
            }
        }
    }

    /// A short hint for the user, where one helps.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Config { .. } => Some(
                "the error names the file, line and column and the key; a misspelled key's message lists the keys allowed there",
            ),
            Error::Validation(_) => {
                Some("fix the data or relax the rules under `validation:` in the config")
            }
            Error::Data(slipway_data::Error::MissingColumn { .. }) => {
                Some("check the column names in the file header and in the config")
            }
            Error::Learn(slipway_learn::Error::SchemaMismatch(_)) => Some(
                "the input needs the model's input columns (the signature in the bundle's MLmodel file); other columns are ignored",
            ),
            Error::Explain(slipway_explain::Error::NoCovers(_)) => Some(
                "retrain the model with this version of Slipway (or import the model file again); bundles written before node covers were kept cannot be explained",
            ),
            Error::Explain(slipway_explain::Error::Unsupported(m))
                if m.starts_with("SHAP interaction values") =>
            {
                Some(
                    "--interactions takes tree models (gbdt, random_forest, extra_trees, decision_tree, imported LightGBM / XGBoost), without --background; any model: --method exact|kernel --background FILE, --method lime --background TRAIN_FILE, or `explain pdp --feature A --feature2 B`",
                )
            }
            Error::Explain(slipway_explain::Error::Unsupported(_)) => Some(
                "tree models (gbdt, random_forest, extra_trees, decision_tree, imported LightGBM / XGBoost) are explained as they are; linear and logistic models with --background FILE; any model with at most 12 input columns by exact Shapley values (--method exact --background FILE), any model by sampled KernelSHAP (--method kernel --background FILE)",
            ),
            _ => None,
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

impl From<slipway_explain::Error> for Error {
    fn from(e: slipway_explain::Error) -> Self {
        match e {
            // Reading and preprocessing errors keep their own kinds and hints.
            slipway_explain::Error::Learn(e) => Error::Learn(e),
            e => Error::Explain(e),
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
