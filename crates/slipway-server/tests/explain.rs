//! `POST /explain` on the inference server: for every kind of model the base value plus the
//! contributions is the model's output for the same row as `/predict`, `/invocations` or v2
//! answer it (to 1e-9); a logged prediction is explained by its id, from the queue and
//! from the written segments alike; hostile bodies get 4xx answers naming the field.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use slipway_engine::{Engine, EngineOptions, NoProgress, PipelineConfig};
use slipway_server::serving::{DeploymentSpec, LogStore, Serving, ServingOptions, Source};
use slipway_server::{HttpOptions, serving_app};
use tower::ServiceExt;

const ADULT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/adult");
const DIABETES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/diabetes");

/// The first `n` data lines of a CSV file (with its header) written to `to`.
fn head(from: &Path, n: usize, to: &Path) {
    let text = std::fs::read_to_string(from).expect("read data");
    let lines: Vec<&str> = text.lines().take(n + 1).collect();
    std::fs::write(to, lines.join("\n") + "\n").expect("write data");
}

/// Trains `family` on a slice of Adult (or diabetes) and returns the bundle directory.
fn train(dir: &Path, family: &str, params: &str, regression: bool) -> PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let data = dir.join(format!("{family}-train.csv"));
    let (source, target, extra) = if regression {
        (Path::new(DIABETES).join("diabetes.csv"), "target", "")
    } else {
        (
            Path::new(ADULT).join("adult_train.csv"),
            "income",
            "roles:\n  ignored: [fnlwgt]\n",
        )
    };
    head(&source, 300, &data);
    let yaml = format!(
        "name: {family}-model\ndata:\n  train: {}\ntarget: {target}\n{extra}models:\n  - name: m\n    type: {family}\n    params: {params}\ncv:\n  folds: 2\nseed: 7\noutput: {}\n",
        data.display(),
        dir.join(family).display()
    );
    let path = dir.join(format!("{family}.yaml"));
    std::fs::write(&path, &yaml).expect("config");
    let cfg = PipelineConfig::parse(&yaml, &path).expect("config parses");
    let out = Engine::new(EngineOptions::default())
        .train(&cfg, Some(&yaml), &NoProgress)
        .expect("train");
    out.bundle.expect("the gate passes with no minimum")
}

