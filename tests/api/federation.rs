//! The server as an Apollo Federation v2 subgraph (docs/federation.md):
//! `_service { sdl }`, the entities `_entities` resolves (with `node`'s
//! visibility, in one read per entity type), and the gate's hold on
//! `_entities` (its representations bounded, counted, checked). The
//! gateway itself, composing this subgraph with another, is
//! `tests/gateway/` (`.ci/gateway`).

use serde_json::{Value, json};

use crate::helpers::{
    Options, PRODUCTION_SECRET, TestApp, count_statements, spawn_app, spawn_app_with,
};
use commerce::global_id::{encode, types};

const SERVICE: &str = "{ _service { sdl } }";

/// An `_entities` call that selects what each entity type offers.
const ENTITIES: &str = "query($r: [_Any!]!) { _entities(representations: $r) {
    __typename
    ... on Product { id name price }
    ... on Order { id status items { quantity product { name } } }
    ... on User { id }
    ... on Coupon { id name }
} }";

/// A representation of entity `typename` with global id `id`.
fn rep(typename: &str, id: &str) -> Value {
    json!({ "__typename": typename, "id": id })
}

async fn entities(app: &TestApp, token: Option<&str>, reps: &[Value]) -> Value {
    let r = app.gql(token, ENTITIES, json!({ "r": reps })).await;
    r.data()["_entities"].clone()
}

/// The ids of an `_entities` answer, null where an entity is null.
fn ids(entities: &Value) -> Vec<Option<String>> {
    entities
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| e["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn the_subgraph_schema_links_federation_v2_and_keys_four_entities_by_id() {
    let app = spawn_app().await;
    let r = app.gql(None, SERVICE, json!({})).await;
    let sdl = r.data()["_service"]["sdl"].as_str().expect("the sdl");
    assert!(sdl.contains("extend schema @link("), "{sdl}");
    assert!(
        sdl.contains("url: \"https://specs.apollo.dev/federation/v2."),
        "federation v2"
    );
    for entity in ["Product", "Order", "User", "Coupon"] {
        let key = format!("type {entity} implements Node @key(fields: \"id\") {{");
        assert!(sdl.contains(&key), "{key}");
    }
    assert_eq!(sdl.matches("@key(").count(), 4, "no other entity");
    // Subscriptions stay this server's own (a gateway does not route them),
    // as does the federation's plumbing; queries and mutations are composed.
    assert!(!sdl.contains("type Subscription"), "no Subscription");
    assert!(!sdl.contains("orderUpdated"), "no subscription field");
    assert!(!sdl.contains("_entities") && !sdl.contains("_service"));
    assert!(sdl.contains("type Mutation {") && sdl.contains("type Query {"));

    // The API's schema (schema.graphql) has neither.
    let api = commerce::graphql::sdl();
    assert!(!api.contains("_entities") && !api.contains("@key"));
}

#[tokio::test]
async fn production_answers_service_to_its_gateway_with_introspection_off() {
    let app = spawn_app_with(Options::with_env(&[
        ("APP_ENV", "production"),
        ("JWT_SECRET", PRODUCTION_SECRET),
    ]))
    .await;
    let introspection = app
        .gql(None, "{ __schema { types { name } } }", json!({}))
        .await;
    assert!(
        introspection.body.get("errors").is_some()
            || introspection.body["data"]["__schema"].is_null(),
        "introspection is off: {}",
        introspection.body
    );
    let r = app.gql(None, SERVICE, json!({})).await;
    let sdl = r.data()["_service"]["sdl"].as_str().expect("the sdl");
    assert!(sdl.contains("@key(fields: \"id\")"));
}

#[tokio::test]
async fn federation_off_refuses_service_and_entities() {
    let app = spawn_app_with(Options::with_env(&[("FEDERATION", "false")])).await;
    let product = app.create_product("Tea", 1_500, 5).await;
    for (query, variables) in [
        (SERVICE, json!({})),
        (ENTITIES, json!({ "r": [rep("Product", &product)] })),
    ] {
        let r = app.gql(None, query, variables).await;
        assert_eq!(r.error_code(), "BAD_REQUEST", "{}", r.body);
        let message = r.body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("FEDERATION=false"), "{message}");
    }
    // The API itself is untouched.
    let r = app
        .gql(
            None,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": product }),
        )
        .await;
    assert_eq!(r.data()["node"]["id"], product.as_str());
}

