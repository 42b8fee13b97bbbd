//! Fairness post-processing end to end (`fairness: {mitigation: {method:
//! threshold_optimizer}}`): config mistakes are named at their key, training fits per-group
//! thresholds on out-of-fold scores and stores them in the bundle (read back and checked),
//! and `predict` needs the protected column, names it when it is missing, decides the same
//! way however the file is chunked, and refuses a group it has no thresholds for.

use std::path::Path;

use slipway_data::ingest::{self, ReadOptions};
use slipway_engine::{Engine, ErrorKind, NoProgress, PipelineConfig, PredictOptions, TrainOutcome};

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

/// Rows where group "b" is positive far less often than "a"; `proxy` tells the groups apart
/// (so the model learns the gap through it), `x` carries real signal. `kind` is a third
/// class label for some rows when `multiclass`.
fn write_data(path: &Path, n: usize, seed: u64, multiclass: bool) {
    let mut rng = Lcg(seed);
    let mut csv = String::from("id,group,proxy,x,y\n");
    for i in 0..n {
        let u = rng.uniform();
        let g = if u < 0.55 { "a" } else { "b" };
        let proxy = if g == "a" { 0.8 } else { 0.0 } + rng.uniform() * 0.4;
        let x = rng.uniform();
        let p = if g == "a" {
            0.25 + 0.5 * x
        } else {
            0.05 + 0.3 * x
        };
        let y = if multiclass && rng.uniform() < 0.2 {
            2
        } else {
            u8::from(rng.uniform() < p)
        };
        csv.push_str(&format!("{i},{g},{proxy:.4},{x:.4},{y}\n"));
    }
    std::fs::write(path, csv).unwrap();
}

fn config_text(dir: &Path, body: &str) -> String {
    format!(
        "name: thresholds\ndata: {{train: {}}}\ntarget: y\nroles: {{id: [id], protected: [group]}}\ncv: {{folds: 3}}\nseed: 3\nthreads: 2\noutput: {}\nmodels:\n  - {{type: logistic_regression}}\n{body}",
        dir.join("train.csv").display(),
        dir.join("out").display()
    )
}

fn parse(dir: &Path, body: &str) -> Result<PipelineConfig, String> {
    PipelineConfig::parse(&config_text(dir, body), Path::new("test.yaml"))
        .map_err(|e| e.to_string())
}

fn train(dir: &Path, body: &str) -> TrainOutcome {
    let cfg = parse(dir, body).unwrap();
    Engine::default().train(&cfg, None, &NoProgress).unwrap()
}

const DP: &str = "fairness: {mitigation: {method: threshold_optimizer, protected: group, constraint: demographic_parity}}\n";

/// Writes `rows` of the training file without the target (and, with `drop_group`, without
/// the protected column).
fn scoring_input(
    dir: &Path,
    name: &str,
    drop_group: bool,
    replace_group: Option<&str>,
) -> std::path::PathBuf {
    let text = std::fs::read_to_string(dir.join("train.csv")).unwrap();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut f: Vec<String> = line.split(',').map(String::from).collect();
        f.pop();
        if drop_group {
            f.remove(1);
        } else if let (Some(g), true) = (replace_group, i == 7) {
            f[1] = g.to_string();
        }
        out.push_str(&f.join(","));
        out.push('\n');
    }
    let p = dir.join(name);
    std::fs::write(&p, out).unwrap();
    p
}

fn read(path: &Path) -> slipway_data::Table {
    ingest::read_table(path, &ReadOptions::default()).unwrap()
}

#[test]
fn config_mistakes_are_named_at_their_key() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 100, 1, false);
    let cases: &[(&str, &[&str])] = &[
        (
            "fairness: {mitigation: {method: reweighing, constraint: equalized_odds}}\n",
            &[
                "fairness.mitigation.constraint",
                "applies to method: threshold_optimizer",
            ],
        ),
        (
            "fairness: {mitigation: {method: threshold_optimizer, grid_size: 0}}\n",
            &["fairness.mitigation.grid_size", "0 is out of range"],
        ),
        (
            "fairness: {mitigation: {method: threshold_optimizer, constraint: equal_opportunity}}\n",
            &["equal_opportunity", "demographic_parity", "equalized_odds"],
        ),
        (
            "fairness: {mitigation: {method: threshold_optimizer, objective: f1_score}}\n",
            &["f1_score", "balanced_accuracy_score"],
        ),
        (
            "fairness: {mitigation: {method: threshold_optimizer, protected: sex}}\n",
            &[
                "fairness.mitigation.protected",
                "\"sex\" is not a protected column",
            ],
        ),
        (
            "threshold: {maximize: f1}\nfairness: {mitigation: {method: threshold_optimizer}}\n",
            &["threshold:", "keep one of them"],
        ),
        (
            "task: regression\nfairness: {mitigation: {method: threshold_optimizer}}\n",
            &["fairness.mitigation", "task: regression"],
        ),
    ];
    for (body, wants) in cases {
        let e = parse(dir.path(), body).unwrap_err();
        assert!(e.starts_with("test.yaml:"), "located: {e}");
        for w in *wants {
            assert!(e.contains(w), "{body}: wanted {w:?} in {e}");
        }
    }
}

