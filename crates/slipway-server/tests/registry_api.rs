//! Logged models and the model registry, driven in-process with `tower::ServiceExt::oneshot`:
//! wire shapes, MLflow's error codes (a user error is never a 500, and no message carries SQL
//! or a filesystem path) and transactional version numbers.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use slipway_server::{AppState, Limits, app};
use tower::ServiceExt;

struct Api {
    router: Router,
    home: tempfile::TempDir,
}

async fn api() -> Api {
    api_with_policy(None).await
}

/// A server holding `policy` (as `slipway serve --policy` does).
async fn api_with_policy(policy: Option<&str>) -> Api {
    let home = tempfile::tempdir().expect("tempdir");
    let policy = policy.map(|p| slipway_govern::Policy::parse(p, "policy.yaml").expect("policy"));
    let state = AppState::open_home(home.path(), Limits::default())
        .await
        .expect("open")
        .with_policy(policy);
    Api {
        router: app(Arc::new(state)),
        home,
    }
}

impl Api {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let uri = format!("/api/2.0/mlflow/{path}");
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let req = Request::builder()
            .method(method)
            .uri(&uri)
            .header("content-type", "application/json")
            .body(body)
            .expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("response");
        let status = resp.status();
        let bytes = to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        let value = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "{method} {uri}: not JSON: {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        (status, value)
    }

    async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, body).await;
        assert_eq!(status, StatusCode::OK, "{method} {path}: {v}");
        v
    }

    /// Asserts the MLflow error shape and that the message leaks no internals.
    async fn err(&self, method: &str, path: &str, body: Option<Value>, want: (u16, &str)) {
        let (status, v) = self.call(method, path, body).await;
        assert_eq!(
            (status.as_u16(), v["error_code"].as_str()),
            (want.0, Some(want.1)),
            "{method} {path}: {v}"
        );
        let message = v["message"].as_str().expect("message");
        assert!(!message.is_empty());
        let home = self.home.path().to_string_lossy().to_string();
        for leak in [
            "SELECT",
            "INSERT",
            "UPDATE ",
            "sqlite",
            "database",
            home.as_str(),
        ] {
            assert!(
                !message.contains(leak),
                "{path}: message leaks {leak:?}: {message}"
            );
        }
    }

    async fn run(&self) -> String {
        let v = self
            .ok(
                "POST",
                "runs/create",
                Some(json!({"experiment_id": "0", "start_time": 1})),
            )
            .await;
        v["run"]["info"]["run_id"]
            .as_str()
            .expect("run id")
            .to_string()
    }
}

