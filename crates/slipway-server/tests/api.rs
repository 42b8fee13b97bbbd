//! The router driven in-process with `tower::ServiceExt::oneshot`, one request at a time.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use slipway_server::{AppState, Limits, app};
use tower::ServiceExt;

struct Api {
    router: Router,
    _home: tempfile::TempDir,
}

async fn api_with(limits: Limits) -> Api {
    let home = tempfile::tempdir().expect("tempdir");
    let state = AppState::open_home(home.path(), limits)
        .await
        .expect("open");
    Api {
        router: app(Arc::new(state)),
        _home: home,
    }
}

async fn api() -> Api {
    api_with(Limits::default()).await
}

impl Api {
    async fn raw(&self, method: &str, uri: &str, body: Body) -> (StatusCode, Vec<u8>) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(body)
            .expect("request");
        let resp = self.router.clone().oneshot(req).await.expect("response");
        let status = resp.status();
        let bytes = to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        (status, bytes.to_vec())
    }

    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let (status, bytes) = self.raw(method, uri, body).await;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "{method} {uri}: not JSON: {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        (status, value)
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", &format!("/api/2.0/mlflow/{path}"), Some(body))
            .await
    }

    async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
        self.call("GET", &format!("/api/2.0/mlflow/{path_and_query}"), None)
            .await
    }

    async fn ok_post(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.post(path, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {v}");
        v
    }

    async fn ok_get(&self, path_and_query: &str) -> Value {
        let (status, v) = self.get(path_and_query).await;
        assert_eq!(status, StatusCode::OK, "{path_and_query}: {v}");
        v
    }

    async fn new_run(&self, exp: &str, name: &str) -> String {
        let v = self
            .ok_post(
                "runs/create",
                json!({"experiment_id": exp, "run_name": name, "start_time": 1000, "user_id": "u"}),
            )
            .await;
        v["run"]["info"]["run_id"]
            .as_str()
            .expect("run id")
            .to_string()
    }
}

fn assert_error(status: StatusCode, body: &Value, want_status: StatusCode, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error_code"], code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");
}

#[tokio::test]
async fn experiments_endpoints() {
    let api = api().await;
    let v = api
        .ok_post(
            "experiments/create",
            json!({"name": "exp", "tags": [{"key": "team", "value": "compat"}]}),
        )
        .await;
    assert_eq!(v, json!({"experiment_id": "1"}));
    let v = api.ok_get("experiments/get?experiment_id=1").await;
    let e = &v["experiment"];
    assert_eq!(e["name"], "exp");
    assert_eq!(e["artifact_location"], "mlflow-artifacts:/1");
    assert_eq!(e["lifecycle_stage"], "active");
    assert_eq!(e["workspace"], "default");
    assert_eq!(e["tags"], json!([{"key": "team", "value": "compat"}]));
    assert!(e["creation_time"].is_i64() && e["last_update_time"].is_i64());

    let v = api
        .ok_get("experiments/get-by-name?experiment_name=exp")
        .await;
    assert_eq!(v["experiment"]["experiment_id"], "1");
    let (s, v) = api
        .get("experiments/get-by-name?experiment_name=nope")
        .await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
    let (s, v) = api.get("experiments/get?experiment_id=98765432109").await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
    let (s, v) = api.get("experiments/get").await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");

    let (s, v) = api.post("experiments/create", json!({"name": "exp"})).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "RESOURCE_ALREADY_EXISTS");
    assert!(!v["message"].as_str().unwrap_or("").contains("INSERT"));

    api.ok_post("experiments/create", json!({"name": "exp-b"}))
        .await;
    assert_eq!(
        api.ok_post(
            "experiments/set-experiment-tag",
            json!({"experiment_id": "1", "key": "stage", "value": "x"})
        )
        .await,
        json!({})
    );
    api.ok_post(
        "experiments/update",
        json!({"experiment_id": "2", "new_name": "exp-b-renamed"}),
    )
    .await;
    let v = api
        .ok_post(
            "experiments/search",
            json!({"max_results": 1000, "filter": "name LIKE 'exp%'", "order_by": ["name DESC"], "view_type": "ACTIVE_ONLY"}),
        )
        .await;
    let names: Vec<&str> = v["experiments"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, ["exp-b-renamed", "exp"]);
    assert!(
        v["experiments"][0].get("tags").is_none(),
        "no tags → omitted"
    );
    assert!(v.get("next_page_token").is_none());

    let v = api
        .ok_post("experiments/search", json!({"max_results": 1}))
        .await;
    let token = v["next_page_token"].as_str().expect("token").to_string();
    let v = api
        .ok_post(
            "experiments/search",
            json!({"max_results": 1, "page_token": token}),
        )
        .await;
    assert_eq!(v["experiments"].as_array().map(Vec::len), Some(1));

    assert_eq!(
        api.ok_post("experiments/delete", json!({"experiment_id": "2"}))
            .await,
        json!({})
    );
    let v = api
        .ok_post("experiments/search", json!({"view_type": "DELETED_ONLY"}))
        .await;
    assert_eq!(v["experiments"][0]["lifecycle_stage"], "deleted");
    let (s, v) = api.post("runs/create", json!({"experiment_id": "2"})).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    api.ok_post("experiments/restore", json!({"experiment_id": "2"}))
        .await;
    let (s, v) = api
        .post("experiments/search", json!({"filter": "name >> 'x'"}))
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    let (s, v) = api
        .post("experiments/search", json!({"view_type": "SOMETIMES"}))
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
}

