//! A drift run over a current file: the file is streamed a block of rows at a time
//! ([`slipway_data::ingest::read_chunks`]), its rows are split into chunks by row
//! count or by time period ([`Chunking`]), and each chunk is compared with the
//! [`ReferenceSummary`] column by column (in parallel) as soon as it is complete, so memory
//! holds one chunk's values (row chunks; period chunks are kept until the file ends, as rows
//! of a period may come in any order).

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use slipway_data::ingest::ReadOptions;
use slipway_data::ingest::read_chunks;
use slipway_data::{DataType, Table};

use crate::drift::{self, ColumnSample, DriftOptions, FeatureDrift, Stat};
use crate::summary::{ColumnKind, ReferenceSummary, column_kind};
use crate::{Error, Result};

/// Rows read from the current file at a time.
const READ_ROWS: usize = 65_536;

/// How the current data is cut into chunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by")]
pub enum Chunking {
    /// The whole file is one chunk.
    Whole,
    /// Consecutive chunks of this many rows (the last may be shorter).
    Rows {
        /// Rows per chunk.
        size: u64,
    },
    /// One chunk per calendar period (UTC) of a datetime column.
    Period {
        /// The datetime column.
        column: String,
        /// The period.
        period: Period,
    },
    /// One chunk per distinct value of a column (e.g. a `year` stored as a number), in
    /// sorted order. Performance runs only; drift runs cut by rows or periods.
    Value {
        /// The column.
        column: String,
    },
}

/// A calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// A day (`2026-01-31`).
    Day,
    /// An ISO week (`2026-W05`).
    Week,
    /// A month (`2026-01`).
    Month,
}

impl Period {
    /// Parses `day`, `week` or `month`.
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "day" => Some(Period::Day),
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            _ => None,
        }
    }

    pub(crate) fn label(self, ms: i64) -> String {
        let Some(t) = chrono::DateTime::from_timestamp_millis(ms) else {
            return "(out of range)".into();
        };
        match self {
            Period::Day => t.format("%Y-%m-%d").to_string(),
            Period::Week => t.format("%G-W%V").to_string(),
            Period::Month => t.format("%Y-%m").to_string(),
        }
    }
}

/// The drift of every compared column in one chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkDrift {
    /// 0-based position.
    pub index: usize,
    /// `rows 0–49999`, or the period.
    pub label: String,
    /// Rows in the chunk.
    pub rows: u64,
    /// Fewer rows than `min_rows`: reported, never drift.
    pub small_sample: bool,
    /// One entry per compared column.
    pub features: Vec<FeatureDrift>,
    /// How many features drifted.
    pub drifted_features: usize,
}

/// The result of a drift run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// Where the reference came from.
    pub reference: String,
    /// Rows in the reference.
    pub reference_rows: u64,
    /// The current file.
    pub current: String,
    /// Rows in the current file.
    pub current_rows: u64,
    /// Rows left out because their timestamp was missing (period chunking).
    pub rows_without_timestamp: u64,
    /// How the current data was chunked.
    pub chunking: Chunking,
    /// Thresholds and choices.
    pub options: DriftOptions,
    /// The compared columns and how.
    pub columns: Vec<(String, ColumnKind)>,
    /// One entry per chunk.
    pub chunks: Vec<ChunkDrift>,
    /// Whether any feature drifted in any chunk.
    pub drifted: bool,
}

impl DriftReport {
    /// The statistic plotted over chunks: PSI (it applies to every column) when computed,
    /// else the first statistic asked for.
    pub fn main_stat(&self) -> Option<Stat> {
        if self.options.stats.contains(&Stat::Psi) {
            Some(Stat::Psi)
        } else {
            self.options.stats.first().copied()
        }
    }
}

struct Acc {
    label: String,
    rows: u64,
    cols: Vec<ColumnSample>,
}

impl Acc {
    fn new(label: String, n: usize) -> Acc {
        Acc {
            label,
            rows: 0,
            cols: (0..n).map(|_| ColumnSample::default()).collect(),
        }
    }
}

enum ColumnData<'a> {
    Numbers(Vec<f64>),
    Strings(Vec<Option<&'a str>>),
    Labels(Vec<Option<String>>),
}

