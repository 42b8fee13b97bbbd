//! The `slipway` command: a tabular ML model from raw data to a governed bundle.
//!
//! Exit codes: 0 success, 1 internal failure, 2 bad input or config, 3 data validation
//! failed (or, for `monitor drift --fail-on-drift`, drift found), 4 the quality gate refused
//! the model.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use console::style;
use indicatif::{ProgressBar, ProgressStyle};
use slipway_data::ingest::ReadOptions;
use slipway_data::validate::{Rules, ValidationReport};
use slipway_engine::{Engine, EngineOptions, Error, ErrorKind, PipelineConfig, Progress};

// Shadow std's `println!` / `eprintln!` in this whole crate (macros defined before the
// modules reach into them): a closed pipe (`slipway profile ... | head`) must not panic.
macro_rules! println {
    () => {
        $crate::out::stdout_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::stdout_line(format_args!($($arg)*))
    };
}

macro_rules! eprintln {
    () => {
        $crate::out::stderr_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::stderr_line(format_args!($($arg)*))
    };
}

/// mimalloc instead of glibc's malloc: the server's many small, short-lived allocations
/// (request rows, prediction-log records) made glibc consolidate its free lists on the
/// request path (see `bench/serving/RESULTS.md`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod deploy;
mod explain;
mod explain_local;
mod fairness;
mod healthcheck;
mod k8s_job;
mod models;
mod monitor;
mod online;
mod out;
mod record;
mod serve;
mod tracking;

#[derive(Parser)]
#[command(
    name = "slipway",
    version,
    about = "A tabular ML model from raw data to governed production."
)]
struct Cli {
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate, cross-validate candidates, pick the best, evaluate it and write a bundle.
    Train(TrainArgs),
    /// Score a CSV/Parquet/JSON-lines file with a model bundle.
    Predict(PredictArgs),
    /// Explain a model: SHAP values of a file's rows (TreeSHAP, linear SHAP, exact Shapley
    /// values for any model); `explain pdp` (partial dependence, ICE) and `explain
    /// importance` (permutation importance) for any model.
    Explain(explain::ExplainCommand),
    /// Check a data file against validation rules.
    Validate(ValidateArgs),
    /// Fairness metrics by protected group: a bundle's predictions on a file, or any
    /// model's predictions file.
    Fairness(fairness::FairnessArgs),
    /// Profile every column of a data file (text, JSON or an HTML page).
    Profile(ProfileArgs),
    /// Run the tracking server (MLflow REST API; point `MLFLOW_TRACKING_URI` at it).
    Serve(serve::ServeArgs),
    /// Ask a running server for /health (or --path /ready): exit 0 on 200, else 1 (the
    /// container image's HEALTHCHECK).
    Healthcheck(healthcheck::HealthcheckArgs),
    /// The prediction log: export what a server logged.
    #[command(subcommand)]
    Predictions(serve::PredictionsCommand),
    /// The model registry: register, list, show, alias and promote model versions.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Monitoring: drift of current data against a reference.
    #[command(subcommand)]
    Monitor(monitor::MonitorCommand),
    /// Online learning from a JSON-lines stream (file or stdin): progressive validation,
    /// periodic metrics, drift alarms with --detector.
    Online(online::OnlineArgs),
    /// Deployments: A/B, canary, blue-green and shadow on a running server, and the A/B
    /// readout of an exposures file.
    #[command(subcommand)]
    Deploy(deploy::DeployCommand),
}

/// Reads a size: a whole number of bytes, optionally followed by KiB, MiB, GiB or TiB (or
/// KB, MB, GB, TB, powers of 1000).
pub(crate) fn byte_size(raw: &str) -> Result<u64, String> {
    let text = raw.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let unit_size: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown unit '{other}' in '{raw}': use bytes or KiB, MiB, GiB, TiB (KB, MB, GB, TB)"
            ));
        }
    };
    let n: u64 = number.parse().map_err(|_| {
        format!("'{raw}' is not a size: write bytes or a number with a unit such as 16GiB")
    })?;
    match n.checked_mul(unit_size) {
        Some(0) => Err(format!("'{raw}': the limit must be at least 1 byte")),
        Some(size) => Ok(size),
        None => Err(format!("'{raw}' is too large")),
    }
}

