//! A search's page, bounded by its matches rather than by the catalog.
//!
//! Every word becomes an escaped `ILIKE '%word%'` pattern on
//! `name || ' ' || description`, the expression of the trigram index of
//! `migrations/0004_catalog.sql` (a word holds no whitespace, so it cannot
//! match across the space that joins the two). Two ways find a page's
//! matches, and neither is left to the planner's guess of how many there
//! are, which two words that are each common but rare together
//! ("golden teapot") defeat (it multiplies their frequencies):
//!
//! 1. **The walk**: read at most `walk` rows (`SEARCH_WALK_ROWS`) along the
//!    order's index from the page's first bound, and keep those that match.
//!    When the words are common the page fills within a few rows; a
//!    prepared statement whose plan is fixed (an index range, then a
//!    filter), so it can never read more than `walk` rows.
//! 2. **The index**: when the walk ends with the page not full and rows
//!    left, fewer than one walked row in `walk / page` matched, so the
//!    matches are few: they are read through the trigram index (a bitmap of
//!    the candidates of every word it can answer, each rechecked), then
//!    sorted. PostgreSQL is told not to walk or scan the table for this
//!    statement (`enable_seqscan` and `enable_indexscan` off in its
//!    transaction), so its plan needs no guess of the matches and is made
//!    once (generic, prepared) per shape of statement.
//!
//! A page therefore costs at most `walk` rows plus the matches beyond them
//! (of the words the index can answer: shorter words are checked on those),
//! for any words, order, filter and cursor. `totalCount` reads every match
//! through the index the same way.
//!
//! RELEVANCE lists the matches by [`Rank`], best first, each rank newest
//! first: the exact name through the name index, then the products whose
//! name holds every word (the name's own trigram index,
//! `migrations/0010_search_by_relevance.sql`, serves the second way), then
//! the rest. A page reads rank after rank until it is full.

use std::collections::HashMap;

use sqlx::{Connection, PgConnection, Postgres, QueryBuilder};

use super::{Filter, Key, ListingRequest, Position, ProductOrder, Range, Rank, Search};
use crate::domain::product::{self, ProductRecord};
use crate::error::AppResult;

/// Which of a search's matches a statement reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    /// Every match (every order but RELEVANCE).
    All,
    /// The matches of one rank (RELEVANCE reads them rank after rank).
    Ranked(Rank),
}

impl Segment {
    /// The number the walk's statement tells segments apart by.
    fn number(self) -> i16 {
        match self {
            Self::All => 0,
            Self::Ranked(rank) => rank as i16,
        }
    }
}

