//! The model bundle: a directory that holds a fitted pipeline and everything needed to
//! trust it.
//!
//! ```text
//! <bundle>/
//!   manifest.json    format, format_version, task, input schema, metrics, lineage,
//!                    and a SHA-256 checksum of every other file
//!   pipeline.json    the FittedPipeline (schema, target, preprocessing, model) as JSON
//!   profile.json     the training data profile: the drift baseline
//!   evaluation.json  holdout metrics and curves
//!   report.html      the training report
//!   MLmodel          a descriptor so MLflow tooling can list the model
//! ```
//!
//! Serialization is plain JSON through serde: loading parses data and never executes code.
//! Every file is written with [`crate::exact_json`]: finite floats in shortest round-trip
//! form, parsed exactly, and ±∞ and NaN as the strings `"inf"`, `"-inf"` and `"NaN"` (older
//! bundles wrote `null`, which still loads), so a loaded pipeline predicts bit-for-bit what
//! the in-memory one did. A bundle is written to a temporary sibling directory, read back
//! and checked there (it loads, holds exactly the pipeline written and, given rows, predicts
//! them bit for bit), and only then renamed into place, so a crash or a defect never leaves
//! a half-written or unreadable bundle under the final name.
//!
//! Errors: a bundle whose files fail their checksums (or are missing) is damaged, the user's
//! to fix ([`Error::Bundle`]); one whose files are intact but cannot be read was written
//! wrongly by Slipway ([`Error::BundleDefect`], an internal error).
//!
//! Compatibility: `format_version` is bumped on any incompatible change; every older version
//! keeps loading (the tests load bundles checked into the repository), and a newer version
//! is refused with an error that says to upgrade.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use slipway_data::profile::Profile;
use slipway_data::{DataType, Schema};

use crate::pipeline::{FittedPipeline, TargetInfo};
use crate::{Error, Prediction, Result, exact_json};
use slipway_data::Table;

/// The value of `format` in every manifest.
pub const FORMAT: &str = "slipway-bundle";
/// The newest bundle format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// One input data file the model was trained or evaluated on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataLineage {
    /// What the file was used for: `train` or `test`.
    pub role: String,
    /// The path as given in the config.
    pub path: String,
    /// `sha256:<hex>` of the file's bytes.
    pub fingerprint: String,
    /// Rows read.
    pub rows: usize,
}

/// Where a model came from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Lineage {
    /// Data files.
    pub data: Vec<DataLineage>,
    /// `sha256:<hex>` of the pipeline config that produced the model.
    pub config_fingerprint: Option<String>,
    /// The random seed.
    pub seed: u64,
    /// The Slipway version that trained it.
    pub slipway_version: String,
}

/// A file in the bundle with its checksum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// `sha256:<hex>`.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// The bundle's table of contents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The bundle format version.
    pub format_version: u32,
    /// The model name from the config.
    pub name: String,
    /// When it was written (RFC 3339).
    pub created_at: String,
    /// `slipway.pipeline`.
    pub flavor: String,
    /// The target and classes.
    pub target: TargetInfo,
    /// Model family, e.g. `gbdt`.
    pub model_type: String,
    /// The hyperparameters, as the config gave them after checking.
    pub params: serde_json::Value,
    /// The columns a caller must send, with their types.
    pub inputs: BTreeMap<String, DataType>,
    /// The full training schema.
    pub schema: Schema,
    /// Holdout metrics by name.
    pub metrics: BTreeMap<String, f64>,
    /// Where it came from.
    pub lineage: Lineage,
    /// Every other file with its checksum.
    pub files: BTreeMap<String, FileEntry>,
}

/// A loaded bundle.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Where it was loaded from.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// The fitted pipeline.
    pub pipeline: FittedPipeline,
    /// The training profile.
    pub profile: Profile,
}

/// What to write into a new bundle.
pub struct BundleContents<'a> {
    /// The model name.
    pub name: &'a str,
    /// RFC 3339 creation time.
    pub created_at: &'a str,
    /// The fitted pipeline.
    pub pipeline: &'a FittedPipeline,
    /// The training profile.
    pub profile: &'a Profile,
    /// Holdout metrics.
    pub metrics: BTreeMap<String, f64>,
    /// Lineage.
    pub lineage: Lineage,
    /// Extra files (`evaluation.json`, `report.html`, ...), by name.
    pub extra_files: Vec<(String, Vec<u8>)>,
}

