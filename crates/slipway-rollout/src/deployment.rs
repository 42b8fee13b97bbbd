//! A deployment's lifecycle: what it serves ([`DeploymentPlan`]: a registered model, its
//! champion and challenger, a [`Strategy`] with its parameters), where it stands
//! ([`DeploymentState`]: status and the challenger's share of traffic) and every change as an
//! [`Event`] with its reason and the values it was decided on.
//!
//! The rules live here, as pure functions from a state to the next one; the server applies
//! them to requests and to its per-arm counters, and the store keeps plan, state and events
//! (as JSON) so that a restarted server resumes where it was.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::bluegreen::{BlueGreenParams, BlueGreenState, SmokeVerdict};
use crate::canary::{CanaryPlan, CanaryPolicy, CanaryState, Decision};
use crate::{Error, Result};

/// How traffic is split between the champion and the challenger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum Strategy {
    /// Only the champion answers.
    Single,
    /// A sticky split by key.
    Ab(AbParams),
    /// The challenger takes a growing share, judged every evaluation period.
    Canary(CanaryParams),
    /// All traffic to one colour (blue: champion, green: challenger); a flip, after a smoke
    /// test of green with recorded requests, moves it all.
    BlueGreen(BlueGreenParams),
    /// The champion answers; the challenger scores a copy of each request off the request
    /// path and the outputs are compared.
    Shadow,
}

impl Strategy {
    /// The name users type (`ab`, `canary`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Single => "single",
            Strategy::Ab(_) => "ab",
            Strategy::Canary(_) => "canary",
            Strategy::BlueGreen(_) => "blue_green",
            Strategy::Shadow => "shadow",
        }
    }
}

/// What a request without the A/B key gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MissingKey {
    /// Refused (400, naming the header or field).
    #[default]
    Refuse,
    /// A random arm with the split's odds (not sticky).
    Random,
}

/// The parameters of an A/B test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbParams {
    /// Percent of keys in arm B (the challenger), 0..=100.
    #[serde(default = "half")]
    pub split_percent: u8,
    /// The request header that holds the key (e.g. `x-user-id`).
    #[serde(default)]
    pub key_header: Option<String>,
    /// The request field that holds the key (a column of the row, e.g. `user_id`).
    #[serde(default)]
    pub key_field: Option<String>,
    /// Hashed as `salt:key` when set.
    #[serde(default)]
    pub salt: Option<String>,
    /// What a request without the key gets.
    #[serde(default)]
    pub missing_key: MissingKey,
}

fn half() -> u8 {
    50
}

/// The parameters of a canary rollout (the seed's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CanaryParams {
    /// The first step, in percent of requests.
    pub initial_percent: u8,
    /// Added after each healthy evaluation.
    pub step_percent: u8,
    /// The last step; a healthy evaluation there promotes.
    pub max_percent: u8,
    /// Seconds per evaluation period.
    pub evaluation_seconds: f64,
    /// Highest acceptable error rate (0.01 = 1 %).
    pub max_error_rate: f64,
    /// Highest acceptable p95 latency, milliseconds.
    pub max_p95_ms: f64,
    /// Fewer requests than this in a period (canary or baseline): inconclusive.
    pub min_requests: u64,
    /// Significance level of the comparisons with the champion.
    pub alpha: f64,
    /// Inconclusive periods in a row that roll back.
    pub max_inconclusive: u32,
    /// Highest acceptable KS statistic between the challenger's and the champion's
    /// predictions in a period (off when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_prediction_drift: Option<f64>,
}

impl Default for CanaryParams {
    fn default() -> Self {
        let plan = CanaryPlan::default();
        let policy = CanaryPolicy::default();
        CanaryParams {
            initial_percent: plan.initial_percent,
            step_percent: plan.step_percent,
            max_percent: plan.max_percent,
            evaluation_seconds: 300.0,
            max_error_rate: policy.max_error_rate,
            max_p95_ms: policy.max_p95_ms,
            min_requests: policy.min_requests,
            alpha: policy.alpha,
            max_inconclusive: plan.max_inconclusive,
            max_prediction_drift: None,
        }
    }
}

impl CanaryParams {
    /// The step schedule.
    pub fn plan(&self) -> CanaryPlan {
        CanaryPlan {
            initial_percent: self.initial_percent,
            step_percent: self.step_percent,
            max_percent: self.max_percent,
            max_inconclusive: self.max_inconclusive,
        }
    }

    /// The limits of one evaluation.
    pub fn policy(&self) -> CanaryPolicy {
        CanaryPolicy {
            max_error_rate: self.max_error_rate,
            max_p95_ms: self.max_p95_ms,
            min_requests: self.min_requests,
            alpha: self.alpha,
            max_prediction_drift: self.max_prediction_drift,
        }
    }
}

