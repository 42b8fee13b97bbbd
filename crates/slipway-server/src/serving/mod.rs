//! Serving predictions: the deployed models, the inference routes of every protocol, the
//! Prometheus metrics and the prediction log.
//!
//! A [`Serving`] holds one [`Deployment`] per model the server serves (`slipway serve
//! --model churn@champion --model fraud@3`, or one bundle with `--bundle DIR`). A
//! deployment that follows an alias is re-resolved every [`ServingOptions::reload_interval`]:
//! when the alias moves, the new version is downloaded, loaded and verified off the async
//! executor, then swapped in; requests already running finish on the version they started
//! with (each holds an `Arc` to it), and nothing is dropped.
//!
//! Scoring runs on a dedicated thread pool, never on an executor thread; each model is
//! loaded once and shared by every thread.
//!
//! - `protocol` — request bodies of each protocol read into rows, and their responses;
//! - `metrics` — request, error and latency counters, as Prometheus text;
//! - `log` — every scored row, through a bounded queue, to Parquet segments in the artifact
//!   store; feedback by prediction id; export and retention.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use slipway_engine::serving::ServedModel;
use slipway_store::{ArtifactPath, ArtifactStore, MetadataStore};

mod ab_report;
mod bluegreen;
pub mod log;
mod metrics;
pub mod monitors;
mod online;
mod protocol;
pub mod rollout;

pub use ab_report::ReportRequest;
pub use log::{LogOptions, LogStore, export_predictions};
pub(crate) use protocol::{metrics_response, models_readiness, routes};
pub use rollout::{ActiveRollout, RolloutOptions, UserAction};

/// Limits and settings of the inference routes.
#[derive(Debug, Clone)]
pub struct ServingOptions {
    /// Most rows in one request (413 beyond).
    pub max_rows: usize,
    /// Largest inference request body, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// How often deployments that follow an alias look for a move.
    pub reload_interval: Duration,
    /// Threads that score requests (0: one per core).
    pub threads: usize,
    /// The prediction log.
    pub log: LogOptions,
    /// Deployments (A/B, canary, blue-green, shadow): the controller's settings.
    pub rollout: RolloutOptions,
    /// Scheduled monitors (`--monitors monitors.yaml`) over the prediction log.
    pub monitors: Option<slipway_monitor::scheduled::MonitorsFile>,
    /// Online models (`type: online`): where and how often their learned state is saved.
    pub online: OnlineOptions,
}

/// Checkpoints of online models that learn from `/feedback`.
#[derive(Debug, Clone)]
pub struct OnlineOptions {
    /// The checkpoint folder (`None`: the learned state lives in memory only).
    pub checkpoint_dir: Option<PathBuf>,
    /// Write a checkpoint after this many learned rows (0: only on shutdown).
    pub checkpoint_every: u64,
}

impl Default for OnlineOptions {
    fn default() -> Self {
        OnlineOptions {
            checkpoint_dir: None,
            checkpoint_every: 100,
        }
    }
}

impl Default for ServingOptions {
    fn default() -> Self {
        ServingOptions {
            max_rows: 100_000,
            max_body_bytes: 64 * 1024 * 1024,
            reload_interval: Duration::from_secs(2),
            threads: 0,
            log: LogOptions::default(),
            rollout: RolloutOptions::default(),
            monitors: None,
            online: OnlineOptions::default(),
        }
    }
}

/// Which version of a registered model a deployment serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Whatever version the alias points at, followed as it moves.
    Alias(String),
    /// One fixed version.
    Version(i64),
}

/// What a deployment serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A registered model version from the metadata and artifact stores.
    Registry {
        /// The registered model name.
        model: String,
        /// The version or alias.
        selector: Selector,
    },
    /// A bundle directory (no store).
    Bundle(PathBuf),
}

/// One deployment: a name clients address and what it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentSpec {
    /// The name in routes (`/v2/models/{name}`, `/models/{name}/invocations`).
    pub name: String,
    /// What it serves.
    pub source: Source,
}

