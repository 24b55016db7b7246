//! The mixed scenario: a shop's usual traffic at a fixed rate (catalog
//! and viewer reads, carts, orders, payments, coupon claims, about 5 % bad
//! requests), to see what one request costs rather than how much a rush
//! can push through: the latency of each operation, and the server's CPU
//! time per request.
//!
//! Arrivals follow a fixed schedule (an open loop: a slow answer does not
//! slow the load down), after a warm-up that is not measured. With
//! `BENCH_BASELINE_SERVER` naming another build of the server, the scenario
//! runs in rounds, this build then that one, each on a fresh server and
//! database seeded alike, so that both meet the shared machine's drift
//! alike; it prints each round and the medians side by side. The mix uses
//! only operations every version of the API has had.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use commerce::auth::Authenticator;
use commerce::global_id::{encode, types};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::seed::{self, Ids};
use crate::server::{self, Server};

/// One operation of the mix: its name, its share (in 1/100), and how to
/// make the n-th call of it.
struct Kind {
    name: &'static str,
    share: usize,
}

/// The mix, in hundredths: it adds up to 100.
const MIX: [Kind; 11] = [
    Kind {
        name: "catalog",
        share: 25,
    },
    Kind {
        name: "product",
        share: 8,
    },
    Kind {
        name: "viewer",
        share: 15,
    },
    Kind {
        name: "cart",
        share: 7,
    },
    Kind {
        name: "addCartItem",
        share: 8,
    },
    Kind {
        name: "createOrder",
        share: 10,
    },
    Kind {
        name: "payOrder",
        share: 8,
    },
    Kind {
        name: "coupons",
        share: 5,
    },
    Kind {
        name: "issueCoupon",
        share: 5,
    },
    Kind {
        name: "chargeBalance",
        share: 4,
    },
    Kind {
        name: "bad request",
        share: 5,
    },
];

/// What one run of the mix measured, on one build.
pub struct MixRun {
    /// Which build.
    pub build: String,
    /// Each operation's latencies.
    pub latencies: BTreeMap<&'static str, Vec<Duration>>,
    /// Each operation's outcomes.
    pub outcomes: BTreeMap<&'static str, BTreeMap<String, usize>>,
    /// Requests answered.
    pub requests: usize,
    /// The measured window.
    pub wall: Duration,
    /// The server's CPU time (user and system) over the window.
    pub cpu: Duration,
}

impl MixRun {
    /// Every request's latencies.
    fn all(&self) -> Vec<Duration> {
        self.latencies.values().flatten().copied().collect()
    }

    /// The server's CPU time per request, in milliseconds.
    pub fn cpu_ms_per_request(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e3 / self.requests.max(1) as f64
    }

    /// The server's CPU use over the window, in % of one core.
    pub fn cpu_percent(&self) -> f64 {
        100.0 * self.cpu.as_secs_f64() / self.wall.as_secs_f64()
    }
}

/// The latency at quantile `q` of `latencies`, in milliseconds.
pub fn percentile_ms(latencies: &[Duration], q: f64) -> f64 {
    if latencies.is_empty() {
        return 0.0;
    }
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3
}

/// The settings of the scenario, from the environment.
struct Settings {
    rate: f64,
    warmup: Duration,
    measured: Duration,
    rounds: usize,
}

impl Settings {
    fn from_env() -> Self {
        let read = |name: &str, default: f64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(default)
        };
        Self {
            rate: read("BENCH_MIXED_RATE", 450.0),
            warmup: Duration::from_secs_f64(read("BENCH_MIXED_WARMUP_SECS", 10.0)),
            measured: Duration::from_secs_f64(read("BENCH_MIXED_SECS", 60.0)),
            rounds: read("BENCH_MIXED_ROUNDS", 2.0) as usize,
        }
    }
}

