//! Numeric scalers: standard, min-max and robust, each fitted as `(center, divisor)`.

use serde::{Deserialize, Deserializer, Serialize};

/// How numbers are scaled after imputation. In configs either a name or, for compatibility
/// with older configs, `true` (standard) / `false` (none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaler {
    /// Zero mean, unit population variance (scikit-learn's `StandardScaler`).
    Standard,
    /// Into `[0, 1]` by the training minimum and maximum (`MinMaxScaler`).
    #[serde(rename = "minmax")]
    MinMax,
    /// Minus the median, divided by the 25–75 % interquartile range with linear quantiles
    /// (`RobustScaler`).
    Robust,
    /// Unscaled.
    None,
}

impl<'de> Deserialize<'de> for Scaler {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Name(String),
        }
        match Raw::deserialize(d)? {
            Raw::Flag(true) => Ok(Scaler::Standard),
            Raw::Flag(false) => Ok(Scaler::None),
            Raw::Name(n) => match n.as_str() {
                "standard" => Ok(Scaler::Standard),
                "minmax" | "min_max" => Ok(Scaler::MinMax),
                "robust" => Ok(Scaler::Robust),
                "none" => Ok(Scaler::None),
                other => Err(serde::de::Error::custom(format!(
                    "unknown scaler \"{other}\"; expected standard, minmax, robust, none, true or false"
                ))),
            },
        }
    }
}

impl Scaler {
    /// `(center, divisor)` learned from `values` (no NaN, at least one value), or `None` when
    /// unscaled. A zero spread becomes divisor 1, as scikit-learn does.
    pub(crate) fn fit(self, values: &[f64]) -> Option<(f64, f64)> {
        let nonzero = |d: f64| if d > 0.0 { d } else { 1.0 };
        match self {
            Scaler::None => None,
            Scaler::Standard => {
                let m = mean(values);
                let var =
                    values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / values.len() as f64;
                Some((m, nonzero(var.sqrt())))
            }
            Scaler::MinMax => {
                let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                Some((lo, nonzero(hi - lo)))
            }
            Scaler::Robust => {
                let mut s = values.to_vec();
                s.sort_by(f64::total_cmp);
                let q1 = quantile_sorted(&s, 0.25);
                let q3 = quantile_sorted(&s, 0.75);
                Some((super::median(&s), nonzero(q3 - q1)))
            }
        }
    }
}

pub(crate) fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// numpy's default (`linear`) quantile of sorted values.
pub(crate) fn quantile_sorted(s: &[f64], q: f64) -> f64 {
    let n = s.len();
    if n == 1 {
        return s[0];
    }
    let pos = q * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = pos - lo as f64;
    // numpy's _lerp: a + (b - a) * t, and b - (b - a) * (1 - t) when t >= 0.5.
    let (a, b) = (s[lo], s[hi]);
    let diff = b - a;
    if frac >= 0.5 {
        b - diff * (1.0 - frac)
    } else {
        a + diff * frac
    }
}
