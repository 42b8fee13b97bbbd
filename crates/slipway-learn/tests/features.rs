//! Feature engineering against scikit-learn and pandas, and proof that nothing fitted sees
//! rows outside the training rows.
//!
//! `tests/reference/features/make_reference.py` generated the inputs and the reference
//! outputs in `features_reference.json` (versions recorded there). Scalers, the k-NN
//! imputer, TF-IDF, target encoding, F / chi² scores and polynomial features agree to 1e-9
//! (scores relative); datetime parts exactly; mutual information (a randomized estimator in
//! scikit-learn, seeded jitter here) to 0.05.

use std::sync::{Arc, OnceLock};

use arrow_array::{ArrayRef, Float64Array, StringArray, TimestampMillisecondArray};
use serde_json::Value;
use slipway_data::{DataType, Field, Role, Schema, Table};
use slipway_learn::linear::LogisticRegressionParams;
use slipway_learn::pipeline::{FittedPipeline, ModelSpec, TargetInfo};
use slipway_learn::preprocess::{
    CategoricalImpute, DocFreq, Encoding, FittedPreprocessor, NumericImpute, PreprocessSpec,
    Scaler, ScoreFunc, Smooth, StepSpec, StopWords, TfidfSpec, target_out_of_fold,
    univariate_scores,
};
use slipway_learn::{Matrix, Target, Task, split};

const TOL: f64 = 1e-9;

fn reference() -> &'static Value {
    static REF: OnceLock<Value> = OnceLock::new();
    REF.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/reference/features/features_reference.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).expect("reference JSON"))
            .expect("valid JSON")
    })
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn rows_of(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(nums).collect()
}

fn strings(v: &Value) -> Vec<Option<String>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().map(String::from))
        .collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol * b.abs().max(1.0)
}

fn assert_rows(m: &Matrix, from: usize, to: usize, expected: &[Vec<f64>], what: &str) {
    assert_eq!(to - from, expected.len(), "{what}: rows");
    for (i, row) in expected.iter().enumerate() {
        assert_eq!(row.len(), m.n_cols(), "{what}: columns");
        for (j, &e) in row.iter().enumerate() {
            let got = m.get(from + i, j);
            assert!(close(got, e, TOL), "{what}[{i}][{j}]: {got} vs {e}");
        }
    }
}

/// A table of float columns `x0, x1, ...` from row-major data.
fn float_table(rows: &[Vec<f64>]) -> Table {
    let width = rows[0].len();
    let fields = (0..width)
        .map(|j| Field::new(format!("x{j}"), DataType::Float))
        .collect();
    let cols: Vec<ArrayRef> = (0..width)
        .map(|j| {
            Arc::new(Float64Array::from(
                rows.iter()
                    .map(|r| (!r[j].is_nan()).then_some(r[j]))
                    .collect::<Vec<_>>(),
            )) as ArrayRef
        })
        .collect();
    Table::new(Schema::new(fields).unwrap(), cols).unwrap()
}

fn one_column(name: &str, dtype: DataType, array: ArrayRef) -> Table {
    Table::new(
        Schema::new(vec![Field::new(name, dtype)]).unwrap(),
        vec![array],
    )
    .unwrap()
}

fn plain() -> PreprocessSpec {
    PreprocessSpec {
        numeric_impute: NumericImpute::Keep,
        scale: Scaler::None,
        ..PreprocessSpec::for_linear()
    }
}

fn range(n: usize) -> Vec<usize> {
    (0..n).collect()
}

#[test]
fn scalers_match_scikit_learn() {
    let r = &reference()["scalers"];
    let train = rows_of(&r["train"]);
    let new = rows_of(&r["new"]);
    let all: Vec<Vec<f64>> = train.iter().chain(&new).cloned().collect();
    let t = float_table(&all);
    for (name, scaler) in [
        ("standard", Scaler::Standard),
        ("minmax", Scaler::MinMax),
        ("robust", Scaler::Robust),
    ] {
        let spec = PreprocessSpec {
            scale: scaler,
            ..plain()
        };
        let m = spec
            .fit(&t, &range(train.len()))
            .unwrap()
            .transform(&t)
            .unwrap();
        assert_rows(&m, 0, train.len(), &rows_of(&r[name]["train"]), name);
        assert_rows(&m, train.len(), all.len(), &rows_of(&r[name]["new"]), name);
    }
}

