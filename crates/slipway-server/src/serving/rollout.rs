//! Deployments in the running server: routing each request by its deployment's strategy,
//! the per-arm counters, and the controller that judges a canary every evaluation period.
//!
//! A deployment (`slipway deploy create`) names a registered model that this server serves
//! as `--model NAME@CHAMPION` and a challenger (a version or an alias). The rules (what a
//! pause, a promotion or an evaluation does) are `slipway_rollout::deployment`'s; the state
//! lives in the metadata store, so that every replica routes alike and a restarted server
//! resumes. Here:
//!
//! - [`ActiveRollout`]: what routing needs, read with atomics only (the challenger's share,
//!   whether it is live, a request counter), and the counters of the current period;
//! - the controller ([`Serving::sync_rollouts`], every [`RolloutOptions::tick`]): loads new
//!   deployments and state changes from the store, and for each running canary whose period
//!   is over takes the lease (one replica drives the steps), judges the period with
//!   `slipway_rollout::canary::analyze` on a blocking thread, and stores the decision with
//!   its values; at the last healthy step it moves the champion alias through the promotion
//!   gate (`slipway_govern::set_alias`), and an unhealthy period sends all traffic back to
//!   the champion at once;
//! - blue-green's flip, instant rollback and the blue's unloading are in `super::bluegreen`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use serde_json::{Value, json};
use slipway_engine::serving::Output;
use slipway_rollout::assign::{Arm, assign};
use slipway_rollout::canary::{ArmWindow, analyze};
use slipway_rollout::deployment::{
    Action, DeploymentPlan, DeploymentState, Event, MissingKey, Status, Strategy,
};
use slipway_store::{DeploymentRecord, DeploymentUpdate, NewDeployment, NewDeploymentEvent};

use super::{Deployment, Live, Selector, Serving, Source, load};
use crate::error::ApiError;

/// Settings of the deployments' controller.
#[derive(Debug, Clone)]
pub struct RolloutOptions {
    /// The promotion policy: a promotion moves the champion alias through its gate.
    pub policy: Option<slipway_govern::Policy>,
    /// This replica's name in leases (unique per process by default).
    pub owner: String,
    /// How often state is synced from the store and periods are checked.
    pub tick: Duration,
    /// How long a lease lasts without renewal.
    pub lease: Duration,
    /// Test-only: extra latency added to every request a version serves, by
    /// `model@version`. Empty by default, and set by no flag, file or route.
    #[doc(hidden)]
    pub injected_latency: BTreeMap<String, Duration>,
}

impl Default for RolloutOptions {
    fn default() -> Self {
        RolloutOptions {
            policy: None,
            owner: format!("slipway-{}", uuid::Uuid::now_v7().simple()),
            tick: Duration::from_millis(500),
            lease: Duration::from_secs(15),
            injected_latency: BTreeMap::new(),
        }
    }
}

/// Latency samples kept per arm and period (beyond it, requests are still counted).
const MAX_SAMPLES: usize = 200_000;

/// One arm's counters: the current period (for the controller) and totals (for status).
#[derive(Default)]
struct ArmCounters {
    window: Mutex<ArmWindow>,
    requests: AtomicU64,
    errors: AtomicU64,
}

