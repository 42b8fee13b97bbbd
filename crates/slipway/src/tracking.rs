//! One client for the MLflow REST API (tracking, artifacts, registry) with two transports:
//! HTTP to a remote server (`--tracking-uri http://host:port`), or in-process against the
//! local store under the Slipway home folder, sending the very same requests through
//! `slipway_server::app(state)` with `tower::ServiceExt::oneshot` (no socket).

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::{Value, json};
use tower::ServiceExt;

/// An MLflow REST error: the HTTP status and the server's `error_code` and `message`.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error body. Shown as the operation in words (no REST
    /// path: `creating the run: ...`).
    #[error("{}: {message} ({code})", operation(method, path))]
    Api {
        /// Request method.
        method: String,
        /// Request path (with the API prefix, without the query).
        path: String,
        /// HTTP status.
        status: u16,
        /// MLflow `error_code`, e.g. `RESOURCE_DOES_NOT_EXIST`.
        code: String,
        /// MLflow `message`.
        message: String,
    },
    /// The request did not get an answer (connection refused, bad URI, local store error).
    #[error("{0}")]
    Transport(String),
}

impl ClientError {
    /// True when the server said the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ClientError::Api { code, .. } if code == "RESOURCE_DOES_NOT_EXIST")
    }
}

/// Result of a client call.
pub type Result<T> = std::result::Result<T, ClientError>;

enum Transport {
    Local(axum::Router),
    Http { base: String, http: reqwest::Client },
}

/// The MLflow REST client.
pub struct Client {
    runtime: tokio::runtime::Runtime,
    transport: Transport,
    /// Where it points, for messages (`http://...` or the home folder).
    pub target: String,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClientError::Transport(format!("cannot start the async runtime: {e}")))
}

impl Client {
    /// A client over the local store under `home` (`slipway.db` + `artifacts/`), the layout
    /// `slipway serve` uses by default; `policy` gates its protected aliases as
    /// `slipway serve --policy` would.
    pub fn local(home: &Path, policy: Option<slipway_govern::Policy>) -> Result<Client> {
        let runtime = runtime()?;
        let state = runtime
            .block_on(slipway_server::AppState::open_home(
                home,
                slipway_server::Limits::default(),
            ))
            .map_err(|e| {
                ClientError::Transport(format!("{}: cannot open the store: {e}", home.display()))
            })?
            .with_policy(policy);
        Ok(Client {
            runtime,
            transport: Transport::Local(slipway_server::app(Arc::new(state))),
            target: home.display().to_string(),
        })
    }

    /// A client over the stores a server would open with `--backend-store-uri` and
    /// `--artifacts-destination` (PostgreSQL and S3 for a team; `home` holds the defaults),
    /// as the collect step of a Kubernetes job uses them.
    pub fn stores(
        home: &Path,
        backend: &slipway_server::BackendStore,
        destination: &slipway_server::ArtifactDestination,
    ) -> Result<Client> {
        let runtime = runtime()?;
        let state = runtime
            .block_on(slipway_server::AppState::open(
                home,
                backend,
                destination,
                slipway_server::Limits::default(),
            ))
            .map_err(|e| ClientError::Transport(format!("cannot open the store: {e}")))?;
        Ok(Client {
            runtime,
            transport: Transport::Local(slipway_server::app(Arc::new(state))),
            target: match destination {
                slipway_server::ArtifactDestination::S3 { url, .. } => url.clone(),
                slipway_server::ArtifactDestination::Local(p) => p.display().to_string(),
                slipway_server::ArtifactDestination::Home => home.display().to_string(),
            },
        })
    }

