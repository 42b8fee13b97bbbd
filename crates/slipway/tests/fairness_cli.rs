//! `slipway fairness` end to end: a predictions file (the Fairlearn reference fixture), a
//! trained bundle, messy data and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn slipway(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("SLIPWAY_HOME", home)
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

fn fixture() -> PathBuf {
    repo().join("crates/slipway-govern/tests/reference/fairness_adult.csv")
}

#[test]
fn predictions_file_equals_fairlearn_and_writes_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("fair.html");
    let f = fixture();
    let o = slipway(
        dir.path(),
        &[
            "--json",
            "fairness",
            "--predictions",
            f.to_str().unwrap(),
            "--protected",
            "sex,race",
            "--intersect",
            "--bootstrap",
            "100",
            "--seed",
            "5",
            "--output",
            html.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            repo().join("crates/slipway-govern/tests/reference/fairness_reference.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let attrs = v["attributes"].as_array().unwrap();
    assert_eq!(attrs.len(), 3);
    assert_eq!(v["positive_class"], "1");
    for (a, r) in attrs.iter().zip(reference["adult"].as_array().unwrap()) {
        for k in ["demographic_parity_difference", "equalized_odds_ratio"] {
            let ours = a["summary"][k]["value"].as_f64().unwrap();
            let theirs = r["summary"][k].as_f64().unwrap();
            assert!((ours - theirs).abs() < 1e-9, "{k}: {ours} vs {theirs}");
            assert!(a["summary"][k]["ci"].is_array());
        }
    }
    assert_eq!(v["passed"], false);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<svg") && page.contains("By sex &amp; race"),
        "{page:.500}"
    );
    // Same seed, same intervals.
    let again = slipway(
        dir.path(),
        &[
            "--json",
            "fairness",
            "--predictions",
            f.to_str().unwrap(),
            "--protected",
            "sex,race",
            "--intersect",
            "--bootstrap",
            "100",
            "--seed",
            "5",
        ],
    );
    let w: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(w["attributes"], v["attributes"]);
    // The terminal table says PASS/FAIL.
    let t = slipway(
        dir.path(),
        &[
            "fairness",
            "--predictions",
            f.to_str().unwrap(),
            "--protected",
            "sex",
            "--bootstrap",
            "0",
        ],
    );
    assert_eq!(t.status.code(), Some(0), "{}", text(&t));
    let out = String::from_utf8_lossy(&t.stdout);
    assert!(
        out.contains("by sex") && out.contains("FAIL disparate_impact_ratio"),
        "{out}"
    );
}

const MESSY: &str = "label,prediction,score,sex,region\n\
yes,yes,0.9,F,north\n\
no,maybe,0.2,,north\n\
yes,no,0.4,M,north\n\
no,no,0.1,M,south\n\
yes,yes,0.8,,south\n\
no,yes,0.7,F,south\n\
no,no,0.3,F,east\n\
no,no,0.35,M,east\n";

#[test]
fn messy_predictions_missing_groups_unseen_labels_one_class_group() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("messy.csv");
    std::fs::write(&p, MESSY).unwrap();
    let o = slipway(
        dir.path(),
        &[
            "--json",
            "fairness",
            "--predictions",
            p.to_str().unwrap(),
            "--protected",
            "sex,region",
            "--bootstrap",
            "20",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["positive_class"], "yes");
    let notes = v["notes"].to_string();
    assert!(notes.contains("maybe"), "{notes}");
    let sex = &v["attributes"][0]["groups"];
    assert_eq!(sex[0]["group"], "(missing)");
    assert_eq!(sex[0]["count"], 2);
    // Region "east" holds negatives only: AUC not computable, with the reason.
    let east = &v["attributes"][1]["groups"][0];
    assert_eq!(east["group"], "east");
    assert!(east["roc_auc"]["value"].is_null());
    assert!(
        east["roc_auc"]["note"]
            .as_str()
            .unwrap()
            .contains("one class only")
    );
    assert_eq!(east["small"], true);
}

#[test]
fn bad_input_exits_2_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("messy.csv");
    std::fs::write(&p, MESSY).unwrap();
    let ps = p.to_str().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["--protected", "gender"], "protected column \"gender\""),
        (
            &["--protected", "sex", "--label", "outcome"],
            "label column \"outcome\"",
        ),
        (
            &["--protected", "sex", "--label", "prediction"],
            "--positive-class",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["fairness", "--predictions", ps];
        args.extend_from_slice(extra);
        let o = slipway(dir.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "{want}: {err}");
    }
    // A three-valued label read one-vs-rest once the positive class is named.
    let o = slipway(
        dir.path(),
        &[
            "fairness",
            "--predictions",
            ps,
            "--protected",
            "sex",
            "--label",
            "prediction",
            "--positive-class",
            "yes",
            "--bootstrap",
            "0",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let holes = dir.path().join("holes.csv");
    std::fs::write(&holes, "label,prediction,sex\n1,1,F\n,0,M\n0,0,M\n").unwrap();
    let o = slipway(
        dir.path(),
        &[
            "fairness",
            "--predictions",
            holes.to_str().unwrap(),
            "--protected",
            "sex",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("\"label\" is missing on row 2"), "{err}");
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "label,prediction,sex\n").unwrap();
    let o = slipway(
        dir.path(),
        &[
            "fairness",
            "--predictions",
            empty.to_str().unwrap(),
            "--protected",
            "sex",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn bundle_scores_the_data_and_reads_protected_columns_the_model_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("x1,x2,group,label\n");
    for i in 0..300u32 {
        let x1 = f64::from(i % 17) / 17.0;
        let x2 = f64::from((i * 7) % 23) / 23.0;
        let group = match i % 5 {
            0 => "",
            1 | 2 => "a",
            _ => "b",
        };
        let label = u32::from(x1 + 0.5 * x2 + if i % 11 == 0 { 0.4 } else { 0.0 } > 0.7);
        csv.push_str(&format!("{x1},{x2},{group},{label}\n"));
    }
    std::fs::write(dir.path().join("train.csv"), &csv).unwrap();
    std::fs::write(
        dir.path().join("cfg.yaml"),
        "name: f\ndata: {train: train.csv}\ntarget: label\nroles: {protected: [group]}\nmodels:\n  - {type: logistic_regression}\ncv: {folds: 2}\nseed: 1\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = slipway(
        dir.path(),
        &[
            "train",
            "-c",
            dir.path().join("cfg.yaml").to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let data = dir.path().join("train.csv");
    let bundle = out.join("model");
    let o = slipway(
        dir.path(),
        &[
            "--json",
            "fairness",
            "--bundle",
            bundle.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--label",
            "label",
            "--protected",
            "group",
            "--bootstrap",
            "50",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"], 300);
    assert_eq!(v["has_scores"], true);
    let groups = v["attributes"][0]["groups"].as_array().unwrap();
    let names: Vec<&str> = groups
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["(missing)", "a", "b"]);
    assert_eq!(groups[0]["count"], 60);
    assert!(groups[1]["roc_auc"]["value"].as_f64().unwrap() > 0.5);
    // Without --label the bundle's target is the label.
    let o = slipway(
        dir.path(),
        &[
            "--json",
            "fairness",
            "--bundle",
            bundle.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--protected",
            "group",
            "--bootstrap",
            "50",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let w: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(w["label"], "label");
    assert_eq!(w["attributes"], v["attributes"]);
    // A configured positive class is the bundle's, and fairness follows it.
    std::fs::write(
        dir.path().join("cfg0.yaml"),
        "name: f0\ndata: {train: train.csv}\ntarget: label\npositive_class: \"0\"\nroles: {protected: [group]}\nmodels:\n  - {type: logistic_regression}\ncv: {folds: 2}\nseed: 1\n",
    )
    .unwrap();
    let out0 = dir.path().join("out0");
    let o = slipway(
        dir.path(),
        &[
            "train",
            "-c",
            dir.path().join("cfg0.yaml").to_str().unwrap(),
            "--output",
            out0.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = slipway(
        dir.path(),
        &[
            "--json",
            "fairness",
            "--bundle",
            out0.join("model").to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--protected",
            "group",
            "--bootstrap",
            "0",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let z: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(z["positive_class"], "0");
    assert_eq!(z["has_scores"], true);
    // The same bundle's predictions read with "1" positive: selection rates add up to 1.
    let o = slipway(
        dir.path(),
        &[
            "--json",
            "fairness",
            "--bundle",
            out0.join("model").to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--protected",
            "group",
            "--bootstrap",
            "0",
            "--positive-class",
            "1",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let one: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(one["positive_class"], "1");
    let (g0, g1) = (
        &z["attributes"][0]["groups"],
        &one["attributes"][0]["groups"],
    );
    for k in 0..3 {
        let s0 = g0[k]["selection_rate"]["value"].as_f64().unwrap();
        let s1 = g1[k]["selection_rate"]["value"].as_f64().unwrap();
        assert!((s0 + s1 - 1.0).abs() < 1e-12, "{s0} + {s1}");
        let (a0, a1) = (
            g0[k]["roc_auc"]["value"].as_f64(),
            g1[k]["roc_auc"]["value"].as_f64(),
        );
        assert!(
            (a0.unwrap() - a1.unwrap()).abs() < 1e-9,
            "AUC {a0:?} {a1:?}"
        );
    }
    // Not a bundle, and a protected column absent from the data: exit 2.
    let o = slipway(
        dir.path(),
        &[
            "fairness",
            "--bundle",
            dir.path().to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--protected",
            "group",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not a model bundle"),
        "{}",
        text(&o)
    );
    let o = slipway(
        dir.path(),
        &[
            "fairness",
            "--bundle",
            bundle.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--label",
            "label",
            "--protected",
            "race",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("\"race\""),
        "{}",
        text(&o)
    );
}

#[test]
fn multiclass_one_vs_rest_equals_each_class_read_as_positive() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("multi.csv");
    let mut csv =
        String::from("label,prediction,probability_a,probability_b,probability_c,region\n");
    let classes = ["a", "b", "c"];
    for i in 0..120usize {
        let y = classes[i % 3];
        let pred = classes[(i / 2 + i % 3) % 3];
        let pa = ((i * 13) % 10) as f64 / 20.0;
        let pb = ((i * 7) % 10) as f64 / 20.0;
        let region = if i % 11 == 0 {
            ""
        } else if i % 2 == 0 {
            "east"
        } else {
            "west"
        };
        csv.push_str(&format!(
            "{y},{pred},{pa},{pb},{},{region}\n",
            1.0 - pa - pb
        ));
    }
    std::fs::write(&p, csv).unwrap();
    let ps = p.to_str().unwrap();
    let o = slipway(
        dir.path(),
        &[
            "--json",
            "fairness",
            "--predictions",
            ps,
            "--protected",
            "region",
            "--one-vs-rest",
            "--bootstrap",
            "30",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let per_class = v["classes"].as_array().unwrap();
    assert_eq!(per_class.len(), 3);
    for (c, r) in classes.iter().zip(per_class) {
        assert_eq!(r["positive_class"], *c);
        assert_eq!(r["has_scores"], true);
        let o = slipway(
            dir.path(),
            &[
                "--json",
                "fairness",
                "--predictions",
                ps,
                "--protected",
                "region",
                "--positive-class",
                c,
                "--score",
                &format!("probability_{c}"),
                "--bootstrap",
                "30",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let single: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(single["attributes"], r["attributes"], "class {c}");
    }
    // Without --one-vs-rest or --positive-class a three-class label is refused.
    let o = slipway(
        dir.path(),
        &["fairness", "--predictions", ps, "--protected", "region"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // The terminal and HTML forms name each class.
    let html = dir.path().join("m.html");
    let o = slipway(
        dir.path(),
        &[
            "fairness",
            "--predictions",
            ps,
            "--protected",
            "region",
            "--one-vs-rest",
            "--bootstrap",
            "0",
            "--output",
            html.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("class \"b\" vs the rest"));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("By region (class c vs the rest)"));
}

#[test]
fn failed_checks_exit_3_with_fail_on_violation_and_recommendations_are_printed() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture();
    let base = [
        "fairness",
        "--predictions",
        f.to_str().unwrap(),
        "--protected",
        "sex",
        "--bootstrap",
        "50",
    ];
    // Without the flag a failed check still exits 0 (the report is the product).
    let o = slipway(dir.path(), &base);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    // Female: selected at 7.2 % against 25.0 % for Male; base rates 11.2 % and 31.x %.
    assert!(
        out.contains("demographic parity: Female is selected at 7.2 % and Male at 25.0 %"),
        "{out}"
    );
    assert!(out.contains("the labels differ too"), "{out}");
    assert!(out.contains("ECE"), "{out}");

    let mut args = base.to_vec();
    args.push("--fail-on-violation");
    let o = slipway(dir.path(), &args);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));

    // A passing bound exits 0 with the flag; --json carries the calibration figures.
    let mut args = vec!["--json"];
    args.extend_from_slice(&base);
    args.extend_from_slice(&[
        "--fail-on-violation",
        "--max-dp-difference",
        "0.5",
        "--min-di-ratio",
        "0.2",
    ]);
    let o = slipway(dir.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let female = &v["attributes"][0]["groups"][0];
    assert_eq!(female["group"], "Female");
    let brier = female["brier_score"]["value"].as_f64().unwrap();
    assert!(brier > 0.0 && brier < 0.25, "{female}");
    assert!(female["calibration_error"]["ci"].is_array(), "{female}");
}

/// `slipway --json fairness ...` with `--batch-rows n`: the report's attributes.
fn batched(home: &Path, args: &[&str], n: usize) -> serde_json::Value {
    let n = n.to_string();
    let mut all = vec!["--json", "fairness"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--batch-rows", &n]);
    let o = slipway(home, &all);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["attributes"].clone()
}

#[test]
fn streamed_batches_give_the_single_batch_report_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    // A predictions file (4,000 Adult rows): batches of 1,000 against one batch.
    let f = fixture();
    let args = [
        "--predictions",
        f.to_str().unwrap(),
        "--protected",
        "sex,race",
        "--intersect",
        "--bootstrap",
        "200",
        "--seed",
        "4",
    ];
    let one = batched(dir.path(), &args, 1_000_000);
    assert!(one[0]["groups"][0]["roc_auc"]["ci"].is_array());
    assert!(batched(dir.path(), &args, 1000) == one);
    // A bundle scoring its data a batch at a time, against one batch.
    let mut csv = String::from("x1,x2,group,label\n");
    for i in 0..2500u32 {
        let x1 = f64::from(i % 17) / 17.0;
        let x2 = f64::from((i * 7) % 23) / 23.0;
        let group = ["a", "b", "c"][(i % 3) as usize];
        let label = u32::from(x1 + 0.5 * x2 + if i % 11 == 0 { 0.4 } else { 0.0 } > 0.7);
        csv.push_str(&format!("{x1},{x2},{group},{label}\n"));
    }
    let data = dir.path().join("train.csv");
    std::fs::write(&data, &csv).unwrap();
    std::fs::write(
        dir.path().join("cfg.yaml"),
        "name: s\ndata: {train: train.csv}\ntarget: label\nroles: {protected: [group]}\nmodels:\n  - {type: logistic_regression}\ncv: {folds: 2}\nseed: 1\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = slipway(
        dir.path(),
        &[
            "train",
            "-c",
            dir.path().join("cfg.yaml").to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let bundle = out.join("model");
    let args = [
        "--bundle",
        bundle.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--protected",
        "group",
        "--bootstrap",
        "100",
    ];
    let one = batched(dir.path(), &args, 1_000_000);
    assert_eq!(one[0]["groups"].as_array().unwrap().len(), 3);
    assert!(batched(dir.path(), &args, 1000) == one);
    assert!(batched(dir.path(), &args, 7) == one);
    // An empty data file is bad input (exit 2), not an internal error.
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "x1,x2,group,label\n").unwrap();
    let o = slipway(
        dir.path(),
        &[
            "fairness",
            "--bundle",
            bundle.to_str().unwrap(),
            "--data",
            empty.to_str().unwrap(),
            "--protected",
            "group",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no data rows"),
        "{}",
        text(&o)
    );
}
