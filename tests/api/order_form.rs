//! The order form page: `Location` on the response that creates an order
//! (and on no other), `ORDER_FORM_URL`, and the reference storefront that
//! serves the page by default at `/shop/` (development only unless asked
//! for). `tests/browser/` runs the storefront in a real browser.

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::helpers::http::header;
use crate::helpers::{Options, PRODUCTION_SECRET, TestApp, spawn_app, spawn_app_with};

const CREATE: &str = "mutation($i: CreateOrderInput!) { createOrder(input: $i) {
    order { id paymentUrl } userErrors { code } } }";
const FROM_CART: &str = "mutation($i: CreateOrderFromCartInput!) { createOrderFromCart(input: $i) {
    order { id paymentUrl } userErrors { code } } }";
const ADD: &str =
    "mutation($i: AddCartItemInput!) { addCartItem(input: $i) { userErrors { code } } }";

/// POSTs `body` to `/graphql` as `sub`: the response's headers and body.
async fn post(app: &TestApp, sub: &str, body: Value) -> (HeaderMap, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", app.address))
        .bearer_auth(app.token(sub))
        .json(&body)
        .send()
        .await
        .unwrap();
    let headers = response.headers().clone();
    (headers, response.json().await.unwrap())
}

/// The `Location` values of a response.
fn locations(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("location")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn create(product: &str, key: Option<&str>) -> Value {
    json!({ "query": CREATE,
            "variables": { "i": { "items": [{ "productId": product, "quantity": 1 }],
                                  "idempotencyKey": key } } })
}

#[tokio::test]
async fn the_response_that_creates_an_order_points_to_its_form_page() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 100, 10).await;

    let (headers, body) = post(&app, "alice", create(&tea, Some("k-1"))).await;
    let order = &body["data"]["createOrder"]["order"];
    let url = order["paymentUrl"].as_str().unwrap();
    assert_eq!(locations(&headers), [url], "{body}");
    let id = order["id"].as_str().unwrap();
    assert_eq!(url, format!("{}/shop/orders/{id}", app.address));

    // A replay of the same key answers the same order, and its page.
    let (headers, replay) = post(&app, "alice", create(&tea, Some("k-1"))).await;
    assert_eq!(replay["data"]["createOrder"]["order"]["id"], order["id"]);
    assert_eq!(locations(&headers), [url]);

    // From the cart too.
    let add = json!({ "query": ADD, "variables": { "i": { "productId": tea, "quantity": 2 } } });
    let (headers, _) = post(&app, "bob", add).await;
    assert!(locations(&headers).is_empty(), "not an order");
    let from_cart = json!({ "query": FROM_CART, "variables": { "i": {} } });
    let (headers, body) = post(&app, "bob", from_cart).await;
    let url = body["data"]["createOrderFromCart"]["order"]["paymentUrl"]
        .as_str()
        .unwrap();
    assert_eq!(locations(&headers), [url], "{body}");
}

#[tokio::test]
async fn nothing_else_carries_a_location() {
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 100, 1).await;

    // A refusal creates no order.
    let (headers, body) = post(&app, "alice", create("UHJvZHVjdDo5OTk=", None)).await;
    assert_eq!(
        body["data"]["createOrder"]["userErrors"][0]["code"],
        "PRODUCT_NOT_FOUND"
    );
    assert!(locations(&headers).is_empty());

    // A query, even one reading an order's paymentUrl.
    let (_, body) = post(&app, "alice", create(&tea, None)).await;
    let id = body["data"]["createOrder"]["order"]["id"].clone();
    let read = json!({ "query": "query($id: ID!) { order(id: $id) { paymentUrl } }",
                       "variables": { "id": id } });
    let (headers, body) = post(&app, "alice", read).await;
    assert!(body["data"]["order"]["paymentUrl"].is_string(), "{body}");
    assert!(locations(&headers).is_empty());

    // One operation that creates two orders has no one page to point to.
    let two = json!({ "query": "mutation($i: CreateOrderInput!) {
        a: createOrder(input: $i) { order { id } } b: createOrder(input: $i) { order { id } } }",
        "variables": { "i": { "items": [{ "productId": tea, "quantity": 1 }] } } });
    let (headers, body) = post(&app, "bob", two).await;
    assert!(body["data"]["a"]["order"]["id"].is_string(), "{body}");
    assert!(body["data"]["b"]["order"]["id"].is_string(), "{body}");
    assert!(locations(&headers).is_empty());

    // Nor does a batch, even of one creating operation.
    let (headers, body) = post(&app, "carol", json!([create(&tea, None)])).await;
    assert!(
        body[0]["data"]["createOrder"]["order"]["id"].is_string(),
        "{body}"
    );
    assert!(locations(&headers).is_empty());
}

