//! The reference side of drift, computed once: [`ReferenceSummary`] holds per column what
//! every statistic needs (the sorted distinct values with counts for KS and Wasserstein,
//! the decile bins of PSI, the Doane bins NannyML's Jensen–Shannon and Hellinger use, the
//! category counts), is saved as JSON and reused (`--reference-summary`), so current data can
//! be compared chunk after chunk without reading the reference again.
//!
//! A summary can also come from a bundle's training profile ([`ReferenceSummary::from_profile`]);
//! a profile keeps a 20-bin equal-width histogram and the 20 most frequent categories, not the
//! values themselves, so from it KS and Wasserstein are not computable (they need the raw
//! reference), the binned statistics of a numeric column use the profile's 20 equal-width
//! bins instead of deciles / Doane bins, and categories past the 20 most frequent are one
//! `(other)` category on both sides.

use serde::{Deserialize, Serialize};
use slipway_data::profile::Profile;
use slipway_data::{DataType, Table};

use crate::stats::{self, Ecdf};
use crate::tally::Values;
use crate::{Error, Result};

/// The version of the summary file format: 2 is [`ReferenceSummary::save`]'s binary file;
/// version 1 files (JSON, written by earlier Slipway) are still read.
pub const SUMMARY_VERSION: u32 = 2;

/// The first bytes of a saved summary (then the version, little-endian `u32`).
const MAGIC: &[u8; 16] = b"SLIPWAY\0REFSUM\0\0";

/// The deciles whose (distinct) values cut a numeric column into the PSI bins.
pub const PSI_QUANTILES: [f64; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// The name of the category that stands for every value a profile did not list.
pub const OTHER_CATEGORY: &str = "(other)";

/// Everything drift needs from the reference data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceSummary {
    /// [`SUMMARY_VERSION`].
    pub version: u32,
    /// Where the reference came from (a file, a bundle's profile).
    pub source: String,
    /// Whether it was built from raw values (`false`: from a profile).
    pub raw: bool,
    /// Rows in the reference.
    pub n_rows: u64,
    /// One summary per compared column.
    pub columns: Vec<ColumnReference>,
}

/// How a column is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Numbers (integer, float, datetime as epoch milliseconds).
    Numeric,
    /// Labels (categorical, text, boolean, or a numeric column declared categorical).
    Categorical,
}

/// The reference summary of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnReference {
    /// The column.
    pub name: String,
    /// Its type in the reference.
    pub dtype: DataType,
    /// How it is compared.
    pub kind: ColumnKind,
    /// Rows (missing or not).
    pub rows: u64,
    /// Missing values.
    pub missing: u64,
    /// For numeric columns with at least one value.
    pub numeric: Option<NumericReference>,
    /// For categorical columns with at least one value: every category and its count,
    /// sorted by category.
    pub categories: Option<Vec<(String, u64)>>,
}

/// What a numeric column's statistics need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericReference {
    /// Sorted distinct values with counts (absent in a summary built from a profile).
    pub ecdf: Option<Ecdf>,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation (`ddof = 0`), the scale of the normalized Wasserstein
    /// distance.
    pub std: f64,
    /// The inner edges of the PSI bins (the distinct [`PSI_QUANTILES`]): bins `(-∞, e₀]`,
    /// `(e₀, e₁]`, …, `(eₖ, ∞)`. From a profile: absent (PSI uses `bin_edges`).
    pub psi_edges: Option<Vec<f64>>,
    /// Reference counts in the PSI bins.
    pub psi_counts: Option<Vec<u64>>,
    /// `numpy.histogram_bin_edges(reference, bins='doane')` (from a profile: its 20
    /// equal-width bins), for Jensen–Shannon, Hellinger and the report's histograms.
    pub bin_edges: Vec<f64>,
    /// Reference counts in `bin_edges`.
    pub bin_counts: Vec<u64>,
}

impl ColumnReference {
    /// Non-missing values.
    pub fn count(&self) -> u64 {
        self.rows - self.missing
    }
}

impl ReferenceSummary {
    /// Summarizes `columns` of `table` (`categorical`: numeric columns to compare as labels).
    pub fn from_table(
        table: &Table,
        columns: &[String],
        categorical: &[String],
        source: &str,
    ) -> Result<ReferenceSummary> {
        use rayon::prelude::*;
        // Columns are summarized in parallel: sorting each one's values is most of the work.
        let out = columns
            .par_iter()
            .map(|name| column_from_table(table, name, categorical.contains(name)))
            .collect::<Result<Vec<_>>>()?;
        Ok(ReferenceSummary {
            version: SUMMARY_VERSION,
            source: source.to_string(),
            raw: true,
            n_rows: table.n_rows() as u64,
            columns: out,
        })
    }

