//! Large jobs on Kubernetes: `slipway train --emit-k8s-job` writes an Indexed Job whose
//! completion indices each run a share of the candidates × folds (`--k8s-worker`) and a
//! collect Job that waits for every share and finishes the run (`--k8s-collect`). The
//! shares meet in the artifact store (S3 for a team, the home folder's `artifacts/` on one
//! machine) under `jobs/<job>/`.
//!
//! Kubernetes has no dependency between Jobs, so both are created together and the collect
//! pod polls the store (`--wait`) until every index's result is there; a missing index after
//! the wait fails the collect step with the indices named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use console::style;
use slipway_engine::{Engine, PipelineConfig, Progress};
use slipway_server::{ArtifactDestination, BackendStore};
use slipway_store::{ArtifactPath, ArtifactStore};

use crate::tracking;

/// The container image's name in the emitted Job when `--image` is not given.
const DEFAULT_IMAGE: &str = "slipway:0.1.0";
/// Where the emitted Job mounts the config.
const CONFIG_DIR: &str = "/etc/slipway/job";

/// The flags of a job spread over a Kubernetes Indexed Job.
#[derive(Args, Debug, Default)]
pub struct JobArgs {
    /// Write a Kubernetes Indexed Job (and its collect Job and config) to FILE (`-` for
    /// stdout) that spreads this run over --parallelism pods, instead of running it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["k8s_worker", "k8s_collect"])]
    pub emit_k8s_job: Option<PathBuf>,
    /// Run one completion index of an Indexed Job (JOB_COMPLETION_INDEX) and store its
    /// results under the job's prefix in the artifact store.
    #[arg(long, conflicts_with = "k8s_collect")]
    pub k8s_worker: bool,
    /// Collect every index's results of --job and finish the run (rank, refit, report,
    /// bundle, tracked run).
    #[arg(long)]
    pub k8s_collect: bool,
    /// The job's id: lowercase letters, digits and '-' (at most 40) [default for
    /// --emit-k8s-job: the config's name and the time].
    #[arg(long, env = "SLIPWAY_JOB_ID")]
    pub job: Option<String>,
    /// Completion indices (pods) of the job.
    #[arg(long, env = "SLIPWAY_JOB_PARALLELISM")]
    pub parallelism: Option<usize>,
    /// Container image of the emitted Job [default: slipway:0.1.0].
    #[arg(long)]
    pub image: Option<String>,
    /// A PersistentVolumeClaim holding the data, mounted read-only at --data-mount in every
    /// pod of the emitted Job (the config's data paths must name files the pods can read).
    #[arg(long, value_name = "CLAIM")]
    pub data_claim: Option<String>,
    /// Where --data-claim is mounted.
    #[arg(long, default_value = "/data")]
    pub data_mount: String,
    /// For --k8s-collect: seconds to wait for indices that have not finished yet.
    #[arg(long, default_value_t = 0)]
    pub wait: u64,
    /// Where artifacts go (and the job's results meet): a directory, file:///dir or
    /// s3://bucket/prefix [default: artifacts/ under the home folder].
    #[arg(long, env = "SLIPWAY_ARTIFACTS_DESTINATION")]
    pub artifacts_destination: Option<String>,
    /// Endpoint of an S3-compatible service for an s3:// destination.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub s3_endpoint_url: Option<String>,
    /// The metadata store the collect step records the run in: a SQLite path or a
    /// postgresql:// URL [default: slipway.db under the home folder].
    #[arg(long, env = "SLIPWAY_BACKEND_STORE_URI", hide_env_values = true)]
    pub backend_store_uri: Option<String>,
}

/// What `slipway train` does with these flags.
pub enum Mode {
    /// An ordinary run.
    Single,
    /// Write the Job's YAML.
    Emit,
    /// One completion index.
    Worker,
    /// The collect step.
    Collect,
}

