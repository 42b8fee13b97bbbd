//! The OpenAPI 3 document of the whole HTTP API, served at `GET /api/openapi.json`.
//!
//! [`ENDPOINTS`] is the one table of every route: the document is built from it, and the
//! tests check it against the routes `app()` registers (each listed endpoint answers, and
//! each `.route(...)` in the router's source is listed), so the two cannot drift.

use serde_json::{Map, Value, json};

/// What an endpoint takes as its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    /// Nothing (arguments, if any, in the query string).
    None,
    /// A JSON object (`Content-Type: application/json`).
    Json,
    /// Raw bytes (an artifact upload).
    Bytes,
    /// Rows for `/predict`.
    Predict,
    /// An MLflow scoring body (JSON or CSV).
    Mlflow,
    /// An Open Inference Protocol v2 inference request.
    V2,
    /// Feedback by prediction id.
    Feedback,
    /// One row to explain: a prediction id or a row.
    Explain,
}

/// One method on one path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint {
    pub method: &'static str,
    /// The path, with `{name}` for a path parameter.
    pub path: &'static str,
    pub summary: &'static str,
    pub input: Input,
    /// Query-string parameters.
    pub query: &'static [&'static str],
    /// Whether the answer is JSON (else bytes, HTML or text).
    pub json_answer: bool,
}

const fn json(method: &'static str, path: &'static str, summary: &'static str) -> Endpoint {
    Endpoint {
        method,
        path,
        summary,
        input: Input::Json,
        query: &[],
        json_answer: true,
    }
}

const fn get(
    path: &'static str,
    query: &'static [&'static str],
    summary: &'static str,
) -> Endpoint {
    Endpoint {
        method: "get",
        path,
        summary,
        input: Input::None,
        query,
        json_answer: true,
    }
}

const fn page(path: &'static str, summary: &'static str) -> Endpoint {
    Endpoint {
        method: "get",
        path,
        summary,
        input: Input::None,
        query: &[],
        json_answer: false,
    }
}

macro_rules! m {
    ($p:literal) => {
        concat!("/api/2.0/mlflow", $p)
    };
}

const SEARCH: &[&str] = &["filter", "max_results", "order_by", "page_token"];

