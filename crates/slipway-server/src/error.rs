//! The one place errors become HTTP: a status and `{"error_code", "message"}`.
//!
//! Every variant is matched exhaustively, so a new store error cannot slip through as a
//! silent 500. Internal failures are logged here and answered with a generic message:
//! no SQL, no filesystem path, no source error ever reaches a client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A store operation failed.
    #[error(transparent)]
    Store(#[from] slipway_store::Error),
    /// The promotion gate refused a move, or its request was invalid.
    #[error(transparent)]
    Govern(#[from] slipway_govern::Error),
    /// The body is not JSON at all.
    #[error("{0}")]
    MalformedJson(String),
    /// A field is missing or has the wrong type or value.
    #[error("{0}")]
    InvalidParameter(String),
    /// The body is larger than the route allows.
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// No such route.
    #[error("no API endpoint {method} {path}")]
    EndpointNotFound {
        /// The request method.
        method: String,
        /// The request path.
        path: String,
    },
    /// The route exists but not for this method.
    #[error("method {0} is not allowed on this endpoint")]
    MethodNotAllowed(String),
    /// The request comes from a host or origin the server does not serve (403).
    #[error("{0}")]
    Forbidden(String),
    /// A JSON endpoint was sent something other than `application/json` (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The request was not read and answered within its time limit (408).
    #[error("the request did not complete within {0} seconds")]
    RequestTimeout(u64),
}

/// The error body MLflow clients parse.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// A stable code such as `RESOURCE_DOES_NOT_EXIST`.
    pub error_code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
}

const INTERNAL_MESSAGE: &str = "internal server error; the server log has the details";

fn internal() -> (StatusCode, &'static str, String) {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_ERROR",
        INTERNAL_MESSAGE.to_string(),
    )
}

fn store_parts(e: &slipway_store::Error) -> (StatusCode, &'static str, String) {
    use slipway_store::Error as S;
    match e {
        S::NotFound(m) => (StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", m.clone()),
        S::AlreadyExists(m) => (
            StatusCode::BAD_REQUEST,
            "RESOURCE_ALREADY_EXISTS",
            m.clone(),
        ),
        S::InvalidParameter(m) => (
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
            m.clone(),
        ),
        S::TooLarge(m) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "INVALID_PARAMETER_VALUE",
            m.clone(),
        ),
        S::Database(_) | S::Io(_) | S::Internal(_) => internal(),
    }
}

impl ApiError {
    /// The HTTP status, the stable error code and the message a client sees.
    pub fn parts(&self) -> (StatusCode, &'static str, String) {
        use slipway_govern::Error as G;
        match self {
            ApiError::Store(e) => store_parts(e),
            ApiError::Govern(e) => match e {
                G::Refused(_) => (StatusCode::FORBIDDEN, "PERMISSION_DENIED", e.to_string()),
                G::InvalidRequest(m) => (
                    StatusCode::BAD_REQUEST,
                    "INVALID_PARAMETER_VALUE",
                    m.clone(),
                ),
                G::Store(e) => store_parts(e),
                // Policies are read at start-up, never from a request: one here is a bug,
                // and its message names a server path.
                G::Policy { .. } => internal(),
            },
            ApiError::MalformedJson(m) => (StatusCode::BAD_REQUEST, "BAD_REQUEST", m.clone()),
            ApiError::InvalidParameter(m) => (
                StatusCode::BAD_REQUEST,
                "INVALID_PARAMETER_VALUE",
                m.clone(),
            ),
            ApiError::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "INVALID_PARAMETER_VALUE",
                self.to_string(),
            ),
            ApiError::EndpointNotFound { .. } => (
                StatusCode::NOT_FOUND,
                "ENDPOINT_NOT_FOUND",
                self.to_string(),
            ),
            ApiError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "ENDPOINT_NOT_FOUND",
                self.to_string(),
            ),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "PERMISSION_DENIED", m.clone()),
            ApiError::UnsupportedMediaType(m) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "BAD_REQUEST", m.clone())
            }
            ApiError::RequestTimeout(_) => (
                StatusCode::REQUEST_TIMEOUT,
                "REQUEST_LIMIT_EXCEEDED",
                self.to_string(),
            ),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        ApiError::InvalidParameter(message.into())
    }

    pub(crate) fn missing(field: &str) -> Self {
        ApiError::invalid(format!(
            "Missing value for required parameter '{field}'. See the API docs for more \
             information about request parameters."
        ))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error_code, message) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else if status == StatusCode::NOT_FOUND && error_code == "ENDPOINT_NOT_FOUND" {
            tracing::warn!("{self}");
        }
        (
            status,
            Json(ErrorBody {
                error_code,
                message,
            }),
        )
            .into_response()
    }
}

/// Handlers' result type.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_store::Error as S;

    #[test]
    fn every_kind_maps_to_a_status_and_code() {
        let cases = [
            (
                ApiError::Store(S::NotFound("x".into())),
                404,
                "RESOURCE_DOES_NOT_EXIST",
            ),
            (
                ApiError::Store(S::AlreadyExists("x".into())),
                400,
                "RESOURCE_ALREADY_EXISTS",
            ),
            (
                ApiError::Store(S::InvalidParameter("x".into())),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                ApiError::Store(S::TooLarge("x".into())),
                413,
                "INVALID_PARAMETER_VALUE",
            ),
            (ApiError::MalformedJson("x".into()), 400, "BAD_REQUEST"),
            (
                ApiError::Govern(slipway_govern::Error::InvalidRequest("x".into())),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                ApiError::Govern(slipway_govern::Error::Store(S::NotFound("x".into()))),
                404,
                "RESOURCE_DOES_NOT_EXIST",
            ),
            (
                ApiError::InvalidParameter("x".into()),
                400,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                ApiError::PayloadTooLarge(10),
                413,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                ApiError::EndpointNotFound {
                    method: "GET".into(),
                    path: "/x".into(),
                },
                404,
                "ENDPOINT_NOT_FOUND",
            ),
            (
                ApiError::MethodNotAllowed("GET".into()),
                405,
                "ENDPOINT_NOT_FOUND",
            ),
            (ApiError::Forbidden("x".into()), 403, "PERMISSION_DENIED"),
            (
                ApiError::UnsupportedMediaType("x".into()),
                415,
                "BAD_REQUEST",
            ),
            (ApiError::RequestTimeout(1), 408, "REQUEST_LIMIT_EXCEEDED"),
        ];
        for (err, status, code) in cases {
            let (s, c, m) = err.parts();
            assert_eq!((s.as_u16(), c), (status, code), "{err:?}");
            assert!(!m.is_empty());
        }
    }

    #[test]
    fn internal_failures_hide_their_details() {
        let io = std::io::Error::other("/home/secret/slipway.db: disk full");
        for err in [
            ApiError::Store(S::Internal("SELECT * FROM runs failed".into())),
            ApiError::Store(S::Io(io)),
            ApiError::Store(S::Database(sqlx_error())),
            ApiError::Govern(slipway_govern::Error::Policy {
                origin: "/home/secret/policy.yaml".into(),
                message: "x".into(),
            }),
        ] {
            let (s, c, m) = err.parts();
            assert_eq!((s.as_u16(), c), (500, "INTERNAL_ERROR"));
            assert_eq!(m, INTERNAL_MESSAGE);
        }
    }

    fn sqlx_error() -> slipway_store::sqlx::Error {
        slipway_store::sqlx::Error::Protocol("UNIQUE constraint failed: SELECT secret".into())
    }
}
