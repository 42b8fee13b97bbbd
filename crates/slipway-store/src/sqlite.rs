//! The embedded metadata store: one SQLite file in WAL mode, schema migrations applied at open.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqliteConnection, Transaction};
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::metadata::MetadataStore;
use crate::model::{
    Experiment, ExperimentQuery, KeyValue, LifecycleStage, LogBatch, Metric, ModelOutput,
    NewExperiment, NewRun, Page, Run, RunInfo, RunQuery, RunStatus, RunUpdate, page_token,
};
use crate::registry::{
    LoggedModel, LoggedModelQuery, LoggedModelStatus, ModelStage, ModelVersion, ModelVersionQuery,
    NewLoggedModel, NewModelVersion, NewRegisteredModel, RegisteredModel, RegisteredModelQuery,
};
use crate::search::{Attribute, Clause, Condition, Field, OrderBy, like_to_glob};
use crate::validate;

mod registry;

/// Schema migrations, applied in order at open; never edit one that has shipped.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "tracking",
        include_str!("../migrations/sqlite/0001_tracking.sql"),
    ),
    (
        2,
        "models",
        include_str!("../migrations/sqlite/0002_models.sql"),
    ),
];

/// Largest page `search_runs` and `search_experiments` return.
pub const MAX_SEARCH_RESULTS: usize = 50_000;
/// Largest page of metric history.
pub const MAX_HISTORY_RESULTS: usize = 25_000;

/// The tag that mirrors a run's name.
const RUN_NAME_TAG: &str = "mlflow.runName";

/// Metadata in one SQLite file.
///
/// Reads run concurrently (WAL); writes are serialized by an in-process lock so that a
/// transaction never fails on a busy database, and each write is one transaction.
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Mutex<()>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn new_run_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn generated_run_name() -> String {
    const ADJECTIVES: &[&str] = &[
        "amber", "bold", "brisk", "calm", "clever", "crisp", "eager", "gentle", "keen", "lucid",
        "merry", "nimble", "quiet", "rapid", "steady", "sunny", "swift", "tidy", "vivid", "wise",
    ];
    const NOUNS: &[&str] = &[
        "heron", "otter", "finch", "lynx", "maple", "cedar", "comet", "delta", "ember", "fjord",
        "gull", "harbor", "island", "kestrel", "lagoon", "marlin", "orca", "pine", "reef", "tern",
    ];
    let r = rand::random::<u64>() as usize;
    format!(
        "{}-{}-{}",
        ADJECTIVES[r % ADJECTIVES.len()],
        NOUNS[(r / 31) % NOUNS.len()],
        (r / 1013) % 1000
    )
}

fn experiment_not_found(id: &str) -> Error {
    Error::NotFound(format!("No Experiment with id={id} exists"))
}

fn run_not_found(id: &str) -> Error {
    Error::NotFound(format!("Run with id={id} not found"))
}

fn parse_experiment_id(id: &str) -> Result<i64> {
    id.trim().parse().map_err(|_| experiment_not_found(id))
}

/// A value bound to a `?` placeholder.
#[derive(Debug, Clone)]
enum Bind {
    Text(String),
    Real(f64),
    Int(i64),
}

type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

fn bind_all<'q>(mut q: SqliteQuery<'q>, binds: &[Bind]) -> SqliteQuery<'q> {
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s.clone()),
            Bind::Real(v) => q.bind(*v),
            Bind::Int(v) => q.bind(*v),
        };
    }
    q
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// How a search's clauses map onto one entity's tables.
struct SqlTarget {
    /// Its tags table.
    tags: &'static str,
    /// Its params table, if it has params.
    params: Option<&'static str>,
    /// Its latest-metrics table, if it has metrics.
    metrics: Option<&'static str>,
    /// Joins a child row `c` to the main row (tags, params and metrics share the key columns).
    correlate: &'static str,
    /// Whether `tags.k != 'v'` also matches rows without the tag (MLflow's registry does;
    /// its run search does not).
    ne_matches_missing: bool,
    /// Column for each attribute it has.
    column: fn(Attribute) -> Option<&'static str>,
}

