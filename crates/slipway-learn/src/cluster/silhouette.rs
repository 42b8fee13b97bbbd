//! The silhouette coefficient (scikit-learn's `silhouette_samples` / `silhouette_score`,
//! Euclidean distance).

use rayon::prelude::*;

use super::{check_finite, row_major};
use crate::{Error, Matrix, Result};

/// Silhouette coefficient of every row: `(b − a) / max(a, b)`, where `a` is the mean
/// distance to the other rows of its cluster and `b` the smallest mean distance to the rows
/// of another cluster; 0 for rows alone in their cluster. Labels are any integers (`-1`,
/// DBSCAN's noise, is treated as a cluster, like scikit-learn does).
///
/// Needs between 2 and `n_rows − 1` distinct labels. Distances are computed exactly
/// (`√Σ(xᵢ − yᵢ)²`), in parallel over rows: `O(n²·p)` time, `O(n·labels)` memory.
pub fn silhouette_samples(x: &Matrix, labels: &[i64]) -> Result<Vec<f64>> {
    let n = x.n_rows();
    if labels.len() != n {
        return Err(Error::InvalidData(format!(
            "{n} rows but {} labels",
            labels.len()
        )));
    }
    check_finite(x, None, "the silhouette score")?;
    let mut distinct: Vec<i64> = labels.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let nl = distinct.len();
    if nl < 2 || nl > n.saturating_sub(1) {
        return Err(Error::InvalidData(format!(
            "the silhouette needs 2 to n_rows - 1 = {} distinct labels, got {nl}",
            n.saturating_sub(1)
        )));
    }
    let codes: Vec<usize> = labels
        .iter()
        .map(|l| distinct.binary_search(l).unwrap_or(0))
        .collect();
    let mut freq = vec![0usize; nl];
    for &c in &codes {
        freq[c] += 1;
    }
    let p = x.n_cols();
    let rows = row_major(x);
    Ok((0..n)
        .into_par_iter()
        .map(|i| {
            let a_row = &rows[i * p..(i + 1) * p];
            let mut sums = vec![0.0; nl];
            for (j, &c) in codes.iter().enumerate() {
                let b_row = &rows[j * p..(j + 1) * p];
                let d2: f64 = a_row
                    .iter()
                    .zip(b_row)
                    .map(|(u, v)| (u - v) * (u - v))
                    .sum();
                sums[c] += d2.sqrt();
            }
            let own = codes[i];
            if freq[own] <= 1 {
                return 0.0;
            }
            let a = sums[own] / (freq[own] - 1) as f64;
            let b = (0..nl)
                .filter(|&c| c != own)
                .map(|c| sums[c] / freq[c] as f64)
                .fold(f64::INFINITY, f64::min);
            let m = a.max(b);
            if m == 0.0 { 0.0 } else { (b - a) / m }
        })
        .collect())
}

/// Mean silhouette coefficient over all rows (see [`silhouette_samples`]).
pub fn silhouette_score(x: &Matrix, labels: &[i64]) -> Result<f64> {
    let s = silhouette_samples(x, labels)?;
    Ok(s.iter().sum::<f64>() / s.len() as f64)
}
