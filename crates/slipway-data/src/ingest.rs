//! Reading and writing tables: CSV/TSV, Parquet and JSON lines.
//!
//! [`read_table`] picks the format from the file extension, infers each column's logical
//! [`DataType`] (see [`infer_type`]) unless [`ReadOptions::types`] declares it, and returns a
//! [`Table`]. [`write_table`] writes a table back out atomically, and [`fingerprint`] hashes a
//! file so that a model can record exactly which data it was trained on.
//!
//! Every error names the file; errors about a value also name the line (CSV, JSON lines) or
//! row (Parquet), the column, the value and the rule.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow_schema::{DataType as ArrowType, TimeUnit};
use chrono::{NaiveDate, NaiveTime};
use sha2::{Digest, Sha256};

use crate::{DataType, Error, Field, Result, Role, Schema, Table};

mod row_groups;
mod stream;

pub use row_groups::{copy_parquet_row_groups, parquet_row_groups};
pub use stream::{ProgressUnit, ReadProgress, TableChunks, TableWriter, infer_types, read_chunks};

/// The key under which [`write_table`] stores the Slipway schema (logical types and roles)
/// in a Parquet file's metadata, so that reading the file back gives the same table.
pub const PARQUET_SCHEMA_KEY: &str = "slipway:schema";

/// How to read a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    /// The CSV field separator. `None`: `,`, or a tab for `.tsv` files.
    pub delimiter: Option<u8>,
    /// Values (after trimming whitespace) that mean "missing" in CSV files. JSON lines use
    /// `null` or an absent key instead; Parquet has its own nulls.
    pub missing_tokens: Vec<String>,
    /// Declared types by column name. A declared column is parsed as that type, and a value
    /// that does not parse is an error naming the file, line, column, value and type.
    pub types: BTreeMap<String, DataType>,
    /// How many rows type inference looks at (`None`: all). If a later value does not fit the
    /// inferred type, the column is widened (integer → float → … → text), never an error.
    pub infer_rows: Option<usize>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            delimiter: None,
            missing_tokens: ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            types: BTreeMap::new(),
            infer_rows: None,
        }
    }
}

impl ReadOptions {
    /// The same options with column `name` declared as `dtype`.
    pub fn with_type(mut self, name: impl Into<String>, dtype: DataType) -> Self {
        self.types.insert(name.into(), dtype);
        self
    }
}

/// The file formats [`read_table`] and [`write_table`] understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma- (or otherwise) separated values: `.csv`, `.txt`.
    Csv,
    /// Tab-separated values: `.tsv`.
    Tsv,
    /// Apache Parquet: `.parquet`, `.pq`.
    Parquet,
    /// One JSON object per line: `.jsonl`, `.ndjson`.
    JsonLines,
}

impl Format {
    /// The format implied by a path's extension (case-insensitive).
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .unwrap_or_default();
        Ok(match ext.as_str() {
            "csv" | "txt" => Format::Csv,
            "tsv" => Format::Tsv,
            "parquet" | "pq" => Format::Parquet,
            "jsonl" | "ndjson" => Format::JsonLines,
            _ => {
                return Err(Error::UnsupportedFormat {
                    path: path.display().to_string(),
                });
            }
        })
    }
}

/// Reads a table from `path`, choosing the format by extension: `.csv`, `.tsv`, `.txt` (CSV),
/// `.parquet`, `.pq`, `.jsonl`, `.ndjson`.
///
/// CSV files need a header row; fields may be quoted (`"Smith, Ann"`, `""` for a quote,
/// line breaks inside quotes), and whitespace around every value is trimmed (`" Male"` reads
/// as `Male`; this applies to quoted values too). Blank lines are skipped.
///
/// Column types come from [`ReadOptions::types`] where declared, from the Slipway schema
/// stored in Parquet files written by [`write_table`], and otherwise from [`infer_type`].
/// Every column gets the [`Role::Feature`] role unless the file stored another.
pub fn read_table(path: &Path, opts: &ReadOptions) -> Result<Table> {
    match Format::from_path(path)? {
        Format::Csv => read_csv(path, opts, opts.delimiter.unwrap_or(b',')),
        Format::Tsv => read_csv(path, opts, opts.delimiter.unwrap_or(b'\t')),
        Format::Parquet => read_parquet(path, opts),
        Format::JsonLines => read_jsonl(path, opts),
    }
}

/// Writes `table` to `path` as CSV, Parquet or JSON lines (by extension; `.tsv` is written
/// tab-separated).
///
/// The table is written to a temporary file in the same directory, which is then renamed
/// over `path`: readers never see half-written output, and a failed write leaves any older
/// file in place. The file gets the usual mode for new files (0666 less the umask), not a
/// temporary file's 0600. Parquet files also store the Slipway schema (types and roles) so that
/// [`read_table`] gives back the same table.
pub fn write_table(table: &Table, path: &Path) -> Result<()> {
    let mut writer = TableWriter::create(path)?;
    writer.write(table)?;
    writer.finish()
}

