//! [`S3ArtifactStore`]: artifacts in an S3 bucket (or any S3-compatible service) under a
//! prefix, through the `object_store` crate.
//!
//! The URL is `s3://bucket/prefix`. Credentials and the region come from the standard AWS
//! environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! `AWS_REGION` / `AWS_DEFAULT_REGION`); `AWS_ENDPOINT_URL` (or an explicit endpoint) points
//! at an S3-compatible service, and a plain `http://` endpoint is allowed as given.
//!
//! Confinement: every key is the configured prefix followed by the parts of an already
//! checked [`ArtifactPath`], so no request can name an object outside the prefix. Atomicity:
//! a single PUT is atomic in S3; bodies above the multipart threshold are streamed as a
//! multipart upload, part by part (one part in flight while the next one fills, so memory
//! stays near two parts whatever the size), that is either completed or aborted, so no
//! half-written object is ever visible.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::{Path as StorePath, PathPart};
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};

use crate::artifact::{
    ArtifactEntry, ArtifactPath, ArtifactStore, ByteStream, DeletablePath, MAX_PATH_BYTES,
    too_large,
};
use crate::error::{Error, Result};

/// Bodies larger than this go up as a multipart upload (16 MiB): what is below it is held in
/// memory until the body ends.
pub const DEFAULT_MULTIPART_THRESHOLD: usize = 16 * 1024 * 1024;
/// Part size of a multipart upload (16 MiB; S3 needs at least 5 MiB but the last part).
pub const DEFAULT_PART_SIZE: usize = 16 * 1024 * 1024;
/// The smallest part S3 accepts (but the last one).
const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// Artifacts in an S3 bucket under a prefix.
#[derive(Debug, Clone)]
pub struct S3ArtifactStore {
    store: Arc<dyn ObjectStore>,
    url: String,
    prefix: Vec<String>,
    multipart_threshold: usize,
    part_size: usize,
}

/// `bucket` and checked prefix parts of `s3://bucket/prefix`.
fn parse_url(url: &str) -> Result<(String, Vec<String>)> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| {
        Error::invalid(format!(
            "invalid artifact destination '{url}': an S3 location starts with 's3://'"
        ))
    })?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_bucket = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !valid_bucket {
        return Err(Error::invalid(format!(
            "invalid artifact destination '{url}': bucket '{bucket}' must be 3 to 63 \
             lowercase letters, digits, '-' or '.'"
        )));
    }
    let prefix = ArtifactPath::parse(prefix).map_err(|e| {
        Error::invalid(format!(
            "invalid artifact destination '{url}': the prefix is not a plain path ({e})"
        ))
    })?;
    Ok((bucket.to_string(), prefix.parts().to_vec()))
}

