//! The mSPRT simulation, the readout's recommendation rule and the canary analysis.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use slipway_data::special::norm_sf;
use slipway_rollout::assign::{Arm, assign};
use slipway_rollout::canary::{
    ArmWindow, CanaryPlan, CanaryPolicy, CanaryState, Decision, analyze,
};
use slipway_rollout::readout::{
    Exposure, OutcomeKind, Readout, ReadoutOptions, Recommendation, readout,
};
use slipway_rollout::stats::Msprt;

/// 1,000 A/A experiments (both arms convert at 10 %), each looked at 100 times as 50 more
/// users per arm arrive. The mSPRT's always-valid p-value must ever fall below 0.05 in at
/// most 5 % of them, up to Monte-Carlo error: with 1,000 runs the standard error of a 5 %
/// rate is sqrt(0.05 · 0.95 / 1000) = 0.0069, so 0.05 + 3 · 0.0069 = 0.071 is the bound (a
/// valid test exceeds it with probability under 0.2 %). The naive z-test repeated at every
/// look must reject far more often than 5 % (about 30 % in theory for 100 looks) — the
/// failure the mSPRT exists to prevent, and proof that this simulation can see it.
#[test]
fn msprt_keeps_the_false_positive_rate_under_continuous_monitoring() {
    let (experiments, looks, batch, rate, alpha) = (1000, 100, 50u64, 0.1, 0.05);
    let bound = alpha + 3.0 * (alpha * (1.0 - alpha) / f64::from(experiments)).sqrt();
    // Mixing scales from a 5 % relative lift (the readout's default) to one near the first
    // look's standard error, where the test is least conservative.
    for tau in [0.005, 0.02, 0.06] {
        let mut rng = ChaCha8Rng::seed_from_u64(14);
        let (mut msprt_rejects, mut naive_rejects) = (0, 0);
        for _ in 0..experiments {
            let mut m = Msprt::new(tau * tau);
            let (mut ca, mut cb, mut n) = (0u64, 0u64, 0u64);
            let (mut msprt_hit, mut naive_hit) = (false, false);
            for _ in 0..looks {
                for _ in 0..batch {
                    ca += u64::from(rng.random_bool(rate));
                    cb += u64::from(rng.random_bool(rate));
                }
                n += batch;
                let (pa, pb) = (ca as f64 / n as f64, cb as f64 / n as f64);
                let v = pa * (1.0 - pa) / n as f64 + pb * (1.0 - pb) / n as f64;
                msprt_hit |= m.look(pb - pa, v) < alpha;
                let pooled = (ca + cb) as f64 / (2 * n) as f64;
                let z = (pb - pa) / (pooled * (1.0 - pooled) * 2.0 / n as f64).sqrt();
                naive_hit |= 2.0 * norm_sf(z.abs()) < alpha;
            }
            msprt_rejects += u32::from(msprt_hit);
            naive_rejects += u32::from(naive_hit);
        }
        let msprt_rate = f64::from(msprt_rejects) / f64::from(experiments);
        let naive_rate = f64::from(naive_rejects) / f64::from(experiments);
        eprintln!(
            "tau {tau}: A/A rejections: mSPRT {msprt_rate}, naive repeated z-test {naive_rate}"
        );
        assert!(
            msprt_rate <= bound,
            "tau {tau}: mSPRT rejected in {msprt_rate} of A/A tests"
        );
        assert!(
            naive_rate > 0.15,
            "naive peeking rejected in only {naive_rate}"
        );
    }
}

