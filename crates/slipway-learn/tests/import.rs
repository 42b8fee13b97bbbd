//! Models trained elsewhere: imported LightGBM and XGBoost models predict what the library
//! that trained them did (reference files written by
//! `tests/reference/import/make_reference.py`), Slipway GBDT models written as LightGBM text
//! read back to the same predictions, and no model file, however damaged, makes the importer
//! panic.

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use slipway_data::ingest::{ReadOptions, read_table};
use slipway_data::profile::profile;
use slipway_data::{Role, Table};
use slipway_learn::bundle::{self, BundleContents, Lineage};
use slipway_learn::gbdt::GbdtParams;
use slipway_learn::import::{self, ImportedSpec, Library, ModelFile, lightgbm, xgboost};
use slipway_learn::pipeline::{FittedPipeline, ModelSpec, TargetInfo, TaskHint};
use slipway_learn::{Error, Prediction};

fn reference() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/import")
}

fn read(name: &str) -> Table {
    read_table(&reference().join(name), &ReadOptions::default()).unwrap()
}

fn parse(library: Library, bytes: &[u8], path: &str) -> slipway_learn::Result<ModelFile> {
    match library {
        Library::Lightgbm => lightgbm::parse(&String::from_utf8_lossy(bytes), path),
        Library::Xgboost => xgboost::parse(bytes, path),
        Library::Onnx => unreachable!("ONNX models are tested in slipway-engine/tests/onnx.rs"),
    }
}

fn spec(library: Library, file: &ModelFile, path: &str) -> ImportedSpec {
    ImportedSpec {
        library,
        file: path.to_string(),
        sha256: "sha256:test".into(),
        objective: file.model.objective().to_string(),
        format_version: file.format_version.clone(),
    }
}

/// Imports the model file `model` with `sample` as the sample.
fn import_file(
    library: Library,
    model: &str,
    sample: &Table,
) -> slipway_learn::Result<FittedPipeline> {
    let bytes = std::fs::read(reference().join(model)).unwrap();
    let file = parse(library, &bytes, model)?;
    let s = spec(library, &file, model);
    import::import_pipeline(file, s, sample, "sample")
}

fn library(name: &str) -> Library {
    match name {
        "lightgbm" => Library::Lightgbm,
        "xgboost" => Library::Xgboost,
        other => panic!("unknown library {other}"),
    }
}

/// A CSV of numbers with a header, as columns by name.
fn read_numbers(path: &Path) -> Vec<(String, Vec<f64>)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let mut cols: Vec<(String, Vec<f64>)> = header.into_iter().map(|h| (h, Vec::new())).collect();
    for l in lines.filter(|l| !l.is_empty()) {
        for (c, v) in cols.iter_mut().zip(l.split(',')) {
            c.1.push(if v.is_empty() {
                f64::NAN
            } else {
                v.parse().unwrap()
            });
        }
    }
    cols
}

/// The prediction's column for an output named as the reference files name them (`p1`,
/// `p0..pK`, `value`) or as `slipway predict` does (`probability_k`, `prediction`).
fn output(pred: &Prediction, name: &str) -> Vec<f64> {
    match pred {
        Prediction::Values(v) => {
            assert!(name == "value" || name == "prediction", "{name}");
            v.clone()
        }
        Prediction::Probabilities(m) => {
            let k: usize = name
                .trim_start_matches("probability_")
                .trim_start_matches('p')
                .parse()
                .unwrap();
            m.col(k).to_vec()
        }
    }
}

fn bits(p: &Prediction) -> Vec<u64> {
    match p {
        Prediction::Probabilities(m) => m.as_col_major().iter().map(|v| v.to_bits()).collect(),
        Prediction::Values(v) => v.iter().map(|x| x.to_bits()).collect(),
    }
}

/// Largest |got - want| over every row and output; panics naming the first row beyond `tol`.
fn max_diff(case: &str, pred: &Prediction, want: &[(String, Vec<f64>)], tol: f64) -> f64 {
    let mut worst = 0.0f64;
    for (name, values) in want {
        let got = output(pred, name);
        assert_eq!(got.len(), values.len(), "{case}: rows");
        for (row, (g, w)) in got.iter().zip(values).enumerate() {
            let d = (g - w).abs();
            assert!(
                d <= tol,
                "{case}: row {row} output {name}: Slipway {g}, library {w} (|diff| {d:e} > {tol:e})"
            );
            worst = worst.max(d);
        }
    }
    worst
}

