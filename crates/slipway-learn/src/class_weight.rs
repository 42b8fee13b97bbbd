//! Class weights for imbalanced classification, turned into per-row sample weights exactly
//! like scikit-learn's `compute_sample_weight(class_weight, y)`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// `balanced`, or a weight per class label (classes not listed weigh 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassWeight {
    /// A named rule.
    Rule(ClassWeightRule),
    /// Weight per class label, as the label appears in the data.
    PerClass(BTreeMap<String, f64>),
}

/// Named class-weight rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeightRule {
    /// `n_rows / (n_classes_present · rows_of_class)`.
    Balanced,
}

impl ClassWeight {
    /// Checks a per-class map against the class labels: every label known, every weight
    /// finite and non-negative.
    pub fn check(&self, classes: &[String]) -> Result<()> {
        if let ClassWeight::PerClass(m) = self {
            for (label, &w) in m {
                if !classes.contains(label) {
                    return Err(Error::param(
                        "class_weight",
                        format!(
                            "class \"{label}\" is not a class of the target (classes: {})",
                            classes.join(", ")
                        ),
                    ));
                }
                if !(w.is_finite() && w >= 0.0) {
                    return Err(Error::param(
                        "class_weight",
                        format!(
                            "weight of class \"{label}\" is {w}; weights must be finite and >= 0"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// One weight per row of `labels` (class codes into `classes`).
    pub fn sample_weights(&self, labels: &[u32], classes: &[String]) -> Result<Vec<f64>> {
        self.check(classes)?;
        let per_class: Vec<f64> = match self {
            ClassWeight::Rule(ClassWeightRule::Balanced) => {
                let mut counts = vec![0usize; classes.len()];
                for &l in labels {
                    let c = counts.get_mut(l as usize).ok_or_else(|| {
                        Error::InvalidData(format!("label {l} is not a class index"))
                    })?;
                    *c += 1;
                }
                let present = counts.iter().filter(|&&c| c > 0).count();
                let n = labels.len() as f64;
                counts
                    .iter()
                    .map(|&c| {
                        if c == 0 {
                            0.0
                        } else {
                            n / (present as f64 * c as f64)
                        }
                    })
                    .collect()
            }
            ClassWeight::PerClass(m) => classes
                .iter()
                .map(|c| m.get(c).copied().unwrap_or(1.0))
                .collect(),
        };
        labels
            .iter()
            .map(|&l| {
                per_class
                    .get(l as usize)
                    .copied()
                    .ok_or_else(|| Error::InvalidData(format!("label {l} is not a class index")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        let b: ClassWeight = serde_json::from_str("\"balanced\"").unwrap();
        assert_eq!(b, ClassWeight::Rule(ClassWeightRule::Balanced));
        let m: ClassWeight = serde_json::from_str("{\"yes\": 3.0}").unwrap();
        assert!(matches!(m, ClassWeight::PerClass(_)));
        assert!(serde_json::from_str::<ClassWeight>("\"balancd\"").is_err());
    }

    #[test]
    fn unknown_labels_are_named() {
        let classes = vec!["no".to_string(), "yes".to_string()];
        let m = ClassWeight::PerClass([("maybe".to_string(), 2.0)].into());
        let e = m.sample_weights(&[0, 1], &classes).unwrap_err().to_string();
        assert!(e.contains("maybe") && e.contains("no, yes"), "{e}");
        let m = ClassWeight::PerClass([("yes".to_string(), -1.0)].into());
        assert!(m.sample_weights(&[0, 1], &classes).is_err());
    }
}