#[test]
fn knn_imputer_matches_scikit_learn() {
    let r = &reference()["knn"];
    let train = rows_of(&r["train"]);
    let new = rows_of(&r["new"]);
    let all: Vec<Vec<f64>> = train.iter().chain(&new).cloned().collect();
    let t = float_table(&all);
    for k in [1, 2, 5] {
        let spec = PreprocessSpec {
            numeric_impute: NumericImpute::Knn,
            knn_neighbors: k,
            ..plain()
        };
        let (fitted, x) = spec.fit_transform(&t, &range(train.len()), None).unwrap();
        let expected = &r[format!("k{k}")];
        assert_rows(
            &x,
            0,
            train.len(),
            &rows_of(&expected["train"]),
            "knn train",
        );
        let m = fitted.transform(&t).unwrap();
        assert_rows(
            &m,
            train.len(),
            all.len(),
            &rows_of(&expected["new"]),
            "knn new",
        );
    }
}

#[test]
fn datetime_parts_match_pandas() {
    let r = &reference()["datetime"];
    let ms: Vec<i64> = r["epoch_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let mut with_missing: Vec<Option<i64>> = ms.iter().copied().map(Some).collect();
    with_missing.push(None);
    let t = one_column(
        "when",
        DataType::Datetime,
        Arc::new(TimestampMillisecondArray::from(with_missing)),
    );
    let spec = PreprocessSpec {
        datetime_features: true,
        ..plain()
    };
    let fitted = spec.fit(&t, &range(ms.len())).unwrap();
    let names: Vec<String> = fitted.features().into_iter().map(|f| f.name).collect();
    let parts = [
        "year",
        "month",
        "day",
        "hour",
        "day_of_week",
        "is_weekend",
        "quarter",
        "is_month_end",
    ];
    assert_eq!(
        names,
        parts
            .iter()
            .map(|p| format!("when:{p}"))
            .collect::<Vec<_>>()
    );
    let m = fitted.transform(&t).unwrap();
    for (j, p) in parts.iter().enumerate() {
        assert_eq!(&m.col(j)[..ms.len()], nums(&r[*p]).as_slice(), "{p}");
        assert!(m.get(ms.len(), j).is_nan(), "missing stays missing");
    }
    // The default keeps the raw epoch number, as before.
    let raw = plain().fit(&t, &range(ms.len())).unwrap();
    assert_eq!(raw.transform(&t).unwrap().col(0)[0], ms[0] as f64);
}

fn tfidf_spec(params: &Value) -> TfidfSpec {
    let mut s = TfidfSpec::default();
    if let Some(n) = params.get("ngram_range") {
        let v = nums(n);
        s.ngram_range = (v[0] as usize, v[1] as usize);
    }
    if params.get("stop_words").is_some() {
        s.stop_words = StopWords::English;
    }
    if let Some(m) = params.get("max_features") {
        s.max_features = m.as_u64().unwrap() as usize;
    }
    let df = |v: &Value| match v.as_u64() {
        Some(c) => DocFreq::Count(c as usize),
        None => DocFreq::Fraction(v.as_f64().unwrap()),
    };
    if let Some(v) = params.get("min_df") {
        s.min_df = df(v);
    }
    if let Some(v) = params.get("max_df") {
        s.max_df = df(v);
    }
    s
}

#[test]
fn tfidf_matches_scikit_learn() {
    let r = &reference()["tfidf"];
    let corpus = strings(&r["corpus"]);
    let new = strings(&r["new"]);
    let docs: Vec<Option<&str>> = corpus.iter().chain(&new).map(|d| d.as_deref()).collect();
    let t = one_column("doc", DataType::Text, Arc::new(StringArray::from(docs)));
    let n = corpus.len();
    // Text is skipped unless asked for.
    assert_eq!(
        plain().fit(&t, &range(n)).unwrap_err().kind(),
        slipway_learn::ErrorKind::User
    );
    for (name, case) in r["cases"].as_object().unwrap() {
        let spec = PreprocessSpec {
            tfidf: Some(tfidf_spec(&case["params"])),
            ..plain()
        };
        let fitted = spec.fit(&t, &range(n)).unwrap();
        let names: Vec<String> = fitted.features().into_iter().map(|f| f.name).collect();
        let vocab: Vec<String> = case["vocabulary"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| format!("doc:tfidf:{}", v.as_str().unwrap()))
            .collect();
        assert_eq!(names[..2], ["doc:length", "doc:word_count"], "{name}");
        assert_eq!(names[2..], vocab[..], "{name}");
        let m = fitted.transform(&t).unwrap();
        let tfidf =
            Matrix::from_columns((2..m.n_cols()).map(|j| m.col(j).to_vec()).collect()).unwrap();
        assert_rows(&tfidf, 0, n, &rows_of(&case["train"]), name);
        assert_rows(&tfidf, n, n + new.len(), &rows_of(&case["new"]), name);
        assert_eq!(&m.col(0)[..n], nums(&r["length"]).as_slice());
        assert_eq!(&m.col(1)[..n], nums(&r["word_count"]).as_slice());
    }
}

fn categorical_with_target(x: &[Option<String>], y: &Target) -> Table {
    let values: Vec<Option<&str>> = x.iter().map(|v| v.as_deref()).collect();
    let yv: Vec<f64> = match y {
        Target::Classes { labels, .. } => labels.iter().map(|&l| f64::from(l)).collect(),
        Target::Real(v) => v.clone(),
    };
    let mut padded = yv;
    padded.resize(values.len(), 0.0);
    Table::new(
        Schema::new(vec![
            Field::new("c", DataType::Categorical),
            Field::new("y", DataType::Float).with_role(Role::Target),
        ])
        .unwrap(),
        vec![
            Arc::new(StringArray::from(values)),
            Arc::new(Float64Array::from(padded)),
        ],
    )
    .unwrap()
}

#[test]
fn target_encoding_matches_scikit_learn() {
    let r = &reference()["target"];
    let x = strings(&r["x"]);
    let new = strings(&r["new"]);
    let n = x.len();
    let folds: Vec<(Vec<usize>, Vec<usize>)> = r["folds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let idx = |v: &Value| -> Vec<usize> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_u64().unwrap() as usize)
                    .collect()
            };
            (idx(&f[0]), idx(&f[1]))
        })
        .collect();
    let all: Vec<Option<String>> = x.iter().chain(&new).cloned().collect();
    for (name, case) in r["cases"].as_object().unwrap() {
        let smooth = match case["smooth"].as_f64() {
            Some(m) => Smooth::Fixed(m),
            None => Smooth::Auto,
        };
        let mut y = match case["target"].as_str().unwrap() {
            "binary" => Target::Classes {
                labels: nums(&r["y_binary"]).iter().map(|&v| v as u32).collect(),
                n_classes: 2,
            },
            _ => Target::Real(nums(&r["y_continuous"])),
        };
        let t = categorical_with_target(&all, &y);
        // Labels for every table row; the new rows' labels are never read.
        y = match y {
            Target::Classes {
                mut labels,
                n_classes,
            } => {
                labels.resize(all.len(), 1);
                Target::Classes { labels, n_classes }
            }
            Target::Real(mut v) => {
                v.resize(all.len(), 1e9);
                Target::Real(v)
            }
        };
        let spec = PreprocessSpec {
            categorical_impute: CategoricalImpute::Keep,
            encoding: Encoding::Target,
            target_smooth: smooth,
            ..plain()
        };
        let (fitted, train_x) = spec.fit_transform(&t, &range(n), Some(&y)).unwrap();
        let m = fitted.transform(&t).unwrap();
        let full = nums(&case["train_full"]);
        let expected_new = nums(&case["new"]);
        for (i, e) in full.iter().enumerate() {
            assert!(close(m.get(i, 0), *e, TOL), "{name} full[{i}]");
        }
        for (i, e) in expected_new.iter().enumerate() {
            assert!(close(m.get(n + i, 0), *e, TOL), "{name} new[{i}]");
        }
        // Out-of-fold values with scikit-learn's (unshuffled) folds.
        let mut cats: Vec<&str> = x.iter().flatten().map(String::as_str).collect();
        cats.sort();
        cats.dedup();
        let codes: Vec<usize> = x
            .iter()
            .map(|v| {
                v.as_deref()
                    .map_or(cats.len(), |s| cats.binary_search(&s).unwrap())
            })
            .collect();
        let yv: Vec<f64> = match &y {
            Target::Classes { labels, .. } => labels[..n].iter().map(|&l| f64::from(l)).collect(),
            Target::Real(v) => v[..n].to_vec(),
        };
        let oof = target_out_of_fold(&codes, &yv, cats.len() + 1, smooth, &folds).unwrap();
        for (i, e) in nums(&case["oof"]).iter().enumerate() {
            assert!(close(oof[i], *e, TOL), "{name} oof[{i}]: {} vs {e}", oof[i]);
        }
        // The training matrix is out-of-fold with the spec's own (seeded) folds.
        let own_folds = match &y {
            Target::Classes { labels, .. } => split::stratified_k_fold(&labels[..n], 5, 0),
            Target::Real(_) => split::k_fold(n, 5, true, 0),
        }
        .unwrap();
        let own = target_out_of_fold(&codes, &yv, cats.len() + 1, smooth, &own_folds).unwrap();
        assert_eq!(train_x.col(0), own.as_slice(), "{name}");
        assert_ne!(
            train_x.col(0),
            &m.col(0)[..n],
            "{name}: training rows not out-of-fold"
        );
    }
}

