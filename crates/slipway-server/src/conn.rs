//! Accepting connections with time limits and a cap, so idle or trickling sockets cannot
//! exhaust the server.
//!
//! Each connection is served by hyper's HTTP/1.1 connection under a watchdog that knows
//! whether a request is in flight:
//!
//! - a new connection must deliver its first request header within the header timeout;
//! - between requests, a keep-alive connection may stay silent for the idle timeout; once
//!   the next request's first byte arrives, its header must be complete within the header
//!   timeout (a header trickled a byte at a time is cut off);
//! - while a request is in flight (its body being read, its answer computed or sent), the
//!   per-request timeout of the route applies instead (see [`crate::app`]).
//!
//! At most [`HttpOptions::max_connections`] connections are open at once. When the cap is
//! reached, a new connection evicts the open connection that has waited longest without a
//! request in flight (an idle or a trickling one), so `/health` and real clients still get
//! through while idle sockets fill the cap; when every connection has a request in flight,
//! new connections wait in the listen backlog until one finishes.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{Request, Response};
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::guard::AccessPolicy;

/// How the server treats connections and requests: time limits, the connection cap and who
/// may call it from a browser.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Allowed hosts and cross-origin callers.
    pub access: AccessPolicy,
    /// Time for a new connection to send its first request header, and for any request
    /// header to arrive once its first byte has.
    pub header_timeout: Duration,
    /// How long a keep-alive connection may sit between requests.
    pub idle_timeout: Duration,
    /// Time to read and answer one API request (body included); 408 after that.
    pub request_timeout: Duration,
    /// Time to read and answer one artifact upload or download request (a download's
    /// bytes stream after that and are bounded by the idle socket, not this).
    pub artifact_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            access: AccessPolicy::default(),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
            artifact_timeout: Duration::from_secs(900),
            max_connections: 512,
        }
    }
}

/// Where one connection stands, shared by its reader, its requests and its watchdog.
struct ConnState {
    phase: Mutex<Phase>,
    /// Set while waiting for the first byte of the next request, so reads only take the
    /// lock when that byte may be arriving.
    awaiting_byte: AtomicBool,
    /// A request started or ended, or a request's first byte arrived.
    changed: Notify,
    /// The accept loop asks this connection to close (the cap is reached and it is idle).
    kill: Notify,
    killed: AtomicBool,
    /// The registry's signal that some connection went idle (an eviction candidate).
    went_idle: Arc<Notify>,
}

struct Phase {
    in_flight: usize,
    /// When the connection last had no request in flight (accepted, or a response done).
    idle_since: Instant,
    /// When the first byte of the next request arrived.
    first_byte: Option<Instant>,
    /// Whether the connection has answered a request (then it is keep-alive idle).
    served: bool,
}

impl ConnState {
    fn new(went_idle: Arc<Notify>) -> Self {
        ConnState {
            phase: Mutex::new(Phase {
                in_flight: 0,
                idle_since: Instant::now(),
                first_byte: None,
                served: false,
            }),
            awaiting_byte: AtomicBool::new(true),
            changed: Notify::new(),
            kill: Notify::new(),
            killed: AtomicBool::new(false),
            went_idle,
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        // A panic while holding this lock leaves plain data behind; keep using it.
        self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When the connection must be closed; `None` while a request is in flight.
    fn deadline(&self, options: &HttpOptions) -> Option<Instant> {
        let p = self.phase();
        if p.in_flight > 0 {
            return None;
        }
        Some(match p.first_byte {
            Some(t) => t + options.header_timeout,
            None if p.served => p.idle_since + options.idle_timeout,
            None => p.idle_since + options.header_timeout,
        })
    }

    /// Idle (no request in flight) since when, for eviction.
    fn idle_since(&self) -> Option<Instant> {
        let p = self.phase();
        (p.in_flight == 0).then_some(p.idle_since)
    }

    fn bytes_read(&self) {
        if self.awaiting_byte.swap(false, Ordering::AcqRel) {
            let mut p = self.phase();
            if p.in_flight == 0 && p.first_byte.is_none() {
                p.first_byte = Some(Instant::now());
            }
            drop(p);
            self.changed.notify_waiters();
        }
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        let mut p = self.phase();
        p.in_flight += 1;
        p.first_byte = None;
        drop(p);
        self.changed.notify_waiters();
        InFlight(self.clone())
    }
}

/// One request in flight; dropped when its response is fully written (or abandoned).
struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut p = self.0.phase();
        p.in_flight = p.in_flight.saturating_sub(1);
        if p.in_flight == 0 {
            p.idle_since = Instant::now();
            p.first_byte = None;
            p.served = true;
            self.0.awaiting_byte.store(true, Ordering::Release);
            self.0.went_idle.notify_waiters();
        }
        drop(p);
        self.0.changed.notify_waiters();
    }
}

