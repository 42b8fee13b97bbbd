//! Exact SHAP values of linear models (`shap.LinearExplainer` with an independent masker):
//! for a raw score `f(x) = β·x + b` and a background sample with feature means `μ`, the
//! Shapley values of `v(S) = mean over background rows z of f(x_S, z_S̄)` are
//! `φ_i = β_i (x_i − μ_i)`, and the base value is `β·μ + b`. Raw score: the value for
//! linear, ridge, lasso and elastic net regression, the log-odds (per class scores before
//! the softmax for multinomial) for logistic regression.

use slipway_learn::Matrix;
use slipway_learn::pipeline::FittedModel;

use crate::{Error, Result};

/// A linear model's coefficients and a background's means.
#[derive(Debug, Clone)]
pub struct LinearShap {
    /// One row of coefficients per output.
    coef: Vec<Vec<f64>>,
    base: Vec<f64>,
    mean: Vec<f64>,
}

impl LinearShap {
    /// The coefficients of a linear model (`None` for other families).
    pub fn coefficients(model: &FittedModel) -> Option<(Vec<Vec<f64>>, Vec<f64>)> {
        match model {
            FittedModel::LogisticRegression(m) => Some((m.coef.clone(), m.intercept.clone())),
            FittedModel::LinearRegression(m) => Some((vec![m.coef.clone()], vec![m.intercept])),
            FittedModel::ElasticNet(m) => Some((vec![m.coef.clone()], vec![m.intercept])),
            _ => None,
        }
    }

    /// An explainer for coefficients `coef` (one row per output), intercepts and a
    /// background sample (one column per feature, no missing values).
    pub fn new(
        coef: Vec<Vec<f64>>,
        intercept: Vec<f64>,
        background: &Matrix,
    ) -> Result<LinearShap> {
        let nf = coef.first().map_or(0, Vec::len);
        if background.n_cols() != nf || background.n_rows() == 0 {
            return Err(Error::Input(format!(
                "the background needs rows of the model's {nf} features (it has {} rows of {})",
                background.n_rows(),
                background.n_cols()
            )));
        }
        let mean: Vec<f64> = (0..nf)
            .map(|j| background.col(j).iter().sum::<f64>() / background.n_rows() as f64)
            .collect();
        if let Some(j) = mean.iter().position(|m| !m.is_finite()) {
            return Err(Error::Input(format!(
                "background feature {j} has missing or infinite values"
            )));
        }
        let base = coef
            .iter()
            .zip(&intercept)
            .map(|(c, b)| c.iter().zip(&mean).map(|(c, m)| c * m).sum::<f64>() + b)
            .collect();
        Ok(LinearShap { coef, base, mean })
    }

    /// Base value per output.
    pub fn base_values(&self) -> &[f64] {
        &self.base
    }

    /// Values per row: per output, one per feature and the base value.
    pub fn row_len(&self) -> usize {
        self.coef.len() * (self.mean.len() + 1)
    }

    /// Explains every row of `x`: `x.n_rows() × row_len()` values.
    pub fn explain(&self, x: &Matrix) -> Result<Vec<f64>> {
        let nf = self.mean.len();
        if x.n_cols() != nf {
            return Err(Error::Input(format!(
                "the model has {nf} features, the input {} columns",
                x.n_cols()
            )));
        }
        let w = self.row_len();
        let mut out = vec![0.0; x.n_rows() * w];
        for j in 0..nf {
            let col = x.col(j);
            for (k, c) in self.coef.iter().enumerate() {
                for (r, &v) in col.iter().enumerate() {
                    out[r * w + k * (nf + 1) + j] = c[j] * (v - self.mean[j]);
                }
            }
        }
        for r in 0..x.n_rows() {
            for (k, b) in self.base.iter().enumerate() {
                out[r * w + k * (nf + 1) + nf] = *b;
            }
        }
        Ok(out)
    }
}