impl ArmCounters {
    fn record(&self, ok: bool, ms: f64, predictions: &[f64]) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        w.requests += 1;
        if !ok {
            w.errors += 1;
        }
        if w.latencies_ms.len() < MAX_SAMPLES {
            w.latencies_ms.push(ms);
        }
        let room = MAX_SAMPLES.saturating_sub(w.predictions.len());
        w.predictions
            .extend_from_slice(&predictions[..predictions.len().min(room)]);
    }

    fn take(&self) -> ArmWindow {
        std::mem::take(&mut *self.window.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A deployment as the request path sees it.
pub struct ActiveRollout {
    /// The deployment's name.
    pub name: String,
    plan: DeploymentPlan,
    /// The challenger's loaded version (`None` for `single`).
    challenger: Option<Arc<Live>>,
    /// Blue-green after the flip: the blue version, kept loaded for an instant rollback
    /// until its window ends.
    pub(crate) blue: Mutex<Option<Arc<Live>>>,
    /// Canary with the prediction-drift criterion: each answer's numbers are kept.
    collect_predictions: bool,
    percent: AtomicU8,
    /// Running or paused: the strategy routes. Final: everything to the champion.
    routing: AtomicBool,
    revision: AtomicI64,
    state: Mutex<DeploymentState>,
    sequence: AtomicU64,
    arms: [ArmCounters; 2],
    shadow_compared: AtomicU64,
    shadow_agreed: AtomicU64,
    shadow_errors: AtomicU64,
    period_started: Mutex<Instant>,
}

impl std::fmt::Debug for ActiveRollout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveRollout")
            .field("name", &self.name)
            .field("strategy", &self.plan.strategy.name())
            .field("percent", &self.percent.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Where one request goes.
pub(crate) struct Route {
    /// The arm that answers (`None`: no deployment on this model).
    pub arm: Option<Arm>,
    /// The challenger when it answers.
    pub live: Option<Arc<Live>>,
    /// The challenger, to score a copy (shadow).
    pub shadow: Option<Arc<Live>>,
    pub rollout: Option<Arc<ActiveRollout>>,
}

impl Route {
    pub(crate) fn none() -> Self {
        Route {
            arm: None,
            live: None,
            shadow: None,
            rollout: None,
        }
    }
}

/// The A/B key of a request: the header, or the field of the (first) row.
fn request_key<'a>(
    p: &'a slipway_rollout::deployment::AbParams,
    headers: &'a HeaderMap,
    body: Option<&'a Value>,
) -> Option<std::borrow::Cow<'a, str>> {
    if let Some(h) = &p.key_header {
        return headers
            .get(h.as_str())
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(std::borrow::Cow::Borrowed);
    }
    let field = p.key_field.as_deref()?;
    let row = match body? {
        Value::Object(o) => match o.get("rows") {
            Some(Value::Array(rows)) => rows.first()?,
            _ => body?,
        },
        Value::Array(rows) => rows.first()?,
        _ => return None,
    };
    match row.get(field)? {
        Value::String(s) if !s.is_empty() => Some(std::borrow::Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
        _ => None,
    }
}

impl ActiveRollout {
    fn new(
        record: &DeploymentRecord,
        plan: DeploymentPlan,
        state: DeploymentState,
        challenger: Option<Arc<Live>>,
    ) -> Self {
        let collect_predictions = matches!(
            &plan.strategy,
            Strategy::Canary(p) if p.max_prediction_drift.is_some()
        );
        let r = ActiveRollout {
            name: record.name.clone(),
            plan,
            challenger,
            blue: Mutex::new(None),
            collect_predictions,
            percent: AtomicU8::new(0),
            routing: AtomicBool::new(false),
            revision: AtomicI64::new(record.revision),
            state: Mutex::new(state.clone()),
            sequence: AtomicU64::new(0),
            arms: Default::default(),
            shadow_compared: AtomicU64::new(0),
            shadow_agreed: AtomicU64::new(0),
            shadow_errors: AtomicU64::new(0),
            period_started: Mutex::new(Instant::now()),
        };
        r.set_state(record.revision, state);
        r
    }

    fn set_state(&self, revision: i64, state: DeploymentState) {
        self.percent
            .store(state.challenger_percent.min(100), Ordering::Relaxed);
        self.routing
            .store(!state.status.is_final(), Ordering::Relaxed);
        self.revision.store(revision, Ordering::Relaxed);
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = state;
    }

    /// The state as last synced.
    pub fn state(&self) -> DeploymentState {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The plan.
    pub fn plan(&self) -> &DeploymentPlan {
        &self.plan
    }

    /// The challenger's version, when loaded.
    pub fn challenger_version(&self) -> Option<&str> {
        self.challenger.as_ref().map(|l| l.version.as_str())
    }

    /// The challenger (blue-green: green), when loaded.
    pub(crate) fn challenger(&self) -> Option<Arc<Live>> {
        self.challenger.clone()
    }

    /// The challenger or the kept blue when it is `version`.
    pub(crate) fn loaded_version(&self, version: &str) -> Option<Arc<Live>> {
        let blue = self.blue.lock().unwrap_or_else(|e| e.into_inner()).clone();
        self.challenger
            .clone()
            .into_iter()
            .chain(blue)
            .find(|l| l.version == version)
    }

    /// The blue version this replica keeps loaded after a flip, if any.
    pub fn blue_version(&self) -> Option<String> {
        self.blue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|l| l.version.clone())
    }

    /// Chooses the arm of one request: a few atomic loads, and an MD5 of the key for A/B.
    pub(crate) fn choose(
        self: &Arc<Self>,
        headers: &HeaderMap,
        body: Option<&Value>,
    ) -> Result<Route, ApiError> {
        let Some(challenger) = &self.challenger else {
            return Ok(Route::none());
        };
        if !self.routing.load(Ordering::Relaxed) {
            return Ok(Route::none());
        }
        let percent = self.percent.load(Ordering::Relaxed);
        let arm = match &self.plan.strategy {
            Strategy::Single => Arm::A,
            Strategy::Shadow => {
                return Ok(Route {
                    arm: Some(Arm::A),
                    live: None,
                    shadow: Some(challenger.clone()),
                    rollout: Some(self.clone()),
                });
            }
            Strategy::BlueGreen(_) => {
                if percent >= 100 {
                    Arm::B
                } else {
                    Arm::A
                }
            }
            Strategy::Canary(_) => self.by_weight(percent),
            Strategy::Ab(p) => match request_key(p, headers, body) {
                Some(key) => assign(&key, p.salt.as_deref(), percent),
                None if p.missing_key == MissingKey::Random => self.by_weight(percent),
                None => {
                    return Err(ApiError::invalid(format!(
                        "deployment '{}' is an A/B test keyed by {}: the request has no key \
                         (send it, or create the test with missing_key: random)",
                        self.name,
                        match (&p.key_header, &p.key_field) {
                            (Some(h), _) => format!("the header '{h}'"),
                            (_, Some(f)) => format!("the field '{f}' of the (first) row"),
                            _ => "a key".into(),
                        }
                    )));
                }
            },
        };
        Ok(Route {
            arm: Some(arm),
            live: (arm == Arm::B).then(|| challenger.clone()),
            shadow: None,
            rollout: Some(self.clone()),
        })
    }

    /// `percent` of every 100 consecutive requests, spread evenly (37 is prime to 100, so
    /// `n * 37 mod 100` visits every residue once per 100 requests).
    fn by_weight(&self, percent: u8) -> Arm {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        if (n.wrapping_mul(37) % 100) < u64::from(percent) {
            Arm::B
        } else {
            Arm::A
        }
    }

    /// Counts one request of `arm` (`output`: its answer, `None` when it failed).
    pub(crate) fn record(&self, arm: Arm, output: Option<&Output>, elapsed: Duration) {
        let i = usize::from(arm == Arm::B);
        let predictions = match output {
            Some(out) if self.collect_predictions => prediction_numbers(out),
            _ => Vec::new(),
        };
        self.arms[i].record(
            output.is_some(),
            elapsed.as_secs_f64() * 1000.0,
            &predictions,
        );
    }

    /// Counts a shadow comparison: rows compared and rows that agreed (`None`: the
    /// challenger failed).
    pub(crate) fn record_shadow(&self, compared: Option<(u64, u64)>, elapsed: Duration) {
        match compared {
            Some((n, agreed)) => {
                self.shadow_compared.fetch_add(n, Ordering::Relaxed);
                self.shadow_agreed.fetch_add(agreed, Ordering::Relaxed);
                self.arms[1].record(true, elapsed.as_secs_f64() * 1000.0, &[]);
            }
            None => {
                self.shadow_errors.fetch_add(1, Ordering::Relaxed);
                self.arms[1].record(false, elapsed.as_secs_f64() * 1000.0, &[]);
            }
        }
    }

    /// What this replica counted, for status.
    pub fn counters(&self) -> Value {
        let arm = |c: &ArmCounters| {
            json!({
                "requests": c.requests.load(Ordering::Relaxed),
                "errors": c.errors.load(Ordering::Relaxed),
            })
        };
        let mut v = json!({"A": arm(&self.arms[0]), "B": arm(&self.arms[1])});
        if matches!(self.plan.strategy, Strategy::Shadow) {
            let compared = self.shadow_compared.load(Ordering::Relaxed);
            let agreed = self.shadow_agreed.load(Ordering::Relaxed);
            v["shadow"] = json!({
                "rows_compared": compared,
                "rows_agreed": agreed,
                "agreement": (compared > 0).then(|| agreed as f64 / compared as f64),
                "challenger_errors": self.shadow_errors.load(Ordering::Relaxed),
            });
        }
        v
    }
}

/// One number per answered row, for the prediction-drift criterion: a regression's value,
/// a classifier's probability of its last class (the positive class of a binary one), a
/// cluster's index.
fn prediction_numbers(out: &Output) -> Vec<f64> {
    match out {
        Output::Values(v) => v.clone(),
        Output::Classes { probabilities, .. } if probabilities.n_cols() > 0 => {
            probabilities.col(probabilities.n_cols() - 1).to_vec()
        }
        Output::Classes { .. } => Vec::new(),
        Output::Clusters(c) => c.iter().map(|&k| k as f64).collect(),
    }
}

/// Rows of two outputs that agree: the same label or cluster, or values within 1e-9
/// (relative).
pub(crate) fn agreement(a: &Output, b: &Output) -> Option<(u64, u64)> {
    let n = a.n_rows();
    if n != b.n_rows() {
        return None;
    }
    let agreed = match (a, b) {
        (Output::Classes { labels: x, .. }, Output::Classes { labels: y, .. }) => {
            x.iter().zip(y).filter(|(p, q)| p == q).count()
        }
        (Output::Values(x), Output::Values(y)) => x
            .iter()
            .zip(y)
            .filter(|(p, q)| (*p - *q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0))
            .count(),
        (Output::Clusters(x), Output::Clusters(y)) => {
            x.iter().zip(y).filter(|(p, q)| p == q).count()
        }
        _ => 0,
    };
    Some((n as u64, agreed as u64))
}

fn store_event(e: &Event) -> NewDeploymentEvent {
    NewDeploymentEvent {
        kind: e.kind.as_str().into(),
        reason: e.reason.clone(),
        values: e.values.to_string(),
    }
}

fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("{what}: {e}"))
}

