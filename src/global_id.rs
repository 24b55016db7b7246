//! Global object ids: `base64("TypeName:databaseId")` (standard alphabet,
//! padded), as graphql-relay's `toGlobalId`. The API and the order-paid
//! events name entities the same way, so a consumer can correlate the two.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The type names that appear in global ids.
pub mod types {
    /// A product of the catalog.
    pub const PRODUCT: &str = "Product";
    /// A user.
    pub const USER: &str = "User";
    /// An order.
    pub const ORDER: &str = "Order";
    /// The payment of an order.
    pub const PAYMENT: &str = "Payment";
    /// A coupon campaign.
    pub const COUPON: &str = "Coupon";
    /// A coupon issued to a user.
    pub const USER_COUPON: &str = "UserCoupon";
    /// A row of a user's balance ledger.
    pub const BALANCE_ENTRY: &str = "BalanceEntry";
}

/// The global id of the entity `type_name` with database id `id`.
pub fn encode(type_name: &str, id: i64) -> String {
    STANDARD.encode(format!("{type_name}:{id}"))
}

/// Splits a global id into its type name and database id; `None` unless it
/// is an id we could have issued.
pub fn decode_any(id: &str) -> Option<(String, i64)> {
    let bytes = STANDARD.decode(id).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (type_name, raw) = text.split_once(':')?;
    let id: i64 = raw.parse().ok()?;
    // Only canonical forms: "Product:07" or "Product:-1" are not ids we issue.
    (id > 0 && raw == id.to_string()).then(|| (type_name.to_owned(), id))
}

/// The database id of a global id that must name a `type_name`; `None` for
/// anything else (a malformed id, or an id of another type).
pub fn decode(type_name: &str, id: &str) -> Option<i64> {
    decode_any(id).and_then(|(t, id)| (t == type_name).then_some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_graphql_relay() {
        // graphql-relay: toGlobalId("Product", "1") == "UHJvZHVjdDox"
        assert_eq!(encode(types::PRODUCT, 1), "UHJvZHVjdDox");
        assert_eq!(decode(types::PRODUCT, "UHJvZHVjdDox"), Some(1));
        assert_eq!(decode(types::ORDER, "UHJvZHVjdDox"), None, "wrong type");
        for bad in [
            "",
            "!!!",
            "UHJvZHVjdA==",
            &STANDARD.encode("Product:x"),
            &STANDARD.encode("Product:-1"),
            &STANDARD.encode("Product:0"),
            &STANDARD.encode("Product:01"),
            &STANDARD.encode("Product:99999999999999999999"),
        ] {
            assert_eq!(decode(types::PRODUCT, bad), None, "{bad}");
        }
    }
}
