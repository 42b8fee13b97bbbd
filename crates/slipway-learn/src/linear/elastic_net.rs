//! Elastic net and lasso regression by cyclic coordinate descent (scikit-learn's
//! `ElasticNet` / `Lasso`).
//!
//! The objective is scikit-learn's,
//! `1/(2n)·‖y − Xw − b‖² + α·ρ·‖w‖₁ + ½·α·(1 − ρ)·‖w‖²` with `ρ = l1_ratio`, and so is the
//! algorithm (`sklearn/linear_model/_cd_fast.pyx`, `enet_coordinate_descent`): features
//! are centered (weighted, when an intercept is fitted), coordinates are visited in order,
//! and after every sweep whose largest coefficient change relative to the largest
//! coefficient is at most `tol`, the duality gap is computed; the fit stops once it is at
//! most `tol·‖y‖²` (of the centered target). Gap-safe screening drops features that are
//! provably zero at the optimum, exactly as scikit-learn does.

use serde::{Deserialize, Serialize};

use super::{check_finite, check_n_cols, check_weights};
use crate::{
    Error, Estimator, Matrix, Params, Prediction, Predictor, Result, Target, Task, TrainData,
};

/// Hyperparameters of [`ElasticNet`], as read from a config (scikit-learn's `ElasticNet`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ElasticNetParams {
    /// Overall penalty strength `α` (default 1, like scikit-learn); `0` is least squares
    /// by coordinate descent (prefer [`super::LinearRegressionParams`] then).
    pub alpha: f64,
    /// Share of the penalty that is L1, in `[0, 1]` (default 0.5); `1` is the lasso.
    pub l1_ratio: f64,
    /// Whether to fit an (unpenalized) intercept (default true).
    pub fit_intercept: bool,
    /// Maximum coordinate-descent sweeps (default 1000). Reaching it is not an error: the
    /// model records `converged: false`.
    pub max_iter: usize,
    /// Tolerance of the duality gap, relative to `‖y‖²` (default 1e-4).
    pub tol: f64,
    /// Accepted so every family takes the config's `seed`; unused: coordinates are visited
    /// cyclically, so the fit is deterministic (default 0).
    pub seed: u64,
    /// Accepted so every family takes the config's `threads`; coordinate descent runs on
    /// one thread (default: none set).
    pub n_threads: Option<usize>,
}

impl Default for ElasticNetParams {
    fn default() -> Self {
        ElasticNetParams {
            alpha: 1.0,
            l1_ratio: 0.5,
            fit_intercept: true,
            max_iter: 1000,
            tol: 1e-4,
            seed: 0,
            n_threads: None,
        }
    }
}

impl Params for ElasticNetParams {
    type Checked = ElasticNet;

    fn check(&self) -> Result<ElasticNet> {
        if !self.alpha.is_finite() || self.alpha < 0.0 {
            return Err(Error::param(
                "alpha",
                format!("must be finite and >= 0, got {}", self.alpha),
            ));
        }
        if !(0.0..=1.0).contains(&self.l1_ratio) {
            return Err(Error::param(
                "l1_ratio",
                format!("must be in [0, 1], got {}", self.l1_ratio),
            ));
        }
        if self.max_iter == 0 {
            return Err(Error::param("max_iter", "must be at least 1, got 0"));
        }
        if !self.tol.is_finite() || self.tol < 0.0 {
            return Err(Error::param(
                "tol",
                format!("must be finite and >= 0, got {}", self.tol),
            ));
        }
        Ok(ElasticNet {
            params: self.clone(),
        })
    }
}

/// Hyperparameters of the lasso (scikit-learn's `Lasso`): [`ElasticNetParams`] with
/// `l1_ratio = 1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LassoParams {
    /// L1 strength `α` (default 1).
    pub alpha: f64,
    /// Whether to fit an (unpenalized) intercept (default true).
    pub fit_intercept: bool,
    /// Maximum coordinate-descent sweeps (default 1000).
    pub max_iter: usize,
    /// Tolerance of the duality gap, relative to `‖y‖²` (default 1e-4).
    pub tol: f64,
    /// Accepted so every family takes the config's `seed`; unused: coordinates are visited
    /// cyclically, so the fit is deterministic (default 0).
    pub seed: u64,
    /// Accepted so every family takes the config's `threads`; coordinate descent runs on
    /// one thread (default: none set).
    pub n_threads: Option<usize>,
}