/// What a deployment serves and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentPlan {
    /// The deployment's name (unique).
    pub name: String,
    /// The registered model (served as `--model NAME@ALIAS`).
    pub model: String,
    /// The champion's alias (its version is what the served model answers with).
    #[serde(default = "champion")]
    pub champion: String,
    /// The challenger: a version number or an alias.
    #[serde(default)]
    pub challenger: Option<String>,
    /// The strategy and its parameters.
    #[serde(flatten)]
    pub strategy: Strategy,
}

fn champion() -> String {
    "champion".into()
}

/// Names that are safe in URLs, logs and aliases.
fn check_name(field: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 128
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && value != "."
        && value != "..";
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{field} '{}': 1 to 128 letters, digits, '-', '_' or '.'",
            value.chars().take(128).collect::<String>()
        )))
    }
}

fn check_percent(field: &str, v: u8) -> Result<()> {
    if v > 100 {
        return Err(Error::Invalid(format!(
            "{field}: {v} is not a percentage (0 to 100)"
        )));
    }
    Ok(())
}

fn check_header(field: &str, v: &str) -> Result<()> {
    if v.is_empty()
        || v.len() > 128
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::Invalid(format!(
            "{field} '{}': a header or field name of 1 to 128 letters, digits, '-' or '_'",
            v.chars().take(128).collect::<String>()
        )));
    }
    Ok(())
}

const PLAN_KEYS: &[&str] = &["name", "model", "champion", "challenger", "strategy"];
const AB_KEYS: &[&str] = &[
    "split_percent",
    "key_header",
    "key_field",
    "salt",
    "missing_key",
];
const BLUE_GREEN_KEYS: &[&str] = &["keep_blue_seconds", "smoke_requests", "recorded_requests"];
const CANARY_KEYS: &[&str] = &[
    "initial_percent",
    "step_percent",
    "max_percent",
    "evaluation_seconds",
    "max_error_rate",
    "max_p95_ms",
    "min_requests",
    "alpha",
    "max_inconclusive",
    "max_prediction_drift",
];

impl DeploymentPlan {
    /// Reads a plan from JSON (a request body), refusing a field its strategy does not take
    /// (a misspelt parameter is an error, not a default), then checks it.
    pub fn from_json(value: serde_json::Value) -> Result<Self> {
        let Value::Object(map) = &value else {
            return Err(Error::Invalid(
                "a deployment is a JSON object: {\"name\", \"model\", \"strategy\", ...}".into(),
            ));
        };
        let extra: &[&str] = match map.get("strategy").and_then(Value::as_str) {
            Some("ab") => AB_KEYS,
            Some("canary") => CANARY_KEYS,
            Some("blue_green") => BLUE_GREEN_KEYS,
            _ => &[],
        };
        if let Some(k) = map
            .keys()
            .find(|k| !PLAN_KEYS.contains(&k.as_str()) && !extra.contains(&k.as_str()))
        {
            return Err(Error::Invalid(format!(
                "{}: not a field of a {} deployment",
                k.chars().take(100).collect::<String>(),
                map.get("strategy").and_then(Value::as_str).unwrap_or("?")
            )));
        }
        // serde's messages inside a flattened strategy do not name the field: check the
        // typed ones here.
        for (k, v) in map {
            let ok = match k.as_str() {
                "split_percent" | "initial_percent" | "step_percent" | "max_percent" => {
                    v.as_u64().is_some_and(|n| n <= 100)
                }
                "min_requests" | "max_inconclusive" | "smoke_requests" => {
                    v.as_u64().is_some_and(|n| n <= u64::from(u32::MAX))
                }
                "evaluation_seconds"
                | "max_error_rate"
                | "max_p95_ms"
                | "alpha"
                | "keep_blue_seconds"
                | "max_prediction_drift" => v.is_number(),
                "recorded_requests" => v
                    .as_array()
                    .is_some_and(|rows| rows.iter().all(Value::is_object)),
                "name" | "model" | "champion" | "strategy" | "key_header" | "key_field"
                | "salt" | "missing_key" => v.is_string(),
                "challenger" => v.is_string() || v.is_null(),
                _ => true,
            };
            if !ok {
                return Err(Error::Invalid(format!(
                    "{k}: {} is not a valid value (percentages are whole numbers 0 to 100, \
                     counts whole numbers, names text)",
                    v.to_string().chars().take(100).collect::<String>()
                )));
            }
        }
        let plan: DeploymentPlan = serde_json::from_value(value)
            .map_err(|e| Error::Invalid(format!("Invalid deployment: {e}")))?;
        plan.validate()?;
        Ok(plan)
    }