pub(crate) fn bundle_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Bundle {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn io_err(path: &Path, e: std::io::Error) -> Error {
    bundle_err(path, e.to_string())
}

/// `sha256:<hex>` of some bytes.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    exact_json::to_vec_pretty(value).map_err(|e| Error::Internal(e.to_string()))
}

/// A file of an intact bundle that cannot be read: a defect in the writer.
pub(crate) fn defect(dir: &Path, file: &str, message: impl Into<String>) -> Error {
    Error::BundleDefect {
        path: dir.display().to_string(),
        file: file.to_string(),
        message: message.into(),
    }
}

/// Parses `file` of the bundle at `dir` (its checksum already checked).
pub(crate) fn parse_file<T: serde::de::DeserializeOwned>(
    dir: &Path,
    file: &str,
    bytes: &[u8],
) -> Result<T> {
    exact_json::from_slice(bytes).map_err(|e| defect(dir, file, e.to_string()))
}

/// Whether two predictions are the same bit for bit (NaN equal to NaN).
pub(crate) fn same_prediction(a: &Prediction, b: &Prediction) -> bool {
    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter()
            .map(|x| {
                if x.is_nan() {
                    f64::NAN.to_bits()
                } else {
                    x.to_bits()
                }
            })
            .collect()
    }
    match (a, b) {
        (Prediction::Values(x), Prediction::Values(y)) => bits(x) == bits(y),
        (Prediction::Probabilities(x), Prediction::Probabilities(y)) => {
            x.n_rows() == y.n_rows()
                && x.n_cols() == y.n_cols()
                && bits(x.as_col_major()) == bits(y.as_col_major())
        }
        _ => false,
    }
}

/// Checks the bundle just staged at `dir` against the pipeline it was written from: it
/// loads, its pipeline serializes to exactly what was written, and it predicts `rows` bit
/// for bit as `expected` does. Any difference is a [`Error::BundleDefect`].
fn verify_staged(dir: &Path, expected: &FittedPipeline, rows: Option<&Table>) -> Result<()> {
    let loaded = load_bundle(dir)?;
    let as_written = exact_json::to_value(expected).map_err(|e| Error::Internal(e.to_string()))?;
    let as_read =
        exact_json::to_value(&loaded.pipeline).map_err(|e| Error::Internal(e.to_string()))?;
    if as_written != as_read {
        return Err(defect(
            dir,
            "pipeline.json",
            "the pipeline read back differs from the one written",
        ));
    }
    if let Some(rows) = rows {
        let want = expected.predict(rows)?;
        let got = loaded.pipeline.predict(rows)?;
        // Labels too: a fairness mixture draws them from the rows.
        let same_labels = match (&want, &got) {
            (Prediction::Probabilities(w), Prediction::Probabilities(g)) => {
                expected.codes_for(rows, w)? == loaded.pipeline.codes_for(rows, g)?
            }
            _ => true,
        };
        if !same_prediction(&want, &got) || !same_labels {
            return Err(defect(
                dir,
                "pipeline.json",
                format!(
                    "the model read back predicts {} sample rows differently from the model written",
                    rows.n_rows()
                ),
            ));
        }
    }
    Ok(())
}

/// Writes a bundle to `dir`, replacing one that is already there only once the new one is
/// complete and has been read back and checked (see [`write_verified_bundle`], here
/// without sample rows).
pub fn write_bundle(dir: &Path, contents: BundleContents<'_>) -> Result<Manifest> {
    write_verified_bundle(dir, contents, None)
}

/// Writes a bundle to `dir` as [`write_bundle`] does, and before it takes that name reads it
/// back: it must load, hold exactly the pipeline written, and predict `rows` (a few
/// training rows) bit for bit as `contents.pipeline` does. A bundle that fails is removed
/// and the error is a [`Error::BundleDefect`]; an existing bundle at `dir` is left alone.
pub fn write_verified_bundle(
    dir: &Path,
    contents: BundleContents<'_>,
    rows: Option<&Table>,
) -> Result<Manifest> {
    write_verified_bundle_with(dir, contents, rows, |_| Ok(()))
}

