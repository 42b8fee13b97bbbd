//! The index of the prediction log: one row per Parquet segment the inference server wrote
//! under the artifact store's `_prediction_log/` (predictions of one model version, or a batch
//! of feedback), with the range of prediction ids and times it holds. Readers (feedback
//! checks, `predictions export`, retention) find the segments they need with one query
//! instead of listing folders.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogSegmentKind {
    /// Scored rows of one model version.
    Predictions,
    /// Delayed ground truth, by prediction id.
    Feedback,
}

impl LogSegmentKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            LogSegmentKind::Predictions => "predictions",
            LogSegmentKind::Feedback => "feedback",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "predictions" => Ok(LogSegmentKind::Predictions),
            "feedback" => Ok(LogSegmentKind::Feedback),
            other => Err(Error::Internal(format!(
                "unknown prediction log segment kind {other:?}"
            ))),
        }
    }
}

/// One segment of the prediction log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSegment {
    /// Its path under the artifact root (`_prediction_log/...parquet`); unique.
    pub path: String,
    /// Predictions or feedback.
    pub kind: LogSegmentKind,
    /// The served model's name (empty for feedback).
    pub model: String,
    /// The model version (empty for feedback).
    pub version: String,
    /// Rows in the segment.
    pub rows: i64,
    /// The smallest and largest prediction id in it (hyphenated UUIDs: their text order is
    /// their time order for UUIDv7).
    pub min_id: String,
    /// See `min_id`.
    pub max_id: String,
    /// Time of its first and last row (UTC milliseconds): scoring time for predictions,
    /// arrival time for feedback.
    pub first_ms: i64,
    /// See `first_ms`.
    pub last_ms: i64,
}

/// Which segments to find; every condition given must hold.
#[derive(Debug, Clone)]
pub struct LogSegmentQuery {
    /// Predictions or feedback.
    pub kind: LogSegmentKind,
    /// Only this model.
    pub model: Option<String>,
    /// Only this version.
    pub version: Option<String>,
    /// Segments with a row at or after this time (their `last_ms` ≥ it).
    pub since_ms: Option<i64>,
    /// Segments with a row before this time (their `first_ms` < it).
    pub until_ms: Option<i64>,
    /// Segments whose id range overlaps `[from, to]` (hyphenated UUIDs).
    pub ids: Option<(String, String)>,
}

impl LogSegmentQuery {
    /// Every segment of `kind`.
    pub fn all(kind: LogSegmentKind) -> Self {
        LogSegmentQuery {
            kind,
            model: None,
            version: None,
            since_ms: None,
            until_ms: None,
            ids: None,
        }
    }
}

/// Checks a segment before it is stored.
pub(crate) fn check_segment(s: &LogSegment) -> Result<()> {
    if !s.path.starts_with(crate::PREDICTION_LOG_ROOT) || !s.path.ends_with(".parquet") {
        return Err(Error::invalid(format!(
            "a prediction log segment must be a .parquet object under {}/",
            crate::PREDICTION_LOG_ROOT
        )));
    }
    if s.rows < 1 || s.min_id > s.max_id || s.first_ms > s.last_ms {
        return Err(Error::invalid(
            "a prediction log segment holds at least one row, with min_id ≤ max_id and \
             first_ms ≤ last_ms",
        ));
    }
    for text in [&s.path, &s.model, &s.version, &s.min_id, &s.max_id] {
        if text.contains('\0') {
            return Err(Error::invalid(
                "prediction log segment fields cannot contain NUL",
            ));
        }
    }
    Ok(())
}
