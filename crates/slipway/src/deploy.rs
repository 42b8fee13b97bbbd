//! `slipway deploy report`: the A/B readout of an exposures file (the statistics and the
//! decision are `slipway_rollout`'s; this file parses flags and prints); `slipway deploy
//! create|status|list|pause|resume|promote|rollback|end --server URL`: deployments on a
//! running server, through its `/api/2.0/slipway/deployments/...` routes.
//!
//! Exit codes: 0 readout done (whatever it recommends), 2 bad input (an unknown column, a
//! third arm label, a non-numeric outcome, an arm without rows, an option out of range),
//! 1 internal failure.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use console::style;
use slipway_rollout::logged::LogReadout;
use slipway_rollout::readout::{
    OutcomeKind, Readout, ReadoutColumns, ReadoutOptions, Recommendation, readout_file,
};
use slipway_rollout::report::{write_log_report, write_report};

/// The deployment subcommands.
#[derive(Subcommand)]
pub enum DeployCommand {
    /// The A/B readout of a deployment (from the server's prediction log and feedback) or
    /// of an exposures file: counts, sample-ratio check, the test that fits
    /// the outcome (conversions: two-proportion z-test; numbers: Welch), CUPED, always-valid
    /// p-value, and a recommendation.
    Report(ReportArgs),
    /// Create a deployment on a running `slipway serve` (which serves the model's champion
    /// with `--model NAME@champion`).
    Create(CreateArgs),
    /// A deployment's state, per-arm counters and history.
    Status(NameArgs),
    /// Every deployment on the server.
    List(ServerArgs),
    /// Pause a running deployment (its traffic share is kept; a canary takes no steps).
    Pause(ChangeArgs),
    /// Resume a paused deployment.
    Resume(ChangeArgs),
    /// Promote the challenger now: the champion alias moves through the promotion gate
    /// (blue-green: the flip to green).
    Promote(ChangeArgs),
    /// Roll back: all traffic to the champion.
    Rollback(ChangeArgs),
    /// End the deployment: all traffic to the champion.
    End(ChangeArgs),
}

/// Where the server is.
#[derive(Args)]
pub struct ServerArgs {
    /// The server (`http://host:port`).
    #[arg(long, env = "SLIPWAY_SERVER", value_name = "URL")]
    server: String,
}

/// A deployment on a server.
#[derive(Args)]
pub struct NameArgs {
    /// The deployment.
    name: String,
    #[command(flatten)]
    server: ServerArgs,
}

