//! [`S3ArtifactStore`] against a real S3-compatible server (moto in server mode; `.ci/run`
//! starts it and sets `SLIPWAY_S3_TEST_ENDPOINT`). Without the variable the tests say that
//! they skipped, unless `CI` is set, where a missing server is a failure.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};
use slipway_store::{ArtifactEntry, ArtifactPath, ArtifactStore, ErrorKind, S3ArtifactStore};

/// The endpoint, or `None` after printing why the test is skipped.
fn endpoint() -> Option<String> {
    match std::env::var("SLIPWAY_S3_TEST_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but SLIPWAY_S3_TEST_ENDPOINT is not: .ci/run must start moto")
        }
        _ => {
            eprintln!(
                "skipped: set SLIPWAY_S3_TEST_ENDPOINT to an S3-compatible server (e.g. moto_server) to run the S3 tests"
            );
            None
        }
    }
}

/// A fresh bucket on the server and a raw client for it.
async fn bucket(endpoint: &str) -> (String, Arc<dyn ObjectStore>) {
    let name = format!("slipway-test-{:016x}", rand_id());
    // reqwest is built without a bundled TLS provider (the store installs ring's).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{name}"))
        .send()
        .await
        .expect("create bucket");
    assert!(created.status().is_success(), "create bucket: {created:?}");
    let raw = AmazonS3Builder::new()
        .with_bucket_name(&name)
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .build()
        .expect("client");
    (name, Arc::new(raw))
}

fn rand_id() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

fn path(raw: &str) -> ArtifactPath {
    ArtifactPath::parse(raw).expect("valid path")
}

#[tokio::test]
async fn round_trip_list_and_delete() {
    let Some(endpoint) = endpoint() else { return };
    let (name, raw) = bucket(&endpoint).await;
    let store = S3ArtifactStore::with_store(
        raw.clone(),
        &format!("s3://{name}/team"),
        vec!["team".into()],
    );
    let p = path("1/run/artifacts/sub/hello.txt");
    store
        .put(&p, Bytes::from_static(b"hello"))
        .await
        .expect("put");
    assert_eq!(
        store.get(&p).await.expect("get"),
        Bytes::from_static(b"hello")
    );
    store
        .put(&p, Bytes::from_static(b"bye"))
        .await
        .expect("overwrite");
    assert_eq!(
        store.get(&p).await.expect("get"),
        Bytes::from_static(b"bye")
    );
    store
        .put(&path("1/run/artifacts/sub/empty"), Bytes::new())
        .await
        .expect("empty file");
    assert_eq!(
        store.list(&path("1/run/artifacts")).await.expect("list"),
        vec![ArtifactEntry {
            name: "sub".into(),
            is_dir: true,
            size: None
        }]
    );
    let sub = store
        .list(&path("1/run/artifacts/sub"))
        .await
        .expect("list");
    assert_eq!(sub.len(), 2);
    assert_eq!((sub[0].name.as_str(), sub[0].size), ("empty", Some(0)));
    assert_eq!((sub[1].name.as_str(), sub[1].size), ("hello.txt", Some(3)));
    assert!(store.list(&path("nope")).await.expect("list").is_empty());
    let missing = store.get(&path("1/none")).await.expect_err("missing");
    assert_eq!(missing.kind(), ErrorKind::User);
    assert!(missing.to_string().contains("does not exist"), "{missing}");

    // Objects outside the prefix are neither listed nor deleted.
    let outside = StorePath::from("elsewhere/keep.txt");
    raw.put(&outside, PutPayload::from_static(b"keep"))
        .await
        .expect("put outside");
    let root = store.list(&ArtifactPath::root()).await.expect("list root");
    assert_eq!(root.len(), 1, "{root:?}");
    store
        .delete(&path("1/run/artifacts/sub"))
        .await
        .expect("delete");
    assert_eq!(
        store.get(&p).await.expect_err("deleted").kind(),
        ErrorKind::User
    );
    store
        .delete(&path("1/run/artifacts/sub"))
        .await
        .expect("delete twice");
    store
        .delete(&ArtifactPath::root())
        .await
        .expect("delete root");
    let left: Vec<_> = raw.list(None).try_collect().await.expect("list all");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].location, outside);
}

#[tokio::test]
async fn multipart_uploads_complete_and_unfinished_ones_stay_invisible() {
    let Some(endpoint) = endpoint() else { return };
    let (name, raw) = bucket(&endpoint).await;
    let store = S3ArtifactStore::with_store(raw.clone(), &format!("s3://{name}"), Vec::new())
        .with_multipart(6 * 1024 * 1024, 5 * 1024 * 1024)
        .expect("multipart settings");
    let big: Vec<u8> = (0..12 * 1024 * 1024 + 17)
        .map(|i| (i % 251) as u8)
        .collect();
    let p = path("model/weights.bin");
    store
        .put(&p, Bytes::from(big.clone()))
        .await
        .expect("multipart put");
    assert_eq!(store.get(&p).await.expect("get").as_ref(), big.as_slice());

    // An upload whose parts are sent but which is never completed is not an object.
    let half = StorePath::from("model/half.bin");
    let mut upload = raw.put_multipart(&half).await.expect("start upload");
    upload
        .put_part(PutPayload::from(vec![7u8; 5 * 1024 * 1024]))
        .await
        .expect("part");
    let listing = store.list(&path("model")).await.expect("list");
    assert_eq!(
        listing.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        vec!["weights.bin"]
    );
    let e = store
        .get(&path("model/half.bin"))
        .await
        .expect_err("unfinished");
    assert_eq!(e.kind(), ErrorKind::User);
    upload.abort().await.expect("abort");
    assert_eq!(store.list(&path("model")).await.expect("list").len(), 1);
}

#[tokio::test]
async fn a_missing_bucket_is_an_internal_error_not_a_panic() {
    let Some(endpoint) = endpoint() else { return };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let raw = AmazonS3Builder::new()
        .with_bucket_name("slipway-no-such-bucket")
        .with_endpoint(&endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .build()
        .expect("client");
    let store =
        S3ArtifactStore::with_store(Arc::new(raw), "s3://slipway-no-such-bucket", Vec::new());
    let e = store
        .put(&path("a.txt"), Bytes::from_static(b"x"))
        .await
        .expect_err("no bucket");
    assert_eq!(e.kind(), ErrorKind::Internal, "{e}");
}
