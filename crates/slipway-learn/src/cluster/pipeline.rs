//! Clustering as a pipeline: fitted preprocessing plus a fitted clusterer that assigns new
//! rows to clusters, stored as plain JSON in a clustering bundle.
//!
//! - [`ClusterSpec`] is a candidate from a config (`{"type": "kmeans", "params": {...}}` or
//!   `dbscan`), checked by [`ClusterSpec::check`].
//! - [`FittedClusterPipeline::fit`] fits the preprocessing and the clusterer on the rows of a
//!   table and returns the training labels with the pipeline.
//! - [`FittedClusterPipeline::predict`] assigns rows: k-means the nearest center (Euclidean,
//!   lowest index on ties); DBSCAN the cluster of the nearest core sample when it lies
//!   within `eps` (inclusive, the DBSCAN neighbourhood rule), else `-1` (noise). On the
//!   training rows this gives DBSCAN's labels for core samples and noise; a border row
//!   reachable from two clusters gets its nearest core sample's cluster, where DBSCAN gave
//!   it the cluster that reached it first.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use slipway_data::{DataType, Schema, Table};

use super::{Clusterer, DbscanParams, KMeansModel, KMeansParams, row_major};
use crate::preprocess::{FittedPreprocessor, PreprocessSpec};
use crate::{Error, FeatureMeta, Matrix, Result};

/// The distance DBSCAN uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistanceMetric {
    /// `√Σ(xᵢ − yᵢ)²` (default).
    #[default]
    Euclidean,
    /// `Σ|xᵢ − yᵢ|`.
    Manhattan,
}

impl DistanceMetric {
    fn power(self) -> u32 {
        match self {
            DistanceMetric::Euclidean => 2,
            DistanceMetric::Manhattan => 1,
        }
    }
}

/// DBSCAN hyperparameters as written in a config (scikit-learn's names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DbscanSpec {
    /// Neighbourhood radius (default 0.5).
    pub eps: f64,
    /// Rows within `eps` (itself included) that make a core sample (default 5).
    pub min_samples: usize,
    /// `euclidean` (default) or `manhattan`.
    pub metric: DistanceMetric,
    /// Threads (default: rayon's global pool).
    pub n_threads: Option<usize>,
}

impl Default for DbscanSpec {
    fn default() -> Self {
        let d = DbscanParams::default();
        DbscanSpec {
            eps: d.eps,
            min_samples: d.min_samples,
            metric: DistanceMetric::Euclidean,
            n_threads: None,
        }
    }
}

impl DbscanSpec {
    /// The estimator's parameters.
    pub fn params(&self) -> DbscanParams {
        DbscanParams {
            eps: self.eps,
            min_samples: self.min_samples,
            p: self.metric.power(),
            n_threads: self.n_threads,
        }
    }
}

/// A clustering candidate: family and hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "params", rename_all = "snake_case")]
pub enum ClusterSpec {
    /// k-means (`n_clusters`, `init`, `n_init`, `max_iter`, `tol`, `seed`).
    Kmeans(KMeansParams),
    /// DBSCAN (`eps`, `min_samples`, `metric`).
    Dbscan(DbscanSpec),
}

impl ClusterSpec {
    /// The family name as written in configs.
    pub fn kind(&self) -> &'static str {
        match self {
            ClusterSpec::Kmeans(_) => "kmeans",
            ClusterSpec::Dbscan(_) => "dbscan",
        }
    }

    /// Checks every hyperparameter; the error names it.
    pub fn check(&self) -> Result<()> {
        match self {
            ClusterSpec::Kmeans(p) => p.check().map(|_| ()),
            ClusterSpec::Dbscan(s) => s.params().check().map(|_| ()),
        }
    }
}