/// A user's change.
#[derive(Args)]
pub struct ChangeArgs {
    /// The deployment.
    name: String,
    /// Why (recorded with the event).
    #[arg(long)]
    reason: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

/// `deploy create`.
#[derive(Args)]
pub struct CreateArgs {
    /// The deployment's name (unique, never reused).
    name: String,
    #[command(flatten)]
    server: ServerArgs,
    /// The registered model.
    #[arg(long)]
    model: String,
    /// single, ab, canary, blue_green or shadow.
    #[arg(long, value_parser = ["single", "ab", "canary", "blue_green", "shadow"])]
    strategy: String,
    /// The challenger: a version number or an alias.
    #[arg(long)]
    challenger: Option<String>,
    /// The champion's alias (a promotion moves it).
    #[arg(long, default_value = "champion")]
    champion: String,
    /// A/B: percent of keys in arm B.
    #[arg(long)]
    split: Option<u8>,
    /// A/B: the request header holding the key.
    #[arg(long)]
    key_header: Option<String>,
    /// A/B: the request field holding the key.
    #[arg(long)]
    key_field: Option<String>,
    /// A/B: hash `salt:key` instead of the key.
    #[arg(long)]
    salt: Option<String>,
    /// A/B: what a request without the key gets: refuse or random.
    #[arg(long, value_parser = ["refuse", "random"])]
    missing_key: Option<String>,
    /// Canary: the first step, percent [default: 5].
    #[arg(long)]
    initial: Option<u8>,
    /// Canary: added per healthy period, percent [default: 5].
    #[arg(long)]
    step: Option<u8>,
    /// Canary: the last step, percent [default: 50].
    #[arg(long)]
    max: Option<u8>,
    /// Canary: seconds per evaluation period [default: 300].
    #[arg(long)]
    evaluation_seconds: Option<f64>,
    /// Canary: highest error rate (0.01 = 1 %) [default: 0.01].
    #[arg(long)]
    max_error_rate: Option<f64>,
    /// Canary: highest p95 latency in ms [default: 200].
    #[arg(long)]
    max_p95_ms: Option<f64>,
    /// Canary: fewer requests per period are inconclusive [default: 100].
    #[arg(long)]
    min_requests: Option<u64>,
    /// Canary: roll back when the KS statistic between the challenger's and the champion's
    /// predictions in a period is above this (0 to 1) [default: off].
    #[arg(long)]
    max_prediction_drift: Option<f64>,
    /// Blue-green: seconds the blue stays loaded after the flip for an instant rollback
    /// [default: 600].
    #[arg(long)]
    keep_blue_seconds: Option<f64>,
    /// Blue-green: recent requests of the prediction log replayed against green before the
    /// flip [default: 100].
    #[arg(long)]
    smoke_requests: Option<u32>,
    /// Blue-green: replay these recorded requests instead (a JSON array of row objects, or
    /// one JSON object per line).
    #[arg(long, value_name = "FILE")]
    recorded: Option<PathBuf>,
}

/// Reads recorded request rows: a JSON array of objects, or JSON lines of objects.
fn read_recorded(path: &std::path::Path) -> anyhow::Result<Vec<serde_json::Value>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("--recorded {}: {e}", path.display()))?;
    let rows: Vec<serde_json::Value> = if text.trim_start().starts_with('[') {
        serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "--recorded {}: not a JSON array of rows: {e}",
                path.display()
            )
        })?
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| {
                    anyhow::anyhow!(
                        "--recorded {}: line {} is not a JSON object: {e}",
                        path.display(),
                        i + 1
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?
    };
    if let Some(i) = rows.iter().position(|r| !r.is_object()) {
        anyhow::bail!(
            "--recorded {}: row {} is not a JSON object (one object per request row, \
             column names as keys)",
            path.display(),
            i + 1
        );
    }
    if rows.is_empty() {
        anyhow::bail!("--recorded {}: no rows", path.display());
    }
    Ok(rows)
}

/// `deploy report`.
#[derive(Args)]
pub struct ReportArgs {
    /// The A/B deployment on `--server` whose prediction log (exposures by arm, outcomes
    /// from `/feedback`) is read; or give `--exposures FILE` instead.
    #[arg(required_unless_present = "exposures", conflicts_with = "exposures")]
    name: Option<String>,
    /// The server (`http://host:port`) that serves the deployment.
    #[arg(long, env = "SLIPWAY_SERVER", value_name = "URL")]
    server: Option<String>,
    /// Write `report.html` and `report.json` into this folder (a deployment's readout).
    #[arg(long, value_name = "DIR", requires = "name")]
    out: Option<PathBuf>,
    /// One row per exposure (CSV, Parquet, JSON lines).
    #[arg(long, value_name = "FILE")]
    exposures: Option<PathBuf>,
    /// The arm column.
    #[arg(long, default_value = "arm")]
    arm_column: String,
    /// The outcome column: 0/1 or true/false (conversions) or numbers. A missing value is
    /// an outcome not known yet: the row counts as an exposure but is left out of the tests.
    #[arg(long, default_value = "converted")]
    outcome_column: String,
    /// A pre-experiment covariate column for CUPED (with NAME: a logged input field).
    #[arg(long, visible_alias = "covariate")]
    covariate_column: Option<String>,
    /// A segment column: the sample ratio is also checked within each segment (with NAME: a
    /// logged input field).
    #[arg(long, visible_alias = "segment")]
    segment_column: Option<String>,
    /// The label of arm A in the arm column.
    #[arg(long, default_value = "A")]
    label_a: String,
    /// The label of arm B in the arm column.
    #[arg(long, default_value = "B")]
    label_b: String,
    /// The configured share of traffic sent to B, in percent (with NAME: the deployment's).
    #[arg(long, default_value_t = 50.0)]
    split: f64,
    /// Significance level of the tests.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// A sample-ratio p-value below this stops the experiment.
    #[arg(long, default_value_t = 0.001)]
    srm_threshold: f64,
    /// The smallest relative lift worth detecting (0.05 = 5 %).
    #[arg(long, default_value_t = 0.05)]
    min_effect: f64,
    /// Read a missing outcome as 0 (no conversion) instead of leaving the row out.
    #[arg(long)]
    missing_as_zero: bool,
    /// Write the HTML report here (its JSON twin next to it, `.json`).
    #[arg(long, value_name = "report.html", requires = "exposures")]
    output: Option<PathBuf>,
}

