//! Decision trees, random forests and extra trees against scikit-learn 1.9.1
//! (`tests/reference/trees/make_reference.py` wrote `trees_reference.json`), plus
//! determinism, parameter errors and the model bundle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use slipway_data::Role;
use slipway_data::ingest::{ReadOptions, read_table};
use slipway_data::profile::profile;
use slipway_learn::bundle::{BundleContents, Lineage, load_bundle, write_bundle};
use slipway_learn::pipeline::{FittedModel, FittedPipeline, ModelSpec, TargetInfo, TaskHint};
use slipway_learn::tree::{
    DecisionTreeParams, ExtraTreesParams, ForestModel, ForestParams, RandomForestParams,
};
use slipway_learn::{
    Error, Estimator, FeatureMeta, Matrix, Params, Prediction, Predictor, Target, TrainData,
};

// ---------------------------------------------------------------------------------------------
// Helpers

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn reference() -> Value {
    let path = repo().join("crates/slipway-learn/tests/reference/trees/trees_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn numeric(n: usize) -> Vec<FeatureMeta> {
    (0..n)
        .map(|i| FeatureMeta::numeric(format!("x{i}")))
        .collect()
}

fn values(p: Prediction) -> Vec<f64> {
    match p {
        Prediction::Values(v) => v,
        Prediction::Probabilities(m) => {
            // Row-major, like scikit-learn's predict_proba().ravel().
            let mut out = Vec::with_capacity(m.n_rows() * m.n_cols());
            for i in 0..m.n_rows() {
                for k in 0..m.n_cols() {
                    out.push(m.get(i, k));
                }
            }
            out
        }
    }
}

fn assert_close(what: &str, a: &[f64], b: &[f64], tol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol,
            "{what}[{i}]: slipway {x} vs scikit-learn {y}"
        );
    }
}

/// A numeric CSV (header row, no quoting) as columns by name; empty fields are NaN for
/// numbers, `None` for text.
struct Csv {
    names: Vec<String>,
    cells: Vec<Vec<String>>,
}

fn read_csv(path: &Path) -> Csv {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let names = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let cells = lines
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    Csv { names, cells }
}

impl Csv {
    fn col(&self, name: &str) -> Vec<&str> {
        let j = self.names.iter().position(|n| n == name).unwrap();
        self.cells.iter().map(|r| r[j].as_str()).collect()
    }

    fn numbers(&self, name: &str) -> Vec<f64> {
        self.col(name)
            .iter()
            .map(|s| {
                if s.is_empty() {
                    f64::NAN
                } else {
                    s.parse().unwrap()
                }
            })
            .collect()
    }
}

fn accuracy(y: &[u32], p: &Matrix) -> f64 {
    let pred: Vec<u32> = (0..p.n_rows())
        .map(|i| {
            let mut best = 0;
            for k in 1..p.n_cols() {
                if p.get(i, k) > p.get(i, best) {
                    best = k;
                }
            }
            best as u32
        })
        .collect();
    slipway_learn::metrics::accuracy(y, &pred, None).unwrap()
}

fn forest_params(model: &str, extra: &Value, seed: u64) -> ModelSpec {
    let mut p: ForestParams = serde_json::from_value(extra.clone()).unwrap();
    p.n_estimators = 100;
    p.random_state = seed;
    p.n_jobs = Some(2);
    if model.starts_with("RandomForest") {
        ModelSpec::RandomForest(RandomForestParams(p))
    } else {
        ModelSpec::ExtraTrees(ExtraTreesParams(p))
    }
}

/// OOB score (when fitted with it) and holdout accuracy + AUC or R², by name.
fn forest_metrics(
    spec: &ModelSpec,
    train: &TrainData<'_>,
    x_te: &Matrix,
    y_te: &Target,
) -> BTreeMap<&'static str, f64> {
    let model = spec.fit(train, None).unwrap();
    let (FittedModel::RandomForest(m) | FittedModel::ExtraTrees(m)) = &model else {
        panic!("forest spec fits a forest")
    };
    let mut out = BTreeMap::new();
    if let Some(o) = m.oob_score() {
        out.insert("oob_score", o);
    }
    match (y_te, m.predict(x_te).unwrap()) {
        (Target::Classes { labels, .. }, Prediction::Probabilities(p)) => {
            out.insert("accuracy", accuracy(labels, &p));
            let auc = slipway_learn::metrics::roc_auc(labels, p.col(1), None).unwrap();
            out.insert("auc", auc);
        }
        (Target::Real(y), Prediction::Values(v)) => {
            out.insert("r2", slipway_learn::metrics::r2(y, &v, None).unwrap());
        }
        _ => panic!("prediction kind does not match the target"),
    }
    out
}

