//! LIME for tabular data: the `lime` package's `LimeTabularExplainer` with its defaults, on
//! a pipeline's raw input columns, for every model family.
//!
//! - Training statistics (`QuartileDiscretizer`): each numeric column is cut at the
//!   distinct quartiles of its training values (`np.percentile(x, [25, 50, 75])`, linear
//!   interpolation; a value's bin is `searchsorted(quartiles, x)`, so `x ≤ q₁` is bin 0); per
//!   bin the mean, standard deviation (`+1e-11`), lower and upper bound; per column the
//!   frequency of each bin (numeric columns) or value (every other column: categories, text,
//!   booleans, datetimes) in the training data.
//! - The neighbourhood of a row: sample 0 is the row itself; every other sample draws each
//!   column's bin (or value) from the training frequencies, independently; its binary
//!   representation is 1 where the draw equals the row's bin (value), and the sample given to
//!   the model takes, for a numeric column, a value from the normal distribution of the
//!   bin's mean and deviation truncated to the bin's bounds (scipy's `truncnorm`), and for the
//!   other columns the drawn value.
//! - Weights: the euclidean distance of each binary sample to the row's (all ones), kernel
//!   `sqrt(exp(−d² / w²))` with `w = 0.75 √columns`.
//! - Feature selection `auto`: at most 6 features by forward selection (weighted least
//!   squares, `Ridge(alpha=0)`, adding the column that most raises the weighted R²), more by
//!   the largest |coefficients| of a weighted `Ridge(alpha=0.01)` on every column; then a
//!   weighted `Ridge(alpha=1)` on the selected columns gives the coefficients and intercept,
//!   its weighted R² on the neighbourhood is the local fidelity `score`, and its prediction
//!   for the row `local_pred` (`LimeBase.explain_instance_with_data`).
//!
//! Where Slipway differs from the package, on input the package cannot take: a missing
//! numeric value is a bin of its own (drawn with its training frequency, given to the model
//! as missing), and a bin whose bounds are equal (all its training values the same) gives
//! that value (the package gives its z-score, 0, there). The package's random stream cannot
//! be reproduced; Slipway's is ChaCha8 from the seed and the row's index in the input, so a
//! row's explanation does not depend on the rows explained with it. The neighbourhoods of
//! a block of rows are scored in one call of the model.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use slipway_data::special::{norm_cdf, norm_ppf};
use slipway_data::{DataType, Table};
use slipway_learn::pipeline::FittedPipeline;

use crate::agnostic::{BLOCK_ROWS, ModelOutput};
use crate::shapley::select;
use crate::{Error, Result};

/// Options of [`LimeTabular`] (the package's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LimeOptions {
    /// Samples per neighbourhood, the row itself included (`num_samples`).
    pub num_samples: usize,
    /// Columns in each explanation (`num_features`).
    pub num_features: usize,
    /// The random stream's seed.
    pub seed: u64,
}

impl Default for LimeOptions {
    fn default() -> Self {
        LimeOptions {
            num_samples: 5000,
            num_features: 10,
            seed: 0,
        }
    }
}

/// A numeric column's quartile bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericStats {
    /// The distinct quartiles of the training values (missing ones left out).
    pub quartiles: Vec<f64>,
    /// Per bin (`quartiles.len() + 1`): the mean of its training values (0 when empty).
    pub means: Vec<f64>,
    /// Per bin: their standard deviation plus 1e-11.
    pub stds: Vec<f64>,
    /// Per bin: its lower bound (the column's minimum, then the quartiles).
    pub mins: Vec<f64>,
    /// Per bin: its upper bound (the quartiles, then the column's maximum).
    pub maxs: Vec<f64>,
}

/// One input column's training statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnStats {
    /// Cut into quartile bins.
    Numeric {
        /// The bins.
        bins: NumericStats,
        /// The bins the training data has (bin `quartiles.len() + 1` is "missing"), sorted.
        values: Vec<usize>,
        /// Their frequencies in the training data.
        frequencies: Vec<f64>,
    },
    /// Taken as categories.
    Categorical {
        /// The distinct training values as text (`None`: missing), sorted.
        values: Vec<Option<String>>,
        /// Their frequencies in the training data.
        frequencies: Vec<f64>,
    },
}