/// Rows of a held-out part of the data as JSON objects (numbers as numbers, text as
/// strings, empty fields as null), without the target.
fn rows(regression: bool, n: usize) -> Vec<Value> {
    let (file, skip) = if regression {
        (Path::new(DIABETES).join("diabetes.csv"), 400)
    } else {
        (Path::new(ADULT).join("adult_test.csv"), 0)
    };
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let target = header.len() - 1;
    lines
        .skip(skip)
        .take(n)
        .map(|l| {
            let obj: serde_json::Map<String, Value> = header
                .iter()
                .zip(l.split(','))
                .take(target)
                .map(|(h, v)| {
                    let value = if v.is_empty() {
                        Value::Null
                    } else if let Ok(i) = v.parse::<i64>() {
                        json!(i)
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

/// The first held-out row.
fn super_rows(regression: bool) -> Value {
    rows(regression, 1).remove(0)
}

struct Server {
    router: Router,
    serving: Arc<Serving>,
}

async fn serve(bundle: &Path, log: Option<&Path>, options: ServingOptions) -> Server {
    let log_store = match log {
        Some(dir) => Some(LogStore {
            artifacts: slipway_server::open_local_artifacts(dir.to_path_buf())
                .await
                .expect("log store"),
            index: None,
        }),
        None => None,
    };
    let serving = Serving::start(
        vec![DeploymentSpec {
            name: "m".into(),
            source: Source::Bundle(bundle.to_path_buf()),
        }],
        None,
        log_store,
        options,
    )
    .await
    .expect("serving starts");
    Server {
        router: serving_app(serving.clone(), &HttpOptions::default()),
        serving,
    }
}

struct Answer {
    status: StatusCode,
    body: Value,
    text: String,
}

async fn send(router: &Router, uri: &str, headers: &[(&str, &str)], body: String) -> Answer {
    let mut req = Request::builder().method("POST").uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = router
        .clone()
        .oneshot(req.body(Body::from(body)).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn post(router: &Router, uri: &str, body: Value) -> Answer {
    send(
        router,
        uri,
        &[("content-type", "application/json")],
        body.to_string(),
    )
    .await
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Base value plus the contributions of output `k`, and the `score` the answer gives.
fn added(a: &Value, k: usize) -> (f64, f64) {
    let o = &a["outputs"][k];
    let sum: f64 = o["contributions"]
        .as_object()
        .expect("contributions")
        .values()
        .map(|v| v.as_f64().expect("a number"))
        .sum();
    (
        o["base_value"].as_f64().unwrap() + sum,
        o["score"].as_f64().unwrap(),
    )
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9, "{what}: {a} vs {b}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tree_model_is_explained_by_row_and_by_prediction_id() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = train(dir.path(), "gbdt", "{n_estimators: 20}", false);
    let log = dir.path().join("log");
    let s = serve(&bundle, Some(&log), ServingOptions::default()).await;
    let r = &s.router;
    let rows = rows(false, 5);

    let p = post(r, "/predict", rows[1].clone()).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    let id = p.body["prediction_id"].as_str().unwrap().to_string();
    let probability = p.body["probabilities"]["1"].as_f64().unwrap();

    // From the queue: the row has not been written yet.
    let a = post(r, "/explain", json!({"prediction_id": id})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["method"], "tree_shap");
    assert_eq!(a.body["space"], "log_odds");
    assert_eq!(a.body["exact"], true);
    assert_eq!(a.body["background"], Value::Null);
    assert_eq!(a.body["prediction_id"], json!(id));
    assert_eq!(a.body["prediction"], p.body["prediction"]);
    assert_eq!(a.body["outputs"].as_array().unwrap().len(), 1);
    let (sum, score) = added(&a.body, 0);
    close(sum, score, "score");
    close(
        sigmoid(sum),
        probability,
        "sigmoid(base + contributions) vs /predict",
    );
    let columns: Vec<&String> = a.body["outputs"][0]["contributions"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert!(
        (8..=13).contains(&columns.len()),
        "input columns: {columns:?}"
    );
    assert!(!columns.iter().any(|c| *c == "fnlwgt"), "an ignored column");

    // From a written segment: the same values.
    s.serving.flush_log().await;
    let b = post(
        r,
        "/v2/models/m/explain",
        json!({"prediction_id": id, "parameters": {"per_feature": true}}),
    )
    .await;
    assert_eq!(b.status, StatusCode::OK, "{}", b.text);
    assert_eq!(
        b.body["outputs"][0]["contributions"],
        a.body["outputs"][0]["contributions"]
    );
    // Per encoded feature (for GBDT, categories are native features): the same score.
    let features = b.body["outputs"][0]["feature_contributions"]
        .as_object()
        .expect("per_feature");
    assert!(features.len() >= columns.len(), "{}", features.len());
    let fsum: f64 = features.values().map(|v| v.as_f64().unwrap()).sum();
    close(
        b.body["outputs"][0]["base_value"].as_f64().unwrap() + fsum,
        sum,
        "per feature",
    );

    // The row itself, in each accepted shape, gives the same values.
    let mlflow = json!({"dataframe_records": [rows[1]]});
    let inv = post(r, "/invocations", mlflow.clone()).await;
    assert_eq!(inv.status, StatusCode::OK);
    for body in [
        rows[1].clone(),
        json!({"row": rows[1]}),
        mlflow,
        json!({"dataframe_split": {
            "columns": rows[1].as_object().unwrap().keys().collect::<Vec<_>>(),
            "data": [rows[1].as_object().unwrap().values().collect::<Vec<_>>()],
        }}),
    ] {
        let c = post(r, "/explain", body.clone()).await;
        assert_eq!(c.status, StatusCode::OK, "{body}: {}", c.text);
        assert_eq!(c.body["prediction"], inv.body["predictions"][0]);
        assert_eq!(
            c.body["outputs"][0]["contributions"], a.body["outputs"][0]["contributions"],
            "{body}"
        );
        assert_eq!(c.body.get("prediction_id"), None);
    }
    // Several rows of other ids: each explains its own row.
    let many = post(r, "/predict", json!({"rows": rows})).await;
    for (i, item) in many.body["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let e = post(
            r,
            "/models/m/explain",
            json!({"prediction_id": item["prediction_id"]}),
        )
        .await;
        assert_eq!(e.status, StatusCode::OK, "{}", e.text);
        let (sum, _) = added(&e.body, 0);
        close(
            sigmoid(sum),
            item["probabilities"]["1"].as_f64().unwrap(),
            &format!("row {i}"),
        );
    }
}

/// The v2 route takes a v2 inference request of one row.
#[tokio::test(flavor = "multi_thread")]
async fn a_linear_model_is_explained_against_the_profile_background() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = train(dir.path(), "linear_regression", "{}", true);
    let s = serve(&bundle, None, ServingOptions::default()).await;
    let r = &s.router;
    let rows = rows(true, 3);
    let row = rows[2].as_object().unwrap();
    let inputs: Vec<Value> = row
        .iter()
        .map(|(k, v)| json!({"name": k, "shape": [1], "datatype": "FP64", "data": [v.as_f64().unwrap()]}))
        .collect();
    let infer = post(r, "/v2/models/m/infer", json!({"inputs": inputs})).await;
    assert_eq!(infer.status, StatusCode::OK, "{}", infer.text);
    let predicted = infer.body["outputs"][0]["data"][0].as_f64().unwrap();
    let a = post(r, "/v2/models/m/explain", json!({"inputs": inputs})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["method"], "linear_shap");
    assert_eq!(a.body["space"], "value");
    assert!(
        a.body["background"]
            .as_str()
            .unwrap()
            .contains("profile.json"),
        "{}",
        a.text
    );
    let (sum, score) = added(&a.body, 0);
    close(sum, score, "score");
    close(sum, predicted, "base + contributions vs v2 infer");
    close(
        a.body["prediction"].as_f64().unwrap(),
        predicted,
        "prediction",
    );
    // A logistic model: log-odds, and one-hot indicators per encoded feature.
    let bundle = train(&dir.path().join("l"), "logistic_regression", "{}", false);
    let s2 = serve(&bundle, None, ServingOptions::default()).await;
    let row = super_rows(false);
    let p = post(&s2.router, "/predict", row.clone()).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    let mut asked = row.clone();
    asked["per_feature"] = json!(true);
    let a2 = post(&s2.router, "/explain", asked).await;
    assert_eq!(a2.status, StatusCode::OK, "{}", a2.text);
    assert_eq!(a2.body["method"], "linear_shap");
    assert_eq!(a2.body["space"], "log_odds");
    let (sum, _) = added(&a2.body, 0);
    close(
        sigmoid(sum),
        p.body["probabilities"]["1"].as_f64().unwrap(),
        "logistic",
    );
    let out = &a2.body["outputs"][0];
    let features = out["feature_contributions"].as_object().unwrap();
    assert!(
        features.len() > out["contributions"].as_object().unwrap().len(),
        "one-hot indicators: {}",
        a2.text
    );
    let fsum: f64 = features.values().map(|v| v.as_f64().unwrap()).sum();
    close(
        out["base_value"].as_f64().unwrap() + fsum,
        sum,
        "per feature",
    );

    // The prediction log is off: a prediction id cannot be looked up.
    let b = post(
        r,
        "/explain",
        json!({"prediction_id": "01890a5d-ac96-774b-bcce-b302099a8057"}),
    )
    .await;
    assert_eq!(b.status, StatusCode::NOT_FOUND, "{}", b.text);
    assert!(b.text.contains("prediction log is off"), "{}", b.text);
}

/// Families without an exact explainer: exact Shapley values over at most 12 input columns,
/// seeded KernelSHAP beyond.
#[tokio::test(flavor = "multi_thread")]
async fn other_families_get_exact_shapley_or_seeded_kernel_shap() {
    let dir = tempfile::tempdir().unwrap();
    // Diabetes: 10 input columns.
    let bundle = train(dir.path(), "k_neighbors", "{}", true);
    let s = serve(&bundle, None, ServingOptions::default()).await;
    let row = rows(true, 1).remove(0);
    let inv = post(
        &s.router,
        "/invocations",
        json!({"dataframe_records": [row]}),
    )
    .await;
    assert_eq!(inv.status, StatusCode::OK, "{}", inv.text);
    let a = post(&s.router, "/explain", row.clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["method"], "exact_shapley");
    assert_eq!(a.body["exact"], true);
    assert!(a.body["background"].is_string());
    let (sum, _) = added(&a.body, 0);
    close(
        sum,
        inv.body["predictions"][0].as_f64().unwrap(),
        "exact Shapley",
    );
    // Contributions per encoded feature come from TreeSHAP and linear SHAP only.
    let mut asked = row.clone();
    asked["per_feature"] = json!(true);
    let b = post(&s.router, "/explain", asked).await;
    assert_eq!(b.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", b.text);
    assert!(b.text.contains("per_feature"), "{}", b.text);

    // Adult: 13 input columns.
    let bundle = train(&dir.path().join("a"), "gaussian_nb", "{}", false);
    let s = serve(&bundle, None, ServingOptions::default()).await;
    let row = rows(false, 1).remove(0);
    let p = post(&s.router, "/predict", row.clone()).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.text);
    let a = post(&s.router, "/explain", row.clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["method"], "kernel_shap");
    assert_eq!(a.body["exact"], false);
    assert_eq!(a.body["space"], "probability");
    assert_eq!(a.body["seed"], 0);
    assert_eq!(a.body["samples"], 1024);
    let se = a.body["outputs"][0]["standard_errors"]
        .as_object()
        .expect("standard errors");
    assert_eq!(se.len(), 13);
    let (sum, _) = added(&a.body, 0);
    close(
        sum,
        p.body["probabilities"]["1"].as_f64().unwrap(),
        "KernelSHAP",
    );
    // Seeded: the same answer again.
    let again = post(&s.router, "/explain", row).await;
    assert_eq!(again.body["outputs"], a.body["outputs"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_explain_requests_get_clear_4xx_answers() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = train(dir.path(), "gbdt", "{n_estimators: 5}", false);
    let options = ServingOptions {
        max_body_bytes: 16 * 1024,
        ..ServingOptions::default()
    };
    let log = dir.path().join("log");
    let s = serve(&bundle, Some(&log), options).await;
    let r = &s.router;
    let rows = rows(false, 2);
    let json_ct = [("content-type", "application/json")];

    let check = |a: &Answer, status: StatusCode, what: &str| {
        assert_eq!(a.status, status, "{what}: {}", a.text);
        assert!(a.body["message"].is_string(), "{what}: {}", a.text);
        assert!(!a.text.contains("panicked"), "{what}");
    };

    // Not JSON; the wrong content type; a huge body.
    let a = send(r, "/explain", &json_ct, "{\"age\":".into()).await;
    check(&a, StatusCode::BAD_REQUEST, "not JSON");
    assert!(a.text.contains("not valid JSON"));
    let a = send(r, "/explain", &json_ct, r#"{"age": NaN}"#.into()).await;
    check(&a, StatusCode::BAD_REQUEST, "a bare NaN");
    let a = send(
        r,
        "/explain",
        &[("content-type", "text/plain")],
        rows[0].to_string(),
    )
    .await;
    check(&a, StatusCode::UNSUPPORTED_MEDIA_TYPE, "text/plain");
    let a = send(
        r,
        "/explain",
        &[("content-type", "text/csv")],
        "age\n1\n".into(),
    )
    .await;
    check(&a, StatusCode::UNSUPPORTED_MEDIA_TYPE, "CSV");
    let mut huge = rows[0].clone();
    huge["native_country"] = json!("x".repeat(20_000));
    let a = post(r, "/explain", huge).await;
    check(&a, StatusCode::PAYLOAD_TOO_LARGE, "huge");

    // Wrong types name the field.
    let mut bad = rows[0].clone();
    bad["hours_per_week"] = json!("forty");
    let a = post(r, "/explain", bad).await;
    check(
        &a,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a string for a number",
    );
    assert_eq!(a.body["field"], "hours_per_week");
    for v in ["NaN", "inf"] {
        let mut bad = rows[0].clone();
        bad["capital_gain"] = json!(v);
        let a = post(r, "/explain", bad).await;
        check(&a, StatusCode::UNPROCESSABLE_ENTITY, v);
        assert_eq!(a.body["field"], "capital_gain");
    }
    let mut bad = rows[0].clone();
    bad["age"] = json!([1, 2]);
    let a = post(r, "/explain", bad).await;
    check(&a, StatusCode::BAD_REQUEST, "a list for a number");

    // A missing column: 422 naming it; an unknown one is ignored, as /predict does.
    let mut missing = rows[0].clone();
    missing.as_object_mut().unwrap().remove("age");
    let a = post(r, "/explain", missing).await;
    check(&a, StatusCode::UNPROCESSABLE_ENTITY, "missing column");
    assert_eq!(a.body["field"], "age");
    let mut extra = rows[0].clone();
    extra["shoe_size"] = json!(44);
    let a = post(r, "/explain", extra).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let ignored = a.body["ignored_columns"].as_array().unwrap();
    assert!(ignored.contains(&json!("shoe_size")), "{}", a.text);

    // Two rows where one is expected; none; not an object.
    for body in [
        json!({"dataframe_records": [rows[0], rows[1]]}),
        json!({"rows": [rows[0], rows[1]]}),
        json!([rows[0], rows[1]]),
    ] {
        let a = post(r, "/explain", body).await;
        check(&a, StatusCode::BAD_REQUEST, "two rows");
        assert!(a.text.contains("one row"), "{}", a.text);
    }
    let a = post(r, "/explain", json!({"dataframe_records": []})).await;
    check(&a, StatusCode::BAD_REQUEST, "no rows");
    let a = post(r, "/explain", json!(42)).await;
    check(&a, StatusCode::BAD_REQUEST, "a number");
    let a = post(r, "/explain", json!({"row": 3})).await;
    check(&a, StatusCode::BAD_REQUEST, "row not an object");
    let a = post(r, "/v2/models/m/explain", json!({"inputs": 3})).await;
    check(&a, StatusCode::BAD_REQUEST, "v2 inputs");

    // Prediction ids: unknown, not a UUID, not a string, with other fields.
    let a = post(
        r,
        "/explain",
        json!({"prediction_id": "01890a5d-ac96-774b-bcce-b302099a8057"}),
    )
    .await;
    check(&a, StatusCode::NOT_FOUND, "unknown id");
    assert!(a.text.contains("not in the prediction log"), "{}", a.text);
    let a = post(r, "/explain", json!({"prediction_id": "../../etc"})).await;
    check(&a, StatusCode::BAD_REQUEST, "not a UUID");
    assert!(a.text.contains("prediction_id"));
    let a = post(r, "/explain", json!({"prediction_id": 7})).await;
    check(&a, StatusCode::BAD_REQUEST, "a number id");
    let a = post(
        r,
        "/explain",
        json!({"prediction_id": "01890a5d-ac96-774b-bcce-b302099a8057", "age": 3}),
    )
    .await;
    check(&a, StatusCode::BAD_REQUEST, "id and a row");
    let mut flag = rows[0].clone();
    flag["per_feature"] = json!("yes");
    let a = post(r, "/explain", flag).await;
    check(&a, StatusCode::BAD_REQUEST, "per_feature not a boolean");
    assert!(a.text.contains("per_feature"));

    // Another model's route; a foreign origin; GET.
    let a = post(r, "/v2/models/other/explain", rows[0].clone()).await;
    check(&a, StatusCode::NOT_FOUND, "unknown model");
    let a = send(
        r,
        "/explain",
        &[
            ("content-type", "application/json"),
            ("origin", "http://evil.example"),
        ],
        rows[0].to_string(),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "{}", a.text);
    let resp = r
        .clone()
        .oneshot(
            Request::builder()
                .uri("/explain")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);

    // Listed in the OpenAPI document.
    let resp = r
        .clone()
        .oneshot(
            Request::builder()
                .uri("/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let doc: Value =
        serde_json::from_slice(&to_bytes(resp.into_body(), usize::MAX).await.unwrap()).unwrap();
    for path in [
        "/explain",
        "/models/{name}/explain",
        "/v2/models/{name}/explain",
    ] {
        assert!(doc["paths"][path]["post"].is_object(), "{path}");
    }
}