const RUNS: SqlTarget = SqlTarget {
    tags: "tags",
    params: Some("params"),
    metrics: Some("latest_metrics"),
    correlate: "c.run_uuid = r.run_uuid",
    ne_matches_missing: false,
    column: |a| match a {
        Attribute::RunId => Some("r.run_uuid"),
        Attribute::RunName => Some("r.name"),
        Attribute::Status => Some("r.status"),
        Attribute::UserId => Some("r.user_id"),
        Attribute::ArtifactUri => Some("r.artifact_uri"),
        Attribute::StartTime => Some("r.start_time"),
        Attribute::EndTime => Some("r.end_time"),
        Attribute::Name
        | Attribute::ExperimentId
        | Attribute::CreationTime
        | Attribute::LastUpdateTime
        | Attribute::Version
        | Attribute::SourcePath
        | Attribute::ModelId
        | Attribute::SourceRunId
        | Attribute::ModelType => None,
    },
};

const EXPERIMENTS: SqlTarget = SqlTarget {
    tags: "experiment_tags",
    params: None,
    metrics: None,
    correlate: "c.experiment_id = e.experiment_id",
    ne_matches_missing: false,
    column: |a| match a {
        Attribute::Name => Some("e.name"),
        Attribute::ExperimentId => Some("e.experiment_id"),
        Attribute::CreationTime => Some("e.creation_time"),
        Attribute::LastUpdateTime => Some("e.last_update_time"),
        Attribute::RunId
        | Attribute::RunName
        | Attribute::Status
        | Attribute::UserId
        | Attribute::ArtifactUri
        | Attribute::StartTime
        | Attribute::EndTime
        | Attribute::Version
        | Attribute::SourcePath
        | Attribute::ModelId
        | Attribute::SourceRunId
        | Attribute::ModelType => None,
    },
};

