//! Exact Shapley values of any pipeline over its input columns, against a background sample:
//! `shap.explainers.Exact(f, shap.maskers.Independent(background, max_samples=len(background)))`.
//!
//! The players are the pipeline's input columns (a categorical column is one player,
//! whatever its encoding). The value of a coalition `S` for a row `x` is the mean over the
//! background rows `b` of `f(x_S, b_rest)`: the model's output with the columns in `S` taken
//! from `x` and the others from `b`. All `2^M` coalitions are enumerated (at most
//! [`MAX_COLUMNS`] columns), their what-if rows scored in blocks, and
//! `φ_i = Σ_{S ∌ i} |S|! (M − |S| − 1)! / M! · (v(S ∪ {i}) − v(S))`. The base value is the
//! mean output over the background, and per row base plus contributions is the output
//! (`v(all)` is the row's own prediction).

use rayon::prelude::*;
use slipway_data::Table;
use slipway_learn::pipeline::FittedPipeline;

use crate::agnostic::{BLOCK_ROWS, ModelOutput};
use crate::{Error, Result};

/// Most input columns explained exactly (`2^12` coalitions per row).
pub const MAX_COLUMNS: usize = 12;

/// Most rows explained at once: their coalition values (`rows × 2^M × outputs`) are held.
const ROWS_AT_ONCE: usize = 64;

/// Exact Shapley values against a background sample.
#[derive(Debug, Clone)]
pub struct ExactShapley {
    columns: Vec<String>,
    background: Table,
    base: Vec<f64>,
    /// `|S|! (M − |S| − 1)! / M!` for each coalition size `|S|` below `M`.
    weights: Vec<f64>,
    /// Every coalition, the `s`-th holding column `j` when bit `j` of `s` is set.
    coalitions: Vec<Vec<bool>>,
}

impl ExactShapley {
    /// Prepares the explainer: the pipeline's input columns of `background` (every row of
    /// it) and the base values. Fails when the pipeline has more than [`MAX_COLUMNS`] input
    /// columns.
    pub fn new(p: &FittedPipeline, background: &Table) -> Result<ExactShapley> {
        let columns: Vec<String> = p.input_schema().into_iter().map(|(c, _)| c).collect();
        let m = columns.len();
        if m > MAX_COLUMNS {
            return Err(Error::Unsupported(format!(
                "exact Shapley values enumerate every coalition of input columns, at most {MAX_COLUMNS} (2^{MAX_COLUMNS} coalitions); this model has {m}. Sampled KernelSHAP takes any number (--method kernel); tree models are explained exactly by TreeSHAP and linear models by linear SHAP (leave out --method)"
            )));
        }
        if m == 0 {
            return Err(Error::Input("the model has no input columns".into()));
        }
        if background.n_rows() == 0 {
            return Err(Error::Input("the background sample has no rows".into()));
        }
        let background = select(background, &columns, "background")?;
        let base = mean_rows(
            &ModelOutput::new(p).predict(&background)?,
            background.n_rows(),
        );
        let mut fact = vec![1.0f64; m + 1];
        for i in 1..=m {
            fact[i] = fact[i - 1] * i as f64;
        }
        let weights = (0..m)
            .map(|s| fact[s] * fact[m - s - 1] / fact[m])
            .collect();
        let coalitions = (0..1usize << m)
            .map(|s| (0..m).map(|j| s >> j & 1 == 1).collect())
            .collect();
        Ok(ExactShapley {
            columns,
            background,
            base,
            weights,
            coalitions,
        })
    }

    /// The players: the pipeline's input columns.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Background rows.
    pub fn background_rows(&self) -> usize {
        self.background.n_rows()
    }

    /// Base value per output: the mean output over the background.
    pub fn base_values(&self) -> &[f64] {
        &self.base
    }

    /// Shapley values of every row of `rows`: per row, per output, one value per column
    /// (`rows × outputs × columns`, row-major).
    pub fn explain(&self, p: &FittedPipeline, rows: &Table) -> Result<Vec<f64>> {
        let x = select(rows, &self.columns, "input")?;
        same_types(&x, &self.background)?;
        let model = ModelOutput::new(p);
        let k = model.outputs().len();
        let m = self.columns.len();
        let mut out = Vec::with_capacity(x.n_rows() * k * m);
        for start in (0..x.n_rows()).step_by(ROWS_AT_ONCE) {
            let end = (start + ROWS_AT_ONCE).min(x.n_rows());
            let v = coalition_values(&model, &self.background, &x, start..end, &self.coalitions)?;
            for vr in v.chunks_exact((1 << m) * k) {
                for c in 0..k {
                    for i in 0..m {
                        out.push(self.phi(vr, k, c, i));
                    }
                }
            }
        }
        Ok(out)
    }

