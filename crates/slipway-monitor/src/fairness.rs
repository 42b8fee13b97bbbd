//! Fairness over time: the fairness metrics of `slipway_govern::fairness` (Fairlearn's
//! definitions) on each chunk's labelled rows, with the same bounds as `slipway fairness` and
//! the promotion gate. A chunk whose bound is broken alerts, unless one of the groups it
//! compares is too small to judge: small samples are flagged, not alarmed on.

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
    /// The bounds checked.
    pub checks: Vec<Check>,
    /// A bound is broken and no group is too small to judge.
    pub alert: bool,
    /// A bound is broken but some group is too small: flagged, not alarmed on.
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
            out.attributes = report
                .attributes
                .into_iter()
                .map(|a| {
                    let small_groups: Vec<String> = a
                        .groups
                        .iter()
                        .filter(|g| g.small)
                        .map(|g| format!("{} ({})", g.group, g.count))
                        .collect();
                    // One group only: nothing to compare, no alarm.
                    let comparable = a.groups.len() > 1;
                    let broken = comparable && !a.passed;
                    AttributeFairness {
                        groups: a.groups.len(),
                        alert: broken && small_groups.is_empty(),
                        flagged: broken && !small_groups.is_empty(),
                        small_groups,
                        attribute: a.attribute,
                        summary: a.summary,
                        checks: a.checks,
                    }
                })
                .collect();
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
        ];
        let monitor = FairnessMonitor {
            protected: vec!["g".into()],
            options: FairnessOptions {
                bootstrap: 20,
                ..FairnessOptions::default()
            },
        };
        let r = by_chunk(&o, &values, &chunks, &monitor).unwrap();
        assert_eq!(r.len(), 3);
        let a0 = &r[0].attributes[0];
        assert!(a0.alert && !a0.flagged, "{a0:?}");
        let dp = a0.summary.demographic_parity_difference.value.unwrap();
        assert!((dp - 0.5).abs() < 1e-12, "{dp}");
        let a1 = &r[1].attributes[0];
        assert!(!a1.alert && a1.flagged, "{a1:?}");
        assert_eq!(a1.small_groups, vec!["b (5)".to_string()]);
        assert_eq!(r[2].labelled_rows, 0);
        assert!(r[2].attributes.is_empty() && r[2].note.is_some());
        assert_eq!(alerts(&r), 1);
    }
}
