//! The tracking entities: experiments, runs, params, metrics and tags, and the queries over them.

use crate::error::{Error, Result};
use crate::search::{OrderBy, RunFilter};

/// Whether an experiment or run is live or in the trash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleStage {
    /// Live.
    Active,
    /// Deleted (restorable).
    Deleted,
}

impl LifecycleStage {
    /// The wire and database spelling: `active` or `deleted`.
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::Active => "active",
            LifecycleStage::Deleted => "deleted",
        }
    }

    /// Parses the database spelling.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "active" => Ok(LifecycleStage::Active),
            "deleted" => Ok(LifecycleStage::Deleted),
            other => Err(Error::Internal(format!(
                "unknown lifecycle stage {other:?}"
            ))),
        }
    }
}

/// Which lifecycle stages a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewType {
    /// Only live ones (the default).
    #[default]
    ActiveOnly,
    /// Only deleted ones.
    DeletedOnly,
    /// Both.
    All,
}

impl ViewType {
    /// Parses `ACTIVE_ONLY`, `DELETED_ONLY` or `ALL`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "ACTIVE_ONLY" => Ok(ViewType::ActiveOnly),
            "DELETED_ONLY" => Ok(ViewType::DeletedOnly),
            "ALL" => Ok(ViewType::All),
            other => Err(Error::invalid(format!(
                "view type {other:?} is not one of ACTIVE_ONLY, DELETED_ONLY, ALL"
            ))),
        }
    }

    pub(crate) fn stages(self) -> &'static [&'static str] {
        match self {
            ViewType::ActiveOnly => &["active"],
            ViewType::DeletedOnly => &["deleted"],
            ViewType::All => &["active", "deleted"],
        }
    }
}

/// The state of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Still going.
    Running,
    /// Queued, not started.
    Scheduled,
    /// Ended well.
    Finished,
    /// Ended with an error.
    Failed,
    /// Stopped by the user.
    Killed,
}

impl RunStatus {
    /// The wire spelling (`RUNNING`, `FINISHED`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "RUNNING" => Ok(RunStatus::Running),
            "SCHEDULED" => Ok(RunStatus::Scheduled),
            "FINISHED" => Ok(RunStatus::Finished),
            "FAILED" => Ok(RunStatus::Failed),
            "KILLED" => Ok(RunStatus::Killed),
            other => Err(Error::invalid(format!(
                "run status {other:?} is not one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED"
            ))),
        }
    }
}

/// A key and a string value: a run or experiment tag, or a run param.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

impl KeyValue {
    /// A pair.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// One logged metric value.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The metric name.
    pub key: String,
    /// The value (may be NaN or infinite).
    pub value: f64,
    /// When it was measured, epoch milliseconds.
    pub timestamp: i64,
    /// The training step.
    pub step: i64,
}

/// A metric value that also measures a logged model (MLflow 3 metrics carry `model_id`, and
/// `dataset_name` / `dataset_digest` of the data they were computed on).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelMetric {
    /// The value.
    pub metric: Metric,
    /// The logged model it measures.
    pub model_id: String,
    /// The dataset it was computed on.
    pub dataset_name: Option<String>,
    /// That dataset's digest.
    pub dataset_digest: Option<String>,
}

/// An experiment: a named group of runs with an artifact location.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Its id (a decimal number, as a string on the wire).
    pub experiment_id: String,
    /// Its unique name.
    pub name: String,
    /// Where its runs' artifacts go (`mlflow-artifacts:/<id>` by default).
    pub artifact_location: String,
    /// Live or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Epoch milliseconds.
    pub creation_time: i64,
    /// Epoch milliseconds.
    pub last_update_time: i64,
    /// Its tags, in the order first set.
    pub tags: Vec<KeyValue>,
}

/// What a new experiment needs.
#[derive(Debug, Clone, Default)]
pub struct NewExperiment {
    /// The unique name.
    pub name: String,
    /// An explicit artifact location; `None` gives `mlflow-artifacts:/<id>`.
    pub artifact_location: Option<String>,
    /// Initial tags.
    pub tags: Vec<KeyValue>,
}

/// A run's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// The run id: 32 lowercase hex digits.
    pub run_id: String,
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// Its display name.
    pub run_name: String,
    /// Who started it.
    pub user_id: String,
    /// Its state.
    pub status: RunStatus,
    /// Epoch milliseconds.
    pub start_time: Option<i64>,
    /// Epoch milliseconds, once ended.
    pub end_time: Option<i64>,
    /// Where its artifacts go.
    pub artifact_uri: String,
    /// Live or deleted.
    pub lifecycle_stage: LifecycleStage,
}

