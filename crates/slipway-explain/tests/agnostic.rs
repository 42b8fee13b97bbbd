//! Model-agnostic explanations against scikit-learn and shap (reference numbers written by
//! `tests/reference/make_agnostic.py`): LightGBM models imported into Slipway predict what
//! LightGBM's scikit-learn wrapper predicts, so partial dependence, permutation importance
//! and exact Shapley values of the same function on the same rows must agree.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, StringArray};
use serde_json::Value;
use slipway_data::ingest::{ReadOptions, read_table};
use slipway_data::{DataType, Field, Schema, Table};
use slipway_explain::agnostic::{GridValue, ModelOutput};
use slipway_explain::pdp::{PdpOptions, partial_dependence};
use slipway_explain::permutation::{
    PermutationOptions, permutation_importance, permutation_importance_with,
};
use slipway_explain::shapley::ExactShapley;
use slipway_explain::{Error, PipelineExplainer};
use slipway_learn::Target;
use slipway_learn::import::{self, ImportedSpec, Library, lightgbm};
use slipway_learn::metrics::Metric;
use slipway_learn::pipeline::FittedPipeline;

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}

fn reference() -> Value {
    serde_json::from_slice(&std::fs::read(here().join("agnostic.json")).unwrap()).unwrap()
}

fn case(name: &str) -> Value {
    reference()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case"] == name)
        .unwrap()
        .clone()
}

