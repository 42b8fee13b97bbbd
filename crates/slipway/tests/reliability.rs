//! Reliability of a real `slipway serve` under load and under a crash.
//!
//! - 32 concurrent clients log metrics for `SLIPWAY_RELIABILITY_SECS` seconds (default 60):
//!   no request may fail, and afterwards every acknowledged metric is in the history.
//! - Clients write metrics and artifacts while the server is killed with SIGKILL; after a
//!   restart on the same home every acknowledged write is there and every listed artifact is
//!   complete (temporary files are never listed).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::{Value, json};

/// A running `slipway serve` on a free port.
struct Server {
    child: Child,
    url: String,
    log: Arc<Mutex<String>>,
}

impl Server {
    fn start(home: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
            .args(["serve", "--host", "127.0.0.1", "--port", "0", "--home"])
            .arg(home)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start slipway serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("http://127.0.0.1:") {
                    let _ = tx.send(
                        line[at..]
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_string(),
                    );
                }
                sink.lock().expect("log").push_str(&(line + "\n"));
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("server did not start: {}", log.lock().expect("log")));
        Server { child, url, log }
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/2.0/mlflow/{path}", self.url)
    }

    fn artifact(&self, path: &str) -> String {
        format!("{}/api/2.0/mlflow-artifacts/artifacts/{path}", self.url)
    }

    /// SIGKILL: no chance to finish anything.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    fn stop(mut self) -> String {
        self.child.kill().expect("stop");
        self.child.wait().expect("reap");
        self.log.lock().expect("log").clone()
    }
}

fn client() -> Client {
    // reqwest is built without a bundled TLS provider (the S3 store installs ring's).
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client")
}

fn post(c: &Client, url: &str, body: Value) -> Result<Value, String> {
    let r = c.post(url).json(&body).send().map_err(|e| e.to_string())?;
    let status = r.status();
    let text = r.text().map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{url}: {status}: {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{url}: bad JSON {e}: {text}"))
}

fn create_run(c: &Client, s: &Server, experiment: &str) -> String {
    let r = post(
        c,
        &s.api("runs/create"),
        json!({"experiment_id": experiment, "start_time": 1}),
    )
    .expect("create run");
    r["run"]["info"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string()
}

fn create_experiment(c: &Client, s: &Server, name: &str) -> String {
    let r = post(c, &s.api("experiments/create"), json!({ "name": name })).expect("experiment");
    r["experiment_id"].as_str().expect("id").to_string()
}

/// Every (step, value) logged for `key`, following pages.
fn history(c: &Client, s: &Server, run: &str, key: &str) -> BTreeSet<(i64, u64)> {
    let mut out = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = c
            .get(s.api("metrics/get-history"))
            .query(&[("run_id", run), ("metric_key", key)]);
        if let Some(t) = &token {
            req = req.query(&[("page_token", t.as_str())]);
        }
        let r: Value = req.send().expect("history").json().expect("history JSON");
        for m in r["metrics"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let step = m["step"].as_i64().unwrap_or(0);
            let value = m["value"].as_f64().expect("value");
            out.insert((step, value.to_bits()));
        }
        match r["next_page_token"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return out,
        }
    }
}

fn reliability_secs() -> u64 {
    std::env::var("SLIPWAY_RELIABILITY_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60)
}

const KEYS: [&str; 3] = ["loss", "accuracy", "lr"];

/// What one client saw acknowledged: key → {(step, value bits)}.
type Acked = BTreeMap<String, BTreeSet<(i64, u64)>>;

/// Logs batches until `stop`; returns (acknowledged metrics, errors).
fn metric_writer(c: &Client, s_api: &str, run: &str, stop: &AtomicBool) -> (Acked, Vec<String>) {
    let mut acked = Acked::new();
    let mut errors = Vec::new();
    let mut step = 0i64;
    while !stop.load(Ordering::Relaxed) {
        let metrics: Vec<Value> = KEYS
            .iter()
            .enumerate()
            .map(|(i, k)| {
                json!({"key": k, "value": step as f64 * 0.5 + i as f64, "timestamp": 1000 + step, "step": step})
            })
            .collect();
        match post(c, s_api, json!({"run_id": run, "metrics": metrics})) {
            Ok(_) => {
                for (i, k) in KEYS.iter().enumerate() {
                    let v: f64 = step as f64 * 0.5 + i as f64;
                    acked
                        .entry(k.to_string())
                        .or_default()
                        .insert((step, v.to_bits()));
                }
            }
            Err(e) => {
                errors.push(e);
                break;
            }
        }
        step += 1;
    }
    (acked, errors)
}

#[test]
fn concurrent_clients_lose_no_acknowledged_metric() {
    let home = tempfile::tempdir().expect("tempdir");
    let server = Server::start(home.path());
    let c = client();
    let exp = create_experiment(&c, &server, "load");
    let secs = reliability_secs();
    let stop = Arc::new(AtomicBool::new(false));
    let runs: Vec<String> = (0..32).map(|_| create_run(&c, &server, &exp)).collect();
    let handles: Vec<_> = runs
        .iter()
        .map(|run| {
            let (run, stop, url) = (run.clone(), stop.clone(), server.api("runs/log-batch"));
            thread::spawn(move || metric_writer(&client(), &url, &run, &stop))
        })
        .collect();
    thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let mut total = 0usize;
    for (run, h) in runs.iter().zip(handles) {
        let (acked, errors) = h.join().expect("client thread");
        assert!(errors.is_empty(), "run {run}: requests failed: {errors:?}");
        assert!(!acked.is_empty(), "run {run}: nothing was acknowledged");
        for (key, points) in &acked {
            let stored = history(&c, &server, run, key);
            assert_eq!(&stored, points, "run {run} key {key}: history differs");
            total += points.len();
        }
    }
    let log = server.stop();
    assert!(!log.contains("ERROR"), "server logged errors:\n{log}");
    eprintln!(
        "{total} acknowledged metric values from 32 clients in {secs} s, all present ({:.0} values/s)",
        total as f64 / secs as f64
    );
}

/// Deterministic artifact bytes: the name says the writer, the sequence and the length.
fn artifact_bytes(writer: usize, seq: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + writer * 7 + seq * 13) % 251) as u8)
        .collect()
}

