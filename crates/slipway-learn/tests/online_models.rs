//! Online learners as stored models: a learner saved mid-stream (through the bundle's exact
//! JSON) and read back predicts and keeps learning exactly as the original; `type: online`
//! hyperparameters are checked with errors that name the field; a pipeline with an online
//! model fits, predicts and round-trips through a bundle.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use slipway_learn::online::model::{Learner, OnlineModel, OnlineParams};
use slipway_learn::pipeline::ModelSpec;
use slipway_learn::{
    Estimator, FeatureMeta, Matrix, Params, Prediction, Predictor, Target, TrainData, exact_json,
};

/// A seeded stream of `n` rows over 4 features whose concept flips halfway (so the forest's
/// detectors fire and background trees exist when the model is saved).
fn stream(n: usize, n_classes: u32, seed: u64) -> (Vec<Vec<f64>>, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for i in 0..n {
        let x: Vec<f64> = (0..4).map(|_| rng.random::<f64>() * 4.0 - 2.0).collect();
        let score = if i < n / 2 {
            x[0] + 0.5 * x[1]
        } else {
            -x[0] + x[2]
        };
        let noise = rng.random::<f64>() * 0.6 - 0.3;
        let y = if n_classes == 2 {
            u32::from(score + noise > 0.0)
        } else {
            (((score + noise + 3.0) / 6.0 * f64::from(n_classes)) as i64)
                .clamp(0, i64::from(n_classes) - 1) as u32
        };
        xs.push(x);
        ys.push(y);
    }
    (xs, ys)
}

fn params(learner: &str) -> OnlineParams {
    OnlineParams {
        learner: Some(learner.into()),
        seed: 7,
        ..OnlineParams::default()
    }
}

fn matrix(rows: &[Vec<f64>]) -> Matrix {
    let flat: Vec<f64> = rows.iter().flatten().copied().collect();
    Matrix::from_row_major(rows.len(), rows[0].len(), &flat).unwrap()
}

fn fit(learner: &str, xs: &[Vec<f64>], ys: &[u32], n_classes: usize) -> OnlineModel {
    let x = matrix(xs);
    let y = Target::Classes {
        labels: ys.to_vec(),
        n_classes,
    };
    let features: Vec<FeatureMeta> = (0..4)
        .map(|i| FeatureMeta::numeric(format!("f{i}")))
        .collect();
    let data = TrainData {
        x: &x,
        y: &y,
        features: &features,
        weights: None,
    };
    params(learner).check().unwrap().fit(&data, None).unwrap()
}

fn probabilities(m: &OnlineModel, xs: &[Vec<f64>]) -> Vec<u64> {
    let Prediction::Probabilities(p) = m.predict(&matrix(xs)).unwrap() else {
        panic!("an online classifier gives probabilities");
    };
    p.as_col_major().iter().map(|v| v.to_bits()).collect()
}

#[test]
fn a_learner_saved_mid_stream_predicts_and_learns_exactly_as_the_original() {
    for (learner, n_classes) in [
        ("hoeffding_tree", 3),
        ("arf", 2),
        ("arf", 3),
        ("logistic", 2),
    ] {
        let (xs, ys) = stream(3000, n_classes, 11);
        // Learn the first 1,600 rows (past the concept flip), then save.
        let mut original = fit(learner, &xs[..1600], &ys[..1600], n_classes as usize);
        let saved = exact_json::to_vec_pretty(&original).unwrap();
        let mut reloaded: OnlineModel = exact_json::from_slice(&saved).unwrap();
        assert_eq!(reloaded, original, "{learner}: the state read back differs");
        let probe = &xs[2900..];
        assert_eq!(
            probabilities(&reloaded, probe),
            probabilities(&original, probe),
            "{learner}: predictions after reloading"
        );
        // Keep learning both: every prediction and the final state agree bit for bit.
        for (x, &y) in xs[1600..2900].iter().zip(&ys[1600..2900]) {
            let a = original.learn_one(x, y).unwrap();
            let b = reloaded.learn_one(x, y).unwrap();
            assert_eq!(a.correct, b.correct, "{learner}");
            assert_eq!(a.log_loss.to_bits(), b.log_loss.to_bits(), "{learner}");
        }
        assert_eq!(reloaded, original, "{learner}: states after learning on");
        assert_eq!(
            probabilities(&reloaded, probe),
            probabilities(&original, probe),
            "{learner}"
        );
        assert_eq!(original.live_updates(), 1300);
        // The stored state is a whole model: saving again gives the same bytes.
        assert_eq!(
            exact_json::to_vec_pretty(&reloaded).unwrap(),
            exact_json::to_vec_pretty(&original).unwrap()
        );
        if learner == "arf" {
            let Learner::Arf { forest } = &original.learner else {
                panic!("an arf learner");
            };
            assert!(
                forest.events().warnings > 0,
                "the stream should make the forest's detectors fire ({:?})",
                forest.events()
            );
        }
    }
}

