//! Exponentiated gradient against Fairlearn 0.15's `ExponentiatedGradient`
//! (`tests/reference/mitigation/expgrad.json`, written by `make_expgrad.py` on the fixture
//! `expgrad_adult.csv`).
//!
//! - `cell_*`: the same deterministic base learner on both sides (per cell, the weighted
//!   majority label), so the whole game must match: every round's multipliers, every answer,
//!   the linear program's multipliers, the weights, the gaps and the pmf.
//! - `logistic_*`: scikit-learn's logistic regression against Slipway's (both L-BFGS to a
//!   tolerance of 1e-10): the answers agree to the solvers' precision, so the mixtures must
//!   pick the same number of answers with the same weights and pmf, to looser tolerances.

use serde_json::Value;
use slipway_govern::mitigation::GroupCodes;
use slipway_govern::mitigation::expgrad::{self, Component, ExpGradParams, FitError};
use slipway_govern::mitigation::thresholds::Constraint;
use slipway_learn::linear::LogisticRegressionParams;
use slipway_learn::mixture::hard_labels;
use slipway_learn::{Estimator, FeatureMeta, Matrix, Params, Predictor, Target, TrainData};

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/mitigation/expgrad.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

struct Fixture {
    features: Vec<Vec<f64>>,
    cell: Vec<usize>,
    sex: Vec<String>,
    race: Vec<String>,
    label: Vec<u32>,
}

fn fixture(feature_names: &[String]) -> Fixture {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/mitigation/expgrad_adult.csv"
    ))
    .unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let fcols: Vec<usize> = feature_names.iter().map(|n| col(n)).collect();
    let mut f = Fixture {
        features: vec![Vec::new(); fcols.len()],
        cell: Vec::new(),
        sex: Vec::new(),
        race: Vec::new(),
        label: Vec::new(),
    };
    for line in lines {
        let v: Vec<&str> = line.split(',').collect();
        for (k, &c) in fcols.iter().enumerate() {
            f.features[k].push(v[c].parse().unwrap());
        }
        f.cell.push(v[col("cell")].parse().unwrap());
        f.sex.push(v[col("sex")].to_string());
        f.race.push(v[col("race")].to_string());
        f.label.push(v[col("label")].parse().unwrap());
    }
    f
}

fn params(case: &Value) -> ExpGradParams {
    ExpGradParams {
        constraint: match case["constraint"].as_str().unwrap() {
            "demographic_parity" => Constraint::DemographicParity,
            _ => Constraint::EqualizedOdds,
        },
        difference_bound: case["difference_bound"].as_f64().unwrap(),
        eps: case["eps"].as_f64().unwrap(),
        max_iter: case["max_iter"].as_u64().unwrap() as usize,
        nu: case["nu"].as_f64(),
        eta0: case["eta0"].as_f64().unwrap_or(2.0),
        run_linprog_step: case["run_linprog_step"].as_bool().unwrap_or(true),
    }
}

fn groups(f: &Fixture, case: &Value) -> GroupCodes {
    let col = match case["protected"].as_str().unwrap() {
        "sex" => &f.sex,
        _ => &f.race,
    };
    GroupCodes::from_values(&col.iter().map(|v| Some(v.clone())).collect::<Vec<_>>())
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// `|a − b| ≤ tol·max(1, |b|)` for every pair.
fn close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "{what}[{i}]: {g} vs Fairlearn {w} (tolerance {tol})"
        );
    }
}

/// The weighted majority label per cell, weights added in row order as numpy's `bincount`
/// adds them; 1 only when the label-1 weight beats the label-0 weight by more than
/// `margin` of their sum (exact ties, which the linear program's multipliers create, are 0
/// whatever the rounding), and empty cells 0.
fn cell_majority(cell: &[usize], n_cells: usize, y: &[u32], w: &[f64], margin: f64) -> Vec<u32> {
    let (mut pos, mut neg) = (vec![0.0; n_cells], vec![0.0; n_cells]);
    for ((&c, &l), &wi) in cell.iter().zip(y).zip(w) {
        if l == 1 {
            pos[c] += wi;
        } else {
            neg[c] += wi;
        }
    }
    (0..n_cells)
        .map(|c| u32::from(pos[c] > neg[c] + margin * (pos[c] + neg[c])))
        .collect()
}