    /// A client over HTTP to `uri` (`http://host:port`).
    pub fn http(uri: &str) -> Result<Client> {
        if !(uri.starts_with("http://") || uri.starts_with("https://")) {
            return Err(ClientError::Transport(format!(
                "tracking URI '{uri}': only http:// and https:// are supported"
            )));
        }
        // reqwest is built without a TLS provider of its own; ring is the workspace's. Another
        // caller may have installed one already, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .map_err(|e| ClientError::Transport(format!("HTTP client: {e}")))?;
        Ok(Client {
            runtime: runtime()?,
            transport: Transport::Http {
                base: uri.trim_end_matches('/').to_string(),
                http,
            },
            target: uri.to_string(),
        })
    }

    /// `GET /api/2.0/mlflow/<path>?<query>`.
    pub fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value> {
        let full = format!("/api/2.0/mlflow/{path}{}", encode_query(query));
        self.send(Method::GET, &full, None, "application/json")
    }

    /// `GET <path>?<query>` for a path outside the MLflow prefix (`/api/2.0/slipway/...`).
    pub fn get_at(&self, path: &str, query: &[(&str, &str)]) -> Result<Value> {
        let full = format!("{path}{}", encode_query(query));
        self.send(Method::GET, &full, None, "application/json")
    }

    /// `POST <path>` with a JSON body, for a path outside the MLflow prefix.
    pub fn post_at(&self, path: &str, body: &Value) -> Result<Value> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Transport(e.to_string()))?;
        self.send(Method::POST, path, Some(bytes), "application/json")
    }

    /// `POST /api/2.0/mlflow/<path>` with a JSON body.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value> {
        self.json_call(Method::POST, path, body)
    }

    fn json_call(&self, method: Method, path: &str, body: &Value) -> Result<Value> {
        let full = format!("/api/2.0/mlflow/{path}");
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Transport(e.to_string()))?;
        self.send(method, &full, Some(bytes), "application/json")
    }

    /// `PUT /api/2.0/mlflow-artifacts/artifacts/<path>`: uploads one file.
    pub fn upload(&self, path: &str, bytes: Vec<u8>) -> Result<()> {
        let full = format!(
            "/api/2.0/mlflow-artifacts/artifacts/{}",
            path.split('/')
                .map(percent_encode)
                .collect::<Vec<_>>()
                .join("/")
        );
        self.send(Method::PUT, &full, Some(bytes), "application/octet-stream")?;
        Ok(())
    }

    fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: &str,
    ) -> Result<Value> {
        let (status, bytes) = self.runtime.block_on(async {
            match &self.transport {
                Transport::Local(router) => {
                    let mut req = Request::builder().method(method.clone()).uri(path);
                    if body.is_some() {
                        req = req.header("content-type", content_type);
                    }
                    let req = req
                        .body(body.map_or_else(Body::empty, Body::from))
                        .map_err(|e| ClientError::Transport(e.to_string()))?;
                    let resp = router
                        .clone()
                        .oneshot(req)
                        .await
                        .map_err(|e| ClientError::Transport(e.to_string()))?;
                    let status = resp.status().as_u16();
                    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
                        .await
                        .map_err(|e| ClientError::Transport(e.to_string()))?;
                    Ok::<_, ClientError>((status, bytes.to_vec()))
                }
                Transport::Http { base, http } => {
                    let url = format!("{base}{path}");
                    let m = reqwest::Method::from_bytes(method.as_str().as_bytes())
                        .map_err(|e| ClientError::Transport(e.to_string()))?;
                    let mut req = http.request(m, &url);
                    if let Some(b) = body {
                        req = req.header("content-type", content_type).body(b);
                    }
                    let unreachable = |e: reqwest::Error| {
                        ClientError::Transport(format!(
                            "{}: cannot reach the tracking server at {base}: {}",
                            operation(method.as_str(), path),
                            error_chain(&e.without_url())
                        ))
                    };
                    let resp = req.send().await.map_err(unreachable)?;
                    let status = resp.status().as_u16();
                    let bytes = resp.bytes().await.map_err(unreachable)?;
                    Ok((status, bytes.to_vec()))
                }
            }
        })?;
        let short = path.split('?').next().unwrap_or(path).to_string();
        let value: Value = if bytes.is_empty() {
            json!({})
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(
                |_| json!({"message": String::from_utf8_lossy(&bytes).chars().take(300).collect::<String>()}),
            )
        };
        if (200..300).contains(&status) {
            return Ok(value);
        }
        Err(ClientError::Api {
            method: method.to_string(),
            path: short,
            status,
            code: value["error_code"]
                .as_str()
                .unwrap_or("HTTP_ERROR")
                .to_string(),
            message: value["message"]
                .as_str()
                .map_or_else(|| format!("HTTP {status}"), str::to_string),
        })
    }
}

