//! What the SQL stores share whatever the database: the dialect differences, bound values
//! and their `$n` placeholders, the search translator (MLflow filter clauses → SQL), and the
//! helpers that build ids, names and errors.
//!
//! The store code itself (`sql_store/tracking.rs`, `sql_store/registry.rs`) is written once
//! and compiled once per backend: [`crate::sqlite`] and [`crate::postgres`] each include it
//! with their own driver types. Queries use `$n` placeholders, which SQLite and PostgreSQL
//! both read, so the SQL text is the same for both except where [`Dialect`] says otherwise.

use crate::error::{Error, Result};
use crate::model::{
    Dataset, DatasetInput, KeyValue, LifecycleStage, Metric, ModelOutput, Run, RunInfo, RunStatus,
    ViewType,
};
use crate::search::{Attribute, Clause, Condition, DatasetKey, Field, OrderBy, like_to_glob};
use crate::validate;

/// Where the two databases' SQL differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite 3.44 or later (aggregate `ORDER BY`).
    Sqlite,
    /// PostgreSQL 13 or later.
    Postgres,
}

impl Dialect {
    /// A case-sensitive (MLflow `LIKE`) or case-insensitive (`ILIKE`) match of `col` against
    /// the pattern bound as `param`.
    fn like(self, col: &str, param: &str, case_insensitive: bool) -> String {
        match (self, case_insensitive) {
            (Dialect::Sqlite, true) => format!("LOWER({col}) LIKE LOWER({param})"),
            // SQLite's LIKE ignores ASCII case; GLOB is its case-sensitive match.
            (Dialect::Sqlite, false) => format!("{col} GLOB {param}"),
            // PostgreSQL's LIKE is case-sensitive. `ESCAPE ''`: a backslash is an ordinary
            // character, as in SQLite's LIKE and GLOB.
            (Dialect::Postgres, true) => format!("LOWER({col}) LIKE LOWER({param}) ESCAPE ''"),
            (Dialect::Postgres, false) => format!("{col} LIKE {param} ESCAPE ''"),
        }
    }

    /// The pattern to bind for [`Dialect::like`].
    fn like_pattern(self, pattern: &str, case_insensitive: bool) -> String {
        match (self, case_insensitive) {
            (Dialect::Sqlite, false) => like_to_glob(pattern),
            _ => pattern.to_string(),
        }
    }

