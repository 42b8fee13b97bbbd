//! Reading and writing a file a chunk of rows at a time, in bounded memory.
//!
//! [`read_chunks`] gives a file's rows as [`TableChunks`]: [`Table`]s of at most a given
//! number of rows, converted by the rules of [`read_table`](super::read_table) (CSV line
//! numbers in errors are the file's, Parquet row numbers count from the file's first row).
//! Only the selected columns are materialized (Parquet does not even decode the others).
//! [`TableWriter`] appends tables to a temporary file and renames it over the output when
//! [`TableWriter::finish`] is called; dropped before that, it leaves nothing behind.
//!
//! A column with no declared type is inferred chunk by chunk, so its type can change from
//! one chunk to the next; callers that need one type for the whole file declare it,
//! inferring it first with [`infer_types`], which reads the file once in bounded memory and
//! gives what a whole-file read would.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;

use super::{
    CsvChunks, Format, ParquetChunks, ParquetSink, ReadOptions, TextStats, TypeGuess, read_table,
    to_logical, write_csv_rows, write_jsonl,
};
use crate::{DataType, Error, Result, Table};

/// How far a [`TableChunks`] has read: rows (Parquet, JSON lines: the count is known
/// up front) or bytes of the file (CSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadProgress {
    /// Rows or bytes read so far.
    pub done: u64,
    /// Rows or bytes in the file.
    pub total: u64,
    /// What `done` and `total` count.
    pub unit: ProgressUnit,
}

/// What a [`ReadProgress`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressUnit {
    /// Rows.
    Rows,
    /// Bytes of the file.
    Bytes,
}

/// A file's rows, a chunk at a time (see [`read_chunks`]).
pub struct TableChunks {
    source: Source,
    names: Vec<String>,
    /// Chunks returned so far.
    chunks: u64,
}

enum Source {
    Csv {
        chunks: Box<CsvChunks<File>>,
        size: u64,
    },
    Parquet(Box<ParquetChunks>),
    /// JSON lines: the file is read whole (its columns appear as keys do, so they are only
    /// known at the end), then handed out in slices.
    Whole {
        table: Table,
        chunk_rows: usize,
        offset: usize,
    },
}

/// Opens `path` (format by extension, as [`read_table`]) to be read `chunk_rows` rows at
/// a time, materializing only the columns in `select` (every column when `None`).
///
/// Declared types ([`ReadOptions::types`]) apply as in [`read_table`]; a declared or
/// selected column the file lacks is [`Error::MissingColumn`], found on opening (a JSON-lines
/// file is read whole on opening). An undeclared column is inferred per chunk.
pub fn read_chunks(
    path: &Path,
    opts: &ReadOptions,
    select: Option<&[String]>,
    chunk_rows: usize,
) -> Result<TableChunks> {
    let chunk_rows = chunk_rows.max(1);
    let shown = path.display().to_string();
    let io_err = |source: std::io::Error| Error::Io {
        path: shown.clone(),
        source,
    };
    let (source, names) = match Format::from_path(path)? {
        format @ (Format::Csv | Format::Tsv) => {
            let delimiter =
                opts.delimiter
                    .unwrap_or(if format == Format::Tsv { b'\t' } else { b',' });
            let file = File::open(path).map_err(io_err)?;
            let size = file.metadata().map_err(io_err)?.len();
            let chunks = CsvChunks::open(file, &shown, opts, delimiter, select, chunk_rows)?;
            let names = chunks.names().to_vec();
            (
                Source::Csv {
                    chunks: Box::new(chunks),
                    size,
                },
                names,
            )
        }
        Format::Parquet => {
            let chunks = ParquetChunks::open(path, opts, select, Some(chunk_rows))?;
            let names = chunks.names.clone();
            (Source::Parquet(Box::new(chunks)), names)
        }
        Format::JsonLines => {
            let table = read_table(path, opts)?;
            let names: Vec<String> = table
                .schema()
                .names()
                .iter()
                .map(|n| n.to_string())
                .collect();
            let table = match select {
                Some(select) => {
                    super::select_columns(&names, opts, Some(select))?;
                    let picked: Vec<&str> = names
                        .iter()
                        .filter(|n| select.contains(n))
                        .map(String::as_str)
                        .collect();
                    table.select(&picked)?
                }
                None => table,
            };
            (
                Source::Whole {
                    table,
                    chunk_rows,
                    offset: 0,
                },
                names,
            )
        }
    };
    Ok(TableChunks {
        source,
        names,
        chunks: 0,
    })
}

impl TableChunks {
    /// Every column of the file, in file order (selected or not).
    pub fn columns(&self) -> &[String] {
        &self.names
    }

