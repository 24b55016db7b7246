//! What the complexity measure knows of the schema: for each object and
//! interface type, its fields, the type each returns and how many items a
//! list field may hold.
//!
//! The schema says which fields are lists; how many items each may hold is
//! a rule of its own, declared once here ([`LIST_BOUNDS`]) for plain lists,
//! and for every connection the page size execution will take from
//! `first`/`last` ([`PageArgs::size`], the one rule for both).
//! [`Lists::of`] refuses a schema with a list of objects (or of a union or
//! interface) that has no bound, so a new list cannot be forgotten.

use foldhash::{HashMap, HashMapExt};

use async_graphql::Name;
use async_graphql::parser::types::{
    BaseType, ServiceDocument, Type, TypeKind, TypeSystemDefinition,
};

use crate::domain::{cart, order};
use crate::graphql::connection::PageArgs;

/// How many items a list field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Items {
    /// Not a list, a list of scalars, or the `edges`/`nodes` of a
    /// connection (counted at the connection's field).
    One,
    /// A connection: its page size, from `first` or `last`.
    Page,
    /// As many as the argument of this name (a list) holds.
    Argument(&'static str),
    /// At most this many.
    AtMost(usize),
}

/// The most `userErrors` a payload holds: one per failing input, and an
/// order's lines are the most inputs a mutation takes (a product and a
/// quantity each, and the idempotency key).
const MAX_USER_ERRORS: usize = 2 * order::MAX_LINES + 1;

/// The bounds of the plain lists of objects, by type (`*` for any) and
/// field.
const LIST_BOUNDS: &[(&str, &str, Items)] = &[
    ("*", "userErrors", Items::AtMost(MAX_USER_ERRORS)),
    ("Query", "nodes", Items::Argument("ids")),
    // A federation gateway's call: one entity per representation, at most
    // QUERY_MAX_REPRESENTATIONS of them (see `entities`).
    ("Query", "_entities", Items::Argument("representations")),
    ("Order", "items", Items::AtMost(order::MAX_LINES)),
    (
        "Cart",
        "items",
        Items::AtMost(cart::MAX_CART_LINES as usize),
    ),
];

/// A field as the measure needs it: the type it returns and its items.
#[derive(Debug, Clone)]
pub(super) struct FieldShape {
    /// The named type it returns.
    pub(super) ty: Name,
    /// How many items it holds.
    pub(super) items: Items,
}

/// What the measure knows of the schema: each object and interface type's
/// fields.
#[derive(Debug, Default)]
pub struct Lists {
    types: HashMap<Name, HashMap<Name, FieldShape>>,
}

impl Lists {
    /// The shape of the schema written as `sdl`; an error names a list of
    /// objects whose bound [`LIST_BOUNDS`] does not declare.
    pub fn of(document: &ServiceDocument) -> Result<Self, String> {
        let composite: Vec<&Name> = document
            .definitions
            .iter()
            .filter_map(|d| match d {
                TypeSystemDefinition::Type(t)
                    if matches!(
                        t.node.kind,
                        TypeKind::Object(_) | TypeKind::Interface(_) | TypeKind::Union(_)
                    ) =>
                {
                    Some(&t.node.name.node)
                }
                _ => None,
            })
            .collect();
        let mut lists = Self::default();
        for definition in &document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let fields = match &ty.node.kind {
                TypeKind::Object(object) => &object.fields,
                TypeKind::Interface(interface) => &interface.fields,
                _ => continue,
            };
            let parent = &ty.node.name.node;
            let mut shaped = HashMap::new();
            for field in fields {
                let field = &field.node;
                let (named, list) = named_type(&field.ty.node);
                let takes = |arg: &str| field.arguments.iter().any(|a| a.node.name.node == arg);
                let declared = LIST_BOUNDS
                    .iter()
                    .find(|(t, f, _)| (*t == "*" || t == parent) && *f == field.name.node.as_str())
                    .map(|(_, _, items)| *items);
                let items = if let Some(items) = declared {
                    items
                } else if named.ends_with("Connection") && takes("first") && takes("last") {
                    Items::Page
                } else if list && composite.contains(&named) && !parent.ends_with("Connection") {
                    return Err(format!(
                        "{parent}.{} is a list of {named} without a bound in LIST_BOUNDS",
                        field.name.node
                    ));
                } else {
                    Items::One
                };
                shaped.insert(
                    field.name.node.clone(),
                    FieldShape {
                        ty: named.clone(),
                        items,
                    },
                );
            }
            lists.types.insert(parent.clone(), shaped);
        }
        Ok(lists)
    }

    /// The shape of field `field` of type `parent`, if the schema has it.
    pub(super) fn field(&self, parent: &Name, field: &Name) -> Option<&FieldShape> {
        self.types.get(parent)?.get(field)
    }
}

/// The items of a connection whose page is asked for with `first` and
/// `last` (`None` when absent or null, `Err` when not an `Int`): the page
/// size execution takes, by the very rule it takes it with
/// ([`PageArgs::size`]). A page that execution refuses reads nothing.
pub(super) fn page_items(first: Result<Option<i32>, ()>, last: Result<Option<i32>, ()>) -> usize {
    let (Ok(first), Ok(last)) = (first, last) else {
        return 0;
    };
    PageArgs::new(first, None, last, None)
        .size()
        .map_or(0, |(n, _)| usize::try_from(n).unwrap_or(0))
}

/// The named type under any lists and non-nulls, and whether it is a list.
fn named_type(ty: &Type) -> (&Name, bool) {
    match &ty.base {
        BaseType::Named(name) => (name, false),
        BaseType::List(inner) => (named_type(inner).0, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_of_objects_without_a_bound_is_refused() {
        let sdl = "type Query { shops: [Shop!]! } type Shop { id: ID! }";
        let of = |sdl: &str| Lists::of(&async_graphql::parser::parse_schema(sdl).expect("parses"));
        let err = of(sdl).expect_err("no bound for Query.shops");
        assert!(err.contains("Query.shops"), "{err}");
        assert!(of("type Query { tags: [String!]! }").is_ok());
        let union = "type Query { things: [Thing]! } union Thing = Shop type Shop { id: ID! }";
        let err = of(union).expect_err("no bound for Query.things");
        assert!(err.contains("Query.things"), "{err}");
    }
}