/// The SHA-256 of a file's bytes, as `"sha256:<64 hex digits>"`.
pub fn fingerprint(path: &Path) -> Result<String> {
    let io_err = |source: std::io::Error| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let mut file = File::open(path).map_err(io_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// The logical type of a column of text values (`None` is missing), by this rule:
///
/// 1. no non-missing values → [`DataType::Categorical`];
/// 2. every value parses as a 64-bit integer (`-12`, `+7`) → [`DataType::Integer`];
/// 3. every value parses as a finite number (`1.5`, `1e-3`, `.5`; not `inf` or `nan`) →
///    [`DataType::Float`];
/// 4. every value is `true` or `false` (any case) → [`DataType::Boolean`];
/// 5. every value is an ISO-8601 date (`2024-01-31`) or date-time (`2024-01-31T10:00:00`,
///    `T` or a space between, optional fraction of a second, optional `Z` or `+hh:mm` offset;
///    no offset means UTC) → [`DataType::Datetime`];
/// 6. otherwise text-like: [`DataType::Text`] when the values are long or wordy (mean length
///    at least 30 characters, or more than half the values with at least 4
///    whitespace-separated words) *and* the column has high cardinality (more than
///    [`TEXT_MIN_DISTINCT`] distinct values, and either more distinct values than half the
///    non-missing values or more than [`TEXT_ALWAYS_DISTINCT`]); else
///    [`DataType::Categorical`]. Wordy labels with few levels (`"Married, spouse present"`)
///    are categories, not free text.
pub fn infer_type(values: &[Option<&str>]) -> DataType {
    let present: Vec<&str> = values.iter().flatten().copied().collect();
    infer_present(&present)
}

fn infer_present(present: &[&str]) -> DataType {
    if present.is_empty() {
        return DataType::Categorical;
    }
    for dtype in CASCADE {
        if present.iter().all(|v| parses_as(v, dtype)) {
            return dtype;
        }
    }
    text_or_categorical(present.iter().copied())
}

/// The types inference tries, in order, before falling back to text-like types.
const CASCADE: [DataType; 4] = [
    DataType::Integer,
    DataType::Float,
    DataType::Boolean,
    DataType::Datetime,
];

fn parses_as(v: &str, dtype: DataType) -> bool {
    match dtype {
        DataType::Integer => parse_int(v).is_some(),
        DataType::Float => parse_float(v).is_some(),
        DataType::Boolean => parse_bool_strict(v).is_some(),
        DataType::Datetime => parse_datetime(v).is_some(),
        DataType::Categorical | DataType::Text => true,
    }
}

/// A text-like column with at most this many distinct values is categorical, however long
/// or wordy its values.
pub const TEXT_MIN_DISTINCT: usize = 20;

/// A long or wordy column with more distinct values than this is text even when values
/// repeat often (otherwise text needs more distinct values than half its non-missing values).
pub const TEXT_ALWAYS_DISTINCT: usize = 1000;

/// Text when the values are long (mean ≥ 30 characters) or wordy (most values ≥ 4 words)
/// and the column has high cardinality (see [`infer_type`], rule 6); else categorical.
pub(crate) fn text_or_categorical<'a>(values: impl Iterator<Item = &'a str>) -> DataType {
    let mut stats = TextStats::default();
    values.for_each(|v| stats.push(v));
    stats.dtype()
}

/// What rule 6 of [`infer_type`] needs to know about a column's values, gathered one value
/// at a time in bounded memory: distinct values are counted only up to one more than
/// [`TEXT_ALWAYS_DISTINCT`], past which the answer no longer depends on the count.
#[derive(Default)]
pub(crate) struct TextStats {
    n: usize,
    chars: usize,
    wordy: usize,
    distinct: std::collections::HashSet<String>,
}

impl TextStats {
    pub(crate) fn push(&mut self, v: &str) {
        self.n += 1;
        self.chars += v.chars().count();
        if v.split_whitespace().nth(3).is_some() {
            self.wordy += 1;
        }
        if self.distinct.len() <= TEXT_ALWAYS_DISTINCT && !self.distinct.contains(v) {
            self.distinct.insert(v.to_string());
        }
    }

    pub(crate) fn dtype(&self) -> DataType {
        let n = self.n;
        let long_or_wordy = n > 0 && (self.chars >= 30 * n || 2 * self.wordy > n);
        let d = self.distinct.len();
        let high_cardinality = d > TEXT_MIN_DISTINCT && (2 * d > n || d > TEXT_ALWAYS_DISTINCT);
        if long_or_wordy && high_cardinality {
            DataType::Text
        } else {
            DataType::Categorical
        }
    }
}

/// [`infer_type`] over a column given one value at a time, in bounded memory: the same
/// answer as inferring from all of the column's values at once.
#[derive(Default)]
pub(crate) struct TypeGuess {
    /// Whether any value is present.
    present: bool,
    /// Whether some value failed each type of [`CASCADE`].
    failed: [bool; CASCADE.len()],
    text: TextStats,
}

impl TypeGuess {
    pub(crate) fn push(&mut self, v: &str) {
        self.present = true;
        for (failed, dtype) in self.failed.iter_mut().zip(CASCADE) {
            if !*failed && !parses_as(v, dtype) {
                *failed = true;
            }
        }
        self.text.push(v);
    }

    pub(crate) fn dtype(&self) -> DataType {
        if !self.present {
            return DataType::Categorical;
        }
        match self.failed.iter().position(|f| !f) {
            Some(k) => CASCADE[k],
            None => self.text.dtype(),
        }
    }
}

/// Whether `v` reads as `dtype` in a column declared with that type.
pub(crate) fn parses_declared(v: &str, dtype: DataType) -> bool {
    match dtype {
        DataType::Boolean => parse_bool_declared(v).is_some(),
        other => parses_as(v, other),
    }
}

fn parse_int(v: &str) -> Option<i64> {
    v.parse().ok()
}

fn parse_float(v: &str) -> Option<f64> {
    // Rust accepts "inf", "NaN", "infinity": those are not numbers a user typed as data.
    v.parse::<f64>().ok().filter(|x| x.is_finite())
}

fn parse_bool_strict(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Booleans in a declared column: true/false, yes/no, y/n, t/f, 1/0 (any case).
fn parse_bool_declared(v: &str) -> Option<bool> {
    const TRUE: [&str; 5] = ["true", "yes", "y", "t", "1"];
    const FALSE: [&str; 5] = ["false", "no", "n", "f", "0"];
    if TRUE.iter().any(|t| v.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|t| v.eq_ignore_ascii_case(t)) {
        Some(false)
    } else {
        None
    }
}

/// An ISO-8601 date or date-time as UTC epoch milliseconds.
pub(crate) fn parse_datetime(v: &str) -> Option<i64> {
    let b = v.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || !v.is_char_boundary(10) {
        return None;
    }
    let date = NaiveDate::parse_from_str(&v[..10], "%Y-%m-%d").ok()?;
    if b.len() == 10 {
        return Some(date.and_time(NaiveTime::MIN).and_utc().timestamp_millis());
    }
    if !matches!(b[10], b'T' | b't' | b' ') || !v.is_char_boundary(11) {
        return None;
    }
    let (time, offset_secs) = split_offset(&v[11..])?;
    let time = NaiveTime::parse_from_str(time, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M"))
        .ok()?;
    Some(date.and_time(time).and_utc().timestamp_millis() - offset_secs * 1000)
}

/// Splits `10:00:00+02:00` into the time and the offset in seconds east of UTC.
fn split_offset(rest: &str) -> Option<(&str, i64)> {
    if let Some(time) = rest.strip_suffix(['Z', 'z']) {
        return Some((time, 0));
    }
    let Some(pos) = rest.find(['+', '-']) else {
        return Some((rest, 0));
    };
    let sign = if rest.as_bytes()[pos] == b'-' { -1 } else { 1 };
    let off = &rest[pos + 1..];
    let digits: String = off.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|c| c.is_ascii_digit()) || !matches!(digits.len(), 2 | 4) {
        return None;
    }
    if off.contains(':') && off.len() != 5 {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = if digits.len() == 4 {
        digits[2..].parse().ok()?
    } else {
        0
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((&rest[..pos], sign * (hours * 3600 + minutes * 60)))
}

// ---------------------------------------------------------------------------------------------
// Raw columns: text values as read, before types are decided.

/// One column's values as text, stored contiguously (no allocation per cell).
#[derive(Default)]
struct RawColumn {
    text: String,
    /// End offset in `text` of each value; a missing value has an empty span.
    ends: Vec<usize>,
    present: Vec<bool>,
}

impl RawColumn {
    fn push(&mut self, v: &str) {
        self.text.push_str(v);
        self.ends.push(self.text.len());
        self.present.push(true);
    }

    /// Pushes a value written in place (a JSON number's text, without a `String` of its own).
    fn push_display(&mut self, v: impl std::fmt::Display) {
        use std::fmt::Write as _;
        // Writing to a `String` cannot fail.
        let _ = write!(self.text, "{v}");
        self.ends.push(self.text.len());
        self.present.push(true);
    }

    fn push_missing(&mut self) {
        self.ends.push(self.text.len());
        self.present.push(false);
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Removes the last value.
    fn pop(&mut self) {
        if self.ends.pop().is_some() {
            self.present.pop();
            let end = self.ends.last().copied().unwrap_or(0);
            self.text.truncate(end);
        }
    }

    fn get(&self, i: usize) -> Option<&str> {
        if !self.present[i] {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.text[start..self.ends[i]])
    }

    fn iter(&self) -> impl Iterator<Item = Option<&str>> {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// A column's values as bytes while a CSV file is read. UTF-8 is checked once per column
/// at the end ([`RawBytes::into_text`]), which is much cheaper than once per value.
#[derive(Default)]
struct RawBytes {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    present: Vec<bool>,
}

impl RawBytes {
    fn push(&mut self, v: &[u8]) {
        self.bytes.extend_from_slice(v);
        self.ends.push(self.bytes.len());
        self.present.push(true);
    }

    fn push_missing(&mut self) {
        self.ends.push(self.bytes.len());
        self.present.push(false);
    }

    /// The column as text, or the first row whose value is not valid UTF-8.
    fn into_text(self) -> std::result::Result<RawColumn, usize> {
        let row_at = |offset: usize| self.ends.partition_point(|&end| end <= offset);
        let text = match String::from_utf8(self.bytes) {
            Ok(text) => text,
            Err(e) => return Err(row_at(e.utf8_error().valid_up_to())),
        };
        // Valid as a whole, but a character could still straddle two values.
        if let Some(row) = self
            .ends
            .iter()
            .position(|&end| !text.is_char_boundary(end))
        {
            return Err(row);
        }
        Ok(RawColumn {
            text,
            ends: self.ends,
            present: self.present,
        })
    }
}

/// Columns of text read from a file, with the line each row came from.
struct RawTable {
    names: Vec<String>,
    columns: Vec<RawColumn>,
    lines: Vec<u64>,
}

/// Where raw values came from, for errors: a file (CSV, JSON lines: `lines` hold 1-based
/// line numbers; Parquet: rows) or rows given in memory (`lines` hold 0-based row indices).
#[derive(Clone, Copy)]
enum Origin<'a> {
    File(&'a str),
    Rows,
}

/// How a type failure is reported: CSV/JSON lines name a line, Parquet a row, rows in
/// memory their index.
fn value_error(origin: Origin<'_>, line: u64, column: &str, value: &str, dtype: DataType) -> Error {
    let what = match dtype {
        DataType::Integer => "an integer",
        DataType::Float => "a number",
        DataType::Boolean => "a boolean (true/false, yes/no, 1/0)",
        DataType::Datetime => "an ISO-8601 date or date-time",
        DataType::Categorical => "categorical",
        DataType::Text => "text",
    };
    match origin {
        Origin::File(path) => Error::Malformed {
            path: path.to_string(),
            line,
            message: format!("column \"{column}\": value \"{value}\" is not {what}"),
        },
        Origin::Rows => Error::BadValue {
            row: usize::try_from(line).unwrap_or(usize::MAX),
            column: column.to_string(),
            value: value.chars().take(200).collect(),
            expected: what.to_string(),
        },
    }
}

/// Parses raw text as `dtype`; `Err(i)` is the first row that does not parse.
fn convert(
    raw: &RawColumn,
    dtype: DataType,
    declared: bool,
) -> std::result::Result<ArrayRef, usize> {
    fn collect<T>(
        raw: &RawColumn,
        parse: impl Fn(&str) -> Option<T>,
    ) -> std::result::Result<Vec<Option<T>>, usize> {
        let mut out = Vec::with_capacity(raw.len());
        for (i, v) in raw.iter().enumerate() {
            out.push(match v {
                None => None,
                Some(s) => Some(parse(s).ok_or(i)?),
            });
        }
        Ok(out)
    }
    Ok(match dtype {
        DataType::Integer => Arc::new(Int64Array::from(collect(raw, parse_int)?)),
        DataType::Float => Arc::new(Float64Array::from(collect(raw, parse_float)?)),
        DataType::Boolean => {
            let parse = if declared {
                parse_bool_declared
            } else {
                parse_bool_strict
            };
            Arc::new(BooleanArray::from(collect(raw, parse)?))
        }
        DataType::Datetime => Arc::new(TimestampMillisecondArray::from(collect(
            raw,
            parse_datetime,
        )?)),
        DataType::Categorical | DataType::Text => Arc::new(StringArray::from_iter(raw.iter())),
    })
}

/// Types and converts every raw column into a [`Table`].
fn build_table(raw: RawTable, opts: &ReadOptions, origin: Origin<'_>) -> Result<Table> {
    check_declared(&raw.names, opts)?;
    let mut fields = Vec::with_capacity(raw.names.len());
    let mut arrays = Vec::with_capacity(raw.names.len());
    for (name, col) in raw.names.iter().zip(&raw.columns) {
        let (dtype, array) = type_column(name, col, opts, origin, &raw.lines)?;
        fields.push(Field::new(name.clone(), dtype));
        arrays.push(array);
    }
    Table::new(Schema::new(fields)?, arrays)
}

/// One raw column as its declared type, or as the type inferred from its values.
fn type_column(
    name: &str,
    col: &RawColumn,
    opts: &ReadOptions,
    origin: Origin<'_>,
    lines: &[u64],
) -> Result<(DataType, ArrayRef)> {
    Ok(match opts.types.get(name).copied() {
        Some(dtype) => match convert(col, dtype, true) {
            Ok(a) => (dtype, a),
            Err(i) => {
                return Err(value_error(
                    origin,
                    lines[i],
                    name,
                    col.get(i).unwrap_or_default(),
                    dtype,
                ));
            }
        },
        None => infer_and_convert(col, opts.infer_rows),
    })
}

/// Rows given in memory (the body of a prediction request), typed by the same rules as a
/// file: a declared column ([`ReadOptions::types`]) is parsed as its type, the others are
/// inferred. JSON values are read as [`read_table`] reads a JSON-lines file: `null` is
/// missing, a number or boolean is read from its text, a string as it is; nested arrays and
/// objects are refused. Errors name the row (its 0-based index among the rows given) and
/// the column.
#[derive(Default)]
pub struct Rows {
    names: Vec<String>,
    index: HashMap<String, usize>,
    columns: Vec<JsonColumn>,
    n_rows: usize,
}

/// A column of JSON values. While every value given is a number (or missing), the numbers
/// are kept as they are and their text is not written: a column declared as a number then
/// becomes an array directly ([`JsonColumn::typed`]), which is what parsing the text would
/// give (a JSON number's text reads back as the same `f64`, and an integer's as the same
/// `i64`). The first value of another kind writes the numbers' text, and from then on the
/// column is text like a file's.
#[derive(Default)]
struct JsonColumn {
    raw: RawColumn,
    /// The numbers not yet written as text, one per present value, while `raw` holds only
    /// their presence (empty spans).
    numbers: Vec<serde_json::Number>,
    /// Whether the values are text in `raw` (once any value was not a number).
    spelled: bool,
}

impl JsonColumn {
    fn len(&self) -> usize {
        self.raw.len()
    }

    fn push_missing(&mut self) {
        self.raw.push_missing();
    }

    fn pop(&mut self) {
        if !self.spelled && self.raw.present.last() == Some(&true) {
            self.numbers.pop();
        }
        self.raw.pop();
    }

    /// Writes the numbers kept so far as text, as a JSON-lines file holds them.
    fn spell(&mut self) {
        if self.spelled {
            return;
        }
        self.spelled = true;
        let present = std::mem::take(&mut self.raw.present);
        self.raw.ends.clear();
        self.raw.text.clear();
        let mut numbers = std::mem::take(&mut self.numbers).into_iter();
        for p in present {
            match p.then(|| numbers.next()).flatten() {
                Some(n) => self.raw.push_display(n),
                None => self.raw.push_missing(),
            }
        }
    }

    /// Appends one JSON value, as a JSON-lines file is read.
    fn push(&mut self, value: &serde_json::Value, row: usize, name: &str) -> Result<()> {
        if let serde_json::Value::Number(n) = value {
            if self.spelled {
                self.raw.push_display(n);
            } else {
                self.numbers.push(n.clone());
                self.raw.push_missing();
                if let Some(p) = self.raw.present.last_mut() {
                    *p = true;
                }
            }
            return Ok(());
        }
        if !value.is_null() {
            self.spell();
        }
        push_json(&mut self.raw, value, row, name)
    }

    /// The column as an array of `dtype` without going through text, where every value is
    /// a number that reads as one exactly; `None` otherwise.
    fn typed(&self, dtype: DataType) -> Option<ArrayRef> {
        if self.spelled {
            return None;
        }
        let mut numbers = self.numbers.iter();
        let present = self.raw.present.iter();
        match dtype {
            DataType::Float => {
                let values: Vec<Option<f64>> = present
                    .map(|&p| if p { numbers.next()?.as_f64() } else { None })
                    .collect();
                Some(Arc::new(Float64Array::from(values)))
            }
            DataType::Integer if self.numbers.iter().all(serde_json::Number::is_i64) => {
                let values: Vec<Option<i64>> = present
                    .map(|&p| if p { numbers.next()?.as_i64() } else { None })
                    .collect();
                Some(Arc::new(Int64Array::from(values)))
            }
            _ => None,
        }
    }
}

impl Rows {
    /// No rows, no columns yet (columns appear as objects name them).
    pub fn new() -> Self {
        Rows::default()
    }

    /// No rows, with these columns (for rows given as value lists); a repeated name is an
    /// error.
    pub fn with_columns(names: &[String]) -> Result<Self> {
        let mut rows = Rows::new();
        for name in names {
            if rows.index.contains_key(name) {
                return Err(Error::BadRow {
                    row: 0,
                    message: format!("column \"{name}\" is named twice"),
                });
            }
            rows.add_column(name);
        }
        Ok(rows)
    }

    fn add_column(&mut self, name: &str) -> usize {
        let mut col = JsonColumn::default();
        (0..self.n_rows).for_each(|_| col.push_missing());
        self.columns.push(col);
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), self.columns.len() - 1);
        self.columns.len() - 1
    }

    /// How many rows have been added.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// The column names, in the order they first appeared.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Adds one row given as `(column, value)` pairs; columns it does not name are missing
    /// in it. A column named twice in the row is an error.
    pub fn push_object<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'a str, &'a serde_json::Value)>,
    ) -> Result<()> {
        let row = self.n_rows;
        for (name, value) in pairs {
            let j = match self.index.get(name) {
                Some(&j) => j,
                None => self.add_column(name),
            };
            if self.columns[j].len() > row {
                self.rollback(row);
                return Err(Error::BadRow {
                    row,
                    message: format!("column \"{name}\" appears twice"),
                });
            }
            if let Err(e) = self.columns[j].push(value, row, name) {
                self.rollback(row);
                return Err(e);
            }
        }
        for col in &mut self.columns {
            if col.len() == row {
                col.push_missing();
            }
        }
        self.n_rows += 1;
        Ok(())
    }

    /// Adds one row given as values in column order ([`Rows::with_columns`]); the count
    /// must match.
    pub fn push_values<'a>(
        &mut self,
        values: impl ExactSizeIterator<Item = &'a serde_json::Value>,
    ) -> Result<()> {
        let row = self.n_rows;
        if values.len() != self.columns.len() {
            return Err(Error::BadRow {
                row,
                message: format!(
                    "the row has {} values but there are {} columns",
                    values.len(),
                    self.columns.len()
                ),
            });
        }
        for (j, value) in values.enumerate() {
            if let Err(e) = self.columns[j].push(value, row, &self.names[j]) {
                self.rollback(row);
                return Err(e);
            }
        }
        self.n_rows += 1;
        Ok(())
    }

    /// Drops whatever a failed row added (columns it introduced stay, all missing).
    fn rollback(&mut self, row: usize) {
        for col in &mut self.columns {
            while col.len() > row {
                col.pop();
            }
        }
    }

    /// The rows as a [`Table`], each column typed by `opts` (declared) or inferred.
    pub fn build(self, opts: &ReadOptions) -> Result<Table> {
        check_declared(&self.names, opts)?;
        let lines: Vec<u64> = (0..self.n_rows as u64).collect();
        let mut fields = Vec::with_capacity(self.names.len());
        let mut arrays = Vec::with_capacity(self.names.len());
        for (name, mut col) in self.names.into_iter().zip(self.columns) {
            let declared = opts.types.get(&name).copied();
            let (dtype, array) = match declared.and_then(|d| Some((d, col.typed(d)?))) {
                Some(typed) => typed,
                None => {
                    col.spell();
                    type_column(&name, &col.raw, opts, Origin::Rows, &lines)?
                }
            };
            fields.push(Field::new(name, dtype));
            arrays.push(array);
        }
        Table::new(Schema::new(fields)?, arrays)
    }
}

/// Appends one JSON value to a raw column, as a JSON-lines file is read.
fn push_json(col: &mut RawColumn, value: &serde_json::Value, row: usize, name: &str) -> Result<()> {
    match value {
        serde_json::Value::Null => col.push_missing(),
        serde_json::Value::Bool(b) => col.push(if *b { "true" } else { "false" }),
        serde_json::Value::Number(n) => col.push_display(n),
        serde_json::Value::String(s) => col.push(s),
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
            return Err(Error::BadRow {
                row,
                message: format!(
                    "column \"{name}\": nested {} are not supported; send one value per column",
                    if value.is_array() {
                        "arrays"
                    } else {
                        "objects"
                    }
                ),
            });
        }
    }
    Ok(())
}

/// Infers from the first `infer_rows` rows, then converts all rows, widening the type along
/// [`CASCADE`] when a later value does not fit.
fn infer_and_convert(col: &RawColumn, infer_rows: Option<usize>) -> (DataType, ArrayRef) {
    if !col.present.contains(&true) {
        return (
            DataType::Categorical,
            Arc::new(StringArray::new_null(col.len())),
        );
    }
    let start = match infer_rows {
        // Converting is inferring: trying each type in turn on every row gives the same
        // answer as `infer_type` on all rows, without a separate pass.
        None => DataType::Integer,
        Some(n) => {
            let sample: Vec<&str> = col.iter().take(n).flatten().collect();
            infer_present(&sample)
        }
    };
    if let Some(pos) = CASCADE.iter().position(|t| *t == start) {
        for &dtype in &CASCADE[pos..] {
            if let Ok(array) = convert(col, dtype, false) {
                return (dtype, array);
            }
        }
    }
    let dtype = if matches!(start, DataType::Categorical | DataType::Text) {
        start
    } else {
        text_or_categorical(col.iter().flatten())
    };
    (dtype, Arc::new(StringArray::from_iter(col.iter())))
}

/// A declared type for a column the file does not have is a typo worth reporting.
fn check_declared(names: &[String], opts: &ReadOptions) -> Result<()> {
    for declared in opts.types.keys() {
        if !names.iter().any(|n| n == declared) {
            return Err(Error::MissingColumn {
                name: declared.clone(),
                available: names.join(", "),
            });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// CSV

fn read_csv(path: &Path, opts: &ReadOptions, delimiter: u8) -> Result<Table> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|source| Error::Io {
        path: shown.clone(),
        source,
    })?;
    read_csv_from(file, &shown, opts, delimiter)
}

/// Reads CSV text held in memory (a request body) as [`read_table`] reads a CSV file: a
/// header row, the same missing-value tokens, declared types and inference. Errors name
/// `source` and the line within `bytes`.
pub fn read_csv_bytes(bytes: &[u8], source: &str, opts: &ReadOptions) -> Result<Table> {
    read_csv_from(bytes, source, opts, opts.delimiter.unwrap_or(b','))
}

fn read_csv_from(file: impl Read, shown: &str, opts: &ReadOptions, delimiter: u8) -> Result<Table> {
    let mut chunks = CsvChunks::open(file, shown, opts, delimiter, None, usize::MAX)?;
    match chunks.next_chunk()? {
        Some(table) => Ok(table),
        None => Err(Error::Empty {
            path: shown.to_string(),
            message: "the file has a header but no data rows".into(),
        }),
    }
}

/// A CSV file read a chunk of rows at a time: the whole file is one chunk for
/// [`read_table`], a bounded number of rows for [`read_chunks`]. Line numbers in errors are
/// the file's, whatever the chunk.
pub(crate) struct CsvChunks<R> {
    reader: csv::Reader<R>,
    record: csv::ByteRecord,
    shown: String,
    /// Every column of the header, in file order.
    names: Vec<String>,
    /// The positions (in `names`) of the columns materialized, in file order.
    selected: Vec<usize>,
    /// `selected[k]` for each field of a row, or `None` for a field not read.
    slot: Vec<Option<usize>>,
    /// The options with only the selected columns' declared types.
    opts: ReadOptions,
    missing: Vec<Vec<u8>>,
    chunk_rows: usize,
    finished: bool,
}

impl<R: Read> CsvChunks<R> {
    /// Reads the header. `select`: the columns to materialize (all when `None`); a declared
    /// or selected column the header lacks is [`Error::MissingColumn`].
    pub(crate) fn open(
        file: R,
        shown: &str,
        opts: &ReadOptions,
        delimiter: u8,
        select: Option<&[String]>,
        chunk_rows: usize,
    ) -> Result<Self> {
        let shown = shown.to_string();
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(file);
        let mut record = csv::ByteRecord::new();
        if !reader
            .read_byte_record(&mut record)
            .map_err(|e| csv_error(e, &shown))?
        {
            return Err(Error::Empty {
                path: shown,
                message: "the file is empty; a header row is required".into(),
            });
        }
        let header_line = record.position().map_or(1, |p| p.line());
        let names = header_names(&record, header_line, &|line, message| Error::Malformed {
            path: shown.clone(),
            line,
            message,
        })?;
        let (selected, opts) = select_columns(&names, opts, select)?;
        let mut slot = vec![None; names.len()];
        for (k, &j) in selected.iter().enumerate() {
            slot[j] = Some(k);
        }
        Ok(CsvChunks {
            reader,
            record,
            shown,
            names,
            selected,
            slot,
            missing: opts
                .missing_tokens
                .iter()
                .map(|t| t.as_bytes().to_vec())
                .collect(),
            opts,
            chunk_rows: chunk_rows.max(1),
            finished: false,
        })
    }

    /// The next rows (at most `chunk_rows`), or `None` at the end of the file.
    pub(crate) fn next_chunk(&mut self) -> Result<Option<Table>> {
        match self.next_raw()? {
            None => Ok(None),
            Some(raw) => build_table(raw, &self.opts, Origin::File(&self.shown)).map(Some),
        }
    }

    /// The next rows' selected columns as text, before types are decided.
    fn next_raw(&mut self) -> Result<Option<RawTable>> {
        if self.finished {
            return Ok(None);
        }
        let n_cols = self.names.len();
        let mut raw: Vec<RawBytes> = (0..self.selected.len())
            .map(|_| RawBytes::default())
            .collect();
        let mut lines = Vec::new();
        while lines.len() < self.chunk_rows {
            if !self
                .reader
                .read_byte_record(&mut self.record)
                .map_err(|e| csv_error(e, &self.shown))?
            {
                self.finished = true;
                break;
            }
            let line = self.record.position().map_or(0, |p| p.line());
            if self.record.len() != n_cols {
                return Err(Error::Malformed {
                    path: self.shown.clone(),
                    line,
                    message: format!("row has {} fields, header has {n_cols}", self.record.len()),
                });
            }
            for (field, slot) in self.record.iter().zip(&self.slot) {
                let Some(k) = *slot else { continue };
                let field = field.trim_ascii();
                if self.missing.iter().any(|m| m.as_slice() == field) {
                    raw[k].push_missing();
                } else {
                    raw[k].push(field);
                }
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return Ok(None);
        }
        let mut columns = Vec::with_capacity(raw.len());
        let names: Vec<String> = self
            .selected
            .iter()
            .map(|&j| self.names[j].clone())
            .collect();
        for (col, name) in raw.into_iter().zip(&names) {
            columns.push(col.into_text().map_err(|row| Error::Malformed {
                path: self.shown.clone(),
                line: lines[row],
                message: format!(
                    "column \"{name}\": value is not valid UTF-8; save the file as UTF-8"
                ),
            })?);
        }
        Ok(Some(RawTable {
            names,
            columns,
            lines,
        }))
    }

    /// Every column of the header, in file order.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// Bytes read so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }
}

/// The positions of the columns to materialize (`select`, or all), in file order, and
/// `opts` with only their declared types. A declared or selected column that `names` lacks
/// is [`Error::MissingColumn`].
fn select_columns(
    names: &[String],
    opts: &ReadOptions,
    select: Option<&[String]>,
) -> Result<(Vec<usize>, ReadOptions)> {
    check_declared(names, opts)?;
    let Some(select) = select else {
        return Ok(((0..names.len()).collect(), opts.clone()));
    };
    if let Some(absent) = select.iter().find(|s| !names.contains(s)) {
        return Err(Error::MissingColumn {
            name: absent.clone(),
            available: names.join(", "),
        });
    }
    let selected: Vec<usize> = (0..names.len())
        .filter(|&j| select.contains(&names[j]))
        .collect();
    let mut opts = opts.clone();
    opts.types.retain(|name, _| select.contains(name));
    Ok((selected, opts))
}

fn csv_error(e: csv::Error, shown: &str) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(source) => Error::Io {
            path: shown.to_string(),
            source,
        },
        other => Error::Malformed {
            path: shown.to_string(),
            line,
            message: format!("{other:?}"),
        },
    }
}

fn header_names(
    record: &csv::ByteRecord,
    line: u64,
    malformed: &dyn Fn(u64, String) -> Error,
) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::with_capacity(record.len());
    for (i, raw) in record.iter().enumerate() {
        let name = std::str::from_utf8(raw.trim_ascii()).map_err(|_| {
            malformed(
                line,
                format!("header: column {} name is not valid UTF-8", i + 1),
            )
        })?;
        let name = name.trim_start_matches('\u{feff}').trim();
        if name.is_empty() {
            return Err(malformed(
                line,
                format!("header: column {} has an empty name", i + 1),
            ));
        }
        if let Some(first) = names.iter().position(|n| n == name) {
            return Err(malformed(
                line,
                format!(
                    "header: column name \"{name}\" appears twice (columns {} and {})",
                    first + 1,
                    i + 1
                ),
            ));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// Each column's values as text, for writers. Floats use Rust's shortest round-trip form
/// (`1.0`, `0.1`, `1e-7`) so that a float column reads back as float.
enum Cells<'a> {
    Int(&'a Int64Array),
    Float(&'a Float64Array),
    Bool(&'a BooleanArray),
    Str(&'a StringArray),
    Time(&'a TimestampMillisecondArray),
}

impl<'a> Cells<'a> {
    fn of(table: &'a Table) -> Result<Vec<Cells<'a>>> {
        let batch = table.record_batch();
        table
            .schema()
            .fields
            .iter()
            .zip(batch.columns())
            .map(|(f, c)| {
                let bad = || Error::Internal(format!("column \"{}\" has the wrong array", f.name));
                Ok(match f.dtype {
                    DataType::Integer => Cells::Int(c.as_any().downcast_ref().ok_or_else(bad)?),
                    DataType::Float => Cells::Float(c.as_any().downcast_ref().ok_or_else(bad)?),
                    DataType::Boolean => Cells::Bool(c.as_any().downcast_ref().ok_or_else(bad)?),
                    DataType::Categorical | DataType::Text => {
                        Cells::Str(c.as_any().downcast_ref().ok_or_else(bad)?)
                    }
                    DataType::Datetime => Cells::Time(c.as_any().downcast_ref().ok_or_else(bad)?),
                })
            })
            .collect()
    }

    fn is_null(&self, row: usize) -> bool {
        match self {
            Cells::Int(a) => a.is_null(row),
            Cells::Float(a) => a.is_null(row),
            Cells::Bool(a) => a.is_null(row),
            Cells::Str(a) => a.is_null(row),
            Cells::Time(a) => a.is_null(row),
        }
    }

    fn text(&self, row: usize) -> Option<Cow<'a, str>> {
        if self.is_null(row) {
            return None;
        }
        Some(match self {
            Cells::Int(a) => Cow::Owned(a.value(row).to_string()),
            Cells::Float(a) => Cow::Owned(format!("{:?}", a.value(row))),
            Cells::Bool(a) => Cow::Borrowed(if a.value(row) { "true" } else { "false" }),
            Cells::Str(a) => Cow::Borrowed(a.value(row)),
            Cells::Time(a) => Cow::Owned(format_millis(a.value(row))),
        })
    }

    fn json(&self, row: usize, out: &mut String) {
        use std::fmt::Write as _;
        if self.is_null(row) {
            out.push_str("null");
            return;
        }
        match self {
            Cells::Int(a) => {
                let _ = write!(out, "{}", a.value(row));
            }
            Cells::Float(a) if a.value(row).is_finite() => {
                let _ = write!(out, "{:?}", a.value(row));
            }
            Cells::Float(_) => out.push_str("null"),
            Cells::Bool(a) => out.push_str(if a.value(row) { "true" } else { "false" }),
            Cells::Str(a) => push_json_string(out, a.value(row)),
            Cells::Time(a) => push_json_string(out, &format_millis(a.value(row))),
        }
    }
}

fn format_millis(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

fn push_json_string(out: &mut String, s: &str) {
    // Serializing a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// Writes the rows of `table` (no header) to a CSV writer.
fn write_csv_rows<W: Write>(table: &Table, w: &mut csv::Writer<W>, path: &Path) -> Result<()> {
    let cells = Cells::of(table)?;
    let mut row_text: Vec<Cow<str>> = Vec::with_capacity(cells.len());
    for row in 0..table.n_rows() {
        row_text.clear();
        row_text.extend(cells.iter().map(|c| c.text(row).unwrap_or_default()));
        w.write_record(row_text.iter().map(|s| s.as_bytes()))
            .map_err(|e| csv_write_error(e, path))?;
    }
    Ok(())
}

fn csv_write_error(e: csv::Error, path: &Path) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(source) => Error::Io {
            path: path.display().to_string(),
            source,
        },
        other => Error::Internal(format!("writing CSV: {other:?}")),
    }
}

// ---------------------------------------------------------------------------------------------
// JSON lines

/// One JSON object with its keys in file order (serde_json's map would sort them).
struct OrderedObject(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for OrderedObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<OrderedObject, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
                    entries.push(entry);
                }
                Ok(OrderedObject(entries))
            }
        }
        d.deserialize_map(Visitor)
    }
}

fn read_jsonl(path: &Path, opts: &ReadOptions) -> Result<Table> {
    let shown = path.display().to_string();
    let io_err = |source: std::io::Error| Error::Io {
        path: shown.clone(),
        source,
    };
    let malformed = |line: u64, message: String| Error::Malformed {
        path: shown.clone(),
        line,
        message,
    };
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path).map_err(io_err)?);
    let mut names: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut columns: Vec<RawColumn> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf).map_err(io_err)? == 0 {
            break;
        }
        line_no += 1;
        let text = buf.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let object: OrderedObject = serde_json::from_slice(text).map_err(|e| {
            let message = e.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m);
            malformed(
                line_no,
                format!("invalid JSON at column {}: {message}", e.column()),
            )
        })?;
        let row = lines.len();
        for (key, value) in object.0 {
            let j = match index.get(&key) {
                Some(&j) => j,
                None => {
                    let mut col = RawColumn::default();
                    (0..row).for_each(|_| col.push_missing());
                    columns.push(col);
                    names.push(key.clone());
                    index.insert(key.clone(), columns.len() - 1);
                    columns.len() - 1
                }
            };
            let col = &mut columns[j];
            if col.len() > row {
                return Err(malformed(line_no, format!("key \"{key}\" appears twice")));
            }
            match value {
                serde_json::Value::Null => col.push_missing(),
                serde_json::Value::Bool(b) => col.push(if b { "true" } else { "false" }),
                serde_json::Value::Number(n) => col.push_display(n),
                serde_json::Value::String(s) => col.push(&s),
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                    return Err(malformed(
                        line_no,
                        format!(
                            "key \"{key}\": nested {} are not supported; flatten the data into \
                             one value per key",
                            if value.is_array() {
                                "arrays"
                            } else {
                                "objects"
                            }
                        ),
                    ));
                }
            }
        }
        for col in &mut columns {
            if col.len() == row {
                col.push_missing();
            }
        }
        lines.push(line_no);
    }
    if lines.is_empty() || names.is_empty() {
        return Err(Error::Empty {
            path: shown,
            message: if lines.is_empty() {
                "the file has no JSON objects".into()
            } else {
                "the JSON objects have no keys".into()
            },
        });
    }
    build_table(
        RawTable {
            names,
            columns,
            lines,
        },
        opts,
        Origin::File(&shown),
    )
}

