//! The one place errors become HTTP: a status and `{"error_code", "message"}`.
//!
//! Every variant is matched exhaustively, so a new store error cannot slip through as a
//! silent 500. Internal failures are logged here and answered with a generic message:
//! no SQL, no filesystem path, no source error ever reaches a client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

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
    /// A prediction request the model cannot score (422): a missing column, a value that
    /// does not fit its column's type, a tensor of the wrong width. Names the field and
    /// the row where it can.
    #[error("{message}")]
    Unprocessable {
        /// What rule was broken.
        message: String,
        /// The column (or tensor) concerned.
        field: Option<String>,
        /// The 0-based row concerned.
        row: Option<usize>,
    },
    /// More rows, items or bytes than a request may hold (413).
    #[error("{0}")]
    TooManyRows(String),
    /// No such model is served here (404).
    #[error("{0}")]
    ModelNotFound(String),
    /// The model or service is not ready (503).
    #[error("{0}")]
    NotReady(String),
    /// The server was started without what the request needs (409), such as feedback
    /// with the prediction log off.
    #[error("{0}")]
    FeatureDisabled(String),
    /// A failure inside the server (500): logged, never shown.
    #[error("{0}")]
    Internal(String),
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
            ApiError::Unprocessable { message, .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_PARAMETER_VALUE",
                message.clone(),
            ),
            ApiError::TooManyRows(m) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "REQUEST_LIMIT_EXCEEDED",
                m.clone(),
            ),
            ApiError::ModelNotFound(m) => {
                (StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST", m.clone())
            }
            ApiError::NotReady(m) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "TEMPORARILY_UNAVAILABLE",
                m.clone(),
            ),
            ApiError::FeatureDisabled(m) => (StatusCode::CONFLICT, "FEATURE_DISABLED", m.clone()),
            ApiError::Internal(_) => internal(),
        }
    }

    /// A scoring error from the engine: a user's error names its field and row (400 for a
    /// malformed row, 422 for one the model cannot take); an internal one is a 500.
    pub(crate) fn engine(e: slipway_engine::Error) -> Self {
        use slipway_engine::{Error as E, ErrorKind};
        if e.kind() == ErrorKind::Internal {
            return ApiError::Internal(e.to_string());
        }
        if let E::Data(slipway_data::Error::BadRow { .. }) = &e {
            return ApiError::MalformedJson(e.to_string());
        }
        let (field, row) = slipway_engine::serving::error_location(&e);
        ApiError::Unprocessable {
            message: e.to_string(),
            field,
            row,
        }
    }

    /// The status and the JSON body a client gets: `{"error_code", "message"}`, plus
    /// `field` and `row` where the error names them.
    pub fn status_and_body(&self) -> (StatusCode, serde_json::Value) {
        let (status, error_code, message) = self.parts();
        let mut body = serde_json::json!({"error_code": error_code, "message": message});
        if let ApiError::Unprocessable { field, row, .. } = self {
            if let Some(f) = field {
                body["field"] = serde_json::json!(f);
            }
            if let Some(r) = row {
                body["row"] = serde_json::json!(r);
            }
        }
        (status, body)
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
        let (status, body) = self.status_and_body();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        } else if status == StatusCode::NOT_FOUND && body["error_code"] == "ENDPOINT_NOT_FOUND" {
            tracing::warn!("{self}");
        }
        (status, Json(body)).into_response()
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
            (
                ApiError::Unprocessable {
                    message: "x".into(),
                    field: Some("age".into()),
                    row: Some(2),
                },
                422,
                "INVALID_PARAMETER_VALUE",
            ),
            (
                ApiError::TooManyRows("x".into()),
                413,
                "REQUEST_LIMIT_EXCEEDED",
            ),
            (
                ApiError::ModelNotFound("x".into()),
                404,
                "RESOURCE_DOES_NOT_EXIST",
            ),
            (
                ApiError::NotReady("x".into()),
                503,
                "TEMPORARILY_UNAVAILABLE",
            ),
            (
                ApiError::FeatureDisabled("x".into()),
                409,
                "FEATURE_DISABLED",
            ),
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
            ApiError::Internal("/srv/models/churn: permission denied".into()),
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
