//! What a federation gateway asks a subgraph, held before it runs:
//! `Query._service` and `Query._entities` (`graphql::federation`).
//!
//! Both are refused when federation is off (`FEDERATION=false`). An
//! `_entities` call's `representations` are `[_Any!]!`, a scalar that
//! async-graphql takes as any value, and async-graphql resolves them all at
//! once; so they are held here, from the literal or the variables, before
//! anything is read:
//!
//! - at most `QUERY_MAX_REPRESENTATIONS` of them (their number also
//!   multiplies the call's complexity, see `lists`);
//! - each an object whose `__typename` names an entity of this subgraph
//!   (a member of the schema's `_Entity` union) and whose `id`, the key
//!   of every entity here, is an ID (a string, or a number as an ID input
//!   may be).
//!
//! Such a representation names a type and an id the resolver can look up;
//! an id that names nothing of that type, or nothing the caller may see,
//! then resolves to null, as `node` answers. A representation that is not
//! one (a gateway's bug, or someone else's request) is a `BAD_REQUEST`
//! naming its index, never quoting it back: async-graphql would answer
//! "Entity not found." for the whole list, after reading the rest.

use async_graphql::parser::types::{ServiceDocument, TypeKind, TypeSystemDefinition};
use async_graphql::{Name, ServerError, Value};

use crate::config::QueryLimits;
use crate::graphql::errors::{coded_error, codes};

/// The `_Entity` union's name: async-graphql's, as the federation spec
/// names it.
const ENTITY_UNION: &str = "_Entity";

/// The key every entity of this subgraph has (`@key(fields: "id")`).
const KEY: &str = "id";

/// What the gate knows of the subgraph's entities: their type names.
#[derive(Debug, Default)]
pub struct Entities {
    types: Vec<Name>,
}

fn bad_request(message: String) -> ServerError {
    coded_error(codes::BAD_REQUEST, message)
}

impl Entities {
    /// The entities of the schema `document`: the members of its
    /// `_Entity` union (none when it has no entities).
    pub fn of(document: &ServiceDocument) -> Self {
        let types = document
            .definitions
            .iter()
            .find_map(|d| match d {
                TypeSystemDefinition::Type(t) if t.node.name.node == ENTITY_UNION => {
                    match &t.node.kind {
                        TypeKind::Union(union) => {
                            Some(union.members.iter().map(|m| m.node.clone()).collect())
                        }
                        _ => None,
                    }
                }
                _ => None,
            })
            .unwrap_or_default();
        Self { types }
    }

    /// Refuses root field `name` when it is the federation's and
    /// federation is off.
    pub(super) fn check_root_field(
        &self,
        name: &str,
        limits: &QueryLimits,
    ) -> Result<(), ServerError> {
        if !limits.federation && matches!(name, "_service" | "_entities") {
            return Err(bad_request(format!(
                "Query.{name} is not served: federation is off on this server (FEDERATION=false)"
            )));
        }
        Ok(())
    }

