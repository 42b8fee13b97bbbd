//! Multivariate drift and calibrated thresholds against NannyML 0.13.1 and scipy:
//! `tests/reference/multivariate_reference.py` wrote `multivariate_reference.json` (and the
//! fixture CSVs), `calibration_reference.py` wrote `calibration_reference.json` (versions
//! inside).
//!
//! - PCA reconstruction error (values, sampling errors, confidence bounds, thresholds,
//!   alerts, components) equals NannyML's `DataReconstructionDriftCalculator` to 1e-9 on
//!   employment_ma and on a fixture with missing values and unseen categories.
//! - The domain classifier's ROC AUC is within 0.01 of NannyML's `DomainClassifierCalculator`
//!   (LightGBM) on every employment_ma chunk of the slice.
//! - Calibrated thresholds: each reference chunk's KS, Wasserstein and chi-square against
//!   the rest of the reference equal scipy's to 1e-9, and so do the bounds.

use std::path::{Path, PathBuf};

use serde_json::Value;
use slipway_data::Table;
use slipway_monitor::calibrate;
use slipway_monitor::drift::{DriftOptions, Stat};
use slipway_monitor::multivariate::{self, Method, MultivariateChunk, MultivariateOptions};
use slipway_monitor::run::Chunking;

const PCA_TOL: f64 = 1e-9;
const AUC_TOL: f64 = 0.01;

fn json(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(name)
}

fn shared_data(rel: &str) -> Option<PathBuf> {
    let found = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/data").join(rel))
        .find(|p| p.exists());
    if found.is_none() {
        eprintln!("skipping: shared/data/{rel} not found");
    }
    found
}

fn read(path: &Path) -> Table {
    slipway_data::ingest::read_table(path, &Default::default()).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn close(what: &str, got: Option<f64>, want: &Value, tol: f64) {
    match (got, want.as_f64()) {
        (None, None) => {}
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "{what}: {g} vs NannyML {w} (diff {:e})",
            (g - w).abs()
        ),
        (g, _) => panic!("{what}: {g:?} vs NannyML {want}"),
    }
}

/// Checks `reference_chunks` then `chunks` against NannyML's rows of that period.
fn check_pca(want: &Value, report: &multivariate::MultivariateReport) {
    let pca = report.pca.as_ref().unwrap();
    assert_eq!(
        pca.n_components as u64,
        want["n_components"].as_u64().unwrap()
    );
    for (g, w) in pca
        .explained_variance_ratio
        .iter()
        .zip(want["explained_variance_ratio"].as_array().unwrap())
    {
        close("explained variance ratio", Some(*g), w, PCA_TOL);
    }
    let rows = want["chunks"].as_array().unwrap();
    let (refs, anas): (Vec<&Value>, Vec<&Value>) =
        rows.iter().partition(|r| r["period"] == "reference");
    let check = |got: &[MultivariateChunk], want: &[&Value], period: &str| {
        assert_eq!(got.len(), want.len(), "{period} chunks");
        for (g, w) in got.iter().zip(want) {
            let what = format!("{period} chunk {} ({})", g.index, g.label);
            let rows = w["end"].as_u64().unwrap() - w["start"].as_u64().unwrap() + 1;
            assert_eq!(g.rows, rows, "{what}: rows");
            close(&format!("{what} value"), g.value, &w["value"], PCA_TOL);
            close(
                &format!("{what} sampling error"),
                g.sampling_error,
                &w["sampling_error"],
                PCA_TOL,
            );
            close(
                &format!("{what} upper confidence"),
                g.confidence.map(|c| c.1),
                &w["upper_confidence_boundary"],
                PCA_TOL,
            );
            close(
                &format!("{what} lower confidence"),
                g.confidence.map(|c| c.0),
                &w["lower_confidence_boundary"],
                PCA_TOL,
            );
            close(
                &format!("{what} upper threshold"),
                report.bounds.upper,
                &w["upper_threshold"],
                PCA_TOL,
            );
            close(
                &format!("{what} lower threshold"),
                report.bounds.lower,
                &w["lower_threshold"],
                PCA_TOL,
            );
            assert_eq!(g.alert, w["alert"].as_bool().unwrap(), "{what}: alert");
        }
    };
    check(&report.reference_chunks, &refs, "reference");
    check(&report.chunks, &anas, "analysis");
}

fn pca_options(min_rows: u64) -> MultivariateOptions {
    MultivariateOptions {
        min_rows,
        ..MultivariateOptions::new(Method::Pca)
    }
}

#[test]
fn pca_reconstruction_equals_nannyml_on_employment_ma() {
    let Some(dir) = shared_data("employment_ma") else {
        return;
    };
    let want = json("multivariate_reference.json");
    let features = strings(&want["features"]);
    let report = multivariate::drift_files(
        &dir.join("reference.parquet"),
        &dir.join("analysis.parquet"),
        &features,
        &[],
        &Chunking::Rows { size: 5000 },
        &pca_options(100),
    )
    .unwrap();
    check_pca(&want["pca_employment"], &report);
}

