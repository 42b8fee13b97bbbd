//! `POST /explain`, `POST /models/{name}/explain` and `POST /v2/models/{name}/explain`: why
//! the served model predicts what it does for one row.
//!
//! The row is a logged prediction (`{"prediction_id": "..."}`, looked up among the rows the
//! prediction log still holds in memory, then in its segments) or one row sent as the
//! inference routes take rows: a plain object (`/predict`), `{"row": {...}}`, an MLflow
//! scoring body (`dataframe_split`, `dataframe_records`, `instances`, `inputs`), or on the
//! v2 route an inference request of tensors. The served schema is enforced as for
//! prediction. `"per_feature": true` (v2: `"parameters": {"per_feature": true}`) adds the
//! contributions per encoded feature. Reading, scoring and explaining run on the scoring
//! pool; the method and its background are `slipway_engine::serve_explain`'s.

use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use slipway_data::Table;
use slipway_data::ingest::Rows;
use slipway_engine::serve_explain::RowExplanation;
use slipway_engine::serving::{Output, ServedModel};
use uuid::Uuid;

use super::{
    MLFLOW_KEYS, ModelQuery, Payload, V2Error, bad, deployment, float, mlflow_rows, payload,
    plain_rows, predictions, v2_rows,
};
use crate::error::ApiError;
use crate::serving::{Deployment, Serving};

/// How the row to explain was sent.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `/explain`, `/models/{name}/explain`: a plain row, `{"row": ...}` or an MLflow body.
    Any,
    /// `/v2/models/{name}/explain`: a v2 inference request.
    V2,
}

pub(super) async fn explain(
    Extension(serving): Extension<Arc<Serving>>,
    Query(q): Query<ModelQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let d = deployment(&serving, q.model.as_deref())?.clone();
    run(&serving, &d, &headers, body, Shape::Any).await
}

pub(super) async fn explain_named(
    Extension(serving): Extension<Arc<Serving>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let d = deployment(&serving, Some(&name))?.clone();
    run(&serving, &d, &headers, body, Shape::Any).await
}

