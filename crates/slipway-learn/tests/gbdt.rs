//! Tests of the gradient-boosting machine.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use slipway_learn::gbdt::{GbdtModel, GbdtParams, ImportanceKind};
use slipway_learn::{
    Error, Estimator, FeatureKind, FeatureMeta, Matrix, Params, Prediction, Predictor, Target,
    Task, TrainData,
};

// ---------------------------------------------------------------------------------------------
// Helpers

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

fn numeric(n: usize) -> Vec<FeatureMeta> {
    (0..n)
        .map(|i| FeatureMeta::numeric(format!("x{i}")))
        .collect()
}

fn classes(labels: Vec<u32>, n_classes: usize) -> Target {
    Target::Classes { labels, n_classes }
}

/// Positive-class probabilities of a binary model.
fn p1(m: &GbdtModel, x: &Matrix) -> Vec<f64> {
    match m.predict(x).unwrap() {
        Prediction::Probabilities(p) => p.col(1).to_vec(),
        Prediction::Values(_) => panic!("binary model predicts probabilities"),
    }
}

/// `n` rows of `nf` standard-ish uniform features in [-1, 1].
fn uniform(n: usize, nf: usize, seed: u64) -> Matrix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let cols = (0..nf)
        .map(|_| (0..n).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect())
        .collect();
    Matrix::from_columns(cols).unwrap()
}

/// A binary problem: y = 1 when x0 + x1² - 0.3 + noise > 0.
fn binary_data(n: usize, seed: u64) -> (Matrix, Vec<f64>) {
    let x = uniform(n, 5, seed);
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 100);
    let y = (0..n)
        .map(|i| {
            let s = x.get(i, 0) + x.get(i, 1).powi(2) - 0.3 + 0.3 * (rng.random::<f64>() - 0.5);
            f64::from(u8::from(s > 0.0))
        })
        .collect();
    (x, y)
}

fn fit(p: &GbdtParams, x: &Matrix, y: &Target, feats: &[FeatureMeta]) -> GbdtModel {
    let train = TrainData {
        x,
        y,
        features: feats,
        weights: None,
    };
    p.check().unwrap().fit(&train, None).unwrap()
}

