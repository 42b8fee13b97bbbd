//! Clustering: k-means, DBSCAN and the silhouette score, matching scikit-learn's
//! `KMeans`, `DBSCAN` and `silhouette_score`.
//!
//! Clustering has no target, so it does not use [`crate::Estimator`]: checked
//! hyperparameters implement [`Clusterer`], whose `fit` takes the feature matrix and the
//! feature names (used to name the feature in errors about non-finite values).
//!
//! - [`KMeansParams`] → [`KMeans`] → [`KMeansModel`] (centers, inertia, iterations, training
//!   labels; [`KMeansModel::predict`] assigns new rows to the nearest center).
//! - [`DbscanParams`] → [`Dbscan`] → [`DbscanModel`] (labels, `-1` for noise, and core
//!   samples).
//! - [`silhouette_score`], [`silhouette_samples`], [`calinski_harabasz_score`] and
//!   [`davies_bouldin_score`] score any labelling.
//! - [`FittedClusterPipeline`] (in [`pipeline`]) is preprocessing plus a fitted clusterer
//!   ([`ClusterSpec`] → [`FittedClusterer`]) that assigns new rows, as a clustering bundle
//!   stores it.

pub mod bundle;
mod dbscan;
mod kmeans;
mod numpy_random;
pub mod pipeline;
mod scores;
mod silhouette;

pub use dbscan::{Dbscan, DbscanModel, DbscanParams};
pub use kmeans::{KMeans, KMeansInit, KMeansModel, KMeansParams};
pub use pipeline::{
    ClusterFit, ClusterSpec, DbscanSpec, DistanceMetric, FittedClusterPipeline, FittedClusterer,
};
pub use scores::{calinski_harabasz_score, davies_bouldin_score};
pub use silhouette::{silhouette_samples, silhouette_score};

use crate::{Error, FeatureMeta, Matrix, Result};

/// Checked clustering hyperparameters, fitted on features alone.
pub trait Clusterer: Send + Sync {
    /// The fitted model.
    type Fitted;

    /// Fits on `x`, whose columns are named by `features` (one entry per column).
    fn fit(&self, x: &Matrix, features: &[FeatureMeta]) -> Result<Self::Fitted>;
}

pub(crate) use crate::matrix::check_finite;

/// Fails unless `features` names every column of `x` and `x` has rows.
pub(crate) fn check_features(x: &Matrix, features: &[FeatureMeta]) -> Result<()> {
    if x.n_cols() != features.len() {
        return Err(Error::InvalidData(format!(
            "{} feature columns but {} feature names",
            x.n_cols(),
            features.len()
        )));
    }
    if x.n_rows() == 0 {
        return Err(Error::InvalidData("no rows to fit on".into()));
    }
    Ok(())
}

/// `x` as row-major values.
pub(crate) fn row_major(x: &Matrix) -> Vec<f64> {
    let (n, p) = (x.n_rows(), x.n_cols());
    let mut out = vec![0.0; n * p];
    for j in 0..p {
        for (i, v) in x.col(j).iter().enumerate() {
            out[i * p + j] = *v;
        }
    }
    out
}
