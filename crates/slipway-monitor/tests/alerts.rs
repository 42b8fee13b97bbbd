//! Alert rules against real drift and performance runs, delivered to local receivers: an
//! HTTP receiver in the test (Slack, PagerDuty, the signed webhook; redirects, refused
//! addresses, retries) and a real SMTP server (aiosmtpd, STARTTLS + AUTH LOGIN) for email.
//! The bytes received are checked.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use slipway_monitor::alerts::config::AlertConfig;
use slipway_monitor::alerts::deliver::{
    AlertEvent, AlertSink, AttemptResult, DeliveryLog, EventAction, SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
};
use slipway_monitor::alerts::evaluate::{Action, AlertState};
use slipway_monitor::alerts::{AlertRun, MonitorReport, process, process_with_channels};
use slipway_monitor::drift::DriftOptions;
use slipway_monitor::run::{Chunking, DriftReport, drift_file};
use slipway_monitor::summary::{ReferenceSource, load_reference};

// ---------------------------------------------------------------------------------------
// Data: a reference and two current files, one like it and one whose `x` moved.

fn write_csv(path: &Path, rows: usize, shift_from: usize, shift: f64) {
    let mut s = String::from("x,y\n");
    for i in 0..rows {
        let x = ((i * 37) % 1000) as f64 / 10.0 + if i >= shift_from { shift } else { 0.0 };
        let y = ((i * 53) % 1000) as f64 / 10.0;
        s.push_str(&format!("{x},{y}\n"));
    }
    std::fs::write(path, s).unwrap();
}

fn drift_reports(dir: &Path) -> (DriftReport, DriftReport) {
    let reference = dir.join("reference.csv");
    write_csv(&reference, 1000, usize::MAX, 0.0);
    let stable = dir.join("stable.csv");
    write_csv(&stable, 1500, usize::MAX, 0.0);
    let drifted = dir.join("drifted.csv");
    // The last two of three 500-row chunks are shifted.
    write_csv(&drifted, 1500, 500, 40.0);
    let summary = load_reference(&ReferenceSource::File(reference), None, &[]).unwrap();
    let opts = DriftOptions::default();
    let chunks = Chunking::Rows { size: 500 };
    (
        drift_file(&summary, &stable, &chunks, &opts, &[]).unwrap(),
        drift_file(&summary, &drifted, &chunks, &opts, &[]).unwrap(),
    )
}

// ---------------------------------------------------------------------------------------
// An HTTP receiver: records every request's bytes and answers from a script.

#[derive(Debug, Clone)]
struct Request {
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Request {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

struct Receiver {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Receiver {
    /// Answers the i-th request with `script[i]` (status, Location), then 200.
    fn start(script: Vec<(u16, Option<String>)>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for (i, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut headers = BTreeMap::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    let (k, v) = h.split_once(':').unwrap();
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                }
                let len: usize = headers
                    .get("content-length")
                    .map_or(0, |v| v.parse().unwrap());
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                seen.lock().unwrap().push(Request {
                    path,
                    headers,
                    body,
                });
                let (status, location) = script.get(i).cloned().unwrap_or((200, None));
                let location = location
                    .map(|l| format!("Location: {l}\r\n"))
                    .unwrap_or_default();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n{location}\r\nok"
                );
            }
        });
        Receiver { addr, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn take(&self) -> Vec<Request> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

fn secrets(var: &str) -> Option<String> {
    match var {
        "PD_KEY" => Some("rk-test-0123".into()),
        "HOOK_SECRET" => Some("whsec-test".into()),
        "SMTP_PASSWORD" => Some("s3cret".into()),
        _ => None,
    }
}

fn t(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap() + chrono::Duration::minutes(minutes)
}

fn run(
    config: &AlertConfig,
    report: &DriftReport,
    state: &mut AlertState,
    now: DateTime<Utc>,
    log: &Path,
) -> AlertRun {
    let mut log = DeliveryLog::new(Some(log));
    process_with_channels(
        config,
        MonitorReport::Drift(report),
        state,
        now,
        &mut log,
        &secrets,
    )
    .unwrap()
}

fn http_config(r: &Receiver, extra: &str) -> AlertConfig {
    AlertConfig::parse(&format!(
        r#"
name: test-monitor
{extra}
delivery: {{ max_attempts: 3, initial_backoff_ms: 10, max_backoff_ms: 40, timeout_s: 5, deadline_s: 20 }}
channels:
  slack: {{ type: slack, url: "{slack}" }}
  pager: {{ type: pagerduty, url: "{pd}", routing_key_env: PD_KEY }}
  hook: {{ type: webhook, url: "{hook}", secret_env: HOOK_SECRET }}
rules:
  - name: x-psi
    metric: drift.psi
    columns: [x]
    above: 0.2
    window: 2
    severity: critical
    cooldown: 1h
    channels: [slack, pager, hook]
    description: Income moved.
  - name: share
    metric: drift.share
    above: 0.9
    severity: warning
    channels: [slack]
"#,
        slack = r.url("/slack"),
        pd = r.url("/pd"),
        hook = r.url("/hook"),
    ))
    .unwrap()
}

fn verify_signature(req: &Request) {
    use hmac::{Hmac, Mac};
    let ts = &req.headers[&TIMESTAMP_HEADER.to_ascii_lowercase()];
    let sig = &req.headers[&SIGNATURE_HEADER.to_ascii_lowercase()];
    let (t_part, v_part) = sig.split_once(',').unwrap();
    assert_eq!(t_part, format!("t={ts}"));
    let v1 = hex::decode(v_part.strip_prefix("v1=").unwrap()).unwrap();
    let mut signed = format!("{ts}.").into_bytes();
    signed.extend_from_slice(&req.body);
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"whsec-test").unwrap();
    mac.update(&signed);
    mac.verify_slice(&v1).expect("the signature verifies");
    // A changed body does not.
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"whsec-test").unwrap();
    mac.update(&signed[..signed.len() - 1]);
    assert!(mac.verify_slice(&v1).is_err());
}