impl JobArgs {
    /// The mode the flags ask for.
    pub fn mode(&self) -> Mode {
        if self.emit_k8s_job.is_some() {
            Mode::Emit
        } else if self.k8s_worker {
            Mode::Worker
        } else if self.k8s_collect {
            Mode::Collect
        } else {
            Mode::Single
        }
    }

    fn job_id(&self) -> anyhow::Result<String> {
        let Some(job) = self.job.as_deref() else {
            anyhow::bail!(
                "--job (or SLIPWAY_JOB_ID) is required with --k8s-worker and --k8s-collect: the \
                 emitted Job sets it"
            );
        };
        check_job_id(job)?;
        Ok(job.to_string())
    }

    fn total(&self) -> anyhow::Result<usize> {
        match self.parallelism {
            Some(n) if n >= 1 => Ok(n),
            Some(_) => anyhow::bail!("--parallelism must be at least 1"),
            None => anyhow::bail!(
                "--parallelism (or SLIPWAY_JOB_PARALLELISM) is required: the job's number of \
                 completion indices"
            ),
        }
    }

    fn destination(&self) -> anyhow::Result<ArtifactDestination> {
        Ok(match &self.artifacts_destination {
            Some(raw) => ArtifactDestination::parse(raw, self.s3_endpoint_url.clone())
                .map_err(|e| anyhow::anyhow!("--artifacts-destination: {e}"))?,
            None => ArtifactDestination::Home,
        })
    }

    /// The tracking client of the collect step: the same stores as the job's results.
    pub fn tracking_client(&self, home: &Path) -> anyhow::Result<tracking::Client> {
        let backend = match self.backend_store_uri.as_deref() {
            Some(raw) => {
                BackendStore::parse(raw).map_err(|e| anyhow::anyhow!("--backend-store-uri: {e}"))?
            }
            None => BackendStore::Home,
        };
        Ok(tracking::Client::stores(
            home,
            &backend,
            &self.destination()?,
        )?)
    }
}

/// A job id: a DNS label short enough that `<job>-collect` and `<job>-<index>` pod host
/// names stay within Kubernetes' 63 characters, and a plain artifact folder name.
fn check_job_id(job: &str) -> anyhow::Result<()> {
    let ok = !job.is_empty()
        && job.len() <= 40
        && job
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !job.starts_with('-')
        && !job.ends_with('-');
    anyhow::ensure!(
        ok,
        "--job '{job}': a job id is 1 to 40 lowercase letters, digits and '-', starting and \
         ending with a letter or digit (it names the Kubernetes Jobs and their artifact folder)"
    );
    Ok(())
}

/// The default job id: the config's name as a DNS label, and the time.
fn default_job_id(name: &str) -> String {
    let mut base: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    base = base.trim_matches('-').to_string();
    base.truncate(24);
    let base = base.trim_end_matches('-');
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    if base.is_empty() {
        format!("slipway-{stamp}")
    } else {
        format!("{base}-{stamp}")
    }
}

/// The job's artifact store, on a runtime of its own.
struct JobStore {
    runtime: tokio::runtime::Runtime,
    store: Arc<dyn ArtifactStore>,
    uri: String,
}

