//! MLflow REST 2.0 request and response bodies, and conversions from the store's types.
//!
//! Omission follows MLflow's protobuf JSON: empty lists and unset optional fields are left
//! out; int64 values are numbers (strings are accepted on input); NaN and infinities are the
//! strings `"NaN"`, `"Infinity"` and `"-Infinity"`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use slipway_store::{
    Dataset, DatasetInput, Experiment, KeyValue, LoggedModelMetric, Metric, ModelOutput, Run,
    RunInfo,
};

/// A key/value pair (tag or param).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyValueJson {
    /// The key.
    pub key: String,
    /// The value (a missing value reads as empty).
    #[serde(default)]
    pub value: String,
}

impl From<&KeyValue> for KeyValueJson {
    fn from(kv: &KeyValue) -> Self {
        KeyValueJson {
            key: kv.key.clone(),
            value: kv.value.clone(),
        }
    }
}

impl From<KeyValueJson> for KeyValue {
    fn from(kv: KeyValueJson) -> Self {
        KeyValue::new(kv.key, kv.value)
    }
}

fn kvs(list: &[KeyValue]) -> Vec<KeyValueJson> {
    list.iter().map(KeyValueJson::from).collect()
}

/// Serializes a float the way protobuf JSON does.
pub fn serialize_f64<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_nan() {
        s.serialize_str("NaN")
    } else if v.is_infinite() {
        s.serialize_str(if *v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        s.serialize_f64(*v)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrString {
    Int(i64),
    Float(f64),
    Text(String),
}

/// Reads a float from a number or from `"NaN"`, `"Infinity"`, `"-Infinity"` or a numeric string.
pub fn deserialize_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match NumberOrString::deserialize(d)? {
        NumberOrString::Int(i) => Ok(i as f64),
        NumberOrString::Float(f) => Ok(f),
        NumberOrString::Text(s) => match s.as_str() {
            "NaN" | "nan" => Ok(f64::NAN),
            "Infinity" | "inf" => Ok(f64::INFINITY),
            "-Infinity" | "-inf" => Ok(f64::NEG_INFINITY),
            other => other
                .trim()
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("'{other}' is not a number"))),
        },
    }
}

/// Reads an optional int64 from a number or a numeric string (protobuf JSON allows both).
pub fn deserialize_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<NumberOrString>::deserialize(d)? {
        None => Ok(None),
        Some(NumberOrString::Int(i)) => Ok(Some(i)),
        Some(NumberOrString::Float(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => {
            Ok(Some(f as i64))
        }
        Some(NumberOrString::Float(f)) => {
            Err(serde::de::Error::custom(format!("{f} is not an integer")))
        }
        Some(NumberOrString::Text(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("'{s}' is not an integer"))),
    }
}

/// Reads an optional string from a string or a number (ids arrive both ways).
pub fn deserialize_opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<NumberOrString>::deserialize(d)? {
        None => Ok(None),
        Some(NumberOrString::Int(i)) => Ok(Some(i.to_string())),
        Some(NumberOrString::Float(f)) => Ok(Some(f.to_string())),
        Some(NumberOrString::Text(s)) => Ok(Some(s)),
    }
}

/// A metric value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricJson {
    /// The name.
    pub key: String,
    /// The value.
    #[serde(serialize_with = "serialize_f64", deserialize_with = "deserialize_f64")]
    pub value: f64,
    /// Epoch milliseconds.
    #[serde(default, deserialize_with = "deserialize_opt_i64")]
    pub timestamp: Option<i64>,
    /// Training step (0 when absent).
    #[serde(default, deserialize_with = "deserialize_opt_i64")]
    pub step: Option<i64>,
    /// The logged model the value also measures (MLflow 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The dataset it was computed on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    /// That dataset's digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
}

impl From<&Metric> for MetricJson {
    fn from(m: &Metric) -> Self {
        MetricJson {
            key: m.key.clone(),
            value: m.value,
            timestamp: Some(m.timestamp),
            step: Some(m.step),
            model_id: None,
            dataset_name: None,
            dataset_digest: None,
        }
    }
}

/// A logged model's metric value, with the run that logged it.
#[derive(Debug, Serialize)]
pub struct ModelMetricJson {
    /// The value, its model and dataset.
    #[serde(flatten)]
    pub metric: MetricJson,
    /// The run.
    pub run_id: String,
}

impl From<&LoggedModelMetric> for ModelMetricJson {
    fn from(m: &LoggedModelMetric) -> Self {
        let mut metric = MetricJson::from(&m.metric.metric);
        metric.model_id = Some(m.metric.model_id.clone());
        metric.dataset_name = m.metric.dataset_name.clone();
        metric.dataset_digest = m.metric.dataset_digest.clone();
        ModelMetricJson {
            metric,
            run_id: m.run_id.clone(),
        }
    }
}

/// An experiment.
#[derive(Debug, Serialize)]
pub struct ExperimentJson {
    /// Its id.
    pub experiment_id: String,
    /// Its name.
    pub name: String,
    /// Where its artifacts go.
    pub artifact_location: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: &'static str,
    /// Epoch milliseconds.
    pub last_update_time: i64,
    /// Epoch milliseconds.
    pub creation_time: i64,
    /// Tags (omitted when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValueJson>,
    /// Always `default` (workspaces are not enabled).
    pub workspace: &'static str,
}