    /// An aggregate that gathers `values` (a comma-separated list of expressions) of each
    /// group's rows into one JSON array of arrays in the order of `order`, as a JSON value
    /// (an empty array when there are no rows).
    pub(crate) fn json_list(self, values: &str, order: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_group_array(json_array({values}) ORDER BY {order})"),
            Dialect::Postgres => format!(
                "COALESCE(json_agg(json_build_array({values}) ORDER BY {order}), '[]'::json)"
            ),
        }
    }

    /// A scalar subquery whose value is JSON, as a JSON value inside another JSON array
    /// (SQLite's JSON values lose their JSON type on the way out of a subquery).
    fn json_subquery(self, subquery: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json(({subquery}))"),
            Dialect::Postgres => format!("({subquery})"),
        }
    }

    /// A JSON value as text.
    pub(crate) fn json_text(self, json: &str) -> String {
        match self {
            Dialect::Sqlite => json.to_string(),
            Dialect::Postgres => format!("({json})::text"),
        }
    }

    /// The select list that turns the run rows of `p` (the `runs` columns plus an ordinal
    /// `n`) into one JSON text, read by [`runs_from_json`]: per run, in the order of `n`, its
    /// columns, then its latest metrics, params, tags, model outputs, dataset inputs (with
    /// their tags) and model inputs, each in insertion order; metric values as text that reads back as the same double ([`Self::real_text`]).
    /// A page of runs is then one row from the database, not a row per run and per
    /// child table; SQLite's driver hands every row from its thread to the caller's, and a
    /// 1,000-run search cost about 2,800 thread switches as rows.
    pub(crate) fn runs_json(self) -> String {
        // `from` names its table `c`; one JSON array per run of `values` in insertion order.
        let child = |from: &str, values: &str| {
            self.json_subquery(&format!(
                "SELECT {} FROM {from} WHERE c.run_uuid = p.run_uuid",
                self.json_list(values, "c.rowid")
            ))
        };
        let metrics = child("latest_metrics c", &metric_json_values(self));
        let params = child("params c", "c.key, c.value");
        let tags = child("tags c", "c.key, c.value");
        let outputs = child("run_model_outputs c", "c.model_id, c.step");
        let input_tags = self.json_subquery(&format!(
            "SELECT {} FROM dataset_input_tags t \
             WHERE t.run_uuid = c.run_uuid AND t.dataset_uuid = c.dataset_uuid",
            self.json_list("t.key, t.value", "t.rowid")
        ));
        let datasets = child(
            "run_dataset_inputs c JOIN datasets d ON d.dataset_uuid = c.dataset_uuid",
            &format!(
                "d.name, d.digest, d.source_type, d.source, d.schema, d.profile, {input_tags}"
            ),
        );
        let models = child("run_model_inputs c", "c.model_id");
        self.json_text(&self.json_list(
            &format!(
                "p.run_uuid, p.experiment_id, p.name, p.user_id, p.status, p.start_time, \
                 p.end_time, p.artifact_uri, p.lifecycle_stage, {metrics}, {params}, {tags}, \
                 {outputs}, {datasets}, {models}"
            ),
            "p.n",
        ))
    }

    /// Whether one query may hold several statements with their binds (SQLite: sqlx runs
    /// them in order on the connection's thread, one round trip; PostgreSQL's extended
    /// protocol takes one statement per query).
    pub(crate) fn multi_statement(self) -> bool {
        self == Dialect::Sqlite
    }

    /// Rows per multi-row `INSERT` (at most 9 values a row). sqlx binds a SQLite statement's
    /// values by looking up each placeholder's name, a scan of the statement's placeholder
    /// list, so the cost grows with the square of a statement's size: a log-batch of 1,000
    /// metrics took 78–80 ms of server CPU in chunks of 500 rows, 27–28 ms in chunks of 100
    /// and 21–24 ms in chunks of 40 (20: 20–21 ms). SQLite's chunks run in one round trip
    /// anyway ([`Script`]); PostgreSQL binds by position and pays a round trip per statement,
    /// so it takes 500 (3,000 placeholders, inside its 65,535).
    pub(crate) fn rows_per_insert(self) -> usize {
        match self {
            Dialect::Sqlite => 40,
            Dialect::Postgres => 500,
        }
    }

    /// `col` (a double) as text that reads back as the same double.
    pub(crate) fn real_text(self, col: &str) -> String {
        match self {
            // `quote()` writes 17 significant digits, `Inf` and `-Inf`.
            Dialect::Sqlite => format!("quote({col})"),
            // PostgreSQL 12+ writes the shortest exact form, `Infinity` and `-Infinity`.
            Dialect::Postgres => format!("{col}::text"),
        }
    }
}

/// Largest page `search_runs` and `search_experiments` return.
pub const MAX_SEARCH_RESULTS: usize = 50_000;
/// Largest page of metric history.
pub const MAX_HISTORY_RESULTS: usize = 25_000;

/// The tag that mirrors a run's name.
pub(crate) const RUN_NAME_TAG: &str = "mlflow.runName";

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A new run id: 32 lowercase hex digits like MLflow's, the first 12 the creation time in
/// milliseconds and the other 20 random (80 bits). Time-ordered ids land at the right edge of
/// every index keyed by run (runs, params, metrics, tags), so a write touches the same few
/// pages as the write before it instead of one random page per index; with random ids a run's
/// two writes appended 48 pages to the SQLite WAL (strace: 96 `pwrite64` per run).
pub(crate) fn new_run_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
        & 0xffff_ffff_ffff;
    let random = rand::random::<u128>() & ((1u128 << 80) - 1);
    format!("{ms:012x}{random:020x}")
}