fn write_jsonl(table: &Table, out: &mut dyn Write) -> std::io::Result<()> {
    let cells = Cells::of(table).map_err(std::io::Error::other)?;
    let keys: Vec<String> = table
        .schema()
        .names()
        .iter()
        .map(|n| serde_json::to_string(n).unwrap_or_default())
        .collect();
    let mut line = String::new();
    for row in 0..table.n_rows() {
        line.clear();
        line.push('{');
        for (j, (key, c)) in keys.iter().zip(&cells).enumerate() {
            if j > 0 {
                line.push(',');
            }
            line.push_str(key);
            line.push(':');
            c.json(row, &mut line);
        }
        line.push_str("}\n");
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Parquet

fn read_parquet(path: &Path, opts: &ReadOptions) -> Result<Table> {
    let mut chunks = ParquetChunks::open(path, opts, None, None)?;
    let mut batches = Vec::new();
    while let Some(batch) = chunks.next_batch()? {
        batches.push(batch);
    }
    let batch = arrow_select::concat::concat_batches(&chunks.projected, &batches)?;
    chunks.convert(&batch, 0)
}

/// A Parquet file read by record batches (of `batch_rows` rows, across row groups), only
/// the selected columns decoded, each batch converted to a [`Table`] as [`read_table`]
/// converts the whole file.
pub(crate) struct ParquetChunks {
    reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
    path: std::path::PathBuf,
    /// Every column of the file, in file order.
    names: Vec<String>,
    /// The schema of the batches read (the selected columns).
    projected: arrow_schema::SchemaRef,
    /// The Slipway schema [`write_table`] stored, if any.
    stored: Option<Schema>,
    opts: ReadOptions,
    /// The file's row count, from its metadata.
    total_rows: u64,
    rows_read: u64,
}

impl ParquetChunks {
    /// Opens `path` and checks the declared and selected columns (`select`: all when
    /// `None`). `batch_rows`: `None` for the reader's default.
    pub(crate) fn open(
        path: &Path,
        opts: &ReadOptions,
        select: Option<&[String]>,
        batch_rows: Option<usize>,
    ) -> Result<Self> {
        use parquet::arrow::ProjectionMask;
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let shown = path.display().to_string();
        let file = File::open(path).map_err(|source| Error::Io {
            path: shown.clone(),
            source,
        })?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| parquet_unreadable(path, &e))?;
        let arrow_schema = builder.schema().clone();
        let stored: Option<Schema> = arrow_schema
            .metadata()
            .get(PARQUET_SCHEMA_KEY)
            .and_then(|s| serde_json::from_str(s).ok());
        let names: Vec<String> = arrow_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let total_rows = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
        let (selected, opts) = match select {
            // A whole-file read checks declared columns after reading, as it always has.
            None => ((0..names.len()).collect(), opts.clone()),
            Some(_) => select_columns(&names, opts, select)?,
        };
        let mask = ProjectionMask::roots(builder.parquet_schema(), selected.iter().copied());
        let projected = Arc::new(arrow_schema.project(&selected)?);
        let reader = builder
            .with_projection(mask)
            .with_batch_size(batch_rows.unwrap_or(64 * 1024).max(1))
            .build()
            .map_err(|e| parquet_unreadable(path, &e))?;
        Ok(ParquetChunks {
            reader,
            path: path.to_path_buf(),
            names,
            projected,
            stored,
            opts,
            total_rows,
            rows_read: 0,
        })
    }

    /// The next record batch as the file stores it, or `None` at the end.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        match self.reader.next() {
            None => Ok(None),
            Some(batch) => {
                let batch = batch.map_err(|e| parquet_unreadable(&self.path, &e))?;
                self.rows_read += batch.num_rows() as u64;
                Ok(Some(batch))
            }
        }
    }

    /// The next batch as a [`Table`], or `None` at the end.
    pub(crate) fn next_chunk(&mut self) -> Result<Option<Table>> {
        let first_row = self.rows_read;
        match self.next_batch()? {
            None => Ok(None),
            Some(batch) => self.convert(&batch, first_row).map(Some),
        }
    }

    /// Converts `batch` (of the projected columns, whose first row is the file's row
    /// `first_row`, 0-based) to Slipway's types: the declared type where there is one, else
    /// the stored schema's or the natural type of the Arrow column.
    fn convert(&self, batch: &RecordBatch, first_row: u64) -> Result<Table> {
        check_declared(&self.names, &self.opts)?;
        let mut fields = Vec::with_capacity(batch.num_columns());
        let mut arrays = Vec::with_capacity(batch.num_columns());
        for (f, column) in self.projected.fields().iter().zip(batch.columns()) {
            let name = f.name();
            let (natural, array) = to_logical(name, column)?;
            let stored_field = self.stored.as_ref().and_then(|s| s.field(name));
            let role = stored_field.map_or(Role::Feature, |f| f.role);
            let natural = match (natural, stored_field) {
                // Categorical and text share a representation: the stored schema says which.
                (DataType::Categorical | DataType::Text, Some(f))
                    if matches!(f.dtype, DataType::Categorical | DataType::Text) =>
                {
                    f.dtype
                }
                _ => natural,
            };
            let (dtype, array) = match self.opts.types.get(name) {
                Some(&want) if want != natural => (
                    want,
                    cast_logical(name, &array, natural, want, &self.path, first_row)?,
                ),
                _ => (natural, array),
            };
            fields.push(Field::new(name.clone(), dtype).with_role(role));
            arrays.push(array);
        }
        Table::new(Schema::new(fields)?, arrays)
    }
}

