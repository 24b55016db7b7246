//! The scenarios of the suite. Each seeds what it needs, drives the
//! server over HTTP, checks the outcomes and the invariants in SQL, runs its
//! naive pgbench baseline on the same database, and returns a [`Report`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use commerce::auth::Authenticator;
use commerce::global_id::{encode, types};
use serde_json::json;
use sqlx::PgPool;

use crate::load::{self, Call, Run};
use crate::pgbench::{self, Amount, Baseline};
use crate::seed;
use crate::server::Server;

/// What one run of the server measured.
pub struct Measured {
    pub run: Run,
    /// Transaction retries during the run (from `/metrics`).
    pub retries: f64,
    /// Transactions given up during the run.
    pub giveups: f64,
    /// The server's peak resident set size during the run.
    pub peak_rss_mib: f64,
}

impl Measured {
    /// Adds a later run of the same scenario to this one.
    fn absorb(&mut self, later: Measured) {
        self.run.absorb(later.run);
        self.retries += later.retries;
        self.giveups += later.giveups;
        self.peak_rss_mib = self.peak_rss_mib.max(later.peak_rss_mib);
    }
}

/// Everything a scenario measured.
pub struct Report {
    pub name: &'static str,
    pub description: String,
    pub server: Measured,
    pub baseline: Baseline,
    /// The invariants checked after the run, each with whether it held.
    pub checks: Vec<(String, bool)>,
    /// Extra figures worth printing.
    pub notes: Vec<String>,
    /// The target ratio (server throughput / pgbench tps).
    pub target_ratio: f64,
    /// The p99 latency target, if any, in ms.
    pub target_p99_ms: Option<f64>,
    /// The ratio of each round, for a scenario measured in alternating
    /// rounds (empty for one server run then one pgbench run).
    pub rounds: Vec<f64>,
}

impl Report {
    /// Server throughput over pgbench's: the median of the rounds' ratios
    /// when measured in rounds, else the one run's.
    pub fn ratio(&self) -> f64 {
        if self.rounds.is_empty() {
            return ratio(self.server.run.throughput(), self.baseline.tps);
        }
        let mut sorted = self.rounds.clone();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        }
    }

    /// Whether every target and check holds.
    pub fn met(&self) -> bool {
        self.ratio() >= self.target_ratio
            && self.server.giveups == 0.0
            && self
                .target_p99_ms
                .is_none_or(|t| self.server.run.percentile_ms(0.99) < t)
            && self.checks.iter().all(|(_, ok)| *ok)
    }
}

fn ratio(server: f64, baseline: f64) -> f64 {
    server / baseline.max(f64::MIN_POSITIVE)
}

/// What every scenario shares.
#[derive(Clone, Copy)]
pub struct Bench<'a> {
    pub server: &'a Server,
    pub pool: &'a PgPool,
    pub auth: &'a Authenticator,
    pub database: &'a str,
    pub pool_size: u32,
}

const ISSUE_COUPON: &str = "mutation($i: IssueCouponInput!) { issueCoupon(input: $i) { userCoupon { id } userErrors { code } } }";
const PAY_ORDER: &str =
    "mutation($i: PayOrderInput!) { payOrder(input: $i) { order { status } userErrors { code } } }";
const REFUND_ORDER: &str = "mutation($i: RefundOrderInput!) { refundOrder(input: $i) { order { status } userErrors { code } } }";
pub(crate) const NESTED_READ: &str = "{ viewer { orders(first: 20) { nodes { status totalAmount items { quantity unitPrice product { name price } } } } } }";

fn coupon_outcome(body: &[u8]) -> String {
    load::mutation_outcome("issueCoupon", body)
}

fn viewed(body: &[u8]) -> String {
    if body.starts_with(b"{\"data\"") {
        "ok".into()
    } else {
        "error".into()
    }
}

fn payment_outcome(body: &[u8]) -> String {
    load::mutation_outcome("payOrder", body)
}

