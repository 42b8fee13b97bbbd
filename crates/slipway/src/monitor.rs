//! `slipway monitor drift`: current data against a reference, chunk by chunk (the work is
//! `slipway_monitor`'s; this file parses flags and prints).
//!
//! Exit codes: 0 done (drift or not, without `--fail-on-drift`), 2 bad input (a missing
//! column, an unreadable file, a type mismatch, an empty current file), 3 drift found with
//! `--fail-on-drift`, 1 internal failure.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use console::style;
use slipway_monitor::drift::{Correction, DriftOptions, Stat};
use slipway_monitor::run::{Chunking, DriftReport, Period, drift_file};
use slipway_monitor::summary::{ReferenceSource, load_reference};

/// Exit code when `--fail-on-drift` finds drift.
pub const EXIT_DRIFT: u8 = 3;

/// The monitoring subcommands.
#[derive(Subcommand)]
pub enum MonitorCommand {
    /// Per-feature drift of a current file against a reference (a file, a bundle's training
    /// profile or a saved reference summary); exit 3 with --fail-on-drift when drift is found.
    Drift(DriftArgs),
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
    /// A reference summary saved by an earlier run (--save-summary).
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
    /// to --output as `<name>.reference.json` when the reference is a file].
    #[arg(long, value_name = "FILE")]
    save_summary: Option<PathBuf>,
    /// Exit 3 when any feature drifted in any chunk.
    #[arg(long)]
    fail_on_drift: bool,
}

/// Runs a monitoring subcommand.
pub fn run(cmd: MonitorCommand, json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        MonitorCommand::Drift(a) => drift(a, json),
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
            (ReferenceSource::File(_), Some(out)) => Some(out.with_extension("reference.json")),
            _ => None,
        });
    let report = drift_file(&summary, &a.current, &chunking, &opts, &a.categorical)?;
    if let Some(path) = &save_to {
        summary.save(path)?;
    }
    if let Some(out) = &a.output {
        let html = slipway_monitor::report::render_html(&report);
        write_file(out, html.as_bytes())?;
        let twin = out.with_extension("json");
        write_file(&twin, serde_json::to_string_pretty(&report)?.as_bytes())?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
        if let Some(out) = &a.output {
            println!("report: {}", out.display());
        }
        if let Some(path) = &save_to {
            println!("reference summary: {}", path.display());
        }
    }
    Ok(if a.fail_on_drift && report.drifted {
        ExitCode::from(EXIT_DRIFT)
    } else {
        ExitCode::SUCCESS
    })
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
