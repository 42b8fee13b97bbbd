//! `task: clustering`: fit every clustering candidate on all rows (preprocessed with the
//! linear defaults: mean imputation, standard scaling, one-hot categories, plus any
//! `preprocess:` overrides), score each labelling with the silhouette (Euclidean, on the
//! preprocessed features; DBSCAN's noise counts as one cluster, as in scikit-learn),
//! Calinski–Harabasz and Davies–Bouldin scores, keep the best silhouette, gate it on
//! `selection.minimum`, and write a clustering bundle, `report.html` (cluster sizes and
//! scores) and `report.json`.
//!
//! There is no target and no holdout: `target`, `data.test` and `selection.metric` are
//! refused by the config check. Predicting with the bundle assigns clusters (see
//! [`slipway_learn::cluster::pipeline`] for the rules).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use slipway_data::html::{self, ChartOptions, Page};
use slipway_data::ingest::{self, ReadOptions};
use slipway_data::validate::{self, ValidationReport};
use slipway_data::{Table, profile};
use slipway_learn::bundle::{DataLineage, Lineage};
use slipway_learn::cluster::bundle::{self as cbundle, ClusterBundleContents};
use slipway_learn::cluster::{
    ClusterSpec, FittedClusterPipeline, calinski_harabasz_score, davies_bouldin_score,
    silhouette_score,
};
use slipway_learn::preprocess::PreprocessSpec;

use crate::config::PipelineConfig;
use crate::progress::Progress;
use crate::train::{GateResult, write_atomic};
use crate::{Error, Result};

/// Training rows a written bundle is read back and checked against.
const VERIFY_ROWS: usize = 256;

/// The score candidates are ranked by.
pub const SELECTION_SCORE: &str = "silhouette";

/// One clustering candidate's result on the training rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterCandidateResult {
    /// Display name.
    pub name: String,
    /// `kmeans` or `dbscan`.
    pub model_type: String,
    /// The hyperparameters, as checked.
    pub params: serde_json::Value,
    /// Clusters found (DBSCAN's noise not counted).
    pub n_clusters: usize,
    /// Rows per cluster label (`-1`: noise).
    pub sizes: BTreeMap<i64, usize>,
    /// `silhouette`, `calinski_harabasz`, `davies_bouldin` where defined (each needs 2 to
    /// n − 1 distinct labels).
    pub scores: BTreeMap<String, f64>,
    /// Why the scores are missing, when they are.
    pub note: Option<String>,
    /// Seconds to fit (preprocessing included).
    pub fit_seconds: f64,
    /// Why the candidate failed to fit; a failed candidate is reported and the run goes on
    /// with the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Everything a clustering run did, as the report's JSON twin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterOutcome {
    /// The model name.
    pub name: String,
    /// Always `clustering`.
    pub task: String,
    /// Rows clustered.
    pub rows: usize,
    /// The validation report (empty when every rule held).
    pub validation: ValidationReport,
    /// Feature columns that could not be used.
    pub skipped_columns: Vec<String>,
    /// The score candidates were ranked by (`silhouette`).
    pub selection_metric: String,
    /// Every candidate, in config order.
    pub candidates: Vec<ClusterCandidateResult>,
    /// The chosen candidate.
    pub selected: String,
    /// The gate on the chosen candidate's silhouette.
    pub gate: GateResult,
    /// The bundle, when the gate passed.
    pub bundle: Option<PathBuf>,
    /// The HTML report.
    pub report_html: PathBuf,
    /// The JSON report.
    pub report_json: PathBuf,
    /// Seconds the whole run took.
    pub seconds: f64,
}

/// A parsed clustering candidate.
struct ClusterCandidate {
    name: String,
    spec: ClusterSpec,
    preprocess: PreprocessSpec,
}

