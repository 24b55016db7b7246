-- The trace an event belongs to: the W3C traceparent of the request that
-- wrote it (traces on), which the relay publishes as the event's
-- `traceparent` NATS header, so that a consumer continues the trace.
-- NULL when traces are off or the write had no request (the expiry sweep
-- outside a trace).
ALTER TABLE outbox ADD COLUMN traceparent TEXT
    CHECK (traceparent ~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');