/// The products of a page of a search, in the range's reading direction,
/// each with its rank when the order is RELEVANCE.
pub(super) async fn rows(
    conn: &mut PgConnection,
    req: &ListingRequest,
    range: Range,
    walk: i64,
) -> AppResult<Vec<(ProductRecord, Option<Rank>)>> {
    let need = req.limit + 1;
    let mut found: Vec<(i64, Option<Rank>)> = Vec::new();
    for (segment, part) in parts(req.order, range) {
        let left = need - found.len() as i64;
        if left <= 0 {
            break;
        }
        let ids = segment_ids(conn, &req.filter, segment, &part, left, walk).await?;
        let rank = match segment {
            Segment::Ranked(rank) => Some(rank),
            Segment::All => None,
        };
        found.extend(ids.into_iter().map(|id| (id, rank)));
    }
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
    let mut products: HashMap<i64, ProductRecord> = product::by_ids(&mut *conn, &ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    // A product is never deleted (orders point at it), so every id is found;
    // the page keeps the statements' order.
    Ok(found
        .into_iter()
        .filter_map(|(id, rank)| products.remove(&id).map(|p| (p, rank)))
        .collect())
}

/// The parts a page of `order` reads, in reading order: the whole range,
/// or for RELEVANCE each rank the range spans (best first when reading
/// down), with the range's ends cut to ids within the ranks they are in.
fn parts(order: ProductOrder, range: Range) -> Vec<(Segment, Range)> {
    if order != ProductOrder::Relevance {
        return vec![(Segment::All, range)];
    }
    let mut ranks = Rank::ALL.to_vec();
    if !range.descending {
        ranks.reverse();
    }
    let rank_of = |p: &Option<Position>| match p {
        Some(Position::Rank { rank, id }) => Some((*rank, *id)),
        _ => None,
    };
    let (low, high) = (rank_of(&range.low), rank_of(&range.high));
    ranks
        .into_iter()
        .filter(|r| low.is_none_or(|(rank, _)| rank <= *r))
        .filter(|r| high.is_none_or(|(rank, _)| rank >= *r))
        .map(|r| {
            let end = |bound: Option<(Rank, i64)>| {
                bound.and_then(|(rank, id)| (rank == r).then_some(Position::Id(id)))
            };
            let part = Range {
                key: Key::Id,
                low: end(low),
                high: end(high),
                descending: range.descending,
            };
            (Segment::Ranked(r), part)
        })
        .collect()
}

/// The ids of up to `left` matches of `segment` within `range`.
async fn segment_ids(
    conn: &mut PgConnection,
    filter: &Filter,
    segment: Segment,
    range: &Range,
    left: i64,
    walk: i64,
) -> AppResult<Vec<i64>> {
    if segment == Segment::Ranked(Rank::Exact) {
        return exact(conn, filter, range, left).await;
    }
    let (walked, ids) = walked(conn, filter, segment, range, left, walk).await?;
    if walked < walk || ids.len() as i64 >= left {
        return Ok(ids);
    }
    through_index(conn, filter, segment, range, left).await
}

/// Walks up to `walk` rows of `range` along the key's index and returns
/// how many it read and the ids of those (up to `$limit`) that match, in
/// reading order. Evaluates to `Result<(i64, Vec<i64>), sqlx::Error>`.
///
/// Parameters: `$1` in stock only, `$2` every word's pattern, `$3` the
/// segment's number, `$4` the words as typed, `$5` the walk's length, `$6`
/// the limit, `$7`/`$8` the ends' ids, `$9`/`$10` their prices or names.
macro_rules! walking {
    ($db:expr, $descending:expr, $bounds:literal, $asc:literal, $desc:literal, $($arg:expr),+ $(,)?) => {
        if $descending {
            sqlx::query!(
                r#"WITH walked AS MATERIALIZED (
                       SELECT id, price, name, description, stock FROM products
                       WHERE archived_at IS NULL AND "# + $bounds + " ORDER BY " + $desc + r#" LIMIT $5)
                   SELECT (SELECT count(*) FROM walked) AS "walked!",
                          ARRAY(SELECT id FROM walked
                                WHERE (NOT $1 OR stock > 0)
                                  AND (name || ' ' || description) ILIKE ALL ($2)
                                  AND CASE $3::SMALLINT
                                        WHEN 2 THEN name ILIKE ALL ($2) AND lower(name) <> lower($4::TEXT)
                                        WHEN 1 THEN NOT name ILIKE ALL ($2)
                                        ELSE TRUE END
                                ORDER BY "# + $desc + r#" LIMIT $6) AS "ids!""#,
                $($arg),+
            )
            .fetch_one($db)
            .await
            .map(|r| (r.walked, r.ids))
        } else {
            sqlx::query!(
                r#"WITH walked AS MATERIALIZED (
                       SELECT id, price, name, description, stock FROM products
                       WHERE archived_at IS NULL AND "# + $bounds + " ORDER BY " + $asc + r#" LIMIT $5)
                   SELECT (SELECT count(*) FROM walked) AS "walked!",
                          ARRAY(SELECT id FROM walked
                                WHERE (NOT $1 OR stock > 0)
                                  AND (name || ' ' || description) ILIKE ALL ($2)
                                  AND CASE $3::SMALLINT
                                        WHEN 2 THEN name ILIKE ALL ($2) AND lower(name) <> lower($4::TEXT)
                                        WHEN 1 THEN NOT name ILIKE ALL ($2)
                                        ELSE TRUE END
                                ORDER BY "# + $asc + r#" LIMIT $6) AS "ids!""#,
                $($arg),+
            )
            .fetch_one($db)
            .await
            .map(|r| (r.walked, r.ids))
        }
    };
}

