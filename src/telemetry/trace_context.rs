//! W3C trace context: the `traceparent` a caller sends is continued, and
//! the trace of a write goes on into the event it publishes.
//!
//! A request's `traceparent` header becomes the parent of the request's
//! span ([`continue_trace`]), so that its trace goes on from the gateway's
//! or the browser's. A write captures the current span's context as a
//! [`TraceParent`] when it is asked for, because the batch that settles it
//! runs in another task, whose current span is the batch's; the event's
//! outbox row keeps it, and the relay publishes it as the event's
//! `traceparent` NATS header, so that whoever consumes the event continues
//! the trace. With traces off there is no span context to capture, and
//! events carry none.

use std::fmt;

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// A W3C `traceparent`: a trace, the span to continue it from, and
/// whether the trace is sampled. `Copy`, so that a queued write carries it
/// for free.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceParent {
    trace_id: TraceId,
    span_id: SpanId,
    flags: TraceFlags,
}

impl TraceParent {
    /// Parses a `traceparent` value as the W3C recommendation reads it:
    /// `00-<32 hex>-<16 hex>-<2 hex>`, lowercase, ids not all zeros;
    /// a later version may append fields, version `ff` is invalid. Anything
    /// else is `None` (a request with a bad header starts a trace of its own).
    pub fn parse(value: &str) -> Option<Self> {
        let mut fields = value.split('-');
        let (version, trace, span, flags) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        let lower_hex = |s: &str, len: usize| {
            s.len() == len
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let known_version = version == "00" && fields.next().is_none();
        let later_version = lower_hex(version, 2) && version != "00" && version != "ff";
        if !(known_version || later_version)
            || !lower_hex(trace, 32)
            || !lower_hex(span, 16)
            || !lower_hex(flags, 2)
        {
            return None;
        }
        let trace_id = TraceId::from_hex(trace).ok()?;
        let span_id = SpanId::from_hex(span).ok()?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        (trace_id != TraceId::INVALID && span_id != SpanId::INVALID).then_some(Self {
            trace_id,
            span_id,
            flags: TraceFlags::new(flags) & TraceFlags::SAMPLED,
        })
    }

    /// The context of `span` (its trace, itself as the span to continue
    /// from), when traces are on.
    pub fn of(span: &Span) -> Option<Self> {
        let context = span.context();
        let span_context = context.span().span_context().clone();
        span_context.is_valid().then(|| Self {
            trace_id: span_context.trace_id(),
            span_id: span_context.span_id(),
            flags: span_context.trace_flags(),
        })
    }

    /// The context of the current span, when traces are on.
    pub fn current() -> Option<Self> {
        Self::of(&Span::current())
    }

    /// Whether the trace is sampled (its flag).
    pub fn sampled(&self) -> bool {
        self.flags.is_sampled()
    }

    /// The trace id, as log lines and trace viewers show it.
    pub fn trace_id(&self) -> String {
        self.trace_id.to_string()
    }

    /// Makes `span` a child of this context (in its trace).
    pub fn parent_of(&self, span: &Span) {
        let parent = Context::new().with_remote_span_context(self.span_context());
        // Fails only when traces are off or the span already started: then
        // there is nothing to continue.
        let _ = span.set_parent(parent);
    }

    fn span_context(&self) -> SpanContext {
        SpanContext::new(
            self.trace_id,
            self.span_id,
            self.flags,
            true,
            TraceState::default(),
        )
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.span_id,
            self.flags.to_u8()
        )
    }
}

/// Makes a request's `span` continue the caller's trace `parent` (its
/// parsed `traceparent` header), if any; returns the trace id its log
/// lines carry (the caller's, even when the request is not traced).
pub fn continue_trace(span: &Span, parent: Option<TraceParent>) -> Option<String> {
    if let Some(parent) = &parent {
        parent.parent_of(span);
    }
    TraceParent::of(span)
        .or(parent)
        .map(|context| context.trace_id())
}

/// Links `span` (a batch) to `other` (a request that joined it): the batch
/// serves several traces, so it belongs to none of them but points to each.
pub fn link_to(span: &Span, other: TraceParent) {
    span.add_link(other.span_context());
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_reads_back_as_it_came() {
        let parsed = TraceParent::parse(VALID).unwrap();
        assert_eq!(parsed.to_string(), VALID);
        assert_eq!(parsed.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        // Unknown flags are dropped; a later version may carry more fields.
        let later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-what-next";
        assert_eq!(TraceParent::parse(later).unwrap().to_string(), VALID);
    }

    #[test]
    fn anything_else_is_no_traceparent() {
        for bad in [
            "",
            "00",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
            "00-4bf92f3577b34da6a3ce929d0e0e4736\0-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn with_traces_off_a_request_logs_the_callers_trace_id() {
        let span = tracing::info_span!("request");
        assert_eq!(
            continue_trace(&span, TraceParent::parse(VALID)).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert_eq!(continue_trace(&span, TraceParent::parse("garbage")), None);
        assert_eq!(TraceParent::of(&span), None);
    }
}
