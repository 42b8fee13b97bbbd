//! `models import` and `models export`: models trained by LightGBM or XGBoost, and ONNX
//! models (the `onnx` feature), become ordinary bundles, and Slipway GBDT bundles become
//! LightGBM text models.
//!
//! An import reads the model file with Slipway's own parser, matches its features to the
//! columns of a sample data file (read as `predict` reads files), and writes a bundle as
//! `train` does: the pipeline, a profile of the sample as the drift baseline, the original
//! model file, a manifest and an `MLmodel` file, read back and checked to predict sample rows
//! bit for bit before it takes its name.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use slipway_data::ingest::{self, ReadOptions};
use slipway_data::profile;
use slipway_learn::Task;
use slipway_learn::bundle::{self, BundleContents, DataLineage, Lineage};
use slipway_learn::import::{self as learn_import, ImportedSpec, Library, lightgbm, onnx, xgboost};
use slipway_learn::pipeline::{FittedModel, ModelSpec};

use crate::{Error, Result};

/// Sample rows a written bundle is checked against.
const VERIFY_ROWS: usize = 256;

/// What `models import` reads and writes.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    /// The library that trained the model.
    pub library: Library,
    /// The model file: LightGBM text (`model.txt`), XGBoost JSON (`model.json`) or ONNX
    /// (`model.onnx`).
    pub model_file: PathBuf,
    /// A data file (CSV, Parquet, JSON lines) whose columns give the input schema.
    pub sample: PathBuf,
    /// The model's name in the bundle.
    pub name: String,
    /// The bundle directory to write.
    pub output: PathBuf,
    /// ONNX: the sample columns fed to the model's input, in order (default: every numeric
    /// column of the sample, in order).
    pub inputs: Option<Vec<String>>,
    /// ONNX classifiers: the class labels in probability-column order (default: the labels
    /// the file records, else `0`, `1`, ...).
    pub classes: Option<Vec<String>>,
}

/// What `models import` did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportOutcome {
    /// The model's name.
    pub name: String,
    /// The library that trained it.
    pub library: Library,
    /// The objective, as the model file names it.
    pub objective: String,
    /// The task it solves.
    pub task: Task,
    /// Number of trees (0 for an ONNX model).
    pub trees: usize,
    /// The input columns, in the model's feature order.
    pub inputs: Vec<String>,
    /// Input columns given as text and mapped to the model's category codes.
    pub categorical_inputs: Vec<String>,
    /// Sample columns the model does not use.
    pub ignored_columns: Vec<String>,
    /// Class labels in the model's order (empty for regression).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<String>,
    /// Rows in the sample.
    pub sample_rows: usize,
    /// The bundle written.
    pub bundle: PathBuf,
}

/// What `models export` did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportOutcome {
    /// The bundle read.
    pub model: PathBuf,
    /// The file written.
    pub output: PathBuf,
    /// The format written.
    pub library: Library,
    /// Number of trees written.
    pub trees: usize,
    /// Parts of the bundle the written model does not hold.
    pub notes: Vec<String>,
}

