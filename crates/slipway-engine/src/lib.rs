//! Slipway's engine: the one facade every lifecycle operation goes through.
//!
//! The CLI and (later) the server both hold an [`Engine`] and call its methods; neither
//! reaches into the data or learning crates to run a job itself. A job takes a config
//! ([`PipelineConfig`]), reports progress through a [`Progress`] sink and returns a
//! serializable outcome ([`TrainOutcome`], [`PredictOutcome`], [`ImportOutcome`]) that the
//! caller prints as text or JSON.

pub mod audit;
pub mod cluster;
pub mod config;
mod error;
mod explain;
mod explain_local;
pub mod fairness;
mod import;
pub mod indexed_job;
mod inspection;
pub mod mitigation;
pub mod online_serving;
pub mod postprocess;
mod predict;
mod progress;
pub mod report;
pub mod retrain;
pub mod serve_explain;
pub mod serving;
pub mod shap_summary;
mod train;
pub mod yaml;

use std::path::{Path, PathBuf};

pub use audit::{Warning, WarningKind};
pub use cluster::{ClusterCandidateResult, ClusterOutcome};
pub use config::PipelineConfig;
pub use error::{Error, ErrorKind, Result};
pub use explain::{ExplainOptions, ExplainOutcome, Importance, OutputExplanation, ShapMethod};
pub use explain_local::{
    InteractionOptions, InteractionOutcome, LimeImportance, LimeOutcome, LimeOutput, LimeRow,
    LimeRunOptions, LimeWeight, OutputInteractions, PairImportance,
};
pub use import::{ExportOutcome, ImportOutcome, ImportRequest};
pub use inspection::{ImportanceOptions, ImportanceOutcome, PdpOptions, PdpOutcome};
pub use predict::{DEFAULT_CHUNK_ROWS, EachChunk, PredictOptions, PredictOutcome};
pub use progress::{NoProgress, Progress};
pub use slipway_explain::lime::LimeOptions;
pub use slipway_learn::import::Library;
pub use train::{CandidateResult, GateResult, PositiveClass, TrainOutcome, default_metric};

use slipway_data::ingest::{self, ReadOptions};
use slipway_data::profile::{self, Profile};
use slipway_data::validate::{self, Rules, ValidationReport};

/// Settings the engine is built with (the binary layers defaults, files, environment and
/// flags into these; the engine itself never reads the environment).
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Where outputs go when a config names none.
    pub default_output: Option<PathBuf>,
    /// Run as many threads as asked even beyond the cores (otherwise `threads` and a
    /// model's `n_threads` are capped at the cores, with a warning).
    pub oversubscribe: bool,
}

/// The facade.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    options: EngineOptions,
}

impl Engine {
    /// An engine with these options.
    pub fn new(options: EngineOptions) -> Self {
        Engine { options }
    }

