//! [`Matrix`]: the dense, column-major `f64` feature matrix every estimator consumes.

use serde::{Deserialize, Serialize};

use crate::{Error, FeatureMeta, Result};

/// A dense matrix of `f64`, stored column by column. Missing values are NaN.
///
/// Column-major because fitting reads features one column at a time (binning, coordinate
/// updates, `Xᵀv`); row access for prediction goes through [`Matrix::row_into`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    n_rows: usize,
    n_cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// An all-zero matrix.
    pub fn zeros(n_rows: usize, n_cols: usize) -> Self {
        Matrix {
            n_rows,
            n_cols,
            data: vec![0.0; n_rows * n_cols],
        }
    }

    /// A matrix from column-major data.
    pub fn from_col_major(n_rows: usize, n_cols: usize, data: Vec<f64>) -> Result<Self> {
        if data.len() != n_rows * n_cols {
            return Err(Error::Internal(format!(
                "matrix of {n_rows}x{n_cols} given {} values",
                data.len()
            )));
        }
        Ok(Matrix {
            n_rows,
            n_cols,
            data,
        })
    }

    /// A matrix from row-major data.
    pub fn from_row_major(n_rows: usize, n_cols: usize, data: &[f64]) -> Result<Self> {
        if data.len() != n_rows * n_cols {
            return Err(Error::Internal(format!(
                "matrix of {n_rows}x{n_cols} given {} values",
                data.len()
            )));
        }
        let mut m = Matrix::zeros(n_rows, n_cols);
        for i in 0..n_rows {
            for j in 0..n_cols {
                m.data[j * n_rows + i] = data[i * n_cols + j];
            }
        }
        Ok(m)
    }

    /// A matrix from equally long columns.
    pub fn from_columns(columns: Vec<Vec<f64>>) -> Result<Self> {
        let n_rows = columns.first().map_or(0, Vec::len);
        if let Some((j, c)) = columns.iter().enumerate().find(|(_, c)| c.len() != n_rows) {
            return Err(Error::Internal(format!(
                "column {j} has {} rows, expected {n_rows}",
                c.len()
            )));
        }
        let n_cols = columns.len();
        Ok(Matrix {
            n_rows,
            n_cols,
            data: columns.concat(),
        })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Number of columns.
    pub fn n_cols(&self) -> usize {
        self.n_cols
    }

    /// Column `j`.
    pub fn col(&self, j: usize) -> &[f64] {
        &self.data[j * self.n_rows..(j + 1) * self.n_rows]
    }

    /// Column `j`, mutable.
    pub fn col_mut(&mut self, j: usize) -> &mut [f64] {
        &mut self.data[j * self.n_rows..(j + 1) * self.n_rows]
    }

    /// The value at row `i`, column `j`.
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[j * self.n_rows + i]
    }

    /// Sets the value at row `i`, column `j`.
    pub fn set(&mut self, i: usize, j: usize, v: f64) {
        self.data[j * self.n_rows + i] = v;
    }

    /// Copies row `i` into `buf` (which must hold `n_cols` values).
    pub fn row_into(&self, i: usize, buf: &mut [f64]) {
        for (j, b) in buf.iter_mut().enumerate().take(self.n_cols) {
            *b = self.data[j * self.n_rows + i];
        }
    }

    /// The rows at `rows`, in that order.
    pub fn take_rows(&self, rows: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(rows.len() * self.n_cols);
        for j in 0..self.n_cols {
            let c = self.col(j);
            data.extend(rows.iter().map(|&r| c[r]));
        }
        Matrix {
            n_rows: rows.len(),
            n_cols: self.n_cols,
            data,
        }
    }

    /// All values, column-major.
    pub fn as_col_major(&self) -> &[f64] {
        &self.data
    }
}

/// Fails with [`Error::InvalidData`] naming the first non-finite value of `x` (by column,
/// then row): the feature's name when `features` is given, else its column index. `model`
/// names the model in the message. Every estimator that cannot take NaN or ±∞ calls this.
pub(crate) fn check_finite(
    x: &Matrix,
    features: Option<&[FeatureMeta]>,
    model: &str,
) -> Result<()> {
    for j in 0..x.n_cols() {
        let col = x.col(j);
        if let Some(i) = col.iter().position(|v| !v.is_finite()) {
            let name = match features.and_then(|f| f.get(j)) {
                Some(f) => format!("feature '{}' (column {j})", f.name),
                None => format!("column {j}"),
            };
            return Err(Error::InvalidData(format!(
                "{name} is {} at row {i}; {model} needs finite features (impute missing \
                 values first)",
                col[i]
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_agree() {
        let a = Matrix::from_row_major(2, 3, &[1., 2., 3., 4., 5., 6.]).unwrap();
        let b = Matrix::from_columns(vec![vec![1., 4.], vec![2., 5.], vec![3., 6.]]).unwrap();
        assert_eq!(a, b);
        let mut row = [0.0; 3];
        a.row_into(1, &mut row);
        assert_eq!(row, [4., 5., 6.]);
        assert_eq!(a.take_rows(&[1]).col(2), &[6.]);
    }
}
