//! Slipway's fairness mitigation against the reference libraries: reweighing against
//! AIF360 0.6.1's `Reweighing` (`tests/reference/mitigation/reweighing.json`, written by
//! `make_reweighing.py`), and per-group thresholds against Fairlearn 0.15's
//! `ThresholdOptimizer` on the same scores (`thresholds.json`, `make_thresholds.py`), to 1e-12.

use serde_json::Value;
use slipway_govern::mitigation::GroupCodes;
use slipway_govern::mitigation::reweighing::Reweighing;
use slipway_govern::mitigation::thresholds::{
    Constraint, Objective, ThresholdRule, keyed_draw, row_draw,
};

const TOL: f64 = 1e-12;

fn reference() -> Value {
    reference_file("reweighing.json")
}

fn reference_file(name: &str) -> Value {
    let path = format!(
        "{}/tests/reference/mitigation/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The committed Adult fixture's label, sex and race columns.
fn fixture() -> (Vec<u32>, Vec<String>, Vec<String>) {
    let (y, sex, race, _) = fixture_with_scores();
    (y, sex, race)
}

/// The fixture's columns and its `score` column.
fn fixture_with_scores() -> (Vec<u32>, Vec<String>, Vec<String>, Vec<f64>) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/fairness_adult.csv"
    ))
    .unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let (il, is, ir, ic) = (col("label"), col("sex"), col("race"), col("score"));
    let (mut y, mut sex, mut race, mut score) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        y.push(f[il].parse().unwrap());
        sex.push(f[is].to_string());
        race.push(f[ir].to_string());
        score.push(f[ic].parse().unwrap());
    }
    (y, sex, race, score)
}

fn check(case: &str, groups: &[String], y: &[u32], base: Option<&[f64]>) {
    let r = &reference()["cases"][case]["cells"];
    let codes =
        GroupCodes::from_values(&groups.iter().map(|g| Some(g.clone())).collect::<Vec<_>>());
    let classes = vec!["0".to_string(), "1".to_string()];
    let fit = Reweighing::fit("g", &codes, y, &classes, base).unwrap();
    let w = fit.row_weights(&codes, y, base).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for (i, (g, &l)) in groups.iter().zip(y).enumerate() {
        let key = format!("{g}|{l}");
        let theirs = r[&key]
            .as_f64()
            .unwrap_or_else(|| panic!("{case}: no cell {key}"));
        assert!(
            (w[i] - theirs).abs() <= TOL,
            "{case} row {i} ({key}): ours {}, AIF360 {theirs}",
            w[i]
        );
        seen.insert(key);
    }
    assert_eq!(seen.len(), r.as_object().unwrap().len(), "{case}: cells");
}

#[test]
fn reweighing_by_sex_equals_aif360() {
    let (y, sex, _) = fixture();
    check("sex", &sex, &y, None);
}

#[test]
fn reweighing_by_race_equals_aif360_group_by_group() {
    let (y, _, race) = fixture();
    check("race", &race, &y, None);
}

#[test]
fn reweighing_over_balanced_class_weights_equals_aif360_with_instance_weights() {
    let (y, sex, _) = fixture();
    let n = y.len() as f64;
    let pos = y.iter().filter(|&&l| l == 1).count() as f64;
    // scikit-learn's compute_sample_weight("balanced"): n / (n_classes · count).
    let base: Vec<f64> = y
        .iter()
        .map(|&l| n / (2.0 * if l == 1 { pos } else { n - pos }))
        .collect();
    check("sex_balanced", &sex, &y, Some(&base));
}

