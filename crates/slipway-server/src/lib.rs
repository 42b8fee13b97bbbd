//! Slipway's HTTP server: the MLflow-compatible REST API, so the official `mlflow` client
//! works unchanged against `slipway serve`.
//!
//! [`app`] builds the axum [`Router`] over an [`AppState`] (the metadata and artifact stores
//! plus request limits); [`AppState::open_home`] opens the embedded defaults under a home
//! folder; [`serve`] runs the router on a listener until a shutdown signal.
//!
//! - `tracking` — experiments, runs, params, metrics, tags, search, metric history;
//! - `logged_models` — MLflow 3 logged models (what `log_model` creates);
//! - `registry` — registered models, model versions, tags, aliases (moved through the
//!   promotion gate of `slipway_govern` when a policy protects them), stages, and the
//!   promotion history;
//! - `artifacts` — proxied artifact upload, download, listing and deletion;
//! - [`error`] — the one place errors become an HTTP status and `{"error_code", "message"}`;
//! - `guard` — Host, Origin and Content-Type checks against cross-site requests and DNS
//!   rebinding, and the security headers on every response ([`AccessPolicy`]);
//! - `conn` — the accept loop: header, idle and request timeouts and the connection cap
//!   ([`HttpOptions`]);
//! - `extract` — JSON and query extractors that answer bad input in that same shape;
//! - `wire` — the MLflow request/response bodies and their omission rules;
//! - `openapi` — the OpenAPI 3 document of every route, at `GET /api/openapi.json`;
//! - [`ui`] — the web UI (embedded HTML, CSS and JavaScript) at `/` and `/static/`;
//! - `deployments` — `/api/2.0/slipway/deployments/...`: A/B, canary, blue-green and shadow
//!   deployments of served models (create, get, list, pause, resume, promote, rollback, end);
//! - [`serving`] — the inference routes (`/predict`, MLflow `/invocations`, Open Inference
//!   Protocol v2), `/ready`, `/metrics`, `/feedback` and the prediction log, for the models
//!   a [`serving::Serving`] deploys; [`serving_app`] serves them with no store at all.
//! - `probes` — the store server's `/ready` (stores reachable, models loaded) and
//!   `/metrics`, present with or without served models.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::json;
use slipway_store::{
    ArtifactPath, ArtifactStore, LocalArtifactStore, MetadataStore, PostgresStore, S3ArtifactStore,
    SqliteStore,
};

mod artifacts;
mod conn;
mod deployments;
pub mod error;
mod extract;
mod guard;
mod logged_models;
mod openapi;
mod probes;
mod registry;
pub mod serving;
mod tracking;
pub mod ui;
mod wire;

pub use conn::HttpOptions;
pub use error::{ApiError, ApiResult};
pub use guard::{AccessPolicy, AllowedHosts};

/// Request limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest JSON request body, in bytes.
    pub json_body_bytes: usize,
    /// Largest artifact upload, in bytes ([`DEFAULT_MAX_ARTIFACT_BYTES`] by default). Uploads
    /// stream to the store, so this bounds disk use, not memory.
    pub artifact_body_bytes: u64,
}

/// The default largest artifact upload: 16 GiB.
pub const DEFAULT_MAX_ARTIFACT_BYTES: u64 = 16 * 1024 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            json_body_bytes: 16 * 1024 * 1024,
            artifact_body_bytes: DEFAULT_MAX_ARTIFACT_BYTES,
        }
    }
}

/// What every handler shares: the stores and the limits.
///
/// This is the tracking facade until `slipway-engine` owns the stores; handlers only extract,
/// call one store method and serialize.
pub struct AppState {
    /// Experiments, runs, params, metrics and tags.
    pub meta: Arc<dyn MetadataStore>,
    /// Artifact bytes.
    pub artifacts: Arc<dyn ArtifactStore>,
    /// Request limits.
    pub limits: Limits,
    /// The promotion policy (`slipway serve --policy`): the aliases it protects move only
    /// through its gate. `None`: aliases move freely, as in MLflow.
    pub policy: Option<slipway_govern::Policy>,
    /// Time limits, the connection cap and the allowed hosts and origins.
    pub http: HttpOptions,
    /// The models served for prediction (`slipway serve --model`); `None`: no inference
    /// routes.
    pub serving: Option<Arc<serving::Serving>>,
}

/// The metadata database file under a home folder.
pub const DATABASE_FILE: &str = "slipway.db";
/// The artifact root under a home folder.
pub const ARTIFACT_DIR: &str = "artifacts";

