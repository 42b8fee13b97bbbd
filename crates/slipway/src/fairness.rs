//! `slipway fairness`: scores a file with a bundle (or reads a predictions file) and reports
//! the fairness metrics of `slipway_govern::fairness` by protected group.
//!
//! The file is streamed: read (and, with a bundle, scored by `Engine::predict_each`) a
//! batch of `--batch-rows` at a time, each batch pushed into a
//! [`FairnessAccumulator`] per positive class, so memory holds counts and a few batches,
//! never the file. A CSV file is read more than once: to type the columns used as a
//! whole-file read would, and, when the positive class must come from the label's values,
//! to list them.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
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
    AttributeReport, Batch, Estimate, FairnessAccumulator, FairnessOptions, FairnessReport,
    Thresholds,
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
    /// Rows read, scored and counted at a time: memory holds a few batches, never the
    /// file; the report does not depend on it.
    #[arg(long, default_value_t = slipway_engine::DEFAULT_CHUNK_ROWS)]
    batch_rows: usize,
    /// Write a self-contained HTML report here.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Exit with status 3 when a check fails (the report is still printed and written).
    #[arg(long)]
    fail_on_violation: bool,
}

/// What a pass over the rows has gathered: one accumulator per positive class, the
/// distinct labels and predictions (for the unseen-prediction note), and each class's score
/// column.
struct Stream {
    accs: Vec<FairnessAccumulator>,
    labels: BTreeSet<String>,
    predicted: BTreeSet<String>,
    score_cols: Vec<Option<String>>,
}

/// The report of one positive class (one of several with --one-vs-rest).
struct ClassReport {
    positive: String,
    report: FairnessReport,
    notes: Vec<String>,
}

/// An error naming column `name` of `role` when `columns` (the file's) lack it.
fn require(columns: &[String], name: &str, role: &str, file: &Path) -> anyhow::Result<()> {
    if !columns.iter().any(|c| c == name) {
        bail!(
            "{role} column \"{name}\" is not in {} (columns: {})",
            file.display(),
            columns.join(", ")
        );
    }
    Ok(())
}

/// Rendered values of column `name` of a chunk (missing as `None`).
fn column(table: &Table, name: &str) -> anyhow::Result<Vec<Option<String>>> {
    (0..table.n_rows())
        .map(|r| Ok(table.display_value(name, r)?))
        .collect()
}

/// The label of every row of a chunk (`first`: the chunk's first row in the file), or an
/// error naming the first row without one.
fn labels_of(table: &Table, col: &str, first: u64, file: &Path) -> anyhow::Result<Vec<String>> {
    column(table, col)?
        .into_iter()
        .enumerate()
        .map(|(i, l)| match l {
            Some(l) => Ok(l),
            None => bail!(
                "label column \"{col}\" is missing on row {} of {}: every row needs a true outcome",
                first + i as u64 + 1,
                file.display()
            ),
        })
        .collect()
}

/// The distinct labels of the file, read a chunk at a time (the label column only).
fn distinct_labels(
    file: &Path,
    read: &ReadOptions,
    col: &str,
    batch: usize,
) -> anyhow::Result<BTreeSet<String>> {
    let mut chunks = ingest::read_chunks(file, read, Some(&[col.to_string()]), batch)?;
    let (mut out, mut at) = (BTreeSet::new(), 0u64);
    while let Some(t) = chunks.next_chunk()? {
        out.extend(labels_of(&t, col, at, file)?);
        at += t.n_rows() as u64;
    }
    Ok(out)
}

