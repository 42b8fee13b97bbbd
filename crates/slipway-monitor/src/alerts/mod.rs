//! Alerts: rules over the results of a monitor run, routed to Slack, PagerDuty, a signed
//! webhook or email.
//!
//! - [`config::AlertConfig`] is the rules file (YAML), checked once: every error names the
//!   rule (or channel) and the field.
//! - Each run, [`evaluate::observe_drift`] / [`evaluate::observe_multivariate`] /
//!   [`evaluate::observe_performance`] read the rule's values per chunk and subject (a
//!   column, or `all`) out of the report, and [`evaluate::decide`] looks at the latest
//!   `window` chunks (or runs).
//! - [`process`] moves the persisted [`evaluate::AlertState`] (by stable dedup key,
//!   `<name>/<rule>/<subject>`): a new breach triggers every channel of the rule; a
//!   still-firing alert is sent again to a channel only after its cool-down; a cleared one
//!   sends `resolve` to the channels that heard the trigger. A delivery that failed is
//!   retried on the next run.
//! - [`deliver::deliver`] sends one event through one [`deliver::AlertSink`] with retries,
//!   back-off and a deadline, recording every attempt in the JSON-lines delivery log;
//!   [`net`] decides which hosts may be reached.

pub mod config;
pub mod deliver;
pub mod evaluate;
pub mod net;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Result;
use crate::alerts::config::{AlertConfig, Direction, Rule, Severity, Source, WindowOver};
use crate::alerts::deliver::{AlertEvent, AlertSink, Delivery, DeliveryLog, EventAction};
use crate::alerts::evaluate::{Action, AlertEntry, AlertState, Verdict};
use crate::multivariate::MultivariateReport;
use crate::performance::PerformanceReport;
use crate::run::DriftReport;

/// The monitor run the rules look at.
#[derive(Clone, Copy)]
pub enum MonitorReport<'a> {
    /// A drift run.
    Drift(&'a DriftReport),
    /// A drift run with its multivariate runs (`monitor drift --multivariate`, a scheduled
    /// monitor's `multivariate:`); the drift rules and the multivariate rules see one run.
    DriftWith {
        /// The per-column drift.
        drift: &'a DriftReport,
        /// One report per multivariate method computed.
        multivariate: &'a [MultivariateReport],
    },
    /// A performance run.
    Performance(&'a PerformanceReport),
}

/// One rule and subject after this run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertResult {
    /// The decision on the window.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The metric.
    pub metric: String,
    /// How bad.
    pub severity: Severity,
    /// Above or below.
    pub direction: Direction,
    /// The threshold.
    pub threshold: f64,
    /// What happened.
    pub action: Action,
    /// While suppressed: when the first channel may hear it again (RFC 3339).
    pub cooldown_until: Option<String>,
}

/// What the alert rules did in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRun {
    /// One entry per rule and subject.
    pub results: Vec<AlertResult>,
    /// Every delivery (all attempts of one event to one channel).
    pub deliveries: Vec<Delivery>,
    /// Alerts firing after this run.
    pub firing: usize,
    /// Deliveries that failed after their retries.
    pub failed_deliveries: usize,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn summary(rule: &Rule, v: &Verdict, action: EventAction) -> String {
    let what = if v.subject == evaluate::ALL {
        rule.signal.name()
    } else {
        format!("{} of {}", rule.signal.name(), v.subject)
    };
    let value = v.value.map_or("not computable".to_string(), |x| {
        format!("{}", (x * 1e4).round() / 1e4)
    });
    let side = match rule.direction {
        Direction::Above => "above",
        Direction::Below => "below",
    };
    let unit = match rule.over {
        WindowOver::Chunks => "chunks",
        WindowOver::Runs => "runs",
    };
    match action {
        EventAction::Trigger => format!(
            "{what} is {value} ({side} {}) in {} of the latest {} {unit}",
            rule.threshold, v.breaches, v.window
        ),
        EventAction::Resolve => format!(
            "{what} is {value}: {} of the latest {} {unit} {side} {}, resolved",
            v.breaches, v.window, rule.threshold
        ),
    }
}

