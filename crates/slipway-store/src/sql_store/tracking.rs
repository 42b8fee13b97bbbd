//! Experiments, runs, params, metrics and tags in a SQL database.
//!
//! Compiled once per backend (see [`crate::sql`]): the including module provides `Db`,
//! `Conn`, `DbRow`, `DIALECT` and `MIGRATIONS`.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::Row;

use super::{Conn, Connections, DIALECT, Db, DbRow, MIGRATION_LOCK, MIGRATIONS};
use crate::deployment::{DeploymentEvent, DeploymentRecord, DeploymentUpdate, NewDeployment};
use crate::error::{Error, Result};
use crate::metadata::MetadataStore;
use crate::model::{
    DatasetInput, Experiment, ExperimentQuery, KeyValue, LifecycleStage, LogBatch, Metric,
    ModelMetric, ModelOutput, NewExperiment, NewRun, Page, Run, RunInfo, RunQuery, RunStatus,
    RunUpdate, page_token,
};
use crate::predlog::{LogSegment, LogSegmentQuery};
use crate::registry::{
    LoggedModel, LoggedModelQuery, LoggedModelStatus, ModelStage, ModelVersion, ModelVersionQuery,
    NewLoggedModel, NewModelVersion, NewPromotion, NewRegisteredModel, Promotion, RegisteredModel,
    RegisteredModelQuery,
};
use crate::sql::{
    Bind, Binds, EXPERIMENTS, MAX_HISTORY_RESULTS, MAX_SEARCH_RESULTS, RUN_NAME_TAG, RUNS, Script,
    check_page_size, experiment_exists, experiment_not_found, generated_run_name,
    metric_json_values, metrics_from_json, new_run_id, now_ms, parse_experiment_id, run_not_found,
    runs_from_json, store_metric_value, unique_violation_as,
};
use crate::validate;

#[allow(clippy::duplicate_mod)] // compiled per backend, like this file
#[path = "registry.rs"]
mod registry;

#[allow(clippy::duplicate_mod)] // compiled per backend, like this file
#[path = "predlog.rs"]
mod predlog;

#[allow(clippy::duplicate_mod)] // compiled per backend, like this file
#[path = "deployment.rs"]
mod deployment;

/// Metadata in a SQL database: [`crate::SqliteStore`] and [`crate::PostgresStore`] are this
/// type compiled for each backend.
///
/// Writes are serialized by an in-process lock so that a transaction never fails on a busy
/// database (SQLite) or on a check-then-write race between two requests (both), and each
/// write is one transaction.
pub struct Store {
    /// Read connections, and the write connection behind its lock (see each backend's
    /// `Connections`).
    pub(super) conns: Connections,
}

/// Runs per JSON text that [`Store::runs_with_data`] reads: a search page of 1,000 runs (1,001
/// rows with the look-ahead) is one query.
const RUNS_PER_DOCUMENT: usize = 1024;

type DbQuery<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

/// `VALUES` rows `(run_id, key, value)` for run-keyed pairs (params, tags).
fn key_value_rows(binds: &mut Binds, run_id: &str, pairs: &[&KeyValue]) -> String {
    binds.rows(pairs.iter().map(|kv| {
        [
            Bind::Text(run_id.to_owned()),
            Bind::Text(kv.key.clone()),
            Bind::Text(kv.value.clone()),
        ]
    }))
}

/// Tags with each key once: a key given twice keeps its first place and its last value, as
/// one upsert after another leaves it.
fn latest_per_key<T: Borrow<KeyValue>>(tags: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for t in tags {
        let key = &t.borrow().key;
        match out
            .iter_mut()
            .find(|o| Borrow::<KeyValue>::borrow(&**o).key == *key)
        {
            Some(o) => *o = t,
            None => out.push(t),
        }
    }
    out
}

/// Runs `script`'s statements in order; returns the rows they return (`RETURNING`).
pub(super) async fn run_script(conn: &mut Conn, script: &Script) -> Result<Vec<DbRow>> {
    let mut rows = Vec::new();
    for (sql, binds) in script.queries() {
        rows.extend(
            bind_all(sqlx::query(sql), binds)
                .fetch_all(&mut *conn)
                .await?,
        );
    }
    Ok(rows)
}

pub(super) fn bind_all<'q>(mut q: DbQuery<'q>, binds: &Binds) -> DbQuery<'q> {
    for b in binds.values() {
        q = match b {
            Bind::Text(s) => q.bind(s.clone()),
            Bind::Real(v) => q.bind(*v),
            Bind::Int(v) => q.bind(*v),
            Bind::Null => q.bind(None::<String>),
        };
    }
    q
}

fn run_info_from_row(row: &DbRow) -> Result<RunInfo> {
    let experiment_id: i64 = row.try_get("experiment_id")?;
    let status: String = row.try_get("status")?;
    let stage: String = row.try_get("lifecycle_stage")?;
    Ok(RunInfo {
        run_id: row.try_get("run_uuid")?,
        experiment_id: experiment_id.to_string(),
        run_name: row.try_get("name")?,
        user_id: row.try_get("user_id")?,
        status: RunStatus::parse(&status)
            .map_err(|_| Error::Internal(format!("unknown run status {status:?} in database")))?,
        start_time: row.try_get("start_time")?,
        end_time: row.try_get("end_time")?,
        artifact_uri: row.try_get("artifact_uri")?,
        lifecycle_stage: LifecycleStage::parse(&stage)?,
    })
}