/// The clustering candidates of `cfg`; k-means gets the config's `seed` unless it sets one,
/// every candidate the config's `threads`.
fn candidates(cfg: &PipelineConfig) -> Result<Vec<ClusterCandidate>> {
    let config_err = |message: String| cfg.located(message);
    let mut out: Vec<ClusterCandidate> = Vec::new();
    for (i, c) in cfg.models.iter().enumerate() {
        let label = c.name.as_deref().unwrap_or(&c.kind).to_string();
        if c.kind != "kmeans" && c.kind != "dbscan" {
            return Err(config_err(format!(
                "models[{i}] ({label}): type \"{}\" is not a clustering model; task clustering takes kmeans or dbscan",
                c.kind
            )));
        }
        let mut params = c
            .params
            .clone()
            .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
        let obj = params.as_object_mut().ok_or_else(|| {
            config_err(format!(
                "models[{i}].params: must be a mapping of parameter names to values"
            ))
        })?;
        if c.kind == "kmeans" {
            obj.entry("seed").or_insert(serde_json::json!(cfg.seed));
        }
        if let Some(t) = cfg.threads {
            obj.entry("n_threads").or_insert(serde_json::json!(t));
        }
        let spec: ClusterSpec =
            serde_json::from_value(serde_json::json!({"type": c.kind, "params": params}))
                .map_err(|e| config_err(format!("models[{i}] ({label}): {e}")))?;
        spec.check()
            .map_err(|e| config_err(format!("models[{i}] ({label}): {e}")))?;
        let mut preprocess = PreprocessSpec::for_linear();
        if let Some(g) = &cfg.preprocess {
            preprocess = g.apply(preprocess);
        }
        if let Some(p) = &c.preprocess {
            preprocess = p.apply(preprocess);
        }
        if out.iter().any(|o| o.name == label) {
            return Err(config_err(format!(
                "models[{i}]: the name \"{label}\" is used twice; give each candidate its own name"
            )));
        }
        out.push(ClusterCandidate {
            name: label,
            spec,
            preprocess,
        });
    }
    Ok(out)
}

fn read(path: &Path, opts: &ReadOptions, cfg: &PipelineConfig) -> Result<Table> {
    let mut t = ingest::read_table(path, opts)?;
    cfg.assign_roles(&mut t, path)?;
    Ok(t)
}

/// The three scores of a labelling, or why they are undefined.
fn scores(x: &slipway_learn::Matrix, labels: &[i64]) -> (BTreeMap<String, f64>, Option<String>) {
    let mut out = BTreeMap::new();
    match silhouette_score(x, labels) {
        Ok(s) => {
            out.insert("silhouette".to_string(), s);
        }
        Err(e) => return (out, Some(e.to_string())),
    }
    if let Ok(v) = calinski_harabasz_score(x, labels) {
        out.insert("calinski_harabasz".to_string(), v);
    }
    if let Ok(v) = davies_bouldin_score(x, labels) {
        out.insert("davies_bouldin".to_string(), v);
    }
    (out, None)
}