impl From<&Experiment> for ExperimentJson {
    fn from(e: &Experiment) -> Self {
        ExperimentJson {
            experiment_id: e.experiment_id.clone(),
            name: e.name.clone(),
            artifact_location: e.artifact_location.clone(),
            lifecycle_stage: e.lifecycle_stage.as_str(),
            last_update_time: e.last_update_time,
            creation_time: e.creation_time,
            tags: kvs(&e.tags),
            workspace: "default",
        }
    }
}

/// A run's metadata; carries the id as both `run_uuid` and `run_id`.
#[derive(Debug, Serialize)]
pub struct RunInfoJson {
    /// The id (legacy name).
    pub run_uuid: String,
    /// Its experiment.
    pub experiment_id: String,
    /// Its name.
    pub run_name: String,
    /// Who started it.
    pub user_id: String,
    /// `RUNNING`, `FINISHED`, ...
    pub status: &'static str,
    /// Epoch milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<i64>,
    /// Epoch milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Where its artifacts go.
    pub artifact_uri: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: &'static str,
    /// The id.
    pub run_id: String,
}

impl From<&RunInfo> for RunInfoJson {
    fn from(i: &RunInfo) -> Self {
        RunInfoJson {
            run_uuid: i.run_id.clone(),
            experiment_id: i.experiment_id.clone(),
            run_name: i.run_name.clone(),
            user_id: i.user_id.clone(),
            status: i.status.as_str(),
            start_time: i.start_time,
            end_time: i.end_time,
            artifact_uri: i.artifact_uri.clone(),
            lifecycle_stage: i.lifecycle_stage.as_str(),
            run_id: i.run_id.clone(),
        }
    }
}

/// A run's metrics (latest per key), params and tags.
#[derive(Debug, Serialize)]
pub struct RunDataJson {
    /// Latest value per metric key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricJson>,
    /// Params.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<KeyValueJson>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValueJson>,
}

/// A dataset (MLflow's `Dataset` message).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetJson {
    /// Its name.
    pub name: String,
    /// A hash of its content.
    pub digest: String,
    /// Kind of source.
    pub source_type: String,
    /// Where it came from (a missing source reads as empty).
    #[serde(default)]
    pub source: String,
    /// Its schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Summary statistics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// A dataset a run consumed, with the input's tags.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetInputJson {
    /// Tags of the input (`mlflow.data.context`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValueJson>,
    /// The dataset.
    pub dataset: DatasetJson,
}

impl From<&DatasetInput> for DatasetInputJson {
    fn from(i: &DatasetInput) -> Self {
        let d = &i.dataset;
        DatasetInputJson {
            tags: kvs(&i.tags),
            dataset: DatasetJson {
                name: d.name.clone(),
                digest: d.digest.clone(),
                source_type: d.source_type.clone(),
                source: d.source.clone(),
                schema: d.schema.clone(),
                profile: d.profile.clone(),
            },
        }
    }
}

impl From<DatasetInputJson> for DatasetInput {
    fn from(i: DatasetInputJson) -> Self {
        let d = i.dataset;
        DatasetInput {
            dataset: Dataset {
                name: d.name,
                digest: d.digest,
                source_type: d.source_type,
                source: d.source,
                schema: d.schema,
                profile: d.profile,
            },
            tags: i.tags.into_iter().map(KeyValue::from).collect(),
        }
    }
}

/// A logged model a run consumed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelInputJson {
    /// The logged model's id.
    pub model_id: String,
}

/// What a run consumed.
#[derive(Debug, Serialize)]
pub struct RunInputsJson {
    /// Datasets, in the order first logged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dataset_inputs: Vec<DatasetInputJson>,
    /// Logged models, in the order first logged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub model_inputs: Vec<ModelInputJson>,
}

/// A model a run produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelOutputJson {
    /// The logged model's id.
    pub model_id: String,
    /// The step it was logged at.
    #[serde(default, deserialize_with = "deserialize_opt_i64")]
    pub step: Option<i64>,
}

/// Models a run produced.
#[derive(Debug, Serialize)]
pub struct RunOutputsJson {
    /// The models.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub model_outputs: Vec<ModelOutputJson>,
}

/// A whole run.
#[derive(Debug, Serialize)]
pub struct RunJson {
    /// Metadata.
    pub info: RunInfoJson,
    /// Metrics, params, tags.
    pub data: RunDataJson,
    /// Inputs.
    pub inputs: RunInputsJson,
    /// Outputs.
    pub outputs: RunOutputsJson,
}

impl From<&Run> for RunJson {
    fn from(r: &Run) -> Self {
        RunJson {
            info: RunInfoJson::from(&r.info),
            data: RunDataJson {
                metrics: r.metrics.iter().map(MetricJson::from).collect(),
                params: kvs(&r.params),
                tags: kvs(&r.tags),
            },
            inputs: RunInputsJson {
                dataset_inputs: r
                    .dataset_inputs
                    .iter()
                    .map(DatasetInputJson::from)
                    .collect(),
                model_inputs: r
                    .model_inputs
                    .iter()
                    .map(|id| ModelInputJson {
                        model_id: id.clone(),
                    })
                    .collect(),
            },
            outputs: RunOutputsJson {
                model_outputs: r
                    .model_outputs
                    .iter()
                    .map(|o: &ModelOutput| ModelOutputJson {
                        model_id: o.model_id.clone(),
                        step: Some(o.step),
                    })
                    .collect(),
            },
        }
    }
}
