//! Running one GraphQL operation: its document parsed once per instance
//! (and validated once, when it has no variables: [`super::documents`]),
//! checked against the limits async-graphql lacks ([`super::limits`]), then
//! executed with the request's data, and counted and timed under a label
//! naming it.
//!
//! The label is the `operationName` when the operation has one, else its
//! root fields (`payOrder`, `products,viewer`), or `invalid` for a document
//! that does not parse or validate; bounded by [`Metrics::client_label`].
//! It is also recorded on the request's log span (`operation`), so every
//! log line of the request carries it beside the request id.
//!
//! This is done around execution rather than in an async-graphql extension
//! on purpose: any extension makes async-graphql run every field through
//! the extension chain, which cost a nested read (hundreds of fields) a
//! sizeable share of its CPU (docs/benchmarks.md). `graphql::inline` also
//! counts on the schema having no extension: it resolves fields without
//! the chain.

use std::sync::Arc;
use std::time::Instant;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
};
use async_graphql::{Request, Response, Value};

use super::AppSchema;
use super::context::RequestData;
use super::documents::Documents;
use super::limits;
use crate::auth::Principal;
use crate::db::{Db, Reads};
use crate::metrics::Metrics;

/// Runs this instance's GraphQL operations.
pub struct Operations {
    /// The schema, validating every rule.
    schema: AppSchema,
    /// The same schema checking only the limits, for documents known to be
    /// valid (see [`Documents`]): validation was the largest single cost of
    /// a small query after parsing (docs/benchmarks.md).
    prevalidated: AppSchema,
    documents: Documents,
    metrics: Arc<Metrics>,
}

impl Operations {
    /// Operations over `schema` and `prevalidated` (the same schema built
    /// with [`super::build_prevalidated_schema`]), counted in `metrics`.
    pub fn new(schema: AppSchema, prevalidated: AppSchema, metrics: Arc<Metrics>) -> Self {
        Self {
            schema,
            prevalidated,
            documents: Documents::default(),
            metrics,
        }
    }

    /// Whether the operation `request` selects is a mutation. A document
    /// that does not parse is not one (execution reports its syntax error);
    /// the parsed document stays in the request, so it is parsed once.
    pub fn selects_mutation(&self, request: &mut Request) -> bool {
        self.documents.prepare(request);
        let name = request.operation_name.clone();
        let Ok(document) = request.parsed_query() else {
            return false;
        };
        selected(document, name.as_deref())
            .is_some_and(|(_, operation)| operation.ty == OperationType::Mutation)
    }

    /// Runs `request` for `caller`, counted and timed; its reads go to
    /// `db` ([`Reads`]: one shared connection unless it is a mutation).
    pub async fn run(&self, db: &Db, mut request: Request, caller: Option<Principal>) -> Response {
        // Recorded when dropped, so that an operation abandoned mid-way (the
        // request timeout, a client gone) is counted too, as `cancelled`.
        let mut record = Record {
            metrics: &self.metrics,
            label: "invalid".into(),
            started: Instant::now(),
            outcome: "cancelled",
        };
        let kept = self.documents.prepare(&mut request);
        // A document that does not parse is left to the schema, which
        // reports the syntax error.
        let name = request.operation_name.clone();
        let mut reads = Reads::pooled(&db.pool);
        if let Ok(document) = request.parsed_query() {
            if let Err(error) = limits::check_mutations(document) {
                record.outcome = "error";
                return Response::from_errors(vec![error]);
            }
            record.label = self.metrics.client_label(&label(document, name.as_deref()));
            tracing::Span::current().record("operation", record.label.as_str());
            let is_query = selected(document, name.as_deref())
                .is_some_and(|(_, operation)| operation.ty != OperationType::Mutation);
            if is_query {
                reads = Reads::shared(&db.pool, &db.warm_reads);
            }
        }
        // Without variables, a document's validity is a property of its
        // text: once valid, always valid on this schema.
        let without_variables = request.variables.is_empty();
        let known_valid = without_variables && kept.as_ref().is_some_and(|k| k.is_valid());
        let schema = if known_valid {
            &self.prevalidated
        } else {
            &self.schema
        };
        let data = Arc::new(RequestData::new(caller, reads));
        let response = schema.execute(request.data(data.clone())).await;
        data.reads.finish(response.errors.is_empty()).await;
        if refused_before_execution(&response) {
            record.label = "invalid".into();
        } else if without_variables && let Some(kept) = kept {
            kept.mark_valid();
        }
        record.outcome = if response.errors.is_empty() {
            "ok"
        } else {
            "error"
        };
        response
    }
}

/// Refused before execution: no data, and no error of a field (an error of
/// execution carries its field's `path`, even when it nulls all of `data`).
/// The HTTP layer narrows it by error code (`http::graphql`).
pub fn refused_before_execution(response: &Response) -> bool {
    response.data == Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}

/// The operation that `name` (or, without a name, the only one) selects in
/// `document`, with its name if it has one.
fn selected<'d>(
    document: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'d str>, &'d OperationDefinition)> {
    match &document.operations {
        DocumentOperations::Single(operation) => Some((None, &operation.node)),
        DocumentOperations::Multiple(operations) => operations
            .iter()
            .find(|(n, _)| name.is_none_or(|name| n.as_str() == name))
            .filter(|_| name.is_some() || operations.len() == 1)
            .map(|(n, operation)| (Some(n.as_str()), &operation.node)),
    }
}

/// The label of the operation `name` selects in `document`: its name when
/// it has one, else its root fields.
fn label(document: &ExecutableDocument, name: Option<&str>) -> String {
    match selected(document, name) {
        Some((Some(name), _)) => name.to_owned(),
        Some((None, operation)) => root_fields(operation),
        None => "invalid".into(),
    }
}

/// The names (not aliases) of an operation's root fields, sorted and
/// deduplicated, joined with commas.
fn root_fields(operation: &OperationDefinition) -> String {
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
        "fragments".into()
    } else {
        names.join(",")
    }
}

/// Counts and times one operation when dropped.
struct Record<'a> {
    metrics: &'a Metrics,
    label: String,
    started: Instant,
    outcome: &'static str,
}

impl Drop for Record<'_> {
    fn drop(&mut self) {
        let label = self.label.as_str();
        self.metrics.inc(
            "graphql_requests_total",
            &[("operation", label), ("outcome", self.outcome)],
        );
        self.metrics.observe(
            "graphql_request_duration_seconds",
            &[("operation", label)],
            self.started.elapsed(),
        );
    }
}
