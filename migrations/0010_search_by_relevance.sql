-- Search by relevance: RELEVANCE lists first the products whose name holds
-- every word of a search. When such names are few, the listing finds them
-- through this index of the name alone (src/domain/listing/matches.rs); the
-- index of name and description together (0004) would hand it every
-- product that holds the words anywhere. Built like that one: not partial
-- (the planner keeps statistics of a non-partial index's column), and
-- without a pending list, so a search never reads unsorted entries.
CREATE INDEX products_name_search_idx ON products
    USING gin (name gin_trgm_ops)
    WITH (fastupdate = off);
