//! The mutation root, merged from one object per domain. Each mutation takes
//! one `input` and returns a payload with `userErrors`; a new mutation goes
//! in the file of its domain, declares its payload with [`payload!`], and
//! calls one facade.

/// Declares a mutation payload: the given result fields (each null when the
/// mutation failed) and `userErrors`.
macro_rules! payload {
    ($(#[$meta:meta])* $name:ident { $($(#[$field_meta:meta])* $field:ident: $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::SimpleObject, Default)]
        pub struct $name {
            $($(#[$field_meta])* pub $field: Option<$ty>,)*
            /// Why the mutation failed, one entry per failing input; empty on success.
            pub user_errors: Vec<$crate::graphql::errors::UserError>,
        }

        impl $crate::graphql::errors::Payload for $name {
            fn from_user_errors(user_errors: Vec<$crate::graphql::errors::UserError>) -> Self {
                Self {
                    user_errors,
                    ..Default::default()
                }
            }
        }
    };
}

pub mod balance;
pub mod cart;
pub mod catalog;
pub mod coupon;
pub mod order;
pub mod payment;

use async_graphql::MergedObject;

/// Every mutation.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    order::OrderMutation,
    payment::PaymentMutation,
    coupon::CouponMutation,
    cart::CartMutation,
    balance::BalanceMutation,
    catalog::CatalogMutation,
);
