//! Scoring request rows with a loaded bundle: what the inference server runs for every
//! protocol.
//!
//! A [`ServedModel`] is a bundle loaded once and shared by every thread that serves it. A
//! request's rows arrive as JSON objects, value lists or CSV text; [`ServedModel::read_rows`]
//! and [`ServedModel::read_csv`] type them exactly as `slipway predict` types a file (the
//! model's input columns as the types its schema gives, other columns inferred and
//! ignored), and [`ServedModel::score`] runs the same code as `slipway predict`, so a
//! prediction over HTTP is bit for bit the one `predict` writes.
//!
//! A bundle with per-group thresholds ([`crate::postprocess`]) needs its protected column in
//! every request; [`ServedModel::score_keyed`] draws each row's decision from the training
//! seed and the row's prediction id (so the answer for a logged prediction can be
//! recomputed), [`ServedModel::score`] from the row's position in the request.

use std::path::Path;

use slipway_data::ingest::{self, ReadOptions, Rows};
use slipway_data::{DataType, Table};

use slipway_learn::pipeline::FittedModel;

use crate::online_serving::{CheckpointOptions, LiveLearner};
use crate::postprocess::Draws;
pub use crate::predict::Output;
use crate::predict::{Model, Scorer, declared_rule, load, missing_input, score_rows};
use crate::{Error, Result};

/// A bundle loaded for serving.
pub struct ServedModel {
    model: Model,
    scorer: Scorer,
    read: ReadOptions,
    /// The target column's type in training (class labels of an integer target are
    /// integers on the wire).
    target_type: Option<DataType>,
    /// What `POST /explain` needs (pipeline bundles only).
    explain: Option<crate::serve_explain::ExplainState>,
    /// The training profile (pipeline bundles only): scheduled monitors' reference.
    profile: Option<std::sync::Arc<slipway_data::profile::Profile>>,
    /// An online model's live state (it scores with it and learns from feedback).
    online: Option<std::sync::Arc<LiveLearner>>,
    /// `sha256:<hex>` of the bundle's `pipeline.json` (online models: names checkpoints).
    pipeline_sha: Option<String>,
}

impl std::fmt::Debug for ServedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServedModel")
            .field("name", &self.model.name)
            .field("inputs", &self.model.inputs)
            .finish_non_exhaustive()
    }
}

/// Rows read for a model: the table the model scores and what was left out.
#[derive(Debug)]
pub struct RequestRows {
    /// The model's input columns, typed, in the model's order.
    pub table: Table,
    /// Columns the request sent that the model does not use (in the order first seen).
    pub ignored_columns: Vec<String>,
}

impl ServedModel {
    /// Loads and verifies the bundle at `dir` (either flavor).
    pub fn load(dir: &Path) -> Result<Self> {
        let (model, scorer) = load(dir)?;
        let mut read = ReadOptions::default();
        for (name, dtype) in &model.inputs {
            read.types.insert(name.clone(), *dtype);
        }
        let target_type = match &scorer {
            // A model imported from LightGBM or XGBoost has no target column; its classes
            // are the numbers 0..K-1.
            Scorer::Pipeline(p) => {
                model
                    .schema
                    .field(&p.target.name)
                    .map(|f| f.dtype)
                    .or_else(|| {
                        (p.target.task.is_classification()
                            && p.target.classes.iter().all(|c| c.parse::<i64>().is_ok()))
                        .then_some(DataType::Integer)
                    })
            }
            Scorer::Clusters(_) => None,
        };
        let pipeline_sha = match &scorer {
            Scorer::Pipeline(p) if matches!(p.model, FittedModel::Online(_)) => {
                Some(slipway_learn::bundle::sha256(
                    &std::fs::read(dir.join("pipeline.json"))
                        .map_err(|e| Error::io(&dir.join("pipeline.json"), e))?,
                ))
            }
            _ => None,
        };
        let online = match (&scorer, &pipeline_sha) {
            (Scorer::Pipeline(p), Some(sha)) => {
                LiveLearner::new(p, sha.clone(), None)?.map(std::sync::Arc::new)
            }
            _ => None,
        };
        let mut served = ServedModel {
            model,
            scorer,
            read,
            target_type,
            explain: None,
            profile: None,
            online,
            pipeline_sha,
        };
        if matches!(served.scorer, Scorer::Pipeline(_)) {
            // The bundle was verified just above; its profile gives the background.
            let profile = std::fs::read(dir.join("profile.json"))
                .map_err(|e| format!("reading profile.json: {e}"))
                .and_then(|b| {
                    serde_json::from_slice::<slipway_data::profile::Profile>(&b)
                        .map_err(|e| format!("profile.json: {e}"))
                });
            let background = profile.as_ref().map_err(Clone::clone).and_then(|profile| {
                crate::serve_explain::profile_background(&served, profile)
                    .map_err(|e| e.to_string())
            });
            served.profile = profile.ok().map(std::sync::Arc::new);
            served.explain = Some(crate::serve_explain::ExplainState::new(background));
        }
        Ok(served)
    }