#[test]
fn fires_suppresses_in_cooldown_reminds_and_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let (stable, drifted) = drift_reports(dir.path());
    assert!(drifted.drifted && !stable.drifted);
    let r = Receiver::start(vec![]);
    let config = http_config(&r, "allow: [\"127.0.0.1\"]");
    let state_path = dir.path().join("state.json");
    let log_path = dir.path().join("deliveries.jsonl");

    // Run 1: x drifted in the latest two chunks: fired, one trigger per channel.
    let mut state = AlertState::load(&state_path).unwrap();
    let out = run(&config, &drifted, &mut state, t(0), &log_path);
    state.save(&state_path).unwrap();
    let x = out
        .results
        .iter()
        .find(|r| r.verdict.rule == "x-psi")
        .unwrap();
    assert_eq!(x.action, Action::Fired);
    assert_eq!((x.verdict.breaches, x.verdict.window), (2, 2));
    assert_eq!(x.verdict.dedup_key, "test-monitor/x-psi/x");
    let share = out
        .results
        .iter()
        .find(|r| r.verdict.rule == "share")
        .unwrap();
    assert_eq!(
        share.action,
        Action::Ok,
        "half the columns drifted, not 90 %"
    );
    assert_eq!(out.firing, 1);
    assert_eq!(out.deliveries.len(), 3);
    assert!(
        out.deliveries
            .iter()
            .all(|d| d.delivered && d.attempts == 1)
    );
    let reqs = r.take();
    assert_eq!(reqs.len(), 3);
    let by = |p: &str| reqs.iter().find(|q| q.path == p).unwrap().clone();

    let slack = by("/slack");
    assert_eq!(slack.headers["content-type"], "application/json");
    let s = slack.json();
    let psi = drifted.chunks[2].features[0]
        .stats
        .iter()
        .find(|s| s.stat.name() == "psi")
        .unwrap()
        .value
        .unwrap();
    assert!(
        s["text"]
            .as_str()
            .unwrap()
            .starts_with("[CRITICAL] x-psi: drift.psi of x is ")
    );
    let a = &s["attachments"][0];
    assert_eq!(a["color"], "#d00000");
    assert_eq!(a["title"], "[CRITICAL] x-psi");
    assert_eq!(a["text"], "Income moved.");
    let fields: BTreeMap<String, Value> = a["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["title"].as_str().unwrap().to_string(), f["value"].clone()))
        .collect();
    assert_eq!(fields["metric"], "drift.psi");
    assert_eq!(fields["subject"], "x");
    assert_eq!(fields["threshold"], "above 0.2");
    assert_eq!(fields["window"], "2 of 2 breaching");
    assert_eq!(fields["chunk"], "rows 1000–1499");
    assert_eq!(fields["value"], format!("{}", (psi * 1e4).round() / 1e4));
    assert_eq!(a["ts"], t(0).timestamp());

    let pd = by("/pd").json();
    assert_eq!(pd["routing_key"], "rk-test-0123");
    assert_eq!(pd["event_action"], "trigger");
    assert_eq!(pd["dedup_key"], "test-monitor/x-psi/x");
    assert_eq!(pd["payload"]["severity"], "critical");
    assert_eq!(pd["payload"]["source"], "test-monitor");
    assert_eq!(pd["payload"]["component"], "x");
    assert_eq!(pd["payload"]["class"], "drift.psi");
    assert_eq!(pd["payload"]["custom_details"]["value"], psi);
    assert_eq!(pd["payload"]["custom_details"]["breaches"], 2);
    assert!(
        pd["payload"]["summary"]
            .as_str()
            .unwrap()
            .contains("in 2 of the latest 2 chunks")
    );

    let hook = by("/hook");
    verify_signature(&hook);
    let h = hook.json();
    assert_eq!(h["action"], "trigger");
    assert_eq!(h["dedup_key"], "test-monitor/x-psi/x");
    assert_eq!(h["value"], psi);
    assert_eq!(hook.headers["slipway-dedup-key"], "test-monitor/x-psi/x");

    // The state file holds the firing alert; nothing secret is in it.
    let saved = std::fs::read_to_string(&state_path).unwrap();
    assert!(
        saved.contains("\"firing\": true")
            && !saved.contains("rk-test")
            && !saved.contains("whsec")
    );

    // Run 2, ten minutes later: still firing, in cool-down: nothing sent.
    let mut state = AlertState::load(&state_path).unwrap();
    let out = run(&config, &drifted, &mut state, t(10), &log_path);
    state.save(&state_path).unwrap();
    let x = out
        .results
        .iter()
        .find(|r| r.verdict.rule == "x-psi")
        .unwrap();
    assert_eq!(x.action, Action::Suppressed);
    assert_eq!(x.cooldown_until.as_deref(), Some("2026-01-05T13:00:00Z"));
    assert!(out.deliveries.is_empty());
    assert!(r.take().is_empty());

    // Run 3, after the cool-down: sent again, same dedup key.
    let mut state = AlertState::load(&state_path).unwrap();
    let out = run(&config, &drifted, &mut state, t(61), &log_path);
    state.save(&state_path).unwrap();
    assert_eq!(out.results[0].action, Action::Reminded);
    let reqs = r.take();
    assert_eq!(reqs.len(), 3);
    assert_eq!(
        reqs.iter().find(|q| q.path == "/pd").unwrap().json()["dedup_key"],
        "test-monitor/x-psi/x"
    );

    // Run 4: the data is back to normal: resolve to every channel that heard the trigger.
    let mut state = AlertState::load(&state_path).unwrap();
    let out = run(&config, &stable, &mut state, t(62), &log_path);
    state.save(&state_path).unwrap();
    assert_eq!(out.results[0].action, Action::Resolved);
    assert_eq!(out.firing, 0);
    let reqs = r.take();
    assert_eq!(reqs.len(), 3);
    let pd = reqs.iter().find(|q| q.path == "/pd").unwrap().json();
    assert_eq!(
        pd,
        serde_json::json!({"routing_key": "rk-test-0123", "event_action": "resolve", "dedup_key": "test-monitor/x-psi/x"})
    );
    let slack = reqs.iter().find(|q| q.path == "/slack").unwrap().json();
    assert_eq!(slack["attachments"][0]["color"], "#2eb886");
    assert_eq!(slack["attachments"][0]["title"], "[RESOLVED] x-psi");
    let hook = reqs.iter().find(|q| q.path == "/hook").unwrap();
    verify_signature(hook);
    assert_eq!(hook.json()["action"], "resolve");

    // Run 5: nothing to do, and the state is empty.
    let mut state = AlertState::load(&state_path).unwrap();
    let out = run(&config, &stable, &mut state, t(63), &log_path);
    state.save(&state_path).unwrap();
    assert!(out.results.iter().all(|r| r.action == Action::Ok));
    assert!(r.take().is_empty());
    assert!(state.alerts.is_empty());

    // The delivery log: one line per attempt, 9 deliveries.
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 9);
    for l in &lines {
        assert_eq!(l["status"], "delivered");
        assert_eq!(l["attempt"], 1);
        assert_eq!(l["code"], 200);
        assert_eq!(l["rule"], "x-psi");
        assert!(l["time"].as_str().is_some());
    }
    assert_eq!(lines.iter().filter(|l| l["action"] == "resolve").count(), 3);
    assert!(!log.contains("rk-test") && !log.contains("whsec"));
}

