//! Engine-level tests of hyperparameter search, class weights, calibration and threshold
//! tuning, on the breast cancer example.

use std::path::{Path, PathBuf};

use slipway_engine::{Engine, EngineOptions, NoProgress, PipelineConfig};
use slipway_learn::bundle;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/breast_cancer/breast_cancer.csv")
}

fn config(models: &str, extra: &str, out: &Path) -> PipelineConfig {
    let text = format!(
        "name: bc\ndata: {{train: {}}}\ntarget: target\ntask: classification\nmodels:\n{models}\ncv: {{folds: 3}}\ntest_fraction: 0.25\nseed: 3\nthreads: 2\noutput: {}\n{extra}",
        data().display(),
        out.display()
    );
    PipelineConfig::parse(&text, Path::new("test.yaml")).unwrap()
}

const SEARCHED: &str = "  - name: logistic\n    type: logistic_regression\n    search: {grid: {c: [0.01, 1.0]}}\n  - name: gbdt\n    type: gbdt\n    params: {n_estimators: 30}\n    search:\n      random:\n        n_iter: 3\n        params: {learning_rate: {log_uniform: [0.05, 0.3]}, num_leaves: {int: [4, 15]}}\n";

#[test]
fn search_calibration_and_threshold_reach_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cfg = config(
        SEARCHED,
        "calibration: {method: sigmoid}\nthreshold: {minimize: false_positive_rate, subject_to: {recall: \">= 0.9\"}}\n",
        &out,
    );
    let o = Engine::new(EngineOptions::default())
        .train(&cfg, None, &NoProgress)
        .unwrap();
    let logistic = &o.candidates[0];
    let s = logistic.search.as_ref().unwrap();
    assert_eq!(s.evaluations.len(), 2);
    assert_eq!(logistic.fold_scores.len(), 3);
    let gbdt = o.candidates[1].search.as_ref().unwrap();
    assert_eq!(gbdt.evaluations.len(), 3);
    // The candidate's reported scores are its best configuration's.
    let best = gbdt
        .evaluations
        .iter()
        .map(|e| e.mean)
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(o.candidates[1].mean["roc_auc"], best);
    let t = o.threshold.as_ref().unwrap();
    assert!(t.metrics_at_threshold.values().all(|v| v.is_finite()));
    assert!(o.calibration.is_some());

    let b = bundle::load_bundle(o.bundle.as_ref().unwrap()).unwrap();
    assert_eq!(b.pipeline.decision_threshold, Some(t.threshold));
    assert!(b.pipeline.calibration.is_some());
    // Predicted labels follow the tuned threshold on the calibrated probabilities.
    let input = dir.path().join("in.csv");
    std::fs::copy(data(), &input).unwrap();
    let preds = dir.path().join("p.csv");
    Engine::default()
        .predict(
            o.bundle.as_ref().unwrap(),
            &input,
            &preds,
            &Default::default(),
        )
        .unwrap();
    let text = std::fs::read_to_string(&preds).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let pi = header.iter().position(|h| *h == "prediction").unwrap();
    let p1 = header.iter().position(|h| *h == "probability_1").unwrap();
    let mut checked = 0;
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let p: f64 = f[p1].parse().unwrap();
        let want = if p >= t.threshold { "1" } else { "0" };
        assert_eq!(f[pi], want, "p = {p}, threshold {}", t.threshold);
        checked += 1;
    }
    assert_eq!(checked, 569);
    let html = std::fs::read_to_string(&o.report_html).unwrap();
    assert!(html.contains("Reliability diagram") && html.contains("Decision threshold"));
    assert!(html.contains("Hyperparameter search: gbdt (random)"));
}

