//! Path-dependent TreeSHAP against LightGBM's `pred_contrib`, XGBoost's `pred_contribs` and
//! `shap.TreeExplainer` (reference values written by `tests/reference/make_reference.py`):
//! imported LightGBM and XGBoost models, and Slipway GBDT models exported as LightGBM text and
//! explained by LightGBM. Every row also checks additivity against the model's own raw score.

use std::path::{Path, PathBuf};

use serde_json::Value;
use slipway_data::Table;
use slipway_data::ingest::{ReadOptions, read_table};
use slipway_explain::treeshap::{TreeShap, classic};
use slipway_explain::{Error, PipelineExplainer};
use slipway_learn::import::{self, ImportedSpec, Library, lightgbm, xgboost};
use slipway_learn::pipeline::{FittedModel, FittedPipeline};
use slipway_learn::trees::Ensemble;
use slipway_learn::{Matrix, exact_json};

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}

fn first_rows(t: &Table, n: usize) -> Table {
    t.take(&(0..n.min(t.n_rows())).collect::<Vec<_>>()).unwrap()
}

/// The case's pipeline and the test rows it explains.
fn load(case: &Value) -> (FittedPipeline, Table) {
    let model = here().join(case["model"].as_str().unwrap());
    let test = read_table(
        &here().join(case["test"].as_str().unwrap()),
        &ReadOptions::default(),
    )
    .unwrap();
    let rows = case["rows"].as_u64().unwrap() as usize;
    let test = first_rows(&test, rows);
    let pipeline = match case["kind"].as_str().unwrap() {
        "slipway" => exact_json::from_slice(&std::fs::read(&model).unwrap()).unwrap(),
        kind => {
            let path = model.to_string_lossy().to_string();
            let (file, library) = if kind == "lightgbm" {
                let text = std::fs::read_to_string(&model).unwrap();
                (lightgbm::parse(&text, &path).unwrap(), Library::Lightgbm)
            } else {
                let bytes = std::fs::read(&model).unwrap();
                (xgboost::parse(&bytes, &path).unwrap(), Library::Xgboost)
            };
            let spec = ImportedSpec {
                library,
                file: path.clone(),
                sha256: "sha256:test".into(),
                objective: file.model.objective().to_string(),
                format_version: file.format_version.clone(),
            };
            import::import_pipeline(file, spec, &test, "test").unwrap()
        }
    };
    (pipeline, test)
}

fn matrix(values: &Value) -> Vec<Vec<f64>> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
        .collect()
}

fn raw_scores(model: &FittedModel, x: &Matrix) -> Vec<f64> {
    match model {
        FittedModel::Gbdt(m) => m.predict_raw(x),
        FittedModel::Imported(m) => m.predict_raw(x),
        _ => unreachable!("boosting models only here"),
    }
}

fn cases() -> Vec<Value> {
    let list: Value =
        serde_json::from_str(&std::fs::read_to_string(here().join("cases.json")).unwrap()).unwrap();
    list["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c.as_str().unwrap();
            serde_json::from_str(
                &std::fs::read_to_string(here().join(format!("{name}.json"))).unwrap(),
            )
            .unwrap()
        })
        .collect()
}