#[test]
fn retries_after_500_then_delivers() {
    let dir = tempfile::tempdir().unwrap();
    let (_, drifted) = drift_reports(dir.path());
    let r = Receiver::start(vec![(500, None), (503, None)]);
    let mut config = http_config(&r, "allow: [\"127.0.0.0/8\"]");
    config.rules[0].channels = vec!["pager".into()];
    let log_path = dir.path().join("log.jsonl");
    let slept = Mutex::new(Vec::new());
    let sink_for = |name: &str| -> Box<dyn AlertSink + '_> {
        Box::new(slipway_monitor::alerts::deliver::ChannelSink::new(
            &config.channels[name],
            &config,
            &secrets,
        ))
    };
    let mut state = AlertState::default();
    let mut log = DeliveryLog::new(Some(&log_path));
    let out = process(
        &config,
        MonitorReport::Drift(&drifted),
        &mut state,
        t(0),
        &mut log,
        &sink_for,
        &|d| slept.lock().unwrap().push(d),
    )
    .unwrap();
    assert_eq!(out.deliveries.len(), 1);
    let d = &out.deliveries[0];
    assert!(d.delivered);
    assert_eq!((d.attempts, d.code), (3, Some(200)));
    assert_eq!(
        *slept.lock().unwrap(),
        vec![Duration::from_millis(10), Duration::from_millis(20)]
    );
    let reqs = r.take();
    assert_eq!(reqs.len(), 3);
    assert!(
        reqs.iter().all(|q| q.body == reqs[0].body),
        "the same event each time"
    );
    let statuses: Vec<(String, Option<u64>)> = std::fs::read_to_string(&log_path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["status"].as_str().unwrap().to_string(),
                v["code"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("retrying".into(), Some(500)),
            ("retrying".into(), Some(503)),
            ("delivered".into(), Some(200))
        ]
    );
}

#[test]
fn gives_up_after_the_attempts_and_retries_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let (_, drifted) = drift_reports(dir.path());
    let r = Receiver::start(vec![(500, None); 4]);
    let mut config = http_config(&r, "allow: [\"127.0.0.1\"]");
    config.rules[0].channels = vec!["slack".into()];
    let log_path = dir.path().join("log.jsonl");
    let mut state = AlertState::default();
    let out = run(&config, &drifted, &mut state, t(0), &log_path);
    assert_eq!(out.failed_deliveries, 1);
    assert_eq!(out.deliveries[0].attempts, 3);
    assert_eq!(r.take().len(), 3);
    // Within the cool-down, the channel that never heard the trigger is tried again.
    let out = run(&config, &drifted, &mut state, t(1), &log_path);
    assert_eq!(out.deliveries.len(), 1);
    assert!(out.deliveries[0].delivered);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert_eq!(log.lines().filter(|l| l.contains("\"failed\"")).count(), 1);
}

#[test]
fn redirect_is_a_failed_delivery_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let (_, drifted) = drift_reports(dir.path());
    let r = Receiver::start(vec![]);
    let target = r.url("/elsewhere");
    let r2 = Receiver::start(vec![(302, Some(target))]);
    let config = AlertConfig::parse(&format!(
        r#"
allow: ["127.0.0.1"]
channels:
  hook: {{ type: webhook, url: "{}", secret_env: HOOK_SECRET }}
rules:
  - {{ name: x-psi, metric: drift.psi, columns: [x], above: 0.2, severity: error, channels: [hook] }}
"#,
        r2.url("/hook")
    ))
    .unwrap();
    let mut state = AlertState::default();
    let out = run(
        &config,
        &drifted,
        &mut state,
        t(0),
        &dir.path().join("log.jsonl"),
    );
    let d = &out.deliveries[0];
    assert!(!d.delivered);
    assert_eq!((d.attempts, d.code), (1, Some(302)));
    assert!(d.error.as_deref().unwrap().contains("redirect"), "{d:?}");
    assert_eq!(r2.take().len(), 1);
    assert!(r.take().is_empty(), "the Location was not followed");
    let log = std::fs::read_to_string(dir.path().join("log.jsonl")).unwrap();
    assert!(log.contains("\"status\":\"failed\"") && log.contains("redirect (302) refused"));
}

#[test]
fn loopback_and_private_hosts_are_refused_without_allow_list() {
    let dir = tempfile::tempdir().unwrap();
    let (_, drifted) = drift_reports(dir.path());
    let r = Receiver::start(vec![]);
    for host in [
        r.url("/slack"),
        format!("http://[::ffff:127.0.0.1]:{}/slack", r.addr.port()),
        format!("https://localhost:{}/slack", r.addr.port()),
        "https://169.254.169.254/latest".to_string(),
        "https://10.0.0.1/hook".to_string(),
        "https://[fd00::1]/hook".to_string(),
    ] {
        let config = AlertConfig::parse(&format!(
            r#"
channels:
  slack: {{ type: slack, url: "{host}" }}
rules:
  - {{ name: x-psi, metric: drift.psi, columns: [x], above: 0.2, severity: info, channels: [slack] }}
"#
        ))
        .unwrap();
        let mut state = AlertState::default();
        let out = run(
            &config,
            &drifted,
            &mut state,
            t(0),
            &dir.path().join("log.jsonl"),
        );
        let d = &out.deliveries[0];
        assert!(!d.delivered, "{host}");
        assert_eq!(d.attempts, 1, "{host}: refusal is not retried");
        assert!(
            d.error.as_deref().unwrap().contains("not a global address"),
            "{host}: {d:?}"
        );
    }
    assert!(r.take().is_empty(), "nothing reached the receiver");
    // Allow-listing the host by name lets it through.
    let config = AlertConfig::parse(&format!(
        r#"
allow: [localhost, "::1"]
channels:
  slack: {{ type: slack, url: "http://localhost:{}/slack" }}
rules:
  - {{ name: x-psi, metric: drift.psi, columns: [x], above: 0.2, severity: info, channels: [slack] }}
"#,
        r.addr.port()
    ))
    .unwrap();
    let mut state = AlertState::default();
    let out = run(
        &config,
        &drifted,
        &mut state,
        t(0),
        &dir.path().join("log.jsonl"),
    );
    assert!(out.deliveries[0].delivered, "{:?}", out.deliveries[0]);
    assert_eq!(r.take().len(), 1);
}

