//! `slipway explain`: SHAP values of a file's rows under a model bundle; `explain pdp`
//! (partial dependence and ICE) and `explain importance` (permutation importance) for any
//! model.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use console::style;
use slipway_engine::{
    Engine, ExplainOptions, ImportanceOptions, ImportanceOutcome, PdpOptions, PdpOutcome,
    ShapMethod,
};

use crate::explain_local;

/// `slipway explain [pdp | importance]`: SHAP values without a subcommand.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct ExplainCommand {
    #[command(subcommand)]
    sub: Option<ExplainSub>,
    #[command(flatten)]
    shap: ExplainArgs,
}

#[derive(Subcommand)]
enum ExplainSub {
    /// Partial dependence (and ICE curves) of the model's output on one or two input
    /// columns, as scikit-learn's partial_dependence(method="brute"); any model family.
    Pdp(PdpArgs),
    /// Permutation importance of every input column for a metric, with repeats, as
    /// scikit-learn's permutation_importance; any model family; needs the label.
    Importance(ImportanceArgs),
}

/// How SHAP values are computed.
#[derive(Clone, Copy, ValueEnum)]
enum MethodArg {
    /// TreeSHAP for tree models, linear SHAP for linear and logistic ones.
    Auto,
    /// Exact Shapley values over the input columns of any model (at most 12), against
    /// --background (as shap.explainers.Exact with an independent masker).
    Exact,
    /// Sampled KernelSHAP over the input columns of any model, against --background:
    /// seeded (--seed), --samples coalition pairs, with a standard error per value.
    Kernel,
    /// LIME (the lime package's LimeTabularExplainer) for any model: local weights of
    /// quartile-binned conditions, with training statistics from --background (the training
    /// data); --num-samples, --num-features, --seed.
    Lime,
}

