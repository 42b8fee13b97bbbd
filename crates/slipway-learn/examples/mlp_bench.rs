//! Slipway side of the MLP benchmark against scikit-learn (see `bench/mlp/`).
//!
//! ```text
//! bench/.venv/bin/python bench/mlp/reference.py bench/out/mlp   # writes the data
//! RAYON_NUM_THREADS=2 cargo run --release -p slipway-learn --example mlp_bench -- bench/out/mlp/adult
//! ```
//!
//! Fits the MLP with the reference's settings (hidden (64, 32), ReLU, Adam lr 1e-3,
//! alpha 1e-4, batch 256, exactly 20 epochs, seed 0) on the matrices reference.py wrote and
//! prints `name: value unit` lines: fit time (data conversion included) and hold-out AUC.

use std::time::Instant;

use slipway_learn::mlp::MlpParams;
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
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "bench/out/mlp/adult".to_string());
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{dir}/meta.json")).expect("meta.json"),
    )
    .expect("meta.json is JSON");
    let n_train = meta["n_train"].as_u64().expect("n_train") as usize;
    let n_test = meta["n_test"].as_u64().expect("n_test") as usize;
    let nf = meta["n_features"].as_u64().expect("n_features") as usize;
    let epochs = meta["epochs"].as_u64().expect("epochs") as usize;
    assert_eq!(meta["layout"], "col_major");
    let x_train = Matrix::from_col_major(n_train, nf, read_f64(&format!("{dir}/x_train.f64")))
        .expect("x_train shape");
    let x_test = Matrix::from_col_major(n_test, nf, read_f64(&format!("{dir}/x_test.f64")))
        .expect("x_test shape");
    let y_train = read_f64(&format!("{dir}/y_train.f64"));
    let y_test: Vec<u32> = read_f64(&format!("{dir}/y_test.f64"))
        .iter()
        .map(|&v| u32::from(v > 0.5))
        .collect();
    let features: Vec<FeatureMeta> = (0..nf)
        .map(|j| FeatureMeta::numeric(format!("f{j}")))
        .collect();
    let y = Target::Classes {
        labels: y_train.iter().map(|&v| u32::from(v > 0.5)).collect(),
        n_classes: 2,
    };
    let params = MlpParams {
        hidden_layer_sizes: vec![64, 32],
        learning_rate: 1e-3,
        alpha: 1e-4,
        batch_size: 256,
        max_epochs: epochs,
        early_stopping: false,
        tol: 0.0,
        n_iter_no_change: epochs,
        seed: 0,
        ..MlpParams::default()
    };
    let est = params.check().expect("valid params");
    let train = TrainData {
        x: &x_train,
        y: &y,
        features: &features,
        weights: None,
    };
    let t0 = Instant::now();
    let model = est.fit(&train, None).expect("fit");
    let fit_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let Prediction::Probabilities(p) = model.predict(&x_test).expect("predict") else {
        panic!("classifier gives probabilities")
    };
    let predict_s = t1.elapsed().as_secs_f64();
    let auc = slipway_learn::metrics::roc_auc(&y_test, p.col(1), None).expect("both classes");
    println!("slipway_mlp_epochs: {} epochs", model.n_epochs);
    println!("slipway_mlp_fit_s: {fit_s:.3} s");
    println!("slipway_mlp_predict_s: {predict_s:.4} s");
    println!("slipway_mlp_auc: {auc:.5}");
}
