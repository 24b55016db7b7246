//! The scale scenario (issue 26): `cargo bench --bench suite -- scale`.
//!
//! The other scenarios seed what they need into a nearly empty database,
//! which says nothing of a shop a year old: a plan that reads a whole
//! table, or a keyset page whose cost grows with its depth, costs nothing
//! on 20,000 orders. This scenario seeds a year of a busy shop (1,000,000
//! products, 200,000 users, 2,000,000 orders with their lines, payments,
//! ledger rows and events, 100 coupon campaigns: `scale_seed.rs`) and the
//! same shop at today's small sizes, starts a server on each, and runs
//! every read and write path on both with the same driver: the nested
//! read (of random customers, and of the busiest one), product pages,
//! searches, catalog pages in each order (and with `totalCount`), the
//! admin order list at pages 1 and 500 both ways (with `totalCount`, and
//! by a rare status), the balance history's deep pages, the coupon rush,
//! hot-product payments and refunds. Each path's p50 at scale must stay
//! within [`TARGET`] of its p50 on the small shop. Then it checks the plan
//! of every statement the server runs on the big database (`plans.rs`),
//! and fails the run if a request path's plan reads a whole big table.
//! `BENCH_SCALE_PLAN_CACHE_MODE` sets PostgreSQL's `plan_cache_mode` on
//! both shops' databases, for an A/B of generic plans.
//!
//! The reads run at a few connections, so that the latency is the
//! request's own and not a queue's, for a fixed time per round (a fast
//! path makes thousands of requests, a slow one a few), in alternating
//! rounds (small then big, then big then small...) so that both meet the
//! shared machine's ups and downs alike; a path's p50 is the median of its
//! rounds' p50s. The writes are the suite's own scenarios
//! (`Bench::coupon_rush_as`, `hot_payments_as`, `hot_refunds`, with their
//! pgbench baselines and audits), run once on each shop, small or big
//! first in turn.
//!
//! Not in the default run of the suite: the first run seeds the big
//! shop's template (two to three minutes), each run copies it (2.4 GB)
//! and takes four to eight minutes more (docs/benchmarks.md, "Scale").

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use commerce::auth::Authenticator;
use commerce::global_id::{encode, types};
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::load::{self, Call, Run};
use crate::plans::{self, Prepared};
use crate::scale_seed::{self, BIG, SMALL, Seeded, Shape};
use crate::scenarios::{self, Bench, Report};
use crate::server::Server;

/// Every path's p50 at scale must be at most this many times its p50 on
/// the small shop.
pub const TARGET: f64 = 1.5;
/// Connections of the read paths' driver.
const CONCURRENCY: usize = 4;
/// How long each round sends one path's requests to one shop: a fast
/// path makes thousands of requests in it, a slow one a few (a fixed
/// count would make the slow paths take minutes).
const ROUND: Duration = Duration::from_secs(1);
/// How long each path warms each shop up before its first round (its
/// statements prepared on every pooled connection, past the five runs
/// after which PostgreSQL may switch to a generic plan; caches warm).
const WARM: Duration = Duration::from_secs(1);
/// Distinct requests made per path and shop, sent in turn.
const DISTINCT: usize = 2_048;
const ROUNDS: usize = 3;
/// The depth of "page 500" (20 a page).
const PAGE_500: i64 = 499 * 20;

const PRODUCT: &str = "query($id: ID!) { product(id: $id) { id name description price stock } }";
const SEARCH: &str =
    "query($s: String) { products(first: 20, search: $s) { nodes { id name price } } }";
const BROWSE: &str =
    "query($o: ProductOrder) { products(first: 20, orderBy: $o) { nodes { id name price } } }";
const ORDERS_FORWARD: &str =
    "query($a: String) { orders(first: 20, after: $a) { nodes { id status totalAmount } } }";
const ORDERS_BACKWARD: &str =
    "query($b: String) { orders(last: 20, before: $b) { nodes { id status totalAmount } } }";
