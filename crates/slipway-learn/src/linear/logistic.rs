//! Binary and multinomial logistic regression, fitted by L-BFGS.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::lbfgs::{self, LbfgsOptions};
use super::{BLOCK_ROWS, add_xw, check_finite, check_n_cols, check_weights, with_threads};
use crate::{
    Error, Estimator, Matrix, Params, Prediction, Predictor, Result, Target, Task, TrainData,
};

/// Regularization of the coefficients (never of the intercept).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Penalty {
    /// `½‖W‖²` against `C·Σ loss` (scikit-learn's default).
    #[default]
    L2,
    /// No penalty; `c` is ignored (scikit-learn's `C=np.inf`). The optimum may not exist
    /// when the classes are separable: the fit then stops at `max_iter`.
    None,
}

/// Per-class multipliers of the sample weights, like scikit-learn's `class_weight`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// `n_rows / (n_classes · rows_of_class)`, computed with the sample weights.
    Balanced,
    /// One multiplier per class index, `0..n_classes`.
    PerClass(Vec<f64>),
}

/// Hyperparameters of [`LogisticRegression`], as read from a config.
///
/// The objective is scikit-learn's (`LogisticRegression(solver="lbfgs")`):
/// `C·Σᵢ sᵢ·logloss(yᵢ, xᵢ) + ½‖W‖²`, where `sᵢ` is the sample weight times the class weight.
/// Two classes fit one coefficient row (the probability of class 1); more than two fit the
/// multinomial (softmax) model with one row per class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogisticRegressionParams {
    /// Inverse regularization strength, like scikit-learn's `C` (default 1).
    pub c: f64,
    /// `l2` (default) or `none`.
    pub penalty: Penalty,
    /// Whether to fit (unpenalized) intercepts (default true).
    pub fit_intercept: bool,
    /// Maximum L-BFGS iterations (default 100, like scikit-learn). Reaching it is not an
    /// error: the model records `converged: false`.
    pub max_iter: usize,
    /// Stop when every gradient component of the per-weight objective is at most `tol`
    /// (default 1e-4, scikit-learn's `tol`).
    pub tol: f64,
    /// Class weights (default none).
    pub class_weight: Option<ClassWeight>,
    /// Threads for the row passes (default: rayon's global pool). The model does not depend
    /// on it.
    pub n_threads: Option<usize>,
    /// Accepted so every family takes the config's `seed`; unused: L-BFGS from zero weights
    /// is deterministic (default 0).
    pub seed: u64,
}

impl Default for LogisticRegressionParams {
    fn default() -> Self {
        LogisticRegressionParams {
            c: 1.0,
            penalty: Penalty::L2,
            fit_intercept: true,
            max_iter: 100,
            tol: 1e-4,
            class_weight: None,
            n_threads: None,
            seed: 0,
        }
    }
}

impl Params for LogisticRegressionParams {
    type Checked = LogisticRegression;

    fn check(&self) -> Result<LogisticRegression> {
        if self.c.is_nan() || self.c <= 0.0 {
            return Err(Error::param("c", format!("must be > 0, got {}", self.c)));
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
        if let Some(ClassWeight::PerClass(w)) = &self.class_weight {
            if let Some((i, v)) = w
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite() || **v < 0.0)
            {
                return Err(Error::param(
                    "class_weight",
                    format!("weight of class {i} must be finite and >= 0, got {v}"),
                ));
            }
            if w.is_empty() {
                return Err(Error::param("class_weight", "per-class list is empty"));
            }
        }
        if self.n_threads == Some(0) {
            return Err(Error::param("n_threads", "must be at least 1, got 0"));
        }
        Ok(LogisticRegression {
            params: self.clone(),
        })
    }
}

/// Checked logistic regression; [`Estimator::fit`] returns a [`LogisticRegressionModel`].
#[derive(Debug, Clone)]
pub struct LogisticRegression {
    params: LogisticRegressionParams,
}

impl LogisticRegression {
    /// The (checked) hyperparameters.
    pub fn params(&self) -> &LogisticRegressionParams {
        &self.params
    }
}

