//! Slipway's fairness metrics against Fairlearn 0.15 and scikit-learn (calibration by group:
//! `brier_score_loss`, and the expected calibration error over `calibration_curve`'s bins;
//! the figures in
//! `tests/reference/fairness_reference.json`, written by `fairness_reference.py`), to 1e-12
//! (the bar; every figure, Adult and edge cases, passes it).

use serde_json::Value;
use slipway_govern::fairness::{
    Batch, Estimate, FairnessAccumulator, FairnessOptions, FairnessReport, GroupMetrics, Protected,
    Summary, evaluate,
};

const TOL: f64 = 1e-12;

fn reference() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/fairness_reference.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn close(what: &str, ours: &Estimate, theirs: &Value) {
    match (ours.value, theirs.as_f64()) {
        (Some(a), Some(b)) => assert!((a - b).abs() <= TOL, "{what}: ours {a}, Fairlearn {b}"),
        (None, None) => assert!(ours.note.is_some(), "{what}: not computable without a note"),
        (a, b) => panic!("{what}: ours {a:?}, Fairlearn {b:?}"),
    }
}

fn compare_group(ctx: &str, g: &GroupMetrics, r: &Value) {
    assert_eq!(g.count as u64, r["count"].as_u64().unwrap(), "{ctx} count");
    let ctx = format!("{ctx} group {}", g.group);
    close(
        &format!("{ctx} selection_rate"),
        &g.selection_rate,
        &r["selection_rate"],
    );
    close(&format!("{ctx} accuracy"), &g.accuracy, &r["accuracy"]);
    close(
        &format!("{ctx} TPR"),
        &g.true_positive_rate,
        &r["true_positive_rate"],
    );
    close(
        &format!("{ctx} FPR"),
        &g.false_positive_rate,
        &r["false_positive_rate"],
    );
    close(
        &format!("{ctx} FNR"),
        &g.false_negative_rate,
        &r["false_negative_rate"],
    );
    close(&format!("{ctx} precision"), &g.precision, &r["precision"]);
    close(&format!("{ctx} roc_auc"), &g.roc_auc, &r["roc_auc"]);
    close(&format!("{ctx} base_rate"), &g.base_rate, &r["base_rate"]);
    for (name, ours) in [
        ("mean_score", &g.mean_score),
        ("brier_score", &g.brier_score),
        ("calibration_error", &g.calibration_error),
    ] {
        close(&format!("{ctx} {name}"), ours, &r[name]);
    }
}

fn compare_summary(ctx: &str, s: &Summary, r: &Value) {
    let pairs = [
        (
            "demographic_parity_difference",
            &s.demographic_parity_difference,
        ),
        ("demographic_parity_ratio", &s.demographic_parity_ratio),
        ("equalized_odds_difference", &s.equalized_odds_difference),
        ("equalized_odds_ratio", &s.equalized_odds_ratio),
        (
            "equal_opportunity_difference",
            &s.equal_opportunity_difference,
        ),
    ];
    for (name, ours) in pairs {
        close(&format!("{ctx} {name}"), ours, &r[name]);
    }
    assert_eq!(
        s.disparate_impact_ratio.value,
        s.demographic_parity_ratio.value
    );
}