#[derive(Args)]
pub(crate) struct ExplainArgs {
    /// The model bundle directory (`<output>/model` after `slipway train`).
    #[arg(long, short, visible_alias = "bundle", required = true)]
    model: Option<PathBuf>,
    /// Rows to explain (.csv, .tsv, .parquet, .jsonl); needs the model's input columns, the
    /// label is not needed.
    #[arg(long, short, visible_alias = "data", required = true)]
    input: Option<PathBuf>,
    /// How values are computed: `auto` (TreeSHAP / linear SHAP), `exact` (any model, at
    /// most 12 input columns, needs --background), `kernel` (any model, sampled, needs
    /// --background) or `lime` (any model, LIME, --background is the training data).
    #[arg(long, value_enum, default_value = "auto")]
    method: MethodArg,
    /// `--method kernel`: coalition pairs sampled (each coalition with its complement).
    #[arg(long, value_name = "N", default_value_t = 1024)]
    samples: usize,
    /// `--method kernel`: the seed of the sampled coalitions; `--method lime`: of the samples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// SHAP interaction values of tree models (path-dependent, as
    /// shap.TreeExplainer(model).shap_interaction_values); --output writes them in long
    /// format: row, [output,] feature_i, feature_j, value.
    #[arg(long, conflicts_with_all = ["background", "samples"])]
    interactions: bool,
    /// `--method lime`: samples drawn around each row (the row itself included).
    #[arg(long, value_name = "N", default_value_t = 5000)]
    num_samples: usize,
    /// `--method lime`: conditions per explanation (at most 6: forward selection, more:
    /// highest weights).
    #[arg(long, value_name = "K", default_value_t = 10)]
    num_features: usize,
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

#[derive(Args)]
struct PdpArgs {
    /// The model bundle directory.
    #[arg(long, short, visible_alias = "bundle")]
    model: PathBuf,
    /// Rows averaged over (.csv, .tsv, .parquet, .jsonl): the model's input columns.
    #[arg(long, short, visible_alias = "data")]
    input: PathBuf,
    /// The input column varied.
    #[arg(long, value_name = "COLUMN")]
    feature: String,
    /// A second column, for two-way partial dependence.
    #[arg(long, value_name = "COLUMN")]
    feature2: Option<String>,
    /// Points of a numeric column's grid (fewer distinct values: those values).
    #[arg(long, value_name = "N", default_value_t = 100)]
    grid_resolution: usize,
    /// The percentiles a numeric grid spans, as two fractions.
    #[arg(long, value_name = "LO,HI", value_delimiter = ',', num_args = 2, default_values_t = [0.05, 0.95])]
    percentiles: Vec<f64>,
    /// Keep every row's curve (ICE) in the JSON and draw some in the HTML report.
    #[arg(long)]
    ice: bool,
    /// Use only the first N rows.
    #[arg(long, value_name = "N")]
    rows: Option<usize>,
    /// Write the result: .json or .html (a self-contained report).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(Args)]
struct ImportanceArgs {
    /// The model bundle directory.
    #[arg(long, short, visible_alias = "bundle")]
    model: PathBuf,
    /// Labelled rows (.csv, .tsv, .parquet, .jsonl): the model's input columns and the label.
    #[arg(long, short, visible_alias = "data")]
    input: PathBuf,
    /// The metric (accuracy for classifiers and r2 for regressors by default): for losses
    /// (log_loss, rmse, ...) the importance is the increase of the loss.
    #[arg(long)]
    metric: Option<slipway_learn::metrics::Metric>,
    /// Shuffles per column.
    #[arg(long, value_name = "N", default_value_t = 5)]
    repeats: usize,
    /// Seed of the shuffles.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The label column (default: the model's target).
    #[arg(long, value_name = "COLUMN")]
    label: Option<String>,
    /// Permute only these input columns (comma-separated; default: all of them).
    #[arg(long, value_name = "COL,...", value_delimiter = ',')]
    columns: Vec<String>,
    /// Use only the first N rows.
    #[arg(long, value_name = "N")]
    rows: Option<usize>,
    /// Write the result: .json or .html (a self-contained report).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub(crate) fn run(engine: &Engine, c: ExplainCommand, json: bool) -> anyhow::Result<ExitCode> {
    match c.sub {
        Some(ExplainSub::Pdp(a)) => pdp(engine, a, json),
        Some(ExplainSub::Importance(a)) => importance(engine, a, json),
        None => shap(engine, c.shap, json),
    }
}

fn shap(engine: &Engine, a: ExplainArgs, json: bool) -> anyhow::Result<ExitCode> {
    let (Some(model), Some(input)) = (a.model.clone(), a.input.clone()) else {
        anyhow::bail!("--model and --input are required");
    };
    if a.interactions {
        if !matches!(a.method, MethodArg::Auto) {
            anyhow::bail!(
                "--interactions computes path-dependent SHAP interaction values of tree models; drop --method"
            );
        }
        return explain_local::interactions(engine, &model, &input, &(&a).into(), a.top, json);
    }
    if let MethodArg::Lime = a.method {
        let Some(train) = a.background.clone() else {
            anyhow::bail!(
                "--method lime draws its samples from training statistics (quartiles, frequencies): give the training data (--background FILE)"
            );
        };
        let opts = slipway_engine::LimeRunOptions {
            train,
            rows: a.rows,
            output: a.output.clone(),
            lime: slipway_engine::LimeOptions {
                num_samples: a.num_samples,
                num_features: a.num_features,
                seed: a.seed,
            },
        };
        return explain_local::lime(engine, &model, &input, &opts, a.top, json);
    }
    let opts = ExplainOptions {
        rows: a.rows,
        output: a.output,
        per_encoded: a.per_encoded,
        background: a.background,
        background_rows: a.background_rows,
        method: match a.method {
            MethodArg::Auto => ShapMethod::Auto,
            MethodArg::Exact => ShapMethod::Exact,
            MethodArg::Kernel => ShapMethod::Kernel,
            MethodArg::Lime => unreachable!("LIME is run above"),
        },
        samples: a.samples,
        seed: a.seed,
    };
    let out = engine.explain(&model, &input, &opts)?;
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
    if let Some(se) = out.max_standard_error {
        println!(
            "  sampled: the largest standard error of any value is {se:.6} (more --samples lower it)"
        );
    }
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

impl From<&ExplainArgs> for slipway_engine::InteractionOptions {
    fn from(a: &ExplainArgs) -> Self {
        slipway_engine::InteractionOptions {
            rows: a.rows,
            output: a.output.clone(),
            per_encoded: a.per_encoded,
        }
    }
}

fn pdp(engine: &Engine, a: PdpArgs, json: bool) -> anyhow::Result<ExitCode> {
    let mut features = vec![a.feature];
    features.extend(a.feature2);
    let opts = PdpOptions {
        features,
        grid_resolution: a.grid_resolution,
        percentiles: (a.percentiles[0], a.percentiles[1]),
        ice: a.ice,
        rows: a.rows,
        output: a.output,
    };
    let out = engine.partial_dependence(&a.model, &a.input, &opts)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_pdp(&out);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_pdp(out: &PdpOutcome) {
    let d = &out.dependence;
    println!(
        "{} partial dependence of {} ({}) on {} over {} rows, {} grid points",
        style("✓").green().bold(),
        out.model,
        out.model_type,
        d.features.join(" × "),
        d.rows,
        d.n_points()
    );
    for (c, name) in d.outputs.iter().enumerate() {
        let avg = &d.average[c];
        let (lo, hi) = avg
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        println!();
        println!(
            "{}  average {} from {lo:.6} to {hi:.6}",
            style(name).bold(),
            out.space
        );
        if d.grid.len() == 1 {
            // At most 12 points shown, evenly spaced; --json or --output has them all.
            let g = &d.grid[0];
            let step = g.len().div_ceil(12).max(1);
            // Every step-th point and the last one.
            let shown: Vec<usize> = (0..g.len())
                .filter(|q| q % step == 0 || *q + 1 == g.len())
                .collect();
            let width = shown
                .iter()
                .map(|&q| g[q].label().chars().count())
                .max()
                .unwrap_or(0)
                .max(d.features[0].len());
            println!("  {:<width$}  {:>12}", d.features[0], "average");
            for q in shown {
                let bar = if hi > lo {
                    "█".repeat(((avg[q] - lo) / (hi - lo) * 20.0).round() as usize)
                } else {
                    String::new()
                };
                println!(
                    "  {:<width$}  {:>12.6}  {}",
                    g[q].label(),
                    avg[q],
                    style(bar).cyan()
                );
            }
            if g.len() > 12 {
                println!(
                    "  ({} grid points; --json or --output has them all)",
                    g.len()
                );
            }
        }
    }
    if let Some(p) = &out.output {
        println!();
        println!("{} written to {}", style("✓").green().bold(), p.display());
    }
}

fn importance(engine: &Engine, a: ImportanceArgs, json: bool) -> anyhow::Result<ExitCode> {
    let opts = ImportanceOptions {
        metric: a.metric,
        repeats: a.repeats,
        seed: a.seed,
        label: a.label,
        columns: a.columns,
        rows: a.rows,
        output: a.output,
    };
    let out = engine.permutation_importance(&a.model, &a.input, &opts)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_importance(&out);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_importance(out: &ImportanceOutcome) {
    let imp = &out.importance;
    println!(
        "{} permutation importance of {} ({}) on {} rows: {} {:.6} as given, {} repeats, seed {}",
        style("✓").green().bold(),
        out.model,
        out.model_type,
        imp.rows,
        imp.metric,
        imp.baseline,
        imp.repeats,
        imp.seed
    );
    let width = imp
        .columns
        .iter()
        .map(|c| c.column.chars().count())
        .max()
        .unwrap_or(0)
        .max("column".len());
    let top = imp.columns.first().map_or(0.0, |c| c.mean);
    println!();
    println!("  {:<width$}  {:>12}  {:>12}", "column", "mean", "std");
    for c in &imp.columns {
        let bar = if top > 0.0 && c.mean > 0.0 {
            "█".repeat(((c.mean / top) * 20.0).round() as usize)
        } else {
            String::new()
        };
        println!(
            "  {:<width$}  {:>+12.6}  {:>12.6}  {}",
            c.column,
            c.mean,
            c.std,
            style(bar).cyan()
        );
    }
    if let Some(p) = &out.output {
        println!();
        println!("{} written to {}", style("✓").green().bold(), p.display());
    }
}