    /// A summary from a bundle's training profile (see the module docs for what it lacks).
    pub fn from_profile(
        profile: &Profile,
        columns: &[String],
        source: &str,
    ) -> Result<ReferenceSummary> {
        let mut out = Vec::with_capacity(columns.len());
        for name in columns {
            let c = profile.column(name).ok_or_else(|| Error::BadInput {
                message: format!(
                    "column \"{name}\" is not in the reference profile; it has: {}",
                    profile
                        .columns
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
            let kind = column_kind(c.dtype, false);
            let rows = (c.count + c.missing) as u64;
            let mut col = ColumnReference {
                name: name.clone(),
                dtype: c.dtype,
                kind,
                rows,
                missing: c.missing as u64,
                numeric: None,
                categories: None,
            };
            match kind {
                ColumnKind::Numeric => {
                    col.numeric = c.numeric.as_ref().map(|s| NumericReference {
                        ecdf: None,
                        mean: s.mean,
                        // The profile's std is the sample one (ddof = 1).
                        std: if c.count > 1 {
                            s.std * ((c.count - 1) as f64 / c.count as f64).sqrt()
                        } else {
                            0.0
                        },
                        psi_edges: None,
                        psi_counts: None,
                        bin_edges: s.histogram.edges.clone(),
                        bin_counts: s.histogram.counts.clone(),
                    });
                }
                ColumnKind::Categorical => {
                    col.categories = c.categories.as_ref().map(|s| {
                        let mut v: Vec<(String, u64)> =
                            s.top.iter().map(|t| (t.value.clone(), t.count)).collect();
                        if s.other > 0 {
                            v.push((OTHER_CATEGORY.to_string(), s.other));
                        }
                        v.sort();
                        v
                    });
                }
            }
            out.push(col);
        }
        Ok(ReferenceSummary {
            version: SUMMARY_VERSION,
            source: source.to_string(),
            raw: false,
            n_rows: profile.n_rows as u64,
            columns: out,
        })
    }

    /// The summary of column `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnReference> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Reads a summary saved with [`ReferenceSummary::save`] (or a version 1 JSON summary).
    pub fn load(path: &std::path::Path) -> Result<ReferenceSummary> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let bad = |what: String| Error::BadInput {
            message: format!(
                "{}: not a reference summary ({what}); write one with `slipway monitor summarize`",
                path.display()
            ),
        };
        if bytes.first() == Some(&b'{') {
            let s: ReferenceSummary =
                serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
            if s.version != 1 {
                return Err(bad(format!("a JSON summary of version {}", s.version)));
            }
            return Ok(s);
        }
        let mut r = SummaryReader {
            bytes: &bytes,
            at: 0,
        };
        if r.take(MAGIC.len()).ok() != Some(MAGIC.as_slice()) {
            return Err(bad("it does not start as one".into()));
        }
        let version = r.u32().map_err(bad)?;
        if version != SUMMARY_VERSION {
            return Err(Error::BadInput {
                message: format!(
                    "{}: reference summary version {version} (this Slipway reads versions 1 and {SUMMARY_VERSION}); summarize the reference again",
                    path.display()
                ),
            });
        }
        let header_len = r.u64().map_err(bad)?;
        let header = r
            .take(usize::try_from(header_len).unwrap_or(usize::MAX))
            .map_err(bad)?;
        let mut s: ReferenceSummary =
            serde_json::from_slice(header).map_err(|e| bad(format!("header: {e}")))?;
        if s.version != SUMMARY_VERSION {
            return Err(bad(format!("header version {}", s.version)));
        }
        let blocks = r.u32().map_err(bad)?;
        for _ in 0..blocks {
            let index = r.u32().map_err(bad)? as usize;
            let col = s
                .columns
                .get_mut(index)
                .ok_or_else(|| bad(format!("values for column {index}, which is not there")))?;
            let expected = col.count();
            let name = col.name.clone();
            let num = match &mut col.numeric {
                Some(n) if n.ecdf.is_none() => n,
                _ => {
                    return Err(bad(format!(
                        "values for column \"{name}\", which takes none"
                    )));
                }
            };
            let n = usize::try_from(r.u64().map_err(bad)?).unwrap_or(usize::MAX);
            // Every value takes 8 bytes: a count past what is left is a broken file, not
            // an allocation to attempt.
            if n > r.left() / 8 {
                return Err(bad(format!("column \"{name}\": the file ends early")));
            }
            let values: Vec<f64> = r
                .take(8 * n)
                .map_err(bad)?
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect();
            let mut counts = Vec::with_capacity(n);
            for _ in 0..n {
                counts.push(r.varint().map_err(bad)?);
            }
            let sorted =
                values.windows(2).all(|w| w[0] < w[1]) && !values.iter().any(|v| v.is_nan());
            let total = counts.iter().try_fold(0u64, |a, c| a.checked_add(*c));
            if !sorted || counts.contains(&0) || total != Some(expected) {
                return Err(bad(format!(
                    "column \"{name}\": the stored values are not {expected} values in ascending order"
                )));
            }
            num.ecdf = Some(Ecdf { values, counts });
        }
        if r.left() != 0 {
            return Err(bad(format!("{} bytes after the end", r.left())));
        }
        if s.raw
            && let Some(c) = s
                .columns
                .iter()
                .find(|c| c.numeric.as_ref().is_some_and(|n| n.ecdf.is_none()))
        {
            return Err(bad(format!("column \"{}\" has no stored values", c.name)));
        }
        Ok(s)
    }

    /// Writes the summary (to a temporary name renamed over `path`), compactly: a JSON
    /// header with everything but the numeric columns' sorted values, then those values
    /// as little-endian `f64`s with their counts as LEB128 varints (mostly one byte).
    ///
    /// Layout: the 16 bytes of `MAGIC`, the version (`u32`), the header's length (`u64`)
    /// and the header, the number of value blocks (`u32`), then per block the column's
    /// index (`u32`), the number of distinct values (`u64`), the values, the counts.
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        let header = ReferenceSummary {
            version: SUMMARY_VERSION,
            source: self.source.clone(),
            raw: self.raw,
            n_rows: self.n_rows,
            columns: self
                .columns
                .iter()
                .map(|c| ColumnReference {
                    name: c.name.clone(),
                    dtype: c.dtype,
                    kind: c.kind,
                    rows: c.rows,
                    missing: c.missing,
                    numeric: c.numeric.as_ref().map(|n| NumericReference {
                        ecdf: None,
                        mean: n.mean,
                        std: n.std,
                        psi_edges: n.psi_edges.clone(),
                        psi_counts: n.psi_counts.clone(),
                        bin_edges: n.bin_edges.clone(),
                        bin_counts: n.bin_counts.clone(),
                    }),
                    categories: c.categories.clone(),
                })
                .collect(),
        };
        let header = serde_json::to_vec(&header).map_err(|e| Error::Internal(e.to_string()))?;
        let blocks: Vec<(usize, &Ecdf)> = self
            .columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| Some((i, c.numeric.as_ref()?.ecdf.as_ref()?)))
            .collect();
        let size: usize = blocks.iter().map(|(_, e)| 12 + 10 * e.values.len()).sum();
        let mut out = Vec::with_capacity(MAGIC.len() + 16 + header.len() + size);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&SUMMARY_VERSION.to_le_bytes());
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&(blocks.len() as u32).to_le_bytes());
        for (i, e) in blocks {
            out.extend_from_slice(&(i as u32).to_le_bytes());
            out.extend_from_slice(&(e.values.len() as u64).to_le_bytes());
            for v in &e.values {
                out.extend_from_slice(&v.to_le_bytes());
            }
            for &c in &e.counts {
                let mut c = c;
                while c >= 0x80 {
                    out.push((c as u8) | 0x80);
                    c >>= 7;
                }
                out.push(c as u8);
            }
        }
        crate::write_atomic(path, &out)
    }
}

