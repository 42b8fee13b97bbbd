//! The learning core's error type.

/// Whether an error is the user's to fix or a failure inside Slipway.
pub use slipway_data::ErrorKind;

/// Everything that can go wrong fitting, predicting, scoring or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A hyperparameter is out of range; names the parameter and the rule.
    #[error("invalid parameter {name}: {rule}")]
    InvalidParam {
        /// The parameter, as spelled in the config.
        name: String,
        /// The rule it broke, with the value.
        rule: String,
    },
    /// The data cannot be used for this operation (too few rows, one class only, NaN in a
    /// model that does not accept it, shapes that disagree, ...).
    #[error("invalid data: {0}")]
    InvalidData(String),
    /// Input at predict time does not match what the model was fitted on.
    #[error("input does not match the model: {0}")]
    SchemaMismatch(String),
    /// A model bundle that cannot be read: unknown format version, corrupt file, missing part.
    #[error("model bundle {path}: {message}")]
    Bundle {
        /// The bundle directory or file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A bundle whose files are intact (every checksum matches) but cannot be read, or does
    /// not predict what the model it was written from did: Slipway wrote it wrongly.
    #[error(
        "model bundle {path}: {file}: {message}. Its checksums match, so Slipway wrote it this way: this is a bug in Slipway; please report it with this message"
    )]
    BundleDefect {
        /// The bundle directory.
        path: String,
        /// The file at fault (`pipeline.json`, ...).
        file: String,
        /// What is wrong with it.
        message: String,
    },
    /// A model file from another library (LightGBM, XGBoost) that cannot be imported or
    /// written: names the file, where in it (line, tree, field) and the rule broken.
    #[error("model file {path}: {at}: {message}")]
    ModelFile {
        /// The model file.
        path: String,
        /// Where in it: a line, a tree and field, or a JSON path.
        at: String,
        /// The rule broken.
        message: String,
    },
    /// A model needs a part of Slipway this build left out (a Cargo feature that is off).
    #[error("{message}")]
    NotCompiled {
        /// The Cargo feature (`onnx`).
        feature: &'static str,
        /// What needs it and how to rebuild.
        message: String,
    },
    /// The optimizer did not converge and the caller asked for that to be an error.
    #[error("{0}")]
    NotConverged(String),
    /// From the data layer.
    #[error(transparent)]
    Data(#[from] slipway_data::Error),
    /// A failure inside Slipway.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Whether the user can fix this.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Data(e) => e.kind(),
            Error::Internal(_) | Error::BundleDefect { .. } => ErrorKind::Internal,
            Error::InvalidParam { .. }
            | Error::InvalidData(_)
            | Error::SchemaMismatch(_)
            | Error::Bundle { .. }
            | Error::ModelFile { .. }
            | Error::NotCompiled { .. }
            | Error::NotConverged(_) => ErrorKind::User,
        }
    }

    /// Shorthand for [`Error::InvalidParam`].
    pub fn param(name: &str, rule: impl Into<String>) -> Self {
        Error::InvalidParam {
            name: name.to_string(),
            rule: rule.into(),
        }
    }
}

/// The learning core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
