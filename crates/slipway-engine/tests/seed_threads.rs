//! A pipeline config's `seed` and `threads` reach every model family: each random family's
//! fit changes with the seed, no family's fit changes with the thread count (bit for bit),
//! and a seed or thread count set in a model's own params wins over the config's.

use std::path::Path;

use slipway_engine::PipelineConfig;
use slipway_learn::pipeline::ModelSpec;
use slipway_learn::{FeatureMeta, Matrix, Prediction, Predictor, Target, TrainData};

/// Every model family with params that make its randomness visible on small data, and
/// whether it is random at all.
const FAMILIES: &[(&str, &str, bool)] = &[
    (
        "gbdt",
        "{n_estimators: 20, bagging_fraction: 0.7, bagging_freq: 1, feature_fraction: 0.7}",
        true,
    ),
    ("random_forest", "{n_estimators: 10}", true),
    ("extra_trees", "{n_estimators: 10}", true),
    ("decision_tree", "{max_features: 1}", true),
    ("mlp", "{hidden_layer_sizes: [8], max_epochs: 30}", true),
    ("svm", "{}", true),
    ("logistic_regression", "{}", false),
    ("k_neighbors", "{}", false),
    ("gaussian_nb", "{}", false),
    ("linear_regression", "{}", false),
    ("elastic_net", "{alpha: 0.1}", false),
    ("lasso", "{alpha: 0.1}", false),
];

fn is_regression(kind: &str) -> bool {
    matches!(kind, "linear_regression" | "elastic_net" | "lasso")
}

/// 240 rows, 5 noisy features; a binary label and a real target from them. `state` seeds
/// the rows.
fn data(mut state: u64) -> (Matrix, Target, Target) {
    let n = 240;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 11) as f64) / ((1u64 << 53) as f64)
    };
    let mut cols: Vec<Vec<_>> = (0..5).map(|_| Vec::with_capacity(n)).collect();
    let (mut classes, mut real) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let row: Vec<f64> = (0..5).map(|_| next() * 4.0 - 2.0).collect();
        let noise = next() - 0.5;
        let s = row[0] - 0.7 * row[1] + 0.4 * row[2] * row[3] + noise;
        classes.push(u32::from(s > 0.0));
        real.push(s + 0.1 * row[4]);
        for (c, v) in cols.iter_mut().zip(row) {
            c.push(v);
        }
    }
    (
        Matrix::from_columns(cols).unwrap(),
        Target::Classes {
            labels: classes,
            n_classes: 2,
        },
        Target::Real(real),
    )
}

/// The one candidate of a config with `seed`, `threads` and one model.
fn spec(kind: &str, params: &str, seed: u64, threads: usize) -> ModelSpec {
    let text = format!(
        "name: s\ndata: {{train: t.csv}}\ntarget: y\nseed: {seed}\nthreads: {threads}\nmodels:\n  - type: {kind}\n    params: {params}\n"
    );
    let cfg = PipelineConfig::parse(&text, Path::new("t.yaml")).unwrap();
    let mut c = cfg.candidates().unwrap();
    assert_eq!(c.len(), 1);
    c.remove(0).spec
}

/// The predictions' bits.
fn fit_predict(spec: &ModelSpec) -> Vec<u64> {
    let (x, classes, real) = data(12345);
    // Fully grown trees fit their training rows exactly whatever the seed: predict rows
    // they have not seen.
    let (unseen, _, _) = data(777);
    let y = if is_regression(spec.kind()) {
        real
    } else {
        classes
    };
    let features: Vec<FeatureMeta> = (0..x.n_cols())
        .map(|j| FeatureMeta::numeric(format!("f{j}")))
        .collect();
    let train = TrainData {
        x: &x,
        y: &y,
        features: &features,
        weights: None,
    };
    let model = spec.fit(&train, None).unwrap();
    let values = match model.predict(&unseen).unwrap() {
        Prediction::Probabilities(p) => p.as_col_major().to_vec(),
        Prediction::Values(v) => v,
    };
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn every_family_takes_the_config_seed_and_threads() {
    for &(kind, params, random) in FAMILIES {
        let base = fit_predict(&spec(kind, params, 0, 1));
        let other_seed = fit_predict(&spec(kind, params, 1, 1));
        if random {
            assert_ne!(
                base, other_seed,
                "{kind}: seed 0 and seed 1 fit the same model"
            );
        } else {
            assert_eq!(
                base, other_seed,
                "{kind} is deterministic but changed with the seed"
            );
        }
        let two_threads = fit_predict(&spec(kind, params, 0, 2));
        assert_eq!(
            base, two_threads,
            "{kind}: 1 and 2 threads fit different models"
        );
        let three_threads = fit_predict(&spec(kind, params, 1, 3));
        assert_eq!(other_seed, three_threads, "{kind}: 1 and 3 threads differ");
    }
}

#[test]
fn the_config_seed_and_threads_reach_every_family_unless_params_set_them() {
    for &(kind, _, _) in FAMILIES {
        let s = spec(kind, "{}", 7, 3);
        assert_eq!(s.seed(), 7, "{kind}");
        assert_eq!(s.threads(), Some(3), "{kind}");
        let own = format!("{{{}: 11, {}: 1}}", s.seed_param(), s.threads_param());
        let s = spec(kind, &own, 7, 3);
        assert_eq!(s.seed(), 11, "{kind}: its own seed was overridden");
        assert_eq!(
            s.threads(),
            Some(1),
            "{kind}: its own thread count was overridden"
        );
    }
}

#[test]
fn zero_threads_in_params_is_refused_with_the_name() {
    for &(kind, _, _) in FAMILIES {
        let name = spec(kind, "{}", 0, 1).threads_param();
        let text = format!(
            "name: s\ndata: {{train: t.csv}}\ntarget: y\nmodels:\n  - type: {kind}\n    params: {{{name}: 0}}\n"
        );
        let cfg = PipelineConfig::parse(&text, Path::new("t.yaml")).unwrap();
        let s = cfg.candidates().unwrap().remove(0).spec;
        let task = if is_regression(kind) {
            slipway_learn::Task::Regression
        } else {
            slipway_learn::Task::Binary
        };
        let e = s.check(task).unwrap_err().to_string();
        assert!(e.contains(name) && e.contains("at least 1"), "{kind}: {e}");
    }
}
