//! The catalog listing (`products`): search, the in-stock filter, the six
//! sort orders, and their keyset pages.
//!
//! Archived products are never listed. A search ([`Search`]) keeps the
//! products whose name or description contains every word of it,
//! case-insensitively and literally; how its page is found, whatever its
//! words, is [`matches`]. A listing without a search is [`browse`]: one
//! prepared statement that returns the page's products.
//!
//! Each order is a keyset on its sort key and the id: NEWEST and OLDEST on
//! the id, PRICE_ASC and PRICE_DESC on `(price, id)`, NAME on
//! `(lower(name), id)`, each served by an index; RELEVANCE on the match's
//! [`Rank`] then the id, newest first within a rank. A [`Position`] (what a
//! cursor holds) is a row's key, so a page starts right after (or ends
//! right before) it whatever was inserted, changed or archived since, and
//! equal prices, names or ranks are told apart by the id.
//!
//! Every bound is an index condition, in prepared statements too: a missing
//! bound is the lowest or highest key (`id > coalesce($n, 0)`), never
//! `$n IS NULL OR ...`, which a generic plan can only test row by row after
//! walking the index from its end (a deep page, or a cursor pair close
//! together, would read the whole index).

mod browse;
mod matches;
mod search;

use sqlx::PgConnection;

use super::page::{self, Page};
use super::product::ProductRecord;
use crate::error::{AppError, AppResult};

pub use search::{Search, TRIGRAM, indexable};

/// How a listing is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProductOrder {
    /// Best match first (a search's default): by [`Rank`], then newest first.
    Relevance,
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

/// How well a product matches a search, best last: RELEVANCE lists the
/// best first. The ranks part the matches: each is in exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rank {
    /// Only the name and the description together hold every word.
    Text = 1,
    /// The name alone holds every word.
    Name = 2,
    /// The name is the search's words as typed, case-insensitively.
    Exact = 3,
}

impl Rank {
    /// From the highest to the lowest.
    const ALL: [Self; 3] = [Self::Exact, Self::Name, Self::Text];

    /// The rank of a cursor's number.
    fn from_number(n: i16) -> Option<Self> {
        Self::ALL.into_iter().find(|r| *r as i16 == n)
    }
}

impl ProductOrder {
    /// Every order.
    pub const ALL: [Self; 6] = [
        Self::Relevance,
        Self::Newest,
        Self::Oldest,
        Self::PriceAsc,
        Self::PriceDesc,
        Self::Name,
    ];

    /// The order of a listing: the one asked for, else RELEVANCE for a
    /// search and NEWEST for the whole catalog. RELEVANCE without a search
    /// lists as NEWEST (every product matches nothing equally well).
    pub fn of_listing(asked: Option<Self>, search: &Search) -> Self {
        match asked {
            Some(Self::Relevance) if search.is_empty() => Self::Newest,
            Some(order) => order,
            None if search.is_empty() => Self::Newest,
            None => Self::Relevance,
        }
    }

    /// The order's name in the API (and in its cursors).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Relevance => "RELEVANCE",
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

    /// The key the order sorts by (within a rank, for RELEVANCE).
    fn key(self) -> Key {
        match self {
            Self::Relevance | Self::Newest | Self::Oldest => Key::Id,
            Self::PriceAsc | Self::PriceDesc => Key::Price,
            Self::Name => Key::Name,
        }
    }

    /// Where `product` stands in a list in this order; `rank` is how well
    /// it matched the search (RELEVANCE only).
    pub fn position(self, product: &ProductRecord, rank: Option<Rank>) -> Position {
        match self {
            Self::Relevance => Position::Rank {
                rank: rank.unwrap_or(Rank::Text),
                id: product.id,
            },
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
            (Self::Relevance, Position::Rank { .. })
                | (Self::Newest | Self::Oldest, Position::Id(_))
                | (Self::PriceAsc | Self::PriceDesc, Position::Price { .. })
                | (Self::Name, Position::Name { .. })
        )
    }
}

/// The key a statement sorts and bounds by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// `id`.
    Id,
    /// `(price, id)`.
    Price,
    /// `(lower(name), id)`.
    Name,
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
    /// RELEVANCE: the match's rank, then the id.
    Rank {
        /// How well the product matched.
        rank: Rank,
        /// The product's id.
        id: i64,
    },
}

impl Position {
    /// A RELEVANCE position from a cursor's numbers.
    pub fn ranked(rank: i16, id: i64) -> Option<Self> {
        Some(Self::Rank {
            rank: Rank::from_number(rank)?,
            id,
        })
    }