pub(crate) fn generated_run_name() -> String {
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

pub(crate) fn experiment_not_found(id: &str) -> Error {
    Error::NotFound(format!("No Experiment with id={id} exists"))
}

pub(crate) fn experiment_exists(name: &str) -> Error {
    Error::AlreadyExists(format!("Experiment(name={name}) already exists."))
}

pub(crate) fn registered_model_exists(name: &str) -> Error {
    Error::AlreadyExists(format!("Registered Model (name={name}) already exists."))
}

/// `taken` when `e` broke a unique key, else `e`: another server sharing the database wrote
/// the same name between this one's check and its write.
pub(crate) fn unique_violation_as(e: sqlx::Error, taken: Error) -> Error {
    match e.as_database_error() {
        Some(db) if db.is_unique_violation() => taken,
        _ => Error::Database(e),
    }
}

pub(crate) fn run_not_found(id: &str) -> Error {
    Error::NotFound(format!("Run with id={id} not found"))
}

pub(crate) fn parse_experiment_id(id: &str) -> Result<i64> {
    id.trim().parse().map_err(|_| experiment_not_found(id))
}

/// Statements to run in order, in as few round trips as the dialect allows: on SQLite one
/// query holding all of them (their placeholders numbered across the whole query), on
/// PostgreSQL one query each. Every round trip to a SQLite connection is a hand-over to its
/// thread and back, which cost more server CPU than the statements themselves.
#[derive(Debug, Default)]
pub(crate) struct Script {
    parts: Vec<(String, Binds)>,
}

impl Script {
    /// Adds the statement `build` writes, binding its values through the `Binds` it is given.
    pub(crate) fn push(&mut self, dialect: Dialect, build: impl FnOnce(&mut Binds) -> String) {
        match self.parts.last_mut() {
            Some((sql, binds)) if dialect.multi_statement() => {
                let next = build(binds);
                sql.push_str(";\n");
                sql.push_str(&next);
            }
            _ => {
                let mut binds = Binds::default();
                let sql = build(&mut binds);
                self.parts.push((sql, binds));
            }
        }
    }

    /// The queries to run, each with its values.
    pub(crate) fn queries(&self) -> impl Iterator<Item = (&str, &Binds)> {
        self.parts.iter().map(|(sql, binds)| (sql.as_str(), binds))
    }
}

/// A value bound to a `$n` placeholder.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Real(f64),
    Int(i64),
    /// SQL NULL (in a text column).
    Null,
}

/// The values a query binds, in placeholder order.
#[derive(Debug, Default)]
pub(crate) struct Binds(Vec<Bind>);

impl Binds {
    /// Adds a value; returns its placeholder.
    pub(crate) fn push(&mut self, value: Bind) -> String {
        self.0.push(value);
        format!("${}", self.0.len())
    }

