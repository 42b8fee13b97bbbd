//! The SQLite metadata store against a real database file.

use slipway_store::{
    Error, ErrorKind, ExperimentFilter, ExperimentQuery, KeyValue, LifecycleStage, LogBatch,
    MetadataStore, Metric, NewExperiment, NewRun, OrderBy, RunFilter, RunQuery, RunStatus,
    RunUpdate, SqliteStore, ViewType,
};

async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("home/slipway.db"))
        .await
        .expect("open");
    (dir, store)
}

fn metric(key: &str, value: f64, timestamp: i64, step: i64) -> Metric {
    Metric {
        key: key.into(),
        value,
        timestamp,
        step,
    }
}

async fn new_run(store: &SqliteStore, exp: &str, name: &str, start: i64) -> String {
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

#[tokio::test]
async fn experiments_lifecycle() {
    let (_dir, store) = store().await;
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

#[tokio::test]
async fn experiment_search_filters_orders_and_pages() {
    let (_dir, store) = store().await;
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

#[tokio::test]
async fn runs_params_metrics_tags() {
    let (_dir, store) = store().await;
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
    store.restore_run(&id).await.expect("restore");
    store
        .log_metric(&id, metric("late", 1.0, 1, 0))
        .await
        .expect("after restore");
    assert!(matches!(
        store.get_run("0123").await,
        Err(Error::NotFound(_))
    ));
}

#[tokio::test]
async fn log_batch_is_all_or_nothing() {
    let (_dir, store) = store().await;
    let id = new_run(&store, "0", "r", 1).await;
    store
        .log_param(&id, KeyValue::new("p", "1"))
        .await
        .expect("param");
    let batch = LogBatch {
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

#[tokio::test]
async fn search_runs_filter_order_and_paging() {
    let (_dir, store) = store().await;
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

#[tokio::test]
async fn reopening_keeps_data_and_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("slipway.db");
    let run_id = {
        let store = SqliteStore::open(&path).await.expect("open");
        let id = new_run(&store, "0", "kept", 1).await;
        store.close().await;
        id
    };
    let store = SqliteStore::open(&path).await.expect("reopen");
    assert_eq!(store.schema_version().await.expect("version"), 2);
    assert_eq!(
        store.get_run(&run_id).await.expect("run").info.run_name,
        "kept"
    );
    let mode: String = {
        // WAL mode is a property of the file.
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.join(",")
    };
    assert!(mode.contains("slipway.db-wal"), "WAL mode: {mode}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_lose_nothing() {
    let (_dir, store) = store().await;
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
#[tokio::test]
async fn run_data_round_trips_exact_values_and_order() {
    let (_dir, store) = store().await;
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
}
