//! The model bundle: round trips bit for bit, refuses damage and unknown versions, and
//! bundles written by earlier builds keep loading.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use slipway_data::ingest::{ReadOptions, read_table};
use slipway_data::profile::profile;
use slipway_data::{Role, Table};
use slipway_learn::bundle::{BundleContents, FORMAT_VERSION, Lineage, load_bundle, write_bundle};
use slipway_learn::gbdt::GbdtParams;
use slipway_learn::linear::LogisticRegressionParams;
use slipway_learn::pipeline::{FittedPipeline, ModelSpec, TargetInfo, TaskHint};
use slipway_learn::{Error, Prediction};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn adult_sample() -> Table {
    let mut t = read_table(
        &repo().join("crates/slipway-learn/tests/data/adult_sample.csv"),
        &ReadOptions::default(),
    )
    .unwrap();
    t.set_role("income", Role::Target).unwrap();
    t.set_role("sex", Role::Protected).unwrap();
    t
}

fn fit(spec: ModelSpec) -> (Table, FittedPipeline) {
    let t = adult_sample();
    let (target, y) = TargetInfo::fit(&t, "income", TaskHint::Auto).unwrap();
    let rows: Vec<usize> = (0..t.n_rows()).collect();
    let preprocess = spec.default_preprocess();
    let p = FittedPipeline::fit(&t, &rows, &target, &y, &spec, &preprocess).unwrap();
    (t, p)
}

fn write(dir: &Path, t: &Table, p: &FittedPipeline) {
    write_bundle(
        dir,
        BundleContents {
            name: "adult-sample",
            created_at: "2026-11-27T00:00:00Z",
            pipeline: p,
            profile: &profile(t),
            metrics: BTreeMap::from([("roc_auc".to_string(), 0.9)]),
            lineage: Lineage::default(),
            extra_files: vec![("report.html".into(), b"<html></html>".to_vec())],
        },
    )
    .unwrap();
}

fn probabilities(p: &Prediction) -> Vec<u64> {
    match p {
        Prediction::Probabilities(m) => m.as_col_major().iter().map(|v| v.to_bits()).collect(),
        Prediction::Values(v) => v.iter().map(|x| x.to_bits()).collect(),
    }
}

#[test]
fn loaded_bundle_predicts_bit_for_bit() {
    let gbdt = GbdtParams {
        n_estimators: 30,
        num_leaves: 15,
        ..GbdtParams::default()
    };
    for spec in [
        ModelSpec::Gbdt(gbdt),
        ModelSpec::LogisticRegression(LogisticRegressionParams::default()),
    ] {
        let (t, p) = fit(spec);
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("model");
        write(&b, &t, &p);
        let loaded = load_bundle(&b).unwrap();
        assert_eq!(loaded.pipeline, p);
        assert_eq!(
            probabilities(&loaded.pipeline.predict(&t).unwrap()),
            probabilities(&p.predict(&t).unwrap())
        );
        assert!(
            !loaded
                .pipeline
                .features()
                .iter()
                .any(|f| f.name.starts_with("sex"))
        );
        let mlmodel = std::fs::read_to_string(b.join("MLmodel")).unwrap();
        assert!(
            mlmodel.contains("\"name\": \"workclass\"")
                || mlmodel.contains("\"name\":\"workclass\"")
        );
    }
}

#[test]
fn rewriting_replaces_the_old_bundle_whole() {
    let (t, p) = fit(ModelSpec::LogisticRegression(
        LogisticRegressionParams::default(),
    ));
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("model");
    write(&b, &t, &p);
    write(&b, &t, &p);
    assert!(load_bundle(&b).is_ok());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("model")]);
}