const HISTORY_FORWARD: &str = "query($a: String) { viewer { balanceHistory(first: 20, after: $a) { nodes { id kind amount } } } }";
const HISTORY_OLDEST: &str = "{ viewer { balanceHistory(last: 20) { nodes { id kind amount } } } }";
const ORDERS_COUNTED: &str = "{ orders(first: 20) { totalCount nodes { id status totalAmount } } }";
const CATALOG_COUNTED: &str = "{ products(first: 20) { totalCount nodes { id name price } } }";
const ORDERS_PENDING: &str =
    "{ orders(first: 20, status: PENDING) { nodes { id status totalAmount } } }";

/// One shop: its database, its server and what the paths need of it.
struct Side {
    shape: Shape,
    seeded: Seeded,
    server: Server,
    pool: PgPool,
    stream: String,
    /// Tokens of users with at least 20 orders (the nested read's readers).
    readers: Vec<String>,
    /// The token of the user with the longest balance history (who has
    /// the most orders too).
    busiest: String,
    /// That history's length, and the cursor 90 % down it.
    history: i64,
    history_cursor: String,
    /// The cursors of page 500 of the admin's order list, newest first
    /// (`after`) and oldest first (`before`).
    orders_after: String,
    orders_before: String,
    /// An admin's token, and a shopper's.
    admin: String,
    shopper: String,
}

/// How a read path makes its `i`th request on a side.
type Make = Box<dyn Fn(&Side, usize) -> Call>;

/// A read path: its name, how to make its requests, and how to name an
/// answer.
struct Path {
    name: &'static str,
    make: Make,
    outcome: fn(&[u8]) -> String,
}

/// What one path measured on one side.
#[derive(Default)]
struct Measure {
    rounds: Vec<f64>,
    all: Option<Run>,
}

impl Measure {
    fn add(&mut self, run: Run) {
        self.rounds.push(run.percentile_ms(0.5));
        match &mut self.all {
            Some(all) => all.absorb(run),
            None => self.all = Some(run),
        }
    }

    fn p50(&self) -> f64 {
        median(&self.rounds)
    }

    fn p99(&self) -> f64 {
        self.all.as_ref().map_or(0.0, |r| r.percentile_ms(0.99))
    }

    fn outcomes(&self) -> String {
        self.all
            .as_ref()
            .map_or(String::new(), |r| scenarios::outcomes(&r.outcomes))
    }

