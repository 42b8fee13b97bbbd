//! Fairness mitigation in training: the config's `fairness: {mitigation: ...}` block, checked
//! once, and what each method does to a run.
//!
//! - `method: reweighing`: every fit of every candidate (each cross-validation fold and the
//!   final refit) weighs its rows by Kamiran–Calders weights fitted on that fit's own rows
//!   (`slipway_govern::mitigation::reweighing`, equal to AIF360's `Reweighing`). With
//!   `class_weight` set too, the class weights are the rows' instance weights that reweighing
//!   counts and multiplies, as AIF360 does on a dataset that carries instance weights.
//! - `method: exponentiated_gradient`: every fit of every candidate is Fairlearn's
//!   `ExponentiatedGradient` reduction (`slipway_govern::mitigation::expgrad`) with the
//!   candidate's model as the base learner, fitted again and again on the fit's preprocessed
//!   rows with relabeled targets and sample weights; the pipeline's model is the resulting
//!   mixture (`slipway_learn::mixture::MixtureModel`), which predicts without the protected
//!   column. Settings: `constraint` (`demographic_parity` or `equalized_odds`), `eps`,
//!   `max_iter`, `nu`, `eta0`, `difference_bound`; the label draws are seeded by the config's
//!   `seed`.
//! - `method: threshold_optimizer`: post-processing. The chosen model is trained as usual;
//!   per-group randomized thresholds (Fairlearn's `ThresholdOptimizer`) are then fitted on
//!   its out-of-fold scores of the training rows and stored in the bundle
//!   ([`crate::postprocess`]). Settings: `constraint`, `objective`, `grid_size`.

use serde::{Deserialize, Serialize};
use slipway_data::Table;
use slipway_govern::mitigation::GroupCodes;
use slipway_govern::mitigation::expgrad::{self, Component, ExpGradParams, ExpGradSummary};
use slipway_govern::mitigation::reweighing::Reweighing;
use slipway_govern::mitigation::thresholds::{Constraint, Objective};
use slipway_learn::mixture::{MixtureComponent, MixtureModel, hard_labels};
use slipway_learn::pipeline::{FittedModel, FittedPipeline, ModelSpec, TargetInfo};
use slipway_learn::preprocess::PreprocessSpec;
use slipway_learn::{Predictor, Target, Task, TrainData};

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
    /// `exponentiated_gradient` and `threshold_optimizer`: the fairness constraint (default
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
    /// `exponentiated_gradient`: allowed constraint violation, `‖λ‖₁ ≤ 1/eps` (default 0.01).
    #[serde(default)]
    pub eps: Option<f64>,
    /// `exponentiated_gradient`: most rounds of the game (default 50).
    #[serde(default)]
    pub max_iter: Option<usize>,
    /// `exponentiated_gradient`: the duality gap that ends the game (default: from the
    /// first fit's error, as Fairlearn sets it).
    #[serde(default)]
    pub nu: Option<f64>,
    /// `exponentiated_gradient`: the initial learning rate (default 2.0).
    #[serde(default)]
    pub eta0: Option<f64>,
    /// `exponentiated_gradient`: how far a group's rate may be from the overall rate
    /// (the constraint's `difference_bound`, default 0.01).
    #[serde(default)]
    pub difference_bound: Option<f64>,
}

impl MitigationConfig {
    /// The reduction's settings from the block (Fairlearn's defaults for the keys left out).
    pub fn expgrad_params(&self) -> ExpGradParams {
        let d = ExpGradParams::default();
        ExpGradParams {
            constraint: self.constraint.unwrap_or(d.constraint),
            difference_bound: self.difference_bound.unwrap_or(d.difference_bound),
            eps: self.eps.unwrap_or(d.eps),
            max_iter: self.max_iter.unwrap_or(d.max_iter),
            nu: self.nu.or(d.nu),
            eta0: self.eta0.unwrap_or(d.eta0),
            run_linprog_step: d.run_linprog_step,
        }
    }

