//! Settling payments: the second use case's "pay for the order" sequence, decided in
//! memory over a snapshot of every row it reads, for one payment or a batch.
//!
//! The payment facade reads a [`Snapshot`] inside its SERIALIZABLE
//! transaction, settles each request in arrival order with
//! [`Snapshot::decide`] (which also moves the stock, balances, coupons and
//! order statuses of the snapshot, so that a later request of the batch sees
//! the earlier ones), then writes what was settled with set-based
//! statements. The decisions are sound because the snapshot is read in the
//! same SERIALIZABLE transaction as the writes: if anything it read changes
//! before the commit, PostgreSQL aborts the transaction and the retry helper
//! runs it again on fresh data.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::balance::{self, Debit};
use super::order::{self, OrderItemRecord, OrderRecord, OrderStatus};
use super::product::{self, ProductRecord};
use super::stock::{self, Take};
use super::user::{self, UserRecord};
use super::user_coupon::{self, UserCouponRecord};
use crate::error::{AppError, AppResult, Field, Rejection, Rejections};
use crate::global_id::{self, types};
use crate::telemetry::TraceParent;

/// One `payOrder` request, its ids already decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PaymentRequest {
    /// The caller.
    pub user_id: i64,
    /// The order to pay.
    pub order_id: i64,
    /// The caller's issued coupon to apply, if any.
    pub user_coupon_id: Option<i64>,
    /// The request's trace, which the order-paid event continues (the
    /// batch that settles it serves several).
    pub trace: Option<TraceParent>,
}

/// A payment decided on: what the writes must record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// The debit from the payer's balance (the order's payable amount).
    pub debit: Debit,
    /// The coupon's discount (0 without a coupon).
    pub discount: i64,
    /// The coupon used, if any.
    pub user_coupon_id: Option<i64>,
}

/// A payment's dry run: what it would take, and why it would be refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    /// The order's total.
    pub total: i64,
    /// What the coupon would take off (or took, once paid).
    pub discount: i64,
    /// What `payOrder` would answer now; empty when it would pay.
    pub rejections: Vec<Rejection>,
}

impl Quote {
    /// What the payer would pay.
    pub fn payable(&self) -> i64 {
        self.total - self.discount
    }
}

/// Every row that settling a batch of payments reads, as of this
/// transaction.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    orders: HashMap<i64, OrderRecord>,
    items: HashMap<i64, Vec<OrderItemRecord>>,
    products: HashMap<i64, ProductRecord>,
    users: HashMap<i64, UserRecord>,
    coupons: HashMap<i64, UserCouponRecord>,
}

fn by_id<T>(rows: Vec<T>, id: impl Fn(&T) -> i64) -> HashMap<i64, T> {
    rows.into_iter().map(|row| (id(&row), row)).collect()
}

impl Snapshot {
    /// Reads the orders, lines, products, payers and coupons of `requests`
    /// in this transaction: five statements, whatever the batch size.
    pub async fn load(conn: &mut PgConnection, requests: &[PaymentRequest]) -> AppResult<Self> {
        let order_ids: Vec<i64> = requests.iter().map(|r| r.order_id).collect();
        let user_ids: Vec<i64> = requests.iter().map(|r| r.user_id).collect();
        let coupon_ids: Vec<i64> = requests.iter().filter_map(|r| r.user_coupon_id).collect();
        let orders = by_id(order::by_ids(&mut *conn, &order_ids).await?, |o| o.id);
        let mut items: HashMap<i64, Vec<OrderItemRecord>> = HashMap::new();
        for item in order::items_of(&mut *conn, &order_ids).await? {
            items.entry(item.order_id).or_default().push(item);
        }
        let product_ids: Vec<i64> = items.values().flatten().map(|i| i.product_id).collect();
        let products = by_id(product::by_ids(&mut *conn, &product_ids).await?, |p| p.id);
        let users = by_id(user::by_ids(&mut *conn, &user_ids).await?, |u| u.id);
        let coupons = if coupon_ids.is_empty() {
            HashMap::new()
        } else {
            by_id(user_coupon::by_ids(&mut *conn, &coupon_ids).await?, |c| {
                c.id
            })
        };
        Ok(Self {
            orders,
            items,
            products,
            users,
            coupons,
        })
    }

