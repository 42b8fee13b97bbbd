//! `slipway monitor drift` end to end, with the real binary on messy files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

#[path = "monitor_cli/retrain.rs"]
mod retrain;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn slipway(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args(args)
        .env("NO_COLOR", "1")
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

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A reference with a numeric column, a categorical one with a long label, a constant
/// column, a column with missing values and a date; `shift` moves `x` and changes the mix
/// of `color`; `unseen` adds a category the reference never had.
fn write_data(path: &Path, rows: usize, shift: f64, unseen: bool, seed: u64) {
    let mut s = String::from("x,color,constant,sparse,day\n");
    let long = "l".repeat(300);
    let mut state = seed;
    let mut next = || {
        // xorshift: deterministic, no dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1_000_000) as f64 / 1_000_000.0
    };
    for i in 0..rows {
        let x = next() * 10.0 + shift;
        let u = next();
        let color = if unseen && u < 0.2 {
            "violet"
        } else if u < 0.5 - shift / 40.0 {
            "red"
        } else if u < 0.9 {
            "blue"
        } else {
            long.as_str()
        };
        let sparse = if i % 4 == 0 {
            String::new()
        } else {
            format!("{:.3}", next())
        };
        let day = format!("2026-0{}-{:02}", 1 + (i * 3 / rows.max(1)), 1 + i % 28);
        let _ = writeln!(s, "{x:.4},{color},7,{sparse},{day}");
    }
    std::fs::write(path, s).unwrap();
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}\n{}", text(o)))
}

fn feature<'a>(chunk: &'a Value, name: &str) -> &'a Value {
    chunk["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["column"] == name)
        .unwrap()
}

fn stat<'a>(f: &'a Value, name: &str) -> &'a Value {
    f["stats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stat"] == name)
        .unwrap()
}

