//! Fairness mitigation by exponentiated gradient in training (`fairness: {mitigation:
//! {method: exponentiated_gradient, ...}}`): the mixture narrows the gap it is asked to,
//! round-trips through the bundle, predicts without the protected column (its pmf and a
//! label drawn per row), and config mistakes are named with their key.

use std::path::Path;

use slipway_data::ingest::{self, ReadOptions};
use slipway_engine::{Engine, NoProgress, PipelineConfig, PredictOptions, TrainOutcome};
use slipway_learn::bundle::load_bundle;
use slipway_learn::mixture::MixtureComponent;
use slipway_learn::pipeline::FittedModel;

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
/// (so a model learns the gap through it although `group` is no feature), `x` carries real
/// signal, `kind` is a three-class column for a multiclass target.
fn write_data(path: &Path, n: usize, seed: u64) {
    let mut rng = Lcg(seed);
    let mut csv = String::from("group,proxy,x,kind,y\n");
    for _ in 0..n {
        let g = if rng.uniform() < 0.55 { "a" } else { "b" };
        let proxy = if g == "a" { 0.8 } else { 0.0 } + rng.uniform() * 0.4;
        let x = rng.uniform();
        let p = if g == "a" {
            0.25 + 0.5 * x
        } else {
            0.05 + 0.3 * x
        };
        let y = u8::from(rng.uniform() < p);
        let kind = ["k0", "k1", "k2"][(rng.uniform() * 3.0) as usize];
        csv.push_str(&format!("{g},{proxy:.4},{x:.4},{kind},{y}\n"));
    }
    std::fs::write(path, csv).unwrap();
}

fn parse_with(dir: &Path, target: &str, model: &str, body: &str) -> Result<PipelineConfig, String> {
    let text = format!(
        "name: expgrad\ndata: {{train: {}}}\ntarget: {target}\ncv: {{folds: 2}}\nseed: 3\nthreads: 2\noutput: {}\nroles: {{protected: [group]}}\nmodels:\n  - {model}\n{body}",
        dir.join("train.csv").display(),
        dir.join("out").display()
    );
    PipelineConfig::parse(&text, Path::new("test.yaml")).map_err(|e| e.to_string())
}

fn parse(dir: &Path, body: &str) -> Result<PipelineConfig, String> {
    parse_with(dir, "y", "{type: logistic_regression}", body)
}

fn train_with(dir: &Path, model: &str, body: &str) -> TrainOutcome {
    let cfg = parse_with(dir, "y", model, body).unwrap();
    Engine::default().train(&cfg, None, &NoProgress).unwrap()
}

fn summary(
    o: &TrainOutcome,
    pick: fn(&slipway_govern::fairness::Summary) -> &slipway_govern::fairness::Estimate,
) -> f64 {
    pick(&o.fairness.as_ref().unwrap().attributes[0].summary)
        .value
        .unwrap()
}

const DP: &str = "fairness: {mitigation: {method: exponentiated_gradient, protected: group, constraint: demographic_parity}}\n";

#[test]
fn logistic_mixture_narrows_the_gap_round_trips_and_predicts_without_the_protected_column() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 2000, 11);
    let plain = train_with(dir.path(), "{type: logistic_regression}", "");
    let fair = train_with(dir.path(), "{type: logistic_regression}", DP);
    let dp = |o: &TrainOutcome| summary(o, |s| &s.demographic_parity_difference);
    let (before, after) = (dp(&plain), dp(&fair));
    assert!(
        after < before - 0.05,
        "demographic parity difference {before} → {after}"
    );
    // The game of the refit is in the report.
    let m = fair.mitigation.as_ref().unwrap();
    let game = m.exponentiated_gradient.as_ref().unwrap();
    assert!(game.n_used >= 1 && game.n_oracle_calls >= game.n_predictors);
    assert!((game.weights.iter().sum::<f64>() - 1.0).abs() < 1e-6);
    let json = std::fs::read_to_string(&fair.report_json).unwrap();
    assert!(
        json.contains("\"exponentiated_gradient\""),
        "report.json has the game"
    );

    // The bundle holds the mixture with the report's weights.
    let bundle_dir = fair.bundle.clone().unwrap();
    let b = load_bundle(&bundle_dir).unwrap();
    let FittedModel::Mixture(mix) = &b.pipeline.model else {
        panic!("the bundle holds no mixture")
    };
    assert_eq!(mix.weights, game.weights);
    assert_eq!(mix.seed, 3);
    assert!(
        mix.components
            .iter()
            .any(|c| matches!(c, MixtureComponent::Model { .. }))
    );
    assert!(
        !b.pipeline.input_schema().iter().any(|(c, _)| c == "group"),
        "the protected column is no model input"
    );
    // A second load is the same pipeline (the bundle round-trips).
    assert_eq!(load_bundle(&bundle_dir).unwrap().pipeline, b.pipeline);

    // Predict from rows without the protected column.
    let text = std::fs::read_to_string(dir.path().join("train.csv")).unwrap();
    let mut rows = String::from("proxy,x,kind\n");
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        rows.push_str(&format!("{},{},{}\n", f[1], f[2], f[3]));
    }
    let input = dir.path().join("rows.csv");
    std::fs::write(&input, rows).unwrap();
    let engine = Engine::default();
    let out_a = dir.path().join("a.csv");
    let o = engine
        .predict(&bundle_dir, &input, &out_a, &PredictOptions::default())
        .unwrap();
    assert_eq!(o.rows, 2000);
    assert_eq!(
        o.columns,
        ["prediction", "probability_0", "probability_1"],
        "{:?}",
        o.columns
    );
    // Chunked, the same bytes: a row's draw does not depend on where it sits.
    let out_b = dir.path().join("b.csv");
    engine
        .predict(
            &bundle_dir,
            &input,
            &out_b,
            &PredictOptions {
                chunk_rows: 97,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        std::fs::read(&out_a).unwrap(),
        std::fs::read(&out_b).unwrap()
    );
    let t = ingest::read_table(&out_a, &ReadOptions::default()).unwrap();
    let pmf = t.numeric_values("probability_1").unwrap();
    let labels: Vec<String> = (0..t.n_rows())
        .map(|r| t.display_value("prediction", r).unwrap().unwrap())
        .collect();
    let mut positives = 0.0;
    for (p, l) in pmf.iter().zip(&labels) {
        // The pmf is a sum of mixture weights; pmf 0 is never positive, 1 always.
        assert!((0.0..=1.0 + 1e-12).contains(p), "{p}");
        if *p == 0.0 {
            assert_eq!(l, "0");
        }
        if *p >= 1.0 {
            assert_eq!(l, "1");
        }
        positives += f64::from(u8::from(l == "1"));
    }
    let expected: f64 = pmf.iter().sum();
    // The drawn labels follow the pmf (a binomial sum: 4 standard deviations at most).
    let sd = pmf.iter().map(|p| p * (1.0 - p)).sum::<f64>().sqrt();
    assert!(
        (positives - expected).abs() <= 4.0 * sd + 1.0,
        "{positives} positives drawn, {expected} expected"
    );
}