/// One column's sampler.
#[derive(Debug, Clone)]
struct Column {
    name: String,
    stats: ColumnStats,
    /// Cumulative frequencies.
    cdf: Vec<f64>,
    /// Categorical columns: one row per distinct value (a one-column table), in `values`'
    /// order.
    distinct: Option<Table>,
}

/// A row's neighbourhood: the binary samples, the model's outputs for them, their distances.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbourhood {
    /// Samples (the row first).
    pub n_samples: usize,
    /// Columns.
    pub n_columns: usize,
    /// Outputs per sample.
    pub n_outputs: usize,
    /// `n_samples × n_columns`, row-major: 1 where the sample has the row's bin or value.
    pub binary: Vec<u8>,
    /// `n_samples × n_outputs`, row-major: the model's outputs.
    pub labels: Vec<f64>,
    /// Euclidean distance of each binary sample to the row's.
    pub distances: Vec<f64>,
    /// Per column, the row's bin (numeric) or value index (categorical) in the stats.
    pub row_bins: Vec<usize>,
}

/// The local surrogate of one row and output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimeFit {
    /// The surrogate's intercept.
    pub intercept: f64,
    /// (column, coefficient) of the selected columns, by decreasing |coefficient|.
    pub coefficients: Vec<(usize, f64)>,
    /// Weighted R² of the surrogate on the neighbourhood (local fidelity).
    pub score: f64,
    /// The surrogate's prediction for the row.
    pub local_pred: f64,
}

/// LIME explanations of a block of rows.
#[derive(Debug, Clone, PartialEq)]
pub struct LimeExplanation {
    /// Rows explained.
    pub n_rows: usize,
    /// Outputs per row.
    pub n_outputs: usize,
    /// Per row, per output.
    pub fits: Vec<LimeFit>,
    /// Per row, the model's outputs for it.
    pub predictions: Vec<f64>,
    /// Per row, per column: the condition the row meets (`age <= 37.00`,
    /// `28.00 < age <= 37.00`, `sex=Male`), as the package names its features.
    pub conditions: Vec<Vec<String>>,
}

/// A LIME explainer for one pipeline and its training data's statistics.
#[derive(Debug, Clone)]
pub struct LimeTabular {
    columns: Vec<Column>,
    outputs: Vec<String>,
    kernel_width: f64,
    opts: LimeOptions,
}

impl LimeTabular {
    /// Computes the statistics of the pipeline's input columns in `training`.
    pub fn new(p: &FittedPipeline, training: &Table, opts: LimeOptions) -> Result<LimeTabular> {
        if opts.num_samples < 2 {
            return Err(Error::Input(format!(
                "LIME needs at least 2 samples per neighbourhood (the row and one more), {} asked",
                opts.num_samples
            )));
        }
        if opts.num_features == 0 {
            return Err(Error::Input(
                "LIME explains with at least 1 column (num_features 0 asked)".into(),
            ));
        }
        if training.n_rows() == 0 {
            return Err(Error::Input("the training sample has no rows".into()));
        }
        let names: Vec<String> = p.input_schema().into_iter().map(|(c, _)| c).collect();
        let training = select(training, &names, "training sample")?;
        let mut columns = Vec::with_capacity(names.len());
        for name in &names {
            let dtype = training
                .schema()
                .field(name)
                .map(|f| f.dtype)
                .ok_or_else(|| Error::Internal(format!("column {name} vanished")))?;
            let (stats, distinct) = match dtype {
                DataType::Integer | DataType::Float => {
                    let v = training.numeric_values(name).map_err(learn)?;
                    (numeric_stats(name, &v)?, None)
                }
                _ => {
                    let (stats, rows) = categorical_stats(&training, name)?;
                    let one = training
                        .select(&[name.as_str()])
                        .and_then(|t| t.take(&rows))
                        .map_err(learn)?;
                    (stats, Some(one))
                }
            };
            let freqs = match &stats {
                ColumnStats::Numeric { frequencies, .. }
                | ColumnStats::Categorical { frequencies, .. } => frequencies,
            };
            let mut acc = 0.0;
            let cdf = freqs
                .iter()
                .map(|f| {
                    acc += f;
                    acc
                })
                .collect();
            columns.push(Column {
                name: name.clone(),
                stats,
                cdf,
                distinct,
            });
        }
        Ok(LimeTabular {
            kernel_width: 0.75 * (names.len() as f64).sqrt(),
            columns,
            outputs: ModelOutput::new(p).outputs().to_vec(),
            opts,
        })
    }

