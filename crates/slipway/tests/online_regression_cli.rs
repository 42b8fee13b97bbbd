//! `slipway online --model hoeffding_tree_regressor | arf_regressor` end to end, with the
//! real binary on River's TrumpApproval stream as JSON lines.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

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

/// TrumpApproval as JSON lines (`target` renamed `approval`); `bad` makes line 5's target a
/// string.
fn trump_jsonl(path: &Path, bad: bool) {
    let csv = std::fs::read_to_string(
        repo().join("crates/slipway-monitor/tests/reference/online_trump_approval.csv"),
    )
    .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut out = String::new();
    for (i, line) in lines.enumerate() {
        let mut obj = serde_json::Map::new();
        for (h, v) in header.iter().zip(line.split(',')) {
            let value = match *h {
                "target" if bad && i == 4 => Value::String("high".into()),
                _ => serde_json::json!(v.parse::<f64>().unwrap()),
            };
            let key = if *h == "target" { "approval" } else { h };
            obj.insert(key.to_string(), value);
        }
        writeln!(out, "{}", Value::Object(obj)).unwrap();
    }
    std::fs::write(path, out).unwrap();
}

fn reference() -> Value {
    let path = repo().join("crates/slipway-monitor/tests/reference/online_regressors.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn online_regressors_report_progressive_mae_rmse_r2_and_name_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("trump.jsonl");
    trump_jsonl(&good, false);
    let input = good.to_str().unwrap();
    let o = slipway(&[
        "--json",
        "online",
        "--model",
        "hoeffding_tree_regressor",
        "--input",
        input,
        "--target",
        "approval",
        "--every",
        "400",
        "--detector",
        "page_hinkley",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["rows"], 1001, "{s}");
    assert_eq!(s["model"], "hoeffding_tree_regressor");
    assert_eq!(s["detector"], "page_hinkley");
    assert_eq!(s["checkpoints"].as_array().unwrap().len(), 2, "{s}");
    // River's StandardScaler | HoeffdingTreeRegressor on the same stream.
    let want = &reference()["streams"]["trump_approval"]["htr_scaled"];
    for key in ["mae", "rmse", "r2"] {
        let (a, b) = (s[key].as_f64().unwrap(), want[key].as_f64().unwrap());
        assert!(
            (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
            "{key}: {a} vs River {b}"
        );
    }

    // Text output of the forest: periodic lines and the summary.
    let o = slipway(&[
        "online",
        "--model",
        "arf_regressor",
        "--input",
        input,
        "--target",
        "approval",
        "--every",
        "500",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("rows       500  MAE "), "{out}");
    assert!(out.contains("✓ 1001 rows, progressive MAE "), "{out}");
    assert!(out.contains("forest: "), "{out}");

    // A string target stops the run with exit 2 naming the line and field.
    let bad = dir.path().join("bad.jsonl");
    trump_jsonl(&bad, true);
    let o = slipway(&[
        "online",
        "--model",
        "arf_regressor",
        "--input",
        bad.to_str().unwrap(),
        "--target",
        "approval",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("line 5: field \"approval\": a regressor's target must be a number"),
        "{}",
        text(&o)
    );
    // DDM needs 0/1 errors: refused with exit 2.
    let o = slipway(&[
        "online",
        "--model",
        "hoeffding_tree_regressor",
        "--input",
        input,
        "--target",
        "approval",
        "--detector",
        "ddm",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--detector ddm"), "{}", text(&o));
}
