//! In-process single-row prediction time of a bundle, for `bench/serving`: what the server
//! pays per request before any HTTP.
//!
//! `serving_inprocess BUNDLE ROW_JSON [N [BATCH_JSON]]` prints `name: value unit` lines:
//! - `inprocess_score_single_row`: `ServedModel::score` on a one-row table (the pipeline:
//!   preprocessing and the model);
//! - `inprocess_read_and_score_single_row`: the JSON object typed into a table, then scored;
//! - with a fourth argument, an MLflow `dataframe_split` (or `dataframe_records`) body of
//!   many rows: `inprocess_score_batch_rows_per_s` (the table scored whole, on every core)
//!   and `inprocess_score_batch_per_row` (the same, per row).

use std::time::Instant;

use slipway_data::ingest::Rows;
use slipway_engine::serving::ServedModel;

/// The allocator the `slipway` binary (and so the server) runs on.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: serving_inprocess BUNDLE ROW_JSON [N [BATCH_JSON]]");
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
    if let Some(path) = args.get(4) {
        let body: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("batch file")).expect("batch JSON");
        let mut rows = Rows::new();
        if let Some(records) = body["dataframe_records"].as_array() {
            for r in records {
                let r = r.as_object().expect("a record");
                rows.push_object(r.iter().map(|(k, v)| (k.as_str(), v)))
                    .expect("row");
            }
        } else {
            let split = &body["dataframe_split"];
            let columns: Vec<&str> = split["columns"]
                .as_array()
                .expect("columns")
                .iter()
                .map(|c| c.as_str().expect("a column name"))
                .collect();
            for r in split["data"].as_array().expect("data") {
                let r = r.as_array().expect("a row");
                rows.push_object(columns.iter().copied().zip(r.iter()))
                    .expect("row");
            }
        }
        let table = model.read_rows(rows).expect("read").table;
        let n_rows = table.n_rows();
        let batches = (n / n_rows).max(20);
        for _ in 0..batches / 10 {
            model.score(&table).expect("score");
        }
        let t = Instant::now();
        for _ in 0..batches {
            std::hint::black_box(model.score(&table).expect("score"));
        }
        let per_batch = t.elapsed().as_secs_f64() / batches as f64;
        println!(
            "inprocess_score_batch_rows_per_s: {:.0} rows/s",
            n_rows as f64 / per_batch
        );
        println!(
            "inprocess_score_batch_per_row: {:.3} us",
            per_batch * 1e6 / n_rows as f64
        );
    }
}