impl JobStore {
    fn open(args: &JobArgs, home: &Path) -> anyhow::Result<JobStore> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
        let destination = args.destination()?;
        let store = runtime
            .block_on(slipway_server::open_artifacts(&destination, home))
            .map_err(|e| anyhow::anyhow!("cannot open the artifact store: {e}"))?;
        let uri = store.root_uri().trim_end_matches('/').to_string();
        Ok(JobStore {
            runtime,
            store,
            uri,
        })
    }

    fn dir(job: &str, kind: &str) -> anyhow::Result<ArtifactPath> {
        Ok(ArtifactPath::parse(&format!("jobs/{job}/{kind}"))?)
    }

    fn put(&self, path: &ArtifactPath, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.runtime
            .block_on(self.store.put(path, bytes::Bytes::from(bytes)))
            .map_err(|e| {
                anyhow::anyhow!("{}/{}: cannot write: {e}", self.uri, path.parts().join("/"))
            })
    }

    fn get(&self, path: &ArtifactPath) -> anyhow::Result<Vec<u8>> {
        Ok(self
            .runtime
            .block_on(self.store.get(path))
            .map_err(|e| {
                anyhow::anyhow!("{}/{}: cannot read: {e}", self.uri, path.parts().join("/"))
            })?
            .to_vec())
    }

    /// The completion indices whose results (`index-NNNNN.<ext>`) are in `dir`.
    fn indices(&self, dir: &ArtifactPath, ext: &str) -> anyhow::Result<BTreeMap<usize, String>> {
        let entries = self
            .runtime
            .block_on(self.store.list(dir))
            .map_err(|e| anyhow::anyhow!("{}: cannot list: {e}", self.uri))?;
        Ok(entries
            .into_iter()
            .filter(|e| !e.is_dir)
            .filter_map(|e| {
                let i = e
                    .name
                    .strip_prefix("index-")?
                    .strip_suffix(&format!(".{ext}"))?
                    .parse()
                    .ok()?;
                Some((i, e.name))
            })
            .collect())
    }

    /// Waits up to `wait` seconds for indices 0..total; returns those present.
    fn await_indices(
        &self,
        dir: &ArtifactPath,
        ext: &str,
        total: usize,
        wait: u64,
        progress: &dyn Progress,
    ) -> anyhow::Result<BTreeMap<usize, String>> {
        let deadline = Instant::now() + Duration::from_secs(wait);
        let mut announced = usize::MAX;
        loop {
            let found = self.indices(dir, ext)?;
            let have = (0..total).filter(|i| found.contains_key(i)).count();
            if have == total || Instant::now() >= deadline {
                return Ok(found);
            }
            if have != announced {
                progress.note(&format!(
                    "{have} of {total} indices have finished; waiting (up to {wait} s in all)"
                ));
                announced = have;
            }
            std::thread::sleep(Duration::from_secs(2));
        }
    }
}

fn completion_index() -> anyhow::Result<usize> {
    let raw = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| {
        anyhow::anyhow!(
            "--k8s-worker needs JOB_COMPLETION_INDEX (Kubernetes sets it in each pod of an \
             Indexed Job; set it by hand to rerun one index)"
        )
    })?;
    raw.trim().parse().map_err(|_| {
        anyhow::anyhow!("JOB_COMPLETION_INDEX '{raw}' is not a whole number (0, 1, 2, ...)")
    })
}

fn part_path(job: &str, kind: &str, index: usize, ext: &str) -> anyhow::Result<ArtifactPath> {
    Ok(JobStore::dir(job, kind)?.join(&format!("index-{index:05}.{ext}"))?)
}

/// `slipway train --k8s-worker`: this pod's share of the candidates × folds.
pub fn train_worker(
    engine: &Engine,
    args: &JobArgs,
    cfg: &PipelineConfig,
    text: &str,
    home: &Path,
    json: bool,
    progress: &dyn Progress,
) -> anyhow::Result<()> {
    let job = args.job_id()?;
    let total = args.total()?;
    let index = completion_index()?;
    let store = JobStore::open(args, home)?;
    let part = engine.train_worker(cfg, Some(text), &job, index, total, progress)?;
    let path = part_path(&job, "train", index, "json")?;
    store.put(&path, part.to_bytes()?)?;
    let at = format!("{}/{}", store.uri, path.parts().join("/"));
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "job": job,
                "index": index,
                "total": total,
                "units": part.units.len(),
                "fold_fits": part.folds.len(),
                "seconds": part.seconds,
                "stored": at,
            }))?
        );
    } else {
        println!(
            "{} job {job} index {index} of {total}: {} units, {} fold fits in {:.1} s → {at}",
            style("✓").green().bold(),
            part.units.len(),
            part.folds.len(),
            part.seconds
        );
    }
    Ok(())
}