    /// The input columns, in order.
    pub fn columns(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The training statistics of each column.
    pub fn stats(&self) -> Vec<&ColumnStats> {
        self.columns.iter().map(|c| &c.stats).collect()
    }

    /// The outputs explained (as [`ModelOutput::outputs`]).
    pub fn outputs(&self) -> &[String] {
        &self.outputs
    }

    /// The options.
    pub fn options(&self) -> LimeOptions {
        self.opts
    }

    /// The kernel width, `0.75 √columns`.
    pub fn kernel_width(&self) -> f64 {
        self.kernel_width
    }

    /// Rows of neighbourhoods scored in one model call.
    pub fn rows_per_call(&self) -> usize {
        (BLOCK_ROWS / self.opts.num_samples).max(1)
    }

    /// The neighbourhoods of the rows of `table` (the pipeline's input columns); the rows
    /// are rows `first_row..` of the input (the index seeds each row's stream). All the
    /// samples of [`LimeTabular::rows_per_call`] rows go to the model in one call.
    pub fn neighbourhoods(
        &self,
        p: &FittedPipeline,
        table: &Table,
        first_row: usize,
    ) -> Result<Vec<Neighbourhood>> {
        let names: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
        let table = select(table, &names, "input")?;
        let model = ModelOutput::new(p);
        let k = self.outputs.len();
        let ns = self.opts.num_samples;
        let m = self.columns.len();
        let mut out = Vec::with_capacity(table.n_rows());
        let per_call = self.rows_per_call();
        let mut start = 0;
        while start < table.n_rows() {
            let end = (start + per_call).min(table.n_rows());
            let mut binaries = Vec::with_capacity(end - start);
            let mut tables = Vec::with_capacity(end - start);
            for r in start..end {
                let row = table.take(&[r]).map_err(learn)?;
                let (binary, row_bins, inverse) = self.sample(&row, (first_row + r) as u64)?;
                binaries.push((binary, row_bins));
                tables.push(inverse);
            }
            let all = Table::concat(&tables).map_err(learn)?;
            let labels = model.predict(&all)?;
            for (i, (binary, row_bins)) in binaries.into_iter().enumerate() {
                let distances = binary
                    .chunks_exact(m.max(1))
                    .map(|s| (s.iter().filter(|&&b| b == 0).count() as f64).sqrt())
                    .collect();
                out.push(Neighbourhood {
                    n_samples: ns,
                    n_columns: m,
                    n_outputs: k,
                    binary,
                    labels: labels[i * ns * k..(i + 1) * ns * k].to_vec(),
                    distances,
                    row_bins,
                });
            }
            start = end;
        }
        Ok(out)
    }

    /// One row's binary samples, its bins, and the samples as model input.
    fn sample(&self, row: &Table, stream: u64) -> Result<(Vec<u8>, Vec<usize>, Table)> {
        let ns = self.opts.num_samples;
        let m = self.columns.len();
        let mut rng = ChaCha8Rng::seed_from_u64(self.opts.seed);
        rng.set_stream(stream);
        let mut binary = vec![1u8; ns * m];
        let mut row_bins = Vec::with_capacity(m);
        let mut replaced: Vec<(String, ArrayRef, DataType)> = Vec::with_capacity(m);
        let base = row.take(&vec![0; ns]).map_err(learn)?;
        for (j, c) in self.columns.iter().enumerate() {
            let mine = self.bin_of(row, j)?;
            row_bins.push(mine);
            let draws: Vec<usize> = (0..ns)
                .map(|s| {
                    let u: f64 = rng.random();
                    if s == 0 {
                        mine
                    } else {
                        c.cdf.partition_point(|&f| f <= u).min(c.cdf.len() - 1)
                    }
                })
                .collect();
            for (s, &d) in draws.iter().enumerate() {
                binary[s * m + j] = u8::from(d == mine);
            }
            match &c.stats {
                ColumnStats::Numeric { bins, values, .. } => {
                    let missing = bins.quartiles.len() + 1;
                    let row_value = row.numeric_values(&c.name).map_err(learn)?[0];
                    let v: Vec<Option<f64>> = draws
                        .iter()
                        .enumerate()
                        .map(|(s, &d)| {
                            let u: f64 = rng.random();
                            if s == 0 {
                                return Some(row_value).filter(|v| !v.is_nan());
                            }
                            let b = values[d];
                            if b == missing {
                                None
                            } else {
                                Some(truncated_normal(
                                    bins.mins[b],
                                    bins.maxs[b],
                                    bins.means[b],
                                    bins.stds[b],
                                    u,
                                ))
                            }
                        })
                        .collect();
                    replaced.push((
                        c.name.clone(),
                        Arc::new(Float64Array::from(v)),
                        DataType::Float,
                    ));
                }
                ColumnStats::Categorical { .. } => {
                    let distinct = c
                        .distinct
                        .as_ref()
                        .ok_or_else(|| Error::Internal("no distinct values".into()))?;
                    let mut idx = draws.clone();
                    // Sample 0 is the row's own value (replaced below when it was not in
                    // the training data).
                    if mine == usize::MAX {
                        idx[0] = 0;
                    }
                    let mut col = distinct.take(&idx).map_err(learn)?;
                    if mine == usize::MAX {
                        let own = row
                            .select(&[c.name.as_str()])
                            .and_then(|t| t.take(&[0]))
                            .map_err(learn)?;
                        col = Table::concat(&[
                            own,
                            col.take(&(1..ns).collect::<Vec<_>>()).map_err(learn)?,
                        ])
                        .map_err(learn)?;
                    }
                    let dtype = distinct.schema().fields[0].dtype;
                    let array = col.record_batch().column(0).clone();
                    replaced.push((c.name.clone(), array, dtype));
                }
            }
        }
        let with: Vec<(&str, ArrayRef, Option<DataType>)> = replaced
            .iter()
            .map(|(n, a, t)| (n.as_str(), a.clone(), Some(*t)))
            .collect();
        let inverse = crate::agnostic::replace(&base, &with)?;
        Ok((binary, row_bins, inverse))
    }

    /// The row's bin (numeric columns) or value index (others; `usize::MAX` when the value
    /// was not in the training data: no sample draws it).
    fn bin_of(&self, row: &Table, j: usize) -> Result<usize> {
        let c = &self.columns[j];
        Ok(match &c.stats {
            ColumnStats::Numeric { bins, values, .. } => {
                let x = row.numeric_values(&c.name).map_err(learn)?[0];
                let b = bin(&bins.quartiles, x);
                values.binary_search(&b).unwrap_or(usize::MAX)
            }
            ColumnStats::Categorical { values, .. } => {
                let v = row.display_value(&c.name, 0).map_err(learn)?;
                values.binary_search(&v).unwrap_or(usize::MAX)
            }
        })
    }

    /// The condition row `r` of `table` meets on column `j`, as the package names it.
    fn condition(&self, table: &Table, r: usize, j: usize) -> Result<String> {
        let c = &self.columns[j];
        let name = &c.name;
        Ok(match &c.stats {
            ColumnStats::Numeric { bins, .. } => {
                let x = table.numeric_values(name).map_err(learn)?[r];
                let q = &bins.quartiles;
                let b = bin(q, x);
                if b == q.len() + 1 {
                    format!("{name} is missing")
                } else if b == 0 {
                    format!("{name} <= {:.2}", q[0])
                } else if b == q.len() {
                    format!("{name} > {:.2}", q[q.len() - 1])
                } else {
                    format!("{:.2} < {name} <= {:.2}", q[b - 1], q[b])
                }
            }
            ColumnStats::Categorical { .. } => {
                match table.display_value(name, r).map_err(learn)? {
                    Some(v) => format!("{name}={v}"),
                    None => format!("{name} is missing"),
                }
            }
        })
    }

    /// The surrogate of one neighbourhood's output `output`
    /// (`LimeBase.explain_instance_with_data` with feature selection `auto`).
    pub fn fit(&self, nb: &Neighbourhood, output: usize) -> Result<LimeFit> {
        let n = nb.n_samples;
        let m = nb.n_columns;
        let x: Vec<f64> = nb.binary.iter().map(|&b| f64::from(b)).collect();
        let y: Vec<f64> = (0..n)
            .map(|s| nb.labels[s * nb.n_outputs + output])
            .collect();
        let w = self.weights(&nb.distances);
        fit_surrogate(&x, n, m, &y, &w, self.opts.num_features)
    }

    /// The kernel weights of distances.
    pub fn weights(&self, distances: &[f64]) -> Vec<f64> {
        let w2 = self.kernel_width * self.kernel_width;
        distances
            .iter()
            .map(|d| (-(d * d) / w2).exp().sqrt())
            .collect()
    }

    /// Explains every row of `table` (rows `first_row..` of the input), every output.
    pub fn explain(
        &self,
        p: &FittedPipeline,
        table: &Table,
        first_row: usize,
    ) -> Result<LimeExplanation> {
        let nbs = self.neighbourhoods(p, table, first_row)?;
        let k = self.outputs.len();
        let mut fits = Vec::with_capacity(nbs.len() * k);
        let mut predictions = Vec::with_capacity(nbs.len() * k);
        let mut conditions = Vec::with_capacity(nbs.len());
        let names: Vec<String> = self.columns.iter().map(|c| c.name.clone()).collect();
        let table = select(table, &names, "input")?;
        use rayon::prelude::*;
        let all: Vec<Result<Vec<LimeFit>>> = nbs
            .par_iter()
            .map(|nb| (0..k).map(|c| self.fit(nb, c)).collect())
            .collect();
        for (r, (f, nb)) in all.into_iter().zip(&nbs).enumerate() {
            fits.extend(f?);
            predictions.extend_from_slice(&nb.labels[..k]);
            conditions.push(
                (0..self.columns.len())
                    .map(|j| self.condition(&table, r, j))
                    .collect::<Result<Vec<_>>>()?,
            );
        }
        Ok(LimeExplanation {
            n_rows: nbs.len(),
            n_outputs: k,
            fits,
            predictions,
            conditions,
        })
    }
}

fn learn(e: slipway_data::Error) -> Error {
    Error::Learn(slipway_learn::Error::from(e))
}

/// `np.searchsorted(quartiles, x)` (side left); missing values: the bin after the last.
fn bin(quartiles: &[f64], x: f64) -> usize {
    if x.is_nan() {
        quartiles.len() + 1
    } else {
        quartiles.partition_point(|&q| q < x)
    }
}

/// `np.percentile(sorted, p)` with linear interpolation, as numpy computes it.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len() as f64;
    let virtual_index = n * q + (1.0 - q) - 1.0;
    let lo = virtual_index.floor();
    let t = virtual_index - lo;
    let lo = lo as usize;
    let a = sorted[lo.min(sorted.len() - 1)];
    let b = sorted[(lo + 1).min(sorted.len() - 1)];
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

fn numeric_stats(name: &str, v: &[f64]) -> Result<ColumnStats> {
    let mut present: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if present.is_empty() {
        return Err(Error::Input(format!(
            "column \"{name}\" has no values in the training sample: LIME bins a numeric column by its training quartiles"
        )));
    }
    present.sort_by(f64::total_cmp);
    let mut quartiles: Vec<f64> = [0.25, 0.5, 0.75]
        .iter()
        .map(|&q| percentile(&present, q))
        .collect();
    quartiles.dedup();
    let nb = quartiles.len() + 1;
    let mut sums = vec![Vec::new(); nb];
    for &x in &present {
        sums[bin(&quartiles, x)].push(x);
    }
    let (mut means, mut stds) = (Vec::with_capacity(nb), Vec::with_capacity(nb));
    for s in &sums {
        if s.is_empty() {
            means.push(0.0);
            stds.push(1e-11);
        } else {
            let mean = s.iter().sum::<f64>() / s.len() as f64;
            let var = s.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / s.len() as f64;
            means.push(mean);
            stds.push(var.sqrt() + 1e-11);
        }
    }
    let mut mins = vec![present[0]];
    mins.extend_from_slice(&quartiles);
    let mut maxs = quartiles.clone();
    maxs.push(present[present.len() - 1]);
    let mut counts = vec![0usize; nb + 1];
    for &x in v {
        counts[bin(&quartiles, x)] += 1;
    }
    let total = v.len() as f64;
    let (values, frequencies): (Vec<usize>, Vec<f64>) = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(b, c)| (b, *c as f64 / total))
        .unzip();
    Ok(ColumnStats::Numeric {
        bins: NumericStats {
            quartiles,
            means,
            stds,
            mins,
            maxs,
        },
        values,
        frequencies,
    })
}