    /// The exponentiated-gradient keys that are set (`constraint` is shared with
    /// `threshold_optimizer`, which checks its own keys).
    fn expgrad_keys(&self) -> Vec<&'static str> {
        let shared = self.method == MitigationMethod::ThresholdOptimizer;
        [
            ("constraint", self.constraint.is_some() && !shared),
            ("eps", self.eps.is_some()),
            ("max_iter", self.max_iter.is_some()),
            ("nu", self.nu.is_some()),
            ("eta0", self.eta0.is_some()),
            ("difference_bound", self.difference_bound.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect()
    }
}

/// The mitigation methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MitigationMethod {
    /// Pre-processing: Kamiran–Calders sample weights.
    Reweighing,
    /// In-processing: Fairlearn's exponentiated gradient reduction (a mixture of fits).
    ExponentiatedGradient,
    /// Post-processing: per-group randomized thresholds (Fairlearn's `ThresholdOptimizer`).
    ThresholdOptimizer,
}

impl MitigationMethod {
    /// The method's name in the config.
    pub fn name(self) -> &'static str {
        match self {
            MitigationMethod::Reweighing => "reweighing",
            MitigationMethod::ExponentiatedGradient => "exponentiated_gradient",
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
    mitigated_column(cfg, m)?;
    crate::postprocess::check_config(cfg, m)?;
    check_expgrad(cfg, m)
}

/// The exponentiated-gradient keys: only with that method, each within its rule; and no
/// calibration, threshold or class weights, which would change the mixture's answers.
fn check_expgrad(cfg: &PipelineConfig, m: &MitigationConfig) -> Result<()> {
    if m.method != MitigationMethod::ExponentiatedGradient {
        if let Some(k) = m.expgrad_keys().first() {
            return Err(cfg.error_at(
                &format!("fairness.mitigation.{k}"),
                format!(
                    "fairness.mitigation.{k}: applies to method exponentiated_gradient, not {}",
                    m.method.name()
                ),
            ));
        }
        return Ok(());
    }
    if let Err(e) = m.expgrad_params().check() {
        let key = e.0.split(' ').next().unwrap_or_default().to_string();
        return Err(cfg.error_at(
            &format!("fairness.mitigation.{key}"),
            format!("fairness.mitigation.{e}"),
        ));
    }
    let conflict = |key: &str, what: &str| {
        Err(cfg.error_at(
            key,
            format!(
                "{key}: cannot be combined with fairness.mitigation exponentiated_gradient: {what}"
            ),
        ))
    };
    if cfg.calibration.is_some() {
        return conflict(
            "calibration",
            "the mixture's probability is the weight of its positive answers, not a score to calibrate",
        );
    }
    if cfg.threshold.is_some() {
        return conflict(
            "threshold",
            "the mixture draws its labels from its probability; a threshold would undo the constraint",
        );
    }
    if cfg.class_weight.is_some() {
        return conflict(
            "class_weight",
            "the reduction sets the sample weights of every fit",
        );
    }
    if let Some(i) = cfg.models.iter().position(|c| c.class_weight.is_some()) {
        return conflict(
            &format!("models[{i}].class_weight"),
            "the reduction sets the sample weights of every fit",
        );
    }
    Ok(())
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
    /// `exponentiated_gradient`: the reduction's settings.
    pub expgrad: Option<ExpGradParams>,
    /// The seed of a mixture's label draws (the config's `seed`).
    pub seed: u64,
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
    /// Exponentiated gradient: the game of the final refit on every training row (its
    /// settings, rounds, mixture weights, training error and constraint values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exponentiated_gradient: Option<ExpGradSummary>,
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
        let expgrad = match m.method {
            MitigationMethod::ExponentiatedGradient if target.task != Task::Binary => {
                return Err(cfg.error_at(
                    "fairness.mitigation",
                    format!(
                        "fairness.mitigation: exponentiated_gradient needs a binary target; \"{}\" has {} classes",
                        target.name,
                        target.classes.len()
                    ),
                ));
            }
            MitigationMethod::ThresholdOptimizer if target.task != Task::Binary => {
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
            MitigationMethod::ExponentiatedGradient => Some(m.expgrad_params()),
            MitigationMethod::Reweighing | MitigationMethod::ThresholdOptimizer => None,
        };
        let values: Vec<Option<String>> = (0..train.n_rows())
            .map(|r| train.display_value(&column, r))
            .collect::<std::result::Result<_, _>>()?;
        Ok(Some(Mitigation {
            method: m.method,
            column,
            groups: GroupCodes::from_values(&values),
            expgrad,
            seed: cfg.seed,
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
            // The reduction sets the weights of each of its own fits; post-processing leaves
            // the fits as they are.
            MitigationMethod::ExponentiatedGradient | MitigationMethod::ThresholdOptimizer => {
                Ok(base)
            }
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

    /// The report's summary: the weights on every training row (reweighing; the
    /// exponentiated gradient's game is added after the refit).
    pub fn summary(&self, labels: &[u32], classes: &[String]) -> Result<MitigationSummary> {
        if self.method != MitigationMethod::Reweighing {
            return Ok(MitigationSummary {
                method: self.method,
                column: self.column.clone(),
                reweighing: None,
                exponentiated_gradient: None,
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
            exponentiated_gradient: None,
            thresholds: None,
        })
    }

    /// Fits `spec` on `rows` as the mitigation asks: the exponentiated gradient's mixture,
    /// with the game's summary; otherwise a plain (weighted) fit.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn fit(
        mitigation: Option<&Mitigation>,
        table: &Table,
        rows: &[usize],
        target: &TargetInfo,
        y: &Target,
        spec: &ModelSpec,
        preprocess: &PreprocessSpec,
        weights: Option<&[f64]>,
    ) -> slipway_learn::Result<(FittedPipeline, Option<ExpGradSummary>)> {
        match mitigation {
            Some(m) if m.expgrad.is_some() => {
                m.fit_expgrad(table, rows, target, y, spec, preprocess)
            }
            _ => Ok((
                FittedPipeline::fit_weighted(table, rows, target, y, spec, preprocess, weights)?,
                None,
            )),
        }
    }

    /// The reduction on `rows`: preprocessing fitted once, then the game with `spec` fitted
    /// on the preprocessed rows as the base learner.
    fn fit_expgrad(
        &self,
        table: &Table,
        rows: &[usize],
        target: &TargetInfo,
        y: &Target,
        spec: &ModelSpec,
        preprocess: &PreprocessSpec,
    ) -> slipway_learn::Result<(FittedPipeline, Option<ExpGradSummary>)> {
        let params = self.expgrad.ok_or_else(|| {
            slipway_learn::Error::Internal("no exponentiated gradient settings".into())
        })?;
        let Target::Classes { labels, .. } = y.take(rows) else {
            return Err(slipway_learn::Error::InvalidData(
                "fairness.mitigation: exponentiated_gradient needs class labels".into(),
            ));
        };
        let (preprocessor, x) = preprocess.fit_transform(table, rows, Some(y))?;
        let features = preprocessor.features();
        let groups = self.groups.take(rows);
        let fit = expgrad::fit(&params, &groups, &labels, |red_y, red_w| {
            let t = Target::Classes {
                labels: red_y.to_vec(),
                n_classes: 2,
            };
            let data = TrainData {
                x: &x,
                y: &t,
                features: &features,
                weights: Some(red_w),
            };
            let model = spec.fit(&data, None)?;
            let pred = hard_labels(&model.predict(&x)?)?;
            Ok::<_, slipway_learn::Error>((model, pred))
        })
        .map_err(|e| match e {
            expgrad::FitError::Input(e) => slipway_learn::Error::InvalidData(format!(
                "fairness.mitigation exponentiated_gradient by \"{}\": {e}",
                self.column
            )),
            expgrad::FitError::Learner(e) => e,
        })?;
        let summary = fit.summary(&params);
        let (components, weights): (Vec<MixtureComponent>, Vec<f64>) = fit
            .into_mixture()
            .into_iter()
            .map(|(c, w)| {
                let c = match c {
                    Component::Constant(class) => MixtureComponent::Constant { class },
                    Component::Fitted(model) => MixtureComponent::Model {
                        model: Box::new(model),
                    },
                };
                (c, w)
            })
            .unzip();
        let mixture = MixtureModel::new("exponentiated_gradient", components, weights, self.seed)?;
        Ok((
            FittedPipeline {
                schema: table.schema().clone(),
                target: target.clone(),
                spec: spec.clone(),
                preprocessor,
                model: FittedModel::Mixture(mixture),
                calibration: None,
                decision_threshold: None,
                declared_types: Default::default(),
            },
            Some(summary),
        ))
    }
}