impl DeploymentSpec {
    /// Reads `name@alias` or `name@version` (a whole number), as `serve --model` takes it.
    pub fn parse_model(raw: &str) -> Result<Self, String> {
        let Some((name, sel)) = raw.rsplit_once('@') else {
            return Err(format!(
                "'{raw}': write NAME@ALIAS or NAME@VERSION, e.g. churn@champion or churn@3"
            ));
        };
        if name.is_empty() || sel.is_empty() {
            return Err(format!(
                "'{raw}': both the model name and the alias or version are needed (NAME@ALIAS)"
            ));
        }
        if !valid_name(name) {
            return Err(format!(
                "'{raw}': a served model name may hold letters, digits, '-', '_' and '.' only"
            ));
        }
        let selector = match sel.parse::<i64>() {
            Ok(v) if v >= 1 => Selector::Version(v),
            Ok(_) => return Err(format!("'{raw}': versions start at 1")),
            Err(_) => Selector::Alias(sel.to_string()),
        };
        Ok(DeploymentSpec {
            name: name.to_string(),
            source: Source::Registry {
                model: name.to_string(),
                selector,
            },
        })
    }
}

/// Names that can stand in a URL path segment as they are.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name != "."
        && name != ".."
}

/// A loaded version of a deployment.
#[derive(Debug)]
pub struct Live {
    /// The model.
    pub model: ServedModel,
    /// Its registered version (`"1"` for a bundle served on its own).
    pub version: String,
    /// When it was loaded.
    pub loaded_at: chrono::DateTime<chrono::Utc>,
}

/// A deployment and the version it serves now.
#[derive(Debug)]
pub struct Deployment {
    /// What it serves.
    pub spec: DeploymentSpec,
    live: RwLock<Option<Arc<Live>>>,
    last_error: Mutex<Option<String>>,
    rollout: RwLock<Option<Arc<rollout::ActiveRollout>>>,
}

