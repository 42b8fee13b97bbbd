//! The metadata store contract, run against every backend: each case takes a fresh, empty
//! database and runs on SQLite always and on PostgreSQL when `SLIPWAY_TEST_POSTGRES_URL`
//! points at a server where it may create databases (`tests/postgres/start.sh` starts one;
//! `.ci/run` sources it). Without the variable the PostgreSQL cases print that they skipped,
//! unless `CI=true`, where they fail.

use std::ops::Deref;
use std::path::PathBuf;
use std::str::FromStr;

use slipway_store::sqlx::postgres::{PgConnectOptions, PgConnection};
use slipway_store::sqlx::{self, Connection};
use slipway_store::{
    Dataset, DatasetInput, DeploymentUpdate, Error, ErrorKind, ExperimentFilter, ExperimentQuery,
    KeyValue, LifecycleStage, LogBatch, LogSegment, LogSegmentKind, LogSegmentQuery, LoggedModel,
    LoggedModelQuery, MetadataStore, Metric, ModelFilter, ModelMetric, NewDeployment,
    NewDeploymentEvent, NewExperiment, NewLoggedModel, NewModelVersion, NewPromotion,
    NewRegisteredModel, NewRun, OrderBy, Page, PostgresStore, PromotionOutcome, Run, RunFilter,
    RunQuery, RunStatus, RunUpdate, SqliteStore, ViewType,
};

/// A fresh, empty database of one backend, for one test.
enum TestDb {
    Sqlite {
        dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        /// The server's URL as given (the database tests create theirs from).
        admin_url: String,
        name: String,
        url: String,
    },
}

/// A store of either backend: the trait for the cases, the concrete type for what only it has.
enum Store {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Deref for Store {
    type Target = dyn MetadataStore;

    fn deref(&self) -> &Self::Target {
        match self {
            Store::Sqlite(s) => s,
            Store::Postgres(s) => s,
        }
    }
}

impl Store {
    async fn close(&self) {
        match self {
            Store::Sqlite(s) => s.close().await,
            Store::Postgres(s) => s.close().await,
        }
    }

    async fn schema_version(&self) -> i64 {
        match self {
            Store::Sqlite(s) => s.schema_version().await,
            Store::Postgres(s) => s.schema_version().await,
        }
        .expect("schema version")
    }
}

/// `SLIPWAY_TEST_POSTGRES_URL`, or `None` after saying why the PostgreSQL case is skipped.
fn postgres_url() -> Option<String> {
    match std::env::var("SLIPWAY_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => panic!(
            "CI=true but SLIPWAY_TEST_POSTGRES_URL is unset: .ci/run must start PostgreSQL \
             (source tests/postgres/start.sh)"
        ),
        _ => {
            eprintln!("skipping PostgreSQL: SLIPWAY_TEST_POSTGRES_URL is unset");
            None
        }
    }
}

/// `url` with its database replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..authority_end])
}

impl TestDb {
    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("home/slipway.db");
        TestDb::Sqlite { dir, path }
    }

    /// A new database on the PostgreSQL server, or `None` when there is none to use.
    async fn postgres() -> Option<TestDb> {
        let admin_url = postgres_url()?;
        let name = format!("slipway_test_{:016x}", rand_id());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("connect to SLIPWAY_TEST_POSTGRES_URL");
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.expect("close");
        let url = with_database(&admin_url, &name);
        Some(TestDb::Postgres {
            admin_url,
            name,
            url,
        })
    }

    async fn open(&self) -> Store {
        match self {
            TestDb::Sqlite { path, .. } => {
                Store::Sqlite(SqliteStore::open(path).await.expect("open SQLite"))
            }
            TestDb::Postgres { url, .. } => Store::Postgres(
                PostgresStore::connect(url)
                    .await
                    .expect("connect PostgreSQL"),
            ),
        }
    }

    /// Runs raw SQL on the (possibly not yet migrated) database.
    async fn execute_raw(&self, sql: &str) {
        match self {
            TestDb::Sqlite { path, .. } => {
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let mut conn = sqlx::SqliteConnection::connect(&url)
                    .await
                    .expect("connect");
                sqlx::raw_sql(sql)
                    .execute(&mut conn)
                    .await
                    .expect("raw SQL");
                conn.close().await.expect("close");
            }
            TestDb::Postgres { url, .. } => {
                let options = PgConnectOptions::from_str(url).expect("url");
                let mut conn = PgConnection::connect_with(&options).await.expect("connect");
                sqlx::raw_sql(sql)
                    .execute(&mut conn)
                    .await
                    .expect("raw SQL");
                conn.close().await.expect("close");
            }
        }
    }

    /// The backend's first migration (the tracking schema of the first release).
    fn first_migration(&self) -> &'static str {
        match self {
            TestDb::Sqlite { .. } => include_str!("../migrations/sqlite/0001_tracking.sql"),
            TestDb::Postgres { .. } => include_str!("../migrations/postgres/0001_tracking.sql"),
        }
    }

    /// Removes the database (PostgreSQL; the SQLite file goes with its temporary folder).
    async fn drop_database(self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
        {
            let mut admin = PgConnection::connect(&admin_url).await.expect("connect");
            sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .expect("drop test database");
            admin.close().await.expect("close");
        }
    }
}

fn rand_id() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// Declares each case (an `async fn(&TestDb)`) as one test per backend:
/// `sqlite::<case>` and `postgres::<case>`.
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = crate::TestDb::sqlite();
                    super::$case(&db).await;
                    db.drop_database().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let Some(db) = crate::TestDb::postgres().await else {
                        return;
                    };
                    super::$case(&db).await;
                    db.drop_database().await;
                }
            )*
        }
    };
}

on_every_backend!(
    experiments_lifecycle,
    experiment_search_filters_orders_and_pages,
    runs_params_metrics_tags,
    log_batch_is_all_or_nothing,
    a_batch_stores_what_one_write_at_a_time_would,
    search_runs_filter_order_and_paging,
    a_large_page_of_runs_comes_back_whole_and_in_order,
    reopening_keeps_data_and_schema,
    concurrent_writers_lose_nothing,
    run_data_round_trips_exact_values_and_order,
    a_tracking_only_database_is_upgraded,
    version_numbers_are_never_reused,
    concurrent_version_creates_get_1_to_n,
    concurrent_params_across_stores,
    failed_writes_do_not_block_the_next_writer,
    abandoned_writes_and_reads_leave_nothing_behind,
    inputs_are_kept_as_first_logged,
    metrics_of_logged_models,
    like_is_case_sensitive_and_ilike_is_not,
    promotion_attempts_are_each_recorded_with_the_move,
    nul_in_text_is_refused_naming_the_field,
    prediction_log_segments_are_found_by_model_time_and_id,
    deployments_compare_and_set_with_a_lease_and_keep_their_events,
);

fn deployment_event(kind: &str, reason: &str) -> NewDeploymentEvent {
    NewDeploymentEvent {
        kind: kind.into(),
        reason: reason.into(),
        values: r#"{"challenger_percent":5}"#.into(),
    }
}

async fn deployments_compare_and_set_with_a_lease_and_keep_their_events(db: &TestDb) {
    let store = db.open().await;
    let new = NewDeployment {
        name: "churn-canary".into(),
        model: "churn".into(),
        strategy: "canary".into(),
        status: "running".into(),
        plan: r#"{"name":"churn-canary"}"#.into(),
        state: r#"{"challenger_percent":5}"#.into(),
        event: deployment_event("created", "canary of churn"),
    };
    let d = store.create_deployment(new.clone()).await.expect("create");
    assert_eq!((d.revision, d.status.as_str()), (1, "running"));
    let err = store.create_deployment(new.clone()).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(_)), "{err:?}");
    let mut nul = new.clone();
    nul.name = "x".into();
    nul.event.reason = "a\0b".into();
    assert_eq!(
        store.create_deployment(nul).await.unwrap_err().kind(),
        ErrorKind::User
    );
    assert!(matches!(
        store.get_deployment("nope").await.unwrap_err(),
        Error::NotFound(_)
    ));
    // Two replicas: one holds the lease, the other cannot take it until it expires.
    assert!(
        store
            .acquire_deployment_lease("churn-canary", "a", 60_000)
            .await
            .unwrap()
    );
    assert!(
        !store
            .acquire_deployment_lease("churn-canary", "b", 60_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .acquire_deployment_lease("churn-canary", "a", 60_000)
            .await
            .unwrap()
    );
    let step = |rev: i64, owner: Option<&str>| DeploymentUpdate {
        expected_revision: rev,
        status: "running".into(),
        state: r#"{"challenger_percent":10}"#.into(),
        event: deployment_event("step_up", "healthy at 5 %"),
        lease_owner: owner.map(str::to_string),
    };
    // Without the lease a controller's step is refused; with it, it lands once.
    assert!(
        store
            .update_deployment("churn-canary", step(1, Some("b")))
            .await
            .unwrap()
            .is_none()
    );
    let d = store
        .update_deployment("churn-canary", step(1, Some("a")))
        .await
        .unwrap()
        .expect("the lease holder steps");
    assert_eq!(d.revision, 2);
    // A stale revision loses, leaving nothing behind.
    assert!(
        store
            .update_deployment("churn-canary", step(1, None))
            .await
            .unwrap()
            .is_none()
    );
    // A user's change needs no lease.
    let paused = DeploymentUpdate {
        expected_revision: 2,
        status: "paused".into(),
        state: r#"{"challenger_percent":10}"#.into(),
        event: deployment_event("paused", "paused by a user"),
        lease_owner: None,
    };
    let d = store
        .update_deployment("churn-canary", paused)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((d.revision, d.status.as_str()), (3, "paused"));
    assert!(
        store
            .update_deployment("nope", step(1, None))
            .await
            .is_err()
    );
    // An expired lease passes to the next replica; a released one too.
    assert!(
        store
            .acquire_deployment_lease("churn-canary", "a", 0)
            .await
            .unwrap()
    );
    assert!(
        store
            .acquire_deployment_lease("churn-canary", "b", 60_000)
            .await
            .unwrap()
    );
    store
        .release_deployment_lease("churn-canary", "b")
        .await
        .unwrap();
    assert!(
        store
            .acquire_deployment_lease("churn-canary", "a", 60_000)
            .await
            .unwrap()
    );
    let events = store.deployment_events("churn-canary").await.unwrap();
    let kinds: Vec<(i64, &str)> = events.iter().map(|e| (e.seq, e.kind.as_str())).collect();
    assert_eq!(kinds, [(1, "created"), (2, "step_up"), (3, "paused")]);
    assert_eq!(events[1].reason, "healthy at 5 %");
    assert_eq!(store.list_deployments().await.unwrap().len(), 1);
    // Reopened, everything is still there.
    store.close().await;
    let store = db.open().await;
    let d = store.get_deployment("churn-canary").await.unwrap();
    assert_eq!((d.revision, d.lease_owner.as_deref()), (3, Some("a")));
    assert_eq!(
        store.deployment_events("churn-canary").await.unwrap().len(),
        3
    );
    store.close().await;
}