/// A categorical column's distinct values and frequencies, and one training row per value.
fn categorical_stats(training: &Table, name: &str) -> Result<(ColumnStats, Vec<usize>)> {
    let mut seen: std::collections::BTreeMap<Option<String>, (usize, usize)> =
        std::collections::BTreeMap::new();
    for r in 0..training.n_rows() {
        let v = training.display_value(name, r).map_err(learn)?;
        seen.entry(v).or_insert((r, 0)).1 += 1;
    }
    let total = training.n_rows() as f64;
    let mut values = Vec::with_capacity(seen.len());
    let mut frequencies = Vec::with_capacity(seen.len());
    let mut rows = Vec::with_capacity(seen.len());
    for (v, (r, c)) in seen {
        values.push(v);
        frequencies.push(c as f64 / total);
        rows.push(r);
    }
    Ok((
        ColumnStats::Categorical {
            values,
            frequencies,
        },
        rows,
    ))
}

/// A draw (from uniform `u`) of the normal `(mean, std)` truncated to `[lo, hi]`, by the
/// inverse CDF (as scipy's `truncnorm`); `lo` when the bounds are equal.
fn truncated_normal(lo: f64, hi: f64, mean: f64, std: f64, u: f64) -> f64 {
    if lo >= hi {
        return lo;
    }
    let a = (lo - mean) / std;
    let b = (hi - mean) / std;
    // In the right tail, work with the mirror image (the CDF loses precision near 1).
    let z = if a > 0.0 {
        let (sa, sb) = (norm_cdf(-a), norm_cdf(-b));
        -norm_ppf(sa - u * (sa - sb))
    } else {
        let (pa, pb) = (norm_cdf(a), norm_cdf(b));
        norm_ppf(pa + u * (pb - pa))
    };
    let v = mean + std * z;
    if v.is_finite() {
        v.clamp(lo, hi)
    } else {
        lo + u * (hi - lo)
    }
}

