//! Issue 12: what `train` says about the data and the run besides scores — wordy
//! categoricals kept as features, dropped columns announced up front, id-like and leaking
//! columns, a cross-validation / holdout gap, failing candidates that do not abort the run,
//! `positive_class`, search ties and capped thread counts.

use std::path::Path;
use std::sync::Mutex;

use slipway_engine::{
    Engine, EngineOptions, NoProgress, PipelineConfig, Progress, TrainOutcome, WarningKind,
};
use slipway_learn::bundle;

/// A small deterministic generator (no extra dependency).
struct Lcg(u64);

impl Lcg {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64) / ((1u64 << 53) as f64)
    }
}

/// Records every progress event in order.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Progress for Log {
    fn begin(&self, label: &str, _: u64) {
        self.0.lock().unwrap().push(format!("begin: {label}"));
    }
    fn advance(&self, _: &str) {}
    fn end(&self) {}
    fn note(&self, message: &str) {
        self.0.lock().unwrap().push(format!("note: {message}"));
    }
    fn warn(&self, message: &str) {
        self.0.lock().unwrap().push(format!("warn: {message}"));
    }
}

const MARITAL: [&str; 4] = [
    "Married, civilian spouse present",
    "Never married and living alone",
    "Divorced or separated from spouse",
    "Widowed after a long marriage",
];

/// Rows of a binary problem: `marital` (wordy, 4 levels) carries most of the signal, `x` a
/// little, `comment` is free text, `name` is unique per row, `status` and `days_late` are
/// derived from the outcome, `k` is constant.
fn write_data(path: &Path, n: usize, seed: u64) {
    let mut rng = Lcg(seed);
    let mut csv = String::from("name,marital,x,comment,status,days_late,k,y\n");
    for i in 0..n {
        let m = (rng.uniform() * 4.0) as usize;
        let x = rng.uniform();
        let p = [0.85, 0.15, 0.6, 0.3][m] * 0.8 + x * 0.2;
        let yes = rng.uniform() < p;
        let y = if yes { "yes" } else { "no" };
        let status = if yes {
            "closed - repaid"
        } else {
            "closed - written off"
        };
        let days = if yes {
            rng.uniform() * 5.0
        } else {
            60.0 + rng.uniform() * 30.0
        };
        csv.push_str(&format!(
            "Person {i} Smith,\"{}\",{x:.4},\"a long free text remark number {i} about this applicant\",{status},{days:.2},5,{y}\n",
            MARITAL[m]
        ));
    }
    std::fs::write(path, csv).unwrap();
}

fn config(dir: &Path, body: &str) -> PipelineConfig {
    let text = format!(
        "name: checks\ndata: {{train: {}}}\ntarget: y\ncv: {{folds: 3}}\nseed: 1\nthreads: 2\noutput: {}\n{body}",
        dir.join("train.csv").display(),
        dir.join("out").display()
    );
    PipelineConfig::parse(&text, Path::new("test.yaml")).unwrap()
}

fn train(cfg: &PipelineConfig) -> TrainOutcome {
    Engine::default().train(cfg, None, &NoProgress).unwrap()
}