#[test]
fn a_group_with_no_positives_gets_aif360s_weights_and_a_note() {
    let r = &reference()["cases"]["no_positives"];
    let groups: Vec<String> = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect();
    let y: Vec<u32> = r["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_u64().unwrap() as u32)
        .collect();
    check("no_positives", &groups, &y, None);
    let codes =
        GroupCodes::from_values(&groups.iter().map(|g| Some(g.clone())).collect::<Vec<_>>());
    let classes = vec!["0".to_string(), "1".to_string()];
    let fit = Reweighing::fit("g", &codes, &y, &classes, None).unwrap();
    assert_eq!(fit.notes.len(), 1, "{:?}", fit.notes);
    assert!(fit.notes[0].contains("group \"c\""), "{}", fit.notes[0]);
}

fn json_f64(v: &Value) -> f64 {
    match v.as_str() {
        Some("inf") => f64::INFINITY,
        Some("-inf") => f64::NEG_INFINITY,
        _ => v.as_f64().unwrap(),
    }
}

fn near(what: &str, ours: f64, theirs: &Value) {
    let t = json_f64(theirs);
    assert!(
        ours == t || (ours - t).abs() <= TOL,
        "{what}: ours {ours}, Fairlearn {t}"
    );
}

#[test]
fn per_group_thresholds_equal_fairlearns_threshold_optimizer() {
    let r = reference_file("thresholds.json");
    let (y, sex, race, scores) = fixture_with_scores();
    let labels: Vec<bool> = y.iter().map(|&l| l == 1).collect();
    for (col, values) in [("sex", &sex), ("race", &race)] {
        let codes =
            GroupCodes::from_values(&values.iter().map(|g| Some(g.clone())).collect::<Vec<_>>());
        for c in [Constraint::DemographicParity, Constraint::EqualizedOdds] {
            let case = format!("{col}/{}", c.name());
            let theirs = &r["cases"][&case];
            let rule = ThresholdRule::fit(col, c, &scores, &labels, &codes, 1000).unwrap();
            near(&format!("{case} x_best"), rule.x_best, &theirs["x_best"]);
            near(&format!("{case} y_best"), rule.y_best, &theirs["y_best"]);
            let groups = theirs["groups"].as_object().unwrap();
            assert_eq!(rule.groups.len(), groups.len(), "{case}");
            for g in &rule.groups {
                let t = &groups[&g.group];
                let ctx = format!("{case} {}", g.group);
                near(&format!("{ctx} p0"), g.p0, &t["p0"]);
                near(&format!("{ctx} p1"), g.p1, &t["p1"]);
                near(
                    &format!("{ctx} threshold0"),
                    g.threshold0.0,
                    &t["threshold0"],
                );
                near(
                    &format!("{ctx} threshold1"),
                    g.threshold1.0,
                    &t["threshold1"],
                );
                near(&format!("{ctx} p_ignore"), g.p_ignore, &t["p_ignore"]);
            }
            // The probabilities (Fairlearn's _pmf_predict) give the same expected selection
            // rates and accuracy.
            let p: Vec<f64> = values
                .iter()
                .zip(&scores)
                .map(|(g, &s)| rule.probability(g, s).unwrap())
                .collect();
            for g in &rule.groups {
                let rows: Vec<usize> = (0..p.len()).filter(|&i| values[i] == g.group).collect();
                let mean = rows.iter().map(|&i| p[i]).sum::<f64>() / rows.len() as f64;
                near(
                    &format!("{case} {} expected selection rate", g.group),
                    mean,
                    &theirs["expected_selection_rate"][&g.group],
                );
            }
            let acc = p
                .iter()
                .zip(&labels)
                .map(|(&q, &l)| if l { q } else { 1.0 - q })
                .sum::<f64>()
                / p.len() as f64;
            near(
                &format!("{case} expected accuracy"),
                acc,
                &theirs["expected_accuracy"],
            );
        }
    }
}

#[test]
fn per_group_thresholds_name_a_degenerate_group_and_an_unseen_one() {
    let codes = GroupCodes::from_values(
        &["a", "a", "a", "b", "b"]
            .iter()
            .map(|g| Some(g.to_string()))
            .collect::<Vec<_>>(),
    );
    let scores = [0.9, 0.2, 0.6, 0.3, 0.1];
    let e = ThresholdRule::fit(
        "sex",
        Constraint::DemographicParity,
        &scores,
        &[true, false, true, false, false],
        &codes,
        1000,
    )
    .unwrap_err();
    assert!(
        e.0.contains("group \"b\" of \"sex\" has no positive label"),
        "{e}"
    );
    let labels = [true, false, true, true, false];
    let rule = ThresholdRule::fit(
        "sex",
        Constraint::EqualizedOdds,
        &scores,
        &labels,
        &codes,
        1000,
    )
    .unwrap();
    let e = rule
        .predict(&["a".into(), "z".into()], &[0.5, 0.5], 1)
        .unwrap_err();
    assert!(e.0.contains("row 1: group \"z\""), "{e}");
    // Seeded: the same seed gives the same draws.
    let g: Vec<String> = (0..200)
        .map(|i| if i % 2 == 0 { "a" } else { "b" }.into())
        .collect();
    let s: Vec<f64> = (0..200).map(|i| (i as f64) / 200.0).collect();
    assert_eq!(
        rule.predict(&g, &s, 7).unwrap(),
        rule.predict(&g, &s, 7).unwrap()
    );
}

fn codes_of(values: &[String]) -> GroupCodes {
    GroupCodes::from_values(&values.iter().map(|g| Some(g.clone())).collect::<Vec<_>>())
}

#[test]
fn balanced_accuracy_thresholds_equal_fairlearns() {
    let r = reference_file("thresholds.json");
    let (y, sex, race, scores) = fixture_with_scores();
    let labels: Vec<bool> = y.iter().map(|&l| l == 1).collect();
    for (col, values) in [("sex", &sex), ("race", &race)] {
        let codes = codes_of(values);
        for c in [Constraint::DemographicParity, Constraint::EqualizedOdds] {
            let case = format!("{col}/{}/balanced_accuracy_score", c.name());
            let theirs = &r["cases"][&case];
            let rule = ThresholdRule::fit_objective(
                col,
                c,
                Objective::BalancedAccuracyScore,
                &scores,
                &labels,
                &codes,
                1000,
            )
            .unwrap();
            near(&format!("{case} x_best"), rule.x_best, &theirs["x_best"]);
            near(&format!("{case} y_best"), rule.y_best, &theirs["y_best"]);
            let groups = theirs["groups"].as_object().unwrap();
            assert_eq!(rule.groups.len(), groups.len(), "{case}");
            for g in &rule.groups {
                let t = &groups[&g.group];
                let ctx = format!("{case} {}", g.group);
                near(&format!("{ctx} p0"), g.p0, &t["p0"]);
                near(&format!("{ctx} p1"), g.p1, &t["p1"]);
                near(&format!("{ctx} t0"), g.threshold0.0, &t["threshold0"]);
                near(&format!("{ctx} t1"), g.threshold1.0, &t["threshold1"]);
                near(&format!("{ctx} p_ignore"), g.p_ignore, &t["p_ignore"]);
            }
            let acc = values
                .iter()
                .zip(&scores)
                .zip(&labels)
                .map(|((g, &s), &l)| {
                    let q = rule.probability(g, s).unwrap();
                    if l { q } else { 1.0 - q }
                })
                .sum::<f64>()
                / scores.len() as f64;
            near(
                &format!("{case} expected accuracy"),
                acc,
                &theirs["expected_accuracy"],
            );
        }
    }
}

/// Largest minus smallest of `f` over the groups where it is defined.
fn spread(groups: &[String], f: impl Fn(&[usize]) -> Option<f64>) -> f64 {
    let mut names: Vec<&String> = groups.iter().collect();
    names.sort();
    names.dedup();
    let v: Vec<f64> = names
        .iter()
        .filter_map(|n| {
            let rows: Vec<usize> = (0..groups.len()).filter(|&i| &groups[i] == *n).collect();
            f(&rows)
        })
        .collect();
    v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min)
}

