//! DataLoaders: fields that fetch related rows go through these, so a list of
//! N items costs one query per relation instead of N.
//!
//! Every loader is one of two shapes over a domain read that takes a slice
//! of ids: [`ByKey`] (one row per key) and [`Grouped`] (all rows per key).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use async_graphql::futures_util::future::BoxFuture;
use sqlx::PgConnection;

use crate::db::Reads;
use crate::domain::balance::{self, EntryRecord};
use crate::domain::coupon::{self, CouponRecord};
use crate::domain::order::{self, OrderItemRecord, OrderRecord};
use crate::domain::payment::{self, PaymentRecord};
use crate::domain::product::{self, ProductRecord};
use crate::domain::settlement::{self, PaymentRequest, Quote};
use crate::domain::user::{self, UserRecord};
use crate::domain::user_coupon::{self, UserCouponRecord};
use crate::error::{AppError, AppResult};

use crate::sync::lock;

/// A loader's error: shared, because one failed batch fails every field
/// that waited on it.
#[derive(Debug, Clone)]
pub struct LoadError(pub Arc<AppError>);

impl From<AppError> for LoadError {
    fn from(err: AppError) -> Self {
        Self(Arc::new(err))
    }
}

/// A request's loader. Its cache is on for a query (rows fetched once per
/// request), off for a mutation, whose writes would make cached rows stale.
/// Rows a resolver fetches ahead are kept beside the loaders, not in their
/// caches (see `Prefetched`).
pub type RequestLoader<L> = DataLoader<L, HashMapCache<FastHash>>;

/// The hasher of the loaders' caches and groupings. Their keys are database
/// ids, not text a client chose, so they need no SipHash (std's default,
/// built to resist collision flooding); a nested read hashes a few hundred
/// ids per request.
type FastHash = foldhash::fast::RandomState;

/// A domain read of the rows matching some keys.
type Fetch<V> = for<'a> fn(&'a mut PgConnection, &'a [i64]) -> BoxFuture<'a, AppResult<Vec<V>>>;

/// Runs `fetch` for `keys` on the request's reads (on the primary when
/// `fresh`, see [`Reads::run_fresh`]).
async fn read<V: Send + 'static>(
    reads: &Reads,
    fetch: Fetch<V>,
    keys: &[i64],
    fresh: bool,
) -> Result<Vec<V>, LoadError> {
    let keys = keys.to_vec();
    let read = async move |conn: &mut PgConnection| fetch(conn, &keys).await;
    Ok(if fresh {
        reads.run_fresh(read).await?
    } else {
        reads.run(read).await?
    })
}

/// Loads one row per key.
pub struct ByKey<V> {
    reads: Arc<Reads>,
    fetch: Fetch<V>,
    key: fn(&V) -> i64,
    /// Read from the primary even in a query served by a replica.
    fresh: bool,
}

impl<V: Clone + Send + Sync + 'static> Loader<i64> for ByKey<V> {
    type Value = V;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, V>, LoadError> {
        let rows = read(&self.reads, self.fetch, keys, self.fresh).await?;
        Ok(rows
            .into_iter()
            .map(|row| ((self.key)(&row), row))
            .collect())
    }
}

/// Loads every row per key (a one-to-many relation), in the read's order.
pub struct Grouped<V> {
    reads: Arc<Reads>,
    fetch: Fetch<V>,
    key: fn(&V) -> i64,
}

impl<V: Clone + Send + Sync + 'static> Loader<i64> for Grouped<V> {
    type Value = Vec<V>;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Vec<V>>, LoadError> {
        let rows = read(&self.reads, self.fetch, keys, false).await?;
        let mut groups: HashMap<i64, Vec<V>> = HashMap::new();
        for row in rows {
            groups.entry((self.key)(&row)).or_default().push(row);
        }
        Ok(groups)
    }
}

/// Dry runs of payments (`Order.quote`): the quotes a list of orders asks
/// for are decided over one read, not five statements per order.
pub struct Quotes {
    reads: Arc<Reads>,
}

impl Loader<PaymentRequest> for Quotes {
    type Value = Quote;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[PaymentRequest],
    ) -> Result<HashMap<PaymentRequest, Quote>, LoadError> {
        let requests = keys.to_vec();
        Ok(self
            .reads
            .run(async move |conn| settlement::quotes(conn, &requests).await)
            .await?)
    }
}

