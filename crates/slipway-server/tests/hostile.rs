//! Hostile requests: cross-site writes, DNS rebinding, NUL in text, path-like keys, the
//! security headers, and (over a real socket) silent, trickling and idle connections and
//! the connection cap. Each class is checked on SQLite, and the NUL class on PostgreSQL too
//! when `SLIPWAY_TEST_POSTGRES_URL` is set.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};
use slipway_server::{
    AccessPolicy, AllowedHosts, AppState, ArtifactDestination, BackendStore, HttpOptions, Limits,
    app,
};
use tower::ServiceExt;

struct Api {
    router: Router,
    _home: tempfile::TempDir,
}

async fn api_with(http: HttpOptions) -> Api {
    let home = tempfile::tempdir().expect("tempdir");
    let mut state = AppState::open_home(home.path(), Limits::default())
        .await
        .expect("open");
    state.http = http;
    Api {
        router: app(Arc::new(state)),
        _home: home,
    }
}

async fn api() -> Api {
    api_with(HttpOptions::default()).await
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Api {
    async fn send(&self, method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(if body.is_empty() {
                Body::empty()
            } else {
                Body::from(body.to_string())
            })
            .expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("response");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A JSON call as the official client makes it (application/json, no Origin).
    async fn json(&self, method: &str, path: &str, body: Value) -> Answer {
        self.send(
            method,
            &format!("/api/2.0/mlflow/{path}"),
            &[("content-type", "application/json")],
            &body.to_string(),
        )
        .await
    }

    async fn ok(&self, method: &str, path: &str, body: Value) -> Value {
        let a = self.json(method, path, body).await;
        assert_eq!(a.status, StatusCode::OK, "{method} {path}: {}", a.body);
        a.body
    }

    async fn get(&self, path_and_query: &str) -> Answer {
        self.send("GET", &format!("/api/2.0/mlflow/{path_and_query}"), &[], "")
            .await
    }

    /// A registered model `m` with version 1 under alias `champion`, and version 2.
    async fn model_with_champion(&self) {
        self.ok("POST", "registered-models/create", json!({"name": "m"}))
            .await;
        for _ in 0..2 {
            self.ok(
                "POST",
                "model-versions/create",
                json!({"name": "m", "source": "mlflow-artifacts:/0/x/artifacts/model"}),
            )
            .await;
        }
        self.ok(
            "POST",
            "registered-models/alias",
            json!({"name": "m", "alias": "champion", "version": "1"}),
        )
        .await;
    }

    async fn champion(&self) -> Value {
        let a = self
            .get("registered-models/alias?name=m&alias=champion")
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.body["model_version"]["version"].clone()
    }
}

fn assert_api_error(a: &Answer, status: StatusCode, code: &str, context: &str) {
    assert_eq!(a.status, status, "{context}: {}", a.body);
    assert_eq!(a.body["error_code"], code, "{context}: {}", a.body);
    assert!(
        a.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{context}: {}",
        a.body
    );
}

/// Every JSON endpoint that changes state, with a body that would succeed or fail on its
/// own merits: none may be reached with a content type a page can send without a preflight.
const WRITES: &[(&str, &str)] = &[
    ("POST", "experiments/create"),
    ("POST", "experiments/delete"),
    ("POST", "experiments/restore"),
    ("POST", "experiments/update"),
    ("POST", "experiments/set-experiment-tag"),
    ("POST", "experiments/search"),
    ("POST", "runs/create"),
    ("POST", "runs/update"),
    ("POST", "runs/delete"),
    ("POST", "runs/restore"),
    ("POST", "runs/log-parameter"),
    ("POST", "runs/log-metric"),
    ("POST", "runs/set-tag"),
    ("POST", "runs/delete-tag"),
    ("POST", "runs/log-batch"),
    ("POST", "runs/search"),
    ("POST", "runs/outputs"),
    ("POST", "runs/log-inputs"),
    ("POST", "logged-models"),
    ("POST", "logged-models/search"),
    ("PATCH", "logged-models/m-1"),
    ("DELETE", "logged-models/m-1"),
    ("PATCH", "logged-models/m-1/tags"),
    ("POST", "logged-models/m-1/params"),
    ("POST", "registered-models/create"),
    ("POST", "registered-models/rename"),
    ("PATCH", "registered-models/update"),
    ("DELETE", "registered-models/delete"),
    ("POST", "registered-models/get-latest-versions"),
    ("POST", "registered-models/set-tag"),
    ("DELETE", "registered-models/delete-tag"),
    ("POST", "registered-models/alias"),
    ("DELETE", "registered-models/alias"),
    ("POST", "model-versions/create"),
    ("PATCH", "model-versions/update"),
    ("DELETE", "model-versions/delete"),
    ("POST", "model-versions/transition-stage"),
    ("POST", "model-versions/set-tag"),
    ("DELETE", "model-versions/delete-tag"),
];

#[tokio::test]
async fn json_endpoints_refuse_bodies_a_page_can_send_without_a_preflight() {
    let api = api().await;
    api.model_with_champion().await;
    let body = json!({"name": "m", "alias": "champion", "version": "2"}).to_string();
    for (method, path) in WRITES {
        for content_type in [
            Some("text/plain"),
            Some("text/plain;charset=UTF-8"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonx"),
            None,
        ] {
            let headers: Vec<(&str, &str)> = content_type
                .map(|c| ("content-type", c))
                .into_iter()
                .collect();
            let a = api
                .send(method, &format!("/api/2.0/mlflow/{path}"), &headers, &body)
                .await;
            let context = format!("{method} {path} as {content_type:?}");
            assert_api_error(
                &a,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "BAD_REQUEST",
                &context,
            );
        }
    }
    assert_eq!(api.champion().await, "1", "the alias did not move");
    // A POST with no body at all is refused too: `fetch(url, {method: 'POST'})` needs no
    // preflight.
    let a = api
        .send("POST", "/api/2.0/mlflow/experiments/create", &[], "")
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", a.body);

    // JSON in any spelling the clients use passes; reads need no content type.
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
    ] {
        let a = api
            .send(
                "POST",
                "/api/2.0/mlflow/registered-models/alias",
                &[("content-type", content_type)],
                &body,
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{content_type}: {}", a.body);
    }
    assert_eq!(api.champion().await, "2");
    assert_eq!(
        api.get("experiments/get?experiment_id=0").await.status,
        StatusCode::OK
    );
    // A DELETE without a body needs no content type (it then lacks its arguments).
    let a = api
        .send("DELETE", "/api/2.0/mlflow/registered-models/alias", &[], "")
        .await;
    assert_api_error(
        &a,
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER_VALUE",
        "bare DELETE",
    );
}

#[tokio::test]
async fn artifact_uploads_are_bytes_but_still_checked_for_origin() {
    let api = api().await;
    let put = |headers: Vec<(&'static str, &'static str)>| {
        let api = &api;
        async move {
            api.send(
                "PUT",
                "/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/a.bin",
                &headers,
                "bytes",
            )
            .await
        }
    };
    assert_eq!(
        put(vec![("content-type", "application/octet-stream")])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(put(vec![]).await.status, StatusCode::OK);
    let a = put(vec![
        ("content-type", "application/octet-stream"),
        ("origin", "http://evil.example"),
        ("host", "localhost:5000"),
    ])
    .await;
    assert_api_error(
        &a,
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        "foreign PUT",
    );
    let a = api
        .send(
            "DELETE",
            "/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/a.bin",
            &[("sec-fetch-site", "cross-site")],
            "",
        )
        .await;
    assert_api_error(
        &a,
        StatusCode::FORBIDDEN,
        "PERMISSION_DENIED",
        "cross-site DELETE",
    );
}

#[tokio::test]
async fn foreign_origins_cannot_change_state() {
    let api = api().await;
    api.model_with_champion().await;
    let move_alias = |origin: &'static str, extra: Option<(&'static str, &'static str)>| {
        let api = &api;
        async move {
            let mut headers = vec![
                ("content-type", "application/json"),
                ("host", "localhost:5000"),
                ("origin", origin),
            ];
            headers.extend(extra);
            api.send(
                "POST",
                "/api/2.0/mlflow/registered-models/alias",
                &headers,
                &json!({"name": "m", "alias": "champion", "version": "2"}).to_string(),
            )
            .await
        }
    };
    for origin in [
        "http://evil.example",
        "http://localhost:3000",
        "https://localhost:5000.evil.example",
        "null",
        "http://localhost:5000/path",
    ] {
        let a = move_alias(origin, None).await;
        assert_api_error(&a, StatusCode::FORBIDDEN, "PERMISSION_DENIED", origin);
    }
    let a = move_alias(
        "http://localhost:5000",
        Some(("sec-fetch-site", "cross-site")),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.body);
    assert_eq!(
        api.champion().await,
        "1",
        "no foreign request moved the alias"
    );

    // The server's own origin (the web UI) may.
    let a = move_alias(
        "http://localhost:5000",
        Some(("sec-fetch-site", "same-origin")),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(api.champion().await, "2");

    // Reads from anywhere are answered (a browser keeps the answer from a foreign page:
    // no CORS header).
    let a = api
        .send(
            "GET",
            "/api/2.0/mlflow/experiments/get?experiment_id=0",
            &[("origin", "http://evil.example")],
            "",
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(!a.headers.contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn allow_listed_origins_may_write_and_get_cors_answers() {
    let api = api_with(HttpOptions {
        access: AccessPolicy {
            hosts: AllowedHosts::default_for("127.0.0.1"),
            origins: AccessPolicy::parse_origins("https://notebooks.example").expect("origins"),
        },
        ..HttpOptions::default()
    })
    .await;
    let a = api
        .send(
            "OPTIONS",
            "/api/2.0/mlflow/experiments/create",
            &[
                ("origin", "https://notebooks.example"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type"),
            ],
            "",
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(
        a.headers["access-control-allow-origin"],
        "https://notebooks.example"
    );
    let a = api
        .send(
            "POST",
            "/api/2.0/mlflow/experiments/create",
            &[
                ("content-type", "application/json"),
                ("origin", "https://notebooks.example"),
                ("sec-fetch-site", "cross-site"),
            ],
            &json!({"name": "from-notebook"}).to_string(),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.headers["access-control-allow-origin"],
        "https://notebooks.example"
    );
    let a = api
        .send(
            "OPTIONS",
            "/api/2.0/mlflow/experiments/create",
            &[
                ("origin", "https://other.example"),
                ("access-control-request-method", "POST"),
            ],
            "",
        )
        .await;
    assert!(!a.headers.contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn the_host_header_must_name_this_server() {
    let api = api().await;
    for uri in [
        "/api/2.0/mlflow/experiments/get?experiment_id=0",
        "/",
        "/static/app.js",
        "/api/2.0/mlflow-artifacts/artifacts",
        "/api/3.0/mlflow/server-info",
        "/no/such/route",
    ] {
        for host in [
            "rebind.attacker.example:5000",
            "rebind.attacker.example",
            "10.0.0.8:5000",
        ] {
            let a = api.send("GET", uri, &[("host", host)], "").await;
            assert_api_error(
                &a,
                StatusCode::FORBIDDEN,
                "PERMISSION_DENIED",
                &format!("{uri} {host}"),
            );
        }
        for host in [
            "localhost:5000",
            "127.0.0.1:5000",
            "[::1]:5000",
            "localhost",
        ] {
            let a = api.send("GET", uri, &[("host", host)], "").await;
            assert_ne!(a.status, StatusCode::FORBIDDEN, "{uri} {host}");
        }
    }
    // The request line's own authority counts, as HTTP/1.1 says.
    let a = api
        .send(
            "GET",
            "http://rebind.attacker.example:5000/api/2.0/mlflow/experiments/get?experiment_id=0",
            &[],
            "",
        )
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // Probes answer whatever Host they send.
    for uri in ["/health", "/version"] {
        let a = api.send("GET", uri, &[("host", "10.1.2.3:5000")], "").await;
        assert_eq!(a.status, StatusCode::OK, "{uri}");
    }

    // A server bound to all interfaces takes IP literals; a named host must be allowed.
    let wide = api_with(HttpOptions {
        access: AccessPolicy {
            hosts: AllowedHosts::default_for("0.0.0.0"),
            origins: vec![],
        },
        ..HttpOptions::default()
    })
    .await;
    assert_eq!(
        wide.send("GET", "/", &[("host", "10.0.0.8:5000")], "")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        wide.send("GET", "/", &[("host", "rebind.attacker.example:5000")], "")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let named = api_with(HttpOptions {
        access: AccessPolicy {
            hosts: AllowedHosts::parse("mlflow.example.com").expect("hosts"),
            origins: vec![],
        },
        ..HttpOptions::default()
    })
    .await;
    assert_eq!(
        named
            .send("GET", "/", &[("host", "mlflow.example.com")], "")
            .await
            .status,
        StatusCode::OK
    );
}

/// Each text field of the API with a NUL in it; every one is a 400 naming the field.
async fn nul_everywhere(api: &Api) {
    let exp = api
        .ok("POST", "experiments/create", json!({"name": "e"}))
        .await;
    let exp = exp["experiment_id"].as_str().expect("id").to_string();
    let run = api
        .ok("POST", "runs/create", json!({"experiment_id": exp}))
        .await;
    let run = run["run"]["info"]["run_id"]
        .as_str()
        .expect("run")
        .to_string();
    api.ok("POST", "registered-models/create", json!({"name": "m"}))
        .await;
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            "POST",
            "experiments/create",
            json!({"name": "a\u{0}b"}),
            "name",
        ),
        (
            "POST",
            "experiments/create",
            json!({"name": "ok", "tags": [{"key": "k", "value": "v\u{0}"}]}),
            "tags[0].value",
        ),
        (
            "POST",
            "experiments/update",
            json!({"experiment_id": exp, "new_name": "\u{0}"}),
            "new_name",
        ),
        (
            "POST",
            "runs/log-parameter",
            json!({"run_id": run, "key": "lr", "value": "0.1\u{0}"}),
            "value",
        ),
        (
            "POST",
            "runs/set-tag",
            json!({"run_id": run, "key": "k\u{0}", "value": "v"}),
            "key",
        ),
        (
            "POST",
            "runs/log-batch",
            json!({"run_id": run, "params": [{"key": "p", "value": "\u{0}"}]}),
            "params[0].value",
        ),
        (
            "POST",
            "runs/search",
            json!({"experiment_ids": [exp], "filter": "params.p = '\u{0}'"}),
            "filter",
        ),
        (
            "POST",
            "experiments/search",
            json!({"filter": "name = '\u{0}'"}),
            "filter",
        ),
        (
            "POST",
            "registered-models/create",
            json!({"name": "m\u{0}"}),
            "name",
        ),
        (
            "PATCH",
            "registered-models/update",
            json!({"name": "m", "description": "d\u{0}"}),
            "description",
        ),
        (
            "POST",
            "registered-models/alias",
            json!({"name": "m", "alias": "a\u{0}", "version": "1"}),
            "alias",
        ),
        (
            "POST",
            "runs/create",
            json!({"experiment_id": exp, "run_name": "r\u{0}"}),
            "run_name",
        ),
    ];
    for (method, path, body, field) in cases {
        let a = api.json(method, path, body).await;
        let context = format!("{method} {path}");
        assert_api_error(
            &a,
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
            &context,
        );
        let message = a.body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(field) && message.contains("NUL"),
            "{context}: {message}"
        );
    }
    for (query, param) in [
        (
            "experiments/get-by-name?experiment_name=a%00b",
            "experiment_name",
        ),
        ("experiments/get?experiment_id=1%00", "experiment_id"),
        ("registered-models/get?name=m%00", "name"),
        ("registered-models/alias?name=m&alias=%00", "alias"),
        ("model-versions/search?filter=name%3D%27%00%27", "filter"),
        ("metrics/get-history?run_id=x&metric_key=a%00", "metric_key"),
        ("logged-models/m-%00", "path"),
    ] {
        let a = api.get(query).await;
        assert_api_error(
            &a,
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
            query,
        );
        let message = a.body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(param) && message.contains("NUL"),
            "{query}: {message}"
        );
    }
    // Nothing was stored: the experiment and the model are unchanged.
    let a = api
        .get(&format!("experiments/get?experiment_id={exp}"))
        .await;
    assert_eq!(a.body["experiment"]["name"], "e");
    let a = api.get(&format!("runs/get?run_id={run}")).await;
    assert!(a.body["run"]["data"].get("params").is_none(), "{}", a.body);
}

#[tokio::test]
async fn nul_in_any_text_is_refused_on_sqlite() {
    nul_everywhere(&api().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_in_any_text_is_refused_on_postgres() {
    use slipway_store::sqlx::{self, Connection};
    let Some(admin_url) = std::env::var("SLIPWAY_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("skipping PostgreSQL: SLIPWAY_TEST_POSTGRES_URL is unset");
        return;
    };
    let name = format!(
        "slipway_hostile_{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("connect");
    sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create database");
    let (base, query) = admin_url.split_once('?').unwrap_or((&admin_url, ""));
    let slash = base.rfind('/').expect("url has a database");
    let url = format!(
        "{}/{name}{}",
        &base[..slash],
        if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        }
    );
    let home = tempfile::tempdir().expect("tempdir");
    let state = AppState::open(
        home.path(),
        &BackendStore::Postgres(url),
        &ArtifactDestination::Home,
        Limits::default(),
    )
    .await
    .expect("open PostgreSQL");
    let api = Api {
        router: app(Arc::new(state)),
        _home: home,
    };
    nul_everywhere(&api).await;
    drop(api);
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .expect("drop database");
}

#[tokio::test]
async fn path_like_keys_are_refused_as_mlflow_does() {
    let api = api().await;
    let run = api
        .ok("POST", "runs/create", json!({"experiment_id": "0"}))
        .await;
    let run = run["run"]["info"]["run_id"]
        .as_str()
        .expect("run")
        .to_string();
    for key in [".", "..", "a//b", "a/./b", "a/", "/a", "a/../b", "./a"] {
        for (path, body) in [
            (
                "runs/log-parameter",
                json!({"run_id": run, "key": key, "value": "1"}),
            ),
            (
                "runs/log-metric",
                json!({"run_id": run, "key": key, "value": 1.0, "timestamp": 1, "step": 0}),
            ),
            (
                "runs/set-tag",
                json!({"run_id": run, "key": key, "value": "v"}),
            ),
            (
                "runs/log-batch",
                json!({"run_id": run, "metrics": [{"key": key, "value": 1.0, "timestamp": 1, "step": 0}]}),
            ),
            (
                "experiments/set-experiment-tag",
                json!({"experiment_id": "0", "key": key, "value": "v"}),
            ),
        ] {
            let a = api.json("POST", path, body).await;
            assert_api_error(
                &a,
                StatusCode::BAD_REQUEST,
                "INVALID_PARAMETER_VALUE",
                &format!("{path} {key:?}"),
            );
        }
    }
    api.ok(
        "POST",
        "runs/log-parameter",
        json!({"run_id": run, "key": "optimizer/lr.initial", "value": "1"}),
    )
    .await;
}

#[tokio::test]
async fn every_response_says_nosniff_and_api_answers_are_not_cached() {
    let api = api().await;
    for (method, uri, headers, body) in [
        (
            "GET",
            "/api/2.0/mlflow/experiments/get?experiment_id=0",
            vec![],
            "",
        ),
        (
            "GET",
            "/api/2.0/mlflow/experiments/get?experiment_id=99",
            vec![],
            "",
        ),
        (
            "POST",
            "/api/2.0/mlflow/experiments/create",
            vec![("content-type", "text/plain")],
            "{}",
        ),
        ("GET", "/api/2.0/mlflow/no-such-endpoint", vec![], ""),
        (
            "GET",
            "/api/2.0/mlflow-artifacts/artifacts?path=0",
            vec![],
            "",
        ),
        ("GET", "/api/3.0/mlflow/server-info", vec![], ""),
        ("GET", "/health", vec![], ""),
        ("GET", "/", vec![], ""),
        ("GET", "/nowhere", vec![("host", "evil.example")], ""),
    ] {
        let a = api.send(method, uri, &headers, body).await;
        assert_eq!(
            a.headers
                .get("x-content-type-options")
                .map(|v| v.as_bytes()),
            Some(&b"nosniff"[..]),
            "{method} {uri}"
        );
        if uri.starts_with("/api/") {
            assert_eq!(a.headers["cache-control"], "no-store", "{method} {uri}");
        }
    }
}

// ---- Over a real socket: timeouts and the connection cap. ----

/// A server on a free loopback port with the given options; stops when dropped.
struct Server {
    addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
    _home: tempfile::TempDir,
}

async fn server(http: HttpOptions) -> Server {
    let home = tempfile::tempdir().expect("tempdir");
    let mut state = AppState::open_home(home.path(), Limits::default())
        .await
        .expect("open");
    state.http = http;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(slipway_server::serve(
        listener,
        Arc::new(state),
        async move {
            let _ = rx.await;
        },
    ));
    Server {
        addr,
        _stop: tx,
        _home: home,
    }
}

fn short(header: u64, idle: u64, request: u64, max_connections: usize) -> HttpOptions {
    HttpOptions {
        header_timeout: Duration::from_secs(header),
        idle_timeout: Duration::from_secs(idle),
        request_timeout: Duration::from_secs(request),
        artifact_timeout: Duration::from_secs(request),
        max_connections,
        ..HttpOptions::default()
    }
}

/// Waits (up to `limit`) for the server to close `s`; the time it took.
fn closed_within(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).expect("timeout");
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionReset) => {
                return Some(start.elapsed());
            }
            Err(_) => return None,
        }
    }
}

/// One `GET /health` on a new connection; the status line.
fn health(addr: SocketAddr, limit: Duration) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(limit)).expect("timeout");
    s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_header_timeout() {
    let srv = server(short(1, 30, 30, 64)).await;
    let addr = srv.addr;
    let took = blocking(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        closed_within(&mut s, Duration::from_secs(10))
    })
    .await;
    let took = took.expect("a silent connection must be closed");
    assert!(
        took >= Duration::from_millis(900),
        "closed too early: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_header_is_cut_off() {
    let srv = server(short(1, 30, 30, 64)).await;
    let addr = srv.addr;
    let closed = blocking(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(b"GET /health HTTP/1.1\r\n").expect("write");
        let start = Instant::now();
        // A header byte every 200 ms: each keeps the socket busy, none completes the header.
        while start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(200));
            if s.write_all(b"X").is_err() {
                return Some(start.elapsed());
            }
            s.set_read_timeout(Some(Duration::from_millis(1)))
                .expect("t");
            let mut buf = [0u8; 64];
            match s.read(&mut buf) {
                Ok(0) => return Some(start.elapsed()),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return Some(start.elapsed());
                }
                _ => {}
            }
        }
        None
    })
    .await;
    let took = closed.expect("a trickled header must be cut off");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed() {
    let srv = server(short(30, 1, 30, 64)).await;
    let addr = srv.addr;
    let took = blocking(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .expect("write");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("t");
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).expect("answer");
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        closed_within(&mut s, Duration::from_secs(10))
    })
    .await;
    let took = took.expect("an idle keep-alive connection must be closed");
    assert!(took >= Duration::from_millis(900), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_body_times_out() {
    let srv = server(short(30, 30, 1, 64)).await;
    let addr = srv.addr;
    let answer = blocking(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(
            b"POST /api/2.0/mlflow/experiments/create HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":",
        )
        .expect("write");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("t");
        let mut buf = [0u8; 2048];
        let n = s.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    })
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_LIMIT_EXCEEDED"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_while_idle_sockets_fill_the_connection_cap() {
    // Long timeouts: the idle sockets outlive the test unless the cap evicts them.
    let srv = server(short(60, 60, 60, 4)).await;
    let addr = srv.addr;
    let (status, closed) = blocking(move || {
        let mut idle: Vec<TcpStream> = (0..4)
            .map(|_| TcpStream::connect(addr).expect("connect"))
            .collect();
        // Let the server accept all four before the probe arrives.
        std::thread::sleep(Duration::from_millis(300));
        let status = health(addr, Duration::from_secs(5));
        // The longest-idle socket made room for the probe.
        let closed = closed_within(&mut idle[0], Duration::from_secs(5)).is_some();
        (status, closed)
    })
    .await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        closed,
        "the oldest idle connection was closed to admit the probe"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_after_a_flood_of_idle_sockets() {
    let srv = server(short(1, 1, 30, 8)).await;
    let addr = srv.addr;
    let status = blocking(move || {
        let _flood: Vec<TcpStream> = (0..64)
            .filter_map(|_| TcpStream::connect(addr).ok())
            .collect();
        health(addr, Duration::from_secs(5))
    })
    .await;
    assert_eq!(status, "HTTP/1.1 200 OK");
}

#[tokio::test]
async fn the_openapi_document_lists_endpoints_that_answer() {
    let api = api().await;
    let a = api.send("GET", "/api/openapi.json", &[], "").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["openapi"], "3.0.3");
    let paths = a.body["paths"].as_object().expect("paths");
    assert!(paths.len() > 50, "{}", paths.len());
    for (path, ops) in paths {
        let concrete = path
            .replace("{model_id}", "m-x")
            .replace("{tag_key}", "k")
            .replace("{path}", "0/x");
        for (method, op) in ops.as_object().expect("operations") {
            let json_body = op["requestBody"]["content"]
                .get("application/json")
                .is_some();
            let headers: Vec<(&str, &str)> = if json_body {
                vec![("content-type", "application/json")]
            } else {
                vec![]
            };
            let a = api
                .send(
                    &method.to_uppercase(),
                    &concrete,
                    &headers,
                    if json_body { "{}" } else { "" },
                )
                .await;
            assert_ne!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(
                a.body["error_code"], "ENDPOINT_NOT_FOUND",
                "{method} {path}: {}",
                a.body
            );
        }
    }
}
