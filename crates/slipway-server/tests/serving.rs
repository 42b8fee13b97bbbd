//! The inference server: every protocol answers what `slipway predict` writes (bit for
//! bit, for every model family), hostile bodies get 4xx answers naming the field and row,
//! concurrent requests get exactly their own rows, an alias move is followed, and every
//! prediction is logged, joined with feedback and exported.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use serde_json::{Value, json};
use slipway_data::Table;
use slipway_data::ingest::{self, ReadOptions};
use slipway_engine::{Engine, EngineOptions, NoProgress, PipelineConfig, PredictOptions};
use slipway_server::serving::{
    DeploymentSpec, LogOptions, LogStore, Serving, ServingOptions, Source, Stores,
};
use slipway_server::{AppState, HttpOptions, Limits, app, serving_app};
use slipway_store::{LogSegmentKind, LogSegmentQuery, MetadataStore, SqliteStore};
use tower::ServiceExt;

const ADULT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/adult");
const DIABETES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/diabetes");

/// The first `n` data lines of a CSV file (with its header) written to `to`.
fn head(from: &Path, n: usize, to: &Path) {
    let text = std::fs::read_to_string(from).expect("read data");
    let lines: Vec<&str> = text.lines().take(n + 1).collect();
    std::fs::write(to, lines.join("\n") + "\n").expect("write data");
}

/// Trains `family` on a small slice of Adult (or diabetes for regression) and returns the
/// bundle directory.
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
    head(&source, 400, &data);
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

/// Rows to score: test rows without the target, plus a row with missing values and an
/// unseen category.
fn score_rows(dir: &Path, regression: bool) -> PathBuf {
    let to = dir.join(if regression {
        "diabetes-in.csv"
    } else {
        "adult-in.csv"
    });
    if regression {
        let text = std::fs::read_to_string(Path::new(DIABETES).join("diabetes.csv")).unwrap();
        let lines: Vec<String> = text
            .lines()
            .skip(400)
            .take(40)
            .map(|l| l.rsplit_once(',').map(|(a, _)| a.to_string()).unwrap())
            .collect();
        let header = text.lines().next().unwrap().rsplit_once(',').unwrap().0;
        std::fs::write(&to, format!("{header}\n{}\n", lines.join("\n"))).unwrap();
    } else {
        let text = std::fs::read_to_string(Path::new(ADULT).join("adult_test.csv")).unwrap();
        let mut lines: Vec<String> = text
            .lines()
            .take(41)
            .map(|l| l.rsplit_once(',').map(|(a, _)| a.to_string()).unwrap())
            .collect();
        lines.push(
            "33,,120000,Bachelors,13,Married-civ-spouse,,Husband,White,Male,0,0,40,Atlantis".into(),
        );
        std::fs::write(&to, lines.join("\n") + "\n").unwrap();
    }
    to
}