/// A fitted clusterer that can assign new rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FittedClusterer {
    /// k-means: the centers (training labels are not kept).
    Kmeans {
        /// Cluster centers, `n_clusters` rows of `n_features`.
        #[serde(with = "crate::exact_json::floats")]
        centers: Vec<Vec<f64>>,
        /// Training inertia.
        #[serde(with = "crate::exact_json::floats")]
        inertia: f64,
        /// Lloyd iterations.
        n_iter: usize,
    },
    /// DBSCAN: the core samples and their clusters.
    Dbscan {
        /// Neighbourhood radius.
        #[serde(with = "crate::exact_json::floats")]
        eps: f64,
        /// The distance.
        metric: DistanceMetric,
        /// Number of clusters found.
        n_clusters: usize,
        /// Core samples (preprocessed features), one row each.
        #[serde(with = "crate::exact_json::floats")]
        core_samples: Vec<Vec<f64>>,
        /// The cluster of each core sample.
        core_labels: Vec<i64>,
    },
}

impl FittedClusterer {
    /// The cluster of every row of `x` (see the module docs for the rules).
    pub fn predict(&self, x: &Matrix) -> Result<Vec<i64>> {
        match self {
            FittedClusterer::Kmeans {
                centers,
                inertia,
                n_iter,
            } => {
                let model = KMeansModel {
                    centers: centers.clone(),
                    inertia: *inertia,
                    n_iter: *n_iter,
                    labels: Vec::new(),
                };
                Ok(model.predict(x)?.into_iter().map(|l| l as i64).collect())
            }
            FittedClusterer::Dbscan {
                eps,
                metric,
                core_samples,
                core_labels,
                ..
            } => {
                let p = core_samples.first().map_or(x.n_cols(), Vec::len);
                if x.n_cols() != p {
                    return Err(Error::SchemaMismatch(format!(
                        "model was fitted on {p} features, got {}",
                        x.n_cols()
                    )));
                }
                super::check_finite(x, None, "DBSCAN")?;
                let rows = row_major(x);
                let radius = match metric {
                    DistanceMetric::Euclidean => eps * eps,
                    DistanceMetric::Manhattan => *eps,
                };
                Ok((0..x.n_rows())
                    .into_par_iter()
                    .map(|i| {
                        let r = &rows[i * p..(i + 1) * p];
                        let mut best = (f64::INFINITY, -1i64);
                        for (c, l) in core_samples.iter().zip(core_labels) {
                            let d: f64 = match metric {
                                DistanceMetric::Euclidean => {
                                    r.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum()
                                }
                                DistanceMetric::Manhattan => {
                                    r.iter().zip(c).map(|(a, b)| (a - b).abs()).sum()
                                }
                            };
                            if d < best.0 {
                                best = (d, *l);
                            }
                        }
                        if best.0 <= radius { best.1 } else { -1 }
                    })
                    .collect())
            }
        }
    }
}

/// Everything needed to go from raw rows to cluster labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedClusterPipeline {
    /// The schema of the training data (types and roles of every column).
    pub schema: Schema,
    /// The family and hyperparameters.
    pub spec: ClusterSpec,
    /// Fitted preprocessing.
    pub preprocessor: FittedPreprocessor,
    /// The fitted clusterer.
    pub model: FittedClusterer,
    /// Input columns whose type the config declared (see
    /// [`crate::pipeline::FittedPipeline::declared_types`]).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub declared_types: std::collections::BTreeMap<String, DataType>,
}

/// A fitted pipeline with the labels it gave its training rows.
#[derive(Debug, Clone)]
pub struct ClusterFit {
    /// The pipeline.
    pub pipeline: FittedClusterPipeline,
    /// The preprocessed training matrix (for scoring).
    pub x: Matrix,
    /// The cluster of each training row, as the algorithm assigned it (`-1`: noise).
    pub labels: Vec<i64>,
}

impl FittedClusterPipeline {
    /// Fits `preprocess` on `rows` of `table`, then the clusterer on the result.
    pub fn fit(
        table: &Table,
        rows: &[usize],
        spec: &ClusterSpec,
        preprocess: &PreprocessSpec,
    ) -> Result<ClusterFit> {
        let (preprocessor, x) = preprocess.fit_transform(table, rows, None)?;
        let features = preprocessor.features();
        Self::fit_matrix(table.schema().clone(), preprocessor, x, &features, spec)
    }

