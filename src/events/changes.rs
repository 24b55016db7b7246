//! What subscriptions watch: each instance's view of the orders and coupon
//! campaigns its subscribers follow, kept current across instances.
//!
//! A subscription watches one entity through a `tokio::sync::watch`
//! channel shared by every subscriber of that entity on this instance: the
//! entity is read once per change, whatever the number of subscribers, and a
//! slow subscriber skips to the latest state instead of queueing the ones in
//! between. Every subscriber starts from the entity's current state.
//!
//! A change reaches the instances in two ways:
//!
//! - **NATS, at once.** The instance that commits a change announces it on
//!   the core NATS subject `<NATS_CHANGES_SUBJECT>.order.<id>` (or
//!   `.coupon.<id>`); every instance listens on `<NATS_CHANGES_SUBJECT>.>`
//!   and reads the entity again. The announcement carries no data, so a
//!   late or repeated one costs a read and changes nothing.
//! - **The database, always.** Core NATS delivers at most once, and not at
//!   all while NATS is unreachable, so every instance also reads its watched
//!   entities again on a timer: every `SUBSCRIPTION_POLL_MS` while NATS is
//!   unreachable (or not used), every `SUBSCRIPTION_SAFETY_POLL_MS` while it
//!   is. A change is thus late at worst, never lost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{mpsc, watch};

use super::stream;
use crate::config::Config;
use crate::domain::coupon::{self, CouponRecord};
use crate::domain::order::{self, OrderRecord};
use crate::error::AppResult;
use crate::sync;

/// Something a subscriber may follow that a commit changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// An order (its status, its payment).
    Order(i64),
    /// A coupon campaign (its counters).
    Coupon(i64),
}

/// What the subscribers of one entity see.
#[derive(Debug, Clone)]
pub enum Seen<T> {
    /// Not read yet.
    Loading,
    /// No such entity.
    Missing,
    /// The entity as last read.
    Found(Arc<T>),
}

/// This instance's watched entities, and the announcements of changes.
pub struct Changes {
    watched: Arc<Watched>,
    /// Changes to read again (the refresher's queue).
    refresh: mpsc::UnboundedSender<Change>,
    /// Where changes are announced to the other instances, if NATS is used.
    nats: Option<async_nats::Client>,
    subject: String,
    /// Dropped with this value, which stops its tasks.
    _stop: watch::Sender<()>,
}

/// The entities subscribers follow, each with the channel they share.
#[derive(Default)]
struct Watched {
    orders: Mutex<HashMap<i64, watch::Sender<Seen<OrderRecord>>>>,
    coupons: Mutex<HashMap<i64, watch::Sender<Seen<CouponRecord>>>>,
}

impl Changes {
    /// Starts the refresher, the poller and (unless `CHANGES_VIA_NATS` is
    /// off) the NATS listener; it must run inside the Tokio runtime.
    pub async fn start(config: &Config, pool: PgPool) -> Self {
        let (refresh, queue) = mpsc::unbounded_channel();
        let (stop, stopped) = watch::channel(());
        let watched = Arc::new(Watched::default());
        let nats = if config.subscriptions.changes_via_nats {
            stream::connect(config, "commerce-changes", None)
                .await
                .inspect_err(
                    |e| tracing::error!(error = %e, "subscriptions cannot use NATS; polling only"),
                )
                .ok()
        } else {
            None
        };
        tokio::spawn(refresher(watched.clone(), pool, queue));
        let polls = Polls {
            watched: watched.clone(),
            refresh: refresh.downgrade(),
            nats: nats.clone(),
            every: config.subscriptions.poll,
            safety: config.subscriptions.safety_poll,
        };
        tokio::spawn(polls.run(stopped.clone()));
        let subject = config.subscriptions.changes_subject.clone();
        if let Some(client) = &nats {
            tokio::spawn(listen(
                client.clone(),
                subject.clone(),
                refresh.downgrade(),
                stopped,
            ));
        }
        Self {
            watched,
            refresh,
            nats,
            subject,
            _stop: stop,
        }
    }

    /// What subscribers of order `id` see, read now if nobody watched it.
    pub fn watch_order(&self, id: i64) -> watch::Receiver<Seen<OrderRecord>> {
        self.watch(&self.watched.orders, Change::Order(id), id)
    }

    /// What subscribers of campaign `id` see, read now if nobody watched it.
    pub fn watch_coupon(&self, id: i64) -> watch::Receiver<Seen<CouponRecord>> {
        self.watch(&self.watched.coupons, Change::Coupon(id), id)
    }

