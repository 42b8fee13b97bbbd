//! ONNX models imported through the engine (`models import --onnx`) predict what onnxruntime
//! did (reference files written by
//! `slipway-learn/tests/reference/import/make_onnx_reference.py`), when served as when
//! predicted in bulk; bad models and bad samples are refused with errors that name the
//! tensor or column and the rule, and no file, however damaged, makes the importer panic.
//! Those tests need the `onnx` feature:
//! `cargo test --workspace --features slipway/onnx --test onnx`. Without it, an ONNX bundle
//! (a checked-in one, `slipway-learn/tests/data/onnx_ridge_bundle`) is refused with a clear
//! error when loaded, predicted with or served, and so is an import.

use std::path::{Path, PathBuf};

use slipway_engine::serving::ServedModel;
use slipway_engine::{Engine, EngineOptions, ErrorKind, ImportRequest};
use slipway_learn::import::Library;

fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../slipway-learn/tests/reference/import")
}

fn request(model: &Path, sample: &Path, out: &Path, inputs: Option<Vec<String>>) -> ImportRequest {
    ImportRequest {
        library: Library::Onnx,
        model_file: model.to_path_buf(),
        sample: sample.to_path_buf(),
        name: "onnx-model".into(),
        output: out.to_path_buf(),
        inputs,
        classes: None,
    }
}

/// The checked-in bundle of `onnx_ridge_diabetes.onnx` (written by `slipway models import
/// --onnx`, features built in).
fn checked_in_bundle() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../slipway-learn/tests/data/onnx_ridge_bundle")
}

