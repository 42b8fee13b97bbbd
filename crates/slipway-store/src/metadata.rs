//! The metadata store seam: every tracking read and write goes through [`MetadataStore`].

use async_trait::async_trait;

use crate::deployment::{DeploymentEvent, DeploymentRecord, DeploymentUpdate, NewDeployment};
use crate::error::Result;
use crate::model::{
    DatasetInput, Experiment, ExperimentQuery, KeyValue, LogBatch, Metric, ModelOutput,
    NewExperiment, NewRun, Page, Run, RunInfo, RunQuery, RunUpdate,
};
use crate::predlog::{LogSegment, LogSegmentQuery};
use crate::registry::{
    LoggedModel, LoggedModelQuery, LoggedModelStatus, ModelStage, ModelVersion, ModelVersionQuery,
    NewLoggedModel, NewModelVersion, NewPromotion, NewRegisteredModel, Promotion, RegisteredModel,
    RegisteredModelQuery,
};

/// Experiments, runs, params, metrics and tags.
///
/// Implementations are async and never block the executor; each write is one transaction.
/// [`crate::SqliteStore`] is the embedded default; [`crate::PostgresStore`] implements the
/// same trait for a shared server.
#[async_trait]
pub trait MetadataStore: Send + Sync {
    /// Creates an experiment and returns its id; a taken name is `AlreadyExists`.
    async fn create_experiment(&self, new: NewExperiment) -> Result<String>;
    /// The experiment with this id, live or deleted.
    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment>;
    /// The experiment with this name, live or deleted.
    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment>;
    /// One page of experiments matching the query.
    async fn search_experiments(&self, query: &ExperimentQuery) -> Result<Page<Experiment>>;
    /// Renames an experiment.
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()>;
    /// Moves an experiment and its runs to the trash.
    async fn delete_experiment(&self, experiment_id: &str) -> Result<()>;
    /// Brings an experiment and its runs back from the trash.
    async fn restore_experiment(&self, experiment_id: &str) -> Result<()>;
    /// Sets (or overwrites) an experiment tag.
    async fn set_experiment_tag(&self, experiment_id: &str, tag: KeyValue) -> Result<()>;