fn rollout_error(e: slipway_rollout::Error) -> ApiError {
    match e.kind() {
        slipway_rollout::ErrorKind::User => ApiError::invalid(e.to_string()),
        slipway_rollout::ErrorKind::Internal => internal("deployment", e),
    }
}

/// A stored deployment read back into the rollout crate's types.
pub fn decode(record: &DeploymentRecord) -> Result<(DeploymentPlan, DeploymentState), ApiError> {
    let plan: DeploymentPlan =
        serde_json::from_str(&record.plan).map_err(|e| internal("stored plan", e))?;
    let state: DeploymentState =
        serde_json::from_str(&record.state).map_err(|e| internal("stored state", e))?;
    Ok((plan, state))
}

/// A user's change to a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// Freeze the share; no steps.
    Pause,
    /// Continue.
    Resume,
    /// Challenger becomes champion now (blue-green: the flip).
    Promote,
    /// All traffic to the champion.
    Rollback,
    /// Over.
    End,
}

impl Serving {
    pub(crate) fn stores_or_err(&self) -> Result<&super::Stores, ApiError> {
        self.stores.as_ref().ok_or_else(|| {
            ApiError::FeatureDisabled(
                "deployments need the metadata store (slipway serve --model, not --bundle)".into(),
            )
        })
    }