#[test]
fn drift_on_messy_csv_chunks_missing_unseen_and_constant() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = (dir.path().join("ref.csv"), dir.path().join("cur.csv"));
    write_data(&r, 2000, 0.0, false, 1);
    write_data(&c, 1500, 4.0, true, 2);
    let cols = "x,color,constant,sparse";
    let o = slipway(&[
        "--json",
        "monitor",
        "drift",
        "--reference",
        p(&r),
        "--current",
        p(&c),
        "--columns",
        cols,
        "--chunk-size",
        "600",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j = json_of(&o);
    let chunks = j["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 3, "600 + 600 + 300 rows");
    assert_eq!(chunks[2]["rows"], 300);
    assert_eq!(j["current_rows"], 1500);
    for chunk in chunks {
        // x moved by 4 (of a 10-wide range): every statistic sees it.
        let x = feature(chunk, "x");
        assert_eq!(x["drifted"], true, "{x}");
        assert!(stat(x, "ks")["value"].as_f64().unwrap() > 0.3);
        assert!(stat(x, "psi")["drifted"].as_bool().unwrap());
        // The unseen category counts in chi-square, L-infinity and JS.
        let color = feature(chunk, "color");
        assert!(
            color["histogram"]["labels"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l == "violet")
        );
        assert!(
            stat(color, "linf")["value"].as_f64().unwrap() >= 0.15,
            "{color}"
        );
        assert_eq!(color["drifted"], true);
        // A constant column is defined: no drift, and Wasserstein says why it has no
        // normalized value.
        let k = feature(chunk, "constant");
        assert_eq!(stat(k, "ks")["value"], 0.0);
        assert_eq!(stat(k, "wasserstein")["value"], 0.0);
        assert!(
            stat(k, "wasserstein")["reason"]
                .as_str()
                .unwrap()
                .contains("constant")
        );
        assert_eq!(k["drifted"], false);
        // Missing values are counted, not compared.
        let s = feature(chunk, "sparse");
        assert!((s["reference_missing_rate"].as_f64().unwrap() - 0.25).abs() < 1e-12);
        assert!((s["missing_rate"].as_f64().unwrap() - 0.25).abs() < 0.01);
        assert_eq!(s["missing_drifted"], false);
    }
    // Without --fail-on-drift, drift is reported with exit 0; with it, exit 3.
    let o = slipway(&[
        "monitor",
        "drift",
        "--reference",
        p(&r),
        "--current",
        p(&c),
        "--columns",
        cols,
        "--fail-on-drift",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("DRIFT") && out.contains("drift found"),
        "{out}"
    );
    // The same distribution: no drift, exit 0 even with --fail-on-drift.
    let same = dir.path().join("same.csv");
    write_data(&same, 3000, 0.0, false, 3);
    let o = slipway(&[
        "monitor",
        "drift",
        "--reference",
        p(&r),
        "--current",
        p(&same),
        "--columns",
        cols,
        "--fail-on-drift",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no drift"));
}

#[test]
fn missing_values_change_and_all_missing_columns() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("ref.csv");
    let c = dir.path().join("cur.csv");
    let mut rs = String::from("a,b\n");
    let mut cs = String::from("a,b\n");
    for i in 0..400 {
        let _ = writeln!(rs, "{},{}", i % 10, if i % 2 == 0 { "u" } else { "v" });
        // `a` is missing in 30 % of the current rows, `b` in all of them.
        let a = if i % 10 < 3 {
            String::new()
        } else {
            (i % 10).to_string()
        };
        let _ = writeln!(cs, "{a},");
    }
    std::fs::write(&r, rs).unwrap();
    std::fs::write(&c, cs).unwrap();
    let o = slipway(&[
        "--json",
        "monitor",
        "drift",
        "--reference",
        p(&r),
        "--current",
        p(&c),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j = json_of(&o);
    let a = feature(&j["chunks"][0], "a");
    assert!((a["missing_rate"].as_f64().unwrap() - 0.3).abs() < 1e-12);
    assert_eq!(a["missing_drifted"], true);
    assert_eq!(a["drifted"], true);
    let b = feature(&j["chunks"][0], "b");
    assert_eq!(b["missing_rate"], 1.0);
    for s in b["stats"].as_array().unwrap() {
        assert!(s["value"].is_null());
        assert!(s["reason"].as_str().unwrap().contains("no values"), "{s}");
    }
}

#[test]
fn small_chunks_are_flagged_not_alarmed() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = (dir.path().join("ref.csv"), dir.path().join("one.csv"));
    write_data(&r, 1000, 0.0, false, 4);
    std::fs::write(&c, "x,color\n500,green\n").unwrap();
    let o = slipway(&[
        "--json",
        "monitor",
        "drift",
        "--reference",
        p(&r),
        "--current",
        p(&c),
        "--columns",
        "x,color",
        "--fail-on-drift",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j = json_of(&o);
    assert_eq!(j["chunks"][0]["small_sample"], true);
    assert_eq!(j["drifted"], false);
    let x = feature(&j["chunks"][0], "x");
    assert_eq!(stat(x, "ks")["value"], 1.0, "one value far outside: KS = 1");
    assert_eq!(x["drifted"], false);
}

#[test]
fn bad_input_exits_2_naming_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("ref.csv");
    write_data(&r, 300, 0.0, false, 5);
    let run = |current: &Path, extra: &[&str]| {
        let mut args = vec![
            "monitor",
            "drift",
            "--reference",
            p(&r),
            "--current",
            p(current),
        ];
        args.extend(extra);
        slipway(&args)
    };
    // A compared column the current file lacks.
    let c = dir.path().join("no_color.csv");
    std::fs::write(&c, "x,constant\n1,7\n").unwrap();
    let o = run(&c, &["--columns", "x,color"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("\"color\""),
        "{}",
        text(&o)
    );
    // A file that does not exist.
    let o = run(&dir.path().join("nope.csv"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope.csv"));
    // A value that is not of the reference's type.
    let c = dir.path().join("bad_type.csv");
    std::fs::write(&c, "x,color\n1.5,red\n2,red\nabc,blue\n").unwrap();
    let o = run(&c, &["--columns", "x,color"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("\"x\"") && err.contains("abc") && err.contains(":4"),
        "{err}"
    );
    // A header and no rows.
    let c = dir.path().join("empty.csv");
    std::fs::write(&c, "x,color\n").unwrap();
    let o = run(&c, &["--columns", "x,color"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // An empty file.
    let c = dir.path().join("zero.csv");
    std::fs::write(&c, "").unwrap();
    let o = run(&c, &["--columns", "x,color"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // Unknown statistic, bad threshold.
    let o = run(&r, &["--stat", "kss"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("kss"));
    let o = run(&r, &["--threshold", "psi=-1"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // Period chunking on a column that is not a datetime.
    let o = run(
        &r,
        &["--chunk-period", "month", "--timestamp-column", "color"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("\"color\""));
}

#[test]
fn period_chunks_summary_reuse_and_a_report_that_does_not_grow() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = (dir.path().join("ref.csv"), dir.path().join("cur.csv"));
    write_data(&r, 1000, 0.0, false, 6);
    write_data(&c, 900, 0.5, false, 7);
    let html = dir.path().join("report.html");
    let summary = dir.path().join("ref-summary.json");
    let o = slipway(&[
        "--json",
        "monitor",
        "drift",
        "--reference",
        p(&r),
        "--current",
        p(&c),
        "--columns",
        "x,color,sparse",
        "--chunk-period",
        "month",
        "--timestamp-column",
        "day",
        "--output",
        p(&html),
        "--save-summary",
        p(&summary),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let first = json_of(&o);
    let labels: Vec<&str> = first["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["2026-01", "2026-02", "2026-03"]);
    assert!(summary.exists() && html.exists() && dir.path().join("report.json").exists());
    // The saved summary gives the same numbers without the reference file.
    let o = slipway(&[
        "--json",
        "monitor",
        "drift",
        "--reference-summary",
        p(&summary),
        "--current",
        p(&c),
        "--chunk-period",
        "month",
        "--timestamp-column",
        "day",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let again = json_of(&o);
    assert_eq!(first["chunks"], again["chunks"]);

    // The HTML report holds summaries only: 20 times the rows, about the same size.
    let size = |rows: usize, name: &str| {
        let cur = dir.path().join(format!("{name}.csv"));
        write_data(&cur, rows, 0.5, false, 8);
        let out = dir.path().join(format!("{name}.html"));
        let o = slipway(&[
            "monitor",
            "drift",
            "--reference-summary",
            p(&summary),
            "--current",
            p(&cur),
            "--output",
            p(&out),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        let html = std::fs::read_to_string(&out).unwrap();
        assert!(html.contains("<svg") && html.contains("Reference vs current"));
        assert!(!html.contains("<script"));
        html.len()
    };
    let small = size(1_000, "small");
    let large = size(20_000, "large");
    assert!(
        (large as f64 - small as f64).abs() < 0.05 * small as f64,
        "report grew with the rows: {small} -> {large} bytes"
    );
}

#[test]
fn a_bundles_training_profile_is_a_reference() {
    let bundle = repo().join("crates/slipway-learn/tests/data/bundle_v1/model");
    let current = repo().join("examples/adult/adult_test.csv");
    let o = slipway(&[
        "--json",
        "monitor",
        "drift",
        "--bundle",
        p(&bundle),
        "--current",
        p(&current),
        "--chunk-size",
        "8000",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j = json_of(&o);
    assert_eq!(j["chunks"].as_array().unwrap().len(), 3);
    let age = feature(&j["chunks"][0], "age");
    assert!(
        stat(age, "ks")["reason"]
            .as_str()
            .unwrap()
            .contains("raw reference")
    );
    assert!(stat(age, "psi")["value"].as_f64().is_some());
    let workclass = feature(&j["chunks"][0], "workclass");
    assert!(stat(workclass, "chi2")["p_value"].as_f64().is_some());
}

/// A binary classifier's outputs: `id` (long strings), `score` (probability), `pred`,
/// and the label `y` drawn from the score (so the scores are calibrated); `labelled` false
/// leaves `y` out of the file.
fn write_outputs(path: &Path, rows: usize, seed: u64, labelled: bool) {
    let mut s = String::from(if labelled {
        "id,score,pred,y\n"
    } else {
        "id,score,pred\n"
    });
    let mut state = seed;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1_000_000) as f64 / 1_000_000.0
    };
    for i in 0..rows {
        let score = next();
        let y = u8::from(next() < score);
        let pred = u8::from(score >= 0.5);
        let id = format!("customer-{}-{i}", "x".repeat(40));
        if labelled {
            writeln!(s, "{id},{score},{pred},{y}").unwrap();
        } else {
            writeln!(s, "{id},{score},{pred}").unwrap();
        }
    }
    std::fs::write(path, s).unwrap();
}

fn perf_args<'a>(reference: &'a str, analysis: &'a str) -> Vec<&'a str> {
    vec![
        "monitor",
        "performance",
        "--reference",
        reference,
        "--analysis",
        analysis,
        "--target",
        "y",
        "--prediction",
        "pred",
        "--probability",
        "score",
        "--bootstrap",
        "50",
    ]
}

#[test]
fn performance_joins_delayed_labels_and_estimates_before_them() {
    let dir = tempfile::tempdir().unwrap();
    let (r, a, l) = (
        dir.path().join("ref.csv"),
        dir.path().join("ana.csv"),
        dir.path().join("labels.csv"),
    );
    write_outputs(&r, 3000, 7, true);
    write_outputs(&a, 1500, 11, true);
    // Labels for the first 900 rows only, one of them missing, in shuffled order, plus an
    // id that is in no analysis row; the analysis file itself has no label column.
    let text_a = std::fs::read_to_string(&a).unwrap();
    let mut lines: Vec<&str> = text_a.lines().skip(1).take(900).collect();
    lines.reverse();
    let mut labels = String::from("id,y\n");
    for (k, line) in lines.iter().enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let y = if k == 3 { "" } else { f[3] };
        writeln!(labels, "{},{y}", f[0]).unwrap();
    }
    labels.push_str("nobody,1\n");
    std::fs::write(&l, labels).unwrap();
    let stripped: String = text_a
        .lines()
        .map(|line| line.rsplit_once(',').unwrap().0.to_string() + "\n")
        .collect();
    std::fs::write(&a, stripped).unwrap();
    let html = dir.path().join("perf.html");
    let mut args = perf_args(p(&r), p(&a));
    args.extend([
        "--labels",
        p(&l),
        "--id-column",
        "id",
        "--chunk-size",
        "500",
        "--output",
        p(&html),
        "--json",
    ]);
    let out = slipway(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["analysis_rows"], 1500);
    assert_eq!(v["labelled_rows"], 899);
    assert_eq!(v["join"]["unlabelled"], 601);
    assert_eq!(v["join"]["unused_labels"], 1);
    let chunks = v["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 3);
    assert_eq!(v["reference_chunks"].as_array().unwrap().len(), 6);
    assert_eq!(chunks[0]["labelled_rows"], 500);
    assert_eq!(chunks[1]["labelled_rows"], 399);
    assert_eq!(chunks[2]["labelled_rows"], 0);
    for c in chunks {
        for m in c["metrics"].as_array().unwrap() {
            assert!(m["estimated"].is_f64(), "{m}");
            assert!(m["band"][0].as_f64().unwrap() <= m["estimated"].as_f64().unwrap());
        }
    }
    // No labels in the last chunk: estimated only.
    assert!(chunks[2]["metrics"][0]["realized"].is_null());
    assert!(chunks[0]["metrics"][0]["realized_interval"].is_array());
    // The scores are calibrated by construction: the estimate tracks the realized value.
    let acc = &chunks[0]["metrics"][1];
    assert_eq!(acc["metric"], "accuracy");
    let d = acc["estimated"].as_f64().unwrap() - acc["realized"].as_f64().unwrap();
    assert!(d.abs() < 0.06, "{acc}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("estimated (CBPE)"));
    let twin: Value =
        serde_json::from_str(&std::fs::read_to_string(html.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(twin["labelled_rows"], 899);

    // The terminal text says the same.
    let plain = slipway(&args[..args.len() - 1]);
    let s = String::from_utf8_lossy(&plain.stdout);
    assert!(
        s.contains("899 labelled") && s.contains("601 unlabelled"),
        "{s}"
    );
    assert!(s.contains("realized: no labels yet"), "{s}");
}

#[test]
fn performance_rejects_bad_input_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (r, a) = (dir.path().join("ref.csv"), dir.path().join("ana.csv"));
    write_outputs(&r, 400, 3, true);
    write_outputs(&a, 200, 5, false);
    let check = |args: &[&str], needle: &str| {
        let out = slipway(args);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "wanted {needle:?} in {err}");
    };
    // A missing column.
    let mut args = perf_args(p(&r), p(&a));
    let at = args.iter().position(|x| *x == "score").unwrap();
    args[at] = "proba";
    check(&args, "proba");

    // Duplicate ids in the labels file.
    let l = dir.path().join("labels.csv");
    let id = format!("customer-{}-0", "x".repeat(40));
    std::fs::write(&l, format!("id,y\n{id},1\nother,0\n{id},0\n")).unwrap();
    let mut args = perf_args(p(&r), p(&a));
    args.extend(["--labels", p(&l), "--id-column", "id"]);
    check(&args, &format!("id \"{id}\" appears twice"));

    // A probability outside [0, 1].
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "id,score,pred\na,0.2,0\nb,1.5,1\n").unwrap();
    check(
        &perf_args(p(&r), p(&bad)),
        "\"score\": value 1.5 at row 2 is outside [0, 1]",
    );

    // A target that is not binary.
    let three = dir.path().join("three.csv");
    std::fs::write(&three, "id,score,pred,y\na,0.2,0,0\nb,0.9,1,2\nc,0.5,1,1\n").unwrap();
    check(
        &perf_args(p(&three), p(&a)),
        "\"y\": value 2 at row 2 is not 0 or 1",
    );

    // A reference without labels.
    let unl = dir.path().join("unlabelled.csv");
    std::fs::write(&unl, "id,score,pred,y\na,0.2,0,\nb,0.9,1,\n").unwrap();
    check(&perf_args(p(&unl), p(&a)), "the reference has no labels");

    // An empty analysis file.
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "id,score,pred\n").unwrap();
    check(&perf_args(p(&r), p(&empty)), "no data rows");

    // A missing probability.
    let hole = dir.path().join("hole.csv");
    std::fs::write(&hole, "id,score,pred\na,0.2,0\nb,,1\n").unwrap();
    check(&perf_args(p(&r), p(&hole)), "missing at row 2");
}

#[test]
fn performance_single_row_and_regression() {
    let dir = tempfile::tempdir().unwrap();
    let (r, one) = (dir.path().join("ref.csv"), dir.path().join("one.csv"));
    write_outputs(&r, 400, 3, true);
    std::fs::write(&one, "id,score,pred,y\na,0.7,1,1\n").unwrap();
    let mut args = perf_args(p(&r), p(&one));
    args.extend(["--chunk-size", "100", "--json"]);
    let out = slipway(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &v["chunks"][0]["metrics"];
    // One row: ROC AUC undefined, accuracy 1, the estimate still there.
    assert!(m[0]["realized"].is_null() && m[0]["estimated"].is_f64());
    assert_eq!(m[1]["realized"], 1.0);

    // Regression: realized only, thresholds from the reference's chunks, a constant
    // prediction column is fine.
    let (rr, ra) = (dir.path().join("rr.csv"), dir.path().join("ra.csv"));
    let mut s = String::from("y,yhat,year\n");
    for i in 0..600 {
        let y = f64::from(i % 37) + 1.0;
        writeln!(s, "{y},{},2020", y + if i % 2 == 0 { 0.5 } else { -0.5 }).unwrap();
    }
    std::fs::write(&rr, &s).unwrap();
    let mut s = String::from("y,yhat,year\n");
    for i in 0..300 {
        let y = f64::from(i % 37) + 1.0;
        let year = if i < 150 { 2021 } else { 2022 };
        writeln!(s, "{y},10,{year}").unwrap();
    }
    std::fs::write(&ra, &s).unwrap();
    let out = slipway(&[
        "monitor",
        "performance",
        "--reference",
        p(&rr),
        "--analysis",
        p(&ra),
        "--target",
        "y",
        "--prediction",
        "yhat",
        "--task",
        "regression",
        "--chunk-size",
        "100",
        "--metrics",
        "mae,rmse",
        "--bootstrap",
        "0",
        "--json",
        "--fail-on-alert",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["estimated"], false);
    assert!(v["chunks"][0]["metrics"][0]["realized"].as_f64().unwrap() > 5.0);
    assert_eq!(v["chunks"][0]["metrics"][0]["realized_alert"], true);
    assert!(
        (v["reference_chunks"][0]["metrics"][0]["realized"]
            .as_f64()
            .unwrap()
            - 0.5)
            .abs()
            < 1e-12
    );

    // Chunks by the values of a column.
    let out = slipway(&[
        "monitor",
        "performance",
        "--reference",
        p(&rr),
        "--analysis",
        p(&ra),
        "--target",
        "y",
        "--prediction",
        "yhat",
        "--task",
        "regression",
        "--chunk-by",
        "year",
        "--bootstrap",
        "0",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let labels: Vec<&str> = v["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["2021", "2022"]);
}

#[test]
fn performance_estimates_regression_with_dle() {
    let fixtures = repo().join("crates/slipway-monitor/tests/reference");
    let (r, a) = (
        fixtures.join("car_price_reference.parquet"),
        fixtures.join("car_price_analysis.parquet"),
    );
    let base = |features: &'static str| -> Vec<String> {
        [
            "monitor",
            "performance",
            "--reference",
            p(&r),
            "--analysis",
            p(&a),
            "--target",
            "y_true",
            "--prediction",
            "y_pred",
            "--task",
            "regression",
            "--features",
            features,
        ]
        .map(String::from)
        .to_vec()
    };
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("dle.html");
    let mut args = base("car_age,km_driven,price_new,accident_count,door_count,fuel,transmission");
    for x in [
        "--chunk-size",
        "5000",
        "--metrics",
        "mae,rmse",
        "--bootstrap",
        "0",
        "--output",
        p(&html),
        "--json",
    ] {
        args.push(x.into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = slipway(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["estimator"], "dle");
    let m = &v["chunks"][0]["metrics"][0];
    assert_eq!(m["metric"], "mae");
    assert!(
        (m["estimated"].as_f64().unwrap() - 848.91).abs() < 0.01,
        "{m}"
    );
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("estimated (DLE)")
    );

    // A feature the files lack.
    let args = base("car_age,colour");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = slipway(&args);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));
}

/// Outputs with a protected column `group`: chunk-sized blocks, each either fair (both
/// groups selected at the score's rate) or unfair (group "b" never selected).
fn write_group_outputs(path: &Path, blocks: &[bool], block: usize, labelled: bool) {
    let mut s = String::from(if labelled {
        "id,score,pred,y,group\n"
    } else {
        "id,score,pred,group\n"
    });
    let mut state = 99u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1_000_000) as f64 / 1_000_000.0
    };
    let mut id = 0;
    for &fair in blocks {
        for i in 0..block {
            let group = if i % 2 == 0 { "a" } else { "b" };
            let score = next();
            let y = u8::from(next() < score);
            let pred = u8::from(score >= 0.5 && (fair || group == "a"));
            id += 1;
            if labelled {
                writeln!(s, "row-{id},{score},{pred},{y},{group}").unwrap();
            } else {
                writeln!(s, "row-{id},{score},{pred},{group}").unwrap();
            }
        }
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn performance_tracks_fairness_per_chunk_and_alerts_on_broken_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let (r, a) = (dir.path().join("ref.csv"), dir.path().join("ana.csv"));
    write_group_outputs(&r, &[true, true], 400, true);
    write_group_outputs(&a, &[true, false], 400, true);
    let html = dir.path().join("perf.html");
    let mut args = perf_args(p(&r), p(&a));
    args.extend([
        "--chunk-size",
        "400",
        "--protected",
        "group",
        "--output",
        p(&html),
        "--json",
    ]);
    let out = slipway(&args);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("Fairness over time")
            && page.contains("demographic parity difference per analysis chunk"),
        "no fairness section"
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json_of(&out);
    let f = &v["fairness"];
    let chunks = f["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[0]["attributes"][0]["alert"], false, "{}", chunks[0]);
    assert_eq!(chunks[1]["attributes"][0]["alert"], true, "{}", chunks[1]);
    assert_eq!(f["alerts"], 1);

    // Chunk 1's figure equals `slipway fairness` on the same rows.
    let text_a = std::fs::read_to_string(&a).unwrap();
    let mut second = String::from("label,prediction,score,group\n");
    for line in text_a.lines().skip(401) {
        let c: Vec<&str> = line.split(',').collect();
        writeln!(second, "{},{},{},{}", c[3], c[2], c[1], c[4]).unwrap();
    }
    let chunk_file = dir.path().join("chunk1.csv");
    std::fs::write(&chunk_file, second).unwrap();
    let o = slipway(&[
        "--json",
        "fairness",
        "--predictions",
        p(&chunk_file),
        "--protected",
        "group",
        "--bootstrap",
        "0",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let fair = json_of(&o);
    assert_eq!(
        fair["attributes"][0]["summary"]["demographic_parity_difference"]["value"],
        chunks[1]["attributes"][0]["summary"]["demographic_parity_difference"]["value"]
    );

    // Text output names the alert; --fail-on-alert exits 3.
    let plain = slipway(&args[..args.len() - 1]);
    let s = String::from_utf8_lossy(&plain.stdout);
    assert!(s.contains("fairness: by group per chunk"), "{s}");
    assert!(s.contains("chunk 1 · rows 400–799 · group  ALERT"), "{s}");
    let mut failing = args[..args.len() - 1].to_vec();
    failing.push("--fail-on-alert");
    assert_eq!(slipway(&failing).status.code(), Some(3));

    // Fewer labelled rows per group than --min-group-size: flagged, not alarmed on.
    let mut small = args.clone();
    small.extend(["--min-group-size", "500"]);
    let v = json_of(&slipway(&small));
    let c1 = &v["fairness"]["chunks"][1]["attributes"][0];
    assert_eq!(c1["alert"], false, "{c1}");
    assert_eq!(c1["flagged"], true, "{c1}");

    // An unknown protected column is bad input naming it.
    let mut bad = perf_args(p(&r), p(&a));
    bad.extend(["--protected", "gender"]);
    let o = slipway(&bad);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("protected column \"gender\""), "{err}");
}

/// River's Phishing stream as JSON lines (`target` renamed `is_phishing`, booleans as
/// booleans), with `bad` replacing line 7's `long_url` by a string when set.
fn phishing_jsonl(path: &Path, bad: bool) {
    let csv = std::fs::read_to_string(
        repo().join("crates/slipway-monitor/tests/reference/online_phishing.csv"),
    )
    .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut out = String::new();
    for (i, line) in lines.enumerate() {
        let mut obj = serde_json::Map::new();
        for (h, v) in header.iter().zip(line.split(',')) {
            let value = match (*h, v) {
                ("target", v) => Value::Bool(v == "true"),
                ("long_url", _) if bad && i == 6 => Value::String("yes".into()),
                (_, v) => serde_json::json!(v.parse::<f64>().unwrap()),
            };
            let key = if *h == "target" { "is_phishing" } else { h };
            obj.insert(key.to_string(), value);
        }
        writeln!(out, "{}", Value::Object(obj)).unwrap();
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn online_learns_a_stream_and_names_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("phishing.jsonl");
    phishing_jsonl(&good, false);
    let o = slipway(&[
        "--json",
        "online",
        "--model",
        "hoeffding_tree",
        "--input",
        p(&good),
        "--target",
        "is_phishing",
        "--detector",
        "adwin",
        "--every",
        "500",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let s = json_of(&o);
    assert_eq!(s["rows"], 1250);
    // The same progressive predictions as River's Hoeffding tree: 1,099 of 1,250 right.
    assert!(
        (s["accuracy"].as_f64().unwrap() - 1099.0 / 1250.0).abs() < 1e-12,
        "{s}"
    );
    assert_eq!(s["features"].as_array().unwrap().len(), 9);
    assert_eq!(s["checkpoints"].as_array().unwrap().len(), 2, "{s}");

    let bad = dir.path().join("bad.jsonl");
    phishing_jsonl(&bad, true);
    let o = slipway(&[
        "online",
        "--model",
        "logistic",
        "--input",
        p(&bad),
        "--target",
        "is_phishing",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("line 7: field \"long_url\": \"yes\" is not a number"),
        "{}",
        text(&o)
    );
    // From stdin, skipping and counting the bad line.
    let o = Command::new(env!("CARGO_BIN_EXE_slipway"))
        .args([
            "--json",
            "online",
            "--model",
            "logistic",
            "--input",
            "-",
            "--target",
            "is_phishing",
            "--skip-bad",
            "--every",
            "0",
        ])
        .env("NO_COLOR", "1")
        .stdin(std::fs::File::open(&bad).unwrap())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let s = json_of(&o);
    assert_eq!(s["rows"], 1249);
    assert_eq!(s["skipped"], 1);
}

#[test]
fn multivariate_drift_and_calibrated_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path().join("ref.csv");
    let c = dir.path().join("cur.csv");
    write_data(&r, 1200, 0.0, false, 21);
    write_data(&c, 900, 3.0, true, 22);
    let out = dir.path().join("drift.html");
    let o = slipway(&[
        "--json",
        "monitor",
        "drift",
        "--reference",
        p(&r),
        "--current",
        p(&c),
        "--columns",
        "x,color,sparse",
        "--chunk-size",
        "300",
        "--multivariate",
        "pca,domain",
        "--calibrate",
        "3",
        "--output",
        p(&out),
        "--fail-on-drift",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let v = json_of(&o);
    let mv = v["multivariate"].as_array().unwrap();
    assert_eq!(mv.len(), 2);
    for m in mv {
        // Four reference chunks and three current ones, every one with a value.
        assert_eq!(m["reference_chunks"].as_array().unwrap().len(), 4);
        let chunks = m["chunks"].as_array().unwrap();
        assert_eq!(chunks.len(), 3);
        assert!(chunks.iter().all(|c| c["value"].is_f64()), "{m}");
        // x moved by 3 (of a range of 10) and a fifth of color is new: both see it.
        assert_eq!(m["drifted"], true, "{m}");
    }
    let auc = mv[1]["chunks"][0]["value"].as_f64().unwrap();
    assert!(auc > 0.65, "domain classifier AUC {auc}");
    let cal = &v["calibration"];
    assert_eq!(cal["k"], 3.0);
    assert!(!cal["bounds"].as_array().unwrap().is_empty());
    // The calibrated bound is the threshold the statistic was judged by.
    let bound = cal["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["column"] == "x" && b["stat"] == "psi")
        .unwrap()["upper"]
        .as_f64()
        .unwrap();
    let psi = stat(feature(&v["chunks"][0], "x"), "psi");
    assert_eq!(psi["threshold"].as_f64().unwrap(), bound);
    // The report and its twin carry them.
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("PCA reconstruction error") && html.contains("Calibrated thresholds"));
    let twin: Value =
        serde_json::from_str(&std::fs::read_to_string(out.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(twin["multivariate"].as_array().unwrap().len(), 2);
    // `monitor report` shows the twin's multivariate sections.
    let combined = dir.path().join("combined.html");
    let o = slipway(&[
        "--json",
        "monitor",
        "report",
        "--drift",
        p(&out.with_extension("json")),
        "--output",
        p(&combined),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        json_of(&o)["multivariate"],
        serde_json::json!(["pca", "domain"])
    );
    let html = std::fs::read_to_string(&combined).unwrap();
    assert!(html.contains("Multivariate drift: domain classifier"));
    assert!(html.contains("Multivariate drift (multivariate.domain.auc): 3 of 3 chunks"));

    // Alert rules on the multivariate values: checked before the run, evaluated per chunk.
    let rules = dir.path().join("rules.yaml");
    std::fs::write(
        &rules,
        "channels:\n  s: { type: slack, url_env: SLIPWAY_TEST_UNSET_URL }\nrules:\n  - { name: auc, metric: multivariate.domain.auc, above: 0.65, window: 3, severity: error, channels: [s] }\n  - { name: pca, metric: multivariate.pca.alert, severity: info, channels: [s] }\n",
    )
    .unwrap();
    let with_rules = |methods: &str| {
        slipway(&[
            "--json",
            "monitor",
            "drift",
            "--reference",
            p(&r),
            "--current",
            p(&c),
            "--columns",
            "x,color,sparse",
            "--chunk-size",
            "300",
            "--multivariate",
            methods,
            "--alerts",
            p(&rules),
        ])
    };
    let o = with_rules("pca");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        json_of(&o)["error"].as_str().unwrap().contains("rule \"auc\": field \"metric\": multivariate.domain.auc needs the domain multivariate run, and this run computes pca"),
        "{}",
        text(&o)
    );
    // Both fire; the channel's URL is not set, so the delivery fails: exit 5.
    let o = with_rules("pca,domain");
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    let v = json_of(&o);
    let results = v["alerts"]["results"].as_array().unwrap();
    let auc = results.iter().find(|r| r["rule"] == "auc").unwrap();
    assert_eq!(auc["action"], "fired", "{auc}");
    assert_eq!(auc["subject"], "all");
    assert_eq!(auc["metric"], "multivariate.domain.auc");
    assert_eq!(
        (auc["breaches"].as_u64(), auc["window"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(auc["value"], v["multivariate"][1]["chunks"][2]["value"]);
    let pca = results.iter().find(|r| r["rule"] == "pca").unwrap();
    assert_eq!(pca["action"], "fired", "{pca}");

    // Bad input: exit 2 naming the rule.
    let run = |extra: &[&str]| {
        let mut args = vec!["monitor", "drift", "--current", p(&c)];
        args.extend(extra);
        slipway(&args)
    };
    let o = run(&["--reference", p(&r), "--multivariate", "pcaa"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("pcaa"));
    // One reference chunk cannot calibrate anything.
    let o = run(&["--reference", p(&r), "--calibrate", "3"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("at least 2 reference chunks"));
    let o = run(&[
        "--reference",
        p(&r),
        "--chunk-size",
        "300",
        "--calibrate",
        "-1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // A saved summary has no rows to fit on.
    let summary = dir.path().join("ref.summary.json");
    let o = run(&["--reference", p(&r), "--save-summary", p(&summary)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&["--reference-summary", p(&summary), "--multivariate", "pca"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--reference FILE"));
}

#[test]
fn monitor_report_puts_drift_and_the_alert_timeline_on_one_page() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = (dir.path().join("ref.csv"), dir.path().join("cur.csv"));
    write_data(&r, 2000, 0.0, false, 1);
    write_data(&c, 2000, 3.0, true, 2);
    let drift_html = dir.path().join("drift.html");
    let o = slipway(&[
        "monitor",
        "drift",
        "--reference",
        p(&r),
        "--current",
        p(&c),
        "--chunk-size",
        "1000",
        "--output",
        p(&drift_html),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let log = dir.path().join("deliveries.jsonl");
    std::fs::write(
        &log,
        "{\"time\":\"2026-03-02T10:00:00Z\",\"rule\":\"x-psi\",\"subject\":\"x\",\"dedup_key\":\"m/x-psi/x\",\"action\":\"trigger\",\"channel\":\"hook\",\"attempt\":2,\"status\":\"delivered\",\"code\":200,\"error\":null}\n\
         {\"time\":\"2026-03-02T09:59:59Z\",\"rule\":\"x-psi\",\"subject\":\"x\",\"dedup_key\":\"m/x-psi/x\",\"action\":\"trigger\",\"channel\":\"hook\",\"attempt\":1,\"status\":\"retrying\",\"code\":503,\"error\":\"HTTP 503\"}\n",
    )
    .unwrap();
    let out = dir.path().join("monitoring.html");
    let o = slipway(&[
        "--json",
        "monitor",
        "report",
        "--drift",
        p(&drift_html.with_extension("json")),
        "--alert-log",
        p(&log),
        "--output",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let v = json_of(&o);
    assert_eq!(v["drift"], true);
    assert_eq!(v["alert_attempts"], 2);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("Drift: Reference vs current"), "histograms");
    assert!(html.contains("Alert timeline"));
    assert!(html.contains("HTTP 503"));
    // Summaries only: no row of the current file is on the page.
    let first_row = std::fs::read_to_string(&c).unwrap();
    let row = first_row.lines().nth(1).unwrap();
    assert!(!html.contains(row));
    let twin: Value =
        serde_json::from_slice(&std::fs::read(out.with_extension("json")).unwrap()).unwrap();
    assert_eq!(twin["drift"]["current_rows"], 2000);
    assert_eq!(twin["alerts"][0]["status"], "retrying", "oldest first");

    // A bad log line is named; no input at all is refused.
    std::fs::write(&log, "{\"time\":\"t\"}\n").unwrap();
    let o = slipway(&[
        "monitor",
        "report",
        "--alert-log",
        p(&log),
        "--output",
        p(&out),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("line 1"), "{}", text(&o));
    let o = slipway(&["monitor", "report", "--output", p(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = slipway(&["monitor", "report", "--drift", p(&log), "--output", p(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("not a drift report's JSON"),
        "{}",
        text(&o)
    );
}