impl S3ArtifactStore {
    /// Connects to `s3://bucket/prefix`, with credentials from the AWS environment
    /// variables and `endpoint` (else `AWS_ENDPOINT_URL`) for S3-compatible services.
    ///
    /// Nothing is sent over the network yet: a wrong endpoint or credentials show on the
    /// first request.
    pub fn open(url: &str, endpoint: Option<&str>) -> Result<Self> {
        let (bucket, prefix) = parse_url(url)?;
        // reqwest's rustls needs a process-wide crypto provider; installing twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&bucket);
        let endpoint = endpoint
            .map(str::to_string)
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .filter(|e| !e.is_empty());
        if let Some(endpoint) = endpoint {
            if endpoint.starts_with("http://") {
                builder = builder.with_allow_http(true);
            }
            builder = builder.with_endpoint(endpoint);
        }
        let has_region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()));
        if !has_region {
            builder = builder.with_region("us-east-1");
        }
        // Fail within seconds, not minutes, when the service is down.
        builder = builder.with_retry(RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(20),
            ..RetryConfig::default()
        });
        let store = builder.build().map_err(|e| {
            Error::invalid(format!(
                "invalid artifact destination '{url}': cannot configure S3: {e}"
            ))
        })?;
        Ok(Self::with_store(Arc::new(store), url, prefix))
    }

    /// Uses an already configured object store (any `object_store` backend) under `prefix`.
    pub fn with_store(store: Arc<dyn ObjectStore>, url: &str, prefix: Vec<String>) -> Self {
        S3ArtifactStore {
            store,
            url: url.to_string(),
            prefix,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
        }
    }

    /// Sends bodies larger than `threshold` bytes as multipart uploads of `part_size` bytes
    /// (at least 5 MiB, S3's smallest part). An upload holds up to `threshold + part_size`
    /// bytes in memory before it starts, and about two parts after.
    pub fn with_multipart(mut self, threshold: usize, part_size: usize) -> Result<Self> {
        if part_size < MIN_PART_SIZE {
            return Err(Error::invalid(format!(
                "part_size {part_size} is below S3's minimum part size of {MIN_PART_SIZE} bytes"
            )));
        }
        self.multipart_threshold = threshold;
        self.part_size = part_size;
        Ok(self)
    }

    /// The `s3://` URL this store was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The object key of `path`: the prefix, then the path's parts.
    fn key(&self, path: &ArtifactPath) -> Result<StorePath> {
        let parts = self
            .prefix
            .iter()
            .chain(path.parts())
            .map(|p| {
                PathPart::parse(p)
                    .map_err(|e| Error::invalid(format!("invalid artifact path '{path}': {e}")))
            })
            .collect::<Result<Vec<PathPart<'_>>>>()?;
        let key = StorePath::from_iter(parts);
        if key.as_ref().len() > MAX_PATH_BYTES {
            return Err(Error::invalid(format!(
                "invalid artifact path '{}…': with the bucket prefix its key is {} bytes long; \
                 S3's limit is {MAX_PATH_BYTES} bytes",
                path.to_string().chars().take(64).collect::<String>(),
                key.as_ref().len()
            )));
        }
        Ok(key)
    }

    /// Whether any object lies under `key/`.
    async fn has_children(&self, key: &StorePath) -> Result<bool> {
        let mut listing = self.store.list(Some(key));
        Ok(listing.try_next().await.map_err(store_error)?.is_some())
    }

    /// Refuses a file where a directory is, or a file under another file.
    async fn check_file_target(&self, path: &ArtifactPath, key: &StorePath) -> Result<()> {
        if self.has_children(key).await? {
            return Err(Error::invalid(format!(
                "invalid artifact path '{path}': a directory of that name exists"
            )));
        }
        let parts = path.parts();
        for depth in 1..parts.len() {
            let ancestor = ArtifactPath::parse(&parts[..depth].join("/"))?;
            match self.store.head(&self.key(&ancestor)?).await {
                Ok(_) => {
                    return Err(Error::invalid(format!(
                        "invalid artifact path '{path}': '{}' is a file, not a directory",
                        parts[depth - 1]
                    )));
                }
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_error(e)),
            }
        }
        Ok(())
    }
}

/// A multipart upload under way: aborted on drop unless completed, so a body that fails, is
/// too large, or whose request is dropped when its client hangs up leaves no parts behind
/// (they would stay in the bucket, unlisted and billed, until a lifecycle rule removed them).
/// The abort runs in a task of its own, after the part in flight has ended.
struct MultipartGuard {
    upload: Option<Box<dyn MultipartUpload>>,
    in_flight: Option<tokio::task::JoinHandle<object_store::Result<()>>>,
}

impl MultipartGuard {
    /// Sends one part, once the previous one has arrived: one part travels while the next
    /// one fills.
    async fn send(&mut self, part: Bytes) -> Result<()> {
        self.wait().await?;
        let upload = self
            .upload
            .as_mut()
            .ok_or_else(|| Error::Internal("multipart upload already ended".into()))?;
        let sending = upload.put_part(PutPayload::from_bytes(part));
        self.in_flight = Some(tokio::spawn(sending));
        Ok(())
    }

    /// Waits for the part in flight.
    async fn wait(&mut self) -> Result<()> {
        if let Some(sending) = self.in_flight.take() {
            sending
                .await
                .map_err(|e| Error::Internal(format!("multipart upload stopped: {e}")))?
                .map_err(store_error)?;
        }
        Ok(())
    }

