//! Retraining: the policy (a `retrain:` section in YAML), its triggers, the paired comparison
//! of a challenger with the champion and the deployment decision. Pure rules: the engine
//! gathers the inputs (scores the champion, measures drift, counts labelled rows), trains the
//! challenger as a job and acts on the [`Decision`].
//!
//! ```yaml
//! retrain:
//!   model: employment            # the registered model new versions go to
//!   pipeline: pipeline.yaml      # the model's pipeline config
//!   champion: out/model          # the champion's bundle
//!   reference: reference.parquet # the labelled rows the champion was trained on
//!   new_rows: analysis.parquet   # rows that arrived since, labelled ...
//!   labels: {file: analysis_target.parquet, id_column: id}   # ... or labelled by id
//!   window_rows: 5000            # the recent labelled window: the last rows of new_rows
//!   triggers:                    # the seed's four, each with its default
//!     performance_drop: {metric: roc_auc, max_drop: 0.05}
//!     drift_share: {above: 0.3}
//!     schedule: {every: 7d}
//!     new_labels: {at_least: 1000}
//!   decision: {metric: accuracy, min_improvement: 0.02, strategy: canary}
//!   deployment: {name: employment-retrain}
//! ```
//!
//! Paths are relative to the policy file. Every error names the field and the rule.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

fn bad(message: String) -> Error {
    Error::BadInput { message }
}

/// The file: one `retrain:` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    retrain: RetrainPolicy,
}

/// A model's retraining policy.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrainPolicy {
    /// The registered model a new version is registered under.
    pub model: String,
    /// The model's pipeline config (its `data.train` is replaced by the retraining data).
    pub pipeline: PathBuf,
    /// The champion's bundle directory.
    pub champion: PathBuf,
    /// The labelled rows the champion was trained on.
    pub reference: PathBuf,
    /// Rows that arrived since: labelled (the target column filled in), or labelled by
    /// `labels`.
    pub new_rows: PathBuf,
    /// Delayed labels joined onto `new_rows` by an id column (rows without one are left out).
    #[serde(default)]
    pub labels: Option<LabelsSource>,
    /// The recent labelled window both models are compared on: the last this many rows of
    /// `new_rows`, held out of the challenger's training.
    #[serde(default = "default_window")]
    pub window_rows: usize,
    /// The file drift is measured on (default: `new_rows`).
    #[serde(default)]
    pub current: Option<PathBuf>,
    /// Where jobs, their logs and the policy's state go (default: `retrain-jobs` next to the
    /// policy file).
    #[serde(default)]
    pub jobs: Option<PathBuf>,
    /// When to retrain.
    #[serde(default)]
    pub triggers: Triggers,
    /// How the challenger is judged.
    #[serde(default)]
    pub decision: DecisionRule,
    /// The deployment created for a winning challenger (none: register only).
    #[serde(default)]
    pub deployment: Option<DeploymentSettings>,
}

/// A labels file joined by id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelsSource {
    /// The file (CSV, Parquet, JSON lines): the id column and the target.
    pub file: PathBuf,
    /// The id column of both files.
    pub id_column: String,
}

fn default_window() -> usize {
    5000
}

/// The four triggers; any one that fires starts a retrain.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triggers {
    /// The champion's metric on the recent window against its reference value.
    #[serde(default)]
    pub performance_drop: PerformanceDrop,
    /// The share of drifted features.
    #[serde(default)]
    pub drift_share: DriftShare,
    /// Time since the last retrain (or since the champion was trained).
    #[serde(default)]
    pub schedule: Schedule,
    /// New labelled rows.
    #[serde(default)]
    pub new_labels: NewLabels,
}

/// Fires when `(reference - current) / reference > max_drop`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PerformanceDrop {
    /// Off when false.
    pub enabled: bool,
    /// `roc_auc` or `accuracy`.
    pub metric: PairedMetric,
    /// The relative drop that fires (0.05 = 5 %).
    pub max_drop: f64,
    /// The reference value (default: the champion bundle's holdout metric).
    pub reference_value: Option<f64>,
}

