-- The naive payOrder of an order that holds its units: as pay_order.sql,
-- but the units come out of the product's held stock (the order's window
-- still open), not its free stock.
\set oid :base + :client_id * :per + :n
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT user_id, status, total_amount, (expires_at > now()) AS open FROM orders WHERE id = :oid \gset
SELECT product_id, quantity FROM order_items WHERE order_id = :oid \gset
SELECT held_stock FROM products WHERE id = :product_id \gset
SELECT balance FROM users WHERE id = :user_id \gset
\if :open AND :held_stock >= :quantity AND :balance >= :total_amount
UPDATE products SET held_stock = held_stock - :quantity WHERE id = :product_id;
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
