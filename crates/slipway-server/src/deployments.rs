//! `/api/2.0/slipway/deployments/...`: create, read, list, pause, resume, promote, roll back
//! and end deployments (A/B, canary, blue-green, shadow). Handlers extract, call
//! [`crate::serving::Serving`]'s deployment methods (which apply `slipway_rollout`'s rules
//! through the store) and serialize.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use slipway_rollout::deployment::DeploymentPlan;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::serving::rollout::describe;
use crate::serving::{ReportRequest, Serving, UserAction};

type St = State<Arc<AppState>>;

/// The routes, nested under `/api/2.0/slipway`.
pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/deployments/create", post(create))
        .route("/deployments/get", get(get_one))
        .route("/deployments/list", get(list))
        .route("/deployments/pause", post(pause))
        .route("/deployments/resume", post(resume))
        .route("/deployments/promote", post(promote))
        .route("/deployments/rollback", post(rollback))
        .route("/deployments/end", post(end))
        .route("/deployments/report", get(report))
}

fn serving(s: &AppState) -> ApiResult<&Arc<Serving>> {
    s.serving.as_ref().ok_or_else(|| {
        ApiError::FeatureDisabled(
            "this server serves no models: start it with --model NAME@ALIAS to deploy".into(),
        )
    })
}

/// `deployments/create`: the plan (name, model, champion, challenger, strategy and its
/// parameters).
async fn create(State(s): St, ApiJson(body): ApiJson<Value>) -> ApiResult<Json<Value>> {
    let serving = serving(&s)?;
    let plan = DeploymentPlan::from_json(body).map_err(|e| ApiError::invalid(e.to_string()))?;
    let record = serving.create_rollout(plan).await?;
    let events = s.meta.deployment_events(&record.name).await?;
    let active = serving.active_rollout(&record.name);
    Ok(Json(
        json!({"deployment": describe(&record, active.as_deref(), &events)}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameQuery {
    name: Option<String>,
}

fn required(name: Option<String>) -> ApiResult<String> {
    name.filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::missing("name"))
}

/// `deployments/get?name=`: the deployment, this replica's counters and every event.
async fn get_one(State(s): St, ApiQuery(q): ApiQuery<NameQuery>) -> ApiResult<Json<Value>> {
    let name = required(q.name)?;
    let record = s.meta.get_deployment(&name).await?;
    let events = s.meta.deployment_events(&name).await?;
    let active = s.serving.as_ref().and_then(|sv| sv.active_rollout(&name));
    Ok(Json(
        json!({"deployment": describe(&record, active.as_deref(), &events)}),
    ))
}

/// `deployments/list`: every deployment, oldest first (without events).
async fn list(State(s): St) -> ApiResult<Json<Value>> {
    let records = s.meta.list_deployments().await?;
    let list: Vec<Value> = records
        .iter()
        .map(|r| {
            let active = s.serving.as_ref().and_then(|sv| sv.active_rollout(&r.name));
            describe(r, active.as_deref(), &[])
        })
        .collect();
    Ok(Json(json!({"deployments": list})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    name: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

async fn change(s: &AppState, body: Change, action: UserAction) -> ApiResult<Json<Value>> {
    let serving = serving(s)?;
    let name = required(body.name)?;
    let reason = body.reason.unwrap_or_default();
    if reason.len() > 4096 {
        return Err(ApiError::invalid("reason: at most 4096 bytes"));
    }
    let record = serving.change_rollout(&name, action, &reason, None).await?;
    let events = s.meta.deployment_events(&name).await?;
    let active = serving.active_rollout(&name);
    Ok(Json(
        json!({"deployment": describe(&record, active.as_deref(), &events)}),
    ))
}

async fn pause(State(s): St, ApiJson(b): ApiJson<Change>) -> ApiResult<Json<Value>> {
    change(&s, b, UserAction::Pause).await
}

async fn resume(State(s): St, ApiJson(b): ApiJson<Change>) -> ApiResult<Json<Value>> {
    change(&s, b, UserAction::Resume).await
}

async fn promote(State(s): St, ApiJson(b): ApiJson<Change>) -> ApiResult<Json<Value>> {
    change(&s, b, UserAction::Promote).await
}

async fn rollback(State(s): St, ApiJson(b): ApiJson<Change>) -> ApiResult<Json<Value>> {
    change(&s, b, UserAction::Rollback).await
}

async fn end(State(s): St, ApiJson(b): ApiJson<Change>) -> ApiResult<Json<Value>> {
    change(&s, b, UserAction::End).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    name: Option<String>,
    covariate: Option<String>,
    segment: Option<String>,
    alpha: Option<f64>,
    srm_threshold: Option<f64>,
    min_effect: Option<f64>,
    missing_as_zero: Option<bool>,
}

/// A logged field's name: not empty, at most 256 bytes, no control characters.
fn field_name(what: &str, v: Option<String>) -> ApiResult<Option<String>> {
    match v {
        None => Ok(None),
        Some(f) if f.is_empty() || f.len() > 256 || f.chars().any(char::is_control) => {
            Err(ApiError::invalid(format!(
                "{what}: a logged field name of 1 to 256 characters, without control characters"
            )))
        }
        Some(f) => Ok(Some(f)),
    }
}

/// `deployments/report?name=`: the A/B readout of the deployment from the prediction log
/// (exposures by arm, outcomes from `/feedback`), with an optional CUPED covariate and
/// segment field.
async fn report(State(s): St, ApiQuery(q): ApiQuery<ReportQuery>) -> ApiResult<Json<Value>> {
    let serving = serving(&s)?;
    let name = required(q.name)?;
    let request = ReportRequest {
        fields: slipway_rollout::logged::LogFields {
            covariate: field_name("covariate", q.covariate)?,
            segment: field_name("segment", q.segment)?,
        },
        alpha: q.alpha,
        srm_threshold: q.srm_threshold,
        min_effect: q.min_effect,
        missing_as_zero: q.missing_as_zero.unwrap_or(false),
    };
    let r = serving
        .deployment_readout(s.meta.as_ref(), &name, request)
        .await?;
    Ok(Json(json!({ "report": r })))
}
