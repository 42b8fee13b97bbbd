//! `slipway fairness`: scores a file with a bundle (or reads a predictions file) and reports
//! the fairness metrics of `slipway_govern::fairness` by protected group.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use console::style;
use slipway_data::Table;
use slipway_data::html::Page;
use slipway_data::ingest::{self, ReadOptions};
use slipway_engine::{Engine, PredictOptions};
use slipway_govern::fairness::{
    self, AttributeReport, Estimate, FairnessOptions, FairnessReport, Protected, Thresholds,
};

#[derive(Args)]
pub(crate) struct FairnessArgs {
    /// The model bundle that scores `--data` (`<output>/model` after `slipway train`).
    #[arg(
        long,
        conflicts_with = "predictions",
        required_unless_present = "predictions"
    )]
    bundle: Option<PathBuf>,
    /// The rows to score: the model's inputs, the label and the protected columns.
    #[arg(long, requires = "bundle")]
    data: Option<PathBuf>,
    /// Instead of a bundle: a file holding the label, a prediction and optionally a score
    /// column per row, with the protected columns (any model's output).
    #[arg(long)]
    predictions: Option<PathBuf>,
    /// The protected attribute columns (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', required = true)]
    protected: Vec<String>,
    /// Also analyse the intersection of all protected columns (`sex & race`).
    #[arg(long)]
    intersect: bool,
    /// The label column (default: the bundle's target; `label` with --predictions).
    #[arg(long)]
    label: Option<String>,
    /// The prediction column of a --predictions file.
    #[arg(long, default_value = "prediction")]
    prediction: String,
    /// The score column of a --predictions file (the positive class's probability; used
    /// when present, for ROC AUC).
    #[arg(long, default_value = "score")]
    score: String,
    /// The positive class (default: a binary bundle's positive class; otherwise the greater of
    /// the label's two values, numerically when both are numbers; required when the label
    /// has more than two values, which are then read one-vs-rest).
    #[arg(long)]
    positive_class: Option<String>,
    /// Multiclass: one report per label value, each class positive against the rest (scores
    /// from `probability_<class>` columns when present).
    #[arg(long, conflicts_with = "positive_class")]
    one_vs_rest: bool,
    /// Bootstrap resamples for the confidence intervals (0: none).
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// The bootstrap's seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Groups with fewer rows are flagged too small to judge.
    #[arg(long, default_value_t = 30)]
    min_group_size: usize,
    /// Largest demographic parity difference that passes.
    #[arg(long, default_value_t = 0.1)]
    max_dp_difference: f64,
    /// Smallest disparate impact ratio that passes (the four-fifths rule).
    #[arg(long, default_value_t = 0.8)]
    min_di_ratio: f64,
    /// Write a self-contained HTML report here.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Exit with status 3 when a check fails (the report is still printed and written).
    #[arg(long)]
    fail_on_violation: bool,
}

/// The report of one positive class (one of several with --one-vs-rest).
struct ClassReport {
    positive: String,
    report: FairnessReport,
    notes: Vec<String>,
}

/// Rendered values of column `name` (missing as `None`), or an error naming it.
fn column(
    table: &Table,
    name: &str,
    role: &str,
    file: &std::path::Path,
) -> anyhow::Result<Vec<Option<String>>> {
    if table.schema().field(name).is_none() {
        bail!(
            "{role} column \"{name}\" is not in {} (columns: {})",
            file.display(),
            table.schema().names().join(", ")
        );
    }
    (0..table.n_rows())
        .map(|r| Ok(table.display_value(name, r)?))
        .collect()
}