#[test]
fn results_do_not_depend_on_threads() {
    let dir = tempfile::tempdir().unwrap();
    let models = "  - name: gbdt\n    type: gbdt\n    params: {n_estimators: 20}\n    search:\n      halving:\n        factor: 2\n        min_resources: 60\n        candidates: {random: {n_iter: 4, params: {num_leaves: {int: [3, 12]}, feature_fraction: {uniform: [0.5, 1.0]}}}}\n";
    let run = |threads: usize| {
        let mut cfg = config(models, "", &dir.path().join(format!("t{threads}")));
        cfg.threads = Some(threads);
        Engine::default().train(&cfg, None, &NoProgress).unwrap()
    };
    let (a, b) = (run(1), run(2));
    let sa = serde_json::to_string(&a.candidates[0].search).unwrap();
    let sb = serde_json::to_string(&b.candidates[0].search).unwrap();
    assert_eq!(sa, sb);
    assert_eq!(a.evaluation.metrics, b.evaluation.metrics);
    let sched = a.candidates[0]
        .search
        .as_ref()
        .unwrap()
        .schedule
        .as_ref()
        .unwrap();
    assert_eq!(sched.n_candidates, vec![4, 2, 1]);
}

#[test]
fn class_weights_change_the_model_and_unweightable_models_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let logistic = "  - name: logistic\n    type: logistic_regression\n";
    let plain = Engine::default()
        .train(
            &config(logistic, "", &dir.path().join("a")),
            None,
            &NoProgress,
        )
        .unwrap();
    let weighted = Engine::default()
        .train(
            &config(
                logistic,
                "class_weight: {\"0\": 5.0}\n",
                &dir.path().join("b"),
            ),
            None,
            &NoProgress,
        )
        .unwrap();
    assert_ne!(
        plain.candidates[0].fold_scores,
        weighted.candidates[0].fold_scores
    );
    // More weight on class 0 means fewer rows predicted 1: recall of class 1 drops or holds.
    assert!(weighted.evaluation.metrics["recall"] <= plain.evaluation.metrics["recall"]);

    let knn = "  - name: knn\n    type: k_neighbors\n    class_weight: balanced\n";
    let e = Engine::default()
        .train(&config(knn, "", &dir.path().join("c")), None, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("knn") && e.contains("class_weight") && e.contains("weights"),
        "{e}"
    );
    let bad = "  - name: logistic\n    type: logistic_regression\n    class_weight: {\"2\": 1.0}\n";
    let e = Engine::default()
        .train(&config(bad, "", &dir.path().join("d")), None, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"2\"") && e.contains("class_weight"), "{e}");
}

#[test]
fn bad_search_and_threshold_configs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let check = |models: &str, extra: &str, want: &[&str]| {
        let text = format!(
            "name: bc\ndata: {{train: {}}}\ntarget: target\nmodels:\n{models}\noutput: {}\n{extra}",
            data().display(),
            dir.path().display()
        );
        let e = match PipelineConfig::parse(&text, Path::new("p.yaml")) {
            Err(e) => e.to_string(),
            Ok(cfg) => match cfg.candidates() {
                Err(e) => e.to_string(),
                Ok(_) => Engine::default()
                    .train(&cfg, None, &NoProgress)
                    .unwrap_err()
                    .to_string(),
            },
        };
        for w in want {
            assert!(e.contains(w), "{e} lacks {w}");
        }
    };
    let g = "  - name: g\n    type: gbdt\n";
    check(
        &format!("{g}    search: {{grid: {{num_leafs: [3, 7]}}}}\n"),
        "",
        &["models[0] (g)", "num_leafs", "gbdt has no parameter"],
    );
    check(
        &format!(
            "{g}    search: {{random: {{n_iter: 2, params: {{learning_rate: {{log_uniform: [0, 1]}}}}}}}}\n"
        ),
        "",
        &["learning_rate", "log"],
    );
    check(
        &format!(
            "{g}    search: {{random: {{n_iter: 2, params: {{num_leaves: {{int: [9, 3]}}}}}}}}\n"
        ),
        "",
        &["num_leaves", "greater than high"],
    );
    check(
        &format!("{g}    search: {{grid: {{num_leaves: [1]}}}}\n"),
        "",
        &["model \"g\"", "num_leaves"],
    );
    check(
        &format!(
            "{g}    search: {{halving: {{resource: n_estimators, candidates: {{grid: {{num_leaves: [3, 7]}}}}}}}}\n"
        ),
        "",
        &["max_resources", "n_estimators"],
    );
    check(
        g,
        "threshold: {maximize: recall, subject_to: {precision: \">= 1.01\"}}\n",
        &["threshold", "precision >= 1.01", "best achievable"],
    );
    check(
        g,
        "threshold: {subject_to: {recall: \">= 0.5\"}}\n",
        &["threshold", "maximize"],
    );
}