#[derive(Args)]
struct TrainArgs {
    /// The pipeline config (YAML).
    #[arg(long, short)]
    config: PathBuf,
    /// Output directory (overrides the config's `output`).
    #[arg(long, env = "SLIPWAY_OUTPUT")]
    output: Option<PathBuf>,
    /// Seed for splits and models (overrides the config's `seed`).
    #[arg(long, env = "SLIPWAY_SEED")]
    seed: Option<u64>,
    /// Worker threads (overrides the config's `threads`; capped at the number of cores
    /// unless --oversubscribe).
    #[arg(long, env = "SLIPWAY_THREADS")]
    threads: Option<usize>,
    /// Run as many threads as asked even beyond the number of cores (threads and a model's
    /// n_threads are otherwise capped there, with a warning).
    #[arg(long, env = "SLIPWAY_OVERSUBSCRIBE")]
    oversubscribe: bool,
    #[command(flatten)]
    tracking: TrackingArgs,
    /// Do not record the run.
    #[arg(long)]
    no_track: bool,
    #[command(flatten)]
    job: k8s_job::JobArgs,
}

/// Where runs and registered models live.
#[derive(Args)]
struct TrackingArgs {
    /// A tracking server (`http://host:port`, also `MLFLOW_TRACKING_URI`); default: the local
    /// store under the Slipway home folder, the one `slipway serve` shows.
    #[arg(long, env = "SLIPWAY_TRACKING_URI")]
    tracking_uri: Option<String>,
    /// Home folder of the local store when no tracking server is given [default:
    /// ~/.slipway].
    #[arg(long, env = "SLIPWAY_HOME")]
    home: Option<PathBuf>,
}

impl TrackingArgs {
    /// The MLflow REST client for these settings.
    fn client(&self) -> anyhow::Result<tracking::Client> {
        self.client_with_policy(None)
    }

    /// The client, with `policy` guarding the local store's aliases (as `serve --policy`
    /// guards a server's); a server applies its own policy, so one is refused with
    /// `--tracking-uri`.
    fn client_with_policy(
        &self,
        policy: Option<slipway_govern::Policy>,
    ) -> anyhow::Result<tracking::Client> {
        let uri = self.tracking_uri.clone().or_else(|| {
            std::env::var("MLFLOW_TRACKING_URI")
                .ok()
                .filter(|u| !u.is_empty())
        });
        Ok(match uri {
            Some(u) if policy.is_some() => anyhow::bail!(
                "--policy applies to the local store; the server at {u} gates its aliases with \
                 its own policy (`slipway serve --policy FILE`)"
            ),
            Some(u) => tracking::Client::http(&u)?,
            None => {
                let home = match self.home.clone().filter(|h| !h.as_os_str().is_empty()) {
                    Some(h) => h,
                    None => default_home()?,
                };
                tracking::Client::local(&home, policy)?
            }
        })
    }
}

#[derive(Args)]
struct PredictArgs {
    /// The model bundle directory (`<output>/model` after `slipway train`).
    #[arg(long, short)]
    model: PathBuf,
    /// Rows to score.
    #[arg(long, short)]
    input: PathBuf,
    /// Where to write predictions (.csv, .parquet or .jsonl).
    #[arg(long, short)]
    output: PathBuf,
    /// An input column to copy to the output next to the predictions (repeatable or
    /// comma-separated). Id columns are always copied; other columns the model does not
    /// use are left out.
    #[arg(long, value_name = "COL", value_delimiter = ',')]
    keep: Vec<String>,
    #[command(flatten)]
    job: k8s_job::PredictJobArgs,
}

#[derive(Args)]
struct DataArgs {
    /// The data file (.csv, .tsv, .parquet, .jsonl).
    #[arg(long, short)]
    data: PathBuf,
    /// CSV delimiter.
    #[arg(long)]
    delimiter: Option<char>,
    /// A value read as missing (repeatable; replaces the defaults).
    #[arg(long = "missing")]
    missing: Vec<String>,
}

