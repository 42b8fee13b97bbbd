//! The prediction log: every scored row, with its id, time, model, version, inputs, outputs
//! and latency, written in batches to Parquet segments in the artifact store.
//!
//! Layout under [`PREDICTION_LOG_ROOT`]:
//! - `predictions/<deployment>/<version>/<YYYY-MM-DD>/<min id>_<max id>.parquet`: one
//!   segment per flush of one deployment's version. Columns: `prediction_id` (UUIDv7,
//!   time-ordered), `timestamp`, `model`, `version`, `protocol`, `arm` (`A` / `B` when a deployment routed the
//!   request, null otherwise), `latency_us`, the model's
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
//!
//! Where the server has a metadata store, each segment is then indexed there
//! ([`slipway_store::LogSegment`]: model, version, id and time range); feedback checks,
//! exports and retention find segments by query. A segment whose index row cannot be
//! written is removed again and its rows counted as shed, so the index never misses a
//! segment. Without a metadata store (`serve --bundle --prediction-log DIR`) readers list
//! the folders instead.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray, TimestampMillisecondArray};
use bytes::Bytes;
use slipway_data::{DataType, Field, Schema, Table};
use slipway_engine::serving::Output;
use slipway_store::{
    ArtifactPath, ArtifactStore, DeletablePath, LogSegment, LogSegmentKind, LogSegmentQuery,
    MetadataStore, PREDICTION_LOG_ROOT,
};
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

/// Where the log is written: the artifact store for the segments and, when the server has
/// one, the metadata store that indexes them.
#[derive(Clone)]
pub struct LogStore {
    /// Segment bytes.
    pub artifacts: Arc<dyn ArtifactStore>,
    /// The segment index; `None` lists folders instead.
    pub index: Option<Arc<dyn MetadataStore>>,
}

/// A segment to read: its path and the version it logs (empty for feedback).
pub(crate) struct SegmentRef {
    pub(crate) path: ArtifactPath,
    pub(crate) version: String,
}