/// A fitted logistic regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegressionModel {
    /// Coefficients: one row for two classes (log-odds of class 1), else one row per class.
    pub coef: Vec<Vec<f64>>,
    /// Intercepts, one per row of `coef` (zeros when not fitted).
    pub intercept: Vec<f64>,
    /// Number of classes.
    pub n_classes: usize,
    /// Whether L-BFGS met its tolerance (false: `max_iter` reached or the line search
    /// failed; scikit-learn warns with a `ConvergenceWarning` in that case).
    pub converged: bool,
    /// L-BFGS iterations run (scikit-learn's `n_iter_`).
    pub n_iter: usize,
}

impl Estimator for LogisticRegression {
    type Fitted = LogisticRegressionModel;

    fn fit(&self, train: &TrainData<'_>, _valid: Option<&TrainData<'_>>) -> Result<Self::Fitted> {
        train.check_shapes()?;
        let (labels, n_classes) = match train.y {
            Target::Classes { labels, n_classes } => (labels.as_slice(), *n_classes),
            Target::Real(_) => {
                return Err(Error::InvalidData(
                    "logistic regression needs class labels, got a real-valued target".into(),
                ));
            }
        };
        if n_classes < 2 {
            return Err(Error::InvalidData(format!(
                "logistic regression needs at least 2 classes, got {n_classes}"
            )));
        }
        if let Some(i) = labels.iter().position(|&l| l as usize >= n_classes) {
            return Err(Error::InvalidData(format!(
                "label {} at row {i} is not a class index below {n_classes}",
                labels[i]
            )));
        }
        check_weights(train.weights)?;
        check_finite(train.x, train.features)?;
        let mut counts = vec![0usize; n_classes];
        for &l in labels {
            counts[l as usize] += 1;
        }
        if let Some(c) = counts.iter().position(|&c| c == 0) {
            return Err(Error::InvalidData(format!(
                "class {c} has no training rows; logistic regression needs rows of each of \
                 the {n_classes} classes"
            )));
        }
        let weights = self.row_weights(labels, n_classes, train.weights)?;
        with_threads(self.params.n_threads, || {
            self.fit_inner(train.x, labels, n_classes, weights)
        })?
    }
}

impl LogisticRegression {
    /// Sample weight × class weight per row; `None` when all are 1.
    fn row_weights(
        &self,
        labels: &[u32],
        n_classes: usize,
        sample_weight: Option<&[f64]>,
    ) -> Result<Option<Vec<f64>>> {
        let class_mult: Option<Vec<f64>> = match &self.params.class_weight {
            None => None,
            Some(ClassWeight::PerClass(w)) => {
                if w.len() != n_classes {
                    return Err(Error::param(
                        "class_weight",
                        format!("has {} weights for {n_classes} classes", w.len()),
                    ));
                }
                Some(w.clone())
            }
            Some(ClassWeight::Balanced) => {
                // scikit-learn's compute_class_weight("balanced", sample_weight=...).
                let mut per_class = vec![0.0; n_classes];
                for (i, &l) in labels.iter().enumerate() {
                    per_class[l as usize] += sample_weight.map_or(1.0, |w| w[i]);
                }
                let total: f64 = per_class.iter().sum();
                if let Some(c) = per_class.iter().position(|&v| v <= 0.0) {
                    return Err(Error::InvalidData(format!(
                        "class {c} has zero total weight; balanced class weights are undefined"
                    )));
                }
                Some(
                    per_class
                        .iter()
                        .map(|&v| total / (n_classes as f64 * v))
                        .collect(),
                )
            }
        };
        Ok(match (sample_weight, class_mult) {
            (None, None) => None,
            (Some(w), None) => Some(w.to_vec()),
            (None, Some(cm)) => Some(labels.iter().map(|&l| cm[l as usize]).collect()),
            (Some(w), Some(cm)) => Some(
                labels
                    .iter()
                    .zip(w)
                    .map(|(&l, &wi)| wi * cm[l as usize])
                    .collect(),
            ),
        })
    }