/// Reads the binary parts of a saved summary, every read checked against the file's end.
struct SummaryReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> SummaryReader<'a> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        if n > self.left() {
            return Err("the file ends early".into());
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn varint(&mut self) -> std::result::Result<u64, String> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.take(1)?.first().expect("1 byte");
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err("a count longer than 64 bits".into())
    }
}

/// How a column of type `dtype` is compared.
pub fn column_kind(dtype: DataType, declared_categorical: bool) -> ColumnKind {
    match dtype {
        DataType::Integer | DataType::Float | DataType::Datetime if !declared_categorical => {
            ColumnKind::Numeric
        }
        _ => ColumnKind::Categorical,
    }
}

/// A column's values as labels (`None` when missing): strings as they are, booleans as
/// `true`/`false`, numbers as Slipway displays them.
pub fn category_values(table: &Table, name: &str) -> Result<Vec<Option<String>>> {
    let field = table.schema().require(name)?;
    Ok(match field.dtype {
        DataType::Categorical | DataType::Text => table
            .string_values(name)?
            .into_iter()
            .map(|v| v.map(str::to_string))
            .collect(),
        _ => (0..table.n_rows())
            .map(|r| table.display_value(name, r))
            .collect::<slipway_data::Result<Vec<_>>>()?,
    })
}

