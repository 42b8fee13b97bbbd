//! The store's error type: what the caller did wrong, kept apart from what broke inside.

/// Whether an error is the caller's to fix or a failure inside the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A missing resource, a duplicate name, an invalid value: the caller can fix it.
    User,
    /// The database or the filesystem failed; the caller could not have prevented it.
    Internal,
}

/// Everything a store operation can fail with.
///
/// `Display` of the user variants is safe to show to a client; the internal variants keep
/// their source for logs, and servers must show a generic message instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The named resource does not exist (or is not visible).
    #[error("{0}")]
    NotFound(String),
    /// A resource with this name already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// A value breaks a rule: names the field and the rule.
    #[error("{0}")]
    InvalidParameter(String),
    /// An upload is larger than the configured limit: names the limit.
    #[error("{0}")]
    TooLarge(String),
    /// The metadata database failed.
    #[error("metadata database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Reading or writing an artifact or the home folder failed.
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// An invariant inside the store broke.
    #[error("internal store error: {0}")]
    Internal(String),
}

impl Error {
    /// Whether the caller can fix this.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound(_)
            | Error::AlreadyExists(_)
            | Error::InvalidParameter(_)
            | Error::TooLarge(_) => ErrorKind::User,
            Error::Database(_) | Error::Io(_) | Error::Internal(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidParameter(message.into())
    }
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
