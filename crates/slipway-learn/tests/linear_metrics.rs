//! Linear models, metrics and splits against scikit-learn.
//!
//! `tests/reference/make_reference.py` generated the inputs and scikit-learn's outputs in
//! `tests/reference/sklearn_reference.json` (the scikit-learn version is recorded there).
//! Metrics must agree to 1e-9, logistic coefficients to 1e-4, least squares to 1e-6
//! (relative).

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::Value;
use slipway_learn::linear::{
    ClassWeight, LinearRegressionParams, LogisticRegressionParams, Penalty,
};
use slipway_learn::metrics::{self, Average, Metric};
use slipway_learn::split::{self, cross_validate, k_fold, stratified_k_fold, train_test_split};
use slipway_learn::{
    Error, Estimator, FeatureMeta, Matrix, Params, Prediction, Predictor, Target, Task, TrainData,
};

fn reference() -> &'static Value {
    static REF: OnceLock<Value> = OnceLock::new();
    REF.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/reference/sklearn_reference.json"
        );
        let text = std::fs::read_to_string(path).expect("reference JSON");
        serde_json::from_str(&text).expect("valid JSON")
    })
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("integer") as u32)
        .collect()
}

fn rows(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().expect("array").iter().map(f64s).collect()
}

fn matrix(v: &Value) -> Matrix {
    let r = rows(v);
    let (n, p) = (r.len(), r[0].len());
    Matrix::from_row_major(n, p, &r.concat()).unwrap()
}

#[track_caller]
fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:.17}, scikit-learn {want:.17} (diff {:e})",
        (got - want).abs()
    );
}

#[track_caller]
fn close_vec(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths {got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        close(&format!("{what}[{i}]"), *g, *w, tol);
    }
}

const TOL: f64 = 1e-9;

fn weights_for<'a>(tag: &str, w: &'a [f64]) -> Option<&'a [f64]> {
    (tag == "weighted").then_some(w)
}

fn check_label_block(tag: &str, e: &Value, y: &[u32], p: &[u32], w: Option<&[f64]>) {
    close(
        &format!("{tag} accuracy"),
        metrics::accuracy(y, p, w).unwrap(),
        e["accuracy"].as_f64().unwrap(),
        TOL,
    );
    for (name, avg) in [
        ("macro", Average::Macro),
        ("weighted", Average::Weighted),
        ("micro", Average::Micro),
    ] {
        let prf = metrics::precision_recall_f1(y, p, avg, w).unwrap();
        close_vec(
            &format!("{tag} prf {name}"),
            &[prf.precision, prf.recall, prf.f1],
            &f64s(&e["prf"][name]),
            TOL,
        );
    }
    let cm = metrics::confusion_matrix(y, p, w).unwrap();
    let want = rows(&e["confusion"]);
    assert_eq!(cm.counts.len(), want.len());
    for (g, w) in cm.counts.iter().zip(&want) {
        close_vec(&format!("{tag} confusion"), g, w, TOL);
    }
}

