//! MLflow 3 logged models (`/api/2.0/mlflow/logged-models…`): what `mlflow.<flavor>.log_model`
//! creates before it uploads the model's files through the proxied artifact API to the
//! model's own root (`<experiment>/models/<model_id>/artifacts`).

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use slipway_store::{
    KeyValue, LoggedModel, LoggedModelQuery, LoggedModelStatus, ModelFilter, NewLoggedModel,
    OrderBy,
};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::wire::{KeyValueJson, ModelMetricJson, deserialize_opt_i64, deserialize_opt_string};

type St = State<Arc<AppState>>;

/// Default page size of `logged-models/search`.
const DEFAULT_SEARCH_RESULTS: i64 = 100;

/// The logged-model routes, to nest under `/api/2.0/mlflow`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/logged-models", post(create))
        .route("/logged-models/search", post(search))
        .route(
            "/logged-models/{model_id}",
            get(get_one).patch(finalize).delete(delete_one),
        )
        .route("/logged-models/{model_id}/tags", patch(set_tags))
        .route(
            "/logged-models/{model_id}/tags/{*tag_key}",
            delete(delete_tag),
        )
        .route("/logged-models/{model_id}/params", post(log_params))
}

fn path_value<T>(raw: Result<Path<T>, PathRejection>) -> ApiResult<T> {
    raw.map(|Path(v)| v)
        .map_err(|e| ApiError::invalid(format!("invalid path: {}", e.body_text())))
}

/// A logged model's metadata.
#[derive(Debug, Serialize)]
pub struct LoggedModelInfoJson {
    model_id: String,
    experiment_id: String,
    name: String,
    creation_timestamp_ms: i64,
    last_updated_timestamp_ms: i64,
    artifact_uri: String,
    status: &'static str,
    model_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_run_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<KeyValueJson>,
}

/// A logged model's params and metrics.
#[derive(Debug, Serialize)]
pub struct LoggedModelDataJson {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    params: Vec<KeyValueJson>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    metrics: Vec<ModelMetricJson>,
}

/// A logged model.
#[derive(Debug, Serialize)]
pub struct LoggedModelJson {
    info: LoggedModelInfoJson,
    data: LoggedModelDataJson,
}

impl From<&LoggedModel> for LoggedModelJson {
    fn from(m: &LoggedModel) -> Self {
        LoggedModelJson {
            info: LoggedModelInfoJson {
                model_id: m.model_id.clone(),
                experiment_id: m.experiment_id.clone(),
                name: m.name.clone(),
                creation_timestamp_ms: m.creation_timestamp,
                last_updated_timestamp_ms: m.last_updated_timestamp,
                artifact_uri: m.artifact_location.clone(),
                status: m.status.as_str(),
                model_type: m.model_type.clone(),
                source_run_id: m.source_run_id.clone(),
                tags: m.tags.iter().map(KeyValueJson::from).collect(),
            },
            data: LoggedModelDataJson {
                params: m.params.iter().map(KeyValueJson::from).collect(),
                metrics: m.metrics.iter().map(ModelMetricJson::from).collect(),
            },
        }
    }
}

/// Response body.
#[derive(Serialize)]
pub struct ModelResponse {
    model: LoggedModelJson,
}

fn respond(m: &LoggedModel) -> Json<ModelResponse> {
    Json(ModelResponse {
        model: LoggedModelJson::from(m),
    })
}

/// `POST logged-models` body.
#[derive(Debug, Deserialize)]
pub struct CreateLoggedModel {
    #[serde(default, deserialize_with = "deserialize_opt_string")]
    experiment_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    model_type: Option<String>,
    #[serde(default)]
    source_run_id: Option<String>,
    #[serde(default)]
    params: Vec<KeyValueJson>,
    #[serde(default)]
    tags: Vec<KeyValueJson>,
}

/// `POST logged-models`
pub async fn create(
    State(s): St,
    ApiJson(req): ApiJson<CreateLoggedModel>,
) -> ApiResult<Json<ModelResponse>> {
    let experiment_id = req
        .experiment_id
        .filter(|e| !e.is_empty())
        .ok_or_else(|| ApiError::missing("experiment_id"))?;
    let model = s
        .meta
        .create_logged_model(NewLoggedModel {
            experiment_id,
            name: req.name,
            model_type: req.model_type,
            source_run_id: req.source_run_id,
            params: req.params.into_iter().map(KeyValue::from).collect(),
            tags: req.tags.into_iter().map(KeyValue::from).collect(),
        })
        .await?;
    Ok(respond(&model))
}

/// `GET logged-models/{id}` query.
#[derive(Debug, Deserialize)]
pub struct GetQuery {
    #[serde(default)]
    allow_deleted: Option<String>,
}

/// `GET logged-models/{id}`
pub async fn get_one(
    State(s): St,
    id: Result<Path<String>, PathRejection>,
    ApiQuery(q): ApiQuery<GetQuery>,
) -> ApiResult<Json<ModelResponse>> {
    let id = path_value(id)?;
    let allow_deleted = match q.allow_deleted.as_deref() {
        None | Some("") | Some("false") | Some("False") => false,
        Some("true") | Some("True") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Invalid value '{other}' for parameter 'allow_deleted': expected true or false"
            )));
        }
    };
    let model = s.meta.get_logged_model(&id, allow_deleted).await?;
    Ok(respond(&model))
}

