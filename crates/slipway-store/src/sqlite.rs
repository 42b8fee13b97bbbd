//! The embedded metadata store: one SQLite file in WAL mode, schema migrations applied at open.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::error::Result;
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
        // No ping before a connection is handed out (sqlx's default): an embedded database
        // has no link to lose, and each ping is a round trip to the connection's thread.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        let write_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Self::from_pool(pool, write_pool).await
    }

    /// Opens a database from a `sqlite://` URL (as `SqliteConnectOptions` reads it).
    pub async fn open_url(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?;
        Self::open(options.get_filename()).await
    }
}