#[test]
fn rules_are_checked_naming_the_rule_and_field() {
    let base = |rule: &str| {
        format!(
            "channels:\n  s: {{ type: slack, url_env: SLACK_URL }}\nrules:\n  - {{ name: r1, severity: warning, channels: [s], {rule} }}\n"
        )
    };
    for (rule, expect) in [
        (
            "metric: drift.psy, above: 1",
            "rules[0] \"r1\": field \"metric\": unknown metric \"drift.psy\"",
        ),
        (
            "metric: drift.psi",
            "rules[0] \"r1\": a threshold is required",
        ),
        (
            "metric: drift.psi, above: 1, below: 0",
            "fields \"above\" and \"below\"",
        ),
        (
            "metric: drift.psi, above: 1, window: 2, breaches: 3",
            "field \"breaches\" 3",
        ),
        (
            "metric: drift.psi, above: 1, cooldown: 5 minutes",
            "field \"cooldown\"",
        ),
        (
            "metric: drift.share, above: 0.5, columns: [x]",
            "field \"columns\"",
        ),
        ("metric: drift.psi.p_value, below: 0.01", "unknown metric"),
        (
            "metric: performance.auc.realized, below: 0.8",
            "unknown metric",
        ),
        ("metric: drift.psi, treshold: 1", "unknown field `treshold`"),
    ] {
        let e = AlertConfig::parse(&base(rule)).unwrap_err().to_string();
        assert!(e.contains(expect), "{rule}: {e}");
    }
    let e = AlertConfig::parse(
        "channels:\n  s: { type: slack, url_env: U }\nrules:\n  - { name: r1, metric: drift.drifted, severity: info, channels: [pager] }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("field \"channels\": no channel named \"pager\"; the channels are s"),
        "{e}"
    );
    let e = AlertConfig::parse(
        "channels:\n  s: { type: slack, url: \"ftp://x\" }\nrules:\n  - { name: r1, metric: drift.drifted, severity: info, channels: [s] }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("channels.s: field \"url\": scheme \"ftp\""),
        "{e}"
    );
    let e = AlertConfig::parse(
        "channels:\n  m: { type: email, host: smtp.example.com, from: nobody, to: [a@example.com] }\nrules:\n  - { name: r1, metric: drift.drifted, severity: info, channels: [m] }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("channels.m: field \"from\": \"nobody\" is not an email address"),
        "{e}"
    );
    // A flag needs no threshold; a column not compared is named at evaluation.
    let c = AlertConfig::parse(
        "channels:\n  s: { type: slack, url_env: U }\nrules:\n  - { name: r1, metric: drift.drifted, columns: [nope], severity: info, channels: [s] }\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (stable, _) = drift_reports(dir.path());
    let mut state = AlertState::default();
    let mut log = DeliveryLog::new(None);
    let e = process_with_channels(
        &c,
        MonitorReport::Drift(&stable),
        &mut state,
        t(0),
        &mut log,
        &secrets,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("rule \"r1\": field \"columns\": column \"nope\" is not among the compared columns (x, y)"), "{e}");
}

/// Records events instead of sending them (the `AlertSink` seam).
struct Recorder(Mutex<Vec<AlertEvent>>);

impl AlertSink for Recorder {
    fn send(&self, event: &AlertEvent, _timeout: Duration) -> AttemptResult {
        self.0.lock().unwrap().push(event.clone());
        Ok(None)
    }
}

#[test]
fn performance_rules_and_windows_over_runs() {
    use slipway_monitor::performance::{
        CalibrationMode, Columns, Metric, PerformanceOptions, PerformanceRun, Task,
    };
    let dir = tempfile::tempdir().unwrap();
    // A classifier right on 95 % of the reference and on 60 % of the analysis's last chunk.
    let write = |path: &Path, rows: usize, bad_from: usize| {
        let mut s = String::from("y,p,yhat\n");
        for i in 0..rows {
            let y = (i % 2) as f64;
            let wrong = if i >= bad_from {
                i % 5 < 2
            } else {
                i % 20 == 0
            };
            let yhat = if wrong { 1.0 - y } else { y };
            let p = if yhat == 1.0 { 0.8 } else { 0.2 };
            s.push_str(&format!("{y},{p},{yhat}\n"));
        }
        std::fs::write(path, s).unwrap();
    };
    let reference = dir.path().join("ref.csv");
    let analysis = dir.path().join("an.csv");
    write(&reference, 1000, usize::MAX);
    write(&analysis, 600, 400);
    let report = PerformanceRun {
        reference: &reference,
        analysis: &analysis,
        labels: None,
        columns: &Columns {
            target: "y".into(),
            prediction: Some("yhat".into()),
            probability: None,
        },
        task: Task::Binary,
        chunking: &Chunking::Rows { size: 200 },
        features: &[],
        fairness: None,
    }
    .run(&PerformanceOptions {
        metrics: vec![Metric::Accuracy],
        bootstrap: 0,
        confidence: 0.95,
        seed: 0,
        calibration: CalibrationMode::Never,
    })
    .unwrap();
    let config = AlertConfig::parse(
        "name: perf\nchannels:\n  s: { type: slack, url_env: U }\nrules:\n  - { name: acc, metric: performance.accuracy.realized, below: 0.9, window: 2, breaches: 2, over: runs, severity: error, cooldown: 0, channels: [s] }\n  - { name: drift-ignored, metric: drift.drifted, severity: info, channels: [s] }\n",
    )
    .unwrap();
    let rec = Recorder(Mutex::new(Vec::new()));
    let sink_for = |_: &str| -> Box<dyn AlertSink + '_> { Box::new(&rec) };
    let mut state = AlertState::default();
    let mut go = |now| {
        let mut log = DeliveryLog::new(None);
        process(
            &config,
            MonitorReport::Performance(&report),
            &mut state,
            now,
            &mut log,
            &sink_for,
            &|_| {},
        )
        .unwrap()
    };
    // The first run sees one bad run of the two the window needs; the second fires.
    let first = go(t(0));
    assert_eq!(
        first.results.len(),
        1,
        "drift rules do not apply to performance runs"
    );
    assert_eq!(first.results[0].action, Action::Ok);
    assert_eq!(
        (
            first.results[0].verdict.breaches,
            first.results[0].verdict.window
        ),
        (1, 1)
    );
    assert!((first.results[0].verdict.value.unwrap() - 0.6).abs() < 1e-12);
    let second = go(t(5));
    assert_eq!(second.results[0].action, Action::Fired);
    // Cool-down 0: every run while firing sends again.
    assert_eq!(go(t(6)).results[0].action, Action::Reminded);
    let events = rec.0.lock().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].action, EventAction::Trigger);
    assert_eq!(events[0].dedup_key, "perf/acc/all");
    assert_eq!(
        events[0].summary,
        "performance.accuracy.realized is 0.6 (below 0.9) in 2 of the latest 2 runs"
    );
}