    /// How far reading has come.
    pub fn progress(&self) -> ReadProgress {
        match &self.source {
            Source::Csv { chunks, size } => ReadProgress {
                done: chunks.bytes_read().min(*size),
                total: *size,
                unit: ProgressUnit::Bytes,
            },
            Source::Parquet(p) => ReadProgress {
                done: p.rows_read,
                total: p.total_rows,
                unit: ProgressUnit::Rows,
            },
            Source::Whole { table, offset, .. } => ReadProgress {
                done: *offset as u64,
                total: table.n_rows() as u64,
                unit: ProgressUnit::Rows,
            },
        }
    }

    /// The next chunk of at most `chunk_rows` rows, or `None` after the last. A file with no
    /// rows gives one empty chunk (Parquet) or the error [`read_table`] gives (CSV).
    pub fn next_chunk(&mut self) -> Result<Option<Table>> {
        let first = self.chunks == 0;
        let next = match &mut self.source {
            Source::Csv { chunks, .. } => match chunks.next_chunk()? {
                None if first => {
                    return Err(Error::Empty {
                        path: chunks.shown.clone(),
                        message: "the file has a header but no data rows".into(),
                    });
                }
                next => next,
            },
            Source::Parquet(p) => match p.next_chunk()? {
                None if first => {
                    let empty = RecordBatch::new_empty(p.projected.clone());
                    Some(p.convert(&empty, 0)?)
                }
                next => next,
            },
            Source::Whole {
                table,
                chunk_rows,
                offset,
            } => {
                if *offset >= table.n_rows() && !first {
                    None
                } else {
                    let len = (*chunk_rows).min(table.n_rows() - *offset);
                    let batch = table.record_batch().slice(*offset, len);
                    *offset += len;
                    Some(Table::new(
                        table.schema().clone(),
                        batch.columns().to_vec(),
                    )?)
                }
            }
        };
        if next.is_some() {
            self.chunks += 1;
        }
        Ok(next)
    }
}

impl Iterator for TableChunks {
    type Item = Result<Table>;

    fn next(&mut self) -> Option<Result<Table>> {
        self.next_chunk().transpose()
    }
}

/// The types a whole-file [`read_table`] would infer for `columns` of `path` (ignoring any
/// type [`ReadOptions::types`] declares for them, and [`ReadOptions::infer_rows`]: every
/// value counts), found in one pass in bounded memory:
/// CSV values go through the inference rule one at a time ([`super::infer_type`]); Parquet
/// columns have their file's type, string columns categorical or text by the stored schema
/// or their values. A JSON-lines file is read whole.
pub fn infer_types(
    path: &Path,
    opts: &ReadOptions,
    columns: &[String],
) -> Result<BTreeMap<String, DataType>> {
    let mut opts = opts.clone();
    opts.types.retain(|name, _| !columns.contains(name));
    const ROWS: usize = 64 * 1024;
    let mut out = BTreeMap::new();
    match Format::from_path(path)? {
        format @ (Format::Csv | Format::Tsv) => {
            let delimiter =
                opts.delimiter
                    .unwrap_or(if format == Format::Tsv { b'\t' } else { b',' });
            let shown = path.display().to_string();
            let file = File::open(path).map_err(|source| Error::Io {
                path: shown.clone(),
                source,
            })?;
            let mut chunks = CsvChunks::open(file, &shown, &opts, delimiter, Some(columns), ROWS)?;
            let mut guesses: Vec<TypeGuess> = chunks
                .selected
                .iter()
                .map(|_| TypeGuess::default())
                .collect();
            while let Some(raw) = chunks.next_raw()? {
                for (col, guess) in raw.columns.iter().zip(&mut guesses) {
                    col.iter().flatten().for_each(|v| guess.push(v));
                }
            }
            for (&j, guess) in chunks.selected.iter().zip(&guesses) {
                out.insert(chunks.names()[j].clone(), guess.dtype());
            }
        }
        Format::Parquet => {
            let mut chunks = ParquetChunks::open(path, &opts, Some(columns), Some(ROWS))?;
            let names: Vec<String> = chunks
                .projected
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            let mut natural = Vec::with_capacity(names.len());
            for f in chunks.projected.fields() {
                let empty = arrow_array::new_empty_array(f.data_type());
                natural.push(to_logical(f.name(), &empty)?.0);
            }
            let is_text = |d: DataType| matches!(d, DataType::Categorical | DataType::Text);
            let mut text: Vec<TextStats> = names.iter().map(|_| TextStats::default()).collect();
            while let Some(batch) = chunks.next_batch()? {
                for (k, column) in batch.columns().iter().enumerate() {
                    if is_text(natural[k]) {
                        use arrow_array::cast::AsArray;
                        let (_, array) = to_logical(&names[k], column)?;
                        array
                            .as_string::<i32>()
                            .iter()
                            .flatten()
                            .for_each(|v| text[k].push(v));
                    }
                }
            }
            for (k, name) in names.iter().enumerate() {
                let stored = chunks.stored.as_ref().and_then(|s| s.field(name));
                let dtype = match stored {
                    // Categorical and text share a representation: the stored schema says
                    // which, else the values do.
                    Some(f) if is_text(natural[k]) && is_text(f.dtype) => f.dtype,
                    _ if is_text(natural[k]) => text[k].dtype(),
                    _ => natural[k],
                };
                out.insert(name.clone(), dtype);
            }
        }
        Format::JsonLines => {
            let table = read_table(path, &opts)?;
            for name in columns {
                out.insert(name.clone(), table.schema().require(name)?.dtype);
            }
        }
    }
    Ok(out)
}

