//! Stock holds and the payment window (issue 25), on a server started with
//! `ORDER_HOLD_STOCK=true`: a limited drop's orders, the payments of the
//! orders that won it, and the sweep of a backlog of expired orders under a
//! payment rush.

use std::time::{Duration, Instant};

use commerce::global_id::{encode, types};
use serde_json::json;

use crate::load::{self, Call};
use crate::pgbench::Amount;
use crate::scenarios::{Bench, Report};
use crate::seed;

const CREATE_ORDER: &str = "mutation($i: CreateOrderInput!) { createOrder(input: $i) { order { id } userErrors { code } } }";
const PAY_ORDER: &str =
    "mutation($i: PayOrderInput!) { payOrder(input: $i) { order { status } userErrors { code } } }";

fn create_outcome(body: &[u8]) -> String {
    load::mutation_outcome("createOrder", body)
}

fn payment_outcome(body: &[u8]) -> String {
    load::mutation_outcome("payOrder", body)
}

/// The drop: 10,000 shoppers, one order of one unit each, 1,000 units.
const SHOPPERS: i64 = 10_000;
const UNITS: i32 = 1_000;
const PRICE: i64 = 5_000;

impl Bench<'_> {
    /// (a) A limited drop with holds on: 10,000 createOrder of one product
    /// with 1,000 units at 200 connections; exactly 1,000 orders must hold
    /// the 1,000 units. Then (b) the payments of those 1,000 held orders.
    pub async fn held_drop(&self) -> [Report; 2] {
        let users = seed::users(self.pool, "drop", SHOPPERS, 1_000_000).await;
        let product = seed::products(self.pool, "Drop", 1, PRICE, UNITS).await;
        self.visit("drop", users).await;
        let product_id = encode(types::PRODUCT, product.first);
        let calls = (1..=SHOPPERS)
            .map(|k| Call {
                token: self.token(&format!("drop-{k}")),
                body: json!({ "query": CREATE_ORDER, "variables": { "i": { "items": [{ "productId": product_id, "quantity": 1 }] } } }),
            })
            .collect();
        self.settle().await;
        let server = self.measured(self.burst(calls, create_outcome)).await;
        let ok = server.run.outcomes.get("ok").copied().unwrap_or(0) as i64;
        let refused = server
            .run
            .outcomes
            .get("PRODUCT_OUT_OF_STOCK")
            .copied()
            .unwrap_or(0) as i64;
        let levels = self
            .scalar(&format!(
                "SELECT stock::BIGINT * 100000 + held_stock FROM products WHERE id = {}",
                product.first
            ))
            .await;
        let holding = self
            .scalar(&format!(
                "SELECT count(*) FROM orders o JOIN order_items i ON i.order_id = o.id
                 WHERE i.product_id = {} AND o.status = 'PENDING' AND o.holds_stock",
                product.first
            ))
            .await;
        let mut checks = vec![
            (
                format!("{ok} orders + {refused} out of stock = {SHOPPERS}"),
                ok == i64::from(UNITS) && refused == SHOPPERS - i64::from(UNITS),
            ),
            (
                format!(
                    "free stock {} = 0, held {} = holding orders {holding} = {UNITS}",
                    levels / 100_000,
                    levels % 100_000
                ),
                levels == i64::from(UNITS) && holding == i64::from(UNITS),
            ),
            self.audit("after the drop").await,
        ];

        let naive_users = seed::users(self.pool, "drop-naive", SHOPPERS, 1_000_000).await;
        let naive_product = seed::products(self.pool, "Drop naive", 1, PRICE, UNITS).await;
        let per = (SHOPPERS as usize).div_ceil(self.pool_size as usize);
        let baseline = self
            .baseline(
                "create_held_order.sql",
                Amount::PerClient(per),
                &[
                    ("pid", naive_product.first.to_string()),
                    ("first_user", naive_users.first.to_string()),
                    ("per", per.to_string()),
                    ("n", "0".into()),
                ],
            )
            .await;
        let naive_orders = self
            .scalar(&format!(
                "SELECT count(*) FROM order_items WHERE product_id = {}",
                naive_product.first
            ))
            .await;
        checks.push(self.audit("after pgbench's drop").await);
        let drop = Report {
            name: "held drop",
            description: format!(
                "{SHOPPERS} createOrder of one product with {UNITS} units, stock holds on, 200 connections"
            ),
            server,
            baseline,
            checks,
            notes: vec![format!(
                "pgbench placed {naive_orders} orders for its {UNITS} units"
            )],
            target_ratio: 10.0,
            target_p99_ms: Some(100.0),
            rounds: vec![],
        };
        let payments = self.held_payments(product.first).await;
        [drop, payments]
    }

    /// (b) The 1,000 orders that won the drop, paid at once at 200
    /// connections: each turns its hold into the sale.
    async fn held_payments(&self, product: i64) -> Report {
        let won: Vec<(i64, String)> = sqlx::query_as(
            "SELECT o.id, u.subject FROM orders o
             JOIN order_items i ON i.order_id = o.id JOIN users u ON u.id = o.user_id
             WHERE i.product_id = $1 AND o.status = 'PENDING'",
        )
        .bind(product)
        .fetch_all(self.pool)
        .await
        .expect("the drop's orders");
        let calls = won
            .iter()
            .map(|(order, subject)| Call {
                token: self.token(subject),
                body: json!({ "query": PAY_ORDER, "variables": { "i": { "orderId": encode(types::ORDER, *order) } } }),
            })
            .collect();
        self.settle().await;
        let server = self.measured(self.burst(calls, payment_outcome)).await;
        let ok = server.run.outcomes.get("ok").copied().unwrap_or(0);
        let levels = self
            .scalar(&format!(
                "SELECT stock::BIGINT * 100000 + held_stock FROM products WHERE id = {product}"
            ))
            .await;
        let mut checks = vec![
            (
                format!("{ok} of {} paid", won.len()),
                ok == won.len() && won.len() == UNITS as usize,
            ),
            (
                format!(
                    "free {} and held {} both 0",
                    levels / 100_000,
                    levels % 100_000
                ),
                levels == 0,
            ),
            self.audit("after the held payments").await,
        ];

        // pgbench's side: as many held orders of a product whose units
        // they all hold, seeded directly.
        let users = seed::users(self.pool, "held-naive", i64::from(UNITS), 1_000_000).await;
        let naive_product = seed::products(self.pool, "Held naive", 1, PRICE, 0).await;
        let orders = seed::single_line_orders(self.pool, users, naive_product).await;
        seed::hold(self.pool, orders, naive_product).await;
        let per = orders.len().div_ceil(self.pool_size as usize);
        let baseline = self
            .baseline(
                "pay_held_order.sql",
                Amount::PerClient(per),
                &[
                    ("base", orders.first.to_string()),
                    ("per", per.to_string()),
                    ("n", "0".into()),
                ],
            )
            .await;
        checks.push(self.audit("after pgbench's held payments").await);
        Report {
            name: "held payments",
            description: format!(
                "{} payOrder of the drop's held orders, all at once, 200 connections",
                won.len()
            ),
            server,
            baseline,
            checks,
            notes: vec![],
            target_ratio: 1.0,
            target_p99_ms: Some(100.0),
            rounds: vec![],
        }
    }

    /// (c) 100,000 held orders whose windows all close at once, swept by
    /// the server while 2,000 payers rush a hot product: how long the sweep
    /// takes, and the rush's p99 beside the same rush without a sweep.
    /// Returns the lines to print.
    pub async fn sweep_under_rush(&self) -> Vec<String> {
        const BACKLOG: i64 = 100_000;
        const PRODUCTS: i64 = 100;
        let owners = seed::users(self.pool, "abandon", 1_000, 0).await;
        let products = seed::products(self.pool, "Abandoned", PRODUCTS, 1_000, 0).await;
        let backlog = seed::abandoned_orders(self.pool, owners, products, BACKLOG).await;

        let (quiet, busy) = (
            self.rush_calls("quiet").await,
            self.rush_calls("busy").await,
        );
        self.settle().await;
        let quiet = self.rush(quiet).await;
        sqlx::query(
            "UPDATE orders SET expires_at = now() - interval '1 second' WHERE id BETWEEN $1 AND $2",
        )
        .bind(backlog.first)
        .bind(backlog.last)
        .execute(self.pool)
        .await
        .expect("closing the windows");
        let started = Instant::now();
        let busy = self.rush(busy).await;
        let mut swept_during_rush = 0;
        loop {
            let left = self
                .scalar(&format!(
                    "SELECT count(*) FROM orders WHERE status = 'PENDING' AND id BETWEEN {} AND {}",
                    backlog.first, backlog.last
                ))
                .await;
            if swept_during_rush == 0 {
                swept_during_rush = BACKLOG - left;
            }
            if left == 0 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "the sweep did not finish"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let took = started.elapsed();
        // The relay publishes their events meanwhile; the next scenarios
        // start once it is done, as they would on a quiet server.
        loop {
            let unpublished = self
                .scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .await;
            if unpublished == 0 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(900),
                "the relay did not publish the expiries"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let published = started.elapsed();
        let released = self
            .scalar(&format!(
                "SELECT sum(stock) - sum(held_stock) FROM products WHERE id BETWEEN {} AND {}",
                products.first, products.last
            ))
            .await;
        let (audit, clean) = self.audit("after the sweep").await;
        vec![
            format!(
                "sweep: {BACKLOG} expired held orders stored EXPIRED in {:.1} s ({:.0} orders/s), {swept_during_rush} of them during the rush; units back in stock {released} (expected {BACKLOG}) {}",
                took.as_secs_f64(),
                BACKLOG as f64 / took.as_secs_f64(),
                if released == BACKLOG { "ok" } else { "WRONG" }
            ),
            format!(
                "rush of 2,000 payOrder (1,000 units): p50 {:.1} ms, p99 {:.1} ms without the sweep; p50 {:.1} ms, p99 {:.1} ms beside it (p99 x{:.2})",
                quiet.percentile_ms(0.5),
                quiet.percentile_ms(0.99),
                busy.percentile_ms(0.5),
                busy.percentile_ms(0.99),
                busy.percentile_ms(0.99) / quiet.percentile_ms(0.99).max(f64::MIN_POSITIVE)
            ),
            format!(
                "their {BACKLOG} order-expired events all published to NATS {:.1} s after the windows closed",
                published.as_secs_f64()
            ),
            format!("{audit} {}", if clean { "" } else { "(FAILED)" }),
        ]
    }

    /// 2,000 payers of one product with 1,000 units, seeded and known to
    /// the server: their payOrder calls, ready to send.
    async fn rush_calls(&self, prefix: &str) -> Vec<Call> {
        let users = seed::users(self.pool, prefix, 2_000, 1_000_000).await;
        let product = seed::products(self.pool, prefix, 1, PRICE, 1_000).await;
        let orders = seed::single_line_orders(self.pool, users, product).await;
        self.visit(prefix, users).await;
        (0..users.len() as i64)
            .map(|k| Call {
                token: self.token(&format!("{prefix}-{}", k + 1)),
                body: json!({ "query": PAY_ORDER, "variables": { "i": { "orderId": encode(types::ORDER, orders.first + k) } } }),
            })
            .collect()
    }

    /// Sends a rush's calls.
    async fn rush(&self, calls: Vec<Call>) -> load::Run {
        self.burst(calls, payment_outcome).await
    }

    /// Sends every call at once over 200 connections; `outcome` names each
    /// answer.
    async fn burst(&self, calls: Vec<Call>, outcome: fn(&[u8]) -> String) -> load::Run {
        load::run(&load::client(200), &self.graphql_url(), calls, 200, outcome).await
    }
}