    /// Decides one payment, in the use case's order, reporting every failing
    /// check at once:
    ///
    /// 1. the order is the caller's (`ORDER_NOT_FOUND`) and PENDING inside
    ///    its window, as the database read it (`ORDER_ALREADY_PAID`,
    ///    `ORDER_CANCELLED`, `ORDER_EXPIRED`);
    /// 2. the coupon, if any, is the caller's (`COUPON_NOT_FOUND`), unused
    ///    and valid now (`COUPON_NOT_USABLE`);
    /// 3. every product still exists and is not archived
    ///    (`PRODUCT_NOT_FOUND`), and its free stock covers its line
    ///    (`PRODUCT_OUT_OF_STOCK`), unless the order holds its units;
    /// 4. the balance covers the total less the discount (`INSUFFICIENT_BALANCE`).
    ///
    /// When all pass, the snapshot moves as the writes will: stock (free,
    /// or held for an order that holds it) and balance go down, the coupon is used and the order is PAID, so the
    /// next request of the batch is decided against the new state.
    pub fn decide(&mut self, request: &PaymentRequest, now: DateTime<Utc>) -> AppResult<Settled> {
        let order = self
            .orders
            .get(&request.order_id)
            .filter(|o| o.user_id == request.user_id)
            .ok_or_else(order::not_found)?;
        order.check_pending()?;
        let (total, holds) = (order.total_amount, order.holds_stock);
        let mut errors = Rejections::new();

        let discount = match self.discount(request, total, now) {
            Ok(discount) => Some(discount),
            Err(why) => {
                errors.push(why);
                None
            }
        };

        let items = self.items.get(&order.id).map(Vec::as_slice).unwrap_or(&[]);
        if items.is_empty() {
            return Err(AppError::Internal(format!(
                "order {} has no lines",
                order.id
            )));
        }
        for item in items {
            match product::orderable(self.products.get(&item.product_id), Field::Order) {
                Err(gone) => errors.push(gone),
                // Its units are set aside for it (the audit checks so).
                Ok(_) if holds => {}
                Ok(p) => errors.check(stock::check(p.stock, item.quantity, Field::Order).map_err(
                    |mut short| {
                        // The path names the order; the message names the line.
                        short.message = format!(
                            "{} ({}): {}",
                            p.name,
                            global_id::encode(types::PRODUCT, p.id),
                            short.message
                        );
                        short
                    },
                )),
            }
        }

        let payer = self.users.get(&request.user_id).ok_or_else(|| {
            AppError::Internal(format!("payer {} of an order vanished", request.user_id))
        })?;
        if let Some(discount) = discount {
            errors.check(balance::check_covers(payer.balance, total - discount));
        }
        errors.finish()?;

        // Every check passed, so `discount` is known.
        let discount = discount.unwrap_or(0);
        let payable = total - discount;
        for item in items {
            if let Some(p) = self.products.get_mut(&item.product_id) {
                if holds {
                    p.held_stock -= item.quantity;
                } else {
                    p.stock -= item.quantity;
                }
            }
        }
        if let Some(payer) = self.users.get_mut(&request.user_id) {
            payer.balance -= payable;
        }
        if let Some(c) = request
            .user_coupon_id
            .and_then(|id| self.coupons.get_mut(&id))
        {
            c.used_at = Some(now);
            c.order_id = Some(request.order_id);
        }
        if let Some(o) = self.orders.get_mut(&request.order_id) {
            o.status = OrderStatus::Paid;
            o.discount_amount = discount;
            o.paid_at = Some(now);
        }
        Ok(Settled {
            debit: Debit {
                user_id: request.user_id,
                order_id: request.order_id,
                amount: payable,
            },
            discount,
            user_coupon_id: request.user_coupon_id,
        })
    }

