//! Request, error and latency counters of the inference routes, written as Prometheus text
//! (exposition format 0.0.4).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The counters of one (model, version, protocol).
#[derive(Default)]
struct Series {
    requests: AtomicU64,
    client_errors: AtomicU64,
    server_errors: AtomicU64,
    rows: AtomicU64,
    /// Cumulative counts per bucket are computed when written; these are per bucket.
    buckets: [AtomicU64; BUCKETS.len()],
    /// Total latency in nanoseconds.
    sum_ns: AtomicU64,
}

type Key = (String, String, &'static str);

/// Every series, created on first use.
#[derive(Default)]
pub(crate) struct Metrics {
    series: RwLock<HashMap<Key, Arc<Series>>>,
    /// Requests a deployment routed (any strategy), and the time spent choosing their arm
    /// and counting them for the deployment's analysis, in nanoseconds.
    routed: AtomicU64,
    routing_ns: AtomicU64,
}

impl Metrics {
    fn series(&self, model: &str, version: &str, protocol: &'static str) -> Arc<Series> {
        let key: Key = (model.to_string(), version.to_string(), protocol);
        if let Some(s) = self
            .series
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return s.clone();
        }
        self.series
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone()
    }

    /// Records one request: its status, the rows it scored and how long it took.
    pub fn record(
        &self,
        model: &str,
        version: &str,
        protocol: &'static str,
        status: u16,
        rows: usize,
        seconds: f64,
    ) {
        let s = self.series(model, version, protocol);
        s.requests.fetch_add(1, Ordering::Relaxed);
        if (400..500).contains(&status) {
            s.client_errors.fetch_add(1, Ordering::Relaxed);
        } else if status >= 500 {
            s.server_errors.fetch_add(1, Ordering::Relaxed);
        }
        s.rows.fetch_add(rows as u64, Ordering::Relaxed);
        let b = BUCKETS
            .iter()
            .position(|&ub| seconds <= ub)
            .unwrap_or(BUCKETS.len() - 1);
        if seconds <= BUCKETS[BUCKETS.len() - 1] {
            s.buckets[b].fetch_add(1, Ordering::Relaxed);
        }
        s.sum_ns
            .fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
    }

    /// Records the routing work of one request a deployment routed.
    pub fn record_routing(&self, ns: u64) {
        self.routed.fetch_add(1, Ordering::Relaxed);
        self.routing_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// The Prometheus text of every series, plus the gauges in `extra` (name, help, type,
    /// value).
    pub fn render(&self, extra: &[(&str, &str, &str, f64)]) -> String {
        let mut out = String::new();
        let series = self.series.read().unwrap_or_else(|e| e.into_inner());
        let mut keys: Vec<&Key> = series.keys().collect();
        keys.sort();
        let label = |k: &Key| {
            format!(
                "model=\"{}\",version=\"{}\",protocol=\"{}\"",
                escape(&k.0),
                escape(&k.1),
                k.2
            )
        };
        let counter = |out: &mut String, name: &str, help: &str, get: &dyn Fn(&Series) -> u64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            for k in &keys {
                let _ = writeln!(out, "{name}{{{}}} {}", label(k), get(&series[*k]));
            }
        };
        counter(
            &mut out,
            "slipway_requests_total",
            "Inference requests answered.",
            &|s| s.requests.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "slipway_request_client_errors_total",
            "Inference requests answered with a 4xx status.",
            &|s| s.client_errors.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "slipway_request_server_errors_total",
            "Inference requests answered with a 5xx status.",
            &|s| s.server_errors.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "slipway_predicted_rows_total",
            "Rows scored.",
            &|s| s.rows.load(Ordering::Relaxed),
        );
        let name = "slipway_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from a request's body being read to its answer."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        for k in &keys {
            let s = &series[*k];
            let mut cumulative = 0;
            for (i, ub) in BUCKETS.iter().enumerate() {
                cumulative += s.buckets[i].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "{name}_bucket{{{},le=\"{ub}\"}} {cumulative}",
                    label(k)
                );
            }
            let count = s.requests.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{},le=\"+Inf\"}} {count}", label(k));
            let _ = writeln!(
                out,
                "{name}_sum{{{}}} {}",
                label(k),
                s.sum_ns.load(Ordering::Relaxed) as f64 / 1e9
            );
            let _ = writeln!(out, "{name}_count{{{}}} {count}", label(k));
        }
        let routed = self.routed.load(Ordering::Relaxed);
        let routing = self.routing_ns.load(Ordering::Relaxed) as f64 / 1e9;
        for (name, help, value) in [
            (
                "slipway_routed_requests_total",
                "Inference requests a deployment routed (chose the arm of).",
                routed as f64,
            ),
            (
                "slipway_routing_seconds_total",
                "Time spent choosing routed requests' arms and counting them for the deployment.",
                routing,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {value}");
        }
        for (name, help, kind, value) in extra {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::default();
        m.record("m", "1", "plain", 200, 1, 0.0003);
        m.record("m", "1", "plain", 422, 0, 0.002);
        m.record("m", "1", "plain", 200, 5, 60.0);
        let text = m.render(&[("slipway_x", "X.", "gauge", 2.0)]);
        assert!(
            text.contains("slipway_requests_total{model=\"m\",version=\"1\",protocol=\"plain\"} 3")
        );
        assert!(text.contains(
            "slipway_request_duration_seconds_bucket{model=\"m\",version=\"1\",protocol=\"plain\",le=\"0.0005\"} 1"
        ));
        assert!(text.contains(
            "slipway_request_duration_seconds_bucket{model=\"m\",version=\"1\",protocol=\"plain\",le=\"5\"} 2"
        ));
        assert!(text.contains(
            "slipway_request_duration_seconds_bucket{model=\"m\",version=\"1\",protocol=\"plain\",le=\"+Inf\"} 3"
        ));
        assert!(text.contains(
            "slipway_request_client_errors_total{model=\"m\",version=\"1\",protocol=\"plain\"} 1"
        ));
        assert!(text.contains("slipway_x 2"));
        assert!(text.contains("slipway_routed_requests_total 0\n"));
    }

    #[test]
    fn routing_time_is_summed_over_routed_requests() {
        let m = Metrics::default();
        m.record_routing(1_500);
        m.record_routing(500);
        let text = m.render(&[]);
        assert!(text.contains("slipway_routed_requests_total 2\n"), "{text}");
        assert!(
            text.contains("slipway_routing_seconds_total 0.000002\n"),
            "{text}"
        );
    }
}
