//! DBSCAN (scikit-learn's `DBSCAN`).
//!
//! A row is a core sample when at least `min_samples` rows (itself included) lie within
//! distance `eps` (inclusive: `Σ(xᵢ − yᵢ)² ≤ eps²` for `p = 2`, `Σ|xᵢ − yᵢ| ≤ eps` for
//! `p = 1`). Clusters are grown by depth-first search from the lowest-index unlabelled core
//! sample, exactly like scikit-learn's `dbscan_inner`, so the labels (including which
//! cluster a border row reachable from two clusters joins: the one started first) equal
//! scikit-learn's. Rows in no cluster are noise, `-1`.
//!
//! Neighbourhoods are found by parallel brute force (`O(n²·p)` time, memory proportional to
//! the number of neighbour pairs).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Clusterer, check_features, check_finite, row_major};
use crate::linear::with_threads;
use crate::{Error, FeatureMeta, Matrix, Result};

/// Hyperparameters of [`Dbscan`], as read from a config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbscanParams {
    /// Neighbourhood radius (default 0.5).
    pub eps: f64,
    /// Rows within `eps` (itself included) that make a core sample (default 5).
    pub min_samples: usize,
    /// Minkowski power: 1 (Manhattan) or 2 (Euclidean, default).
    pub p: u32,
    /// Threads (default: rayon's global pool).
    pub n_threads: Option<usize>,
}

impl Default for DbscanParams {
    fn default() -> Self {
        DbscanParams {
            eps: 0.5,
            min_samples: 5,
            p: 2,
            n_threads: None,
        }
    }
}

impl DbscanParams {
    /// Checks the hyperparameters once; the error names the parameter and the rule.
    pub fn check(&self) -> Result<Dbscan> {
        if !self.eps.is_finite() || self.eps <= 0.0 {
            return Err(Error::param(
                "eps",
                format!("must be finite and > 0, got {}", self.eps),
            ));
        }
        if self.min_samples == 0 {
            return Err(Error::param("min_samples", "must be at least 1, got 0"));
        }
        if self.p != 1 && self.p != 2 {
            return Err(Error::param(
                "p",
                format!("must be 1 (Manhattan) or 2 (Euclidean), got {}", self.p),
            ));
        }
        if self.n_threads == Some(0) {
            return Err(Error::param("n_threads", "must be at least 1, got 0"));
        }
        Ok(Dbscan {
            params: self.clone(),
        })
    }
}

/// Checked DBSCAN; [`Clusterer::fit`] returns a [`DbscanModel`].
#[derive(Debug, Clone)]
pub struct Dbscan {
    params: DbscanParams,
}

impl Dbscan {
    /// The (checked) hyperparameters.
    pub fn params(&self) -> &DbscanParams {
        &self.params
    }
}

/// The result of DBSCAN (scikit-learn's attribute names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DbscanModel {
    /// Cluster of each row, `0..n_clusters`, or `-1` for noise.
    pub labels: Vec<i64>,
    /// Indices of the core samples, ascending.
    pub core_sample_indices: Vec<usize>,
    /// Number of clusters found.
    pub n_clusters: usize,
}

impl Clusterer for Dbscan {
    type Fitted = DbscanModel;

    fn fit(&self, x: &Matrix, features: &[FeatureMeta]) -> Result<DbscanModel> {
        check_features(x, features)?;
        check_finite(x, Some(features), "DBSCAN")?;
        with_threads(self.params.n_threads, || self.fit_inner(x))
    }
}

impl Dbscan {
    fn fit_inner(&self, x: &Matrix) -> DbscanModel {
        let (n, p) = (x.n_rows(), x.n_cols());
        let rows = row_major(x);
        let row = |i: usize| &rows[i * p..(i + 1) * p];
        let metric = self.params.p;
        let eps = self.params.eps;
        let radius = if metric == 1 { eps } else { eps * eps };
        let neighborhoods: Vec<Vec<u32>> = (0..n)
            .into_par_iter()
            .map(|i| {
                let a = row(i);
                (0..n)
                    .filter(|&j| {
                        let b = row(j);
                        let d: f64 = if metric == 1 {
                            a.iter().zip(b).map(|(u, v)| (u - v).abs()).sum()
                        } else {
                            a.iter().zip(b).map(|(u, v)| (u - v) * (u - v)).sum()
                        };
                        d <= radius
                    })
                    .map(|j| j as u32)
                    .collect()
            })
            .collect();
        let is_core: Vec<bool> = neighborhoods
            .iter()
            .map(|nb| nb.len() >= self.params.min_samples)
            .collect();
        let mut labels = vec![-1i64; n];
        let mut label_num = 0i64;
        let mut stack: Vec<usize> = Vec::new();
        for start in 0..n {
            if labels[start] != -1 || !is_core[start] {
                continue;
            }
            let mut i = start;
            loop {
                if labels[i] == -1 {
                    labels[i] = label_num;
                    if is_core[i] {
                        for &v in &neighborhoods[i] {
                            if labels[v as usize] == -1 {
                                stack.push(v as usize);
                            }
                        }
                    }
                }
                match stack.pop() {
                    Some(v) => i = v,
                    None => break,
                }
            }
            label_num += 1;
        }
        DbscanModel {
            labels,
            core_sample_indices: (0..n).filter(|&i| is_core[i]).collect(),
            n_clusters: label_num as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_two_groups_and_noise() {
        let pts = [0.0, 0.1, 0.2, 0.3, 5.0, 5.1, 5.2, 5.3, 20.0];
        let x = Matrix::from_columns(vec![pts.to_vec()]).unwrap();
        let f = vec![FeatureMeta::numeric("a")];
        let m = DbscanParams {
            eps: 0.15,
            min_samples: 2,
            ..Default::default()
        }
        .check()
        .unwrap()
        .fit(&x, &f)
        .unwrap();
        assert_eq!(m.labels, vec![0, 0, 0, 0, 1, 1, 1, 1, -1]);
        assert_eq!(m.n_clusters, 2);
    }
}
