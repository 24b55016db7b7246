//! Requests written to take the server down: deep nesting, fragment webs,
//! hidden mutation fields, lists that multiply a response, NUL bytes,
//! out-of-range dates. Each is refused with a coded error, before anything
//! runs, and the server goes on answering.

use serde_json::{Value, json};

use crate::helpers::wait::eventually;
use crate::helpers::{Options, TestApp, spawn_app, spawn_app_with};

/// Posts `query` and checks that it is refused with `code` before anything
/// ran: no data and no error of a field (what execution would give), the
/// operation counted as refused before execution (`invalid`), and the
/// server alive after it. (How fast is for the benchmarks; a refusal that
/// would never come fails the hang guard of the test's wait.)
async fn refused_before_running(app: &TestApp, query: &str, code: &str) -> Value {
    let refused = || {
        app.state.metrics().counter(
            "graphql_requests_total",
            &[("operation", "invalid"), ("outcome", "error")],
        )
    };
    let before = refused();
    let r = eventually("the refusal", app.gql(None, query, json!({}))).await;
    assert_eq!(r.error_code(), code, "{}", r.body);
    assert!(r.body["data"].is_null(), "nothing ran: {}", r.body);
    assert!(
        r.body["errors"][0].get("path").is_none(),
        "no field ran: {}",
        r.body
    );
    assert_eq!(refused(), before + 1, "refused before execution");
    assert_alive(app).await;
    r.body
}

async fn assert_alive(app: &TestApp) {
    assert_eq!(app.get("/healthz").await.status(), 200, "the server lives");
}

fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

#[tokio::test]
async fn deeply_nested_values_are_refused_before_parsing() {
    let app = spawn_app().await;
    let list = nested("[", "1", "]", 1600);
    let object = nested("{a: ", "1", "}", 2000);
    let documents = [
        format!("{{ product(id: {list}) {{ id }} }}"),
        format!("{{ product(id: {object}) {{ id }} }}"),
        format!("query($v: ID = {list}) {{ product(id: $v) {{ id }} }}"),
        format!("{{ product(id: \"UHJvZHVjdDox\") @include(if: {list}) {{ id }} }}"),
    ];
    for document in &documents {
        refused_before_running(&app, document, "QUERY_TOO_COMPLEX").await;
    }
    // The same over GET.
    let token = app.token("mallory");
    let r = app
        .get_graphql(&token, &[("query", documents[0].as_str())])
        .await;
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX");
    // Variables nested as deep are refused too (JSON's own bound is
    // deeper than ours).
    let mut value = json!("UHJvZHVjdDox");
    for _ in 0..100 {
        value = json!([value]);
    }
    let r = app
        .gql(
            None,
            "query($v: ID!) { product(id: $v) { id } }",
            json!({ "v": value }),
        )
        .await;
    assert_eq!(r.error_code(), "QUERY_TOO_COMPLEX", "{}", r.body);
    // An 80-deep selection is refused like a 16-deep one.
    let deep = nested("{ a ", "", "}", 80);
    refused_before_running(&app, &deep, "QUERY_TOO_COMPLEX").await;
    assert_alive(&app).await;
}

/// `query { ...L0 } fragment L0 on Query { ...L1 ...L1 } ...`: each
/// fragment spreads the next `fan_out` times.
fn fragment_web(levels: usize, fan_out: usize) -> String {
    let mut text = String::from("query { ...L0 }");
    for level in 0..levels - 1 {
        let spreads = format!(" ...L{}", level + 1).repeat(fan_out);
        text += &format!(" fragment L{level} on Query {{{spreads} }}");
    }
    text + &format!(" fragment L{} on Query {{ __typename }}", levels - 1)
}

#[tokio::test]
async fn fragment_webs_are_refused_at_once() {
    let app = spawn_app().await;
    let doubling = fragment_web(25, 2);
    assert!(doubling.len() < 1_100, "the issue's 984-byte document");
    let body = refused_before_running(&app, &doubling, "QUERY_TOO_COMPLEX").await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("fields")),
        "{body}"
    );
    refused_before_running(&app, &fragment_web(15, 3), "QUERY_TOO_COMPLEX").await;
    // Two at once, as in the report, leave the server answering.
    let (a, b) = tokio::join!(
        app.gql(None, &doubling, json!({})),
        app.gql(None, &doubling, json!({}))
    );
    assert_eq!(
        (a.error_code(), b.error_code()),
        ("QUERY_TOO_COMPLEX".into(), "QUERY_TOO_COMPLEX".into())
    );
    assert_alive(&app).await;
    // A document that spreads a fragment in itself is a bad request.
    refused_before_running(
        &app,
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        "BAD_REQUEST",
    )
    .await;
}

