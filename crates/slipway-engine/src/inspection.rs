//! `explain pdp` and `explain importance`: partial dependence / ICE and permutation
//! importance of a bundle's model on a file's rows, for every model family (they only ask
//! the pipeline to predict raw rows; see [`slipway_explain::pdp`] and
//! [`slipway_explain::permutation`]), with a JSON twin and a self-contained HTML report.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use slipway_data::html::{self, ChartOptions, Page, Series};
use slipway_explain::agnostic::{GridValue, ModelOutput};
use slipway_explain::pdp::PartialDependence;
use slipway_explain::permutation::PermutationImportance;
use slipway_learn::bundle;
use slipway_learn::metrics::Metric;

use crate::explain::read_inputs;
use crate::{Error, Result};

/// Most ICE curves drawn in the HTML report (evenly spaced rows; the JSON has them all).
const ICE_DRAWN: usize = 50;

/// What `explain pdp` computes.
#[derive(Debug, Clone)]
pub struct PdpOptions {
    /// One or two input columns.
    pub features: Vec<String>,
    /// Points per numeric column's grid.
    pub grid_resolution: usize,
    /// The percentiles a numeric grid spans.
    pub percentiles: (f64, f64),
    /// Keep every row's curve.
    pub ice: bool,
    /// Use only the first rows of the file.
    pub rows: Option<usize>,
    /// Write the result here: `.json` or `.html`.
    pub output: Option<PathBuf>,
}

/// What `explain pdp` found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PdpOutcome {
    /// The model's name.
    pub model: String,
    /// Its type.
    pub model_type: String,
    /// What the outputs are (`probability`, `prediction`).
    pub space: String,
    /// The partial dependence.
    #[serde(flatten)]
    pub dependence: PartialDependence,
    /// Where it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<PathBuf>,
}

/// What `explain importance` computes.
#[derive(Debug, Clone, Default)]
pub struct ImportanceOptions {
    /// The score (default: accuracy for classifiers, r2 for regressors, as scikit-learn's
    /// default scorer).
    pub metric: Option<Metric>,
    /// Shuffles per column.
    pub repeats: usize,
    /// Seed of the shuffles.
    pub seed: u64,
    /// The label column (default: the model's target).
    pub label: Option<String>,
    /// The input columns permuted (all when empty).
    pub columns: Vec<String>,
    /// Use only the first rows of the file.
    pub rows: Option<usize>,
    /// Write the result here: `.json` or `.html`.
    pub output: Option<PathBuf>,
}

/// What `explain importance` found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImportanceOutcome {
    /// The model's name.
    pub model: String,
    /// Its type.
    pub model_type: String,
    /// The label column scored against.
    pub label: String,
    /// The importances.
    #[serde(flatten)]
    pub importance: PermutationImportance,
    /// Where it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<PathBuf>,
}

pub(crate) fn pdp(model: &Path, input: &Path, opts: &PdpOptions) -> Result<PdpOutcome> {
    let b = bundle::load_bundle(model)?;
    let p = &b.pipeline;
    // Name a column the model does not take before reading the file.
    let inputs: Vec<String> = p.input_schema().into_iter().map(|(n, _)| n).collect();
    if let Some(f) = opts.features.iter().find(|f| !inputs.contains(f)) {
        return Err(Error::Explain(slipway_explain::Error::Input(format!(
            "column \"{f}\" is not an input of the model (its inputs: {})",
            inputs.join(", ")
        ))));
    }
    let table = read_inputs(p, input, &[], opts.rows)?;
    let features: Vec<&str> = opts.features.iter().map(String::as_str).collect();
    let lib = slipway_explain::pdp::PdpOptions {
        grid_resolution: opts.grid_resolution,
        percentiles: opts.percentiles,
        ice: opts.ice,
    };
    let dependence = slipway_explain::pdp::partial_dependence(p, &table, &features, &lib)?;
    let out = PdpOutcome {
        model: b.manifest.name.clone(),
        model_type: p.spec.kind().to_string(),
        space: ModelOutput::new(p).space().to_string(),
        dependence,
        output: opts.output.clone(),
    };
    if let Some(path) = &opts.output {
        write_output(path, &out, || pdp_html(&out))?;
    }
    Ok(out)
}

