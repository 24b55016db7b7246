//! Setting up a shop through the API (and SQL where the API is tested on
//! its own): products, balances, orders, payments, coupons, and many
//! buyers at once.

use std::sync::Arc;

use serde_json::{Value, json};

use super::app::TestApp;
use super::gql::Gql;

/// `createOrder`, with everything the tests look at.
pub const CREATE_ORDER: &str = "mutation($i: CreateOrderInput!) { createOrder(input: $i) {
    order { id status totalAmount discountAmount payableAmount paymentUrl createdAt paidAt
            items { product { id name } quantity unitPrice lineTotal } }
    userErrors { code field message } } }";

/// `payOrder`, with everything the tests look at.
pub const PAY_ORDER: &str = "mutation($i: PayOrderInput!) { payOrder(input: $i) {
    order { id status totalAmount discountAmount payableAmount paidAt coupon { id status } }
    payment { id amount paidAt order { id } }
    userErrors { code field message } } }";

/// `count` users named `<prefix>-<i>`, each charged `balance` and holding
/// one PENDING order for `quantity` units of `product`, set up 50 at a
/// time; returns (user, order id) pairs.
pub async fn buyers(
    app: &Arc<TestApp>,
    product: &str,
    count: usize,
    prefix: &str,
    balance: i64,
    quantity: i32,
) -> Vec<(String, String)> {
    use async_graphql::futures_util::{StreamExt, stream};
    let setups = (0..count).map(|i| {
        let (app, product) = (app.clone(), product.to_owned());
        let user = format!("{prefix}-{i}");
        async move {
            app.charge(&user, balance).await;
            let order = app.create_order(&user, &[(&product, quantity)]).await;
            (user, order)
        }
    });
    stream::iter(setups).buffer_unordered(50).collect().await
}

impl TestApp {
    /// Creates a product as an admin; returns its global id.
    pub async fn create_product(&self, name: &str, price: i64, stock: i32) -> String {
        let r = self
            .as_admin(
                "mutation($i: CreateProductInput!) { createProduct(input: $i) { product { id } userErrors { code } } }",
                json!({ "i": { "name": name, "price": price.to_string(), "stock": stock } }),
            )
            .await;
        r.data()["createProduct"]["product"]["id"]
            .as_str()
            .expect("product created")
            .to_owned()
    }

    /// Charges `amount` to `sub`'s balance.
    pub async fn charge(&self, sub: &str, amount: i64) -> Gql {
        self.as_user(
            sub,
            "mutation($i: ChargeBalanceInput!) { chargeBalance(input: $i) { user { balance } userErrors { code field message } } }",
            json!({ "i": { "amount": amount.to_string() } }),
        )
        .await
    }

    /// The balance of `sub` as stored, and the sum of their ledger.
    pub async fn balance_and_ledger(&self, sub: &str) -> (i64, i64) {
        sqlx::query_as(
            "SELECT u.balance, COALESCE((SELECT sum(amount) FROM balance_ledger l WHERE l.user_id = u.id), 0)::BIGINT
             FROM users u WHERE u.subject = $1",
        )
        .bind(sub)
        .fetch_one(&self.pool)
        .await
        .expect("user exists")
    }

    /// Creates an order for `sub` from (product id, quantity) lines; returns its id.
    pub async fn create_order(&self, sub: &str, lines: &[(&str, i32)]) -> String {
        let items: Vec<Value> = lines
            .iter()
            .map(|(id, q)| json!({ "productId": id, "quantity": q }))
            .collect();
        let r = self
            .as_user(sub, CREATE_ORDER, json!({ "i": { "items": items } }))
            .await;
        r.data()["createOrder"]["order"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("order created: {}", r.body))
            .to_owned()
    }

    /// `sub` pays `order`, with a coupon if given.
    pub async fn pay(&self, sub: &str, order: &str, coupon: Option<&str>) -> Gql {
        self.as_user(
            sub,
            PAY_ORDER,
            json!({ "i": { "orderId": order, "userCouponId": coupon } }),
        )
        .await
    }

    /// A coupon campaign, written directly (the coupon API is tested on its
    /// own); `valid` is its window in hours from now.
    pub async fn create_campaign(
        &self,
        discount_type: &str,
        value: i32,
        total: i32,
        valid: (i64, Option<i64>),
    ) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO coupons (name, discount_type, discount_value, total_quantity, valid_from, valid_until)
             VALUES ('test', $1, $2, $3, now() + make_interval(hours => $4::INT),
                     now() + make_interval(hours => $5::INT))
             RETURNING id",
        )
        .bind(discount_type)
        .bind(value)
        .bind(total)
        .bind(valid.0)
        .bind(valid.1)
        .fetch_one(&self.pool)
        .await
        .expect("campaign")
    }

    /// Issues a coupon of `campaign` to `sub` directly; returns its global id.
    pub async fn grant_coupon(&self, sub: &str, campaign: i64) -> String {
        self.user_id(sub).await;
        let id: i64 = sqlx::query_scalar(
            "WITH c AS (UPDATE coupons SET issued_quantity = issued_quantity + 1 WHERE id = $2)
             INSERT INTO user_coupons (user_id, coupon_id)
             SELECT id, $2 FROM users WHERE subject = $1 RETURNING id",
        )
        .bind(sub)
        .bind(campaign)
        .fetch_one(&self.pool)
        .await
        .expect("coupon granted");
        commerce::global_id::encode(commerce::global_id::types::USER_COUPON, id)
    }

    /// The database id of `sub`, creating the user as their first request would.
    pub async fn user_id(&self, sub: &str) -> i64 {
        let r = self.as_user(sub, "{ viewer { id } }", json!({})).await;
        Self::db_id(r.data()["viewer"]["id"].as_str().expect("viewer id"))
    }
}
