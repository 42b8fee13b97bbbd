//! [`MixtureModel`]: a randomized binary classifier, the weighted mixture of hard
//! classifiers that a reductions approach to fairness (`slipway_govern::mitigation::expgrad`,
//! Fairlearn's `ExponentiatedGradient`) returns.
//!
//! Each component answers 0 or 1 on a row (a fitted model's most probable class, first on
//! ties, or a constant). The mixture's probability of the positive class is
//! `pmf(x) = Σ_j w_j·h_j(x)` (Fairlearn's `_pmf_predict`); that is what
//! [`Predictor::predict`] returns, as the probabilities `[1 − pmf, pmf]`.
//!
//! The mixture's label is drawn, as Fairlearn's `predict` draws it, but from a seeded hash
//! of the row instead of a generator's stream ([`MixtureModel::draw`]), so a row's label does
//! not depend on where it sits in a file, on the chunk size, or on which request carried it.

use serde::{Deserialize, Serialize};

use crate::pipeline::FittedModel;
use crate::{Error, Matrix, Prediction, Predictor, Result, Task};

/// One answer of the mixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MixtureComponent {
    /// Always this class code (0 or 1): the reduction's answer when its relabeled targets
    /// were all one class.
    Constant {
        /// The class code.
        class: u32,
    },
    /// A binary model fitted on relabeled, reweighted rows; it answers its most probable
    /// class.
    Model {
        /// The fitted model (on the pipeline's features).
        model: Box<FittedModel>,
    },
}

/// A weighted mixture of hard binary classifiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixtureModel {
    /// How the mixture was found (`exponentiated_gradient`).
    pub method: String,
    /// The components, in the order found.
    pub components: Vec<MixtureComponent>,
    /// Their weights: finite, > 0, summing to 1.
    pub weights: Vec<f64>,
    /// The seed of the label draws ([`MixtureModel::draw`]).
    pub seed: u64,
}

/// How far the weights may sum from 1 (a linear program's solution sums to 1 within its
/// tolerance).
const WEIGHT_SUM_TOL: f64 = 1e-6;

impl MixtureModel {
    /// A mixture; the weights must be finite, positive and sum to 1, and every model must be
    /// binary.
    pub fn new(
        method: impl Into<String>,
        components: Vec<MixtureComponent>,
        weights: Vec<f64>,
        seed: u64,
    ) -> Result<MixtureModel> {
        let m = MixtureModel {
            method: method.into(),
            components,
            weights,
            seed,
        };
        m.check()?;
        Ok(m)
    }