impl Deployment {
    /// The version served now (`None` until one is loaded).
    pub fn live(&self) -> Option<Arc<Live>> {
        self.live.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_live(&self, live: Arc<Live>) {
        *self.live.write().unwrap_or_else(|e| e.into_inner()) = Some(live);
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The deployment (A/B, canary, ...) that routes this model's requests, if any.
    pub fn rollout(&self) -> Option<Arc<rollout::ActiveRollout>> {
        self.rollout
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_rollout(&self, r: Option<Arc<rollout::ActiveRollout>>) {
        *self.rollout.write().unwrap_or_else(|e| e.into_inner()) = r;
    }

    fn set_error(&self, message: String) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
    }

    /// The last loading failure, if the latest attempt failed.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Where registered versions come from.
#[derive(Clone)]
pub struct Stores {
    /// The metadata store (versions, aliases, runs).
    pub meta: Arc<dyn MetadataStore>,
    /// The artifact store (bundle files; the prediction log).
    pub artifacts: Arc<dyn ArtifactStore>,
}

/// Everything the inference routes share.
pub struct Serving {
    deployments: BTreeMap<String, Arc<Deployment>>,
    pool: rayon::ThreadPool,
    pub(crate) metrics: metrics::Metrics,
    pub(crate) log: Option<log::PredictionLog>,
    pub(crate) options: ServingOptions,
    stores: Option<Stores>,
    started: Instant,
    pub(crate) monitors: Option<Arc<monitors::Monitors>>,
}

/// Why serving could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A deployment could not be loaded.
    #[error("{name}: {message}")]
    Load {
        /// The deployment.
        name: String,
        /// What failed.
        message: String,
    },
    /// The settings are inconsistent.
    #[error("{0}")]
    Invalid(String),
}

impl Serving {
    /// Loads every deployment (failing on the first that cannot be loaded), starts the
    /// scoring pool, the prediction log (to `log_store`, when given) and, for deployments
    /// that follow an alias, the watcher. Must run inside a Tokio runtime.
    pub async fn start(
        specs: Vec<DeploymentSpec>,
        stores: Option<Stores>,
        log_store: Option<LogStore>,
        options: ServingOptions,
    ) -> Result<Arc<Self>, StartError> {
        let mut deployments = BTreeMap::new();
        for spec in specs {
            if !valid_name(&spec.name) {
                return Err(StartError::Invalid(format!(
                    "'{}': a served model name may hold letters, digits, '-', '_' and '.' only",
                    spec.name
                )));
            }
            if matches!(spec.source, Source::Registry { .. }) && stores.is_none() {
                return Err(StartError::Invalid(format!(
                    "{}: a registered model needs the metadata and artifact stores",
                    spec.name
                )));
            }
            let name = spec.name.clone();
            let d = Arc::new(Deployment {
                spec,
                live: RwLock::new(None),
                last_error: Mutex::new(None),
                rollout: RwLock::new(None),
            });
            if deployments.insert(name.clone(), d).is_some() {
                return Err(StartError::Invalid(format!(
                    "{name}: deployed twice; give each --model a different model"
                )));
            }
        }
        for d in deployments.values() {
            let live = load(&d.spec, stores.as_ref(), &options.online)
                .await
                .map_err(|message| StartError::Load {
                    name: d.spec.name.clone(),
                    message,
                })?;
            d.set_live(Arc::new(live));
        }
        let threads = if options.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            options.threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("slipway-score-{i}"))
            // A scoring job that panics answers its request with a 500 (its result channel
            // is dropped) instead of aborting the server.
            .panic_handler(|_| tracing::error!("a scoring job panicked; its request got a 500"))
            .build()
            .map_err(|e| StartError::Invalid(format!("cannot start the scoring threads: {e}")))?;
        let log = match log_store {
            Some(store) if options.log.enabled => {
                Some(log::PredictionLog::start(store, options.log.clone()))
            }
            _ => None,
        };
        let monitors = match &options.monitors {
            Some(file) => {
                if log.is_none() {
                    return Err(StartError::Invalid(
                        "scheduled monitors read the prediction log, which is off".into(),
                    ));
                }
                for m in &file.monitors {
                    if !deployments.contains_key(&m.model) {
                        return Err(StartError::Invalid(format!(
                            "monitor '{}': model '{}' is not served here (served: {})",
                            m.name,
                            m.model,
                            deployments.keys().cloned().collect::<Vec<_>>().join(", ")
                        )));
                    }
                }
                Some(Arc::new(monitors::Monitors::new(file.clone())))
            }
            None => None,
        };
        let serving = Arc::new(Serving {
            deployments,
            pool,
            metrics: metrics::Metrics::default(),
            log,
            options,
            stores,
            started: Instant::now(),
            monitors,
        });
        monitors::start(&serving);
        if serving.deployments.values().any(|d| {
            matches!(
                d.spec.source,
                Source::Registry {
                    selector: Selector::Alias(_),
                    ..
                }
            )
        }) {
            tokio::spawn(watch(Arc::downgrade(&serving)));
        }
        if serving.stores.is_some() {
            // Deployments stored before a restart route from the first request.
            serving.sync_rollouts().await;
            tokio::spawn(rollout::control(Arc::downgrade(&serving)));
        }
        Ok(serving)
    }

    /// The deployment named `name`.
    pub fn deployment(&self, name: &str) -> Option<&Arc<Deployment>> {
        self.deployments.get(name)
    }

    /// Every deployment, by name.
    pub fn deployments(&self) -> impl Iterator<Item = &Arc<Deployment>> {
        self.deployments.values()
    }

    /// Whether every deployment has a version loaded.
    pub fn ready(&self) -> bool {
        self.deployments.values().all(|d| d.live().is_some())
    }

    /// Runs `f` on the scoring pool and waits for it without blocking an executor thread.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            let _ = tx.send(f());
        });
        rx.await.ok()
    }

    /// Checks every alias once and swaps in the versions that moved; returns how many did.
    pub async fn refresh(&self) -> usize {
        let mut moved = 0;
        for d in self.deployments.values() {
            let Source::Registry {
                model,
                selector: Selector::Alias(alias),
            } = &d.spec.source
            else {
                continue;
            };
            let Some(stores) = &self.stores else { continue };
            let version = match stores.meta.get_model_version_by_alias(model, alias).await {
                Ok(v) => v.version.to_string(),
                Err(e) => {
                    d.set_error(format!("resolving {model}@{alias}: {e}"));
                    continue;
                }
            };
            if d.live().is_some_and(|l| l.version == version) {
                continue;
            }
            // A deployment's flip or rollback moved the alias to a version this server
            // already holds (green, or the blue kept for an instant rollback): no reload.
            if let Some(kept) = d.rollout().and_then(|r| r.loaded_version(&version)) {
                d.set_live(kept);
                moved += 1;
                continue;
            }
            match load(&d.spec, Some(stores), &self.options.online).await {
                Ok(live) => {
                    tracing::info!(
                        "{}: {model}@{alias} moved to version {}; now serving it",
                        d.spec.name,
                        live.version
                    );
                    d.set_live(Arc::new(live));
                    moved += 1;
                }
                Err(e) => {
                    tracing::warn!(
                        "{}: {model}@{alias} moved to version {version}, which cannot be \
                         loaded; still serving the previous version: {e}",
                        d.spec.name
                    );
                    d.set_error(e);
                }
            }
        }
        moved
    }

    /// Seconds since start.
    pub(crate) fn uptime(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Writes every queued prediction-log row now (and waits for it).
    pub async fn flush_log(&self) {
        if let Some(log) = &self.log {
            log.flush().await;
        }
    }

    /// Writes the learned state of every online model that learned since its last
    /// checkpoint (the server calls it on shutdown).
    pub async fn checkpoint_online(self: &Arc<Self>) {
        online::checkpoint_all(self).await;
    }
}

