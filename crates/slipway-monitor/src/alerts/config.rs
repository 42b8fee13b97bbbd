//! The alert rules file (YAML), parsed and checked once into [`AlertConfig`].
//!
//! ```yaml
//! name: churn-model            # scopes the dedup keys (default "slipway")
//! allow: ["127.0.0.1", "10.0.0.0/8", "hooks.internal"]   # hosts/CIDRs allowed although not global
//! delivery: { max_attempts: 4, initial_backoff_ms: 500, max_backoff_ms: 8000, timeout_s: 10, deadline_s: 60 }
//! channels:
//!   ops: { type: slack, url_env: SLACK_WEBHOOK_URL }
//!   pager: { type: pagerduty, routing_key_env: PD_ROUTING_KEY }
//!   hook: { type: webhook, url: "https://hooks.example.com/slipway", secret_env: HOOK_SECRET }
//!   mail: { type: email, host: smtp.example.com, port: 587, username: alerts, password_env: SMTP_PASSWORD,
//!           from: "slipway@example.com", to: ["oncall@example.com"] }
//! rules:
//!   - name: income-psi
//!     metric: drift.psi          # see [`Signal::parse`]
//!     columns: [income]
//!     above: 0.2
//!     window: 3                  # the latest 3 chunks (or runs, with `over: runs`)
//!     breaches: 2                # of which at least 2 breach (default: all of them)
//!     severity: critical
//!     cooldown: 1h
//!     channels: [ops, pager]
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::drift::Stat;
use crate::multivariate::Method;
use crate::performance::Metric;
use crate::{Error, Result};

/// How bad an alert is (PagerDuty's four levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For information.
    Info,
    /// Worth a look.
    Warning,
    /// Something is wrong.
    Error,
    /// Act now.
    Critical,
}

impl Severity {
    /// The name in YAML, JSON and PagerDuty.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }
}

/// Which monitor run a signal comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `monitor drift`.
    Drift,
    /// `monitor performance`.
    Performance,
}

/// The value a rule watches, per chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Signal {
    /// `drift.<stat>`: a statistic of each column (for ks and chi2 the test statistic).
    DriftStat {
        /// The statistic.
        stat: Stat,
    },
    /// `drift.<ks|chi2>.p_value`: the corrected p-value of each column's test.
    DriftPValue {
        /// The test.
        stat: Stat,
    },
    /// `drift.drifted`: 1 when the monitor flagged the column as drifted, else 0.
    DriftFlag,
    /// `drift.missing_rate`: each column's share of missing values.
    DriftMissingRate,
    /// `drift.share`: the share of compared columns that drifted (one subject, `all`).
    DriftShare,
    /// `drift.count`: how many columns drifted (one subject, `all`).
    DriftCount,
    /// `performance.<metric>.realized`.
    Realized {
        /// The metric.
        metric: Metric,
    },
    /// `performance.<metric>.estimated` (CBPE / DLE).
    Estimated {
        /// The metric.
        metric: Metric,
    },
    /// `performance.<metric>.alert`: 1 when the monitor flagged the chunk's value (estimated
    /// outside its thresholds, or realized outside them), else 0.
    PerformanceFlag {
        /// The metric.
        metric: Metric,
    },
    /// `multivariate.pca.reconstruction_error` / `multivariate.domain.auc`: the chunk's
    /// multivariate value (one subject, `all`).
    Multivariate {
        /// The method.
        method: Method,
    },
    /// `multivariate.<pca|domain>.alert`: 1 when the chunk's multivariate value is outside
    /// its bounds, else 0 (one subject, `all`).
    MultivariateFlag {
        /// The method.
        method: Method,
    },
}

/// The metric names a rule may use, for error messages.
pub const SIGNAL_NAMES: &str = "drift.<stat> (ks, chi2, psi, wasserstein, js, hellinger, linf), drift.<ks|chi2>.p_value, drift.drifted, drift.missing_rate, drift.share, drift.count, performance.<metric>.realized, performance.<metric>.estimated, performance.<metric>.alert (metrics: roc_auc, accuracy, precision, recall, f1, mae, rmse, mape, r2), multivariate.pca.reconstruction_error, multivariate.pca.alert, multivariate.domain.auc, multivariate.domain.alert";

/// The name of a method's value in a signal (`multivariate.<method>.<value>`).
pub fn multivariate_value_name(method: Method) -> &'static str {
    match method {
        Method::Pca => "reconstruction_error",
        Method::Domain => "auc",
    }
}