#[tokio::test]
async fn run_endpoints() {
    let api = api().await;
    let v = api
        .ok_post(
            "runs/create",
            json!({"experiment_id": "0", "user_id": "unknown", "run_name": "conf-run",
                   "start_time": 1795736706776_i64, "tags": [{"key": "origin", "value": "conformance"}]}),
        )
        .await;
    let info = &v["run"]["info"];
    let id = info["run_id"].as_str().expect("id").to_string();
    assert_eq!(info["run_uuid"], id.as_str());
    assert_eq!(info["status"], "RUNNING");
    assert_eq!(info["start_time"], 1795736706776_i64);
    assert!(info.get("end_time").is_none());
    assert_eq!(
        info["artifact_uri"],
        format!("mlflow-artifacts:/0/{id}/artifacts")
    );
    assert_eq!(
        v["run"]["data"]["tags"],
        json!([{"key": "origin", "value": "conformance"}, {"key": "mlflow.runName", "value": "conf-run"}])
    );
    assert!(v["run"]["data"].get("metrics").is_none());
    assert_eq!(v["run"]["inputs"], json!({}));

    api.ok_post(
        "runs/log-parameter",
        json!({"run_uuid": id, "run_id": id, "key": "lr", "value": "0.01"}),
    )
    .await;
    api.ok_post(
        "runs/log-parameter",
        json!({"run_id": id, "key": "lr", "value": "0.01"}),
    )
    .await;
    let (s, v) = api
        .post(
            "runs/log-parameter",
            json!({"run_id": id, "key": "lr", "value": "0.5"}),
        )
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("Changing param values is not allowed")
    );

    for step in 0..3 {
        api.ok_post(
            "runs/log-metric",
            json!({"run_id": id, "key": "loss", "value": 1.0 - step as f64 / 10.0, "timestamp": 100 + step, "step": step}),
        )
        .await;
    }
    api.ok_post(
        "runs/log-metric",
        json!({"run_id": id, "key": "odd", "value": "NaN", "timestamp": "5"}),
    )
    .await;
    let (s, v) = api
        .post(
            "runs/log-metric",
            json!({"run_id": id, "key": "x", "value": 1.0}),
        )
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");

    api.ok_post(
        "runs/set-tag",
        json!({"run_id": id, "key": "phase", "value": "train"}),
    )
    .await;
    api.ok_post(
        "runs/set-tag",
        json!({"run_id": id, "key": "to_delete", "value": "x"}),
    )
    .await;
    api.ok_post("runs/delete-tag", json!({"run_id": id, "key": "to_delete"}))
        .await;
    let (s, v) = api
        .post("runs/delete-tag", json!({"run_id": id, "key": "to_delete"}))
        .await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");

    api.ok_post(
        "runs/log-batch",
        json!({"run_id": id,
               "metrics": [{"key": "acc", "value": 0.5, "timestamp": 1, "step": 0},
                           {"key": "acc", "value": 0.8, "timestamp": 2, "step": 3}],
               "params": [{"key": "batch_size", "value": "32"}],
               "tags": [{"key": "batched", "value": "yes"}]}),
    )
    .await;
    // All or nothing: a conflicting param rejects the whole batch.
    let (s, v) = api
        .post(
            "runs/log-batch",
            json!({"run_id": id, "metrics": [{"key": "never", "value": 1, "timestamp": 1}],
                   "params": [{"key": "lr", "value": "9"}]}),
        )
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({"key": format!("p{i}"), "value": "v"}))
        .collect();
    let (s, v) = api
        .post("runs/log-batch", json!({"run_id": id, "params": too_many}))
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");

    let v = api
        .ok_get(&format!("runs/get?run_uuid={id}&run_id={id}"))
        .await;
    let data = &v["run"]["data"];
    let metrics = data["metrics"].as_array().expect("metrics");
    let loss = metrics.iter().find(|m| m["key"] == "loss").expect("loss");
    assert_eq!(loss["step"], 2);
    assert_eq!(loss["value"], 0.8);
    let odd = metrics.iter().find(|m| m["key"] == "odd").expect("odd");
    assert_eq!(odd["value"], "NaN");
    assert!(metrics.iter().all(|m| m["key"] != "never"));
    assert_eq!(
        data["params"],
        json!([{"key": "lr", "value": "0.01"}, {"key": "batch_size", "value": "32"}])
    );
    assert!(
        data["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .all(|t| t["key"] != "to_delete")
    );

    let v = api
        .ok_get(&format!(
            "metrics/get-history?run_uuid={id}&metric_key=loss&run_id={id}&max_results=25000"
        ))
        .await;
    let steps: Vec<i64> = v["metrics"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|m| m["step"].as_i64())
        .collect();
    assert_eq!(steps, [0, 1, 2]);
    let v = api
        .ok_get(&format!(
            "metrics/get-history?run_id={id}&metric_key=loss&max_results=2"
        ))
        .await;
    assert!(v["next_page_token"].is_string());
    let (s, v) = api
        .get(&format!(
            "metrics/get-history?run_id={id}&metric_key=loss&max_results=x"
        ))
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");

    let v = api
        .ok_post(
            "runs/update",
            json!({"run_uuid": id, "run_id": id, "status": "FINISHED", "end_time": 2000, "run_name": "renamed"}),
        )
        .await;
    assert_eq!(v["run_info"]["status"], "FINISHED");
    assert_eq!(v["run_info"]["end_time"], 2000);
    assert_eq!(v["run_info"]["run_name"], "renamed");
    let (s, v) = api
        .post("runs/update", json!({"run_id": id, "status": "SIDEWAYS"}))
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");

    assert_eq!(
        api.ok_post(
            "runs/outputs",
            json!({"run_id": id, "models": [{"model_id": "m-1", "step": 0}]})
        )
        .await,
        json!({})
    );
    let v = api.ok_get(&format!("runs/get?run_id={id}")).await;
    assert_eq!(
        v["run"]["outputs"],
        json!({"model_outputs": [{"model_id": "m-1", "step": 0}]})
    );
    assert_eq!(v["run"]["inputs"], json!({}));

    // Inputs as `mlflow.log_input` sends them; the same dataset again is one input.
    let train = json!({
        "tags": [{"key": "mlflow.data.context", "value": "training"}],
        "dataset": {"name": "adult", "digest": "4c1e9a0b", "source_type": "local",
                    "source": "{\"uri\": \"/data/adult.csv\"}", "schema": "{\"mlflow_colspec\": []}"}
    });
    assert_eq!(
        api.ok_post(
            "runs/log-inputs",
            json!({"run_id": id, "datasets": [train, train], "models": [{"model_id": "m-1"}]})
        )
        .await,
        json!({})
    );
    let v = api.ok_get(&format!("runs/get?run_id={id}")).await;
    assert_eq!(
        v["run"]["inputs"],
        json!({"dataset_inputs": [train], "model_inputs": [{"model_id": "m-1"}]})
    );
    let (s, v) = api
        .post(
            "runs/log-inputs",
            json!({"run_id": id, "datasets": [{"dataset": {"name": "no-digest"}}]}),
        )
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    assert!(
        v["message"].as_str().unwrap_or("").contains("digest"),
        "{v}"
    );

    assert_eq!(
        api.ok_post("runs/delete", json!({"run_id": id})).await,
        json!({})
    );
    let (s, v) = api
        .post(
            "runs/log-metric",
            json!({"run_id": id, "key": "late", "value": 1.0, "timestamp": 1}),
        )
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("must be in the 'active' state")
    );
    api.ok_post("runs/restore", json!({"run_id": id})).await;

    let (s, v) = api
        .get("runs/get?run_id=0123456789abcdef0123456789abcdef")
        .await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");
    let (s, v) = api.post("runs/delete", json!({})).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
}