/// Runs the mix on this build, and in alternating rounds against
/// `BENCH_BASELINE_SERVER` when it is set; returns every run.
pub async fn run(
    database: &str,
    stream: &str,
    pool_size: u32,
    auth: &Authenticator,
) -> Vec<MixRun> {
    let settings = Settings::from_env();
    let this =
        std::env::var("BENCH_SERVER").unwrap_or_else(|_| env!("CARGO_BIN_EXE_commerce").to_owned());
    let mut builds = vec![("this build".to_owned(), this)];
    if let Ok(baseline) = std::env::var("BENCH_BASELINE_SERVER") {
        builds.push(("baseline".to_owned(), baseline));
    }
    let rounds = if builds.len() > 1 {
        settings.rounds.max(1)
    } else {
        1
    };
    let mut runs = Vec::new();
    for round in 0..rounds {
        for (name, binary) in &builds {
            let db = format!("{database}_mix{round}{}", runs.len());
            let url = format!("{}/{db}", server::postgres());
            let server = Server::start_binary(binary, &url, stream, pool_size, &[]).await;
            let pool = PgPool::connect(&url).await.expect("the mix's pool");
            let seeded = Seeded::new(&pool).await;
            let mix = one_run(&server, auth, &seeded, &settings, name).await;
            print_run(&mix, &settings);
            runs.push(mix);
            drop(server);
            pool.close().await;
            drop_database(&db).await;
        }
    }
    runs
}

/// What the mix draws on, seeded straight into the database.
struct Seeded {
    products: Ids,
    users: Ids,
    /// One PENDING order per user, paid in turn by the mix.
    orders: Ids,
    campaign: i64,
}

impl Seeded {
    async fn new(pool: &PgPool) -> Self {
        let products = seed::products(pool, "Mix", 200, 1_500, 1_000_000).await;
        let users = seed::users(pool, "mix", 5_000, 1_000_000_000).await;
        let orders = seed::single_line_orders(pool, users, products).await;
        let campaign = seed::campaign(pool, 1_000).await;
        Self {
            products,
            users,
            orders,
            campaign,
        }
    }

    fn product(&self, n: usize) -> String {
        let id = self.products.first + (n % self.products.len()) as i64;
        encode(types::PRODUCT, id).to_string()
    }

    fn user(&self, n: usize) -> String {
        format!("mix-{}", 1 + n % self.users.len())
    }
}

/// The n-th call of kind `kind`: a token and a body.
fn call(kind: &str, n: usize, seeded: &Seeded, auth: &Authenticator) -> (Option<String>, Value) {
    let token = |user: &str| auth.issue(user, false, 3600).ok();
    let user = seeded.user(n.wrapping_mul(7919));
    match kind {
        "catalog" => (
            None,
            json!({ "query": "query Catalog { products(first: 20) { nodes { id name price stock } pageInfo { hasNextPage endCursor } } }" }),
        ),
        "product" => (
            None,
            json!({ "query": "query Product($id: ID!) { product(id: $id) { id name price stock } }",
                    "variables": { "id": seeded.product(n) } }),
        ),
        "viewer" => (
            token(&user),
            json!({ "query": "query Viewer { viewer { id balance orders(first: 10) { nodes { id status totalAmount items { quantity unitPrice product { name } } } } } }" }),
        ),
        "cart" => (
            token(&user),
            json!({ "query": "query Cart { viewer { cart { items { quantity product { id name price } } subtotal } } }" }),
        ),
        "addCartItem" => (
            token(&user),
            json!({ "query": "mutation Add($i: AddCartItemInput!) { addCartItem(input: $i) { cart { totalQuantity } userErrors { code } } }",
                    "variables": { "i": { "productId": seeded.product(n), "quantity": 1 } } }),
        ),
        "createOrder" => (
            token(&user),
            json!({ "query": "mutation Create($i: CreateOrderInput!) { createOrder(input: $i) { order { id totalAmount } userErrors { code } } }",
                    "variables": { "i": { "items": [ { "productId": seeded.product(n), "quantity": 1 },
                                                     { "productId": seeded.product(n + 1), "quantity": 2 } ] } } }),
        ),
        "payOrder" => {
            // Each seeded order once, by its owner (user k holds order k).
            let k = n % seeded.orders.len();
            (
                token(&format!("mix-{}", 1 + k)),
                json!({ "query": "mutation Pay($i: PayOrderInput!) { payOrder(input: $i) { order { id status } userErrors { code } } }",
                        "variables": { "i": { "orderId": encode(types::ORDER, seeded.orders.first + k as i64).to_string() } } }),
            )
        }
        "coupons" => (
            None,
            json!({ "query": "query Coupons { coupons(first: 10) { nodes { id name remainingQuantity } } }" }),
        ),
        "issueCoupon" => (
            token(&user),
            json!({ "query": "mutation Issue($i: IssueCouponInput!) { issueCoupon(input: $i) { userCoupon { id } userErrors { code } } }",
                    "variables": { "i": { "couponId": encode(types::COUPON, seeded.campaign).to_string() } } }),
        ),
        "chargeBalance" => (
            token(&user),
            json!({ "query": "mutation Charge($i: ChargeBalanceInput!) { chargeBalance(input: $i) { user { balance } userErrors { code } } }",
                    "variables": { "i": { "amount": "100" } } }),
        ),
        _ => match n % 3 {
            0 => (None, json!({ "query": "{ products(first: " })),
            1 => (token(&user), json!({ "query": "{ viewer { nope } }" })),
            _ => (
                Some("not.a.token".to_owned()),
                json!({ "query": "{ viewer { id } }" }),
            ),
        },
    }
}

