//! Facades: one use case each, in the order the use case's story tells it.
//!
//! A facade checks who is calling, opens the SERIALIZABLE transaction through
//! [`crate::db::Db::serializable`], and calls the domain services in order.
//! Resolvers call facades; facades never see GraphQL.

pub mod balance;
pub mod cart;
pub mod catalog;
pub mod coupon;
pub mod demo;
pub mod expiry;
pub mod identity;
pub mod order;
pub mod order_form;
pub mod payment;
pub mod refund;

use std::sync::Arc;

use crate::auth::Principal;
use crate::config::Config;
use crate::db::Db;
use crate::error::{AppError, AppResult};
use crate::events::Changes;
use order_form::OrderForm;

/// What every facade needs: the database, the configuration, the cache of
/// user ids and the queues of hot writes. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    /// The database and its retry helper.
    pub db: Db,
    /// The server's configuration.
    pub config: Arc<Config>,
    /// The base of the public URLs the API hands out.
    pub public_base_url: Arc<str>,
    /// Where an order's form page is (`Order.paymentUrl`, `Location`).
    pub order_form: Arc<OrderForm>,
    /// `sub` -> user id, so most requests skip the user lookup.
    pub users: Arc<identity::UserIdCache>,
    /// This instance's new orders, settled in batches.
    pub creates: Arc<order::Creates>,
    /// This instance's payments, settled in batches.
    pub payments: Arc<payment::Payments>,
    /// This instance's refunds, settled in batches.
    pub refunds: Arc<refund::Refunds>,
    /// This instance's coupon issuing, in batches.
    pub coupons: Arc<coupon::Issuer>,
    /// What subscribers follow, and the announcements of changes.
    pub changes: Arc<Changes>,
}

impl Services {
    /// Bundles the services and starts their workers (so it must run
    /// inside the Tokio runtime).
    pub fn new(
        db: Db,
        config: Arc<Config>,
        public_base_url: String,
        changes: Arc<Changes>,
    ) -> Self {
        Self {
            order_form: Arc::new(OrderForm::new(&config.storefront, &public_base_url)),
            creates: Arc::new(order::Creates::new(db.clone(), order::terms(&config))),
            payments: Arc::new(payment::Payments::new(db.clone(), changes.clone())),
            refunds: Arc::new(refund::Refunds::new(db.clone(), changes.clone())),
            coupons: Arc::new(coupon::Issuer::new(
                db.clone(),
                changes.clone(),
                &config.coupons,
            )),
            changes,
            db,
            config,
            public_base_url: public_base_url.into(),
            users: Arc::default(),
        }
    }
}

/// Fails with `FORBIDDEN` unless the caller is an administrator.
pub fn require_admin(caller: &Principal) -> AppResult<()> {
    if caller.is_admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