    /// The discount `request`'s coupon takes off `total` (0 without one),
    /// or why the coupon cannot be used.
    fn discount(
        &self,
        request: &PaymentRequest,
        total: i64,
        now: DateTime<Utc>,
    ) -> Result<i64, Rejection> {
        let Some(id) = request.user_coupon_id else {
            return Ok(0);
        };
        let coupon = self.coupons.get(&id).ok_or_else(user_coupon::not_found)?;
        coupon.check_usable(request.user_id, now)?;
        Ok(coupon.discount_on(total))
    }

    /// What [`Snapshot::decide`] would answer for `request` now, kept from
    /// nobody: `Order.quote`, a dry run of `payOrder` by the same rules. The
    /// amounts are those the payment would take, or as far as they can be
    /// known when it would be refused (a PAID order's own amounts).
    pub fn quote(mut self, request: &PaymentRequest, now: DateTime<Utc>) -> AppResult<Quote> {
        let order = self
            .orders
            .get(&request.order_id)
            .filter(|o| o.user_id == request.user_id)
            .ok_or_else(order::not_found)?;
        let total = order.total_amount;
        let discount = match order.status {
            OrderStatus::Pending => self.discount(request, total, now).unwrap_or(0),
            _ => order.discount_amount,
        };
        match self.decide(request, now) {
            Ok(settled) => Ok(Quote {
                total,
                discount: settled.discount,
                rejections: Vec::new(),
            }),
            Err(AppError::Rejected(rejections)) => Ok(Quote {
                total,
                discount,
                rejections,
            }),
            Err(other) => Err(other),
        }
    }

    /// The units to take per product for these payments, each product
    /// once, from free stock or from the holds of the orders that hold it.
    pub fn stock_takes(&self, settled: &[&Settled]) -> Vec<Take> {
        let mut takes: HashMap<i64, Take> = HashMap::new();
        for s in settled {
            let holds = self
                .orders
                .get(&s.debit.order_id)
                .is_some_and(|o| o.holds_stock);
            for line in self.lines(s.debit.order_id) {
                let take = takes.entry(line.product_id).or_insert(Take {
                    product_id: line.product_id,
                    free: 0,
                    held: 0,
                });
                if holds {
                    take.held += line.quantity;
                } else {
                    take.free += line.quantity;
                }
            }
        }
        let mut takes: Vec<Take> = takes.into_values().collect();
        // A fixed order of updates, so two instances' batches cannot deadlock.
        takes.sort_unstable_by_key(|t| t.product_id);
        takes
    }

    /// Every product read, with the units some payment could still take
    /// (free, or held by orders that hold stock) as the decided payments
    /// leave it: a product whose free units all sit in holds is not sold
    /// out to the payments of the orders holding them.
    pub fn stock_levels(&self) -> Vec<(i64, i32)> {
        self.products
            .values()
            .map(|p| (p.id, p.stock.saturating_add(p.held_stock)))
            .collect()
    }

