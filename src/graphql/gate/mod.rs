//! The gate every operation passes before async-graphql sees it, over HTTP
//! and WebSocket alike: may this document run, and what does it cost?
//!
//! [`Gate::admit`] answers, in order:
//!
//! 1. a document named by its hash gets its text, and with trusted
//!    documents only, no other text passes ([`persisted`]);
//! 2. the variables, then the text, nest no deeper than `QUERY_MAX_NESTING`,
//!    checked before anything is parsed ([`text`]); the document is then
//!    parsed, or found parsed ([`cache`]);
//! 3. the operation to run is selected, once, and the values of its
//!    variables are held to their declared types ([`variables`]);
//! 4. one walk over the document, each fragment expanded once ([`walk`]),
//!    measures its [`Cost`]: fields, nesting, depth, complexity and root
//!    fields, held to the limits (the complexity with the request's
//!    variables; a list's items from [`lists`]); the federation's fields
//!    are held on the way ([`entities`]: `FEDERATION`, and the
//!    representations of an `_entities` call).
//!
//! `QUERY_MAX_NESTING` bounds how deep the document is written (what
//! parsing and validation recurse on); `QUERY_MAX_DEPTH` bounds how deep
//! its response is (fields within fields).
//!
//! Each refusal carries its own `extensions.code`: `QUERY_TOO_COMPLEX` for
//! a limit, `BAD_REQUEST` for a document that cannot run (a syntax error, a
//! fragment that spreads itself, an unknown operation, a subscription of
//! two root fields, a federation field with federation off, an `_entities`
//! call with too many representations or a malformed one), and those of
//! persisted queries. A document that fails
//! is never handed to async-graphql, nor kept.

mod cache;
mod entities;
mod lists;
pub(crate) mod persisted;
mod text;
mod variables;
mod walk;

use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::parser::parse_query;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
};
use async_graphql::{Request, Response, ServerError};

pub use walk::Cost;

use self::cache::{Cache, Checked};
use self::entities::Entities;
use self::lists::Lists;
use self::persisted::Registration;
use self::variables::Inputs;
use self::walk::Walk;
use super::errors::{coded_error, codes, refused_before_execution};
use crate::config::{PersistedQueries, QueryLimits};

pub use self::persisted::Persisted;

/// A `QUERY_TOO_COMPLEX` refusal.
fn too_complex(message: String) -> ServerError {
    coded_error(codes::QUERY_TOO_COMPLEX, message)
}

/// The gate of one instance: its limits, what it knows of the schema's
/// lists, its parsed documents and its persisted queries.
pub struct Gate {
    limits: QueryLimits,
    lists: Lists,
    entities: Entities,
    inputs: Inputs,
    cache: Cache,
    persisted: Persisted,
}

/// An operation the gate let through, ready to run.
pub struct Admitted {
    /// The request, its parsed document set.
    pub request: Request,
    /// What the operation costs.
    pub cost: Cost,
    /// Its document, and whether it validated before.
    checked: Arc<Checked>,
    ty: OperationType,
    label: Arc<str>,
    /// A persisted query's text to keep once it has validated (which
    /// async-graphql does as it runs it).
    registration: Option<Registration>,
}

impl Admitted {
    /// Whether the operation is a mutation.
    pub fn is_mutation(&self) -> bool {
        self.ty == OperationType::Mutation
    }

    /// Whether the operation is a subscription.
    pub fn is_subscription(&self) -> bool {
        self.ty == OperationType::Subscription
    }

    /// The rate-limit tokens the operation draws beyond the one every
    /// operation draws: one per mutation field past the first (each is a
    /// transaction).
    pub fn extra_tokens(&self) -> usize {
        if self.is_mutation() {
            self.cost.top_fields.saturating_sub(1)
        } else {
            0
        }
    }

    /// The operation's name, or else its root fields (`products,viewer`):
    /// what metrics and logs call it.
    pub fn label(&self) -> &Arc<str> {
        &self.label
    }

    /// Whether its document validated before (see [`cache`]): it may skip
    /// async-graphql's validation rules.
    pub fn validated(&self) -> bool {
        self.checked.validated()
    }

    /// The request, what to record once it validated, and the persisted
    /// query to keep then.
    pub fn into_parts(self) -> (Request, Validation) {
        (
            self.request,
            Validation {
                checked: self.checked,
                registration: self.registration,
            },
        )
    }
}

/// What to record of an admitted operation once its response shows that
/// its document validated.
pub struct Validation {
    checked: Arc<Checked>,
    registration: Option<Registration>,
}

impl Validation {
    /// Whether a persisted query waits to be kept (then its text is needed).
    pub fn keeps_text(&self) -> bool {
        self.registration.is_some()
    }
}

impl Gate {
    /// The gate of a schema written as `sdl`, within `limits`, knowing the
    /// documents of `persisted`. Fails on a schema list whose bound the
    /// measure does not know ([`Lists::of`]).
    pub fn new(sdl: &str, limits: &QueryLimits, persisted: Persisted) -> Result<Self, String> {
        let schema = async_graphql::parser::parse_schema(sdl).map_err(|e| e.to_string())?;
        Ok(Self {
            limits: limits.clone(),
            lists: Lists::of(&schema)?,
            entities: Entities::of(&schema),
            inputs: Inputs::of(&schema),
            cache: Cache::default(),
            persisted,
        })
    }

