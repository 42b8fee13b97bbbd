//! `slipway models ...`: the model registry through the MLflow REST API (registered models,
//! model versions, aliases, tags), and promotion through the policy gate of
//! `slipway_govern`, which the server (in-process for the local store) runs on every move of
//! a protected alias.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use console::style;
use serde_json::{Value, json};

use crate::TrackingArgs;
use crate::record::{ImportedManifest, RunLog, RunRecorder};
use crate::tracking::{Client, ClientError};
use slipway_engine::{Engine, EngineOptions, ImportRequest, Library};
use slipway_govern::Policy;
use slipway_learn::Task;

/// The registry subcommands.
#[derive(Subcommand)]
pub enum ModelsCommand {
    /// Register a run's bundle (or a bundle directory, recorded as an import run) as a new
    /// version of a model (created when missing).
    Register(RegisterArgs),
    /// List registered models.
    List(ListArgs),
    /// Show a model's versions and aliases, or one version with its run's metrics and lineage.
    Show(ShowArgs),
    /// Point an alias (e.g. `champion`) at a version; a protected alias moves only through
    /// the promotion gate (exit 4 when refused) unless forced with a reason.
    Alias(AliasArgs),
    /// Move an alias to a version if it passes the promotion policy (exit 4 when refused);
    /// refused when no policy protects the alias.
    Promote(PromoteArgs),
    /// Turn a model trained by LightGBM or XGBoost into a bundle (then register, predict
    /// with and serve it like any other); its inputs are the sample file's columns.
    Import(ImportArgs),
    /// Write a Slipway GBDT bundle's model as a LightGBM text model.
    Export(ExportArgs),
}

/// `models import`.
#[derive(Args)]
#[command(group(clap::ArgGroup::new("format").required(true).args(["lightgbm", "xgboost", "onnx"])))]
pub struct ImportArgs {
    /// A LightGBM text model (`Booster.save_model("model.txt")`).
    #[arg(long, value_name = "MODEL.txt")]
    lightgbm: Option<PathBuf>,
    /// An XGBoost JSON model (`Booster.save_model("model.json")`).
    #[arg(long, value_name = "MODEL.json")]
    xgboost: Option<PathBuf>,
    /// An ONNX model with one 2-D float input [batch, n_features] and a `probabilities`
    /// (classifier; skl2onnx with `options={'zipmap': False}`) or `variable` (regressor)
    /// output, evaluated by tract. Needs slipway built with `--features onnx`.
    #[arg(long, value_name = "MODEL.onnx")]
    onnx: Option<PathBuf>,
    /// ONNX: the sample columns fed to the model's input, in order [default: every numeric
    /// column of the sample, in order].
    #[arg(
        long,
        value_name = "COL,COL,...",
        value_delimiter = ',',
        requires = "onnx"
    )]
    inputs: Option<Vec<String>>,
    /// ONNX classifiers: the class labels in the order of the probability columns
    /// [default: the labels the model file records, else 0, 1, ...].
    #[arg(
        long,
        value_name = "LABEL,LABEL,...",
        value_delimiter = ',',
        requires = "onnx"
    )]
    classes: Option<Vec<String>>,
    /// A data file (CSV, Parquet, JSON lines) with a column for each of the model's features,
    /// matched by name: the columns' types (as Slipway reads the file) become the model's
    /// input schema, text columns are mapped to the category codes the model file records,
    /// and its rows are predicted to check the bundle.
    #[arg(long, value_name = "FILE")]
    sample: PathBuf,
    /// The model's name.
    #[arg(long)]
    name: String,
    /// The bundle directory to write [default: slipway-out/NAME/model].
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
}

/// `models export`.
#[derive(Args)]
pub struct ExportArgs {
    /// Write a LightGBM text model to this file.
    #[arg(long, value_name = "OUT.txt")]
    lightgbm: PathBuf,
    /// The bundle directory of a Slipway GBDT model.
    #[arg(long, value_name = "BUNDLE_DIR")]
    model: PathBuf,
}

