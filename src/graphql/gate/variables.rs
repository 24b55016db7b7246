//! The values of a request's variables, checked against the types the
//! operation declares them with, before it runs: the GraphQL spec's
//! "coerce variable values", which async-graphql only does inside its
//! validation rules, for the variables an argument uses.
//!
//! Checked here, for every request, so that the answer to a bad value is the
//! same request error whether the document is validated again or runs on
//! the schema that skips validation (a document that validated once,
//! `graphql::operation`): the only rule that reads variables' values is the
//! one this replaces. The values are held at least as strictly as
//! async-graphql's own rule holds them (each scalar's `is_valid`; an `Int`
//! to 32 bits, as the spec says), so no request passes here that it would
//! refuse.

use foldhash::HashMap;

use async_graphql::parser::types::{
    BaseType, OperationDefinition, ServiceDocument, Type, TypeKind, TypeSystemDefinition,
};
use async_graphql::{ID, Name, ScalarType, ServerError, Value, Variables};

use crate::graphql::errors::{coded_error, codes};
use crate::graphql::scalars::{DateTime, Money};

/// An input type, as the check needs it.
#[derive(Debug)]
enum Input {
    /// A scalar, by name.
    Scalar,
    /// An enum's values.
    Enum(Vec<Name>),
    /// An input object's fields: each one's type and whether it has a
    /// default.
    Object(Vec<(Name, Type, bool)>),
}

/// The schema's input types, by name.
#[derive(Debug, Default)]
pub struct Inputs {
    types: HashMap<Name, Input>,
}

impl Inputs {
    /// The input types of the schema `document`.
    pub fn of(document: &ServiceDocument) -> Self {
        let mut inputs = Self::default();
        for definition in &document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let input = match &ty.node.kind {
                TypeKind::Scalar => Input::Scalar,
                TypeKind::Enum(e) => {
                    Input::Enum(e.values.iter().map(|v| v.node.value.node.clone()).collect())
                }
                TypeKind::InputObject(o) => Input::Object(
                    o.fields
                        .iter()
                        .map(|f| {
                            let f = &f.node;
                            (
                                f.name.node.clone(),
                                f.ty.node.clone(),
                                f.default_value.is_some(),
                            )
                        })
                        .collect(),
                ),
                _ => continue,
            };
            inputs.types.insert(ty.node.name.node.clone(), input);
        }
        inputs
    }

    /// Refuses `variables` when one of `operation`'s variables is missing
    /// (non-null, no default) or holds a value its type does not accept.
    pub fn check(
        &self,
        operation: &OperationDefinition,
        variables: &Variables,
    ) -> Result<(), ServerError> {
        for definition in &operation.variable_definitions {
            let definition = &definition.node;
            let name = &definition.name.node;
            let value = variables
                .get(name)
                .or(definition.default_value.as_ref().map(|d| &d.node));
            if !self.accepts(&definition.var_type.node, value, 0) {
                return Err(coded_error(
                    codes::BAD_REQUEST,
                    format!(
                        "variable ${name} is not a valid {}",
                        definition.var_type.node
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether `ty` accepts `value` (`None`: not given); `depth` bounds the
    /// recursion (variables nest no deeper than the gate lets them).
    fn accepts(&self, ty: &Type, value: Option<&Value>, depth: usize) -> bool {
        let value = match value {
            None | Some(Value::Null) => return ty.nullable,
            Some(value) => value,
        };
        if depth > 64 {
            return false;
        }
        match &ty.base {
            BaseType::List(inner) => match value {
                Value::List(items) => items
                    .iter()
                    .all(|item| self.accepts(inner, Some(item), depth + 1)),
                // A single value stands for a list of one.
                single => self.accepts(inner, Some(single), depth + 1),
            },
            BaseType::Named(name) => self.named(name, value, depth),
        }
    }

    fn named(&self, name: &Name, value: &Value, depth: usize) -> bool {
        match name.as_str() {
            // The spec's Int is 32 bits; async-graphql's rule lets any
            // 64-bit number through, to fail later as a field's error.
            "Int" => {
                matches!(value, Value::Number(n) if n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()))
            }
            "Float" => <f64 as ScalarType>::is_valid(value),
            "String" => <String as ScalarType>::is_valid(value),
            "Boolean" => <bool as ScalarType>::is_valid(value),
            "ID" => <ID as ScalarType>::is_valid(value),
            "Money" => <Money as ScalarType>::is_valid(value),
            "DateTime" => <DateTime as ScalarType>::is_valid(value),
            _ => match self.types.get(name) {
                Some(Input::Enum(values)) => match value {
                    Value::Enum(v) => values.contains(v),
                    Value::String(v) => values.iter().any(|n| n.as_str() == v),
                    _ => false,
                },
                Some(Input::Object(fields)) => {
                    let Value::Object(given) = value else {
                        return false;
                    };
                    given.keys().all(|k| fields.iter().any(|(n, _, _)| n == k))
                        && fields
                            .iter()
                            .all(|(field, ty, has_default)| match given.get(field) {
                                None if *has_default => true,
                                given => self.accepts(ty, given, depth + 1),
                            })
                }
                // A scalar this check does not know: async-graphql's
                // execution checks it as it parses it.
                Some(Input::Scalar) => true,
                // Not an input type: validation refuses the definition.
                None => true,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::{parse_query, parse_schema};

    fn check(query: &str, variables: serde_json::Value) -> bool {
        let inputs = Inputs::of(&parse_schema(crate::graphql::sdl()).expect("the schema"));
        let document = parse_query(query).expect("parses");
        let (_, operation) = document.operations.iter().next().expect("an operation");
        inputs
            .check(&operation.node, &Variables::from_json(variables))
            .is_ok()
    }

    #[test]
    fn values_are_held_to_their_declared_types() {
        let page = "query($n: Int) { products(first: $n) { totalCount } }";
        assert!(check(page, serde_json::json!({ "n": 5 })));
        assert!(check(page, serde_json::json!({})));
        assert!(check(page, serde_json::json!({ "n": null })));
        assert!(!check(page, serde_json::json!({ "n": "five" })));
        assert!(!check(page, serde_json::json!({ "n": 1_i64 << 40 })));
        let required = "query($id: ID!) { product(id: $id) { id } }";
        assert!(!check(required, serde_json::json!({})));
        assert!(check(required, serde_json::json!({ "id": 7 })));
        let order = "mutation($i: CreateOrderInput!) { createOrder(input: $i) { order { id } } }";
        let line = serde_json::json!({ "productId": "UHJvZHVjdDox", "quantity": 1 });
        assert!(check(
            order,
            serde_json::json!({ "i": { "items": [line] } })
        ));
        assert!(
            check(order, serde_json::json!({ "i": { "items": line } })),
            "a list of one"
        );
        assert!(!check(
            order,
            serde_json::json!({ "i": { "items": [line], "nope": 1 } })
        ));
        assert!(!check(
            order,
            serde_json::json!({ "i": { "items": [{ "quantity": 1 }] } })
        ));
        let sorted = "query($o: ProductOrder) { products(orderBy: $o) { totalCount } }";
        assert!(check(sorted, serde_json::json!({ "o": "PRICE_ASC" })));
        assert!(!check(sorted, serde_json::json!({ "o": "CHEAPEST" })));
        let money =
            "mutation($i: ChargeBalanceInput!) { chargeBalance(input: $i) { user { id } } }";
        assert!(check(
            money,
            serde_json::json!({ "i": { "amount": "100" } })
        ));
        assert!(!check(
            money,
            serde_json::json!({ "i": { "amount": true } })
        ));
    }
}
