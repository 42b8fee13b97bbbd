//! The inference routes: plain `/predict`, MLflow scoring (`/invocations`), Open Inference
//! Protocol v2 (`/v2/...`), readiness, metrics and feedback.
//!
//! Every protocol reads its body into rows (`slipway_data::ingest::Rows`, or CSV text),
//! which the served model types and scores exactly as `slipway predict` does; only the
//! shape of the body and of the answer differ.

use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use slipway_data::DataType;
use slipway_data::ingest::Rows;
use slipway_engine::serving::{Output, ServedModel};
use uuid::Uuid;

use super::log::{Record, known_ids, v7_time_ms, write_feedback};
use super::rollout::{self, Route};
use super::{Deployment, Live, Serving};
use crate::error::ApiError;

mod explain;

/// The inference routes over `serving`; with `probes`, also its own `/ready` and
/// `/metrics` (the store server answers those itself, checking its stores too).
pub(crate) fn routes<S: Clone + Send + Sync + 'static>(
    serving: Arc<Serving>,
    probes: bool,
) -> Router<S> {
    let mut router = Router::new()
        .route("/predict", post(predict))
        .route("/invocations", post(invocations))
        .route("/models/{name}/invocations", post(invocations_named))
        .route("/v2", get(v2_server))
        .route("/v2/health/live", get(v2_live))
        .route("/v2/health/ready", get(v2_ready))
        .route("/v2/models/{name}", get(v2_model))
        .route("/v2/models/{name}/ready", get(v2_model_ready))
        .route("/v2/models/{name}/infer", post(v2_infer))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(v2_model_version),
        )
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(v2_model_version_ready),
        )
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(v2_infer_version),
        )
        .route("/feedback", post(feedback))
        .route("/explain", post(explain::explain))
        .route("/models/{name}/explain", post(explain::explain_named))
        .route("/v2/models/{name}/explain", post(explain::v2_explain))
        .route("/monitors", get(super::monitors::list))
        .route("/openapi.json", get(openapi));
    if probes {
        router = router
            .route("/ready", get(ready))
            .route("/metrics", get(metrics));
    }
    router
        // Bodies are read with the serving limit below, answered as JSON when over it.
        .layer(DefaultBodyLimit::disable())
        .layer(Extension(serving))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Plain,
    Mlflow,
    V2,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::Plain => "plain",
            Protocol::Mlflow => "mlflow",
            Protocol::V2 => "v2",
        }
    }
}

/// A body as read: JSON, or CSV text (MLflow scoring only).
#[derive(Clone)]
pub(crate) enum Payload {
    Json(Value),
    Csv(Bytes),
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
}

/// Reads the body within the serving limit.
async fn read_body(serving: &Serving, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let limit = serving.options.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let text = e.to_string();
        if text.contains("length limit") || text.contains("too large") {
            ApiError::PayloadTooLarge(limit)
        } else {
            ApiError::MalformedJson("the request body could not be read".into())
        }
    })
}

fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::MalformedJson(format!(
            "the body is not valid JSON (line {}, column {}): {}",
            e.line(),
            e.column(),
            e.to_string()
                .rsplit_once(" at line ")
                .map_or(e.to_string(), |(m, _)| m.to_string())
        ))
    })
}

/// Reads a JSON (or, where `csv` is allowed, CSV) body.
async fn payload(
    serving: &Serving,
    headers: &HeaderMap,
    body: Body,
    csv: bool,
) -> Result<Payload, ApiError> {
    let media = media_type(headers);
    let is_csv = csv && media.as_deref() == Some("text/csv");
    // No Content-Type at all is read as JSON (tritonclient sends none); a browser cannot
    // send a cross-site body without one, so this opens nothing to web pages.
    if !is_csv && media.as_deref().is_some_and(|m| m != "application/json") {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send Content-Type: application/json{} (got {})",
            if csv { " or text/csv" } else { "" },
            media.as_deref().unwrap_or("none")
        )));
    }
    let bytes = read_body(serving, headers, body).await?;
    if is_csv {
        Ok(Payload::Csv(bytes))
    } else {
        Ok(Payload::Json(parse_json(&bytes)?))
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::MalformedJson(message.into())
}

/// The deployment a request names: `name`, or the only one.
fn deployment<'a>(
    serving: &'a Serving,
    name: Option<&str>,
) -> Result<&'a Arc<Deployment>, ApiError> {
    match name {
        Some(n) => serving.deployment(n).ok_or_else(|| {
            ApiError::ModelNotFound(format!(
                "no model '{}' is served here; served: {}",
                n.chars().take(100).collect::<String>(),
                served_names(serving)
            ))
        }),
        None => {
            let mut all = serving.deployments();
            match (all.next(), all.next()) {
                (Some(d), None) => Ok(d),
                (None, _) => Err(ApiError::ModelNotFound("no model is served here".into())),
                (Some(_), Some(_)) => Err(ApiError::invalid(format!(
                    "several models are served ({}); name one with ?model=NAME or \
                     /models/NAME/invocations",
                    served_names(serving)
                ))),
            }
        }
    }
}