impl Default for PerformanceDrop {
    fn default() -> Self {
        PerformanceDrop {
            enabled: true,
            metric: PairedMetric::RocAuc,
            max_drop: 0.05,
            reference_value: None,
        }
    }
}

/// Fires when the share of drifted features is above `above`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriftShare {
    /// Off when false.
    pub enabled: bool,
    /// The share that fires (0.3 = 30 % of the features).
    pub above: f64,
    /// The columns compared (default: the champion's inputs).
    pub columns: Option<Vec<String>>,
}

impl Default for DriftShare {
    fn default() -> Self {
        DriftShare {
            enabled: true,
            above: 0.3,
            columns: None,
        }
    }
}

/// Fires when `every` has passed since the last retrain.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Schedule {
    /// Off when false.
    pub enabled: bool,
    /// `7d`, `12h`, ...
    pub every: String,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            enabled: true,
            every: "7d".into(),
        }
    }
}

/// Fires when at least `at_least` labelled rows arrived.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NewLabels {
    /// Off when false.
    pub enabled: bool,
    /// The count that fires.
    pub at_least: u64,
}

impl Default for NewLabels {
    fn default() -> Self {
        NewLabels {
            enabled: true,
            at_least: 1000,
        }
    }
}

/// The metrics the paired tests cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairedMetric {
    /// Accuracy: McNemar's test on the discordant pairs.
    Accuracy,
    /// ROC AUC (binary): a paired bootstrap of the difference.
    RocAuc,
}

impl PairedMetric {
    /// The name in YAML and output.
    pub fn name(self) -> &'static str {
        match self {
            PairedMetric::Accuracy => "accuracy",
            PairedMetric::RocAuc => "roc_auc",
        }
    }
}

/// Which paired test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairedTest {
    /// McNemar's exact binomial test (`statsmodels` `mcnemar(exact=True)`).
    McnemarExact,
    /// McNemar's chi-square test with the continuity correction (`exact=False`).
    McnemarChi2,
    /// A seeded paired bootstrap of the metric's difference.
    Bootstrap,
}

impl PairedTest {
    /// The name in YAML and output.
    pub fn name(self) -> &'static str {
        match self {
            PairedTest::McnemarExact => "mcnemar_exact",
            PairedTest::McnemarChi2 => "mcnemar_chi2",
            PairedTest::Bootstrap => "bootstrap",
        }
    }
}

/// What a winning challenger gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The champion stays.
    Keep,
    /// A canary rollout of the challenger.
    Canary,
    /// A blue-green switch to the challenger.
    BlueGreen,
}

impl Action {
    /// The name in YAML and output.
    pub fn name(self) -> &'static str {
        match self {
            Action::Keep => "keep",
            Action::Canary => "canary",
            Action::BlueGreen => "blue_green",
        }
    }
}

/// How the challenger is judged: deployed when it beats the champion on the window by more
/// than `min_improvement` (relative; the seed's 2 %), and, when `alpha` is set, the paired
/// test is significant at `alpha`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DecisionRule {
    /// The metric compared.
    pub metric: PairedMetric,
    /// The test (default: McNemar exact for accuracy, the bootstrap for ROC AUC).
    pub test: Option<PairedTest>,
    /// The relative improvement needed (0.02 = 2 %).
    pub min_improvement: f64,
    /// When set, the paired test's p-value must also be below it.
    pub alpha: Option<f64>,
    /// What a winner gets: `canary` or `blue_green`.
    pub strategy: Action,
    /// Bootstrap resamples.
    pub resamples: usize,
    /// Bootstrap seed.
    pub seed: u64,
}

impl Default for DecisionRule {
    fn default() -> Self {
        DecisionRule {
            metric: PairedMetric::Accuracy,
            test: None,
            min_improvement: 0.02,
            alpha: None,
            strategy: Action::Canary,
            resamples: 1000,
            seed: 0,
        }
    }
}

impl DecisionRule {
    /// The test used for this metric.
    pub fn test(&self) -> PairedTest {
        self.test.unwrap_or(match self.metric {
            PairedMetric::Accuracy => PairedTest::McnemarExact,
            PairedMetric::RocAuc => PairedTest::Bootstrap,
        })
    }
}