impl AlertSink for &Recorder {
    fn send(&self, event: &AlertEvent, timeout: Duration) -> AttemptResult {
        (*self).send(event, timeout)
    }
}

// ---------------------------------------------------------------------------------------
// Email through a real SMTP server: aiosmtpd with STARTTLS and AUTH LOGIN required.

struct SmtpServer {
    child: std::process::Child,
    port: u16,
    out: std::path::PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts aiosmtpd (`SLIPWAY_AIOSMTPD_PYTHON`, made by tests/smtp/start.sh) on a
/// certificate for `localhost` signed by a CA generated here; returns the CA's PEM path.
fn smtp_server(dir: &Path) -> Option<(SmtpServer, std::path::PathBuf)> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let Some(python) = std::env::var_os("SLIPWAY_AIOSMTPD_PYTHON") else {
        assert!(
            !ci,
            "CI: SLIPWAY_AIOSMTPD_PYTHON is not set (source tests/smtp/start.sh)"
        );
        eprintln!(
            "skipped: set SLIPWAY_AIOSMTPD_PYTHON to a Python with aiosmtpd (source tests/smtp/start.sh)"
        );
        return None;
    };
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "slipway test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, &ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let (ca_pem, cert_pem, key_pem) = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    std::fs::write(&cert_pem, leaf.pem()).unwrap();
    std::fs::write(&key_pem, leaf_key.serialize_pem()).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = dir.join("received.jsonl");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/smtp/aiosmtpd_server.py");
    let mut child = std::process::Command::new(python)
        .arg(script)
        .arg(port.to_string())
        .arg(&cert_pem)
        .arg(&key_pem)
        .args(["alerts", "s3cret"])
        .arg(&out)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start aiosmtpd");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let server = SmtpServer { child, port, out };
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(line) if line.starts_with("READY") => Some((server, ca_pem)),
        other => panic!("aiosmtpd did not start: {other:?}"),
    }
}

#[test]
fn email_over_starttls_with_auth_login() {
    let dir = tempfile::tempdir().unwrap();
    let Some((server, ca)) = smtp_server(dir.path()) else {
        return;
    };
    let (_, drifted) = drift_reports(dir.path());
    let config_for = |password_env: &str| {
        AlertConfig::parse(&format!(
            r#"
name: test-monitor
allow: [localhost, "127.0.0.1", "::1"]
delivery: {{ max_attempts: 2, initial_backoff_ms: 10, max_backoff_ms: 10, timeout_s: 20, deadline_s: 60 }}
channels:
  mail:
    type: email
    host: localhost
    port: {port}
    tls: starttls
    ca_file: "{ca}"
    username: alerts
    password_env: {password_env}
    from: "Slipway <slipway@example.com>"
    to: ["oncall@example.com", "ml@example.com"]
rules:
  - {{ name: x-psi, metric: drift.psi, columns: [x], above: 0.2, window: 2, severity: critical, channels: [mail] }}
"#,
            port = server.port,
            ca = ca.display()
        ))
        .unwrap()
    };
    // A wrong password is refused by the server: a permanent failure, not retried.
    let wrong = config_for("PD_KEY");
    let mut state = AlertState::default();
    let out = run(
        &wrong,
        &drifted,
        &mut state,
        t(0),
        &dir.path().join("log.jsonl"),
    );
    let d = &out.deliveries[0];
    assert!(!d.delivered, "{d:?}");
    assert_eq!(d.code, Some(535), "{d:?}");
    assert_eq!(d.attempts, 1);

    let config = config_for("SMTP_PASSWORD");
    let mut state = AlertState::default();
    let out = run(
        &config,
        &drifted,
        &mut state,
        t(0),
        &dir.path().join("log.jsonl"),
    );
    let d = &out.deliveries[0];
    assert!(d.delivered, "{d:?}");
    assert_eq!(d.code, Some(250));
    let received = std::fs::read_to_string(&server.out).unwrap();
    let msgs: Vec<Value> = received
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m["tls"], true, "STARTTLS was used");
    assert_eq!(m["authenticated"], true);
    assert_eq!(m["auth_mechanism"], "LOGIN");
    assert_eq!(m["login"], "alerts");
    assert_eq!(m["mail_from"], "slipway@example.com");
    assert_eq!(
        m["rcpt_tos"],
        serde_json::json!(["oncall@example.com", "ml@example.com"])
    );
    assert_eq!(m["subject"], "[CRITICAL] test-monitor: x-psi (x)");
    assert_eq!(m["from"], "Slipway <slipway@example.com>");
    let body = m["body"].as_str().unwrap();
    assert!(body.starts_with("drift.psi of x is "), "{body}");
    assert!(body.contains("in 2 of the latest 2 chunks"), "{body}");
    assert!(body.contains("dedup key  test-monitor/x-psi/x"), "{body}");
    assert!(body.contains("chunk      rows 1000–1499"), "{body}");
    let content = m["content"].as_str().unwrap();
    assert!(!content.contains("s3cret"));
}