#[test]
fn imported_models_predict_what_the_training_library_did() {
    let cases: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reference().join("cases.json")).unwrap()).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 7);
    let mut report = Vec::new();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let lib = library(c["library"].as_str().unwrap());
        let sample = read(c["test"].as_str().unwrap());
        let pipeline = import_file(lib, c["model"].as_str().unwrap(), &sample)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let pred = pipeline.predict(&sample).unwrap();
        let want = read_numbers(&reference().join(c["expected"].as_str().unwrap()));
        let d = max_diff(name, &pred, &want, 1e-6);
        report.push(format!(
            "{name}: {} rows, max |diff| {d:e}",
            sample.n_rows()
        ));

        // The bundle round trip: written, verified on every test row, read back, the same
        // pipeline predicting the same bits.
        let dir = tempfile::tempdir().unwrap();
        let b = dir.path().join("model");
        bundle::write_verified_bundle(
            &b,
            BundleContents {
                name,
                created_at: "2026-01-01T00:00:00Z",
                pipeline: &pipeline,
                profile: &profile(&sample),
                metrics: Default::default(),
                lineage: Lineage::default(),
                extra_files: Vec::new(),
            },
            Some(&sample),
        )
        .unwrap();
        let loaded = bundle::load_bundle(&b).unwrap();
        assert_eq!(loaded.pipeline, pipeline, "{name}");
        assert_eq!(loaded.manifest.model_type, "imported");
        assert_eq!(
            bits(&loaded.pipeline.predict(&sample).unwrap()),
            bits(&pred),
            "{name}"
        );
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn category_columns_map_through_the_names_the_file_records() {
    let sample = read("adult.test.csv");
    for (lib, model) in [
        (Library::Lightgbm, "lgb_binary_adult.txt"),
        (Library::Xgboost, "xgb_binary_adult.json"),
    ] {
        let p = import_file(lib, model, &sample).unwrap();
        let inputs = p.input_schema();
        assert_eq!(inputs.len(), 14, "{model}");
        assert!(!inputs.iter().any(|(n, _)| n == "income"));
        assert_eq!(
            p.schema.field("income").unwrap().role,
            Role::Ignored,
            "columns the model does not use are ignored"
        );
        assert_eq!(p.target.classes, ["0", "1"]);
    }
}

#[test]
fn exported_models_read_back_to_the_predictions_lightgbm_confirmed() {
    let check: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reference().join("export_check.json")).unwrap())
            .unwrap();
    let results = check["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for r in results {
        let case = r["case"].as_str().unwrap();
        assert_eq!(
            r["passed"], true,
            "{case}: LightGBM disagreed with Slipway: {r}"
        );
        assert!(r["max_abs_diff"].as_f64().unwrap() <= 1e-9);
        let sample = read(r["test"].as_str().unwrap());
        let p = import_file(Library::Lightgbm, r["exported"].as_str().unwrap(), &sample)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let pred = p.predict(&sample).unwrap();
        // The k-th probability column is class code k (the import names classes 0..K; the
        // Slipway bundle named them by their labels).
        let columns = read_numbers(&reference().join(r["slipway_predictions"].as_str().unwrap()));
        let classification = columns.iter().any(|(n, _)| n.starts_with("probability_"));
        let want: Vec<(String, Vec<f64>)> = columns
            .into_iter()
            .filter(|(n, _)| {
                n.starts_with("probability_") || (n == "prediction" && !classification)
            })
            .enumerate()
            .map(|(k, (n, v))| match n.as_str() {
                "prediction" => (n, v),
                _ => (format!("p{k}"), v),
            })
            .collect();
        let d = max_diff(case, &pred, &want, 1e-9);
        eprintln!("{case}: exported and imported again, max |diff| {d:e}");
    }
}

fn adult_sample(target: &str) -> Table {
    let mut t = read_table(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/adult_sample.csv"),
        &ReadOptions::default(),
    )
    .unwrap();
    for c in ["income", "relationship", "hours_per_week"] {
        t.set_role(c, Role::Ignored).unwrap();
    }
    t.set_role(target, Role::Target).unwrap();
    t
}

