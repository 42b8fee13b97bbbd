//! Slipway's stores: where tracking metadata and artifacts live.
//!
//! - [`MetadataStore`] is the seam for experiments, runs, params, metrics (full history plus
//!   the latest value per key) and tags. [`SqliteStore`] implements it over one SQLite file
//!   in WAL mode with embedded migrations; [`PostgresStore`] implements it over a PostgreSQL
//!   database reached by URL, for a server shared by a team. Both are one body of code
//!   (`sql_store/`) compiled per backend over the helpers in `sql` (dialect differences,
//!   `$n` placeholders, the search translator); their schemas match table for table.
//! - [`ArtifactStore`] is the seam for artifact bytes. [`LocalArtifactStore`] keeps them in a
//!   directory, writing to a temporary name and renaming; every [`ArtifactPath`] is checked
//!   once to stay inside its root. [`S3ArtifactStore`] keeps them in an S3 (or
//!   S3-compatible) bucket under a prefix.
//! - [`registry`] holds the model entities: logged models (MLflow 3's `log_model`) and the
//!   registry's registered models and numbered versions, with tags, aliases and stages; they
//!   live behind the same [`MetadataStore`], as does the promotion history of protected
//!   aliases ([`Promotion`]: every attempt, accepted, refused, forced or removed).
//! - [`predlog`] indexes the prediction log the inference server writes to the artifact
//!   store: one [`LogSegment`] per Parquet segment, found by model, version, time and id.
//! - [`deployment`] keeps deployments (`slipway deploy`): plan and state as JSON, a revision
//!   for compare-and-set, the lease of the replica that drives a canary, and the events.
//! - [`search`] parses MLflow's filter and `order_by` grammar into typed clauses each store
//!   translates for itself.
//!
//! Errors are one [`Error`] enum whose [`Error::kind`] separates what the caller did wrong
//! (missing, duplicate, invalid) from what broke inside (database, I/O); the user variants'
//! messages never contain SQL or filesystem paths.

pub mod artifact;
pub mod deployment;
pub mod error;
pub mod metadata;
pub mod model;
pub mod postgres;
pub mod predlog;
pub mod registry;
pub mod s3;
pub mod search;
mod sql;
pub mod sqlite;
pub mod uri;
mod validate;

pub use artifact::{
    ArtifactEntry, ArtifactPath, ArtifactStore, ByteStream, DeletablePath, LocalArtifactStore,
    MAX_PART_BYTES, MAX_PATH_BYTES, PREDICTION_LOG_ROOT,
};
pub use deployment::{
    DeploymentEvent, DeploymentRecord, DeploymentUpdate, NewDeployment, NewDeploymentEvent,
};
pub use error::{Error, ErrorKind, Result};
pub use metadata::MetadataStore;
pub use model::{
    Dataset, DatasetInput, Experiment, ExperimentQuery, KeyValue, LifecycleStage, LogBatch, Metric,
    ModelMetric, ModelOutput, NewExperiment, NewRun, Page, Run, RunInfo, RunQuery, RunStatus,
    RunUpdate, ViewType,
};
pub use postgres::PostgresStore;
pub use predlog::{LogSegment, LogSegmentKind, LogSegmentQuery};
pub use registry::{
    LoggedModel, LoggedModelMetric, LoggedModelQuery, LoggedModelStatus, ModelStage, ModelVersion,
    ModelVersionQuery, NewLoggedModel, NewModelVersion, NewPromotion, NewRegisteredModel,
    Promotion, PromotionOutcome, RegisteredModel, RegisteredModelQuery,
};
pub use s3::S3ArtifactStore;
pub use search::{ExperimentFilter, ModelFilter, OrderBy, RunFilter};
pub use sqlite::SqliteStore;
/// The database driver, whose error [`Error::Database`] wraps.
pub use sqlx;
pub use validate::{
    MAX_BATCH_METRICS, MAX_BATCH_PARAMS, MAX_BATCH_TAGS, MAX_BATCH_TOTAL, MAX_KEY_LENGTH,
    MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH,
};
