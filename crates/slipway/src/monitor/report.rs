//! `slipway monitor report`: one HTML page and its JSON twin from what `monitor drift`,
//! `monitor performance` and `--alerts` wrote (the work is
//! `slipway_monitor::combined`'s).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use slipway_monitor::combined::{
    MonitoringReport, read_alert_log, read_drift_with, read_performance,
};

/// `monitor report`.
#[derive(Args)]
#[command(group(clap::ArgGroup::new("parts").required(true).multiple(true).args(["drift", "performance", "alert_log"])))]
pub struct ReportArgs {
    /// A drift report's JSON twin (`monitor drift --output X.html` writes `X.json`).
    #[arg(long, value_name = "FILE.json")]
    drift: Option<PathBuf>,
    /// A performance report's JSON twin (`monitor performance --output X.html`).
    #[arg(long, value_name = "FILE.json")]
    performance: Option<PathBuf>,
    /// The alert delivery log (`--alert-log`, default `<rules>.deliveries.jsonl`).
    #[arg(long, value_name = "FILE.jsonl")]
    alert_log: Option<PathBuf>,
    /// Where the HTML goes (its JSON twin next to it, `.json`).
    #[arg(long, short, value_name = "report.html")]
    output: PathBuf,
}

pub fn run(a: ReportArgs, json: bool) -> anyhow::Result<ExitCode> {
    let mut report = MonitoringReport::default();
    let mut sources = Vec::new();
    if let Some(p) = &a.drift {
        let (drift, multivariate) = read_drift_with(p)?;
        report.drift = Some(drift);
        report.multivariate = multivariate;
        sources.push(("drift".to_string(), p.display().to_string()));
    }
    if let Some(p) = &a.performance {
        report.performance = Some(read_performance(p)?);
        sources.push(("performance".to_string(), p.display().to_string()));
    }
    if let Some(p) = &a.alert_log {
        report.alerts = read_alert_log(p)?;
        sources.push(("alert log".to_string(), p.display().to_string()));
    }
    if a.output.extension().is_some_and(|e| e == "json") {
        anyhow::bail!(
            "--output {}: give the HTML file's name; its JSON twin is written next to it",
            a.output.display()
        );
    }
    let html = report.render_html(&sources);
    super::write_file(&a.output, html.as_bytes())?;
    let twin = a.output.with_extension("json");
    super::write_file(
        &twin,
        serde_json::to_string_pretty(&report.to_json())?.as_bytes(),
    )?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "report": a.output.display().to_string(),
                "json": twin.display().to_string(),
                "drift": report.drift.is_some(),
                "multivariate": report.multivariate.iter().map(|m| m.options.method.name()).collect::<Vec<_>>(),
                "performance": report.performance.is_some(),
                "alert_attempts": report.alerts.len(),
            }))?
        );
    } else {
        println!("report: {}", a.output.display());
        println!("json:   {}", twin.display());
    }
    Ok(ExitCode::SUCCESS)
}