/// The first way (see the module): the walk.
async fn walked(
    conn: &mut PgConnection,
    filter: &Filter,
    segment: Segment,
    range: &Range,
    left: i64,
    walk: i64,
) -> AppResult<(i64, Vec<i64>)> {
    let search = &filter.search;
    let (in_stock, patterns, number, phrase) = (
        filter.in_stock_only,
        search.patterns(),
        segment.number(),
        search.phrase(),
    );
    let (low_id, high_id) = (range.low_id(), range.high_id());
    Ok(match range.key {
        Key::Id => walking!(
            &mut *conn,
            range.descending,
            "id > coalesce($7::BIGINT, 0) AND id < coalesce($8::BIGINT, 9223372036854775807)",
            "id ASC",
            "id DESC",
            in_stock,
            patterns,
            number,
            phrase,
            walk,
            left,
            low_id,
            high_id,
        ),
        Key::Price => walking!(
            &mut *conn,
            range.descending,
            "(price, id) > (coalesce($9::BIGINT, 0), coalesce($7::BIGINT, 0))
             AND (price, id) < (coalesce($10::BIGINT, 9223372036854775807), coalesce($8::BIGINT, 0))",
            "price ASC, id ASC",
            "price DESC, id DESC",
            in_stock,
            patterns,
            number,
            phrase,
            walk,
            left,
            low_id,
            high_id,
            range.low_price(),
            range.high_price(),
        ),
        Key::Name => walking!(
            &mut *conn,
            range.descending,
            "(lower(name), id) > (lower(coalesce($9::TEXT, '')), coalesce($7::BIGINT, 0))
             AND (lower(name), id) < (coalesce(lower($10::TEXT),
                     (SELECT max(lower(name)) FROM products WHERE archived_at IS NULL)),
                 coalesce($8::BIGINT, 9223372036854775807))",
            "lower(name) ASC, id ASC",
            "lower(name) DESC, id DESC",
            in_stock,
            patterns,
            number,
            phrase,
            walk,
            left,
            low_id,
            high_id,
            range.low_name(),
            range.high_name(),
        ),
    }?)
}

/// The exact rank: the products named as the search's words, through the
/// `(lower(name), id)` index, newest first (or oldest, reading up).
async fn exact(
    conn: &mut PgConnection,
    filter: &Filter,
    range: &Range,
    left: i64,
) -> AppResult<Vec<i64>> {
    let search = &filter.search;
    let args = (
        search.phrase(),
        filter.in_stock_only,
        search.patterns(),
        range.low_id(),
        range.high_id(),
        left,
    );
    Ok(if range.descending {
        sqlx::query_scalar!(
            r#"SELECT id AS "id!" FROM products
               WHERE lower(name) = lower($1::TEXT) AND archived_at IS NULL
                 AND (NOT $2 OR stock > 0) AND name ILIKE ALL ($3)
                 AND id > coalesce($4::BIGINT, 0) AND id < coalesce($5::BIGINT, 9223372036854775807)
               ORDER BY lower(name) DESC, id DESC LIMIT $6"#,
            args.0,
            args.1,
            args.2,
            args.3,
            args.4,
            args.5,
        )
        .fetch_all(&mut *conn)
        .await?
    } else {
        sqlx::query_scalar!(
            r#"SELECT id AS "id!" FROM products
               WHERE lower(name) = lower($1::TEXT) AND archived_at IS NULL
                 AND (NOT $2 OR stock > 0) AND name ILIKE ALL ($3)
                 AND id > coalesce($4::BIGINT, 0) AND id < coalesce($5::BIGINT, 9223372036854775807)
               ORDER BY lower(name) ASC, id ASC LIMIT $6"#,
            args.0,
            args.1,
            args.2,
            args.3,
            args.4,
            args.5,
        )
        .fetch_all(&mut *conn)
        .await?
    })
}