/// Re-resolves aliases until the serving state is dropped.
async fn watch(serving: std::sync::Weak<Serving>) {
    loop {
        let interval = match serving.upgrade() {
            Some(s) => s.options.reload_interval,
            None => return,
        };
        tokio::time::sleep(interval).await;
        let Some(s) = serving.upgrade() else { return };
        s.refresh().await;
    }
}

/// Loads a bundle folder, with checkpoints of an online model's learned state on.
fn load_served(
    dir: &Path,
    deployment: &str,
    online: &OnlineOptions,
) -> slipway_engine::Result<ServedModel> {
    let mut model = ServedModel::load(dir)?;
    if let Some(checkpoints) = &online.checkpoint_dir {
        model.enable_checkpoints(slipway_engine::online_serving::CheckpointOptions {
            dir: checkpoints.clone(),
            every: online.checkpoint_every,
            deployment: deployment.to_string(),
        })?;
    }
    Ok(model)
}

/// Loads what `spec` names now.
async fn load(
    spec: &DeploymentSpec,
    stores: Option<&Stores>,
    online: &OnlineOptions,
) -> Result<Live, String> {
    let deployment = spec.name.clone();
    let online = online.clone();
    match &spec.source {
        Source::Bundle(dir) => {
            let dir = dir.clone();
            let model =
                tokio::task::spawn_blocking(move || load_served(&dir, &deployment, &online))
                    .await
                    .map_err(|e| format!("loading the bundle: {e}"))?
                    .map_err(|e| e.to_string())?;
            Ok(Live {
                model,
                version: "1".into(),
                loaded_at: chrono::Utc::now(),
            })
        }
        Source::Registry { model, selector } => {
            let stores = stores.ok_or("no store to load a registered model from")?;
            let mv = match selector {
                Selector::Alias(alias) => stores
                    .meta
                    .get_model_version_by_alias(model, alias)
                    .await
                    .map_err(|e| format!("{model}@{alias}: {e}"))?,
                Selector::Version(v) => stores
                    .meta
                    .get_model_version(model, &v.to_string())
                    .await
                    .map_err(|e| format!("{model} version {v}: {e}"))?,
            };
            let dir = resolve_source(stores, &mv.source).await.map_err(|e| {
                format!(
                    "{model} version {}: source '{}': {e}",
                    mv.version,
                    mv.source.chars().take(200).collect::<String>()
                )
            })?;
            let tmp = tempfile::tempdir().map_err(|e| format!("a temporary folder: {e}"))?;
            download_dir(stores.artifacts.as_ref(), &dir, tmp.path())
                .await
                .map_err(|e| format!("{model} version {}: downloading: {e}", mv.version))?;
            let path = tmp.path().to_path_buf();
            let loaded = tokio::task::spawn_blocking(move || {
                let r = load_served(&path, &deployment, &online);
                drop(tmp);
                r
            })
            .await
            .map_err(|e| format!("loading the bundle: {e}"))?
            .map_err(|e| {
                format!(
                    "{model} version {} is not a Slipway bundle that can be served: {e}",
                    mv.version
                )
            })?;
            Ok(Live {
                model: loaded,
                version: mv.version.to_string(),
                loaded_at: chrono::Utc::now(),
            })
        }
    }
}