fn compare(ctx: &str, report: &FairnessReport, refs: &[Value]) {
    assert_eq!(report.attributes.len(), refs.len(), "{ctx}");
    for (a, r) in report.attributes.iter().zip(refs) {
        let ctx = format!("{ctx} {}", a.attribute);
        let cols: Vec<&str> = r["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(a.columns, cols, "{ctx}");
        let groups = r["groups"].as_array().unwrap();
        let names: Vec<&str> = groups
            .iter()
            .map(|g| g["group"].as_str().unwrap())
            .collect();
        let ours: Vec<&str> = a.groups.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(ours, names, "{ctx}: groups");
        for (g, rg) in a.groups.iter().zip(groups) {
            compare_group(&ctx, g, rg);
        }
        compare_summary(&ctx, &a.summary, &r["summary"]);
    }
}

/// Labels, predictions, scores, sex and race of the 4,000 Adult rows.
type Adult = (
    Vec<bool>,
    Vec<bool>,
    Vec<f64>,
    Vec<Option<String>>,
    Vec<Option<String>>,
);

fn adult() -> Adult {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/fairness_adult.csv"
    ))
    .unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("label,prediction,score,sex,race"));
    let (mut y, mut p, mut s, mut sex, mut race) = (vec![], vec![], vec![], vec![], vec![]);
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        y.push(f[0] == "1");
        p.push(f[1] == "1");
        s.push(f[2].parse::<f64>().unwrap());
        sex.push(Some(f[3].to_string()));
        race.push(Some(f[4].to_string()));
    }
    assert_eq!(y.len(), 4000);
    (y, p, s, sex, race)
}

#[test]
fn adult_by_sex_race_and_their_intersection_equal_fairlearn() {
    let r = reference();
    assert_eq!(r["versions"]["fairlearn"], "0.15.0");
    let (y, p, s, sex, race) = adult();
    let opts = FairnessOptions {
        intersect: true,
        bootstrap: 200,
        seed: 3,
        ..FairnessOptions::default()
    };
    let prot = [
        Protected {
            name: "sex",
            values: &sex,
        },
        Protected {
            name: "race",
            values: &race,
        },
    ];
    let report = evaluate(&y, &p, Some(&s), &prot, &opts).unwrap();
    compare("adult", &report, r["adult"].as_array().unwrap());
    // Some intersections are tiny (fewer than 30 rows) and flagged.
    let inter = &report.attributes[2];
    assert_eq!(inter.attribute, "sex & race");
    assert!(inter.groups.iter().any(|g| g.small) && inter.groups.iter().any(|g| !g.small));
    // The model selects women far less often: the four-fifths rule and the 0.1 bound fail.
    let by_sex = &report.attributes[0];
    assert_eq!(by_sex.summary.four_fifths_rule, Some(false));
    assert!(!by_sex.passed && !report.passed);
    for g in &by_sex.groups {
        let [lo, hi] = g.selection_rate.ci.unwrap();
        let v = g.selection_rate.value.unwrap();
        assert!(lo < v && v < hi, "{}: {lo} {v} {hi}", g.group);
    }
    let [lo, hi] = by_sex.summary.equalized_odds_difference.ci.unwrap();
    assert!(lo < hi);
}

