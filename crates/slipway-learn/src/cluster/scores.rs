//! Internal clustering scores without ground truth: scikit-learn's
//! `calinski_harabasz_score` and `davies_bouldin_score` (Euclidean).
//!
//! Labels are any integers; `-1` (DBSCAN's noise) counts as a cluster of its own, as in
//! scikit-learn. Both need between 2 and `n_rows − 1` distinct labels.

use super::{check_finite, row_major};
use crate::{Error, Matrix, Result};

/// Labels as codes `0..n_labels` (sorted label order), with the cluster sizes.
fn encode(x: &Matrix, labels: &[i64], what: &str) -> Result<(Vec<usize>, Vec<usize>)> {
    let n = x.n_rows();
    if labels.len() != n {
        return Err(Error::InvalidData(format!(
            "{n} rows but {} labels",
            labels.len()
        )));
    }
    check_finite(x, None, what)?;
    let mut distinct = labels.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let nl = distinct.len();
    if nl < 2 || nl > n.saturating_sub(1) {
        return Err(Error::InvalidData(format!(
            "{what} needs 2 to n_rows - 1 = {} distinct labels, got {nl}",
            n.saturating_sub(1)
        )));
    }
    let codes: Vec<usize> = labels
        .iter()
        .map(|l| distinct.binary_search(l).unwrap_or(0))
        .collect();
    let mut sizes = vec![0usize; nl];
    for &c in &codes {
        sizes[c] += 1;
    }
    Ok((codes, sizes))
}

/// Row-major centroids (`sizes.len() × p`) of the clusters.
fn centroids(rows: &[f64], p: usize, codes: &[usize], sizes: &[usize]) -> Vec<f64> {
    let mut c = vec![0.0; sizes.len() * p];
    for (i, &k) in codes.iter().enumerate() {
        for (s, v) in c[k * p..(k + 1) * p]
            .iter_mut()
            .zip(&rows[i * p..(i + 1) * p])
        {
            *s += v;
        }
    }
    for (k, &m) in sizes.iter().enumerate() {
        for s in &mut c[k * p..(k + 1) * p] {
            *s /= m as f64;
        }
    }
    c
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Calinski–Harabasz score: between-cluster dispersion over within-cluster dispersion, each
/// divided by its degrees of freedom; `1` when every cluster is a single point value.
/// Higher is better.
pub fn calinski_harabasz_score(x: &Matrix, labels: &[i64]) -> Result<f64> {
    let (codes, sizes) = encode(x, labels, "the Calinski-Harabasz score")?;
    let (n, p, nl) = (x.n_rows(), x.n_cols(), sizes.len());
    let rows = row_major(x);
    let mean: Vec<f64> = (0..p)
        .map(|j| x.col(j).iter().sum::<f64>() / n as f64)
        .collect();
    let cent = centroids(&rows, p, &codes, &sizes);
    let extra: f64 = (0..nl)
        .map(|k| sizes[k] as f64 * sq_dist(&cent[k * p..(k + 1) * p], &mean))
        .sum();
    let intra: f64 = codes
        .iter()
        .enumerate()
        .map(|(i, &k)| sq_dist(&rows[i * p..(i + 1) * p], &cent[k * p..(k + 1) * p]))
        .sum();
    Ok(if intra == 0.0 {
        1.0
    } else {
        extra * (n - nl) as f64 / (intra * (nl - 1) as f64)
    })
}

/// Davies–Bouldin score: the mean over clusters of the largest
/// `(sᵢ + sⱼ) / d(cᵢ, cⱼ)`, where `s` is the mean distance of a cluster's rows to its
/// centroid; `0` when every `s` or every centroid distance is (nearly) zero. Lower is better.
pub fn davies_bouldin_score(x: &Matrix, labels: &[i64]) -> Result<f64> {
    let (codes, sizes) = encode(x, labels, "the Davies-Bouldin score")?;
    let (p, nl) = (x.n_cols(), sizes.len());
    let rows = row_major(x);
    let cent = centroids(&rows, p, &codes, &sizes);
    let mut intra = vec![0.0; nl];
    for (i, &k) in codes.iter().enumerate() {
        intra[k] += sq_dist(&rows[i * p..(i + 1) * p], &cent[k * p..(k + 1) * p]).sqrt();
    }
    for (s, &m) in intra.iter_mut().zip(&sizes) {
        *s /= m as f64;
    }
    let cdist =
        |a: usize, b: usize| sq_dist(&cent[a * p..(a + 1) * p], &cent[b * p..(b + 1) * p]).sqrt();
    // scikit-learn: np.allclose(v, 0) is |v| <= 1e-8 for every entry.
    let near_zero = |v: f64| v.abs() <= 1e-8;
    let all_centroid_zero = (0..nl).all(|a| (0..nl).all(|b| near_zero(cdist(a, b))));
    if intra.iter().all(|&s| near_zero(s)) || all_centroid_zero {
        return Ok(0.0);
    }
    let total: f64 = (0..nl)
        .map(|a| {
            (0..nl)
                .filter(|&b| b != a)
                .map(|b| {
                    let d = cdist(a, b);
                    if d == 0.0 {
                        0.0
                    } else {
                        (intra[a] + intra[b]) / d
                    }
                })
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .sum();
    Ok(total / nl as f64)
}
