//! The metadata store seam: every tracking read and write goes through [`MetadataStore`].

use async_trait::async_trait;

use crate::error::Result;
use crate::model::{
    Experiment, ExperimentQuery, KeyValue, LogBatch, Metric, ModelOutput, NewExperiment, NewRun,
    Page, Run, RunInfo, RunQuery, RunUpdate,
};

/// Experiments, runs, params, metrics and tags.
///
/// Implementations are async and never block the executor; each write is one transaction.
/// [`crate::SqliteStore`] is the embedded default; a PostgreSQL store implements the same
/// trait.
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
