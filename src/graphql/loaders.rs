//! DataLoaders: fields that fetch related rows go through these, so a list of
//! N items costs one query per relation instead of N.
//!
//! Every loader is one of two shapes over a domain read that takes a slice
//! of ids: [`ByKey`] (one row per key) and [`Grouped`] (all rows per key).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::futures_util::future::BoxFuture;
use sqlx::PgConnection;

use crate::db::Reads;
use crate::domain::coupon::{self, CouponRecord};
use crate::domain::order::{self, OrderItemRecord, OrderRecord};
use crate::domain::payment::{self, PaymentRecord};
use crate::domain::product::{self, ProductRecord};
use crate::domain::user::{self, UserRecord};
use crate::domain::user_coupon::{self, UserCouponRecord};
use crate::error::{AppError, AppResult};

/// A loader's error: shared, because one failed batch fails every field
/// that waited on it.
pub type LoadError = Arc<AppError>;

/// A domain read of the rows matching some keys.
type Fetch<V> = for<'a> fn(&'a mut PgConnection, &'a [i64]) -> BoxFuture<'a, AppResult<Vec<V>>>;

/// Loads one row per key.
pub struct ByKey<V> {
    reads: Arc<Reads>,
    fetch: Fetch<V>,
    key: fn(&V) -> i64,
}

impl<V: Clone + Send + Sync + 'static> Loader<i64> for ByKey<V> {
    type Value = V;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, V>, LoadError> {
        let mut conn = self.reads.connection().await.map_err(Arc::new)?;
        let rows = (self.fetch)(&mut conn, keys).await.map_err(Arc::new)?;
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
        let mut conn = self.reads.connection().await.map_err(Arc::new)?;
        let rows = (self.fetch)(&mut conn, keys).await.map_err(Arc::new)?;
        let mut groups: HashMap<i64, Vec<V>> = HashMap::new();
        for row in rows {
            groups.entry((self.key)(&row)).or_default().push(row);
        }
        Ok(groups)
    }
}

/// The loaders of one request (fresh per request, so nothing is cached
/// across callers).
pub struct Loaders {
    /// Products by id.
    pub products: DataLoader<ByKey<ProductRecord>>,
    /// Users by id.
    pub users: DataLoader<ByKey<UserRecord>>,
    /// Orders by id.
    pub orders: DataLoader<ByKey<OrderRecord>>,
    /// Order lines by order id.
    pub order_items: DataLoader<Grouped<OrderItemRecord>>,
    /// Payments by id.
    pub payments: DataLoader<ByKey<PaymentRecord>>,
    /// Payments by order id.
    pub order_payments: DataLoader<ByKey<PaymentRecord>>,
    /// Coupon campaigns by id.
    pub coupons: DataLoader<ByKey<CouponRecord>>,
    /// Issued coupons by id.
    pub user_coupons: DataLoader<ByKey<UserCouponRecord>>,
    /// Issued coupons by the order they paid for.
    pub order_coupons: DataLoader<ByKey<UserCouponRecord>>,
}

fn by_key<V: Clone + Send + Sync + 'static>(
    reads: &Arc<Reads>,
    fetch: Fetch<V>,
    key: fn(&V) -> i64,
) -> DataLoader<ByKey<V>> {
    loader(ByKey {
        reads: reads.clone(),
        fetch,
        key,
    })
}

fn grouped<V: Clone + Send + Sync + 'static>(
    reads: &Arc<Reads>,
    fetch: Fetch<V>,
    key: fn(&V) -> i64,
) -> DataLoader<Grouped<V>> {
    loader(Grouped {
        reads: reads.clone(),
        fetch,
        key,
    })
}

/// How many times a batch lets the request's other resolvers run before it
/// fetches (see [`loader`]).
const BATCH_YIELDS: usize = 4;

/// A DataLoader that fetches once the resolvers waiting on it have all
/// asked, without a timer.
///
/// async-graphql resolves a list of more than 30 items through
/// `FuturesUnordered`, which hands control back to the runtime part-way
/// through the list; a batch that ran then would fetch for the first part
/// only, and the rest would make a second query. So the batch yields a few
/// times first, each time letting the request poll its next part of the
/// list (32 items): enough for the largest page (100). The default 1 ms
/// timer would split such lists as well, and add a millisecond per nested
/// level to every request.
fn loader<L: Send + Sync + 'static>(inner: L) -> DataLoader<L> {
    DataLoader::new(inner, |batch| {
        tokio::spawn(async move {
            for _ in 0..BATCH_YIELDS {
                tokio::task::yield_now().await;
            }
            batch.await
        })
    })
    .delay(Duration::ZERO)
}

impl Loaders {
    /// Fresh loaders reading through `reads`.
    pub fn new(reads: &Arc<Reads>) -> Self {
        Self {
            products: by_key(reads, |c, ids| Box::pin(product::by_ids(c, ids)), |r| r.id),
            users: by_key(reads, |c, ids| Box::pin(user::by_ids(c, ids)), |r| r.id),
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
        }
    }
}
