//! Domain services and repositories, one module per domain.
//!
//! Functions here take a connection (inside a facade's transaction) or the
//! pool (for reads), hold the SQL and the business rules, and know nothing of
//! GraphQL. Each rule lives in exactly one of these modules.

pub mod audit;
pub mod balance;
pub mod cart;
pub mod coupon;
pub mod idempotency;
pub mod order;
pub mod outbox;
pub mod page;
pub mod payment;
pub mod product;
pub mod settlement;
pub mod stock;
pub mod user;