    fn fit_inner(
        &self,
        x: &Matrix,
        labels: &[u32],
        n_classes: usize,
        weights: Option<Vec<f64>>,
    ) -> Result<LogisticRegressionModel> {
        let n = x.n_rows();
        let p = x.n_cols();
        let sw_sum = weights.as_ref().map_or(n as f64, |w| w.iter().sum());
        if sw_sum <= 0.0 {
            return Err(Error::InvalidData(
                "sample weights times class weights sum to zero".into(),
            ));
        }
        let l2 = match self.params.penalty {
            Penalty::L2 => 1.0 / (self.params.c * sw_sum),
            Penalty::None => 0.0,
        };
        let n_out = if n_classes == 2 { 1 } else { n_classes };
        let problem = Problem {
            cols: (0..p).map(|j| x.col(j)).collect(),
            labels,
            weights: weights.as_deref(),
            n,
            p,
            n_out,
            fit_intercept: self.params.fit_intercept,
            l2,
            inv_sw_sum: 1.0 / sw_sum,
        };
        let n_params = n_out * p + if self.params.fit_intercept { n_out } else { 0 };
        let opts = LbfgsOptions {
            m: 10,
            max_iter: self.params.max_iter,
            gtol: self.params.tol,
            ftol: 64.0 * f64::EPSILON,
            max_linesearch: 50,
        };
        let res = lbfgs::minimize(|w, g| problem.loss_grad(w, g), vec![0.0; n_params], &opts);
        if !res.f.is_finite() || res.x.iter().any(|v| !v.is_finite()) {
            return Err(Error::Internal(format!(
                "logistic regression diverged: {}",
                res.message
            )));
        }
        let coef = (0..n_out)
            .map(|c| res.x[c * p..(c + 1) * p].to_vec())
            .collect();
        let intercept = if self.params.fit_intercept {
            res.x[n_out * p..].to_vec()
        } else {
            vec![0.0; n_out]
        };
        Ok(LogisticRegressionModel {
            coef,
            intercept,
            n_classes,
            converged: res.converged,
            n_iter: res.n_iter,
        })
    }
}

/// Rows per inner chunk: the chunk's slices of every column stay in L2 between the
/// `X·w` and `Xᵀr` halves of the fused pass.
const CHUNK: usize = 512;

/// The penalized, weight-normalized objective scikit-learn's lbfgs minimizes:
/// `(1/Σs)·Σ sᵢ lᵢ + ½·l2·‖W‖²` with `l2 = 1/(C·Σs)`.
struct Problem<'a> {
    cols: Vec<&'a [f64]>,
    labels: &'a [u32],
    weights: Option<&'a [f64]>,
    n: usize,
    p: usize,
    n_out: usize,
    fit_intercept: bool,
    l2: f64,
    inv_sw_sum: f64,
}

