//! Probability calibration (scikit-learn's `CalibratedClassifierCV`) and the reliability
//! curve (`calibration_curve`).
//!
//! - [`SigmoidCalibrator`] is Platt scaling exactly as scikit-learn's `_sigmoid_calibration`:
//!   Platt's smoothed targets `(n₊+1)/(n₊+2)` and `1/(n₋+2)`, inputs rescaled by their largest
//!   magnitude when that is ≥ 30, and the convex log loss minimized (here by Newton's method
//!   to convergence, where scikit-learn runs L-BFGS-B); the result is
//!   `p = 1 / (1 + exp(a·f + b))`.
//! - [`IsotonicCalibrator`] is `IsotonicRegression(out_of_bounds="clip")`: rows sorted by
//!   score, ties (within float64 resolution) merged by weighted mean, the pool-adjacent-
//!   violators algorithm, and linear interpolation between the fitted points, clipped at
//!   the ends.
//! - [`Calibration::fit`] fits one calibrator for the positive class of a binary task, or one
//!   per class (one-vs-rest) for multiclass, then normalizes rows like scikit-learn
//!   (uniform when every calibrated value is 0). It is fitted on out-of-fold predictions of
//!   the model that is then refitted on all rows: scikit-learn's `ensemble=False`.

use serde::{Deserialize, Serialize};

use crate::{Error, Matrix, Result};

/// The calibration method, as written in a config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationMethod {
    /// Platt scaling.
    Sigmoid,
    /// Isotonic regression.
    Isotonic,
}

/// Platt's sigmoid `p = 1 / (1 + exp(a·f + b))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SigmoidCalibrator {
    /// Slope.
    #[serde(with = "crate::exact_json::floats")]
    pub a: f64,
    /// Intercept.
    #[serde(with = "crate::exact_json::floats")]
    pub b: f64,
}

fn log1pexp(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

fn expit(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

fn check_inputs(scores: &[f64], labels: &[bool], weights: Option<&[f64]>) -> Result<()> {
    if scores.len() != labels.len() {
        return Err(Error::InvalidData(format!(
            "{} scores for {} labels",
            scores.len(),
            labels.len()
        )));
    }
    if scores.is_empty() {
        return Err(Error::InvalidData("no rows to calibrate on".into()));
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::InvalidData(format!(
            "score at row {i} is {}; calibration needs finite scores",
            scores[i]
        )));
    }
    if let Some(w) = weights {
        if w.len() != scores.len() {
            return Err(Error::InvalidData(format!(
                "{} weights for {} rows",
                w.len(),
                scores.len()
            )));
        }
    }
    Ok(())
}

impl SigmoidCalibrator {
    /// Fits on `scores` (probabilities or decision values) and binary `labels`.
    pub fn fit(scores: &[f64], labels: &[bool], weights: Option<&[f64]>) -> Result<Self> {
        check_inputs(scores, labels, weights)?;
        let max = scores.iter().fold(0.0f64, |m, s| m.max(s.abs()));
        let scale = if max >= 30.0 { max } else { 1.0 };
        let f: Vec<f64> = scores.iter().map(|s| s / scale).collect();
        let w = |i: usize| weights.map_or(1.0, |w| w[i]);
        let (mut prior0, mut prior1) = (0.0, 0.0);
        for (i, &l) in labels.iter().enumerate() {
            if l {
                prior1 += w(i);
            } else {
                prior0 += w(i);
            }
        }
        let t_pos = (prior1 + 1.0) / (prior1 + 2.0);
        let t_neg = 1.0 / (prior0 + 2.0);
        let t: Vec<f64> = labels
            .iter()
            .map(|&l| if l { t_pos } else { t_neg })
            .collect();
        // raw = -(a f + b); loss = Σ w (log(1 + e^raw) - t raw).
        let loss = |a: f64, b: f64| -> f64 {
            (0..f.len())
                .map(|i| {
                    let raw = -(a * f[i] + b);
                    w(i) * (log1pexp(raw) - t[i] * raw)
                })
                .sum()
        };
        let (mut a, mut b) = (0.0, ((prior0 + 1.0) / (prior1 + 1.0)).ln());
        let mut current = loss(a, b);
        for _ in 0..200 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for i in 0..f.len() {
                let p = expit(-(a * f[i] + b));
                let g = w(i) * (p - t[i]);
                let h = w(i) * p * (1.0 - p);
                ga -= g * f[i];
                gb -= g;
                haa += h * f[i] * f[i];
                hab += h * f[i];
                hbb += h;
            }
            let det = haa * hbb - hab * hab;
            let (da, db) = if det > 1e-300 * haa.max(1.0) {
                ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det)
            } else {
                // Singular Hessian (constant scores): move the intercept only.
                (0.0, if hbb > 0.0 { gb / hbb } else { 0.0 })
            };
            let mut step = 1.0;
            let mut improved = false;
            while step > 1e-12 {
                let (na, nb) = (a - step * da, b - step * db);
                let l = loss(na, nb);
                if l <= current {
                    let change = (na - a).abs() + (nb - b).abs();
                    a = na;
                    b = nb;
                    improved = current - l > 0.0 || change > 0.0;
                    current = l;
                    break;
                }
                step /= 2.0;
            }
            let size = step * (da.abs() + db.abs());
            if !improved || size < 1e-15 * (1.0 + a.abs() + b.abs()) {
                break;
            }
        }
        Ok(SigmoidCalibrator { a: a / scale, b })
    }

    /// The calibrated probability of one score.
    pub fn predict(&self, score: f64) -> f64 {
        expit(-(self.a * score + self.b))
    }
}