/// Every endpoint the server answers.
pub(crate) const ENDPOINTS: &[Endpoint] = &[
    json("post", m!("/experiments/create"), "Create an experiment"),
    get(
        m!("/experiments/get"),
        &["experiment_id"],
        "Get an experiment",
    ),
    get(
        m!("/experiments/get-by-name"),
        &["experiment_name"],
        "Get an experiment by name",
    ),
    json("post", m!("/experiments/search"), "Search experiments"),
    json("post", m!("/experiments/delete"), "Delete an experiment"),
    json(
        "post",
        m!("/experiments/restore"),
        "Restore a deleted experiment",
    ),
    json("post", m!("/experiments/update"), "Rename an experiment"),
    json(
        "post",
        m!("/experiments/set-experiment-tag"),
        "Set an experiment tag",
    ),
    json("post", m!("/runs/create"), "Create a run"),
    get(m!("/runs/get"), &["run_id"], "Get a run"),
    json(
        "post",
        m!("/runs/update"),
        "Update a run's status, end time or name",
    ),
    json("post", m!("/runs/delete"), "Delete a run"),
    json("post", m!("/runs/restore"), "Restore a deleted run"),
    json("post", m!("/runs/log-parameter"), "Log a param"),
    json("post", m!("/runs/log-metric"), "Log a metric value"),
    json("post", m!("/runs/set-tag"), "Set a run tag"),
    json("post", m!("/runs/delete-tag"), "Delete a run tag"),
    json(
        "post",
        m!("/runs/log-batch"),
        "Log metrics, params and tags at once",
    ),
    json("post", m!("/runs/search"), "Search runs"),
    json(
        "post",
        m!("/runs/outputs"),
        "Record the models a run produced",
    ),
    json(
        "post",
        m!("/runs/log-inputs"),
        "Record the datasets a run consumed",
    ),
    get(
        m!("/metrics/get-history"),
        &["run_id", "metric_key", "max_results", "page_token"],
        "A metric's every logged value",
    ),
    json(
        "post",
        m!("/logged-models"),
        "Create a logged model (MLflow 3)",
    ),
    json("post", m!("/logged-models/search"), "Search logged models"),
    get(
        m!("/logged-models/{model_id}"),
        &["allow_deleted"],
        "Get a logged model",
    ),
    json(
        "patch",
        m!("/logged-models/{model_id}"),
        "Finalize a logged model",
    ),
    json(
        "delete",
        m!("/logged-models/{model_id}"),
        "Delete a logged model",
    ),
    json(
        "patch",
        m!("/logged-models/{model_id}/tags"),
        "Set logged model tags",
    ),
    Endpoint {
        input: Input::None,
        ..json(
            "delete",
            m!("/logged-models/{model_id}/tags/{tag_key}"),
            "Delete a logged model tag",
        )
    },
    json(
        "post",
        m!("/logged-models/{model_id}/params"),
        "Log logged model params",
    ),
    json(
        "post",
        m!("/registered-models/create"),
        "Create a registered model",
    ),
    get(
        m!("/registered-models/get"),
        &["name"],
        "Get a registered model",
    ),
    json(
        "post",
        m!("/registered-models/rename"),
        "Rename a registered model",
    ),
    json(
        "patch",
        m!("/registered-models/update"),
        "Update a registered model's description",
    ),
    json(
        "delete",
        m!("/registered-models/delete"),
        "Delete a registered model",
    ),
    get(
        m!("/registered-models/search"),
        SEARCH,
        "Search registered models",
    ),
    json(
        "post",
        m!("/registered-models/get-latest-versions"),
        "Latest version per stage",
    ),
    get(
        m!("/registered-models/get-latest-versions"),
        &["name", "stages"],
        "Latest version per stage",
    ),
    json(
        "post",
        m!("/registered-models/set-tag"),
        "Set a registered model tag",
    ),
    json(
        "delete",
        m!("/registered-models/delete-tag"),
        "Delete a registered model tag",
    ),
    json(
        "post",
        m!("/registered-models/alias"),
        "Point an alias at a version",
    ),
    json("delete", m!("/registered-models/alias"), "Delete an alias"),
    get(
        m!("/registered-models/promotions"),
        &["name"],
        "The promotion history of a model: every gated alias move, refusal, override and removal",
    ),
    get(
        m!("/registered-models/alias"),
        &["name", "alias"],
        "The version an alias names",
    ),
    json(
        "post",
        m!("/model-versions/create"),
        "Create a model version",
    ),
    get(
        m!("/model-versions/get"),
        &["name", "version"],
        "Get a model version",
    ),
    json(
        "patch",
        m!("/model-versions/update"),
        "Update a model version's description",
    ),
    json(
        "delete",
        m!("/model-versions/delete"),
        "Delete a model version",
    ),
    get(
        m!("/model-versions/search"),
        SEARCH,
        "Search model versions",
    ),
    json(
        "post",
        m!("/model-versions/transition-stage"),
        "Move a model version to a stage",
    ),
    get(
        m!("/model-versions/get-download-uri"),
        &["name", "version"],
        "Where a model version's files are",
    ),
    json(
        "post",
        m!("/model-versions/set-tag"),
        "Set a model version tag",
    ),
    json(
        "delete",
        m!("/model-versions/delete-tag"),
        "Delete a model version tag",
    ),
    get(
        "/api/2.0/mlflow-artifacts/artifacts",
        &["path"],
        "List artifacts under a path",
    ),
    Endpoint {
        json_answer: false,
        ..get(
            "/api/2.0/mlflow-artifacts/artifacts/{path}",
            &[],
            "Download an artifact",
        )
    },
    Endpoint {
        method: "put",
        input: Input::Bytes,
        ..get(
            "/api/2.0/mlflow-artifacts/artifacts/{path}",
            &[],
            "Upload an artifact (the body is its bytes)",
        )
    },
    Endpoint {
        method: "delete",
        ..get(
            "/api/2.0/mlflow-artifacts/artifacts/{path}",
            &[],
            "Delete an artifact or folder",
        )
    },
    get(
        "/api/3.0/mlflow/server-info",
        &[],
        "What this server supports",
    ),
    json(
        "post",
        "/api/2.0/slipway/deployments/create",
        "Create a deployment of a served model (single, ab, canary, blue_green, shadow)",
    ),
    get(
        "/api/2.0/slipway/deployments/get",
        &["name"],
        "A deployment: plan, state, this replica's per-arm counters and every event",
    ),
    get(
        "/api/2.0/slipway/deployments/list",
        &[],
        "Every deployment, oldest first",
    ),
    json(
        "post",
        "/api/2.0/slipway/deployments/pause",
        "Pause a deployment (its traffic share is kept; no steps)",
    ),
    json(
        "post",
        "/api/2.0/slipway/deployments/resume",
        "Resume a paused deployment",
    ),
    json(
        "post",
        "/api/2.0/slipway/deployments/promote",
        "Promote the challenger: the champion alias moves through the promotion gate \
         (blue-green: green is smoke-tested with recorded requests first, then flipped)",
    ),
    json(
        "post",
        "/api/2.0/slipway/deployments/rollback",
        "Roll back: all traffic to the champion (blue-green after a flip: back to the blue \
         kept loaded, inside its window)",
    ),
    json(
        "post",
        "/api/2.0/slipway/deployments/end",
        "End a deployment: all traffic to the champion",
    ),
    get(
        "/api/2.0/slipway/deployments/report",
        &[
            "name",
            "covariate",
            "segment",
            "alpha",
            "srm_threshold",
            "min_effect",
            "missing_as_zero",
        ],
        "An A/B deployment's readout from the prediction log: exposures per arm, outcomes \
         from /feedback, sample-ratio check (overall and per segment), z-test or Welch, CUPED, \
         always-valid p-value, recommendation",
    ),
    get("/api/openapi.json", &[], "This document"),
    page("/health", "Liveness probe: OK"),
    get(
        "/ready",
        &[],
        "Readiness: 200 when the metadata and artifact stores answer and every served model \
         is loaded, else 503 naming the check that failed (a bundle server: its models only)",
    ),
    page(
        "/metrics",
        "Prometheus metrics: the uptime; when serving models, requests, errors and latency \
         per model, version and protocol, deployments' routing time, and the prediction \
         log's queue",
    ),
    page("/version", "The server's version"),
    get(
        "/openapi.json",
        &[],
        "This document (when the server serves models)",
    ),
    page("/", "The web UI"),
    page("/index.html", "The web UI"),
    page("/static/app.js", "The web UI's script"),
    page("/static/app.css", "The web UI's style sheet"),
    page("/static/favicon.svg", "The icon"),
    page(
        "/ui/artifact-html/{path}",
        "An HTML artifact for the web UI's preview, served sandboxed (no script, no app origin)",
    ),
    page(
        "/ui/run-explanations/{run_id}",
        "A run's SHAP pictures and fairness-by-group sections from its report.html, served \
         sandboxed for the web UI's run and model version pages (404 when it recorded none)",
    ),
    page("/favicon.ico", "The icon"),
];

