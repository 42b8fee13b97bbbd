//! Online learning against River 0.26: `tests/reference/make_online_detectors.py` and
//! `make_online_learners.py` wrote the JSON files (library versions inside) and the two
//! stream CSVs; this file replays the same streams.

use std::path::Path;

use serde_json::Value;
use slipway_monitor::online::detect::{
    Adwin, Ddm, DriftDetector, Kswin, PageHinkley, kswin_statistic,
};
use slipway_monitor::online::forest::AdaptiveRandomForest;
use slipway_monitor::online::linear::{LogisticRegression, StandardScaler};
use slipway_monitor::online::stream::{DetectorKind, ModelKind, OnlineOptions, learn_stream};
use slipway_monitor::online::tree::{ClassOrder, HoeffdingTree, TreeParams};

fn json(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn indices(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn alarms(d: &mut dyn DriftDetector, values: &[f64]) -> (Vec<usize>, Vec<usize>) {
    let (mut drifts, mut warnings) = (Vec::new(), Vec::new());
    for (i, &v) in values.iter().enumerate() {
        if d.update(v) {
            drifts.push(i);
        }
        if d.warning() {
            warnings.push(i);
        }
    }
    (drifts, warnings)
}

#[test]
fn adwin_alarms_equal_river() {
    let r = json("online_detectors.json");
    for (key, delta) in [("adwin", 0.002), ("adwin_delta_0.01", 0.01)] {
        for (name, expected) in r[key].as_object().unwrap() {
            let values = floats(&r["streams"][name]);
            let (got, _) = alarms(&mut Adwin::new(delta), &values);
            assert_eq!(got, indices(expected), "{key} on {name}");
        }
    }
}

#[test]
fn page_hinkley_alarms_equal_river() {
    let r = json("online_detectors.json");
    for (name, expected) in r["page_hinkley"].as_object().unwrap() {
        let values = floats(&r["streams"][name]);
        let (got, _) = alarms(&mut PageHinkley::default(), &values);
        assert_eq!(got, indices(expected), "page_hinkley on {name}");
    }
}

#[test]
fn ddm_drifts_and_warnings_equal_river() {
    let r = json("online_detectors.json");
    for (name, expected) in r["ddm"].as_object().unwrap() {
        let values = floats(&r["streams"][name]);
        let (drifts, warnings) = alarms(&mut Ddm::default(), &values);
        assert_eq!(drifts, indices(&expected["drifts"]), "ddm drifts on {name}");
        assert_eq!(
            warnings,
            indices(&expected["warnings"]),
            "ddm warnings on {name}"
        );
    }
}

#[test]
fn kswin_statistic_equals_scipy_and_detects_a_shift() {
    let r = json("online_detectors.json");
    for w in r["kswin_windows"].as_array().unwrap() {
        let (st, p) = kswin_statistic(&floats(&w["older"]), &floats(&w["recent"]));
        assert!((st - w["statistic"].as_f64().unwrap()).abs() < 1e-12);
        let want = w["p_value"].as_f64().unwrap();
        assert!(
            (p - want).abs() < 1e-9 * want.max(1e-300) + 1e-15,
            "{p} vs {want}"
        );
    }
    // Seeded: the same alarms twice; a large mean shift is found soon after it happens.
    let values = floats(&r["streams"]["gauss_shift"]);
    let (a, _) = alarms(&mut Kswin::new(3), &values);
    let (b, _) = alarms(&mut Kswin::new(3), &values);
    assert_eq!(a, b);
    assert!(a.iter().any(|&i| (1000..1060).contains(&i)), "{a:?}");
}

/// A stream CSV: features (all numeric) and a boolean target.
fn stream(name: &str) -> (Vec<Vec<f64>>, Vec<bool>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(format!("online_{name}.csv"));
    let text = std::fs::read_to_string(path).unwrap();
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let (y, x) = fields.split_last().unwrap();
        xs.push(x.iter().map(|v| v.parse().unwrap()).collect());
        ys.push(*y == "true");
    }
    (xs, ys)
}

#[test]
fn scaler_and_logistic_regression_equal_river() {
    let r = json("online_learners.json");
    for name in ["phishing", "bananas"] {
        let want = &r["streams"][name];
        let (xs, ys) = stream(name);
        let mut scaler = StandardScaler::new(xs[0].len());
        let mut lr = LogisticRegression::new(xs[0].len());
        let probas = floats(&want["logistic_proba"]);
        let first = want["scaled_first_300"].as_array().unwrap();
        let mut z = Vec::new();
        let mut correct = 0;
        for (i, (x, &y)) in xs.iter().zip(&ys).enumerate() {
            scaler.transform_into(x, &mut z);
            let p = lr.predict_proba(&z);
            assert!(
                (p - probas[i]).abs() < 1e-9,
                "{name} row {i}: {p} vs {}",
                probas[i]
            );
            correct += usize::from((p > 0.5) == y);
            scaler.learn_one(x);
            scaler.transform_into(x, &mut z);
            if i < first.len() {
                for (a, b) in z.iter().zip(floats(&first[i])) {
                    assert!((a - b).abs() < 1e-12, "{name} scaled row {i}: {a} vs {b}");
                }
            }
            lr.learn_one(&z, y);
        }
        for (a, b) in z.iter().zip(floats(&want["scaled_last"])) {
            assert!((a - b).abs() < 1e-12);
        }
        assert_eq!(correct as u64, want["logistic_correct"].as_u64().unwrap());
        for (a, b) in lr.weights().iter().zip(floats(&want["logistic_weights"])) {
            assert!((a - b).abs() < 1e-9, "{name} weight {a} vs {b}");
        }
        assert!((lr.intercept() - want["logistic_intercept"].as_f64().unwrap()).abs() < 1e-9);
    }
}

fn order() -> ClassOrder {
    // Class 0 is false, 1 is true: sorted labels, as River's tie order.
    ClassOrder { rank: vec![0, 1] }
}

#[test]
fn hoeffding_tree_progressive_accuracy_equals_river() {
    let r = json("online_learners.json");
    for name in ["phishing", "bananas"] {
        let want = &r["streams"][name];
        let (xs, ys) = stream(name);
        let mut tree = HoeffdingTree::new(xs[0].len(), TreeParams::default());
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
        let mut proba = vec![0.0; 2];
        let mut correct = 0u64;
        for (x, &y) in xs.iter().zip(&ys) {
            let pred = tree.predict(x, &order(), &mut proba);
            correct += u64::from(pred == Some(u32::from(y)));
            tree.learn_one(x, u32::from(y), 1.0, &mut rng);
        }
        let river = want["hoeffding_tree_correct"].as_u64().unwrap();
        let n = xs.len() as f64;
        let (ours, theirs) = (correct as f64 / n, river as f64 / n);
        assert!(
            (ours - theirs).abs() <= 0.01,
            "{name}: {ours} vs River {theirs}"
        );
        // Deterministic learner, same algorithm: the same predictions.
        assert_eq!(correct, river, "{name}: correct predictions");
        assert_eq!(
            tree.n_leaves() as u64,
            want["hoeffding_tree_leaves"].as_u64().unwrap()
        );
    }
}

#[test]
fn arf_progressive_accuracy_within_one_percent_of_river() {
    let r = json("online_learners.json");
    for name in ["phishing", "bananas"] {
        let want = &r["streams"][name];
        let (xs, ys) = stream(name);
        let river = floats(&want["arf_accuracy_seeds_1_2_3"]);
        let river_mean = river.iter().sum::<f64>() / river.len() as f64;
        let mut ours = Vec::new();
        for seed in [1, 2, 3] {
            let mut arf = AdaptiveRandomForest::new(xs[0].len(), 10, seed);
            let mut proba = vec![0.0; 2];
            let mut correct = 0u64;
            for (x, &y) in xs.iter().zip(&ys) {
                let pred = arf.predict(x, &order(), &mut proba);
                correct += u64::from(pred == Some(u32::from(y)));
                arf.learn_one(x, u32::from(y), &order(), 2);
            }
            ours.push(correct as f64 / xs.len() as f64);
        }
        let ours_mean = ours.iter().sum::<f64>() / ours.len() as f64;
        assert!(
            (ours_mean - river_mean).abs() <= 0.01,
            "{name}: ARF {ours:?} vs River {river:?}"
        );
    }
}

fn options(model: ModelKind) -> OnlineOptions {
    OnlineOptions {
        model,
        target: "target".into(),
        detector: None,
        every: 0,
        skip_bad: false,
        seed: 1,
    }
}

fn phishing_jsonl() -> String {
    let (xs, ys) = stream("phishing");
    let r = json("online_learners.json");
    let names: Vec<String> = r["streams"]["phishing"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let mut out = String::new();
    for (x, y) in xs.iter().zip(ys) {
        let mut obj = serde_json::Map::new();
        for (n, v) in names.iter().zip(x) {
            obj.insert(n.clone(), serde_json::json!(v));
        }
        obj.insert("target".into(), serde_json::json!(y));
        out.push_str(&serde_json::to_string(&obj).unwrap());
        out.push('\n');
    }
    out
}

#[test]
fn json_lines_stream_learns_like_the_library_calls() {
    let text = phishing_jsonl();
    let r = json("online_learners.json");
    let s = learn_stream(text.as_bytes(), &options(ModelKind::Logistic), |_| {}).unwrap();
    // Phishing starts with `true`: the model flips once `false` appears, and then equals
    // River's pipeline (which always knows that `true` is the positive class).
    assert_eq!(s.classes, vec!["true", "false"]);
    // One row may differ: until `false` appears the stream answers the only class seen,
    // where River answers from a probability (which may fall under 0.5).
    let want = r["streams"]["phishing"]["logistic_correct"]
        .as_f64()
        .unwrap();
    let got = s.accuracy * s.rows as f64;
    assert!((got - want).abs() <= 1.0 + 1e-9, "{got} vs {want}");
    let mut o = options(ModelKind::HoeffdingTree);
    o.every = 500;
    o.detector = Some(DetectorKind::Adwin);
    let mut seen = Vec::new();
    let s = learn_stream(text.as_bytes(), &o, |c| seen.push(c.rows)).unwrap();
    assert_eq!(seen, vec![500, 1000]);
    assert_eq!(s.rows, 1250);
    // Features reach the model in sorted key order, not River's: within 1 %.
    let ht = r["streams"]["phishing"]["hoeffding_tree_correct"]
        .as_f64()
        .unwrap()
        / 1250.0;
    assert!((s.accuracy - ht).abs() <= 0.01, "{} vs {ht}", s.accuracy);
}

#[test]
fn bad_lines_name_the_line_and_field_or_are_skipped() {
    let good = r#"{"a": 1.0, "b": 2, "target": "x"}"#;
    let cases = [
        (
            r#"{"a": "high", "b": 2, "target": "x"}"#,
            "line 2: field \"a\"",
        ),
        (
            r#"{"b": 2, "target": "x"}"#,
            "line 2: field \"a\" is missing",
        ),
        (r#"{"a": 1, "b": 2}"#, "line 2: no target field \"target\""),
        (
            r#"{"a": 1, "b": 2, "c": 3, "target": "x"}"#,
            "line 2: field \"c\"",
        ),
        (
            r#"{"a": 1, "b": 2, "target": 0.5}"#,
            "line 2: field \"target\"",
        ),
        ("[1, 2]", "line 2: expected a JSON object"),
        ("{not json", "line 2: not valid JSON"),
    ];
    for (bad, want) in cases {
        let text = format!("{good}\n{bad}\n{good}\n");
        let err =
            learn_stream(text.as_bytes(), &options(ModelKind::HoeffdingTree), |_| {}).unwrap_err();
        assert!(err.to_string().contains(want), "{bad}: {err}");
        assert_eq!(err.kind(), slipway_monitor::ErrorKind::User);
        let mut o = options(ModelKind::Arf);
        o.skip_bad = true;
        let s = learn_stream(text.as_bytes(), &o, |_| {}).unwrap();
        assert_eq!((s.rows, s.skipped), (2, 1), "{bad}");
        assert!(s.skipped_examples[0].contains(want));
    }
    // Logistic regression is binary: a third class is named.
    let text = format!(
        "{good}\n{}\n{}\n",
        r#"{"a": 1, "b": 2, "target": "y"}"#, r#"{"a": 1, "b": 2, "target": "z"}"#
    );
    let err = learn_stream(text.as_bytes(), &options(ModelKind::Logistic), |_| {}).unwrap_err();
    assert!(
        err.to_string()
            .contains("line 3: field \"target\": a third class \"z\""),
        "{err}"
    );
    // Nothing usable.
    let err = learn_stream("\n\n".as_bytes(), &options(ModelKind::Arf), |_| {}).unwrap_err();
    assert!(err.to_string().contains("no rows"));
}
