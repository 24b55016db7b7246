//! The test harness, one concern a file: the app under test ([`app`]) on
//! its own database ([`database`]), GraphQL answers ([`gql`]), setting up a
//! shop ([`shop`]), what the app logs ([`logs`]), NATS servers and clusters
//! ([`nats`]), a WebSocket client ([`ws`]), a TCP proxy that plays a
//! database outage ([`tcp_proxy`]) and free ports ([`net`]). Test modules
//! import from here; they keep only their tests and the helpers private to
//! them.

pub mod app;
pub mod database;
pub mod gql;
pub mod logs;
pub mod nats;
pub mod net;
pub mod shop;
pub mod tcp_proxy;
pub mod ws;

pub use app::{Options, PRODUCTION_SECRET, TestApp, spawn_app, spawn_app_with};
pub use database::postgres_base_url;
pub use gql::Gql;
pub use logs::{count_statements, warnings};
pub use shop::{CREATE_ORDER, PAY_ORDER, buyers};
