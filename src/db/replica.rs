//! The read replica (`DATABASE_READ_URL`): a streaming standby that serves
//! query operations, with the primary as its fallback.
//!
//! Only query operations read from it ([`super::Reads`]); mutations, their
//! payloads and subscriptions read from the primary, so that a client
//! always reads its own write in the payload of the mutation that made it,
//! and so do user rows ([`super::Reads::run_fresh`]): the primary creates a
//! caller's row at first sight, before the replica has it.
//! A query may lag the primary by the replica's replay lag.
//!
//! A background task ([`Replica::sample_until_closed`]) measures that lag
//! every `DATABASE_READ_LAG_SAMPLE_MS`, comparing the primary's WAL position
//! (`pg_current_wal_lsn()`) with what the replica has replayed
//! (`pg_last_wal_replay_lsn()`). Positions rather than
//! `now() - pg_last_xact_replay_timestamp()`, which grows without bound
//! while the primary is idle although the replica is fully caught up. The
//! lag in seconds is the age of the oldest primary position the replica
//! had not replayed when sampled (0 once it has replayed all of them), so
//! it is exact to one sampling interval.
//!
//! The replica is skipped, and queries read from the primary, while it is
//! unreachable (a connection it cannot hand out within
//! [`REPLICA_ACQUIRE_TIMEOUT`], a connection error mid-query) or lags by
//! more than `DATABASE_READ_MAX_LAG_MS`; the next sample that finds it
//! answering, and within the limit, puts it back in use.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

use super::{PoolSpec, WarmReads};
use crate::config::Config;

/// The longest a query waits for a replica connection before it reads from
/// the primary instead (and the replica is skipped until the next sample
/// finds it answering): a replica that is down must not hold queries up
/// for the whole `DATABASE_ACQUIRE_TIMEOUT_MS`.
pub const REPLICA_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// The most primary positions kept while the replica is behind.
const MAX_POSITIONS: usize = 4096;

/// The replica's pool and what the last sample found.
pub struct Replica {
    /// The replica's own pool (`application_name` `commerce-read`).
    pub pool: PgPool,
    /// Connections of finished queries on the replica, kept for the next.
    pub warm: Arc<WarmReads>,
    max_lag: Option<Duration>,
    sample_every: Duration,
    /// Whether the last sample (or query) reached the replica.
    reachable: AtomicBool,
    /// Whether queries go to it: reachable, and within the lag limit.
    usable: AtomicBool,
    lag_bytes: AtomicI64,
    lag_millis: AtomicU64,
    closed: AtomicBool,
}

/// What `/metrics` shows of the replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// Whether the last sample reached it.
    pub up: bool,
    /// Whether queries read from it now.
    pub in_use: bool,
    /// WAL bytes the primary has written that it has not replayed.
    pub lag_bytes: i64,
    /// How long it has been behind (see the module docs).
    pub lag: Duration,
}

impl Replica {
    /// The replica of `DATABASE_READ_URL`, if it is set. Connects lazily:
    /// a replica that is down when the server starts is only skipped.
    pub fn connect(config: &Config) -> Result<Option<Arc<Self>>, sqlx::Error> {
        let Some(url) = &config.database.read_url else {
            return Ok(None);
        };
        let database = &config.database;
        let max = database.read_max_connections;
        let pool = PoolSpec {
            url,
            application: "commerce-read",
            max_connections: max,
            min_connections: database.min_connections.min(max),
            acquire_timeout: database.acquire_timeout.min(REPLICA_ACQUIRE_TIMEOUT),
            statement_timeout: database.statement_timeout,
            // It runs no transactions that could be left open.
            idle_in_transaction_timeout: None,
        }
        .open()?;
        Ok(Some(Arc::new(Self {
            // Every connection of this pool serves queries.
            warm: Arc::new(WarmReads::with_capacity(max as usize)),
            pool,
            max_lag: config.database.read_max_lag,
            sample_every: config.database.read_lag_sample_interval,
            // Trusted until the first sample or query says otherwise.
            reachable: AtomicBool::new(true),
            usable: AtomicBool::new(true),
            lag_bytes: AtomicI64::new(0),
            lag_millis: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        })))
    }

    /// Whether queries should read from the replica now.
    pub fn usable(&self) -> bool {
        self.usable.load(Ordering::Acquire)
    }

