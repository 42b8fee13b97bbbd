//! `slipway serve` (the tracking server, the registry and the inference server in one
//! process, or one bundle with no store) and `slipway predictions` (the prediction log).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use console::style;

use crate::default_home;

/// `slipway serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "SLIPWAY_HOST")]
    host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 5000, env = "SLIPWAY_PORT")]
    port: u16,
    /// Home folder holding the metadata database and artifacts [default: ~/.slipway].
    #[arg(long, env = "SLIPWAY_HOME")]
    home: Option<PathBuf>,
    /// Where artifacts go: a directory, file:///dir or s3://bucket/prefix
    /// [default: artifacts/ under the home folder]. S3 credentials come from the AWS_*
    /// environment variables.
    #[arg(long, env = "SLIPWAY_ARTIFACTS_DESTINATION")]
    artifacts_destination: Option<String>,
    /// Endpoint of an S3-compatible service for an s3:// destination.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    s3_endpoint_url: Option<String>,
    /// Where metadata goes: a SQLite file path, sqlite:///path or
    /// postgresql://user:password@host:port/database [default: slipway.db under the home
    /// folder].
    #[arg(long, env = "SLIPWAY_BACKEND_STORE_URI", hide_env_values = true)]
    backend_store_uri: Option<String>,
    /// The promotion policy (YAML with `protected_aliases`): a protected alias moves only to
    /// a version that passes its rules, whichever client asks (403 PERMISSION_DENIED with
    /// every broken rule otherwise); every attempt is recorded.
    #[arg(long, env = "SLIPWAY_POLICY")]
    policy: Option<PathBuf>,
    /// Largest artifact upload: bytes, or a size such as 500MiB, 16GiB, 2TiB [default: 16GiB].
    /// Uploads stream to the store, so this bounds disk use, not memory.
    #[arg(long, env = "SLIPWAY_MAX_ARTIFACT_BYTES", value_parser = crate::byte_size)]
    max_artifact_bytes: Option<u64>,
    /// Host names the server answers to, comma separated (`name`, `name:port`,
    /// `*.example.com`, or `*` for any); the loopback names are always allowed. Guards
    /// against DNS rebinding [default: the loopback names and the --host address; any IP
    /// address too when --host is not loopback].
    #[arg(long, env = "SLIPWAY_ALLOWED_HOSTS")]
    allowed_hosts: Option<String>,
    /// Origins (`scheme://host[:port]`, comma separated) allowed to make state-changing
    /// requests from a browser, with CORS answers [default: none but the server's own].
    #[arg(long, env = "SLIPWAY_CORS_ALLOWED_ORIGINS")]
    cors_allowed_origins: Option<String>,
    /// Seconds a client has to send a request header (and a new connection its first one).
    #[arg(long, default_value_t = 10, env = "SLIPWAY_HEADER_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Seconds a keep-alive connection may sit idle between requests.
    #[arg(long, default_value_t = 60, env = "SLIPWAY_IDLE_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// Seconds to read and answer one API request, body included (408 after that).
    #[arg(long, default_value_t = 60, env = "SLIPWAY_REQUEST_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..))]
    request_timeout: u64,
    /// Seconds to read and answer one artifact upload or download request.
    #[arg(long, default_value_t = 900, env = "SLIPWAY_ARTIFACT_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..))]
    artifact_timeout: u64,
    /// Most connections open at once; beyond it the longest-idle connection is closed, or
    /// new ones wait when all are busy. Keep it under the open-file limit (`ulimit -n`).
    #[arg(long, default_value_t = 512, env = "SLIPWAY_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: u64,
    /// Serve a registered model for prediction: NAME@ALIAS (the server follows the alias
    /// as it moves) or NAME@VERSION. Repeat for several models.
    #[arg(long = "model", value_name = "NAME@ALIAS|NAME@VERSION")]
    models: Vec<String>,
    /// Serve one model bundle directory for prediction, with no tracking server and no
    /// store (the container entry point).
    #[arg(long, conflicts_with_all = ["models", "backend_store_uri", "artifacts_destination", "policy"])]
    bundle: Option<PathBuf>,
    /// The name clients use for --bundle's model [default: the bundle's model name].
    #[arg(long, requires = "bundle")]
    name: Option<String>,
    /// Most rows in one prediction request (413 beyond).
    #[arg(long, default_value_t = 100_000, env = "SLIPWAY_MAX_ROWS", value_parser = clap::value_parser!(u64).range(1..))]
    max_rows: u64,
    /// Largest prediction request body: bytes or a size such as 64MiB (413 beyond).
    #[arg(long, default_value = "64MiB", env = "SLIPWAY_MAX_REQUEST_BYTES", value_parser = crate::byte_size)]
    max_request_bytes: u64,
    /// Seconds between checks of the aliases that served models follow.
    #[arg(long, default_value_t = 2, env = "SLIPWAY_RELOAD_INTERVAL", value_parser = clap::value_parser!(u64).range(1..))]
    reload_interval: u64,
    /// Threads that score requests [default: one per core].
    #[arg(long, env = "SLIPWAY_SCORING_THREADS")]
    scoring_threads: Option<usize>,
    /// Do not log predictions.
    #[arg(long)]
    no_prediction_log: bool,
    /// Where --bundle logs predictions (a folder); --bundle logs nothing without it.
    #[arg(long, requires = "bundle")]
    prediction_log: Option<PathBuf>,
    /// Most scored rows waiting to be logged; beyond it rows are shed (counted in
    /// /metrics), never predictions.
    #[arg(long, default_value_t = 100_000)]
    prediction_log_queue: usize,
    /// Remove logged predictions and feedback older than this many days.
    #[arg(long, env = "SLIPWAY_PREDICTION_RETENTION_DAYS", value_parser = clap::value_parser!(u64).range(1..))]
    prediction_retention_days: Option<u64>,
    /// Scheduled drift monitors over the prediction log (YAML: name, model, every, window,
    /// chunk_rows, min_rows, alerts); reports go to the artifact store under `_monitoring/`
    /// and to `GET /monitors` and the web UI's monitoring page.
    #[arg(long, value_name = "monitors.yaml", env = "SLIPWAY_MONITORS")]
    monitors: Option<PathBuf>,
    /// Where online models (`type: online`) keep the state they learned from /feedback, so
    /// a restarted server resumes it [default: online/ under the home folder; with --bundle,
    /// online/ in the --prediction-log folder]
    #[arg(long, value_name = "DIR", env = "SLIPWAY_ONLINE_STATE")]
    online_state: Option<PathBuf>,
    /// Save an online model's learned state after this many learned rows (0: only on
    /// shutdown)
    #[arg(long, default_value_t = 100, env = "SLIPWAY_ONLINE_CHECKPOINT_EVERY")]
    online_checkpoint_every: u64,
}

