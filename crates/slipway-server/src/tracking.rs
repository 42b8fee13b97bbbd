//! MLflow tracking endpoints: experiments, runs, metrics. Each handler extracts, calls the
//! store, and serializes.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use slipway_store::uri;
use slipway_store::{
    DatasetInput, ExperimentFilter, ExperimentQuery, KeyValue, LogBatch, Metric, ModelMetric,
    ModelOutput, NewExperiment, NewRun, OrderBy, RunFilter, RunQuery, RunStatus, RunUpdate,
    ViewType,
};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::wire::{
    DatasetInputJson, ExperimentJson, KeyValueJson, MetricJson, ModelInputJson, ModelOutputJson,
    RunInfoJson, RunJson, deserialize_opt_i64, deserialize_opt_string,
};

type St = State<Arc<AppState>>;

/// Default page size of `experiments/search` and `runs/search`.
const DEFAULT_SEARCH_RESULTS: i64 = 1000;
/// Default page size of `metrics/get-history`.
const DEFAULT_HISTORY_RESULTS: i64 = 25_000;

fn empty() -> Json<Value> {
    Json(json!({}))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn required(value: Option<String>, field: &str) -> ApiResult<String> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing(field))
}

fn page_size(value: Option<i64>, default: i64) -> ApiResult<usize> {
    let v = value.unwrap_or(default);
    if v <= 0 {
        return Err(ApiError::invalid(format!(
            "Invalid value {v} for parameter 'max_results': it must be a positive integer"
        )));
    }
    Ok(v as usize)
}

fn view_type(value: Option<&str>) -> ApiResult<ViewType> {
    match value {
        None | Some("") => Ok(ViewType::ActiveOnly),
        Some(v) => Ok(ViewType::parse(v)?),
    }
}

/// `run_id` or its legacy twin `run_uuid`.
#[derive(Debug, Deserialize)]
pub struct RunRef {
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_uuid: Option<String>,
}

impl RunRef {
    fn id(self) -> ApiResult<String> {
        required(
            self.run_id.filter(|v| !v.is_empty()).or(self.run_uuid),
            "run_id",
        )
    }
}

// ---- experiments ----

/// `experiments/create` body.
#[derive(Debug, Deserialize)]
pub struct CreateExperiment {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    artifact_location: Option<String>,
    #[serde(default)]
    tags: Vec<KeyValueJson>,
}

/// `POST experiments/create`
pub async fn create_experiment(
    State(s): St,
    ApiJson(req): ApiJson<CreateExperiment>,
) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    if let Some(location) = req.artifact_location.as_deref().filter(|l| !l.is_empty()) {
        uri::check_stored_uri(
            uri::UriField::ArtifactLocation,
            location,
            &s.artifacts.root_uri(),
        )?;
    }
    let id = s
        .meta
        .create_experiment(NewExperiment {
            name,
            artifact_location: req.artifact_location,
            tags: req.tags.into_iter().map(KeyValue::from).collect(),
        })
        .await?;
    Ok(Json(json!({ "experiment_id": id })))
}

/// `experiments/get` query.
#[derive(Debug, Deserialize)]
pub struct ExperimentRef {
    #[serde(default)]
    experiment_id: Option<String>,
}

/// Response body.
#[derive(Serialize)]
pub struct ExperimentResponse {
    experiment: ExperimentJson,
}

/// `GET experiments/get`
pub async fn get_experiment(
    State(s): St,
    ApiQuery(q): ApiQuery<ExperimentRef>,
) -> ApiResult<Json<ExperimentResponse>> {
    let id = required(q.experiment_id, "experiment_id")?;
    let e = s.meta.get_experiment(&id).await?;
    Ok(Json(ExperimentResponse {
        experiment: ExperimentJson::from(&e),
    }))
}

/// `experiments/get-by-name` query.
#[derive(Debug, Deserialize)]
pub struct ExperimentByName {
    #[serde(default)]
    experiment_name: Option<String>,
}

