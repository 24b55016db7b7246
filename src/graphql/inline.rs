//! [`Inline`]: an object resolved field after field in one future, for the
//! types a response holds by the hundred (orders, their lines, products).
//!
//! async-graphql resolves an object by boxing a future per selected field
//! and collecting the results into a map that grows one entry at a time;
//! for the objects a page of orders holds by the hundred, that boxing,
//! copying and growing is a large share of the server's work. [`Inline`]
//! gives the same answer without it: it awaits each field's resolver (the one
//! `#[Object]` generated) in turn and fills a map sized for the selection.
//!
//! Only a selection of plain fields takes this path. A selection with
//! fragments, directives or `__typename` goes through async-graphql's own
//! resolver, so every rule of the spec stays in one place, async-graphql.
//! (The schema installs no async-graphql extension, which would otherwise
//! expect to wrap every field: see `graphql::operation`.)
//!
//! Fields are resolved one after another, as `#[Object(serial)]` does: all
//! reads of a query share one database connection (`db::Reads`), so sibling
//! fields gain nothing from running at once, and lists still resolve their
//! items together, which is what the DataLoaders batch.

use std::borrow::Cow;

use async_graphql::parser::types::{Field, Selection};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::{ContainerType, resolve_container_serial};
use async_graphql::{ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};

/// `T`, resolved inline (see the module). Its GraphQL type is `T`'s.
#[derive(Debug, Clone)]
pub struct Inline<T>(pub T);

impl<T: ContainerType + OutputType> OutputType for Inline<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn qualified_type_name() -> String {
        T::qualified_type_name()
    }

    fn introspection_type_name(&self) -> Cow<'static, str> {
        self.0.introspection_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let selection = &ctx.item.node.items;
        let plain = selection.iter().all(|s| match &s.node {
            Selection::Field(f) => f.node.directives.is_empty() && f.node.name.node != "__typename",
            _ => false,
        });
        if !plain {
            return resolve_container_serial(ctx, &self.0).await;
        }
        let mut results = async_graphql::indexmap::IndexMap::with_capacity(selection.len());
        for s in selection {
            let Selection::Field(field) = &s.node else {
                continue;
            };
            let ctx_field = ctx.with_field(field);
            match self.0.resolve_field(&ctx_field).await {
                Ok(value) => insert(
                    &mut results,
                    field.node.response_key().node.clone(),
                    value.unwrap_or_default(),
                ),
                Err(e) => ctx.add_error(e),
            }
        }
        Ok(if results.is_empty() {
            Value::Null
        } else {
            Value::Object(results)
        })
    }
}

/// Adds a field's value under its response key; a key selected twice
/// (`a { x } a { y }`) merges, as the spec's field merging asks and as
/// async-graphql does.
fn insert(map: &mut async_graphql::indexmap::IndexMap<Name, Value>, key: Name, value: Value) {
    use async_graphql::indexmap::map::Entry;
    match map.entry(key) {
        Entry::Vacant(slot) => {
            slot.insert(value);
        }
        Entry::Occupied(mut slot) => merge(slot.get_mut(), value),
    }
}

fn merge(target: &mut Value, value: Value) {
    match (target, value) {
        (Value::Object(target), Value::Object(object)) => {
            for (key, value) in object {
                insert(target, key, value);
            }
        }
        (Value::List(target), Value::List(list)) => {
            for (target, value) in target.iter_mut().zip(list) {
                if let (Value::Object(_), Value::Object(_)) = (&*target, &value) {
                    merge(target, value);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    //! Differential tests: the same selections against a list of plain
    //! objects (async-graphql's resolver) and of [`Inline`] ones must give
    //! the same response, data and errors.

    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, SimpleObject};

    use super::Inline;

    #[derive(SimpleObject, Clone)]
    struct Child {
        a: i32,
        b: i32,
    }

    #[derive(Clone)]
    struct Leaf(i32);

    #[Object]
    impl Leaf {
        async fn x(&self) -> i32 {
            self.0
        }
        async fn child(&self) -> Child {
            Child {
                a: self.0 * 10,
                b: self.0 * 100,
            }
        }
        async fn children(&self) -> Vec<Child> {
            vec![Child { a: 1, b: 2 }, Child { a: 3, b: 4 }]
        }
        /// Fails for odd values, as a resolver error does.
        async fn even(&self) -> async_graphql::Result<i32> {
            if self.0 % 2 == 0 {
                Ok(self.0)
            } else {
                Err("odd".into())
            }
        }
    }

    struct Query;

    #[Object]
    impl Query {
        /// Resolved by async-graphql.
        async fn boxed(&self) -> Vec<Leaf> {
            (1..=3).map(Leaf).collect()
        }
        /// Resolved by [`Inline`] (a name as long, so that error locations match).
        async fn unbox(&self) -> Vec<Inline<Leaf>> {
            (1..=3).map(|n| Inline(Leaf(n))).collect()
        }
    }

    /// Runs `selection` on both lists and returns the two responses as JSON
    /// (the `unbox` response renamed, so that they compare equal).
    async fn both(selection: &str) -> (serde_json::Value, serde_json::Value) {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let run = |field: &str| {
            let fragment = if selection.contains("...F") {
                "fragment F on Leaf { x child { b } }"
            } else {
                ""
            };
            let query = format!("{{ {field} {selection} }} {fragment}");
            let schema = schema.clone();
            async move {
                let response = schema.execute(query).await;
                serde_json::to_value(response).map(|v| v.to_string())
            }
        };
        let plain = run("boxed").await.unwrap();
        let inline = run("unbox")
            .await
            .unwrap()
            .replace("\"unbox\"", "\"boxed\"");
        (
            serde_json::from_str(&plain).unwrap(),
            serde_json::from_str(&inline).unwrap(),
        )
    }

    #[tokio::test]
    async fn inline_objects_answer_like_async_graphql_does() {
        for selection in [
            "{ x }",
            "{ x child { a } }",
            // Aliases, and a key selected twice: merged, in first-seen order.
            "{ y: x x child { a } child { b } }",
            "{ children { a } children { b } }",
            // Fragments, directives and __typename take async-graphql's path.
            "{ ...F x }",
            "{ ... on Leaf { x } child { a } }",
            "{ x @skip(if: true) child { a } }",
            "{ x @include(if: false) __typename }",
            // A failing field: same error, same path, same data.
            "{ x even }",
            "{ even child { a } }",
        ] {
            let (plain, inline) = both(selection).await;
            assert_eq!(plain, inline, "{selection}");
            assert!(plain["data"]["boxed"].is_array(), "{selection}: {plain}");
        }
    }

    #[tokio::test]
    async fn errors_keep_their_path() {
        let (_, inline) = both("{ even }").await;
        let errors = inline["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 2, "{inline}");
        assert_eq!(errors[0]["path"], serde_json::json!(["boxed", 0, "even"]));
    }
}
