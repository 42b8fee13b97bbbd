//! Slipway's governance: the promotion gate in front of protected aliases, and fairness
//! metrics by protected group ([`fairness`]).
//!
//! - [`Policy`] is read once from YAML ([`Policy::load`], [`Policy::parse`]): [`Rules`]
//!   (bounds on run metrics, required tags) and the aliases they protect.
//! - [`Rules::evaluate`] checks a version's [`Evidence`] (its run's metrics, its run's and its
//!   own tags) and returns every broken rule, not just the first.
//! - [`set_alias`] and [`delete_alias`] are the one way an alias moves, for the CLI and the
//!   server alike: over any [`MetadataStore`], an alias the policy protects moves only when
//!   the version passes (or the caller forces it, with a reason), and every attempt is
//!   recorded as its own [`Promotion`] in the same transaction as the move. An alias no
//!   policy protects moves as MLflow moves it.

pub mod fairness;
pub mod mitigation;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use slipway_store::{KeyValue, MetadataStore, NewPromotion};

pub use slipway_store::{Promotion, PromotionOutcome};

/// Whether an error is the caller's to fix or a failure inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A bad policy, a bad request, a refused promotion, a missing model or version.
    User,
    /// The store failed.
    Internal,
}

/// Everything governance can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policy file cannot be read or breaks a rule of the format; names the file and
    /// the field.
    #[error("{origin}: {message}")]
    Policy {
        /// Where the policy came from (its path).
        origin: String,
        /// What is wrong, starting with the field.
        message: String,
    },
    /// The request breaks a rule (a force without a reason, ...).
    #[error("{0}")]
    InvalidRequest(String),
    /// The gate refused the version; the refusal is recorded.
    #[error("{}", refusal_message(.0))]
    Refused(Box<Promotion>),
    /// The store failed or refused the operation.
    #[error(transparent)]
    Store(#[from] slipway_store::Error),
}

fn refusal_message(p: &Promotion) -> String {
    format!(
        "promotion of model '{}' version {} to alias '{}' refused by the policy ({} broken rule{}): {}",
        p.name,
        p.version,
        p.alias,
        p.reasons.len(),
        if p.reasons.len() == 1 { "" } else { "s" },
        p.reasons.join("; ")
    )
}

impl Error {
    /// Whether the caller can fix this.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Policy { .. } | Error::InvalidRequest(_) | Error::Refused(_) => ErrorKind::User,
            Error::Store(e) => match e.kind() {
                slipway_store::ErrorKind::User => ErrorKind::User,
                slipway_store::ErrorKind::Internal => ErrorKind::Internal,
            },
        }
    }
}

/// Governance's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A bound on one run metric.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bound {
    /// The smallest value that passes.
    pub min: Option<f64>,
    /// The largest value that passes.
    pub max: Option<f64>,
}

/// What a version must show to be promoted.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Run metrics (e.g. `holdout.roc_auc`) with a minimum and/or maximum.
    #[serde(default)]
    pub metrics: BTreeMap<String, Bound>,
    /// Tags (on the version or its run) that must be present; a value, when given, must
    /// match (e.g. `slipway.validation.passed: "true"`, `fairness.checked: null`).
    #[serde(default)]
    pub required_tags: BTreeMap<String, Option<String>>,
    /// Bounds on the fairness summaries of the version's run, by protected column (or
    /// intersection `a & b`): `fairness: {sex: {demographic_parity_difference: {max: 0.1}}}`
    /// bounds the run metric `fairness.sex.demographic_parity_difference` that training
    /// logs for each `roles: {protected: [...]}` column.
    #[serde(default)]
    pub fairness: BTreeMap<String, BTreeMap<String, Bound>>,
}

/// What a version shows: its run's latest metrics, and tags (the version's own override its
/// run's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// The run that produced the version, when it has one.
    pub run_id: Option<String>,
    /// Latest value of each run metric.
    pub metrics: BTreeMap<String, f64>,
    /// Run tags overlaid with version tags.
    pub tags: BTreeMap<String, String>,
}

