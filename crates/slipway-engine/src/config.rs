//! The pipeline config: one YAML file that says where the data is, what to check, how to
//! preprocess, which models to try and what quality is good enough.
//!
//! Relative data paths in the file are resolved against the file's own directory, so a
//! config can be run from anywhere; `output` is relative to the working directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use slipway_data::ingest::ReadOptions;
use slipway_data::validate::Rules;
use slipway_data::{DataType, Role, Table};
use slipway_learn::calibration::CalibrationMethod;
use slipway_learn::class_weight::ClassWeight;
use slipway_learn::metrics::Metric;
use slipway_learn::pipeline::{ModelSpec, TaskHint};
use slipway_learn::preprocess::{ColumnOverride, PreprocessSpec};
use slipway_learn::search::SearchSpec;
use slipway_learn::threshold::ThresholdSpec;

use crate::yaml::{self, Locations};
use crate::{Error, Result};

/// A whole pipeline config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// The model's name (used for the bundle and reports).
    pub name: String,
    /// Where the data comes from.
    pub data: DataConfig,
    /// The column to predict (none with `task: clustering`).
    #[serde(default)]
    pub target: String,
    /// `auto` (default), `classification`, `regression` or `clustering`.
    #[serde(default)]
    pub task: TaskHint,
    /// Columns that are not features.
    #[serde(default)]
    pub roles: RolesConfig,
    /// Rules the training data must pass before anything is fitted.
    #[serde(default)]
    pub validation: Rules,
    /// Preprocessing changes applied on top of each model family's defaults.
    #[serde(default)]
    pub preprocess: Option<PreprocessOverrides>,
    /// The candidate models.
    pub models: Vec<CandidateConfig>,
    /// Cross-validation.
    #[serde(default)]
    pub cv: CvConfig,
    /// Fraction of rows held out for the final evaluation when `data.test` is not given.
    #[serde(default = "default_test_fraction")]
    pub test_fraction: f64,
    /// Seed for splits and for models that do not set their own.
    #[serde(default)]
    pub seed: u64,
    /// Worker threads for fitting (default: all cores).
    #[serde(default)]
    pub threads: Option<usize>,
    /// How the best candidate is chosen, and the quality gate.
    #[serde(default)]
    pub selection: SelectionConfig,
    /// Output directory for the bundle and the report (relative to the working directory;
    /// default `slipway-out/<name>`).
    #[serde(default)]
    pub output: Option<PathBuf>,
    /// Class weights for every candidate that does not set its own: `balanced` or
    /// `{label: weight}` (classification only).
    #[serde(default)]
    pub class_weight: Option<ClassWeight>,
    /// Calibrate the chosen model's probabilities on out-of-fold predictions.
    #[serde(default)]
    pub calibration: Option<CalibrationConfig>,
    /// Tune the binary decision threshold on out-of-fold predictions.
    #[serde(default, deserialize_with = "via_json")]
    pub threshold: Option<ThresholdSpec>,
    /// Binary classification: the label that counts as positive (for ROC AUC, precision,
    /// recall, F1, the decision threshold, calibration and predict's positive probability).
    /// Default: the second label in sort order (numeric order for whole numbers).
    #[serde(default, deserialize_with = "label_text")]
    pub positive_class: Option<String>,
    /// Fairness mitigation (`fairness: {mitigation: {method: reweighing, protected: sex}}`).
    #[serde(default)]
    pub fairness: Option<crate::mitigation::FairnessConfig>,
    /// Where this config was read from (not a key of the file): errors found after parsing
    /// name its file, line and column.
    #[serde(skip)]
    pub origin: ConfigOrigin,
}

/// The file a config came from and where each of its keys is, for messages.
#[derive(Debug, Clone, Default)]
pub struct ConfigOrigin {
    /// The config file (empty for a config built in code).
    pub path: PathBuf,
    /// Line and column of every key and list item.
    pub locations: Locations,
}

/// A class label written as any YAML scalar (`yes`, `1`, `true`), as text.
fn label_text<'de, D>(d: D) -> std::result::Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }
    Ok(Option::<Scalar>::deserialize(d)?.map(|s| match s {
        Scalar::Text(t) => t,
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => f.to_string(),
        Scalar::Bool(b) => b.to_string(),
    }))
}

/// `calibration: {method: sigmoid|isotonic}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationConfig {
    /// Platt scaling (`sigmoid`) or isotonic regression (`isotonic`).
    pub method: CalibrationMethod,
}

