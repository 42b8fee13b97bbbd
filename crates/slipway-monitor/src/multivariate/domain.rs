//! The domain classifier, as NannyML 0.13.1's `DomainClassifierCalculator`: Slipway's GBDT
//! (LightGBM's default hyperparameters, as NannyML's `LGBMClassifier`) learns to tell the
//! reference (class 0) from a chunk (class 1).
//!
//! - A current chunk: the reference's rows then the chunk's.
//! - A reference chunk: the reference's rows, the chunk's marked 1 (the chunk against the
//!   rest of the reference, so it is never part of its own baseline).
//!
//! Categories are coded by their sorted values over those rows (scikit-learn's
//! `OrdinalEncoder`, fitted on them) and split as categories; the categorical columns come
//! first, then the numeric ones, each sorted by name (NannyML's order). Folds are
//! scikit-learn's `StratifiedKFold(n_splits=5)` without shuffling, ported exactly; the value
//! is the ROC AUC of the out-of-fold probabilities (0.5 when a chunk has one class only).
//! The GBDT is not LightGBM, so values differ from NannyML's a little: within 0.01 on
//! employment_ma (`tests/multivariate_reference.rs`).

use slipway_data::Table;
use slipway_learn::gbdt::GbdtParams;
use slipway_learn::{
    Estimator, FeatureKind, FeatureMeta, Matrix, Params, Prediction, Predictor, Target, TrainData,
};

use super::{ChunkRows, MultivariateChunk, MultivariateOptions};
use crate::summary::{ColumnKind, category_values, column_kind};
use crate::{Error, Result};

/// The domain classifier over a reference.
pub struct DomainClassifier<'a> {
    reference: &'a Table,
    /// (name, categorical?) in NannyML's order.
    columns: Vec<(String, bool)>,
    folds: usize,
    min_rows: u64,
}

fn internal(e: slipway_learn::Error) -> Error {
    Error::Bundle(e)
}

impl<'a> DomainClassifier<'a> {
    /// Prepares the classifier over `columns` of `reference` (`categorical`: numeric
    /// columns to treat as categories).
    pub fn new(
        reference: &'a Table,
        columns: &[String],
        categorical: &[String],
        options: &MultivariateOptions,
    ) -> Result<DomainClassifier<'a>> {
        if options.cv_folds < 2 {
            return Err(Error::BadInput {
                message: format!(
                    "the domain classifier needs at least 2 cross-validation folds, not {}",
                    options.cv_folds
                ),
            });
        }
        let mut cats = Vec::new();
        let mut nums = Vec::new();
        for name in columns {
            let dtype = reference.schema().require(name)?.dtype;
            match column_kind(dtype, categorical.contains(name)) {
                ColumnKind::Categorical => cats.push(name.clone()),
                ColumnKind::Numeric => nums.push(name.clone()),
            }
        }
        cats.sort();
        nums.sort();
        let columns = cats
            .into_iter()
            .map(|c| (c, true))
            .chain(nums.into_iter().map(|c| (c, false)))
            .collect();
        Ok(DomainClassifier {
            reference,
            columns,
            folds: options.cv_folds,
            min_rows: options.min_rows,
        })
    }

    /// A reference chunk against the rest of the reference.
    pub fn reference_chunk(&self, index: usize, chunk: &ChunkRows) -> Result<MultivariateChunk> {
        let (x, features) = self.matrix(&[(self.reference, None)])?;
        let mut y = vec![0u32; self.reference.n_rows()];
        for &r in &chunk.rows {
            y[r] = 1;
        }
        self.finish(index, chunk, &x, &features, &y)
    }

    /// A chunk of `current` against the whole reference.
    pub fn current_chunk(
        &self,
        current: &Table,
        index: usize,
        chunk: &ChunkRows,
    ) -> Result<MultivariateChunk> {
        let (x, features) = self.matrix(&[(self.reference, None), (current, Some(&chunk.rows))])?;
        let n_ref = self.reference.n_rows();
        let y: Vec<u32> = (0..n_ref + chunk.rows.len())
            .map(|i| u32::from(i >= n_ref))
            .collect();
        self.finish(index, chunk, &x, &features, &y)
    }

    fn finish(
        &self,
        index: usize,
        chunk: &ChunkRows,
        x: &Matrix,
        features: &[FeatureMeta],
        y: &[u32],
    ) -> Result<MultivariateChunk> {
        let n = chunk.rows.len();
        let mut out = MultivariateChunk {
            index,
            label: chunk.label.clone(),
            rows: n as u64,
            value: None,
            sampling_error: None,
            confidence: None,
            small_sample: (n as u64) < self.min_rows,
            alert: false,
            reason: None,
        };
        let others = y.len() - n;
        if n < self.folds || others < self.folds {
            out.reason = Some(format!(
                "{}-fold cross-validation needs at least {} rows on each side (chunk {n}, reference {others})",
                self.folds, self.folds
            ));
            return Ok(out);
        }
        out.value = Some(cross_validated_auc(x, features, y, self.folds)?);
        Ok(out)
    }

    /// The coded feature matrix of the rows of `parts` (all rows, or the given ones).
    fn matrix(
        &self,
        parts: &[(&Table, Option<&Vec<usize>>)],
    ) -> Result<(Matrix, Vec<FeatureMeta>)> {
        let mut cols = Vec::with_capacity(self.columns.len());
        let mut metas = Vec::with_capacity(self.columns.len());
        for (name, categorical) in &self.columns {
            if *categorical {
                let mut values: Vec<Option<String>> = Vec::new();
                for (t, rows) in parts {
                    let v = category_values(t, name)?;
                    match rows {
                        None => values.extend(v),
                        Some(rows) => values.extend(rows.iter().map(|&r| v[r].clone())),
                    }
                }
                let mut levels: Vec<&str> = values.iter().flatten().map(String::as_str).collect();
                levels.sort_unstable();
                levels.dedup();
                let col = values
                    .iter()
                    .map(|v| {
                        v.as_deref()
                            .and_then(|s| levels.binary_search(&s).ok())
                            .map_or(f64::NAN, |i| i as f64)
                    })
                    .collect();
                metas.push(FeatureMeta {
                    name: name.clone(),
                    kind: FeatureKind::Categorical {
                        n_categories: levels.len().max(1),
                    },
                });
                cols.push(col);
            } else {
                let mut col = Vec::new();
                for (t, rows) in parts {
                    let dtype = t.schema().require(name)?.dtype;
                    if column_kind(dtype, false) != ColumnKind::Numeric {
                        return Err(Error::BadInput {
                            message: format!(
                                "column \"{name}\" is numeric in the reference but {dtype} in the current data"
                            ),
                        });
                    }
                    let v = t.numeric_values(name)?;
                    match rows {
                        None => col.extend(v),
                        Some(rows) => col.extend(rows.iter().map(|&r| v[r])),
                    }
                }
                metas.push(FeatureMeta::numeric(name));
                cols.push(col);
            }
        }
        Ok((Matrix::from_columns(cols).map_err(internal)?, metas))
    }
}