impl Problem<'_> {
    /// Objective at `params` (coefficient rows, then intercepts), gradient into `grad`.
    fn loss_grad(&self, params: &[f64], grad: &mut [f64]) -> f64 {
        let n_blocks = self.n.div_ceil(BLOCK_ROWS);
        let partials: Vec<Vec<f64>> = (0..n_blocks)
            .into_par_iter()
            .map(|b| self.block(params, b))
            .collect();
        // partial = [Σ s·loss, Σ over coefficient grads (n_out·p), Σ intercept grads (n_out)]
        let width = 1 + self.n_out * (self.p + 1);
        let mut total = vec![0.0; width];
        for part in &partials {
            for (t, v) in total.iter_mut().zip(part) {
                *t += v;
            }
        }
        let np = self.n_out * self.p;
        let mut f = total[0] * self.inv_sw_sum;
        let mut norm2 = 0.0;
        for i in 0..np {
            grad[i] = total[1 + i] * self.inv_sw_sum + self.l2 * params[i];
            norm2 += params[i] * params[i];
        }
        f += 0.5 * self.l2 * norm2;
        if self.fit_intercept {
            for c in 0..self.n_out {
                grad[np + c] = total[1 + np + c] * self.inv_sw_sum;
            }
        }
        f
    }

    /// Unnormalized loss and gradient sums over one block of rows.
    fn block(&self, params: &[f64], b: usize) -> Vec<f64> {
        let (p, k) = (self.p, self.n_out);
        let np = k * p;
        let mut out = vec![0.0; 1 + k * (p + 1)];
        let r_start = b * BLOCK_ROWS;
        let r_end = (r_start + BLOCK_ROWS).min(self.n);
        let mut z = vec![0.0; k * CHUNK];
        let mut r0 = r_start;
        let mut loss = 0.0;
        while r0 < r_end {
            let m = CHUNK.min(r_end - r0);
            // Raw predictions, class by class: z[c·CHUNK + t].
            for c in 0..k {
                let b0 = if self.fit_intercept {
                    params[np + c]
                } else {
                    0.0
                };
                let zc = &mut z[c * CHUNK..c * CHUNK + m];
                zc.fill(b0);
                add_xw(&self.cols, &params[c * p..(c + 1) * p], r0, zc);
            }
            // Pointwise loss, and gradient (overwriting z).
            if k == 1 {
                for t in 0..m {
                    let y = f64::from(self.labels[r0 + t]);
                    let (l, g) = half_binomial(y, z[t]);
                    match self.weights {
                        Some(w) => {
                            let s = w[r0 + t];
                            loss += s * l;
                            z[t] = s * g;
                        }
                        None => {
                            loss += l;
                            z[t] = g;
                        }
                    }
                }
            } else {
                for t in 0..m {
                    let y = self.labels[r0 + t] as usize;
                    let s = self.weights.map_or(1.0, |w| w[r0 + t]);
                    let mut zmax = f64::NEG_INFINITY;
                    for c in 0..k {
                        zmax = zmax.max(z[c * CHUNK + t]);
                    }
                    let zy = z[y * CHUNK + t];
                    let mut sum = 0.0;
                    for c in 0..k {
                        let e = (z[c * CHUNK + t] - zmax).exp();
                        z[c * CHUNK + t] = e;
                        sum += e;
                    }
                    loss += s * (sum.ln() + zmax - zy);
                    let inv = 1.0 / sum;
                    for c in 0..k {
                        let pc = z[c * CHUNK + t] * inv;
                        z[c * CHUNK + t] = s * (pc - if c == y { 1.0 } else { 0.0 });
                    }
                }
            }
            // Xᵀ·gradient.
            for c in 0..k {
                let gc = &z[c * CHUNK..c * CHUNK + m];
                for (j, col) in self.cols.iter().enumerate() {
                    out[1 + c * p + j] += lbfgs::dot(&col[r0..r0 + m], gc);
                }
                out[1 + np + c] += gc.iter().sum::<f64>();
            }
            r0 += m;
        }
        out[0] = loss;
        out
    }
}

/// Loss `log(1 + eᶻ) − y·z` and its derivative `σ(z) − y`, computed stably exactly as
/// scikit-learn's `HalfBinomialLoss` does.
#[inline]
fn half_binomial(y: f64, z: f64) -> (f64, f64) {
    if z <= 0.0 {
        let e = z.exp();
        let loss = if z <= -37.0 {
            e - y * z
        } else {
            e.ln_1p() - y * z
        };
        (loss, ((1.0 - y) * e - y) / (1.0 + e))
    } else if z <= 18.0 {
        let e = (-z).exp();
        (e.ln_1p() + (1.0 - y) * z, ((1.0 - y) - y * e) / (1.0 + e))
    } else {
        let e = (-z).exp();
        (e + (1.0 - y) * z, ((1.0 - y) - y * e) / (1.0 + e))
    }
}