    fn all_ok(&self) -> bool {
        self.all
            .as_ref()
            .is_some_and(|r| r.outcomes.keys().all(|k| k == "ok"))
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// A row of the final table.
struct Row {
    path: String,
    small: (f64, f64),
    big: (f64, f64),
    /// Whether the path's answers and checks were all as expected.
    ok: bool,
}

impl Row {
    fn ratio(&self) -> f64 {
        self.big.0 / self.small.0.max(f64::MIN_POSITIVE)
    }

    fn met(&self) -> bool {
        self.ok && self.ratio() <= TARGET
    }
}

/// The cursor of a row of an id-ordered listing: the format of
/// `src/graphql/ids.rs`, checked against one the API issued
/// ([`Side::check_cursor`]).
fn cursor(id: i64) -> String {
    STANDARD.encode(format!("cursor:{id}"))
}

/// An answer with data and no error.
fn answered(body: &[u8]) -> String {
    if body.starts_with(b"{\"data\"") && !body.windows(8).any(|w| w == b"\"errors\"") {
        "ok".into()
    } else {
        "error".into()
    }
}

/// How many objects with an id the answer holds.
fn ids_in(body: &[u8]) -> usize {
    body.windows(5).filter(|w| w == b"\"id\":").count()
}

/// A full page: 20 items.
fn full_page(body: &[u8]) -> String {
    match (answered(body).as_str(), ids_in(body)) {
        ("ok", 20) => "ok".into(),
        ("ok", n) => format!("{n} items"),
        (other, _) => other.into(),
    }
}

/// A page with at least one item (a rare word finds few).
fn some_items(body: &[u8]) -> String {
    match (answered(body).as_str(), ids_in(body)) {
        ("ok", 0) => "empty".into(),
        ("ok", _) => "ok".into(),
        (other, _) => other.into(),
    }
}

impl Side {
    /// Copies (or first seeds) the shop's template, starts a server on it
    /// and reads what the paths need.
    async fn open(shape: Shape, stamp: &str, auth: &Authenticator, pool_size: u32) -> Self {
        let seeded = scale_seed::database(&shape, stamp).await;
        match seeded.seeded {
            Some(took) => println!(
                "scale   : {} shop seeded in {:.0} s, copied in {:.1} s ({})",
                shape.name,
                took.as_secs_f64(),
                seeded.copied.as_secs_f64(),
                seeded.template
            ),
            None => println!(
                "scale   : {} shop copied from template {} in {:.1} s (seeded by an earlier run)",
                shape.name,
                seeded.template,
                seeded.copied.as_secs_f64()
            ),
        }
        // An A/B of the plan cache: `BENCH_SCALE_PLAN_CACHE_MODE=force_custom_plan`
        // has every statement planned for its values, on both shops.
        if let Ok(mode) = std::env::var("BENCH_SCALE_PLAN_CACHE_MODE") {
            assert!(
                ["auto", "force_custom_plan", "force_generic_plan"].contains(&mode.as_str()),
                "BENCH_SCALE_PLAN_CACHE_MODE: auto, force_custom_plan or force_generic_plan"
            );
            let pool = PgPool::connect(&seeded.url).await.expect("the copy");
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "ALTER DATABASE \"{}\" SET plan_cache_mode = '{mode}'",
                seeded.database
            )))
            .execute(&pool)
            .await
            .expect("setting the plan cache mode");
            pool.close().await;
            println!("scale   : {} shop: plan_cache_mode = {mode}", shape.name);
        }
        let stream = format!("SCALE_{}_{stamp}", shape.name.to_uppercase());
        let server = Server::start(&seeded.url, &stream, pool_size).await;
        // Few connections: two servers, pgbench and the machine's other
        // users share PostgreSQL's 100.
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect(&seeded.url)
            .await
            .expect("the scale scenario's pool");
        let subjects: Vec<String> = sqlx::query_scalar(
            "SELECT u.subject FROM users u
             JOIN (SELECT user_id FROM orders GROUP BY user_id HAVING count(*) >= 20) r ON r.user_id = u.id
             ORDER BY hashint8(u.id) LIMIT 1000",
        )
        .fetch_all(&pool)
        .await
        .expect("the readers");
        let (busiest, busiest_id, history): (String, i64, i64) = sqlx::query_as(
            "SELECT u.subject, u.id, l.n FROM users u
             JOIN (SELECT user_id, count(*) AS n FROM balance_ledger GROUP BY user_id
                   ORDER BY count(*) DESC, user_id LIMIT 1) l ON l.user_id = u.id",
        )
        .fetch_one(&pool)
        .await
        .expect("the busiest user");
        let nth = |sql: &'static str, user: Option<i64>, offset: i64| {
            let pool = pool.clone();
            async move {
                let query = sqlx::query_scalar::<_, i64>(sql);
                let query = match user {
                    Some(u) => query.bind(u),
                    None => query,
                };
                query
                    .bind(offset)
                    .fetch_one(&pool)
                    .await
                    .expect("a cursor's row")
            }
        };
        let deep = history * 9 / 10;
        let history_cursor = cursor(
            nth(
                "SELECT id FROM balance_ledger WHERE user_id = $1 ORDER BY id DESC OFFSET $2 LIMIT 1",
                Some(busiest_id),
                deep - 1,
            )
            .await,
        );
        let orders_after = cursor(
            nth(
                "SELECT id FROM orders ORDER BY id DESC OFFSET $1 LIMIT 1",
                None,
                PAGE_500 - 1,
            )
            .await,
        );
        let orders_before = cursor(
            nth(
                "SELECT id FROM orders ORDER BY id ASC OFFSET $1 LIMIT 1",
                None,
                PAGE_500 - 1,
            )
            .await,
        );
        let token =
            |subject: &str, admin: bool| auth.issue(subject, admin, 3 * 3_600).expect("a token");
        let side = Self {
            shape,
            readers: subjects.iter().map(|s| token(s, false)).collect(),
            busiest: token(&busiest, false),
            history,
            history_cursor,
            orders_after,
            orders_before,
            admin: token("scale-admin", true),
            shopper: token("scale-shopper", false),
            seeded,
            server,
            pool,
            stream,
        };
        side.check_cursor().await;
        side
    }

    fn url(&self) -> String {
        format!("{}/graphql", self.server.address)
    }

    /// Checks that [`cursor`] makes the API's own cursors: page 1's
    /// `endCursor` is the cursor of its 20th order.
    async fn check_cursor(&self) {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(self.url())
            .bearer_auth(&self.admin)
            .json(&json!({ "query": "{ orders(first: 20) { pageInfo { endCursor } } }" }))
            .send()
            .await
            .expect("the admin's order list")
            .json()
            .await
            .expect("its JSON");
        let twentieth: i64 =
            sqlx::query_scalar("SELECT id FROM orders ORDER BY id DESC OFFSET 19 LIMIT 1")
                .fetch_one(&self.pool)
                .await
                .expect("the 20th order");
        assert_eq!(
            answer["data"]["orders"]["pageInfo"]["endCursor"].as_str(),
            Some(cursor(twentieth).as_str()),
            "the scenario's cursors are the API's"
        );
    }

    fn bench<'a>(&'a self, auth: &'a Authenticator, pool_size: u32) -> Bench<'a> {
        Bench {
            server: &self.server,
            pool: &self.pool,
            auth,
            database: &self.seeded.database,
            pool_size,
        }
    }

    /// Sends `path`'s requests for `time` from [`CONCURRENCY`] loops.
    async fn run(&self, path: &Path, time: Duration) -> Run {
        let calls: Arc<Vec<(String, serde_json::Value)>> = Arc::new(
            (0..DISTINCT)
                .map(|i| (path.make)(self, i))
                .map(|c| (c.token, c.body))
                .collect(),
        );
        let make = move |i: usize| {
            let (token, body) = &calls[i % calls.len()];
            Call {
                token: token.clone(),
                body: body.clone(),
            }
        };
        load::run_for(
            &load::client(CONCURRENCY),
            &self.url(),
            CONCURRENCY,
            time,
            make,
            path.outcome,
        )
        .await
    }

    /// Closes the shop: its server, pool, database copy and NATS stream.
    async fn close(self) {
        drop(self.server);
        self.pool.close().await;
        scale_seed::drop_copy(&self.seeded).await;
        if let Ok(client) = async_nats::connect("nats://127.0.0.1:4222").await {
            let _ = async_nats::jetstream::new(client)
                .delete_stream(&self.stream)
                .await;
        }
    }
}

