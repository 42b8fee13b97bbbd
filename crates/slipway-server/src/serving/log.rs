//! The prediction log: every scored row, with its id, time, model, version, inputs, outputs
//! and latency, written in batches to Parquet segments in the artifact store.
//!
//! Layout under [`PREDICTION_LOG_ROOT`]:
//! - `predictions/<deployment>/<version>/<YYYY-MM-DD>/<min id>_<max id>.parquet`: one
//!   segment per flush of one deployment's version. Columns: `prediction_id` (UUIDv7,
//!   time-ordered), `timestamp`, `model`, `version`, `protocol`, `latency_us`, the model's
//!   input columns as typed for scoring (an input named like one of these columns is
//!   stored as `input.<name>`), then `prediction` (or `cluster`) and `probability_<class>`.
//! - `feedback/<YYYY-MM-DD>/<id>.parquet`: delayed ground truth, `prediction_id`, `label`
//!   (as text), `timestamp`.
//!
//! Rows reach the writer through a queue bounded in rows ([`LogOptions::queue_rows`]); when
//! it is full, the rows of a request are shed (counted, never blocking the prediction). A
//! segment is written whole through the artifact store, which writes to a temporary name
//! and renames (or puts one object, on S3): a server killed mid-write leaves no half
//! segment, only the queued rows are lost.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMillisecondArray};
use bytes::Bytes;
use slipway_data::{DataType, Field, Schema, Table};
use slipway_engine::serving::Output;
use slipway_store::{ArtifactPath, ArtifactStore, DeletablePath, PREDICTION_LOG_ROOT};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// How the prediction log is written.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// Log at all.
    pub enabled: bool,
    /// Most rows waiting to be written; beyond it, rows are shed and counted.
    pub queue_rows: usize,
    /// Rows of one version that trigger a segment write.
    pub segment_rows: usize,
    /// Longest a row waits before its segment is written.
    pub flush_interval: Duration,
    /// Log rows (and feedback) older than this are removed; `None` keeps everything.
    pub retention: Option<Duration>,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            enabled: true,
            queue_rows: 100_000,
            segment_rows: 20_000,
            flush_interval: Duration::from_secs(5),
            retention: None,
        }
    }
}

/// One scored request, as logged.
pub(crate) struct Record {
    pub deployment: String,
    pub version: String,
    pub protocol: &'static str,
    pub time_ms: i64,
    pub latency_us: i64,
    pub ids: Vec<Uuid>,
    pub inputs: Table,
    pub output: Output,
}

enum Msg {
    Record(Box<Record>),
    Flush(oneshot::Sender<()>),
}

/// Counters of the log, for `/metrics`.
#[derive(Debug, Default)]
pub(crate) struct LogStats {
    pub queued_rows: AtomicUsize,
    pub shed_rows: AtomicU64,
    pub written_rows: AtomicU64,
    pub segments: AtomicU64,
    pub failed_rows: AtomicU64,
}

/// The queue and its writer task.
pub(crate) struct PredictionLog {
    tx: mpsc::UnboundedSender<Msg>,
    stats: Arc<LogStats>,
    store: Arc<dyn ArtifactStore>,
    capacity: usize,
}

impl PredictionLog {
    /// Starts the writer task (inside a Tokio runtime).
    pub fn start(store: Arc<dyn ArtifactStore>, options: LogOptions) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = Arc::new(LogStats::default());
        let capacity = options.queue_rows;
        tokio::spawn(writer(store.clone(), options, rx, stats.clone()));
        PredictionLog {
            tx,
            stats,
            store,
            capacity,
        }
    }

    /// Queues a request's rows; `false` when the queue is full and they were shed.
    pub fn push(&self, record: Record) -> bool {
        let rows = record.ids.len();
        let queued = self.stats.queued_rows.fetch_add(rows, Ordering::AcqRel);
        if queued + rows > self.capacity {
            self.stats.queued_rows.fetch_sub(rows, Ordering::AcqRel);
            self.stats
                .shed_rows
                .fetch_add(rows as u64, Ordering::Relaxed);
            return false;
        }
        if self.tx.send(Msg::Record(Box::new(record))).is_err() {
            self.stats.queued_rows.fetch_sub(rows, Ordering::AcqRel);
            self.stats
                .shed_rows
                .fetch_add(rows as u64, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Writes everything queued so far and waits for it.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            let _ = done.await;
        }
    }

    pub fn stats(&self) -> &LogStats {
        &self.stats
    }

    pub fn store(&self) -> &Arc<dyn ArtifactStore> {
        &self.store
    }
}

