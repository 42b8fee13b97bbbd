//! Sending alert events: the payload of each channel, one attempt per [`AlertSink::send`],
//! and [`deliver`], which retries with exponential back-off inside a total deadline and
//! records every attempt in the delivery log (JSON lines).
//!
//! The generic webhook is signed like Stripe's: the request carries
//! `Slipway-Timestamp: <unix seconds>` and
//! `Slipway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<unix seconds>." + body)>`,
//! where body is the exact request body bytes. A receiver recomputes the HMAC over the
//! timestamp, a dot and the raw body, compares in constant time, and rejects old timestamps.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;

use crate::alerts::config::{
    AlertConfig, Channel, DeliveryOptions, Direction, EmailChannel, Severity, SmtpTls,
};
use crate::alerts::net::{self, AllowList};

/// The PagerDuty Events API v2 endpoint.
pub const PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// The webhook's signature header.
pub const SIGNATURE_HEADER: &str = "Slipway-Signature";
/// The webhook's timestamp header.
pub const TIMESTAMP_HEADER: &str = "Slipway-Timestamp";

/// Trigger or resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventAction {
    /// The alert fires (or fires again after its cool-down).
    Trigger,
    /// The alert cleared.
    Resolve,
}

/// What is sent: one alert's trigger or resolve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertEvent {
    /// Trigger or resolve.
    pub action: EventAction,
    /// The stable deduplication key.
    pub dedup_key: String,
    /// The rules file's `name`.
    pub monitor: String,
    /// The rule.
    pub rule: String,
    /// The column, or `all`.
    pub subject: String,
    /// The metric, as written in the rule.
    pub metric: String,
    /// How bad.
    pub severity: Severity,
    /// The latest value in the window.
    pub value: Option<f64>,
    /// Above or below.
    pub direction: Direction,
    /// The threshold.
    pub threshold: f64,
    /// Breaching chunks (or runs) in the window.
    pub breaches: usize,
    /// Chunks (or runs) in the window.
    pub window: usize,
    /// The latest value's chunk.
    pub chunk: Option<String>,
    /// The data the run looked at.
    pub data: String,
    /// The rule's description.
    pub description: Option<String>,
    /// One line for people.
    pub summary: String,
    /// When (RFC 3339, UTC).
    pub time: String,
}

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptError {
    /// The HTTP status, when a response came.
    pub status: Option<u16>,
    /// Whether another attempt may succeed (timeouts, connection errors, 5xx, 429).
    pub retryable: bool,
    /// What happened (never a URL or a secret).
    pub message: String,
}

/// One attempt's success: the HTTP status, or `None` for email.
pub type AttemptResult = std::result::Result<Option<u16>, AttemptError>;

/// Something alerts can be sent to, one attempt at a time.
pub trait AlertSink {
    /// Sends `event` once, within `timeout`.
    fn send(&self, event: &AlertEvent, timeout: Duration) -> AttemptResult;
}

fn fail(message: impl Into<String>) -> AttemptError {
    AttemptError {
        status: None,
        retryable: false,
        message: message.into(),
    }
}

/// Reads a secret by the name of its environment variable (the CLI passes the process
/// environment; the library never reads it itself).
pub type Secrets<'a> = &'a dyn Fn(&str) -> Option<String>;

fn secret(secrets: Secrets<'_>, var: &str) -> std::result::Result<String, AttemptError> {
    match secrets(var) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(fail(format!("environment variable {var} is not set"))),
    }
}

