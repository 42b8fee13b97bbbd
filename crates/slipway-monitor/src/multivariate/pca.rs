//! PCA reconstruction error, as NannyML 0.13.1's `DataReconstructionDriftCalculator`:
//!
//! 1. missing numbers take the reference's mean, missing categories its most frequent one
//!    (ties: the smallest, as scikit-learn's `SimpleImputer`);
//! 2. a category becomes its frequency in the (imputed) reference, 0 when the reference
//!    never had it (`category_encoders.CountEncoder(normalize=True)`);
//! 3. every column is standardized by the reference's mean and population standard
//!    deviation (a constant column by 1, as `StandardScaler`);
//! 4. a PCA of the standardized reference keeps the fewest leading components whose
//!    explained variance ratios add up to more than `pca_variance` (scikit-learn's
//!    `n_components=0.65`);
//! 5. a row's error is `‖x − x̂‖₂`, `x̂` its projection onto the kept components (around the
//!    PCA's mean); a chunk's value is the mean error, its sampling error `std(ddof=1)/√n`.
//!
//! The eigenvectors come from a cyclic Jacobi eigendecomposition of the covariance matrix.
//! The error depends only on the projection onto the kept subspace, so neither the signs
//! nor the order of components within it matter; the values equal NannyML's to 1e-9 relative
//! in `tests/multivariate_reference.rs` (measured on employment_ma: at most 2e-15).

use serde::{Deserialize, Serialize};
use slipway_data::Table;

use super::{ChunkRows, MultivariateChunk, MultivariateOptions, mean_std};
use crate::special::numpy_sum;
use crate::summary::{ColumnKind, category_values, column_kind};
use crate::{Error, Result};

/// How one column becomes a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Coding {
    /// A number; missing → `mean`.
    Numeric { mean: f64 },
    /// A category's reference frequency (sorted by category); missing → `mode`.
    Frequency {
        frequencies: Vec<(String, f64)>,
        mode: String,
    },
}

/// The fitted PCA: what the report shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PcaSummary {
    /// Components kept.
    pub n_components: usize,
    /// Explained variance ratio of every component, largest first.
    pub explained_variance_ratio: Vec<f64>,
}

/// Imputation, encoding, scaling and PCA fitted on a reference.
#[derive(Debug, Clone)]
pub struct Reconstruction {
    columns: Vec<(String, Coding)>,
    scale_mean: Vec<f64>,
    scale_std: Vec<f64>,
    pca_mean: Vec<f64>,
    /// Kept components, each a unit vector of length `columns.len()`.
    components: Vec<Vec<f64>>,
    summary: PcaSummary,
}

