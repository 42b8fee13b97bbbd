//! `slipway monitor retrain --policy FILE [--dry-run]`: the triggers of a retrain policy with
//! their values, and (without `--dry-run`, when one fired or with `--force`) the retrain as a
//! queued job: the challenger's run recorded, the new version registered, the decision tagged
//! on both and, when the policy configures one, the deployment created. The rules are
//! `slipway_monitor::retrain`'s and the job `slipway_engine::retrain`'s; this file prints and
//! implements the recorder over the tracking client.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Args;
use console::style;
use serde_json::{Value, json};
use slipway_engine::retrain::{JobQueue, JobStatus, RetrainPlan, RetrainRecorder, plan};
use slipway_engine::{Engine, EngineOptions, PipelineConfig, TrainOutcome};
use slipway_monitor::retrain::{Decision, RetrainPolicy};

use crate::record::{RunLog, RunRecorder};
use crate::tracking::Client;

/// `monitor retrain`.
#[derive(Args)]
pub struct RetrainArgs {
    /// The retrain policy (YAML with a `retrain:` section).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// Show which triggers fire, with their values, and what a retrain would do; train
    /// nothing.
    #[arg(long)]
    dry_run: bool,
    /// Retrain even when no trigger fired.
    #[arg(long, conflicts_with = "dry_run")]
    force: bool,
    #[command(flatten)]
    tracking: crate::TrackingArgs,
}

