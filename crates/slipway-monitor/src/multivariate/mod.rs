//! Multivariate drift: one number per chunk that sees every feature at once.
//!
//! - [`pca::Reconstruction`]: NannyML's `DataReconstructionDriftCalculator` — imputation,
//!   count (frequency) encoding of categories, standard scaling and a PCA keeping 65 % of the
//!   variance, all fitted on the reference; a chunk's value is the mean Euclidean distance
//!   between its scaled rows and their reconstruction from the kept components.
//! - [`domain::DomainClassifier`]: NannyML's `DomainClassifierCalculator` (the idea of
//!   Evidently's domain classifier): Slipway's GBDT separates the reference (class 0) from
//!   the chunk (class 1); the value is the ROC AUC of its 5-fold stratified cross-validated
//!   probabilities (0.5: indistinguishable).
//!
//! Both are computed for the reference's own chunks (a reference chunk against the rest of
//! the reference for the classifier; through the fitted PCA for reconstruction, as NannyML)
//! and for the current file's chunks; [`MultivariateReport`] carries them with the
//! thresholds ([`Threshold`]) and alerts. A chunk with fewer rows than `min_rows` is a small
//! sample: its value is reported, never alarmed on.

pub mod domain;
pub mod pca;
pub mod report;

use serde::{Deserialize, Serialize};
use slipway_data::Table;

use crate::run::Chunking;
use crate::special::numpy_sum;
use crate::{Error, Result};

/// Which multivariate method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// PCA reconstruction error.
    Pca,
    /// Domain classifier ROC AUC.
    Domain,
}

impl Method {
    /// Parses `pca` or `domain`.
    pub fn parse(s: &str) -> Option<Method> {
        match s.trim() {
            "pca" => Some(Method::Pca),
            "domain" => Some(Method::Domain),
            _ => None,
        }
    }

    /// Its name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Method::Pca => "pca",
            Method::Domain => "domain",
        }
    }

    /// NannyML's default threshold: mean ± 3 std of the reference chunks for the
    /// reconstruction error, the constant band [0.45, 0.65] for the classifier's AUC.
    pub fn default_threshold(self) -> Threshold {
        match self {
            Method::Pca => Threshold::StdDev {
                lower: Some(3.0),
                upper: Some(3.0),
            },
            Method::Domain => Threshold::Constant {
                lower: Some(0.45),
                upper: Some(0.65),
            },
        }
    }

    /// The range the value can take (thresholds beyond it are dropped, as NannyML does).
    fn limits(self) -> (Option<f64>, Option<f64>) {
        match self {
            Method::Pca => (Some(0.0), None),
            Method::Domain => (Some(0.0), Some(1.0)),
        }
    }
}

/// How alert thresholds are set on a per-chunk value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Threshold {
    /// Fixed bounds.
    Constant {
        /// Alert below this.
        lower: Option<f64>,
        /// Alert above this.
        upper: Option<f64>,
    },
    /// NannyML's `StandardDeviationThreshold`: the mean of the reference chunks' values
    /// minus / plus these multiples of their (population) standard deviation.
    StdDev {
        /// Multiple below the mean (`None`: no lower bound).
        lower: Option<f64>,
        /// Multiple above the mean (`None`: no upper bound).
        upper: Option<f64>,
    },
}

impl Threshold {
    /// The bounds from the reference chunks' `values` (NaN values ignored, as `np.nanmean`
    /// and `np.nanstd`); a bound at or beyond `limits` is dropped, as NannyML's
    /// `calculate_threshold_values(override_using_none=True)`. `StdDev` needs at least two
    /// finite values: otherwise there are no bounds.
    pub fn bounds(&self, values: &[f64], limits: (Option<f64>, Option<f64>)) -> Bounds {
        let (lower, upper) = match *self {
            Threshold::Constant { lower, upper } => (lower, upper),
            Threshold::StdDev { lower, upper } => {
                let v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
                if v.len() < 2 {
                    (None, None)
                } else {
                    let (mean, std) = mean_std(&v, 0);
                    (lower.map(|k| mean - k * std), upper.map(|k| mean + k * std))
                }
            }
        };
        Bounds {
            lower: lower.filter(|l| limits.0.is_none_or(|lim| *l > lim)),
            upper: upper.filter(|u| limits.1.is_none_or(|lim| *u < lim)),
        }
    }
}