    /// The served deployment that answers for `plan`'s model as its champion.
    pub(crate) fn champion_of(&self, model: &str, champion: &str) -> Option<&Arc<Deployment>> {
        self.deployments.values().find(|d| {
            matches!(&d.spec.source, Source::Registry { model: m, selector: Selector::Alias(a) }
                if m == model && a == champion)
        })
    }

    /// The deployments this replica routes, by name.
    pub fn active_rollouts(&self) -> Vec<Arc<ActiveRollout>> {
        self.deployments
            .values()
            .filter_map(|d| d.rollout())
            .collect()
    }

    /// The active rollout named `name`, when this replica routes it.
    pub fn active_rollout(&self, name: &str) -> Option<Arc<ActiveRollout>> {
        self.active_rollouts().into_iter().find(|r| r.name == name)
    }

    /// Creates a deployment: checks the plan, that this server serves the model's champion,
    /// and that the challenger loads; then stores it and starts routing.
    pub async fn create_rollout(&self, plan: DeploymentPlan) -> Result<DeploymentRecord, ApiError> {
        plan.validate().map_err(rollout_error)?;
        let stores = self.stores_or_err()?.clone();
        let Some(d) = self.champion_of(&plan.model, &plan.champion) else {
            return Err(ApiError::invalid(format!(
                "model: this server does not serve {}@{} (start it with --model {}@{})",
                plan.model, plan.champion, plan.model, plan.champion
            )));
        };
        if let Some(other) = d.rollout().filter(|r| r.routing.load(Ordering::Relaxed)) {
            return Err(ApiError::invalid(format!(
                "model: deployment '{}' already routes {}; end it first",
                other.name, plan.model
            )));
        }
        let challenger = match &plan.challenger {
            Some(c) => Some(Arc::new(self.load_challenger(&plan.model, c).await?)),
            None => None,
        };
        let (state, event) = plan.start();
        let record = stores
            .meta
            .create_deployment(NewDeployment {
                name: plan.name.clone(),
                model: plan.model.clone(),
                strategy: plan.strategy.name().into(),
                status: state.status.as_str().into(),
                plan: serde_json::to_string(&plan).map_err(|e| internal("plan", e))?,
                state: serde_json::to_string(&state).map_err(|e| internal("state", e))?,
                event: store_event(&event),
            })
            .await?;
        d.set_rollout(Some(Arc::new(ActiveRollout::new(
            &record, plan, state, challenger,
        ))));
        Ok(record)
    }