/// A response body that keeps its request counted as in flight until it is sent.
struct CountedBody {
    inner: Body,
    _in_flight: InFlight,
}

impl HttpBody for CountedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The socket, noting when the first byte of a request arrives.
struct TrackedStream {
    inner: TcpStream,
    state: Arc<ConnState>,
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.state.bytes_read();
        }
        poll
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The open connections and the cap on them.
struct Registry {
    slots: Arc<Semaphore>,
    conns: Mutex<HashMap<u64, Arc<ConnState>>>,
    /// A connection finished a request: it may now be evicted.
    went_idle: Arc<Notify>,
    next_id: AtomicU64,
}

impl Registry {
    fn conns(&self) -> MutexGuard<'_, HashMap<u64, Arc<ConnState>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for a new connection: a free one, else one an idle connection gives up.
    async fn admit(&self) -> OwnedSemaphorePermit {
        loop {
            if let Ok(permit) = self.slots.clone().try_acquire_owned() {
                return permit;
            }
            let went_idle = self.went_idle.notified();
            tokio::pin!(went_idle);
            went_idle.as_mut().enable();
            self.evict_longest_idle();
            tokio::select! {
                permit = self.slots.clone().acquire_owned() => {
                    // The semaphore is never closed.
                    if let Ok(permit) = permit {
                        return permit;
                    }
                }
                _ = went_idle => {}
            }
        }
    }

    fn evict_longest_idle(&self) {
        let conns = self.conns();
        let victim = conns
            .values()
            .filter(|c| !c.killed.load(Ordering::Acquire))
            .filter_map(|c| c.idle_since().map(|t| (t, c)))
            .min_by_key(|(t, _)| *t)
            .map(|(_, c)| c.clone());
        drop(conns);
        if let Some(c) = victim {
            tracing::debug!("connection cap reached: closing the longest-idle connection");
            c.killed.store(true, Ordering::Release);
            c.kill.notify_one();
        }
    }
}

/// Completes when the connection has outlived its deadline.
async fn watchdog(state: &ConnState, options: &HttpOptions) {
    loop {
        let changed = state.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        match state.deadline(options) {
            None => changed.await,
            Some(deadline) => {
                if deadline <= Instant::now() {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => {}
                    _ = changed => {}
                }
            }
        }
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Serves `router` on `listener` under `options` until `shutdown` completes, then lets
/// in-flight requests finish.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    options: HttpOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let options = Arc::new(options);
    let registry = Arc::new(Registry {
        slots: Arc::new(Semaphore::new(options.max_connections.max(1))),
        conns: Mutex::new(HashMap::new()),
        went_idle: Arc::new(Notify::new()),
        next_id: AtomicU64::new(0),
    });
    let (stop_tx, stop_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    let shutdown = shutdown;
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: back off rather than spin.
                    tracing::error!("accepting a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let permit = tokio::select! {
            permit = registry.admit() => permit,
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::new(ConnState::new(registry.went_idle.clone()));
        let id = registry.next_id.fetch_add(1, Ordering::Relaxed);
        registry.conns().insert(id, state.clone());
        let task = Connection {
            stream,
            state,
            router: router.clone(),
            options: options.clone(),
            registry: registry.clone(),
            stop: stop_rx.clone(),
        };
        let done = done_rx.clone();
        tokio::spawn(async move {
            task.run(id).await;
            drop(permit);
            drop(done);
        });
    }
    drop(listener);
    drop(stop_tx);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}

struct Connection {
    stream: TcpStream,
    state: Arc<ConnState>,
    router: Router,
    options: Arc<HttpOptions>,
    registry: Arc<Registry>,
    stop: watch::Receiver<()>,
}

impl Connection {
    async fn run(self, id: u64) {
        let Connection {
            stream,
            state,
            router,
            options,
            registry,
            mut stop,
        } = self;
        let io = hyper_util::rt::TokioIo::new(TrackedStream {
            inner: stream,
            state: state.clone(),
        });
        let counter = state.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let router = router.clone();
            let in_flight = counter.request_started();
            async move {
                let resp = router.oneshot(req.map(Body::new)).await;
                resp.map(|r: Response<Body>| {
                    r.map(|inner| {
                        Body::new(CountedBody {
                            inner,
                            _in_flight: in_flight,
                        })
                    })
                })
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .header_read_timeout(None)
            .serve_connection(io, service);
        tokio::pin!(conn);
        let dog = watchdog(&state, &options);
        tokio::pin!(dog);
        let mut stopping = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::trace!("connection ended: {e}");
                    }
                    break;
                }
                _ = &mut dog => {
                    tracing::debug!("closing a connection that outlived its header or idle timeout");
                    break;
                }
                _ = state.kill.notified() => break,
                _ = stop.changed(), if !stopping => {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
        registry.conns().remove(&id);
    }
}
