//! Logged models and the model registry in a SQL database. Each write is one transaction under
//! the store's writer lock; version numbers come from a per-model counter bumped with
//! `UPDATE … RETURNING` inside the transaction that inserts the version (portable SQL; on
//! PostgreSQL the row lock serializes concurrent creates).
//!
//! Compiled once per backend, like `tracking.rs`.

use sqlx::Row;

use super::{Conn, DIALECT, DbRow, Store, bind_all};
use crate::error::{Error, Result};
use crate::model::{KeyValue, LifecycleStage, Metric, ModelMetric, Page, page_token};
use crate::registry::{
    LoggedModel, LoggedModelMetric, LoggedModelQuery, LoggedModelStatus, ModelStage, ModelVersion,
    ModelVersionQuery, NewLoggedModel, NewModelVersion, NewPromotion, NewRegisteredModel,
    Promotion, PromotionOutcome, RegisteredModel, RegisteredModelQuery,
};
use crate::sql::{
    Bind, Binds, LOGGED_MODELS, MAX_LOGGED_MODEL_RESULTS, MAX_MODEL_VERSION_RESULTS,
    MAX_REGISTERED_MODEL_RESULTS, MODEL_VERSIONS, REGISTERED_MODELS, VERSION_SELECT, check_alias,
    check_page_size, check_registered_name, check_source, generated_run_name,
    logged_model_not_found, new_model_id, now_ms, parse_experiment_id, parse_version,
    registered_model_exists, registered_model_not_found, unique_violation_as, version_not_found,
};
use crate::validate;

fn key_values(rows: &[DbRow]) -> Result<Vec<KeyValue>> {
    rows.iter()
        .map(|r| {
            Ok(KeyValue::new(
                r.try_get::<String, _>("key")?,
                r.try_get::<String, _>("value")?,
            ))
        })
        .collect()
}

fn logged_model_from_row(row: &DbRow) -> Result<LoggedModel> {
    let experiment_id: i64 = row.try_get("experiment_id")?;
    let status: String = row.try_get("status")?;
    let stage: String = row.try_get("lifecycle_stage")?;
    Ok(LoggedModel {
        model_id: row.try_get("model_id")?,
        experiment_id: experiment_id.to_string(),
        name: row.try_get("name")?,
        artifact_location: row.try_get("artifact_location")?,
        status: LoggedModelStatus::parse(&status)
            .map_err(|_| Error::Internal(format!("unknown logged model status {status:?}")))?,
        model_type: row.try_get("model_type")?,
        source_run_id: row.try_get("source_run_id")?,
        creation_timestamp: row.try_get("creation_time")?,
        last_updated_timestamp: row.try_get("last_update_time")?,
        lifecycle_stage: LifecycleStage::parse(&stage)?,
        tags: Vec::new(),
        params: Vec::new(),
        metrics: Vec::new(),
    })
}

fn version_from_row(row: &DbRow) -> Result<ModelVersion> {
    let stage: String = row.try_get("current_stage")?;
    Ok(ModelVersion {
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        creation_timestamp: row.try_get("creation_time")?,
        last_updated_timestamp: row.try_get("last_update_time")?,
        user_id: row.try_get("user_id")?,
        current_stage: ModelStage::parse(&stage)
            .map_err(|_| Error::Internal(format!("unknown model stage {stage:?}")))?,
        description: row.try_get("description")?,
        source: row.try_get("source")?,
        storage_location: row.try_get("storage_location")?,
        run_id: row.try_get("run_id")?,
        run_link: row.try_get("run_link")?,
        model_id: row.try_get("model_id")?,
        status: row.try_get("status")?,
        tags: Vec::new(),
        aliases: Vec::new(),
    })
}

impl Store {
    // ---- logged models ----

    async fn logged_model_row(
        conn: &mut Conn,
        model_id: &str,
        allow_deleted: bool,
    ) -> Result<LoggedModel> {
        let row = sqlx::query("SELECT * FROM logged_models WHERE model_id = $1")
            .bind(model_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| logged_model_not_found(model_id))?;
        let mut m = logged_model_from_row(&row)?;
        if m.lifecycle_stage == LifecycleStage::Deleted && !allow_deleted {
            return Err(logged_model_not_found(model_id));
        }
        m.tags = key_values(
            &sqlx::query(
                "SELECT key, value FROM logged_model_tags WHERE model_id = $1 ORDER BY rowid",
            )
            .bind(model_id)
            .fetch_all(&mut *conn)
            .await?,
        )?;
        m.params = key_values(
            &sqlx::query(
                "SELECT key, value FROM logged_model_params WHERE model_id = $1 ORDER BY rowid",
            )
            .bind(model_id)
            .fetch_all(&mut *conn)
            .await?,
        )?;
        let rows = sqlx::query(
            "SELECT key, value, is_nan, timestamp, step, run_uuid, dataset_name, dataset_digest
             FROM logged_model_metrics WHERE model_id = $1 ORDER BY rowid",
        )
        .bind(model_id)
        .fetch_all(&mut *conn)
        .await?;
        m.metrics = rows
            .iter()
            .map(|r| {
                let is_nan: i64 = r.try_get("is_nan")?;
                Ok(LoggedModelMetric {
                    run_id: r.try_get("run_uuid")?,
                    metric: ModelMetric {
                        metric: Metric {
                            key: r.try_get("key")?,
                            value: if is_nan != 0 {
                                f64::NAN
                            } else {
                                r.try_get("value")?
                            },
                            timestamp: r.try_get("timestamp")?,
                            step: r.try_get("step")?,
                        },
                        model_id: model_id.to_string(),
                        dataset_name: r.try_get("dataset_name")?,
                        dataset_digest: r.try_get("dataset_digest")?,
                    },
                })
            })
            .collect::<Result<_>>()?;
        Ok(m)
    }