/// The deployment a winning challenger gets (through the rollout library).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentSettings {
    /// The deployment's name.
    pub name: String,
    /// The serving server that runs it (`http://host:port`; default: the tracking server).
    #[serde(default)]
    pub server: Option<String>,
    /// The champion's alias.
    #[serde(default = "champion_alias")]
    pub champion: String,
    /// Canary parameters (the rollout library's names and defaults).
    #[serde(default)]
    pub canary: Option<serde_json::Value>,
}

fn champion_alias() -> String {
    "champion".into()
}

impl RetrainPolicy {
    /// Reads and checks a policy file; relative paths are resolved against its folder.
    pub fn load(path: &Path) -> Result<RetrainPolicy> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        Self::parse(&text, base).map_err(|e| match e {
            Error::BadInput { message } => bad(format!("{}: {message}", path.display())),
            other => other,
        })
    }

    /// Parses and checks a policy's text; relative paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<RetrainPolicy> {
        let file: PolicyFile = serde_norway::from_str(text).map_err(|e| bad(e.to_string()))?;
        let mut p = file.retrain;
        p.check()?;
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        join(&mut p.pipeline);
        join(&mut p.champion);
        join(&mut p.reference);
        join(&mut p.new_rows);
        if let Some(c) = p.current.as_mut() {
            join(c);
        }
        if let Some(l) = p.labels.as_mut() {
            join(&mut l.file);
        }
        let mut jobs = p
            .jobs
            .take()
            .unwrap_or_else(|| PathBuf::from("retrain-jobs"));
        join(&mut jobs);
        p.jobs = Some(jobs);
        Ok(p)
    }

    /// Checks every field against its rule.
    pub fn check(&self) -> Result<()> {
        let f = |field: &str, rule: &str| Err(bad(format!("retrain.{field}: {rule}")));
        if self.model.trim().is_empty() {
            return f("model", "must name the registered model");
        }
        if self.window_rows < 10 {
            return f("window_rows", "must be at least 10");
        }
        let t = &self.triggers;
        let pd = &t.performance_drop;
        if !(pd.max_drop > 0.0 && pd.max_drop < 1.0) {
            return f(
                "triggers.performance_drop.max_drop",
                "must be between 0 and 1 (0.05 = a 5 % drop)",
            );
        }
        if let Some(v) = pd.reference_value
            && !(v.is_finite() && v > 0.0)
        {
            return f(
                "triggers.performance_drop.reference_value",
                "must be a positive number",
            );
        }
        if !(t.drift_share.above >= 0.0 && t.drift_share.above < 1.0) {
            return f(
                "triggers.drift_share.above",
                "must be in [0, 1) (0.3 = 30 % of the features)",
            );
        }
        if crate::alerts::config::parse_duration(&t.schedule.every).is_none_or(|d| d.is_zero()) {
            return f(
                "triggers.schedule.every",
                &format!(
                    "'{}' is not a duration such as 30m, 12h or 7d",
                    t.schedule.every
                ),
            );
        }
        if t.new_labels.at_least == 0 {
            return f("triggers.new_labels.at_least", "must be at least 1");
        }
        let d = &self.decision;
        if !(d.min_improvement.is_finite() && d.min_improvement >= 0.0) {
            return f(
                "decision.min_improvement",
                "must be 0 or more (0.02 = 2 % better)",
            );
        }
        if let Some(a) = d.alpha
            && !(a > 0.0 && a < 1.0)
        {
            return f("decision.alpha", "must be between 0 and 1");
        }
        if d.strategy == Action::Keep {
            return f(
                "decision.strategy",
                "must be canary or blue_green (what a winning challenger gets)",
            );
        }
        let test = d.test();
        match (d.metric, test) {
            (PairedMetric::Accuracy, PairedTest::McnemarExact | PairedTest::McnemarChi2)
            | (PairedMetric::RocAuc, PairedTest::Bootstrap)
            | (PairedMetric::Accuracy, PairedTest::Bootstrap) => {}
            (PairedMetric::RocAuc, _) => {
                return f(
                    "decision.test",
                    "McNemar's test compares accuracy; ROC AUC is compared by `bootstrap`",
                );
            }
        }
        if test == PairedTest::Bootstrap && !(100..=100_000).contains(&d.resamples) {
            return f("decision.resamples", "must be between 100 and 100000");
        }
        Ok(())
    }

    /// The schedule's period.
    pub fn schedule_every(&self) -> Duration {
        crate::alerts::config::parse_duration(&self.triggers.schedule.every)
            .unwrap_or(Duration::from_secs(7 * 86_400))
    }

    /// The job folder.
    pub fn jobs_dir(&self) -> PathBuf {
        self.jobs
            .clone()
            .unwrap_or_else(|| PathBuf::from("retrain-jobs"))
    }
}

