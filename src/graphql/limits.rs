//! A limit async-graphql lacks: how many mutation fields one operation may
//! hold. Each root mutation field is a transaction, and aliases make a
//! thousand of them one small document; complexity cannot see that (a
//! mutation with a small selection costs next to nothing), so they are
//! counted here, right after parsing, before anything runs.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};

/// The most mutation fields in one operation (as many as operations in a batch).
pub const MAX_MUTATIONS: usize = super::MAX_BATCH;

/// Refuses operations with more than [`MAX_MUTATIONS`] root mutation fields.
pub struct MutationLimit;

impl ExtensionFactory for MutationLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(MutationLimit)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for MutationLimit {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        for (_, operation) in document.operations.iter() {
            if operation.node.ty != OperationType::Mutation {
                continue;
            }
            let fields = count_fields(&document, &operation.node.selection_set.node, 0);
            if fields > MAX_MUTATIONS {
                // "too complex" makes it a QUERY_TOO_COMPLEX (graphql::errors).
                return Err(ServerError::new(
                    format!(
                        "the operation is too complex: it holds {fields} mutations, at most {MAX_MUTATIONS} are allowed"
                    ),
                    Some(operation.pos),
                ));
            }
        }
        Ok(document)
    }
}

/// Root fields of a selection set, through fragments (`depth` stops a
/// fragment cycle, which validation refuses later anyway).
fn count_fields(document: &ExecutableDocument, set: &SelectionSet, depth: usize) -> usize {
    if depth > 8 {
        return 0;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(f) => {
                count_fields(document, &f.node.selection_set.node, depth + 1)
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |f| {
                    count_fields(document, &f.node.selection_set.node, depth + 1)
                }),
        })
        .sum()
}
