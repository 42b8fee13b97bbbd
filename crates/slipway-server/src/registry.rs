//! The MLflow model registry (`/api/2.0/mlflow/registered-models/…` and
//! `/api/2.0/mlflow/model-versions/…`). Each handler extracts, calls one store method and
//! serializes; versions travel as decimal strings.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use slipway_govern::AliasMove;
use slipway_store::uri;
use slipway_store::{
    KeyValue, ModelFilter, ModelStage, ModelVersion, ModelVersionQuery, NewModelVersion,
    NewRegisteredModel, OrderBy, Promotion, RegisteredModel, RegisteredModelQuery,
};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery};
use crate::wire::{KeyValueJson, deserialize_opt_string};

type St = State<Arc<AppState>>;

/// Default page size of `registered-models/search` (MLflow's).
const DEFAULT_MODEL_RESULTS: usize = 100;
/// Default page size of `model-versions/search` (MLflow's).
const DEFAULT_VERSION_RESULTS: usize = 10_000;

/// The registry routes, to nest under `/api/2.0/mlflow`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/registered-models/create", post(create_model))
        .route("/registered-models/get", get(get_model))
        .route("/registered-models/rename", post(rename_model))
        .route("/registered-models/update", patch(update_model))
        .route("/registered-models/delete", delete(delete_model))
        .route("/registered-models/search", get(search_models))
        .route(
            "/registered-models/get-latest-versions",
            post(latest_versions_post).get(latest_versions_get),
        )
        .route("/registered-models/set-tag", post(set_model_tag))
        .route("/registered-models/delete-tag", delete(delete_model_tag))
        .route(
            "/registered-models/alias",
            post(set_alias).delete(delete_alias).get(get_by_alias),
        )
        .route("/registered-models/promotions", get(promotions))
        .route("/model-versions/create", post(create_version))
        .route("/model-versions/get", get(get_version))
        .route("/model-versions/update", patch(update_version))
        .route("/model-versions/delete", delete(delete_version))
        .route("/model-versions/search", get(search_versions))
        .route("/model-versions/transition-stage", post(transition_stage))
        .route("/model-versions/get-download-uri", get(download_uri))
        .route("/model-versions/set-tag", post(set_version_tag))
        .route("/model-versions/delete-tag", delete(delete_version_tag))
}

fn required(value: Option<String>, field: &str) -> ApiResult<String> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::missing(field))
}

// ---- wire shapes ----

/// A model version.
#[derive(Debug, Serialize)]
pub struct ModelVersionJson {
    name: String,
    version: String,
    creation_timestamp: i64,
    last_updated_timestamp: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    user_id: String,
    current_stage: &'static str,
    description: String,
    source: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    run_id: String,
    status: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<KeyValueJson>,
    run_link: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_id: Option<String>,
}

impl From<&ModelVersion> for ModelVersionJson {
    fn from(v: &ModelVersion) -> Self {
        ModelVersionJson {
            name: v.name.clone(),
            version: v.version.to_string(),
            creation_timestamp: v.creation_timestamp,
            last_updated_timestamp: v.last_updated_timestamp,
            user_id: v.user_id.clone(),
            current_stage: v.current_stage.as_str(),
            description: v.description.clone(),
            source: v.source.clone(),
            run_id: v.run_id.clone(),
            status: v.status.clone(),
            tags: v.tags.iter().map(KeyValueJson::from).collect(),
            run_link: v.run_link.clone(),
            aliases: v.aliases.clone(),
            model_id: v.model_id.clone(),
        }
    }
}

/// An alias of a registered model.
#[derive(Debug, Serialize)]
pub struct AliasJson {
    alias: String,
    version: String,
}

/// A registered model.
#[derive(Debug, Serialize)]
pub struct RegisteredModelJson {
    name: String,
    creation_timestamp: i64,
    last_updated_timestamp: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    latest_versions: Vec<ModelVersionJson>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<KeyValueJson>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<AliasJson>,
}

impl From<&RegisteredModel> for RegisteredModelJson {
    fn from(m: &RegisteredModel) -> Self {
        RegisteredModelJson {
            name: m.name.clone(),
            creation_timestamp: m.creation_timestamp,
            last_updated_timestamp: m.last_updated_timestamp,
            description: m.description.clone(),
            latest_versions: m
                .latest_versions
                .iter()
                .map(ModelVersionJson::from)
                .collect(),
            tags: m.tags.iter().map(KeyValueJson::from).collect(),
            aliases: m
                .aliases
                .iter()
                .map(|(alias, version)| AliasJson {
                    alias: alias.clone(),
                    version: version.to_string(),
                })
                .collect(),
        }
    }
}