impl Default for LassoParams {
    fn default() -> Self {
        LassoParams {
            alpha: 1.0,
            fit_intercept: true,
            max_iter: 1000,
            tol: 1e-4,
            seed: 0,
            n_threads: None,
        }
    }
}

impl LassoParams {
    /// The equivalent elastic-net hyperparameters.
    pub fn to_elastic_net(&self) -> ElasticNetParams {
        ElasticNetParams {
            alpha: self.alpha,
            l1_ratio: 1.0,
            fit_intercept: self.fit_intercept,
            max_iter: self.max_iter,
            tol: self.tol,
            seed: self.seed,
            n_threads: self.n_threads,
        }
    }
}

impl Params for LassoParams {
    type Checked = ElasticNet;

    fn check(&self) -> Result<ElasticNet> {
        self.to_elastic_net().check()
    }
}

/// Checked elastic net; [`Estimator::fit`] returns an [`ElasticNetModel`].
///
/// Sample weights follow scikit-learn: they are rescaled to sum to the number of rows, the
/// columns are centered with weighted means, and rows are multiplied by `√wᵢ`.
#[derive(Debug, Clone)]
pub struct ElasticNet {
    params: ElasticNetParams,
}

impl ElasticNet {
    /// The (checked) hyperparameters.
    pub fn params(&self) -> &ElasticNetParams {
        &self.params
    }
}

/// A fitted elastic net: `ŷ = X·coef + intercept`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElasticNetModel {
    /// One coefficient per feature (exact zeros where the L1 penalty removed a feature).
    pub coef: Vec<f64>,
    /// The intercept (0 when not fitted).
    pub intercept: f64,
    /// Coordinate-descent sweeps run (scikit-learn's `n_iter_`).
    pub n_iter: usize,
    /// The last duality gap computed, on scikit-learn's scale (`n` times the objective
    /// above; scikit-learn's `dual_gap_` is this divided by `n`).
    pub dual_gap: f64,
    /// Whether the gap met the tolerance (false: `max_iter` reached; scikit-learn warns
    /// with a `ConvergenceWarning`).
    pub converged: bool,
}

impl Estimator for ElasticNet {
    type Fitted = ElasticNetModel;

    fn fit(&self, train: &TrainData<'_>, _valid: Option<&TrainData<'_>>) -> Result<Self::Fitted> {
        train.check_shapes()?;
        let y = match train.y {
            Target::Real(v) => v.as_slice(),
            Target::Classes { .. } => {
                return Err(Error::InvalidData(
                    "elastic net needs a real-valued target, got class labels".into(),
                ));
            }
        };
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidData(format!(
                "target is {} at row {i}; elastic net needs finite targets",
                y[i]
            )));
        }
        check_weights(train.weights)?;
        check_finite(train.x, train.features)?;
        let x = train.x;
        let (n, p) = (x.n_rows(), x.n_cols());
        let nf = n as f64;
        // scikit-learn rescales sample weights to sum to n_samples.
        let sw: Option<Vec<f64>> = train.weights.map(|w| {
            let s: f64 = w.iter().sum();
            w.iter().map(|v| v * (nf / s)).collect()
        });
        let wmean = |v: &[f64]| -> f64 {
            match &sw {
                Some(w) => v.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / nf,
                None => v.iter().sum::<f64>() / nf,
            }
        };
        let fit_intercept = self.params.fit_intercept;
        let x_offset: Vec<f64> = if fit_intercept {
            (0..p).map(|j| wmean(x.col(j))).collect()
        } else {
            vec![0.0; p]
        };
        let y_offset = if fit_intercept { wmean(y) } else { 0.0 };
        let sqrt_w: Option<Vec<f64>> = sw.as_ref().map(|w| w.iter().map(|v| v.sqrt()).collect());
        let scale = |i: usize, v: f64| sqrt_w.as_ref().map_or(v, |s| v * s[i]);
        let mut xc = Vec::with_capacity(n * p);
        for (j, off) in x_offset.iter().enumerate() {
            xc.extend(x.col(j).iter().enumerate().map(|(i, v)| scale(i, v - off)));
        }
        let yc: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(i, v)| scale(i, v - y_offset))
            .collect();

        let l1 = self.params.alpha * self.params.l1_ratio * nf;
        let l2 = self.params.alpha * (1.0 - self.params.l1_ratio) * nf;
        let cd = coordinate_descent(
            &xc,
            &yc,
            n,
            p,
            l1,
            l2,
            self.params.max_iter,
            self.params.tol,
        );
        let intercept = if fit_intercept {
            y_offset - x_offset.iter().zip(&cd.w).map(|(m, c)| m * c).sum::<f64>()
        } else {
            0.0
        };
        Ok(ElasticNetModel {
            coef: cd.w,
            intercept,
            n_iter: cd.n_iter,
            dual_gap: cd.gap,
            converged: cd.converged,
        })
    }
}

