//! Ordinary least squares and ridge regression, solved exactly from the normal equations.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{BLOCK_ROWS, add_xw, check_finite, check_n_cols, check_weights};
use crate::{
    Error, Estimator, Matrix, Params, Prediction, Predictor, Result, Target, Task, TrainData,
};

/// Hyperparameters of [`LinearRegression`], as read from a config.
///
/// Minimizes `Σ wᵢ (yᵢ − xᵢ·β − b)² + α‖β‖²` (the intercept `b` is never penalized), which is
/// scikit-learn's `LinearRegression` for `alpha = 0` and `Ridge(alpha)` otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinearRegressionParams {
    /// L2 strength: 0 (default) is ordinary least squares, > 0 is ridge.
    pub alpha: f64,
    /// Whether to fit an intercept (default true).
    pub fit_intercept: bool,
    /// Accepted so every family takes the config's `seed`; unused: the solution is exact
    /// and deterministic (default 0).
    pub seed: u64,
    /// Threads for the column means, the normal equations and prediction (default: rayon's
    /// global pool). The model does not depend on it.
    pub n_threads: Option<usize>,
}

impl Default for LinearRegressionParams {
    fn default() -> Self {
        LinearRegressionParams {
            alpha: 0.0,
            fit_intercept: true,
            seed: 0,
            n_threads: None,
        }
    }
}

impl Params for LinearRegressionParams {
    type Checked = LinearRegression;

    fn check(&self) -> Result<LinearRegression> {
        if !self.alpha.is_finite() || self.alpha < 0.0 {
            return Err(Error::param(
                "alpha",
                format!("must be finite and >= 0, got {}", self.alpha),
            ));
        }
        Ok(LinearRegression {
            params: self.clone(),
        })
    }
}

/// Checked least-squares / ridge regression; [`Estimator::fit`] returns a
/// [`LinearRegressionModel`].
///
/// The normal equations are formed on centered columns (weighted means, when an intercept
/// is fitted), scaled to unit diagonal and solved by Cholesky.
///
/// - A constant column (or an all-zero one without intercept) gets coefficient 0, which is
///   what scikit-learn's minimum-norm least squares gives too.
/// - Ordinary least squares (`alpha = 0`) on columns that are (numerically) linear
///   combinations of each other has no unique solution: that is an [`Error::InvalidData`]
///   naming the feature, suggesting `alpha > 0`. We deliberately do not add jitter or return
///   a minimum-norm solution, which would silently depend on round-off. The test is the
///   Cholesky pivot of the unit-diagonal matrix: `1 − R²` of the feature regressed on the
///   features before it must exceed `1e-10`.
#[derive(Debug, Clone)]
pub struct LinearRegression {
    params: LinearRegressionParams,
}

impl LinearRegression {
    /// The (checked) hyperparameters.
    pub fn params(&self) -> &LinearRegressionParams {
        &self.params
    }
}

/// A fitted linear model: `ŷ = X·coef + intercept`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearRegressionModel {
    /// One coefficient per feature.
    pub coef: Vec<f64>,
    /// The intercept (0 when not fitted).
    pub intercept: f64,
}

/// Smallest acceptable Cholesky pivot of the unit-diagonal OLS system.
const SINGULAR_PIVOT: f64 = 1e-10;

/// The features before `a` that feature `a` is (nearly) a combination of, largest weight
/// first: with the first `a` rows of the Cholesky factor `L` final (in the lower triangle of
/// `l`, `q × q` row-major) and row `a` holding `L[a][..a]`, the regression of feature `a`
/// on features `..a` (unit-diagonal scale) has coefficients `b = L₍..a₎⁻ᵀ · L[a][..a]`.
/// Coefficients below 1e-6 of the largest are left out.
fn collinear_with(l: &[f64], q: usize, a: usize) -> Vec<usize> {
    let mut b: Vec<f64> = (0..a).map(|c| l[a * q + c]).collect();
    for c in (0..a).rev() {
        let mut v = b[c];
        for r in c + 1..a {
            v -= l[r * q + c] * b[r];
        }
        b[c] = v / l[c * q + c];
    }
    let largest = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if !(largest.is_finite() && largest > 0.0) {
        return Vec::new();
    }
    let mut idx: Vec<usize> = (0..a).filter(|&c| b[c].abs() > 1e-6 * largest).collect();
    idx.sort_by(|&x, &y| b[y].abs().total_cmp(&b[x].abs()).then(x.cmp(&y)));
    idx
}

impl Estimator for LinearRegression {
    type Fitted = LinearRegressionModel;