// ---------------------------------------------------------------------------------------
// Multivariate signals: PCA reconstruction error and the domain classifier per chunk.

/// `x` and `y` strongly correlated in the reference; from row `break_from` on, `y` runs
/// against `x` (each column's own distribution barely moves: a univariate test misses it,
/// the multivariate methods do not).
fn write_correlated(path: &Path, rows: usize, seed: u64, break_from: usize) {
    let mut s = String::from("x,y\n");
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for i in 0..rows {
        let x = next() * 100.0;
        let noise = (next() - 0.5) * 10.0;
        let y = if i >= break_from { 100.0 - x } else { x } + noise;
        s.push_str(&format!("{x},{y}\n"));
    }
    std::fs::write(path, s).unwrap();
}

struct MultivariateRuns {
    stable: DriftReport,
    stable_mv: Vec<slipway_monitor::multivariate::MultivariateReport>,
    broken: DriftReport,
    broken_mv: Vec<slipway_monitor::multivariate::MultivariateReport>,
}

fn multivariate_runs(dir: &Path) -> MultivariateRuns {
    use slipway_monitor::multivariate::{self, Method, MultivariateOptions};
    let reference = dir.join("mv-reference.csv");
    write_correlated(&reference, 2000, 1, usize::MAX);
    let stable = dir.join("mv-stable.csv");
    write_correlated(&stable, 1500, 2, usize::MAX);
    let broken = dir.join("mv-broken.csv");
    // The last two of three 500-row chunks have the correlation reversed.
    write_correlated(&broken, 1500, 3, 500);
    let summary = load_reference(&ReferenceSource::File(reference.clone()), None, &[]).unwrap();
    let opts = DriftOptions::default();
    let chunks = Chunking::Rows { size: 500 };
    let columns = vec!["x".to_string(), "y".to_string()];
    let read = |p: &Path| slipway_data::ingest::read_table(p, &Default::default()).unwrap();
    let reference_t = read(&reference);
    let mv = |current: &Path| {
        let current = read(current);
        [Method::Pca, Method::Domain]
            .into_iter()
            .map(|m| {
                multivariate::run(
                    &reference_t,
                    &current,
                    &columns,
                    &[],
                    &chunks,
                    &MultivariateOptions::new(m),
                )
                .unwrap()
            })
            .collect::<Vec<_>>()
    };
    MultivariateRuns {
        stable: drift_file(&summary, &stable, &chunks, &opts, &[]).unwrap(),
        stable_mv: mv(&stable),
        broken: drift_file(&summary, &broken, &chunks, &opts, &[]).unwrap(),
        broken_mv: mv(&broken),
    }
}

fn run_mv(
    config: &AlertConfig,
    drift: &DriftReport,
    multivariate: &[slipway_monitor::multivariate::MultivariateReport],
    state: &mut AlertState,
    now: DateTime<Utc>,
    log: &Path,
) -> AlertRun {
    let mut log = DeliveryLog::new(Some(log));
    process_with_channels(
        config,
        MonitorReport::DriftWith {
            drift,
            multivariate,
        },
        state,
        now,
        &mut log,
        &secrets,
    )
    .unwrap()
}

