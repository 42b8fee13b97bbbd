//! SHAP interaction values: equal to `shap.TreeExplainer(booster).shap_interaction_values`
//! (reference values written by `tests/reference/make_interactions.py`) on imported LightGBM
//! models and Slipway GBDT models exported as LightGBM text; equal to the Shapley interaction
//! index enumerated from its definition on Slipway's GBDT, decision tree, random forest and
//! extra trees; each matrix row sums to that feature's SHAP value and the whole matrix to
//! the raw score less the base value, to 1e-9; input-column sums keep those sums.

mod common;

use std::path::{Path, PathBuf};

use common::brute_force_interactions;
use serde_json::Value;
use slipway_data::Table;
use slipway_data::ingest::{ReadOptions, read_table};
use slipway_explain::interactions::TreeInteractions;
use slipway_explain::{PipelineExplainer, TreeShap};
use slipway_learn::gbdt::GbdtParams;
use slipway_learn::import::{self, ImportedSpec, Library, lightgbm};
use slipway_learn::pipeline::{FittedModel, FittedPipeline};
use slipway_learn::tree::{DecisionTreeParams, ExtraTreesParams, ForestParams, RandomForestParams};
use slipway_learn::trees::Ensemble;
use slipway_learn::{
    Estimator, FeatureKind, FeatureMeta, Matrix, Params, Prediction, Predictor, Target, TrainData,
    exact_json,
};

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(here().join(name)).unwrap()).unwrap()
}

/// The case's pipeline and its first `rows` test rows.
fn load(name: &str, rows: usize) -> (FittedPipeline, Table) {
    let case = json(&format!("{name}.json"));
    let test = read_table(
        &here().join(case["test"].as_str().unwrap()),
        &ReadOptions::default(),
    )
    .unwrap();
    let test = test
        .take(&(0..rows.min(test.n_rows())).collect::<Vec<_>>())
        .unwrap();
    let model = here().join(case["model"].as_str().unwrap());
    let pipeline = if case["kind"] == "slipway" {
        exact_json::from_slice(&std::fs::read(&model).unwrap()).unwrap()
    } else {
        let path = model.to_string_lossy().to_string();
        let text = std::fs::read_to_string(&model).unwrap();
        let file = lightgbm::parse(&text, &path).unwrap();
        let spec = ImportedSpec {
            library: Library::Lightgbm,
            file: path.clone(),
            sha256: "sha256:test".into(),
            objective: file.model.objective().to_string(),
            format_version: file.format_version.clone(),
        };
        import::import_pipeline(file, spec, &test, "test").unwrap()
    };
    (pipeline, test)
}

/// Rows sum to the SHAP values, matrices are symmetric, and everything sums to the raw
/// score less the base value (`raw`: per row, per output).
fn check_sums(e: &Ensemble, x: &Matrix, got: &[f64], raw: &[f64], what: &str) {
    let shap = TreeShap::new(e).unwrap();
    let phi = shap.explain(x).unwrap();
    let m = e.n_features;
    let k = e.n_outputs;
    for r in 0..x.n_rows() {
        for c in 0..k {
            let mat = &got[(r * k + c) * m * m..(r * k + c + 1) * m * m];
            let p = &phi[r * k * (m + 1) + c * (m + 1)..r * k * (m + 1) + (c + 1) * (m + 1)];
            for i in 0..m {
                let s: f64 = mat[i * m..(i + 1) * m].iter().sum();
                assert!(
                    (s - p[i]).abs() <= 1e-9,
                    "{what} row {r} output {c} feature {i}: row sum {s}, SHAP value {}",
                    p[i]
                );
                for j in 0..m {
                    assert!(
                        (mat[i * m + j] - mat[j * m + i]).abs() <= 1e-12,
                        "{what}: not symmetric"
                    );
                }
            }
            let total: f64 = mat.iter().sum();
            let want = raw[r * k + c] - shap.base_values()[c];
            assert!(
                (total - want).abs() <= 1e-9,
                "{what} row {r} output {c}: interactions sum to {total}, score − base {want}"
            );
        }
    }
}

