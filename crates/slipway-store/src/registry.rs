//! The model entities: logged models (what MLflow 3's `log_model` records) and the model
//! registry (registered models, their numbered versions, tags, aliases and stages).

use crate::error::{Error, Result};
use crate::model::{KeyValue, LifecycleStage, ModelMetric};
use crate::search::{ModelFilter, OrderBy};

/// A model version's (legacy) deployment stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelStage {
    /// No stage.
    None,
    /// Being tested.
    Staging,
    /// Serving.
    Production,
    /// Retired.
    Archived,
}

impl ModelStage {
    /// The wire and database spelling: `None`, `Staging`, `Production`, `Archived`.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelStage::None => "None",
            ModelStage::Staging => "Staging",
            ModelStage::Production => "Production",
            ModelStage::Archived => "Archived",
        }
    }

    /// Parses a stage, ignoring case as MLflow does.
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(ModelStage::None),
            "staging" => Ok(ModelStage::Staging),
            "production" => Ok(ModelStage::Production),
            "archived" => Ok(ModelStage::Archived),
            _ => Err(Error::invalid(format!(
                "Invalid Model Version stage: {s}. Value must be one of None, Staging, Production, Archived."
            ))),
        }
    }

    /// Every stage, in MLflow's order.
    pub const ALL: [ModelStage; 4] = [
        ModelStage::None,
        ModelStage::Staging,
        ModelStage::Production,
        ModelStage::Archived,
    ];
}

/// A registered model: a name that numbered versions hang under.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredModel {
    /// Its unique name.
    pub name: String,
    /// Epoch milliseconds.
    pub creation_timestamp: i64,
    /// Epoch milliseconds.
    pub last_updated_timestamp: i64,
    /// Free text (empty when unset).
    pub description: String,
    /// The newest version in each stage, by version number.
    pub latest_versions: Vec<ModelVersion>,
    /// Tags, in the order first set.
    pub tags: Vec<KeyValue>,
    /// `(alias, version)` pairs, by alias.
    pub aliases: Vec<(String, i64)>,
}

/// One numbered version of a registered model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersion {
    /// The registered model's name.
    pub name: String,
    /// The version number (1, 2, ...; never reused).
    pub version: i64,
    /// Epoch milliseconds.
    pub creation_timestamp: i64,
    /// Epoch milliseconds.
    pub last_updated_timestamp: i64,
    /// Who created it (empty when unknown).
    pub user_id: String,
    /// Its stage.
    pub current_stage: ModelStage,
    /// Free text (empty when unset).
    pub description: String,
    /// Where the files came from, as given (`runs:/…`, `models:/m-…`, a URI).
    pub source: String,
    /// Where the files are: the resolved `source` (the download URI).
    pub storage_location: String,
    /// The run that produced it (empty when none).
    pub run_id: String,
    /// A link to the run (empty when none).
    pub run_link: String,
    /// The logged model it was registered from, if any.
    pub model_id: Option<String>,
    /// Always `READY`: registration copies nothing, so there is nothing to wait for.
    pub status: String,
    /// Tags, in the order first set.
    pub tags: Vec<KeyValue>,
    /// Aliases pointing at this version, sorted.
    pub aliases: Vec<String>,
}

/// What a new registered model needs.
#[derive(Debug, Clone, Default)]
pub struct NewRegisteredModel {
    /// The unique name.
    pub name: String,
    /// Free text.
    pub description: Option<String>,
    /// Initial tags.
    pub tags: Vec<KeyValue>,
}

/// What a new model version needs.
#[derive(Debug, Clone, Default)]
pub struct NewModelVersion {
    /// The registered model it goes under (must exist).
    pub name: String,
    /// Where the files are: `runs:/<run>/<path>`, `models:/<model_id>`,
    /// `models:/<name>/<version>` or an artifact URI.
    pub source: String,
    /// The run that produced it.
    pub run_id: Option<String>,
    /// A link to the run.
    pub run_link: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Initial tags.
    pub tags: Vec<KeyValue>,
    /// The logged model it is registered from.
    pub model_id: Option<String>,
    /// Who creates it.
    pub user_id: Option<String>,
}

/// A search over registered models.
#[derive(Debug, Clone, Default)]
pub struct RegisteredModelQuery {
    /// Clauses every returned model satisfies.
    pub filter: ModelFilter,
    /// Sort keys; ties fall back to name.
    pub order_by: Vec<OrderBy>,
    /// Page size.
    pub max_results: usize,
    /// Token from the previous page.
    pub page_token: Option<String>,
}

/// A search over model versions.
#[derive(Debug, Clone, Default)]
pub struct ModelVersionQuery {
    /// Clauses every returned version satisfies.
    pub filter: ModelFilter,
    /// Sort keys; ties fall back to newest first (MLflow's default), then name.
    pub order_by: Vec<OrderBy>,
    /// Page size.
    pub max_results: usize,
    /// Token from the previous page.
    pub page_token: Option<String>,
}

/// A logged model's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoggedModelStatus {
    /// Created, artifacts not yet uploaded.
    Pending,
    /// Artifacts uploaded.
    Ready,
    /// The upload failed.
    UploadFailed,
}