impl Signal {
    /// Parses a rule's `metric`.
    pub fn parse(s: &str) -> Option<Signal> {
        let parts: Vec<&str> = s.trim().split('.').collect();
        Some(match parts.as_slice() {
            ["drift", "drifted"] => Signal::DriftFlag,
            ["drift", "missing_rate"] => Signal::DriftMissingRate,
            ["drift", "share"] => Signal::DriftShare,
            ["drift", "count"] => Signal::DriftCount,
            ["drift", stat] => Signal::DriftStat {
                stat: Stat::parse(stat)?,
            },
            ["drift", stat, "p_value"] => {
                let stat = Stat::parse(stat)?;
                if !stat.is_test() {
                    return None;
                }
                Signal::DriftPValue { stat }
            }
            ["multivariate", method, kind] => {
                let method = Method::parse(method)?;
                match *kind {
                    "alert" => Signal::MultivariateFlag { method },
                    k if k == multivariate_value_name(method) => Signal::Multivariate { method },
                    _ => return None,
                }
            }
            ["performance", metric, kind] => {
                let metric = Metric::parse(metric)?;
                match *kind {
                    "realized" => Signal::Realized { metric },
                    "estimated" => Signal::Estimated { metric },
                    "alert" => Signal::PerformanceFlag { metric },
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    /// The name [`Signal::parse`] reads.
    pub fn name(self) -> String {
        match self {
            Signal::DriftStat { stat } => format!("drift.{}", stat.name()),
            Signal::DriftPValue { stat } => format!("drift.{}.p_value", stat.name()),
            Signal::DriftFlag => "drift.drifted".into(),
            Signal::DriftMissingRate => "drift.missing_rate".into(),
            Signal::DriftShare => "drift.share".into(),
            Signal::DriftCount => "drift.count".into(),
            Signal::Realized { metric } => format!("performance.{}.realized", metric.name()),
            Signal::Estimated { metric } => format!("performance.{}.estimated", metric.name()),
            Signal::PerformanceFlag { metric } => format!("performance.{}.alert", metric.name()),
            Signal::Multivariate { method } => format!(
                "multivariate.{}.{}",
                method.name(),
                multivariate_value_name(method)
            ),
            Signal::MultivariateFlag { method } => format!("multivariate.{}.alert", method.name()),
        }
    }

    /// The run it comes from.
    pub fn source(self) -> Source {
        match self {
            Signal::Realized { .. } | Signal::Estimated { .. } | Signal::PerformanceFlag { .. } => {
                Source::Performance
            }
            _ => Source::Drift,
        }
    }

    /// Whether it is a 0/1 flag (a rule on it needs no threshold: it fires on 1).
    pub fn is_flag(self) -> bool {
        matches!(
            self,
            Signal::DriftFlag | Signal::PerformanceFlag { .. } | Signal::MultivariateFlag { .. }
        )
    }

    /// The multivariate method it needs, if any.
    pub fn multivariate(self) -> Option<Method> {
        match self {
            Signal::Multivariate { method } | Signal::MultivariateFlag { method } => Some(method),
            _ => None,
        }
    }

    /// Whether it has one value per column (else one per chunk, subject `all`).
    pub fn per_column(self) -> bool {
        matches!(
            self,
            Signal::DriftStat { .. }
                | Signal::DriftPValue { .. }
                | Signal::DriftFlag
                | Signal::DriftMissingRate
        )
    }
}

/// Which side of the threshold breaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// A value strictly above the threshold breaches.
    Above,
    /// A value strictly below the threshold breaches.
    Below,
}

/// What a rule's window counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WindowOver {
    /// The latest chunks of this run's report.
    #[default]
    Chunks,
    /// The latest runs (each run's latest chunk), remembered in the state file.
    Runs,
}

/// A checked rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Its unique name.
    pub name: String,
    /// What it watches.
    pub signal: Signal,
    /// The columns it watches (per-column signals; empty: every compared column).
    pub columns: Vec<String>,
    /// Which side breaches.
    pub direction: Direction,
    /// The threshold.
    pub threshold: f64,
    /// How many of the latest chunks or runs it looks at.
    pub window: usize,
    /// How many of those must breach for it to fire.
    pub breaches: usize,
    /// Chunks or runs.
    pub over: WindowOver,
    /// How bad.
    pub severity: Severity,
    /// A still-firing alert is sent again only after this long.
    pub cooldown: Duration,
    /// The channels it notifies, by name.
    pub channels: Vec<String>,
    /// Free text for the message.
    pub description: Option<String>,
}

impl Rule {
    /// Whether `value` breaches the threshold.
    pub fn breached(&self, value: f64) -> bool {
        match self.direction {
            Direction::Above => value > self.threshold,
            Direction::Below => value < self.threshold,
        }
    }
}

/// SMTP transport security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// A channel, with its secrets still named by environment variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Channel {
    /// A Slack incoming webhook (the URL is itself a secret: prefer `url_env`).
    Slack(HttpTarget),
    /// PagerDuty Events API v2.
    Pagerduty(PagerDutyChannel),
    /// A JSON webhook signed with HMAC-SHA256.
    Webhook(WebhookChannel),
    /// Email over SMTP.
    Email(EmailChannel),
}

/// A URL given directly or by environment variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTarget {
    /// The URL.
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable holding the URL.
    #[serde(default)]
    pub url_env: Option<String>,
}