#[test]
fn target_encoding_refuses_multiclass_and_missing_labels() {
    let x: Vec<Option<String>> = ["a", "b", "c", "a"]
        .iter()
        .map(|s| Some(s.to_string()))
        .collect();
    let y = Target::Classes {
        labels: vec![0, 1, 2, 0],
        n_classes: 3,
    };
    let t = categorical_with_target(&x, &y);
    let spec = PreprocessSpec {
        encoding: Encoding::Target,
        ..plain()
    };
    let e = spec
        .fit_with_target(&t, &range(4), Some(&y))
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"c\"") && e.contains("3 classes"), "{e}");
    let e = spec.fit(&t, &range(4)).unwrap_err().to_string();
    assert!(e.contains("labels"), "{e}");
}

/// The bagged tree families default to target encoding (measured in bench/forest_encoding)
/// where the target allows it: binary and regression; multiclass and unlabelled fits get
/// native categories. The GBDT keeps native category sets, as LightGBM.
#[test]
fn forest_families_default_to_target_encoding_where_the_target_allows() {
    use slipway_learn::FeatureKind;
    for family in ["random_forest", "extra_trees", "decision_tree"] {
        let spec: ModelSpec =
            serde_json::from_value(serde_json::json!({ "type": family, "params": {} })).unwrap();
        assert_eq!(
            spec.default_preprocess().encoding,
            Encoding::Auto,
            "{family}"
        );
    }
    let gbdt: ModelSpec =
        serde_json::from_value(serde_json::json!({ "type": "gbdt", "params": {} })).unwrap();
    assert_eq!(gbdt.default_preprocess().encoding, Encoding::Native);

    let x: Vec<Option<String>> = (0..40)
        .map(|i| (i % 7 != 3).then(|| format!("level {}", i % 5)))
        .collect();
    let kind_for = |y: Option<&Target>| {
        let t = categorical_with_target(&x, y.unwrap_or(&Target::Real(vec![0.0; x.len()])));
        PreprocessSpec::for_forests()
            .fit_with_target(&t, &range(x.len()), y)
            .unwrap()
            .features()[0]
            .kind
            .clone()
    };
    let binary = Target::Classes {
        labels: (0..40).map(|i| u32::from(i % 5 < 2)).collect(),
        n_classes: 2,
    };
    let multi = Target::Classes {
        labels: (0..40).map(|i| (i % 3) as u32).collect(),
        n_classes: 3,
    };
    let real = Target::Real((0..40).map(f64::from).collect());
    assert!(matches!(kind_for(Some(&binary)), FeatureKind::Numeric));
    assert!(matches!(kind_for(Some(&real)), FeatureKind::Numeric));
    assert!(matches!(
        kind_for(Some(&multi)),
        FeatureKind::Categorical { .. }
    ));
    assert!(matches!(kind_for(None), FeatureKind::Categorical { .. }));
}