/// `σ(z) = 1/(1 + e⁻ᶻ)`, stable for large |z|.
#[inline]
fn expit(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl LogisticRegressionModel {
    /// Number of input features.
    pub fn n_features(&self) -> usize {
        self.coef.first().map_or(0, Vec::len)
    }

    /// Raw scores `X·Wᵀ + b`: `n_rows × 1` for two classes (log-odds of class 1), else
    /// `n_rows × n_classes`.
    pub fn decision_function(&self, x: &Matrix) -> Result<Matrix> {
        check_n_cols(x, self.n_features())?;
        let n = x.n_rows();
        let k = self.coef.len();
        let cols: Vec<&[f64]> = (0..x.n_cols()).map(|j| x.col(j)).collect();
        let blocks: Vec<Vec<f64>> = (0..n.div_ceil(BLOCK_ROWS))
            .into_par_iter()
            .map(|b| {
                let r0 = b * BLOCK_ROWS;
                let m = BLOCK_ROWS.min(n - r0);
                let mut z = vec![0.0; k * m];
                for c in 0..k {
                    let zc = &mut z[c * m..(c + 1) * m];
                    zc.fill(self.intercept[c]);
                    add_xw(&cols, &self.coef[c], r0, zc);
                }
                z
            })
            .collect();
        let mut data = vec![0.0; n * k];
        for (b, z) in blocks.iter().enumerate() {
            let r0 = b * BLOCK_ROWS;
            let m = z.len() / k.max(1);
            for c in 0..k {
                data[c * n + r0..c * n + r0 + m].copy_from_slice(&z[c * m..(c + 1) * m]);
            }
        }
        Matrix::from_col_major(n, k, data)
    }
}

impl Predictor for LogisticRegressionModel {
    fn task(&self) -> Task {
        if self.n_classes == 2 {
            Task::Binary
        } else {
            Task::Multiclass {
                n_classes: self.n_classes,
            }
        }
    }

    /// Class probabilities (`n_rows × n_classes`); NaN in `x` gives NaN probabilities.
    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        let z = self.decision_function(x)?;
        let n = x.n_rows();
        let proba = if self.coef.len() == 1 {
            let p1: Vec<f64> = z.col(0).iter().map(|&v| expit(v)).collect();
            let p0: Vec<f64> = p1.iter().map(|v| 1.0 - v).collect();
            Matrix::from_columns(vec![p0, p1])?
        } else {
            let k = self.coef.len();
            let mut out = Matrix::zeros(n, k);
            let mut row = vec![0.0; k];
            for i in 0..n {
                let mut zmax = f64::NEG_INFINITY;
                for (c, r) in row.iter_mut().enumerate() {
                    *r = z.get(i, c);
                    zmax = zmax.max(*r);
                }
                let mut sum = 0.0;
                for r in row.iter_mut() {
                    *r = (*r - zmax).exp();
                    sum += *r;
                }
                for (c, r) in row.iter().enumerate() {
                    out.set(i, c, r / sum);
                }
            }
            out
        };
        Ok(Prediction::Probabilities(proba))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FeatureMeta;

    #[test]
    fn gradient_matches_finite_differences() {
        let n = 300;
        let x = Matrix::from_columns(vec![
            (0..n).map(|i| ((i * 7) % 13) as f64 / 5.0 - 1.0).collect(),
            (0..n).map(|i| ((i * 3) % 11) as f64 / 4.0 - 1.2).collect(),
        ])
        .unwrap();
        for k in [2usize, 3] {
            let labels: Vec<u32> = (0..n).map(|i| ((i * 5 + i / 7) % k) as u32).collect();
            let w: Vec<f64> = (0..n).map(|i| 0.5 + (i % 4) as f64 * 0.25).collect();
            let n_out = if k == 2 { 1 } else { k };
            let prob = Problem {
                cols: vec![x.col(0), x.col(1)],
                labels: &labels,
                weights: Some(&w),
                n,
                p: 2,
                n_out,
                fit_intercept: true,
                l2: 0.01,
                inv_sw_sum: 1.0 / w.iter().sum::<f64>(),
            };
            let n_params = n_out * 3;
            let theta: Vec<f64> = (0..n_params).map(|i| 0.3 * i as f64 - 0.4).collect();
            let mut g = vec![0.0; n_params];
            prob.loss_grad(&theta, &mut g);
            for i in 0..n_params {
                let h = 1e-6;
                let mut tp = theta.clone();
                tp[i] += h;
                let mut tm = theta.clone();
                tm[i] -= h;
                let mut scratch = vec![0.0; n_params];
                let fd = (prob.loss_grad(&tp, &mut scratch) - prob.loss_grad(&tm, &mut scratch))
                    / (2.0 * h);
                assert!((fd - g[i]).abs() < 1e-7, "k={k} i={i}: {fd} vs {}", g[i]);
            }
        }
    }

    #[test]
    fn rejects_bad_params_and_data() {
        let bad = LogisticRegressionParams {
            c: 0.0,
            ..Default::default()
        };
        assert!(matches!(bad.check(), Err(Error::InvalidParam { .. })));
        let est = LogisticRegressionParams::default().check().unwrap();
        let x = Matrix::from_columns(vec![vec![0.0, 1.0, f64::NAN, 3.0]]).unwrap();
        let y = Target::Classes {
            labels: vec![0, 1, 0, 1],
            n_classes: 2,
        };
        let features = vec![FeatureMeta::numeric("age")];
        let td = TrainData {
            x: &x,
            y: &y,
            features: &features,
            weights: None,
        };
        let err = est.fit(&td, None).unwrap_err().to_string();
        assert!(err.contains("'age'") && err.contains("row 2"), "{err}");
    }
}