/// The numeric summary of the non-missing `raw` values (in file order: NannyML's Doane bins
/// depend on the summation order of their moments).
pub fn numeric_reference(raw: &[f64]) -> NumericReference {
    let ecdf = Ecdf::from_values(raw.to_vec());
    let mut psi_edges: Vec<f64> = PSI_QUANTILES.iter().map(|q| ecdf.quantile(*q)).collect();
    psi_edges.dedup();
    let psi_counts = ecdf.cut_counts(&psi_edges);
    let bin_edges = stats::doane_edges(&ecdf, raw);
    let bin_counts = ecdf.histogram(&bin_edges);
    NumericReference {
        mean: ecdf.mean(),
        std: ecdf.std(),
        psi_edges: Some(psi_edges),
        psi_counts: Some(psi_counts),
        bin_edges,
        bin_counts,
        ecdf: Some(ecdf),
    }
}

/// Where a drift run's reference comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceSource {
    /// A data file (CSV, Parquet, JSON lines): every statistic is computable.
    File(std::path::PathBuf),
    /// A model bundle's training profile (`profile.json`): see the module docs for what it
    /// lacks.
    Bundle(std::path::PathBuf),
    /// A summary saved earlier with [`ReferenceSummary::save`].
    Summary(std::path::PathBuf),
}

