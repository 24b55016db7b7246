//! The search at a size that tempts the planner: 200,000 products with
//! words common alone and never together, rare, only on old products, in
//! descriptions only, long, non-Latin, digits, many at once; every order,
//! the in-stock filter, and pages forward and backward. Each listing is
//! held to the same list computed by brute force in SQL (complete, in
//! order, no duplicate), and the plans PostgreSQL ran for it
//! (`auto_explain`, sent to the app as notices) must read no more than the
//! walk or the matches: no scan of the table, no walk of an index past
//! `SEARCH_WALK_ROWS`.

use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::logs::AUTO_EXPLAIN;
use crate::helpers::{Options, TestApp, plans, spawn_app_with};

/// Enough products that walking them all is what the planner is tempted
/// into when two common words are rare together.
const PRODUCTS: i64 = 200_000;
/// The walk's length (`SEARCH_WALK_ROWS`, the default).
const WALK: usize = 1_000;
/// Every order of the listing.
const ORDERS: [&str; 6] = [
    "RELEVANCE",
    "NEWEST",
    "OLDEST",
    "PRICE_ASC",
    "PRICE_DESC",
    "NAME",
];

const LIST: &str = "query($first: Int, $after: String, $last: Int, $search: String,
        $inStock: Boolean, $order: ProductOrder) {
    products(first: $first, after: $after, last: $last, search: $search,
             inStockOnly: $inStock, orderBy: $order) {
        edges { node { id } } pageInfo { hasNextPage hasPreviousPage endCursor }
        totalCount } }";

/// The app on a catalog of [`PRODUCTS`], with `auto_explain` on for every
/// session of its database.
async fn catalog() -> TestApp {
    let app = spawn_app_with(Options {
        database_settings: AUTO_EXPLAIN.to_vec(),
        ..Default::default()
    })
    .await;
    // The trigram indexes are built once after the rows are in (their
    // definitions kept from the migrations), which is many times faster
    // than updating them row by row.
    let trigram_indexes: Vec<String> = sqlx::query_scalar(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index
         WHERE indrelid = 'products'::regclass AND pg_get_indexdef(indexrelid) LIKE '%gin_trgm_ops%'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(trigram_indexes.len(), 2, "{trigram_indexes:?}");
    for name in ["products_search_idx", "products_name_search_idx"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX {name}")))
            .execute(&app.pool)
            .await
            .unwrap();
    }
    // Even products are "Golden Kettle", odd ones "Plain Teapot": golden
    // and teapot are each in half the catalog and never together. Three
    // old products are named just "Teapot" (the exact match).
    sqlx::query(
        "INSERT INTO products (name, description, price, stock)
         SELECT 'Teapot', 'The plain one', 500, 1 FROM generate_series(1, 3)
         UNION ALL
         SELECT (ARRAY['Golden Kettle', 'Plain Teapot'])[1 + g % 2] || ' ' || g,
                'Made of ' || (ARRAY['copper', 'iron', 'clay', 'glass'])[1 + g % 4]
                || ' in ' || (ARRAY['Uji', 'Fujian', 'Kenya', 'Assam', 'Nilgiri'])[1 + g % 5]
                || CASE WHEN g % 5000 = 0 THEN ' zanzibar' ELSE '' END
                || CASE WHEN g <= 500 THEN ' vintage' ELSE '' END
                || CASE WHEN g % 997 = 0 THEN ' чайник 茶碗蒸し' ELSE '' END,
                100 + (g * 37) % 10000, g % 7
         FROM generate_series(1, $1) AS g",
    )
    .bind(PRODUCTS)
    .execute(&app.pool)
    .await
    .unwrap();
    for definition in trigram_indexes {
        sqlx::query(sqlx::AssertSqlSafe(definition))
            .execute(&app.pool)
            .await
            .unwrap();
    }
    sqlx::query("ANALYZE products")
        .execute(&app.pool)
        .await
        .unwrap();
    app
}

/// The `ORDER BY` of each order, as the contract describes it; `$3` is the
/// search's words as typed.
fn order_by(order: &str) -> &'static str {
    match order {
        "RELEVANCE" => {
            "CASE WHEN name ILIKE ALL ($2) THEN CASE WHEN lower(name) = lower($3) THEN 3 ELSE 2 END
                  ELSE 1 END DESC, id DESC"
        }
        "NEWEST" => "id DESC",
        "OLDEST" => "id ASC",
        "PRICE_ASC" => "price ASC, id ASC",
        "PRICE_DESC" => "price DESC, id DESC",
        "NAME" => "lower(name) ASC, id ASC",
        other => panic!("no order {other}"),
    }
}