async fn writer(
    store: Arc<dyn ArtifactStore>,
    options: LogOptions,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    stats: Arc<LogStats>,
) {
    let mut groups: BTreeMap<(String, String), (usize, Vec<Record>)> = BTreeMap::new();
    let mut tick = tokio::time::interval(options.flush_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge: Option<Instant> = None;
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                None => {
                    flush_all(&store, &mut groups, &stats).await;
                    return;
                }
                Some(Msg::Record(r)) => {
                    let key = (r.deployment.clone(), r.version.clone());
                    let group = groups.entry(key.clone()).or_default();
                    group.0 += r.ids.len();
                    group.1.push(*r);
                    if group.0 >= options.segment_rows {
                        if let Some((_, records)) = groups.remove(&key) {
                            write_segment(&store, records, &stats).await;
                        }
                    }
                }
                Some(Msg::Flush(ack)) => {
                    flush_all(&store, &mut groups, &stats).await;
                    let _ = ack.send(());
                }
            },
            _ = tick.tick() => {
                flush_all(&store, &mut groups, &stats).await;
                if let Some(keep) = options.retention {
                    if last_purge.is_none_or(|t| t.elapsed() >= Duration::from_secs(600)) {
                        last_purge = Some(Instant::now());
                        let cutoff = chrono::Utc::now() - keep;
                        match purge(store.as_ref(), cutoff).await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!("prediction log: removed {n} day folders past retention"),
                            Err(e) => tracing::warn!("prediction log retention: {e}"),
                        }
                    }
                }
            }
        }
    }
}

async fn flush_all(
    store: &Arc<dyn ArtifactStore>,
    groups: &mut BTreeMap<(String, String), (usize, Vec<Record>)>,
    stats: &LogStats,
) {
    for (_, (_, records)) in std::mem::take(groups) {
        write_segment(store, records, stats).await;
    }
}