fn parquet_unreadable(path: &Path, e: &dyn std::fmt::Display) -> Error {
    Error::Unreadable {
        path: path.display().to_string(),
        message: format!("not a readable Parquet file: {e}"),
    }
}

/// Maps an Arrow column of any supported physical type to its Slipway representation.
fn to_logical(name: &str, column: &ArrayRef) -> Result<(DataType, ArrayRef)> {
    fn ints<T: arrow_array::ArrowPrimitiveType>(
        c: &ArrayRef,
        f: impl Fn(T::Native) -> Option<i64>,
    ) -> Option<ArrayRef> {
        let a = c.as_primitive::<T>();
        let mut out = Vec::with_capacity(a.len());
        for v in a.iter() {
            out.push(match v {
                None => None,
                Some(x) => Some(f(x)?),
            });
        }
        Some(Arc::new(Int64Array::from(out)))
    }
    let unsupported = || Error::WrongType {
        column: name.to_string(),
        expected: "a number, boolean, string, date or timestamp column".into(),
        actual: format!("the Parquet/Arrow type {}", column.data_type()),
    };
    let overflow = || Error::WrongType {
        column: name.to_string(),
        expected: "unsigned values that fit a signed 64-bit integer".into(),
        actual: "a UInt64 column with larger values".into(),
    };
    Ok(match column.data_type() {
        ArrowType::Int64 => (DataType::Integer, column.clone()),
        ArrowType::Int8 => (
            DataType::Integer,
            ints::<Int8Type>(column, |x| Some(x.into())).ok_or_else(overflow)?,
        ),
        ArrowType::Int16 => (
            DataType::Integer,
            ints::<Int16Type>(column, |x| Some(x.into())).ok_or_else(overflow)?,
        ),
        ArrowType::Int32 => (
            DataType::Integer,
            ints::<Int32Type>(column, |x| Some(x.into())).ok_or_else(overflow)?,
        ),
        ArrowType::UInt8 => (
            DataType::Integer,
            ints::<UInt8Type>(column, |x| Some(x.into())).ok_or_else(overflow)?,
        ),
        ArrowType::UInt16 => (
            DataType::Integer,
            ints::<UInt16Type>(column, |x| Some(x.into())).ok_or_else(overflow)?,
        ),
        ArrowType::UInt32 => (
            DataType::Integer,
            ints::<UInt32Type>(column, |x| Some(x.into())).ok_or_else(overflow)?,
        ),
        ArrowType::UInt64 => (
            DataType::Integer,
            ints::<UInt64Type>(column, |x| i64::try_from(x).ok()).ok_or_else(overflow)?,
        ),
        ArrowType::Float64 => (DataType::Float, column.clone()),
        ArrowType::Float32 => {
            let a = column.as_primitive::<Float32Type>();
            (
                DataType::Float,
                Arc::new(Float64Array::from_iter(a.iter().map(|v| v.map(f64::from)))),
            )
        }
        ArrowType::Decimal128(_, scale) => {
            let scale = 10f64.powi(i32::from(*scale));
            let a = column.as_primitive::<arrow_array::types::Decimal128Type>();
            (
                DataType::Float,
                Arc::new(Float64Array::from_iter(
                    a.iter().map(|v| v.map(|x| x as f64 / scale)),
                )),
            )
        }
        ArrowType::Boolean => (DataType::Boolean, column.clone()),
        ArrowType::Timestamp(unit, _) => {
            let ms: Vec<Option<i64>> = match unit {
                TimeUnit::Second => column
                    .as_primitive::<TimestampSecondType>()
                    .iter()
                    .map(|v| v.map(|x| x.saturating_mul(1000)))
                    .collect(),
                TimeUnit::Millisecond => column
                    .as_primitive::<TimestampMillisecondType>()
                    .iter()
                    .collect(),
                TimeUnit::Microsecond => column
                    .as_primitive::<TimestampMicrosecondType>()
                    .iter()
                    .map(|v| v.map(|x| x.div_euclid(1000)))
                    .collect(),
                TimeUnit::Nanosecond => column
                    .as_primitive::<TimestampNanosecondType>()
                    .iter()
                    .map(|v| v.map(|x| x.div_euclid(1_000_000)))
                    .collect(),
            };
            (
                DataType::Datetime,
                Arc::new(TimestampMillisecondArray::from(ms)),
            )
        }
        ArrowType::Date32 => {
            let a = column.as_primitive::<Date32Type>();
            (
                DataType::Datetime,
                Arc::new(TimestampMillisecondArray::from_iter(
                    a.iter().map(|v| v.map(|d| i64::from(d) * 86_400_000)),
                )),
            )
        }
        ArrowType::Date64 => {
            let a = column.as_primitive::<Date64Type>();
            (
                DataType::Datetime,
                Arc::new(TimestampMillisecondArray::from_iter(a.iter())),
            )
        }
        ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View | ArrowType::Null => {
            strings(column).ok_or_else(unsupported)?
        }
        ArrowType::Dictionary(_, value_type)
            if matches!(
                value_type.as_ref(),
                ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View
            ) =>
        {
            let dict = column.as_any_dictionary();
            let decoded = arrow_select::take::take(dict.values().as_ref(), dict.keys(), None)?;
            strings(&decoded).ok_or_else(unsupported)?
        }
        _ => return Err(unsupported()),
    })
}