impl LogStore {
    /// The segments of `query.kind` that may hold rows matching `query`: exactly those the
    /// index lists, or (without an index) every segment in the folders that could.
    pub(crate) async fn segments(
        &self,
        query: &LogSegmentQuery,
    ) -> Result<Vec<SegmentRef>, String> {
        if let Some(index) = &self.index {
            return index
                .find_log_segments(query)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|s| {
                    Ok(SegmentRef {
                        path: ArtifactPath::parse(&s.path).map_err(|e| e.to_string())?,
                        version: s.version,
                    })
                })
                .collect();
        }
        let store = self.artifacts.as_ref();
        // A segment is filed under the day its first row was scored (or its feedback
        // arrived), which is at most a day before any row in it.
        let from_day = query.since_ms.map(|ms| day_of(ms - 86_400_000));
        let until_day = query.until_ms.map(day_of);
        let day_ok = |d: &ArtifactPath| {
            let name = d.parts().last().cloned().unwrap_or_default();
            from_day.as_ref().is_none_or(|f| name >= *f)
                && until_day.as_ref().is_none_or(|u| name <= *u)
        };
        let mut out = Vec::new();
        match query.kind {
            LogSegmentKind::Feedback => {
                for day in list_dirs(store, &log_path("feedback")?).await? {
                    if day_ok(&day) {
                        for path in list_files(store, &day).await? {
                            out.push(SegmentRef {
                                path,
                                version: String::new(),
                            });
                        }
                    }
                }
            }
            LogSegmentKind::Predictions => {
                let deployments = match &query.model {
                    Some(m) => vec![log_path(&format!("predictions/{m}"))?],
                    None => list_dirs(store, &log_path("predictions")?).await?,
                };
                for dep in deployments {
                    for ver in list_dirs(store, &dep).await? {
                        let vname = ver.parts().last().cloned().unwrap_or_default();
                        if query.version.as_ref().is_some_and(|v| *v != vname) {
                            continue;
                        }
                        for day in list_dirs(store, &ver).await? {
                            if !day_ok(&day) {
                                continue;
                            }
                            for path in list_files(store, &day).await? {
                                // Segment names are `<min id>_<max id>.parquet`.
                                let name = path.parts().last().cloned().unwrap_or_default();
                                let range = name.trim_end_matches(".parquet").split_once('_');
                                if let (Some((from, to)), Some((lo, hi))) = (&query.ids, range) {
                                    if hi < from.as_str() || lo > to.as_str() {
                                        continue;
                                    }
                                }
                                out.push(SegmentRef {
                                    path,
                                    version: vname.clone(),
                                });
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Writes one segment and indexes it; on an index failure the object is removed again.
    async fn put_segment(
        &self,
        path: &ArtifactPath,
        bytes: Vec<u8>,
        segment: LogSegment,
    ) -> Result<(), String> {
        self.artifacts
            .put(path, Bytes::from(bytes))
            .await
            .map_err(|e| e.to_string())?;
        if let Some(index) = &self.index {
            if let Err(e) = index.add_log_segment(segment).await {
                if let Ok(d) = DeletablePath::in_prediction_log(path.clone()) {
                    let _ = self.artifacts.delete(&d).await;
                }
                return Err(format!(
                    "indexing the segment failed, so it was removed: {e}"
                ));
            }
        }
        Ok(())
    }
}

/// One scored request, as logged.
pub(crate) struct Record {
    pub deployment: String,
    pub version: String,
    pub protocol: &'static str,
    /// The deployment's arm that answered (`A` champion, `B` challenger), when one routes.
    pub arm: Option<&'static str>,
    pub time_ms: i64,
    pub latency_us: i64,
    pub ids: Vec<Uuid>,
    pub inputs: Table,
    pub output: Output,
}

/// Records of one deployment's version waiting for their segment, kept compact: per-row
/// columns, and the inputs of every [`COMPACT_EVERY`] requests concatenated into one table,
/// so that queued rows cost their values rather than a table each, and the work of
/// building a segment is spread over its requests.
struct Pending {
    deployment: String,
    version: String,
    ids: Vec<Uuid>,
    times: Vec<i64>,
    latency: Vec<i64>,
    protocols: Vec<&'static str>,
    arms: Vec<Option<&'static str>>,
    inputs: Vec<Table>,
    loose: Vec<Table>,
    outputs: Option<OutputColumns>,
}

/// Requests whose input tables are concatenated into one while they wait.
const COMPACT_EVERY: usize = 256;

/// The outputs of a version's rows, as columns.
enum OutputColumns {
    Values(Vec<f64>),
    Clusters(Vec<i64>),
    Classes {
        classes: Vec<String>,
        labels: Vec<String>,
        probabilities: Vec<Vec<f64>>,
    },
}

impl Pending {
    fn new(deployment: String, version: String) -> Self {
        Pending {
            deployment,
            version,
            ids: Vec::new(),
            times: Vec::new(),
            latency: Vec::new(),
            protocols: Vec::new(),
            arms: Vec::new(),
            inputs: Vec::new(),
            loose: Vec::new(),
            outputs: None,
        }
    }

    fn rows(&self) -> usize {
        self.ids.len()
    }

    /// Concatenates the loose input tables into one once there are [`COMPACT_EVERY`], on
    /// the log's thread (hundreds of microseconds that would otherwise hold up a request's
    /// thread). Tables of one version share a schema; were they ever not to, they stay
    /// loose and the segment build reports it.
    async fn compact(&mut self) {
        if self.loose.len() < COMPACT_EVERY {
            return;
        }
        let loose = std::mem::take(&mut self.loose);
        match in_background(move || Table::concat(&loose).map_err(|_| loose)).await {
            Ok(Ok(t)) => self.inputs.push(t),
            Ok(Err(loose)) => self.loose = loose,
            // The thread is gone: the tables went with it, so the rows' inputs are lost;
            // the segment build then refuses the version's rows and counts them.
            Err(_) => {}
        }
    }

    fn push(&mut self, r: Record) {
        let n = r.ids.len();
        self.ids.extend_from_slice(&r.ids);
        self.times.extend(std::iter::repeat_n(r.time_ms, n));
        self.latency.extend(std::iter::repeat_n(r.latency_us, n));
        self.protocols.extend(std::iter::repeat_n(r.protocol, n));
        self.arms.extend(std::iter::repeat_n(r.arm, n));
        self.loose.push(r.inputs);
        match (&mut self.outputs, r.output) {
            (None, Output::Values(v)) => self.outputs = Some(OutputColumns::Values(v)),
            (None, Output::Clusters(v)) => self.outputs = Some(OutputColumns::Clusters(v)),
            (
                None,
                Output::Classes {
                    labels,
                    probabilities,
                    classes,
                    ..
                },
            ) => {
                let probabilities = (0..classes.len())
                    .map(|k| probabilities.col(k).to_vec())
                    .collect();
                self.outputs = Some(OutputColumns::Classes {
                    classes,
                    labels,
                    probabilities,
                });
            }
            (Some(OutputColumns::Values(all)), Output::Values(v)) => all.extend(v),
            (Some(OutputColumns::Clusters(all)), Output::Clusters(v)) => all.extend(v),
            (
                Some(OutputColumns::Classes {
                    labels: all,
                    probabilities: cols,
                    ..
                }),
                Output::Classes {
                    labels,
                    probabilities,
                    ..
                },
            ) => {
                all.extend(labels);
                for (k, col) in cols.iter_mut().enumerate() {
                    col.extend_from_slice(probabilities.col(k));
                }
            }
            // One version answers with one kind of output; a mismatch leaves the row
            // counts unequal, which the segment build refuses.
            (Some(_), _) => {}
        }
    }
}

enum Msg {
    Record(Box<Record>),
    Flush(oneshot::Sender<()>),
    Lookup(Uuid, oneshot::Sender<Option<LoggedRow>>),
}

/// One logged prediction's row, found by its id.
pub(crate) struct LoggedRow {
    /// The deployment that made it.
    pub deployment: String,
    /// Its version.
    pub version: String,
    /// The row: the model's input columns (a segment's row also holds the log's own
    /// columns, and an input named like one of them as `input.<name>`).
    pub row: Table,
}

impl LoggedRow {
    /// The model's input columns of the row, typed as `inputs` says; `Err` names the
    /// first column the row lacks or holds as another type.
    pub fn inputs(&self, inputs: &[(String, DataType)]) -> Result<Table, String> {
        use arrow_array::Array as _;
        let names = self.row.schema().names();
        let mut fields = Vec::with_capacity(inputs.len());
        let mut columns = Vec::with_capacity(inputs.len());
        for (name, dtype) in inputs {
            let prefixed = format!("input.{name}");
            let stored = if names.iter().any(|n| *n == prefixed) {
                prefixed
            } else {
                name.clone()
            };
            let col = self
                .row
                .column(&stored)
                .map_err(|_| format!("the logged row has no column \"{name}\""))?;
            if *col.data_type() != dtype.arrow_type() {
                return Err(format!(
                    "the logged row holds \"{name}\" as {}, the model reads it as {dtype}",
                    col.data_type()
                ));
            }
            fields.push(Field::new(name.clone(), *dtype));
            columns.push(col.clone());
        }
        let schema = Schema::new(fields).map_err(|e| e.to_string())?;
        Table::new(schema, columns).map_err(|e| e.to_string())
    }
}

impl Pending {
    /// The queued row with prediction id `id`, if this version holds it.
    fn find(&self, id: &Uuid) -> Option<LoggedRow> {
        let mut at = self.ids.iter().position(|x| x == id)?;
        for t in self.inputs.iter().chain(&self.loose) {
            if at < t.n_rows() {
                return Some(LoggedRow {
                    deployment: self.deployment.clone(),
                    version: self.version.clone(),
                    row: t.take(&[at]).ok()?,
                });
            }
            at -= t.n_rows();
        }
        None
    }
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
    store: LogStore,
    capacity: usize,
}

impl PredictionLog {
    /// Starts the writer task (inside a Tokio runtime).
    pub fn start(store: LogStore, options: LogOptions) -> Self {
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

    /// The logged row with prediction id `id`: among the rows still queued, else in the
    /// written segments. The writer answers between segment writes, so a row that has
    /// left the queue is already in a segment when the segments are read.
    pub async fn lookup(&self, id: Uuid) -> Result<Option<LoggedRow>, String> {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Lookup(id, tx)).is_ok() {
            if let Ok(Some(row)) = rx.await {
                return Ok(Some(row));
            }
        }
        find_logged(&self.store, id).await
    }

    pub fn stats(&self) -> &LogStats {
        &self.stats
    }

    pub fn store(&self) -> &LogStore {
        &self.store
    }
}

async fn writer(
    store: LogStore,
    options: LogOptions,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    stats: Arc<LogStats>,
) {
    let mut groups: BTreeMap<(String, String), Pending> = BTreeMap::new();
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
                    let group = groups
                        .entry(key.clone())
                        .or_insert_with(|| Pending::new(key.0.clone(), key.1.clone()));
                    group.push(*r);
                    group.compact().await;
                    if group.rows() >= options.segment_rows {
                        if let Some(pending) = groups.remove(&key) {
                            write_segment(&store, pending, &stats).await;
                        }
                    }
                }
                Some(Msg::Flush(ack)) => {
                    flush_all(&store, &mut groups, &stats).await;
                    let _ = ack.send(());
                }
                Some(Msg::Lookup(id, answer)) => {
                    let _ = answer.send(groups.values().find_map(|g| g.find(&id)));
                }
            },
            _ = tick.tick() => {
                flush_all(&store, &mut groups, &stats).await;
                if let Some(keep) = options.retention {
                    if last_purge.is_none_or(|t| t.elapsed() >= Duration::from_secs(600)) {
                        last_purge = Some(Instant::now());
                        let cutoff = chrono::Utc::now() - keep;
                        match purge(&store, cutoff).await {
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
    store: &LogStore,
    groups: &mut BTreeMap<(String, String), Pending>,
    stats: &LogStats,
) {
    for (_, pending) in std::mem::take(groups) {
        write_segment(store, pending, stats).await;
    }
}

async fn write_segment(store: &LogStore, pending: Pending, stats: &LogStats) {
    let rows = pending.rows();
    if rows == 0 {
        return;
    }
    let built = build_in_background(pending).await;
    let result = match built {
        Ok((path, bytes, segment)) => store.put_segment(&path, bytes, segment).await,
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

type Built = Result<(ArtifactPath, Vec<u8>, LogSegment), String>;

/// Builds a segment (concatenating its rows and encoding Parquet: tens of milliseconds of
/// CPU for a full one) on the log's thread.
async fn build_in_background(pending: Pending) -> Built {
    in_background(move || build_segment(pending)).await?
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs `work` on the log's own thread, which runs at a lower scheduling priority than the
/// threads that answer requests: on a busy machine the log's work waits for idle CPU
/// instead of adding its milliseconds to requests in flight (its queue is bounded and sheds
/// rows when it falls behind).
async fn in_background<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    static THREAD: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    let sender = THREAD.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("slipway-log".into())
            .spawn(move || {
                lower_priority();
                while let Ok(job) = rx.recv() {
                    job();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("prediction log: cannot start its thread: {e}");
        }
        std::sync::Mutex::new(tx)
    });
    let (reply, done) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = reply.send(work());
    });
    let sent = sender
        .lock()
        .map_err(|_| "the log's thread is gone".to_string())?
        .send(job);
    if sent.is_err() {
        return Err("the log's thread is gone".into());
    }
    done.await
        .map_err(|_| "the log's thread stopped while working".to_string())
}

/// Lowers the calling thread's scheduling priority (nice 10; Linux keeps a nice value per
/// thread). Elsewhere the thread keeps its priority.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    {
        // SAFETY: `gettid` and `setpriority` take plain integers and touch no memory.
        let done = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, 10)
        };
        if done != 0 {
            tracing::debug!("prediction log: its thread keeps its scheduling priority");
        }
    }
}

/// Column names of a segment besides the inputs and outputs.
const META_COLUMNS: [&str; 7] = [
    "prediction_id",
    "timestamp",
    "model",
    "version",
    "protocol",
    "arm",
    "latency_us",
];

/// The segment of `p` (one deployment's version), where it goes, and its index row.
fn build_segment(p: Pending) -> Built {
    let err = |e: slipway_data::Error| e.to_string();
    let ids: Vec<String> = p.ids.iter().map(|id| id.hyphenated().to_string()).collect();
    let times = p.times;
    let latency = p.latency;
    let protocols = p.protocols;
    let arms = p.arms;
    let n = ids.len();
    let (min_id, max_id) = (
        ids.iter().min().cloned().unwrap_or_default(),
        ids.iter().max().cloned().unwrap_or_default(),
    );
    let (first_ms, last_ms) = (
        times.iter().copied().min().unwrap_or_default(),
        times.iter().copied().max().unwrap_or_default(),
    );
    let mut parts = p.inputs;
    parts.extend(p.loose);
    let inputs = Table::concat(&parts).map_err(err)?;
    if inputs.n_rows() != n {
        return Err(format!("{} input rows for {n} ids", inputs.n_rows()));
    }
    let mut fields = vec![
        Field::new("prediction_id", DataType::Text),
        Field::new("timestamp", DataType::Datetime),
        Field::new("model", DataType::Categorical),
        Field::new("version", DataType::Categorical),
        Field::new("protocol", DataType::Categorical),
        Field::new("arm", DataType::Categorical),
        Field::new("latency_us", DataType::Integer),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ids)),
        Arc::new(TimestampMillisecondArray::from(times)),
        Arc::new(StringArray::from(vec![p.deployment.as_str(); n])),
        Arc::new(StringArray::from(vec![p.version.as_str(); n])),
        Arc::new(StringArray::from(protocols)),
        Arc::new(StringArray::from(arms)),
        Arc::new(Int64Array::from(latency)),
    ];
    let outputs = output_columns(p.outputs.ok_or("no outputs")?, n)?;
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
    let bytes =
        slipway_data::ingest::parquet_bytes_with(&table, &["prediction_id"]).map_err(err)?;
    let day = chrono::DateTime::from_timestamp_millis(first_ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string();
    let path = ArtifactPath::parse(&format!(
        "{PREDICTION_LOG_ROOT}/predictions/{}/{}/{day}/{min_id}_{max_id}.parquet",
        p.deployment, p.version
    ))
    .map_err(|e| e.to_string())?;
    let segment = LogSegment {
        path: path.to_string(),
        kind: LogSegmentKind::Predictions,
        model: p.deployment.clone(),
        version: p.version.clone(),
        rows: n as i64,
        min_id,
        max_id,
        first_ms,
        last_ms,
    };
    Ok((path, bytes, segment))
}

/// The output columns of a version's `n` rows.
fn output_columns(outputs: OutputColumns, n: usize) -> Result<Vec<(Field, ArrayRef)>, String> {
    let check = |len: usize| {
        if len == n {
            Ok(())
        } else {
            Err(format!("{len} outputs for {n} rows"))
        }
    };
    Ok(match outputs {
        OutputColumns::Values(v) => {
            check(v.len())?;
            vec![(
                Field::new("prediction", DataType::Float),
                Arc::new(Float64Array::from(v)) as ArrayRef,
            )]
        }
        OutputColumns::Clusters(v) => {
            check(v.len())?;
            vec![(
                Field::new("cluster", DataType::Integer),
                Arc::new(Int64Array::from(v)) as ArrayRef,
            )]
        }
        OutputColumns::Classes {
            classes,
            labels,
            probabilities,
        } => {
            check(labels.len())?;
            let mut out = vec![(
                Field::new("prediction", DataType::Categorical),
                Arc::new(StringArray::from(labels)) as ArrayRef,
            )];
            for (class, col) in classes.iter().zip(probabilities) {
                check(col.len())?;
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

/// Removes the log (predictions and feedback) of the days wholly before `cutoff`'s day:
/// indexed segments first (object, then index row), then any day folder left.
async fn purge(store: &LogStore, cutoff: chrono::DateTime<chrono::Utc>) -> Result<usize, String> {
    let keep_from = cutoff.format("%Y-%m-%d").to_string();
    let mut removed = 0;
    if let Some(index) = &store.index {
        let day_start = cutoff
            .date_naive()
            .and_hms_opt(0, 0, 0)
            .map_or(cutoff.timestamp_millis(), |d| {
                d.and_utc().timestamp_millis()
            });
        for kind in [LogSegmentKind::Predictions, LogSegmentKind::Feedback] {
            let old = index
                .find_log_segments(&LogSegmentQuery {
                    until_ms: Some(day_start),
                    ..LogSegmentQuery::all(kind)
                })
                .await
                .map_err(|e| e.to_string())?;
            let mut gone = Vec::new();
            for seg in old {
                let path = ArtifactPath::parse(&seg.path).map_err(|e| e.to_string())?;
                let d = DeletablePath::in_prediction_log(path).map_err(|e| e.to_string())?;
                store
                    .artifacts
                    .delete(&d)
                    .await
                    .map_err(|e| e.to_string())?;
                gone.push(seg.path);
            }
            removed += gone.len();
            index
                .remove_log_segments(&gone)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    let artifacts = store.artifacts.as_ref();
    let mut day_dirs = Vec::new();
    for dep in list_dirs(artifacts, &log_path("predictions")?).await? {
        for ver in list_dirs(artifacts, &dep).await? {
            day_dirs.extend(list_dirs(artifacts, &ver).await?);
        }
    }
    day_dirs.extend(list_dirs(artifacts, &log_path("feedback")?).await?);
    for dir in day_dirs {
        let day = dir.parts().last().cloned().unwrap_or_default();
        if day.len() == 10 && day < keep_from {
            let d = DeletablePath::in_prediction_log(dir).map_err(|e| e.to_string())?;
            artifacts.delete(&d).await.map_err(|e| e.to_string())?;
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
pub(crate) async fn read_segment(
    store: &dyn ArtifactStore,
    path: &ArtifactPath,
) -> Result<Table, String> {
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

/// Which of `ids` the log holds.
pub(crate) async fn known_ids(store: &LogStore, ids: &[Uuid]) -> Result<HashSet<Uuid>, String> {
    let wanted: BTreeSet<String> = ids.iter().map(|id| id.hyphenated().to_string()).collect();
    let mut found = HashSet::new();
    let (Some(lo), Some(hi)) = (wanted.first(), wanted.last()) else {
        return Ok(found);
    };
    // Without an index, the ids' own times (UUIDv7) narrow the days to list.
    let times: Vec<i64> = ids.iter().filter_map(v7_time_ms).collect();
    let query = LogSegmentQuery {
        ids: Some((lo.clone(), hi.clone())),
        since_ms: times
            .iter()
            .copied()
            .min()
            .filter(|_| store.index.is_none()),
        until_ms: times
            .iter()
            .copied()
            .max()
            .map(|t| t + 1)
            .filter(|_| store.index.is_none()),
        ..LogSegmentQuery::all(LogSegmentKind::Predictions)
    };
    for seg in store.segments(&query).await? {
        // The file name or index row gives the segment's id range: skip it unless some
        // wanted id falls inside.
        let name = seg.path.parts().last().cloned().unwrap_or_default();
        if let Some((a, b)) = name.trim_end_matches(".parquet").split_once('_') {
            if a > b || wanted.range(a.to_string()..=b.to_string()).next().is_none() {
                continue;
            }
        }
        let table = read_segment(store.artifacts.as_ref(), &seg.path).await?;
        let col = table
            .string_values("prediction_id")
            .map_err(|e| e.to_string())?;
        for id in col.into_iter().flatten() {
            if wanted.contains(id) {
                if let Ok(u) = Uuid::parse_str(id) {
                    found.insert(u);
                }
            }
        }
    }
    Ok(found)
}

/// The written row with prediction id `id`, if a segment holds it.
async fn find_logged(store: &LogStore, id: Uuid) -> Result<Option<LoggedRow>, String> {
    let want = id.hyphenated().to_string();
    let time = v7_time_ms(&id).filter(|_| store.index.is_none());
    let query = LogSegmentQuery {
        ids: Some((want.clone(), want.clone())),
        since_ms: time,
        until_ms: time.map(|t| t + 1),
        ..LogSegmentQuery::all(LogSegmentKind::Predictions)
    };
    for seg in store.segments(&query).await? {
        let name = seg.path.parts().last().cloned().unwrap_or_default();
        if let Some((a, b)) = name.trim_end_matches(".parquet").split_once('_') {
            if a > b || want.as_str() < a || want.as_str() > b {
                continue;
            }
        }
        let table = read_segment(store.artifacts.as_ref(), &seg.path).await?;
        let at = table
            .string_values("prediction_id")
            .map_err(|e| e.to_string())?
            .iter()
            .position(|v| *v == Some(want.as_str()));
        let Some(at) = at else { continue };
        let deployment = table
            .string_values("model")
            .ok()
            .and_then(|v| v.get(at).copied().flatten().map(str::to_string))
            .unwrap_or_default();
        return Ok(Some(LoggedRow {
            deployment,
            version: seg.version,
            row: table.take(&[at]).map_err(|e| e.to_string())?,
        }));
    }
    Ok(None)
}

/// Writes feedback rows (prediction id, label as text) as one segment.
pub(crate) async fn write_feedback(
    store: &LogStore,
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
    let ids: BTreeSet<String> = rows
        .iter()
        .map(|(id, _)| id.hyphenated().to_string())
        .collect();
    let segment = LogSegment {
        path: path.to_string(),
        kind: LogSegmentKind::Feedback,
        model: String::new(),
        version: String::new(),
        rows: rows.len() as i64,
        min_id: ids.first().cloned().unwrap_or_default(),
        max_id: ids.last().cloned().unwrap_or_default(),
        first_ms: now.timestamp_millis(),
        last_ms: now.timestamp_millis(),
    };
    store.put_segment(&path, bytes, segment).await
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
    store: &LogStore,
    deployment: &str,
    version: Option<&str>,
    since: Option<i64>,
    until: Option<i64>,
    output: &Path,
) -> Result<ExportSummary, String> {
    log_path(&format!("predictions/{deployment}"))
        .map_err(|e| format!("model '{deployment}': {e}"))?;
    let all_versions = store
        .segments(&LogSegmentQuery {
            model: Some(deployment.to_string()),
            ..LogSegmentQuery::all(LogSegmentKind::Predictions)
        })
        .await?;
    if all_versions.is_empty() {
        return Err(format!(
            "no predictions are logged for model '{deployment}' in this store"
        ));
    }
    if let Some(v) = version {
        if !all_versions.iter().any(|s| s.version == v) {
            return Err(format!(
                "no predictions are logged for model '{deployment}' version {v}"
            ));
        }
    }
    let segs = store
        .segments(&LogSegmentQuery {
            model: Some(deployment.to_string()),
            version: version.map(str::to_string),
            since_ms: since,
            until_ms: until,
            ..LogSegmentQuery::all(LogSegmentKind::Predictions)
        })
        .await?;
    let mut tables: Vec<(String, Table)> = Vec::new();
    let mut segments = 0;
    for seg in &segs {
        let t = read_segment(store.artifacts.as_ref(), &seg.path).await?;
        segments += 1;
        let times = t.numeric_values("timestamp").map_err(|e| e.to_string())?;
        let keep: Vec<usize> = (0..t.n_rows())
            .filter(|&i| {
                let ms = times[i] as i64;
                since.is_none_or(|s| ms >= s) && until.is_none_or(|u| ms < u)
            })
            .collect();
        if !keep.is_empty() {
            tables.push((
                seg.version.clone(),
                t.take(&keep).map_err(|e| e.to_string())?,
            ));
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
    let ids = table
        .string_values("prediction_id")
        .map_err(|e| e.to_string())?;
    // Feedback: the latest label of each id, from the segments whose ids overlap the rows'.
    let mut labels: HashMap<String, (i64, String)> = HashMap::new();
    let (lo, hi) = (
        ids.iter().flatten().min().map(|s| s.to_string()),
        ids.iter().flatten().max().map(|s| s.to_string()),
    );
    let feedback = LogSegmentQuery {
        ids: lo.zip(hi),
        // Feedback arrives after its prediction.
        since_ms: since,
        ..LogSegmentQuery::all(LogSegmentKind::Feedback)
    };
    for seg in store.segments(&feedback).await? {
        let t = read_segment(store.artifacts.as_ref(), &seg.path).await?;
        let fids = t
            .string_values("prediction_id")
            .map_err(|e| e.to_string())?;
        let ls = t.string_values("label").map_err(|e| e.to_string())?;
        let ts = t.numeric_values("timestamp").map_err(|e| e.to_string())?;
        for i in 0..t.n_rows() {
            if let (Some(id), Some(l)) = (fids[i], ls[i]) {
                let at = ts[i] as i64;
                let e = labels.entry(id.to_string()).or_insert((at, l.to_string()));
                if at >= e.0 {
                    *e = (at, l.to_string());
                }
            }
        }
    }
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

/// The `n` most recently logged rows of `model` (the served name), newest first, read from
/// the newest segments (a segment's name starts with its first prediction id, a UUID v7,
/// so names sort by time). Flush the queue first to include rows still in it.
pub(crate) async fn recent_rows(
    store: &LogStore,
    model: &str,
    n: usize,
) -> Result<Vec<LoggedRow>, String> {
    let query = LogSegmentQuery {
        model: Some(model.to_string()),
        ..LogSegmentQuery::all(LogSegmentKind::Predictions)
    };
    let mut segments = store.segments(&query).await?;
    segments.sort_by_key(|s| std::cmp::Reverse(s.path.parts().last().cloned()));
    let mut out = Vec::with_capacity(n);
    for seg in segments {
        if out.len() >= n {
            break;
        }
        let table = read_segment(store.artifacts.as_ref(), &seg.path).await?;
        let models = table.string_values("model").map_err(|e| e.to_string())?;
        for at in (0..table.n_rows()).rev() {
            if out.len() >= n {
                break;
            }
            if models.get(at).copied().flatten() != Some(model) {
                continue;
            }
            out.push(LoggedRow {
                deployment: model.to_string(),
                version: seg.version.clone(),
                row: table.take(&[at]).map_err(|e| e.to_string())?,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old_segment(day: &str, ms: i64, n: u32) -> (ArtifactPath, LogSegment) {
        let lo = format!("00000000-0000-7000-8000-{n:012}");
        let hi = format!("00000000-0000-7000-8000-{:012}", n + 1);
        let path = ArtifactPath::parse(&format!(
            "{PREDICTION_LOG_ROOT}/predictions/m/1/{day}/{lo}_{hi}.parquet"
        ))
        .unwrap();
        let seg = LogSegment {
            path: path.to_string(),
            kind: LogSegmentKind::Predictions,
            model: "m".into(),
            version: "1".into(),
            rows: 2,
            min_id: lo,
            max_id: hi,
            first_ms: ms,
            last_ms: ms,
        };
        (path, seg)
    }

    #[tokio::test]
    async fn retention_removes_old_segments_and_their_index_rows() {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = crate::open_local_artifacts(dir.path().join("a"))
            .await
            .unwrap();
        let index: Arc<dyn MetadataStore> = Arc::new(
            slipway_store::SqliteStore::open(&dir.path().join("m.db"))
                .await
                .unwrap(),
        );
        let store = LogStore {
            artifacts: artifacts.clone(),
            index: Some(index.clone()),
        };
        let now = chrono::Utc::now();
        let old_ms = (now - chrono::Duration::days(10)).timestamp_millis();
        let (old_path, old) = old_segment(&day_of(old_ms), old_ms, 1);
        let (new_path, new) =
            old_segment(&day_of(now.timestamp_millis()), now.timestamp_millis(), 5);
        for (p, s) in [(&old_path, old), (&new_path, new.clone())] {
            store.put_segment(p, b"x".to_vec(), s).await.unwrap();
        }
        // A segment left without an index row (a crash between the two writes).
        let (orphan, _) = old_segment(&day_of(old_ms - 86_400_000), old_ms - 86_400_000, 9);
        artifacts
            .put(&orphan, Bytes::from_static(b"x"))
            .await
            .unwrap();

        let removed = purge(&store, now - chrono::Duration::days(3))
            .await
            .unwrap();
        assert!(removed >= 2, "{removed}");
        assert!(
            artifacts.get(&old_path).await.is_err(),
            "old segment removed"
        );
        assert!(
            artifacts.get(&orphan).await.is_err(),
            "orphaned day folder removed"
        );
        assert!(
            artifacts.get(&new_path).await.is_ok(),
            "recent segment kept"
        );
        let left = index
            .find_log_segments(&LogSegmentQuery::all(LogSegmentKind::Predictions))
            .await
            .unwrap();
        assert_eq!(left, vec![new]);
    }

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