/// An error and its causes, each once (`error sending request: connection refused`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

/// A REST call in words, for messages: `POST /api/2.0/mlflow/runs/create` is "creating the
/// run". Calls without a phrase of their own read as their path in words.
pub fn operation(method: &str, path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    if let Some(artifact) = path.strip_prefix("/api/2.0/mlflow-artifacts/artifacts/") {
        return match method {
            "PUT" => format!("uploading the artifact {artifact}"),
            "DELETE" => format!("deleting the artifact {artifact}"),
            _ => format!("downloading the artifact {artifact}"),
        };
    }
    let call = path
        .strip_prefix("/api/2.0/mlflow/")
        .or_else(|| path.strip_prefix("/api/2.0/mlflow-artifacts/"))
        .or_else(|| path.strip_prefix("/api/2.0/slipway/"))
        .unwrap_or(path);
    let phrase = match (method, call) {
        (_, "experiments/get-by-name" | "experiments/get") => "looking up the experiment",
        (_, "experiments/create") => "creating the experiment",
        (_, "deployments/create") => "creating the deployment",
        (_, "deployments/get") => "reading the deployment",
        (_, "deployments/list") => "listing deployments",
        (_, "deployments/pause") => "pausing the deployment",
        (_, "deployments/resume") => "resuming the deployment",
        (_, "deployments/promote") => "promoting the challenger",
        (_, "deployments/rollback") => "rolling the deployment back",
        (_, "deployments/end") => "ending the deployment",
        (_, "experiments/search") => "listing experiments",
        (_, "runs/create") => "creating the run",
        (_, "runs/update") => "updating the run's status",
        (_, "runs/get") => "reading the run",
        (_, "runs/search") => "searching runs",
        (_, "runs/log-batch") => "logging the run's params, metrics and tags",
        (_, "runs/log-inputs") => "logging the run's datasets",
        (_, "runs/set-tag") => "tagging the run",
        (_, "registered-models/get") => "reading the registered model",
        (_, "registered-models/create") => "creating the registered model",
        (_, "registered-models/search") => "listing registered models",
        ("DELETE", "registered-models/alias") => "removing the alias",
        ("GET", "registered-models/alias") => "reading the alias",
        (_, "registered-models/alias") => "setting the alias",
        (_, "model-versions/create") => "creating the model version",
        (_, "model-versions/get") => "reading the model version",
        (_, "model-versions/search") => "listing model versions",
        (_, "model-versions/set-tag") => "tagging the model version",
        (_, "model-versions/get-download-uri") => "locating the model version's files",
        (_, "artifacts") => "listing artifacts",
        _ => "",
    };
    if !phrase.is_empty() {
        return phrase.to_string();
    }
    let verb = match method {
        "GET" => "reading",
        "DELETE" => "deleting",
        _ => "updating",
    };
    format!("{verb} {}", call.trim_matches('/').replace(['/', '-'], " "))
}

fn encode_query(query: &[(&str, &str)]) -> String {
    if query.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect();
    format!("?{}", parts.join("&"))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_percent_encoded() {
        assert_eq!(
            encode_query(&[("filter", "name='a b'"), ("x", "é")]),
            "?filter=name%3D%27a%20b%27&x=%C3%A9"
        );
        assert_eq!(encode_query(&[]), "");
    }
}
