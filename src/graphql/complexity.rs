//! The depth and complexity of an operation, measured before it runs.
//!
//! Complexity bounds how big a response can be: every field counts 1, and
//! the fields under a list count once per item the list may hold. The
//! schema says which fields are lists; how many items each may hold is a
//! rule of its own, declared once here ([`LIST_BOUNDS`]) for plain lists, and
//! for every connection the page size execution will take from
//! `first`/`last` ([`PageArgs::size`], the one rule for both). [`Shape::of`] refuses a schema with a list of objects
//! that has no bound, so a new list cannot be forgotten.
//!
//! Measured here rather than by async-graphql's own limits so that a refusal
//! carries its code and says the measured value and the limit.

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, Field, OperationDefinition, Selection,
    SelectionSet, ServiceDocument, Type, TypeKind, TypeSystemDefinition,
};
use async_graphql::{Name, ServerError, Value, Variables};

use super::connection::PageArgs;
use super::errors::{coded_error, codes};
use crate::config::Limits;
use crate::domain::{cart, order};

/// How many items a list field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Items {
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
    ("Order", "items", Items::AtMost(order::MAX_LINES)),
    (
        "Cart",
        "items",
        Items::AtMost(cart::MAX_CART_LINES as usize),
    ),
];

/// A field as the measure needs it: the type it returns and its items.
#[derive(Debug, Clone)]
struct FieldShape {
    ty: Name,
    items: Items,
}

/// What the measure knows of the schema: each object and interface type's
/// fields.
#[derive(Debug, Default)]
pub struct Shape {
    types: HashMap<Name, HashMap<Name, FieldShape>>,
}

/// An operation's measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// The deepest nesting of fields.
    pub depth: usize,
    /// Its complexity (see the module).
    pub complexity: usize,
}

impl Shape {
    /// The shape of the schema written as `sdl`; an error names a list of
    /// objects whose bound [`LIST_BOUNDS`] does not declare.
    pub fn of(sdl: &str) -> Result<Self, String> {
        let document: ServiceDocument =
            async_graphql::parser::parse_schema(sdl).map_err(|e| e.to_string())?;
        let composite: Vec<&Name> = document
            .definitions
            .iter()
            .filter_map(|d| match d {
                TypeSystemDefinition::Type(t)
                    if matches!(t.node.kind, TypeKind::Object(_) | TypeKind::Interface(_)) =>
                {
                    Some(&t.node.name.node)
                }
                _ => None,
            })
            .collect();
        let mut shape = Self::default();
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
            shape.types.insert(parent.clone(), shaped);
        }
        Ok(shape)
    }

    /// Measures the operation `name` selects in `document` (nothing for a
    /// name the document lacks, which execution reports), with the
    /// `variables` of the request.
    pub fn measure(
        &self,
        document: &ExecutableDocument,
        name: Option<&str>,
        variables: &Variables,
    ) -> Option<Measure> {
        let operation = match &document.operations {
            DocumentOperations::Single(operation) => &operation.node,
            DocumentOperations::Multiple(operations) => match name {
                Some(name) => &operations.get(name)?.node,
                None if operations.len() == 1 => &operations.values().next()?.node,
                None => return None,
            },
        };
        let root = match operation.ty {
            async_graphql::parser::types::OperationType::Query => "Query",
            async_graphql::parser::types::OperationType::Mutation => "Mutation",
            async_graphql::parser::types::OperationType::Subscription => "Subscription",
        };
        let walk = Walk {
            shape: self,
            document,
            operation,
            variables,
        };
        Some(walk.set(Some(&Name::new(root)), &operation.selection_set.node))
    }
}

/// Checks `measure` against `limits`.
pub fn check(measure: Measure, limits: &Limits) -> Result<(), ServerError> {
    let refuse = |what: String| Err(coded_error(codes::QUERY_TOO_COMPLEX, what));
    if measure.depth > limits.max_depth {
        return refuse(format!(
            "the query nests {} fields deep, at most {} are allowed",
            measure.depth, limits.max_depth
        ));
    }
    if measure.complexity > limits.max_complexity {
        return refuse(format!(
            "the query's complexity is {}, at most {} is allowed (every field counts 1, times the \
             items of each list around it)",
            measure.complexity, limits.max_complexity
        ));
    }
    Ok(())
}

/// The named type under any lists and non-nulls, and whether it is a list.
fn named_type(ty: &Type) -> (&Name, bool) {
    match &ty.base {
        BaseType::Named(name) => (name, false),
        BaseType::List(inner) => (named_type(inner).0, true),
    }
}

/// One walk over an operation, fragments expanded. The guards of
/// `limits.rs` have bounded how many fields that visits and how deep it
/// recurses.
struct Walk<'a> {
    shape: &'a Shape,
    document: &'a ExecutableDocument,
    operation: &'a OperationDefinition,
    variables: &'a Variables,
}

