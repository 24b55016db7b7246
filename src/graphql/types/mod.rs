//! The contract's object types, each a thin wrapper over a domain record.

pub mod product;
pub mod user;