/// A string-like Arrow column as a Utf8 column, typed categorical or text by its values.
fn strings(column: &ArrayRef) -> Option<(DataType, ArrayRef)> {
    let array: StringArray = match column.data_type() {
        ArrowType::Utf8 => column.as_string::<i32>().clone(),
        ArrowType::LargeUtf8 => StringArray::from_iter(column.as_string::<i64>().iter()),
        ArrowType::Utf8View => StringArray::from_iter(column.as_string_view().iter()),
        ArrowType::Null => StringArray::new_null(column.len()),
        _ => return None,
    };
    let dtype = text_or_categorical(array.iter().flatten());
    Some((dtype, Arc::new(array)))
}

/// Converts a column between logical types where that makes sense (numbers to text, text to
/// numbers, integers to floats, whole floats to integers, 0/1 to booleans).
fn cast_logical(
    name: &str,
    array: &ArrayRef,
    from: DataType,
    to: DataType,
    path: &Path,
    first_row: u64,
) -> Result<ArrayRef> {
    let not_castable = || Error::WrongType {
        column: name.to_string(),
        expected: format!("a column that can be read as {to}"),
        actual: from.to_string(),
    };
    let as_f64 = |i: usize| -> f64 {
        match from {
            DataType::Integer => array.as_primitive::<Int64Type>().value(i) as f64,
            DataType::Float => array.as_primitive::<Float64Type>().value(i),
            DataType::Boolean => f64::from(u8::from(array.as_boolean().value(i))),
            _ => f64::NAN,
        }
    };
    let numeric_from = matches!(
        from,
        DataType::Integer | DataType::Float | DataType::Boolean
    );
    match (from, to) {
        (DataType::Categorical | DataType::Text, _) => {
            let raw = raw_from_strings(array.as_string::<i32>());
            convert(&raw, to, true).map_err(|i| {
                value_error(
                    Origin::File(&path.display().to_string()),
                    first_row + i as u64 + 1,
                    name,
                    raw.get(i).unwrap_or_default(),
                    to,
                )
            })
        }
        (_, DataType::Categorical | DataType::Text) => {
            let table = Table::new(
                Schema::new(vec![Field::new(name, from)])?,
                vec![array.clone()],
            )?;
            let cells = Cells::of(&table)?;
            Ok(Arc::new(StringArray::from_iter(
                (0..array.len()).map(|i| cells[0].text(i)),
            )))
        }
        (_, DataType::Float) if numeric_from => Ok(Arc::new(Float64Array::from_iter(
            (0..array.len()).map(|i| (!array.is_null(i)).then(|| as_f64(i))),
        ))),
        (_, DataType::Integer | DataType::Boolean) if numeric_from => {
            let mut ints = Vec::with_capacity(array.len());
            for i in 0..array.len() {
                if array.is_null(i) {
                    ints.push(None);
                    continue;
                }
                let x = as_f64(i);
                let ok = x.fract() == 0.0
                    && x.abs() < 9.0e15
                    && (to == DataType::Integer || x == 0.0 || x == 1.0);
                if !ok {
                    return Err(value_error(
                        Origin::File(&path.display().to_string()),
                        first_row + i as u64 + 1,
                        name,
                        &format!("{x:?}"),
                        to,
                    ));
                }
                ints.push(Some(x as i64));
            }
            Ok(if to == DataType::Integer {
                Arc::new(Int64Array::from(ints))
            } else {
                Arc::new(BooleanArray::from_iter(
                    ints.into_iter().map(|v| v.map(|x| x == 1)),
                ))
            })
        }
        _ => Err(not_castable()),
    }
}