    /// Starts a run in a live experiment.
    async fn create_run(&self, new: NewRun) -> Result<Run>;
    /// The run with this id, with the latest value of each metric.
    async fn get_run(&self, run_id: &str) -> Result<Run>;
    /// Changes a run's status, end time or name.
    async fn update_run(&self, run_id: &str, update: RunUpdate) -> Result<RunInfo>;
    /// Moves a run to the trash.
    async fn delete_run(&self, run_id: &str) -> Result<()>;
    /// Brings a run back from the trash.
    async fn restore_run(&self, run_id: &str) -> Result<()>;
    /// Writes metrics, params and tags to a live run in one transaction: all or nothing.
    async fn log_batch(&self, run_id: &str, batch: LogBatch) -> Result<()>;
    /// Removes a tag from a live run; a missing tag is `NotFound`.
    async fn delete_run_tag(&self, run_id: &str, key: &str) -> Result<()>;
    /// Records models as outputs of a live run.
    async fn log_model_outputs(&self, run_id: &str, outputs: Vec<ModelOutput>) -> Result<()>;
    /// Records datasets and logged models (ids) as inputs of a live run, as MLflow does: a
    /// dataset already in the run's experiment (same name and digest) is reused as stored, and
    /// an input the run already has keeps its tags; the same dataset twice in one call counts
    /// once (the first).
    async fn log_inputs(
        &self,
        run_id: &str,
        datasets: Vec<DatasetInput>,
        models: Vec<String>,
    ) -> Result<()>;
    /// Every logged value of one metric, oldest first, a page at a time.
    async fn metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: usize,
        page_token: Option<&str>,
    ) -> Result<Page<Metric>>;
    /// One page of runs matching the query.
    async fn search_runs(&self, query: &RunQuery) -> Result<Page<Run>>;

    /// Creates a logged model (status pending) in a live experiment.
    async fn create_logged_model(&self, new: NewLoggedModel) -> Result<LoggedModel>;
    /// The logged model with this id; a deleted one only when `allow_deleted`.
    async fn get_logged_model(&self, model_id: &str, allow_deleted: bool) -> Result<LoggedModel>;
    /// Sets a live logged model's status and returns it.
    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel>;
    /// Moves a logged model to the trash.
    async fn delete_logged_model(&self, model_id: &str) -> Result<()>;
    /// Sets (or overwrites) tags of a live logged model, all or nothing.
    async fn set_logged_model_tags(&self, model_id: &str, tags: Vec<KeyValue>) -> Result<()>;
    /// Removes a tag from a live logged model; a missing tag is `NotFound`.
    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()>;
    /// Adds params to a live logged model (same value again is fine, a new value is not).
    async fn log_logged_model_params(&self, model_id: &str, params: Vec<KeyValue>) -> Result<()>;
    /// One page of live logged models matching the query.
    async fn search_logged_models(&self, query: &LoggedModelQuery) -> Result<Page<LoggedModel>>;

    /// Creates a registered model; a taken name is `AlreadyExists`.
    async fn create_registered_model(&self, new: NewRegisteredModel) -> Result<RegisteredModel>;
    /// The registered model with this name, with its latest version per stage.
    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel>;
    /// Renames a registered model (its versions follow).
    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel>;
    /// Replaces a registered model's description.
    async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel>;
    /// Deletes a registered model with its versions, tags and aliases.
    async fn delete_registered_model(&self, name: &str) -> Result<()>;
    /// One page of registered models matching the query.
    async fn search_registered_models(
        &self,
        query: &RegisteredModelQuery,
    ) -> Result<Page<RegisteredModel>>;
    /// Sets (or overwrites) a registered model tag.
    async fn set_registered_model_tag(&self, name: &str, tag: KeyValue) -> Result<()>;
    /// Removes a registered model tag; a missing tag is `NotFound`.
    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()>;
    /// Points `alias` at an existing version (moving it if it pointed elsewhere).
    async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
    ) -> Result<()>;
    /// Removes an alias; removing a missing alias is not an error (as in MLflow).
    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()>;
    /// The version an alias points at; a missing alias is `InvalidParameter` (as in MLflow).
    async fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion>;
    /// Records one attempt to promote a version to an alias (never overwriting an earlier
    /// one) and, when its outcome moves the alias (accepted or forced), points the alias at
    /// the version: one transaction, so an alias never moves without its record and a record
    /// of a move never stands without the move. A missing model or version is `NotFound` and
    /// records nothing.
    async fn record_promotion(&self, attempt: NewPromotion) -> Result<Promotion>;
    /// Removes an alias and records the removal (with the version it pointed at) in one
    /// transaction; `None`, recording nothing, when the alias was not set.
    async fn remove_protected_alias(
        &self,
        name: &str,
        alias: &str,
        actor: Option<&str>,
    ) -> Result<Option<Promotion>>;
    /// Every promotion attempt recorded for a registered model, oldest first.
    async fn list_promotions(&self, name: &str) -> Result<Vec<Promotion>>;

    /// Records a segment of the prediction log (replacing the row of the same path).
    async fn add_log_segment(&self, segment: LogSegment) -> Result<()>;
    /// The segments that match `query`, by model, version and first id.
    async fn find_log_segments(&self, query: &LogSegmentQuery) -> Result<Vec<LogSegment>>;
    /// Forgets the segments at `paths` (their objects already removed).
    async fn remove_log_segments(&self, paths: &[String]) -> Result<()>;

    /// Stores a new deployment and its `created` event (one transaction); a taken name is
    /// `AlreadyExists`.
    async fn create_deployment(&self, new: NewDeployment) -> Result<DeploymentRecord>;
    /// The deployment named `name`.
    async fn get_deployment(&self, name: &str) -> Result<DeploymentRecord>;
    /// Every deployment, oldest first.
    async fn list_deployments(&self) -> Result<Vec<DeploymentRecord>>;
    /// Compare-and-set: stores the new state and its event (one transaction) only when the
    /// revision is still `expected_revision` (and, with a `lease_owner`, that replica holds
    /// an unexpired lease); `None` when another change came first.
    async fn update_deployment(
        &self,
        name: &str,
        update: DeploymentUpdate,
    ) -> Result<Option<DeploymentRecord>>;
    /// Takes or renews the lease on a deployment for `ttl_ms`: true when `owner` now holds
    /// it (it was free, expired or already `owner`'s).
    async fn acquire_deployment_lease(&self, name: &str, owner: &str, ttl_ms: i64) -> Result<bool>;
    /// Gives the lease back, if `owner` holds it.
    async fn release_deployment_lease(&self, name: &str, owner: &str) -> Result<()>;
    /// A deployment's events, oldest first.
    async fn deployment_events(&self, name: &str) -> Result<Vec<DeploymentEvent>>;
    /// The newest version in each of `stages` (every stage when empty), by version number.
    async fn get_latest_versions(
        &self,
        name: &str,
        stages: &[ModelStage],
    ) -> Result<Vec<ModelVersion>>;

    /// Creates the next version of a registered model. The number is allocated in the same
    /// transaction that writes the version, so concurrent creates never collide.
    async fn create_model_version(&self, new: NewModelVersion) -> Result<ModelVersion>;
    /// One version; `version` is the decimal number as the client sent it.
    async fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion>;
    /// Replaces a version's description.
    async fn update_model_version(
        &self,
        name: &str,
        version: &str,
        description: &str,
    ) -> Result<ModelVersion>;
    /// Moves a version to `stage`; with `archive_existing`, other versions in that stage
    /// (Staging or Production only) move to Archived in the same transaction.
    async fn transition_model_version_stage(
        &self,
        name: &str,
        version: &str,
        stage: ModelStage,
        archive_existing: bool,
    ) -> Result<ModelVersion>;
    /// Deletes a version with its tags and the aliases pointing at it.
    async fn delete_model_version(&self, name: &str, version: &str) -> Result<()>;
    /// One page of model versions matching the query.
    async fn search_model_versions(&self, query: &ModelVersionQuery) -> Result<Page<ModelVersion>>;
    /// Sets (or overwrites) a version tag.
    async fn set_model_version_tag(&self, name: &str, version: &str, tag: KeyValue) -> Result<()>;
    /// Removes a version tag; a missing tag is `NotFound`.
    async fn delete_model_version_tag(&self, name: &str, version: &str, key: &str) -> Result<()>;

    /// Logs one param (same as a batch holding only it).
    async fn log_param(&self, run_id: &str, param: KeyValue) -> Result<()> {
        let batch = LogBatch {
            params: vec![param],
            ..LogBatch::default()
        };
        self.log_batch(run_id, batch).await
    }

    /// Logs one metric value.
    async fn log_metric(&self, run_id: &str, metric: Metric) -> Result<()> {
        let batch = LogBatch {
            metrics: vec![metric],
            ..LogBatch::default()
        };
        self.log_batch(run_id, batch).await
    }

    /// Sets (or overwrites) one run tag.
    async fn set_run_tag(&self, run_id: &str, tag: KeyValue) -> Result<()> {
        let batch = LogBatch {
            tags: vec![tag],
            ..LogBatch::default()
        };
        self.log_batch(run_id, batch).await
    }
}