    /// The training profile of a pipeline bundle (what scheduled monitors compare with).
    pub fn profile(&self) -> Option<&slipway_data::profile::Profile> {
        self.profile.as_deref()
    }

    /// The model's name (from its training config).
    pub fn name(&self) -> &str {
        &self.model.name
    }

    /// The columns a request must send, with the types they are read as, in order.
    pub fn inputs(&self) -> &[(String, DataType)] {
        &self.model.inputs
    }

    /// The class labels of a classifier (empty otherwise).
    pub fn classes(&self) -> &[String] {
        match &self.scorer {
            Scorer::Pipeline(p) if p.target.task.is_classification() => &p.target.classes,
            _ => &[],
        }
    }

    /// The task; `None` for a clustering model.
    pub fn task(&self) -> Option<slipway_learn::Task> {
        match &self.scorer {
            Scorer::Pipeline(p) => Some(p.target.task),
            Scorer::Clusters(_) => None,
        }
    }

    /// Whether the model was imported from LightGBM or XGBoost: the MLflow scoring protocol
    /// then answers what the library's `Booster.predict` gives (the positive class's
    /// probability for a binary model, every class's for a multiclass one), as `mlflow
    /// models serve` does for such a model.
    pub fn is_imported_booster(&self) -> bool {
        matches!(&self.scorer, Scorer::Pipeline(p) if matches!(&p.spec, slipway_learn::pipeline::ModelSpec::Imported(s) if s.library != slipway_learn::import::Library::Onnx))
    }

    /// The training type of the target column (how class labels are written on the wire:
    /// numbers for an integer or float target, booleans for a boolean one).
    pub fn target_type(&self) -> Option<DataType> {
        self.target_type
    }

    /// Reads rows built from a request for this model: the input columns are parsed as the
    /// model's types (a missing one is an error naming it), the rest ignored.
    pub fn read_rows(&self, rows: Rows) -> Result<RequestRows> {
        let names: Vec<String> = rows.names().to_vec();
        if let Some((name, _)) = self
            .model
            .inputs
            .iter()
            .find(|(n, _)| !names.iter().any(|m| m == n))
        {
            return Err(missing_input(&self.model, name.clone(), names.join(", ")));
        }
        let table = rows.build(&self.read)?;
        self.select(table, &names)
    }

    /// Reads a CSV request body (a header row, then one row per line) for this model.
    pub fn read_csv(&self, body: &[u8]) -> Result<RequestRows> {
        match ingest::read_csv_bytes(body, "request body", &self.read) {
            Ok(table) => {
                let names: Vec<String> = table
                    .schema()
                    .names()
                    .iter()
                    .map(|n| n.to_string())
                    .collect();
                self.select(table, &names)
            }
            Err(slipway_data::Error::MissingColumn { name, available }) => {
                Err(missing_input(&self.model, name, available))
            }
            Err(slipway_data::Error::Malformed {
                path,
                line,
                message,
            }) => Err(slipway_data::Error::Malformed {
                path,
                line,
                message: declared_rule(message, &self.model),
            }
            .into()),
            Err(e) => Err(e.into()),
        }
    }

    /// The input columns of `table`, in the model's order, and the names of the others.
    fn select(&self, table: Table, names: &[String]) -> Result<RequestRows> {
        let inputs: Vec<&str> = self.model.inputs.iter().map(|(n, _)| n.as_str()).collect();
        let ignored_columns = names
            .iter()
            .filter(|n| !inputs.contains(&n.as_str()))
            .cloned()
            .collect();
        let table = table.select(&inputs)?;
        Ok(RequestRows {
            table,
            ignored_columns,
        })
    }