/// The split is honoured (20,000 keys at 30 %: 6,000 expected, SD 65), assignment is sticky,
/// a salt reshuffles who is in B, and 0 / 100 put everyone in A / B.
#[test]
fn assignment_follows_the_split_and_the_salt() {
    let keys: Vec<String> = (0..20_000).map(|i| format!("customer-{i}")).collect();
    let in_b = |salt: Option<&str>| -> Vec<bool> {
        keys.iter().map(|k| assign(k, salt, 30) == Arm::B).collect()
    };
    let plain = in_b(None);
    let count = plain.iter().filter(|b| **b).count();
    assert!((5_750..=6_250).contains(&count), "{count}");
    assert_eq!(plain, in_b(None));
    let salted = in_b(Some("exp-2"));
    let moved = plain.iter().zip(&salted).filter(|(a, b)| a != b).count();
    // Independent 30 % draws disagree for 2 · 0.3 · 0.7 = 42 % of keys.
    assert!((7_800..=9_000).contains(&moved), "{moved}");
    assert!(keys.iter().all(|k| assign(k, None, 0) == Arm::A));
    assert!(keys.iter().all(|k| assign(k, None, 100) == Arm::B));
}

/// The mSPRT does find a real difference.
#[test]
fn msprt_detects_a_real_difference() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut m = Msprt::new(0.01f64.powi(2));
    let (mut ca, mut cb, mut n) = (0u64, 0u64, 0u64);
    for _ in 0..100 {
        for _ in 0..200 {
            ca += u64::from(rng.random_bool(0.10));
            cb += u64::from(rng.random_bool(0.12));
        }
        n += 200;
        let (pa, pb) = (ca as f64 / n as f64, cb as f64 / n as f64);
        m.look(pb - pa, (pa * (1.0 - pa) + pb * (1.0 - pb)) / n as f64);
    }
    assert!(m.p_value < 0.001, "p = {}", m.p_value);
}

/// Exposures keyed `user-i`, assigned by the real hash rule at `split` % to B, converting
/// with probability `rate_a` / `rate_b`.
fn experiment(n: usize, split: u8, rate_a: f64, rate_b: f64, seed: u64) -> Vec<Exposure> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let arm = assign(&format!("user-{i}"), Some("exp-1"), split);
            let rate = if arm == Arm::A { rate_a } else { rate_b };
            Exposure {
                arm,
                outcome: Some(f64::from(u8::from(rng.random_bool(rate)))),
                covariate: None,
                segment: Some(if i % 3 == 0 { "FR" } else { "US" }.into()),
            }
        })
        .collect()
}

fn run(e: &[Exposure], kind: OutcomeKind) -> Readout {
    readout(e, kind, &ReadoutOptions::default()).unwrap()
}

#[test]
fn readout_ships_a_clearly_better_b() {
    let r = run(
        &experiment(40_000, 50, 0.10, 0.13, 1),
        OutcomeKind::Conversion,
    );
    assert_eq!(r.recommendation, Recommendation::ShipB, "{}", r.reason);
    assert!(!r.srm.alarm);
    assert_eq!(r.segments.len(), 2);
    assert!(r.ci[0] > 0.0 && r.relative_lift.unwrap() > 0.15);
    assert!(r.msprt.p_value < 0.05);
}

#[test]
fn readout_keeps_a_when_b_is_worse_or_equal_with_power() {
    let worse = run(
        &experiment(40_000, 50, 0.13, 0.10, 2),
        OutcomeKind::Conversion,
    );
    assert_eq!(
        worse.recommendation,
        Recommendation::KeepA,
        "{}",
        worse.reason
    );
    assert!(worse.difference < 0.0);
    // No difference and 400k users: 5 % of 10 % is 0.005, well within reach.
    let same = run(
        &experiment(400_000, 50, 0.10, 0.10, 3),
        OutcomeKind::Conversion,
    );
    assert_eq!(
        same.recommendation,
        Recommendation::KeepA,
        "{}",
        same.reason
    );
    assert!(same.power >= 0.8);
}

#[test]
fn readout_keeps_collecting_on_small_samples() {
    let r = run(&experiment(300, 50, 0.10, 0.12, 4), OutcomeKind::Conversion);
    assert_eq!(
        r.recommendation,
        Recommendation::KeepCollecting,
        "{}",
        r.reason
    );
    assert!(r.power < 0.8);
}