/// Reads a value through `serde_json::Value`, so that an enum reads exactly as it does from
/// JSON (`{grid: {...}}` selects a variant) and its errors read as serde_json's.
fn via_json<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v: Option<serde_json::Value> = Option::deserialize(d)?;
    v.map(|v| serde_json::from_value(v).map_err(serde::de::Error::custom))
        .transpose()
}

fn default_test_fraction() -> f64 {
    0.2
}

/// Data sources.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Training data (CSV, Parquet or JSON lines).
    pub train: PathBuf,
    /// Optional separate test data; otherwise `test_fraction` of `train` is held out.
    #[serde(default)]
    pub test: Option<PathBuf>,
    /// Field delimiter for CSV (one character).
    #[serde(default)]
    pub delimiter: Option<char>,
    /// Values read as missing (default: empty, NA, N/A, NaN, null, None).
    #[serde(default)]
    pub missing_tokens: Option<Vec<String>>,
    /// Column types that override inference.
    #[serde(default)]
    pub types: BTreeMap<String, DataType>,
}

/// Column roles besides the target.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolesConfig {
    /// Row identifiers.
    #[serde(default)]
    pub id: Vec<String>,
    /// Event time.
    #[serde(default)]
    pub timestamp: Vec<String>,
    /// Protected attributes (kept for fairness slicing, never features).
    #[serde(default)]
    pub protected: Vec<String>,
    /// Columns to ignore.
    #[serde(default)]
    pub ignored: Vec<String>,
}

/// Changes to the per-family preprocessing defaults. Unset fields keep each family's
/// default (trees: NaN kept, native categories; linear: mean imputation, scaling, one-hot).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreprocessOverrides {
    /// Missing numbers.
    #[serde(default)]
    pub numeric_impute: Option<slipway_learn::preprocess::NumericImpute>,
    /// Constant for numbers.
    #[serde(default)]
    pub fill_value: Option<f64>,
    /// Neighbours for k-NN imputation.
    #[serde(default)]
    pub knn_neighbors: Option<usize>,
    /// Scaler: `standard`, `minmax`, `robust`, `none` (or `true` / `false`).
    #[serde(default)]
    pub scale: Option<slipway_learn::preprocess::Scaler>,
    /// Datetime columns as calendar parts.
    #[serde(default)]
    pub datetime_features: Option<bool>,
    /// TF-IDF for text columns.
    #[serde(default)]
    pub tfidf: Option<slipway_learn::preprocess::TfidfSpec>,
    /// Missing categories.
    #[serde(default)]
    pub categorical_impute: Option<slipway_learn::preprocess::CategoricalImpute>,
    /// Constant for categories.
    #[serde(default)]
    pub fill_category: Option<String>,
    /// Category encoding.
    #[serde(default)]
    pub encoding: Option<slipway_learn::preprocess::Encoding>,
    /// One-hot without the first category's column (default: on for unpenalized linear
    /// models, off otherwise).
    #[serde(default)]
    pub drop_first: Option<bool>,
    /// Category cap.
    #[serde(default)]
    pub max_categories: Option<usize>,
    /// Target-encoding smoothing.
    #[serde(default)]
    pub target_smooth: Option<slipway_learn::preprocess::Smooth>,
    /// Folds for out-of-fold target encoding.
    #[serde(default)]
    pub target_folds: Option<usize>,
    /// Whole-matrix steps (replace the family's, which has none).
    #[serde(default)]
    pub steps: Option<Vec<slipway_learn::preprocess::StepSpec>>,
    /// Per-column overrides.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnOverride>,
}

impl PreprocessOverrides {
    /// These overrides applied to a family's defaults.
    pub fn apply(&self, mut spec: PreprocessSpec) -> PreprocessSpec {
        ColumnOverride {
            numeric_impute: self.numeric_impute,
            fill_value: self.fill_value,
            scale: self.scale,
            datetime_features: self.datetime_features,
            tfidf: self.tfidf.clone(),
            categorical_impute: self.categorical_impute,
            fill_category: self.fill_category.clone(),
            encoding: self.encoding,
            drop_first: self.drop_first,
            max_categories: self.max_categories,
            target_smooth: self.target_smooth,
        }
        .apply(&mut spec);
        if let Some(k) = self.knn_neighbors {
            spec.knn_neighbors = k;
        }
        if let Some(f) = self.target_folds {
            spec.target_folds = f;
        }
        if let Some(s) = &self.steps {
            spec.steps = s.clone();
        }
        spec.columns.extend(self.columns.clone());
        spec
    }
}