impl Rules {
    fn is_empty(&self) -> bool {
        self.metrics.is_empty() && self.required_tags.is_empty() && self.fairness.is_empty()
    }

    /// These rules and `more` (a metric or tag in both: `more`'s).
    fn and(&self, more: &Rules) -> Rules {
        let mut all = self.clone();
        all.metrics
            .extend(more.metrics.iter().map(|(k, v)| (k.clone(), v.clone())));
        all.required_tags.extend(
            more.required_tags
                .iter()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        for (attribute, bounds) in &more.fairness {
            all.fairness
                .entry(attribute.clone())
                .or_default()
                .extend(bounds.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        all
    }

    /// Each bound with the run metric it reads and the name it has in the policy.
    fn bounds(&self) -> Vec<(String, String, &Bound)> {
        let mut out: Vec<(String, String, &Bound)> = self
            .metrics
            .iter()
            .map(|(k, b)| (k.clone(), format!("metrics.{k}"), b))
            .collect();
        for (attribute, bounds) in &self.fairness {
            for (summary, b) in bounds {
                out.push((
                    format!("fairness.{}.{summary}", fairness::metric_key(attribute)),
                    format!("fairness.{attribute}.{summary}"),
                    b,
                ));
            }
        }
        out
    }

    fn check(&self, at: &str) -> std::result::Result<(), String> {
        for (attribute, bounds) in &self.fairness {
            if let Some(k) = bounds
                .keys()
                .find(|k| !fairness::SUMMARIES.contains(&k.as_str()))
            {
                return Err(format!(
                    "{at}fairness.{attribute}.{k}: not a fairness summary (one of {})",
                    fairness::SUMMARIES.join(", ")
                ));
            }
        }
        for (_, k, b) in self.bounds() {
            if b.min.is_none() && b.max.is_none() {
                return Err(format!("{at}{k}: give `min` and/or `max`"));
            }
            if b.min.is_some_and(f64::is_nan) || b.max.is_some_and(f64::is_nan) {
                return Err(format!("{at}{k}: a bound must be a number, not NaN"));
            }
            match (b.min, b.max) {
                (Some(lo), Some(hi)) if lo > hi => {
                    return Err(format!("{at}{k}: min {lo} is above max {hi}"));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Every broken rule, in order (metrics, then tags); empty when the evidence passes.
    pub fn evaluate(&self, evidence: &Evidence) -> Vec<String> {
        let mut reasons = Vec::new();
        for (k, _, b) in self.bounds() {
            let Some(&v) = evidence.metrics.get(&k) else {
                let hint = if k.starts_with("fairness.") {
                    " (training logs it when the config lists the column under roles: \
                     {protected: [...]} and the target is binary)"
                } else {
                    ""
                };
                reasons.push(match &evidence.run_id {
                    Some(_) => format!("metric {k}: not recorded on the version's run{hint}"),
                    None => format!("metric {k}: the version has no run to read it from"),
                });
                continue;
            };
            if v.is_nan() {
                reasons.push(format!("metric {k}: is NaN, which meets no bound"));
                continue;
            }
            if let Some(lo) = b.min.filter(|lo| v < *lo) {
                reasons.push(format!("metric {k}: {v} is below the minimum {lo}"));
            }
            if let Some(hi) = b.max.filter(|hi| v > *hi) {
                reasons.push(format!("metric {k}: {v} is above the maximum {hi}"));
            }
        }
        for (k, want) in &self.required_tags {
            match (evidence.tags.get(k), want) {
                (None, _) => reasons.push(format!("tag {k}: required but not set")),
                (Some(have), Some(w)) if have != w => {
                    reasons.push(format!("tag {k}: is '{have}', required '{w}'"));
                }
                _ => {}
            }
        }
        reasons
    }
}

/// The promotion policy: rules, and the aliases they protect.
///
/// The YAML (at the top of a file, or under its `policy:` key):
///
/// ```yaml
/// metrics: {holdout.roc_auc: {min: 0.95}}          # rules every protected alias applies
/// fairness: {sex: {demographic_parity_difference: {max: 0.1}}}   # run metric fairness.sex.…
/// required_tags: {slipway.validation.passed: "true", fairness.checked: null}
/// protected_aliases: [champion, production]        # the aliases these rules protect
/// # or, with rules of their own on top of those above:
/// # protected_aliases:
/// #   champion: {metrics: {holdout.accuracy: {min: 0.9}}}
/// #   production: {}
/// ```
///
/// A policy without `protected_aliases` names no alias: `slipway models promote` and
/// `slipway models alias --policy` apply it to the alias they move ([`Policy::protecting`]);
/// a server needs the aliases named.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Rules every protected alias applies.
    rules: Rules,
    /// Each protected alias with the rules of its own (added to `rules`); `None` when the
    /// policy names no alias.
    aliases: Option<BTreeMap<String, Rules>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    metrics: BTreeMap<String, Bound>,
    #[serde(default)]
    required_tags: BTreeMap<String, Option<String>>,
    #[serde(default)]
    fairness: BTreeMap<String, BTreeMap<String, Bound>>,
    #[serde(default)]
    protected_aliases: Option<serde_norway::Value>,
}

/// Whether `alias` is a name MLflow accepts for an alias.
fn alias_name_ok(alias: &str) -> bool {
    !alias.is_empty()
        && alias.len() <= 256
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Policy {
    /// Reads a policy file, or the `policy:` section of a file that has one.
    pub fn load(path: &Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Policy {
            origin: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        Policy::parse(&text, &path.display().to_string())
    }

    /// Parses policy YAML; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Policy> {
        let bad = |message: String| Error::Policy {
            origin: origin.to_string(),
            message,
        };
        let value: serde_norway::Value =
            serde_norway::from_str(text).map_err(|e| bad(e.to_string()))?;
        let (section, at) = match value.get("policy") {
            Some(p) => (p.clone(), "policy."),
            None => (value, ""),
        };
        if section.is_null() {
            return Err(bad(format!(
                "{at}no rules: give `metrics`, `fairness` and/or `required_tags`"
            )));
        }
        let file: PolicyFile =
            serde_norway::from_value(section).map_err(|e| bad(format!("{at}{e}")))?;
        let rules = Rules {
            metrics: file.metrics,
            required_tags: file.required_tags,
            fairness: file.fairness,
        };
        rules.check(at).map_err(bad)?;
        let aliases = match file.protected_aliases {
            None => None,
            Some(v) => Some(Self::parse_aliases(v, &rules, at).map_err(bad)?),
        };
        if aliases.is_none() && rules.is_empty() {
            return Err(bad(format!(
                "{at}no rules: give `metrics`, `fairness` and/or `required_tags`"
            )));
        }
        Ok(Policy { rules, aliases })
    }

    fn parse_aliases(
        v: serde_norway::Value,
        common: &Rules,
        at: &str,
    ) -> std::result::Result<BTreeMap<String, Rules>, String> {
        use serde_norway::Value;
        let field = format!("{at}protected_aliases");
        let mut out = BTreeMap::new();
        let mut add = |name: &Value, rules: Rules| -> std::result::Result<(), String> {
            let Some(name) = name.as_str() else {
                return Err(format!("{field}: an alias name must be a string"));
            };
            if !alias_name_ok(name) {
                return Err(format!(
                    "{field}: '{name}' is not an alias name (letters, digits, _ and -)"
                ));
            }
            rules.check(&format!("{field}.{name}."))?;
            if common.and(&rules).is_empty() {
                return Err(format!(
                    "{field}.{name}: no rules: give `metrics` and/or `required_tags` at the top \
                     or under the alias"
                ));
            }
            if out.insert(name.to_string(), rules).is_some() {
                return Err(format!("{field}: '{name}' is named twice"));
            }
            Ok(())
        };
        match v {
            Value::Sequence(names) => {
                for name in &names {
                    add(name, Rules::default())?;
                }
            }
            Value::Mapping(map) => {
                for (name, rules) in map {
                    let rules: Rules = if rules.is_null() {
                        Rules::default()
                    } else {
                        serde_norway::from_value(rules)
                            .map_err(|e| format!("{field}.{}: {e}", name.as_str().unwrap_or("?")))?
                    };
                    add(&name, rules)?;
                }
            }
            _ => {
                return Err(format!(
                    "{field}: give a list of aliases or a map of alias to its rules"
                ));
            }
        }
        if out.is_empty() {
            return Err(format!("{field}: names no alias"));
        }
        Ok(out)
    }

    /// Whether the policy names the aliases it protects (a server needs that).
    pub fn names_aliases(&self) -> bool {
        self.aliases.is_some()
    }

    /// The aliases this policy protects, sorted.
    pub fn protected_aliases(&self) -> Vec<&str> {
        self.aliases
            .iter()
            .flat_map(|a| a.keys().map(String::as_str))
            .collect()
    }

    /// This policy applied to `alias` when it names no alias of its own (the rules of a
    /// `slipway models promote --to ALIAS --policy FILE`); a policy that names its aliases
    /// is returned as it is.
    pub fn protecting(mut self, alias: &str) -> Policy {
        if self.aliases.is_none() {
            self.aliases = Some(BTreeMap::from([(alias.to_string(), Rules::default())]));
        }
        self
    }

    /// The rules a version must pass to get `alias`; `None` when the alias is not protected.
    pub fn rules_for(&self, alias: &str) -> Option<Rules> {
        let own = self.aliases.as_ref()?.get(alias)?;
        Some(self.rules.and(own))
    }
}

/// Reads what a version shows: its run's latest metrics and its run's tags overlaid with its
/// own.
pub async fn evidence(store: &dyn MetadataStore, name: &str, version: &str) -> Result<Evidence> {
    let v = store.get_model_version(name, version).await?;
    let mut evidence = Evidence::default();
    if !v.run_id.is_empty() {
        match store.get_run(&v.run_id).await {
            Ok(run) => {
                evidence.metrics = run.metrics.into_iter().map(|m| (m.key, m.value)).collect();
                evidence.tags = run.tags.into_iter().map(|t| (t.key, t.value)).collect();
            }
            // A run that is gone shows nothing: every metric rule then fails with a reason.
            Err(slipway_store::Error::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        evidence.run_id = Some(v.run_id);
    }
    evidence
        .tags
        .extend(v.tags.into_iter().map(|t| (t.key, t.value)));
    Ok(evidence)
}

/// A request to point an alias at a version.
#[derive(Debug, Clone, Default)]
pub struct AliasRequest {
    /// The registered model.
    pub name: String,
    /// The alias.
    pub alias: String,
    /// The version (decimal, as a client sends it).
    pub version: String,
    /// Move a protected alias even when the version breaks rules.
    pub force: bool,
    /// Why (required with `force`, refused without it).
    pub reason: Option<String>,
    /// Refuse (before anything moves) when no policy protects the alias: a promotion
    /// that must not happen ungated.
    pub require_policy: bool,
    /// Who asks, when known.
    pub actor: Option<String>,
}

/// What [`set_alias`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum AliasMove {
    /// No policy protects the alias: it moved as MLflow moves it, unrecorded.
    Unprotected,
    /// The gate ran; the recorded attempt (accepted or forced: the alias moved).
    Gated(Box<Promotion>),
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The version tag `slipway.promotion.<alias>.<outcome>` (JSON: time, reasons, override):
/// the latest attempt of each outcome, for clients that read only tags. The history is the
/// record.
fn summary_tag(
    alias: &str,
    outcome: PromotionOutcome,
    reasons: &[String],
    reason: Option<&str>,
) -> KeyValue {
    let mut value = serde_json::json!({"timestamp": now_ms(), "reasons": reasons});
    if let Some(r) = reason {
        value["override_reason"] = r.into();
    }
    KeyValue::new(
        format!("slipway.promotion.{alias}.{}", outcome.as_str()),
        value.to_string(),
    )
}

/// Points an alias at a version through the gate.
///
/// With no policy, or one that does not protect the alias, the alias moves as in MLflow. A
/// protected alias moves only when the version passes every rule of the policy, or when
/// the request forces it with a reason; either way the attempt is recorded (with every
/// broken rule) in the same transaction as the move. A refused attempt is recorded too, and
/// returned as [`Error::Refused`].
pub async fn set_alias(
    store: &dyn MetadataStore,
    policy: Option<&Policy>,
    req: AliasRequest,
) -> Result<AliasMove> {
    let reason = req.reason.filter(|r| !r.trim().is_empty());
    if req.force && reason.is_none() {
        return Err(Error::InvalidRequest(
            "force: an override needs a reason (say why the policy is overridden)".into(),
        ));
    }
    if !req.force && reason.is_some() {
        return Err(Error::InvalidRequest(
            "reason: a reason is given only with force (an override of the policy)".into(),
        ));
    }
    let rules = policy.and_then(|p| p.rules_for(&req.alias));
    if rules.is_none() && req.require_policy {
        return Err(Error::InvalidRequest(format!(
            "alias '{}': no promotion policy protects it here, so it cannot be promoted \
             through a gate (name it in the policy's `protected_aliases`; a server takes the \
             policy with `slipway serve --policy FILE`)",
            req.alias
        )));
    }
    let Some(rules) = rules else {
        store
            .set_registered_model_alias(&req.name, &req.alias, &req.version)
            .await?;
        return Ok(AliasMove::Unprotected);
    };
    let reasons = rules.evaluate(&evidence(store, &req.name, &req.version).await?);
    let outcome = match (reasons.is_empty(), req.force) {
        (true, _) => PromotionOutcome::Accepted,
        (false, true) => PromotionOutcome::Forced,
        (false, false) => PromotionOutcome::Refused,
    };
    let tag = summary_tag(&req.alias, outcome, &reasons, reason.as_deref());
    let promotion = store
        .record_promotion(NewPromotion {
            name: req.name,
            version: req.version,
            alias: req.alias,
            outcome,
            reasons,
            forced: req.force,
            override_reason: reason,
            actor: req.actor,
            version_tags: vec![tag],
        })
        .await?;
    if outcome == PromotionOutcome::Refused {
        return Err(Error::Refused(Box::new(promotion)));
    }
    Ok(AliasMove::Gated(Box::new(promotion)))
}

/// Removes an alias. A protected one is removed with a record of the removal (the version
/// it pointed at) in the same transaction; any other is removed as in MLflow. Removing an
/// alias that is not set is not an error.
pub async fn delete_alias(
    store: &dyn MetadataStore,
    policy: Option<&Policy>,
    name: &str,
    alias: &str,
    actor: Option<&str>,
) -> Result<Option<Promotion>> {
    if policy.and_then(|p| p.rules_for(alias)).is_some() {
        return Ok(store.remove_protected_alias(name, alias, actor).await?);
    }
    store.delete_registered_model_alias(name, alias).await?;
    Ok(None)
}

/// Deletes a model version. Protected aliases pointing at it are removed first, each with a
/// record of the removal (MLflow drops a deleted version's aliases silently); then the
/// version goes, with any other alias on it.
pub async fn delete_version(
    store: &dyn MetadataStore,
    policy: Option<&Policy>,
    name: &str,
    version: &str,
    actor: Option<&str>,
) -> Result<()> {
    if let Some(policy) = policy {
        let v = store.get_model_version(name, version).await?;
        for alias in v.aliases.iter().filter(|a| policy.rules_for(a).is_some()) {
            store.remove_protected_alias(name, alias, actor).await?;
        }
    }
    store.delete_model_version(name, version).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence_of(metrics: &[(&str, f64)], tags: &[(&str, &str)]) -> Evidence {
        Evidence {
            run_id: Some("r".into()),
            metrics: metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn every_broken_rule_is_reported() {
        let policy = Policy::parse(
            "metrics:\n  auc: {min: 0.9}\n  loss: {max: 0.2}\n  missing: {min: 0}\nrequired_tags:\n  fair: \"true\"\n  checked: null\n",
            "p.yaml",
        )
        .expect("policy")
        .protecting("champion");
        let rules = policy.rules_for("champion").expect("protected");
        let reasons = rules.evaluate(&evidence_of(
            &[("auc", 0.8), ("loss", 0.1)],
            &[("fair", "false")],
        ));
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].contains("auc") && reasons[0].contains("below"));
        assert!(reasons[1].contains("missing"));
        assert!(reasons.iter().any(|r| r.contains("tag checked")));
        assert!(reasons.iter().any(|r| r.contains("tag fair: is 'false'")));
        let ok = evidence_of(
            &[("auc", 0.95), ("loss", 0.1), ("missing", 1.0)],
            &[("fair", "true"), ("checked", "x")],
        );
        assert!(rules.evaluate(&ok).is_empty());
    }

    #[test]
    fn fairness_bounds_read_the_runs_fairness_metrics() {
        let rules = Policy::parse(
            "fairness:\n  sex: {demographic_parity_difference: {max: 0.1}, disparate_impact_ratio: {min: 0.8}}\n  sex & race: {equalized_odds_difference: {max: 0.2}}\n",
            "p",
        )
        .expect("policy")
        .protecting("champion")
        .rules_for("champion")
        .expect("protected");
        let reasons = rules.evaluate(&evidence_of(
            &[
                ("fairness.sex.demographic_parity_difference", 0.19),
                ("fairness.sex.disparate_impact_ratio", 0.85),
            ],
            &[],
        ));
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(
            reasons[0].contains(
                "fairness.sex.demographic_parity_difference: 0.19 is above the maximum 0.1"
            ),
            "{reasons:?}"
        );
        assert!(reasons[1].contains("fairness.sex_and_race.equalized_odds_difference"));
        assert!(reasons[1].contains("roles: {protected"), "{reasons:?}");
        let ok = evidence_of(
            &[
                ("fairness.sex.demographic_parity_difference", 0.05),
                ("fairness.sex.disparate_impact_ratio", 0.85),
                ("fairness.sex_and_race.equalized_odds_difference", 0.1),
            ],
            &[],
        );
        assert!(rules.evaluate(&ok).is_empty());
        let err = Policy::parse("fairness: {sex: {parity: {max: 0.1}}}", "p").unwrap_err();
        assert!(
            err.to_string()
                .contains("fairness.sex.parity: not a fairness summary"),
            "{err}"
        );
        let err =
            Policy::parse("fairness: {sex: {demographic_parity_difference: {}}}", "p").unwrap_err();
        assert!(err.to_string().contains("give `min` and/or `max`"), "{err}");
    }

    #[test]
    fn a_nan_metric_meets_no_bound() {
        // NaN compares false with everything: a plain `v < min` check lets it through.
        let rules = Policy::parse("metrics: {auc: {min: 0.9}, loss: {max: 0.2}}", "p")
            .expect("policy")
            .protecting("champion")
            .rules_for("champion")
            .expect("protected");
        let reasons = rules.evaluate(&evidence_of(&[("auc", f64::NAN), ("loss", f64::NAN)], &[]));
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons.iter().all(|r| r.contains("NaN")), "{reasons:?}");
        let reasons = Rules::default().evaluate(&Evidence::default());
        assert!(reasons.is_empty());
        let no_run = rules.evaluate(&Evidence::default());
        assert!(no_run[0].contains("has no run"), "{no_run:?}");
    }

    #[test]
    fn protected_aliases_as_a_list_or_with_rules_of_their_own() {
        let list = Policy::parse(
            "policy:\n  metrics: {auc: {min: 0.9}}\n  protected_aliases: [champion, production]\n",
            "p",
        )
        .expect("list");
        assert_eq!(list.protected_aliases(), ["champion", "production"]);
        assert!(list.rules_for("staging").is_none());
        assert_eq!(
            list.rules_for("production").expect("protected").metrics["auc"].min,
            Some(0.9)
        );
        // A policy naming its aliases is not widened by `protecting`.
        assert!(
            list.clone()
                .protecting("staging")
                .rules_for("staging")
                .is_none()
        );

        let map = Policy::parse(
            "metrics: {auc: {min: 0.9}}\nprotected_aliases:\n  champion: {metrics: {acc: {min: 0.8}}, required_tags: {fair: \"true\"}}\n  shadow:\n",
            "p",
        )
        .expect("map");
        let champion = map.rules_for("champion").expect("champion");
        assert_eq!(champion.metrics.len(), 2);
        assert_eq!(champion.required_tags.len(), 1);
        assert_eq!(map.rules_for("shadow").expect("shadow").metrics.len(), 1);
        assert!(map.names_aliases());

        // Aliases with rules of their own only; nothing at the top.
        let own = Policy::parse(
            "protected_aliases: {champion: {required_tags: {fair: null}}}",
            "p",
        )
        .expect("own rules");
        assert_eq!(own.protected_aliases(), ["champion"]);
    }

    #[test]
    fn a_bad_policy_names_the_field_and_the_rule() {
        for (text, needle) in [
            ("metrics:\n  auc: {minimum: 0.9}\n", "minimum"),
            ("metrics:\n  auc: {}\n", "metrics.auc: give `min`"),
            (
                "policy:\n  metrics:\n    auc: {min: 0.9, max: 0.1}\n",
                "policy.metrics.auc: min 0.9 is above max 0.1",
            ),
            (
                "metrics: {auc: {min: .nan}}\n",
                "metrics.auc: a bound must be a number",
            ),
            ("required_tag: {}\n", "required_tag"),
            ("{}\n", "no rules"),
            ("", "no rules"),
            (
                "protected_aliases: [champion]\n",
                "protected_aliases.champion: no rules",
            ),
            (
                "metrics: {auc: {min: 0.9}}\nprotected_aliases: [champion, champion]\n",
                "'champion' is named twice",
            ),
            (
                "metrics: {auc: {min: 0.9}}\nprotected_aliases: ['bad alias']\n",
                "'bad alias' is not an alias name",
            ),
            (
                "metrics: {auc: {min: 0.9}}\nprotected_aliases: champion\n",
                "protected_aliases: give a list",
            ),
            (
                "metrics: {auc: {min: 0.9}}\nprotected_aliases: []\n",
                "names no alias",
            ),
            (
                "protected_aliases: {champion: {metrics: {auc: {mni: 1}}}}\n",
                "protected_aliases.champion: unknown field `mni`, expected `min` or `max`",
            ),
            (
                "protected_aliases: {champion: {metrics: {auc: {max: 0.1, min: 0.2}}}}\n",
                "protected_aliases.champion.metrics.auc: min 0.2 is above max 0.1",
            ),
        ] {
            let err = Policy::parse(text, "policy.yaml")
                .expect_err(text)
                .to_string();
            assert!(err.starts_with("policy.yaml: "), "{err}");
            assert!(err.contains(needle), "{text:?}: {needle:?} not in {err:?}");
        }
        let missing = Policy::load(Path::new("/nonexistent/policy.yaml")).expect_err("missing");
        assert!(missing.to_string().contains("cannot read"), "{missing}");
        assert_eq!(missing.kind(), ErrorKind::User);
    }
}
