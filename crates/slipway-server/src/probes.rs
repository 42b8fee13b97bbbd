//! The store server's readiness (`GET /ready`) and metrics (`GET /metrics`), present whether
//! or not it serves models, so an orchestrator can probe and scrape every replica.
//!
//! `/health` answers as long as the process runs (liveness); `/ready` answers 200 only when
//! the metadata store and the artifact store answer and every served model has a version
//! loaded, else 503 with the check that failed. A replica whose PostgreSQL or S3 bucket is
//! unreachable thus leaves the load balancer instead of answering 500s. The check names
//! what failed; the reason stays in the server's log, not in the answer.

use std::sync::Arc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use slipway_store::{ArtifactPath, ErrorKind};

use crate::AppState;

/// How long one store check may take before it counts as failed (under the 3 s timeout of
/// the Kubernetes probes in `deploy/k8s/`).
pub(crate) const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// When the first router was built: the start the metrics' uptime counts from.
static STARTED: OnceLock<Instant> = OnceLock::new();

/// Notes the server's start (idempotent).
pub(crate) fn mark_start() {
    STARTED.get_or_init(Instant::now);
}

/// The outcome of one store check: `None` when it answered, else what went wrong.
async fn check<T>(
    what: &str,
    fut: impl std::future::Future<Output = slipway_store::Result<T>>,
) -> Option<&'static str> {
    match tokio::time::timeout(CHECK_TIMEOUT, fut).await {
        Ok(Ok(_)) => None,
        // The store answered, with a "no such thing" or similar: it is reachable.
        Ok(Err(e)) if e.kind() == ErrorKind::User => None,
        Ok(Err(e)) => {
            tracing::warn!("readiness: the {what} failed: {e}");
            Some("unreachable")
        }
        Err(_) => {
            tracing::warn!(
                "readiness: the {what} did not answer within {} s",
                CHECK_TIMEOUT.as_secs()
            );
            Some("timed out")
        }
    }
}

fn entry(failure: Option<&'static str>) -> Value {
    match failure {
        None => json!({"ok": true}),
        Some(why) => json!({"ok": false, "error": why}),
    }
}

/// `GET /ready`: 200 when both stores answer and every served model is loaded, else 503.
pub(crate) async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let meta = state.meta.clone();
    let artifacts = state.artifacts.clone();
    let root = ArtifactPath::root();
    let (meta_failure, artifact_failure) = tokio::join!(
        check("metadata store", meta.get_experiment("0")),
        check("artifact store", artifacts.list(&root)),
    );
    let mut ok = meta_failure.is_none() && artifact_failure.is_none();
    let mut body = json!({
        "checks": {
            "metadata_store": entry(meta_failure),
            "artifact_store": entry(artifact_failure),
        }
    });
    if let Some(serving) = &state.serving {
        let (models_ok, models) = crate::serving::models_readiness(serving);
        ok &= models_ok;
        body["models"] = Value::Array(models);
    }
    body["ready"] = Value::Bool(ok);
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// `GET /metrics`: the inference metrics when the server serves models; the process's
/// uptime and build in any case (Prometheus text, exposition format 0.0.4).
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    if let Some(serving) = &state.serving {
        return crate::serving::metrics_response(serving);
    }
    let uptime = STARTED.get_or_init(Instant::now).elapsed().as_secs_f64();
    let text = format!(
        "# HELP slipway_uptime_seconds Seconds since the server started.\n\
         # TYPE slipway_uptime_seconds gauge\n\
         slipway_uptime_seconds {uptime}\n\
         # HELP slipway_build_info The server's version.\n\
         # TYPE slipway_build_info gauge\n\
         slipway_build_info{{version=\"{}\"}} 1\n",
        env!("CARGO_PKG_VERSION")
    );
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}
