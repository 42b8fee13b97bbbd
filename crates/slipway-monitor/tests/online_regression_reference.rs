//! Online regression against River 0.26: `tests/reference/make_online_regressors.py` wrote
//! `online_regressors.json` (library version inside) and the two stream CSVs
//! (`online_trump_approval.csv`, `online_chick_weights.csv`); this file replays them. It also
//! holds River's ARF classifier accuracy on Phishing over five seeds.

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use slipway_monitor::online::forest::AdaptiveRandomForest;
use slipway_monitor::online::forest_regressor::{Aggregation, ArfRegressor};
use slipway_monitor::online::linear::StandardScaler;
use slipway_monitor::online::regress::{RegressionOptions, RegressorKind, learn_regression_stream};
use slipway_monitor::online::stream::DetectorKind;
use slipway_monitor::online::tree::ClassOrder;
use slipway_monitor::online::tree_regressor::{HoeffdingTreeRegressor, RegressorParams};

fn reference() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/online_regressors.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// A stream CSV: numeric features, the target last.
fn stream(name: &str) -> (Vec<String>, Vec<Vec<f64>>, Vec<f64>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(format!("online_{name}.csv"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for line in lines {
        let v: Vec<f64> = line.split(',').map(|f| f.parse().unwrap()).collect();
        let (y, x) = v.split_last().unwrap();
        xs.push(x.to_vec());
        ys.push(*y);
    }
    (header[..header.len() - 1].to_vec(), xs, ys)
}

fn mae(ys: &[f64], preds: &[f64]) -> f64 {
    ys.iter()
        .zip(preds)
        .map(|(y, p)| (y - p).abs())
        .sum::<f64>()
        / ys.len() as f64
}

/// Test-then-train predictions of a Hoeffding tree regressor, behind a scaler if asked.
fn tree_predictions(xs: &[Vec<f64>], ys: &[f64], scaled: bool) -> (Vec<f64>, usize) {
    let n = xs[0].len();
    let mut tree = HoeffdingTreeRegressor::new(n, RegressorParams::default());
    let mut scaler = StandardScaler::new(n);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut z = Vec::new();
    let mut preds = Vec::new();
    for (x, &y) in xs.iter().zip(ys) {
        if scaled {
            scaler.transform_into(x, &mut z);
        } else {
            z.clone_from(x);
        }
        preds.push(tree.predict(&z));
        if scaled {
            scaler.learn_one(x);
            scaler.transform_into(x, &mut z);
        }
        tree.learn_one(&z, y, 1.0, &mut rng);
    }
    (preds, tree.n_leaves())
}

#[test]
fn hoeffding_tree_regressor_predictions_equal_river() {
    let r = reference();
    for name in ["trump_approval", "chick_weights"] {
        let (_, xs, ys) = stream(name);
        for (variant, scaled) in [("htr_raw", false), ("htr_scaled", true)] {
            let want = &r["streams"][name][variant];
            let river = floats(&want["predictions"]);
            let (ours, leaves) = tree_predictions(&xs, &ys, scaled);
            // Deterministic learner, same algorithm: the same predictions, up to the order
            // of floating-point sums in the linear leaves.
            for (i, (a, b)) in ours.iter().zip(&river).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                    "{name} {variant} row {i}: {a} vs River {b}"
                );
            }
            let (m, want_mae) = (mae(&ys, &ours), want["mae"].as_f64().unwrap());
            assert!(
                (m - want_mae).abs() <= 0.01 * want_mae,
                "{name} {variant}: MAE {m} vs River {want_mae}"
            );
            assert_eq!(
                leaves as u64,
                want["leaves"].as_u64().unwrap(),
                "{name} {variant}"
            );
        }
    }
}

/// Progressive MAE of the ARF regressor (behind a scaler) for one seed.
fn arf_mae(xs: &[Vec<f64>], ys: &[f64], aggregation: Aggregation, seed: u64) -> f64 {
    let n = xs[0].len();
    let mut forest = ArfRegressor::new(n, 10, aggregation, seed);
    let mut scaler = StandardScaler::new(n);
    let mut z = Vec::new();
    let mut abs = 0.0;
    for (x, &y) in xs.iter().zip(ys) {
        scaler.transform_into(x, &mut z);
        abs += (y - forest.predict(&z)).abs();
        scaler.learn_one(x);
        scaler.transform_into(x, &mut z);
        forest.learn_one(&z, y);
    }
    abs / ys.len() as f64
}