#[tokio::test]
async fn logged_model_lifecycle() {
    let api = api().await;
    let run_id = api.run().await;
    let created = api
        .ok(
            "POST",
            "logged-models",
            Some(
                json!({"experiment_id": "0", "name": "doubler", "source_run_id": run_id,
                        "params": [{"key": "kind", "value": "doubler"}],
                        "tags": [{"key": "mlflow.user", "value": "me"}]}),
            ),
        )
        .await;
    let info = &created["model"]["info"];
    let id = info["model_id"].as_str().expect("id").to_string();
    assert!(id.starts_with("m-") && id.len() == 34, "{id}");
    assert_eq!(info["status"], "LOGGED_MODEL_PENDING");
    assert_eq!(info["model_type"], "");
    assert_eq!(
        info["artifact_uri"],
        format!("mlflow-artifacts:/0/models/{id}/artifacts")
    );
    assert_eq!(info["tags"], json!([{"key": "mlflow.user", "value": "me"}]));
    assert_eq!(
        created["model"]["data"]["params"],
        json!([{"key": "kind", "value": "doubler"}])
    );

    let v = api
        .ok(
            "PATCH",
            &format!("logged-models/{id}"),
            Some(json!({"model_id": id, "status": "LOGGED_MODEL_READY"})),
        )
        .await;
    assert_eq!(v["model"]["info"]["status"], "LOGGED_MODEL_READY");
    api.ok(
        "PATCH",
        &format!("logged-models/{id}/tags"),
        Some(json!({"tags": [{"key": "a", "value": "1"}, {"key": "b/c", "value": "2"}]})),
    )
    .await;
    api.ok("DELETE", &format!("logged-models/{id}/tags/b/c"), None)
        .await;
    api.ok(
        "POST",
        &format!("logged-models/{id}/params"),
        Some(json!({"params": [{"key": "extra", "value": "x"}]})),
    )
    .await;
    let v = api.ok("GET", &format!("logged-models/{id}"), None).await;
    let tags: Vec<&str> = v["model"]["info"]["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| t["key"].as_str().expect("key"))
        .collect();
    assert_eq!(tags, ["mlflow.user", "a"]);
    assert_eq!(v["model"]["data"]["params"][1]["key"], "extra");

    // Metrics naming the model (MLflow 3's `log_metric(..., model_id=...)`) are the model's
    // too, with their run and dataset; plain ones are the run's only.
    api.ok(
        "POST",
        "runs/log-batch",
        Some(json!({"run_id": run_id, "metrics": [
            {"key": "acc", "value": 0.5, "timestamp": 7, "step": 1, "model_id": id,
             "dataset_name": "train", "dataset_digest": "9f2c11aa"},
            {"key": "run_only", "value": 1.0, "timestamp": 7}]})),
    )
    .await;
    api.ok(
        "POST",
        "runs/log-metric",
        Some(
            json!({"run_id": run_id, "key": "acc", "value": 0.75, "timestamp": 8, "step": 2,
                    "model_id": id}),
        ),
    )
    .await;
    let v = api.ok("GET", &format!("logged-models/{id}"), None).await;
    assert_eq!(
        v["model"]["data"]["metrics"],
        json!([
            {"key": "acc", "value": 0.5, "timestamp": 7, "step": 1, "model_id": id,
             "dataset_name": "train", "dataset_digest": "9f2c11aa", "run_id": run_id},
            {"key": "acc", "value": 0.75, "timestamp": 8, "step": 2, "model_id": id,
             "run_id": run_id}
        ])
    );

    // Search by name and by param; other names and experiments find nothing.
    let v = api
        .ok(
            "POST",
            "logged-models/search",
            Some(json!({"experiment_ids": ["0"], "filter": "name = 'doubler' AND params.kind = 'doubler'",
                        "order_by": [{"field_name": "creation_timestamp", "ascending": false}]})),
        )
        .await;
    assert_eq!(v["models"][0]["info"]["model_id"], id);
    let v = api
        .ok(
            "POST",
            "logged-models/search",
            Some(json!({"experiment_ids": ["0"], "filter": "name = 'tree'"})),
        )
        .await;
    assert_eq!(v, json!({}));

    // The run records the model as an output.
    api.ok(
        "POST",
        "runs/outputs",
        Some(json!({"run_id": run_id, "models": [{"model_id": id, "step": 0}]})),
    )
    .await;

    // Errors.
    api.err(
        "PATCH",
        &format!("logged-models/{id}"),
        Some(json!({"status": "DONE"})),
        (400, "INVALID_PARAMETER_VALUE"),
    )
    .await;
    api.err(
        "POST",
        &format!("logged-models/{id}/params"),
        Some(json!({"params": [{"key": "kind", "value": "other"}]})),
        (400, "INVALID_PARAMETER_VALUE"),
    )
    .await;
    api.err(
        "DELETE",
        &format!("logged-models/{id}/tags/nope"),
        None,
        (404, "RESOURCE_DOES_NOT_EXIST"),
    )
    .await;
    api.err(
        "GET",
        "logged-models/m-0123",
        None,
        (404, "RESOURCE_DOES_NOT_EXIST"),
    )
    .await;
    api.err(
        "POST",
        "logged-models",
        Some(json!({"name": "x"})),
        (400, "INVALID_PARAMETER_VALUE"),
    )
    .await;
    api.err(
        "POST",
        "logged-models",
        Some(json!({"experiment_id": "987"})),
        (404, "RESOURCE_DOES_NOT_EXIST"),
    )
    .await;
    api.err(
        "POST",
        "logged-models/search",
        Some(json!({"experiment_ids": ["0"], "filter": "datasets.name = 'x'"})),
        (400, "INVALID_PARAMETER_VALUE"),
    )
    .await;
    // Metrics restricted to datasets are refused, not ignored.
    api.err(
        "POST",
        "logged-models/search",
        Some(
            json!({"experiment_ids": ["0"], "filter": "metrics.acc > 0.6",
                    "datasets": [{"dataset_name": "train"}]}),
        ),
        (400, "INVALID_PARAMETER_VALUE"),
    )
    .await;
    let v = api
        .ok(
            "POST",
            "logged-models/search",
            Some(
                json!({"experiment_ids": ["0"], "filter": "metrics.acc > 0.6",
                        "order_by": [{"field_name": "metrics.acc", "ascending": false}]}),
            ),
        )
        .await;
    assert_eq!(v["models"][0]["info"]["model_id"], id.as_str(), "{v}");

    // Delete hides it unless allow_deleted.
    api.ok("DELETE", &format!("logged-models/{id}"), None).await;
    api.err(
        "GET",
        &format!("logged-models/{id}"),
        None,
        (404, "RESOURCE_DOES_NOT_EXIST"),
    )
    .await;
    let v = api
        .ok(
            "GET",
            &format!("logged-models/{id}?allow_deleted=true"),
            None,
        )
        .await;
    assert_eq!(v["model"]["info"]["model_id"], id);
}

#[tokio::test]
async fn registered_models_and_versions() {
    let api = api().await;
    let run_id = api.run().await;
    let v = api
        .ok(
            "POST",
            "registered-models/create",
            Some(json!({"name": "iris", "tags": [{"key": "owner", "value": "ml"}], "description": "d0"})),
        )
        .await;
    let m = &v["registered_model"];
    assert_eq!(
        (m["name"].as_str(), m["description"].as_str()),
        (Some("iris"), Some("d0"))
    );
    assert!(m.get("latest_versions").is_none(), "{m}");
    api.err(
        "POST",
        "registered-models/create",
        Some(json!({"name": "iris"})),
        (400, "RESOURCE_ALREADY_EXISTS"),
    )
    .await;
    api.err(
        "POST",
        "registered-models/create",
        Some(json!({})),
        (400, "INVALID_PARAMETER_VALUE"),
    )
    .await;

    let source = format!("runs:/{run_id}/model");
    for expected in ["1", "2"] {
        let v = api
            .ok(
                "POST",
                "model-versions/create",
                Some(json!({"name": "iris", "source": source, "run_id": run_id})),
            )
            .await;
        let mv = &v["model_version"];
        assert_eq!(mv["version"], expected);
        assert_eq!(mv["current_stage"], "None");
        assert_eq!(mv["status"], "READY");
        assert_eq!(mv["source"], source);
    }
    let v = api
        .ok(
            "GET",
            "model-versions/get-download-uri?name=iris&version=1",
            None,
        )
        .await;
    assert_eq!(
        v["artifact_uri"],
        format!("mlflow-artifacts:/0/{run_id}/artifacts/model")
    );

    // Stages and latest versions.
    api.ok("POST", "model-versions/transition-stage",
        Some(json!({"name": "iris", "version": "1", "stage": "production", "archive_existing_versions": false}))).await;
    let v = api.ok("POST", "model-versions/transition-stage",
        Some(json!({"name": "iris", "version": 2, "stage": "Production", "archive_existing_versions": true}))).await;
    assert_eq!(v["model_version"]["current_stage"], "Production");
    let v = api
        .ok("GET", "model-versions/get?name=iris&version=1", None)
        .await;
    assert_eq!(v["model_version"]["current_stage"], "Archived");
    let v = api
        .ok(
            "POST",
            "registered-models/get-latest-versions",
            Some(json!({"name": "iris", "stages": ["Production"]})),
        )
        .await;
    assert_eq!(v["model_versions"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["model_versions"][0]["version"], "2");
    let v = api.ok("GET", "registered-models/get?name=iris", None).await;
    let latest: Vec<&str> = v["registered_model"]["latest_versions"]
        .as_array()
        .expect("latest")
        .iter()
        .map(|x| x["version"].as_str().expect("v"))
        .collect();
    assert_eq!(latest, ["1", "2"], "newest Archived and newest Production");
    api.err(
        "POST",
        "model-versions/transition-stage",
        Some(json!({"name": "iris", "version": "1", "stage": "Bogus"})),
        (400, "INVALID_PARAMETER_VALUE"),
    )
    .await;
    api.err("POST", "model-versions/transition-stage",
        Some(json!({"name": "iris", "version": "1", "stage": "Archived", "archive_existing_versions": true})),
        (400, "INVALID_PARAMETER_VALUE")).await;

    // Aliases.
    api.ok(
        "POST",
        "registered-models/alias",
        Some(json!({"name": "iris", "alias": "champion", "version": "2"})),
    )
    .await;
    let v = api
        .ok(
            "GET",
            "registered-models/alias?name=iris&alias=champion",
            None,
        )
        .await;
    assert_eq!(v["model_version"]["version"], "2");
    assert_eq!(v["model_version"]["aliases"], json!(["champion"]));
    let v = api.ok("GET", "registered-models/get?name=iris", None).await;
    assert_eq!(
        v["registered_model"]["aliases"],
        json!([{"alias": "champion", "version": "2"}])
    );
    api.err(
        "POST",
        "registered-models/alias",
        Some(json!({"name": "iris", "alias": "ghost", "version": "99"})),
        (404, "RESOURCE_DOES_NOT_EXIST"),
    )
    .await;
    api.err(
        "POST",
        "registered-models/alias",
        Some(json!({"name": "iris", "alias": "latest", "version": "1"})),
        (400, "INVALID_PARAMETER_VALUE"),
    )
    .await;
    api.ok(
        "DELETE",
        "registered-models/alias",
        Some(json!({"name": "iris", "alias": "champion"})),
    )
    .await;
    api.err(
        "GET",
        "registered-models/alias?name=iris&alias=champion",
        None,
        (400, "INVALID_PARAMETER_VALUE"),
    )
    .await;

    // Tags.
    api.ok(
        "POST",
        "model-versions/set-tag",
        Some(json!({"name": "iris", "version": "1", "key": "ok", "value": "yes"})),
    )
    .await;
    api.ok(
        "POST",
        "registered-models/set-tag",
        Some(json!({"name": "iris", "key": "domain", "value": "flowers"})),
    )
    .await;
    api.ok(
        "DELETE",
        "registered-models/delete-tag",
        Some(json!({"name": "iris", "key": "owner"})),
    )
    .await;
    api.err(
        "DELETE",
        "registered-models/delete-tag",
        Some(json!({"name": "iris", "key": "owner"})),
        (404, "RESOURCE_DOES_NOT_EXIST"),
    )
    .await;
    api.err(
        "DELETE",
        "model-versions/delete-tag",
        Some(json!({"name": "iris", "version": "2", "key": "ok"})),
        (404, "RESOURCE_DOES_NOT_EXIST"),
    )
    .await;

    // Search, with the client's prompt filter (a missing tag matches `!=`).
    let v = api
        .ok("GET", "registered-models/search?filter=name%20%3D%20%27iris%27%20AND%20tag.%60mlflow.prompt.is_prompt%60%20%21%3D%20%27true%27&max_results=100", None)
        .await;
    assert_eq!(v["registered_models"][0]["name"], "iris");
    let v = api
        .ok(
            "GET",
            "model-versions/search?filter=name%3D%27iris%27%20AND%20tags.ok%3D%27yes%27",
            None,
        )
        .await;
    assert_eq!(v["model_versions"][0]["version"], "1");
    assert_eq!(v["model_versions"].as_array().map(Vec::len), Some(1));
    let v = api
        .ok("GET", "model-versions/search?filter=name%3D%27iris%27&order_by=version_number%20ASC&max_results=1", None)
        .await;
    assert_eq!(v["model_versions"][0]["version"], "1");
    let token = v["next_page_token"].as_str().expect("token").to_string();
    let v = api
        .ok("GET", &format!("model-versions/search?filter=name%3D%27iris%27&order_by=version_number%20ASC&max_results=1&page_token={token}"), None)
        .await;
    assert_eq!(v["model_versions"][0]["version"], "2");
    api.err(
        "GET",
        "registered-models/search?filter=metrics.a%20%3E%201",
        None,
        (400, "INVALID_PARAMETER_VALUE"),
    )
    .await;
    api.err(
        "GET",
        "model-versions/search?max_results=0",
        None,
        (400, "INVALID_PARAMETER_VALUE"),
    )
    .await;

    // Bad versions and sources are the caller's fault, never a 500.
    api.err(
        "GET",
        "model-versions/get?name=iris&version=abc",
        None,
        (400, "INVALID_PARAMETER_VALUE"),
    )
    .await;
    api.err(
        "GET",
        "model-versions/get?name=iris&version=999",
        None,
        (404, "RESOURCE_DOES_NOT_EXIST"),
    )
    .await;
    api.err(
        "GET",
        "model-versions/get?name=nope&version=1",
        None,
        (404, "RESOURCE_DOES_NOT_EXIST"),
    )
    .await;
    for bad in [
        "/etc/passwd",
        "file:///etc/passwd",
        "mlflow-artifacts:/0/../../x",
        "relative/dir",
    ] {
        api.err(
            "POST",
            "model-versions/create",
            Some(json!({"name": "iris", "source": bad})),
            (400, "INVALID_PARAMETER_VALUE"),
        )
        .await;
    }
    api.err(
        "POST",
        "model-versions/create",
        Some(json!({"name": "iris", "source": "models:/m-missing"})),
        (404, "RESOURCE_DOES_NOT_EXIST"),
    )
    .await;

    // Rename, update, delete: numbers are never reused.
    let v = api
        .ok(
            "POST",
            "registered-models/rename",
            Some(json!({"name": "iris", "new_name": "iris2"})),
        )
        .await;
    assert_eq!(v["registered_model"]["name"], "iris2");
    api.ok(
        "POST",
        "registered-models/create",
        Some(json!({"name": "other"})),
    )
    .await;
    api.err(
        "POST",
        "registered-models/rename",
        Some(json!({"name": "iris2", "new_name": "other"})),
        (400, "RESOURCE_ALREADY_EXISTS"),
    )
    .await;
    let v = api
        .ok(
            "PATCH",
            "model-versions/update",
            Some(json!({"name": "iris2", "version": "1", "description": "one"})),
        )
        .await;
    assert_eq!(v["model_version"]["description"], "one");
    let v = api
        .ok(
            "PATCH",
            "registered-models/update",
            Some(json!({"name": "iris2", "description": "d1"})),
        )
        .await;
    assert_eq!(v["registered_model"]["description"], "d1");
    api.ok(
        "DELETE",
        "model-versions/delete",
        Some(json!({"name": "iris2", "version": "2"})),
    )
    .await;
    let v = api
        .ok(
            "POST",
            "model-versions/create",
            Some(json!({"name": "iris2", "source": source})),
        )
        .await;
    assert_eq!(v["model_version"]["version"], "3");
    api.ok(
        "DELETE",
        "registered-models/delete",
        Some(json!({"name": "iris2"})),
    )
    .await;
    api.err(
        "GET",
        "registered-models/get?name=iris2",
        None,
        (404, "RESOURCE_DOES_NOT_EXIST"),
    )
    .await;
    api.err(
        "DELETE",
        "registered-models/delete",
        Some(json!({"name": "iris2"})),
        (404, "RESOURCE_DOES_NOT_EXIST"),
    )
    .await;
}

#[tokio::test]
async fn version_from_a_logged_model_resolves_its_artifact_root() {
    let api = api().await;
    let run_id = api.run().await;
    let v = api
        .ok(
            "POST",
            "logged-models",
            Some(json!({"experiment_id": "0", "name": "model", "source_run_id": run_id})),
        )
        .await;
    let id = v["model"]["info"]["model_id"]
        .as_str()
        .expect("id")
        .to_string();
    api.ok(
        "POST",
        "registered-models/create",
        Some(json!({"name": "lm"})),
    )
    .await;
    let v = api
        .ok(
            "POST",
            "model-versions/create",
            Some(json!({"name": "lm", "source": format!("models:/{id}"), "model_id": id})),
        )
        .await;
    assert_eq!(
        v["model_version"]["run_id"], run_id,
        "run taken from the logged model"
    );
    assert_eq!(v["model_version"]["model_id"], id);
    let v = api
        .ok(
            "GET",
            "model-versions/get-download-uri?name=lm&version=1",
            None,
        )
        .await;
    assert_eq!(
        v["artifact_uri"],
        format!("mlflow-artifacts:/0/models/{id}/artifacts")
    );
    // A version of a version points at the same files.
    api.ok(
        "POST",
        "registered-models/create",
        Some(json!({"name": "copy"})),
    )
    .await;
    api.ok(
        "POST",
        "model-versions/create",
        Some(json!({"name": "copy", "source": "models:/lm/1"})),
    )
    .await;
    let v = api
        .ok(
            "GET",
            "model-versions/get-download-uri?name=copy&version=1",
            None,
        )
        .await;
    assert_eq!(
        v["artifact_uri"],
        format!("mlflow-artifacts:/0/models/{id}/artifacts")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_get_distinct_version_numbers() {
    let api = Arc::new(api().await);
    let run_id = api.run().await;
    api.ok(
        "POST",
        "registered-models/create",
        Some(json!({"name": "busy"})),
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let api = Arc::clone(&api);
        let source = format!("runs:/{run_id}/model");
        tasks.push(tokio::spawn(async move {
            let v = api
                .ok(
                    "POST",
                    "model-versions/create",
                    Some(json!({"name": "busy", "source": source})),
                )
                .await;
            v["model_version"]["version"]
                .as_str()
                .expect("version")
                .parse::<u32>()
                .expect("number")
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        versions.push(t.await.expect("task"));
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=24).collect::<Vec<u32>>());
}

const POLICY: &str = "metrics: {holdout.auc: {min: 0.9}}\nrequired_tags: {fairness.checked: \"true\"}\nprotected_aliases: [champion]\n";

impl Api {
    /// A run with `auc` logged (and `fairness.checked=true` when `fair`), registered as the
    /// next version of `m`.
    async fn version_with(&self, auc: f64, fair: bool) {
        let run_id = self.run().await;
        self.ok(
            "POST",
            "runs/log-metric",
            Some(json!({"run_id": run_id, "key": "holdout.auc", "value": auc, "timestamp": 1})),
        )
        .await;
        if fair {
            self.ok(
                "POST",
                "runs/set-tag",
                Some(json!({"run_id": run_id, "key": "fairness.checked", "value": "true"})),
            )
            .await;
        }
        self.ok(
            "POST",
            "model-versions/create",
            Some(json!({"name": "m", "source": format!("runs:/{run_id}/model"), "run_id": run_id})),
        )
        .await;
    }

    async fn aliases(&self) -> Value {
        self.ok("GET", "registered-models/get?name=m", None).await["registered_model"]["aliases"]
            .clone()
    }

    async fn promotions(&self) -> Vec<Value> {
        self.ok("GET", "registered-models/promotions?name=m", None)
            .await["promotions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn a_protected_alias_moves_only_through_the_gate() {
    let api = api_with_policy(Some(POLICY)).await;
    api.ok(
        "POST",
        "registered-models/create",
        Some(json!({"name": "m"})),
    )
    .await;
    api.version_with(0.8, false).await; // v1 breaks both rules
    api.version_with(0.95, true).await; // v2 passes

    // Refused, with every broken rule in the message, and nothing moved.
    let (status, v) = api
        .call(
            "POST",
            "registered-models/alias",
            Some(json!({"name": "m", "alias": "champion", "version": "1"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error_code"], "PERMISSION_DENIED", "{v}");
    let message = v["message"].as_str().expect("message");
    assert!(
        message.contains("metric holdout.auc: 0.8 is below the minimum 0.9"),
        "{message}"
    );
    assert!(
        message.contains("tag fairness.checked: required but not set"),
        "{message}"
    );
    assert_eq!(api.aliases().await, Value::Null);

    // An alias the policy does not protect moves as in MLflow, unrecorded.
    let v = api
        .ok(
            "POST",
            "registered-models/alias",
            Some(json!({"name": "m", "alias": "challenger", "version": "1"})),
        )
        .await;
    assert_eq!(v, json!({}));

    // A passing version moves; the response carries the record.
    let v = api
        .ok(
            "POST",
            "registered-models/alias",
            Some(json!({"name": "m", "alias": "champion", "version": 2})),
        )
        .await;
    assert_eq!(v["promotion"]["outcome"], "accepted", "{v}");
    assert_eq!(
        api.aliases().await,
        json!([{"alias": "challenger", "version": "1"}, {"alias": "champion", "version": "2"}])
    );

    // An override needs a reason; with one it moves and is recorded as forced.
    api.err(
        "POST",
        "registered-models/alias",
        Some(json!({"name": "m", "alias": "champion", "version": "1", "force": true})),
        (400, "INVALID_PARAMETER_VALUE"),
    )
    .await;
    let v = api
        .ok(
            "POST",
            "registered-models/alias",
            Some(
                json!({"name": "m", "alias": "champion", "version": "1", "force": true,
                        "reason": "incident 42: roll back"}),
            ),
        )
        .await;
    assert_eq!(v["promotion"]["outcome"], "forced", "{v}");
    assert_eq!(v["promotion"]["reasons"].as_array().map(Vec::len), Some(2));
    // A gated promotion of an alias no policy protects is refused before anything moves.
    api.err(
        "POST",
        "registered-models/alias",
        Some(json!({"name": "m", "alias": "staging", "version": "1", "require_policy": true})),
        (400, "INVALID_PARAMETER_VALUE"),
    )
    .await;

    // Removing the protected alias is recorded too.
    api.ok(
        "DELETE",
        "registered-models/alias",
        Some(json!({"name": "m", "alias": "champion"})),
    )
    .await;

    let history = api.promotions().await;
    let seen: Vec<(&str, &str)> = history
        .iter()
        .map(|p| {
            (
                p["version"].as_str().unwrap_or_default(),
                p["outcome"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("1", "refused"),
            ("2", "accepted"),
            ("1", "forced"),
            ("1", "removed")
        ]
    );
    assert_eq!(history[0]["reasons"].as_array().map(Vec::len), Some(2));
    assert_eq!(history[2]["override_reason"], "incident 42: roll back");
    assert_eq!(history[2]["forced"], true);
    // The latest outcome per kind also stays readable as a version tag.
    let v1 = api
        .ok("GET", "model-versions/get?name=m&version=1", None)
        .await;
    let keys: Vec<&str> = v1["model_version"]["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["key"].as_str())
        .collect();
    assert!(
        keys.contains(&"slipway.promotion.champion.refused"),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"slipway.promotion.champion.forced"),
        "{keys:?}"
    );

    // Deleting the version the protected alias points at removes the alias with a record.
    api.ok(
        "POST",
        "registered-models/alias",
        Some(json!({"name": "m", "alias": "champion", "version": "2"})),
    )
    .await;
    api.ok(
        "DELETE",
        "model-versions/delete",
        Some(json!({"name": "m", "version": "2"})),
    )
    .await;
    let history = api.promotions().await;
    let last = history.last().expect("entries");
    assert_eq!(
        (last["version"].as_str(), last["outcome"].as_str()),
        (Some("2"), Some("removed"))
    );
    assert_eq!(history.len(), 6);
    assert_eq!(
        api.aliases().await,
        json!([{"alias": "challenger", "version": "1"}])
    );
}

#[tokio::test]
async fn without_a_policy_aliases_move_freely_and_nothing_is_recorded() {
    let api = api().await;
    api.ok(
        "POST",
        "registered-models/create",
        Some(json!({"name": "m"})),
    )
    .await;
    api.version_with(0.1, false).await;
    let v = api
        .ok(
            "POST",
            "registered-models/alias",
            Some(json!({"name": "m", "alias": "champion", "version": "1"})),
        )
        .await;
    assert_eq!(v, json!({}));
    assert_eq!(
        api.aliases().await,
        json!([{"alias": "champion", "version": "1"}])
    );
    assert!(api.promotions().await.is_empty());
    api.err(
        "GET",
        "registered-models/promotions?name=nope",
        None,
        (404, "RESOURCE_DOES_NOT_EXIST"),
    )
    .await;
}
