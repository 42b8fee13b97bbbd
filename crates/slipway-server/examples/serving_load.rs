//! A small HTTP/1.1 load generator for `bench/serving`: keep-alive connections posting one
//! body, closed loop (as fast as answers come) or at a fixed total rate (latency then counts
//! from each request's scheduled time, so a stall is not hidden; `p99_from_send` counts from
//! the moment the request was written).
//!
//! `serving_load URL BODY_FILE CONTENT_TYPE CONNECTIONS SECONDS [RATE]` prints
//! `name: value unit` lines: requests/s, p50, p99 and p99.9 latency, 200 and non-200
//! answers. With `SERVING_LOAD_REQUESTS=N` set (closed loop only), the connections send N
//! requests in all, however long that takes, instead of running for SECONDS.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Target {
    host: String,
    path: String,
}

fn parse_url(url: &str) -> Target {
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    Target {
        host: host.to_string(),
        path: format!("/{path}"),
    }
}

/// The status of the response at the start of `buf` once all of it has arrived.
fn complete(buf: &[u8]) -> Option<u16> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (buf.len() >= end + 4 + len).then_some(status)
}

/// Reads one response; returns its status.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    buf.clear();
    let mut chunk = [0u8; 65536];
    loop {
        if let Some(status) = complete(buf) {
            return Ok(status);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Reads one response from a blocking socket; returns its status.
fn read_response_blocking(
    stream: &mut std::net::TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<u16> {
    use std::io::Read;
    buf.clear();
    let mut chunk = [0u8; 65536];
    loop {
        if let Some(status) = complete(buf) {
            return Ok(status);
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A fixed total rate: one thread per connection with a blocking socket, each sleeping
/// (`std::thread::sleep`, tens of microseconds late at most, where Tokio's timer rounds to
/// whole milliseconds) until its next scheduled send. Returns each answered request's
/// latency counted from its scheduled time and from the moment it was sent, and the number
/// of failures.
fn fixed_rate(
    host: &str,
    request: &std::sync::Arc<Vec<u8>>,
    connections: usize,
    rate: f64,
    start: Instant,
    end: Instant,
) -> (Vec<Duration>, Vec<Duration>, u64) {
    let interval = Duration::from_secs_f64(connections as f64 / rate);
    let threads: Vec<_> = (0..connections)
        .map(|c| {
            let (host, request) = (host.to_string(), request.clone());
            std::thread::spawn(move || {
                use std::io::Write;
                let connect = || {
                    let s = std::net::TcpStream::connect(&host).expect("connect");
                    s.set_nodelay(true).ok();
                    s
                };
                let mut stream = connect();
                let (mut scheduled_lat, mut sent_lat, mut bad) = (Vec::new(), Vec::new(), 0u64);
                let mut buf = Vec::with_capacity(1 << 16);
                // Spread the connections' schedules over one interval.
                let mut next = start + interval.mul_f64(c as f64 / connections as f64);
                while next < end {
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    }
                    let scheduled = next;
                    next += interval;
                    let sent = Instant::now();
                    let answer = stream
                        .write_all(&request)
                        .and_then(|()| read_response_blocking(&mut stream, &mut buf));
                    match answer {
                        Ok(200) => {
                            scheduled_lat.push(scheduled.elapsed());
                            sent_lat.push(sent.elapsed());
                        }
                        Ok(_) => bad += 1,
                        Err(_) => {
                            bad += 1;
                            stream = connect();
                        }
                    }
                }
                (scheduled_lat, sent_lat, bad)
            })
        })
        .collect();
    let (mut scheduled, mut sent, mut bad) = (Vec::new(), Vec::new(), 0);
    for t in threads {
        let (a, b, n) = t.join().expect("load thread");
        scheduled.extend(a);
        sent.extend(b);
        bad += n;
    }
    (scheduled, sent, bad)
}

/// The `p` quantile of sorted latencies, in milliseconds.
fn quantile(sorted: &[Duration], p: f64) -> f64 {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 6 {
        eprintln!("usage: serving_load URL BODY_FILE CONTENT_TYPE CONNECTIONS SECONDS [RATE]");
        std::process::exit(2);
    }
    let target = parse_url(&args[1]);
    let body = std::fs::read(&args[2]).expect("body file");
    let content_type = args[3].clone();
    let connections: usize = args[4].parse().expect("connections");
    let seconds: f64 = args[5].parse().expect("seconds");
    let rate: Option<f64> = args.get(6).map(|r| r.parse().expect("rate"));
    let total: Option<u64> = std::env::var("SERVING_LOAD_REQUESTS")
        .ok()
        .map(|n| n.parse().expect("SERVING_LOAD_REQUESTS: a count"));
    assert!(
        total.is_none() || rate.is_none(),
        "SERVING_LOAD_REQUESTS runs a closed loop: give no RATE"
    );
    let mut request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        target.path,
        target.host,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let request = std::sync::Arc::new(request);
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    if let Some(rate) = rate {
        let (mut all, mut sent, bad) =
            fixed_rate(&target.host, &request, connections, rate, start, end);
        let elapsed = start.elapsed().as_secs_f64().min(seconds.max(1e-9) * 1.5);
        all.sort();
        sent.sort();
        println!("requests_per_s: {:.1} req/s", all.len() as f64 / elapsed);
        println!("p50: {:.3} ms", quantile(&all, 0.50));
        println!("p99: {:.3} ms", quantile(&all, 0.99));
        println!("p999: {:.3} ms", quantile(&all, 0.999));
        println!("p50_from_send: {:.3} ms", quantile(&sent, 0.50));
        println!("p99_from_send: {:.3} ms", quantile(&sent, 0.99));
        println!("answered_200: {} requests", all.len());
        println!("non_200: {bad} requests");
        println!("seconds: {elapsed:.1} s");
        return;
    }
    let mut tasks = Vec::new();
    for c in 0..connections {
        let request = request.clone();
        let host = target.host.clone();
        // This connection's share of a fixed total.
        let quota =
            total.map(|n| n / connections as u64 + u64::from((c as u64) < n % connections as u64));
        tasks.push(tokio::spawn(async move {
            let mut sent = 0u64;
            let mut lat = Vec::new();
            let mut bad = 0u64;
            let mut stream = TcpStream::connect(&host).await.expect("connect");
            stream.set_nodelay(true).ok();
            let mut buf = Vec::with_capacity(1 << 16);
            loop {
                match quota {
                    Some(q) if sent >= q => break,
                    None if Instant::now() >= end => break,
                    _ => {}
                }
                sent += 1;
                let t = Instant::now();
                stream.write_all(&request).await.expect("write");
                match read_response(&mut stream, &mut buf).await {
                    Ok(200) => lat.push(t.elapsed()),
                    Ok(_) => bad += 1,
                    Err(_) => {
                        bad += 1;
                        stream = TcpStream::connect(&host).await.expect("reconnect");
                    }
                }
            }
            (lat, bad)
        }));
    }
    let mut all = Vec::new();
    let mut bad = 0;
    for t in tasks {
        let (l, b) = t.await.expect("task");
        all.extend(l);
        bad += b;
    }
    let elapsed = if total.is_some() {
        start.elapsed().as_secs_f64()
    } else {
        start.elapsed().as_secs_f64().min(seconds.max(1e-9) * 1.5)
    };
    all.sort();
    println!("requests_per_s: {:.1} req/s", all.len() as f64 / elapsed);
    println!("p50: {:.3} ms", quantile(&all, 0.50));
    println!("p99: {:.3} ms", quantile(&all, 0.99));
    println!("p999: {:.3} ms", quantile(&all, 0.999));
    println!("answered_200: {} requests", all.len());
    println!("non_200: {bad} requests");
    println!("seconds: {elapsed:.1} s");
}
