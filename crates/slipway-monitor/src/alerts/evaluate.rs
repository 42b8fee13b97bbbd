//! Rules against a monitor run: the values of each rule's signal per chunk and subject
//! ([`observe_drift`], [`observe_multivariate`], [`observe_performance`]), the window decision, and the transitions
//! of the persisted [`AlertState`] (fire, still firing in cool-down, reminder, resolve).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::alerts::config::{AlertConfig, Rule, Severity, Signal, WindowOver, not_computed};
use crate::multivariate::MultivariateReport;
use crate::performance::PerformanceReport;
use crate::run::DriftReport;
use crate::{Error, Result};

/// One chunk's value of a signal for one subject (`None`: not computable there, or a
/// small-sample drift chunk, which is never alarmed on).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// The chunk's label.
    pub chunk: String,
    /// The value.
    pub value: Option<f64>,
}

/// A rule's values for one subject (a column, or `all`), in chunk order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// The column, or `all`.
    pub subject: String,
    /// One point per chunk.
    pub points: Vec<Point>,
}

/// The subject of a per-chunk (not per-column) signal.
pub const ALL: &str = "all";

fn unknown_column(rule: &Rule, column: &str, known: &[String]) -> Error {
    Error::BadInput {
        message: format!(
            "rule \"{}\": field \"columns\": column \"{column}\" is not among the compared columns ({})",
            rule.name,
            known.join(", ")
        ),
    }
}

/// How a run is asked for a multivariate method, for error messages.
pub const MULTIVARIATE_HOW: &str =
    "`monitor drift --multivariate <method>`, or `multivariate: [<method>]` in a scheduled monitor";

/// The rule's series in a drift report (a rule on a multivariate signal is an error here:
/// the run computed none; see [`observe_multivariate`]).
pub fn observe_drift(rule: &Rule, report: &DriftReport) -> Result<Vec<Series>> {
    if rule.signal.multivariate().is_some() {
        return observe_multivariate(rule, &[]);
    }
    let compared: Vec<String> = report.columns.iter().map(|(c, _)| c.clone()).collect();
    if !rule.signal.per_column() {
        let points = report
            .chunks
            .iter()
            .map(|c| Point {
                chunk: c.label.clone(),
                value: if c.small_sample {
                    None
                } else {
                    match rule.signal {
                        Signal::DriftShare => Some(if c.features.is_empty() {
                            0.0
                        } else {
                            c.drifted_features as f64 / c.features.len() as f64
                        }),
                        _ => Some(c.drifted_features as f64),
                    }
                },
            })
            .collect();
        return Ok(vec![Series {
            subject: ALL.into(),
            points,
        }]);
    }
    let columns: Vec<String> = if rule.columns.is_empty() {
        compared.clone()
    } else {
        for c in &rule.columns {
            if !compared.contains(c) {
                return Err(unknown_column(rule, c, &compared));
            }
        }
        rule.columns.clone()
    };
    Ok(columns
        .into_iter()
        .map(|column| {
            let points = report
                .chunks
                .iter()
                .map(|c| {
                    let f = c.features.iter().find(|f| f.column == column);
                    let value = f
                        .filter(|f| !f.small_sample)
                        .and_then(|f| match rule.signal {
                            Signal::DriftStat { stat } => {
                                f.stats.iter().find(|s| s.stat == stat)?.value
                            }
                            Signal::DriftPValue { stat } => {
                                f.stats.iter().find(|s| s.stat == stat)?.adjusted_p_value
                            }
                            Signal::DriftFlag => Some(if f.drifted { 1.0 } else { 0.0 }),
                            Signal::DriftMissingRate => Some(f.missing_rate),
                            _ => None,
                        });
                    Point {
                        chunk: c.label.clone(),
                        value: value.filter(|v| v.is_finite()),
                    }
                })
                .collect();
            Series {
                subject: column,
                points,
            }
        })
        .collect())
}

