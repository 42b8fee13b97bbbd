//! Blue-green in the running server: the flip (green smoke-tested with recorded requests,
//! then the champion alias moved through the promotion gate and all traffic sent to green at
//! once), the instant rollback to the blue kept in memory, and the blue's unloading when its
//! window ends. The rules (what passes a smoke test, the window) are
//! `slipway_rollout::bluegreen`'s; this file replays requests and loads and drops versions.
//!
//! The recorded requests are the plan's `recorded_requests` (rows named at create time, e.g.
//! from `slipway deploy create --recorded FILE`) or else the `smoke_requests` most recent
//! rows of the model's prediction log, each replayed as one request against green on the
//! scoring pool. A logged row holds the blue's input columns: a green whose schema needs a
//! column the recorded traffic lacks fails on every row, and the flip is refused.

use std::sync::Arc;

use serde_json::{Map, Value};
use slipway_engine::serving::{Output, ServedModel};
use slipway_rollout::bluegreen::{AnswerShape, BlueGreenParams, SmokeOutcome, judge};
use slipway_rollout::deployment::{DeploymentPlan, DeploymentState, Status};
use slipway_store::DeploymentRecord;

use super::log::{LoggedRow, recent_rows};
use super::rollout::ActiveRollout;
use super::{Serving, protocol};
use crate::error::ApiError;

/// The requests a smoke test replays.
enum Recorded {
    /// Rows of the prediction log (newest first).
    Logged(Vec<LoggedRow>),
    /// Rows given with the plan.
    Given(Vec<Map<String, Value>>),
}

/// What a model answers with.
fn shape(model: &ServedModel) -> AnswerShape {
    // The task's serialized tag: binary, multiclass or regression.
    let kind = match model.task() {
        None => "clustering".to_string(),
        Some(t) => serde_json::to_value(t)
            .ok()
            .and_then(|v| v.get("kind").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| "unknown".into()),
    };
    AnswerShape {
        kind,
        classes: model.classes().to_vec(),
    }
}

fn outcome(scored: slipway_engine::Result<Output>) -> SmokeOutcome {
    match scored {
        Err(e) => SmokeOutcome::Failed(e.to_string()),
        Ok(out) => {
            let non_finite = match &out {
                Output::Values(v) => v.iter().filter(|x| !x.is_finite()).count(),
                Output::Classes { probabilities, .. } => (0..probabilities.n_rows())
                    .filter(|&i| {
                        (0..probabilities.n_cols()).any(|j| !probabilities.get(i, j).is_finite())
                    })
                    .count(),
                Output::Clusters(_) => 0,
            };
            SmokeOutcome::Answered {
                rows: out.n_rows() as u64,
                non_finite: non_finite as u64,
            }
        }
    }
}