    async fn complete(mut self) -> Result<()> {
        self.wait().await?;
        let mut upload = self
            .upload
            .take()
            .ok_or_else(|| Error::Internal("multipart upload already ended".into()))?;
        if let Err(e) = upload.complete().await {
            let _ = upload.abort().await;
            return Err(store_error(e));
        }
        Ok(())
    }
}

impl Drop for MultipartGuard {
    fn drop(&mut self) {
        let Some(mut upload) = self.upload.take() else {
            return;
        };
        let in_flight = self.in_flight.take();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Some(sending) = in_flight {
                    let _ = sending.await;
                }
                if let Err(e) = upload.abort().await {
                    tracing_abort_failure(&e);
                }
            });
        }
    }
}

fn tracing_abort_failure(e: &object_store::Error) {
    // The store crate has no logger of its own; stderr reaches the server's log.
    eprintln!("aborting an unfinished S3 multipart upload failed: {e}");
}

/// Maps an object store failure: a missing object is the caller's, the rest is internal.
fn store_error(e: object_store::Error) -> Error {
    match e {
        object_store::Error::NotFound { .. } => Error::NotFound("artifact does not exist".into()),
        other => Error::Internal(format!("object store: {other}")),
    }
}

#[async_trait]
impl ArtifactStore for S3ArtifactStore {
    async fn put_stream(
        &self,
        path: &ArtifactPath,
        mut body: ByteStream,
        max_bytes: Option<u64>,
    ) -> Result<u64> {
        if path.is_root() {
            return Err(Error::invalid(
                "an artifact needs a file name, not the root",
            ));
        }
        let key = self.key(path)?;
        self.check_file_target(path, &key).await?;
        let part_size = self.part_size;
        // Full parts waiting for the body to pass the threshold, then the part filling up.
        let mut waiting: Vec<Bytes> = Vec::new();
        let mut filling = BytesMut::new();
        let mut upload: Option<MultipartGuard> = None;
        let mut written: u64 = 0;
        while let Some(chunk) = body.next().await {
            let mut chunk = chunk.map_err(|e| {
                Error::invalid(format!(
                    "the upload of '{path}' stopped after {written} bytes: {e}"
                ))
            })?;
            written += chunk.len() as u64;
            if let Some(limit) = max_bytes.filter(|l| written > *l) {
                return Err(too_large(path, limit));
            }
            if upload.is_none() && written > self.multipart_threshold as u64 {
                let started = self.store.put_multipart(&key).await.map_err(store_error)?;
                let mut up = MultipartGuard {
                    upload: Some(started),
                    in_flight: None,
                };
                for part in waiting.drain(..) {
                    up.send(part).await?;
                }
                upload = Some(up);
            }
            while !chunk.is_empty() {
                if filling.capacity() == 0 {
                    filling.reserve(part_size);
                }
                let room = part_size - filling.len();
                let piece = chunk.split_to(room.min(chunk.len()));
                filling.extend_from_slice(&piece);
                if filling.len() < part_size {
                    continue;
                }
                let part = std::mem::take(&mut filling).freeze();
                match upload.as_mut() {
                    Some(up) => up.send(part).await?,
                    None => waiting.push(part),
                }
            }
        }
        match upload {
            Some(mut up) => {
                if !filling.is_empty() {
                    up.send(filling.freeze()).await?;
                }
                up.complete().await?;
            }
            None => {
                waiting.push(filling.freeze());
                let payload: PutPayload = waiting.into_iter().collect();
                self.store.put(&key, payload).await.map_err(store_error)?;
            }
        }
        Ok(written)
    }

    async fn get(&self, path: &ArtifactPath) -> Result<Bytes> {
        let not_found = || Error::NotFound(format!("artifact '{path}' does not exist"));
        if path.is_root() {
            return Err(not_found());
        }
        let key = self.key(path)?;
        match self.store.get(&key).await {
            Ok(found) => found.bytes().await.map_err(store_error),
            Err(object_store::Error::NotFound { .. }) => {
                if self.has_children(&key).await? {
                    Err(Error::invalid(format!(
                        "artifact '{path}' is a directory; list it instead"
                    )))
                } else {
                    Err(not_found())
                }
            }
            Err(e) => Err(store_error(e)),
        }
    }

