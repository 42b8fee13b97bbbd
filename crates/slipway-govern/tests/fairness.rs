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

/// Labels, predictions, scores and the protected column of synthetic rows.
type Rows = (Vec<bool>, Vec<bool>, Vec<f64>, Vec<Option<String>>);

/// Rows of one group: `n` rows, `pos` of them actual positives, `sel_pos` of those and
/// `sel_neg` of the negatives predicted positive; scores `score_pos` / `score_neg`.
#[allow(clippy::too_many_arguments)]
fn rows(
    out: &mut Rows,
    group: &str,
    n: usize,
    pos: usize,
    sel_pos: usize,
    sel_neg: usize,
    score_pos: f64,
    score_neg: f64,
) {
    for i in 0..n {
        let y = i < pos;
        let p = if y { i < sel_pos } else { i - pos < sel_neg };
        out.0.push(y);
        out.1.push(p);
        out.2.push(if y { score_pos } else { score_neg });
        out.3.push(Some(group.to_string()));
    }
}

fn report_of(d: &Rows) -> slipway_govern::fairness::AttributeReport {
    let r = evaluate(
        &d.0,
        &d.1,
        Some(&d.2),
        &[Protected {
            name: "g",
            values: &d.3,
        }],
        &FairnessOptions {
            bootstrap: 200,
            ..FairnessOptions::default()
        },
    )
    .unwrap();
    r.attributes.into_iter().next().unwrap()
}

/// The recommendation on `name` (the test fails when there is none).
fn topic<'a>(
    a: &'a slipway_govern::fairness::AttributeReport,
    name: &str,
) -> &'a slipway_govern::fairness::Recommendation {
    a.recommendations
        .iter()
        .find(|r| r.topic == name)
        .unwrap_or_else(|| panic!("no {name} recommendation: {:?}", a.recommendations))
}

#[test]
fn recommendations_quote_the_groups_and_rates_that_raise_them() {
    // Equal base rates (40 %), but a is selected at 10 % and b at 40 %: the model, not the
    // labels, makes the gap; a's TPR is 25 % against 100 %.
    let mut d = Rows::default();
    rows(&mut d, "a", 400, 160, 40, 0, 0.4, 0.4);
    rows(&mut d, "b", 400, 160, 160, 0, 0.4, 0.4);
    rows(&mut d, "c", 10, 5, 5, 0, 0.5, 0.5);
    let a = report_of(&d);
    let topics: Vec<&str> = a.recommendations.iter().map(|r| r.topic.as_str()).collect();
    assert!(topics.contains(&"small_groups"), "{topics:?}");
    let small = &a.recommendations[0];
    assert!(small.finding.contains("c (10 rows)"), "{}", small.finding);
    let dp = topic(&a, "demographic_parity");
    assert!(
        dp.finding.contains("a is selected at 10.0 %") && dp.finding.contains("b at 40.0 %"),
        "{}",
        dp.finding
    );
    assert!(
        dp.suggestion.contains("labels do not explain it") && dp.suggestion.contains("reweighing"),
        "{}",
        dp.suggestion
    );
    let eo = topic(&a, "equalized_odds");
    assert!(
        eo.finding.contains("from the TPR") && eo.finding.contains("25.0 % of a's"),
        "{}",
        eo.finding
    );
    // Calibration: every score 0.4 against 40 % positives in a and b: calibrated, so no
    // calibration finding.
    assert!(!topics.contains(&"calibration"), "{topics:?}");

    // Base rates 10 % and 50 %, selection rates 10 % and 50 %: the labels explain the gap.
    let mut d = Rows::default();
    rows(&mut d, "x", 500, 50, 50, 0, 0.9, 0.1);
    rows(&mut d, "y", 500, 250, 250, 0, 0.9, 0.1);
    let a = report_of(&d);
    let dp = topic(&a, "demographic_parity");
    assert!(
        dp.suggestion.contains("the labels differ too"),
        "{}",
        dp.suggestion
    );
    assert!(dp.suggestion.contains("x's actual positive rate is 10.0 %"));
    // Perfect predictions: equalized odds 0, no finding.
    assert!(
        a.recommendations
            .iter()
            .all(|r| r.topic != "equalized_odds")
    );
    // Scores: x's mean 0.18 vs 10 % positives (over by 8 %), y's 0.5 vs 50 %: a calibration
    // finding naming x.
    let cal = topic(&a, "calibration");
    assert!(
        cal.finding.contains("x's mean score is 18.0 %"),
        "{}",
        cal.finding
    );
}

