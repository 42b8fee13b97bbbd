//! Slipway side of the model-quality table (see `bench/quality/run.sh`).
//!
//! Usage: `quality_bench DATA_DIR [DATASET_OR_MODEL ...]`, where DATA_DIR was written by
//! `bench/quality/reference.py`: the fixed train / holdout split of every data set, the model
//! inputs (the same floats scikit-learn fits on) and `settings.json`, which holds every
//! (data set, model) cell with the Slipway `ModelSpec` whose settings equal scikit-learn's.
//! Optional filters keep only the cells whose data set or model is named.
//!
//! Fits every cell once per seed and prints `slipway_<set>_<model>_<metric>: value unit`
//! lines: the mean over seeds of holdout accuracy and ROC AUC (classification; accuracy is
//! the argmax of the class probabilities) or R² and RMSE (regression), computed with
//! `slipway_learn::metrics`, and with several seeds `..._sem` lines, the standard error of
//! that mean.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};
use slipway_learn::metrics::Metric;
use slipway_learn::pipeline::ModelSpec;
use slipway_learn::{FeatureKind, FeatureMeta, Matrix, Predictor, Target, TrainData};

/// Reads a little-endian f64 file.
fn read_f64(path: &Path) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect()
}

/// Reads a JSON file.
fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads one row index per line.
fn read_rows(path: &Path) -> Vec<usize> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| l.trim().parse().unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

/// One data set: both inputs, the targets and the text columns' category counts.
struct DataSet {
    dense: (Matrix, Matrix),
    tree: (Matrix, Matrix),
    y_train: Target,
    y_test: Target,
    tree_categories: Vec<usize>,
}

impl DataSet {
    fn load(dir: &Path) -> DataSet {
        let meta = read_json(&dir.join("meta.json"));
        let get = |k: &str| meta[k].as_u64().unwrap_or_else(|| panic!("meta.json: {k}")) as usize;
        let (n_tr, n_te) = (get("n_train"), get("n_test"));
        let mat = |name: &str, n: usize, p: usize| {
            Matrix::from_col_major(n, p, read_f64(&dir.join(format!("{name}.f64"))))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let (nd, nt) = (get("n_dense"), get("n_tree"));
        let target = |name: &str| {
            let v = read_f64(&dir.join(format!("{name}.f64")));
            if meta["task"] == "classification" {
                Target::Classes {
                    labels: v.iter().map(|&c| c as u32).collect(),
                    n_classes: get("n_classes"),
                }
            } else {
                Target::Real(v)
            }
        };
        DataSet {
            dense: (mat("dense_train", n_tr, nd), mat("dense_test", n_te, nd)),
            tree: (mat("tree_train", n_tr, nt), mat("tree_test", n_te, nt)),
            y_train: target("y_train"),
            y_test: target("y_test"),
            tree_categories: meta["tree_categories"]
                .as_array()
                .expect("tree_categories")
                .iter()
                .map(|v| v.as_u64().expect("a count") as usize)
                .collect(),
        }
    }
}

/// The feature kinds of a cell's input: GBDT treats text columns as categorical (LightGBM's
/// `categorical_feature` on the reference side); every other model sees numbers.
fn features(cell: &Value, data: &DataSet, n_cols: usize) -> Vec<FeatureMeta> {
    let categorical = cell["model"] == "gbdt" && cell["input"] == "tree";
    (0..n_cols)
        .map(|j| match data.tree_categories.get(j) {
            Some(&k) if categorical && k > 0 => FeatureMeta {
                name: format!("x{j}"),
                kind: FeatureKind::Categorical { n_categories: k },
            },
            _ => FeatureMeta::numeric(format!("x{j}")),
        })
        .collect()
}

/// The cell's `ModelSpec` with `seed` set in its seed field (if it has one).
fn spec(cell: &Value, seed: u64) -> ModelSpec {
    let mut params = cell["slipway"].clone();
    if let Some(field) = cell["seed_slipway"].as_str() {
        params[field] = json!(seed);
    }
    let v = json!({"type": cell["model"], "params": params});
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{v}: {e}"))
}

/// Holdout metrics of one fit.
fn fit_score(cell: &Value, data: &DataSet, dir: &Path, seed: u64) -> BTreeMap<&'static str, f64> {
    let (x_tr, x_te) = if cell["input"] == "tree" {
        &data.tree
    } else {
        &data.dense
    };
    let (x_tr, y_tr) = match cell["train_rows"].as_str() {
        Some(path) => {
            let rows = read_rows(&dir.join(path));
            (x_tr.take_rows(&rows), data.y_train.take(&rows))
        }
        None => (x_tr.clone(), data.y_train.clone()),
    };
    let feats = features(cell, data, x_tr.n_cols());
    let train = TrainData {
        x: &x_tr,
        y: &y_tr,
        features: &feats,
        weights: None,
    };
    let model = spec(cell, seed)
        .fit(&train, None)
        .unwrap_or_else(|e| panic!("{} {}: {e}", cell["dataset"], cell["model"]));
    let pred = model.predict(x_te).expect("predict");
    let metrics: [(&str, Metric); 2] = if data.y_test.task().is_classification() {
        [("accuracy", Metric::Accuracy), ("auc", Metric::RocAuc)]
    } else {
        [("r2", Metric::R2), ("rmse", Metric::Rmse)]
    };
    metrics
        .into_iter()
        .map(|(name, m)| (name, m.score(&data.y_test, &pred).expect("score")))
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .expect("usage: quality_bench DATA_DIR [DATASET_OR_MODEL ...]"),
    );
    let only: Vec<String> = args.collect();
    let settings = read_json(&dir.join("settings.json"));
    let mut sets: BTreeMap<String, DataSet> = BTreeMap::new();
    for cell in settings["cells"].as_array().expect("cells") {
        let set = cell["dataset"].as_str().expect("dataset");
        let model = cell["model"].as_str().expect("model");
        if !only.is_empty() && !only.iter().any(|o| o == set || o == model) {
            continue;
        }
        let data = sets
            .entry(set.to_string())
            .or_insert_with(|| DataSet::load(&dir.join(set)));
        let seeds: Vec<u64> = cell["seeds"]
            .as_array()
            .expect("seeds")
            .iter()
            .map(|s| s.as_u64().expect("a seed"))
            .collect();
        let t0 = Instant::now();
        let runs: Vec<_> = seeds
            .iter()
            .map(|&s| fit_score(cell, data, &dir, s))
            .collect();
        let secs = t0.elapsed().as_secs_f64();
        for metric in runs[0].keys() {
            let vals: Vec<f64> = runs.iter().map(|r| r[metric]).collect();
            let n = vals.len() as f64;
            let mean = vals.iter().sum::<f64>() / n;
            println!("slipway_{set}_{model}_{metric}: {mean:.6} {metric}");
            if vals.len() > 1 {
                // Standard error of the mean over seeds (sample standard deviation / sqrt(n)).
                let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
                let sem = (var / n).sqrt();
                println!("slipway_{set}_{model}_{metric}_sem: {sem:.6} {metric}");
            }
        }
        println!("slipway_{set}_{model}_fit_predict_s: {secs:.3} s");
    }
}