/// `slipway train --k8s-collect`: every index's part, read back (after waiting up to
/// `--wait` seconds for the missing ones), then the run finished from them.
pub fn train_collect(
    engine: &Engine,
    args: &JobArgs,
    cfg: &PipelineConfig,
    text: &str,
    home: &Path,
    progress: &dyn Progress,
) -> anyhow::Result<Result<slipway_engine::TrainOutcome, slipway_engine::Error>> {
    let job = args.job_id()?;
    let total = args.total()?;
    let store = JobStore::open(args, home)?;
    let dir = JobStore::dir(&job, "train")?;
    let found = store.await_indices(&dir, "json", total, args.wait, progress)?;
    let mut parts = BTreeMap::new();
    for (i, name) in found {
        parts.insert(i, store.get(&dir.join(&name)?)?);
    }
    progress.note(&format!(
        "collecting job {job}: {} of {total} indices found under {}/jobs/{job}/train",
        parts.len(),
        store.uri
    ));
    Ok(engine.train_collect(cfg, Some(text), &job, total, &parts, progress))
}

/// `slipway train --emit-k8s-job FILE`.
pub fn train_emit(
    args: &JobArgs,
    cfg: &PipelineConfig,
    text: &str,
    json: bool,
) -> anyhow::Result<()> {
    let total = args.total()?;
    let job = match &args.job {
        Some(j) => {
            check_job_id(j)?;
            j.clone()
        }
        None => default_job_id(&cfg.name),
    };
    let plan = slipway_engine::indexed_job::train_plan(cfg)?;
    let spec = JobSpec {
        job: &job,
        command: "train",
        base_args: vec![
            "train".into(),
            "--config".into(),
            format!("{CONFIG_DIR}/config.yaml"),
        ],
        total,
        image: args.image.as_deref().unwrap_or(DEFAULT_IMAGE),
        config_text: Some(text),
        data_claim: args.data_claim.as_deref(),
        data_mount: &args.data_mount,
        summary: format!(
            "{} units (candidate configurations × folds) of \"{}\" over {total} indices",
            plan.len(),
            cfg.name
        ),
    };
    let Some(target) = write_yaml(args, &spec)? else {
        return Ok(());
    };
    let idle = total.saturating_sub(plan.len());
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "job": job,
                "file": target,
                "units": plan.len(),
                "parallelism": total,
                "idle_indices": idle,
            }))?
        );
    } else {
        println!(
            "{} job {job}: {} units over {total} indices → {} (kubectl apply -f {})",
            style("✓").green().bold(),
            plan.len(),
            target.display(),
            target.display()
        );
        if idle > 0 {
            eprintln!(
                "{} {idle} of the {total} indices have no unit to run (the plan has {}); a \
                 smaller --parallelism does the same work",
                style("warning:").yellow().bold(),
                plan.len()
            );
        }
        eprintln!(
            "{} the pods read the config's data files at {}: they must exist in the pods, where \
             the config is {CONFIG_DIR}/config.yaml (relative paths resolve there); --data-claim \
             mounts a volume at {}",
            style("note:").cyan(),
            [Some(&cfg.data.train), cfg.data.test.as_ref()]
                .into_iter()
                .flatten()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            args.data_mount
        );
    }
    Ok(())
}

/// The job flags of `slipway predict`, with the home folder that holds the default
/// artifact store.
#[derive(Args, Debug, Default)]
pub struct PredictJobArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// Home folder whose artifacts/ the job's results meet in when no
    /// --artifacts-destination is given [default: ~/.slipway].
    #[arg(long, env = "SLIPWAY_HOME")]
    pub home: Option<PathBuf>,
}