/// The positive class from `--positive-class` or the label's values.
fn positive_class(labels: &[String], given: Option<&str>, col: &str) -> anyhow::Result<String> {
    if let Some(p) = given {
        if !labels.iter().any(|l| l == p) {
            bail!("--positive-class \"{p}\" never occurs in label column \"{col}\"");
        }
        return Ok(p.to_string());
    }
    let distinct: BTreeSet<&str> = labels.iter().map(String::as_str).collect();
    if distinct.len() != 2 {
        let shown: Vec<&str> = distinct.iter().take(10).copied().collect();
        bail!(
            "label column \"{col}\" has {} distinct value(s) ({}{}): a binary label is needed; name the positive class with --positive-class (the others are read as negative), or ask for --one-vs-rest",
            distinct.len(),
            shown.join(", "),
            if distinct.len() > 10 { ", ..." } else { "" }
        );
    }
    let v: Vec<&str> = distinct.into_iter().collect();
    let greater = match (v[0].parse::<f64>(), v[1].parse::<f64>()) {
        (Ok(a), Ok(b)) if a > b => v[0],
        _ => v[1],
    };
    Ok(greater.to_string())
}

/// The target column of a classifier bundle (from its `manifest.json`) and, for a binary
/// one, its positive class (the second class: training moves a configured
/// `positive_class` there); an error for a bundle that is not a classifier.
fn bundle_target(bundle: &Path) -> anyhow::Result<(String, Option<String>)> {
    let path = bundle.join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{} is not a model bundle", bundle.display()))?;
    let m: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a bundle manifest", path.display()))?;
    let kind = m["target"]["task"]["kind"].as_str().unwrap_or("");
    if kind != "binary" && kind != "multiclass" {
        bail!(
            "bundle {} is not a classifier (task: {}): fairness metrics need class predictions",
            bundle.display(),
            if kind.is_empty() { "none" } else { kind }
        );
    }
    let positive = (kind == "binary")
        .then(|| m["target"]["classes"][1].as_str().map(str::to_string))
        .flatten();
    match m["target"]["name"].as_str() {
        Some(n) => Ok((n.to_string(), positive)),
        None => bail!("{} names no target column: pass --label", path.display()),
    }
}

/// A unique temporary path for the bundle's predictions.
fn temp_output() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "slipway-fairness-{}-{nanos}.csv",
        std::process::id()
    ))
}