#[test]
fn fair_figures_raise_nothing_and_one_class_groups_are_named() {
    let mut d = Rows::default();
    rows(&mut d, "a", 300, 150, 120, 30, 0.5, 0.5);
    rows(&mut d, "b", 300, 150, 120, 30, 0.5, 0.5);
    let a = report_of(&d);
    assert!(a.passed);
    assert!(a.recommendations.is_empty(), "{:?}", a.recommendations);

    let mut d = Rows::default();
    rows(&mut d, "a", 300, 150, 120, 30, 0.5, 0.5);
    rows(&mut d, "b", 300, 0, 0, 90, 0.5, 0.5);
    let a = report_of(&d);
    let u = topic(&a, "undefined_rates");
    assert!(
        u.finding.contains("b (no actual positives)"),
        "{}",
        u.finding
    );
}

#[test]
fn streamed_batches_must_come_in_order_and_agree_on_scores() {
    use slipway_govern::fairness::{Batch, FairnessAccumulator};
    let g = col(&["a", "b", "a"]);
    let opts = FairnessOptions::default();
    let mut acc = FairnessAccumulator::new(&["g"], &opts).unwrap();
    let batch = |offset, scores: Option<&'static [f64]>| Batch {
        offset,
        y_true: &[true, false, true],
        y_pred: &[true, true, false],
        scores,
        protected: &[],
    };
    let e = acc.push(&batch(0, None)).unwrap_err();
    assert!(e.0.contains("0 protected columns in a batch for 1"), "{e}");
    let cols: [&[Option<String>]; 1] = [&g];
    let ok = |offset, scores| Batch {
        protected: &cols,
        ..batch(offset, scores)
    };
    acc.push(&ok(0, Some(&[0.9, 0.2, 0.4]))).unwrap();
    let e = acc.push(&ok(5, Some(&[0.9, 0.2, 0.4]))).unwrap_err();
    assert!(e.0.contains("starting at row 6 follows 3 rows"), "{e}");
    let e = acc.push(&ok(3, None)).unwrap_err();
    assert!(
        e.0.contains("has no scores where the rows before it had them"),
        "{e}"
    );
    let e = acc.push(&ok(3, Some(&[0.1, f64::NAN, 0.3]))).unwrap_err();
    assert!(e.0.contains("score of row 5 is NaN"), "{e}");
    // Failed pushes added nothing.
    assert_eq!(acc.rows(), 3);
    assert_eq!(acc.finish().unwrap().rows, 3);
    let empty = FairnessAccumulator::new(&["g"], &opts).unwrap();
    assert_eq!(empty.finish().unwrap_err().0, "no rows to evaluate");
    assert!(FairnessAccumulator::new(&[], &opts).is_err());
}

#[test]
fn a_group_absent_from_a_poisson_replicate_is_left_out_of_it() {
    // One row in group "z": it draws weight 0 in about 37 % of the replicates, which then
    // compare the other groups only; the intervals exist and hold the point value.
    let n = 401;
    let y: Vec<bool> = (0..n).map(|i| i % 2 == 0).collect();
    let p: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
    let g: Vec<Option<String>> = (0..n)
        .map(|i| {
            Some(if i == 0 {
                "z".into()
            } else {
                format!("g{}", i % 2)
            })
        })
        .collect();
    let opts = FairnessOptions {
        bootstrap: 300,
        seed: 1,
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
    let z = &r.attributes[0].groups[2];
    assert_eq!((z.group.as_str(), z.count), ("z", 1));
    assert!(z.selection_rate.ci.is_some());
    let s = &r.attributes[0].summary.demographic_parity_difference;
    let [lo, hi] = s.ci.unwrap();
    assert!(
        lo <= s.value.unwrap() && s.value.unwrap() <= hi && lo < hi,
        "{s:?}"
    );
}
