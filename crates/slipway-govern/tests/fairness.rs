//! `slipway_govern::fairness` on hand-made data: counts, missing groups, bad input, the
//! seeded bootstrap.

use slipway_govern::fairness::{FairnessOptions, MISSING_GROUP, Protected, evaluate};

fn col(v: &[&str]) -> Vec<Option<String>> {
    v.iter()
        .map(|s| (!s.is_empty()).then(|| s.to_string()))
        .collect()
}

#[test]
fn hand_counts_and_summaries() {
    // Group a: TP, FN, FP, TN → sel 0.5, TPR 0.5, FPR 0.5. Group b: TP, TN → sel 0.5,
    // TPR 1, FPR 0.
    let y = [true, true, false, false, true, false];
    let p = [true, false, true, false, true, false];
    let g = col(&["a", "a", "a", "a", "b", "b"]);
    let opts = FairnessOptions {
        bootstrap: 0,
        ..FairnessOptions::default()
    };
    let r = evaluate(
        &y,
        &p,
        None,
        &[Protected {
            name: "g",
            values: &g,
        }],
        &opts,
    )
    .unwrap();
    let a = &r.attributes[0];
    assert_eq!(a.groups.len(), 2);
    assert_eq!(a.groups[0].true_positive_rate.value, Some(0.5));
    assert_eq!(a.groups[1].false_positive_rate.value, Some(0.0));
    assert_eq!(a.summary.demographic_parity_difference.value, Some(0.0));
    assert_eq!(a.summary.equalized_odds_difference.value, Some(0.5));
    assert_eq!(a.summary.equalized_odds_ratio.value, Some(0.0));
    assert_eq!(a.summary.equal_opportunity_difference.value, Some(0.5));
    assert!(a.groups.iter().all(|g| g.small));
    assert!(a.groups[0].roc_auc.value.is_none());
}

#[test]
fn missing_values_form_their_own_group_and_bad_lengths_fail() {
    let y = [true, false, true];
    let p = [true, false, false];
    let g = col(&["x", "", ""]);
    let prot = [Protected {
        name: "g",
        values: &g,
    }];
    let r = evaluate(&y, &p, None, &prot, &FairnessOptions::default()).unwrap();
    let names: Vec<&str> = r.attributes[0]
        .groups
        .iter()
        .map(|g| g.group.as_str())
        .collect();
    assert_eq!(names, vec![MISSING_GROUP, "x"]);
    let e = evaluate(&y, &p[..2], None, &prot, &FairnessOptions::default()).unwrap_err();
    assert!(e.0.contains("2 predictions for 3 labels"), "{e}");
    let short = col(&["x"]);
    let e = evaluate(
        &y,
        &p,
        None,
        &[Protected {
            name: "sex",
            values: &short,
        }],
        &FairnessOptions::default(),
    )
    .unwrap_err();
    assert!(e.0.contains("\"sex\""), "{e}");
}

#[test]
fn bootstrap_is_seeded_and_brackets_the_estimate() {
    let n = 600;
    let y: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
    let p: Vec<bool> = (0..n).map(|i| i % 4 == 0 || i % 7 == 0).collect();
    let s: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 / 101.0).collect();
    let g: Vec<Option<String>> = (0..n).map(|i| Some(format!("g{}", i % 2))).collect();
    let prot = [Protected {
        name: "g",
        values: &g,
    }];
    let opts = FairnessOptions {
        bootstrap: 200,
        seed: 7,
        ..FairnessOptions::default()
    };
    let a = evaluate(&y, &p, Some(&s), &prot, &opts).unwrap();
    let b = evaluate(&y, &p, Some(&s), &prot, &opts).unwrap();
    let ga = &a.attributes[0].groups[0];
    assert_eq!(ga.selection_rate, b.attributes[0].groups[0].selection_rate);
    for e in [
        &ga.selection_rate,
        &ga.true_positive_rate,
        &ga.roc_auc,
        &a.attributes[0].summary.equalized_odds_difference,
    ] {
        let [lo, hi] = e.ci.unwrap();
        let v = e.value.unwrap();
        assert!(lo <= v && v <= hi && lo < hi, "{e:?}");
    }
    let other = evaluate(
        &y,
        &p,
        Some(&s),
        &prot,
        &FairnessOptions { seed: 8, ..opts },
    )
    .unwrap();
    assert_ne!(
        other.attributes[0].groups[0].selection_rate.ci,
        ga.selection_rate.ci
    );
}

#[test]
fn bootstrap_intervals_do_not_depend_on_the_thread_count() {
    let n = 500;
    let y: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
    let p: Vec<bool> = (0..n).map(|i| i % 5 < 2).collect();
    let s: Vec<f64> = (0..n).map(|i| ((i * 53) % 97) as f64 / 97.0).collect();
    let g: Vec<Option<String>> = (0..n)
        .map(|i| (i % 7 != 0).then(|| format!("g{}", i % 3)))
        .collect();
    let prot = [Protected {
        name: "g",
        values: &g,
    }];
    let opts = FairnessOptions {
        bootstrap: 100,
        seed: 11,
        ..FairnessOptions::default()
    };
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| evaluate(&y, &p, Some(&s), &prot, &opts).unwrap())
    };
    let one = serde_json::to_value(run(1).attributes).unwrap();
    let three = serde_json::to_value(run(3).attributes).unwrap();
    assert_eq!(one, three);
    assert!(one[0]["groups"][0]["roc_auc"]["ci"].is_array());
}