    /// A connection to the replica for a query: a warm one, or one from its
    /// pool. An error marks the replica unreachable until the next sample.
    pub async fn acquire(&self) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        if let Some(conn) = self.warm.take() {
            return Ok(conn);
        }
        self.pool
            .acquire()
            .await
            .inspect_err(|e| self.mark_unreachable(e))
    }

    /// Skips the replica until a sample finds it answering again (a
    /// connection it could not hand out, or one that broke mid-query).
    pub fn mark_unreachable(&self, error: &dyn std::fmt::Display) {
        self.usable.store(false, Ordering::Release);
        // Its warm connections died with it: none may serve a query once
        // it is back.
        self.warm.clear();
        if self.reachable.swap(false, Ordering::AcqRel) {
            tracing::warn!(%error, "the read replica is unreachable: queries read from the primary");
        }
    }

    /// What the last sample found.
    pub fn status(&self) -> ReplicaStatus {
        ReplicaStatus {
            up: self.reachable.load(Ordering::Acquire),
            in_use: self.usable(),
            lag_bytes: self.lag_bytes.load(Ordering::Acquire),
            lag: Duration::from_millis(self.lag_millis.load(Ordering::Acquire)),
        }
    }

    /// Measures the lag every sampling interval (see the module docs) and
    /// decides whether queries use the replica, until [`Replica::close`].
    pub async fn sample_until_closed(self: Arc<Self>, primary: PgPool) {
        let mut behind = Behind::default();
        while !self.closed.load(Ordering::Acquire) {
            self.sample(&primary, &mut behind).await;
            tokio::time::sleep(self.sample_every).await;
        }
    }

    async fn sample(&self, primary: &PgPool, behind: &mut Behind) {
        // The primary first: a replica position read after it and at least
        // as far along has replayed everything up to then.
        let written = sqlx::query_scalar!(
            r#"SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::BIGINT AS "lsn!""#
        )
        .fetch_one(primary);
        let written = match tokio::time::timeout(REPLICA_ACQUIRE_TIMEOUT, written).await {
            Ok(Ok(lsn)) => Some((Instant::now(), lsn)),
            // The primary's outage is reported elsewhere; the lag is then
            // measured against the positions read before it.
            _ => None,
        };
        let replayed = sqlx::query_scalar!(
            r#"SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::BIGINT AS "lsn?""#
        )
        .fetch_one(&self.pool);
        let replayed = match tokio::time::timeout(REPLICA_ACQUIRE_TIMEOUT, replayed).await {
            Ok(Ok(lsn)) => lsn,
            // The server is shutting down and closed the pool under it.
            _ if self.closed.load(Ordering::Acquire) => return,
            Ok(Err(e)) => return self.mark_unreachable(&e),
            Err(_) => return self.mark_unreachable(&"no answer within 1 s"),
        };
        let (lag, lag_bytes) = behind.update(written, replayed, Instant::now());
        self.lag_bytes.store(lag_bytes, Ordering::Release);
        self.lag_millis.store(
            u64::try_from(lag.as_millis()).unwrap_or(u64::MAX),
            Ordering::Release,
        );
        let within = self.max_lag.is_none_or(|max| lag <= max);
        if !self.reachable.swap(true, Ordering::AcqRel) {
            tracing::info!("the read replica answers again");
        }
        if self.usable.swap(within, Ordering::AcqRel) != within {
            tracing::info!(
                lag_ms = lag.as_millis(),
                "queries now read from the {}",
                if within {
                    "replica"
                } else {
                    "primary (the replica lags too far)"
                }
            );
        }
    }

    /// Stops the sampling and gives the warm connections back to the pool.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.warm.close();
    }
}

/// The primary's WAL positions that the replica had not replayed at the
/// last sample, oldest first, each with when it was read: what the lag is
/// measured from.
#[derive(Debug, Default)]
struct Behind(VecDeque<(Instant, i64)>);

impl Behind {
    /// Takes in a sample (the primary's position `written`, if it could be
    /// read, then the replica's `replayed`, `None` when it is no standby)
    /// and returns the lag then: how long ago the primary was at the
    /// oldest position not yet replayed, and how many bytes the replica is
    /// behind the newest one.
    fn update(
        &mut self,
        written: Option<(Instant, i64)>,
        replayed: Option<i64>,
        now: Instant,
    ) -> (Duration, i64) {
        let positions = &mut self.0;
        // An idle primary adds nothing: the oldest entry keeps its time.
        if let Some((at, lsn)) = written
            && positions.back().is_none_or(|(_, last)| *last < lsn)
        {
            positions.push_back((at, lsn));
            // Bounded for a replica that stalls for good: the oldest entry
            // (which the lag is measured from) and the newest stay.
            if positions.len() > MAX_POSITIONS {
                positions.remove(1);
            }
        }
        // Not in recovery: not a standby (a promoted replica, or the
        // primary itself), which lags nothing.
        let replayed = replayed.unwrap_or(i64::MAX);
        while positions.front().is_some_and(|(_, lsn)| *lsn <= replayed) {
            positions.pop_front();
        }
        let lag = positions
            .front()
            .map_or(Duration::ZERO, |(at, _)| now.saturating_duration_since(*at));
        let bytes = positions.back().map_or(0, |(_, lsn)| lsn - replayed);
        (lag, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lag_is_the_age_of_the_oldest_position_not_yet_replayed() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut behind = Behind::default();
        // Caught up.
        assert_eq!(
            behind.update(Some((at(0), 100)), Some(100), at(0)),
            (Duration::ZERO, 0)
        );
        // Behind by 50 bytes, read just now.
        assert_eq!(
            behind.update(Some((at(1000), 150)), Some(100), at(1000)),
            (Duration::ZERO, 50)
        );
        // Still there a second later while the primary wrote more.
        assert_eq!(
            behind.update(Some((at(2000), 300)), Some(100), at(2000)),
            (Duration::from_secs(1), 200)
        );
        // Past the first position: measured from the next one.
        assert_eq!(
            behind.update(Some((at(3000), 300)), Some(200), at(3000)),
            (Duration::from_secs(1), 100)
        );
        // The primary unreachable: still measured from what was read.
        assert_eq!(
            behind.update(None, Some(200), at(4000)),
            (Duration::from_secs(2), 100)
        );
        assert_eq!(
            behind.update(Some((at(5000), 300)), Some(300), at(5000)),
            (Duration::ZERO, 0)
        );
    }

    #[test]
    fn an_idle_primary_does_not_look_like_lag() {
        let t0 = Instant::now();
        let mut behind = Behind::default();
        for s in 0..10 {
            let now = t0 + Duration::from_secs(s);
            assert_eq!(
                behind.update(Some((now, 500)), Some(500), now),
                (Duration::ZERO, 0)
            );
        }
        // A standby that is no longer one (promoted) lags nothing.
        let now = t0 + Duration::from_secs(11);
        assert_eq!(
            behind.update(Some((now, 900)), None, now),
            (Duration::ZERO, 0)
        );
    }
}