fn small_params() -> GbdtParams {
    GbdtParams {
        n_estimators: 50,
        num_leaves: 15,
        min_data_in_leaf: 10,
        n_threads: Some(2),
        ..GbdtParams::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Quality on synthetic data

#[test]
fn binary_learns() {
    let (x, y) = binary_data(3000, 1);
    let (xt, yt) = binary_data(1000, 2);
    let target = classes(y.iter().map(|&v| v as u32).collect(), 2);
    let m = fit(&small_params(), &x, &target, &numeric(5));
    assert_eq!(m.task(), Task::Binary);
    assert_eq!(m.n_trees(), 50);
    let p = p1(&m, &xt);
    let a = auc(&yt, &p);
    assert!(a > 0.95, "auc {a}");
    // Probabilities: two columns summing to one.
    let Prediction::Probabilities(pm) = m.predict(&xt).unwrap() else {
        panic!()
    };
    assert_eq!(pm.n_cols(), 2);
    for i in 0..xt.n_rows() {
        assert!((pm.get(i, 0) + pm.get(i, 1) - 1.0).abs() < 1e-12);
    }
    // Raw scores are log-odds.
    let raw = m.predict_raw(&xt);
    assert_eq!(raw.len(), xt.n_rows());
    assert!((1.0 / (1.0 + (-raw[0]).exp()) - p[0]).abs() < 1e-12);
    // The informative features carry the gain.
    let imp = m.feature_importance().unwrap();
    assert!((imp.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    assert!(imp[0] > imp[2] && imp[1] > imp[3], "{imp:?}");
    let splits = m.importance(ImportanceKind::Split);
    assert!(splits.iter().all(|&s| s == s.round()));
    assert!(splits[0] > 0.0);
}

#[test]
fn multiclass_learns() {
    let n = 3000;
    let x = uniform(n, 4, 3);
    let label = |i: usize, x: &Matrix| -> u32 {
        if x.get(i, 0) < -0.3 {
            0
        } else if x.get(i, 1) > 0.0 {
            1
        } else {
            2
        }
    };
    let y: Vec<u32> = (0..n).map(|i| label(i, &x)).collect();
    let xt = uniform(1000, 4, 4);
    let yt: Vec<u32> = (0..1000).map(|i| label(i, &xt)).collect();
    let m = fit(&small_params(), &x, &classes(y, 3), &numeric(4));
    assert_eq!(m.task(), Task::Multiclass { n_classes: 3 });
    assert_eq!(m.n_trees(), 150);
    assert_eq!(m.predict_raw(&xt).len(), 3000);
    let Prediction::Probabilities(p) = m.predict(&xt).unwrap() else {
        panic!()
    };
    assert_eq!(p.n_cols(), 3);
    let mut correct = 0;
    for (i, &yi) in yt.iter().enumerate() {
        let row: Vec<f64> = (0..3).map(|c| p.get(i, c)).collect();
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let arg = (0..3).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        correct += usize::from(arg as u32 == yi);
    }
    let acc = correct as f64 / 1000.0;
    assert!(acc > 0.95, "accuracy {acc}");
}

#[test]
fn regression_learns() {
    let n = 3000;
    let f = |a: f64, b: f64| (3.0 * a).sin() + b * b;
    let x = uniform(n, 3, 5);
    let y: Vec<f64> = (0..n).map(|i| f(x.get(i, 0), x.get(i, 1))).collect();
    let xt = uniform(1000, 3, 6);
    let yt: Vec<f64> = (0..1000).map(|i| f(xt.get(i, 0), xt.get(i, 1))).collect();
    let p = GbdtParams {
        n_estimators: 100,
        ..small_params()
    };
    let m = fit(&p, &x, &Target::Real(y), &numeric(3));
    assert_eq!(m.task(), Task::Regression);
    let Prediction::Values(v) = m.predict(&xt).unwrap() else {
        panic!()
    };
    let mean = yt.iter().sum::<f64>() / yt.len() as f64;
    let ss_res: f64 = yt.iter().zip(&v).map(|(a, b)| (a - b).powi(2)).sum();
    let ss_tot: f64 = yt.iter().map(|a| (a - mean).powi(2)).sum();
    let r2 = 1.0 - ss_res / ss_tot;
    assert!(r2 > 0.97, "r2 {r2}");
}

#[test]
fn sampling_and_coarse_bins_still_learn() {
    let (x, y) = binary_data(4000, 22);
    let (xt, yt) = binary_data(1000, 23);
    let target = classes(y.iter().map(|&v| v as u32).collect(), 2);
    for p in [
        GbdtParams {
            bagging_fraction: 0.5,
            bagging_freq: 2,
            feature_fraction: 0.6,
            ..small_params()
        },
        GbdtParams {
            max_bin: 15,
            lambda_l2: 1.0,
            max_depth: Some(4),
            ..small_params()
        },
    ] {
        let m = fit(&p, &x, &target, &numeric(5));
        let a = auc(&yt, &p1(&m, &xt));
        assert!(a > 0.94, "auc {a} with {p:?}");
    }
}

#[test]
fn multiclass_and_regression_stop_early_on_a_holdout() {
    let n = 3000;
    let x = uniform(n, 4, 24);
    let mut rng = ChaCha8Rng::seed_from_u64(25);
    let y: Vec<u32> = (0..n)
        .map(|i| {
            let s = x.get(i, 0) + 0.8 * (rng.random::<f64>() - 0.5);
            if s < -0.3 {
                0
            } else if s < 0.3 {
                1
            } else {
                2
            }
        })
        .collect();
    let p = GbdtParams {
        n_estimators: 400,
        learning_rate: 0.3,
        early_stopping_rounds: Some(5),
        validation_fraction: 0.2,
        ..small_params()
    };
    let m = fit(&p, &x, &classes(y, 3), &numeric(4));
    let best = m.best_iteration().unwrap();
    assert!(best < 395);
    assert_eq!(m.n_trees(), 3 * (best + 1));
    let yr: Vec<f64> = (0..n)
        .map(|i| x.get(i, 1) + 0.5 * (rng.random::<f64>() - 0.5))
        .collect();
    let m = fit(&p, &x, &Target::Real(yr), &numeric(4));
    let best = m.best_iteration().unwrap();
    assert!(best < 395);
    assert_eq!(m.n_trees(), best + 1);
    assert!(m.eval_history()[best] < m.eval_history()[0]);
}

// ---------------------------------------------------------------------------------------------
// Against LightGBM

#[derive(serde::Deserialize)]
struct RefCase {
    name: String,
    objective: String,
    features: Vec<String>,
    x: Vec<Vec<f64>>,
    y: Vec<f64>,
    train_rows: Vec<usize>,
    test_rows: Vec<usize>,
    params: serde_json::Value,
    lightgbm: serde_json::Value,
    /// LightGBM's holdout predictions (probability of class 1, or values).
    pred: Vec<f64>,
}

/// Largest difference between Slipway's and LightGBM's prediction of a holdout row.
fn max_pred_diff(c: &RefCase, ours: &[f64]) -> f64 {
    assert_eq!(
        ours.len(),
        c.pred.len(),
        "{}: one prediction per row",
        c.name
    );
    ours.iter()
        .zip(&c.pred)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

#[derive(serde::Deserialize)]
struct RefFile {
    cases: Vec<RefCase>,
}

#[test]
fn matches_lightgbm_reference() {
    let file: RefFile =
        serde_json::from_str(include_str!("reference/gbdt_reference.json")).unwrap();
    for c in &file.cases {
        let take = |rows: &[usize]| {
            let flat: Vec<f64> = rows.iter().flat_map(|&r| c.x[r].clone()).collect();
            Matrix::from_row_major(rows.len(), c.features.len(), &flat).unwrap()
        };
        let (xtr, xte) = (take(&c.train_rows), take(&c.test_rows));
        let ytr: Vec<f64> = c.train_rows.iter().map(|&r| c.y[r]).collect();
        let yte: Vec<f64> = c.test_rows.iter().map(|&r| c.y[r]).collect();
        let p = GbdtParams {
            n_estimators: c.params["num_boost_round"].as_u64().unwrap() as usize,
            num_leaves: c.params["num_leaves"].as_u64().unwrap() as usize,
            learning_rate: c.params["learning_rate"].as_f64().unwrap(),
            min_data_in_leaf: c.params["min_data_in_leaf"].as_u64().unwrap() as usize,
            n_threads: Some(1),
            ..GbdtParams::default()
        };
        let feats = numeric(c.features.len());
        if c.objective == "binary" {
            let y = classes(ytr.iter().map(|&v| v as u32).collect(), 2);
            let m = fit(&p, &xtr, &y, &feats);
            let pr = p1(&m, &xte);
            let (a, l) = (auc(&yte, &pr), logloss(&yte, &pr));
            let (la, ll) = (
                c.lightgbm["auc"].as_f64().unwrap(),
                c.lightgbm["logloss"].as_f64().unwrap(),
            );
            let d = max_pred_diff(c, &pr);
            eprintln!(
                "{}: auc {a:.6} (lightgbm {la:.6}), logloss {l:.6} ({ll:.6}), largest probability difference {d:.2e}",
                c.name
            );
            // Same bins, same split search (row counts estimated from hessians as LightGBM
            // does): the trees are LightGBM's, up to float rounding in the sums.
            assert!(d < 1e-6, "{}: probability differs by {d}", c.name);
            assert!(
                (a - la).abs() < 1e-9,
                "{}: auc {a} vs lightgbm {la}",
                c.name
            );
            assert!(
                (l - ll).abs() < 1e-6,
                "{}: logloss {l} vs lightgbm {ll}",
                c.name
            );
        } else {
            let m = fit(&p, &xtr, &Target::Real(ytr), &feats);
            let Prediction::Values(v) = m.predict(&xte).unwrap() else {
                panic!()
            };
            let mse = yte
                .iter()
                .zip(&v)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                / yte.len() as f64;
            let lm = c.lightgbm["mse"].as_f64().unwrap();
            let d = max_pred_diff(c, &v);
            eprintln!(
                "{}: mse {mse:.6} (lightgbm {lm:.6}), largest difference {d:.2e}",
                c.name
            );
            assert!(d < 1e-6, "{}: prediction differs by {d}", c.name);
            assert!(
                (mse - lm).abs() < 1e-6 * lm,
                "{}: mse {mse} vs lightgbm {lm}",
                c.name
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Missing values and categories

#[test]
fn learns_where_missing_values_go() {
    // x0 is NaN for a third of the rows, and those rows are positive; otherwise y = x0 > 0.5.
    let n = 3000;
    let mut x = uniform(n, 3, 7);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        if i % 3 == 0 {
            x.set(i, 0, f64::NAN);
            y.push(1);
        } else {
            y.push(u32::from(x.get(i, 0) > 0.5));
        }
    }
    let p = GbdtParams {
        n_estimators: 20,
        ..small_params()
    };
    let m = fit(&p, &x, &classes(y, 2), &numeric(3));
    let test = Matrix::from_columns(vec![
        vec![f64::NAN, 0.9, 0.0, -0.9],
        vec![0.0; 4],
        vec![0.0; 4],
    ])
    .unwrap();
    let pr = p1(&m, &test);
    assert!(pr[0] > 0.9, "NaN row: {pr:?}");
    assert!(pr[1] > 0.9, "{pr:?}");
    assert!(pr[2] < 0.1 && pr[3] < 0.1, "{pr:?}");

    // A feature without NaN in training sends NaN where 0 goes (like LightGBM).
    let x2 = uniform(n, 1, 8);
    let y2: Vec<u32> = (0..n).map(|i| u32::from(x2.get(i, 0) > 0.5)).collect();
    let m2 = fit(&p, &x2, &classes(y2, 2), &numeric(1));
    let t2 = Matrix::from_columns(vec![vec![f64::NAN, 0.0, 0.9]]).unwrap();
    let pr2 = p1(&m2, &t2);
    assert!((pr2[0] - pr2[1]).abs() < 1e-12, "{pr2:?}");
    assert!(pr2[2] > 0.9);
}

#[test]
fn infinite_values_are_extremes() {
    // x0 = ±inf on some rows: they bin with the smallest / largest values.
    let n = 2000;
    let mut x = uniform(n, 2, 20);
    for i in (0..n).step_by(10) {
        x.set(
            i,
            0,
            if i % 20 == 0 {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            },
        );
    }
    let y: Vec<u32> = (0..n).map(|i| u32::from(x.get(i, 0) > 0.0)).collect();
    let m = fit(&small_params(), &x, &classes(y, 2), &numeric(2));
    let t =
        Matrix::from_columns(vec![vec![f64::INFINITY, f64::NEG_INFINITY], vec![0.0; 2]]).unwrap();
    let pr = p1(&m, &t);
    assert!(pr[0] > 0.9 && pr[1] < 0.1, "{pr:?}");
    let back: GbdtModel = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(back.predict_raw(&t), m.predict_raw(&t));
}

fn categorical_data(n: usize, n_cat: usize, seed: u64) -> Matrix {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let c: Vec<f64> = (0..n)
        .map(|_| (rng.random::<u64>() % n_cat as u64) as f64)
        .collect();
    let noise: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
    Matrix::from_columns(vec![c, noise]).unwrap()
}

#[test]
fn categorical_many_vs_many_split() {
    // 12 categories; categories 1, 4, 7 and 10 are positive. One categorical split must find
    // the set (a numeric split on the codes could not).
    let n = 4000;
    let positive = [1usize, 4, 7, 10];
    let x = categorical_data(n, 12, 9);
    let y: Vec<u32> = (0..n)
        .map(|i| u32::from(positive.contains(&(x.get(i, 0) as usize))))
        .collect();
    let feats = vec![
        FeatureMeta {
            name: "c".into(),
            kind: FeatureKind::Categorical { n_categories: 12 },
        },
        FeatureMeta::numeric("noise"),
    ];
    let p = GbdtParams {
        n_estimators: 1,
        num_leaves: 2,
        learning_rate: 1.0,
        ..small_params()
    };
    let m = fit(&p, &x, &classes(y, 2), &feats);
    let codes: Vec<f64> = (0..12).map(f64::from).chain([f64::NAN, 15.0]).collect();
    let t = Matrix::from_columns(vec![codes, vec![0.5; 14]]).unwrap();
    let pr = p1(&m, &t);
    let pos_min = positive.iter().map(|&c| pr[c]).fold(1.0, f64::min);
    let neg_max = (0..12)
        .filter(|c| !positive.contains(c))
        .map(|c| pr[c])
        .fold(0.0, f64::max);
    assert!(pos_min > neg_max, "{pr:?}");
    // Missing and unseen categories go right, with the negatives here (the positive set is
    // the smaller, so it is the left one).
    assert!((pr[12] - neg_max).abs() < 1e-12 || (pr[12] - pos_min).abs() < 1e-12);
    assert_eq!(pr[12], pr[13]);
}

#[test]
fn categorical_one_vs_rest_split() {
    let n = 2000;
    let x = categorical_data(n, 3, 10);
    let y: Vec<u32> = (0..n).map(|i| u32::from(x.get(i, 0) == 2.0)).collect();
    let feats = vec![
        FeatureMeta {
            name: "c".into(),
            kind: FeatureKind::Categorical { n_categories: 3 },
        },
        FeatureMeta::numeric("noise"),
    ];
    let m = fit(&small_params(), &x, &classes(y, 2), &feats);
    let t = Matrix::from_columns(vec![vec![0.0, 1.0, 2.0, f64::NAN], vec![0.5; 4]]).unwrap();
    let pr = p1(&m, &t);
    assert!(pr[2] > 0.95 && pr[0] < 0.05 && pr[1] < 0.05, "{pr:?}");
    assert!(pr[3] < 0.05, "missing goes right: {pr:?}");
}

/// LightGBM (4.7.0, default `max_cat_to_onehot` 4) searches a 4-category feature many
/// against many and splits {0, 1} from {2, 3} here in one two-leaf tree; a 3-category feature
/// is split one against the rest.
#[test]
fn four_categories_are_searched_many_against_many() {
    let n = 4000;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let c: Vec<f64> = (0..n)
        .map(|_| f64::from(rng.random_range(0..4u32)))
        .collect();
    let y: Vec<u32> = c
        .iter()
        .map(|&v| u32::from((v < 2.0) ^ (rng.random::<f64>() < 0.1)))
        .collect();
    let x = Matrix::from_columns(vec![c]).unwrap();
    let feats = vec![FeatureMeta {
        name: "c".into(),
        kind: FeatureKind::Categorical { n_categories: 4 },
    }];
    let p = GbdtParams {
        n_estimators: 1,
        num_leaves: 2,
        ..small_params()
    };
    let m = fit(&p, &x, &classes(y, 2), &feats);
    let t = Matrix::from_columns(vec![vec![0.0, 1.0, 2.0, 3.0]]).unwrap();
    let pr = p1(&m, &t);
    assert_eq!(pr[0], pr[1], "{pr:?}");
    assert_eq!(pr[2], pr[3], "{pr:?}");
    assert!(pr[0] > pr[2], "{pr:?}");
}

#[test]
fn adult_like_mixed_features() {
    // A categorical feature with many categories interacting with a numeric one.
    let n = 5000;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let cats: Vec<f64> = (0..n).map(|_| (rng.random::<u64>() % 40) as f64).collect();
    let num: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
    let effect = |c: f64| ((c * 7.0) % 13.0) / 13.0 - 0.5;
    let y: Vec<u32> = (0..n)
        .map(|i| {
            u32::from(effect(cats[i]) + num[i] - 0.5 + 0.3 * (rng.random::<f64>() - 0.5) > 0.0)
        })
        .collect();
    let x = Matrix::from_columns(vec![cats, num]).unwrap();
    let feats = vec![
        FeatureMeta {
            name: "c".into(),
            kind: FeatureKind::Categorical { n_categories: 40 },
        },
        FeatureMeta::numeric("x"),
    ];
    let (tr, te): (Vec<usize>, Vec<usize>) = (0..n).partition(|i| i % 4 != 0);
    let m = fit(
        &small_params(),
        &x.take_rows(&tr),
        &classes(tr.iter().map(|&i| y[i]).collect(), 2),
        &feats,
    );
    let pr = p1(&m, &x.take_rows(&te));
    let yt: Vec<f64> = te.iter().map(|&i| f64::from(y[i])).collect();
    let a = auc(&yt, &pr);
    assert!(a > 0.93, "auc {a}");
}

// ---------------------------------------------------------------------------------------------
// Early stopping

#[test]
fn early_stopping_keeps_best_iteration() {
    // Noisy labels: the validation loss bottoms out early.
    let n = 2000;
    let x = uniform(n, 5, 12);
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let y: Vec<u32> = (0..n)
        .map(|i| u32::from(x.get(i, 0) + 1.5 * (rng.random::<f64>() - 0.5) > 0.0))
        .collect();
    let xv = uniform(1000, 5, 14);
    let yv: Vec<u32> = (0..1000)
        .map(|i| u32::from(xv.get(i, 0) + 1.5 * (rng.random::<f64>() - 0.5) > 0.0))
        .collect();
    let p = GbdtParams {
        n_estimators: 500,
        learning_rate: 0.3,
        num_leaves: 31,
        min_data_in_leaf: 5,
        early_stopping_rounds: Some(10),
        ..small_params()
    };
    let yt = classes(y, 2);
    let ytv = classes(yv, 2);
    let feats = numeric(5);
    let train = TrainData {
        x: &x,
        y: &yt,
        features: &feats,
        weights: None,
    };
    let valid = TrainData {
        x: &xv,
        y: &ytv,
        features: &feats,
        weights: None,
    };
    let m = p.check().unwrap().fit(&train, Some(&valid)).unwrap();
    let best = m
        .best_iteration()
        .expect("early stopping sets the best iteration");
    let h = m.eval_history();
    assert!(h.len() < 500, "stopped early");
    assert_eq!(h.len(), best + 11, "ran 10 rounds past the best");
    assert_eq!(m.n_trees(), best + 1);
    let min = h.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(h[best], min);
    // The kept model scores the best loss on the validation set.
    let pr = p1(&m, &xv);
    let ll = logloss(
        &(0..1000)
            .map(|i| f64::from(ytv_label(&ytv, i)))
            .collect::<Vec<_>>(),
        &pr,
    );
    assert!((ll - min).abs() < 1e-6, "{ll} vs {min}");

    // Without a validation set, a stratified share of the training rows is held out.
    let m2 = p.check().unwrap().fit(&train, None).unwrap();
    assert!(m2.best_iteration().is_some());
    assert!(m2.n_trees() < 500);
    assert_eq!(m2.eval_history().len(), m2.best_iteration().unwrap() + 11);
}

fn ytv_label(t: &Target, i: usize) -> u8 {
    match t {
        Target::Classes { labels, .. } => labels[i] as u8,
        Target::Real(_) => unreachable!(),
    }
}

// ---------------------------------------------------------------------------------------------
// Determinism and serialization

#[test]
fn deterministic_across_runs_threads_and_serde() {
    // Enough rows for leaves to be built in several row chunks.
    let (x, y) = binary_data(20_000, 15);
    let target = classes(y.iter().map(|&v| v as u32).collect(), 2);
    let p = GbdtParams {
        n_estimators: 20,
        feature_fraction: 0.8,
        bagging_fraction: 0.7,
        bagging_freq: 1,
        seed: 42,
        ..small_params()
    };
    let a = fit(&p, &x, &target, &numeric(5));
    let b = fit(&p, &x, &target, &numeric(5));
    assert_eq!(a, b);
    let one = fit(
        &GbdtParams {
            n_threads: Some(1),
            ..p.clone()
        },
        &x,
        &target,
        &numeric(5),
    );
    let three = fit(
        &GbdtParams {
            n_threads: Some(3),
            ..p.clone()
        },
        &x,
        &target,
        &numeric(5),
    );
    let ra = a.predict_raw(&x);
    assert_eq!(ra, one.predict_raw(&x));
    assert_eq!(ra, three.predict_raw(&x));
    // Another seed gives another model.
    let c = fit(&GbdtParams { seed: 7, ..p }, &x, &target, &numeric(5));
    assert_ne!(ra, c.predict_raw(&x));

    // Regression targets spanning many orders of magnitude, and a two-valued feature whose
    // bins hold thousands of them: float sums there depend on their order.
    let mut xr = uniform(20_000, 3, 21);
    for i in 0..20_000 {
        xr.set(i, 2, f64::from(u8::from(xr.get(i, 2) > 0.0)));
    }
    let yr: Vec<f64> = (0..20_000)
        .map(|i| (12.0 * xr.get(i, 0)).exp() * xr.get(i, 1) + xr.get(i, 2))
        .collect();
    let pr = GbdtParams {
        n_estimators: 10,
        ..small_params()
    };
    let target_r = Target::Real(yr);
    let r1 = fit(
        &GbdtParams {
            n_threads: Some(1),
            ..pr.clone()
        },
        &xr,
        &target_r,
        &numeric(3),
    );
    let r2 = fit(&pr, &xr, &target_r, &numeric(3));
    assert_eq!(r1.predict_raw(&xr), r2.predict_raw(&xr));

    let json = serde_json::to_string(&a).unwrap();
    let back: GbdtModel = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);
    let rb = back.predict_raw(&x);
    assert!(ra.iter().zip(&rb).all(|(u, v)| u.to_bits() == v.to_bits()));
}

#[test]
fn params_round_trip_and_reject_unknown_fields() {
    let p = GbdtParams {
        max_depth: Some(4),
        early_stopping_rounds: Some(3),
        ..GbdtParams::default()
    };
    let back: GbdtParams = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(back, p);
    let partial: GbdtParams = serde_json::from_str(r#"{"num_leaves": 7}"#).unwrap();
    assert_eq!(partial.num_leaves, 7);
    assert_eq!(partial.learning_rate, 0.1);
    assert!(serde_json::from_str::<GbdtParams>(r#"{"num_leaf": 7}"#).is_err());
}

// ---------------------------------------------------------------------------------------------
// Tree-shape constraints, weights and errors

fn leaves_per_tree(m: &GbdtModel) -> Vec<usize> {
    let v = serde_json::to_value(m).unwrap();
    v["trees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["leaf_values"].as_array().unwrap().len())
        .collect()
}

#[test]
fn respects_tree_constraints() {
    let (x, y) = binary_data(3000, 16);
    let target = classes(y.iter().map(|&v| v as u32).collect(), 2);
    let base = GbdtParams {
        n_estimators: 5,
        num_leaves: 31,
        min_data_in_leaf: 5,
        ..small_params()
    };
    let m = fit(&base, &x, &target, &numeric(5));
    assert!(leaves_per_tree(&m).iter().all(|&l| l <= 31));
    assert!(leaves_per_tree(&m).iter().any(|&l| l > 8));
    let m = fit(
        &GbdtParams {
            max_depth: Some(2),
            ..base.clone()
        },
        &x,
        &target,
        &numeric(5),
    );
    assert!(leaves_per_tree(&m).iter().all(|&l| l <= 4));
    let m = fit(
        &GbdtParams {
            min_data_in_leaf: 1000,
            ..base.clone()
        },
        &x,
        &target,
        &numeric(5),
    );
    assert!(leaves_per_tree(&m).iter().all(|&l| l <= 3));
    let m = fit(
        &GbdtParams {
            min_gain_to_split: 1e9,
            ..base
        },
        &x,
        &target,
        &numeric(5),
    );
    // Nothing can split: training stops with no trees, predictions are the base rate.
    assert_eq!(m.n_trees(), 0);
    let rate = y.iter().sum::<f64>() / y.len() as f64;
    assert!((p1(&m, &x)[0] - rate).abs() < 1e-9);
}

#[test]
fn unit_weights_change_nothing_and_weights_matter() {
    let (x, y) = binary_data(2000, 17);
    let target = classes(y.iter().map(|&v| v as u32).collect(), 2);
    let feats = numeric(5);
    let est = small_params().check().unwrap();
    let ones = vec![1.0; 2000];
    let mut data = TrainData {
        x: &x,
        y: &target,
        features: &feats,
        weights: None,
    };
    let a = est.fit(&data, None).unwrap();
    data.weights = Some(&ones);
    let b = est.fit(&data, None).unwrap();
    assert_eq!(a.predict_raw(&x), b.predict_raw(&x));
    // Labels independent of the features: predictions stay near the (weighted) base rate, so
    // weighting the positives 3:1 moves them from about 1/2 to about 3/4.
    let mut rng = ChaCha8Rng::seed_from_u64(19);
    let noise: Vec<u32> = (0..2000).map(|_| rng.random::<u32>() % 2).collect();
    let noise_t = classes(noise.clone(), 2);
    let w: Vec<f64> = noise
        .iter()
        .map(|&v| if v == 1 { 3.0 } else { 1.0 })
        .collect();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let plain = TrainData {
        x: &x,
        y: &noise_t,
        features: &feats,
        weights: None,
    };
    let pa = mean(&p1(&est.fit(&plain, None).unwrap(), &x));
    let weighted = TrainData {
        weights: Some(&w),
        ..plain
    };
    let pc = mean(&p1(&est.fit(&weighted, None).unwrap(), &x));
    assert!((pa - 0.5).abs() < 0.05, "{pa}");
    assert!((pc - 0.75).abs() < 0.05, "{pc}");
    let bad = vec![-1.0; 2000];
    data.weights = Some(&bad);
    assert!(matches!(est.fit(&data, None), Err(Error::InvalidData(_))));
}

#[test]
fn predict_checks_columns() {
    let (x, y) = binary_data(500, 18);
    let target = classes(y.iter().map(|&v| v as u32).collect(), 2);
    let m = fit(&small_params(), &x, &target, &numeric(5));
    let wrong = Matrix::zeros(3, 4);
    assert!(matches!(m.predict(&wrong), Err(Error::SchemaMismatch(_))));
}

#[test]
fn every_invalid_param_is_named() {
    let d = GbdtParams::default;
    let cases: Vec<(&str, GbdtParams)> = vec![
        (
            "n_estimators",
            GbdtParams {
                n_estimators: 0,
                ..d()
            },
        ),
        (
            "learning_rate",
            GbdtParams {
                learning_rate: 0.0,
                ..d()
            },
        ),
        (
            "learning_rate",
            GbdtParams {
                learning_rate: f64::NAN,
                ..d()
            },
        ),
        (
            "num_leaves",
            GbdtParams {
                num_leaves: 1,
                ..d()
            },
        ),
        (
            "num_leaves",
            GbdtParams {
                num_leaves: 200_000,
                ..d()
            },
        ),
        (
            "max_depth",
            GbdtParams {
                max_depth: Some(0),
                ..d()
            },
        ),
        (
            "min_data_in_leaf",
            GbdtParams {
                min_data_in_leaf: 0,
                ..d()
            },
        ),
        (
            "min_sum_hessian_in_leaf",
            GbdtParams {
                min_sum_hessian_in_leaf: -1.0,
                ..d()
            },
        ),
        (
            "lambda_l2",
            GbdtParams {
                lambda_l2: -0.1,
                ..d()
            },
        ),
        (
            "lambda_l2",
            GbdtParams {
                lambda_l2: f64::INFINITY,
                ..d()
            },
        ),
        (
            "min_gain_to_split",
            GbdtParams {
                min_gain_to_split: -1.0,
                ..d()
            },
        ),
        (
            "feature_fraction",
            GbdtParams {
                feature_fraction: 0.0,
                ..d()
            },
        ),
        (
            "feature_fraction",
            GbdtParams {
                feature_fraction: 1.5,
                ..d()
            },
        ),
        (
            "bagging_fraction",
            GbdtParams {
                bagging_fraction: 0.0,
                ..d()
            },
        ),
        ("max_bin", GbdtParams { max_bin: 1, ..d() }),
        (
            "max_bin",
            GbdtParams {
                max_bin: 256,
                ..d()
            },
        ),
        (
            "early_stopping_rounds",
            GbdtParams {
                early_stopping_rounds: Some(0),
                ..d()
            },
        ),
        (
            "validation_fraction",
            GbdtParams {
                validation_fraction: 0.0,
                ..d()
            },
        ),
        (
            "validation_fraction",
            GbdtParams {
                validation_fraction: 1.0,
                ..d()
            },
        ),
        (
            "n_threads",
            GbdtParams {
                n_threads: Some(0),
                ..d()
            },
        ),
        (
            "cat_smooth",
            GbdtParams {
                cat_smooth: -1.0,
                ..d()
            },
        ),
        (
            "cat_l2",
            GbdtParams {
                cat_l2: -1.0,
                ..d()
            },
        ),
        (
            "max_cat_threshold",
            GbdtParams {
                max_cat_threshold: 0,
                ..d()
            },
        ),
        (
            "min_data_per_group",
            GbdtParams {
                min_data_per_group: 0,
                ..d()
            },
        ),
        (
            "max_cat_to_onehot",
            GbdtParams {
                max_cat_to_onehot: 0,
                ..d()
            },
        ),
    ];
    for (name, p) in cases {
        match p.check() {
            Err(Error::InvalidParam { name: n, rule }) => {
                assert_eq!(n, name, "{rule}");
                assert!(!rule.is_empty());
            }
            other => panic!("{name}: expected InvalidParam, got {other:?}"),
        }
    }
    assert!(GbdtParams::default().check().is_ok());
    let e = GbdtParams {
        num_leaves: 1,
        ..d()
    }
    .check()
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid parameter num_leaves: must be at least 2, got 1"
    );
}

#[test]
fn rejects_bad_data() {
    let x = Matrix::zeros(10, 2);
    let feats = numeric(2);
    let est = small_params().check().unwrap();
    let short = classes(vec![0; 9], 2);
    let d = TrainData {
        x: &x,
        y: &short,
        features: &feats,
        weights: None,
    };
    assert!(matches!(est.fit(&d, None), Err(Error::InvalidData(_))));
    let none = Matrix::zeros(10, 0);
    let no_feats = classes(vec![0; 10], 2);
    let d0 = TrainData {
        x: &none,
        y: &no_feats,
        features: &[],
        weights: None,
    };
    assert!(matches!(est.fit(&d0, None), Err(Error::InvalidData(_))));
    let bad_label = classes(vec![0, 1, 2, 0, 1, 0, 1, 0, 1, 0], 2);
    let d = TrainData { y: &bad_label, ..d };
    assert!(matches!(est.fit(&d, None), Err(Error::InvalidData(_))));
}

/// A row predicted alone (the serving path: trees walked several at a time) gets the same
/// bits as within a batch (rows walked several at a time), for numeric, categorical and
/// missing inputs and a multiclass model, whose trees alternate between scores.
#[test]
fn a_row_alone_predicts_the_same_bits_as_in_a_batch() {
    let n = 600;
    let x = categorical_data(n, 9, 3);
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let noise: Vec<f64> = (0..n)
        .map(|i| {
            if i % 17 == 0 {
                f64::NAN
            } else {
                rng.random::<f64>()
            }
        })
        .collect();
    let codes: Vec<f64> = (0..n).map(|i| x.get(i, 0)).collect();
    let y: Vec<u32> = (0..n)
        .map(|i| (codes[i] as u32 + u32::from(noise[i] > 0.5)) % 3)
        .collect();
    let x = Matrix::from_columns(vec![codes, noise]).unwrap();
    let feats = vec![
        FeatureMeta {
            name: "c".into(),
            kind: FeatureKind::Categorical { n_categories: 9 },
        },
        FeatureMeta::numeric("noise"),
    ];
    let binary = classes(y.iter().map(|&c| c % 2).collect(), 2);
    // The third model's trees are single leaves (no split has enough rows).
    for (target, k, min_leaf) in [
        (binary.clone(), 2, 10),
        (classes(y, 3), 3, 10),
        (binary, 2, 10_000),
    ] {
        let m = fit(
            &GbdtParams {
                n_estimators: 23,
                min_data_in_leaf: min_leaf,
                ..small_params()
            },
            &x,
            &target,
            &feats,
        );
        let batch = m.predict_raw(&x);
        for i in 0..n {
            let row = Matrix::from_row_major(1, 2, &[x.get(i, 0), x.get(i, 1)]).unwrap();
            let alone = m.predict_raw(&row);
            for c in 0..k.min(batch.len() / n) {
                assert_eq!(
                    alone[c].to_bits(),
                    batch[i * (batch.len() / n) + c].to_bits(),
                    "row {i} score {c}"
                );
            }
        }
    }
}