#[test]
fn arf_regressor_mae_within_one_percent_of_river() {
    let r = reference();
    for name in ["trump_approval", "chick_weights"] {
        let (_, xs, ys) = stream(name);
        for (key, aggregation) in [
            ("arf_scaled_median", Aggregation::Median),
            ("arf_scaled_mean", Aggregation::Mean),
        ] {
            let river: Vec<f64> = r["streams"][name][key]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["mae"].as_f64().unwrap())
                .collect();
            let river_mean = river.iter().sum::<f64>() / river.len() as f64;
            // The generators differ (River: Python's `random`), so compare means over seeds.
            let ours: Vec<f64> = (1..=SEEDS)
                .map(|s| arf_mae(&xs, &ys, aggregation, s))
                .collect();
            let ours_mean = ours.iter().sum::<f64>() / ours.len() as f64;
            // Seeds move River's MAE a lot on TrumpApproval (0.67 to 0.83): the tolerance is
            // 1 %, or two standard errors of the difference of the two means if larger.
            let se = |v: &[f64], m: f64| {
                v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / ((v.len() - 1) * v.len()) as f64
            };
            let noise = 2.0 * (se(&ours, ours_mean) + se(&river, river_mean)).sqrt();
            let tolerance = (0.01 * river_mean).max(noise);
            eprintln!(
                "{name} {key}: ours {ours_mean:.5} {ours:?} River {river_mean:.5} {river:?} gap {:.2} % tolerance {:.2} %",
                100.0 * (ours_mean - river_mean) / river_mean,
                100.0 * tolerance / river_mean
            );
            assert!(
                (ours_mean - river_mean).abs() <= tolerance,
                "{name} {key}: MAE {ours_mean} {ours:?} vs River {river_mean} {river:?}"
            );
        }
    }
}

const SEEDS: u64 = 5;

#[test]
fn arf_classifier_accuracy_on_phishing_within_one_percent_of_river_over_five_seeds() {
    let r = reference();
    let river = floats(&r["arf_classifier_phishing_accuracy_seeds_1_to_5"]);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/online_phishing.csv");
    let text = std::fs::read_to_string(path).unwrap();
    let rows: Vec<(Vec<f64>, bool)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let (y, x) = f.split_last().unwrap();
            (x.iter().map(|v| v.parse().unwrap()).collect(), *y == "true")
        })
        .collect();
    let order = ClassOrder { rank: vec![0, 1] };
    let mut ours = Vec::new();
    for seed in 1..=SEEDS {
        let mut arf = AdaptiveRandomForest::new(rows[0].0.len(), 10, seed);
        let mut proba = vec![0.0; 2];
        let mut correct = 0u64;
        for (x, y) in &rows {
            let pred = arf.predict(x, &order, &mut proba);
            correct += u64::from(pred == Some(u32::from(*y)));
            arf.learn_one(x, u32::from(*y), &order, 2);
        }
        ours.push(correct as f64 / rows.len() as f64);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    eprintln!(
        "phishing ARF: ours {} {ours:?} River {} {river:?}",
        mean(&ours),
        mean(&river)
    );
    assert!(
        (mean(&ours) - mean(&river)).abs() <= 0.01,
        "ARF Phishing accuracy {ours:?} vs River {river:?}"
    );
}

fn jsonl(name: &str) -> String {
    let (features, xs, ys) = stream(name);
    let mut out = String::new();
    for (x, y) in xs.iter().zip(&ys) {
        let mut obj = serde_json::Map::new();
        for (f, v) in features.iter().zip(x) {
            obj.insert(f.clone(), serde_json::json!(v));
        }
        obj.insert("approval".into(), serde_json::json!(y));
        out.push_str(&serde_json::to_string(&obj).unwrap());
        out.push('\n');
    }
    out
}

fn options(model: RegressorKind) -> RegressionOptions {
    RegressionOptions {
        model,
        target: "approval".into(),
        detector: None,
        every: 250,
        skip_bad: false,
        seed: 42,
    }
}