#[tokio::test]
async fn mutation_fields_hidden_deep_in_fragments_are_counted() {
    let app = spawn_app().await;
    let fields: String = (0..1000)
        .map(|i| format!("c{i}:chargeBalance(input:{{amount:\"1\"}}){{__typename}} "))
        .collect();
    let mut document = String::from("mutation { ...F0 }");
    for level in 0..9 {
        document += &format!(" fragment F{level} on Mutation {{ ...F{} }}", level + 1);
    }
    document += &format!(" fragment F9 on Mutation {{ {fields}}}");
    let r = app
        .gql(Some(&app.token("mallory")), &document, json!({}))
        .await;
    assert_eq!(r.error_code(), "QUERY_TOO_COMPLEX", "{}", r.body);
    assert_eq!(
        app.count("SELECT count(*) FROM balance_ledger").await,
        0,
        "nothing was charged"
    );
}

#[tokio::test]
async fn every_list_a_response_multiplies_counts_in_its_complexity() {
    let app = spawn_app().await;
    let token = app.token("mallory");
    let me = app.user_id("mallory").await;
    let id = commerce::global_id::encode(commerce::global_id::types::USER, me);
    let ids = vec![id; 100];
    // 100 aliases x 100 ids of the caller's own user, each with 100 orders.
    let aliases: String = (0..100)
        .map(|i| format!("n{i}: nodes(ids: $ids) {{ ... on User {{ orders(first: 100) {{ nodes {{ id }} }} }} }} "))
        .collect();
    let r = app
        .gql(
            Some(&token),
            &format!("query($ids: [ID!]!) {{ {aliases} }}"),
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(r.error_code(), "QUERY_TOO_COMPLEX", "{}", r.body);
    // One `nodes` of 100 ids alone passes.
    let r = app
        .gql(
            Some(&token),
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_eq!(r.data()["nodes"].as_array().map(Vec::len), Some(100));
}

#[tokio::test]
async fn a_response_over_its_size_limit_is_not_sent() {
    let app = spawn_app_with(Options {
        env: vec![("RESPONSE_MAX_BYTES", "2000".into())],
        ..Default::default()
    })
    .await;
    for i in 0..40 {
        app.create_product(&format!("product number {i}"), 100, 1)
            .await;
    }
    let r = app
        .gql(None, "{ products(first: 5) { nodes { name } } }", json!({}))
        .await;
    assert_eq!(
        r.data()["products"]["nodes"].as_array().map(Vec::len),
        Some(5)
    );
    let r = app
        .gql(
            None,
            "{ products(first: 40) { nodes { id name price stock createdAt } } }",
            json!({}),
        )
        .await;
    assert_eq!(r.error_code(), "QUERY_TOO_COMPLEX", "{}", r.body);
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2000 bytes")),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn nul_bytes_are_invalid_input_not_internal_errors() {
    let app = spawn_app().await;
    let r = app
        .as_user(
            "ann",
            "mutation($i: ChargeBalanceInput!) { chargeBalance(input: $i) { userErrors { code field } } }",
            json!({ "i": { "amount": "100", "idempotencyKey": "key\u{0}" } }),
        )
        .await;
    assert_eq!(r.user_error_codes("chargeBalance"), ["INVALID_INPUT"]);
    assert_eq!(
        r.user_error_fields("chargeBalance"),
        ["input.idempotencyKey"]
    );
    let r = app
        .as_admin(
            "mutation($i: CreateProductInput!) { createProduct(input: $i) { userErrors { code field } } }",
            json!({ "i": { "name": "Mug\u{0}", "price": "100", "stock": 1 } }),
        )
        .await;
    assert_eq!(r.user_error_codes("createProduct"), ["INVALID_INPUT"]);
    assert_eq!(app.count("SELECT count(*) FROM products").await, 0);
    let token = app.token("mallory\u{0}");
    let r = app.gql(Some(&token), "{ viewer { id } }", json!({})).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error_code(), "UNAUTHENTICATED");
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE subject LIKE 'mallory%'")
            .await,
        0
    );
}

#[tokio::test]
async fn datetimes_rfc_3339_cannot_write_back_are_refused() {
    let app = spawn_app().await;
    let create = "mutation($i: CreateCouponInput!) { createCoupon(input: $i) { coupon { validFrom } userErrors { code } } }";
    for outside in ["9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00Z"] {
        let r = app
            .as_admin(
                create,
                json!({ "i": { "name": "x", "discountType": "FIXED_AMOUNT", "discountValue": 1,
                                "totalQuantity": 1, "validFrom": outside } }),
            )
            .await;
        assert_eq!(r.error_code(), "BAD_REQUEST", "{outside}: {}", r.body);
    }
    assert_eq!(app.count("SELECT count(*) FROM coupons").await, 0);
}