/// [`write_verified_bundle`], also running `check` on the staged bundle (after the built-in
/// checks, before it takes its name): for the caller's own extra files. A failing `check`
/// removes the staged bundle and leaves `dir` as it was.
pub fn write_verified_bundle_with(
    dir: &Path,
    contents: BundleContents<'_>,
    rows: Option<&Table>,
    check: impl FnOnce(&Path) -> Result<()>,
) -> Result<Manifest> {
    let pipeline = contents.pipeline;
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("pipeline.json".into(), to_json(contents.pipeline)?),
        ("profile.json".into(), to_json(contents.profile)?),
    ];
    files.extend(contents.extra_files);
    files.push((
        "MLmodel".into(),
        mlmodel(contents.pipeline, contents.created_at).into_bytes(),
    ));
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        name: contents.name.to_string(),
        created_at: contents.created_at.to_string(),
        flavor: "slipway.pipeline".into(),
        target: contents.pipeline.target.clone(),
        model_type: contents.pipeline.spec.kind().to_string(),
        params: serde_json::to_value(&contents.pipeline.spec)
            .map_err(|e| Error::Internal(e.to_string()))?
            .get("params")
            .cloned()
            .unwrap_or(serde_json::Value::Null),
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
    write_files_checked(dir, &files, |staged| {
        verify_staged(staged, pipeline, rows)?;
        check(staged)
    })?;
    Ok(manifest)
}

/// Writes `files` (name, bytes) as the directory `dir`: into a temporary sibling first, then
/// renamed into place, replacing an existing `dir` only once the new one is complete.
pub fn write_files_atomic(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    write_files_checked(dir, files, |_| Ok(()))
}

/// [`write_files_atomic`], running `check` on the complete temporary directory before it is
/// renamed into place; when `check` fails the temporary directory is removed and `dir` is
/// left as it was.
pub(crate) fn write_files_checked(
    dir: &Path,
    files: &[(String, Vec<u8>)],
    check: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    let base = dir
        .file_name()
        .ok_or_else(|| bundle_err(dir, "not a directory name"))?
        .to_string_lossy()
        .to_string();
    let staging = parent.join(format!(".{base}.partial-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| io_err(&staging, e))?;
    }
    fs::create_dir(&staging).map_err(|e| io_err(&staging, e))?;
    for (name, bytes) in files {
        let p = staging.join(name);
        fs::write(&p, bytes).map_err(|e| io_err(&p, e))?;
    }
    fs::File::open(&staging)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_err(&staging, e))?;
    if let Err(e) = check(&staging) {
        let _ = fs::remove_dir_all(&staging);
        // The staging name is not the bundle's: name the bundle in the error.
        return Err(match e {
            Error::BundleDefect { file, message, .. } => defect(dir, &file, message),
            Error::Bundle { message, .. } => defect(dir, "bundle", message),
            other => other,
        });
    }
    if dir.exists() {
        let old = parent.join(format!(".{base}.old-{}", std::process::id()));
        fs::rename(dir, &old).map_err(|e| io_err(dir, e))?;
        fs::rename(&staging, dir).map_err(|e| io_err(dir, e))?;
        fs::remove_dir_all(&old).map_err(|e| io_err(&old, e))?;
    } else {
        fs::rename(&staging, dir).map_err(|e| io_err(dir, e))?;
    }
    Ok(())
}

/// The bytes of `name` in the bundle at `dir`, checked against its entry in `files` (a
/// manifest's checksums).
pub fn read_checked(
    dir: &Path,
    files: &BTreeMap<String, FileEntry>,
    name: &str,
) -> Result<Vec<u8>> {
    let entry = files.get(name).ok_or_else(|| {
        bundle_err(
            dir,
            format!("the bundle is damaged: manifest.json does not list {name}"),
        )
    })?;
    let p = dir.join(name);
    let bytes = fs::read(&p).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            bundle_err(dir, format!("the bundle is damaged: {name} is missing"))
        } else {
            io_err(&p, e)
        }
    })?;
    if sha256(&bytes) != entry.sha256 {
        return Err(bundle_err(
            dir,
            format!(
                "the bundle is damaged: {name} does not match its checksum in manifest.json (the file was changed or damaged)"
            ),
        ));
    }
    Ok(bytes)
}

/// The `flavor` of the bundle at `dir` (`slipway.pipeline`, or `slipway.clustering` for a
/// clustering bundle), read from its manifest without loading anything else.
pub fn read_flavor(dir: &Path) -> Result<String> {
    let manifest_path = dir.join("manifest.json");
    let raw = fs::read(&manifest_path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            bundle_err(
                dir,
                "no manifest.json here; is this a model bundle directory written by `slipway train`?",
            )
        } else {
            io_err(&manifest_path, e)
        }
    })?;
    let head: serde_json::Value = serde_json::from_slice(&raw)
        .map_err(|e| bundle_err(&manifest_path, format!("not valid JSON: {e}")))?;
    Ok(head
        .get("flavor")
        .and_then(|v| v.as_str())
        .unwrap_or("slipway.pipeline")
        .to_string())
}

