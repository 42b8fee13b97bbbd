//! An online model (`type: online`) trained, served and learning from `/feedback`: labelled
//! feedback for rows the model got wrong moves its served predictions, the number of
//! updates shows on `/metrics`, the learned state is checkpointed and found again by a
//! restarted server, and hostile feedback (unknown ids, labels that are no class or not a
//! label at all, feedback for a model that is not online) gets a 4xx or a reported no-op.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use slipway_engine::{Engine, EngineOptions, NoProgress, PipelineConfig};
use slipway_server::serving::{
    DeploymentSpec, LogStore, OnlineOptions, Serving, ServingOptions, Source,
};
use slipway_server::{HttpOptions, serving_app};
use tower::ServiceExt;

/// 300 rows spread over [-2, 2)² by two co-prime strides: `label` is `yes` when
/// `x1 + x2 > 0`.
fn write_data(path: &Path) {
    let mut text = String::from("x1,x2,label\n");
    for i in 0..300u64 {
        let x1 = ((i * 37 + 11) % 101) as f64 / 25.25 - 2.0;
        let x2 = ((i * 61 + 5) % 97) as f64 / 24.25 - 2.0;
        let label = if x1 + x2 > 0.0 { "yes" } else { "no" };
        text.push_str(&format!("{x1:.4},{x2:.4},{label}\n"));
    }
    std::fs::write(path, text).unwrap();
}

fn train(dir: &Path, name: &str, model: &str) -> (PathBuf, slipway_engine::TrainOutcome) {
    std::fs::create_dir_all(dir).unwrap();
    let data = dir.join("stream.csv");
    write_data(&data);
    let yaml = format!(
        "name: {name}\ndata:\n  train: {}\ntarget: label\nmodels:\n  - name: m\n{model}cv:\n  folds: 2\nseed: 7\noutput: {}\n",
        data.display(),
        dir.join(name).display()
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, &yaml).unwrap();
    let cfg = PipelineConfig::parse(&yaml, &path).expect("config parses");
    let out = Engine::new(EngineOptions::default())
        .train(&cfg, Some(&yaml), &NoProgress)
        .expect("train");
    (out.bundle.clone().expect("a bundle"), out)
}

struct Answer {
    status: StatusCode,
    body: Value,
    text: String,
}

