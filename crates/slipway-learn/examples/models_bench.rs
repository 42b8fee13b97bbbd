//! Slipway side of the model-family benchmarks (see `bench/models/run.sh`).
//!
//! Usage: `models_bench DATA_DIR [REPEATS]`, where DATA_DIR was written by
//! `bench/models/reference.py`. Times (best of REPEATS, default 3, on 2 threads) k-NN
//! predict, k-means fit (from scikit-learn's initial centers and from k-means++), Gaussian
//! naive Bayes fit and elastic-net fit, and prints `name: value unit` lines, with checks
//! against scikit-learn's results where they are comparable.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;
use slipway_learn::cluster::{Clusterer, KMeansInit, KMeansParams};
use slipway_learn::linear::ElasticNetParams;
use slipway_learn::naive_bayes::GaussianNbParams;
use slipway_learn::neighbors::KNeighborsParams;
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
    let dir = PathBuf::from(args.next().expect("usage: models_bench DATA_DIR [REPEATS]"));
    let repeats: usize = args.next().map_or(3, |s| s.parse().expect("REPEATS"));
    let shapes: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("shapes.json")).expect("shapes.json"),
    )
    .expect("valid JSON");
    let get = |k: &str| {
        shapes[k]
            .as_f64()
            .unwrap_or_else(|| panic!("shapes.json: {k}"))
    };
    let p = get("n_features") as usize;
    let features: Vec<FeatureMeta> = (0..p)
        .map(|j| FeatureMeta::numeric(format!("x{j}")))
        .collect();
    let mat =
        |name: &str, n: usize| Matrix::from_col_major(n, p, read_f64(&dir.join(name))).unwrap();

    // k-NN predict.
    let (n_tr, n_q) = (get("knn_train") as usize, get("knn_query") as usize);
    let x_tr = mat("knn_train.f64", n_tr);
    let x_q = mat("knn_query.f64", n_q);
    let y_tr = Target::Classes {
        labels: read_f64(&dir.join("knn_train_y.f64"))
            .iter()
            .map(|&v| v as u32)
            .collect(),
        n_classes: 2,
    };
    let train = TrainData {
        x: &x_tr,
        y: &y_tr,
        features: &features,
        weights: None,
    };
    let knn = KNeighborsParams {
        n_neighbors: get("k") as usize,
        n_threads: Some(2),
        ..Default::default()
    }
    .check()
    .unwrap()
    .fit(&train, None)
    .unwrap();
    let (t_knn, pred) = best_of(repeats, || knn.predict(&x_q).unwrap());
    let Prediction::Probabilities(proba) = pred else {
        panic!("probabilities")
    };
    let sk_p1 = read_f64(&dir.join("sk_knn_p1.f64"));
    let knn_mismatch = (0..n_q)
        .filter(|&i| (proba.get(i, 1) - sk_p1[i]).abs() > 1e-12)
        .count();
    println!("slipway_knn_predict_s: {t_knn:.4} s");
    println!("slipway_knn_proba_rows_differing_from_sklearn: {knn_mismatch} rows");

    // k-means.
    let n_km = get("km_rows") as usize;
    let x_km = mat("km.f64", n_km);
    let k = get("n_clusters") as usize;
    let init_cm = read_f64(&dir.join("km_init.f64"));
    let init: Vec<Vec<f64>> = (0..k)
        .map(|c| (0..p).map(|j| init_cm[j * k + c]).collect())
        .collect();
    let km = KMeansParams {
        n_clusters: k,
        init: KMeansInit::Explicit(init),
        n_threads: Some(2),
        ..Default::default()
    }
    .check()
    .unwrap();
    let (t_km, m) = best_of(repeats, || km.fit(&x_km, &features).unwrap());
    println!("slipway_kmeans_given_init_fit_s: {t_km:.4} s");
    println!("slipway_kmeans_given_init_n_iter: {} iterations", m.n_iter);
    println!("slipway_kmeans_given_init_inertia: {:.6} value", m.inertia);
    let kmpp = KMeansParams {
        n_clusters: k,
        n_threads: Some(2),
        ..Default::default()
    }
    .check()
    .unwrap();
    let (t_kmpp, m) = best_of(repeats, || kmpp.fit(&x_km, &features).unwrap());
    println!("slipway_kmeans_pp_fit_s: {t_kmpp:.4} s");
    println!("slipway_kmeans_pp_n_iter: {} iterations", m.n_iter);
    println!("slipway_kmeans_pp_inertia: {:.6} value", m.inertia);

    // Gaussian naive Bayes fit (same data as k-NN training).
    let gnb = GaussianNbParams::default().check().unwrap();
    let (t_nb, _) = best_of(repeats, || gnb.fit(&train, None).unwrap());
    println!("slipway_gnb_fit_s: {t_nb:.5} s");

    // Elastic net fit.
    let n_reg = get("reg_rows") as usize;
    let x_reg = mat("reg.f64", n_reg);
    let y_reg = Target::Real(read_f64(&dir.join("reg_y.f64")));
    let en = ElasticNetParams {
        alpha: get("enet_alpha"),
        l1_ratio: get("enet_l1_ratio"),
        ..Default::default()
    }
    .check()
    .unwrap();
    let reg = TrainData {
        x: &x_reg,
        y: &y_reg,
        features: &features,
        weights: None,
    };
    let (t_en, m) = best_of(repeats, || en.fit(&reg, None).unwrap());
    println!("slipway_enet_fit_s: {t_en:.4} s");
    println!("slipway_enet_n_iter: {} iterations", m.n_iter);
}