    fn fit(&self, train: &TrainData<'_>, _valid: Option<&TrainData<'_>>) -> Result<Self::Fitted> {
        train.check_shapes()?;
        let y = match train.y {
            Target::Real(v) => v.as_slice(),
            Target::Classes { .. } => {
                return Err(Error::InvalidData(
                    "linear regression needs a real-valued target, got class labels".into(),
                ));
            }
        };
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidData(format!(
                "target is {} at row {i}; linear regression needs finite targets",
                y[i]
            )));
        }
        check_weights(train.weights)?;
        check_finite(train.x, train.features)?;
        let x = train.x;
        let w = train.weights;
        let (n, p) = (x.n_rows(), x.n_cols());
        let fit_intercept = self.params.fit_intercept;
        let alpha = self.params.alpha;

        // Weighted means (zero without intercept).
        let w_sum = w.map_or(n as f64, |w| w.iter().sum());
        let wmean = |v: &[f64]| -> f64 {
            match w {
                Some(w) => v.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / w_sum,
                None => v.iter().sum::<f64>() / w_sum,
            }
        };
        let (x_mean, y_mean): (Vec<f64>, f64) = if fit_intercept {
            (
                (0..p).into_par_iter().map(|j| wmean(x.col(j))).collect(),
                wmean(y),
            )
        } else {
            (vec![0.0; p], 0.0)
        };

        // Columns that carry no information get coefficient 0 (minimum-norm solution).
        let active: Vec<usize> = (0..p)
            .filter(|&j| {
                let col = x.col(j);
                let mut vals = col
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| w.is_none_or(|w| w[*i] > 0.0))
                    .map(|(_, v)| *v);
                match vals.next() {
                    None => false,
                    Some(first) => {
                        let constant = vals.all(|v| v == first);
                        !(constant && (fit_intercept || first == 0.0))
                    }
                }
            })
            .collect();
        let q = active.len();

        // Weighted, centered Gram matrix (lower triangle) and right-hand side.
        let cols: Vec<&[f64]> = active.iter().map(|&j| x.col(j)).collect();
        let means: Vec<f64> = active.iter().map(|&j| x_mean[j]).collect();
        let n_blocks = n.div_ceil(BLOCK_ROWS);
        let partials: Vec<Vec<f64>> = (0..n_blocks)
            .into_par_iter()
            .map(|b| {
                let r0 = b * BLOCK_ROWS;
                let m = BLOCK_ROWS.min(n - r0);
                let mut xc = vec![0.0; q * m];
                let mut wxc = vec![0.0; q * m];
                for (a, col) in cols.iter().enumerate() {
                    for t in 0..m {
                        let v = col[r0 + t] - means[a];
                        xc[a * m + t] = v;
                        wxc[a * m + t] = w.map_or(v, |w| w[r0 + t] * v);
                    }
                }
                let yc: Vec<f64> = (0..m).map(|t| y[r0 + t] - y_mean).collect();
                let mut out = vec![0.0; q * q + q];
                for a in 0..q {
                    let wa = &wxc[a * m..(a + 1) * m];
                    for c in 0..=a {
                        out[a * q + c] = super::lbfgs::dot(wa, &xc[c * m..(c + 1) * m]);
                    }
                    out[q * q + a] = super::lbfgs::dot(wa, &yc);
                }
                out
            })
            .collect();
        let mut gram = vec![0.0; q * q + q];
        for part in &partials {
            for (g, v) in gram.iter_mut().zip(part) {
                *g += v;
            }
        }
        let (a_mat, rhs) = gram.split_at_mut(q * q);
        for a in 0..q {
            a_mat[a * q + a] += alpha;
        }

        // Scale to unit diagonal, then Cholesky A = L·Lᵀ (lower triangle, in place).
        let scale: Vec<f64> = (0..q).map(|a| 1.0 / a_mat[a * q + a].sqrt()).collect();
        for a in 0..q {
            for c in 0..=a {
                a_mat[a * q + c] *= scale[a] * scale[c];
            }
            rhs[a] *= scale[a];
        }
        let names = |a: usize| {
            train.features.get(active[a]).map_or_else(
                || format!("column {}", active[a]),
                |f| format!("'{}'", f.name),
            )
        };
        for a in 0..q {
            let mut d = a_mat[a * q + a];
            for c in 0..a {
                d -= a_mat[a * q + c] * a_mat[a * q + c];
            }
            let threshold = if alpha > 0.0 { 0.0 } else { SINGULAR_PIVOT };
            if d.is_nan() || d <= threshold {
                let all = collinear_with(a_mat, q, a);
                let mut with: Vec<String> = all.iter().take(8).map(|&c| names(c)).collect();
                if all.len() > 8 {
                    with.push(format!("{} more", all.len() - 8));
                }
                let intercept = if fit_intercept {
                    " and the intercept"
                } else {
                    ""
                };
                let of = if with.is_empty() {
                    format!("is constant{intercept}")
                } else {
                    format!(
                        "is (nearly) a linear combination of {}{intercept}",
                        with.join(", ")
                    )
                };
                return Err(Error::InvalidData(format!(
                    "feature {} {of} (collinear columns), so ordinary least squares has no \
                     unique solution; drop one of these columns from the features, or use a \
                     penalized model (linear_regression with alpha > 0, or elastic_net)",
                    names(a)
                )));
            }
            let l_aa = d.sqrt();
            a_mat[a * q + a] = l_aa;
            for r in a + 1..q {
                let mut v = a_mat[r * q + a];
                for c in 0..a {
                    v -= a_mat[r * q + c] * a_mat[a * q + c];
                }
                a_mat[r * q + a] = v / l_aa;
            }
        }
        // Forward then backward substitution.
        let mut z = rhs.to_vec();
        for a in 0..q {
            let mut v = z[a];
            for c in 0..a {
                v -= a_mat[a * q + c] * z[c];
            }
            z[a] = v / a_mat[a * q + a];
        }
        for a in (0..q).rev() {
            let mut v = z[a];
            for r in a + 1..q {
                v -= a_mat[r * q + a] * z[r];
            }
            z[a] = v / a_mat[a * q + a];
        }
        let mut coef = vec![0.0; p];
        for (a, &j) in active.iter().enumerate() {
            coef[j] = z[a] * scale[a];
        }
        let intercept = if fit_intercept {
            y_mean - x_mean.iter().zip(&coef).map(|(m, c)| m * c).sum::<f64>()
        } else {
            0.0
        };
        Ok(LinearRegressionModel { coef, intercept })
    }
}

