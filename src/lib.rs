//! A commerce GraphQL API: catalog, orders, payments from a stored balance,
//! limited-quantity coupons and order-paid events.
//!
//! The layers, outermost first:
//!
//! - [`http`]: the accept loop and the axum routes (`/graphql`, the
//!   playground, health checks);
//! - [`graphql`]: the schema, its types and thin resolvers;
//! - [`facades`]: one use case each (`createOrder`, `payOrder`, ...), which
//!   opens the SERIALIZABLE transaction and runs the domain services in order;
//! - [`domain`]: services and repositories per domain (product, stock,
//!   balance, order, cart, coupon, outbox) that take a connection or a
//!   transaction and hold no GraphQL;
//! - [`db`]: the pool, migrations, the one retry helper, and where a
//!   request's reads run.
//!
//! Writes go graphql -> facades -> domain: a mutation's resolver decodes its
//! input and calls one facade, which runs the domain's rules and statements
//! in one transaction. Reads go graphql -> domain: a query's resolvers call
//! the domain's read functions directly (there is no use case to run), on
//! the operation's [`db::Reads`] (one shared connection per query) and
//! through its DataLoaders (`graphql::loaders`), which batch the reads of
//! a list into one statement.
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
