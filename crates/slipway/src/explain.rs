//! `slipway explain`: SHAP values of a file's rows under a model bundle.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use console::style;
use slipway_engine::{Engine, ExplainOptions};

#[derive(Args)]
pub(crate) struct ExplainArgs {
    /// The model bundle directory (`<output>/model` after `slipway train`).
    #[arg(long, short, visible_alias = "bundle")]
    model: PathBuf,
    /// Rows to explain (.csv, .tsv, .parquet, .jsonl); needs the model's input columns, the
    /// label is not needed.
    #[arg(long, short, visible_alias = "data")]
    input: PathBuf,
    /// Explain only the first N rows.
    #[arg(long, value_name = "N")]
    rows: Option<usize>,
    /// Write every row's base value and contributions here (.csv, .parquet or .jsonl).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Contributions per encoded feature (one-hot indicator, TF-IDF term, datetime part)
    /// instead of per input column.
    #[arg(long)]
    per_encoded: bool,
    /// Interventional SHAP values against a background sample from this file (as
    /// `shap.TreeExplainer(model, data=background, feature_perturbation="interventional")`)
    /// instead of path-dependent ones.
    #[arg(long, value_name = "FILE")]
    background: Option<PathBuf>,
    /// Most background rows used (evenly spaced through the file).
    #[arg(long, value_name = "N", default_value_t = 100)]
    background_rows: usize,
    /// Columns shown per output in the terminal.
    #[arg(long, default_value_t = 10)]
    top: usize,
}

pub(crate) fn run(engine: &Engine, a: ExplainArgs, json: bool) -> anyhow::Result<ExitCode> {
    let opts = ExplainOptions {
        rows: a.rows,
        output: a.output,
        per_encoded: a.per_encoded,
        background: a.background,
        background_rows: a.background_rows,
    };
    let out = engine.explain(&a.model, &a.input, &opts)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    let what = if out.view == "columns" {
        "column"
    } else {
        "feature"
    };
    println!(
        "{} {} rows explained with {} ({}, {}); SHAP values in {} space",
        style("✓").green().bold(),
        out.rows,
        out.model,
        out.model_type,
        out.method,
        out.space
    );
    for o in &out.outputs {
        println!();
        println!(
            "{}  base value {:.6}",
            style(&o.output).bold(),
            o.base_value
        );
        let shown: Vec<_> = o.importance.iter().take(a.top).collect();
        let width = shown
            .iter()
            .map(|i| i.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(what.len());
        let top = shown.first().map_or(0.0, |i| i.mean_abs);
        println!(
            "  {:<width$}  {:>12}  {:>12}",
            what, "mean |SHAP|", "mean SHAP"
        );
        for i in shown {
            let bar = if top > 0.0 {
                "█".repeat(((i.mean_abs / top) * 20.0).round() as usize)
            } else {
                String::new()
            };
            println!(
                "  {:<width$}  {:>12.6}  {:>+12.6}  {}",
                i.name,
                i.mean_abs,
                i.mean,
                style(bar).cyan()
            );
        }
        if o.importance.len() > a.top {
            println!(
                "  ({} more; --top N shows more, --json all)",
                o.importance.len() - a.top
            );
        }
    }
    if let Some(p) = &out.output {
        println!();
        println!(
            "{} contributions per row written to {}",
            style("✓").green().bold(),
            p.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
