//! A Parquet file's row groups as units of work: how many there are, and a copy of some of
//! them (for one pod of a batch-scoring job, see `slipway predict --k8s-worker`).

use std::fs::File;
use std::path::Path;

use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::{Error, Result};

fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|source| Error::Io {
        path: shown.clone(),
        source,
    })?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| Error::Unreadable {
        path: shown,
        message: format!("not a readable Parquet file: {e}"),
    })
}

/// The number of row groups of the Parquet file at `path`, and its rows.
pub fn parquet_row_groups(path: &Path) -> Result<(usize, u64)> {
    let b = open(path)?;
    let m = b.metadata();
    Ok((
        m.num_row_groups(),
        m.row_groups().iter().map(|g| g.num_rows() as u64).sum(),
    ))
}

/// Writes row groups `groups` (in that order) of the Parquet file at `path` to `out`, with
/// the same schema and key-value metadata (so a Slipway schema stored in it still applies);
/// returns the rows copied.
pub fn copy_parquet_row_groups(path: &Path, groups: &[usize], out: &Path) -> Result<u64> {
    let b = open(path)?;
    let n = b.metadata().num_row_groups();
    if let Some(g) = groups.iter().find(|&&g| g >= n) {
        return Err(Error::Internal(format!(
            "{}: row group {g} asked for, the file has {n}",
            path.display()
        )));
    }
    let schema = b.schema().clone();
    let reader = b
        .with_row_groups(groups.to_vec())
        .build()
        .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
    let shown = out.display().to_string();
    let file = File::create(out).map_err(|source| Error::Io {
        path: shown.clone(),
        source,
    })?;
    let write_err = |e: parquet::errors::ParquetError| Error::Internal(format!("{shown}: {e}"));
    let mut w = ArrowWriter::try_new(file, schema, None).map_err(write_err)?;
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| Error::Unreadable {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        rows += batch.num_rows() as u64;
        w.write(&batch).map_err(write_err)?;
    }
    w.close().map_err(write_err)?;
    Ok(rows)
}