/// Replays every recorded request against `model` (on the scoring pool).
fn replay(model: &ServedModel, recorded: Recorded) -> Vec<SmokeOutcome> {
    match recorded {
        Recorded::Logged(rows) => rows
            .iter()
            .map(|r| match r.inputs(model.inputs()) {
                Ok(table) => outcome(model.score(&table)),
                Err(e) => SmokeOutcome::Failed(format!("logged request: {e}")),
            })
            .collect(),
        Recorded::Given(rows) => rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let read = protocol::plain_rows(&Value::Object(row))
                    .map_err(|e| e.parts().2)
                    .and_then(|(rows, _)| model.read_rows(rows).map_err(|e| e.to_string()));
                match read {
                    Ok(req) => outcome(model.score(&req.table)),
                    Err(e) => SmokeOutcome::Failed(format!("recorded request {i}: {e}")),
                }
            })
            .collect(),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl Serving {
    /// The flip: smoke test, then the alias through the gate, then all traffic to green.
    /// A failed smoke test is recorded (traffic stays on blue) and returned as a 400.
    pub(crate) async fn flip(
        &self,
        record: &DeploymentRecord,
        plan: &DeploymentPlan,
        params: &BlueGreenParams,
        state: &DeploymentState,
        reason: &str,
        actor: Option<&str>,
    ) -> Result<DeploymentRecord, ApiError> {
        let not_here = || {
            ApiError::invalid(format!(
                "deployment '{}': this server does not serve {}@{}; flip it on a server that \
                 does",
                record.name, plan.model, plan.champion
            ))
        };
        let rollout = self.active_rollout(&record.name).ok_or_else(not_here)?;
        let d = self
            .deployments()
            .find(|d| d.rollout().is_some_and(|r| Arc::ptr_eq(&r, &rollout)))
            .ok_or_else(not_here)?
            .clone();
        let green = rollout
            .challenger()
            .ok_or_else(|| ApiError::invalid("a blue-green deployment needs a green version"))?;
        let blue = d.live().ok_or_else(|| {
            ApiError::NotReady(format!("model '{}' is not loaded yet", d.spec.name))
        })?;
        let recorded = match &params.recorded_requests {
            Some(rows) => Recorded::Given(rows.clone()),
            None => {
                self.flush_log().await;
                let rows = match &self.log {
                    Some(log) => {
                        recent_rows(log.store(), &d.spec.name, params.smoke_requests as usize)
                            .await
                            .map_err(|e| {
                                ApiError::Internal(format!("reading the prediction log: {e}"))
                            })?
                    }
                    None => Vec::new(),
                };
                Recorded::Logged(rows)
            }
        };
        let g = green.clone();
        let outcomes = self
            .run(move || replay(&g.model, recorded))
            .await
            .ok_or_else(|| ApiError::Internal("the scoring thread stopped".into()))?;
        let verdict = judge(
            params.source(),
            &outcomes,
            &shape(&blue.model),
            &shape(&green.model),
        );
        if !verdict.passed {
            let (next, event) = state.smoke_refused(&verdict);
            self.store_change(record, &next, &event, None).await?;
            return Err(ApiError::invalid(event.reason));
        }
        let record = self
            .store_change(record, state, &state.smoke_passed(&verdict), None)
            .await?;
        // Kept before the alias moves: the alias watcher may swap green in at any moment
        // after that.
        *rollout.blue.lock().unwrap_or_else(|e| e.into_inner()) =
            (params.keep_blue_seconds > 0.0).then(|| blue.clone());
        let stores = self.stores_or_err()?.clone();
        let moved = slipway_govern::set_alias(
            stores.meta.as_ref(),
            self.options.rollout.policy.as_ref(),
            slipway_govern::AliasRequest {
                name: plan.model.clone(),
                alias: plan.champion.clone(),
                version: green.version.clone(),
                force: false,
                reason: None,
                require_policy: false,
                actor: actor.map(str::to_string),
            },
        )
        .await;
        match moved {
            Ok(_) => {
                let (next, event) =
                    state.flipped(reason, params, &blue.version, &green.version, now_ms());
                self.store_change(&record, &next, &event, None).await
            }
            Err(slipway_govern::Error::Refused(p)) => {
                rollout
                    .blue
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                let (next, event) = state.promotion_refused(&p.reasons);
                self.store_change(&record, &next, &event, None).await?;
                Err(ApiError::Govern(slipway_govern::Error::Refused(p)))
            }
            Err(e) => {
                rollout
                    .blue
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                Err(e.into())
            }
        }
    }

    /// Back to blue after a flip: the alias moves back (forced: blue was the champion a
    /// moment ago) and, on every replica that still holds blue, it answers at once.
    pub(crate) async fn roll_back_to_blue(
        &self,
        record: &DeploymentRecord,
        plan: &DeploymentPlan,
        state: &DeploymentState,
        reason: &str,
        actor: Option<&str>,
    ) -> Result<DeploymentRecord, ApiError> {
        let reason = if reason.trim().is_empty() {
            "rolled back to blue by a user"
        } else {
            reason
        };
        let (next, event) = state
            .blue_rollback(reason, now_ms())
            .map_err(|e| ApiError::invalid(e.to_string()))?;
        if state.status == Status::Promoted
            && let Some(bg) = &state.blue_green
        {
            let stores = self.stores_or_err()?.clone();
            slipway_govern::set_alias(
                stores.meta.as_ref(),
                self.options.rollout.policy.as_ref(),
                slipway_govern::AliasRequest {
                    name: plan.model.clone(),
                    alias: plan.champion.clone(),
                    version: bg.blue_version.clone(),
                    force: true,
                    reason: Some(format!(
                        "blue-green deployment '{}' rolled back: {reason}",
                        record.name
                    )),
                    require_policy: false,
                    actor: actor.map(str::to_string),
                },
            )
            .await?;
        }
        self.store_change(record, &next, &event, None).await
    }

    /// Unloads the blue when its window is over (one replica records it; every replica
    /// drops its copy when it reads the new state, or at the window's end).
    pub(crate) async fn release_blue(
        &self,
        record: &DeploymentRecord,
        rollout: &Arc<ActiveRollout>,
        state: &DeploymentState,
    ) -> Result<(), ApiError> {
        let Some((next, event)) = state.blue_released(now_ms()) else {
            return Ok(());
        };
        rollout
            .blue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        self.store_change(record, &next, &event, None).await?;
        Ok(())
    }
}
