//! The catalog listing (`products`): search, the in-stock filter, the five
//! sort orders, and their keyset pages.
//!
//! Archived products are never listed. A search keeps the products whose
//! name or description contains every word of it, case-insensitively and
//! literally (`%`, `_` and `\` are plain characters): each word becomes an
//! escaped `ILIKE '%word%'` pattern on `name || ' ' || description`, the
//! expression of the trigram index of `migrations/0004_catalog.sql`. The
//! longest word's pattern is the one the index answers (the most trigrams,
//! so the fewest candidates); the others are checked on those candidates.
//! A word holds no whitespace, so it cannot match across the space that
//! joins the name to the description.
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
//! (`last`/`before`) from the other end, then reverses it.

use sqlx::{Connection, PgConnection};

use super::page::{self, Page};
use super::product::ProductRecord;
use crate::error::{AppError, AppResult};

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
/// the longest word's first (the one the trigram index answers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    patterns: Vec<String>,
}

impl Search {
    /// Parses a client's search text: at most `max_chars` characters and
    /// no control characters (PostgreSQL's text cannot even hold NUL), else
    /// `BAD_REQUEST` (a query argument's error, like a page size out of
    /// range). Blank text searches nothing: every product is kept.
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
        // Longest first; stable, so equal lengths keep the client's order.
        words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
        Ok(Self {
            patterns: words.into_iter().map(contains_pattern).collect(),
        })
    }

    /// Whether there is nothing to search for.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The pattern the trigram index answers.
    fn indexed(&self) -> Option<&str> {
        self.patterns.first().map(String::as_str)
    }

    /// The patterns checked on the index's candidates.
    fn others(&self) -> Option<&[String]> {
        self.patterns.get(1..).filter(|rest| !rest.is_empty())
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

/// Fetches the rows of a listing in key order (`ASC`) or from the highest
/// key down (`DESC`): `$bounds` keeps the keys between the bounds, `$asc`
/// and `$desc` sort. Both statements are static and checked at compile
/// time. Evaluates to `Result<Vec<ProductRecord>, sqlx::Error>`.
///
/// Parameters: `$1` in stock only, `$2` the indexed pattern, `$3` the
/// other patterns, `$4` the limit, then the bounds'.
macro_rules! listing {
    ($db:expr, $desc_first:expr, $bounds:literal, $asc:literal, $desc:literal, $($arg:expr),+ $(,)?) => {
        if $desc_first {
            sqlx::query_as!(
                ProductRecord,
                "SELECT id, name, description, price, stock, created_at, archived_at
                 FROM products
                 WHERE archived_at IS NULL AND (NOT $1 OR stock > 0)
                   AND ($2::TEXT IS NULL OR (name || ' ' || description) ILIKE $2)
                   AND ($3::TEXT[] IS NULL OR (name || ' ' || description) ILIKE ALL ($3))
                   AND " + $bounds + " ORDER BY " + $desc + " LIMIT $4",
                $($arg),+
            )
            .fetch_all($db)
            .await
        } else {
            sqlx::query_as!(
                ProductRecord,
                "SELECT id, name, description, price, stock, created_at, archived_at
                 FROM products
                 WHERE archived_at IS NULL AND (NOT $1 OR stock > 0)
                   AND ($2::TEXT IS NULL OR (name || ' ' || description) ILIKE $2)
                   AND ($3::TEXT[] IS NULL OR (name || ' ' || description) ILIKE ALL ($3))
                   AND " + $bounds + " ORDER BY " + $asc + " LIMIT $4",
                $($arg),+
            )
            .fetch_all($db)
            .await
        }
    };
}

/// One page of the catalog.
///
/// A search runs in a transaction planned for its own words
/// ([`plan_for_these_words`]); the other listings run as they are.
pub async fn page(conn: &mut PgConnection, req: &ListingRequest) -> AppResult<Page<ProductRecord>> {
    if req.filter.search.is_empty() {
        return fetch(conn, req).await;
    }
    let mut tx = conn.begin().await?;
    plan_for_these_words(&mut tx).await?;
    let page = fetch(&mut tx, req).await?;
    tx.commit().await?;
    Ok(page)
}

async fn fetch(conn: &mut PgConnection, req: &ListingRequest) -> AppResult<Page<ProductRecord>> {
    for bound in [&req.after, &req.before].into_iter().flatten() {
        if !req.order.accepts(bound) {
            return Err(AppError::BadRequest(format!(
                "the cursor is not one of orderBy {}",
                req.order.as_str()
            )));
        }
    }
    // The bounds on the key, lowest and highest, whatever the order's direction.
    let (low, high) = if req.order.ascending() {
        (req.after.as_ref(), req.before.as_ref())
    } else {
        (req.before.as_ref(), req.after.as_ref())
    };
    // Forward pages of ascending orders and backward pages of descending
    // ones start from the lowest key.
    let desc_first = req.order.ascending() == req.backward;
    let (in_stock, indexed, others, limit) = (
        req.filter.in_stock_only,
        req.filter.search.indexed(),
        req.filter.search.others(),
        req.limit + 1,
    );
    let (low_id, high_id) = (low.map(Position::id), high.map(Position::id));
    let rows = match req.order {
        ProductOrder::Newest | ProductOrder::Oldest => listing!(
            conn,
            desc_first,
            "($5::BIGINT IS NULL OR id > $5) AND ($6::BIGINT IS NULL OR id < $6)",
            "id ASC",
            "id DESC",
            in_stock,
            indexed,
            others,
            limit,
            low_id,
            high_id,
        ),
        ProductOrder::PriceAsc | ProductOrder::PriceDesc => listing!(
            conn,
            desc_first,
            "($5::BIGINT IS NULL OR (price, id) > ($7::BIGINT, $5))
             AND ($6::BIGINT IS NULL OR (price, id) < ($8::BIGINT, $6))",
            "price ASC, id ASC",
            "price DESC, id DESC",
            in_stock,
            indexed,
            others,
            limit,
            low_id,
            high_id,
            low.and_then(Position::price),
            high.and_then(Position::price),
        ),
        ProductOrder::Name => listing!(
            conn,
            desc_first,
            "($5::BIGINT IS NULL OR (lower(name), id) > (lower($7::TEXT), $5))
             AND ($6::BIGINT IS NULL OR (lower(name), id) < (lower($8::TEXT), $6))",
            "lower(name) ASC, id ASC",
            "lower(name) DESC, id DESC",
            in_stock,
            indexed,
            others,
            limit,
            low_id,
            high_id,
            low.and_then(Position::name),
            high.and_then(Position::name),
        ),
    }?;
    Ok(page::finish(
        rows,
        req.limit,
        req.backward,
        req.after.is_some(),
        req.before.is_some(),
    ))
}

/// How many products the filter keeps (`totalCount`).
pub async fn count(conn: &mut PgConnection, filter: &Filter) -> AppResult<i64> {
    if filter.search.is_empty() {
        return count_in(conn, filter).await;
    }
    let mut tx = conn.begin().await?;
    plan_for_these_words(&mut tx).await?;
    let count = count_in(&mut tx, filter).await?;
    tx.commit().await?;
    Ok(count)
}

async fn count_in(conn: &mut PgConnection, filter: &Filter) -> AppResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM products
           WHERE archived_at IS NULL AND (NOT $1 OR stock > 0)
             AND ($2::TEXT IS NULL OR (name || ' ' || description) ILIKE $2)
             AND ($3::TEXT[] IS NULL OR (name || ' ' || description) ILIKE ALL ($3))"#,
        filter.in_stock_only,
        filter.search.indexed(),
        filter.search.others(),
    )
    .fetch_one(conn)
    .await?)
}

/// Makes the rest of this transaction plan each statement for its actual
/// parameters. The listing's statements are prepared once per connection,
/// and after a few runs PostgreSQL may switch a prepared statement to a
/// generic plan, made without knowing the words: one that cannot drop the
/// `$2 IS NULL OR` branch, so it reads the table in key order and tests
/// every row instead of asking the trigram index. Planned with the words,
/// it asks the index when they are rare and walks the key's index when they
/// are common, whichever is cheaper, at the price of planning each search.
async fn plan_for_these_words(conn: &mut PgConnection) -> AppResult<()> {
    sqlx::query_scalar!(
        r#"SELECT set_config('plan_cache_mode', 'force_custom_plan', true) AS "set!""#
    )
    .fetch_one(conn)
    .await?;
    Ok(())
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
        assert_eq!(search.indexed(), Some("%100\\%\\_off\\\\%"));
        assert_eq!(search.others().map(<[String]>::len), Some(2));
        let one = Search::parse("' OR 1=1 --", 200).unwrap();
        assert_eq!(one.patterns, ["%1=1%", "%OR%", "%--%", "%'%"]);
        assert!(Search::parse(" \n ", 200).unwrap().is_empty());
        assert_eq!(Search::parse("solo", 200).unwrap().others(), None);
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
