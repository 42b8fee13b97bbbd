//! Artifacts stream with bounded memory: the process's peak resident set (`VmHWM` in
//! `/proc/self/status`) grows by less than 64 MiB while a 300 MiB body, made as it is read,
//! is uploaded through the router, and again while it is downloaded. Alone in its own test
//! binary, so that no other test raises the peak meanwhile. Linux only (it reads `/proc`).

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use futures_util::StreamExt;
use slipway_server::{AppState, Limits, app};
use tower::ServiceExt;

/// A field of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

const CHUNK: usize = 256 * 1024;

/// `total` bytes in chunks of [`CHUNK`], all sharing one buffer: the body itself holds no
/// more than a chunk, whatever its size.
fn generated(total: usize) -> Body {
    let chunk = bytes::Bytes::from(vec![b'a'; CHUNK]);
    let stream = futures_util::stream::iter(
        (0..total / CHUNK).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
    );
    Body::from_stream(stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_upload_streams_with_bounded_memory() {
    if status_kib("VmHWM:").is_none() {
        eprintln!("skipped: no /proc/self/status on this platform");
        return;
    }
    let home = tempfile::tempdir().expect("tempdir");
    let state = AppState::open_home(home.path(), Limits::default())
        .await
        .expect("open");
    let router = app(Arc::new(state));
    let put = |path: &str, body: Body| {
        let req = Request::builder()
            .method("PUT")
            .uri(format!("/api/2.0/mlflow-artifacts/artifacts/{path}"))
            .body(body)
            .expect("request");
        router.clone().oneshot(req)
    };
    // Warm up: the runtime's threads, the store, the first file.
    let resp = put("1/run/artifacts/warm.bin", generated(4 * CHUNK))
        .await
        .expect("response");
    assert_eq!(resp.status(), StatusCode::OK);

    let size = 300 * 1024 * 1024;
    let before = status_kib("VmHWM:").expect("VmHWM");
    let resp = put("1/run/artifacts/big.bin", generated(size))
        .await
        .expect("response");
    let status = resp.status();
    let body = to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let after = status_kib("VmHWM:").expect("VmHWM");
    let grown_mib = (after.saturating_sub(before)) as f64 / 1024.0;
    eprintln!(
        "300 MiB upload: peak RSS {:.1} MiB -> {:.1} MiB (+{grown_mib:.1} MiB)",
        before as f64 / 1024.0,
        after as f64 / 1024.0
    );
    let stored = home.path().join("artifacts/1/run/artifacts/big.bin");
    assert_eq!(
        std::fs::metadata(&stored).expect("stored").len(),
        size as u64
    );
    assert!(
        grown_mib < 64.0,
        "a 300 MiB upload raised the peak RSS by {grown_mib:.1} MiB (limit 64 MiB)"
    );

    let req = Request::builder()
        .uri("/api/2.0/mlflow-artifacts/artifacts/1/run/artifacts/big.bin")
        .body(Body::empty())
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("response");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()),
        Some(size.to_string().as_str())
    );
    let mut chunks = resp.into_body().into_data_stream();
    let mut read = 0usize;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.expect("chunk");
        assert!(chunk.iter().all(|b| *b == b'a'));
        read += chunk.len();
    }
    assert_eq!(read, size);
    let downloaded = status_kib("VmHWM:").expect("VmHWM");
    let grown_mib = (downloaded.saturating_sub(before)) as f64 / 1024.0;
    eprintln!("300 MiB download: peak RSS +{grown_mib:.1} MiB since before the upload");
    assert!(
        grown_mib < 64.0,
        "a 300 MiB download raised the peak RSS by {grown_mib:.1} MiB (limit 64 MiB)"
    );
}
