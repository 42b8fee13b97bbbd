//! `slipway monitor drift`: current data against a reference, chunk by chunk (the work is
//! `slipway_monitor`'s; this file parses flags and prints).
//!
//! Exit codes: 0 done (drift or not, without `--fail-on-drift`), 2 bad input (a missing
//! column, an unreadable file, a type mismatch, an empty current file), 3 drift found with
//! `--fail-on-drift`, 1 internal failure, 5 an alert (`--alerts`) could not be delivered.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use console::style;
use slipway_govern::fairness::{FairnessOptions, Thresholds};
use slipway_monitor::drift::{Correction, DriftOptions, Stat};
use slipway_monitor::fairness::FairnessMonitor;
use slipway_monitor::performance::{
    CalibrationMode, Columns, FairnessOverTime, LabelFile, Metric, PerformanceOptions,
    PerformanceReport, PerformanceRun, Task,
};
use slipway_monitor::run::{Chunking, DriftReport, Period, drift_file};
use slipway_monitor::summary::{ColumnKind, ReferenceSource, load_reference};

mod alerts;
mod extra;
mod report;
pub(crate) mod retrain;

/// Exit code when `--fail-on-drift` finds drift.
pub const EXIT_DRIFT: u8 = 3;

/// The monitoring subcommands.
#[derive(Subcommand)]
pub enum MonitorCommand {
    /// Per-feature drift of a current file against a reference (a file, a bundle's training
    /// profile or a saved reference summary); exit 3 with --fail-on-drift when drift is found.
    Drift(DriftArgs),
    /// Summarize a reference file once (sorted values, bins, quantiles, category counts)
    /// for `monitor drift --reference-summary`, which then reads only the current file.
    Summarize(SummarizeArgs),
    /// Model performance per chunk: realized from labels (joined by id from --labels) and,
    /// for a binary classifier with probabilities, estimated before labels arrive (CBPE);
    /// exit 3 with --fail-on-alert when a value is outside the reference's thresholds.
    Performance(PerformanceArgs),
    /// Retraining under a policy (YAML `retrain:`): which triggers fire, with their values;
    /// then (not with --dry-run) the retrain as a queued job, the paired comparison with the
    /// champion, the decision, the new version and, when configured, the deployment.
    Retrain(retrain::RetrainArgs),
    /// One HTML report (and its JSON twin) from the JSON twins of `monitor drift` and
    /// `monitor performance` and the alert delivery log: the drift table with histograms,
    /// the metrics per chunk with thresholds and bands, the alert timeline.
    Report(report::ReportArgs),
}