    /// The persisted queries' set-up in one line, for the startup log.
    pub fn describe(&self, config: &PersistedQueries) -> String {
        self.persisted.describe(config)
    }

    /// Lets `request` through, with its document parsed and its cost; or
    /// the error that refuses it (see the module).
    pub fn admit(&self, mut request: Request) -> Result<Admitted, ServerError> {
        let registration = self.persisted.resolve(&mut request)?;
        let limits = &self.limits;
        text::check_variables(&request.variables, limits.max_nesting)?;
        let (checked, fresh) = match self.cache.get(&request.query) {
            Some(checked) => (checked, false),
            None => {
                text::check_nesting(&request.query, limits.max_nesting)?;
                let document = parse_query(&request.query)?;
                (Arc::new(Checked::new(document)), true)
            }
        };
        let document = &checked.document;
        let (name, operation) = select(document, request.operation_name.as_deref())?;
        self.inputs.check(operation, &request.variables)?;
        let mut walk = Walk::new(
            document,
            &self.lists,
            &self.entities,
            limits,
            &request.variables,
        );
        let cost = walk.operation(operation)?;
        if fresh {
            walk.document(operation, cost)?;
        }
        check(operation.ty, cost, limits)?;
        let ty = operation.ty;
        let label: Arc<str> = label(name, operation).into();
        if fresh {
            self.cache.put(&request.query, checked.clone());
        }
        request.set_parsed_query(document.clone());
        Ok(Admitted {
            request,
            cost,
            checked,
            ty,
            label,
            registration,
        })
    }

    /// Records what `response` shows of `validation`'s document: once it
    /// validated (it ran, or began to), it may skip validation from then
    /// on, and its persisted query (whose text is `text`) is kept.
    pub fn record(&self, validation: &mut Validation, text: Option<&str>, response: &Response) {
        if refused_before_execution(response) {
            return;
        }
        validation.checked.mark_validated();
        if let (Some(registration), Some(text)) = (validation.registration.take(), text) {
            self.persisted.register(registration, text);
        }
    }
}

/// The operation that `name` (or, without a name, the only one) selects in
/// `document`, with its name if it has one.
fn select<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
) -> Result<(Option<&'d str>, &'d OperationDefinition), ServerError> {
    let refuse = |message: String| Err(coded_error(codes::BAD_REQUEST, message));
    match (&document.operations, name) {
        (DocumentOperations::Single(operation), _) => Ok((None, &operation.node)),
        (DocumentOperations::Multiple(operations), Some(name)) => {
            match operations.iter().find(|(n, _)| n.as_str() == name) {
                Some((n, operation)) => Ok((Some(n.as_str()), &operation.node)),
                None => refuse(format!("Unknown operation named \"{name}\"")),
            }
        }
        (DocumentOperations::Multiple(operations), None) => {
            let mut all = operations.iter();
            match (all.next(), all.next()) {
                (Some((n, operation)), None) => Ok((Some(n.as_str()), &operation.node)),
                _ => refuse("Operation name required in request.".into()),
            }
        }
    }
}

/// Holds the selected operation's `cost` to `limits`.
fn check(ty: OperationType, cost: Cost, limits: &QueryLimits) -> Result<(), ServerError> {
    if cost.depth > limits.max_depth {
        return Err(too_complex(format!(
            "the query nests {} fields deep, at most {} are allowed",
            cost.depth, limits.max_depth
        )));
    }
    if cost.complexity > limits.max_complexity {
        return Err(too_complex(format!(
            "the query's complexity is {}, at most {} is allowed (every field counts 1, times the \
             items of each list around it)",
            cost.complexity, limits.max_complexity
        )));
    }
    if ty == OperationType::Mutation && cost.top_fields > limits.max_mutations {
        return Err(too_complex(format!(
            "the operation holds {} mutations, at most {} are allowed",
            cost.top_fields, limits.max_mutations
        )));
    }
    // The spec's "single root field" rule, which async-graphql does not
    // check: a second field would be silently dropped.
    if ty == OperationType::Subscription && cost.top_fields != 1 {
        return Err(coded_error(
            codes::BAD_REQUEST,
            format!(
                "a subscription selects exactly one root field, this one {}",
                cost.top_fields
            ),
        ));
    }
    Ok(())
}

/// The label of `operation`: its name when it has one, else the names (not
/// aliases) of its root fields, sorted and deduplicated, joined with commas.
fn label<'d>(name: Option<&'d str>, operation: &'d OperationDefinition) -> Cow<'d, str> {
    if let Some(name) = name {
        return Cow::Borrowed(name);
    }
    let mut names: Vec<&str> = operation
        .selection_set
        .node
        .items
        .iter()
        .filter_map(|item| match &item.node {
            Selection::Field(field) => Some(field.node.name.node.as_str()),
            _ => None,
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        Cow::Borrowed("fragments")
    } else {
        Cow::Owned(names.join(","))
    }
}

#[cfg(test)]
pub(crate) mod tests;