fn served_names(serving: &Serving) -> String {
    serving
        .deployments()
        .map(|d| d.spec.name.clone())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A scored request.
struct Scored {
    live: Arc<Live>,
    ids: Vec<Uuid>,
    output: Output,
    ignored: Vec<String>,
    /// The body was one row given as one object (plain protocol).
    single: bool,
}

/// Reads, checks and scores a request on the scoring pool, records its metrics and logs
/// its rows. A deployment on the model (`slipway deploy`) chooses the version that answers.
async fn score(
    serving: &Arc<Serving>,
    d: &Arc<Deployment>,
    protocol: Protocol,
    payload: Payload,
    headers: &HeaderMap,
) -> Result<Scored, ApiError> {
    let Some(champion) = d.live() else {
        return Err(ApiError::NotReady(format!(
            "model '{}' is not loaded yet",
            d.spec.name
        )));
    };
    // The request's server-side time (the latency histogram, the arms' counters) counts
    // from before the route is chosen, so a deployment's routing cost shows in it.
    let started = Instant::now();
    let route = match d.rollout() {
        Some(r) => r.choose(
            headers,
            match &payload {
                Payload::Json(v) => Some(v),
                Payload::Csv(_) => None,
            },
        )?,
        None => Route::none(),
    };
    // What routing costs is on /metrics (`slipway_routing_seconds_total`): the choice
    // above and the arm's counters below.
    let mut routing_ns = route
        .rollout
        .as_ref()
        .map_or(0, |_| started.elapsed().as_nanos() as u64);
    let live = route.live.clone().unwrap_or(champion);
    let shadow = route
        .shadow
        .clone()
        .map(|s| (s, payload.clone(), route.rollout.clone()));
    let max_rows = serving.options.max_rows;
    let job_live = live.clone();
    let result = serving
        .run(move || read_and_score(&job_live.model, protocol, payload, max_rows))
        .await
        .unwrap_or_else(|| Err(ApiError::Internal("the scoring thread stopped".into())));
    if !serving.options.rollout.injected_latency.is_empty()
        && let Some(delay) = serving
            .options
            .rollout
            .injected_latency
            .get(&format!("{}@{}", d.spec.name, live.version))
    {
        tokio::time::sleep(*delay).await;
    }
    let elapsed = started.elapsed();
    let (status, rows) = match &result {
        Ok((_, out, _)) => (200, out.n_rows()),
        Err(e) => (e.parts().0.as_u16(), 0),
    };
    serving.metrics.record(
        &d.spec.name,
        &live.version,
        protocol.name(),
        status,
        rows,
        elapsed.as_secs_f64(),
    );
    if let (Some(r), Some(arm)) = (&route.rollout, route.arm) {
        let counted = Instant::now();
        r.record(arm, result.as_ref().ok().map(|(_, out, _)| out), elapsed);
        routing_ns += counted.elapsed().as_nanos() as u64;
    }
    if route.rollout.is_some() {
        serving.metrics.record_routing(routing_ns);
    }
    if let (Some((challenger, copy, Some(r))), Ok((_, out, _))) = (shadow, &result) {
        // The copy is scored after the answer's own job, on the same pool, and nobody waits
        // for it.
        let champion_out = out.clone();
        let s = serving.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let scored = s
                .run(move || read_and_score(&challenger.model, protocol, copy, max_rows))
                .await;
            let compared = match scored {
                Some(Ok((_, theirs, _))) => rollout::agreement(&champion_out, &theirs),
                _ => None,
            };
            r.record_shadow(compared, started.elapsed());
        });
    }
    let (inputs, output, (ignored, single, ids)) = result?;
    if let Some(log) = &serving.log {
        log.push(Record {
            deployment: d.spec.name.clone(),
            version: live.version.clone(),
            protocol: protocol.name(),
            arm: route.arm.map(|a| a.name()),
            time_ms: chrono::Utc::now().timestamp_millis(),
            latency_us: i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX),
            ids: ids.clone(),
            inputs,
            output: output.clone(),
        });
    }
    Ok(Scored {
        live,
        ids,
        output,
        ignored,
        single,
    })
}

type ReadScored = (slipway_data::Table, Output, (Vec<String>, bool, Vec<Uuid>));

fn read_and_score(
    model: &ServedModel,
    protocol: Protocol,
    payload: Payload,
    max_rows: usize,
) -> Result<ReadScored, ApiError> {
    let (req, single) = match payload {
        Payload::Csv(bytes) => (model.read_csv(&bytes).map_err(ApiError::engine)?, false),
        Payload::Json(body) => {
            let (rows, single) = match protocol {
                Protocol::Plain => plain_rows(&body)?,
                Protocol::Mlflow => (mlflow_rows(&body, model)?, false),
                Protocol::V2 => (v2_rows(&body, model)?, false),
            };
            check_rows(rows.n_rows(), max_rows)?;
            (model.read_rows(rows).map_err(ApiError::engine)?, single)
        }
    };
    check_rows(req.table.n_rows(), max_rows)?;
    // The prediction ids are made before scoring: a model with per-group thresholds draws
    // each row's decision from its id.
    let ids: Vec<Uuid> = (0..req.table.n_rows()).map(|_| Uuid::now_v7()).collect();
    let keys: Vec<u128> = ids.iter().map(|i| i.as_u128()).collect();
    let out = model
        .score_keyed(&req.table, &keys)
        .map_err(ApiError::engine)?;
    Ok((req.table, out, (req.ignored_columns, single, ids)))
}

fn check_rows(n: usize, max: usize) -> Result<(), ApiError> {
    if n == 0 {
        return Err(bad("the request has no rows"));
    }
    if n > max {
        return Err(ApiError::TooManyRows(format!(
            "the request has {n} rows; at most {max} are scored per request (split it, or \
             start the server with a larger --max-rows)"
        )));
    }
    Ok(())
}