/// A fitted isotonic regression: the points `(x, y)` between which it interpolates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsotonicCalibrator {
    /// Increasing thresholds.
    #[serde(with = "crate::exact_json::floats")]
    pub x: Vec<f64>,
    /// Non-decreasing values at the thresholds.
    #[serde(with = "crate::exact_json::floats")]
    pub y: Vec<f64>,
}

impl IsotonicCalibrator {
    /// Fits a non-decreasing function of `x` to `y` (weighted), like scikit-learn's
    /// `IsotonicRegression(increasing=True, out_of_bounds="clip")`.
    pub fn fit(x: &[f64], y: &[f64], weights: Option<&[f64]>) -> Result<Self> {
        if x.len() != y.len() {
            return Err(Error::InvalidData(format!(
                "{} scores for {} targets",
                x.len(),
                y.len()
            )));
        }
        let flags = vec![false; x.len()];
        check_inputs(x, &flags, weights)?;
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|&i, &j| x[i].total_cmp(&x[j]).then(y[i].total_cmp(&y[j])));
        let w = |i: usize| weights.map_or(1.0, |w| w[i]);
        // Merge ties (scikit-learn's _make_unique: within float64 resolution of the first).
        let eps = 1e-15;
        let (mut ux, mut uy, mut uw) = (Vec::new(), Vec::new(), Vec::new());
        let mut cur_x = x[order[0]];
        let (mut sum_wy, mut sum_w) = (0.0, 0.0);
        for &i in &order {
            if x[i] >= cur_x + eps {
                ux.push(cur_x);
                uy.push(sum_wy / sum_w);
                uw.push(sum_w);
                cur_x = x[i];
                (sum_wy, sum_w) = (0.0, 0.0);
            }
            sum_wy += w(i) * y[i];
            sum_w += w(i);
        }
        ux.push(cur_x);
        uy.push(sum_wy / sum_w);
        uw.push(sum_w);
        pava(&mut uy, &uw);
        // Keep the first and last point of every constant run (prediction is unchanged).
        let n = uy.len();
        let keep: Vec<bool> = (0..n)
            .map(|i| i == 0 || i + 1 == n || uy[i] != uy[i - 1] || uy[i] != uy[i + 1])
            .collect();
        let pick = |v: &[f64]| -> Vec<f64> {
            v.iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(x, _)| *x)
                .collect()
        };
        Ok(IsotonicCalibrator {
            x: pick(&ux),
            y: pick(&uy),
        })
    }

    /// The fitted value at `v`: linear interpolation, clipped to the end values.
    pub fn predict(&self, v: f64) -> f64 {
        let n = self.x.len();
        if v <= self.x[0] || n == 1 {
            return self.y[0];
        }
        if v >= self.x[n - 1] {
            return self.y[n - 1];
        }
        // First threshold greater than v.
        let j = self.x.partition_point(|&t| t <= v);
        let (x0, x1, y0, y1) = (self.x[j - 1], self.x[j], self.y[j - 1], self.y[j]);
        let slope = (y1 - y0) / (x1 - x0);
        slope * (v - x0) + y0
    }
}