#[test]
fn sample_ratio_mismatch_wins_over_a_significant_result() {
    let mut e = experiment(40_000, 50, 0.10, 0.13, 5);
    // Lose a third of B's non-converting rows (a logging bug).
    let mut k = 0;
    e.retain(|x| {
        k += 1;
        !(x.arm == Arm::B && x.outcome == Some(0.0) && k % 3 == 0)
    });
    let r = run(&e, OutcomeKind::Conversion);
    assert_eq!(r.recommendation, Recommendation::StopSampleRatioMismatch);
    assert!(r.srm.alarm && r.srm.p_value < 1e-10);
}

#[test]
fn a_mismatch_in_one_segment_stops_the_experiment() {
    let mut e = experiment(40_000, 50, 0.10, 0.10, 6);
    // In FR only, B rows vanish half of the time: overall counts stay plausible-ish but FR
    // is broken.
    let mut k = 0;
    e.retain(|x| {
        k += 1;
        !(x.arm == Arm::B && x.segment.as_deref() == Some("FR") && k % 10 == 0)
    });
    let r = run(&e, OutcomeKind::Conversion);
    let fr = r.segments.iter().find(|s| s.segment == "FR").unwrap();
    assert!(fr.srm.alarm);
    assert_eq!(r.recommendation, Recommendation::StopSampleRatioMismatch);
    assert!(r.reason.contains("FR"), "{}", r.reason);
}

#[test]
fn missing_outcomes_count_as_exposures_only() {
    let mut e = experiment(2_000, 50, 0.10, 0.10, 7);
    for x in e.iter_mut().step_by(4) {
        x.outcome = None;
    }
    let r = run(&e, OutcomeKind::Conversion);
    let total: u64 = r.arms.iter().map(|a| a.exposures).sum();
    let missing: u64 = r.arms.iter().map(|a| a.missing_outcome).sum();
    let with: u64 = r.arms.iter().map(|a| a.with_outcome).sum();
    assert_eq!((total, missing, with), (2_000, 500, 1_500));
    assert_eq!(r.srm.observed.iter().sum::<u64>(), 2_000);
    let zero = readout(
        &e,
        OutcomeKind::Conversion,
        &ReadoutOptions {
            missing_outcome_as_zero: true,
            ..ReadoutOptions::default()
        },
    )
    .unwrap();
    assert_eq!(zero.arms.iter().map(|a| a.with_outcome).sum::<u64>(), 2_000);
    assert!(zero.arms[0].mean < r.arms[0].mean);
}

#[test]
fn numeric_outcomes_use_welch_and_cuped_reduces_variance() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let e: Vec<Exposure> = (0..4_000)
        .map(|i| {
            let arm = assign(&format!("u{i}"), None, 50);
            let pre: f64 = 50.0 + 10.0 * (rng.random::<f64>() - 0.5);
            let lift = if arm == Arm::B { 0.3 } else { 0.0 };
            Exposure {
                arm,
                outcome: Some(pre + lift + (rng.random::<f64>() - 0.5)),
                covariate: (i % 50 != 0).then_some(pre),
                segment: None,
            }
        })
        .collect();
    let r = run(&e, OutcomeKind::Numeric);
    assert!(r.welch.is_some() && r.conversion.is_none());
    let c = r.cuped.as_ref().unwrap();
    assert!(c.variance_reduction > 0.8, "{}", c.variance_reduction);
    assert_eq!(r.covariate_missing, 80);
    // The unadjusted Welch test cannot see a 0.3 lift under a spread of 3; CUPED can.
    assert!(r.welch.as_ref().unwrap().p_value > c.test.p_value);
    assert!(c.test.ci[0] > 0.0, "{:?}", c.test.ci);
}