/// Response body.
#[derive(Serialize)]
pub struct RegisteredModelResponse {
    registered_model: RegisteredModelJson,
}

fn model_response(m: &RegisteredModel) -> Json<RegisteredModelResponse> {
    Json(RegisteredModelResponse {
        registered_model: RegisteredModelJson::from(m),
    })
}

/// Response body.
#[derive(Serialize)]
pub struct ModelVersionResponse {
    model_version: ModelVersionJson,
}

fn version_response(v: &ModelVersion) -> Json<ModelVersionResponse> {
    Json(ModelVersionResponse {
        model_version: ModelVersionJson::from(v),
    })
}

/// Response body.
#[derive(Serialize)]
pub struct ModelVersionsResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    model_versions: Vec<ModelVersionJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// Search arguments from a query string where `order_by` may repeat.
struct SearchArgs {
    filter: String,
    max_results: Option<usize>,
    order_by: Vec<String>,
    page_token: Option<String>,
}

impl SearchArgs {
    fn from_pairs(pairs: Vec<(String, String)>) -> ApiResult<Self> {
        let mut args = SearchArgs {
            filter: String::new(),
            max_results: None,
            order_by: Vec::new(),
            page_token: None,
        };
        for (k, v) in pairs {
            match k.as_str() {
                "filter" => args.filter = v,
                "max_results" => {
                    let n = v.trim().parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        ApiError::invalid(format!(
                            "Invalid value '{v}' for parameter 'max_results': it must be a positive integer"
                        ))
                    })?;
                    args.max_results = Some(n as usize);
                }
                "order_by" | "order_by[]" => args.order_by.push(v),
                "page_token" => args.page_token = Some(v).filter(|t| !t.is_empty()),
                _ => {}
            }
        }
        Ok(args)
    }
}

// ---- registered models ----

/// `registered-models/create` body.
#[derive(Debug, Deserialize)]
pub struct CreateModel {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    tags: Vec<KeyValueJson>,
    #[serde(default)]
    description: Option<String>,
}

/// `POST registered-models/create`
pub async fn create_model(
    State(s): St,
    ApiJson(req): ApiJson<CreateModel>,
) -> ApiResult<Json<RegisteredModelResponse>> {
    let model = s
        .meta
        .create_registered_model(NewRegisteredModel {
            name: required(req.name, "name")?,
            description: req.description,
            tags: req.tags.into_iter().map(KeyValue::from).collect(),
        })
        .await?;
    Ok(model_response(&model))
}

/// A body or query holding only `name`.
#[derive(Debug, Deserialize)]
pub struct NameOnly {
    #[serde(default)]
    name: Option<String>,
}

/// `GET registered-models/get`
pub async fn get_model(
    State(s): St,
    ApiQuery(q): ApiQuery<NameOnly>,
) -> ApiResult<Json<RegisteredModelResponse>> {
    let model = s
        .meta
        .get_registered_model(&required(q.name, "name")?)
        .await?;
    Ok(model_response(&model))
}

/// `registered-models/rename` body.
#[derive(Debug, Deserialize)]
pub struct RenameModel {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    new_name: Option<String>,
}

/// `POST registered-models/rename`
pub async fn rename_model(
    State(s): St,
    ApiJson(req): ApiJson<RenameModel>,
) -> ApiResult<Json<RegisteredModelResponse>> {
    let name = required(req.name, "name")?;
    let new_name = required(req.new_name, "new_name")?;
    let model = s.meta.rename_registered_model(&name, &new_name).await?;
    Ok(model_response(&model))
}

