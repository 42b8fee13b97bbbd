//! With the `onnx` feature: reading ONNX files and running them with tract.

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use tract_onnx::pb;
use tract_onnx::prelude::*;

use super::{InputType, OnnxInfo, OnnxModel};
use crate::import::model_err;
use crate::{Error, Result, Task};

/// The ai.onnx.ml operators tract evaluates (everything else in that domain is refused).
const ML_OPS: &str =
    "LinearClassifier, LinearRegressor, Normalizer, CategoryMapper, TreeEnsembleClassifier";

/// A tract plan for one input and one output of a model.
pub(crate) struct Plan {
    plan: Arc<TypedRunnableModel>,
    input_type: InputType,
    n_features: usize,
}

impl Plan {
    pub(crate) fn build(model: &OnnxModel) -> Result<Plan> {
        let built = guarded(|| {
            let typed = typed_model(
                &model.onnx,
                &model.output,
                model.input_type,
                model.n_features,
            )?;
            typed
                .into_optimized()
                .and_then(|m| m.into_runnable())
                .map_err(|e| format!("tract cannot prepare the graph: {e:#}"))
        })
        .map_err(Error::Internal)?;
        Ok(Plan {
            plan: built,
            input_type: model.input_type,
            n_features: model.n_features,
        })
    }

    /// Runs `n` rows (row-major in `rows`) and writes the output, row-major, into `out`.
    pub(crate) fn run(&self, rows: &[f64], n: usize, out: &mut [f64]) -> Result<()> {
        let shape = [n, self.n_features];
        let input = match self.input_type {
            InputType::F32 => {
                let v: Vec<f32> = rows.iter().map(|&x| x as f32).collect();
                Tensor::from_shape(&shape, &v)
            }
            InputType::F64 => Tensor::from_shape(&shape, rows),
        }
        .map_err(|e| Error::Internal(format!("ONNX input tensor: {e:#}")))?;
        let result = guarded(|| {
            self.plan
                .run(tvec!(input.into_tvalue()))
                .map_err(|e| format!("tract failed to evaluate the ONNX model: {e:#}"))
        })
        .map_err(Error::Internal)?;
        let t = result[0]
            .cast_to::<f64>()
            .map_err(|e| Error::Internal(format!("ONNX output: {e:#}")))?;
        let view = t
            .try_as_plain_ram()
            .map_err(|e| Error::Internal(format!("ONNX output: {e:#}")))?;
        let v = view
            .as_slice::<f64>()
            .map_err(|e| Error::Internal(format!("ONNX output: {e:#}")))?;
        if v.len() != out.len() {
            return Err(Error::Internal(format!(
                "the ONNX model's output has shape {:?} for {n} rows; {} values were expected",
                t.shape(),
                out.len()
            )));
        }
        out.copy_from_slice(v);
        Ok(())
    }
}

/// Runs `f`, turning a panic inside tract into an error: a model file must never bring the
/// process down.
fn guarded<T>(
    f: impl FnOnce() -> std::result::Result<T, String>,
) -> std::result::Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(format!("tract panicked on this model: {what}"))
    })
}

fn decode(bytes: &[u8]) -> std::result::Result<pb::ModelProto, String> {
    onnx()
        .proto_model_for_read(&mut &bytes[..])
        .map_err(|e| format!("not an ONNX model (a protobuf ModelProto): {e:#}"))
}

/// The model as tract types it: input 0 a `[N, n_features]` tensor, only `output` kept (the
/// graph that computes nothing else is dropped, such as skl2onnx's `label` branch, which
/// may use operators tract lacks).
fn typed_model(
    bytes: &[u8],
    output: &str,
    input_type: InputType,
    n_features: usize,
) -> std::result::Result<TypedModel, String> {
    let proto = decode(bytes)?;
    let mut model = onnx()
        .model_for_proto_model(&proto)
        .map_err(|e| format!("tract cannot read the graph: {e:#}"))?;
    model
        .select_outputs_by_name([output])
        .map_err(|e| format!("output \"{output}\": {e:#}"))?;
    let batch = model.sym("N");
    let dt = match input_type {
        InputType::F32 => f32::datum_type(),
        InputType::F64 => f64::datum_type(),
    };
    let fact = InferenceFact::dt_shape(dt, tvec![batch.to_dim(), n_features.to_dim()]);
    model
        .set_input_fact(0, fact)
        .map_err(|e| format!("input 0: {e:#}"))?;
    let model = model
        .into_compact()
        .map_err(|e| format!("tract cannot prune the graph: {e:#}"))?;
    let unsupported: Vec<String> = model
        .nodes()
        .iter()
        .filter(|n| n.op.name().contains("Unimplemented"))
        .map(|n| format!("\"{}\" ({})", n.name, n.op.name()))
        .collect();
    if !unsupported.is_empty() {
        return Err(format!(
            "operators tract does not evaluate: {}; tract evaluates the standard ONNX operators and, of ai.onnx.ml, {ML_OPS} (for a scikit-learn StandardScaler convert with options={{'div': 'div'}})",
            unsupported.join(", ")
        ));
    }
    model
        .into_typed()
        .map_err(|e| format!("tract cannot type the graph: {e:#}"))
}