/// What the triggers are evaluated on (gathered by the engine).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TriggerInputs {
    /// The reference value of the performance metric.
    pub reference_metric: Option<f64>,
    /// The champion's metric on the recent window.
    pub current_metric: Option<f64>,
    /// The share of drifted features (0..1).
    pub drift_share: Option<f64>,
    /// The drifted features, for the output.
    pub drifted_features: Vec<String>,
    /// When the champion was last retrained (or trained).
    pub last_retrain: Option<DateTime<Utc>>,
    /// Now.
    pub now: DateTime<Utc>,
    /// Labelled rows that arrived.
    pub new_labelled_rows: u64,
}

/// One trigger's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerResult {
    /// `performance_drop`, `drift_share`, `schedule` or `new_labels`.
    pub name: String,
    /// Whether it is on.
    pub enabled: bool,
    /// Whether it fired.
    pub fired: bool,
    /// The measured value (relative drop, share, hours since, rows), when known.
    pub value: Option<f64>,
    /// The threshold it is compared with.
    pub threshold: f64,
    /// The verdict in words, with the numbers.
    pub detail: String,
}

/// Evaluates every trigger of `policy` on `inputs`.
pub fn evaluate_triggers(policy: &RetrainPolicy, inputs: &TriggerInputs) -> Vec<TriggerResult> {
    let t = &policy.triggers;
    let mut out = Vec::with_capacity(4);
    // Performance drop, relative to the reference value.
    let pd = &t.performance_drop;
    let metric = pd.metric.name();
    let (value, detail) = match (inputs.reference_metric, inputs.current_metric) {
        (Some(r), Some(c)) if r > 0.0 => {
            let drop = (r - c) / r;
            (
                Some(drop),
                format!(
                    "{metric} {c:.4} on the window vs {r:.4} reference: {} {:.2} % (fires above {:.2} %)",
                    if drop >= 0.0 { "drop" } else { "gain" },
                    drop.abs() * 100.0,
                    pd.max_drop * 100.0
                ),
            )
        }
        (None, _) => (None, format!("no reference {metric}: not evaluated")),
        _ => (
            None,
            format!("{metric} undefined on the window (one class?): not evaluated"),
        ),
    };
    out.push(TriggerResult {
        name: "performance_drop".into(),
        enabled: pd.enabled,
        fired: pd.enabled && value.is_some_and(|d| d > pd.max_drop),
        value,
        threshold: pd.max_drop,
        detail,
    });
    // Drift share.
    let ds = &t.drift_share;
    let detail = match inputs.drift_share {
        Some(s) => format!(
            "{:.1} % of the features drifted{} (fires above {:.1} %)",
            s * 100.0,
            if inputs.drifted_features.is_empty() {
                String::new()
            } else {
                format!(": {}", inputs.drifted_features.join(", "))
            },
            ds.above * 100.0
        ),
        None => "drift not measured".into(),
    };
    out.push(TriggerResult {
        name: "drift_share".into(),
        enabled: ds.enabled,
        fired: ds.enabled && inputs.drift_share.is_some_and(|s| s > ds.above),
        value: inputs.drift_share,
        threshold: ds.above,
        detail,
    });
    // Schedule.
    let every = policy.schedule_every();
    let every_h = every.as_secs_f64() / 3600.0;
    let since = inputs
        .last_retrain
        .map(|l| (inputs.now - l).num_seconds() as f64 / 3600.0);
    let detail = match (since, inputs.last_retrain) {
        (Some(h), Some(l)) => format!(
            "{h:.1} h since the last training ({}), every {} ({every_h:.0} h)",
            l.format("%Y-%m-%dT%H:%M:%SZ"),
            t.schedule.every
        ),
        _ => "no previous training time: not evaluated".into(),
    };
    out.push(TriggerResult {
        name: "schedule".into(),
        enabled: t.schedule.enabled,
        fired: t.schedule.enabled && since.is_some_and(|h| h >= every_h),
        value: since,
        threshold: every_h,
        detail,
    });
    // New labelled rows.
    let nl = &t.new_labels;
    out.push(TriggerResult {
        name: "new_labels".into(),
        enabled: nl.enabled,
        fired: nl.enabled && inputs.new_labelled_rows >= nl.at_least,
        value: Some(inputs.new_labelled_rows as f64),
        threshold: nl.at_least as f64,
        detail: format!(
            "{} new labelled rows (fires at {})",
            inputs.new_labelled_rows, nl.at_least
        ),
    });
    out
}

