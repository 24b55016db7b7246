//! Head sampling: whether a request is traced is decided once, when it
//! arrives, and a request that is not creates no OpenTelemetry span data
//! at all.
//!
//! The SDK's own sampler decides only once a span's data is built, and
//! `tracing-opentelemetry` builds it for every span, sampled or not: at one
//! trace in ten, nine requests in ten paid for spans nobody would see
//! (docs/benchmarks.md, "Tracing"). So the decision moves to the edge: the
//! request's span is created under its module's `::traced` target
//! (`commerce::http::traced`) when the request is sampled (by
//! `OTEL_TRACES_SAMPLER`'s rule, with the caller's `traceparent`), and the
//! tracing layer takes only spans under such a target and their
//! descendants ([`TracedOnly`]). Spans that start elsewhere (a batch, the
//! relay's publish) take such a target when they continue a traced
//! request. A sub-target of the module's, so that `RUST_LOG` directives
//! for the module hold for it too.

use std::sync::OnceLock;

use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Level, Metadata};
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::LookupSpan;

use super::TraceParent;
use crate::config::Sampler;

/// How the target of a span that starts (or continues) a sampled trace
/// ends: `concat!(module_path!(), "::traced")` at the span's site.
const TRACED: &str = "::traced";

/// The configured rule; unset while traces are off.
static SAMPLER: OnceLock<Sampler> = OnceLock::new();

/// Turns head sampling on with `sampler` (once, when traces are on).
pub(super) fn start(sampler: Sampler) {
    let _ = SAMPLER.set(sampler);
}

/// Whether a request with the caller's `parent` context is traced: never
/// while traces are off; else `OTEL_TRACES_SAMPLER`'s rule (the parent's
/// decision for the `parentbased_` ones, when there is a parent).
pub fn sampled(parent: Option<&TraceParent>) -> bool {
    let Some(sampler) = SAMPLER.get() else {
        return false;
    };
    let ratio = |r: f64| fastrand::f64() < r;
    match (*sampler, parent) {
        (Sampler::AlwaysOn, _) => true,
        (Sampler::AlwaysOff, _) => false,
        (Sampler::Ratio(r), _) => ratio(r),
        (
            Sampler::ParentBasedAlwaysOn
            | Sampler::ParentBasedAlwaysOff
            | Sampler::ParentBasedRatio(_),
            Some(parent),
        ) => parent.sampled(),
        (Sampler::ParentBasedAlwaysOn, None) => true,
        (Sampler::ParentBasedAlwaysOff, None) => false,
        (Sampler::ParentBasedRatio(r), None) => ratio(r),
    }
}

/// The tracing layer's filter: a span or event of this server's, at
/// `info` or above, under a `::traced` target or within a span it took.
pub struct TracedOnly;

impl TracedOnly {
    /// Whether a callsite may ever be traced: this server's, at `info` or
    /// above.
    fn may_trace(meta: &Metadata<'_>) -> bool {
        meta.target().starts_with("commerce") && *meta.level() <= Level::INFO
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Filter<S> for TracedOnly {
    /// Decided once per callsite where it can be: every other library's
    /// spans and events, and this server's below `info`, are never traced,
    /// so they cost this filter nothing after their first use.
    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if Self::may_trace(meta) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::INFO)
    }

    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        if meta.target().ends_with(TRACED) {
            return true;
        }
        // A per-layer filter's context sees only the spans it enabled.
        Self::may_trace(meta) && cx.lookup_current().is_some()
    }
}
