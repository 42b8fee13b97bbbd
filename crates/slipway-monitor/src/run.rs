//! A drift run over a current file: the file is streamed a block of rows at a time
//! ([`slipway_data::ingest::read_chunks`]), its rows are split into chunks by row
//! count or by time period ([`Chunking`]), and each chunk is compared with the
//! [`ReferenceSummary`] column by column (in parallel) as soon as it is complete, so memory
//! holds one chunk's values (row chunks; period chunks are kept until the file ends, as rows
//! of a period may come in any order). A Parquet file is read by several readers at once,
//! each decoding its own group of columns ([`drift_file`]).

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use slipway_data::ingest::{Format, ReadOptions, read_chunks};
use slipway_data::{DataType, Table};

use crate::drift::{self, ColumnSample, DriftOptions, FeatureDrift, Stat};
use crate::summary::{ColumnKind, ColumnReference, ReferenceSummary, column_kind};
use crate::tally::Values;
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
    cols: Vec<Values>,
}

impl Acc {
    fn new(label: String, n: usize) -> Acc {
        Acc {
            label,
            rows: 0,
            cols: vec![Values::default(); n],
        }
    }
}

/// Adds `rows` of `table` to `acc`, one column per task.
fn push_rows(
    acc: &mut Acc,
    table: &Table,
    columns: &[&ColumnReference],
    rows: std::ops::Range<usize>,
) -> Result<()> {
    acc.cols
        .par_iter_mut()
        .zip(columns)
        .try_for_each(|(values, c)| match c.kind {
            ColumnKind::Numeric => values.push_numbers(table, &c.name, rows.clone()),
            ColumnKind::Categorical => values.push_labels(table, &c.name, rows.clone()),
        })?;
    acc.rows += rows.len() as u64;
    Ok(())
}

/// One chunk of one column group: its label, rows and the group's features (not yet
/// decided: the decision corrects p-values across every column of the chunk).
struct GroupChunk {
    label: String,
    rows: u64,
    features: Vec<FeatureDrift>,
}

fn finish_chunk(
    columns: &[&ColumnReference],
    lumped: bool,
    acc: Acc,
    opts: &DriftOptions,
) -> GroupChunk {
    let features: Vec<FeatureDrift> = columns
        .par_iter()
        .zip(acc.cols.into_par_iter())
        .map(|(r, v)| {
            let sample = ColumnSample {
                rows: v.rows,
                missing: v.missing,
                values: v.numbers,
                categories: v.labels.into_map(),
            };
            drift::compare_column(r, sample, opts, lumped)
        })
        .collect();
    GroupChunk {
        label: acc.label,
        rows: acc.rows,
        features,
    }
}

/// What one column group's pass over the current file found.
struct GroupRun {
    chunks: Vec<GroupChunk>,
    current_rows: u64,
    rows_without_timestamp: u64,
}

/// The compared columns cut into `n` groups of about equal work (numeric columns first,
/// dealt in turn), each group's column indices ascending.
fn column_groups(summary: &ReferenceSummary, n: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..summary.columns.len()).collect();
    order.sort_by_key(|&i| summary.columns[i].kind != ColumnKind::Numeric);
    let n = n.clamp(1, order.len().max(1));
    let mut groups = vec![Vec::new(); n];
    for (k, i) in order.into_iter().enumerate() {
        groups[k % n].push(i);
    }
    for g in &mut groups {
        g.sort_unstable();
    }
    groups.retain(|g| !g.is_empty());
    groups
}

