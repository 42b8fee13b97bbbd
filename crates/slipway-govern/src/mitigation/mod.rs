//! Fairness mitigation: ways of training or post-processing a classifier so that its
//! outcomes depend less on a protected attribute.
//!
//! - [`thresholds`]: post-processing. Fairlearn's `ThresholdOptimizer` (demographic parity or
//!   equalized odds, accuracy objective): randomized per-group thresholds on a model's scores.
//! - [`expgrad`]: in-processing. Fairlearn's `ExponentiatedGradient` (demographic parity or
//!   equalized odds, error-rate objective): a randomized mixture of base-learner fits on
//!   relabeled, reweighted rows; the protected column is needed only to fit.
//! - [`reweighing`]: pre-processing. Kamiran and Calders' weights `w(g, y) = P(g)·P(y) /
//!   P(g, y)`, equal to AIF360's `Reweighing`, used as sample weights when fitting.
//!
//! Each function takes a protected group code per row (see [`GroupCodes`]) and the labels as
//! class codes, so it is independent of how the table stores the column.

pub mod expgrad;
mod linprog;
pub mod reweighing;
pub mod thresholds;

use std::collections::BTreeMap;

/// The group a missing protected value falls in (as in [`crate::fairness`]).
pub const MISSING_GROUP: &str = "(missing)";

/// A mitigation input that breaks a rule; the message names it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Error(pub String);

/// Mitigation's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A protected column as one group code per row, with the group names in code order
/// (sorted, `(missing)` for missing values).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupCodes {
    /// Group names; `codes[i]` indexes this list.
    pub names: Vec<String>,
    /// One code per row.
    pub codes: Vec<u32>,
}

impl GroupCodes {
    /// Codes the values of a protected column (a missing value is its own group).
    pub fn from_values(values: &[Option<String>]) -> GroupCodes {
        let mut index: BTreeMap<&str, u32> = BTreeMap::new();
        for v in values {
            index
                .entry(v.as_deref().unwrap_or(MISSING_GROUP))
                .or_insert(0);
        }
        for (i, code) in index.values_mut().enumerate() {
            *code = i as u32;
        }
        let codes = values
            .iter()
            .map(|v| index[v.as_deref().unwrap_or(MISSING_GROUP)])
            .collect();
        GroupCodes {
            names: index.keys().map(|k| k.to_string()).collect(),
            codes,
        }
    }

    /// The rows `rows` of these codes (same group list).
    pub fn take(&self, rows: &[usize]) -> GroupCodes {
        GroupCodes {
            names: self.names.clone(),
            codes: rows.iter().map(|&r| self.codes[r]).collect(),
        }
    }
}