/// Weighted pool-adjacent-violators, in place: the non-decreasing sequence closest to `y`
/// in weighted squared error.
pub fn pava(y: &mut [f64], w: &[f64]) {
    // Blocks as (start, weight, mean).
    let mut blocks: Vec<(usize, f64, f64)> = Vec::with_capacity(y.len());
    for i in 0..y.len() {
        let mut blk = (i, w[i], y[i]);
        while let Some(&(s, bw, bm)) = blocks.last() {
            if bm < blk.2 {
                break;
            }
            let tw = bw + blk.1;
            let m = if tw > 0.0 {
                (bw * bm + blk.1 * blk.2) / tw
            } else {
                (bm + blk.2) / 2.0
            };
            blk = (s, tw, m);
            blocks.pop();
        }
        blocks.push(blk);
    }
    for (k, &(s, _, m)) in blocks.iter().enumerate() {
        let end = blocks.get(k + 1).map_or(y.len(), |b| b.0);
        y[s..end].fill(m);
    }
}

/// One fitted calibrator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Calibrator {
    /// Platt scaling.
    Sigmoid(SigmoidCalibrator),
    /// Isotonic regression.
    Isotonic(IsotonicCalibrator),
}

impl Calibrator {
    fn fit(
        method: CalibrationMethod,
        scores: &[f64],
        labels: &[bool],
        weights: Option<&[f64]>,
    ) -> Result<Self> {
        Ok(match method {
            CalibrationMethod::Sigmoid => {
                Calibrator::Sigmoid(SigmoidCalibrator::fit(scores, labels, weights)?)
            }
            CalibrationMethod::Isotonic => {
                let y: Vec<f64> = labels.iter().map(|&l| f64::from(u8::from(l))).collect();
                Calibrator::Isotonic(IsotonicCalibrator::fit(scores, &y, weights)?)
            }
        })
    }

    fn predict(&self, v: f64) -> f64 {
        match self {
            Calibrator::Sigmoid(s) => s.predict(v),
            Calibrator::Isotonic(i) => i.predict(v),
        }
    }
}

/// A fitted calibration of class probabilities: one calibrator for the positive class of a
/// binary task, one per class otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The method.
    pub method: CalibrationMethod,
    /// Class count.
    pub n_classes: usize,
    /// Calibrators: `[positive class]` for binary, one per class otherwise.
    pub calibrators: Vec<Calibrator>,
}

impl Calibration {
    /// Fits on `proba` (rows × classes, e.g. out-of-fold predictions) and class `labels`.
    pub fn fit(method: CalibrationMethod, proba: &Matrix, labels: &[u32]) -> Result<Self> {
        let k = proba.n_cols();
        if k < 2 {
            return Err(Error::InvalidData(
                "calibration needs class probabilities of at least two classes".into(),
            ));
        }
        if labels.len() != proba.n_rows() {
            return Err(Error::InvalidData(format!(
                "{} labels for {} rows of probabilities",
                labels.len(),
                proba.n_rows()
            )));
        }
        let classes: Vec<usize> = if k == 2 { vec![1] } else { (0..k).collect() };
        let calibrators = classes
            .into_iter()
            .map(|c| {
                let is_c: Vec<bool> = labels.iter().map(|&l| l as usize == c).collect();
                Calibrator::fit(method, proba.col(c), &is_c, None)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Calibration {
            method,
            n_classes: k,
            calibrators,
        })
    }

    /// Calibrated probabilities (same shape as `proba`).
    pub fn apply(&self, proba: &Matrix) -> Result<Matrix> {
        if proba.n_cols() != self.n_classes {
            return Err(Error::SchemaMismatch(format!(
                "calibration was fitted for {} classes, the model gave {}",
                self.n_classes,
                proba.n_cols()
            )));
        }
        let n = proba.n_rows();
        let mut out = Matrix::zeros(n, self.n_classes);
        if self.n_classes == 2 {
            for i in 0..n {
                let p = self.calibrators[0].predict(proba.get(i, 1));
                out.set(i, 1, p);
                out.set(i, 0, 1.0 - p);
            }
            return Ok(out);
        }
        for (c, cal) in self.calibrators.iter().enumerate() {
            for i in 0..n {
                out.set(i, c, cal.predict(proba.get(i, c)));
            }
        }
        for i in 0..n {
            let s: f64 = (0..self.n_classes).map(|c| out.get(i, c)).sum();
            for c in 0..self.n_classes {
                let v = if s != 0.0 {
                    out.get(i, c) / s
                } else {
                    1.0 / self.n_classes as f64
                };
                out.set(i, c, v);
            }
        }
        Ok(out)
    }
}

/// A reliability curve: per non-empty bin, the fraction of positives and the mean predicted
/// probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationCurve {
    /// Fraction of positive rows per bin.
    pub prob_true: Vec<f64>,
    /// Mean predicted probability per bin.
    pub prob_pred: Vec<f64>,
}