/// A run: its metadata, the latest value of each metric, its params and tags.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Metadata.
    pub info: RunInfo,
    /// Latest value per metric key (highest step, then latest timestamp).
    pub metrics: Vec<Metric>,
    /// Params, in the order logged.
    pub params: Vec<KeyValue>,
    /// Tags, in the order first set.
    pub tags: Vec<KeyValue>,
    /// Models this run produced, with the step they were logged at.
    pub model_outputs: Vec<ModelOutput>,
    /// Datasets this run consumed, in the order first logged.
    pub dataset_inputs: Vec<DatasetInput>,
    /// Logged models this run consumed (their ids), in the order first logged.
    pub model_inputs: Vec<String>,
}

/// A dataset as MLflow describes it: its source and, optionally, schema and profile, each
/// a text the client composed (usually JSON). Within an experiment, name and digest
/// identify it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// Its name.
    pub name: String,
    /// A hash of its content (at most 36 characters).
    pub digest: String,
    /// What kind of source it came from (`local`, `http`, `code`, ...).
    pub source_type: String,
    /// Where it came from.
    pub source: String,
    /// Its schema.
    pub schema: Option<String>,
    /// Summary statistics.
    pub profile: Option<String>,
}

/// A dataset a run consumed, with the input's tags (such as `mlflow.data.context`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetInput {
    /// The dataset.
    pub dataset: Dataset,
    /// Tags of this use of it.
    pub tags: Vec<KeyValue>,
}

/// A logged model recorded as a run's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelOutput {
    /// The logged model's id.
    pub model_id: String,
    /// The step it was logged at.
    pub step: i64,
}

/// What a new run needs.
#[derive(Debug, Clone, Default)]
pub struct NewRun {
    /// The experiment it goes in.
    pub experiment_id: String,
    /// Who starts it.
    pub user_id: String,
    /// Its name; `None` takes the `mlflow.runName` tag or a generated name.
    pub run_name: Option<String>,
    /// Epoch milliseconds; `None` is now.
    pub start_time: Option<i64>,
    /// Initial tags.
    pub tags: Vec<KeyValue>,
}

/// Changes to a run's metadata; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RunUpdate {
    /// New status.
    pub status: Option<RunStatus>,
    /// End time, epoch milliseconds.
    pub end_time: Option<i64>,
    /// New name (also updates the `mlflow.runName` tag).
    pub run_name: Option<String>,
}

/// Params, metrics and tags written to a run together, all or nothing.
#[derive(Debug, Clone, Default)]
pub struct LogBatch {
    /// Metric values.
    pub metrics: Vec<Metric>,
    /// Params (re-logging the same value is allowed, a different value is not).
    pub params: Vec<KeyValue>,
    /// Tags (set or overwrite).
    pub tags: Vec<KeyValue>,
    /// Values that also measure logged models (each is in `metrics` too, as in MLflow: the
    /// run has the value, and so does the model).
    pub model_metrics: Vec<ModelMetric>,
}

/// One page of results and the token for the next, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Pass back to get the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

/// A search over runs.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    /// Experiments to search in.
    pub experiment_ids: Vec<String>,
    /// Clauses that every returned run satisfies.
    pub filter: RunFilter,
    /// Sort keys, most significant first; ties fall back to start time (newest first), then id.
    pub order_by: Vec<OrderBy>,
    /// Live runs, deleted ones or both.
    pub view_type: ViewType,
    /// Page size.
    pub max_results: usize,
    /// Token from the previous page.
    pub page_token: Option<String>,
}

/// A search over experiments.
#[derive(Debug, Clone, Default)]
pub struct ExperimentQuery {
    /// Clauses that every returned experiment satisfies.
    pub filter: crate::search::ExperimentFilter,
    /// Sort keys, most significant first; ties fall back to creation time (newest first), then id.
    pub order_by: Vec<OrderBy>,
    /// Live experiments, deleted ones or both.
    pub view_type: ViewType,
    /// Page size.
    pub max_results: usize,
    /// Token from the previous page.
    pub page_token: Option<String>,
}

/// Opaque page tokens: the hex of `offset:<n>`.
pub(crate) mod page_token {
    use crate::error::{Error, Result};

    pub(crate) fn encode(offset: usize) -> String {
        hex::encode(format!("offset:{offset}"))
    }

    pub(crate) fn decode(token: Option<&str>) -> Result<usize> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Ok(0);
        };
        let bad = || Error::invalid("invalid page_token: pass back a token this server returned");
        let bytes = hex::decode(token).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        text.strip_prefix("offset:")
            .and_then(|n| n.parse().ok())
            .ok_or_else(bad)
    }
}
