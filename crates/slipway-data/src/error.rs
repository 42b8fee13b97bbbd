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
    /// A value in rows given in memory (a request) does not fit its column's type. `row` is
    /// the 0-based index of the row among those given.
    #[error("row {row}, column \"{column}\": value \"{value}\" is not {expected}")]
    BadValue {
        /// 0-based row index.
        row: usize,
        /// The column.
        column: String,
        /// The value as given (at most 200 characters).
        value: String,
        /// What the column needs ("a number", "an integer", ...).
        expected: String,
    },
    /// A row given in memory is malformed (a repeated column, the wrong number of values, a
    /// nested value). `row` is its 0-based index.
    #[error("row {row}: {message}")]
    BadRow {
        /// 0-based row index.
        row: usize,
        /// The rule broken, naming the column where there is one.
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
    /// A column the caller asked for does not exist. The message suggests the closest
    /// existing name when one is close (a typo).
    #[error(
        "column \"{name}\" not found{}; the columns are: {available}",
        suggestion(name, available)
    )]
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
            | Error::BadValue { .. }
            | Error::BadRow { .. }
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

/// `; did you mean "x"?` for the name among `available` (comma-separated) closest to
/// `name`, or nothing when none is close.
fn suggestion(name: &str, available: &str) -> String {
    closest(name, available.split(", "))
        .map(|c| format!("; did you mean \"{c}\"?"))
        .unwrap_or_default()
}

/// The option closest to `name` by edit distance (ignoring case), when it is close enough
/// to be a typo: at most a third of the name's length away (and at least one edit allowed).
pub fn closest<'a>(name: &str, options: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let target: Vec<char> = name.to_lowercase().chars().collect();
    let limit = (target.len() / 3).max(1);
    options
        .into_iter()
        .filter(|o| !o.is_empty() && *o != name)
        .map(|o| {
            (
                edit_distance(&target, &o.to_lowercase().chars().collect::<Vec<_>>()),
                o,
            )
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| o)
}

/// Levenshtein distance between two character sequences.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_gets_the_closest_column() {
        let cols = ["age", "income", "education_num", "sex"];
        assert_eq!(closest("incme", cols), Some("income"));
        assert_eq!(closest("Income", cols), Some("income"));
        assert_eq!(closest("education-num", cols), Some("education_num"));
        assert_eq!(closest("salary", cols), None);
        let e = Error::MissingColumn {
            name: "incom".into(),
            available: cols.join(", "),
        };
        assert!(e.to_string().contains("did you mean \"income\"?"), "{e}");
    }
}