#[cfg(not(feature = "onnx"))]
#[test]
fn without_the_feature_onnx_bundles_and_imports_are_refused_clearly() {
    let check = |e: slipway_engine::Error| {
        let m = e.to_string();
        assert_eq!(e.kind(), ErrorKind::User, "{m}");
        for n in [
            "this bundle holds an ONNX model",
            "built without the `onnx` feature",
            "--features onnx",
        ] {
            assert!(m.contains(n), "{n:?} not in: {m}");
        }
    };
    let bundle = checked_in_bundle();
    let e = slipway_learn::bundle::load_bundle(&bundle).unwrap_err();
    assert!(
        matches!(
            e,
            slipway_learn::Error::NotCompiled {
                feature: "onnx",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("onnx_ridge_bundle"), "{e}");
    check(ServedModel::load(&bundle).unwrap_err());
    let tmp = tempfile::tempdir().unwrap();
    let engine = Engine::new(EngineOptions::default());
    let sample = reference().join("onnx_diabetes.test.csv");
    check(
        engine
            .predict(
                &bundle,
                &sample,
                &tmp.path().join("p.csv"),
                &Default::default(),
            )
            .unwrap_err(),
    );
    let e = engine
        .import_model(&request(
            &reference().join("onnx_ridge_diabetes.onnx"),
            &sample,
            &tmp.path().join("b"),
            None,
        ))
        .unwrap_err();
    assert!(e.to_string().contains("--features onnx"), "{e}");
    assert!(!tmp.path().join("b").exists());
}

#[cfg(feature = "onnx")]
mod with_tract {
    use super::*;
    use slipway_data::ingest::{ReadOptions, read_table};
    use slipway_engine::serving::Output;
    use slipway_learn::bundle;
    use slipway_learn::import::onnx;

    /// A CSV with a header: its columns as text, by name.
    fn read_text_columns(path: &Path) -> Vec<(String, Vec<String>)> {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines = text.lines();
        let mut cols: Vec<(String, Vec<String>)> = lines
            .next()
            .unwrap()
            .split(',')
            .map(|h| (h.to_string(), Vec::new()))
            .collect();
        for l in lines.filter(|l| !l.is_empty()) {
            for (c, v) in cols.iter_mut().zip(l.split(',')) {
                c.1.push(v.to_string());
            }
        }
        cols
    }

    fn column<'a>(cols: &'a [(String, Vec<String>)], name: &str) -> &'a [String] {
        &cols.iter().find(|(n, _)| n == name).unwrap().1
    }

    fn numbers(v: &[String]) -> Vec<f64> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn imported_onnx_models_predict_what_onnxruntime_did() {
        let cases: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(reference().join("onnx_cases.json")).unwrap(),
        )
        .unwrap();
        let engine = Engine::new(EngineOptions::default());
        let tmp = tempfile::tempdir().unwrap();
        let mut report = Vec::new();
        for case in cases["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let sample = reference().join(case["sample"].as_str().unwrap());
            let inputs: Option<Vec<String>> = case["inputs"]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect());
            let out = tmp.path().join(name);
            let outcome = engine
                .import_model(&request(
                    &reference().join(case["model"].as_str().unwrap()),
                    &sample,
                    &out,
                    inputs.clone(),
                ))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let expected = read_text_columns(&reference().join(case["expected"].as_str().unwrap()));
            let want_classes: Vec<String> = case["classes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            assert_eq!(outcome.classes, want_classes, "{name}: class labels");
            if let Some(inputs) = &inputs {
                assert_eq!(&outcome.inputs, inputs, "{name}");
            }
            assert_eq!(outcome.trees, 0);
            // The bundle holds the ONNX file, checksummed like every other file.
            let b = bundle::load_bundle(&out).unwrap();
            assert!(b.manifest.files.contains_key("source_model.onnx"), "{name}");
            assert_eq!(b.manifest.model_type, "imported");

            // Served: the whole test file as one request.
            let served = ServedModel::load(&out).unwrap();
            let body = std::fs::read(&sample).unwrap();
            let rows = served.read_csv(&body).unwrap();
            let n = rows.table.n_rows();
            let scored = served.score(&rows.table).unwrap();
            let mut max_diff = 0.0f64;
            match &scored {
                Output::Classes {
                    labels,
                    probabilities,
                    classes,
                    ..
                } => {
                    assert_eq!(classes, &want_classes, "{name}");
                    assert_eq!(
                        labels.as_slice(),
                        column(&expected, "label"),
                        "{name}: labels"
                    );
                    for (k, _) in classes.iter().enumerate() {
                        let want = numbers(column(&expected, &format!("p{k}")));
                        for (i, &w) in want.iter().enumerate() {
                            let d = (probabilities.get(i, k) - w).abs();
                            assert!(
                                d <= 1e-6,
                                "{name}: row {i} class {k}: {} vs onnxruntime {w}",
                                probabilities.get(i, k)
                            );
                            max_diff = max_diff.max(d);
                        }
                    }
                }
                Output::Values(v) => {
                    let want = numbers(column(&expected, "value"));
                    assert_eq!(v.len(), want.len());
                    for (i, (&g, &w)) in v.iter().zip(&want).enumerate() {
                        let d = (g - w).abs();
                        assert!(
                            d <= 1e-6 * w.abs().max(1.0),
                            "{name}: row {i}: {g} vs onnxruntime {w}"
                        );
                        max_diff = max_diff.max(d / w.abs().max(1.0));
                    }
                }
                Output::Clusters(_) => panic!("{name}: clusters"),
            }
            // Row by row (as single-row requests are served) against the whole file at once.
            let table = read_table(&sample, &ReadOptions::default()).unwrap();
            let whole = b.pipeline.predict(&table).unwrap();
            let mut row_diff = 0.0f64;
            for i in 0..n {
                let one = b.pipeline.predict(&table.take(&[i]).unwrap()).unwrap();
                row_diff = row_diff.max(max_abs_diff_row(&whole, i, &one));
            }
            report.push(format!(
                "{name}: {n} rows, max |slipway - onnxruntime| {max_diff:.3e}{}, one row at a time vs all rows max |diff| {row_diff:.3e}",
                if matches!(scored, Output::Values(_)) { " (relative)" } else { "" }
            ));
        }
        // `cargo test -- --nocapture` prints the figures README.md quotes.
        for line in &report {
            println!("{line}");
        }
    }

    fn max_abs_diff_row(
        all: &slipway_learn::Prediction,
        i: usize,
        one: &slipway_learn::Prediction,
    ) -> f64 {
        use slipway_learn::Prediction;
        match (all, one) {
            (Prediction::Values(a), Prediction::Values(b)) => (a[i] - b[0]).abs(),
            (Prediction::Probabilities(a), Prediction::Probabilities(b)) => (0..a.n_cols())
                .map(|k| (a.get(i, k) - b.get(0, k)).abs())
                .fold(0.0, f64::max),
            _ => panic!("prediction kinds differ"),
        }
    }

    fn import_error(
        model: &str,
        sample: &str,
        inputs: Option<Vec<String>>,
    ) -> slipway_engine::Error {
        let tmp = tempfile::tempdir().unwrap();
        Engine::new(EngineOptions::default())
            .import_model(&request(
                &reference().join(model),
                &reference().join(sample),
                &tmp.path().join("b"),
                inputs,
            ))
            .expect_err(model)
    }

    #[test]
    fn bad_models_are_refused_naming_the_tensor_and_the_rule() {
        let cases = [
            (
                "onnx_bad_scaler_op.onnx",
                vec!["Scaler", "tract does not evaluate", "'div': 'div'"],
            ),
            (
                "onnx_bad_two_inputs.onnx",
                vec!["2 inputs", "\"A\"", "\"B\"", "one 2-D float input"],
            ),
            (
                "onnx_bad_int_input.onnx",
                vec!["input \"X\"", "tensor(int64)", "tensor(float)"],
            ),
            (
                "onnx_bad_3d_input.onnx",
                vec!["input \"X\"", "3, 2]", "2-D tensor"],
            ),
            (
                "onnx_bad_outputs.onnx",
                vec!["\"a\"", "\"b\"", "probabilities", "variable"],
            ),
        ];
        for (model, needles) in cases {
            let e = import_error(model, "onnx_diabetes.test.csv", None);
            let m = e.to_string();
            assert_eq!(e.kind(), ErrorKind::User, "{model}: {m}");
            assert!(m.contains(model), "{model}: {m}");
            for n in needles {
                assert!(m.contains(n), "{model}: {n:?} not in: {m}");
            }
        }
    }

    #[test]
    fn samples_that_do_not_match_the_input_are_refused_naming_the_columns() {
        // The diabetes sample has 11 numeric columns (10 features and the target).
        let e = import_error("onnx_ridge_diabetes.onnx", "onnx_diabetes.test.csv", None);
        let m = e.to_string();
        assert_eq!(e.kind(), ErrorKind::User);
        for n in [
            "input \"X\"",
            "takes 10 features",
            "11 numeric columns",
            "age, sex",
            "target",
            "--inputs",
        ] {
            assert!(m.contains(n), "{n:?} not in: {m}");
        }
        // 30 features, given 10.
        let e = import_error(
            "onnx_logistic_breast_cancer.onnx",
            "onnx_diabetes.test.csv",
            Some(vec!["age".into()]),
        );
        let m = e.to_string();
        assert!(
            m.contains("takes 30 features") && m.contains("--inputs names 1: age"),
            "{m}"
        );
        // A column that is not there.
        let e = import_error(
            "onnx_ridge_diabetes.onnx",
            "onnx_diabetes.test.csv",
            Some(vec!["age".into(), "weight".into()]),
        );
        let m = e.to_string();
        assert!(
            m.contains("\"weight\"") && m.contains("its columns: age, sex"),
            "{m}"
        );
        // A text column.
        let tmp = tempfile::tempdir().unwrap();
        let csv = tmp.path().join("text.csv");
        std::fs::write(&csv, "a,b\n1.5,x\n2.5,y\n").unwrap();
        let e = Engine::new(EngineOptions::default())
            .import_model(&request(
                &reference().join("onnx_bad_int_input.onnx"),
                &csv,
                &tmp.path().join("b"),
                Some(vec!["b".into()]),
            ))
            .unwrap_err();
        // The model is refused before the sample is read: check the sample rule on a good model.
        assert!(e.to_string().contains("tensor(int64)"), "{e}");
        let e = Engine::new(EngineOptions::default())
            .import_model(&request(
                &reference().join("onnx_ridge_diabetes.onnx"),
                &csv,
                &tmp.path().join("b"),
                Some(vec!["b".into()]),
            ))
            .unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("sample column \"b\"") && m.contains("takes numbers"),
            "{m}"
        );
    }

    #[test]
    fn the_checked_in_bundle_loads_and_predicts_what_onnxruntime_did() {
        let b = bundle::load_bundle(&checked_in_bundle()).unwrap();
        let table = read_table(
            &reference().join("onnx_diabetes.test.csv"),
            &ReadOptions::default(),
        )
        .unwrap();
        let slipway_learn::Prediction::Values(got) = b.pipeline.predict(&table).unwrap() else {
            panic!("a regressor predicts values");
        };
        let expected = read_text_columns(&reference().join("onnx_ridge_diabetes.expected.csv"));
        let want = numbers(column(&expected, "value"));
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-6 * w.abs().max(1.0), "{g} vs {w}");
        }
    }

    #[test]
    fn damaged_files_give_errors_not_panics() {
        let good = std::fs::read(reference().join("onnx_mlp_multiclass_diabetes.onnx")).unwrap();
        let mut lengths: Vec<usize> = (0..64).collect();
        lengths.extend((64..good.len()).step_by(7));
        let mut refused = 0;
        for len in lengths {
            match onnx::parse(good[..len].to_vec(), "cut.onnx") {
                Ok(_) => {}
                Err(e) => {
                    let m = e.to_string();
                    assert!(m.starts_with("model file cut.onnx: "), "{len}: {m}");
                    refused += 1;
                }
            }
        }
        assert!(refused > 0);
        // Garbage: text, random bytes, flipped bytes of a real model.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut inputs: Vec<Vec<u8>> = vec![
            b"not an onnx model".to_vec(),
            b"tree\nversion=v4\n".to_vec(),
            Vec::new(),
        ];
        for _ in 0..50 {
            inputs.push((0..(next() % 400)).map(|_| next() as u8).collect());
            let mut flipped = good.clone();
            for _ in 0..4 {
                let at = (next() as usize) % flipped.len();
                flipped[at] = next() as u8;
            }
            inputs.push(flipped);
        }
        for bytes in inputs {
            if let Err(e) = onnx::parse(bytes, "garbage.onnx") {
                assert!(
                    e.to_string().starts_with("model file garbage.onnx: "),
                    "{e}"
                );
            }
        }
    }
}