fn refund_outcome(body: &[u8]) -> String {
    load::mutation_outcome("refundOrder", body)
}

/// A read's outcome: "ok" when it holds 20 orders. Counted in the bytes
/// rather than parsed, so that the load generator leaves the machine's CPU
/// to the server under test.
pub(crate) fn read_outcome(body: &[u8]) -> String {
    let count = |needle: &[u8]| body.windows(needle.len()).filter(|w| w == &needle).count();
    if count(b"\"errors\"") > 0 {
        return "error".into();
    }
    match count(b"\"totalAmount\"") {
        20 => "ok".into(),
        n => format!("{n} orders"),
    }
}

impl Bench<'_> {
    pub fn token(&self, sub: &str) -> String {
        self.auth.issue(sub, false, 3_600).expect("a token")
    }

    pub(crate) async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(self.pool)
            .await
            .expect("a check query")
    }

    /// Lets the database settle before a measurement: the previous run's
    /// dead rows vacuumed and its writes checkpointed, so that autovacuum or
    /// a checkpoint does not land in the middle of the next one (for the
    /// server's runs and pgbench's alike).
    pub async fn settle(&self) {
        for sql in ["VACUUM ANALYZE", "CHECKPOINT"] {
            sqlx::query(sql)
                .execute(self.pool)
                .await
                .expect("settling the database");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    /// Runs a pgbench baseline on a settled database.
    pub(crate) async fn baseline(
        &self,
        script: &str,
        amount: Amount,
        vars: &[(&str, String)],
    ) -> Baseline {
        self.settle().await;
        pgbench::run(self.database, script, self.pool_size, amount, vars)
    }

    /// Runs `work` against the server, measuring retries, give-ups and the
    /// peak RSS around it.
    pub(crate) async fn measured<F: Future<Output = Run>>(&self, work: F) -> Measured {
        let retries = self.server.counter("tx_retries_total").await;
        let giveups = self.server.counter("tx_giveups_total").await;
        self.server.reset_peak_rss();
        let run = work.await;
        let rss = self.server.peak_rss_mib();
        let retries = self.server.counter("tx_retries_total").await - retries;
        let giveups = self.server.counter("tx_giveups_total").await - giveups;
        Measured {
            run,
            retries,
            giveups,
            peak_rss_mib: rss,
        }
    }

    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.server.address)
    }

    /// Scenario 1: 10,000 issueCoupon requests from 9,000 distinct users
    /// (plus 1,000 repeats) for 1,000 coupons, at 200 connections.
    pub async fn coupon_rush(&self) -> Report {
        self.coupon_rush_as("coupon rush", "rush").await
    }

    /// The coupon rush as scenario `name`, its users named `<prefix>-<n>`.
    pub async fn coupon_rush_as(&self, name: &'static str, prefix: &str) -> Report {
        const USERS: i64 = 9_000;
        const REPEATS: i64 = 1_000;
        const COUPONS: i32 = 1_000;
        let users = seed::users(self.pool, prefix, USERS, 0).await;
        let campaign = seed::campaign(self.pool, COUPONS).await;
        let coupon_id = encode(types::COUPON, campaign);
        let mut subjects: Vec<i64> = (1..=USERS).chain(1..=REPEATS).collect();
        fastrand::shuffle(&mut subjects);
        let calls = subjects
            .iter()
            .map(|n| Call {
                token: self.token(&format!("{prefix}-{n}")),
                body: json!({ "query": ISSUE_COUPON, "variables": { "i": { "couponId": coupon_id } } }),
            })
            .collect::<Vec<Call>>();
        let client = load::client(200);
        self.settle().await;
        let server = self
            .measured(load::run(
                &client,
                &self.graphql_url(),
                calls.clone(),
                200,
                coupon_outcome,
            ))
            .await;
        // The rush's ceiling: the same requests again, now that the campaign
        // is sold out, cost authentication, parsing and execution but no
        // issuing (what the server needs of the database to refuse).
        self.settle().await;
        let ceiling = load::run(&client, &self.graphql_url(), calls, 200, coupon_outcome).await;
        let fraction = server.run.throughput() / ceiling.throughput();
        let refused = ceiling.outcomes.get("ok").copied().unwrap_or(0) == 0;
        let ceiling_note = format!(
            "ceiling: the same rush to the sold-out campaign {:.0} req/s (p50 {:.1} ms, p99 {:.1} ms); the rush {:.0} req/s = {fraction:.2} of it",
            ceiling.throughput(),
            ceiling.percentile_ms(0.5),
            ceiling.percentile_ms(0.99),
            server.run.throughput()
        );

        let issued = self
            .scalar(&format!(
                "SELECT issued_quantity::BIGINT FROM coupons WHERE id = {campaign}"
            ))
            .await;
        let rows = self
            .scalar(&format!(
                "SELECT count(*) FROM user_coupons WHERE coupon_id = {campaign}"
            ))
            .await;
        let holders = self
            .scalar(&format!(
                "SELECT count(DISTINCT user_id) FROM user_coupons WHERE coupon_id = {campaign}"
            ))
            .await;
        let ok = server.run.outcomes.get("ok").copied().unwrap_or(0) as i64;
        let only_expected =
            server.run.outcomes.keys().all(|k| {
                ["ok", "COUPON_OUT_OF_STOCK", "COUPON_ALREADY_ISSUED"].contains(&k.as_str())
            });
        let checks = vec![
            (
                format!("{ok} issued to callers = {COUPONS}"),
                ok == i64::from(COUPONS),
            ),
            (
                format!("issuedQuantity {issued} = rows {rows} = holders {holders}"),
                issued == rows && rows == holders && rows == i64::from(COUPONS),
            ),
            (
                "no outcome but ok, out of stock, already issued".into(),
                only_expected,
            ),
        ];

        let naive = seed::campaign(self.pool, COUPONS).await;
        let per_client = ((USERS + REPEATS) as usize).div_ceil(self.pool_size as usize);
        let baseline = self
            .baseline(
                "issue_coupon.sql",
                Amount::PerClient(per_client),
                &[
                    ("cid", naive.to_string()),
                    ("first_user", users.first.to_string()),
                    ("last_user", users.last.to_string()),
                ],
            )
            .await;
        let naive_issued = self
            .scalar(&format!(
                "SELECT issued_quantity::BIGINT FROM coupons WHERE id = {naive}"
            ))
            .await;
        let naive_rows = self
            .scalar(&format!(
                "SELECT count(*) FROM user_coupons WHERE coupon_id = {naive}"
            ))
            .await;
        let mut checks = checks;
        checks.push((
            format!("pgbench's campaign: issuedQuantity {naive_issued} = rows {naive_rows}"),
            naive_issued == naive_rows,
        ));
        checks.push((
            format!(
                "the sold-out rush issued nothing ({})",
                outcomes(&ceiling.outcomes)
            ),
            refused,
        ));
        checks.push((
            format!("the rush at {fraction:.2} of its ceiling (target >= 0.8)"),
            fraction >= 0.8,
        ));
        Report {
            name,
            description: format!(
                "{} issueCoupon ({USERS} users + {REPEATS} repeats) for {COUPONS} coupons, 200 connections",
                USERS + REPEATS
            ),
            server,
            baseline,
            checks,
            notes: vec![
                format!("pgbench issued {naive_issued} of its campaign's {COUPONS}"),
                ceiling_note,
            ],
            target_ratio: 1.0,
            target_p99_ms: Some(100.0),
            rounds: vec![],
        }
    }

    /// Each of `users` (named `<prefix>-<n>`) looks at their account once,
    /// unmeasured, as a shopper opening the shop would: the seed wrote them
    /// directly, so the server learns who they are here.
    pub(crate) async fn visit(&self, prefix: &str, users: seed::Ids) {
        let visits = (1..=users.len())
            .map(|k| Call {
                token: self.token(&format!("{prefix}-{k}")),
                body: json!({ "query": "{ viewer { id } }" }),
            })
            .collect();
        load::run(&load::client(200), &self.graphql_url(), visits, 200, viewed).await;
    }

    /// Pays one order per user of `users` over HTTP at 200 connections.
    async fn pay_all(&self, prefix: &str, users: seed::Ids, orders: seed::Ids) -> Measured {
        let calls = (0..users.len() as i64)
            .map(|k| Call {
                token: self.token(&format!("{prefix}-{}", k + 1)),
                body: json!({ "query": PAY_ORDER, "variables": { "i": { "orderId": encode(types::ORDER, orders.first + k) } } }),
            })
            .collect();
        let client = load::client(200);
        // The payers have been here before: in the real flow they created
        // their orders through this server, which is when it learned who
        // they are. The seed wrote the orders directly.
        self.visit(prefix, users).await;
        self.settle().await;
        self.measured(load::run(
            &client,
            &self.graphql_url(),
            calls,
            200,
            payment_outcome,
        ))
        .await
    }

    /// The naive payOrder over `orders` (`per` orders per pgbench client).
    async fn naive_payments(&self, orders: seed::Ids) -> Baseline {
        let per = orders.len().div_ceil(self.pool_size as usize);
        self.baseline(
            "pay_order.sql",
            Amount::PerClient(per),
            &[
                ("base", orders.first.to_string()),
                ("per", per.to_string()),
                ("n", "0".into()),
            ],
        )
        .await
    }

    /// Checks shared by the payment scenarios: the audit of every
    /// cross-table invariant.
    pub(crate) async fn audit(&self, when: &str) -> (String, bool) {
        let violations = commerce::domain::audit::check(self.pool)
            .await
            .expect("the audit runs");
        let broken: Vec<&str> = violations.iter().map(|v| v.rule).collect();
        let verdict = if broken.is_empty() {
            "every invariant holds".to_owned()
        } else {
            format!("broken: {broken:?}")
        };
        (format!("audit {when}: {verdict}"), violations.is_empty())
    }

    /// Scenario 2: 2,000 users with PENDING orders for one product with
    /// stock 1,000, all paying at once.
    pub async fn hot_payments(&self) -> Report {
        self.hot_payments_as("hot-product payments", "hot").await
    }

    /// The hot-product payments as scenario `name`, the payers named
    /// `<prefix>-<n>`.
    pub async fn hot_payments_as(&self, name: &'static str, prefix: &str) -> Report {
        const BUYERS: i64 = 2_000;
        const STOCK: i32 = 1_000;
        let users = seed::users(self.pool, prefix, BUYERS, 1_000_000).await;
        let product = seed::products(self.pool, "Hot", 1, 5_000, STOCK).await;
        let orders = seed::single_line_orders(self.pool, users, product).await;
        let server = self.pay_all(prefix, users, orders).await;

        let stock = self
            .scalar(&format!(
                "SELECT stock::BIGINT FROM products WHERE id = {}",
                product.first
            ))
            .await;
        let paid = self
            .scalar(&format!(
                "SELECT count(*) FROM orders WHERE status = 'PAID' AND id BETWEEN {} AND {}",
                orders.first, orders.last
            ))
            .await;
        let ok = server.run.outcomes.get("ok").copied().unwrap_or(0) as i64;
        let sold_out = server
            .run
            .outcomes
            .get("PRODUCT_OUT_OF_STOCK")
            .copied()
            .unwrap_or(0) as i64;
        let checks = vec![
            (
                format!("{ok} paid + {sold_out} out of stock = {BUYERS}"),
                ok == i64::from(STOCK) && sold_out == BUYERS - i64::from(STOCK),
            ),
            (
                format!("PAID orders {paid} = {STOCK}, stock left {stock} = 0"),
                paid == i64::from(STOCK) && stock == 0,
            ),
            self.audit("after the server's run").await,
        ];

        let naive_users =
            seed::users(self.pool, &format!("{prefix}-naive"), BUYERS, 1_000_000).await;
        let naive_product = seed::products(self.pool, "Hot naive", 1, 5_000, STOCK).await;
        let naive_orders = seed::single_line_orders(self.pool, naive_users, naive_product).await;
        let baseline = self.naive_payments(naive_orders).await;
        let mut checks = checks;
        checks.push(self.audit("after pgbench's run").await);
        let naive_paid = self
            .scalar(&format!(
                "SELECT count(*) FROM orders WHERE status = 'PAID' AND id BETWEEN {} AND {}",
                naive_orders.first, naive_orders.last
            ))
            .await;
        Report {
            name,
            description: format!(
                "{BUYERS} payOrder for one product with stock {STOCK}, all at once, 200 connections"
            ),
            server,
            baseline,
            checks,
            notes: vec![format!("pgbench paid {naive_paid} of its {BUYERS} orders")],
            target_ratio: 1.0,
            target_p99_ms: Some(100.0),
            rounds: vec![],
        }
    }

    /// Refunds: 1,000 paid orders of one hot product (one unit each, of
    /// 1,000 payers), all refunded by an admin at 200 connections.
    pub async fn hot_refunds(&self) -> Report {
        const ORDERS: i64 = 1_000;
        const BALANCE: i64 = 1_000_000;
        const PRICE: i64 = 5_000;
        // Each side's orders, paid: the product's units all sold (stock 0).
        let paid = |prefix: &'static str| async move {
            let users = seed::users(self.pool, prefix, ORDERS, BALANCE).await;
            let product = seed::products(self.pool, prefix, 1, PRICE, 0).await;
            let orders = seed::single_line_orders(self.pool, users, product).await;
            seed::pay_directly(self.pool, orders).await;
            (users, product, orders)
        };
        let (users, product, orders) = paid("refund").await;
        let admin = self
            .auth
            .issue("bench-admin", true, 3_600)
            .expect("a token");
        let calls = (0..ORDERS)
            .map(|k| Call {
                token: admin.clone(),
                body: json!({ "query": REFUND_ORDER, "variables": { "i": { "orderId": encode(types::ORDER, orders.first + k), "reason": "benchmark" } } }),
            })
            .collect();
        let client = load::client(200);
        self.settle().await;
        let server = self
            .measured(load::run(
                &client,
                &self.graphql_url(),
                calls,
                200,
                refund_outcome,
            ))
            .await;

        let side_checks = async |users: seed::Ids, product: seed::Ids, orders: seed::Ids| {
            let stock = self
                .scalar(&format!(
                    "SELECT stock::BIGINT FROM products WHERE id = {}",
                    product.first
                ))
                .await;
            let refunded = self
                .scalar(&format!(
                    "SELECT count(*) FROM orders WHERE status = 'REFUNDED' AND id BETWEEN {} AND {}",
                    orders.first, orders.last
                ))
                .await;
            let whole = self
                .scalar(&format!(
                    "SELECT count(*) FROM users WHERE balance = {BALANCE} AND id BETWEEN {} AND {}",
                    users.first, users.last
                ))
                .await;
            (
                format!(
                    "REFUNDED orders {refunded} = stock back {stock} = balances whole again {whole} = {ORDERS}"
                ),
                refunded == ORDERS && stock == ORDERS && whole == ORDERS,
            )
        };
        let ok = server.run.outcomes.get("ok").copied().unwrap_or(0) as i64;
        let checks = vec![
            (format!("{ok} of {ORDERS} refunded"), ok == ORDERS),
            side_checks(users, product, orders).await,
            self.audit("after the server's run").await,
        ];

        let (naive_users, naive_product, naive_orders) = paid("refund-naive").await;
        let per = naive_orders.len().div_ceil(self.pool_size as usize);
        let baseline = self
            .baseline(
                "refund_order.sql",
                Amount::PerClient(per),
                &[
                    ("base", naive_orders.first.to_string()),
                    ("per", per.to_string()),
                    ("n", "0".into()),
                ],
            )
            .await;
        let (naive_check, _) = side_checks(naive_users, naive_product, naive_orders).await;
        let mut checks = checks;
        checks.push(self.audit("after pgbench's run").await);
        Report {
            name: "hot-product refunds",
            description: format!(
                "{ORDERS} refundOrder of paid orders of one product, all at once, 200 connections"
            ),
            server,
            baseline,
            checks,
            notes: vec![format!("pgbench: {naive_check}")],
            target_ratio: 1.0,
            target_p99_ms: None,
            rounds: vec![],
        }
    }

    /// Scenario 3: payOrder spread across 1,000 products.
    pub async fn spread_payments(&self) -> Report {
        const BUYERS: i64 = 2_000;
        const PRODUCTS: i64 = 1_000;
        let products = seed::products(self.pool, "Spread", PRODUCTS, 2_500, 100).await;
        let users = seed::users(self.pool, "spread", BUYERS, 1_000_000).await;
        let orders = seed::single_line_orders(self.pool, users, products).await;
        let server = self.pay_all("spread", users, orders).await;
        let ok = server.run.outcomes.get("ok").copied().unwrap_or(0) as i64;
        let checks = vec![
            (format!("{ok} of {BUYERS} paid"), ok == BUYERS),
            self.audit("after the server's run").await,
        ];

        let naive_users = seed::users(self.pool, "spread-naive", BUYERS, 1_000_000).await;
        let naive_orders = seed::single_line_orders(self.pool, naive_users, products).await;
        let baseline = self.naive_payments(naive_orders).await;
        let mut checks = checks;
        checks.push(self.audit("after pgbench's run").await);
        Report {
            name: "spread payments",
            description: format!("{BUYERS} payOrder across {PRODUCTS} products, 200 connections"),
            server,
            baseline,
            checks,
            notes: vec![],
            target_ratio: 0.5,
            target_p99_ms: None,
            rounds: vec![],
        }
    }

    /// Scenario 4: the nested read for random users over 1,000 users × 20
    /// orders × 3 lines and 200 products, at 20 connections.
    pub async fn nested_read(&self) -> Report {
        const READERS: i64 = 1_000;
        const ROUNDS: usize = 3;
        const SECONDS: u64 = 5;
        let products = seed::products(self.pool, "Shelf", 200, 1_500, 1_000).await;
        let users = seed::users(self.pool, "reader", READERS, 0).await;
        seed::three_line_orders(self.pool, users, products, 20).await;
        sqlx::query("ANALYZE")
            .execute(self.pool)
            .await
            .expect("analyze");
        let tokens: Vec<String> = (1..=READERS)
            .map(|n| self.token(&format!("reader-{n}")))
            .collect();
        let client = load::client(20);
        // Warm the server's caches of user ids, as a long-running server has.
        let warm: Vec<Call> = tokens
            .iter()
            .map(|t| Call {
                token: t.clone(),
                body: json!({ "query": "{ viewer { id } }" }),
            })
            .collect();
        load::run(&client, &self.graphql_url(), warm, 20, read_outcome).await;

        let commits = || {
            self.scalar(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()",
            )
        };
        let make = Arc::new(move |i: usize| Call {
            token: tokens[fastrand::usize(..tokens.len())].clone(),
            body: json!({ "query": NESTED_READ, "i": i }),
        });

        // SQL statements per request, counted apart from the timed rounds:
        // each statement the server runs outside a transaction commits one,
        // but PostgreSQL publishes a busy backend's counts at most once a
        // second, and an idle backend's last ones up to 10 s later
        // (PGSTAT_IDLE_INTERVAL), so the count waits that out on both sides.
        const COUNTED: usize = 2_000;
        let quiet = || tokio::time::sleep(Duration::from_secs(11));
        quiet().await;
        let before = commits().await;
        let calls = (0..COUNTED).map(|i| make(i)).collect();
        let counted = load::run(&client, &self.graphql_url(), calls, 20, read_outcome).await;
        quiet().await;
        // Less the commit of the `before` query itself (the outbox relay's
        // polls add a few more).
        let statements = (commits().await - before - 1) as f64 / counted.requests as f64;

        // The server and pgbench take turns, ROUNDS times each, so that both
        // meet the shared machine's ups and downs alike; the ratio is the
        // median of the rounds' ratios.
        let mut server: Option<Measured> = None;
        let mut baselines = Vec::new();
        let mut rounds = Vec::new();
        for _ in 0..ROUNDS {
            self.settle().await;
            let make = make.clone();
            let round = self
                .measured(load::run_for(
                    &client,
                    &self.graphql_url(),
                    20,
                    Duration::from_secs(SECONDS),
                    move |i| make(i),
                    read_outcome,
                ))
                .await;
            let baseline = self
                .baseline(
                    "nested_read.sql",
                    Amount::Seconds(SECONDS),
                    &[
                        ("first_user", users.first.to_string()),
                        ("last_user", users.last.to_string()),
                    ],
                )
                .await;
            rounds.push(ratio(round.run.throughput(), baseline.tps));
            baselines.push(baseline);
            server = Some(match server {
                None => round,
                Some(mut all) => {
                    all.absorb(round);
                    all
                }
            });
        }
        let server = server.expect("at least one round");
        let baseline = Baseline::mean(&baselines).expect("at least one round");
        let ok = server.run.outcomes.get("ok").copied().unwrap_or(0);
        let counted_ok = counted.outcomes.get("ok").copied().unwrap_or(0);
        let checks = vec![
            (
                format!("{ok} of {} reads returned 20 orders", server.run.requests),
                ok == server.run.requests,
            ),
            (
                format!(
                    "{statements:.2} SQL statements per request <= 4 ({counted_ok} of {} counted reads returned 20 orders)",
                    counted.requests
                ),
                statements <= 4.0 && counted_ok == counted.requests,
            ),
        ];
        Report {
            name: "nested read",
            description: format!(
                "viewer.orders(first: 20) with items and products, {READERS} users x 20 orders x 3 lines, 200 products, 20 connections, {ROUNDS} rounds of {SECONDS} s each, server and pgbench in turn"
            ),
            server,
            baseline,
            checks,
            notes: vec![],
            target_ratio: 0.5,
            target_p99_ms: None,
            rounds,
        }
    }
}