fn raw_from_strings(a: &StringArray) -> RawColumn {
    let mut raw = RawColumn::default();
    for v in a.iter() {
        match v {
            Some(s) => raw.push(s),
            None => raw.push_missing(),
        }
    }
    raw
}

/// `table` as the bytes of a Parquet file (Snappy, with the Slipway schema in its metadata,
/// as [`write_table`] writes it), for a store that takes whole objects.
pub fn parquet_bytes(table: &Table) -> Result<Vec<u8>> {
    parquet_bytes_with(table, &[])
}

/// [`parquet_bytes`], with the named columns written without dictionary encoding: for
/// columns whose values are all different (ids), where building a dictionary only costs time.
pub fn parquet_bytes_with(table: &Table, plain: &[&str]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut sink = ParquetSink::with_plain(table.schema(), &mut out, Path::new("<memory>"), plain)?;
    sink.write(table)?;
    sink.finish()?;
    Ok(out)
}

/// Rows handed to the Parquet writer at a time, however they arrive: the writer cuts pages
/// at boundaries counted within each call, so fixed slices make the file's bytes the same
/// whether a table is written whole or a few rows at a time. A divisor of the default row
/// group size (1024 × 1024 rows) and a multiple of the default write batch size (1024).
const PARQUET_WRITE_ROWS: usize = 64 * 1024;

