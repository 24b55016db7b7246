//! The test harness, one concern a file: the app under test ([`app`]) on
//! its own database ([`database`]); its answers ([`gql`], [`http`]), its
//! `/metrics` ([`metrics`]) and its logs ([`logs`]); setting up a shop
//! ([`shop`]); requests that race, over two instances ([`races`]); the
//! outbox relay ([`outbox`]), NATS servers and clusters ([`nats`]) and the
//! event schemas ([`event_schema`]); a WebSocket client ([`ws`]), raw TCP
//! ([`net`]) and a TCP proxy that plays a database outage ([`tcp_proxy`]);
//! programs run as processes ([`process`]); and waiting for something to
//! happen without betting on the clock ([`wait`]).
//! Test modules import from here; they keep only their tests and the
//! helpers private to them.

pub mod app;
pub mod database;
pub mod event_schema;
pub mod gql;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod nats;
pub mod net;
pub mod outbox;
pub mod process;
pub mod races;
pub mod shop;
pub mod tcp_proxy;
pub mod wait;
pub mod ws;

pub use app::{Options, PRODUCTION_SECRET, TEST_SECRET, TestApp, spawn_app, spawn_app_with};
pub use database::postgres_base_url;
pub use gql::Gql;
pub use logs::{count_statements, plans, warnings};
pub use shop::{CREATE_ORDER, PAY_ORDER, buyers};