/// McNemar's test on the discordant pairs, as `statsmodels.stats.contingency_tables.mcnemar`:
/// `b` pairs where only the first model is right, `c` where only the second is. Exact: the
/// statistic is `min(b, c)` and the p-value `min(1, 2 · binom.cdf(min(b, c), b + c, 0.5))`;
/// otherwise `(|b − c| − 1)² / (b + c)` (without the 1 when `correction` is false) against
/// chi-square with one degree of freedom. With no discordant pair the models cannot differ:
/// statistic 0, p-value 1 (statsmodels divides by zero there).
pub fn mcnemar(b: u64, c: u64, exact: bool, correction: bool) -> (f64, f64) {
    let n = b + c;
    if n == 0 {
        return (0.0, 1.0);
    }
    if exact {
        let k = b.min(c);
        // binom.cdf(k; n, 1/2) = I_{1/2}(n − k, k + 1) for k < n.
        let cdf = slipway_data::special::beta_inc((n - k) as f64, (k + 1) as f64, 0.5);
        (k as f64, (2.0 * cdf).min(1.0))
    } else {
        let diff = (b as f64 - c as f64).abs() - if correction { 1.0 } else { 0.0 };
        let stat = diff * diff / n as f64;
        (stat, slipway_data::special::chi2_sf(stat, 1.0))
    }
}

/// The comparison of the challenger with the champion on one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The metric.
    pub metric: PairedMetric,
    /// The test.
    pub test: PairedTest,
    /// Rows in the window.
    pub rows: usize,
    /// The champion's value.
    pub champion: f64,
    /// The challenger's value.
    pub challenger: f64,
    /// `(challenger − champion) / champion`.
    pub improvement: f64,
    /// McNemar: rows only the champion got right.
    pub only_champion_right: Option<u64>,
    /// McNemar: rows only the challenger got right.
    pub only_challenger_right: Option<u64>,
    /// The test statistic (McNemar) or the mean bootstrap difference.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Bootstrap: the percentile interval of the difference (95 %).
    pub interval: Option<(f64, f64)>,
    /// Bootstrap: resamples left out because one class was missing.
    pub skipped_resamples: Option<usize>,
}

/// The window: the truth and both models' outputs, row by row.
#[derive(Debug, Clone)]
pub struct PairedOutputs<'a> {
    /// Class index of each row's label.
    pub truth: &'a [u32],
    /// The champion's predicted class index.
    pub champion_pred: &'a [u32],
    /// The challenger's predicted class index.
    pub challenger_pred: &'a [u32],
    /// Binary: the champion's probability of the positive class.
    pub champion_score: Option<&'a [f64]>,
    /// Binary: the challenger's probability of the positive class.
    pub challenger_score: Option<&'a [f64]>,
}

