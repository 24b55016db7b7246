//! A limit async-graphql lacks: how many mutation fields one operation may
//! hold. Each root mutation field is a transaction, and aliases make a
//! thousand of them one small document; complexity cannot see that (a
//! mutation with a small selection costs next to nothing), so they are
//! counted before anything runs ([`super::operation`]).

use async_graphql::ServerError;
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};

/// The most mutation fields in one operation (as many as operations in a batch).
pub const MAX_MUTATIONS: usize = super::MAX_BATCH;

/// Refuses a document whose mutations hold more than [`MAX_MUTATIONS`]
/// root fields. The message says "too complex", which makes the error a
/// `QUERY_TOO_COMPLEX` ([`super::errors`]).
pub fn check_mutations(document: &ExecutableDocument) -> Result<(), ServerError> {
    for (_, operation) in document.operations.iter() {
        if operation.node.ty != OperationType::Mutation {
            continue;
        }
        let fields = count_fields(document, &operation.node.selection_set.node, 0);
        if fields > MAX_MUTATIONS {
            return Err(ServerError::new(
                format!(
                    "the operation is too complex: it holds {fields} mutations, at most {MAX_MUTATIONS} are allowed"
                ),
                Some(operation.pos),
            ));
        }
    }
    Ok(())
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
