//! Linear models: ordinary least squares, ridge and (multinomial) logistic regression.
//!
//! Every model matches scikit-learn's objective exactly, so coefficients agree with
//! `sklearn.linear_model` to solver tolerance:
//!
//! - [`LinearRegression`] with `alpha = 0` is `LinearRegression`, with `alpha > 0` it is
//!   `Ridge(alpha)`: minimize `Σ wᵢ (yᵢ − xᵢ·β − b)² + α‖β‖²`, solved exactly from the
//!   (weighted, centered) normal equations by Cholesky.
//! - [`LogisticRegression`] is `LogisticRegression(solver="lbfgs")`: minimize
//!   `C·Σ sᵢ·logloss(yᵢ, xᵢ) + ½‖W‖²` (binary: one coefficient row; more than two classes: the
//!   full softmax with one row per class; intercepts are never penalized), by our own L-BFGS
//!   (`lbfgs.rs`) with scikit-learn's stopping rule.
//!
//! The L-BFGS is our own (two-loop recursion, `m = 10`, MINPACK-2's Moré–Thuente line
//! search, SciPy L-BFGS-B's step and stopping rules), not a crate such as `argmin`: with at
//! most a few hundred parameters the optimizer's own arithmetic is negligible, the cost is
//! the fused loss-and-gradient pass over the rows (which we would write anyway), and
//! reproducing scikit-learn's stopping rules exactly is part of the contract — on the
//! reference problems it takes the same number of iterations as scikit-learn and lands on
//! the same coefficients to ~1e-11.
//!
//! The row passes (`X·w` and `Xᵀr`) are fused and run in parallel over fixed blocks of rows;
//! partial sums are combined in block order, so results do not depend on the thread count.
//!
//! Features must be complete and finite: NaN or ±∞ is an [`Error::InvalidData`] naming the
//! feature and the row (impute first).

mod elastic_net;
mod lbfgs;
mod logistic;
mod ridge;

pub use elastic_net::{ElasticNet, ElasticNetModel, ElasticNetParams, LassoParams};
pub use logistic::{
    ClassWeight, LogisticRegression, LogisticRegressionModel, LogisticRegressionParams, Penalty,
};
pub use ridge::{LinearRegression, LinearRegressionModel, LinearRegressionParams};

use crate::{Error, FeatureMeta, Matrix, Result};

/// Rows per parallel task. Fixed (not derived from the thread count) so that floating-point
/// sums are combined in the same order however many threads run.
pub(crate) const BLOCK_ROWS: usize = 4096;

/// Fails with [`Error::InvalidData`] naming the first non-finite feature value.
pub(crate) fn check_finite(x: &Matrix, features: &[FeatureMeta]) -> Result<()> {
    crate::matrix::check_finite(x, Some(features), "a linear model")
}

/// Fails unless `x` has `n_cols` columns (predict-time check).
pub(crate) fn check_n_cols(x: &Matrix, n_cols: usize) -> Result<()> {
    if x.n_cols() != n_cols {
        return Err(Error::SchemaMismatch(format!(
            "model was fitted on {n_cols} features, got {}",
            x.n_cols()
        )));
    }
    Ok(())
}

/// Checks optional sample weights: finite, non-negative, with a positive sum.
pub(crate) fn check_weights(w: Option<&[f64]>) -> Result<()> {
    if let Some(w) = w {
        if let Some(i) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
            return Err(Error::InvalidData(format!(
                "sample weight at row {i} is {}; weights must be finite and non-negative",
                w[i]
            )));
        }
        if w.iter().sum::<f64>() <= 0.0 {
            return Err(Error::InvalidData("sample weights sum to zero".into()));
        }
    }
    Ok(())
}

/// Runs `f` on a dedicated pool of `n_threads` threads, or on the current pool when `None`.
pub(crate) fn with_threads<T, F>(n_threads: Option<usize>, f: F) -> Result<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    match n_threads {
        None => Ok(f()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::Internal(format!("cannot start {n} threads: {e}")))?;
            Ok(pool.install(f))
        }
    }
}

/// `out[r] += Σⱼ w[j]·x[j][r0 + r]` for `r < out.len()`.
#[inline]
pub(crate) fn add_xw(cols: &[&[f64]], w: &[f64], r0: usize, out: &mut [f64]) {
    let m = out.len();
    for (col, &wj) in cols.iter().zip(w) {
        if wj == 0.0 {
            continue;
        }
        let c = &col[r0..r0 + m];
        for (o, v) in out.iter_mut().zip(c) {
            *o += wj * v;
        }
    }
}
