//! `createOrder`, `createOrderFromCart`, `cancelOrder` and (admins only)
//! `refundOrder`.

use crate::error::Field;
use async_graphql::{Context, ID, InputObject, Object};
use axum::http::HeaderValue;
use axum::http::header::LOCATION;

use crate::domain::order::{LineRequest, OrderRecord};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::facades::{order, refund};
use crate::global_id::{self, types};
use crate::graphql::context::{caller, services};
use crate::graphql::errors::respond;
use crate::graphql::ids;
use crate::graphql::types::order::Order;

/// One line of a new order.
#[derive(InputObject)]
pub struct OrderItemInput {
    /// The product to buy.
    pub product_id: ID,
    /// Units, 1 to 1000 (lines of the same product are merged, and the sum is bounded too).
    pub quantity: i32,
}

/// A new order.
#[derive(InputObject)]
pub struct CreateOrderInput {
    /// 1 to 100 lines.
    pub items: Vec<OrderItemInput>,
    /// Optional. A retry with the same key returns the order the first request created instead of a new one.
    pub idempotency_key: Option<String>,
}

/// An order of everything in the cart.
#[derive(InputObject)]
pub struct CreateOrderFromCartInput {
    /// Optional. A retry with the same key returns the order the first request created instead of a new one.
    pub idempotency_key: Option<String>,
}

/// The order to cancel.
#[derive(InputObject)]
pub struct CancelOrderInput {
    /// A PENDING order of the caller's.
    pub order_id: ID,
}

payload!(
    /// The order a createOrder created.
    CreateOrderPayload {
        /// The new PENDING order.
        order: Order,
    }
);

/// The order to refund, and why.
#[derive(InputObject)]
pub struct RefundOrderInput {
    /// A PAID order (of any user).
    pub order_id: ID,
    /// Optional, kept with the refund and sent in its event: at most 500 characters, no NUL.
    pub reason: Option<String>,
}

payload!(
    /// The order a refundOrder refunded.
    RefundOrderPayload {
        /// The order, now REFUNDED; also given with `ORDER_ALREADY_REFUNDED`, so that a retry learns the outcome.
        order: Order,
    }
);

payload!(
    /// The order a cancelOrder cancelled.
    CancelOrderPayload {
        /// The order, now CANCELLED.
        order: Order,
    }
);

/// Order mutations.
#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Orders products: validates every product and its stock, then saves a PENDING order at today's prices, open for payment until expiresAt. Nothing is charged; units are held only while the server holds stock.
    async fn create_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The lines to order, and an optional idempotency key.")]
        input: CreateOrderInput,
    ) -> async_graphql::Result<CreateOrderPayload> {
        let services = services(ctx)?;
        let caller = caller(ctx)?;
        // An id that does not decode is reported with the line's other
        // failures, by the line validation.
        let lines: Vec<LineRequest> = input
            .items
            .iter()
            .map(|item| LineRequest {
                product_id: global_id::decode(types::PRODUCT, &item.product_id),
                quantity: item.quantity,
            })
            .collect();
        let result = order::create_order(services, caller, &lines, input.idempotency_key).await;
        point_to_the_order_form(ctx, &result);
        respond(result, |o| CreateOrderPayload {
            order: Some(Order(o)),
            ..Default::default()
        })
    }

    /// Orders every line of the caller's cart, as createOrder would; the cart lines go when the order is paid.
    async fn create_order_from_cart(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "An optional idempotency key.")] input: CreateOrderFromCartInput,
    ) -> async_graphql::Result<CreateOrderPayload> {
        let services = services(ctx)?;
        let caller = caller(ctx)?;
        let result = order::create_order_from_cart(services, caller, input.idempotency_key).await;
        point_to_the_order_form(ctx, &result);
        respond(result, |o| CreateOrderPayload {
            order: Some(Order(o)),
            ..Default::default()
        })
    }

    /// Cancels a PENDING order of the caller.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order to cancel.")] input: CancelOrderInput,
    ) -> async_graphql::Result<CancelOrderPayload> {
        let services = services(ctx)?;
        let caller = caller(ctx)?;
        let result = async {
            let id = ids::decode_input(types::ORDER, &input.order_id, Field::Order)?;
            order::cancel_order(services, caller, id).await
        }
        .await;
        respond(result, |o| CancelOrderPayload {
            order: Some(Order(o)),
            ..Default::default()
        })
    }

    /// Admin only: refunds a PAID order in one transaction: its stock goes back, the payable amount returns to the payer's balance (a REFUND entry), its coupon is AVAILABLE again if the campaign is still valid, and an order-refunded event is published. Refunding twice refunds once (ORDER_ALREADY_REFUNDED).
    async fn refund_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order to refund, and an optional reason.")] input: RefundOrderInput,
    ) -> async_graphql::Result<RefundOrderPayload> {
        let services = services(ctx)?;
        let caller = caller(ctx)?;
        let order_id = ids::decode_input(types::ORDER, &input.order_id, Field::Order);
        let result = refund::refund_order(services, caller, order_id.clone(), input.reason).await;
        // A retried refund that went through gets the refunded order beside
        // the error, as the first attempt's answer would have had it.
        let refunded_before = match (&result, &order_id) {
            (Err(AppError::Rejected(rejections)), Ok(id))
                if rejections
                    .iter()
                    .any(|r| r.code == ErrorCode::OrderAlreadyRefunded) =>
            {
                refund::refunded_order(services, caller, *id).await?
            }
            _ => None,
        };
        let mut payload = respond(result, |o| RefundOrderPayload {
            order: Some(Order(o)),
            ..Default::default()
        })?;
        if let Some(o) = refunded_before {
            payload.order = Some(Order(o));
        }
        Ok(payload)
    }
}

/// Adds the new order's form page as the response's `Location` (the use
/// case's "order form page URL via Location header"). Appended, not set:
/// the HTTP layer keeps it only when the request's one operation created
/// exactly one order (`http::graphql`), so that an operation creating two
/// never names one of them.
fn point_to_the_order_form(ctx: &Context<'_>, created: &AppResult<OrderRecord>) {
    let (Ok(order), Ok(services)) = (created, services(ctx)) else {
        return;
    };
    let url = services
        .order_form
        .url(&ids::encode(types::ORDER, order.id).0);
    match HeaderValue::try_from(&url) {
        Ok(value) => {
            ctx.append_http_header(LOCATION, value);
        }
        // Only a PUBLIC_BASE_URL outside visible ASCII can make one.
        Err(_) => tracing::warn!(%url, "the order form URL cannot be a Location header"),
    }
}