// -------------------------------------------------------------------------------------------
// Reading bodies into rows

fn push_objects<'a>(
    rows: &mut Rows,
    items: impl Iterator<Item = &'a Value>,
    what: &str,
) -> Result<(), ApiError> {
    for (i, item) in items.enumerate() {
        let Some(obj) = item.as_object() else {
            return Err(bad(format!(
                "{what}[{i}] is not a JSON object of column: value pairs"
            )));
        };
        rows.push_object(obj.iter().map(|(k, v)| (k.as_str(), v)))
            .map_err(|e| ApiError::engine(e.into()))?;
    }
    Ok(())
}

/// Plain `/predict`: one object (one row), `{"rows": [objects]}` or a list of objects.
pub(crate) fn plain_rows(body: &Value) -> Result<(Rows, bool), ApiError> {
    let mut rows = Rows::new();
    match body {
        Value::Object(obj) => match obj.get("rows") {
            Some(Value::Array(list)) if obj.len() == 1 => {
                push_objects(&mut rows, list.iter(), "rows")?;
                Ok((rows, false))
            }
            Some(Value::Array(_)) => Err(bad(
                "a body with \"rows\" holds nothing else: {\"rows\": [{...}, ...]}",
            )),
            _ => {
                push_objects(&mut rows, std::iter::once(body), "body")?;
                Ok((rows, true))
            }
        },
        Value::Array(list) => {
            push_objects(&mut rows, list.iter(), "body")?;
            Ok((rows, false))
        }
        _ => Err(bad(
            "send one row as a JSON object, or {\"rows\": [{...}, ...]}",
        )),
    }
}

/// Refuses a field of `obj` not in `allowed`, naming it and what `what` takes.
fn only_fields(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), ApiError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad(format!(
            "{what}: unknown field '{}' (it takes {})",
            k.chars().take(100).collect::<String>(),
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

const MLFLOW_KEYS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];

/// Values in the model's input order, for rows given without column names.
fn positional(model: &ServedModel) -> Result<Rows, ApiError> {
    let names: Vec<String> = model.inputs().iter().map(|(n, _)| n.clone()).collect();
    Rows::with_columns(&names).map_err(|e| ApiError::engine(e.into()))
}

fn push_lists(rows: &mut Rows, data: &[Value], what: &str) -> Result<(), ApiError> {
    for (i, row) in data.iter().enumerate() {
        let Some(values) = row.as_array() else {
            return Err(bad(format!("{what}[{i}] is not a list of values")));
        };
        rows.push_values(values.iter())
            .map_err(|e| ApiError::engine(e.into()))?;
    }
    Ok(())
}

/// MLflow scoring JSON: exactly one of `dataframe_split`, `dataframe_records`, `instances`,
/// `inputs` (and optionally empty `params`).
fn mlflow_rows(body: &Value, model: &ServedModel) -> Result<Rows, ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(bad(format!(
            "the body must be a JSON object with one of {}",
            MLFLOW_KEYS.join(", ")
        )));
    };
    only_fields(
        obj,
        &[MLFLOW_KEYS.as_slice(), &["params"]].concat(),
        "the body",
    )?;
    if let Some(p) = obj.get("params") {
        if !(p.is_null() || p.as_object().is_some_and(Map::is_empty)) {
            return Err(ApiError::invalid(
                "this model takes no params; leave out \"params\"",
            ));
        }
    }
    let given: Vec<&str> = MLFLOW_KEYS
        .iter()
        .copied()
        .filter(|k| obj.contains_key(*k))
        .collect();
    let [key] = given.as_slice() else {
        return Err(bad(format!(
            "give exactly one of {} (got {})",
            MLFLOW_KEYS.join(", "),
            if given.is_empty() {
                "none".to_string()
            } else {
                given.join(", ")
            }
        )));
    };
    let value = &obj[*key];
    match *key {
        "dataframe_split" => {
            let Some(split) = value.as_object() else {
                return Err(bad(
                    "dataframe_split must be an object: {\"columns\": [...], \"data\": [[...], ...]}",
                ));
            };
            only_fields(split, &["columns", "data", "index"], "dataframe_split")?;
            let data = split
                .get("data")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("dataframe_split.data must be a list of rows"))?;
            let mut rows = match split.get("columns") {
                None | Some(Value::Null) => positional(model)?,
                Some(Value::Array(cols)) => {
                    let mut names = Vec::with_capacity(cols.len());
                    for (i, c) in cols.iter().enumerate() {
                        match c {
                            Value::String(s) => names.push(s.clone()),
                            _ => {
                                return Err(bad(format!(
                                    "dataframe_split.columns[{i}] is not a column name (a string)"
                                )));
                            }
                        }
                    }
                    Rows::with_columns(&names).map_err(|e| ApiError::engine(e.into()))?
                }
                Some(_) => return Err(bad("dataframe_split.columns must be a list of names")),
            };
            if let Some(index) = split.get("index") {
                if index.as_array().is_some_and(|i| i.len() != data.len()) {
                    return Err(bad(
                        "dataframe_split.index must have one entry per row of data",
                    ));
                }
            }
            push_lists(&mut rows, data, "dataframe_split.data")?;
            Ok(rows)
        }
        "dataframe_records" => {
            let list = value
                .as_array()
                .ok_or_else(|| bad("dataframe_records must be a list of row objects"))?;
            let mut rows = Rows::new();
            push_objects(&mut rows, list.iter(), "dataframe_records")?;
            Ok(rows)
        }
        _ => tensor_rows(value, model, key),
    }
}