/// The Slack message (the seed's shape: a line of text and one attachment coloured by
/// severity, with fields).
pub fn slack_payload(e: &AlertEvent) -> serde_json::Value {
    let color = match (e.action, e.severity) {
        (EventAction::Resolve, _) => "#2eb886",
        (_, Severity::Critical) => "#d00000",
        (_, Severity::Error) => "#e8590c",
        (_, Severity::Warning) => "#daa038",
        (_, Severity::Info) => "#439fe0",
    };
    let title = match e.action {
        EventAction::Trigger => format!("[{}] {}", e.severity.name().to_uppercase(), e.rule),
        EventAction::Resolve => format!("[RESOLVED] {}", e.rule),
    };
    let mut fields = vec![
        json!({"title": "metric", "value": e.metric, "short": true}),
        json!({"title": "subject", "value": e.subject, "short": true}),
        json!({"title": "value", "value": e.value.map_or("—".to_string(), fmt), "short": true}),
        json!({"title": "threshold", "value": threshold_text(e), "short": true}),
        json!({"title": "window", "value": format!("{} of {} breaching", e.breaches, e.window), "short": true}),
        json!({"title": "severity", "value": e.severity.name(), "short": true}),
    ];
    if let Some(c) = &e.chunk {
        fields.push(json!({"title": "chunk", "value": c, "short": true}));
    }
    fields.push(json!({"title": "data", "value": e.data, "short": false}));
    json!({
        "text": format!("{title}: {}", e.summary),
        "attachments": [{
            "fallback": e.summary,
            "color": color,
            "title": title,
            "text": e.description.clone().unwrap_or_else(|| e.summary.clone()),
            "fields": fields,
            "footer": format!("slipway · {}", e.monitor),
            "ts": chrono::DateTime::parse_from_rfc3339(&e.time).map(|t| t.timestamp()).unwrap_or(0),
        }],
    })
}

fn threshold_text(e: &AlertEvent) -> String {
    match e.direction {
        Direction::Above => format!("above {}", fmt(e.threshold)),
        Direction::Below => format!("below {}", fmt(e.threshold)),
    }
}

fn fmt(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) {
        format!("{v:.3e}")
    } else {
        format!("{}", (v * 1e4).round() / 1e4)
    }
}

/// The PagerDuty Events API v2 body.
pub fn pagerduty_payload(e: &AlertEvent, routing_key: &str, source: &str) -> serde_json::Value {
    match e.action {
        EventAction::Resolve => json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": e.dedup_key,
        }),
        EventAction::Trigger => {
            let mut summary = e.summary.clone();
            if summary.len() > 1024 {
                let mut cut = 1021;
                while !summary.is_char_boundary(cut) {
                    cut -= 1;
                }
                summary.truncate(cut);
                summary.push_str("...");
            }
            json!({
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": e.dedup_key,
                "client": "slipway",
                "payload": {
                    "summary": summary,
                    "source": source,
                    "severity": e.severity.name(),
                    "timestamp": e.time,
                    "component": e.subject,
                    "group": e.monitor,
                    "class": e.metric,
                    "custom_details": {
                        "rule": e.rule,
                        "metric": e.metric,
                        "subject": e.subject,
                        "value": e.value,
                        "threshold": threshold_text(e),
                        "breaches": e.breaches,
                        "window": e.window,
                        "chunk": e.chunk,
                        "data": e.data,
                        "description": e.description,
                    },
                },
            })
        }
    }
}

/// The HMAC-SHA256 signature header value for `body` sent at `timestamp`.
pub fn webhook_signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    use hmac::{Mac, SimpleHmac};
    // SimpleHmac: any key length, and no block-level API needed.
    let mut mac = SimpleHmac::<sha2::Sha256>::new_from_slice(secret)
        .expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// The email's subject and plain-text body.
pub fn email_text(e: &AlertEvent) -> (String, String) {
    let subject = match e.action {
        EventAction::Trigger => format!(
            "[{}] {}: {} ({})",
            e.severity.name().to_uppercase(),
            e.monitor,
            e.rule,
            e.subject
        ),
        EventAction::Resolve => format!("[RESOLVED] {}: {} ({})", e.monitor, e.rule, e.subject),
    };
    let mut body = format!("{}\n\n", e.summary);
    for (k, v) in [
        ("rule", e.rule.clone()),
        ("metric", e.metric.clone()),
        ("subject", e.subject.clone()),
        ("value", e.value.map_or("—".into(), fmt)),
        ("threshold", threshold_text(e)),
        (
            "window",
            format!("{} of {} breaching", e.breaches, e.window),
        ),
        ("chunk", e.chunk.clone().unwrap_or_else(|| "—".into())),
        ("severity", e.severity.name().into()),
        ("data", e.data.clone()),
        ("dedup key", e.dedup_key.clone()),
        ("time", e.time.clone()),
    ] {
        body.push_str(&format!("{k:10} {v}\n"));
    }
    if let Some(d) = &e.description {
        body.push_str(&format!("\n{d}\n"));
    }
    (subject, body)
}