#[test]
fn binary_metrics_match_sklearn() {
    let b = &reference()["binary"];
    let y = u32s(&b["y_true"]);
    let yp = u32s(&b["y_pred"]);
    let s = f64s(&b["scores"]);
    let p = f64s(&b["proba"]);
    let w = f64s(&b["weights"]);
    for tag in ["unweighted", "weighted"] {
        let e = &b["expected"][tag];
        let sw = weights_for(tag, &w);
        check_label_block(tag, e, &y, &yp, sw);
        for pos in [1u32, 0] {
            let prf = metrics::precision_recall_f1(&y, &yp, Average::Binary { pos_label: pos }, sw)
                .unwrap();
            close_vec(
                &format!("{tag} binary pos {pos}"),
                &[prf.precision, prf.recall, prf.f1],
                &f64s(&e[format!("binary_pos{pos}")]),
                TOL,
            );
        }
        close(
            &format!("{tag} precision()"),
            metrics::precision(&y, &yp, Average::Binary { pos_label: 1 }, sw).unwrap(),
            f64s(&e["binary_pos1"])[0],
            TOL,
        );
        close(
            &format!("{tag} recall()"),
            metrics::recall(&y, &yp, Average::Binary { pos_label: 1 }, sw).unwrap(),
            f64s(&e["binary_pos1"])[1],
            TOL,
        );
        close(
            &format!("{tag} f1()"),
            metrics::f1(&y, &yp, Average::Binary { pos_label: 1 }, sw).unwrap(),
            f64s(&e["binary_pos1"])[2],
            TOL,
        );
        let auc = metrics::roc_auc(&y, &s, sw).unwrap();
        close(
            &format!("{tag} roc_auc"),
            auc,
            e["roc_auc"].as_f64().unwrap(),
            TOL,
        );
        close(
            &format!("{tag} roc_auc proba"),
            metrics::roc_auc(&y, &p, sw).unwrap(),
            e["roc_auc_proba"].as_f64().unwrap(),
            TOL,
        );
        close(
            &format!("{tag} average_precision"),
            metrics::average_precision(&y, &s, sw).unwrap(),
            e["average_precision"].as_f64().unwrap(),
            TOL,
        );
        close(
            &format!("{tag} average_precision proba"),
            metrics::average_precision(&y, &p, sw).unwrap(),
            e["average_precision_proba"].as_f64().unwrap(),
            TOL,
        );
        for (key, drop) in [("roc_curve", true), ("roc_curve_all", false)] {
            let roc = metrics::roc_curve(&y, &s, sw, drop).unwrap();
            let want = &e[key];
            close_vec(
                &format!("{tag} {key} fpr"),
                &roc.fpr,
                &f64s(&want["fpr"]),
                TOL,
            );
            close_vec(
                &format!("{tag} {key} tpr"),
                &roc.tpr,
                &f64s(&want["tpr"]),
                TOL,
            );
            assert_eq!(roc.thresholds[0], f64::INFINITY);
            close_vec(
                &format!("{tag} {key} thresholds"),
                &roc.thresholds[1..],
                &f64s(&want["thresholds_after_inf"]),
                TOL,
            );
        }
        let pr = metrics::precision_recall_curve(&y, &s, sw, false).unwrap();
        let want = &e["pr_curve"];
        close_vec(
            &format!("{tag} pr precision"),
            &pr.precision,
            &f64s(&want["precision"]),
            TOL,
        );
        close_vec(
            &format!("{tag} pr recall"),
            &pr.recall,
            &f64s(&want["recall"]),
            TOL,
        );
        close_vec(
            &format!("{tag} pr thresholds"),
            &pr.thresholds,
            &f64s(&want["thresholds"]),
            TOL,
        );
        close(
            &format!("{tag} log_loss"),
            metrics::log_loss_binary(&y, &p, sw).unwrap(),
            e["log_loss"].as_f64().unwrap(),
            TOL,
        );
        let p2 =
            Matrix::from_columns(vec![p.iter().map(|v| 1.0 - v).collect(), p.clone()]).unwrap();
        close(
            &format!("{tag} log_loss 2 columns"),
            metrics::log_loss(&y, &p2, sw).unwrap(),
            e["log_loss_2col"].as_f64().unwrap(),
            TOL,
        );
        close(
            &format!("{tag} brier"),
            metrics::brier_score_binary(&y, &p, sw).unwrap(),
            e["brier"].as_f64().unwrap(),
            TOL,
        );
        close(
            &format!("{tag} brier 2 columns"),
            metrics::brier_score(&y, &p2, sw).unwrap(),
            e["brier"].as_f64().unwrap(),
            TOL,
        );
        let report = metrics::classification_report(&y, &yp, None, sw).unwrap();
        assert_eq!(
            report.to_string(),
            e["report"].as_str().unwrap(),
            "{tag} report"
        );
    }
}

