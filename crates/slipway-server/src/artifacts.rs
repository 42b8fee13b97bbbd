//! Proxied artifacts (`/api/2.0/mlflow-artifacts/artifacts/...`): upload, download, list,
//! delete. Paths are checked by [`ArtifactPath::parse`] before the store sees them, and a
//! deletion by [`DeletablePath::new`]. Uploads stream to the store with bounded memory; one
//! larger than [`Limits::artifact_body_bytes`](crate::Limits) is refused with 413 from its
//! `Content-Length` before a byte is read, or as soon as a chunked body passes the limit.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, HttpBody};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use slipway_store::{ArtifactPath, DeletablePath};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;

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

/// `PUT artifacts/<path>`: the raw body is the file, streamed to the store.
pub async fn upload(
    State(s): St,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Value>> {
    let path = artifact_path(path)?;
    let limit = s.limits.artifact_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .or_else(|| body.size_hint().exact());
    if let Some(length) = declared.filter(|n| *n > limit) {
        return Err(ApiError::Store(slipway_store::Error::TooLarge(format!(
            "artifact '{path}' is {length} bytes; the upload limit is {limit} bytes \
             (set by `slipway serve --max-artifact-bytes`)"
        ))));
    }
    let stream = body
        .into_data_stream()
        .map_err(std::io::Error::other)
        .boxed();
    s.artifacts.put_stream(&path, stream, Some(limit)).await?;
    Ok(Json(json!({})))
}

/// `GET artifacts/<path>`: the raw bytes, streamed.
pub async fn download(
    State(s): St,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let path = artifact_path(path)?;
    // Streamed from the store: a download holds one chunk at a time, whatever its size.
    let (size, chunks) = s.artifacts.get_stream(&path).await?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type(&path).to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CONTENT_LENGTH, size.to_string()),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}

/// `DELETE artifacts/<path>`
pub async fn delete(
    State(s): St,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<Value>> {
    let path = DeletablePath::new(artifact_path(path)?)?;
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