#[test]
fn gbdt_mixture_under_equalized_odds() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 1500, 5);
    let model = "{type: gbdt, params: {n_estimators: 20, num_leaves: 7}}";
    let plain = train_with(dir.path(), model, "");
    let fair = train_with(
        dir.path(),
        model,
        "fairness: {mitigation: {method: exponentiated_gradient, constraint: equalized_odds, eps: 0.02, max_iter: 30}}\n",
    );
    let eo = |o: &TrainOutcome| summary(o, |s| &s.equalized_odds_difference);
    assert!(
        eo(&fair) < eo(&plain),
        "equalized odds difference {} → {}",
        eo(&plain),
        eo(&fair)
    );
    let game = fair
        .mitigation
        .as_ref()
        .unwrap()
        .exponentiated_gradient
        .as_ref()
        .unwrap();
    assert_eq!(game.params.eps, 0.02);
    assert_eq!(game.params.max_iter, 30);
    assert!(game.last_iter < 30);
    // Constraints: (+/-) × (label=0, label=1) × (a, b).
    assert_eq!(game.constraints.len(), 8);
    let b = load_bundle(fair.bundle.as_ref().unwrap()).unwrap();
    let FittedModel::Mixture(mix) = &b.pipeline.model else {
        panic!("not a mixture")
    };
    assert!(mix.components.iter().all(|c| match c {
        MixtureComponent::Model { model } => matches!(**model, FittedModel::Gbdt(_)),
        MixtureComponent::Constant { .. } => true,
    }));
}

#[test]
fn config_mistakes_are_named_with_their_key() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 300, 1);
    let err = |body: &str| parse(dir.path(), body).unwrap_err();
    let e = err("fairness: {mitigation: {method: exponentiated_gradient, protected: sex}}\n");
    assert!(
        e.contains("fairness.mitigation.protected")
            && e.contains("\"sex\" is not a protected column"),
        "{e}"
    );
    let e = err("fairness: {mitigation: {method: exponentiated_gradient, eps: 0}}\n");
    assert!(
        e.contains("fairness.mitigation.eps must be a finite number > 0"),
        "{e}"
    );
    let e = err("fairness: {mitigation: {method: exponentiated_gradient, max_iter: 0}}\n");
    assert!(e.contains("max_iter must be at least 1"), "{e}");
    let e = err("fairness: {mitigation: {method: exponentiated_gradient, constraint: parity}}\n");
    assert!(
        e.contains("parity") && e.contains("demographic_parity"),
        "{e}"
    );
    let e = err("fairness: {mitigation: {method: reweighing, eps: 0.05}}\n");
    assert!(
        e.contains(
            "fairness.mitigation.eps: applies to method exponentiated_gradient, not reweighing"
        ),
        "{e}"
    );
    let e = err(&format!("calibration: {{method: sigmoid}}\n{DP}"));
    assert!(e.contains("calibration: cannot be combined"), "{e}");
    let e = err(&format!("class_weight: balanced\n{DP}"));
    assert!(e.contains("class_weight: cannot be combined"), "{e}");
    // Line and column of the key.
    let e = err("fairness: {mitigation: {method: exponentiated_gradient, nu: -1}}\n");
    assert!(e.contains("test.yaml:") && e.contains("nu must be"), "{e}");
}

#[test]
fn regression_and_multiclass_targets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("train.csv"), 300, 1);
    let cfg = parse_with(
        dir.path(),
        "x",
        "{type: linear_regression}",
        &format!("task: regression\n{DP}"),
    )
    .unwrap();
    let e = Engine::default()
        .train(&cfg, None, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("fairness.mitigation") && e.contains("regression target"),
        "{e}"
    );
    let cfg = parse_with(dir.path(), "kind", "{type: logistic_regression}", DP).unwrap();
    let e = Engine::default()
        .train(&cfg, None, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("exponentiated_gradient needs a binary target") && e.contains("3 classes"),
        "{e}"
    );
}
