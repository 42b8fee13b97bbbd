//! The data layer's error type.

/// Whether an error is the user's to fix or a failure inside Slipway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: a file, a config or a value the user supplied.
    User,
    /// Something broke that the user could not have prevented.
    Internal,
}

/// Everything that can go wrong reading, checking or profiling data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A value or record in a file is malformed. `line` is the 1-based line (CSV, JSON lines)
    /// or row (Parquet) where it was found.
    #[error("{path}:{line}: {message}")]
    Malformed {
        /// The file.
        path: String,
        /// 1-based line or row.
        line: u64,
        /// What rule was broken, naming the column where there is one.
        message: String,
    },
    /// A file has no rows or no header.
    #[error("{path}: {message}")]
    Empty {
        /// The file.
        path: String,
        /// What is missing.
        message: String,
    },
    /// A column the caller asked for does not exist.
    #[error("column \"{name}\" not found; the columns are: {available}")]
    MissingColumn {
        /// The missing column.
        name: String,
        /// The columns that do exist, comma-separated.
        available: String,
    },
    /// A column exists but has a type the operation cannot use.
    #[error("column \"{column}\" is {actual}, but {expected} is required")]
    WrongType {
        /// The column.
        column: String,
        /// What the operation needs.
        expected: String,
        /// What the column is.
        actual: String,
    },
    /// A schema or config is inconsistent.
    #[error("invalid schema: {0}")]
    InvalidSchema(String),
    /// A file cannot be decoded as its format at all (not Parquet, truncated, ...).
    #[error("{path}: {message}")]
    Unreadable {
        /// The file.
        path: String,
        /// What the decoder said.
        message: String,
    },
    /// Validation rules that contradict themselves (`min` above `max`, a fraction above 1).
    #[error("invalid validation rules: {0}")]
    InvalidRules(String),
    /// A file format that is not supported.
    #[error("{path}: unsupported format; use .csv, .tsv, .parquet, .jsonl or .ndjson")]
    UnsupportedFormat {
        /// The file.
        path: String,
    },
    /// An Arrow or Parquet operation failed inside Slipway.
    #[error("internal data error: {0}")]
    Internal(String),
}

impl Error {
    /// Whether the user can fix this.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Internal(_) => ErrorKind::Internal,
            Error::Io { .. }
            | Error::Malformed { .. }
            | Error::Empty { .. }
            | Error::MissingColumn { .. }
            | Error::WrongType { .. }
            | Error::InvalidSchema(_)
            | Error::Unreadable { .. }
            | Error::InvalidRules(_)
            | Error::UnsupportedFormat { .. } => ErrorKind::User,
        }
    }
}

impl From<arrow_schema::ArrowError> for Error {
    fn from(e: arrow_schema::ArrowError) -> Self {
        Error::Internal(e.to_string())
    }
}

/// The data layer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