fn segment(path: &str, model: &str, version: &str, ids: (u32, u32), ms: (i64, i64)) -> LogSegment {
    let id = |n: u32| format!("0190a000-0000-7000-8000-{n:012}");
    LogSegment {
        path: format!("_prediction_log/{path}.parquet"),
        kind: if model.is_empty() {
            LogSegmentKind::Feedback
        } else {
            LogSegmentKind::Predictions
        },
        model: model.into(),
        version: version.into(),
        rows: i64::from(ids.1 - ids.0 + 1),
        min_id: id(ids.0),
        max_id: id(ids.1),
        first_ms: ms.0,
        last_ms: ms.1,
    }
}

async fn prediction_log_segments_are_found_by_model_time_and_id(db: &TestDb) {
    let store = db.open().await;
    let segs = [
        segment("p/a/1/s1", "a", "1", (1, 10), (100, 200)),
        segment("p/a/1/s2", "a", "1", (11, 20), (200, 300)),
        segment("p/a/2/s3", "a", "2", (21, 30), (300, 400)),
        segment("p/b/1/s4", "b", "1", (15, 25), (250, 350)),
        segment("f/f1", "", "", (5, 12), (500, 500)),
    ];
    for s in &segs {
        store.add_log_segment(s.clone()).await.expect("add");
    }
    let paths = |found: Vec<LogSegment>| -> Vec<String> {
        found
            .into_iter()
            .map(|s| {
                s.path
                    .trim_start_matches("_prediction_log/")
                    .trim_end_matches(".parquet")
                    .to_string()
            })
            .collect()
    };
    let mut q = LogSegmentQuery::all(LogSegmentKind::Predictions);
    let all = store.find_log_segments(&q).await.expect("find");
    assert_eq!(all[0], segs[0], "a segment reads back whole");
    assert_eq!(paths(all), ["p/a/1/s1", "p/a/1/s2", "p/a/2/s3", "p/b/1/s4"]);
    q.model = Some("a".into());
    assert_eq!(
        paths(store.find_log_segments(&q).await.unwrap()),
        ["p/a/1/s1", "p/a/1/s2", "p/a/2/s3"]
    );
    q.version = Some("1".into());
    q.since_ms = Some(250);
    assert_eq!(
        paths(store.find_log_segments(&q).await.unwrap()),
        ["p/a/1/s2"]
    );
    q.version = None;
    q.since_ms = None;
    q.until_ms = Some(200);
    assert_eq!(
        paths(store.find_log_segments(&q).await.unwrap()),
        ["p/a/1/s1"]
    );
    // Id ranges that overlap [12, 16]: s2 (11-20) and s4 (15-25), across models.
    let id = |n: u32| format!("0190a000-0000-7000-8000-{n:012}");
    let mut by_id = LogSegmentQuery::all(LogSegmentKind::Predictions);
    by_id.ids = Some((id(12), id(16)));
    assert_eq!(
        paths(store.find_log_segments(&by_id).await.unwrap()),
        ["p/a/1/s2", "p/b/1/s4"]
    );
    by_id.kind = LogSegmentKind::Feedback;
    assert_eq!(
        paths(store.find_log_segments(&by_id).await.unwrap()),
        ["f/f1"]
    );
    // The same path again replaces its row.
    let mut again = segs[0].clone();
    again.rows = 3;
    again.max_id = id(3);
    store.add_log_segment(again).await.expect("replace");
    by_id.kind = LogSegmentKind::Predictions;
    by_id.ids = Some((id(5), id(5)));
    assert!(store.find_log_segments(&by_id).await.unwrap().is_empty());
    store
        .remove_log_segments(&[segs[1].path.clone(), segs[3].path.clone()])
        .await
        .expect("remove");
    assert_eq!(
        paths(
            store
                .find_log_segments(&LogSegmentQuery::all(LogSegmentKind::Predictions))
                .await
                .unwrap()
        ),
        ["p/a/1/s1", "p/a/2/s3"]
    );
    // Segments outside the log, empty ones and inverted ranges are refused.
    for bad in [
        LogSegment {
            path: "runs/x.parquet".into(),
            ..segs[0].clone()
        },
        LogSegment {
            rows: 0,
            ..segs[0].clone()
        },
        LogSegment {
            min_id: id(9),
            max_id: id(1),
            ..segs[0].clone()
        },
    ] {
        let err = store.add_log_segment(bad).await.unwrap_err();
        assert!(matches!(err, Error::InvalidParameter(_)), "{err}");
    }
    store.close().await;
}

/// U+0000 is a user error naming the field on both backends (PostgreSQL cannot store it in
/// text; SQLite used to), and nothing is written.
async fn nul_in_text_is_refused_naming_the_field(db: &TestDb) {
    let store = db.open().await;
    let refused = |r: Result<(), Error>, field: &str| match r {
        Err(Error::InvalidParameter(m)) => {
            assert!(m.contains(field) && m.contains("NUL"), "{field}: {m}")
        }
        other => panic!("{field}: {other:?}"),
    };
    refused(
        store
            .create_experiment(NewExperiment {
                name: "a\0b".into(),
                artifact_location: None,
                tags: vec![],
            })
            .await
            .map(drop),
        "name",
    );
    refused(
        store
            .create_experiment(NewExperiment {
                name: "ok".into(),
                artifact_location: None,
                tags: vec![KeyValue::new("team", "x\0")],
            })
            .await
            .map(drop),
        "team",
    );
    assert!(
        store.get_experiment_by_name("ok").await.is_err(),
        "nothing written"
    );
    refused(
        store
            .set_experiment_tag("0", KeyValue::new("k", "\0"))
            .await,
        "'k'",
    );
    let run = new_run(&store, "0", "r", 1).await;
    refused(
        store.log_param(&run, KeyValue::new("lr", "0.1\0")).await,
        "'lr'",
    );
    refused(
        store.set_run_tag(&run, KeyValue::new("note", "\0")).await,
        "'note'",
    );
    refused(
        store
            .create_registered_model(NewRegisteredModel {
                name: "m\0".into(),
                description: None,
                tags: vec![],
            })
            .await
            .map(drop),
        "name",
    );
    let r = store.get_run(&run).await.expect("run");
    assert!(r.params.is_empty() && !r.tags.iter().any(|t| t.key == "note"));
    store.close().await;
}

fn metric(key: &str, value: f64, timestamp: i64, step: i64) -> Metric {
    Metric {
        key: key.into(),
        value,
        timestamp,
        step,
    }
}

async fn new_run(store: &Store, exp: &str, name: &str, start: i64) -> String {
    store
        .create_run(NewRun {
            experiment_id: exp.into(),
            user_id: "tester".into(),
            run_name: Some(name.into()),
            start_time: Some(start),
            tags: vec![],
        })
        .await
        .expect("create run")
        .info
        .run_id
}

