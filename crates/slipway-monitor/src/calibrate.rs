//! Thresholds calibrated on the reference's own chunks (NannyML's
//! `StandardDeviationThreshold`: mean + k·std of the reference chunks' values), with each
//! reference chunk compared against the reference **without** it.
//!
//! NannyML compares a reference chunk with the whole reference, the chunk included, which
//! pulls every distance towards 0 and so sets thresholds too low (nannyml issue #426,
//! confirmed by its maintainers: "the observations that belong to that chunk should be
//! removed from the reference data for the comparison. Just like in Cross Validation").
//! Here reference chunk `i`'s statistics come from [`compare_column`] against a
//! [`ReferenceSummary`] of the other rows (its own bins and quantiles).
//!
//! The upper bound of each (column, statistic) is `mean + k·std` (`np.nanmean`,
//! `np.nanstd`) of the reference chunks' values: distances only alarm upwards. With
//! calibrated thresholds a statistic drifts when its value is above its bound; the tests
//! (KS, chi-square) are judged on their statistic, not their p-value. Small samples are
//! still reported and never drift; a reference chunk that is a small sample is left out of
//! the calibration.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use slipway_data::Table;

use crate::drift::{ColumnSample, DriftOptions, Stat, compare_column};
use crate::multivariate::{ChunkRows, mean_std, split};
use crate::run::{Chunking, DriftReport};
use crate::summary::{ColumnKind, ReferenceSummary, category_values};
use crate::{Error, Result};

/// One calibrated bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibratedBound {
    /// The column.
    pub column: String,
    /// The statistic.
    pub stat: Stat,
    /// Its value in each reference chunk (against the rest of the reference).
    pub reference_values: Vec<Option<f64>>,
    /// Mean of those values.
    pub mean: f64,
    /// Their population standard deviation.
    pub std: f64,
    /// `mean + k·std`: above it is drift.
    pub upper: f64,
}

/// Thresholds calibrated on reference chunks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The multiple of the standard deviation.
    pub k: f64,
    /// The reference's chunks (label, rows).
    pub reference_chunks: Vec<(String, u64)>,
    /// Reference chunks left out as small samples.
    pub small_reference_chunks: usize,
    /// One bound per column and statistic that had at least two values.
    pub bounds: Vec<CalibratedBound>,
}

/// A column's values in `rows` of `table` as the drift run collects them.
fn sample(table: &Table, name: &str, kind: ColumnKind, rows: &[usize]) -> Result<ColumnSample> {
    let mut s = ColumnSample {
        rows: rows.len() as u64,
        ..ColumnSample::default()
    };
    match kind {
        ColumnKind::Numeric => {
            let v = table.numeric_values(name)?;
            for &r in rows {
                if v[r].is_nan() {
                    s.missing += 1;
                } else {
                    s.values.push(v[r]);
                }
            }
        }
        ColumnKind::Categorical => {
            let v = category_values(table, name)?;
            let mut counts: HashMap<String, u64> = HashMap::new();
            for &r in rows {
                match &v[r] {
                    None => s.missing += 1,
                    Some(c) => *counts.entry(c.clone()).or_default() += 1,
                }
            }
            s.categories = counts;
        }
    }
    Ok(s)
}

/// Calibrates `opts.stats` of `columns` on `reference` cut by `chunking`: mean + `k`·std
/// of each reference chunk's value against the rest of the reference.
pub fn calibrate(
    reference: &Table,
    columns: &[String],
    categorical: &[String],
    chunking: &Chunking,
    opts: &DriftOptions,
    k: f64,
) -> Result<Calibration> {
    if !(k.is_finite() && k >= 0.0) {
        return Err(Error::BadInput {
            message: format!("the calibration multiple {k} must be a number >= 0"),
        });
    }
    let chunks: Vec<ChunkRows> = split(reference, chunking)?;
    if chunks.len() < 2 {
        return Err(Error::BadInput {
            message: format!(
                "calibrated thresholds need at least 2 reference chunks, and {} cut the reference into {}: use a smaller --chunk-size or a shorter --chunk-period",
                crate::report::chunking_text(chunking),
                chunks.len()
            ),
        });
    }
    let n = reference.n_rows();
    let mut values: BTreeMap<(String, Stat), Vec<Option<f64>>> = BTreeMap::new();
    let mut small = 0;
    for chunk in &chunks {
        if (chunk.rows.len() as u64) < opts.min_rows {
            small += 1;
            continue;
        }
        let mut inside = vec![false; n];
        for &r in &chunk.rows {
            inside[r] = true;
        }
        let rest: Vec<usize> = (0..n).filter(|r| !inside[*r]).collect();
        let rest_table = reference.take(&rest)?;
        let summary = ReferenceSummary::from_table(&rest_table, columns, categorical, "rest")?;
        for col in &summary.columns {
            let s = sample(reference, &col.name, col.kind, &chunk.rows)?;
            let f = compare_column(col, s, opts, false);
            for st in f.stats {
                values
                    .entry((col.name.clone(), st.stat))
                    .or_default()
                    .push(st.value);
            }
        }
    }
    let bounds = values
        .into_iter()
        .filter_map(|((column, stat), v)| {
            let finite: Vec<f64> = v
                .iter()
                .flatten()
                .copied()
                .filter(|x| !x.is_nan())
                .collect();
            (finite.len() >= 2).then(|| {
                let (mean, std) = mean_std(&finite, 0);
                CalibratedBound {
                    column,
                    stat,
                    reference_values: v,
                    mean,
                    std,
                    upper: mean + k * std,
                }
            })
        })
        .collect();
    Ok(Calibration {
        k,
        reference_chunks: chunks
            .iter()
            .map(|c| (c.label.clone(), c.rows.len() as u64))
            .collect(),
        small_reference_chunks: small,
        bounds,
    })
}

/// Re-decides `report` with the calibrated bounds: a statistic with a bound drifts when its
/// value is above it (its threshold becomes the bound); one without keeps its decision.
pub fn apply(report: &mut DriftReport, calibration: &Calibration) {
    let bound: HashMap<(&str, Stat), f64> = calibration
        .bounds
        .iter()
        .map(|b| ((b.column.as_str(), b.stat), b.upper))
        .collect();
    for chunk in &mut report.chunks {
        for f in &mut chunk.features {
            for s in &mut f.stats {
                if let Some(&upper) = bound.get(&(f.column.as_str(), s.stat)) {
                    s.threshold = upper;
                    s.drifted = s.value.is_some_and(|v| v > upper);
                }
            }
            f.drifted = !f.small_sample && (f.missing_drifted || f.stats.iter().any(|s| s.drifted));
        }
        chunk.drifted_features = chunk.features.iter().filter(|f| f.drifted).count();
    }
    report.drifted = report.chunks.iter().any(|c| c.drifted_features > 0);
}