impl Predictor for ElasticNetModel {
    fn task(&self) -> Task {
        Task::Regression
    }

    /// `X·coef + intercept`; NaN in `x` gives NaN predictions.
    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        check_n_cols(x, self.coef.len())?;
        let mut out = vec![self.intercept; x.n_rows()];
        for (j, &c) in self.coef.iter().enumerate() {
            if c != 0.0 {
                for (o, v) in out.iter_mut().zip(x.col(j)) {
                    *o += c * v;
                }
            }
        }
        Ok(Prediction::Values(out))
    }
}

struct CdResult {
    w: Vec<f64>,
    gap: f64,
    n_iter: usize,
    converged: bool,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    super::lbfgs::dot(a, b)
}

fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// scikit-learn's `gap_enet`: the duality gap and `‖Xᵀr − βw‖∞` (stored in `xta`).
#[allow(clippy::too_many_arguments)]
fn gap_enet(
    x: &[f64],
    y: &[f64],
    r: &[f64],
    w: &[f64],
    n: usize,
    alpha: f64,
    beta: f64,
    xta: &mut [f64],
) -> (f64, f64) {
    let col = |j: usize| &x[j * n..(j + 1) * n];
    let w_l2 = if beta > 0.0 { dot(w, w) } else { 0.0 };
    let r_norm2 = dot(r, r);
    let ry = dot(r, y);
    if alpha == 0.0 {
        for (j, v) in xta.iter_mut().enumerate() {
            *v = dot(col(j), r);
        }
        let dual_norm = dot(xta, xta);
        if beta == 0.0 {
            return (dual_norm, dual_norm);
        }
        let gap = r_norm2 + 0.5 * beta * w_l2 - ry + 1.0 / (2.0 * beta) * dual_norm;
        return (gap, dual_norm);
    }
    for (j, v) in xta.iter_mut().enumerate() {
        *v = dot(col(j), r) - beta * w[j];
    }
    let dual_norm = xta.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let w_l1: f64 = w.iter().map(|v| v.abs()).sum();
    let primal = 0.5 * (r_norm2 + beta * w_l2) + alpha * w_l1;
    let s = if dual_norm > alpha {
        alpha / dual_norm
    } else {
        1.0
    };
    let dual = -0.5 * s * s * (r_norm2 + beta * w_l2) + s * ry;
    (primal - dual, dual_norm)
}