impl Walk<'_> {
    /// The measure of `set`, selected on `parent` (`None` when unknown, as
    /// for introspection's types: each field then counts 1).
    fn set(&self, parent: Option<&Name>, set: &SelectionSet) -> Measure {
        let mut total = Measure {
            depth: 0,
            complexity: 0,
        };
        let mut add = |m: Measure| {
            total.depth = total.depth.max(m.depth);
            total.complexity = total.complexity.saturating_add(m.complexity);
        };
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => add(self.field(parent, &field.node)),
                Selection::InlineFragment(fragment) => {
                    let on = fragment.node.type_condition.as_ref();
                    let parent = on.map(|c| &c.node.on.node).or(parent);
                    add(self.set(parent, &fragment.node.selection_set.node));
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) =
                        self.document.fragments.get(&spread.node.fragment_name.node)
                    {
                        let on = &fragment.node.type_condition.node.on.node;
                        add(self.set(Some(on), &fragment.node.selection_set.node));
                    }
                }
            }
        }
        total
    }

    fn field(&self, parent: Option<&Name>, field: &Field) -> Measure {
        let shape = parent
            .and_then(|p| self.shape.types.get(p))
            .and_then(|fields| fields.get(&field.name.node));
        let below = self.set(shape.map(|s| &s.ty), &field.selection_set.node);
        let items = match shape.map(|s| s.items) {
            None | Some(Items::One) => 1,
            Some(Items::Page) => self.page_size(field),
            Some(Items::Argument(name)) => match self.argument(field, name) {
                Some(Value::List(items)) => items.len().max(1),
                _ => 1,
            },
            Some(Items::AtMost(n)) => n,
        };
        Measure {
            depth: below.depth + 1,
            complexity: items.saturating_mul(below.complexity).saturating_add(1),
        }
    }

    /// The items a connection `field` will hold: the page size execution
    /// takes, by the very rule it takes it with ([`PageArgs::size`]), for
    /// every way of giving `first` and `last` (a literal, a variable, its
    /// default, `null`, nothing). A page that execution refuses reads
    /// nothing.
    fn page_size(&self, field: &Field) -> usize {
        let size = |name: &str| match self.argument(field, name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or(()),
            Some(_) => Err(()),
        };
        let (Ok(first), Ok(last)) = (size("first"), size("last")) else {
            return 0;
        };
        let args = PageArgs::new(first, None, last, None);
        args.size()
            .map_or(0, |(n, _)| usize::try_from(n).unwrap_or(0))
    }

    /// The value of argument `name` of `field`: a literal, or a variable's
    /// value (or its default).
    fn argument(&self, field: &Field, name: &str) -> Option<Value> {
        let value = &field.get_argument(name)?.node;
        value
            .clone()
            .into_const_with(|variable| {
                self.variables
                    .get(&variable)
                    .cloned()
                    .or_else(|| {
                        self.operation
                            .variable_definitions
                            .iter()
                            .find(|d| d.node.name.node == variable)
                            .and_then(|d| d.node.default_value.as_ref())
                            .map(|v| v.node.clone())
                    })
                    .ok_or(())
            })
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn shape() -> Shape {
        Shape::of(&crate::graphql::sdl()).expect("every list has a bound")
    }

    fn measure(query: &str, variables: serde_json::Value) -> Measure {
        let document = parse_query(query).expect("parses");
        shape()
            .measure(&document, None, &Variables::from_json(variables))
            .expect("an operation")
    }

    #[test]
    fn lists_multiply_what_they_hold() {
        let nested = "{ viewer { orders(first: 20) { nodes { status items { quantity product { name } } } } } }";
        // items: 1 + 100 x (quantity 1 + product (1 + name 1)); a node:
        // status 1 + items; orders: 1 + 20 x (nodes 1 + ...); viewer 1 + it.
        let items = 1 + 100 * 3;
        let orders = 1 + 20 * (1 + 1 + items);
        assert_eq!(
            measure(nested, serde_json::json!({})),
            Measure {
                depth: 6,
                complexity: 1 + orders
            }
        );
        let ids = serde_json::json!({ "ids": ["a", "b", "c"] });
        let nodes = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }";
        assert_eq!(measure(nodes, ids).complexity, 1 + 3);
        // A page size from a variable, its default, or the connection's.
        let products = "query($n: Int = 7) { products(first: $n) { nodes { id } } }";
        assert_eq!(
            measure(products, serde_json::json!({ "n": 50 })).complexity,
            1 + 50 * 2
        );
        assert_eq!(
            measure(products, serde_json::json!({})).complexity,
            1 + 7 * 2
        );
        assert_eq!(
            measure("{ products { nodes { id } } }", serde_json::json!({})).complexity,
            1 + 20 * 2
        );
    }

    #[test]
    fn a_page_size_is_the_one_execution_takes() {
        let page = |args: &str, variables: serde_json::Value| {
            let query =
                format!("query($n: Int, $m: Int = 7) {{ products{args} {{ nodes {{ id }} }} }}");
            (measure(&query, variables).complexity - 1) / 2
        };
        let none = serde_json::json!({});
        // A null first is no first: the last runs.
        assert_eq!(page("(first: null, last: 100)", none.clone()), 100);
        assert_eq!(
            page("(first: $n, last: 60)", serde_json::json!({ "n": null })),
            60
        );
        assert_eq!(page("(first: $n, last: 60)", none.clone()), 60);
        assert_eq!(page("(last: $m)", none.clone()), 7);
        assert_eq!(page("(last: $m)", serde_json::json!({ "m": null })), 20);
        assert_eq!(page("(first: 0)", none.clone()), 0);
        // Refused by execution before it reads: nothing runs.
        assert_eq!(page("(first: 5, last: 5)", none.clone()), 0);
        assert_eq!(page("(first: 101)", none), 0);
    }

    #[test]
    fn fragments_and_type_conditions_are_followed() {
        let query = "{ node(id: \"x\") { ... on User { ...Orders } } }
                     fragment Orders on User { orders(last: 5) { nodes { id } } }";
        assert_eq!(
            measure(query, serde_json::json!({})),
            Measure {
                depth: 4,
                complexity: 1 + 1 + 5 * 2
            }
        );
    }

    #[test]
    fn a_list_of_objects_without_a_bound_is_refused() {
        let sdl = "type Query { shops: [Shop!]! } type Shop { id: ID! }";
        let err = Shape::of(sdl).expect_err("no bound for Query.shops");
        assert!(err.contains("Query.shops"), "{err}");
        assert!(Shape::of("type Query { tags: [String!]! }").is_ok());
    }
}