pub(super) async fn v2_explain(
    Extension(serving): Extension<Arc<Serving>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, V2Error> {
    let d = deployment(&serving, Some(&name))?.clone();
    Ok(run(&serving, &d, &headers, body, Shape::V2).await?)
}

/// What the body asks for, once its own fields are read.
enum Request {
    /// A logged prediction.
    Logged(Uuid),
    /// A row sent in the body (the body without `per_feature`).
    Row(Value),
}

/// Reads `prediction_id` / `per_feature` off the body.
fn read_request(body: Value, shape: Shape) -> Result<(Request, bool), ApiError> {
    let Value::Object(mut obj) = body else {
        return Err(bad(
            "send {\"prediction_id\": \"...\"} or one row as the inference routes take it",
        ));
    };
    let per_feature = match shape {
        Shape::Any => obj.remove("per_feature"),
        Shape::V2 => {
            let flag = match obj.get_mut("parameters").and_then(Value::as_object_mut) {
                Some(p) => p.remove("per_feature"),
                None => None,
            };
            if obj
                .get("parameters")
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
            {
                obj.remove("parameters");
            }
            flag
        }
    };
    let per_feature = match per_feature {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => return Err(ApiError::invalid("\"per_feature\" must be true or false")),
    };
    if let Some(id) = obj.get("prediction_id") {
        if obj.len() != 1 {
            return Err(bad(
                "a body with \"prediction_id\" holds nothing else (besides \"per_feature\")",
            ));
        }
        let Some(text) = id.as_str() else {
            return Err(ApiError::invalid(
                "\"prediction_id\" must be a string (an id a prediction answered with)",
            ));
        };
        let Ok(uuid) = Uuid::parse_str(text) else {
            return Err(ApiError::invalid(format!(
                "\"prediction_id\": '{}' is not a prediction id (a UUID)",
                text.chars().take(100).collect::<String>()
            )));
        };
        return Ok((Request::Logged(uuid), per_feature));
    }
    Ok((Request::Row(Value::Object(obj)), per_feature))
}

/// The rows of a body sent to `/explain`: `{"row": {...}}`, an MLflow scoring body, or a
/// plain `/predict` body.
fn any_rows(body: &Value, model: &ServedModel) -> Result<Rows, ApiError> {
    let obj = body
        .as_object()
        .ok_or_else(|| bad("the body is not an object"))?;
    if let Some(row) = obj.get("row") {
        if obj.len() != 1 {
            return Err(bad(
                "a body with \"row\" holds nothing else (besides \"per_feature\")",
            ));
        }
        if !row.is_object() {
            return Err(bad(
                "\"row\" must be one JSON object of column: value pairs",
            ));
        }
        return Ok(plain_rows(row)?.0);
    }
    if MLFLOW_KEYS.iter().any(|k| obj.contains_key(*k)) {
        return mlflow_rows(body, model);
    }
    Ok(plain_rows(body)?.0)
}

/// The explained row: its prediction and explanation.
struct Explained {
    output: Output,
    explanation: RowExplanation,
    ignored: Vec<String>,
}

fn read_and_explain(
    model: &ServedModel,
    shape: Shape,
    row: Result<Table, Value>,
    per_feature: bool,
) -> Result<Explained, ApiError> {
    let (table, ignored) = match row {
        Ok(table) => (table, Vec::new()),
        Err(body) => {
            let rows = match shape {
                Shape::Any => any_rows(&body, model)?,
                Shape::V2 => v2_rows(&body, model)?,
            };
            if rows.n_rows() != 1 {
                return Err(bad(format!(
                    "one row is explained per request; the body holds {} (send each row on its own)",
                    rows.n_rows()
                )));
            }
            let req = model.read_rows(rows).map_err(ApiError::engine)?;
            (req.table, req.ignored_columns)
        }
    };
    let output = model.score(&table).map_err(ApiError::engine)?;
    let explanation = model
        .explain(&table, per_feature)
        .map_err(ApiError::engine)?;
    Ok(Explained {
        output,
        explanation,
        ignored,
    })
}

async fn run(
    serving: &Arc<Serving>,
    d: &Arc<Deployment>,
    headers: &HeaderMap,
    body: Body,
    shape: Shape,
) -> Result<Response, ApiError> {
    let Payload::Json(body) = payload(serving, headers, body, false).await? else {
        return Err(bad("an explanation request is JSON"));
    };
    let Some(live) = d.live() else {
        return Err(ApiError::NotReady(format!(
            "model '{}' is not loaded yet",
            d.spec.name
        )));
    };
    let (request, per_feature) = read_request(body, shape)?;
    let mut logged = None;
    let row = match request {
        Request::Row(v) => Err(v),
        Request::Logged(id) => {
            let Some(log) = &serving.log else {
                return Err(ApiError::ModelNotFound(
                    "the prediction log is off on this server, so prediction ids cannot be \
                     looked up; send the row itself"
                        .into(),
                ));
            };
            let found = log
                .lookup(id)
                .await
                .map_err(|e| ApiError::Internal(format!("reading the prediction log: {e}")))?;
            let Some(found) = found else {
                return Err(ApiError::ModelNotFound(format!(
                    "prediction id {id} is not in the prediction log (unknown, or removed by \
                     retention)"
                )));
            };
            if found.deployment != d.spec.name {
                return Err(ApiError::ModelNotFound(format!(
                    "prediction id {id} was made by model '{}', not '{}'; ask \
                     /v2/models/{}/explain",
                    found.deployment, d.spec.name, found.deployment
                )));
            }
            let table = found.inputs(live.model.inputs()).map_err(|e| {
                ApiError::Internal(format!("the logged row of prediction {id}: {e}"))
            })?;
            logged = Some((id, found.version));
            Ok(table)
        }
    };
    let started = Instant::now();
    let job_live = live.clone();
    let result = serving
        .run(move || read_and_explain(&job_live.model, shape, row, per_feature))
        .await
        .unwrap_or_else(|| Err(ApiError::Internal("the scoring thread stopped".into())));
    let status = match &result {
        Ok(_) => 200,
        Err(e) => e.parts().0.as_u16(),
    };
    serving.metrics.record(
        &d.spec.name,
        &live.version,
        "explain",
        status,
        usize::from(status == 200),
        started.elapsed().as_secs_f64(),
    );
    let ex = result?;
    let model = &live.model;
    let mut answer = Map::new();
    answer.insert("model".into(), json!(d.spec.name));
    answer.insert("version".into(), json!(live.version));
    if let Some((id, version)) = &logged {
        answer.insert("prediction_id".into(), json!(id.hyphenated().to_string()));
        if *version != live.version {
            answer.insert("logged_version".into(), json!(version));
            answer.insert(
                "note".into(),
                json!(format!(
                    "the prediction was made by version {version}; it is explained (and \
                     predicted again) with version {}, served now",
                    live.version
                )),
            );
        }
    }
    answer.insert(
        "prediction".into(),
        predictions(&ex.output, model).pop().unwrap_or(Value::Null),
    );
    if let Output::Classes {
        probabilities,
        classes,
        ..
    } = &ex.output
    {
        let p: Map<String, Value> = classes
            .iter()
            .enumerate()
            .map(|(k, c)| (c.clone(), float(probabilities.get(0, k))))
            .collect();
        answer.insert("probabilities".into(), Value::Object(p));
    }
    let e = ex.explanation;
    answer.insert("method".into(), json!(e.method_id));
    answer.insert("method_description".into(), json!(e.method));
    answer.insert("exact".into(), json!(e.exact));
    answer.insert("space".into(), json!(e.space));
    answer.insert("background".into(), json!(e.background));
    if e.seed.is_some() {
        answer.insert("seed".into(), json!(e.seed));
        answer.insert("samples".into(), json!(e.samples));
    }
    let pairs = |v: &[(String, f64)]| -> Value {
        Value::Object(v.iter().map(|(n, x)| (n.clone(), float(*x))).collect())
    };
    let outputs: Vec<Value> = e
        .outputs
        .iter()
        .map(|o| {
            let mut item = json!({
                "output": o.output,
                "base_value": float(o.base_value),
                "score": float(o.score),
                "contributions": pairs(&o.columns),
            });
            if let Some(f) = &o.features {
                item["feature_contributions"] = pairs(f);
            }
            if let Some(se) = &o.standard_errors {
                item["standard_errors"] = pairs(se);
            }
            item
        })
        .collect();
    answer.insert("outputs".into(), Value::Array(outputs));
    if !ex.ignored.is_empty() {
        answer.insert("ignored_columns".into(), json!(ex.ignored));
    }
    Ok(Json(Value::Object(answer)).into_response())
}