/// PagerDuty Events API v2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyChannel {
    /// The events endpoint [default: `https://events.pagerduty.com/v2/enqueue`].
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable holding the integration's routing key.
    pub routing_key_env: String,
    /// The `source` of the events [default: the rules file's `name`].
    #[serde(default)]
    pub source: Option<String>,
}

/// A signed webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookChannel {
    /// The URL.
    #[serde(default)]
    pub url: Option<String>,
    /// The environment variable holding the URL.
    #[serde(default)]
    pub url_env: Option<String>,
    /// The environment variable holding the HMAC-SHA256 secret.
    pub secret_env: String,
}

/// Email over SMTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailChannel {
    /// The SMTP server's host name (also the name its certificate must carry).
    pub host: String,
    /// The port [default: 587 for STARTTLS, 465 for implicit TLS].
    #[serde(default)]
    pub port: Option<u16>,
    /// STARTTLS (required) or implicit TLS.
    #[serde(default)]
    pub tls: SmtpTls,
    /// A PEM file of CA certificates to trust instead of the system's (a private CA).
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// The login user (AUTH LOGIN).
    #[serde(default)]
    pub username: Option<String>,
    /// The environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The sender.
    pub from: String,
    /// The recipients.
    pub to: Vec<String>,
}

/// Retries and time limits of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryOptions {
    /// Attempts per delivery, the first included.
    pub max_attempts: u32,
    /// The wait before the second attempt; it doubles after each failure.
    pub initial_backoff_ms: u64,
    /// The longest wait between attempts.
    pub max_backoff_ms: u64,
    /// The time limit of one attempt.
    pub timeout_s: f64,
    /// The time limit of all attempts of one delivery together.
    pub deadline_s: f64,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            max_attempts: 4,
            initial_backoff_ms: 500,
            max_backoff_ms: 8_000,
            timeout_s: 10.0,
            deadline_s: 60.0,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    delivery: DeliveryOptions,
    #[serde(default)]
    channels: BTreeMap<String, Channel>,
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    metric: String,
    #[serde(default)]
    columns: Vec<String>,
    #[serde(default)]
    above: Option<f64>,
    #[serde(default)]
    below: Option<f64>,
    #[serde(default)]
    window: Option<usize>,
    #[serde(default)]
    breaches: Option<usize>,
    #[serde(default)]
    over: WindowOver,
    severity: Severity,
    #[serde(default)]
    cooldown: Option<String>,
    channels: Vec<String>,
    #[serde(default)]
    description: Option<String>,
}

/// The checked rules file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertConfig {
    /// Scopes the dedup keys and is the `source` of PagerDuty events.
    pub name: String,
    /// Hosts, addresses and CIDRs that may be reached although not global.
    pub allow: crate::alerts::net::AllowList,
    /// Retries and time limits.
    pub delivery: DeliveryOptions,
    /// The channels by name.
    pub channels: BTreeMap<String, Channel>,
    /// The rules, in file order.
    pub rules: Vec<Rule>,
}

fn bad(message: String) -> Error {
    Error::BadInput { message }
}

/// Parses `30s`, `15m`, `2h`, `1d` or `0`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

