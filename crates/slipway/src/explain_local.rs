//! `slipway explain --interactions` and `slipway explain --method lime`: the text and JSON
//! output.

use std::path::Path;
use std::process::ExitCode;

use console::style;
use slipway_engine::{Engine, InteractionOptions, InteractionOutcome, LimeOutcome, LimeRunOptions};

pub(crate) fn interactions(
    engine: &Engine,
    model: &Path,
    input: &Path,
    opts: &InteractionOptions,
    top: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let out = engine.explain_interactions(model, input, opts)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_interactions(&out, top);
    }
    Ok(ExitCode::SUCCESS)
}

fn bar(v: f64, top: f64) -> String {
    if top > 0.0 {
        "█".repeat(((v / top) * 20.0).round() as usize)
    } else {
        String::new()
    }
}

fn print_interactions(out: &InteractionOutcome, top: usize) {
    let what = if out.view == "columns" {
        "column"
    } else {
        "feature"
    };
    println!(
        "{} {} rows explained with {} ({}, {}); in {} space",
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
        let pairs: Vec<_> = o.pairs.iter().take(top).collect();
        let label = |a: &str, b: &str| format!("{a} × {b}");
        let width = pairs
            .iter()
            .map(|p| label(&p.a, &p.b).chars().count())
            .chain(o.main_effects.iter().take(top).map(|p| p.a.chars().count()))
            .max()
            .unwrap_or(0)
            .max(what.len() + 6);
        let t = pairs.first().map_or(0.0, |p| p.mean_abs);
        println!("  {:<width$}  {:>14}", format!("{what} pair"), "mean |Φ|·2");
        for p in &pairs {
            println!(
                "  {:<width$}  {:>14.6}  {}",
                label(&p.a, &p.b),
                p.mean_abs,
                style(bar(p.mean_abs, t)).cyan()
            );
        }
        if o.pairs.len() > top {
            println!(
                "  ({} more pairs; --top N shows more, --json all)",
                o.pairs.len() - top
            );
        }
        println!();
        let mains: Vec<_> = o.main_effects.iter().take(top).collect();
        let t = mains.first().map_or(0.0, |p| p.mean_abs);
        println!("  {:<width$}  {:>14}", "main effect", "mean |Φ_ii|");
        for p in mains {
            println!(
                "  {:<width$}  {:>14.6}  {}",
                p.a,
                p.mean_abs,
                style(bar(p.mean_abs, t)).cyan()
            );
        }
    }
    if let Some(p) = &out.output {
        println!();
        println!(
            "{} interaction values written to {} (long format: row, {}feature_i, feature_j, value)",
            style("✓").green().bold(),
            p.display(),
            if out.outputs.len() > 1 {
                "output, "
            } else {
                ""
            }
        );
    }
}

pub(crate) fn lime(
    engine: &Engine,
    model: &Path,
    input: &Path,
    opts: &LimeRunOptions,
    top: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let out = engine.explain_lime(model, input, opts)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_lime(&out, top);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_lime(out: &LimeOutcome, top: usize) {
    println!(
        "{} {} rows explained with {} ({}, {}); {} training rows; {} space",
        style("✓").green().bold(),
        out.rows,
        out.model,
        out.model_type,
        out.method,
        out.training_rows,
        out.space
    );
    for o in &out.outputs {
        println!();
        println!(
            "{}  mean local fidelity (weighted R²) {:.4}",
            style(&o.output).bold(),
            o.mean_score
        );
        if let Some(r) = &o.first_row {
            println!(
                "  row 0: model {:.6}, LIME {:.6} (intercept {:.6}, score {:.4})",
                r.prediction, r.local_pred, r.intercept, r.score
            );
            let width = r
                .weights
                .iter()
                .map(|w| w.condition.chars().count())
                .max()
                .unwrap_or(0)
                .max(9);
            for w in &r.weights {
                println!("    {:<width$}  {:>+10.6}", w.condition, w.weight);
            }
        }
        let shown: Vec<_> = o.importance.iter().take(top).collect();
        let width = shown
            .iter()
            .map(|i| i.column.chars().count())
            .max()
            .unwrap_or(0)
            .max(6);
        let t = shown.first().map_or(0.0, |i| i.mean_abs);
        println!();
        println!(
            "  {:<width$}  {:>12}  {:>9}",
            "column", "mean |w|", "selected"
        );
        for i in shown {
            println!(
                "  {:<width$}  {:>12.6}  {:>8.0}%  {}",
                i.column,
                i.mean_abs,
                i.selected * 100.0,
                style(bar(i.mean_abs, t)).cyan()
            );
        }
    }
    if let Some(p) = &out.output {
        println!();
        println!(
            "{} explanations written to {} (a line per row: prediction, local_pred, intercept, score, lime:<column>, condition:<column>)",
            style("✓").green().bold(),
            p.display()
        );
    }
}
