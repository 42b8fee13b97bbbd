//! End-to-end tests of the `slipway` binary on the bundled examples.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh Slipway home per call, so the runs `train` records never land in the user's
/// `~/.slipway` (tracking itself is tested in `tracking_cli.rs`).
fn scratch_home() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cli-home-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

fn slipway(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("SLIPWAY_HOME", scratch_home())
        .output()
        .expect("run slipway")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs `slipway [--json] train` on a config into an output directory.
fn train(cfg: &Path, out: &Path, json: bool) -> Output {
    let mut args = vec![];
    if json {
        args.push("--json");
    }
    args.extend([
        "train",
        "-c",
        cfg.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    slipway(&args)
}

/// Writes `config` next to a copy of `data` files and returns the config path.
fn config_in(dir: &Path, example: &str, files: &[&str], config: &str) -> PathBuf {
    for f in files {
        std::fs::copy(repo().join("examples").join(example).join(f), dir.join(f)).unwrap();
    }
    let p = dir.join("pipeline.yaml");
    std::fs::write(&p, config).unwrap();
    p
}

const BREAST: &str = "name: bc\ndata: {train: breast_cancer.csv}\ntarget: target\ntask: classification\nmodels:\n  - {name: logistic, type: logistic_regression}\n  - {name: gbdt, type: gbdt, params: {n_estimators: 40, num_leaves: 7}}\ncv: {folds: 3}\nseed: 1\nselection: {metric: roc_auc, minimum: 0.9}\n";

#[test]
fn train_then_predict_breast_cancer() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path(), "breast_cancer", &["breast_cancer.csv"], BREAST);
    let out = dir.path().join("out");
    let o = train(&cfg, &out, true);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["gate"]["passed"], true);
    assert_eq!(v["candidates"].as_array().unwrap().len(), 2);
    assert!(v["evaluation"]["metrics"]["roc_auc"].as_f64().unwrap() > 0.95);
    for f in [
        "manifest.json",
        "pipeline.json",
        "profile.json",
        "report.html",
        "MLmodel",
    ] {
        assert!(out.join("model").join(f).exists(), "{f} missing");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("ROC curve") && html.contains("<svg"),
        "report has no ROC plot"
    );
    // Every page the report links is there, next to it and in the bundle.
    for (i, _) in html.match_indices("href=\"") {
        let target = &html[i + 6..];
        let target = &target[..target.find('"').unwrap()];
        if target.starts_with('#') {
            continue;
        }
        assert!(out.join(target).is_file(), "report links missing {target}");
        assert!(
            out.join("model").join(target).is_file(),
            "bundle's report links missing {target}"
        );
    }
    assert!(html.contains("href=\"profile.html\""));
    // The comparison names the candidates on its axis (no "1 = logistic" legend) and
    // fits its scale to the scores.
    assert!(!html.contains("1 = logistic"), "numbered axis");
    assert!(html.contains(">logistic</text>") || html.contains(">logistic ★</text>"));
    assert!(html.contains(">gbdt</text>") || html.contains(">gbdt ★</text>"));
    assert!(html.contains("it does not start at zero"));

    let preds = dir.path().join("preds.csv");
    let o = slipway(&[
        "predict",
        "--model",
        out.join("model").to_str().unwrap(),
        "--input",
        dir.path().join("breast_cancer.csv").to_str().unwrap(),
        "--output",
        preds.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let written = std::fs::read_to_string(&preds).unwrap();
    let mut lines = written.lines();
    assert_eq!(
        lines.next().unwrap(),
        "prediction,probability_0,probability_1"
    );
    assert_eq!(lines.count(), 569);
}

#[test]
fn gate_failure_exits_4_and_writes_no_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(
        dir.path(),
        "breast_cancer",
        &["breast_cancer.csv"],
        &BREAST.replace("minimum: 0.9", "minimum: 0.99999"),
    );
    let out = dir.path().join("out");
    let o = train(&cfg, &out, false);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("below the required minimum"));
    assert!(!out.join("model").exists());
    assert!(out.join("report.html").exists());
}

#[test]
fn broken_validation_rule_exits_3_naming_column_and_rows() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(
        dir.path(),
        "breast_cancer",
        &["breast_cancer.csv"],
        &format!("{BREAST}validation:\n  columns:\n    mean_radius: {{max: 15}}\n"),
    );
    let o = train(&cfg, &dir.path().join("o"), false);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("mean_radius") && err.contains("max") && err.contains("row 1"),
        "{err}"
    );
}

