//! In-process metrics, rendered in the Prometheus text format at `/metrics`.
//!
//! Each app instance owns one [`Metrics`]: a `prometheus_client` registry
//! and typed handles to its metric families, all created at startup, so
//! tests that run several instances in one process never share counters.
//! Label values fixed in the code are borrowed `&'static str`s or enums,
//! and a client-chosen operation label is interned
//! ([`Metrics::client_label`]): counting into an existing series allocates
//! nothing. The gauges measured at each scrape are not kept here:
//! `/metrics` measures them and hands them to [`Metrics::render`].

use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::sync::{Arc, RwLock};

use prometheus_client::encoding::{
    EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder, MetricEncoder,
    prometheus_text,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::sync;

/// Upper bounds (seconds) of the latency histogram buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The most distinct client-chosen label values an instance keeps.
pub const MAX_CLIENT_LABELS: usize = 256;
/// The longest client-chosen label value.
pub const MAX_CLIENT_LABEL_LEN: usize = 100;

/// Declares [`Metrics`]: one public field per metric family, created by
/// `Default` or by its expression, and registered under the field's name
/// (prometheus-client adds `_total` to a counter's) with the field's doc
/// comment as the HELP text.
macro_rules! metrics {
    ($($(#[doc = $doc:literal])+ $field:ident: $ty:ty $(= $new:expr)?;)+) => {
        /// The registry of one app instance.
        pub struct Metrics {
            registry: Registry,
            client_labels: RwLock<HashSet<Arc<str>>>,
            other: Arc<str>,
            $($(#[doc = $doc])+ pub $field: $ty,)+
        }

        impl Default for Metrics {
            fn default() -> Self {
                let mut registry = Registry::default();
                $(
                    let $field: $ty = metrics!(@new $($new)?);
                    // The registry ends the HELP text with its own period.
                    let help = concat!($($doc),+).trim().trim_end_matches('.');
                    registry.register(stringify!($field), help, $field.clone());
                )+
                Self {
                    registry,
                    client_labels: RwLock::default(),
                    other: Arc::from("other"),
                    $($field,)+
                }
            }
        }
    };
    (@new) => { Default::default() };
    (@new $new:expr) => { $new };
}

metrics! {
    /// Serialization or deadlock retries.
    tx_retries: Family<UseCase, Counter>;
    /// Transactions that ran out of attempts; each means a client got
    /// SERVICE_UNAVAILABLE.
    tx_giveups: Family<UseCase, Counter>;
    /// Batches that failed as a whole and were re-settled one request at a
    /// time.
    tx_batch_splits: Family<UseCase, Counter>;
    /// Events acknowledged by JetStream.
    outbox_published: LazyCounter;
    /// Publishes that JetStream dropped as duplicates (a relay died after
    /// publishing).
    outbox_duplicates: LazyCounter;
    /// Failed relay rounds (NATS unreachable, no ack, database error).
    outbox_publish_failures: LazyCounter;
    /// GraphQL operations executed.
    graphql_requests: Family<OperationOutcome, Counter>;
    /// Time spent in the GraphQL engine (parse, validate, execute).
    graphql_request_duration_seconds: Family<Operation, Histogram, fn() -> Histogram> =
        Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS));
    /// Connections closed as soon as they were accepted because the
    /// instance already held HTTP_MAX_CONNECTIONS.
    http_connections_refused: LazyCounter;
    /// Query operations that read from the database, by where they read
    /// (`replica` while a read replica is configured and usable, else
    /// `primary`).
    db_query_reads: Family<QueryReads, Counter>;
    /// Open GraphQL WebSockets.
    ws_connections: Gauge;
    /// Operations running on GraphQL WebSockets (subscriptions, mostly).
    ws_subscriptions: Gauge;
}

impl Metrics {
    /// A label value that a client chose (an operation name), bounded so
    /// that clients cannot grow the registry: `value` itself while it is at
    /// most [`MAX_CLIENT_LABEL_LEN`] long and among the first
    /// [`MAX_CLIENT_LABELS`] distinct ones, else `other`. A value seen
    /// before comes back shared, not copied.
    pub fn client_label(&self, value: &str) -> Arc<str> {
        if value.len() > MAX_CLIENT_LABEL_LEN {
            return self.other.clone();
        }
        if let Some(known) = sync::read(&self.client_labels).get(value) {
            return known.clone();
        }
        let mut seen = sync::write(&self.client_labels);
        if let Some(known) = seen.get(value) {
            return known.clone();
        }
        if seen.len() < MAX_CLIENT_LABELS {
            let label: Arc<str> = Arc::from(value);
            seen.insert(label.clone());
            return label;
        }
        self.other.clone()
    }

    /// Renders `sampled` (gauges measured for this scrape), then every
    /// series of this instance, as Prometheus text.
    pub fn render(&self, sampled: &Registry) -> Result<String, fmt::Error> {
        let mut text = String::new();
        prometheus_text::encode(&mut text, sampled)?;
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// The value `/metrics` shows for the counter series `name{labels}`
    /// (its full name, with `_total`), 0 while the series is absent. For
    /// tests.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        let series = if labels.is_empty() {
            format!("{name} ")
        } else {
            format!("{name}{{{}}} ", labels.join(","))
        };
        let mut text = String::new();
        let _ = prometheus_text::encode(&mut text, &self.registry);
        text.lines()
            .find_map(|line| line.strip_prefix(&series)?.parse().ok())
            .unwrap_or(0)
    }
}

/// The label of the transaction series: the use case (a name fixed in the
/// code, listed in docs/operations.md) whose transaction it was.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UseCase {
    pub use_case: &'static str,
}

/// The label of the latency series: the operation, bounded by
/// [`Metrics::client_label`].
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Operation {
    pub operation: Arc<str>,
}

/// The labels of the request counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationOutcome {
    pub operation: Arc<str>,
    pub outcome: Outcome,
}