const SEARCH: &str = "query($s: String, $o: ProductOrder) {
    products(first: 20, search: $s, orderBy: $o) { nodes { id name price } } }";

/// A search's outcome: "ok", or "error" when the answer holds one.
fn search_outcome(body: &[u8]) -> String {
    if body.starts_with(b"{\"data\"") && !body.windows(8).any(|w| w == b"\"errors\"") {
        "ok".into()
    } else {
        "error".into()
    }
}

/// An ordinary search: one noun of the catalog's vocabulary (in every 20th
/// name).
fn a_noun() -> String {
    let nouns = seed::vocabulary::NOUNS;
    nouns[fastrand::usize(..nouns.len())].to_owned()
}

/// The searches an attacker (or an unlucky shopper) could send, each with
/// what makes it hard, for the catalog of [`seed::catalog`].
fn adversarial_searches() -> Vec<(&'static str, String)> {
    vec![
        // Each adjective comes with one material only (both follow g % 10):
        // two words in 5 % and 10 % of the catalog, never together.
        ("common pair, never together", "golden copper".into()),
        (
            "common pair, never together, by price",
            "golden copper".into(),
        ),
        ("a rare word (digits)", "4711".into()),
        ("a word in no product", "zanzibar".into()),
        ("every description's word", "made".into()),
        ("seven words", "golden teapot made of copper in uji".into()),
        ("Cyrillic", "чайник".into()),
        ("Japanese", "茶碗蒸し".into()),
        ("a 100-letter word", "x".repeat(100)),
        (
            "a rare word beside 26 letters",
            format!(
                "4711 {}",
                ('a'..='z').map(String::from).collect::<Vec<_>>().join(" ")
            ),
        ),
    ]
}