/// Runs a deployment subcommand.
pub fn run(cmd: DeployCommand, json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        DeployCommand::Report(a) => report(a, json),
        DeployCommand::Create(a) => create(a, json),
        DeployCommand::Status(a) => {
            let v = crate::tracking::Client::http(&a.server.server)?
                .get_at(&format!("{API}/get"), &[("name", &a.name)])?;
            show(&v["deployment"], json, true)
        }
        DeployCommand::List(a) => {
            let v =
                crate::tracking::Client::http(&a.server)?.get_at(&format!("{API}/list"), &[])?;
            if json {
                println!("{v}");
                return Ok(ExitCode::SUCCESS);
            }
            let list = v["deployments"].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                println!("no deployments");
            }
            for d in &list {
                println!(
                    "{:<24} {:<10} {:<12} {:<12} challenger {} at {} %",
                    text(&d["name"]),
                    text(&d["strategy"]),
                    text(&d["model"]),
                    text(&d["status"]),
                    text(&d["challenger"]),
                    text(&d["challenger_percent"])
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        DeployCommand::Pause(a) => change(a, "pause", json),
        DeployCommand::Resume(a) => change(a, "resume", json),
        DeployCommand::Promote(a) => change(a, "promote", json),
        DeployCommand::Rollback(a) => change(a, "rollback", json),
        DeployCommand::End(a) => change(a, "end", json),
    }
}

const API: &str = "/api/2.0/slipway/deployments";

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn create(a: CreateArgs, json: bool) -> anyhow::Result<ExitCode> {
    let mut plan = serde_json::json!({
        "name": a.name, "model": a.model, "strategy": a.strategy, "champion": a.champion,
    });
    let mut set = |k: &str, v: serde_json::Value| {
        if !v.is_null() {
            plan[k] = v;
        }
    };
    set("challenger", serde_json::json!(a.challenger));
    set("split_percent", serde_json::json!(a.split));
    set("key_header", serde_json::json!(a.key_header));
    set("key_field", serde_json::json!(a.key_field));
    set("salt", serde_json::json!(a.salt));
    set("missing_key", serde_json::json!(a.missing_key));
    set("initial_percent", serde_json::json!(a.initial));
    set("step_percent", serde_json::json!(a.step));
    set("max_percent", serde_json::json!(a.max));
    set(
        "evaluation_seconds",
        serde_json::json!(a.evaluation_seconds),
    );
    set("max_error_rate", serde_json::json!(a.max_error_rate));
    set("max_p95_ms", serde_json::json!(a.max_p95_ms));
    set("min_requests", serde_json::json!(a.min_requests));
    set(
        "max_prediction_drift",
        serde_json::json!(a.max_prediction_drift),
    );
    set("keep_blue_seconds", serde_json::json!(a.keep_blue_seconds));
    set("smoke_requests", serde_json::json!(a.smoke_requests));
    if let Some(path) = &a.recorded {
        set(
            "recorded_requests",
            serde_json::Value::Array(read_recorded(path)?),
        );
    }
    let v = crate::tracking::Client::http(&a.server.server)?
        .post_at(&format!("{API}/create"), &plan)?;
    show(&v["deployment"], json, false)
}

fn change(a: ChangeArgs, action: &str, json: bool) -> anyhow::Result<ExitCode> {
    let mut body = serde_json::json!({"name": a.name});
    if let Some(r) = a.reason {
        body["reason"] = r.into();
    }
    let v = crate::tracking::Client::http(&a.server.server)?
        .post_at(&format!("{API}/{action}"), &body)?;
    show(&v["deployment"], json, false)
}

/// Prints a deployment: a summary line, the counters, and (with `history`) every event.
fn show(d: &serde_json::Value, json: bool, history: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::json!({"deployment": d}));
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} ({} of {}): {}, challenger {}{} at {} %",
        style(text(&d["name"])).bold(),
        text(&d["strategy"]),
        text(&d["model"]),
        text(&d["status"]),
        text(&d["challenger"]),
        d["challenger_version"]
            .as_str()
            .map(|v| format!(" (version {v})"))
            .unwrap_or_default(),
        text(&d["challenger_percent"])
    );
    if let Some(c) = d["counters"].as_object() {
        for arm in ["A", "B"] {
            if let Some(x) = c.get(arm) {
                println!(
                    "  arm {arm}: {} requests, {} errors (this server, since it started)",
                    text(&x["requests"]),
                    text(&x["errors"])
                );
            }
        }
        if let Some(bg) = d["blue_green"].as_object() {
            println!(
                "  blue: version {}, {} (instant rollback until {})",
                text(&bg["blue_version"]),
                if bg["blue_loaded"].as_bool() == Some(true) {
                    "loaded"
                } else {
                    "unloaded"
                },
                chrono::DateTime::from_timestamp_millis(
                    bg["keep_blue_until_ms"].as_i64().unwrap_or(0)
                )
                .map(|t| t.format("%H:%M:%S").to_string())
                .unwrap_or_default()
            );
        }
        if let Some(s) = c.get("shadow") {
            println!(
                "  shadow: {} of {} rows agree",
                text(&s["rows_agreed"]),
                text(&s["rows_compared"])
            );
        }
    }
    let events = d["events"].as_array().cloned().unwrap_or_default();
    let shown: Vec<&serde_json::Value> = if history {
        events.iter().collect()
    } else {
        events.last().into_iter().collect()
    };
    for e in shown {
        let time = chrono::DateTime::from_timestamp_millis(e["time_ms"].as_i64().unwrap_or(0))
            .map(|t| t.format("%H:%M:%S").to_string())
            .unwrap_or_default();
        println!("  {time} {:<18} {}", text(&e["kind"]), text(&e["reason"]));
    }
    Ok(ExitCode::SUCCESS)
}

