//! Extractors that answer bad input in the API's own error shape instead of axum's plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The request body as bytes, within the route's body limit.
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map(|l| l.0)
            .unwrap_or(0);
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(ApiBytes(b)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge(limit))
            }
            Err(e) => Err(ApiError::MalformedJson(format!(
                "could not read the request body: {}",
                e.body_text()
            ))),
        }
    }
}

/// The body limit in force on a route, recorded for error messages.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON body; an empty body reads as `{}`.
///
/// Text that is not JSON is `BAD_REQUEST`; JSON of the wrong shape (a missing field, a
/// string where a number belongs) is `INVALID_PARAMETER_VALUE`. Both are 400, never 500.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let ApiBytes(bytes) = ApiBytes::from_request(req, state).await?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        parse_json(text).map(ApiJson)
    }
}

/// Parses a JSON body; a string (or key) holding U+0000 is refused here, naming its field,
/// so no handler or store ever sees one (PostgreSQL cannot store it in text).
pub(crate) fn parse_json<T: DeserializeOwned>(text: &[u8]) -> Result<T, ApiError> {
    // JSON can only carry NUL as the escape `\u0000` (a raw control byte is a syntax error),
    // so the walk below runs only when that escape appears.
    if text.windows(6).any(|w| w == b"\\u0000") {
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(text) {
            if let Some(field) = nul_field(&value, "") {
                return Err(ApiError::invalid(format!(
                    "Invalid value for '{field}': no text may contain a NUL character (U+0000)"
                )));
            }
        }
    }
    serde_json::from_slice(text).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::MalformedJson(format!("Malformed JSON request body: {e}"))
            }
            Category::Data => ApiError::invalid(format!("Invalid request body: {e}")),
        }
    })
}

/// The path (`tags[2].value`) of the first string or key holding U+0000.
fn nul_field(value: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    let visible = |s: &str| -> String { s.replace('\0', "\\0").chars().take(100).collect() };
    match value {
        Value::String(s) => s.contains('\0').then(|| path.to_string()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_field(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = if path.is_empty() {
                visible(k)
            } else {
                format!("{path}.{}", visible(k))
            };
            if k.contains('\0') {
                Some(here)
            } else {
                nul_field(v, &here)
            }
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// Query-string arguments (GET endpoints).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| ApiQuery(q.0))
            .map_err(|e| {
                ApiError::invalid(format!(
                    "Invalid query parameters '{}': {}",
                    query.chars().take(200).collect::<String>(),
                    e.body_text()
                ))
            })
    }
}
