//! Serving a model with per-group thresholds (`fairness: {mitigation: {method:
//! threshold_optimizer}}`): every protocol answers the thresholds' decision, drawn from the
//! prediction id (so it can be recomputed from the log), keeps the raw scores as the
//! probabilities, and a request without the protected field, with a group the thresholds do
//! not know, or with a hostile value gets a 4xx naming the field, never a 500.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use slipway_engine::postprocess::PostProcessor;
use slipway_engine::{Engine, EngineOptions, NoProgress, PipelineConfig};
use slipway_govern::mitigation::thresholds::keyed_draw;
use slipway_server::serving::{DeploymentSpec, Serving, ServingOptions, Source};
use slipway_server::{HttpOptions, serving_app};
use tower::ServiceExt;

const ADULT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/adult");

fn train(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(Path::new(ADULT).join("adult_train.csv")).unwrap();
    let lines: Vec<&str> = text.lines().take(801).collect();
    let data = dir.join("train.csv");
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let yaml = format!(
        "name: fair\ndata:\n  train: {}\ntarget: income\nroles:\n  protected: [sex]\n  ignored: [fnlwgt, race]\nmodels:\n  - name: m\n    type: gbdt\n    params: {{n_estimators: 10}}\ncv:\n  folds: 2\nseed: 7\noutput: {}\nfairness:\n  mitigation: {{method: threshold_optimizer, protected: sex, constraint: demographic_parity}}\n",
        data.display(),
        dir.join("out").display()
    );
    let path = dir.join("fair.yaml");
    let cfg = PipelineConfig::parse(&yaml, &path).expect("config parses");
    let out = Engine::new(EngineOptions::default())
        .train(&cfg, Some(&yaml), &NoProgress)
        .expect("train");
    out.bundle.expect("bundle")
}

/// Test rows as JSON objects (without the target).
fn rows(n: usize) -> Vec<Value> {
    let text = std::fs::read_to_string(Path::new(ADULT).join("adult_test.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .take(n)
        .map(|l| {
            let obj: serde_json::Map<String, Value> = header
                .iter()
                .zip(l.split(','))
                .filter(|(h, _)| **h != "income")
                .map(|(h, v)| {
                    let value = if v.is_empty() {
                        Value::Null
                    } else if let Ok(i) = v.parse::<i64>() {
                        json!(i)
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

struct Answer {
    status: StatusCode,
    body: Value,
    text: String,
}

async fn send(router: &Router, uri: &str, content_type: &str, body: String) -> Answer {
    let req = Request::builder()
        .method("POST")
        .uri(uri)
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
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
    send(router, uri, "application/json", body.to_string()).await
}

fn refused(a: &Answer, what: &str) {
    assert!(
        a.status.is_client_error(),
        "{what}: {} {}",
        a.status,
        a.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresholds_decide_every_protocol_and_hostile_inputs_get_4xx() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = train(dir.path());
    let post_file: PostProcessor = slipway_engine::postprocess::read_from_bundle(&bundle)
        .unwrap()
        .expect("the bundle has thresholds");
    let serving: Arc<Serving> = Serving::start(
        vec![DeploymentSpec {
            name: "fair".into(),
            source: Source::Bundle(bundle.clone()),
        }],
        None,
        None,
        ServingOptions::default(),
    )
    .await
    .expect("serving starts");
    let r = serving_app(serving.clone(), &HttpOptions::default());
    let rows = rows(60);

    // Each decision is the rule's probability against the draw of its prediction id.
    let a = post(&r, "/predict", json!({ "rows": rows })).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let preds = a.body["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), rows.len());
    let mut uncertain = 0;
    for (row, p) in rows.iter().zip(preds) {
        let id = uuid::Uuid::parse_str(p["prediction_id"].as_str().unwrap()).unwrap();
        let score = p["probabilities"]["1"].as_f64().unwrap();
        let group = row["sex"].as_str().unwrap();
        let q = post_file.rule.probability(group, score).unwrap();
        uncertain += usize::from(q > 0.0 && q < 1.0);
        let want = if q >= keyed_draw(post_file.seed, id.as_u128()) {
            "1"
        } else {
            "0"
        };
        assert_eq!(p["prediction"].to_string().trim_matches('"'), want, "{p}");
    }
    assert!(uncertain < rows.len(), "some rows are decided for certain");

    // MLflow and V2 answer with the thresholds too (labels 0 / 1).
    let a = post(&r, "/invocations", json!({ "dataframe_records": rows })).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["predictions"].as_array().unwrap().len(), rows.len());

    // The protected field missing: 422 naming it and the rule, on every protocol.
    let mut no_sex = rows[0].clone();
    no_sex.as_object_mut().unwrap().remove("sex");
    let a = post(&r, "/predict", no_sex.clone()).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.body["field"], "sex", "{}", a.text);
    let msg = a.body["message"].as_str().unwrap();
    assert!(
        msg.contains("threshold_optimizer") && msg.contains("not a feature"),
        "{msg}"
    );
    let a = post(&r, "/invocations", json!({ "dataframe_records": [no_sex] })).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    let obj = rows[0].as_object().unwrap();
    let header: Vec<&str> = obj
        .keys()
        .filter(|k| *k != "sex")
        .map(String::as_str)
        .collect();
    let line: Vec<String> = header
        .iter()
        .map(|k| match &obj[*k] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            v => v.to_string(),
        })
        .collect();
    let csv = format!("{}\n{}\n", header.join(","), line.join(","));
    let a = send(&r, "/invocations", "text/csv", csv).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);

    // A group the thresholds do not know, a missing group, hostile values: 4xx, named.
    for (what, v) in [
        ("unseen", json!("Alien")),
        ("null", Value::Null),
        ("number", json!(12)),
        ("object", json!({"a": 1})),
        ("list", json!(["Male"])),
        ("long", json!("x".repeat(5000))),
        ("bool", json!(true)),
    ] {
        let mut row = rows[1].clone();
        row["sex"] = v;
        let a = post(&r, "/predict", row).await;
        refused(&a, what);
        if a.status == StatusCode::UNPROCESSABLE_ENTITY {
            assert_eq!(a.body["field"], "sex", "{what}: {}", a.text);
        }
        assert!(a.text.len() < 2000, "{what}: the answer echoes no bulk");
    }
    // A batch with one bad group is refused whole, naming the row.
    let mut batch = rows[..5].to_vec();
    batch[3]["sex"] = json!("Alien");
    let a = post(&r, "/predict", json!({ "rows": batch })).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert!(
        a.body["message"]
            .as_str()
            .unwrap()
            .contains("row 3: group \"Alien\""),
        "{}",
        a.text
    );
}