pub(crate) fn import(req: &ImportRequest) -> Result<ImportOutcome> {
    let path = req.model_file.display().to_string();
    let bytes = std::fs::read(&req.model_file).map_err(|e| Error::io(&req.model_file, e))?;
    if req.library != Library::Onnx && (req.inputs.is_some() || req.classes.is_some()) {
        return Err(slipway_learn::Error::InvalidData(format!(
            "--inputs and --classes are for ONNX models; a {} model names its features and classes itself",
            req.library
        ))
        .into());
    }
    let file = match req.library {
        Library::Onnx => {
            let file = onnx::parse(bytes.clone(), &path)?;
            let spec = ImportedSpec {
                library: Library::Onnx,
                file: path.clone(),
                sha256: bundle::sha256(&bytes),
                objective: file.model.output_name().to_string(),
                format_version: [file.producer.as_str(), file.opsets.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            let sample = ingest::read_table(&req.sample, &ReadOptions::default())?;
            let sample_name = req.sample.display().to_string();
            let pipeline = onnx::onnx_pipeline(
                file,
                spec,
                &sample,
                &sample_name,
                req.inputs.as_deref(),
                req.classes.clone(),
            )?;
            return write_imported(req, pipeline, &sample, bytes, "source_model.onnx");
        }
        Library::Lightgbm => {
            let text = std::str::from_utf8(&bytes).map_err(|e| {
                slipway_learn::Error::ModelFile {
                    path: path.clone(),
                    at: format!("byte {}", e.valid_up_to()),
                    message: "not UTF-8 text; a LightGBM model is saved as text with Booster.save_model(\"model.txt\")".into(),
                }
            })?;
            lightgbm::parse(text, &path)?
        }
        Library::Xgboost => xgboost::parse(&bytes, &path)?,
    };
    let sample = ingest::read_table(&req.sample, &ReadOptions::default())?;
    let spec = ImportedSpec {
        library: req.library,
        file: path.clone(),
        sha256: bundle::sha256(&bytes),
        objective: file.model.objective().to_string(),
        format_version: file.format_version.clone(),
    };
    let sample_name = req.sample.display().to_string();
    let pipeline = learn_import::import_pipeline(file, spec, &sample, &sample_name)?;
    let source_name = match req.library {
        Library::Lightgbm => "source_model.txt",
        Library::Xgboost => "source_model.json",
        Library::Onnx => "source_model.onnx",
    };
    write_imported(req, pipeline, &sample, bytes, source_name)
}

/// Writes the bundle of an imported pipeline (checked against sample rows) and says what was
/// imported.
fn write_imported(
    req: &ImportRequest,
    pipeline: slipway_learn::pipeline::FittedPipeline,
    sample: &slipway_data::Table,
    bytes: Vec<u8>,
    source_name: &str,
) -> Result<ImportOutcome> {
    let sample_name = req.sample.display().to_string();
    let baseline = profile::profile(sample);
    let verify_rows = crate::predict::sample_rows(sample, VERIFY_ROWS)?;
    let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    bundle::write_verified_bundle(
        &req.output,
        BundleContents {
            name: &req.name,
            created_at: &created_at,
            pipeline: &pipeline,
            profile: &baseline,
            metrics: Default::default(),
            lineage: Lineage {
                data: vec![DataLineage {
                    role: "sample".into(),
                    path: sample_name,
                    fingerprint: ingest::fingerprint(&req.sample)?,
                    rows: sample.n_rows(),
                }],
                config_fingerprint: None,
                seed: 0,
                slipway_version: env!("CARGO_PKG_VERSION").into(),
            },
            extra_files: vec![(source_name.into(), bytes)],
        },
        Some(&verify_rows),
    )?;
    let (objective, trees) = match (&pipeline.model, &pipeline.spec) {
        (FittedModel::Imported(m), _) => (m.objective().to_string(), m.n_trees()),
        (FittedModel::Onnx(_), ModelSpec::Imported(s)) => (s.objective.clone(), 0),
        _ => {
            return Err(Error::Internal(
                "import built a pipeline without an imported model".into(),
            ));
        }
    };
    let inputs: Vec<String> = pipeline
        .preprocessor
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect();
    Ok(ImportOutcome {
        name: req.name.clone(),
        library: req.library,
        objective,
        task: pipeline.target.task,
        trees,
        categorical_inputs: pipeline
            .preprocessor
            .columns
            .iter()
            .filter(|c| {
                matches!(
                    c.transform,
                    slipway_learn::preprocess::ColumnTransform::Categorical { .. }
                )
            })
            .map(|c| c.name.clone())
            .collect(),
        ignored_columns: sample
            .schema()
            .names()
            .into_iter()
            .filter(|n| !inputs.iter().any(|i| i == n))
            .map(str::to_string)
            .collect(),
        inputs,
        classes: pipeline.target.classes.clone(),
        sample_rows: sample.n_rows(),
        bundle: req.output.clone(),
    })
}

pub(crate) fn export(model: &Path, library: Library, output: &Path) -> Result<ExportOutcome> {
    if library != Library::Lightgbm {
        return Err(slipway_learn::Error::InvalidData(format!(
            "models can be written as LightGBM text models only, not {library}"
        ))
        .into());
    }
    let b = bundle::load_bundle(model)?;
    let export = lightgbm::export(&b.pipeline)?;
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    // Written beside the target and renamed, so a failure never leaves half a model.
    let staging = output.with_file_name(format!(
        ".{}.partial-{}",
        output
            .file_name()
            .map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned()),
        std::process::id()
    ));
    std::fs::write(&staging, export.text.as_bytes()).map_err(|e| Error::io(&staging, e))?;
    std::fs::rename(&staging, output).map_err(|e| {
        let _ = std::fs::remove_file(&staging);
        Error::io(output, e)
    })?;
    Ok(ExportOutcome {
        model: model.to_path_buf(),
        output: output.to_path_buf(),
        library,
        trees: export.n_trees,
        notes: export.notes,
    })
}