#[tokio::test]
async fn search_runs_endpoint() {
    let api = api().await;
    let exp = api
        .ok_post("experiments/create", json!({"name": "s"}))
        .await["experiment_id"]
        .as_str()
        .expect("id")
        .to_string();
    for (i, acc) in [0.1, 0.3, 0.5].iter().enumerate() {
        let id = api.new_run(&exp, &format!("s{i}")).await;
        api.ok_post(
            "runs/log-metric",
            json!({"run_id": id, "key": "acc", "value": acc, "timestamp": 1}),
        )
        .await;
    }
    api.new_run(&exp, "none").await;
    let v = api
        .ok_post(
            "runs/search",
            json!({"experiment_ids": [exp], "run_view_type": "ACTIVE_ONLY", "filter": "metrics.acc > 0.25",
                   "max_results": 1000, "order_by": ["metrics.acc DESC"]}),
        )
        .await;
    let names: Vec<&str> = v["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter_map(|r| r["info"]["run_name"].as_str())
        .collect();
    assert_eq!(names, ["s2", "s1"]);
    assert_eq!(v["runs"][0]["outputs"], json!({}));

    let v = api
        .ok_post(
            "runs/search",
            json!({"experiment_ids": [exp], "order_by": ["metrics.acc ASC"], "max_results": 3}),
        )
        .await;
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(3));
    let token = v["next_page_token"].as_str().expect("token");
    let v = api
        .ok_post(
            "runs/search",
            json!({"experiment_ids": [exp], "order_by": ["metrics.acc ASC"], "page_token": token}),
        )
        .await;
    assert_eq!(
        v["runs"][0]["info"]["run_name"], "none",
        "missing key sorts last"
    );

    let v = api
        .ok_post(
            "runs/search",
            json!({"experiment_ids": [exp], "filter": "metrics.acc > 9"}),
        )
        .await;
    assert_eq!(v, json!({}), "no runs → empty object");

    for (body, why) in [
        (
            json!({"experiment_ids": [exp], "filter": "metrics.acc >> 1"}),
            "bad comparator",
        ),
        (
            json!({"experiment_ids": [exp], "filter": "metrics.acc > 1 OR metrics.acc < 0"}),
            "OR",
        ),
        (
            json!({"experiment_ids": [exp], "order_by": ["metrics.acc SIDEWAYS"]}),
            "bad order",
        ),
        (
            json!({"experiment_ids": [exp], "max_results": 50001}),
            "too many",
        ),
        (
            json!({"experiment_ids": [exp], "page_token": "zz"}),
            "bad token",
        ),
        (
            json!({"experiment_ids": [exp], "run_view_type": "SOME"}),
            "bad view",
        ),
        (json!({"experiment_ids": "not-a-list"}), "wrong type"),
    ] {
        let (s, v) = api.post("runs/search", body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{why}: {v}");
        assert_eq!(v["error_code"], "INVALID_PARAMETER_VALUE", "{why}: {v}");
    }
    let (s, v) = api
        .post(
            "runs/search",
            json!({"experiment_ids": [exp], "filter": "metrics.acc >> 1"}),
        )
        .await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("Invalid comparator '>>'")
    );
}