    async fn get_stream(&self, path: &ArtifactPath) -> Result<(u64, ByteStream)> {
        let not_found = || Error::NotFound(format!("artifact '{path}' does not exist"));
        if path.is_root() {
            return Err(not_found());
        }
        let key = self.key(path)?;
        match self.store.get(&key).await {
            Ok(found) => {
                let size = found.meta.size;
                let chunks = found.into_stream().map_err(std::io::Error::other).boxed();
                Ok((size, chunks))
            }
            Err(object_store::Error::NotFound { .. }) => {
                if self.has_children(&key).await? {
                    Err(Error::invalid(format!(
                        "artifact '{path}' is a directory; list it instead"
                    )))
                } else {
                    Err(not_found())
                }
            }
            Err(e) => Err(store_error(e)),
        }
    }

    async fn list(&self, dir: &ArtifactPath) -> Result<Vec<ArtifactEntry>> {
        let key = self.key(dir)?;
        let prefix = (!key.as_ref().is_empty()).then_some(&key);
        let listing = self
            .store
            .list_with_delimiter(prefix)
            .await
            .map_err(store_error)?;
        let mut out: Vec<ArtifactEntry> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename())
            .map(|name| ArtifactEntry {
                name: name.to_string(),
                is_dir: true,
                size: None,
            })
            .chain(listing.objects.iter().filter_map(|o| {
                o.location.filename().map(|name| ArtifactEntry {
                    name: name.to_string(),
                    is_dir: false,
                    size: Some(o.size),
                })
            }))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn delete(&self, path: &DeletablePath) -> Result<()> {
        // A deletable path is never the root, so the key is never the bare prefix.
        let key = self.key(path.path())?;
        let mut doomed: Vec<StorePath> = self
            .store
            .list(Some(&key))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(store_error)?;
        doomed.push(key);
        for location in doomed {
            match self.store.delete(&location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_error(e)),
            }
        }
        Ok(())
    }

    fn root_uri(&self) -> String {
        self.url.trim_end_matches('/').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    fn memory_store(prefix: &[&str]) -> (Arc<InMemory>, S3ArtifactStore) {
        let mem = Arc::new(InMemory::new());
        let store = S3ArtifactStore::with_store(
            mem.clone(),
            "s3://test/prefix",
            prefix.iter().map(|s| s.to_string()).collect(),
        );
        (mem, store)
    }

    #[test]
    fn urls_are_checked() {
        let (bucket, prefix) = parse_url("s3://my-bucket/a/b").expect("ok");
        assert_eq!(bucket, "my-bucket");
        assert_eq!(prefix, vec!["a", "b"]);
        assert!(parse_url("s3://my-bucket").expect("ok").1.is_empty());
        for bad in [
            "my-bucket/x",
            "s3://",
            "s3://UPPER/x",
            "s3://b/x",
            "s3://bucket/../x",
            "s3://bucket/%2e%2e/x",
            "s3://bucket//etc",
        ] {
            let e = parse_url(bad).expect_err(bad);
            assert_eq!(e.kind(), crate::ErrorKind::User, "{bad}");
            assert!(e.to_string().contains(bad), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn keys_stay_under_the_prefix() {
        let (mem, store) = memory_store(&["team", "artifacts"]);
        let p = ArtifactPath::parse("1/run/artifacts/a%2e%2eb/x.txt").expect("ok");
        store.put(&p, Bytes::from_static(b"x")).await.expect("put");
        let all: Vec<_> = mem.list(None).try_collect().await.expect("list");
        assert_eq!(all.len(), 1);
        assert_eq!(
            all[0].location.as_ref(),
            "team/artifacts/1/run/artifacts/a%2e%2eb/x.txt"
        );
        // Deleting a run's artifacts removes them under the prefix only.
        let outside = StorePath::from("other/1/run/artifacts/keep.txt");
        mem.put(&outside, PutPayload::from_static(b"k"))
            .await
            .expect("put outside");
        let doomed =
            DeletablePath::new(ArtifactPath::parse("1/run/artifacts/a%2e%2eb").expect("ok"))
                .expect("deletable");
        store.delete(&doomed).await.expect("delete");
        let all: Vec<_> = mem.list(None).try_collect().await.expect("list");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].location, outside);
        // A control character cannot become a key.
        let e = store
            .put(
                &ArtifactPath::parse("a\nb").expect("parses"),
                Bytes::from_static(b"x"),
            )
            .await
            .expect_err("control character");
        assert_eq!(e.kind(), crate::ErrorKind::User);
    }

    #[tokio::test]
    async fn files_and_directories_do_not_collide() {
        let (_mem, store) = memory_store(&[]);
        store
            .put(
                &ArtifactPath::parse("a/b").expect("ok"),
                Bytes::from_static(b"x"),
            )
            .await
            .expect("put");
        let e = store
            .put(
                &ArtifactPath::parse("a").expect("ok"),
                Bytes::from_static(b"x"),
            )
            .await
            .expect_err("over a directory");
        assert!(e.to_string().contains("a directory of that name"), "{e}");
        let e = store
            .put(
                &ArtifactPath::parse("a/b/c").expect("ok"),
                Bytes::from_static(b"x"),
            )
            .await
            .expect_err("under a file");
        assert!(e.to_string().contains("is a file"), "{e}");
        let e = store
            .get(&ArtifactPath::parse("a").expect("ok"))
            .await
            .expect_err("directory");
        assert!(e.to_string().contains("list it instead"), "{e}");
        let listing = store.list(&ArtifactPath::root()).await.expect("list");
        assert_eq!(
            listing,
            vec![ArtifactEntry {
                name: "a".into(),
                is_dir: true,
                size: None
            }]
        );
    }

    /// Hands out uploads whose parts take 50 ms each, and records how each upload ended.
    #[derive(Debug)]
    struct SlowParts {
        inner: Arc<InMemory>,
        ended: Arc<std::sync::Mutex<Vec<&'static str>>>,
    }

    impl std::fmt::Display for SlowParts {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SlowParts({})", self.inner)
        }
    }

    #[derive(Debug)]
    struct SlowUpload {
        inner: Box<dyn MultipartUpload>,
        ended: Arc<std::sync::Mutex<Vec<&'static str>>>,
    }

    #[async_trait]
    impl MultipartUpload for SlowUpload {
        fn put_part(&mut self, data: PutPayload) -> object_store::UploadPart {
            let part = self.inner.put_part(data);
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                part.await
            })
        }
        async fn complete(&mut self) -> object_store::Result<object_store::PutResult> {
            let done = self.inner.complete().await;
            self.ended.lock().expect("lock").push("complete");
            done
        }
        async fn abort(&mut self) -> object_store::Result<()> {
            let done = self.inner.abort().await;
            self.ended.lock().expect("lock").push("abort");
            done
        }
    }

    #[async_trait]
    impl ObjectStore for SlowParts {
        async fn put_opts(
            &self,
            location: &StorePath,
            payload: PutPayload,
            opts: object_store::PutOptions,
        ) -> object_store::Result<object_store::PutResult> {
            self.inner.put_opts(location, payload, opts).await
        }
        async fn put_multipart_opts(
            &self,
            location: &StorePath,
            opts: object_store::PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            Ok(Box::new(SlowUpload {
                inner: self.inner.put_multipart_opts(location, opts).await?,
                ended: self.ended.clone(),
            }))
        }
        async fn get_opts(
            &self,
            location: &StorePath,
            options: object_store::GetOptions,
        ) -> object_store::Result<object_store::GetResult> {
            self.inner.get_opts(location, options).await
        }
        fn delete_stream(
            &self,
            locations: futures_util::stream::BoxStream<'static, object_store::Result<StorePath>>,
        ) -> futures_util::stream::BoxStream<'static, object_store::Result<StorePath>> {
            self.inner.delete_stream(locations)
        }
        fn list(
            &self,
            prefix: Option<&StorePath>,
        ) -> futures_util::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>>
        {
            self.inner.list(prefix)
        }
        async fn list_with_delimiter(
            &self,
            prefix: Option<&StorePath>,
        ) -> object_store::Result<object_store::ListResult> {
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy_opts(
            &self,
            from: &StorePath,
            to: &StorePath,
            options: object_store::CopyOptions,
        ) -> object_store::Result<()> {
            self.inner.copy_opts(from, to, options).await
        }
    }

    #[tokio::test]
    async fn an_upload_whose_caller_is_dropped_is_aborted() {
        let ended = Arc::new(std::sync::Mutex::new(Vec::new()));
        let slow = Arc::new(SlowParts {
            inner: Arc::new(InMemory::new()),
            ended: ended.clone(),
        });
        let store = S3ArtifactStore::with_store(slow, "s3://test/prefix", vec![])
            .with_multipart(MIN_PART_SIZE, MIN_PART_SIZE)
            .expect("part size");
        let data = Bytes::from(vec![7u8; 2 * MIN_PART_SIZE + 1]);
        let path = ArtifactPath::parse("big.bin").expect("path");
        // Three parts of 50 ms each: the put is dropped while they are on their way. The
        // store cannot know the body was whole (a request is dropped when its client hangs
        // up), so the upload is aborted, not completed, and no object appears.
        let put = tokio::time::timeout(Duration::from_millis(20), store.put(&path, data.clone()));
        assert!(put.await.is_err(), "the upload finished before the drop");
        for _ in 0..100 {
            if !ended.lock().expect("lock").is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(*ended.lock().expect("lock"), ["abort"]);
        assert!(matches!(store.get(&path).await, Err(Error::NotFound(_))));
        // Undisturbed, the same upload completes.
        store.put(&path, data.clone()).await.expect("put");
        assert_eq!(*ended.lock().expect("lock"), ["abort", "complete"]);
        assert_eq!(store.get(&path).await.expect("stored whole"), data);
    }

    /// A body of `chunks` chunks of `size` bytes, made as it is read.
    fn generated(chunks: usize, size: usize) -> ByteStream {
        futures_util::stream::iter((0..chunks).map(move |i| Ok(Bytes::from(vec![i as u8; size]))))
            .boxed()
    }

    #[tokio::test]
    async fn a_stream_over_the_limit_leaves_no_upload() {
        let ended = Arc::new(std::sync::Mutex::new(Vec::new()));
        let inner = Arc::new(InMemory::new());
        let slow = Arc::new(SlowParts {
            inner: inner.clone(),
            ended: ended.clone(),
        });
        let store = S3ArtifactStore::with_store(slow, "s3://test/prefix", vec![])
            .with_multipart(MIN_PART_SIZE, MIN_PART_SIZE)
            .expect("part size");
        let path = ArtifactPath::parse("1/run/artifacts/big.bin").expect("path");
        // 12 MiB against a 10 MiB limit: two parts are sent before the limit is passed.
        let e = store
            .put_stream(&path, generated(12, 1024 * 1024), Some(10 * 1024 * 1024))
            .await
            .expect_err("too large");
        assert!(matches!(e, Error::TooLarge(_)), "{e}");
        assert!(e.to_string().contains("10485760 bytes"), "{e}");
        for _ in 0..100 {
            if !ended.lock().expect("lock").is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(*ended.lock().expect("lock"), ["abort"]);
        let all: Vec<_> = inner.list(None).try_collect().await.expect("list");
        assert!(all.is_empty(), "{all:?}");
        // A body that fails half-way is aborted the same way.
        let failing = futures_util::stream::iter(vec![
            Ok(Bytes::from(vec![1u8; 7 * 1024 * 1024])),
            Err(std::io::Error::other("connection reset")),
        ])
        .boxed();
        let e = store
            .put_stream(&path, failing, None)
            .await
            .expect_err("failed body");
        assert!(e.to_string().contains("connection reset"), "{e}");
        // Streamed in exact parts, a big body arrives whole.
        let size = store
            .put_stream(&path, generated(13, 1024 * 1024 + 3), None)
            .await
            .expect("put");
        assert_eq!(size, 13 * (1024 * 1024 + 3));
        let back = store.get(&path).await.expect("get");
        assert_eq!(back.len() as u64, size);
        assert!(back[..1024 * 1024 + 3].iter().all(|b| *b == 0));
        assert_eq!(back[back.len() - 1], 12);
    }

    #[test]
    fn tiny_parts_are_refused() {
        let (_mem, store) = memory_store(&[]);
        let e = store.with_multipart(10, 1024).expect_err("tiny part");
        assert!(e.to_string().contains("part_size"), "{e}");
    }
}
