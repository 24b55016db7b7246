-- An order's life between create and pay: a payment window and stock holds.
--
-- - `expires_at`: the end of the order's payment window (NULL when the
--   server sets none). A PENDING order past it reads EXPIRED at once
--   (order_status() below, on the database's clock), and the sweep turns
--   it EXPIRED in the table, releasing its hold and writing its event.
-- - `holds_stock`: the order took its units out of free stock when it was
--   created (ORDER_HOLD_STOCK); they sit in products.held_stock until the
--   order is paid (they become the sale), cancelled or expired (they go
--   back to stock).
-- - products.stock is what is free for new orders, products.held_stock
--   what PENDING orders hold; `commerce audit` checks that held_stock is
--   exactly the units of the PENDING orders that hold stock.

ALTER TABLE orders
    ADD COLUMN expires_at  TIMESTAMPTZ,
    ADD COLUMN holds_stock BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN expired_at  TIMESTAMPTZ;

ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('PENDING', 'PAID', 'CANCELLED', 'REFUNDED', 'EXPIRED'));
ALTER TABLE orders ADD CONSTRAINT orders_expired_at_when_expired
    CHECK ((status = 'EXPIRED') = (expired_at IS NOT NULL));
-- Only an order with a window can expire, and not before its window ends.
ALTER TABLE orders ADD CONSTRAINT orders_expired_after_its_window
    CHECK (status <> 'EXPIRED' OR expired_at >= expires_at);
ALTER TABLE orders ADD CONSTRAINT orders_window_after_creation
    CHECK (expires_at IS NULL OR expires_at > created_at);

ALTER TABLE products ADD COLUMN held_stock INTEGER NOT NULL DEFAULT 0
    CONSTRAINT products_held_stock_check CHECK (held_stock >= 0);

-- The status an order reads as: its stored status, except that a PENDING
-- order whose window has closed reads EXPIRED before the sweep stores it.
-- A plain SQL function, so the planner inlines it into each statement;
-- now() is the statement's transaction's start, the database's clock.
CREATE FUNCTION order_status(status TEXT, expires_at TIMESTAMPTZ) RETURNS TEXT
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN status = 'PENDING' AND expires_at <= now() THEN 'EXPIRED' ELSE status END
$$;

-- The stored statuses an order reading as `wanted` may have: a list of
-- orders by status filters on these (through the status indexes), then on
-- order_status().
CREATE FUNCTION order_stored_statuses(wanted TEXT) RETURNS TEXT[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN wanted = 'EXPIRED' THEN ARRAY['PENDING', 'EXPIRED'] ELSE ARRAY[wanted] END
$$;

-- The sweep's work list: PENDING orders by the end of their window.
CREATE INDEX orders_pending_expires_at_idx ON orders (expires_at)
    WHERE status = 'PENDING' AND expires_at IS NOT NULL;

-- An expiry is final, as a refund is: nothing moves an order out of EXPIRED.
CREATE FUNCTION orders_expiry_is_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'order % is EXPIRED: its status cannot change', OLD.id
        USING ERRCODE = 'check_violation';
END;
$$;

CREATE TRIGGER orders_expiry_is_final
    BEFORE UPDATE OF status ON orders
    FOR EACH ROW WHEN (OLD.status = 'EXPIRED' AND NEW.status <> 'EXPIRED')
    EXECUTE FUNCTION orders_expiry_is_final();