impl LoggedModelStatus {
    /// The wire spelling (`LOGGED_MODEL_PENDING`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            LoggedModelStatus::Pending => "LOGGED_MODEL_PENDING",
            LoggedModelStatus::Ready => "LOGGED_MODEL_READY",
            LoggedModelStatus::UploadFailed => "LOGGED_MODEL_UPLOAD_FAILED",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "LOGGED_MODEL_PENDING" => Ok(LoggedModelStatus::Pending),
            "LOGGED_MODEL_READY" => Ok(LoggedModelStatus::Ready),
            "LOGGED_MODEL_UPLOAD_FAILED" => Ok(LoggedModelStatus::UploadFailed),
            other => Err(Error::invalid(format!(
                "logged model status {other:?} is not one of LOGGED_MODEL_PENDING, \
                 LOGGED_MODEL_READY, LOGGED_MODEL_UPLOAD_FAILED"
            ))),
        }
    }
}

/// A model logged in an experiment (MLflow 3's `LoggedModel`).
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModel {
    /// `m-` and 32 hex digits.
    pub model_id: String,
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// Its name (the `name=` of `log_model`).
    pub name: String,
    /// Where its files go: `<experiment artifact location>/models/<id>/artifacts`.
    pub artifact_location: String,
    /// Its state.
    pub status: LoggedModelStatus,
    /// Free text such as `agent` (empty when unset).
    pub model_type: String,
    /// The run that produced it.
    pub source_run_id: Option<String>,
    /// Epoch milliseconds.
    pub creation_timestamp: i64,
    /// Epoch milliseconds.
    pub last_updated_timestamp: i64,
    /// Live or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Tags, in the order first set.
    pub tags: Vec<KeyValue>,
    /// Params, in the order logged.
    pub params: Vec<KeyValue>,
    /// Every metric value logged against it, in the order logged, with the run that logged
    /// each.
    pub metrics: Vec<LoggedModelMetric>,
}

/// A metric value of a logged model and the run that logged it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModelMetric {
    /// The run.
    pub run_id: String,
    /// The value, model and dataset.
    pub metric: ModelMetric,
}

/// What a new logged model needs.
#[derive(Debug, Clone, Default)]
pub struct NewLoggedModel {
    /// The live experiment it goes in.
    pub experiment_id: String,
    /// Its name; `None` generates one.
    pub name: Option<String>,
    /// Free text such as `agent`.
    pub model_type: Option<String>,
    /// The run that produced it (must exist).
    pub source_run_id: Option<String>,
    /// Initial params.
    pub params: Vec<KeyValue>,
    /// Initial tags.
    pub tags: Vec<KeyValue>,
}

/// A search over logged models.
#[derive(Debug, Clone, Default)]
pub struct LoggedModelQuery {
    /// Experiments to search in.
    pub experiment_ids: Vec<String>,
    /// Clauses every returned model satisfies.
    pub filter: ModelFilter,
    /// Sort keys; ties fall back to newest first, then id.
    pub order_by: Vec<OrderBy>,
    /// Page size.
    pub max_results: usize,
    /// Token from the previous page.
    pub page_token: Option<String>,
}

/// What became of one attempt to move (or remove) a protected alias.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromotionOutcome {
    /// The version passed every rule; the alias moved.
    Accepted,
    /// The version broke at least one rule; the alias did not move.
    Refused,
    /// The version broke at least one rule and the caller overrode the policy (with a
    /// reason); the alias moved.
    Forced,
    /// The alias was removed (it pointed at the entry's version).
    Removed,
}

impl PromotionOutcome {
    /// The stored spelling: `accepted`, `refused`, `forced`, `removed`.
    pub fn as_str(self) -> &'static str {
        match self {
            PromotionOutcome::Accepted => "accepted",
            PromotionOutcome::Refused => "refused",
            PromotionOutcome::Forced => "forced",
            PromotionOutcome::Removed => "removed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "accepted" => Ok(PromotionOutcome::Accepted),
            "refused" => Ok(PromotionOutcome::Refused),
            "forced" => Ok(PromotionOutcome::Forced),
            "removed" => Ok(PromotionOutcome::Removed),
            other => Err(Error::invalid(format!(
                "promotion outcome {other:?} is not one of accepted, refused, forced, removed"
            ))),
        }
    }

    /// Whether the alias points at the entry's version afterwards.
    pub fn moves_alias(self) -> bool {
        matches!(self, PromotionOutcome::Accepted | PromotionOutcome::Forced)
    }
}

/// One attempt to record with [`crate::MetadataStore::record_promotion`].
#[derive(Debug, Clone)]
pub struct NewPromotion {
    /// The registered model.
    pub name: String,
    /// The version (decimal, as a client sends it) the alias should point at.
    pub version: String,
    /// The alias.
    pub alias: String,
    /// The decision; [`PromotionOutcome::Removed`] is recorded by
    /// [`crate::MetadataStore::remove_protected_alias`] instead.
    pub outcome: PromotionOutcome,
    /// Every rule the version broke (empty when it passed).
    pub reasons: Vec<String>,
    /// Whether the caller asked to override the policy.
    pub forced: bool,
    /// Why the caller overrode it.
    pub override_reason: Option<String>,
    /// Who asked, when known.
    pub actor: Option<String>,
    /// Version tags written in the same transaction (a summary of the attempt for clients
    /// that only read tags).
    pub version_tags: Vec<KeyValue>,
}

/// One recorded promotion attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Promotion {
    /// Increasing with each attempt recorded.
    pub id: i64,
    /// The registered model's (current) name.
    pub name: String,
    /// The version the attempt was about.
    pub version: i64,
    /// The alias.
    pub alias: String,
    /// What became of it.
    pub outcome: PromotionOutcome,
    /// Every rule the version broke.
    pub reasons: Vec<String>,
    /// Whether the caller asked to override the policy.
    pub forced: bool,
    /// Why the caller overrode it.
    pub override_reason: Option<String>,
    /// Who asked, when known.
    pub actor: Option<String>,
    /// Epoch milliseconds.
    pub timestamp: i64,
}