fn experiment_from_row(row: &DbRow) -> Result<Experiment> {
    let id: i64 = row.try_get("experiment_id")?;
    let stage: String = row.try_get("lifecycle_stage")?;
    Ok(Experiment {
        experiment_id: id.to_string(),
        name: row.try_get("name")?,
        artifact_location: row.try_get("artifact_location")?,
        lifecycle_stage: LifecycleStage::parse(&stage)?,
        creation_time: row.try_get("creation_time")?,
        last_update_time: row.try_get("last_update_time")?,
        tags: Vec::new(),
    })
}

impl Store {
    /// Wraps open connections: applies pending migrations and makes sure the default
    /// experiment exists.
    pub(super) async fn from_connections(conns: Connections) -> Result<Self> {
        let store = Store { conns };
        store.migrate().await?;
        store.ensure_default_experiment().await?;
        Ok(store)
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.conns.close().await;
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64> {
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM slipway_migrations")
            .fetch_one(&mut *self.conns.read().await?)
            .await?;
        Ok(v.unwrap_or(0))
    }

    /// Applies each migration not yet recorded, each in its own transaction. Where the
    /// backend has a `MIGRATION_LOCK`, it is taken first, so that servers starting together
    /// on one database apply each migration once.
    async fn migrate(&self) -> Result<()> {
        let mut w = self.conns.write().await?;
        for (version, name, sql) in MIGRATIONS {
            let mut tx = w.begin().await?;
            if let Some(lock) = MIGRATION_LOCK {
                sqlx::raw_sql(lock).execute(&mut *tx).await?;
            }
            sqlx::raw_sql(
                "CREATE TABLE IF NOT EXISTS slipway_migrations (
                    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            )
            .execute(&mut *tx)
            .await?;
            let applied: Option<i64> =
                sqlx::query_scalar("SELECT version FROM slipway_migrations WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if applied.is_some() {
                continue;
            }
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO slipway_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(version)
            .bind(name)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    async fn ensure_default_experiment(&self) -> Result<()> {
        let mut w = self.conns.write().await?;
        let now = now_ms();
        sqlx::query(
            "INSERT INTO experiments
             (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
             VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active', $1, $2)
             ON CONFLICT DO NOTHING",
        )
        .bind(now)
        .bind(now)
        .execute(&mut *w)
        .await?;
        Ok(())
    }

    async fn experiment_tags(conn: &mut Conn, id: i64) -> Result<Vec<KeyValue>> {
        let rows = sqlx::query(
            "SELECT key, value FROM experiment_tags WHERE experiment_id = $1 ORDER BY rowid",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(KeyValue::new(
                    r.try_get::<String, _>("key")?,
                    r.try_get::<String, _>("value")?,
                ))
            })
            .collect()
    }

    async fn experiment_row(conn: &mut Conn, id: i64) -> Result<Option<Experiment>> {
        let row = sqlx::query("SELECT * FROM experiments WHERE experiment_id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let mut e = experiment_from_row(&row)?;
                e.tags = Self::experiment_tags(conn, id).await?;
                Ok(Some(e))
            }
        }
    }

    /// The run's lifecycle stage, or `NotFound`.
    async fn run_stage(conn: &mut Conn, run_id: &str) -> Result<LifecycleStage> {
        let stage: Option<String> =
            sqlx::query_scalar("SELECT lifecycle_stage FROM runs WHERE run_uuid = $1")
                .bind(run_id)
                .fetch_optional(&mut *conn)
                .await?;
        match stage {
            None => Err(run_not_found(run_id)),
            Some(s) => LifecycleStage::parse(&s),
        }
    }

    /// Experiment `id` (as the caller wrote it: `given`), if it exists and is active.
    async fn active_experiment(conn: &mut Conn, id: i64, given: &str) -> Result<Experiment> {
        let Some(exp) = Self::experiment_row(conn, id).await? else {
            return Err(experiment_not_found(given));
        };
        if exp.lifecycle_stage != LifecycleStage::Active {
            return Err(Error::invalid(format!(
                "The experiment {given} must be in the 'active' state. Current state is deleted."
            )));
        }
        Ok(exp)
    }

    async fn require_active_run(conn: &mut Conn, run_id: &str) -> Result<()> {
        Self::require_active(run_id, Self::run_stage(conn, run_id).await?)
    }

    fn require_active(run_id: &str, stage: LifecycleStage) -> Result<()> {
        match stage {
            LifecycleStage::Active => Ok(()),
            LifecycleStage::Deleted => Err(Error::invalid(format!(
                "The run {run_id} must be in the 'active' state. Current state is deleted."
            ))),
        }
    }

    /// The runs of `pages` (a query of `runs` rows with an ordinal `n` from 1) with their
    /// data, in the order of `n`: one row from the database per [`RUNS_PER_DOCUMENT`] runs
    /// (see [`crate::sql::Dialect::runs_json`]). The chunks keep each JSON text far below the
    /// databases' 1 GB limit on one value, whatever the page size.
    async fn runs_with_data(conn: &mut Conn, pages: &str, binds: &Binds) -> Result<Vec<Run>> {
        let mut runs = Vec::new();
        loop {
            let (from, to) = (runs.len(), runs.len() + RUNS_PER_DOCUMENT);
            let sql = format!(
                "SELECT {} AS runs FROM ({pages}) AS p WHERE p.n > {from} AND p.n <= {to}",
                DIALECT.runs_json()
            );
            let row = bind_all(sqlx::query(&sql), binds)
                .fetch_one(&mut *conn)
                .await?;
            let chunk = runs_from_json(row.try_get("runs")?)?;
            let last = chunk.len() < RUNS_PER_DOCUMENT;
            runs.extend(chunk);
            if last {
                return Ok(runs);
            }
        }
    }

    async fn run_info(conn: &mut Conn, run_id: &str) -> Result<RunInfo> {
        let row = sqlx::query("SELECT * FROM runs WHERE run_uuid = $1")
            .bind(run_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| run_not_found(run_id))?;
        run_info_from_row(&row)
    }

    /// Sets tags, each key once (see [`latest_per_key`]).
    fn tag_statements(script: &mut Script, run_id: &str, tags: &[&KeyValue]) {
        for chunk in tags.chunks(DIALECT.rows_per_insert()) {
            script.push(DIALECT, |binds| {
                let rows = key_value_rows(binds, run_id, chunk);
                format!(
                    "INSERT INTO tags (run_uuid, key, value) VALUES {rows}
                     ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value"
                )
            });
        }
    }

    /// Inserts the params whose keys are new (already checked to agree within the batch),
    /// returning each inserted key; a key logged before is left for [`Self::check_params`].
    /// Returns how many distinct keys there are.
    fn param_statements(script: &mut Script, run_id: &str, params: &[KeyValue]) -> usize {
        let mut distinct: Vec<&KeyValue> = Vec::with_capacity(params.len());
        for p in params {
            if !distinct.iter().any(|d| d.key == p.key) {
                distinct.push(p);
            }
        }
        for chunk in distinct.chunks(DIALECT.rows_per_insert()) {
            script.push(DIALECT, |binds| {
                let rows = key_value_rows(binds, run_id, chunk);
                format!(
                    "INSERT INTO params (run_uuid, key, value) VALUES {rows}
                     ON CONFLICT DO NOTHING RETURNING key"
                )
            });
        }
        distinct.len()
    }

    /// A key logged before must keep its value: compares the stored values with `params`. A
    /// key another server inserted at the same moment (PostgreSQL) made this insert wait for
    /// that commit and skip the row; its value is compared like any earlier one.
    async fn check_params(conn: &mut Conn, run_id: &str, params: &[KeyValue]) -> Result<()> {
        let stored = Self::param_values(conn, run_id, params).await?;
        for p in params {
            if let Some(old) = stored.get(&p.key).filter(|old| **old != p.value) {
                return Err(Error::invalid(format!(
                    "Changing param values is not allowed. Param with key='{}' was already logged \
                     with value='{old}' for run ID='{run_id}'. Attempted logging new value '{}'.",
                    p.key, p.value
                )));
            }
        }
        Ok(())
    }

    /// The stored values of a run's params among `params`' keys.
    async fn param_values(
        conn: &mut Conn,
        run_id: &str,
        params: &[KeyValue],
    ) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        for chunk in params.chunks(DIALECT.rows_per_insert()) {
            let mut binds = Binds::default();
            let run = binds.push(Bind::Text(run_id.to_owned()));
            let keys = binds.list(chunk.iter().map(|p| Bind::Text(p.key.clone())));
            let sql =
                format!("SELECT key, value FROM params WHERE run_uuid = {run} AND key IN ({keys})");
            for row in bind_all(sqlx::query(&sql), &binds)
                .fetch_all(&mut *conn)
                .await?
            {
                out.insert(row.try_get("key")?, row.try_get("value")?);
            }
        }
        Ok(out)
    }

    /// Appends metric values (an identical (key, timestamp, step, value) is kept once) and
    /// moves each key's latest value forward: the highest step, then the latest timestamp,
    /// then the larger value, a tie going to the later one, as MLflow orders them. The batch
    /// is reduced to one candidate per key first, so each statement touches a key once.
    /// Inserts of values that also measure logged models; a value already there (same model,
    /// key, timestamp, step and run) is kept, as MLflow does.
    fn model_metric_statements(script: &mut Script, run_id: &str, metrics: &[ModelMetric]) {
        let row = |m: &ModelMetric| {
            let (value, is_nan) = store_metric_value(m.metric.value);
            let text = |t: &Option<String>| t.clone().map_or(Bind::Null, Bind::Text);
            [
                Bind::Text(m.model_id.clone()),
                Bind::Text(m.metric.key.clone()),
                Bind::Real(value),
                Bind::Int(is_nan),
                Bind::Int(m.metric.timestamp),
                Bind::Int(m.metric.step),
                Bind::Text(run_id.to_owned()),
                text(&m.dataset_name),
                text(&m.dataset_digest),
            ]
        };
        for chunk in metrics.chunks(DIALECT.rows_per_insert()) {
            script.push(DIALECT, |binds| {
                let rows = binds.rows(chunk.iter().map(row));
                format!(
                    "INSERT INTO logged_model_metrics (model_id, key, value, is_nan, timestamp,
                         step, run_uuid, dataset_name, dataset_digest)
                     VALUES {rows} ON CONFLICT DO NOTHING"
                )
            });
        }
    }

