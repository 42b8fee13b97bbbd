//! `slipway models ...`: the model registry through the MLflow REST API (registered models,
//! model versions, aliases, tags), and promotion through a policy gate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use console::style;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::TrackingArgs;
use crate::record::{ImportedManifest, RunLog, RunRecorder};
use crate::tracking::Client;

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
    /// Point an alias (e.g. `champion`) at a version.
    Alias(AliasArgs),
    /// Move an alias to a version if it passes the promotion policy (exit 4 when refused).
    Promote(PromoteArgs),
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
    /// The policy (YAML: `metrics`, `required_tags`; or a file with a `policy:` section).
    #[arg(long)]
    policy: PathBuf,
    #[command(flatten)]
    tracking: TrackingArgs,
}

/// Runs one registry subcommand.
pub fn run(cmd: ModelsCommand, json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        ModelsCommand::Register(a) => register(&a.tracking.client()?, &a, json),
        ModelsCommand::List(a) => list(&a.tracking.client()?, json),
        ModelsCommand::Show(a) => show(&a.tracking.client()?, &a, json),
        ModelsCommand::Alias(a) => alias(&a.tracking.client()?, &a, json),
        ModelsCommand::Promote(a) => {
            // Read the policy first: a bad file is an error before anything is touched.
            let policy = Policy::load(&a.policy)?;
            promote(&a.tracking.client()?, &a, &policy, json)
        }
    }
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

fn register(client: &Client, a: &RegisterArgs, json: bool) -> anyhow::Result<ExitCode> {
    let run_id = match (&a.run, &a.bundle) {
        (Some(r), _) => r.clone(),
        (None, Some(dir)) => import_bundle(client, dir, a.experiment.as_deref())?,
        (None, None) => anyhow::bail!("give --run or --bundle"),
    };
    let run = get_run(client, &run_id)?;
    let run_tags = tags_map(&run["data"]["tags"]);
    anyhow::ensure!(
        run_tags.contains_key("slipway.bundle"),
        "--run: run '{run_id}' has no model bundle (not a `slipway train` run, or its gate failed)"
    );
    if let Err(e) = client.get("registered-models/get", &[("name", &a.name)]) {
        if !e.is_not_found() {
            return Err(e.into());
        }
        client.post("registered-models/create", &json!({ "name": a.name }))?;
    }
    let artifact_uri = run["info"]["artifact_uri"].as_str().unwrap_or_default();
    let mut tags = vec![json!({"key": "slipway.source_run_id", "value": run_id})];
    for (k, v) in &run_tags {
        if k.starts_with("slipway.data.") || k.starts_with("slipway.config.") {
            tags.push(json!({"key": k, "value": v}));
        }
    }
    let v = client.post(
        "model-versions/create",
        &json!({
            "name": a.name,
            "source": format!("{}/model", artifact_uri.trim_end_matches('/')),
            "run_id": run_id,
            "tags": tags,
        }),
    )?;
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
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"model": model, "versions": versions}))?
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

fn alias(client: &Client, a: &AliasArgs, json: bool) -> anyhow::Result<ExitCode> {
    get_model(client, &a.name)?;
    get_version(client, &a.name, &a.version)?;
    set_alias(client, &a.name, &a.alias, &a.version)?;
    if json {
        println!(
            "{}",
            json!({"name": a.name, "alias": a.alias, "version": a.version})
        );
    } else {
        println!(
            "{} {}@{} → version {}",
            style("✓").green().bold(),
            a.name,
            a.alias,
            a.version
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn set_alias(client: &Client, name: &str, alias: &str, version: &str) -> anyhow::Result<()> {
    client.post(
        "registered-models/alias",
        &json!({"name": name, "alias": alias, "version": version}),
    )?;
    Ok(())
}

/// A bound on one run metric.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Bound {
    min: Option<f64>,
    max: Option<f64>,
}

/// The promotion policy: every rule is evaluated and every broken one reported.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Run metrics (e.g. `holdout.roc_auc`) with a minimum and/or maximum.
    #[serde(default)]
    metrics: BTreeMap<String, Bound>,
    /// Tags (on the version or its run) that must be present; a value, when given, must match
    /// (e.g. `slipway.validation.passed: "true"`, `fairness.checked: "true"`).
    #[serde(default)]
    required_tags: BTreeMap<String, Option<String>>,
}

impl Policy {
    /// Reads a policy file, or the `policy:` section of a file that has one.
    pub fn load(path: &Path) -> anyhow::Result<Policy> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("--policy {}: cannot read: {e}", path.display()))?;
        let located = |e: slipway_engine::yaml::YamlError| {
            anyhow::anyhow!(
                "--policy {}: {}",
                slipway_engine::yaml::at(path, e.line, e.column),
                e.message
            )
        };
        // A file with a `policy:` section (a pipeline config, say) or a policy file.
        #[derive(Deserialize)]
        struct Section {
            policy: Policy,
        }
        let keys: BTreeMap<String, serde::de::IgnoredAny> =
            slipway_engine::yaml::from_str(&text).map_err(located)?;
        let (policy, prefix) = if keys.contains_key("policy") {
            let s: Section = slipway_engine::yaml::from_str(&text).map_err(located)?;
            (s.policy, "policy.")
        } else {
            (slipway_engine::yaml::from_str(&text).map_err(located)?, "")
        };
        for (k, b) in &policy.metrics {
            anyhow::ensure!(
                b.min.is_some() || b.max.is_some(),
                "--policy {}: {prefix}metrics.{k}: give `min` and/or `max`",
                path.display()
            );
            if let (Some(lo), Some(hi)) = (b.min, b.max) {
                anyhow::ensure!(
                    lo <= hi,
                    "--policy {}: {prefix}metrics.{k}: min {lo} is above max {hi}",
                    path.display()
                );
            }
        }
        anyhow::ensure!(
            !policy.metrics.is_empty() || !policy.required_tags.is_empty(),
            "--policy {}: {prefix}no rules: give `metrics` and/or `required_tags`",
            path.display()
        );
        Ok(policy)
    }

    /// Every broken rule, in order (metrics, then tags); empty when the version passes.
    fn evaluate(
        &self,
        metrics: &BTreeMap<String, f64>,
        tags: &BTreeMap<String, String>,
    ) -> Vec<String> {
        let mut reasons = Vec::new();
        for (k, b) in &self.metrics {
            let Some(v) = metrics.get(k) else {
                reasons.push(format!("metric {k}: not recorded on the version's run"));
                continue;
            };
            if let Some(lo) = b.min.filter(|lo| v < lo) {
                reasons.push(format!("metric {k}: {v} is below the minimum {lo}"));
            }
            if let Some(hi) = b.max.filter(|hi| v > hi) {
                reasons.push(format!("metric {k}: {v} is above the maximum {hi}"));
            }
        }
        for (k, want) in &self.required_tags {
            match (tags.get(k), want) {
                (None, _) => reasons.push(format!("tag {k}: required but not set")),
                (Some(have), Some(w)) if have != w => {
                    reasons.push(format!("tag {k}: is '{have}', required '{w}'"));
                }
                _ => {}
            }
        }
        reasons
    }
}