impl DataArgs {
    fn read_options(&self) -> ReadOptions {
        let mut o = ReadOptions::default();
        if let Some(d) = self.delimiter {
            o.delimiter = Some(d as u8);
        }
        if !self.missing.is_empty() {
            o.missing_tokens = self.missing.clone();
        }
        o
    }
}

#[derive(Args)]
struct ValidateArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Rules file (YAML with `required`, `columns`, `no_duplicate_rows`), or a pipeline config
    /// whose `validation:` section is used.
    #[arg(long, short)]
    rules: PathBuf,
}

#[derive(Args)]
struct ProfileArgs {
    #[command(flatten)]
    data: DataArgs,
    /// Also write an HTML profile here.
    #[arg(long)]
    html: Option<PathBuf>,
}

/// The bar on one line and the step's message (a candidate and its score) on the next, with
/// the terminal's whole width: after the bar, an 80-column terminal had 18 columns left and
/// cut most messages off.
fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} {elapsed}\n  {wide_msg}",
    )
    .expect("valid template")
    .progress_chars("=> ")
}

/// Progress bars on stderr; hidden when stderr is not a terminal or `--json` is set.
struct Bars {
    bar: Mutex<Option<ProgressBar>>,
    quiet: bool,
}

impl Progress for Bars {
    fn begin(&self, label: &str, total: u64) {
        if self.quiet {
            return;
        }
        let bar = ProgressBar::new(total);
        bar.set_style(bar_style());
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        *self.bar.lock().expect("progress lock") = Some(bar);
    }

    fn advance(&self, message: &str) {
        if let Some(b) = self.bar.lock().expect("progress lock").as_ref() {
            b.set_message(message.to_string());
            b.inc(1);
        }
    }

    fn set_position(&self, done: u64) {
        if let Some(b) = self.bar.lock().expect("progress lock").as_ref() {
            b.set_position(done);
        }
    }

    fn end(&self) {
        if let Some(b) = self.bar.lock().expect("progress lock").take() {
            b.finish_and_clear();
        }
    }

    fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("{} {message}", style("·").dim());
        }
    }

    /// Warnings go to stderr even with `--json` (which also lists them), above any bar.
    fn warn(&self, message: &str) {
        let line = format!("{} {message}", style("warning:").yellow().bold());
        match self.bar.lock().expect("progress lock").as_ref() {
            Some(b) => b.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

const EXIT_INTERNAL: u8 = 1;
const EXIT_USER: u8 = 2;
const EXIT_VALIDATION: u8 = 3;
pub(crate) const EXIT_GATE: u8 = 4;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let (code, failed) = match run(cli) {
        Ok(code) => (code, false),
        Err(e) => (report_error(&e, json), true),
    };
    // A reader that went away (`| head`) is not an error; a failed write otherwise is.
    match out::finish() {
        Some(e) if !failed => {
            eprintln!(
                "{} cannot write to stdout: {e}",
                style("error:").red().bold()
            );
            ExitCode::from(EXIT_INTERNAL)
        }
        _ => code,
    }
}

/// The error and its causes, each said once: an error whose text already includes its
/// cause's (`x.csv: No such file or directory`) does not say the cause again.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if text.is_empty() {
            text = c;
        } else if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
    }
    text
}