const fn infer(path: &'static str, input: Input, summary: &'static str) -> Endpoint {
    Endpoint {
        method: "post",
        path,
        summary,
        input,
        query: &[],
        json_answer: true,
    }
}

/// Every inference route (present when the server serves models).
pub(crate) const INFERENCE_ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        query: &["model"],
        ..infer(
            "/predict",
            Input::Predict,
            "Score rows: one object, a list, or {\"rows\": [...]}; answers labels, \
             probabilities and a prediction_id per row",
        )
    },
    Endpoint {
        query: &["model"],
        ..infer(
            "/invocations",
            Input::Mlflow,
            "MLflow scoring: dataframe_split, dataframe_records, instances, inputs or CSV",
        )
    },
    infer(
        "/models/{name}/invocations",
        Input::Mlflow,
        "MLflow scoring for one of several served models",
    ),
    get(
        "/monitors",
        &[],
        "Scheduled monitors (serve --monitors): each with its settings and recent runs, \
         newest first (status, rows, drifted features, multivariate drift, alerts, the stored \
         report's path)",
    ),
    get("/v2", &[], "Open Inference Protocol v2: server metadata"),
    get("/v2/health/live", &[], "v2 liveness"),
    get(
        "/v2/health/ready",
        &[],
        "v2 readiness (503 until every model is loaded)",
    ),
    get(
        "/v2/models/{name}",
        &[],
        "v2 model metadata: inputs and outputs",
    ),
    get("/v2/models/{name}/ready", &[], "v2 model readiness"),
    infer("/v2/models/{name}/infer", Input::V2, "v2 inference"),
    get(
        "/v2/models/{name}/versions/{version}",
        &[],
        "v2 model metadata of one version",
    ),
    get(
        "/v2/models/{name}/versions/{version}/ready",
        &[],
        "v2 readiness of one version",
    ),
    infer(
        "/v2/models/{name}/versions/{version}/infer",
        Input::V2,
        "v2 inference on one version (404 when another is served)",
    ),
    Endpoint {
        query: &["model"],
        ..infer(
            "/explain",
            Input::Explain,
            "Explain one row (a logged prediction_id, or the row itself): the prediction, \
             base value and SHAP contributions per input column (per encoded feature with \
             per_feature), the method, and for sampled methods the seed and standard errors",
        )
    },
    infer(
        "/models/{name}/explain",
        Input::Explain,
        "Explain one row with the named model",
    ),
    infer(
        "/v2/models/{name}/explain",
        Input::Explain,
        "Explain one row with the named model: a prediction_id or a v2 inference request \
         of one row (parameters.per_feature)",
    ),
    infer(
        "/feedback",
        Input::Feedback,
        "Delayed ground truth by prediction_id; unknown ids are reported. When a served \
         model is online (type: online), it learns the accepted rows: the answer adds \
         learned (rows learned) and not_learned (prediction_id and reason for each item \
         recorded but not learned from)",
    ),
];