/// Cases whose final linear program has several optimal solutions (see
/// [`check_cell_case`]).
const LP_TIES: [&str; 1] = ["cell_eo_race"];

/// Rounds, answers, weights and pmf of one `cell_*` case, to 1e-9 relative (the sums are
/// the same but not always in the same order as pandas' and BLAS's).
fn check_cell_case(name: &str) {
    let r = reference();
    let case = &r["cases"][name];
    let n_cells = r["n_cells"].as_u64().unwrap() as usize;
    let margin = r["tie_margin"].as_f64().unwrap();
    let f = fixture(&[]);
    let fit = expgrad::fit(&params(case), &groups(&f, case), &f.label, |y, w| {
        let table = cell_majority(&f.cell, n_cells, y, w, margin);
        let pred = f.cell.iter().map(|&c| table[c]).collect();
        Ok::<_, ()>((table, pred))
    })
    .unwrap();
    const TOL: f64 = 1e-9;
    let ids: Vec<(String, String, String)> = fit
        .constraints
        .iter()
        .map(|c| (c.sign.clone(), c.event.clone(), c.group.clone()))
        .collect();
    let want_ids: Vec<(String, String, String)> = case["constraints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            (s("sign"), s("event"), s("group"))
        })
        .collect();
    assert_eq!(ids, want_ids, "{name}: constraints");
    let want_h = case["predictors"].as_array().unwrap();
    for (j, w) in want_h.iter().enumerate() {
        if j < fit.lambdas.len() {
            close(
                &format!("{name}: λ of answer {j}"),
                &fit.lambdas[j],
                &floats(&w["lambda"]),
                TOL,
            );
        }
        match (&fit.predictors[j], w.get("constant")) {
            (Component::Constant(c), Some(k)) => assert_eq!(u64::from(*c), k.as_u64().unwrap()),
            (Component::Fitted(table), None) => {
                let want: Vec<u32> = w["table"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as u32)
                    .collect();
                assert_eq!(table, &want, "{name}: answer {j}");
            }
            (got, want) => panic!("{name}: answer {j} is {got:?}, Fairlearn's {want:?}"),
        }
        close(
            &format!("{name}: error of answer {j}"),
            &[fit.errors[j]],
            &[w["error"].as_f64().unwrap()],
            TOL,
        );
        close(
            &format!("{name}: γ of answer {j}"),
            &fit.gammas[j],
            &floats(&w["gamma"]),
            TOL,
        );
    }
    assert_eq!(fit.predictors.len(), want_h.len(), "{name}: answers");
    let want_eg = case["lambda_vecs_eg"].as_array().unwrap();
    assert_eq!(fit.lambda_vecs_eg.len(), want_eg.len(), "{name}: rounds");
    for (t, (g, w)) in fit.lambda_vecs_eg.iter().zip(want_eg).enumerate() {
        close(&format!("{name}: λ of round {t}"), g, &floats(w), TOL);
    }
    let want_lp = case["lambda_vecs_lp"].as_array().unwrap();
    assert_eq!(fit.lambda_vecs_lp.len(), want_lp.len(), "{name}: LP rounds");
    for (t, (g, w)) in fit.lambda_vecs_lp.iter().zip(want_lp).enumerate() {
        close(
            &format!("{name}: LP λ of round {}", t + 1),
            g,
            &floats(w),
            TOL,
        );
    }
    let want_w = floats(&case["weights"]);
    if LP_TIES.contains(&name) {
        // The linear program of the best round has several optimal mixtures, and HiGHS's
        // dual simplex and ours stop at different ones: both must be optimal, that is
        // reach the same value of errors·Q + B·max(0, max_k γ_k·Q − bound).
        let value = |w: &[f64]| {
            let b = 1.0 / case["eps"].as_f64().unwrap();
            let bound = case["difference_bound"].as_f64().unwrap();
            let err: f64 = w.iter().zip(&fit.errors).map(|(w, e)| w * e).sum();
            let worst = (0..fit.constraints.len())
                .map(|k| {
                    w.iter()
                        .zip(&fit.gammas)
                        .map(|(w, g)| w * g[k])
                        .sum::<f64>()
                        - bound
                })
                .fold(0.0, f64::max);
            err + b * worst
        };
        close(
            &format!("{name}: the mixture's Lagrangian bound"),
            &[value(&fit.weights)],
            &[value(&want_w)],
            TOL,
        );
        assert!((fit.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(fit.weights.iter().all(|&w| w >= 0.0));
    } else {
        close(&format!("{name}: weights"), &fit.weights, &want_w, TOL);
    }
    for key in [
        "best_iter",
        "last_iter",
        "n_oracle_calls",
        "n_oracle_calls_dummy_returned",
    ] {
        let got = match key {
            "best_iter" => fit.best_iter,
            "last_iter" => fit.last_iter,
            "n_oracle_calls" => fit.n_oracle_calls,
            _ => fit.n_oracle_calls_dummy_returned,
        };
        assert_eq!(got as u64, case[key].as_u64().unwrap(), "{name}: {key}");
    }
    close(
        &format!("{name}: nu"),
        &[fit.nu],
        &[case["nu"].as_f64().unwrap()],
        TOL,
    );
    assert!(
        (fit.best_gap - case["best_gap"].as_f64().unwrap()).abs() <= TOL,
        "{name}: best gap {} vs {}",
        fit.best_gap,
        case["best_gap"]
    );
    // The pmf of every cell, from the mixture's answers.
    let tables: Vec<Vec<u32>> = fit
        .predictors
        .iter()
        .map(|p| match p {
            Component::Constant(c) => vec![*c; n_cells],
            Component::Fitted(t) => t.clone(),
        })
        .collect();
    // With another optimal mixture the pmf is Fairlearn's pmf of our weights.
    let pmf = expgrad::pmf(&fit.weights, &tables);
    if LP_TIES.contains(&name) {
        return;
    }
    let want_pmf = floats(&case["pmf_by_cell"]);
    for c in 0..n_cells {
        if want_pmf[c] >= 0.0 {
            close(
                &format!("{name}: pmf of cell {c}"),
                &[pmf[c]],
                &[want_pmf[c]],
                TOL,
            );
        }
    }
}

#[test]
fn cell_demographic_parity_by_sex() {
    check_cell_case("cell_dp_sex");
}

#[test]
fn cell_equalized_odds_by_sex() {
    check_cell_case("cell_eo_sex");
}

#[test]
fn cell_demographic_parity_by_race_with_other_bounds() {
    check_cell_case("cell_dp_race");
}

#[test]
fn cell_equalized_odds_by_race() {
    check_cell_case("cell_eo_race");
}

#[test]
fn cell_without_the_linear_program() {
    check_cell_case("cell_dp_sex_no_lp");
}

/// One `logistic_*` case with Slipway's logistic regression as the base learner.
fn check_logistic_case(name: &str) {
    let r = reference();
    let case = &r["cases"][name];
    let names: Vec<String> = r["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let f = fixture(&names);
    let x = Matrix::from_columns(f.features.clone()).unwrap();
    let meta: Vec<FeatureMeta> = names.iter().map(FeatureMeta::numeric).collect();
    let lr = LogisticRegressionParams {
        c: 1.0,
        tol: 1e-10,
        max_iter: 10_000,
        ..Default::default()
    }
    .check()
    .unwrap();
    let fit = expgrad::fit(&params(case), &groups(&f, case), &f.label, |y, w| {
        let target = Target::Classes {
            labels: y.to_vec(),
            n_classes: 2,
        };
        let data = TrainData {
            x: &x,
            y: &target,
            features: &meta,
            weights: Some(w),
        };
        let model = lr.fit(&data, None)?;
        let pred = hard_labels(&model.predict(&x)?)?;
        Ok::<_, slipway_learn::Error>((model, pred))
    })
    .unwrap_or_else(|e| match e {
        FitError::Input(e) => panic!("{e}"),
        FitError::Learner(e) => panic!("{e}"),
    });
    let want_h = case["predictors"].as_array().unwrap();
    assert_eq!(fit.predictors.len(), want_h.len(), "{name}: answers");
    for (j, w) in want_h.iter().enumerate() {
        match (&fit.predictors[j], w.get("constant")) {
            (Component::Constant(c), Some(k)) => assert_eq!(u64::from(*c), k.as_u64().unwrap()),
            (Component::Fitted(m), None) => {
                let mut got = m.coef[0].clone();
                got.push(m.intercept[0]);
                let mut want = floats(&w["coef"]);
                want.push(w["intercept"].as_f64().unwrap());
                close(
                    &format!("{name}: coefficients of answer {j}"),
                    &got,
                    &want,
                    1e-6,
                );
            }
            (_, want) => panic!("{name}: answer {j} differs in kind from Fairlearn's {want:?}"),
        }
        close(
            &format!("{name}: error of answer {j}"),
            &[fit.errors[j]],
            &[w["error"].as_f64().unwrap()],
            1e-9,
        );
    }
    close(
        &format!("{name}: weights"),
        &fit.weights,
        &floats(&case["weights"]),
        1e-9,
    );
    assert_eq!(fit.best_iter as u64, case["best_iter"].as_u64().unwrap());
    let answers: Vec<Vec<u32>> = fit
        .predictors
        .iter()
        .map(|p| match p {
            Component::Constant(c) => vec![*c; x.n_rows()],
            Component::Fitted(m) => hard_labels(&m.predict(&x).unwrap()).unwrap(),
        })
        .collect();
    let pmf = expgrad::pmf(&fit.weights, &answers);
    let want = floats(&case["pmf_first_rows"]);
    close(&format!("{name}: pmf"), &pmf[..want.len()], &want, 1e-9);
}

#[test]
fn logistic_demographic_parity_by_sex() {
    check_logistic_case("logistic_dp_sex");
}

#[test]
fn logistic_equalized_odds_by_sex() {
    check_logistic_case("logistic_eo_sex");
}

#[test]
fn bad_settings_and_labels_are_refused() {
    let g = GroupCodes::from_values(&[Some("a".into()), Some("b".into())]);
    let learner = |_: &[u32], _: &[f64]| Ok::<_, ()>(((), vec![0, 0]));
    for (p, rule) in [
        (
            ExpGradParams {
                eps: 0.0,
                ..Default::default()
            },
            "eps must be",
        ),
        (
            ExpGradParams {
                max_iter: 0,
                ..Default::default()
            },
            "max_iter must be",
        ),
        (
            ExpGradParams {
                nu: Some(f64::NAN),
                ..Default::default()
            },
            "nu must be",
        ),
    ] {
        match expgrad::fit(&p, &g, &[0, 1], learner) {
            Err(FitError::Input(e)) => assert!(e.0.contains(rule), "{e}"),
            other => panic!("{rule}: {:?}", other.map(|_| ())),
        }
    }
    match expgrad::fit(&ExpGradParams::default(), &g, &[0, 2], learner) {
        Err(FitError::Input(e)) => assert!(e.0.contains("binary labels"), "{e}"),
        other => panic!("{:?}", other.map(|_| ())),
    }
}