#[tokio::test]
async fn entities_are_seen_as_node_sees_them() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 1_500, 100).await;
    let alices = app.create_order("alice", &[(&tea, 2)]).await;
    let bobs = app.create_order("bob", &[(&tea, 1)]).await;
    let alice = encode(types::USER, app.user_id("alice").await);
    let bob = encode(types::USER, app.user_id("bob").await);
    let campaign = encode(
        types::COUPON,
        app.create_campaign("FIXED_AMOUNT", 100, 5, (-1, Some(24)))
            .await,
    );
    let missing_product = encode(types::PRODUCT, 999_999);
    let reps = [
        rep("Product", &tea),
        rep("Coupon", &campaign),
        rep("Order", &alices),
        rep("Order", &bobs),
        rep("User", &alice),
        rep("User", &bob),
        // Nothing there, an id of another type, not an id at all.
        rep("Product", &missing_product),
        rep("Product", &alices),
        rep("Order", "not-an-id"),
        rep("User", ""),
    ];
    let visible = |seen: &[usize]| -> Vec<Option<String>> {
        reps.iter()
            .enumerate()
            .map(|(i, r)| {
                seen.contains(&i)
                    .then(|| r["id"].as_str().unwrap().to_owned())
            })
            .collect()
    };
    let alice_token = app.token("alice");
    let admin_token = app.admin_token("root");
    for (token, seen) in [
        (None, visible(&[0, 1])),
        (Some(alice_token.as_str()), visible(&[0, 1, 2, 4])),
        (Some(admin_token.as_str()), visible(&[0, 1, 2, 3, 4, 5])),
    ] {
        let answer = entities(&app, token, &reps).await;
        assert_eq!(ids(&answer), seen, "as {token:?}: {answer}");
        // The one rule: nodes answers the same ids the same way (but the
        // order's id given as a product's, which nodes takes for the order).
        let mut expected = seen.clone();
        expected.remove(7);
        let mut all: Vec<&str> = reps.iter().map(|r| r["id"].as_str().unwrap()).collect();
        all.remove(7);
        let nodes = app
            .gql(
                token,
                "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
                json!({ "ids": all }),
            )
            .await;
        assert_eq!(ids(&nodes.data()["nodes"]), expected, "nodes as {token:?}");
    }
    // Resolved in full, in the order asked.
    let answer = entities(&app, Some(&alice_token), &reps).await;
    assert_eq!(answer[0]["name"], "Tea");
    assert_eq!(answer[0]["price"], "1500");
    assert_eq!(answer[1]["__typename"], "Coupon");
    assert_eq!(answer[2]["items"][0]["quantity"], 2);
    assert_eq!(answer[2]["items"][0]["product"]["name"], "Tea");
}