#[tokio::test]
async fn artifact_endpoints() {
    let api = api().await;
    let base = "/api/2.0/mlflow-artifacts/artifacts";
    let (s, body) = api
        .raw(
            "PUT",
            &format!("{base}/6/run/artifacts/hello.txt"),
            Body::from("hello world"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    api.raw(
        "PUT",
        &format!("{base}/6/run/artifacts/sub/empty.bin"),
        Body::empty(),
    )
    .await;
    let (s, body) = api
        .raw(
            "GET",
            &format!("{base}/6/run/artifacts/hello.txt"),
            Body::empty(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, b"hello world");

    let (s, v) = api
        .call("GET", &format!("{base}?path=6/run/artifacts"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v,
        json!({"files": [
            {"path": "hello.txt", "is_dir": false, "file_size": 11},
            {"path": "sub", "is_dir": true}
        ]})
    );
    let (_, v) = api
        .call("GET", &format!("{base}?path=6/run/artifacts/sub"), None)
        .await;
    assert_eq!(
        v,
        json!({"files": [{"path": "empty.bin", "is_dir": false}]})
    );
    let (s, v) = api
        .call("GET", &format!("{base}?path=6/missing"), None)
        .await;
    assert_eq!((s, v), (StatusCode::OK, json!({})));

    let (s, v) = api
        .call("GET", &format!("{base}/6/run/artifacts/nope.txt"), None)
        .await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST");

    let (s, _) = api
        .raw(
            "DELETE",
            &format!("{base}/6/run/artifacts/hello.txt"),
            Body::empty(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api
        .raw(
            "GET",
            &format!("{base}/6/run/artifacts/hello.txt"),
            Body::empty(),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn artifact_paths_cannot_escape() {
    let api = api().await;
    let base = "/api/2.0/mlflow-artifacts/artifacts";
    for path in [
        "../secret",
        "6/../../secret",
        "%2e%2e/secret",
        "6/..%2f..%2fsecret",
        "%252e%252e/secret",
        "6/%252e%252e%252fsecret",
        "%2fetc/passwd",
        "a%5c..%5cb",
        "a%00b",
    ] {
        for method in ["PUT", "GET", "DELETE"] {
            let (s, body) = api
                .raw(method, &format!("{base}/{path}"), Body::from("x"))
                .await;
            let v: Value = serde_json::from_slice(&body).expect("json");
            assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
        }
        let (s, v) = api.call("GET", &format!("{base}?path={path}"), None).await;
        assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    }
    // Absolute paths and double slashes in the URL itself.
    let (s, body) = api
        .raw("PUT", &format!("{base}//etc/passwd"), Body::from("x"))
        .await;
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
}

#[tokio::test]
async fn bad_requests_get_the_api_error_shape() {
    let api = api_with(Limits {
        json_body_bytes: 1024,
        artifact_body_bytes: 16,
    })
    .await;
    let (s, body) = api
        .raw(
            "POST",
            "/api/2.0/mlflow/experiments/create",
            Body::from("{not json"),
        )
        .await;
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_error(s, &v, StatusCode::BAD_REQUEST, "BAD_REQUEST");
    let (s, v) = api.post("experiments/create", json!({"name": 5})).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    let (s, v) = api.post("experiments/create", json!([1, 2])).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    let (s, v) = api.post("experiments/create", json!({})).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    assert!(v["message"].as_str().unwrap_or("").contains("'name'"));
    let deep = "[".repeat(500) + &"]".repeat(500);
    let (s, body) = api
        .raw(
            "POST",
            "/api/2.0/mlflow/experiments/create",
            Body::from(deep),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&body)
    );

    let big = json!({"name": "x".repeat(2000)});
    let (s, v) = api.post("experiments/create", big).await;
    assert_error(
        s,
        &v,
        StatusCode::PAYLOAD_TOO_LARGE,
        "INVALID_PARAMETER_VALUE",
    );
    let (s, body) = api
        .raw(
            "PUT",
            "/api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/big",
            Body::from(vec![b'x'; 100]),
        )
        .await;
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_error(
        s,
        &v,
        StatusCode::PAYLOAD_TOO_LARGE,
        "INVALID_PARAMETER_VALUE",
    );

    let (s, v) = api.get("no/such/endpoint").await;
    assert_error(s, &v, StatusCode::NOT_FOUND, "ENDPOINT_NOT_FOUND");
    let (s, v) = api.get("runs/create").await;
    assert_error(s, &v, StatusCode::METHOD_NOT_ALLOWED, "ENDPOINT_NOT_FOUND");
    let (s, v) = api.get("runs/get?run_id=a&run_id=b&bogus=%ff").await;
    assert!(s.is_client_error(), "{v}");
}

#[tokio::test]
async fn server_info_health_and_logged_model_search() {
    let api = api().await;
    let (s, v) = api.call("GET", "/api/3.0/mlflow/server-info", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v,
        json!({"store_type": "SqlStore", "workspaces_enabled": false, "trace_archival_enabled": false,
               "multipart_uploads_enabled": false, "multipart_downloads_enabled": false})
    );
    let (s, body) = api.raw("GET", "/health", Body::empty()).await;
    assert_eq!((s, body.as_slice()), (StatusCode::OK, b"OK".as_slice()));
    let v = api
        .ok_post("logged-models/search", json!({"experiment_ids": ["0"]}))
        .await;
    assert_eq!(v, json!({}));
}

/// Every file and folder under `root`, relative, sorted.
fn tree(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            out.push(
                path.strip_prefix(root)
                    .expect("under")
                    .display()
                    .to_string(),
            );
            if path.is_dir() {
                dirs.push(path);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn the_root_and_experiment_and_run_folders_cannot_be_deleted() {
    let api = api().await;
    let base = "/api/2.0/mlflow-artifacts/artifacts";
    for file in ["1/r1/artifacts/model/MLmodel", "2/r2/artifacts/x.txt"] {
        let (s, body) = api
            .raw("PUT", &format!("{base}/{file}"), Body::from("x"))
            .await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    }
    let artifacts = api._home.path().join("artifacts");
    let before = tree(&artifacts);
    assert_eq!(before.len(), 9, "{before:?}");
    for path in [
        "%2e",
        "%2E",
        ".",
        "./",
        ".%2F",
        "%2e%2f",
        "%2e/%2e",
        "a/..",
        "a/%2e%2e",
        "%252e",
        "%252e%252f",
        "%25252e",
        "1",
        "1/",
        "1/%2e",
        "1/r1",
        "1/r1/",
        "1/r1/artifacts",
        "1/r1/artifacts/",
        "1/r1/artifacts/%2e",
        "1/r1/artifacts/model/..",
        "2/r2/./artifacts",
    ] {
        let (s, body) = api
            .raw("DELETE", &format!("{base}/{path}"), Body::empty())
            .await;
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
        assert_eq!(tree(&artifacts), before, "DELETE {path} removed something");
    }
    let (s, body) = api.raw("DELETE", &format!("{base}/"), Body::empty()).await;
    assert!(
        s.is_client_error(),
        "{s}: {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(tree(&artifacts), before);
    let (s, v) = api.call("DELETE", &format!("{base}/1/r1"), None).await;
    assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("refusing to delete '1/r1'"),
        "{v}"
    );

    // Inside a run's artifacts, deletion works.
    let (s, _) = api
        .raw(
            "DELETE",
            &format!("{base}/1/r1/artifacts/model"),
            Body::empty(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!artifacts.join("1/r1/artifacts/model").exists());
    assert!(artifacts.join("2/r2/artifacts/x.txt").exists());

    // Nor can a file be written onto the root or onto a folder.
    for path in ["%2e", "./", "%252e", "1", "2/r2/artifacts"] {
        let (s, body) = api
            .raw("PUT", &format!("{base}/{path}"), Body::from("x"))
            .await;
        let v: Value = serde_json::from_slice(&body).expect("json");
        assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
    }
    assert!(artifacts.join("2/r2/artifacts/x.txt").exists());
}

#[tokio::test]
async fn over_long_artifact_paths_are_refused_and_leave_nothing() {
    let api = api().await;
    let base = "/api/2.0/mlflow-artifacts/artifacts";
    let artifacts = api._home.path().join("artifacts");
    let before = tree(&artifacts);
    let long_name = "n".repeat(256);
    let long_path = vec!["abcdefghij"; 400].join("/");
    for (path, limit) in [
        (format!("1/run/artifacts/new/{long_name}"), "255 bytes"),
        (format!("1/run/artifacts/{long_name}/x.txt"), "255 bytes"),
        (format!("1/run/artifacts/{long_path}"), "1024 bytes"),
        (
            format!("1/run/artifacts/{}", "a/".repeat(2100)),
            "1024 bytes",
        ),
    ] {
        for method in ["PUT", "GET", "DELETE"] {
            let (s, body) = api
                .raw(method, &format!("{base}/{path}"), Body::from("x"))
                .await;
            let v: Value = serde_json::from_slice(&body).expect("json");
            assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
            assert!(
                v["message"].as_str().unwrap_or("").contains(limit),
                "{method}: {v}"
            );
        }
        let (s, v) = api.call("GET", &format!("{base}?path={path}"), None).await;
        assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
        assert_eq!(
            tree(&artifacts),
            before,
            "a refused PUT left folders behind"
        );
    }
}

/// A body of `chunks` chunks of `size` bytes, made as it is read (no Content-Length).
fn chunked(chunks: usize, size: usize) -> Body {
    let stream = futures_util::stream::iter(
        (0..chunks).map(move |_| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; size]))),
    );
    Body::from_stream(stream)
}

#[tokio::test]
async fn uploads_over_the_limit_are_refused_and_leave_nothing() {
    let api = api_with(Limits {
        artifact_body_bytes: 1000,
        ..Limits::default()
    })
    .await;
    let base = "/api/2.0/mlflow-artifacts/artifacts";
    let artifacts = api._home.path().join("artifacts");
    let before = tree(&artifacts);

    // A declared length over the limit is refused before the body is read: this body fails
    // if read at all.
    let unreadable = Body::from_stream(futures_util::stream::iter(vec![Err::<
        bytes::Bytes,
        std::io::Error,
    >(
        std::io::Error::other("the body was read"),
    )]));
    let req = Request::builder()
        .method("PUT")
        .uri(format!("{base}/1/run/artifacts/new/big.bin"))
        .header("content-length", "5000")
        .body(unreadable)
        .expect("request");
    let resp = api.router.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let v: Value =
        serde_json::from_slice(&to_bytes(resp.into_body(), usize::MAX).await.expect("body"))
            .expect("json");
    assert_error(
        status,
        &v,
        StatusCode::PAYLOAD_TOO_LARGE,
        "INVALID_PARAMETER_VALUE",
    );
    let message = v["message"].as_str().unwrap_or("");
    assert!(
        message.contains("5000 bytes") && message.contains("1000 bytes"),
        "{v}"
    );
    assert!(message.contains("--max-artifact-bytes"), "{v}");
    assert_eq!(tree(&artifacts), before);

    // A chunked body is stopped at the limit; its temporary file and folders go.
    let (s, body) = api
        .raw(
            "PUT",
            &format!("{base}/1/run/artifacts/new/big.bin"),
            chunked(10, 300),
        )
        .await;
    let v: Value = serde_json::from_slice(&body).expect("json");
    assert_error(
        s,
        &v,
        StatusCode::PAYLOAD_TOO_LARGE,
        "INVALID_PARAMETER_VALUE",
    );
    assert!(
        v["message"].as_str().unwrap_or("").contains("1000 bytes"),
        "{v}"
    );
    assert_eq!(
        tree(&artifacts),
        before,
        "a refused upload left files behind"
    );

    // At the limit, it lands.
    let (s, _) = api
        .raw(
            "PUT",
            &format!("{base}/1/run/artifacts/new/ok.bin"),
            chunked(4, 250),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        std::fs::metadata(artifacts.join("1/run/artifacts/new/ok.bin"))
            .expect("stored")
            .len(),
        1000
    );
}

#[tokio::test]
async fn stored_uris_must_name_what_the_server_manages() {
    let api = api().await;
    for (i, location) in [
        "http://169.254.169.254/latest/meta-data/",
        "file:///etc",
        "../../outside",
        "http:///#/../..",
        "mlflow-artifacts:/%2e%2e/%2e%2e/etc",
        "mlflow-artifacts:/1/%252e%252e/%252e%252e/etc",
        "mlflow-artifacts://attacker.example/1",
        "s3://someone-elses-bucket/x",
        "/etc",
    ]
    .iter()
    .enumerate()
    {
        let (s, v) = api
            .post(
                "experiments/create",
                json!({"name": format!("bad-{i}"), "artifact_location": location}),
            )
            .await;
        assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
        assert!(
            v["message"]
                .as_str()
                .unwrap_or("")
                .contains("'artifact_location'"),
            "{location}: {v}"
        );
        let (s, v) = api
            .get(&format!("experiments/get-by-name?experiment_name=bad-{i}"))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{location} was stored: {v}");
    }
    // What the server manages is stored as given.
    let root = api
        ._home
        .path()
        .join("artifacts")
        .canonicalize()
        .expect("root");
    for (name, location) in [
        ("proxied", "mlflow-artifacts:/team/proxied".to_string()),
        ("local", format!("file://{}/team/local", root.display())),
    ] {
        let v = api
            .ok_post(
                "experiments/create",
                json!({"name": name, "artifact_location": location}),
            )
            .await;
        let id = v["experiment_id"].as_str().expect("id").to_string();
        let v = api
            .ok_get(&format!("experiments/get?experiment_id={id}"))
            .await;
        assert_eq!(v["experiment"]["artifact_location"], location.as_str());
    }

    api.ok_post("registered-models/create", json!({"name": "m"}))
        .await;
    let run = api.new_run("0", "r").await;
    for source in [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/0",
        "https://example.com/model.pkl",
        &format!("runs:/{run}/%2e%2e/%2e%2e/etc"),
        &format!("runs:/{run}/%252e%252e/x"),
        "mlflow-artifacts:/%2e%2e/%2e%2e/etc",
        "mlflow-artifacts:/0/../../etc",
        "file:///etc/passwd",
        "models:/%2e%2e/1",
        "javascript:alert(1)",
    ] {
        let (s, v) = api
            .post(
                "model-versions/create",
                json!({"name": "m", "source": source}),
            )
            .await;
        assert_error(s, &v, StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE");
        assert!(
            v["message"].as_str().unwrap_or("").contains("'source'"),
            "{source}: {v}"
        );
    }
    let v = api.ok_get("registered-models/get?name=m").await;
    assert!(
        v["registered_model"]["latest_versions"].is_null(),
        "a refused source made a version: {v}"
    );
    // The sources the official client sends still register.
    for source in [
        format!("runs:/{run}/model"),
        format!("mlflow-artifacts:/0/{run}/artifacts/model"),
    ] {
        let v = api
            .ok_post(
                "model-versions/create",
                json!({"name": "m", "source": source, "run_id": run}),
            )
            .await;
        let version = v["model_version"]["version"]
            .as_str()
            .expect("version")
            .to_string();
        let v = api
            .ok_get(&format!(
                "model-versions/get-download-uri?name=m&version={version}"
            ))
            .await;
        assert_eq!(
            v["artifact_uri"],
            format!("mlflow-artifacts:/0/{run}/artifacts/model")
        );
    }
}