/// The positive class from `--positive-class` or the label's values.
fn positive_class(distinct: &BTreeSet<String>, col: &str) -> anyhow::Result<String> {
    if distinct.len() != 2 {
        let shown: Vec<&str> = distinct.iter().take(10).map(String::as_str).collect();
        bail!(
            "label column \"{col}\" has {} distinct value(s) ({}{}): a binary label is needed; name the positive class with --positive-class (the others are read as negative), or ask for --one-vs-rest",
            distinct.len(),
            shown.join(", "),
            if distinct.len() > 10 { ", ..." } else { "" }
        );
    }
    let v: Vec<&str> = distinct.iter().map(String::as_str).collect();
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

pub(crate) fn run(engine: &Engine, a: FairnessArgs, json: bool) -> anyhow::Result<ExitCode> {
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
    if a.batch_rows == 0 {
        bail!("--batch-rows must be at least 1");
    }
    // The header (CSV), the metadata (Parquet): which columns there are.
    let mut first_rows = ingest::read_chunks(&file, &ReadOptions::default(), None, 1)?;
    let header = first_rows.columns().to_vec();
    if first_rows.next_chunk()?.is_none() {
        bail!("{} has no rows", file.display());
    }
    drop(first_rows);
    for p in &a.protected {
        require(&header, p, "protected", &file)?;
    }
    require(&header, &label_col, "label", &file)?;
    if a.bundle.is_none() {
        require(&header, &a.prediction, "prediction", &file)?;
    }
    // Columns read as a whole-file read types them (one pass for a CSV file), so that every
    // chunk renders a value alike.
    let mut wanted: Vec<String> = a.protected.clone();
    wanted.push(label_col.clone());
    if a.bundle.is_none() {
        wanted.push(a.prediction.clone());
        wanted.extend(
            header
                .iter()
                .filter(|c| c.starts_with("probability_") || **c == a.score)
                .cloned(),
        );
    }
    let mut seen = BTreeSet::new();
    wanted.retain(|c| seen.insert(c.clone()));
    let mut read = ReadOptions::default();
    read.types = ingest::infer_types(&file, &read, &wanted)?;
    // The positive class(es): given, the bundle's, or from the label's values (one pass
    // over the label column).
    let positives: Vec<String> = match (&a.positive_class, bundle_positive) {
        (Some(p), _) => vec![p.clone()],
        _ if a.one_vs_rest => distinct_labels(&file, &read, &label_col, a.batch_rows)?
            .into_iter()
            .collect(),
        (None, Some(p)) => vec![p],
        (None, None) => {
            let distinct = distinct_labels(&file, &read, &label_col, a.batch_rows)?;
            if distinct.is_empty() {
                bail!("{} has no rows", file.display());
            }
            vec![positive_class(&distinct, &label_col)?]
        }
    };
    if positives.is_empty() {
        bail!("{} has no rows", file.display());
    }
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
    let columns: Vec<&str> = a.protected.iter().map(String::as_str).collect();
    let pred_col = if a.bundle.is_some() {
        "prediction"
    } else {
        a.prediction.as_str()
    };
    let fresh = || -> anyhow::Result<Stream> {
        Ok(Stream {
            accs: positives
                .iter()
                .map(|_| FairnessAccumulator::new(&columns, &opts))
                .collect::<Result<_, _>>()?,
            labels: BTreeSet::new(),
            predicted: BTreeSet::new(),
            score_cols: Vec::new(),
        })
    };
    let mut stream = fresh()?;
    let mut failed: Option<anyhow::Error> = None;
    // One chunk: its labels, predictions, scores and protected values, pushed into every
    // class's accumulator.
    let push = |stream: &mut Stream, first: u64, t: &Table| -> anyhow::Result<()> {
        if first == 0 {
            // A pass (re)starts: nothing before counts.
            *stream = fresh()?;
            stream.score_cols = positives
                .iter()
                .map(|class| {
                    let prob = format!("probability_{class}");
                    if t.schema().field(&prob).is_some() {
                        Some(prob)
                    } else if a.bundle.is_none()
                        && !a.one_vs_rest
                        && t.schema().field(&a.score).is_some()
                    {
                        Some(a.score.clone())
                    } else {
                        None
                    }
                })
                .collect();
        }
        let labels = labels_of(t, &label_col, first, &file)?;
        let mut preds = Vec::with_capacity(labels.len());
        for (i, p) in column(t, pred_col)?.into_iter().enumerate() {
            match p {
                Some(p) => preds.push(p),
                None => bail!("prediction is missing on row {}", first + i as u64 + 1),
            }
        }
        let mut prot = Vec::with_capacity(a.protected.len());
        for p in &a.protected {
            prot.push(column(t, p)?);
        }
        let prot: Vec<&[Option<String>]> = prot.iter().map(Vec::as_slice).collect();
        for (k, positive) in positives.iter().enumerate() {
            let scores = match &stream.score_cols[k] {
                Some(name) => {
                    let s = t
                        .numeric_values(name)
                        .with_context(|| format!("score column \"{name}\" must be numeric"))?;
                    if let Some(i) = s.iter().position(|v| !v.is_finite()) {
                        bail!(
                            "score column \"{name}\" is missing or not finite on row {}",
                            first + i as u64 + 1
                        );
                    }
                    Some(s)
                }
                None => None,
            };
            let y_true: Vec<bool> = labels.iter().map(|l| l == positive).collect();
            let y_pred: Vec<bool> = preds.iter().map(|p| p == positive).collect();
            stream.accs[k].push(&Batch {
                offset: first,
                y_true: &y_true,
                y_pred: &y_pred,
                scores: scores.as_deref(),
                protected: &prot,
            })?;
        }
        stream.labels.extend(labels);
        stream.predicted.extend(preds);
        Ok(())
    };
    let source = if let Some(bundle) = &a.bundle {
        let mut keep = vec![label_col.clone()];
        keep.extend(a.protected.iter().cloned());
        let popts = PredictOptions {
            keep,
            chunk_rows: a.batch_rows,
        };
        let outcome = engine.predict_each(bundle, &file, &popts, &mut |first, t| match push(
            &mut stream,
            first,
            &t,
        ) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failed = Some(e);
                ControlFlow::Break(())
            }
        });
        if let Some(e) = failed.take() {
            return Err(e);
        }
        format!("model {}", outcome?.model)
    } else {
        let mut chunks = ingest::read_chunks(&file, &read, Some(&wanted), a.batch_rows)?;
        let mut at = 0u64;
        while let Some(t) = chunks.next_chunk()? {
            push(&mut stream, at, &t)?;
            at += t.n_rows() as u64;
        }
        format!("predictions {}", file.display())
    };
    if stream.accs[0].rows() == 0 {
        bail!("{} has no rows", file.display());
    }
    if let Some(p) = &a.positive_class
        && !stream.labels.contains(p)
    {
        bail!("--positive-class \"{p}\" never occurs in label column \"{label_col}\"");
    }
    let unseen: Vec<&str> = stream
        .predicted
        .iter()
        .filter(|p| !stream.labels.contains(*p))
        .map(String::as_str)
        .collect();
    let mut results = Vec::new();
    for ((positive, acc), score_col) in positives.iter().zip(stream.accs).zip(&stream.score_cols) {
        let report = acc.finish()?;
        let mut notes = Vec::new();
        if !unseen.is_empty() {
            notes.push(format!(
                "predicted value(s) never seen in the label column, read as negative: {}",
                unseen.join(", ")
            ));
        }
        if score_col.is_none() {
            notes.push("no score column: ROC AUC is not computed".into());
        }
        results.push(ClassReport {
            positive: positive.clone(),
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
