//! Post-processing a binary classifier's scores with per-group randomized thresholds:
//! `fairness: {mitigation: {method: threshold_optimizer, protected: sex, constraint:
//! demographic_parity | equalized_odds, objective: accuracy_score | balanced_accuracy_score,
//! grid_size: 1000}}`.
//!
//! Training fits Fairlearn's `ThresholdOptimizer` ([`ThresholdRule`]) on the chosen model's
//! out-of-fold scores of the training rows (the probability of the positive class, after
//! calibration when the config calibrates), so the thresholds are not fitted to scores the
//! model saw its own labels for. The rule is stored in the bundle as `postprocess.json`
//! ([`PostProcessor`], checksummed in the manifest, read back and checked before the bundle
//! takes its name).
//!
//! Scoring: a row's label is positive when the rule's probability for its group and score is
//! at least a uniform draw. The draw is deterministic:
//! - `slipway predict`: row `i` of the file (0-based, counting every row) gets
//!   [`row_draw`]`(seed, i)`, the `i`-th draw of a ChaCha8 stream seeded with the training
//!   seed, so a file gives the same labels however it is chunked;
//! - the server: each row gets [`keyed_draw`]`(seed, prediction_id)`, so a logged prediction
//!   can be recomputed from its id, and one-row requests are not all given the same draw.
//!
//! The raw score stays in the output (the `probability_*` columns); the label is the
//! mitigated one. The protected column is an input of such a model although it is not a
//! feature; a group the thresholds were not fitted on is an error naming it.

use std::path::Path;

use serde::{Deserialize, Serialize};
use slipway_data::Table;
use slipway_govern::mitigation::thresholds::{Constraint, ThresholdRule, keyed_draw, row_draw};
use slipway_govern::mitigation::{GroupCodes, MISSING_GROUP};
use slipway_learn::Matrix;
use slipway_learn::bundle::{self, Manifest};

use crate::config::PipelineConfig;
use crate::mitigation::{MitigationConfig, MitigationMethod};
use crate::{Error, Result};

/// The bundle file that holds a [`PostProcessor`].
pub const FILE: &str = "postprocess.json";

/// Fairlearn's default grid size.
pub const DEFAULT_GRID_SIZE: usize = 1000;

/// The largest grid accepted (each group's curve has `grid_size + 1` points).
const MAX_GRID_SIZE: usize = 1_000_000;

/// Which scores the thresholds were fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreSource {
    /// Out-of-fold scores of the training rows (each row scored by the fold model that did
    /// not see it).
    OutOfFold,
}

/// A bundle's post-processor (`postprocess.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostProcessor {
    /// Always `threshold_optimizer`.
    pub method: MitigationMethod,
    /// The protected column each row's group is read from.
    pub column: String,
    /// The class a positive decision predicts (the target's second class).
    pub positive_class: String,
    /// The other class.
    pub negative_class: String,
    /// Seed of the randomized decisions (the training seed).
    pub seed: u64,
    /// Which scores the rule was fitted on.
    pub fitted_on: ScoreSource,
    /// The per-group thresholds.
    pub rule: ThresholdRule,
}

/// How each row's uniform draw is chosen.
#[derive(Debug, Clone, Copy)]
pub enum Draws<'a> {
    /// Rows `first..first + n` of a longer input: [`row_draw`].
    Rows(u64),
    /// One key per row (prediction ids): [`keyed_draw`].
    Keys(&'a [u128]),
}

/// What the post-processor decided for some rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Mitigated {
    /// Whether each row is predicted the positive class.
    pub positive: Vec<bool>,
    /// The probability the rule gave each row of being predicted positive.
    pub probability: Vec<f64>,
}

/// Disparity and accuracy of some decisions on labelled rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DecisionMetrics {
    /// Largest minus smallest selection rate across groups (Fairlearn's
    /// `demographic_parity_difference`).
    pub demographic_parity_difference: f64,
    /// The larger of the TPR and FPR differences across groups (Fairlearn's
    /// `equalized_odds_difference`).
    pub equalized_odds_difference: f64,
    /// Share of rows decided correctly.
    pub accuracy: f64,
}

