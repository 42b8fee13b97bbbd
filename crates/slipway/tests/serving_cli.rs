//! `slipway serve --bundle` and `slipway serve --model` as a user runs them: start, answer
//! predictions, follow an alias moved by another process, write the prediction log on a
//! graceful stop, and `slipway predictions export` reads it back.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn slipway(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("SLIPWAY_HOME", home)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .expect("run slipway")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const BREAST: &str = "name: bc\ndata: {train: breast_cancer.csv}\ntarget: target\ntask: classification\nmodels:\n  - {name: m, type: MODEL}\ncv: {folds: 2}\nseed: 1\n";

/// Trains a breast-cancer model of `family` into `dir/out` and returns the bundle.
fn train(dir: &Path, home: &Path, family: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(
        repo().join("examples/breast_cancer/breast_cancer.csv"),
        dir.join("breast_cancer.csv"),
    )
    .unwrap();
    let cfg = dir.join("pipeline.yaml");
    std::fs::write(&cfg, BREAST.replace("MODEL", family)).unwrap();
    let out = dir.join("out");
    let o = slipway(
        home,
        &[
            "train",
            "-c",
            cfg.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--no-track",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    out.join("model")
}

/// The first data row of breast_cancer.csv without its target, as a JSON object.
fn first_row() -> Value {
    let text =
        std::fs::read_to_string(repo().join("examples/breast_cancer/breast_cancer.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let values: Vec<&str> = lines.next().unwrap().split(',').collect();
    let obj: serde_json::Map<String, Value> = header
        .iter()
        .zip(values)
        .filter(|(h, _)| **h != "target")
        .map(|(h, v)| (h.to_string(), json!(v.parse::<f64>().unwrap())))
        .collect();
    Value::Object(obj)
}

struct Server {
    child: Child,
    url: String,
    started: Instant,
    ready_after: Duration,
}

impl Server {
    fn start(home: &Path, args: &[&str]) -> Server {
        Server::start_with_env(home, args, &[])
    }

    fn start_with_env(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
            .args(["serve", "--host", "127.0.0.1", "--port", "0"])
            .args(args)
            .envs(env.iter().copied())
            .env("NO_COLOR", "1")
            .env("SLIPWAY_HOME", home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start slipway serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut log = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("http://127.0.0.1:") {
                    let _ = tx.send(Ok(line[at..]
                        .split_whitespace()
                        .next()
                        .unwrap()
                        .to_string()));
                }
                log.push_str(&line);
                log.push('\n');
            }
            let _ = tx.send(Err(log));
        });
        let url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(url)) => url,
            other => panic!("server did not start: {other:?}"),
        };
        let client = client();
        let ready_after = loop {
            if client
                .get(format!("{url}/ready"))
                .send()
                .is_ok_and(|r| r.status() == 200)
            {
                break started.elapsed();
            }
            assert!(started.elapsed() < Duration::from_secs(60), "never ready");
            std::thread::sleep(Duration::from_millis(5));
        };
        Server {
            child,
            url,
            started,
            ready_after,
        }
    }

    /// SIGTERM, then wait: a graceful stop.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!("the server did not stop on SIGTERM");
    }
}

fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn predict(url: &str, body: &Value) -> (u16, Value) {
    let r = client()
        .post(format!("{url}/predict"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

#[test]
fn serve_a_bundle_log_predictions_and_export_them() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let bundle = train(&dir.path().join("t"), &home, "logistic_regression");
    let log = dir.path().join("log");
    let s = Server::start(
        &home,
        &[
            "--bundle",
            bundle.to_str().unwrap(),
            "--prediction-log",
            log.to_str().unwrap(),
        ],
    );
    eprintln!(
        "serve --bundle: /ready answered 200 {:?} after exec (debug build)",
        s.ready_after
    );
    let row = first_row();
    let (status, body) = predict(&s.url, &row);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["model"], "bc");
    assert_eq!(body["version"], "1");
    let id = body["prediction_id"].as_str().unwrap().to_string();
    let (status, body) = predict(&s.url, &json!({"rows": [row, row]}));
    assert_eq!(status, 200, "{body}");
    let mut bad = first_row();
    bad["mean_radius"] = json!("wide");
    let (status, body) = predict(&s.url, &bad);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "mean_radius");
    // The tracking API is not there: no store.
    let r = client()
        .get(format!("{}/api/2.0/mlflow/experiments/search", s.url))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let metrics = client()
        .get(format!("{}/metrics", s.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains(
            "slipway_predicted_rows_total{model=\"bc\",version=\"1\",protocol=\"plain\"} 3"
        ),
        "{metrics}"
    );
    let _ = s.started;
    s.stop();

    let out = dir.path().join("export.csv");
    let o = slipway(
        &home,
        &[
            "predictions",
            "export",
            "--model",
            "bc",
            "--log-dir",
            log.to_str().unwrap(),
            "--since",
            "1h",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(&out).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.contains(&id));
    assert!(csv.lines().next().unwrap().contains("mean_radius"));
    let o = slipway(
        &home,
        &[
            "predictions",
            "export",
            "--model",
            "nope",
            "--log-dir",
            log.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("no predictions are logged for model 'nope'"),
        "{}",
        text(&o)
    );
}

#[test]
fn serve_a_registered_model_and_follow_its_alias_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let b1 = train(&dir.path().join("a"), &home, "logistic_regression");
    let b2 = train(&dir.path().join("b"), &home, "gbdt");
    for b in [&b1, &b2] {
        let o = slipway(
            &home,
            &[
                "models",
                "register",
                "--bundle",
                b.to_str().unwrap(),
                "--name",
                "bc",
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = slipway(&home, &["models", "alias", "bc", "champion", "1"]);
    assert!(o.status.success(), "{}", text(&o));
    // A model or alias that does not exist stops start-up with its name.
    let o = slipway(&home, &["serve", "--port", "0", "--model", "bc@nope"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("bc@nope"), "{}", text(&o));
    let o = slipway(&home, &["serve", "--port", "0", "--model", "bc"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("NAME@ALIAS"), "{}", text(&o));

    let s = Server::start(&home, &["--model", "bc@champion", "--reload-interval", "1"]);
    let row = first_row();
    let (status, body) = predict(&s.url, &row);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], "1");
    let o = slipway(&home, &["models", "alias", "bc", "champion", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let moved = Instant::now();
    loop {
        let (status, body) = predict(&s.url, &row);
        assert_eq!(status, 200, "{body}");
        if body["version"] == "2" {
            break;
        }
        assert!(
            moved.elapsed() < Duration::from_secs(5),
            "not switched within 5 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The tracking API is served by the same process.
    let r = client()
        .get(format!(
            "{}/api/2.0/mlflow/registered-models/get?name=bc",
            s.url
        ))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    s.stop();
}

/// A webhook receiver on 127.0.0.1: answers 200 to every POST and hands over each body.
fn webhook_receiver() -> (String, mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let body = loop {
                let Ok(n) = conn.read(&mut chunk) else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                let Some(end) = text.find("\r\n\r\n") else {
                    continue;
                };
                let length: usize = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    break Some(
                        String::from_utf8_lossy(&buf[end + 4..end + 4 + length]).to_string(),
                    );
                }
            };
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            if let Some(b) = body {
                let _ = tx.send(b);
            }
        }
    });
    (url, rx)
}

/// The rows of breast_cancer.csv without the target, `mean_radius` shifted by `shift`.
fn rows_shifted(shift: f64) -> Vec<Value> {
    let text =
        std::fs::read_to_string(repo().join("examples/breast_cancer/breast_cancer.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|line| {
            let obj: serde_json::Map<String, Value> = header
                .iter()
                .zip(line.split(','))
                .filter(|(h, _)| **h != "target")
                .map(|(h, v)| {
                    let x: f64 = v.parse().unwrap();
                    let x = if *h == "mean_radius" { x + shift } else { x };
                    (h.to_string(), json!(x))
                })
                .collect();
            Value::Object(obj)
        })
        .collect()
}

#[test]
fn scheduled_monitors_compare_the_log_with_the_training_profile_and_alert() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let bundle = train(&dir.path().join("t"), &home, "logistic_regression");
    let log = dir.path().join("log");
    let (hook, received) = webhook_receiver();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        format!(
            "name: bc-monitor\nallow: [\"127.0.0.1\"]\ndelivery: {{ max_attempts: 2, initial_backoff_ms: 10, max_backoff_ms: 10 }}\n\
             channels:\n  hook: {{ type: webhook, url: \"{hook}\", secret_env: HOOK_SECRET }}\n\
             rules:\n  - {{ name: radius-psi, metric: drift.psi, columns: [mean_radius], above: 0.2, window: 1, severity: critical, channels: [hook] }}\n"
        ),
    )
    .unwrap();
    let monitors = dir.path().join("monitors.yaml");
    std::fs::write(
        &monitors,
        "monitors:\n  - {name: bc-drift, model: bc, every: 1s, window: 1h, min_rows: 50, alerts: rules.yaml}\n",
    )
    .unwrap();

    // A monitor of a model the server does not serve is refused at start, naming both.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "monitors:\n  - {name: m, model: churn, every: 1m, window: 1h}\n",
    )
    .unwrap();
    let o = slipway(
        &home,
        &[
            "serve",
            "--port",
            "0",
            "--bundle",
            bundle.to_str().unwrap(),
            "--prediction-log",
            log.to_str().unwrap(),
            "--monitors",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("monitor 'm': model 'churn' is not served here (served: bc)"),
        "{}",
        text(&o)
    );
    std::fs::write(
        &bad,
        "monitors:\n  - {name: m, model: bc, every: often, window: 1h}\n",
    )
    .unwrap();
    let o = slipway(
        &home,
        &[
            "serve",
            "--bundle",
            bundle.to_str().unwrap(),
            "--prediction-log",
            log.to_str().unwrap(),
            "--monitors",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("monitors[0] \"m\": field \"every\" \"often\""),
        "{}",
        text(&o)
    );
    // Without the prediction log there is nothing to monitor.
    let o = slipway(
        &home,
        &[
            "serve",
            "--bundle",
            bundle.to_str().unwrap(),
            "--monitors",
            monitors.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("give --prediction-log"), "{}", text(&o));

    let s = Server::start_with_env(
        &home,
        &[
            "--bundle",
            bundle.to_str().unwrap(),
            "--prediction-log",
            log.to_str().unwrap(),
            "--monitors",
            monitors.to_str().unwrap(),
        ],
        &[("HOOK_SECRET", "s3cret")],
    );
    // The window's rows: every training row, with mean_radius moved by +8 (about 2.3 sd).
    let rows = rows_shifted(8.0);
    let (status, body) = predict(&s.url, &json!({ "rows": rows }));
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let run = loop {
        let listing: Value = client()
            .get(format!("{}/monitors", s.url))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let m = &listing["monitors"][0];
        assert_eq!(m["name"], "bc-drift");
        assert_eq!(m["model"], "bc");
        assert_eq!(m["every_seconds"], 1);
        if let Some(run) = m["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["status"] == "ok" && r["rows"].as_u64() == Some(rows.len() as u64))
        {
            break run.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no run compared the rows: {listing}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(run["version"], "1");
    assert_eq!(run["drifted"], true, "{run}");
    let drifted: Vec<&str> = run["drifted_features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(drifted.contains(&"mean_radius"), "{run}");
    assert!(!drifted.contains(&"mean_texture"), "{run}");
    assert_eq!(run["alerts_firing"], 1, "{run}");
    assert_eq!(run["failed_deliveries"], 0, "{run}");
    // The report is stored in the artifact store (here the prediction log's folder) and
    // holds summaries, not rows.
    let html_path = run["report_html"].as_str().unwrap();
    assert!(html_path.starts_with("_monitoring/bc-drift/"), "{run}");
    let html = std::fs::read_to_string(log.join(html_path)).unwrap();
    assert!(html.contains("mean_radius"));
    let json_path = run["report_json"].as_str().unwrap();
    let report: Value =
        serde_json::from_slice(&std::fs::read(log.join(json_path)).unwrap()).unwrap();
    assert_eq!(report["report"]["current_rows"], rows.len());
    // The webhook got the alert, signed.
    let body = received
        .recv_timeout(Duration::from_secs(30))
        .expect("the alert reached the webhook");
    let alert: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(alert["rule"], "radius-psi", "{alert}");
    assert_eq!(alert["subject"], "mean_radius", "{alert}");
    // The route is in the inference server's OpenAPI document.
    let doc: Value = client()
        .get(format!("{}/openapi.json", s.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(doc["paths"]["/monitors"]["get"].is_object());
    s.stop();
}

#[test]
fn scheduled_monitors_compute_multivariate_drift_from_a_reference_file_and_alert() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let bundle = train(&dir.path().join("t"), &home, "logistic_regression");
    let log = dir.path().join("log");
    std::fs::copy(
        repo().join("examples/breast_cancer/breast_cancer.csv"),
        dir.path().join("reference.csv"),
    )
    .unwrap();
    let (hook, received) = webhook_receiver();
    std::fs::write(
        dir.path().join("rules.yaml"),
        format!(
            "name: bc-mv\nallow: [\"127.0.0.1\"]\ndelivery: {{ max_attempts: 2, initial_backoff_ms: 10, max_backoff_ms: 10 }}\n\
             channels:\n  hook: {{ type: webhook, url: \"{hook}\", secret_env: HOOK_SECRET }}\n\
             rules:\n  - {{ name: domain-auc, metric: multivariate.domain.auc, above: 0.65, severity: critical, channels: [hook] }}\n"
        ),
    )
    .unwrap();
    // Multivariate drift with the training profile as reference is refused at start.
    let monitors = dir.path().join("monitors.yaml");
    std::fs::write(
        &monitors,
        "monitors:\n  - {name: bc-mv, model: bc, every: 1s, window: 1h, chunk_rows: 200, min_rows: 50, multivariate: [pca, domain]}\n",
    )
    .unwrap();
    let args = [
        "serve",
        "--port",
        "0",
        "--bundle",
        bundle.to_str().unwrap(),
        "--prediction-log",
        log.to_str().unwrap(),
        "--monitors",
        monitors.to_str().unwrap(),
    ];
    let o = slipway(&home, &args);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("monitors[0] \"bc-mv\": field \"multivariate\": PCA reconstruction and the domain classifier need the reference's rows"),
        "{}",
        text(&o)
    );
    // So is a rule on a method the monitor does not compute.
    std::fs::write(
        &monitors,
        "monitors:\n  - {name: bc-mv, model: bc, every: 1s, window: 1h, reference: {file: reference.csv}, multivariate: [pca], alerts: rules.yaml}\n",
    )
    .unwrap();
    let o = slipway(&home, &args);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("field \"alerts\": rule \"domain-auc\": field \"metric\": multivariate.domain.auc needs the domain multivariate run"),
        "{}",
        text(&o)
    );
    std::fs::write(
        &monitors,
        "monitors:\n  - {name: bc-mv, model: bc, every: 1s, window: 1h, chunk_rows: 200, min_rows: 50, reference: {file: reference.csv}, multivariate: [pca, domain], alerts: rules.yaml}\n",
    )
    .unwrap();
    let s = Server::start_with_env(&home, &args[3..], &[("HOOK_SECRET", "s3cret")]);
    let rows = rows_shifted(8.0);
    let (status, body) = predict(&s.url, &json!({ "rows": rows }));
    assert_eq!(status, 200, "{body}");
    let deadline = Instant::now() + Duration::from_secs(90);
    let (monitor, run) = loop {
        let listing: Value = client()
            .get(format!("{}/monitors", s.url))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let m = listing["monitors"][0].clone();
        if let Some(run) = m["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["status"] == "ok" && r["rows"].as_u64() == Some(rows.len() as u64))
        {
            break (m.clone(), run.clone());
        }
        assert!(
            Instant::now() < deadline,
            "no run compared the rows: {listing}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        monitor["multivariate"],
        json!(["pca", "domain"]),
        "{monitor}"
    );
    assert!(
        monitor["reference"]
            .as_str()
            .unwrap()
            .ends_with("reference.csv"),
        "{monitor}"
    );
    // A raw reference gives KS too, and both methods see the moved mean_radius.
    let mv = run["multivariate"].as_array().unwrap();
    assert_eq!(mv.len(), 2, "{run}");
    assert_eq!(mv[0]["method"], "pca");
    assert_eq!(mv[0]["metric"], "multivariate.pca.reconstruction_error");
    assert_eq!(mv[1]["metric"], "multivariate.domain.auc");
    assert_eq!(mv[1]["chunks"], 3, "{run}");
    assert_eq!(mv[1]["alert_chunks"], 3, "{run}");
    assert!(mv[1]["value"].as_f64().unwrap() > 0.65, "{run}");
    assert!(mv[0]["alert_chunks"].as_u64().unwrap() >= 1, "{run}");
    assert_eq!(run["alerts_firing"], 1, "{run}");
    let json_path = run["report_json"].as_str().unwrap();
    let report: Value =
        serde_json::from_slice(&std::fs::read(log.join(json_path)).unwrap()).unwrap();
    assert_eq!(report["multivariate"][1]["options"]["method"], "domain");
    assert_eq!(
        report["multivariate"][0]["chunks"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let ks = report["report"]["chunks"][0]["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["column"] == "mean_radius")
        .unwrap()["stats"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["stat"] == "ks");
    assert!(ks, "a reference of rows gives KS");
    let html = std::fs::read_to_string(log.join(run["report_html"].as_str().unwrap())).unwrap();
    assert!(html.contains("Multivariate drift: domain classifier"));
    let body = received
        .recv_timeout(Duration::from_secs(30))
        .expect("the alert reached the webhook");
    let alert: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(alert["rule"], "domain-auc", "{alert}");
    assert_eq!(alert["subject"], "all", "{alert}");
    assert_eq!(alert["metric"], "multivariate.domain.auc", "{alert}");
    s.stop();
}