/// One candidate model as written in the config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CandidateConfig {
    /// A display name (default: the type).
    #[serde(default)]
    pub name: Option<String>,
    /// The model family (any `type` of [`ModelSpec`], e.g. `gbdt`, `logistic_regression`,
    /// `random_forest`, `svm`, `mlp`); with `task: clustering`, `kmeans` or `dbscan`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Hyperparameters (names as in LightGBM / scikit-learn).
    #[serde(default)]
    pub params: Option<serde_json::Value>,
    /// Preprocessing for this candidate only (on top of the global overrides).
    #[serde(default)]
    pub preprocess: Option<PreprocessOverrides>,
    /// Hyperparameter search over this family (`grid`, `random` or `halving`).
    #[serde(default, deserialize_with = "via_json")]
    pub search: Option<SearchSpec>,
    /// Class weights for this candidate (overrides the global `class_weight`).
    #[serde(default)]
    pub class_weight: Option<ClassWeight>,
}

/// Cross-validation settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CvConfig {
    /// Number of folds (stratified for classification).
    #[serde(default = "default_folds")]
    pub folds: usize,
}

fn default_folds() -> usize {
    5
}

impl Default for CvConfig {
    fn default() -> Self {
        CvConfig {
            folds: default_folds(),
        }
    }
}

/// Model selection and the quality gate.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectionConfig {
    /// The metric candidates are ranked by (default: ROC AUC for binary, F1 macro for
    /// multiclass, RMSE for regression).
    #[serde(default)]
    pub metric: Option<Metric>,
    /// The holdout value the chosen model must reach (at least this for metrics where
    /// greater is better, at most this for losses).
    #[serde(default)]
    pub minimum: Option<f64>,
}

/// A candidate with its family, checked hyperparameters and preprocessing.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Display name.
    pub name: String,
    /// Family and hyperparameters.
    pub spec: ModelSpec,
    /// Preprocessing.
    pub preprocess: PreprocessSpec,
    /// Hyperparameter search, if any (checked against the family's parameters).
    pub search: Option<SearchSpec>,
    /// Class weights, if any.
    pub class_weight: Option<ClassWeight>,
}