/// `models register`.
#[derive(Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["run", "bundle"])))]
pub struct RegisterArgs {
    /// The run whose bundle (artifact `model/`) becomes the version.
    #[arg(long)]
    run: Option<String>,
    /// A bundle directory with no run yet: it is verified, recorded as an import run (its
    /// metrics and lineage from the manifest, the bundle as artifact `model/`), then
    /// registered from that run.
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// The experiment the import run goes to [default: the bundle's name].
    #[arg(long, requires = "bundle")]
    experiment: Option<String>,
    /// The registered model name.
    #[arg(long)]
    name: String,
    #[command(flatten)]
    tracking: TrackingArgs,
}

/// `models list`.
#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    tracking: TrackingArgs,
}

/// `models show`.
#[derive(Args)]
pub struct ShowArgs {
    /// The registered model name.
    name: String,
    /// One version (with its run's metrics and lineage).
    #[arg(long)]
    version: Option<String>,
    #[command(flatten)]
    tracking: TrackingArgs,
}

/// `models alias`.
#[derive(Args)]
pub struct AliasArgs {
    /// The registered model name.
    name: String,
    /// The alias, e.g. `champion`.
    alias: String,
    /// The version it points at.
    version: String,
    /// Gate the move with this policy (local store only; a server gates with its own
    /// `serve --policy`). A policy naming no alias protects ALIAS.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Move a protected alias even though the version breaks the policy; recorded as a
    /// forced promotion with the reason.
    #[arg(long, requires = "reason")]
    force: bool,
    /// Why the policy is overridden (with --force).
    #[arg(long, requires = "force")]
    reason: Option<String>,
    #[command(flatten)]
    tracking: TrackingArgs,
}

/// `models promote`.
#[derive(Args)]
pub struct PromoteArgs {
    /// The registered model name.
    name: String,
    /// The version to promote.
    #[arg(long)]
    version: String,
    /// The alias to move.
    #[arg(long, default_value = "champion")]
    to: String,
    /// The policy for the local store (YAML: `metrics`, `required_tags`, optionally
    /// `protected_aliases`; or a file with a `policy:` section). A server (`--tracking-uri`)
    /// gates with its own `serve --policy` instead.
    #[arg(long)]
    policy: Option<PathBuf>,
    #[command(flatten)]
    tracking: TrackingArgs,
}

/// Runs one registry subcommand.
pub fn run(cmd: ModelsCommand, json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        ModelsCommand::Register(a) => register(&a.tracking.client()?, &a, json),
        ModelsCommand::List(a) => list(&a.tracking.client()?, json),
        ModelsCommand::Show(a) => show(&a.tracking.client()?, &a, json),
        ModelsCommand::Alias(a) => alias(
            &gated_client(&a.tracking, a.policy.as_deref(), &a.alias)?,
            &a,
            json,
        ),
        ModelsCommand::Promote(a) => promote(
            &gated_client(&a.tracking, a.policy.as_deref(), &a.to)?,
            &a,
            json,
        ),
        ModelsCommand::Import(a) => import(&a, json),
        ModelsCommand::Export(a) => export(&a, json),
    }
}

fn import(a: &ImportArgs, json: bool) -> anyhow::Result<ExitCode> {
    let (library, model_file) = match (&a.lightgbm, &a.xgboost, &a.onnx) {
        (Some(p), _, _) => (Library::Lightgbm, p.clone()),
        (None, Some(p), _) => (Library::Xgboost, p.clone()),
        (None, None, Some(p)) => (Library::Onnx, p.clone()),
        (None, None, None) => {
            anyhow::bail!("give --lightgbm MODEL.txt, --xgboost MODEL.json or --onnx MODEL.onnx")
        }
    };
    let output = a
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("slipway-out").join(&a.name).join("model"));
    let engine = Engine::new(EngineOptions::default());
    let out = engine.import_model(&ImportRequest {
        library,
        model_file,
        sample: a.sample.clone(),
        name: a.name.clone(),
        output,
        inputs: a.inputs.clone(),
        classes: a.classes.clone(),
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    let task = match out.task {
        Task::Binary => "binary classification".to_string(),
        Task::Multiclass { n_classes } => format!("{n_classes}-class classification"),
        Task::Regression => "regression".to_string(),
    };
    let what = if out.library == Library::Onnx {
        format!("output {}", out.objective)
    } else {
        format!("objective {}, {} trees", out.objective, out.trees)
    };
    println!(
        "{} imported {} model {} ({task}, {what}) → {}",
        style("✓").green().bold(),
        out.library,
        style(&out.name).bold(),
        out.bundle.display()
    );
    if !out.classes.is_empty() {
        println!("  classes: {}", out.classes.join(", "));
    }
    println!(
        "  inputs: {}{}",
        out.inputs.join(", "),
        if out.categorical_inputs.is_empty() {
            String::new()
        } else {
            format!(
                " (text mapped to the model's category codes: {})",
                out.categorical_inputs.join(", ")
            )
        }
    );
    if !out.ignored_columns.is_empty() {
        println!(
            "  sample columns the model does not use: {}",
            out.ignored_columns.join(", ")
        );
    }
    println!(
        "  {} slipway models register --bundle {} --name {}",
        style("next:").cyan(),
        out.bundle.display(),
        out.name
    );
    Ok(ExitCode::SUCCESS)
}

fn export(a: &ExportArgs, json: bool) -> anyhow::Result<ExitCode> {
    let engine = Engine::new(EngineOptions::default());
    let out = engine.export_model(&a.model, Library::Lightgbm, &a.lightgbm)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} wrote {} as a {} model ({} trees) → {}",
        style("✓").green().bold(),
        out.model.display(),
        out.library,
        out.trees,
        out.output.display()
    );
    for n in &out.notes {
        eprintln!("{} {n}", style("note:").cyan());
    }
    Ok(ExitCode::SUCCESS)
}

