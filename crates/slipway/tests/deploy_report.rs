//! `slipway deploy report` end to end, with the real binary on messy exposure files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

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

/// Exposures: arm A/B (B with probability `share_b`), `converted` 0/1 at `rate_a` /
/// `rate_b` with every 7th value missing (feedback not arrived), `revenue` numeric, `pre`
/// a covariate (every 11th missing), `country` with a missing value and a 300-character
/// label. Returns the file and the per-arm (exposures, known outcomes, conversions).
fn write_exposures(
    dir: &Path,
    rows: usize,
    share_b: f64,
    rate_a: f64,
    rate_b: f64,
    seed: u64,
) -> (PathBuf, [(u64, u64, u64); 2]) {
    let mut state = seed;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 1_000_000) as f64 / 1_000_000.0
    };
    let long = "c".repeat(300);
    let mut s = String::from("user,arm,converted,revenue,pre,country\n");
    let mut stats = [(0, 0, 0); 2];
    for i in 0..rows {
        let b = next() < share_b;
        let arm = usize::from(b);
        let conv = next() < if b { rate_b } else { rate_a };
        let pre = 20.0 + 10.0 * next();
        let revenue = pre + if b { 1.0 } else { 0.0 } + next();
        stats[arm].0 += 1;
        let converted = if i % 7 == 3 {
            String::new()
        } else {
            stats[arm].1 += 1;
            stats[arm].2 += u64::from(conv);
            u8::from(conv).to_string()
        };
        let pre = if i % 11 == 5 {
            "NA".to_string()
        } else {
            format!("{pre:.3}")
        };
        let country = match i % 5 {
            0 => "",
            1 => long.as_str(),
            2 | 3 => "US",
            _ => "FR",
        };
        s.push_str(&format!(
            "u{i},{},{converted},{revenue:.3},{pre},{country}\n",
            if b { "B" } else { "A" }
        ));
    }
    let path = dir.join(format!("exposures-{seed}.csv"));
    std::fs::write(&path, s).unwrap();
    (path, stats)
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}\n{}", text(o)))
}