    async fn load_challenger(&self, model: &str, challenger: &str) -> Result<Live, ApiError> {
        let selector = match challenger.parse::<i64>() {
            Ok(v) if v >= 1 => Selector::Version(v),
            _ => Selector::Alias(challenger.to_string()),
        };
        let spec = super::DeploymentSpec {
            name: model.to_string(),
            source: Source::Registry {
                model: model.to_string(),
                selector,
            },
        };
        load(&spec, self.stores.as_ref(), &self.options.online)
            .await
            .map_err(|m| ApiError::invalid(format!("challenger: {m}")))
    }

    /// Applies a user's change (any replica may), through the store's compare-and-set.
    pub async fn change_rollout(
        &self,
        name: &str,
        action: UserAction,
        reason: &str,
        actor: Option<&str>,
    ) -> Result<DeploymentRecord, ApiError> {
        let stores = self.stores_or_err()?.clone();
        let record = stores.meta.get_deployment(name).await?;
        let (plan, state) = decode(&record)?;
        let (next, event) = match action {
            UserAction::Pause => state.pause(reason).map_err(rollout_error)?,
            UserAction::Resume => state.resume(reason).map_err(rollout_error)?,
            UserAction::Rollback if state.blue_green.is_some() => {
                return self
                    .roll_back_to_blue(&record, &plan, &state, reason, actor)
                    .await;
            }
            UserAction::Rollback => state
                .rollback(
                    if reason.trim().is_empty() {
                        "rolled back by a user"
                    } else {
                        reason
                    },
                    json!({}),
                )
                .map_err(rollout_error)?,
            UserAction::End => state.end(reason).map_err(rollout_error)?,
            UserAction::Promote => {
                state.check_promotable().map_err(rollout_error)?;
                let reason = if reason.trim().is_empty() {
                    "promoted by a user"
                } else {
                    reason
                };
                if let Strategy::BlueGreen(params) = &plan.strategy {
                    return self
                        .flip(&record, &plan, params, &state, reason, actor)
                        .await;
                }
                return self
                    .promote(&record, &plan, &state, reason, json!({}), None, actor)
                    .await;
            }
        };
        self.store_change(&record, &next, &event, None).await
    }

    pub(crate) async fn store_change(
        &self,
        record: &DeploymentRecord,
        next: &DeploymentState,
        event: &Event,
        lease_owner: Option<&str>,
    ) -> Result<DeploymentRecord, ApiError> {
        let stores = self.stores_or_err()?;
        let updated = stores
            .meta
            .update_deployment(
                &record.name,
                DeploymentUpdate {
                    expected_revision: record.revision,
                    status: next.status.as_str().into(),
                    state: serde_json::to_string(next).map_err(|e| internal("state", e))?,
                    event: store_event(event),
                    lease_owner: lease_owner.map(str::to_string),
                },
            )
            .await?;
        let Some(updated) = updated else {
            return Err(ApiError::invalid(format!(
                "deployment '{}' changed while this change was made; read it again and retry",
                record.name
            )));
        };
        self.apply(&updated, next.clone());
        Ok(updated)
    }