/// The second way (see the module): every match of `segment` in `range`
/// through the trigram indexes, sorted, the first `left`.
async fn through_index(
    conn: &mut PgConnection,
    filter: &Filter,
    segment: Segment,
    range: &Range,
    left: i64,
) -> AppResult<Vec<i64>> {
    let mut statement = QueryBuilder::<Postgres>::new("SELECT id FROM products WHERE ");
    push_matches(&mut statement, filter, segment);
    push_range(&mut statement, range);
    statement.push(" ORDER BY ").push(order_by(range));
    statement.push(" LIMIT ").push_bind(left);
    by_index(conn, statement).await
}

/// How many products `filter`'s search keeps, counted through the index.
pub(super) async fn count(conn: &mut PgConnection, filter: &Filter) -> AppResult<i64> {
    let mut statement = QueryBuilder::<Postgres>::new("SELECT count(*) FROM products WHERE ");
    push_matches(&mut statement, filter, Segment::All);
    Ok(by_index(conn, statement)
        .await?
        .first()
        .copied()
        .unwrap_or(0))
}

/// The conditions of a match of `segment`: each indexed word a condition
/// of its own (the index answers them together), the others one filter.
fn push_matches(statement: &mut QueryBuilder<Postgres>, filter: &Filter, segment: Segment) {
    let search = &filter.search;
    statement.push("archived_at IS NULL");
    if filter.in_stock_only {
        statement.push(" AND stock > 0");
    }
    // Each rank's conditions name the one index that should answer them:
    // a name that holds every word puts them in the text too, so the name
    // rank asks the name's index alone (the text's would hand it every
    // product whose description holds a word).
    match segment {
        Segment::All => push_words(statement, search, TEXT),
        Segment::Ranked(Rank::Text) => {
            push_words(statement, search, TEXT);
            statement
                .push(" AND NOT name ILIKE ALL (")
                .push_bind(search.patterns().to_vec())
                .push(")");
        }
        Segment::Ranked(rank @ (Rank::Name | Rank::Exact)) => {
            push_words(statement, search, "name");
            let op = if rank == Rank::Exact { " = " } else { " <> " };
            statement
                .push(format_args!(" AND lower(name){op}lower("))
                .push_bind(search.phrase().to_owned())
                .push(")");
        }
    }
}

/// Each word's condition on `column`.
fn push_words(statement: &mut QueryBuilder<Postgres>, search: &Search, column: &str) {
    for pattern in search.indexed() {
        statement
            .push(format_args!(" AND {column} ILIKE "))
            .push_bind(pattern.clone());
    }
    if !search.others().is_empty() {
        statement
            .push(format_args!(" AND {column} ILIKE ALL ("))
            .push_bind(search.others().to_vec())
            .push(")");
    }
}

/// The expression both trigram-indexed columns are searched in (the
/// index's, word for word).
const TEXT: &str = "(name || ' ' || description)";

/// The range's ends, those it has.
fn push_range(statement: &mut QueryBuilder<Postgres>, range: &Range) {
    for (end, op) in [(&range.low, " > "), (&range.high, " < ")] {
        match end {
            None => {}
            Some(Position::Price { price, id }) => {
                statement.push(" AND (price, id)").push(op).push("(");
                statement
                    .push_bind(*price)
                    .push(", ")
                    .push_bind(*id)
                    .push(")");
            }
            Some(Position::Name { name, id }) => {
                statement
                    .push(" AND (lower(name), id)")
                    .push(op)
                    .push("(lower(");
                statement
                    .push_bind(name.clone())
                    .push("), ")
                    .push_bind(*id)
                    .push(")");
            }
            Some(Position::Id(id) | Position::Rank { id, .. }) => {
                statement.push(" AND id").push(op).push_bind(*id);
            }
        }
    }
}