#[test]
fn interaction_values_equal_shap_on_the_reference_models() {
    let doc = json("interactions.json");
    let rows = doc["rows"].as_u64().unwrap() as usize;
    let mut compared = 0;
    let mut slipway = 0;
    for case in doc["cases"].as_array().unwrap() {
        let name = case["case"].as_str().unwrap();
        let (p, test) = load(name, rows);
        let x = p.preprocessor.transform(&test).unwrap();
        let e = Ensemble::of(&p.model).unwrap();
        let inter = TreeInteractions::new(&e).unwrap();
        let got = inter.explain(&x).unwrap();
        let (m, k) = (inter.n_features(), inter.n_outputs());
        assert_eq!(got.len(), x.n_rows() * k * m * m);
        // The model's own raw score.
        let raw: Vec<f64> = match &p.model {
            FittedModel::Gbdt(g) => g.predict_raw(&x),
            FittedModel::Imported(g) => g.predict_raw(&x),
            _ => unreachable!(),
        };
        check_sums(&e, &x, &got, &raw, name);
        if !case["shap_consistent"].as_bool().unwrap() {
            continue;
        }
        compared += 1;
        slipway += usize::from(name.starts_with("slipway_"));
        // LightGBM's values of an average_output model are sums over the iterations.
        let unscale = if p.spec.kind() == "imported" {
            1.0 / e.scale
        } else {
            1.0
        };
        let summed = case["summed_over_outputs"].as_bool().unwrap();
        let kw = if summed { 1 } else { k };
        assert_eq!(case["outputs"].as_u64().unwrap() as usize, kw, "{name}");
        assert_eq!(case["features"].as_u64().unwrap() as usize, m, "{name}");
        let want: Vec<f64> = case["interactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(want.len(), x.n_rows() * kw * m * m, "{name}");
        let mut worst = 0.0f64;
        for r in 0..x.n_rows() {
            for c in 0..kw {
                for ij in 0..m * m {
                    let g: f64 = if summed {
                        (0..k).map(|o| got[(r * k + o) * m * m + ij]).sum()
                    } else {
                        got[(r * k + c) * m * m + ij]
                    } * unscale;
                    let w = want[(r * kw + c) * m * m + ij];
                    worst = worst.max((g - w).abs());
                    assert!(
                        (g - w).abs() <= 1e-6,
                        "{name} row {r} output {c} ({}, {}): Slipway {g}, shap {w}",
                        ij / m,
                        ij % m
                    );
                }
            }
        }
        eprintln!("{name}: largest |Slipway − shap| {worst:.3e}");
    }
    assert!(
        compared >= 5 && slipway >= 2,
        "{compared} cases compared, {slipway} Slipway"
    );
}

#[test]
fn column_sums_keep_each_columns_shap_value() {
    // The Slipway Adult pipeline one-hot encodes some columns.
    let (p, test) = load("slipway_binary_adult", 20);
    let ex = PipelineExplainer::new(&p).unwrap();
    let shap = ex.explain(&p, &test).unwrap();
    let inter = ex.interactions(&p, &test).unwrap();
    let nc = inter.n_columns;
    assert_eq!(nc, ex.columns().len());
    for r in 0..inter.n_rows {
        let mat = inter.columns(r, 0);
        let want = shap.columns(r, 0);
        for a in 0..nc {
            let s: f64 = mat[a * nc..(a + 1) * nc].iter().sum();
            assert!((s - want[a]).abs() <= 1e-9, "row {r} column {a}");
        }
        let total: f64 = mat.iter().sum();
        assert!((total + shap.base[0] - shap.score(r, 0)).abs() <= 1e-9);
    }
}

#[test]
fn interventional_explainers_are_refused_with_a_hint() {
    // A tree model with a background is interventional: no interaction values there.
    let (p, test) = load("slipway_regression_diabetes", 5);
    let mut ex = PipelineExplainer::new(&p).unwrap();
    ex.set_background(&p, &test, 5).unwrap();
    let err = ex.interactions(&p, &test).unwrap_err().to_string();
    assert!(err.contains("path-dependent"), "{err}");
}

/// 200 rows, 6 features (one categorical with 5 codes), NaN in two columns.
fn data(classes: Option<usize>) -> (Matrix, Target, Vec<FeatureMeta>) {
    let mut s = 7u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 10_000) as f64 / 10_000.0
    };
    let n = 200;
    let mut cols: Vec<Vec<f64>> = (0..6).map(|_| Vec::with_capacity(n)).collect();
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let v: Vec<f64> = (0..6).map(|_| next()).collect();
        let cat = (v[5] * 5.0).floor();
        let score = v[0] * v[1] + 0.5 * v[1] - 0.3 * v[2] * v[3]
            + if cat == 2.0 { 0.4 * v[0] } else { 0.0 }
            + 0.2 * next();
        for j in 0..5 {
            let missing = (j == 1 && i % 11 == 0) || (j == 3 && i % 7 == 0);
            cols[j].push(if missing { f64::NAN } else { v[j] });
        }
        cols[5].push(cat);
        y.push(score);
    }
    let target = match classes {
        Some(k) => Target::Classes {
            labels: y
                .iter()
                .map(|s| ((s / 1.5) * k as f64).clamp(0.0, k as f64 - 1.0) as u32)
                .collect(),
            n_classes: k,
        },
        None => Target::Real(y),
    };
    let mut feats: Vec<FeatureMeta> = (0..5)
        .map(|j| FeatureMeta::numeric(format!("x{j}")))
        .collect();
    feats.push(FeatureMeta {
        name: "c".into(),
        kind: FeatureKind::Categorical { n_categories: 5 },
    });
    (Matrix::from_columns(cols).unwrap(), target, feats)
}

