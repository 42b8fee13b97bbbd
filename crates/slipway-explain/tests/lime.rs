//! LIME against the `lime` package (reference written by `tests/reference/make_lime.py` on
//! the neighbourhoods `examples/lime_fixture.rs` drew): the training statistics equal the
//! package's `QuartileDiscretizer` and value frequencies to 1e-12, Slipway draws the same
//! neighbourhoods again from the seed, and on them the surrogate's coefficients, intercept,
//! score and local prediction equal `LimeBase.explain_instance_with_data` to 1e-9.

use std::path::{Path, PathBuf};

use serde_json::Value;
use slipway_data::Table;
use slipway_data::ingest::{ReadOptions, read_table};
use slipway_explain::lime::{ColumnStats, LimeOptions, LimeTabular, fit_surrogate};
use slipway_learn::exact_json;
use slipway_learn::pipeline::FittedPipeline;

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference")
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(here().join(name)).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn setup() -> (FittedPipeline, Table, Value) {
    let fx = json("lime_neighbourhood.json");
    let p: FittedPipeline = exact_json::from_slice(
        &std::fs::read(here().join(fx["pipeline"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let mut read = ReadOptions::default();
    for (n, t) in p.input_schema() {
        read.types.insert(n, t);
    }
    let train = read_table(&here().join(fx["train"].as_str().unwrap()), &read).unwrap();
    (p, train, fx)
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

#[test]
fn training_statistics_equal_the_packages() {
    let (p, train, fx) = setup();
    let want = json("lime.json");
    let lime = LimeTabular::new(&p, &train, LimeOptions::default()).unwrap();
    assert!((lime.kernel_width() - want["kernel_width"].as_f64().unwrap()).abs() <= 1e-15);
    let stats = lime.stats();
    let ws = want["stats"].as_array().unwrap();
    assert_eq!(stats.len(), ws.len());
    assert_eq!(
        lime.columns(),
        fx["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect::<Vec<_>>()
    );
    for (got, w) in stats.iter().zip(ws) {
        let col = w["column"].as_str().unwrap();
        match got {
            ColumnStats::Numeric {
                bins,
                values,
                frequencies,
            } => {
                assert_eq!(w["kind"], "numeric", "{col}");
                for (name, g) in [
                    ("quartiles", &bins.quartiles),
                    ("means", &bins.means),
                    ("stds", &bins.stds),
                    ("mins", &bins.mins),
                    ("maxs", &bins.maxs),
                    ("frequencies", frequencies),
                ] {
                    let e = floats(&w[name]);
                    assert_eq!(g.len(), e.len(), "{col} {name}");
                    for (a, b) in g.iter().zip(&e) {
                        // Relative: numpy sums pairwise.
                        assert!(close(*a, *b, 1e-12), "{col} {name}: Slipway {a}, lime {b}");
                    }
                }
                let e: Vec<usize> = w["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as usize)
                    .collect();
                assert_eq!(values, &e, "{col} bins");
            }
            ColumnStats::Categorical {
                values,
                frequencies,
            } => {
                assert_eq!(w["kind"], "categorical", "{col}");
                let e: Vec<Option<String>> = w["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect();
                assert_eq!(values, &e, "{col} values");
                for (a, b) in frequencies.iter().zip(&floats(&w["frequencies"])) {
                    assert!((a - b).abs() <= 1e-12, "{col}: {a} vs {b}");
                }
            }
        }
    }
}

#[test]
fn surrogates_equal_lime_base_on_slipways_neighbourhoods() {
    let (p, train, fx) = setup();
    let want = json("lime.json");
    let ns = fx["num_samples"].as_u64().unwrap() as usize;
    let opts = LimeOptions {
        num_samples: ns,
        num_features: 10,
        seed: fx["seed"].as_u64().unwrap(),
    };
    let lime = LimeTabular::new(&p, &train, opts).unwrap();
    let rows_fx = fx["rows"].as_array().unwrap();
    let rows = train.take(&(0..rows_fx.len()).collect::<Vec<_>>()).unwrap();
    let nbs = lime.neighbourhoods(&p, &rows, 0).unwrap();
    // The seed draws the fixture's neighbourhoods again.
    for (r, (nb, f)) in nbs.iter().zip(rows_fx).enumerate() {
        let binary: String = nb
            .binary
            .iter()
            .map(|b| if *b == 1 { '1' } else { '0' })
            .collect();
        let want_binary: String = f["binary"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert_eq!(binary, want_binary, "row {r}: binary samples");
        for (a, b) in nb.labels.iter().zip(&floats(&f["labels"])) {
            assert!((a - b).abs() <= 1e-12, "row {r}: label {a} vs {b}");
        }
        assert_eq!(nb.distances, floats(&f["distances"]), "row {r}");
        assert!(nb.binary[..nb.n_columns].iter().all(|&b| b == 1));
    }
    // A row drawn alone (another block, another position) gets the same neighbourhood.
    let alone = lime
        .neighbourhoods(&p, &rows.take(&[2]).unwrap(), 2)
        .unwrap();
    assert_eq!(alone[0], nbs[2]);
    let mut checked = 0;
    for w in want["fits"].as_array().unwrap() {
        let r = w["row"].as_u64().unwrap() as usize;
        let k = w["num_features"].as_u64().unwrap() as usize;
        let nb = &nbs[r];
        let x: Vec<f64> = nb.binary.iter().map(|&b| f64::from(b)).collect();
        let weights = lime.weights(&nb.distances);
        let got = fit_surrogate(&x, nb.n_samples, nb.n_columns, &nb.labels, &weights, k).unwrap();
        let wc: Vec<(usize, f64)> = w["coefficients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c[0].as_u64().unwrap() as usize, c[1].as_f64().unwrap()))
            .collect();
        assert_eq!(
            got.coefficients.iter().map(|c| c.0).collect::<Vec<_>>(),
            wc.iter().map(|c| c.0).collect::<Vec<_>>(),
            "row {r}, {k} features: the columns selected, in order"
        );
        for ((_, a), (_, b)) in got.coefficients.iter().zip(&wc) {
            assert!(
                (a - b).abs() <= 1e-9,
                "row {r}, {k}: coefficient {a} vs {b}"
            );
        }
        for (name, a) in [
            ("intercept", got.intercept),
            ("score", got.score),
            ("local_pred", got.local_pred),
        ] {
            let b = w[name].as_f64().unwrap();
            assert!((a - b).abs() <= 1e-9, "row {r}, {k}: {name} {a} vs {b}");
        }
        // The explainer's own fit is the same.
        if k == 10 {
            assert_eq!(lime.fit(nb, 0).unwrap(), got);
        }
        checked += 1;
    }
    assert_eq!(checked, 2 * rows_fx.len());
}

#[test]
fn missing_values_and_bad_options() {
    let (p, train, _) = setup();
    // Bad options are refused with the rule.
    for (opts, needle) in [
        (
            LimeOptions {
                num_samples: 1,
                ..LimeOptions::default()
            },
            "at least 2 samples",
        ),
        (
            LimeOptions {
                num_features: 0,
                ..LimeOptions::default()
            },
            "at least 1 column",
        ),
    ] {
        let e = LimeTabular::new(&p, &train, opts).unwrap_err().to_string();
        assert!(e.contains(needle), "{e}");
    }
    // The full Adult test rows have missing numbers and categories: a bin of their own.
    let mut read = ReadOptions::default();
    for (n, t) in p.input_schema() {
        read.types.insert(n, t);
    }
    let all = read_table(
        &here().join("../../../slipway-learn/tests/reference/import/adult.test.csv"),
        &read,
    )
    .unwrap();
    let opts = LimeOptions {
        num_samples: 300,
        num_features: 5,
        seed: 1,
    };
    let lime = LimeTabular::new(&p, &all, opts).unwrap();
    let age = lime.columns().iter().position(|c| *c == "age").unwrap();
    let ColumnStats::Numeric { bins, values, .. } = lime.stats()[age] else {
        panic!("age is numeric");
    };
    assert_eq!(
        *values.last().unwrap(),
        bins.quartiles.len() + 1,
        "a missing bin"
    );
    let ages = all.numeric_values("age").unwrap();
    let r = ages.iter().position(|a| a.is_nan()).unwrap();
    let e = lime.explain(&p, &all.take(&[r, 0]).unwrap(), r).unwrap();
    assert_eq!(e.n_rows, 2);
    assert_eq!(e.conditions[0][age], "age is missing");
    for f in &e.fits {
        assert!(f.coefficients.len() <= 5 && f.score.is_finite() && f.score <= 1.0);
    }
    // Deterministic for a seed.
    let again = lime.explain(&p, &all.take(&[r, 0]).unwrap(), r).unwrap();
    assert_eq!(e, again);
}