/// The `ORDER BY` of the range's key and reading direction.
fn order_by(range: &Range) -> &'static str {
    match (range.key, range.descending) {
        (Key::Id, false) => "id ASC",
        (Key::Id, true) => "id DESC",
        (Key::Price, false) => "price ASC, id ASC",
        (Key::Price, true) => "price DESC, id DESC",
        (Key::Name, false) => "lower(name) ASC, id ASC",
        (Key::Name, true) => "lower(name) DESC, id DESC",
    }
}

/// Runs `statement` with walks and whole-table scans off, so PostgreSQL
/// reads its rows through the trigram indexes' bitmap however many it
/// guesses there are. Its plan is generic, made once per connection and
/// shape of statement (how many words, which rank, which ends): estimating
/// each word's matches would cost more than the statement runs, and the
/// plan does not depend on them.
/// No JIT, whose compiling would too.
async fn by_index(
    conn: &mut PgConnection,
    mut statement: QueryBuilder<Postgres>,
) -> AppResult<Vec<i64>> {
    let mut tx = conn.begin().await?;
    sqlx::query(
        "SELECT set_config('enable_seqscan', 'off', true), \
                set_config('enable_indexscan', 'off', true), set_config('jit', 'off', true), \
                set_config('plan_cache_mode', 'force_generic_plan', true)",
    )
    .execute(&mut *tx)
    .await?;
    let rows = statement
        .build_query_scalar::<i64>()
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked(rank: Rank, id: i64) -> Option<Position> {
        Some(Position::Rank { rank, id })
    }

    fn relevance(low: Option<Position>, high: Option<Position>, descending: bool) -> Range {
        Range {
            key: Key::Id,
            low,
            high,
            descending,
        }
    }

    #[test]
    fn relevance_reads_rank_after_rank_cut_at_the_cursors() {
        let segments = |range| -> Vec<(Segment, Option<Position>, Option<Position>)> {
            parts(ProductOrder::Relevance, range)
                .into_iter()
                .map(|(s, r)| (s, r.low, r.high))
                .collect()
        };
        use Segment::Ranked;
        // A first page: every rank, best first, unbounded.
        assert_eq!(
            segments(relevance(None, None, true)),
            [
                (Ranked(Rank::Exact), None, None),
                (Ranked(Rank::Name), None, None),
                (Ranked(Rank::Text), None, None)
            ]
        );
        // After a cursor in the name rank: the rest of it, then the text rank.
        assert_eq!(
            segments(relevance(None, ranked(Rank::Name, 40), true)),
            [
                (Ranked(Rank::Name), None, Some(Position::Id(40))),
                (Ranked(Rank::Text), None, None)
            ]
        );
        // Reading up from a cursor in the text rank (last/before).
        assert_eq!(
            segments(relevance(ranked(Rank::Text, 7), None, false)),
            [
                (Ranked(Rank::Text), Some(Position::Id(7)), None),
                (Ranked(Rank::Name), None, None),
                (Ranked(Rank::Exact), None, None)
            ]
        );
        // Between two cursors of one rank: that rank only.
        assert_eq!(
            segments(relevance(
                ranked(Rank::Name, 3),
                ranked(Rank::Name, 9),
                true
            )),
            [(
                Ranked(Rank::Name),
                Some(Position::Id(3)),
                Some(Position::Id(9))
            )]
        );
        let other = Range {
            key: Key::Price,
            low: None,
            high: None,
            descending: false,
        };
        assert_eq!(
            parts(ProductOrder::PriceAsc, other.clone()),
            [(Segment::All, other)]
        );
    }
}