/// MLflow `instances` / `inputs`: a list of row objects, a list of value lists (in the
/// model's input order), a list of scalars (a one-input model), or an object of columns.
fn tensor_rows(value: &Value, model: &ServedModel, key: &str) -> Result<Rows, ApiError> {
    match value {
        Value::Array(list) => {
            if list.iter().all(Value::is_object) {
                let mut rows = Rows::new();
                push_objects(&mut rows, list.iter(), key)?;
                Ok(rows)
            } else if list.iter().all(Value::is_array) {
                let mut rows = positional(model)?;
                push_lists(&mut rows, list, key)?;
                Ok(rows)
            } else if model.inputs().len() == 1
                && list.iter().all(|v| !v.is_object() && !v.is_array())
            {
                let mut rows = positional(model)?;
                for v in list {
                    rows.push_values(std::iter::once(v))
                        .map_err(|e| ApiError::engine(e.into()))?;
                }
                Ok(rows)
            } else {
                Err(bad(format!(
                    "{key} must be a list of row objects or of value lists (in the model's \
                     input order: {})",
                    input_names(model)
                )))
            }
        }
        Value::Object(cols) => {
            // Columns: each a list (one value per row) or a scalar (one row).
            let names: Vec<String> = cols.keys().cloned().collect();
            let lens: Vec<Option<usize>> =
                cols.values().map(|v| v.as_array().map(Vec::len)).collect();
            let n = match lens.iter().flatten().next() {
                Some(&n) => n,
                None => 1,
            };
            if lens.iter().any(|l| l.is_some_and(|l| l != n))
                || (lens.iter().any(Option::is_none) && lens.iter().any(Option::is_some))
            {
                return Err(bad(format!(
                    "{key}: every column must hold the same number of values"
                )));
            }
            let mut rows = Rows::with_columns(&names).map_err(|e| ApiError::engine(e.into()))?;
            for i in 0..n {
                let row: Vec<&Value> = cols
                    .values()
                    .map(|v| v.as_array().map_or(v, |a| &a[i]))
                    .collect();
                rows.push_values(row.into_iter())
                    .map_err(|e| ApiError::engine(e.into()))?;
            }
            Ok(rows)
        }
        _ => Err(bad(format!(
            "{key} must be a list of rows or an object of columns"
        ))),
    }
}

fn input_names(model: &ServedModel) -> String {
    model
        .inputs()
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Open Inference Protocol datatype of a column type.
fn v2_datatype(t: DataType) -> &'static str {
    match t {
        DataType::Integer => "INT64",
        DataType::Float => "FP64",
        DataType::Boolean => "BOOL",
        DataType::Categorical | DataType::Text | DataType::Datetime => "BYTES",
    }
}

const V2_NUMERIC: [&str; 12] = [
    "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32",
    "FP64", "BF16",
];

/// A tensor's shape as given.
fn shape_of(t: &Map<String, Value>, what: &str) -> Result<Vec<usize>, ApiError> {
    let shape = t
        .get("shape")
        .and_then(Value::as_array)
        .ok_or_else(|| bad(format!("{what}: \"shape\" must be a list of sizes")))?;
    shape
        .iter()
        .map(|s| {
            s.as_u64()
                .and_then(|s| usize::try_from(s).ok())
                .ok_or_else(|| {
                    bad(format!(
                        "{what}: every size in \"shape\" must be a whole number ≥ 0"
                    ))
                })
        })
        .collect()
}

/// A tensor's data flattened in row-major order, each value checked against `datatype`.
fn flat_data<'a>(t: &'a Map<String, Value>, what: &str) -> Result<Vec<&'a Value>, ApiError> {
    let datatype = t.get("datatype").and_then(Value::as_str).ok_or_else(|| {
        bad(format!(
            "{what}: \"datatype\" is required (e.g. FP64, INT64, BYTES, BOOL)"
        ))
    })?;
    let data = t
        .get("data")
        .ok_or_else(|| bad(format!("{what}: \"data\" is required")))?;
    let mut out = Vec::new();
    let mut stack = vec![(data, 0usize)];
    while let Some((v, depth)) = stack.pop() {
        match v {
            Value::Array(items) => {
                if depth > 8 {
                    return Err(bad(format!("{what}: \"data\" is nested too deeply")));
                }
                stack.extend(items.iter().rev().map(|i| (i, depth + 1)));
            }
            other => out.push(other),
        }
    }
    let fits = |v: &Value| match datatype {
        "BYTES" => v.is_string() || v.is_null(),
        "BOOL" => v.is_boolean() || v.is_null(),
        d if V2_NUMERIC.contains(&d) => v.is_number() || v.is_null(),
        _ => false,
    };
    if datatype != "BYTES" && datatype != "BOOL" && !V2_NUMERIC.contains(&datatype) {
        return Err(bad(format!(
            "{what}: unknown datatype '{}'",
            datatype.chars().take(20).collect::<String>()
        )));
    }
    if let Some(i) = out.iter().position(|v| !fits(v)) {
        return Err(bad(format!(
            "{what}: data[{i}] does not fit datatype {datatype}"
        )));
    }
    Ok(out)
}

