//! Regression metrics: RMSE, MAE, R², MAPE.

use super::{check_finite, check_len, check_weights, weighted_mean};
use crate::{Error, Result};

fn check(y_true: &[f64], y_pred: &[f64], sample_weight: Option<&[f64]>) -> Result<()> {
    check_len("y_true", y_true.len(), "y_pred", y_pred.len())?;
    check_weights(sample_weight, y_true.len())?;
    check_finite("y_true", y_true)?;
    check_finite("y_pred", y_pred)
}

/// Root mean squared error (`root_mean_squared_error`).
pub fn rmse(y_true: &[f64], y_pred: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    check(y_true, y_pred, sample_weight)?;
    let sq = y_true.iter().zip(y_pred).map(|(t, p)| (t - p) * (t - p));
    Ok(weighted_mean(sq, sample_weight).sqrt())
}

/// Mean absolute error (`mean_absolute_error`).
pub fn mae(y_true: &[f64], y_pred: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    check(y_true, y_pred, sample_weight)?;
    let abs = y_true.iter().zip(y_pred).map(|(t, p)| (t - p).abs());
    Ok(weighted_mean(abs, sample_weight))
}

/// Coefficient of determination (`r2_score`): `1 − Σw(y − ŷ)² / Σw(y − ȳ)²`.
///
/// A constant `y_true` gives 1 for perfect predictions and 0 otherwise (scikit-learn's
/// `force_finite=True`); fewer than two rows is an error (scikit-learn: NaN and a warning).
pub fn r2(y_true: &[f64], y_pred: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    check(y_true, y_pred, sample_weight)?;
    if y_true.len() < 2 {
        return Err(Error::InvalidData(
            "R² is not defined for fewer than two rows".into(),
        ));
    }
    let w = |i: usize| sample_weight.map_or(1.0, |w| w[i]);
    let mean = weighted_mean(y_true.iter().copied(), sample_weight);
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..y_true.len() {
        num += w(i) * (y_true[i] - y_pred[i]) * (y_true[i] - y_pred[i]);
        den += w(i) * (y_true[i] - mean) * (y_true[i] - mean);
    }
    Ok(if den != 0.0 {
        1.0 - num / den
    } else if num == 0.0 {
        1.0
    } else {
        0.0
    })
}

/// Mean absolute percentage error as a fraction (`mean_absolute_percentage_error`):
/// `|y − ŷ| / max(|y|, ε)` averaged, with ε = `f64::EPSILON` as in scikit-learn (so a zero
/// target gives a huge but finite term).
pub fn mape(y_true: &[f64], y_pred: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    check(y_true, y_pred, sample_weight)?;
    let terms = y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (p - t).abs() / t.abs().max(f64::EPSILON));
    Ok(weighted_mean(terms, sample_weight))
}
