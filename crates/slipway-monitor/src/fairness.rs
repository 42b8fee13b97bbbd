//! Fairness over time: the fairness metrics of `slipway_govern::fairness` (Fairlearn's
//! definitions) on each chunk's labelled rows, with the same bounds as `slipway fairness` and
//! the promotion gate. A chunk alerts when a bound is broken among the groups large enough to
//! judge; a bound broken only once the small groups are counted is flagged, not alarmed on.

use serde::{Deserialize, Serialize};
use slipway_govern::fairness::{self, Check, FairnessOptions, Protected, Summary};

use crate::performance::{ModelOutputs, RowChunk};
use crate::{Error, Result};

/// The protected columns of the analysis rows and how they are judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessMonitor {
    /// The protected columns, in order.
    pub protected: Vec<String>,
    /// Group size, bootstrap, bounds (the options of `slipway fairness`).
    pub options: FairnessOptions,
}

/// One attribute in one chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeFairness {
    /// The column, or the columns joined by ` & `.
    pub attribute: String,
    /// Groups present among the chunk's labelled rows.
    pub groups: usize,
    /// Groups with fewer rows than the minimum group size, as `name (rows)`.
    pub small_groups: Vec<String>,
    /// The between-group summaries with bootstrap intervals.
    pub summary: Summary,
    /// The bounds checked over every group.
    pub checks: Vec<Check>,
    /// With small groups present: the bounds checked over the groups large enough to judge
    /// (what the alert rests on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks_large_groups: Vec<Check>,
    /// A bound is broken among the groups large enough to judge.
    pub alert: bool,
    /// A bound is broken only when the small groups are counted: flagged, not alarmed on.
    pub flagged: bool,
}

/// One chunk's fairness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkFairness {
    /// 0-based position (the performance chunk's).
    pub index: usize,
    /// The chunk's label.
    pub label: String,
    /// Labelled rows judged.
    pub labelled_rows: u64,
    /// Why nothing was computed (no labelled rows, a single group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// One entry per protected column (then their intersection, when asked).
    pub attributes: Vec<AttributeFairness>,
}

/// The protected columns' values of every row, read from the analysis table.
#[derive(Debug, Clone, Default)]
pub struct ProtectedValues {
    columns: Vec<(String, Vec<Option<String>>)>,
}

impl ProtectedValues {
    /// Reads `names` from `table`; an unknown column is an error naming it and the columns
    /// there are.
    pub fn read(table: &slipway_data::Table, names: &[String]) -> Result<ProtectedValues> {
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            if table.schema().field(name).is_none() {
                return Err(Error::BadInput {
                    message: format!(
                        "protected column \"{name}\" is not in the analysis data (columns: {}); \
                         log it with the predictions to monitor fairness",
                        table.schema().names().join(", ")
                    ),
                });
            }
            let values = (0..table.n_rows())
                .map(|r| table.display_value(name, r))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            columns.push((name.clone(), values));
        }
        Ok(ProtectedValues { columns })
    }
}

/// Fairness of each chunk's labelled rows. A binary classifier's outputs are needed: labels
/// and predictions of 0 / 1, and the probability when there is one (for ROC AUC and the
/// calibration figures).
pub fn by_chunk(
    outputs: &ModelOutputs,
    values: &ProtectedValues,
    chunks: &[RowChunk],
    monitor: &FairnessMonitor,
) -> Result<Vec<ChunkFairness>> {
    chunks
        .iter()
        .enumerate()
        .map(|(index, chunk)| {
            let rows: Vec<usize> = chunk
                .rows
                .iter()
                .copied()
                .filter(|&i| outputs.labels[i].is_some())
                .collect();
            let mut out = ChunkFairness {
                index,
                label: chunk.label.clone(),
                labelled_rows: rows.len() as u64,
                note: None,
                attributes: Vec::new(),
            };
            if rows.is_empty() {
                out.note = Some("no labelled rows yet".into());
                return Ok(out);
            }
            let y_true: Vec<bool> = rows
                .iter()
                .map(|&i| outputs.labels[i] == Some(1.0))
                .collect();
            let y_pred: Vec<bool> = rows.iter().map(|&i| outputs.prediction[i] == 1.0).collect();
            let scores: Option<Vec<f64>> = outputs
                .probability
                .as_ref()
                .map(|p| rows.iter().map(|&i| p[i]).collect());
            let cols: Vec<Vec<Option<String>>> = values
                .columns
                .iter()
                .map(|(_, v)| rows.iter().map(|&i| v[i].clone()).collect())
                .collect();
            let protected: Vec<Protected<'_>> = values
                .columns
                .iter()
                .zip(&cols)
                .map(|((name, _), v)| Protected { name, values: v })
                .collect();
            let report = fairness::evaluate(
                &y_true,
                &y_pred,
                scores.as_deref(),
                &protected,
                &monitor.options,
            )
            .map_err(|e| Error::BadInput {
                message: format!("chunk {}: {e}", chunk.label),
            })?;
            let mut attributes = Vec::with_capacity(report.attributes.len());
            for (k, a) in report.attributes.into_iter().enumerate() {
                let small: Vec<&str> = a
                    .groups
                    .iter()
                    .filter(|g| g.small)
                    .map(|g| g.group.as_str())
                    .collect();
                let small_groups: Vec<String> = a
                    .groups
                    .iter()
                    .filter(|g| g.small)
                    .map(|g| format!("{} ({})", g.group, g.count))
                    .collect();
                let large = a.groups.len() - small.len();
                // One group only: nothing to compare, no alarm.
                let broken = a.groups.len() > 1 && !a.passed;
                let mut checks_large_groups = Vec::new();
                let alert = if !broken {
                    false
                } else if small.is_empty() {
                    true
                } else if large < 2 {
                    false
                } else {
                    // The same bounds over the rows of the large groups only.
                    let keep: Vec<usize> = (0..rows.len())
                        .filter(|&j| {
                            let name = cols[k][j].as_deref().unwrap_or(fairness::MISSING_GROUP);
                            !small.contains(&name)
                        })
                        .collect();
                    let pick_b = |v: &[bool]| keep.iter().map(|&j| v[j]).collect::<Vec<bool>>();
                    let values: Vec<Option<String>> =
                        keep.iter().map(|&j| cols[k][j].clone()).collect();
                    let s: Option<Vec<f64>> = scores
                        .as_ref()
                        .map(|s| keep.iter().map(|&j| s[j]).collect());
                    let again = fairness::evaluate(
                        &pick_b(&y_true),
                        &pick_b(&y_pred),
                        s.as_deref(),
                        &[Protected {
                            name: &a.attribute,
                            values: &values,
                        }],
                        &FairnessOptions {
                            bootstrap: 0,
                            intersect: false,
                            ..monitor.options.clone()
                        },
                    )
                    .map_err(|e| Error::BadInput {
                        message: format!("chunk {}: {e}", chunk.label),
                    })?;
                    let judged = &again.attributes[0];
                    checks_large_groups = judged.checks.clone();
                    !judged.passed
                };
                attributes.push(AttributeFairness {
                    groups: a.groups.len(),
                    alert,
                    flagged: broken && !alert,
                    small_groups,
                    attribute: a.attribute,
                    summary: a.summary,
                    checks: a.checks,
                    checks_large_groups,
                });
            }
            out.attributes = attributes;
            Ok(out)
        })
        .collect()
}