#[test]
fn multiclass_metrics_match_sklearn() {
    let m = &reference()["multiclass"];
    let y = u32s(&m["y_true"]);
    let yp = u32s(&m["y_pred"]);
    let proba = matrix(&m["proba"]);
    let w = f64s(&m["weights"]);
    let names: Vec<String> = ["setosa", "versicolor", "virginica", "a much longer name"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for tag in ["unweighted", "weighted"] {
        let e = &m["expected"][tag];
        let sw = weights_for(tag, &w);
        check_label_block(tag, e, &y, &yp, sw);
        for (key, avg) in [("macro", Average::Macro), ("weighted", Average::Weighted)] {
            close(
                &format!("{tag} roc_auc_ovr {key}"),
                metrics::roc_auc_ovr(&y, &proba, avg, sw).unwrap(),
                e[format!("roc_auc_ovr_{key}")].as_f64().unwrap(),
                TOL,
            );
            close(
                &format!("{tag} average_precision {key}"),
                metrics::average_precision_ovr(&y, &proba, avg, sw).unwrap(),
                e[format!("average_precision_{key}")].as_f64().unwrap(),
                TOL,
            );
        }
        close(
            &format!("{tag} log_loss"),
            metrics::log_loss(&y, &proba, sw).unwrap(),
            e["log_loss"].as_f64().unwrap(),
            TOL,
        );
        close(
            &format!("{tag} brier"),
            metrics::brier_score(&y, &proba, sw).unwrap(),
            e["brier"].as_f64().unwrap(),
            TOL,
        );
        let report = metrics::classification_report(&y, &yp, None, sw).unwrap();
        assert_eq!(
            report.to_string(),
            e["report"].as_str().unwrap(),
            "{tag} report"
        );
        let named = metrics::classification_report(&y, &yp, Some(&names), sw).unwrap();
        assert_eq!(
            named.to_string(),
            e["report_named"].as_str().unwrap(),
            "{tag} named"
        );
    }
    // Metric::score / evaluate on the same data, unweighted.
    let e = &m["expected"]["unweighted"];
    let target = Target::Classes {
        labels: y.clone(),
        n_classes: 4,
    };
    let pred = Prediction::Probabilities(proba.clone());
    let all = metrics::evaluate(&target, &pred);
    let get = |m: Metric| all.iter().find(|(k, _)| *k == m).map(|(_, v)| *v).unwrap();
    close(
        "score roc_auc",
        get(Metric::RocAuc),
        e["roc_auc_ovr_macro"].as_f64().unwrap(),
        TOL,
    );
    close(
        "score average_precision",
        get(Metric::AveragePrecision),
        e["average_precision_macro"].as_f64().unwrap(),
        TOL,
    );
    close(
        "score log_loss",
        get(Metric::LogLoss),
        e["log_loss"].as_f64().unwrap(),
        TOL,
    );
    close(
        "score brier",
        get(Metric::Brier),
        e["brier"].as_f64().unwrap(),
        TOL,
    );
    assert!(
        all.iter()
            .all(|(m, _)| m.applies_to(Task::Multiclass { n_classes: 4 }))
    );
    assert_eq!(all.len(), 10);
}

#[test]
fn regression_metrics_match_sklearn() {
    let r = &reference()["regression"];
    let y = f64s(&r["y_true"]);
    let p = f64s(&r["y_pred"]);
    let w = f64s(&r["weights"]);
    for tag in ["unweighted", "weighted"] {
        let e = &r["expected"][tag];
        let sw = weights_for(tag, &w);
        close(
            &format!("{tag} rmse"),
            metrics::rmse(&y, &p, sw).unwrap(),
            e["rmse"].as_f64().unwrap(),
            TOL,
        );
        close(
            &format!("{tag} mae"),
            metrics::mae(&y, &p, sw).unwrap(),
            e["mae"].as_f64().unwrap(),
            TOL,
        );
        close(
            &format!("{tag} r2"),
            metrics::r2(&y, &p, sw).unwrap(),
            e["r2"].as_f64().unwrap(),
            TOL,
        );
        // MAPE with zero targets is ~1e15: compare relative.
        let want = e["mape"].as_f64().unwrap();
        close(
            &format!("{tag} mape"),
            metrics::mape(&y, &p, sw).unwrap() / want,
            1.0,
            TOL,
        );
    }
    close(
        "mape without zeros",
        metrics::mape(&y[4..], &p[4..], None).unwrap(),
        r["expected"]["nonzero_mape"].as_f64().unwrap(),
        TOL,
    );
    let target = Target::Real(y.clone());
    let all = metrics::evaluate(&target, &Prediction::Values(p.clone()));
    assert_eq!(
        all.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
        vec![Metric::Rmse, Metric::Mae, Metric::R2, Metric::Mape]
    );
    close(
        "score r2",
        all[2].1,
        r["expected"]["unweighted"]["r2"].as_f64().unwrap(),
        TOL,
    );
}

#[test]
fn edge_cases_match_sklearn_or_error() {
    let e = &reference()["edge"];
    let g = |k: &str| e[k].as_f64().unwrap();
    close(
        "r2 const perfect",
        metrics::r2(&[1.0; 3], &[1.0; 3], None).unwrap(),
        g("r2_constant_perfect"),
        TOL,
    );
    close(
        "r2 const imperfect",
        metrics::r2(&[1.0; 3], &[1.0, 2.0, 1.0], None).unwrap(),
        g("r2_constant_imperfect"),
        TOL,
    );
    let bin = Average::Binary { pos_label: 1 };
    let prf = metrics::precision_recall_f1(&[0, 1, 1, 0], &[0, 0, 0, 0], bin, None).unwrap();
    close_vec(
        "no predicted positives",
        &[prf.precision, prf.recall, prf.f1],
        &f64s(&e["prf_no_pred_pos"]),
        TOL,
    );
    let prf = metrics::precision_recall_f1(&[0, 0, 0], &[0, 0, 0], bin, None).unwrap();
    close_vec(
        "all negative",
        &[prf.precision, prf.recall, prf.f1],
        &f64s(&e["prf_all_negative"]),
        TOL,
    );
    close(
        "f1 macro over label union",
        metrics::f1(&[0, 1, 2, 2], &[0, 1, 1, 3], Average::Macro, None).unwrap(),
        g("f1_macro_union"),
        TOL,
    );
    close(
        "auc all tied",
        metrics::roc_auc(&[0, 1, 0, 1], &[0.5; 4], None).unwrap(),
        g("roc_auc_all_tied"),
        TOL,
    );
    close(
        "ap all tied",
        metrics::average_precision(&[0, 1, 0, 1], &[0.5; 4], None).unwrap(),
        g("ap_all_tied"),
        TOL,
    );
    close(
        "ap docstring",
        metrics::average_precision(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8], None).unwrap(),
        g("ap_docstring"),
        TOL,
    );
    let p = Matrix::from_columns(vec![vec![1.0, 1.0], vec![0.0, 0.0]]).unwrap();
    close(
        "log loss clipped",
        metrics::log_loss(&[0, 1], &p, None).unwrap(),
        g("log_loss_clipped"),
        TOL,
    );
    let rep =
        metrics::classification_report(&[0, 1, 2, 2, 2], &[0, 0, 2, 2, 1], None, None).unwrap();
    assert_eq!(
        rep.to_string(),
        e["report_binary_docstring"].as_str().unwrap()
    );

    // Where scikit-learn returns NaN (or raises), we return InvalidData.
    let invalid = |r: slipway_learn::Result<f64>| matches!(r, Err(Error::InvalidData(_)));
    assert!(invalid(metrics::roc_auc(
        &[1, 1, 1],
        &[0.1, 0.2, 0.3],
        None
    )));
    assert!(invalid(metrics::average_precision(
        &[0, 0],
        &[0.1, 0.2],
        None
    )));
    assert!(invalid(metrics::r2(&[1.0], &[1.0], None)));
    assert!(invalid(metrics::accuracy(&[0, 1], &[0], None)));
    assert!(invalid(metrics::accuracy(
        &[0, 1],
        &[0, 1],
        Some(&[0.0, 0.0])
    )));
    assert!(invalid(metrics::f1(&[0, 1, 2], &[0, 1, 2], bin, None)));
    assert!(invalid(metrics::log_loss_binary(
        &[0, 1],
        &[0.5, 1.5],
        None
    )));
    let three = Matrix::from_columns(vec![vec![0.5, 0.5], vec![0.5, 0.5], vec![0.0, 0.0]]).unwrap();
    let err = metrics::roc_auc_ovr(&[0, 1], &three, Average::Macro, None).unwrap_err();
    assert!(err.to_string().contains("class 2"), "{err}");
    let target = Target::Classes {
        labels: vec![1, 1],
        n_classes: 2,
    };
    let pred = Prediction::Probabilities(
        Matrix::from_columns(vec![vec![0.2, 0.6], vec![0.8, 0.4]]).unwrap(),
    );
    assert!(invalid(Metric::RocAuc.score(&target, &pred)));
    let all = metrics::evaluate(&target, &pred);
    assert!(all.iter().all(|(m, _)| *m != Metric::RocAuc));
    assert_eq!(
        all.iter().find(|(m, _)| *m == Metric::Accuracy).unwrap().1,
        0.5
    );
}