/// Every product the search lists in each of `ORDERS`, by brute force:
/// one read of the table, sorted once per order.
async fn expected(app: &TestApp, words: &str, in_stock: bool) -> Vec<Vec<i64>> {
    let patterns: Vec<String> = words.split(' ').map(|w| format!("%{w}%")).collect();
    let lists: Vec<String> = ORDERS
        .iter()
        .map(|order| {
            format!(
                "coalesce(array_agg(id ORDER BY {}), '{{}}')",
                order_by(order)
            )
        })
        .collect();
    let sql = format!(
        "SELECT {} FROM products
         WHERE archived_at IS NULL AND (NOT $1 OR stock > 0)
           AND (name || ' ' || description) ILIKE ALL ($2)",
        lists.join(", ")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(in_stock)
        .bind(patterns)
        .bind(words)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    (0..ORDERS.len())
        .map(|i| row.get::<Vec<i64>, _>(i))
        .collect()
}

fn ids(r: &Value) -> Vec<i64> {
    r["data"]["products"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|e| TestApp::db_id(e["node"]["id"].as_str().unwrap()))
        .collect()
}

/// The `rows=N` of a plan line (`actual rows=N loops=M`).
fn actual_rows(line: &str) -> Option<usize> {
    let from = line.find("actual rows=")? + "actual rows=".len();
    line[from..].split(' ').next()?.parse().ok()
}

/// Holds every plan to the bound of the module: no scan of the table, and
/// no node reading or discarding more rows than the walk or the matches.
fn assert_bounded(plans: &[String], matches: usize, what: &str) {
    assert!(!plans.is_empty(), "{what}: no plan was recorded");
    let bound = WALK.max(matches) + 1;
    for plan in plans {
        assert!(
            !plan.contains("Seq Scan"),
            "{what}: a scan of a table\n{plan}"
        );
        for line in plan.lines() {
            let counted = (line.contains("Index Scan") && !line.contains("Bitmap Index Scan"))
                || line.contains("Index Only Scan")
                || line.contains("Bitmap Heap Scan");
            if counted {
                let rows = actual_rows(line).unwrap_or_else(|| panic!("{what}: {line}"));
                assert!(rows <= bound, "{what}: {rows} rows read\n{plan}");
            }
            if let Some(removed) = line.trim().strip_prefix("Rows Removed by Filter: ") {
                let removed: usize = removed.parse().unwrap();
                assert!(removed <= bound, "{what}: {removed} rows discarded\n{plan}");
            }
        }
    }
}

#[tokio::test]
async fn adversarial_searches_read_only_their_walk_or_their_matches() {
    let app = catalog().await;
    let long = "x".repeat(100);
    let searches = [
        "teapot",                           // half the catalog, three exact names
        "golden teapot",                    // each in half, never together
        "zanzibar",                         // 40 products
        "vintage",                          // only the 500 oldest
        "clay",                             // descriptions only: no name holds it
        "made copper uji golden kettle in", // many words
        "чайник",                           // Cyrillic
        "茶碗蒸し",                         // Japanese
        long.as_str(),                      // a long word, no match
        "4711",                             // digits
    ];
    for words in searches {
        for in_stock in [false, true] {
            let lists = expected(&app, words, in_stock).await;
            let matches = expected(&app, words, false).await[0].len();
            for (order, all) in ORDERS.iter().zip(lists) {
                let what = format!("{words:?} {order} inStock={in_stock}");
                let vars =
                    json!({"first": 20, "search": words, "inStock": in_stock, "order": order});
                let (first, seen) = plans(app.gql(None, LIST, vars)).await;
                let first = first.body;
                assert_bounded(&seen, matches, &what);
                assert_eq!(ids(&first), all[..all.len().min(20)], "{what}: page 1");
                let connection = &first["data"]["products"];
                assert_eq!(connection["totalCount"], all.len(), "{what}");
                assert_eq!(
                    connection["pageInfo"]["hasNextPage"],
                    all.len() > 20,
                    "{what}"
                );

                if all.len() > 20 {
                    let after = connection["pageInfo"]["endCursor"].clone();
                    let vars = json!({"first": 20, "after": after, "search": words,
                                      "inStock": in_stock, "order": order});
                    let (second, seen) = plans(app.gql(None, LIST, vars)).await;
                    assert_bounded(&seen, matches, &what);
                    assert_eq!(
                        ids(&second.body),
                        all[20..all.len().min(40)],
                        "{what}: page 2"
                    );
                }
                let vars =
                    json!({"last": 20, "search": words, "inStock": in_stock, "order": order});
                let (last, seen) = plans(app.gql(None, LIST, vars)).await;
                assert_bounded(&seen, matches, &what);
                assert_eq!(
                    ids(&last.body),
                    all[all.len().saturating_sub(20)..],
                    "{what}: the last page"
                );
            }
        }
    }
}

#[tokio::test]
async fn relevance_puts_the_exact_name_first_and_is_the_default_of_a_search() {
    let app = catalog().await;
    let r = app
        .gql(None, LIST, json!({"first": 5, "search": "TEAPOT"}))
        .await;
    let first = ids(&r.body);
    let exact: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM products WHERE name = 'Teapot' ORDER BY id DESC")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        first[..3],
        exact,
        "the three products named Teapot, oldest of all, come first"
    );
    let newest = app
        .gql(
            None,
            LIST,
            json!({"first": 5, "search": "TEAPOT", "order": "NEWEST"}),
        )
        .await;
    assert_ne!(ids(&newest.body)[..3], exact, "NEWEST when asked");
    // Without a search, RELEVANCE lists as NEWEST.
    let plain = app
        .gql(None, LIST, json!({"first": 3, "order": "RELEVANCE"}))
        .await;
    let newest = app.gql(None, LIST, json!({"first": 3})).await;
    assert_eq!(ids(&plain.body), ids(&newest.body));
}
