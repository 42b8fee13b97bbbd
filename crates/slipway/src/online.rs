//! `slipway online`: an online model learning from a JSON-lines stream (a file or stdin)
//! with progressive validation and an optional drift detector on its errors (the work is
//! `slipway_monitor::online`'s; this file parses flags and prints).
//!
//! Exit codes: 0 done, 2 bad input (a malformed line, naming its number and field, unless
//! `--skip-bad`), 1 internal failure.

use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use console::style;
use slipway_monitor::online::regress::{
    RegressionCheckpoint, RegressionOptions, RegressionSummary, RegressorKind,
    learn_regression_stream,
};
use slipway_monitor::online::stream::{
    DetectorKind, ModelKind, OnlineOptions, OnlineSummary, learn_stream,
};

/// The online models.
#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum ModelArg {
    /// Hoeffding tree (River's defaults).
    HoeffdingTree,
    /// Adaptive random forest, 10 trees.
    Arf,
    /// Standard scaler + logistic regression by SGD (binary targets).
    Logistic,
    /// Standard scaler + Hoeffding tree regressor (River's defaults; numeric target).
    HoeffdingTreeRegressor,
    /// Standard scaler + adaptive random forest regressor, 10 trees (numeric target).
    ArfRegressor,
}

/// The drift detectors.
#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum DetectorArg {
    /// ADWIN (delta 0.002).
    Adwin,
    /// Page-Hinkley.
    PageHinkley,
    /// DDM (drift detection method).
    Ddm,
    /// KSWIN (seeded).
    Kswin,
}

/// `slipway online`.
#[derive(Args)]
pub struct OnlineArgs {
    /// The model that learns.
    #[arg(long, value_enum)]
    model: ModelArg,
    /// The JSON-lines stream, one object per line; `-` reads stdin.
    #[arg(long, value_name = "FILE.jsonl|-")]
    input: PathBuf,
    /// The target field (a class label; a number for the regressors).
    #[arg(long, default_value = "target")]
    target: String,
    /// A drift detector on the model's error stream (0/1 errors of a classifier, absolute
    /// errors of a regressor); its alarms are reported.
    #[arg(long, value_enum)]
    detector: Option<DetectorArg>,
    /// Print progressive metrics every this many rows (0: only at the end).
    #[arg(long, default_value_t = 1000)]
    every: u64,
    /// Skip malformed lines and count them instead of stopping at the first.
    #[arg(long)]
    skip_bad: bool,
    /// Seed of the forest's bagging and KSWIN's draws.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub fn run(a: OnlineArgs, json: bool) -> anyhow::Result<ExitCode> {
    let detector = a.detector.map(|d| match d {
        DetectorArg::Adwin => DetectorKind::Adwin,
        DetectorArg::PageHinkley => DetectorKind::PageHinkley,
        DetectorArg::Ddm => DetectorKind::Ddm,
        DetectorArg::Kswin => DetectorKind::Kswin,
    });
    let model = match a.model {
        ModelArg::HoeffdingTree => ModelKind::HoeffdingTree,
        ModelArg::Arf => ModelKind::Arf,
        ModelArg::Logistic => ModelKind::Logistic,
        ModelArg::HoeffdingTreeRegressor => {
            return run_regression(a, RegressorKind::HoeffdingTreeRegressor, detector, json);
        }
        ModelArg::ArfRegressor => {
            return run_regression(a, RegressorKind::ArfRegressor, detector, json);
        }
    };
    let options = OnlineOptions {
        model,
        target: a.target,
        detector,
        every: a.every,
        skip_bad: a.skip_bad,
        seed: a.seed,
    };
    let progress = |c: &slipway_monitor::online::stream::Checkpoint| {
        if !json {
            println!(
                "rows {:>9}  accuracy {:.4}  alarms {}",
                c.rows, c.accuracy, c.alarms
            );
        }
    };
    let summary = if a.input.as_os_str() == "-" {
        learn_stream(std::io::stdin().lock(), &options, progress)?
    } else {
        let file = std::fs::File::open(&a.input)
            .with_context(|| format!("cannot open {}", a.input.display()))?;
        learn_stream(BufReader::new(file), &options, progress)?
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(s: &OnlineSummary) {
    println!(
        "{} {} rows, progressive accuracy {:.4} ({} features, classes: {})",
        style("✓").green().bold(),
        s.rows,
        s.accuracy,
        s.features.len(),
        s.classes.join(", ")
    );
    if s.skipped > 0 {
        println!(
            "{} skipped {} malformed line(s); first: {}",
            style("note:").cyan(),
            s.skipped,
            s.skipped_examples.first().map(String::as_str).unwrap_or("")
        );
    }
    if let Some(d) = s.detector {
        let name = serde_json::to_value(d)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        println!("{name}: {} drift alarm(s)", s.alarms.len());
        for a in &s.alarms {
            println!(
                "  row {:>9} (line {}): accuracy of the last 500 rows {:.4}",
                a.row, a.line, a.recent_accuracy
            );
        }
    }
}

fn run_regression(
    a: OnlineArgs,
    model: RegressorKind,
    detector: Option<DetectorKind>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let options = RegressionOptions {
        model,
        target: a.target,
        detector,
        every: a.every,
        skip_bad: a.skip_bad,
        seed: a.seed,
    };
    let progress = |c: &RegressionCheckpoint| {
        if !json {
            println!(
                "rows {:>9}  MAE {:.4}  RMSE {:.4}  R2 {:.4}  alarms {}",
                c.rows, c.mae, c.rmse, c.r2, c.alarms
            );
        }
    };
    let summary = if a.input.as_os_str() == "-" {
        learn_regression_stream(std::io::stdin().lock(), &options, progress)?
    } else {
        let file = std::fs::File::open(&a.input)
            .with_context(|| format!("cannot open {}", a.input.display()))?;
        learn_regression_stream(BufReader::new(file), &options, progress)?
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_regression_summary(&summary);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_regression_summary(s: &RegressionSummary) {
    println!(
        "{} {} rows, progressive MAE {:.4}, RMSE {:.4}, R2 {:.4} ({} features)",
        style("✓").green().bold(),
        s.rows,
        s.mae,
        s.rmse,
        s.r2,
        s.features.len()
    );
    if let Some(e) = s.forest_events {
        println!(
            "forest: {} warning(s), {} tree(s) replaced",
            e.warnings, e.drifts
        );
    }
    if s.skipped > 0 {
        println!(
            "{} skipped {} malformed line(s); first: {}",
            style("note:").cyan(),
            s.skipped,
            s.skipped_examples.first().map(String::as_str).unwrap_or("")
        );
    }
    if let Some(d) = s.detector {
        let name = serde_json::to_value(d)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        println!(
            "{name} on absolute errors: {} drift alarm(s)",
            s.alarms.len()
        );
        for a in &s.alarms {
            println!(
                "  row {:>9} (line {}): MAE of the last 500 rows {:.4}",
                a.row, a.line, a.recent_mae
            );
        }
    }
}