fn elem_name(t: i32) -> String {
    pb::tensor_proto::DataType::try_from(t)
        .map(|d| format!("tensor({})", d.as_str_name().to_ascii_lowercase()))
        .unwrap_or_else(|_| format!("tensor(type {t})"))
}

fn shape_text(shape: Option<&pb::TensorShapeProto>) -> String {
    use pb::tensor_shape_proto::dimension::Value;
    match shape {
        None => "unknown shape".into(),
        Some(s) => format!(
            "[{}]",
            s.dim
                .iter()
                .map(|d| match &d.value {
                    Some(Value::DimValue(v)) => v.to_string(),
                    Some(Value::DimParam(p)) => p.clone(),
                    None => "?".into(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn tensor_type(v: &pb::ValueInfoProto) -> Option<&pb::type_proto::Tensor> {
    match v.r#type.as_ref()?.value.as_ref()? {
        pb::type_proto::Value::TensorType(t) => Some(t),
    }
}

fn describe(v: &pb::ValueInfoProto) -> String {
    match tensor_type(v) {
        Some(t) => format!(
            "\"{}\" {} {}",
            v.name,
            elem_name(t.elem_type),
            shape_text(t.shape.as_ref())
        ),
        None => format!("\"{}\" (not a tensor)", v.name),
    }
}

pub(crate) fn inspect(bytes: &[u8], path: &str) -> Result<OnnxInfo> {
    let proto = decode(bytes).map_err(|m| model_err(path, "file", m))?;
    let graph = proto.graph.as_ref().ok_or_else(|| {
        model_err(
            path,
            "file",
            "holds no graph; is this an ONNX model file (`.onnx`)?",
        )
    })?;
    if graph.node.is_empty() {
        return Err(model_err(
            path,
            "graph",
            "has no nodes; is this an ONNX model file (`.onnx`)?",
        ));
    }
    let initializers: HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !initializers.contains(i.name.as_str()))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(model_err(
            path,
            "inputs",
            format!(
                "the model has {} inputs ({}); Slipway imports models with one 2-D float input [batch, n_features] (skl2onnx: initial_types=[(\"X\", FloatTensorType([None, n]))])",
                inputs.len(),
                inputs
                    .iter()
                    .map(|i| describe(i))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    let at = format!("input \"{}\"", input.name);
    let t = tensor_type(input).ok_or_else(|| model_err(path, &at, "is not a tensor"))?;
    let input_type = match t.elem_type {
        1 => InputType::F32,
        11 => InputType::F64,
        e => {
            return Err(model_err(
                path,
                &at,
                format!(
                    "is {}; Slipway feeds a tensor(float) or tensor(double) [batch, n_features]",
                    elem_name(e)
                ),
            ));
        }
    };
    use pb::tensor_shape_proto::dimension::Value;
    let dims = t.shape.as_ref().map(|s| s.dim.as_slice()).unwrap_or(&[]);
    let n_features = match dims {
        [_, d] => match d.value {
            Some(Value::DimValue(n)) if n > 0 => n as usize,
            _ => 0,
        },
        _ => 0,
    };
    if n_features == 0 {
        return Err(model_err(
            path,
            &at,
            format!(
                "has shape {}; Slipway feeds a 2-D tensor [batch, n_features] whose second dimension is a fixed number of features",
                shape_text(t.shape.as_ref())
            ),
        ));
    }
    let outputs = &graph.output;
    let all_outputs = || outputs.iter().map(describe).collect::<Vec<_>>().join(", ");
    let float_out =
        |v: &pb::ValueInfoProto| tensor_type(v).is_some_and(|t| matches!(t.elem_type, 1 | 11));
    let probabilities = outputs.iter().find(|o| o.name == "probabilities");
    let (output, classifier) = if let Some(p) = probabilities {
        if !float_out(p) {
            return Err(model_err(
                path,
                "output \"probabilities\"",
                format!(
                    "is {}; class probabilities must be a float tensor [batch, n_classes] (skl2onnx: options={{'zipmap': False}})",
                    describe(p)
                ),
            ));
        }
        (p.name.clone(), true)
    } else if let Some(v) = outputs.iter().find(|o| o.name == "variable") {
        (v.name.clone(), false)
    } else {
        let floats: Vec<&pb::ValueInfoProto> = outputs.iter().filter(|o| float_out(o)).collect();
        match floats.as_slice() {
            [one] if outputs.len() == 1 => (one.name.clone(), false),
            _ => {
                return Err(model_err(
                    path,
                    "outputs",
                    format!(
                        "the model's outputs are {}; Slipway reads a classifier's \"probabilities\" [batch, n_classes] (skl2onnx with options={{'zipmap': False}}) or a regressor's single float output (\"variable\")",
                        all_outputs()
                    ),
                ));
            }
        }
    };
    let typed = guarded(|| typed_model(bytes, &output, input_type, n_features))
        .map_err(|m| model_err(path, "graph", m))?;
    let fact = typed
        .output_fact(0)
        .map_err(|e| model_err(path, "graph", format!("{e:#}")))?;
    let shape: Vec<Option<i64>> = fact.shape.iter().map(|d| d.to_i64().ok()).collect();
    let out_at = format!("output \"{output}\"");
    let task = if classifier {
        match shape.as_slice() {
            [_, Some(k)] if *k >= 2 => {
                if *k == 2 {
                    Task::Binary
                } else {
                    Task::Multiclass {
                        n_classes: *k as usize,
                    }
                }
            }
            _ => {
                return Err(model_err(
                    path,
                    &out_at,
                    format!(
                        "has shape {:?}; class probabilities must be [batch, n_classes] with at least 2 classes",
                        fact.shape
                    ),
                ));
            }
        }
    } else {
        match shape.as_slice() {
            [_] | [_, Some(1)] => Task::Regression,
            _ => {
                return Err(model_err(
                    path,
                    &out_at,
                    format!(
                        "has shape {:?}; a regressor's output must be one value per row ([batch] or [batch, 1])",
                        fact.shape
                    ),
                ));
            }
        }
    };
    let class_labels = if classifier {
        class_labels(graph).filter(|l| l.len() == task.n_outputs())
    } else {
        None
    };
    Ok(OnnxInfo {
        input: input.name.clone(),
        input_type,
        n_features,
        output,
        task,
        class_labels,
        producer: format!("{} {}", proto.producer_name, proto.producer_version)
            .trim()
            .to_string(),
        opsets: proto
            .opset_import
            .iter()
            .map(|o| {
                format!(
                    "{} {}",
                    if o.domain.is_empty() {
                        "ai.onnx"
                    } else {
                        &o.domain
                    },
                    o.version
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The class labels a classifier graph records: a classifier operator's `classlabels_ints`
/// / `classlabels_strings`, or the constant that `label` is looked up in (skl2onnx's
/// `ArrayFeatureExtractor(classes, argmax)` after a neural network).
fn class_labels(graph: &pb::GraphProto) -> Option<Vec<String>> {
    for node in &graph.node {
        if node.op_type.ends_with("Classifier") {
            for a in &node.attribute {
                match a.name.as_str() {
                    "classlabels_ints" if !a.ints.is_empty() => {
                        return Some(a.ints.iter().map(i64::to_string).collect());
                    }
                    "classlabels_strings" if !a.strings.is_empty() => {
                        return Some(
                            a.strings
                                .iter()
                                .map(|s| String::from_utf8_lossy(s).into_owned())
                                .collect(),
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    let mut found = graph.node.iter().filter_map(|n| {
        if n.op_type != "ArrayFeatureExtractor" {
            return None;
        }
        let name = n.input.first()?;
        graph.initializer.iter().find(|t| &t.name == name)
    });
    let t = found.next()?;
    if found.next().is_some() {
        return None;
    }
    const INT64: i32 = 7;
    const STRING: i32 = 8;
    match t.data_type {
        INT64 if !t.int64_data.is_empty() => {
            Some(t.int64_data.iter().map(i64::to_string).collect())
        }
        INT64 if t.raw_data.len() % 8 == 0 => Some(
            t.raw_data
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8])).to_string())
                .collect(),
        ),
        STRING => Some(
            t.string_data
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect(),
        ),
        _ => None,
    }
}