/// scikit-learn's `enet_coordinate_descent` (cyclic, with gap-safe screening) on centered,
/// column-major `x`, minimizing `½‖y − Xw‖² + α‖w‖₁ + ½β‖w‖²` from `w = 0`.
#[allow(clippy::too_many_arguments)]
fn coordinate_descent(
    x: &[f64],
    y: &[f64],
    n: usize,
    p: usize,
    alpha: f64,
    beta: f64,
    max_iter: usize,
    tol: f64,
) -> CdResult {
    let col = |j: usize| &x[j * n..(j + 1) * n];
    let norm2: Vec<f64> = (0..p).map(|j| dot(col(j), col(j))).collect();
    let mut w = vec![0.0; p];
    let mut r = y.to_vec();
    let mut xta = vec![0.0; p];
    let d_w_tol = tol;
    let tol = tol * dot(y, y);
    let screening = alpha != 0.0;

    let (mut gap, mut dual_norm) = gap_enet(x, y, &r, &w, n, alpha, beta, &mut xta);
    if gap <= tol {
        return CdResult {
            w,
            gap,
            n_iter: 0,
            converged: true,
        };
    }
    let mut excluded = vec![false; p];
    let mut active: Vec<usize> = (0..p).collect();
    // Gap-safe screening (https://arxiv.org/abs/1802.07481, eq. 11).
    let screen = |gap: f64,
                  dual_norm: f64,
                  xta: &[f64],
                  w: &mut [f64],
                  r: &mut [f64],
                  excluded: &mut [bool],
                  active: &mut Vec<usize>,
                  first: bool| {
        active.clear();
        for j in 0..p {
            if first && norm2[j] == 0.0 {
                w[j] = 0.0;
                excluded[j] = true;
                continue;
            }
            if !first && excluded[j] {
                continue;
            }
            let xj_theta = xta[j] / alpha.max(dual_norm);
            let d_j = (1.0 - xj_theta.abs()) / (norm2[j] + beta).sqrt();
            if d_j <= (2.0 * gap).sqrt() / alpha {
                active.push(j);
                excluded[j] = false;
            } else {
                if w[j] != 0.0 {
                    axpy(w[j], col(j), r);
                    w[j] = 0.0;
                }
                excluded[j] = true;
            }
        }
    };
    if screening {
        screen(
            gap,
            dual_norm,
            &xta,
            &mut w,
            &mut r,
            &mut excluded,
            &mut active,
            true,
        );
    }
    let mut converged = false;
    let mut n_iter = 0;
    for it in 0..max_iter {
        n_iter = it + 1;
        let mut w_max = 0.0f64;
        let mut d_w_max = 0.0f64;
        for &j in &active {
            if norm2[j] == 0.0 {
                continue;
            }
            let w_j = w[j];
            let tmp = dot(col(j), &r) + w_j * norm2[j];
            w[j] = tmp.signum() * (tmp.abs() - alpha).max(0.0) / (norm2[j] + beta);
            if w[j] != w_j {
                axpy(w_j - w[j], col(j), &mut r);
            }
            d_w_max = d_w_max.max((w[j] - w_j).abs());
            w_max = w_max.max(w[j].abs());
        }
        if w_max == 0.0 || d_w_max / w_max <= d_w_tol || it == max_iter - 1 {
            (gap, dual_norm) = gap_enet(x, y, &r, &w, n, alpha, beta, &mut xta);
            if gap <= tol {
                converged = true;
                break;
            }
            if screening {
                screen(
                    gap,
                    dual_norm,
                    &xta,
                    &mut w,
                    &mut r,
                    &mut excluded,
                    &mut active,
                    false,
                );
            }
        }
    }
    CdResult {
        w,
        gap,
        n_iter,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FeatureMeta;

    #[test]
    fn lasso_zeroes_noise_and_params_are_checked() {
        let a: Vec<f64> = (0..80).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..80).map(|i| (i as f64 * 0.11).cos()).collect();
        let y: Vec<f64> = a.iter().map(|v| 3.0 * v + 1.0).collect();
        let x = Matrix::from_columns(vec![a, b]).unwrap();
        let features = vec![FeatureMeta::numeric("a"), FeatureMeta::numeric("b")];
        let y = Target::Real(y);
        let train = TrainData {
            x: &x,
            y: &y,
            features: &features,
            weights: None,
        };
        let m = LassoParams {
            alpha: 0.01,
            ..LassoParams::default()
        }
        .check()
        .unwrap()
        .fit(&train, None)
        .unwrap();
        assert!(m.converged);
        assert!((m.coef[0] - 3.0).abs() < 0.05, "{:?}", m.coef);
        assert_eq!(m.coef[1], 0.0);
        let err = ElasticNetParams {
            l1_ratio: 1.5,
            ..Default::default()
        }
        .check()
        .unwrap_err()
        .to_string();
        assert!(err.contains("l1_ratio"), "{err}");
    }
}