pub(crate) fn importance(
    model: &Path,
    input: &Path,
    opts: &ImportanceOptions,
) -> Result<ImportanceOutcome> {
    let b = bundle::load_bundle(model)?;
    let p = &b.pipeline;
    let label = opts.label.clone().unwrap_or_else(|| p.target.name.clone());
    let metric = opts.metric.unwrap_or(if p.target.task.is_classification() {
        Metric::Accuracy
    } else {
        Metric::R2
    });
    if !metric.applies_to(p.target.task) {
        return Err(Error::Explain(slipway_explain::Error::Input(format!(
            "metric {metric} does not apply to this {} model; use one of: {}",
            if p.target.task.is_classification() {
                "classification"
            } else {
                "regression"
            },
            Metric::ALL
                .iter()
                .filter(|m| m.applies_to(p.target.task))
                .map(Metric::name)
                .collect::<Vec<_>>()
                .join(", ")
        ))));
    }
    let table = read_inputs(p, input, std::slice::from_ref(&label), opts.rows).map_err(|e| {
        match e {
            Error::Learn(slipway_learn::Error::SchemaMismatch(m))
                if m.starts_with(&format!("column \"{label}\" is missing")) =>
            {
                Error::Explain(slipway_explain::Error::Input(format!(
                    "{m}; permutation importance scores predictions against the label: give a file with the label column \"{label}\" (or name it with --label)"
                )))
            }
            e => e,
        }
    })?;
    let mut target = p.target.clone();
    target.name = label.clone();
    let y = target.encode(&table)?;
    let lib = slipway_explain::permutation::PermutationOptions {
        metric,
        repeats: opts.repeats,
        seed: opts.seed,
        columns: opts.columns.clone(),
    };
    let importance = slipway_explain::permutation::permutation_importance(p, &table, &y, &lib)?;
    let out = ImportanceOutcome {
        model: b.manifest.name.clone(),
        model_type: p.spec.kind().to_string(),
        label,
        importance,
        output: opts.output.clone(),
    };
    if let Some(path) = &opts.output {
        write_output(path, &out, || importance_html(&out))?;
    }
    Ok(out)
}

/// Writes `value` as JSON (`.json`) or the page `html` gives (`.html`, `.htm`), through a
/// temporary file renamed over `path`.
fn write_output<T: Serialize>(path: &Path, value: &T, html: impl Fn() -> String) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let body = match ext.as_deref() {
        Some("json") => serde_json::to_string_pretty(value)
            .map_err(|e| Error::Internal(format!("serializing the result: {e}")))?,
        Some("html" | "htm") => html(),
        _ => {
            return Err(Error::Explain(slipway_explain::Error::Input(format!(
                "output {}: write .json or .html",
                path.display()
            ))));
        }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, body).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

fn numbers(g: &[GridValue]) -> Option<Vec<f64>> {
    g.iter()
        .map(|v| match v {
            GridValue::Number(x) => Some(*x),
            GridValue::Bool(b) => Some(f64::from(u8::from(*b))),
            GridValue::Category(_) => None,
        })
        .collect()
}