#[test]
fn metric_names_and_directions() {
    for m in Metric::ALL {
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, format!("\"{}\"", m.name()));
        assert_eq!(serde_json::from_str::<Metric>(&json).unwrap(), m);
        assert_eq!(m.name().parse::<Metric>().unwrap(), m);
    }
    assert!(Metric::RocAuc.greater_is_better() && Metric::R2.greater_is_better());
    assert!(!Metric::LogLoss.greater_is_better() && !Metric::Rmse.greater_is_better());
    assert!(Metric::F1Macro.applies_to(Task::Binary) && !Metric::Mae.applies_to(Task::Binary));
    assert!(
        Metric::Mape.applies_to(Task::Regression) && !Metric::Brier.applies_to(Task::Regression)
    );
    assert!("auc".parse::<Metric>().is_err());
}

fn dataset(name: &str) -> (Matrix, Vec<u32>, Option<Vec<f64>>) {
    let d = &reference()["logistic"]["datasets"][name];
    let w = if d["weights"].is_null() {
        None
    } else {
        Some(f64s(&d["weights"]))
    };
    (matrix(&d["x"]), u32s(&d["y"]), w)
}

fn features(p: usize) -> Vec<FeatureMeta> {
    (0..p)
        .map(|j| FeatureMeta::numeric(format!("x{j}")))
        .collect()
}

#[test]
fn logistic_regression_matches_sklearn() {
    let mut worst = 0.0f64;
    for case in reference()["logistic"]["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (x, y, w) = dataset(case["dataset"].as_str().unwrap());
        let n_classes = *y.iter().max().unwrap() as usize + 1;
        let params = &case["params"];
        let class_weight = match &params["class_weight"] {
            Value::Null => None,
            Value::String(s) if s == "balanced" => Some(ClassWeight::Balanced),
            v => Some(ClassWeight::PerClass(f64s(v))),
        };
        let p = LogisticRegressionParams {
            c: params["c"].as_f64().unwrap_or(1.0),
            penalty: if params["c"].is_null() {
                Penalty::None
            } else {
                Penalty::L2
            },
            fit_intercept: params["fit_intercept"].as_bool().unwrap(),
            max_iter: 100_000,
            tol: 1e-10,
            class_weight,
            n_threads: Some(2),
            seed: 0,
        };
        let target = Target::Classes {
            labels: y.clone(),
            n_classes,
        };
        let feats = features(x.n_cols());
        let weights = if case["weighted"].as_bool().unwrap() {
            w.as_deref()
        } else {
            None
        };
        let td = TrainData {
            x: &x,
            y: &target,
            features: &feats,
            weights,
        };
        let model = p.check().unwrap().fit(&td, None).unwrap();
        assert!(model.converged, "{name} did not converge");
        let want_coef = rows(&case["coef"]);
        let want_int = f64s(&case["intercept"]);
        let mut diff = 0.0f64;
        for (g, w) in model.coef.iter().zip(&want_coef) {
            assert_eq!(g.len(), w.len());
            for (a, b) in g.iter().zip(w) {
                diff = diff.max((a - b).abs());
            }
        }
        for (a, b) in model.intercept.iter().zip(&want_int) {
            diff = diff.max((a - b).abs());
        }
        eprintln!(
            "{name}: max |coef diff| = {diff:.2e} (iterations: ours {}, sklearn {})",
            model.n_iter, case["n_iter"]
        );
        assert!(diff <= 1e-4, "{name}: max coefficient difference {diff:e}");
        worst = worst.max(diff);
        // Probabilities of the first rows.
        let head = x.take_rows(&(0..8).collect::<Vec<_>>());
        let Prediction::Probabilities(proba) = model.predict(&head).unwrap() else {
            panic!("logistic regression predicts probabilities")
        };
        for (i, want) in rows(&case["proba_head"]).iter().enumerate() {
            for (c, w) in want.iter().enumerate() {
                close(
                    &format!("{name} proba[{i}][{c}]"),
                    proba.get(i, c),
                    *w,
                    1e-5,
                );
            }
        }
    }
    eprintln!("logistic regression: worst max |coef diff| = {worst:.2e}");
}

