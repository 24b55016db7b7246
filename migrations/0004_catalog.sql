-- The catalog of version 2: descriptions, archiving, search and sorting.
--
-- 1. A product gets a free-text description (empty when none: the API's
--    `Product.description` is non-null) and may be archived: `archived_at`
--    is set once, and an archived product leaves the listing and can no
--    longer be ordered, carted or paid for, while the orders and carts that
--    hold it still show it (their foreign keys keep the row).
ALTER TABLE products
    ADD COLUMN description TEXT NOT NULL DEFAULT ''
        CONSTRAINT products_description_length CHECK (length(description) <= 5000),
    ADD COLUMN archived_at TIMESTAMPTZ;

-- 2. Search: every word of `products(search:)` must appear in the name or
--    the description, case-insensitively. The listing asks
--    `(name || ' ' || description) ILIKE '%word%'`, which pg_trgm's GIN
--    operator class answers from this index (then rechecks each candidate),
--    instead of reading every row. The expression must stay exactly the
--    one the statements use (src/domain/listing.rs), or the planner cannot
--    match it.
--    Not partial (archived products are few, and the statements filter
--    them out): ANALYZE keeps statistics of an index's expression, and the
--    planner reads them only for a non-partial index. With them it knows
--    how many products a word matches, and walks the sort key's index for a
--    common word (a page fills at once) instead of fetching and sorting
--    every match; without them it guesses from the word's length.
--    fastupdate off: a new or renamed product goes straight into the index
--    instead of a pending list that every search would have to read until
--    the next vacuum (catalog writes are rare; searches are not). A stock
--    change touches no indexed column, so payments keep their HOT updates.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX products_search_idx ON products
    USING gin ((name || ' ' || description) gin_trgm_ops)
    WITH (fastupdate = off);

-- 3. Sorting: each order of `products(orderBy:)` is a keyset on its sort key
--    and the id, so a page is an index range scan. NEWEST and OLDEST use the
--    primary key.
CREATE INDEX products_listed_price_idx ON products (price, id) WHERE archived_at IS NULL;
CREATE INDEX products_listed_name_idx ON products (lower(name), id) WHERE archived_at IS NULL;
