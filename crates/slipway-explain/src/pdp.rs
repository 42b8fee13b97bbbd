//! Partial dependence and individual conditional expectation (ICE), one- and two-way, by
//! brute force: scikit-learn's `partial_dependence(method="brute")`.
//!
//! For each grid point the chosen input columns are set to the point's values on every row,
//! the pipeline predicts all rows, and the average over rows is the partial dependence at
//! that point; the per-row predictions are the ICE curves. Grids follow scikit-learn's
//! `_grid_from_X`: a numeric column with fewer distinct values than `grid_resolution` uses
//! them; otherwise `grid_resolution` equally spaced points between two percentiles
//! (`scipy.stats.mstats.mquantiles`, default plotting positions), 5% and 95% by default. A
//! categorical, text or boolean column uses its categories. Missing values never enter a
//! grid (scikit-learn does not support them there). Rows are scored a block at a time.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use slipway_data::{DataType, Table};
use slipway_learn::pipeline::FittedPipeline;

use crate::agnostic::{self, BLOCK_ROWS, GridValue, ModelOutput};
use crate::{Error, Result};

/// How partial dependence is computed.
#[derive(Debug, Clone, PartialEq)]
pub struct PdpOptions {
    /// Points per numeric column's grid (at least 2).
    pub grid_resolution: usize,
    /// The percentiles (fractions in `[0, 1]`) a numeric grid spans.
    pub percentiles: (f64, f64),
    /// Keep every row's curve (ICE).
    pub ice: bool,
}

impl Default for PdpOptions {
    fn default() -> Self {
        PdpOptions {
            grid_resolution: 100,
            percentiles: (0.05, 0.95),
            ice: false,
        }
    }
}

/// Partial dependence of a model's outputs on one or two input columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialDependence {
    /// The columns varied.
    pub features: Vec<String>,
    /// Each column's grid values.
    pub grid: Vec<Vec<GridValue>>,
    /// The outputs (the positive class's probability, each class's, or the value).
    pub outputs: Vec<String>,
    /// Rows averaged.
    pub rows: usize,
    /// Per output, the average prediction at each grid point (the first column's values
    /// slowest): `outputs × points`.
    pub average: Vec<Vec<f64>>,
    /// With ICE: per output, per row, the prediction at each grid point:
    /// `outputs × rows × points`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub individual: Option<Vec<Vec<Vec<f64>>>>,
}

impl PartialDependence {
    /// Grid points: every combination of the columns' values.
    pub fn n_points(&self) -> usize {
        self.grid.iter().map(Vec::len).product()
    }
}

/// Partial dependence (and ICE when asked) of `p`'s outputs on `features` (one or two input
/// columns) over the rows of `table`.
pub fn partial_dependence(
    p: &FittedPipeline,
    table: &Table,
    features: &[&str],
    opts: &PdpOptions,
) -> Result<PartialDependence> {
    if features.is_empty() || features.len() > 2 {
        return Err(Error::Input(format!(
            "partial dependence takes one or two columns, {} given",
            features.len()
        )));
    }
    if features.len() == 2 && features[0] == features[1] {
        return Err(Error::Input(format!(
            "two-way partial dependence needs two different columns, \"{}\" given twice",
            features[0]
        )));
    }
    for f in features {
        agnostic::require_input(p, table, f)?;
    }
    let n = table.n_rows();
    if n == 0 {
        return Err(Error::Input("the input has no rows".into()));
    }
    let grid: Vec<Vec<GridValue>> = features
        .iter()
        .map(|f| column_grid(table, f, opts))
        .collect::<Result<_>>()?;
    let model = ModelOutput::new(p);
    let k = model.outputs().len();
    // Points in scikit-learn's order (`cartesian`): the last column fastest.
    let points: Vec<Vec<&GridValue>> = match grid.as_slice() {
        [a] => a.iter().map(|v| vec![v]).collect(),
        [a, b] => a
            .iter()
            .flat_map(|u| b.iter().map(move |v| vec![u, v]))
            .collect(),
        _ => unreachable!("one or two columns, checked above"),
    };
    let np = points.len();
    let mut sums = vec![0.0; np * k];
    let mut ice = if opts.ice {
        vec![0.0; k * n * np]
    } else {
        Vec::new()
    };
    for start in (0..n).step_by(BLOCK_ROWS) {
        let end = (start + BLOCK_ROWS).min(n);
        let block = agnostic::rows(table, start, end)?;
        // One prediction per point, in parallel: each holds one block's what-if table.
        let preds: Vec<Vec<f64>> = points
            .par_iter()
            .map(|point| {
                let values: Vec<(&str, &GridValue)> = features
                    .iter()
                    .copied()
                    .zip(point.iter().copied())
                    .collect();
                model.predict(&agnostic::with_values(&block, &values)?)
            })
            .collect::<Result<_>>()?;
        for (q, pred) in preds.iter().enumerate() {
            for (r, row) in pred.chunks_exact(k).enumerate() {
                for (c, v) in row.iter().enumerate() {
                    sums[q * k + c] += v;
                    if opts.ice {
                        ice[(c * n + start + r) * np + q] = *v;
                    }
                }
            }
        }
    }
    let average = (0..k)
        .map(|c| (0..np).map(|q| sums[q * k + c] / n as f64).collect())
        .collect();
    let individual = opts.ice.then(|| {
        ice.chunks_exact(n * np)
            .map(|out| out.chunks_exact(np).map(<[f64]>::to_vec).collect())
            .collect()
    });
    Ok(PartialDependence {
        features: features.iter().map(|f| f.to_string()).collect(),
        grid,
        outputs: model.outputs().to_vec(),
        rows: n,
        average,
        individual,
    })
}

