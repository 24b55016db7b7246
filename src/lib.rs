//! A commerce GraphQL API: catalog, orders, payments from a stored balance,
//! limited-quantity coupons and order-paid events.
//!
//! The layers, outermost first (each only calls the one below it):
//!
//! - [`http`]: the axum routes (`/graphql`, the playground, health checks);
//! - [`graphql`]: the schema, its types and thin resolvers;
//! - [`facades`]: one use case each (`createOrder`, `payOrder`, ...), which
//!   opens the SERIALIZABLE transaction and runs the domain services in order;
//! - [`domain`]: services and repositories per domain (product, stock,
//!   balance, order, cart, coupon, outbox) that take a connection or a
//!   transaction and hold no GraphQL;
//! - [`db`]: the pool, migrations and the one retry helper.
//!
//! [`global_id`] is the id format shared by the API and the events.
//!
//! [`error::AppError`] is the one error type; [`startup`] wires it together.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub(crate) mod facades;
pub mod global_id;
pub mod graphql;
pub(crate) mod http;
pub mod metrics;
pub mod startup;
pub(crate) mod sync;
pub(crate) mod telemetry;