pub(crate) fn run(
    cfg: &PipelineConfig,
    config_text: Option<&str>,
    output: &Path,
    progress: &dyn Progress,
) -> Result<ClusterOutcome> {
    let started = Instant::now();
    let cands = candidates(cfg)?;
    let opts = cfg.read_options();
    progress.note(&format!("reading {}", cfg.data.train.display()));
    let table = read(&cfg.data.train, &opts, cfg)?;
    let validation = validate::validate(&table, &cfg.validation);
    if !validation.is_ok() {
        return Err(Error::Validation(Box::new(validation)));
    }
    let baseline = profile::profile(&table);
    let rows: Vec<usize> = (0..table.n_rows()).collect();

    progress.begin("clustering", cands.len() as u64);
    let mut results = Vec::with_capacity(cands.len());
    let mut fits = Vec::with_capacity(cands.len());
    for c in &cands {
        let t0 = Instant::now();
        let fit = match FittedClusterPipeline::fit(&table, &rows, &c.spec, &c.preprocess) {
            Ok(fit) => fit,
            Err(e) => {
                progress.advance(&format!("{}: failed: {e}", c.name));
                results.push(ClusterCandidateResult {
                    name: c.name.clone(),
                    model_type: c.spec.kind().to_string(),
                    params: crate::train::spec_params(&c.spec),
                    n_clusters: 0,
                    sizes: BTreeMap::new(),
                    scores: BTreeMap::new(),
                    note: Some(format!("failed: {e}")),
                    fit_seconds: t0.elapsed().as_secs_f64(),
                    error: Some(e.to_string()),
                });
                fits.push(None);
                continue;
            }
        };
        let fit_seconds = t0.elapsed().as_secs_f64();
        let (sc, note) = scores(&fit.x, &fit.labels);
        let mut sizes = BTreeMap::new();
        for &l in &fit.labels {
            *sizes.entry(l).or_insert(0usize) += 1;
        }
        let n_clusters = sizes.keys().filter(|&&l| l >= 0).count();
        progress.advance(&format!(
            "{}: {n_clusters} clusters, silhouette {}",
            c.name,
            sc.get(SELECTION_SCORE)
                .map_or("undefined".to_string(), |s| format!("{s:.4}"))
        ));
        results.push(ClusterCandidateResult {
            name: c.name.clone(),
            model_type: c.spec.kind().to_string(),
            params: crate::train::spec_params(&c.spec),
            n_clusters,
            sizes,
            scores: sc,
            note,
            fit_seconds,
            error: None,
        });
        fits.push(Some(fit));
    }
    progress.end();

    let best = select(&results)?;
    let chosen = &results[best];
    let value = chosen.scores[SELECTION_SCORE];
    let gate = gate(value, cfg.selection.minimum);
    let mut fit = fits
        .swap_remove(best)
        .ok_or_else(|| Error::Internal("the selected clustering candidate has no fit".into()))?;
    fit.pipeline.declared_types = crate::predict::declared_types(cfg, &fit.pipeline.schema);

    let mut outcome = ClusterOutcome {
        name: cfg.name.clone(),
        task: "clustering".into(),
        rows: table.n_rows(),
        validation,
        skipped_columns: fit.pipeline.preprocessor.skipped.clone(),
        selection_metric: SELECTION_SCORE.into(),
        selected: chosen.name.clone(),
        candidates: results,
        gate,
        bundle: None,
        report_html: output.join("report.html"),
        report_json: output.join("report.json"),
        seconds: 0.0,
    };
    std::fs::create_dir_all(output).map_err(|e| Error::io(output, e))?;
    let bundle_dir = output.join("model");
    if outcome.gate.passed {
        outcome.bundle = Some(bundle_dir.clone());
    }
    outcome.seconds = started.elapsed().as_secs_f64();
    let html = render_html(&outcome);
    let json = slipway_learn::exact_json::to_vec_pretty(&outcome)
        .map_err(|e| Error::Internal(e.to_string()))?;
    if outcome.gate.passed {
        let created_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        cbundle::write_cluster_bundle(
            &bundle_dir,
            ClusterBundleContents {
                name: &cfg.name,
                created_at: &created_at,
                pipeline: &fit.pipeline,
                profile: &baseline,
                metrics: outcome.candidates[best].scores.clone(),
                lineage: Lineage {
                    data: vec![DataLineage {
                        role: "train".into(),
                        path: cfg.data.train.display().to_string(),
                        fingerprint: ingest::fingerprint(&cfg.data.train)?,
                        rows: table.n_rows(),
                    }],
                    config_fingerprint: config_text
                        .map(|t| slipway_learn::bundle::sha256(t.as_bytes())),
                    seed: cfg.seed,
                    slipway_version: env!("CARGO_PKG_VERSION").into(),
                },
                extra_files: vec![
                    ("report.json".into(), json.clone()),
                    ("report.html".into(), html.clone().into_bytes()),
                ],
            },
            Some(&crate::predict::sample_rows(&table, VERIFY_ROWS)?),
        )?;
    }
    write_atomic(&outcome.report_html, html.as_bytes())?;
    write_atomic(&outcome.report_json, &json)?;
    write_atomic(
        &output.join("profile.html"),
        profile::render_html(&baseline, &format!("{}: training data", cfg.name)).as_bytes(),
    )?;
    Ok(outcome)
}

/// The gate: the silhouette must reach `minimum`, when one is set.
fn gate(value: f64, minimum: Option<f64>) -> GateResult {
    let reason = minimum
        .filter(|&m| value < m)
        .map(|m| format!("silhouette is {value:.4}, below the required minimum {m}"));
    GateResult {
        metric: SELECTION_SCORE.into(),
        value,
        minimum,
        passed: reason.is_none(),
        reason,
    }
}

/// The candidate with the highest silhouette (first on ties).
fn select(results: &[ClusterCandidateResult]) -> Result<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, r) in results.iter().enumerate() {
        if let Some(&v) = r.scores.get(SELECTION_SCORE) {
            if best.is_none_or(|(_, b)| v > b) {
                best = Some((i, v));
            }
        }
    }
    best.map(|(i, _)| i).ok_or_else(|| {
        let why: Vec<String> = results
            .iter()
            .map(|r| format!("{}: {}", r.name, r.note.as_deref().unwrap_or("no score")))
            .collect();
        let what = if results.iter().all(|r| r.error.is_some()) {
            "every clustering candidate failed"
        } else {
            "no candidate has a silhouette score"
        };
        Error::Learn(slipway_learn::Error::InvalidData(format!(
            "{what} ({})",
            why.join("; ")
        )))
    })
}

