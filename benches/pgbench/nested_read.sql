-- The nested read, as the server runs it: the caller's newest orders, their
-- lines, and the lines' products (columnar reads: one row of arrays each).
-- The ids that the server carries from one statement to the next in memory
-- travel here as variables (\gset).
--
-- The second and third statements are the server's own. The first is the
-- server's page of orders (the same table, filter, index and limit) folded
-- to the one array that the next statement needs: the server's statement
-- aggregates all eight columns, so this baseline does less than the server
-- there, in its own favour. Left out too: the filters that the server's
-- query leaves unused (status, cursors: NULL parameters there). The server
-- passes the product ids without duplicates, here with them (the index
-- scan drops duplicate keys).
\set uid random(:first_user, :last_user)
SELECT array_agg(id) AS ids FROM (
  SELECT id, user_id, status, total_amount, discount_amount, created_at, paid_at, cancelled_at
    FROM orders WHERE user_id = :uid ORDER BY id DESC LIMIT 21) page \gset
SELECT array_agg(order_id) AS order_ids, array_agg(product_id) AS product_ids,
       array_agg(quantity) AS quantities, array_agg(unit_price) AS unit_prices
  FROM order_items WHERE order_id = ANY(:ids::BIGINT[]) \gset
SELECT array_agg(id) AS ids, array_agg(name) AS names, array_agg(price) AS prices,
       array_agg(stock) AS stocks, array_agg(created_at) AS created_ats
  FROM products WHERE id = ANY(:product_ids::BIGINT[]);