/// The loaders of one request (fresh per request, so nothing is cached
/// across callers).
pub struct Loaders {
    /// Products by id (read through [`Loaders::product`]).
    products: RequestLoader<ByKey<ProductRecord>>,
    /// Users by id, read from the primary (see [`Reads::run_fresh`]).
    pub users: RequestLoader<ByKey<UserRecord>>,
    /// Orders by id.
    pub orders: RequestLoader<ByKey<OrderRecord>>,
    /// Order lines by order id (read through [`Loaders::order_lines`]).
    order_items: RequestLoader<Grouped<OrderItemRecord>>,
    /// Payments by id.
    pub payments: RequestLoader<ByKey<PaymentRecord>>,
    /// Payments by order id.
    pub order_payments: RequestLoader<ByKey<PaymentRecord>>,
    /// Coupon campaigns by id.
    pub coupons: RequestLoader<ByKey<CouponRecord>>,
    /// Issued coupons by id.
    pub user_coupons: RequestLoader<ByKey<UserCouponRecord>>,
    /// Issued coupons by the order they paid for.
    pub order_coupons: RequestLoader<ByKey<UserCouponRecord>>,
    /// Balance ledger rows by id.
    pub balance_entries: RequestLoader<ByKey<EntryRecord>>,
    /// Quotes of payments.
    pub quotes: RequestLoader<Quotes>,
    /// Rows fetched ahead of the fields that need them.
    prefetched: Mutex<Prefetched>,
}

/// Rows a resolver fetched ahead for the fields below it: a page of orders'
/// lines and their products ([`Loaders::prefetch_order_lines`]). Those
/// fields take them from here by id, rather than through the DataLoader's
/// cache, which costs each lookup a lock, a hash set, a hash map of one
/// result and a copy of the rows.
#[derive(Default)]
struct Prefetched {
    lines: HashMap<i64, Arc<[OrderItemRecord]>, FastHash>,
    products: HashMap<i64, ProductRecord, FastHash>,
}

fn by_key<V: Clone + Send + Sync + 'static>(
    reads: &Arc<Reads>,
    fetch: Fetch<V>,
    key: fn(&V) -> i64,
) -> RequestLoader<ByKey<V>> {
    loader(
        ByKey {
            reads: reads.clone(),
            fetch,
            key,
            fresh: false,
        },
        reads.is_shared(),
    )
}

/// Like [`by_key`], reading from the primary even in a query served by a
/// replica: for the rows a caller must always find fresh.
fn fresh_by_key<V: Clone + Send + Sync + 'static>(
    reads: &Arc<Reads>,
    fetch: Fetch<V>,
    key: fn(&V) -> i64,
) -> RequestLoader<ByKey<V>> {
    loader(
        ByKey {
            reads: reads.clone(),
            fetch,
            key,
            fresh: true,
        },
        reads.is_shared(),
    )
}

fn grouped<V: Clone + Send + Sync + 'static>(
    reads: &Arc<Reads>,
    fetch: Fetch<V>,
    key: fn(&V) -> i64,
) -> RequestLoader<Grouped<V>> {
    loader(
        Grouped {
            reads: reads.clone(),
            fetch,
            key,
        },
        reads.is_shared(),
    )
}

/// How many times a batch lets the request's other resolvers run before it
/// fetches (see [`loader`]).
const BATCH_YIELDS: usize = 4;

/// A DataLoader that fetches once the resolvers waiting on it have all
/// asked, without a timer.
///
/// async-graphql's default waits 1 ms for a batch to fill: a millisecond
/// added to every request at every level a loader serves (a `product(id)`,
/// a cart's products; docs/benchmarks.md, the mixed scenario). Without the timer, a batch must
/// still wait for the whole list: async-graphql resolves a list of more than
/// 30 items through `FuturesUnordered`, which hands control back to the
/// runtime part-way through, so a batch that ran then would fetch for the
/// first part only and the rest would make a second query. The batch
/// yields a few times first, each letting the request poll its next part of
/// the list (32 items): enough for the largest page (100). A test counts
/// the statements of a page of 1 and of 50 orders (`tests/api/orders.rs`).
///
/// Its cache is on only when `cache` (see [`RequestLoader`]).
fn loader<L: Send + Sync + 'static>(inner: L, cache: bool) -> RequestLoader<L> {
    let loader = DataLoader::with_cache(
        inner,
        |batch| {
            tokio::spawn(async move {
                for _ in 0..BATCH_YIELDS {
                    tokio::task::yield_now().await;
                }
                batch.await
            })
        },
        HashMapCache::<FastHash>::new(),
    )
    .delay(std::time::Duration::ZERO);
    loader.enable_all_cache(cache);
    loader
}