/// 30 products and 10 orders in one call: one statement per entity type,
/// the same as for one of each; and a caller new to the instance is looked
/// up once, not once per order.
#[tokio::test]
async fn an_entities_call_reads_each_entity_type_once() {
    let app = spawn_app().await;
    let mut products = Vec::new();
    for i in 0..30 {
        products.push(app.create_product(&format!("P{i}"), 100 + i, 1_000).await);
    }
    let mut orders = Vec::new();
    for product in &products[..10] {
        orders.push(app.create_order("alice", &[(product, 1)]).await);
    }
    let reps = |n_products: usize, n_orders: usize| -> Vec<Value> {
        let products = products[..n_products].iter().map(|p| rep("Product", p));
        let orders = orders[..n_orders].iter().map(|o| rep("Order", o));
        // Interleaved, as a gateway's plan may send them.
        let mut all: Vec<Value> = orders.collect();
        for (i, p) in products.enumerate() {
            all.insert((i * 2).min(all.len()), p);
        }
        all
    };
    let query = "query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Product { name } ... on Order { status } } }";
    let alice = app.token("alice");
    let (few, for_few) =
        count_statements(app.gql(Some(&alice), query, json!({ "r": reps(1, 1) }))).await;
    assert_eq!(few.data()["_entities"].as_array().unwrap().len(), 2);
    let (many, for_many) =
        count_statements(app.gql(Some(&alice), query, json!({ "r": reps(30, 10) }))).await;
    let answered = many.data()["_entities"].as_array().unwrap().clone();
    assert_eq!(answered.len(), 40);
    assert!(
        answered.iter().all(|e| !e.is_null()),
        "all visible to alice"
    );
    assert_eq!(
        answered.iter().filter(|e| e["status"] == "PENDING").count(),
        10
    );
    assert_eq!(
        (for_few, for_many),
        (2, 2),
        "one statement for the products, one for the orders"
    );

    // Callers this instance has never seen: one lookup of who they are
    // (and their user made), however many orders they ask for.
    let (_, for_one_order) =
        count_statements(app.as_user("carol", query, json!({ "r": reps(0, 1) }))).await;
    let (_, for_ten_orders) =
        count_statements(app.as_user("dave", query, json!({ "r": reps(0, 10) }))).await;
    assert_eq!(for_one_order, for_ten_orders);
}

/// Posts `_entities` with `reps` and expects a refusal with `code` before
/// anything was read.
async fn refused(app: &TestApp, query: &str, reps: Value, code: &str) -> String {
    let (r, statements) = count_statements(app.gql(None, query, json!({ "r": reps }))).await;
    assert_eq!(r.error_code(), code, "{}", r.body);
    assert!(r.body["data"].is_null(), "nothing ran: {}", r.body);
    assert_eq!(statements, 0, "nothing read");
    assert_eq!(app.get("/healthz").await.status(), 200, "the server lives");
    r.body["errors"][0]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_gate_holds_entities_to_every_limit() {
    let app = spawn_app().await;
    let product = app.create_product("Tea", 1_500, 5).await;
    let products = |n: usize| json!(vec![rep("Product", &product); n]);

    // At most QUERY_MAX_REPRESENTATIONS (100), whatever the selection.
    let small = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }";
    let message = refused(&app, small, products(101), "BAD_REQUEST").await;
    assert!(message.contains("at most 100 representations"), "{message}");
    let r = app.gql(None, small, json!({ "r": products(100) })).await;
    assert_eq!(r.data()["_entities"].as_array().unwrap().len(), 100);

    // Each representation multiplies the complexity (20,000 by default):
    // 100 orders of 100 lines each is 1 + 100 x (1 + 100 x 2).
    let nested = "query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Order { items { product { name } } } } }";
    let orders = json!(vec![rep("Order", "T3JkZXI6MQ=="); 100]);
    let message = refused(&app, nested, orders, "QUERY_TOO_COMPLEX").await;
    assert!(message.contains("complexity is 20101"), "{message}");
    let r = app
        .gql(None, nested, json!({ "r": [rep("Order", "T3JkZXI6MQ==")] }))
        .await;
    assert_eq!(r.data()["_entities"], json!([null]));
}

