//! Learning while serving: a served pipeline whose model is an online learner
//! (`type: online`) learns from labelled feedback.
//!
//! A [`LiveLearner`] holds the pipeline being served behind an `RwLock<Arc<_>>`: scoring
//! takes the current `Arc` (a pointer copy under a read lock) and runs on it, so a request
//! sees the state before or after an update, never a torn one. [`LiveLearner::learn`] (a
//! blocking call; the server runs it on its scoring pool) takes the one writer lock, clones
//! the pipeline, preprocesses the rows with the pipeline's fitted preprocessing, lets the
//! learner learn them in order, and swaps the new pipeline in; predictions keep flowing
//! meanwhile.
//!
//! Checkpoints: with a [`CheckpointOptions`], the learned state is written every `every`
//! updates and on [`LiveLearner::checkpoint`] (the server calls it on shutdown) to
//! `<dir>/<deployment>/<bundle>.json`, where `<bundle>` is the start of the SHA-256 of the
//! served bundle's `pipeline.json`; a restarted server loading the same bundle finds it and
//! resumes learning from it. The file is written to a temporary name and renamed, so a
//! crash leaves the previous checkpoint whole. A checkpoint for another bundle (a new
//! version) is not read.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};
use slipway_data::Table;
use slipway_learn::online::model::OnlineModel;
use slipway_learn::pipeline::{FittedModel, FittedPipeline};

use crate::{Error, Result};

/// The `format` of a checkpoint file.
pub const CHECKPOINT_FORMAT: &str = "slipway-online-checkpoint";

/// Where and how often the learned state is written.
#[derive(Debug, Clone)]
pub struct CheckpointOptions {
    /// The folder of checkpoints (one subfolder per deployment).
    pub dir: PathBuf,
    /// Write after this many updates (0: only when [`LiveLearner::checkpoint`] is called).
    pub every: u64,
    /// The deployment's name.
    pub deployment: String,
}

/// A checkpoint file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Checkpoint {
    format: String,
    /// `sha256:<hex>` of the served bundle's `pipeline.json`.
    bundle_pipeline: String,
    /// When it was written (RFC 3339).
    written_at: String,
    /// The learner's state.
    model: OnlineModel,
}

/// What one [`LiveLearner::learn`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Learned {
    /// Rows learned.
    pub rows: u64,
    /// Rows learned since the bundle was trained (all loads together).
    pub updates: u64,
    /// Whether a checkpoint was written.
    pub checkpointed: bool,
}

/// An online pipeline being served and learning.
#[derive(Debug)]
pub struct LiveLearner {
    current: RwLock<Arc<FittedPipeline>>,
    writer: Mutex<WriterState>,
    updates: AtomicU64,
    bundle_pipeline: String,
    checkpoint: Option<CheckpointOptions>,
}

#[derive(Debug, Default)]
struct WriterState {
    since_checkpoint: u64,
}

impl LiveLearner {
    /// Wraps a loaded pipeline whose model is online; `bundle_pipeline` is the
    /// `sha256:<hex>` of its bundle's `pipeline.json`. With `checkpoint`, a checkpoint of
    /// this bundle is read back (learning resumes from it). `None` when the model is not
    /// online.
    pub fn new(
        pipeline: &FittedPipeline,
        bundle_pipeline: String,
        checkpoint: Option<CheckpointOptions>,
    ) -> Result<Option<LiveLearner>> {
        let FittedModel::Online(bundled) = &pipeline.model else {
            return Ok(None);
        };
        let mut pipeline = pipeline.clone();
        if let Some(c) = &checkpoint {
            let path = checkpoint_path(c, &bundle_pipeline);
            if let Some(model) = read_checkpoint(&path, &bundle_pipeline, bundled)? {
                pipeline.model = FittedModel::Online(model);
            }
        }
        let updates = match &pipeline.model {
            FittedModel::Online(m) => m.live_updates(),
            _ => 0,
        };
        Ok(Some(LiveLearner {
            current: RwLock::new(Arc::new(pipeline)),
            writer: Mutex::new(WriterState::default()),
            updates: AtomicU64::new(updates),
            bundle_pipeline,
            checkpoint,
        }))
    }

    /// The pipeline as it is now.
    pub fn snapshot(&self) -> Arc<FittedPipeline> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Rows learned since the bundle was trained.
    pub fn updates(&self) -> u64 {
        self.updates.load(Ordering::Relaxed)
    }

    /// The checkpoint file of this model, when checkpoints are on.
    pub fn checkpoint_file(&self) -> Option<PathBuf> {
        self.checkpoint
            .as_ref()
            .map(|c| checkpoint_path(c, &self.bundle_pipeline))
    }

