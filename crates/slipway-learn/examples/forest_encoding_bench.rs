//! Slipway side of the forest categorical-encoding benchmark (see `bench/forest_encoding/`).
//!
//! ```text
//! bench/.venv/bin/python bench/forest_encoding/reference.py --out bench/out/forest_encoding
//! cargo run --release -p slipway-learn --example forest_encoding_bench -- \
//!     [--data bench/out/forest_encoding] [--sets adult,highcard] \
//!     [--encodings default,native,one_hot,target] [--model random_forest] [--threads 2]
//! ```
//!
//! Reads `<data>/<set>/{train,test}.csv` (binary target `y`), fits the whole pipeline
//! (preprocessing and a 100-tree forest with random_state 0 on 2 threads) once per encoding
//! of the categorical columns — `default` is what the family's default preprocessing picks —
//! and prints `name: value unit` lines: preprocessing + fit time and holdout ROC AUC.

use std::path::Path;
use std::time::Instant;

use slipway_data::Role;
use slipway_data::ingest::{ReadOptions, read_table};
use slipway_learn::pipeline::{FittedPipeline, ModelSpec, TargetInfo, TaskHint};
use slipway_learn::preprocess::Encoding;
use slipway_learn::{Prediction, Target};

fn main() {
    let mut data = "bench/out/forest_encoding".to_string();
    let mut sets = "adult,highcard".to_string();
    let mut encodings = "default,one_hot,target".to_string();
    let mut model = "random_forest".to_string();
    let mut threads = 2usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("flag value");
        match a.as_str() {
            "--data" => data = val(),
            "--sets" => sets = val(),
            "--encodings" => encodings = val(),
            "--model" => model = val(),
            "--threads" => threads = val().parse().expect("--threads N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let params = match model.as_str() {
        "decision_tree" => serde_json::json!({}),
        _ => serde_json::json!({"n_estimators": 100}),
    };
    let mut spec: ModelSpec =
        serde_json::from_value(serde_json::json!({"type": model, "params": params}))
            .expect("a tree family");
    spec.set_seed(0);
    spec.set_threads(Some(threads));
    for name in sets.split(',') {
        let dir = Path::new(&data).join(name);
        let read = |f: &str| {
            let mut t = read_table(&dir.join(f), &ReadOptions::default())
                .unwrap_or_else(|e| panic!("{}: {e}", dir.join(f).display()));
            t.set_role("y", Role::Target).expect("a y column");
            t
        };
        let (train, test) = (read("train.csv"), read("test.csv"));
        let (target, y) =
            TargetInfo::fit(&train, "y", TaskHint::Classification).expect("binary target");
        let y_test = match target.encode(&test).expect("test labels") {
            Target::Classes { labels, .. } => labels,
            Target::Real(_) => unreachable!("classification"),
        };
        let rows: Vec<usize> = (0..train.n_rows()).collect();
        for enc in encodings.split(',') {
            let mut pre = spec.default_preprocess();
            let label = if enc == "default" {
                format!("default_{}", encoding_name(pre.encoding))
            } else {
                pre.encoding = serde_json::from_value(serde_json::json!(enc))
                    .unwrap_or_else(|e| panic!("encoding {enc}: {e}"));
                enc.to_string()
            };
            let t0 = Instant::now();
            let fitted = FittedPipeline::fit(&train, &rows, &target, &y, &spec, &pre).expect("fit");
            let secs = t0.elapsed().as_secs_f64();
            let Prediction::Probabilities(p) = fitted.predict(&test).expect("predict") else {
                panic!("a classifier predicts probabilities")
            };
            let auc = slipway_learn::metrics::roc_auc(&y_test, p.col(1), None).expect("auc");
            println!("slipway_{model}_{label}_{name}_train_s: {secs:.3} s");
            println!("slipway_{model}_{label}_{name}_auc: {auc:.5} auc");
        }
    }
}

fn encoding_name(e: Encoding) -> String {
    serde_json::to_value(e)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