impl AppState {
    /// Opens the embedded defaults under `home`: `slipway.db` (SQLite, WAL) and `artifacts/`.
    pub async fn open_home(home: &Path, limits: Limits) -> slipway_store::Result<Self> {
        Self::open(
            home,
            &BackendStore::Home,
            &ArtifactDestination::Home,
            limits,
        )
        .await
    }

    /// Opens metadata at `backend` and artifacts at `destination`; `home` holds whichever of
    /// them is the default.
    pub async fn open(
        home: &Path,
        backend: &BackendStore,
        destination: &ArtifactDestination,
        limits: Limits,
    ) -> slipway_store::Result<Self> {
        tokio::fs::create_dir_all(home).await?;
        let meta: Arc<dyn MetadataStore> = match backend {
            BackendStore::Home => Arc::new(SqliteStore::open(&home.join(DATABASE_FILE)).await?),
            BackendStore::Sqlite(path) => Arc::new(SqliteStore::open(path).await?),
            BackendStore::Postgres(url) => Arc::new(PostgresStore::connect(url).await?),
        };
        let artifacts = open_artifacts(destination, home).await?;
        Ok(AppState {
            meta,
            artifacts,
            limits,
            policy: None,
            http: HttpOptions::default(),
            serving: None,
        })
    }

    /// This state with `policy` guarding the aliases it protects.
    pub fn with_policy(mut self, policy: Option<slipway_govern::Policy>) -> Self {
        self.policy = policy;
        self
    }
}

/// How old a temporary artifact file must be before the start-up sweep removes it: a write
/// renames its file into place as soon as the bytes are on disk.
const ORPHAN_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Opens the artifact store at `destination` (`home` holds the default one).
pub async fn open_artifacts(
    destination: &ArtifactDestination,
    home: &Path,
) -> slipway_store::Result<Arc<dyn ArtifactStore>> {
    Ok(match destination {
        ArtifactDestination::Home => Arc::new(open_local(home.join(ARTIFACT_DIR)).await?),
        ArtifactDestination::Local(root) => Arc::new(open_local(root.clone()).await?),
        ArtifactDestination::S3 { url, endpoint } => {
            let store = S3ArtifactStore::open(url, endpoint.as_deref())?;
            // Reach the bucket once now, so a wrong endpoint or credentials stop startup.
            store
                .list(&ArtifactPath::root())
                .await
                .map_err(|e| slipway_store::Error::Internal(format!("cannot reach {url}: {e}")))?;
            Arc::new(store)
        }
    })
}

/// Opens (creating) a local artifact folder, such as the prediction log of `serve --bundle`.
pub async fn open_local_artifacts(root: PathBuf) -> slipway_store::Result<Arc<dyn ArtifactStore>> {
    tokio::fs::create_dir_all(&root).await?;
    Ok(Arc::new(open_local(root).await?))
}

async fn open_local(root: PathBuf) -> slipway_store::Result<LocalArtifactStore> {
    let store = tokio::task::spawn_blocking(move || LocalArtifactStore::open(&root))
        .await
        .map_err(|e| slipway_store::Error::Internal(format!("opening artifacts: {e}")))??;
    // Temporary files a killed writer left behind, removed in the background: start-up does
    // not wait on a walk of the whole artifact tree.
    let sweeper = store.clone();
    tokio::task::spawn_blocking(move || match sweeper.sweep_temp_files(ORPHAN_TEMP_AGE) {
        Ok(0) => {}
        Ok(n) => tracing::info!("removed {n} temporary artifact files left by interrupted writes"),
        Err(e) => tracing::warn!("sweeping temporary artifact files: {e}"),
    });
    Ok(store)
}

/// Where the server keeps artifact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactDestination {
    /// `artifacts/` under the home folder.
    Home,
    /// A local directory.
    Local(PathBuf),
    /// `s3://bucket/prefix`, optionally at an S3-compatible endpoint.
    S3 {
        /// The `s3://bucket/prefix` URL.
        url: String,
        /// Endpoint override (else `AWS_ENDPOINT_URL`, else AWS).
        endpoint: Option<String>,
    },
}