#[test]
fn tree_shap_equals_the_libraries_and_shap() {
    let cases = cases();
    assert!(cases.len() >= 8, "{} cases", cases.len());
    let mut slipway_cases = 0;
    for case in &cases {
        let name = case["case"].as_str().unwrap();
        let kind = case["kind"].as_str().unwrap();
        slipway_cases += usize::from(kind == "slipway");
        let (pipeline, test) = load(case);
        let x = pipeline.preprocessor.transform(&test).unwrap();
        let ensemble = Ensemble::of(&pipeline.model).unwrap();
        let shap = TreeShap::new(&ensemble).unwrap();
        let got = shap.explain(&x).unwrap();
        let width = shap.row_len();
        let nf = shap.n_features();
        let k = shap.n_outputs();
        assert_eq!(k, case["outputs"].as_u64().unwrap() as usize, "{name}");
        // XGBoost sums in float32: compare relative to the magnitude.
        let tol = |v: f64| {
            if kind == "xgboost" {
                1e-6 * v.abs().max(1.0)
            } else {
                1e-6
            }
        };
        // LightGBM's raw score and pred_contrib of an average_output model (boosting=rf) are
        // sums over the iterations, whose mean is the log-odds its predict uses and Slipway
        // explains: compare Slipway's values times the number of iterations.
        let unscale = if kind == "lightgbm" {
            1.0 / ensemble.scale
        } else {
            1.0
        };
        let got: Vec<f64> = got.iter().map(|v| v * unscale).collect();
        let mut references = vec![("pred_contrib", matrix(&case["pred_contrib"]))];
        if !case["shap_values"].is_null() {
            references.push(("shap", matrix(&case["shap_values"])));
        }
        for (what, want) in &references {
            assert_eq!(want.len(), x.n_rows(), "{name}");
            for (r, w) in want.iter().enumerate() {
                let g = &got[r * width..(r + 1) * width];
                assert_eq!(w.len(), width, "{name}: row width");
                for (j, (a, b)) in g.iter().zip(w).enumerate() {
                    assert!(
                        (a - b).abs() <= tol(*b),
                        "{name} vs {what}: row {r}, output {}, {} {j}: Slipway {a}, reference {b}",
                        j / (nf + 1),
                        if j % (nf + 1) == nf {
                            "base value".to_string()
                        } else {
                            format!("feature {}", j % (nf + 1))
                        },
                    );
                }
            }
        }
        // Additivity against the model's own raw score (XGBoost's is a float32 sum: against
        // the float64 sum of its trees' leaves).
        let raw = raw_scores(&pipeline.model, &x);
        let mut row = vec![0.0; nf];
        for r in 0..x.n_rows() {
            x.row_into(r, &mut row);
            let exact = ensemble.raw(&row);
            for c in 0..k {
                let s: f64 = got[r * width + c * (nf + 1)..r * width + (c + 1) * (nf + 1)]
                    .iter()
                    .sum();
                let s = s / unscale;
                let model = raw[r * k + c];
                if kind == "xgboost" {
                    assert!(
                        (s - exact[c]).abs() <= 1e-9,
                        "{name} row {r}: {s} vs {}",
                        exact[c]
                    );
                    assert!((s - model).abs() <= 1e-5 * model.abs().max(1.0), "{name}");
                } else {
                    assert!(
                        (s - model).abs() <= 1e-9,
                        "{name} row {r} output {c}: base + contributions {s}, raw score {model}"
                    );
                }
            }
        }
        // The classic recursion gives the same values.
        let mut one = vec![0.0; nf];
        for r in 0..x.n_rows().min(10) {
            x.row_into(r, &mut row);
            let mut want = vec![0.0; width];
            for t in &ensemble.trees {
                if t.nodes.is_empty() {
                    continue;
                }
                one.fill(0.0);
                classic::Tree::new(t).explain(&row, &mut one);
                for (j, v) in one.iter().enumerate() {
                    want[t.output * (nf + 1) + j] += ensemble.scale * v;
                }
            }
            for c in 0..k {
                for j in 0..nf {
                    let a = got[r * width + c * (nf + 1) + j] / unscale;
                    let b = want[c * (nf + 1) + j];
                    assert!(
                        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                        "{name}: classic row {r} feature {j}: {a} vs {b}"
                    );
                }
            }
        }
    }
    assert!(
        slipway_cases >= 3,
        "the exported Slipway models are part of the reference"
    );
}

#[test]
fn the_pipeline_explainer_sums_native_categories_to_their_column() {
    let case = cases()
        .into_iter()
        .find(|c| c["case"] == "slipway_binary_adult")
        .unwrap();
    let (pipeline, test) = load(&case);
    let e = PipelineExplainer::new(&pipeline).unwrap();
    let out = e.explain(&pipeline, &test).unwrap();
    assert_eq!(out.n_columns, pipeline.preprocessor.columns.len());
    for r in 0..out.n_rows {
        let a: f64 = out.features(r, 0).iter().sum();
        let b: f64 = out.columns(r, 0).iter().sum();
        assert!((a - b).abs() <= 1e-12);
    }
}