impl SqlTarget {
    fn attribute(&self, a: Attribute) -> Result<&'static str> {
        (self.column)(a)
            .ok_or_else(|| Error::invalid(format!("attribute {a:?} cannot be used here")))
    }

    /// `(table, key column filter)` for a keyed child table, correlated with the main row.
    fn child(&self, field: &Field) -> Result<(&'static str, String)> {
        let table = match field {
            Field::Metric(_) => self.metrics,
            Field::Param(_) => self.params,
            Field::Tag(_) => Some(self.tags),
            Field::Attribute(_) => None,
        }
        .ok_or_else(|| Error::invalid(format!("{field:?} cannot be used here")))?;
        Ok((table, format!("{} AND c.key = ?", self.correlate)))
    }

    fn clause(&self, clause: &Clause, binds: &mut Vec<Bind>) -> Result<String> {
        let bad = || {
            Error::invalid(format!(
                "unsupported condition {:?} on {:?}",
                clause.condition, clause.field
            ))
        };
        match &clause.field {
            Field::Attribute(a) => {
                let col = self.attribute(*a)?;
                match &clause.condition {
                    Condition::Number(cmp, v) => {
                        binds.push(Bind::Real(*v));
                        Ok(format!("{col} {} ?", cmp.sql()))
                    }
                    Condition::Text { negated, value } => {
                        binds.push(Bind::Text(value.clone()));
                        Ok(format!("{col} {} ?", if *negated { "!=" } else { "=" }))
                    }
                    Condition::Like {
                        pattern,
                        case_insensitive,
                    } => Ok(like_sql(col, pattern, *case_insensitive, binds)),
                    Condition::In { negated, values } => {
                        binds.extend(values.iter().cloned().map(Bind::Text));
                        Ok(format!(
                            "{col} {}IN ({})",
                            if *negated { "NOT " } else { "" },
                            placeholders(values.len())
                        ))
                    }
                    Condition::Present(_) => Err(bad()),
                }
            }
            field @ (Field::Metric(key) | Field::Param(key) | Field::Tag(key)) => {
                let (table, correlate) = self.child(field)?;
                binds.push(Bind::Text(key.clone()));
                if let (
                    Condition::Text {
                        negated: true,
                        value,
                    },
                    Field::Tag(_),
                    true,
                ) = (&clause.condition, field, self.ne_matches_missing)
                {
                    binds.push(Bind::Text(value.clone()));
                    return Ok(format!(
                        "NOT EXISTS (SELECT 1 FROM {table} c WHERE {correlate} AND c.value = ?)"
                    ));
                }
                let test = match (&clause.condition, field) {
                    (Condition::Number(cmp, v), Field::Metric(_)) => {
                        binds.push(Bind::Real(*v));
                        format!(" AND c.is_nan = 0 AND c.value {} ?", cmp.sql())
                    }
                    (Condition::Text { negated, value }, Field::Param(_) | Field::Tag(_)) => {
                        binds.push(Bind::Text(value.clone()));
                        format!(" AND c.value {} ?", if *negated { "!=" } else { "=" })
                    }
                    (
                        Condition::Like {
                            pattern,
                            case_insensitive,
                        },
                        Field::Param(_) | Field::Tag(_),
                    ) => format!(
                        " AND {}",
                        like_sql("c.value", pattern, *case_insensitive, binds)
                    ),
                    (Condition::Present(present), Field::Param(_) | Field::Tag(_)) => {
                        let exists = if *present { "EXISTS" } else { "NOT EXISTS" };
                        return Ok(format!(
                            "{exists} (SELECT 1 FROM {table} c WHERE {correlate})"
                        ));
                    }
                    _ => return Err(bad()),
                };
                Ok(format!(
                    "EXISTS (SELECT 1 FROM {table} c WHERE {correlate}{test})"
                ))
            }
        }
    }

    /// The expression a sort key sorts on (NULL where the row lacks it).
    fn sort_expr(&self, field: &Field, binds: &mut Vec<Bind>) -> Result<String> {
        match field {
            Field::Attribute(a) => Ok(self.attribute(*a)?.to_string()),
            Field::Metric(key) | Field::Param(key) | Field::Tag(key) => {
                let (table, correlate) = self.child(field)?;
                binds.push(Bind::Text(key.clone()));
                let nan = if matches!(field, Field::Metric(_)) {
                    " AND c.is_nan = 0"
                } else {
                    ""
                };
                Ok(format!(
                    "(SELECT c.value FROM {table} c WHERE {correlate}{nan})"
                ))
            }
        }
    }

    fn filter_and_order(
        &self,
        clauses: &[Clause],
        order_by: &[OrderBy],
    ) -> Result<(String, String, String, Vec<Bind>)> {
        let mut binds = Vec::new();
        let mut select = String::new();
        let mut order = String::new();
        for (i, o) in order_by.iter().enumerate() {
            let expr = self.sort_expr(&o.field, &mut binds)?;
            select.push_str(&format!(", {expr} AS s{i}"));
            let dir = if o.ascending { "ASC" } else { "DESC" };
            order.push_str(&format!("s{i} IS NULL, s{i} {dir}, "));
        }
        let mut filter = String::new();
        for c in clauses {
            filter.push_str(" AND ");
            filter.push_str(&self.clause(c, &mut binds)?);
        }
        Ok((select, filter, order, binds))
    }
}

fn like_sql(col: &str, pattern: &str, case_insensitive: bool, binds: &mut Vec<Bind>) -> String {
    if case_insensitive {
        binds.push(Bind::Text(pattern.to_string()));
        format!("LOWER({col}) LIKE LOWER(?)")
    } else {
        binds.push(Bind::Text(like_to_glob(pattern)));
        format!("{col} GLOB ?")
    }
}

fn store_metric_value(v: f64) -> (f64, i64) {
    if v.is_nan() { (0.0, 1) } else { (v, 0) }
}

fn metric_from_row(row: &SqliteRow) -> Result<Metric> {
    let is_nan: i64 = row.try_get("is_nan")?;
    let value: f64 = row.try_get("value")?;
    Ok(Metric {
        key: row.try_get("key")?,
        value: if is_nan != 0 { f64::NAN } else { value },
        timestamp: row.try_get("timestamp")?,
        step: row.try_get("step")?,
    })
}

