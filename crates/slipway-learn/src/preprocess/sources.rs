//! Which input column each output feature comes from.

use super::{FittedPreprocessor, FittedStep};

impl FittedPreprocessor {
    /// For each output feature (the columns of [`FittedPreprocessor::transform`]'s matrix, in
    /// order), the input columns it is made from (indices into
    /// [`FittedPreprocessor::columns`]): one column for a number, a category (each one-hot
    /// indicator), a datetime part or a text's length, word count and TF-IDF terms; the
    /// distinct columns of a product for polynomial features (a constant bias column has
    /// none).
    pub fn feature_sources(&self) -> Vec<Vec<usize>> {
        let mut out = Vec::new();
        for (i, c) in self.columns.iter().enumerate() {
            let one = FittedPreprocessor {
                columns: vec![c.clone()],
                skipped: Vec::new(),
                knn: None,
                steps: Vec::new(),
            };
            out.extend(std::iter::repeat_n(vec![i], one.column_features().len()));
        }
        for s in &self.steps {
            out = match s {
                FittedStep::Select { keep, .. } => keep.iter().map(|&j| out[j].clone()).collect(),
                FittedStep::Polynomial { terms } => terms
                    .iter()
                    .map(|t| {
                        let mut cols: Vec<usize> = t
                            .iter()
                            .flat_map(|&(j, _)| out[j].iter().copied())
                            .collect();
                        cols.sort_unstable();
                        cols.dedup();
                        cols
                    })
                    .collect(),
            };
        }
        out
    }
}