fn steps_reference() -> (Matrix, Table, &'static Value) {
    let r = &reference()["steps"];
    let rows = rows_of(&r["x"]);
    let t = float_table(&rows);
    let x = plain()
        .fit(&t, &range(rows.len()))
        .unwrap()
        .transform(&t)
        .unwrap();
    (x, t, r)
}

fn classes(v: &Value) -> Target {
    let labels: Vec<u32> = nums(v).iter().map(|&l| l as u32).collect();
    let n_classes = *labels.iter().max().unwrap() as usize + 1;
    Target::Classes { labels, n_classes }
}

#[test]
fn univariate_scores_match_scikit_learn() {
    let (x, _, r) = steps_reference();
    let cases = [
        ("f_classif", ScoreFunc::FClassif, classes(&r["y_class"])),
        ("f_classif3", ScoreFunc::FClassif, classes(&r["y_class3"])),
        (
            "f_regression",
            ScoreFunc::FRegression,
            Target::Real(nums(&r["y_reg"])),
        ),
        ("chi2", ScoreFunc::Chi2, classes(&r["y_class3"])),
    ];
    for (name, score, y) in cases {
        let got = univariate_scores(&x, &y, score, 0).unwrap();
        for (g, e) in got.iter().zip(nums(&r[name])) {
            assert!(close(*g, e, TOL), "{name}: {g} vs {e}");
        }
    }
    for (name, y) in [
        ("mutual_info_classif", classes(&r["y_class"])),
        ("mutual_info_regression", Target::Real(nums(&r["y_reg"]))),
    ] {
        let got = univariate_scores(&x, &y, ScoreFunc::MutualInfo, 0).unwrap();
        let expected = nums(&r[name]);
        for (g, e) in got.iter().zip(&expected) {
            assert!((g - e).abs() < 0.05, "{name}: {got:?} vs {expected:?}");
        }
    }
}