impl AlertConfig {
    /// Reads and checks a rules file.
    pub fn load(path: &std::path::Path) -> Result<AlertConfig> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        AlertConfig::parse(&text).map_err(|e| match e {
            Error::BadInput { message } => bad(format!("{}: {message}", path.display())),
            other => other,
        })
    }

    /// Parses and checks the YAML text of a rules file. Every error names the rule (or
    /// channel) and the field.
    pub fn parse(text: &str) -> Result<AlertConfig> {
        let raw: RawConfig = serde_norway::from_str(text).map_err(|e| bad(e.to_string()))?;
        let name = raw.name.unwrap_or_else(|| "slipway".into());
        if name.trim().is_empty() {
            return Err(bad("field \"name\": must not be empty".into()));
        }
        let allow = crate::alerts::net::AllowList::parse(&raw.allow)?;
        let d = raw.delivery;
        if d.max_attempts == 0 || d.max_attempts > 20 {
            return Err(bad(format!(
                "delivery.max_attempts {}: must be between 1 and 20",
                d.max_attempts
            )));
        }
        for (field, v) in [("timeout_s", d.timeout_s), ("deadline_s", d.deadline_s)] {
            if !(v.is_finite() && v > 0.0 && v <= 3600.0) {
                return Err(bad(format!(
                    "delivery.{field} {v}: must be a number of seconds above 0 and at most 3600"
                )));
            }
        }
        if d.max_backoff_ms < d.initial_backoff_ms {
            return Err(bad(format!(
                "delivery.max_backoff_ms {} is below initial_backoff_ms {}",
                d.max_backoff_ms, d.initial_backoff_ms
            )));
        }
        for (cname, ch) in &raw.channels {
            check_channel(cname, ch)?;
        }
        if raw.rules.is_empty() {
            return Err(bad("field \"rules\": the file has no rules".into()));
        }
        let mut rules = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (i, r) in raw.rules.into_iter().enumerate() {
            let at = format!("rules[{i}] \"{}\"", r.name);
            if r.name.trim().is_empty() {
                return Err(bad(format!("rules[{i}]: field \"name\" must not be empty")));
            }
            if !seen.insert(r.name.clone()) {
                return Err(bad(format!(
                    "{at}: field \"name\": another rule has this name (names must be unique: they make the dedup keys)"
                )));
            }
            let signal = Signal::parse(&r.metric).ok_or_else(|| {
                if let Some(message) = multivariate_metric_error(&r.metric) {
                    return bad(format!("{at}: field \"metric\": {message}"));
                }
                bad(format!(
                    "{at}: field \"metric\": unknown metric \"{}\"; the metrics are {SIGNAL_NAMES}",
                    r.metric
                ))
            })?;
            let (direction, threshold) = match (r.above, r.below) {
                (Some(_), Some(_)) => {
                    return Err(bad(format!(
                        "{at}: fields \"above\" and \"below\": give one threshold, not both"
                    )));
                }
                (Some(t), None) => (Direction::Above, t),
                (None, Some(t)) => (Direction::Below, t),
                (None, None) if signal.is_flag() => (Direction::Above, 0.5),
                (None, None) => {
                    return Err(bad(format!(
                        "{at}: a threshold is required: \"above: X\" or \"below: X\""
                    )));
                }
            };
            if !threshold.is_finite() {
                return Err(bad(format!(
                    "{at}: field \"{}\": the threshold must be a finite number",
                    if direction == Direction::Above {
                        "above"
                    } else {
                        "below"
                    }
                )));
            }
            if !r.columns.is_empty() && !signal.per_column() {
                return Err(bad(format!(
                    "{at}: field \"columns\": {} has one value per chunk, not per column",
                    signal.name()
                )));
            }
            let window = r.window.unwrap_or(1);
            if window == 0 || window > 1000 {
                return Err(bad(format!(
                    "{at}: field \"window\" {window}: must be between 1 and 1000"
                )));
            }
            let breaches = r.breaches.unwrap_or(window);
            if breaches == 0 || breaches > window {
                return Err(bad(format!(
                    "{at}: field \"breaches\" {breaches}: must be between 1 and the window ({window})"
                )));
            }
            let cooldown = match &r.cooldown {
                None => Duration::from_secs(3600),
                Some(s) => parse_duration(s).ok_or_else(|| {
                    bad(format!(
                        "{at}: field \"cooldown\" \"{s}\": write a duration such as 30s, 15m, 2h, 1d or 0"
                    ))
                })?,
            };
            if r.channels.is_empty() {
                return Err(bad(format!(
                    "{at}: field \"channels\": name at least one channel"
                )));
            }
            for c in &r.channels {
                if !raw.channels.contains_key(c) {
                    let known: Vec<&str> = raw.channels.keys().map(|s| s.as_str()).collect();
                    return Err(bad(format!(
                        "{at}: field \"channels\": no channel named \"{c}\"; the channels are {}",
                        if known.is_empty() {
                            "(none defined)".into()
                        } else {
                            known.join(", ")
                        }
                    )));
                }
            }
            rules.push(Rule {
                name: r.name,
                signal,
                columns: r.columns,
                direction,
                threshold,
                window,
                breaches,
                over: r.over,
                severity: r.severity,
                cooldown,
                channels: r.channels,
                description: r.description,
            });
        }
        Ok(AlertConfig {
            name,
            allow,
            delivery: d,
            channels: raw.channels,
            rules,
        })
    }

    /// Checks that every rule on a multivariate signal has its method among `computed` (the
    /// methods the run computes); `how` says how to ask for one (a flag, a config key).
    pub fn check_multivariate(&self, computed: &[Method], how: &str) -> Result<()> {
        for rule in &self.rules {
            if let Some(method) = rule.signal.multivariate() {
                if !computed.contains(&method) {
                    return Err(bad(not_computed(&rule.name, rule.signal, computed, how)));
                }
            }
        }
        Ok(())
    }

    /// The rules that apply to a run of `source`.
    pub fn rules_for(&self, source: Source) -> impl Iterator<Item = &Rule> {
        self.rules
            .iter()
            .filter(move |r| r.signal.source() == source)
    }
}

