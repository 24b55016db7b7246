-- A catalog search, as the server runs it for products(first: 20, search:):
-- one or two words (an adjective and a noun), each an ILIKE '%word%' on
-- name || ' ' || description, the longest through the trigram index, the
-- page newest first with one row more than it holds. The words come from
-- the scenario's vocabulary (-D adjectives=..., -D nouns=..., comma-joined),
-- one word alone half of the time. The server also wraps it in a read
-- transaction that plans it for its words (three more round trips).
\set a random(1, 20)
\set n random(1, 20)
\set two random(0, 1)
SELECT id, name, description, price, stock, created_at, archived_at
  FROM products
 WHERE archived_at IS NULL
   AND (name || ' ' || description) ILIKE '%' || (string_to_array(:nouns, ','))[:n] || '%'
   AND (:two = 0 OR (name || ' ' || description) ILIKE '%' || (string_to_array(:adjectives, ','))[:a] || '%')
 ORDER BY id DESC LIMIT 21;