fn warnings_of(o: &TrainOutcome, kind: WarningKind) -> Vec<String> {
    o.warnings
        .iter()
        .filter(|w| w.kind == kind)
        .map(|w| {
            w.column
                .clone()
                .or_else(|| w.candidate.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// Item 3: wordy labels with few levels are features; the free-text column is announced
/// (with the reason and the config lines) before cross-validation starts, and kept in the
/// outcome and the reports.
#[test]
fn wordy_categoricals_are_used_and_dropped_text_is_announced_first() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 300, 7);
    let cfg = config(
        dir.path(),
        "roles: {ignored: [name, status, days_late, k]}\nmodels:\n  - {type: gbdt, params: {n_estimators: 20}}\n",
    );
    let log = Log::default();
    let o = Engine::default().train(&cfg, None, &log).unwrap();
    let b = bundle::load_bundle(o.bundle.as_ref().unwrap()).unwrap();
    let used: Vec<&str> = b
        .pipeline
        .preprocessor
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert!(used.contains(&"marital"), "{used:?}");
    assert_eq!(o.skipped_columns, ["comment"]);
    let w = o
        .warnings
        .iter()
        .find(|w| w.kind == WarningKind::DroppedColumn)
        .expect("a dropped-column warning");
    assert_eq!(w.column.as_deref(), Some("comment"));
    let hint = w.hint.as_deref().unwrap();
    assert!(
        hint.contains("data: {types: {comment: categorical}}") && hint.contains("tfidf"),
        "{hint}"
    );
    // Announced before any fitting.
    let events = log.0.lock().unwrap().clone();
    let warned = events
        .iter()
        .position(|e| e.starts_with("warn:") && e.contains("\"comment\""))
        .expect("warned");
    let cv = events
        .iter()
        .position(|e| e == "begin: cross-validating")
        .unwrap();
    assert!(warned < cv, "{events:?}");
    let json = std::fs::read_to_string(&o.report_json).unwrap();
    assert!(json.contains("\"dropped_column\""), "{json}");
    let html = std::fs::read_to_string(&o.report_html).unwrap();
    assert!(html.contains("Warnings") && html.contains("comment"));
}

/// Item 4: a unique name column is id-like; outcome-derived columns (a category and a
/// number) predict the target alone and are reported as leakage; honest features are not.
#[test]
fn id_like_and_leaking_columns_are_warned() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 300, 11);
    let cfg = config(
        dir.path(),
        "models:\n  - {type: gbdt, params: {n_estimators: 10}}\n",
    );
    let o = train(&cfg);
    assert_eq!(warnings_of(&o, WarningKind::IdLike), ["name"]);
    assert_eq!(
        warnings_of(&o, WarningKind::Leakage),
        ["status", "days_late"]
    );
    assert_eq!(warnings_of(&o, WarningKind::Constant), ["k"]);
    let leak = o
        .warnings
        .iter()
        .find(|w| w.kind == WarningKind::Leakage)
        .unwrap();
    assert!(
        leak.message.contains("ROC AUC") && leak.hint.as_deref().unwrap().contains("ignored"),
        "{leak:?}"
    );
    let id = o
        .warnings
        .iter()
        .find(|w| w.kind == WarningKind::IdLike)
        .unwrap();
    assert!(
        id.hint.as_deref().unwrap().contains("roles: {id: [name]}"),
        "{id:?}"
    );
    let html = std::fs::read_to_string(&o.report_html).unwrap();
    assert!(html.contains("id_like") && html.contains("leakage"));
}

/// Item 4: holdout rows whose relation to the target is reversed give a holdout score far
/// from the cross-validated one, and the run says so.
#[test]
fn cv_holdout_gap_is_warned() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Lcg(3);
    let mut train_csv = String::from("x,z,y\n");
    let mut test_csv = String::from("x,z,y\n");
    for _ in 0..200 {
        let x = rng.uniform();
        let z = rng.uniform();
        let y = u8::from(x + 0.2 * rng.uniform() > 0.6);
        train_csv.push_str(&format!("{x:.4},{z:.4},{y}\n"));
        let x2 = rng.uniform();
        let y2 = u8::from(x2 + 0.2 * rng.uniform() < 0.6);
        test_csv.push_str(&format!("{x2:.4},{z:.4},{y2}\n"));
    }
    std::fs::write(dir.path().join("train.csv"), train_csv).unwrap();
    std::fs::write(dir.path().join("test.csv"), test_csv).unwrap();
    let mut cfg = config(dir.path(), "models:\n  - {type: logistic_regression}\n");
    cfg.data.test = Some(dir.path().join("test.csv"));
    let o = train(&cfg);
    let gaps = warnings_of(&o, WarningKind::CvHoldoutGap);
    assert_eq!(gaps, ["logistic_regression"], "{:?}", o.warnings);
    // The same data without the reversal: no gap.
    cfg.data.test = None;
    let o = train(&cfg);
    assert!(
        warnings_of(&o, WarningKind::CvHoldoutGap).is_empty(),
        "{:?}",
        o.warnings
    );
}