    fn metric_statements(script: &mut Script, run_id: &str, metrics: &[Metric]) {
        let stored: Vec<(&str, f64, i64, i64, i64)> = metrics
            .iter()
            .map(|m| {
                let (value, is_nan) = store_metric_value(m.value);
                (m.key.as_str(), value, is_nan, m.timestamp, m.step)
            })
            .collect();
        let row = |m: &(&str, f64, i64, i64, i64)| {
            [
                Bind::Text(run_id.to_owned()),
                Bind::Text(m.0.to_owned()),
                Bind::Real(m.1),
                Bind::Int(m.2),
                Bind::Int(m.3),
                Bind::Int(m.4),
            ]
        };
        for chunk in stored.chunks(DIALECT.rows_per_insert()) {
            script.push(DIALECT, |binds| {
                let rows = binds.rows(chunk.iter().map(row));
                format!(
                    "INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step)
                     VALUES {rows} ON CONFLICT DO NOTHING"
                )
            });
        }
        let mut latest: Vec<&(&str, f64, i64, i64, i64)> = Vec::new();
        let mut slot: HashMap<&str, usize> = HashMap::new();
        for m in &stored {
            match slot.get(m.0) {
                Some(&i) => {
                    let l = latest[i];
                    // Values are never NaN here (`store_metric_value`), and -0.0 equals 0.0
                    // as in SQL.
                    let order = (m.4, m.3)
                        .cmp(&(l.4, l.3))
                        .then_with(|| m.1.partial_cmp(&l.1).unwrap_or(Ordering::Equal));
                    if order != Ordering::Less {
                        latest[i] = m;
                    }
                }
                None => {
                    slot.insert(m.0, latest.len());
                    latest.push(m);
                }
            }
        }
        for chunk in latest.chunks(DIALECT.rows_per_insert()) {
            script.push(DIALECT, |binds| {
                let rows = binds.rows(chunk.iter().map(|m| row(m)));
                format!(
                    "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step)
                     VALUES {rows}
                     ON CONFLICT (run_uuid, key) DO UPDATE SET
                       value = excluded.value, is_nan = excluded.is_nan,
                       timestamp = excluded.timestamp, step = excluded.step
                     WHERE (excluded.step, excluded.timestamp, excluded.value)
                         >= (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)"
                )
            });
        }
    }

