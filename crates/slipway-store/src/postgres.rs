//! The team metadata store: a PostgreSQL database reached by URL, schema migrations applied
//! at connect.

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Transaction};
use tokio::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::sql::Dialect;

type Db = sqlx::Postgres;
type Conn = sqlx::PgConnection;
type DbRow = sqlx::postgres::PgRow;
const DIALECT: Dialect = Dialect::Postgres;
/// Servers starting together on one database take turns migrating it (a transaction-scoped
/// advisory lock; the key is "slipway" in ASCII).
const MIGRATION_LOCK: Option<&str> = Some("SELECT pg_advisory_xact_lock(29113692911427961)");

/// Schema migrations, applied in order at connect; never edit one that has shipped.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "tracking",
        include_str!("../migrations/postgres/0001_tracking.sql"),
    ),
    (
        2,
        "models",
        include_str!("../migrations/postgres/0002_models.sql"),
    ),
    (
        3,
        "inputs",
        include_str!("../migrations/postgres/0003_inputs.sql"),
    ),
    (
        4,
        "promotions",
        include_str!("../migrations/postgres/0004_promotions.sql"),
    ),
    (
        5,
        "prediction_log",
        include_str!("../migrations/postgres/0005_prediction_log.sql"),
    ),
    (
        6,
        "deployments",
        include_str!("../migrations/postgres/0006_deployments.sql"),
    ),
];

// The store's code, compiled here for this backend's driver (and again for the other one):
// loading one file twice is the point, not an accident.
#[allow(clippy::duplicate_mod)]
#[path = "sql_store/tracking.rs"]
mod tracking;

/// Metadata in a PostgreSQL database, for a server shared by a team.
///
/// The same queries as [`crate::SqliteStore`], with the same ids, errors, ordering and paging;
/// each write is one transaction.
pub use tracking::Store as PostgresStore;

/// Whether `uri` names a PostgreSQL database (`postgresql://` or `postgres://`).
pub fn is_postgres_url(uri: &str) -> bool {
    let lower = uri.trim_start().to_ascii_lowercase();
    lower.starts_with("postgresql://") || lower.starts_with("postgres://")
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgresql://user:password@host:port/database`)
    /// and applies any pending migrations.
    ///
    /// Errors name the host, port and database, never the user or password.
    pub async fn connect(url: &str) -> Result<Self> {
        if !is_postgres_url(url) {
            return Err(Error::invalid(
                "PostgreSQL URL must start with postgresql:// or postgres://",
            ));
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| Error::invalid(format!("invalid PostgreSQL URL: {}", reason(&e))))?
            // Notices ("relation … already exists, skipping" at each start) are not news.
            .options([("client_min_messages", "warning")]);
        let place = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        );
        // One plain connection first: the pool retries a refused connection until its
        // timeout and then only says that it timed out.
        let probe = PgConnection::connect_with(&options).await.map_err(|e| {
            Error::Internal(format!(
                "cannot connect to PostgreSQL at {place}: {}",
                reason(&e)
            ))
        })?;
        probe.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        Self::from_connections(Connections {
            pool,
            writer: Mutex::new(()),
        })
        .await
    }
}

/// The database's connections: sqlx's pool, and a lock that serializes this process's writes.
pub(crate) struct Connections {
    pool: PgPool,
    writer: Mutex<()>,
}

impl Connections {
    /// A connection from the pool.
    pub(crate) async fn read(&self) -> Result<PoolConnection<sqlx::Postgres>> {
        Ok(self.pool.acquire().await?)
    }

    /// A connection from the pool, with the write lock held until the returned guard drops.
    pub(crate) async fn write(&self) -> Result<WriteConn<'_>> {
        let lock = self.writer.lock().await;
        Ok(WriteConn {
            _lock: lock,
            conn: self.pool.acquire().await?,
        })
    }

    /// Waits for the connections in use, then closes the pool.
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

/// A pooled connection with the write lock held.
pub(crate) struct WriteConn<'a> {
    _lock: MutexGuard<'a, ()>,
    conn: PoolConnection<sqlx::Postgres>,
}

impl WriteConn<'_> {
    /// Opens a write transaction.
    pub(crate) async fn begin(&mut self) -> Result<Transaction<'_, sqlx::Postgres>> {
        Ok(self.conn.begin().await?)
    }
}

impl Deref for WriteConn<'_> {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for WriteConn<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

/// The driver's message, which for these errors names neither the URL nor its password.
fn reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_string(),
        sqlx::Error::Configuration(inner) => inner.to_string(),
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Tls(inner) => format!("TLS: {inner}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_postgres_urls() {
        assert!(is_postgres_url("postgresql://u:p@localhost/db"));
        assert!(is_postgres_url("postgres://localhost:5433/db"));
        assert!(!is_postgres_url("/var/lib/slipway.db"));
        assert!(!is_postgres_url("sqlite:///tmp/x.db"));
    }

    #[tokio::test]
    async fn bad_urls_are_invalid_and_never_echo_the_password() {
        for url in [
            "postgresql://user:s3cret@host:notaport/db",
            "postgresql://user:s3cret@host/db?sslmode=bogus",
        ] {
            let err = match PostgresStore::connect(url).await {
                Err(e) => e,
                Ok(_) => panic!("{url} connected"),
            };
            assert!(matches!(err, Error::InvalidParameter(_)), "{err:?}");
            assert!(!err.to_string().contains("s3cret"), "{err}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_server_is_named_without_credentials() {
        // Port 1 on loopback: nothing listens there.
        let err = match PostgresStore::connect("postgresql://user:s3cret@127.0.0.1:1/db").await {
            Err(e) => e,
            Ok(_) => panic!("connected to port 1"),
        };
        let text = err.to_string();
        assert!(text.contains("127.0.0.1:1/db"), "{text}");
        assert!(!text.contains("s3cret") && !text.contains("user"), "{text}");
    }
}