/// Evaluates the rules that apply to `report`, moves `state`, sends what is due through
/// `sink_for(channel name)`, and records every attempt in `log`. `state` is the caller's
/// to save (after this returns, even when deliveries failed: their failure is in it).
pub fn process<'c>(
    config: &'c AlertConfig,
    report: MonitorReport<'_>,
    state: &mut AlertState,
    now: DateTime<Utc>,
    log: &mut DeliveryLog,
    sink_for: &dyn Fn(&str) -> Box<dyn AlertSink + 'c>,
    sleep: &dyn Fn(Duration),
) -> Result<AlertRun> {
    let (source, data) = match report {
        MonitorReport::Drift(r) | MonitorReport::DriftWith { drift: r, .. } => {
            (Source::Drift, r.current.clone())
        }
        MonitorReport::Performance(r) => (Source::Performance, r.analysis.clone()),
    };
    let observe = |rule: &Rule| match report {
        MonitorReport::Drift(r) => evaluate::observe_drift(rule, r),
        MonitorReport::DriftWith {
            drift,
            multivariate,
        } => {
            if rule.signal.multivariate().is_some() {
                evaluate::observe_multivariate(rule, multivariate)
            } else {
                evaluate::observe_drift(rule, drift)
            }
        }
        MonitorReport::Performance(r) => evaluate::observe_performance(rule, r),
    };
    state.version = 1;
    let verdicts = evaluate::verdicts_for(config, source, &observe, state)?;
    let mut results = Vec::new();
    let mut deliveries = Vec::new();
    for (rule, v) in verdicts {
        let entry = state
            .alerts
            .entry(v.dedup_key.clone())
            .or_insert_with(|| AlertEntry {
                rule: rule.name.clone(),
                subject: v.subject.clone(),
                ..AlertEntry::default()
            });
        entry.value = v.value;
        let event = |action| AlertEvent {
            action,
            dedup_key: v.dedup_key.clone(),
            monitor: config.name.clone(),
            rule: rule.name.clone(),
            subject: v.subject.clone(),
            metric: rule.signal.name(),
            severity: rule.severity,
            value: v.value,
            direction: rule.direction,
            threshold: rule.threshold,
            breaches: v.breaches,
            window: v.window,
            chunk: v.chunk.clone(),
            data: data.clone(),
            description: rule.description.clone(),
            summary: summary(rule, &v, action),
            time: rfc3339(now),
        };
        let cooldown = chrono::Duration::from_std(rule.cooldown).unwrap_or(chrono::Duration::MAX);
        let mut cooldown_until = None;
        let action = if v.breaching {
            let first = !entry.firing;
            if first {
                entry.firing = true;
                entry.since = Some(rfc3339(now));
                entry.pending_resolve.clear();
            }
            entry.severity = Some(rule.severity);
            let due: Vec<&String> = rule
                .channels
                .iter()
                .filter(|c| {
                    entry.notified.get(*c).is_none_or(|t| {
                        DateTime::parse_from_rfc3339(t)
                            .map(|t| now.signed_duration_since(t) >= cooldown)
                            .unwrap_or(true)
                    })
                })
                .collect();
            if due.is_empty() {
                cooldown_until = entry
                    .notified
                    .values()
                    .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
                    .min()
                    .and_then(|t| t.with_timezone(&Utc).checked_add_signed(cooldown))
                    .map(rfc3339);
                Action::Suppressed
            } else {
                let e = event(EventAction::Trigger);
                for c in due {
                    let d = deliver::deliver(&*sink_for(c), c, &e, &config.delivery, log, sleep)?;
                    if d.delivered {
                        entry.notified.insert(c.clone(), rfc3339(now));
                    }
                    deliveries.push(d);
                }
                if first {
                    Action::Fired
                } else {
                    Action::Reminded
                }
            }
        } else {
            let was_firing = entry.firing;
            if was_firing {
                entry.firing = false;
                entry.since = None;
                let heard: Vec<String> = std::mem::take(&mut entry.notified).into_keys().collect();
                for c in heard {
                    if !entry.pending_resolve.contains(&c) {
                        entry.pending_resolve.push(c);
                    }
                }
            }
            // Channels removed from the rules file cannot be told.
            entry
                .pending_resolve
                .retain(|c| config.channels.contains_key(c));
            if entry.pending_resolve.is_empty() {
                if was_firing {
                    Action::Resolved
                } else {
                    Action::Ok
                }
            } else {
                let e = event(EventAction::Resolve);
                let mut still = Vec::new();
                for c in std::mem::take(&mut entry.pending_resolve) {
                    let d = deliver::deliver(&*sink_for(&c), &c, &e, &config.delivery, log, sleep)?;
                    if !d.delivered {
                        still.push(c);
                    }
                    deliveries.push(d);
                }
                entry.pending_resolve = still;
                Action::Resolved
            }
        };
        let keep = entry.firing || !entry.pending_resolve.is_empty() || !entry.history.is_empty();
        if !keep {
            state.alerts.remove(&v.dedup_key);
        }
        results.push(AlertResult {
            metric: rule.signal.name(),
            severity: rule.severity,
            direction: rule.direction,
            threshold: rule.threshold,
            verdict: v,
            action,
            cooldown_until,
        });
    }
    let firing = state.alerts.values().filter(|e| e.firing).count();
    let failed_deliveries = deliveries.iter().filter(|d| !d.delivered).count();
    Ok(AlertRun {
        results,
        deliveries,
        firing,
        failed_deliveries,
    })
}

/// [`process`] with the rules file's own channels (secrets read through `secrets`, by
/// environment variable name) and real sleeps.
pub fn process_with_channels(
    config: &AlertConfig,
    report: MonitorReport<'_>,
    state: &mut AlertState,
    now: DateTime<Utc>,
    log: &mut DeliveryLog,
    secrets: deliver::Secrets<'_>,
) -> Result<AlertRun> {
    let sink_for = |name: &str| -> Box<dyn AlertSink + '_> {
        Box::new(deliver::ChannelSink::new(
            &config.channels[name],
            config,
            secrets,
        ))
    };
    process(
        config,
        report,
        state,
        now,
        log,
        &sink_for,
        &std::thread::sleep,
    )
}