/// `slipway predict` with a job flag: emit, one index, or collect; `None` for an ordinary
/// run.
#[allow(clippy::too_many_arguments)]
pub fn predict(
    engine: &Engine,
    a: &PredictJobArgs,
    model: &Path,
    input: &Path,
    output: &Path,
    options: &slipway_engine::PredictOptions,
    json: bool,
    progress: &dyn Progress,
) -> anyhow::Result<Option<std::process::ExitCode>> {
    let args = &a.job;
    let home = || match a.home.clone().filter(|h| !h.as_os_str().is_empty()) {
        Some(h) => Ok(h),
        None => crate::default_home(),
    };
    match args.mode() {
        Mode::Single => return Ok(None),
        Mode::Emit => predict_emit(args, model, input, output, json)?,
        Mode::Worker => {
            let job = args.job_id()?;
            let total = args.total()?;
            let index = completion_index()?;
            let store = JobStore::open(args, &home()?)?;
            let scratch =
                std::env::temp_dir().join(format!("slipway-{job}-{index}-{}", std::process::id()));
            let result = engine.predict_worker(
                model, input, &job, index, total, &scratch, options, progress,
            );
            let stored = result
                .map_err(anyhow::Error::from)
                .and_then(|(part, file)| {
                    let bytes = std::fs::read(&file)
                        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", file.display()))?;
                    // The predictions first, then the description that marks the index done.
                    store.put(&part_path(&job, "predict", index, "parquet")?, bytes)?;
                    let meta = part_path(&job, "predict", index, "json")?;
                    store.put(&meta, serde_json::to_vec_pretty(&part)?)?;
                    Ok((part, format!("{}/{}", store.uri, meta.parts().join("/"))))
                });
            let _ = std::fs::remove_dir_all(&scratch);
            let (part, at) = stored?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "job": job, "index": index, "total": total,
                        "row_groups": [part.row_groups.start, part.row_groups.end],
                        "rows": part.rows, "seconds": part.seconds, "stored": at,
                    }))?
                );
            } else {
                println!(
                    "{} job {job} index {index} of {total}: row groups {}..{} of {}, {} rows in \
                     {:.1} s → {at}",
                    style("✓").green().bold(),
                    part.row_groups.start,
                    part.row_groups.end,
                    part.row_groups_total,
                    part.rows,
                    part.seconds
                );
            }
        }
        Mode::Collect => {
            let job = args.job_id()?;
            let total = args.total()?;
            let store = JobStore::open(args, &home()?)?;
            let dir = JobStore::dir(&job, "predict")?;
            let found = store.await_indices(&dir, "json", total, args.wait, progress)?;
            let scratch =
                std::env::temp_dir().join(format!("slipway-{job}-collect-{}", std::process::id()));
            std::fs::create_dir_all(&scratch)
                .map_err(|e| anyhow::anyhow!("{}: {e}", scratch.display()))?;
            let collected = (|| -> anyhow::Result<_> {
                let mut parts = BTreeMap::new();
                for (i, name) in found {
                    let meta = store.get(&dir.join(&name)?)?;
                    let file = scratch.join(format!("index-{i:05}.parquet"));
                    let bytes = store.get(&part_path(&job, "predict", i, "parquet")?)?;
                    std::fs::write(&file, bytes)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                    parts.insert(i, (meta, file));
                }
                Ok(engine.predict_collect(model, input, &job, total, &parts, output)?)
            })();
            let _ = std::fs::remove_dir_all(&scratch);
            let out = collected?;
            if json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!(
                    "{} job {job}: {} rows from {} indices → {}",
                    style("✓").green().bold(),
                    out.rows,
                    out.parts,
                    out.output.display()
                );
            }
        }
    }
    Ok(Some(std::process::ExitCode::SUCCESS))
}