/// A weighted ridge fit with intercept (scikit-learn's `Ridge(alpha).fit(x[:, cols], y,
/// sample_weight=w)`): the coefficients and intercept.
fn ridge(
    x: &[f64],
    n: usize,
    m: usize,
    cols: &[usize],
    y: &[f64],
    w: &[f64],
    alpha: f64,
) -> (Vec<f64>, f64) {
    let k = cols.len();
    let sw: f64 = w.iter().sum();
    let xm: Vec<f64> = cols
        .iter()
        .map(|&c| (0..n).map(|s| w[s] * x[s * m + c]).sum::<f64>() / sw)
        .collect();
    let ym = (0..n).map(|s| w[s] * y[s]).sum::<f64>() / sw;
    let mut a = vec![0.0; k * k];
    let mut b = vec![0.0; k];
    let mut xc = vec![0.0; k];
    for s in 0..n {
        for (i, &c) in cols.iter().enumerate() {
            xc[i] = x[s * m + c] - xm[i];
        }
        let yc = y[s] - ym;
        for i in 0..k {
            let wi = w[s] * xc[i];
            b[i] += wi * yc;
            for j in 0..=i {
                a[i * k + j] += wi * xc[j];
            }
        }
    }
    for i in 0..k {
        for j in 0..i {
            a[j * k + i] = a[i * k + j];
        }
        a[i * k + i] += alpha;
    }
    let coef = cholesky_solve(&a, &b, k).unwrap_or_else(|| pseudo_solve(&a, &b, k));
    let intercept = ym - xm.iter().zip(&coef).map(|(m, c)| m * c).sum::<f64>();
    (coef, intercept)
}