    /// Fits the clusterer on an already preprocessed matrix `x` (from `preprocessor`).
    pub fn fit_matrix(
        schema: Schema,
        preprocessor: FittedPreprocessor,
        x: Matrix,
        features: &[FeatureMeta],
        spec: &ClusterSpec,
    ) -> Result<ClusterFit> {
        let (model, labels) = match spec {
            ClusterSpec::Kmeans(p) => {
                let m = p.check()?.fit(&x, features)?;
                let labels = m.labels.iter().map(|&l| l as i64).collect();
                (
                    FittedClusterer::Kmeans {
                        centers: m.centers,
                        inertia: m.inertia,
                        n_iter: m.n_iter,
                    },
                    labels,
                )
            }
            ClusterSpec::Dbscan(s) => {
                let m = s.params().check()?.fit(&x, features)?;
                let rows = row_major(&x);
                let p = x.n_cols();
                (
                    FittedClusterer::Dbscan {
                        eps: s.eps,
                        metric: s.metric,
                        n_clusters: m.n_clusters,
                        core_samples: m
                            .core_sample_indices
                            .iter()
                            .map(|&i| rows[i * p..(i + 1) * p].to_vec())
                            .collect(),
                        core_labels: m.core_sample_indices.iter().map(|&i| m.labels[i]).collect(),
                    },
                    m.labels,
                )
            }
        };
        Ok(ClusterFit {
            pipeline: FittedClusterPipeline {
                schema,
                spec: spec.clone(),
                preprocessor,
                model,
                declared_types: Default::default(),
            },
            x,
            labels,
        })
    }

    /// The cluster of every row of `table` (`-1`: DBSCAN noise).
    pub fn predict(&self, table: &Table) -> Result<Vec<i64>> {
        let x = self.preprocessor.transform(table)?;
        self.model.predict(&x)
    }

    /// The columns a caller must send with the types `predict` reads them as (see
    /// [`crate::pipeline::FittedPipeline::input_schema`]).
    pub fn input_schema(&self) -> Vec<(String, DataType)> {
        self.preprocessor
            .columns
            .iter()
            .map(|c| {
                let declared = self.declared_types.get(&c.name).copied();
                (
                    c.name.clone(),
                    crate::pipeline::accepted_type(c.dtype, declared),
                )
            })
            .collect()
    }

    /// The input columns with the types they had in training.
    pub fn input_columns(&self) -> std::collections::BTreeMap<String, DataType> {
        self.preprocessor
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.dtype))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbscan_predict_uses_the_nearest_core_sample_within_eps() {
        let m = FittedClusterer::Dbscan {
            eps: 1.0,
            metric: DistanceMetric::Euclidean,
            n_clusters: 2,
            core_samples: vec![vec![0.0], vec![5.0]],
            core_labels: vec![0, 1],
        };
        let x = Matrix::from_columns(vec![vec![0.4, 1.0, 4.2, 2.5, -1.01]]).unwrap();
        assert_eq!(m.predict(&x).unwrap(), vec![0, 0, 1, -1, -1]);
    }

    #[test]
    fn specs_parse_with_config_names_and_refuse_bad_values() {
        let s: ClusterSpec = serde_json::from_value(serde_json::json!(
            {"type": "dbscan", "params": {"eps": 0.3, "metric": "manhattan"}}
        ))
        .unwrap();
        assert!(matches!(&s, ClusterSpec::Dbscan(d) if d.params().p == 1));
        let bad: ClusterSpec = serde_json::from_value(serde_json::json!(
            {"type": "dbscan", "params": {"eps": 0.0}}
        ))
        .unwrap();
        let e = bad.check().unwrap_err().to_string();
        assert!(e.contains("eps"), "{e}");
        let k: ClusterSpec = serde_json::from_value(serde_json::json!(
            {"type": "kmeans", "params": {"n_clusters": 3, "init": "k-means++", "seed": 1}}
        ))
        .unwrap();
        assert_eq!(k.kind(), "kmeans");
    }
}