/// The report's account of the threshold optimizer (`mitigation.thresholds` in
/// `report.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdSummary {
    /// The rule as stored in the bundle.
    pub post: PostProcessor,
    /// The held-out rows decided by the model alone (its predicted label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout_before: Option<DecisionMetrics>,
    /// The held-out rows decided by the thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout_after: Option<DecisionMetrics>,
}

/// Checks the threshold optimizer's keys of a `mitigation:` block (and that the keys only it
/// takes are not given to another method).
pub(crate) fn check_config(cfg: &PipelineConfig, m: &MitigationConfig) -> Result<()> {
    let key = "fairness.mitigation";
    if m.method != MitigationMethod::ThresholdOptimizer {
        // `constraint` is exponentiated_gradient's too (it checks its own keys).
        let shared = m.method == MitigationMethod::ExponentiatedGradient;
        for (name, set) in [
            ("constraint", m.constraint.is_some() && !shared),
            ("objective", m.objective.is_some()),
            ("grid_size", m.grid_size.is_some()),
        ] {
            if set {
                return Err(cfg.error_at(
                    &format!("{key}.{name}"),
                    format!(
                        "{key}.{name}: applies to method: threshold_optimizer; method: {} does not take it",
                        m.method.name()
                    ),
                ));
            }
        }
        return Ok(());
    }
    if cfg.task == slipway_learn::pipeline::TaskHint::Regression {
        return Err(cfg.error_at(
            key,
            format!("{key}: threshold_optimizer decides binary labels; task: regression has none"),
        ));
    }
    if let Some(g) = m.grid_size
        && !(1..=MAX_GRID_SIZE).contains(&g)
    {
        return Err(cfg.error_at(
            &format!("{key}.grid_size"),
            format!("{key}.grid_size: {g} is out of range; it takes 1 to {MAX_GRID_SIZE} (Fairlearn's default: {DEFAULT_GRID_SIZE})"),
        ));
    }
    if cfg.threshold.is_some() {
        return Err(cfg.error_at(
            "threshold",
            "threshold: a tuned decision threshold and fairness.mitigation: threshold_optimizer both decide the label; keep one of them",
        ));
    }
    Ok(())
}

/// Fits the thresholds on the out-of-fold positive-class `scores` of the training rows.
pub(crate) fn fit(
    cfg: &PipelineConfig,
    m: &MitigationConfig,
    column: &str,
    groups: &GroupCodes,
    scores: &[f64],
    labels: &[u32],
    classes: &[String],
) -> Result<PostProcessor> {
    let positive: Vec<bool> = labels.iter().map(|&l| l == 1).collect();
    let rule = ThresholdRule::fit_objective(
        column,
        m.constraint.unwrap_or(Constraint::DemographicParity),
        m.objective.unwrap_or_default(),
        scores,
        &positive,
        groups,
        m.grid_size.unwrap_or(DEFAULT_GRID_SIZE),
    )
    .map_err(|e| {
        cfg.error_at(
            "fairness.mitigation",
            format!("fairness.mitigation: threshold_optimizer: {e}"),
        )
    })?;
    Ok(PostProcessor {
        method: MitigationMethod::ThresholdOptimizer,
        column: column.to_string(),
        positive_class: classes[1].clone(),
        negative_class: classes[0].clone(),
        seed: cfg.seed,
        fitted_on: ScoreSource::OutOfFold,
        rule,
    })
}

impl PostProcessor {
    /// What the rule is, in a few words (for error messages).
    pub fn describe(&self) -> String {
        format!(
            "per-group thresholds by \"{}\" (fairness mitigation threshold_optimizer, {}, {})",
            self.column,
            self.rule.constraint.name(),
            self.rule.objective.name()
        )
    }