    async fn upsert_logged_model_tag(
        conn: &mut Conn,
        model_id: &str,
        tag: &KeyValue,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO logged_model_tags (model_id, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value",
        )
        .bind(model_id)
        .bind(&tag.key)
        .bind(&tag.value)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn insert_logged_model_params(
        conn: &mut Conn,
        model_id: &str,
        params: &[KeyValue],
    ) -> Result<()> {
        for p in params {
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT value FROM logged_model_params WHERE model_id = $1 AND key = $2",
            )
            .bind(model_id)
            .bind(&p.key)
            .fetch_optional(&mut *conn)
            .await?;
            match existing {
                Some(old) if old == p.value => {}
                Some(old) => {
                    return Err(Error::invalid(format!(
                        "Changing param values is not allowed. Param with key='{}' was already \
                         logged with value='{old}' for logged model ID='{model_id}'. Attempted \
                         logging new value '{}'.",
                        p.key, p.value
                    )));
                }
                None => {
                    sqlx::query(
                        "INSERT INTO logged_model_params (model_id, key, value) VALUES ($1, $2, $3)",
                    )
                    .bind(model_id)
                    .bind(&p.key)
                    .bind(&p.value)
                    .execute(&mut *conn)
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn touch_logged_model(conn: &mut Conn, model_id: &str) -> Result<()> {
        sqlx::query("UPDATE logged_models SET last_update_time = $1 WHERE model_id = $2")
            .bind(now_ms())
            .bind(model_id)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    pub(super) async fn create_logged_model_impl(
        &self,
        new: NewLoggedModel,
    ) -> Result<LoggedModel> {
        new.tags.iter().try_for_each(validate::tag)?;
        new.params.iter().try_for_each(validate::param)?;
        let name = new
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(generated_run_name);
        validate::name("logged model", &name)?;
        let exp_id = parse_experiment_id(&new.experiment_id)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let exp = Self::active_experiment(&mut tx, exp_id, &new.experiment_id).await?;
        let source_run_id = new.source_run_id.clone().filter(|r| !r.is_empty());
        if let Some(run_id) = &source_run_id {
            Self::run_stage(&mut tx, run_id).await?;
        }
        let model_id = new_model_id();
        let artifact_location = format!(
            "{}/models/{model_id}/artifacts",
            exp.artifact_location.trim_end_matches('/')
        );
        let now = now_ms();
        sqlx::query(
            "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, status,
                 model_type, source_run_id, creation_time, last_update_time, lifecycle_stage)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active')",
        )
        .bind(&model_id)
        .bind(exp_id)
        .bind(&name)
        .bind(&artifact_location)
        .bind(LoggedModelStatus::Pending.as_str())
        .bind(new.model_type.clone().unwrap_or_default())
        .bind(&source_run_id)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for t in &new.tags {
            Self::upsert_logged_model_tag(&mut tx, &model_id, t).await?;
        }
        Self::insert_logged_model_params(&mut tx, &model_id, &new.params).await?;
        let model = Self::logged_model_row(&mut tx, &model_id, false).await?;
        tx.commit().await?;
        Ok(model)
    }

    pub(super) async fn get_logged_model_impl(
        &self,
        model_id: &str,
        allow_deleted: bool,
    ) -> Result<LoggedModel> {
        let mut conn = self.conns.read().await?;
        Self::logged_model_row(&mut conn, model_id, allow_deleted).await
    }

    pub(super) async fn finalize_logged_model_impl(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        Self::logged_model_row(&mut tx, model_id, false).await?;
        sqlx::query(
            "UPDATE logged_models SET status = $1, last_update_time = $2 WHERE model_id = $3",
        )
        .bind(status.as_str())
        .bind(now_ms())
        .bind(model_id)
        .execute(&mut *tx)
        .await?;
        let model = Self::logged_model_row(&mut tx, model_id, false).await?;
        tx.commit().await?;
        Ok(model)
    }

    pub(super) async fn delete_logged_model_impl(&self, model_id: &str) -> Result<()> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        Self::logged_model_row(&mut tx, model_id, false).await?;
        sqlx::query(
            "UPDATE logged_models SET lifecycle_stage = 'deleted', last_update_time = $1 \
             WHERE model_id = $2",
        )
        .bind(now_ms())
        .bind(model_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn set_logged_model_tags_impl(
        &self,
        model_id: &str,
        tags: Vec<KeyValue>,
    ) -> Result<()> {
        tags.iter().try_for_each(validate::tag)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        Self::logged_model_row(&mut tx, model_id, false).await?;
        for t in &tags {
            Self::upsert_logged_model_tag(&mut tx, model_id, t).await?;
        }
        Self::touch_logged_model(&mut tx, model_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn delete_logged_model_tag_impl(
        &self,
        model_id: &str,
        key: &str,
    ) -> Result<()> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        Self::logged_model_row(&mut tx, model_id, false).await?;
        let done = sqlx::query("DELETE FROM logged_model_tags WHERE model_id = $1 AND key = $2")
            .bind(model_id)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!(
                "No tag with key '{key}' on logged model with ID '{model_id}'"
            )));
        }
        Self::touch_logged_model(&mut tx, model_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn log_logged_model_params_impl(
        &self,
        model_id: &str,
        params: Vec<KeyValue>,
    ) -> Result<()> {
        params.iter().try_for_each(validate::param)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        Self::logged_model_row(&mut tx, model_id, false).await?;
        Self::insert_logged_model_params(&mut tx, model_id, &params).await?;
        Self::touch_logged_model(&mut tx, model_id).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn search_logged_models_impl(
        &self,
        query: &LoggedModelQuery,
    ) -> Result<Page<LoggedModel>> {
        let limit = check_page_size(query.max_results, MAX_LOGGED_MODEL_RESULTS)?;
        let offset = page_token::decode(query.page_token.as_deref())?;
        let mut experiment_ids = Vec::new();
        for id in &query.experiment_ids {
            experiment_ids.push(parse_experiment_id(id)?);
        }
        if experiment_ids.is_empty() {
            return Err(Error::invalid(
                "Missing value for required parameter 'experiment_ids'",
            ));
        }
        let (select, filter, order, mut binds) =
            LOGGED_MODELS.filter_and_order(DIALECT, &query.filter.clauses, &query.order_by)?;
        let ids = binds.list(experiment_ids.iter().map(|id| Bind::Int(*id)));
        let page = binds.page(limit, offset);
        let sql = format!(
            "SELECT * FROM (SELECT l.*{select} FROM logged_models l WHERE 1 = 1{filter} \
             AND l.experiment_id IN ({ids}) AND l.lifecycle_stage = 'active') AS q \
             ORDER BY {order}creation_time DESC, model_id ASC {page}"
        );
        let mut conn = self.conns.read().await?;
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&mut *conn)
            .await?;
        let mut items = Vec::new();
        for row in rows.iter().take(limit) {
            let id: String = row.try_get("model_id")?;
            items.push(Self::logged_model_row(&mut conn, &id, false).await?);
        }
        let next_page_token = (rows.len() > limit).then(|| page_token::encode(offset + limit));
        Ok(Page {
            items,
            next_page_token,
        })
    }

    // ---- registered models ----

    async fn model_key(conn: &mut Conn, name: &str) -> Result<i64> {
        sqlx::query_scalar("SELECT model_key FROM registered_models WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| registered_model_not_found(name))
    }

    async fn touch_registered_model(conn: &mut Conn, key: i64) -> Result<()> {
        sqlx::query("UPDATE registered_models SET last_update_time = $1 WHERE model_key = $2")
            .bind(now_ms())
            .bind(key)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Fills a version's tags and aliases.
    async fn complete_version(conn: &mut Conn, v: &mut ModelVersion) -> Result<()> {
        let key: i64 =
            sqlx::query_scalar("SELECT model_key FROM registered_models WHERE name = $1")
                .bind(&v.name)
                .fetch_one(&mut *conn)
                .await?;
        v.tags = key_values(
            &sqlx::query(
                "SELECT key, value FROM model_version_tags WHERE model_key = $1 AND version = $2 \
                 ORDER BY rowid",
            )
            .bind(key)
            .bind(v.version)
            .fetch_all(&mut *conn)
            .await?,
        )?;
        v.aliases = sqlx::query_scalar(
            "SELECT alias FROM registered_model_aliases WHERE model_key = $1 AND version = $2 \
             ORDER BY alias",
        )
        .bind(key)
        .bind(v.version)
        .fetch_all(&mut *conn)
        .await?;
        Ok(())
    }

    async fn versions_where(
        conn: &mut Conn,
        condition: &str,
        binds: &Binds,
    ) -> Result<Vec<ModelVersion>> {
        let sql = format!("{VERSION_SELECT} WHERE {condition} ORDER BY v.version");
        let rows = bind_all(sqlx::query(&sql), binds)
            .fetch_all(&mut *conn)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut v = version_from_row(row)?;
            Self::complete_version(conn, &mut v).await?;
            out.push(v);
        }
        Ok(out)
    }

    async fn version_row(conn: &mut Conn, name: &str, version: &str) -> Result<ModelVersion> {
        let number = parse_version(version)?;
        let key = Self::model_key(conn, name).await?;
        let mut binds = Binds::default();
        let condition = format!(
            "v.model_key = {} AND v.version = {}",
            binds.push(Bind::Int(key)),
            binds.push(Bind::Int(number))
        );
        Self::versions_where(conn, &condition, &binds)
            .await?
            .pop()
            .ok_or_else(|| version_not_found(name, number))
    }

    async fn latest_versions(
        conn: &mut Conn,
        key: i64,
        stages: &[ModelStage],
    ) -> Result<Vec<ModelVersion>> {
        let stages: Vec<&str> = if stages.is_empty() {
            ModelStage::ALL.iter().map(|s| s.as_str()).collect()
        } else {
            stages.iter().map(|s| s.as_str()).collect()
        };
        let mut binds = Binds::default();
        let key = binds.push(Bind::Int(key));
        let stages = binds.list(stages.iter().map(|s| Bind::Text(s.to_string())));
        let condition = format!(
            "v.model_key = {key} AND v.current_stage IN ({stages}) AND v.version = \
             (SELECT MAX(v2.version) FROM model_versions v2 \
              WHERE v2.model_key = v.model_key AND v2.current_stage = v.current_stage)"
        );
        Self::versions_where(conn, &condition, &binds).await
    }

    async fn registered_model_row(conn: &mut Conn, key: i64) -> Result<RegisteredModel> {
        let row = sqlx::query("SELECT * FROM registered_models WHERE model_key = $1")
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
        let tags = key_values(
            &sqlx::query(
                "SELECT key, value FROM registered_model_tags WHERE model_key = $1 ORDER BY rowid",
            )
            .bind(key)
            .fetch_all(&mut *conn)
            .await?,
        )?;
        let alias_rows = sqlx::query(
            "SELECT alias, version FROM registered_model_aliases WHERE model_key = $1 ORDER BY alias",
        )
        .bind(key)
        .fetch_all(&mut *conn)
        .await?;
        let aliases = alias_rows
            .iter()
            .map(|r| Ok((r.try_get("alias")?, r.try_get("version")?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(RegisteredModel {
            name: row.try_get("name")?,
            creation_timestamp: row.try_get("creation_time")?,
            last_updated_timestamp: row.try_get("last_update_time")?,
            description: row.try_get("description")?,
            latest_versions: Self::latest_versions(conn, key, &[]).await?,
            tags,
            aliases,
        })
    }

    pub(super) async fn create_registered_model_impl(
        &self,
        new: NewRegisteredModel,
    ) -> Result<RegisteredModel> {
        check_registered_name(&new.name)?;
        new.tags.iter().try_for_each(validate::tag)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT model_key FROM registered_models WHERE name = $1")
                .bind(&new.name)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Err(registered_model_exists(&new.name));
        }
        let now = now_ms();
        let key: i64 = sqlx::query_scalar(
            "INSERT INTO registered_models (name, description, creation_time, last_update_time, last_version)
             VALUES ($1, $2, $3, $4, 0) RETURNING model_key",
        )
        .bind(&new.name)
        .bind(new.description.clone().unwrap_or_default())
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique_violation_as(e, registered_model_exists(&new.name)))?;
        for t in &new.tags {
            Self::upsert_registered_model_tag(&mut tx, key, t).await?;
        }
        let model = Self::registered_model_row(&mut tx, key).await?;
        tx.commit().await?;
        Ok(model)
    }

    async fn upsert_registered_model_tag(conn: &mut Conn, key: i64, tag: &KeyValue) -> Result<()> {
        sqlx::query(
            "INSERT INTO registered_model_tags (model_key, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (model_key, key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(&tag.key)
        .bind(&tag.value)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    pub(super) async fn get_registered_model_impl(&self, name: &str) -> Result<RegisteredModel> {
        let mut conn = self.conns.read().await?;
        let key = Self::model_key(&mut conn, name).await?;
        Self::registered_model_row(&mut conn, key).await
    }

    pub(super) async fn rename_registered_model_impl(
        &self,
        name: &str,
        new_name: &str,
    ) -> Result<RegisteredModel> {
        check_registered_name(new_name)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let key = Self::model_key(&mut tx, name).await?;
        let taken: Option<i64> = sqlx::query_scalar(
            "SELECT model_key FROM registered_models WHERE name = $1 AND model_key != $2",
        )
        .bind(new_name)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            return Err(registered_model_exists(new_name));
        }
        let now = now_ms();
        sqlx::query(
            "UPDATE registered_models SET name = $1, last_update_time = $2 WHERE model_key = $3",
        )
        .bind(new_name)
        .bind(now)
        .bind(key)
        .execute(&mut *tx)
        .await
        .map_err(|e| unique_violation_as(e, registered_model_exists(new_name)))?;
        sqlx::query("UPDATE model_versions SET last_update_time = $1 WHERE model_key = $2")
            .bind(now)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        let model = Self::registered_model_row(&mut tx, key).await?;
        tx.commit().await?;
        Ok(model)
    }

    pub(super) async fn update_registered_model_impl(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let key = Self::model_key(&mut tx, name).await?;
        sqlx::query(
            "UPDATE registered_models SET description = $1, last_update_time = $2 WHERE model_key = $3",
        )
        .bind(description)
        .bind(now_ms())
        .bind(key)
        .execute(&mut *tx)
        .await?;
        let model = Self::registered_model_row(&mut tx, key).await?;
        tx.commit().await?;
        Ok(model)
    }

    pub(super) async fn delete_registered_model_impl(&self, name: &str) -> Result<()> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let key = Self::model_key(&mut tx, name).await?;
        // Children first, so the delete does not depend on the driver enabling cascades.
        for sql in [
            "DELETE FROM registered_model_aliases WHERE model_key = $1",
            "DELETE FROM model_promotions WHERE model_key = $1",
            "DELETE FROM model_version_tags WHERE model_key = $1",
            "DELETE FROM model_versions WHERE model_key = $1",
            "DELETE FROM registered_model_tags WHERE model_key = $1",
            "DELETE FROM registered_models WHERE model_key = $1",
        ] {
            sqlx::query(sql).bind(key).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn search_registered_models_impl(
        &self,
        query: &RegisteredModelQuery,
    ) -> Result<Page<RegisteredModel>> {
        let limit = check_page_size(query.max_results, MAX_REGISTERED_MODEL_RESULTS)?;
        let offset = page_token::decode(query.page_token.as_deref())?;
        let (select, filter, order, mut binds) =
            REGISTERED_MODELS.filter_and_order(DIALECT, &query.filter.clauses, &query.order_by)?;
        let page = binds.page(limit, offset);
        let sql = format!(
            "SELECT * FROM (SELECT m.*{select} FROM registered_models m WHERE 1 = 1{filter}) AS q \
             ORDER BY {order}name ASC {page}"
        );
        let mut conn = self.conns.read().await?;
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&mut *conn)
            .await?;
        let mut items = Vec::new();
        for row in rows.iter().take(limit) {
            let key: i64 = row.try_get("model_key")?;
            items.push(Self::registered_model_row(&mut conn, key).await?);
        }
        let next_page_token = (rows.len() > limit).then(|| page_token::encode(offset + limit));
        Ok(Page {
            items,
            next_page_token,
        })
    }

    pub(super) async fn set_registered_model_tag_impl(
        &self,
        name: &str,
        tag: KeyValue,
    ) -> Result<()> {
        validate::tag(&tag)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let key = Self::model_key(&mut tx, name).await?;
        Self::upsert_registered_model_tag(&mut tx, key, &tag).await?;
        Self::touch_registered_model(&mut tx, key).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn delete_registered_model_tag_impl(
        &self,
        name: &str,
        tag_key: &str,
    ) -> Result<()> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let key = Self::model_key(&mut tx, name).await?;
        let done =
            sqlx::query("DELETE FROM registered_model_tags WHERE model_key = $1 AND key = $2")
                .bind(key)
                .bind(tag_key)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!(
                "No tag with key '{tag_key}' on registered model '{name}'"
            )));
        }
        Self::touch_registered_model(&mut tx, key).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn set_registered_model_alias_impl(
        &self,
        name: &str,
        alias: &str,
        version: &str,
    ) -> Result<()> {
        check_alias(alias)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let v = Self::version_row(&mut tx, name, version).await?;
        let key = Self::model_key(&mut tx, name).await?;
        sqlx::query(
            "INSERT INTO registered_model_aliases (model_key, alias, version) VALUES ($1, $2, $3)
             ON CONFLICT (model_key, alias) DO UPDATE SET version = excluded.version",
        )
        .bind(key)
        .bind(alias)
        .bind(v.version)
        .execute(&mut *tx)
        .await?;
        Self::touch_registered_model(&mut tx, key).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn delete_registered_model_alias_impl(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<()> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let key = Self::model_key(&mut tx, name).await?;
        let done =
            sqlx::query("DELETE FROM registered_model_aliases WHERE model_key = $1 AND alias = $2")
                .bind(key)
                .bind(alias)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() > 0 {
            Self::touch_registered_model(&mut tx, key).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ---- promotion history ----

    /// Inserts one history entry and returns it as stored.
    #[allow(clippy::too_many_arguments)]
    async fn insert_promotion(
        conn: &mut Conn,
        key: i64,
        name: &str,
        version: i64,
        alias: &str,
        outcome: PromotionOutcome,
        reasons: &[String],
        forced: bool,
        override_reason: Option<&str>,
        actor: Option<&str>,
    ) -> Result<Promotion> {
        let now = now_ms();
        let reasons_json = serde_json::to_string(reasons)
            .map_err(|e| Error::Internal(format!("encoding promotion reasons: {e}")))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO model_promotions (model_key, version, alias, outcome, reasons, forced, \
             override_reason, actor, creation_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING promotion_id",
        )
        .bind(key)
        .bind(version)
        .bind(alias)
        .bind(outcome.as_str())
        .bind(&reasons_json)
        .bind(i64::from(forced))
        .bind(override_reason)
        .bind(actor)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        Ok(Promotion {
            id,
            name: name.to_string(),
            version,
            alias: alias.to_string(),
            outcome,
            reasons: reasons.to_vec(),
            forced,
            override_reason: override_reason.map(str::to_string),
            actor: actor.map(str::to_string),
            timestamp: now,
        })
    }

    fn check_promotion_text(field: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) if v.chars().count() > validate::MAX_TAG_VALUE_LENGTH => {
                Err(Error::invalid(format!(
                    "{field} is {} characters long; the limit is {}",
                    v.chars().count(),
                    validate::MAX_TAG_VALUE_LENGTH
                )))
            }
            _ => Ok(()),
        }
    }

    pub(super) async fn record_promotion_impl(&self, attempt: NewPromotion) -> Result<Promotion> {
        check_alias(&attempt.alias)?;
        if attempt.outcome == PromotionOutcome::Removed {
            return Err(Error::invalid(
                "a removal is recorded by removing the alias, not as a promotion",
            ));
        }
        Self::check_promotion_text("override reason", attempt.override_reason.as_deref())?;
        Self::check_promotion_text("actor", attempt.actor.as_deref())?;
        attempt.version_tags.iter().try_for_each(validate::tag)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let v = Self::version_row(&mut tx, &attempt.name, &attempt.version).await?;
        let key = Self::model_key(&mut tx, &attempt.name).await?;
        let promotion = Self::insert_promotion(
            &mut tx,
            key,
            &attempt.name,
            v.version,
            &attempt.alias,
            attempt.outcome,
            &attempt.reasons,
            attempt.forced,
            attempt.override_reason.as_deref(),
            attempt.actor.as_deref(),
        )
        .await?;
        for tag in &attempt.version_tags {
            Self::upsert_version_tag(&mut tx, key, v.version, tag).await?;
        }
        if attempt.outcome.moves_alias() {
            sqlx::query(
                "INSERT INTO registered_model_aliases (model_key, alias, version) VALUES ($1, $2, $3)
                 ON CONFLICT (model_key, alias) DO UPDATE SET version = excluded.version",
            )
            .bind(key)
            .bind(&attempt.alias)
            .bind(v.version)
            .execute(&mut *tx)
            .await?;
        }
        if !attempt.version_tags.is_empty() {
            Self::touch_version(&mut tx, key, v.version).await?;
        }
        Self::touch_registered_model(&mut tx, key).await?;
        tx.commit().await?;
        Ok(promotion)
    }

    pub(super) async fn remove_protected_alias_impl(
        &self,
        name: &str,
        alias: &str,
        actor: Option<&str>,
    ) -> Result<Option<Promotion>> {
        Self::check_promotion_text("actor", actor)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let key = Self::model_key(&mut tx, name).await?;
        let version: Option<i64> = sqlx::query_scalar(
            "DELETE FROM registered_model_aliases WHERE model_key = $1 AND alias = $2 \
             RETURNING version",
        )
        .bind(key)
        .bind(alias)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(version) = version else {
            return Ok(None);
        };
        let promotion = Self::insert_promotion(
            &mut tx,
            key,
            name,
            version,
            alias,
            PromotionOutcome::Removed,
            &[],
            false,
            None,
            actor,
        )
        .await?;
        Self::touch_registered_model(&mut tx, key).await?;
        tx.commit().await?;
        Ok(Some(promotion))
    }

    pub(super) async fn list_promotions_impl(&self, name: &str) -> Result<Vec<Promotion>> {
        let mut conn = self.conns.read().await?;
        let key = Self::model_key(&mut conn, name).await?;
        let rows = sqlx::query(
            "SELECT promotion_id, version, alias, outcome, reasons, forced, override_reason, \
             actor, creation_time FROM model_promotions WHERE model_key = $1 \
             ORDER BY promotion_id",
        )
        .bind(key)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| {
                let outcome: String = r.try_get("outcome")?;
                let reasons: String = r.try_get("reasons")?;
                let forced: i64 = r.try_get("forced")?;
                Ok(Promotion {
                    id: r.try_get("promotion_id")?,
                    name: name.to_string(),
                    version: r.try_get("version")?,
                    alias: r.try_get("alias")?,
                    outcome: PromotionOutcome::parse(&outcome).map_err(|_| {
                        Error::Internal(format!("unknown promotion outcome {outcome:?}"))
                    })?,
                    reasons: serde_json::from_str(&reasons).map_err(|e| {
                        Error::Internal(format!("promotion reasons are not a JSON list: {e}"))
                    })?,
                    forced: forced != 0,
                    override_reason: r.try_get("override_reason")?,
                    actor: r.try_get("actor")?,
                    timestamp: r.try_get("creation_time")?,
                })
            })
            .collect()
    }

    pub(super) async fn get_model_version_by_alias_impl(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion> {
        let mut conn = self.conns.read().await?;
        let key = Self::model_key(&mut conn, name).await?;
        let version: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM registered_model_aliases WHERE model_key = $1 AND alias = $2",
        )
        .bind(key)
        .bind(alias)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(version) = version else {
            return Err(Error::invalid(format!(
                "Registered model alias {alias} not found."
            )));
        };
        Self::version_row(&mut conn, name, &version.to_string()).await
    }

    pub(super) async fn get_latest_versions_impl(
        &self,
        name: &str,
        stages: &[ModelStage],
    ) -> Result<Vec<ModelVersion>> {
        let mut conn = self.conns.read().await?;
        let key = Self::model_key(&mut conn, name).await?;
        Self::latest_versions(&mut conn, key, stages).await
    }

    // ---- model versions ----

    /// Where a version's files are, and the run and logged model it came from.
    async fn resolve_source(
        conn: &mut Conn,
        new: &NewModelVersion,
    ) -> Result<(String, Option<String>, Option<String>)> {
        let run_id = new.run_id.clone().filter(|r| !r.is_empty());
        let model_id = new.model_id.clone().filter(|m| !m.is_empty());
        if let Some(rest) = new.source.strip_prefix("models:/") {
            let rest = rest.trim_matches('/');
            return match rest.split_once('/') {
                None => {
                    let id = model_id.clone().unwrap_or_else(|| rest.to_string());
                    let model = Self::logged_model_row(conn, &id, false).await?;
                    Ok((
                        model.artifact_location,
                        run_id.or(model.source_run_id),
                        Some(model.model_id),
                    ))
                }
                Some((name, version)) => {
                    let v = Self::version_row(conn, name, version).await?;
                    Ok((
                        v.storage_location,
                        run_id.or(Some(v.run_id).filter(|r| !r.is_empty())),
                        model_id.or(v.model_id),
                    ))
                }
            };
        }
        if let Some(rest) = new.source.strip_prefix("runs:/") {
            let (source_run, path) = rest.split_once('/').unwrap_or((rest, ""));
            let info = Self::run_info(conn, source_run).await?;
            let path = path.trim_matches('/');
            let storage = if path.is_empty() {
                info.artifact_uri.clone()
            } else {
                format!("{}/{path}", info.artifact_uri.trim_end_matches('/'))
            };
            return Ok((storage, run_id.or(Some(info.run_id)), model_id));
        }
        if let Some(id) = &model_id {
            Self::logged_model_row(conn, id, false).await?;
        }
        Ok((new.source.clone(), run_id, model_id))
    }

    pub(super) async fn create_model_version_impl(
        &self,
        new: NewModelVersion,
    ) -> Result<ModelVersion> {
        check_registered_name(&new.name)?;
        check_source(&new.source)?;
        new.tags.iter().try_for_each(validate::tag)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        Self::model_key(&mut tx, &new.name).await?;
        let (storage, run_id, model_id) = Self::resolve_source(&mut tx, &new).await?;
        if let Some(run) = &run_id {
            // A missing run is `NotFound`; a deleted one may still be registered from.
            Self::run_stage(&mut tx, run).await?;
        }
        let now = now_ms();
        let (key, version): (i64, i64) = {
            let row = sqlx::query(
                "UPDATE registered_models SET last_version = last_version + 1, last_update_time = $1
                 WHERE name = $2 RETURNING model_key, last_version",
            )
            .bind(now)
            .bind(&new.name)
            .fetch_one(&mut *tx)
            .await?;
            (row.try_get("model_key")?, row.try_get("last_version")?)
        };
        sqlx::query(
            "INSERT INTO model_versions (model_key, version, description, user_id, current_stage,
                 source, storage_location, run_id, run_link, model_id, status, creation_time,
                 last_update_time)
             VALUES ($1, $2, $3, $4, 'None', $5, $6, $7, $8, $9, 'READY', $10, $11)",
        )
        .bind(key)
        .bind(version)
        .bind(new.description.clone().unwrap_or_default())
        .bind(new.user_id.clone().unwrap_or_default())
        .bind(&new.source)
        .bind(&storage)
        .bind(run_id.clone().unwrap_or_default())
        .bind(new.run_link.clone().unwrap_or_default())
        .bind(&model_id)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for t in &new.tags {
            Self::upsert_version_tag(&mut tx, key, version, t).await?;
        }
        let v = Self::version_row(&mut tx, &new.name, &version.to_string()).await?;
        tx.commit().await?;
        Ok(v)
    }

    async fn upsert_version_tag(
        conn: &mut Conn,
        key: i64,
        version: i64,
        tag: &KeyValue,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO model_version_tags (model_key, version, key, value) VALUES ($1, $2, $3, $4)
             ON CONFLICT (model_key, version, key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(version)
        .bind(&tag.key)
        .bind(&tag.value)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn touch_version(conn: &mut Conn, key: i64, version: i64) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "UPDATE model_versions SET last_update_time = $1 WHERE model_key = $2 AND version = $3",
        )
        .bind(now)
        .bind(key)
        .bind(version)
        .execute(&mut *conn)
        .await?;
        Self::touch_registered_model(conn, key).await
    }

    pub(super) async fn get_model_version_impl(
        &self,
        name: &str,
        version: &str,
    ) -> Result<ModelVersion> {
        let mut conn = self.conns.read().await?;
        Self::version_row(&mut conn, name, version).await
    }

    pub(super) async fn update_model_version_impl(
        &self,
        name: &str,
        version: &str,
        description: &str,
    ) -> Result<ModelVersion> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let v = Self::version_row(&mut tx, name, version).await?;
        let key = Self::model_key(&mut tx, name).await?;
        sqlx::query(
            "UPDATE model_versions SET description = $1 WHERE model_key = $2 AND version = $3",
        )
        .bind(description)
        .bind(key)
        .bind(v.version)
        .execute(&mut *tx)
        .await?;
        Self::touch_version(&mut tx, key, v.version).await?;
        let v = Self::version_row(&mut tx, name, version).await?;
        tx.commit().await?;
        Ok(v)
    }

    pub(super) async fn transition_model_version_stage_impl(
        &self,
        name: &str,
        version: &str,
        stage: ModelStage,
        archive_existing: bool,
    ) -> Result<ModelVersion> {
        if archive_existing && !matches!(stage, ModelStage::Staging | ModelStage::Production) {
            return Err(Error::invalid(format!(
                "Model version transition cannot archive existing model versions because \
                 '{}' is not an Active stage. Valid stages are Staging, Production",
                stage.as_str()
            )));
        }
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let v = Self::version_row(&mut tx, name, version).await?;
        let key = Self::model_key(&mut tx, name).await?;
        let now = now_ms();
        if archive_existing {
            sqlx::query(
                "UPDATE model_versions SET current_stage = 'Archived', last_update_time = $1
                 WHERE model_key = $2 AND current_stage = $3 AND version != $4",
            )
            .bind(now)
            .bind(key)
            .bind(stage.as_str())
            .bind(v.version)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE model_versions SET current_stage = $1 WHERE model_key = $2 AND version = $3",
        )
        .bind(stage.as_str())
        .bind(key)
        .bind(v.version)
        .execute(&mut *tx)
        .await?;
        Self::touch_version(&mut tx, key, v.version).await?;
        let v = Self::version_row(&mut tx, name, version).await?;
        tx.commit().await?;
        Ok(v)
    }

    pub(super) async fn delete_model_version_impl(&self, name: &str, version: &str) -> Result<()> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let v = Self::version_row(&mut tx, name, version).await?;
        let key = Self::model_key(&mut tx, name).await?;
        for sql in [
            "DELETE FROM registered_model_aliases WHERE model_key = $1 AND version = $2",
            "DELETE FROM model_version_tags WHERE model_key = $1 AND version = $2",
            "DELETE FROM model_versions WHERE model_key = $1 AND version = $2",
        ] {
            sqlx::query(sql)
                .bind(key)
                .bind(v.version)
                .execute(&mut *tx)
                .await?;
        }
        Self::touch_registered_model(&mut tx, key).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn search_model_versions_impl(
        &self,
        query: &ModelVersionQuery,
    ) -> Result<Page<ModelVersion>> {
        let limit = check_page_size(query.max_results, MAX_MODEL_VERSION_RESULTS)?;
        let offset = page_token::decode(query.page_token.as_deref())?;
        let (select, filter, order, mut binds) =
            MODEL_VERSIONS.filter_and_order(DIALECT, &query.filter.clauses, &query.order_by)?;
        let page = binds.page(limit, offset);
        let sql = format!(
            "SELECT * FROM (SELECT v.*, m.name AS name{select} FROM model_versions v \
             JOIN registered_models m ON m.model_key = v.model_key WHERE 1 = 1{filter}) AS q \
             ORDER BY {order}name ASC, version DESC {page}"
        );
        let mut conn = self.conns.read().await?;
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&mut *conn)
            .await?;
        let mut items = Vec::new();
        for row in rows.iter().take(limit) {
            let mut v = version_from_row(row)?;
            Self::complete_version(&mut conn, &mut v).await?;
            items.push(v);
        }
        let next_page_token = (rows.len() > limit).then(|| page_token::encode(offset + limit));
        Ok(Page {
            items,
            next_page_token,
        })
    }

    pub(super) async fn set_model_version_tag_impl(
        &self,
        name: &str,
        version: &str,
        tag: KeyValue,
    ) -> Result<()> {
        validate::tag(&tag)?;
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let v = Self::version_row(&mut tx, name, version).await?;
        let key = Self::model_key(&mut tx, name).await?;
        Self::upsert_version_tag(&mut tx, key, v.version, &tag).await?;
        Self::touch_version(&mut tx, key, v.version).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn delete_model_version_tag_impl(
        &self,
        name: &str,
        version: &str,
        tag_key: &str,
    ) -> Result<()> {
        let mut w = self.conns.write().await?;
        let mut tx = w.begin().await?;
        let v = Self::version_row(&mut tx, name, version).await?;
        let key = Self::model_key(&mut tx, name).await?;
        let done = sqlx::query(
            "DELETE FROM model_version_tags WHERE model_key = $1 AND version = $2 AND key = $3",
        )
        .bind(key)
        .bind(v.version)
        .bind(tag_key)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!(
                "No tag with key '{tag_key}' on model version (name={name}, version={})",
                v.version
            )));
        }
        Self::touch_version(&mut tx, key, v.version).await?;
        tx.commit().await?;
        Ok(())
    }
}