    /// Refuses an `_entities` call whose `representations` (as the request
    /// gives them; `None` when missing, which validation reports) are too
    /// many, or one of which is not a representation of an entity here.
    pub(super) fn check_representations(
        &self,
        representations: Option<&Value>,
        limits: &QueryLimits,
    ) -> Result<(), ServerError> {
        let items = match representations {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::List(items)) => items.as_slice(),
            // A single value stands for a list of one, as for any list input.
            Some(single) => std::slice::from_ref(single),
        };
        let max = limits.max_representations;
        if items.len() > max {
            return Err(bad_request(format!(
                "_entities takes at most {max} representations, this call holds {}",
                items.len()
            )));
        }
        for (index, item) in items.iter().enumerate() {
            if let Some(problem) = self.problem(item) {
                return Err(bad_request(format!(
                    "_entities: representation {index} {problem}"
                )));
            }
        }
        Ok(())
    }

    /// What is wrong with `representation`, if anything.
    fn problem(&self, representation: &Value) -> Option<String> {
        let Value::Object(fields) = representation else {
            return Some("is not an object".into());
        };
        match fields.get("__typename") {
            Some(Value::String(name)) if self.types.iter().any(|t| t.as_str() == name) => {}
            Some(Value::String(_)) => {
                let known: Vec<&str> = self.types.iter().map(Name::as_str).collect();
                return Some(format!(
                    "names no entity of this subgraph (its entities: {})",
                    known.join(", ")
                ));
            }
            _ => return Some("has no __typename string".into()),
        }
        match fields.get(KEY) {
            Some(Value::String(_) | Value::Number(_)) => None,
            _ => Some(format!(
                "has no {KEY} (an ID), the key of every entity here"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entities() -> Entities {
        let sdl = "type Query { a: Int } type Product { id: ID! } type Order { id: ID! }
            union _Entity = Product | Order";
        Entities::of(&async_graphql::parser::parse_schema(sdl).expect("parses"))
    }

    fn check(value: serde_json::Value, max: usize) -> Result<(), String> {
        let limits = QueryLimits {
            max_representations: max,
            ..QueryLimits::default()
        };
        let value = Value::from_json(value).expect("a value");
        entities()
            .check_representations(Some(&value), &limits)
            .map_err(|e| e.message)
    }

    #[test]
    fn representations_are_few_objects_naming_an_entity_and_its_id() {
        let product = serde_json::json!({ "__typename": "Product", "id": "UHJvZHVjdDox" });
        assert_eq!(check(serde_json::json!([product, product]), 2), Ok(()));
        assert_eq!(check(product.clone(), 1), Ok(()), "a list of one");
        assert_eq!(check(serde_json::json!([]), 1), Ok(()));
        let numbered = serde_json::json!([{ "__typename": "Order", "id": 7, "extra": [1] }]);
        assert_eq!(check(numbered, 1), Ok(()), "an ID may be a number");

        let too_many = check(serde_json::json!([product, product, product]), 2).unwrap_err();
        assert!(too_many.contains("at most 2"), "{too_many}");
        for (bad, why) in [
            (serde_json::json!(["Product"]), "is not an object"),
            (serde_json::json!([null]), "is not an object"),
            (serde_json::json!([{ "id": "x" }]), "no __typename"),
            (
                serde_json::json!([{ "__typename": 1, "id": "x" }]),
                "no __typename",
            ),
            (
                serde_json::json!([{ "__typename": "Payment", "id": "x" }]),
                "Product, Order",
            ),
            (
                serde_json::json!([{ "__typename": "Product" }]),
                "has no id",
            ),
            (
                serde_json::json!([{ "__typename": "Product", "id": null }]),
                "has no id",
            ),
            (
                serde_json::json!([{ "__typename": "Product", "id": {} }]),
                "has no id",
            ),
        ] {
            let message = check(bad.clone(), 10).unwrap_err();
            assert!(message.contains(why), "{bad}: {message}");
            assert!(message.contains("representation 0"), "{message}");
        }
        // Never quoted back.
        let huge = "\u{0}".repeat(10_000);
        let message = check(
            serde_json::json!([product, { "__typename": huge, "id": "x" }]),
            10,
        )
        .unwrap_err();
        assert!(
            message.contains("representation 1") && message.len() < 200,
            "{message}"
        );
    }

    #[test]
    fn federation_off_refuses_the_federation_s_fields_only() {
        let off = QueryLimits {
            federation: false,
            ..QueryLimits::default()
        };
        for name in ["_service", "_entities"] {
            let err = entities().check_root_field(name, &off).unwrap_err();
            assert!(err.message.contains("FEDERATION=false"), "{}", err.message);
            assert!(
                entities()
                    .check_root_field(name, &QueryLimits::default())
                    .is_ok()
            );
        }
        assert!(entities().check_root_field("node", &off).is_ok());
    }
}
