#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test panics by design
//! Integration tests: the real server over HTTP, a real PostgreSQL (a fresh
//! database per test, copied from a migrated template) and, for events, a
//! real NATS. The harness is `helpers/`, one concern a file; tests wait for
//! conditions, never on the clock (`helpers/wait.rs`).

mod auth;
mod bad_input;
mod balance;
mod cancellation;
mod cart;
mod cart_orders;
mod catalog;
mod catalog_search;
mod catalog_upkeep;
mod cli;
mod cluster;
mod complexity;
mod conformance;
mod connections;
mod cors;
mod coupons;
mod events;
mod failover;
mod faults;
mod federation;
mod helpers;
mod hostile;
mod http;
mod observability;
mod order_form;
mod order_life;
mod order_queries;
mod orders;
mod payments;
mod persisted;
mod playground;
mod quotes;
mod races;
mod rate_limit;
mod refunds;
mod replica;
mod retry;
mod schema;
mod search_at_scale;
mod sockets;
mod startup;
mod subscriptions;
mod traces;