#[test]
fn selection_and_polynomial_steps_match_scikit_learn() {
    let (_, t, r) = steps_reference();
    let n = t.n_rows();
    let names = |f: &FittedPreprocessor| -> Vec<String> {
        f.features().into_iter().map(|f| f.name).collect()
    };
    let with = |steps: Vec<StepSpec>| PreprocessSpec { steps, ..plain() };
    for (key, threshold) in [("0.0", 0.0), ("1.5", 1.5)] {
        let f = with(vec![StepSpec::VarianceThreshold { threshold }])
            .fit(&t, &range(n))
            .unwrap();
        let support: Vec<String> = nums(&r["variance"][key]["support"])
            .iter()
            .map(|&j| format!("x{j}"))
            .collect();
        assert_eq!(names(&f), support, "variance {key}");
    }
    for (key, k, score, y) in [
        (
            "select_f_classif_k2",
            2,
            ScoreFunc::FClassif,
            classes(&r["y_class"]),
        ),
        (
            "select_chi2_k3",
            3,
            ScoreFunc::Chi2,
            classes(&r["y_class3"]),
        ),
    ] {
        let (f, x) = with(vec![StepSpec::SelectKBest { k, score, seed: 0 }])
            .fit_transform(&t, &range(n), Some(&y))
            .unwrap();
        let expected: Vec<String> = nums(&r[key]).iter().map(|&j| format!("x{j}")).collect();
        assert_eq!(names(&f), expected, "{key}");
        assert_eq!(x, f.transform(&t).unwrap());
    }
    // Polynomial features of three columns renamed a, b, c.
    let px = rows_of(&r["poly_x"]);
    let pt = float_table(&px);
    for key in ["poly_d2", "poly_d3_inter_bias", "poly_d3"] {
        let p = &r[key]["params"];
        let step = StepSpec::Polynomial {
            degree: p["degree"].as_u64().unwrap() as usize,
            interaction_only: p["interaction_only"].as_bool().unwrap_or(false),
            include_bias: p["include_bias"].as_bool().unwrap_or(true),
        };
        let f = with(vec![step]).fit(&pt, &range(px.len())).unwrap();
        let renamed: Vec<String> = names(&f)
            .iter()
            .map(|s| s.replace("x0", "a").replace("x1", "b").replace("x2", "c"))
            .collect();
        let expected: Vec<String> = strings(&r[key]["names"]).into_iter().flatten().collect();
        assert_eq!(renamed, expected, "{key}");
        let m = f.transform(&pt).unwrap();
        assert_rows(&m, 0, px.len(), &rows_of(&r[key]["values"]), key);
    }
}