/// Open Inference Protocol v2: one tensor per column (MLServer's pandas codec: named by the
/// column, shape `[n]` or `[n, 1]`), or one 2-D tensor `[n, k]` of every input in the
/// model's order.
fn v2_rows(body: &Value, model: &ServedModel) -> Result<Rows, ApiError> {
    let inputs = body
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("\"inputs\" must be a list of tensors"))?;
    if inputs.is_empty() {
        return Err(bad("\"inputs\" is empty"));
    }
    let mut tensors = Vec::with_capacity(inputs.len());
    for (i, t) in inputs.iter().enumerate() {
        let t = t
            .as_object()
            .ok_or_else(|| bad(format!("inputs[{i}] is not a tensor object")))?;
        let name = t
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("inputs[{i}]: \"name\" is required")))?;
        let what = format!(
            "inputs[{i}] ('{}')",
            name.chars().take(100).collect::<String>()
        );
        let shape = shape_of(t, &what)?;
        let data = flat_data(t, &what)?;
        let count = shape.iter().try_fold(1usize, |acc, &s| acc.checked_mul(s));
        if count != Some(data.len()) {
            return Err(bad(format!(
                "{what}: shape {shape:?} needs {} values but data holds {}",
                count.map_or("too many".to_string(), |c| c.to_string()),
                data.len()
            )));
        }
        tensors.push((name, shape, data, what));
    }
    let is_column = |n: &str| model.inputs().iter().any(|(c, _)| c == n);
    if let [(name, shape, data, what)] = tensors.as_slice() {
        if shape.len() == 2 && !is_column(name) {
            let (n, k) = (shape[0], shape[1]);
            if k != model.inputs().len() {
                return Err(ApiError::Unprocessable {
                    message: format!(
                        "{what}: a 2-D tensor needs one column per model input ({}: {}); it has {k}",
                        model.inputs().len(),
                        input_names(model)
                    ),
                    field: Some((*name).to_string()),
                    row: None,
                });
            }
            let mut rows = positional(model)?;
            for i in 0..n {
                rows.push_values(data[i * k..(i + 1) * k].iter().copied())
                    .map_err(|e| ApiError::engine(e.into()))?;
            }
            return Ok(rows);
        }
    }
    let mut n_rows = None;
    for (_, shape, _, what) in &tensors {
        let n = match shape.as_slice() {
            [n] | [n, 1] => *n,
            _ => {
                return Err(bad(format!(
                    "{what}: a column tensor has shape [rows] or [rows, 1] (got {shape:?}); \
                     send one 2-D tensor [rows, {}] for all inputs at once",
                    model.inputs().len()
                )));
            }
        };
        if *n_rows.get_or_insert(n) != n {
            return Err(bad(format!(
                "{what}: every input tensor must have the same number of rows"
            )));
        }
    }
    let names: Vec<String> = tensors.iter().map(|(n, ..)| (*n).to_string()).collect();
    let mut rows = Rows::with_columns(&names).map_err(|e| ApiError::engine(e.into()))?;
    for i in 0..n_rows.unwrap_or(0) {
        rows.push_values(tensors.iter().map(|(_, _, data, _)| data[i]))
            .map_err(|e| ApiError::engine(e.into()))?;
    }
    Ok(rows)
}

// -------------------------------------------------------------------------------------------
// Answers

/// A class label as the training target's type writes it: a number for an integer or float
/// target, a boolean for a boolean one, else text.
fn label_json(label: &str, t: Option<DataType>) -> Value {
    match t {
        Some(DataType::Integer) => label
            .parse::<i64>()
            .map_or_else(|_| json!(label), Value::from),
        Some(DataType::Float) => label
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| json!(label), Value::Number),
        Some(DataType::Boolean) => match label {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => json!(label),
        },
        _ => json!(label),
    }
}

