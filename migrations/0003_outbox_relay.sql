-- The outbox relay.
--
-- 1. A payment's commit wakes the relays at once: every insert into the
--    outbox notifies channel `outbox` (delivered when the transaction
--    commits, and not at all when it rolls back). The relays also poll, so a
--    lost notification only delays an event.
CREATE FUNCTION outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_notify
AFTER INSERT ON outbox
FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- 2. Retention: a published event keeps its payload for a retention period
--    (OUTBOX_RETENTION_HOURS); then the payload is dropped and the slim row
--    stays as the record that the event exists and was published, so that
--    UNIQUE (order_id, event_type) and the audit keep holding. An event is
--    never dropped before it is published.
ALTER TABLE outbox ALTER COLUMN payload DROP NOT NULL;
ALTER TABLE outbox ADD CONSTRAINT outbox_payload_kept_until_published
    CHECK (payload IS NOT NULL OR published_at IS NOT NULL);
ALTER TABLE outbox ADD CONSTRAINT outbox_attempts_non_negative CHECK (attempts >= 0);

-- Compaction looks only at published rows that still hold a payload.
DROP INDEX outbox_published_at_idx;
CREATE INDEX outbox_compactable_idx ON outbox (published_at)
    WHERE published_at IS NOT NULL AND payload IS NOT NULL;

COMMENT ON COLUMN outbox.payload IS
    'The whole CloudEvents 1.0 JSON message, exactly as the relay publishes it; NULL once published and past retention.';