async fn experiments_lifecycle(db: &TestDb) {
    let store = db.open().await;
    let default = store.get_experiment("0").await.expect("default exists");
    assert_eq!(default.name, "Default");
    assert_eq!(default.artifact_location, "mlflow-artifacts:/0");

    let id = store
        .create_experiment(NewExperiment {
            name: "exp".into(),
            artifact_location: None,
            tags: vec![KeyValue::new("team", "a")],
        })
        .await
        .expect("create");
    assert_eq!(id, "1");
    let e = store.get_experiment(&id).await.expect("get");
    assert_eq!(e.artifact_location, "mlflow-artifacts:/1");
    assert_eq!(e.tags, vec![KeyValue::new("team", "a")]);
    assert_eq!(
        store
            .get_experiment_by_name("exp")
            .await
            .expect("by name")
            .experiment_id,
        id
    );

    let dup = store
        .create_experiment(NewExperiment {
            name: "exp".into(),
            ..Default::default()
        })
        .await
        .expect_err("duplicate");
    assert!(matches!(dup, Error::AlreadyExists(_)), "{dup:?}");
    assert!(!dup.to_string().contains("INSERT"));

    assert!(matches!(
        store.get_experiment("999").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.get_experiment("abc").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.get_experiment_by_name("nope").await,
        Err(Error::NotFound(_))
    ));

    store
        .set_experiment_tag(&id, KeyValue::new("stage", "x"))
        .await
        .expect("tag");
    store.rename_experiment(&id, "exp2").await.expect("rename");
    assert_eq!(store.get_experiment(&id).await.expect("get").name, "exp2");
    assert_eq!(store.get_experiment(&id).await.expect("get").tags.len(), 2);

    store.delete_experiment(&id).await.expect("delete");
    assert_eq!(
        store
            .get_experiment(&id)
            .await
            .expect("get")
            .lifecycle_stage,
        LifecycleStage::Deleted
    );
    let q = ExperimentQuery {
        max_results: 100,
        ..Default::default()
    };
    let page = store.search_experiments(&q).await.expect("search");
    assert_eq!(page.items.len(), 1, "only Default is active");
    let q = ExperimentQuery {
        view_type: ViewType::All,
        max_results: 100,
        ..Default::default()
    };
    assert_eq!(
        store
            .search_experiments(&q)
            .await
            .expect("search")
            .items
            .len(),
        2
    );
    store.restore_experiment(&id).await.expect("restore");
    assert!(store.delete_experiment("0").await.is_err());
}

async fn experiment_search_filters_orders_and_pages(db: &TestDb) {
    let store = db.open().await;
    for name in ["b-exp", "a-exp", "c-other"] {
        store
            .create_experiment(NewExperiment {
                name: name.into(),
                tags: vec![KeyValue::new("k", name)],
                ..Default::default()
            })
            .await
            .expect("create");
    }
    let q = ExperimentQuery {
        filter: ExperimentFilter::parse("name LIKE '%-exp'").expect("filter"),
        order_by: vec![OrderBy::parse_for_experiments("name DESC").expect("order")],
        max_results: 1,
        ..Default::default()
    };
    let p1 = store.search_experiments(&q).await.expect("page 1");
    assert_eq!(p1.items[0].name, "b-exp");
    let p2 = store
        .search_experiments(&ExperimentQuery {
            page_token: p1.next_page_token.clone(),
            ..q.clone()
        })
        .await
        .expect("page 2");
    assert_eq!(p2.items[0].name, "a-exp");
    assert!(p2.next_page_token.is_none());
    let q = ExperimentQuery {
        filter: ExperimentFilter::parse("tags.k = 'c-other'").expect("filter"),
        max_results: 10,
        ..Default::default()
    };
    assert_eq!(
        store.search_experiments(&q).await.expect("tags").items[0].name,
        "c-other"
    );
}

async fn runs_params_metrics_tags(db: &TestDb) {
    let store = db.open().await;
    let run = store
        .create_run(NewRun {
            experiment_id: "0".into(),
            user_id: "u".into(),
            run_name: None,
            start_time: None,
            tags: vec![KeyValue::new("origin", "test")],
        })
        .await
        .expect("create");
    let id = run.info.run_id.clone();
    assert_eq!(id.len(), 32);
    assert_eq!(
        run.info.artifact_uri,
        format!("mlflow-artifacts:/0/{id}/artifacts")
    );
    assert_eq!(run.info.status, RunStatus::Running);
    assert!(!run.info.run_name.is_empty());
    assert_eq!(run.tags[0], KeyValue::new("origin", "test"));
    assert_eq!(run.tags[1].key, "mlflow.runName");

    // Runs go only into active experiments, under their artifact location.
    let new_run_in = |experiment_id: &str| NewRun {
        experiment_id: experiment_id.into(),
        user_id: "u".into(),
        run_name: Some("elsewhere".into()),
        start_time: Some(5),
        tags: vec![KeyValue::new("origin", "test")],
    };
    let e = store
        .create_run(new_run_in("999"))
        .await
        .expect_err("missing");
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    let exp = store
        .create_experiment(NewExperiment {
            name: "slash".into(),
            artifact_location: Some("s3://bucket/prefix//".into()),
            tags: vec![],
        })
        .await
        .expect("exp");
    let other = store.create_run(new_run_in(&exp)).await.expect("create");
    assert_eq!(
        other.info.artifact_uri,
        format!("s3://bucket/prefix/{}/artifacts", other.info.run_id)
    );
    assert_eq!(
        store.get_run(&other.info.run_id).await.expect("get").info,
        other.info
    );
    store.delete_experiment(&exp).await.expect("delete exp");
    let e = store
        .create_run(new_run_in(&exp))
        .await
        .expect_err("deleted");
    assert!(
        e.to_string().contains("must be in the 'active' state"),
        "{e}"
    );
    let all = RunQuery {
        experiment_ids: vec![exp.clone()],
        view_type: ViewType::All,
        max_results: 10,
        ..Default::default()
    };
    assert_eq!(
        store.search_runs(&all).await.expect("search").items.len(),
        1
    );

    store
        .log_param(&id, KeyValue::new("lr", "0.01"))
        .await
        .expect("param");
    store
        .log_param(&id, KeyValue::new("lr", "0.01"))
        .await
        .expect("same value again");
    let e = store
        .log_param(&id, KeyValue::new("lr", "0.5"))
        .await
        .expect_err("changed value");
    assert_eq!(e.kind(), ErrorKind::User);
    assert!(
        e.to_string()
            .contains("Changing param values is not allowed")
    );

    for (step, v) in [(0, 1.0), (2, 0.5), (1, 0.7)] {
        store
            .log_metric(&id, metric("loss", v, 100 + step, step))
            .await
            .expect("metric");
    }
    store
        .log_metric(&id, metric("nan", f64::NAN, 5, 0))
        .await
        .expect("nan");
    store
        .set_run_tag(&id, KeyValue::new("phase", "train"))
        .await
        .expect("tag");
    store
        .set_run_tag(&id, KeyValue::new("phase", "eval"))
        .await
        .expect("overwrite tag");
    store
        .set_run_tag(&id, KeyValue::new("gone", "x"))
        .await
        .expect("tag");
    store.delete_run_tag(&id, "gone").await.expect("delete tag");
    assert!(matches!(
        store.delete_run_tag(&id, "gone").await,
        Err(Error::NotFound(_))
    ));

    let run = store.get_run(&id).await.expect("get");
    let loss = run.metrics.iter().find(|m| m.key == "loss").expect("loss");
    assert_eq!((loss.step, loss.value), (2, 0.5), "highest step wins");
    assert!(
        run.metrics
            .iter()
            .find(|m| m.key == "nan")
            .expect("nan")
            .value
            .is_nan()
    );
    assert_eq!(run.params, vec![KeyValue::new("lr", "0.01")]);
    assert!(run.tags.contains(&KeyValue::new("phase", "eval")));
    assert!(!run.tags.iter().any(|t| t.key == "gone"));

    let h = store
        .metric_history(&id, "loss", 2, None)
        .await
        .expect("history");
    assert_eq!(h.items.len(), 2);
    let h2 = store
        .metric_history(&id, "loss", 2, h.next_page_token.as_deref())
        .await
        .expect("page 2");
    assert_eq!(h2.items.len(), 1);
    assert!(h2.next_page_token.is_none());
    assert!(
        store
            .metric_history(&id, "loss", 10, Some("garbage"))
            .await
            .is_err()
    );

    let info = store
        .update_run(
            &id,
            RunUpdate {
                status: Some(RunStatus::Finished),
                end_time: Some(999),
                run_name: Some("renamed".into()),
            },
        )
        .await
        .expect("update");
    assert_eq!(info.status, RunStatus::Finished);
    assert_eq!(info.end_time, Some(999));
    assert_eq!(info.run_name, "renamed");
    let run = store.get_run(&id).await.expect("get");
    assert!(
        run.tags
            .contains(&KeyValue::new("mlflow.runName", "renamed"))
    );

    store.delete_run(&id).await.expect("delete");
    let e = store
        .log_metric(&id, metric("late", 1.0, 1, 0))
        .await
        .expect_err("deleted run");
    assert!(
        e.to_string().contains("must be in the 'active' state"),
        "{e}"
    );
    let batch = || LogBatch {
        model_metrics: Vec::new(),
        metrics: vec![metric("late_batch", 1.0, 1, 0)],
        params: vec![KeyValue::new("late_param", "1")],
        tags: vec![KeyValue::new("late_tag", "1")],
    };
    let e = store
        .log_batch(&id, batch())
        .await
        .expect_err("deleted run");
    assert!(
        e.to_string().contains("must be in the 'active' state"),
        "{e}"
    );
    store.restore_run(&id).await.expect("restore");
    let run = store.get_run(&id).await.expect("get");
    assert!(
        !run.metrics.iter().any(|m| m.key == "late_batch")
            && !run.params.iter().any(|p| p.key == "late_param")
            && !run.tags.iter().any(|t| t.key == "late_tag"),
        "a batch refused for a deleted run left nothing behind"
    );
    store
        .log_metric(&id, metric("late", 1.0, 1, 0))
        .await
        .expect("after restore");
    assert!(matches!(
        store.get_run("0123").await,
        Err(Error::NotFound(_))
    ));
    for missing_run_batch in [batch(), LogBatch::default()] {
        let e = store
            .log_batch("0123", missing_run_batch)
            .await
            .expect_err("missing run");
        assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    }
}

