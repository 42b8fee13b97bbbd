//! Drift statistics against scipy and NannyML: `tests/reference/drift_reference.py` wrote
//! `drift_reference.json` (library versions inside); every number must agree to 1e-9.

use std::path::{Path, PathBuf};

use serde_json::Value;
use slipway_data::ingest::{ReadOptions, read_table};
use slipway_monitor::drift::{self, ColumnSample, DriftOptions, Stat};
use slipway_monitor::run::{Chunking, drift_file};
use slipway_monitor::special;
use slipway_monitor::stats::{self, Ecdf};
use slipway_monitor::summary::{ColumnKind, ReferenceSummary, numeric_reference};

const TOL: f64 = 1e-9;

fn reference() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/drift_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

#[track_caller]
fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= TOL || (got.is_nan() && want.is_nan()),
        "{what}: got {got:e}, scipy/NannyML {want:e} (diff {:e})",
        (got - want).abs()
    );
}

fn stat(f: &drift::FeatureDrift, s: Stat) -> &drift::StatValue {
    f.stats.iter().find(|v| v.stat == s).unwrap()
}

fn numeric_column(name: &str, reference: &[f64]) -> slipway_monitor::summary::ColumnReference {
    slipway_monitor::summary::ColumnReference {
        name: name.into(),
        dtype: slipway_data::DataType::Float,
        kind: ColumnKind::Numeric,
        rows: reference.len() as u64,
        missing: 0,
        numeric: Some(numeric_reference(reference)),
        categories: None,
    }
}

fn check_numeric(name: &str, feature: &drift::FeatureDrift, want: &Value) {
    let ks = stat(feature, Stat::Ks);
    close(
        &format!("{name}: ks"),
        ks.value.unwrap(),
        want["ks"].as_f64().unwrap(),
    );
    close(
        &format!("{name}: ks p ({:?})", ks.method),
        ks.p_value.unwrap(),
        want["ks_p"].as_f64().unwrap(),
    );
    for (s, key) in [
        (Stat::Wasserstein, "wasserstein"),
        (Stat::Psi, "psi"),
        (Stat::Js, "js"),
        (Stat::Hellinger, "hellinger"),
    ] {
        close(
            &format!("{name}: {key}"),
            stat(feature, s).value.unwrap(),
            want[key].as_f64().unwrap(),
        );
    }
}

fn check_categorical(name: &str, feature: &drift::FeatureDrift, want: &Value) {
    let chi = stat(feature, Stat::Chi2);
    close(
        &format!("{name}: chi2"),
        chi.value.unwrap(),
        want["chi2"].as_f64().unwrap(),
    );
    close(
        &format!("{name}: chi2 (NannyML's)"),
        chi.value.unwrap(),
        want["nannyml_chi2"].as_f64().unwrap(),
    );
    close(
        &format!("{name}: chi2 p"),
        chi.p_value.unwrap(),
        want["chi2_p"].as_f64().unwrap(),
    );
    for (s, key) in [
        (Stat::Psi, "psi"),
        (Stat::Js, "js"),
        (Stat::Hellinger, "hellinger"),
        (Stat::Linf, "linf"),
    ] {
        close(
            &format!("{name}: {key}"),
            stat(feature, s).value.unwrap(),
            want[key].as_f64().unwrap(),
        );
    }
}

#[test]
fn distribution_functions_equal_scipy() {
    let r = reference();
    for case in r["kstwo_sf"].as_array().unwrap() {
        let (n, x) = (case["n"].as_u64().unwrap(), case["x"].as_f64().unwrap());
        close(
            &format!("kstwo.sf({x}, {n})"),
            special::kstwo_sf(n, x),
            case["sf"].as_f64().unwrap(),
        );
    }
    for case in r["smirnov_sf"].as_array().unwrap() {
        let (n, x) = (case["n"].as_u64().unwrap(), case["x"].as_f64().unwrap());
        close(
            &format!("smirnov({n}, {x})"),
            special::smirnov_sf(n, x),
            case["sf"].as_f64().unwrap(),
        );
    }
    for case in r["chi2_sf"].as_array().unwrap() {
        let (dof, x) = (case["dof"].as_f64().unwrap(), case["x"].as_f64().unwrap());
        close(
            &format!("chi2.sf({x}, {dof})"),
            special::chi2_sf(x, dof),
            case["sf"].as_f64().unwrap(),
        );
    }
}

#[test]
fn corrections_equal_statsmodels() {
    let r = reference();
    for case in r["corrections"].as_array().unwrap() {
        let p = floats(&case["p"]);
        for (c, key) in [
            (drift::Correction::Bh, "bh"),
            (drift::Correction::Bonferroni, "bonferroni"),
        ] {
            let got = drift::adjust_p_values(&p, c);
            for (g, w) in got.iter().zip(floats(&case[key])) {
                close(&format!("{key} of {p:?}"), *g, w);
            }
        }
    }
}

