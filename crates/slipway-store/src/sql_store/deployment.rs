//! Deployments in a SQL database. Compiled once per backend, like `tracking.rs`.

use sqlx::Row;

use super::{DbRow, Store};
use crate::deployment::{
    DeploymentEvent, DeploymentRecord, DeploymentUpdate, NewDeployment, check_event, check_new,
    not_found,
};
use crate::error::{Error, Result};
use crate::sql::{now_ms, unique_violation_as};

const COLUMNS: &str = "name, model, strategy, status, plan, state, revision, lease_owner, \
                       lease_until, creation_time, last_update";

fn record(r: &DbRow) -> Result<DeploymentRecord> {
    Ok(DeploymentRecord {
        name: r.try_get("name")?,
        model: r.try_get("model")?,
        strategy: r.try_get("strategy")?,
        status: r.try_get("status")?,
        plan: r.try_get("plan")?,
        state: r.try_get("state")?,
        revision: r.try_get("revision")?,
        lease_owner: r.try_get("lease_owner")?,
        lease_until: r.try_get("lease_until")?,
        creation_time: r.try_get("creation_time")?,
        last_update: r.try_get("last_update")?,
    })
}

impl Store {
    pub(super) async fn create_deployment_impl(
        &self,
        d: NewDeployment,
    ) -> Result<DeploymentRecord> {
        check_new(&d)?;
        let now = now_ms();
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        sqlx::query(
            "INSERT INTO deployments (name, model, strategy, status, plan, state, revision, \
             lease_owner, lease_until, creation_time, last_update) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, NULL, NULL, $7, $7)",
        )
        .bind(&d.name)
        .bind(&d.model)
        .bind(&d.strategy)
        .bind(&d.status)
        .bind(&d.plan)
        .bind(&d.state)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            unique_violation_as(
                e,
                Error::AlreadyExists(format!(
                    "a deployment named '{}' already exists (names are never reused: pick \
                     another)",
                    d.name
                )),
            )
        })?;
        sqlx::query(
            "INSERT INTO deployment_events (deployment, seq, time_ms, kind, reason, vals) \
             VALUES ($1, 1, $2, $3, $4, $5)",
        )
        .bind(&d.name)
        .bind(now)
        .bind(&d.event.kind)
        .bind(&d.event.reason)
        .bind(&d.event.values)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        drop(w);
        self.get_deployment_impl(&d.name).await
    }

    pub(super) async fn get_deployment_impl(&self, name: &str) -> Result<DeploymentRecord> {
        let mut conn = self.conns.read().await?;
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM deployments WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
        match row {
            Some(r) => record(&r),
            None => Err(not_found(name)),
        }
    }

    pub(super) async fn list_deployments_impl(&self) -> Result<Vec<DeploymentRecord>> {
        let mut conn = self.conns.read().await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM deployments ORDER BY creation_time, name"
        ))
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(record).collect()
    }

    pub(super) async fn update_deployment_impl(
        &self,
        name: &str,
        u: DeploymentUpdate,
    ) -> Result<Option<DeploymentRecord>> {
        check_event(&u.event)?;
        if u.state.contains('\0') || u.status.contains('\0') {
            return Err(Error::invalid("deployment state: no NUL characters"));
        }
        let now = now_ms();
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let exists = sqlx::query("SELECT revision FROM deployments WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(not_found(name));
        }
        let done = match &u.lease_owner {
            None => {
                sqlx::query(
                    "UPDATE deployments SET status = $1, state = $2, revision = revision + 1, \
                     last_update = $3 WHERE name = $4 AND revision = $5",
                )
                .bind(&u.status)
                .bind(&u.state)
                .bind(now)
                .bind(name)
                .bind(u.expected_revision)
                .execute(&mut *tx)
                .await?
            }
            Some(owner) => {
                sqlx::query(
                    "UPDATE deployments SET status = $1, state = $2, revision = revision + 1, \
                     last_update = $3 WHERE name = $4 AND revision = $5 AND lease_owner = $6 \
                     AND lease_until > $3",
                )
                .bind(&u.status)
                .bind(&u.state)
                .bind(now)
                .bind(name)
                .bind(u.expected_revision)
                .bind(owner)
                .execute(&mut *tx)
                .await?
            }
        };
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO deployment_events (deployment, seq, time_ms, kind, reason, vals) \
             VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM deployment_events \
             WHERE deployment = $1), $2, $3, $4, $5)",
        )
        .bind(name)
        .bind(now)
        .bind(&u.event.kind)
        .bind(&u.event.reason)
        .bind(&u.event.values)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        drop(w);
        self.get_deployment_impl(name).await.map(Some)
    }

    pub(super) async fn acquire_deployment_lease_impl(
        &self,
        name: &str,
        owner: &str,
        ttl_ms: i64,
    ) -> Result<bool> {
        if owner.is_empty() || owner.contains('\0') || owner.len() > 256 {
            return Err(Error::invalid("lease owner: 1 to 256 characters, no NUL"));
        }
        let now = now_ms();
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let done = sqlx::query(
            "UPDATE deployments SET lease_owner = $1, lease_until = $2 WHERE name = $3 AND \
             (lease_owner IS NULL OR lease_owner = $1 OR lease_until IS NULL OR lease_until <= $4)",
        )
        .bind(owner)
        .bind(now.saturating_add(ttl_ms.max(0)))
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn release_deployment_lease_impl(
        &self,
        name: &str,
        owner: &str,
    ) -> Result<()> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        sqlx::query(
            "UPDATE deployments SET lease_owner = NULL, lease_until = NULL \
             WHERE name = $1 AND lease_owner = $2",
        )
        .bind(name)
        .bind(owner)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn deployment_events_impl(&self, name: &str) -> Result<Vec<DeploymentEvent>> {
        let mut conn = self.conns.read().await?;
        let exists = sqlx::query("SELECT name FROM deployments WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Err(not_found(name));
        }
        let rows = sqlx::query(
            "SELECT seq, time_ms, kind, reason, vals FROM deployment_events \
             WHERE deployment = $1 ORDER BY seq",
        )
        .bind(name)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeploymentEvent {
                    seq: r.try_get("seq")?,
                    time_ms: r.try_get("time_ms")?,
                    kind: r.try_get("kind")?,
                    reason: r.try_get("reason")?,
                    values: r.try_get("vals")?,
                })
            })
            .collect()
    }
}