#[test]
fn empty_arms_and_bad_options_are_errors() {
    let only_a: Vec<Exposure> = experiment(100, 0, 0.1, 0.1, 9);
    let err = readout(&only_a, OutcomeKind::Conversion, &ReadoutOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("arm B has no rows"), "{err}");
    let mut e = experiment(100, 50, 0.1, 0.1, 9);
    for x in e.iter_mut().filter(|x| x.arm == Arm::B) {
        x.outcome = None;
    }
    let err = readout(&e, OutcomeKind::Conversion, &ReadoutOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("arm B") && err.contains("no outcome"), "{err}");
    for bad in [0.0, 100.0, f64::NAN] {
        let o = ReadoutOptions {
            split_percent_b: bad,
            ..ReadoutOptions::default()
        };
        assert!(o.check().unwrap_err().to_string().contains("split"));
    }
    // A single row per arm: no variance, no test, never a recommendation to ship.
    let one = vec![
        Exposure {
            arm: Arm::A,
            outcome: Some(0.0),
            covariate: None,
            segment: None,
        },
        Exposure {
            arm: Arm::B,
            outcome: Some(1.0),
            covariate: None,
            segment: None,
        },
    ];
    let r = run(&one, OutcomeKind::Conversion);
    assert_eq!(
        r.recommendation,
        Recommendation::KeepCollecting,
        "{}",
        r.reason
    );
}

#[test]
fn outcomes_without_variation_keep_collecting() {
    // Everybody converted in both arms: the Wald interval is [0, 0] and the z statistic 0/0.
    let all: Vec<Exposure> = (0..50)
        .map(|i| Exposure {
            arm: if i % 2 == 0 { Arm::A } else { Arm::B },
            outcome: Some(1.0),
            covariate: None,
            segment: None,
        })
        .collect();
    let r = run(&all, OutcomeKind::Conversion);
    assert_eq!(
        r.recommendation,
        Recommendation::KeepCollecting,
        "{}",
        r.reason
    );
    assert!(r.p_value.is_nan() && r.reason.contains("do not vary"));
    // A constant numeric outcome and a constant covariate: the same, through Welch and CUPED.
    let flat: Vec<Exposure> = all
        .iter()
        .map(|e| Exposure {
            outcome: Some(3.5),
            covariate: Some(1.0),
            ..e.clone()
        })
        .collect();
    let r = run(&flat, OutcomeKind::Numeric);
    assert_eq!(
        r.recommendation,
        Recommendation::KeepCollecting,
        "{}",
        r.reason
    );
    assert_eq!(r.cuped.as_ref().unwrap().theta, 0.0);
}

fn window(requests: u64, errors: u64, latency: f64, spread: f64, seed: u64) -> ArmWindow {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    ArmWindow {
        requests,
        errors,
        latencies_ms: (0..requests)
            .map(|_| latency + spread * rng.random::<f64>())
            .collect(),
        predictions: vec![],
    }
}

