//! Running one GraphQL operation in two steps: [`Operations::prepare`]
//! finds the text of a document named by its hash ([`super::persisted`]),
//! checks it against the limits async-graphql lacks ([`super::limits`],
//! [`super::complexity`]) and parses its document once per instance
//! ([`super::documents`]); [`Operations::run`] executes it with
//! the request's data, counted and timed under a label naming it. Between
//! the two the HTTP layer may refuse it (a GET mutation, the rate limit).
//!
//! The label is the `operationName` when the operation has one, else its
//! root fields (`payOrder`, `products,viewer`), or `invalid` for a document
//! that does not parse or validate; bounded by [`Metrics::client_label`].
//! It is also recorded on the request's log span (`operation`), so every
//! log line of the request carries it beside the request id.
//!
//! This is done around execution rather than in an async-graphql extension
//! on purpose: any extension makes async-graphql run every field through
//! the extension chain, a cost paid per field of every response.
//! `graphql::inline` also counts on the schema having no extension: it
//! resolves fields without the chain (a test in `graphql` keeps it so).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use async_graphql::futures_util::stream::{BoxStream, StreamExt};
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
};
use async_graphql::{Request, Response, ServerError};

use super::AppSchema;
use super::complexity::{self, Shape};
use super::context::RequestData;
use super::documents::{Documents, Kept};
use super::errors::refused_before_execution;
use super::limits::{self, Cost};
use super::persisted::{Persisted, Registration};
use crate::auth::Principal;
use crate::config::Limits;
use crate::db::{Db, Reads};
use crate::metrics::{Metrics, Operation, OperationOutcome, Outcome};

/// Runs this instance's GraphQL operations.
pub struct Operations {
    /// The schema.
    schema: AppSchema,
    documents: Documents,
    /// Documents named by their hash.
    persisted: Persisted,
    metrics: Arc<Metrics>,
    /// The label of the operations refused before execution.
    invalid: Arc<str>,
    limits: Limits,
    /// What the depth and complexity measure knows of the schema.
    shape: Shape,
}

/// An operation whose document parsed and passed the limits, ready to run.
pub struct Prepared {
    request: Request,
    kept: Arc<Kept>,
    /// A persisted query's text to keep once it has validated (which
    /// async-graphql does as it runs it).
    registration: Option<Registration>,
}

impl Prepared {
    /// How the operation counts against the limits (and the rate limit).
    pub fn cost(&self) -> Cost {
        self.kept.cost(self.request.operation_name.as_deref())
    }

    /// Whether the operation the request selects is a mutation.
    pub fn is_mutation(&self) -> bool {
        self.ty() == Some(OperationType::Mutation)
    }

    /// Whether the operation the request selects is a subscription.
    pub fn is_subscription(&self) -> bool {
        self.ty() == Some(OperationType::Subscription)
    }

    fn ty(&self) -> Option<OperationType> {
        selected(self.kept.document(), self.request.operation_name.as_deref())
            .map(|(_, operation)| operation.ty)
    }
}

impl Operations {
    /// Operations over `schema`, within `limits`, counted in `metrics`,
    /// their documents sent as text or named through `persisted`.
    ///
    /// Fails when the schema has a list whose bound the complexity measure
    /// does not know ([`complexity::Shape::of`]).
    pub fn new(
        schema: AppSchema,
        limits: &Limits,
        metrics: Arc<Metrics>,
        persisted: Persisted,
    ) -> Result<Self, String> {
        let shape = Shape::of(&schema.sdl())?;
        Ok(Self {
            schema,
            documents: Documents::new(limits.clone()),
            persisted,
            metrics,
            invalid: Arc::from("invalid"),
            limits: limits.clone(),
            shape,
        })
    }

    /// Gives `request` the text of the persisted query it names, parses
    /// its document (or finds it parsed before) and checks it and its
    /// variables against the limits; a document that fails is never handed
    /// to async-graphql (see [`super::limits`]), nor kept as a persisted
    /// query (one that passes is kept once it has validated, as it runs).
    pub fn prepare(&self, mut request: Request) -> Result<Prepared, ServerError> {
        // First, as a document named by its hash is only known once found;
        // it then meets every guard a document sent as text does.
        let registration = self.persisted.resolve(&mut request)?;
        limits::check_variables(&request.variables, self.limits.max_nesting)?;
        let kept = self.documents.prepare(&mut request)?;
        let name = request.operation_name.as_deref();
        if let Some(measure) = self
            .shape
            .measure(kept.document(), name, &request.variables)
        {
            complexity::check(measure, &self.limits)?;
        }
        Ok(Prepared {
            request,
            kept,
            registration,
        })
    }

