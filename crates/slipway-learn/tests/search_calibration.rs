//! Calibration, class weights and successive-halving schedules against scikit-learn
//! (`tests/reference/calibration/make_reference.py` wrote the JSON).

use serde_json::Value;
use slipway_learn::calibration::{IsotonicCalibrator, SigmoidCalibrator, calibration_curve};
use slipway_learn::class_weight::ClassWeight;
use slipway_learn::search::{MinResources, MinResourcesRule, halving_schedule};

fn reference() -> Value {
    let text = include_str!("reference/calibration/reference.json");
    serde_json::from_str(text).expect("reference JSON parses")
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn sigmoid_matches_sklearn() {
    for case in reference()["sigmoid"].as_array().unwrap() {
        let scores = f64s(&case["scores"]);
        let labels: Vec<bool> = f64s(&case["labels"]).iter().map(|&l| l > 0.0).collect();
        let c = SigmoidCalibrator::fit(&scores, &labels, None).unwrap();
        let (a, b) = (case["a"].as_f64().unwrap(), case["b"].as_f64().unwrap());
        assert!(
            close(c.a, a, 1e-6),
            "{}: a {} vs sklearn {a}",
            case["name"],
            c.a
        );
        assert!(
            close(c.b, b, 1e-6),
            "{}: b {} vs sklearn {b}",
            case["name"],
            c.b
        );
    }
}

#[test]
fn isotonic_matches_sklearn() {
    for case in reference()["isotonic"].as_array().unwrap() {
        let c = IsotonicCalibrator::fit(&f64s(&case["x"]), &f64s(&case["y"]), None).unwrap();
        let want = f64s(&case["predicted"]);
        for (x, w) in f64s(&case["x_test"]).into_iter().zip(want) {
            let got = c.predict(x);
            assert!(
                (got - w).abs() <= 1e-6,
                "{}: at {x}: {got} vs {w}",
                case["name"]
            );
        }
    }
}

#[test]
fn calibration_curve_matches_sklearn() {
    for case in reference()["calibration_curve"].as_array().unwrap() {
        let y: Vec<bool> = f64s(&case["y_true"]).iter().map(|&v| v > 0.0).collect();
        let bins = case["n_bins"].as_u64().unwrap() as usize;
        let c = calibration_curve(&y, &f64s(&case["y_prob"]), bins).unwrap();
        let (pt, pp) = (f64s(&case["prob_true"]), f64s(&case["prob_pred"]));
        assert_eq!(c.prob_true.len(), pt.len());
        for (a, b) in c
            .prob_true
            .iter()
            .zip(&pt)
            .chain(c.prob_pred.iter().zip(&pp))
        {
            assert!((a - b).abs() <= 1e-9, "{bins} bins: {a} vs {b}");
        }
    }
}

#[test]
fn sample_weights_match_compute_sample_weight() {
    for case in reference()["sample_weight"].as_array().unwrap() {
        let classes: Vec<String> = serde_json::from_value(case["classes"].clone()).unwrap();
        let y: Vec<String> = serde_json::from_value(case["y"].clone()).unwrap();
        let codes: Vec<u32> = y
            .iter()
            .map(|l| classes.iter().position(|c| c == l).unwrap() as u32)
            .collect();
        let cw: ClassWeight = serde_json::from_value(case["class_weight"].clone()).unwrap();
        let got = cw.sample_weights(&codes, &classes).unwrap();
        let want = f64s(&case["weights"]);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-12, "{g} vs {w}");
        }
    }
}

#[test]
fn halving_schedule_matches_halving_grid_search_cv() {
    for case in reference()["halving"].as_array().unwrap() {
        let min = match &case["min_resources"] {
            Value::String(s) if s == "exhaust" => MinResources::Rule(MinResourcesRule::Exhaust),
            Value::String(_) => MinResources::Rule(MinResourcesRule::Smallest),
            v => MinResources::Count(v.as_u64().unwrap() as usize),
        };
        let by_samples = case["resource"] == "n_samples";
        let smallest = if by_samples {
            2 * case["folds"].as_u64().unwrap() as usize
                * case["n_classes"].as_u64().unwrap() as usize
        } else {
            1
        };
        let s = halving_schedule(
            case["n_candidates_start"].as_u64().unwrap() as usize,
            case["factor"].as_f64().unwrap(),
            min,
            case["max_resources"].as_u64().unwrap() as usize,
            smallest,
            case["aggressive_elimination"].as_bool().unwrap(),
        )
        .unwrap();
        let ints = |v: &Value| -> Vec<usize> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect()
        };
        assert_eq!(s.n_resources, ints(&case["n_resources_"]), "{case}");
        assert_eq!(s.n_candidates, ints(&case["n_candidates_"]), "{case}");
        assert_eq!(
            s.min_resources,
            case["min_resources_"].as_u64().unwrap() as usize
        );
        assert_eq!(
            s.n_required_iterations,
            case["n_required_iterations_"].as_u64().unwrap() as usize
        );
        assert_eq!(
            s.n_possible_iterations,
            case["n_possible_iterations_"].as_u64().unwrap() as usize
        );
    }
}