    /// Trains every candidate of `config`, writes the report and, when the gate passes, the
    /// bundle. `config_text` (the file as read) is fingerprinted into the lineage. A
    /// `task: clustering` config is refused here: run it with [`Engine::cluster`].
    pub fn train(
        &self,
        config: &PipelineConfig,
        config_text: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<TrainOutcome> {
        if config.is_clustering() {
            return Err(
                config.error_at("task", "task: clustering configs run with Engine::cluster")
            );
        }
        let output = config
            .output
            .clone()
            .or_else(|| self.options.default_output.clone())
            .unwrap_or_else(|| PathBuf::from("slipway-out").join(&config.name));
        train::run(
            config,
            config_text,
            &output,
            self.options.oversubscribe,
            progress,
        )
    }

    /// Runs completion index `index` of a `total`-index training job `job` (a Kubernetes
    /// Indexed Job's pod): its share of the candidates × folds of `config`, fitted; the
    /// caller stores the returned part where the collect step reads it.
    pub fn train_worker(
        &self,
        config: &PipelineConfig,
        config_text: Option<&str>,
        job: &str,
        index: usize,
        total: usize,
        progress: &dyn Progress,
    ) -> Result<indexed_job::TrainPart> {
        indexed_job::train_worker(
            config,
            config_text,
            job,
            index,
            total,
            self.options.oversubscribe,
            progress,
        )
    }

    /// The collect step of a training job: checks that `parts` (stored bytes by completion
    /// index) cover the plan of `config`, then trains as [`Engine::train`] does with the
    /// workers' fold results in place of fitting them: the same ranking, refit, report and
    /// bundle.
    pub fn train_collect(
        &self,
        config: &PipelineConfig,
        config_text: Option<&str>,
        job: &str,
        total: usize,
        parts: &std::collections::BTreeMap<usize, Vec<u8>>,
        progress: &dyn Progress,
    ) -> Result<TrainOutcome> {
        let recorded = indexed_job::gather(config, job, total, parts)?;
        train::run_with(
            config,
            config_text,
            &self.output_dir(config),
            self.options.oversubscribe,
            progress,
            &train::CvSource::Recorded(&recorded),
        )?
        .ok_or_else(|| Error::Internal("the collect step stopped after cross-validation".into()))
    }

    /// Scores completion index `index`'s share of the row groups of the Parquet file
    /// `input` (a contiguous block) with the bundle at `model`, in `scratch`; returns the
    /// part's description and its predictions file for the caller to store.
    #[allow(clippy::too_many_arguments)]
    pub fn predict_worker(
        &self,
        model: &Path,
        input: &Path,
        job: &str,
        index: usize,
        total: usize,
        scratch: &Path,
        options: &PredictOptions,
        progress: &dyn Progress,
    ) -> Result<(indexed_job::PredictPart, PathBuf)> {
        indexed_job::predict_worker(model, input, job, index, total, scratch, options, progress)
    }

    /// The collect step of a scoring job: every index's predictions (description bytes and
    /// predictions file, by completion index), checked and written to `output` in order.
    pub fn predict_collect(
        &self,
        model: &Path,
        input: &Path,
        job: &str,
        total: usize,
        parts: &std::collections::BTreeMap<usize, (Vec<u8>, PathBuf)>,
        output: &Path,
    ) -> Result<indexed_job::PredictCollectOutcome> {
        indexed_job::predict_collect(model, input, job, total, parts, output)
    }

    /// Runs a `task: clustering` config: fits every candidate, writes the report and, when
    /// the gate passes, the clustering bundle.
    pub fn cluster(
        &self,
        config: &PipelineConfig,
        config_text: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<ClusterOutcome> {
        let (threads, capped) = train::thread_budget(config.threads, self.options.oversubscribe);
        let mut config = config.clone();
        if config.threads.is_some() {
            config.threads = Some(threads);
        }
        if let Some(w) = capped {
            progress.warn(&w.line());
        }
        cluster::run(&config, config_text, &self.output_dir(&config), progress)
    }

    fn output_dir(&self, config: &PipelineConfig) -> PathBuf {
        config
            .output
            .clone()
            .or_else(|| self.options.default_output.clone())
            .unwrap_or_else(|| PathBuf::from("slipway-out").join(&config.name))
    }

    /// Scores `input` with the bundle at `model` and writes the predictions to `output`
    /// (CSV, Parquet or JSON lines by extension).
    ///
    /// The input needs the model's input columns; id columns and `options.keep` are
    /// passed through, other columns ignored (see [`PredictOutcome::ignored_columns`]).
    pub fn predict(
        &self,
        model: &Path,
        input: &Path,
        output: &Path,
        options: &PredictOptions,
    ) -> Result<PredictOutcome> {
        predict::run(model, input, output, options, &NoProgress)
    }

    /// Scores `input` with the bundle at `model` chunk by chunk as [`Engine::predict`] does,
    /// handing each output chunk (id and `keep` columns, then the predictions) and the index
    /// of its first row to `each` instead of writing a file: a consumer that keeps only
    /// counts (`slipway fairness`) never holds the file. A pass that has to start over
    /// starts again at row 0; `each` breaking stops early. The outcome's `output` is empty.
    pub fn predict_each(
        &self,
        model: &Path,
        input: &Path,
        options: &PredictOptions,
        each: &mut predict::EachChunk<'_>,
    ) -> Result<PredictOutcome> {
        predict::run_each(model, input, options, each)
    }

    /// [`Engine::predict`], reporting progress to `progress`: one stage that counts rows
    /// (Parquet, JSON lines) or MiB read (CSV). The file is read, scored and written a chunk
    /// at a time ([`PredictOptions::chunk_rows`]), so memory stays bounded whatever its size.
    /// A pass that has to start over (a passed-through column whose training type a late
    /// value breaks) begins the stage again.
    pub fn predict_with_progress(
        &self,
        model: &Path,
        input: &Path,
        output: &Path,
        options: &PredictOptions,
        progress: &dyn Progress,
    ) -> Result<PredictOutcome> {
        predict::run(model, input, output, options, progress)
    }

    /// Explains the rows of `input` under the model bundle at `model` with exact TreeSHAP
    /// (tree models only; see [`ExplainOptions`]): the input is read a chunk at a time, so
    /// memory stays bounded; the outcome ranks input columns by mean |SHAP|.
    pub fn explain(
        &self,
        model: &Path,
        input: &Path,
        options: &ExplainOptions,
    ) -> Result<ExplainOutcome> {
        explain::run(model, input, options)
    }

    /// SHAP interaction values of the rows of `input` under a tree model's bundle
    /// (path-dependent; see [`InteractionOptions`]), a chunk at a time.
    pub fn explain_interactions(
        &self,
        model: &Path,
        input: &Path,
        options: &InteractionOptions,
    ) -> Result<InteractionOutcome> {
        explain_local::interactions(model, input, options)
    }

    /// LIME explanations of the rows of `input` under any model's bundle, with training
    /// statistics from `options.train` (see [`LimeRunOptions`]).
    pub fn explain_lime(
        &self,
        model: &Path,
        input: &Path,
        options: &LimeRunOptions,
    ) -> Result<LimeOutcome> {
        explain_local::lime(model, input, options)
    }

    /// Partial dependence (and ICE) of the bundle's model on one or two input columns over
    /// the rows of `input` (any model family; see [`PdpOptions`]).
    pub fn partial_dependence(
        &self,
        model: &Path,
        input: &Path,
        options: &PdpOptions,
    ) -> Result<PdpOutcome> {
        inspection::pdp(model, input, options)
    }

    /// Permutation importance of the bundle's input columns on the labelled rows of
    /// `input` (any model family; see [`ImportanceOptions`]).
    pub fn permutation_importance(
        &self,
        model: &Path,
        input: &Path,
        options: &ImportanceOptions,
    ) -> Result<ImportanceOutcome> {
        inspection::importance(model, input, options)
    }

    /// Imports a model trained by LightGBM or XGBoost as a bundle (see [`ImportRequest`]):
    /// its features are matched to the columns of the sample file, and the bundle is read
    /// back and checked before it takes its name.
    pub fn import_model(&self, request: &ImportRequest) -> Result<ImportOutcome> {
        import::import(request)
    }

    /// Writes the model of the bundle at `model` (a Slipway GBDT) to `output` as a model of
    /// `library` (LightGBM text only); refused, naming the reason, when the bundle holds
    /// something that format cannot express.
    pub fn export_model(
        &self,
        model: &Path,
        library: Library,
        output: &Path,
    ) -> Result<ExportOutcome> {
        import::export(model, library, output)
    }

    /// Reads `data` and checks it against `rules`.
    pub fn validate(
        &self,
        data: &Path,
        options: &ReadOptions,
        rules: &Rules,
    ) -> Result<ValidationReport> {
        rules.check()?;
        let table = ingest::read_table(data, options)?;
        Ok(validate::validate(&table, rules))
    }

    /// Reads `data` and profiles every column.
    pub fn profile(&self, data: &Path, options: &ReadOptions) -> Result<Profile> {
        let table = ingest::read_table(data, options)?;
        Ok(profile::profile(&table))
    }
}