/// Metrics from the JSON array `run_data` aggregates: `[key, quote(value), is_nan, timestamp, step]`.
fn metrics_from_json(entries: &str) -> Result<Vec<Metric>> {
    let rows: Vec<(String, String, i64, i64, i64)> = serde_json::from_str(entries)
        .map_err(|e| Error::Internal(format!("latest_metrics: unreadable aggregate: {e}")))?;
    rows.into_iter()
        .map(|(key, value, is_nan, timestamp, step)| {
            let value = if is_nan != 0 {
                f64::NAN
            } else {
                parse_quoted_real(&value).ok_or_else(|| {
                    Error::Internal(format!(
                        "latest_metrics: value {value:?} of metric {key:?} is not a number"
                    ))
                })?
            };
            Ok(Metric {
                key,
                value,
                timestamp,
                step,
            })
        })
        .collect()
}

/// Reads a REAL as SQLite's `quote()` writes it (`0.5`, `1.0e-300`, `Inf`, `-Inf`).
fn parse_quoted_real(text: &str) -> Option<f64> {
    match text {
        "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

/// Key/value pairs from the JSON array `run_data` aggregates from `table`.
fn key_values_from_json(table: &str, entries: &str) -> Result<Vec<KeyValue>> {
    let rows: Vec<(String, String)> = serde_json::from_str(entries)
        .map_err(|e| Error::Internal(format!("{table}: unreadable aggregate: {e}")))?;
    Ok(rows.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect())
}

fn run_info_from_row(row: &SqliteRow) -> Result<RunInfo> {
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

fn experiment_from_row(row: &SqliteRow) -> Result<Experiment> {
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

#[derive(Default)]
struct RunData {
    metrics: Vec<Metric>,
    params: Vec<KeyValue>,
    tags: Vec<KeyValue>,
    model_outputs: Vec<ModelOutput>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, switches it to WAL mode and
    /// applies any pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent).await?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        let store = SqliteStore {
            pool,
            writer: Mutex::new(()),
        };
        store.migrate().await?;
        store.ensure_default_experiment().await?;
        Ok(store)
    }

    /// Opens a database from a `sqlite://` URL (as `SqliteConnectOptions` reads it).
    pub async fn open_url(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?;
        Self::open(options.get_filename()).await
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64> {
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM slipway_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(v.unwrap_or(0))
    }

    async fn migrate(&self) -> Result<()> {
        let _w = self.writer.lock().await;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS slipway_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM slipway_migrations")
            .fetch_all(&self.pool)
            .await?;
        for (version, name, sql) in MIGRATIONS {
            if applied.contains(version) {
                continue;
            }
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO slipway_migrations (version, name, applied_at) VALUES (?, ?, ?)",
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
        let _w = self.writer.lock().await;
        let now = now_ms();
        sqlx::query(
            "INSERT OR IGNORE INTO experiments
             (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
             VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active', ?, ?)",
        )
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn begin(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin().await?)
    }

    async fn experiment_tags(conn: &mut SqliteConnection, id: i64) -> Result<Vec<KeyValue>> {
        let rows = sqlx::query(
            "SELECT key, value FROM experiment_tags WHERE experiment_id = ? ORDER BY rowid",
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

    async fn experiment_row(conn: &mut SqliteConnection, id: i64) -> Result<Option<Experiment>> {
        let row = sqlx::query("SELECT * FROM experiments WHERE experiment_id = ?")
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
    async fn run_stage(conn: &mut SqliteConnection, run_id: &str) -> Result<LifecycleStage> {
        let stage: Option<String> =
            sqlx::query_scalar("SELECT lifecycle_stage FROM runs WHERE run_uuid = ?")
                .bind(run_id)
                .fetch_optional(&mut *conn)
                .await?;
        match stage {
            None => Err(run_not_found(run_id)),
            Some(s) => LifecycleStage::parse(&s),
        }
    }

    async fn require_active_run(conn: &mut SqliteConnection, run_id: &str) -> Result<()> {
        match Self::run_stage(conn, run_id).await? {
            LifecycleStage::Active => Ok(()),
            LifecycleStage::Deleted => Err(Error::invalid(format!(
                "The run {run_id} must be in the 'active' state. Current state is deleted."
            ))),
        }
    }

    /// Metrics, params, tags and model outputs of the runs `ids`.
    ///
    /// Metrics, params and tags come back as one row per run holding a JSON array of its
    /// entries (in the order they were written): a search page of 1,000 runs is then a few
    /// thousand rows instead of ~35,000, and per-row driver overhead was most of its cost.
    /// Metric values travel through `quote()`, which SQLite renders with enough digits to
    /// read back the same double.
    async fn run_data(
        conn: &mut SqliteConnection,
        ids: &[String],
    ) -> Result<HashMap<String, RunData>> {
        let mut out: HashMap<String, RunData> = HashMap::new();
        for chunk in ids.chunks(500) {
            let ph = placeholders(chunk.len());
            let binds: Vec<Bind> = chunk.iter().cloned().map(Bind::Text).collect();
            let sql = format!(
                "SELECT run_uuid, json_group_array(json_array(key, quote(value), is_nan, \
                 timestamp, step) ORDER BY rowid) AS entries FROM latest_metrics \
                 WHERE run_uuid IN ({ph}) GROUP BY run_uuid"
            );
            for row in bind_all(sqlx::query(&sql), &binds)
                .fetch_all(&mut *conn)
                .await?
            {
                let id: String = row.try_get("run_uuid")?;
                let entries: &str = row.try_get("entries")?;
                out.entry(id).or_default().metrics = metrics_from_json(entries)?;
            }
            for (table, is_param) in [("params", true), ("tags", false)] {
                let sql = format!(
                    "SELECT run_uuid, json_group_array(json_array(key, value) ORDER BY rowid) \
                     AS entries FROM {table} WHERE run_uuid IN ({ph}) GROUP BY run_uuid"
                );
                for row in bind_all(sqlx::query(&sql), &binds)
                    .fetch_all(&mut *conn)
                    .await?
                {
                    let id: String = row.try_get("run_uuid")?;
                    let entries: &str = row.try_get("entries")?;
                    let kvs = key_values_from_json(table, entries)?;
                    let data = out.entry(id).or_default();
                    if is_param {
                        data.params = kvs;
                    } else {
                        data.tags = kvs;
                    }
                }
            }
            let sql = format!(
                "SELECT run_uuid, model_id, step FROM run_model_outputs WHERE run_uuid IN ({ph}) ORDER BY rowid"
            );
            for row in bind_all(sqlx::query(&sql), &binds)
                .fetch_all(&mut *conn)
                .await?
            {
                let id: String = row.try_get("run_uuid")?;
                out.entry(id).or_default().model_outputs.push(ModelOutput {
                    model_id: row.try_get("model_id")?,
                    step: row.try_get("step")?,
                });
            }
        }
        Ok(out)
    }

    async fn assemble_runs(conn: &mut SqliteConnection, infos: Vec<RunInfo>) -> Result<Vec<Run>> {
        let ids: Vec<String> = infos.iter().map(|i| i.run_id.clone()).collect();
        let mut data = Self::run_data(conn, &ids).await?;
        Ok(infos
            .into_iter()
            .map(|info| {
                let d = data.remove(&info.run_id).unwrap_or_default();
                Run {
                    info,
                    metrics: d.metrics,
                    params: d.params,
                    tags: d.tags,
                    model_outputs: d.model_outputs,
                }
            })
            .collect())
    }

    async fn run_info(conn: &mut SqliteConnection, run_id: &str) -> Result<RunInfo> {
        let row = sqlx::query("SELECT * FROM runs WHERE run_uuid = ?")
            .bind(run_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| run_not_found(run_id))?;
        run_info_from_row(&row)
    }

    async fn upsert_tag(conn: &mut SqliteConnection, run_id: &str, tag: &KeyValue) -> Result<()> {
        sqlx::query(
            "INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?)
             ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value",
        )
        .bind(run_id)
        .bind(&tag.key)
        .bind(&tag.value)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn set_experiment_stage(&self, experiment_id: &str, stage: LifecycleStage) -> Result<()> {
        let id = parse_experiment_id(experiment_id)?;
        let _w = self.writer.lock().await;
        let mut tx = self.begin().await?;
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
        sqlx::query("UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? WHERE experiment_id = ?")
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
            "UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ? AND lifecycle_stage = ?",
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
        let _w = self.writer.lock().await;
        let mut tx = self.begin().await?;
        Self::run_stage(&mut tx, run_id).await?;
        let deleted_time = (stage == LifecycleStage::Deleted).then(now_ms);
        sqlx::query("UPDATE runs SET lifecycle_stage = ?, deleted_time = ? WHERE run_uuid = ?")
            .bind(stage.as_str())
            .bind(deleted_time)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn check_page_size(max_results: usize, limit: usize) -> Result<usize> {
    if max_results == 0 || max_results > limit {
        return Err(Error::invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied: it must be between 1 and {limit}"
        )));
    }
    Ok(max_results)
}

#[async_trait]
impl MetadataStore for SqliteStore {
    async fn create_experiment(&self, new: NewExperiment) -> Result<String> {
        validate::name("experiment", &new.name)?;
        new.tags.iter().try_for_each(validate::experiment_tag)?;
        let _w = self.writer.lock().await;
        let mut tx = self.begin().await?;
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT experiment_id FROM experiments WHERE name = ?")
                .bind(&new.name)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(Error::AlreadyExists(format!(
                "Experiment(name={}) already exists.",
                new.name
            )));
        }
        let now = now_ms();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time)
             VALUES (?, '', 'active', ?, ?) RETURNING experiment_id",
        )
        .bind(&new.name)
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let location = match new.artifact_location.filter(|l| !l.is_empty()) {
            Some(l) => l,
            None => format!("mlflow-artifacts:/{id}"),
        };
        sqlx::query("UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?")
            .bind(&location)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for t in &new.tags {
            sqlx::query(
                "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)
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
        let mut conn = self.pool.acquire().await?;
        Self::experiment_row(&mut conn, id)
            .await?
            .ok_or_else(|| experiment_not_found(experiment_id))
    }

    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        let mut conn = self.pool.acquire().await?;
        let id: Option<i64> =
            sqlx::query_scalar("SELECT experiment_id FROM experiments WHERE name = ?")
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
            EXPERIMENTS.filter_and_order(&query.filter.clauses, &query.order_by)?;
        let stages = query.view_type.stages();
        binds.extend(stages.iter().map(|s| Bind::Text(s.to_string())));
        binds.push(Bind::Int(limit as i64 + 1));
        binds.push(Bind::Int(offset as i64));
        let sql = format!(
            "SELECT * FROM (SELECT e.*{select} FROM experiments e WHERE 1 = 1{filter} \
             AND e.lifecycle_stage IN ({})) \
             ORDER BY {order}creation_time DESC, experiment_id ASC LIMIT ? OFFSET ?",
            placeholders(stages.len())
        );
        let mut conn = self.pool.acquire().await?;
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
        let _w = self.writer.lock().await;
        let mut tx = self.begin().await?;
        let Some(exp) = Self::experiment_row(&mut tx, id).await? else {
            return Err(experiment_not_found(experiment_id));
        };
        if exp.lifecycle_stage != LifecycleStage::Active {
            return Err(Error::invalid(format!(
                "Cannot rename a non-active experiment: {experiment_id} is deleted"
            )));
        }
        let taken: Option<i64> = sqlx::query_scalar(
            "SELECT experiment_id FROM experiments WHERE name = ? AND experiment_id != ?",
        )
        .bind(new_name)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            return Err(Error::AlreadyExists(format!(
                "Experiment(name={new_name}) already exists."
            )));
        }
        sqlx::query(
            "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?",
        )
        .bind(new_name)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
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
        let _w = self.writer.lock().await;
        let mut tx = self.begin().await?;
        let Some(exp) = Self::experiment_row(&mut tx, id).await? else {
            return Err(experiment_not_found(experiment_id));
        };
        if exp.lifecycle_stage != LifecycleStage::Active {
            return Err(Error::invalid(format!(
                "The experiment {experiment_id} must be in the 'active' state. Current state is deleted."
            )));
        }
        sqlx::query(
            "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)
             ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
        )
        .bind(id)
        .bind(&tag.key)
        .bind(&tag.value)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE experiments SET last_update_time = ? WHERE experiment_id = ?")
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
        let _w = self.writer.lock().await;
        let mut tx = self.begin().await?;
        let Some(exp) = Self::experiment_row(&mut tx, exp_id).await? else {
            return Err(experiment_not_found(&new.experiment_id));
        };
        if exp.lifecycle_stage != LifecycleStage::Active {
            return Err(Error::invalid(format!(
                "The experiment {} must be in the 'active' state. Current state is deleted.",
                new.experiment_id
            )));
        }
        let run_id = new_run_id();
        let artifact_uri = format!(
            "{}/{run_id}/artifacts",
            exp.artifact_location.trim_end_matches('/')
        );
        sqlx::query(
            "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time,
                               deleted_time, artifact_uri, lifecycle_stage)
             VALUES (?, ?, ?, ?, 'RUNNING', ?, NULL, NULL, ?, 'active')",
        )
        .bind(&run_id)
        .bind(exp_id)
        .bind(&run_name)
        .bind(&new.user_id)
        .bind(new.start_time.unwrap_or_else(now_ms))
        .bind(&artifact_uri)
        .execute(&mut *tx)
        .await?;
        for t in new.tags.iter().filter(|t| t.key != RUN_NAME_TAG) {
            Self::upsert_tag(&mut tx, &run_id, t).await?;
        }
        Self::upsert_tag(&mut tx, &run_id, &KeyValue::new(RUN_NAME_TAG, &run_name)).await?;
        let info = Self::run_info(&mut tx, &run_id).await?;
        let mut runs = Self::assemble_runs(&mut tx, vec![info]).await?;
        tx.commit().await?;
        runs.pop()
            .ok_or_else(|| Error::Internal("created run vanished".into()))
    }

    async fn get_run(&self, run_id: &str) -> Result<Run> {
        let mut conn = self.pool.acquire().await?;
        let info = Self::run_info(&mut conn, run_id).await?;
        let mut runs = Self::assemble_runs(&mut conn, vec![info]).await?;
        runs.pop().ok_or_else(|| run_not_found(run_id))
    }

    async fn update_run(&self, run_id: &str, update: RunUpdate) -> Result<RunInfo> {
        if let Some(name) = &update.run_name {
            validate::name("run", name)?;
        }
        let _w = self.writer.lock().await;
        let mut tx = self.begin().await?;
        Self::require_active_run(&mut tx, run_id).await?;
        if let Some(status) = update.status {
            sqlx::query("UPDATE runs SET status = ? WHERE run_uuid = ?")
                .bind(status.as_str())
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(end) = update.end_time {
            sqlx::query("UPDATE runs SET end_time = ? WHERE run_uuid = ?")
                .bind(end)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(name) = update.run_name.as_ref().filter(|n| !n.is_empty()) {
            sqlx::query("UPDATE runs SET name = ? WHERE run_uuid = ?")
                .bind(name)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
            Self::upsert_tag(&mut tx, run_id, &KeyValue::new(RUN_NAME_TAG, name)).await?;
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
        let _w = self.writer.lock().await;
        let mut tx = self.begin().await?;
        Self::require_active_run(&mut tx, run_id).await?;
        for p in &batch.params {
            let existing: Option<String> =
                sqlx::query_scalar("SELECT value FROM params WHERE run_uuid = ? AND key = ?")
                    .bind(run_id)
                    .bind(&p.key)
                    .fetch_optional(&mut *tx)
                    .await?;
            match existing {
                Some(old) if old == p.value => {}
                Some(old) => {
                    return Err(Error::invalid(format!(
                        "Changing param values is not allowed. Param with key='{}' was already logged \
                         with value='{old}' for run ID='{run_id}'. Attempted logging new value '{}'.",
                        p.key, p.value
                    )));
                }
                None => {
                    sqlx::query("INSERT INTO params (run_uuid, key, value) VALUES (?, ?, ?)")
                        .bind(run_id)
                        .bind(&p.key)
                        .bind(&p.value)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        for m in &batch.metrics {
            let (value, is_nan) = store_metric_value(m.value);
            sqlx::query(
                "INSERT OR IGNORE INTO metrics (run_uuid, key, value, is_nan, timestamp, step)
                 VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(run_id)
            .bind(&m.key)
            .bind(value)
            .bind(is_nan)
            .bind(m.timestamp)
            .bind(m.step)
            .execute(&mut *tx)
            .await?;
            // The latest value is the one at the highest step, then the latest timestamp.
            sqlx::query(
                "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (run_uuid, key) DO UPDATE SET
                   value = excluded.value, is_nan = excluded.is_nan,
                   timestamp = excluded.timestamp, step = excluded.step
                 WHERE (excluded.step, excluded.timestamp, excluded.value)
                     >= (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)",
            )
            .bind(run_id)
            .bind(&m.key)
            .bind(value)
            .bind(is_nan)
            .bind(m.timestamp)
            .bind(m.step)
            .execute(&mut *tx)
            .await?;
        }
        for t in &batch.tags {
            Self::upsert_tag(&mut tx, run_id, t).await?;
            if t.key == RUN_NAME_TAG && !t.value.is_empty() {
                sqlx::query("UPDATE runs SET name = ? WHERE run_uuid = ?")
                    .bind(&t.value)
                    .bind(run_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_run_tag(&self, run_id: &str, key: &str) -> Result<()> {
        let _w = self.writer.lock().await;
        let mut tx = self.begin().await?;
        Self::require_active_run(&mut tx, run_id).await?;
        let done = sqlx::query("DELETE FROM tags WHERE run_uuid = ? AND key = ?")
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
        let _w = self.writer.lock().await;
        let mut tx = self.begin().await?;
        Self::require_active_run(&mut tx, run_id).await?;
        for o in &outputs {
            sqlx::query(
                "INSERT INTO run_model_outputs (run_uuid, model_id, step) VALUES (?, ?, ?)
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

    async fn metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: usize,
        page_token: Option<&str>,
    ) -> Result<Page<Metric>> {
        let limit = check_page_size(max_results, MAX_HISTORY_RESULTS)?;
        let offset = page_token::decode(page_token)?;
        let mut conn = self.pool.acquire().await?;
        Self::run_stage(&mut conn, run_id).await?;
        let rows = sqlx::query(
            "SELECT key, value, is_nan, timestamp, step FROM metrics
             WHERE run_uuid = ? AND key = ? ORDER BY timestamp, step, rowid LIMIT ? OFFSET ?",
        )
        .bind(run_id)
        .bind(key)
        .bind(limit as i64 + 1)
        .bind(offset as i64)
        .fetch_all(&mut *conn)
        .await?;
        let items = rows
            .iter()
            .take(limit)
            .map(metric_from_row)
            .collect::<Result<Vec<_>>>()?;
        let next_page_token = (rows.len() > limit).then(|| page_token::encode(offset + limit));
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
            RUNS.filter_and_order(&query.filter.clauses, &query.order_by)?;
        binds.extend(experiment_ids.iter().map(|id| Bind::Int(*id)));
        let stages = query.view_type.stages();
        binds.extend(stages.iter().map(|s| Bind::Text(s.to_string())));
        binds.push(Bind::Int(limit as i64 + 1));
        binds.push(Bind::Int(offset as i64));
        let sql = format!(
            "SELECT * FROM (SELECT r.*{select} FROM runs r WHERE 1 = 1{filter} \
             AND r.experiment_id IN ({}) AND r.lifecycle_stage IN ({})) \
             ORDER BY {order}start_time IS NULL, start_time DESC, run_uuid ASC LIMIT ? OFFSET ?",
            placeholders(experiment_ids.len()),
            placeholders(stages.len())
        );
        let mut conn = self.pool.acquire().await?;
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&mut *conn)
            .await?;
        let infos = rows
            .iter()
            .take(limit)
            .map(run_info_from_row)
            .collect::<Result<Vec<_>>>()?;
        let items = Self::assemble_runs(&mut conn, infos).await?;
        let next_page_token = (rows.len() > limit).then(|| page_token::encode(offset + limit));
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
