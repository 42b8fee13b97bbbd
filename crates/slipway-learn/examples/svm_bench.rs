//! Slipway side of the SVM benchmark (see `bench/svm/run.sh`).
//!
//! Usage: `svm_bench DATA_DIR [REPEATS]`, where DATA_DIR was written by
//! `bench/svm/reference.py`. Fits the SVM classifier (probabilities on: 5-fold internal
//! cross-validation plus the final machine) with the RBF and the linear kernel, times the fit
//! and the probability prediction on the test rows (best of REPEATS, default 1), and prints
//! `name: value unit` lines with accuracy and ROC AUC on the test rows, the support-vector
//! count and the final machine's SMO iterations (to check that both sides did the same work).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;
use slipway_learn::metrics::roc_auc;
use slipway_learn::svm::{SvmKernel, SvmParams};
use slipway_learn::{Estimator, FeatureMeta, Matrix, Params, Predictor, Target, TrainData};

fn read_f64(path: &Path) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect()
}

fn best_of<T>(repeats: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..repeats {
        let t0 = Instant::now();
        let r = f();
        best = best.min(t0.elapsed().as_secs_f64());
        out = Some(r);
    }
    (best, out.expect("at least one repeat"))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: svm_bench DATA_DIR [REPEATS]"));
    let repeats: usize = args.next().map_or(1, |s| s.parse().expect("REPEATS"));
    let shapes: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("shapes.json")).expect("shapes.json"),
    )
    .expect("valid JSON");
    let get = |k: &str| {
        shapes[k]
            .as_f64()
            .unwrap_or_else(|| panic!("shapes.json: {k}"))
    };
    let (n_tr, n_te, p) = (
        get("n_train") as usize,
        get("n_test") as usize,
        get("n_features") as usize,
    );
    let x_tr = Matrix::from_col_major(n_tr, p, read_f64(&dir.join("x_train.f64"))).unwrap();
    let x_te = Matrix::from_col_major(n_te, p, read_f64(&dir.join("x_test.f64"))).unwrap();
    let labels = |name: &str| -> Vec<u32> {
        read_f64(&dir.join(name))
            .iter()
            .map(|&v| v as u32)
            .collect()
    };
    let y_tr = Target::Classes {
        labels: labels("y_train.f64"),
        n_classes: 2,
    };
    let y_te = labels("y_test.f64");
    let features: Vec<FeatureMeta> = (0..p)
        .map(|j| FeatureMeta::numeric(format!("x{j}")))
        .collect();
    let train = TrainData {
        x: &x_tr,
        y: &y_tr,
        features: &features,
        weights: None,
    };
    for (name, kernel) in [("rbf", SvmKernel::Rbf), ("linear", SvmKernel::Linear)] {
        let est = SvmParams {
            kernel,
            c: get("c"),
            tol: get("tol"),
            cache_size_mb: get("cache_size_mb"),
            ..Default::default()
        }
        .check()
        .unwrap();
        let (t_fit, m) = best_of(repeats, || est.fit(&train, None).unwrap());
        let (t_pred, proba) = best_of(repeats, || m.predict_proba(&x_te).unwrap());
        let p1: Vec<f64> = (0..n_te).map(|i| proba.get(i, 1)).collect();
        let correct = (0..n_te)
            .filter(|&i| u32::from(proba.get(i, 1) > proba.get(i, 0)) == y_te[i])
            .count();
        let auc = roc_auc(&y_te, &p1, None).unwrap();
        println!("slipway_{name}_fit_s: {t_fit:.3} s");
        println!("slipway_{name}_predict_s: {t_pred:.4} s");
        println!(
            "slipway_{name}_accuracy: {:.4} fraction",
            correct as f64 / n_te as f64
        );
        println!("slipway_{name}_auc: {auc:.4} value");
        println!(
            "slipway_{name}_n_support: {} vectors",
            m.n_support().iter().sum::<usize>()
        );
        println!(
            "slipway_{name}_n_iter: {} iterations",
            m.n_iter().iter().sum::<usize>()
        );
        println!("slipway_{name}_converged: {} flag", m.converged());
        let _ = m.task();
    }
}