    /// Checks every parameter; the error names the field and the rule.
    pub fn validate(&self) -> Result<()> {
        check_name("name", &self.name)?;
        check_name("model", &self.model)?;
        check_name("champion", &self.champion)?;
        if self.champion.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Invalid(format!(
                "champion '{}': name the champion's alias (e.g. champion), not a version: a \
                 promotion moves that alias",
                self.champion
            )));
        }
        match (&self.strategy, &self.challenger) {
            (Strategy::Single, _) => {}
            (_, None) => {
                return Err(Error::Invalid(format!(
                    "challenger: the {} strategy needs a challenger (a version or an alias)",
                    self.strategy.name()
                )));
            }
            (_, Some(c)) => {
                check_name("challenger", c)?;
                if *c == self.champion {
                    return Err(Error::Invalid(
                        "challenger: it is the champion's own alias; name another version or alias"
                            .into(),
                    ));
                }
            }
        }
        match &self.strategy {
            Strategy::Ab(p) => {
                check_percent("split_percent", p.split_percent)?;
                match (&p.key_header, &p.key_field) {
                    (Some(h), None) => check_header("key_header", h)?,
                    (None, Some(f)) => check_header("key_field", f)?,
                    _ => {
                        return Err(Error::Invalid(
                            "key_header / key_field: an A/B test takes its key from exactly one \
                             of them"
                                .into(),
                        ));
                    }
                }
                if let Some(s) = &p.salt
                    && (s.is_empty() || s.len() > 128 || s.contains('\0'))
                {
                    return Err(Error::Invalid("salt: 1 to 128 characters".into()));
                }
            }
            Strategy::Canary(p) => {
                check_percent("initial_percent", p.initial_percent)?;
                check_percent("max_percent", p.max_percent)?;
                if p.initial_percent == 0 || p.initial_percent > p.max_percent {
                    return Err(Error::Invalid(format!(
                        "initial_percent: {} must be at least 1 and at most max_percent ({})",
                        p.initial_percent, p.max_percent
                    )));
                }
                if p.step_percent == 0 || p.step_percent > 100 {
                    return Err(Error::Invalid(format!(
                        "step_percent: {} must be 1 to 100",
                        p.step_percent
                    )));
                }
                if !(p.evaluation_seconds.is_finite()
                    && (0.1..=86_400.0).contains(&p.evaluation_seconds))
                {
                    return Err(Error::Invalid(format!(
                        "evaluation_seconds: {} must be between 0.1 and 86400",
                        p.evaluation_seconds
                    )));
                }
                if !(p.max_error_rate.is_finite() && (0.0..=1.0).contains(&p.max_error_rate)) {
                    return Err(Error::Invalid(format!(
                        "max_error_rate: {} must be a rate between 0 and 1",
                        p.max_error_rate
                    )));
                }
                if !(p.max_p95_ms.is_finite() && p.max_p95_ms > 0.0) {
                    return Err(Error::Invalid(format!(
                        "max_p95_ms: {} must be a positive number of milliseconds",
                        p.max_p95_ms
                    )));
                }
                if p.min_requests == 0 {
                    return Err(Error::Invalid(
                        "min_requests: at least 1 (no data never counts as healthy)".into(),
                    ));
                }
                if !(p.alpha > 0.0 && p.alpha < 1.0) {
                    return Err(Error::Invalid(format!(
                        "alpha: {} must be between 0 and 1",
                        p.alpha
                    )));
                }
                if p.max_inconclusive == 0 {
                    return Err(Error::Invalid("max_inconclusive: at least 1".into()));
                }
                if let Some(d) = p.max_prediction_drift
                    && !(d.is_finite() && d > 0.0 && d <= 1.0)
                {
                    return Err(Error::Invalid(format!(
                        "max_prediction_drift: {d} must be a KS statistic above 0 and at most 1"
                    )));
                }
            }
            Strategy::BlueGreen(p) => p.validate()?,
            Strategy::Single | Strategy::Shadow => {}
        }
        Ok(())
    }

    /// The state and event of a new deployment.
    pub fn start(&self) -> (DeploymentState, Event) {
        let percent = match &self.strategy {
            Strategy::Single | Strategy::BlueGreen(_) | Strategy::Shadow => 0,
            Strategy::Ab(p) => p.split_percent.min(100),
            Strategy::Canary(p) => p.initial_percent,
        };
        let canary = match &self.strategy {
            Strategy::Canary(p) => Some(CanaryState::start(&p.plan())),
            _ => None,
        };
        let state = DeploymentState {
            status: Status::Running,
            challenger_percent: percent,
            canary,
            evaluations: 0,
            blue_green: None,
        };
        let event = Event::new(
            EventKind::Created,
            format!(
                "{} deployment of {}: champion {}{}",
                self.strategy.name(),
                self.model,
                self.champion,
                self.challenger
                    .as_deref()
                    .map(|c| format!(", challenger {c}"))
                    .unwrap_or_default()
            ),
            json!({"challenger_percent": percent}),
        );
        (state, event)
    }
}