#[test]
fn damaged_or_newer_bundles_are_refused_clearly() {
    let (t, p) = fit(ModelSpec::LogisticRegression(
        LogisticRegressionParams::default(),
    ));
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("model");
    write(&b, &t, &p);

    let pipeline = b.join("pipeline.json");
    let original = std::fs::read_to_string(&pipeline).unwrap();
    std::fs::write(
        &pipeline,
        original.replacen("\"intercept\"", "\"intercept\" ", 1),
    )
    .unwrap();
    let err = load_bundle(&b).unwrap_err().to_string();
    assert!(
        err.contains("pipeline.json") && err.contains("checksum"),
        "{err}"
    );
    std::fs::write(&pipeline, original).unwrap();

    let manifest = b.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace(
            &format!("\"format_version\": {FORMAT_VERSION}"),
            "\"format_version\": 99",
        ),
    )
    .unwrap();
    let err = load_bundle(&b).unwrap_err();
    assert!(matches!(err, Error::Bundle { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("version 99") && msg.contains("upgrade"),
        "{msg}"
    );

    let err = load_bundle(dir.path()).unwrap_err().to_string();
    assert!(err.contains("manifest.json"), "{err}");
}

/// A bundle written by format version 1 and checked into the repository, with the
/// predictions it made when it was written. Any change that stops it loading, or changes
/// what it predicts, breaks users' stored models.
#[test]
fn checked_in_v1_bundle_still_loads_and_predicts_the_same() {
    let root = repo().join("crates/slipway-learn/tests/data/bundle_v1");
    let b = load_bundle(&root.join("model")).unwrap();
    assert_eq!(b.manifest.format_version, 1);
    let t = adult_sample();
    let expected: Vec<f64> = std::fs::read_to_string(root.join("expected_p1.txt"))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    match b.pipeline.predict(&t).unwrap() {
        Prediction::Probabilities(m) => {
            assert_eq!(m.n_rows(), expected.len());
            for (i, e) in expected.iter().enumerate() {
                assert_eq!(m.get(i, 1).to_bits(), e.to_bits(), "row {i}");
            }
        }
        Prediction::Values(_) => panic!("expected probabilities"),
    }
}

// ---------------------------------------------------------------------------------------------
// Exact floats, verification, and what a bad bundle is

/// A table from columns: floats (`None` = missing), one category and a 0/1 label.
fn table(x: &[Vec<Option<f64>>], cat: &[Option<&str>], y: &[f64], regression: bool) -> Table {
    use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
    use slipway_data::{DataType, Field, Schema};
    use std::sync::Arc;
    let mut fields = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for (j, c) in x.iter().enumerate() {
        fields.push(Field::new(format!("x{j}"), DataType::Float));
        cols.push(Arc::new(Float64Array::from(c.clone())));
    }
    fields.push(Field::new("cat", DataType::Categorical));
    cols.push(Arc::new(StringArray::from(cat.to_vec())));
    if regression {
        fields.push(Field::new("y", DataType::Float).with_role(Role::Target));
        cols.push(Arc::new(Float64Array::from(y.to_vec())));
    } else {
        fields.push(Field::new("y", DataType::Integer).with_role(Role::Target));
        cols.push(Arc::new(Int64Array::from(
            y.iter().map(|&v| v as i64).collect::<Vec<_>>(),
        )));
    }
    Table::new(Schema::new(fields).unwrap(), cols).unwrap()
}

/// Feature `x0` is missing in every positive row and a number in every negative one, so the
/// first split sends missing values one way and every number the other: threshold +∞.
fn missing_in_one_class() -> Table {
    let n = 200;
    let y: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
    let x0: Vec<Option<f64>> = (0..n)
        .map(|i| (i % 2 == 0).then_some((i * 37 % 101) as f64 / 10.0))
        .collect();
    let x1: Vec<Option<f64>> = (0..n).map(|i| Some((i * 13 % 29) as f64)).collect();
    let cat: Vec<Option<&str>> = (0..n).map(|i| Some(["a", "b", "c"][i % 3])).collect();
    table(&[x0, x1], &cat, &y, false)
}

fn fit_on(t: &Table, spec: ModelSpec) -> FittedPipeline {
    let (target, y) = TargetInfo::fit(t, "y", TaskHint::Auto).unwrap();
    let rows: Vec<usize> = (0..t.n_rows()).collect();
    FittedPipeline::fit(t, &rows, &target, &y, &spec, &spec.default_preprocess()).unwrap()
}

fn small_gbdt() -> ModelSpec {
    ModelSpec::Gbdt(GbdtParams {
        n_estimators: 5,
        num_leaves: 4,
        min_data_in_leaf: 5,
        ..GbdtParams::default()
    })
}

/// Rewrites `file` of the bundle at `dir` and its checksum in the manifest, as a writer
/// that produced those bytes would have.
fn rewrite_with_checksum(dir: &Path, file: &str, bytes: &[u8]) {
    std::fs::write(dir.join(file), bytes).unwrap();
    let manifest = dir.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    m["files"][file]["sha256"] = slipway_learn::bundle::sha256(bytes).into();
    m["files"][file]["bytes"] = bytes.len().into();
    std::fs::write(&manifest, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

#[test]
fn an_infinite_gbdt_threshold_is_written_exactly_and_loads() {
    let t = missing_in_one_class();
    let p = fit_on(&t, small_gbdt());
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("model");
    write(&b, &t, &p);
    let text = std::fs::read_to_string(b.join("pipeline.json")).unwrap();
    assert!(
        text.contains("\"t\": \"inf\""),
        "expected a +inf threshold written as \"inf\""
    );
    assert!(!text.contains("\"t\": null"));
    let loaded = load_bundle(&b).unwrap();
    assert_eq!(loaded.pipeline, p);
    assert_eq!(
        probabilities(&loaded.pipeline.predict(&t).unwrap()),
        probabilities(&p.predict(&t).unwrap())
    );

    // A bundle from before exact floats wrote that threshold as null: it reads as +inf.
    rewrite_with_checksum(
        &b,
        "pipeline.json",
        text.replace("\"t\": \"inf\"", "\"t\": null").as_bytes(),
    );
    let old = load_bundle(&b).unwrap();
    assert_eq!(old.pipeline, p);
    assert_eq!(
        probabilities(&old.pipeline.predict(&t).unwrap()),
        probabilities(&p.predict(&t).unwrap())
    );
}

#[test]
fn a_damaged_bundle_is_the_users_error_and_an_unreadable_intact_one_is_a_bug() {
    let (t, p) = fit(ModelSpec::LogisticRegression(
        LogisticRegressionParams::default(),
    ));
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().join("model");
    write(&b, &t, &p);
    let original = std::fs::read(b.join("pipeline.json")).unwrap();

    // Damaged: the bytes no longer match the checksum.
    std::fs::write(b.join("pipeline.json"), b"{}").unwrap();
    let err = load_bundle(&b).unwrap_err();
    assert!(matches!(err, Error::Bundle { .. }), "{err:?}");
    assert_eq!(err.kind(), slipway_learn::ErrorKind::User);
    assert!(err.to_string().contains("damaged"), "{err}");

    // Missing file.
    std::fs::remove_file(b.join("pipeline.json")).unwrap();
    let err = load_bundle(&b).unwrap_err();
    assert_eq!(err.kind(), slipway_learn::ErrorKind::User);
    assert!(
        err.to_string().contains("pipeline.json is missing"),
        "{err}"
    );

    // Intact (checksums match) but not a pipeline: Slipway wrote it wrongly.
    let bad = String::from_utf8(original)
        .unwrap()
        .replacen("\"intercept\"", "\"intercept_\"", 1);
    rewrite_with_checksum(&b, "pipeline.json", bad.as_bytes());
    let err = load_bundle(&b).unwrap_err();
    assert!(matches!(err, Error::BundleDefect { .. }), "{err:?}");
    assert_eq!(err.kind(), slipway_learn::ErrorKind::Internal);
    let msg = err.to_string();
    assert!(
        msg.contains("pipeline.json") && msg.contains("bug") && msg.contains("report"),
        "{msg}"
    );
}

/// The `MLmodel` signature's inputs, parsed from the file.
fn mlmodel_inputs(bundle: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(bundle.join("MLmodel")).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("inputs: "))
        .expect("MLmodel has signature inputs");
    let json = line
        .strip_prefix('\'')
        .and_then(|l| l.strip_suffix('\''))
        .unwrap()
        .replace("''", "'");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["type"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn mlmodel_signature_manifest_inputs_and_the_input_schema_are_one_list() {
    let (t, mut p) = fit(ModelSpec::Gbdt(GbdtParams {
        n_estimators: 5,
        ..GbdtParams::default()
    }));
    for declared in [false, true] {
        if declared {
            p.declared_types
                .insert("age".into(), slipway_data::DataType::Integer);
        }
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("model");
        write(&b, &t, &p);
        let loaded = load_bundle(&b).unwrap();
        let schema = loaded.pipeline.input_schema();
        let expected: Vec<(String, String)> = schema
            .iter()
            .map(|(n, d)| {
                (
                    n.clone(),
                    slipway_learn::bundle::mlflow_type(*d).to_string(),
                )
            })
            .collect();
        assert_eq!(mlmodel_inputs(&b), expected);
        assert_eq!(
            loaded.manifest.inputs,
            schema.iter().cloned().collect::<BTreeMap<_, _>>()
        );
        // Neither the target nor the protected column is an input.
        assert!(!schema.iter().any(|(n, _)| n == "income" || n == "sex"));
        // "age" was inferred integer: any number is accepted unless declared integer.
        let age = schema.iter().find(|(n, _)| n == "age").unwrap().1;
        let want = if declared { "long" } else { "double" };
        assert_eq!(slipway_learn::bundle::mlflow_type(age), want);
    }
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;
    use slipway_learn::linear::LinearRegressionParams;
    use slipway_learn::tree::{DecisionTreeParams, RandomForestParams};

    fn specs(regression: bool, which: usize) -> ModelSpec {
        match (regression, which % 4) {
            (_, 0) => small_gbdt(),
            (_, 1) => ModelSpec::DecisionTree(DecisionTreeParams::default()),
            (_, 2) => {
                let mut f = RandomForestParams::default();
                f.0.n_estimators = 3;
                ModelSpec::RandomForest(f)
            }
            (false, _) => ModelSpec::LogisticRegression(LogisticRegressionParams::default()),
            (true, _) => ModelSpec::LinearRegression(LinearRegressionParams::default()),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Random small data with missing values and a categorical column, a random family:
        /// written, loaded, the pipeline is the same and predicts bit for bit.
        #[test]
        fn a_written_bundle_predicts_what_the_model_did(
            rows in prop::collection::vec(
                (
                    prop::option::weighted(0.7, -1e3f64..1e3),
                    prop::option::weighted(0.9, -5.0f64..5.0),
                    prop::option::weighted(0.8, 0usize..4),
                    any::<bool>(),
                ),
                30..80,
            ),
            which in 0usize..4,
            regression in any::<bool>(),
            missing_means_positive in any::<bool>(),
        ) {
            let levels = ["red", "green", "blue", "inf"];
            let y: Vec<f64> = rows
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let label = if missing_means_positive { r.0.is_none() } else { r.3 };
                    if regression { r.1.unwrap_or(0.0) * 3.0 + f64::from(u8::from(label)) } else {
                        // Both classes always present.
                        f64::from(u8::from(if i < 2 { i == 1 } else { label }))
                    }
                })
                .collect();
            let x0: Vec<Option<f64>> = rows.iter().map(|r| r.0).collect();
            let x1: Vec<Option<f64>> = rows.iter().map(|r| r.1).collect();
            let cat: Vec<Option<&str>> = rows.iter().map(|r| r.2.map(|c| levels[c])).collect();
            let t = table(&[x0, x1], &cat, &y, regression);
            let (target, yt) = TargetInfo::fit(&t, "y", TaskHint::Auto).unwrap();
            let spec = specs(regression, which);
            let all: Vec<usize> = (0..t.n_rows()).collect();
            let Ok(p) = FittedPipeline::fit(&t, &all, &target, &yt, &spec, &spec.default_preprocess())
            else {
                // A family may refuse degenerate data; that is not what is tested here.
                return Ok(());
            };
            let dir = tempfile::tempdir().unwrap();
            let b = dir.path().join("model");
            write(&b, &t, &p);
            let loaded = load_bundle(&b).unwrap();
            prop_assert_eq!(
                slipway_learn::exact_json::to_value(&loaded.pipeline).unwrap(),
                slipway_learn::exact_json::to_value(&p).unwrap()
            );
            prop_assert_eq!(
                probabilities(&loaded.pipeline.predict(&t).unwrap()),
                probabilities(&p.predict(&t).unwrap())
            );
        }
    }
}
