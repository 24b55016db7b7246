//! In-process metrics, rendered in the Prometheus text format at `/metrics`.
//!
//! A deliberately small registry (counters, gauges read on demand, and
//! latency histograms) instead of a metrics framework: the server needs a
//! handful of series, and each [`Metrics`] value is owned by one app instance,
//! so tests that run several instances in one process never share counters.

use crate::sync;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The most distinct client-chosen label values an instance keeps.
pub const MAX_CLIENT_LABELS: usize = 256;
/// The longest client-chosen label value.
pub const MAX_CLIENT_LABEL_LEN: usize = 100;

/// The registry of one app instance.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, Labels), u64>>,
    histograms: Mutex<BTreeMap<(&'static str, Labels), Histogram>>,
    client_labels: Mutex<HashSet<String>>,
}

impl Metrics {
    /// A label value that a client chose (an operation name), bounded so
    /// that clients cannot grow the registry: `value` itself while it is at
    /// most [`MAX_CLIENT_LABEL_LEN`] long and among the first
    /// [`MAX_CLIENT_LABELS`] distinct ones, else `other`.
    pub fn client_label(&self, value: &str) -> String {
        if value.len() > MAX_CLIENT_LABEL_LEN {
            return "other".into();
        }
        let mut seen = sync::lock(&self.client_labels);
        if seen.contains(value) {
            return value.to_owned();
        }
        if seen.len() < MAX_CLIENT_LABELS {
            seen.insert(value.to_owned());
            return value.to_owned();
        }
        "other".into()
    }

    /// Adds `by` to the counter `name{labels}`.
    pub fn add(&self, name: &'static str, labels: &[(&'static str, &str)], by: u64) {
        let key = (name, owned(labels));
        let mut counters = sync::lock(&self.counters);
        *counters.entry(key).or_default() += by;
    }

    /// Adds one to the counter `name{labels}`.
    pub fn inc(&self, name: &'static str, labels: &[(&'static str, &str)]) {
        self.add(name, labels, 1);
    }

    /// The current value of a counter (0 if never touched).
    pub fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> u64 {
        let counters = sync::lock(&self.counters);
        counters.get(&(name, owned(labels))).copied().unwrap_or(0)
    }

    /// Records one observation of a duration in the histogram `name{labels}`.
    pub fn observe(&self, name: &'static str, labels: &[(&'static str, &str)], value: Duration) {
        let secs = value.as_secs_f64();
        let mut histograms = sync::lock(&self.histograms);
        let h = histograms.entry((name, owned(labels))).or_default();
        for (bucket, bound) in h.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if secs <= bound {
                *bucket += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Renders every series, plus the `gauges` sampled by the caller, as
    /// Prometheus text.
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        let counters = sync::lock(&self.counters);
        let mut last = "";
        for ((name, labels), value) in counters.iter() {
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} counter");
                last = name;
            }
            let _ = writeln!(out, "{name}{} {value}", render_labels(labels, None));
        }
        drop(counters);
        let histograms = sync::lock(&self.histograms);
        let mut last = "";
        for ((name, labels), h) in histograms.iter() {
            if *name != last {
                let _ = writeln!(out, "# TYPE {name} histogram");
                last = name;
            }
            for (count, bound) in h.buckets.iter().zip(LATENCY_BUCKETS) {
                let le = bound.to_string();
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {count}",
                    render_labels(labels, Some(&le))
                );
            }
            let _ = writeln!(
                out,
                "{name}_bucket{} {}",
                render_labels(labels, Some("+Inf")),
                h.count
            );
            let _ = writeln!(out, "{name}_sum{} {}", render_labels(labels, None), h.sum);
            let _ = writeln!(
                out,
                "{name}_count{} {}",
                render_labels(labels, None),
                h.count
            );
        }
        out
    }
}

fn owned(labels: &[(&'static str, &str)]) -> Labels {
    labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
}

fn render_labels(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_histograms_render_as_prometheus_text() {
        let m = Metrics::default();
        m.inc("tx_retries_total", &[("use_case", "payOrder")]);
        m.inc("tx_retries_total", &[("use_case", "payOrder")]);
        m.observe(
            "request_seconds",
            &[("operation", "q\"x")],
            Duration::from_millis(3),
        );
        assert_eq!(
            m.counter("tx_retries_total", &[("use_case", "payOrder")]),
            2
        );
        assert_eq!(m.counter("tx_retries_total", &[("use_case", "other")]), 0);
        let text = m.render(&[("pool_size", "Connections.", 4.0)]);
        assert!(
            text.contains("tx_retries_total{use_case=\"payOrder\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("request_seconds_bucket{operation=\"q\\\"x\",le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("request_seconds_bucket{operation=\"q\\\"x\",le=\"0.001\"} 0"),
            "{text}"
        );
        assert!(text.contains("pool_size 4"), "{text}");
    }
}
