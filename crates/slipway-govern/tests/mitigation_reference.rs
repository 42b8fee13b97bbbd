//! Slipway's fairness mitigation against the reference libraries: reweighing against
//! AIF360 0.6.1's `Reweighing` (`tests/reference/mitigation/reweighing.json`, written by
//! `make_reweighing.py`), and per-group thresholds against Fairlearn 0.15's
//! `ThresholdOptimizer` on the same scores (`thresholds.json`, `make_thresholds.py`), to 1e-12.

use serde_json::Value;
use slipway_govern::mitigation::GroupCodes;
use slipway_govern::mitigation::reweighing::Reweighing;
use slipway_govern::mitigation::thresholds::{Constraint, ThresholdRule};

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
