-- The NATS subject an event goes to is configuration (NATS_SUBJECT), read by
-- the relay when it publishes, not a fact stored with each event: a changed
-- subject then applies to the backlog as well, instead of stranding rows on
-- a subject that no stream listens to any more.
ALTER TABLE outbox DROP COLUMN subject;

COMMENT ON COLUMN outbox.event_id IS
    'The CloudEvents id, also sent as Nats-Msg-Id so that JetStream drops a republished duplicate.';
COMMENT ON COLUMN outbox.payload IS
    'The whole CloudEvents 1.0 JSON message, exactly as the relay publishes it.';