fn accuracy(truth: &[u32], pred: &[u32], idx: Option<&[usize]>) -> f64 {
    match idx {
        Some(ix) => ix.iter().filter(|&&i| truth[i] == pred[i]).count() as f64 / ix.len() as f64,
        None => truth.iter().zip(pred).filter(|(t, p)| t == p).count() as f64 / truth.len() as f64,
    }
}

fn auc(truth: &[u32], score: &[f64]) -> Option<f64> {
    slipway_learn::metrics::roc_auc(truth, score, None)
        .ok()
        .filter(|v| v.is_finite())
}

/// Compares both models on the window with the rule's test.
pub fn compare(rule: &DecisionRule, w: &PairedOutputs<'_>) -> Result<Comparison> {
    let n = w.truth.len();
    if n == 0 || w.champion_pred.len() != n || w.challenger_pred.len() != n {
        return Err(bad(format!(
            "the comparison window needs the same rows for both models ({n} labels, {} and {} predictions)",
            w.champion_pred.len(),
            w.challenger_pred.len()
        )));
    }
    let test = rule.test();
    let (m0, m1) = match rule.metric {
        PairedMetric::Accuracy => (
            accuracy(w.truth, w.champion_pred, None),
            accuracy(w.truth, w.challenger_pred, None),
        ),
        PairedMetric::RocAuc => {
            let (Some(s0), Some(s1)) = (w.champion_score, w.challenger_score) else {
                return Err(bad(
                    "decision.metric roc_auc: the models give no positive-class probability (binary classifiers only)".into(),
                ));
            };
            match (auc(w.truth, s0), auc(w.truth, s1)) {
                (Some(a), Some(b)) => (a, b),
                _ => {
                    return Err(bad(format!(
                        "decision.metric roc_auc: undefined on the window of {n} rows (it holds one class)"
                    )));
                }
            }
        }
    };
    let improvement = if m0 > 0.0 {
        (m1 - m0) / m0
    } else {
        f64::INFINITY
    };
    let mut cmp = Comparison {
        metric: rule.metric,
        test,
        rows: n,
        champion: m0,
        challenger: m1,
        improvement,
        only_champion_right: None,
        only_challenger_right: None,
        statistic: f64::NAN,
        p_value: f64::NAN,
        interval: None,
        skipped_resamples: None,
    };
    match test {
        PairedTest::McnemarExact | PairedTest::McnemarChi2 => {
            let mut b = 0u64;
            let mut c = 0u64;
            for i in 0..n {
                let r0 = w.champion_pred[i] == w.truth[i];
                let r1 = w.challenger_pred[i] == w.truth[i];
                match (r0, r1) {
                    (true, false) => b += 1,
                    (false, true) => c += 1,
                    _ => {}
                }
            }
            let (s, p) = mcnemar(b, c, test == PairedTest::McnemarExact, true);
            cmp.only_champion_right = Some(b);
            cmp.only_challenger_right = Some(c);
            cmp.statistic = s;
            cmp.p_value = p;
        }
        PairedTest::Bootstrap => {
            let (diffs, skipped) = bootstrap_differences(rule, w)?;
            if diffs.is_empty() {
                return Err(bad(
                    "decision: every bootstrap resample of the window held one class".into(),
                ));
            }
            let mut sorted = diffs.clone();
            sorted.sort_by(f64::total_cmp);
            let q = |p: f64| {
                // numpy's default (linear) percentile.
                let pos = p * (sorted.len() - 1) as f64;
                let lo = pos.floor() as usize;
                let hi = pos.ceil() as usize;
                sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
            };
            let le = diffs.iter().filter(|&&d| d <= 0.0).count() as f64;
            let ge = diffs.iter().filter(|&&d| d >= 0.0).count() as f64;
            let k = diffs.len() as f64;
            cmp.statistic = diffs.iter().sum::<f64>() / k;
            cmp.p_value = (2.0 * le.min(ge) / k).min(1.0);
            cmp.interval = Some((q(0.025), q(0.975)));
            cmp.skipped_resamples = Some(skipped);
        }
    }
    Ok(cmp)
}

