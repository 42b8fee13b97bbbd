//! Fairness mitigation in training: the config's `fairness: {mitigation: ...}` block, checked
//! once, and what each method does to a run.
//!
//! - `method: reweighing`: every fit of every candidate (each cross-validation fold and the
//!   final refit) weighs its rows by Kamiran–Calders weights fitted on that fit's own rows
//!   (`slipway_govern::mitigation::reweighing`, equal to AIF360's `Reweighing`). With
//!   `class_weight` set too, the class weights are the rows' instance weights that reweighing
//!   counts and multiplies, as AIF360 does on a dataset that carries instance weights.
//! - `method: threshold_optimizer`: post-processing. The chosen model is trained as usual;
//!   per-group randomized thresholds (Fairlearn's `ThresholdOptimizer`) are then fitted on
//!   its out-of-fold scores of the training rows and stored in the bundle
//!   ([`crate::postprocess`]).

use serde::{Deserialize, Serialize};
use slipway_data::Table;
use slipway_govern::mitigation::GroupCodes;
use slipway_govern::mitigation::reweighing::Reweighing;
use slipway_govern::mitigation::thresholds::{Constraint, Objective};
use slipway_learn::pipeline::TargetInfo;

use crate::config::PipelineConfig;
use crate::{Error, Result};

/// `fairness:` in the pipeline config.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FairnessConfig {
    /// How to make the model's outcomes depend less on a protected column.
    #[serde(default)]
    pub mitigation: Option<MitigationConfig>,
}

/// `fairness: {mitigation: {method: ..., protected: ...}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MitigationConfig {
    /// The mitigation method.
    pub method: MitigationMethod,
    /// The protected column to mitigate for; one of `roles: {protected: [...]}`. Default:
    /// the only protected column.
    #[serde(default)]
    pub protected: Option<String>,
    /// `threshold_optimizer`: the constraint the thresholds satisfy (default
    /// `demographic_parity`, as Fairlearn's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<Constraint>,
    /// `threshold_optimizer`: what the thresholds maximize (default `accuracy_score`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<Objective>,
    /// `threshold_optimizer`: points of the grid the trade-off curves are interpolated on
    /// (default 1000, as Fairlearn's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid_size: Option<usize>,
}

/// The mitigation methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MitigationMethod {
    /// Pre-processing: Kamiran–Calders sample weights.
    Reweighing,
    /// Post-processing: per-group randomized thresholds (Fairlearn's `ThresholdOptimizer`).
    ThresholdOptimizer,
}

impl MitigationMethod {
    /// The method's name in the config.
    pub fn name(self) -> &'static str {
        match self {
            MitigationMethod::Reweighing => "reweighing",
            MitigationMethod::ThresholdOptimizer => "threshold_optimizer",
        }
    }
}

/// Checks the `fairness:` block against the rest of the config (called by the config's own
/// check, so errors say `file:line:column`).
pub(crate) fn check(cfg: &PipelineConfig) -> Result<()> {
    let Some(m) = cfg.fairness.as_ref().and_then(|f| f.mitigation.as_ref()) else {
        return Ok(());
    };
    if cfg.is_clustering() {
        return Err(cfg.error_at(
            "fairness.mitigation",
            "fairness.mitigation: applies to classification; task: clustering has no labels",
        ));
    }
    crate::postprocess::check_config(cfg, m)?;
    mitigated_column(cfg, m).map(|_| ())
}

/// The protected column a mitigation is for.
pub(crate) fn mitigated_column(cfg: &PipelineConfig, m: &MitigationConfig) -> Result<String> {
    let listed = &cfg.roles.protected;
    match &m.protected {
        Some(c) if listed.contains(c) => Ok(c.clone()),
        Some(c) => Err(cfg.error_at(
            "fairness.mitigation.protected",
            format!(
                "fairness.mitigation.protected: \"{c}\" is not a protected column; list it under roles: {{protected: [...]}} (protected now: {})",
                if listed.is_empty() { "none".to_string() } else { listed.join(", ") }
            ),
        )),
        None if listed.len() == 1 => Ok(listed[0].clone()),
        None if listed.is_empty() => Err(cfg.error_at(
            "fairness.mitigation",
            format!(
                "fairness.mitigation: {} needs a protected column: list it under roles: {{protected: [...]}}",
                m.method.name()
            ),
        )),
        None => Err(cfg.error_at(
            "fairness.mitigation",
            format!(
                "fairness.mitigation: several protected columns ({}); name the one to mitigate for with protected:",
                listed.join(", ")
            ),
        )),
    }
}

