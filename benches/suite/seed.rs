//! Seeding in bulk, straight into the database (the benchmark measures the
//! use cases, not its own setup). Ids come out contiguous, which the
//! pgbench scripts rely on to pick rows.

use sqlx::PgPool;

/// A contiguous range of ids.
#[derive(Clone, Copy, Debug)]
pub struct Ids {
    pub first: i64,
    pub last: i64,
}

impl Ids {
    pub fn len(self) -> usize {
        (self.last - self.first + 1) as usize
    }
}

/// The first and last id of a seeded range, from a `SELECT min(id), max(id)`.
fn ids((first, last): (i64, i64)) -> Ids {
    Ids { first, last }
}

/// `count` users named `<prefix>-<n>`, each charged `balance` through the ledger.
pub async fn users(pool: &PgPool, prefix: &str, count: i64, balance: i64) -> Ids {
    let ids = ids(sqlx::query_as(
        "WITH u AS (INSERT INTO users (subject)
                    SELECT $1 || '-' || g FROM generate_series(1, $2::BIGINT) g ORDER BY g
                    RETURNING id)
         SELECT min(id), max(id) FROM u",
    )
    .bind(prefix)
    .bind(count)
    .fetch_one(pool)
    .await
    .expect("seeding users"));
    if balance > 0 {
        sqlx::query(
            "INSERT INTO balance_ledger (user_id, kind, amount)
             SELECT u, 'CHARGE', $3 FROM generate_series($1::BIGINT, $2::BIGINT) u",
        )
        .bind(ids.first)
        .bind(ids.last)
        .bind(balance)
        .execute(pool)
        .await
        .expect("seeding balances");
    }
    ids
}

/// `count` products at `price` with `stock` each.
pub async fn products(pool: &PgPool, prefix: &str, count: i64, price: i64, stock: i32) -> Ids {
    ids(sqlx::query_as(
        "WITH p AS (INSERT INTO products (name, price, stock)
                    SELECT $1 || ' ' || g, $2, $3 FROM generate_series(1, $4::BIGINT) g ORDER BY g
                    RETURNING id)
         SELECT min(id), max(id) FROM p",
    )
    .bind(prefix)
    .bind(price)
    .bind(stock)
    .bind(count)
    .fetch_one(pool)
    .await
    .expect("seeding products"))
}

/// One PENDING order per user of `users`, each for one unit of a product of
/// `products` (user n takes product n modulo the range), at its price.
pub async fn single_line_orders(pool: &PgPool, users: Ids, products: Ids) -> Ids {
    let orders = ids(sqlx::query_as(
        "WITH o AS (INSERT INTO orders (user_id, total_amount)
                    SELECT u, 0 FROM generate_series($1::BIGINT, $2::BIGINT) u ORDER BY u
                    RETURNING id, user_id),
              i AS (INSERT INTO order_items (order_id, product_id, quantity, unit_price)
                    SELECT o.id, p.id, 1, p.price FROM o
                    JOIN products p ON p.id = $3 + (o.user_id - $1) % ($4 - $3 + 1))
         SELECT min(id), max(id) FROM o",
    )
    .bind(users.first)
    .bind(users.last)
    .bind(products.first)
    .bind(products.last)
    .fetch_one(pool)
    .await
    .expect("seeding orders"));
    fix_totals(pool, orders).await;
    orders
}