    /// Routes by `state` from now on, on this replica.
    fn apply(&self, record: &DeploymentRecord, state: DeploymentState) {
        if let Some(r) = self.active_rollout(&record.name) {
            let d = self.champion_of(&r.plan.model, &r.plan.champion);
            let was = r.state();
            if state.status == Status::Promoted
                && was.status != Status::Promoted
                && let (Some(ch), Some(d)) = (r.challenger.clone(), d.as_ref())
            {
                // Blue-green: the version answering until now is the blue; keep it loaded
                // for an instant rollback while its window lasts.
                if state.blue_green.as_ref().is_some_and(|b| b.blue_loaded) {
                    let mut kept = r.blue.lock().unwrap_or_else(|e| e.into_inner());
                    if kept.is_none()
                        && let Some(current) = d.live().filter(|l| l.version != ch.version)
                    {
                        *kept = Some(current);
                    }
                }
                // The alias moved to the challenger: answer with it now rather than at the
                // alias watcher's next look.
                d.set_live(ch);
            }
            if let Some(bg) = &state.blue_green
                && !bg.blue_loaded
            {
                let blue = r.blue.lock().unwrap_or_else(|e| e.into_inner()).take();
                if state.status == Status::RolledBack
                    && was.status == Status::Promoted
                    && let (Some(blue), Some(d)) = (blue, d.as_ref())
                {
                    // The instant rollback: the blue is still in memory.
                    d.set_live(blue);
                }
            }
            r.set_state(record.revision, state);
        }
    }