pub(crate) fn run(engine: &Engine, a: FairnessArgs, json: bool) -> anyhow::Result<ExitCode> {
    let read = ReadOptions::default();
    let (file, label_col, bundle_positive) = match (&a.bundle, &a.predictions) {
        (Some(b), _) => {
            let Some(d) = &a.data else {
                bail!("--bundle needs --data: the rows to score");
            };
            let (target, positive) = bundle_target(b)?;
            (d.clone(), a.label.clone().unwrap_or(target), positive)
        }
        (None, Some(p)) => (
            p.clone(),
            a.label.clone().unwrap_or_else(|| "label".into()),
            None,
        ),
        (None, None) => bail!("give --bundle with --data, or --predictions"),
    };
    let table = ingest::read_table(&file, &read)?;
    if table.n_rows() == 0 {
        bail!("{} has no rows", file.display());
    }
    let mut protected_values = Vec::new();
    for p in &a.protected {
        protected_values.push(column(&table, p, "protected", &file)?);
    }
    let raw_labels = column(&table, &label_col, "label", &file)?;
    let mut labels = Vec::with_capacity(raw_labels.len());
    for (i, l) in raw_labels.into_iter().enumerate() {
        match l {
            Some(l) => labels.push(l),
            None => bail!(
                "label column \"{label_col}\" is missing on row {} of {}: every row needs a true outcome",
                i + 1,
                file.display()
            ),
        }
    }
    let positive = match (&a.positive_class, bundle_positive) {
        _ if a.one_vs_rest => String::new(),
        (None, Some(p)) => p,
        (given, _) => positive_class(&labels, given.as_deref(), &label_col)?,
    };
    // The predictions (and, for a bundle, its output with the class probabilities).
    let (preds, scored, source): (Vec<Option<String>>, Option<Table>, String) =
        if let Some(bundle) = &a.bundle {
            let tmp = temp_output();
            let scored = engine.predict(bundle, &file, &tmp, &PredictOptions::default());
            let out = scored.and_then(|o| {
                let t = ingest::read_table(&tmp, &read)?;
                Ok((o, t))
            });
            let _ = std::fs::remove_file(&tmp);
            let (outcome, t) = out?;
            if t.n_rows() != table.n_rows() {
                bail!(
                    "the bundle scored {} rows of {}",
                    t.n_rows(),
                    table.n_rows()
                );
            }
            let preds = column(&t, "prediction", "prediction", &tmp)?;
            (preds, Some(t), format!("model {}", outcome.model))
        } else {
            let preds = column(&table, &a.prediction, "prediction", &file)?;
            (preds, None, format!("predictions {}", file.display()))
        };
    let mut pred_values = Vec::with_capacity(preds.len());
    for (i, p) in preds.iter().enumerate() {
        match p {
            Some(p) => pred_values.push(p.as_str()),
            None => bail!("prediction is missing on row {}", i + 1),
        }
    }
    let label_set: BTreeSet<&str> = labels.iter().map(String::as_str).collect();
    let unseen: BTreeSet<&str> = pred_values
        .iter()
        .copied()
        .filter(|p| !label_set.contains(p))
        .collect();
    let positives: Vec<String> = if a.one_vs_rest {
        label_set.iter().map(|c| c.to_string()).collect()
    } else {
        vec![positive]
    };
    // A class's scores: the `probability_<class>` column (a bundle's output, or a predictions
    // file written by `slipway predict`), else a predictions file's --score column for the
    // one positive class.
    let score_table = scored.as_ref().unwrap_or(&table);
    let scores_of = |class: &str| -> anyhow::Result<Option<Vec<f64>>> {
        let prob = format!("probability_{class}");
        let name = if score_table.schema().field(&prob).is_some() {
            prob
        } else if scored.is_none() && !a.one_vs_rest && table.schema().field(&a.score).is_some() {
            a.score.clone()
        } else {
            return Ok(None);
        };
        let s = score_table
            .numeric_values(&name)
            .with_context(|| format!("score column \"{name}\" must be numeric"))?;
        if let Some(i) = s.iter().position(|v| !v.is_finite()) {
            bail!(
                "score column \"{name}\" is missing or not finite on row {}",
                i + 1
            );
        }
        Ok(Some(s))
    };
    let opts = FairnessOptions {
        min_group_size: a.min_group_size,
        bootstrap: a.bootstrap,
        seed: a.seed,
        intersect: a.intersect,
        thresholds: Thresholds {
            max_demographic_parity_difference: a.max_dp_difference,
            min_disparate_impact_ratio: a.min_di_ratio,
        },
        ..FairnessOptions::default()
    };
    let prot: Vec<Protected<'_>> = a
        .protected
        .iter()
        .zip(&protected_values)
        .map(|(name, values)| Protected { name, values })
        .collect();
    let mut results = Vec::new();
    for positive in positives {
        let y_true: Vec<bool> = labels.iter().map(|l| *l == positive).collect();
        let y_pred: Vec<bool> = pred_values.iter().map(|p| *p == positive).collect();
        let scores = scores_of(&positive)?;
        let report = fairness::evaluate(&y_true, &y_pred, scores.as_deref(), &prot, &opts)?;
        let mut notes = Vec::new();
        if !unseen.is_empty() {
            notes.push(format!(
                "predicted value(s) never seen in the label column, read as negative: {}",
                unseen.iter().copied().collect::<Vec<_>>().join(", ")
            ));
        }
        if scores.is_none() {
            notes.push("no score column: ROC AUC is not computed".into());
        }
        results.push(ClassReport {
            positive,
            report,
            notes,
        });
    }
    if let Some(path) = &a.output {
        std::fs::write(path, render_html(&results, &source))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if json {
        let mut out = Vec::new();
        for r in &results {
            let mut v = serde_json::to_value(&r.report)?;
            v["source"] = source.clone().into();
            v["label"] = label_col.clone().into();
            v["positive_class"] = r.positive.clone().into();
            v["notes"] = r.notes.clone().into();
            out.push(v);
        }
        let v = if a.one_vs_rest {
            serde_json::json!({
                "one_vs_rest": true,
                "source": source,
                "label": label_col,
                "passed": results.iter().all(|r| r.report.passed),
                "classes": out,
            })
        } else {
            out.remove(0)
        };
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for r in &results {
            if a.one_vs_rest {
                println!(
                    "\n{}",
                    style(format!("══ class \"{}\" vs the rest", r.positive)).bold()
                );
            }
            print_report(&r.report, &source, &label_col, &r.positive, &r.notes);
        }
        if let Some(path) = &a.output {
            println!("{} report → {}", style("✓").green().bold(), path.display());
        }
    }
    if a.fail_on_violation && !results.iter().all(|r| r.report.passed) {
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}

fn f(e: &Estimate) -> String {
    e.value.map_or("–".into(), |v| format!("{v:.3}"))
}

fn print_report(r: &FairnessReport, source: &str, label: &str, positive: &str, notes: &[String]) {
    println!(
        "{} rows, {source}, label \"{label}\", positive class \"{positive}\"{}",
        r.rows,
        if r.options.bootstrap > 0 {
            format!(
                ", {} bootstrap resamples (seed {}, 95 % intervals)",
                r.options.bootstrap, r.options.seed
            )
        } else {
            String::new()
        }
    );
    for n in notes {
        println!("{} {n}", style("note:").cyan());
    }
    for a in &r.attributes {
        print_attribute(a);
    }
    if r.passed {
        println!("\n{} every check passed", style("PASS").green().bold());
    } else {
        println!("\n{} some checks failed", style("FAIL").red().bold());
    }
}

fn print_attribute(a: &AttributeReport) {
    println!("\n{}", style(format!("by {}", a.attribute)).bold());
    let w = a
        .groups
        .iter()
        .map(|g| g.group.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "  {:<w$} {:>7} {:>9} {:>8} {:>6} {:>6} {:>9} {:>6} {:>5} {:>5} {:>5}",
        "group",
        "count",
        "selection",
        "accuracy",
        "TPR",
        "FPR",
        "precision",
        "AUC",
        "base",
        "score",
        "ECE"
    );
    for g in &a.groups {
        println!(
            "  {:<w$} {:>7} {:>9} {:>8} {:>6} {:>6} {:>9} {:>6} {:>5} {:>5} {:>5}{}",
            g.group,
            g.count,
            f(&g.selection_rate),
            f(&g.accuracy),
            f(&g.true_positive_rate),
            f(&g.false_positive_rate),
            f(&g.precision),
            f(&g.roc_auc),
            f(&g.base_rate),
            f(&g.mean_score),
            f(&g.calibration_error),
            if g.small {
                format!("  {}", style("small group").yellow())
            } else {
                String::new()
            }
        );
    }
    let s = &a.summary;
    for (name, e) in [
        (
            "demographic parity difference",
            &s.demographic_parity_difference,
        ),
        ("demographic parity ratio", &s.demographic_parity_ratio),
        ("equalized odds difference", &s.equalized_odds_difference),
        ("equalized odds ratio", &s.equalized_odds_ratio),
        (
            "equal opportunity difference",
            &s.equal_opportunity_difference,
        ),
        ("disparate impact ratio", &s.disparate_impact_ratio),
    ] {
        println!("  {name:<30} {}", slipway_engine::fairness::fci(e));
    }
    for c in &a.checks {
        let verdict = if c.passed {
            style("PASS").green().bold()
        } else {
            style("FAIL").red().bold()
        };
        println!(
            "  {verdict} {} = {} ({} {})",
            c.metric,
            c.value
                .map_or("not computable".into(), |v| format!("{v:.3}")),
            if c.bound == "max" { "≤" } else { "≥" },
            c.threshold
        );
    }
    for r in &a.recommendations {
        println!(
            "  {} {}: {}.\n      {}.",
            style("→").cyan().bold(),
            r.topic.replace('_', " "),
            r.finding,
            r.suggestion
        );
    }
}

fn render_html(results: &[ClassReport], source: &str) -> String {
    let mut page = Page::new("Slipway fairness report");
    let many = results.len() > 1;
    for c in results {
        let suffix = if many {
            format!(" (class {} vs the rest)", c.positive)
        } else {
            String::new()
        };
        slipway_engine::fairness::report_sections(
            &mut page,
            &c.report,
            source,
            &c.positive,
            &c.notes,
            &suffix,
            "Summary",
        );
    }
    page.render()
}