async fn log_batch_is_all_or_nothing(db: &TestDb) {
    let store = db.open().await;
    let id = new_run(&store, "0", "r", 1).await;
    store
        .log_param(&id, KeyValue::new("p", "1"))
        .await
        .expect("param");
    let batch = LogBatch {
        model_metrics: Vec::new(),
        metrics: vec![metric("m", 1.0, 1, 0)],
        params: vec![KeyValue::new("q", "x"), KeyValue::new("p", "2")],
        tags: vec![KeyValue::new("t", "v")],
    };
    let e = store
        .log_batch(&id, batch)
        .await
        .expect_err("conflicting param");
    assert_eq!(e.kind(), ErrorKind::User);
    let run = store.get_run(&id).await.expect("get");
    assert!(run.metrics.is_empty(), "no metric written");
    assert_eq!(run.params.len(), 1, "no param written");
    assert!(!run.tags.iter().any(|t| t.key == "t"), "no tag written");

    let too_many = LogBatch {
        metrics: (0..1001).map(|i| metric("m", 1.0, i, i)).collect(),
        ..Default::default()
    };
    assert!(store.log_batch(&id, too_many).await.is_err());
    let bad_key = LogBatch {
        params: vec![KeyValue::new("../x", "1")],
        ..Default::default()
    };
    assert!(store.log_batch(&id, bad_key).await.is_err());

    let ok = LogBatch {
        metrics: (0..1000).map(|i| metric("m", i as f64, i, i)).collect(),
        ..Default::default()
    };
    store.log_batch(&id, ok).await.expect("1000 metrics");
    let h = store
        .metric_history(&id, "m", 25_000, None)
        .await
        .expect("history");
    assert_eq!(h.items.len(), 1000);
}

/// A `log-batch` is written as a few multi-row statements: it must leave exactly what the same
/// values logged one at a time leave (latest metric per key by step, then timestamp, then
/// value, a tie going to the later write; repeated tags keeping their first place and last
/// value; repeated identical params), and `create_run` must return the tags it stored.
async fn a_batch_stores_what_one_write_at_a_time_would(db: &TestDb) {
    let store = db.open().await;
    let metrics = vec![
        metric("a", 1.0, 5, 1),
        metric("a", 2.0, 5, 1),
        metric("a", 0.5, 6, 1),
        metric("a", 3.0, 1, 0),
        metric("b", 2.0, 1, 0),
        metric("b", 1.5, 1, 0),
        metric("z", 0.0, 1, 0),
        metric("z", f64::NAN, 1, 0),
        metric("inf", f64::INFINITY, 3, 2),
        metric("inf", f64::NEG_INFINITY, 3, 2),
        metric("a", 0.5, 6, 1),
    ];
    let tags = vec![
        KeyValue::new("t", "1"),
        KeyValue::new("u", "2"),
        KeyValue::new("t", "3"),
        KeyValue::new("mlflow.runName", "first"),
        KeyValue::new("mlflow.runName", "second"),
    ];
    let mut params = vec![
        KeyValue::new("p", "1"),
        KeyValue::new("p", "1"),
        KeyValue::new("q", "2"),
    ];
    // Enough rows that every kind of statement is split into several chunks.
    let mut metrics = metrics;
    metrics.extend((0..130).map(|i| {
        let key = format!("k{}", i % 45);
        metric(&key, (i % 7) as f64, i % 3, i / 45)
    }));
    params.extend((0..50).map(|i| KeyValue::new(format!("n{i}"), i.to_string())));
    let mut tags = tags;
    tags.extend((0..45).map(|i| KeyValue::new(format!("t{}", i % 44), i.to_string())));
    let (batched, single) = (
        new_run(&store, "0", "batched", 1).await,
        new_run(&store, "0", "single", 1).await,
    );
    for id in [&batched, &single] {
        // Values already stored before the batch: "a" at a higher step keeps its place,
        // "b" is overtaken by a larger value at the same step and timestamp.
        store
            .log_metric(id, metric("a", 9.0, 0, 5))
            .await
            .expect("metric");
        store
            .log_metric(id, metric("b", 1.0, 1, 0))
            .await
            .expect("metric");
        store
            .set_run_tag(id, KeyValue::new("u", "0"))
            .await
            .expect("tag");
    }
    store
        .log_batch(
            &batched,
            LogBatch {
                model_metrics: Vec::new(),
                metrics: metrics.clone(),
                params: params.clone(),
                tags: tags.clone(),
            },
        )
        .await
        .expect("batch");
    for m in metrics {
        store.log_metric(&single, m).await.expect("metric");
    }
    for p in params {
        store.log_param(&single, p).await.expect("param");
    }
    for t in tags {
        store.set_run_tag(&single, t).await.expect("tag");
    }
    let (a, b) = (
        store.get_run(&batched).await.expect("get"),
        store.get_run(&single).await.expect("get"),
    );
    let latest = |run: &Run| -> Vec<(String, u64, i64, i64)> {
        let mut m: Vec<_> = run
            .metrics
            .iter()
            .map(|m| (m.key.clone(), m.value.to_bits(), m.timestamp, m.step))
            .collect();
        m.sort();
        m
    };
    assert_eq!(latest(&a), latest(&b));
    let a_latest: Vec<(String, f64)> = a.metrics.iter().map(|m| (m.key.clone(), m.value)).collect();
    assert!(a_latest.contains(&("a".into(), 9.0)), "{a_latest:?}");
    assert!(a_latest.contains(&("b".into(), 2.0)), "{a_latest:?}");
    assert!(
        a_latest.iter().any(|(k, v)| k == "z" && v.is_nan()),
        "{a_latest:?}"
    );
    assert!(
        a_latest.contains(&("inf".into(), f64::INFINITY)),
        "{a_latest:?}"
    );
    assert_eq!(a.params, b.params);
    assert_eq!(
        a.params[..2],
        [KeyValue::new("p", "1"), KeyValue::new("q", "2")]
    );
    assert_eq!(a.params.len(), 52);
    assert_eq!(a.tags, b.tags);
    assert_eq!(a.info.run_name, "second");
    assert_eq!(b.info.run_name, "second");
    for key in ["a", "b", "z", "inf", "k0", "k44"] {
        let history = |id: String| {
            let store = &store;
            async move {
                let mut h: Vec<_> = store
                    .metric_history(&id, key, 100, None)
                    .await
                    .expect("history")
                    .items
                    .into_iter()
                    .map(|m| (m.value.to_bits(), m.timestamp, m.step))
                    .collect();
                h.sort();
                h
            }
        };
        assert_eq!(
            history(batched.clone()).await,
            history(single.clone()).await,
            "{key}"
        );
    }

    let run = store
        .create_run(NewRun {
            experiment_id: "0".into(),
            user_id: "u".into(),
            run_name: Some("named".into()),
            start_time: Some(7),
            tags: vec![
                KeyValue::new("x", "1"),
                KeyValue::new("y", "2"),
                KeyValue::new("x", "3"),
                KeyValue::new("mlflow.runName", "ignored"),
            ],
        })
        .await
        .expect("create");
    let stored = store.get_run(&run.info.run_id).await.expect("get");
    assert_eq!(run, stored);
    assert_eq!(
        run.tags,
        vec![
            KeyValue::new("x", "3"),
            KeyValue::new("y", "2"),
            KeyValue::new("mlflow.runName", "named"),
        ]
    );
}

