-- Refunds (refundOrder) and the balance history (User.balanceHistory).
--
-- A refund turns a PAID order REFUNDED: its stock goes back, its payable
-- amount returns to the payer as a REFUND ledger row, its coupon is
-- released, and an order-refunded event goes to the outbox, all in one
-- transaction. The rules the database can hold are held here too:
--
-- - a REFUNDED order was paid (paid_at) and says when it was refunded
--   (refunded_at); a refund reason belongs to a refunded order;
-- - at most one PAYMENT and one REFUND ledger row per order (UNIQUE), and
--   at commit a REFUNDED order has its REFUND row, by its payer, of exactly
--   its payable amount, and a REFUND row has its REFUNDED order (deferred
--   constraint triggers, so that the order and the row may be written in
--   either order inside the transaction);
-- - a REFUNDED order stays REFUNDED.

-- Orders: the REFUNDED status, when, and why.
ALTER TABLE orders
    ADD COLUMN refunded_at   TIMESTAMPTZ,
    ADD COLUMN refund_reason TEXT
        CONSTRAINT orders_refund_reason_length CHECK (length(refund_reason) <= 500);

ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('PENDING', 'PAID', 'CANCELLED', 'REFUNDED'));

-- Was: PAID exactly when paid_at. A refunded order was paid, and keeps it.
ALTER TABLE orders DROP CONSTRAINT orders_check1;
ALTER TABLE orders ADD CONSTRAINT orders_paid_at_when_paid
    CHECK ((status IN ('PAID', 'REFUNDED')) = (paid_at IS NOT NULL));
ALTER TABLE orders ADD CONSTRAINT orders_refunded_at_when_refunded
    CHECK ((status = 'REFUNDED') = (refunded_at IS NOT NULL));
ALTER TABLE orders ADD CONSTRAINT orders_refund_reason_when_refunded
    CHECK (refund_reason IS NULL OR status = 'REFUNDED');

-- A refund is final: nothing moves an order out of REFUNDED (the
-- application's guards are `WHERE status = ...`; this is the database's).
CREATE FUNCTION orders_refund_is_final() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'order % is REFUNDED: its status cannot change', OLD.id
        USING ERRCODE = 'check_violation';
END;
$$;

CREATE TRIGGER orders_refund_is_final
    BEFORE UPDATE OF status ON orders
    FOR EACH ROW WHEN (OLD.status = 'REFUNDED' AND NEW.status <> 'REFUNDED')
    EXECUTE FUNCTION orders_refund_is_final();

-- The ledger: REFUND rows, positive (money back), each naming its order.
-- The trigger that applies rows to users.balance adds the signed amount,
-- so a REFUND raises the balance as a CHARGE does, and the CHECK on
-- users.balance still bounds it.
ALTER TABLE balance_ledger DROP CONSTRAINT balance_ledger_kind_check;
ALTER TABLE balance_ledger ADD CONSTRAINT balance_ledger_kind_check
    CHECK (kind IN ('CHARGE', 'PAYMENT', 'REFUND'));
ALTER TABLE balance_ledger DROP CONSTRAINT balance_ledger_check;
ALTER TABLE balance_ledger ADD CONSTRAINT balance_ledger_amount_by_kind
    CHECK ((kind = 'CHARGE' AND amount > 0 AND order_id IS NULL)
        OR (kind = 'PAYMENT' AND amount <= 0 AND order_id IS NOT NULL)
        OR (kind = 'REFUND' AND amount >= 0 AND order_id IS NOT NULL));
-- Was: one ledger row per order. Now one of each kind: the payment, and
-- at most one refund.
ALTER TABLE balance_ledger DROP CONSTRAINT balance_ledger_order_id_key;
ALTER TABLE balance_ledger ADD CONSTRAINT balance_ledger_order_id_kind_key
    UNIQUE (order_id, kind);

COMMENT ON FUNCTION balance_ledger_apply() IS
    'Adds each ledger row''s signed amount to its user''s balance: CHARGE and REFUND rows are positive, PAYMENT rows negative or zero.';

-- At commit: a REFUNDED order has its REFUND row of exactly its payable
-- amount by its payer, and a REFUND row its REFUNDED order.
CREATE FUNCTION refund_has_its_ledger_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    refunded_order BIGINT;
BEGIN
    -- Each assignment is planned only when it runs, so NEW.order_id is
    -- never looked for in an orders row.
    IF TG_TABLE_NAME = 'orders' THEN
        refunded_order := NEW.id;
    ELSE
        refunded_order := NEW.order_id;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM orders o
        JOIN balance_ledger l ON l.order_id = o.id AND l.kind = 'REFUND'
        WHERE o.id = refunded_order AND o.status = 'REFUNDED'
          AND l.user_id = o.user_id AND l.amount = o.total_amount - o.discount_amount
    ) THEN
        RAISE EXCEPTION 'order % and its REFUND ledger row do not match', refunded_order
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER orders_refund_has_ledger_row
    AFTER UPDATE OF status ON orders
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.status = 'REFUNDED')
    EXECUTE FUNCTION refund_has_its_ledger_row();

CREATE CONSTRAINT TRIGGER balance_ledger_refund_has_order
    AFTER INSERT ON balance_ledger
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.kind = 'REFUND')
    EXECUTE FUNCTION refund_has_its_ledger_row();

-- User.balanceHistory: a user's rows, newest first (keyset on id).
DROP INDEX balance_ledger_user_id_idx;
CREATE INDEX balance_ledger_user_id_id_idx ON balance_ledger (user_id, id DESC);
