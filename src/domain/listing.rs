//! The catalog listing (`products`): search, the in-stock filter, the five
//! sort orders, and their keyset pages.
//!
//! Archived products are never listed. A search keeps the products whose
//! name or description contains every word of it, case-insensitively and
//! literally (`%`, `_` and `\` are plain characters): each word becomes an
//! escaped `ILIKE '%word%'` pattern on `name || ' ' || description`, the
//! expression of the trigram index of `migrations/0004_catalog.sql`. The
//! [`INDEXED_WORDS`] longest words that the index can answer (a run of
//! three letters or digits, [`indexable`]) are conditions of their own,
//! which the index answers together in one scan (the intersection of their
//! trigrams' lists, so few candidates); any others are checked on those
//! candidates. A search with no such word is refused: the index can only
//! answer it by reading all of itself.
//! A word holds no whitespace, so it cannot match across the space that
//! joins the name to the description.
//!
//! A search is planned for its own words: its statement runs unprepared
//! (sqlx's `persistent(false)`), so PostgreSQL plans it with the patterns
//! in hand, drops the conditions of the absent words (`$n IS NULL OR`),
//! asks the index when the words are rare and walks the sort key's index
//! when they are common. A prepared statement would, after a few runs, be
//! given a generic plan made without the words, which cannot use the index
//! for a condition that may be NULL and so reads the table in key order,
//! testing every row. Listings without a search are statements of their
//! own ([`browse`]), prepared, which return the page's products at once.
//!
//! Each order is a keyset on its sort key and the id: NEWEST and OLDEST on
//! the id, PRICE_ASC and PRICE_DESC on `(price, id)`, NAME on
//! `(lower(name), id)`, each served by an index. A [`Position`] (what a
//! cursor holds) is a row's key, so a page starts right after (or ends
//! right before) it whatever was inserted, changed or archived since, and
//! equal prices or names are told apart by the id.
//!
//! The statements are static, one pair (lowest end first, highest end
//! first) per sort key: an ascending order reads a page forward from its
//! lowest end, a descending one from its highest, and a backward page
//! (`last`/`before`) from the other end, then reverses it. A search's
//! return the page's ids only (a scalar statement, the kind sqlx can run
//! unprepared); the products are then read by id.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::page::{self, Page};
use super::product::{self, ProductRecord};
use crate::error::{AppError, AppResult};

/// How many of a search's words the trigram index answers (the longest
/// ones); the others are checked on its candidates.
pub const INDEXED_WORDS: usize = 3;

/// How a listing is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProductOrder {
    /// Newest first (highest id first).
    Newest,
    /// Oldest first.
    Oldest,
    /// Cheapest first; equal prices oldest first.
    PriceAsc,
    /// Dearest first; equal prices newest first.
    PriceDesc,
    /// By name, case-insensitively; equal names oldest first.
    Name,
}

impl ProductOrder {
    /// Every order.
    pub const ALL: [Self; 5] = [
        Self::Newest,
        Self::Oldest,
        Self::PriceAsc,
        Self::PriceDesc,
        Self::Name,
    ];

    /// The order's name in the API (and in its cursors).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "NEWEST",
            Self::Oldest => "OLDEST",
            Self::PriceAsc => "PRICE_ASC",
            Self::PriceDesc => "PRICE_DESC",
            Self::Name => "NAME",
        }
    }

    /// The order named `name` (as [`ProductOrder::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// Whether the list runs from the lowest key to the highest.
    fn ascending(self) -> bool {
        matches!(self, Self::Oldest | Self::PriceAsc | Self::Name)
    }

    /// Where `product` stands in a list in this order.
    pub fn position(self, product: &ProductRecord) -> Position {
        match self {
            Self::Newest | Self::Oldest => Position::Id(product.id),
            Self::PriceAsc | Self::PriceDesc => Position::Price {
                price: product.price,
                id: product.id,
            },
            Self::Name => Position::Name {
                name: product.name.clone(),
                id: product.id,
            },
        }
    }

    /// Whether `position` is a key of this order.
    pub fn accepts(self, position: &Position) -> bool {
        matches!(
            (self, position),
            (Self::Newest | Self::Oldest, Position::Id(_))
                | (Self::PriceAsc | Self::PriceDesc, Position::Price { .. })
                | (Self::Name, Position::Name { .. })
        )
    }
}

