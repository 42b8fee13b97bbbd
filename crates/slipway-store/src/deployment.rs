//! Deployments (`slipway deploy`): the stored form of a rollout. The plan (model, champion,
//! challenger, strategy and parameters) and the state (status, the challenger's share) are
//! JSON written and read by `slipway-rollout`, which owns the rules; the store keeps them
//! with a revision for compare-and-set updates, a lease (owner, expiry) so that one replica
//! at a time drives a canary's steps, and the history of events.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A stored deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRecord {
    /// Unique name.
    pub name: String,
    /// The registered model.
    pub model: String,
    /// `single`, `ab`, `canary`, `blue_green` or `shadow`.
    pub strategy: String,
    /// `running`, `paused`, `promoted`, `rolled_back` or `ended`.
    pub status: String,
    /// The plan, as JSON.
    pub plan: String,
    /// The state, as JSON.
    pub state: String,
    /// Bumped by every update; an update names the revision it was computed from.
    pub revision: i64,
    /// The replica that drives the steps, while its lease runs.
    pub lease_owner: Option<String>,
    /// When the lease runs out (UTC milliseconds).
    pub lease_until: Option<i64>,
    /// Creation time (UTC milliseconds).
    pub creation_time: i64,
    /// Last update (UTC milliseconds).
    pub last_update: i64,
}

/// A state change to record with an update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDeploymentEvent {
    /// `created`, `step_up`, `paused`, ...
    pub kind: String,
    /// Why.
    pub reason: String,
    /// The values it was decided on, as JSON.
    pub values: String,
}

/// A recorded state change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentEvent {
    /// 1, 2, ... within the deployment.
    pub seq: i64,
    /// When (UTC milliseconds).
    pub time_ms: i64,
    /// What happened.
    pub kind: String,
    /// Why.
    pub reason: String,
    /// The values, as JSON.
    pub values: String,
}

/// A new deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeployment {
    /// Unique name.
    pub name: String,
    /// The registered model.
    pub model: String,
    /// The strategy's name.
    pub strategy: String,
    /// The first status.
    pub status: String,
    /// The plan, as JSON.
    pub plan: String,
    /// The first state, as JSON.
    pub state: String,
    /// The `created` event.
    pub event: NewDeploymentEvent,
}

/// A state change computed from revision `expected_revision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentUpdate {
    /// The revision the new state was computed from.
    pub expected_revision: i64,
    /// The new status.
    pub status: String,
    /// The new state, as JSON.
    pub state: String,
    /// The event that explains it.
    pub event: NewDeploymentEvent,
    /// Only when this replica holds the lease (a controller's step); `None` for a user's
    /// change, which any replica may make.
    pub lease_owner: Option<String>,
}

fn check_text(field: &str, value: &str, max: usize) -> Result<()> {
    if value.contains('\0') {
        return Err(Error::invalid(format!(
            "deployment {field}: no text may contain a NUL character"
        )));
    }
    if value.len() > max {
        return Err(Error::invalid(format!(
            "deployment {field}: at most {max} bytes"
        )));
    }
    Ok(())
}

pub(crate) fn check_new(d: &NewDeployment) -> Result<()> {
    if d.name.is_empty() || d.model.is_empty() {
        return Err(Error::invalid("a deployment needs a name and a model"));
    }
    check_text("name", &d.name, 256)?;
    check_text("model", &d.model, 256)?;
    check_text("strategy", &d.strategy, 64)?;
    check_text("status", &d.status, 64)?;
    check_text("plan", &d.plan, 65_536)?;
    check_text("state", &d.state, 65_536)?;
    check_event(&d.event)
}

pub(crate) fn check_event(e: &NewDeploymentEvent) -> Result<()> {
    check_text("event kind", &e.kind, 64)?;
    check_text("event reason", &e.reason, 65_536)?;
    check_text("event values", &e.values, 1 << 20)
}

pub(crate) fn not_found(name: &str) -> Error {
    Error::NotFound(format!(
        "no deployment named '{}'",
        name.chars().take(256).collect::<String>()
    ))
}