/// `slipway predict --emit-k8s-job FILE`.
fn predict_emit(
    args: &JobArgs,
    model: &Path,
    input: &Path,
    output: &Path,
    json: bool,
) -> anyhow::Result<()> {
    let total = args.total()?;
    let job = match &args.job {
        Some(j) => {
            check_job_id(j)?;
            j.clone()
        }
        None => default_job_id(
            model
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("predict"),
        ),
    };
    let shown = |p: &Path| p.display().to_string();
    let groups = slipway_data::ingest::parquet_row_groups(input)
        .ok()
        .map(|(g, rows)| format!("{g} row groups ({rows} rows) of {}", input.display()));
    let spec = JobSpec {
        job: &job,
        command: "predict",
        base_args: vec![
            "predict".into(),
            "--model".into(),
            shown(model),
            "--input".into(),
            shown(input),
            "--output".into(),
            shown(output),
        ],
        total,
        image: args.image.as_deref().unwrap_or(DEFAULT_IMAGE),
        config_text: None,
        data_claim: args.data_claim.as_deref(),
        data_mount: &args.data_mount,
        summary: format!(
            "{} over {total} indices",
            groups.as_deref().unwrap_or("the row groups of the input")
        ),
    };
    let Some(target) = write_yaml(args, &spec)? else {
        return Ok(());
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "job": job, "file": target, "parallelism": total,
            }))?
        );
    } else {
        println!(
            "{} job {job}: {} → {} (kubectl apply -f {})",
            style("✓").green().bold(),
            spec.summary,
            target.display(),
            target.display()
        );
    }
    Ok(())
}

/// Writes the YAML to `--emit-k8s-job` (stdout for `-`); the file written, if any.
fn write_yaml<'a>(args: &'a JobArgs, spec: &JobSpec<'_>) -> anyhow::Result<Option<&'a Path>> {
    let yaml = spec.render();
    let target = args.emit_k8s_job.as_deref().unwrap_or(Path::new("-"));
    if target == Path::new("-") {
        print!("{yaml}");
        return Ok(None);
    }
    std::fs::write(target, &yaml)
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", target.display()))?;
    Ok(Some(target))
}

/// What the emitted YAML says.
struct JobSpec<'a> {
    job: &'a str,
    /// `train` or `predict`.
    command: &'a str,
    /// The container's arguments before the mode flag.
    base_args: Vec<String>,
    total: usize,
    image: &'a str,
    /// The config, for a ConfigMap mounted at [`CONFIG_DIR`].
    config_text: Option<&'a str>,
    data_claim: Option<&'a str>,
    data_mount: &'a str,
    summary: String,
}

/// A YAML double-quoted scalar (JSON's string syntax is YAML's).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