/// Item 8: a candidate that fails to fit is reported with its error and the run goes on;
/// only when every candidate fails does the run fail, naming each failure.
#[test]
fn a_failing_candidate_is_reported_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 200, 5);
    let nb = "  - {name: nb, type: gaussian_nb, params: {var_smoothing: 0.0}}\n";
    let cfg = config(
        dir.path(),
        &format!(
            "roles: {{ignored: [name, status, days_late, comment]}}\nmodels:\n{nb}  - {{type: gbdt, params: {{n_estimators: 10}}}}\n"
        ),
    );
    let o = train(&cfg);
    assert_eq!(o.selected, "gbdt");
    let nb_result = &o.candidates[0];
    let err = nb_result.error.as_deref().expect("nb failed");
    assert!(err.contains("variance"), "{err}");
    assert!(nb_result.mean.is_empty());
    assert_eq!(warnings_of(&o, WarningKind::CandidateFailed), ["nb"]);
    let html = std::fs::read_to_string(&o.report_html).unwrap();
    assert!(html.contains("failed:"), "report lists the failure");
    let json = std::fs::read_to_string(&o.report_json).unwrap();
    assert!(json.contains("\"error\""));

    let cfg = config(
        dir.path(),
        &format!(
            "roles: {{ignored: [name, status, days_late, comment]}}\nmodels:\n{nb}  - {{name: nb2, type: gaussian_nb, params: {{var_smoothing: 0.0}}}}\n"
        ),
    );
    let e = Engine::default()
        .train(&cfg, None, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("every candidate failed") && e.contains("nb (") && e.contains("nb2 ("),
        "{e}"
    );
}

/// Item 10: `positive_class` moves the label to class code 1 (every binary metric, the
/// bundle and predict's columns follow it), the choice is stated, and a label that is not
/// there or a non-binary target is refused naming the labels.
#[test]
fn positive_class_is_chosen_stated_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 300, 9);
    write_data(&dir.path().join("test.csv"), 120, 10);
    let roles = "roles: {ignored: [name, status, days_late, comment, k]}\nmodels:\n  - {type: logistic_regression}\n";
    let mut implicit = config(dir.path(), roles);
    implicit.data.test = Some(dir.path().join("test.csv"));
    let o = train(&implicit);
    let p = o.positive_class.as_ref().unwrap();
    assert_eq!((p.label.as_str(), p.source.as_str()), ("yes", "implicit"));
    assert_eq!(o.target.classes, ["no", "yes"]);
    let recall_yes = o.evaluation.metrics["recall"];

    let mut given = config(dir.path(), &format!("positive_class: \"no\"\n{roles}"));
    given.data.test = Some(dir.path().join("test.csv"));
    let o = train(&given);
    let p = o.positive_class.as_ref().unwrap();
    assert_eq!((p.label.as_str(), p.source.as_str()), ("no", "config"));
    assert_eq!(o.target.classes, ["yes", "no"]);
    // Recall is now of "no": the share of "no" test rows predicted "no".
    let preds = dir.path().join("p.csv");
    Engine::default()
        .predict(
            o.bundle.as_ref().unwrap(),
            &dir.path().join("test.csv"),
            &preds,
            &Default::default(),
        )
        .unwrap();
    // The labels are the last field of the test file; the prediction columns are the last
    // ones of the output (fields before them may hold quoted commas).
    let truth: Vec<String> = std::fs::read_to_string(dir.path().join("test.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().to_string())
        .collect();
    let text = std::fs::read_to_string(&preds).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let from_end = |n: &str| header.len() - 1 - header.iter().position(|h| *h == n).unwrap();
    assert!(from_end("probability_yes") > from_end("probability_no"));
    let ip = from_end("prediction");
    let (mut no, mut hit) = (0.0, 0.0);
    for (l, y) in lines.zip(&truth) {
        let predicted = l.rsplit(',').nth(ip).unwrap();
        if y == "no" {
            no += 1.0;
            if predicted == "no" {
                hit += 1.0;
            }
        }
    }
    assert_eq!(truth.len(), 120);
    let recall_no = o.evaluation.metrics["recall"];
    assert!(
        (recall_no - hit / no).abs() < 1e-9,
        "{recall_no} vs {}",
        hit / no
    );
    assert!((recall_no - recall_yes).abs() > 1e-6);
    let b = bundle::load_bundle(o.bundle.as_ref().unwrap()).unwrap();
    assert_eq!(b.pipeline.target.classes, ["yes", "no"]);
    let html = std::fs::read_to_string(&o.report_html).unwrap();
    assert!(html.contains("positive_class in the config"));

    let bad = config(dir.path(), &format!("positive_class: maybe\n{roles}"));
    let e = Engine::default()
        .train(&bad, None, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("positive_class") && e.contains("\"maybe\"") && e.contains("\"no\", \"yes\""),
        "{e}"
    );
    // Written as a YAML number for a 0/1 target.
    let mut csv = String::from("x,y\n");
    let mut rng = Lcg(1);
    for _ in 0..60 {
        let x = rng.uniform();
        csv.push_str(&format!("{x:.3},{}\n", u8::from(x > 0.5)));
    }
    std::fs::write(dir.path().join("train.csv"), csv).unwrap();
    let o = train(&config(
        dir.path(),
        "positive_class: 0\nmodels:\n  - {type: logistic_regression}\n",
    ));
    assert_eq!(o.target.classes, ["1", "0"]);
    // A multiclass target refuses it.
    let mut csv = String::from("x,y\n");
    for i in 0..60 {
        csv.push_str(&format!("{i},{}\n", ["a", "b", "c"][i % 3]));
    }
    std::fs::write(dir.path().join("train.csv"), csv).unwrap();
    let e = Engine::default()
        .train(
            &config(
                dir.path(),
                "positive_class: a\nmodels:\n  - {type: logistic_regression}\n",
            ),
            None,
            &NoProgress,
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("binary classification only"), "{e}");
}

/// Rough edge: a halving search whose rounds cannot separate the candidates says so and
/// states the rule; so does a final choice among equal scores.
#[test]
fn halving_ties_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 200, 2);
    let cfg = config(
        dir.path(),
        "roles: {ignored: [name, status, days_late, comment]}\nmodels:\n  - type: logistic_regression\n    search: {halving: {factor: 2, resource: n_samples, candidates: {grid: {c: [1.0, 1.0, 1.0, 1.0]}}}}\n",
    );
    let o = train(&cfg);
    let s = o.candidates[0].search.as_ref().unwrap();
    assert!(!s.ties.is_empty(), "{s:?}");
    assert!(s.ties[0].contains("could not separate"), "{:?}", s.ties);
    assert!(!warnings_of(&o, WarningKind::SearchTie).is_empty());
    let html = std::fs::read_to_string(&o.report_html).unwrap();
    assert!(html.contains("search_tie"));
}