    /// Adds values; returns their placeholders, comma-separated.
    pub(crate) fn list(&mut self, values: impl IntoIterator<Item = Bind>) -> String {
        values
            .into_iter()
            .map(|v| self.push(v))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Adds one `VALUES` row per item; returns the rows, `($1, $2), ($3, $4), …`.
    pub(crate) fn rows<const N: usize>(
        &mut self,
        rows: impl IntoIterator<Item = [Bind; N]>,
    ) -> String {
        rows.into_iter()
            .map(|row| format!("({})", self.list(row)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Adds the lifecycle stages `view` shows; returns their placeholders.
    pub(crate) fn stages(&mut self, view: ViewType) -> String {
        self.list(view.stages().iter().map(|s| Bind::Text(s.to_string())))
    }

    /// Adds a page's bounds, asking for one row more than `limit` (whether another page
    /// follows); returns the `LIMIT … OFFSET …` clause.
    pub(crate) fn page(&mut self, limit: usize, offset: usize) -> String {
        let limit = self.push(Bind::Int(limit as i64 + 1));
        let offset = self.push(Bind::Int(offset as i64));
        format!("LIMIT {limit} OFFSET {offset}")
    }

    /// The values, first placeholder first.
    pub(crate) fn values(&self) -> &[Bind] {
        &self.0
    }
}

/// How a search's clauses map onto one entity's tables.
pub(crate) struct SqlTarget {
    /// Its tags table.
    tags: &'static str,
    /// Its params table, if it has params.
    params: Option<&'static str>,
    /// Its metrics table, if it has metrics (a run's latest values; every value of a logged
    /// model: a filter holds when one value passes, as in MLflow).
    metrics: Option<&'static str>,
    /// What picks the newest of a key's rows in `metrics` to sort on (empty where there is
    /// one row per key).
    newest: &'static str,
    /// Joins a child row `c` to the main row (tags, params and metrics share the key columns).
    correlate: &'static str,
    /// Whether `tags.k != 'v'` also matches rows without the tag (MLflow's registry does;
    /// its run search does not).
    ne_matches_missing: bool,
    /// Whether rows (runs, aliased `r`) have dataset inputs to filter on.
    datasets: bool,
    /// Column for each attribute it has.
    column: fn(Attribute) -> Option<&'static str>,
}

pub(crate) const RUNS: SqlTarget = SqlTarget {
    tags: "tags",
    params: Some("params"),
    metrics: Some("latest_metrics"),
    newest: "",
    correlate: "c.run_uuid = r.run_uuid",
    ne_matches_missing: false,
    datasets: true,
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

pub(crate) const EXPERIMENTS: SqlTarget = SqlTarget {
    tags: "experiment_tags",
    params: None,
    metrics: None,
    newest: "",
    correlate: "c.experiment_id = e.experiment_id",
    ne_matches_missing: false,
    datasets: false,
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
    fn child(&self, field: &Field, key: &str, binds: &mut Binds) -> Result<(&'static str, String)> {
        let table = match field {
            Field::Metric(_) => self.metrics,
            Field::Param(_) => self.params,
            Field::Tag(_) => Some(self.tags),
            Field::Attribute(_) | Field::Dataset(_) => None,
        }
        .ok_or_else(|| Error::invalid(format!("{field:?} cannot be used here")))?;
        let key = binds.push(Bind::Text(key.to_string()));
        Ok((table, format!("{} AND c.key = {key}", self.correlate)))
    }

    fn clause(&self, dialect: Dialect, clause: &Clause, binds: &mut Binds) -> Result<String> {
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
                        let p = binds.push(Bind::Real(*v));
                        Ok(format!("{col} {} {p}", cmp.sql()))
                    }
                    Condition::Text { negated, value } => {
                        let p = binds.push(Bind::Text(value.clone()));
                        Ok(format!("{col} {} {p}", if *negated { "!=" } else { "=" }))
                    }
                    Condition::Like {
                        pattern,
                        case_insensitive,
                    } => Ok(like_sql(dialect, col, pattern, *case_insensitive, binds)),
                    Condition::In { negated, values } => {
                        let list = binds.list(values.iter().cloned().map(Bind::Text));
                        Ok(format!(
                            "{col} {}IN ({list})",
                            if *negated { "NOT " } else { "" },
                        ))
                    }
                    Condition::Present(_) => Err(bad()),
                }
            }
            Field::Dataset(key) => {
                if !self.datasets {
                    return Err(bad());
                }
                // One of the run's inputs passes: its dataset's name or digest, or its
                // `mlflow.data.context` tag.
                let (col, join) = match key {
                    DatasetKey::Name => ("d.name", ""),
                    DatasetKey::Digest => ("d.digest", ""),
                    DatasetKey::Context => (
                        "t.value",
                        " JOIN dataset_input_tags t ON t.run_uuid = i.run_uuid \
                         AND t.dataset_uuid = i.dataset_uuid AND t.key = 'mlflow.data.context'",
                    ),
                };
                let test = match &clause.condition {
                    Condition::Text { negated, value } => {
                        let p = binds.push(Bind::Text(value.clone()));
                        format!("{col} {} {p}", if *negated { "!=" } else { "=" })
                    }
                    Condition::Like {
                        pattern,
                        case_insensitive,
                    } => like_sql(dialect, col, pattern, *case_insensitive, binds),
                    Condition::In { negated, values } => {
                        let list = binds.list(values.iter().cloned().map(Bind::Text));
                        format!("{col} {}IN ({list})", if *negated { "NOT " } else { "" })
                    }
                    Condition::Number(..) | Condition::Present(_) => return Err(bad()),
                };
                Ok(format!(
                    "EXISTS (SELECT 1 FROM run_dataset_inputs i \
                     JOIN datasets d ON d.dataset_uuid = i.dataset_uuid{join} \
                     WHERE i.run_uuid = r.run_uuid AND {test})"
                ))
            }
            field @ (Field::Metric(key) | Field::Param(key) | Field::Tag(key)) => {
                let (table, correlate) = self.child(field, key, binds)?;
                if let (
                    Condition::Text {
                        negated: true,
                        value,
                    },
                    Field::Tag(_),
                    true,
                ) = (&clause.condition, field, self.ne_matches_missing)
                {
                    let p = binds.push(Bind::Text(value.clone()));
                    return Ok(format!(
                        "NOT EXISTS (SELECT 1 FROM {table} c WHERE {correlate} AND c.value = {p})"
                    ));
                }
                let test = match (&clause.condition, field) {
                    (Condition::Number(cmp, v), Field::Metric(_)) => {
                        let p = binds.push(Bind::Real(*v));
                        format!(" AND c.is_nan = 0 AND c.value {} {p}", cmp.sql())
                    }
                    (Condition::Text { negated, value }, Field::Param(_) | Field::Tag(_)) => {
                        let p = binds.push(Bind::Text(value.clone()));
                        format!(" AND c.value {} {p}", if *negated { "!=" } else { "=" })
                    }
                    (
                        Condition::Like {
                            pattern,
                            case_insensitive,
                        },
                        Field::Param(_) | Field::Tag(_),
                    ) => format!(
                        " AND {}",
                        like_sql(dialect, "c.value", pattern, *case_insensitive, binds)
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
    fn sort_expr(&self, field: &Field, binds: &mut Binds) -> Result<String> {
        match field {
            Field::Attribute(a) => Ok(self.attribute(*a)?.to_string()),
            Field::Dataset(_) => Err(Error::invalid(
                "runs cannot be ordered by their datasets (a run may have several)",
            )),
            Field::Metric(key) | Field::Param(key) | Field::Tag(key) => {
                let (table, correlate) = self.child(field, key, binds)?;
                // A metric sorts on its latest value (`newest` picks it among many).
                let latest = if matches!(field, Field::Metric(_)) {
                    format!(" AND c.is_nan = 0{}", self.newest)
                } else {
                    String::new()
                };
                Ok(format!(
                    "(SELECT c.value FROM {table} c WHERE {correlate}{latest})"
                ))
            }
        }
    }

    /// The sort columns to select, the filter (`AND …` terms) and the `ORDER BY` prefix of a
    /// search, with the values they bind.
    pub(crate) fn filter_and_order(
        &self,
        dialect: Dialect,
        clauses: &[Clause],
        order_by: &[OrderBy],
    ) -> Result<(String, String, String, Binds)> {
        let mut binds = Binds::default();
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
            filter.push_str(&self.clause(dialect, c, &mut binds)?);
        }
        Ok((select, filter, order, binds))
    }
}

fn like_sql(
    dialect: Dialect,
    col: &str,
    pattern: &str,
    case_insensitive: bool,
    binds: &mut Binds,
) -> String {
    let p = binds.push(Bind::Text(dialect.like_pattern(pattern, case_insensitive)));
    dialect.like(col, &p, case_insensitive)
}

pub(crate) fn store_metric_value(v: f64) -> (f64, i64) {
    if v.is_nan() { (0.0, 1) } else { (v, 0) }
}

/// One run as [`Dialect::runs_json`] writes it.
#[derive(serde::Deserialize)]
struct RunJson(
    String,
    i64,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    String,
    String,
    Vec<(String, String, i64, i64, i64)>,
    Vec<(String, String)>,
    Vec<(String, String)>,
    Vec<(String, i64)>,
    Vec<DatasetInputJson>,
    Vec<(String,)>,
);

/// A dataset input as [`Dialect::runs_json`] writes it: the dataset's name, digest, source
/// type, source, schema and profile, then the input's tags.
#[derive(serde::Deserialize)]
struct DatasetInputJson(
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Vec<(String, String)>,
);

/// Runs from the JSON text [`Dialect::runs_json`] aggregates.
pub(crate) fn runs_from_json(doc: &str) -> Result<Vec<Run>> {
    let runs: Vec<RunJson> = serde_json::from_str(doc)
        .map_err(|e| Error::Internal(format!("runs: unreadable aggregate: {e}")))?;
    runs.into_iter()
        .map(|r| {
            let RunJson(
                id,
                experiment_id,
                name,
                user_id,
                status,
                start,
                end,
                uri,
                stage,
                metrics,
                params,
                tags,
                outputs,
                datasets,
                models,
            ) = r;
            let info = RunInfo {
                run_id: id,
                experiment_id: experiment_id.to_string(),
                run_name: name,
                user_id,
                status: RunStatus::parse(&status).map_err(|_| {
                    Error::Internal(format!("unknown run status {status:?} in database"))
                })?,
                start_time: start,
                end_time: end,
                artifact_uri: uri,
                lifecycle_stage: LifecycleStage::parse(&stage)?,
            };
            Ok(Run {
                info,
                metrics: metrics_from_rows(metrics)?,
                params: params
                    .into_iter()
                    .map(|(k, v)| KeyValue::new(k, v))
                    .collect(),
                tags: tags.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect(),
                model_outputs: outputs
                    .into_iter()
                    .map(|(model_id, step)| ModelOutput { model_id, step })
                    .collect(),
                dataset_inputs: datasets
                    .into_iter()
                    .map(|d| {
                        let DatasetInputJson(
                            name,
                            digest,
                            source_type,
                            source,
                            schema,
                            profile,
                            tags,
                        ) = d;
                        DatasetInput {
                            dataset: Dataset {
                                name,
                                digest,
                                source_type,
                                source,
                                schema,
                                profile,
                            },
                            tags: tags.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect(),
                        }
                    })
                    .collect(),
                model_inputs: models.into_iter().map(|(id,)| id).collect(),
            })
        })
        .collect()
}

/// The metric columns (of a metrics table aliased `c`) as [`metrics_from_json`] reads them.
pub(crate) fn metric_json_values(dialect: Dialect) -> String {
    format!(
        "c.key, {}, c.is_nan, c.timestamp, c.step",
        dialect.real_text("c.value")
    )
}

/// Metrics from a JSON array of [`metric_json_values`] rows.
pub(crate) fn metrics_from_json(doc: &str) -> Result<Vec<Metric>> {
    let rows = serde_json::from_str(doc)
        .map_err(|e| Error::Internal(format!("metrics: unreadable aggregate: {e}")))?;
    metrics_from_rows(rows)
}

/// Metrics from `[key, value as text, is_nan, timestamp, step]` rows.
fn metrics_from_rows(rows: Vec<(String, String, i64, i64, i64)>) -> Result<Vec<Metric>> {
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

/// Reads a double as [`Dialect::real_text`] writes it (`0.5`, `1.0e-300`, `Inf`, `Infinity`…).
fn parse_quoted_real(text: &str) -> Option<f64> {
    match text {
        "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

pub(crate) fn check_page_size(max_results: usize, limit: usize) -> Result<usize> {
    if max_results == 0 || max_results > limit {
        return Err(Error::invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied: it must be between 1 and {limit}"
        )));
    }
    Ok(max_results)
}

/// Largest page of `search_registered_models` (MLflow's limit).
pub const MAX_REGISTERED_MODEL_RESULTS: usize = 1000;
/// Largest page of `search_model_versions` (MLflow's limit).
pub const MAX_MODEL_VERSION_RESULTS: usize = 200_000;
/// Largest page of `search_logged_models`.
pub const MAX_LOGGED_MODEL_RESULTS: usize = 50_000;
/// Longest alias.
const MAX_ALIAS_LENGTH: usize = 255;

pub(crate) const LOGGED_MODELS: SqlTarget = SqlTarget {
    tags: "logged_model_tags",
    params: Some("logged_model_params"),
    metrics: Some("logged_model_metrics"),
    // As MLflow orders them.
    newest: " ORDER BY c.timestamp DESC, c.step DESC, c.run_uuid LIMIT 1",
    correlate: "c.model_id = l.model_id",
    ne_matches_missing: false,
    datasets: false,
    column: |a| match a {
        Attribute::Name => Some("l.name"),
        Attribute::ModelId => Some("l.model_id"),
        Attribute::SourceRunId => Some("l.source_run_id"),
        Attribute::Status => Some("l.status"),
        Attribute::ModelType => Some("l.model_type"),
        Attribute::CreationTime => Some("l.creation_time"),
        Attribute::LastUpdateTime => Some("l.last_update_time"),
        _ => None,
    },
};

pub(crate) const REGISTERED_MODELS: SqlTarget = SqlTarget {
    tags: "registered_model_tags",
    params: None,
    metrics: None,
    newest: "",
    correlate: "c.model_key = m.model_key",
    ne_matches_missing: true,
    datasets: false,
    column: |a| match a {
        Attribute::Name => Some("m.name"),
        Attribute::CreationTime => Some("m.creation_time"),
        Attribute::LastUpdateTime => Some("m.last_update_time"),
        _ => None,
    },
};

pub(crate) const MODEL_VERSIONS: SqlTarget = SqlTarget {
    tags: "model_version_tags",
    params: None,
    metrics: None,
    newest: "",
    correlate: "c.model_key = v.model_key AND c.version = v.version",
    ne_matches_missing: true,
    datasets: false,
    column: |a| match a {
        Attribute::Name => Some("m.name"),
        Attribute::RunId => Some("v.run_id"),
        Attribute::SourcePath => Some("v.source"),
        Attribute::Version => Some("v.version"),
        Attribute::CreationTime => Some("v.creation_time"),
        Attribute::LastUpdateTime => Some("v.last_update_time"),
        _ => None,
    },
};

/// Selects model versions with their registered model's name.
pub(crate) const VERSION_SELECT: &str = "SELECT v.*, m.name AS name FROM model_versions v \
     JOIN registered_models m ON m.model_key = v.model_key";

pub(crate) fn registered_model_not_found(name: &str) -> Error {
    Error::NotFound(format!("Registered Model with name={name} not found"))
}

pub(crate) fn version_not_found(name: &str, version: impl std::fmt::Display) -> Error {
    Error::NotFound(format!(
        "Model Version (name={name}, version={version}) not found"
    ))
}

pub(crate) fn logged_model_not_found(id: &str) -> Error {
    Error::NotFound(format!("Logged model with ID '{id}' not found."))
}

pub(crate) fn new_model_id() -> String {
    format!("m-{:032x}", rand::random::<u128>())
}

/// A version number as the client sent it: a positive decimal integer.
pub(crate) fn parse_version(version: &str) -> Result<i64> {
    match version.trim().parse::<i64>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(Error::invalid(format!(
            "Parameter 'version' must be a positive integer, got '{}'",
            version.chars().take(50).collect::<String>()
        ))),
    }
}

pub(crate) fn check_registered_name(name: &str) -> Result<()> {
    validate::name("registered model", name)
}

/// MLflow's alias rules: letters, digits, `_` and `-`; not `latest`, not `v<number>`.
pub(crate) fn check_alias(alias: &str) -> Result<()> {
    if alias.is_empty() || alias.chars().count() > MAX_ALIAS_LENGTH {
        return Err(Error::invalid(format!(
            "alias must be 1 to {MAX_ALIAS_LENGTH} characters long"
        )));
    }
    if !alias
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::invalid(format!(
            "Invalid alias name: '{alias}'. Aliases may only contain letters, digits, \
             underscores (_) and dashes (-)."
        )));
    }
    let lower = alias.to_ascii_lowercase();
    let version_like =
        lower.len() > 1 && lower.starts_with('v') && lower[1..].chars().all(|c| c.is_ascii_digit());
    if lower == "latest" || version_like {
        return Err(Error::invalid(format!(
            "Invalid alias name: '{alias}'. 'latest' and 'v<number>' are reserved."
        )));
    }
    Ok(())
}

/// Refuses sources that would point a client at a local file or outside a root.
pub(crate) fn check_source(source: &str) -> Result<()> {
    if source.trim().is_empty() {
        return Err(Error::invalid(
            "Missing value for required parameter 'source'",
        ));
    }
    let lower = source.to_ascii_lowercase();
    let local = lower.starts_with("file:")
        || source.starts_with('/')
        || source.starts_with('\\')
        || source.starts_with('.')
        || !source.contains(':');
    if local {
        return Err(Error::invalid(format!(
            "Invalid model version source '{source}': local paths are not accepted; log the \
             model to this server and register runs:/<run_id>/<path> or models:/<model_id>"
        )));
    }
    if source.split(['/', '\\']).any(|p| p == "..") {
        return Err(Error::invalid(format!(
            "Invalid model version source '{source}': '..' path parts are not allowed"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_push_order() {
        let mut binds = Binds::default();
        assert_eq!(binds.push(Bind::Int(1)), "$1");
        assert_eq!(
            binds.list(["a", "b"].map(|s| Bind::Text(s.into()))),
            "$2, $3"
        );
        assert_eq!(binds.values().len(), 3);
    }

    #[test]
    fn like_is_case_sensitive_on_both_dialects() {
        assert_eq!(Dialect::Sqlite.like("c", "$1", false), "c GLOB $1");
        assert_eq!(Dialect::Sqlite.like_pattern("a%_*", false), "a*?[*]");
        assert_eq!(
            Dialect::Postgres.like("c", "$1", false),
            "c LIKE $1 ESCAPE ''"
        );
        assert_eq!(Dialect::Postgres.like_pattern("a%_*", false), "a%_*");
        assert_eq!(
            Dialect::Sqlite.like("c", "$2", true),
            "LOWER(c) LIKE LOWER($2)"
        );
        assert_eq!(
            Dialect::Postgres.like("c", "$2", true),
            "LOWER(c) LIKE LOWER($2) ESCAPE ''"
        );
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            assert_eq!(d.like_pattern("A%", true), "A%");
        }
    }

    #[test]
    fn real_text_of_either_database_reads_back() {
        for (text, want) in [
            ("Inf", f64::INFINITY),
            ("-Inf", f64::NEG_INFINITY),
            ("Infinity", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("1.0e-300", 1e-300),
            ("1e-300", 1e-300),
            ("0.30000000000000004", 0.1 + 0.2),
        ] {
            assert_eq!(parse_quoted_real(text), Some(want), "{text}");
        }
        assert_eq!(parse_quoted_real("abc"), None);
        let doc = r#"[["r1",3,"n","u","FINISHED",5,null,"mlflow-artifacts:/3/r1/artifacts",
            "active",[["a","Infinity",0,1,2],["b","0",1,3,4]],[["p","1"]],[],[["m-1",7]],
            [["d","9f2c","local","/d.csv",null,"{}",[["mlflow.data.context","training"]]]],
            [["m-0"]]]]"#;
        let runs = runs_from_json(doc).expect("runs");
        let input = &runs[0].dataset_inputs[0];
        assert_eq!(
            (
                input.dataset.schema.as_deref(),
                input.dataset.profile.as_deref()
            ),
            (None, Some("{}"))
        );
        assert_eq!(
            input.tags,
            vec![KeyValue::new("mlflow.data.context", "training")]
        );
        assert_eq!(runs[0].model_inputs, vec!["m-0".to_string()]);
        assert_eq!(runs[0].info.experiment_id, "3");
        assert_eq!(runs[0].info.end_time, None);
        assert_eq!(runs[0].params, vec![KeyValue::new("p", "1")]);
        assert_eq!(runs[0].model_outputs[0].step, 7);
        let metrics = &runs[0].metrics;
        assert_eq!(metrics[0].value, f64::INFINITY);
        assert!(metrics[1].value.is_nan());
        assert_eq!((metrics[1].timestamp, metrics[1].step), (3, 4));
    }

    #[test]
    fn aliases_follow_mlflow_rules() {
        assert!(check_alias("champion").is_ok());
        assert!(check_alias("blue-green_2").is_ok());
        assert!(check_alias("latest").is_err());
        assert!(check_alias("V3").is_err());
        assert!(check_alias("").is_err());
        assert!(check_alias("a b").is_err());
    }

    #[test]
    fn sources_never_point_at_local_files() {
        assert!(check_source("runs:/abc/model").is_ok());
        assert!(check_source("models:/m-123").is_ok());
        assert!(check_source("mlflow-artifacts:/1/abc/artifacts/model").is_ok());
        assert!(check_source("s3://bucket/model").is_ok());
        for bad in [
            "/etc/passwd",
            "file:///etc",
            "relative/path",
            "../x",
            "mlflow-artifacts:/1/../../etc",
            "",
        ] {
            assert!(check_source(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_are_positive_integers() {
        assert_eq!(parse_version(" 7 ").expect("7"), 7);
        assert!(parse_version("0").is_err());
        assert!(parse_version("abc").is_err());
    }
}