/// Solves `a x = b` for a positive definite `a`; `None` when it is not.
fn cholesky_solve(a: &[f64], b: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let mut s = a[i * k + j];
            for p in 0..j {
                s -= l[i * k + p] * l[j * k + p];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * k + i] = s.sqrt();
            } else {
                l[i * k + j] = s / l[j * k + j];
            }
        }
    }
    let mut z = b.to_vec();
    for i in 0..k {
        for p in 0..i {
            z[i] -= l[i * k + p] * z[p];
        }
        z[i] /= l[i * k + i];
    }
    for i in (0..k).rev() {
        for p in i + 1..k {
            z[i] -= l[p * k + i] * z[p];
        }
        z[i] /= l[i * k + i];
    }
    Some(z)
}

/// The least-norm solution of `a x = b` for a singular positive semi-definite `a`
/// (scikit-learn's fallback to the SVD: eigenvalues under 1e-30, singular values under
/// 1e-15, are left out), by Jacobi rotations.
fn pseudo_solve(a: &[f64], b: &[f64], k: usize) -> Vec<f64> {
    let mut a = a.to_vec();
    let mut v = vec![0.0; k * k];
    for i in 0..k {
        v[i * k + i] = 1.0;
    }
    for _ in 0..100 {
        let off: f64 = (0..k)
            .flat_map(|i| (0..k).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * k + j] * a[i * k + j])
            .sum();
        if off <= 1e-30 {
            break;
        }
        for p in 0..k {
            for q in p + 1..k {
                let apq = a[p * k + q];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[q * k + q] - a[p * k + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..k {
                    let (arp, arq) = (a[r * k + p], a[r * k + q]);
                    a[r * k + p] = c * arp - s * arq;
                    a[r * k + q] = s * arp + c * arq;
                }
                for r in 0..k {
                    let (apr, aqr) = (a[p * k + r], a[q * k + r]);
                    a[p * k + r] = c * apr - s * aqr;
                    a[q * k + r] = s * apr + c * aqr;
                }
                for r in 0..k {
                    let (vrp, vrq) = (v[r * k + p], v[r * k + q]);
                    v[r * k + p] = c * vrp - s * vrq;
                    v[r * k + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    let mut x = vec![0.0; k];
    for e in 0..k {
        let lambda = a[e * k + e];
        if lambda <= 1e-30 {
            continue;
        }
        let proj: f64 = (0..k).map(|i| v[i * k + e] * b[i]).sum::<f64>() / lambda;
        for i in 0..k {
            x[i] += v[i * k + e] * proj;
        }
    }
    x
}

/// Weighted R² of a fit (scikit-learn's `r2_score` with `sample_weight`: 1 for a perfect
/// fit of a constant, 0 for an imperfect one).
#[allow(clippy::too_many_arguments)]
fn weighted_r2(
    x: &[f64],
    n: usize,
    m: usize,
    cols: &[usize],
    coef: &[f64],
    intercept: f64,
    y: &[f64],
    w: &[f64],
) -> f64 {
    let sw: f64 = w.iter().sum();
    let ym = (0..n).map(|s| w[s] * y[s]).sum::<f64>() / sw;
    let (mut num, mut den) = (0.0, 0.0);
    for s in 0..n {
        let pred = intercept
            + cols
                .iter()
                .zip(coef)
                .map(|(&c, b)| x[s * m + c] * b)
                .sum::<f64>();
        num += w[s] * (y[s] - pred) * (y[s] - pred);
        den += w[s] * (y[s] - ym) * (y[s] - ym);
    }
    if den == 0.0 {
        if num == 0.0 { 1.0 } else { 0.0 }
    } else {
        1.0 - num / den
    }
}

/// `LimeBase.explain_instance_with_data` with feature selection `auto` and the default
/// `Ridge(alpha=1)`: `x` is `n × m` row-major (row 0 the explained row).
pub fn fit_surrogate(
    x: &[f64],
    n: usize,
    m: usize,
    y: &[f64],
    w: &[f64],
    num_features: usize,
) -> Result<LimeFit> {
    if n == 0 || m == 0 || x.len() != n * m || y.len() != n || w.len() != n {
        return Err(Error::Input(format!(
            "a LIME neighbourhood needs n × m values, n labels and n weights (n {n}, m {m})"
        )));
    }
    let used: Vec<usize> = if num_features <= 6 {
        // Forward selection.
        let mut used: Vec<usize> = Vec::new();
        for _ in 0..num_features.min(m) {
            let mut best = 0;
            let mut max = -100_000_000.0;
            for f in 0..m {
                if used.contains(&f) {
                    continue;
                }
                let mut cols = used.clone();
                cols.push(f);
                let (coef, b0) = ridge(x, n, m, &cols, y, w, 0.0);
                let score = weighted_r2(x, n, m, &cols, &coef, b0, y, w);
                if score > max {
                    best = f;
                    max = score;
                }
            }
            used.push(best);
        }
        used
    } else {
        // Highest weights of a Ridge(alpha=0.01) on every column (times row 0's values).
        let all: Vec<usize> = (0..m).collect();
        let (coef, _) = ridge(x, n, m, &all, y, w, 0.01);
        let mut order: Vec<(usize, f64)> = coef
            .iter()
            .enumerate()
            .map(|(j, c)| (j, c * x[j]))
            .collect();
        order.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        order
            .into_iter()
            .take(num_features)
            .map(|(j, _)| j)
            .collect()
    };
    let (coef, intercept) = ridge(x, n, m, &used, y, w, 1.0);
    let score = weighted_r2(x, n, m, &used, &coef, intercept, y, w);
    let local_pred = intercept + used.iter().zip(&coef).map(|(&c, b)| x[c] * b).sum::<f64>();
    let mut coefficients: Vec<(usize, f64)> = used.into_iter().zip(coef).collect();
    coefficients.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    Ok(LimeFit {
        intercept,
        coefficients,
        score,
        local_pred,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_numpys() {
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(percentile(&v, 0.25), 2.0);
        assert_eq!(percentile(&v, 0.5), 3.0);
        assert_eq!(percentile(&v, 0.75), 4.0);
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 0.25), 1.75);
        assert_eq!(percentile(&v, 0.75), 3.25);
    }

    #[test]
    fn the_normal_quantile_inverts_the_cdf() {
        for p in [1e-12, 1e-5, 0.01, 0.3, 0.5, 0.77, 0.99, 1.0 - 1e-9] {
            let x = norm_ppf(p);
            assert!((norm_cdf(x) - p).abs() <= 1e-14 + 1e-12 * p, "{p}: {x}");
        }
        // Truncated draws stay inside their bounds, tails included.
        for u in [0.0, 0.1, 0.5, 0.9, 1.0] {
            let v = truncated_normal(10.0, 12.0, 0.0, 1.0, u);
            assert!((10.0..=12.0).contains(&v), "{v}");
            let v = truncated_normal(-3.0, 5.0, 1.0, 2.0, u);
            assert!((-3.0..=5.0).contains(&v), "{v}");
        }
        assert_eq!(truncated_normal(2.0, 2.0, 2.0, 1e-11, 0.4), 2.0);
    }

    #[test]
    fn a_singular_system_gets_the_least_norm_solution() {
        // Columns 0 and 1 equal: x0 + x1 = 2 ⇒ least norm (1, 1).
        let a = [1.0, 1.0, 1.0, 1.0];
        let b = [2.0, 2.0];
        assert!(cholesky_solve(&a, &b, 2).is_none());
        let x = pseudo_solve(&a, &b, 2);
        assert!(
            (x[0] - 1.0).abs() < 1e-12 && (x[1] - 1.0).abs() < 1e-12,
            "{x:?}"
        );
    }
}
