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
                "exact Shapley values enumerate every coalition of input columns, at most {MAX_COLUMNS} (2^{MAX_COLUMNS} coalitions); this model has {m}. Tree models are explained exactly by TreeSHAP and linear models by linear SHAP (leave out --method exact)"
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
        Ok(ExactShapley {
            columns,
            background,
            base,
            weights,
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
        if x.schema() != self.background.schema() {
            let differ = x
                .schema()
                .fields
                .iter()
                .zip(&self.background.schema().fields)
                .find(|(a, b)| a.dtype != b.dtype)
                .map_or_else(String::new, |(a, b)| {
                    format!(
                        ": column \"{}\" is {} in the rows and {} in the background",
                        a.name, a.dtype, b.dtype
                    )
                });
            return Err(Error::Input(format!(
                "the rows and the background sample have different column types{differ}"
            )));
        }
        let model = ModelOutput::new(p);
        let k = model.outputs().len();
        let m = self.columns.len();
        let mut out = Vec::with_capacity(x.n_rows() * k * m);
        for start in (0..x.n_rows()).step_by(ROWS_AT_ONCE) {
            let end = (start + ROWS_AT_ONCE).min(x.n_rows());
            let v = self.coalition_values(&model, &x, start, end)?;
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

    /// `v(S)` of rows `start..end` of `x`: per row, per coalition (bit `j` set: column `j`
    /// from the row), per output.
    fn coalition_values(
        &self,
        model: &ModelOutput<'_>,
        x: &Table,
        start: usize,
        end: usize,
    ) -> Result<Vec<f64>> {
        let m = self.columns.len();
        let nb = self.background.n_rows();
        let k = model.outputs().len();
        let coalitions = 1usize << m;
        let items: Vec<(usize, usize)> = (start..end)
            .flat_map(|r| (0..coalitions).map(move |s| (r, s)))
            .collect();
        let per_batch = (BLOCK_ROWS / nb).max(1);
        let bg_cols = self.background.record_batch().columns();
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
                    let cols = (0..m)
                        .map(|j| {
                            if s >> j & 1 == 1 {
                                x_cols[j].clone()
                            } else {
                                bg_cols[j].clone()
                            }
                        })
                        .collect();
                    tables.push(
                        Table::new(self.background.schema().clone(), cols)
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

/// The named columns of `table`, in order.
fn select(table: &Table, columns: &[String], what: &str) -> Result<Table> {
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
fn mean_rows(values: &[f64], n: usize) -> Vec<f64> {
    let k = values.len() / n.max(1);
    let mut sums = vec![0.0; k];
    for row in values.chunks_exact(k.max(1)) {
        for (s, v) in sums.iter_mut().zip(row) {
            *s += v;
        }
    }
    sums.iter().map(|s| s / n as f64).collect()
}
