//! The prediction log's segment index in a SQL database. Compiled once per backend, like
//! `tracking.rs`.

use sqlx::Row;

use super::{Store, bind_all};
use crate::error::Result;
use crate::predlog::{LogSegment, LogSegmentKind, LogSegmentQuery, check_segment};
use crate::sql::{Bind, Binds, now_ms};

impl Store {
    pub(super) async fn add_log_segment_impl(&self, s: LogSegment) -> Result<()> {
        check_segment(&s)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        // A segment written again under the same path (a retried write) replaces its row.
        sqlx::query(
            "INSERT INTO prediction_log_segments (path, kind, model, version, n_rows, min_id, \
             max_id, first_ms, last_ms, creation_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (path) DO UPDATE SET kind = excluded.kind, model = excluded.model, \
             version = excluded.version, n_rows = excluded.n_rows, min_id = excluded.min_id, \
             max_id = excluded.max_id, first_ms = excluded.first_ms, \
             last_ms = excluded.last_ms, creation_time = excluded.creation_time",
        )
        .bind(&s.path)
        .bind(s.kind.as_str())
        .bind(&s.model)
        .bind(&s.version)
        .bind(s.rows)
        .bind(&s.min_id)
        .bind(&s.max_id)
        .bind(s.first_ms)
        .bind(s.last_ms)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn find_log_segments_impl(
        &self,
        q: &LogSegmentQuery,
    ) -> Result<Vec<LogSegment>> {
        let mut binds = Binds::default();
        let mut sql = format!(
            "SELECT path, kind, model, version, n_rows, min_id, max_id, first_ms, last_ms \
             FROM prediction_log_segments WHERE kind = {}",
            binds.push(Bind::Text(q.kind.as_str().into()))
        );
        if let Some(m) = &q.model {
            sql += &format!(" AND model = {}", binds.push(Bind::Text(m.clone())));
        }
        if let Some(v) = &q.version {
            sql += &format!(" AND version = {}", binds.push(Bind::Text(v.clone())));
        }
        if let Some((from, to)) = &q.ids {
            sql += &format!(" AND min_id <= {}", binds.push(Bind::Text(to.clone())));
            sql += &format!(" AND max_id >= {}", binds.push(Bind::Text(from.clone())));
        }
        if let Some(s) = q.since_ms {
            sql += &format!(" AND last_ms >= {}", binds.push(Bind::Int(s)));
        }
        if let Some(u) = q.until_ms {
            sql += &format!(" AND first_ms < {}", binds.push(Bind::Int(u)));
        }
        sql.push_str(" ORDER BY model, version, min_id, path");
        let query = bind_all(sqlx::query(&sql), &binds);
        let mut conn = self.conns.read().await?;
        let rows = query.fetch_all(&mut *conn).await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                Ok(LogSegment {
                    path: r.try_get("path")?,
                    kind: LogSegmentKind::parse(&kind)?,
                    model: r.try_get("model")?,
                    version: r.try_get("version")?,
                    rows: r.try_get("n_rows")?,
                    min_id: r.try_get("min_id")?,
                    max_id: r.try_get("max_id")?,
                    first_ms: r.try_get("first_ms")?,
                    last_ms: r.try_get("last_ms")?,
                })
            })
            .collect()
    }

    pub(super) async fn remove_log_segments_impl(&self, paths: &[String]) -> Result<()> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        for p in paths {
            sqlx::query("DELETE FROM prediction_log_segments WHERE path = $1")
                .bind(p)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
