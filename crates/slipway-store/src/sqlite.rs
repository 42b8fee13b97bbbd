//! The embedded metadata store: one SQLite file in WAL mode, schema migrations applied at open.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::str::FromStr;
use std::sync::Mutex as SyncMutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Database, Sqlite, Transaction, TransactionManager};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard, Semaphore, SemaphorePermit};

use crate::error::{Error, Result};
use crate::sql::Dialect;

pub use crate::sql::{
    MAX_HISTORY_RESULTS, MAX_LOGGED_MODEL_RESULTS, MAX_MODEL_VERSION_RESULTS,
    MAX_REGISTERED_MODEL_RESULTS, MAX_SEARCH_RESULTS,
};

type Db = sqlx::Sqlite;
type Conn = sqlx::SqliteConnection;
type DbRow = sqlx::sqlite::SqliteRow;
const DIALECT: Dialect = Dialect::Sqlite;
/// One process owns the file, and it serializes its own writes.
const MIGRATION_LOCK: Option<&str> = None;

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
    (
        3,
        "inputs",
        include_str!("../migrations/sqlite/0003_inputs.sql"),
    ),
    (
        4,
        "promotions",
        include_str!("../migrations/sqlite/0004_promotions.sql"),
    ),
    (
        5,
        "prediction_log",
        include_str!("../migrations/sqlite/0005_prediction_log.sql"),
    ),
    (
        6,
        "deployments",
        include_str!("../migrations/sqlite/0006_deployments.sql"),
    ),
];

// The store's code, compiled here for this backend's driver (and again for the other one):
// loading one file twice is the point, not an accident.
#[allow(clippy::duplicate_mod)]
#[path = "sql_store/tracking.rs"]
mod tracking;

/// Metadata in one SQLite file.
///
/// Reads run concurrently (WAL); writes are serialized by an in-process lock so that a
/// transaction never fails on a busy database, and each write is one transaction.
pub use tracking::Store as SqliteStore;

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
            .foreign_keys(true)
            // Statement journals (a multi-row insert with a conflict clause needs one) in
            // memory rather than a temporary file created and unlinked per write.
            .pragma("temp_store", "memory")
            // 16 MiB of page cache per connection (SQLite's default is 2 MiB), filled only as
            // pages are read. A 1,000-run search over a 12.7 MB database re-read most of its
            // pages through read(2) with the default: 55 ms of server CPU, 49 ms with 16 MiB
            // or 32 MiB (2 cores); peak RSS of the benchmark server 38 -> 48 MiB.
            .pragma("cache_size", "-16384");
        let writer = options.connect().await?;
        Self::from_connections(Connections {
            options: Box::new(options),
            idle: SyncMutex::new(Vec::new()),
            readers: Semaphore::new(READERS as usize),
            writer: Mutex::new(Some(writer)),
            writer_crashed: AtomicBool::new(false),
        })
        .await
    }

    /// Opens a database from a `sqlite://` URL (as `SqliteConnectOptions` reads it).
    pub async fn open_url(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?;
        Self::open(options.get_filename()).await
    }
}

/// Connections open for reads at most (each has its own thread and page cache).
const READERS: u32 = 8;

/// The database's connections: up to [`READERS`] for reads, and one of its own for writes,
/// handed out by the store rather than by sqlx's pool. The pool pings each connection it
/// takes back, a round trip to the connection's thread: two thread switches per request
/// on top of the query's own. An embedded database has no link to lose, and a read
/// abandoned half-way needs no clean-up (the connection's thread drops the statement when
/// its receiver is gone; a write's transaction rolls back before the writer's next command).
pub(crate) struct Connections {
    /// How each connection is opened (boxed: the options are some 400 bytes).
    options: Box<SqliteConnectOptions>,
    /// Read connections not in use.
    idle: SyncMutex<Vec<SqliteConnection>>,
    /// One permit per read connection that may be open.
    readers: Semaphore,
    /// The write connection, `None` once closed. Holding its lock is what serializes writes;
    /// its page cache stays valid from one write to the next (a connection drops its cache
    /// whenever another one has written).
    writer: Mutex<Option<SqliteConnection>>,
    /// Set when the write connection's thread was found stopped: the next write opens a new
    /// connection.
    writer_crashed: AtomicBool,
}

fn closed() -> Error {
    Error::Internal("the metadata store is closed".into())
}

impl Connections {
    /// A read connection (one is opened when none is idle and fewer than [`READERS`] are).
    pub(crate) async fn read(&self) -> Result<ReadConn<'_>> {
        let permit = self.readers.acquire().await.map_err(|_| closed())?;
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.options.connect().await?,
        };
        Ok(ReadConn {
            conns: self,
            conn: Some(conn),
            _permit: permit,
        })
    }

    /// The write connection, locked until the returned guard drops.
    pub(crate) async fn write(&self) -> Result<WriteConn<'_>> {
        let mut conn =
            MutexGuard::try_map(self.writer.lock().await, Option::as_mut).map_err(|_| closed())?;
        if self.writer_crashed.swap(false, Ordering::Relaxed) {
            *conn = self.options.connect().await?;
        }
        // A write dropped mid-way (its client hung up) whose `BEGIN` the connection's thread
        // ran and acknowledged just before the drop left a transaction that no `Transaction`
        // owns, so none rolls it back; every later `BEGIN IMMEDIATE` would then be refused.
        // (A transaction that was owned has queued its rollback ahead of anything sent now.)
        if conn.is_in_transaction() {
            <Sqlite as Database>::TransactionManager::rollback(&mut conn).await?;
        }
        Ok(WriteConn {
            conn,
            crashed: &self.writer_crashed,
        })
    }

    /// Waits for the connections in use, then closes every connection.
    pub(crate) async fn close(&self) {
        if let Ok(all) = self.readers.acquire_many(READERS).await {
            all.forget();
            self.readers.close();
        }
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|e| e.into_inner()));
        for conn in idle {
            conn.close().await.ok();
        }
        if let Some(conn) = self.writer.lock().await.take() {
            conn.close().await.ok();
        }
    }
}

/// The locked write connection.
pub(crate) struct WriteConn<'a> {
    conn: MappedMutexGuard<'a, SqliteConnection>,
    crashed: &'a AtomicBool,
}

impl WriteConn<'_> {
    /// Opens a write transaction with `BEGIN IMMEDIATE`: the database's write lock is taken
    /// at the start, where a held lock is waited for (busy timeout). A deferred transaction
    /// that read first and then writes gets "database is locked" at once when another
    /// connection holds the lock, which a failed write does until its rollback runs. Should the
    /// connection's thread have stopped (sqlx's pool would have noticed when it took the
    /// connection back), this write fails and the next one gets a new connection.
    pub(crate) async fn begin(&mut self) -> Result<Transaction<'_, Sqlite>> {
        let tx = self.conn.begin_with(BEGIN_WRITE).await;
        if let Err(sqlx::Error::WorkerCrashed) = &tx {
            self.crashed.store(true, Ordering::Relaxed);
        }
        Ok(tx?)
    }
}

const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

impl Deref for WriteConn<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.conn
    }
}

impl DerefMut for WriteConn<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

/// A read connection, back among the idle ones when dropped.
pub(crate) struct ReadConn<'a> {
    conns: &'a Connections,
    conn: Option<SqliteConnection>,
    _permit: SemaphorePermit<'a>,
}

impl Deref for ReadConn<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        self.conn.as_ref().expect("present until dropped")
    }
}

impl DerefMut for ReadConn<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.conn.as_mut().expect("present until dropped")
    }
}

impl Drop for ReadConn<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.conns.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.push(conn);
        }
    }
}