/// Demographic parity difference, equalized odds difference and accuracy (Fairlearn's
/// definitions).
fn decision_metrics(groups: &[String], y: &[bool], pred: &[bool]) -> [f64; 3] {
    let rate = |rows: &[usize], cond: &dyn Fn(usize) -> bool| {
        let r: Vec<usize> = rows.iter().copied().filter(|&i| cond(i)).collect();
        (!r.is_empty()).then(|| r.iter().filter(|&&i| pred[i]).count() as f64 / r.len() as f64)
    };
    let dp = spread(groups, |rows| rate(rows, &|_| true));
    let tpr = spread(groups, |rows| rate(rows, &|i| y[i]));
    let fpr = spread(groups, |rows| rate(rows, &|i| !y[i]));
    let acc = y.iter().zip(pred).filter(|(a, b)| a == b).count() as f64 / y.len() as f64;
    [dp, tpr.max(fpr), acc]
}

/// Adult by `sex`: thresholds fitted on 2000 rows' scores and applied to 2000 others give
/// Fairlearn's probabilities to 1e-12; the randomized decisions (Slipway's seeded draws,
/// Fairlearn's numpy draws) reach its disparity and accuracy up to the sampling noise of 2000
/// draws. Prints the before/after table.
#[test]
fn adult_split_by_sex_matches_fairlearn_on_held_out_rows() {
    let r = reference_file("thresholds.json");
    let split = &r["split"];
    let (y, sex, _, scores) = fixture_with_scores();
    let labels: Vec<bool> = y.iter().map(|&l| l == 1).collect();
    let half = split["fit_rows"].as_u64().unwrap() as usize;
    let seed = split["seed"].as_u64().unwrap();
    let codes = codes_of(&sex[..half]);
    let (test_g, test_s, test_y) = (&sex[half..], &scores[half..], &labels[half..]);
    let names = [
        "demographic parity difference",
        "equalized odds difference",
        "accuracy",
    ];
    let keys = [
        "demographic_parity_difference",
        "equalized_odds_difference",
        "accuracy",
    ];
    for c in [Constraint::DemographicParity, Constraint::EqualizedOdds] {
        let theirs = &split[c.name()];
        let rule =
            ThresholdRule::fit("sex", c, &scores[..half], &labels[..half], &codes, 1000).unwrap();
        let want = theirs["probabilities"].as_array().unwrap();
        assert_eq!(want.len(), test_s.len());
        for (i, ((g, &s), w)) in test_g.iter().zip(test_s).zip(want).enumerate() {
            near(
                &format!("{} held-out row {i}", c.name()),
                rule.probability(g, s).unwrap(),
                w,
            );
        }
        let raw: Vec<bool> = test_s.iter().map(|&s| s > 0.5).collect();
        let ours = rule.predict(test_g, test_s, seed).unwrap();
        let (before, after) = (
            decision_metrics(test_g, test_y, &raw),
            decision_metrics(test_g, test_y, &ours),
        );
        println!(
            "Adult by sex, {} ({} held-out rows)",
            c.name(),
            test_s.len()
        );
        println!("| | before | after (Slipway) | after (Fairlearn) |");
        for k in 0..3 {
            let fb = theirs["before"][keys[k]].as_f64().unwrap();
            let fa = theirs["after"][keys[k]].as_f64().unwrap();
            println!(
                "| {} | {:.4} | {:.4} | {:.4} |",
                names[k], before[k], after[k], fa
            );
            // The model's own labels are the same: so are their metrics.
            assert!((before[k] - fb).abs() <= TOL, "{} before", names[k]);
        }
        let fa = |k: usize| theirs["after"][keys[k]].as_f64().unwrap();
        // The constrained disparity: no worse than Fairlearn's beyond sampling noise
        // (a binomial rate over ~650 rows has a standard deviation near 0.02).
        let k = if c == Constraint::DemographicParity {
            0
        } else {
            1
        };
        assert!(
            after[k] <= fa(k) + 0.04,
            "{}: Slipway {} vs Fairlearn {}",
            names[k],
            after[k],
            fa(k)
        );
        assert!(
            after[k] < before[k] || c == Constraint::EqualizedOdds,
            "{}: the thresholds should narrow it ({} → {})",
            names[k],
            before[k],
            after[k]
        );
        assert!(
            (after[2] - fa(2)).abs() <= 0.01,
            "accuracy: Slipway {} vs Fairlearn {}",
            after[2],
            fa(2)
        );
    }
}