/// Where a deployment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Routing by the strategy (and, for a canary, stepping).
    Running,
    /// Routing frozen at the current share; no steps.
    Paused,
    /// The challenger became the champion.
    Promoted,
    /// All traffic back to the champion.
    RolledBack,
    /// Over; all traffic to the champion.
    Ended,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Promoted => "promoted",
            Status::RolledBack => "rolled_back",
            Status::Ended => "ended",
        }
    }

    /// Whether the deployment is over (no routing to the challenger, no more changes).
    pub fn is_final(self) -> bool {
        matches!(self, Status::Promoted | Status::RolledBack | Status::Ended)
    }
}

/// A deployment's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentState {
    /// Running, paused, or how it ended.
    pub status: Status,
    /// The challenger's share of requests (A/B split, canary step, 100 for blue-green on
    /// green), 0..=100.
    pub challenger_percent: u8,
    /// The canary controller's state.
    #[serde(default)]
    pub canary: Option<CanaryState>,
    /// Canary evaluations so far.
    #[serde(default)]
    pub evaluations: u64,
    /// A blue-green deployment after its flip: the versions and the blue's window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<BlueGreenState>,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The deployment was created.
    Created,
    /// A canary evaluation was healthy: the share grew.
    StepUp,
    /// A canary evaluation was inconclusive: the share held.
    Held,
    /// Paused by a user.
    Paused,
    /// Resumed by a user.
    Resumed,
    /// All traffic back to the champion.
    RolledBack,
    /// The challenger became the champion (its alias moved).
    Promoted,
    /// The promotion gate refused the challenger; the deployment is paused.
    PromotionRefused,
    /// Ended by a user.
    Ended,
    /// Blue-green: green answered the recorded requests; the flip follows.
    SmokeTestPassed,
    /// Blue-green: green failed the smoke test; traffic stays on blue.
    SmokeTestFailed,
    /// Blue-green: the blue's window ended and it was unloaded.
    BlueUnloaded,
}

impl EventKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::StepUp => "step_up",
            EventKind::Held => "held",
            EventKind::Paused => "paused",
            EventKind::Resumed => "resumed",
            EventKind::RolledBack => "rolled_back",
            EventKind::Promoted => "promoted",
            EventKind::PromotionRefused => "promotion_refused",
            EventKind::Ended => "ended",
            EventKind::SmokeTestPassed => "smoke_test_passed",
            EventKind::SmokeTestFailed => "smoke_test_failed",
            EventKind::BlueUnloaded => "blue_unloaded",
        }
    }
}

/// A state change with its reason and the values it was decided on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// Why, in words.
    pub reason: String,
    /// The measured values (a canary decision's evidence) or the parameters that changed.
    pub values: Value,
}

impl Event {
    /// An event.
    pub fn new(kind: EventKind, reason: impl Into<String>, values: Value) -> Self {
        Event {
            kind,
            reason: reason.into(),
            values,
        }
    }
}

/// What the server must do after an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Nothing beyond storing the new state.
    None,
    /// Move the champion alias to the challenger through the promotion gate, then call
    /// [`DeploymentState::promoted`] (or [`DeploymentState::promotion_refused`]).
    Promote,
}

fn not_allowed(state: &DeploymentState, what: &str, needs: &str) -> Error {
    Error::Invalid(format!(
        "the deployment is {}; only a {needs} deployment can be {what}",
        state.status.as_str()
    ))
}

impl DeploymentState {
    /// Pauses a running deployment (its share of traffic is kept, no steps are taken).
    pub fn pause(&self, reason: &str) -> Result<(DeploymentState, Event)> {
        if self.status != Status::Running {
            return Err(not_allowed(self, "paused", "running"));
        }
        let mut next = self.clone();
        next.status = Status::Paused;
        Ok((next, user_event(EventKind::Paused, reason, "paused", self)))
    }

    /// Resumes a paused deployment.
    pub fn resume(&self, reason: &str) -> Result<(DeploymentState, Event)> {
        if self.status != Status::Paused {
            return Err(not_allowed(self, "resumed", "paused"));
        }
        let mut next = self.clone();
        next.status = Status::Running;
        if let Some(CanaryState::Running {
            inconclusive_streak,
            ..
        }) = &mut next.canary
        {
            *inconclusive_streak = 0;
        }
        Ok((
            next,
            user_event(EventKind::Resumed, reason, "resumed", self),
        ))
    }

    /// Sends all traffic back to the champion.
    pub fn rollback(&self, reason: &str, values: Value) -> Result<(DeploymentState, Event)> {
        if self.status.is_final() {
            return Err(not_allowed(self, "rolled back", "running or paused"));
        }
        let next = DeploymentState {
            status: Status::RolledBack,
            challenger_percent: 0,
            canary: self.canary.as_ref().map(|_| CanaryState::RolledBack {
                at_percent: self.challenger_percent,
                reasons: vec![reason.to_string()],
            }),
            evaluations: self.evaluations,
            blue_green: None,
        };
        let mut values = values;
        if let Value::Object(m) = &mut values {
            m.insert("at_percent".into(), json!(self.challenger_percent));
        }
        Ok((next, Event::new(EventKind::RolledBack, reason, values)))
    }