fn float(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// Each row's prediction as a JSON value (label, value or cluster).
fn predictions(out: &Output, model: &ServedModel) -> Vec<Value> {
    match out {
        Output::Values(v) => v.iter().map(|x| float(*x)).collect(),
        Output::Classes { labels, .. } => labels
            .iter()
            .map(|l| label_json(l, model.target_type()))
            .collect(),
        Output::Clusters(c) => c.iter().map(|x| json!(x)).collect(),
    }
}

fn with_headers(mut resp: Response, s: &Scored, name: &str) -> Response {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(name) {
        h.insert("slipway-model", v);
    }
    if let Ok(v) = HeaderValue::from_str(&s.live.version) {
        h.insert("slipway-model-version", v);
    }
    if !s.ignored.is_empty() {
        let list: String = s.ignored.join(",").chars().take(2000).collect();
        if let Ok(v) = HeaderValue::from_str(&list) {
            h.insert("slipway-ignored-columns", v);
        }
    }
    resp
}

#[derive(Deserialize)]
struct ModelQuery {
    model: Option<String>,
}

async fn predict(
    Extension(serving): Extension<Arc<Serving>>,
    Query(q): Query<ModelQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let d = deployment(&serving, q.model.as_deref())?.clone();
    let p = payload(&serving, &headers, body, false).await?;
    let s = score(&serving, &d, Protocol::Plain, p, &headers).await?;
    let model = &s.live.model;
    let preds = predictions(&s.output, model);
    let mut items = Vec::with_capacity(preds.len());
    for (i, (id, pred)) in s.ids.iter().zip(preds).enumerate() {
        let mut item = Map::new();
        item.insert("prediction_id".into(), json!(id.hyphenated().to_string()));
        item.insert("prediction".into(), pred);
        if let Output::Classes {
            probabilities,
            classes,
            ..
        } = &s.output
        {
            let p: Map<String, Value> = classes
                .iter()
                .enumerate()
                .map(|(k, c)| (c.clone(), float(probabilities.get(i, k))))
                .collect();
            item.insert("probabilities".into(), Value::Object(p));
        }
        items.push(Value::Object(item));
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(d.spec.name));
    body.insert("version".into(), json!(s.live.version));
    if s.single {
        if let Some(Value::Object(item)) = items.pop() {
            body.extend(item);
        }
    } else {
        body.insert("predictions".into(), Value::Array(items));
    }
    if !s.ignored.is_empty() {
        body.insert("ignored_columns".into(), json!(s.ignored));
    }
    Ok(with_headers(
        Json(Value::Object(body)).into_response(),
        &s,
        &d.spec.name,
    ))
}

async fn invocations(
    Extension(serving): Extension<Arc<Serving>>,
    Query(q): Query<ModelQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let d = deployment(&serving, q.model.as_deref())?.clone();
    mlflow_invocation(&serving, &d, &headers, body).await
}

async fn invocations_named(
    Extension(serving): Extension<Arc<Serving>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let d = deployment(&serving, Some(&name))?.clone();
    mlflow_invocation(&serving, &d, &headers, body).await
}

/// The MLflow scoring answer: `{"predictions": [...]}`, one label (classifiers, as
/// scikit-learn's `predict`), value or cluster per row.
async fn mlflow_invocation(
    serving: &Arc<Serving>,
    d: &Arc<Deployment>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let p = payload(serving, headers, body, true).await?;
    let s = score(serving, d, Protocol::Mlflow, p, headers).await?;
    let preds = match &s.output {
        // What `Booster.predict` returns, as `mlflow models serve` answers for a LightGBM or
        // XGBoost booster.
        Output::Classes {
            probabilities,
            classes,
            ..
        } if s.live.model.is_imported_booster() => (0..probabilities.n_rows())
            .map(|i| {
                if classes.len() == 2 {
                    float(probabilities.get(i, 1))
                } else {
                    Value::Array(
                        (0..classes.len())
                            .map(|k| float(probabilities.get(i, k)))
                            .collect(),
                    )
                }
            })
            .collect(),
        _ => predictions(&s.output, &s.live.model),
    };
    Ok(with_headers(
        Json(json!({ "predictions": preds })).into_response(),
        &s,
        &d.spec.name,
    ))
}

// -------------------------------------------------------------------------------------------
// Open Inference Protocol v2

/// A v2 error: `{"error": message}` with the status of the underlying error.
struct V2Error(ApiError);

impl From<ApiError> for V2Error {
    fn from(e: ApiError) -> Self {
        V2Error(e)
    }
}

impl IntoResponse for V2Error {
    fn into_response(self) -> Response {
        let (status, mut body) = self.0.status_and_body();
        if let Some(message) = body.get("message").cloned() {
            body["error"] = message;
        }
        (status, Json(body)).into_response()
    }
}

async fn v2_server() -> Json<Value> {
    Json(json!({
        "name": "slipway",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": []
    }))
}

async fn v2_live() -> Json<Value> {
    Json(json!({ "live": true }))
}

fn ready_status(ok: bool) -> StatusCode {
    if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

async fn v2_ready(Extension(serving): Extension<Arc<Serving>>) -> Response {
    let ok = serving.ready();
    (ready_status(ok), Json(json!({ "ready": ok }))).into_response()
}

/// The deployment `name` with its live version, which must be `version` when given.
fn v2_target(
    serving: &Serving,
    name: &str,
    version: Option<&str>,
) -> Result<(Arc<Deployment>, Option<Arc<Live>>), ApiError> {
    let d = deployment(serving, Some(name))?.clone();
    let live = d.live();
    if let Some(v) = version {
        if live.as_ref().is_none_or(|l| l.version != v) {
            return Err(ApiError::ModelNotFound(format!(
                "model '{name}' version '{}' is not served; it serves version {}",
                v.chars().take(40).collect::<String>(),
                live.as_ref()
                    .map_or("none yet".to_string(), |l| l.version.clone())
            )));
        }
    }
    Ok((d, live))
}

fn v2_metadata(d: &Deployment, live: Option<&Live>) -> Value {
    let Some(live) = live else {
        return json!({"name": d.spec.name, "versions": [], "platform": "slipway"});
    };
    let m = &live.model;
    let inputs: Vec<Value> = m
        .inputs()
        .iter()
        .map(|(n, t)| json!({"name": n, "datatype": v2_datatype(*t), "shape": [-1]}))
        .collect();
    let mut outputs = vec![json!({
        "name": "predict",
        "datatype": predict_datatype(m),
        "shape": [-1]
    })];
    if !m.classes().is_empty() {
        outputs.push(
            json!({"name": "predict_proba", "datatype": "FP64", "shape": [-1, m.classes().len()]}),
        );
    }
    json!({
        "name": d.spec.name,
        "versions": [live.version],
        "platform": "slipway",
        "inputs": inputs,
        "outputs": outputs,
        "parameters": {"classes": m.classes()}
    })
}

/// The v2 datatype of the `predict` output: clusters, values or labels.
fn predict_datatype(m: &ServedModel) -> &'static str {
    match m.task() {
        None => "INT64",
        Some(task) if !task.is_classification() => "FP64",
        Some(_) => label_datatype(m.target_type()),
    }
}

fn label_datatype(t: Option<DataType>) -> &'static str {
    match t {
        Some(DataType::Integer) => "INT64",
        Some(DataType::Float) => "FP64",
        Some(DataType::Boolean) => "BOOL",
        _ => "BYTES",
    }
}

