//! Retraining rules: the policy file, the triggers on constructed inputs, McNemar's test
//! against statsmodels (`tests/reference/mcnemar.py` + `.json`), the paired bootstrap and the
//! decision rule.

use std::path::Path;

use chrono::{Duration, TimeZone, Utc};
use serde_json::Value;
use slipway_monitor::retrain::{
    Action, DecisionRule, PairedMetric, PairedOutputs, PairedTest, RetrainPolicy, TriggerInputs,
    compare, decide, evaluate_triggers, mcnemar,
};

const POLICY: &str = r#"
retrain:
  model: employment
  pipeline: pipeline.yaml
  champion: out/model
  reference: reference.parquet
  new_rows: labelled.parquet
"#;

fn policy(extra: &str) -> RetrainPolicy {
    RetrainPolicy::parse(&format!("{POLICY}{extra}"), Path::new("/srv/p")).unwrap()
}

fn inputs() -> TriggerInputs {
    let now = Utc.with_ymd_and_hms(2026, 12, 7, 0, 0, 0).unwrap();
    TriggerInputs {
        reference_metric: Some(0.90),
        current_metric: Some(0.88),
        drift_share: Some(0.25),
        drifted_features: vec!["AGEP".into()],
        last_retrain: Some(now - Duration::days(3)),
        now,
        new_labelled_rows: 999,
    }
}

fn fired(p: &RetrainPolicy, i: &TriggerInputs) -> Vec<String> {
    evaluate_triggers(p, i)
        .into_iter()
        .filter(|t| t.fired)
        .map(|t| t.name)
        .collect()
}

#[test]
fn defaults_are_the_seeds_and_paths_are_relative_to_the_policy() {
    let p = policy("");
    assert_eq!(p.pipeline, Path::new("/srv/p/pipeline.yaml"));
    assert_eq!(p.jobs_dir(), Path::new("/srv/p/retrain-jobs"));
    assert_eq!(p.window_rows, 5000);
    assert_eq!(p.triggers.performance_drop.max_drop, 0.05);
    assert_eq!(p.triggers.drift_share.above, 0.3);
    assert_eq!(p.schedule_every().as_secs(), 7 * 86_400);
    assert_eq!(p.triggers.new_labels.at_least, 1000);
    assert_eq!(p.decision.min_improvement, 0.02);
    assert_eq!(p.decision.strategy, Action::Canary);
    assert_eq!(p.decision.test(), PairedTest::McnemarExact);
}

#[test]
fn no_trigger_fires_just_below_every_threshold() {
    let p = policy("");
    let results = evaluate_triggers(&p, &inputs());
    assert_eq!(results.len(), 4);
    assert!(fired(&p, &inputs()).is_empty(), "{results:?}");
    // The measured values come back with their thresholds.
    let drop = &results[0];
    assert!((drop.value.unwrap() - 0.02 / 0.90).abs() < 1e-12);
    assert!(drop.detail.contains("drop 2.22 %"), "{}", drop.detail);
    assert_eq!(results[3].value, Some(999.0));
    assert!((results[2].value.unwrap() - 72.0).abs() < 1e-9);
}

#[test]
fn each_trigger_fires_on_its_own() {
    let p = policy("");
    let mut i = inputs();
    i.current_metric = Some(0.85); // 5.56 % below 0.90
    assert_eq!(fired(&p, &i), ["performance_drop"]);
    let mut i = inputs();
    i.current_metric = Some(0.8560); // 4.9 %: not more than 5 %
    assert!(fired(&p, &i).is_empty());
    let mut i = inputs();
    i.drift_share = Some(0.31);
    assert_eq!(fired(&p, &i), ["drift_share"]);
    let mut i = inputs();
    i.last_retrain = Some(i.now - Duration::days(7));
    assert_eq!(fired(&p, &i), ["schedule"]);
    let mut i = inputs();
    i.new_labelled_rows = 1000;
    assert_eq!(fired(&p, &i), ["new_labels"]);
}