    /// Checks that a promotion may be attempted (before the alias moves).
    pub fn check_promotable(&self) -> Result<()> {
        if self.status.is_final() {
            return Err(not_allowed(self, "promoted", "running or paused"));
        }
        Ok(())
    }

    /// The challenger became the champion (the alias has moved to `version`).
    pub fn promoted(&self, reason: &str, version: &str, values: Value) -> (DeploymentState, Event) {
        let next = DeploymentState {
            status: Status::Promoted,
            challenger_percent: 100,
            canary: self.canary.as_ref().map(|_| CanaryState::Promoted),
            evaluations: self.evaluations,
            blue_green: None,
        };
        let mut values = values;
        if let Value::Object(m) = &mut values {
            m.insert("version".into(), json!(version));
            m.insert("from_percent".into(), json!(self.challenger_percent));
        }
        (next, Event::new(EventKind::Promoted, reason, values))
    }

    /// The gate refused the challenger: the deployment pauses at its share for a person to
    /// decide.
    pub fn promotion_refused(&self, reasons: &[String]) -> (DeploymentState, Event) {
        let mut next = self.clone();
        if next.status == Status::Running {
            next.status = Status::Paused;
        }
        (
            next,
            Event::new(
                EventKind::PromotionRefused,
                format!(
                    "the promotion gate refused the challenger: {}",
                    reasons.join("; ")
                ),
                json!({"reasons": reasons, "at_percent": self.challenger_percent}),
            ),
        )
    }

    /// Ends the deployment: all traffic to the champion.
    pub fn end(&self, reason: &str) -> Result<(DeploymentState, Event)> {
        if self.status.is_final() {
            return Err(not_allowed(self, "ended", "running or paused"));
        }
        let next = DeploymentState {
            status: Status::Ended,
            challenger_percent: 0,
            canary: self.canary.clone(),
            evaluations: self.evaluations,
            blue_green: None,
        };
        Ok((next, user_event(EventKind::Ended, reason, "ended", self)))
    }

    /// A canary's evaluation period: applies `decision` (made by
    /// [`crate::canary::analyze`] on the period's per-arm counters).
    pub fn evaluate(
        &self,
        params: &CanaryParams,
        decision: &Decision,
    ) -> (DeploymentState, Event, Action) {
        let values = serde_json::to_value(decision).unwrap_or(Value::Null);
        let Some(canary) = &self.canary else {
            return (
                self.clone(),
                Event::new(EventKind::Held, "not a canary", values),
                Action::None,
            );
        };
        let next_canary = canary.next(&params.plan(), decision);
        let mut next = self.clone();
        next.evaluations += 1;
        match &next_canary {
            CanaryState::Running { percent, .. } => {
                let kind = if *percent > self.challenger_percent {
                    EventKind::StepUp
                } else {
                    EventKind::Held
                };
                let reason = match decision {
                    Decision::Healthy { .. } => format!(
                        "healthy at {} %: stepping up to {percent} %",
                        self.challenger_percent
                    ),
                    Decision::Inconclusive { reason, .. } => {
                        format!("inconclusive at {} %: {reason}", self.challenger_percent)
                    }
                    Decision::Unhealthy { reasons, .. } => reasons.join("; "),
                };
                next.challenger_percent = *percent;
                next.canary = Some(next_canary.clone());
                (next, Event::new(kind, reason, values), Action::None)
            }
            CanaryState::Promoted => (
                next,
                Event::new(
                    EventKind::Held,
                    format!(
                        "healthy at the last step ({} %): promoting",
                        self.challenger_percent
                    ),
                    values,
                ),
                Action::Promote,
            ),
            CanaryState::RolledBack { reasons, .. } => {
                let reason = reasons.join("; ");
                let (mut next, event) = self
                    .rollback(&reason, values)
                    .unwrap_or_else(|_| (self.clone(), Event::new(EventKind::Held, "", json!({}))));
                next.evaluations = self.evaluations + 1;
                (next, event, Action::None)
            }
        }
    }
}

impl DeploymentState {
    /// Blue-green: green failed its smoke test. Traffic stays on blue and the deployment
    /// keeps running (a later flip may be tried); the event holds the verdict.
    pub fn smoke_refused(&self, verdict: &SmokeVerdict) -> (DeploymentState, Event) {
        (
            self.clone(),
            Event::new(
                EventKind::SmokeTestFailed,
                format!(
                    "the flip to green was refused: {}",
                    verdict.reasons.join("; ")
                ),
                serde_json::to_value(verdict).unwrap_or(Value::Null),
            ),
        )
    }