impl ArtifactDestination {
    /// Reads a destination: `s3://...`, a `file://` URL or a plain directory path.
    pub fn parse(raw: &str, endpoint: Option<String>) -> slipway_store::Result<Self> {
        if raw.starts_with("s3://") {
            return Ok(ArtifactDestination::S3 {
                url: raw.to_string(),
                endpoint,
            });
        }
        if let Some(path) = raw.strip_prefix("file://") {
            return Ok(ArtifactDestination::Local(PathBuf::from(path)));
        }
        if raw.is_empty() || raw.contains("://") {
            return Err(slipway_store::Error::InvalidParameter(format!(
                "invalid artifact destination '{raw}': use a directory, file:///dir or s3://bucket/prefix"
            )));
        }
        Ok(ArtifactDestination::Local(PathBuf::from(raw)))
    }
}

/// Where the server keeps metadata (MLflow's `--backend-store-uri`).
#[derive(Clone, PartialEq, Eq)]
pub enum BackendStore {
    /// `slipway.db` (SQLite) under the home folder.
    Home,
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL database URL (`postgresql://…` or `postgres://…`).
    Postgres(String),
}

impl std::fmt::Debug for BackendStore {
    /// Never shows a PostgreSQL URL: it may hold a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendStore::Home => f.write_str("Home"),
            BackendStore::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            BackendStore::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

impl BackendStore {
    /// Reads a backend store URI: `postgresql://…` / `postgres://…`, `sqlite:///path` or a
    /// plain file path. An error never repeats the URI (it may hold a password).
    pub fn parse(raw: &str) -> slipway_store::Result<Self> {
        if slipway_store::postgres::is_postgres_url(raw) {
            return Ok(BackendStore::Postgres(raw.trim().to_string()));
        }
        if raw.starts_with("sqlite:") {
            let options = slipway_store::sqlx::sqlite::SqliteConnectOptions::from_str(raw)
                .map_err(|e| {
                    slipway_store::Error::InvalidParameter(format!("invalid SQLite URL: {e}"))
                })?;
            return Ok(BackendStore::Sqlite(options.get_filename().to_path_buf()));
        }
        if let Some((scheme, _)) = raw.split_once("://") {
            return Err(slipway_store::Error::InvalidParameter(format!(
                "unsupported backend store scheme '{}': use a SQLite file path, \
                 sqlite:///path or postgresql://user:password@host:port/database",
                scheme.chars().take(20).collect::<String>()
            )));
        }
        if raw.trim().is_empty() {
            return Err(slipway_store::Error::InvalidParameter(
                "empty backend store URI: use a SQLite file path or a postgresql:// URL".into(),
            ));
        }
        Ok(BackendStore::Sqlite(PathBuf::from(raw)))
    }
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::EndpointNotFound {
        method: method.to_string(),
        path: uri.path().chars().take(300).collect(),
    }
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}

async fn server_info() -> Json<serde_json::Value> {
    Json(json!({
        "store_type": "SqlStore",
        "workspaces_enabled": false,
        "trace_archival_enabled": false,
        "multipart_uploads_enabled": false,
        "multipart_downloads_enabled": false,
    }))
}

async fn openapi_json(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
) -> Json<serde_json::Value> {
    Json(openapi::document(state.serving.is_some()))
}

async fn health() -> &'static str {
    "OK"
}

async fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Answers 408 when a request is not read and answered within `limit`.
async fn time_limit(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::RequestTimeout(limit.as_secs()).into_response(),
    }
}