#[test]
fn triggers_are_configurable_and_can_be_switched_off() {
    let p = policy(
        "  triggers:\n    performance_drop: {max_drop: 0.01}\n    drift_share: {enabled: false}\n    schedule: {every: 2d}\n    new_labels: {at_least: 500}\n",
    );
    let mut i = inputs();
    i.drift_share = Some(0.9);
    assert_eq!(
        fired(&p, &i),
        ["performance_drop", "schedule", "new_labels"]
    );
    let r = evaluate_triggers(&p, &i);
    assert!(!r[1].enabled && !r[1].fired);
}

#[test]
fn unknown_inputs_do_not_fire() {
    let p = policy("");
    let mut i = inputs();
    i.reference_metric = None;
    i.current_metric = None;
    i.drift_share = None;
    i.last_retrain = None;
    i.new_labelled_rows = 0;
    let r = evaluate_triggers(&p, &i);
    assert!(r.iter().all(|t| !t.fired), "{r:?}");
    assert!(r[0].detail.contains("not evaluated"));
}

#[test]
fn bad_policies_name_the_field_and_the_rule() {
    let cases = [
        (
            "  triggers: {drift_share: {above: 1.5}}\n",
            "retrain.triggers.drift_share.above",
        ),
        (
            "  triggers: {schedule: {every: weekly}}\n",
            "retrain.triggers.schedule.every",
        ),
        (
            "  triggers: {performance_drop: {max_drop: 0}}\n",
            "max_drop",
        ),
        (
            "  triggers: {new_labels: {at_least: 0}}\n",
            "new_labels.at_least",
        ),
        (
            "  decision: {strategy: keep}\n",
            "retrain.decision.strategy",
        ),
        (
            "  decision: {metric: roc_auc, test: mcnemar_exact}\n",
            "retrain.decision.test",
        ),
        ("  decision: {alpha: 2}\n", "retrain.decision.alpha"),
        ("  window_rows: 3\n", "retrain.window_rows"),
        ("  triggerz: {}\n", "unknown field `triggerz`"),
    ];
    for (extra, want) in cases {
        let e = RetrainPolicy::parse(&format!("{POLICY}{extra}"), Path::new("."))
            .expect_err(extra)
            .to_string();
        assert!(e.contains(want), "{extra}: {e}");
    }
    let e = RetrainPolicy::parse("retrain: {model: x}", Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing field `pipeline`"), "{e}");
}

fn reference() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/mcnemar.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(got: f64, want: f64, what: &str) {
    let tol = 1e-12_f64.max(want.abs() * 1e-10);
    assert!((got - want).abs() <= tol, "{what}: {got} vs {want}");
}

#[test]
fn mcnemar_equals_statsmodels() {
    let r = reference();
    for case in r["cases"].as_array().unwrap() {
        let b = case["b"].as_u64().unwrap();
        let c = case["c"].as_u64().unwrap();
        for (name, exact, corr) in [
            ("exact", true, true),
            ("chi2", false, true),
            ("chi2_uncorrected", false, false),
        ] {
            let (s, p) = mcnemar(b, c, exact, corr);
            let want = &case[name];
            close(
                s,
                want["statistic"].as_f64().unwrap(),
                &format!("{b}/{c} {name} stat"),
            );
            close(
                p,
                want["pvalue"].as_f64().unwrap(),
                &format!("{b}/{c} {name} p"),
            );
        }
    }
    // No discordant pair: nothing to tell the models apart.
    assert_eq!(mcnemar(0, 0, true, true), (0.0, 1.0));
    assert_eq!(mcnemar(0, 0, false, true), (0.0, 1.0));
}

fn labels(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn the_window_comparison_counts_pairs_as_statsmodels_and_decides() {
    let w = &reference()["window"];
    let (truth, champ, chall) = (
        labels(&w["truth"]),
        labels(&w["champion"]),
        labels(&w["challenger"]),
    );
    let outputs = PairedOutputs {
        truth: &truth,
        champion_pred: &champ,
        challenger_pred: &chall,
        champion_score: None,
        challenger_score: None,
    };
    for (test, key) in [
        (PairedTest::McnemarExact, "exact"),
        (PairedTest::McnemarChi2, "chi2"),
    ] {
        let rule = DecisionRule {
            test: Some(test),
            ..DecisionRule::default()
        };
        let cmp = compare(&rule, &outputs).unwrap();
        assert_eq!(cmp.only_champion_right, w["b"].as_u64());
        assert_eq!(cmp.only_challenger_right, w["c"].as_u64());
        close(
            cmp.champion,
            w["champion_accuracy"].as_f64().unwrap(),
            "acc0",
        );
        close(
            cmp.challenger,
            w["challenger_accuracy"].as_f64().unwrap(),
            "acc1",
        );
        close(cmp.statistic, w[key]["statistic"].as_f64().unwrap(), key);
        close(cmp.p_value, w[key]["pvalue"].as_f64().unwrap(), key);
        let improvement = cmp.improvement;
        let d = decide(&rule, cmp.clone());
        // The seed's rule: deploy (canary) when better by more than 2 %.
        assert_eq!(
            d.action,
            if improvement > 0.02 {
                Action::Canary
            } else {
                Action::Keep
            },
            "{}",
            d.reason
        );
        let strict = DecisionRule {
            min_improvement: improvement + 1e-9,
            ..rule.clone()
        };
        assert_eq!(decide(&strict, cmp.clone()).action, Action::Keep);
        let loose = DecisionRule {
            min_improvement: 0.0,
            alpha: Some(1e-12),
            strategy: Action::BlueGreen,
            ..rule.clone()
        };
        let d = decide(&loose, cmp.clone());
        assert_eq!(d.action, Action::Keep);
        assert!(d.reason.contains("not significant"), "{}", d.reason);
        let green = DecisionRule {
            min_improvement: 0.0,
            strategy: Action::BlueGreen,
            ..rule
        };
        assert_eq!(decide(&green, cmp).action, Action::BlueGreen);
    }
}

#[test]
fn the_paired_bootstrap_is_seeded_and_brackets_the_auc_difference() {
    // A challenger whose scores separate the classes better than the champion's.
    let n = 600;
    let truth: Vec<u32> = (0..n).map(|i| (i % 3 == 0) as u32).collect();
    let noise = |i: usize, k: u64| ((i as u64 * 2654435761 + k) % 1000) as f64 / 1000.0;
    let s0: Vec<f64> = (0..n)
        .map(|i| 0.35 * truth[i] as f64 + 0.65 * noise(i, 1))
        .collect();
    let s1: Vec<f64> = (0..n)
        .map(|i| 0.6 * truth[i] as f64 + 0.4 * noise(i, 7))
        .collect();
    let pred = |s: &[f64]| s.iter().map(|&v| (v > 0.5) as u32).collect::<Vec<_>>();
    let (p0, p1) = (pred(&s0), pred(&s1));
    let w = PairedOutputs {
        truth: &truth,
        champion_pred: &p0,
        challenger_pred: &p1,
        champion_score: Some(&s0),
        challenger_score: Some(&s1),
    };
    let rule = DecisionRule {
        metric: PairedMetric::RocAuc,
        resamples: 500,
        seed: 11,
        ..DecisionRule::default()
    };
    let a = compare(&rule, &w).unwrap();
    let b = compare(&rule, &w).unwrap();
    assert_eq!(a, b, "same seed, same result");
    let diff = a.challenger - a.champion;
    let (lo, hi) = a.interval.unwrap();
    assert!(lo < diff && diff < hi, "{lo} {diff} {hi}");
    assert!(lo > 0.0, "a clear gain: {lo}");
    assert!(a.p_value < 0.01);
    assert_eq!(a.skipped_resamples, Some(0));
    let other = compare(
        &DecisionRule {
            seed: 12,
            ..rule.clone()
        },
        &w,
    )
    .unwrap();
    assert_ne!(a.interval, other.interval);
    assert_eq!(decide(&rule, a).action, Action::Canary);
    // One class in the window: no AUC, a clear error.
    let ones = vec![1u32; n];
    let e = compare(
        &rule,
        &PairedOutputs {
            truth: &ones,
            ..w.clone()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("one class"), "{e}");
}