/// `per_user` PENDING orders per user of `users`, each of three lines of
/// distinct products of `products`.
pub async fn three_line_orders(pool: &PgPool, users: Ids, products: Ids, per_user: i64) -> Ids {
    let orders = ids(sqlx::query_as(
        "WITH o AS (INSERT INTO orders (user_id, total_amount)
                    SELECT u, 0 FROM generate_series($1::BIGINT, $2::BIGINT) u
                    CROSS JOIN generate_series(1, $5::BIGINT) k ORDER BY u, k
                    RETURNING id),
              i AS (INSERT INTO order_items (order_id, product_id, quantity, unit_price)
                    SELECT o.id, p.id, 1 + k, p.price FROM o
                    CROSS JOIN generate_series(0, 2) k
                    JOIN products p ON p.id = $3 + (o.id * 7 + k * 13) % ($4 - $3 + 1))
         SELECT min(id), max(id) FROM o",
    )
    .bind(users.first)
    .bind(users.last)
    .bind(products.first)
    .bind(products.last)
    .bind(per_user)
    .fetch_one(pool)
    .await
    .expect("seeding orders"));
    fix_totals(pool, orders).await;
    orders
}

/// Pays `orders` (PENDING, one line each, of products whose stock was
/// seeded as already taken) as payOrder would have: each order PAID with
/// its payment, its PAYMENT ledger row and its order-paid event (stamped
/// published: the benchmark's stream need not hold it), so that the audit
/// holds before the refunds start.
pub async fn pay_directly(pool: &PgPool, orders: Ids) {
    sqlx::query(
        "WITH o AS (UPDATE orders SET status = 'PAID', paid_at = now()
                    WHERE id BETWEEN $1 AND $2 AND status = 'PENDING'
                    RETURNING id, user_id, total_amount, paid_at),
              p AS (INSERT INTO payments (order_id, user_id, amount, paid_at)
                    SELECT id, user_id, total_amount, paid_at FROM o),
              l AS (INSERT INTO balance_ledger (user_id, kind, amount, order_id)
                    SELECT user_id, 'PAYMENT', -total_amount, id FROM o)
         INSERT INTO outbox (event_id, event_type, order_id, payload, published_at)
         SELECT gen_random_uuid(), 'com.commerce.order.paid', id, '{}', now() FROM o",
    )
    .bind(orders.first)
    .bind(orders.last)
    .execute(pool)
    .await
    .expect("seeding payments");
}

/// Turns `orders` (PENDING, one unit each of `product`) into orders that
/// hold their units, open for another hour: the product's held stock is
/// their count, as if createOrder had held them.
pub async fn hold(pool: &PgPool, orders: Ids, product: Ids) {
    sqlx::query(
        "WITH o AS (UPDATE orders SET holds_stock = true, expires_at = now() + interval '1 hour'
                    WHERE id BETWEEN $1 AND $2 RETURNING id)
         UPDATE products SET held_stock = held_stock + (SELECT count(*) FROM o)::INT WHERE id = $3",
    )
    .bind(orders.first)
    .bind(orders.last)
    .bind(product.first)
    .execute(pool)
    .await
    .expect("seeding holds");
}

/// `count` PENDING orders of `owners` (in turn), each holding one unit of
/// a product of `products` (in turn), open for another hour: a backlog of
/// checkouts about to be abandoned.
pub async fn abandoned_orders(pool: &PgPool, owners: Ids, products: Ids, count: i64) -> Ids {
    let orders = ids(sqlx::query_as(
        "WITH o AS (INSERT INTO orders (user_id, total_amount, expires_at, holds_stock)
                    SELECT $1 + g % ($2 - $1 + 1), 0, now() + interval '1 hour', true
                    FROM generate_series(0, $5 - 1) g ORDER BY g
                    RETURNING id),
              i AS (INSERT INTO order_items (order_id, product_id, quantity, unit_price)
                    SELECT o.id, p.id, 1, p.price FROM o
                    JOIN products p ON p.id = $3 + o.id % ($4 - $3 + 1))
         SELECT min(id), max(id) FROM o",
    )
    .bind(owners.first)
    .bind(owners.last)
    .bind(products.first)
    .bind(products.last)
    .bind(count)
    .fetch_one(pool)
    .await
    .expect("seeding abandoned orders"));
    fix_totals(pool, orders).await;
    sqlx::query(
        "UPDATE products p SET held_stock = h.units
         FROM (SELECT product_id, sum(quantity)::INT AS units FROM order_items
               WHERE order_id BETWEEN $1 AND $2 GROUP BY product_id) h
         WHERE p.id = h.product_id",
    )
    .bind(orders.first)
    .bind(orders.last)
    .execute(pool)
    .await
    .expect("seeding the held units");
    orders
}