#[test]
fn progressive_validation_counts_each_training_row_before_learning_it() {
    let (xs, ys) = stream(2000, 2, 3);
    let m = fit("hoeffding_tree", &xs, &ys, 2);
    let p = m.train_progressive;
    assert_eq!(p.rows, 2000);
    // Replaying by hand: predict, score, learn.
    let mut fresh = params("hoeffding_tree")
        .check()
        .unwrap()
        .empty(4, 2)
        .unwrap();
    let (mut correct, mut loss) = (0u64, 0.0);
    for (x, &y) in xs.iter().zip(&ys) {
        let mut proba = [0.0; 2];
        fresh.predict_row(x, &mut proba);
        let pred = usize::from(proba[1] > proba[0]);
        correct += u64::from(pred == y as usize);
        loss += -proba[y as usize].clamp(1e-15, 1.0 - 1e-15).ln();
        fresh.learn_one(x, y).unwrap();
    }
    assert_eq!(p.correct, correct);
    assert!((p.log_loss_sum - loss).abs() < 1e-9);
    let acc = p.accuracy().unwrap();
    // The concept flips halfway; still well above chance.
    assert!(acc > 0.6, "a learnable stream: progressive accuracy {acc}");
}

#[test]
fn hyperparameters_are_checked_naming_the_field() {
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (serde_json::json!({}), "learner"),
        (serde_json::json!({"learner": "svm"}), "learner"),
        (
            serde_json::json!({"learner": "logistic", "grace_period": 10}),
            "grace_period",
        ),
        (
            serde_json::json!({"learner": "hoeffding_tree", "n_models": 3}),
            "n_models",
        ),
        (
            serde_json::json!({"learner": "arf", "n_models": 0}),
            "n_models",
        ),
        (serde_json::json!({"learner": "arf", "delta": 1.5}), "delta"),
        (
            serde_json::json!({"learner": "hoeffding_tree", "grace_period": -1}),
            "grace_period",
        ),
        (
            serde_json::json!({"learner": "logistic", "learning_rate": 0}),
            "learning_rate",
        ),
    ];
    for (raw, field) in cases {
        let spec: ModelSpec =
            serde_json::from_value(serde_json::json!({"type": "online", "params": raw})).unwrap();
        let e = spec
            .check(slipway_learn::Task::Binary)
            .unwrap_err()
            .to_string();
        assert!(e.contains(field), "{raw}: {e}");
    }
    // An unknown field is refused by name.
    let e = serde_json::from_value::<ModelSpec>(
        serde_json::json!({"type": "online", "params": {"learner": "arf", "trees": 3}}),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("trees"), "{e}");
    // Regression is not for these learners; logistic is binary.
    let spec: ModelSpec =
        serde_json::from_value(serde_json::json!({"type": "online", "params": {"learner": "arf"}}))
            .unwrap();
    assert!(spec.check(slipway_learn::Task::Regression).is_err());
    let e = params("logistic")
        .check()
        .unwrap()
        .empty(4, 3)
        .unwrap_err()
        .to_string();
    assert!(e.contains("binary"), "{e}");
}