#[test]
fn config_errors_exit_2_and_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(
        dir.path(),
        "breast_cancer",
        &["breast_cancer.csv"],
        &BREAST.replace("num_leaves", "num_leafs"),
    );
    let o = slipway(&["train", "-c", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("num_leafs"), "{err}");
    // Inside models[] too, the error names the file and the line (7: the gbdt entry).
    assert!(
        err.contains("pipeline.yaml:7:") && err.contains("models[1]"),
        "{err}"
    );
    // The hint names no file a user of the binary does not have.
    assert!(!err.contains("examples/"), "{err}");

    let cfg = config_in(
        dir.path(),
        "breast_cancer",
        &["breast_cancer.csv"],
        &BREAST.replace("target: target", "target: diagnosis"),
    );
    let o = slipway(&["train", "-c", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("\"diagnosis\"") && err.contains("mean_radius"),
        "{err}"
    );
    // It says the target is missing, at the `target:` line.
    assert!(
        err.contains("pipeline.yaml:3:9") && err.contains("the target column"),
        "{err}"
    );
    // A misspelled target gets the closest column.
    let cfg = config_in(
        dir.path(),
        "breast_cancer",
        &["breast_cancer.csv"],
        &BREAST.replace("target: target", "target: targt"),
    );
    let o = slipway(&["train", "-c", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("did you mean \"target\"?"), "{err}");
    // So does a misspelled role column, at its line.
    let cfg = config_in(
        dir.path(),
        "breast_cancer",
        &["breast_cancer.csv"],
        &format!("{BREAST}roles:\n  ignored: [mean_radius, worst_textur]\n"),
    );
    let o = slipway(&["train", "-c", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("pipeline.yaml:12:")
            && err.contains("roles.ignored")
            && err.contains("did you mean \"worst_texture\"?"),
        "{err}"
    );
}

#[test]
fn a_type_error_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(
        dir.path(),
        "breast_cancer",
        &["breast_cancer.csv"],
        &BREAST.replace("cv: {folds: 3}", "cv: {folds: many}"),
    );
    let o = slipway(&["train", "-c", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("pipeline.yaml:8:13: "), "{err}");
    assert!(err.contains("many"), "{err}");
}

#[test]
fn a_missing_file_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    let cfg = dir.path().join("pipeline.yaml");
    std::fs::write(&cfg, BREAST.replace("breast_cancer.csv", "nope.csv")).unwrap();
    for o in [
        slipway(&["profile", "--data", missing.to_str().unwrap()]),
        slipway(&["train", "-c", cfg.to_str().unwrap(), "--no-track"]),
        slipway(&["train", "-c", dir.path().join("no.yaml").to_str().unwrap()]),
        slipway(&["--json", "profile", "--data", missing.to_str().unwrap()]),
    ] {
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            all.matches("No such file or directory").count(),
            1,
            "{}",
            text(&o)
        );
    }
}

#[test]
fn validate_accepts_a_pipeline_config_without_rules() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path(), "breast_cancer", &["breast_cancer.csv"], BREAST);
    let data = dir.path().join("breast_cancer.csv");
    let o = slipway(&[
        "validate",
        "--data",
        data.to_str().unwrap(),
        "--rules",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("no validation rules"), "{}", text(&o));
    let o = slipway(&[
        "--json",
        "validate",
        "--data",
        data.to_str().unwrap(),
        "--rules",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["no_rules"], true);
    // With rules, the pipeline's are used; a broken one exits 3.
    std::fs::write(
        &cfg,
        format!("{BREAST}validation:\n  columns:\n    mean_radius: {{max: 15}}\n"),
    )
    .unwrap();
    let o = slipway(&[
        "validate",
        "--data",
        data.to_str().unwrap(),
        "--rules",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    // A rules file with a misspelled key names it, with its line.
    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, "required: [mean_radius]\ncolumnz: {}\n").unwrap();
    let o = slipway(&[
        "validate",
        "--data",
        data.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("columnz") && err.contains("rules.yaml:2:"),
        "{err}"
    );
}

/// Runs `slipway args` with stdout read like `| head -1`: the first line, then the pipe is
/// closed while the command still has output to write.
fn head_1(args: &[&str]) -> (String, Output) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("SLIPWAY_HOME", scratch_home())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run slipway");
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    drop(reader);
    (first, child.wait_with_output().unwrap())
}

#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    // 1,500 columns: a profile far larger than a pipe's buffer, so the command is still
    // writing when the reader goes away.
    let dir = tempfile::tempdir().unwrap();
    let wide = dir.path().join("wide.csv");
    let header: Vec<String> = (0..1500).map(|i| format!("column_{i}")).collect();
    let row: Vec<String> = (0..1500).map(|i| i.to_string()).collect();
    std::fs::write(
        &wide,
        format!(
            "{}\n{}\n{}\n",
            header.join(","),
            row.join(","),
            row.join(",")
        ),
    )
    .unwrap();
    let wide = wide.to_str().unwrap();
    for args in [
        vec!["profile", "--data", wide],
        vec!["--json", "profile", "--data", wide],
    ] {
        let (first, o) = head_1(&args);
        assert!(!first.is_empty(), "{}", text(&o));
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn gate_passed_shows_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path(), "breast_cancer", &["breast_cancer.csv"], BREAST);
    let o = slipway(&[
        "train",
        "-c",
        cfg.to_str().unwrap(),
        "--output",
        dir.path().join("out").to_str().unwrap(),
        "--no-track",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .find(|l| l.contains("gate passed"))
        .unwrap_or_else(|| panic!("{}", text(&o)));
    assert!(
        line.contains("gate passed: roc_auc 0.") && line.contains(" ≥ 0.9;"),
        "{line}"
    );
}

#[test]
fn predict_refuses_input_that_does_not_match_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path(), "breast_cancer", &["breast_cancer.csv"], BREAST);
    let out = dir.path().join("out");
    let o = train(&cfg, &out, false);
    assert!(o.status.success(), "{}", text(&o));
    let model = out.join("model");
    let csv = std::fs::read_to_string(dir.path().join("breast_cancer.csv")).unwrap();

    // A column missing.
    let dropped: String = csv
        .lines()
        .map(|l| l.split(',').skip(1).collect::<Vec<_>>().join(","))
        .collect::<Vec<_>>()
        .join("\n");
    let p = dir.path().join("dropped.csv");
    std::fs::write(&p, dropped).unwrap();
    let o = slipway(&[
        "predict",
        "-m",
        model.to_str().unwrap(),
        "-i",
        p.to_str().unwrap(),
        "-o",
        dir.path().join("x.csv").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("\"mean_radius\""),
        "{}",
        text(&o)
    );

    // A value of the wrong type on data row 3 (file line 4).
    let mut lines: Vec<String> = csv.lines().map(String::from).collect();
    lines[3] = lines[3].replacen(|c: char| c.is_ascii_digit(), "x", 1);
    let p = dir.path().join("bad.csv");
    std::fs::write(&p, lines.join("\n")).unwrap();
    let o = slipway(&[
        "predict",
        "-m",
        model.to_str().unwrap(),
        "-i",
        p.to_str().unwrap(),
        "-o",
        dir.path().join("y.csv").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(":4") && err.contains("mean_radius"), "{err}");
    assert!(!dir.path().join("y.csv").exists());
}

#[test]
fn diabetes_regression_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(
        dir.path(),
        "diabetes",
        &["diabetes.csv"],
        "name: d\ndata: {train: diabetes.csv}\ntarget: target\nmodels:\n  - {name: ridge, type: linear_regression, params: {alpha: 1.0}}\n  - {name: gbdt, type: gbdt, params: {n_estimators: 50, num_leaves: 7}}\nselection: {metric: rmse, minimum: 80}\n",
    );
    let out = dir.path().join("out");
    let o = train(&cfg, &out, true);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["task"]["kind"], "regression");
    let r2 = v["evaluation"]["metrics"]["r2"].as_f64().unwrap();
    assert!(r2 > 0.3, "r2 {r2}");
}

#[test]
fn adult_with_missing_values_and_categories() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(
        dir.path(),
        "adult",
        &["adult_train.csv", "adult_test.csv"],
        "name: a\ndata: {train: adult_train.csv, test: adult_test.csv}\ntarget: income\nroles: {protected: [sex, race], ignored: [fnlwgt]}\nmodels:\n  - {name: gbdt, type: gbdt, params: {n_estimators: 60, num_leaves: 31}}\ncv: {folds: 2}\nselection: {minimum: 0.88}\n",
    );
    let out = dir.path().join("out");
    let o = train(&cfg, &out, true);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["test_rows"], 16281);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("model/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["inputs"]["workclass"], "categorical");
    assert!(
        manifest["inputs"].get("sex").is_none(),
        "protected column used as a feature"
    );
    assert!(
        manifest["lineage"]["data"][0]["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
}

#[test]
fn validate_and_profile_commands() {
    let data = repo().join("examples/adult/adult_train.csv");
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "columns:\n  age: {max: 80}\n  workclass: {max_missing_fraction: 0.01}\n",
    )
    .unwrap();
    let o = slipway(&[
        "validate",
        "-d",
        data.to_str().unwrap(),
        "-r",
        rules.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("age") && err.contains("workclass"), "{err}");

    let html = dir.path().join("p.html");
    let o = slipway(&[
        "--json",
        "profile",
        "-d",
        data.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["n_rows"], 32561);
    assert!(std::fs::read_to_string(html).unwrap().contains("<svg"));
}

#[test]
fn every_supervised_family_trains_and_predicts_from_a_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(
        dir.path(),
        "breast_cancer",
        &["breast_cancer.csv"],
        "name: bc\ndata: {train: breast_cancer.csv}\ntarget: target\ntask: classification\nmodels:\n  - {type: logistic_regression}\n  - {type: gbdt, params: {n_estimators: 20}}\n  - {type: k_neighbors, params: {n_neighbors: 7}}\n  - {type: gaussian_nb}\ncv: {folds: 3}\n",
    );
    let o = train(&cfg, &dir.path().join("c"), true);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for c in v["candidates"].as_array().unwrap() {
        let auc = c["mean"]["roc_auc"].as_f64().unwrap();
        assert!(auc > 0.95, "{}: cv roc_auc {auc}", c["name"]);
    }

    let cfg = config_in(
        dir.path(),
        "diabetes",
        &["diabetes.csv"],
        "name: d\ndata: {train: diabetes.csv}\ntarget: target\nmodels:\n  - {type: linear_regression}\n  - {type: elastic_net, params: {alpha: 0.01}}\n  - {type: lasso, params: {alpha: 0.1}}\n  - {type: k_neighbors, params: {n_neighbors: 10}}\ncv: {folds: 3}\n",
    );
    let o = train(&cfg, &dir.path().join("r"), true);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for c in v["candidates"].as_array().unwrap() {
        let r2 = c["mean"]["r2"].as_f64().unwrap();
        assert!(r2 > 0.3, "{}: cv r2 {r2}", c["name"]);
    }
    let o = slipway(&[
        "predict",
        "-m",
        dir.path().join("r/model").to_str().unwrap(),
        "-i",
        dir.path().join("diabetes.csv").to_str().unwrap(),
        "-o",
        dir.path().join("p.jsonl").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

/// `examples/clustering`: trains k-means and DBSCAN without a target, compares the scores
/// with scikit-learn's (`examples/clustering/reference.py` → `reference.json`), then predicts
/// clusters; bad clustering configs exit 2 naming the field.
#[test]
fn clustering_example_trains_and_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let example = repo().join("examples/clustering");
    let o = train(&example.join("pipeline.yaml"), &out, true);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(example.join("reference.json")).unwrap())
            .unwrap();
    assert_eq!(v["task"], "clustering");
    assert_eq!(v["selected"], reference["selected"]);
    assert_eq!(v["gate"]["passed"], true);
    for c in v["candidates"].as_array().unwrap() {
        let want = &reference["candidates"][c["name"].as_str().unwrap()];
        assert_eq!(c["n_clusters"], want["n_clusters"], "{}", c["name"]);
        for score in ["silhouette", "calinski_harabasz", "davies_bouldin"] {
            let (g, w) = (
                c["scores"][score].as_f64().unwrap(),
                want[score].as_f64().unwrap(),
            );
            assert!(
                (g - w).abs() <= 1e-9 * w.abs(),
                "{} {score}: {g} vs {w}",
                c["name"]
            );
        }
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("Cluster sizes") && html.contains("<svg"),
        "no size chart"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["selected"], v["selected"]);

    let preds = dir.path().join("clusters.csv");
    let o = slipway(&[
        "predict",
        "--model",
        out.join("model").to_str().unwrap(),
        "--input",
        repo()
            .join("examples/breast_cancer/breast_cancer.csv")
            .to_str()
            .unwrap(),
        "--output",
        preds.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let written = std::fs::read_to_string(&preds).unwrap();
    let mut lines = written.lines();
    assert_eq!(lines.next().unwrap(), "cluster");
    let got: Vec<i64> = lines.map(|l| l.parse().unwrap()).collect();
    let want: Vec<i64> = reference["candidates"]["kmeans-2"]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    assert_eq!(got, want, "k-means clusters differ from scikit-learn's");

    let base = std::fs::read_to_string(example.join("pipeline.yaml"))
        .unwrap()
        .replace("../breast_cancer/breast_cancer.csv", "breast_cancer.csv");
    for (bad, field) in [
        (
            base.replace("task: clustering", "task: clustering\ntarget: target"),
            "target",
        ),
        (base.replace("eps: 3.0", "eps: 0"), "eps"),
        (base.replace("type: dbscan", "type: gbdt"), "models[2]"),
    ] {
        let cfg = config_in(dir.path(), "breast_cancer", &["breast_cancer.csv"], &bad);
        let o = slipway(&["train", "-c", cfg.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(field), "{field}: {err}");
    }
}

/// A clustering candidate that fails to fit (more clusters than rows) is reported with its
/// error and the run goes on with the others; when every candidate fails, the run fails
/// naming each.
#[test]
fn a_failing_clustering_candidate_is_reported_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(repo().join("examples/clustering/pipeline.yaml"))
        .unwrap()
        .replace("../breast_cancer/breast_cancer.csv", "breast_cancer.csv");
    let with_bad = base.replace(
        "  - {name: dbscan,",
        "  - {name: too-many, type: kmeans, params: {n_clusters: 5000}}\n  - {name: dbscan,",
    );
    assert_ne!(with_bad, base);
    let cfg = config_in(
        dir.path(),
        "breast_cancer",
        &["breast_cancer.csv"],
        &with_bad,
    );
    let out = dir.path().join("out");
    let o = train(&cfg, &out, true);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cands = v["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 4);
    let bad = cands.iter().find(|c| c["name"] == "too-many").unwrap();
    let err = bad["error"].as_str().unwrap();
    assert!(err.contains("n_clusters is 5000"), "{err}");
    assert_ne!(v["selected"], "too-many");
    assert!(out.join("model").join("manifest.json").exists());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("failed: "), "the report shows the failure");

    let only_bad = base
        .lines()
        .filter(|l| !l.trim_start().starts_with("- {name:"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace(
            "models:",
            "models:\n  - {name: too-many, type: kmeans, params: {n_clusters: 5000}}\n  - {name: also-too-many, type: kmeans, params: {n_clusters: 6000}}",
        );
    let dir2 = tempfile::tempdir().unwrap();
    let cfg = config_in(
        dir2.path(),
        "breast_cancer",
        &["breast_cancer.csv"],
        &only_bad,
    );
    let o = slipway(&["train", "-c", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("every clustering candidate failed")
            && err.contains("too-many")
            && err.contains("also-too-many"),
        "{err}"
    );
}

#[test]
fn breast_cancer_example_searches_calibrates_and_tunes_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = repo().join("examples/breast_cancer/pipeline.yaml");
    let o = train(&cfg, &dir.path().join("out"), true);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cands = v["candidates"].as_array().unwrap();
    assert_eq!(cands.len(), 3);
    assert_eq!(cands[0]["search"]["method"], "grid");
    assert_eq!(
        cands[0]["search"]["evaluations"].as_array().unwrap().len(),
        3
    );
    assert_eq!(cands[1]["search"]["method"], "halving");
    assert!(cands[1]["search"]["schedule"]["n_resources"].is_array());
    for c in cands {
        assert_eq!(c["fold_scores"].as_array().unwrap().len(), 5);
        assert!(c["std"]["roc_auc"].as_f64().unwrap() >= 0.0);
    }
    let threshold = v["threshold"]["threshold"].as_f64().unwrap();
    assert!(
        v["threshold"]["metrics_at_threshold"]["recall"]
            .as_f64()
            .unwrap()
            >= 0.95
    );
    assert!(v["calibration"]["curve_after"]["prob_true"].is_array());
    let html = std::fs::read_to_string(dir.path().join("out/report.html")).unwrap();
    assert!(html.contains("Comparison (cross-validated"));
    assert!(html.contains("Reliability diagram"));

    // The bundle labels rows with the tuned threshold.
    let preds = dir.path().join("p.csv");
    let o = slipway(&[
        "predict",
        "-m",
        dir.path().join("out/model").to_str().unwrap(),
        "-i",
        repo()
            .join("examples/breast_cancer/breast_cancer.csv")
            .to_str()
            .unwrap(),
        "-o",
        preds.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let body = std::fs::read_to_string(&preds).unwrap();
    let mut lines = body.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let pi = header.iter().position(|h| *h == "prediction").unwrap();
    let p1 = header.iter().position(|h| *h == "probability_1").unwrap();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let p: f64 = f[p1].parse().unwrap();
        assert_eq!(f[pi], if p >= threshold { "1" } else { "0" });
    }
}

#[test]
fn bad_search_config_exits_2_naming_the_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(
        dir.path(),
        "breast_cancer",
        &["breast_cancer.csv"],
        "name: bc\ndata: {train: breast_cancer.csv}\ntarget: target\ntask: classification\nmodels:\n  - name: g\n    type: gbdt\n    search: {random: {n_iter: 3, params: {learning_rate: {uniform: [0.3, 0.1]}}}}\n",
    );
    let o = train(&cfg, &dir.path().join("out"), false);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("models[0] (g).search")
            && err.contains("learning_rate")
            && err.contains("greater than high"),
        "{err}"
    );
}

/// Issue 12: `--threads` far above the cores finishes quickly on the cores there are and
/// says it capped the count (up front on stderr, and in `--json`).
#[test]
fn threads_above_the_cores_are_capped_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path(), "breast_cancer", &["breast_cancer.csv"], BREAST);
    let out = dir.path().join("out");
    let started = std::time::Instant::now();
    let o = slipway(&[
        "train",
        "-c",
        cfg.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--threads",
        "100000",
        "--no-track",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(started.elapsed().as_secs() < 120, "{:?}", started.elapsed());
    let cores = std::thread::available_parallelism().unwrap().get();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("warning: 100000 threads were asked for")
            && stderr.contains(&format!("using {cores}"))
            && stderr.contains("--oversubscribe"),
        "{}",
        text(&o)
    );
    let o = slipway(&[
        "--json",
        "train",
        "-c",
        cfg.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--threads",
        "100000",
        "--no-track",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["threads"], cores);
    assert_eq!(v["warnings"][0]["kind"], "threads_capped");
}

/// Issue 12 item 8: a candidate that fails is listed with its error and the run succeeds
/// with the others; when all fail, the run exits 2 naming each failure.
#[test]
fn a_failing_candidate_is_listed_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("x,k,y\n");
    for i in 0..120 {
        let x = (i * 37 % 101) as f64 / 101.0;
        csv.push_str(&format!(
            "{x:.3},5,{}\n",
            u8::from(x + (i % 7) as f64 * 0.05 > 0.6)
        ));
    }
    std::fs::write(dir.path().join("d.csv"), csv).unwrap();
    let nb = "  - {name: nb, type: gaussian_nb, params: {var_smoothing: 0.0}}\n";
    let cfg = dir.path().join("p.yaml");
    std::fs::write(
        &cfg,
        format!(
            "name: f\ndata: {{train: d.csv}}\ntarget: y\ncv: {{folds: 3}}\nmodels:\n{nb}  - {{name: lr, type: logistic_regression}}\n"
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = train(&cfg, &out, false);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("nb") && stdout.contains("failed:") && stdout.contains("variance"),
        "{}",
        text(&o)
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("candidate \"nb\" failed"),
        "{}",
        text(&o)
    );
    let o = train(&cfg, &out, true);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["selected"], "lr");
    assert!(
        v["candidates"][0]["error"]
            .as_str()
            .unwrap()
            .contains("variance")
    );

    std::fs::write(
        &cfg,
        format!(
            "name: f\ndata: {{train: d.csv}}\ntarget: y\ncv: {{folds: 3}}\nmodels:\n{nb}{}",
            nb.replace("name: nb", "name: nb2")
        ),
    )
    .unwrap();
    let o = train(&cfg, &out, false);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("every candidate failed") && stderr.contains("nb2"),
        "{}",
        text(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// Predicting production data with a bundle

/// A training file: an id, a number `x` that is missing exactly when the label is "yes"
/// (so GBDT's first split sends missing values one way and every number the other: a +∞
/// threshold), an integer `n`, a category, a protected and an ignored column, the label.
fn production_train_csv() -> String {
    let mut s = String::from("id,x,n,city,region,note,label\n");
    for i in 0..240 {
        let yes = i % 3 == 0;
        let x = if yes {
            String::new()
        } else {
            format!("{}", (i * 37 % 101) as f64 / 10.0)
        };
        s.push_str(&format!(
            "u{i:03},{x},{},{},{},note {i},{}\n",
            i * 7 % 50,
            ["north", "south", "east"][i % 3],
            ["r1", "r2"][i % 2],
            if yes { "yes" } else { "no" }
        ));
    }
    s
}

const PRODUCTION: &str = "name: prod\ndata: {train: train.csv}\ntarget: label\nroles: {id: [id], protected: [region], ignored: [note]}\nmodels:\n  - {type: gbdt, params: {n_estimators: 10, num_leaves: 4, min_data_in_leaf: 5}}\ncv: {folds: 3}\nseed: 1\n";

fn train_production(dir: &Path, config: &str) -> PathBuf {
    std::fs::write(dir.join("train.csv"), production_train_csv()).unwrap();
    let cfg = dir.join("pipeline.yaml");
    std::fs::write(&cfg, config).unwrap();
    let out = dir.join("out");
    let o = train(&cfg, &out, false);
    assert!(o.status.success(), "{}", text(&o));
    out.join("model")
}

fn predict(model: &Path, input: &Path, output: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "predict",
        "-m",
        model.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ];
    args.extend(extra);
    slipway(&args)
}

/// The `MLmodel` signature's input column names.
fn signature_inputs(model: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(model.join("MLmodel")).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("inputs: "))
        .unwrap();
    let json = line[1..line.len() - 1].replace("''", "'");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().into(),
                c["type"].as_str().unwrap().into(),
            )
        })
        .collect()
}

#[test]
fn predict_takes_production_data_with_only_the_model_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_production(dir.path(), PRODUCTION);
    // The +inf threshold is written so that it loads.
    let pipeline = std::fs::read_to_string(model.join("pipeline.json")).unwrap();
    assert!(pipeline.contains("\"inf\""), "no +inf threshold");

    // What predict enforces is the MLmodel signature: exactly those columns suffice.
    let inputs = signature_inputs(&model);
    let names: Vec<&str> = inputs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["x", "n", "city"]);
    assert_eq!(
        inputs[1].1, "double",
        "an inferred integer takes any number"
    );

    // No label, no protected or ignored column, an extra column, an id, and 12.5 in the
    // integer-trained column.
    let mut prod = String::from("extra,city,n,x,id\n");
    prod.push_str("e1,north,12.5,,u900\ne2,south,3,4.5,u901\ne3,east,7,,u902\n");
    let input = dir.path().join("prod.csv");
    std::fs::write(&input, &prod).unwrap();
    let preds = dir.path().join("preds.csv");
    let o = predict(&model, &input, &preds, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("ignored 1 input column") && err.contains("extra"),
        "{err}"
    );
    let written = std::fs::read_to_string(&preds).unwrap();
    let mut lines = written.lines();
    assert_eq!(
        lines.next().unwrap(),
        "id,prediction,probability_no,probability_yes"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3);
    // Missing x means "yes" in training.
    assert!(
        rows[0].starts_with("u900,yes,") && rows[1].starts_with("u901,no,"),
        "{written}"
    );

    // --keep passes columns through (repeatable or comma-separated), the target too.
    let o = predict(
        &model,
        &input,
        &preds,
        &["--keep", "extra,city", "--keep", "n"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let written = std::fs::read_to_string(&preds).unwrap();
    assert!(
        written.starts_with("id,extra,city,n,prediction,"),
        "{written}"
    );
    assert!(written.contains("u900,e1,north,12.5,yes"), "{written}");
    let o = slipway(&[
        "--json",
        "predict",
        "-m",
        model.to_str().unwrap(),
        "-i",
        input.to_str().unwrap(),
        "-o",
        preds.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ignored_columns"], serde_json::json!(["extra"]));

    // The training file, label and all, still predicts; the label is ignored.
    let o = predict(&model, &dir.path().join("train.csv"), &preds, &[]);
    assert!(o.status.success(), "{}", text(&o));

    // A --keep column that is not there, and a missing model input: exit 2, named.
    let o = predict(&model, &input, &preds, &["--keep", "label"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("\"label\""));
    let no_city: String = prod
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            [f[0], f[2], f[3], f[4]].join(",")
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&input, no_city).unwrap();
    let o = predict(&model, &input, &preds, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("\"city\"") && err.contains("missing"), "{err}");
}

#[test]
fn a_column_declared_integer_refuses_fractions_at_predict_time() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_production(
        dir.path(),
        &format!("{PRODUCTION}validation:\n  columns:\n    n: {{type: integer}}\n"),
    );
    assert_eq!(signature_inputs(&model)[1], ("n".into(), "long".into()));
    let input = dir.path().join("prod.csv");
    std::fs::write(&input, "x,n,city\n1.5,3,north\n2.5,12.5,south\n").unwrap();
    let o = predict(&model, &input, &dir.path().join("p.csv"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(":3")
            && err.contains("\"n\"")
            && err.contains("12.5")
            && err.contains("declared"),
        "{err}"
    );
}

#[test]
fn a_damaged_bundle_exits_2_and_a_defective_one_exits_1_asking_for_a_bug_report() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_production(dir.path(), PRODUCTION);
    let input = dir.path().join("train.csv");
    let preds = dir.path().join("p.csv");
    let pipeline = std::fs::read_to_string(model.join("pipeline.json")).unwrap();

    // Damaged: a file changed after writing.
    std::fs::write(model.join("pipeline.json"), pipeline.replacen('1', "2", 1)).unwrap();
    let o = predict(&model, &input, &preds, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("damaged"),
        "{}",
        text(&o)
    );

    // Defective: checksums match, but the content cannot be read (as a writer bug would
    // leave it; a bundle with `null` thresholds written before exact floats now loads).
    let bad = pipeline.replacen("\"t\": ", "\"t\": \"x\", \"u\": ", 1);
    std::fs::write(model.join("pipeline.json"), &bad).unwrap();
    let manifest_path = model.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["files"]["pipeline.json"]["sha256"] =
        slipway_learn::bundle::sha256(bad.as_bytes()).into();
    manifest["files"]["pipeline.json"]["bytes"] = bad.len().into();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let o = predict(&model, &input, &preds, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("pipeline.json") && err.contains("bug") && err.contains("report"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn predictions_are_written_with_the_users_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let model = train_production(dir.path(), PRODUCTION);
    let preds = dir.path().join("p.csv");
    let o = Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_slipway"))
        .args([
            "predict",
            "-m",
            model.to_str().unwrap(),
            "-i",
            dir.path().join("train.csv").to_str().unwrap(),
            "-o",
            preds.to_str().unwrap(),
        ])
        .env("NO_COLOR", "1")
        .env("SLIPWAY_HOME", scratch_home())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let mode = std::fs::metadata(&preds).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "predictions written {mode:o}");
}

fn reference_import(file: &str) -> String {
    repo()
        .join("crates/slipway-learn/tests/reference/import")
        .join(file)
        .to_string_lossy()
        .into_owned()
}

/// A CSV of numbers (the reference files, `predict` output) as columns by name; text is NaN.
fn csv_columns(path: &Path) -> Vec<(String, Vec<f64>)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let mut cols: Vec<(String, Vec<f64>)> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|h| (h.to_string(), Vec::new()))
        .collect();
    for l in lines {
        for (c, v) in cols.iter_mut().zip(l.split(',')) {
            c.1.push(v.parse().unwrap_or(f64::NAN));
        }
    }
    cols
}

#[test]
fn imported_lightgbm_and_xgboost_models_predict_what_the_library_did() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, model, test, expected) in [
        (
            "--lightgbm",
            "lgb_binary_adult.txt",
            "adult.test.csv",
            "lgb_binary_adult.expected.csv",
        ),
        (
            "--xgboost",
            "xgb_multiclass_employment.json",
            "employment.test.parquet",
            "xgb_multiclass_employment.expected.csv",
        ),
    ] {
        let bundle = dir.path().join(model.replace('.', "_"));
        let o = slipway(&[
            "--json",
            "models",
            "import",
            flag,
            &reference_import(model),
            "--sample",
            &reference_import(test),
            "--name",
            "imported",
            "--output",
            bundle.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(v["trees"].as_u64().unwrap() >= 30, "{v}");
        assert!(bundle.join("manifest.json").exists() && bundle.join("MLmodel").exists());
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest["model_type"], "imported");
        assert_eq!(manifest["params"]["library"], flag.trim_start_matches("--"));

        let out = dir.path().join(format!("{}.csv", model.replace('.', "_")));
        let o = slipway(&[
            "predict",
            "--model",
            bundle.to_str().unwrap(),
            "--input",
            &reference_import(test),
            "--output",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let got = csv_columns(&out);
        let want = csv_columns(Path::new(&reference_import(expected)));
        for (name, values) in &want {
            let col = format!("probability_{}", name.trim_start_matches('p'));
            let g = &got.iter().find(|(n, _)| *n == col).unwrap().1;
            assert_eq!(g.len(), values.len());
            for (row, (a, b)) in g.iter().zip(values).enumerate() {
                assert!((a - b).abs() <= 1e-6, "{model} row {row} {col}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn import_errors_exit_2_naming_the_file_and_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    // A sample without one of the model's features.
    let sample = dir.path().join("no_age.csv");
    let adult = std::fs::read_to_string(reference_import("adult.test.csv")).unwrap();
    let without_age: String = adult
        .lines()
        .map(|l| l.split_once(',').unwrap().1.to_string() + "\n")
        .collect();
    std::fs::write(&sample, without_age).unwrap();
    let o = slipway(&[
        "models",
        "import",
        "--lightgbm",
        &reference_import("lgb_binary_adult.txt"),
        "--sample",
        sample.to_str().unwrap(),
        "--name",
        "x",
        "--output",
        dir.path().join("b").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("\"age\"") && err.contains("no_age.csv"),
        "{err}"
    );
    assert!(!dir.path().join("b").exists());
    // An objective Slipway does not import: the file, line and objective are named.
    let model = dir.path().join("rank.txt");
    let text_model = std::fs::read_to_string(reference_import("lgb_binary_adult.txt")).unwrap();
    std::fs::write(
        &model,
        text_model.replace("objective=binary sigmoid:1", "objective=lambdarank"),
    )
    .unwrap();
    let o = slipway(&[
        "models",
        "import",
        "--lightgbm",
        model.to_str().unwrap(),
        "--sample",
        &reference_import("adult.test.csv"),
        "--name",
        "x",
        "--output",
        dir.path().join("b").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("rank.txt: line 7 (objective): objective lambdarank is not supported"),
        "{err}"
    );
}

#[test]
fn a_gbdt_bundle_exported_to_lightgbm_imports_back_to_the_same_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(
        dir.path(),
        "breast_cancer",
        &["breast_cancer.csv"],
        "name: bc\ndata: {train: breast_cancer.csv}\ntarget: target\ntask: classification\nmodels:\n  - {name: gbdt, type: gbdt, params: {n_estimators: 20, num_leaves: 7}}\ncv: {folds: 2}\nseed: 1\n",
    );
    let out = dir.path().join("out");
    let o = train(&cfg, &out, false);
    assert!(o.status.success(), "{}", text(&o));
    let exported = dir.path().join("bc.txt");
    let o = slipway(&[
        "models",
        "export",
        "--lightgbm",
        exported.to_str().unwrap(),
        "--model",
        out.join("model").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let head = std::fs::read_to_string(&exported).unwrap();
    assert!(head.starts_with("tree\nversion=v4\n"), "{head}");
    let data = dir.path().join("breast_cancer.csv");
    let o = slipway(&[
        "models",
        "import",
        "--lightgbm",
        exported.to_str().unwrap(),
        "--sample",
        data.to_str().unwrap(),
        "--name",
        "bc-again",
        "--output",
        dir.path().join("again").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let mut preds = Vec::new();
    for (model, file) in [
        (out.join("model"), "a.csv"),
        (dir.path().join("again"), "b.csv"),
    ] {
        let p = dir.path().join(file);
        let o = predict(&model, &data, &p, &[]);
        assert!(o.status.success(), "{}", text(&o));
        preds.push(std::fs::read_to_string(&p).unwrap());
    }
    assert_eq!(preds[0], preds[1], "the same predictions, byte for byte");
}