impl JobSpec<'_> {
    fn args(&self, mode: &str, extra: &[&str]) -> String {
        let mut a = self.base_args.clone();
        a.push(mode.to_string());
        a.extend(extra.iter().map(|s| s.to_string()));
        format!(
            "[{}]",
            a.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ")
        )
    }

    /// One Job: the Indexed workers or the collect step.
    fn job(&self, name: &str, component: &str, indexed: bool, args: &str) -> String {
        let n = self.total;
        let counts = if indexed {
            format!(
                "  completionMode: Indexed\n  completions: {n}\n  parallelism: {n}\n  \
                 # A failed index is retried on its own, twice; the others go on.\n  \
                 backoffLimitPerIndex: 2\n"
            )
        } else {
            "  completions: 1\n  parallelism: 1\n  backoffLimit: 2\n".to_string()
        };
        // The collect step of a scoring job writes its output on the claim.
        let read_only = if self.command == "predict" && !indexed {
            "false"
        } else {
            "true"
        };
        let (claim_mount, claim_volume) = match self.data_claim {
            Some(c) => (
                format!(
                    "            - name: data\n              mountPath: {}\n              readOnly: {read_only}\n",
                    q(self.data_mount)
                ),
                format!(
                    "        - name: data\n          persistentVolumeClaim:\n            claimName: {}\n            readOnly: {read_only}\n",
                    q(c)
                ),
            ),
            None => (String::new(), String::new()),
        };
        let (config_mount, config_volume) = match self.config_text {
            Some(_) => (
                format!(
                    "            - name: config\n              mountPath: {CONFIG_DIR}\n              readOnly: true\n"
                ),
                format!(
                    "        - name: config\n          configMap:\n            name: {}-config\n",
                    self.job
                ),
            ),
            None => (String::new(), String::new()),
        };
        format!(
            r#"apiVersion: batch/v1
kind: Job
metadata:
  name: {name}
  labels:
    app.kubernetes.io/name: slipway-job
    app.kubernetes.io/part-of: slipway
    app.kubernetes.io/component: {component}
    slipway.io/job: {job}
spec:
{counts}  ttlSecondsAfterFinished: 86400
  template:
    metadata:
      labels:
        app.kubernetes.io/name: slipway-job
        app.kubernetes.io/part-of: slipway
        app.kubernetes.io/component: {component}
        slipway.io/job: {job}
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        runAsGroup: 65532
        fsGroup: 65532
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: slipway
          image: {image}
          imagePullPolicy: IfNotPresent
          args: {args}
          # The Secrets of deploy/k8s/overlays/team: PostgreSQL for the tracked run, the S3
          # bucket where the indices' results meet (and the run's artifacts go).
          envFrom:
            - secretRef:
                name: slipway-s3
          env:
            - name: SLIPWAY_JOB_ID
              value: {job_q}
            - name: SLIPWAY_JOB_PARALLELISM
              value: "{n}"
            - name: SLIPWAY_HOME
              value: /tmp/slipway
            - name: SLIPWAY_OUTPUT
              value: /tmp/slipway/out
            - name: SLIPWAY_BACKEND_STORE_URI
              valueFrom:
                secretKeyRef:
                  name: slipway-postgres
                  key: uri
            - name: SLIPWAY_ARTIFACTS_DESTINATION
              valueFrom:
                secretKeyRef:
                  name: slipway-s3
                  key: destination
            - name: AWS_ENDPOINT_URL
              valueFrom:
                secretKeyRef:
                  name: slipway-s3
                  key: endpoint
                  optional: true
          resources:
            requests:
              cpu: "1"
              memory: 1Gi
            limits:
              memory: 4Gi
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
{config_mount}            - name: tmp
              mountPath: /tmp
{claim_mount}      volumes:
{config_volume}        - name: tmp
          emptyDir: {{}}
{claim_volume}"#,
            job = self.job,
            job_q = q(self.job),
            image = q(self.image),
        )
    }

    fn render(&self) -> String {
        let config_map = match self.config_text {
            Some(text) => {
                let config: String = text
                    .lines()
                    .map(|l| {
                        if l.trim().is_empty() {
                            "\n".to_string()
                        } else {
                            format!("    {l}\n")
                        }
                    })
                    .collect();
                format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {job}-config\n  \
                     labels:\n    app.kubernetes.io/name: slipway-job\n    \
                     app.kubernetes.io/part-of: slipway\n    slipway.io/job: {job}\ndata:\n  \
                     config.yaml: |\n{config}---\n",
                    job = self.job
                )
            }
            None => String::new(),
        };
        let wait = "--wait=86400";
        format!(
            r#"# slipway {command}: job {job}, {summary}.
# Kubernetes has no dependency between Jobs: apply this file whole. The Indexed Job runs
# one share per completion index and stores it under jobs/{job}/ in the artifact store;
# the collect Job waits until every index's share is there, then finishes the run (and
# fails, naming the missing indices, if some never arrive).
#   kubectl apply -f THIS_FILE
#   kubectl wait --for=condition=complete job/{job}-collect --timeout=24h
{config_map}{workers}---
{collect}"#,
            command = self.command,
            job = self.job,
            summary = self.summary,
            workers = self.job(
                self.job,
                &format!("{}-worker", self.command),
                true,
                &self.args("--k8s-worker", &[])
            ),
            collect = self.job(
                &format!("{}-collect", self.job),
                &format!("{}-collect", self.command),
                false,
                &self.args("--k8s-collect", &[wait])
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_dns_labels() {
        assert!(check_job_id("credit-20261206-231000").is_ok());
        for bad in ["", "Credit", "-a", "a-", "a_b", &"a".repeat(41)] {
            assert!(check_job_id(bad).is_err(), "{bad}");
        }
        let d = default_job_id("Credit Risk (v2)");
        assert!(check_job_id(&d).is_ok(), "{d}");
        assert!(
            d.starts_with("credit-risk--v2-") || d.starts_with("credit-risk-"),
            "{d}"
        );
    }
}
