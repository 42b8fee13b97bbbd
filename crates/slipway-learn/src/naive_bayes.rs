//! Gaussian naive Bayes (scikit-learn's `GaussianNB`).
//!
//! Per class `c` and feature `j`: the (sample-weighted) mean `θ_cj` and population variance
//! `σ²_cj`, to which `ε = var_smoothing · maxⱼ Var(X_j)` is added (the unweighted variance
//! over all rows, like scikit-learn). The joint log-likelihood is
//! `log π_c − ½ Σⱼ log(2π σ²_cj) − ½ Σⱼ (x_j − θ_cj)² / σ²_cj`, normalized by log-sum-exp
//! into probabilities. Priors `π` are the class shares of the (weighted) rows unless given.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cluster::check_finite;
use crate::linear::BLOCK_ROWS;
use crate::{
    Error, Estimator, Matrix, Params, Prediction, Predictor, Result, Target, Task, TrainData,
};

/// Hyperparameters of [`GaussianNb`], as read from a config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GaussianNbParams {
    /// Share of the largest feature variance added to every variance (default 1e-9).
    pub var_smoothing: f64,
    /// Class priors, one per class index, non-negative and summing to 1 (default: the
    /// class shares of the training rows).
    pub priors: Option<Vec<f64>>,
    /// Accepted so every family takes the config's `seed`; unused: the fit is deterministic
    /// (default 0).
    pub seed: u64,
    /// Threads for the per-class statistics and prediction (default: rayon's global pool).
    /// The model does not depend on it.
    pub n_threads: Option<usize>,
}

impl Default for GaussianNbParams {
    fn default() -> Self {
        GaussianNbParams {
            var_smoothing: 1e-9,
            priors: None,
            seed: 0,
            n_threads: None,
        }
    }
}

impl Params for GaussianNbParams {
    type Checked = GaussianNb;

    fn check(&self) -> Result<GaussianNb> {
        if !self.var_smoothing.is_finite() || self.var_smoothing < 0.0 {
            return Err(Error::param(
                "var_smoothing",
                format!("must be finite and >= 0, got {}", self.var_smoothing),
            ));
        }
        if let Some(pr) = &self.priors {
            if pr.is_empty() {
                return Err(Error::param("priors", "list is empty"));
            }
            if let Some((i, v)) = pr
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite() || **v < 0.0)
            {
                return Err(Error::param(
                    "priors",
                    format!("prior of class {i} must be finite and >= 0, got {v}"),
                ));
            }
            let s: f64 = pr.iter().sum();
            // numpy.isclose(s, 1): |s − 1| <= 1e-8 + 1e-5.
            if (s - 1.0).abs() > 1e-8 + 1e-5 {
                return Err(Error::param("priors", format!("must sum to 1, got {s}")));
            }
        }
        Ok(GaussianNb {
            params: self.clone(),
        })
    }
}

/// Checked Gaussian naive Bayes; [`Estimator::fit`] returns a [`GaussianNbModel`].
#[derive(Debug, Clone)]
pub struct GaussianNb {
    params: GaussianNbParams,
}

impl GaussianNb {
    /// The (checked) hyperparameters.
    pub fn params(&self) -> &GaussianNbParams {
        &self.params
    }
}

/// A fitted Gaussian naive Bayes model (scikit-learn's attribute names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianNbModel {
    /// Per-class feature means, `n_classes` rows of `n_features`.
    pub theta: Vec<Vec<f64>>,
    /// Per-class feature variances (with `epsilon` added), same shape.
    pub var: Vec<Vec<f64>>,
    /// Class priors.
    pub class_prior: Vec<f64>,
    /// (Weighted) training rows per class.
    pub class_count: Vec<f64>,
    /// The variance added for stability.
    pub epsilon: f64,
}

impl Estimator for GaussianNb {
    type Fitted = GaussianNbModel;

