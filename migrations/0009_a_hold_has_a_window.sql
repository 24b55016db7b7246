-- An order that holds stock keeps units from sale until it is paid,
-- cancelled or expired: it must have a window to expire at, or its units
-- would never come back (the configuration refuses ORDER_HOLD_STOCK without
-- a window; this is the database's own check of the same rule).
ALTER TABLE orders ADD CONSTRAINT orders_hold_has_a_window
    CHECK (NOT holds_stock OR expires_at IS NOT NULL);
