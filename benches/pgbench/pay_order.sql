-- The naive payOrder: one SERIALIZABLE transaction per request doing what
-- the use case does (read the order, its line, the stock and the balance;
-- take the stock, charge the balance through the ledger, record the
-- payment, mark the order PAID, clear the cart line, write the outbox row).
-- Each client pays its own run of orders: :base + :client_id * :per + :n
-- (n moves on only after a commit, so a retried transaction pays the same
-- order again).
\set oid :base + :client_id * :per + :n
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT user_id, status, total_amount FROM orders WHERE id = :oid \gset
SELECT product_id, quantity FROM order_items WHERE order_id = :oid \gset
SELECT stock FROM products WHERE id = :product_id \gset
SELECT balance FROM users WHERE id = :user_id \gset
\if :stock >= :quantity AND :balance >= :total_amount
UPDATE products SET stock = stock - :quantity WHERE id = :product_id;
INSERT INTO balance_ledger (user_id, kind, amount, order_id)
     VALUES (:user_id, 'PAYMENT', -:total_amount::BIGINT, :oid);
INSERT INTO payments (order_id, user_id, amount) VALUES (:oid, :user_id, :total_amount);
UPDATE orders SET status = 'PAID', paid_at = now() WHERE id = :oid;
DELETE FROM cart_items WHERE user_id = :user_id AND product_id = :product_id;
INSERT INTO outbox (event_id, event_type, order_id, payload)
     VALUES (gen_random_uuid(), 'com.commerce.order.paid', :oid, '{}');
\endif
COMMIT;
\set n :n + 1