    fn fit(&self, train: &TrainData<'_>, _valid: Option<&TrainData<'_>>) -> Result<Self::Fitted> {
        train.check_shapes()?;
        let (labels, n_classes) = match train.y {
            Target::Classes { labels, n_classes } => (labels.as_slice(), *n_classes),
            Target::Real(_) => {
                return Err(Error::InvalidData(
                    "naive Bayes needs class labels, got a real-valued target".into(),
                ));
            }
        };
        if let Some(i) = labels.iter().position(|&l| l as usize >= n_classes) {
            return Err(Error::InvalidData(format!(
                "label {} at row {i} is not a class index below {n_classes}",
                labels[i]
            )));
        }
        crate::linear::check_weights(train.weights)?;
        check_finite(train.x, Some(train.features), "naive Bayes")?;
        if let Some(pr) = &self.params.priors {
            if pr.len() != n_classes {
                return Err(Error::param(
                    "priors",
                    format!("has {} entries but there are {n_classes} classes", pr.len()),
                ));
            }
        }
        let x = train.x;
        let (n, p) = (x.n_rows(), x.n_cols());
        let w = train.weights;
        let mut class_count = vec![0.0; n_classes];
        let mut has_rows = vec![false; n_classes];
        for (i, &l) in labels.iter().enumerate() {
            class_count[l as usize] += w.map_or(1.0, |w| w[i]);
            has_rows[l as usize] = true;
        }
        if let Some(c) = has_rows.iter().position(|h| !h) {
            return Err(Error::InvalidData(format!(
                "class {c} has no training rows; naive Bayes needs rows of each of the \
                 {n_classes} classes"
            )));
        }
        // Per feature: overall variance, and per-class mean and variance.
        let per_feature: Vec<(f64, Vec<f64>, Vec<f64>)> = (0..p)
            .into_par_iter()
            .map(|j| {
                let col = x.col(j);
                let mean = col.iter().sum::<f64>() / n as f64;
                let var_all = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
                let mut sum = vec![0.0; n_classes];
                for (i, (&l, v)) in labels.iter().zip(col).enumerate() {
                    sum[l as usize] += w.map_or(*v, |w| w[i] * v);
                }
                let mu: Vec<f64> = sum.iter().zip(&class_count).map(|(s, c)| s / c).collect();
                let mut ssd = vec![0.0; n_classes];
                for (i, (&l, v)) in labels.iter().zip(col).enumerate() {
                    let d = v - mu[l as usize];
                    ssd[l as usize] += w.map_or(d * d, |w| w[i] * d * d);
                }
                let var: Vec<f64> = ssd.iter().zip(&class_count).map(|(s, c)| s / c).collect();
                (var_all, mu, var)
            })
            .collect();
        let max_var = per_feature.iter().map(|f| f.0).fold(0.0f64, f64::max);
        let epsilon = self.params.var_smoothing * max_var;
        let theta: Vec<Vec<f64>> = (0..n_classes)
            .map(|c| per_feature.iter().map(|f| f.1[c]).collect())
            .collect();
        let var: Vec<Vec<f64>> = (0..n_classes)
            .map(|c| per_feature.iter().map(|f| f.2[c] + epsilon).collect())
            .collect();
        if let Some((c, j)) = (0..n_classes)
            .flat_map(|c| (0..p).map(move |j| (c, j)))
            .find(|&(c, j)| var[c][j] <= 0.0)
        {
            return Err(Error::InvalidData(format!(
                "feature '{}' has zero variance within class {c} and var_smoothing adds none; \
                 set var_smoothing > 0",
                train.features[j].name
            )));
        }
        let total: f64 = class_count.iter().sum();
        let class_prior = match &self.params.priors {
            Some(pr) => pr.clone(),
            None => class_count.iter().map(|c| c / total).collect(),
        };
        Ok(GaussianNbModel {
            theta,
            var,
            class_prior,
            class_count,
            epsilon,
        })
    }
}

impl GaussianNbModel {
    /// The joint log-likelihood `log P(c) + log P(x | c)`, `n_rows × n_classes`.
    pub fn joint_log_likelihood(&self, x: &Matrix) -> Result<Matrix> {
        let p = self.theta.first().map_or(0, Vec::len);
        if x.n_cols() != p {
            return Err(Error::SchemaMismatch(format!(
                "model was fitted on {p} features, got {}",
                x.n_cols()
            )));
        }
        check_finite(x, None, "naive Bayes")?;
        let n = x.n_rows();
        let nc = self.theta.len();
        let mut cols = Vec::with_capacity(nc);
        for c in 0..nc {
            let log_norm: f64 = -0.5
                * self.var[c]
                    .iter()
                    .map(|v| (2.0 * std::f64::consts::PI * v).ln())
                    .sum::<f64>();
            let base = self.class_prior[c].ln() + log_norm;
            let mut out = vec![0.0; n];
            out.par_chunks_mut(BLOCK_ROWS)
                .enumerate()
                .for_each(|(b, chunk)| {
                    let r0 = b * BLOCK_ROWS;
                    for j in 0..p {
                        let (mu, var) = (self.theta[c][j], self.var[c][j]);
                        let col = &x.col(j)[r0..r0 + chunk.len()];
                        for (o, v) in chunk.iter_mut().zip(col) {
                            *o += (v - mu) * (v - mu) / var;
                        }
                    }
                    for o in chunk.iter_mut() {
                        *o = base - 0.5 * *o;
                    }
                });
            cols.push(out);
        }
        Matrix::from_columns(cols)
    }
}

impl Predictor for GaussianNbModel {
    fn task(&self) -> Task {
        match self.theta.len() {
            2 => Task::Binary,
            n_classes => Task::Multiclass { n_classes },
        }
    }

    /// Class probabilities (scikit-learn's `predict_proba`).
    fn predict(&self, x: &Matrix) -> Result<Prediction> {
        let jll = self.joint_log_likelihood(x)?;
        let (n, nc) = (jll.n_rows(), jll.n_cols());
        let mut proba = Matrix::zeros(n, nc);
        for i in 0..n {
            let m = (0..nc)
                .map(|c| jll.get(i, c))
                .fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = (0..nc).map(|c| (jll.get(i, c) - m).exp()).sum();
            let lse = m + s.ln();
            for c in 0..nc {
                proba.set(i, c, (jll.get(i, c) - lse).exp());
            }
        }
        Ok(Prediction::Probabilities(proba))
    }
}
