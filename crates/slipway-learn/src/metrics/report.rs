//! `classification_report` as a struct, displayed like scikit-learn's text.

use std::fmt;

use super::classification::{Average, average_stats, label_stats, prf_of};
use crate::{Error, Result};

/// One line of a [`ClassificationReport`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    /// The class name (the label, or the given target name), or the average's name.
    pub name: String,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1 score.
    pub f1: f64,
    /// Number (or total weight) of true rows.
    pub support: f64,
}

/// Per-class precision, recall, F1 and support, with accuracy and the macro and weighted
/// averages (`classification_report`). `Display` prints scikit-learn's text with two
/// digits.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationReport {
    /// One row per label in the sorted union of `y_true` and `y_pred`.
    pub classes: Vec<ReportRow>,
    /// Accuracy (the micro-averaged F1).
    pub accuracy: f64,
    /// Unweighted mean over classes.
    pub macro_avg: ReportRow,
    /// Support-weighted mean over classes.
    pub weighted_avg: ReportRow,
    /// Total support.
    pub support: f64,
    /// Whether sample weights were given (supports are then printed as decimals, like
    /// scikit-learn does).
    pub weighted_support: bool,
}

/// Builds the report; `target_names` (one per label in the sorted union of `y_true` and
/// `y_pred`) replace the label numbers.
pub fn classification_report(
    y_true: &[u32],
    y_pred: &[u32],
    target_names: Option<&[String]>,
    sample_weight: Option<&[f64]>,
) -> Result<ClassificationReport> {
    let s = label_stats(y_true, y_pred, sample_weight)?;
    let k = s.labels.len();
    if let Some(names) = target_names {
        if names.len() != k {
            return Err(Error::InvalidData(format!(
                "{} target names for {k} classes {:?}",
                names.len(),
                s.labels
            )));
        }
    }
    let classes: Vec<ReportRow> = (0..k)
        .map(|i| {
            let prf = prf_of(s.tp[i], s.pred[i], s.truth[i]);
            ReportRow {
                name: target_names.map_or_else(|| s.labels[i].to_string(), |n| n[i].clone()),
                precision: prf.precision,
                recall: prf.recall,
                f1: prf.f1,
                support: s.truth[i],
            }
        })
        .collect();
    let support: f64 = s.truth.iter().sum();
    let row = |name: &str, average: Average| -> Result<ReportRow> {
        let prf = average_stats(&s, average)?;
        Ok(ReportRow {
            name: name.to_string(),
            precision: prf.precision,
            recall: prf.recall,
            f1: prf.f1,
            support,
        })
    };
    Ok(ClassificationReport {
        accuracy: average_stats(&s, Average::Micro)?.f1,
        macro_avg: row("macro avg", Average::Macro)?,
        weighted_avg: row("weighted avg", Average::Weighted)?,
        classes,
        support,
        weighted_support: sample_weight.is_some(),
    })
}

/// Python's `repr` of a float (shortest round-trip digits, `.0` on integers, exponent
/// outside `[1e-4, 1e16)`).
fn py_repr(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{v:e}");
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = exp.parse().unwrap_or(0);
        return format!("{mant}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    if v == v.trunc() {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

impl fmt::Display for ClassificationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let support = |v: f64| {
            if self.weighted_support {
                py_repr(v)
            } else {
                format!("{}", v as u64)
            }
        };
        let width = self
            .classes
            .iter()
            .map(|r| r.name.chars().count())
            .max()
            .unwrap_or(0)
            .max("weighted avg".len())
            .max(2);
        write!(f, "{:>width$} ", "")?;
        for h in ["precision", "recall", "f1-score", "support"] {
            write!(f, " {h:>9}")?;
        }
        writeln!(f)?;
        writeln!(f)?;
        let line = |f: &mut fmt::Formatter<'_>, r: &ReportRow| {
            writeln!(
                f,
                "{:>width$}  {:>9.2} {:>9.2} {:>9.2} {:>9}",
                r.name,
                r.precision,
                r.recall,
                r.f1,
                support(r.support)
            )
        };
        for r in &self.classes {
            line(f, r)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:>width$}  {:>9} {:>9} {:>9.2} {:>9}",
            "accuracy",
            "",
            "",
            self.accuracy,
            support(self.support)
        )?;
        line(f, &self.macro_avg)?;
        line(f, &self.weighted_avg)
    }
}

#[cfg(test)]
mod tests {
    use super::py_repr;

    #[test]
    fn python_float_repr() {
        assert_eq!(py_repr(3.0), "3.0");
        assert_eq!(py_repr(253.82), "253.82");
        assert_eq!(py_repr(123.68999999999997), "123.68999999999997");
        assert_eq!(py_repr(1e-5), "1e-05");
        assert_eq!(py_repr(2.5e16), "2.5e+16");
    }
}