/// The imported model of a case and its rows (target column included).
fn load(case: &Value) -> (FittedPipeline, Table) {
    let table = read_table(
        &here().join(case["data"].as_str().unwrap()),
        &ReadOptions::default(),
    )
    .unwrap();
    let model = here().join(case["model"].as_str().unwrap());
    let path = model.to_string_lossy().to_string();
    let text = std::fs::read_to_string(&model).unwrap();
    let file = lightgbm::parse(&text, &path).unwrap();
    let spec = ImportedSpec {
        library: Library::Lightgbm,
        file: path,
        sha256: "sha256:test".into(),
        objective: file.model.objective().to_string(),
        format_version: file.format_version.clone(),
    };
    let p = import::import_pipeline(file, spec, &table, "test").unwrap();
    (p, table)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn target(case: &Value, table: &Table) -> Target {
    let y = table.numeric_values("target").unwrap();
    if case["classifier"].as_bool().unwrap() {
        Target::Classes {
            labels: y.iter().map(|&v| v as u32).collect(),
            n_classes: 2,
        }
    } else {
        Target::Real(y)
    }
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn partial_dependence_and_ice_equal_scikit_learn_brute() {
    let mut worst = 0.0f64;
    for name in ["binary", "regression"] {
        let case = case(name);
        let (p, table) = load(&case);
        for spec in case["pdp"].as_array().unwrap() {
            let features: Vec<&str> = spec["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .collect();
            let opts = PdpOptions {
                grid_resolution: spec["grid_resolution"].as_u64().unwrap() as usize,
                ice: true,
                ..PdpOptions::default()
            };
            let pd = partial_dependence(&p, &table, &features, &opts).unwrap();
            // The grid is scikit-learn's to the last bit.
            for (g, r) in pd.grid.iter().zip(spec["grid"].as_array().unwrap()) {
                let ours: Vec<f64> = g
                    .iter()
                    .map(|v| match v {
                        GridValue::Number(x) => *x,
                        other => panic!("numeric grid expected, got {other:?}"),
                    })
                    .collect();
                assert_eq!(ours, floats(r), "{name} {features:?} grid");
            }
            assert_eq!(pd.average.len(), 1);
            let d = max_diff(&pd.average[0], &floats(&spec["average"]));
            assert!(d <= 1e-12, "{name} {features:?} average differs by {d}");
            worst = worst.max(d);
            let ice = pd.individual.as_ref().unwrap();
            for (r, row) in spec["individual"].as_array().unwrap().iter().enumerate() {
                let d = max_diff(&ice[0][r], &floats(row));
                assert!(d <= 1e-12, "{name} {features:?} ICE row {r} differs by {d}");
                worst = worst.max(d);
            }
        }
    }
    eprintln!("partial dependence / ICE: max |Slipway - scikit-learn| = {worst:e}");
}

#[test]
fn permutation_importance_equals_scikit_learn_on_its_shuffles() {
    let mut worst = 0.0f64;
    for name in ["binary", "regression"] {
        let case = case(name);
        let (p, table) = load(&case);
        let y = target(&case, &table);
        let perms: Vec<Vec<usize>> = case["permutation"]["perms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                q.as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_u64().unwrap() as usize)
                    .collect()
            })
            .collect();
        let features: Vec<String> = case["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_string())
            .collect();
        for s in case["permutation"]["scores"].as_array().unwrap() {
            let metric: Metric = s["metric"].as_str().unwrap().parse().unwrap();
            let out = permutation_importance_with(&p, &table, &y, metric, &[], &perms).unwrap();
            let sign = if metric.greater_is_better() {
                1.0
            } else {
                -1.0
            };
            let d = (sign * out.baseline - s["baseline"].as_f64().unwrap()).abs();
            assert!(d <= 1e-12, "{name} {metric} baseline differs by {d}");
            for (j, f) in features.iter().enumerate() {
                let ours = out.columns.iter().find(|c| &c.column == f).unwrap();
                let d = max_diff(&ours.importances, &floats(&s["importances"][j]));
                assert!(d <= 1e-9, "{name} {metric} {f} importances differ by {d}");
                worst = worst.max(d);
                assert!((ours.mean - s["mean"][j].as_f64().unwrap()).abs() <= 1e-9);
                assert!((ours.std - s["std"][j].as_f64().unwrap()).abs() <= 1e-9);
            }
        }
    }
    eprintln!("permutation importance: max |Slipway - scikit-learn| = {worst:e}");
}

#[test]
fn seeded_permutation_importance_is_deterministic_and_seed_dependent() {
    let case = case("binary");
    let (p, table) = load(&case);
    let y = target(&case, &table);
    let opts = |seed| PermutationOptions {
        metric: Metric::RocAuc,
        repeats: 4,
        seed,
        columns: vec!["worst_area".into(), "mean_texture".into()],
    };
    let a = permutation_importance(&p, &table, &y, &opts(7)).unwrap();
    let b = permutation_importance(&p, &table, &y, &opts(7)).unwrap();
    let c = permutation_importance(&p, &table, &y, &opts(8)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.columns, c.columns);
    assert_eq!(a.columns.len(), 2);
    assert_eq!(a.columns[0].importances.len(), 4);
    // worst_area carries the model; shuffling it costs AUC.
    assert_eq!(a.columns[0].column, "worst_area");
    assert!(a.columns[0].mean > 0.01, "{:?}", a.columns[0]);
}

#[test]
fn permutation_importance_refuses_bad_input() {
    let case = case("regression");
    let (p, table) = load(&case);
    let y = target(&case, &table);
    let opts = PermutationOptions {
        metric: Metric::RocAuc,
        repeats: 2,
        seed: 0,
        columns: vec![],
    };
    let e = permutation_importance(&p, &table, &y, &opts).unwrap_err();
    assert!(e.to_string().contains("roc_auc"), "{e}");
    let opts = PermutationOptions {
        metric: Metric::R2,
        columns: vec!["height".into()],
        ..opts
    };
    let e = permutation_importance(&p, &table, &y, &opts).unwrap_err();
    assert!(e.to_string().contains("\"height\""), "{e}");
    let bad = vec![vec![0usize; table.n_rows()]];
    let e = permutation_importance_with(&p, &table, &y, Metric::R2, &[], &bad).unwrap_err();
    assert!(e.to_string().contains("not a permutation"), "{e}");
}

#[test]
fn exact_shapley_equals_shap_exact_and_adds_up() {
    for name in ["binary", "regression"] {
        let case = case(name);
        let (p, table) = load(&case);
        let ex = &case["exact"];
        let nb = ex["background_rows"].as_u64().unwrap() as usize;
        let first = ex["first_row"].as_u64().unwrap() as usize;
        let rows = ex["rows"].as_u64().unwrap() as usize;
        let bg = table.take(&(0..nb).collect::<Vec<_>>()).unwrap();
        let x = table
            .take(&(first..first + rows).collect::<Vec<_>>())
            .unwrap();
        let shap = ExactShapley::new(&p, &bg).unwrap();
        let base = shap.base_values()[0];
        assert!((base - ex["base_value"].as_f64().unwrap()).abs() <= 1e-9);
        let values = shap.explain(&p, &x).unwrap();
        let m = shap.columns().len();
        let pred = ModelOutput::new(&p).predict(&x).unwrap();
        let mut worst = 0.0f64;
        for (r, row) in values.chunks_exact(m).enumerate() {
            // shap orders its values by the model's features; ours by input column, the same
            // order for an imported model.
            let d = max_diff(row, &floats(&ex["values"][r]));
            worst = worst.max(d);
            assert!(d <= 1e-6, "{name} row {r} differs from shap by {d}");
            let add = (base + row.iter().sum::<f64>() - pred[r]).abs();
            assert!(add <= 1e-9, "{name} row {r}: additivity off by {add}");
            assert!((pred[r] - ex["prediction"][r].as_f64().unwrap()).abs() <= 1e-12);
        }
        eprintln!("exact Shapley {name}: max |Slipway - shap| = {worst:e}");
    }
}

#[test]
fn exact_shapley_through_the_pipeline_explainer() {
    let case = case("regression");
    let (p, table) = load(&case);
    let ex = PipelineExplainer::exact(&p, &table, 10).unwrap();
    assert_eq!(ex.columns().len(), 10);
    let x = table.take(&[3, 50, 119]).unwrap();
    let e = ex.explain(&p, &x).unwrap();
    let pred = ModelOutput::new(&p).predict(&x).unwrap();
    for (r, want) in pred.iter().enumerate() {
        assert!((e.score(r, 0) - want).abs() <= 1e-9);
        let cols: f64 = e.columns(r, 0).iter().sum::<f64>() + e.base[0];
        assert!((cols - want).abs() <= 1e-9);
    }
}

#[test]
fn exact_shapley_refuses_more_than_twelve_columns() {
    // The breast cancer model of the TreeSHAP references has 30 input columns.
    let text =
        std::fs::read_to_string(here().join("interventional_binary_breast_cancer.txt")).unwrap();
    let file = lightgbm::parse(&text, "m.txt").unwrap();
    let names = file.model.feature_names().to_vec();
    let fields: Vec<Field> = names
        .iter()
        .map(|n| Field::new(n.clone(), DataType::Float))
        .collect();
    let cols: Vec<ArrayRef> = names
        .iter()
        .map(|_| Arc::new(Float64Array::from(vec![0.5, 1.5])) as ArrayRef)
        .collect();
    let table = Table::new(Schema::new(fields).unwrap(), cols).unwrap();
    let spec = ImportedSpec {
        library: Library::Lightgbm,
        file: "m.txt".into(),
        sha256: "sha256:test".into(),
        objective: file.model.objective().to_string(),
        format_version: file.format_version.clone(),
    };
    let p = import::import_pipeline(file, spec, &table, "test").unwrap();
    let e = ExactShapley::new(&p, &table).unwrap_err();
    assert!(matches!(e, Error::Unsupported(_)), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("at most 12") && msg.contains("30") && msg.contains("--method kernel"),
        "{msg}"
    );
}

#[test]
fn partial_dependence_refuses_constant_unknown_and_empty_columns() {
    let case = case("regression");
    let (p, table) = load(&case);
    let opts = PdpOptions::default();
    let e = partial_dependence(&p, &table, &["height"], &opts).unwrap_err();
    assert!(e.to_string().contains("\"height\""), "{e}");
    let e = partial_dependence(&p, &table, &["bmi", "bmi"], &opts).unwrap_err();
    assert!(e.to_string().contains("twice"), "{e}");
    let e = partial_dependence(&p, &table.take(&[]).unwrap(), &["bmi"], &opts).unwrap_err();
    assert!(e.to_string().contains("no rows"), "{e}");
    let e = partial_dependence(
        &p,
        &table,
        &["bmi"],
        &PdpOptions {
            grid_resolution: 1,
            ..opts.clone()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("at least 2"), "{e}");
    // A column holding one value (and missing values) has no grid.
    let n = table.n_rows();
    let constant: ArrayRef = Arc::new(Float64Array::from(
        (0..n)
            .map(|i| if i % 7 == 0 { None } else { Some(3.0) })
            .collect::<Vec<_>>(),
    ));
    let mut fields = table.schema().fields.clone();
    let j = fields.iter().position(|f| f.name == "bmi").unwrap();
    fields[j].dtype = DataType::Float;
    let mut cols = table.record_batch().columns().to_vec();
    cols[j] = constant;
    let t = Table::new(Schema::new(fields).unwrap(), cols).unwrap();
    let e = partial_dependence(&p, &t, &["bmi"], &opts).unwrap_err();
    assert!(
        e.to_string().contains("\"bmi\" is constant") && e.to_string().contains('3'),
        "{e}"
    );
    // A single row still has a partial dependence when its column varies... it cannot:
    // one row has one value.
    let one = table.take(&[0]).unwrap();
    let e = partial_dependence(&p, &one, &["bmi"], &opts).unwrap_err();
    assert!(e.to_string().contains("constant"), "{e}");
}

#[test]
fn categorical_partial_dependence_uses_the_categories() {
    // A pipeline with a categorical input: partial dependence on it averages the model's
    // prediction with the column set to each category, checked against setting it by hand.
    let case = case("regression");
    let (_, table) = load(&case);
    let n = table.n_rows();
    let labels = ["north", "south", "east", "a very long region name indeed"];
    let region: ArrayRef = Arc::new(StringArray::from(
        (0..n)
            .map(|i| {
                if i % 11 == 0 {
                    None
                } else {
                    Some(labels[i % 4])
                }
            })
            .collect::<Vec<_>>(),
    ));
    let mut fields = table.schema().fields.clone();
    fields.push(Field::new("region", DataType::Categorical));
    let mut cols = table.record_batch().columns().to_vec();
    cols.push(region);
    let mut t = Table::new(Schema::new(fields).unwrap(), cols).unwrap();
    t.set_role("target", slipway_data::Role::Target).unwrap();
    let (target, y) = slipway_learn::pipeline::TargetInfo::fit(
        &t,
        "target",
        slipway_learn::pipeline::TaskHint::Auto,
    )
    .unwrap();
    let spec: slipway_learn::pipeline::ModelSpec =
        serde_json::from_value(serde_json::json!({"type": "k_neighbors", "params": {}})).unwrap();
    let p = FittedPipeline::fit(
        &t,
        &(0..n).collect::<Vec<_>>(),
        &target,
        &y,
        &spec,
        &spec.default_preprocess(),
    )
    .unwrap();
    let pd = partial_dependence(&p, &t, &["region"], &PdpOptions::default()).unwrap();
    let mut sorted = labels.to_vec();
    sorted.sort_unstable();
    let grid: Vec<GridValue> = sorted
        .iter()
        .map(|c| GridValue::Category(c.to_string()))
        .collect();
    assert_eq!(pd.grid[0], grid);
    for (q, cat) in sorted.iter().enumerate() {
        let set: ArrayRef = Arc::new(StringArray::from(vec![*cat; n]));
        let mut cols = t.record_batch().columns().to_vec();
        let j = t.schema().fields.len() - 1;
        cols[j] = set;
        let tt = Table::new(t.schema().clone(), cols).unwrap();
        let pred = ModelOutput::new(&p).predict(&tt).unwrap();
        let mean = pred.iter().sum::<f64>() / n as f64;
        assert!((pd.average[0][q] - mean).abs() <= 1e-12);
    }
    // Two-way with a numeric column: every category × every grid value.
    let pd = partial_dependence(
        &p,
        &t,
        &["region", "bmi"],
        &PdpOptions {
            grid_resolution: 5,
            ..PdpOptions::default()
        },
    )
    .unwrap();
    assert_eq!(pd.n_points(), 4 * 5);
    assert_eq!(pd.average[0].len(), 20);
    // Exact Shapley values treat the categorical column as one player.
    let shap = ExactShapley::new(&p, &t.take(&(0..15).collect::<Vec<_>>()).unwrap()).unwrap();
    assert_eq!(shap.columns().len(), 11);
    let x = t.take(&[20, 33]).unwrap();
    let v = shap.explain(&p, &x).unwrap();
    let pred = ModelOutput::new(&p).predict(&x).unwrap();
    for (r, row) in v.chunks_exact(11).enumerate() {
        let add = shap.base_values()[0] + row.iter().sum::<f64>() - pred[r];
        assert!(add.abs() <= 1e-9, "additivity off by {add}");
    }
}

#[test]
fn sampled_kernel_shap_is_seeded_additive_and_within_its_error_of_exact() {
    use slipway_explain::kernel::KernelShap;
    let case = case("regression");
    let (p, table) = load(&case);
    let bg = table.take(&(0..20).collect::<Vec<_>>()).unwrap();
    let x = table.take(&[20, 21, 22]).unwrap();
    let exact = ExactShapley::new(&p, &bg).unwrap();
    let want = exact.explain(&p, &x).unwrap();
    let pred = ModelOutput::new(&p).predict(&x).unwrap();
    let kernel = KernelShap::new(&p, &bg, 3000, 11).unwrap();
    assert_eq!(kernel.base_values(), exact.base_values());
    let got = kernel.explain(&p, &x).unwrap();
    let m = kernel.columns().len();
    let mut worst_z = 0.0f64;
    for r in 0..3 {
        let row = &got.values[r * m..(r + 1) * m];
        let add = kernel.base_values()[0] + row.iter().sum::<f64>() - pred[r];
        assert!(add.abs() <= 1e-9, "row {r}: additivity off by {add}");
        for i in 0..m {
            let se = got.standard_errors[r * m + i];
            let d = (row[i] - want[r * m + i]).abs();
            assert!(se > 0.0 && se.is_finite());
            worst_z = worst_z.max(d / se);
            // Unbiased, so within a few standard errors of the exact value.
            assert!(
                d <= 5.0 * se + 1e-9,
                "row {r} column {i}: off by {d}, se {se}"
            );
        }
    }
    eprintln!("kernel SHAP: largest |sampled - exact| / standard error = {worst_z:.2}");
    // The same seed gives the same values; another seed other values; more samples a
    // smaller error.
    let again = KernelShap::new(&p, &bg, 3000, 11)
        .unwrap()
        .explain(&p, &x)
        .unwrap();
    assert_eq!(again, got);
    let other = KernelShap::new(&p, &bg, 3000, 12)
        .unwrap()
        .explain(&p, &x)
        .unwrap();
    assert_ne!(other.values, got.values);
    let few = KernelShap::new(&p, &bg, 100, 11)
        .unwrap()
        .explain(&p, &x)
        .unwrap();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(mean(&few.standard_errors) > 3.0 * mean(&got.standard_errors));
    // Too few samples is an error, not a panic.
    let e = KernelShap::new(&p, &bg, 1, 0).unwrap_err();
    assert!(e.to_string().contains("at least 2"), "{e}");
}

#[test]
fn multiclass_models_are_explained_per_class() {
    // A k-NN classifier of three classes (diabetes progression in tertiles, as text).
    let case = case("regression");
    let (_, table) = load(&case);
    let n = table.n_rows();
    let y = table.numeric_values("target").unwrap();
    let mut sorted = y.clone();
    sorted.sort_by(f64::total_cmp);
    let (t1, t2) = (sorted[n / 3], sorted[2 * n / 3]);
    let class: ArrayRef = Arc::new(StringArray::from(
        y.iter()
            .map(|&v| {
                if v < t1 {
                    "low"
                } else if v < t2 {
                    "middle"
                } else {
                    "high"
                }
            })
            .collect::<Vec<_>>(),
    ));
    let mut fields = table.schema().fields.clone();
    let j = fields.iter().position(|f| f.name == "target").unwrap();
    fields[j] = Field::new("target", DataType::Categorical);
    let mut cols = table.record_batch().columns().to_vec();
    cols[j] = class;
    let mut t = Table::new(Schema::new(fields).unwrap(), cols).unwrap();
    t.set_role("target", slipway_data::Role::Target).unwrap();
    let (info, y) = slipway_learn::pipeline::TargetInfo::fit(
        &t,
        "target",
        slipway_learn::pipeline::TaskHint::Auto,
    )
    .unwrap();
    let spec: slipway_learn::pipeline::ModelSpec =
        serde_json::from_value(serde_json::json!({"type": "k_neighbors", "params": {}})).unwrap();
    let rows: Vec<usize> = (0..n).collect();
    let p = FittedPipeline::fit(&t, &rows, &info, &y, &spec, &spec.default_preprocess()).unwrap();
    let model = ModelOutput::new(&p);
    assert_eq!(model.outputs().len(), 3);

    let pd = partial_dependence(
        &p,
        &t,
        &["bmi"],
        &PdpOptions {
            grid_resolution: 7,
            ice: true,
            ..PdpOptions::default()
        },
    )
    .unwrap();
    assert_eq!(pd.outputs, info.classes);
    let ice = pd.individual.as_ref().unwrap();
    for q in 0..7 {
        let total: f64 = (0..3).map(|c| pd.average[c][q]).sum();
        assert!(
            (total - 1.0).abs() <= 1e-12,
            "class probabilities sum to {total}"
        );
        for (curves, avg) in ice.iter().zip(&pd.average) {
            let mean = curves.iter().map(|r| r[q]).sum::<f64>() / n as f64;
            assert!((mean - avg[q]).abs() <= 1e-12);
        }
    }
    // At a grid point, class c's average is the mean probability of c with bmi set there.
    let GridValue::Number(g) = pd.grid[0][3] else {
        panic!("numeric grid")
    };
    let mut fields = t.schema().fields.clone();
    let b = fields.iter().position(|f| f.name == "bmi").unwrap();
    fields[b].dtype = DataType::Float;
    let mut cols = t.record_batch().columns().to_vec();
    cols[b] = Arc::new(Float64Array::from(vec![g; n]));
    let set = Table::new(Schema::new(fields).unwrap(), cols).unwrap();
    let pred = model.predict(&set).unwrap();
    for c in 0..3 {
        let mean = pred.chunks_exact(3).map(|r| r[c]).sum::<f64>() / n as f64;
        assert!((mean - pd.average[c][3]).abs() <= 1e-12);
    }

    // Permutation importance with a multiclass metric; exact Shapley values per class add
    // up to each class's probability.
    let imp = permutation_importance(
        &p,
        &t,
        &y,
        &PermutationOptions {
            metric: Metric::LogLoss,
            repeats: 2,
            seed: 1,
            columns: vec![],
        },
    )
    .unwrap();
    assert_eq!(imp.columns.len(), 10);
    assert!(imp.baseline > 0.0);
    let shap = ExactShapley::new(&p, &t.take(&(0..8).collect::<Vec<_>>()).unwrap()).unwrap();
    let x = t.take(&[40, 41]).unwrap();
    let v = shap.explain(&p, &x).unwrap();
    let pred = model.predict(&x).unwrap();
    for r in 0..2 {
        for c in 0..3 {
            let vals = &v[(r * 3 + c) * 10..(r * 3 + c + 1) * 10];
            let add = shap.base_values()[c] + vals.iter().sum::<f64>() - pred[r * 3 + c];
            assert!(
                add.abs() <= 1e-9,
                "row {r} class {c}: additivity off by {add}"
            );
        }
    }
}