fn pdp_html(o: &PdpOutcome) -> String {
    let d = &o.dependence;
    let title = format!("Partial dependence on {}", d.features.join(" × "));
    let mut page = Page::new(&title);
    let summary = html::table(
        &["", ""],
        &[
            vec!["model".into(), format!("{} ({})", o.model, o.model_type)],
            vec!["columns".into(), d.features.join(", ")],
            vec!["rows averaged".into(), d.rows.to_string()],
            vec!["grid points".into(), d.n_points().to_string()],
            vec!["output".into(), o.space.clone()],
            vec![
                "method".into(),
                "brute force (scikit-learn partial_dependence, method=\"brute\")".into(),
            ],
        ],
    );
    page.section("Summary", summary);
    for (c, name) in d.outputs.iter().enumerate() {
        let avg = &d.average[c];
        let opts = ChartOptions {
            title: name.clone(),
            x_label: d.features[0].clone(),
            y_label: format!("average {}", o.space),
            ..ChartOptions::default()
        };
        let body = match (d.grid.as_slice(), numbers(&d.grid[0])) {
            ([_], Some(xs)) => {
                let pd = Series {
                    name: "partial dependence".into(),
                    points: xs.iter().copied().zip(avg.iter().copied()).collect(),
                };
                let mut out = html::line_chart(std::slice::from_ref(&pd), &opts);
                if let Some(ice) = &d.individual {
                    // A second chart: some rows' curves, the average drawn last (on top).
                    let rows = &ice[c];
                    let step = rows.len().div_ceil(ICE_DRAWN).max(1);
                    let mut series: Vec<Series> = rows
                        .iter()
                        .step_by(step)
                        .map(|r| Series {
                            name: String::new(),
                            points: xs.iter().copied().zip(r.iter().copied()).collect(),
                        })
                        .collect();
                    let shown = series.len();
                    series.push(pd);
                    out.push_str(&html::line_chart(
                        &series,
                        &ChartOptions {
                            title: format!("{name}: ICE curves of {shown} of {} rows", rows.len()),
                            y_label: o.space.clone(),
                            ..opts.clone()
                        },
                    ));
                }
                out
            }
            ([g], None) => {
                let labels: Vec<String> = g.iter().map(GridValue::label).collect();
                html::bar_chart(&labels, avg, &opts)
            }
            ([a, b], _) => {
                let rows: Vec<String> = a.iter().map(GridValue::label).collect();
                let cols: Vec<String> = b.iter().map(GridValue::label).collect();
                let values: Vec<Vec<f64>> = avg.chunks(b.len()).map(<[f64]>::to_vec).collect();
                html::heatmap(
                    &rows,
                    &cols,
                    &values,
                    &ChartOptions {
                        x_label: d.features[1].clone(),
                        y_label: d.features[0].clone(),
                        ..opts
                    },
                )
            }
            _ => String::new(),
        };
        let mut rows = Vec::with_capacity(d.n_points());
        let mut q = 0;
        let second = d.grid.get(1);
        for a in &d.grid[0] {
            for b in second.map_or(vec![None], |g| g.iter().map(Some).collect()) {
                let mut row = vec![a.label()];
                if let Some(b) = b {
                    row.push(b.label());
                }
                row.push(html::format_number(avg[q]));
                rows.push(row);
                q += 1;
            }
        }
        let mut headers: Vec<&str> = d.features.iter().map(String::as_str).collect();
        headers.push("average");
        let mut section = body;
        section.push_str(&html::table(&headers, &rows));
        page.section(name, section);
    }
    page.render()
}

fn importance_html(o: &ImportanceOutcome) -> String {
    let imp = &o.importance;
    let mut page = Page::new(&format!("Permutation importance ({})", imp.metric));
    page.section(
        "Summary",
        html::table(
            &["", ""],
            &[
                vec!["model".into(), format!("{} ({})", o.model, o.model_type)],
                vec!["label".into(), o.label.clone()],
                vec!["rows".into(), imp.rows.to_string()],
                vec!["metric".into(), imp.metric.to_string()],
                vec!["baseline".into(), html::format_number(imp.baseline)],
                vec!["repeats".into(), imp.repeats.to_string()],
                vec!["seed".into(), imp.seed.to_string()],
            ],
        ),
    );
    let labels: Vec<String> = imp.columns.iter().map(|c| c.column.clone()).collect();
    let means: Vec<f64> = imp.columns.iter().map(|c| c.mean).collect();
    let mut body = html::bar_chart(
        &labels,
        &means,
        &ChartOptions {
            x_label: format!(
                "mean {} in {} when the column is shuffled",
                if imp.metric.greater_is_better() {
                    "drop"
                } else {
                    "rise"
                },
                imp.metric
            ),
            height: (40 + 24 * labels.len() as u32).max(160),
            ..ChartOptions::default()
        },
    );
    let rows: Vec<Vec<String>> = imp
        .columns
        .iter()
        .map(|c| {
            vec![
                c.column.clone(),
                html::format_number(c.mean),
                html::format_number(c.std),
            ]
        })
        .collect();
    body.push_str(&html::table(&["column", "mean", "std"], &rows));
    page.section("Importance by column", body);
    page.render()
}
