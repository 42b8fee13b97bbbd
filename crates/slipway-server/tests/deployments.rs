//! Deployments end to end against a running server with short periods (1 s evaluation,
//! 20 requests minimum): a healthy canary reaches 100 % and becomes `champion`; a faulty one
//! (its schema needs a column the traffic lacks) is rolled back after one period; a slow one
//! (test-only latency injection) is rolled back on p95. A/B: the same key always gets the
//! same arm, across a restart. Hostile bodies on the deployment routes get 4xx answers.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use slipway_engine::{Engine, EngineOptions, NoProgress, PipelineConfig};
use slipway_server::serving::{DeploymentSpec, Serving, ServingOptions, Stores};
use slipway_server::{AppState, Limits, app};
use tower::ServiceExt;

const ADULT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/adult");

/// Trains a model on 400 Adult rows; `ignore_fnlwgt: false` makes a model whose schema
/// needs `fnlwgt`, which the traffic below lacks.
fn train(dir: &Path, family: &str, params: &str, ignore_fnlwgt: bool) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let text = std::fs::read_to_string(Path::new(ADULT).join("adult_train.csv")).unwrap();
    let lines: Vec<&str> = text.lines().take(401).collect();
    let data = dir.join("train.csv");
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let roles = if ignore_fnlwgt {
        "roles:\n  ignored: [fnlwgt]\n"
    } else {
        ""
    };
    let yaml = format!(
        "name: m\ndata:\n  train: {}\ntarget: income\n{roles}models:\n  - name: m\n    type: {family}\n    params: {params}\ncv:\n  folds: 2\nseed: 7\noutput: {}\n",
        data.display(),
        dir.join("out").display()
    );
    let path = dir.join("c.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let cfg = PipelineConfig::parse(&yaml, &path).unwrap();
    Engine::new(EngineOptions::default())
        .train(&cfg, Some(&yaml), &NoProgress)
        .unwrap()
        .bundle
        .unwrap()
}