/// A row's place in a sorted list: its sort key and its id (the tiebreak).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// NEWEST and OLDEST: the id alone.
    Id(i64),
    /// PRICE_ASC and PRICE_DESC: the price, then the id.
    Price {
        /// The unit price.
        price: i64,
        /// The product's id.
        id: i64,
    },
    /// NAME: the name (compared as PostgreSQL's `lower(name)`), then the id.
    Name {
        /// The name as stored.
        name: String,
        /// The product's id.
        id: i64,
    },
}

impl Position {
    fn id(&self) -> i64 {
        match self {
            Self::Id(id) | Self::Price { id, .. } | Self::Name { id, .. } => *id,
        }
    }

    fn price(&self) -> Option<i64> {
        match self {
            Self::Price { price, .. } => Some(*price),
            _ => None,
        }
    }

    fn name(&self) -> Option<&str> {
        match self {
            Self::Name { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// A search, parsed: the escaped `ILIKE` pattern of each distinct word,
/// the words the trigram index can answer first (the longest first), then
/// the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    patterns: Vec<String>,
    /// How many of `patterns`, from the first, go to the index.
    indexed: usize,
}

/// The fewest letters or digits in a row that give a word a trigram, the
/// unit pg_trgm indexes: a shorter word, symbols, emoji or combining marks
/// give none, and an index asked for such a word can only read all of
/// itself.
pub const TRIGRAM: usize = 3;

/// Whether `word` gives the trigram index something to look up: a run of
/// [`TRIGRAM`] letters or digits (what pg_trgm extracts from a `LIKE`
/// pattern; other characters split words).
pub fn indexable(word: &str) -> bool {
    word.split(|c: char| !c.is_alphanumeric())
        .any(|run| run.chars().count() >= TRIGRAM)
}

impl Search {
    /// Parses a client's search text: at most `max_chars` characters and
    /// no control characters (PostgreSQL's text cannot even hold NUL), else
    /// `BAD_REQUEST` (a query argument's error, like a page size out of
    /// range). Blank text searches nothing: every product is kept. A search
    /// needs a word the index can answer ([`indexable`]), else it would read
    /// the whole catalog: the others only narrow what that word finds.
    pub fn parse(text: &str, max_chars: usize) -> AppResult<Self> {
        if text.chars().count() > max_chars {
            return Err(AppError::BadRequest(format!(
                "search must be at most {max_chars} characters"
            )));
        }
        // Whitespace controls (tab, newline) separate words; others are refused.
        if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(AppError::BadRequest(
                "search must not hold control characters".into(),
            ));
        }
        let mut words: Vec<&str> = Vec::new();
        for word in text.split_whitespace() {
            if !words.contains(&word) {
                words.push(word);
            }
        }
        // Indexable first, the longest first; stable, so equal lengths keep
        // the client's order.
        words.sort_by_key(|w| (!indexable(w), std::cmp::Reverse(w.chars().count())));
        let strong = words.iter().filter(|w| indexable(w)).count();
        if strong == 0 && !words.is_empty() {
            return Err(AppError::BadRequest(format!(
                "search needs a word of at least {TRIGRAM} letters or digits in a row (shorter \
                 words, symbols and emoji can narrow a search, not start one)"
            )));
        }
        Ok(Self {
            patterns: words.into_iter().map(contains_pattern).collect(),
            indexed: strong.min(INDEXED_WORDS),
        })
    }

    /// Whether there is nothing to search for.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The `n`th pattern the trigram index answers (`n` below
    /// [`INDEXED_WORDS`]), if the search has that many.
    fn indexed(&self, n: usize) -> Option<&str> {
        self.patterns[..self.indexed].get(n).map(String::as_str)
    }

    /// The patterns checked on the index's candidates.
    fn others(&self) -> Option<&[String]> {
        self.patterns
            .get(self.indexed..)
            .filter(|rest| !rest.is_empty())
    }
}

/// The `ILIKE` pattern "contains `word`": `%`, `_` and the escape character
/// `\` (PostgreSQL's default) are escaped, so they match themselves.
fn contains_pattern(word: &str) -> String {
    let mut pattern = String::with_capacity(word.len() + 2);
    pattern.push('%');
    for c in word.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Which products a listing holds (archived ones never).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Words each product's name or description contains.
    pub search: Search,
    /// Only products with stock.
    pub in_stock_only: bool,
}

/// One page of a listing, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingRequest {
    /// Which products.
    pub filter: Filter,
    /// In which order.
    pub order: ProductOrder,
    /// How many at most.
    pub limit: i64,
    /// Only products after this position (in `order`).
    pub after: Option<Position>,
    /// Only products before this position (in `order`).
    pub before: Option<Position>,
    /// The page is taken from the end of the range (`last`).
    pub backward: bool,
}

/// Fetches the ids of a search's page in key order (`ASC`) or from the
/// highest key down (`DESC`): `$bounds` keeps the keys between the bounds,
/// `$asc` and `$desc` sort. Both statements are static and checked at
/// compile time, and run unprepared (see the module).
/// Evaluates to `Result<Vec<i64>, sqlx::Error>`.
///
/// Parameters: `$1` in stock only, `$2` to `$4` the indexed patterns, `$5`
/// the other patterns, `$6` the limit, then the bounds'.
macro_rules! listing {
    ($db:expr, $desc_first:expr, $bounds:literal, $asc:literal, $desc:literal, $($arg:expr),+ $(,)?) => {
        if $desc_first {
            sqlx::query_scalar!(
                r#"SELECT id AS "id!" FROM products
                 WHERE archived_at IS NULL AND (NOT $1 OR stock > 0)
                   AND ($2::TEXT IS NULL OR (name || ' ' || description) ILIKE $2)
                   AND ($3::TEXT IS NULL OR (name || ' ' || description) ILIKE $3)
                   AND ($4::TEXT IS NULL OR (name || ' ' || description) ILIKE $4)
                   AND ($5::TEXT[] IS NULL OR (name || ' ' || description) ILIKE ALL ($5))
                   AND "# + $bounds + " ORDER BY " + $desc + " LIMIT $6",
                $($arg),+
            )
            .persistent(false)
            .fetch_all($db)
            .await
        } else {
            sqlx::query_scalar!(
                r#"SELECT id AS "id!" FROM products
                 WHERE archived_at IS NULL AND (NOT $1 OR stock > 0)
                   AND ($2::TEXT IS NULL OR (name || ' ' || description) ILIKE $2)
                   AND ($3::TEXT IS NULL OR (name || ' ' || description) ILIKE $3)
                   AND ($4::TEXT IS NULL OR (name || ' ' || description) ILIKE $4)
                   AND ($5::TEXT[] IS NULL OR (name || ' ' || description) ILIKE ALL ($5))
                   AND "# + $bounds + " ORDER BY " + $asc + " LIMIT $6",
                $($arg),+
            )
            .persistent(false)
            .fetch_all($db)
            .await
        }
    };
}

/// Fetches the products of a page of the whole catalog (no search) in key
/// order (`ASC`) or from the highest key down (`DESC`), as [`listing!`]
/// does, in one prepared statement. Evaluates to
/// `Result<Vec<ProductRecord>, sqlx::Error>`.
///
/// Parameters: `$1` in stock only, `$2` the limit, then the bounds'.
macro_rules! browsing {
    ($db:expr, $desc_first:expr, $bounds:literal, $asc:literal, $desc:literal, $($arg:expr),+ $(,)?) => {
        if $desc_first {
            sqlx::query_as!(
                ProductRecord,
                "SELECT id, name, description, price, stock, held_stock, created_at, archived_at FROM products
                 WHERE archived_at IS NULL AND (NOT $1 OR stock > 0) AND " + $bounds + "
                 ORDER BY " + $desc + " LIMIT $2",
                $($arg),+
            )
            .fetch_all($db)
            .await
        } else {
            sqlx::query_as!(
                ProductRecord,
                "SELECT id, name, description, price, stock, held_stock, created_at, archived_at FROM products
                 WHERE archived_at IS NULL AND (NOT $1 OR stock > 0) AND " + $bounds + "
                 ORDER BY " + $asc + " LIMIT $2",
                $($arg),+
            )
            .fetch_all($db)
            .await
        }
    };
}

/// Where a page of `req` starts: the bounds on the key, lowest and highest
/// whatever the order's direction, and whether the statement reads from
/// the highest key down (a forward page of a descending order, a backward
/// page of an ascending one).
fn bounds(req: &ListingRequest) -> AppResult<(Option<&Position>, Option<&Position>, bool)> {
    for bound in [&req.after, &req.before].into_iter().flatten() {
        if !req.order.accepts(bound) {
            return Err(AppError::BadRequest(format!(
                "the cursor is not one of orderBy {}",
                req.order.as_str()
            )));
        }
    }
    let (low, high) = if req.order.ascending() {
        (req.after.as_ref(), req.before.as_ref())
    } else {
        (req.before.as_ref(), req.after.as_ref())
    };
    Ok((low, high, req.order.ascending() == req.backward))
}

/// One page of the catalog.
pub async fn page(conn: &mut PgConnection, req: &ListingRequest) -> AppResult<Page<ProductRecord>> {
    let rows = if req.filter.search.is_empty() {
        browse(conn, req).await?
    } else {
        search(conn, req).await?
    };
    Ok(page::finish(
        rows,
        req.limit,
        req.backward,
        req.after.is_some(),
        req.before.is_some(),
    ))
}

/// The rows of a page of the whole catalog, in one statement.
async fn browse(conn: &mut PgConnection, req: &ListingRequest) -> AppResult<Vec<ProductRecord>> {
    let (low, high, desc_first) = bounds(req)?;
    let (in_stock, limit) = (req.filter.in_stock_only, req.limit + 1);
    let (low_id, high_id) = (low.map(Position::id), high.map(Position::id));
    Ok(match req.order {
        ProductOrder::Newest | ProductOrder::Oldest => browsing!(
            &mut *conn,
            desc_first,
            "($3::BIGINT IS NULL OR id > $3) AND ($4::BIGINT IS NULL OR id < $4)",
            "id ASC",
            "id DESC",
            in_stock,
            limit,
            low_id,
            high_id,
        ),
        ProductOrder::PriceAsc | ProductOrder::PriceDesc => browsing!(
            &mut *conn,
            desc_first,
            "($3::BIGINT IS NULL OR (price, id) > ($5::BIGINT, $3))
             AND ($4::BIGINT IS NULL OR (price, id) < ($6::BIGINT, $4))",
            "price ASC, id ASC",
            "price DESC, id DESC",
            in_stock,
            limit,
            low_id,
            high_id,
            low.and_then(Position::price),
            high.and_then(Position::price),
        ),
        ProductOrder::Name => browsing!(
            &mut *conn,
            desc_first,
            "($3::BIGINT IS NULL OR (lower(name), id) > (lower($5::TEXT), $3))
             AND ($4::BIGINT IS NULL OR (lower(name), id) < (lower($6::TEXT), $4))",
            "lower(name) ASC, id ASC",
            "lower(name) DESC, id DESC",
            in_stock,
            limit,
            low_id,
            high_id,
            low.and_then(Position::name),
            high.and_then(Position::name),
        ),
    }?)
}

/// The rows of a page of a search: the ids by the listing's statement,
/// planned for the search's words, then the products by id.
async fn search(conn: &mut PgConnection, req: &ListingRequest) -> AppResult<Vec<ProductRecord>> {
    let (low, high, desc_first) = bounds(req)?;
    let search = &req.filter.search;
    let (in_stock, limit) = (req.filter.in_stock_only, req.limit + 1);
    let (first, second, third, others) = (
        search.indexed(0),
        search.indexed(1),
        search.indexed(2),
        search.others(),
    );
    let (low_id, high_id) = (low.map(Position::id), high.map(Position::id));
    let ids = match req.order {
        ProductOrder::Newest | ProductOrder::Oldest => listing!(
            &mut *conn,
            desc_first,
            "($7::BIGINT IS NULL OR id > $7) AND ($8::BIGINT IS NULL OR id < $8)",
            "id ASC",
            "id DESC",
            in_stock,
            first,
            second,
            third,
            others,
            limit,
            low_id,
            high_id,
        ),
        ProductOrder::PriceAsc | ProductOrder::PriceDesc => listing!(
            &mut *conn,
            desc_first,
            "($7::BIGINT IS NULL OR (price, id) > ($9::BIGINT, $7))
             AND ($8::BIGINT IS NULL OR (price, id) < ($10::BIGINT, $8))",
            "price ASC, id ASC",
            "price DESC, id DESC",
            in_stock,
            first,
            second,
            third,
            others,
            limit,
            low_id,
            high_id,
            low.and_then(Position::price),
            high.and_then(Position::price),
        ),
        ProductOrder::Name => listing!(
            &mut *conn,
            desc_first,
            "($7::BIGINT IS NULL OR (lower(name), id) > (lower($9::TEXT), $7))
             AND ($8::BIGINT IS NULL OR (lower(name), id) < (lower($10::TEXT), $8))",
            "lower(name) ASC, id ASC",
            "lower(name) DESC, id DESC",
            in_stock,
            first,
            second,
            third,
            others,
            limit,
            low_id,
            high_id,
            low.and_then(Position::name),
            high.and_then(Position::name),
        ),
    }?;
    let mut found: HashMap<i64, ProductRecord> = product::by_ids(conn, &ids)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    // A product is never deleted (orders point at it), so every id is found;
    // the page keeps the statement's order.
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// How many products the filter keeps (`totalCount`); a search's count is
/// planned for its words, as its page is.
pub async fn count(conn: &mut PgConnection, filter: &Filter) -> AppResult<i64> {
    let search = &filter.search;
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM products
           WHERE archived_at IS NULL AND (NOT $1 OR stock > 0)
             AND ($2::TEXT IS NULL OR (name || ' ' || description) ILIKE $2)
             AND ($3::TEXT IS NULL OR (name || ' ' || description) ILIKE $3)
             AND ($4::TEXT IS NULL OR (name || ' ' || description) ILIKE $4)
             AND ($5::TEXT[] IS NULL OR (name || ' ' || description) ILIKE ALL ($5))"#,
        filter.in_stock_only,
        search.indexed(0),
        search.indexed(1),
        search.indexed(2),
        search.others(),
    )
    .persistent(search.is_empty())
    .fetch_one(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_become_literal_patterns_longest_first() {
        let search = Search::parse("  tea 100%_off\\ tea\tmug  ", 200).unwrap();
        assert_eq!(
            search.patterns,
            ["%100\\%\\_off\\\\%", "%tea%", "%mug%"],
            "escaped, deduplicated, the longest first"
        );
        assert_eq!(search.indexed(0), Some("%100\\%\\_off\\\\%"));
        assert_eq!(search.indexed(2), Some("%mug%"));
        assert_eq!(search.others(), None);
        let one = Search::parse("' OR 1=1 -- DROP", 200).unwrap();
        assert_eq!(one.patterns, ["%DROP%", "%1=1%", "%OR%", "%--%", "%'%"]);
        assert_eq!((one.indexed(0), one.indexed(1)), (Some("%DROP%"), None));
        assert_eq!(one.others().map(<[String]>::len), Some(4));
        assert!(Search::parse(" \n ", 200).unwrap().is_empty());
        let solo = Search::parse("solo", 200).unwrap();
        assert_eq!((solo.indexed(1), solo.others()), (None, None));
    }

    #[test]
    fn a_search_needs_a_word_the_index_can_answer() {
        for weak in [
            "a b c",
            "tv",
            "%%%",
            "😀😀😀",
            "e\u{301}\u{301}\u{301}",
            "a-b-c",
            "' OR 1=1 --",
        ] {
            assert!(!indexable(weak) || weak.contains(' '), "{weak:?}");
            assert!(
                matches!(Search::parse(weak, 200), Err(AppError::BadRequest(_))),
                "{weak:?}"
            );
        }
        for strong in ["tea", "100%", "snake_case", "茶碗蒸", "x-abc", "café"] {
            assert!(indexable(strong), "{strong:?}");
        }
        // Weak words narrow a strong one's matches, never reach the index.
        let mixed = Search::parse("a tv teapot %", 200).unwrap();
        assert_eq!(mixed.indexed(0), Some("%teapot%"));
        assert_eq!(mixed.indexed(1), None);
        assert_eq!(mixed.others().map(<[String]>::len), Some(3));
    }

    #[test]
    fn long_or_control_text_is_a_bad_request() {
        assert!(
            Search::parse(&"é".repeat(200), 200).is_ok(),
            "characters, not bytes"
        );
        for bad in ["x".repeat(201), "tea\0".into(), "a\u{7}b".into()] {
            assert!(
                matches!(Search::parse(&bad, 200), Err(AppError::BadRequest(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn positions_belong_to_their_orders() {
        let product = ProductRecord {
            id: 7,
            name: "Mug".into(),
            description: String::new(),
            price: 300,
            stock: 1,
            held_stock: 0,
            created_at: chrono::Utc::now(),
            archived_at: None,
        };
        for order in ProductOrder::ALL {
            assert_eq!(ProductOrder::parse(order.as_str()), Some(order));
            let position = order.position(&product);
            assert!(order.accepts(&position));
            assert_eq!(position.id(), 7);
        }
        assert!(!ProductOrder::Name.accepts(&Position::Id(7)));
        assert!(!ProductOrder::Newest.accepts(&ProductOrder::PriceAsc.position(&product)));
    }
}