fn column_data<'a>(table: &'a Table, name: &str, kind: ColumnKind) -> Result<ColumnData<'a>> {
    let dtype = table.schema().require(name)?.dtype;
    Ok(match (kind, dtype) {
        (ColumnKind::Numeric, _) => ColumnData::Numbers(table.numeric_values(name)?),
        (ColumnKind::Categorical, DataType::Categorical | DataType::Text) => {
            ColumnData::Strings(table.string_values(name)?)
        }
        (ColumnKind::Categorical, _) => {
            ColumnData::Labels(crate::summary::category_values(table, name)?)
        }
    })
}

fn push_rows(
    acc: &mut Acc,
    data: &[ColumnData<'_>],
    rows: impl Iterator<Item = usize> + Clone + Send + Sync,
) {
    acc.cols.par_iter_mut().zip(data).for_each(|(sample, col)| {
        for r in rows.clone() {
            sample.rows += 1;
            match col {
                ColumnData::Numbers(v) => {
                    if v[r].is_nan() {
                        sample.missing += 1;
                    } else {
                        sample.values.push(v[r]);
                    }
                }
                ColumnData::Strings(v) => match v[r] {
                    None => sample.missing += 1,
                    Some(s) => match sample.categories.get_mut(s) {
                        Some(c) => *c += 1,
                        None => {
                            sample.categories.insert(s.to_string(), 1);
                        }
                    },
                },
                ColumnData::Labels(v) => match &v[r] {
                    None => sample.missing += 1,
                    Some(s) => *sample.categories.entry(s.clone()).or_default() += 1,
                },
            }
        }
    });
    acc.rows += rows.count() as u64;
}

fn finish_chunk(
    summary: &ReferenceSummary,
    acc: Acc,
    index: usize,
    opts: &DriftOptions,
) -> ChunkDrift {
    let lumped = !summary.raw;
    let mut features: Vec<FeatureDrift> = summary
        .columns
        .par_iter()
        .zip(acc.cols.into_par_iter())
        .map(|(r, s)| drift::compare_column(r, s, opts, lumped))
        .collect();
    drift::decide(&mut features, opts);
    let small_sample = acc.rows < opts.min_rows;
    if small_sample {
        for f in &mut features {
            f.small_sample = true;
            f.drifted = false;
        }
    }
    ChunkDrift {
        index,
        label: acc.label,
        rows: acc.rows,
        small_sample,
        drifted_features: features.iter().filter(|f| f.drifted).count(),
        features,
    }
}

/// Compares `current` (CSV, Parquet or JSON lines) with `summary`, chunk by chunk.
/// `categorical`: numeric columns compared as labels (as when the summary was built).
pub fn drift_file(
    summary: &ReferenceSummary,
    current: &Path,
    chunking: &Chunking,
    opts: &DriftOptions,
    categorical: &[String],
) -> Result<DriftReport> {
    if summary.columns.is_empty() {
        return Err(Error::BadInput {
            message: "no columns to compare".into(),
        });
    }
    if let Chunking::Value { column } = chunking {
        return Err(Error::BadInput {
            message: format!(
                "drift is cut by rows or calendar periods, not by the values of \"{column}\""
            ),
        });
    }
    let names: Vec<String> = summary.columns.iter().map(|c| c.name.clone()).collect();
    let mut select = names.clone();
    let ts_column = match chunking {
        Chunking::Period { column, .. } => {
            if !select.contains(column) {
                select.push(column.clone());
            }
            Some(column.clone())
        }
        _ => None,
    };
    // The reference's types, so that a CSV's columns are read as the reference had them;
    // a number is a number (an integer reference column accepts 1.5 in the current data).
    let mut read = ReadOptions::default();
    for c in &summary.columns {
        let dtype = match c.dtype {
            DataType::Integer | DataType::Float if c.kind == ColumnKind::Numeric => DataType::Float,
            other => other,
        };
        read.types.insert(c.name.clone(), dtype);
    }
    let mut chunks = read_chunks(current, &read, Some(&select), READ_ROWS)?;
    let mut out = Vec::new();
    let mut current_rows = 0u64;
    let mut no_ts = 0u64;
    let row_size = match chunking {
        Chunking::Rows { size } => (*size).max(1),
        _ => u64::MAX,
    };
    let label_rows = |start: u64, rows: u64| {
        if rows == 0 {
            "no rows".to_string()
        } else {
            format!("rows {}–{}", start, start + rows - 1)
        }
    };
    let mut acc = Acc::new(String::new(), names.len());
    let mut acc_start = 0u64;
    let mut periods: BTreeMap<String, Acc> = BTreeMap::new();
    let mut checked = false;
    while let Some(table) = chunks.next_chunk()? {
        if !checked {
            check_types(summary, &table, categorical)?;
            if let Some(ts) = &ts_column {
                let dtype = table.schema().require(ts)?.dtype;
                if dtype != DataType::Datetime {
                    return Err(Error::BadInput {
                        message: format!(
                            "timestamp column \"{ts}\" is {dtype}, but chunking by period needs a datetime column"
                        ),
                    });
                }
            }
            checked = true;
        }
        let n = table.n_rows();
        let data: Vec<ColumnData<'_>> = summary
            .columns
            .iter()
            .map(|c| column_data(&table, &c.name, c.kind))
            .collect::<Result<_>>()?;
        match chunking {
            Chunking::Whole | Chunking::Rows { .. } | Chunking::Value { .. } => {
                let mut off = 0usize;
                while off < n {
                    let take = ((n - off) as u64).min(row_size - acc.rows) as usize;
                    push_rows(&mut acc, &data, off..off + take);
                    off += take;
                    if acc.rows == row_size {
                        let mut done =
                            std::mem::replace(&mut acc, Acc::new(String::new(), names.len()));
                        done.label = label_rows(acc_start, done.rows);
                        acc_start += done.rows;
                        out.push(finish_chunk(summary, done, out.len(), opts));
                    }
                }
            }
            Chunking::Period { column, period } => {
                let ts = table.numeric_values(column)?;
                let mut r = 0usize;
                while r < n {
                    if ts[r].is_nan() {
                        no_ts += 1;
                        r += 1;
                        continue;
                    }
                    let label = period.label(ts[r] as i64);
                    let mut end = r + 1;
                    while end < n && !ts[end].is_nan() && period.label(ts[end] as i64) == label {
                        end += 1;
                    }
                    let a = periods
                        .entry(label.clone())
                        .or_insert_with(|| Acc::new(label, names.len()));
                    push_rows(a, &data, r..end);
                    r = end;
                }
            }
        }
        current_rows += n as u64;
    }
    if current_rows == 0 {
        return Err(Error::BadInput {
            message: format!("{}: the current data has no rows", current.display()),
        });
    }
    match chunking {
        Chunking::Period { column, .. } => {
            if periods.is_empty() {
                return Err(Error::BadInput {
                    message: format!(
                        "timestamp column \"{column}\" has no values: no period to compare"
                    ),
                });
            }
            for (_, a) in periods {
                out.push(finish_chunk(summary, a, out.len(), opts));
            }
        }
        _ => {
            if acc.rows > 0 {
                acc.label = label_rows(acc_start, acc.rows);
                out.push(finish_chunk(summary, acc, out.len(), opts));
            }
        }
    }
    let drifted = out.iter().any(|c| c.drifted_features > 0);
    Ok(DriftReport {
        reference: summary.source.clone(),
        reference_rows: summary.n_rows,
        current: current.display().to_string(),
        current_rows,
        rows_without_timestamp: no_ts,
        chunking: chunking.clone(),
        options: opts.clone(),
        columns: summary
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.kind))
            .collect(),
        chunks: out,
        drifted,
    })
}

/// Every compared column must be compared the same way on both sides.
fn check_types(summary: &ReferenceSummary, table: &Table, categorical: &[String]) -> Result<()> {
    for c in &summary.columns {
        let dtype = table.schema().require(&c.name)?.dtype;
        let kind = column_kind(dtype, categorical.contains(&c.name));
        if kind != c.kind {
            return Err(Error::BadInput {
                message: format!(
                    "column \"{}\" is {} in the reference but {dtype} in the current data: they cannot be compared (declare it categorical on both sides with --categorical)",
                    c.name, c.dtype
                ),
            });
        }
    }
    Ok(())
}