async fn write_segment(store: &Arc<dyn ArtifactStore>, records: Vec<Record>, stats: &LogStats) {
    let rows: usize = records.iter().map(|r| r.ids.len()).sum();
    if rows == 0 {
        return;
    }
    let built = tokio::task::spawn_blocking(move || build_segment(&records))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
    let result = match built {
        Ok((path, bytes)) => store
            .put(&path, Bytes::from(bytes))
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    stats.queued_rows.fetch_sub(rows, Ordering::AcqRel);
    match result {
        Ok(()) => {
            stats.written_rows.fetch_add(rows as u64, Ordering::Relaxed);
            stats.segments.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => {
            stats.failed_rows.fetch_add(rows as u64, Ordering::Relaxed);
            stats.shed_rows.fetch_add(rows as u64, Ordering::Relaxed);
            tracing::warn!("prediction log: a segment of {rows} rows could not be written: {e}");
        }
    }
}

/// Column names of a segment besides the inputs and outputs.
const META_COLUMNS: [&str; 6] = [
    "prediction_id",
    "timestamp",
    "model",
    "version",
    "protocol",
    "latency_us",
];

/// The segment of `records` (one deployment's version) and where it goes.
fn build_segment(records: &[Record]) -> Result<(ArtifactPath, Vec<u8>), String> {
    let first = records.first().ok_or("no records")?;
    let err = |e: slipway_data::Error| e.to_string();
    let mut ids = Vec::new();
    let mut times = Vec::new();
    let mut latency = Vec::new();
    let mut protocols = Vec::new();
    for r in records {
        for id in &r.ids {
            ids.push(id.hyphenated().to_string());
            times.push(r.time_ms);
            latency.push(r.latency_us);
            protocols.push(r.protocol);
        }
    }
    let n = ids.len();
    let (min_id, max_id) = (
        ids.iter().min().cloned().unwrap_or_default(),
        ids.iter().max().cloned().unwrap_or_default(),
    );
    let inputs: Vec<Table> = records.iter().map(|r| r.inputs.clone()).collect();
    let inputs = Table::concat(&inputs).map_err(err)?;
    let mut fields = vec![
        Field::new("prediction_id", DataType::Text),
        Field::new("timestamp", DataType::Datetime),
        Field::new("model", DataType::Categorical),
        Field::new("version", DataType::Categorical),
        Field::new("protocol", DataType::Categorical),
        Field::new("latency_us", DataType::Integer),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ids)),
        Arc::new(TimestampMillisecondArray::from(times)),
        Arc::new(StringArray::from(vec![first.deployment.as_str(); n])),
        Arc::new(StringArray::from(vec![first.version.as_str(); n])),
        Arc::new(StringArray::from(protocols)),
        Arc::new(Int64Array::from(latency)),
    ];
    let outputs = output_columns(records)?;
    let mut taken: BTreeSet<String> = META_COLUMNS.iter().map(|s| s.to_string()).collect();
    taken.extend(outputs.iter().map(|(f, _)| f.name.clone()));
    for f in &inputs.schema().fields {
        let name = if taken.contains(&f.name) {
            format!("input.{}", f.name)
        } else {
            f.name.clone()
        };
        fields.push(Field::new(name, f.dtype));
        columns.push(inputs.column(&f.name).map_err(err)?.clone());
    }
    for (f, c) in outputs {
        fields.push(f);
        columns.push(c);
    }
    let table = Table::new(Schema::new(fields).map_err(err)?, columns).map_err(err)?;
    let bytes = slipway_data::ingest::parquet_bytes(&table).map_err(err)?;
    let day = chrono::DateTime::from_timestamp_millis(first.time_ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    let path = ArtifactPath::parse(&format!(
        "{PREDICTION_LOG_ROOT}/predictions/{}/{}/{day}/{min_id}_{max_id}.parquet",
        first.deployment, first.version
    ))
    .map_err(|e| e.to_string())?;
    Ok((path, bytes))
}

/// The output columns of `records`, which share one model version.
fn output_columns(records: &[Record]) -> Result<Vec<(Field, ArrayRef)>, String> {
    let first = &records.first().ok_or("no records")?.output;
    Ok(match first {
        Output::Values(_) => {
            let mut v = Vec::new();
            for r in records {
                if let Output::Values(x) = &r.output {
                    v.extend_from_slice(x);
                }
            }
            vec![(
                Field::new("prediction", DataType::Float),
                Arc::new(Float64Array::from(v)) as ArrayRef,
            )]
        }
        Output::Clusters(_) => {
            let mut v = Vec::new();
            for r in records {
                if let Output::Clusters(x) = &r.output {
                    v.extend_from_slice(x);
                }
            }
            vec![(
                Field::new("cluster", DataType::Integer),
                Arc::new(Int64Array::from(v)) as ArrayRef,
            )]
        }
        Output::Classes { classes, .. } => {
            let mut labels: Vec<&str> = Vec::new();
            let mut proba: Vec<Vec<f64>> = vec![Vec::new(); classes.len()];
            for r in records {
                if let Output::Classes {
                    labels: l,
                    probabilities,
                    ..
                } = &r.output
                {
                    labels.extend(l.iter().map(String::as_str));
                    for (k, col) in proba.iter_mut().enumerate() {
                        col.extend_from_slice(probabilities.col(k));
                    }
                }
            }
            let mut out = vec![(
                Field::new("prediction", DataType::Categorical),
                Arc::new(StringArray::from(labels)) as ArrayRef,
            )];
            for (class, col) in classes.iter().zip(proba) {
                out.push((
                    Field::new(format!("probability_{class}"), DataType::Float),
                    Arc::new(Float64Array::from(col)) as ArrayRef,
                ));
            }
            out
        }
    })
}

fn log_path(rest: &str) -> Result<ArtifactPath, String> {
    ArtifactPath::parse(&format!("{PREDICTION_LOG_ROOT}/{rest}")).map_err(|e| e.to_string())
}

/// Removes day folders (predictions and feedback) wholly before `cutoff`'s day.
async fn purge(
    store: &dyn ArtifactStore,
    cutoff: chrono::DateTime<chrono::Utc>,
) -> Result<usize, String> {
    let keep_from = cutoff.format("%Y-%m-%d").to_string();
    let mut day_dirs = Vec::new();
    for dep in list_dirs(store, &log_path("predictions")?).await? {
        for ver in list_dirs(store, &dep).await? {
            day_dirs.extend(list_dirs(store, &ver).await?);
        }
    }
    day_dirs.extend(list_dirs(store, &log_path("feedback")?).await?);
    let mut removed = 0;
    for dir in day_dirs {
        let day = dir.parts().last().cloned().unwrap_or_default();
        if day.len() == 10 && day < keep_from {
            let d = DeletablePath::in_prediction_log(dir).map_err(|e| e.to_string())?;
            store.delete(&d).await.map_err(|e| e.to_string())?;
            removed += 1;
        }
    }
    Ok(removed)
}

async fn list_dirs(
    store: &dyn ArtifactStore,
    dir: &ArtifactPath,
) -> Result<Vec<ArtifactPath>, String> {
    let mut out = Vec::new();
    for e in store.list(dir).await.map_err(|e| e.to_string())? {
        if e.is_dir {
            out.push(dir.join(&e.name).map_err(|e| e.to_string())?);
        }
    }
    Ok(out)
}

async fn list_files(
    store: &dyn ArtifactStore,
    dir: &ArtifactPath,
) -> Result<Vec<ArtifactPath>, String> {
    let mut out = Vec::new();
    for e in store.list(dir).await.map_err(|e| e.to_string())? {
        if !e.is_dir && e.name.ends_with(".parquet") {
            out.push(dir.join(&e.name).map_err(|e| e.to_string())?);
        }
    }
    Ok(out)
}

/// Reads one Parquet object of the log.
async fn read_segment(store: &dyn ArtifactStore, path: &ArtifactPath) -> Result<Table, String> {
    let bytes = store.get(path).await.map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(move || {
        let mut file = tempfile::Builder::new()
            .suffix(".parquet")
            .tempfile()
            .map_err(|e| e.to_string())?;
        std::io::Write::write_all(&mut file, &bytes).map_err(|e| e.to_string())?;
        slipway_data::ingest::read_table(file.path(), &Default::default())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The time (UTC milliseconds) a UUIDv7 was made at; `None` for other UUIDs.
pub(crate) fn v7_time_ms(id: &Uuid) -> Option<i64> {
    if id.get_version_num() != 7 {
        return None;
    }
    let b = id.as_bytes();
    let ms = b[..6]
        .iter()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    i64::try_from(ms).ok()
}

fn day_of(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// Which of `ids` (UUIDv7) the log holds.
pub(crate) async fn known_ids(
    store: &dyn ArtifactStore,
    ids: &[Uuid],
) -> Result<HashSet<Uuid>, String> {
    let mut by_day: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for id in ids {
        if let Some(ms) = v7_time_ms(id) {
            // A segment is filed under the day its first row was scored, which can be the
            // day before for a segment that spans midnight.
            for d in [day_of(ms), day_of(ms - 86_400_000)] {
                by_day
                    .entry(d)
                    .or_default()
                    .push(id.hyphenated().to_string());
            }
        }
    }
    let mut found = HashSet::new();
    if by_day.is_empty() {
        return Ok(found);
    }
    let mut versions = Vec::new();
    for dep in list_dirs(store, &log_path("predictions")?).await? {
        versions.extend(list_dirs(store, &dep).await?);
    }
    for (day, wanted) in by_day {
        for ver in &versions {
            let dir = ver.join(&day).map_err(|e| e.to_string())?;
            for seg in list_files(store, &dir).await? {
                let name = seg.parts().last().cloned().unwrap_or_default();
                let Some((lo, hi)) = name.trim_end_matches(".parquet").split_once('_') else {
                    continue;
                };
                if !wanted.iter().any(|w| w.as_str() >= lo && w.as_str() <= hi) {
                    continue;
                }
                let table = read_segment(store, &seg).await?;
                let col = table
                    .string_values("prediction_id")
                    .map_err(|e| e.to_string())?;
                let present: HashSet<&str> = col.into_iter().flatten().collect();
                for w in &wanted {
                    if present.contains(w.as_str()) {
                        if let Ok(u) = Uuid::parse_str(w) {
                            found.insert(u);
                        }
                    }
                }
            }
        }
    }
    Ok(found)
}

/// Writes feedback rows (prediction id, label as text) as one segment.
pub(crate) async fn write_feedback(
    store: &dyn ArtifactStore,
    rows: &[(Uuid, String)],
) -> Result<(), String> {
    let now = chrono::Utc::now();
    let err = |e: slipway_data::Error| e.to_string();
    let table = Table::new(
        Schema::new(vec![
            Field::new("prediction_id", DataType::Text),
            Field::new("label", DataType::Text),
            Field::new("timestamp", DataType::Datetime),
        ])
        .map_err(err)?,
        vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(id, _)| id.hyphenated().to_string()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(_, l)| l.as_str()),
            )),
            Arc::new(TimestampMillisecondArray::from(vec![
                now.timestamp_millis();
                rows.len()
            ])),
        ],
    )
    .map_err(err)?;
    let bytes = slipway_data::ingest::parquet_bytes(&table).map_err(err)?;
    let path = log_path(&format!(
        "feedback/{}/{}.parquet",
        now.format("%Y-%m-%d"),
        Uuid::now_v7().hyphenated()
    ))?;
    store
        .put(&path, Bytes::from(bytes))
        .await
        .map_err(|e| e.to_string())
}

/// What [`export_predictions`] wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportSummary {
    /// Rows written.
    pub rows: usize,
    /// Of them, rows with feedback (a `label`).
    pub labelled: usize,
    /// Segments read.
    pub segments: usize,
    /// Versions the rows came from.
    pub versions: Vec<String>,
}