#[test]
fn pca_reconstruction_equals_nannyml_with_missing_values_and_unseen_categories() {
    let want = json("multivariate_reference.json");
    let columns: Vec<String> = ["x1", "x2", "x3", "cat", "col"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let report = multivariate::drift_files(
        &fixture("multivariate_fixture_reference.csv"),
        &fixture("multivariate_fixture_analysis.csv"),
        &columns,
        &[],
        &Chunking::Rows { size: 250 },
        &pca_options(100),
    )
    .unwrap();
    check_pca(&want["pca_fixture"], &report);
    // The analysis's second half moved: its chunks alert, the first half's do not.
    assert!(report.drifted);
}

#[test]
fn pca_error_ignores_column_order() {
    let mut columns: Vec<String> = ["x1", "x2", "x3", "cat", "col"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let run = |columns: &[String]| {
        multivariate::drift_files(
            &fixture("multivariate_fixture_reference.csv"),
            &fixture("multivariate_fixture_analysis.csv"),
            columns,
            &[],
            &Chunking::Rows { size: 250 },
            &pca_options(100),
        )
        .unwrap()
    };
    let a = run(&columns);
    columns.reverse();
    let b = run(&columns);
    for (x, y) in a.chunks.iter().zip(&b.chunks) {
        assert!((x.value.unwrap() - y.value.unwrap()).abs() < 1e-12);
    }
}

#[test]
fn small_chunks_are_flagged_not_alarmed() {
    let columns: Vec<String> = ["x1", "x2", "x3", "cat", "col"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    // min_rows above the chunk size: the drifted second half is reported, never alarmed.
    let report = multivariate::drift_files(
        &fixture("multivariate_fixture_reference.csv"),
        &fixture("multivariate_fixture_analysis.csv"),
        &columns,
        &[],
        &Chunking::Rows { size: 250 },
        &pca_options(1000),
    )
    .unwrap();
    assert!(report.chunks.iter().all(|c| c.small_sample && !c.alert));
    assert!(report.chunks.iter().all(|c| c.value.is_some()));
    assert!(!report.drifted);
}

#[test]
fn domain_classifier_within_0_01_auc_of_nannyml_on_employment_ma() {
    let Some(dir) = shared_data("employment_ma") else {
        return;
    };
    let want = json("multivariate_reference.json");
    let features = strings(&want["features"]);
    let dc = &want["domain_classifier"];
    let reference = read(&dir.join("reference.parquet"));
    let n_ref = dc["reference_rows"].as_u64().unwrap() as usize;
    let reference = reference.take(&(0..n_ref).collect::<Vec<_>>()).unwrap();
    let analysis = read(&dir.join("analysis.parquet"));
    let rows: Vec<usize> = dc["analysis_ranges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            let a = r[0].as_u64().unwrap() as usize;
            let b = r[1].as_u64().unwrap() as usize;
            a..b
        })
        .collect();
    let analysis = analysis.take(&rows).unwrap();
    let report = multivariate::run(
        &reference,
        &analysis,
        &features,
        &[],
        &Chunking::Rows {
            size: dc["chunk_size"].as_u64().unwrap(),
        },
        &MultivariateOptions::new(Method::Domain),
    )
    .unwrap();
    let all: Vec<&MultivariateChunk> = report
        .reference_chunks
        .iter()
        .chain(&report.chunks)
        .collect();
    let want_rows = dc["chunks"].as_array().unwrap();
    assert_eq!(all.len(), want_rows.len());
    for (g, w) in all.iter().zip(want_rows) {
        let v = g.value.unwrap();
        let nv = w["value"].as_f64().unwrap();
        eprintln!(
            "{} {}: slipway {v:.4}, NannyML {nv:.4}",
            w["period"], g.label
        );
        assert!(
            (v - nv).abs() <= AUC_TOL,
            "{} chunk {}: AUC {v} vs NannyML {nv}",
            w["period"],
            g.label
        );
        assert_eq!(g.alert, w["alert"].as_bool().unwrap(), "{}: alert", g.label);
    }
}

#[test]
fn calibrated_thresholds_leave_each_reference_chunk_out_as_scipy() {
    let Some(dir) = shared_data("employment_ma") else {
        return;
    };
    let want = json("calibration_reference.json");
    let reference = read(&dir.join("reference.parquet"));
    let columns = vec!["AGEP".to_string(), "SCHL".to_string()];
    let opts = DriftOptions {
        stats: vec![Stat::Ks, Stat::Wasserstein, Stat::Chi2],
        ..DriftOptions::default()
    };
    let size = want["chunk_size"].as_u64().unwrap();
    let cal = calibrate::calibrate(
        &reference,
        &columns,
        &[],
        &Chunking::Rows { size },
        &opts,
        3.0,
    )
    .unwrap();
    let loo = &want["leave_one_out"];
    for (column, stat) in [
        ("AGEP", Stat::Ks),
        ("AGEP", Stat::Wasserstein),
        ("SCHL", Stat::Chi2),
    ] {
        let b = cal
            .bounds
            .iter()
            .find(|b| b.column == column && b.stat == stat)
            .unwrap();
        let values = loo["values"][stat.name()].as_array().unwrap();
        assert_eq!(b.reference_values.len(), values.len());
        for (i, (g, w)) in b.reference_values.iter().zip(values).enumerate() {
            close(&format!("{column} {} chunk {i}", stat.name()), *g, w, 1e-9);
        }
        close(
            &format!("{column} {} upper", stat.name()),
            Some(b.upper),
            &loo["upper"][stat.name()],
            1e-9,
        );
        // NannyML's way (the chunk inside its own baseline) gives a lower bound.
        let included = want["nannyml_included"]["upper"][stat.name()]
            .as_f64()
            .unwrap();
        assert!(b.upper > included, "{column} {}", stat.name());
    }
}