/// scikit-learn's `StratifiedKFold(n_splits).split(X, y)` without shuffling: the test fold
/// of every row.
pub fn stratified_folds(y: &[u32], n_splits: usize) -> Vec<usize> {
    // Classes numbered by first appearance.
    let mut first: Vec<u32> = Vec::new();
    let enc: Vec<usize> = y
        .iter()
        .map(|c| match first.iter().position(|f| f == c) {
            Some(i) => i,
            None => {
                first.push(*c);
                first.len() - 1
            }
        })
        .collect();
    let k = first.len();
    let mut sorted = enc.clone();
    sorted.sort_unstable();
    // allocation[i][c]: rows of class c in sorted[i::n_splits].
    let mut allocation = vec![vec![0usize; k]; n_splits];
    for (pos, c) in sorted.iter().enumerate() {
        allocation[pos % n_splits][*c] += 1;
    }
    let mut next = vec![(0usize, 0usize); k]; // (fold, used in it) per class
    enc.iter()
        .map(|&c| {
            let (fold, used) = &mut next[c];
            while *used >= allocation[*fold][c] {
                *fold += 1;
                *used = 0;
            }
            *used += 1;
            *fold
        })
        .collect()
}

/// The ROC AUC of the GBDT's out-of-fold probabilities of class 1.
pub fn cross_validated_auc(
    x: &Matrix,
    features: &[FeatureMeta],
    y: &[u32],
    folds: usize,
) -> Result<f64> {
    let fold_of = stratified_folds(y, folds);
    let gbdt = GbdtParams {
        seed: 13,
        ..GbdtParams::default()
    }
    .check()
    .map_err(internal)?;
    let mut scores = Vec::with_capacity(y.len());
    let mut truth = Vec::with_capacity(y.len());
    for f in 0..folds {
        let train: Vec<usize> = (0..y.len()).filter(|&i| fold_of[i] != f).collect();
        let test: Vec<usize> = (0..y.len()).filter(|&i| fold_of[i] == f).collect();
        let labels: Vec<u32> = train.iter().map(|&i| y[i]).collect();
        let target = Target::Classes {
            labels,
            n_classes: 2,
        };
        let model = gbdt
            .fit(
                &TrainData {
                    x: &x.take_rows(&train),
                    y: &target,
                    features,
                    weights: None,
                },
                None,
            )
            .map_err(internal)?;
        match model.predict(&x.take_rows(&test)).map_err(internal)? {
            Prediction::Probabilities(p) => scores.extend_from_slice(p.col(1)),
            Prediction::Values(_) => {
                return Err(Error::Internal("a classifier gave values".into()));
            }
        }
        truth.extend(test.iter().map(|&i| y[i]));
    }
    if truth.iter().all(|t| *t == truth[0]) {
        return Ok(0.5);
    }
    slipway_learn::metrics::roc_auc(&truth, &scores, None).map_err(internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_equal_scikit_learn() {
        // StratifiedKFold(3).split(X, [0]*7 + [1]*4) test folds, from scikit-learn 1.9.
        let y: Vec<u32> = [0; 7].into_iter().chain([1; 4]).collect();
        assert_eq!(
            stratified_folds(&y, 3),
            vec![0, 0, 0, 1, 1, 2, 2, 0, 1, 1, 2]
        );
        // StratifiedKFold(2) on [1,0,0,1,0,0,0,1,0,0,0,0,1]: class 1 appears first.
        let y = [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1];
        assert_eq!(
            stratified_folds(&y, 2),
            vec![0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
        );
    }
}