/// The rule's series in the multivariate runs of a drift run (one subject, `all`; one point
/// per current chunk, labelled as the drift run labels it). A small-sample chunk has no
/// value, so it never breaches, as in the univariate rules.
pub fn observe_multivariate(rule: &Rule, reports: &[MultivariateReport]) -> Result<Vec<Series>> {
    let Some(method) = rule.signal.multivariate() else {
        return Err(Error::Internal(format!(
            "rule \"{}\" is not a multivariate rule",
            rule.name
        )));
    };
    let Some(report) = reports.iter().find(|r| r.options.method == method) else {
        let computed: Vec<_> = reports.iter().map(|r| r.options.method).collect();
        return Err(Error::BadInput {
            message: not_computed(&rule.name, rule.signal, &computed, MULTIVARIATE_HOW),
        });
    };
    let points = report
        .chunks
        .iter()
        .map(|c| Point {
            chunk: c.label.clone(),
            value: if c.small_sample {
                None
            } else if rule.signal.is_flag() {
                Some(if c.alert { 1.0 } else { 0.0 })
            } else {
                c.value.filter(|v| v.is_finite())
            },
        })
        .collect();
    Ok(vec![Series {
        subject: ALL.into(),
        points,
    }])
}

/// The rule's series in a performance report (one subject, `all`).
pub fn observe_performance(rule: &Rule, report: &PerformanceReport) -> Result<Vec<Series>> {
    let metric = match rule.signal {
        Signal::Realized { metric }
        | Signal::Estimated { metric }
        | Signal::PerformanceFlag { metric } => metric,
        _ => {
            return Err(Error::Internal(format!(
                "rule \"{}\" is not a performance rule",
                rule.name
            )));
        }
    };
    if !report.options.metrics.contains(&metric) {
        let names: Vec<&str> = report.options.metrics.iter().map(|m| m.name()).collect();
        return Err(Error::BadInput {
            message: format!(
                "rule \"{}\": field \"metric\": {} was not computed by this run (its metrics: {})",
                rule.name,
                rule.signal.name(),
                names.join(", ")
            ),
        });
    }
    if matches!(rule.signal, Signal::Estimated { .. }) && !report.estimated {
        return Err(Error::BadInput {
            message: format!(
                "rule \"{}\": field \"metric\": {} needs an estimate, and this run made none (CBPE needs --probability; DLE needs --features)",
                rule.name,
                rule.signal.name()
            ),
        });
    }
    let points = report
        .chunks
        .iter()
        .map(|c| {
            let m = c.metrics.iter().find(|x| x.metric == metric);
            let value = m.and_then(|m| match rule.signal {
                Signal::Realized { .. } => m.realized,
                Signal::Estimated { .. } => m.estimated,
                _ => Some(if m.alert || m.realized_alert {
                    1.0
                } else {
                    0.0
                }),
            });
            Point {
                chunk: c.label.clone(),
                value: value.filter(|v| v.is_finite()),
            }
        })
        .collect();
    Ok(vec![Series {
        subject: ALL.into(),
        points,
    }])
}

/// A rule's decision for one subject in this run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// The rule.
    pub rule: String,
    /// The column, or `all`.
    pub subject: String,
    /// The stable deduplication key: `<name>/<rule>/<subject>`.
    pub dedup_key: String,
    /// Whether the window breaches.
    pub breaching: bool,
    /// Breaching chunks (or runs) in the window.
    pub breaches: usize,
    /// Chunks (or runs) in the window.
    pub window: usize,
    /// The latest value in the window.
    pub value: Option<f64>,
    /// Its chunk.
    pub chunk: Option<String>,
}

/// The stable key of a rule and subject (PagerDuty's `dedup_key`; at most 255 bytes: a
/// longer one is shortened to its prefix and a SHA-256 digest).
pub fn dedup_key(config_name: &str, rule: &str, subject: &str) -> String {
    let key = format!("{config_name}/{rule}/{subject}");
    if key.len() <= 255 {
        return key;
    }
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(key.as_bytes()));
    let mut cut = 255 - digest.len() - 1;
    while !key.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}#{digest}", &key[..cut])
}