fn promote(
    client: &Client,
    a: &PromoteArgs,
    policy: &Policy,
    json: bool,
) -> anyhow::Result<ExitCode> {
    get_model(client, &a.name)?;
    let mv = get_version(client, &a.name, &a.version)?;
    let run_id = mv["run_id"].as_str().unwrap_or_default();
    let (metrics, mut tags) = if run_id.is_empty() {
        (BTreeMap::new(), BTreeMap::new())
    } else {
        let run = get_run(client, run_id)?;
        (
            metrics_map(&run["data"]["metrics"]),
            tags_map(&run["data"]["tags"]),
        )
    };
    // Version tags override the run's.
    tags.extend(tags_map(&mv["tags"]));
    let reasons = policy.evaluate(&metrics, &tags);
    let accepted = reasons.is_empty();
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let outcome = if accepted { "accepted" } else { "refused" };
    let record = json!({"at": at, "policy": a.policy.display().to_string(), "reasons": reasons});
    client.post(
        "model-versions/set-tag",
        &json!({
            "name": a.name,
            "version": a.version,
            "key": format!("slipway.promotion.{}.{outcome}", a.to),
            "value": record.to_string(),
        }),
    )?;
    if accepted {
        set_alias(client, &a.name, &a.to, &a.version)?;
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "name": a.name,
                "version": a.version,
                "alias": a.to,
                "accepted": accepted,
                "reasons": reasons,
                "at": at,
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
        eprintln!(
            "{} promotion of {} version {} to {} refused ({} reason(s)):",
            style("✗").red().bold(),
            a.name,
            a.version,
            a.to,
            reasons.len()
        );
        for r in &reasons {
            eprintln!("  {} {r}", style("•").red());
        }
    }
    Ok(if accepted {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::EXIT_GATE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_broken_rule_is_reported() {
        let policy: Policy = slipway_engine::yaml::from_str(
            "metrics:\n  auc: {min: 0.9}\n  loss: {max: 0.2}\n  missing: {min: 0}\nrequired_tags:\n  fair: \"true\"\n  checked: null\n",
        )
        .expect("policy");
        let metrics = BTreeMap::from([("auc".to_string(), 0.8), ("loss".to_string(), 0.1)]);
        let tags = BTreeMap::from([("fair".to_string(), "false".to_string())]);
        let reasons = policy.evaluate(&metrics, &tags);
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].contains("auc") && reasons[0].contains("below"));
        assert!(reasons[1].contains("missing"));
        assert!(reasons.iter().any(|r| r.contains("tag checked")));
        assert!(reasons.iter().any(|r| r.contains("tag fair: is 'false'")));
        let ok = BTreeMap::from([
            ("auc".to_string(), 0.95),
            ("loss".to_string(), 0.1),
            ("missing".to_string(), 1.0),
        ]);
        let tags = BTreeMap::from([
            ("fair".to_string(), "true".to_string()),
            ("checked".to_string(), "x".to_string()),
        ]);
        assert!(policy.evaluate(&ok, &tags).is_empty());
    }
}
