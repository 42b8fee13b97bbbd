//! Proxied artifacts (`/api/2.0/mlflow-artifacts/artifacts/...`): upload, download, list,
//! delete. Paths are checked by [`ArtifactPath::parse`] before the store sees them.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use slipway_store::ArtifactPath;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiBytes, ApiQuery};

type St = State<Arc<AppState>>;

fn artifact_path(raw: Result<Path<String>, PathRejection>) -> ApiResult<ArtifactPath> {
    let Path(raw) =
        raw.map_err(|e| ApiError::invalid(format!("invalid artifact path: {}", e.body_text())))?;
    Ok(ArtifactPath::parse(&raw)?)
}

fn content_type(path: &ArtifactPath) -> &'static str {
    let name = path.parts().last().map(String::as_str).unwrap_or("");
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("txt" | "log" | "md" | "yaml" | "yml" | "csv" | "tsv" | "py") => {
            "text/plain; charset=utf-8"
        }
        Some("json") => "application/json",
        None if name == "MLmodel" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `PUT artifacts/<path>`: the raw body is the file.
pub async fn upload(
    State(s): St,
    path: Result<Path<String>, PathRejection>,
    ApiBytes(body): ApiBytes,
) -> ApiResult<Json<Value>> {
    let path = artifact_path(path)?;
    s.artifacts.put(&path, body).await?;
    Ok(Json(json!({})))
}

/// `GET artifacts/<path>`: the raw bytes.
pub async fn download(
    State(s): St,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let path = artifact_path(path)?;
    let bytes = s.artifacts.get(&path).await?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type(&path)),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
        .into_response())
}

/// `DELETE artifacts/<path>`
pub async fn delete(
    State(s): St,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let path = artifact_path(path)?;
    s.artifacts.delete(&path).await?;
    Ok(Json(json!({})))
}

/// `GET artifacts?path=<dir>` query.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    path: Option<String>,
}

/// Response body.
#[derive(Serialize)]
pub struct FileInfoJson {
    path: String,
    is_dir: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    file_size: Option<u64>,
}

/// Response body.
#[derive(Serialize)]
pub struct ListResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<FileInfoJson>,
}

/// `GET artifacts?path=<dir>`: the directory's entries, by basename; missing lists as empty.
pub async fn list(State(s): St, ApiQuery(q): ApiQuery<ListQuery>) -> ApiResult<Response> {
    let dir = ArtifactPath::parse(q.path.as_deref().unwrap_or(""))?;
    let entries = s.artifacts.list(&dir).await?;
    let files = entries
        .into_iter()
        .map(|e| FileInfoJson {
            path: e.name,
            is_dir: e.is_dir,
            // Default values are omitted on the wire: an empty file has no size.
            file_size: e.size.filter(|n| *n > 0),
        })
        .collect();
    Ok(Json(ListResponse { files }).into_response())
}