    /// The lines of an order in the snapshot.
    pub fn lines(&self, order_id: i64) -> &[OrderItemRecord] {
        self.items.get(&order_id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The lines of an order, each with its product's name.
    pub fn named_lines(&self, order_id: i64) -> Vec<(OrderItemRecord, String)> {
        self.lines(order_id)
            .iter()
            .map(|item| {
                let name = self
                    .products
                    .get(&item.product_id)
                    .map(|p| p.name.clone())
                    .unwrap_or_default();
                (item.clone(), name)
            })
            .collect()
    }

    /// A payer, as read.
    pub fn user(&self, id: i64) -> Option<&UserRecord> {
        self.users.get(&id)
    }

    /// An issued coupon, as read (and marked used by [`Snapshot::decide`]).
    pub fn coupon(&self, id: i64) -> Option<&UserCouponRecord> {
        self.coupons.get(&id)
    }
}

/// `Order.quote` of each of `requests`: what paying it now would come to,
/// decided by the settlement's rules over one fresh read of every row they
/// need (five statements for a whole page of orders), each on its own copy
/// of it so that no dry run sees another's; nothing written or locked.
pub async fn quotes(
    conn: &mut PgConnection,
    requests: &[PaymentRequest],
) -> AppResult<HashMap<PaymentRequest, Quote>> {
    let snapshot = Snapshot::load(conn, requests).await?;
    let now = Utc::now();
    requests
        .iter()
        .map(|request| Ok((*request, snapshot.clone().quote(request, now)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::coupon::DiscountType;
    use crate::error::ErrorCode;

    const ALICE: i64 = 1;
    const BOB: i64 = 2;

    fn snapshot() -> Snapshot {
        let now = Utc::now();
        let mut s = Snapshot::default();
        for (id, balance) in [(ALICE, 1_000), (BOB, 300)] {
            s.users.insert(
                id,
                UserRecord {
                    id,
                    subject: format!("u{id}"),
                    balance,
                    created_at: now,
                },
            );
        }
        s.products.insert(
            10,
            ProductRecord {
                id: 10,
                name: "Mug".into(),
                description: String::new(),
                price: 200,
                stock: 2,
                held_stock: 0,
                created_at: now,
                archived_at: None,
            },
        );
        // Orders 100 (alice), 101 (alice), 102 (bob): one mug each.
        for (order_id, user_id) in [(100, ALICE), (101, ALICE), (102, BOB)] {
            s.orders.insert(
                order_id,
                OrderRecord {
                    id: order_id,
                    user_id,
                    status: OrderStatus::Pending,
                    total_amount: 200,
                    discount_amount: 0,
                    created_at: now,
                    paid_at: None,
                    cancelled_at: None,
                    refunded_at: None,
                    expires_at: None,
                    holds_stock: false,
                },
            );
            s.items.insert(
                order_id,
                vec![OrderItemRecord {
                    order_id,
                    product_id: 10,
                    quantity: 1,
                    unit_price: 200,
                }],
            );
        }
        s.coupons.insert(
            7,
            UserCouponRecord {
                id: 7,
                user_id: ALICE,
                coupon_id: 1,
                issued_at: now,
                used_at: None,
                order_id: None,
                discount_type: DiscountType::Percentage,
                discount_value: 25,
                valid_from: now - chrono::Duration::hours(1),
                valid_until: None,
            },
        );
        s
    }

    fn pay(user_id: i64, order_id: i64, user_coupon_id: Option<i64>) -> PaymentRequest {
        PaymentRequest {
            user_id,
            order_id,
            user_coupon_id,
            trace: None,
        }
    }

    fn codes(result: AppResult<Settled>) -> Vec<ErrorCode> {
        match result {
            Err(AppError::Rejected(r)) => r.iter().map(|r| r.code).collect(),
            other => panic!("expected rejections, got {other:?}"),
        }
    }

    #[test]
    fn a_payment_moves_stock_balance_coupon_and_status() {
        let mut s = snapshot();
        let settled = s.decide(&pay(ALICE, 100, Some(7)), Utc::now()).unwrap();
        assert_eq!(settled.discount, 50, "25% of 200");
        assert_eq!(settled.debit.amount, 150);
        assert_eq!(s.products[&10].stock, 1);
        assert_eq!(s.users[&ALICE].balance, 850);
        assert_eq!(s.coupons[&7].order_id, Some(100));
        assert_eq!(s.orders[&100].status, OrderStatus::Paid);
    }

    #[test]
    fn later_requests_of_a_batch_see_the_earlier_ones() {
        let mut s = snapshot();
        let now = Utc::now();
        assert!(s.decide(&pay(ALICE, 100, Some(7)), now).is_ok());
        assert_eq!(
            codes(s.decide(&pay(ALICE, 100, None), now)),
            [ErrorCode::OrderAlreadyPaid]
        );
        assert_eq!(
            codes(s.decide(&pay(ALICE, 101, Some(7)), now)),
            [ErrorCode::CouponNotUsable],
            "the coupon went to the first order"
        );
        assert!(s.decide(&pay(ALICE, 101, None), now).is_ok());
        assert_eq!(
            codes(s.decide(&pay(BOB, 102, None), now)),
            [ErrorCode::ProductOutOfStock],
            "two mugs, both sold"
        );
        assert_eq!(s.users[&BOB].balance, 300, "nothing taken from bob");
    }

    #[test]
    fn every_failing_check_is_reported_at_once() {
        let mut s = snapshot();
        s.products.get_mut(&10).unwrap().stock = 0;
        s.users.get_mut(&BOB).unwrap().balance = 10;
        assert_eq!(
            codes(s.decide(&pay(BOB, 102, None), Utc::now())),
            [ErrorCode::ProductOutOfStock, ErrorCode::InsufficientBalance]
        );
        assert_eq!(
            codes(s.decide(&pay(BOB, 102, Some(7)), Utc::now())),
            [ErrorCode::CouponNotFound, ErrorCode::ProductOutOfStock],
            "alice's coupon is not bob's"
        );
        assert_eq!(
            codes(s.decide(&pay(BOB, 100, None), Utc::now())),
            [ErrorCode::OrderNotFound],
            "alice's order is not bob's"
        );
        assert_eq!(s.products[&10].stock, 0);
        assert_eq!(s.orders[&102].status, OrderStatus::Pending);
    }

    #[test]
    fn an_archived_product_cannot_be_paid_for() {
        let mut s = snapshot();
        s.products.get_mut(&10).unwrap().archived_at = Some(Utc::now());
        assert_eq!(
            codes(s.decide(&pay(ALICE, 100, None), Utc::now())),
            [ErrorCode::ProductNotFound]
        );
        assert_eq!(s.products[&10].stock, 2, "nothing taken");
        assert_eq!(s.users[&ALICE].balance, 1_000);
        assert_eq!(s.orders[&100].status, OrderStatus::Pending);
    }

    #[test]
    fn a_balance_is_shared_by_the_payers_orders() {
        let mut s = snapshot();
        s.users.get_mut(&ALICE).unwrap().balance = 300;
        let now = Utc::now();
        assert!(s.decide(&pay(ALICE, 100, None), now).is_ok());
        assert_eq!(
            codes(s.decide(&pay(ALICE, 101, None), now)),
            [ErrorCode::InsufficientBalance]
        );
        assert_eq!(s.users[&ALICE].balance, 100);
    }

    #[test]
    fn an_order_that_holds_its_units_pays_from_its_hold() {
        let mut s = snapshot();
        s.orders.get_mut(&100).unwrap().holds_stock = true;
        let p = s.products.get_mut(&10).unwrap();
        (p.stock, p.held_stock) = (0, 1);
        let now = Utc::now();
        let held = s.decide(&pay(ALICE, 100, None), now).unwrap();
        assert_eq!((s.products[&10].stock, s.products[&10].held_stock), (0, 0));
        assert_eq!(
            s.stock_takes(&[&held]),
            [Take {
                product_id: 10,
                free: 0,
                held: 1
            }]
        );
        assert_eq!(
            codes(s.decide(&pay(ALICE, 101, None), now)),
            [ErrorCode::ProductOutOfStock],
            "an order without a hold needs free stock"
        );
    }

    #[test]
    fn an_expired_order_cannot_be_paid() {
        let mut s = snapshot();
        s.orders.get_mut(&100).unwrap().status = OrderStatus::Expired;
        assert_eq!(
            codes(s.decide(&pay(ALICE, 100, None), Utc::now())),
            [ErrorCode::OrderExpired]
        );
        assert_eq!(s.users[&ALICE].balance, 1_000, "nothing taken");
        assert_eq!(s.products[&10].stock, 2);
    }

    #[test]
    fn takes_are_summed_per_product() {
        let mut s = snapshot();
        let now = Utc::now();
        let a = s.decide(&pay(ALICE, 100, None), now).unwrap();
        let b = s.decide(&pay(ALICE, 101, None), now).unwrap();
        assert_eq!(
            s.stock_takes(&[&a, &b]),
            [Take {
                product_id: 10,
                free: 2,
                held: 0
            }]
        );
    }
}