#[test]
fn edge_cases_equal_fairlearn() {
    let r = reference();
    for case in r["edge_cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let bools = |k: &str| -> Vec<bool> {
            case[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64() == Some(1))
                .collect()
        };
        let y = bools("y_true");
        let p = bools("y_pred");
        let s: Vec<f64> = case["score"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let g: Vec<Option<String>> = case["protected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect();
        let report = evaluate(
            &y,
            &p,
            Some(&s),
            &[Protected {
                name: "g",
                values: &g,
            }],
            &FairnessOptions {
                bootstrap: 50,
                ..FairnessOptions::default()
            },
        )
        .unwrap();
        compare(name, &report, std::slice::from_ref(case));
        let summary = &report.attributes[0].summary;
        if name == "zero_selection" {
            assert_eq!(summary.four_fifths_rule, None);
            assert!(!report.attributes[0].checks[1].passed);
        }
        if name == "one_class_group_and_size_one" {
            let b = &report.attributes[0].groups[1];
            assert!(
                b.notes.iter().any(|n| n.contains("no actual positives")),
                "{:?}",
                b.notes
            );
            assert!(
                b.roc_auc
                    .note
                    .as_deref()
                    .unwrap()
                    .contains("one class only")
            );
        }
    }
}

/// The Adult rows pushed in batches of `size` (the last one shorter).
fn streamed(d: &Adult, size: usize, opts: &FairnessOptions, cap: Option<usize>) -> FairnessReport {
    let (y, p, s, sex, race) = d;
    let mut acc = FairnessAccumulator::new(&["sex", "race"], opts).unwrap();
    if let Some(cap) = cap {
        acc = acc.with_max_distinct_scores(cap);
    }
    let mut at = 0;
    while at < y.len() {
        let end = (at + size).min(y.len());
        acc.push(&Batch {
            offset: at as u64,
            y_true: &y[at..end],
            y_pred: &p[at..end],
            scores: Some(&s[at..end]),
            protected: &[&sex[at..end], &race[at..end]],
        })
        .unwrap();
        at = end;
    }
    acc.finish().unwrap()
}

#[test]
fn streamed_batches_give_the_one_batch_report_bit_for_bit() {
    let d = adult();
    let opts = FairnessOptions {
        intersect: true,
        bootstrap: 200,
        seed: 5,
        ..FairnessOptions::default()
    };
    let whole = serde_json::to_value(streamed(&d, d.0.len(), &opts, None)).unwrap();
    for size in [1000, 333, 1] {
        let parts = serde_json::to_value(streamed(&d, size, &opts, None)).unwrap();
        assert!(parts == whole, "batches of {size} differ from one batch");
    }
    // And the streamed figures are Fairlearn's.
    let r = reference();
    compare(
        "adult streamed",
        &streamed(&d, 1000, &opts, None),
        r["adult"].as_array().unwrap(),
    );
}

#[test]
fn bootstrap_auc_intervals_bracket_the_exact_auc_on_adult() {
    let d = adult();
    let opts = FairnessOptions {
        intersect: true,
        bootstrap: 500,
        seed: 9,
        ..FairnessOptions::default()
    };
    let report = streamed(&d, 1000, &opts, None);
    let mut checked = 0;
    for a in &report.attributes {
        for g in a.groups.iter().filter(|g| !g.small) {
            let Some(v) = g.roc_auc.value else { continue };
            let [lo, hi] = g.roc_auc.ci.unwrap();
            assert!(
                lo < v && v < hi,
                "{} {}: {lo} {v} {hi}",
                a.attribute,
                g.group
            );
            // Below the cap the tally is exact: no truncation note.
            assert!(
                g.notes.iter().all(|n| !n.contains("truncated")),
                "{:?}",
                g.notes
            );
            checked += 1;
        }
    }
    assert!(checked >= 6, "{checked}");
}

#[test]
fn a_capped_tally_truncates_scores_and_bounds_the_auc_error() {
    let d = adult();
    let opts = FairnessOptions {
        bootstrap: 200,
        seed: 9,
        ..FairnessOptions::default()
    };
    let exact = streamed(&d, 4000, &opts, None);
    let capped = streamed(&d, 700, &opts, Some(64));
    let (mut truncated, mut moved) = (0, 0);
    for (ea, ca) in exact.attributes.iter().zip(&capped.attributes) {
        for (e, c) in ea.groups.iter().zip(&ca.groups) {
            // Counts and rates do not depend on the tally.
            assert_eq!(e.selection_rate.value, c.selection_rate.value);
            assert_eq!(e.brier_score.value, c.brier_score.value);
            let (Some(ev), Some(cv)) = (e.roc_auc.value, c.roc_auc.value) else {
                continue;
            };
            let Some(note) = c.notes.iter().find(|n| n.contains("truncated")) else {
                assert_eq!(ev, cv, "{}: an untruncated tally is exact", c.group);
                continue;
            };
            truncated += 1;
            let bound: f64 = note
                .rsplit("within ")
                .next()
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                (ev - cv).abs() <= bound * 1.01 + 1e-15,
                "{}: {ev} {cv} {bound}",
                c.group
            );
            if ev != cv {
                moved += 1;
            }
            assert_eq!(c.roc_auc.note.as_deref(), Some(note.as_str()));
            let [lo, hi] = c.roc_auc.ci.unwrap();
            if !c.small {
                assert!(lo <= cv && cv <= hi, "{}: {lo} {cv} {hi}", c.group);
            }
        }
    }
    assert!(truncated >= 2 && moved >= 1, "{truncated} {moved}");
}