    /// Checks the invariants [`MixtureModel::new`] states (a loaded bundle is checked too).
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidData(format!("fairness mixture: {m}")));
        if self.components.is_empty() {
            return bad("has no components".into());
        }
        if self.components.len() != self.weights.len() {
            return bad(format!(
                "{} components but {} weights",
                self.components.len(),
                self.weights.len()
            ));
        }
        if let Some(w) = self.weights.iter().find(|w| !(w.is_finite() && **w > 0.0)) {
            return bad(format!("weight {w} is not a finite number > 0"));
        }
        let sum: f64 = self.weights.iter().sum();
        if (sum - 1.0).abs() > WEIGHT_SUM_TOL {
            return bad(format!("weights sum to {sum}, not 1"));
        }
        for c in &self.components {
            match c {
                MixtureComponent::Constant { class } if *class > 1 => {
                    return bad(format!("constant class {class} is not 0 or 1"));
                }
                MixtureComponent::Model { model } if model.task() != Task::Binary => {
                    return bad(format!("a component solves {:?}, not Binary", model.task()));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Each component's 0/1 answer on every row of `x`.
    pub fn answers(&self, x: &Matrix) -> Result<Vec<Vec<u32>>> {
        self.components
            .iter()
            .map(|c| match c {
                MixtureComponent::Constant { class } => Ok(vec![*class; x.n_rows()]),
                MixtureComponent::Model { model } => hard_labels(&model.predict(x)?),
            })
            .collect()
    }

    /// The probability of the positive class on every row: `Σ_j w_j·h_j(x)`, summed in
    /// component order.
    pub fn pmf(&self, x: &Matrix) -> Result<Vec<f64>> {
        let answers = self.answers(x)?;
        let mut p = vec![0.0; x.n_rows()];
        for (w, h) in self.weights.iter().zip(&answers) {
            for (pi, &hi) in p.iter_mut().zip(h) {
                *pi += w * f64::from(hi);
            }
        }
        Ok(p)
    }

    /// The drawn label of every row of `x`, given its `pmf`: row `i` is positive when
    /// `u_i ≤ pmf_i`, with `u_i = ((h >> 11) + 1) / 2⁵³` in (0, 1] and `h` the row's hash:
    /// `h = splitmix64(seed)`, then for each feature value `v` of the row in column order
    /// `h = splitmix64(h ^ bits(v))` (`bits`: the IEEE-754 bits, every NaN as `0x7ff8…0`,
    /// −0 as +0). A row with pmf 0 is never positive, one with pmf 1 always; the same row
    /// always gets the same label, different rows independent ones.
    pub fn draw(&self, x: &Matrix, pmf: &[f64]) -> Vec<u32> {
        let mut row = vec![0.0; x.n_cols()];
        (0..x.n_rows())
            .map(|i| {
                x.row_into(i, &mut row);
                u32::from(uniform(self.seed, &row) <= pmf[i])
            })
            .collect()
    }
}

/// A binary model's answers: its most probable class (first on ties).
pub fn hard_labels(pred: &Prediction) -> Result<Vec<u32>> {
    match pred {
        Prediction::Probabilities(p) if p.n_cols() == 2 => Ok(p
            .col(0)
            .iter()
            .zip(p.col(1))
            .map(|(p0, p1)| u32::from(p1 > p0))
            .collect()),
        _ => Err(Error::Internal(
            "a fairness mixture component did not give two class probabilities".into(),
        )),
    }
}

/// SplitMix64's output function (Steele, Lea and Flood 2014) after its increment.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The row's uniform draw in (0, 1] (see [`MixtureModel::draw`]).
fn uniform(seed: u64, row: &[f64]) -> f64 {
    let mut h = splitmix64(seed);
    for &v in row {
        let bits = if v.is_nan() {
            0x7ff8_0000_0000_0000
        } else if v == 0.0 {
            0
        } else {
            v.to_bits()
        };
        h = splitmix64(h ^ bits);
    }
    ((h >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

impl Predictor for MixtureModel {
    fn task(&self) -> Task {
        Task::Binary
    }

    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        let p1 = self.pmf(x)?;
        let p0: Vec<f64> = p1.iter().map(|p| 1.0 - p).collect();
        Ok(Prediction::Probabilities(Matrix::from_columns(vec![
            p0, p1,
        ])?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constants(weights: &[f64]) -> MixtureModel {
        let components = (0..weights.len())
            .map(|j| MixtureComponent::Constant {
                class: (j % 2) as u32,
            })
            .collect();
        MixtureModel::new("exponentiated_gradient", components, weights.to_vec(), 7).unwrap()
    }

    #[test]
    fn pmf_is_the_weight_of_the_positive_answers() {
        let m = constants(&[0.25, 0.75]);
        let x = Matrix::from_columns(vec![vec![1.0, 2.0, 3.0]]).unwrap();
        assert_eq!(m.pmf(&x).unwrap(), vec![0.75; 3]);
        let Prediction::Probabilities(p) = m.predict(&x).unwrap() else {
            panic!()
        };
        assert_eq!(p.col(0), &[0.25; 3]);
    }

    #[test]
    fn draws_follow_the_pmf_and_depend_only_on_the_row() {
        let n = 20_000;
        let x = Matrix::from_columns(vec![(0..n).map(|i| i as f64).collect()]).unwrap();
        let m = constants(&[0.7, 0.3]);
        let pmf = m.pmf(&x).unwrap();
        let labels = m.draw(&x, &pmf);
        let rate = labels.iter().sum::<u32>() as f64 / n as f64;
        assert!((rate - 0.3).abs() < 0.015, "{rate}");
        // The same rows in another order and alone get the same labels.
        let rev = Matrix::from_columns(vec![(0..n).rev().map(|i| i as f64).collect()]).unwrap();
        let again = m.draw(&rev, &pmf);
        assert!(again.iter().rev().eq(labels.iter()));
        // pmf 0 and 1 are certain.
        assert!(m.draw(&x, &vec![0.0; n]).iter().all(|&l| l == 0));
        assert!(m.draw(&x, &vec![1.0; n]).iter().all(|&l| l == 1));
        // Another seed, other draws.
        let other = MixtureModel {
            seed: 8,
            ..m.clone()
        };
        assert_ne!(other.draw(&x, &pmf), labels);
    }

    #[test]
    fn invalid_mixtures_are_refused() {
        let c = || MixtureComponent::Constant { class: 1 };
        assert!(MixtureModel::new("m", vec![], vec![], 0).is_err());
        assert!(MixtureModel::new("m", vec![c()], vec![0.5], 0).is_err());
        assert!(MixtureModel::new("m", vec![c(), c()], vec![1.0], 0).is_err());
        assert!(MixtureModel::new("m", vec![c(), c()], vec![1.5, -0.5], 0).is_err());
        assert!(
            MixtureModel::new(
                "m",
                vec![MixtureComponent::Constant { class: 2 }],
                vec![1.0],
                0
            )
            .is_err()
        );
    }
}
