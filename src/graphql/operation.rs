//! Running one GraphQL operation: [`Operations::admit`] lets it through
//! the gate ([`super::gate`]: may it run, what does it cost?), then
//! [`Operations::run`] (or [`Operations::subscribe`]) executes it with the
//! request's data, counted and timed under its label. Between the two the
//! transport may refuse it (a GET mutation, the rate limit).
//!
//! The label is the `operationName` when the operation has one, else its
//! root fields (`payOrder`, `products,viewer`), or `invalid` for a document
//! that does not pass or validate; bounded by [`Metrics::client_label`].
//! It is also recorded on the request's log span (`operation`), so every
//! log line of the request carries it beside the request id.
//!
//! This is done around execution rather than in an async-graphql extension
//! on purpose: any extension makes async-graphql run every field through
//! the extension chain, a cost paid per field of every response.
//! `graphql::inline` also counts on the schema having no extension: it
//! resolves fields without the chain (a test in `graphql` keeps it so).

use std::sync::Arc;
use std::time::Instant;

use async_graphql::futures_util::stream::{BoxStream, StreamExt};
use async_graphql::{Request, Response, ServerError};
use tracing::Instrument;

use super::AppSchema;
use super::context::RequestData;
use super::errors::refused_before_execution;
use super::gate::{Admitted, Gate};
use crate::auth::Principal;
use crate::db::{Db, Reads};
use crate::metrics::{Metrics, Operation, OperationOutcome, Outcome};

/// Runs this instance's GraphQL operations.
pub struct Operations {
    /// The schema.
    schema: AppSchema,
    /// The same schema without async-graphql's validation rules (its limits
    /// still apply), for documents that validated before on `schema`
    /// ([`Admitted::validated`]).
    prevalidated: AppSchema,
    /// What every operation passes first.
    gate: Gate,
    metrics: Arc<Metrics>,
    /// The label of the operations refused before execution.
    invalid: Arc<str>,
}

impl Operations {
    /// Operations over `schema` (and `prevalidated`, the same schema in
    /// async-graphql's fast validation mode), let through `gate`, counted
    /// in `metrics`.
    pub fn new(
        schema: AppSchema,
        prevalidated: AppSchema,
        gate: Gate,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            schema,
            prevalidated,
            gate,
            metrics,
            invalid: Arc::from("invalid"),
        }
    }

    /// Lets `request` through the gate, or says why not.
    pub fn admit(&self, request: Request) -> Result<Admitted, ServerError> {
        self.gate.admit(request)
    }

    /// Runs the subscription `admitted` for `caller` as the stream of its
    /// updates. The reads of each update borrow a pooled connection (none
    /// is held between updates), and no DataLoader caches rows across
    /// updates.
    pub fn subscribe(
        self: &Arc<Self>,
        db: &Db,
        admitted: Admitted,
        caller: Option<Principal>,
    ) -> BoxStream<'static, Response> {
        let (request, mut validation) = admitted.into_parts();
        let text = validation.keeps_text().then(|| request.query.clone());
        let data = RequestData::new(caller, Reads::pooled(&db.pool));
        // Always fully validated: a subscription runs for long, and once.
        let updates = self.schema.execute_stream(request.data(Arc::new(data)));
        let operations = self.clone();
        let mut first = true;
        updates
            .inspect(move |response| {
                if std::mem::take(&mut first) {
                    operations
                        .gate
                        .record(&mut validation, text.as_deref(), response);
                }
            })
            .boxed()
    }

    /// Answers a request that the gate refused, counted as `invalid`.
    pub fn refuse(&self, error: ServerError) -> Response {
        let _record = Record {
            metrics: &self.metrics,
            label: self.invalid.clone(),
            started: Instant::now(),
            outcome: Outcome::Error,
        };
        Response::from_errors(vec![error])
    }

    /// Runs `admitted` for `caller`, counted and timed; its reads go to
    /// `db` ([`Reads`]: one shared connection for a query).
    pub async fn run(&self, db: &Db, admitted: Admitted, caller: Option<Principal>) -> Response {
        // Recorded when dropped, so that an operation abandoned mid-way (the
        // request timeout, a client gone) is counted too, as `cancelled`.
        let mut record = Record {
            metrics: &self.metrics,
            label: self.metrics.client_label(admitted.label()),
            started: Instant::now(),
            outcome: Outcome::Cancelled,
        };
        tracing::Span::current().record("operation", &*record.label);
        // The operation's own span: its kind and (bounded) name, never its
        // variables, which may hold anything a client sends.
        let kind = if admitted.is_mutation() {
            "mutation"
        } else {
            "query"
        };
        let span = tracing::info_span!(
            "graphql",
            otel.name = %format_args!("{kind} {}", record.label),
            graphql.operation.type = kind,
            graphql.operation.name = %record.label,
        );
        self.execute(db, admitted, caller, &mut record)
            .instrument(span)
            .await
    }

    /// The body of [`Operations::run`], in the operation's span.
    async fn execute(
        &self,
        db: &Db,
        admitted: Admitted,
        caller: Option<Principal>,
        record: &mut Record<'_>,
    ) -> Response {
        let reads = if admitted.is_mutation() {
            Reads::pooled(&db.pool)
        } else {
            db.query_reads()
        };
        // A document that validated before skips the rules that would
        // only pass it again.
        let schema = if admitted.validated() {
            &self.prevalidated
        } else {
            &self.schema
        };
        let (request, mut validation) = admitted.into_parts();
        let text = validation.keeps_text().then(|| request.query.clone());
        let data = Arc::new(RequestData::new(caller, reads));
        let response = schema.execute(request.data(data.clone())).await;
        data.reads.finish(response.errors.is_empty()).await;
        self.gate
            .record(&mut validation, text.as_deref(), &response);
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