/// Decides a series against the rule (runs windows read and extend `history`).
pub fn decide(
    config_name: &str,
    rule: &Rule,
    series: &Series,
    history: &mut Vec<Option<f64>>,
) -> Verdict {
    let window: Vec<(Option<String>, Option<f64>)> = match rule.over {
        WindowOver::Chunks => {
            let start = series.points.len().saturating_sub(rule.window);
            series.points[start..]
                .iter()
                .map(|p| (Some(p.chunk.clone()), p.value))
                .collect()
        }
        WindowOver::Runs => {
            history.push(series.points.last().and_then(|p| p.value));
            let start = history.len().saturating_sub(rule.window);
            history.drain(..start);
            let last = series.points.last().map(|p| p.chunk.clone());
            let n = history.len();
            history
                .iter()
                .enumerate()
                .map(|(i, v)| (if i + 1 == n { last.clone() } else { None }, *v))
                .collect()
        }
    };
    let breaches = window
        .iter()
        .filter(|(_, v)| v.is_some_and(|v| rule.breached(v)))
        .count();
    let latest = window.iter().rev().find(|(_, v)| v.is_some());
    Verdict {
        rule: rule.name.clone(),
        subject: series.subject.clone(),
        dedup_key: dedup_key(config_name, &rule.name, &series.subject),
        breaching: breaches >= rule.breaches,
        breaches,
        window: window.len(),
        value: latest.and_then(|(_, v)| *v),
        chunk: latest.and_then(|(c, _)| c.clone()),
    }
}

/// One alert's remembered state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AlertEntry {
    /// The rule.
    pub rule: String,
    /// The column, or `all`.
    pub subject: String,
    /// Whether it is firing.
    pub firing: bool,
    /// When it started firing (RFC 3339).
    #[serde(default)]
    pub since: Option<String>,
    /// Its severity when it fired.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// The latest value seen.
    #[serde(default)]
    pub value: Option<f64>,
    /// Per channel: when a trigger was last delivered (RFC 3339). A channel in this map
    /// gets the resolve.
    #[serde(default)]
    pub notified: BTreeMap<String, String>,
    /// Channels whose resolve has not been delivered yet (retried on the next run).
    #[serde(default)]
    pub pending_resolve: Vec<String>,
    /// The latest runs' values (rules with `over: runs`).
    #[serde(default)]
    pub history: Vec<Option<f64>>,
}

/// Firing and resolved alerts between runs, by dedup key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct AlertState {
    /// Format version.
    pub version: u32,
    /// Entries by dedup key.
    pub alerts: BTreeMap<String, AlertEntry>,
}

impl AlertState {
    /// Reads the state file; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<AlertState> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::BadInput {
                message: format!(
                    "{}: not an alert state file ({e}); delete it to start afresh",
                    path.display()
                ),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AlertState {
                version: 1,
                alerts: BTreeMap::new(),
            }),
            Err(source) => Err(Error::Io {
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Writes the state file atomically (a temporary file renamed over it).
    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::Internal(format!("alert state: {e}")))?;
        crate::write_atomic(path, &bytes)
    }
}

/// What happens to an alert in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Newly firing: trigger sent.
    Fired,
    /// Still firing and its cool-down has passed: trigger sent again.
    Reminded,
    /// Still firing, within its cool-down: nothing sent.
    Suppressed,
    /// Was firing, no longer breaches: resolve sent.
    Resolved,
    /// Not breaching, not firing.
    Ok,
}

/// Which rules apply: the evaluated verdicts of a run, with the channels each should hear.
pub fn verdicts_for<'a>(
    config: &'a AlertConfig,
    source: crate::alerts::config::Source,
    observe: &dyn Fn(&Rule) -> Result<Vec<Series>>,
    state: &mut AlertState,
) -> Result<Vec<(&'a Rule, Verdict)>> {
    let mut out = Vec::new();
    for rule in config.rules_for(source) {
        for series in observe(rule)? {
            let key = dedup_key(&config.name, &rule.name, &series.subject);
            let mut history = state
                .alerts
                .get(&key)
                .map(|e| e.history.clone())
                .unwrap_or_default();
            let v = decide(&config.name, rule, &series, &mut history);
            if rule.over == WindowOver::Runs {
                let entry = state.alerts.entry(key).or_insert_with(|| AlertEntry {
                    rule: rule.name.clone(),
                    subject: series.subject.clone(),
                    ..AlertEntry::default()
                });
                entry.history = history;
            }
            out.push((rule, v));
        }
    }
    Ok(out)
}
