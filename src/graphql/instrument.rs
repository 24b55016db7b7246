//! Per-operation metrics and log fields, as an async-graphql extension.
//!
//! Every request is counted (by outcome: ok, error, or cancelled when the
//! request timeout or a vanished client abandons it) and timed under a label
//! naming its operation:
//! the `operationName` when the operation has one, else its root fields
//! (`payOrder`, `viewer,products`). The label is also recorded on the
//! request's log span (`operation`), so every log line of the request
//! carries it beside the request id. Names come from clients, so labels are
//! bounded: at most [`MAX_LABELS`] distinct ones per instance, each at most
//! [`MAX_LABEL_LEN`] characters; the rest are counted as `other`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
};
use async_graphql::parser::types::{ExecutableDocument, OperationDefinition, Selection};
use async_graphql::{Response, ServerResult, Variables};

use crate::metrics::Metrics;

/// The most distinct operation labels an instance keeps.
pub const MAX_LABELS: usize = 256;
/// The longest operation label.
pub const MAX_LABEL_LEN: usize = 100;

/// Creates the per-request extension; holds the labels seen so far.
pub struct Instrument {
    metrics: Arc<Metrics>,
    labels: Arc<Mutex<HashSet<String>>>,
}

impl Instrument {
    /// Counts and times operations into `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            labels: Arc::default(),
        }
    }
}

impl ExtensionFactory for Instrument {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PerRequest {
            metrics: self.metrics.clone(),
            labels: self.labels.clone(),
            operations: Mutex::default(),
            chosen: Mutex::default(),
        })
    }
}

struct PerRequest {
    metrics: Arc<Metrics>,
    labels: Arc<Mutex<HashSet<String>>>,
    /// The document's operations: name (None when anonymous) to label.
    operations: Mutex<HashMap<Option<String>, String>>,
    /// The label of the operation executed.
    chosen: Mutex<Option<String>>,
}

impl PerRequest {
    /// `label` itself while under the bounds, else `other`.
    fn bounded(&self, label: String) -> String {
        if label.len() > MAX_LABEL_LEN {
            return "other".into();
        }
        let mut seen = self.labels.lock().unwrap_or_else(|p| p.into_inner());
        if seen.contains(&label) || seen.len() < MAX_LABELS {
            seen.insert(label.clone());
            label
        } else {
            "other".into()
        }
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for PerRequest {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        // Records on drop, so that a request abandoned mid-way (the request
        // timeout, a client gone) is counted too, as `cancelled`.
        let mut record = Record {
            owner: self,
            started: Instant::now(),
            outcome: "cancelled",
        };
        let response = next.run(ctx).await;
        record.outcome = if response.errors.is_empty() {
            "ok"
        } else {
            "error"
        };
        response
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let operations = document
            .operations
            .iter()
            .map(|(name, op)| {
                let name = name.map(|n| n.to_string());
                let label = name.clone().unwrap_or_else(|| root_fields(&op.node));
                (name, label)
            })
            .collect();
        *self.operations.lock().unwrap_or_else(|p| p.into_inner()) = operations;
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let label = {
            let operations = self.operations.lock().unwrap_or_else(|p| p.into_inner());
            match operation_name {
                Some(name) => operations.get(&Some(name.to_owned())).cloned(),
                // Without a name the document holds a single operation.
                None => operations.values().next().cloned(),
            }
        };
        let label = self.bounded(label.unwrap_or_else(|| "invalid".into()));
        tracing::Span::current().record("operation", label.as_str());
        *self.chosen.lock().unwrap_or_else(|p| p.into_inner()) = Some(label);
        next.run(ctx, operation_name).await
    }
}

/// Counts and times one request when dropped.
struct Record<'a> {
    owner: &'a PerRequest,
    started: Instant,
    outcome: &'static str,
}

impl Drop for Record<'_> {
    fn drop(&mut self) {
        let chosen = self
            .owner
            .chosen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        // A request that never reached execution did not parse or validate.
        let label = chosen.unwrap_or_else(|| "invalid".into());
        let metrics = &self.owner.metrics;
        metrics.inc(
            "graphql_requests_total",
            &[("operation", label.as_str()), ("outcome", self.outcome)],
        );
        metrics.observe(
            "graphql_request_duration_seconds",
            &[("operation", label.as_str())],
            self.started.elapsed(),
        );
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
