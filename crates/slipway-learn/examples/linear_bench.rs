//! Slipway side of the logistic-regression benchmark (see `bench/linear/run.sh`).
//!
//! Usage: `linear_bench DATA_DIR [REPEATS]`, where DATA_DIR was written by
//! `bench/linear/reference.py`. Fits `LogisticRegression` with the same C, tol and max_iter
//! on 2 threads (best of REPEATS, default 3) and prints `name: value unit` lines: fit time,
//! iterations, test accuracy and the largest coefficient difference from scikit-learn.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;
use slipway_learn::linear::{LogisticRegressionParams, Penalty};
use slipway_learn::metrics::{self, Metric};
use slipway_learn::{
    Estimator, FeatureMeta, Matrix, Params, Prediction, Predictor, Target, TrainData,
};

fn read_f64(path: &Path) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: linear_bench DATA_DIR [REPEATS]"));
    let repeats: usize = args.next().map_or(3, |s| s.parse().expect("REPEATS"));
    let shapes = read_json(&dir.join("shapes.json"));
    let get = |k: &str| {
        shapes[k]
            .as_f64()
            .unwrap_or_else(|| panic!("shapes.json: {k}"))
    };
    let (n_train, n_test, p) = (
        get("n_train") as usize,
        get("n_test") as usize,
        get("n_features") as usize,
    );
    let x_train = Matrix::from_col_major(n_train, p, read_f64(&dir.join("x_train.f64"))).unwrap();
    let x_test = Matrix::from_col_major(n_test, p, read_f64(&dir.join("x_test.f64"))).unwrap();
    let labels = |name: &str| -> Vec<u32> {
        read_f64(&dir.join(name))
            .iter()
            .map(|&v| v as u32)
            .collect()
    };
    let y_train = Target::Classes {
        labels: labels("y_train.f64"),
        n_classes: 2,
    };
    let y_test = Target::Classes {
        labels: labels("y_test.f64"),
        n_classes: 2,
    };
    let features: Vec<FeatureMeta> = (0..p)
        .map(|j| FeatureMeta::numeric(format!("x{j}")))
        .collect();
    let params = LogisticRegressionParams {
        c: get("c"),
        penalty: Penalty::L2,
        fit_intercept: true,
        max_iter: get("max_iter") as usize,
        tol: get("tol"),
        class_weight: None,
        n_threads: Some(2),
        seed: 0,
    };
    let est = params.check().expect("valid params");
    let train = TrainData {
        x: &x_train,
        y: &y_train,
        features: &features,
        weights: None,
    };
    let mut times = Vec::with_capacity(repeats);
    let mut model = None;
    for _ in 0..repeats.max(1) {
        let t0 = Instant::now();
        let m = est.fit(&train, None).expect("fit");
        times.push(t0.elapsed().as_secs_f64());
        model = Some(m);
    }
    let model = model.expect("at least one fit");
    let pred = model.predict(&x_test).expect("predict");
    let acc = Metric::Accuracy.score(&y_test, &pred).expect("accuracy");
    let Prediction::Probabilities(proba) = &pred else {
        unreachable!("logistic regression predicts probabilities")
    };
    let Target::Classes { labels: yt, .. } = &y_test else {
        unreachable!()
    };
    let auc = metrics::roc_auc(yt, proba.col(1), None).expect("auc");

    let reference = read_json(&dir.join("sklearn_coef.json"));
    let mut diff = (model.intercept[0] - reference["intercept"].as_f64().unwrap()).abs();
    for (a, b) in model.coef[0]
        .iter()
        .zip(reference["coef"].as_array().unwrap())
    {
        diff = diff.max((a - b.as_f64().unwrap()).abs());
    }
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    let all: Vec<String> = times.iter().map(|t| format!("{t:.4}")).collect();
    println!("slipway_logreg_fit_s: {best:.4} s");
    println!("slipway_logreg_fit_all_s: {} s", all.join(" "));
    println!("slipway_logreg_n_iter: {} iterations", model.n_iter);
    println!("slipway_logreg_converged: {}", model.converged);
    println!("slipway_logreg_test_accuracy: {acc:.6} fraction");
    println!("slipway_logreg_test_roc_auc: {auc:.6} fraction");
    println!("slipway_logreg_max_abs_coef_diff_vs_sklearn: {diff:.3e} value");
}
