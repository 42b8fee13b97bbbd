//! Slipway side of the GBDT benchmark against LightGBM (see `bench/gbdt/`).
//!
//! ```text
//! bench/.venv/bin/python bench/gbdt/reference.py --out bench/out/gbdt   # writes the data
//! cargo run --release -p slipway-learn --example gbdt_bench -- [--data bench/out/gbdt]
//!     [--sets synthetic,adult] [--repeat 1] [--threads 2] [--rounds 200]
//!     [--predict-repeat 3] [--dump-model DIR]
//! ```
//!
//! `bench/gbdt/run.sh` runs both sides and prints the ratios.
//!
//! Trains with LightGBM's benchmark settings (binary, 63 leaves, learning rate 0.1, 200
//! rounds, max_bin 255, min_data_in_leaf 20, 2 threads) and prints `name: value unit` lines:
//! fit time (binning included), holdout AUC and log loss, batch prediction throughput (best of
//! 3 runs over the whole test set).

use std::time::Instant;

use slipway_learn::gbdt::GbdtParams;
use slipway_learn::{
    Estimator, FeatureKind, FeatureMeta, Matrix, Params, Prediction, Predictor, Target, TrainData,
};

fn read_f64(path: &str) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect()
}

struct Set {
    x_train: Matrix,
    y_train: Vec<f64>,
    x_test: Matrix,
    y_test: Vec<f64>,
    features: Vec<FeatureMeta>,
}

fn load(dir: &str) -> Set {
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/meta.json")).expect("meta.json"),
    )
    .expect("meta.json is JSON");
    let n_train = meta["n_train"].as_u64().expect("n_train") as usize;
    let n_test = meta["n_test"].as_u64().expect("n_test") as usize;
    let nf = meta["n_features"].as_u64().expect("n_features") as usize;
    assert_eq!(meta["layout"], "col_major");
    let features = meta["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| FeatureMeta {
            name: f["name"].as_str().expect("name").to_string(),
            kind: if f["kind"] == "categorical" {
                FeatureKind::Categorical {
                    n_categories: f["n_categories"].as_u64().expect("n_categories") as usize,
                }
            } else {
                FeatureKind::Numeric
            },
        })
        .collect();
    Set {
        x_train: Matrix::from_col_major(n_train, nf, read_f64(&format!("{dir}/x_train.f64")))
            .expect("x_train shape"),
        y_train: read_f64(&format!("{dir}/y_train.f64")),
        x_test: Matrix::from_col_major(n_test, nf, read_f64(&format!("{dir}/x_test.f64")))
            .expect("x_test shape"),
        y_test: read_f64(&format!("{dir}/y_test.f64")),
        features,
    }
}

/// Area under the ROC curve, by the scikit-learn-matching metric.
fn auc(y: &[f64], p: &[f64]) -> f64 {
    let labels: Vec<u32> = y.iter().map(|&v| u32::from(v > 0.5)).collect();
    slipway_learn::metrics::roc_auc(&labels, p, None).expect("both classes present")
}

fn logloss(y: &[f64], p: &[f64]) -> f64 {
    y.iter()
        .zip(p)
        .map(|(&y, &p)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum::<f64>()
        / y.len() as f64
}

fn main() {
    let mut data = "bench/out/gbdt".to_string();
    let mut sets = "synthetic,adult".to_string();
    let mut repeat = 1usize;
    let mut threads = 2usize;
    let mut rounds = 200usize;
    let mut predict_repeat = 3usize;
    let mut dump: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("flag value");
        match a.as_str() {
            "--data" => data = val(),
            "--sets" => sets = val(),
            "--repeat" => repeat = val().parse().expect("--repeat N"),
            "--threads" => threads = val().parse().expect("--threads N"),
            "--rounds" => rounds = val().parse().expect("--rounds N"),
            "--predict-repeat" => predict_repeat = val().parse().expect("--predict-repeat N"),
            "--dump-model" => dump = Some(val()),
            other => panic!("unknown argument {other}"),
        }
    }
    let params = GbdtParams {
        n_estimators: rounds,
        learning_rate: 0.1,
        num_leaves: 63,
        max_bin: 255,
        min_data_in_leaf: 20,
        n_threads: Some(threads),
        seed: 0,
        ..GbdtParams::default()
    };
    let est = params.check().expect("valid params");
    for name in sets.split(',') {
        let s = load(&format!("{data}/{name}"));
        let y = Target::Classes {
            labels: s.y_train.iter().map(|&v| v as u32).collect(),
            n_classes: 2,
        };
        let train = TrainData {
            x: &s.x_train,
            y: &y,
            features: &s.features,
            weights: None,
        };
        let mut best = f64::INFINITY;
        let mut model = None;
        for _ in 0..repeat {
            let t0 = Instant::now();
            let m = est.fit(&train, None).expect("fit");
            best = best.min(t0.elapsed().as_secs_f64());
            model = Some(m);
        }
        let model = model.expect("at least one fit");
        if let Some(d) = &dump {
            let path = format!("{d}/{name}_model.json");
            std::fs::write(&path, serde_json::to_string(&model).expect("model to JSON"))
                .expect("write the model");
        }
        let mut pbest = f64::INFINITY;
        let mut probs = Vec::new();
        for _ in 0..predict_repeat {
            let t0 = Instant::now();
            let Prediction::Probabilities(p) = model.predict(&s.x_test).expect("predict") else {
                panic!("binary model predicts probabilities")
            };
            pbest = pbest.min(t0.elapsed().as_secs_f64());
            probs = p.col(1).to_vec();
        }
        println!("slipway_{name}_train_s: {best:.3} s");
        println!("slipway_{name}_auc: {:.5} auc", auc(&s.y_test, &probs));
        println!(
            "slipway_{name}_logloss: {:.5} logloss",
            logloss(&s.y_test, &probs)
        );
        println!(
            "slipway_{name}_predict_rows_per_s: {:.0} rows/s",
            s.y_test.len() as f64 / pbest
        );
    }
}