/// The rows of a CSV file as JSON objects typed as a client would send them: numbers as
/// numbers, text as strings, empty fields as null.
fn json_rows(csv: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(csv).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            let obj: serde_json::Map<String, Value> = header
                .iter()
                .zip(l.split(','))
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

/// What `slipway predict` writes for `input`.
fn predicted(bundle: &Path, input: &Path, dir: &Path) -> Table {
    let out = dir.join("predicted.parquet");
    Engine::new(EngineOptions::default())
        .predict(bundle, input, &out, &PredictOptions::default())
        .expect("predict");
    ingest::read_table(&out, &ReadOptions::default()).expect("read predictions")
}

struct Server {
    router: Router,
    serving: Arc<Serving>,
}

async fn serve_bundle(
    bundle: &Path,
    name: &str,
    log_store: Option<LogStore>,
    options: ServingOptions,
) -> Server {
    let serving = Serving::start(
        vec![DeploymentSpec {
            name: name.into(),
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
    headers: HeaderMap,
    body: Value,
    text: String,
}

async fn send(
    router: &Router,
    method: &str,
    uri: &str,
    content_type: &str,
    body: String,
) -> Answer {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", content_type)
        .body(Body::from(body))
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text,
    }
}

async fn post(router: &Router, uri: &str, body: Value) -> Answer {
    send(router, "POST", uri, "application/json", body.to_string()).await
}

async fn get(router: &Router, uri: &str) -> Answer {
    let req = Request::builder().uri(uri).body(Body::empty()).unwrap();
    let resp = router.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

fn float_bits(v: &Value) -> u64 {
    v.as_f64().expect("a number").to_bits()
}

/// Checks every protocol's answer for `rows` against `expected` (what predict wrote).
async fn check_protocols(server: &Server, rows: &[Value], expected: &Table, family: &str) {
    let names: Vec<String> = expected
        .schema()
        .names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let regression = names.iter().any(|n| n == "prediction")
        && !names.iter().any(|n| n.starts_with("probability_"));
    // Plain, all rows at once.
    let a = post(&server.router, "/predict", json!({ "rows": rows })).await;
    assert_eq!(a.status, StatusCode::OK, "{family}: {}", a.text);
    let preds = a.body["predictions"].as_array().expect("predictions");
    assert_eq!(preds.len(), expected.n_rows(), "{family}");
    for (i, p) in preds.iter().enumerate() {
        assert!(p["prediction_id"].as_str().is_some_and(|s| s.len() == 36));
        if regression {
            let want = expected.numeric_values("prediction").unwrap()[i];
            assert_eq!(
                float_bits(&p["prediction"]),
                want.to_bits(),
                "{family} row {i}"
            );
        } else {
            let want = expected.display_value("prediction", i).unwrap().unwrap();
            assert_eq!(
                p["prediction"].to_string().trim_matches('"'),
                want,
                "{family} row {i}"
            );
            for n in names.iter().filter(|n| n.starts_with("probability_")) {
                let class = &n["probability_".len()..];
                let want = expected.numeric_values(n).unwrap()[i];
                assert_eq!(
                    float_bits(&p["probabilities"][class]),
                    want.to_bits(),
                    "{family} row {i} class {class}"
                );
            }
        }
    }
    // One row alone gives the same answer as within the batch.
    let one = post(&server.router, "/predict", rows[3].clone()).await;
    assert_eq!(one.status, StatusCode::OK, "{family}: {}", one.text);
    assert_eq!(one.body["prediction"], preds[3]["prediction"], "{family}");
    assert_eq!(
        one.body["probabilities"], preds[3]["probabilities"],
        "{family}"
    );
    // MLflow dataframe_split and records, and v2 with one tensor per column.
    let cols: Vec<String> = rows[0].as_object().unwrap().keys().cloned().collect();
    let data: Vec<Vec<Value>> = rows
        .iter()
        .map(|r| cols.iter().map(|c| r[c].clone()).collect())
        .collect();
    let split = post(
        &server.router,
        "/invocations",
        json!({"dataframe_split": {"columns": cols, "data": data}}),
    )
    .await;
    assert_eq!(split.status, StatusCode::OK, "{family}: {}", split.text);
    let records = post(
        &server.router,
        "/invocations",
        json!({ "dataframe_records": rows }),
    )
    .await;
    assert_eq!(split.body, records.body, "{family}");
    let mlflow = split.body["predictions"].as_array().unwrap();
    for (i, p) in preds.iter().enumerate() {
        if regression {
            assert_eq!(float_bits(&mlflow[i]), float_bits(&p["prediction"]));
        } else {
            assert_eq!(mlflow[i], p["prediction"], "{family} row {i}");
        }
    }
    let tensors: Vec<Value> = cols
        .iter()
        .map(|c| {
            let values: Vec<Value> = rows.iter().map(|r| r[c].clone()).collect();
            let datatype = if values.iter().any(Value::is_string) {
                "BYTES"
            } else {
                "FP64"
            };
            let values: Vec<Value> = if datatype == "BYTES" {
                values
                    .into_iter()
                    .map(|v| {
                        if v.is_number() {
                            json!(v.to_string())
                        } else {
                            v
                        }
                    })
                    .collect()
            } else {
                values
            };
            json!({"name": c, "shape": [rows.len()], "datatype": datatype, "data": values})
        })
        .collect();
    let v2 = post(
        &server.router,
        &format!("/v2/models/{family}/infer"),
        json!({"id": "r1", "inputs": tensors}),
    )
    .await;
    assert_eq!(v2.status, StatusCode::OK, "{family}: {}", v2.text);
    assert_eq!(v2.body["id"], "r1");
    let out = &v2.body["outputs"][0]["data"];
    for (i, p) in preds.iter().enumerate() {
        if regression {
            assert_eq!(float_bits(&out[i]), float_bits(&p["prediction"]));
        } else {
            assert_eq!(
                out[i].to_string().trim_matches('"'),
                p["prediction"].to_string().trim_matches('"')
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_answers_over_http_what_predict_writes() {
    let dir = tempfile::tempdir().unwrap();
    let families: &[(&str, &str, bool)] = &[
        ("gbdt", "{n_estimators: 20, num_leaves: 15}", false),
        ("logistic_regression", "{c: 1.0}", false),
        ("random_forest", "{n_estimators: 10}", false),
        ("extra_trees", "{n_estimators: 10}", false),
        ("decision_tree", "{max_depth: 6}", false),
        ("k_neighbors", "{n_neighbors: 5}", false),
        ("gaussian_nb", "{}", false),
        ("mlp", "{hidden_layer_sizes: [8], max_epochs: 30}", false),
        ("svm", "{c: 1.0}", false),
        ("linear_regression", "{}", true),
        ("gbdt", "{n_estimators: 20}", true),
        ("elastic_net", "{alpha: 0.1}", true),
    ];
    for (family, params, regression) in families {
        let sub = dir.path().join(format!("{family}-{regression}"));
        std::fs::create_dir_all(&sub).unwrap();
        let bundle = train(&sub, family, params, *regression);
        let input = score_rows(&sub, *regression);
        let expected = predicted(&bundle, &input, &sub);
        let rows = json_rows(&input);
        let server = serve_bundle(&bundle, family, None, ServingOptions::default()).await;
        check_protocols(&server, &rows, &expected, family).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_get_clear_4xx_answers() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = train(dir.path(), "gbdt", "{n_estimators: 10}", false);
    let rows = json_rows(&score_rows(dir.path(), false));
    let options = ServingOptions {
        max_rows: 50,
        max_body_bytes: 64 * 1024,
        ..ServingOptions::default()
    };
    let s = serve_bundle(&bundle, "adult", None, options).await;
    let r = &s.router;

    // A missing column: 422 naming it.
    let mut row = rows[0].clone();
    row.as_object_mut().unwrap().remove("age");
    let a = post(r, "/predict", row).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.body["field"], "age", "{}", a.text);
    assert!(
        a.body["message"].as_str().unwrap().contains("integer")
            || a.body["message"].as_str().unwrap().contains("age")
    );

    // A value of the wrong type in row 2: 422 naming the column and the row.
    let mut bad = rows[..4].to_vec();
    bad[2]["hours_per_week"] = json!("forty");
    let a = post(r, "/predict", json!({ "rows": bad })).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.body["field"], "hours_per_week");
    assert_eq!(a.body["row"], 2);
    assert!(
        a.body["message"].as_str().unwrap().contains("forty"),
        "{}",
        a.text
    );

    // Infinity and NaN as text are not numbers.
    for v in ["inf", "NaN", "-Infinity"] {
        let mut row = rows[0].clone();
        row["capital_gain"] = json!(v);
        let a = post(r, "/predict", row).await;
        assert_eq!(
            a.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{v}: {}",
            a.text
        );
        assert_eq!(a.body["field"], "capital_gain");
    }
    // A bare NaN is not JSON.
    let a = send(
        r,
        "POST",
        "/predict",
        "application/json",
        r#"{"age": NaN}"#.into(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);

    // Nested values, the wrong shape, no rows, not JSON, the wrong content type.
    let mut row = rows[0].clone();
    row["age"] = json!([1, 2]);
    assert_eq!(
        post(r, "/predict", row).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(r, "/predict", json!(42)).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(r, "/predict", json!({"rows": []})).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(r, "/predict", json!({"rows": [1, 2]})).await.status,
        StatusCode::BAD_REQUEST
    );
    let a = send(
        r,
        "POST",
        "/predict",
        "application/json",
        "{\"age\":".into(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    let a = send(r, "POST", "/predict", "text/plain", rows[0].to_string()).await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Too many rows, too many bytes.
    let many: Vec<Value> = (0..51).map(|i| rows[i % rows.len()].clone()).collect();
    let a = post(r, "/predict", json!({ "rows": many })).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text);
    let big = json!({"rows": [{"age": 30, "pad": "x".repeat(70 * 1024)}]});
    assert_eq!(
        post(r, "/predict", big).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );

    // Extra columns are ignored and listed; an unseen category is scored.
    let mut row = rows[0].clone();
    row["native_country"] = json!("Atlantis");
    row["customer_id"] = json!("c-1");
    let a = post(r, "/predict", row).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["ignored_columns"], json!(["customer_id", "fnlwgt"]));
    assert_eq!(
        a.headers.get("slipway-ignored-columns").unwrap(),
        "customer_id,fnlwgt"
    );

    // MLflow: two payload keys, unknown keys, params, CSV.
    let a = post(
        r,
        "/invocations",
        json!({"instances": [rows[0]], "inputs": [rows[0]]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    let a = post(r, "/invocations", json!({"rows": [rows[0]]})).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = post(
        r,
        "/invocations",
        json!({"instances": [rows[0]], "params": {"x": 1}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let csv = std::fs::read_to_string(score_rows(dir.path(), false)).unwrap();
    let a = send(r, "POST", "/invocations", "text/csv", csv.clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["predictions"].as_array().unwrap().len(), rows.len());
    let short = format!("{}\n1,2,3\n", csv.lines().next().unwrap());
    let a = send(r, "POST", "/invocations", "text/csv", short).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert!(a.text.contains("3 fields"), "{}", a.text);
    let a = send(r, "POST", "/invocations", "text/csv", "age\n30\n".into()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.body["field"], "capital_gain", "{}", a.text);
    let a = post(
        r,
        "/invocations",
        json!({"dataframe_split": {"columns": ["age", "age"], "data": [[1, 2]]}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);

    // v2: a 2-D tensor of the wrong width, a shape that does not match its data, an
    // unknown datatype, a version not served, an unknown model.
    let a = post(
        r,
        "/v2/models/adult/infer",
        json!({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1, 2, 3]}]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert!(a.body["error"].is_string());
    let a = post(
        r,
        "/v2/models/adult/infer",
        json!({"inputs": [{"name": "age", "shape": [2], "datatype": "INT64", "data": [1]}]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    let a = post(
        r,
        "/v2/models/adult/infer",
        json!({"inputs": [{"name": "age", "shape": [1], "datatype": "COMPLEX", "data": [1]}]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = post(
        r,
        "/v2/models/adult/infer",
        json!({"inputs": [{"name": "age", "shape": [1], "datatype": "INT64", "data": ["x"]}]}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        get(r, "/v2/models/adult/versions/9").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(r, "/v2/models/nope").await.status,
        StatusCode::NOT_FOUND
    );
    let a = post(r, "/predict?model=nope", rows[0].clone()).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // Feedback with no prediction log is refused, not dropped.
    let a = post(r, "/feedback", json!({"prediction_id": "x", "label": 1})).await;
    assert_eq!(a.status, StatusCode::CONFLICT);

    // Metrics count the errors; readiness and metadata answer.
    let m = get(r, "/metrics").await;
    assert_eq!(m.status, StatusCode::OK);
    assert!(
        m.text.contains(
            "slipway_request_client_errors_total{model=\"adult\",version=\"1\",protocol=\"plain\"}"
        ),
        "{}",
        m.text
    );
    assert_eq!(get(r, "/ready").await.status, StatusCode::OK);
    assert_eq!(get(r, "/v2/health/ready").await.status, StatusCode::OK);
    let meta = get(r, "/v2/models/adult").await;
    assert_eq!(
        meta.body["inputs"].as_array().unwrap().len(),
        13,
        "{}",
        meta.text
    );
    let doc = get(r, "/openapi.json").await;
    assert!(doc.body["paths"]["/v2/models/{name}/infer"]["post"].is_object());
    // Every listed route answers, none with a 5xx, even to an empty object.
    for (path, ops) in doc.body["paths"].as_object().unwrap() {
        let concrete = path.replace("{name}", "adult").replace("{version}", "1");
        for method in ops.as_object().unwrap().keys() {
            let a = send(
                r,
                &method.to_uppercase(),
                &concrete,
                "application/json",
                if method == "post" {
                    "{}".into()
                } else {
                    String::new()
                },
            )
            .await;
            assert_ne!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(
                a.status,
                StatusCode::NOT_FOUND,
                "{method} {path}: {}",
                a.text
            );
            assert!(!a.status.is_server_error(), "{method} {path}: {}", a.text);
        }
    }
    assert!(s.serving.ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_get_their_own_rows_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = train(dir.path(), "logistic_regression", "{c: 1.0}", false);
    let rows = json_rows(&score_rows(dir.path(), false));
    let s = serve_bundle(&bundle, "m", None, ServingOptions::default()).await;
    // Each row's answer alone.
    let mut alone = Vec::new();
    for r in &rows {
        let a = post(&s.router, "/predict", r.clone()).await;
        alone.push(a.body["probabilities"].clone());
    }
    let mut tasks = Vec::new();
    for t in 0..32usize {
        let router = s.router.clone();
        let rows = rows.clone();
        let alone = alone.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..8 {
                // A different slice of rows per request, rotated.
                let start = (t * 7 + k * 3) % rows.len();
                let n = 1 + (t + k) % 9;
                let idx: Vec<usize> = (0..n).map(|j| (start + j) % rows.len()).collect();
                let body =
                    json!({"rows": idx.iter().map(|&i| rows[i].clone()).collect::<Vec<_>>()});
                let a = post(&router, "/predict", body).await;
                assert_eq!(a.status, StatusCode::OK);
                let preds = a.body["predictions"].as_array().unwrap();
                assert_eq!(preds.len(), n);
                for (p, &i) in preds.iter().zip(&idx) {
                    assert_eq!(p["probabilities"], alone[i], "task {t} request {k} row {i}");
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predictions_are_logged_joined_with_feedback_and_exported() {
    logged_joined_and_exported(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predictions_are_logged_indexed_joined_with_feedback_and_exported() {
    logged_joined_and_exported(true).await;
}

/// Logs predictions to a folder (listed by readers) or, `indexed`, to a folder indexed in a
/// SQLite metadata store; feedback and export work the same either way.
async fn logged_joined_and_exported(indexed: bool) {
    let dir = tempfile::tempdir().unwrap();
    let bundle = train(dir.path(), "gbdt", "{n_estimators: 10}", false);
    let rows = json_rows(&score_rows(dir.path(), false));
    let log = dir.path().join("log");
    let options = ServingOptions {
        log: LogOptions {
            segment_rows: 25,
            ..LogOptions::default()
        },
        ..ServingOptions::default()
    };
    let index: Option<Arc<dyn MetadataStore>> = if indexed {
        Some(Arc::new(
            SqliteStore::open(&dir.path().join("meta.db"))
                .await
                .expect("metadata store"),
        ))
    } else {
        None
    };
    let store = LogStore {
        artifacts: slipway_server::open_local_artifacts(log.clone())
            .await
            .expect("log store"),
        index: index.clone(),
    };
    let s = serve_bundle(&bundle, "adult", Some(store.clone()), options).await;
    let a = post(&s.router, "/predict", json!({ "rows": rows })).await;
    assert_eq!(a.status, StatusCode::OK);
    let ids: Vec<String> = a.body["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["prediction_id"].as_str().unwrap().to_string())
        .collect();
    let one = post(
        &s.router,
        "/invocations",
        json!({"dataframe_records": [rows[0]]}),
    )
    .await;
    assert_eq!(one.status, StatusCode::OK);
    s.serving.flush_log().await;
    // No temporary files are left, only whole segments.
    let mut files = Vec::new();
    let mut stack = vec![log.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert!(!files.is_empty());
    assert!(
        files
            .iter()
            .all(|f| f.extension().is_some_and(|e| e == "parquet")),
        "{files:?}"
    );

    // Feedback: known ids are accepted, unknown and malformed ones reported.
    let fb = post(
        &s.router,
        "/feedback",
        json!({"feedback": [
            {"prediction_id": ids[0], "label": 1},
            {"prediction_id": ids[1], "label": "0"},
            {"prediction_id": "0190f5c2-0000-7000-8000-000000000000", "label": 1},
            {"prediction_id": "not-an-id", "label": 1}
        ]}),
    )
    .await;
    assert_eq!(fb.status, StatusCode::OK, "{}", fb.text);
    assert_eq!(fb.body["accepted"], 2);
    assert_eq!(fb.body["unknown_ids"].as_array().unwrap().len(), 2);
    let none = post(
        &s.router,
        "/feedback",
        json!({"prediction_id": "0190f5c2-0000-7000-8000-000000000000", "label": 1}),
    )
    .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    let m = get(&s.router, "/metrics").await;
    assert!(
        m.text.contains(&format!(
            "slipway_prediction_log_written_rows_total {}",
            rows.len() + 1
        )),
        "{}",
        m.text
    );
    assert!(m.text.contains("slipway_prediction_log_shed_rows_total 0"));
    if let Some(index) = &index {
        // Every segment written is indexed, with its rows and id range.
        let segs = index
            .find_log_segments(&LogSegmentQuery::all(LogSegmentKind::Predictions))
            .await
            .unwrap();
        assert_eq!(segs.len(), files.len(), "{segs:?} {files:?}");
        assert_eq!(
            segs.iter().map(|s| s.rows).sum::<i64>(),
            rows.len() as i64 + 1
        );
        assert!(
            segs.iter()
                .all(|s| s.model == "adult" && s.min_id <= s.max_id)
        );
        let fb = index
            .find_log_segments(&LogSegmentQuery::all(LogSegmentKind::Feedback))
            .await
            .unwrap();
        assert_eq!(fb.len(), 1, "one feedback segment: {fb:?}");
        assert_eq!(fb[0].rows, 2);
    }

    // Export reads it all back with the labels joined.
    let out = dir.path().join("export.parquet");
    let summary =
        slipway_server::serving::export_predictions(&store, "adult", None, None, None, &out)
            .await
            .expect("export");
    assert_eq!(summary.rows, rows.len() + 1);
    assert_eq!(summary.labelled, 2);
    let t = ingest::read_table(&out, &ReadOptions::default()).unwrap();
    let exported_ids = t.string_values("prediction_id").unwrap();
    let labels = t.string_values("label").unwrap();
    let at = exported_ids
        .iter()
        .position(|i| *i == Some(ids[0].as_str()))
        .unwrap();
    assert_eq!(labels[at], Some("1"));
    assert!(t.schema().names().contains(&"age"));
    assert!(t.schema().names().contains(&"probability_1"));
    // A time range after now holds nothing.
    let later = chrono::Utc::now().timestamp_millis() + 60_000;
    let err =
        slipway_server::serving::export_predictions(&store, "adult", None, Some(later), None, &out)
            .await
            .unwrap_err();
    assert!(err.contains("no predictions"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_move_is_followed_and_versions_are_served_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = train(
        &dir.path().join("a"),
        "logistic_regression",
        "{c: 1.0}",
        false,
    );
    let v2 = train(&dir.path().join("b"), "gbdt", "{n_estimators: 10}", false);
    let home = dir.path().join("home");
    let state = AppState::open_home(&home, Limits::default()).await.unwrap();
    // Upload both bundles and register them as versions 1 and 2.
    state
        .meta
        .create_registered_model(slipway_store::NewRegisteredModel {
            name: "churn".into(),
            description: None,
            tags: vec![],
        })
        .await
        .unwrap();
    for (i, bundle) in [&v1, &v2].iter().enumerate() {
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
    let stores = Stores {
        meta: state.meta.clone(),
        artifacts: state.artifacts.clone(),
    };
    let serving = Serving::start(
        vec![DeploymentSpec::parse_model("churn@champion").unwrap()],
        Some(stores.clone()),
        Some(LogStore {
            artifacts: state.artifacts.clone(),
            index: Some(state.meta.clone()),
        }),
        ServingOptions {
            reload_interval: std::time::Duration::from_millis(200),
            ..ServingOptions::default()
        },
    )
    .await
    .expect("serving starts");
    let mut state = state;
    state.serving = Some(serving.clone());
    let router = app(Arc::new(state));
    let rows = json_rows(&score_rows(dir.path(), false));
    let a = post(&router, "/predict", rows[0].clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["version"], "1");
    // Requests keep flowing while the alias moves; each is answered by one version.
    stores
        .meta
        .set_registered_model_alias("churn", "champion", "2")
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let a = post(&router, "/predict", rows[0].clone()).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        if a.body["version"] == "2" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the alias move was not followed within 5 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let v = get(&router, "/v2/models/churn/versions/2/ready").await;
    assert_eq!(v.status, StatusCode::OK);
    // A fixed version, and a model that does not exist, at start.
    let fixed = Serving::start(
        vec![DeploymentSpec::parse_model("churn@1").unwrap()],
        Some(stores.clone()),
        None,
        ServingOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        fixed.deployment("churn").unwrap().live().unwrap().version,
        "1"
    );
    let err = Serving::start(
        vec![DeploymentSpec::parse_model("nope@champion").unwrap()],
        Some(stores),
        None,
        ServingOptions::default(),
    )
    .await
    .err()
    .expect("a missing model stops start-up");
    assert!(err.to_string().contains("nope"), "{err}");
}

/// Reads what the server sends on `s` until it closes it or `limit` passes; the text and
/// whether it was closed.
fn read_until_closed(s: &mut std::net::TcpStream, limit: std::time::Duration) -> (String, bool) {
    use std::io::Read;
    let start = std::time::Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    s.set_read_timeout(Some(std::time::Duration::from_millis(100)))
        .expect("timeout");
    while start.elapsed() < limit {
        match s.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&out).into_owned(), true);
            }
            Err(_) => {}
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), false)
}

/// One `GET /health` on a new connection: the status line and how long it took.
fn timed_health(addr: std::net::SocketAddr) -> (String, std::time::Duration) {
    use std::io::Write;
    let start = std::time::Instant::now();
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .expect("write");
    let (text, _) = read_until_closed(&mut s, std::time::Duration::from_secs(5));
    (
        text.lines().next().unwrap_or_default().to_string(),
        start.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_on_inference_routes_time_out_while_health_stays_fast() {
    use std::io::Write;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let bundle = train(dir.path(), "logistic_regression", "{c: 1.0}", false);
    let serving = Serving::start(
        vec![DeploymentSpec {
            name: "m".into(),
            source: Source::Bundle(bundle),
        }],
        None,
        None,
        ServingOptions::default(),
    )
    .await
    .expect("serving starts");
    let http = HttpOptions {
        header_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        ..HttpOptions::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(slipway_server::serve_models(
        listener,
        serving,
        http,
        async move {
            let _ = stopped.await;
        },
    ));
    let (trickled, stalled, health) = tokio::task::spawn_blocking(move || {
        // Eight clients trickle an infer request's header a byte every 200 ms.
        let trickle: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(move || {
                    let mut s = std::net::TcpStream::connect(addr).expect("connect");
                    s.write_all(b"POST /v2/models/m/infer HTTP/1.1\r\nHost: localhost\r\n")
                        .expect("write");
                    let start = std::time::Instant::now();
                    while start.elapsed() < Duration::from_secs(10) {
                        std::thread::sleep(Duration::from_millis(200));
                        if s.write_all(b"X").is_err() {
                            return Some(start.elapsed());
                        }
                        let (_, closed) = read_until_closed(&mut s, Duration::from_millis(1));
                        if closed {
                            return Some(start.elapsed());
                        }
                    }
                    None
                })
            })
            .collect();
        // One sends a whole header and then stalls its body.
        let stall = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).expect("connect");
            s.write_all(
                b"POST /invocations HTTP/1.1\r\nHost: localhost\r\n\
                  Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"dataframe_records\":",
            )
            .expect("write");
            read_until_closed(&mut s, Duration::from_secs(10)).0
        });
        // Meanwhile /health answers at once, every time.
        std::thread::sleep(Duration::from_millis(300));
        let health: Vec<(String, Duration)> = (0..10)
            .map(|_| {
                std::thread::sleep(Duration::from_millis(100));
                timed_health(addr)
            })
            .collect();
        let trickled: Vec<Option<Duration>> =
            trickle.into_iter().map(|t| t.join().expect("join")).collect();
        (trickled, stall.join().expect("join"), health)
    })
    .await
    .expect("join");
    for t in &trickled {
        let took = t.expect("a trickled infer header must be cut off");
        assert!(took < Duration::from_secs(5), "{took:?}");
    }
    assert!(stalled.starts_with("HTTP/1.1 408"), "{stalled}");
    for (status, took) in &health {
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(*took < Duration::from_millis(500), "/health took {took:?}");
    }
    let _ = stop.send(());
}