fn tags_map(list: &Value) -> BTreeMap<String, String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            Some((
                t["key"].as_str()?.to_string(),
                t["value"].as_str().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

fn metrics_map(list: &Value) -> BTreeMap<String, f64> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| Some((m["key"].as_str()?.to_string(), m["value"].as_f64()?)))
        .collect()
}

fn get_run(client: &Client, run_id: &str) -> anyhow::Result<Value> {
    client
        .get("runs/get", &[("run_id", run_id)])
        .map(|v| v["run"].clone())
        .map_err(|e| {
            if e.is_not_found() {
                anyhow::anyhow!("--run: no run '{run_id}' in {}", client.target)
            } else {
                e.into()
            }
        })
}

fn get_version(client: &Client, name: &str, version: &str) -> anyhow::Result<Value> {
    client
        .get(
            "model-versions/get",
            &[("name", name), ("version", version)],
        )
        .map(|v| v["model_version"].clone())
        .map_err(|e| {
            if e.is_not_found() {
                anyhow::anyhow!("--version: model '{name}' has no version '{version}' ({e})")
            } else {
                e.into()
            }
        })
}

fn get_model(client: &Client, name: &str) -> anyhow::Result<Value> {
    client
        .get("registered-models/get", &[("name", name)])
        .map(|v| v["registered_model"].clone())
        .map_err(|e| {
            if e.is_not_found() {
                anyhow::anyhow!("no registered model '{name}' in {}", client.target)
            } else {
                e.into()
            }
        })
}

/// Verifies the bundle at `dir` (format, version, every checksum) and reads what an import
/// run records from its manifest; both flavors' manifests carry those fields.
fn read_bundle(dir: &Path) -> anyhow::Result<ImportedManifest> {
    use slipway_learn::{bundle, cluster, exact_json};
    // Keep the typed error, so a damaged bundle exits 2 and a defective one 1.
    let bad = |e: slipway_learn::Error| {
        anyhow::Error::from(slipway_engine::Error::Learn(e)).context("--bundle")
    };
    let clustering = bundle::read_flavor(dir).map_err(bad)? == cluster::bundle::FLAVOR;
    // Through exact JSON, so a NaN metric survives the conversion.
    let manifest = if clustering {
        exact_json::to_value(
            &cluster::bundle::load_cluster_bundle(dir)
                .map_err(bad)?
                .manifest,
        )
    } else {
        exact_json::to_value(&bundle::load_bundle(dir).map_err(bad)?.manifest)
    }?;
    let mut imported: ImportedManifest = exact_json::from_value(manifest)
        .map_err(|e| anyhow::anyhow!("--bundle: {}: manifest.json: {e}", dir.display()))?;
    imported.clustering = clustering;
    Ok(imported)
}