fn artifact_name(writer: usize, seq: usize, len: usize) -> String {
    format!("w{writer}-s{seq}-n{len}.bin")
}

fn parse_artifact_name(name: &str) -> Option<(usize, usize, usize)> {
    let rest = name.strip_prefix('w')?.strip_suffix(".bin")?;
    let mut it = rest.split('-');
    let w = it.next()?.parse().ok()?;
    let s = it.next()?.strip_prefix('s')?.parse().ok()?;
    let n = it.next()?.strip_prefix('n')?.parse().ok()?;
    Some((w, s, n))
}

/// Uploads artifacts under `<run>/artifacts/` until a request fails; returns the acked names.
fn artifact_writer(c: &Client, base: &str, run_dir: &str, writer: usize) -> Vec<String> {
    let mut acked = Vec::new();
    for seq in 0.. {
        let len = 256 * 1024 + (seq * 97_531 + writer * 7_919) % (3 * 1024 * 1024);
        let name = artifact_name(writer, seq, len);
        let body = artifact_bytes(writer, seq, len);
        let url = format!("{base}/{run_dir}/{name}");
        match c.put(&url).body(body).send() {
            Ok(r) if r.status().is_success() => acked.push(name),
            _ => break,
        }
    }
    acked
}

fn temp_files_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                temp_files_under(&p)
            } else {
                usize::from(e.file_name().to_string_lossy().starts_with(".slipway-tmp-"))
            }
        })
        .sum()
}