#[test]
fn a_multiclass_target_is_refused_with_its_classes() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 300, 2, true);
    let cfg = parse(dir.path(), DP).unwrap();
    let e = Engine::default()
        .train(&cfg, None, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("fairness.mitigation") && e.contains("has 3 (0, 1, 2)"),
        "{e}"
    );
}

#[test]
fn thresholds_narrow_the_gap_and_round_trip_through_the_bundle_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 2400, 11, false);
    let o = train(dir.path(), DP);
    let m = o.mitigation.as_ref().unwrap();
    assert_eq!(m.column, "group");
    let t = m.thresholds.as_ref().unwrap();
    assert_eq!(t.post.column, "group");
    assert_eq!(t.post.seed, 3);
    assert_eq!(t.post.rule.groups.len(), 2);
    let (before, after) = (t.holdout_before.unwrap(), t.holdout_after.unwrap());
    assert!(
        after.demographic_parity_difference < before.demographic_parity_difference - 0.05,
        "{before:?} → {after:?}"
    );
    // The report's fairness section judges the decisions the bundle makes.
    let f = o.fairness.as_ref().unwrap();
    let dp = f.attributes[0]
        .summary
        .demographic_parity_difference
        .value
        .unwrap();
    assert!(
        (dp - after.demographic_parity_difference).abs() < 1e-12,
        "{dp}"
    );

    // The bundle holds the thresholds, checksummed.
    let bundle = o.bundle.clone().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["files"]["postprocess.json"]["sha256"].is_string());
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("postprocess.json")).unwrap()).unwrap();
    assert_eq!(stored["column"], "group");
    assert_eq!(stored["fitted_on"], "out_of_fold");
    assert_eq!(stored["rule"]["constraint"], "demographic_parity");

    // Predict: the protected column is read, the decision is the thresholds', the raw
    // scores stay; the same in one chunk or many.
    let input = scoring_input(dir.path(), "in.csv", false, None);
    let engine = Engine::default();
    let one = dir.path().join("one.csv");
    let outcome = engine
        .predict(&bundle, &input, &one, &PredictOptions::default())
        .unwrap();
    assert_eq!(
        outcome.columns,
        [
            "id",
            "prediction",
            "prediction_unmitigated",
            "probability_0",
            "probability_1",
            "mitigated_probability"
        ]
    );
    let many = dir.path().join("many.csv");
    engine
        .predict(
            &bundle,
            &input,
            &many,
            &PredictOptions {
                chunk_rows: 97,
                ..PredictOptions::default()
            },
        )
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&one).unwrap(),
        std::fs::read_to_string(&many).unwrap()
    );
    let table = read(&one);
    let n = table.n_rows();
    let (mut changed, mut within) = (0, 0);
    for r in 0..n {
        let pred = table.display_value("prediction", r).unwrap().unwrap();
        let raw = table
            .display_value("prediction_unmitigated", r)
            .unwrap()
            .unwrap();
        let p: f64 = table
            .display_value("mitigated_probability", r)
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        changed += usize::from(pred != raw);
        // A certain decision (probability 0 or 1) is never overturned by the draw.
        if p == 0.0 || p == 1.0 {
            within += 1;
            assert_eq!(pred == "1", p == 1.0, "row {r}");
        }
    }
    assert!(
        changed > 0 && within > 0,
        "{changed} changed, {within} certain"
    );

    // Without the protected column: a schema error that names it and the rule.
    let without = scoring_input(dir.path(), "no-group.csv", true, None);
    let e = engine
        .predict(
            &bundle,
            &without,
            &dir.path().join("x.csv"),
            &PredictOptions::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::User);
    let msg = e.to_string();
    assert!(
        msg.contains("column \"group\" is missing")
            && msg.contains("threshold_optimizer")
            && msg.contains("not a feature"),
        "{msg}"
    );

    // A group the thresholds were not fitted on: named, with the groups known.
    let unseen = scoring_input(dir.path(), "unseen.csv", false, Some("zeta"));
    let e = engine
        .predict(
            &bundle,
            &unseen,
            &dir.path().join("y.csv"),
            &PredictOptions::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::User);
    let msg = e.to_string();
    assert!(
        msg.contains("column \"group\"")
            && msg.contains("row 6: group \"zeta\"")
            && msg.contains("(groups: a, b)"),
        "{msg}"
    );

    // A changed postprocess.json is damage the checksum catches.
    let text = std::fs::read_to_string(bundle.join("postprocess.json")).unwrap();
    std::fs::write(
        bundle.join("postprocess.json"),
        text.replace("\"seed\": 3", "\"seed\": 4"),
    )
    .unwrap();
    let e = engine
        .predict(
            &bundle,
            &input,
            &dir.path().join("z.csv"),
            &PredictOptions::default(),
        )
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("postprocess.json does not match its checksum"),
        "{e}"
    );
}

#[test]
fn equalized_odds_with_balanced_accuracy_trains_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 1500, 5, false);
    let o = train(
        dir.path(),
        "fairness: {mitigation: {method: threshold_optimizer, constraint: equalized_odds, objective: balanced_accuracy_score, grid_size: 200}}\n",
    );
    let t = o.mitigation.unwrap().thresholds.unwrap();
    assert_eq!(t.post.rule.grid_size, 200);
    assert_eq!(t.post.rule.objective.name(), "balanced_accuracy_score");
    assert!(t.post.rule.groups.iter().any(|g| g.p_ignore >= 0.0));
    assert!(t.holdout_after.is_some());
}
