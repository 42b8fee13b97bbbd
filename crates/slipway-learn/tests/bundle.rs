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