/// The whole HTTP API over `state`, behind the guard of `state.http.access`.
pub fn app(state: Arc<AppState>) -> Router {
    use axum::middleware::from_fn_with_state;
    use tracking as t;
    probes::mark_start();
    let limits = state.limits;
    let http = state.http.clone();
    let mlflow = Router::new()
        .route("/experiments/create", post(t::create_experiment))
        .route("/experiments/get", get(t::get_experiment))
        .route("/experiments/get-by-name", get(t::get_experiment_by_name))
        .route("/experiments/search", post(t::search_experiments))
        .route("/experiments/delete", post(t::delete_experiment))
        .route("/experiments/restore", post(t::restore_experiment))
        .route("/experiments/update", post(t::update_experiment))
        .route(
            "/experiments/set-experiment-tag",
            post(t::set_experiment_tag),
        )
        .route("/runs/create", post(t::create_run))
        .route("/runs/get", get(t::get_run))
        .route("/runs/update", post(t::update_run))
        .route("/runs/delete", post(t::delete_run))
        .route("/runs/restore", post(t::restore_run))
        .route("/runs/log-parameter", post(t::log_param))
        .route("/runs/log-metric", post(t::log_metric))
        .route("/runs/set-tag", post(t::set_tag))
        .route("/runs/delete-tag", post(t::delete_tag))
        .route("/runs/log-batch", post(t::log_batch))
        .route("/runs/search", post(t::search_runs))
        .route("/runs/outputs", post(t::log_outputs))
        .route("/runs/log-inputs", post(t::log_inputs))
        .route("/metrics/get-history", get(t::metric_history))
        .merge(logged_models::routes())
        .merge(registry::routes())
        .layer(DefaultBodyLimit::max(limits.json_body_bytes))
        .layer(Extension(extract::BodyLimit(limits.json_body_bytes)))
        .layer(from_fn_with_state(http.request_timeout, time_limit));
    let artifact_routes = Router::new()
        .route("/artifacts", get(artifacts::list))
        .route(
            "/artifacts/{*path}",
            get(artifacts::download)
                .put(artifacts::upload)
                .delete(artifacts::delete),
        )
        // The upload handler streams and enforces `limits.artifact_body_bytes` itself.
        .layer(DefaultBodyLimit::disable())
        .layer(from_fn_with_state(http.artifact_timeout, time_limit));
    let slipway_routes = deployments::routes()
        .layer(DefaultBodyLimit::max(limits.json_body_bytes))
        .layer(Extension(extract::BodyLimit(limits.json_body_bytes)))
        .layer(from_fn_with_state(http.request_timeout, time_limit));
    let mut router = Router::new()
        .nest("/api/2.0/mlflow", mlflow)
        .nest("/api/2.0/mlflow-artifacts", artifact_routes)
        .nest("/api/2.0/slipway", slipway_routes)
        .route("/api/3.0/mlflow/server-info", get(server_info))
        .route("/api/openapi.json", get(openapi_json))
        .route("/health", get(health))
        .route("/ready", get(probes::ready))
        .route("/metrics", get(probes::metrics))
        .route("/version", get(version))
        .merge(ui::routes());
    if let Some(s) = &state.serving {
        router = router.merge(
            serving::routes(s.clone(), false)
                .layer(from_fn_with_state(http.request_timeout, time_limit)),
        );
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(from_fn_with_state(Arc::new(http.access), guard::guard))
}

/// The inference server alone, with no metadata or artifact store (`slipway serve
/// --bundle`): the inference routes, `/health`, `/version` and `/openapi.json`, behind the
/// same guard, limits and timeouts as [`app`].
pub fn serving_app(serving: Arc<serving::Serving>, http: &HttpOptions) -> Router {
    use axum::middleware::from_fn_with_state;
    Router::new()
        .merge(serving::routes(serving, true))
        .route("/health", get(health))
        .route("/version", get(version))
        .layer(from_fn_with_state(http.request_timeout, time_limit))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(
            Arc::new(http.access.clone()),
            guard::guard,
        ))
}

/// Serves [`serving_app`] on `listener` until `shutdown` completes.
pub async fn serve_models(
    listener: tokio::net::TcpListener,
    serving: Arc<serving::Serving>,
    http: HttpOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = serving_app(serving, &http);
    conn::serve(listener, app, http, shutdown).await
}

/// Serves `app(state)` on `listener` until `shutdown` completes, then finishes in-flight
/// requests; connections are timed and capped by `state.http` (see [`HttpOptions`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let options = state.http.clone();
    conn::serve(listener, app(state), options, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_store_uris() {
        let pg = "postgresql://u:secret@db.example:5432/slipway";
        assert_eq!(
            BackendStore::parse(pg).expect("pg"),
            BackendStore::Postgres(pg.into())
        );
        assert!(!format!("{:?}", BackendStore::parse(pg).expect("pg")).contains("secret"));
        assert_eq!(
            BackendStore::parse("postgres://localhost/x").expect("short scheme"),
            BackendStore::Postgres("postgres://localhost/x".into())
        );
        assert_eq!(
            BackendStore::parse("sqlite:///var/lib/slipway/meta.db").expect("sqlite url"),
            BackendStore::Sqlite(PathBuf::from("/var/lib/slipway/meta.db"))
        );
        assert_eq!(
            BackendStore::parse("meta.db").expect("path"),
            BackendStore::Sqlite(PathBuf::from("meta.db"))
        );
        for bad in ["mysql://u:secret@h/db", "", "  "] {
            let err = BackendStore::parse(bad).expect_err(bad).to_string();
            assert!(!err.contains("secret"), "{err}");
        }
    }
}