impl Loaders {
    /// Fetches the lines of `orders` (and, when `products`, the lines'
    /// products) on `conn` and keeps them for [`Loaders::order_lines`] and
    /// [`Loaders::product`], so that a page of orders whose lines the query
    /// asks for gets them without a batch per level: the same statements,
    /// none of the batching machinery. Only for a query, whose rows no write
    /// of its own can make stale.
    pub async fn prefetch_order_lines(
        &self,
        conn: &mut PgConnection,
        orders: &[i64],
        products: bool,
    ) -> AppResult<()> {
        if orders.is_empty() {
            return Ok(());
        }
        let lines = order::items_of(&mut *conn, orders).await?;
        let rows = if products {
            let mut ids: Vec<i64> = lines.iter().map(|l| l.product_id).collect();
            ids.sort_unstable();
            ids.dedup();
            product::by_ids(&mut *conn, &ids).await?
        } else {
            Vec::new()
        };
        // Lines come ordered by order: each order's are one run of them.
        // An order without lines is remembered too (as none).
        let mut grouped: HashMap<i64, Arc<[OrderItemRecord]>, FastHash> =
            HashMap::with_capacity_and_hasher(orders.len(), FastHash::default());
        for run in lines.chunk_by(|a, b| a.order_id == b.order_id) {
            grouped.insert(run[0].order_id, run.into());
        }
        for id in orders {
            grouped.entry(*id).or_insert_with(|| Arc::from([]));
        }
        let mut prefetched = lock(&self.prefetched);
        prefetched.lines.extend(grouped);
        prefetched
            .products
            .extend(rows.into_iter().map(|p| (p.id, p)));
        Ok(())
    }

    /// The lines of `order`, prefetched or loaded.
    pub async fn order_lines(&self, order: i64) -> Result<Arc<[OrderItemRecord]>, LoadError> {
        if let Some(lines) = lock(&self.prefetched).lines.get(&order) {
            return Ok(lines.clone());
        }
        let lines = self.order_items.load_one(order).await?;
        Ok(lines.map(Arc::from).unwrap_or_else(|| Arc::from([])))
    }

    /// The product `id`, prefetched or loaded; `None` when there is none.
    pub async fn product(&self, id: i64) -> Result<Option<ProductRecord>, LoadError> {
        if let Some(product) = lock(&self.prefetched).products.get(&id) {
            return Ok(Some(product.clone()));
        }
        self.products.load_one(id).await
    }

    /// Fresh loaders reading through `reads`. Only a query's loaders cache
    /// rows: its reads share one connection and see no writes of its own.
    pub fn new(reads: &Arc<Reads>) -> Self {
        Self {
            products: by_key(reads, |c, ids| Box::pin(product::by_ids(c, ids)), |r| r.id),
            // From the primary: a caller's user row is made on the primary
            // at first sight (and may not have reached the replica yet),
            // and a balance is money a client acts on.
            users: fresh_by_key(reads, |c, ids| Box::pin(user::by_ids(c, ids)), |r| r.id),
            orders: by_key(reads, |c, ids| Box::pin(order::by_ids(c, ids)), |r| r.id),
            order_items: grouped(
                reads,
                |c, ids| Box::pin(order::items_of(c, ids)),
                |r| r.order_id,
            ),
            payments: by_key(reads, |c, ids| Box::pin(payment::by_ids(c, ids)), |r| r.id),
            order_payments: by_key(
                reads,
                |c, ids| Box::pin(payment::of_orders(c, ids)),
                |r| r.order_id,
            ),
            coupons: by_key(reads, |c, ids| Box::pin(coupon::by_ids(c, ids)), |r| r.id),
            user_coupons: by_key(
                reads,
                |c, ids| Box::pin(user_coupon::by_ids(c, ids)),
                |r| r.id,
            ),
            order_coupons: by_key(
                reads,
                |c, ids| Box::pin(user_coupon::of_orders(c, ids)),
                // Only used coupons have an order, and only those are loaded.
                |r| r.order_id.unwrap_or_default(),
            ),
            balance_entries: by_key(
                reads,
                |c, ids| Box::pin(balance::entries_by_ids(c, ids)),
                |r| r.id,
            ),
            quotes: loader(
                Quotes {
                    reads: reads.clone(),
                },
                reads.is_shared(),
            ),
            prefetched: Mutex::default(),
        }
    }
}