/// The reference summary of `columns` (default: every column of a file, the model's input
/// columns of a bundle, every column of a saved summary); `categorical`: numeric columns of a
/// file to compare as labels.
pub fn load_reference(
    source: &ReferenceSource,
    columns: Option<&[String]>,
    categorical: &[String],
) -> Result<ReferenceSummary> {
    match source {
        ReferenceSource::File(path) => {
            use slipway_data::ingest::{Format, read_chunks};
            let check = |columns: &[String]| {
                for c in categorical {
                    if !columns.contains(c) {
                        return Err(Error::BadInput {
                            message: format!(
                                "--categorical column \"{c}\" is not one of the compared columns"
                            ),
                        });
                    }
                }
                Ok(())
            };
            let shown = path.display().to_string();
            if Format::from_path(path)? == Format::Parquet {
                // Opening checks that the columns exist (the footer only).
                let opened = read_chunks(path, &Default::default(), columns, 1)?;
                let columns = columns
                    .map(<[String]>::to_vec)
                    .unwrap_or_else(|| opened.columns().to_vec());
                drop(opened);
                check(&columns)?;
                return summarize_parquet(path, &columns, categorical, &shown);
            }
            let table = slipway_data::ingest::read_table(path, &Default::default())?;
            let all: Vec<String> = table
                .schema()
                .names()
                .iter()
                .map(|s| s.to_string())
                .collect();
            let columns = columns.map(<[String]>::to_vec).unwrap_or(all);
            check(&columns)?;
            ReferenceSummary::from_table(&table, &columns, categorical, &shown)
        }
        ReferenceSource::Bundle(dir) => {
            let bundle = slipway_learn::bundle::load_bundle(dir)?;
            let inputs: Vec<String> = bundle
                .pipeline
                .input_schema()
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            let columns = columns.map(<[String]>::to_vec).unwrap_or(inputs);
            ReferenceSummary::from_profile(
                &bundle.profile,
                &columns,
                &format!("{} (training profile)", dir.display()),
            )
        }
        ReferenceSource::Summary(path) => {
            let mut s = ReferenceSummary::load(path)?;
            if let Some(columns) = columns {
                let mut picked = Vec::with_capacity(columns.len());
                for c in columns {
                    let col = s.column(c).cloned().ok_or_else(|| Error::BadInput {
                        message: format!(
                            "column \"{c}\" is not in the reference summary {}; it has: {}",
                            path.display(),
                            s.columns
                                .iter()
                                .map(|c| c.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })?;
                    picked.push(col);
                }
                s.columns = picked;
            }
            Ok(s)
        }
    }
}

/// A column's reference summary, accumulated one table (or chunk of a file) at a time.
struct ColumnAcc {
    name: String,
    declared_categorical: bool,
    /// The type of the first table seen; `Text` once any table read it as text.
    dtype: Option<DataType>,
    values: Values,
}

impl ColumnAcc {
    fn new(name: &str, declared_categorical: bool) -> ColumnAcc {
        ColumnAcc {
            name: name.to_string(),
            declared_categorical,
            dtype: None,
            values: Values::default(),
        }
    }

    fn push(&mut self, table: &Table) -> Result<()> {
        let dtype = table.schema().require(&self.name)?.dtype;
        let kind = column_kind(dtype, self.declared_categorical);
        match self.dtype {
            None => self.dtype = Some(dtype),
            Some(seen) if column_kind(seen, self.declared_categorical) != kind => {
                return Err(Error::BadInput {
                    message: format!(
                        "column \"{}\" is {seen} in one part of the reference and {dtype} in another: declare its type",
                        self.name
                    ),
                });
            }
            Some(_) if dtype == DataType::Text => self.dtype = Some(dtype),
            Some(_) => {}
        }
        let rows = 0..table.n_rows();
        match kind {
            ColumnKind::Numeric => self.values.push_numbers(table, &self.name, rows),
            ColumnKind::Categorical => self.values.push_labels(table, &self.name, rows),
        }
    }

    fn finish(self) -> Result<ColumnReference> {
        let dtype = self
            .dtype
            .ok_or_else(|| Error::Internal(format!("column \"{}\" was never read", self.name)))?;
        let kind = column_kind(dtype, self.declared_categorical);
        let v = self.values;
        Ok(ColumnReference {
            name: self.name,
            dtype,
            kind,
            rows: v.rows,
            missing: v.missing,
            numeric: (kind == ColumnKind::Numeric && !v.numbers.is_empty())
                .then(|| numeric_reference(&v.numbers)),
            categories: (kind == ColumnKind::Categorical && !v.labels.is_empty())
                .then(|| v.labels.into_sorted()),
        })
    }
}

fn column_from_table(
    table: &Table,
    name: &str,
    declared_categorical: bool,
) -> Result<ColumnReference> {
    let mut acc = ColumnAcc::new(name, declared_categorical);
    acc.push(table)?;
    acc.finish()
}

/// Rows per read when a Parquet reference is summarized one column at a time.
const SUMMARY_READ_ROWS: usize = 1 << 17;

/// Summarizes `columns` of the Parquet file `path` one column at a time (in parallel), each
/// read by itself (Parquet decodes only that column), so memory holds a few columns' values
/// and the summaries, never the whole table.
fn summarize_parquet(
    path: &std::path::Path,
    columns: &[String],
    categorical: &[String],
    source: &str,
) -> Result<ReferenceSummary> {
    use rayon::prelude::*;
    let opts = slipway_data::ingest::ReadOptions::default();
    let out = columns
        .par_iter()
        .map(|name| {
            let one = [name.clone()];
            let mut chunks =
                slipway_data::ingest::read_chunks(path, &opts, Some(&one), SUMMARY_READ_ROWS)?;
            let mut acc = ColumnAcc::new(name, categorical.contains(name));
            let mut kinds: Vec<DataType> = Vec::new();
            while let Some(table) = chunks.next_chunk()? {
                let dtype = table.schema().require(name)?.dtype;
                if !kinds.contains(&dtype) {
                    kinds.push(dtype);
                }
                acc.push(&table)?;
            }
            // A string column's type (categorical or text) is inferred chunk by chunk;
            // when the chunks disagree, the whole-file answer decides, as a whole read's.
            if kinds.len() > 1
                && kinds
                    .iter()
                    .all(|k| matches!(k, DataType::Categorical | DataType::Text))
            {
                let types = slipway_data::ingest::infer_types(path, &opts, &one)?;
                acc.dtype = types.get(name).copied();
            }
            acc.finish()
        })
        .collect::<Result<Vec<_>>>()?;
    let n_rows = out.first().map_or(0, |c| c.rows);
    Ok(ReferenceSummary {
        version: SUMMARY_VERSION,
        source: source.to_string(),
        raw: true,
        n_rows,
        columns: out,
    })
}
