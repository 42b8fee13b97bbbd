//! Reweighing (Kamiran and Calders, "Data preprocessing techniques for classification without
//! discrimination", 2012): each row of group `g` and class `y` weighs
//! `w(g, y) = P(g)·P(y) / P(g, y)`, so that in the weighted data the label is independent of
//! the group.
//!
//! The figures are AIF360's `Reweighing`: counts are sums of the rows' existing instance
//! weights (1 when there are none), `w = n_y·n_g / (n·n_gy)`, and each row's new weight is its
//! old one times `w`. AIF360 handles one privileged and one unprivileged group; a column with
//! more groups gets the same formula per group (each group's weights are what AIF360 gives
//! with that group as the privileged one), and labels may have more than two classes.

use serde::{Deserialize, Serialize};

use super::{Error, GroupCodes, Result};

/// The fitted weights of every (group, class) cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reweighing {
    /// The protected column.
    pub column: String,
    /// Group names (the rows of `weights`).
    pub groups: Vec<String>,
    /// Class labels (the columns of `weights`).
    pub classes: Vec<String>,
    /// `weights[g][y]`: the factor of rows in group `g` with class `y`; `None` for a cell
    /// with no rows (no row takes it).
    pub weights: Vec<Vec<Option<f64>>>,
    /// Weighted row count of each cell.
    pub counts: Vec<Vec<f64>>,
    /// What the user should know: groups lacking a class, whose rates reweighing cannot
    /// move.
    pub notes: Vec<String>,
}