#[test]
fn scale_accepts_names_and_the_old_booleans() {
    for (text, want) in [
        ("true", Scaler::Standard),
        ("false", Scaler::None),
        ("\"minmax\"", Scaler::MinMax),
        ("\"robust\"", Scaler::Robust),
        ("\"standard\"", Scaler::Standard),
    ] {
        let s: Scaler = serde_json::from_str(text).unwrap();
        assert_eq!(s, want);
    }
    assert!(serde_json::from_str::<Scaler>("\"z\"").is_err());
    let spec: PreprocessSpec = serde_json::from_str(
        r#"{"scale": true, "steps": [{"select_k_best": {"k": 3, "score": "chi2"}},
            {"polynomial": {"degree": 2}}], "tfidf": {"min_df": 2, "max_df": 0.9},
            "target_smooth": "auto"}"#,
    )
    .unwrap();
    assert_eq!(spec.scale, Scaler::Standard);
    assert_eq!(spec.tfidf.as_ref().unwrap().min_df, DocFreq::Count(2));
    assert_eq!(spec.tfidf.as_ref().unwrap().max_df, DocFreq::Fraction(0.9));
    let back: PreprocessSpec =
        serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
    assert_eq!(back, spec);
    // The default spec is what it was.
    let d = PreprocessSpec::default();
    assert_eq!(d.scale, Scaler::Standard);
    assert!(d.steps.is_empty() && d.tfidf.is_none() && !d.datetime_features);
}

/// Every kind of column, for the leakage and round-trip tests.
struct Mixed {
    num_a: Vec<Option<f64>>,
    num_b: Vec<Option<f64>>,
    cat: Vec<Option<String>>,
    text: Vec<Option<String>>,
    when: Vec<Option<i64>>,
    labels: Vec<u32>,
}

impl Mixed {
    fn new(n: usize) -> Mixed {
        let words = [
            "red apple",
            "green pear tree",
            "blue sky",
            "red sky at night",
            "tall tree",
        ];
        Mixed {
            num_a: (0..n)
                .map(|i| (i % 7 != 3).then(|| (i as f64 * 0.37).sin() * 10.0))
                .collect(),
            num_b: (0..n)
                .map(|i| (i % 5 != 1).then(|| ((i * i) % 13) as f64 + 0.5))
                .collect(),
            cat: (0..n)
                .map(|i| (i % 11 != 0).then(|| ["u", "v", "w", "x"][i % 4].to_string()))
                .collect(),
            text: (0..n)
                .map(|i| Some(format!("{} {}", words[i % 5], words[(i / 2) % 5])))
                .collect(),
            when: (0..n)
                .map(|i| Some(1_600_000_000_000 + i as i64 * 37_000_000))
                .collect(),
            labels: (0..n).map(|i| u32::from((i * 7) % 10 < 4)).collect(),
        }
    }

