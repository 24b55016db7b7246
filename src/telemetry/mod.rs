//! Logs and traces, both through `tracing`.
//!
//! Logs are human-readable in development and JSON in production;
//! `RUST_LOG` filters them. Traces are exported over OTLP/HTTP when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`config::Traces`): this crate's
//! spans (the HTTP request, the GraphQL operation, each write transaction
//! with its attempts, the batch a write joined, the relay's publish) become
//! OpenTelemetry spans, continuing the caller's `traceparent`
//! ([`trace_context`]), for the requests sampled at the edge ([`head`]).
//! Traces have their own filter, so `RUST_LOG=warn` quiets the logs
//! without emptying the traces.

mod head;
mod trace_context;

pub use head::sampled;

pub use trace_context::{TraceParent, continue_trace, link_to};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler as SdkSampler, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{AppEnv, Traces};

/// What the process must flush before it exits: the spans still queued
/// for export.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still queued and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(err) = provider.shutdown()
        {
            tracing::warn!(error = %err, "the last spans could not be exported");
        }
    }
}

/// Installs the global subscriber (once; later calls do nothing) and, when
/// an endpoint is configured, the trace exporter.
pub fn init(env: AppEnv, traces: &Traces) -> Telemetry {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let logs = match env {
        AppEnv::Production => tracing_subscriber::fmt::layer().json().boxed(),
        AppEnv::Development => tracing_subscriber::fmt::layer().compact().boxed(),
    }
    .with_filter(filter);
    let provider = traces.endpoint.as_deref().and_then(|endpoint| {
        provider(endpoint, traces)
            .inspect_err(|err| eprintln!("traces are off: the OTLP exporter failed: {err}"))
            .ok()
    });
    let spans = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("commerce"))
            // Off: what the layer would do on every poll of every span
            // (time its busy and idle spells, make its context the
            // thread's current one) and add to every span (its source
            // file and line, thread, target), none of which a trace of
            // this server uses (docs/benchmarks.md, "Tracing").
            .with_tracked_inactivity(false)
            .with_context_activation(false)
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            // The spans of sampled requests, and their events as span
            // events; nothing of the libraries' (sqlx reports every
            // statement).
            .with_filter(head::TracedOnly)
    });
    if provider.is_some() {
        head::start(traces.sampler);
    }
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(spans)
        .try_init();
    if let Some(endpoint) = &traces.endpoint
        && provider.is_some()
    {
        tracing::info!(%endpoint, service = %traces.service_name, sampler = ?traces.sampler, "exporting traces");
    }
    Telemetry { provider }
}

/// The tracer provider: spans batched and exported over OTLP/HTTP by a
/// thread of the SDK's own, never on a request's path.
fn provider(
    endpoint: &str,
    traces: &Traces,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        // The sampling is decided at the head (`head`): what reaches the
        // layer is what was sampled.
        .with_sampler(SdkSampler::AlwaysOn)
        .with_resource(
            Resource::builder()
                .with_service_name(traces.service_name.clone())
                .build(),
        )
        .build())
}