fn report_error(e: &anyhow::Error, json: bool) -> ExitCode {
    let engine_err = e.downcast_ref::<Error>();
    let code = match engine_err {
        Some(Error::Validation(_)) => EXIT_VALIDATION,
        Some(err) if err.kind() == ErrorKind::Internal => EXIT_INTERNAL,
        _ if e
            .downcast_ref::<slipway_monitor::Error>()
            .is_some_and(|m| m.kind() == slipway_monitor::ErrorKind::Internal) =>
        {
            EXIT_INTERNAL
        }
        _ if e
            .downcast_ref::<slipway_rollout::Error>()
            .is_some_and(|m| m.kind() == slipway_rollout::ErrorKind::Internal) =>
        {
            EXIT_INTERNAL
        }
        _ => EXIT_USER,
    };
    if json {
        let mut body = serde_json::json!({"error": error_text(e)});
        if let Some(Error::Validation(r)) = engine_err {
            body["validation"] = serde_json::to_value(r).unwrap_or_default();
        }
        println!("{body}");
    } else {
        if let Some(Error::Validation(r)) = engine_err {
            print_validation(r);
        }
        eprintln!("{} {}", style("error:").red().bold(), error_text(e));
        if let Some(h) = engine_err.and_then(Error::hint) {
            eprintln!("{} {h}", style("hint:").cyan());
        }
    }
    ExitCode::from(code)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let json = cli.json;
    let progress = Bars {
        bar: Mutex::new(None),
        quiet: json,
    };
    if let Command::Serve(a) = cli.command {
        return serve::serve(a);
    }
    let engine = Engine::new(EngineOptions::default());
    match cli.command {
        Command::Serve(_) => unreachable!("handled above"),
        Command::Train(a) => {
            let engine = Engine::new(EngineOptions {
                oversubscribe: a.oversubscribe,
                ..EngineOptions::default()
            });
            train(&engine, a, json, &progress)
        }
        Command::Models(m) => models::run(m, json),
        Command::Monitor(m) => monitor::run(m, json),
        Command::Online(a) => online::run(a, json),
        Command::Deploy(d) => deploy::run(d, json),
        Command::Predictions(p) => serve::predictions(p, json),
        Command::Healthcheck(a) => healthcheck::run(a, json),
        Command::Fairness(a) => fairness::run(&engine, a, json),
        Command::Explain(a) => explain::run(&engine, a, json),
        Command::Predict(a) => {
            let options = slipway_engine::PredictOptions {
                keep: a.keep,
                ..slipway_engine::PredictOptions::default()
            };
            if let Some(code) = k8s_job::predict(
                &engine, &a.job, &a.model, &a.input, &a.output, &options, json, &progress,
            )? {
                return Ok(code);
            }
            let out =
                engine.predict_with_progress(&a.model, &a.input, &a.output, &options, &progress)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                if !out.ignored_columns.is_empty() {
                    eprintln!(
                        "{} ignored {} input column(s) the model does not use: {} (copy one to the output with --keep COL)",
                        style("note:").cyan(),
                        out.ignored_columns.len(),
                        out.ignored_columns.join(", ")
                    );
                }
                println!(
                    "{} {} rows scored with {} → {}",
                    style("✓").green().bold(),
                    out.rows,
                    out.model,
                    out.output.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate(a) => {
            let rules = load_rules(&a.rules)?;
            let report = engine.validate(&a.data.data, &a.data.read_options(), &rules)?;
            if json {
                let mut v = serde_json::to_value(&report)?;
                if rules.is_empty() {
                    v["no_rules"] = true.into();
                }
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if rules.is_empty() {
                println!(
                    "{} {}: {} rows read; {} has no validation rules, so nothing was checked \
                     (a pipeline config lists them under `validation:`)",
                    style("note:").yellow().bold(),
                    a.data.data.display(),
                    report.n_rows,
                    a.rules.display()
                );
            } else if report.is_ok() {
                println!(
                    "{} {}: {} rows, every rule holds",
                    style("✓").green().bold(),
                    a.data.data.display(),
                    report.n_rows
                );
            } else {
                print_validation(&report);
            }
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_VALIDATION)
            })
        }
        Command::Profile(a) => {
            let profile = engine.profile(&a.data.data, &a.data.read_options())?;
            if let Some(path) = &a.html {
                let title = format!("Profile of {}", a.data.data.display());
                std::fs::write(path, slipway_data::profile::render_html(&profile, &title))
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&profile)?);
            } else {
                print_profile(&profile);
                if let Some(path) = &a.html {
                    println!("{} HTML profile: {}", style("✓").green(), path.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(crate) fn default_home() -> anyhow::Result<PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .ok_or_else(|| anyhow::anyhow!("HOME is not set: pass --home or set SLIPWAY_HOME"))?;
    Ok(PathBuf::from(home).join(".slipway"))
}

/// The rules in `path`: a rules file, or a pipeline config's `validation:` section (which
/// may be absent: then there are no rules).
fn load_rules(path: &Path) -> anyhow::Result<Rules> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
    let keys: std::collections::BTreeMap<String, serde::de::IgnoredAny> =
        slipway_engine::yaml::from_file_text(&text, path)?;
    // A rules file has only `required`, `columns` and `no_duplicate_rows`; a pipeline config
    // always has `data` and `models`.
    if keys.contains_key("models") || keys.contains_key("data") {
        return Ok(PipelineConfig::parse(&text, path)?.validation);
    }
    Ok(slipway_engine::yaml::from_file_text(&text, path)?)
}

fn print_validation(r: &ValidationReport) {
    eprintln!(
        "{} {} rule(s) broken in {} rows:",
        style("✗").red().bold(),
        r.violations.len(),
        r.n_rows
    );
    for v in &r.violations {
        let col = v.column.as_deref().unwrap_or("(table)");
        let examples: Vec<String> = v
            .examples
            .iter()
            .map(|e| match &e.value {
                Some(val) => format!("row {}: {val:?}", e.row),
                None => format!("row {}: missing", e.row),
            })
            .collect();
        eprintln!(
            "  {} {} [{}] {} ({} rows){}",
            style("•").red(),
            style(col).bold(),
            v.rule,
            v.message,
            v.count,
            if examples.is_empty() {
                String::new()
            } else {
                format!(" — {}", examples.join("; "))
            }
        );
    }
}

fn print_profile(p: &slipway_data::profile::Profile) {
    println!("{} rows, {} columns", p.n_rows, p.columns.len());
    for c in &p.columns {
        let detail = if let Some(n) = &c.numeric {
            format!(
                "mean {:.4} std {:.4} min {} max {}",
                n.mean, n.std, n.min, n.max
            )
        } else if let Some(cat) = &c.categories {
            let top: Vec<String> = cat
                .top
                .iter()
                .take(3)
                .map(|t| format!("{} ({})", t.value, t.count))
                .collect();
            format!("top {}", top.join(", "))
        } else {
            String::new()
        };
        println!(
            "  {:<24} {:<11} missing {:>6}  distinct {:>6}  {}",
            style(&c.name).bold(),
            c.dtype.to_string(),
            c.missing,
            c.distinct,
            style(detail).dim()
        );
    }
}

fn train(engine: &Engine, a: TrainArgs, json: bool, progress: &Bars) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&a.config)
        .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", a.config.display()))?;
    let mut cfg = PipelineConfig::load(&a.config)?;
    if let Some(o) = a.output {
        cfg.output = Some(o);
    }
    if let Some(s) = a.seed {
        cfg.seed = s;
    }
    if let Some(t) = a.threads {
        anyhow::ensure!(t >= 1, "--threads must be at least 1");
        cfg.threads = Some(t);
    }
    let mode = a.job.mode();
    match mode {
        k8s_job::Mode::Emit => {
            k8s_job::train_emit(&a.job, &cfg, &text, json)?;
            return Ok(ExitCode::SUCCESS);
        }
        k8s_job::Mode::Worker => {
            let home = job_home(&a.tracking)?;
            k8s_job::train_worker(engine, &a.job, &cfg, &text, &home, json, progress)?;
            return Ok(ExitCode::SUCCESS);
        }
        k8s_job::Mode::Single | k8s_job::Mode::Collect => {}
    }
    let collect = matches!(mode, k8s_job::Mode::Collect);
    let client = if a.no_track {
        None
    } else if collect {
        // The collect step records the run in the stores the job's results are in.
        match job_home(&a.tracking).and_then(|h| a.job.tracking_client(&h)) {
            Ok(c) => Some(c),
            Err(e) => {
                tracking_warning(&e.to_string());
                None
            }
        }
    } else {
        match a.tracking.client() {
            Ok(c) => Some(c),
            Err(e) => {
                tracking_warning(&e.to_string());
                None
            }
        }
    };
    let recorder = client.as_ref().and_then(|c| {
        match record::RunRecorder::start(c, &cfg.name, &cfg.name, "slipway train") {
            Ok(r) => Some(r),
            Err(e) => {
                tracking_warning(&format!("{}: {e}", c.target));
                None
            }
        }
    });
    if cfg.is_clustering() {
        let out = mark_failed(
            recorder.as_ref(),
            engine.cluster(&cfg, Some(&text), progress),
        )?;
        let tracked = record_run(recorder.as_ref(), || {
            record::RunLog::cluster(&cfg, &text, &out)
        });
        return print_cluster(&out, tracked.as_ref(), json);
    }
    let trained = if collect {
        let home = job_home(&a.tracking)?;
        k8s_job::train_collect(engine, &a.job, &cfg, &text, &home, progress)?
    } else {
        engine.train(&cfg, Some(&text), progress)
    };
    let out = mark_failed(recorder.as_ref(), trained)?;
    let tracked = record_run(recorder.as_ref(), || {
        record::RunLog::train(&cfg, &text, &out)
    });
    if json {
        let mut v = serde_json::to_value(&out)?;
        if let Some(t) = &tracked {
            v["tracking"] = t.clone();
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let metric = out.selection_metric.name();
        println!(
            "{} ({:?}, {} training rows, {} held out)",
            style(&out.name).bold(),
            out.task,
            out.train_rows,
            out.test_rows
        );
        if let Some(p) = &out.positive_class {
            println!(
                "  positive class: {} ({})",
                style(&p.label).bold(),
                if p.source == "config" {
                    "positive_class in the config"
                } else {
                    "implicit: the second label in sort order"
                }
            );
        }
        println!(
            "  {:<22} {:<20} {:>18} {:>11}",
            style("candidate").underlined(),
            style("type").underlined(),
            style(format!("cv {metric}")).underlined(),
            style("fit s/fold").underlined()
        );
        for c in &out.candidates {
            if let (Some(e), true) = (&c.error, c.mean.is_empty()) {
                println!(
                    "  {:<22} {:<20} {}",
                    c.name,
                    c.model_type,
                    style(format!("failed: {e}")).red()
                );
                continue;
            }
            let mean = c.mean.get(metric).copied().unwrap_or(f64::NAN);
            let std = c.std.get(metric).copied().unwrap_or(f64::NAN);
            let line = format!(
                "  {:<22} {:<20} {:>9.4} ± {:<6.4} {:>11.2}",
                c.name, c.model_type, mean, std, c.fit_seconds
            );
            if c.name == out.selected {
                println!("{} {}", style(line).green(), style("← selected").green());
            } else {
                println!("{line}");
            }
            if let Some(e) = &c.error {
                println!("    {}", style(format!("failed: {e}")).red());
            }
            if let Some(s) = &c.search {
                println!(
                    "    {} search, {} configurations; best {}",
                    s.method,
                    s.evaluations.len(),
                    serde_json::to_string(&s.best_params).unwrap_or_default()
                );
                for t in &s.ties {
                    println!("    {} {t}", style("tie:").yellow());
                }
            }
        }
        if let Some(c) = &out.calibration {
            println!(
                "  calibration ({:?}): holdout brier {:.4} → {:.4}",
                c.method,
                c.brier_before.unwrap_or(f64::NAN),
                c.brier_after.unwrap_or(f64::NAN)
            );
        }
        if let Some(t) = &out.threshold {
            println!(
                "  decision threshold {:.4} (out-of-fold {} {:.4})",
                t.threshold,
                t.metric.name(),
                t.value
            );
        }
        println!("  holdout:");
        for (k, v) in &out.evaluation.metrics {
            println!("    {k:<20} {v:.4}");
        }
        if let Some(o) = &out.online {
            println!(
                "  progressive (online {}, {} training rows, each predicted then learned):",
                o.learner, o.rows
            );
            println!("    {:<20} {:.4}", "accuracy", o.progressive_accuracy);
            println!("    {:<20} {:.4}", "log_loss", o.progressive_log_loss);
        }
        if !out.skipped_columns.is_empty() {
            println!(
                "  {} text columns not used as features: {}",
                style("note:").yellow(),
                out.skipped_columns.join(", ")
            );
        }
        if !out.warnings.is_empty() {
            println!(
                "  {} {} warning(s), shown above and in the report",
                style("warnings:").yellow(),
                out.warnings.len()
            );
        }
        println!("  report: {}", out.report_html.display());
        match &out.bundle {
            Some(b) => println!(
                "{} gate passed: {}; bundle written to {}",
                style("✓").green().bold(),
                gate_line(
                    metric,
                    out.gate.value,
                    out.gate.minimum,
                    out.selection_metric.greater_is_better()
                ),
                b.display()
            ),
            None => eprintln!(
                "{} gate failed: {}",
                style("✗").red().bold(),
                out.gate.reason.as_deref().unwrap_or("")
            ),
        }
        print_tracked(tracked.as_ref());
    }
    Ok(if out.gate.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_GATE)
    })
}