/// `deploy report NAME`: the server reads its log; the readout comes back as JSON and is
/// printed and written here.
fn deployment_report(a: ReportArgs, name: &str, json: bool) -> anyhow::Result<ExitCode> {
    let Some(server) = &a.server else {
        anyhow::bail!(
            "deploy report {name}: --server URL (or SLIPWAY_SERVER) names the server whose \
             prediction log holds the deployment; or give --exposures FILE"
        );
    };
    let mut query: Vec<(&str, String)> = vec![("name", name.to_string())];
    if let Some(c) = &a.covariate_column {
        query.push(("covariate", c.clone()));
    }
    if let Some(c) = &a.segment_column {
        query.push(("segment", c.clone()));
    }
    query.push(("alpha", a.alpha.to_string()));
    query.push(("srm_threshold", a.srm_threshold.to_string()));
    query.push(("min_effect", a.min_effect.to_string()));
    if a.missing_as_zero {
        query.push(("missing_as_zero", "true".into()));
    }
    let pairs: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let v = crate::tracking::Client::http(server)?.get_at(&format!("{API}/report"), &pairs)?;
    let r: LogReadout = serde_json::from_value(v["report"].clone())
        .map_err(|e| anyhow::anyhow!("the server's readout could not be read: {e}"))?;
    let written = match &a.out {
        Some(dir) => Some(write_log_report(&r, dir)?),
        None => None,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    let until = if r.until_ms.is_some() {
        "until it ended"
    } else {
        "running"
    };
    println!(
        "{} ({until}): {} exposures, {} with feedback, {} predictions without an arm",
        style(&r.deployment).bold(),
        r.exposures,
        r.feedback_matched,
        r.unrouted
    );
    print_readout(&r.readout);
    if let Some(html) = written {
        println!("report: {}", html.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn report(a: ReportArgs, json: bool) -> anyhow::Result<ExitCode> {
    if let Some(name) = a.name.clone() {
        return deployment_report(a, &name, json);
    }
    let Some(exposures) = a.exposures.clone() else {
        anyhow::bail!("deploy report: name a deployment (with --server) or give --exposures FILE");
    };
    let columns = ReadoutColumns {
        arm: a.arm_column,
        outcome: a.outcome_column,
        covariate: a.covariate_column,
        segment: a.segment_column,
        labels: [a.label_a, a.label_b],
    };
    let options = ReadoutOptions {
        split_percent_b: a.split,
        alpha: a.alpha,
        srm_threshold: a.srm_threshold,
        min_detectable_effect: a.min_effect,
        missing_outcome_as_zero: a.missing_as_zero,
        ..ReadoutOptions::default()
    };
    let r = readout_file(&exposures, &columns, &options)?;
    if let Some(out) = &a.output {
        write_report(&r, out)?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print_readout(&r);
        if let Some(out) = &a.output {
            println!("report: {}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) {
        format!("{v:.2e}")
    } else {
        format!("{v:.4}")
    }
}

fn print_readout(r: &Readout) {
    let kind = match r.outcome_kind {
        OutcomeKind::Conversion => "conversion rate",
        OutcomeKind::Numeric => "mean",
    };
    for a in &r.arms {
        let missing = if a.missing_outcome > 0 {
            format!(" ({} without outcome)", a.missing_outcome)
        } else {
            String::new()
        };
        let label = if a.label == a.arm.name() {
            String::new()
        } else {
            format!(" ({})", a.label)
        };
        println!(
            "{}{label} {:>9} exposures{missing}  {kind} {}",
            style(format!("arm {}", a.arm.name())).bold(),
            a.exposures,
            fmt(a.mean)
        );
    }
    let srm = if r.srm.alarm {
        style("MISMATCH").red().bold()
    } else {
        style("ok").green()
    };
    println!(
        "sample ratio: chi² {} p {} {srm}",
        fmt(r.srm.statistic),
        fmt(r.srm.p_value)
    );
    for s in r.segments.iter().filter(|s| s.srm.alarm) {
        println!(
            "  segment {}: {} A / {} B, p {} {}",
            s.segment,
            s.srm.observed[0],
            s.srm.observed[1],
            fmt(s.srm.p_value),
            style("MISMATCH").red().bold()
        );
    }
    let test = match (&r.cuped, &r.conversion) {
        (Some(_), _) => "CUPED + Welch",
        (None, Some(_)) => "two-proportion z-test",
        (None, None) => "Welch's t-test",
    };
    let lift = r
        .relative_lift
        .map_or(String::new(), |l| format!(" ({:+.2} %)", 100.0 * l));
    println!(
        "B − A: {}{lift}  {}% CI {} to {}  ({test} p {}, always-valid p {})",
        fmt(r.difference),
        slipway_data::html::format_number(100.0 * (1.0 - r.options.alpha)),
        fmt(r.ci[0]),
        fmt(r.ci[1]),
        fmt(r.p_value),
        fmt(r.msprt.p_value)
    );
    if let Some(c) = &r.cuped {
        println!(
            "CUPED: theta {}, variance reduced by {:.1} %",
            fmt(c.theta),
            100.0 * c.variance_reduction
        );
    }
    let rec = r.recommendation.to_string();
    let rec = match r.recommendation {
        Recommendation::ShipB => style(rec).green().bold(),
        Recommendation::StopSampleRatioMismatch => style(rec).red().bold(),
        Recommendation::KeepA => style(rec).yellow().bold(),
        Recommendation::KeepCollecting => style(rec).cyan().bold(),
    };
    println!("{} {rec}: {}", style("recommendation:").bold(), r.reason);
}
