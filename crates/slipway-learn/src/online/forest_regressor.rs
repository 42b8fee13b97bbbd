//! The adaptive random forest regressor (Gomes et al. 2018), as River 0.26's
//! `forest.ARFRegressor` with its defaults: 10 Hoeffding tree regressors (grace period 50,
//! delta 0.01, tau 0.05, adaptive leaves) each watching `round(sqrt(features))` random
//! features per leaf; online bagging with Poisson(6) weights; per tree an ADWIN warning
//! detector (delta 0.01) that starts a background tree and an ADWIN drift detector (delta
//! 0.001) that swaps it in, both fed the tree's error normalised by the running standard
//! deviation of its errors (`(e + 3 sd) / (6 sd)`); unweighted votes aggregated by the median
//! (River's default) or the mean.
//!
//! River draws from Python's `random`; this forest draws from a seeded ChaCha8, so single
//! predictions differ while the error agrees (`tests/online_reference.rs` in
//! slipway-monitor).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::adwin::{Adwin, DriftDetector};
use super::forest::{ForestEvents, poisson};
use super::tree_regressor::{HoeffdingTreeRegressor, RegressorParams, Var};

/// How the trees' predictions are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// The median (River's default).
    Median,
    /// The mean.
    Mean,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Member {
    tree: HoeffdingTreeRegressor,
    background: Option<HoeffdingTreeRegressor>,
    warning: Adwin,
    drift: Adwin,
    /// The tree's raw errors, to normalise what the detectors see.
    errors: Var,
}

/// An adaptive random forest regressor over `n_features` numeric features.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArfRegressor {
    n_features: usize,
    params: RegressorParams,
    lambda: f64,
    aggregation: Aggregation,
    members: Vec<Member>,
    #[serde(with = "super::rng")]
    rng: ChaCha8Rng,
    events: ForestEvents,
    #[serde(skip)]
    scratch: Vec<f64>,
}

const WARNING_DELTA: f64 = 0.01;
const DRIFT_DELTA: f64 = 0.001;

impl ArfRegressor {
    /// River's defaults with `n_models` trees, an aggregation and a seed.
    pub fn new(
        n_features: usize,
        n_models: usize,
        aggregation: Aggregation,
        seed: u64,
    ) -> ArfRegressor {
        // Python's round() of sqrt: half to even.
        let k = ((n_features as f64).sqrt().round_ties_even() as usize).clamp(1, n_features.max(1));
        let params = RegressorParams {
            grace_period: 50.0,
            delta: 0.01,
            tau: 0.05,
            max_features: Some(k),
            ..RegressorParams::default()
        };
        let members = (0..n_models)
            .map(|_| Member {
                tree: HoeffdingTreeRegressor::new(n_features, params.clone()),
                background: None,
                warning: Adwin::new(WARNING_DELTA),
                drift: Adwin::new(DRIFT_DELTA),
                errors: Var::default(),
            })
            .collect();
        ArfRegressor {
            n_features,
            params,
            lambda: 6.0,
            aggregation,
            members,
            rng: ChaCha8Rng::seed_from_u64(seed),
            events: ForestEvents::default(),
            scratch: Vec::new(),
        }
    }

    /// What the detectors did so far.
    pub fn events(&self) -> ForestEvents {
        self.events
    }

    /// The forest's prediction: the median (or mean) of the trees' (0 before any row).
    pub fn predict(&mut self, x: &[f64]) -> f64 {
        if self.members.is_empty() {
            return 0.0;
        }
        self.scratch.clear();
        self.scratch
            .extend(self.members.iter().map(|m| m.tree.predict(x)));
        match self.aggregation {
            Aggregation::Mean => self.scratch.iter().sum::<f64>() / self.scratch.len() as f64,
            Aggregation::Median => {
                self.scratch.sort_by(f64::total_cmp);
                let n = self.scratch.len();
                if n % 2 == 1 {
                    self.scratch[n / 2]
                } else {
                    (self.scratch[n / 2 - 1] + self.scratch[n / 2]) / 2.0
                }
            }
        }
    }

    /// Learns one row: each tree predicts, then learns with a Poisson(6) weight, and its
    /// detectors see its normalised error.
    pub fn learn_one(&mut self, x: &[f64], y: f64) {
        for m in &mut self.members {
            let pred = m.tree.predict(x);
            let k = poisson(self.lambda, &mut self.rng);
            if k == 0 {
                continue;
            }
            let w = f64::from(k);
            if let Some(bg) = &mut m.background {
                bg.learn_one(x, y, w, &mut self.rng);
            }
            m.tree.learn_one(x, y, w, &mut self.rng);
            let error = y - pred;
            m.errors.update(error, 1.0);
            let input = if m.errors.n == 1.0 {
                0.5
            } else {
                let sd = m.errors.get().sqrt();
                if sd > 0.0 {
                    (error + 3.0 * sd) / (6.0 * sd)
                } else {
                    0.5
                }
            };
            if m.warning.update(input) {
                m.background = Some(HoeffdingTreeRegressor::new(
                    self.n_features,
                    self.params.clone(),
                ));
                m.warning = Adwin::new(WARNING_DELTA);
                self.events.warnings += 1;
            }
            if m.drift.update(input) {
                match m.background.take() {
                    Some(bg) => {
                        m.tree = bg;
                        m.warning = Adwin::new(WARNING_DELTA);
                    }
                    None => {
                        m.tree = HoeffdingTreeRegressor::new(self.n_features, self.params.clone());
                    }
                }
                m.drift = Adwin::new(DRIFT_DELTA);
                self.events.drifts += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn forest_learns_a_linear_target() {
        let mut forest = ArfRegressor::new(4, 10, Aggregation::Median, 3);
        let mut data = ChaCha8Rng::seed_from_u64(11);
        let mut late_abs = 0.0;
        for i in 0..3000 {
            let x: Vec<f64> = (0..4).map(|_| data.random::<f64>()).collect();
            let y = 3.0 * x[0] - 2.0 * x[1] + x[2];
            let p = forest.predict(&x);
            if i >= 2000 {
                late_abs += (y - p).abs();
            }
            forest.learn_one(&x, y);
        }
        // The target's mean absolute deviation is about 0.8.
        assert!(late_abs / 1000.0 < 0.4, "late MAE {}", late_abs / 1000.0);
    }

    #[test]
    fn forest_round_trips_through_json() {
        let mut forest = ArfRegressor::new(2, 3, Aggregation::Mean, 5);
        for i in 0..300 {
            let x = [f64::from(i % 17), f64::from(i % 5)];
            forest.learn_one(&x, x[0] * 2.0);
        }
        let json = serde_json::to_string(&forest).expect("serialize");
        let mut back: ArfRegressor = serde_json::from_str(&json).expect("deserialize");
        let x = [3.0, 1.0];
        assert_eq!(back.predict(&x), forest.predict(&x));
        back.learn_one(&x, 6.0);
        forest.learn_one(&x, 6.0);
        assert_eq!(back.predict(&x), forest.predict(&x));
    }
}
