//! The model registry through the `MetadataStore` trait: a database made before the registry
//! existed is upgraded in place, and version numbers survive deletes and reopening.

use slipway_store::sqlx::{self, Connection};
use slipway_store::{KeyValue, MetadataStore, NewModelVersion, NewRegisteredModel, SqliteStore};

/// The tracking schema exactly as the first release wrote it.
const V1: &str = include_str!("../migrations/sqlite/0001_tracking.sql");

#[tokio::test]
async fn a_tracking_only_database_is_upgraded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("slipway.db");
    {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let mut conn = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("connect");
        sqlx::raw_sql(V1)
            .execute(&mut conn)
            .await
            .expect("v1 schema");
        sqlx::raw_sql(
            "CREATE TABLE slipway_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);
             INSERT INTO slipway_migrations VALUES (1, 'tracking', 0);
             INSERT INTO experiments VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active', 0, 0);",
        )
        .execute(&mut conn)
        .await
        .expect("v1 rows");
        conn.close().await.expect("close");
    }
    let store = SqliteStore::open(&path).await.expect("open upgrades");
    assert_eq!(store.schema_version().await.expect("version"), 2);
    store
        .create_registered_model(NewRegisteredModel {
            name: "m".into(),
            description: None,
            tags: vec![KeyValue::new("k", "v")],
        })
        .await
        .expect("registry tables exist");
}

#[tokio::test]
async fn version_numbers_are_never_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("slipway.db");
    let new_version = || NewModelVersion {
        name: "m".into(),
        source: "s3://bucket/model".into(),
        ..NewModelVersion::default()
    };
    {
        let store = SqliteStore::open(&path).await.expect("open");
        store
            .create_registered_model(NewRegisteredModel {
                name: "m".into(),
                ..NewRegisteredModel::default()
            })
            .await
            .expect("create");
        for want in 1..=3 {
            let v = store.create_model_version(new_version()).await.expect("v");
            assert_eq!(v.version, want);
            assert_eq!(v.storage_location, "s3://bucket/model");
        }
        store.delete_model_version("m", "3").await.expect("delete");
        store.close().await;
    }
    let store = SqliteStore::open(&path).await.expect("reopen");
    let v = store.create_model_version(new_version()).await.expect("v4");
    assert_eq!(v.version, 4);
    let err = store.get_model_version("m", "3").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Model Version (name=m, version=3) not found"
    );
}
