//! `slipway deploy report`: the A/B readout of an exposures file (the statistics and the
//! decision are `slipway_rollout`'s; this file parses flags and prints).
//!
//! Exit codes: 0 readout done (whatever it recommends), 2 bad input (an unknown column, a
//! third arm label, a non-numeric outcome, an arm without rows, an option out of range),
//! 1 internal failure.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use console::style;
use slipway_rollout::readout::{
    OutcomeKind, Readout, ReadoutColumns, ReadoutOptions, Recommendation, readout_file,
};
use slipway_rollout::report::write_report;

/// The deployment subcommands.
#[derive(Subcommand)]
pub enum DeployCommand {
    /// The A/B readout of an exposures file: counts, sample-ratio check, the test that fits
    /// the outcome (conversions: two-proportion z-test; numbers: Welch), CUPED, always-valid
    /// p-value, and a recommendation.
    Report(ReportArgs),
}

/// `deploy report`.
#[derive(Args)]
pub struct ReportArgs {
    /// One row per exposure (CSV, Parquet, JSON lines).
    #[arg(long, value_name = "FILE")]
    exposures: PathBuf,
    /// The arm column.
    #[arg(long, default_value = "arm")]
    arm_column: String,
    /// The outcome column: 0/1 or true/false (conversions) or numbers. A missing value is
    /// an outcome not known yet: the row counts as an exposure but is left out of the tests.
    #[arg(long, default_value = "converted")]
    outcome_column: String,
    /// A pre-experiment covariate column for CUPED.
    #[arg(long)]
    covariate_column: Option<String>,
    /// A segment column: the sample ratio is also checked within each segment.
    #[arg(long)]
    segment_column: Option<String>,
    /// The label of arm A in the arm column.
    #[arg(long, default_value = "A")]
    label_a: String,
    /// The label of arm B in the arm column.
    #[arg(long, default_value = "B")]
    label_b: String,
    /// The configured share of traffic sent to B, in percent.
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
    #[arg(long, value_name = "report.html")]
    output: Option<PathBuf>,
}

/// Runs a deployment subcommand.
pub fn run(cmd: DeployCommand, json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        DeployCommand::Report(a) => report(a, json),
    }
}

fn report(a: ReportArgs, json: bool) -> anyhow::Result<ExitCode> {
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
    let r = readout_file(&a.exposures, &columns, &options)?;
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