/// The home folder of a Kubernetes job's pod (`--home` / `SLIPWAY_HOME`, else the default).
fn job_home(t: &TrackingArgs) -> anyhow::Result<PathBuf> {
    match t.home.clone().filter(|h| !h.as_os_str().is_empty()) {
        Some(h) => Ok(h),
        None => default_home(),
    }
}

/// A passed gate with its bound: `roc_auc 0.9266 ≥ 0.85`, `rmse 51.2 ≤ 60`, or the value
/// and "no bound set" when the config sets no `selection.minimum`.
fn gate_line(metric: &str, value: f64, bound: Option<f64>, greater_is_better: bool) -> String {
    match bound {
        Some(b) => format!(
            "{metric} {value:.4} {} {b}",
            if greater_is_better { "≥" } else { "≤" }
        ),
        None => format!("{metric} {value:.4} (no bound set: selection.minimum)"),
    }
}

/// Passes a training result through; on an error, marks the run FAILED (warning when that
/// fails too).
fn mark_failed<T>(
    recorder: Option<&record::RunRecorder<'_>>,
    result: Result<T, Error>,
) -> anyhow::Result<T> {
    result.map_err(|e| {
        if let Some(r) = recorder
            && let Err(te) = r.fail(&e.to_string())
        {
            tracking_warning(&te.to_string());
        }
        e.into()
    })
}