/// Loads and verifies a bundle: the format and version are known, every file listed in the
/// manifest is present with its checksum.
pub fn load_bundle(dir: &Path) -> Result<Bundle> {
    let manifest_path = dir.join("manifest.json");
    let raw = fs::read(&manifest_path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            bundle_err(
                dir,
                "no manifest.json here; is this a model bundle directory written by `slipway train`?",
            )
        } else {
            io_err(&manifest_path, e)
        }
    })?;
    // Read the version first so that a newer bundle gets a clear message, not a field error.
    let head: serde_json::Value = serde_json::from_slice(&raw)
        .map_err(|e| bundle_err(&manifest_path, format!("not valid JSON: {e}")))?;
    if head.get("format").and_then(|v| v.as_str()) != Some(FORMAT) {
        return Err(bundle_err(
            dir,
            format!("manifest.json is not a {FORMAT} manifest"),
        ));
    }
    if head.get("flavor").and_then(|v| v.as_str()) == Some(crate::cluster::bundle::FLAVOR) {
        return Err(bundle_err(
            dir,
            "this is a clustering bundle; load it with cluster::bundle::load_cluster_bundle",
        ));
    }
    let version = head
        .get("format_version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| bundle_err(dir, "manifest.json has no format_version"))?;
    if version > u64::from(FORMAT_VERSION) || version == 0 {
        return Err(bundle_err(
            dir,
            format!(
                "bundle format version {version} is not supported by this Slipway ({}), which reads versions 1 to {FORMAT_VERSION}; upgrade slipway to load it",
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    // manifest.json carries no checksum of its own: a manifest that does not parse may have
    // been edited or damaged, so it stays the user's error.
    let manifest: Manifest = exact_json::from_value(head).map_err(|e| {
        bundle_err(
            &manifest_path,
            format!("malformed manifest (the bundle may be damaged): {e}"),
        )
    })?;
    // Every checksum first: a damaged file is the user's to fix; an intact one that does
    // not parse is Slipway's defect.
    let mut contents = BTreeMap::new();
    for name in ["pipeline.json", "profile.json"]
        .into_iter()
        .chain(manifest.files.keys().map(String::as_str))
    {
        if !contents.contains_key(name) {
            contents.insert(name, read_checked(dir, &manifest.files, name)?);
        }
    }
    let pipeline: FittedPipeline = parse_file(dir, "pipeline.json", &contents["pipeline.json"])?;
    // An ONNX model builds its plan here, so that `predict` and `serve` refuse a model this
    // build cannot run (no `onnx` feature) when they load it, not at the first row.
    pipeline.model.prepare().map_err(|e| match e {
        Error::NotCompiled { feature, message } => Error::NotCompiled {
            feature,
            message: format!("model bundle {}: {message}", dir.display()),
        },
        e => e,
    })?;
    let profile: Profile = parse_file(dir, "profile.json", &contents["profile.json"])?;
    Ok(Bundle {
        path: dir.to_path_buf(),
        manifest,
        pipeline,
        profile,
    })
}

/// The MLflow signature type of a column of logical type `t` (`long`, `double`, ...).
pub fn mlflow_type(t: DataType) -> &'static str {
    match t {
        DataType::Integer => "long",
        DataType::Float => "double",
        DataType::Boolean => "boolean",
        DataType::Categorical | DataType::Text => "string",
        DataType::Datetime => "datetime",
    }
}

/// An MLflow `MLmodel` descriptor (YAML) with the input signature.
fn mlmodel(pipeline: &FittedPipeline, created_at: &str) -> String {
    let inputs: Vec<serde_json::Value> = pipeline
        .input_schema()
        .into_iter()
        .map(|(name, dtype)| {
            serde_json::json!({"type": mlflow_type(dtype), "name": name, "required": true})
        })
        .collect();
    let outputs = if pipeline.target.task.is_classification() {
        serde_json::json!([{"type": "string", "name": "prediction", "required": true}])
    } else {
        serde_json::json!([{"type": "double", "name": "prediction", "required": true}])
    };
    let quote = |v: &serde_json::Value| format!("'{}'", v.to_string().replace('\'', "''"));
    format!(
        "flavors:\n  slipway:\n    format: {FORMAT}\n    format_version: {FORMAT_VERSION}\n    pipeline: pipeline.json\n    slipway_version: {}\nsignature:\n  inputs: {}\n  outputs: {}\nutc_time_created: '{created_at}'\n",
        env!("CARGO_PKG_VERSION"),
        quote(&serde_json::Value::Array(inputs)),
        quote(&outputs),
    )
}