/// Test rows without the target and without `fnlwgt`, as JSON objects.
fn traffic() -> Vec<Value> {
    let text = std::fs::read_to_string(Path::new(ADULT).join("adult_test.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .take(60)
        .map(|l| {
            let obj: serde_json::Map<String, Value> = header
                .iter()
                .zip(l.split(','))
                .filter(|(h, _)| **h != "income" && **h != "fnlwgt")
                .map(|(h, v)| {
                    let value = if v.is_empty() {
                        Value::Null
                    } else if let Ok(f) = v.parse::<f64>() {
                        json!(f)
                    } else {
                        json!(v)
                    };
                    (h.to_string(), value)
                })
                .collect();
            Value::Object(obj)
        })
        .collect()
}

struct Bundles {
    _dir: tempfile::TempDir,
    /// Versions 1..=3: champion (logistic), healthy challenger (GBDT), faulty (needs fnlwgt).
    list: Vec<PathBuf>,
}

fn bundles() -> Bundles {
    let dir = tempfile::tempdir().unwrap();
    let list = vec![
        train(
            &dir.path().join("v1"),
            "logistic_regression",
            "{c: 1.0}",
            true,
        ),
        train(&dir.path().join("v2"), "gbdt", "{n_estimators: 10}", true),
        train(
            &dir.path().join("v3"),
            "logistic_regression",
            "{c: 1.0}",
            false,
        ),
    ];
    Bundles { _dir: dir, list }
}

/// A home with `churn` versions 1..=3 registered and `champion` → 1.
async fn home_with_versions(home: &Path, bundles: &Bundles) -> AppState {
    let state = AppState::open_home(home, Limits::default()).await.unwrap();
    state
        .meta
        .create_registered_model(slipway_store::NewRegisteredModel {
            name: "churn".into(),
            description: None,
            tags: vec![],
        })
        .await
        .unwrap();
    for (i, bundle) in bundles.list.iter().enumerate() {
        let prefix = format!("0/run{i}/artifacts/model");
        for e in std::fs::read_dir(bundle).unwrap() {
            let e = e.unwrap();
            if e.path().is_file() {
                let path = slipway_store::ArtifactPath::parse(&format!(
                    "{prefix}/{}",
                    e.file_name().to_string_lossy()
                ))
                .unwrap();
                state
                    .artifacts
                    .put(&path, std::fs::read(e.path()).unwrap().into())
                    .await
                    .unwrap();
            }
        }
        state
            .meta
            .create_model_version(slipway_store::NewModelVersion {
                name: "churn".into(),
                source: format!("mlflow-artifacts:/{prefix}"),
                run_id: None,
                run_link: None,
                description: None,
                tags: vec![],
                model_id: None,
                user_id: None,
            })
            .await
            .unwrap();
    }
    state
        .meta
        .set_registered_model_alias("churn", "champion", "1")
        .await
        .unwrap();
    state
}

/// `slipway serve --model churn@champion` over the home, with a fast controller.
async fn start(home: &Path, options: ServingOptions) -> (Router, Arc<Serving>) {
    start_serving(home, options, false).await
}

/// As [`start`], with the prediction log written to the home's stores (`logged`).
async fn start_serving(
    home: &Path,
    options: ServingOptions,
    logged: bool,
) -> (Router, Arc<Serving>) {
    let state = AppState::open_home(home, Limits::default()).await.unwrap();
    let stores = Stores {
        meta: state.meta.clone(),
        artifacts: state.artifacts.clone(),
    };
    let log = logged.then(|| slipway_server::serving::LogStore {
        artifacts: state.artifacts.clone(),
        index: Some(state.meta.clone()),
    });
    let serving = Serving::start(
        vec![DeploymentSpec::parse_model("churn@champion").unwrap()],
        Some(stores),
        log,
        options,
    )
    .await
    .expect("serving starts");
    let mut state = state;
    state.serving = Some(serving.clone());
    (app(Arc::new(state)), serving)
}

fn fast() -> ServingOptions {
    let mut o = ServingOptions {
        reload_interval: Duration::from_millis(200),
        ..ServingOptions::default()
    };
    o.rollout.tick = Duration::from_millis(100);
    o
}

struct Answer {
    status: StatusCode,
    body: Value,
    text: String,
}

async fn call(router: &Router, req: Request<Body>) -> Answer {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn post(router: &Router, uri: &str, body: Value) -> Answer {
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    call(router, req).await
}

async fn get(router: &Router, uri: &str) -> Answer {
    call(
        router,
        Request::builder().uri(uri).body(Body::empty()).unwrap(),
    )
    .await
}

const API: &str = "/api/2.0/slipway/deployments";

fn canary(name: &str, challenger: &str) -> Value {
    json!({
        "name": name, "model": "churn", "challenger": challenger, "strategy": "canary",
        "initial_percent": 40, "step_percent": 10, "max_percent": 50,
        "evaluation_seconds": 1.0, "min_requests": 20, "max_inconclusive": 5,
    })
}

/// Sends traffic from 8 tasks until `stop`.
fn drive(router: &Router, stop: Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<()>> {
    let rows = Arc::new(traffic());
    (0..8)
        .map(|t| {
            let router = router.clone();
            let rows = rows.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let _ = post(&router, "/predict", rows[i % rows.len()].clone()).await;
                    i += 8;
                }
            })
        })
        .collect()
}

/// Polls the deployment until `done` holds or `limit` passes.
async fn wait_for(
    router: &Router,
    name: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let a = get(router, &format!("{API}/get?name={name}")).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        if done(&a.body["deployment"]) {
            return a.body["deployment"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "deployment {name} did not get there in {limit:?}: {}",
            a.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn kinds(d: &Value) -> Vec<String> {
    d["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canaries_are_promoted_or_rolled_back_on_errors_and_latency() {
    let b = bundles();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    drop(home_with_versions(&home, &b).await);
    let mut options = fast();
    // Test-only: version 2 answers 300 ms late, for the slow canary below.
    options
        .rollout
        .injected_latency
        .insert("churn@2".into(), Duration::from_millis(300));
    let (router, _serving) = start(&home, options).await;
    let rows = traffic();
    assert_eq!(
        post(&router, "/predict", rows[0].clone()).await.body["version"],
        "1"
    );

    // A faulty challenger (version 3 needs fnlwgt): rolled back at the first evaluation.
    let a = post(&router, &format!("{API}/create"), canary("faulty", "3")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["deployment"]["challenger_percent"], 40);
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = drive(&router, stop.clone());
    let d = wait_for(&router, "faulty", Duration::from_secs(10), |d| {
        d["status"] != "running"
    })
    .await;
    assert_eq!(d["status"], "rolled_back", "{d}");
    assert_eq!(d["evaluations"], 1, "rolled back within one period: {d}");
    assert_eq!(d["challenger_percent"], 0);
    let last = d["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "rolled_back");
    assert!(
        last["reason"].as_str().unwrap().contains("error rate"),
        "{last}"
    );
    let ev = &last["values"]["evidence"];
    assert!(ev["canary"]["errors"].as_u64().unwrap() >= 20, "{ev}");
    assert_eq!(ev["baseline"]["errors"], 0, "{ev}");
    // All traffic is back on the champion.
    for r in rows.iter().take(10) {
        assert_eq!(
            post(&router, "/predict", r.clone()).await.body["version"],
            "1"
        );
    }

    // A slow challenger (version 2, 300 ms injected): rolled back on p95.
    let a = post(&router, &format!("{API}/create"), canary("slow", "2")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let d = wait_for(&router, "slow", Duration::from_secs(10), |d| {
        d["status"] != "running"
    })
    .await;
    assert_eq!(d["status"], "rolled_back", "{d}");
    let last = d["events"].as_array().unwrap().last().unwrap().clone();
    assert!(last["reason"].as_str().unwrap().contains("p95"), "{last}");
    assert!(
        last["values"]["evidence"]["canary"]["p95_ms"]
            .as_f64()
            .unwrap()
            > 200.0
    );
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_canary_reaches_100_percent_and_becomes_champion() {
    let b = bundles();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let state = home_with_versions(&home, &b).await;
    let meta = state.meta.clone();
    drop(state);
    let (router, _serving) = start(&home, fast()).await;
    let a = post(&router, &format!("{API}/create"), canary("healthy", "2")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["deployment"]["challenger_version"], "2");
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = drive(&router, stop.clone());
    let d = wait_for(&router, "healthy", Duration::from_secs(20), |d| {
        d["status"] != "running"
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(d["status"], "promoted", "{d}");
    assert_eq!(d["challenger_percent"], 100);
    let k = kinds(&d);
    assert_eq!(k.first().map(String::as_str), Some("created"));
    assert!(k.contains(&"step_up".to_string()), "{k:?}");
    assert_eq!(k.last().map(String::as_str), Some("promoted"));
    // Every step was decided on a period with enough requests on both arms.
    for e in d["events"].as_array().unwrap() {
        if e["kind"] == "step_up" {
            assert!(
                e["values"]["evidence"]["canary"]["requests"]
                    .as_u64()
                    .unwrap()
                    >= 20
            );
            assert!(
                e["values"]["evidence"]["baseline"]["requests"]
                    .as_u64()
                    .unwrap()
                    >= 20
            );
        }
    }
    let champion = meta
        .get_model_version_by_alias("churn", "champion")
        .await
        .unwrap();
    assert_eq!(champion.version.to_string(), "2");
    let a = post(&router, "/predict", traffic()[0].clone()).await;
    assert_eq!(a.body["version"], "2");
    // Final: no more changes.
    let a = post(&router, &format!("{API}/pause"), json!({"name": "healthy"})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(a.text.contains("promoted"), "{}", a.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ab_arms_are_sticky_by_key_across_a_restart() {
    let b = bundles();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    drop(home_with_versions(&home, &b).await);
    let rows = traffic();
    let send = |router: Router, key: String, row: Value| async move {
        let req = Request::builder()
            .method("POST")
            .uri("/predict")
            .header("content-type", "application/json")
            .header("x-user-id", key)
            .body(Body::from(row.to_string()))
            .unwrap();
        call(&router, req).await
    };
    let keys: Vec<String> = (0..40).map(|i| format!("user-{i}")).collect();
    let mut first = vec![];
    {
        let (router, serving) = start(&home, fast()).await;
        let a = post(
            &router,
            &format!("{API}/create"),
            json!({"name": "ab1", "model": "churn", "challenger": "2", "strategy": "ab",
                   "split_percent": 50, "key_header": "x-user-id", "salt": "exp1"}),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        for (i, k) in keys.iter().enumerate() {
            let a = send(router.clone(), k.clone(), rows[i % rows.len()].clone()).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.text);
            let expected = match slipway_rollout::assign::assign(k, Some("exp1"), 50) {
                slipway_rollout::assign::Arm::A => "1",
                slipway_rollout::assign::Arm::B => "2",
            };
            assert_eq!(a.body["version"], expected, "{k}");
            first.push(a.body["version"].clone());
        }
        assert!(first.iter().any(|v| v == "1") && first.iter().any(|v| v == "2"));
        // Every routed request's routing time is on /metrics.
        let m = get(&router, "/metrics").await.text;
        assert!(m.contains("slipway_routed_requests_total 40\n"), "{m}");
        let routing: f64 = m
            .lines()
            .find_map(|l| l.strip_prefix("slipway_routing_seconds_total "))
            .and_then(|v| v.parse().ok())
            .expect("routing time on /metrics");
        assert!(routing > 0.0 && routing < 1.0, "{routing}");
        // A request without the key is refused, naming the header.
        let a = post(&router, "/predict", rows[0].clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
        assert!(a.text.contains("x-user-id"), "{}", a.text);
        drop(serving);
    }
    // A restarted server resumes the test from the store: same keys, same arms.
    let (router, _serving) = start(&home, fast()).await;
    for (i, k) in keys.iter().enumerate() {
        let a = send(
            router.clone(),
            k.clone(),
            rows[(i + 7) % rows.len()].clone(),
        )
        .await;
        assert_eq!(
            a.body["version"], first[i],
            "{k} changed arm after the restart"
        );
    }
    // Pause keeps routing; end sends everything to the champion.
    let a = post(
        &router,
        &format!("{API}/pause"),
        json!({"name": "ab1", "reason": "holiday"}),
    )
    .await;
    assert_eq!(a.body["deployment"]["status"], "paused", "{}", a.text);
    let a = post(&router, &format!("{API}/end"), json!({"name": "ab1"})).await;
    assert_eq!(a.body["deployment"]["status"], "ended", "{}", a.text);
    for k in keys.iter().take(10) {
        assert_eq!(
            send(router.clone(), k.clone(), rows[0].clone()).await.body["version"],
            "1"
        );
    }
    let d = get(&router, &format!("{API}/get?name=ab1")).await.body["deployment"].clone();
    assert_eq!(kinds(&d), ["created", "paused", "ended"]);
    assert_eq!(d["events"][1]["reason"], "holiday");
    let l = get(&router, &format!("{API}/list")).await;
    assert_eq!(l.body["deployments"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_deployment_requests_get_clear_4xx_answers() {
    let bdir = tempfile::tempdir().unwrap();
    let b = Bundles {
        list: vec![train(
            &bdir.path().join("v1"),
            "logistic_regression",
            "{c: 1.0}",
            true,
        )],
        _dir: bdir,
    };
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    drop(home_with_versions(&home, &b).await);
    let (router, _serving) = start(&home, fast()).await;
    let create = format!("{API}/create");
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"name": "x", "model": "churn", "strategy": "canary"}),
            "challenger",
        ),
        (
            json!({"name": "x", "model": "churn", "strategy": "warp", "challenger": "1"}),
            "warp",
        ),
        (
            json!({"name": "x", "model": "churn", "strategy": "canary", "challenger": "1", "max_percent": 300}),
            "max_percent",
        ),
        (
            json!({"name": "x", "model": "churn", "strategy": "canary", "challenger": "1", "bogus": 1}),
            "bogus",
        ),
        (
            json!({"name": "../x", "model": "churn", "strategy": "single"}),
            "name",
        ),
        (
            json!({"name": "x", "model": "other", "strategy": "single"}),
            "does not serve",
        ),
        (
            json!({"name": "x", "model": "churn", "strategy": "ab", "challenger": "9", "key_header": "k"}),
            "challenger",
        ),
        (
            json!({"name": "x", "model": "churn", "strategy": "ab", "challenger": "1", "key_header": "bad header"}),
            "key_header",
        ),
        (json!([1, 2]), "JSON object"),
        (
            json!({"name": "x\u{0}", "model": "churn", "strategy": "single"}),
            "NUL",
        ),
    ];
    for (body, needle) in cases {
        let a = post(&router, &create, body.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}: {}", a.text);
        assert!(a.text.contains(needle), "{body}: {}", a.text);
        assert!(a.body["error_code"].is_string(), "{}", a.text);
    }
    // Not JSON, the wrong content type, too large.
    let req = Request::builder()
        .method("POST")
        .uri(&create)
        .header("content-type", "application/json")
        .body(Body::from("{nope"))
        .unwrap();
    assert_eq!(call(&router, req).await.status, StatusCode::BAD_REQUEST);
    let req = Request::builder()
        .method("POST")
        .uri(&create)
        .header("content-type", "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        call(&router, req).await.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    // A foreign page cannot drive a deployment.
    let req = Request::builder()
        .method("POST")
        .uri(format!("{API}/rollback"))
        .header("content-type", "application/json")
        .header("origin", "https://evil.example")
        .body(Body::from(r#"{"name": "s"}"#))
        .unwrap();
    assert_eq!(call(&router, req).await.status, StatusCode::FORBIDDEN);
    let big =
        json!({"name": "x", "model": "churn", "strategy": "single", "pad": "a".repeat(17 << 20)});
    assert_eq!(
        post(&router, &create, big).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // Unknown, missing, and changes a state does not allow.
    assert_eq!(
        get(&router, &format!("{API}/get?name=nope")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&router, &format!("{API}/get")).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&router, &format!("{API}/pause"), json!({"name": "nope"}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(&router, &format!("{API}/pause"), json!({"nom": "x"}))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let a = post(
        &router,
        &create,
        json!({"name": "s", "model": "churn", "strategy": "single"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = post(
        &router,
        &create,
        json!({"name": "s", "model": "churn", "strategy": "single"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(a.text.contains("already"), "{}", a.text);
    let a = post(&router, &format!("{API}/resume"), json!({"name": "s"})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.text.contains("only a paused deployment"), "{}", a.text);
    let a = post(&router, &format!("{API}/promote"), json!({"name": "s"})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    // Nothing was half-written: one deployment, with its one event.
    let l = get(&router, &format!("{API}/list")).await;
    assert_eq!(
        l.body["deployments"].as_array().unwrap().len(),
        1,
        "{}",
        l.text
    );
}

/// `start`, with the prediction log on (written to the home's artifact store and indexed in
/// its metadata store), as `slipway serve --model` runs it.
async fn start_logged(home: &Path) -> (Router, Arc<Serving>) {
    let mut options = fast();
    options.log.flush_interval = Duration::from_millis(100);
    start_serving(home, options, true).await
}

/// The readout of an A/B deployment from the prediction log equals the readout computed
/// directly from the known arms, outcomes, covariates and segments of the requests sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ab_report_from_the_log_equals_the_direct_readout() {
    use slipway_rollout::assign::{Arm, assign};
    use slipway_rollout::readout::{Exposure, OutcomeKind, ReadoutOptions, readout};

    let b = bundles();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    drop(home_with_versions(&home, &b).await);
    let (router, _serving) = start_logged(&home).await;
    let rows = traffic();
    // Served before the test: no arm, not an exposure.
    let a = post(&router, "/predict", rows[0].clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = post(
        &router,
        &format!("{API}/create"),
        json!({"name": "exp", "model": "churn", "challenger": "2", "strategy": "ab",
               "split_percent": 40, "key_header": "x-user-id"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let mut sent: Vec<(String, Exposure)> = Vec::new();
    let mut feedback = Vec::new();
    for i in 0..240usize {
        let key = format!("user-{i}");
        let row = rows[i % rows.len()].clone();
        let req = Request::builder()
            .method("POST")
            .uri("/predict")
            .header("content-type", "application/json")
            .header("x-user-id", key.as_str())
            .body(Body::from(row.to_string()))
            .unwrap();
        let a = call(&router, req).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        let arm = assign(&key, None, 40);
        let version = if arm == Arm::B { "2" } else { "1" };
        assert_eq!(a.body["version"], version, "{key}");
        let id = a.body["prediction_id"].as_str().unwrap().to_string();
        // Known outcomes: B converts more often; every 7th user has no feedback yet.
        let converted = match arm {
            Arm::A => i % 5 == 0,
            Arm::B => i % 3 == 0,
        };
        let outcome = (i % 7 != 3).then_some(if converted { 1.0 } else { 0.0 });
        if let Some(y) = outcome {
            // A first, wrong label that a later post corrects.
            if i % 11 == 0 {
                feedback.push(json!({"prediction_id": id, "label": 1.0 - y}));
            }
            feedback.push(json!({"prediction_id": id, "label": y as i64}));
        }
        sent.push((
            id,
            Exposure {
                arm,
                outcome,
                covariate: row["age"].as_f64(),
                segment: Some(row["sex"].as_str().unwrap().to_string()),
            },
        ));
    }
    // Corrections arrive in a later request.
    let mut first: Vec<Value> = Vec::new();
    let mut later: Vec<Value> = Vec::new();
    for v in feedback {
        if first
            .iter()
            .any(|w| w["prediction_id"] == v["prediction_id"])
        {
            later.push(v);
        } else {
            first.push(v);
        }
    }
    assert!(!later.is_empty());
    for batch in [first, later] {
        let a = post(&router, "/feedback", json!({"feedback": batch})).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(a.body["unknown_ids"], json!([]), "{}", a.text);
        // Feedback times are milliseconds: the correction is strictly later.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let a = get(
        &router,
        &format!("{API}/report?name=exp&covariate=age&segment=sex"),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let report = &a.body["report"];
    assert_eq!(report["exposures"], 240, "{report}");
    assert_eq!(
        report["unrouted"], 0,
        "served before the test is outside its window"
    );
    sent.sort_by(|x, y| x.0.cmp(&y.0));
    let exposures: Vec<Exposure> = sent.into_iter().map(|(_, e)| e).collect();
    let options = ReadoutOptions {
        split_percent_b: 40.0,
        ..ReadoutOptions::default()
    };
    let mut direct = readout(&exposures, OutcomeKind::Conversion, &options).unwrap();
    direct.arms[0].label = "version 1".into();
    direct.arms[1].label = "version 2".into();
    assert_eq!(report["readout"], serde_json::to_value(&direct).unwrap());
    assert!(direct.cuped.is_some() && !direct.segments.is_empty());

    // Ended: the window closes; a later request is not counted.
    let a = post(&router, &format!("{API}/end"), json!({"name": "exp"})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = post(&router, "/predict", rows[1].clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = get(&router, &format!("{API}/report?name=exp")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["report"]["exposures"], 240, "{}", a.text);
    assert!(a.body["report"]["until_ms"].is_i64(), "{}", a.text);

    // Numeric outcomes on a second test: Welch, equal to the direct readout too.
    let a = post(
        &router,
        &format!("{API}/create"),
        json!({"name": "spend", "model": "churn", "challenger": "2", "strategy": "ab",
               "split_percent": 50, "key_header": "x-user-id", "salt": "s2"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let mut sent = Vec::new();
    let mut feedback = Vec::new();
    for i in 0..120usize {
        let key = format!("u{i}");
        let req = Request::builder()
            .method("POST")
            .uri("/predict")
            .header("content-type", "application/json")
            .header("x-user-id", key.as_str())
            .body(Body::from(rows[i % rows.len()].to_string()))
            .unwrap();
        let a = call(&router, req).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        let arm = assign(&key, Some("s2"), 50);
        let value = (i % 13) as f64 * 1.5 + if arm == Arm::B { 2.25 } else { 0.0 };
        let id = a.body["prediction_id"].as_str().unwrap().to_string();
        feedback.push(json!({"prediction_id": id, "label": value}));
        sent.push((
            id,
            Exposure {
                arm,
                outcome: Some(value),
                covariate: None,
                segment: None,
            },
        ));
    }
    let a = post(&router, "/feedback", json!(feedback)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = get(&router, &format!("{API}/report?name=spend&alpha=0.1")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    sent.sort_by(|x, y| x.0.cmp(&y.0));
    let exposures: Vec<Exposure> = sent.into_iter().map(|(_, e)| e).collect();
    let options = ReadoutOptions {
        alpha: 0.1,
        ..ReadoutOptions::default()
    };
    let mut direct = readout(&exposures, OutcomeKind::Numeric, &options).unwrap();
    direct.arms[0].label = "version 1".into();
    direct.arms[1].label = "version 2".into();
    assert_eq!(
        a.body["report"]["readout"],
        serde_json::to_value(&direct).unwrap()
    );
    assert!(direct.welch.is_some());

    // Hostile and wrong requests: clear 4xx answers naming the problem, never a 500.
    let report = format!("{API}/report");
    let cases: Vec<(String, StatusCode, &str)> = vec![
        (report.clone(), StatusCode::BAD_REQUEST, "name"),
        (format!("{report}?name=nope"), StatusCode::NOT_FOUND, "nope"),
        (
            format!("{report}?name=exp&bogus=1"),
            StatusCode::BAD_REQUEST,
            "bogus",
        ),
        (
            format!("{report}?name=exp&alpha=2"),
            StatusCode::BAD_REQUEST,
            "alpha",
        ),
        (
            format!("{report}?name=exp&alpha=abc"),
            StatusCode::BAD_REQUEST,
            "alpha",
        ),
        (
            format!("{report}?name=exp&min_effect=-1"),
            StatusCode::BAD_REQUEST,
            "effect",
        ),
        (
            format!("{report}?name=exp&covariate="),
            StatusCode::BAD_REQUEST,
            "covariate",
        ),
        (
            format!("{report}?name=exp&segment=a%00b"),
            StatusCode::BAD_REQUEST,
            "segment",
        ),
        (
            format!("{report}?name=exp&covariate={}", "x".repeat(300)),
            StatusCode::BAD_REQUEST,
            "covariate",
        ),
        (
            format!("{report}?name=exp&covariate=agee"),
            StatusCode::BAD_REQUEST,
            "did you mean \\\"age\\\"",
        ),
        (
            format!("{report}?name=exp&covariate=workclass"),
            StatusCode::BAD_REQUEST,
            "workclass",
        ),
        (
            format!("{report}?name=exp&missing_as_zero=maybe"),
            StatusCode::BAD_REQUEST,
            "missing_as_zero",
        ),
    ];
    for (uri, status, needle) in cases {
        let a = get(&router, &uri).await;
        assert_eq!(a.status, status, "{uri}: {}", a.text);
        assert!(a.text.contains(needle), "{uri}: {}", a.text);
        assert!(a.body["error_code"].is_string(), "{uri}: {}", a.text);
    }
    let a = post(&router, &format!("{API}/end"), json!({"name": "spend"})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    // A canary is not an A/B test; a test without traffic has nothing to read.
    let a = post(
        &router,
        &format!("{API}/create"),
        json!({"name": "c", "model": "churn", "challenger": "2", "strategy": "canary",
               "evaluation_seconds": 3600.0}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = get(&router, &format!("{report}?name=c")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(a.text.contains("canary"), "{}", a.text);
    let a = post(&router, &format!("{API}/end"), json!({"name": "c"})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = post(
        &router,
        &format!("{API}/create"),
        json!({"name": "quiet", "model": "churn", "challenger": "2", "strategy": "ab",
               "key_header": "x-user-id"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = get(&router, &format!("{report}?name=quiet")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(a.text.contains("no routed predictions"), "{}", a.text);
    // A foreign host name (DNS rebinding) cannot read it; POST is not the method.
    let req = Request::builder()
        .uri(format!("{report}?name=exp"))
        .header("host", "evil.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&router, req).await.status, StatusCode::FORBIDDEN);
    let a = post(&router, &report, json!({"name": "exp"})).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{}", a.text);
}

fn blue_green(name: &str, green: &str, extra: Value) -> Value {
    let mut v = json!({
        "name": name, "model": "churn", "challenger": green, "strategy": "blue_green",
    });
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

fn last_event(d: &Value) -> Value {
    d["events"].as_array().unwrap().last().unwrap().clone()
}

/// Blue-green: a green whose schema needs a column the recorded traffic lacks is refused by
/// the smoke test (traffic stays on blue, the reason is an event); a healthy green takes all
/// traffic at once; a rollback inside the window answers with the very blue still in memory;
/// after the window the blue is unloaded (a status field says so) and a rollback is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_flips_after_a_smoke_test_and_keeps_blue_for_an_instant_rollback() {
    let b = bundles();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let state = home_with_versions(&home, &b).await;
    let meta = state.meta.clone();
    drop(state);
    let (router, serving) = start_serving(&home, fast(), true).await;
    let rows = traffic();
    // Recorded traffic: 30 requests answered by blue (version 1), in the prediction log.
    for r in rows.iter().take(30) {
        let a = post(&router, "/predict", r.clone()).await;
        assert_eq!(a.body["version"], "1", "{}", a.text);
    }

    // Version 3 needs fnlwgt, which no recorded request holds: the flip is refused.
    let a = post(
        &router,
        &format!("{API}/create"),
        blue_green("bg-faulty", "3", json!({})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["deployment"]["challenger_percent"], 0);
    let a = post(
        &router,
        &format!("{API}/promote"),
        json!({"name": "bg-faulty"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(a.text.contains("fnlwgt"), "{}", a.text);
    let d = get(&router, &format!("{API}/get?name=bg-faulty"))
        .await
        .body["deployment"]
        .clone();
    assert_eq!(d["status"], "running", "{d}");
    let last = last_event(&d);
    assert_eq!(last["kind"], "smoke_test_failed", "{last}");
    assert!(
        last["reason"].as_str().unwrap().contains("refused"),
        "{last}"
    );
    assert_eq!(last["values"]["source"], "prediction_log");
    assert_eq!(last["values"]["replayed"], 30, "{last}");
    assert_eq!(last["values"]["failed"], 30, "{last}");
    assert_eq!(
        meta.get_model_version_by_alias("churn", "champion")
            .await
            .unwrap()
            .version,
        1
    );
    assert_eq!(
        post(&router, "/predict", rows[0].clone()).await.body["version"],
        "1"
    );
    let a = post(&router, &format!("{API}/end"), json!({"name": "bg-faulty"})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    // A healthy green (version 2), blue kept for 30 s.
    let blue_before = serving.deployment("churn").unwrap().live().unwrap();
    assert_eq!(blue_before.version, "1");
    let a = post(
        &router,
        &format!("{API}/create"),
        blue_green(
            "bg",
            "2",
            json!({"keep_blue_seconds": 30, "smoke_requests": 20}),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = post(&router, &format!("{API}/promote"), json!({"name": "bg"})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let d = a.body["deployment"].clone();
    assert_eq!(d["status"], "promoted", "{d}");
    assert_eq!(d["challenger_percent"], 100);
    assert_eq!(d["blue_green"]["blue_version"], "1", "{d}");
    assert_eq!(d["blue_green"]["blue_loaded"], true, "{d}");
    assert_eq!(d["blue_loaded_here"], true, "{d}");
    let d = get(&router, &format!("{API}/get?name=bg")).await.body["deployment"].clone();
    let k = kinds(&d);
    assert_eq!(k, ["created", "smoke_test_passed", "promoted"], "{d}");
    let passed = &d["events"][1]["values"];
    assert_eq!(
        (passed["replayed"].as_u64(), passed["failed"].as_u64()),
        (Some(20), Some(0)),
        "{passed}"
    );
    // All traffic on green at once.
    for r in rows.iter().take(10) {
        assert_eq!(
            post(&router, "/predict", r.clone()).await.body["version"],
            "2"
        );
    }
    assert_eq!(
        meta.get_model_version_by_alias("churn", "champion")
            .await
            .unwrap()
            .version,
        2
    );
    // The rollback inside the window: the blue answers at once, the very version object
    // loaded before the flip (nothing was reloaded).
    let a = post(
        &router,
        &format!("{API}/rollback"),
        json!({"name": "bg", "reason": "conversion dropped"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["deployment"]["status"], "rolled_back");
    assert_eq!(
        post(&router, "/predict", rows[0].clone()).await.body["version"],
        "1"
    );
    let live = serving.deployment("churn").unwrap().live().unwrap();
    assert!(Arc::ptr_eq(&live, &blue_before), "blue was reloaded");
    let d = get(&router, &format!("{API}/get?name=bg")).await.body["deployment"].clone();
    let last = last_event(&d);
    assert_eq!(last["kind"], "rolled_back");
    assert_eq!(last["reason"], "conversion dropped");
    assert_eq!(last["values"]["instant"], true);
    assert_eq!(
        meta.get_model_version_by_alias("churn", "champion")
            .await
            .unwrap()
            .version,
        1
    );

    // Recorded requests given at create time, and a 1 s window: after it the blue is
    // unloaded and a rollback is refused.
    let recorded: Vec<Value> = rows.iter().take(5).cloned().collect();
    let a = post(
        &router,
        &format!("{API}/create"),
        blue_green(
            "bg-short",
            "2",
            json!({"keep_blue_seconds": 1, "recorded_requests": recorded}),
        ),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = post(
        &router,
        &format!("{API}/promote"),
        json!({"name": "bg-short"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let d = get(&router, &format!("{API}/get?name=bg-short")).await.body["deployment"].clone();
    assert_eq!(
        d["events"][1]["values"]["source"], "recorded_requests",
        "{d}"
    );
    assert_eq!(d["events"][1]["values"]["replayed"], 5, "{d}");
    let d = wait_for(&router, "bg-short", Duration::from_secs(10), |d| {
        d["blue_green"]["blue_loaded"] == false
    })
    .await;
    assert_eq!(d["status"], "promoted");
    assert_eq!(d["blue_loaded_here"], false, "{d}");
    assert_eq!(last_event(&d)["kind"], "blue_unloaded", "{d}");
    let a = post(
        &router,
        &format!("{API}/rollback"),
        json!({"name": "bg-short"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(a.text.contains("unloaded"), "{}", a.text);
    assert_eq!(
        post(&router, "/predict", rows[0].clone()).await.body["version"],
        "2"
    );

    // Bad blue-green parameters name the field.
    for (bad, field) in [
        (json!({"keep_blue_seconds": -1}), "keep_blue_seconds"),
        (json!({"smoke_requests": 0}), "smoke_requests"),
        (json!({"recorded_requests": [1, 2]}), "recorded_requests"),
        (json!({"recorded_requests": []}), "recorded_requests"),
        (json!({"max_percent": 5}), "max_percent"),
    ] {
        let a = post(
            &router,
            &format!("{API}/create"),
            blue_green("bg-bad", "2", bad.clone()),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {}", a.text);
        assert!(a.text.contains(field), "{bad}: {}", a.text);
    }
}

/// The optional prediction-drift criterion: version 2 (10 boosted trees) is healthy on
/// errors and latency (the healthy canary above is promoted), but its probabilities are
/// distributed unlike the champion's logistic regression on the same traffic; with a tight
/// limit on, the canary is rolled back with the measured KS statistic in the event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_whose_predictions_drift_from_the_champion_is_rolled_back() {
    let b = bundles();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    drop(home_with_versions(&home, &b).await);
    let (router, _serving) = start(&home, fast()).await;
    let mut plan = canary("drifting", "2");
    plan["max_prediction_drift"] = json!(0.05);
    let a = post(&router, &format!("{API}/create"), plan).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = drive(&router, stop.clone());
    let d = wait_for(&router, "drifting", Duration::from_secs(15), |d| {
        d["status"] != "running"
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(d["status"], "rolled_back", "{d}");
    let last = last_event(&d);
    assert!(
        last["reason"]
            .as_str()
            .unwrap()
            .contains("prediction drift"),
        "{last}"
    );
    let pd = &last["values"]["evidence"]["prediction_drift"];
    assert_eq!(pd["statistic"], "ks");
    assert!(pd["value"].as_f64().unwrap() > 0.05, "{pd}");
    assert_eq!(pd["max"], 0.05);
    // A limit that is not a KS statistic is refused, naming the field.
    let bad = {
        let mut p = canary("drift-bad", "2");
        p["max_prediction_drift"] = json!(1.5);
        p
    };
    let a = post(&router, &format!("{API}/create"), bad).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(a.text.contains("max_prediction_drift"), "{}", a.text);
}
