//! ONNX models (`models import --onnx`): linear models and neural networks exported by
//! skl2onnx (or any tool writing the same shape of graph), evaluated by `tract`.
//!
//! - [`parse`] reads an ONNX file: one 2-D float input `[batch, n_features]`, and either a
//!   class-probability output (`probabilities`, as skl2onnx writes a classifier with
//!   `zipmap: False`) or one value per row (`variable`, a regressor). The class labels come
//!   from the classifier's `classlabels_*` attribute or the tensor its `label` output is
//!   looked up in.
//! - [`onnx_pipeline`] matches the input's features to numeric columns of a sample table
//!   (named with `--inputs`, or every numeric column in order) and returns an ordinary
//!   [`FittedPipeline`] holding an [`OnnxModel`]: the ONNX bytes themselves (stored in
//!   `pipeline.json`, so the bundle's checksums cover them) and which tensors to read.
//!
//! Evaluation needs the `onnx` Cargo feature (tract is a large dependency the default build
//! does not pay for). Without it everything here still compiles and a bundle holding an ONNX
//! model still loads as data, but preparing it (which [`crate::bundle::load_bundle`] does) is
//! an [`Error::NotCompiled`], as candle's stub backends answer when CUDA is not compiled in.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use slipway_data::{DataType, Role, Table};

use super::{ImportedSpec, model_err};
use crate::pipeline::{FittedModel, FittedPipeline, ModelSpec, TargetInfo};
use crate::preprocess::{ColumnTransform, FittedColumn, FittedPreprocessor};
use crate::{Error, Matrix, Prediction, Predictor, Result, Task};

/// Rows per call into tract (blocks run in parallel).
const PREDICT_BLOCK: usize = 1024;

/// The element type of the model's input tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    /// `tensor(float)`: skl2onnx's `FloatTensorType`.
    F32,
    /// `tensor(double)`: `DoubleTensorType`.
    F64,
}

/// An ONNX model as a pipeline holds it: the file's bytes and which tensors to use. Its
/// tract plan is built once, on first use ([`OnnxModel::prepare`]).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnnxModel {
    /// The ONNX file, as imported.
    #[serde(with = "base64_bytes")]
    onnx: Vec<u8>,
    /// The input tensor's name.
    input: String,
    /// Its element type.
    input_type: InputType,
    /// Its second dimension: the number of features.
    n_features: usize,
    /// The output read: class probabilities `[batch, n_classes]` or values `[batch]` /
    /// `[batch, 1]`.
    output: String,
    /// The task, from the output.
    task: Task,
    #[serde(skip)]
    plan: OnceLock<Arc<runtime::Plan>>,
}

impl PartialEq for OnnxModel {
    fn eq(&self, other: &Self) -> bool {
        self.onnx == other.onnx
            && self.input == other.input
            && self.input_type == other.input_type
            && self.n_features == other.n_features
            && self.output == other.output
            && self.task == other.task
    }
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("bytes", &self.onnx.len())
            .field("input", &self.input)
            .field("input_type", &self.input_type)
            .field("n_features", &self.n_features)
            .field("output", &self.output)
            .field("task", &self.task)
            .field("prepared", &self.plan.get().is_some())
            .finish()
    }
}

impl OnnxModel {
    /// The input tensor's name.
    pub fn input_name(&self) -> &str {
        &self.input
    }

    /// The output tensor read.
    pub fn output_name(&self) -> &str {
        &self.output
    }

    /// The number of features the input takes.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The ONNX file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.onnx
    }

    /// Builds the tract plan (once); without the `onnx` feature, [`Error::NotCompiled`].
    pub fn prepare(&self) -> Result<()> {
        self.plan().map(drop)
    }

    fn plan(&self) -> Result<&Arc<runtime::Plan>> {
        if let Some(p) = self.plan.get() {
            return Ok(p);
        }
        let plan = runtime::Plan::build(self)?;
        Ok(self.plan.get_or_init(|| Arc::new(plan)))
    }
}