/// scikit-learn's `calibration_curve(y_true, y_prob, n_bins=n_bins, strategy="uniform")`:
/// `n_bins` equal-width bins on `[0, 1]` (a value on an inner edge falls in the lower bin),
/// empty bins left out.
pub fn calibration_curve(
    y_true: &[bool],
    y_prob: &[f64],
    n_bins: usize,
) -> Result<CalibrationCurve> {
    if y_true.len() != y_prob.len() {
        return Err(Error::InvalidData(format!(
            "{} labels for {} probabilities",
            y_true.len(),
            y_prob.len()
        )));
    }
    if n_bins == 0 {
        return Err(Error::param("n_bins", "must be at least 1"));
    }
    if let Some(i) = y_prob.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(Error::InvalidData(format!(
            "probability at row {i} is {}; y_prob must be in [0, 1]",
            y_prob[i]
        )));
    }
    // numpy.linspace(0, 1, n_bins + 1): i · (1 / n_bins), last edge exactly 1.
    let step = 1.0 / n_bins as f64;
    let inner: Vec<f64> = (1..n_bins).map(|i| i as f64 * step).collect();
    let mut sums = vec![0.0; n_bins];
    let mut trues = vec![0.0; n_bins];
    let mut totals = vec![0usize; n_bins];
    for (&t, &p) in y_true.iter().zip(y_prob) {
        // numpy.searchsorted(inner, p, side="left").
        let b = inner.partition_point(|&e| e < p);
        sums[b] += p;
        trues[b] += f64::from(u8::from(t));
        totals[b] += 1;
    }
    let mut curve = CalibrationCurve {
        prob_true: Vec::new(),
        prob_pred: Vec::new(),
    };
    for b in 0..n_bins {
        if totals[b] > 0 {
            curve.prob_true.push(trues[b] / totals[b] as f64);
            curve.prob_pred.push(sums[b] / totals[b] as f64);
        }
    }
    Ok(curve)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pava_pools_violators() {
        let mut y = vec![1.0, 3.0, 2.0, 4.0, 3.0, 5.0];
        pava(&mut y, &[1.0; 6]);
        assert_eq!(y, vec![1.0, 2.5, 2.5, 3.5, 3.5, 5.0]);
        let mut y = vec![3.0, 1.0];
        pava(&mut y, &[1.0, 3.0]);
        assert_eq!(y, vec![1.5, 1.5]);
    }

    #[test]
    fn sigmoid_on_separable_ranks_is_increasing() {
        let s = [0.1, 0.2, 0.3, 0.6, 0.7, 0.9, 0.4, 0.5];
        let l = [false, false, true, true, true, true, false, false];
        let c = SigmoidCalibrator::fit(&s, &l, None).unwrap();
        assert!(c.a < 0.0, "{c:?}");
        assert!(c.predict(0.9) > c.predict(0.1));
    }

    #[test]
    fn curve_bins_inner_edges_low() {
        let c = calibration_curve(&[false, true, true, false], &[0.2, 0.5, 0.9, 0.0], 2).unwrap();
        // 0.5 sits on the inner edge and joins the lower bin.
        assert_eq!(c.prob_true, vec![1.0 / 3.0, 1.0]);
        assert_eq!(c.prob_pred, vec![0.7 / 3.0, 0.9]);
    }
}