fn row_schema() -> Value {
    json!({"type": "object", "additionalProperties": true})
}

fn request_body(input: Input) -> Option<Value> {
    let json_body = |schema: Value| json!({"required": true, "content": {"application/json": {"schema": schema}}});
    Some(match input {
        Input::None => return None,
        Input::Json => json_body(json!({"type": "object"})),
        Input::Bytes => json!({
            "required": true,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
        }),
        Input::Predict => json_body(json!({"oneOf": [
            row_schema(),
            {"type": "array", "items": row_schema()},
        ], "description": "one row as an object of column: value, a list of rows, or {\"rows\": [...]}"})),
        Input::Mlflow => json!({
            "required": true,
            "content": {
                "application/json": {"schema": {
                    "type": "object",
                    "properties": {
                        "dataframe_split": {"type": "object", "properties": {
                            "columns": {"type": "array", "items": {"type": "string"}},
                            "data": {"type": "array", "items": {"type": "array"}},
                            "index": {"type": "array"}
                        }, "required": ["data"]},
                        "dataframe_records": {"type": "array", "items": row_schema()},
                        "instances": {},
                        "inputs": {},
                        "params": {"type": "object"}
                    },
                    "additionalProperties": false
                }},
                "text/csv": {"schema": {"type": "string"}}
            }
        }),
        Input::V2 => json_body(json!({
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "id": {"type": "string"},
                "parameters": {"type": "object"},
                "inputs": {"type": "array", "items": {
                    "type": "object",
                    "required": ["name", "shape", "datatype", "data"],
                    "properties": {
                        "name": {"type": "string"},
                        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                        "datatype": {"type": "string", "enum": [
                            "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16",
                            "INT32", "INT64", "FP16", "FP32", "FP64", "BF16", "BYTES"
                        ]},
                        "data": {"type": "array"},
                        "parameters": {"type": "object"}
                    }
                }},
                "outputs": {"type": "array"}
            }
        })),
        Input::Explain => json_body(json!({"oneOf": [
            {
                "type": "object",
                "required": ["prediction_id"],
                "properties": {
                    "prediction_id": {"type": "string"},
                    "per_feature": {"type": "boolean"}
                },
                "additionalProperties": false
            },
            {
                "type": "object",
                "description": "one row as the inference routes take it: a plain object of \
                    column: value, {\"row\": {...}}, an MLflow scoring body, or (v2 route) a \
                    v2 inference request; optional \"per_feature\": true",
                "additionalProperties": true
            }
        ]})),
        Input::Feedback => {
            let item = json!({
                "type": "object",
                "required": ["prediction_id", "label"],
                "properties": {
                    "prediction_id": {"type": "string"},
                    "label": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}
                },
                "additionalProperties": false
            });
            json_body(json!({"oneOf": [
                item.clone(),
                {"type": "array", "items": item.clone()},
                {"type": "object", "required": ["feedback"], "properties": {"feedback": {"type": "array", "items": item}}}
            ]}))
        }
    })
}

fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
        })
        .collect()
}

/// The OpenAPI 3.0 document of the whole server; the inference routes are listed when it
/// serves models (`with_inference`).
pub(crate) fn document(with_inference: bool) -> Value {
    let inference = if with_inference {
        INFERENCE_ENDPOINTS
    } else {
        &[]
    };
    build(
        ENDPOINTS
            .iter()
            .filter(|e| with_inference || e.path != "/openapi.json")
            .chain(inference),
        "Slipway server",
        "MLflow-compatible REST API (tracking, logged models, the model registry and \
         proxied artifacts) and the inference routes (plain /predict, MLflow scoring, Open \
         Inference Protocol v2). JSON endpoints take Content-Type: application/json; \
         state-changing requests from a foreign Origin are refused.",
    )
}

/// The OpenAPI 3.0 document of the inference routes, at `GET /openapi.json`; the `name`
/// and `version` path parameters list the served models and versions.
pub(crate) fn inference_document(names: &[String], versions: &[String]) -> Value {
    let probes = ENDPOINTS.iter().filter(|e| {
        matches!(
            e.path,
            "/health" | "/ready" | "/metrics" | "/version" | "/openapi.json"
        )
    });
    let mut doc = build(
        INFERENCE_ENDPOINTS.iter().chain(probes),
        "Slipway inference server",
        "Plain /predict, MLflow scoring (/invocations) and Open Inference Protocol v2. \
         Every request is checked against the model's input schema: errors are 400 \
         (malformed body), 413 (too large), 415 (wrong content type) or 422 (a value or \
         column the model cannot take), with a JSON body naming the field and row.",
    );
    let Some(paths) = doc["paths"].as_object_mut() else {
        return doc;
    };
    for ops in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in ops.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for p in params.iter_mut().filter(|p| p["in"] == "path") {
                let values = match p["name"].as_str() {
                    Some("name") => names,
                    Some("version") => versions,
                    _ => continue,
                };
                if !values.is_empty() {
                    p["schema"]["enum"] = json!(values);
                }
            }
        }
    }
    doc
}