enum Body {
    Json(Vec<u8>),
    Signed { body: Vec<u8>, secret: String },
}

/// A channel of the rules file, ready to send (secrets read from the environment at send
/// time, so a missing variable is a recorded failure of that channel).
pub struct ChannelSink<'a> {
    channel: &'a Channel,
    allow: &'a AllowList,
    monitor: &'a str,
    secrets: Secrets<'a>,
}

impl<'a> ChannelSink<'a> {
    /// The sink of `channel`.
    pub fn new(
        channel: &'a Channel,
        config: &'a AlertConfig,
        secrets: Secrets<'a>,
    ) -> ChannelSink<'a> {
        ChannelSink {
            channel,
            allow: &config.allow,
            monitor: &config.name,
            secrets,
        }
    }
}

impl AlertSink for ChannelSink<'_> {
    fn send(&self, event: &AlertEvent, timeout: Duration) -> AttemptResult {
        let to_json = |v: serde_json::Value| serde_json::to_vec(&v).unwrap_or_default();
        match self.channel {
            Channel::Slack(t) => {
                let url = match (&t.url, &t.url_env) {
                    (Some(u), _) => u.clone(),
                    (None, Some(var)) => secret(self.secrets, var)?,
                    (None, None) => return Err(fail("no url")),
                };
                post(
                    &url,
                    Body::Json(to_json(slack_payload(event))),
                    self.allow,
                    timeout,
                    event,
                )
            }
            Channel::Pagerduty(p) => {
                let key = secret(self.secrets, &p.routing_key_env)?;
                let url = p.url.clone().unwrap_or_else(|| PAGERDUTY_URL.into());
                let source = p.source.clone().unwrap_or_else(|| self.monitor.to_string());
                post(
                    &url,
                    Body::Json(to_json(pagerduty_payload(event, &key, &source))),
                    self.allow,
                    timeout,
                    event,
                )
            }
            Channel::Webhook(w) => {
                let url = match (&w.url, &w.url_env) {
                    (Some(u), _) => u.clone(),
                    (None, Some(var)) => secret(self.secrets, var)?,
                    (None, None) => return Err(fail("no url")),
                };
                let key = secret(self.secrets, &w.secret_env)?;
                let body = to_json(serde_json::to_value(event).unwrap_or_default());
                post(
                    &url,
                    Body::Signed { body, secret: key },
                    self.allow,
                    timeout,
                    event,
                )
            }
            Channel::Email(m) => send_email(m, self.allow, self.secrets, timeout, event),
        }
    }
}

