//! The adaptive random forest classifier (Gomes et al. 2017), as River's
//! `forest.ARFClassifier` with its defaults: 10 Hoeffding trees (grace period 50, delta
//! 0.01, tau 0.05, naive-Bayes-adaptive leaves) each watching `round(sqrt(features))`
//! random features per leaf; online bagging with Poisson(6) weights; per tree an ADWIN
//! warning detector (delta 0.01) that starts a background tree and an ADWIN drift detector
//! (delta 0.001) that swaps it in; votes weighted by each tree's accuracy.
//!
//! River draws from Python's `random`; this forest draws from a seeded ChaCha8, so single
//! predictions differ while accuracy agrees (`tests/online_reference.rs`).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::adwin::{Adwin, DriftDetector};
use super::tree::{ClassOrder, HoeffdingTree, TreeParams};

/// River's `utils.random.poisson` (Knuth's multiplication method).
pub(super) fn poisson<R: Rng>(rate: f64, rng: &mut R) -> u32 {
    let l = (-rate).exp();
    let mut k = 0;
    let mut p = 1.0;
    while p > l {
        k += 1;
        p *= rng.random::<f64>();
    }
    k - 1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Member {
    tree: HoeffdingTree,
    background: Option<HoeffdingTree>,
    warning: Adwin,
    drift: Adwin,
    correct: f64,
    seen: f64,
}

/// Counters of what the forest's detectors did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForestEvents {
    /// Warnings (a background tree started).
    pub warnings: u64,
    /// Drifts (a tree replaced).
    pub drifts: u64,
}

/// An adaptive random forest classifier over `n_features` numeric features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveRandomForest {
    n_features: usize,
    params: TreeParams,
    lambda: f64,
    members: Vec<Member>,
    #[serde(with = "super::rng")]
    rng: ChaCha8Rng,
    events: ForestEvents,
}

impl AdaptiveRandomForest {
    /// River's defaults with `n_models` trees and a seed.
    pub fn new(n_features: usize, n_models: usize, seed: u64) -> AdaptiveRandomForest {
        let params = TreeParams {
            grace_period: 50.0,
            delta: 0.01,
            tau: 0.05,
            ..TreeParams::default()
        };
        AdaptiveRandomForest::with_tree_params(n_features, n_models, seed, params)
    }

    /// A forest whose trees use `params` (their `max_features` is set to
    /// `round(sqrt(n_features))`, as River's).
    pub fn with_tree_params(
        n_features: usize,
        n_models: usize,
        seed: u64,
        params: TreeParams,
    ) -> AdaptiveRandomForest {
        let k = ((n_features as f64).sqrt().round_ties_even() as usize).clamp(1, n_features.max(1));
        let params = TreeParams {
            max_features: Some(k),
            ..params
        };
        let members = (0..n_models)
            .map(|_| Member {
                tree: HoeffdingTree::new(n_features, params.clone()),
                background: None,
                warning: Adwin::new(0.01),
                drift: Adwin::new(0.001),
                correct: 0.0,
                seen: 0.0,
            })
            .collect();
        AdaptiveRandomForest {
            n_features,
            params,
            lambda: 6.0,
            members,
            rng: ChaCha8Rng::seed_from_u64(seed),
            events: ForestEvents::default(),
        }
    }

    /// What the detectors did so far.
    pub fn events(&self) -> ForestEvents {
        self.events
    }

    /// Accuracy-weighted votes of the trees into `out` (indexed by class id); false when no
    /// tree can vote yet.
    pub fn predict_proba(&self, x: &[f64], out: &mut [f64]) -> bool {
        out.iter_mut().for_each(|p| *p = 0.0);
        let mut scratch = vec![0.0; out.len()];
        let mut any = false;
        for m in &self.members {
            if !m.tree.predict_proba(x, &mut scratch) {
                continue;
            }
            any = true;
            let acc = if m.seen > 0.0 {
                m.correct / m.seen
            } else {
                0.0
            };
            let weight = if acc > 0.0 { acc } else { 1.0 };
            for (o, p) in out.iter_mut().zip(&scratch) {
                *o += p * weight;
            }
        }
        let total: f64 = out.iter().sum();
        if total > 0.0 {
            out.iter_mut().for_each(|p| *p /= total);
        }
        any
    }

    /// The predicted class, using `proba` as scratch.
    pub fn predict(&self, x: &[f64], order: &ClassOrder, proba: &mut [f64]) -> Option<u32> {
        if !self.predict_proba(x, proba) {
            return None;
        }
        let members = &self.members;
        order.argmax(proba, |c| members.iter().any(|m| m.tree.has_seen(c)))
    }

    /// Learns one row: each tree is scored, then trained with a Poisson(6) weight, and its
    /// detectors see whether it was wrong.
    pub fn learn_one(&mut self, x: &[f64], y: u32, order: &ClassOrder, n_classes: usize) {
        let mut scratch = vec![0.0; n_classes.max(y as usize + 1)];
        for i in 0..self.members.len() {
            let m = &mut self.members[i];
            let pred = m.tree.predict(x, order, &mut scratch);
            m.seen += 1.0;
            if pred == Some(y) {
                m.correct += 1.0;
            }
            let k = poisson(self.lambda, &mut self.rng);
            if k == 0 {
                continue;
            }
            let w = f64::from(k);
            if let Some(bg) = &mut m.background {
                bg.learn_one(x, y, w, &mut self.rng);
            }
            m.tree.learn_one(x, y, w, &mut self.rng);
            let wrong = if pred == Some(y) { 0.0 } else { 1.0 };
            if m.warning.update(wrong) {
                m.background = Some(HoeffdingTree::new(self.n_features, self.params.clone()));
                m.warning = Adwin::new(0.01);
                self.events.warnings += 1;
            }
            if m.drift.update(wrong) {
                m.tree = match m.background.take() {
                    Some(bg) => {
                        m.warning = Adwin::new(0.01);
                        bg
                    }
                    None => HoeffdingTree::new(self.n_features, self.params.clone()),
                };
                m.drift = Adwin::new(0.001);
                m.correct = 0.0;
                m.seen = 0.0;
                self.events.drifts += 1;
            }
        }
    }
}