/// Records the bundle at `dir` as a finished import run and returns the run id.
fn import_bundle(client: &Client, dir: &Path, experiment: Option<&str>) -> anyhow::Result<String> {
    let manifest = read_bundle(dir)?;
    let dir = dir
        .canonicalize()
        .map_err(|e| anyhow::anyhow!("--bundle: {}: {e}", dir.display()))?;
    let experiment = experiment.unwrap_or(&manifest.name);
    let recorder = RunRecorder::start(
        client,
        experiment,
        &format!("import {}", manifest.name),
        "slipway models register --bundle",
    )?;
    let log = RunLog::bundle_import(&dir, &manifest)?;
    if let Err(e) = recorder.record(&log) {
        // Leave no run that looks complete without its bundle.
        let _ = recorder.fail(&e.to_string());
        return Err(e.into());
    }
    Ok(recorder.run_id)
}

/// Registers the bundle of run `run_id` as a new version of `name` (the registered model
/// created when missing), with the run's data and config tags plus `extra` tags; returns the
/// registry's answer (`model_version`).
pub(crate) fn register_version(
    client: &Client,
    name: &str,
    run_id: &str,
    extra: &BTreeMap<String, String>,
) -> anyhow::Result<Value> {
    let run = get_run(client, run_id)?;
    let run_tags = tags_map(&run["data"]["tags"]);
    anyhow::ensure!(
        run_tags.contains_key("slipway.bundle"),
        "--run: run '{run_id}' has no model bundle (not a `slipway train` run, or its gate failed)"
    );
    if let Err(e) = client.get("registered-models/get", &[("name", name)]) {
        if !e.is_not_found() {
            return Err(e.into());
        }
        client.post("registered-models/create", &json!({ "name": name }))?;
    }
    let artifact_uri = run["info"]["artifact_uri"].as_str().unwrap_or_default();
    let mut tags = vec![json!({"key": "slipway.source_run_id", "value": run_id})];
    let mut merged = run_tags;
    merged.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    for (k, v) in &merged {
        if k.starts_with("slipway.data.")
            || k.starts_with("slipway.config.")
            || extra.contains_key(k)
        {
            tags.push(json!({"key": k, "value": v}));
        }
    }
    Ok(client.post(
        "model-versions/create",
        &json!({
            "name": name,
            "source": format!("{}/model", artifact_uri.trim_end_matches('/')),
            "run_id": run_id,
            "tags": tags,
        }),
    )?)
}