/// Sets each order's total to the sum of its lines.
async fn fix_totals(pool: &PgPool, orders: Ids) {
    sqlx::query(
        "UPDATE orders o SET total_amount = s.total
         FROM (SELECT order_id, sum(quantity::BIGINT * unit_price) AS total
               FROM order_items WHERE order_id BETWEEN $1 AND $2 GROUP BY order_id) s
         WHERE o.id = s.order_id",
    )
    .bind(orders.first)
    .bind(orders.last)
    .execute(pool)
    .await
    .expect("seeding totals");
}

/// A coupon campaign open now; returns its id.
pub async fn campaign(pool: &PgPool, total: i32) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO coupons (name, discount_type, discount_value, total_quantity)
         VALUES ('Rush', 'PERCENTAGE', 10, $1) RETURNING id",
    )
    .bind(total)
    .fetch_one(pool)
    .await
    .expect("seeding a campaign")
}

/// The words the search scenario's catalog is made of (and searched by).
pub mod vocabulary {
    /// A product name's first word.
    pub const ADJECTIVES: [&str; 20] = [
        "Green", "Black", "Smoky", "Spiced", "Golden", "Rustic", "Classic", "Vintage", "Nordic",
        "Alpine", "Royal", "Tiny", "Grand", "Bright", "Silent", "Urban", "Coastal", "Wild",
        "Amber", "Crimson",
    ];
    /// A product name's second word.
    pub const NOUNS: [&str; 20] = [
        "tea", "mug", "kettle", "teapot", "cup", "tray", "bowl", "plate", "jar", "spoon", "whisk",
        "grinder", "press", "filter", "canister", "strainer", "saucer", "pitcher", "infuser",
        "scoop",
    ];
    /// What the description says it is made of.
    pub const MATERIALS: [&str; 10] = [
        "ceramic",
        "porcelain",
        "glass",
        "bamboo",
        "steel",
        "copper",
        "iron",
        "stoneware",
        "walnut",
        "linen",
    ];
    /// Where the description says it comes from.
    pub const ORIGINS: [&str; 10] = [
        "Kyoto",
        "Darjeeling",
        "Assam",
        "Yunnan",
        "Ceylon",
        "Shizuoka",
        "Uji",
        "Fujian",
        "Nilgiri",
        "Kenya",
    ];
}

/// `count` products for the search scenario, in one statement: names like
/// "Golden teapot 4711" and descriptions like "Made of copper in Uji.", the
/// words spread so that each name word is in 5% of the products, each
/// description word in 10%, and an adjective with a noun in 0.25%.
pub async fn catalog(pool: &PgPool, count: i64) -> Ids {
    use vocabulary::{ADJECTIVES, MATERIALS, NOUNS, ORIGINS};
    ids(sqlx::query_as(
        "WITH p AS (INSERT INTO products (name, description, price, stock)
                    SELECT ($1::TEXT[])[1 + g % 20] || ' ' || ($2::TEXT[])[1 + (g / 20) % 20] || ' ' || g,
                           'Made of ' || ($3::TEXT[])[1 + (g * 7) % 10] || ' in '
                           || ($4::TEXT[])[1 + (g * 13 / 10) % 10] || '.',
                           100 + (g * 37) % 10000, g % 50
                    FROM generate_series(1, $5::BIGINT) g ORDER BY g
                    RETURNING id)
         SELECT min(id), max(id) FROM p",
    )
    .bind(&ADJECTIVES[..])
    .bind(&NOUNS[..])
    .bind(&MATERIALS[..])
    .bind(&ORIGINS[..])
    .bind(count)
    .fetch_one(pool)
    .await
    .expect("seeding the catalog"))
}