async fn search_runs_filter_order_and_paging(db: &TestDb) {
    let store = db.open().await;
    let exp = store
        .create_experiment(NewExperiment {
            name: "s".into(),
            ..Default::default()
        })
        .await
        .expect("exp");
    let mut ids = Vec::new();
    for i in 0..6 {
        let id = new_run(&store, &exp, &format!("s{i}"), 1000 + i).await;
        store
            .log_batch(
                &id,
                LogBatch {
                    model_metrics: Vec::new(),
                    metrics: if i == 5 {
                        vec![]
                    } else {
                        vec![metric("acc", i as f64 / 10.0, 1, 0)]
                    },
                    params: vec![KeyValue::new(
                        "grp",
                        if i % 2 == 0 { "even" } else { "odd" },
                    )],
                    tags: vec![],
                },
            )
            .await
            .expect("batch");
        ids.push(id);
    }
    let q = |filter: &str, order: &[&str], max: usize| RunQuery {
        experiment_ids: vec![exp.clone()],
        filter: RunFilter::parse(filter).expect("filter"),
        order_by: order
            .iter()
            .map(|o| OrderBy::parse_for_runs(o).expect("order"))
            .collect(),
        view_type: ViewType::ActiveOnly,
        max_results: max,
        page_token: None,
    };
    let names = |page: &slipway_store::Page<slipway_store::Run>| -> Vec<String> {
        page.items.iter().map(|r| r.info.run_name.clone()).collect()
    };

    let p = store
        .search_runs(&q("metrics.acc > 0.15", &["metrics.acc DESC"], 100))
        .await
        .expect("search");
    assert_eq!(names(&p), ["s4", "s3", "s2"]);
    let p = store
        .search_runs(&q("", &[], 100))
        .await
        .expect("default order");
    assert_eq!(names(&p), ["s5", "s4", "s3", "s2", "s1", "s0"]);
    let p = store
        .search_runs(&q("", &["metrics.acc ASC"], 100))
        .await
        .expect("missing last");
    assert_eq!(names(&p).last().map(String::as_str), Some("s5"));
    let p = store
        .search_runs(&q("", &["metrics.acc DESC"], 100))
        .await
        .expect("missing last");
    assert_eq!(names(&p).last().map(String::as_str), Some("s5"));
    let p = store
        .search_runs(&q(
            "params.grp = 'odd' AND attributes.run_name LIKE 's%'",
            &["attributes.start_time ASC"],
            100,
        ))
        .await
        .expect("params");
    assert_eq!(names(&p), ["s1", "s3", "s5"]);
    let p = store
        .search_runs(&q("run_name LIKE 'S%'", &[], 100))
        .await
        .expect("like");
    assert!(p.items.is_empty(), "LIKE is case-sensitive");
    let p = store
        .search_runs(&q("run_name ILIKE 'S%'", &[], 100))
        .await
        .expect("ilike");
    assert_eq!(p.items.len(), 6);
    let p = store
        .search_runs(&q(
            "params.nothere IS NULL AND tags.mlflow.runName = 's2'",
            &[],
            100,
        ))
        .await
        .expect("null");
    assert_eq!(names(&p), ["s2"]);
    let filter = format!("attributes.run_id IN ('{}', '{}')", ids[0], ids[1]);
    let p = store.search_runs(&q(&filter, &[], 100)).await.expect("in");
    assert_eq!(names(&p), ["s1", "s0"]);

    // Paging walks every run exactly once.
    let mut seen = Vec::new();
    let mut query = q("", &["metrics.acc DESC"], 4);
    loop {
        let p = store.search_runs(&query).await.expect("page");
        seen.extend(names(&p));
        match p.next_page_token {
            Some(t) => query.page_token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen, ["s4", "s3", "s2", "s1", "s0", "s5"]);

    store.delete_run(&ids[0]).await.expect("delete");
    let p = store.search_runs(&q("", &[], 100)).await.expect("active");
    assert_eq!(p.items.len(), 5);
    let mut deleted = q("", &[], 100);
    deleted.view_type = ViewType::DeletedOnly;
    assert_eq!(
        names(&store.search_runs(&deleted).await.expect("deleted")),
        ["s0"]
    );
    assert!(store.search_runs(&q("", &[], 0)).await.is_err());
    assert!(store.search_runs(&q("", &[], 50_001)).await.is_err());
}

/// A page larger than one JSON text of runs (1,024) is read in several, in order, and paging
/// past it starts where the last page ended.
async fn a_large_page_of_runs_comes_back_whole_and_in_order(db: &TestDb) {
    let store = db.open().await;
    let exp = store
        .create_experiment(NewExperiment {
            name: "large".into(),
            ..Default::default()
        })
        .await
        .expect("exp");
    let n = 1_100;
    for i in 0..n {
        let id = new_run(&store, &exp, &format!("r{i}"), i).await;
        if i % 100 == 7 {
            let batch = LogBatch {
                model_metrics: Vec::new(),
                metrics: vec![metric("m", i as f64 + 0.25, 1, 2)],
                params: vec![KeyValue::new("p", i.to_string())],
                tags: vec![],
            };
            store.log_batch(&id, batch).await.expect("batch");
        }
    }
    let mut query = RunQuery {
        experiment_ids: vec![exp.clone()],
        filter: RunFilter::parse("").expect("filter"),
        order_by: vec![OrderBy::parse_for_runs("attributes.start_time ASC").expect("order")],
        view_type: ViewType::ActiveOnly,
        max_results: 1_050,
        page_token: None,
    };
    let first = store.search_runs(&query).await.expect("first page");
    query.page_token = first.next_page_token.clone();
    let second = store.search_runs(&query).await.expect("second page");
    assert!(second.next_page_token.is_none());
    let runs: Vec<_> = first.items.iter().chain(&second.items).collect();
    assert_eq!((first.items.len(), runs.len()), (1_050, n as usize));
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run.info.run_name, format!("r{i}"));
        assert_eq!(run.info.start_time, Some(i as i64));
        let name = run.tags.iter().find(|t| t.key == "mlflow.runName");
        assert_eq!(
            name.map(|t| t.value.as_str()),
            Some(run.info.run_name.as_str())
        );
        if i % 100 == 7 {
            assert_eq!(run.metrics, vec![metric("m", i as f64 + 0.25, 1, 2)]);
            assert_eq!(run.params, vec![KeyValue::new("p", i.to_string())]);
        } else {
            assert!(run.metrics.is_empty() && run.params.is_empty(), "run {i}");
        }
    }
}

async fn reopening_keeps_data_and_schema(db: &TestDb) {
    let run_id = {
        let store = db.open().await;
        let id = new_run(&store, "0", "kept", 1).await;
        store.close().await;
        id
    };
    let store = db.open().await;
    assert_eq!(store.schema_version().await, 6);
    assert_eq!(
        store.get_run(&run_id).await.expect("run").info.run_name,
        "kept"
    );
    if let TestDb::Sqlite { dir, .. } = db {
        // WAL mode is a property of the file.
        let files: Vec<_> = std::fs::read_dir(dir.path().join("home"))
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        let files = files.join(",");
        assert!(files.contains("slipway.db-wal"), "WAL mode: {files}");
    }
}

async fn concurrent_writers_lose_nothing(db: &TestDb) {
    let store = db.open().await;
    let store = std::sync::Arc::new(store);
    let id = new_run(&store, "0", "busy", 1).await;
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (store, id) = (store.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                store
                    .log_metric(&id, metric(&format!("w{w}"), i as f64, i, i))
                    .await
                    .expect("metric");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    for w in 0..8 {
        let h = store
            .metric_history(&id, &format!("w{w}"), 100, None)
            .await
            .expect("history");
        assert_eq!(h.items.len(), 25);
    }
}

/// Runs come back with exactly the metric values logged (bit for bit, NaN and infinities
/// included) and with params, tags and metrics in the order they were written, both from
/// `get_run` and from a search page.
async fn run_data_round_trips_exact_values_and_order(db: &TestDb) {
    let store = db.open().await;
    let values = [
        1.0 / 3.0,
        0.1 + 0.2,
        1e-300 / 3.0,
        f64::MAX,
        -f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        123_456_789.0,
        -0.5,
        2.0_f64.powi(60) + 2048.0,
        0.999_999_999_999_999_9,
    ];
    let keys: Vec<String> = (0..values.len()).map(|i| format!("z{}", 99 - i)).collect();
    let id = new_run(&store, "0", "exact", 1).await;
    store
        .log_batch(
            &id,
            LogBatch {
                model_metrics: Vec::new(),
                metrics: keys
                    .iter()
                    .zip(values)
                    .map(|(k, v)| metric(k, v, 7, 3))
                    .collect(),
                params: vec![
                    KeyValue::new("zeta", "quote \" back\\slash\nnewline"),
                    KeyValue::new("alpha", "ünïcødé ✓"),
                ],
                tags: vec![KeyValue::new("b", ""), KeyValue::new("a", "[1, 2]")],
            },
        )
        .await
        .expect("batch");
    let check = |run: &slipway_store::Run| {
        let got: Vec<(&str, u64)> = run
            .metrics
            .iter()
            .map(|m| (m.key.as_str(), m.value.to_bits()))
            .collect();
        let want: Vec<(&str, u64)> = keys
            .iter()
            .zip(values)
            .map(|(k, v)| (k.as_str(), v.to_bits()))
            .collect();
        for ((gk, gb), (wk, wb)) in got.iter().zip(&want) {
            assert_eq!(gk, wk, "metric order");
            let (g, w) = (f64::from_bits(*gb), f64::from_bits(*wb));
            assert!(
                g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                "{wk}: {g:e} != {w:e}"
            );
        }
        assert_eq!(got.len(), want.len());
        assert!(run.metrics.iter().all(|m| m.timestamp == 7 && m.step == 3));
        let params: Vec<(&str, &str)> = run
            .params
            .iter()
            .map(|p| (p.key.as_str(), p.value.as_str()))
            .collect();
        assert_eq!(
            params,
            [
                ("zeta", "quote \" back\\slash\nnewline"),
                ("alpha", "ünïcødé ✓")
            ]
        );
        let tags: Vec<(&str, &str)> = run
            .tags
            .iter()
            .filter(|t| !t.key.starts_with("mlflow."))
            .map(|t| (t.key.as_str(), t.value.as_str()))
            .collect();
        assert_eq!(tags, [("b", ""), ("a", "[1, 2]")]);
    };
    check(&store.get_run(&id).await.expect("get"));
    let page = store
        .search_runs(&RunQuery {
            experiment_ids: vec!["0".into()],
            filter: RunFilter::parse("").expect("filter"),
            order_by: vec![],
            view_type: ViewType::ActiveOnly,
            max_results: 10,
            page_token: None,
        })
        .await
        .expect("search");
    assert_eq!(page.items.len(), 1);
    check(&page.items[0]);
    // Metric history reads the same values back exactly.
    for (key, want) in keys.iter().zip(values) {
        let h = store
            .metric_history(&id, key, 10, None)
            .await
            .expect("history");
        assert_eq!(h.items.len(), 1, "{key}");
        let got = h.items[0].value;
        assert!(
            got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
            "{key}: {got:e} != {want:e}"
        );
        assert_eq!((h.items[0].timestamp, h.items[0].step), (7, 3));
    }
    assert!(matches!(
        store.metric_history("0123", "z99", 10, None).await,
        Err(Error::NotFound(_))
    ));
}

/// A database made before the registry existed is upgraded in place.
async fn a_tracking_only_database_is_upgraded(db: &TestDb) {
    db.execute_raw(db.first_migration()).await;
    db.execute_raw(
        "CREATE TABLE slipway_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);
         INSERT INTO slipway_migrations VALUES (1, 'tracking', 0);
         INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
             VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active', 0, 0);",
    )
    .await;
    let store = db.open().await;
    assert_eq!(store.schema_version().await, 6);
    store
        .create_registered_model(NewRegisteredModel {
            name: "m".into(),
            description: None,
            tags: vec![KeyValue::new("k", "v")],
        })
        .await
        .expect("registry tables exist");
    let id = store
        .create_experiment(NewExperiment {
            name: "after upgrade".into(),
            ..Default::default()
        })
        .await
        .expect("create");
    assert_eq!(id, "1");
}

fn version_of(name: &str) -> NewModelVersion {
    NewModelVersion {
        name: name.into(),
        source: "s3://bucket/model".into(),
        ..NewModelVersion::default()
    }
}

async fn version_numbers_are_never_reused(db: &TestDb) {
    {
        let store = db.open().await;
        store
            .create_registered_model(NewRegisteredModel {
                name: "m".into(),
                ..NewRegisteredModel::default()
            })
            .await
            .expect("create");
        for want in 1..=3 {
            let v = store
                .create_model_version(version_of("m"))
                .await
                .expect("v");
            assert_eq!(v.version, want);
            assert_eq!(v.storage_location, "s3://bucket/model");
        }
        store.delete_model_version("m", "3").await.expect("delete");
        store.close().await;
    }
    let store = db.open().await;
    let v = store
        .create_model_version(version_of("m"))
        .await
        .expect("v4");
    assert_eq!(v.version, 4);
    let err = store.get_model_version("m", "3").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Model Version (name=m, version=3) not found"
    );
}