/// The read paths.
fn paths() -> Vec<Path> {
    let search = |name: &'static str, words: &'static str| Path {
        name,
        make: Box::new(move |side: &Side, _| Call {
            token: side.shopper.clone(),
            body: json!({ "query": SEARCH, "variables": { "s": words } }),
        }),
        outcome: some_items,
    };
    let browse = |name: &'static str, order: &'static str| Path {
        name,
        make: Box::new(move |side: &Side, _| Call {
            token: side.shopper.clone(),
            body: json!({ "query": BROWSE, "variables": { "o": order } }),
        }),
        outcome: full_page,
    };
    let orders = |name: &'static str, backward: bool, deep: fn(&Side) -> Option<String>| Path {
        name,
        make: Box::new(move |side: &Side, _| Call {
            token: side.admin.clone(),
            body: if backward {
                json!({ "query": ORDERS_BACKWARD, "variables": { "b": deep(side) } })
            } else {
                json!({ "query": ORDERS_FORWARD, "variables": { "a": deep(side) } })
            },
        }),
        outcome: full_page,
    };
    vec![
        Path {
            name: "nested read (viewer.orders, items, products)",
            make: Box::new(|side: &Side, i| Call {
                token: side.readers[(i * 7919) % side.readers.len()].clone(),
                body: json!({ "query": scenarios::NESTED_READ }),
            }),
            outcome: scenarios::read_outcome,
        },
        Path {
            name: "nested read, the busiest customer",
            make: Box::new(|side: &Side, _| Call {
                token: side.busiest.clone(),
                body: json!({ "query": scenarios::NESTED_READ }),
            }),
            outcome: scenarios::read_outcome,
        },
        Path {
            name: "product(id) page",
            make: Box::new(|side: &Side, i| Call {
                token: side.shopper.clone(),
                body: json!({ "query": PRODUCT, "variables": {
                    "id": encode(types::PRODUCT, 1 + (i as i64 * 7_919 + 13) % side.shape.products)
                } }),
            }),
            outcome: some_items,
        },
        search("search, a common word (ceramic, 10 %)", "ceramic"),
        search(
            "search, a rare word (heirloom, 0.01 %)",
            scale_seed::RARE_WORD,
        ),
        search("search, two words (golden teapot, 0.25 %)", "golden teapot"),
        browse("catalog page 1, NEWEST", "NEWEST"),
        browse("catalog page 1, OLDEST", "OLDEST"),
        browse("catalog page 1, PRICE_ASC", "PRICE_ASC"),
        browse("catalog page 1, PRICE_DESC", "PRICE_DESC"),
        browse("catalog page 1, NAME", "NAME"),
        Path {
            name: "catalog page 1 with totalCount",
            make: Box::new(|side: &Side, _| Call {
                token: side.shopper.clone(),
                body: json!({ "query": CATALOG_COUNTED }),
            }),
            outcome: full_page,
        },
        // Before the other pages of the admin's list: PostgreSQL picks a
        // prepared statement's generic plan from what its first runs on a
        // connection cost, so a connection that lists by a rare status
        // first is the one to measure.
        Path {
            name: "admin orders, status PENDING (first on its connections)",
            make: Box::new(|side: &Side, _| Call {
                token: side.admin.clone(),
                body: json!({ "query": ORDERS_PENDING }),
            }),
            outcome: answered,
        },
        orders("admin orders page 1, first", false, |_| None),
        orders("admin orders page 500, first/after", false, |side| {
            Some(side.orders_after.clone())
        }),
        orders("admin orders page 1, last", true, |_| None),
        orders("admin orders page 500, last/before", true, |side| {
            Some(side.orders_before.clone())
        }),
        Path {
            name: "admin orders page 1 with totalCount",
            make: Box::new(|side: &Side, _| Call {
                token: side.admin.clone(),
                body: json!({ "query": ORDERS_COUNTED }),
            }),
            outcome: full_page,
        },
        Path {
            name: "balance history, 90 % deep (first/after)",
            make: Box::new(|side: &Side, _| Call {
                token: side.busiest.clone(),
                body: json!({ "query": HISTORY_FORWARD, "variables": { "a": side.history_cursor } }),
            }),
            outcome: full_page,
        },
        Path {
            name: "balance history, oldest page (last)",
            make: Box::new(|side: &Side, _| Call {
                token: side.busiest.clone(),
                body: json!({ "query": HISTORY_OLDEST }),
            }),
            outcome: full_page,
        },
    ]
}

