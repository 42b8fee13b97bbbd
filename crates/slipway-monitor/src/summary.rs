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
use crate::{Error, Result};

/// The version of the summary file format.
pub const SUMMARY_VERSION: u32 = 1;

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

    /// Reads a summary saved with [`ReferenceSummary::save`].
    pub fn load(path: &std::path::Path) -> Result<ReferenceSummary> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let s: ReferenceSummary = serde_json::from_str(&text).map_err(|e| Error::BadInput {
            message: format!("{}: not a reference summary: {e}", path.display()),
        })?;
        if s.version != SUMMARY_VERSION {
            return Err(Error::BadInput {
                message: format!(
                    "{}: reference summary version {} (this Slipway reads version {SUMMARY_VERSION})",
                    path.display(),
                    s.version
                ),
            });
        }
        Ok(s)
    }

    /// Writes the summary as JSON (to a temporary name renamed over `path`).
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        let text = serde_json::to_string(self).map_err(|e| Error::Internal(e.to_string()))?;
        crate::write_atomic(path, text.as_bytes())
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
            let table = slipway_data::ingest::read_table(path, &Default::default())?;
            let all: Vec<String> = table
                .schema()
                .names()
                .iter()
                .map(|s| s.to_string())
                .collect();
            let columns = columns.map(<[String]>::to_vec).unwrap_or(all);
            for c in categorical {
                if !columns.contains(c) {
                    return Err(Error::BadInput {
                        message: format!(
                            "--categorical column \"{c}\" is not one of the compared columns"
                        ),
                    });
                }
            }
            ReferenceSummary::from_table(&table, &columns, categorical, &path.display().to_string())
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

fn column_from_table(
    table: &Table,
    name: &str,
    declared_categorical: bool,
) -> Result<ColumnReference> {
    let field = table.schema().require(name)?;
    let kind = column_kind(field.dtype, declared_categorical);
    let rows = table.n_rows() as u64;
    let mut col = ColumnReference {
        name: name.to_string(),
        dtype: field.dtype,
        kind,
        rows,
        missing: 0,
        numeric: None,
        categories: None,
    };
    match kind {
        ColumnKind::Numeric => {
            let raw: Vec<f64> = table
                .numeric_values(name)?
                .into_iter()
                .filter(|v| !v.is_nan())
                .collect();
            col.missing = rows - raw.len() as u64;
            col.numeric = (!raw.is_empty()).then(|| numeric_reference(&raw));
        }
        ColumnKind::Categorical => {
            let mut counts: std::collections::HashMap<String, u64> = Default::default();
            let mut count = |v: Option<&str>| match v {
                Some(v) => match counts.get_mut(v) {
                    Some(c) => *c += 1,
                    None => {
                        counts.insert(v.to_string(), 1);
                    }
                },
                None => col.missing += 1,
            };
            match field.dtype {
                DataType::Categorical | DataType::Text => {
                    table.string_values(name)?.into_iter().for_each(&mut count)
                }
                _ => category_values(table, name)?
                    .iter()
                    .for_each(|v| count(v.as_deref())),
            }
            if !counts.is_empty() {
                let mut v: Vec<(String, u64)> = counts.into_iter().collect();
                v.sort();
                col.categories = Some(v);
            }
        }
    }
    Ok(col)
}
