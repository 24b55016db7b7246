//! Order-paid events on NATS JetStream: the stream ([`stream`]), the relay
//! that publishes the transactional outbox to it ([`relay`]), and the
//! `events tail` command that prints them ([`tail`]).
//!
//! A payment writes its event into the outbox in its own transaction
//! ([`crate::domain::outbox`]); NATS is never on a request's path, so a NATS
//! outage delays events and never fails or slows a payment.

pub(crate) mod changes;
pub(crate) mod relay;
pub mod stream;
pub(crate) mod tail;

pub use changes::{Change, Changes, Seen};
pub use relay::Relay;