    fn watch<T>(
        &self,
        watched: &Mutex<HashMap<i64, watch::Sender<Seen<T>>>>,
        change: Change,
        id: i64,
    ) -> watch::Receiver<Seen<T>> {
        let mut watched = sync::lock(watched);
        if let Some(sender) = watched.get(&id) {
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(Seen::Loading);
        watched.insert(id, sender);
        let _ = self.refresh.send(change);
        receiver
    }

    /// Announces committed changes to the subscribers of every instance:
    /// this one's at once, the others' through NATS.
    pub fn announce(&self, changes: &[Change]) {
        for change in changes {
            let _ = self.refresh.send(*change);
        }
        if let Some(client) = &self.nats {
            let subjects: Vec<String> = changes
                .iter()
                .map(|change| match change {
                    Change::Order(id) => format!("{}.order.{id}", self.subject),
                    Change::Coupon(id) => format!("{}.coupon.{id}", self.subject),
                })
                .collect();
            let client = client.clone();
            // Off the request's path: the polls catch what this misses.
            tokio::spawn(async move {
                for subject in subjects {
                    if client.publish(subject, Default::default()).await.is_err() {
                        break;
                    }
                }
            });
        }
    }
}

/// Reads again the entities whose changes it is told of, in batches, and
/// hands subscribers whatever changed.
async fn refresher(
    watched: Arc<Watched>,
    pool: PgPool,
    mut queue: mpsc::UnboundedReceiver<Change>,
) {
    let mut batch = Vec::new();
    while queue.recv_many(&mut batch, 1024).await > 0 {
        let (mut orders, mut coupons) = (Vec::new(), Vec::new());
        for change in batch.drain(..) {
            match change {
                Change::Order(id) => orders.push(id),
                Change::Coupon(id) => coupons.push(id),
            }
        }
        let orders = refresh(
            &watched.orders,
            orders,
            |o| o.id,
            async |ids: &[i64]| order::by_ids(&pool, ids).await,
        );
        if let Err(error) = orders.await {
            tracing::warn!(?error, "cannot read watched orders; the next poll retries");
        }
        let coupons = refresh(
            &watched.coupons,
            coupons,
            |c| c.id,
            async |ids: &[i64]| coupon::by_ids(&pool, ids).await,
        );
        if let Err(error) = coupons.await {
            tracing::warn!(
                ?error,
                "cannot read watched campaigns; the next poll retries"
            );
        }
    }
}

/// Reads the watched ones of `ids` and sends each to its subscribers if it
/// changed.
async fn refresh<T: PartialEq>(
    watched: &Mutex<HashMap<i64, watch::Sender<Seen<T>>>>,
    mut ids: Vec<i64>,
    id_of: impl Fn(&T) -> i64,
    read: impl AsyncFnOnce(&[i64]) -> AppResult<Vec<T>>,
) -> AppResult<()> {
    ids.sort_unstable();
    ids.dedup();
    ids.retain(|id| sync::lock(watched).contains_key(id));
    if ids.is_empty() {
        return Ok(());
    }
    let mut rows: HashMap<i64, T> = read(&ids)
        .await?
        .into_iter()
        .map(|row| (id_of(&row), row))
        .collect();
    let watched = sync::lock(watched);
    for id in ids {
        let Some(sender) = watched.get(&id) else {
            continue;
        };
        let now = rows.remove(&id);
        sender.send_if_modified(|seen| {
            let same = match (&*seen, &now) {
                (Seen::Found(old), Some(new)) => **old == *new,
                (Seen::Missing, None) => true,
                _ => false,
            };
            if !same {
                *seen = match now {
                    Some(row) => Seen::Found(Arc::new(row)),
                    None => Seen::Missing,
                };
            }
            !same
        });
    }
    Ok(())
}

/// The timer that reads every watched entity again.
struct Polls {
    watched: Arc<Watched>,
    refresh: mpsc::WeakUnboundedSender<Change>,
    nats: Option<async_nats::Client>,
    every: Duration,
    safety: Duration,
}

impl Polls {
    async fn run(self, mut stop: watch::Receiver<()>) {
        loop {
            let connected = self
                .nats
                .as_ref()
                .is_some_and(|c| c.connection_state() == async_nats::connection::State::Connected);
            let wait = if connected { self.safety } else { self.every };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
            let Some(refresh) = self.refresh.upgrade() else {
                return;
            };
            // Entities nobody follows any more are forgotten here.
            let orders = watched_ids(&self.watched.orders);
            let coupons = watched_ids(&self.watched.coupons);
            for change in orders
                .into_iter()
                .map(Change::Order)
                .chain(coupons.into_iter().map(Change::Coupon))
            {
                let _ = refresh.send(change);
            }
        }
    }
}

/// The ids that still have subscribers; the others are dropped.
fn watched_ids<T>(watched: &Mutex<HashMap<i64, watch::Sender<Seen<T>>>>) -> Vec<i64> {
    let mut watched = sync::lock(watched);
    watched.retain(|_, sender| sender.receiver_count() > 0);
    watched.keys().copied().collect()
}

/// Hands the changes other instances announce to the refresher.
async fn listen(
    client: async_nats::Client,
    subject: String,
    refresh: mpsc::WeakUnboundedSender<Change>,
    mut stop: watch::Receiver<()>,
) {
    use async_graphql::futures_util::StreamExt;
    let mut announcements = match client.subscribe(format!("{subject}.>")).await {
        Ok(subscriber) => subscriber,
        Err(error) => {
            tracing::error!(%error, "cannot listen for changes on NATS; polling only");
            return;
        }
    };
    loop {
        let message = tokio::select! {
            message = announcements.next() => message,
            _ = stop.changed() => return,
        };
        let (Some(message), Some(refresh)) = (message, refresh.upgrade()) else {
            return;
        };
        let mut parts = message.subject.as_str().rsplit('.');
        let id = parts.next().and_then(|id| id.parse().ok());
        let change = match (parts.next(), id) {
            (Some("order"), Some(id)) => Change::Order(id),
            (Some("coupon"), Some(id)) => Change::Coupon(id),
            _ => continue,
        };
        let _ = refresh.send(change);
    }
}
