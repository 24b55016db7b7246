//! `payOrder`.

use async_graphql::{Context, ID, InputObject, Object};

use crate::error::{AppError, ErrorCode, Field};
use crate::facades::payment;
use crate::global_id::types;
use crate::graphql::context::{caller, services};
use crate::graphql::errors::respond;
use crate::graphql::ids;
use crate::graphql::types::order::Order;
use crate::graphql::types::payment::Payment;

/// The order to pay, and the coupon to pay with.
#[derive(InputObject)]
pub struct PayOrderInput {
    /// A PENDING order of the caller's.
    pub order_id: ID,
    /// An AVAILABLE UserCoupon of the caller to apply.
    pub user_coupon_id: Option<ID>,
}

payload!(
    /// A paid order and its payment.
    PayOrderPayload {
        /// The order, now PAID; also given with `ORDER_ALREADY_PAID`, so that a retry learns the outcome, and with `ORDER_EXPIRED`.
        order: Order,
        /// The payment record; also given with `ORDER_ALREADY_PAID`.
        payment: Payment,
    }
);

/// Payment mutations.
#[derive(Default)]
pub struct PaymentMutation;

#[Object]
impl PaymentMutation {
    /// Pays a PENDING order: stock, coupon, balance, payment, cart and the order-paid event in one SERIALIZABLE transaction, retried on conflict. Paying twice never charges twice.
    async fn pay_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order to pay, and optionally an issued coupon to pay with.")]
        input: PayOrderInput,
    ) -> async_graphql::Result<PayOrderPayload> {
        let services = services(ctx)?;
        let caller = caller(ctx)?;
        let result = async {
            let order_id = ids::decode_input(types::ORDER, &input.order_id, Field::Order);
            let coupon_id = (input.user_coupon_id.as_ref())
                .map(|id| ids::decode_input(types::USER_COUPON, id, Field::UserCoupon))
                .transpose();
            match (order_id, coupon_id) {
                (Ok(order_id), Ok(coupon_id)) => {
                    payment::pay_order(services, caller, order_id, coupon_id).await
                }
                // Both ids are checked before either is reported.
                (order_id, coupon_id) => Err(AppError::Rejected(
                    order_id.err().into_iter().chain(coupon_id.err()).collect(),
                )),
            }
        }
        .await;
        // A retry of a payment that went through gets the paid order (and
        // its payment) beside the error, as the first attempt's answer would
        // have had it; a payment too late gets the expired order.
        let settled = match &result {
            Err(AppError::Rejected(rejections))
                if rejections.iter().any(|r| {
                    matches!(
                        r.code,
                        ErrorCode::OrderAlreadyPaid | ErrorCode::OrderExpired
                    )
                }) =>
            {
                let order_id = ids::decode_input(types::ORDER, &input.order_id, Field::Order);
                match order_id {
                    Ok(order_id) => Some(payment::as_settled(services, caller, order_id).await?),
                    Err(_) => None,
                }
            }
            _ => None,
        };
        let mut payload = respond(result, |paid| PayOrderPayload {
            order: Some(Order(paid.order)),
            payment: Some(Payment(paid.payment)),
            ..Default::default()
        })?;
        if let Some((order, paid)) = settled {
            payload.order = Some(Order(order));
            payload.payment = paid.map(Payment);
        }
        Ok(payload)
    }
}