/// Prints the shop's biggest tables.
async fn sizes(side: &Side) {
    let rows: Vec<(String, f32, i64)> = sqlx::query_as(
        "SELECT c.relname::TEXT, c.reltuples, pg_total_relation_size(c.oid) / 1048576
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.reltuples > 0
         ORDER BY pg_total_relation_size(c.oid) DESC",
    )
    .fetch_all(&side.pool)
    .await
    .expect("the tables' sizes");
    let total: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database()) / 1048576")
        .fetch_one(&side.pool)
        .await
        .expect("the database's size");
    let tables: Vec<String> = rows
        .iter()
        .map(|(name, count, mib)| format!("{name} {count:.0} ({mib} MiB)"))
        .collect();
    println!(
        "scale   : {} shop, {total} MiB: {}",
        side.shape.name,
        tables.join(", ")
    );
}

/// Runs the scenario; whether every target was met.
pub async fn run(auth: &Authenticator, stamp: &str, pool_size: u32) -> bool {
    println!(
        "\n== scale: a year of a busy shop ({} products, {} users, {} orders, {} campaigns) against today's small data ({} products, {} users, {} orders)",
        BIG.products,
        BIG.users,
        BIG.orders,
        BIG.campaigns,
        SMALL.products,
        SMALL.users,
        SMALL.orders
    );
    let started = Instant::now();
    let small = Side::open(SMALL, stamp, auth, pool_size).await;
    let big = Side::open(BIG, stamp, auth, pool_size).await;
    for side in [&small, &big] {
        sizes(side).await;
        println!(
            "scale   : {} shop: {} readers with 20 orders or more; the busiest balance history holds {} entries",
            side.shape.name,
            side.readers.len(),
            side.history
        );
    }

    let mut rows = Vec::new();
    println!(
        "\n-- reads: {CONCURRENCY} connections, {ROUNDS} rounds of {:.1} s per path and shop (after {:.1} s to warm up), small and big in turn",
        ROUND.as_secs_f64(),
        WARM.as_secs_f64()
    );
    // BENCH_SCALE_PATHS: only the paths (reads and writes) whose name
    // holds it, and no plan check (a quick look at a few paths).
    let only = std::env::var("BENCH_SCALE_PATHS").ok();
    let wanted = |name: &str| only.as_deref().is_none_or(|w| name.contains(w));
    for path in paths().into_iter().filter(|p| wanted(p.name)) {
        let mut measured = [Measure::default(), Measure::default()];
        for side in [&small, &big] {
            let warm = side.run(&path, WARM).await;
            if !warm.outcomes.keys().all(|o| o == "ok") {
                println!(
                    "scale   : {} warm-up on {}: {}",
                    path.name,
                    side.shape.name,
                    scenarios::outcomes(&warm.outcomes)
                );
            }
        }
        for round in 0..ROUNDS {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for k in order {
                let side = [&small, &big][k];
                measured[k].add(side.run(&path, ROUND).await);
            }
        }
        let [s, b] = measured;
        let row = Row {
            path: path.name.to_owned(),
            small: (s.p50(), s.p99()),
            big: (b.p50(), b.p99()),
            ok: s.all_ok() && b.all_ok(),
        };
        println!(
            "{:<46} small p50 {:>6.2} ms (rounds {}) p99 {:>6.2}; big p50 {:>6.2} ms (rounds {}) p99 {:>6.2}; {:.2}x{}",
            path.name,
            row.small.0,
            rounds(&s.rounds),
            row.small.1,
            row.big.0,
            rounds(&b.rounds),
            row.big.1,
            row.ratio(),
            if row.ok {
                String::new()
            } else {
                format!(" outcomes: small {}; big {}", s.outcomes(), b.outcomes())
            }
        );
        rows.push(row);
    }
    println!(
        "reads: {:.0} s (setup and reads since the start)",
        started.elapsed().as_secs_f64()
    );

    let flagged = if only.is_none() {
        println!("\n-- plans: every statement of .sqlx/ on the big shop");
        let checked_at = Instant::now();
        let (statements, checked) = plans::check(&big.seeded.url).await;
        let flagged = print_plans(&statements, &checked);
        println!(
            "plan check: {} statements, {} plans of request paths flagged, in {:.0} s",
            statements.len(),
            flagged,
            checked_at.elapsed().as_secs_f64()
        );
        flagged
    } else {
        0
    };

    println!("\n-- writes: the suite's scenarios on each shop");
    let writes = Instant::now();
    for (n, scenario) in ["coupon rush", "hot-product payments", "hot-product refunds"]
        .into_iter()
        .filter(|s| wanted(s))
        .enumerate()
    {
        // Small first, then big first, in turn: both meet the machine's
        // drift alike.
        let sides = if n % 2 == 0 {
            [&small, &big]
        } else {
            [&big, &small]
        };
        let mut pair: [Option<Report>; 2] = [None, None];
        for side in sides {
            let bench = side.bench(auth, pool_size);
            let report = match scenario {
                "coupon rush" => bench.coupon_rush_as("coupon rush", "scale-rush").await,
                "hot-product payments" => {
                    bench
                        .hot_payments_as("hot-product payments", "scale-hot")
                        .await
                }
                _ => bench.hot_refunds().await,
            };
            print_write(side.shape.name, &report);
            pair[usize::from(side.shape.name == BIG.name)] = Some(report);
        }
        let [Some(s), Some(b)] = &pair else {
            unreachable!("both shops ran {scenario}")
        };
        // The outcomes and invariants; not the scenario's own throughput
        // targets (its checks that name a target), which the scale
        // target replaces.
        let fine = |r: &Report| {
            r.server.giveups == 0.0
                && r.checks
                    .iter()
                    .all(|(check, ok)| *ok || check.contains("(target"))
        };
        rows.push(Row {
            path: format!("{} (200 connections)", s.name),
            small: (
                s.server.run.percentile_ms(0.5),
                s.server.run.percentile_ms(0.99),
            ),
            big: (
                b.server.run.percentile_ms(0.5),
                b.server.run.percentile_ms(0.99),
            ),
            ok: fine(s) && fine(b),
        });
    }

    println!("writes: {:.0} s", writes.elapsed().as_secs_f64());
    println!(
        "\n| path | small p50 ms | small p99 ms | big p50 ms | big p99 ms | big/small p50 | target | met |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |");
    for r in &rows {
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2}x | <= {TARGET}x | {} |",
            r.path,
            r.small.0,
            r.small.1,
            r.big.0,
            r.big.1,
            r.ratio(),
            if r.met() { "yes" } else { "NO" }
        );
    }
    let missed: Vec<&str> = rows
        .iter()
        .filter(|r| !r.met())
        .map(|r| r.path.as_str())
        .collect();
    println!(
        "scale: {} of {} paths within {TARGET}x; {flagged} request-path plans read a whole big table; {:.0} s in all",
        rows.len() - missed.len(),
        rows.len(),
        started.elapsed().as_secs_f64()
    );
    small.close().await;
    big.close().await;
    missed.is_empty() && flagged == 0
}