/// Generated hostile requests: deep nesting, fragment webs, huge alias
/// lists, odd Unicode and NUL bytes in every string a client controls, and
/// generated variables. Each must be answered, with data or coded
/// errors, never an internal error; and the process must live through all.
mod generated {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    use serde_json::{Value, json};
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use crate::helpers::spawn_app;
    use crate::helpers::wait::HANG_GUARD;

    /// Any text, weighted towards the characters that break things.
    fn text() -> impl Strategy<Value = String> {
        let odd = prop_oneof![
            Just('\u{0}'),
            Just('\u{7f}'),
            Just('\u{202e}'),
            Just('\u{feff}'),
            Just('\u{fffd}'),
            Just('\u{10ffff}'),
            Just('"'),
            Just('\\'),
            Just('%'),
            Just('_'),
            Just('\''),
            Just('😀'),
            any::<char>(),
        ];
        prop::collection::vec(odd, 0..300).prop_map(|chars| chars.into_iter().collect())
    }

    /// `text` as a GraphQL string literal (JSON's escaping is a subset).
    fn literal(text: &str) -> String {
        serde_json::to_string(text).unwrap_or_default()
    }

    fn nesting() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(prop::sample::select(vec!['[', '{', '(']), 0..4000),
            any::<bool>(),
        )
            .prop_map(|(openers, balanced)| {
                let closers: String = if balanced {
                    openers
                        .iter()
                        .rev()
                        .map(|c| match c {
                            '[' => ']',
                            '{' => '}',
                            _ => ')',
                        })
                        .collect()
                } else {
                    String::new()
                };
                let openers: String = openers.into_iter().collect();
                format!("{{ product(id: {openers}\"x\"{closers}) {{ id }} }}")
            })
    }

    fn fragment_web() -> impl Strategy<Value = String> {
        (1usize..40, 1usize..5).prop_map(|(levels, fan_out)| {
            let mut text = String::from("query { ...L0 }");
            for level in 0..levels - 1 {
                let spreads = format!(" ...L{}", level + 1).repeat(fan_out);
                text += &format!(" fragment L{level} on Query {{{spreads} }}");
            }
            text + &format!(" fragment L{} on Query {{ __typename }}", levels - 1)
        })
    }

    fn aliases() -> impl Strategy<Value = String> {
        let field = prop::sample::select(vec![
            "products(first: 100) { nodes { id name } }",
            "viewer { id balance }",
            "nodes(ids: [\"VXNlcjox\", \"UHJvZHVjdDox\"]) { id }",
            "__typename",
            "chargeBalance(input: { amount: \"1\" }) { userErrors { code } }",
        ]);
        (0usize..3000, field, any::<bool>()).prop_map(|(n, field, mutation)| {
            let fields: String = (0..n).map(|i| format!("a{i}: {field} ")).collect();
            let kind = if mutation { "mutation" } else { "query" };
            format!("{kind} {{ {fields} }}")
        })
    }

    fn strings_everywhere() -> impl Strategy<Value = String> {
        (text(), text(), 0usize..6).prop_map(|(a, b, which)| {
            let (a, b) = (literal(&a), literal(&b));
            match which {
                0 => format!("{{ product(id: {a}) {{ id name }} node(id: {b}) {{ id }} }}"),
                1 => format!(
                    "mutation {{ chargeBalance(input: {{ amount: {a}, idempotencyKey: {b} }}) {{ userErrors {{ code }} }} }}"
                ),
                2 => format!(
                    "mutation {{ createProduct(input: {{ name: {a}, price: \"1\", stock: 1 }}) {{ userErrors {{ code }} }} }}"
                ),
                3 => format!(
                    "mutation {{ createCoupon(input: {{ name: {a}, discountType: FIXED_AMOUNT, discountValue: 1, totalQuantity: 1, validFrom: {b} }}) {{ userErrors {{ code }} }} }}"
                ),
                4 => format!("{{ products(first: 5, after: {a}) {{ nodes {{ id }} }} }}"),
                _ => format!(
                    "mutation {{ createOrder(input: {{ items: [{{ productId: {a}, quantity: 1 }}], idempotencyKey: {b} }}) {{ userErrors {{ code }} }} }}"
                ),
            }
        })
    }

    fn noise() -> impl Strategy<Value = String> {
        let token = prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            "(",
            ")",
            "...",
            "...F",
            "fragment F on Query",
            "query",
            "mutation",
            "subscription",
            "$v",
            ":",
            "@include(if: true)",
            "\"",
            "\"\"\"",
            "#",
            "\n",
            "viewer",
            "products",
            "id",
            "on",
            "1",
            "-",
            "=",
            "!",
            "|",
            "&",
        ]);
        prop::collection::vec(token, 0..2000).prop_map(|tokens| tokens.join(" "))
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            text().prop_map(Value::from),
        ];
        let wide = leaf.prop_recursive(8, 500, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
                prop::collection::hash_map("[a-z]{1,3}", inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        });
        // Deep values are built in a loop: proptest's own recursion would
        // run out of the test thread's stack first.
        let deep =
            (text(), prop::collection::vec(any::<bool>(), 0..120)).prop_map(|(s, levels)| {
                levels.into_iter().fold(Value::from(s), |value, list| {
                    if list {
                        json!([value])
                    } else {
                        json!({ "productId": value })
                    }
                })
            });
        prop_oneof![3 => wide, 1 => deep]
    }

    fn variables() -> impl Strategy<Value = (String, Value)> {
        let document = prop::sample::select(vec![
            "query($v: ID!) { product(id: $v) { id } }",
            "query($v: [ID!]!) { nodes(ids: $v) { id } }",
            "query($v: Int) { products(first: $v) { totalCount } }",
            "mutation($v: ChargeBalanceInput!) { chargeBalance(input: $v) { userErrors { code } } }",
            "mutation($v: CreateOrderInput!) { createOrder(input: $v) { userErrors { code } } }",
        ]);
        (document, json_value()).prop_map(|(d, v)| (d.to_owned(), json!({ "v": v })))
    }

    /// One request: a body and the token it carries.
    fn request() -> impl Strategy<Value = (Value, usize)> {
        let document = prop_oneof![
            nesting(),
            fragment_web(),
            aliases(),
            strings_everywhere(),
            noise(),
        ]
        .prop_map(|query| json!({ "query": query }));
        let with_variables = variables()
            .prop_map(|(query, variables)| json!({ "query": query, "variables": variables }));
        let body = prop_oneof![4 => document, 1 => with_variables];
        let batch = prop::collection::vec(body.clone(), 0..12).prop_map(Value::from);
        (prop_oneof![8 => body, 1 => batch], 0usize..4)
    }

    /// Posts `body` over a connection of its own and reads the answer:
    /// (status, body), or why there was none. The socket's read timeout is
    /// the hang guard: a request stuck in CPU, or lost in a crash, never
    /// answers.
    fn post(address: &str, token: Option<&str>, body: &Value) -> Result<(u16, Value), String> {
        let mut stream = TcpStream::connect(address).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(HANG_GUARD))
            .map_err(|e| e.to_string())?;
        let body = body.to_string();
        let authorization = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "POST /graphql HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n\
             {authorization}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .map_err(|e| format!("no answer (hang guard {HANG_GUARD:?}): {e}"))?;
        let answer = String::from_utf8_lossy(&answer);
        let status = answer
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("not HTTP: {answer}"))?;
        let (_, body) = answer
            .split_once("\r\n\r\n")
            .ok_or_else(|| format!("no body: {answer}"))?;
        let body = serde_json::from_str(body).map_err(|e| format!("{e}: {body}"))?;
        Ok((status, body))
    }

    /// Every result of a response: the object, or each of a batch's.
    fn results(body: &Value) -> Vec<&Value> {
        match body {
            Value::Array(results) => results.iter().collect(),
            single => vec![single],
        }
    }

    #[test]
    fn hostile_requests_never_take_the_server_down() {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let app = runtime.block_on(spawn_app());
        let address = app.address.trim_start_matches("http://").to_owned();
        let tokens = [
            None,
            Some(app.token("mallory")),
            Some(app.admin_token("mallory-admin")),
            Some("not.a.token".to_owned()),
        ];
        let cases = std::env::var("HOSTILE_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(2_000);
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            // The cases are large: shrinking one that fails stops early,
            // with a case small enough to read.
            max_shrink_iters: 256,
            ..Config::default()
        });
        let outcome = runner.run(&request(), |(body, token)| {
            let (status, answer) =
                post(&address, tokens[token].as_deref(), &body).map_err(TestCaseError::fail)?;
            prop_assert!(
                matches!(status, 200 | 400 | 401 | 405 | 413),
                "status {status}: {answer}"
            );
            for result in results(&answer) {
                prop_assert!(
                    result.get("data").is_some() || result.get("errors").is_some(),
                    "{answer}"
                );
                for error in result["errors"].as_array().into_iter().flatten() {
                    let code = error["extensions"]["code"].as_str();
                    prop_assert!(
                        code.is_some() && code != Some("INTERNAL_SERVER_ERROR"),
                        "{answer}"
                    );
                }
            }
            Ok(())
        });
        let alive = post(&address, None, &json!({ "query": "{ __typename }" }));
        runtime.block_on(async { app.assert_invariants().await });
        drop(app);
        if let Err(failure) = outcome {
            panic!("{failure}");
        }
        let (status, _) = alive.expect("the server answers after every case");
        assert_eq!(status, 200);
    }
}