impl Reweighing {
    /// Fits the cell weights on `groups` and `labels` (class codes into `classes`), counting
    /// each row with its `base` weight when given (e.g. class weights).
    pub fn fit(
        column: &str,
        groups: &GroupCodes,
        labels: &[u32],
        classes: &[String],
        base: Option<&[f64]>,
    ) -> Result<Reweighing> {
        let n_rows = labels.len();
        if groups.codes.len() != n_rows {
            return Err(Error(format!(
                "reweighing by \"{column}\": {} group values for {n_rows} labels",
                groups.codes.len()
            )));
        }
        if let Some(b) = base {
            if b.len() != n_rows {
                return Err(Error(format!(
                    "reweighing by \"{column}\": {} base weights for {n_rows} labels",
                    b.len()
                )));
            }
            if let Some(i) = b.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
                return Err(Error(format!(
                    "reweighing by \"{column}\": base weight of row {i} is {}; weights must be finite and >= 0",
                    b[i]
                )));
            }
        }
        if n_rows == 0 {
            return Err(Error(format!("reweighing by \"{column}\": no rows")));
        }
        let (ng, nc) = (groups.names.len(), classes.len());
        let mut counts = vec![vec![0.0f64; nc]; ng];
        for (i, (&g, &y)) in groups.codes.iter().zip(labels).enumerate() {
            let cell = counts
                .get_mut(g as usize)
                .and_then(|row| row.get_mut(y as usize))
                .ok_or_else(|| {
                    Error(format!(
                        "reweighing by \"{column}\": row {i} has group code {g} / class code {y} out of range"
                    ))
                })?;
            *cell += base.map_or(1.0, |b| b[i]);
        }
        let n_g: Vec<f64> = counts.iter().map(|row| row.iter().sum()).collect();
        let n_y: Vec<f64> = (0..nc).map(|y| counts.iter().map(|r| r[y]).sum()).collect();
        let n: f64 = n_g.iter().sum();
        if n <= 0.0 {
            return Err(Error(format!(
                "reweighing by \"{column}\": every row weighs 0"
            )));
        }
        let mut notes = Vec::new();
        let weights = counts
            .iter()
            .enumerate()
            .map(|(g, row)| {
                let missing: Vec<&str> = (0..nc)
                    .filter(|&y| row[y] == 0.0 && n_y[y] > 0.0 && n_g[g] > 0.0)
                    .map(|y| classes[y].as_str())
                    .collect();
                if !missing.is_empty() {
                    notes.push(format!(
                        "group \"{}\" of \"{column}\" has no training rows of class {}: reweighing cannot change its rate of {}; its other rows weigh P(class) (their group's share cancels)",
                        groups.names[g],
                        missing.join(", "),
                        if missing.len() == 1 { "that class" } else { "those classes" },
                    ));
                }
                row.iter()
                    .enumerate()
                    .map(|(y, &n_gy)| (n_gy > 0.0).then(|| n_y[y] * n_g[g] / (n * n_gy)))
                    .collect()
            })
            .collect();
        Ok(Reweighing {
            column: column.to_string(),
            groups: groups.names.clone(),
            classes: classes.to_vec(),
            weights,
            counts,
            notes,
        })
    }

    /// Each row's weight: its `base` weight (1 without) times its cell's factor.
    pub fn row_weights(
        &self,
        groups: &GroupCodes,
        labels: &[u32],
        base: Option<&[f64]>,
    ) -> Result<Vec<f64>> {
        groups
            .codes
            .iter()
            .zip(labels)
            .enumerate()
            .map(|(i, (&g, &y))| {
                let w = self
                    .weights
                    .get(g as usize)
                    .and_then(|row| row.get(y as usize))
                    .copied()
                    .flatten()
                    .ok_or_else(|| {
                        Error(format!(
                            "reweighing by \"{}\": row {i} falls in a cell (group code {g}, class code {y}) the weights were not fitted on",
                            self.column
                        ))
                    })?;
                Ok(base.map_or(1.0, |b| b[i]) * w)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(v: &[&str]) -> GroupCodes {
        GroupCodes::from_values(&v.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>())
    }

    #[test]
    fn weighted_data_makes_label_independent_of_group() {
        let g = codes(&["a", "a", "a", "b", "b", "b", "b", "b"]);
        let y = [1, 0, 0, 1, 1, 1, 0, 1];
        let classes = vec!["0".to_string(), "1".to_string()];
        let r = Reweighing::fit("s", &g, &y, &classes, None).unwrap();
        let w = r.row_weights(&g, &y, None).unwrap();
        // Weighted positive rate is the same in both groups (the overall rate 5/8).
        for grp in 0..2u32 {
            let (mut pos, mut all) = (0.0, 0.0);
            for i in 0..8 {
                if g.codes[i] == grp {
                    all += w[i];
                    if y[i] == 1 {
                        pos += w[i];
                    }
                }
            }
            assert!(
                (pos / all - 5.0 / 8.0).abs() < 1e-15,
                "{grp}: {}",
                pos / all
            );
        }
        // Total weight is preserved.
        assert!((w.iter().sum::<f64>() - 8.0).abs() < 1e-12);
    }

    #[test]
    fn a_group_without_positives_is_named() {
        let g = codes(&["a", "a", "b", "b"]);
        let y = [0, 0, 1, 0];
        let classes = vec!["0".to_string(), "1".to_string()];
        let r = Reweighing::fit("sex", &g, &y, &classes, None).unwrap();
        assert_eq!(r.weights[0][1], None);
        assert_eq!(r.notes.len(), 1);
        assert!(
            r.notes[0].contains("\"a\"") && r.notes[0].contains("class 1"),
            "{:?}",
            r.notes
        );
        // Its negatives weigh P(y = 0) = 3/4.
        assert!((r.weights[0][0].unwrap() - 0.75).abs() < 1e-15);
        let e = Reweighing::fit("sex", &g, &y[..3], &classes, None).unwrap_err();
        assert!(e.0.contains("3 labels"), "{e}");
        let e = Reweighing::fit("sex", &g, &y, &classes, Some(&[1.0, -1.0, 1.0, 1.0])).unwrap_err();
        assert!(e.0.contains("row 1"), "{e}");
    }
}
