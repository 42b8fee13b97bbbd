//! Fairness mitigation in training (`fairness: {mitigation: ...}`): reweighing changes what
//! the model learns, config mistakes are named, messy groups get a reasoned fallback.

use std::path::Path;
use std::sync::Mutex;

use slipway_engine::{Engine, NoProgress, PipelineConfig, Progress, TrainOutcome};

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

#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Progress for Log {
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: &str) {}
    fn end(&self) {}
    fn note(&self, message: &str) {
        self.0.lock().unwrap().push(format!("note: {message}"));
    }
    fn warn(&self, message: &str) {
        self.0.lock().unwrap().push(format!("warn: {message}"));
    }
}

/// Rows where group "b" is positive far less often than "a"; `proxy` tells the groups apart
/// (so a model learns the gap through it), `x` carries real signal. With `no_positive_c`, a
/// third group "c" never has a positive label.
fn write_data(path: &Path, n: usize, seed: u64, no_positive_c: bool) {
    let mut rng = Lcg(seed);
    let mut csv = String::from("group,region,proxy,x,y\n");
    for _ in 0..n {
        let u = rng.uniform();
        let g = if no_positive_c && u < 0.15 {
            "c"
        } else if u < 0.55 {
            "a"
        } else {
            "b"
        };
        let proxy = if g == "a" { 1.0 } else { 0.0 } * 0.8 + rng.uniform() * 0.4;
        let x = rng.uniform();
        let p = match g {
            "a" => 0.25 + 0.5 * x,
            "b" => 0.05 + 0.3 * x,
            _ => 0.0,
        };
        let y = u8::from(rng.uniform() < p);
        let region = if rng.uniform() < 0.5 {
            "north"
        } else {
            "south"
        };
        csv.push_str(&format!("{g},{region},{proxy:.4},{x:.4},{y}\n"));
    }
    std::fs::write(path, csv).unwrap();
}

fn parse(dir: &Path, body: &str) -> Result<PipelineConfig, String> {
    let text = format!(
        "name: mitigation\ndata: {{train: {}}}\ntarget: y\ncv: {{folds: 3}}\nseed: 3\nthreads: 2\noutput: {}\nmodels:\n  - {{type: logistic_regression}}\n{body}",
        dir.join("train.csv").display(),
        dir.join("out").display()
    );
    PipelineConfig::parse(&text, Path::new("test.yaml")).map_err(|e| e.to_string())
}

fn train(dir: &Path, body: &str) -> (TrainOutcome, Vec<String>) {
    let cfg = parse(dir, body).unwrap();
    let log = Log::default();
    let o = Engine::default().train(&cfg, None, &log).unwrap();
    (o, log.0.into_inner().unwrap())
}

fn dp_difference(o: &TrainOutcome) -> f64 {
    let f = o.fairness.as_ref().unwrap();
    f.attributes[0]
        .summary
        .demographic_parity_difference
        .value
        .unwrap()
}

#[test]
fn reweighing_narrows_the_selection_rate_gap_and_reports_its_weights() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 3000, 11, false);
    let roles = "roles: {protected: [group]}\n";
    let (plain, _) = train(dir.path(), roles);
    assert!(plain.mitigation.is_none());
    let (fair, log) = train(
        dir.path(),
        &format!("{roles}fairness: {{mitigation: {{method: reweighing}}}}\n"),
    );
    let m = fair.mitigation.as_ref().unwrap();
    assert_eq!(m.column, "group");
    let rw = m.reweighing.as_ref().unwrap();
    assert_eq!(rw.groups, ["a", "b"]);
    // The under-selected group's positives weigh more than 1, the favoured group's less.
    let (a_pos, b_pos) = (rw.weights[0][1].unwrap(), rw.weights[1][1].unwrap());
    assert!(b_pos > 1.0 && a_pos < 1.0, "{:?}", rw.weights);
    assert!(
        log.iter()
            .any(|l| l.contains("fairness mitigation: reweighing by \"group\"")),
        "{log:?}"
    );
    let (before, after) = (dp_difference(&plain), dp_difference(&fair));
    assert!(
        after < before - 0.05,
        "demographic parity difference {before} → {after}"
    );
    let json = std::fs::read_to_string(&fair.report_json).unwrap();
    assert!(
        json.contains("\"mitigation\""),
        "report.json has the weights"
    );
}

#[test]
fn reweighing_combines_with_class_weights() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 1200, 5, false);
    let (o, _) = train(
        dir.path(),
        "roles: {protected: [group]}\nclass_weight: balanced\nfairness: {mitigation: {method: reweighing, protected: group}}\n",
    );
    assert!(o.mitigation.is_some() && o.bundle.is_some());
}

#[test]
fn a_group_without_positives_is_trained_with_a_warning_that_says_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 1500, 9, true);
    let (o, log) = train(
        dir.path(),
        "roles: {protected: [group]}\nfairness: {mitigation: {method: reweighing}}\n",
    );
    let m = o.mitigation.as_ref().unwrap();
    assert_eq!(m.notes.len(), 1, "{:?}", m.notes);
    assert!(
        m.notes[0].contains("group \"c\"") && m.notes[0].contains("cannot change its rate"),
        "{}",
        m.notes[0]
    );
    assert!(
        log.iter().any(|l| l.starts_with("warn: group \"c\"")),
        "{log:?}"
    );
}

#[test]
fn config_mistakes_are_named_with_their_key() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 200, 1, false);
    let e = parse(
        dir.path(),
        "roles: {protected: [group]}\nfairness: {mitigation: {method: reweighing, protected: sex}}\n",
    )
    .unwrap_err();
    assert!(
        e.contains("fairness.mitigation.protected")
            && e.contains("\"sex\" is not a protected column")
            && e.contains("protected now: group"),
        "{e}"
    );
    let e = parse(dir.path(), "fairness: {mitigation: {method: reweighing}}\n").unwrap_err();
    assert!(e.contains("needs a protected column"), "{e}");
    let e = parse(
        dir.path(),
        "roles: {protected: [group, region]}\nfairness: {mitigation: {method: reweighing}}\n",
    )
    .unwrap_err();
    assert!(
        e.contains("several protected columns (group, region)"),
        "{e}"
    );
    let e = parse(
        dir.path(),
        "roles: {protected: [group]}\nfairness: {mitigation: {method: reweighting}}\n",
    )
    .unwrap_err();
    assert!(e.contains("reweighting") && e.contains("reweighing"), "{e}");
    let e = parse(
        dir.path(),
        "roles: {protected: [group]}\nfairness: {mitigation: {method: reweighing, colum: x}}\n",
    )
    .unwrap_err();
    assert!(e.contains("colum"), "{e}");
}

#[test]
fn a_regression_target_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 200, 1, false);
    let text = format!(
        "name: m\ndata: {{train: {}}}\ntarget: x\ntask: regression\nseed: 3\noutput: {}\nroles: {{protected: [group]}}\nmodels:\n  - {{type: linear_regression}}\nfairness: {{mitigation: {{method: reweighing}}}}\n",
        dir.path().join("train.csv").display(),
        dir.path().join("out").display()
    );
    let cfg = PipelineConfig::parse(&text, Path::new("test.yaml")).unwrap();
    let e = Engine::default()
        .train(&cfg, None, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("fairness.mitigation") && e.contains("regression target"),
        "{e}"
    );
}