#[test]
fn export_then_import_predicts_bit_for_bit() {
    for (target, hint) in [
        ("income", TaskHint::Classification),
        ("relationship", TaskHint::Classification),
        ("hours_per_week", TaskHint::Regression),
    ] {
        let t = adult_sample(target);
        let (info, y) = TargetInfo::fit(&t, target, hint).unwrap();
        let spec = ModelSpec::Gbdt(GbdtParams {
            n_estimators: 12,
            num_leaves: 7,
            min_data_in_leaf: 5,
            min_data_per_group: 5,
            ..GbdtParams::default()
        });
        let rows: Vec<usize> = (0..t.n_rows()).collect();
        let p =
            FittedPipeline::fit(&t, &rows, &info, &y, &spec, &spec.default_preprocess()).unwrap();
        let export = lightgbm::export(&p).unwrap();
        let file = lightgbm::parse(&export.text, "exported.txt")
            .unwrap_or_else(|e| panic!("{target}: {e}\n{}", export.text));
        let s = spec_for(&file);
        let imported = import::import_pipeline(file, s, &t, "adult_sample.csv").unwrap();
        assert_eq!(
            bits(&imported.predict(&t).unwrap()),
            bits(&p.predict(&t).unwrap()),
            "{target}"
        );
    }
}

fn spec_for(file: &ModelFile) -> ImportedSpec {
    spec(Library::Lightgbm, file, "exported.txt")
}

#[test]
fn export_refuses_what_lightgbm_cannot_express() {
    let t = adult_sample("income");
    let (info, y) = TargetInfo::fit(&t, "income", TaskHint::Auto).unwrap();
    let rows: Vec<usize> = (0..t.n_rows()).collect();
    let linear = ModelSpec::LogisticRegression(Default::default());
    let p =
        FittedPipeline::fit(&t, &rows, &info, &y, &linear, &linear.default_preprocess()).unwrap();
    let e = lightgbm::export(&p).unwrap_err().to_string();
    assert!(
        e.contains("logistic_regression") && e.contains("gbdt"),
        "{e}"
    );
    // GBDT on one-hot columns: the one-hot columns are not inputs LightGBM would see.
    let gbdt = ModelSpec::Gbdt(GbdtParams {
        n_estimators: 3,
        ..GbdtParams::default()
    });
    let p = FittedPipeline::fit(&t, &rows, &info, &y, &gbdt, &linear.default_preprocess()).unwrap();
    let e = lightgbm::export(&p).unwrap_err().to_string();
    assert!(e.contains("column \"age\"") && e.contains("imputed"), "{e}");
}

// ----------------------------------------------------------------------------------------------
// Bad input

fn lgb_text(name: &str) -> String {
    std::fs::read_to_string(reference().join(name)).unwrap()
}

fn lgb_err(text: &str) -> String {
    match lightgbm::parse(text, "model.txt") {
        Ok(_) => panic!("parsed"),
        Err(e) => {
            assert!(matches!(e, Error::ModelFile { .. }), "{e:?}");
            e.to_string()
        }
    }
}

fn xgb_err(text: &str) -> String {
    match xgboost::parse(text.as_bytes(), "model.json") {
        Ok(_) => panic!("parsed"),
        Err(e) => {
            assert!(matches!(e, Error::ModelFile { .. }), "{e:?}");
            e.to_string()
        }
    }
}

