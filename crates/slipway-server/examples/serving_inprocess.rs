//! In-process single-row prediction time of a bundle, for `bench/serving`: what the server
//! pays per request before any HTTP.
//!
//! `serving_inprocess BUNDLE ROW_JSON [N]` prints `name: value unit` lines:
//! - `inprocess_score_single_row`: `ServedModel::score` on a one-row table (the pipeline:
//!   preprocessing and the model);
//! - `inprocess_read_and_score_single_row`: the JSON object typed into a table, then scored.

use std::time::Instant;

use slipway_data::ingest::Rows;
use slipway_engine::serving::ServedModel;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: serving_inprocess BUNDLE ROW_JSON [N]");
        std::process::exit(2);
    }
    let model = ServedModel::load(std::path::Path::new(&args[1])).expect("bundle");
    let row: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&args[2]).expect("row file")).expect("row JSON");
    let n: usize = args.get(3).map_or(100_000, |s| s.parse().expect("N"));
    let read = || {
        let mut rows = Rows::new();
        rows.push_object(
            row.as_object()
                .expect("an object")
                .iter()
                .map(|(k, v)| (k.as_str(), v)),
        )
        .expect("row");
        model.read_rows(rows).expect("read")
    };
    let table = read().table;
    for _ in 0..n / 10 {
        model.score(&table).expect("score");
    }
    let median = |f: &mut dyn FnMut()| {
        // The median of 20 rounds of n/20 calls each, per call.
        let mut rounds: Vec<f64> = (0..20)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..n / 20 {
                    f();
                }
                t.elapsed().as_secs_f64() / (n / 20) as f64
            })
            .collect();
        rounds.sort_by(f64::total_cmp);
        rounds[10] * 1e6
    };
    let score = median(&mut || {
        std::hint::black_box(model.score(&table).expect("score"));
    });
    let both = median(&mut || {
        let t = read().table;
        std::hint::black_box(model.score(&t).expect("score"));
    });
    println!("inprocess_score_single_row: {score:.2} us");
    println!("inprocess_read_and_score_single_row: {both:.2} us");
}
