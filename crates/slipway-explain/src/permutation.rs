//! Permutation importance: scikit-learn's `permutation_importance` for any metric Slipway
//! scores.
//!
//! An input column's importance in one repeat is the baseline score minus the score with
//! that column's values shuffled across rows, for metrics where larger is better; for losses
//! and errors (log loss, RMSE, ...) it is the permuted loss minus the baseline, which is
//! scikit-learn's value for the negated scorer (`neg_log_loss`, ...). As in scikit-learn the
//! shuffles of successive repeats compound (repeat r shuffles the column of repeat r − 1),
//! and every column sees the same sequence of shuffles. Columns × repeats are scored in
//! parallel; each score predicts the table a block at a time.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use slipway_data::Table;
use slipway_learn::Target;
use slipway_learn::metrics::Metric;
use slipway_learn::pipeline::FittedPipeline;

use crate::agnostic::{self, ModelOutput};
use crate::{Error, Result};

/// How permutation importance is computed.
#[derive(Debug, Clone, PartialEq)]
pub struct PermutationOptions {
    /// The score compared.
    pub metric: Metric,
    /// Shuffles per column (at least 1).
    pub repeats: usize,
    /// Seed of the shuffles: the same seed gives the same importances.
    pub seed: u64,
    /// The input columns to permute (all of the model's when empty).
    pub columns: Vec<String>,
}

/// One column's importance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnImportance {
    /// The input column.
    pub column: String,
    /// Mean over repeats.
    pub mean: f64,
    /// Standard deviation over repeats (population, as numpy's `std`).
    pub std: f64,
    /// Each repeat's importance.
    pub importances: Vec<f64>,
}

/// Permutation importance of a model's input columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermutationImportance {
    /// The metric.
    pub metric: Metric,
    /// Its value on the rows as they are.
    pub baseline: f64,
    /// Repeats per column.
    pub repeats: usize,
    /// The seed.
    pub seed: u64,
    /// Rows scored.
    pub rows: usize,
    /// Columns by decreasing mean importance.
    pub columns: Vec<ColumnImportance>,
}

/// Permutation importance of `p`'s input columns on `table` against labels `y`.
pub fn permutation_importance(
    p: &FittedPipeline,
    table: &Table,
    y: &Target,
    opts: &PermutationOptions,
) -> Result<PermutationImportance> {
    if opts.repeats == 0 {
        return Err(Error::Input("repeats must be at least 1".into()));
    }
    let n = table.n_rows();
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut idx: Vec<usize> = (0..n).collect();
    let perms: Vec<Vec<usize>> = (0..opts.repeats)
        .map(|_| {
            idx.shuffle(&mut rng);
            idx.clone()
        })
        .collect();
    let mut out = permutation_importance_with(p, table, y, opts.metric, &opts.columns, &perms)?;
    out.seed = opts.seed;
    Ok(out)
}

/// [`permutation_importance`] with given shuffles: `perms[r]` reorders the column of repeat
/// `r − 1` (the original column for `r = 0`), as scikit-learn applies its shuffled indices.
/// For tests against scikit-learn's own draws; the seed reported is 0.
pub fn permutation_importance_with(
    p: &FittedPipeline,
    table: &Table,
    y: &Target,
    metric: Metric,
    columns: &[String],
    perms: &[Vec<usize>],
) -> Result<PermutationImportance> {
    let n = table.n_rows();
    if n == 0 {
        return Err(Error::Input("the input has no rows".into()));
    }
    if y.len() != n {
        return Err(Error::Input(format!("{} labels for {n} rows", y.len())));
    }
    if !metric.applies_to(y.task()) {
        return Err(Error::Input(format!(
            "metric {metric} does not apply to this model's task ({})",
            if y.task().is_classification() {
                "classification"
            } else {
                "regression"
            }
        )));
    }
    if let Some((r, bad)) = perms
        .iter()
        .enumerate()
        .find(|(_, q)| !is_permutation(q, n))
    {
        return Err(Error::Input(format!(
            "shuffle {r} is not a permutation of {n} rows ({} indices)",
            bad.len()
        )));
    }
    let columns: Vec<String> = if columns.is_empty() {
        p.input_schema().into_iter().map(|(c, _)| c).collect()
    } else {
        columns.to_vec()
    };
    for c in &columns {
        agnostic::require_input(p, table, c)?;
    }
    let model = ModelOutput::new(p);
    let score = |t: &Table| -> Result<f64> {
        let s = metric.score(y, &model.prediction(t)?)?;
        Ok(s)
    };
    let baseline = score(table).map_err(|e| match e {
        Error::Learn(slipway_learn::Error::InvalidData(m)) => Error::Input(format!(
            "metric {metric} cannot be computed on these {n} labelled rows: {m}"
        )),
        e => e,
    })?;
    let sign = if metric.greater_is_better() {
        1.0
    } else {
        -1.0
    };
    let one = |c: &String| -> Result<ColumnImportance> {
        let single = table
            .select(&[c.as_str()])
            .map_err(slipway_learn::Error::from)?;
        let mut current = single;
        let mut importances = Vec::with_capacity(perms.len());
        for q in perms {
            current = current.take(q).map_err(slipway_learn::Error::from)?;
            let array = current
                .column(c)
                .map_err(slipway_learn::Error::from)?
                .clone();
            let t = agnostic::replace(table, &[(c.as_str(), array, None)])?;
            importances.push(sign * (baseline - score(&t)?));
        }
        let (mean, std) = mean_std(&importances);
        Ok(ColumnImportance {
            column: c.clone(),
            mean,
            std,
            importances,
        })
    };
    let mut out: Vec<ColumnImportance> = columns.par_iter().map(one).collect::<Result<_>>()?;
    out.sort_by(|a, b| b.mean.total_cmp(&a.mean).then(a.column.cmp(&b.column)));
    Ok(PermutationImportance {
        metric,
        baseline,
        repeats: perms.len(),
        seed: 0,
        rows: n,
        columns: out,
    })
}

fn is_permutation(q: &[usize], n: usize) -> bool {
    if q.len() != n {
        return false;
    }
    let mut seen = vec![false; n];
    q.iter()
        .all(|&i| i < n && !std::mem::replace(&mut seen[i], true))
}

/// numpy's `mean` and `std` (population) of a few values.
fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}