/// `PATCH logged-models/{id}` body.
#[derive(Debug, Deserialize)]
pub struct Finalize {
    #[serde(default)]
    status: Option<String>,
}

/// `PATCH logged-models/{id}`: sets the final status.
pub async fn finalize(
    State(s): St,
    id: Result<Path<String>, PathRejection>,
    ApiJson(req): ApiJson<Finalize>,
) -> ApiResult<Json<ModelResponse>> {
    let id = path_value(id)?;
    let status = req
        .status
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing("status"))?;
    let model = s
        .meta
        .finalize_logged_model(&id, LoggedModelStatus::parse(&status)?)
        .await?;
    Ok(respond(&model))
}

/// `DELETE logged-models/{id}`
pub async fn delete_one(
    State(s): St,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let id = path_value(id)?;
    s.meta.delete_logged_model(&id).await?;
    Ok(Json(json!({})))
}

/// `PATCH logged-models/{id}/tags` body.
#[derive(Debug, Deserialize)]
pub struct SetTags {
    #[serde(default)]
    tags: Vec<KeyValueJson>,
}

/// `PATCH logged-models/{id}/tags`
pub async fn set_tags(
    State(s): St,
    id: Result<Path<String>, PathRejection>,
    ApiJson(req): ApiJson<SetTags>,
) -> ApiResult<Json<Value>> {
    let id = path_value(id)?;
    let tags = req.tags.into_iter().map(KeyValue::from).collect();
    s.meta.set_logged_model_tags(&id, tags).await?;
    Ok(Json(json!({})))
}

/// `DELETE logged-models/{id}/tags/{key}`
pub async fn delete_tag(
    State(s): St,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let (id, key) = path_value(ids)?;
    s.meta.delete_logged_model_tag(&id, &key).await?;
    Ok(Json(json!({})))
}

/// `POST logged-models/{id}/params` body.
#[derive(Debug, Deserialize)]
pub struct LogParams {
    #[serde(default)]
    params: Vec<KeyValueJson>,
}

/// `POST logged-models/{id}/params`
pub async fn log_params(
    State(s): St,
    id: Result<Path<String>, PathRejection>,
    ApiJson(req): ApiJson<LogParams>,
) -> ApiResult<Json<Value>> {
    let id = path_value(id)?;
    let params = req.params.into_iter().map(KeyValue::from).collect();
    s.meta.log_logged_model_params(&id, params).await?;
    Ok(Json(json!({})))
}

/// One `order_by` entry of `logged-models/search`.
#[derive(Debug, Deserialize)]
pub struct SearchOrderBy {
    #[serde(default)]
    field_name: Option<String>,
    #[serde(default)]
    ascending: Option<bool>,
    #[serde(default)]
    dataset_name: Option<String>,
    #[serde(default)]
    dataset_digest: Option<String>,
}

/// `POST logged-models/search` body.
#[derive(Debug, Deserialize)]
pub struct Search {
    #[serde(default)]
    experiment_ids: Vec<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default, deserialize_with = "deserialize_opt_i64")]
    max_results: Option<i64>,
    #[serde(default)]
    order_by: Vec<SearchOrderBy>,
    #[serde(default)]
    page_token: Option<String>,
    #[serde(default)]
    datasets: Vec<Value>,
}

/// Response body.
#[derive(Serialize)]
pub struct SearchResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    models: Vec<LoggedModelJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// `POST logged-models/search`
pub async fn search(
    State(s): St,
    ApiJson(req): ApiJson<Search>,
) -> ApiResult<Json<SearchResponse>> {
    let max = req.max_results.unwrap_or(DEFAULT_SEARCH_RESULTS);
    if max <= 0 {
        return Err(ApiError::invalid(format!(
            "Invalid value {max} for parameter 'max_results': it must be a positive integer"
        )));
    }
    // Metrics restricted to the values computed on given datasets: not kept apart yet, so
    // refused rather than ignored.
    let by_dataset = req
        .order_by
        .iter()
        .any(|o| o.dataset_name.is_some() || o.dataset_digest.is_some());
    if !req.datasets.is_empty() || by_dataset {
        return Err(ApiError::invalid(
            "searching logged models by the datasets of their metrics is not supported: \
             filter and order on metrics.<name> without 'datasets' or 'dataset_name'",
        ));
    }
    let order_by = req
        .order_by
        .iter()
        .map(|o| {
            let field = o
                .field_name
                .as_deref()
                .filter(|f| !f.is_empty())
                .ok_or_else(|| ApiError::missing("order_by.field_name"))?;
            Ok(OrderBy::for_logged_models(
                field,
                o.ascending.unwrap_or(true),
            )?)
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let query = LoggedModelQuery {
        experiment_ids: req.experiment_ids,
        filter: ModelFilter::parse_logged_models(req.filter.as_deref().unwrap_or(""))?,
        order_by,
        max_results: max as usize,
        page_token: req.page_token,
    };
    let page = s.meta.search_logged_models(&query).await?;
    Ok(Json(SearchResponse {
        models: page.items.iter().map(LoggedModelJson::from).collect(),
        next_page_token: page.next_page_token,
    }))
}
