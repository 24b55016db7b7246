-- The admin's order list by status (`orders(status:)`, every user's
-- orders newest first) had no index to start from: a page of a rare
-- status walked the primary key through the whole table looking for it.
-- On a year of a busy shop (2,000,000 orders, the scale benchmark)
-- `orders(first: 20, status: PENDING)` read all 2,000,000 rows, 170 -
-- 660 ms a page; with this index its plan reads the status's few rows
-- (0.03 ms). Common statuses still walk the primary key (a page fills at
-- once), as the planner chooses from the statistics.
CREATE INDEX orders_status_id_idx ON orders (status, id);
