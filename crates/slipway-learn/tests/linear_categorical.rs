//! `linear_regression` on data with categorical columns: the default preprocessing of an
//! unpenalized linear model leaves out one one-hot level per categorical (scikit-learn's
//! `drop="first"`), so the fit has a unique solution, and it equals scikit-learn's
//! `LinearRegression` on that encoding (`tests/reference/linear/make_drop_first.py` →
//! `drop_first.json`). When collinearity remains, the error names the columns involved.

use std::path::{Path, PathBuf};

use serde_json::Value;
use slipway_data::Role;
use slipway_data::ingest::{ReadOptions, read_table};
use slipway_learn::linear::{LinearRegressionParams, LogisticRegressionParams, Penalty};
use slipway_learn::pipeline::{FittedPipeline, ModelSpec, TargetInfo, TaskHint};
use slipway_learn::{ErrorKind, Prediction};

fn path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn table(name: &str) -> slipway_data::Table {
    let mut t = read_table(
        &path(&format!("tests/data/{name}")),
        &ReadOptions::default(),
    )
    .unwrap();
    t.set_role("y", Role::Target).unwrap();
    t
}

fn reference() -> Value {
    let text = std::fs::read_to_string(path("tests/reference/linear/drop_first.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn values(p: Prediction) -> Vec<f64> {
    match p {
        Prediction::Values(v) => v,
        Prediction::Probabilities(_) => panic!("expected values"),
    }
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-8 * w.abs().max(1.0),
            "{what} row {i}: {g} vs scikit-learn {w}"
        );
    }
}

#[test]
fn default_linear_regression_fits_categoricals_like_sklearn_drop_first() {
    let train = table("linear_categorical_train.csv");
    let test = table("linear_categorical_test.csv");
    let (target, y) = TargetInfo::fit(&train, "y", TaskHint::Regression).unwrap();
    let rows: Vec<usize> = (0..train.n_rows()).collect();
    let spec = ModelSpec::LinearRegression(LinearRegressionParams::default());
    let pre = spec.default_preprocess();
    assert!(pre.drop_first);
    let fitted = FittedPipeline::fit(&train, &rows, &target, &y, &spec, &pre).unwrap();
    let r = reference();
    // Two numbers, color (blue dropped; green, missing, red), size (L dropped; M, S).
    let names: Vec<String> = fitted.features().into_iter().map(|f| f.name).collect();
    assert_eq!(
        names,
        [
            "x1",
            "x2",
            "color=green",
            "color=missing",
            "color=red",
            "size=M",
            "size=S"
        ]
    );
    assert_close(
        "train",
        &values(fitted.predict(&train).unwrap()),
        &f64s(&r["pred_train"]),
    );
    // The test rows include an unseen color ("purple", row 1), scored as the dropped
    // first category, as scikit-learn does (with a warning) under handle_unknown="ignore".
    assert_close(
        "test",
        &values(fitted.predict(&test).unwrap()),
        &f64s(&r["pred_test"]),
    );
}

#[test]
fn full_one_hot_with_intercept_names_the_collinear_columns_as_a_data_error() {
    let train = table("linear_categorical_train.csv");
    let (target, y) = TargetInfo::fit(&train, "y", TaskHint::Regression).unwrap();
    let rows: Vec<usize> = (0..train.n_rows()).collect();
    let spec = ModelSpec::LinearRegression(LinearRegressionParams::default());
    let mut pre = spec.default_preprocess();
    pre.drop_first = false;
    let e = FittedPipeline::fit(&train, &rows, &target, &y, &spec, &pre).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::User);
    let m = e.to_string();
    assert!(m.starts_with("invalid data"), "{m}");
    // Every level of color is in the combination (they sum to the intercept's column).
    for level in ["color=blue", "color=green", "color=missing", "color=red"] {
        assert!(m.contains(level), "{level} not named: {m}");
    }
    assert!(m.contains("intercept"), "{m}");
    assert!(m.contains("drop one of these columns"), "{m}");
    assert!(m.contains("alpha > 0") && m.contains("elastic_net"), "{m}");
    // The penalized fit of the same encoding is fine.
    let ridge = ModelSpec::LinearRegression(LinearRegressionParams {
        alpha: 1.0,
        ..Default::default()
    });
    FittedPipeline::fit(&train, &rows, &target, &y, &ridge, &pre).unwrap();
}

#[test]
fn drop_first_is_the_default_only_for_unpenalized_linear_models() {
    let ols = ModelSpec::LinearRegression(LinearRegressionParams::default());
    let ridge = ModelSpec::LinearRegression(LinearRegressionParams {
        alpha: 0.5,
        ..Default::default()
    });
    let logistic = ModelSpec::LogisticRegression(LogisticRegressionParams::default());
    let unpenalized = ModelSpec::LogisticRegression(LogisticRegressionParams {
        penalty: Penalty::None,
        ..Default::default()
    });
    assert!(ols.default_preprocess().drop_first);
    assert!(unpenalized.default_preprocess().drop_first);
    assert!(!ridge.default_preprocess().drop_first);
    assert!(!logistic.default_preprocess().drop_first);
}