    fn id(&self) -> i64 {
        match self {
            Self::Id(id)
            | Self::Price { id, .. }
            | Self::Name { id, .. }
            | Self::Rank { id, .. } => *id,
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
    /// In which order ([`ProductOrder::of_listing`]).
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

/// The rows of one key strictly between two positions (each missing one
/// the end of the list), read from the highest key down when `descending`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Range {
    key: Key,
    low: Option<Position>,
    high: Option<Position>,
    descending: bool,
}

impl Range {
    fn low_id(&self) -> Option<i64> {
        self.low.as_ref().map(Position::id)
    }

    fn high_id(&self) -> Option<i64> {
        self.high.as_ref().map(Position::id)
    }

    fn low_price(&self) -> Option<i64> {
        self.low.as_ref().and_then(Position::price)
    }

    fn high_price(&self) -> Option<i64> {
        self.high.as_ref().and_then(Position::price)
    }

    fn low_name(&self) -> Option<&str> {
        self.low.as_ref().and_then(Position::name)
    }

    fn high_name(&self) -> Option<&str> {
        self.high.as_ref().and_then(Position::name)
    }
}

/// The range of `req`'s page on its order's key: the bounds, lowest and
/// highest whatever the order's direction, read from the highest down for
/// a forward page of a descending order or a backward page of an ascending
/// one. RELEVANCE's range is on (rank, id); [`matches`] cuts it by rank.
fn range(req: &ListingRequest) -> AppResult<Range> {
    for bound in [&req.after, &req.before].into_iter().flatten() {
        if !req.order.accepts(bound) {
            return Err(AppError::BadRequest(format!(
                "the cursor is not one of orderBy {}",
                req.order.as_str()
            )));
        }
    }
    let (low, high) = if req.order.ascending() {
        (req.after.clone(), req.before.clone())
    } else {
        (req.before.clone(), req.after.clone())
    };
    Ok(Range {
        key: req.order.key(),
        low,
        high,
        descending: req.order.ascending() == req.backward,
    })
}

/// One page of the catalog, each product with its rank when the order is
/// RELEVANCE.
pub async fn page(
    conn: &mut PgConnection,
    req: &ListingRequest,
    walk: i64,
) -> AppResult<Page<(ProductRecord, Option<Rank>)>> {
    let range = range(req)?;
    let rows = if req.filter.search.is_empty() {
        browse::rows(conn, req.filter.in_stock_only, &range, req.limit + 1)
            .await?
            .into_iter()
            .map(|p| (p, None))
            .collect()
    } else {
        matches::rows(conn, req, range, walk).await?
    };
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
        browse::count(conn, filter.in_stock_only).await
    } else {
        matches::count(conn, filter).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product() -> ProductRecord {
        ProductRecord {
            id: 7,
            name: "Mug".into(),
            description: String::new(),
            price: 300,
            stock: 1,
            held_stock: 0,
            created_at: chrono::Utc::now(),
            archived_at: None,
        }
    }

    #[test]
    fn positions_belong_to_their_orders() {
        let product = product();
        for order in ProductOrder::ALL {
            assert_eq!(ProductOrder::parse(order.as_str()), Some(order));
            let position = order.position(&product, Some(Rank::Name));
            assert!(order.accepts(&position));
            assert_eq!(position.id(), 7);
        }
        assert!(!ProductOrder::Name.accepts(&Position::Id(7)));
        assert!(!ProductOrder::Newest.accepts(&ProductOrder::PriceAsc.position(&product, None)));
        assert!(!ProductOrder::Relevance.accepts(&Position::Id(7)));
        assert_eq!(
            Position::ranked(2, 7),
            Some(Position::Rank {
                rank: Rank::Name,
                id: 7
            })
        );
        assert_eq!(Position::ranked(0, 7), None);
        assert_eq!(Position::ranked(4, 7), None);
    }

    #[test]
    fn a_search_lists_by_relevance_unless_asked_otherwise() {
        let words = Search::parse("teapot", 200).unwrap();
        let none = Search::default();
        use ProductOrder::*;
        assert_eq!(ProductOrder::of_listing(None, &words), Relevance);
        assert_eq!(ProductOrder::of_listing(None, &none), Newest);
        assert_eq!(ProductOrder::of_listing(Some(Relevance), &none), Newest);
        assert_eq!(ProductOrder::of_listing(Some(Relevance), &words), Relevance);
        for order in [Newest, Oldest, PriceAsc, PriceDesc, Name] {
            assert_eq!(ProductOrder::of_listing(Some(order), &words), order);
            assert_eq!(ProductOrder::of_listing(Some(order), &none), order);
        }
    }

    #[test]
    fn ranks_are_ordered_best_last() {
        assert!(Rank::Exact > Rank::Name && Rank::Name > Rank::Text);
        for rank in Rank::ALL {
            assert_eq!(Rank::from_number(rank as i16), Some(rank));
        }
    }
}