#[tokio::test]
async fn order_form_url_puts_the_order_on_the_shops_own_page() {
    let app = spawn_app_with(Options::with_env(&[(
        "ORDER_FORM_URL",
        "https://shop.example/checkout/{id}?step=pay",
    )]))
    .await;
    let tea = app.create_product("Tea", 100, 10).await;
    let (headers, body) = post(&app, "alice", create(&tea, None)).await;
    let order = &body["data"]["createOrder"]["order"];
    let expected = format!(
        "https://shop.example/checkout/{}?step=pay",
        order["id"].as_str().unwrap()
    );
    assert_eq!(order["paymentUrl"], expected.as_str());
    assert_eq!(locations(&headers), [expected]);
}

#[tokio::test]
async fn a_page_on_another_origin_may_read_the_location() {
    let app = spawn_app_with(Options::with_env(&[(
        "CORS_ALLOWED_ORIGINS",
        "https://shop.example",
    )]))
    .await;
    let tea = app.create_product("Tea", 100, 10).await;
    let response = reqwest::Client::new()
        .post(format!("{}/graphql", app.address))
        .header("origin", "https://shop.example")
        .bearer_auth(app.token("alice"))
        .json(&create(&tea, None))
        .send()
        .await
        .unwrap();
    let exposed = header(&response, "access-control-expose-headers");
    assert!(
        exposed.split(',').any(|h| h.trim() == "location"),
        "{exposed}"
    );
    assert!(response.headers().contains_key("location"));
}

/// The storefront's configuration, from the JSON element of its page.
fn config_of(html: &str) -> Value {
    let open = r#"<script type="application/json" id="shop-config">"#;
    let start = html.find(open).expect("the config element") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[tokio::test]
async fn the_storefront_is_one_self_contained_page_for_every_path_under_shop() {
    let app = spawn_app_with(Options {
        seed: true,
        ..Default::default()
    })
    .await;
    let page = app.get("/shop/").await;
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&page, "cache-control"), "no-store");
    let policy = header(&page, "content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert!(!policy.contains("unsafe"), "{policy}");
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("\"//"),
        "the page names no other host: {html}"
    );

    // An order's form page, or any other page path, is the same page.
    for path in ["/shop/orders/T3JkZXI6MQ==", "/shop/cart", "/shop/a/b/c"] {
        let other = app.get(path).await;
        assert_eq!(other.status(), 200, "{path}");
        assert_eq!(other.text().await.unwrap(), html, "{path}");
    }
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/shop", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 308);
    assert_eq!(header(&bare, "location"), "/shop/");

    // Its files, at the versioned URLs the page names, cached for good.
    for (file, media) in [
        ("shop.js", "text/javascript; charset=utf-8"),
        ("shop.css", "text/css; charset=utf-8"),
    ] {
        let at = html.find(&format!("/shop/assets/{file}?v=")).expect(file);
        let url = &html[at..at + html[at..].find('"').unwrap()];
        let response = app.get(url).await;
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(header(&response, "content-type"), media);
        assert!(header(&response, "cache-control").contains("immutable"));
    }
    assert_eq!(app.get("/shop/assets/other.js").await.status(), 404);

    // The demo shoppers, each with a working token and a balance to pay with.
    let shoppers = config_of(&html)["shoppers"].as_array().unwrap().clone();
    assert!(shoppers.len() >= 2, "{shoppers:?}");
    for shopper in shoppers {
        let authorization = shopper["authorization"].as_str().unwrap();
        let token = authorization.strip_prefix("Bearer ").unwrap();
        let r = app
            .gql(Some(token), "{ viewer { subject balance } }", json!({}))
            .await;
        assert_eq!(r.data()["viewer"]["subject"], shopper["subject"]);
        assert_eq!(r.data()["viewer"]["balance"], "1000000");
    }
}

fn production(extra: &[(&'static str, &str)]) -> Options {
    let mut env = vec![
        ("APP_ENV", "production".to_owned()),
        ("JWT_SECRET", PRODUCTION_SECRET.to_owned()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    Options {
        env,
        ..Default::default()
    }
}

#[tokio::test]
async fn production_serves_no_storefront_unless_asked_and_then_no_tokens() {
    let app = spawn_app_with(production(&[])).await;
    for path in ["/shop", "/shop/", "/shop/orders/x", "/shop/assets/shop.js"] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
    let off = spawn_app_with(Options::with_env(&[("STOREFRONT", "false")])).await;
    assert_eq!(off.get("/shop/").await.status(), 404);

    let asked = spawn_app_with(production(&[("STOREFRONT", "true")])).await;
    let page = asked.get("/shop/").await;
    assert_eq!(page.status(), 200);
    let config = config_of(&page.text().await.unwrap());
    assert_eq!(config["shoppers"], json!([]), "no token in a public page");
}