impl Predictor for LinearRegressionModel {
    fn task(&self) -> Task {
        Task::Regression
    }

    /// `X·coef + intercept`; NaN in `x` gives NaN predictions.
    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        check_n_cols(x, self.coef.len())?;
        let n = x.n_rows();
        let cols: Vec<&[f64]> = (0..x.n_cols()).map(|j| x.col(j)).collect();
        let mut out = vec![self.intercept; n];
        out.par_chunks_mut(BLOCK_ROWS)
            .enumerate()
            .for_each(|(b, chunk)| add_xw(&cols, &self.coef, b * BLOCK_ROWS, chunk));
        Ok(Prediction::Values(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FeatureMeta;

    fn fit(x: &Matrix, y: &[f64], alpha: f64) -> Result<LinearRegressionModel> {
        let features: Vec<FeatureMeta> = (0..x.n_cols())
            .map(|j| FeatureMeta::numeric(format!("f{j}")))
            .collect();
        let y = Target::Real(y.to_vec());
        LinearRegressionParams {
            alpha,
            fit_intercept: true,
            ..Default::default()
        }
        .check()?
        .fit(
            &TrainData {
                x,
                y: &y,
                features: &features,
                weights: None,
            },
            None,
        )
    }

    #[test]
    fn recovers_exact_plane_and_handles_constant_columns() {
        let a: Vec<f64> = (0..50).map(|i| (i as f64 * 0.37).sin()).collect();
        let b: Vec<f64> = (0..50).map(|i| (i as f64 * 0.11).cos()).collect();
        let c = vec![3.5; 50];
        let y: Vec<f64> = (0..50).map(|i| 2.0 * a[i] - 1.5 * b[i] + 0.25).collect();
        let x = Matrix::from_columns(vec![a, c, b]).unwrap();
        let m = fit(&x, &y, 0.0).unwrap();
        assert!((m.coef[0] - 2.0).abs() < 1e-10);
        assert_eq!(m.coef[1], 0.0);
        assert!((m.coef[2] + 1.5).abs() < 1e-10);
        assert!((m.intercept - 0.25).abs() < 1e-10);
    }

    #[test]
    fn collinear_ols_is_an_error_but_ridge_is_fine() {
        let a: Vec<f64> = (0..30).map(|i| i as f64 * 0.5).collect();
        let b: Vec<f64> = (0..30).map(|i| ((i * i) % 7) as f64).collect();
        let c: Vec<f64> = a.iter().zip(&b).map(|(x, y)| 2.0 * x - y).collect();
        let y: Vec<f64> = (0..30).map(|i| i as f64).collect();
        let x = Matrix::from_columns(vec![a, b, c]).unwrap();
        let err = fit(&x, &y, 0.0).unwrap_err().to_string();
        assert!(err.contains("'f2'") && err.contains("alpha > 0"), "{err}");
        assert!(fit(&x, &y, 1.0).is_ok());
    }
}
