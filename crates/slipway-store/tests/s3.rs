//! [`S3ArtifactStore`] against a real S3-compatible server (moto in server mode; `.ci/run`
//! starts it and sets `SLIPWAY_S3_TEST_ENDPOINT`). Without the variable the tests say that
//! they skipped, unless `CI` is set, where a missing server is a failure.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};
use slipway_store::{
    ArtifactEntry, ArtifactPath, ArtifactStore, DeletablePath, ErrorKind, S3ArtifactStore,
};

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
    // The root, an experiment and a run cannot even be named for deletion.
    for raw_path in ["", "1", "1/run", "1/run/artifacts"] {
        let e = DeletablePath::new(path(raw_path)).expect_err(raw_path);
        assert_eq!(e.kind(), ErrorKind::User, "{raw_path}");
    }
    let sub = DeletablePath::new(path("1/run/artifacts/sub")).expect("deletable");
    store.delete(&sub).await.expect("delete");
    assert_eq!(
        store.get(&p).await.expect_err("deleted").kind(),
        ErrorKind::User
    );
    store.delete(&sub).await.expect("delete twice");
    let left: Vec<_> = raw.list(None).try_collect().await.expect("list all");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].location, outside);
}

/// A body of `chunks` chunks of `size` bytes each, made as it is read.
fn generated(chunks: usize, size: usize) -> slipway_store::ByteStream {
    use futures_util::StreamExt;
    futures_util::stream::iter((0..chunks).map(move |i| Ok(Bytes::from(vec![i as u8; size]))))
        .boxed()
}

#[tokio::test]
async fn streamed_uploads_complete_or_leave_nothing() {
    let Some(endpoint) = endpoint() else { return };
    let (name, raw) = bucket(&endpoint).await;
    let store = S3ArtifactStore::with_store(raw.clone(), &format!("s3://{name}"), Vec::new())
        .with_multipart(5 * 1024 * 1024, 5 * 1024 * 1024)
        .expect("multipart settings");
    let p = path("1/run/artifacts/weights.bin");
    // 23 MiB and a bit, in odd-sized chunks: five parts, the last one short.
    let size = store
        .put_stream(&p, generated(23, 1024 * 1024 + 7), Some(64 * 1024 * 1024))
        .await
        .expect("streamed put");
    assert_eq!(size, 23 * (1024 * 1024 + 7));
    let back = store.get(&p).await.expect("get");
    assert_eq!(back.len() as u64, size);
    assert_eq!(back[0], 0);
    assert_eq!(back[back.len() - 1], 22);

    // Over the limit after parts were sent: refused, and no object, no upload left.
    let q = path("1/run/artifacts/too-big.bin");
    let e = store
        .put_stream(&q, generated(12, 1024 * 1024), Some(11 * 1024 * 1024))
        .await
        .expect_err("too large");
    assert!(e.to_string().contains("11534336 bytes"), "{e}");
    let e = store.get(&q).await.expect_err("nothing stored");
    assert_eq!(e.kind(), ErrorKind::User);
    // The abort runs in a task of its own: give it a moment, then no upload is pending.
    let pending = |raw_endpoint: String, bucket: String| async move {
        let listing = reqwest::Client::new()
            .get(format!("{raw_endpoint}/{bucket}?uploads"))
            .send()
            .await
            .expect("list uploads")
            .text()
            .await
            .expect("body");
        listing.matches("<UploadId>").count()
    };
    let mut left = usize::MAX;
    for _ in 0..50 {
        left = pending(endpoint.clone(), name.clone()).await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "an unfinished multipart upload was left behind");
    let listing = store.list(&path("1/run/artifacts")).await.expect("list");
    assert_eq!(
        listing.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        vec!["weights.bin"]
    );
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