/// What a run does about fairness, prepared from its training rows.
#[derive(Debug, Clone)]
pub struct Mitigation {
    /// The method.
    pub method: MitigationMethod,
    /// The protected column.
    pub column: String,
    /// Its group per training row.
    pub groups: GroupCodes,
}

/// What the report says about the mitigation (`mitigation` in `report.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MitigationSummary {
    /// The method.
    pub method: MitigationMethod,
    /// The protected column.
    pub column: String,
    /// Reweighing: the weights fitted on every training row (those of the final refit;
    /// before any class weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reweighing: Option<Reweighing>,
    /// Threshold optimizer: the fitted per-group thresholds and what they did on the held-out
    /// rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<crate::postprocess::ThresholdSummary>,
    /// What the user should know (groups without a class, fallbacks taken).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Mitigation {
    /// Reads the protected column of the training rows; `None` without a `mitigation:`
    /// block. Needs a classification target.
    pub fn prepare(
        cfg: &PipelineConfig,
        train: &Table,
        target: &TargetInfo,
    ) -> Result<Option<Mitigation>> {
        let Some(m) = cfg.fairness.as_ref().and_then(|f| f.mitigation.as_ref()) else {
            return Ok(None);
        };
        let column = mitigated_column(cfg, m)?;
        if !target.task.is_classification() {
            return Err(cfg.error_at(
                "fairness.mitigation",
                format!(
                    "fairness.mitigation: {} applies to classification; \"{}\" is a regression target",
                    m.method.name(),
                    target.name
                ),
            ));
        }
        if m.method == MitigationMethod::ThresholdOptimizer
            && target.task != slipway_learn::Task::Binary
        {
            return Err(cfg.error_at(
                "fairness.mitigation",
                format!(
                    "fairness.mitigation: threshold_optimizer decides between two classes; \"{}\" has {} ({}); use reweighing for a multiclass target",
                    target.name,
                    target.classes.len(),
                    target.classes.join(", ")
                ),
            ));
        }
        let values: Vec<Option<String>> = (0..train.n_rows())
            .map(|r| train.display_value(&column, r))
            .collect::<std::result::Result<_, _>>()?;
        Ok(Some(Mitigation {
            method: m.method,
            column,
            groups: GroupCodes::from_values(&values),
        }))
    }

    /// The sample weights of `rows` (a vector over all training rows, 0 elsewhere): the
    /// class weights `base` (over all rows) counted and multiplied by reweighing.
    pub fn sample_weights(
        &self,
        labels: &[u32],
        classes: &[String],
        rows: &[usize],
        base: Option<Vec<f64>>,
    ) -> Result<Option<Vec<f64>>> {
        match self.method {
            MitigationMethod::ThresholdOptimizer => Ok(base),
            MitigationMethod::Reweighing => {
                let (fit, groups, fit_labels, fit_base) =
                    self.fit_reweighing(labels, classes, rows, base.as_deref())?;
                let w = fit
                    .row_weights(&groups, &fit_labels, fit_base.as_deref())
                    .map_err(|e| Error::Internal(e.0))?;
                let mut all = vec![0.0; labels.len()];
                for (&r, &v) in rows.iter().zip(&w) {
                    all[r] = v;
                }
                Ok(Some(all))
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn fit_reweighing(
        &self,
        labels: &[u32],
        classes: &[String],
        rows: &[usize],
        base: Option<&[f64]>,
    ) -> Result<(Reweighing, GroupCodes, Vec<u32>, Option<Vec<f64>>)> {
        let groups = self.groups.take(rows);
        let fit_labels: Vec<u32> = rows.iter().map(|&r| labels[r]).collect();
        let fit_base: Option<Vec<f64>> = base.map(|b| rows.iter().map(|&r| b[r]).collect());
        let fit = Reweighing::fit(
            &self.column,
            &groups,
            &fit_labels,
            classes,
            fit_base.as_deref(),
        )
        .map_err(|e| Error::Internal(e.0))?;
        Ok((fit, groups, fit_labels, fit_base))
    }

    /// The report's summary: the weights on every training row.
    pub fn summary(&self, labels: &[u32], classes: &[String]) -> Result<MitigationSummary> {
        if self.method == MitigationMethod::ThresholdOptimizer {
            return Ok(MitigationSummary {
                method: self.method,
                column: self.column.clone(),
                reweighing: None,
                thresholds: None,
                notes: Vec::new(),
            });
        }
        let rows: Vec<usize> = (0..labels.len()).collect();
        let (fit, ..) = self.fit_reweighing(labels, classes, &rows, None)?;
        Ok(MitigationSummary {
            method: self.method,
            column: self.column.clone(),
            notes: fit.notes.clone(),
            reweighing: Some(fit),
            thresholds: None,
        })
    }
}