    /// Keeps the persisted query of `registration` if `response` shows that
    /// its document validated (it ran, or began to).
    fn keep_validated(&self, registration: Option<Registration>, text: &str, response: &Response) {
        if let Some(registration) = registration
            && !refused_before_execution(response)
        {
            self.persisted.register(registration, text);
        }
    }

    /// Runs the subscription `prepared` for `caller` as the stream of its
    /// updates. The reads of each update borrow a pooled connection (none
    /// is held between updates), and no DataLoader caches rows across
    /// updates.
    pub fn subscribe(
        self: &Arc<Self>,
        db: &Db,
        prepared: Prepared,
        caller: Option<Principal>,
    ) -> BoxStream<'static, Response> {
        let Prepared {
            request,
            registration,
            ..
        } = prepared;
        let text = request.query.clone();
        let data = RequestData::new(caller, Reads::pooled(&db.pool));
        let updates = self.schema.execute_stream(request.data(Arc::new(data)));
        let mut registration = registration;
        let operations = self.clone();
        updates
            .inspect(move |response| {
                operations.keep_validated(registration.take(), &text, response);
            })
            .boxed()
    }

    /// Answers a request that [`Operations::prepare`] refused, counted as
    /// `invalid`.
    pub fn refuse(&self, error: ServerError) -> Response {
        let _record = Record {
            metrics: &self.metrics,
            label: self.invalid.clone(),
            started: Instant::now(),
            outcome: Outcome::Error,
        };
        Response::from_errors(vec![error])
    }

    /// Runs `prepared` for `caller`, counted and timed; its reads go to
    /// `db` ([`Reads`]: one shared connection unless it is a mutation).
    pub async fn run(&self, db: &Db, prepared: Prepared, caller: Option<Principal>) -> Response {
        let Prepared {
            request,
            kept,
            registration,
        } = prepared;
        let text = registration.is_some().then(|| request.query.clone());
        let name = request.operation_name.as_deref();
        // Recorded when dropped, so that an operation abandoned mid-way (the
        // request timeout, a client gone) is counted too, as `cancelled`.
        let mut record = Record {
            metrics: &self.metrics,
            label: self.metrics.client_label(&label(kept.document(), name)),
            started: Instant::now(),
            outcome: Outcome::Cancelled,
        };
        tracing::Span::current().record("operation", &*record.label);
        let is_query = selected(kept.document(), name)
            .is_some_and(|(_, operation)| operation.ty != OperationType::Mutation);
        let reads = if is_query {
            db.query_reads()
        } else {
            Reads::pooled(&db.pool)
        };
        let data = Arc::new(RequestData::new(caller, reads));
        let response = self.schema.execute(request.data(data.clone())).await;
        data.reads.finish(response.errors.is_empty()).await;
        if let Some(text) = text {
            self.keep_validated(registration, &text, &response);
        }
        if refused_before_execution(&response) {
            record.label = self.invalid.clone();
        }
        record.outcome = if response.errors.is_empty() {
            Outcome::Ok
        } else {
            Outcome::Error
        };
        response
    }
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
fn label<'d>(document: &'d ExecutableDocument, name: Option<&str>) -> Cow<'d, str> {
    match selected(document, name) {
        Some((Some(name), _)) => Cow::Borrowed(name),
        Some((None, operation)) => Cow::Owned(root_fields(operation)),
        None => Cow::Borrowed("invalid"),
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
    label: Arc<str>,
    started: Instant,
    outcome: Outcome,
}

impl Drop for Record<'_> {
    fn drop(&mut self) {
        let operation = self.label.clone();
        self.metrics
            .graphql_requests
            .get_or_create(&OperationOutcome {
                operation: operation.clone(),
                outcome: self.outcome,
            })
            .inc();
        self.metrics
            .graphql_request_duration_seconds
            .get_or_create(&Operation { operation })
            .observe(self.started.elapsed().as_secs_f64());
    }
}