#[test]
fn sigkill_mid_write_keeps_every_acknowledged_write_and_no_partial_artifact() {
    let home = tempfile::tempdir().expect("tempdir");
    let server = Server::start(home.path());
    let c = client();
    let exp = create_experiment(&c, &server, "crash");
    let metric_runs: Vec<String> = (0..4).map(|_| create_run(&c, &server, &exp)).collect();
    let artifact_run = create_run(&c, &server, &exp);
    let run_dir = format!("{exp}/{artifact_run}/artifacts");
    let stop = Arc::new(AtomicBool::new(false));

    let metric_handles: Vec<_> = metric_runs
        .iter()
        .map(|run| {
            let (run, stop, url) = (run.clone(), stop.clone(), server.api("runs/log-batch"));
            thread::spawn(move || metric_writer(&client(), &url, &run, &stop).0)
        })
        .collect();
    let artifact_handles: Vec<_> = (0..4)
        .map(|w| {
            let (base, dir) = (
                server.artifact("").trim_end_matches('/').to_string(),
                run_dir.clone(),
            );
            thread::spawn(move || artifact_writer(&client(), &base, &dir, w))
        })
        .collect();

    // Let the writers get going, then kill the server without warning.
    let started = Instant::now();
    thread::sleep(Duration::from_millis(2500));
    server.kill();
    stop.store(true, Ordering::Relaxed);
    let acked_metrics: Vec<Acked> = metric_handles
        .into_iter()
        .map(|h| h.join().expect("metric writer"))
        .collect();
    let acked_artifacts: Vec<String> = artifact_handles
        .into_iter()
        .flat_map(|h| h.join().expect("artifact writer"))
        .collect();
    assert!(
        !acked_artifacts.is_empty(),
        "no artifact was acknowledged in {:?}",
        started.elapsed()
    );
    let leftovers = temp_files_under(&home.path().join("artifacts"));

    let server = Server::start(home.path());
    for (run, acked) in metric_runs.iter().zip(&acked_metrics) {
        assert!(!acked.is_empty(), "run {run}: no metric acknowledged");
        for (key, points) in acked {
            let stored = history(&c, &server, run, key);
            let lost: Vec<_> = points.difference(&stored).collect();
            assert!(
                lost.is_empty(),
                "run {run} key {key}: acknowledged but lost: {lost:?}"
            );
        }
    }
    let listing: Value = c
        .get(server.artifact("").trim_end_matches('/'))
        .query(&[("path", run_dir.as_str())])
        .send()
        .expect("list")
        .json()
        .expect("list JSON");
    let listed: Vec<(String, u64)> = listing["files"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_string(),
                f["file_size"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    for name in &acked_artifacts {
        assert!(
            listed.iter().any(|(n, _)| n == name),
            "acknowledged artifact {name} is not listed after the restart"
        );
    }
    for (name, size) in &listed {
        let (w, s, n) =
            parse_artifact_name(name).unwrap_or_else(|| panic!("unexpected name listed: {name}"));
        assert_eq!(*size as usize, n, "{name}: listed with a partial size");
        let body = c
            .get(format!(
                "{}/{run_dir}/{name}",
                server.artifact("").trim_end_matches('/')
            ))
            .send()
            .expect("download")
            .bytes()
            .expect("bytes");
        assert!(
            body.as_ref() == artifact_bytes(w, s, n).as_slice(),
            "{name}: downloaded bytes differ"
        );
    }
    // A leftover temporary name cannot be fetched either.
    let r = c
        .get(format!(
            "{}/{run_dir}/.slipway-tmp-0000000000000000-x",
            server.artifact("").trim_end_matches('/')
        ))
        .send()
        .expect("temp name");
    assert_eq!(r.status().as_u16(), 400);
    let log = server.stop();
    assert!(!log.contains("ERROR"), "server logged errors:\n{log}");
    eprintln!(
        "after SIGKILL: {} metric values and {} artifacts acknowledged, all present; {} listed, all complete; {leftovers} temporary file(s) left on disk, none listed",
        acked_metrics
            .iter()
            .flat_map(|a| a.values())
            .map(BTreeSet::len)
            .sum::<usize>(),
        acked_artifacts.len(),
        listed.len()
    );
}
