//! k-nearest-neighbour imputation like scikit-learn's `KNNImputer` (uniform weights,
//! `nan_euclidean` distance over the imputer's columns).

use serde::{Deserialize, Serialize};

/// A fitted k-NN imputer: the training values of its columns (the donors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnnImputer {
    /// Input columns, in order.
    pub columns: Vec<String>,
    /// Neighbours averaged per missing value.
    pub n_neighbors: usize,
    /// Training values, one `Vec` per column (`None` = missing; not NaN, so that fitted
    /// imputers compare equal and survive JSON).
    pub donors: Vec<Vec<Option<f64>>>,
    /// Training mean per column, for rows that share no observed column with any donor.
    pub means: Vec<f64>,
}

impl KnnImputer {
    /// Keeps the training values of `columns` (each one value per training row).
    pub(crate) fn fit(columns: Vec<String>, values: &[Vec<f64>], n_neighbors: usize) -> Self {
        let donors: Vec<Vec<Option<f64>>> = values
            .iter()
            .map(|c| c.iter().map(|v| (!v.is_nan()).then_some(*v)).collect())
            .collect();
        let means = donors
            .iter()
            .map(|c| {
                let p: Vec<f64> = c.iter().flatten().copied().collect();
                p.iter().sum::<f64>() / p.len() as f64
            })
            .collect();
        KnnImputer {
            columns,
            n_neighbors,
            donors,
            means,
        }
    }

    /// `nan_euclidean` distance from `row` to donor `j`: the square root of the squared
    /// distance over coordinates present in both, scaled by `n_columns / n_present`; NaN
    /// when none is.
    fn distance(&self, row: &[f64], j: usize) -> f64 {
        let mut sum = 0.0;
        let mut present = 0usize;
        for (c, &x) in row.iter().enumerate() {
            if let (false, Some(d)) = (x.is_nan(), self.donors[c][j]) {
                sum += (x - d) * (x - d);
                present += 1;
            }
        }
        if present == 0 {
            f64::NAN
        } else {
            (sum * row.len() as f64 / present as f64).sqrt()
        }
    }

    /// Fills the NaNs of `values` (one `Vec` per imputer column, same length) in place.
    pub(crate) fn impute(&self, values: &mut [Vec<f64>]) {
        let n = values.first().map_or(0, Vec::len);
        let n_donors = self.donors.first().map_or(0, Vec::len);
        let width = values.len();
        let mut row = vec![0.0; width];
        let mut dist = vec![0.0; n_donors];
        for r in 0..n {
            for (c, v) in values.iter().enumerate() {
                row[c] = v[r];
            }
            if !row.iter().any(|v| v.is_nan()) {
                continue;
            }
            for (j, d) in dist.iter_mut().enumerate() {
                *d = self.distance(&row, j);
            }
            for c in 0..width {
                if !row[c].is_nan() {
                    continue;
                }
                // Donors: training rows with this column present, nearest first (NaN
                // distances last, ties by row order).
                let mut cand: Vec<usize> = (0..n_donors)
                    .filter(|&j| self.donors[c][j].is_some())
                    .collect();
                if cand.iter().all(|&j| dist[j].is_nan()) {
                    values[c][r] = self.means[c];
                    continue;
                }
                cand.sort_by(|&a, &b| {
                    let (da, db) = (dist[a], dist[b]);
                    match (da.is_nan(), db.is_nan()) {
                        (false, false) => da.total_cmp(&db),
                        (a_nan, b_nan) => a_nan.cmp(&b_nan),
                    }
                    .then(a.cmp(&b))
                });
                let k = self.n_neighbors.min(cand.len());
                let (mut sum, mut w) = (0.0, 0.0);
                for &j in &cand[..k] {
                    // Donors at NaN distance get weight 0.
                    if let (false, Some(d)) = (dist[j].is_nan(), self.donors[c][j]) {
                        sum += d;
                        w += 1.0;
                    }
                }
                values[c][r] = sum / w;
            }
        }
    }
}
