//! Online models learning from `/feedback` while they serve.
//!
//! Feedback is recorded as for every model; then, when a served model is online
//! (`type: online`), each accepted item is joined by its prediction id to the logged
//! request row ([`PredictionLog::lookup`]) and the live model learns the rows with their
//! labels, on the scoring pool (never on an executor thread), one writer at a time
//! ([`slipway_engine::online_serving::LiveLearner`]). An item is not learned from, with
//! its reason in the answer's `not_learned`, when its model is not online, when the
//! version that made the prediction is no longer served, when the label is not one of the
//! model's classes, or when the logged row no longer fits the model.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde_json::{Value, json};
use slipway_data::Table;
use uuid::Uuid;

use super::Serving;
use super::log::PredictionLog;

/// Most feedback items one request may teach an online model; beyond it, items are
/// recorded and not learned from.
pub(crate) const MAX_LEARN: usize = 10_000;

/// What learning from a request's feedback did.
pub(crate) struct Outcome {
    /// Rows learned, over every model.
    pub learned: u64,
    /// Items not learned from, with the reason (only when some served model is online).
    pub not_learned: Vec<Value>,
}

/// One deployment's rows to learn: its live version, the logged rows and their labels.
type Batch = (Arc<super::Live>, Vec<Table>, Vec<String>);

fn skip(id: &Uuid, reason: impl Into<String>) -> Value {
    json!({"prediction_id": id.hyphenated().to_string(), "reason": reason.into()})
}

/// Teaches the online models the accepted feedback `items` (prediction id, label);
/// `None` when no served model is online (nothing is looked up).
pub(crate) async fn learn(
    serving: &Arc<Serving>,
    log: &PredictionLog,
    items: &[(Uuid, String)],
) -> Option<Outcome> {
    let any_online = serving
        .deployments()
        .any(|d| d.live().is_some_and(|l| l.model.online().is_some()));
    if !any_online {
        return None;
    }
    let mut out = Outcome {
        learned: 0,
        not_learned: Vec::new(),
    };
    // Per deployment: the live version, the rows and labels to learn.
    let mut batches: BTreeMap<String, Batch> = BTreeMap::new();
    for (i, (id, label)) in items.iter().enumerate() {
        if i >= MAX_LEARN {
            out.not_learned.push(skip(
                id,
                format!("over the {MAX_LEARN} items one request may teach; send it again"),
            ));
            continue;
        }
        let row = match log.lookup(*id).await {
            Ok(Some(row)) => row,
            Ok(None) => {
                out.not_learned
                    .push(skip(id, "the logged request row was not found"));
                continue;
            }
            Err(e) => {
                tracing::warn!("feedback {id}: reading the prediction log: {e}");
                out.not_learned
                    .push(skip(id, "the prediction log could not be read"));
                continue;
            }
        };
        let Some(live) = serving.deployment(&row.deployment).and_then(|d| d.live()) else {
            out.not_learned.push(skip(
                id,
                format!("model \"{}\" is not served here", row.deployment),
            ));
            continue;
        };
        if live.model.online().is_none() {
            out.not_learned.push(skip(
                id,
                format!(
                    "model \"{}\" is not an online model; feedback is recorded, not learned from",
                    row.deployment
                ),
            ));
            continue;
        }
        if live.version != row.version {
            out.not_learned.push(skip(
                id,
                format!(
                    "the prediction was made by version {} of \"{}\"; version {} is served now",
                    row.version, row.deployment, live.version
                ),
            ));
            continue;
        }
        let classes = live.model.classes();
        if !classes.iter().any(|c| c == label) {
            out.not_learned.push(skip(
                id,
                format!(
                    "label \"{}\" is not one of the classes of \"{}\" ({})",
                    label.chars().take(100).collect::<String>(),
                    row.deployment,
                    classes.join(", ")
                ),
            ));
            continue;
        }
        let table = match row.inputs(live.model.inputs()) {
            Ok(t) => t,
            Err(e) => {
                out.not_learned.push(skip(id, e));
                continue;
            }
        };
        let entry = batches
            .entry(row.deployment.clone())
            .or_insert_with(|| (live.clone(), Vec::new(), Vec::new()));
        entry.1.push(table);
        entry.2.push(label.clone());
    }
    for (name, (live, tables, labels)) in batches {
        let n = labels.len();
        let learned = serving
            .run(move || {
                let learner = live
                    .model
                    .online()
                    .ok_or_else(|| "not an online model".to_string())?;
                let table = Table::concat(&tables).map_err(|e| e.to_string())?;
                learner.learn(&table, &labels).map_err(|e| e.to_string())
            })
            .await;
        match learned {
            Some(Ok(l)) => out.learned += l.rows,
            Some(Err(e)) => {
                tracing::warn!("{name}: learning {n} feedback rows failed: {e}");
                out.not_learned.push(json!({
                    "model": name,
                    "rows": n,
                    "reason": "the model could not learn these rows; they are recorded",
                }));
            }
            None => {
                out.not_learned.push(json!({
                    "model": name,
                    "rows": n,
                    "reason": "the learning job stopped; the rows are recorded",
                }));
            }
        }
    }
    Some(out)
}

/// `slipway_online_updates_total`, per online model served (Prometheus text).
pub(crate) fn metrics_text(serving: &Serving) -> String {
    let mut out = String::new();
    let lines: Vec<(String, String, u64)> = serving
        .deployments()
        .filter_map(|d| {
            let live = d.live()?;
            let updates = live.model.online()?.updates();
            Some((d.spec.name.clone(), live.version.clone(), updates))
        })
        .collect();
    if lines.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "# HELP slipway_online_updates_total Rows an online model learned from feedback since it was trained."
    );
    let _ = writeln!(out, "# TYPE slipway_online_updates_total counter");
    for (name, version, n) in lines {
        let _ = writeln!(
            out,
            "slipway_online_updates_total{{model=\"{}\",version=\"{}\"}} {n}",
            name.replace('\\', "\\\\").replace('"', "\\\""),
            version.replace('\\', "\\\\").replace('"', "\\\"")
        );
    }
    out
}

/// Writes every online model's learned state (on shutdown); failures are logged.
pub async fn checkpoint_all(serving: &Arc<Serving>) {
    let learners: Vec<(String, Arc<super::Live>)> = serving
        .deployments()
        .filter_map(|d| {
            let live = d.live()?;
            live.model.online()?;
            Some((d.spec.name.clone(), live))
        })
        .collect();
    for (name, live) in learners {
        let done = tokio::task::spawn_blocking(move || match live.model.online() {
            Some(l) => l.checkpoint(),
            None => Ok(false),
        })
        .await;
        match done {
            Ok(Ok(true)) => tracing::info!("{name}: online state checkpointed"),
            Ok(Ok(false)) => {}
            Ok(Err(e)) => tracing::warn!("{name}: checkpointing the online state failed: {e}"),
            Err(e) => tracing::warn!("{name}: checkpointing the online state failed: {e}"),
        }
    }
}
