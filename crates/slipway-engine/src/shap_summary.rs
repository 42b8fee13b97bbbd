//! The training report's explanation: exact SHAP values of up to [`MAX_ROWS`] held-out rows
//! (TreeSHAP for tree models, linear SHAP for linear ones), summed to input columns, as a
//! ranking by mean |SHAP|, a summary (beeswarm) plot and one row's waterfall.

use serde::{Deserialize, Serialize};
use slipway_data::Table;
use slipway_data::html::{self, ChartOptions, SwarmRow};
use slipway_explain::PipelineExplainer;
use slipway_learn::pipeline::FittedPipeline;

/// Most held-out rows explained (evenly spaced through them).
pub const MAX_ROWS: usize = 1000;

/// Columns drawn in the summary plot and the waterfall.
const SHOWN: usize = 12;

/// Background rows for linear SHAP (the feature means, as `shap.LinearExplainer`).
const BACKGROUND_ROWS: usize = 1000;

/// One input column's share of the explanation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ColumnShap {
    /// The input column.
    pub name: String,
    /// Mean |SHAP value| over the rows explained (summed over classes for multiclass).
    pub mean_abs: f64,
    /// Per explained row: the contribution and the row's value of the column scaled to
    /// [0, 1] (`None` for categories and missing values); single-output models only, and
    /// only in memory (the report's plot).
    #[serde(skip)]
    pub points: Vec<(f64, Option<f64>)>,
}

/// What the training report shows about why the model predicts what it does.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShapSummary {
    /// The explainer.
    pub method: String,
    /// The output explained (`log-odds of 1`, the target, or `all classes`).
    pub output: String,
    /// Held-out rows explained.
    pub rows: usize,
    /// The base value (expected score) of that output; for multiclass, of the example
    /// row's predicted class.
    pub base_value: f64,
    /// Every input column, by decreasing mean |SHAP|.
    pub columns: Vec<ColumnShap>,
    /// The first held-out row: its explained output and each column's contribution, the
    /// largest first.
    pub example_output: String,
    /// The example row's contributions by column, largest |value| first.
    pub example: Vec<(String, f64)>,
}

/// Explains up to [`MAX_ROWS`] rows of `test`; `Err` says why the model is not explained
/// (a family without an exact explainer), which is a note in the run, not a failure.
pub fn summarize(
    pipeline: &FittedPipeline,
    train: &Table,
    test: &Table,
) -> Result<Option<ShapSummary>, String> {
    let n = test.n_rows();
    if n == 0 {
        return Ok(None);
    }
    let mut explainer = PipelineExplainer::new(pipeline).map_err(|e| e.to_string())?;
    if explainer.method().starts_with("linear") {
        explainer
            .set_background(pipeline, train, BACKGROUND_ROWS)
            .map_err(|e| e.to_string())?;
    }
    let take: Vec<usize> = if n <= MAX_ROWS {
        (0..n).collect()
    } else {
        (0..MAX_ROWS).map(|i| i * n / MAX_ROWS).collect()
    };
    let rows = test.take(&take).map_err(|e| e.to_string())?;
    let e = explainer
        .explain(pipeline, &rows)
        .map_err(|e| e.to_string())?;
    let names = explainer.columns().to_vec();
    let k = e.n_outputs;
    let mut mean_abs = vec![0.0; names.len()];
    for r in 0..e.n_rows {
        for c in 0..k {
            for (m, v) in mean_abs.iter_mut().zip(e.columns(r, c)) {
                *m += v.abs();
            }
        }
    }
    mean_abs.iter_mut().for_each(|m| *m /= e.n_rows as f64);
    let mut columns: Vec<ColumnShap> = names
        .iter()
        .zip(&mean_abs)
        .enumerate()
        .map(|(j, (name, &m))| ColumnShap {
            name: name.clone(),
            mean_abs: m,
            points: if k == 1 {
                let scaled = scaled_values(&rows, name);
                (0..e.n_rows)
                    .map(|r| (e.columns(r, 0)[j], scaled.get(r).copied().flatten()))
                    .collect()
            } else {
                Vec::new()
            },
        })
        .collect();
    columns.sort_by(|a, b| b.mean_abs.total_cmp(&a.mean_abs).then(a.name.cmp(&b.name)));
    // The example row's output: the only one, or its highest-scoring class.
    let out = (0..k)
        .max_by(|&a, &b| e.score(0, a).total_cmp(&e.score(0, b)))
        .unwrap_or(0);
    let mut example: Vec<(String, f64)> = names
        .iter()
        .cloned()
        .zip(e.columns(0, out).iter().copied())
        .collect();
    example.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    let outputs = explainer.outputs();
    Ok(Some(ShapSummary {
        method: explainer.method().to_string(),
        output: if k == 1 {
            outputs[0].clone()
        } else {
            "all classes (sum of |SHAP| over classes)".into()
        },
        rows: e.n_rows,
        base_value: e.base[out],
        columns,
        example_output: outputs[out].clone(),
        example,
    }))
}