/// Alert bounds: a value outside `(lower, upper)` alerts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Bounds {
    /// Alert at or below this (`None`: never).
    pub lower: Option<f64>,
    /// Alert at or above this (`None`: never).
    pub upper: Option<f64>,
}

impl Bounds {
    /// Whether `value` is outside the bounds (NannyML's `not (lower < v < upper)`; NaN never
    /// alerts).
    pub fn alerts(&self, value: f64) -> bool {
        !value.is_nan()
            && (self.lower.is_some_and(|l| value <= l) || self.upper.is_some_and(|u| value >= u))
    }
}

/// numpy's mean and standard deviation (`ddof` 0 or 1) with its pairwise sums.
pub(crate) fn mean_std(v: &[f64], ddof: usize) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = numpy_sum(v) / n;
    let sq: Vec<f64> = v.iter().map(|x| (x - mean) * (x - mean)).collect();
    let denom = n - ddof as f64;
    let std = if denom > 0.0 {
        (numpy_sum(&sq) / denom).sqrt()
    } else {
        f64::NAN
    };
    (mean, std)
}

/// The rows of one chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkRows {
    /// `rows 0–4999` or the period (as the univariate run labels them).
    pub label: String,
    /// Row positions in the table.
    pub rows: Vec<usize>,
}

/// Cuts `table`'s rows as `chunking` says (rows missing the timestamp of a period
/// chunking are in no chunk).
pub fn split(table: &Table, chunking: &Chunking) -> Result<Vec<ChunkRows>> {
    let n = table.n_rows();
    let label = |a: usize, b: usize| format!("rows {}–{}", a, b - 1);
    Ok(match chunking {
        Chunking::Whole => vec![ChunkRows {
            label: label(0, n.max(1)),
            rows: (0..n).collect(),
        }],
        Chunking::Rows { size } => {
            let size = (*size).max(1) as usize;
            (0..n)
                .step_by(size)
                .map(|a| {
                    let b = (a + size).min(n);
                    ChunkRows {
                        label: label(a, b),
                        rows: (a..b).collect(),
                    }
                })
                .collect()
        }
        Chunking::Period { column, period } => {
            let ts = table.numeric_values(column)?;
            let mut by: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
            for (r, t) in ts.iter().enumerate() {
                if !t.is_nan() {
                    by.entry(period.label(*t as i64)).or_default().push(r);
                }
            }
            by.into_iter()
                .map(|(label, rows)| ChunkRows { label, rows })
                .collect()
        }
        Chunking::Value { column } => {
            return Err(Error::BadInput {
                message: format!(
                    "multivariate drift is cut by rows or calendar periods, not by the values of \"{column}\""
                ),
            });
        }
    })
}

/// The options of a multivariate run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultivariateOptions {
    /// Which method.
    pub method: Method,
    /// The thresholds ([`Method::default_threshold`] by default).
    pub threshold: Threshold,
    /// A chunk with fewer rows: reported, never alarmed on.
    pub min_rows: u64,
    /// PCA: the share of the variance the kept components explain (NannyML: 0.65).
    pub pca_variance: f64,
    /// Domain classifier: cross-validation folds (NannyML: 5).
    pub cv_folds: usize,
}

impl MultivariateOptions {
    /// NannyML's defaults for `method`.
    pub fn new(method: Method) -> MultivariateOptions {
        MultivariateOptions {
            method,
            threshold: method.default_threshold(),
            min_rows: 100,
            pca_variance: 0.65,
            cv_folds: 5,
        }
    }
}

/// The multivariate value of one chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultivariateChunk {
    /// 0-based position among the reference's or the current file's chunks.
    pub index: usize,
    /// The chunk's label.
    pub label: String,
    /// Rows in the chunk.
    pub rows: u64,
    /// The value (`None`: not computable; see `reason`).
    pub value: Option<f64>,
    /// PCA: the standard error of the chunk's mean reconstruction error
    /// (`std(ddof=1) / √n`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampling_error: Option<f64>,
    /// PCA: value ± 3 sampling errors (the lower one at least 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<(f64, f64)>,
    /// Fewer rows than `min_rows`: reported, never alarmed on.
    pub small_sample: bool,
    /// Outside the bounds (never for a small sample).
    pub alert: bool,
    /// Why there is no value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A multivariate run: the reference's chunks, the current chunks, the bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultivariateReport {
    /// The method and its options.
    pub options: MultivariateOptions,
    /// The features it saw.
    pub columns: Vec<String>,
    /// PCA: components kept and the variance ratio of each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pca: Option<pca::PcaSummary>,
    /// The bounds in force.
    pub bounds: Bounds,
    /// The reference's own chunks.
    pub reference_chunks: Vec<MultivariateChunk>,
    /// The current data's chunks.
    pub chunks: Vec<MultivariateChunk>,
    /// Whether any current chunk alerted.
    pub drifted: bool,
}