/// The kind of the i-th request: the mix's shares, spread evenly.
fn kind_of(i: usize) -> &'static str {
    // A stride coprime to 100 walks every slot of a hundred before
    // repeating, so any hundred requests follow the shares.
    let slot = (i * 37) % 100;
    let mut edge = 0;
    for kind in &MIX {
        edge += kind.share;
        if slot < edge {
            return kind.name;
        }
    }
    MIX[MIX.len() - 1].name
}

/// An answer's outcome: "ok", a userError code, or a top-level error code.
fn outcome(status: u16, body: &[u8]) -> String {
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return format!("HTTP {status}");
    };
    if let Some(code) = body["errors"][0]["extensions"]["code"].as_str() {
        return code.to_owned();
    }
    let Some(fields) = body["data"].as_object() else {
        return format!("HTTP {status}");
    };
    fields
        .values()
        .find_map(|field| field["userErrors"][0]["code"].as_str())
        .unwrap_or("ok")
        .to_owned()
}

/// One run of the mix on `server`: a warm-up, then the measured window.
async fn one_run(
    server: &Server,
    auth: &Authenticator,
    seeded: &Seeded,
    settings: &Settings,
    build: &str,
) -> MixRun {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("an HTTP client");
    let url: Arc<str> = format!("{}/graphql", server.address).into();
    let interval = Duration::from_secs_f64(1.0 / settings.rate);
    let warm = (settings.warmup.as_secs_f64() * settings.rate) as usize;
    let total = warm + (settings.measured.as_secs_f64() * settings.rate) as usize;
    // The calls are made before the clock starts: the load generator's own
    // work stays out of the window as far as it can.
    let mut made: BTreeMap<&'static str, usize> = BTreeMap::new();
    let calls: Vec<(&'static str, Option<String>, Value)> = (0..total)
        .map(|i| {
            let kind = kind_of(i);
            let n = made.entry(kind).or_default();
            let (token, body) = call(kind, *n, seeded, auth);
            *n += 1;
            (kind, token, body)
        })
        .collect();
    let started = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut cpu_at_start = None;
    let mut window_start = Instant::now();
    for (i, (kind, token, body)) in calls.into_iter().enumerate() {
        tokio::time::sleep_until(started + interval * i as u32).await;
        if i == warm {
            cpu_at_start = Some(server.cpu());
            window_start = Instant::now();
        }
        let (client, url) = (client.clone(), url.clone());
        let measured = i >= warm;
        tasks.spawn(async move {
            let sent = Instant::now();
            let mut request = client.post(&*url).json(&body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let name = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    match response.bytes().await {
                        Ok(bytes) => outcome(status, &bytes),
                        Err(_) => "unreadable".to_owned(),
                    }
                }
                Err(_) => "transport error".to_owned(),
            };
            (kind, measured, sent.elapsed(), name)
        });
    }
    let mut run = MixRun {
        build: build.to_owned(),
        latencies: BTreeMap::new(),
        outcomes: BTreeMap::new(),
        requests: 0,
        wall: Duration::ZERO,
        cpu: Duration::ZERO,
    };
    while let Some(done) = tasks.join_next().await {
        let (kind, measured, latency, name) = done.expect("a request task");
        if measured {
            run.latencies.entry(kind).or_default().push(latency);
            *run.outcomes
                .entry(kind)
                .or_default()
                .entry(name)
                .or_default() += 1;
            run.requests += 1;
        }
    }
    run.wall = window_start.elapsed();
    run.cpu = server
        .cpu()
        .saturating_sub(cpu_at_start.unwrap_or_default());
    run
}