/// Rough edge: thread counts above the cores are capped (the run's and a model's own
/// `n_threads`), with a warning, unless the engine is told to oversubscribe.
#[test]
fn threads_above_the_cores_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 120, 4);
    let cores = std::thread::available_parallelism().unwrap().get();
    let mut cfg = config(
        dir.path(),
        "roles: {ignored: [name, status, days_late, comment]}\nmodels:\n  - {type: gbdt, params: {n_estimators: 5}}\n  - {name: lr, type: logistic_regression, params: {n_threads: 5000}}\n",
    );
    cfg.threads = Some(100_000);
    let started = std::time::Instant::now();
    let o = train(&cfg);
    assert_eq!(o.threads, cores);
    let capped: Vec<&str> = o
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::ThreadsCapped)
        .map(|w| w.message.as_str())
        .collect();
    assert_eq!(capped.len(), 2, "{capped:?}");
    assert!(
        capped[0].contains("100000 threads were asked for"),
        "{capped:?}"
    );
    assert!(capped[1].contains("n_threads 5000"), "{capped:?}");
    assert!(
        started.elapsed().as_secs() < 120,
        "took {:?}",
        started.elapsed()
    );
    // Asked for explicitly: no cap.
    cfg.models.truncate(1);
    cfg.threads = Some(cores + 1);
    let o = Engine::new(EngineOptions {
        oversubscribe: true,
        ..EngineOptions::default()
    })
    .train(&cfg, None, &NoProgress)
    .unwrap();
    assert_eq!(o.threads, cores + 1);
    assert!(warnings_of(&o, WarningKind::ThreadsCapped).is_empty());
}