/// Compares `current` (CSV, Parquet or JSON lines) with `summary`, chunk by chunk.
/// `categorical`: numeric columns compared as labels (as when the summary was built).
///
/// A Parquet file is read by one reader per group of columns, the groups in parallel
/// (as many as rayon has threads): each decodes only its own columns, so decoding is
/// spread over the cores too. Other formats are read once, the columns in parallel.
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
    let all: Vec<usize> = (0..summary.columns.len()).collect();
    let groups = match Format::from_path(current)? {
        Format::Parquet => {
            // Opening every column once (the footer only) reports a missing column or a
            // bad timestamp column the way a single reader would.
            let mut select: Vec<String> = summary.columns.iter().map(|c| c.name.clone()).collect();
            if let Chunking::Period { column, .. } = chunking
                && !select.contains(column)
            {
                select.push(column.clone());
            }
            drop(read_chunks(current, &read, Some(&select), 1)?);
            column_groups(summary, rayon::current_num_threads())
        }
        _ => vec![all],
    };
    let runs: Vec<Result<GroupRun>> = groups
        .par_iter()
        .map(|g| drift_group(summary, g, current, &read, chunking, opts, categorical))
        .collect();
    let mut parts = Vec::with_capacity(runs.len());
    for r in runs {
        parts.push(r?);
    }
    let first = &parts[0];
    let (current_rows, no_ts) = (first.current_rows, first.rows_without_timestamp);
    if current_rows == 0 {
        return Err(Error::BadInput {
            message: format!("{}: the current data has no rows", current.display()),
        });
    }
    if let Chunking::Period { column, .. } = chunking
        && first.chunks.is_empty()
    {
        return Err(Error::BadInput {
            message: format!("timestamp column \"{column}\" has no values: no period to compare"),
        });
    }
    // Every group cut the same chunks: put each chunk's features back in column order.
    let n_chunks = first.chunks.len();
    if parts
        .iter()
        .any(|p| p.chunks.len() != n_chunks || p.current_rows != current_rows)
    {
        return Err(Error::Internal(
            "the column groups read different rows of the current file".into(),
        ));
    }
    let mut slots: Vec<Vec<Option<FeatureDrift>>> = (0..n_chunks)
        .map(|_| vec![None; summary.columns.len()])
        .collect();
    let mut heads: Vec<(String, u64)> = Vec::with_capacity(n_chunks);
    for (g, part) in groups.iter().zip(parts) {
        for (k, chunk) in part.chunks.into_iter().enumerate() {
            match heads.get(k) {
                None => heads.push((chunk.label, chunk.rows)),
                Some((label, rows)) if *label == chunk.label && *rows == chunk.rows => {}
                Some(_) => {
                    return Err(Error::Internal(
                        "the column groups cut different chunks".into(),
                    ));
                }
            }
            for (&i, f) in g.iter().zip(chunk.features) {
                slots[k][i] = Some(f);
            }
        }
    }
    let mut out = Vec::with_capacity(n_chunks);
    for (index, ((label, rows), slot)) in heads.into_iter().zip(slots).enumerate() {
        let mut features: Vec<FeatureDrift> = slot
            .into_iter()
            .collect::<Option<_>>()
            .ok_or_else(|| Error::Internal("a column was not compared".into()))?;
        drift::decide(&mut features, opts);
        let small_sample = rows < opts.min_rows;
        if small_sample {
            for f in &mut features {
                f.small_sample = true;
                f.drifted = false;
            }
        }
        out.push(ChunkDrift {
            index,
            label,
            rows,
            small_sample,
            drifted_features: features.iter().filter(|f| f.drifted).count(),
            features,
        });
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

/// One pass over `current` reading the columns `group` (indices into the summary's
/// columns) and the timestamp column, cutting chunks and comparing each as it completes.
fn drift_group(
    summary: &ReferenceSummary,
    group: &[usize],
    current: &Path,
    read: &ReadOptions,
    chunking: &Chunking,
    opts: &DriftOptions,
    categorical: &[String],
) -> Result<GroupRun> {
    let columns: Vec<&ColumnReference> = group.iter().map(|&i| &summary.columns[i]).collect();
    let lumped = !summary.raw;
    let n = columns.len();
    let mut select: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let ts_column = match chunking {
        Chunking::Period { column, .. } => {
            if !select.contains(column) {
                select.push(column.clone());
            }
            Some(column.clone())
        }
        _ => None,
    };
    let mut chunks = read_chunks(current, read, Some(&select), READ_ROWS)?;
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
    let mut acc = Acc::new(String::new(), n);
    let mut acc_start = 0u64;
    let mut periods: BTreeMap<String, Acc> = BTreeMap::new();
    let mut checked = false;
    while let Some(table) = chunks.next_chunk()? {
        if !checked {
            check_types(&columns, &table, categorical)?;
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
        let rows = table.n_rows();
        match chunking {
            Chunking::Whole | Chunking::Rows { .. } | Chunking::Value { .. } => {
                let mut off = 0usize;
                while off < rows {
                    let take = ((rows - off) as u64).min(row_size - acc.rows) as usize;
                    push_rows(&mut acc, &table, &columns, off..off + take)?;
                    off += take;
                    if acc.rows == row_size {
                        let mut done = std::mem::replace(&mut acc, Acc::new(String::new(), n));
                        done.label = label_rows(acc_start, done.rows);
                        acc_start += done.rows;
                        out.push(finish_chunk(&columns, lumped, done, opts));
                    }
                }
            }
            Chunking::Period { column, period } => {
                let ts = table.numeric_values(column)?;
                let mut r = 0usize;
                while r < rows {
                    if ts[r].is_nan() {
                        no_ts += 1;
                        r += 1;
                        continue;
                    }
                    let label = period.label(ts[r] as i64);
                    let mut end = r + 1;
                    while end < rows && !ts[end].is_nan() && period.label(ts[end] as i64) == label {
                        end += 1;
                    }
                    let a = periods
                        .entry(label.clone())
                        .or_insert_with(|| Acc::new(label, n));
                    push_rows(a, &table, &columns, r..end)?;
                    r = end;
                }
            }
        }
        current_rows += rows as u64;
    }
    match chunking {
        Chunking::Period { .. } => {
            for (_, a) in periods {
                out.push(finish_chunk(&columns, lumped, a, opts));
            }
        }
        _ => {
            if acc.rows > 0 {
                acc.label = label_rows(acc_start, acc.rows);
                out.push(finish_chunk(&columns, lumped, acc, opts));
            }
        }
    }
    Ok(GroupRun {
        chunks: out,
        current_rows,
        rows_without_timestamp: no_ts,
    })
}

/// Every compared column must be compared the same way on both sides.
fn check_types(columns: &[&ColumnReference], table: &Table, categorical: &[String]) -> Result<()> {
    for c in columns {
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
