//! `slipway monitor retrain`: the dry run, and one retrain end to end on a small dataset
//! (delayed labels joined by id, the challenger trained as a job, compared with the champion
//! on the window, registered with its decision).

use std::fmt::Write as _;
use std::path::Path;

use super::{json_of, p, slipway, text};

/// `rows` rows with `id`, `x1`, `x2`, `color`; the label follows `x1 + 0.5·x2` when
/// `concept` is 0 and `x1 − x2` when it is 1 (a concept drift the champion cannot follow).
/// `labels`: write the labels to a file of their own (every 10th id left unlabelled).
fn write_rows(dir: &Path, name: &str, rows: usize, first_id: usize, concept: u8, seed: u64) {
    let mut state = seed;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1_000_000) as f64 / 1_000_000.0
    };
    let mut data = String::from("id,x1,x2,color,y\n");
    let mut features = String::from("id,x1,x2,color\n");
    let mut labels = String::from("id,y\n");
    for i in 0..rows {
        let id = first_id + i;
        let x1 = next() * 10.0;
        let x2 = next() * 10.0 + if concept == 1 { 1.0 } else { 0.0 };
        let color = ["red", "green", "blue"][(next() * 3.0) as usize % 3];
        let noise = (next() - 0.5) * 2.0;
        let y = match concept {
            0 => x1 + 0.5 * x2 + noise > 7.5,
            _ => x1 - x2 + noise > 0.0,
        } as u8;
        let _ = writeln!(data, "{id},{x1:.4},{x2:.4},{color},{y}");
        let _ = writeln!(features, "{id},{x1:.4},{x2:.4},{color}");
        if i % 10 != 9 {
            let _ = writeln!(labels, "{id},{y}");
        }
    }
    std::fs::write(dir.join(format!("{name}.csv")), data).unwrap();
    std::fs::write(dir.join(format!("{name}_features.csv")), features).unwrap();
    std::fs::write(dir.join(format!("{name}_labels.csv")), labels).unwrap();
}

const PIPELINE: &str = "name: toy\ndata: {train: reference.csv}\ntarget: y\nroles: {id: [id]}\n\
models:\n  - {name: gbdt, type: gbdt, params: {n_estimators: 60, num_leaves: 8}}\n\
cv: {folds: 2}\nseed: 1\nselection: {metric: roc_auc}\n";