/// The grid of one column (scikit-learn's `_grid_from_X`, missing values left out).
pub fn column_grid(table: &Table, column: &str, opts: &PdpOptions) -> Result<Vec<GridValue>> {
    let (lo, hi) = opts.percentiles;
    if !(0.0..=1.0).contains(&lo) || !(0.0..=1.0).contains(&hi) || lo >= hi {
        return Err(Error::Input(format!(
            "percentiles ({lo}, {hi}) must be two fractions in [0, 1], the first smaller"
        )));
    }
    if opts.grid_resolution < 2 {
        return Err(Error::Input(format!(
            "grid resolution {} must be at least 2",
            opts.grid_resolution
        )));
    }
    let field = table
        .schema()
        .field(column)
        .ok_or_else(|| Error::Input(format!("column \"{column}\" is not in the input")))?;
    let constant = |shown: String| {
        Error::Input(format!(
            "column \"{column}\" is constant (every non-missing value is {shown}): partial dependence needs at least two distinct values"
        ))
    };
    let empty = || Error::Input(format!("column \"{column}\" has no non-missing values"));
    let learn = |e: slipway_data::Error| Error::Learn(e.into());
    match field.dtype {
        DataType::Categorical | DataType::Text => {
            let mut cats: Vec<&str> = table
                .string_values(column)
                .map_err(learn)?
                .into_iter()
                .flatten()
                .collect();
            cats.sort_unstable();
            cats.dedup();
            match cats.as_slice() {
                [] => Err(empty()),
                [one] => Err(constant(format!("\"{one}\""))),
                _ => Ok(cats
                    .into_iter()
                    .map(|c| GridValue::Category(c.to_string()))
                    .collect()),
            }
        }
        DataType::Boolean => {
            let v = table.numeric_values(column).map_err(learn)?;
            let (f, t) = (v.contains(&0.0), v.contains(&1.0));
            match (f, t) {
                (true, true) => Ok(vec![GridValue::Bool(false), GridValue::Bool(true)]),
                (false, false) => Err(empty()),
                (f, _) => Err(constant((!f).to_string())),
            }
        }
        DataType::Datetime => Err(Error::Unsupported(format!(
            "column \"{column}\" is a datetime: partial dependence varies numeric, boolean and categorical columns"
        ))),
        DataType::Integer | DataType::Float => {
            let mut v: Vec<f64> = table
                .numeric_values(column)
                .map_err(learn)?
                .into_iter()
                .filter(|x| !x.is_nan())
                .collect();
            v.sort_unstable_by(f64::total_cmp);
            let mut uniques = v.clone();
            uniques.dedup();
            match uniques.as_slice() {
                [] => return Err(empty()),
                [one] => return Err(constant(one.to_string())),
                _ => {}
            }
            if uniques.len() < opts.grid_resolution {
                return Ok(uniques.into_iter().map(GridValue::Number).collect());
            }
            let a = mquantile(&v, lo);
            let b = mquantile(&v, hi);
            // numpy's allclose(a, b): |a - b| <= 1e-8 + 1e-5 |b|.
            if (a - b).abs() <= 1e-8 + 1e-5 * b.abs() {
                return Err(Error::Input(format!(
                    "column \"{column}\": its {} and {} percentiles are both {a}, too close to build a grid; choose percentiles further apart",
                    lo * 100.0,
                    hi * 100.0
                )));
            }
            Ok(linspace(a, b, opts.grid_resolution)
                .into_iter()
                .map(GridValue::Number)
                .collect())
        }
    }
}

/// `scipy.stats.mstats.mquantiles(x, prob=[p])` with its default plotting positions
/// (`alphap = betap = 0.4`) on sorted values, in scipy's order of operations so the bits
/// agree: written here because no crate computes this estimator.
fn mquantile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 1 {
        return sorted[0];
    }
    let (alphap, betap) = (0.4, 0.4);
    let m = alphap + p * (1.0 - alphap - betap);
    let aleph = n as f64 * p + m;
    let k = aleph.clamp(1.0, (n - 1) as f64).floor();
    let gamma = (aleph - k).clamp(0.0, 1.0);
    let k = k as usize;
    (1.0 - gamma) * sorted[k - 1] + gamma * sorted[k]
}

/// `numpy.linspace(a, b, num)`: `i * step + a`, the last point exactly `b`.
fn linspace(a: f64, b: f64, num: usize) -> Vec<f64> {
    let step = (b - a) / (num - 1) as f64;
    let mut out: Vec<f64> = (0..num).map(|i| i as f64 * step + a).collect();
    out[num - 1] = b;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mquantile_matches_scipy_on_small_samples() {
        // scipy.stats.mstats.mquantiles([1, 2, 3, 4, 10], prob=[0.05, 0.95]) = [1.0, 10.0]
        // (clipped), and on 0..99: [4.41, 94.59].
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(mquantile(&v, 0.05), 1.0);
        assert_eq!(mquantile(&v, 0.95), 10.0);
        let w: Vec<f64> = (0..100).map(f64::from).collect();
        assert!((mquantile(&w, 0.05) - 4.41).abs() < 1e-12);
        assert!((mquantile(&w, 0.95) - 94.59).abs() < 1e-12);
    }

    #[test]
    fn linspace_ends_exactly() {
        let g = linspace(0.1, 0.7, 7);
        assert_eq!(g.len(), 7);
        assert_eq!(g[0], 0.1);
        assert_eq!(g[6], 0.7);
        assert!((g[3] - 0.4).abs() < 1e-15);
    }
}
