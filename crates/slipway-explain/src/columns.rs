//! Contributions of the model's features summed back to the input columns they come from.
//!
//! One-hot indicators, TF-IDF terms (with the text's length and word count) and datetime
//! parts each come from one input column, and their contributions add up to that column's:
//! SHAP values are additive over features, so a column's value is the sum over its features
//! (the Shapley value of the group when its features are a coalition, as shap's
//! `Partition`/grouped explanations sum them). A polynomial product of several columns is
//! shared equally between them (its contribution cannot be told apart further), and a
//! constant bias column belongs to none (its contribution is always 0).

use slipway_learn::preprocess::FittedPreprocessor;

/// The input columns and, per model feature, the columns it counts toward.
#[derive(Debug, Clone, PartialEq)]
pub struct Groups {
    names: Vec<String>,
    sources: Vec<Vec<usize>>,
}

impl Groups {
    /// The groups of a fitted preprocessor.
    pub fn of(pre: &FittedPreprocessor) -> Groups {
        Groups {
            names: pre.columns.iter().map(|c| c.name.clone()).collect(),
            sources: pre.feature_sources(),
        }
    }

    /// Each input column its own group (contributions already per column).
    pub fn identity(names: Vec<String>) -> Groups {
        let sources = (0..names.len()).map(|j| vec![j]).collect();
        Groups { names, sources }
    }

    /// The input columns, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// For each model feature, the input columns (indices into [`Groups::names`]) it counts
    /// toward.
    pub fn sources(&self) -> &[Vec<usize>] {
        &self.sources
    }

    /// Adds per-feature contributions into per-column ones (`out` has one value per column
    /// and is overwritten).
    pub fn sum_into(&self, features: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        for (v, src) in features.iter().zip(&self.sources) {
            match src.as_slice() {
                [] => {}
                [c] => out[*c] += v,
                many => {
                    let share = v / many.len() as f64;
                    for &c in many {
                        out[c] += share;
                    }
                }
            }
        }
    }
}