fn print_run(run: &MixRun, settings: &Settings) {
    let all = run.all();
    println!(
        "\n== mixed, {}: {} requests at {:.0}/s over {:.1} s; p50 {:.2} ms, p99 {:.2} ms; server CPU {:.1} % of a core, {:.3} ms per request",
        run.build,
        run.requests,
        settings.rate,
        run.wall.as_secs_f64(),
        percentile_ms(&all, 0.5),
        percentile_ms(&all, 0.99),
        run.cpu_percent(),
        run.cpu_ms_per_request(),
    );
    for (kind, latencies) in &run.latencies {
        let outcomes: Vec<String> = run.outcomes[kind]
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        println!(
            "  {kind:<14} {:>6} requests  p50 {:>7.2} ms  p99 {:>7.2} ms  {}",
            latencies.len(),
            percentile_ms(latencies, 0.5),
            percentile_ms(latencies, 0.99),
            outcomes.join(", ")
        );
    }
}

/// A row of the comparison: its name, and the figure it reads of a run.
type Row = (String, Box<dyn Fn(&MixRun) -> f64>);

/// Prints the runs' medians side by side, per build and per operation,
/// with this build's figures over the baseline's.
pub fn print_comparison(runs: &[MixRun]) {
    if !runs.iter().any(|r| r.build == "baseline") {
        return;
    }
    let median = |values: Vec<f64>| {
        let mut v = values;
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        if v.is_empty() {
            0.0
        } else if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        }
    };
    let figure = |build: &str, f: &dyn Fn(&MixRun) -> f64| {
        median(runs.iter().filter(|r| r.build == build).map(f).collect())
    };
    println!("\n| mixed (median of rounds) | this build | baseline | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    let rows: Vec<Row> = {
        let mut rows: Vec<Row> = vec![
            (
                "p50 ms, all".into(),
                Box::new(|r: &MixRun| percentile_ms(&r.all(), 0.5)),
            ),
            (
                "p99 ms, all".into(),
                Box::new(|r: &MixRun| percentile_ms(&r.all(), 0.99)),
            ),
            (
                "server CPU ms per request".into(),
                Box::new(MixRun::cpu_ms_per_request),
            ),
        ];
        for kind in MIX.iter().map(|k| k.name) {
            rows.push((
                format!("{kind} p50 ms"),
                Box::new(move |r: &MixRun| {
                    percentile_ms(r.latencies.get(kind).map_or(&[][..], Vec::as_slice), 0.5)
                }),
            ));
            rows.push((
                format!("{kind} p99 ms"),
                Box::new(move |r: &MixRun| {
                    percentile_ms(r.latencies.get(kind).map_or(&[][..], Vec::as_slice), 0.99)
                }),
            ));
        }
        rows
    };
    for (name, f) in &rows {
        let this = figure("this build", f.as_ref());
        let base = figure("baseline", f.as_ref());
        println!(
            "| {name} | {this:.3} | {base:.3} | {:.2} |",
            this / base.max(f64::MIN_POSITIVE)
        );
    }
}

async fn drop_database(database: &str) {
    if let Ok(admin) = PgPool::connect(&format!("{}/postgres", server::postgres())).await {
        let sql = format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
        let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await;
        admin.close().await;
    }
}