/// Two stores on the database, as two servers would hold it. Two servers on one database is
/// what PostgreSQL is for; a SQLite file has one server, so both are the same store there.
async fn two_stores(db: &TestDb) -> [std::sync::Arc<Store>; 2] {
    let first = std::sync::Arc::new(db.open().await);
    let second = match db {
        TestDb::Postgres { .. } => std::sync::Arc::new(db.open().await),
        TestDb::Sqlite { .. } => first.clone(),
    };
    [first, second]
}

/// Versions created at once, through two stores on one database (two servers), get 1..N:
/// the number is allocated in the transaction that inserts the version.
async fn concurrent_version_creates_get_1_to_n(db: &TestDb) {
    let stores = two_stores(db).await;
    stores[0]
        .create_registered_model(NewRegisteredModel {
            name: "busy".into(),
            ..NewRegisteredModel::default()
        })
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for i in 0..24 {
        let store = stores[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            store.create_model_version(version_of("busy")).await
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.expect("task").expect("create version").version);
    }
    got.sort_unstable();
    assert_eq!(got, (1..=24).collect::<Vec<i64>>());
}

/// Params logged at once through two stores on one database (two servers): the same value
/// from everyone succeeds everywhere; two values for one key store one of them, and every
/// writer of the other gets MLflow's user error, never a database error.
async fn concurrent_params_across_stores(db: &TestDb) {
    let stores = two_stores(db).await;
    let exp = stores[0]
        .create_experiment(NewExperiment {
            name: format!("params-race-{}", rand_id()),
            ..NewExperiment::default()
        })
        .await
        .expect("experiment");
    for round in 0..5 {
        let run = new_run(&stores[0], &exp, &format!("r{round}"), 1).await;
        let mut tasks = Vec::new();
        for i in 0..24 {
            let store = stores[i % 2].clone();
            let run = run.clone();
            let contested = if i % 3 == 0 { "a" } else { "b" };
            tasks.push(tokio::spawn(async move {
                let batch = LogBatch {
                    params: vec![
                        KeyValue {
                            key: "same".into(),
                            value: "v".into(),
                        },
                        KeyValue {
                            key: "contested".into(),
                            value: contested.into(),
                        },
                    ],
                    ..LogBatch::default()
                };
                (contested, store.log_batch(&run, batch).await)
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            let (value, res) = t.await.expect("task");
            match res {
                Ok(()) => winners.push(value),
                Err(e) => assert!(
                    matches!(e, Error::InvalidParameter(_)) && e.kind() == ErrorKind::User,
                    "round {round}: {e:?}"
                ),
            }
        }
        let stored = stores[1].get_run(&run).await.expect("run").params;
        let get = |k: &str| stored.iter().find(|p| p.key == k).map(|p| p.value.clone());
        assert_eq!(get("same").as_deref(), Some("v"));
        let kept = get("contested").expect("one value kept");
        assert!(
            !winners.is_empty(),
            "round {round}: the first writer succeeds"
        );
        assert!(
            winners.iter().all(|w| *w == kept),
            "round {round}: {winners:?} vs kept {kept}"
        );
    }
}

/// A write that fails with a user error after it started writing (deleting a tag that is not
/// there) must not leave the next writer facing a lock: interleaved with such failures, every
/// metric is logged.
async fn failed_writes_do_not_block_the_next_writer(db: &TestDb) {
    let store = std::sync::Arc::new(db.open().await);
    let exp = store
        .create_experiment(NewExperiment {
            name: format!("locks-{}", rand_id()),
            ..NewExperiment::default()
        })
        .await
        .expect("experiment");
    let run = new_run(&store, &exp, "r", 1).await;
    let mut tasks = Vec::new();
    for i in 0..200i64 {
        let store = store.clone();
        let run = run.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                let e = store
                    .delete_run_tag(&run, "missing")
                    .await
                    .expect_err("no such tag");
                assert!(matches!(e, Error::NotFound(_)), "{e:?}");
            } else {
                store
                    .log_metric(&run, metric("m", i as f64, i, i))
                    .await
                    .unwrap_or_else(|e| panic!("metric {i}: {e:?}"));
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let history = store
        .metric_history(&run, "m", 1000, None)
        .await
        .expect("history");
    assert_eq!(history.items.len(), 100);
}

/// A request dropped mid-way (its client hung up) drops the store call's future at whatever
/// await it had reached: a write's batch is then stored whole or not at all, and the next
/// write and read on the same connections work.
async fn abandoned_writes_and_reads_leave_nothing_behind(db: &TestDb) {
    use std::future::Future;
    use std::task::{Context, Poll};

    let store = db.open().await;
    let exp = store
        .create_experiment(NewExperiment {
            name: format!("abandoned-{}", rand_id()),
            ..NewExperiment::default()
        })
        .await
        .expect("experiment");
    let run = new_run(&store, &exp, "r", 1).await;
    let waker = futures_util::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let query = RunQuery {
        experiment_ids: vec![exp.clone()],
        max_results: 10,
        ..RunQuery::default()
    };
    let mut finished = 0;
    for polls in 0..40usize {
        let key = format!("m{polls}");
        let batch = LogBatch {
            metrics: (0..300).map(|i| metric(&key, i as f64, i, i)).collect(),
            ..LogBatch::default()
        };
        {
            let mut write = std::pin::pin!(store.log_batch(&run, batch));
            let mut search = std::pin::pin!(store.search_runs(&query));
            let mut searched = false;
            for _ in 0..polls {
                if let Poll::Ready(r) = write.as_mut().poll(&mut cx) {
                    r.expect("batch");
                    finished += 1;
                    break;
                }
                tokio::task::yield_now().await;
                if !searched && let Poll::Ready(r) = search.as_mut().poll(&mut cx) {
                    r.expect("search");
                    searched = true;
                }
            }
        }
        let stored = store
            .metric_history(&run, &key, 1000, None)
            .await
            .expect("history")
            .items
            .len();
        assert!(
            stored == 0 || stored == 300,
            "{polls} polls: {stored} of 300"
        );
        store
            .log_metric(&run, metric("after", polls as f64, 0, polls as i64))
            .await
            .unwrap_or_else(|e| panic!("write after {polls} polls: {e:?}"));
        let got = store.get_run(&run).await.expect("read after");
        assert_eq!(
            got.metrics
                .iter()
                .find(|m| m.key == "after")
                .map(|m| m.value),
            Some(polls as f64)
        );
    }
    // Some were dropped before they finished (the early ones cannot have finished).
    assert!(finished < 40, "{finished}");
}

fn dataset(name: &str, source: &str, context: &str) -> DatasetInput {
    DatasetInput {
        dataset: Dataset {
            name: name.into(),
            digest: format!("{:08x}", name.bytes().map(u32::from).sum::<u32>()),
            source_type: "local".into(),
            source: source.into(),
            schema: (name != "plain").then(|| format!("{{\"columns\": [\"{name}\"]}}")),
            profile: None,
        },
        tags: vec![KeyValue::new("mlflow.data.context", context)],
    }
}

/// Datasets and model inputs as MLflow keeps them: a dataset is one per experiment, name and
/// digest (logging it again reuses the stored one), an input keeps the tags it was first
/// logged with, repeats within one call count once, and order is the order first logged.
async fn inputs_are_kept_as_first_logged(db: &TestDb) {
    let store = db.open().await;
    let new_exp = |name: String| {
        store.create_experiment(NewExperiment {
            name,
            ..NewExperiment::default()
        })
    };
    let exp = new_exp(format!("inputs-{}", rand_id()))
        .await
        .expect("experiment");
    let other = new_exp(format!("inputs-{}", rand_id()))
        .await
        .expect("experiment");
    let a = new_run(&store, &exp, "a", 1).await;
    let b = new_run(&store, &exp, "b", 2).await;
    let c = new_run(&store, &other, "c", 3).await;

    let mut twice = dataset("train", "s3://x/train-again", "eval");
    twice.tags.push(KeyValue::new("split", "ignored"));
    store
        .log_inputs(
            &a,
            vec![
                dataset("train", "s3://x/train", "training"),
                twice,
                dataset("plain", "/p", "eval"),
            ],
            vec!["m-1".into(), "m-2".into(), "m-1".into()],
        )
        .await
        .expect("log inputs");
    store
        .log_inputs(
            &a,
            vec![dataset("train", "s3://changed", "other")],
            vec!["m-1".into()],
        )
        .await
        .expect("log again");
    store
        .log_inputs(&b, vec![dataset("train", "s3://changed", "eval")], vec![])
        .await
        .expect("second run");
    store
        .log_inputs(
            &c,
            vec![dataset("train", "s3://other-exp", "training")],
            vec![],
        )
        .await
        .expect("other experiment");

    let run_a = store.get_run(&a).await.expect("a");
    assert_eq!(
        run_a.dataset_inputs,
        vec![
            dataset("train", "s3://x/train", "training"),
            dataset("plain", "/p", "eval")
        ]
    );
    assert_eq!(run_a.dataset_inputs[1].dataset.schema, None);
    assert_eq!(
        run_a.model_inputs,
        vec!["m-1".to_string(), "m-2".to_string()]
    );
    // Same experiment: the stored dataset, this input's own tags.
    let run_b = store.get_run(&b).await.expect("b");
    assert_eq!(
        run_b.dataset_inputs,
        vec![dataset("train", "s3://x/train", "eval")]
    );
    assert!(run_b.model_inputs.is_empty());
    // Another experiment has its own.
    let run_c = store.get_run(&c).await.expect("c");
    assert_eq!(
        run_c.dataset_inputs,
        vec![dataset("train", "s3://other-exp", "training")]
    );

    let found = store
        .search_runs(&RunQuery {
            experiment_ids: vec![exp.clone()],
            max_results: 10,
            ..RunQuery::default()
        })
        .await
        .expect("search");
    let by_id = |id: &str| {
        found
            .items
            .iter()
            .find(|r| r.info.run_id == id)
            .expect("found")
            .clone()
    };
    assert_eq!(by_id(&a).dataset_inputs, run_a.dataset_inputs);
    assert_eq!(by_id(&a).model_inputs, run_a.model_inputs);
    assert_eq!(by_id(&b).dataset_inputs, run_b.dataset_inputs);

    // Filters on the inputs (MLflow's `datasets.` entity): true when one input passes.
    let matching = |filter: &'static str| {
        let store = &store;
        let exp = exp.clone();
        async move {
            let query = RunQuery {
                experiment_ids: vec![exp],
                filter: RunFilter::parse(filter).expect("filter"),
                order_by: vec![OrderBy::parse_for_runs("start_time").expect("order")],
                max_results: 10,
                ..RunQuery::default()
            };
            let page = store.search_runs(&query).await.expect(filter);
            page.items
                .into_iter()
                .map(|r| r.info.run_name)
                .collect::<Vec<_>>()
        }
    };
    // "plain" has digest 0x214, "train" 0x21e.
    assert_eq!(matching("datasets.name = 'plain'").await, ["a"]);
    assert_eq!(matching("dataset.name != 'train'").await, ["a"]);
    assert_eq!(matching("datasets.context = 'eval'").await, ["a", "b"]);
    assert_eq!(matching("datasets.context = 'training'").await, ["a"]);
    // Each clause may be met by a different input (as in MLflow): "a" has "train" and,
    // in "plain", an input in context "eval".
    assert_eq!(
        matching("datasets.name LIKE 'tr%' AND datasets.context ILIKE 'EV%'").await,
        ["a", "b"]
    );
    assert_eq!(
        matching("datasets.name LIKE 'tr%' AND datasets.context = 'training'").await,
        ["a"]
    );
    assert_eq!(
        matching("datasets.digest IN ('00000214', 'none')").await,
        ["a"]
    );
    assert_eq!(
        matching("datasets.digest NOT IN ('00000214')").await,
        ["a", "b"]
    );
    assert!(matching("datasets.name = 'absent'").await.is_empty());
    for bad in [
        "datasets.size = 'x'",
        "datasets.name > 'a'",
        "datasets.name = 3",
    ] {
        assert!(RunFilter::parse(bad).is_err(), "{bad}");
    }
    let ordered = RunQuery {
        experiment_ids: vec![exp.clone()],
        order_by: vec![OrderBy::parse_for_runs("datasets.name").expect("parses")],
        ..RunQuery::default()
    };
    let e = store
        .search_runs(&ordered)
        .await
        .expect_err("no dataset order");
    assert!(matches!(e, Error::InvalidParameter(_)), "{e:?}");

    // Refused: too long a digest (nothing stored), a deleted run, a missing run.
    let mut long = dataset("long", "/l", "training");
    long.dataset.digest = "d".repeat(37);
    let e = store
        .log_inputs(&b, vec![long], vec![])
        .await
        .expect_err("digest");
    assert!(
        matches!(e, Error::InvalidParameter(_)) && e.to_string().contains("'digest'"),
        "{e}"
    );
    assert_eq!(store.get_run(&b).await.expect("b").dataset_inputs.len(), 1);
    store.delete_run(&b).await.expect("delete");
    let e = store
        .log_inputs(&b, vec![dataset("x", "/x", "training")], vec![])
        .await
        .expect_err("deleted run");
    assert!(matches!(e, Error::InvalidParameter(_)), "{e:?}");
    let e = store
        .log_inputs("0123456789abcdef0123456789abcdef", vec![], vec!["m".into()])
        .await
        .expect_err("missing run");
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
}

/// Values logged with a `model_id` are the run's metrics and the logged model's too (every
/// value, in order, with run and dataset), all or nothing with the rest of the batch.
async fn metrics_of_logged_models(db: &TestDb) {
    let store = db.open().await;
    let exp = store
        .create_experiment(NewExperiment {
            name: format!("model-metrics-{}", rand_id()),
            ..NewExperiment::default()
        })
        .await
        .expect("experiment");
    let run = new_run(&store, &exp, "r", 1).await;
    let model = store
        .create_logged_model(NewLoggedModel {
            experiment_id: exp.clone(),
            source_run_id: Some(run.clone()),
            ..NewLoggedModel::default()
        })
        .await
        .expect("logged model")
        .model_id;
    let linked = |m: Metric, dataset: Option<&str>| ModelMetric {
        metric: m,
        model_id: model.clone(),
        dataset_name: dataset.map(str::to_string),
        dataset_digest: dataset.map(|d| format!("{:08x}", d.len())),
    };
    let acc = [metric("acc", 0.75, 10, 0), metric("acc", 0.875, 11, 1)];
    let batch = LogBatch {
        metrics: vec![
            acc[0].clone(),
            acc[1].clone(),
            metric("loss", f64::NAN, 12, 1),
        ],
        model_metrics: vec![
            linked(acc[0].clone(), Some("train")),
            linked(acc[1].clone(), None),
            linked(metric("loss", f64::NAN, 12, 1), Some("train")),
        ],
        ..LogBatch::default()
    };
    store.log_batch(&run, batch.clone()).await.expect("batch");
    // The same values again add nothing.
    store.log_batch(&run, batch).await.expect("again");
    // A refused batch (a param changing value) stores none of its model metrics.
    store
        .log_param(&run, KeyValue::new("p", "1"))
        .await
        .expect("param");
    let refused = LogBatch {
        metrics: vec![metric("acc", 0.5, 13, 2)],
        model_metrics: vec![linked(metric("acc", 0.5, 13, 2), None)],
        params: vec![KeyValue::new("p", "2")],
        ..LogBatch::default()
    };
    store
        .log_batch(&run, refused)
        .await
        .expect_err("param changed");

    let got = store.get_logged_model(&model, false).await.expect("model");
    let summary: Vec<_> = got
        .metrics
        .iter()
        .map(|m| {
            (
                m.run_id.as_str(),
                m.metric.metric.key.as_str(),
                m.metric.metric.value.to_string(),
                m.metric.metric.step,
                m.metric.dataset_name.as_deref(),
                m.metric.dataset_digest.is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                run.as_str(),
                "acc",
                "0.75".to_string(),
                0,
                Some("train"),
                true
            ),
            (run.as_str(), "acc", "0.875".to_string(), 1, None, false),
            (
                run.as_str(),
                "loss",
                "NaN".to_string(),
                1,
                Some("train"),
                true
            ),
        ]
    );
    // The run has them as metrics of its own.
    let r = store.get_run(&run).await.expect("run");
    assert_eq!(
        r.metrics.iter().find(|m| m.key == "acc").map(|m| m.value),
        Some(0.875)
    );
    // Search: a filter holds when one value passes; order is by the newest value.
    let second = store
        .create_logged_model(NewLoggedModel {
            experiment_id: exp.clone(),
            name: Some("second".into()),
            ..NewLoggedModel::default()
        })
        .await
        .expect("second model")
        .model_id;
    let on_second = |m: Metric| ModelMetric {
        model_id: second.clone(),
        ..linked(m, None)
    };
    let batch = LogBatch {
        metrics: vec![metric("acc", 0.95, 20, 0), metric("acc", 0.8, 21, 1)],
        model_metrics: vec![
            on_second(metric("acc", 0.95, 20, 0)),
            on_second(metric("acc", 0.8, 21, 1)),
        ],
        ..LogBatch::default()
    };
    store
        .log_batch(&run, batch)
        .await
        .expect("second's metrics");
    let search = |filter: &str, order: &str| LoggedModelQuery {
        experiment_ids: vec![exp.clone()],
        filter: ModelFilter::parse_logged_models(filter).expect("filter"),
        order_by: if order.is_empty() {
            vec![]
        } else {
            vec![OrderBy::for_logged_models(order, false).expect("order")]
        },
        max_results: 10,
        page_token: None,
    };
    let ids = |page: Page<LoggedModel>| {
        page.items
            .into_iter()
            .map(|m| m.model_id)
            .collect::<Vec<_>>()
    };
    // Newest values: `model` 0.875, `second` 0.8; `second` once had 0.95.
    let got = store
        .search_logged_models(&search("metrics.acc > 0.9", ""))
        .await
        .expect("search");
    assert_eq!(ids(got), std::slice::from_ref(&second));
    let got = store
        .search_logged_models(&search("metrics.acc <= 0.75", ""))
        .await
        .expect("search");
    assert_eq!(ids(got), std::slice::from_ref(&model));
    let got = store
        .search_logged_models(&search("", "metrics.acc"))
        .await
        .expect("search");
    assert_eq!(ids(got), [model.clone(), second.clone()]);
    let got = store
        .search_logged_models(&search("metrics.loss > 0", ""))
        .await
        .expect("search");
    assert!(ids(got).is_empty(), "NaN passes no comparison");

    let e = store
        .log_batch(
            &run,
            LogBatch {
                model_metrics: vec![ModelMetric {
                    model_id: String::new(),
                    ..linked(metric("x", 1.0, 1, 0), None)
                }],
                ..LogBatch::default()
            },
        )
        .await
        .expect_err("empty model id");
    assert!(matches!(e, Error::InvalidParameter(_)), "{e:?}");
}

/// MLflow's LIKE is case-sensitive and ILIKE is not, on every backend; `%` and `_` are the
/// only wildcards (GLOB's `*`, `?` and `[` and a backslash match themselves).
async fn like_is_case_sensitive_and_ilike_is_not(db: &TestDb) {
    let store = db.open().await;
    for name in ["Alpha", "alpha", "a*b", "a?b", "a[b", "a\\b", "ALP_x"] {
        store
            .create_experiment(NewExperiment {
                name: name.into(),
                ..Default::default()
            })
            .await
            .expect("create");
    }
    let names = |filter: &str| {
        let q = ExperimentQuery {
            filter: ExperimentFilter::parse(filter).expect("filter"),
            order_by: vec![OrderBy::parse_for_experiments("name ASC").expect("order")],
            max_results: 100,
            ..Default::default()
        };
        let store = &store;
        async move {
            store
                .search_experiments(&q)
                .await
                .expect("search")
                .items
                .into_iter()
                .map(|e| e.name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names("name LIKE 'al%'").await, ["alpha"]);
    assert_eq!(names("name ILIKE 'al%'").await, ["ALP_x", "Alpha", "alpha"]);
    assert_eq!(names("name LIKE 'a*b'").await, ["a*b"]);
    assert_eq!(names("name LIKE 'a?b'").await, ["a?b"]);
    assert_eq!(names("name LIKE 'a[b'").await, ["a[b"]);
    assert_eq!(names("name LIKE 'a\\b'").await, ["a\\b"]);
    assert_eq!(names("name ILIKE 'A\\B'").await, ["a\\b"]);
    assert_eq!(
        names("name LIKE 'a_b'").await,
        ["a*b", "a?b", "a[b", "a\\b"]
    );
    // Byte order, as SQLite compares: upper case before lower case.
    assert_eq!(
        names("name LIKE '%'").await,
        [
            "ALP_x", "Alpha", "Default", "a*b", "a?b", "a[b", "a\\b", "alpha"
        ]
    );
}

fn attempt(version: &str, outcome: PromotionOutcome, reasons: &[&str]) -> NewPromotion {
    NewPromotion {
        name: "m".into(),
        version: version.into(),
        alias: "champion".into(),
        outcome,
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        forced: outcome == PromotionOutcome::Forced,
        override_reason: (outcome == PromotionOutcome::Forced).then(|| "hotfix".into()),
        actor: None,
        version_tags: vec![KeyValue::new(
            format!("slipway.promotion.champion.{}", outcome.as_str()),
            "{}",
        )],
    }
}

async fn champion(store: &Store) -> Option<i64> {
    store
        .get_registered_model("m")
        .await
        .expect("model")
        .aliases
        .iter()
        .find(|(a, _)| a == "champion")
        .map(|(_, v)| *v)
}

async fn promotion_attempts_are_each_recorded_with_the_move(db: &TestDb) {
    use PromotionOutcome::{Accepted, Forced, Refused, Removed};
    let store = db.open().await;
    store
        .create_registered_model(NewRegisteredModel {
            name: "m".into(),
            ..NewRegisteredModel::default()
        })
        .await
        .expect("create");
    for _ in 0..2 {
        store
            .create_model_version(version_of("m"))
            .await
            .expect("v");
    }
    let refused = store
        .record_promotion(attempt(
            "2",
            Refused,
            &["metric auc: 0.8 is below the minimum 0.9"],
        ))
        .await
        .expect("refused");
    assert_eq!((refused.version, refused.outcome), (2, Refused));
    assert_eq!(champion(&store).await, None, "a refusal moves nothing");
    let v2 = store.get_model_version("m", "2").await.expect("v2");
    assert!(
        v2.tags
            .iter()
            .any(|t| t.key == "slipway.promotion.champion.refused"),
        "the version tag is written with the record"
    );
    store
        .record_promotion(attempt("1", Accepted, &[]))
        .await
        .expect("accepted");
    assert_eq!(champion(&store).await, Some(1));
    let forced = store
        .record_promotion(attempt("2", Forced, &["tag fair: required but not set"]))
        .await
        .expect("forced");
    assert!(forced.forced);
    assert_eq!(champion(&store).await, Some(2));
    // A second refusal is a new entry, not an overwrite, and leaves the alias where it is.
    store
        .record_promotion(attempt("1", Refused, &["a", "b"]))
        .await
        .expect("refused again");
    assert_eq!(champion(&store).await, Some(2));

    // A missing version records nothing.
    let err = store
        .record_promotion(attempt("9", Accepted, &[]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::User, "{err}");
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    let err = store
        .record_promotion(attempt("1", Removed, &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParameter(_)), "{err}");
    let mut bad_alias = attempt("1", Accepted, &[]);
    bad_alias.alias = "latest".into();
    assert!(store.record_promotion(bad_alias).await.is_err());

    let history = store.list_promotions("m").await.expect("history");
    let seen: Vec<_> = history
        .iter()
        .map(|p| (p.version, p.outcome, p.reasons.len(), p.forced))
        .collect();
    assert_eq!(
        seen,
        [
            (2, Refused, 1, false),
            (1, Accepted, 0, false),
            (2, Forced, 1, true),
            (1, Refused, 2, false),
        ]
    );
    assert!(history.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(
        history[0].reasons[0],
        "metric auc: 0.8 is below the minimum 0.9"
    );
    assert_eq!(history[2].override_reason.as_deref(), Some("hotfix"));
    assert!(
        history
            .iter()
            .all(|p| p.name == "m" && p.alias == "champion")
    );

    // Removing the alias is recorded with the version it pointed at; a second removal has
    // nothing to remove and records nothing.
    let removed = store
        .remove_protected_alias("m", "champion", Some("ops"))
        .await
        .expect("remove")
        .expect("was set");
    assert_eq!((removed.version, removed.outcome), (2, Removed));
    assert_eq!(champion(&store).await, None);
    assert!(
        store
            .remove_protected_alias("m", "champion", None)
            .await
            .expect("remove again")
            .is_none()
    );
    assert_eq!(store.list_promotions("m").await.expect("history").len(), 5);

    // The history follows a rename and goes with the model.
    store
        .rename_registered_model("m", "renamed")
        .await
        .expect("rename");
    let history = store.list_promotions("renamed").await.expect("history");
    assert_eq!(history.len(), 5);
    assert_eq!(history[4].actor.as_deref(), Some("ops"));
    assert!(history.iter().all(|p| p.name == "renamed"));
    assert!(matches!(
        store.list_promotions("m").await.unwrap_err(),
        Error::NotFound(_)
    ));
    store
        .delete_registered_model("renamed")
        .await
        .expect("delete");
    store
        .create_registered_model(NewRegisteredModel {
            name: "renamed".into(),
            ..NewRegisteredModel::default()
        })
        .await
        .expect("recreate");
    assert!(
        store
            .list_promotions("renamed")
            .await
            .expect("history")
            .is_empty()
    );
}