/// Records a finished run; returns what `--json` shows under `tracking` (the run id, or the
/// error that a warning also printed).
fn record_run(
    recorder: Option<&record::RunRecorder<'_>>,
    log: impl FnOnce() -> tracking::Result<record::RunLog>,
) -> Option<serde_json::Value> {
    let r = recorder?;
    Some(match log().and_then(|l| r.record(&l)) {
        Ok(()) => serde_json::json!({"run_id": r.run_id, "experiment_id": r.experiment_id}),
        Err(e) => {
            tracking_warning(&e.to_string());
            serde_json::json!({"run_id": r.run_id, "error": e.to_string()})
        }
    })
}

/// The "run recorded" line, when the run was.
fn print_tracked(tracked: Option<&serde_json::Value>) {
    if let Some(t) = tracked.filter(|t| t.get("error").is_none()) {
        println!(
            "  run {} recorded (experiment {})",
            t["run_id"].as_str().unwrap_or_default(),
            t["experiment_id"].as_str().unwrap_or_default()
        );
    }
}

/// A tracking failure after (or before) training: the bundle is kept and the exit code is the
/// training's; this warns on stderr with a hint.
fn tracking_warning(message: &str) {
    eprintln!(
        "{} run not recorded: {message}",
        style("warning:").yellow().bold()
    );
    eprintln!(
        "{} the bundle and reports are on disk; check --tracking-uri / MLFLOW_TRACKING_URI \
         (or SLIPWAY_HOME), or pass --no-track",
        style("hint:").cyan()
    );
}

