//! Target encoding like scikit-learn's `TargetEncoder` (binary and continuous targets).
//!
//! Each category becomes a shrunk mean of the target over the training rows of that
//! category. The training matrix gets out-of-fold values (every row encoded by the other
//! folds only, as `TargetEncoder.fit_transform` does), so a model never sees a row's own
//! label through its encoding; new data gets the encoding learned on all training rows.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, Result};

/// How strongly category means are pulled toward the overall mean (`smooth`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Smooth {
    /// Empirical Bayes: the weight of a category's mean is `n·σ² / (n·σ² + σ²_cat)`,
    /// with `σ²` the target variance and `σ²_cat` the within-category variance.
    #[default]
    Auto,
    /// `(sum + m·mean) / (n + m)` with this `m` (at least 0).
    Fixed(f64),
}

impl Serialize for Smooth {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Smooth::Auto => s.serialize_str("auto"),
            Smooth::Fixed(m) => s.serialize_f64(*m),
        }
    }
}

impl<'de> Deserialize<'de> for Smooth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Name(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(m) => Ok(Smooth::Fixed(m)),
            Raw::Name(n) if n == "auto" => Ok(Smooth::Auto),
            Raw::Name(n) => Err(serde::de::Error::custom(format!(
                "smooth must be \"auto\" or a number, got \"{n}\""
            ))),
        }
    }
}

/// Encodings of categories `0..n_categories` from `codes` (one per row) and the target
/// values `y` of those rows, plus the target mean (for unseen categories). scikit-learn's
/// `_fit_encoding_fast` / `_fit_encoding_fast_auto_smooth`.
pub fn encode(codes: &[usize], y: &[f64], n_categories: usize, smooth: Smooth) -> (Vec<f64>, f64) {
    let n = y.len() as f64;
    let y_mean = y.iter().sum::<f64>() / n;
    let mut sums = vec![0.0; n_categories];
    let mut counts = vec![0.0; n_categories];
    for (&c, &v) in codes.iter().zip(y) {
        sums[c] += v;
        counts[c] += 1.0;
    }
    let enc = match smooth {
        Smooth::Fixed(m) => sums
            .iter()
            .zip(&counts)
            .map(|(s, c)| {
                if *c == 0.0 {
                    y_mean
                } else {
                    (s + m * y_mean) / (c + m)
                }
            })
            .collect(),
        Smooth::Auto => {
            let y_var = y.iter().map(|v| (v - y_mean) * (v - y_mean)).sum::<f64>() / n;
            let means: Vec<f64> = sums.iter().zip(&counts).map(|(s, c)| s / c).collect();
            let mut ssd = vec![0.0; n_categories];
            for (&c, &v) in codes.iter().zip(y) {
                ssd[c] += (v - means[c]) * (v - means[c]);
            }
            (0..n_categories)
                .map(|k| {
                    let lambda = y_var * counts[k] / (y_var * counts[k] + ssd[k] / counts[k]);
                    if lambda.is_nan() {
                        y_mean
                    } else {
                        lambda * means[k] + (1.0 - lambda) * y_mean
                    }
                })
                .collect()
        }
    };
    (enc, y_mean)
}

/// Out-of-fold encodings: row `i` of a fold's test rows gets the encoding fitted on that
/// fold's other rows. `folds` are `(fit rows, test rows)` indices into `codes`/`y`; every
/// row must be a test row exactly once.
pub fn out_of_fold(
    codes: &[usize],
    y: &[f64],
    n_categories: usize,
    smooth: Smooth,
    folds: &[(Vec<usize>, Vec<usize>)],
) -> Result<Vec<f64>> {
    let mut out = vec![f64::NAN; codes.len()];
    for (fit, test) in folds {
        let c: Vec<usize> = fit.iter().map(|&r| codes[r]).collect();
        let v: Vec<f64> = fit.iter().map(|&r| y[r]).collect();
        let (enc, _) = encode(&c, &v, n_categories, smooth);
        for &r in test {
            out[r] = enc[codes[r]];
        }
    }
    if out.iter().any(|v| v.is_nan()) {
        return Err(Error::Internal(
            "target encoding folds do not cover every training row".into(),
        ));
    }
    Ok(out)
}