#[test]
fn regression_stream_scores_like_river_and_watches_absolute_errors() {
    let r = reference();
    let text = jsonl("trump_approval");
    let mut seen = Vec::new();
    let s = learn_regression_stream(
        text.as_bytes(),
        &options(RegressorKind::HoeffdingTreeRegressor),
        |c| seen.push(c.rows),
    )
    .unwrap();
    let want = &r["streams"]["trump_approval"]["htr_scaled"];
    assert_eq!(s.rows, 1001);
    assert_eq!(seen, [250, 500, 750, 1000]);
    for key in ["mae", "rmse", "r2"] {
        let (a, b) = (
            serde_json::to_value(&s).unwrap()[key].as_f64().unwrap(),
            want[key].as_f64().unwrap(),
        );
        assert!(
            (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
            "{key}: {a} vs River {b}"
        );
    }
    assert_eq!(s.features.len(), 6);

    // The forest is reproducible from its seed.
    let o = options(RegressorKind::ArfRegressor);
    let a = learn_regression_stream(text.as_bytes(), &o, |_| {}).unwrap();
    let b = learn_regression_stream(text.as_bytes(), &o, |_| {}).unwrap();
    assert_eq!(a.mae, b.mae);
    assert!(a.forest_events.is_some() && s.forest_events.is_none());
}

#[test]
fn adwin_on_absolute_errors_alarms_after_the_target_jumps() {
    // y = 2x for 1,500 rows, then y = 2x + 50: the absolute errors jump at row 1,501.
    let mut text = String::new();
    for i in 0..3000u32 {
        let x = f64::from(i % 97) / 97.0;
        let y = 2.0 * x + if i >= 1500 { 50.0 } else { 0.0 };
        text.push_str(&format!("{{\"x\": {x}, \"approval\": {y}}}\n"));
    }
    for model in [
        RegressorKind::HoeffdingTreeRegressor,
        RegressorKind::ArfRegressor,
    ] {
        let mut o = options(model);
        o.detector = Some(DetectorKind::Adwin);
        let s = learn_regression_stream(text.as_bytes(), &o, |_| {}).unwrap();
        // (Earlier alarms are the errors falling while the model learns.)
        let jump = s.alarms.iter().find(|a| a.row >= 1501);
        assert!(
            jump.is_some_and(|a| a.row < 1600),
            "{model:?}: alarms {:?}",
            s.alarms
                .iter()
                .map(|a| (a.row, a.recent_mae))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn bad_regression_input_names_the_line_and_field() {
    let good = "{\"a\": 1.0, \"approval\": 2.5}\n";
    for (bad, want) in [
        (
            "{\"a\": 1.0, \"approval\": \"high\"}",
            "line 2: field \"approval\": a regressor's target must be a number, found \"high\"",
        ),
        ("{\"a\": 1.0}", "line 2: no target field \"approval\""),
        (
            "{\"a\": \"x\", \"approval\": 1}",
            "line 2: field \"a\": \"x\" is not a number",
        ),
        ("[1, 2]", "line 2: expected a JSON object"),
        (
            "{\"a\": 1.0, \"b\": 2, \"approval\": 1}",
            "line 2: field \"b\" was not on the first line",
        ),
    ] {
        let text = format!("{good}{bad}\n");
        let err = learn_regression_stream(
            text.as_bytes(),
            &options(RegressorKind::HoeffdingTreeRegressor),
            |_| {},
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(want), "{bad}: {err}");
        let mut o = options(RegressorKind::ArfRegressor);
        o.skip_bad = true;
        let s = learn_regression_stream(text.as_bytes(), &o, |_| {}).unwrap();
        assert_eq!((s.rows, s.skipped), (1, 1), "{bad}");
    }
    let mut o = options(RegressorKind::HoeffdingTreeRegressor);
    o.detector = Some(DetectorKind::Ddm);
    let err = learn_regression_stream(good.as_bytes(), &o, |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("--detector ddm"), "{err}");
    let err = learn_regression_stream(
        "\n\n".as_bytes(),
        &options(RegressorKind::ArfRegressor),
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no rows"), "{err}");
}