impl Bench<'_> {
    /// Scenario: `products(first: 20, search:)` of one noun over 100,000
    /// products at 20 connections, against pgbench running the same
    /// statements; then each adversarial search's p50 at one connection
    /// against the ordinary one's.
    pub async fn search(&self) -> Report {
        const PRODUCTS: i64 = 100_000;
        const SECONDS: u64 = 10;
        const SAMPLES: usize = 300;
        let seeded = seed::catalog(self.pool, PRODUCTS).await;
        self.settle().await;

        let token = self.token("searcher");
        let client = load::client(20);
        let call = |token: &String, words: String, order: Option<&str>| Call {
            token: token.clone(),
            body: json!({ "query": SEARCH, "variables": { "s": words, "o": order } }),
        };
        let ordinary = {
            let token = token.clone();
            move |_: usize| call(&token, a_noun(), None)
        };
        // Warm up: the server's pool and its statements.
        let warm = (0..200).map(ordinary.clone()).collect();
        load::run(&client, &self.graphql_url(), warm, 20, search_outcome).await;
        self.settle().await;
        let server = self
            .measured(load::run_for(
                &client,
                &self.graphql_url(),
                20,
                Duration::from_secs(SECONDS),
                ordinary.clone(),
                search_outcome,
            ))
            .await;

        // One search at a time: what each costs, not the queue.
        self.settle().await;
        let url = self.graphql_url();
        let alone = |calls: Vec<Call>| load::run(&client, &url, calls, 1, search_outcome);
        let baseline_p50 = alone((0..SAMPLES).map(ordinary.clone()).collect())
            .await
            .percentile_ms(0.5);
        let mut notes = vec![format!(
            "one at a time: an ordinary search (one noun) p50 {baseline_p50:.2} ms"
        )];
        let mut worst: f64 = 0.0;
        let mut failed = 0;
        for (what, words) in adversarial_searches() {
            let order = what.ends_with("by price").then_some("PRICE_ASC");
            let run = alone(
                (0..SAMPLES)
                    .map(|_| call(&token, words.clone(), order))
                    .collect(),
            )
            .await;
            failed += run.requests - run.outcomes.get("ok").copied().unwrap_or(0);
            let p50 = run.percentile_ms(0.5);
            worst = worst.max(p50 / baseline_p50);
            notes.push(format!(
                "adversarial: {what} ({:?}): p50 {p50:.2} ms, p99 {:.2} ms, {:.2}x the ordinary search (target <= 3x)",
                words.chars().take(24).collect::<String>(),
                run.percentile_ms(0.99),
                p50 / baseline_p50
            ));
        }

        let join = |words: &[&str]| words.join(",");
        let baseline = self
            .baseline(
                "search.sql",
                Amount::Seconds(SECONDS),
                &[("nouns", join(&seed::vocabulary::NOUNS))],
            )
            .await;
        let ok = server.run.outcomes.get("ok").copied().unwrap_or(0);
        let checks = vec![
            (
                format!("{ok} of {} searches answered", server.run.requests),
                ok == server.run.requests,
            ),
            (
                format!("every adversarial search answered ({failed} failed)"),
                failed == 0,
            ),
            (
                format!(
                    "the worst adversarial search at {worst:.2}x the ordinary one (target <= 3x)"
                ),
                worst <= 3.0,
            ),
        ];
        Report {
            name: "product search",
            description: format!(
                "products(first: 20, search:) of one noun by relevance over {} products, 20 connections, {SECONDS} s; pgbench runs the same three statements",
                seeded.len()
            ),
            server,
            baseline,
            checks,
            notes,
            target_ratio: 0.8,
            target_p99_ms: None,
            rounds: vec![],
        }
    }
}

/// The outcomes as `name count, ...`.
pub fn outcomes(outcomes: &BTreeMap<String, usize>) -> String {
    outcomes
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