/// The challenger's metric minus the champion's on `rule.resamples` seeded resamples of the
/// window's rows (the same rows for both: a paired bootstrap).
fn bootstrap_differences(rule: &DecisionRule, w: &PairedOutputs<'_>) -> Result<(Vec<f64>, usize)> {
    let n = w.truth.len();
    let mut rng = ChaCha8Rng::seed_from_u64(rule.seed);
    let mut diffs = Vec::with_capacity(rule.resamples);
    let mut skipped = 0;
    let mut idx = vec![0usize; n];
    let mut t = vec![0u32; n];
    let mut s0 = vec![0f64; n];
    let mut s1 = vec![0f64; n];
    for _ in 0..rule.resamples {
        for i in idx.iter_mut() {
            *i = rng.random_range(0..n);
        }
        match rule.metric {
            PairedMetric::Accuracy => diffs.push(
                accuracy(w.truth, w.challenger_pred, Some(&idx))
                    - accuracy(w.truth, w.champion_pred, Some(&idx)),
            ),
            PairedMetric::RocAuc => {
                let (Some(a), Some(b)) = (w.champion_score, w.challenger_score) else {
                    return Err(bad("decision.metric roc_auc: no probabilities".into()));
                };
                for (j, &i) in idx.iter().enumerate() {
                    t[j] = w.truth[i];
                    s0[j] = a[i];
                    s1[j] = b[i];
                }
                match (auc(&t, &s0), auc(&t, &s1)) {
                    (Some(x), Some(y)) => diffs.push(y - x),
                    _ => skipped += 1,
                }
            }
        }
    }
    Ok((diffs, skipped))
}

/// The decision with its numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// keep, canary or blue_green.
    pub action: Action,
    /// Why, in words, with the numbers.
    pub reason: String,
    /// The comparison it was decided on.
    pub comparison: Comparison,
    /// The relative improvement needed.
    pub min_improvement: f64,
    /// The significance level, when the rule needs one.
    pub alpha: Option<f64>,
}

/// Applies the rule to a comparison.
pub fn decide(rule: &DecisionRule, cmp: Comparison) -> Decision {
    let metric = cmp.metric.name();
    let better = cmp.improvement > rule.min_improvement;
    let significant = rule.alpha.is_none_or(|a| cmp.p_value < a);
    let numbers = format!(
        "{metric} {:.4} vs champion {:.4} ({:+.2} %, needs > {:.2} %); {} p = {:.4}",
        cmp.challenger,
        cmp.champion,
        cmp.improvement * 100.0,
        rule.min_improvement * 100.0,
        cmp.test.name(),
        cmp.p_value
    );
    let (action, why) = match (better, significant) {
        (true, true) => (
            rule.strategy,
            match rule.alpha {
                Some(a) => format!("the challenger wins: {numbers} < {a}"),
                None => format!("the challenger wins: {numbers}"),
            },
        ),
        (false, _) => (
            Action::Keep,
            format!("the champion stays: the challenger does not beat it by enough: {numbers}"),
        ),
        (true, false) => (
            Action::Keep,
            format!(
                "the champion stays: the gain is not significant: {numbers} ≥ {}",
                rule.alpha.unwrap_or(0.0)
            ),
        ),
    };
    Decision {
        action,
        reason: why,
        comparison: cmp,
        min_improvement: rule.min_improvement,
        alpha: rule.alpha,
    }
}

/// The policy's state between runs: when it last retrained.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RetrainState {
    /// When the last retrain finished.
    pub last_retrain_at: Option<DateTime<Utc>>,
    /// Its job.
    pub last_job: Option<String>,
}

impl RetrainState {
    /// Reads the state (a missing file is the empty state).
    pub fn load(path: &Path) -> Result<RetrainState> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| bad(format!("{}: not a retrain state file: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RetrainState::default()),
            Err(source) => Err(Error::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Writes the state atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| Error::Internal(e.to_string()))?;
        crate::write_atomic(path, &bytes)
    }
}