#[test]
fn logistic_regression_reports_non_convergence() {
    let nc = &reference()["logistic"]["not_converged"];
    let (x, y, _) = dataset(nc["dataset"].as_str().unwrap());
    let target = Target::Classes {
        labels: y,
        n_classes: 2,
    };
    let feats = features(x.n_cols());
    let p = LogisticRegressionParams {
        max_iter: 3,
        ..Default::default()
    };
    let model = p
        .check()
        .unwrap()
        .fit(
            &TrainData {
                x: &x,
                y: &target,
                features: &feats,
                weights: None,
            },
            None,
        )
        .unwrap();
    assert!(!model.converged);
    assert_eq!(model.n_iter as u64, nc["n_iter"].as_u64().unwrap());
    // Still a usable model.
    let pred = model.predict(&x).unwrap();
    assert!(Metric::Accuracy.score(&target, &pred).unwrap() > 0.9);
}

#[test]
fn logistic_regression_rejects_nan_with_feature_and_row() {
    let (mut x, y, _) = dataset("breast_cancer_std");
    x.set(123, 4, f64::NAN);
    let target = Target::Classes {
        labels: y,
        n_classes: 2,
    };
    let mut feats = features(x.n_cols());
    feats[4].name = "mean_smoothness".into();
    let est = LogisticRegressionParams::default().check().unwrap();
    let err = est
        .fit(
            &TrainData {
                x: &x,
                y: &target,
                features: &feats,
                weights: None,
            },
            None,
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::InvalidData(_)));
    assert!(
        msg.contains("mean_smoothness") && msg.contains("row 123"),
        "{msg}"
    );
    let lin = LinearRegressionParams::default().check().unwrap();
    let yr = Target::Real(vec![0.0; x.n_rows()]);
    let msg = lin
        .fit(
            &TrainData {
                x: &x,
                y: &yr,
                features: &feats,
                weights: None,
            },
            None,
        )
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("mean_smoothness") && msg.contains("row 123"),
        "{msg}"
    );
}

