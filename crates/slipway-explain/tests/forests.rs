//! Decision trees, random forests and extra trees (covers: the training weight that reached
//! each node, bootstrap counts included): TreeSHAP in probability space (as shap explains
//! scikit-learn forests) equals the Shapley values enumerated from the definition to 1e-9,
//! and base value + contributions equals the model's predicted probability (or value).

mod common;

use common::brute_force;
use slipway_explain::TreeShap;
use slipway_learn::pipeline::FittedModel;
use slipway_learn::tree::{DecisionTreeParams, ExtraTreesParams, ForestParams, RandomForestParams};
use slipway_learn::trees::Ensemble;
use slipway_learn::{
    Estimator, FeatureKind, FeatureMeta, Matrix, Params, Prediction, Predictor, Target, TrainData,
};

/// 300 rows, 6 features (one categorical with 5 codes), NaN in two columns.
fn data(classes: Option<usize>) -> (Matrix, Target, Vec<FeatureMeta>) {
    let mut s = 99u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 10_000) as f64 / 10_000.0
    };
    let n = 300;
    let mut cols: Vec<Vec<f64>> = (0..6).map(|_| Vec::with_capacity(n)).collect();
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let v: Vec<f64> = (0..6).map(|_| next()).collect();
        let cat = (v[5] * 5.0).floor();
        let score =
            v[0] + 0.5 * v[1] - 0.3 * v[2] + if cat == 2.0 { 0.4 } else { 0.0 } + 0.2 * next();
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
                .map(|s| ((s / 1.7) * k as f64).clamp(0.0, k as f64 - 1.0) as u32)
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

fn check(model: &FittedModel, x: &Matrix) {
    let e = Ensemble::of(model).unwrap();
    assert!(e.has_covers());
    let shap = TreeShap::new(&e).unwrap();
    let got = shap.explain(x).unwrap();
    let w = shap.row_len();
    let nf = shap.n_features();
    let k = shap.n_outputs();
    let pred = match model {
        FittedModel::DecisionTree(m) => m.predict(x).unwrap(),
        FittedModel::RandomForest(m) | FittedModel::ExtraTrees(m) => m.predict(x).unwrap(),
        _ => unreachable!(),
    };
    let mut row = vec![0.0; nf];
    for r in 0..x.n_rows() {
        x.row_into(r, &mut row);
        let g = &got[r * w..(r + 1) * w];
        if r < 25 {
            let want = brute_force(&e, &row);
            for (j, (a, b)) in g.iter().zip(&want).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-9,
                    "row {r} value {j}: TreeSHAP {a}, enumeration {b}"
                );
            }
        }
        for c in 0..k {
            let s: f64 = g[c * (nf + 1)..(c + 1) * (nf + 1)].iter().sum();
            let p = match &pred {
                Prediction::Values(v) => v[r],
                Prediction::Probabilities(m) => m.get(r, c),
            };
            assert!(
                (s - p).abs() <= 1e-9,
                "row {r} output {c}: base + SHAP {s}, prediction {p}"
            );
        }
    }
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

#[test]
fn a_decision_tree_matches_the_enumeration() {
    for classes in [Some(2), Some(3), None] {
        let p = DecisionTreeParams {
            max_depth: Some(6),
            ..DecisionTreeParams::default()
        };
        let (m, x) = fit(&p, classes);
        check(&FittedModel::DecisionTree(m), &x);
    }
}

#[test]
fn forests_match_the_enumeration() {
    let fp = ForestParams {
        n_estimators: 8,
        max_depth: Some(5),
        ..ForestParams::default()
    };
    for classes in [Some(2), Some(3), None] {
        let (m, x) = fit(&RandomForestParams(fp.clone()), classes);
        check(&FittedModel::RandomForest(m), &x);
        let (m, x) = fit(&ExtraTreesParams(fp.clone()), classes);
        check(&FittedModel::ExtraTrees(m), &x);
    }
}