    /// `φ_i` of output `c` from one row's coalition values.
    fn phi(&self, v: &[f64], k: usize, c: usize, i: usize) -> f64 {
        let m = self.columns.len();
        let bit = 1usize << i;
        let mut phi = 0.0;
        for s in 0..(1usize << m) {
            if s & bit == 0 {
                let size = s.count_ones() as usize;
                phi += self.weights[size] * (v[(s | bit) * k + c] - v[s * k + c]);
            }
        }
        phi
    }
}

/// `v(S)` for rows `rows` of `x` and each coalition (`true`: the column comes from the row,
/// else from the background row), averaged over the background: per row, per coalition,
/// per output. What-if rows are built by sharing arrays (a row's column repeated, the
/// background's columns as they are) and scored [`BLOCK_ROWS`] at a time, in parallel.
pub(crate) fn coalition_values(
    model: &ModelOutput<'_>,
    background: &Table,
    x: &Table,
    rows: std::ops::Range<usize>,
    coalitions: &[Vec<bool>],
) -> Result<Vec<f64>> {
    let nb = background.n_rows();
    let k = model.outputs().len();
    let items: Vec<(usize, usize)> = rows
        .flat_map(|r| (0..coalitions.len()).map(move |s| (r, s)))
        .collect();
    let per_batch = (BLOCK_ROWS / nb).max(1);
    let bg_cols = background.record_batch().columns();
    let batches: Vec<Vec<f64>> = items
        .par_chunks(per_batch)
        .map(|batch| {
            let mut tables = Vec::with_capacity(batch.len());
            let mut repeated: Option<(usize, Table)> = None;
            for &(r, s) in batch {
                if repeated.as_ref().is_none_or(|(rr, _)| *rr != r) {
                    let t = x.take(&vec![r; nb]).map_err(slipway_learn::Error::from)?;
                    repeated = Some((r, t));
                }
                let (_, xr) = repeated.as_ref().expect("set above");
                let x_cols = xr.record_batch().columns();
                let cols = coalitions[s]
                    .iter()
                    .enumerate()
                    .map(|(j, &from_row)| {
                        if from_row {
                            x_cols[j].clone()
                        } else {
                            bg_cols[j].clone()
                        }
                    })
                    .collect();
                tables.push(
                    Table::new(background.schema().clone(), cols)
                        .map_err(slipway_learn::Error::from)?,
                );
            }
            let t = Table::concat(&tables).map_err(slipway_learn::Error::from)?;
            let pred = model.predict(&t)?;
            Ok(pred
                .chunks_exact(nb * k)
                .flat_map(|block| mean_rows(block, nb))
                .collect())
        })
        .collect::<Result<_>>()?;
    Ok(batches.concat())
}

/// Checks that the rows and the background have the same column types.
pub(crate) fn same_types(x: &Table, background: &Table) -> Result<()> {
    if x.schema() == background.schema() {
        return Ok(());
    }
    let differ = x
        .schema()
        .fields
        .iter()
        .zip(&background.schema().fields)
        .find(|(a, b)| a.dtype != b.dtype)
        .map_or_else(String::new, |(a, b)| {
            format!(
                ": column \"{}\" is {} in the rows and {} in the background",
                a.name, a.dtype, b.dtype
            )
        });
    Err(Error::Input(format!(
        "the rows and the background sample have different column types{differ}"
    )))
}

/// The named columns of `table`, in order.
pub(crate) fn select(table: &Table, columns: &[String], what: &str) -> Result<Table> {
    if let Some(c) = columns.iter().find(|c| table.schema().field(c).is_none()) {
        return Err(Error::Input(format!(
            "column \"{c}\" is missing from the {what} (the model needs {})",
            columns.join(", ")
        )));
    }
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    Ok(table.select(&names).map_err(slipway_learn::Error::from)?)
}

/// Column means of `n` rows of `k` values each (row-major).
pub(crate) fn mean_rows(values: &[f64], n: usize) -> Vec<f64> {
    let k = values.len() / n.max(1);
    let mut sums = vec![0.0; k];
    for row in values.chunks_exact(k.max(1)) {
        for (s, v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
    sums.iter().map(|s| s / n as f64).collect()
}