/// `monitor performance`.
#[derive(Args)]
pub struct PerformanceArgs {
    /// The reference data with labels and the model's outputs (CSV, Parquet, JSON lines).
    #[arg(long, value_name = "FILE")]
    reference: PathBuf,
    /// The analysis data: the model's outputs, labels where known.
    #[arg(long, value_name = "FILE")]
    analysis: PathBuf,
    /// Labels that arrived later, one row per id (--id-column), joined onto the analysis
    /// rows; rows without a label stay, counted as unlabelled.
    #[arg(long, value_name = "FILE", requires = "id_column")]
    labels: Option<PathBuf>,
    /// The id column of --analysis and --labels.
    #[arg(long, requires = "labels")]
    id_column: Option<String>,
    /// The label column.
    #[arg(long)]
    target: String,
    /// The predicted label (classification) or value (regression) column.
    #[arg(long)]
    prediction: Option<String>,
    /// The predicted probability of class 1 (binary classification): enables CBPE.
    #[arg(long)]
    probability: Option<String>,
    /// binary or regression [default: binary with --probability or classification
    /// metrics, regression with regression metrics].
    #[arg(long, value_parser = ["binary", "regression"])]
    task: Option<String>,
    /// Feature columns: for a regression model, DLE estimates MAE and RMSE from them
    /// before labels arrive.
    #[arg(long, value_delimiter = ',')]
    features: Vec<String>,
    /// Cut both files into chunks of this many rows (the last chunk keeps the remainder).
    #[arg(long, conflicts_with = "chunk_by")]
    chunk_size: Option<u64>,
    /// One chunk per value of this column (e.g. a year).
    #[arg(long, value_name = "COLUMN")]
    chunk_by: Option<String>,
    /// Metrics: roc_auc, accuracy, precision, recall, f1 (binary); mae, rmse, mape, r2
    /// (regression) [default: all of the task's].
    #[arg(long, value_delimiter = ',')]
    metrics: Vec<String>,
    /// Bootstrap resamples per chunk for the realized values' intervals (0: none).
    #[arg(long, default_value_t = 200)]
    bootstrap: usize,
    /// Coverage of the bootstrap intervals.
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Calibrate probabilities on the reference before CBPE: auto (NannyML's test),
    /// always or never.
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    calibration: String,
    /// Write the HTML report here (its JSON twin next to it, `.json`).
    #[arg(long, value_name = "report.html")]
    output: Option<PathBuf>,
    /// Exit 3 when any chunk's value is outside the thresholds (or, with --alerts, an
    /// alert is firing).
    #[arg(long)]
    fail_on_alert: bool,
    /// Fairness by these protected columns (comma-separated) on each chunk's labelled rows
    /// (binary classifiers; the columns must be in --analysis, logged with the predictions).
    #[arg(long, value_delimiter = ',')]
    protected: Vec<String>,
    /// Largest demographic parity difference per chunk that passes (with --protected).
    #[arg(long, default_value_t = 0.1)]
    max_dp_difference: f64,
    /// Smallest disparate impact ratio per chunk that passes (with --protected).
    #[arg(long, default_value_t = 0.8)]
    min_di_ratio: f64,
    /// Groups with fewer labelled rows in a chunk are too small to alarm on (with
    /// --protected).
    #[arg(long, default_value_t = 30)]
    min_group_size: usize,
    #[command(flatten)]
    alerts: alerts::AlertArgs,
}

/// `monitor summarize`.
#[derive(Args)]
pub struct SummarizeArgs {
    /// The reference data (CSV, Parquet, JSON lines; Parquet is read a column at a time).
    #[arg(long, value_name = "FILE")]
    reference: PathBuf,
    /// Columns to summarize [default: every column].
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Numeric columns to compare as categories (codes stored as numbers); give the same
    /// list to `monitor drift`.
    #[arg(long, value_delimiter = ',')]
    categorical: Vec<String>,
    /// Where to write the summary.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// `monitor drift`.
#[derive(Args)]
#[command(group(clap::ArgGroup::new("reference_source").required(true).args(["reference", "bundle", "reference_summary"])))]
pub struct DriftArgs {
    /// The reference data (CSV, Parquet, JSON lines).
    #[arg(long, value_name = "FILE")]
    reference: Option<PathBuf>,
    /// A model bundle: its training profile is the reference (KS and Wasserstein need raw
    /// values and are not computable from it).
    #[arg(long, value_name = "DIR")]
    bundle: Option<PathBuf>,
    /// A reference summary saved by `monitor summarize` or an earlier run (--save-summary).
    #[arg(long, value_name = "FILE")]
    reference_summary: Option<PathBuf>,
    /// The current data (CSV, Parquet, JSON lines), read a block of rows at a time.
    #[arg(long, value_name = "FILE")]
    current: PathBuf,
    /// Columns to compare [default: every reference column; a bundle's input columns].
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Numeric columns to compare as categories (codes stored as numbers).
    #[arg(long, value_delimiter = ',')]
    categorical: Vec<String>,
    /// Cut the current data into chunks of this many rows.
    #[arg(long, conflicts_with = "chunk_period")]
    chunk_size: Option<u64>,
    /// Cut the current data into calendar periods of --timestamp-column: day, week or month.
    #[arg(long, requires = "timestamp_column", value_parser = ["day", "week", "month"])]
    chunk_period: Option<String>,
    /// The datetime column --chunk-period reads.
    #[arg(long, requires = "chunk_period")]
    timestamp_column: Option<String>,
    /// Statistics: ks, chi2, psi, wasserstein, js, hellinger, linf [default: all, each where
    /// it applies].
    #[arg(long, value_delimiter = ',')]
    stat: Vec<String>,
    /// Thresholds replacing the defaults, e.g. `psi=0.25,ks=0` (for ks and chi2 the
    /// effect-size floor: the KS statistic, Cramér's V).
    #[arg(long, value_delimiter = ',')]
    threshold: Vec<String>,
    /// Significance level of the KS and chi-square tests, after correction.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Correction of p-values across a chunk's features: bh (Benjamini–Hochberg),
    /// bonferroni or none.
    #[arg(long, default_value = "bh", value_parser = ["bh", "bonferroni", "none"])]
    correction: String,
    /// A column with fewer values than this in a chunk is a "small sample": reported,
    /// never drift.
    #[arg(long, default_value_t = 100)]
    min_rows: u64,
    /// Write the HTML report here (its JSON twin next to it, `.json`).
    #[arg(long, value_name = "report.html")]
    output: Option<PathBuf>,
    /// Save the reference summary here for reuse with --reference-summary [default: next
    /// to --output as `<name>.reference.summary` when the reference is a file].
    #[arg(long, value_name = "FILE")]
    save_summary: Option<PathBuf>,
    /// Exit 3 when any feature drifted in any chunk (or, with --alerts, an alert is
    /// firing).
    #[arg(long)]
    fail_on_drift: bool,
    /// Multivariate drift as well (needs --reference FILE): pca (NannyML's PCA
    /// reconstruction error) or domain (a GBDT telling reference from chunk, ROC AUC).
    #[arg(long, value_delimiter = ',', value_name = "pca|domain")]
    multivariate: Vec<String>,
    /// Thresholds calibrated on the reference's chunks (needs --reference FILE and the
    /// chunking to cut it in two or more): drift above mean + K·std of each statistic over
    /// the reference chunks, each compared with the rest of the reference.
    #[arg(long, value_name = "K")]
    calibrate: Option<f64>,
    #[command(flatten)]
    alerts: alerts::AlertArgs,
}

/// Runs a monitoring subcommand.
pub fn run(cmd: MonitorCommand, json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        MonitorCommand::Drift(a) => drift(a, json),
        MonitorCommand::Summarize(a) => summarize(a, json),
        MonitorCommand::Performance(a) => performance(a, json),
        MonitorCommand::Retrain(a) => retrain::run(a, json),
        MonitorCommand::Report(a) => report::run(a, json),
    }
}

fn options(a: &DriftArgs) -> anyhow::Result<DriftOptions> {
    let mut opts = DriftOptions {
        alpha: a.alpha,
        min_rows: a.min_rows,
        correction: match a.correction.as_str() {
            "bonferroni" => Correction::Bonferroni,
            "none" => Correction::None,
            _ => Correction::Bh,
        },
        ..DriftOptions::default()
    };
    if !(a.alpha > 0.0 && a.alpha < 1.0) {
        bail!("--alpha {}: must be between 0 and 1", a.alpha);
    }
    let names = || {
        Stat::ALL
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !a.stat.is_empty() {
        opts.stats = a
            .stat
            .iter()
            .map(|s| {
                Stat::parse(s).with_context(|| {
                    format!(
                        "--stat: unknown statistic \"{s}\"; the statistics are {}",
                        names()
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?;
    }
    let mut thresholds = BTreeMap::new();
    for t in &a.threshold {
        let (name, value) = t
            .split_once('=')
            .with_context(|| format!("--threshold \"{t}\": write STAT=VALUE, e.g. psi=0.25"))?;
        let stat = Stat::parse(name).with_context(|| {
            format!(
                "--threshold: unknown statistic \"{name}\"; the statistics are {}",
                names()
            )
        })?;
        let value: f64 = value
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .with_context(|| format!("--threshold {t}: the value must be a number >= 0"))?;
        thresholds.insert(stat, value);
    }
    opts.thresholds = thresholds;
    Ok(opts)
}

fn drift(a: DriftArgs, json: bool) -> anyhow::Result<ExitCode> {
    let opts = options(&a)?;
    let rules = a.alerts.load()?;
    if let Some(r) = &rules {
        r.check_multivariate(&extra::methods(&a)?)?;
    }
    let chunking = match (a.chunk_size, &a.chunk_period, &a.timestamp_column) {
        (Some(0), _, _) => bail!("--chunk-size must be at least 1"),
        (Some(size), _, _) => Chunking::Rows { size },
        (None, Some(p), Some(c)) => Chunking::Period {
            column: c.clone(),
            period: Period::parse(p).context("--chunk-period")?,
        },
        _ => Chunking::Whole,
    };
    let source = match (&a.reference, &a.bundle, &a.reference_summary) {
        (Some(f), _, _) => ReferenceSource::File(f.clone()),
        (_, Some(b), _) => ReferenceSource::Bundle(b.clone()),
        (_, _, Some(s)) => ReferenceSource::Summary(s.clone()),
        _ => unreachable!("clap requires one"),
    };
    let summary = load_reference(&source, a.columns.as_deref(), &a.categorical)?;
    let save_to = a
        .save_summary
        .clone()
        .or_else(|| match (&source, &a.output) {
            (ReferenceSource::File(_), Some(out)) => Some(out.with_extension("reference.summary")),
            _ => None,
        });
    let mut report = drift_file(&summary, &a.current, &chunking, &opts, &a.categorical)?;
    let extra = extra::run(&a, &source, &summary, &chunking, &opts, &mut report)?;
    if let Some(path) = &save_to {
        summary.save(path)?;
    }
    if let Some(out) = &a.output {
        let sections = slipway_monitor::multivariate::report::sections(
            &extra.multivariate,
            extra.calibration.as_ref(),
        );
        let html = slipway_monitor::report::render_html_with(&report, sections);
        write_file(out, html.as_bytes())?;
        let twin = out.with_extension("json");
        let mut body = serde_json::to_value(&report)?;
        extra.merge_json(&mut body)?;
        write_file(&twin, serde_json::to_string_pretty(&body)?.as_bytes())?;
    }
    let fired = match &rules {
        Some(r) => Some(r.run(slipway_monitor::alerts::MonitorReport::DriftWith {
            drift: &report,
            multivariate: &extra.multivariate,
        })?),
        None => None,
    };
    if json {
        let mut body = serde_json::to_value(&report)?;
        extra.merge_json(&mut body)?;
        if let Some((run, _, _)) = &fired {
            body["alerts"] = serde_json::to_value(run)?;
        }
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        print_report(&report);
        extra::print(&extra);
        if let Some(out) = &a.output {
            println!("report: {}", out.display());
        }
        if let Some(path) = &save_to {
            println!("reference summary: {}", path.display());
        }
        if let Some((run, state, log)) = &fired {
            alerts::print(run, state, log);
        }
    }
    let firing = fired.as_ref().is_some_and(|(r, _, _)| r.firing > 0);
    Ok(match &fired {
        Some((run, _, _)) if run.failed_deliveries > 0 => ExitCode::from(alerts::EXIT_DELIVERY),
        _ if a.fail_on_drift && (report.drifted || extra.drifted() || firing) => {
            ExitCode::from(EXIT_DRIFT)
        }
        _ => ExitCode::SUCCESS,
    })
}

fn summarize(a: SummarizeArgs, json: bool) -> anyhow::Result<ExitCode> {
    let summary = load_reference(
        &ReferenceSource::File(a.reference.clone()),
        a.columns.as_deref(),
        &a.categorical,
    )?;
    summary.save(&a.out)?;
    let size = std::fs::metadata(&a.out).map(|m| m.len()).unwrap_or(0);
    let numeric = summary
        .columns
        .iter()
        .filter(|c| c.kind == ColumnKind::Numeric)
        .count();
    if json {
        let body = serde_json::json!({
            "summary": a.out.display().to_string(),
            "reference": summary.source,
            "rows": summary.n_rows,
            "columns": summary.columns.len(),
            "numeric_columns": numeric,
            "categorical_columns": summary.columns.len() - numeric,
            "bytes": size,
        });
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        println!(
            "reference summary: {} ({} rows; {} columns: {numeric} numeric, {} categorical; {:.1} MiB)",
            a.out.display(),
            summary.n_rows,
            summary.columns.len(),
            summary.columns.len() - numeric,
            size as f64 / (1024.0 * 1024.0)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn performance(a: PerformanceArgs, json: bool) -> anyhow::Result<ExitCode> {
    let rules = a.alerts.load()?;
    let metrics: Vec<Metric> = a
        .metrics
        .iter()
        .map(|s| {
            Metric::parse(s.trim()).with_context(|| {
                format!(
                    "--metrics: unknown metric \"{s}\"; the metrics are roc_auc, accuracy, precision, recall, f1, mae, rmse, mape, r2"
                )
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let task = match a.task.as_deref() {
        Some("binary") => Task::Binary,
        Some(_) => Task::Regression,
        None if a.probability.is_some() => Task::Binary,
        None => match metrics.first() {
            Some(m) if !m.is_classification() => Task::Regression,
            Some(_) => Task::Binary,
            None => bail!(
                "say what the model is: --probability COLUMN (binary classifier), --task or --metrics"
            ),
        },
    };
    if !(a.confidence > 0.0 && a.confidence < 1.0) {
        bail!("--confidence {}: must be between 0 and 1", a.confidence);
    }
    let metrics = if metrics.is_empty() {
        match (task, &a.probability) {
            (Task::Binary, Some(_)) => Metric::CLASSIFICATION.to_vec(),
            (Task::Binary, None) => Metric::CLASSIFICATION[1..].to_vec(),
            (Task::Regression, _) => Metric::REGRESSION.to_vec(),
        }
    } else {
        metrics
    };
    let chunking = match (a.chunk_size, &a.chunk_by) {
        (Some(0), _) => bail!("--chunk-size must be at least 1"),
        (Some(size), _) => Chunking::Rows { size },
        (None, Some(column)) => Chunking::Value {
            column: column.clone(),
        },
        _ => Chunking::Whole,
    };
    let columns = Columns {
        target: a.target.clone(),
        prediction: a.prediction.clone(),
        probability: a.probability.clone(),
    };
    let labels = match (&a.labels, &a.id_column) {
        (Some(path), Some(id)) => Some(LabelFile {
            path: path.clone(),
            id_column: id.clone(),
        }),
        _ => None,
    };
    let opts = PerformanceOptions {
        metrics,
        bootstrap: a.bootstrap,
        confidence: a.confidence,
        seed: a.seed,
        calibration: match a.calibration.as_str() {
            "always" => CalibrationMode::Always,
            "never" => CalibrationMode::Never,
            _ => CalibrationMode::Auto,
        },
    };
    let fairness = (!a.protected.is_empty()).then(|| FairnessMonitor {
        protected: a.protected.iter().map(|s| s.trim().to_string()).collect(),
        options: FairnessOptions {
            min_group_size: a.min_group_size,
            bootstrap: a.bootstrap,
            seed: a.seed,
            confidence: a.confidence,
            intersect: false,
            thresholds: Thresholds {
                max_demographic_parity_difference: a.max_dp_difference,
                min_disparate_impact_ratio: a.min_di_ratio,
            },
        },
    });
    let report = PerformanceRun {
        reference: &a.reference,
        analysis: &a.analysis,
        labels: labels.as_ref(),
        columns: &columns,
        task,
        chunking: &chunking,
        features: &a.features,
        fairness: fairness.as_ref(),
    }
    .run(&opts)?;
    if let Some(out) = &a.output {
        let html = slipway_monitor::performance_report::render_html(&report);
        write_file(out, html.as_bytes())?;
        write_file(
            &out.with_extension("json"),
            serde_json::to_string_pretty(&report)?.as_bytes(),
        )?;
    }
    let fired = match &rules {
        Some(r) => Some(r.run(slipway_monitor::alerts::MonitorReport::Performance(&report))?),
        None => None,
    };
    if json {
        let mut body = serde_json::to_value(&report)?;
        if let Some((run, _, _)) = &fired {
            body["alerts"] = serde_json::to_value(run)?;
        }
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        print_performance(&report);
        if let Some(out) = &a.output {
            println!("report: {}", out.display());
        }
        if let Some((run, state, log)) = &fired {
            alerts::print(run, state, log);
        }
    }
    let fairness_alerts = report.fairness.as_ref().map_or(0, |f| f.alerts);
    let firing = fired.as_ref().is_some_and(|(r, _, _)| r.firing > 0);
    Ok(match &fired {
        Some((run, _, _)) if run.failed_deliveries > 0 => ExitCode::from(alerts::EXIT_DELIVERY),
        _ if a.fail_on_alert && (report.alerts + fairness_alerts > 0 || firing) => {
            ExitCode::from(EXIT_DRIFT)
        }
        _ => ExitCode::SUCCESS,
    })
}

fn print_performance(r: &PerformanceReport) {
    println!(
        "{} {} ({} rows, {} labelled) vs reference {} ({} rows)",
        style("performance:").bold(),
        r.analysis,
        r.analysis_rows,
        r.labelled_rows,
        r.reference,
        r.reference_rows
    );
    if let Some(j) = &r.join {
        println!(
            "{} {}: {} rows matched, {} unlabelled, {} labels matched no row",
            style("labels:").cyan(),
            r.labels.as_deref().unwrap_or(""),
            j.matched,
            j.unlabelled,
            j.unused_labels
        );
    }
    if let Some(c) = &r.calibration {
        let ece = match (c.ece_before, c.ece_after) {
            (Some(b), Some(a)) => format!(" (held-out ECE {} → {})", fmt_value(b), fmt_value(a)),
            _ => String::new(),
        };
        println!(
            "{} {}{ece}",
            style("calibration:").cyan(),
            if c.calibrated { "isotonic" } else { "none" }
        );
    }
    if r.rows_without_chunk > 0 {
        println!(
            "{} {} rows have no chunk value and are in no chunk",
            style("note:").cyan(),
            r.rows_without_chunk
        );
    }
    let th: Vec<String> = r
        .thresholds
        .iter()
        .map(|t| {
            format!(
                "{} [{}, {}]",
                t.metric.name(),
                t.lower.map_or("—".into(), fmt_value),
                t.upper.map_or("—".into(), fmt_value)
            )
        })
        .collect();
    println!("{} {}", style("thresholds:").cyan(), th.join(" · "));
    if r.reference_chunks.len() < 2 {
        println!(
            "{} the reference is one chunk: thresholds need the spread of several reference chunks, so nothing alerts (use --chunk-size)",
            style("note:").yellow()
        );
    }
    for c in &r.chunks {
        let alerts = c
            .metrics
            .iter()
            .filter(|x| x.alert || x.realized_alert)
            .count();
        let head = format!(
            "chunk {} · {} · {} rows ({} labelled)",
            c.index, c.label, c.rows, c.labelled_rows
        );
        if alerts > 0 {
            println!("{}", style(head).red().bold());
        } else {
            println!("{}", style(head).green().bold());
        }
        for x in &c.metrics {
            let mut parts = Vec::new();
            if let (Some(e), Some([lo, hi])) = (x.estimated, x.band) {
                let s = format!(
                    "estimated {} [{}, {}]",
                    fmt_value(e),
                    fmt_value(lo),
                    fmt_value(hi)
                );
                parts.push(if x.alert {
                    style(s).red().to_string()
                } else {
                    s
                });
            }
            match x.realized {
                Some(v) => {
                    let ci = x
                        .realized_interval
                        .map(|[a, b]| format!(" ({}–{})", fmt_value(a), fmt_value(b)))
                        .unwrap_or_default();
                    let s = format!("realized {}{ci}", fmt_value(v));
                    parts.push(if x.realized_alert {
                        style(s).red().to_string()
                    } else {
                        s
                    });
                }
                None if c.labelled_rows == 0 => {
                    parts.push(style("realized: no labels yet").dim().to_string())
                }
                None => parts.push(style("realized: undefined (one class)").dim().to_string()),
            }
            let flag = if x.alert || x.realized_alert {
                style("ALERT").red().bold().to_string()
            } else {
                style("ok   ").green().to_string()
            };
            println!("  {:9}  {flag}  {}", x.metric.name(), parts.join(" · "));
        }
    }
    if let Some(f) = &r.fairness {
        print_fairness(f);
    }
    let alerts = r.alerts + r.fairness.as_ref().map_or(0, |f| f.alerts);
    if alerts > 0 {
        println!("{}", style(format!("{alerts} alerts")).red().bold());
    } else {
        println!("{}", style("no alerts").green().bold());
    }
}

fn print_fairness(f: &FairnessOverTime) {
    let t = &f.monitor.options.thresholds;
    println!(
        "{} by {} per chunk (demographic parity difference ≤ {}, disparate impact ratio ≥ {}; groups under {} labelled rows are flagged, not alarmed on)",
        style("fairness:").bold(),
        f.monitor.protected.join(", "),
        t.max_demographic_parity_difference,
        t.min_disparate_impact_ratio,
        f.monitor.options.min_group_size
    );
    for c in &f.chunks {
        if let Some(note) = &c.note {
            println!("  chunk {} · {}: {}", c.index, c.label, style(note).dim());
            continue;
        }
        for a in &c.attributes {
            let value =
                |e: &slipway_govern::fairness::Estimate| e.value.map_or("–".into(), fmt_value);
            let flag = if a.alert {
                style("ALERT").red().bold().to_string()
            } else if a.flagged {
                style("small").yellow().to_string()
            } else {
                style("ok   ").green().to_string()
            };
            println!(
                "  chunk {} · {} · {}  {flag}  DP difference {} · DI ratio {} · EO difference {}{}",
                c.index,
                c.label,
                a.attribute,
                value(&a.summary.demographic_parity_difference),
                value(&a.summary.disparate_impact_ratio),
                value(&a.summary.equalized_odds_difference),
                if a.small_groups.is_empty() {
                    String::new()
                } else {
                    format!(" (small: {})", a.small_groups.join(", "))
                }
            );
        }
    }
}

fn write_file(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp-slipway");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn fmt_value(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) {
        format!("{v:.2e}")
    } else {
        format!("{v:.4}")
    }
}

fn print_report(r: &DriftReport) {
    println!(
        "{} {} ({} rows) vs reference {} ({} rows)",
        style("drift:").bold(),
        r.current,
        r.current_rows,
        r.reference,
        r.reference_rows
    );
    if r.rows_without_timestamp > 0 {
        println!(
            "{} {} rows have no timestamp and are in no chunk",
            style("note:").cyan(),
            r.rows_without_timestamp
        );
    }
    let width = r
        .columns
        .iter()
        .map(|(c, _)| c.len())
        .max()
        .unwrap_or(8)
        .max(8);
    for c in &r.chunks {
        let head = format!(
            "chunk {} · {} · {} rows · {} of {} features drifted",
            c.index,
            c.label,
            c.rows,
            c.drifted_features,
            c.features.len()
        );
        if c.small_sample {
            println!(
                "{} {}",
                style(head).bold(),
                style("(small sample: not alarmed on)").yellow()
            );
        } else if c.drifted_features > 0 {
            println!("{}", style(head).red().bold());
        } else {
            println!("{}", style(head).green().bold());
        }
        for f in &c.features {
            let mut cells = Vec::new();
            for s in &f.stats {
                let cell = match (s.value, &s.reason) {
                    (Some(v), _) => {
                        let shown = match (s.adjusted_p_value, s.effect) {
                            (Some(p), Some(e)) => {
                                let effect = if s.stat == Stat::Chi2 { "V" } else { "D" };
                                format!(
                                    "{} {effect} {} p {} (≥{})",
                                    s.stat.name(),
                                    fmt_value(e),
                                    fmt_value(p),
                                    s.threshold
                                )
                            }
                            (None, Some(e)) => format!(
                                "{} {} (÷σ {}) ≥{}",
                                s.stat.name(),
                                fmt_value(v),
                                fmt_value(e),
                                s.threshold
                            ),
                            _ => format!("{} {} ≥{}", s.stat.name(), fmt_value(v), s.threshold),
                        };
                        if s.drifted {
                            style(shown).red().to_string()
                        } else {
                            shown
                        }
                    }
                    (None, Some(reason)) => style(format!("{} n/a: {reason}", s.stat.name()))
                        .dim()
                        .to_string(),
                    (None, None) => style(format!("{} n/a", s.stat.name())).dim().to_string(),
                };
                cells.push(cell);
            }
            let missing = if f.missing_rate > 0.0 || f.reference_missing_rate > 0.0 {
                let m = format!(
                    "missing {:.1}% (ref {:.1}%)",
                    100.0 * f.missing_rate,
                    100.0 * f.reference_missing_rate
                );
                if f.missing_drifted {
                    style(m).red().to_string()
                } else {
                    m
                }
            } else {
                String::new()
            };
            let verdict = if f.small_sample {
                style("small").yellow().to_string()
            } else if f.drifted {
                style("DRIFT").red().bold().to_string()
            } else {
                style("ok   ").green().to_string()
            };
            let line = format!(
                "  {:width$}  {verdict}  {}  {missing}",
                f.column,
                cells.join(" · ")
            );
            println!("{}", line.trim_end());
        }
    }
    let verdict = if r.drifted {
        style("drift found").red().bold()
    } else {
        style("no drift").green().bold()
    };
    println!("{verdict}");
}