#[test]
fn a_model_without_covers_is_refused_with_a_hint() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../slipway-learn/tests/reference/import/lgb_binary_adult.txt"),
    )
    .unwrap();
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("internal_count=") && !l.starts_with("leaf_count="))
        .map(|l| format!("{l}\n"))
        .collect();
    let file = lightgbm::parse(&stripped, "old.txt").unwrap();
    let e = Ensemble::of(&FittedModel::Imported(file.model)).unwrap();
    let err = TreeShap::new(&e).unwrap_err();
    assert!(matches!(err, Error::NoCovers(_)), "{err}");
    assert!(err.to_string().contains("retrain"), "{err}");
}

#[test]
fn interventional_tree_shap_equals_shap() {
    let list: Value =
        serde_json::from_str(&std::fs::read_to_string(here().join("cases.json")).unwrap()).unwrap();
    let names = list["interventional"].as_array().unwrap();
    assert_eq!(names.len(), 2);
    for name in names {
        let name = name.as_str().unwrap();
        let case: Value = serde_json::from_str(
            &std::fs::read_to_string(here().join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        let (pipeline, test) = load(&case);
        let x = pipeline.preprocessor.transform(&test).unwrap();
        let bg = read_table(
            &here().join(case["background"].as_str().unwrap()),
            &ReadOptions::default(),
        )
        .unwrap();
        let bgx = pipeline.preprocessor.transform(&bg).unwrap();
        let e = Ensemble::of(&pipeline.model).unwrap();
        let iv = slipway_explain::interventional::Interventional::new(&e, &bgx).unwrap();
        let got = iv.explain(&x).unwrap();
        let w = iv.row_len();
        let want = matrix(&case["shap_values"]);
        let raw = raw_scores(&pipeline.model, &x);
        let mut worst = 0.0f64;
        for (r, wr) in want.iter().enumerate() {
            let g = &got[r * w..(r + 1) * w];
            // shap's interventional path computes in float32 (its own additivity error is
            // 1.4e-5 on the regression, whose scores are about 150): within 1e-6 of the
            // row's score magnitude; the binary model's values agree to 4e-8.
            let tol = 1e-6 * raw[r].abs().max(1.0);
            for (j, (a, b)) in g.iter().zip(wr).enumerate() {
                worst = worst.max((a - b).abs());
                assert!(
                    (a - b).abs() <= tol,
                    "{name}: row {r} value {j}: Slipway {a}, shap {b}"
                );
            }
            let s: f64 = g.iter().sum();
            assert!(
                (s - raw[r]).abs() <= 1e-9,
                "{name}: additivity {s} vs {}",
                raw[r]
            );
        }
        eprintln!("{name}: largest difference from shap {worst:.2e}");
    }
}

#[test]
fn linear_shap_equals_shap_linear_explainer() {
    let case: Value =
        serde_json::from_str(&std::fs::read_to_string(here().join("linear_shap.json")).unwrap())
            .unwrap();
    let to_matrix = |v: &Value| {
        let rows = matrix(v);
        let m = rows[0].len();
        Matrix::from_columns(
            (0..m)
                .map(|j| rows.iter().map(|r| r[j]).collect())
                .collect(),
        )
        .unwrap()
    };
    let coef = matrix(&case["coef"]);
    let intercept: Vec<f64> = case["intercept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let ls = slipway_explain::linear::LinearShap::new(
        coef.clone(),
        intercept,
        &to_matrix(&case["background"]),
    )
    .unwrap();
    let x = to_matrix(&case["rows"]);
    let got = ls.explain(&x).unwrap();
    let nf = coef[0].len();
    let w = ls.row_len();
    for k in 0..coef.len() {
        let want = matrix(&case["shap_values"][k]);
        let base = case["expected_value"][k].as_f64().unwrap();
        for (r, wr) in want.iter().enumerate() {
            for (j, b) in wr.iter().enumerate() {
                let a = got[r * w + k * (nf + 1) + j];
                assert!(
                    (a - b).abs() <= 1e-12,
                    "output {k} row {r} feature {j}: {a} vs {b}"
                );
            }
            assert!((got[r * w + k * (nf + 1) + nf] - base).abs() <= 1e-12);
        }
    }
}