fn post(
    url: &str,
    body: Body,
    allow: &AllowList,
    timeout: Duration,
    event: &AlertEvent,
) -> AttemptResult {
    let u = net::parse_url(url).map_err(fail)?;
    let host = u.host_str().unwrap_or_default().to_string();
    let port = u.port_or_known_default().unwrap_or(443);
    let dest = net::check_destination(&host, port, u.scheme() == "http", allow).map_err(fail)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("slipway/", env!("CARGO_PKG_VERSION")));
    if dest.host.parse::<std::net::IpAddr>().is_err() {
        builder = builder.resolve_to_addrs(&dest.host, &dest.addrs);
    }
    let client = builder
        .build()
        .map_err(|e| fail(format!("HTTP client: {}", e.without_url())))?;
    let mut req = client
        .post(u)
        .header("Content-Type", "application/json")
        .header("Slipway-Dedup-Key", &event.dedup_key);
    let bytes = match body {
        Body::Json(b) => b,
        Body::Signed { body, secret } => {
            let ts = chrono::Utc::now().timestamp();
            req = req.header(TIMESTAMP_HEADER, ts.to_string()).header(
                SIGNATURE_HEADER,
                webhook_signature(secret.as_bytes(), ts, &body),
            );
            body
        }
    };
    let resp = req.body(bytes).send().map_err(|e| AttemptError {
        status: None,
        retryable: true,
        message: e.without_url().to_string(),
    })?;
    let status = resp.status().as_u16();
    match status {
        200..=299 => Ok(Some(status)),
        300..=399 => Err(AttemptError {
            status: Some(status),
            retryable: false,
            message: format!("redirect ({status}) refused: alerts never follow redirects"),
        }),
        429 | 500..=599 => Err(AttemptError {
            status: Some(status),
            retryable: true,
            message: format!("HTTP {status}"),
        }),
        _ => Err(AttemptError {
            status: Some(status),
            retryable: false,
            message: format!("HTTP {status}"),
        }),
    }
}

fn send_email(
    m: &EmailChannel,
    allow: &AllowList,
    secrets: Secrets<'_>,
    timeout: Duration,
    event: &AlertEvent,
) -> AttemptResult {
    use lettre::transport::smtp::authentication::{Credentials, Mechanism};
    use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
    use lettre::{Message, SmtpTransport, Transport};

    let port = m.port.unwrap_or(match m.tls {
        SmtpTls::Starttls => 587,
        SmtpTls::Implicit => 465,
    });
    let dest = net::check_destination(&m.host, port, false, allow).map_err(fail)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut tls = TlsParameters::builder(dest.host.clone());
    if let Some(ca) = &m.ca_file {
        let pem = std::fs::read(ca).map_err(|e| fail(format!("ca_file {}: {e}", ca.display())))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| fail(format!("ca_file {}: {e}", ca.display())))?;
        tls = tls
            .certificate_store(CertificateStore::None)
            .add_root_certificate(cert);
    }
    let tls = tls.build_rustls().map_err(|e| fail(format!("TLS: {e}")))?;
    let (subject, body) = email_text(event);
    let mut msg = Message::builder()
        .from(m.from.parse().map_err(|e| fail(format!("from: {e}")))?)
        .subject(subject);
    for to in &m.to {
        msg = msg.to(to.parse().map_err(|e| fail(format!("to: {e}")))?);
    }
    let msg = msg
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| fail(format!("message: {e}")))?;
    let mut last = None;
    // Connect to the checked addresses only; TLS still verifies the configured host name.
    for addr in &dest.addrs {
        let mut t = SmtpTransport::builder_dangerous(addr.ip().to_string())
            .port(addr.port())
            .timeout(Some(timeout))
            .tls(match m.tls {
                SmtpTls::Starttls => Tls::Required(tls.clone()),
                SmtpTls::Implicit => Tls::Wrapper(tls.clone()),
            });
        if let (Some(user), Some(var)) = (&m.username, &m.password_env) {
            let password = secret(secrets, var)?;
            t = t
                .credentials(Credentials::new(user.clone(), password))
                .authentication(vec![Mechanism::Login]);
        }
        match t.build().send(&msg) {
            Ok(resp) => {
                let code: u16 = resp.code().to_string().parse().unwrap_or(250);
                return Ok(Some(code));
            }
            Err(e) => {
                let permanent = e.is_permanent();
                let status = e.status().and_then(|c| c.to_string().parse().ok());
                last = Some(AttemptError {
                    status,
                    retryable: !permanent,
                    message: format!("SMTP: {e}"),
                });
                if permanent {
                    break;
                }
            }
        }
    }
    Err(last.unwrap_or_else(|| fail("no address")))
}