impl Reconstruction {
    /// Fits on `columns` of `reference` (`categorical`: numeric columns to encode as
    /// categories).
    pub fn fit(
        reference: &Table,
        columns: &[String],
        categorical: &[String],
        options: &MultivariateOptions,
    ) -> Result<Reconstruction> {
        if !(options.pca_variance > 0.0 && options.pca_variance < 1.0) {
            return Err(Error::BadInput {
                message: format!(
                    "the PCA's share of variance {} must be between 0 and 1",
                    options.pca_variance
                ),
            });
        }
        let mut coded = Vec::with_capacity(columns.len());
        for name in columns {
            let dtype = reference.schema().require(name)?.dtype;
            let coding = match column_kind(dtype, categorical.contains(name)) {
                ColumnKind::Numeric => {
                    let v: Vec<f64> = reference
                        .numeric_values(name)?
                        .into_iter()
                        .filter(|x| !x.is_nan())
                        .collect();
                    if v.is_empty() {
                        return Err(no_values(name));
                    }
                    Coding::Numeric {
                        mean: numpy_sum(&v) / v.len() as f64,
                    }
                }
                ColumnKind::Categorical => {
                    let values = category_values(reference, name)?;
                    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
                    let mut missing = 0u64;
                    for v in values {
                        match v {
                            Some(s) => *counts.entry(s).or_default() += 1,
                            None => missing += 1,
                        }
                    }
                    // The first of the largest counts in sorted order: the smallest category.
                    let mode = counts
                        .iter()
                        .fold(None::<(&String, u64)>, |best, (k, c)| match best {
                            Some((_, bc)) if bc >= *c => best,
                            _ => Some((k, *c)),
                        })
                        .map(|(k, _)| k.clone())
                        .ok_or_else(|| no_values(name))?;
                    *counts.get_mut(&mode).expect("mode is counted") += missing;
                    let n = reference.n_rows() as f64;
                    Coding::Frequency {
                        frequencies: counts.into_iter().map(|(k, c)| (k, c as f64 / n)).collect(),
                        mode,
                    }
                }
            };
            coded.push((name.clone(), coding));
        }
        let x = encode(&coded, reference)?;
        let p = coded.len();
        let mut scale_mean = Vec::with_capacity(p);
        let mut scale_std = Vec::with_capacity(p);
        for col in &x {
            let (m, s) = mean_std(col, 0);
            scale_mean.push(m);
            // StandardScaler leaves a constant column unscaled.
            scale_std.push(if s < 10.0 * f64::EPSILON * m.abs().max(1.0) {
                1.0
            } else {
                s
            });
        }
        let z = standardize(x, &scale_mean, &scale_std);
        let n = reference.n_rows();
        let pca_mean: Vec<f64> = z.iter().map(|c| numpy_sum(c) / n as f64).collect();
        let centered: Vec<Vec<f64>> = z
            .iter()
            .zip(&pca_mean)
            .map(|(c, m)| c.iter().map(|v| v - m).collect())
            .collect();
        let mut cov = vec![vec![0.0; p]; p];
        for i in 0..p {
            for j in 0..=i {
                let prods: Vec<f64> = centered[i]
                    .iter()
                    .zip(&centered[j])
                    .map(|(a, b)| a * b)
                    .collect();
                let v = numpy_sum(&prods) / (n.max(2) - 1) as f64;
                cov[i][j] = v;
                cov[j][i] = v;
            }
        }
        let (values, vectors) = symmetric_eigen(cov);
        let mut order: Vec<usize> = (0..p).collect();
        order.sort_by(|a, b| values[*b].total_cmp(&values[*a]));
        let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
        let ratios: Vec<f64> = order
            .iter()
            .map(|&i| {
                if total > 0.0 {
                    values[i].max(0.0) / total
                } else {
                    0.0
                }
            })
            .collect();
        // scikit-learn: searchsorted(cumsum(ratios), share, side="right") + 1.
        let mut cum = 0.0;
        let mut k = 0;
        for r in &ratios {
            cum += r;
            if cum <= options.pca_variance {
                k += 1;
            } else {
                break;
            }
        }
        let k = (k + 1).min(p);
        let components = order[..k]
            .iter()
            .map(|&i| (0..p).map(|r| vectors[r][i]).collect())
            .collect();
        Ok(Reconstruction {
            columns: coded,
            scale_mean,
            scale_std,
            pca_mean,
            components,
            summary: PcaSummary {
                n_components: k,
                explained_variance_ratio: ratios,
            },
        })
    }

    /// The components kept and the explained variance ratios.
    pub fn summary(&self) -> PcaSummary {
        self.summary.clone()
    }

    /// Every row's reconstruction error.
    pub fn errors(&self, table: &Table) -> Result<Vec<f64>> {
        let x = encode(&self.columns, table)?;
        let z = standardize(x, &self.scale_mean, &self.scale_std);
        let p = z.len();
        let n = table.n_rows();
        let mut out = Vec::with_capacity(n);
        let mut c = vec![0.0; p];
        for r in 0..n {
            for ((cj, zj), mj) in c.iter_mut().zip(&z).zip(&self.pca_mean) {
                *cj = zj[r] - mj;
            }
            let mut recon = vec![0.0; p];
            for v in &self.components {
                let t: f64 = v.iter().zip(&c).map(|(a, b)| a * b).sum();
                for (x, vj) in recon.iter_mut().zip(v) {
                    *x += t * vj;
                }
            }
            let sq: f64 = c.iter().zip(&recon).map(|(a, b)| (a - b) * (a - b)).sum();
            out.push(sq.sqrt());
        }
        Ok(out)
    }