#[tokio::test]
async fn depth_and_fields_limits_reach_through_entities() {
    let app = spawn_app_with(Options::with_env(&[
        ("QUERY_MAX_DEPTH", "3"),
        ("QUERY_MAX_FIELDS", "6"),
        ("QUERY_MAX_REPRESENTATIONS", "2"),
    ]))
    .await;
    let one = json!([rep("Order", "T3JkZXI6MQ==")]);
    // _entities > items > product > name: 4 deep.
    let deep = "query($r: [_Any!]!) { _entities(representations: $r) {
        ... on Order { items { product { name } } } } }";
    let message = refused(&app, deep, one.clone(), "QUERY_TOO_COMPLEX").await;
    assert!(message.contains("nests 4 fields deep"), "{message}");
    // Seven fields, through a fragment.
    let wide = "query($r: [_Any!]!) { _entities(representations: $r) { ...F } }
        fragment F on Order { id status createdAt totalAmount discountAmount payableAmount }";
    let message = refused(&app, wide, one.clone(), "QUERY_TOO_COMPLEX").await;
    assert!(message.contains("7 fields"), "{message}");
    // The configured bound.
    let small = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }";
    let three = json!([
        rep("Product", "a"),
        rep("Product", "b"),
        rep("Product", "c")
    ]);
    let message = refused(&app, small, three, "BAD_REQUEST").await;
    assert!(message.contains("at most 2"), "{message}");
}

#[tokio::test]
async fn hostile_representations_get_typed_errors_and_no_panic() {
    let app = spawn_app().await;
    let product = app.create_product("Tea", 1_500, 5).await;
    let query = "query($r: [_Any!]!) { _entities(representations: $r) {
        __typename ... on Product { name } } }";
    let huge = "x".repeat(40_000);
    let nul = "Product\u{0}";
    for (reps, why) in [
        (json!([{ "id": product }]), "no __typename"),
        (
            json!([{ "__typename": null, "id": product }]),
            "no __typename",
        ),
        (
            json!([{ "__typename": ["Product"], "id": product }]),
            "no __typename",
        ),
        (json!([rep("Payment", &product)]), "names no entity"),
        (json!([rep("_Service", &product)]), "names no entity"),
        (json!([rep(nul, &product)]), "names no entity"),
        (json!([rep(&huge, &product)]), "names no entity"),
        (
            json!([rep("Product", &product), "Product"]),
            "representation 1 is not an object",
        ),
        (json!([42]), "is not an object"),
        (json!([[rep("Product", &product)]]), "is not an object"),
        (json!([{ "__typename": "Product" }]), "has no id"),
        (
            json!([{ "__typename": "Product", "id": { "id": product } }]),
            "has no id",
        ),
        (
            json!([{ "__typename": "Product", "id": true }]),
            "has no id",
        ),
    ] {
        let message = refused(&app, query, reps.clone(), "BAD_REQUEST").await;
        assert!(message.contains(why), "{reps:.80}: {message}");
        assert!(message.len() < 300, "nothing quoted back: {message:.100}");
    }
    // Well formed, naming nothing: null, like a missing id.
    for id in [huge.as_str(), "UHJvZHVjdDox\u{0}", "\u{0}", "T3JkZXI6MQ=="] {
        let r = app
            .gql(None, query, json!({ "r": [rep("Product", id)] }))
            .await;
        assert_eq!(r.data()["_entities"], json!([null]), "{id:.40}");
    }
    // A representation given alone is a list of one; a null list is refused
    // by the variable's type.
    let r = app
        .gql(None, query, json!({ "r": rep("Product", &product) }))
        .await;
    assert_eq!(r.data()["_entities"][0]["name"], "Tea");
    let r = app.gql(None, query, json!({ "r": null })).await;
    assert_eq!(r.error_code(), "BAD_REQUEST");
    // Nested representations are held to the nesting bound first.
    let mut deep = json!("x");
    for _ in 0..100 {
        deep = json!({ "a": deep });
    }
    let r = app
        .gql(
            None,
            query,
            json!({ "r": [{ "__typename": "Product", "id": product, "x": deep }] }),
        )
        .await;
    assert_eq!(r.error_code(), "QUERY_TOO_COMPLEX");
    // As a literal in the document, the same checks.
    let literal = "{ _entities(representations: [{ id: \"x\" }]) { __typename } }";
    let r = app.gql(None, literal, json!({})).await;
    assert_eq!(r.error_code(), "BAD_REQUEST");
    assert_eq!(app.get("/healthz").await.status(), 200);
}
