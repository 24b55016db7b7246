-- The naive createOrder with stock holds: one SERIALIZABLE transaction per
-- request (read the product; if a unit is free, insert the order and its
-- line open for 30 minutes, and move the unit from free stock to held).
-- Each client orders for its own run of users: :first_user + :client_id *
-- :per + :n (n moves on only after a commit).
\set uid :first_user + :client_id * :per + :n
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT price, stock FROM products WHERE id = :pid \gset
\if :stock >= 1
INSERT INTO orders (user_id, total_amount, expires_at, holds_stock)
     VALUES (:uid, :price, now() + interval '30 minutes', true) RETURNING id AS oid \gset
INSERT INTO order_items (order_id, product_id, quantity, unit_price)
     VALUES (:oid, :pid, 1, :price);
UPDATE products SET stock = stock - 1, held_stock = held_stock + 1 WHERE id = :pid;
\endif
COMMIT;
\set n :n + 1
