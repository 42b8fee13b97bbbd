//! The rollout crate's error type.

/// Whether an error is the user's to fix or a failure inside Slipway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: a file, a column, a value or an option the user supplied.
    User,
    /// Something broke that the user could not have prevented (an internal failure of the
    /// data layer underneath).
    Internal,
}

/// Everything that can go wrong computing a readout or a canary decision.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the exposures file failed.
    #[error(transparent)]
    Data(#[from] slipway_data::Error),
    /// The input breaks a rule (an unknown column, a third arm, a non-numeric outcome, an
    /// arm without rows, an option out of range); the message names the thing and the rule.
    #[error("{0}")]
    Invalid(String),
    /// Writing a report failed (a missing folder, no permission: the user's to fix, as
    /// `slipway_data` treats its own I/O errors).
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// User mistake or internal failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Data(e) => match e.kind() {
                slipway_data::ErrorKind::User => ErrorKind::User,
                slipway_data::ErrorKind::Internal => ErrorKind::Internal,
            },
            Error::Invalid(_) | Error::Io { .. } => ErrorKind::User,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