impl PipelineConfig {
    /// Reads a config file, resolving relative paths against its directory.
    pub fn load(path: &Path) -> Result<PipelineConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            path: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        let mut cfg = PipelineConfig::parse(&text, path)?;
        let base = path.parent().unwrap_or(Path::new(""));
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        resolve(&mut cfg.data.train);
        if let Some(t) = cfg.data.test.as_mut() {
            resolve(t);
        }
        Ok(cfg)
    }

    /// Parses config text; `path` is only used in messages (`path:line:column: ...`).
    pub fn parse(text: &str, path: &Path) -> Result<PipelineConfig> {
        let mut cfg: PipelineConfig = yaml::from_file_text(text, path)?;
        cfg.origin = ConfigOrigin {
            path: path.to_path_buf(),
            locations: Locations::of(text),
        };
        cfg.check()?;
        Ok(cfg)
    }

    /// A config error about `key` (`target`, `models[1].params`, `roles.ignored[0]`),
    /// located at the key's line and column in the file (or its nearest enclosing key's).
    /// `message` should start with the key, as the other config errors do.
    pub fn error_at(&self, key: &str, message: impl Into<String>) -> Error {
        let (line, column) = self.origin.locations.find(key).unzip();
        let path = if self.origin.path.as_os_str().is_empty() {
            "config".to_string()
        } else {
            yaml::at(&self.origin.path, line, column)
        };
        Error::Config {
            path,
            message: message.into(),
        }
    }

    /// [`Self::error_at`] the key the message starts with (`models[2] (svm): ...` is at
    /// `models[2]`, `threshold: ...` at `threshold`).
    pub fn located(&self, message: impl Into<String>) -> Error {
        let message = message.into();
        let key = message
            .split([':', ' '])
            .next()
            .unwrap_or_default()
            .to_string();
        self.error_at(&key, message)
    }

    fn check(&self) -> Result<()> {
        if self.models.is_empty() {
            return Err(self.error_at("models", "models: list at least one candidate model"));
        }
        self.check_task()?;
        if self.cv.folds < 2 {
            return Err(self.error_at(
                "cv.folds",
                format!("cv.folds: must be at least 2, got {}", self.cv.folds),
            ));
        }
        if !(self.test_fraction > 0.0 && self.test_fraction < 1.0) {
            return Err(self.error_at(
                "test_fraction",
                format!(
                    "test_fraction: must be between 0 and 1 (exclusive), got {}",
                    self.test_fraction
                ),
            ));
        }
        if self.threads == Some(0) {
            return Err(self.error_at("threads", "threads: must be at least 1"));
        }
        if let Some(t) = &self.threshold {
            t.objective()
                .map_err(|e| self.error_at("threshold", format!("threshold: {e}")))?;
        }
        self.validation
            .check()
            .map_err(|e| self.error_at("validation", format!("validation: {e}")))?;
        crate::mitigation::check(self)?;
        Ok(())
    }

    /// Whether this is a `task: clustering` config (run by [`crate::Engine::cluster`]).
    pub fn is_clustering(&self) -> bool {
        self.task == TaskHint::Clustering
    }

    /// A target is required except for clustering, which refuses what needs one.
    fn check_task(&self) -> Result<()> {
        if !self.is_clustering() {
            if self.target.is_empty() {
                return Err(self.error_at(
                    "target",
                    "target: required (the column to predict), unless task is clustering",
                ));
            }
            return Ok(());
        }
        let refuse = |what: &str, why: &str| Err(self.error_at(what, format!("{what}: {why}")));
        if !self.target.is_empty() {
            return refuse(
                "target",
                &format!(
                    "task clustering has no target column, but target \"{}\" was given; remove it (or list the column under roles.ignored)",
                    self.target
                ),
            );
        }
        if self.data.test.is_some() {
            return refuse(
                "data.test",
                "task clustering fits and scores every row of data.train; there is no holdout file",
            );
        }
        if let Some(m) = self.selection.metric {
            return refuse(
                "selection.metric",
                &format!(
                    "clustering candidates are ranked by the silhouette score, not {}; remove selection.metric (selection.minimum gates the silhouette)",
                    m.name()
                ),
            );
        }
        Ok(())
    }

    /// Marks the target (unless clustering) and the `roles:` columns in a table read from
    /// `file`. A column the file does not have is an error at its line in the config that
    /// says which setting names it and suggests the closest column (a typo).
    pub fn assign_roles(&self, t: &mut Table, file: &Path) -> Result<()> {
        let missing = |key: &str, what: &str, name: &str, t: &Table| {
            let names = t.schema().names();
            let guess = slipway_data::closest(name, names.iter().copied())
                .map(|c| format!("; did you mean \"{c}\"?"))
                .unwrap_or_default();
            self.error_at(
                key,
                format!(
                    "{what} column \"{name}\" is not in {}{guess} (its columns: {})",
                    file.display(),
                    names.join(", ")
                ),
            )
        };
        if !self.is_clustering() {
            if t.schema().field(&self.target).is_none() {
                return Err(missing("target", "target: the target", &self.target, t));
            }
            t.set_role(&self.target, Role::Target)?;
        }
        for (key, names, role) in [
            ("id", &self.roles.id, Role::Id),
            ("timestamp", &self.roles.timestamp, Role::Timestamp),
            ("protected", &self.roles.protected, Role::Protected),
            ("ignored", &self.roles.ignored, Role::Ignored),
        ] {
            for (i, n) in names.iter().enumerate() {
                let at = format!("roles.{key}[{i}]");
                if !self.is_clustering() && n == &self.target {
                    return Err(self.error_at(
                        &at,
                        format!("roles.{key}: \"{n}\" is the target and cannot also be {key}"),
                    ));
                }
                if t.schema().field(n).is_none() {
                    return Err(missing(&at, &format!("roles.{key}: the"), n, t));
                }
                t.set_role(n, role)?;
            }
        }
        Ok(())
    }

    /// How to read the data files.
    pub fn read_options(&self) -> ReadOptions {
        let mut o = ReadOptions::default();
        if let Some(d) = self.data.delimiter {
            o.delimiter = Some(d as u8);
        }
        if let Some(m) = &self.data.missing_tokens {
            o.missing_tokens = m.clone();
        }
        o.types = self.data.types.clone();
        o
    }

    /// The candidates with their hyperparameters parsed and preprocessing resolved. Every
    /// candidate's seed and thread count ([`ModelSpec::seed_param`],
    /// [`ModelSpec::threads_param`]) default to the config's `seed` and `threads`.
    pub fn candidates(&self) -> Result<Vec<Candidate>> {
        let mut out: Vec<Candidate> = Vec::new();
        for (i, c) in self.models.iter().enumerate() {
            let mut params = c
                .params
                .clone()
                .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
            let obj = params.as_object_mut().ok_or_else(|| {
                self.error_at(
                    &format!("models[{i}].params"),
                    format!("models[{i}].params: must be a mapping of parameter names to values"),
                )
            })?;
            let user_params: Vec<String> = obj.keys().cloned().collect();
            let mut spec: ModelSpec =
                serde_json::from_value(serde_json::json!({"type": c.kind, "params": params}))
                    .map_err(|e| {
                        // An unknown type is the `type:` line's fault, anything else the
                        // parameters'.
                        let at = if e.to_string().contains("unknown variant") {
                            format!("models[{i}].type")
                        } else {
                            format!("models[{i}].params")
                        };
                        self.error_at(
                            &at,
                            format!(
                                "models[{i}] ({}): {e}",
                                c.name.as_deref().unwrap_or(&c.kind)
                            ),
                        )
                    })?;
            // Every family takes the config's seed and threads unless its params set them.
            if !user_params.iter().any(|k| k == spec.seed_param()) {
                spec.set_seed(self.seed);
            }
            if self.threads.is_some() && !user_params.iter().any(|k| k == spec.threads_param()) {
                spec.set_threads(self.threads);
            }
            let mut preprocess = spec.default_preprocess();
            if let Some(g) = &self.preprocess {
                preprocess = g.apply(preprocess);
            }
            if let Some(p) = &c.preprocess {
                preprocess = p.apply(preprocess);
            }
            let name = c.name.clone().unwrap_or_else(|| c.kind.clone());
            if let Some(search) = &c.search {
                search.check(&spec, self.seed).map_err(|e| {
                    self.error_at(
                        &format!("models[{i}].search"),
                        format!("models[{i}] ({name}).search: {e}"),
                    )
                })?;
            }
            if out.iter().any(|o| o.name == name) {
                return Err(self.error_at(
                    &format!("models[{i}].name"),
                    format!(
                        "models[{i}]: the name \"{name}\" is used twice; give each candidate its own name"
                    ),
                ));
            }
            out.push(Candidate {
                name,
                spec,
                preprocess,
                search: c.search.clone(),
                class_weight: c.class_weight.clone().or_else(|| self.class_weight.clone()),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "name: m\ndata: {train: t.csv}\ntarget: y\nmodels:\n  - type: gbdt\n    params: {num_leaves: 7}\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let cfg = PipelineConfig::parse(MINIMAL, Path::new("p.yaml")).unwrap();
        assert_eq!(cfg.cv.folds, 5);
        assert_eq!(cfg.test_fraction, 0.2);
        let c = cfg.candidates().unwrap();
        assert_eq!(c[0].name, "gbdt");
        assert!(matches!(&c[0].spec, ModelSpec::Gbdt(p) if p.num_leaves == 7));
    }

    #[test]
    fn unknown_keys_and_params_are_named() {
        let bad = MINIMAL.replace("target: y", "target: y\ntargt: z");
        let e = PipelineConfig::parse(&bad, Path::new("p.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("targt"), "{e}");
        let bad = MINIMAL.replace("num_leaves", "num_leave");
        let cfg = PipelineConfig::parse(&bad, Path::new("p.yaml")).unwrap();
        let e = cfg.candidates().unwrap_err().to_string();
        assert!(e.contains("num_leave") && e.contains("models[0]"), "{e}");
        let bad = MINIMAL.replace("type: gbdt", "type: xgboost");
        let cfg = PipelineConfig::parse(&bad, Path::new("p.yaml")).unwrap();
        let e = cfg.candidates().unwrap_err().to_string();
        assert!(e.contains("xgboost"), "{e}");
    }

    #[test]
    fn out_of_range_settings_are_refused() {
        let bad = format!("{MINIMAL}cv: {{folds: 1}}\n");
        let e = PipelineConfig::parse(&bad, Path::new("p.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cv.folds"), "{e}");
        let bad = format!("{MINIMAL}test_fraction: 1.5\n");
        let e = PipelineConfig::parse(&bad, Path::new("p.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("test_fraction"), "{e}");
    }

    #[test]
    fn clustering_configs_take_no_target_and_name_what_they_refuse() {
        let ok = "name: c\ntask: clustering\ndata: {train: t.csv}\nmodels:\n  - {type: kmeans, params: {n_clusters: 3}}\n";
        let cfg = PipelineConfig::parse(ok, Path::new("p.yaml")).unwrap();
        assert!(cfg.is_clustering() && cfg.target.is_empty());
        for (bad, field) in [
            (
                ok.replace("task: clustering", "task: clustering\ntarget: y"),
                "target:",
            ),
            (
                ok.replace("{train: t.csv}", "{train: t.csv, test: u.csv}"),
                "data.test",
            ),
            (
                format!("{ok}selection: {{metric: roc_auc}}\n"),
                "selection.metric",
            ),
            (ok.replace("task: clustering\n", ""), "target:"),
        ] {
            let e = PipelineConfig::parse(&bad, Path::new("p.yaml"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
    }
}