#[test]
fn row_draws_are_the_predict_stream_and_keyed_draws_are_stable() {
    let codes = codes_of(&["a", "a", "b", "b"].map(String::from));
    let rule = ThresholdRule::fit(
        "g",
        Constraint::DemographicParity,
        &[0.9, 0.2, 0.6, 0.3],
        &[true, false, true, false],
        &codes,
        10,
    )
    .unwrap();
    let g: Vec<String> = (0..300)
        .map(|i| if i % 3 == 0 { "a" } else { "b" }.into())
        .collect();
    let s: Vec<f64> = (0..300).map(|i| (i % 17) as f64 / 17.0).collect();
    let whole = rule.predict(&g, &s, 9).unwrap();
    // In pieces, at any offset, the same decisions.
    let mut pieces = rule.predict_from(&g[..123], &s[..123], 9, 0).unwrap();
    pieces.extend(rule.predict_from(&g[123..], &s[123..], 9, 123).unwrap());
    assert_eq!(whole, pieces);
    let d: Vec<f64> = (0..50).map(|i| row_draw(5, i)).collect();
    assert!(d.iter().all(|u| (0.0..1.0).contains(u)));
    assert_ne!(row_draw(5, 3), row_draw(6, 3));
    assert_eq!(keyed_draw(5, 77), keyed_draw(5, 77));
    assert_ne!(keyed_draw(5, 77), keyed_draw(5, 78));
    assert_ne!(keyed_draw(5, 77), keyed_draw(4, 77));
}
