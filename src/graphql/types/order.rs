//! `Order` and `OrderItem`.

use async_graphql::{Context, Enum, ID, Object};

use super::coupon::UserCoupon;
use super::payment::Payment;
use super::product::Product;
use super::user::User;
use crate::domain::order::{OrderItemRecord, OrderRecord};
use crate::domain::settlement::{PaymentRequest, Quote};
use crate::error::{AppError, Field};
use crate::global_id::types;
use crate::graphql::connection::connection;
use crate::graphql::context::{loaders, services};
use crate::graphql::errors::UserError;
use crate::graphql::ids;
use crate::graphql::inline::Inline;
use crate::graphql::scalars::{DateTime, Money};

/// Where an order stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::order::OrderStatus")]
pub enum OrderStatus {
    /// Created, not yet paid: stock was available at creation; nothing is charged, and units are held only while the server holds stock (see holdsStock).
    Pending,
    /// Paid: balance and stock were deducted in one transaction.
    Paid,
    /// Cancelled before payment.
    Cancelled,
    /// Refunded after payment by an admin: its stock and the payable amount went back.
    Refunded,
    /// Not paid before expiresAt: nothing was charged, any stock it held went back, and it can no longer be paid.
    Expired,
}

/// An order of the caller's.
#[derive(Debug, Clone)]
pub struct Order(pub OrderRecord);

connection!(Order, OrderConnection, OrderEdge);

/// An order: its lines at the prices of the moment it was created, PENDING
/// until it is paid (PAID), cancelled (CANCELLED) or its payment window
/// closes (EXPIRED); a paid order may be refunded (REFUNDED). Visible to
/// its owner and to admins.
#[Object]
impl Order {
    /// The order's global id.
    pub async fn id(&self) -> ID {
        ids::encode(types::ORDER, self.0.id)
    }

    /// Where the order stands.
    async fn status(&self) -> OrderStatus {
        self.0.status.into()
    }

    /// The lines, by product.
    async fn items(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Inline<OrderItem>>> {
        let lines = loaders(ctx)?.order_lines(self.0.id).await?;
        Ok(lines.iter().map(|l| Inline(OrderItem(l.clone()))).collect())
    }

    /// Sum of the lines at the prices fixed when the order was created.
    async fn total_amount(&self) -> Money {
        Money(self.0.total_amount)
    }

    /// Coupon discount applied at payment; zero before payment or without a coupon.
    async fn discount_amount(&self) -> Money {
        Money(self.0.discount_amount)
    }

    /// What the user pays: totalAmount - discountAmount.
    async fn payable_amount(&self) -> Money {
        Money(self.0.payable_amount())
    }

    /// The coupon used to pay, if any.
    async fn coupon(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserCoupon>> {
        let loaders = loaders(ctx)?;
        let used = loaders.order_coupons.load_one(self.0.id).await?;
        Ok(used.map(UserCoupon))
    }

    /// The payment, once paid.
    async fn payment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Payment>> {
        let loaders = loaders(ctx)?;
        let payment = loaders.order_payments.load_one(self.0.id).await?;
        Ok(payment.map(Payment))
    }

    /// The URL of the order form (payment page) for this order: `ORDER_FORM_URL` with the order's id, by default the reference storefront's order page. The response that creates the order carries it as its `Location` header too.
    async fn payment_url(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let id = ids::encode(types::ORDER, self.0.id).0;
        Ok(services(ctx)?.order_form.url(&id))
    }

    /// When the order was created.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// When the order was paid.
    async fn paid_at(&self) -> Option<DateTime> {
        self.0.paid_at.map(DateTime)
    }

    /// When the order was cancelled.
    async fn cancelled_at(&self) -> Option<DateTime> {
        self.0.cancelled_at.map(DateTime)
    }

    /// When the order was refunded.
    async fn refunded_at(&self) -> Option<DateTime> {
        self.0.refunded_at.map(DateTime)
    }

    /// End of the payment window: a PENDING order not paid by then becomes EXPIRED. Null when the server sets no window.
    async fn expires_at(&self) -> Option<DateTime> {
        self.0.expires_at.map(DateTime)
    }

    /// Whether this order holds its units (taken from stock when it was created, until it is paid, cancelled or expired).
    async fn holds_stock(&self) -> bool {
        self.0.holds_stock
    }

    /// Who ordered it.
    async fn user(&self) -> User {
        User { id: self.0.user_id }
    }

    /// What paying this order now would come to, with the given issued coupon: a dry run of payOrder that changes nothing. userErrors holds what payOrder would answer (INSUFFICIENT_BALANCE, COUPON_NOT_USABLE, PRODUCT_OUT_OF_STOCK, ...).
    async fn quote(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "An issued coupon of the order's owner to price the payment with.")]
        user_coupon_id: Option<ID>,
    ) -> async_graphql::Result<OrderQuote> {
        let coupon = user_coupon_id
            .as_ref()
            .map(|id| ids::decode_input(types::USER_COUPON, id, Field::UserCoupon))
            .transpose();
        let request = PaymentRequest {
            user_id: self.0.user_id,
            order_id: self.0.id,
            user_coupon_id: coupon.as_ref().ok().copied().flatten(),
            // A quote writes no event; and it is a DataLoader key.
            trace: None,
        };
        let mut quote = loaders(ctx)?
            .quotes
            .load_one(request)
            .await?
            .ok_or_else(|| AppError::Internal(format!("no quote of order {}", self.0.id)))?;
        // A coupon id that names no coupon is reported as payOrder would,
        // and the rest is quoted without it.
        if let Err(malformed) = coupon {
            quote.rejections.insert(0, malformed);
        }
        Ok(OrderQuote(quote))
    }
}

/// What paying an order would come to now (`Order.quote`).
pub struct OrderQuote(pub Quote);

/// A dry run of payOrder: the amounts it would take, and what it would answer.
#[Object]
impl OrderQuote {
    /// The order's total.
    async fn total_amount(&self) -> Money {
        Money(self.0.total)
    }

    /// What the coupon would take off (what it took, once the order is paid).
    async fn discount_amount(&self) -> Money {
        Money(self.0.discount)
    }

    /// What the payer would pay: totalAmount - discountAmount.
    async fn payable_amount(&self) -> Money {
        Money(self.0.payable())
    }

    /// What payOrder would answer now; empty when it would pay.
    async fn user_errors(&self) -> Vec<UserError> {
        self.0
            .rejections
            .iter()
            .cloned()
            .map(UserError::from)
            .collect()
    }
}

/// One line of an order, at the price fixed when the order was created.
#[derive(Debug, Clone)]
pub struct OrderItem(pub OrderItemRecord);

/// One line of an order: a product, how many units, and the unit price
/// fixed when the order was created.
#[Object]
impl OrderItem {
    /// The product (as it is now; the price of the line is `unitPrice`).
    async fn product(&self, ctx: &Context<'_>) -> async_graphql::Result<Inline<Product>> {
        Product::of_line(ctx, self.0.product_id).await.map(Inline)
    }

    /// Units ordered.
    async fn quantity(&self) -> i32 {
        self.0.quantity
    }

    /// The price of one unit when the order was created.
    async fn unit_price(&self) -> Money {
        Money(self.0.unit_price)
    }

    /// quantity × unitPrice.
    async fn line_total(&self) -> Money {
        Money(self.0.line_total())
    }
}
