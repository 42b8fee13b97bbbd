//! `--alerts rules.yaml` on `monitor drift` and `monitor performance`: loads and checks the
//! rules before the run, evaluates them on the report after it, saves the alert state and
//! prints what fired, resolved and was delivered (the work is
//! `slipway_monitor::alerts`'s).
//!
//! Exit codes added: 5 when an alert could not be delivered after its retries (the state
//! keeps it due, so the next run tries again). With `--fail-on-drift` / `--fail-on-alert`,
//! a firing alert also exits 3.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use console::style;
use slipway_monitor::alerts::config::AlertConfig;
use slipway_monitor::alerts::deliver::{DeliveryLog, EventAction};
use slipway_monitor::alerts::evaluate::{Action, AlertState};
use slipway_monitor::alerts::{AlertRun, MonitorReport, process_with_channels};

/// Exit code when an alert could not be delivered.
pub const EXIT_DELIVERY: u8 = 5;

/// The alert flags of a monitor run.
#[derive(Args, Default)]
pub struct AlertArgs {
    /// Alert rules (YAML): evaluated on this run's report; firing alerts are sent to
    /// their channels (Slack, PagerDuty, a signed webhook, email).
    #[arg(long, value_name = "rules.yaml")]
    alerts: Option<PathBuf>,
    /// Where firing alerts are remembered between runs [default: next to the rules,
    /// `<rules>.state.json`].
    #[arg(long, value_name = "FILE", requires = "alerts")]
    alert_state: Option<PathBuf>,
    /// The delivery log, JSON lines, appended to [default: `<rules>.deliveries.jsonl`].
    #[arg(long, value_name = "FILE", requires = "alerts")]
    alert_log: Option<PathBuf>,
}

/// Checked rules and where their state lives.
pub struct Alerts {
    config: AlertConfig,
    rules: PathBuf,
    state: PathBuf,
    log: PathBuf,
}

impl AlertArgs {
    /// Loads and checks the rules (before the run, so a bad file fails fast).
    pub fn load(&self) -> anyhow::Result<Option<Alerts>> {
        let Some(rules) = &self.alerts else {
            return Ok(None);
        };
        let config = AlertConfig::load(rules)?;
        let beside = |ext: &str| rules.with_extension(ext);
        Ok(Some(Alerts {
            config,
            rules: rules.clone(),
            state: self
                .alert_state
                .clone()
                .unwrap_or_else(|| beside("state.json")),
            log: self
                .alert_log
                .clone()
                .unwrap_or_else(|| beside("deliveries.jsonl")),
        }))
    }
}

impl Alerts {
    /// Refuses, before the run, a rule on a multivariate method `--multivariate` does not
    /// compute.
    pub fn check_multivariate(
        &self,
        methods: &[slipway_monitor::multivariate::Method],
    ) -> anyhow::Result<()> {
        self.config
            .check_multivariate(
                methods,
                "add it to --multivariate, e.g. --multivariate pca,domain",
            )
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.rules.display()))
    }

    /// Evaluates the rules on `report`, delivers, saves the state.
    pub fn run(&self, report: MonitorReport<'_>) -> anyhow::Result<(AlertRun, &Path, &Path)> {
        let mut state = AlertState::load(&self.state)?;
        let mut log = DeliveryLog::new(Some(&self.log));
        let run = process_with_channels(
            &self.config,
            report,
            &mut state,
            chrono::Utc::now(),
            &mut log,
            &|var| std::env::var(var).ok(),
        );
        // The state is saved even when evaluation stopped half-way: deliveries already
        // made are in it and must not be repeated.
        state
            .save(&self.state)
            .with_context(|| format!("cannot save the alert state {}", self.state.display()))?;
        Ok((run?, &self.state, &self.log))
    }
}

fn value(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{}", (v * 1e4).round() / 1e4))
}

/// Prints the alert section of a run.
pub fn print(run: &AlertRun, state: &Path, log: &Path) {
    let count = |a: Action| run.results.iter().filter(|r| r.action == a).count();
    let delivered = run.deliveries.iter().filter(|d| d.delivered).count();
    println!(
        "{} {} checked · {} fired · {} reminded · {} in cool-down · {} resolved · {} delivered, {} failed",
        style("alerts:").bold(),
        run.results.len(),
        count(Action::Fired),
        count(Action::Reminded),
        count(Action::Suppressed),
        count(Action::Resolved),
        delivered,
        run.failed_deliveries
    );
    for r in &run.results {
        let v = &r.verdict;
        let tag = match r.action {
            Action::Fired => style("FIRED    ").red().bold(),
            Action::Reminded => style("REMINDED ").red(),
            Action::Suppressed => style("firing   ").yellow(),
            Action::Resolved => style("RESOLVED ").green().bold(),
            Action::Ok => style("ok       ").green(),
        };
        let side = match r.direction {
            slipway_monitor::alerts::config::Direction::Above => "above",
            slipway_monitor::alerts::config::Direction::Below => "below",
        };
        let cool = r
            .cooldown_until
            .as_ref()
            .map(|t| format!(" · cool-down until {t}"))
            .unwrap_or_default();
        println!(
            "  {tag} {} ({}) {} {} ({side} {}) · {} of {} breaching · {}{cool}",
            v.rule,
            v.subject,
            r.metric,
            value(v.value),
            r.threshold,
            v.breaches,
            v.window,
            r.severity.name()
        );
    }
    for d in &run.deliveries {
        let action = match d.action {
            EventAction::Trigger => "trigger",
            EventAction::Resolve => "resolve",
        };
        let code = d.code.map(|c| format!(" · {c}")).unwrap_or_default();
        let attempts = if d.attempts == 1 {
            "1 attempt".to_string()
        } else {
            format!("{} attempts", d.attempts)
        };
        if d.delivered {
            println!(
                "  {} {action} {} ({}) → {}{code} · {attempts}",
                style("delivered").green(),
                d.rule,
                d.subject,
                d.channel
            );
        } else {
            println!(
                "  {} {action} {} ({}) → {}{code} · {attempts} · {}",
                style("FAILED   ").red().bold(),
                d.rule,
                d.subject,
                d.channel,
                d.error.as_deref().unwrap_or("")
            );
        }
    }
    println!(
        "{} {} · delivery log: {}",
        style("alert state:").cyan(),
        state.display(),
        log.display()
    );
}