impl Predictor for OnnxModel {
    fn task(&self) -> Task {
        self.task
    }

    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        if x.n_cols() != self.n_features {
            return Err(Error::SchemaMismatch(format!(
                "the ONNX model's input \"{}\" takes {} features, the input has {} columns",
                self.input,
                self.n_features,
                x.n_cols()
            )));
        }
        let plan = self.plan()?;
        let n = x.n_rows();
        let k = self.task.n_outputs();
        let nf = self.n_features;
        let mut out = vec![0.0; n * k];
        out.par_chunks_mut(PREDICT_BLOCK * k)
            .enumerate()
            .try_for_each(|(bi, o)| -> Result<()> {
                let r0 = bi * PREDICT_BLOCK;
                let nr = o.len() / k;
                let mut rows = vec![0.0f64; nr * nf];
                for f in 0..nf {
                    let c = &x.as_col_major()[f * n + r0..f * n + r0 + nr];
                    for (i, &v) in c.iter().enumerate() {
                        rows[i * nf + f] = v;
                    }
                }
                plan.run(&rows, nr, o)
            })?;
        match self.task {
            Task::Regression => Ok(Prediction::Values(out)),
            Task::Binary | Task::Multiclass { .. } => {
                let mut data = vec![0.0; n * k];
                for (i, p) in out.chunks_exact(k).enumerate() {
                    for (c, &v) in p.iter().enumerate() {
                        data[c * n + i] = v;
                    }
                }
                Ok(Prediction::Probabilities(Matrix::from_col_major(
                    n, k, data,
                )?))
            }
        }
    }
}

/// A parsed ONNX file.
#[derive(Debug, Clone)]
pub struct OnnxFile {
    /// The model.
    pub model: OnnxModel,
    /// Class labels the file records (classifiers), in probability-column order.
    pub class_labels: Option<Vec<String>>,
    /// The tool that wrote it (`skl2onnx 1.20.0`).
    pub producer: String,
    /// The operator sets it imports (`ai.onnx 17, ai.onnx.ml 3`).
    pub opsets: String,
}

/// Reads an ONNX file (`path` names it in errors) and checks that tract can evaluate it: one
/// 2-D float input, and a `probabilities` output (classifier) or a single value output
/// (regressor). Every error is an [`Error::ModelFile`] naming the tensor and the rule; no
/// input makes it panic. Needs the `onnx` feature.
pub fn parse(bytes: Vec<u8>, path: &str) -> Result<OnnxFile> {
    let info = runtime::inspect(&bytes, path)?;
    let model = OnnxModel {
        onnx: bytes,
        input: info.input,
        input_type: info.input_type,
        n_features: info.n_features,
        output: info.output,
        task: info.task,
        plan: OnceLock::new(),
    };
    // Built now, so that a graph tract cannot run is refused at import with tract's reason.
    model.prepare().map_err(|e| match e {
        Error::Internal(m) => model_err(path, "graph", m),
        e => e,
    })?;
    Ok(OnnxFile {
        model,
        class_labels: info.class_labels,
        producer: info.producer,
        opsets: info.opsets,
    })
}

/// What [`parse`] learned from the file, before tract prepares it.
#[cfg_attr(not(feature = "onnx"), allow(dead_code))]
pub(crate) struct OnnxInfo {
    input: String,
    input_type: InputType,
    n_features: usize,
    output: String,
    task: Task,
    class_labels: Option<Vec<String>>,
    producer: String,
    opsets: String,
}