/// Fits every forest case of a data set and compares with scikit-learn (100 trees, same
/// settings): OOB score and holdout accuracy / AUC / R² no more than 0.01 below (accuracy: or
/// two test rows, whichever is more) and no more than twice that above. On the small data sets a
/// single seed's holdout score moves by more than that from seed to seed (a test row is 0.007
/// of breast cancer's accuracy), so there the mean over random_state 0..9 is compared on both
/// sides; Adult compares random_state 0.
fn compare_forests(cases: &Value, x_tr: &Matrix, y_tr: &Target, x_te: &Matrix, y_te: &Target) {
    let feats = numeric(x_tr.n_cols());
    let train = TrainData {
        x: x_tr,
        y: y_tr,
        features: &feats,
        weights: None,
    };
    let mut failures = Vec::new();
    for case in cases.as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let model = case["model"].as_str().unwrap();
        let seeded = case.get("oob_score_mean").is_some()
            || case.get("accuracy_mean").is_some()
            || case.get("r2_mean").is_some();
        let n_seeds = if seeded { 10 } else { 1 };
        let runs: Vec<BTreeMap<&str, f64>> = (0..n_seeds)
            .map(|s| {
                forest_metrics(
                    &forest_params(model, &case["params"], s),
                    &train,
                    x_te,
                    y_te,
                )
            })
            .collect();
        for metric in runs[0].keys() {
            let ours0 = runs[0][metric];
            let ours = runs.iter().map(|r| r[metric]).sum::<f64>() / n_seeds as f64;
            let theirs0 = case[*metric].as_f64().unwrap();
            let theirs = if seeded {
                case[format!("{metric}_mean")].as_f64().unwrap()
            } else {
                theirs0
            };
            println!(
                "{name} {metric}: slipway {ours:.5} scikit-learn {theirs:.5} \
                 (mean of {n_seeds} seeds; seed 0: slipway {ours0:.5} scikit-learn {theirs0:.5})"
            );
            // Accuracy moves in steps of one test row (1/143 on breast cancer): allow two rows
            // where that is more than 0.01.
            let tol = if *metric == "accuracy" {
                (2.0 / x_te.n_rows() as f64).max(0.01)
            } else {
                0.01
            };
            // No worse than scikit-learn by more than `tol`; better by up to twice that (the
            // 10-seed means on the 111-row diabetes holdout still move by about 0.01), so an
            // implausibly good score (leakage) still fails.
            if ours < theirs - tol || ours > theirs + 2.0 * tol {
                failures.push(format!(
                    "{name} {metric}: slipway {ours} vs {theirs} (-{tol} / +{})",
                    2.0 * tol
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

fn split_rows(x: &Matrix, rows: &Value) -> Matrix {
    let r: Vec<usize> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    x.take_rows(&r)
}

fn example_numeric(name: &str) -> (Matrix, Vec<f64>) {
    let csv = read_csv(&repo().join(format!("examples/{name}/{name}.csv")));
    let cols: Vec<Vec<f64>> = csv
        .names
        .iter()
        .filter(|n| *n != "target")
        .map(|n| csv.numbers(n))
        .collect();
    (Matrix::from_columns(cols).unwrap(), csv.numbers("target"))
}

fn take_rows(v: &[f64], rows: &Value) -> Vec<f64> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| v[r.as_u64().unwrap() as usize])
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Exact match of single trees with scikit-learn

#[test]
fn single_trees_match_scikit_learn_exactly_on_few_distinct_values() {
    let r = reference();
    let ex = &r["exact"];
    let nf = ex["n_features"].as_u64().unwrap() as usize;
    let xtr = floats(&ex["x_train"]);
    let xte = floats(&ex["x_test"]);
    let x_tr = Matrix::from_col_major(xtr.len() / nf, nf, xtr).unwrap();
    let x_te = Matrix::from_col_major(xte.len() / nf, nf, xte).unwrap();
    let feats = numeric(nf);
    for case in ex["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let params: DecisionTreeParams = serde_json::from_value(case["params"].clone()).unwrap();
        let y = if case["task"] == "classification" {
            Target::Classes {
                labels: case["y"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as u32)
                    .collect(),
                n_classes: case["n_classes"].as_u64().unwrap() as usize,
            }
        } else {
            Target::Real(floats(&case["y"]))
        };
        let w = (!case["weights"].is_null()).then(|| floats(&case["weights"]));
        let train = TrainData {
            x: &x_tr,
            y: &y,
            features: &feats,
            weights: w.as_deref(),
        };
        let m = params.check().unwrap().fit(&train, None).unwrap();
        let (ktr, kte) = if case["task"] == "classification" {
            ("proba_train", "proba_test")
        } else {
            ("pred_train", "pred_test")
        };
        let tol = 1e-9;
        assert_close(
            &format!("{name} train"),
            &values(m.predict(&x_tr).unwrap()),
            &floats(&case[ktr]),
            tol,
        );
        assert_close(
            &format!("{name} test"),
            &values(m.predict(&x_te).unwrap()),
            &floats(&case[kte]),
            tol,
        );
        // scikit-learn breaks ties between equally good splits by its random feature order;
        // the reference lists every importance vector ten seeds gave.
        let imp = m.feature_importance().unwrap();
        let variants: Vec<Vec<f64>> = case["importance"]
            .as_array()
            .unwrap()
            .iter()
            .map(floats)
            .collect();
        assert!(
            variants
                .iter()
                .any(|v| v.iter().zip(&imp).all(|(a, b)| (a - b).abs() <= 1e-9)),
            "{name} importance {imp:?} is none of {variants:?}"
        );
        assert_eq!(
            m.tree().n_leaves(),
            case["n_leaves"].as_u64().unwrap() as usize,
            "{name} leaves"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Forests against scikit-learn on real data

#[test]
fn forests_match_scikit_learn_on_breast_cancer_and_diabetes() {
    let r = reference();
    for (ds, classification) in [("breast_cancer", true), ("diabetes", false)] {
        let refs = &r["forests"][ds];
        let (x, y) = example_numeric(ds);
        let x_tr = split_rows(&x, &refs["train_rows"]);
        let x_te = split_rows(&x, &refs["test_rows"]);
        let y_tr = take_rows(&y, &refs["train_rows"]);
        let y_te = take_rows(&y, &refs["test_rows"]);
        let target = |v: Vec<f64>| {
            if classification {
                Target::Classes {
                    labels: v.iter().map(|&l| l as u32).collect(),
                    n_classes: 2,
                }
            } else {
                Target::Real(v)
            }
        };
        compare_forests(&refs["cases"], &x_tr, &target(y_tr), &x_te, &target(y_te));
    }
}

/// Adult with text columns as ordinal codes of the sorted training categories (missing or
/// unseen: NaN), as the reference script encodes them.
fn adult() -> (Matrix, Target, Matrix, Target) {
    let tr = read_csv(&repo().join("examples/adult/adult_train.csv"));
    let te = read_csv(&repo().join("examples/adult/adult_test.csv"));
    let mut cols_tr = Vec::new();
    let mut cols_te = Vec::new();
    for name in tr.names.iter().filter(|n| *n != "income") {
        let is_numeric = tr
            .col(name)
            .iter()
            .all(|s| s.is_empty() || s.parse::<f64>().is_ok());
        if is_numeric {
            cols_tr.push(tr.numbers(name));
            cols_te.push(te.numbers(name));
        } else {
            let mut cats: Vec<&str> = tr.col(name).into_iter().filter(|s| !s.is_empty()).collect();
            cats.sort_unstable();
            cats.dedup();
            let code = |s: &str| cats.binary_search(&s).map_or(f64::NAN, |c| c as f64);
            cols_tr.push(tr.col(name).iter().map(|s| code(s)).collect());
            cols_te.push(te.col(name).iter().map(|s| code(s)).collect());
        }
    }
    let target = |c: &Csv| Target::Classes {
        labels: c.numbers("income").iter().map(|&v| v as u32).collect(),
        n_classes: 2,
    };
    (
        Matrix::from_columns(cols_tr).unwrap(),
        target(&tr),
        Matrix::from_columns(cols_te).unwrap(),
        target(&te),
    )
}

#[test]
fn forests_match_scikit_learn_on_adult() {
    let r = reference();
    let (x_tr, y_tr, x_te, y_te) = adult();
    compare_forests(&r["forests"]["adult"]["cases"], &x_tr, &y_tr, &x_te, &y_te);
}

// ---------------------------------------------------------------------------------------------
// Determinism

fn small_forest(extra: bool, n_jobs: usize, seed: u64) -> ForestModel {
    let (x, y) = example_numeric("breast_cancer");
    let y = Target::Classes {
        labels: y.iter().map(|&v| v as u32).collect(),
        n_classes: 2,
    };
    let feats = numeric(x.n_cols());
    let p = ForestParams {
        n_estimators: 24,
        n_jobs: Some(n_jobs),
        random_state: seed,
        oob_score: true,
        bootstrap: Some(true),
        ..ForestParams::default()
    };
    let train = TrainData {
        x: &x,
        y: &y,
        features: &feats,
        weights: None,
    };
    if extra {
        ExtraTreesParams(p)
            .check()
            .unwrap()
            .fit(&train, None)
            .unwrap()
    } else {
        RandomForestParams(p)
            .check()
            .unwrap()
            .fit(&train, None)
            .unwrap()
    }
}

#[test]
fn a_seed_gives_the_same_forest_at_any_thread_count() {
    for extra in [false, true] {
        let one = small_forest(extra, 1, 5);
        let two = small_forest(extra, 2, 5);
        let three = small_forest(extra, 3, 5);
        assert_eq!(one, two);
        assert_eq!(one, three);
        let other = small_forest(extra, 2, 6);
        assert_ne!(one, other, "another seed grows other trees");
    }
}

// ---------------------------------------------------------------------------------------------
// Behaviour

#[test]
fn importance_is_normalized_and_finds_the_signal() {
    let m = small_forest(false, 2, 0);
    let imp = m.feature_importance().unwrap();
    assert!((imp.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!(imp.iter().all(|&v| v >= 0.0));
    let oob = m.oob_score().unwrap();
    assert!(oob > 0.9, "oob {oob}");
}

#[test]
fn missing_values_learn_a_side() {
    // y = 1 exactly where x0 is missing; x1 is noise.
    let n = 400;
    let x0: Vec<f64> = (0..n)
        .map(|i| if i % 3 == 0 { f64::NAN } else { (i % 7) as f64 })
        .collect();
    let x1: Vec<f64> = (0..n).map(|i| ((i * 13) % 11) as f64).collect();
    let labels: Vec<u32> = x0.iter().map(|v| u32::from(v.is_nan())).collect();
    let x = Matrix::from_columns(vec![x0, x1]).unwrap();
    let y = Target::Classes {
        labels: labels.clone(),
        n_classes: 2,
    };
    let feats = numeric(2);
    let train = TrainData {
        x: &x,
        y: &y,
        features: &feats,
        weights: None,
    };
    let m = DecisionTreeParams {
        max_depth: Some(1),
        ..DecisionTreeParams::default()
    }
    .check()
    .unwrap()
    .fit(&train, None)
    .unwrap();
    let Prediction::Probabilities(p) = m.predict(&x).unwrap() else {
        panic!()
    };
    for (i, &l) in labels.iter().enumerate() {
        assert_eq!(p.get(i, 1), f64::from(l), "row {i}");
    }
    assert_eq!(m.feature_importance().unwrap(), vec![1.0, 0.0]);
}

#[test]
fn class_weight_map_matches_sample_weights() {
    let (x, y) = example_numeric("breast_cancer");
    let labels: Vec<u32> = y.iter().map(|&v| v as u32).collect();
    let y = Target::Classes {
        labels: labels.clone(),
        n_classes: 2,
    };
    let feats = numeric(x.n_cols());
    let by_class: DecisionTreeParams =
        serde_json::from_str(r#"{"class_weight": {"0": 3.0}, "max_depth": 5}"#).unwrap();
    let a = by_class
        .check()
        .unwrap()
        .fit(
            &TrainData {
                x: &x,
                y: &y,
                features: &feats,
                weights: None,
            },
            None,
        )
        .unwrap();
    let w: Vec<f64> = labels
        .iter()
        .map(|&l| if l == 0 { 3.0 } else { 1.0 })
        .collect();
    let b = DecisionTreeParams {
        max_depth: Some(5),
        ..DecisionTreeParams::default()
    }
    .check()
    .unwrap()
    .fit(
        &TrainData {
            x: &x,
            y: &y,
            features: &feats,
            weights: Some(&w),
        },
        None,
    )
    .unwrap();
    assert_eq!(a, b);
}

// ---------------------------------------------------------------------------------------------
// Parameter errors

fn param_error(json: &str) -> String {
    let spec: ModelSpec = serde_json::from_str(json).unwrap();
    let task = slipway_learn::Task::Binary;
    match spec.check(task) {
        Err(e @ Error::InvalidParam { .. }) => e.to_string(),
        other => panic!("{json}: expected a parameter error, got {other:?}"),
    }
}

#[test]
fn bad_parameters_are_named() {
    for (json, needle) in [
        (
            r#"{"type":"random_forest","params":{"n_estimators":0}}"#,
            "n_estimators",
        ),
        (
            r#"{"type":"decision_tree","params":{"min_samples_split":1}}"#,
            "min_samples_split",
        ),
        (
            r#"{"type":"extra_trees","params":{"min_samples_leaf":0}}"#,
            "min_samples_leaf",
        ),
        (
            r#"{"type":"random_forest","params":{"max_features":1.5}}"#,
            "max_features",
        ),
        (
            r#"{"type":"extra_trees","params":{"oob_score":true}}"#,
            "oob_score",
        ),
        (
            r#"{"type":"random_forest","params":{"bootstrap":false,"max_samples":0.5}}"#,
            "max_samples",
        ),
        (
            r#"{"type":"decision_tree","params":{"max_bins":256}}"#,
            "max_bins",
        ),
        (
            r#"{"type":"decision_tree","params":{"min_impurity_decrease":-1.0}}"#,
            "min_impurity_decrease",
        ),
        (
            r#"{"type":"random_forest","params":{"class_weight":{"1":-2.0}}}"#,
            "class_weight",
        ),
    ] {
        let msg = param_error(json);
        assert!(msg.contains(needle), "{json}: {msg}");
    }
    // Unknown names and values are refused when the config is read.
    for json in [
        r#"{"type":"random_forest","params":{"n_trees":10}}"#,
        r#"{"type":"random_forest","params":{"criterion":"mse"}}"#,
        r#"{"type":"random_forest","params":{"max_features":"half"}}"#,
    ] {
        assert!(serde_json::from_str::<ModelSpec>(json).is_err(), "{json}");
    }
}

#[test]
fn task_dependent_parameters_are_checked_at_fit() {
    let (x, y) = example_numeric("diabetes");
    let y = Target::Real(y);
    let feats = numeric(x.n_cols());
    let train = TrainData {
        x: &x,
        y: &y,
        features: &feats,
        weights: None,
    };
    for (json, needle) in [
        (r#"{"criterion":"gini"}"#, "criterion"),
        (r#"{"class_weight":"balanced"}"#, "class_weight"),
        (r#"{"max_features":11}"#, "max_features"),
    ] {
        let p: DecisionTreeParams = serde_json::from_str(json).unwrap();
        let e = p.check().unwrap().fit(&train, None).unwrap_err();
        assert!(e.to_string().contains(needle), "{json}: {e}");
    }
    let p = RandomForestParams(ForestParams {
        max_samples: Some(slipway_learn::tree::MaxSamples::Count(10_000)),
        ..ForestParams::default()
    });
    let e = p.check().unwrap().fit(&train, None).unwrap_err();
    assert!(e.to_string().contains("max_samples"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// The bundle

#[test]
fn forest_pipelines_round_trip_through_the_bundle() {
    let mut t = read_table(
        &repo().join("crates/slipway-learn/tests/data/adult_sample.csv"),
        &ReadOptions::default(),
    )
    .unwrap();
    t.set_role("income", Role::Target).unwrap();
    let (target, y) = TargetInfo::fit(&t, "income", TaskHint::Auto).unwrap();
    let rows: Vec<usize> = (0..t.n_rows()).collect();
    for json in [
        r#"{"type":"random_forest","params":{"n_estimators":10,"oob_score":true}}"#,
        r#"{"type":"extra_trees","params":{"n_estimators":10,"max_features":0.5}}"#,
        r#"{"type":"decision_tree","params":{"max_depth":6,"class_weight":"balanced"}}"#,
    ] {
        let spec: ModelSpec = serde_json::from_str(json).unwrap();
        let preprocess = spec.default_preprocess();
        let p = FittedPipeline::fit(&t, &rows, &target, &y, &spec, &preprocess).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("model");
        write_bundle(
            &b,
            BundleContents {
                name: "trees",
                created_at: "2026-11-27T00:00:00Z",
                pipeline: &p,
                profile: &profile(&t),
                metrics: BTreeMap::new(),
                lineage: Lineage::default(),
                extra_files: Vec::new(),
            },
        )
        .unwrap();
        let loaded = load_bundle(&b).unwrap();
        assert_eq!(loaded.pipeline, p, "{json}");
        let bits = |p: Prediction| -> Vec<u64> { values(p).iter().map(|v| v.to_bits()).collect() };
        assert_eq!(
            bits(loaded.pipeline.predict(&t).unwrap()),
            bits(p.predict(&t).unwrap()),
            "{json}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Native categorical splits

fn probabilities(p: Prediction) -> Matrix {
    match p {
        Prediction::Probabilities(m) => m,
        Prediction::Values(_) => panic!("expected probabilities"),
    }
}

/// 40 categories (codes 0..40, some rows missing); class 1 exactly for a scattered set of
/// categories (no threshold on the codes separates it), or missing.
fn scattered_categories() -> (Matrix, Target, Vec<FeatureMeta>) {
    let n = 800;
    let positive = |c: usize| (c * 7 + 3) % 11 < 5;
    let mut x = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        if i % 25 == 0 {
            x.push(f64::NAN);
            labels.push(1);
        } else {
            let c = (i * 17) % 40;
            x.push(c as f64);
            labels.push(u32::from(positive(c)));
        }
    }
    let features = vec![FeatureMeta {
        name: "city".into(),
        kind: slipway_learn::FeatureKind::Categorical { n_categories: 40 },
    }];
    (
        Matrix::from_columns(vec![x]).unwrap(),
        Target::Classes {
            labels,
            n_classes: 2,
        },
        features,
    )
}

#[test]
fn trees_split_native_categories_into_sets_by_mean_response() {
    let (x, y, features) = scattered_categories();
    let Target::Classes { labels, .. } = &y else {
        unreachable!()
    };
    let train = TrainData {
        x: &x,
        y: &y,
        features: &features,
        weights: None,
    };
    // One split on the category set separates the classes (NaN goes with class 1): ordered
    // codes would need many.
    let stump = DecisionTreeParams {
        max_depth: Some(1),
        ..Default::default()
    }
    .check()
    .unwrap()
    .fit(&train, None)
    .unwrap();
    let p = probabilities(stump.predict(&x).unwrap());
    for (i, &l) in labels.iter().enumerate() {
        assert_eq!(p.get(i, 1), f64::from(l), "row {i}");
    }
    // The same for a forest's trees (sqrt of 1 feature = the feature); an unknown category
    // (NaN after native encoding) follows the missing side.
    let forest = RandomForestParams(ForestParams {
        n_estimators: 5,
        max_depth: Some(1),
        bootstrap: Some(false),
        ..Default::default()
    })
    .check()
    .unwrap()
    .fit(&train, None)
    .unwrap();
    let p = probabilities(forest.predict(&x).unwrap());
    for (i, &l) in labels.iter().enumerate() {
        assert_eq!(p.get(i, 1), f64::from(l), "forest row {i}");
    }
    let unseen = Matrix::from_columns(vec![vec![f64::NAN, 3.0, 4.0]]).unwrap();
    let p = probabilities(forest.predict(&unseen).unwrap());
    assert_eq!(p.get(0, 1), 1.0);
    // Regression sorts by the mean target.
    let yr = Target::Real(labels.iter().map(|&l| 10.0 * f64::from(l) - 2.0).collect());
    let train_r = TrainData { y: &yr, ..train };
    let stump = DecisionTreeParams {
        max_depth: Some(1),
        ..Default::default()
    }
    .check()
    .unwrap()
    .fit(&train_r, None)
    .unwrap();
    let got = values(stump.predict(&x).unwrap());
    let Target::Real(want) = &yr else {
        unreachable!()
    };
    assert_eq!(&got, want);
}