/// `registered-models/update` body.
#[derive(Debug, Deserialize)]
pub struct UpdateModel {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// `PATCH registered-models/update`
pub async fn update_model(
    State(s): St,
    ApiJson(req): ApiJson<UpdateModel>,
) -> ApiResult<Json<RegisteredModelResponse>> {
    let name = required(req.name, "name")?;
    let model = s
        .meta
        .update_registered_model(&name, req.description.as_deref().unwrap_or(""))
        .await?;
    Ok(model_response(&model))
}

/// `DELETE registered-models/delete`
pub async fn delete_model(State(s): St, ApiJson(req): ApiJson<NameOnly>) -> ApiResult<Json<Value>> {
    s.meta
        .delete_registered_model(&required(req.name, "name")?)
        .await?;
    Ok(Json(json!({})))
}

/// Response body.
#[derive(Serialize)]
pub struct SearchModelsResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    registered_models: Vec<RegisteredModelJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// `GET registered-models/search`
pub async fn search_models(
    State(s): St,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> ApiResult<Json<SearchModelsResponse>> {
    let args = SearchArgs::from_pairs(pairs)?;
    let query = RegisteredModelQuery {
        filter: ModelFilter::parse_registered_models(&args.filter)?,
        order_by: args
            .order_by
            .iter()
            .map(|o| OrderBy::parse_for_registered_models(o))
            .collect::<Result<_, _>>()?,
        max_results: args.max_results.unwrap_or(DEFAULT_MODEL_RESULTS),
        page_token: args.page_token,
    };
    let page = s.meta.search_registered_models(&query).await?;
    Ok(Json(SearchModelsResponse {
        registered_models: page.items.iter().map(RegisteredModelJson::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// `registered-models/get-latest-versions` body.
#[derive(Debug, Deserialize)]
pub struct LatestVersions {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    stages: Vec<String>,
}

async fn latest_versions(s: &AppState, req: LatestVersions) -> ApiResult<ModelVersionsResponse> {
    let name = required(req.name, "name")?;
    let stages = req
        .stages
        .iter()
        .map(|st| ModelStage::parse(st))
        .collect::<Result<Vec<_>, _>>()?;
    let versions = s.meta.get_latest_versions(&name, &stages).await?;
    Ok(ModelVersionsResponse {
        model_versions: versions.iter().map(ModelVersionJson::from).collect(),
        next_page_token: None,
    })
}

/// `POST registered-models/get-latest-versions`
pub async fn latest_versions_post(
    State(s): St,
    ApiJson(req): ApiJson<LatestVersions>,
) -> ApiResult<Json<ModelVersionsResponse>> {
    Ok(Json(latest_versions(&s, req).await?))
}

/// `GET registered-models/get-latest-versions` (`stages` may repeat).
pub async fn latest_versions_get(
    State(s): St,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> ApiResult<Json<ModelVersionsResponse>> {
    let mut req = LatestVersions {
        name: None,
        stages: Vec::new(),
    };
    for (k, v) in pairs {
        match k.as_str() {
            "name" => req.name = Some(v),
            "stages" | "stages[]" => req.stages.push(v),
            _ => {}
        }
    }
    Ok(Json(latest_versions(&s, req).await?))
}

/// `registered-models/set-tag` and `delete-tag` body.
#[derive(Debug, Deserialize)]
pub struct ModelTag {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

/// `POST registered-models/set-tag`
pub async fn set_model_tag(
    State(s): St,
    ApiJson(req): ApiJson<ModelTag>,
) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    let key = required(req.key, "key")?;
    s.meta
        .set_registered_model_tag(&name, KeyValue::new(key, req.value.unwrap_or_default()))
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE registered-models/delete-tag`
pub async fn delete_model_tag(
    State(s): St,
    ApiJson(req): ApiJson<ModelTag>,
) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    let key = required(req.key, "key")?;
    s.meta.delete_registered_model_tag(&name, &key).await?;
    Ok(Json(json!({})))
}

/// `registered-models/alias` body or query.
#[derive(Debug, Deserialize)]
pub struct AliasRef {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    alias: Option<String>,
    #[serde(default, deserialize_with = "deserialize_opt_string")]
    version: Option<String>,
}

/// `POST registered-models/alias` body: MLflow's fields, and Slipway's override of the
/// promotion gate (`force` with a `reason`) and `require_policy` (refuse to move an alias
/// no policy protects: what `slipway models promote` sends).
#[derive(Debug, Deserialize)]
pub struct SetAlias {
    #[serde(flatten)]
    alias: AliasRef,
    #[serde(default)]
    force: Option<bool>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    require_policy: Option<bool>,
}

/// One recorded promotion attempt.
#[derive(Debug, Serialize)]
pub struct PromotionJson {
    id: String,
    name: String,
    version: String,
    alias: String,
    outcome: &'static str,
    reasons: Vec<String>,
    forced: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    override_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<String>,
    timestamp: i64,
}

impl From<&Promotion> for PromotionJson {
    fn from(p: &Promotion) -> Self {
        PromotionJson {
            id: p.id.to_string(),
            name: p.name.clone(),
            version: p.version.to_string(),
            alias: p.alias.clone(),
            outcome: p.outcome.as_str(),
            reasons: p.reasons.clone(),
            forced: p.forced,
            override_reason: p.override_reason.clone(),
            actor: p.actor.clone(),
            timestamp: p.timestamp,
        }
    }
}

/// `POST registered-models/alias`: through the promotion gate when the server's policy
/// protects the alias (a refusal is 403 `PERMISSION_DENIED` naming every broken rule, and
/// is recorded); the response then carries the recorded `promotion` (MLflow clients ignore
/// it). Otherwise as MLflow.
pub async fn set_alias(State(s): St, ApiJson(req): ApiJson<SetAlias>) -> ApiResult<Json<Value>> {
    let request = slipway_govern::AliasRequest {
        name: required(req.alias.name, "name")?,
        alias: required(req.alias.alias, "alias")?,
        version: required(req.alias.version, "version")?,
        force: req.force.unwrap_or(false),
        reason: req.reason,
        require_policy: req.require_policy.unwrap_or(false),
        actor: None,
    };
    match slipway_govern::set_alias(s.meta.as_ref(), s.policy.as_ref(), request).await? {
        AliasMove::Unprotected => Ok(Json(json!({}))),
        AliasMove::Gated(p) => Ok(Json(json!({ "promotion": PromotionJson::from(&*p) }))),
    }
}

/// `DELETE registered-models/alias`: removing an alias the policy protects is recorded in
/// its promotion history.
pub async fn delete_alias(State(s): St, ApiJson(req): ApiJson<AliasRef>) -> ApiResult<Json<Value>> {
    let name = required(req.name, "name")?;
    let alias = required(req.alias, "alias")?;
    slipway_govern::delete_alias(s.meta.as_ref(), s.policy.as_ref(), &name, &alias, None).await?;
    Ok(Json(json!({})))
}

/// Response body.
#[derive(Serialize)]
pub struct PromotionsResponse {
    promotions: Vec<PromotionJson>,
}

/// `GET registered-models/promotions` (Slipway's): every promotion attempt recorded for a
/// model, oldest first.
pub async fn promotions(
    State(s): St,
    ApiQuery(q): ApiQuery<NameOnly>,
) -> ApiResult<Json<PromotionsResponse>> {
    let list = s.meta.list_promotions(&required(q.name, "name")?).await?;
    Ok(Json(PromotionsResponse {
        promotions: list.iter().map(PromotionJson::from).collect(),
    }))
}

/// `GET registered-models/alias`
pub async fn get_by_alias(
    State(s): St,
    ApiQuery(q): ApiQuery<AliasRef>,
) -> ApiResult<Json<ModelVersionResponse>> {
    let name = required(q.name, "name")?;
    let alias = required(q.alias, "alias")?;
    let v = s.meta.get_model_version_by_alias(&name, &alias).await?;
    Ok(version_response(&v))
}

// ---- model versions ----

/// `model-versions/create` body.
#[derive(Debug, Deserialize)]
pub struct CreateVersion {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    tags: Vec<KeyValueJson>,
    #[serde(default)]
    run_link: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    model_id: Option<String>,
}

/// `POST model-versions/create`
pub async fn create_version(
    State(s): St,
    ApiJson(req): ApiJson<CreateVersion>,
) -> ApiResult<Json<ModelVersionResponse>> {
    let name = required(req.name, "name")?;
    let source = required(req.source, "source")?;
    uri::check_stored_uri(uri::UriField::ModelSource, &source, &s.artifacts.root_uri())?;
    let v = s
        .meta
        .create_model_version(NewModelVersion {
            name,
            source,
            run_id: req.run_id,
            run_link: req.run_link,
            description: req.description,
            tags: req.tags.into_iter().map(KeyValue::from).collect(),
            model_id: req.model_id,
            user_id: None,
        })
        .await?;
    Ok(version_response(&v))
}

/// A body or query naming one version.
#[derive(Debug, Deserialize)]
pub struct VersionRef {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "deserialize_opt_string")]
    version: Option<String>,
}

impl VersionRef {
    fn parts(self) -> ApiResult<(String, String)> {
        Ok((
            required(self.name, "name")?,
            required(self.version, "version")?,
        ))
    }
}

/// `GET model-versions/get`
pub async fn get_version(
    State(s): St,
    ApiQuery(q): ApiQuery<VersionRef>,
) -> ApiResult<Json<ModelVersionResponse>> {
    let (name, version) = q.parts()?;
    let v = s.meta.get_model_version(&name, &version).await?;
    Ok(version_response(&v))
}

/// `model-versions/update` body.
#[derive(Debug, Deserialize)]
pub struct UpdateVersion {
    #[serde(flatten)]
    version: VersionRef,
    #[serde(default)]
    description: Option<String>,
}

/// `PATCH model-versions/update`
pub async fn update_version(
    State(s): St,
    ApiJson(req): ApiJson<UpdateVersion>,
) -> ApiResult<Json<ModelVersionResponse>> {
    let (name, version) = req.version.parts()?;
    let v = s
        .meta
        .update_model_version(&name, &version, req.description.as_deref().unwrap_or(""))
        .await?;
    Ok(version_response(&v))
}

/// `DELETE model-versions/delete`: a protected alias on the version is removed with a
/// record in its promotion history.
pub async fn delete_version(
    State(s): St,
    ApiJson(req): ApiJson<VersionRef>,
) -> ApiResult<Json<Value>> {
    let (name, version) = req.parts()?;
    slipway_govern::delete_version(s.meta.as_ref(), s.policy.as_ref(), &name, &version, None)
        .await?;
    Ok(Json(json!({})))
}

/// `GET model-versions/search`
pub async fn search_versions(
    State(s): St,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> ApiResult<Json<ModelVersionsResponse>> {
    let args = SearchArgs::from_pairs(pairs)?;
    let query = ModelVersionQuery {
        filter: ModelFilter::parse_model_versions(&args.filter)?,
        order_by: args
            .order_by
            .iter()
            .map(|o| OrderBy::parse_for_model_versions(o))
            .collect::<Result<_, _>>()?,
        max_results: args.max_results.unwrap_or(DEFAULT_VERSION_RESULTS),
        page_token: args.page_token,
    };
    let page = s.meta.search_model_versions(&query).await?;
    Ok(Json(ModelVersionsResponse {
        model_versions: page.items.iter().map(ModelVersionJson::from).collect(),
        next_page_token: page.next_page_token,
    }))
}

/// `model-versions/transition-stage` body.
#[derive(Debug, Deserialize)]
pub struct TransitionStage {
    #[serde(flatten)]
    version: VersionRef,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    archive_existing_versions: Option<bool>,
}

/// `POST model-versions/transition-stage`
pub async fn transition_stage(
    State(s): St,
    ApiJson(req): ApiJson<TransitionStage>,
) -> ApiResult<Json<ModelVersionResponse>> {
    let (name, version) = req.version.parts()?;
    let stage = ModelStage::parse(&required(req.stage, "stage")?)?;
    let v = s
        .meta
        .transition_model_version_stage(
            &name,
            &version,
            stage,
            req.archive_existing_versions.unwrap_or(false),
        )
        .await?;
    Ok(version_response(&v))
}

/// `GET model-versions/get-download-uri`: where the version's files are.
pub async fn download_uri(
    State(s): St,
    ApiQuery(q): ApiQuery<VersionRef>,
) -> ApiResult<Json<Value>> {
    let (name, version) = q.parts()?;
    let v = s.meta.get_model_version(&name, &version).await?;
    Ok(Json(json!({ "artifact_uri": v.storage_location })))
}

/// `model-versions/set-tag` and `delete-tag` body.
#[derive(Debug, Deserialize)]
pub struct VersionTag {
    #[serde(flatten)]
    version: VersionRef,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    value: Option<String>,
}

/// `POST model-versions/set-tag`
pub async fn set_version_tag(
    State(s): St,
    ApiJson(req): ApiJson<VersionTag>,
) -> ApiResult<Json<Value>> {
    let (name, version) = req.version.parts()?;
    let key = required(req.key, "key")?;
    s.meta
        .set_model_version_tag(
            &name,
            &version,
            KeyValue::new(key, req.value.unwrap_or_default()),
        )
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE model-versions/delete-tag`
pub async fn delete_version_tag(
    State(s): St,
    ApiJson(req): ApiJson<VersionTag>,
) -> ApiResult<Json<Value>> {
    let (name, version) = req.version.parts()?;
    let key = required(req.key, "key")?;
    s.meta
        .delete_model_version_tag(&name, &version, &key)
        .await?;
    Ok(Json(json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_order_by_is_kept() {
        let args = SearchArgs::from_pairs(vec![
            ("filter".into(), "name = 'x'".into()),
            ("order_by".into(), "name ASC".into()),
            ("order_by".into(), "last_updated_timestamp DESC".into()),
            ("max_results".into(), "5".into()),
        ])
        .expect("parses");
        assert_eq!(args.order_by.len(), 2);
        assert_eq!(args.max_results, Some(5));
        assert!(SearchArgs::from_pairs(vec![("max_results".into(), "-1".into())]).is_err());
    }
}
