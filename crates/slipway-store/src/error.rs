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
    Database(sqlx::Error),
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

impl From<sqlx::Error> for Error {
    /// A database error, except that PostgreSQL's refusal of U+0000 in text (SQLSTATE 22021,
    /// or 22P05 in JSON) is the caller's: the validation layer names the field where it can,
    /// and this keeps any path it missed a 400 rather than a 500.
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                return Error::invalid(
                    "a text value contains a NUL character (U+0000) or another byte sequence \
                     that text may not hold",
                );
            }
        }
        Error::Database(e)
    }
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