fn build<'a>(endpoints: impl Iterator<Item = &'a Endpoint>, title: &str, about: &str) -> Value {
    let mut paths = Map::new();
    for e in endpoints {
        let mut parameters = path_parameters(e.path);
        parameters.extend(e.query.iter().map(
            |q| json!({"name": q, "in": "query", "required": false, "schema": {"type": "string"}}),
        ));
        let ok = if e.json_answer {
            json!({"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}})
        } else {
            json!({"description": "OK"})
        };
        let mut op = json!({
            "summary": e.summary,
            "operationId": format!("{} {}", e.method, e.path),
            "responses": {
                "200": ok,
                "default": {
                    "description": "An error",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                }
            }
        });
        if !parameters.is_empty() {
            op["parameters"] = Value::Array(parameters);
        }
        if let Some(body) = request_body(e.input) {
            op["requestBody"] = body;
        }
        let entry = paths
            .entry(e.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[e.method] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "version": env!("CARGO_PKG_VERSION"),
            "description": about
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error_code", "message"],
                    "properties": {
                        "error_code": {"type": "string"},
                        "message": {"type": "string"},
                        "field": {"type": "string"},
                        "row": {"type": "integer"}
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The prefix the routes of `registry.rs` and `logged_models.rs` are nested under.
    const MLFLOW_PREFIX: &str = "/api/2.0/mlflow";

    /// `(method, path)` of every `.route(...)` in `source`, under `prefix`; axum's
    /// `{*rest}` reads as `{rest}`.
    fn routes_in(source: &str, prefix: &str) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        let mut rest = source;
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The call's text: up to its closing parenthesis.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            let call = &rest[..end];
            let path = call.split('"').nth(1).expect("a route path literal");
            let path = format!("{prefix}{}", path.replace("{*", "{"));
            let handlers = call.split_once(',').map_or("", |(_, h)| h);
            for method in ["get", "post", "put", "patch", "delete"] {
                let called = handlers.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0
                        || !handlers[..i]
                            .chars()
                            .next_back()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if called {
                    out.insert((method.to_string(), path.clone()));
                }
            }
        }
        out
    }

    #[test]
    fn every_registered_route_is_in_the_document() {
        let lib = include_str!("lib.rs");
        let (mlflow, rest) = lib
            .split_once("let artifact_routes")
            .expect("lib.rs builds artifact_routes");
        let mlflow = &mlflow[mlflow.find("let mlflow").expect("let mlflow")..];
        let (artifacts, root) = rest.split_once(".nest(").expect("nesting");
        let mut routes = routes_in(mlflow, MLFLOW_PREFIX);
        routes.extend(routes_in(artifacts, "/api/2.0/mlflow-artifacts"));
        routes.extend(routes_in(root, ""));
        routes.extend(routes_in(include_str!("registry.rs"), MLFLOW_PREFIX));
        routes.extend(routes_in(include_str!("logged_models.rs"), MLFLOW_PREFIX));
        routes.extend(routes_in(include_str!("ui/mod.rs"), ""));
        routes.extend(routes_in(include_str!("serving/protocol.rs"), ""));
        routes.extend(routes_in(
            include_str!("deployments.rs"),
            "/api/2.0/slipway",
        ));
        assert!(routes.len() > 60, "the route scan found {}", routes.len());
        let listed: BTreeSet<(String, String)> = ENDPOINTS
            .iter()
            .chain(INFERENCE_ENDPOINTS)
            .map(|e| (e.method.to_string(), e.path.to_string()))
            .collect();
        let missing: Vec<_> = routes.difference(&listed).collect();
        assert!(
            missing.is_empty(),
            "routes missing from ENDPOINTS: {missing:?}"
        );
        let extra: Vec<_> = listed.difference(&routes).collect();
        assert!(
            extra.is_empty(),
            "ENDPOINTS lists routes app() lacks: {extra:?}"
        );
    }

    #[test]
    fn the_document_is_openapi_3() {
        let doc = document(true);
        assert_eq!(doc["openapi"], "3.0.3");
        let op = &doc["paths"]["/api/2.0/mlflow/registered-models/alias"];
        assert!(op["post"]["requestBody"]["content"]["application/json"].is_object());
        assert!(
            op["get"]["parameters"]
                .as_array()
                .is_some_and(|p| p.len() == 2)
        );
        let put = &doc["paths"]["/api/2.0/mlflow-artifacts/artifacts/{path}"]["put"];
        assert_eq!(put["parameters"][0]["in"], "path");
        assert!(put["requestBody"]["content"]["application/octet-stream"].is_object());
    }
}