#[test]
fn numeric_cases_equal_scipy_and_nannyml() {
    let r = reference();
    let shared = floats(&r["shared_reference"]);
    let opts = DriftOptions {
        min_rows: 0,
        ..DriftOptions::default()
    };
    for case in r["numeric_cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let a = if case["reference"] == "shared" {
            shared.clone()
        } else {
            floats(&case["reference"])
        };
        let b = floats(&case["current"]);
        // The statistics on their own ...
        let ks = stats::ks_2samp(&Ecdf::from_values(a.clone()), &Ecdf::from_values(b.clone()));
        close(
            &format!("{name}: ks_2samp"),
            ks.statistic,
            case["ks"].as_f64().unwrap(),
        );
        // ... and through a column comparison, as a drift run makes it.
        let column = numeric_column("x", &a);
        let sample = ColumnSample {
            rows: b.len() as u64,
            missing: 0,
            values: b,
            categories: Default::default(),
        };
        let f = drift::compare_column(&column, sample, &opts, false);
        check_numeric(name, &f, case);
    }
}

#[test]
fn categorical_cases_equal_scipy_and_nannyml() {
    let r = reference();
    let opts = DriftOptions {
        min_rows: 0,
        ..DriftOptions::default()
    };
    for case in r["categorical_cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let a = strings(&case["reference"]);
        let b = strings(&case["current"]);
        let mut counts = std::collections::BTreeMap::<String, u64>::new();
        for v in &a {
            *counts.entry(v.clone()).or_default() += 1;
        }
        let column = slipway_monitor::summary::ColumnReference {
            name: "x".into(),
            dtype: slipway_data::DataType::Categorical,
            kind: ColumnKind::Categorical,
            rows: a.len() as u64,
            missing: 0,
            numeric: None,
            categories: Some(counts.into_iter().collect()),
        };
        let mut sample = ColumnSample {
            rows: b.len() as u64,
            ..Default::default()
        };
        for v in b {
            *sample.categories.entry(v).or_default() += 1;
        }
        let f = drift::compare_column(&column, sample, &opts, false);
        check_categorical(name, &f, case);
        assert!(
            stat(&f, Stat::Chi2).value.is_some(),
            "{name}: chi2 computed"
        );
    }
}

fn shared_data(rel: &str) -> Option<PathBuf> {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = start
        .ancestors()
        .map(|a| a.join("shared/data").join(rel))
        .find(|p| p.exists());
    if found.is_none() {
        eprintln!("skipping: shared/data/{rel} not found");
    }
    found
}

#[test]
fn employment_ma_chunks_equal_scipy_and_nannyml() {
    let Some(dir) = shared_data("employment_ma") else {
        return;
    };
    let r = reference();
    let e = &r["employment_ma"];
    let numeric = strings(&e["numeric"]);
    let categorical = strings(&e["categorical"]);
    let columns: Vec<String> = numeric.iter().chain(&categorical).cloned().collect();
    let table = read_table(&dir.join("reference.parquet"), &ReadOptions::default()).unwrap();
    let summary = ReferenceSummary::from_table(&table, &columns, &[], "reference.parquet").unwrap();
    for c in &numeric {
        assert_eq!(summary.column(c).unwrap().kind, ColumnKind::Numeric, "{c}");
    }
    for c in &categorical {
        assert_eq!(
            summary.column(c).unwrap().kind,
            ColumnKind::Categorical,
            "{c}"
        );
    }
    let size = e["chunk_size"].as_u64().unwrap();
    let report = drift_file(
        &summary,
        &dir.join("analysis.parquet"),
        &Chunking::Rows { size },
        &DriftOptions::default(),
        &[],
    )
    .unwrap();
    let want_chunks = e["chunks"].as_array().unwrap();
    assert_eq!(report.chunks.len(), want_chunks.len());
    for (got, want) in report.chunks.iter().zip(want_chunks) {
        assert_eq!(got.rows, want["rows"].as_u64().unwrap());
        for f in &got.features {
            let w = &want["features"][&f.column];
            let name = format!("{} {}", got.label, f.column);
            match f.kind {
                ColumnKind::Numeric => check_numeric(&name, f, w),
                ColumnKind::Categorical => check_categorical(&name, f, w),
            }
        }
    }
    // The summary survives a save and load unchanged, and gives the same report.
    let dir_out = tempfile::tempdir().unwrap();
    let path = dir_out.path().join("summary.json");
    summary.save(&path).unwrap();
    let loaded = ReferenceSummary::load(&path).unwrap();
    assert_eq!(loaded, summary);
}