    /// The group of every row of `table` (which holds the protected column).
    pub fn groups(&self, table: &Table) -> Result<Vec<String>> {
        (0..table.n_rows())
            .map(|r| {
                Ok(table
                    .display_value(&self.column, r)?
                    .unwrap_or_else(|| MISSING_GROUP.to_string()))
            })
            .collect()
    }

    /// Decides the rows of `table` from their class probabilities `proba` (rows × 2).
    pub fn apply(&self, table: &Table, proba: &Matrix, draws: Draws<'_>) -> Result<Mitigated> {
        let n = table.n_rows();
        if proba.n_rows() != n || proba.n_cols() != 2 {
            return Err(Error::Internal(format!(
                "per-group thresholds need rows × 2 probabilities; got {} × {} for {n} rows",
                proba.n_rows(),
                proba.n_cols()
            )));
        }
        if let Draws::Keys(k) = draws
            && k.len() != n
        {
            return Err(Error::Internal(format!(
                "{} draw keys for {n} rows",
                k.len()
            )));
        }
        let groups = self.groups(table)?;
        let scores = proba.col(1);
        let mut out = Mitigated {
            positive: Vec::with_capacity(n),
            probability: Vec::with_capacity(n),
        };
        for (i, (g, &s)) in groups.iter().zip(scores).enumerate() {
            let row = match draws {
                Draws::Rows(first) => first + i as u64,
                Draws::Keys(_) => i as u64,
            };
            let p = self.rule.probability(g, s).ok_or_else(|| {
                // A long value is not echoed whole.
                let g: String = g.chars().take(100).collect();
                slipway_learn::Error::InvalidData(format!(
                    "column \"{}\": {}; the model's {} decide only for the groups they were fitted on: retrain with rows of this group, or map it to a known group",
                    self.column,
                    self.rule.unseen(&g, row as usize),
                    self.describe()
                ))
            })?;
            let u = match draws {
                Draws::Rows(first) => row_draw(self.seed, first + i as u64),
                Draws::Keys(k) => keyed_draw(self.seed, k[i]),
            };
            out.positive.push(p >= u);
            out.probability.push(p);
        }
        Ok(out)
    }
}

/// The post-processor of the (verified) bundle at `dir`, if it has one.
pub fn read_from_bundle(dir: &Path) -> Result<Option<PostProcessor>> {
    let b = bundle::load_bundle(dir)?;
    load(dir, &b.manifest, &b.pipeline.target.classes)
}

/// Reads the post-processor of the bundle at `dir` (none when its manifest lists no
/// `postprocess.json`), checking it against the pipeline's classes.
pub(crate) fn load(
    dir: &Path,
    manifest: &Manifest,
    classes: &[String],
) -> Result<Option<PostProcessor>> {
    if !manifest.files.contains_key(FILE) {
        return Ok(None);
    }
    let bytes = bundle::read_checked(dir, &manifest.files, FILE)?;
    let defect = |message: String| slipway_learn::Error::BundleDefect {
        path: dir.display().to_string(),
        file: FILE.to_string(),
        message,
    };
    let post: PostProcessor =
        slipway_learn::exact_json::from_slice(&bytes).map_err(|e| defect(e.to_string()))?;
    if classes.len() != 2 || classes[1] != post.positive_class || classes[0] != post.negative_class
    {
        return Err(defect(format!(
            "the thresholds decide between \"{}\" and \"{}\"; the model's classes are {}",
            post.negative_class,
            post.positive_class,
            classes.join(", ")
        ))
        .into());
    }
    Ok(Some(post))
}

