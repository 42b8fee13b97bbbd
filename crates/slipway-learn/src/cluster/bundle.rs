//! The clustering bundle: the same directory layout, format and checksums as a supervised
//! bundle ([`crate::bundle`]), with `flavor: "slipway.clustering"`, `task: "clustering"` and
//! no target; `pipeline.json` holds a [`FittedClusterPipeline`].
//!
//! ```text
//! <bundle>/
//!   manifest.json    format, format_version, flavor, task, input schema, scores,
//!                    lineage, and a SHA-256 checksum of every other file
//!   pipeline.json    the FittedClusterPipeline (schema, preprocessing, clusterer) as JSON
//!   profile.json     the training data profile: the drift baseline
//!   (extra files)    report.json, report.html
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use slipway_data::profile::Profile;
use slipway_data::{DataType, Schema};

use super::FittedClusterPipeline;
use crate::bundle::{
    FORMAT, FORMAT_VERSION, FileEntry, Lineage, bundle_err, defect, parse_file, read_checked,
    sha256, to_json,
};
use crate::{Error, Result, exact_json};
use slipway_data::Table;

/// The `flavor` of a clustering bundle's manifest.
pub const FLAVOR: &str = "slipway.clustering";

/// `manifest.json` of a clustering bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterManifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The bundle format version.
    pub format_version: u32,
    /// The model's name.
    pub name: String,
    /// When it was written (RFC 3339).
    pub created_at: String,
    /// Always [`FLAVOR`].
    pub flavor: String,
    /// Always `clustering`.
    pub task: String,
    /// `kmeans` or `dbscan`.
    pub model_type: String,
    /// The hyperparameters.
    pub params: serde_json::Value,
    /// The input columns and their types.
    pub inputs: BTreeMap<String, DataType>,
    /// The training data schema.
    pub schema: Schema,
    /// Scores on the training rows (silhouette, Calinski–Harabasz, Davies–Bouldin).
    pub metrics: BTreeMap<String, f64>,
    /// Where the model came from.
    pub lineage: Lineage,
    /// Every other file with its checksum.
    pub files: BTreeMap<String, FileEntry>,
}

/// A loaded clustering bundle.
#[derive(Debug, Clone)]
pub struct ClusterBundle {
    /// Its directory.
    pub path: PathBuf,
    /// The manifest.
    pub manifest: ClusterManifest,
    /// The fitted pipeline.
    pub pipeline: FittedClusterPipeline,
    /// The training profile.
    pub profile: Profile,
}

/// What goes into a clustering bundle.
pub struct ClusterBundleContents<'a> {
    /// The model's name.
    pub name: &'a str,
    /// RFC 3339 time of writing.
    pub created_at: &'a str,
    /// The fitted pipeline.
    pub pipeline: &'a FittedClusterPipeline,
    /// The training profile.
    pub profile: &'a Profile,
    /// Scores.
    pub metrics: BTreeMap<String, f64>,
    /// Lineage.
    pub lineage: Lineage,
    /// Other files (name, bytes).
    pub extra_files: Vec<(String, Vec<u8>)>,
}

/// Writes a clustering bundle to `dir` atomically, after reading it back from its
/// temporary directory: it must load, hold exactly the pipeline written, and give `rows`
/// (when given) the same clusters as `contents.pipeline` (see
/// [`crate::bundle::write_verified_bundle`]).
pub fn write_cluster_bundle(
    dir: &Path,
    contents: ClusterBundleContents<'_>,
    rows: Option<&Table>,
) -> Result<ClusterManifest> {
    let pipeline = contents.pipeline;
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("pipeline.json".into(), to_json(contents.pipeline)?),
        ("profile.json".into(), to_json(contents.profile)?),
    ];
    files.extend(contents.extra_files);
    let spec = serde_json::to_value(&contents.pipeline.spec)
        .map_err(|e| Error::Internal(e.to_string()))?;
    let manifest = ClusterManifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        name: contents.name.to_string(),
        created_at: contents.created_at.to_string(),
        flavor: FLAVOR.into(),
        task: "clustering".into(),
        model_type: contents.pipeline.spec.kind().to_string(),
        params: spec.get("params").cloned().unwrap_or_default(),
        inputs: contents.pipeline.input_schema().into_iter().collect(),
        schema: contents.pipeline.schema.clone(),
        metrics: contents.metrics,
        lineage: contents.lineage,
        files: files
            .iter()
            .map(|(name, bytes)| {
                (
                    name.clone(),
                    FileEntry {
                        sha256: sha256(bytes),
                        bytes: bytes.len() as u64,
                    },
                )
            })
            .collect(),
    };
    files.push(("manifest.json".into(), to_json(&manifest)?));
    crate::bundle::write_files_checked(dir, &files, |staged| {
        let loaded = load_cluster_bundle(staged)?;
        let written = exact_json::to_value(pipeline).map_err(|e| Error::Internal(e.to_string()))?;
        let read =
            exact_json::to_value(&loaded.pipeline).map_err(|e| Error::Internal(e.to_string()))?;
        if written != read {
            return Err(defect(
                staged,
                "pipeline.json",
                "the pipeline read back differs from the one written",
            ));
        }
        if let Some(rows) = rows {
            if pipeline.predict(rows)? != loaded.pipeline.predict(rows)? {
                return Err(defect(
                    staged,
                    "pipeline.json",
                    format!(
                        "the model read back assigns {} sample rows to different clusters",
                        rows.n_rows()
                    ),
                ));
            }
        }
        Ok(())
    })?;
    Ok(manifest)
}

/// Loads and verifies a clustering bundle (format, version, flavor, every checksum).
pub fn load_cluster_bundle(dir: &Path) -> Result<ClusterBundle> {
    let manifest_path = dir.join("manifest.json");
    let raw =
        std::fs::read(&manifest_path).map_err(|e| bundle_err(&manifest_path, e.to_string()))?;
    let manifest: ClusterManifest = exact_json::from_slice(&raw).map_err(|e| {
        bundle_err(
            &manifest_path,
            format!("malformed clustering manifest (the bundle may be damaged): {e}"),
        )
    })?;
    if manifest.format != FORMAT || manifest.flavor != FLAVOR {
        return Err(bundle_err(dir, "not a clustering bundle"));
    }
    if manifest.format_version > FORMAT_VERSION || manifest.format_version == 0 {
        return Err(bundle_err(
            dir,
            format!(
                "bundle format version {} is not supported (this Slipway reads 1 to {FORMAT_VERSION}); upgrade slipway to load it",
                manifest.format_version
            ),
        ));
    }
    // Every checksum first (damage is the user's), then parsing (a failure is a defect).
    let pipeline_bytes = read_checked(dir, &manifest.files, "pipeline.json")?;
    let profile_bytes = read_checked(dir, &manifest.files, "profile.json")?;
    for name in manifest.files.keys() {
        if name != "pipeline.json" && name != "profile.json" {
            read_checked(dir, &manifest.files, name)?;
        }
    }
    let pipeline: FittedClusterPipeline = parse_file(dir, "pipeline.json", &pipeline_bytes)?;
    let profile: Profile = parse_file(dir, "profile.json", &profile_bytes)?;
    Ok(ClusterBundle {
        path: dir.to_path_buf(),
        manifest,
        pipeline,
        profile,
    })
}