    /// Rows outside `keep` get extreme values, new categories and words, and flipped labels.
    fn poisoned(&self, keep: &[usize]) -> Mixed {
        let mut m = Mixed {
            num_a: self.num_a.clone(),
            num_b: self.num_b.clone(),
            cat: self.cat.clone(),
            text: self.text.clone(),
            when: self.when.clone(),
            labels: self.labels.clone(),
        };
        for i in 0..self.labels.len() {
            if keep.contains(&i) {
                continue;
            }
            m.num_a[i] = Some(1e12);
            m.num_b[i] = if i % 2 == 0 { None } else { Some(-1e15) };
            m.cat[i] = Some("POISON".into());
            m.text[i] = Some("poison poison leak".into());
            m.when[i] = Some(4_000_000_000_000);
            m.labels[i] = 1 - m.labels[i];
        }
        m
    }

    fn table(&self) -> (Table, Target) {
        let strs = |v: &[Option<String>]| -> ArrayRef {
            Arc::new(StringArray::from(
                v.iter().map(|s| s.as_deref()).collect::<Vec<_>>(),
            ))
        };
        let label_text: Vec<Option<&str>> = self
            .labels
            .iter()
            .map(|&l| Some(if l == 1 { "yes" } else { "no" }))
            .collect();
        let t = Table::new(
            Schema::new(vec![
                Field::new("a", DataType::Float),
                Field::new("b", DataType::Float),
                Field::new("c", DataType::Categorical),
                Field::new("note", DataType::Text),
                Field::new("when", DataType::Datetime),
                Field::new("y", DataType::Categorical).with_role(Role::Target),
            ])
            .unwrap(),
            vec![
                Arc::new(Float64Array::from(self.num_a.clone())),
                Arc::new(Float64Array::from(self.num_b.clone())),
                strs(&self.cat),
                strs(&self.text),
                Arc::new(TimestampMillisecondArray::from(self.when.clone())),
                Arc::new(StringArray::from(label_text)),
            ],
        )
        .unwrap();
        let y = Target::Classes {
            labels: self.labels.clone(),
            n_classes: 2,
        };
        (t, y)
    }
}