async fn send(router: &Router, method: &str, uri: &str, body: Option<Value>) -> Answer {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let resp = router.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn post(router: &Router, uri: &str, body: Value) -> Answer {
    send(router, "POST", uri, Some(body)).await
}

async fn start(deployments: &[(&str, &Path)], log: &Path, state: &Path) -> (Router, Arc<Serving>) {
    let store = LogStore {
        artifacts: slipway_server::open_local_artifacts(log.to_path_buf())
            .await
            .unwrap(),
        index: None,
    };
    let options = ServingOptions {
        online: OnlineOptions {
            checkpoint_dir: Some(state.to_path_buf()),
            checkpoint_every: 100,
        },
        ..ServingOptions::default()
    };
    let specs = deployments
        .iter()
        .map(|(name, bundle)| DeploymentSpec {
            name: (*name).into(),
            source: Source::Bundle(bundle.to_path_buf()),
        })
        .collect();
    let serving = Serving::start(specs, None, Some(store), options)
        .await
        .expect("serving starts");
    (
        serving_app(serving.clone(), &HttpOptions::default()),
        serving,
    )
}

/// Points deep in the `no` region.
const WRONG: [(f64, f64); 4] = [(-1.5, -1.5), (-1.2, -1.7), (-1.7, -1.1), (-1.4, -1.3)];

async fn predict(router: &Router, model: &str, repeat: usize) -> (Vec<String>, Vec<String>) {
    let rows: Vec<Value> = (0..repeat)
        .flat_map(|_| WRONG.iter().map(|(a, b)| json!({"x1": a, "x2": b})))
        .collect();
    let a = post(
        router,
        &format!("/predict?model={model}"),
        json!({ "rows": rows }),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let preds = a.body["predictions"].as_array().expect("predictions");
    let labels = preds
        .iter()
        .map(|p| p["prediction"].as_str().unwrap().to_string())
        .collect();
    let ids = preds
        .iter()
        .map(|p| p["prediction_id"].as_str().unwrap().to_string())
        .collect();
    (labels, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_model_learns_from_feedback_while_serving_and_keeps_it_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let (online, outcome) = train(
        &dir.path().join("online"),
        "stream",
        "    type: online\n    params: {learner: hoeffding_tree}\n",
    );
    // Progressive validation of the training pass is reported beside the holdout.
    let p = outcome.online.as_ref().expect("progressive metrics");
    assert_eq!(p.learner, "hoeffding_tree");
    assert_eq!(p.rows as usize, outcome.train_rows);
    assert!(p.progressive_accuracy > 0.6, "{p:?}");
    assert!(p.progressive_log_loss.is_finite());
    let (fixed, _) = train(
        &dir.path().join("fixed"),
        "fixed",
        "    type: logistic_regression\n",
    );
    let log = dir.path().join("log");
    let state = dir.path().join("online-state");
    let (router, serving) = start(&[("stream", &online), ("fixed", &fixed)], &log, &state).await;

    let (before, _) = predict(&router, "stream", 1).await;
    assert!(before.iter().all(|l| l == "no"), "{before:?}");
    // 100 predictions of each point, each told its label is `yes`.
    let (_, ids) = predict(&router, "stream", 100).await;
    assert_eq!(ids.len(), 400);
    let feedback: Vec<Value> = ids
        .iter()
        .map(|id| json!({"prediction_id": id, "label": "yes"}))
        .collect();
    let fb = post(&router, "/feedback", json!({ "feedback": feedback })).await;
    assert_eq!(fb.status, StatusCode::OK, "{}", fb.text);
    assert_eq!(fb.body["accepted"], 400);
    assert_eq!(fb.body["learned"], 400, "{}", fb.text);
    assert_eq!(fb.body["not_learned"], json!([]));
    let (after, _) = predict(&router, "stream", 1).await;
    assert!(
        after.iter().all(|l| l == "yes"),
        "the served predictions moved: {after:?}"
    );
    let m = send(&router, "GET", "/metrics", None).await;
    assert!(
        m.text
            .contains("slipway_online_updates_total{model=\"stream\",version=\"1\"} 400"),
        "{}",
        m.text
    );
    // Checkpointed every 100 updates.
    let learner = serving.deployment("stream").unwrap().live().unwrap();
    let file = learner.model.online().unwrap().checkpoint_file().unwrap();
    assert!(
        file.starts_with(&state) && file.exists(),
        "{}",
        file.display()
    );

    // Hostile feedback: never a 500.
    let (_, one) = predict(&router, "stream", 1).await;
    let bad_label = post(
        &router,
        "/feedback",
        json!({"prediction_id": one[0], "label": "maybe"}),
    )
    .await;
    assert_eq!(bad_label.status, StatusCode::OK, "{}", bad_label.text);
    assert_eq!(bad_label.body["learned"], 0);
    let reason = bad_label.body["not_learned"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("\"maybe\"") && reason.contains("no, yes"),
        "{reason}"
    );
    let wrong_type = post(
        &router,
        "/feedback",
        json!({"prediction_id": one[1], "label": {"class": "yes"}}),
    )
    .await;
    assert_eq!(
        wrong_type.status,
        StatusCode::BAD_REQUEST,
        "{}",
        wrong_type.text
    );
    assert!(wrong_type.text.contains("label"), "{}", wrong_type.text);
    let unknown = post(
        &router,
        "/feedback",
        json!({"prediction_id": "0190f5c2-0000-7000-8000-000000000000", "label": "yes"}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    let (_, fixed_ids) = predict(&router, "fixed", 1).await;
    let not_online = post(
        &router,
        "/feedback",
        json!({"prediction_id": fixed_ids[0], "label": "yes"}),
    )
    .await;
    assert_eq!(not_online.status, StatusCode::OK, "{}", not_online.text);
    assert_eq!(not_online.body["accepted"], 1, "recorded as before");
    assert_eq!(not_online.body["learned"], 0);
    let reason = not_online.body["not_learned"][0]["reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains("not an online model"), "{reason}");
    for a in [&bad_label, &wrong_type, &unknown, &not_online] {
        assert!(!a.text.contains("internal"), "{}", a.text);
    }

    // Restart: shutdown writes the state, a new server finds it.
    serving.flush_log().await;
    serving.checkpoint_online().await;
    drop(router);
    drop(serving);
    let (router, _serving) = start(&[("stream", &online)], &log, &state).await;
    let (again, _) = predict(&router, "stream", 1).await;
    assert_eq!(again, after, "the learned state survived the restart");
    let m = send(&router, "GET", "/metrics", None).await;
    assert!(
        m.text
            .contains("slipway_online_updates_total{model=\"stream\",version=\"1\"} 400"),
        "{}",
        m.text
    );
}