/// The label of the query read counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueryReads {
    pub target: Target,
}

/// Which database a query's reads went to.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Target {
    /// The primary (`DATABASE_URL`).
    Primary,
    /// The read replica (`DATABASE_READ_URL`).
    Replica,
}

impl EncodeLabelValue for Target {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> fmt::Result {
        encoder.write_str(match self {
            Self::Primary => "primary",
            Self::Replica => "replica",
        })
    }
}

/// How a GraphQL operation ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Outcome {
    /// Answered without top-level errors (`userErrors` do not count).
    Ok,
    /// Answered with top-level errors.
    Error,
    /// Abandoned mid-way: the request timeout, or a client gone.
    Cancelled,
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> fmt::Result {
        encoder.write_str(match self {
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Cancelled => "cancelled",
        })
    }
}

/// A counter without labels that, like the series of a family, is absent
/// from `/metrics` until its first increment (docs/operations.md tells
/// alert writers so).
#[derive(Clone, Debug, Default)]
pub struct LazyCounter(Counter);

impl LazyCounter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.inc();
    }

    /// Adds `by`.
    pub fn inc_by(&self, by: u64) {
        self.0.inc_by(by);
    }
}

impl EncodeMetric for LazyCounter {
    fn encode(&self, encoder: MetricEncoder) -> fmt::Result {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Counter
    }

    fn is_empty(&self) -> bool {
        self.0.get() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::metrics::gauge::ConstGauge;

    #[test]
    fn counters_and_histograms_render_as_prometheus_text() {
        let m = Metrics::default();
        let pay = UseCase {
            use_case: "payOrder",
        };
        m.tx_retries.get_or_create(&pay).inc();
        m.tx_retries.get_or_create(&pay).inc();
        let operation = m.client_label("q\"x");
        m.graphql_request_duration_seconds
            .get_or_create(&Operation { operation })
            .observe(0.003);
        assert_eq!(
            m.counter("tx_retries_total", &[("use_case", "payOrder")]),
            2
        );
        assert_eq!(m.counter("tx_retries_total", &[("use_case", "other")]), 0);
        let mut sampled = Registry::default();
        sampled.register("pool_size", "Connections", ConstGauge::new(4));
        let text = m.render(&sampled).unwrap();
        assert!(
            text.contains("tx_retries_total{use_case=\"payOrder\"} 2"),
            "{text}"
        );
        assert!(
            text.contains(
                "graphql_request_duration_seconds_bucket{operation=\"q\\\"x\",le=\"0.005\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "graphql_request_duration_seconds_bucket{operation=\"q\\\"x\",le=\"0.001\"} 0"
            ),
            "{text}"
        );
        assert!(text.contains("pool_size 4"), "{text}");
        assert!(!text.contains("outbox_published"), "absent until counted");
        m.outbox_published.inc_by(3);
        assert_eq!(m.counter("outbox_published_total", &[]), 3);
    }
}