    /// Moves the champion alias to the challenger through the gate, then records the
    /// outcome (a refusal pauses the deployment and is returned as the gate's error).
    #[allow(clippy::too_many_arguments)]
    async fn promote(
        &self,
        record: &DeploymentRecord,
        plan: &DeploymentPlan,
        state: &DeploymentState,
        reason: &str,
        values: Value,
        lease_owner: Option<&str>,
        actor: Option<&str>,
    ) -> Result<DeploymentRecord, ApiError> {
        let stores = self.stores_or_err()?.clone();
        let version = match self
            .active_rollout(&record.name)
            .and_then(|r| r.challenger_version().map(str::to_string))
        {
            Some(v) => v,
            None => {
                let c = plan.challenger.as_deref().ok_or_else(|| {
                    ApiError::invalid("a single deployment has no challenger to promote")
                })?;
                match c.parse::<i64>() {
                    Ok(v) => v.to_string(),
                    Err(_) => stores
                        .meta
                        .get_model_version_by_alias(&plan.model, c)
                        .await?
                        .version
                        .to_string(),
                }
            }
        };
        let moved = slipway_govern::set_alias(
            stores.meta.as_ref(),
            self.options.rollout.policy.as_ref(),
            slipway_govern::AliasRequest {
                name: plan.model.clone(),
                alias: plan.champion.clone(),
                version: version.clone(),
                force: false,
                reason: None,
                require_policy: false,
                actor: actor.map(str::to_string),
            },
        )
        .await;
        match moved {
            Ok(_) => {
                let (next, event) = state.promoted(reason, &version, values);
                self.store_change(record, &next, &event, lease_owner).await
            }
            Err(slipway_govern::Error::Refused(p)) => {
                let (next, event) = state.promotion_refused(&p.reasons);
                self.store_change(record, &next, &event, lease_owner)
                    .await?;
                Err(ApiError::Govern(slipway_govern::Error::Refused(p)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One controller tick: state from the store, then the canaries whose period is over.
    pub async fn sync_rollouts(&self) {
        let Some(stores) = self.stores.clone() else {
            return;
        };
        let records = match stores.meta.list_deployments().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("deployments: cannot read them from the store: {e}");
                return;
            }
        };
        for record in records {
            if let Err(e) = self.sync_one(&record).await {
                tracing::warn!("deployment {}: {}", record.name, e.parts().2);
            }
        }
    }

    async fn sync_one(&self, record: &DeploymentRecord) -> Result<(), ApiError> {
        let (plan, state) = decode(record)?;
        let Some(d) = self.champion_of(&plan.model, &plan.champion) else {
            return Ok(());
        };
        let current = d.rollout().filter(|r| r.name == record.name);
        let rollout = match current {
            Some(r) => {
                if r.revision.load(Ordering::Relaxed) != record.revision {
                    self.apply(record, state.clone());
                }
                r
            }
            None if state.status.is_final() => return Ok(()),
            None => {
                if d.rollout()
                    .is_some_and(|r| r.routing.load(Ordering::Relaxed))
                {
                    return Ok(());
                }
                let challenger = match &plan.challenger {
                    Some(c) => Some(Arc::new(self.load_challenger(&plan.model, c).await?)),
                    None => None,
                };
                let r = Arc::new(ActiveRollout::new(
                    record,
                    plan.clone(),
                    state.clone(),
                    challenger,
                ));
                d.set_rollout(Some(r.clone()));
                tracing::info!("deployment {}: resumed from the store", record.name);
                r
            }
        };
        if let Strategy::BlueGreen(_) = &plan.strategy {
            return self.release_blue(record, &rollout, &state).await;
        }
        let Strategy::Canary(params) = &plan.strategy else {
            return Ok(());
        };
        let period = Duration::from_secs_f64(params.evaluation_seconds);
        {
            let mut started = rollout
                .period_started
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if started.elapsed() < period {
                return Ok(());
            }
            *started = Instant::now();
        }
        let baseline = rollout.arms[0].take();
        let canary = rollout.arms[1].take();
        if state.status != Status::Running {
            return Ok(());
        }
        let stores = self.stores_or_err()?;
        let owner = self.options.rollout.owner.clone();
        let ttl = i64::try_from(self.options.rollout.lease.as_millis()).unwrap_or(i64::MAX);
        if !stores
            .meta
            .acquire_deployment_lease(&record.name, &owner, ttl.max(period.as_millis() as i64 * 3))
            .await?
        {
            // Another replica drives the steps.
            return Ok(());
        }
        let policy = params.policy();
        let decision = tokio::task::spawn_blocking(move || analyze(&canary, &baseline, &policy))
            .await
            .map_err(|e| internal("canary analysis", e))?;
        let (next, event, action) = state.evaluate(params, &decision);
        match action {
            Action::None => {
                self.store_change(record, &next, &event, Some(&owner))
                    .await?;
            }
            Action::Promote => {
                // The period's decision first, then the promotion it triggered.
                let record = self
                    .store_change(record, &next, &event, Some(&owner))
                    .await?;
                let reason = event.reason.clone();
                let r = self
                    .promote(
                        &record,
                        &plan,
                        &next,
                        &reason,
                        json!({}),
                        Some(&owner),
                        Some(&owner),
                    )
                    .await;
                if let Err(e) = r {
                    tracing::warn!("deployment {}: promotion: {}", record.name, e.parts().2);
                }
            }
        }
        Ok(())
    }
}

/// Runs the controller until the serving state is dropped.
pub(crate) async fn control(serving: std::sync::Weak<Serving>) {
    loop {
        let tick = match serving.upgrade() {
            Some(s) => s.options.rollout.tick,
            None => return,
        };
        tokio::time::sleep(tick).await;
        let Some(s) = serving.upgrade() else { return };
        s.sync_rollouts().await;
    }
}

/// The JSON of a deployment: the stored record decoded, this replica's counters, events.
pub fn describe(
    record: &DeploymentRecord,
    active: Option<&ActiveRollout>,
    events: &[slipway_store::DeploymentEvent],
) -> Value {
    let plan: Value = serde_json::from_str(&record.plan).unwrap_or(Value::Null);
    let state: Value = serde_json::from_str(&record.state).unwrap_or(Value::Null);
    let mut v = json!({
        "name": record.name,
        "model": record.model,
        "strategy": record.strategy,
        "status": record.status,
        "champion": plan.get("champion"),
        "challenger": plan.get("challenger"),
        "challenger_percent": state.get("challenger_percent"),
        "evaluations": state.get("evaluations"),
        "revision": record.revision,
        "created_ms": record.creation_time,
        "updated_ms": record.last_update,
        "lease_owner": record.lease_owner,
        "plan": plan,
    });
    if let Some(bg) = state.get("blue_green").filter(|b| !b.is_null()) {
        v["blue_green"] = bg.clone();
    }
    if let Some(a) = active {
        v["challenger_version"] = json!(a.challenger_version());
        if matches!(a.plan.strategy, Strategy::BlueGreen(_)) {
            v["blue_loaded_here"] = json!(a.blue_version().is_some());
        }
        v["counters"] = a.counters();
    }
    if !events.is_empty() {
        v["events"] = events
            .iter()
            .map(|e| {
                json!({
                    "seq": e.seq,
                    "time_ms": e.time_ms,
                    "kind": e.kind,
                    "reason": e.reason,
                    "values": serde_json::from_str::<Value>(&e.values).unwrap_or(Value::Null),
                })
            })
            .collect();
    }
    v
}
