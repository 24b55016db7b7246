-- The whole data model. Every rule the database can enforce is a constraint
-- here, so correctness does not depend on the application code alone: CHECKs
-- for non-negative stock and balance and for issued <= total, UNIQUEs for one
-- coupon per user and one payment per order, and foreign keys everywhere.
-- Every foreign key and every column a query filters or sorts on is indexed.

-- Users are created on first sight of a JWT `sub`. `balance` is a cache of
-- the ledger's sum, maintained only by the ledger trigger below.
CREATE TABLE users (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject     TEXT        NOT NULL UNIQUE CHECK (length(subject) BETWEEN 1 AND 255),
    balance     BIGINT      NOT NULL DEFAULT 0 CHECK (balance BETWEEN 0 AND 1000000000000000),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE products (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    price       BIGINT      NOT NULL CHECK (price BETWEEN 0 AND 1000000000000),
    stock       INTEGER     NOT NULL CHECK (stock >= 0),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE coupons (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            TEXT        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    discount_type   TEXT        NOT NULL CHECK (discount_type IN ('FIXED_AMOUNT', 'PERCENTAGE')),
    discount_value  INTEGER     NOT NULL CHECK (discount_value > 0),
    total_quantity  INTEGER     NOT NULL CHECK (total_quantity BETWEEN 1 AND 10000000),
    issued_quantity INTEGER     NOT NULL DEFAULT 0
                    CHECK (issued_quantity >= 0 AND issued_quantity <= total_quantity),
    valid_from      TIMESTAMPTZ NOT NULL DEFAULT now(),
    valid_until     TIMESTAMPTZ CHECK (valid_until IS NULL OR valid_until > valid_from),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (discount_type <> 'PERCENTAGE' OR discount_value <= 100)
);

CREATE TABLE orders (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT      NOT NULL REFERENCES users (id),
    status          TEXT        NOT NULL DEFAULT 'PENDING'
                    CHECK (status IN ('PENDING', 'PAID', 'CANCELLED')),
    total_amount    BIGINT      NOT NULL CHECK (total_amount >= 0),
    discount_amount BIGINT      NOT NULL DEFAULT 0
                    CHECK (discount_amount >= 0 AND discount_amount <= total_amount),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    paid_at         TIMESTAMPTZ,
    cancelled_at    TIMESTAMPTZ,
    CHECK ((status = 'PAID') = (paid_at IS NOT NULL)),
    CHECK ((status = 'CANCELLED') = (cancelled_at IS NOT NULL))
);
-- viewer.orders: newest first, optionally by status.
CREATE INDEX orders_user_id_id_idx ON orders (user_id, id DESC);
CREATE INDEX orders_user_id_status_id_idx ON orders (user_id, status, id DESC);

-- One line per product (duplicates are merged at creation); the price is
-- copied so that later catalog changes never alter an order.
CREATE TABLE order_items (
    order_id    BIGINT  NOT NULL REFERENCES orders (id),
    product_id  BIGINT  NOT NULL REFERENCES products (id),
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    unit_price  BIGINT  NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (order_id, product_id)
);
CREATE INDEX order_items_product_id_idx ON order_items (product_id);

-- At most one payment per order.
CREATE TABLE payments (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    BIGINT      NOT NULL UNIQUE REFERENCES orders (id),
    user_id     BIGINT      NOT NULL REFERENCES users (id),
    amount      BIGINT      NOT NULL CHECK (amount >= 0),
    paid_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX payments_user_id_idx ON payments (user_id);

-- The balance ledger: every charge (+) and every payment (-) is a row.
-- users.balance is kept equal to the sum of a user's rows by the trigger
-- below, and its CHECK turns an overdraft into an error inside the very
-- transaction that attempted it.
CREATE TABLE balance_ledger (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT      NOT NULL REFERENCES users (id),
    kind        TEXT        NOT NULL CHECK (kind IN ('CHARGE', 'PAYMENT')),
    amount      BIGINT      NOT NULL,
    order_id    BIGINT      UNIQUE REFERENCES orders (id),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((kind = 'CHARGE' AND amount > 0 AND order_id IS NULL)
        OR (kind = 'PAYMENT' AND amount <= 0 AND order_id IS NOT NULL))
);
CREATE INDEX balance_ledger_user_id_idx ON balance_ledger (user_id);

CREATE FUNCTION balance_ledger_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET balance = balance + NEW.amount WHERE id = NEW.user_id;
    RETURN NEW;
END;
$$;

CREATE TRIGGER balance_ledger_apply
    AFTER INSERT ON balance_ledger
    FOR EACH ROW EXECUTE FUNCTION balance_ledger_apply();

-- The ledger is append-only: a row once written is history.
CREATE FUNCTION balance_ledger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'balance_ledger is append-only';
END;
$$;

CREATE TRIGGER balance_ledger_append_only
    BEFORE UPDATE OR DELETE ON balance_ledger
    FOR EACH ROW EXECUTE FUNCTION balance_ledger_append_only();

CREATE TABLE cart_items (
    user_id     BIGINT      NOT NULL REFERENCES users (id),
    product_id  BIGINT      NOT NULL REFERENCES products (id),
    quantity    INTEGER     NOT NULL CHECK (quantity > 0),
    added_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, product_id)
);
CREATE INDEX cart_items_product_id_idx ON cart_items (product_id);

-- One row per coupon issued to a user; used_at and order_id are set together
-- when the coupon pays for an order, and an order uses at most one coupon.
CREATE TABLE user_coupons (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT      NOT NULL REFERENCES users (id),
    coupon_id   BIGINT      NOT NULL REFERENCES coupons (id),
    issued_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    used_at     TIMESTAMPTZ,
    order_id    BIGINT      UNIQUE REFERENCES orders (id),
    UNIQUE (user_id, coupon_id),
    CHECK ((used_at IS NULL) = (order_id IS NULL))
);
CREATE INDEX user_coupons_coupon_id_idx ON user_coupons (coupon_id);
CREATE INDEX user_coupons_user_id_id_idx ON user_coupons (user_id, id DESC);

-- Idempotency keys, per user and operation. `fingerprint` is a digest of the
-- request's input, so that a key reused with another input is detected;
-- `result_id` names what the first request produced (an order, a ledger row).
CREATE TABLE idempotency_keys (
    user_id     BIGINT      NOT NULL REFERENCES users (id),
    operation   TEXT        NOT NULL,
    key         TEXT        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    fingerprint TEXT        NOT NULL,
    result_id   BIGINT      NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, operation, key)
);

-- The transactional outbox: written in the payment's own transaction, read
-- by the relay, which publishes each row to NATS JetStream and then stamps
-- published_at. One event of a type per order.
CREATE TABLE outbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     UUID        NOT NULL UNIQUE,
    event_type   TEXT        NOT NULL,
    subject      TEXT        NOT NULL,
    order_id     BIGINT      NOT NULL REFERENCES orders (id),
    payload      JSONB       NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ,
    attempts     INTEGER     NOT NULL DEFAULT 0,
    last_error   TEXT,
    UNIQUE (order_id, event_type)
);
-- The relay's query scans only what is still unpublished.
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;
-- Pruning of published rows goes by age.
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