/// A table written a chunk at a time to a temporary file in the output's directory, renamed
/// over the output by [`TableWriter::finish`]: readers never see half-written output, and
/// a writer dropped before `finish` (a failed run) removes its temporary file and leaves
/// any older output in place. Every table written must have the same schema.
///
/// CSV and JSON lines are appended table by table; Parquet gets the same row groups and
/// bytes as [`write_table`](super::write_table) gives for all the rows at once.
pub struct TableWriter {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
    sink: Sink,
    rows: u64,
}

enum Sink {
    Csv {
        writer: Box<csv::Writer<BufWriter<File>>>,
        header: bool,
    },
    JsonLines(BufWriter<File>),
    /// Created with the first table, which gives the schema.
    Parquet(Option<Box<ParquetSink<BufWriter<File>>>>),
}

impl TableWriter {
    /// Starts writing `path` (CSV, TSV, Parquet or JSON lines by extension). The output
    /// gets the usual mode for new files (0666 less the umask), not a temporary file's 0600.
    pub fn create(path: &Path) -> Result<Self> {
        let format = Format::from_path(path)?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let io_err = |source: std::io::Error| Error::Io {
            path: path.display().to_string(),
            source,
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".slipway-write-").suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder.tempfile_in(dir).map_err(io_err)?;
        let out = BufWriter::with_capacity(1 << 16, tmp.as_file().try_clone().map_err(io_err)?);
        let sink = match format {
            Format::Csv | Format::Tsv => Sink::Csv {
                writer: Box::new(
                    csv::WriterBuilder::new()
                        .delimiter(if format == Format::Tsv { b'\t' } else { b',' })
                        .from_writer(out),
                ),
                header: false,
            },
            Format::JsonLines => Sink::JsonLines(out),
            Format::Parquet => {
                drop(out);
                Sink::Parquet(None)
            }
        };
        Ok(TableWriter {
            path: path.to_path_buf(),
            tmp,
            sink,
            rows: 0,
        })
    }

    /// Appends `table`'s rows.
    pub fn write(&mut self, table: &Table) -> Result<()> {
        let io_err = |source: std::io::Error| Error::Io {
            path: self.path.display().to_string(),
            source,
        };
        match &mut self.sink {
            Sink::Csv { writer, header } => {
                if !*header {
                    writer
                        .write_record(table.schema().names())
                        .map_err(|e| super::csv_write_error(e, &self.path))?;
                    *header = true;
                }
                write_csv_rows(table, writer, &self.path)?;
            }
            Sink::JsonLines(out) => write_jsonl(table, out).map_err(io_err)?,
            Sink::Parquet(sink) => {
                if sink.is_none() {
                    let out = BufWriter::with_capacity(
                        1 << 16,
                        self.tmp.as_file().try_clone().map_err(io_err)?,
                    );
                    *sink = Some(Box::new(ParquetSink::new(table.schema(), out, &self.path)?));
                }
                if let Some(sink) = sink {
                    sink.write(table)?;
                }
            }
        }
        self.rows += table.n_rows() as u64;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes, syncs and renames the file over the output.
    pub fn finish(self) -> Result<()> {
        let io_err = |source: std::io::Error| Error::Io {
            path: self.path.display().to_string(),
            source,
        };
        match self.sink {
            Sink::Csv { mut writer, .. } => {
                writer.flush().map_err(io_err)?;
            }
            Sink::JsonLines(mut out) => out.flush().map_err(io_err)?,
            Sink::Parquet(None) => {
                return Err(Error::Internal(format!(
                    "writing {}: no table was given, so the Parquet schema is unknown",
                    self.path.display()
                )));
            }
            Sink::Parquet(Some(sink)) => {
                sink.finish()?.flush().map_err(io_err)?;
            }
        }
        self.tmp.as_file().sync_all().map_err(io_err)?;
        self.tmp.persist(&self.path).map_err(|e| io_err(e.error))?;
        Ok(())
    }
}