/// Builds the pipeline of an imported ONNX model. Its features are the sample's columns
/// named in `inputs`, or (when `None`) every numeric column of the sample in order; either
/// way there must be exactly as many as the input tensor's second dimension, each numeric
/// (integer, float or boolean: passed as numbers, missing as NaN). `classes` names the class
/// labels in probability-column order (default: the labels the file records, else `0..k`).
pub fn onnx_pipeline(
    file: OnnxFile,
    spec: ImportedSpec,
    sample: &Table,
    sample_name: &str,
    inputs: Option<&[String]>,
    classes: Option<Vec<String>>,
) -> Result<FittedPipeline> {
    let model = file.model;
    let nf = model.n_features;
    let fields = &sample.schema().fields;
    let numeric =
        |t: DataType| matches!(t, DataType::Integer | DataType::Float | DataType::Boolean);
    let chosen: Vec<&slipway_data::Field> = match inputs {
        Some(names) => {
            let mut chosen = Vec::with_capacity(names.len());
            for name in names {
                let f = fields.iter().find(|f| &f.name == name).ok_or_else(|| {
                    Error::InvalidData(format!(
                        "--inputs names column \"{name}\", which is not a column of the sample {sample_name} (its columns: {})",
                        sample.schema().names().join(", ")
                    ))
                })?;
                if chosen
                    .iter()
                    .any(|c: &&slipway_data::Field| c.name == f.name)
                {
                    return Err(Error::InvalidData(format!(
                        "--inputs names column \"{name}\" twice"
                    )));
                }
                if !numeric(f.dtype) {
                    return Err(Error::InvalidData(format!(
                        "sample column \"{name}\" is {}; the ONNX model's input \"{}\" takes numbers, so every column in --inputs must be numeric",
                        f.dtype, model.input
                    )));
                }
                chosen.push(f);
            }
            chosen
        }
        None => fields.iter().filter(|f| numeric(f.dtype)).collect(),
    };
    if chosen.len() != nf {
        let names: Vec<&str> = chosen.iter().map(|f| f.name.as_str()).collect();
        let skipped: Vec<String> = fields
            .iter()
            .filter(|f| !numeric(f.dtype))
            .map(|f| format!("{} ({})", f.name, f.dtype))
            .collect();
        return Err(Error::InvalidData(match inputs {
            Some(_) => format!(
                "the ONNX model's input \"{}\" takes {nf} features (shape [batch, {nf}]), but --inputs names {}: {}",
                model.input,
                names.len(),
                names.join(", ")
            ),
            None => format!(
                "the ONNX model's input \"{}\" takes {nf} features (shape [batch, {nf}]), but the sample {sample_name} has {} numeric columns: {}{}; name the model's features in order with --inputs col1,col2,...",
                model.input,
                names.len(),
                names.join(", "),
                if skipped.is_empty() {
                    String::new()
                } else {
                    format!(" (not numeric, so not counted: {})", skipped.join(", "))
                }
            ),
        }));
    }
    let columns: Vec<FittedColumn> = chosen
        .iter()
        .map(|f| FittedColumn {
            name: f.name.clone(),
            dtype: f.dtype,
            transform: ColumnTransform::Numeric {
                fill: None,
                scale: None,
            },
        })
        .collect();
    let mut schema = sample.schema().clone();
    for f in &mut schema.fields {
        f.role = if columns.iter().any(|c| c.name == f.name) {
            Role::Feature
        } else {
            Role::Ignored
        };
    }
    let k = model.task.n_outputs();
    let classes = match model.task {
        Task::Regression => {
            if classes.is_some() {
                return Err(Error::InvalidData(format!(
                    "--classes was given, but the ONNX model is a regressor (output \"{}\" holds one value per row)",
                    model.output
                )));
            }
            Vec::new()
        }
        _ => {
            let (classes, from) = match (classes, file.class_labels) {
                (Some(c), _) => (c, "--classes"),
                (None, Some(c)) => (c, "the model file's class labels"),
                (None, None) => ((0..k).map(|c| c.to_string()).collect(), "default"),
            };
            if classes.len() != k {
                return Err(Error::InvalidData(format!(
                    "{from} name {} classes ({}), but the ONNX model's output \"{}\" has {k} probability columns",
                    classes.len(),
                    classes.join(", "),
                    model.output
                )));
            }
            let mut seen = std::collections::HashSet::new();
            if let Some(dup) = classes.iter().find(|c| !seen.insert(c.as_str())) {
                return Err(Error::InvalidData(format!(
                    "{from} name class \"{dup}\" twice"
                )));
            }
            classes
        }
    };
    Ok(FittedPipeline {
        schema,
        target: TargetInfo {
            name: "label".into(),
            task: model.task,
            classes,
        },
        spec: ModelSpec::Imported(spec),
        preprocessor: FittedPreprocessor {
            columns,
            skipped: Vec::new(),
            knn: None,
            steps: Vec::new(),
        },
        model: FittedModel::Onnx(model),
        calibration: None,
        decision_threshold: None,
        declared_types: BTreeMap::new(),
    })
}

/// The ONNX bytes as one base64 string in `pipeline.json`.
mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("the ONNX model is not base64: {e}")))
    }
}

#[cfg(not(feature = "onnx"))]
mod runtime {
    //! Without the `onnx` feature: the same calls, each answering [`Error::NotCompiled`].
    use super::{OnnxInfo, OnnxModel};
    use crate::{Error, Result};

    const REBUILD: &str = "rebuild with `cargo install --path crates/slipway --features onnx` (or `cargo run --features onnx`)";

    /// Never built without the feature.
    pub(crate) enum Plan {}

    fn not_compiled(what: &str) -> Error {
        Error::NotCompiled {
            feature: "onnx",
            message: format!(
                "{what}; this slipway was built without the `onnx` feature; {REBUILD}"
            ),
        }
    }

    impl Plan {
        pub(crate) fn build(_model: &OnnxModel) -> Result<Plan> {
            Err(not_compiled("this bundle holds an ONNX model"))
        }

        pub(crate) fn run(&self, _rows: &[f64], _n: usize, _out: &mut [f64]) -> Result<()> {
            match *self {}
        }
    }

    pub(crate) fn inspect(_bytes: &[u8], path: &str) -> Result<OnnxInfo> {
        Err(not_compiled(&format!("{path} is an ONNX model")))
    }
}

#[cfg(feature = "onnx")]
#[path = "onnx_tract.rs"]
mod runtime;