/// The HTML report: candidates and scores, and the chosen model's cluster sizes.
pub fn render_html(o: &ClusterOutcome) -> String {
    let mut page = Page::new(&format!("Slipway clustering report: {}", o.name));
    let fmt = |v: Option<&f64>| v.map_or("—".to_string(), |v| html::format_number(*v));
    let rows: Vec<Vec<String>> = o
        .candidates
        .iter()
        .map(|c| {
            vec![
                if c.name == o.selected {
                    format!("{} (selected)", c.name)
                } else {
                    c.name.clone()
                },
                c.model_type.clone(),
                match &c.error {
                    Some(e) => format!("failed: {e}"),
                    None => c.n_clusters.to_string(),
                },
                c.sizes.get(&-1).copied().unwrap_or(0).to_string(),
                fmt(c.scores.get("silhouette")),
                fmt(c.scores.get("calinski_harabasz")),
                fmt(c.scores.get("davies_bouldin")),
                format!("{:.2}", c.fit_seconds),
            ]
        })
        .collect();
    page.section(
        "Candidates",
        format!(
            "<p>{} rows, ranked by the silhouette (higher is better; Calinski–Harabasz: higher is better; Davies–Bouldin: lower is better). Gate: {}.</p>{}",
            o.rows,
            html::escape(
                &o.gate
                    .reason
                    .clone()
                    .unwrap_or_else(|| if o.gate.passed { "passed".into() } else { "refused".into() })
            ),
            html::table(
                &[
                    "candidate",
                    "type",
                    "clusters",
                    "noise rows",
                    "silhouette",
                    "Calinski–Harabasz",
                    "Davies–Bouldin",
                    "fit s"
                ],
                &rows
            )
        ),
    );
    if let Some(c) = o.candidates.iter().find(|c| c.name == o.selected) {
        let labels: Vec<String> = c
            .sizes
            .keys()
            .map(|&l| {
                if l < 0 {
                    "noise".to_string()
                } else {
                    format!("cluster {l}")
                }
            })
            .collect();
        let values: Vec<f64> = c.sizes.values().map(|&v| v as f64).collect();
        page.section(
            &format!("Cluster sizes: {}", c.name),
            html::bar_chart(
                &labels,
                &values,
                &ChartOptions {
                    title: format!("rows per cluster ({})", c.name),
                    x_label: "cluster".into(),
                    y_label: "rows".into(),
                    ..Default::default()
                },
            ),
        );
    }
    page.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(models: &str) -> PipelineConfig {
        let text = format!(
            "name: c\ntask: clustering\ndata: {{train: t.csv}}\nseed: 7\nmodels:\n{models}"
        );
        PipelineConfig::parse(&text, Path::new("p.yaml")).unwrap()
    }

    #[test]
    fn candidates_get_the_seed_and_bad_params_are_named() {
        let c = candidates(&config(
            "  - {type: kmeans, params: {n_clusters: 3}}\n  - {name: d, type: dbscan}\n",
        ))
        .unwrap();
        assert!(matches!(&c[0].spec, ClusterSpec::Kmeans(p) if p.seed == 7 && p.n_clusters == 3));
        assert_eq!(c[1].name, "d");
        for (models, field) in [
            ("  - {type: dbscan, params: {eps: -1}}\n", "eps"),
            (
                "  - {type: dbscan, params: {min_samples: 0}}\n",
                "min_samples",
            ),
            ("  - {type: dbscan, params: {metric: cosine}}\n", "cosine"),
            (
                "  - {type: kmeans, params: {n_clusters: 0}}\n",
                "n_clusters",
            ),
            ("  - {type: kmeans, params: {n_cluster: 2}}\n", "n_cluster"),
            ("  - {type: logistic_regression}\n", "models[0]"),
        ] {
            let e = candidates(&config(models)).err().unwrap().to_string();
            assert!(e.contains(field), "{field}: {e}");
        }
    }

    #[test]
    fn gate_checks_the_silhouette_minimum() {
        assert!(gate(0.3, Some(0.2)).passed);
        let g = gate(0.1, Some(0.2));
        assert!(!g.passed && g.reason.unwrap().contains("silhouette"));
        assert!(gate(-0.5, None).passed);
    }
}
