//! slipway-rollout's statistics against scipy / statsmodels (`reference/ab_reference.py`
//! wrote `reference/ab_reference.json`; versions are recorded in it).

use serde_json::Value;
use slipway_data::special::{norm_ppf, t_isf, t_sf};
use slipway_rollout::assign::{Arm, assign, bucket};
use slipway_rollout::stats::{
    Alternative, Msprt, Summary, cuped, mann_whitney_greater, srm, two_proportion, welch,
};

const TOL: f64 = 1e-9;

fn reference() -> Value {
    let text = include_str!("reference/ab_reference.json");
    serde_json::from_str(text).unwrap()
}

fn f(v: &Value) -> f64 {
    match v {
        Value::Null => f64::NAN,
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        v => v.as_f64().unwrap(),
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(f).collect()
}

/// Equal within TOL relative to the larger magnitude (absolute below 1), NaN equal to NaN.
fn close(got: f64, want: f64, what: &str) {
    if want.is_nan() {
        assert!(got.is_nan(), "{what}: got {got}, want NaN");
        return;
    }
    if want.is_infinite() {
        assert_eq!(got, want, "{what}");
        return;
    }
    let scale = want.abs().max(1.0);
    assert!(
        (got - want).abs() <= TOL * scale,
        "{what}: got {got:e}, want {want:e} (diff {:e})",
        (got - want).abs()
    );
}

#[test]
fn assignment_equals_python_md5() {
    let r = reference();
    let cases = r["assignment"].as_array().unwrap();
    assert!(cases.len() >= 1000);
    for c in cases {
        let key = c["key"].as_str().unwrap();
        let salt = c["salt"].as_str();
        let want = c["bucket"].as_u64().unwrap() as u8;
        assert_eq!(bucket(key, salt), want, "key {key:?} salt {salt:?}");
        assert_eq!(assign(key, salt, want + 1), Arm::B);
        assert_eq!(assign(key, salt, want), Arm::A);
    }
}

#[test]
fn srm_equals_scipy_chisquare() {
    for c in reference()["srm"].as_array().unwrap() {
        let (a, b) = (c["a"].as_u64().unwrap(), c["b"].as_u64().unwrap());
        let s = srm(a, b, f(&c["split"]), 0.001);
        let what = format!("srm {a}/{b}");
        close(s.statistic, f(&c["statistic"]), &what);
        close(s.p_value, f(&c["p_value"]), &what);
        assert_eq!(s.alarm, f(&c["p_value"]) < 0.001, "{what}");
    }
}

#[test]
fn proportions_equal_statsmodels() {
    for c in reference()["proportions"].as_array().unwrap() {
        let g = |k: &str| c[k].as_u64().unwrap();
        let alpha = f(&c["alpha"]);
        let t = two_proportion(
            g("ca"),
            g("na"),
            g("cb"),
            g("nb"),
            alpha,
            Alternative::TwoSided,
        );
        let what = format!("proportions {c}");
        close(t.z, f(&c["z"]), &what);
        close(t.p_value, f(&c["p_value"]), &what);
        let ci = floats(&c["ci"]);
        close(t.ci[0], ci[0], &what);
        close(t.ci[1], ci[1], &what);
        let l = two_proportion(
            g("ca"),
            g("na"),
            g("cb"),
            g("nb"),
            alpha,
            Alternative::Larger,
        );
        close(l.p_value, f(&c["p_larger"]), &what);
    }
}

fn check_welch(t: &slipway_rollout::stats::WelchTest, c: &Value, what: &str) {
    close(t.statistic, f(&c["statistic"]), what);
    close(t.df, f(&c["df"]), what);
    close(t.p_value, f(&c["p_value"]), what);
    let ci = floats(&c["ci"]);
    close(t.ci[0], ci[0], what);
    close(t.ci[1], ci[1], what);
}

#[test]
fn welch_equals_scipy() {
    let r = reference();
    for (i, c) in r["welch_raw"].as_array().unwrap().iter().enumerate() {
        let (a, b) = (floats(&c["a"]), floats(&c["b"]));
        let t = welch(&Summary::of(&a), &Summary::of(&b), f(&c["alpha"]));
        check_welch(&t, c, &format!("welch_raw[{i}]"));
    }
    for (i, c) in r["welch_stats"].as_array().unwrap().iter().enumerate() {
        let s = |v: &Value| {
            let v = floats(v);
            Summary {
                n: v[0] as u64,
                mean: v[1],
                variance: v[2],
            }
        };
        let t = welch(&s(&c["a"]), &s(&c["b"]), f(&c["alpha"]));
        check_welch(&t, c, &format!("welch_stats[{i}]"));
    }
}

#[test]
fn cuped_equals_numpy_scipy() {
    for (i, c) in reference()["cuped"].as_array().unwrap().iter().enumerate() {
        let r = cuped(
            &floats(&c["ya"]),
            &floats(&c["xa"]),
            &floats(&c["yb"]),
            &floats(&c["xb"]),
            0.05,
        );
        let what = format!("cuped[{i}]");
        close(r.theta, f(&c["theta"]), &what);
        close(r.variance_reduction, f(&c["variance_reduction"]), &what);
        check_welch(&r.test, c, &what);
    }
}

#[test]
fn msprt_equals_the_formula() {
    for (i, c) in reference()["msprt"].as_array().unwrap().iter().enumerate() {
        let mut m = Msprt::new(f(&c["tau2"]));
        for (k, look) in c["looks"].as_array().unwrap().iter().enumerate() {
            let p = m.look(f(&look["d"]), f(&look["v"]));
            close(p, f(&look["p_value"]), &format!("msprt[{i}] look {k}"));
        }
    }
}

#[test]
fn mann_whitney_equals_scipy() {
    for (i, c) in reference()["mann_whitney"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let r = mann_whitney_greater(&floats(&c["x"]), &floats(&c["y"]));
        let what = format!("mann_whitney[{i}]");
        close(r.u, f(&c["u"]), &what);
        close(r.p_value, f(&c["p_value"]), &what);
    }
}

#[test]
fn special_functions_equal_scipy() {
    let r = reference();
    for c in r["norm_ppf"].as_array().unwrap() {
        let p = f(&c["p"]);
        let want = f(&c["x"]);
        // Relative: the quantile of 1e-300 is about -37.
        let got = norm_ppf(p);
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "norm.ppf({p}): got {got:e}, want {want:e}"
        );
    }
    for c in r["t_sf"].as_array().unwrap() {
        let (t, df, q) = (f(&c["t"]), f(&c["df"]), f(&c["q"]));
        close(t_sf(t, df), f(&c["sf"]), &format!("t.sf({t}, {df})"));
        close(t_isf(q, df), f(&c["isf"]), &format!("t.isf({q}, {df})"));
    }
}
