-- The naive refundOrder: one SERIALIZABLE transaction per request doing what
-- the use case does (read the order and its line; give the stock back,
-- release the coupon, mark the order REFUNDED, return the payable amount
-- through the ledger, write the outbox row). Each client refunds its own
-- run of orders: :base + :client_id * :per + :n (n moves on only after a
-- commit, so a retried transaction refunds the same order again).
\set oid :base + :client_id * :per + :n
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT user_id, (status = 'PAID')::INT AS paid, total_amount - discount_amount AS payable
  FROM orders WHERE id = :oid \gset
SELECT product_id, quantity FROM order_items WHERE order_id = :oid \gset
\if :paid
UPDATE products SET stock = stock + :quantity WHERE id = :product_id;
UPDATE user_coupons SET used_at = NULL, order_id = NULL WHERE order_id = :oid;
UPDATE orders SET status = 'REFUNDED', refunded_at = now() WHERE id = :oid;
INSERT INTO balance_ledger (user_id, kind, amount, order_id)
     VALUES (:user_id, 'REFUND', :payable::BIGINT, :oid);
INSERT INTO outbox (event_id, event_type, order_id, payload)
     VALUES (gen_random_uuid(), 'com.commerce.order.refunded', :oid, '{}');
\endif
COMMIT;
\set n :n + 1