    /// Blue-green: green passed its smoke test (recorded before the alias moves).
    pub fn smoke_passed(&self, verdict: &SmokeVerdict) -> Event {
        Event::new(
            EventKind::SmokeTestPassed,
            format!(
                "green answered all {} recorded requests ({}): flipping",
                verdict.replayed, verdict.source
            ),
            serde_json::to_value(verdict).unwrap_or(Value::Null),
        )
    }

    /// Blue-green: traffic flipped to green (the champion alias moved to `green_version`);
    /// blue stays loaded until `now_ms + keep_blue_seconds`.
    pub fn flipped(
        &self,
        reason: &str,
        params: &BlueGreenParams,
        blue_version: &str,
        green_version: &str,
        now_ms: i64,
    ) -> (DeploymentState, Event) {
        let keep_ms = (params.keep_blue_seconds * 1000.0).round() as i64;
        let bg = BlueGreenState {
            blue_version: blue_version.to_string(),
            green_version: green_version.to_string(),
            flipped_ms: now_ms,
            keep_blue_until_ms: now_ms.saturating_add(keep_ms),
            blue_loaded: keep_ms > 0,
        };
        let (mut next, mut event) = self.promoted(reason, green_version, json!({}));
        if let Value::Object(m) = &mut event.values {
            m.insert("blue_version".into(), json!(blue_version));
            m.insert("keep_blue_seconds".into(), json!(params.keep_blue_seconds));
            m.insert("keep_blue_until_ms".into(), json!(bg.keep_blue_until_ms));
        }
        next.blue_green = Some(bg);
        (next, event)
    }

    /// Blue-green: back to blue after the flip, which is instant while blue is loaded. Refused
    /// once blue's window is over (it is unloaded; move the alias instead).
    pub fn blue_rollback(&self, reason: &str, now_ms: i64) -> Result<(DeploymentState, Event)> {
        let Some(bg) = self
            .blue_green
            .as_ref()
            .filter(|_| self.status == Status::Promoted)
        else {
            return self.rollback(reason, json!({}));
        };
        if !bg.can_roll_back(now_ms) {
            return Err(Error::Invalid(format!(
                "blue (version {}) was kept loaded for an instant rollback until {} ms since                  the epoch and has been unloaded; the deployment is over: move the alias back                  with `slipway models alias` (the version is reloaded)",
                bg.blue_version, bg.keep_blue_until_ms
            )));
        }
        let next = DeploymentState {
            status: Status::RolledBack,
            challenger_percent: 0,
            canary: None,
            evaluations: self.evaluations,
            blue_green: Some(BlueGreenState {
                blue_loaded: false,
                ..bg.clone()
            }),
        };
        let event = Event::new(
            EventKind::RolledBack,
            reason,
            json!({
                "instant": true,
                "blue_version": bg.blue_version,
                "green_version": bg.green_version,
                "seconds_after_flip": (now_ms - bg.flipped_ms) as f64 / 1000.0,
                "at_percent": 100,
            }),
        );
        Ok((next, event))
    }

    /// Blue-green: blue's window is over at `now_ms`; `None` when nothing is due.
    pub fn blue_released(&self, now_ms: i64) -> Option<(DeploymentState, Event)> {
        let bg = self.blue_green.as_ref()?;
        if self.status != Status::Promoted || !bg.release_due(now_ms) {
            return None;
        }
        let mut next = self.clone();
        next.blue_green = Some(BlueGreenState {
            blue_loaded: false,
            ..bg.clone()
        });
        Some((
            next,
            Event::new(
                EventKind::BlueUnloaded,
                format!(
                    "blue (version {}) unloaded: its instant-rollback window is over",
                    bg.blue_version
                ),
                json!({
                    "blue_version": bg.blue_version,
                    "keep_blue_until_ms": bg.keep_blue_until_ms,
                }),
            ),
        ))
    }
}

