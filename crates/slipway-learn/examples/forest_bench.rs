//! Slipway side of the random forest benchmark against scikit-learn (see `bench/forest/`).
//!
//! ```text
//! bench/.venv/bin/python bench/forest/reference.py --out bench/out/forest   # writes the data
//! cargo run --release -p slipway-learn --example forest_bench -- [--data bench/out/forest]
//!     [--sets synthetic,adult] [--threads 2] [--trees 100] [--repeat 1]
//! ```
//!
//! Fits a random forest classifier with scikit-learn's defaults (sqrt features, bootstrap,
//! fully grown trees), 100 trees on 2 threads, and prints `name: value unit` lines: fit time
//! (binning included) and holdout accuracy.

use std::time::Instant;

use slipway_learn::tree::{ForestParams, RandomForestParams};
use slipway_learn::{
    Estimator, FeatureMeta, Matrix, Params, Prediction, Predictor, Target, TrainData,
};

fn read_f64(path: &str) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect()
}

fn main() {
    let mut data = "bench/out/forest".to_string();
    let mut sets = "synthetic,adult".to_string();
    let mut threads = 2usize;
    let mut trees = 100usize;
    let mut repeat = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("flag value");
        match a.as_str() {
            "--data" => data = val(),
            "--sets" => sets = val(),
            "--threads" => threads = val().parse().expect("--threads N"),
            "--trees" => trees = val().parse().expect("--trees N"),
            "--repeat" => repeat = val().parse().expect("--repeat N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let est = RandomForestParams(ForestParams {
        n_estimators: trees,
        n_jobs: Some(threads),
        random_state: 0,
        ..ForestParams::default()
    })
    .check()
    .expect("valid params");
    for name in sets.split(',') {
        let dir = format!("{data}/{name}");
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{dir}/meta.json")).expect("meta.json"),
        )
        .expect("meta.json is JSON");
        let n_train = meta["n_train"].as_u64().expect("n_train") as usize;
        let n_test = meta["n_test"].as_u64().expect("n_test") as usize;
        let nf = meta["n_features"].as_u64().expect("n_features") as usize;
        let x_train = Matrix::from_col_major(n_train, nf, read_f64(&format!("{dir}/x_train.f64")))
            .expect("x_train shape");
        let x_test = Matrix::from_col_major(n_test, nf, read_f64(&format!("{dir}/x_test.f64")))
            .expect("x_test shape");
        let y_train = read_f64(&format!("{dir}/y_train.f64"));
        let y_test = read_f64(&format!("{dir}/y_test.f64"));
        let features: Vec<FeatureMeta> = (0..nf)
            .map(|j| FeatureMeta::numeric(format!("f{j}")))
            .collect();
        let y = Target::Classes {
            labels: y_train.iter().map(|&v| v as u32).collect(),
            n_classes: 2,
        };
        let train = TrainData {
            x: &x_train,
            y: &y,
            features: &features,
            weights: None,
        };
        // The fastest of `repeat` fits (each the same forest: the seed is fixed).
        let mut secs = f64::INFINITY;
        let mut model = None;
        for _ in 0..repeat.max(1) {
            let t0 = Instant::now();
            let m = est.fit(&train, None).expect("fit");
            secs = secs.min(t0.elapsed().as_secs_f64());
            model = Some(m);
        }
        let model = model.expect("at least one fit");
        let Prediction::Probabilities(p) = model.predict(&x_test).expect("predict") else {
            panic!("a classifier predicts probabilities")
        };
        let correct = (0..n_test)
            .filter(|&i| u32::from(p.get(i, 1) > p.get(i, 0)) == y_test[i] as u32)
            .count();
        println!("slipway_{name}_train_s: {secs:.3} s");
        println!(
            "slipway_{name}_accuracy: {:.5} accuracy",
            correct as f64 / n_test as f64
        );
    }
}