#[test]
fn canary_decisions() {
    let p = CanaryPolicy::default();
    let base = window(1_000, 3, 50.0, 40.0, 1);
    // Healthy: same latency distribution, few errors.
    let d = analyze(&window(400, 1, 50.0, 40.0, 2), &base, &p);
    assert!(matches!(d, Decision::Healthy { .. }), "{d:?}");
    assert_eq!(d.evidence().canary.requests, 400);
    assert!(d.evidence().latency_test.is_some() && d.evidence().error_test.is_some());
    // Error rate above 1 %.
    let d = analyze(&window(400, 9, 50.0, 40.0, 3), &base, &p);
    let Decision::Unhealthy { reasons, .. } = &d else {
        panic!("{d:?}")
    };
    assert!(
        reasons.iter().any(|r| r.contains("error rate 2.25 %")),
        "{reasons:?}"
    );
    // p95 above 200 ms.
    let d = analyze(&window(400, 0, 150.0, 100.0, 4), &base, &p);
    let Decision::Unhealthy { reasons, .. } = &d else {
        panic!("{d:?}")
    };
    assert!(reasons.iter().any(|r| r.contains("p95")), "{reasons:?}");
    // Slower than the baseline though under the limit.
    let d = analyze(&window(400, 0, 60.0, 40.0, 5), &base, &p);
    let Decision::Unhealthy { reasons, evidence } = &d else {
        panic!("{d:?}")
    };
    assert!(
        reasons.iter().any(|r| r.contains("Mann-Whitney")),
        "{reasons:?}"
    );
    assert!(evidence.latency_test.as_ref().unwrap().p_value < 0.05);
    // Too few requests, none at all, inconsistent counts: inconclusive, never healthy.
    for (c, want) in [
        (window(99, 0, 50.0, 40.0, 6), "fewer than the 100"),
        (ArmWindow::default(), "no requests"),
        (
            ArmWindow {
                requests: 10,
                errors: 11,
                latencies_ms: vec![],
                predictions: vec![],
            },
            "inconsistent",
        ),
    ] {
        let d = analyze(&c, &base, &p);
        let Decision::Inconclusive { reason, .. } = &d else {
            panic!("{d:?}")
        };
        assert!(reason.contains(want), "{reason}");
    }
    // Every request failed: unhealthy.
    let d = analyze(
        &ArmWindow {
            requests: 500,
            errors: 500,
            latencies_ms: vec![],
            predictions: vec![],
        },
        &base,
        &p,
    );
    assert!(matches!(d, Decision::Unhealthy { .. }), "{d:?}");
    // Latencies all unusable: inconclusive, and they are counted.
    let d = analyze(
        &ArmWindow {
            requests: 500,
            errors: 0,
            latencies_ms: vec![f64::NAN, -1.0],
            predictions: vec![],
        },
        &base,
        &p,
    );
    let Decision::Inconclusive { reason, evidence } = &d else {
        panic!("{d:?}")
    };
    assert!(reason.contains("latency"), "{reason}");
    assert_eq!(evidence.canary.ignored_samples, 2);
    // A baseline too small to compare with.
    let d = analyze(
        &window(400, 0, 50.0, 40.0, 7),
        &window(20, 0, 50.0, 40.0, 8),
        &p,
    );
    let Decision::Inconclusive { reason, .. } = &d else {
        panic!("{d:?}")
    };
    assert!(reason.contains("baseline"), "{reason}");
}

#[test]
fn canary_p95_is_numpys_linear_percentile() {
    let w = ArmWindow {
        requests: 5,
        errors: 0,
        latencies_ms: vec![10.0, 20.0, 30.0, 40.0, 50.0],
        predictions: vec![],
    };
    let d = analyze(&w, &w, &CanaryPolicy::default());
    // np.percentile([10, 20, 30, 40, 50], 95) == 48.0
    assert_eq!(d.evidence().canary.p95_ms, Some(48.0));
}