fn fit<P: Params>(p: &P, classes: Option<usize>) -> (<P::Checked as Estimator>::Fitted, Matrix)
where
    P::Checked: Estimator,
{
    let (x, y, feats) = data(classes);
    let train = TrainData {
        x: &x,
        y: &y,
        features: &feats,
        weights: None,
    };
    let m = p.check().unwrap().fit(&train, None).unwrap();
    (m, x)
}

/// Against the enumerated definition (first rows) and the sums (every row).
fn check_model(model: &FittedModel, x: &Matrix, what: &str) {
    let e = Ensemble::of(model).unwrap();
    let inter = TreeInteractions::new(&e).unwrap();
    let got = inter.explain(x).unwrap();
    let m = e.n_features;
    let k = e.n_outputs;
    let mut row = vec![0.0; m];
    for r in 0..x.n_rows().min(12) {
        x.row_into(r, &mut row);
        let want = brute_force_interactions(&e, &row);
        let g = &got[r * k * m * m..(r + 1) * k * m * m];
        for (j, (a, b)) in g.iter().zip(&want).enumerate() {
            assert!(
                (a - b).abs() <= 1e-9,
                "{what} row {r} value {j}: Slipway {a}, enumeration {b}"
            );
        }
    }
    let raw: Vec<f64> = match model {
        FittedModel::Gbdt(g) => g.predict_raw(x),
        FittedModel::DecisionTree(t) => prediction(t.predict(x).unwrap(), k),
        FittedModel::RandomForest(f) | FittedModel::ExtraTrees(f) => {
            prediction(f.predict(x).unwrap(), k)
        }
        _ => unreachable!(),
    };
    check_sums(&e, x, &got, &raw, what);
}

fn prediction(p: Prediction, k: usize) -> Vec<f64> {
    match p {
        Prediction::Values(v) => v,
        Prediction::Probabilities(m) => (0..m.n_rows())
            .flat_map(|r| (0..k).map(move |c| (r, c)))
            .map(|(r, c)| m.get(r, c))
            .collect(),
    }
}

#[test]
fn every_tree_family_matches_the_enumeration_and_sums() {
    for classes in [Some(2), Some(3), None] {
        let gbdt = GbdtParams {
            n_estimators: 12,
            num_leaves: 12,
            min_data_in_leaf: 5,
            bagging_fraction: 0.8,
            bagging_freq: 1,
            ..GbdtParams::default()
        };
        let (m, x) = fit(&gbdt, classes);
        check_model(&FittedModel::Gbdt(m), &x, &format!("gbdt {classes:?}"));
        let dt = DecisionTreeParams {
            max_depth: Some(6),
            ..DecisionTreeParams::default()
        };
        let (m, x) = fit(&dt, classes);
        check_model(&FittedModel::DecisionTree(m), &x, "decision tree");
        let fp = ForestParams {
            n_estimators: 6,
            max_depth: Some(5),
            ..ForestParams::default()
        };
        let (m, x) = fit(&RandomForestParams(fp.clone()), classes);
        check_model(&FittedModel::RandomForest(m), &x, "random forest");
        let (m, x) = fit(&ExtraTreesParams(fp), classes);
        check_model(&FittedModel::ExtraTrees(m), &x, "extra trees");
    }
}