/// A trained and registered champion (`toy` version 1) in `home`, and a policy.
fn setup(dir: &Path, home: &Path) {
    write_rows(dir, "reference", 1200, 0, 0, 17);
    write_rows(dir, "new", 3000, 10_000, 1, 29);
    std::fs::write(dir.join("pipeline.yaml"), PIPELINE).unwrap();
    let o = slipway(&[
        "train",
        "--config",
        p(&dir.join("pipeline.yaml")),
        "--output",
        p(&dir.join("champion")),
        "--no-track",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = slipway(&[
        "models",
        "register",
        "--bundle",
        p(&dir.join("champion/model")),
        "--name",
        "toy",
        "--home",
        p(home),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::write(
        dir.join("policy.yaml"),
        "retrain:\n  model: toy\n  pipeline: pipeline.yaml\n  champion: champion/model\n  \
         reference: reference.csv\n  new_rows: new_features.csv\n  \
         labels: {file: new_labels.csv, id_column: id}\n  window_rows: 800\n  \
         triggers: {schedule: {every: 30d}}\n",
    )
    .unwrap();
}

#[test]
fn retrain_dry_run_then_a_retrain_that_registers_the_challenger_with_its_decision() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    setup(dir.path(), &home);
    let policy = dir.path().join("policy.yaml");

    // The dry run: every trigger with its value, what would happen, nothing trained.
    let o = slipway(&["monitor", "retrain", "--policy", p(&policy), "--dry-run"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for want in [
        "retrain policy for toy",
        "1200 rows · 1900 new labelled rows (+ a window of 800)",
        "performance_drop  FIRED",
        "new_labels        FIRED  2700 new labelled rows (fires at 1000)",
        "schedule          ok",
        "dry run: a retrain would",
        "1. train",
        "register the challenger as a new version of 'toy'",
    ] {
        assert!(out.contains(want), "missing {want:?}:\n{}", text(&o));
    }
    assert!(
        !dir.path().join("retrain-jobs").exists(),
        "a dry run trains nothing"
    );
    let o = slipway(&[
        "monitor",
        "retrain",
        "--policy",
        p(&policy),
        "--dry-run",
        "--json",
    ]);
    let plan = json_of(&o);
    assert_eq!(plan["retrain"], true);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["inputs"]["new_labelled_rows"], 2700);
    let drop = &plan["triggers"][0];
    assert_eq!(drop["name"], "performance_drop");
    assert!(drop["value"].as_f64().unwrap() > 0.05, "{drop}");

    // The retrain: a job, the comparison on the window, a new version with the decision.
    let o = slipway(&[
        "monitor",
        "retrain",
        "--policy",
        p(&policy),
        "--home",
        p(&home),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let job = json_of(&o);
    assert_eq!(job["status"], "succeeded", "{job}");
    let outcome = &job["outcome"];
    assert_eq!(outcome["version"], "2");
    let d = &outcome["decision"];
    let c = &d["comparison"];
    assert_eq!(c["rows"], 800);
    assert_eq!(c["test"], "mcnemar_exact");
    let (champ, chall) = (
        c["champion"].as_f64().unwrap(),
        c["challenger"].as_f64().unwrap(),
    );
    assert!(
        chall > champ * 1.02,
        "the retrained model learns the new concept: {c}"
    );
    assert_eq!(d["action"], "canary", "{d}");
    assert!(c["p_value"].as_f64().unwrap() < 1e-6, "{c}");
    let b = c["only_champion_right"].as_u64().unwrap();
    let cc = c["only_challenger_right"].as_u64().unwrap();
    assert!(cc > b, "{c}");
    // The job's files: its record, its log, the decision.
    let jobdir = dir
        .path()
        .join("retrain-jobs")
        .join(job["id"].as_str().unwrap());
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(jobdir.join("job.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "succeeded");
    let log = std::fs::read_to_string(jobdir.join("job.log")).unwrap();
    assert!(
        log.contains("training data: 1200 reference + 1900 new labelled rows"),
        "{log}"
    );
    assert!(log.contains("registered 'toy' version 2"), "{log}");
    assert!(jobdir.join("decision.json").exists());
    // The registry has version 2 with the decision and its numbers.
    let o = slipway(&[
        "models",
        "show",
        "toy",
        "--version",
        "2",
        "--home",
        p(&home),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let shown = o.stdout.clone();
    let shown = String::from_utf8_lossy(&shown);
    assert!(shown.contains("slipway.retrain.decision"), "{shown}");
    assert!(shown.contains("canary"), "{shown}");
    assert!(shown.contains("slipway.retrain.p_value"), "{shown}");

    // The schedule now counts from this retrain; the dry run says so.
    let o = slipway(&["monitor", "retrain", "--policy", p(&policy), "--dry-run"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("since the last training"), "{}", text(&o));
}

#[test]
fn retrain_refuses_a_bad_policy_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "retrain:\n  model: toy\n  pipeline: p.yaml\n  champion: c\n  reference: r.csv\n  new_rows: n.csv\n  triggers: {drift_share: {above: 3}}\n",
    )
    .unwrap();
    let o = slipway(&["monitor", "retrain", "--policy", p(&policy), "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("retrain.triggers.drift_share.above"), "{err}");
    std::fs::write(
        &policy,
        "retrain:\n  model: toy\n  pipeline: p.yaml\n  champion: nowhere\n  reference: r.csv\n  new_rows: n.csv\n",
    )
    .unwrap();
    let o = slipway(&["monitor", "retrain", "--policy", p(&policy), "--dry-run"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("retrain.champion"),
        "{}",
        text(&o)
    );
}