/// The artifact folder a model version's `source` names.
async fn resolve_source(stores: &Stores, source: &str) -> Result<ArtifactPath, String> {
    let root = stores.artifacts.root_uri();
    if let Some(rest) = source.strip_prefix("runs:/") {
        let (run_id, sub) = rest.split_once('/').unwrap_or((rest, ""));
        let run = stores
            .meta
            .get_run(run_id)
            .await
            .map_err(|e| e.to_string())?;
        let base = slipway_store::uri::artifact_path_in_root(&run.info.artifact_uri, &root)
            .map_err(|e| e.to_string())?;
        let mut path = base;
        for part in sub.split('/').filter(|p| !p.is_empty()) {
            path = path.join(part).map_err(|e| e.to_string())?;
        }
        return Ok(path);
    }
    if source.starts_with("models:/") {
        return Err(
            "models:/ sources are not served; register the version from a run \
                    (slipway models register --run or --bundle)"
                .into(),
        );
    }
    slipway_store::uri::artifact_path_in_root(source, &root).map_err(|e| e.to_string())
}

/// Most files a served bundle folder may hold (a guard against a folder that is not one).
const MAX_BUNDLE_FILES: usize = 1000;

/// Copies the artifact folder `dir` (recursively) into `to`.
async fn download_dir(
    store: &dyn ArtifactStore,
    dir: &ArtifactPath,
    to: &Path,
) -> Result<(), String> {
    let mut pending = vec![(dir.clone(), to.to_path_buf())];
    let mut files = 0usize;
    while let Some((src, dst)) = pending.pop() {
        let entries = store.list(&src).await.map_err(|e| e.to_string())?;
        if entries.is_empty() && src == *dir {
            return Err("the folder is empty or missing".into());
        }
        tokio::fs::create_dir_all(&dst)
            .await
            .map_err(|e| e.to_string())?;
        for entry in entries {
            let child = src.join(&entry.name).map_err(|e| e.to_string())?;
            let local = dst.join(&entry.name);
            if entry.is_dir {
                pending.push((child, local));
                continue;
            }
            files += 1;
            if files > MAX_BUNDLE_FILES {
                return Err(format!(
                    "more than {MAX_BUNDLE_FILES} files: not a model bundle"
                ));
            }
            let bytes = store.get(&child).await.map_err(|e| e.to_string())?;
            tokio::fs::write(&local, &bytes)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_flags() {
        let d = DeploymentSpec::parse_model("churn@champion").unwrap();
        assert_eq!(
            d.source,
            Source::Registry {
                model: "churn".into(),
                selector: Selector::Alias("champion".into())
            }
        );
        let d = DeploymentSpec::parse_model("fraud@3").unwrap();
        assert_eq!(
            d.source,
            Source::Registry {
                model: "fraud".into(),
                selector: Selector::Version(3)
            }
        );
        for bad in ["churn", "@x", "churn@", "a/b@1", "x@0", "x@-1"] {
            assert!(DeploymentSpec::parse_model(bad).is_err(), "{bad}");
        }
    }
}