#[test]
fn lightgbm_errors_name_the_file_the_place_and_the_rule() {
    let text = lgb_text("lgb_binary_adult.txt");
    // Truncated in the middle of a tree, and after a whole tree.
    let cut = text.find("Tree=7").unwrap() + 200;
    let e = lgb_err(&text[..cut]);
    assert!(
        e.starts_with("model file model.txt: line ") && e.contains("Tree=7"),
        "{e}"
    );
    let cut = text.find("Tree=7").unwrap();
    let e = lgb_err(&text[..cut]);
    assert!(e.contains("end of trees") && e.contains("truncated"), "{e}");
    // An objective Slipway does not import.
    let e = lgb_err(&text.replace("objective=binary sigmoid:1", "objective=lambdarank"));
    assert!(
        e.contains("line 7 (objective)") && e.contains("lambdarank is not supported"),
        "{e}"
    );
    let e = lgb_err(&text.replace(
        "objective=binary sigmoid:1",
        "objective=multiclassova num_class:3 sigmoid:1",
    ));
    assert!(e.contains("multiclassova") && e.contains("sum to 1"), "{e}");
    // A num_class that does not fit the objective.
    let e = lgb_err(&text.replace("num_class=1", "num_class=3"));
    assert!(e.contains("num_class is 3"), "{e}");
    let multi = lgb_text("lgb_multiclass_employment.txt");
    let e = lgb_err(&multi.replacen("num_class=5", "num_class=4", 1));
    assert!(
        e.contains("num_class:5") && e.contains("num_class=4"),
        "{e}"
    );
    // A value that is not a number, a list of the wrong length, a child out of range.
    let t0 = text.find("Tree=0").unwrap();
    let th = text[t0..].find("threshold=").unwrap() + t0 + "threshold=".len();
    let mut bad = text.clone();
    bad.replace_range(th..th + 1, "x");
    let e = lgb_err(&bad);
    assert!(
        e.contains("(Tree=0, threshold)") && e.contains("not a valid number"),
        "{e}"
    );
    let lc = text[t0..].find("left_child=").unwrap() + t0 + "left_child=".len();
    let mut bad = text.clone();
    bad.insert_str(lc, "1 ");
    let e = lgb_err(&bad);
    assert!(
        e.contains("(Tree=0, left_child)") && e.contains("values (num_leaves - 1), found"),
        "{e}"
    );
    let mut bad = text.clone();
    bad.replace_range(lc..lc + 1, "9");
    let e = lgb_err(&bad);
    assert!(
        e.contains("Tree=0") && (e.contains("parent") || e.contains("child")),
        "{e}"
    );
    // Linear trees, and a file that is not a LightGBM model.
    let e = lgb_err(&text.replacen("is_linear=0", "is_linear=1", 1));
    assert!(e.contains("linear trees"), "{e}");
    let e = lgb_err("{\"learner\": {}}");
    assert!(e.contains("line 1") && e.contains("save_model"), "{e}");
    let e = lgb_err("");
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn xgboost_errors_name_the_file_the_field_and_the_rule() {
    let text = std::fs::read_to_string(reference().join("xgb_binary_adult.json")).unwrap();
    let e = xgb_err(&text[..text.len() / 2]);
    assert!(
        e.starts_with("model file model.json: line 1, column ") && e.contains("not valid JSON"),
        "{e}"
    );
    let e = xgb_err(&text.replace("\"binary:logistic\"", "\"rank:pairwise\""));
    assert!(
        e.contains("learner.objective.name") && e.contains("rank:pairwise is not supported"),
        "{e}"
    );
    let e = xgb_err(&text.replace("\"binary:logistic\"", "\"binary:logitraw\""));
    assert!(e.contains("raw margins"), "{e}");
    let e = xgb_err(&text.replace("\"num_class\":\"0\"", "\"num_class\":\"3\""));
    assert!(
        e.contains("learner.learner_model_param.num_class") && e.contains("num_class is 3"),
        "{e}"
    );
    let multi =
        std::fs::read_to_string(reference().join("xgb_multiclass_employment.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&multi).unwrap();
    let mut bad = v.clone();
    bad["learner"]["gradient_booster"]["model"]["tree_info"][3] = 7.into();
    let e = xgb_err(&bad.to_string());
    assert!(
        e.contains("tree_info[3]") && e.contains("adds to output 7") && e.contains("has 5"),
        "{e}"
    );
    let mut bad = v.clone();
    bad["learner"]["gradient_booster"]["model"]["trees"][2]["split_indices"][0] = 99.into();
    let e = xgb_err(&bad.to_string());
    assert!(
        e.contains("trees[2].split_indices[0]") && e.contains("feature 99"),
        "{e}"
    );
    let mut bad = v.clone();
    bad["learner"]["gradient_booster"]["model"]["trees"][1]["left_children"][0] = 0.into();
    let e = xgb_err(&bad.to_string());
    assert!(e.contains("trees[1]") && e.contains("reached twice"), "{e}");
    let mut bad = v;
    bad["learner"]["gradient_booster"]["name"] = "dart".into();
    let e = xgb_err(&bad.to_string());
    assert!(e.contains("booster dart is not supported"), "{e}");
}

#[test]
fn sample_mismatches_name_the_column_and_the_rule() {
    let sample = read("adult.test.csv");
    let no_age = sample
        .select(
            &sample
                .schema()
                .names()
                .into_iter()
                .filter(|n| *n != "age")
                .collect::<Vec<_>>(),
        )
        .unwrap();
    for (lib, model) in [
        (Library::Lightgbm, "lgb_binary_adult.txt"),
        (Library::Xgboost, "xgb_binary_adult.json"),
    ] {
        let e = import_file(lib, model, &no_age).unwrap_err().to_string();
        assert!(
            e.contains("feature 0 \"age\" is not a column of the sample sample"),
            "{e}"
        );
    }
    // A text column the model file has no category names for (XGBoost before 3.1).
    let json = std::fs::read_to_string(reference().join("xgb_binary_adult.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["learner"]["gradient_booster"]["model"]
        .as_object_mut()
        .unwrap()
        .remove("cats");
    let file = xgboost::parse(v.to_string().as_bytes(), "old.json").unwrap();
    let s = spec(Library::Xgboost, &file, "old.json");
    let e = import::import_pipeline(file, s, &sample, "adult.test.csv")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("sample column \"workclass\"") && e.contains("XGBoost 3.1"),
        "{e}"
    );
    // pandas_categorical lists that do not match the sample's text columns.
    let text = lgb_text("lgb_binary_adult.txt");
    let pc = text.find("pandas_categorical:").unwrap();
    let file = lightgbm::parse(
        &format!("{}pandas_categorical:null\n", &text[..pc]),
        "m.txt",
    )
    .unwrap();
    let s = spec(Library::Lightgbm, &file, "m.txt");
    let e = import::import_pipeline(file, s, &sample, "adult.test.csv")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("\"workclass\"") && e.contains("pandas_categorical"),
        "{e}"
    );
}

/// Damaged copies of every reference model: cut short, a byte changed, a line dropped. Each
/// must parse to an error or to a model that imports and predicts (to an error or values),
/// never a panic.
#[test]
fn damaged_model_files_give_errors_not_panics() {
    let cases = [
        (Library::Lightgbm, "lgb_binary_adult.txt", "adult.test.csv"),
        (
            Library::Lightgbm,
            "lgb_multiclass_employment.txt",
            "employment.test.parquet",
        ),
        (
            Library::Lightgbm,
            "lgb_regression_diabetes.txt",
            "diabetes.test.csv",
        ),
        (
            Library::Lightgbm,
            "lgb_rf_breast_cancer.txt",
            "breast_cancer.test.csv",
        ),
        (Library::Xgboost, "xgb_binary_adult.json", "adult.test.csv"),
        (
            Library::Xgboost,
            "xgb_multiclass_employment.json",
            "employment.test.parquet",
        ),
        (
            Library::Xgboost,
            "xgb_regression_diabetes.json",
            "diabetes.test.csv",
        ),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let replacements: &[u8] = b"0-x \n9=[\".,:1e{}";
    let (mut errors, mut parsed) = (0, 0);
    for (lib, model, test) in cases {
        let bytes = std::fs::read(reference().join(model)).unwrap();
        let sample = read(test);
        let sample = sample.take(&(0..40).collect::<Vec<_>>()).unwrap();
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for i in 0..40 {
            variants.push(bytes[..bytes.len() * i / 40].to_vec());
        }
        for _ in 0..150 {
            let mut b = bytes.clone();
            let at = rng.random_range(0..b.len());
            b[at] = replacements[rng.random_range(0..replacements.len())];
            variants.push(b);
        }
        let lines: Vec<&[u8]> = bytes.split(|&c| c == b'\n').collect();
        for _ in 0..40 {
            let drop = rng.random_range(0..lines.len());
            let kept: Vec<&[u8]> = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != drop)
                .map(|(_, l)| *l)
                .collect();
            variants.push(kept.join(&b'\n'));
        }
        for v in variants {
            match parse(lib, &v, model) {
                Err(e) => {
                    assert!(
                        e.to_string().starts_with(&format!("model file {model}: ")),
                        "{e}"
                    );
                    errors += 1;
                }
                Ok(file) => {
                    parsed += 1;
                    let s = spec(lib, &file, model);
                    if let Ok(p) = import::import_pipeline(file, s, &sample, test) {
                        let _ = p.predict(&sample);
                    }
                }
            }
        }
    }
    eprintln!("damaged files: {errors} refused, {parsed} still parsed");
    assert!(errors > 500, "{errors}");
}