/// A numeric column's values scaled to [0, 1] for colouring, as shap's summary plot does:
/// between the 5th and 95th percentiles (the 1st and 99th when those are equal, then the
/// range), clipped; `None` for other columns and missing values.
fn scaled_values(rows: &Table, name: &str) -> Vec<Option<f64>> {
    let Ok(values) = rows.numeric_values(name) else {
        return Vec::new();
    };
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return vec![None; values.len()];
    }
    sorted.sort_by(f64::total_cmp);
    // numpy's default (linear) percentile.
    let pct = |q: f64| {
        let at = q / 100.0 * (sorted.len() - 1) as f64;
        let (i, f) = (at.floor() as usize, at.fract());
        let next = sorted[(i + 1).min(sorted.len() - 1)];
        sorted[i] + (next - sorted[i]) * f
    };
    let (mut lo, mut hi) = (pct(5.0), pct(95.0));
    if hi <= lo {
        (lo, hi) = (pct(1.0), pct(99.0));
    }
    if hi <= lo {
        (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
    }
    values
        .iter()
        .map(|&v| {
            v.is_finite().then(|| {
                if hi > lo {
                    ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
                } else {
                    0.5
                }
            })
        })
        .collect()
}

/// The report section: ranking, summary plot and the example's waterfall.
pub fn section(s: &ShapSummary) -> String {
    let top: Vec<&ColumnShap> = s.columns.iter().take(SHOWN).collect();
    let mut body = format!(
        "<p>Exact SHAP values ({}) of {} held-out rows, summed to input columns; output: {}. \
         Each row's base value plus its contributions equals the model's raw score.</p>",
        html::escape(&s.method),
        s.rows,
        html::escape(&s.output)
    );
    body.push_str(&html::bar_chart(
        &top.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        &top.iter().map(|c| c.mean_abs).collect::<Vec<_>>(),
        &ChartOptions {
            title: format!("mean |SHAP| (top {} columns)", top.len()),
            x_label: "mean |SHAP value|".into(),
            ..ChartOptions::default()
        },
    ));
    if top.iter().any(|c| !c.points.is_empty()) {
        let rows: Vec<SwarmRow> = top
            .iter()
            .map(|c| SwarmRow {
                label: c.name.clone(),
                points: c.points.clone(),
            })
            .collect();
        body.push_str(&html::beeswarm(
            &rows,
            &ChartOptions {
                title: "SHAP summary: one dot per row".into(),
                x_label: format!("SHAP value ({})", s.output),
                width: 720,
                ..ChartOptions::default()
            },
        ));
    }
    let mut steps: Vec<(String, f64)> = s.example.iter().take(SHOWN).cloned().collect();
    if s.example.len() > SHOWN {
        let rest: f64 = s.example[SHOWN..].iter().map(|(_, v)| v).sum();
        steps.push((format!("{} other columns", s.example.len() - SHOWN), rest));
    }
    body.push_str(&html::waterfall(
        s.base_value,
        &steps,
        &ChartOptions {
            title: format!("the first held-out row ({})", s.example_output),
            x_label: "raw score".into(),
            width: 720,
            ..ChartOptions::default()
        },
    ));
    body
}