#[test]
fn multivariate_rules_fire_suppress_and_resolve_over_the_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let runs = multivariate_runs(dir.path());
    let (pca, domain) = (&runs.broken_mv[0], &runs.broken_mv[1]);
    // The data do what the test needs: the methods see the broken chunks, the stable file
    // stays inside the bounds.
    let alerts = |r: &slipway_monitor::multivariate::MultivariateReport| {
        r.chunks.iter().map(|c| c.alert).collect::<Vec<_>>()
    };
    assert_eq!(alerts(pca), [false, true, true], "{pca:?}");
    assert_eq!(alerts(domain), [false, true, true], "{domain:?}");
    assert!(runs.stable_mv.iter().all(|r| !r.drifted));

    let r = Receiver::start(vec![]);
    let config = AlertConfig::parse(&format!(
        r#"
name: test-monitor
allow: ["127.0.0.1"]
delivery: {{ max_attempts: 2, initial_backoff_ms: 10, max_backoff_ms: 20, timeout_s: 5, deadline_s: 20 }}
channels:
  hook: {{ type: webhook, url: "{hook}", secret_env: HOOK_SECRET }}
rules:
  - name: pca-alert
    metric: multivariate.pca.alert
    window: 2
    severity: critical
    cooldown: 1h
    channels: [hook]
  - name: pca-error
    metric: multivariate.pca.reconstruction_error
    above: {pca_upper}
    window: 3
    breaches: 2
    severity: warning
    channels: [hook]
  - name: domain-auc
    metric: multivariate.domain.auc
    above: 0.65
    severity: error
    channels: [hook]
  - name: domain-alert-all-three
    metric: multivariate.domain.alert
    window: 3
    severity: info
    channels: [hook]
  - name: x-psi
    metric: drift.psi
    columns: [x]
    above: 0.2
    severity: warning
    channels: [hook]
"#,
        hook = r.url("/hook"),
        pca_upper = pca.bounds.upper.unwrap(),
    ))
    .unwrap();
    let state_path = dir.path().join("mv-state.json");
    let log_path = dir.path().join("mv-deliveries.jsonl");

    // Run 1: the last two chunks broke the correlation.
    let mut state = AlertState::load(&state_path).unwrap();
    let out = run_mv(
        &config,
        &runs.broken,
        &runs.broken_mv,
        &mut state,
        t(0),
        &log_path,
    );
    state.save(&state_path).unwrap();
    let result = |out: &AlertRun, rule: &str| {
        out.results
            .iter()
            .find(|r| r.verdict.rule == rule)
            .unwrap()
            .clone()
    };
    let a = result(&out, "pca-alert");
    assert_eq!(a.action, Action::Fired);
    assert_eq!(a.verdict.subject, "all");
    assert_eq!(a.verdict.dedup_key, "test-monitor/pca-alert/all");
    assert_eq!((a.verdict.breaches, a.verdict.window), (2, 2));
    assert_eq!(a.verdict.value, Some(1.0));
    let e = result(&out, "pca-error");
    assert_eq!(e.action, Action::Fired);
    assert_eq!((e.verdict.breaches, e.verdict.window), (2, 3));
    assert_eq!(e.verdict.value, pca.chunks[2].value);
    assert_eq!(e.verdict.chunk.as_deref(), Some("rows 1000–1499"));
    let d = result(&out, "domain-auc");
    assert_eq!(d.action, Action::Fired);
    assert_eq!(d.verdict.value, domain.chunks[2].value);
    assert!(d.verdict.value.unwrap() > 0.65);
    // The first chunk is fine: a window of all three does not breach.
    let all3 = result(&out, "domain-alert-all-three");
    assert_eq!(all3.action, Action::Ok);
    assert_eq!((all3.verdict.breaches, all3.verdict.window), (2, 3));
    // The multivariate rules and the per-column ones see the same run.
    assert!(out.results.iter().any(|r| r.verdict.rule == "x-psi"));

    let reqs = r.take();
    let fired: Vec<&Request> = reqs
        .iter()
        .filter(|q| q.json()["action"] == "trigger" && q.json()["rule"] != "x-psi")
        .collect();
    assert_eq!(fired.len(), 3, "{reqs:?}");
    for q in &fired {
        verify_signature(q);
        assert_eq!(q.path, "/hook");
    }
    let body = |rule: &str| {
        fired
            .iter()
            .find(|q| q.json()["rule"] == rule)
            .unwrap()
            .json()
    };
    let h = body("pca-error");
    assert_eq!(h["metric"], "multivariate.pca.reconstruction_error");
    assert_eq!(h["subject"], "all");
    assert_eq!(h["dedup_key"], "test-monitor/pca-error/all");
    assert_eq!(h["value"], pca.chunks[2].value.unwrap());
    assert_eq!(h["chunk"], "rows 1000–1499");
    assert_eq!(h["severity"], "warning");
    assert!(
        h["summary"]
            .as_str()
            .unwrap()
            .starts_with("multivariate.pca.reconstruction_error is "),
        "{h}"
    );
    let h = body("domain-auc");
    assert_eq!(h["metric"], "multivariate.domain.auc");
    assert_eq!(h["value"], domain.chunks[2].value.unwrap());
    assert_eq!(body("pca-alert")["metric"], "multivariate.pca.alert");

    // Run 2, ten minutes later: still breaching, in cool-down: nothing sent.
    let mut state = AlertState::load(&state_path).unwrap();
    let out = run_mv(
        &config,
        &runs.broken,
        &runs.broken_mv,
        &mut state,
        t(10),
        &log_path,
    );
    state.save(&state_path).unwrap();
    assert_eq!(result(&out, "pca-alert").action, Action::Suppressed);
    assert_eq!(result(&out, "domain-auc").action, Action::Suppressed);
    assert!(r.take().iter().all(|q| q.json()["rule"] == "x-psi"));

    // Run 3: the stable file: every multivariate alert resolves, to the channel that heard it.
    let mut state = AlertState::load(&state_path).unwrap();
    let out = run_mv(
        &config,
        &runs.stable,
        &runs.stable_mv,
        &mut state,
        t(20),
        &log_path,
    );
    state.save(&state_path).unwrap();
    for rule in ["pca-alert", "pca-error", "domain-auc"] {
        assert_eq!(result(&out, rule).action, Action::Resolved, "{rule}");
    }
    let resolves: Vec<Value> = r
        .take()
        .iter()
        .map(Request::json)
        .filter(|b| b["action"] == "resolve")
        .collect();
    assert_eq!(resolves.len(), 3, "{resolves:?}");
    assert!(
        resolves
            .iter()
            .any(|b| b["dedup_key"] == "test-monitor/domain-auc/all")
    );
    assert_eq!(out.firing, 0);
    // Every delivery is in the log.
    let logged = std::fs::read_to_string(&log_path).unwrap();
    assert!(logged.contains("test-monitor/pca-alert/all"));
}

#[test]
fn multivariate_rules_are_checked_naming_the_rule_and_field() {
    let base = |rule: &str| {
        format!(
            "channels:\n  s: {{ type: slack, url_env: SLACK_URL }}\nrules:\n  - {{ name: r1, severity: warning, channels: [s], {rule} }}\n"
        )
    };
    for (rule, expect) in [
        (
            "metric: multivariate.umap.alert",
            "rules[0] \"r1\": field \"metric\": unknown multivariate method \"umap\"",
        ),
        (
            "metric: multivariate.pca.auc, above: 0.6",
            "field \"metric\": \"multivariate.pca.auc\": the pca values are multivariate.pca.reconstruction_error and multivariate.pca.alert",
        ),
        (
            "metric: multivariate.domain, above: 0.6",
            "field \"metric\": \"multivariate.domain\": write multivariate.pca.reconstruction_error",
        ),
        (
            "metric: multivariate.domain.auc",
            "rules[0] \"r1\": a threshold is required",
        ),
        (
            "metric: multivariate.domain.auc, above: 0.6, columns: [x]",
            "field \"columns\": multivariate.domain.auc has one value per chunk",
        ),
    ] {
        let e = AlertConfig::parse(&base(rule)).unwrap_err().to_string();
        assert!(e.contains(expect), "{rule}: {e}");
    }
    // A flag needs no threshold.
    let c = AlertConfig::parse(&base("metric: multivariate.pca.alert")).unwrap();
    assert_eq!(c.rules[0].threshold, 0.5);
    let c = AlertConfig::parse(&base("metric: multivariate.domain.auc, above: 0.6")).unwrap();
    assert_eq!(c.rules[0].signal.name(), "multivariate.domain.auc");

    // Checked before a run: the method must be computed.
    use slipway_monitor::multivariate::Method;
    let e = c
        .check_multivariate(&[Method::Pca], "add it to --multivariate")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("rule \"r1\": field \"metric\": multivariate.domain.auc needs the domain multivariate run, and this run computes pca (add it to --multivariate)"),
        "{e}"
    );
    c.check_multivariate(&[Method::Pca, Method::Domain], "")
        .unwrap();

    // And at evaluation: a drift run without multivariate reports, or without this method.
    let dir = tempfile::tempdir().unwrap();
    let runs = multivariate_runs(dir.path());
    let mut log = DeliveryLog::new(None);
    let e = process_with_channels(
        &c,
        MonitorReport::Drift(&runs.stable),
        &mut AlertState::default(),
        t(0),
        &mut log,
        &secrets,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("rule \"r1\": field \"metric\": multivariate.domain.auc needs the domain multivariate run, and this run computes none"),
        "{e}"
    );
    let e = process_with_channels(
        &c,
        MonitorReport::DriftWith {
            drift: &runs.stable,
            multivariate: &runs.stable_mv[..1],
        },
        &mut AlertState::default(),
        t(0),
        &mut log,
        &secrets,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("this run computes pca"), "{e}");
}