async fn v2_model(
    Extension(serving): Extension<Arc<Serving>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, V2Error> {
    let (d, live) = v2_target(&serving, &name, None)?;
    Ok(Json(v2_metadata(&d, live.as_deref())))
}

async fn v2_model_version(
    Extension(serving): Extension<Arc<Serving>>,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<Value>, V2Error> {
    let (d, live) = v2_target(&serving, &name, Some(&version))?;
    Ok(Json(v2_metadata(&d, live.as_deref())))
}

async fn v2_model_ready(
    Extension(serving): Extension<Arc<Serving>>,
    Path(name): Path<String>,
) -> Result<Response, V2Error> {
    let (d, live) = v2_target(&serving, &name, None)?;
    let ok = live.is_some();
    Ok((
        ready_status(ok),
        Json(json!({"name": d.spec.name, "ready": ok})),
    )
        .into_response())
}

async fn v2_model_version_ready(
    Extension(serving): Extension<Arc<Serving>>,
    Path((name, version)): Path<(String, String)>,
) -> Result<Response, V2Error> {
    let (d, _) = v2_target(&serving, &name, Some(&version))?;
    Ok(Json(json!({"name": d.spec.name, "ready": true})).into_response())
}

async fn v2_infer(
    Extension(serving): Extension<Arc<Serving>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, V2Error> {
    v2_infer_at(&serving, &name, None, &headers, body).await
}

async fn v2_infer_version(
    Extension(serving): Extension<Arc<Serving>>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, V2Error> {
    v2_infer_at(&serving, &name, Some(&version), &headers, body).await
}

async fn v2_infer_at(
    serving: &Arc<Serving>,
    name: &str,
    version: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, V2Error> {
    let (d, _) = v2_target(serving, name, version)?;
    let p = payload(serving, headers, body, false).await?;
    let request_id = match &p {
        Payload::Json(v) => v.get("id").filter(|i| i.is_string()).cloned(),
        Payload::Csv(_) => None,
    };
    let s = score(serving, &d, Protocol::V2, p, headers).await?;
    if let Some(v) = version {
        if s.live.version != v {
            return Err(ApiError::ModelNotFound(format!(
                "model '{name}' moved to version {} while the request was read",
                s.live.version
            ))
            .into());
        }
    }
    let model = &s.live.model;
    let n = s.output.n_rows();
    let mut outputs = vec![];
    let predict_type = predict_datatype(model);
    let preds: Vec<Value> = match (&s.output, predict_type) {
        (Output::Classes { labels, .. }, "BYTES") => labels.iter().map(|l| json!(l)).collect(),
        _ => predictions(&s.output, model),
    };
    outputs.push(json!({"name": "predict", "shape": [n], "datatype": predict_type, "data": preds}));
    if let Output::Classes {
        probabilities,
        classes,
        ..
    } = &s.output
    {
        let k = classes.len();
        let mut flat = Vec::with_capacity(n * k);
        for i in 0..n {
            for j in 0..k {
                flat.push(float(probabilities.get(i, j)));
            }
        }
        outputs.push(
            json!({"name": "predict_proba", "shape": [n, k], "datatype": "FP64", "data": flat}),
        );
    }
    let mut answer = json!({
        "model_name": d.spec.name,
        "model_version": s.live.version,
        "outputs": outputs,
        "parameters": {
            "prediction_ids": s.ids.iter().map(|i| i.hyphenated().to_string()).collect::<Vec<_>>(),
            "classes": model.classes(),
        }
    });
    if let Some(id) = request_id {
        answer["id"] = id;
    }
    Ok(with_headers(Json(answer).into_response(), &s, &d.spec.name))
}

// -------------------------------------------------------------------------------------------
// Readiness, metrics, feedback

/// The OpenAPI document of the inference routes, with the served names and versions as the
/// values their path parameters take.
async fn openapi(Extension(serving): Extension<Arc<Serving>>) -> Json<Value> {
    let names: Vec<String> = serving.deployments().map(|d| d.spec.name.clone()).collect();
    let versions: Vec<String> = serving
        .deployments()
        .filter_map(|d| d.live().map(|l| l.version.clone()))
        .collect();
    Json(crate::openapi::inference_document(&names, &versions))
}

async fn ready(Extension(serving): Extension<Arc<Serving>>) -> Response {
    let (ok, models) = models_readiness(&serving);
    (
        ready_status(ok),
        Json(json!({"ready": ok, "models": models})),
    )
        .into_response()
}

/// Whether every served model has a version loaded, and each one's state.
pub(crate) fn models_readiness(serving: &Serving) -> (bool, Vec<Value>) {
    let models: Vec<Value> = serving
        .deployments()
        .map(|d| {
            let live = d.live();
            json!({
                "name": d.spec.name,
                "version": live.as_ref().map(|l| l.version.clone()),
                "loaded_at": live.as_ref().map(|l| l.loaded_at.to_rfc3339()),
                "ready": live.is_some(),
                "last_error": d.last_error(),
            })
        })
        .collect();
    (serving.ready(), models)
}

async fn metrics(Extension(serving): Extension<Arc<Serving>>) -> Response {
    metrics_response(&serving)
}

/// The Prometheus text of the inference metrics.
pub(crate) fn metrics_response(serving: &Serving) -> Response {
    use std::sync::atomic::Ordering::Relaxed;
    let mut extra: Vec<(&str, &str, &str, f64)> = vec![(
        "slipway_uptime_seconds",
        "Seconds since the server started.",
        "gauge",
        serving.uptime(),
    )];
    if let Some(log) = &serving.log {
        let s = log.stats();
        extra.extend([
            (
                "slipway_prediction_log_queue_rows",
                "Scored rows waiting to be written to the prediction log.",
                "gauge",
                s.queued_rows.load(Relaxed) as f64,
            ),
            (
                "slipway_prediction_log_shed_rows_total",
                "Scored rows not logged because the queue was full or a write failed.",
                "counter",
                s.shed_rows.load(Relaxed) as f64,
            ),
            (
                "slipway_prediction_log_written_rows_total",
                "Scored rows written to the prediction log.",
                "counter",
                s.written_rows.load(Relaxed) as f64,
            ),
            (
                "slipway_prediction_log_segments_total",
                "Prediction log segments written.",
                "counter",
                s.segments.load(Relaxed) as f64,
            ),
        ]);
    }
    let mut text = serving.metrics.render(&extra);
    text.push_str(&super::online::metrics_text(serving));
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// Most feedback items in one request.
const MAX_FEEDBACK: usize = 100_000;

/// `POST /feedback`: delayed ground truth by prediction id. One `{"prediction_id", "label"}`,
/// a list of them, or `{"feedback": [...]}`. Ids the log does not hold are reported.
async fn feedback(
    Extension(serving): Extension<Arc<Serving>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Payload::Json(body) = payload(&serving, &headers, body, false).await? else {
        return Err(bad("feedback is JSON"));
    };
    let Some(log) = &serving.log else {
        return Err(ApiError::FeatureDisabled(
            "the prediction log is off on this server, so feedback cannot be joined to \
             predictions"
                .into(),
        ));
    };
    let items: Vec<&Value> = match &body {
        Value::Array(list) => list.iter().collect(),
        Value::Object(o) => match o.get("feedback") {
            Some(Value::Array(list)) if o.len() == 1 => list.iter().collect(),
            Some(_) => {
                return Err(bad(
                    "\"feedback\" must be the only field, a list of {\"prediction_id\", \"label\"}",
                ));
            }
            None => vec![&body],
        },
        _ => {
            return Err(bad(
                "send {\"prediction_id\": ..., \"label\": ...} or a list of them",
            ));
        }
    };
    if items.is_empty() {
        return Err(bad("no feedback given"));
    }
    if items.len() > MAX_FEEDBACK {
        return Err(ApiError::TooManyRows(format!(
            "{} feedback items; at most {MAX_FEEDBACK} per request",
            items.len()
        )));
    }
    let mut parsed: Vec<(Uuid, String)> = Vec::with_capacity(items.len());
    let mut invalid: Vec<Value> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            return Err(bad(format!("feedback[{i}] is not an object")));
        };
        only_fields(obj, &["prediction_id", "label"], &format!("feedback[{i}]"))?;
        let id = obj
            .get("prediction_id")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                bad(format!(
                    "feedback[{i}]: \"prediction_id\" (a string) is required"
                ))
            })?;
        let label = match obj.get("label") {
            Some(Value::String(s)) => s.clone(),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
            _ => {
                return Err(bad(format!(
                    "feedback[{i}]: \"label\" (a string, number or boolean) is required"
                )));
            }
        };
        if label.chars().count() > 1000 {
            return Err(bad(format!(
                "feedback[{i}]: \"label\" is longer than 1000 characters"
            )));
        }
        match Uuid::parse_str(id).ok().filter(|u| v7_time_ms(u).is_some()) {
            Some(u) => parsed.push((u, label)),
            None => invalid.push(json!(id.chars().take(100).collect::<String>())),
        }
    }
    // Rows still queued are written first, so a prediction just made is found.
    log.flush().await;
    let ids: Vec<Uuid> = parsed.iter().map(|(u, _)| *u).collect();
    let known = known_ids(log.store(), &ids)
        .await
        .map_err(|e| ApiError::Internal(format!("reading the prediction log: {e}")))?;
    let (accepted, unknown): (Vec<_>, Vec<_>) =
        parsed.into_iter().partition(|(u, _)| known.contains(u));
    if !accepted.is_empty() {
        write_feedback(log.store(), &accepted)
            .await
            .map_err(|e| ApiError::Internal(format!("writing feedback: {e}")))?;
    }
    // Online models learn the accepted rows (recorded above whatever happens here).
    let taught = super::online::learn(&serving, log, &accepted).await;
    let mut unknown_ids: Vec<Value> = unknown
        .iter()
        .map(|(u, _)| json!(u.hyphenated().to_string()))
        .collect();
    unknown_ids.extend(invalid);
    let status = if accepted.is_empty() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let mut answer = json!({
        "accepted": accepted.len(),
        "unknown_ids": unknown_ids,
    });
    if let Some(t) = taught {
        answer["learned"] = json!(t.learned);
        answer["not_learned"] = json!(t.not_learned);
    }
    if accepted.is_empty() {
        answer["error_code"] = json!("RESOURCE_DOES_NOT_EXIST");
        answer["message"] = json!("none of the prediction ids is in the prediction log");
    }
    Ok((status, Json(answer)).into_response())
}