/// One line of the delivery log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRecord {
    /// When the attempt ended (RFC 3339).
    pub time: String,
    /// The rule.
    pub rule: String,
    /// The column, or `all`.
    pub subject: String,
    /// The dedup key.
    pub dedup_key: String,
    /// Trigger or resolve.
    pub action: EventAction,
    /// The channel's name.
    pub channel: String,
    /// 1-based attempt.
    pub attempt: u32,
    /// `delivered`, `retrying` or `failed`.
    pub status: &'static str,
    /// The HTTP (or SMTP) status, when one came.
    pub code: Option<u16>,
    /// Why it failed.
    pub error: Option<String>,
}

/// The outcome of one delivery (all its attempts).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// The rule.
    pub rule: String,
    /// The column, or `all`.
    pub subject: String,
    /// Trigger or resolve.
    pub action: EventAction,
    /// The channel's name.
    pub channel: String,
    /// Whether it arrived.
    pub delivered: bool,
    /// Attempts made.
    pub attempts: u32,
    /// The last status code.
    pub code: Option<u16>,
    /// The last error.
    pub error: Option<String>,
}

/// The JSON-lines delivery log (appended to; one line per attempt).
pub struct DeliveryLog {
    path: Option<PathBuf>,
    /// Every attempt of this run.
    pub records: Vec<AttemptRecord>,
}

impl DeliveryLog {
    /// A log appending to `path` (`None`: kept in memory only).
    pub fn new(path: Option<&Path>) -> DeliveryLog {
        DeliveryLog {
            path: path.map(Path::to_path_buf),
            records: Vec::new(),
        }
    }

    fn push(&mut self, r: AttemptRecord) -> crate::Result<()> {
        if let Some(path) = &self.path {
            let mut line = serde_json::to_vec(&r)
                .map_err(|e| crate::Error::Internal(format!("delivery log: {e}")))?;
            line.push(b'\n');
            let io = |source| crate::Error::Io {
                path: path.display().to_string(),
                source,
            };
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(io)?;
            f.write_all(&line).map_err(io)?;
        }
        self.records.push(r);
        Ok(())
    }
}

/// Sends `event` through `sink`, retrying retryable failures with exponential back-off
/// (`initial_backoff_ms`, doubled each time, at most `max_backoff_ms`) while attempts
/// and the total deadline last; every attempt goes to `log`. `sleep` waits (tests pass a
/// recorder).
pub fn deliver(
    sink: &dyn AlertSink,
    channel: &str,
    event: &AlertEvent,
    opts: &DeliveryOptions,
    log: &mut DeliveryLog,
    sleep: &dyn Fn(Duration),
) -> crate::Result<Delivery> {
    let start = Instant::now();
    let deadline = Duration::from_secs_f64(opts.deadline_s);
    let per_attempt = Duration::from_secs_f64(opts.timeout_s);
    let mut backoff = Duration::from_millis(opts.initial_backoff_ms);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let remaining = deadline.saturating_sub(start.elapsed());
        let result = if remaining.is_zero() {
            Err(fail("delivery deadline passed"))
        } else {
            sink.send(event, per_attempt.min(remaining))
        };
        let (code, error, retryable) = match &result {
            Ok(code) => (*code, None, false),
            Err(e) => (e.status, Some(e.message.clone()), e.retryable),
        };
        let elapsed = start.elapsed();
        let again = result.is_err()
            && retryable
            && attempt < opts.max_attempts
            && elapsed + backoff < deadline;
        let status = match (&result, again) {
            (Ok(_), _) => "delivered",
            (Err(_), true) => "retrying",
            (Err(_), false) => "failed",
        };
        log.push(AttemptRecord {
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            rule: event.rule.clone(),
            subject: event.subject.clone(),
            dedup_key: event.dedup_key.clone(),
            action: event.action,
            channel: channel.to_string(),
            attempt,
            status,
            code,
            error: error.clone(),
        })?;
        if !again {
            return Ok(Delivery {
                rule: event.rule.clone(),
                subject: event.subject.clone(),
                action: event.action,
                channel: channel.to_string(),
                delivered: result.is_ok(),
                attempts: attempt,
                code,
                error,
            });
        }
        sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_millis(opts.max_backoff_ms));
    }
}