    /// Learns the rows of `table` (the model's input columns) with class labels `labels`
    /// (as text, one per row), in order. Blocking: run it off the async executor. A label
    /// that is not one of the model's classes, or a row the preprocessing or the learner
    /// refuses, is an error and nothing of the call is learned.
    pub fn learn(&self, table: &Table, labels: &[String]) -> Result<Learned> {
        if table.n_rows() != labels.len() {
            return Err(Error::Internal(format!(
                "{} rows and {} labels to learn",
                table.n_rows(),
                labels.len()
            )));
        }
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = FittedPipeline::clone(&self.snapshot());
        let codes = labels
            .iter()
            .map(|l| {
                next.target
                    .classes
                    .iter()
                    .position(|c| c == l)
                    .map(|c| c as u32)
                    .ok_or_else(|| {
                        Error::Learn(slipway_learn::Error::InvalidData(format!(
                            "label \"{}\" is not one of the classes of \"{}\" ({})",
                            l.chars().take(100).collect::<String>(),
                            next.target.name,
                            next.target.classes.join(", ")
                        )))
                    })
            })
            .collect::<Result<Vec<u32>>>()?;
        let x = next.preprocessor.transform(table)?;
        let FittedModel::Online(model) = &mut next.model else {
            return Err(Error::Internal(
                "a live learner without an online model".into(),
            ));
        };
        let mut row = vec![0.0; x.n_cols()];
        for (i, &y) in codes.iter().enumerate() {
            x.row_into(i, &mut row);
            model.learn_one(&row, y)?;
        }
        let updates = model.live_updates();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
        self.updates.store(updates, Ordering::Relaxed);
        writer.since_checkpoint += codes.len() as u64;
        let due = self
            .checkpoint
            .as_ref()
            .is_some_and(|c| c.every > 0 && writer.since_checkpoint >= c.every);
        if due {
            self.write_checkpoint()?;
            writer.since_checkpoint = 0;
        }
        Ok(Learned {
            rows: codes.len() as u64,
            updates,
            checkpointed: due,
        })
    }

    /// Writes the learned state now (when checkpoints are on and something was learned
    /// since the last one); returns whether it wrote.
    pub fn checkpoint(&self) -> Result<bool> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if self.checkpoint.is_none() || writer.since_checkpoint == 0 {
            return Ok(false);
        }
        self.write_checkpoint()?;
        writer.since_checkpoint = 0;
        Ok(true)
    }

    /// Writes the current state (the caller holds the writer lock).
    fn write_checkpoint(&self) -> Result<()> {
        let Some(c) = &self.checkpoint else {
            return Ok(());
        };
        let current = self.snapshot();
        let FittedModel::Online(model) = &current.model else {
            return Err(Error::Internal(
                "a live learner without an online model".into(),
            ));
        };
        let file = Checkpoint {
            format: CHECKPOINT_FORMAT.into(),
            bundle_pipeline: self.bundle_pipeline.clone(),
            written_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            model: model.clone(),
        };
        let bytes = slipway_learn::exact_json::to_vec_pretty(&file)
            .map_err(|e| Error::Internal(format!("serializing the checkpoint: {e}")))?;
        let path = checkpoint_path(c, &self.bundle_pipeline);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        crate::train::write_atomic(&path, &bytes)
    }
}

fn checkpoint_path(c: &CheckpointOptions, bundle_pipeline: &str) -> PathBuf {
    let hex = bundle_pipeline
        .strip_prefix("sha256:")
        .unwrap_or(bundle_pipeline);
    let short: String = hex.chars().take(16).collect();
    c.dir.join(&c.deployment).join(format!("{short}.json"))
}

/// Reads a checkpoint of the bundle whose `pipeline.json` hashes to `bundle_pipeline`;
/// `None` when there is none. One that cannot be read, or holds a learner of another
/// shape, is an error naming the file (it is never silently dropped).
fn read_checkpoint(
    path: &Path,
    bundle_pipeline: &str,
    bundled: &OnlineModel,
) -> Result<Option<OnlineModel>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let bad = |why: String| Error::Config {
        path: path.display().to_string(),
        message: format!(
            "the online checkpoint cannot be used: {why}; move it away to start from the bundle"
        ),
    };
    let c: Checkpoint =
        slipway_learn::exact_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    if c.format != CHECKPOINT_FORMAT {
        return Err(bad(format!("format is \"{}\"", c.format)));
    }
    if c.bundle_pipeline != bundle_pipeline {
        return Ok(None);
    }
    if c.model.n_features != bundled.n_features
        || c.model.n_classes != bundled.n_classes
        || c.model.learner_name() != bundled.learner_name()
    {
        return Err(bad(format!(
            "it holds a {} learner of {} features and {} classes, the bundle a {} of {} and {}",
            c.model.learner_name(),
            c.model.n_features,
            c.model.n_classes,
            bundled.learner_name(),
            bundled.n_features,
            bundled.n_classes
        )));
    }
    Ok(Some(c.model))
}