/// `GET experiments/get-by-name`
pub async fn get_experiment_by_name(
    State(s): St,
    ApiQuery(q): ApiQuery<ExperimentByName>,
) -> ApiResult<Json<ExperimentResponse>> {
    let name = required(q.experiment_name, "experiment_name")?;
    let e = s.meta.get_experiment_by_name(&name).await?;
    Ok(Json(ExperimentResponse {
        experiment: ExperimentJson::from(&e),
    }))
}

/// `experiments/search` body.
#[derive(Debug, Deserialize)]
pub struct SearchExperiments {
    #[serde(default, deserialize_with = "deserialize_opt_i64")]
    max_results: Option<i64>,
    #[serde(default)]
    page_token: Option<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    order_by: Vec<String>,
    #[serde(default)]
    view_type: Option<String>,
}

/// Response body.
#[derive(Serialize)]
pub struct SearchExperimentsResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    experiments: Vec<ExperimentJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// `POST experiments/search`
pub async fn search_experiments(
    State(s): St,
    ApiJson(req): ApiJson<SearchExperiments>,
) -> ApiResult<Json<SearchExperimentsResponse>> {
    let query = ExperimentQuery {
        filter: ExperimentFilter::parse(req.filter.as_deref().unwrap_or(""))?,
        order_by: req
            .order_by
            .iter()
            .map(|o| OrderBy::parse_for_experiments(o))
            .collect::<Result<_, _>>()?,
        view_type: view_type(req.view_type.as_deref())?,
        max_results: page_size(req.max_results, DEFAULT_SEARCH_RESULTS)?,
        page_token: req.page_token,
    };
    let page = s.meta.search_experiments(&query).await?;
    Ok(Json(SearchExperimentsResponse {
        experiments: page.items.iter().map(ExperimentJson::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// `experiments/delete` and `experiments/restore` body.
#[derive(Debug, Deserialize)]
pub struct ExperimentIdBody {
    #[serde(default, deserialize_with = "deserialize_opt_string")]
    experiment_id: Option<String>,
}

/// `POST experiments/delete`
pub async fn delete_experiment(
    State(s): St,
    ApiJson(req): ApiJson<ExperimentIdBody>,
) -> ApiResult<Json<Value>> {
    let id = required(req.experiment_id, "experiment_id")?;
    s.meta.delete_experiment(&id).await?;
    Ok(empty())
}

/// `POST experiments/restore`
pub async fn restore_experiment(
    State(s): St,
    ApiJson(req): ApiJson<ExperimentIdBody>,
) -> ApiResult<Json<Value>> {
    let id = required(req.experiment_id, "experiment_id")?;
    s.meta.restore_experiment(&id).await?;
    Ok(empty())
}

/// `experiments/update` body.
#[derive(Debug, Deserialize)]
pub struct UpdateExperiment {
    #[serde(default, deserialize_with = "deserialize_opt_string")]
    experiment_id: Option<String>,
    #[serde(default)]
    new_name: Option<String>,
}

/// `POST experiments/update`
pub async fn update_experiment(
    State(s): St,
    ApiJson(req): ApiJson<UpdateExperiment>,
) -> ApiResult<Json<Value>> {
    let id = required(req.experiment_id, "experiment_id")?;
    if let Some(name) = req.new_name.filter(|n| !n.is_empty()) {
        s.meta.rename_experiment(&id, &name).await?;
    } else {
        s.meta.get_experiment(&id).await?;
    }
    Ok(empty())
}

/// `experiments/set-experiment-tag` body.
#[derive(Debug, Deserialize)]
pub struct SetExperimentTag {
    #[serde(default, deserialize_with = "deserialize_opt_string")]
    experiment_id: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

/// `POST experiments/set-experiment-tag`
pub async fn set_experiment_tag(
    State(s): St,
    ApiJson(req): ApiJson<SetExperimentTag>,
) -> ApiResult<Json<Value>> {
    let id = required(req.experiment_id, "experiment_id")?;
    let key = required(req.key, "key")?;
    s.meta
        .set_experiment_tag(&id, KeyValue::new(key, req.value.unwrap_or_default()))
        .await?;
    Ok(empty())
}

// ---- runs ----

/// `runs/create` body.
#[derive(Debug, Deserialize)]
pub struct CreateRun {
    #[serde(default, deserialize_with = "deserialize_opt_string")]
    experiment_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    run_name: Option<String>,
    #[serde(default, deserialize_with = "deserialize_opt_i64")]
    start_time: Option<i64>,
    #[serde(default)]
    tags: Vec<KeyValueJson>,
}

/// Response body.
#[derive(Serialize)]
pub struct RunResponse {
    run: RunJson,
}

/// `POST runs/create`
pub async fn create_run(
    State(s): St,
    ApiJson(req): ApiJson<CreateRun>,
) -> ApiResult<Json<RunResponse>> {
    let tags: Vec<KeyValue> = req.tags.into_iter().map(KeyValue::from).collect();
    let user_id = req
        .user_id
        .filter(|u| !u.is_empty())
        .or_else(|| {
            tags.iter()
                .find(|t| t.key == "mlflow.user")
                .map(|t| t.value.clone())
        })
        .unwrap_or_else(|| "unknown".to_string());
    let run = s
        .meta
        .create_run(NewRun {
            experiment_id: req.experiment_id.unwrap_or_else(|| "0".to_string()),
            user_id,
            run_name: req.run_name,
            start_time: Some(req.start_time.unwrap_or_else(now_ms)),
            tags,
        })
        .await?;
    Ok(Json(RunResponse {
        run: RunJson::from(&run),
    }))
}

/// `GET runs/get`
pub async fn get_run(State(s): St, ApiQuery(q): ApiQuery<RunRef>) -> ApiResult<Json<RunResponse>> {
    let run = s.meta.get_run(&q.id()?).await?;
    Ok(Json(RunResponse {
        run: RunJson::from(&run),
    }))
}

/// `runs/update` body.
#[derive(Debug, Deserialize)]
pub struct UpdateRun {
    #[serde(flatten)]
    run: RunRef,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "deserialize_opt_i64")]
    end_time: Option<i64>,
    #[serde(default)]
    run_name: Option<String>,
}

/// Response body.
#[derive(Serialize)]
pub struct UpdateRunResponse {
    run_info: RunInfoJson,
}

/// `POST runs/update`
pub async fn update_run(
    State(s): St,
    ApiJson(req): ApiJson<UpdateRun>,
) -> ApiResult<Json<UpdateRunResponse>> {
    let id = req.run.id()?;
    let status = req
        .status
        .filter(|v| !v.is_empty())
        .map(|v| RunStatus::parse(&v))
        .transpose()?;
    let info = s
        .meta
        .update_run(
            &id,
            RunUpdate {
                status,
                end_time: req.end_time,
                run_name: req.run_name.filter(|n| !n.is_empty()),
            },
        )
        .await?;
    Ok(Json(UpdateRunResponse {
        run_info: RunInfoJson::from(&info),
    }))
}

/// `POST runs/delete`
pub async fn delete_run(State(s): St, ApiJson(req): ApiJson<RunRef>) -> ApiResult<Json<Value>> {
    s.meta.delete_run(&req.id()?).await?;
    Ok(empty())
}

/// `POST runs/restore`
pub async fn restore_run(State(s): St, ApiJson(req): ApiJson<RunRef>) -> ApiResult<Json<Value>> {
    s.meta.restore_run(&req.id()?).await?;
    Ok(empty())
}

/// `runs/log-parameter`, `runs/set-tag` and `runs/delete-tag` body.
#[derive(Debug, Deserialize)]
pub struct RunKeyValue {
    #[serde(flatten)]
    run: RunRef,
    #[serde(default)]
    key: Option<String>,
    #[serde(default, deserialize_with = "deserialize_opt_string")]
    value: Option<String>,
}

/// `POST runs/log-parameter`
pub async fn log_param(State(s): St, ApiJson(req): ApiJson<RunKeyValue>) -> ApiResult<Json<Value>> {
    let id = req.run.id()?;
    let key = required(req.key, "key")?;
    let value = req.value.ok_or_else(|| ApiError::missing("value"))?;
    s.meta.log_param(&id, KeyValue::new(key, value)).await?;
    Ok(empty())
}

/// `POST runs/set-tag`
pub async fn set_tag(State(s): St, ApiJson(req): ApiJson<RunKeyValue>) -> ApiResult<Json<Value>> {
    let id = req.run.id()?;
    let key = required(req.key, "key")?;
    s.meta
        .set_run_tag(&id, KeyValue::new(key, req.value.unwrap_or_default()))
        .await?;
    Ok(empty())
}

/// `POST runs/delete-tag`
pub async fn delete_tag(
    State(s): St,
    ApiJson(req): ApiJson<RunKeyValue>,
) -> ApiResult<Json<Value>> {
    let id = req.run.id()?;
    let key = required(req.key, "key")?;
    s.meta.delete_run_tag(&id, &key).await?;
    Ok(empty())
}

/// `runs/log-metric` body.
#[derive(Debug, Deserialize)]
pub struct LogMetric {
    #[serde(flatten)]
    run: RunRef,
    #[serde(flatten)]
    metric: MetricJson,
}

fn to_metric(m: MetricJson) -> ApiResult<Metric> {
    if m.key.is_empty() {
        return Err(ApiError::missing("key"));
    }
    Ok(Metric {
        key: m.key,
        value: m.value,
        timestamp: m.timestamp.ok_or_else(|| ApiError::missing("timestamp"))?,
        step: m.step.unwrap_or(0),
    })
}

/// The metrics of a request as a batch: each value for the run, and those naming a
/// `model_id` for that logged model too (as MLflow 3 records them).
fn metric_batch(metrics: Vec<MetricJson>) -> ApiResult<LogBatch> {
    let mut batch = LogBatch::default();
    for mut m in metrics {
        let model_id = m.model_id.take().filter(|id| !id.is_empty());
        let (dataset_name, dataset_digest) = (m.dataset_name.take(), m.dataset_digest.take());
        let metric = to_metric(m)?;
        if let Some(model_id) = model_id {
            batch.model_metrics.push(ModelMetric {
                metric: metric.clone(),
                model_id,
                dataset_name,
                dataset_digest,
            });
        }
        batch.metrics.push(metric);
    }
    Ok(batch)
}

/// `POST runs/log-metric`
pub async fn log_metric(State(s): St, ApiJson(req): ApiJson<LogMetric>) -> ApiResult<Json<Value>> {
    let id = req.run.id()?;
    s.meta
        .log_batch(&id, metric_batch(vec![req.metric])?)
        .await?;
    Ok(empty())
}

/// `runs/log-batch` body.
#[derive(Debug, Deserialize)]
pub struct LogBatchBody {
    #[serde(flatten)]
    run: RunRef,
    #[serde(default)]
    metrics: Vec<MetricJson>,
    #[serde(default)]
    params: Vec<KeyValueJson>,
    #[serde(default)]
    tags: Vec<KeyValueJson>,
}

/// `POST runs/log-batch`: all or nothing.
pub async fn log_batch(
    State(s): St,
    ApiJson(req): ApiJson<LogBatchBody>,
) -> ApiResult<Json<Value>> {
    let id = req.run.id()?;
    let batch = LogBatch {
        params: req.params.into_iter().map(KeyValue::from).collect(),
        tags: req.tags.into_iter().map(KeyValue::from).collect(),
        ..metric_batch(req.metrics)?
    };
    s.meta.log_batch(&id, batch).await?;
    Ok(empty())
}

/// `runs/outputs` body.
#[derive(Debug, Deserialize)]
pub struct RunOutputs {
    #[serde(flatten)]
    run: RunRef,
    #[serde(default)]
    models: Vec<ModelOutputJson>,
}

/// `POST runs/outputs`: records logged models as a run's outputs.
pub async fn log_outputs(
    State(s): St,
    ApiJson(req): ApiJson<RunOutputs>,
) -> ApiResult<Json<Value>> {
    let id = req.run.id()?;
    let outputs = req
        .models
        .into_iter()
        .map(|m| ModelOutput {
            model_id: m.model_id,
            step: m.step.unwrap_or(0),
        })
        .collect();
    s.meta.log_model_outputs(&id, outputs).await?;
    Ok(empty())
}

/// `runs/log-inputs` body.
#[derive(Debug, Deserialize)]
pub struct LogInputs {
    #[serde(flatten)]
    run: RunRef,
    #[serde(default)]
    datasets: Vec<DatasetInputJson>,
    #[serde(default)]
    models: Vec<ModelInputJson>,
}

/// `POST runs/log-inputs`: records datasets and logged models a run consumed.
pub async fn log_inputs(State(s): St, ApiJson(req): ApiJson<LogInputs>) -> ApiResult<Json<Value>> {
    let id = req.run.id()?;
    let datasets = req.datasets.into_iter().map(DatasetInput::from).collect();
    let models = req.models.into_iter().map(|m| m.model_id).collect();
    s.meta.log_inputs(&id, datasets, models).await?;
    Ok(empty())
}

/// `runs/search` body.
#[derive(Debug, Deserialize)]
pub struct SearchRuns {
    #[serde(default)]
    experiment_ids: Vec<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    run_view_type: Option<String>,
    #[serde(default, deserialize_with = "deserialize_opt_i64")]
    max_results: Option<i64>,
    #[serde(default)]
    order_by: Vec<String>,
    #[serde(default)]
    page_token: Option<String>,
}

/// Response body.
#[derive(Serialize)]
pub struct SearchRunsResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    runs: Vec<RunJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// `POST runs/search`
pub async fn search_runs(
    State(s): St,
    ApiJson(req): ApiJson<SearchRuns>,
) -> ApiResult<Json<SearchRunsResponse>> {
    let query = RunQuery {
        experiment_ids: req.experiment_ids,
        filter: RunFilter::parse(req.filter.as_deref().unwrap_or(""))?,
        order_by: req
            .order_by
            .iter()
            .map(|o| OrderBy::parse_for_runs(o))
            .collect::<Result<_, _>>()?,
        view_type: view_type(req.run_view_type.as_deref())?,
        max_results: page_size(req.max_results, DEFAULT_SEARCH_RESULTS)?,
        page_token: req.page_token,
    };
    let page = s.meta.search_runs(&query).await?;
    Ok(Json(SearchRunsResponse {
        runs: page.items.iter().map(RunJson::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// `metrics/get-history` query.
#[derive(Debug, Deserialize)]
pub struct MetricHistory {
    #[serde(flatten)]
    run: RunRef,
    #[serde(default)]
    metric_key: Option<String>,
    #[serde(default)]
    max_results: Option<String>,
    #[serde(default)]
    page_token: Option<String>,
}

/// Response body.
#[derive(Serialize)]
pub struct MetricHistoryResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    metrics: Vec<MetricJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// `GET metrics/get-history`
pub async fn metric_history(
    State(s): St,
    ApiQuery(q): ApiQuery<MetricHistory>,
) -> ApiResult<Json<MetricHistoryResponse>> {
    let id = q.run.id()?;
    let key = required(q.metric_key, "metric_key")?;
    let max = match q.max_results.as_deref() {
        None | Some("") => None,
        Some(v) => Some(v.trim().parse::<i64>().map_err(|_| {
            ApiError::invalid(format!(
                "Invalid value '{v}' for parameter 'max_results': it must be an integer"
            ))
        })?),
    };
    let page = s
        .meta
        .metric_history(
            &id,
            &key,
            page_size(max, DEFAULT_HISTORY_RESULTS)?,
            q.page_token.as_deref(),
        )
        .await?;
    Ok(Json(MetricHistoryResponse {
        metrics: page.items.iter().map(MetricJson::from).collect(),
        next_page_token: page.next_page_token,
    }))
}