/// Runs `slipway serve`.
pub fn serve(a: ServeArgs) -> anyhow::Result<ExitCode> {
    if a.bundle.is_some() {
        return serve_bundle(a);
    }
    if a.monitors.is_some() && a.models.is_empty() {
        anyhow::bail!("--monitors watches served models; give --model NAME@ALIAS too");
    }
    let home = match a.home.clone() {
        Some(h) => h,
        None => default_home()?,
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    let destination = match a.artifacts_destination.as_deref() {
        Some(raw) => slipway_server::ArtifactDestination::parse(raw, a.s3_endpoint_url.clone())
            .map_err(|e| anyhow::anyhow!("--artifacts-destination: {e}"))?,
        None => slipway_server::ArtifactDestination::Home,
    };
    let policy = a
        .policy
        .as_deref()
        .map(crate::models::server_policy)
        .transpose()?;
    let backend = match a.backend_store_uri.as_deref() {
        Some(raw) => slipway_server::BackendStore::parse(raw)
            .map_err(|e| anyhow::anyhow!("--backend-store-uri: {e}"))?,
        None => slipway_server::BackendStore::Home,
    };
    let http = http_options(&a)?;
    runtime.block_on(async move {
        let mut state = slipway_server::AppState::open(
            &home,
            &backend,
            &destination,
            slipway_server::Limits {
                artifact_body_bytes: a
                    .max_artifact_bytes
                    .unwrap_or(slipway_server::DEFAULT_MAX_ARTIFACT_BYTES),
                ..slipway_server::Limits::default()
            },
        )
        .await
        .map_err(|e| match &backend {
            slipway_server::BackendStore::Postgres(_) => {
                anyhow::anyhow!("cannot open the PostgreSQL metadata store: {e}")
            }
            _ => anyhow::anyhow!("{}: cannot open the store: {e}", home.display()),
        })?
        .with_policy(policy);
        state.http = http;
        if !a.models.is_empty() {
            let specs = a
                .models
                .iter()
                .map(|m| slipway_server::serving::DeploymentSpec::parse_model(m))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("--model {e}"))?;
            let stores = slipway_server::serving::Stores {
                meta: state.meta.clone(),
                artifacts: state.artifacts.clone(),
            };
            let log_store = (!a.no_prediction_log).then(|| slipway_server::serving::LogStore {
                artifacts: state.artifacts.clone(),
                index: Some(state.meta.clone()),
            });
            let mut options = serving_options(&a)?;
            options.online.checkpoint_dir = Some(
                a.online_state
                    .clone()
                    .unwrap_or_else(|| home.join("online")),
            );
            let serving =
                slipway_server::serving::Serving::start(specs, Some(stores), log_store, options)
                    .await
                    .map_err(|e| anyhow::anyhow!("--model {e}"))?;
            for d in serving.deployments() {
                if let Some(live) = d.live() {
                    eprintln!(
                        "{} serving {} version {}",
                        style("✓").green().bold(),
                        d.spec.name,
                        live.version
                    );
                }
            }
            state.serving = Some(serving);
        }
        let listener = tokio::net::TcpListener::bind((a.host.as_str(), a.port))
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}:{}: {e}", a.host, a.port))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "{} slipway server on http://{addr} (home {})",
            style("✓").green().bold(),
            home.display()
        );
        let shutdown = shutdown_signal();
        let serving = state.serving.clone();
        slipway_server::serve(listener, std::sync::Arc::new(state), shutdown).await?;
        // Rows still queued for the prediction log are written before exit, and what
        // online models learned is saved.
        if let Some(s) = serving {
            s.flush_log().await;
            s.checkpoint_online().await;
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on Ctrl-C or (on Unix) SIGTERM; in-flight requests then finish.
pub(crate) async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The connection settings the flags give: allowed hosts and origins, timeouts, the cap.
fn http_options(a: &ServeArgs) -> anyhow::Result<slipway_server::HttpOptions> {
    let hosts = match a.allowed_hosts.as_deref() {
        Some(raw) => slipway_server::AllowedHosts::parse(raw)
            .map_err(|e| anyhow::anyhow!("--allowed-hosts: {e}"))?,
        None => slipway_server::AllowedHosts::default_for(&a.host),
    };
    let origins = match a.cors_allowed_origins.as_deref() {
        Some(raw) => slipway_server::AccessPolicy::parse_origins(raw)
            .map_err(|e| anyhow::anyhow!("--cors-allowed-origins: {e}"))?,
        None => Vec::new(),
    };
    Ok(slipway_server::HttpOptions {
        access: slipway_server::AccessPolicy { hosts, origins },
        header_timeout: Duration::from_secs(a.header_timeout),
        idle_timeout: Duration::from_secs(a.idle_timeout),
        request_timeout: Duration::from_secs(a.request_timeout),
        artifact_timeout: Duration::from_secs(a.artifact_timeout),
        max_connections: usize::try_from(a.max_connections).unwrap_or(usize::MAX),
    })
}

/// The serving settings the flags give.
fn serving_options(a: &ServeArgs) -> anyhow::Result<slipway_server::serving::ServingOptions> {
    let mut o = slipway_server::serving::ServingOptions {
        max_rows: usize::try_from(a.max_rows).unwrap_or(usize::MAX),
        max_body_bytes: usize::try_from(a.max_request_bytes).unwrap_or(usize::MAX),
        reload_interval: Duration::from_secs(a.reload_interval),
        threads: a.scoring_threads.unwrap_or(0),
        ..Default::default()
    };
    o.log.enabled = !a.no_prediction_log;
    o.online.checkpoint_every = a.online_checkpoint_every;
    o.log.queue_rows = a.prediction_log_queue;
    o.log.retention = a
        .prediction_retention_days
        .map(|d| Duration::from_secs(d.saturating_mul(86_400)));
    if let Some(path) = &a.monitors {
        if a.no_prediction_log {
            anyhow::bail!("--monitors reads the prediction log; drop --no-prediction-log");
        }
        if a.bundle.is_some() && a.prediction_log.is_none() {
            anyhow::bail!(
                "--monitors reads the prediction log; with --bundle give --prediction-log FOLDER"
            );
        }
        o.monitors = Some(
            slipway_monitor::scheduled::MonitorsFile::load(path)
                .map_err(|e| anyhow::anyhow!("--monitors {e}"))?,
        );
    }
    Ok(o)
}

/// The model name of the bundle at `dir` (its manifest's `name`), made fit for a URL path.
fn bundle_name(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join("manifest.json");
    let text = std::fs::read(&path)
        .map_err(|e| anyhow::anyhow!("--bundle {}: not a model bundle: {e}", dir.display()))?;
    let v: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let name: String = v["name"]
        .as_str()
        .unwrap_or("model")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(255)
        .collect();
    Ok(if name.is_empty() || name == "." || name == ".." {
        "model".into()
    } else {
        name
    })
}

/// `slipway serve --bundle DIR`: the inference routes only, no store.
fn serve_bundle(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let Some(dir) = a.bundle.clone() else {
        anyhow::bail!("--bundle is required here");
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let name = match &a.name {
        Some(n) => n.clone(),
        None => bundle_name(&dir)?,
    };
    let http = http_options(&a)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async move {
        let log_store = match (&a.prediction_log, a.no_prediction_log) {
            (Some(folder), false) => Some(slipway_server::serving::LogStore {
                artifacts: slipway_server::open_local_artifacts(folder.clone())
                    .await
                    .map_err(|e| anyhow::anyhow!("--prediction-log {}: {e}", folder.display()))?,
                index: None,
            }),
            _ => None,
        };
        let spec = slipway_server::serving::DeploymentSpec {
            name: name.clone(),
            source: slipway_server::serving::Source::Bundle(dir.clone()),
        };
        let mut options = serving_options(&a)?;
        options.online.checkpoint_dir = a
            .online_state
            .clone()
            .or_else(|| a.prediction_log.as_ref().map(|p| p.join("online")));
        let serving = slipway_server::serving::Serving::start(vec![spec], None, log_store, options)
            .await
            .map_err(|e| anyhow::anyhow!("--bundle {}: {e}", dir.display()))?;
        let listener = tokio::net::TcpListener::bind((a.host.as_str(), a.port))
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}:{}: {e}", a.host, a.port))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "{} serving {name} from {} on http://{addr}",
            style("✓").green().bold(),
            dir.display()
        );
        slipway_server::serve_models(listener, serving.clone(), http, shutdown_signal()).await?;
        // Rows still queued for the prediction log are written before exit, and what
        // online models learned is saved.
        serving.flush_log().await;
        serving.checkpoint_online().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `slipway predictions ...`.
#[derive(Subcommand)]
pub enum PredictionsCommand {
    /// Write the logged predictions of a served model (with the feedback labels joined by
    /// prediction id) to a Parquet, CSV or JSON-lines file.
    Export(ExportArgs),
}

/// `slipway predictions export`.
#[derive(Args)]
pub struct ExportArgs {
    /// The served model's name (as `serve --model NAME@...` or `--bundle` named it).
    #[arg(long)]
    model: String,
    /// Only this version.
    #[arg(long)]
    version: Option<String>,
    /// Rows scored at or after this time: RFC 3339 (2026-12-06T10:00:00Z), a date
    /// (2026-12-06) or an age (30m, 24h, 7d).
    #[arg(long)]
    since: Option<String>,
    /// Rows scored before this time (same forms as --since).
    #[arg(long)]
    until: Option<String>,
    /// The file to write (.parquet, .csv or .jsonl).
    #[arg(long, short)]
    output: PathBuf,
    /// The server's metadata store (its segment index), when it is not slipway.db under
    /// the home folder: a SQLite path or a postgresql:// URL.
    #[arg(long, env = "SLIPWAY_BACKEND_STORE_URI", hide_env_values = true)]
    backend_store_uri: Option<String>,
    /// Home folder of the server's store [default: ~/.slipway].
    #[arg(long, env = "SLIPWAY_HOME")]
    home: Option<PathBuf>,
    /// The server's artifact destination (a directory, file:///dir or s3://bucket/prefix),
    /// when it is not artifacts/ under the home folder.
    #[arg(long, env = "SLIPWAY_ARTIFACTS_DESTINATION")]
    artifacts_destination: Option<String>,
    /// Endpoint of an S3-compatible service for an s3:// destination.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    s3_endpoint_url: Option<String>,
    /// A folder given to `serve --bundle --prediction-log` instead of a store.
    #[arg(long, conflicts_with_all = ["artifacts_destination", "backend_store_uri"])]
    log_dir: Option<PathBuf>,
}

/// Reads `--since` / `--until`: RFC 3339, a date, or an age before now.
fn parse_time(raw: &str, flag: &str) -> anyhow::Result<i64> {
    let t = raw.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp_millis());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(d
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_millis());
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (n, unit) = t.split_at(digits);
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match n.parse::<i64>() {
        Ok(n) if secs > 0 => Ok(chrono::Utc::now().timestamp_millis() - n * secs * 1000),
        _ => anyhow::bail!(
            "{flag} '{raw}': write a time as 2026-12-06T10:00:00Z, a date as 2026-12-06, or an \
             age as 30m, 24h or 7d"
        ),
    }
}

/// Runs one `slipway predictions` subcommand.
pub fn predictions(cmd: PredictionsCommand, json: bool) -> anyhow::Result<ExitCode> {
    let PredictionsCommand::Export(a) = cmd;
    let since = a
        .since
        .as_deref()
        .map(|s| parse_time(s, "--since"))
        .transpose()?;
    let until = a
        .until
        .as_deref()
        .map(|s| parse_time(s, "--until"))
        .transpose()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    let summary = runtime.block_on(async {
        let store = match &a.log_dir {
            // A folder written by `serve --bundle --prediction-log`: no index, listed.
            Some(dir) => slipway_server::serving::LogStore {
                artifacts: slipway_server::open_local_artifacts(dir.clone())
                    .await
                    .map_err(|e| anyhow::anyhow!("--log-dir {}: {e}", dir.display()))?,
                index: None,
            },
            None => {
                let home = match a.home.clone() {
                    Some(h) => h,
                    None => default_home()?,
                };
                let backend = match a.backend_store_uri.as_deref() {
                    Some(raw) => slipway_server::BackendStore::parse(raw)
                        .map_err(|e| anyhow::anyhow!("--backend-store-uri: {e}"))?,
                    None => slipway_server::BackendStore::Home,
                };
                let destination = match &a.artifacts_destination {
                    Some(raw) => {
                        slipway_server::ArtifactDestination::parse(raw, a.s3_endpoint_url.clone())
                            .map_err(|e| anyhow::anyhow!("--artifacts-destination: {e}"))?
                    }
                    None => slipway_server::ArtifactDestination::Home,
                };
                let state = slipway_server::AppState::open(
                    &home,
                    &backend,
                    &destination,
                    slipway_server::Limits::default(),
                )
                .await
                .map_err(|e| anyhow::anyhow!("cannot open the server's store: {e}"))?;
                slipway_server::serving::LogStore {
                    artifacts: state.artifacts.clone(),
                    index: Some(state.meta.clone()),
                }
            }
        };
        slipway_server::serving::export_predictions(
            &store,
            &a.model,
            a.version.as_deref(),
            since,
            until,
            &a.output,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{} {} predictions of {} (versions {}; {} with feedback) → {}",
            style("✓").green().bold(),
            summary.rows,
            a.model,
            summary.versions.join(", "),
            summary.labelled,
            a.output.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