#[test]
fn conversion_readout_text_json_and_html() {
    let dir = tempfile::tempdir().unwrap();
    let (file, stats) = write_exposures(dir.path(), 20_000, 0.5, 0.10, 0.14, 1);
    let html = dir.path().join("ab.html");
    let o = slipway(&[
        "deploy",
        "report",
        "--exposures",
        p(&file),
        "--segment-column",
        "country",
        "--output",
        p(&html),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("recommendation: ship B"), "{out}");
    assert!(out.contains("without outcome"), "{out}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("ship B") && page.contains("Sample ratio"));
    assert!(!page.contains("<script"));
    let twin: Value =
        serde_json::from_str(&std::fs::read_to_string(html.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(twin["recommendation"], "ship B");

    let o = slipway(&[
        "--json",
        "deploy",
        "report",
        "--exposures",
        p(&file),
        "--segment-column",
        "country",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j = json_of(&o);
    assert_eq!(j["outcome_kind"], "conversion");
    for (i, (exposures, known, conversions)) in stats.iter().enumerate() {
        let arm = &j["arms"][i];
        assert_eq!(arm["exposures"], *exposures);
        assert_eq!(arm["with_outcome"], *known);
        assert_eq!(arm["missing_outcome"], exposures - known);
        let rate = *conversions as f64 / *known as f64;
        assert!((arm["mean"].as_f64().unwrap() - rate).abs() < 1e-12);
    }
    let c = &j["conversion"];
    assert_eq!(c["a"][0], stats[0].2);
    assert_eq!(c["b"][1], stats[1].1);
    // Segments: the missing country is its own segment; the long label survives whole.
    let segs: Vec<&str> = j["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["segment"].as_str().unwrap())
        .collect();
    assert_eq!(segs.len(), 4, "{segs:?}");
    assert!(segs.contains(&"(missing)") && segs.iter().any(|s| s.len() == 300));
    assert_eq!(j["srm"]["alarm"], false);
}

#[test]
fn numeric_outcome_with_covariate_uses_welch_and_cuped() {
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = write_exposures(dir.path(), 3_000, 0.5, 0.1, 0.1, 2);
    let o = slipway(&[
        "--json",
        "deploy",
        "report",
        "--exposures",
        p(&file),
        "--outcome-column",
        "revenue",
        "--covariate-column",
        "pre",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j = json_of(&o);
    assert_eq!(j["outcome_kind"], "numeric");
    assert!(j["conversion"].is_null() && j["welch"].is_object());
    assert!(j["cuped"]["variance_reduction"].as_f64().unwrap() > 0.5);
    assert_eq!(j["covariate_missing"], 3_000 / 11 + 1);
    // B adds 1.0 on top of the covariate: CUPED's interval is tight around it.
    let ci = &j["cuped"]["test"]["ci"];
    assert!(
        ci[0].as_f64().unwrap() > 0.8 && ci[1].as_f64().unwrap() < 1.2,
        "{ci}"
    );
    assert_eq!(j["recommendation"], "ship B");
}

#[test]
fn a_broken_split_stops_the_experiment() {
    let dir = tempfile::tempdir().unwrap();
    let (file, _) = write_exposures(dir.path(), 10_000, 0.46, 0.1, 0.1, 3);
    let o = slipway(&["deploy", "report", "--exposures", p(&file)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("MISMATCH") && out.contains("stop: sample ratio mismatch"),
        "{out}"
    );
    // The same counts are fine when B was meant to get 46 %.
    let o = slipway(&[
        "--json",
        "deploy",
        "report",
        "--exposures",
        p(&file),
        "--split",
        "46",
    ]);
    assert_eq!(json_of(&o)["srm"]["alarm"], false, "{}", text(&o));
}

fn expect_user_error(args: &[&str], wants: &[&str]) {
    let o = slipway(args);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for w in wants {
        assert!(err.contains(w), "want {w:?} in {err}");
    }
}

#[test]
fn bad_input_is_a_clear_error_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (file, _) = write_exposures(d, 200, 0.5, 0.1, 0.1, 4);
    let f = p(&file);
    expect_user_error(
        &[
            "deploy",
            "report",
            "--exposures",
            f,
            "--outcome-column",
            "convertd",
        ],
        &["outcome column \"convertd\"", "did you mean \"converted\""],
    );
    expect_user_error(
        &[
            "deploy",
            "report",
            "--exposures",
            f,
            "--segment-column",
            "region",
        ],
        &["segment column \"region\" is not in"],
    );
    // A third arm at data row 3.
    let third = d.join("third.csv");
    std::fs::write(&third, "arm,converted\nA,1\nB,0\nC,1\nA,0\n").unwrap();
    expect_user_error(
        &["deploy", "report", "--exposures", p(&third)],
        &["arm column \"arm\"", "\"C\" at row 3", "exactly two arms"],
    );
    // A missing arm.
    let no_arm = d.join("no_arm.csv");
    std::fs::write(&no_arm, "arm,converted\nA,1\n,0\nB,1\n").unwrap();
    expect_user_error(
        &["deploy", "report", "--exposures", p(&no_arm)],
        &["row 2 has no arm"],
    );
    // A non-numeric outcome at data row 2.
    let words = d.join("words.csv");
    std::fs::write(&words, "arm,converted\nA,1\nB,yes please\nA,0\nB,1\n").unwrap();
    expect_user_error(
        &["deploy", "report", "--exposures", p(&words)],
        &[
            "outcome column \"converted\"",
            "\"yes please\" at row 2",
            "not a number",
        ],
    );
    // An arm with no rows.
    let only_a = d.join("only_a.csv");
    std::fs::write(&only_a, "arm,converted\nA,1\nA,0\n").unwrap();
    expect_user_error(
        &["deploy", "report", "--exposures", p(&only_a)],
        &["arm B has no rows"],
    );
    // An empty file and a header-only file.
    let empty = d.join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let o = slipway(&["deploy", "report", "--exposures", p(&empty)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let header = d.join("header.csv");
    std::fs::write(&header, "arm,converted\n").unwrap();
    let o = slipway(&["deploy", "report", "--exposures", p(&header)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // Options out of range.
    expect_user_error(
        &["deploy", "report", "--exposures", f, "--split", "100"],
        &["split 100"],
    );
    expect_user_error(
        &["deploy", "report", "--exposures", f, "--alpha", "1.5"],
        &["alpha 1.5"],
    );
    // --json errors are JSON too.
    let o = slipway(&["--json", "deploy", "report", "--exposures", p(&only_a)]);
    assert_eq!(o.status.code(), Some(2));
    assert!(json_of(&o)["error"].as_str().unwrap().contains("arm B"));
}

#[test]
fn parquet_gives_the_same_readout_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, _) = write_exposures(dir.path(), 5_000, 0.5, 0.10, 0.12, 5);
    let table =
        slipway_data::ingest::read_table(&csv, &slipway_data::ingest::ReadOptions::default())
            .unwrap();
    let parquet = dir.path().join("exposures.parquet");
    slipway_data::ingest::write_table(&table, &parquet).unwrap();
    let args = |f: &Path| -> Value {
        let o = slipway(&[
            "--json",
            "deploy",
            "report",
            "--exposures",
            p(f),
            "--covariate-column",
            "pre",
            "--segment-column",
            "country",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        json_of(&o)
    };
    assert_eq!(args(&csv), args(&parquet));
    // An --output in a folder that does not exist: exit 2 naming it, no partial file.
    let o = slipway(&[
        "deploy",
        "report",
        "--exposures",
        p(&csv),
        "--output",
        p(&dir.path().join("nope/ab.html")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot write"));
}

#[test]
fn a_single_row_per_arm_keeps_collecting() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("two.csv");
    std::fs::write(&f, "arm,converted\nA,false\nB,true\n").unwrap();
    let o = slipway(&["--json", "deploy", "report", "--exposures", p(&f)]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j = json_of(&o);
    assert_eq!(j["recommendation"], "keep collecting");
    assert_eq!(j["outcome_kind"], "conversion");
}