/// Prints a write scenario's figures on one shop.
fn print_write(side: &str, r: &Report) {
    println!(
        "{:<22} {side:<5}: {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {} retries, {} give-ups; pgbench {:.0} tps ({:.2}x); {}",
        r.name,
        r.server.run.throughput(),
        r.server.run.percentile_ms(0.5),
        r.server.run.percentile_ms(0.99),
        r.server.retries,
        r.server.giveups,
        r.baseline.tps,
        r.ratio(),
        scenarios::outcomes(&r.server.run.outcomes)
    );
    for (check, ok) in &r.checks {
        println!("  check : {} {check}", if *ok { "ok  " } else { "FAIL" });
    }
}

fn rounds(values: &[f64]) -> String {
    values
        .iter()
        .map(|v| format!("{v:.2}"))
        .collect::<Vec<_>>()
        .join("/")
}

/// Prints the plan check: one line per statement and variant, the
/// background statements, then in full every flagged plan and every heavy
/// plan the server runs. Returns how many request-path plans are flagged.
fn print_plans(statements: &[plans::Statement], checked: &[plans::Checked]) -> usize {
    let mut flagged = Vec::new();
    let mut heavy = Vec::new();
    let mut background = BTreeMap::new();
    for c in checked {
        let s = &statements[c.statement];
        if let Some(what) = s.background {
            let flags: Vec<&str> = c
                .generic
                .flags
                .iter()
                .chain(&c.custom.flags)
                .map(String::as_str)
                .collect();
            let how = if c.custom.executed {
                format!("run, {:.2} ms", c.custom.ms)
            } else {
                "estimated, not run".to_owned()
            };
            background
                .entry(what)
                .or_insert_with(Vec::new)
                .push(format!(
                    "  {} {}: {} ({how})",
                    s.id,
                    s.origin,
                    if flags.is_empty() {
                        "no whole scan".to_owned()
                    } else {
                        flags.join("; ")
                    }
                ));
            continue;
        }
        let mark = if c.flagged(statements) {
            flagged.push(c);
            "FLAG"
        } else if !c.generic.flags.is_empty() {
            "gen "
        } else {
            "ok  "
        };
        // The plan the server runs: custom, or the generic one when
        // PostgreSQL picks it for a prepared statement.
        let runs_generic = c.auto_generic && s.prepared != Prepared::Never;
        let running = if runs_generic { &c.generic } else { &c.custom };
        if mark != "FLAG" && !running.heavy.is_empty() {
            heavy.push((c, runs_generic));
        }
        let run = |p: &plans::Plan| {
            if p.executed {
                format!("{:.2} ms, {} buffers", p.ms, p.buffers)
            } else {
                format!(
                    "not run ({})",
                    p.error
                        .as_deref()
                        .unwrap_or("")
                        .chars()
                        .take(60)
                        .collect::<String>()
                )
            }
        };
        println!(
            "{mark} {} {} [{}] ({}) generic {} / custom {}; auto picks {}{}{}",
            s.id,
            s.origin,
            c.variant,
            c.values.join(", "),
            run(&c.generic),
            run(&c.custom),
            if c.auto_generic { "generic" } else { "custom" },
            match s.prepared {
                Prepared::Always => "",
                Prepared::Never => " (run unprepared: custom plans only)",
                Prepared::Sometimes => " (unprepared when searching)",
            },
            c.generic
                .heavy
                .iter()
                .map(|h| format!("; heavy generic: {h}"))
                .chain(
                    c.custom
                        .heavy
                        .iter()
                        .map(|h| format!("; heavy custom: {h}"))
                )
                .collect::<String>()
        );
    }
    println!("\nbackground statements (the audit's planned only):");
    for (what, lines) in background {
        println!(" {what}:");
        for line in lines {
            println!("{line}");
        }
    }
    let show = |title: &str, c: &plans::Checked, plan: &plans::Plan, what: &[String]| {
        let s = &statements[c.statement];
        println!(
            "\n{title} {} {} [{}]\n  {}\n  values: ({})",
            s.id,
            s.origin,
            c.variant,
            s.sql,
            c.values.join(", ")
        );
        println!(
            "  plan ({}): {}",
            if plan.executed {
                format!("{:.1} ms, {} buffers", plan.ms, plan.buffers)
            } else {
                "not run".into()
            },
            what.join("; ")
        );
        for line in plan.text.lines() {
            println!("    {line}");
        }
    };
    for c in &flagged {
        for (mode, plan) in [("generic", &c.generic), ("custom", &c.custom)] {
            if !plan.flags.is_empty() {
                show(&format!("FLAGGED ({mode} plan)"), c, plan, &plan.flags);
            }
        }
    }
    // Not whole scans, but more rows than the page needs, in a plan the
    // server runs: what grows with a user's history or a word's matches.
    for (c, generic) in &heavy {
        let (mode, plan) = if *generic {
            ("generic", &c.generic)
        } else {
            ("custom", &c.custom)
        };
        show(&format!("HEAVY ({mode} plan, run)"), c, plan, &plan.heavy);
    }
    flagged.len()
}