/// A Parquet file written a table at a time (every table with the same schema): Snappy,
/// the Slipway schema (types and roles) in the file's metadata, row groups of the writer's
/// default size.
pub(crate) struct ParquetSink<W: Write + Send> {
    writer: parquet::arrow::ArrowWriter<W>,
    schema: Schema,
    arrow_schema: arrow_schema::SchemaRef,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    path: std::path::PathBuf,
}

impl<W: Write + Send> ParquetSink<W> {
    pub(crate) fn new(schema: &Schema, out: W, path: &Path) -> Result<Self> {
        Self::with_plain(schema, out, path, &[])
    }

    /// A sink writing the `plain` columns without dictionary encoding.
    fn with_plain(schema: &Schema, out: W, path: &Path, plain: &[&str]) -> Result<Self> {
        use parquet::basic::Compression;
        use parquet::file::properties::WriterProperties;
        let schema_json = serde_json::to_string(schema)
            .map_err(|e| Error::Internal(format!("serializing the schema: {e}")))?;
        let arrow_schema = Arc::new(schema.to_arrow().with_metadata(HashMap::from([(
            PARQUET_SCHEMA_KEY.to_string(),
            schema_json,
        )])));
        let props = plain
            .iter()
            .fold(
                WriterProperties::builder().set_compression(Compression::SNAPPY),
                |b, name| b.set_column_dictionary_enabled((*name).into(), false),
            )
            .build();
        let writer = parquet::arrow::ArrowWriter::try_new(out, arrow_schema.clone(), Some(props))
            .map_err(|e| parquet_write_error(e, path))?;
        Ok(ParquetSink {
            writer,
            schema: schema.clone(),
            arrow_schema,
            pending: Vec::new(),
            pending_rows: 0,
            path: path.to_path_buf(),
        })
    }

    pub(crate) fn write(&mut self, table: &Table) -> Result<()> {
        if *table.schema() != self.schema {
            return Err(Error::Internal(format!(
                "writing Parquet: a table with columns {} after {}",
                table.schema().names().join(", "),
                self.schema.names().join(", ")
            )));
        }
        let batch = table
            .record_batch()
            .clone()
            .with_schema(self.arrow_schema.clone())?;
        self.pending_rows += batch.num_rows();
        self.pending.push(batch);
        if self.pending_rows >= PARQUET_WRITE_ROWS {
            self.flush(false)?;
        }
        Ok(())
    }

    /// Writes the pending rows in slices of [`PARQUET_WRITE_ROWS`]; the remainder stays
    /// pending unless `all`.
    fn flush(&mut self, all: bool) -> Result<()> {
        let batch = match self.pending.len() {
            0 => return Ok(()),
            1 => self
                .pending
                .pop()
                .unwrap_or_else(|| unreachable!("one batch")),
            _ => {
                let b = arrow_select::concat::concat_batches(&self.arrow_schema, &self.pending)?;
                self.pending.clear();
                b
            }
        };
        let mut offset = 0;
        while batch.num_rows() - offset >= PARQUET_WRITE_ROWS {
            self.writer
                .write(&batch.slice(offset, PARQUET_WRITE_ROWS))
                .map_err(|e| parquet_write_error(e, &self.path))?;
            offset += PARQUET_WRITE_ROWS;
        }
        let rest = batch.slice(offset, batch.num_rows() - offset);
        self.pending_rows = rest.num_rows();
        if all {
            self.writer
                .write(&rest)
                .map_err(|e| parquet_write_error(e, &self.path))?;
            self.pending_rows = 0;
        } else if rest.num_rows() > 0 {
            self.pending.push(rest);
        }
        Ok(())
    }

    /// Writes what is pending and the file's footer; returns the output.
    pub(crate) fn finish(mut self) -> Result<W> {
        self.flush(true)?;
        self.writer
            .into_inner()
            .map_err(|e| parquet_write_error(e, &self.path))
    }
}