fn user_event(kind: EventKind, reason: &str, verb: &str, s: &DeploymentState) -> Event {
    let reason = if reason.trim().is_empty() {
        format!("{verb} by a user")
    } else {
        reason.to_string()
    };
    Event::new(
        kind,
        reason,
        json!({"challenger_percent": s.challenger_percent}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canary::{ArmWindow, analyze};

    fn canary_plan() -> DeploymentPlan {
        DeploymentPlan {
            name: "churn-canary".into(),
            model: "churn".into(),
            champion: "champion".into(),
            challenger: Some("2".into()),
            strategy: Strategy::Canary(CanaryParams {
                min_requests: 20,
                ..CanaryParams::default()
            }),
        }
    }

    fn window(n: u64, errors: u64, ms: f64) -> ArmWindow {
        ArmWindow {
            requests: n,
            errors,
            latencies_ms: (0..n).map(|i| ms + (i % 7) as f64 * 0.1).collect(),
            predictions: vec![],
        }
    }

    #[test]
    fn plans_read_from_json_with_the_seed_defaults() {
        let p: DeploymentPlan = serde_json::from_value(json!({
            "name": "c", "model": "churn", "challenger": "challenger", "strategy": "canary"
        }))
        .unwrap();
        p.validate().unwrap();
        let Strategy::Canary(c) = &p.strategy else {
            panic!("{p:?}")
        };
        assert_eq!(
            (
                c.initial_percent,
                c.step_percent,
                c.max_percent,
                c.min_requests
            ),
            (5, 5, 50, 100)
        );
        assert_eq!(
            (c.evaluation_seconds, c.max_error_rate, c.max_p95_ms),
            (300.0, 0.01, 200.0)
        );
        let ab: DeploymentPlan = serde_json::from_value(json!({
            "name": "t", "model": "churn", "challenger": "2", "strategy": "ab",
            "key_header": "x-user-id", "split_percent": 30
        }))
        .unwrap();
        ab.validate().unwrap();
        assert_eq!(ab.start().0.challenger_percent, 30);
        for bad in [
            json!({"name": "t", "model": "churn", "strategy": "ab", "challenger": "2"}),
            json!({"name": "t", "model": "churn", "strategy": "ab", "challenger": "2", "key_header": "a", "key_field": "b"}),
            json!({"name": "t", "model": "churn", "strategy": "ab", "challenger": "2", "key_header": "x", "split_percent": 101}),
            json!({"name": "t", "model": "churn", "strategy": "canary"}),
            json!({"name": "t/..", "model": "churn", "strategy": "single"}),
            json!({"name": "t", "model": "churn", "strategy": "canary", "challenger": "2", "initial_percent": 60}),
            json!({"name": "t", "model": "churn", "strategy": "canary", "challenger": "2", "min_requests": 0}),
            json!({"name": "t", "model": "churn", "strategy": "canary", "challenger": "champion"}),
        ] {
            let p: Result<DeploymentPlan, _> = serde_json::from_value(bad.clone());
            if let Ok(p) = p {
                assert!(p.validate().is_err(), "{bad}");
            }
        }
        // Unknown parameters are refused, not ignored.
        let e = DeploymentPlan::from_json(json!({
            "name": "t", "model": "churn", "strategy": "canary", "challenger": "2", "step": 5
        }))
        .unwrap_err();
        assert!(e.to_string().contains("step"), "{e}");
        assert!(DeploymentPlan::from_json(json!({
            "name": "t", "model": "churn", "strategy": "ab", "challenger": "2", "key_header": "k",
            "max_percent": 5
        }))
        .is_err());
        assert!(DeploymentPlan::from_json(json!([1])).is_err());
    }

    #[test]
    fn a_healthy_canary_steps_to_the_max_then_asks_for_promotion() {
        let plan = canary_plan();
        let Strategy::Canary(params) = &plan.strategy else {
            unreachable!()
        };
        let (mut state, created) = plan.start();
        assert_eq!(created.kind, EventKind::Created);
        assert_eq!(state.challenger_percent, 5);
        let mut steps = vec![];
        loop {
            let d = analyze(&window(50, 0, 3.0), &window(50, 0, 3.0), &params.policy());
            let (next, event, action) = state.evaluate(params, &d);
            state = next;
            if action == Action::Promote {
                assert_eq!(state.challenger_percent, 50);
                break;
            }
            assert_eq!(event.kind, EventKind::StepUp, "{event:?}");
            steps.push(state.challenger_percent);
        }
        assert_eq!(steps, (2..=10).map(|i| i * 5).collect::<Vec<u8>>());
        let (done, event) = state.promoted("healthy at 50 %", "2", json!({}));
        assert_eq!(done.status, Status::Promoted);
        assert_eq!(event.values["version"], "2");
        assert!(done.pause("").is_err());
        assert!(done.end("").is_err());
    }

    #[test]
    fn errors_roll_back_at_once_and_no_data_never_counts_as_healthy() {
        let plan = canary_plan();
        let Strategy::Canary(params) = &plan.strategy else {
            unreachable!()
        };
        let (state, _) = plan.start();
        let d = analyze(&window(40, 30, 3.0), &window(40, 0, 3.0), &params.policy());
        let (next, event, action) = state.evaluate(params, &d);
        assert_eq!(action, Action::None);
        assert_eq!(next.status, Status::RolledBack);
        assert_eq!(next.challenger_percent, 0);
        assert_eq!(event.kind, EventKind::RolledBack);
        assert!(event.reason.contains("error rate"), "{}", event.reason);
        assert_eq!(event.values["evidence"]["canary"]["errors"], 30);
        // Empty periods hold, then roll back after max_inconclusive.
        let mut s = state;
        for i in 0..3 {
            let d = analyze(
                &ArmWindow::default(),
                &ArmWindow::default(),
                &params.policy(),
            );
            let (next, event, _) = s.evaluate(params, &d);
            s = next;
            if i < 2 {
                assert_eq!(event.kind, EventKind::Held);
                assert_eq!(s.challenger_percent, 5);
            } else {
                assert_eq!(event.kind, EventKind::RolledBack);
            }
        }
    }

    #[test]
    fn blue_green_flips_rolls_back_inside_the_window_and_releases_after_it() {
        use crate::bluegreen::{AnswerShape, SmokeOutcome, judge};
        let plan = DeploymentPlan::from_json(json!({
            "name": "bg", "model": "churn", "challenger": "2", "strategy": "blue_green",
            "keep_blue_seconds": 60
        }))
        .unwrap();
        let Strategy::BlueGreen(params) = &plan.strategy else {
            panic!("{plan:?}")
        };
        assert_eq!(params.smoke_requests, 100);
        let (running, _) = plan.start();
        assert_eq!(running.challenger_percent, 0);
        let shape = AnswerShape {
            kind: "binary".into(),
            classes: vec![],
        };
        // A refused smoke test changes nothing but the history.
        let failed = judge(
            "prediction_log",
            &[SmokeOutcome::Failed("column \"fnlwgt\" is missing".into())],
            &shape,
            &shape,
        );
        let (same, event) = running.smoke_refused(&failed);
        assert_eq!(same, running);
        assert_eq!(event.kind, EventKind::SmokeTestFailed);
        assert!(event.reason.contains("fnlwgt"), "{}", event.reason);
        assert_eq!(event.values["failed"], 1);
        // The flip: promoted, green at 100 %, blue kept for 60 s.
        let (flipped, event) = running.flipped("healthy", params, "1", "2", 10_000);
        assert_eq!(
            (flipped.status, flipped.challenger_percent),
            (Status::Promoted, 100)
        );
        assert_eq!(event.values["keep_blue_until_ms"], 70_000);
        assert_eq!(event.values["blue_version"], "1");
        let bg = flipped.blue_green.clone().unwrap();
        assert!(bg.blue_loaded);
        // Inside the window a rollback is instant; after it, refused.
        let (back, event) = flipped.blue_rollback("bad conversions", 69_999).unwrap();
        assert_eq!(
            (back.status, back.challenger_percent),
            (Status::RolledBack, 0)
        );
        assert_eq!(event.values["instant"], true);
        assert!(back.blue_rollback("again", 69_999).is_err());
        assert!(flipped.blue_released(69_999).is_none());
        let (released, event) = flipped.blue_released(70_000).unwrap();
        assert_eq!(event.kind, EventKind::BlueUnloaded);
        assert!(!released.blue_green.as_ref().unwrap().blue_loaded);
        let e = released.blue_rollback("late", 70_001).unwrap_err();
        assert!(e.to_string().contains("unloaded"), "{e}");
        assert!(released.blue_released(80_000).is_none());
        // The state survives the store's JSON, and an old plan without parameters reads.
        let text = serde_json::to_string(&released).unwrap();
        assert_eq!(
            serde_json::from_str::<DeploymentState>(&text).unwrap(),
            released
        );
        let old: DeploymentPlan = serde_json::from_str(
            r#"{"name":"b","model":"churn","challenger":"2","strategy":"blue_green"}"#,
        )
        .unwrap();
        assert_eq!(
            old.strategy,
            Strategy::BlueGreen(BlueGreenParams::default())
        );
        // No window: nothing kept.
        let none = BlueGreenParams {
            keep_blue_seconds: 0.0,
            ..BlueGreenParams::default()
        };
        let (f, _) = running.flipped("x", &none, "1", "2", 5);
        assert!(f.blue_rollback("x", 5).is_err());
    }

    #[test]
    fn pause_resume_end_and_refusals() {
        let (s, _) = canary_plan().start();
        assert!(s.resume("").is_err());
        let (p, e) = s.pause("").unwrap();
        assert_eq!((p.status, e.kind), (Status::Paused, EventKind::Paused));
        assert_eq!(e.reason, "paused by a user");
        let (r, _) = p.resume("looks fine").unwrap();
        assert_eq!(r.status, Status::Running);
        let (refused, e) = r.promotion_refused(&["metric holdout.auc below 0.9".into()]);
        assert_eq!(refused.status, Status::Paused);
        assert_eq!(e.kind, EventKind::PromotionRefused);
        let (ended, _) = refused.end("done").unwrap();
        assert_eq!((ended.status, ended.challenger_percent), (Status::Ended, 0));
        assert!(ended.rollback("x", json!({})).is_err());
    }
}