#[test]
fn a_small_multivariate_chunk_never_breaches() {
    use slipway_monitor::multivariate::{self, Method, MultivariateOptions};
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("r.csv");
    write_correlated(&reference, 2000, 1, usize::MAX);
    // 1100 rows in chunks of 500: the last chunk has 100 rows, broken, and min_rows 200.
    let current = dir.path().join("c.csv");
    write_correlated(&current, 1100, 5, 1000);
    let read = |p: &Path| slipway_data::ingest::read_table(p, &Default::default()).unwrap();
    let chunks = Chunking::Rows { size: 500 };
    let options = MultivariateOptions {
        min_rows: 200,
        ..MultivariateOptions::new(Method::Domain)
    };
    let mv = multivariate::run(
        &read(&reference),
        &read(&current),
        &["x".to_string(), "y".to_string()],
        &[],
        &chunks,
        &options,
    )
    .unwrap();
    assert!(mv.chunks[2].small_sample && mv.chunks[2].value.is_some());
    let summary = load_reference(&ReferenceSource::File(reference), None, &[]).unwrap();
    let drift = drift_file(
        &summary,
        &current,
        &chunks,
        &DriftOptions {
            min_rows: 200,
            ..DriftOptions::default()
        },
        &[],
    )
    .unwrap();
    let c = AlertConfig::parse(
        "channels:\n  s: { type: slack, url_env: U }\nrules:\n  - { name: auc, metric: multivariate.domain.auc, above: 0.0, severity: info, channels: [s] }\n",
    )
    .unwrap();
    let mut log = DeliveryLog::new(None);
    let out = process(
        &c,
        MonitorReport::DriftWith {
            drift: &drift,
            multivariate: std::slice::from_ref(&mv),
        },
        &mut AlertState::default(),
        t(0),
        &mut log,
        &|_| Box::new(Recorder(Mutex::new(Vec::new()))),
        &|_| {},
    )
    .unwrap();
    let v = &out.results[0].verdict;
    // The latest chunk is small: no value, no breach, although every value is above 0.
    assert_eq!((v.breaches, v.window, v.breaching), (0, 1, false));
    assert_eq!(v.value, None);
    assert_eq!(out.results[0].action, Action::Ok);
    assert!(out.deliveries.is_empty());
}

/// As JSON (NaN and missing values compare as the JSON twin holds them).
fn json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

#[test]
fn the_combined_report_shows_the_drift_runs_multivariate_sections() {
    use slipway_monitor::combined::{MonitoringReport, read_drift, read_drift_with};
    let dir = tempfile::tempdir().unwrap();
    let runs = multivariate_runs(dir.path());
    // The JSON twin `monitor drift --multivariate pca,domain --output X.html` writes: the
    // report's fields plus `multivariate`.
    let mut twin = serde_json::to_value(&runs.broken).unwrap();
    twin["multivariate"] = serde_json::to_value(&runs.broken_mv).unwrap();
    let path = dir.path().join("drift.json");
    std::fs::write(&path, serde_json::to_vec(&twin).unwrap()).unwrap();
    let (drift, mv) = read_drift_with(&path).unwrap();
    assert_eq!(json(&drift), json(&runs.broken));
    assert_eq!(json(&mv), json(&runs.broken_mv));
    let report = MonitoringReport {
        drift: Some(drift),
        multivariate: mv,
        ..Default::default()
    };
    let html = report.render_html(&[("drift".into(), path.display().to_string())]);
    assert!(html.contains("Multivariate drift: PCA reconstruction error"));
    assert!(html.contains("Multivariate drift: domain classifier"));
    assert!(html.contains(
        "Multivariate drift (multivariate.domain.auc): 2 of 3 chunks outside the bounds."
    ));
    assert_eq!(
        report.to_json()["multivariate"].as_array().unwrap().len(),
        2
    );

    // Without the key: no section. A scheduled monitor's report.json reads too.
    let plain = dir.path().join("plain.json");
    std::fs::write(&plain, serde_json::to_vec(&runs.stable).unwrap()).unwrap();
    let (_, mv) = read_drift_with(&plain).unwrap();
    assert!(mv.is_empty());
    assert_eq!(json(&read_drift(&plain).unwrap()), json(&runs.stable));
    let html = MonitoringReport {
        drift: Some(runs.stable.clone()),
        ..Default::default()
    }
    .render_html(&[]);
    assert!(!html.contains("Multivariate drift"));
    let stored = dir.path().join("report.json");
    std::fs::write(
        &stored,
        serde_json::to_vec(&serde_json::json!({
            "report": runs.broken, "multivariate": runs.broken_mv, "alert_deliveries": null
        }))
        .unwrap(),
    )
    .unwrap();
    let (drift, mv) = read_drift_with(&stored).unwrap();
    assert_eq!((json(&drift), mv.len()), (json(&runs.broken), 2));
    // A bad multivariate key is named.
    twin["multivariate"] = serde_json::json!([{"options": 1}]);
    std::fs::write(&path, serde_json::to_vec(&twin).unwrap()).unwrap();
    let e = read_drift_with(&path).unwrap_err().to_string();
    assert!(e.contains("field \"multivariate\""), "{e}");
}
