-- A catalog search, as the server runs it for products(first: 20, search:)
-- of one noun of the scenario's vocabulary (-D nouns=..., comma-joined):
-- by RELEVANCE, the default of a search, so the same three prepared
-- statements (src/domain/listing/matches.rs): the products named exactly
-- as the word, the walk of at most 1,000 rows newest first keeping those
-- whose name holds the word (a noun is in every 20th name, so the page fills
-- within the walk), and the page's products by id.
\set n random(1, 20)
SELECT id FROM products
 WHERE lower(name) = lower((string_to_array(:nouns, ','))[:n]) AND archived_at IS NULL
   AND (NOT false OR stock > 0)
   AND name ILIKE ALL (ARRAY['%' || (string_to_array(:nouns, ','))[:n] || '%'])
   AND id > coalesce(NULL::BIGINT, 0) AND id < coalesce(NULL::BIGINT, 9223372036854775807)
 ORDER BY lower(name) DESC, id DESC LIMIT 21;
WITH walked AS MATERIALIZED (
    SELECT id, price, name, description, stock FROM products
     WHERE archived_at IS NULL
       AND id > coalesce(NULL::BIGINT, 0) AND id < coalesce(NULL::BIGINT, 9223372036854775807)
     ORDER BY id DESC LIMIT 1000)
SELECT (SELECT count(*) FROM walked) AS walked,
       ARRAY(SELECT id FROM walked
              WHERE (NOT false OR stock > 0)
                AND (name || ' ' || description) ILIKE ALL (ARRAY['%' || (string_to_array(:nouns, ','))[:n] || '%'])
                AND name ILIKE ALL (ARRAY['%' || (string_to_array(:nouns, ','))[:n] || '%'])
                AND lower(name) <> lower((string_to_array(:nouns, ','))[:n])
              ORDER BY id DESC LIMIT 21) AS ids \gset
SELECT array_agg(id), array_agg(name), array_agg(description), array_agg(price),
       array_agg(stock), array_agg(held_stock), array_agg(created_at), array_agg(archived_at)
  FROM products WHERE id = ANY(:ids::BIGINT[]);
