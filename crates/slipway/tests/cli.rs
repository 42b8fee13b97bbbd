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