fn parquet_write_error(e: parquet::errors::ParquetError, path: &Path) -> Error {
    match e {
        parquet::errors::ParquetError::External(inner) => {
            match inner.downcast::<std::io::Error>() {
                Ok(io) => Error::Io {
                    path: path.display().to_string(),
                    source: *io,
                },
                Err(other) => Error::Internal(format!("writing Parquet: {other}")),
            }
        }
        other => Error::Internal(format!("writing Parquet: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows built from JSON values, each column typed as declared, must equal what writing
    /// every value as text (as a JSON-lines file holds it) and parsing it gives: values,
    /// types, and the error (its row and column) when a value does not fit.
    #[test]
    fn json_numbers_kept_as_numbers_read_as_their_text_would() {
        use serde_json::{Value, json};
        let samples: Vec<Value> = vec![
            json!(39),
            json!(-7),
            json!(0),
            json!(25.0),
            json!(-0.0),
            json!(0.1),
            json!(1e-300),
            json!(1.7976931348623157e308),
            json!(9007199254740993u64),
            json!(18446744073709551615u64),
            json!(-9223372036854775808i64),
            json!(2.5e10),
            Value::Null,
            json!("12"),
            json!("x"),
            json!(true),
        ];
        let dtypes = [
            DataType::Float,
            DataType::Integer,
            DataType::Boolean,
            DataType::Categorical,
            DataType::Text,
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for case in 0..400 {
            let n_rows = 1 + next(6);
            // Mostly numbers and nulls, so that most columns stay numeric to the end.
            let pick = |next: &mut dyn FnMut(usize) -> usize| {
                if next(4) == 0 {
                    samples[next(samples.len())].clone()
                } else {
                    samples[next(13)].clone()
                }
            };
            let rows: Vec<Vec<Value>> = (0..n_rows)
                .map(|_| (0..3).map(|_| pick(&mut next)).collect())
                .collect();
            let names: Vec<String> = (0..3).map(|j| format!("c{j}")).collect();
            let mut opts = ReadOptions::default();
            for name in &names {
                if next(4) > 0 {
                    opts.types.insert(name.clone(), dtypes[next(dtypes.len())]);
                }
            }
            let mut fast = Rows::with_columns(&names).unwrap();
            let mut raws: Vec<RawColumn> = (0..3).map(|_| RawColumn::default()).collect();
            for (i, row) in rows.iter().enumerate() {
                fast.push_values(row.iter()).unwrap();
                for (j, v) in row.iter().enumerate() {
                    push_json(&mut raws[j], v, i, &names[j]).unwrap();
                }
            }
            let lines: Vec<u64> = (0..n_rows as u64).collect();
            let slow: Result<Vec<(DataType, ArrayRef)>> = names
                .iter()
                .zip(&raws)
                .map(|(name, col)| type_column(name, col, &opts, Origin::Rows, &lines))
                .collect();
            match (fast.build(&opts), slow) {
                (Ok(table), Ok(columns)) => {
                    for (j, (dtype, array)) in columns.iter().enumerate() {
                        assert_eq!(table.schema().fields[j].dtype, *dtype, "case {case}");
                        let got = table.column(&names[j]).unwrap();
                        assert_eq!(got.to_data(), array.to_data(), "case {case}: {rows:?}");
                        if let (Some(a), Some(b)) = (
                            got.as_primitive_opt::<Float64Type>(),
                            array.as_primitive_opt::<Float64Type>(),
                        ) {
                            for (x, y) in a.iter().zip(b.iter()) {
                                assert_eq!(x.map(f64::to_bits), y.map(f64::to_bits));
                            }
                        }
                    }
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "case {case}"),
                (a, b) => panic!("case {case}: {rows:?}: {:?} vs {:?}", a.err(), b.err()),
            }
        }
    }

    /// A row refused half-way leaves no trace, also among numbers kept as numbers.
    #[test]
    fn refused_row_rolls_back_kept_numbers() {
        use serde_json::json;
        let names = vec!["a".to_string(), "b".to_string()];
        let mut rows = Rows::with_columns(&names).unwrap();
        rows.push_values([json!(1.5), json!(2)].iter()).unwrap();
        assert!(rows.push_values([json!(3.5), json!([1])].iter()).is_err());
        rows.push_values([json!(4.5), json!(null)].iter()).unwrap();
        let mut opts = ReadOptions::default();
        opts.types.insert("a".into(), DataType::Float);
        opts.types.insert("b".into(), DataType::Integer);
        let t = rows.build(&opts).unwrap();
        let a = t.column("a").unwrap().as_primitive::<Float64Type>().clone();
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![Some(1.5), Some(4.5)]);
        let b = t.column("b").unwrap().as_primitive::<Int64Type>().clone();
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![Some(2), None]);
    }

    #[test]
    fn inference_rule() {
        let t = |v: &[&str]| infer_type(&v.iter().map(|s| Some(*s)).collect::<Vec<_>>());
        assert_eq!(t(&["1", "-2", "+3"]), DataType::Integer);
        assert_eq!(t(&["1", "2.5", "1e-3"]), DataType::Float);
        assert_eq!(t(&["1", "inf"]), DataType::Categorical);
        assert_eq!(t(&["1", "nan"]), DataType::Categorical);
        assert_eq!(t(&["True", "false"]), DataType::Boolean);
        assert_eq!(t(&["1", "0"]), DataType::Integer);
        assert_eq!(
            t(&["2024-01-31", "2024-02-01T10:00:00Z"]),
            DataType::Datetime
        );
        assert_eq!(t(&["2024-01-31 10:00:00+02:00"]), DataType::Datetime);
        assert_eq!(t(&["2024-13-31"]), DataType::Categorical);
        assert_eq!(t(&["Male", "Female"]), DataType::Categorical);
        // Long or wordy values are text only with high cardinality.
        let sentences: Vec<String> = (0..30)
            .map(|i| format!("the quick brown fox number {i}"))
            .collect();
        let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
        assert_eq!(t(&refs), DataType::Text);
        let long: Vec<String> = (0..21).map(|i| format!("{}{i}", "x".repeat(40))).collect();
        let refs: Vec<&str> = long.iter().map(String::as_str).collect();
        assert_eq!(t(&refs), DataType::Text);
        // Few levels, however wordy: categorical.
        let levels = [
            "Married, civilian spouse present",
            "Never married and living alone",
            "Divorced or separated from spouse",
            "Widowed after a long marriage",
        ];
        let wordy: Vec<&str> = (0..200).map(|i| levels[i % 4]).collect();
        assert_eq!(t(&wordy), DataType::Categorical);
        assert_eq!(
            t(&["the quick brown fox", "jumps over the lazy dog"]),
            DataType::Categorical
        );
        // Many levels but each repeated often: categorical up to TEXT_ALWAYS_DISTINCT.
        let repeated: Vec<String> = (0..400)
            .map(|i| format!("a long product title number {}", i % 100))
            .collect();
        let refs: Vec<&str> = repeated.iter().map(String::as_str).collect();
        assert_eq!(t(&refs), DataType::Categorical);
        assert_eq!(infer_type(&[None, None]), DataType::Categorical);
        assert_eq!(infer_type(&[None, Some("3")]), DataType::Integer);
    }

    #[test]
    fn datetimes_are_utc_millis() {
        assert_eq!(parse_datetime("1970-01-01"), Some(0));
        assert_eq!(parse_datetime("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_datetime("1970-01-01T02:00:00+02:00"), Some(0));
        assert_eq!(parse_datetime("1970-01-01 02:00:00+0200"), Some(0));
        assert_eq!(parse_datetime("1970-01-01T00:00:00-01:00"), Some(3_600_000));
        assert_eq!(parse_datetime("1970-01-01T10:00"), Some(36_000_000));
        assert_eq!(parse_datetime("1970-01-01X10:00"), None);
        assert_eq!(parse_datetime("1970-01-01T10:00:00+2"), None);
        assert_eq!(parse_datetime("01/02/2024"), None);
    }

    #[test]
    fn declared_booleans_accept_yes_no() {
        assert_eq!(parse_bool_declared("Yes"), Some(true));
        assert_eq!(parse_bool_declared("0"), Some(false));
        assert_eq!(parse_bool_strict("yes"), None);
    }

    #[test]
    fn inference_widens_past_the_sample() {
        let mut raw = RawColumn::default();
        for v in ["1", "2", "3", "x"] {
            raw.push(v);
        }
        let (dtype, _) = infer_and_convert(&raw, Some(2));
        assert_eq!(dtype, DataType::Categorical);
        let mut raw = RawColumn::default();
        for v in ["1", "2", "3.5"] {
            raw.push(v);
        }
        assert_eq!(infer_and_convert(&raw, Some(1)).0, DataType::Float);
    }

    #[test]
    fn format_by_extension() {
        assert_eq!(Format::from_path(Path::new("a.CSV")).unwrap(), Format::Csv);
        assert_eq!(
            Format::from_path(Path::new("a.pq")).unwrap(),
            Format::Parquet
        );
        assert_eq!(
            Format::from_path(Path::new("a.ndjson")).unwrap(),
            Format::JsonLines
        );
        assert!(matches!(
            Format::from_path(Path::new("a.xlsx")),
            Err(Error::UnsupportedFormat { .. })
        ));
    }
}
