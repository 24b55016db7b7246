//! The catalog listing of version 2: `products(search, inStockOnly,
//! orderBy)` with keyset pages in every direction, hostile search text,
//! cursors across orders and filters, and the trigram index the search
//! statement uses.

use serde_json::{Value, json};

use crate::helpers::{TestApp, count_statements, spawn_app};

const CREATE: &str = "mutation($i: CreateProductInput!) {
    createProduct(input: $i) { product { id description archivedAt } userErrors { code field } } }";

const LIST: &str = "query($first: Int, $after: String, $last: Int, $before: String,
        $search: String, $inStock: Boolean, $order: ProductOrder) {
    products(first: $first, after: $after, last: $last, before: $before, search: $search,
             inStockOnly: $inStock, orderBy: $order) {
        edges { cursor node { id name price stock } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        totalCount } }";

/// Creates a product with a description; returns its global id.
async fn product(app: &TestApp, name: &str, description: &str, price: i64, stock: i32) -> String {
    let r = app
        .as_admin(
            CREATE,
            json!({"i": {"name": name, "description": description, "price": price.to_string(), "stock": stock}}),
        )
        .await;
    assert_eq!(r.user_error_codes("createProduct"), Vec::<String>::new());
    r.data()["createProduct"]["product"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The names of a listing's page.
fn names(r: &crate::helpers::Gql) -> Vec<String> {
    r.data()["products"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The names a search lists (first page of 100).
async fn search(app: &TestApp, text: &str) -> Vec<String> {
    let r = app
        .gql(None, LIST, json!({"first": 100, "search": text}))
        .await;
    let connection = &r.data()["products"];
    let names = names(&r);
    assert_eq!(
        connection["totalCount"],
        names.len(),
        "totalCount honours the search"
    );
    names
}

#[tokio::test]
async fn every_word_must_appear_in_the_name_or_the_description() {
    let app = spawn_app().await;
    product(&app, "Green tea", "Loose leaf from Shizuoka", 1_500, 3).await;
    product(&app, "Black TEA", "", 1_200, 0).await;
    product(
        &app,
        "Tea pot",
        "Cast iron, holds green tea for two",
        9_000,
        1,
    )
    .await;
    product(&app, "Mug", "Ceramic", 800, 5).await;

    assert_eq!(
        search(&app, "tea").await,
        ["Tea pot", "Black TEA", "Green tea"]
    );
    assert_eq!(
        search(&app, "  GREEN\ttea ").await,
        ["Green tea", "Tea pot"],
        "by relevance: the name holds both words, the pot's description does"
    );
    let newest = app
        .gql(
            None,
            LIST,
            json!({"first": 10, "search": "green tea", "order": "NEWEST"}),
        )
        .await;
    assert_eq!(
        names(&newest),
        ["Tea pot", "Green tea"],
        "newest first when asked"
    );
    assert_eq!(
        search(&app, "leaf green").await,
        ["Green tea"],
        "name and description"
    );
    assert_eq!(search(&app, "shizuoka mug").await, Vec::<String>::new());
    assert_eq!(search(&app, "iron").await, ["Tea pot"], "description only");
    assert_eq!(search(&app, "   ").await.len(), 4, "blank searches nothing");
    // A word cannot straddle the name and the description.
    assert_eq!(search(&app, "teaLoose").await, Vec::<String>::new());

    let r = app
        .gql(
            None,
            LIST,
            json!({"first": 10, "search": "tea", "inStock": true}),
        )
        .await;
    assert_eq!(r.data()["products"]["totalCount"], 2, "in stock only");
    let r = app
        .gql(
            None,
            "{ products(inStockOnly: null, orderBy: null) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        r.data()["products"]["totalCount"],
        4,
        "null means the default"
    );
}

#[tokio::test]
async fn search_text_is_literal_bounded_and_never_sql() {
    let app = spawn_app().await;
    product(&app, "100% cotton shirt", "", 2_000, 1).await;
    product(&app, "1000 cotton threads", "", 300, 1).await;
    product(&app, "snake_case mug", "", 500, 1).await;
    product(&app, "snakescase cup", "", 500, 1).await;
    product(&app, "Back\\slash poster", "", 700, 1).await;
    product(&app, "It's a kettle", "for tea OR coffee", 4_000, 1).await;

    assert_eq!(search(&app, "100%").await, ["100% cotton shirt"]);
    assert_eq!(search(&app, "cotton %").await, ["100% cotton shirt"]);
    assert_eq!(search(&app, "snake_case").await, ["snake_case mug"]);
    assert_eq!(search(&app, "mug _").await, ["snake_case mug"]);
    assert_eq!(search(&app, "poster \\").await, ["Back\\slash poster"]);
    assert_eq!(search(&app, "k\\slash").await, ["Back\\slash poster"]);
    assert_eq!(search(&app, "cotton %%").await, Vec::<String>::new());
    assert_eq!(search(&app, "' OR 1=1 -- tea").await, Vec::<String>::new());
    assert_eq!(search(&app, "it's kettle or").await, ["It's a kettle"]);
    // A search of such words alone is refused: no index can answer it.
    for weak in ["%", "_", "\\", "%%", "' OR 1=1 --", "it's or"] {
        let r = app
            .gql(None, LIST, json!({"first": 5, "search": weak}))
            .await;
        assert_eq!(r.error_code(), "BAD_REQUEST", "{weak:?}: {}", r.body);
    }
    assert_eq!(
        search(&app, "'; DROP TABLE products; --").await,
        Vec::<String>::new()
    );
    assert_eq!(app.count("SELECT count(*) FROM products").await, 6);

    // Control characters (NUL first: PostgreSQL's text cannot hold it) and
    // text over the bound are refused before any SQL runs.
    let huge = "tea ".repeat(2_560); // 10 KiB
    let over = "x".repeat(201);
    for bad in ["tea\u{0}", "a\u{7}b", over.as_str(), huge.as_str()] {
        let (r, statements) =
            count_statements(app.gql(None, LIST, json!({"first": 5, "search": bad}))).await;
        assert_eq!(r.error_code(), "BAD_REQUEST", "{}", r.body);
        assert_eq!(statements, 0, "{bad:?} reached the database");
    }
    // 200 characters are fine, however many words.
    let many = format!("cotton {}", "t ".repeat(96));
    assert_eq!(
        search(&app, &many).await.len(),
        2,
        "the products holding cotton and a t"
    );
}

#[tokio::test]
async fn the_search_bound_is_configuration() {
    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        env: vec![("SEARCH_MAX_CHARS", "5".into())],
        ..Default::default()
    })
    .await;
    let r = app.gql(None, LIST, json!({"search": "12345"})).await;
    assert_eq!(r.data()["products"]["totalCount"], 0);
    let r = app.gql(None, LIST, json!({"search": "123456"})).await;
    assert_eq!(r.error_code(), "BAD_REQUEST");
}

/// (id, name, price, stock) of the products, in creation order.
type Row = (i64, String, i64, i32);

/// The ids of `rows` sorted as `order` says.
fn sorted(rows: &[Row], order: &str) -> Vec<i64> {
    let mut rows = rows.to_vec();
    match order {
        "NEWEST" => rows.sort_by_key(|r| std::cmp::Reverse(r.0)),
        "OLDEST" => rows.sort_by_key(|r| r.0),
        "PRICE_ASC" => rows.sort_by_key(|r| (r.2, r.0)),
        "PRICE_DESC" => rows.sort_by_key(|r| std::cmp::Reverse((r.2, r.0))),
        "NAME" => rows.sort_by_key(|r| (r.1.to_lowercase(), r.0)),
        other => panic!("{other}"),
    }
    rows.iter().map(|r| r.0).collect()
}

fn ids(connection: &Value) -> Vec<i64> {
    connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| TestApp::db_id(e["node"]["id"].as_str().unwrap()))
        .collect()
}

/// Walks a whole listing page by page, forward (first/after) or backward
/// (last/before), and returns the ids in list order; checks the page
/// flags on the way.
async fn walk(app: &TestApp, order: &str, filter: &Value, size: i64, backward: bool) -> Vec<i64> {
    let mut seen: Vec<i64> = Vec::new();
    let mut cursor: Option<String> = None;
    for page in 0.. {
        let mut vars = filter.clone();
        vars["order"] = json!(order);
        if backward {
            vars["last"] = json!(size);
            vars["before"] = json!(cursor);
        } else {
            vars["first"] = json!(size);
            vars["after"] = json!(cursor);
        }
        let r = app.gql(None, LIST, vars).await;
        let connection = &r.data()["products"];
        let info = &connection["pageInfo"];
        let got = ids(connection);
        let (more, other_side) = if backward {
            (&info["hasPreviousPage"], &info["hasNextPage"])
        } else {
            (&info["hasNextPage"], &info["hasPreviousPage"])
        };
        assert_eq!(other_side, &json!(page > 0), "{order} page {page}");
        if backward {
            seen.splice(0..0, got);
            cursor = info["startCursor"].as_str().map(str::to_owned);
        } else {
            seen.extend(got);
            cursor = info["endCursor"].as_str().map(str::to_owned);
        }
        if more == &json!(false) {
            break;
        }
        assert!(page < 100, "{order}: the walk does not end");
    }
    seen
}

#[tokio::test]
async fn every_order_pages_both_ways_without_gaps_or_duplicates() {
    let app = spawn_app().await;
    // Ties on purpose: equal prices, equal names up to case.
    let specs: [(&str, i64, i32); 13] = [
        ("banana", 300, 1),
        ("Apple", 100, 0),
        ("apple", 300, 2),
        ("cherry tea", 200, 3),
        ("Banana", 100, 0),
        ("date", 300, 1),
        ("apple", 200, 5),
        ("Elder tea", 300, 0),
        ("fig", 100, 4),
        ("grape tea", 200, 1),
        ("apple tea", 300, 7),
        ("Zest", 50, 1),
        ("zest", 50, 0),
    ];
    let mut rows: Vec<Row> = Vec::new();
    for (name, price, stock) in specs {
        let id = product(&app, name, "", price, stock).await;
        rows.push((TestApp::db_id(&id), name.to_owned(), price, stock));
    }
    let listed = |keep: &dyn Fn(&Row) -> bool| -> Vec<Row> {
        rows.iter().filter(|r| keep(r)).cloned().collect()
    };
    let filters: [(Value, Vec<Row>); 3] = [
        (json!({}), rows.clone()),
        (json!({"inStock": true}), listed(&|r| r.3 > 0)),
        (
            json!({"search": "TEA", "inStock": true}),
            listed(&|r| r.3 > 0 && r.1.to_lowercase().contains("tea")),
        ),
    ];
    for order in ["NEWEST", "OLDEST", "PRICE_ASC", "PRICE_DESC", "NAME"] {
        for (filter, rows) in &filters {
            let expected = sorted(rows, order);
            for size in [1, 4, 100] {
                for backward in [false, true] {
                    assert_eq!(
                        walk(&app, order, filter, size, backward).await,
                        expected,
                        "{order} {filter} size {size} backward {backward}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn cursors_belong_to_their_order_but_survive_a_new_filter() {
    let app = spawn_app().await;
    let mut rows: Vec<Row> = Vec::new();
    for (name, price) in [
        ("tea a", 5),
        ("mug", 3),
        ("tea b", 5),
        ("pot", 1),
        ("tea c", 2),
    ] {
        let id = product(&app, name, "", price, 1).await;
        rows.push((TestApp::db_id(&id), name.to_owned(), price, 1));
    }
    let r = app
        .gql(None, LIST, json!({"first": 2, "order": "PRICE_ASC"}))
        .await;
    let end = r.data()["products"]["pageInfo"]["endCursor"].clone();
    for other in ["NEWEST", "OLDEST", "PRICE_DESC", "NAME"] {
        for arg in ["after", "before"] {
            let mut vars = json!({"first": 2, "order": other});
            vars[arg] = end.clone();
            let r = app.gql(None, LIST, vars).await;
            assert_eq!(r.error_code(), "BAD_REQUEST", "{other} {arg}: {}", r.body);
            let message = r.body["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains("PRICE_ASC"), "{message}");
        }
    }
    // A NEWEST cursor is the plain cursor of the first version.
    let r = app.gql(None, LIST, json!({"first": 1})).await;
    let newest = r.data()["products"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let plain = base64_of(&format!("cursor:{}", rows[4].0));
    assert_eq!(newest, plain);

    // Under another search, a cursor is a place in the same order: the
    // page holds what follows that place and matches the new filter.
    let price_asc = sorted(&rows, "PRICE_ASC");
    let r = app
        .gql(
            None,
            LIST,
            json!({"first": 10, "after": end, "order": "PRICE_ASC", "search": "tea"}),
        )
        .await;
    let expected: Vec<i64> = price_asc[2..]
        .iter()
        .copied()
        .filter(|id| rows.iter().any(|r| r.0 == *id && r.1.contains("tea")))
        .collect();
    assert_eq!(ids(&r.data()["products"]), expected);

    let garbage = [
        "nope".to_owned(),
        base64_of("cursor:PRICE_ASC:x:1"),
        base64_of("cursor:NAME:1:a\u{0}"),
    ];
    for garbage in garbage {
        let r = app
            .gql(None, LIST, json!({"after": garbage, "order": "PRICE_ASC"}))
            .await;
        assert_eq!(r.error_code(), "BAD_REQUEST");
    }
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Seeds `n` products of common words straight into the database, then
/// the statistics the planner reads.
async fn seed_catalog(app: &TestApp, n: i64) {
    sqlx::query(
        "INSERT INTO products (name, description, price, stock)
         SELECT (ARRAY['Green','Black','Oolong','Jasmine','Herbal'])[1 + g % 5] || ' '
                || (ARRAY['tea','mug','pot','kettle','cup','tray'])[1 + g % 6] || ' ' || g,
                (ARRAY['ceramic','cast iron','glass','loose leaf','bamboo'])[1 + g % 5]
                || ' a b c d e f g h i j k l m n o p q r s t u v w x y z % _ 😀 e\u{301}',
                100 + g % 997, g % 7
         FROM generate_series(1, $1) AS g",
    )
    .bind(n)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE products")
        .execute(&app.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn words_no_index_can_answer_never_start_a_search() {
    let app = spawn_app().await;
    // Enough rows that a walk of the catalog would take seconds.
    seed_catalog(&app, 100_000).await;
    let letters: String = ('a'..='z').map(|c| format!("{c} ")).collect();
    let emoji = "😀".repeat(50);
    let marks = format!("e{}", "\u{301}".repeat(150));
    let percent = "%".repeat(200);
    for text in [
        letters.as_str(),
        percent.as_str(),
        emoji.as_str(),
        marks.as_str(),
        "ab cd",
        "% _ \\",
        "1=1 --",
    ] {
        let r = app
            .gql(None, LIST, json!({"first": 5, "search": text}))
            .await;
        assert_eq!(r.error_code(), "BAD_REQUEST", "{text:?}: {}", r.body);
        let message = r.body["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("3 letters or digits"),
            "{text:?}: {message}"
        );
    }
    // Beside a word the index answers, such words narrow its matches
    // (their plans: tests/api/search_at_scale.rs).
    let r = app
        .gql(
            None,
            LIST,
            json!({"first": 5, "search": format!("zanzibar {letters} 😀")}),
        )
        .await;
    assert_eq!(r.data()["products"]["totalCount"], 0, "{}", r.body);
    let r = app
        .gql(
            None,
            LIST,
            json!({"first": 5, "search": "99999 % e\u{301} 😀"}),
        )
        .await;
    assert_eq!(r.data()["products"]["totalCount"], 1, "{}", r.body);
}