impl MultivariateReport {
    fn finish(
        options: &MultivariateOptions,
        columns: Vec<String>,
        pca: Option<pca::PcaSummary>,
        mut reference_chunks: Vec<MultivariateChunk>,
        mut chunks: Vec<MultivariateChunk>,
    ) -> MultivariateReport {
        let values: Vec<f64> = reference_chunks
            .iter()
            .map(|c| c.value.unwrap_or(f64::NAN))
            .collect();
        let bounds = options.threshold.bounds(&values, options.method.limits());
        for c in reference_chunks.iter_mut().chain(chunks.iter_mut()) {
            c.alert = !c.small_sample && c.value.is_some_and(|v| bounds.alerts(v));
        }
        MultivariateReport {
            options: options.clone(),
            columns,
            pca,
            bounds,
            drifted: chunks.iter().any(|c| c.alert),
            reference_chunks,
            chunks,
        }
    }
}

/// Reads `reference` and `current` (CSV, Parquet, JSON lines), cuts both with `chunking`
/// and runs `options.method` on `columns` (`categorical`: numeric columns to treat as
/// categories).
pub fn drift_files(
    reference: &std::path::Path,
    current: &std::path::Path,
    columns: &[String],
    categorical: &[String],
    chunking: &Chunking,
    options: &MultivariateOptions,
) -> Result<MultivariateReport> {
    let reference = slipway_data::ingest::read_table(reference, &Default::default())?;
    let current = slipway_data::ingest::read_table(current, &Default::default())?;
    run(
        &reference,
        &current,
        columns,
        categorical,
        chunking,
        options,
    )
}

/// [`drift_files`] on tables.
pub fn run(
    reference: &Table,
    current: &Table,
    columns: &[String],
    categorical: &[String],
    chunking: &Chunking,
    options: &MultivariateOptions,
) -> Result<MultivariateReport> {
    if columns.is_empty() {
        return Err(Error::BadInput {
            message: "multivariate drift needs at least one column".into(),
        });
    }
    if reference.n_rows() == 0 || current.n_rows() == 0 {
        return Err(Error::BadInput {
            message: format!(
                "multivariate drift needs rows on both sides (reference {}, current {})",
                reference.n_rows(),
                current.n_rows()
            ),
        });
    }
    let ref_chunks = split(reference, chunking)?;
    let cur_chunks = split(current, chunking)?;
    match options.method {
        Method::Pca => {
            let model = pca::Reconstruction::fit(reference, columns, categorical, options)?;
            let run = |table: &Table, chunks: &[ChunkRows]| -> Result<Vec<MultivariateChunk>> {
                let errors = model.errors(table)?;
                Ok(chunks
                    .iter()
                    .enumerate()
                    .map(|(i, c)| model.chunk(i, c, &errors, options.min_rows))
                    .collect())
            };
            let r = run(reference, &ref_chunks)?;
            let c = run(current, &cur_chunks)?;
            Ok(MultivariateReport::finish(
                options,
                columns.to_vec(),
                Some(model.summary()),
                r,
                c,
            ))
        }
        Method::Domain => {
            let dc = domain::DomainClassifier::new(reference, columns, categorical, options)?;
            let r = ref_chunks
                .iter()
                .enumerate()
                .map(|(i, c)| dc.reference_chunk(i, c))
                .collect::<Result<Vec<_>>>()?;
            let c = cur_chunks
                .iter()
                .enumerate()
                .map(|(i, c)| dc.current_chunk(current, i, c))
                .collect::<Result<Vec<_>>>()?;
            Ok(MultivariateReport::finish(
                options,
                columns.to_vec(),
                None,
                r,
                c,
            ))
        }
    }
}