/// A spec where every learning part is used: k-NN imputation, robust / min-max / standard
/// scaling, target encoding, datetime parts, TF-IDF and all three steps.
fn everything() -> PreprocessSpec {
    let mut spec = PreprocessSpec {
        numeric_impute: NumericImpute::Knn,
        knn_neighbors: 3,
        scale: Scaler::Robust,
        datetime_features: true,
        tfidf: Some(TfidfSpec {
            ngram_range: (1, 2),
            stop_words: StopWords::English,
            ..TfidfSpec::default()
        }),
        encoding: Encoding::Target,
        steps: vec![
            StepSpec::VarianceThreshold { threshold: 0.0 },
            StepSpec::Polynomial {
                degree: 2,
                interaction_only: true,
                include_bias: false,
            },
            StepSpec::SelectKBest {
                k: 25,
                score: ScoreFunc::FClassif,
                seed: 0,
            },
        ],
        ..PreprocessSpec::for_linear()
    };
    spec.columns.insert(
        "b".into(),
        serde_json::from_str(r#"{"numeric_impute": "median", "scale": "minmax"}"#).unwrap(),
    );
    spec
}

#[test]
fn nothing_fitted_sees_rows_outside_the_training_rows() {
    let n = 60;
    let clean = Mixed::new(n);
    let (t, y) = clean.table();
    let folds = split::stratified_k_fold(&clean.labels, 3, 1).unwrap();
    for (fit_rows, _) in &folds {
        let (t_bad, y_bad) = clean.poisoned(fit_rows).table();
        let spec = everything();
        let (f1, x1) = spec.fit_transform(&t, fit_rows, Some(&y)).unwrap();
        let (f2, x2) = spec.fit_transform(&t_bad, fit_rows, Some(&y_bad)).unwrap();
        assert!(f1 == f2, "a fitted statistic saw a validation row");
        // Control: fitted on every row, the poison does show.
        let all = range(n);
        let g1 = spec.fit_with_target(&t, &all, Some(&y)).unwrap();
        let g2 = spec.fit_with_target(&t_bad, &all, Some(&y_bad)).unwrap();
        for (c1, c2) in g1.columns.iter().zip(&g2.columns) {
            assert!(c1 != c2, "column {} would not notice a leak", c1.name);
        }
        assert!(x1 == x2, "the training matrix changed");
        assert!(f1.knn.is_some() && f1.steps.len() == 3);
        // Each group of statistics is there to be compared.
        let kinds: Vec<String> = f1
            .columns
            .iter()
            .map(|c| serde_json::to_value(&c.transform).unwrap()["kind"].to_string())
            .collect();
        assert_eq!(
            kinds,
            [
                "\"numeric\"",
                "\"numeric\"",
                "\"target\"",
                "\"text\"",
                "\"datetime\""
            ]
        );

        // The same through the pipeline, as cross-validation fits each fold.
        let (info, _) = TargetInfo::fit(&t, "y", slipway_learn::pipeline::TaskHint::Auto).unwrap();
        assert_eq!(info.task, Task::Binary);
        let model = ModelSpec::LogisticRegression(LogisticRegressionParams::default());
        let p1 = FittedPipeline::fit(&t, fit_rows, &info, &y, &model, &spec).unwrap();
        let (info_bad, _) =
            TargetInfo::fit(&t_bad, "y", slipway_learn::pipeline::TaskHint::Auto).unwrap();
        let p2 = FittedPipeline::fit(&t_bad, fit_rows, &info_bad, &y_bad, &model, &spec).unwrap();
        assert!(p1.preprocessor == p2.preprocessor && p1.model == p2.model);
    }
}

#[test]
fn fitted_features_round_trip_through_json_bit_for_bit() {
    let m = Mixed::new(50);
    let (t, y) = m.table();
    let rows = range(40);
    let f = everything().fit_with_target(&t, &rows, Some(&y)).unwrap();
    let json = serde_json::to_string(&f).unwrap();
    let back: FittedPreprocessor = serde_json::from_str(&json).unwrap();
    assert!(back == f, "JSON round trip changed the fitted preprocessor");
    let bits = |m: &Matrix| -> Vec<u64> { m.as_col_major().iter().map(|v| v.to_bits()).collect() };
    assert_eq!(
        bits(&back.transform(&t).unwrap()),
        bits(&f.transform(&t).unwrap())
    );
    assert_eq!(back.features(), f.features());
    // Width agrees with the feature list.
    assert_eq!(f.transform(&t).unwrap().n_cols(), f.features().len());
}

#[test]
fn every_feature_knows_the_input_columns_it_comes_from() {
    let (t, y) = Mixed::new(60).table();
    for steps in [
        Vec::new(),
        vec![StepSpec::Polynomial {
            degree: 2,
            interaction_only: true,
            include_bias: true,
        }],
    ] {
        let spec = PreprocessSpec {
            datetime_features: true,
            tfidf: Some(TfidfSpec::default()),
            encoding: Encoding::OneHot,
            steps,
            ..PreprocessSpec::for_linear()
        };
        let (fitted, _) = spec.fit_transform(&t, &range(60), Some(&y)).unwrap();
        let features = fitted.features();
        let sources = fitted.feature_sources();
        assert_eq!(sources.len(), features.len());
        for (f, src) in features.iter().zip(&sources) {
            // One-hot indicators, TF-IDF terms, datetime parts and products are named after
            // their columns; the bias column "1" comes from none.
            assert_eq!(src.is_empty(), f.name == "1", "{}", f.name);
            for &c in src {
                assert!(
                    f.name.contains(&fitted.columns[c].name),
                    "{} from {}",
                    f.name,
                    fitted.columns[c].name
                );
            }
        }
        let one_hot = features.iter().filter(|f| f.name.starts_with("c=")).count();
        assert!(one_hot >= 4);
        assert!(sources.iter().any(|s| s.len() == 2) || spec.steps.is_empty());
    }
}