#[test]
fn canary_controller_steps_promotes_and_rolls_back() {
    let plan = CanaryPlan::default();
    let p = CanaryPolicy::default();
    let base = window(1_000, 3, 50.0, 40.0, 1);
    let healthy = analyze(&window(400, 1, 50.0, 40.0, 2), &base, &p);
    let unhealthy = analyze(&window(400, 40, 50.0, 40.0, 3), &base, &p);
    let inconclusive = analyze(&ArmWindow::default(), &base, &p);
    let mut s = CanaryState::start(&plan);
    let mut seen = Vec::new();
    while let CanaryState::Running { percent, .. } = s {
        seen.push(percent);
        s = s.next(&plan, &healthy);
    }
    assert_eq!(seen, (1..=10).map(|k| k * 5).collect::<Vec<u8>>());
    assert_eq!(s, CanaryState::Promoted);
    assert_eq!(s.next(&plan, &unhealthy), CanaryState::Promoted, "final");
    // Rollback at once on an unhealthy window.
    let s = CanaryState::start(&plan)
        .next(&plan, &healthy)
        .next(&plan, &healthy);
    let CanaryState::RolledBack {
        at_percent,
        reasons,
    } = s.next(&plan, &unhealthy)
    else {
        panic!()
    };
    assert_eq!(at_percent, 15);
    assert!(!reasons.is_empty());
    // Inconclusive holds the step; a healthy window resets the streak; three in a row roll
    // back.
    let s = CanaryState::start(&plan).next(&plan, &inconclusive);
    assert_eq!(
        s,
        CanaryState::Running {
            percent: 5,
            inconclusive_streak: 1
        }
    );
    let s = s.next(&plan, &inconclusive).next(&plan, &healthy);
    assert_eq!(
        s,
        CanaryState::Running {
            percent: 10,
            inconclusive_streak: 0
        }
    );
    let s = s
        .next(&plan, &inconclusive)
        .next(&plan, &inconclusive)
        .next(&plan, &inconclusive);
    assert!(
        matches!(s, CanaryState::RolledBack { at_percent: 10, .. }),
        "{s:?}"
    );
}

/// `canary::ks_statistic` against `scipy.stats.ks_2samp(a, b).statistic`
/// (`reference/ks_reference.py` wrote `reference/ks_reference.json`).
#[test]
fn prediction_drift_statistic_equals_scipy() {
    let r: serde_json::Value =
        serde_json::from_str(include_str!("reference/ks_reference.json")).unwrap();
    let cases = r["cases"].as_array().unwrap();
    assert!(cases.len() >= 6);
    for c in cases {
        let sorted = |k: &str| {
            let mut v: Vec<f64> = c[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let got = slipway_rollout::canary::ks_statistic(&sorted("a"), &sorted("b"));
        let want = c["statistic"].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-12,
            "{}: {got} vs {want}",
            c["name"]
        );
    }
}

#[test]
fn prediction_drift_rolls_back_only_when_on_and_above_the_limit() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let mut arm = |shift: f64, seed: u64| {
        let mut w = window(400, 0, 50.0, 40.0, seed);
        w.predictions = (0..400).map(|_| shift + rng.random::<f64>()).collect();
        w
    };
    let base = arm(0.0, 31);
    let same = arm(0.0, 32);
    let drifted = arm(0.4, 33);
    // Off by default: drifted predictions alone do not fail a canary.
    let off = CanaryPolicy::default();
    let d = analyze(&drifted, &base, &off);
    assert!(matches!(d, Decision::Healthy { .. }), "{d:?}");
    assert!(d.evidence().prediction_drift.is_none());
    let on = CanaryPolicy {
        max_prediction_drift: Some(0.2),
        ..CanaryPolicy::default()
    };
    let d = analyze(&same, &base, &on);
    assert!(matches!(d, Decision::Healthy { .. }), "{d:?}");
    let pd = d.evidence().prediction_drift.clone().unwrap();
    assert!(
        pd.value < 0.2 && pd.canary_n == 400 && pd.baseline_n == 400,
        "{pd:?}"
    );
    let d = analyze(&drifted, &base, &on);
    let Decision::Unhealthy { reasons, evidence } = &d else {
        panic!("{d:?}")
    };
    assert!(
        reasons.iter().any(|r| r.contains("prediction drift")),
        "{reasons:?}"
    );
    let v = evidence.prediction_drift.as_ref().unwrap().value;
    assert!(v > 0.3, "{v}");
    // The decision records the value.
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["evidence"]["prediction_drift"]["value"], v);
    // On, but nothing to compare: never healthy.
    let mut blind = same.clone();
    blind.predictions.clear();
    let d = analyze(&blind, &base, &on);
    assert!(matches!(d, Decision::Inconclusive { .. }), "{d:?}");
}