    async fn set_experiment_stage(&self, experiment_id: &str, stage: LifecycleStage) -> Result<()> {
        let id = parse_experiment_id(experiment_id)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let Some(exp) = Self::experiment_row(&mut tx, id).await? else {
            return Err(experiment_not_found(experiment_id));
        };
        if id == 0 && stage == LifecycleStage::Deleted {
            return Err(Error::invalid(
                "The default experiment (id 0) cannot be deleted",
            ));
        }
        if exp.lifecycle_stage == stage {
            return Err(Error::invalid(format!(
                "Cannot {} experiment {experiment_id}: it is already {}",
                if stage == LifecycleStage::Deleted {
                    "delete"
                } else {
                    "restore"
                },
                stage.as_str()
            )));
        }
        let now = now_ms();
        sqlx::query("UPDATE experiments SET lifecycle_stage = $1, last_update_time = $2 WHERE experiment_id = $3")
            .bind(stage.as_str())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // Runs follow their experiment into and out of the trash.
        let (from, deleted_time) = match stage {
            LifecycleStage::Deleted => ("active", Some(now)),
            LifecycleStage::Active => ("deleted", None),
        };
        sqlx::query(
            "UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE experiment_id = $3 AND lifecycle_stage = $4",
        )
        .bind(stage.as_str())
        .bind(deleted_time)
        .bind(id)
        .bind(from)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_run_stage(&self, run_id: &str, stage: LifecycleStage) -> Result<()> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        Self::run_stage(&mut tx, run_id).await?;
        let deleted_time = (stage == LifecycleStage::Deleted).then(now_ms);
        sqlx::query("UPDATE runs SET lifecycle_stage = $1, deleted_time = $2 WHERE run_uuid = $3")
            .bind(stage.as_str())
            .bind(deleted_time)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl MetadataStore for Store {
    async fn create_experiment(&self, new: NewExperiment) -> Result<String> {
        validate::name("experiment", &new.name)?;
        new.tags.iter().try_for_each(validate::experiment_tag)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT experiment_id FROM experiments WHERE name = $1")
                .bind(&new.name)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(experiment_exists(&new.name));
        }
        let now = now_ms();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time)
             VALUES ($1, '', 'active', $2, $3) RETURNING experiment_id",
        )
        .bind(&new.name)
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_violation_as(e, experiment_exists(&new.name)))?;
        let location = match new.artifact_location.filter(|l| !l.is_empty()) {
            Some(l) => l,
            None => format!("mlflow-artifacts:/{id}"),
        };
        sqlx::query("UPDATE experiments SET artifact_location = $1 WHERE experiment_id = $2")
            .bind(&location)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for t in &new.tags {
            sqlx::query(
                "INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
            )
            .bind(id)
            .bind(&t.key)
            .bind(&t.value)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id.to_string())
    }

    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let id = parse_experiment_id(experiment_id)?;
        let mut conn = self.conns.read().await?;
        Self::experiment_row(&mut conn, id)
            .await?
            .ok_or_else(|| experiment_not_found(experiment_id))
    }

    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        let mut conn = self.conns.read().await?;
        let id: Option<i64> =
            sqlx::query_scalar("SELECT experiment_id FROM experiments WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *conn)
                .await?;
        let not_found = || Error::NotFound(format!("Could not find experiment with name '{name}'"));
        let id = id.ok_or_else(not_found)?;
        Self::experiment_row(&mut conn, id)
            .await?
            .ok_or_else(not_found)
    }

    async fn search_experiments(&self, query: &ExperimentQuery) -> Result<Page<Experiment>> {
        let limit = check_page_size(query.max_results, MAX_SEARCH_RESULTS)?;
        let offset = page_token::decode(query.page_token.as_deref())?;
        let (select, filter, order, mut binds) =
            EXPERIMENTS.filter_and_order(DIALECT, &query.filter.clauses, &query.order_by)?;
        let stages = binds.stages(query.view_type);
        let page = binds.page(limit, offset);
        let sql = format!(
            "SELECT * FROM (SELECT e.*{select} FROM experiments e WHERE 1 = 1{filter} \
             AND e.lifecycle_stage IN ({stages})) AS q \
             ORDER BY {order}creation_time DESC, experiment_id ASC {page}"
        );
        let mut conn = self.conns.read().await?;
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&mut *conn)
            .await?;
        let mut items = Vec::with_capacity(rows.len().min(limit));
        for row in rows.iter().take(limit) {
            let mut e = experiment_from_row(row)?;
            let id: i64 = row.try_get("experiment_id")?;
            e.tags = Self::experiment_tags(&mut conn, id).await?;
            items.push(e);
        }
        let next_page_token = (rows.len() > limit).then(|| page_token::encode(offset + limit));
        Ok(Page {
            items,
            next_page_token,
        })
    }

    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        validate::name("experiment", new_name)?;
        let id = parse_experiment_id(experiment_id)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let Some(exp) = Self::experiment_row(&mut tx, id).await? else {
            return Err(experiment_not_found(experiment_id));
        };
        if exp.lifecycle_stage != LifecycleStage::Active {
            return Err(Error::invalid(format!(
                "Cannot rename a non-active experiment: {experiment_id} is deleted"
            )));
        }
        let taken: Option<i64> = sqlx::query_scalar(
            "SELECT experiment_id FROM experiments WHERE name = $1 AND experiment_id != $2",
        )
        .bind(new_name)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            return Err(experiment_exists(new_name));
        }
        sqlx::query(
            "UPDATE experiments SET name = $1, last_update_time = $2 WHERE experiment_id = $3",
        )
        .bind(new_name)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_violation_as(e, experiment_exists(new_name)))?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        self.set_experiment_stage(experiment_id, LifecycleStage::Deleted)
            .await
    }

    async fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        self.set_experiment_stage(experiment_id, LifecycleStage::Active)
            .await
    }

    async fn set_experiment_tag(&self, experiment_id: &str, tag: KeyValue) -> Result<()> {
        validate::experiment_tag(&tag)?;
        let id = parse_experiment_id(experiment_id)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        Self::active_experiment(&mut tx, id, experiment_id).await?;
        sqlx::query(
            "INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
        )
        .bind(id)
        .bind(&tag.key)
        .bind(&tag.value)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE experiments SET last_update_time = $1 WHERE experiment_id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn create_run(&self, new: NewRun) -> Result<Run> {
        new.tags.iter().try_for_each(validate::tag)?;
        let run_name = new
            .run_name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| {
                new.tags
                    .iter()
                    .find(|t| t.key == RUN_NAME_TAG)
                    .map(|t| t.value.clone())
            })
            .unwrap_or_else(generated_run_name);
        validate::name("run", &run_name)?;
        let exp_id = parse_experiment_id(&new.experiment_id)?;
        let run_id = new_run_id();
        let start_time = new.start_time.unwrap_or_else(now_ms);
        // The run and its tags: one round trip on SQLite. The run is inserted only into an
        // active experiment, under the experiment's artifact location; otherwise its tags'
        // inserts fail (foreign key) and the experiment is looked up for the error.
        let mut script = Script::default();
        script.push(DIALECT, |binds| {
            let values = [
                binds.push(Bind::Text(run_id.clone())),
                binds.push(Bind::Int(exp_id)),
                binds.push(Bind::Text(run_name.clone())),
                binds.push(Bind::Text(new.user_id.clone())),
                binds.push(Bind::Int(start_time)),
            ];
            let [run, exp, name, user, start] = &values;
            format!(
                "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time,
                                   end_time, deleted_time, artifact_uri, lifecycle_stage)
                 SELECT {run}, experiment_id, {name}, {user}, 'RUNNING', {start}, NULL, NULL,
                        rtrim(artifact_location, '/') || '/' || {run} || '/artifacts', 'active'
                 FROM experiments WHERE experiment_id = {exp} AND lifecycle_stage = 'active'
                 RETURNING artifact_uri"
            )
        });
        let mut tags = latest_per_key(new.tags.into_iter().filter(|t| t.key != RUN_NAME_TAG));
        tags.push(KeyValue::new(RUN_NAME_TAG, &run_name));
        Self::tag_statements(&mut script, &run_id, &tags.iter().collect::<Vec<_>>());
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let rows = match run_script(&mut tx, &script).await {
            Ok(rows) => rows,
            Err(e) => {
                drop(tx);
                let mut conn = self.conns.read().await?;
                Self::active_experiment(&mut conn, exp_id, &new.experiment_id).await?;
                return Err(e);
            }
        };
        let artifact_uri: String = rows
            .first()
            .ok_or_else(|| Error::Internal("a new run's insert returned no row".into()))?
            .try_get("artifact_uri")?;
        tx.commit().await?;
        // The run as stored: these values, no metrics, params or model outputs yet, and
        // exactly these tags.
        Ok(Run {
            info: RunInfo {
                run_id,
                experiment_id: exp_id.to_string(),
                run_name,
                user_id: new.user_id,
                status: RunStatus::Running,
                start_time: Some(start_time),
                end_time: None,
                artifact_uri,
                lifecycle_stage: LifecycleStage::Active,
            },
            metrics: Vec::new(),
            params: Vec::new(),
            tags,
            model_outputs: Vec::new(),
            dataset_inputs: Vec::new(),
            model_inputs: Vec::new(),
        })
    }

    async fn get_run(&self, run_id: &str) -> Result<Run> {
        let mut binds = Binds::default();
        let id = binds.push(Bind::Text(run_id.to_owned()));
        let pages = format!("SELECT r.*, 1 AS n FROM runs r WHERE r.run_uuid = {id}");
        let mut conn = self.conns.read().await?;
        let mut runs = Self::runs_with_data(&mut conn, &pages, &binds).await?;
        runs.pop().ok_or_else(|| run_not_found(run_id))
    }

    async fn update_run(&self, run_id: &str, update: RunUpdate) -> Result<RunInfo> {
        if let Some(name) = &update.run_name {
            validate::name("run", name)?;
        }
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        Self::require_active_run(&mut tx, run_id).await?;
        if let Some(status) = update.status {
            sqlx::query("UPDATE runs SET status = $1 WHERE run_uuid = $2")
                .bind(status.as_str())
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(end) = update.end_time {
            sqlx::query("UPDATE runs SET end_time = $1 WHERE run_uuid = $2")
                .bind(end)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(name) = update.run_name.as_ref().filter(|n| !n.is_empty()) {
            sqlx::query("UPDATE runs SET name = $1 WHERE run_uuid = $2")
                .bind(name)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
            let mut script = Script::default();
            Self::tag_statements(&mut script, run_id, &[&KeyValue::new(RUN_NAME_TAG, name)]);
            run_script(&mut tx, &script).await?;
        }
        let info = Self::run_info(&mut tx, run_id).await?;
        tx.commit().await?;
        Ok(info)
    }

    async fn delete_run(&self, run_id: &str) -> Result<()> {
        self.set_run_stage(run_id, LifecycleStage::Deleted).await
    }

    async fn restore_run(&self, run_id: &str) -> Result<()> {
        self.set_run_stage(run_id, LifecycleStage::Active).await
    }

    async fn log_batch(&self, run_id: &str, batch: LogBatch) -> Result<()> {
        validate::batch(&batch)?;
        // The same key twice in one batch must agree (MLflow rejects the batch otherwise).
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for p in &batch.params {
            let prev = seen.insert(&p.key, &p.value);
            if let Some(prev) = prev.filter(|prev| *prev != p.value) {
                return Err(Error::invalid(format!(
                    "Duplicate parameter keys have been submitted: param '{}' has values '{prev}' and '{}'",
                    p.key, p.value
                )));
            }
        }
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        // One round trip on SQLite: the run's stage (the first row the script returns, if the
        // run exists), metrics, tags, the run name, then the params last, whose inserted keys
        // are the other rows it returns. A missing run fails the inserts (foreign keys) or, in
        // an empty batch, returns no stage; a deleted run's writes are rolled back.
        let mut script = Script::default();
        script.push(DIALECT, |binds| {
            let run = binds.push(Bind::Text(run_id.to_owned()));
            format!("SELECT lifecycle_stage FROM runs WHERE run_uuid = {run}")
        });
        Self::metric_statements(&mut script, run_id, &batch.metrics);
        Self::model_metric_statements(&mut script, run_id, &batch.model_metrics);
        Self::tag_statements(&mut script, run_id, &latest_per_key(&batch.tags));
        if let Some(name) = batch
            .tags
            .iter()
            .rev()
            .find(|t| t.key == RUN_NAME_TAG && !t.value.is_empty())
        {
            script.push(DIALECT, |binds| {
                let name = binds.push(Bind::Text(name.value.clone()));
                let run = binds.push(Bind::Text(run_id.to_owned()));
                format!("UPDATE runs SET name = {name} WHERE run_uuid = {run}")
            });
        }
        let distinct_params = Self::param_statements(&mut script, run_id, &batch.params);
        let rows = match run_script(&mut tx, &script).await {
            Ok(rows) => rows,
            Err(e) => {
                // Rolled back; a missing or deleted run is the error to report.
                drop(tx);
                let mut conn = self.conns.read().await?;
                Self::require_active_run(&mut conn, run_id).await?;
                return Err(e);
            }
        };
        let stage = rows
            .first()
            .and_then(|r| r.try_get::<String, _>("lifecycle_stage").ok())
            .ok_or_else(|| run_not_found(run_id))?;
        Self::require_active(run_id, LifecycleStage::parse(&stage)?)?;
        let inserted = rows.len() - 1;
        if inserted < distinct_params {
            Self::check_params(&mut tx, run_id, &batch.params).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_run_tag(&self, run_id: &str, key: &str) -> Result<()> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        Self::require_active_run(&mut tx, run_id).await?;
        let done = sqlx::query("DELETE FROM tags WHERE run_uuid = $1 AND key = $2")
            .bind(run_id)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!(
                "No tag with name: {key} in run with id {run_id}"
            )));
        }
        tx.commit().await?;
        Ok(())
    }

    async fn log_model_outputs(&self, run_id: &str, outputs: Vec<ModelOutput>) -> Result<()> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        Self::require_active_run(&mut tx, run_id).await?;
        for o in &outputs {
            sqlx::query(
                "INSERT INTO run_model_outputs (run_uuid, model_id, step) VALUES ($1, $2, $3)
                 ON CONFLICT (run_uuid, model_id) DO UPDATE SET step = excluded.step",
            )
            .bind(run_id)
            .bind(&o.model_id)
            .bind(o.step)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn log_inputs(
        &self,
        run_id: &str,
        datasets: Vec<DatasetInput>,
        models: Vec<String>,
    ) -> Result<()> {
        datasets.iter().try_for_each(validate::dataset_input)?;
        if let Some(i) = models.iter().position(String::is_empty) {
            return Err(Error::invalid(format!(
                "models[{i}]: a model input needs a non-empty model_id"
            )));
        }
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let run: Option<(i64, String)> =
            sqlx::query_as("SELECT experiment_id, lifecycle_stage FROM runs WHERE run_uuid = $1")
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await?;
        let (experiment_id, stage) = run.ok_or_else(|| run_not_found(run_id))?;
        Self::require_active(run_id, LifecycleStage::parse(&stage)?)?;
        let mut seen = std::collections::HashSet::new();
        for input in &datasets {
            let d = &input.dataset;
            if !seen.insert((d.name.as_str(), d.digest.as_str())) {
                continue;
            }
            sqlx::query(
                "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type,
                                       source, schema, profile)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (experiment_id, name, digest) DO NOTHING",
            )
            .bind(new_run_id()) // a dataset id has a run id's form
            .bind(experiment_id)
            .bind(&d.name)
            .bind(&d.digest)
            .bind(&d.source_type)
            .bind(&d.source)
            .bind(&d.schema)
            .bind(&d.profile)
            .execute(&mut *tx)
            .await?;
            let added: Option<String> = sqlx::query_scalar(
                "INSERT INTO run_dataset_inputs (run_uuid, dataset_uuid)
                 SELECT $1, dataset_uuid FROM datasets
                 WHERE experiment_id = $2 AND name = $3 AND digest = $4
                 ON CONFLICT (run_uuid, dataset_uuid) DO NOTHING
                 RETURNING dataset_uuid",
            )
            .bind(run_id)
            .bind(experiment_id)
            .bind(&d.name)
            .bind(&d.digest)
            .fetch_optional(&mut *tx)
            .await?;
            // Tags belong to the input as first logged (MLflow adds none to an existing one).
            let Some(dataset_uuid) = added else {
                continue;
            };
            for tag in latest_per_key(&input.tags) {
                sqlx::query(
                    "INSERT INTO dataset_input_tags (run_uuid, dataset_uuid, key, value)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(run_id)
                .bind(&dataset_uuid)
                .bind(&tag.key)
                .bind(&tag.value)
                .execute(&mut *tx)
                .await?;
            }
        }
        for model_id in &models {
            sqlx::query(
                "INSERT INTO run_model_inputs (run_uuid, model_id) VALUES ($1, $2)
                 ON CONFLICT (run_uuid, model_id) DO NOTHING",
            )
            .bind(run_id)
            .bind(model_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: usize,
        page_token: Option<&str>,
    ) -> Result<Page<Metric>> {
        let limit = check_page_size(max_results, MAX_HISTORY_RESULTS)?;
        let offset = page_token::decode(page_token)?;
        // The run's stage and the page of its history as one JSON array: one row.
        let sql = format!(
            "SELECT (SELECT lifecycle_stage FROM runs WHERE run_uuid = $1) AS stage, \
             (SELECT {} FROM (SELECT m.*, m.rowid AS r FROM metrics m \
              WHERE m.run_uuid = $1 AND m.key = $2 ORDER BY m.timestamp, m.step, m.rowid \
              LIMIT $3 OFFSET $4) AS c) AS entries",
            DIALECT.json_text(
                &DIALECT.json_list(&metric_json_values(DIALECT), "c.timestamp, c.step, c.r")
            )
        );
        let mut conn = self.conns.read().await?;
        let row = sqlx::query(&sql)
            .bind(run_id)
            .bind(key)
            .bind(limit as i64 + 1)
            .bind(offset as i64)
            .fetch_one(&mut *conn)
            .await?;
        let stage: Option<String> = row.try_get("stage")?;
        if stage.is_none() {
            return Err(run_not_found(run_id));
        }
        let mut items = metrics_from_json(row.try_get("entries")?)?;
        let next_page_token = (items.len() > limit).then(|| page_token::encode(offset + limit));
        items.truncate(limit);
        Ok(Page {
            items,
            next_page_token,
        })
    }

    async fn search_runs(&self, query: &RunQuery) -> Result<Page<Run>> {
        let limit = check_page_size(query.max_results, MAX_SEARCH_RESULTS)?;
        let offset = page_token::decode(query.page_token.as_deref())?;
        let experiment_ids: Vec<i64> = query
            .experiment_ids
            .iter()
            .filter_map(|id| id.trim().parse().ok())
            .collect();
        if experiment_ids.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next_page_token: None,
            });
        }
        let (select, filter, order, mut binds) =
            RUNS.filter_and_order(DIALECT, &query.filter.clauses, &query.order_by)?;
        let ids = binds.list(experiment_ids.iter().map(|id| Bind::Int(*id)));
        let stages = binds.stages(query.view_type);
        let page = binds.page(limit, offset);
        let pages = format!(
            "SELECT q.*, row_number() OVER (ORDER BY {order}start_time IS NULL, \
             start_time DESC, run_uuid ASC) - {offset} AS n FROM (SELECT r.*{select} FROM runs r \
             WHERE 1 = 1{filter} AND r.experiment_id IN ({ids}) \
             AND r.lifecycle_stage IN ({stages})) AS q ORDER BY n {page}"
        );
        let mut conn = self.conns.read().await?;
        let mut items = Self::runs_with_data(&mut conn, &pages, &binds).await?;
        let next_page_token = (items.len() > limit).then(|| page_token::encode(offset + limit));
        items.truncate(limit);
        Ok(Page {
            items,
            next_page_token,
        })
    }

    async fn create_logged_model(&self, new: NewLoggedModel) -> Result<LoggedModel> {
        self.create_logged_model_impl(new).await
    }

    async fn get_logged_model(&self, model_id: &str, allow_deleted: bool) -> Result<LoggedModel> {
        self.get_logged_model_impl(model_id, allow_deleted).await
    }

    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        self.finalize_logged_model_impl(model_id, status).await
    }

    async fn delete_logged_model(&self, model_id: &str) -> Result<()> {
        self.delete_logged_model_impl(model_id).await
    }

    async fn set_logged_model_tags(&self, model_id: &str, tags: Vec<KeyValue>) -> Result<()> {
        self.set_logged_model_tags_impl(model_id, tags).await
    }

    async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        self.delete_logged_model_tag_impl(model_id, key).await
    }

    async fn log_logged_model_params(&self, model_id: &str, params: Vec<KeyValue>) -> Result<()> {
        self.log_logged_model_params_impl(model_id, params).await
    }

    async fn search_logged_models(&self, query: &LoggedModelQuery) -> Result<Page<LoggedModel>> {
        self.search_logged_models_impl(query).await
    }

    async fn create_registered_model(&self, new: NewRegisteredModel) -> Result<RegisteredModel> {
        self.create_registered_model_impl(new).await
    }

    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        self.get_registered_model_impl(name).await
    }

    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        self.rename_registered_model_impl(name, new_name).await
    }

    async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel> {
        self.update_registered_model_impl(name, description).await
    }

    async fn delete_registered_model(&self, name: &str) -> Result<()> {
        self.delete_registered_model_impl(name).await
    }

    async fn search_registered_models(
        &self,
        query: &RegisteredModelQuery,
    ) -> Result<Page<RegisteredModel>> {
        self.search_registered_models_impl(query).await
    }

    async fn set_registered_model_tag(&self, name: &str, tag: KeyValue) -> Result<()> {
        self.set_registered_model_tag_impl(name, tag).await
    }

    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        self.delete_registered_model_tag_impl(name, key).await
    }

    async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
    ) -> Result<()> {
        self.set_registered_model_alias_impl(name, alias, version)
            .await
    }

    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        self.delete_registered_model_alias_impl(name, alias).await
    }

    async fn record_promotion(&self, attempt: NewPromotion) -> Result<Promotion> {
        self.record_promotion_impl(attempt).await
    }

    async fn remove_protected_alias(
        &self,
        name: &str,
        alias: &str,
        actor: Option<&str>,
    ) -> Result<Option<Promotion>> {
        self.remove_protected_alias_impl(name, alias, actor).await
    }

    async fn list_promotions(&self, name: &str) -> Result<Vec<Promotion>> {
        self.list_promotions_impl(name).await
    }

    async fn add_log_segment(&self, segment: LogSegment) -> Result<()> {
        self.add_log_segment_impl(segment).await
    }

    async fn find_log_segments(&self, query: &LogSegmentQuery) -> Result<Vec<LogSegment>> {
        self.find_log_segments_impl(query).await
    }

    async fn remove_log_segments(&self, paths: &[String]) -> Result<()> {
        self.remove_log_segments_impl(paths).await
    }

    async fn create_deployment(&self, new: NewDeployment) -> Result<DeploymentRecord> {
        self.create_deployment_impl(new).await
    }

    async fn get_deployment(&self, name: &str) -> Result<DeploymentRecord> {
        self.get_deployment_impl(name).await
    }

    async fn list_deployments(&self) -> Result<Vec<DeploymentRecord>> {
        self.list_deployments_impl().await
    }

    async fn update_deployment(
        &self,
        name: &str,
        update: DeploymentUpdate,
    ) -> Result<Option<DeploymentRecord>> {
        self.update_deployment_impl(name, update).await
    }

    async fn acquire_deployment_lease(&self, name: &str, owner: &str, ttl_ms: i64) -> Result<bool> {
        self.acquire_deployment_lease_impl(name, owner, ttl_ms)
            .await
    }

    async fn release_deployment_lease(&self, name: &str, owner: &str) -> Result<()> {
        self.release_deployment_lease_impl(name, owner).await
    }

    async fn deployment_events(&self, name: &str) -> Result<Vec<DeploymentEvent>> {
        self.deployment_events_impl(name).await
    }

    async fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        self.get_model_version_by_alias_impl(name, alias).await
    }

    async fn get_latest_versions(
        &self,
        name: &str,
        stages: &[ModelStage],
    ) -> Result<Vec<ModelVersion>> {
        self.get_latest_versions_impl(name, stages).await
    }

    async fn create_model_version(&self, new: NewModelVersion) -> Result<ModelVersion> {
        self.create_model_version_impl(new).await
    }

    async fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion> {
        self.get_model_version_impl(name, version).await
    }

    async fn update_model_version(
        &self,
        name: &str,
        version: &str,
        description: &str,
    ) -> Result<ModelVersion> {
        self.update_model_version_impl(name, version, description)
            .await
    }

    async fn transition_model_version_stage(
        &self,
        name: &str,
        version: &str,
        stage: ModelStage,
        archive_existing: bool,
    ) -> Result<ModelVersion> {
        self.transition_model_version_stage_impl(name, version, stage, archive_existing)
            .await
    }

    async fn delete_model_version(&self, name: &str, version: &str) -> Result<()> {
        self.delete_model_version_impl(name, version).await
    }

    async fn search_model_versions(&self, query: &ModelVersionQuery) -> Result<Page<ModelVersion>> {
        self.search_model_versions_impl(query).await
    }

    async fn set_model_version_tag(&self, name: &str, version: &str, tag: KeyValue) -> Result<()> {
        self.set_model_version_tag_impl(name, version, tag).await
    }

    async fn delete_model_version_tag(&self, name: &str, version: &str, key: &str) -> Result<()> {
        self.delete_model_version_tag_impl(name, version, key).await
    }
}
