-- The nested read, as the server runs it: the caller's newest orders, their
-- lines, and the lines' products (three statements, the same tables,
-- filters and indexes as the server's; the ids that the server carries from
-- one statement to the next in memory travel here as arrays).
\set uid random(:first_user, :last_user)
SELECT array_agg(id) AS ids FROM (
  SELECT id, user_id, status, total_amount, discount_amount, created_at, paid_at, cancelled_at
    FROM orders WHERE user_id = :uid ORDER BY id DESC LIMIT 21) o \gset
SELECT array_agg(DISTINCT product_id) AS pids FROM (
  SELECT order_id, product_id, quantity, unit_price FROM order_items
   WHERE order_id = ANY(:ids::BIGINT[]) ORDER BY order_id, product_id) i \gset
SELECT id, name, price, stock, created_at FROM products WHERE id = ANY(:pids::BIGINT[]);
