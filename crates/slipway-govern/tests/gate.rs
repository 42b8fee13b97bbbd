//! The promotion gate over a real store (SQLite): what moves, what is refused, what is
//! recorded.

use slipway_govern::{AliasMove, AliasRequest, Error, Policy, PromotionOutcome};
use slipway_store::{
    KeyValue, LogBatch, MetadataStore, Metric, NewModelVersion, NewRegisteredModel, NewRun,
    SqliteStore,
};

const POLICY: &str =
    "metrics: {auc: {min: 0.9}}\nrequired_tags: {fair: \"true\"}\nprotected_aliases: [champion]\n";

/// A store with model `m`: v1 from a run with auc 0.8, v2 from a run with auc 0.95 and the
/// run tag fair=false overridden by the version tag fair=true.
async fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("slipway.db"))
        .await
        .expect("open");
    store
        .create_registered_model(NewRegisteredModel {
            name: "m".into(),
            ..NewRegisteredModel::default()
        })
        .await
        .expect("model");
    for (auc, version_tags) in [(0.8, vec![]), (0.95, vec![KeyValue::new("fair", "true")])] {
        let run = store
            .create_run(NewRun {
                experiment_id: "0".into(),
                user_id: "t".into(),
                run_name: None,
                start_time: Some(1),
                tags: vec![],
            })
            .await
            .expect("run");
        let run_id = run.info.run_id;
        store
            .log_batch(
                &run_id,
                LogBatch {
                    metrics: vec![Metric {
                        key: "auc".into(),
                        value: auc,
                        timestamp: 1,
                        step: 0,
                    }],
                    tags: vec![KeyValue::new("fair", "false")],
                    ..LogBatch::default()
                },
            )
            .await
            .expect("log");
        store
            .create_model_version(NewModelVersion {
                name: "m".into(),
                source: format!("runs:/{run_id}/model"),
                run_id: Some(run_id),
                tags: version_tags,
                ..NewModelVersion::default()
            })
            .await
            .expect("version");
    }
    (dir, store)
}

fn request(alias: &str, version: &str) -> AliasRequest {
    AliasRequest {
        name: "m".into(),
        alias: alias.into(),
        version: version.into(),
        ..AliasRequest::default()
    }
}

async fn champion(store: &SqliteStore) -> Option<i64> {
    let m = store.get_registered_model("m").await.expect("model");
    m.aliases
        .iter()
        .find(|(a, _)| a == "champion")
        .map(|(_, v)| *v)
}

#[tokio::test]
async fn the_gate_moves_passing_versions_refuses_the_rest_and_records_each_attempt() {
    let (_dir, store) = store().await;
    let policy = Policy::parse(POLICY, "policy.yaml").expect("policy");

    let err = slipway_govern::set_alias(&store, Some(&policy), request("champion", "1"))
        .await
        .unwrap_err();
    let Error::Refused(refused) = &err else {
        panic!("not a refusal: {err}");
    };
    assert_eq!(refused.reasons.len(), 2, "{:?}", refused.reasons);
    let message = err.to_string();
    assert!(message.contains("2 broken rules"), "{message}");
    assert!(
        message.contains("metric auc: 0.8 is below the minimum 0.9"),
        "{message}"
    );
    assert!(
        message.contains("tag fair: is 'false', required 'true'"),
        "{message}"
    );
    assert_eq!(champion(&store).await, None);

    // The version's own tag overrides its run's.
    let moved = slipway_govern::set_alias(&store, Some(&policy), request("champion", "2"))
        .await
        .expect("accepted");
    let AliasMove::Gated(p) = moved else {
        panic!("not gated: {moved:?}");
    };
    assert_eq!(p.outcome, PromotionOutcome::Accepted);
    assert_eq!(champion(&store).await, Some(2));

    // An override without a reason is refused before anything is read or written.
    let mut force = request("champion", "1");
    force.force = true;
    let err = slipway_govern::set_alias(&store, Some(&policy), force.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    force.reason = Some("roll back: v2 misbehaves".into());
    let moved = slipway_govern::set_alias(&store, Some(&policy), force)
        .await
        .expect("forced");
    assert!(matches!(&moved, AliasMove::Gated(p) if p.outcome == PromotionOutcome::Forced));
    assert_eq!(champion(&store).await, Some(1));

    // Unprotected aliases, and every alias without a policy, move as in MLflow.
    for (policy, alias) in [(Some(&policy), "challenger"), (None, "champion")] {
        let moved = slipway_govern::set_alias(&store, policy, request(alias, "1"))
            .await
            .expect("moves");
        assert_eq!(moved, AliasMove::Unprotected);
    }
    // A promotion that insists on a gate is refused where there is none.
    let mut gated = request("challenger", "2");
    gated.require_policy = true;
    let err = slipway_govern::set_alias(&store, Some(&policy), gated)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");

    // A missing version is the store's NotFound, and nothing is recorded.
    let err = slipway_govern::set_alias(&store, Some(&policy), request("champion", "7"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), slipway_govern::ErrorKind::User, "{err}");

    slipway_govern::delete_alias(&store, Some(&policy), "m", "champion", None)
        .await
        .expect("delete");
    let outcomes: Vec<_> = store
        .list_promotions("m")
        .await
        .expect("history")
        .iter()
        .map(|p| (p.version, p.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            (1, PromotionOutcome::Refused),
            (2, PromotionOutcome::Accepted),
            (1, PromotionOutcome::Forced),
            (1, PromotionOutcome::Removed),
        ]
    );
}
