-- The nested read, as the server runs it: the caller's newest orders, their
-- lines, and the lines' products. The second and third statements are the
-- server's own (columnar reads: one row of arrays each). The first returns
-- the page's orders to the server as rows; here it folds their ids into an
-- array, because the ids that the server carries from one statement to the
-- next in memory travel here as variables (\gset takes one row). The server
-- passes the product ids without duplicates, here with them (the index scan
-- drops duplicate keys).
\set uid random(:first_user, :last_user)
SELECT array_agg(id) AS ids FROM (
  SELECT id, user_id, status, total_amount, discount_amount, created_at, paid_at, cancelled_at
    FROM orders WHERE user_id = :uid ORDER BY id DESC LIMIT 21) o \gset
SELECT array_agg(order_id) AS order_ids, array_agg(product_id) AS product_ids,
       array_agg(quantity) AS quantities, array_agg(unit_price) AS unit_prices
  FROM order_items WHERE order_id = ANY(:ids::BIGINT[]) \gset
SELECT array_agg(id) AS ids, array_agg(name) AS names, array_agg(price) AS prices,
       array_agg(stock) AS stocks, array_agg(created_at) AS created_ats
  FROM products WHERE id = ANY(:product_ids::BIGINT[]);