/// The message of a rule on a multivariate signal whose method the run did not compute.
pub fn not_computed(rule: &str, signal: Signal, computed: &[Method], how: &str) -> String {
    let method = signal.multivariate().map_or("", |m| m.name());
    format!(
        "rule \"{rule}\": field \"metric\": {} needs the {method} multivariate run, and this run computes {} ({how})",
        signal.name(),
        if computed.is_empty() {
            "none".to_string()
        } else {
            computed
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        },
    )
}

/// A precise message for a `multivariate.*` metric that does not parse.
fn multivariate_metric_error(metric: &str) -> Option<String> {
    let parts: Vec<&str> = metric.trim().split('.').collect();
    if parts.first() != Some(&"multivariate") {
        return None;
    }
    Some(match parts.as_slice() {
        [_, method, _] => match Method::parse(method) {
            None => format!(
                "unknown multivariate method \"{method}\" in \"{metric}\"; the methods are pca, domain"
            ),
            Some(m) => format!(
                "\"{metric}\": the {} values are multivariate.{}.{} and multivariate.{}.alert",
                m.name(),
                m.name(),
                multivariate_value_name(m),
                m.name()
            ),
        },
        _ => format!(
            "\"{metric}\": write multivariate.pca.reconstruction_error, multivariate.pca.alert, multivariate.domain.auc or multivariate.domain.alert"
        ),
    })
}

fn check_url_fields(at: &str, url: &Option<String>, url_env: &Option<String>) -> Result<()> {
    match (url, url_env) {
        (Some(_), Some(_)) => Err(bad(format!(
            "{at}: fields \"url\" and \"url_env\": give one, not both"
        ))),
        (None, None) => Err(bad(format!(
            "{at}: field \"url\" (or \"url_env\", the environment variable holding it) is required"
        ))),
        (Some(u), None) => {
            crate::alerts::net::parse_url(u)
                .map_err(|m| bad(format!("{at}: field \"url\": {m}")))?;
            Ok(())
        }
        (None, Some(_)) => Ok(()),
    }
}

fn check_channel(name: &str, ch: &Channel) -> Result<()> {
    let at = format!("channels.{name}");
    match ch {
        Channel::Slack(t) => check_url_fields(&at, &t.url, &t.url_env),
        Channel::Webhook(w) => check_url_fields(&at, &w.url, &w.url_env),
        Channel::Pagerduty(p) => {
            if let Some(u) = &p.url {
                crate::alerts::net::parse_url(u)
                    .map_err(|m| bad(format!("{at}: field \"url\": {m}")))?;
            }
            Ok(())
        }
        Channel::Email(e) => {
            if e.host.trim().is_empty() {
                return Err(bad(format!("{at}: field \"host\" must not be empty")));
            }
            if e.to.is_empty() {
                return Err(bad(format!(
                    "{at}: field \"to\": name at least one recipient"
                )));
            }
            for (field, addr) in
                std::iter::once(("from", &e.from)).chain(e.to.iter().map(|t| ("to", t)))
            {
                addr.parse::<lettre::message::Mailbox>().map_err(|err| {
                    bad(format!(
                        "{at}: field \"{field}\": \"{addr}\" is not an email address ({err})"
                    ))
                })?;
            }
            if e.username.is_some() != e.password_env.is_some() {
                return Err(bad(format!(
                    "{at}: fields \"username\" and \"password_env\": give both (AUTH LOGIN) or neither"
                )));
            }
            Ok(())
        }
    }
}