/// Runs `monitor retrain`.
pub fn run(a: RetrainArgs, json: bool) -> anyhow::Result<ExitCode> {
    let policy = RetrainPolicy::load(&a.policy)?;
    let plan = plan(&policy, chrono::Utc::now())?;
    if a.dry_run || !(plan.retrain || a.force) {
        if json {
            let mut v = serde_json::to_value(&plan)?;
            v["dry_run"] = json!(a.dry_run);
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            print_plan(&plan, a.dry_run);
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !json {
        print_plan(&plan, false);
    }
    let client = a.tracking.client()?;
    let engine = Engine::new(EngineOptions::default());
    let progress = Arc::new(crate::Bars {
        bar: Mutex::new(None),
        quiet: json,
    });
    let queue = JobQueue::start(engine, progress)?;
    let server = match policy.deployment.as_ref().and_then(|d| d.server.as_deref()) {
        Some(url) => Some(Client::http(url)?),
        None => None,
    };
    let handle = queue.submit(&policy, Box::new(TrackingRecorder { client, server }))?;
    if !json {
        println!(
            "job {} queued (log: {})",
            style(&handle.id).bold(),
            handle.dir.join("job.log").display()
        );
    }
    let record = handle.wait()?;
    drop(queue);
    if json {
        let mut v = serde_json::to_value(&record)?;
        v["plan"] = serde_json::to_value(&plan)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    match (record.status, &record.outcome) {
        (JobStatus::Succeeded, Some(o)) => {
            if !json {
                print_decision(&o.decision);
                println!(
                    "{} job {} succeeded: run {}, '{}' version {}{}",
                    style("✓").green().bold(),
                    record.id,
                    o.run_id.as_deref().unwrap_or("-"),
                    policy.model,
                    o.version.as_deref().unwrap_or("-"),
                    match &o.deployment {
                        Some(d) => format!(
                            ", deployment '{}' created ({})",
                            d["deployment"]["name"].as_str().unwrap_or_default(),
                            d["deployment"]["strategy"].as_str().unwrap_or_default()
                        ),
                        None => String::new(),
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => anyhow::bail!(
            "retrain job {} failed: {} (log: {})",
            record.id,
            record.error.as_deref().unwrap_or("no outcome"),
            record.log.display()
        ),
    }
}

fn print_plan(p: &RetrainPlan, dry_run: bool) {
    println!(
        "retrain policy for {}: champion {} · reference {} rows · {} new labelled rows (+ a window of {})",
        style(&p.model).bold(),
        p.champion.display(),
        p.reference_rows,
        p.new_training_rows,
        p.window_rows
    );
    for t in &p.triggers {
        let verdict = if !t.enabled {
            style("off  ").dim()
        } else if t.fired {
            style("FIRED").red().bold()
        } else {
            style("ok   ").green()
        };
        println!("  {:<17} {verdict}  {}", t.name, t.detail);
    }
    let head = if !p.retrain {
        "no trigger fired: nothing to do"
    } else if dry_run {
        "dry run: a retrain would"
    } else {
        "retraining:"
    };
    println!("{head}");
    if p.retrain {
        for (i, s) in p.steps.iter().enumerate() {
            println!("  {}. {s}", i + 1);
        }
    }
}

fn print_decision(d: &Decision) {
    let c = &d.comparison;
    println!(
        "  window: {} rows · {} champion {:.4} · challenger {:.4} · {:+.2} %",
        c.rows,
        c.metric.name(),
        c.champion,
        c.challenger,
        c.improvement * 100.0
    );
    match (c.only_champion_right, c.only_challenger_right, c.interval) {
        (Some(b), Some(cc), _) => println!(
            "  {}: only the champion right {b} · only the challenger right {cc} · statistic {:.4} · p {:.4}",
            c.test.name(),
            c.statistic,
            c.p_value
        ),
        (_, _, Some((lo, hi))) => println!(
            "  {}: mean difference {:.4} (95 % {:.4} to {:.4}) · p {:.4}",
            c.test.name(),
            c.statistic,
            lo,
            hi,
            c.p_value
        ),
        _ => {}
    }
    println!(
        "  decision: {} — {}",
        style(d.action.name()).bold(),
        d.reason
    );
}

/// Records through the tracking client (the local store, or a server); deployments go to
/// the policy's serving server when it names one.
struct TrackingRecorder {
    client: Client,
    server: Option<Client>,
}

fn kv(k: &str, v: impl ToString) -> Value {
    json!({"key": k, "value": v.to_string()})
}

impl RetrainRecorder for TrackingRecorder {
    fn record_run(
        &mut self,
        config: &PipelineConfig,
        config_text: &str,
        outcome: &TrainOutcome,
        decision: &Decision,
    ) -> Result<String, String> {
        let r = RunRecorder::start(
            &self.client,
            &config.name,
            &format!("{}-retrain", config.name),
            "slipway monitor retrain",
        )
        .map_err(|e| e.to_string())?;
        let c = &decision.comparison;
        let ts = crate::tracking::now_ms();
        let metric = |k: &str, v: f64| {
            v.is_finite()
                .then(|| json!({"key": k, "value": v, "timestamp": ts, "step": 0}))
        };
        let metrics: Vec<Value> = [
            metric("retrain.champion", c.champion),
            metric("retrain.challenger", c.challenger),
            metric("retrain.improvement", c.improvement),
            metric("retrain.statistic", c.statistic),
            metric("retrain.p_value", c.p_value),
        ]
        .into_iter()
        .flatten()
        .collect();
        let tags = vec![
            kv("slipway.retrain.decision", decision.action.name()),
            kv("slipway.retrain.reason", &decision.reason),
            kv("slipway.retrain.metric", c.metric.name()),
            kv("slipway.retrain.test", c.test.name()),
            kv("slipway.retrain.window_rows", c.rows),
        ];
        let logged = self
            .client
            .post(
                "runs/log-batch",
                &json!({"run_id": r.run_id, "metrics": metrics, "tags": tags}),
            )
            .map_err(|e| e.to_string())
            .and_then(|_| {
                RunLog::train(config, config_text, outcome)
                    .and_then(|l| r.record(&l))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = logged {
            let _ = r.fail(&e);
            return Err(e);
        }
        Ok(r.run_id)
    }

    fn register(
        &mut self,
        model: &str,
        run_id: &str,
        tags: &BTreeMap<String, String>,
    ) -> Result<String, String> {
        let v = crate::models::register_version(&self.client, model, run_id, tags)
            .map_err(|e| e.to_string())?;
        v["model_version"]["version"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| "the registry answered without a version".to_string())
    }

    fn create_deployment(&mut self, plan: &Value) -> Result<Value, String> {
        self.server
            .as_ref()
            .unwrap_or(&self.client)
            .post_at("/api/2.0/slipway/deployments/create", plan)
            .map_err(|e| e.to_string())
    }
}
