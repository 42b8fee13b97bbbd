//! Raw-HTTP tracking load (the operations of `bench/tracking/load.py` without the Python
//! client's overhead), to show what a server itself sustains.
//!
//! Usage: `tracking_load URL LABEL [RUNS] [THREADS]`. Prints `LABEL_raw_*: value unit` lines.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use reqwest::blocking::Client;
use serde_json::{Value, json};

fn post(c: &Client, url: &str, body: &Value) -> Value {
    let r = c.post(url).json(body).send().expect("request");
    let status = r.status();
    let text = r.text().expect("body");
    assert!(status.is_success(), "{url}: {status}: {text}");
    serde_json::from_str(&text).expect("JSON")
}

/// A small deterministic generator (splitmix64) so both servers get the same values.
fn unit(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as f64 / u64::MAX as f64
}

fn one_run(c: &Client, api: &str, exp: &str, i: u64) {
    let run = post(
        c,
        &format!("{api}/runs/create"),
        &json!({"experiment_id": exp, "start_time": 1}),
    );
    let id = run["run"]["info"]["run_id"].as_str().expect("run id");
    let metrics: Vec<Value> = (0..20)
        .map(|j| json!({"key": format!("m{j}"), "value": unit(i * 100 + j), "timestamp": 1, "step": 0}))
        .collect();
    let params: Vec<Value> = (0..10)
        .map(|j| json!({"key": format!("p{j}"), "value": format!("{}", (unit(i * 1000 + j) * 1000.0) as u32)}))
        .collect();
    post(
        c,
        &format!("{api}/runs/log-batch"),
        &json!({"run_id": id, "metrics": metrics, "params": params}),
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, label) = match (args.get(1), args.get(2)) {
        (Some(u), Some(l)) => (u.clone(), l.clone()),
        _ => {
            eprintln!("usage: tracking_load URL LABEL [RUNS] [THREADS]");
            std::process::exit(2);
        }
    };
    let runs: u64 = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(2000);
    let threads: usize = args.get(4).and_then(|v| v.parse().ok()).unwrap_or(8);
    // reqwest is built without a bundled TLS provider (the S3 store installs ring's).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api = format!("{}/api/2.0/mlflow", url.trim_end_matches('/'));
    let c = Client::new();
    let name = format!("raw-{}", unit(std::process::id() as u64).to_bits());
    let exp = post(
        &c,
        &format!("{api}/experiments/create"),
        &json!({ "name": name }),
    )["experiment_id"]
        .as_str()
        .expect("experiment id")
        .to_string();

    let next = AtomicUsize::new(0);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let c = Client::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as u64;
                    if i >= runs {
                        break;
                    }
                    one_run(&c, &api, &exp, i);
                }
            });
        }
    });
    let wall = t0.elapsed().as_secs_f64();
    println!("{label}_raw_runs_per_s: {:.1} runs/s", runs as f64 / wall);

    let body = json!({"experiment_ids": [exp], "filter": "metrics.m0 > 0.5",
                      "order_by": ["metrics.m1 DESC"], "max_results": 1000});
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let r = post(&c, &format!("{api}/runs/search"), &body);
        times.push(t.elapsed().as_secs_f64());
        found = r["runs"].as_array().map_or(0, Vec::len);
    }
    println!("{label}_raw_search_ms: {:.1} ms", median(times) * 1000.0);
    println!("{label}_raw_search_results: {found} runs");

    let run = post(
        &c,
        &format!("{api}/runs/create"),
        &json!({"experiment_id": exp, "start_time": 1}),
    );
    let id = run["run"]["info"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    let t = Instant::now();
    for step in 0..1000 {
        post(
            &c,
            &format!("{api}/runs/log-metric"),
            &json!({"run_id": id, "key": "loss", "value": 1.0 / (step as f64 + 1.0),
                    "timestamp": 1, "step": step}),
        );
    }
    println!(
        "{label}_raw_history_log_s: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let r: Value = c
            .get(format!("{api}/metrics/get-history"))
            .query(&[("run_id", id.as_str()), ("metric_key", "loss")])
            .send()
            .expect("history")
            .json()
            .expect("JSON");
        times.push(t.elapsed().as_secs_f64());
        assert_eq!(r["metrics"].as_array().map_or(0, Vec::len), 1000);
    }
    println!(
        "{label}_raw_history_get_ms: {:.1} ms",
        median(times) * 1000.0
    );
}