    /// Explains the one row of `table` (from [`ServedModel::read_rows`]): contributions per
    /// input column (and per encoded feature when `per_feature`), by the model's exact
    /// method or a model-agnostic one (see [`crate::serve_explain`]).
    pub fn explain(
        &self,
        table: &Table,
        per_feature: bool,
    ) -> Result<crate::serve_explain::RowExplanation> {
        match (&self.scorer, &self.explain) {
            (Scorer::Pipeline(p), Some(state)) => {
                crate::serve_explain::explain_row(p, state, table, per_feature)
            }
            _ => Err(Error::Explain(slipway_explain::Error::Unsupported(
                "a clustering model has no SHAP explanation".into(),
            ))),
        }
    }

    /// Scores the rows of `table` (from [`ServedModel::read_rows`] or
    /// [`ServedModel::read_csv`]); one output per row, in order.
    pub fn score(&self, table: &Table) -> Result<Output> {
        self.score_drawn(table, Draws::Rows(0))
    }

    /// [`ServedModel::score`], where a model with per-group thresholds draws row `i`'s
    /// decision from `keys[i]` (its prediction id as a number); other models ignore `keys`.
    pub fn score_keyed(&self, table: &Table, keys: &[u128]) -> Result<Output> {
        self.score_drawn(table, Draws::Keys(keys))
    }

    fn score_drawn(&self, table: &Table, draws: Draws<'_>) -> Result<Output> {
        if table.n_rows() == 0 {
            return Err(slipway_learn::Error::InvalidData("the request has no rows".into()).into());
        }
        if let Draws::Keys(k) = draws
            && k.len() != table.n_rows()
        {
            return Err(Error::Internal(format!(
                "{} prediction ids for {} rows",
                k.len(),
                table.n_rows()
            )));
        }
        if let Some(live) = &self.online {
            let now = Scorer::Pipeline(live.snapshot());
            return Ok(score_rows(&self.model, &now, table, draws)?.0);
        }
        Ok(score_rows(&self.model, &self.scorer, table, draws)?.0)
    }

    /// The live state of an online model (`type: online`): it learns from labelled
    /// feedback ([`LiveLearner::learn`]); `None` for every other model.
    pub fn online(&self) -> Option<&std::sync::Arc<LiveLearner>> {
        self.online.as_ref()
    }

    /// Turns on checkpoints of an online model's learned state, reading the checkpoint of
    /// this bundle back if there is one (learning resumes from it). A no-op for other
    /// models.
    pub fn enable_checkpoints(&mut self, options: CheckpointOptions) -> Result<()> {
        let (Scorer::Pipeline(p), Some(sha)) = (&self.scorer, &self.pipeline_sha) else {
            return Ok(());
        };
        self.online = LiveLearner::new(p, sha.clone(), Some(options))?.map(std::sync::Arc::new);
        Ok(())
    }

    /// The protected column a model with per-group thresholds needs in every request.
    pub fn protected_input(&self) -> Option<&str> {
        self.model.post.as_ref().map(|p| p.column.as_str())
    }
}

/// A request error's parts for a JSON error body: the field (column) and row it concerns,
/// where the error names them.
pub fn error_location(e: &Error) -> (Option<String>, Option<usize>) {
    match e {
        Error::Data(slipway_data::Error::BadValue { row, column, .. }) => {
            (Some(column.clone()), Some(*row))
        }
        Error::Data(slipway_data::Error::BadRow { row, .. }) => (None, Some(*row)),
        Error::Data(slipway_data::Error::MissingColumn { name, .. }) => (Some(name.clone()), None),
        Error::Learn(slipway_learn::Error::SchemaMismatch(m)) => (quoted(m), None),
        Error::Learn(slipway_learn::Error::InvalidData(m)) if m.starts_with("column \"") => {
            (quoted(m), None)
        }
        Error::Data(slipway_data::Error::Malformed { message, .. }) => (quoted(message), None),
        _ => (None, None),
    }
}

/// The first `"name"` in a message.
fn quoted(message: &str) -> Option<String> {
    let start = message.find('"')? + 1;
    let len = message[start..].find('"')?;
    Some(message[start..start + len].to_string())
}