/// Prints a clustering run (`task: clustering`) and returns its exit code (4: gate failed).
fn print_cluster(
    out: &slipway_engine::ClusterOutcome,
    tracked: Option<&serde_json::Value>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if json {
        let mut v = serde_json::to_value(out)?;
        if let Some(t) = tracked {
            v["tracking"] = t.clone();
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{} (clustering, {} rows)",
            style(&out.name).bold(),
            out.rows
        );
        println!(
            "  {:<22} {:<8} {:>8} {:>11} {:>10} {:>10}",
            style("candidate").underlined(),
            style("type").underlined(),
            style("clusters").underlined(),
            style("silhouette").underlined(),
            style("CH").underlined(),
            style("DB").underlined()
        );
        for c in &out.candidates {
            if let Some(e) = &c.error {
                println!(
                    "  {:<22} {:<8} {}",
                    c.name,
                    c.model_type,
                    style(format!("failed: {e}")).red()
                );
                continue;
            }
            let s = |k: &str| {
                c.scores
                    .get(k)
                    .map_or("—".to_string(), |v| format!("{v:.4}"))
            };
            let line = format!(
                "  {:<22} {:<8} {:>8} {:>11} {:>10} {:>10}",
                c.name,
                c.model_type,
                c.n_clusters,
                s("silhouette"),
                s("calinski_harabasz"),
                s("davies_bouldin")
            );
            if c.name == out.selected {
                println!("{} {}", style(line).green(), style("← selected").green());
            } else {
                println!("{line}");
            }
        }
        println!("  report: {}", out.report_html.display());
        match &out.bundle {
            Some(b) => println!(
                "{} gate passed: {}; bundle written to {}",
                style("✓").green().bold(),
                gate_line("silhouette", out.gate.value, out.gate.minimum, true),
                b.display()
            ),
            None => eprintln!(
                "{} gate failed: {}",
                style("✗").red().bold(),
                out.gate.reason.as_deref().unwrap_or("")
            ),
        }
        print_tracked(tracked);
    }
    Ok(if out.gate.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_GATE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// An 80-column terminal that keeps what is written to it.
    #[derive(Debug, Default, Clone)]
    struct Screen(Arc<Mutex<String>>);

    impl indicatif::TermLike for Screen {
        fn width(&self) -> u16 {
            80
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            let mut screen = self.0.lock().unwrap();
            screen.push_str(s);
            screen.push('\n');
            Ok(())
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.0.lock().unwrap().push_str(s);
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn progress_message_is_not_cut_off_on_an_80_column_terminal() {
        let screen = Screen::default();
        let bar = ProgressBar::with_draw_target(
            Some(250),
            indicatif::ProgressDrawTarget::term_like(Box::new(screen.clone())),
        );
        bar.set_style(bar_style());
        bar.set_prefix("cross-validating");
        let message = "gbdt_halving_wide_leaves fold 3/5: roc_auc 0.9123";
        bar.set_message(message);
        bar.inc(117);
        // Finishing forces a draw (ticks are rate-limited).
        bar.finish();
        let shown = console::strip_ansi_codes(&screen.0.lock().unwrap()).to_string();
        assert!(shown.contains(message), "{shown:?}");
        assert!(shown.contains("117/250"), "{shown:?}");
    }

    #[test]
    fn gate_line_shows_the_bound() {
        assert_eq!(
            gate_line("roc_auc", 0.92661, Some(0.85), true),
            "roc_auc 0.9266 ≥ 0.85"
        );
        assert_eq!(
            gate_line("rmse", 51.2, Some(60.0), false),
            "rmse 51.2000 ≤ 60"
        );
        assert!(gate_line("roc_auc", 0.9, None, true).contains("no bound"));
    }

    #[test]
    fn sizes_read_with_units() {
        assert_eq!(byte_size("1024"), Ok(1024));
        assert_eq!(byte_size("500MiB"), Ok(500 << 20));
        assert_eq!(byte_size("16 GiB"), Ok(16 << 30));
        assert_eq!(byte_size("2tib"), Ok(2 << 40));
        assert_eq!(byte_size("5GB"), Ok(5_000_000_000));
        for bad in [
            "",
            "0",
            "GiB",
            "1.5GiB",
            "-1",
            "10 parsecs",
            "99999999999TiB",
        ] {
            let e = byte_size(bad).expect_err(bad);
            assert!(e.contains(bad), "{bad}: {e}");
        }
    }
}