fn register(client: &Client, a: &RegisterArgs, json: bool) -> anyhow::Result<ExitCode> {
    let run_id = match (&a.run, &a.bundle) {
        (Some(r), _) => r.clone(),
        (None, Some(dir)) => import_bundle(client, dir, a.experiment.as_deref())?,
        (None, None) => anyhow::bail!("give --run or --bundle"),
    };
    let v = register_version(client, &a.name, &run_id, &BTreeMap::new())?;
    let mv = &v["model_version"];
    if json {
        println!("{}", serde_json::to_string_pretty(mv)?);
    } else {
        println!(
            "{} registered {} version {} from run {}",
            style("✓").green().bold(),
            style(&a.name).bold(),
            mv["version"].as_str().unwrap_or_default(),
            run_id
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn list(client: &Client, json: bool) -> anyhow::Result<ExitCode> {
    let v = client.get("registered-models/search", &[("max_results", "1000")])?;
    let models = v["registered_models"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "models": models }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if models.is_empty() {
        println!("no registered models in {}", client.target);
    }
    for m in &models {
        let latest: Vec<&str> = m["latest_versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["version"].as_str())
            .collect();
        let aliases: Vec<String> = m["aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                format!(
                    "{}→v{}",
                    a["alias"].as_str().unwrap_or_default(),
                    a["version"].as_str().unwrap_or_default()
                )
            })
            .collect();
        println!(
            "  {:<28} latest v{:<5} {}",
            style(m["name"].as_str().unwrap_or_default()).bold(),
            latest.last().copied().unwrap_or("-"),
            style(aliases.join(" ")).cyan()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show(client: &Client, a: &ShowArgs, json: bool) -> anyhow::Result<ExitCode> {
    let model = get_model(client, &a.name)?;
    if let Some(version) = &a.version {
        return show_version(client, &a.name, version, json);
    }
    let filter = format!("name='{}'", a.name.replace('\'', "\\'"));
    let v = client.get(
        "model-versions/search",
        &[("filter", &filter), ("max_results", "1000")],
    )?;
    let versions = v["model_versions"].as_array().cloned().unwrap_or_default();
    let history = promotions(client, &a.name)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"model": model, "versions": versions, "promotions": history})
            )?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", style(&a.name).bold());
    for t in tags_map(&model["tags"]) {
        println!("  tag {} = {}", t.0, t.1);
    }
    for mv in &versions {
        let aliases: Vec<&str> = mv["aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        println!(
            "  v{:<5} run {:<34} {}",
            mv["version"].as_str().unwrap_or_default(),
            mv["run_id"].as_str().unwrap_or("-"),
            style(aliases.join(", ")).cyan()
        );
    }
    if let Some(history) = history.filter(|h| !h.is_empty()) {
        println!("  promotion history (oldest first):");
        for p in &history {
            print_promotion(p, "    ");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show_version(
    client: &Client,
    name: &str,
    version: &str,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let mv = get_version(client, name, version)?;
    let run_id = mv["run_id"].as_str().unwrap_or_default();
    let run = if run_id.is_empty() {
        Value::Null
    } else {
        get_run(client, run_id)?
    };
    let metrics = metrics_map(&run["data"]["metrics"]);
    let lineage: BTreeMap<String, String> = tags_map(&mv["tags"])
        .into_iter()
        .filter(|(k, _)| k.starts_with("slipway."))
        .collect();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "model_version": mv,
                "run_metrics": metrics,
                "lineage": lineage,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} version {}", style(name).bold(), version);
    println!("  source  {}", mv["source"].as_str().unwrap_or_default());
    println!("  run     {run_id}");
    let aliases: Vec<&str> = mv["aliases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    println!("  aliases {}", style(aliases.join(", ")).cyan());
    for (k, v) in &lineage {
        println!("  {k:<40} {v}");
    }
    println!("  metrics:");
    for (k, v) in metrics.iter().filter(|(k, _)| !k.starts_with("cv.")) {
        println!("    {k:<28} {v:.4}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads the policy a server gates with: it must name its protected aliases.
pub(crate) fn server_policy(path: &Path) -> anyhow::Result<Policy> {
    let policy = Policy::load(path).map_err(|e| anyhow::anyhow!("--policy {e}"))?;
    anyhow::ensure!(
        policy.names_aliases(),
        "--policy {}: names no alias to protect: add `protected_aliases: [champion]` (the \
         aliases its rules guard)",
        path.display()
    );
    eprintln!(
        "{} promotion policy {} protects {}",
        style("✓").green().bold(),
        path.display(),
        policy.protected_aliases().join(", ")
    );
    Ok(policy)
}

/// The client for a command that moves `alias`, with `--policy` (when given) guarding the
/// local store; a policy that names no alias protects `alias`.
fn gated_client(
    tracking: &TrackingArgs,
    policy: Option<&Path>,
    alias: &str,
) -> anyhow::Result<Client> {
    // Read the policy first: a bad file is an error before anything is touched.
    let policy = policy
        .map(|p| Policy::load(p).map_err(|e| anyhow::anyhow!("--policy {e}")))
        .transpose()?
        .map(|p| p.protecting(alias));
    tracking.client_with_policy(policy)
}

/// A recorded promotion attempt, as the server returns it.
fn print_promotion(p: &Value, indent: &str) {
    let at = p["timestamp"]
        .as_i64()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(String::new, |t| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        });
    let outcome = p["outcome"].as_str().unwrap_or_default();
    let styled = match outcome {
        "accepted" => style(outcome).green(),
        "refused" => style(outcome).red(),
        "forced" => style(outcome).yellow(),
        _ => style(outcome).dim(),
    };
    println!(
        "{indent}{at}  {} v{:<4} {}{}",
        p["alias"].as_str().unwrap_or_default(),
        p["version"].as_str().unwrap_or_default(),
        styled,
        p["actor"]
            .as_str()
            .map_or_else(String::new, |a| format!(" by {a}"))
    );
    if let Some(r) = p["override_reason"].as_str() {
        println!("{indent}    override: {r}");
    }
    for r in p["reasons"].as_array().into_iter().flatten() {
        println!("{indent}    • {}", r.as_str().unwrap_or_default());
    }
}

/// The model's promotion history; `None` from a server without one (not Slipway).
fn promotions(client: &Client, name: &str) -> anyhow::Result<Option<Vec<Value>>> {
    match client.get("registered-models/promotions", &[("name", name)]) {
        Ok(v) => Ok(Some(
            v["promotions"].as_array().cloned().unwrap_or_default(),
        )),
        Err(ClientError::Api { code, .. }) if code == "ENDPOINT_NOT_FOUND" => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Moves an alias through the server's gate. `Ok(Err(record))` is a refusal (with the
/// recorded attempt, when the history has it).
fn move_alias(
    client: &Client,
    body: &Value,
) -> anyhow::Result<std::result::Result<Option<Value>, Value>> {
    let name = body["name"].as_str().unwrap_or_default();
    match client.post("registered-models/alias", body) {
        Ok(v) => Ok(Ok(v.get("promotion").cloned())),
        Err(ClientError::Api { code, message, .. }) if code == "PERMISSION_DENIED" => {
            // The history holds the refusal with each reason; fall back on the message.
            let recorded = promotions(client, name)?
                .and_then(|list| list.last().cloned())
                .filter(|p| p["outcome"] == "refused" && p["alias"] == body["alias"]);
            Ok(Err(recorded.unwrap_or_else(
                || json!({"outcome": "refused", "reasons": [message]}),
            )))
        }
        Err(e) => Err(e.into()),
    }
}

fn print_refusal(name: &str, version: &str, alias: &str, record: &Value) {
    let reasons = record["reasons"].as_array().cloned().unwrap_or_default();
    eprintln!(
        "{} promotion of {} version {} to {} refused ({} reason(s)):",
        style("✗").red().bold(),
        name,
        version,
        alias,
        reasons.len()
    );
    for r in &reasons {
        eprintln!("  {} {}", style("•").red(), r.as_str().unwrap_or_default());
    }
}

fn alias(client: &Client, a: &AliasArgs, json: bool) -> anyhow::Result<ExitCode> {
    get_model(client, &a.name)?;
    get_version(client, &a.name, &a.version)?;
    let mut body = json!({"name": a.name, "alias": a.alias, "version": a.version});
    if a.force {
        body["force"] = json!(true);
        body["reason"] = json!(a.reason);
    }
    let promotion = match move_alias(client, &body)? {
        Ok(p) => p,
        Err(record) => {
            if json {
                println!(
                    "{}",
                    json!({"name": a.name, "alias": a.alias, "version": a.version,
                           "moved": false, "promotion": record})
                );
            } else {
                print_refusal(&a.name, &a.version, &a.alias, &record);
                eprintln!(
                    "  {} override with --force --reason \"...\" (recorded as forced)",
                    style("hint:").cyan()
                );
            }
            return Ok(ExitCode::from(crate::EXIT_GATE));
        }
    };
    if json {
        println!(
            "{}",
            json!({"name": a.name, "alias": a.alias, "version": a.version,
                   "moved": true, "promotion": promotion})
        );
    } else {
        let note = match promotion.as_ref().and_then(|p| p["outcome"].as_str()) {
            Some("forced") => format!(" {}", style("(forced past the policy; recorded)").yellow()),
            Some(outcome) => format!(" ({outcome} by the policy)"),
            None => String::new(),
        };
        println!(
            "{} {}@{} → version {}{note}",
            style("✓").green().bold(),
            a.name,
            a.alias,
            a.version
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn promote(client: &Client, a: &PromoteArgs, json: bool) -> anyhow::Result<ExitCode> {
    get_model(client, &a.name)?;
    get_version(client, &a.name, &a.version)?;
    let body = json!({"name": a.name, "alias": a.to, "version": a.version, "require_policy": true});
    let (accepted, record) = match move_alias(client, &body)? {
        Ok(p) => (true, p.unwrap_or_default()),
        Err(record) => (false, record),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "name": a.name,
                "version": a.version,
                "alias": a.to,
                "accepted": accepted,
                "outcome": record["outcome"],
                "reasons": record["reasons"],
                "timestamp": record["timestamp"],
            }))?
        );
    } else if accepted {
        println!(
            "{} {} version {} promoted to {}",
            style("✓").green().bold(),
            a.name,
            a.version,
            style(&a.to).cyan()
        );
    } else {
        print_refusal(&a.name, &a.version, &a.to, &record);
    }
    Ok(if accepted {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::EXIT_GATE)
    })
}
