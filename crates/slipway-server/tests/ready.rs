//! The store server's readiness (`/ready`) and metrics (`/metrics`): present without served
//! models, 503 while a store does not answer, never leaking where the store is.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use axum::{Router, http::HeaderMap};
use serde_json::Value;
use slipway_server::{AccessPolicy, AllowedHosts, AppState, HttpOptions, Limits, app};
use slipway_store::S3ArtifactStore;
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("not JSON: {}", self.text))
    }
}

async fn send(router: &Router, method: &str, uri: &str, host: &str) -> Answer {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", host)
        .body(Body::empty())
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn state(home: &std::path::Path) -> AppState {
    let mut state = AppState::open_home(home, Limits::default())
        .await
        .expect("open");
    // As `slipway serve --host 0.0.0.0` in a pod: a probe's Host is the pod's IP address.
    state.http = HttpOptions {
        access: AccessPolicy {
            hosts: AllowedHosts::default_for("0.0.0.0"),
            origins: Vec::new(),
        },
        ..HttpOptions::default()
    };
    state
}

#[tokio::test]
async fn ready_and_metrics_answer_without_served_models() {
    let home = tempfile::tempdir().expect("tempdir");
    let router = app(Arc::new(state(home.path()).await));

    let a = send(&router, "GET", "/ready", "10.1.2.3:5000").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let v = a.json();
    assert_eq!(v["ready"], true);
    assert_eq!(v["checks"]["metadata_store"]["ok"], true);
    assert_eq!(v["checks"]["artifact_store"]["ok"], true);
    assert!(v.get("models").is_none(), "no served models: {v}");

    let m = send(&router, "GET", "/metrics", "10.1.2.3:5000").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(
        m.headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        m.headers
    );
    let uptime: f64 = m
        .text
        .lines()
        .find_map(|l| l.strip_prefix("slipway_uptime_seconds "))
        .expect("an uptime sample")
        .parse()
        .expect("a number");
    assert!(uptime >= 0.0);
    assert!(
        m.text.contains(&format!(
            "slipway_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )),
        "{}",
        m.text
    );

    // Both are in the OpenAPI document of a server that serves no models.
    let doc = send(&router, "GET", "/api/openapi.json", "localhost")
        .await
        .json();
    assert!(doc["paths"]["/ready"]["get"].is_object());
    assert!(doc["paths"]["/metrics"]["get"].is_object());
}

#[tokio::test]
async fn unreachable_artifact_store_is_not_ready_and_says_which_without_detail() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut state = state(home.path()).await;
    // A port nothing listens on: the bucket's endpoint is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    state.artifacts = Arc::new(
        S3ArtifactStore::open("s3://ready-check/artifacts", Some(&endpoint)).expect("s3 store"),
    );
    let router = app(Arc::new(state));
    let started = std::time::Instant::now();
    let a = send(&router, "GET", "/ready", "10.1.2.3:5000").await;
    // The check gives up within its own limit, under the probe's 3 s timeout.
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text);
    let v = a.json();
    assert_eq!(v["ready"], false);
    assert_eq!(v["checks"]["metadata_store"]["ok"], true);
    assert_eq!(v["checks"]["artifact_store"]["ok"], false);
    let why = v["checks"]["artifact_store"]["error"]
        .as_str()
        .expect("why");
    assert!(matches!(why, "unreachable" | "timed out"), "{why}");
    for secret in ["127.0.0.1", &port.to_string(), "ready-check", "s3://"] {
        assert!(!a.text.contains(secret), "{secret} leaked: {}", a.text);
    }
    // Liveness does not depend on the stores: the process is alive, just not ready.
    assert_eq!(
        send(&router, "GET", "/health", "10.1.2.3:5000")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn hostile_requests_to_the_probes() {
    let home = tempfile::tempdir().expect("tempdir");
    let router = app(Arc::new(state(home.path()).await));
    // DNS rebinding: a foreign Host name is refused before the metrics handler; /ready, a
    // probe like /health, answers any Host (it tells nothing but up or down).
    let a = send(&router, "GET", "/metrics", "evil.example").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    let a = send(&router, "GET", "/ready", "evil.example").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    for path in ["/ready", "/metrics"] {
        // Only GET.
        for method in ["POST", "PUT", "DELETE"] {
            let a = send(&router, method, path, "localhost").await;
            assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_eq!(a.json()["error_code"], "ENDPOINT_NOT_FOUND", "{}", a.text);
        }
        // A query string changes nothing; a NUL in it is refused like anywhere else.
        let a = send(&router, "GET", &format!("{path}?y=../../etc"), "localhost").await;
        assert_eq!(a.status, StatusCode::OK, "{path}: {}", a.text);
        let a = send(&router, "GET", &format!("{path}?x=%00"), "localhost").await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{path}: {}", a.text);
        assert_eq!(a.json()["error_code"], "INVALID_PARAMETER_VALUE");
    }
}