/// Disparity and accuracy of `decided` (positive or not) against `labels` (1 = positive)
/// by `groups`. Groups without positives (negatives) are left out of the TPR (FPR) spread.
pub fn decision_metrics(groups: &[String], labels: &[u32], decided: &[bool]) -> DecisionMetrics {
    use std::collections::BTreeMap;
    // group → [n, selected, positives, true positives, negatives, false positives]
    let mut counts: BTreeMap<&str, [f64; 6]> = BTreeMap::new();
    let mut correct = 0usize;
    for ((g, &y), &d) in groups.iter().zip(labels).zip(decided) {
        let c = counts.entry(g.as_str()).or_default();
        let pos = y == 1;
        c[0] += 1.0;
        c[1] += f64::from(u8::from(d));
        if pos {
            c[2] += 1.0;
            c[3] += f64::from(u8::from(d));
        } else {
            c[4] += 1.0;
            c[5] += f64::from(u8::from(d));
        }
        correct += usize::from(pos == d);
    }
    let spread = |f: &dyn Fn(&[f64; 6]) -> Option<f64>| {
        let v: Vec<f64> = counts.values().filter_map(f).collect();
        if v.is_empty() {
            f64::NAN
        } else {
            v.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                - v.iter().cloned().fold(f64::INFINITY, f64::min)
        }
    };
    let dp = spread(&|c| Some(c[1] / c[0]));
    let tpr = spread(&|c| (c[2] > 0.0).then(|| c[3] / c[2]));
    let fpr = spread(&|c| (c[4] > 0.0).then(|| c[5] / c[4]));
    DecisionMetrics {
        demographic_parity_difference: dp,
        equalized_odds_difference: tpr.max(fpr),
        accuracy: correct as f64 / decided.len().max(1) as f64,
    }
}

/// The bundle check for a staged bundle with a post-processor: `postprocess.json` loads,
/// equals `post`, and the pipeline and thresholds read back decide `rows` (training rows)
/// exactly as the ones written do.
pub(crate) fn verify_staged(
    dir: &Path,
    post: &PostProcessor,
    pipeline: &slipway_learn::pipeline::FittedPipeline,
    rows: &Table,
) -> slipway_learn::Result<()> {
    let defect = |message: String| slipway_learn::Error::BundleDefect {
        path: dir.display().to_string(),
        file: FILE.to_string(),
        message,
    };
    let as_learn = |e: Error| match e {
        Error::Learn(e) => e,
        e => slipway_learn::Error::Internal(e.to_string()),
    };
    let b = bundle::load_bundle(dir)?;
    let loaded = load(dir, &b.manifest, &b.pipeline.target.classes)
        .map_err(as_learn)?
        .ok_or_else(|| defect("the manifest does not list it".into()))?;
    if &loaded != post {
        return Err(defect(
            "the thresholds read back differ from the ones written".into(),
        ));
    }
    let decide = |p: &slipway_learn::pipeline::FittedPipeline, post: &PostProcessor| match p
        .predict(rows)?
    {
        slipway_learn::Prediction::Probabilities(m) => {
            post.apply(rows, &m, Draws::Rows(0)).map_err(as_learn)
        }
        slipway_learn::Prediction::Values(_) => Err(defect(
            "per-group thresholds on a model without class probabilities".into(),
        )),
    };
    let (want, got) = (decide(pipeline, post)?, decide(&b.pipeline, &loaded)?);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    if want.positive != got.positive || bits(&want.probability) != bits(&got.probability) {
        return Err(defect(format!(
            "the model read back decides {} sample rows differently from the model written",
            rows.n_rows()
        )));
    }
    Ok(())
}

/// The file next to the report that lists the scores the thresholds were fitted on.
pub const SCORES_FILE: &str = "threshold_scores.csv";

/// The scores the thresholds were fitted on, one training row a line (`group,label,score`;
/// label 1 is the positive class; scores in shortest round-trip form), so that the fit can
/// be checked against another implementation on exactly these numbers.
pub(crate) fn scores_csv(groups: &GroupCodes, labels: &[u32], scores: &[f64]) -> Vec<u8> {
    let mut out = String::from("group,label,score\n");
    for ((&g, &l), &s) in groups.codes.iter().zip(labels).zip(scores) {
        let name = &groups.names[g as usize];
        if name.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&name.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(name);
        }
        out.push_str(&format!(",{l},{s}\n"));
    }
    out.into_bytes()
}