    /// One chunk's value out of every row's `errors`.
    pub(crate) fn chunk(
        &self,
        index: usize,
        chunk: &ChunkRows,
        errors: &[f64],
        min_rows: u64,
    ) -> MultivariateChunk {
        let e: Vec<f64> = chunk.rows.iter().map(|&r| errors[r]).collect();
        let n = e.len();
        let mut out = MultivariateChunk {
            index,
            label: chunk.label.clone(),
            rows: n as u64,
            value: None,
            sampling_error: None,
            confidence: None,
            small_sample: (n as u64) < min_rows,
            alert: false,
            reason: None,
        };
        if n == 0 {
            out.reason = Some("the chunk has no rows".into());
            return out;
        }
        let (mean, std) = mean_std(&e, 1);
        out.value = Some(mean);
        if n > 1 {
            let se = std / (n as f64).sqrt();
            out.sampling_error = Some(se);
            out.confidence = Some(((mean - 3.0 * se).max(0.0), mean + 3.0 * se));
        }
        out
    }
}

fn no_values(name: &str) -> Error {
    Error::BadInput {
        message: format!(
            "column \"{name}\" has no values in the reference: the PCA cannot impute it (leave it out with --columns)"
        ),
    }
}

/// The imputed, encoded columns of `table`.
fn encode(columns: &[(String, Coding)], table: &Table) -> Result<Vec<Vec<f64>>> {
    columns
        .iter()
        .map(|(name, coding)| {
            Ok(match coding {
                Coding::Numeric { mean } => {
                    let dtype = table.schema().require(name)?.dtype;
                    if column_kind(dtype, false) != ColumnKind::Numeric {
                        return Err(Error::BadInput {
                            message: format!(
                                "column \"{name}\" is numeric in the reference but {dtype} in the current data"
                            ),
                        });
                    }
                    table
                        .numeric_values(name)?
                        .into_iter()
                        .map(|v| if v.is_nan() { *mean } else { v })
                        .collect()
                }
                Coding::Frequency { frequencies, mode } => category_values(table, name)?
                    .into_iter()
                    .map(|v| {
                        let key = v.as_deref().unwrap_or(mode.as_str());
                        frequencies
                            .binary_search_by(|(k, _)| k.as_str().cmp(key))
                            .map_or(0.0, |i| frequencies[i].1)
                    })
                    .collect(),
            })
        })
        .collect()
}

fn standardize(mut x: Vec<Vec<f64>>, mean: &[f64], std: &[f64]) -> Vec<Vec<f64>> {
    for ((col, m), s) in x.iter_mut().zip(mean).zip(std) {
        for v in col.iter_mut() {
            *v = (*v - m) / s;
        }
    }
    x
}

/// Eigenvalues and eigenvectors (columns of the returned matrix) of a symmetric matrix by
/// cyclic Jacobi rotations, to full double precision.
pub fn symmetric_eigen(mut a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut v = vec![vec![0.0; n]; n];
    for (i, row) in v.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |j| *j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        let diag: f64 = (0..n).map(|i| a[i][i] * a[i][i]).sum();
        if off <= f64::EPSILON * f64::EPSILON * diag * 1e-4 || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p][q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let akp = row[p];
                    let akq = row[q];
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (head, tail) = a.split_at_mut(q);
                for (apk, aqk) in head[p].iter_mut().zip(tail[0].iter_mut()) {
                    let (x, y) = (*apk, *aqk);
                    *apk = c * x - s * y;
                    *aqk = s * x + c * y;
                }
                for row in v.iter_mut() {
                    let vkp = row[p];
                    let vkq = row[q];
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_reconstructs_the_matrix() {
        let a = vec![
            vec![4.0, 1.0, 0.5, 0.0],
            vec![1.0, 3.0, 0.2, 0.1],
            vec![0.5, 0.2, 2.0, 0.3],
            vec![0.0, 0.1, 0.3, 1.0],
        ];
        let (w, v) = symmetric_eigen(a.clone());
        for i in 0..4 {
            for j in 0..4 {
                let r: f64 = (0..4).map(|k| v[i][k] * w[k] * v[j][k]).sum();
                assert!((r - a[i][j]).abs() < 1e-13, "{i} {j}: {r} vs {}", a[i][j]);
                let dot: f64 = (0..4).map(|k| v[k][i] * v[k][j]).sum();
                assert!((dot - f64::from(u8::from(i == j))).abs() < 1e-13);
            }
        }
    }
}