#[test]
fn params_serde_and_checks() {
    let p: LogisticRegressionParams =
        serde_json::from_str(r#"{"c": 0.5, "penalty": "none", "class_weight": "balanced"}"#)
            .unwrap();
    assert_eq!(p.c, 0.5);
    assert_eq!(p.penalty, Penalty::None);
    assert_eq!(p.class_weight, Some(ClassWeight::Balanced));
    assert_eq!(p.max_iter, 100);
    let p: LogisticRegressionParams =
        serde_json::from_str(r#"{"class_weight": {"per_class": [1.0, 2.5]}}"#).unwrap();
    assert_eq!(p.class_weight, Some(ClassWeight::PerClass(vec![1.0, 2.5])));
    assert!(serde_json::from_str::<LogisticRegressionParams>(r#"{"C": 1}"#).is_err());
    assert!(serde_json::from_str::<LinearRegressionParams>(r#"{"alpha": 1, "x": 1}"#).is_err());
    let bad = |r: slipway_learn::Result<()>, name: &str| match r {
        Err(Error::InvalidParam { name: n, .. }) => assert_eq!(n, name),
        other => panic!("expected invalid {name}, got {other:?}"),
    };
    bad(
        LogisticRegressionParams {
            c: -1.0,
            ..Default::default()
        }
        .check()
        .map(|_| ()),
        "c",
    );
    bad(
        LogisticRegressionParams {
            tol: -1.0,
            ..Default::default()
        }
        .check()
        .map(|_| ()),
        "tol",
    );
    bad(
        LogisticRegressionParams {
            n_threads: Some(0),
            ..Default::default()
        }
        .check()
        .map(|_| ()),
        "n_threads",
    );
    bad(
        LinearRegressionParams {
            alpha: -0.1,
            fit_intercept: true,
            ..Default::default()
        }
        .check()
        .map(|_| ()),
        "alpha",
    );
}

#[test]
fn linear_regression_matches_sklearn() {
    let l = &reference()["linear"];
    let x = matrix(&l["x"]);
    let y = Target::Real(f64s(&l["y"]));
    let names: Vec<FeatureMeta> = l["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| FeatureMeta::numeric(v.as_str().unwrap()))
        .collect();
    let w = f64s(&l["weights"]);
    let head = x.take_rows(&(0..8).collect::<Vec<_>>());
    for case in l["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let p = LinearRegressionParams {
            alpha: case["alpha"].as_f64().unwrap(),
            fit_intercept: case["fit_intercept"].as_bool().unwrap(),
            ..Default::default()
        };
        let weights = case["weighted"].as_bool().unwrap().then_some(w.as_slice());
        let model = p
            .check()
            .unwrap()
            .fit(
                &TrainData {
                    x: &x,
                    y: &y,
                    features: &names,
                    weights,
                },
                None,
            )
            .unwrap();
        let rel = |g: f64, w: f64| (g - w).abs() / w.abs().max(1.0);
        let want = f64s(&case["coef"]);
        let diff = model.coef.iter().zip(&want).map(|(g, w)| rel(*g, *w)).fold(
            rel(model.intercept, case["intercept"].as_f64().unwrap()),
            f64::max,
        );
        eprintln!("{name}: max relative coef diff {diff:.2e}");
        assert!(diff < 1e-6, "{name}: {:?} vs {want:?}", model.coef);
        let Prediction::Values(pred) = model.predict(&head).unwrap() else {
            panic!()
        };
        for (g, w) in pred.iter().zip(f64s(&case["pred_head"])) {
            assert!(rel(*g, w) < 1e-6, "{name}: prediction {g} vs {w}");
        }
    }
    // Duplicated column: OLS errors naming it, ridge is fine.
    let mut cols: Vec<Vec<f64>> = (0..x.n_cols()).map(|j| x.col(j).to_vec()).collect();
    cols.push(cols[2].iter().map(|v| 2.0 * v).collect());
    let x2 = Matrix::from_columns(cols).unwrap();
    let mut names2 = names.clone();
    names2.push(FeatureMeta::numeric("bmi_twice"));
    let td = TrainData {
        x: &x2,
        y: &y,
        features: &names2,
        weights: None,
    };
    let err = LinearRegressionParams::default()
        .check()
        .unwrap()
        .fit(&td, None)
        .unwrap_err();
    // The error names both columns of the combination and a fix that works.
    let msg = err.to_string();
    assert!(
        msg.contains("'bmi_twice'") && msg.contains(&format!("'{}'", names2[2].name)),
        "{msg}"
    );
    assert!(
        msg.contains("drop one of these columns") && msg.contains("alpha > 0"),
        "{msg}"
    );
    let ridge = LinearRegressionParams {
        alpha: 1.0,
        fit_intercept: true,
        ..Default::default()
    };
    assert!(ridge.check().unwrap().fit(&td, None).is_ok());
}

#[test]
fn splits_follow_sklearn_sizes() {
    let s = &reference()["split"];
    for (name, case) in s["stratified_k_fold"].as_object().unwrap() {
        let labels = u32s(&case["labels"]);
        let k = case["k"].as_u64().unwrap() as usize;
        let folds = stratified_k_fold(&labels, k, 42).unwrap();
        let want: Vec<Vec<u64>> = case["test_counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .collect()
            })
            .collect();
        for (f, (train, test)) in folds.iter().enumerate() {
            let mut counts = vec![0u64; want[f].len()];
            for &i in test {
                counts[labels[i] as usize] += 1;
            }
            assert_eq!(counts, want[f], "{name} fold {f}");
            assert_eq!(train.len() + test.len(), labels.len());
        }
        let mut all: Vec<usize> = folds.iter().flat_map(|(_, t)| t.clone()).collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..labels.len()).collect::<Vec<_>>(),
            "{name}: test folds partition"
        );
        assert_eq!(
            folds,
            stratified_k_fold(&labels, k, 42).unwrap(),
            "deterministic"
        );
        assert_ne!(folds, stratified_k_fold(&labels, k, 43).unwrap(), "seeded");
    }
    for case in s["k_fold_sizes"].as_object().unwrap().values() {
        let (n, k) = (
            case["n"].as_u64().unwrap() as usize,
            case["k"].as_u64().unwrap() as usize,
        );
        let want: Vec<usize> = u32s(&case["test_sizes"])
            .iter()
            .map(|&v| v as usize)
            .collect();
        for shuffle in [false, true] {
            let folds = k_fold(n, k, shuffle, 7).unwrap();
            assert_eq!(folds.iter().map(|(_, t)| t.len()).collect::<Vec<_>>(), want);
            let mut all: Vec<usize> = folds.iter().flat_map(|(_, t)| t.clone()).collect();
            all.sort_unstable();
            assert_eq!(all, (0..n).collect::<Vec<_>>());
        }
    }
    assert_eq!(k_fold(6, 3, false, 0).unwrap()[1].1, vec![2, 3]);
    for case in s["train_test_split"].as_array().unwrap() {
        let n = case["n"].as_u64().unwrap() as usize;
        let (train, test) =
            train_test_split(n, case["test_fraction"].as_f64().unwrap(), None, 1).unwrap();
        assert_eq!(train.len() as u64, case["n_train"].as_u64().unwrap());
        assert_eq!(test.len() as u64, case["n_test"].as_u64().unwrap());
        let mut all = [train, test].concat();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
    }
    let st = &s["stratified_train_test_split"];
    let counts = u32s(&st["class_counts"]);
    let labels: Vec<u32> = counts
        .iter()
        .enumerate()
        .flat_map(|(c, &n)| std::iter::repeat_n(c as u32, n as usize))
        .collect();
    let (train, test) = train_test_split(
        labels.len(),
        st["test_fraction"].as_f64().unwrap(),
        Some(&labels),
        3,
    )
    .unwrap();
    let per_class = |rows: &[usize]| {
        let mut c = vec![0u32; counts.len()];
        for &i in rows {
            c[labels[i] as usize] += 1;
        }
        c
    };
    assert_eq!(per_class(&train), u32s(&st["train_counts"]));
    assert_eq!(per_class(&test), u32s(&st["test_counts"]));

    // Errors.
    let err = stratified_k_fold(&[0, 0, 0, 1, 1, 2, 2, 2], 3, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("class 1"), "{err}");
    assert!(train_test_split(10, 0.3, Some(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 0).is_err());
    assert!(train_test_split(1, 0.5, None, 0).is_err());
    assert!(train_test_split(10, 1.0, None, 0).is_err());
    assert!(k_fold(3, 4, false, 0).is_err());
}

#[test]
fn cross_validate_logistic_on_breast_cancer() {
    let (x, y, _) = dataset("breast_cancer_std");
    let target = Target::Classes {
        labels: y.clone(),
        n_classes: 2,
    };
    let feats = features(x.n_cols());
    let folds = stratified_k_fold(&y, 5, 0).unwrap();
    let est = LogisticRegressionParams::default().check().unwrap();
    let metrics = [Metric::Accuracy, Metric::RocAuc, Metric::LogLoss];
    let cv = cross_validate(&est, &x, &target, &feats, &folds, &metrics).unwrap();
    assert_eq!(cv.fit_seconds.len(), 5);
    let acc = cv.get(Metric::Accuracy).unwrap();
    assert_eq!(acc.per_fold.len(), 5);
    assert!(acc.mean > 0.95, "{acc:?}");
    let mean = acc.per_fold.iter().sum::<f64>() / 5.0;
    let std = (acc.per_fold.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 5.0).sqrt();
    close("mean", acc.mean, mean, 1e-15);
    close("population std", acc.std, std, 1e-15);
    assert!(cv.get(Metric::RocAuc).unwrap().mean > 0.98);
    assert!(cv.get(Metric::Rmse).is_none());
    let err = cross_validate(&est, &x, &target, &feats, &folds, &[Metric::R2]).unwrap_err();
    assert!(err.to_string().contains("r2"), "{err}");
    let _: &[split::Fold] = &folds;
}

fn permuted<T: Copy>(v: &[T], perm: &[usize]) -> Vec<T> {
    perm.iter().map(|&i| v[i]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn metrics_are_invariant_to_row_order(
        rows in prop::collection::vec((0u32..3, 0u32..3, 0u32..20, 1u32..5), 6..60),
        seed in any::<u64>(),
    ) {
        let y: Vec<u32> = rows.iter().map(|r| r.0).collect();
        let yp: Vec<u32> = rows.iter().map(|r| r.1).collect();
        let score: Vec<f64> = rows.iter().map(|r| f64::from(r.2) / 20.0).collect();
        let w: Vec<f64> = rows.iter().map(|r| f64::from(r.3) / 2.0).collect();
        let yb: Vec<u32> = y.iter().map(|&l| u32::from(l == 2)).collect();
        let mut perm: Vec<usize> = (0..y.len()).collect();
        {
            use rand::{SeedableRng, seq::SliceRandom};
            perm.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        }
        let (y2, yp2, s2, w2, yb2) =
            (permuted(&y, &perm), permuted(&yp, &perm), permuted(&score, &perm), permuted(&w, &perm), permuted(&yb, &perm));
        let same = |a: f64, b: f64| (a - b).abs() <= 1e-12;
        prop_assert!(same(metrics::accuracy(&y, &yp, Some(&w)).unwrap(), metrics::accuracy(&y2, &yp2, Some(&w2)).unwrap()));
        for avg in [Average::Macro, Average::Weighted, Average::Micro] {
            let a = metrics::precision_recall_f1(&y, &yp, avg, Some(&w)).unwrap();
            let b = metrics::precision_recall_f1(&y2, &yp2, avg, Some(&w2)).unwrap();
            prop_assert!(same(a.precision, b.precision) && same(a.recall, b.recall) && same(a.f1, b.f1));
        }
        let reg_t: Vec<f64> = score.iter().map(|s| s * 3.0 + 1.0).collect();
        let reg_p: Vec<f64> = y.iter().map(|&l| f64::from(l)).collect();
        let (rt2, rp2) = (permuted(&reg_t, &perm), permuted(&reg_p, &perm));
        prop_assert!(same(metrics::rmse(&reg_t, &reg_p, Some(&w)).unwrap(), metrics::rmse(&rt2, &rp2, Some(&w2)).unwrap()));
        prop_assert!(same(metrics::mae(&reg_t, &reg_p, None).unwrap(), metrics::mae(&rt2, &rp2, None).unwrap()));
        let r2a = metrics::r2(&reg_t, &reg_p, Some(&w));
        let r2b = metrics::r2(&rt2, &rp2, Some(&w2));
        prop_assert!(same(r2a.unwrap(), r2b.unwrap()));
        let auc = metrics::roc_auc(&yb, &score, Some(&w));
        if let Ok(a) = auc {
            prop_assert!((0.0..=1.0).contains(&a));
            prop_assert!(same(a, metrics::roc_auc(&yb2, &s2, Some(&w2)).unwrap()));
            let ap = metrics::average_precision(&yb, &score, Some(&w)).unwrap();
            prop_assert!((0.0..=1.0).contains(&ap));
            prop_assert!(same(ap, metrics::average_precision(&yb2, &s2, Some(&w2)).unwrap()));
            let ua = metrics::roc_auc(&yb, &score, None).unwrap();
            prop_assert!((0.0..=1.0).contains(&ua));
            // Flipping the scores flips the AUC.
            let neg: Vec<f64> = score.iter().map(|s| -s).collect();
            prop_assert!(same(metrics::roc_auc(&yb, &neg, Some(&w)).unwrap(), 1.0 - a));
        } else {
            prop_assert!(yb.iter().all(|&v| v == yb[0]));
        }
        let p1: Vec<f64> = score.clone();
        prop_assert!(same(
            metrics::log_loss_binary(&yb, &p1, Some(&w)).unwrap(),
            metrics::log_loss_binary(&yb2, &s2, Some(&w2)).unwrap()
        ));
        prop_assert!(same(
            metrics::brier_score_binary(&yb, &p1, None).unwrap(),
            metrics::brier_score_binary(&yb2, &s2, None).unwrap()
        ));
    }
}

/// A synthetic problem spanning several row blocks (so the parallel passes really split).
fn synthetic(n: usize, p: usize, k: u32, seed: u64) -> (Matrix, Vec<u32>, Vec<f64>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let cols: Vec<Vec<f64>> = (0..p)
        .map(|_| (0..n).map(|_| rng.random_range(-2.0..2.0)).collect())
        .collect();
    let mut labels = Vec::with_capacity(n);
    let mut yreal = Vec::with_capacity(n);
    for i in 0..n {
        let s: f64 = cols
            .iter()
            .enumerate()
            .map(|(j, c)| c[i] * (j as f64 - 1.5))
            .sum();
        let noisy = s + rng.random_range(-1.5..1.5);
        labels.push(((noisy + 6.0).max(0.0) as u32 / 4).min(k - 1));
        yreal.push(
            0.5 + cols
                .iter()
                .enumerate()
                .map(|(j, c)| c[i] * j as f64)
                .sum::<f64>(),
        );
    }
    (Matrix::from_columns(cols).unwrap(), labels, yreal)
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let (x, labels, yreal) = synthetic(20_000, 5, 3, 11);
    let feats = features(5);
    let target = Target::Classes {
        labels,
        n_classes: 3,
    };
    let fit = |threads| {
        LogisticRegressionParams {
            n_threads: Some(threads),
            tol: 1e-8,
            ..Default::default()
        }
        .check()
        .unwrap()
        .fit(
            &TrainData {
                x: &x,
                y: &target,
                features: &feats,
                weights: None,
            },
            None,
        )
        .unwrap()
    };
    let (a, b) = (fit(1), fit(2));
    assert!(a.converged);
    assert_eq!(a, b, "bitwise identical on 1 and 2 threads");
    // Exact plane: least squares recovers it over several blocks.
    let yr = Target::Real(yreal);
    let lin = LinearRegressionParams::default()
        .check()
        .unwrap()
        .fit(
            &TrainData {
                x: &x,
                y: &yr,
                features: &feats,
                weights: None,
            },
            None,
        )
        .unwrap();
    for (j, c) in lin.coef.iter().enumerate() {
        close(&format!("coef {j}"), *c, j as f64, 1e-10);
    }
    close("intercept", lin.intercept, 0.5, 1e-10);
}

#[test]
fn logistic_regression_needs_every_class() {
    let (x, y, _) = dataset("wine_std");
    let keep: Vec<usize> = (0..y.len()).filter(|&i| y[i] != 2).collect();
    let x2 = x.take_rows(&keep);
    let target = Target::Classes {
        labels: keep.iter().map(|&i| y[i]).collect(),
        n_classes: 3,
    };
    let feats = features(x.n_cols());
    let err = LogisticRegressionParams::default()
        .check()
        .unwrap()
        .fit(
            &TrainData {
                x: &x2,
                y: &target,
                features: &feats,
                weights: None,
            },
            None,
        )
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidData(_)) && err.to_string().contains("class 2"),
        "{err}"
    );
    let real = Target::Real(vec![0.0; x.n_rows()]);
    assert!(
        LogisticRegressionParams::default()
            .check()
            .unwrap()
            .fit(
                &TrainData {
                    x: &x,
                    y: &real,
                    features: &feats,
                    weights: None
                },
                None
            )
            .is_err()
    );
}