/// Reads the log of `deployment` (one `version`, or all) from `since` to `until` (UTC
/// milliseconds, inclusive start, exclusive end), joins the latest feedback of each row as
/// `label`, and writes it to `output` (Parquet, CSV or JSON lines by extension).
pub async fn export_predictions(
    store: &dyn ArtifactStore,
    deployment: &str,
    version: Option<&str>,
    since: Option<i64>,
    until: Option<i64>,
    output: &Path,
) -> Result<ExportSummary, String> {
    let dep_dir = log_path(&format!("predictions/{deployment}"))
        .map_err(|e| format!("model '{deployment}': {e}"))?;
    let mut versions = list_dirs(store, &dep_dir).await?;
    if versions.is_empty() {
        return Err(format!(
            "no predictions are logged for model '{deployment}' in this store"
        ));
    }
    if let Some(v) = version {
        versions.retain(|p| p.parts().last().is_some_and(|l| l == v));
        if versions.is_empty() {
            return Err(format!(
                "no predictions are logged for model '{deployment}' version {v}"
            ));
        }
    }
    let from_day = since.map(|ms| day_of(ms - 86_400_000));
    let mut tables: Vec<(String, Table)> = Vec::new();
    let mut segments = 0;
    for ver in &versions {
        let vname = ver.parts().last().cloned().unwrap_or_default();
        for day in list_dirs(store, ver).await? {
            let dname = day.parts().last().cloned().unwrap_or_default();
            if from_day.as_ref().is_some_and(|f| dname < *f) {
                continue;
            }
            for seg in list_files(store, &day).await? {
                let t = read_segment(store, &seg).await?;
                segments += 1;
                let times = t.numeric_values("timestamp").map_err(|e| e.to_string())?;
                let keep: Vec<usize> = (0..t.n_rows())
                    .filter(|&i| {
                        let ms = times[i] as i64;
                        since.is_none_or(|s| ms >= s) && until.is_none_or(|u| ms < u)
                    })
                    .collect();
                if !keep.is_empty() {
                    tables.push((vname.clone(), t.take(&keep).map_err(|e| e.to_string())?));
                }
            }
        }
    }
    if tables.is_empty() {
        return Err(format!(
            "no predictions of model '{deployment}' in the time range asked"
        ));
    }
    let first_schema = tables[0].1.schema().clone();
    if let Some((v, _)) = tables.iter().find(|(_, t)| *t.schema() != first_schema) {
        return Err(format!(
            "versions {} and {v} of '{deployment}' have different inputs or outputs; export \
             one at a time with --version",
            tables[0].0
        ));
    }
    let mut vset: Vec<String> = tables.iter().map(|(v, _)| v.clone()).collect();
    vset.sort();
    vset.dedup();
    let all: Vec<Table> = tables.into_iter().map(|(_, t)| t).collect();
    let table = Table::concat(&all).map_err(|e| e.to_string())?;
    // Feedback: the latest label of each id.
    let mut labels: HashMap<String, (i64, String)> = HashMap::new();
    for day in list_dirs(store, &log_path("feedback")?).await? {
        let dname = day.parts().last().cloned().unwrap_or_default();
        if from_day.as_ref().is_some_and(|f| dname < *f) {
            continue;
        }
        for seg in list_files(store, &day).await? {
            let t = read_segment(store, &seg).await?;
            let ids = t
                .string_values("prediction_id")
                .map_err(|e| e.to_string())?;
            let ls = t.string_values("label").map_err(|e| e.to_string())?;
            let ts = t.numeric_values("timestamp").map_err(|e| e.to_string())?;
            for i in 0..t.n_rows() {
                if let (Some(id), Some(l)) = (ids[i], ls[i]) {
                    let at = ts[i] as i64;
                    let e = labels.entry(id.to_string()).or_insert((at, l.to_string()));
                    if at >= e.0 {
                        *e = (at, l.to_string());
                    }
                }
            }
        }
    }
    let ids = table
        .string_values("prediction_id")
        .map_err(|e| e.to_string())?;
    let label_col: Vec<Option<String>> = ids
        .iter()
        .map(|id| id.and_then(|id| labels.get(id).map(|(_, l)| l.clone())))
        .collect();
    let labelled = label_col.iter().filter(|l| l.is_some()).count();
    let mut fields = table.schema().fields.clone();
    let mut columns: Vec<ArrayRef> = fields
        .iter()
        .map(|f| table.column(&f.name).cloned())
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let label_name = if fields.iter().any(|f| f.name == "label") {
        "feedback_label"
    } else {
        "label"
    };
    fields.push(Field::new(label_name, DataType::Text));
    columns.push(Arc::new(StringArray::from(label_col)));
    let out = Table::new(Schema::new(fields).map_err(|e| e.to_string())?, columns)
        .map_err(|e| e.to_string())?;
    let rows = out.n_rows();
    let output = output.to_path_buf();
    tokio::task::spawn_blocking(move || {
        if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        slipway_data::ingest::write_table(&out, &output).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())??;
    Ok(ExportSummary {
        rows,
        labelled,
        segments,
        versions: vset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v7_ids_carry_their_time() {
        let before = chrono::Utc::now().timestamp_millis();
        let id = Uuid::now_v7();
        let after = chrono::Utc::now().timestamp_millis();
        let t = v7_time_ms(&id).unwrap();
        assert!(before <= t && t <= after);
        assert_eq!(v7_time_ms(&Uuid::nil()), None);
    }
}