/// Chunk × attribute pairs that alert.
pub fn alerts(chunks: &[ChunkFairness]) -> usize {
    chunks
        .iter()
        .flat_map(|c| &c.attributes)
        .filter(|a| a.alert)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(labels: &[Option<f64>], pred: &[f64]) -> ModelOutputs {
        ModelOutputs {
            labels: labels.to_vec(),
            prediction: pred.to_vec(),
            probability: None,
            expected_loss: None,
        }
    }

    #[test]
    fn chunks_alert_on_broken_bounds_flag_small_groups_and_skip_unlabelled() {
        // Chunk 0: groups a and b, 40 rows each; a selected 10 %, b 60 %: alert.
        // Chunk 1: same rates, but b has 5 rows: flagged, not alarmed on.
        // Chunk 2: no labels.
        let mut labels = Vec::new();
        let mut pred = Vec::new();
        let mut group = Vec::new();
        let mut push = |g: &str, n: usize, selected: usize, labelled: bool| {
            for i in 0..n {
                labels.push(labelled.then_some(f64::from(u8::from(i % 2 == 0))));
                pred.push(f64::from(u8::from(i < selected)));
                group.push(Some(g.to_string()));
            }
        };
        push("a", 40, 4, true);
        push("b", 40, 24, true);
        push("a", 40, 4, true);
        push("b", 5, 3, true);
        push("a", 10, 1, false);
        // Chunk 3: a and b unfair as in chunk 0, plus a tiny fair group c: still an alert.
        push("a", 40, 4, true);
        push("b", 40, 24, true);
        push("c", 3, 1, true);
        let o = outputs(&labels, &pred);
        let values = ProtectedValues {
            columns: vec![("g".into(), group)],
        };
        let chunks = vec![
            RowChunk {
                label: "c0".into(),
                rows: (0..80).collect(),
            },
            RowChunk {
                label: "c1".into(),
                rows: (80..125).collect(),
            },
            RowChunk {
                label: "c2".into(),
                rows: (125..135).collect(),
            },
            RowChunk {
                label: "c3".into(),
                rows: (135..218).collect(),
            },
        ];
        let monitor = FairnessMonitor {
            protected: vec!["g".into()],
            options: FairnessOptions {
                bootstrap: 20,
                ..FairnessOptions::default()
            },
        };
        let r = by_chunk(&o, &values, &chunks, &monitor).unwrap();
        assert_eq!(r.len(), 4);
        let a0 = &r[0].attributes[0];
        assert!(a0.alert && !a0.flagged, "{a0:?}");
        let dp = a0.summary.demographic_parity_difference.value.unwrap();
        assert!((dp - 0.5).abs() < 1e-12, "{dp}");
        let a1 = &r[1].attributes[0];
        assert!(!a1.alert && a1.flagged, "{a1:?}");
        assert_eq!(a1.small_groups, vec!["b (5)".to_string()]);
        assert_eq!(r[2].labelled_rows, 0);
        assert!(r[2].attributes.is_empty() && r[2].note.is_some());
        let a3 = &r[3].attributes[0];
        assert!(a3.alert && !a3.flagged, "{a3:?}");
        assert_eq!(a3.small_groups, vec!["c (3)".to_string()]);
        assert_eq!(a3.checks_large_groups.len(), 2);
        assert!(!a3.checks_large_groups[0].passed);
        assert!(a1.checks_large_groups.is_empty());
        assert_eq!(alerts(&r), 2);
    }
}