#[test]
fn a_row_with_a_missing_value_is_refused_and_nothing_is_learned() {
    let (xs, ys) = stream(300, 2, 5);
    let mut m = fit("arf", &xs, &ys, 2);
    let before = m.clone();
    let e = m.learn_one(&[1.0, f64::NAN, 0.0, 0.0], 1).unwrap_err();
    assert!(e.to_string().contains("feature 1"), "{e}");
    assert!(m.learn_one(&[1.0, 0.0, 0.0], 1).is_err(), "a short row");
    assert!(
        m.learn_one(&[1.0, 0.0, 0.0, 0.0], 2).is_err(),
        "a class out of range"
    );
    assert_eq!(m, before);
}

/// River 0.26's numbers for its Phishing and Bananas streams, written by
/// `crates/slipway-monitor/tests/reference/make_online_learners.py` (committed there with
/// the stream CSVs).
fn river(name: &str) -> (serde_json::Value, Vec<Vec<f64>>, Vec<u32>) {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../slipway-monitor/tests/reference");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("online_learners.json")).unwrap())
            .unwrap();
    let text = std::fs::read_to_string(dir.join(format!("online_{name}.csv"))).unwrap();
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let (y, x) = fields.split_last().unwrap();
        xs.push(x.iter().map(|v| v.parse().unwrap()).collect());
        // Classes sorted, as a pipeline codes them: false 0, true 1.
        ys.push(u32::from(*y == "true"));
    }
    (r["streams"][name].clone(), xs, ys)
}

fn fit_stream(learner: &str, seed: u64, xs: &[Vec<f64>], ys: &[u32]) -> OnlineModel {
    let x = matrix(xs);
    let y = Target::Classes {
        labels: ys.to_vec(),
        n_classes: 2,
    };
    let features: Vec<FeatureMeta> = (0..xs[0].len())
        .map(|i| FeatureMeta::numeric(format!("f{i}")))
        .collect();
    let data = TrainData {
        x: &x,
        y: &y,
        features: &features,
        weights: None,
    };
    OnlineParams {
        learner: Some(learner.into()),
        seed,
        ..OnlineParams::default()
    }
    .check()
    .unwrap()
    .fit(&data, None)
    .unwrap()
}

#[test]
fn progressive_metrics_of_the_training_pass_equal_river() {
    for name in ["phishing", "bananas"] {
        let (want, xs, ys) = river(name);
        // Logistic regression: River's probability of every row, hence its progressive
        // accuracy (p > 0.5 is `true`) and log loss.
        let m = fit_stream("logistic", 0, &xs, &ys);
        let p = m.train_progressive;
        assert_eq!(p.rows, xs.len() as u64);
        assert_eq!(
            p.correct,
            want["logistic_correct"].as_u64().unwrap(),
            "{name}"
        );
        let river_loss: f64 = want["logistic_proba"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&ys)
            .map(|(q, &y)| {
                let q = q.as_f64().unwrap();
                let py = if y == 1 { q } else { 1.0 - q };
                -py.clamp(1e-15, 1.0 - 1e-15).ln()
            })
            .sum();
        assert!(
            (p.log_loss_sum - river_loss).abs() < 1e-6,
            "{name}: log loss {} vs River {river_loss}",
            p.log_loss_sum
        );
        // The Hoeffding tree makes River's predictions, except on the first row, where
        // River has no answer (counted wrong) and a pipeline answers the uniform
        // distribution's first class.
        let m = fit_stream("hoeffding_tree", 0, &xs, &ys);
        let first = u64::from(ys[0] == 0);
        assert_eq!(
            m.train_progressive.correct,
            want["hoeffding_tree_correct"].as_u64().unwrap() + first,
            "{name}"
        );
        // The forest draws from its own generator: within 1 % of River over three seeds.
        let river_arf = want["arf_accuracy_seeds_1_2_3"].as_array().unwrap();
        let river_mean =
            river_arf.iter().map(|v| v.as_f64().unwrap()).sum::<f64>() / river_arf.len() as f64;
        let ours: f64 = [1, 2, 3]
            .iter()
            .map(|&s| {
                fit_stream("arf", s, &xs, &ys)
                    .train_progressive
                    .accuracy()
                    .unwrap()
            })
            .sum::<f64>()
            / 3.0;
        assert!(
            (ours - river_mean).abs() <= 0.01,
            "{name}: ARF {ours} vs River {river_mean}"
        );
    }
}
