//! `POST` and `GET /graphql`: authenticates the caller, enforces the batch
//! limit and the request timeout, runs the operations, and makes sure every
//! error carries an `extensions.code`.

use std::sync::Arc;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::{BatchRequest, BatchResponse, Request, Response as GqlResponse, Variables};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse, rejection::GraphQLRejection};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{ALLOW, AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::graphql::MAX_BATCH;
use crate::graphql::context::RequestData;
use crate::graphql::errors::{assign_codes, codes, error_response};
use crate::graphql::loaders::Loaders;
use crate::startup::AppState;

/// `POST /graphql`: a JSON body holding one operation or a batch.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<GraphQLBatchRequest, GraphQLRejection>,
) -> Response {
    let batch = request
        .map(GraphQLBatchRequest::into_inner)
        .map_err(reject_body);
    execute(&state, &headers, batch).await
}

/// The query string of `GET /graphql` (GraphQL over HTTP): `variables` and
/// `extensions` are JSON text. Read here rather than by async-graphql-axum,
/// whose GET reader expects `operation_name` instead of `operationName`.
#[derive(Deserialize)]
pub struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

/// `GET /graphql`: one query in the query string. GET must be safe to
/// repeat, cache and prefetch, so a mutation is refused (405, use POST).
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<GetParams>, QueryRejection>,
) -> Response {
    let request = params
        .map_err(|e| format!("not a GraphQL request: {}", e.body_text()))
        .and_then(|Query(params)| get_request(params))
        .map_err(bad_request);
    let request = match request {
        Ok(request) if is_mutation(&request) => {
            let body = error_response(codes::BAD_REQUEST, "mutations must be sent with POST");
            let refusal = (
                StatusCode::METHOD_NOT_ALLOWED,
                [(ALLOW, "POST")],
                GraphQLResponse::from(body),
            );
            Err(refusal.into_response())
        }
        other => other,
    };
    execute(&state, &headers, request.map(BatchRequest::Single)).await
}

/// The request that GET parameters describe, or why they describe none.
fn get_request(params: GetParams) -> Result<Request, String> {
    let query = params
        .query
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| "the query parameter is missing".to_owned())?;
    let mut request = Request::new(query);
    request.operation_name = params.operation_name;
    if let Some(text) = params.variables {
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("variables are not JSON: {e}"))?;
        request.variables = Variables::from_json(json);
    }
    if let Some(text) = params.extensions {
        request.extensions = serde_json::from_str(&text)
            .map_err(|e| format!("extensions are not a JSON object: {e}"))?;
    }
    Ok(request)
}

/// Authenticates the caller, enforces the batch limit and the request
/// timeout, runs the operations, and gives every error a code. `batch` is
/// the request, or the response that refuses it (sent once the caller's
/// credentials have been checked).
async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    batch: Result<BatchRequest, Response>,
) -> Response {
    let header = headers
        .get(AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default());
    let caller = match state.auth.authenticate(header) {
        Ok(caller) => caller,
        Err(err) => {
            tracing::debug!(?err, "rejected credentials");
            let body = error_response(codes::UNAUTHENTICATED, "invalid or expired bearer token");
            return (
                StatusCode::UNAUTHORIZED,
                [(WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")],
                GraphQLResponse::from(body),
            )
                .into_response();
        }
    };
    let batch = match batch {
        Ok(batch) => batch,
        Err(refusal) => return refusal,
    };
    if let BatchRequest::Batch(operations) = &batch {
        if operations.len() > MAX_BATCH {
            let message = format!("a batch may hold at most {MAX_BATCH} operations");
            return GraphQLResponse::from(error_response(codes::QUERY_TOO_COMPLEX, message))
                .into_response();
        }
        if operations.is_empty() {
            return GraphQLResponse::from(error_response(codes::BAD_REQUEST, "empty batch"))
                .into_response();
        }
    }

    let data = Arc::new(RequestData {
        caller,
        loaders: Loaders::new(&state.services.db.pool),
    });
    let run = state.schema.execute_batch(batch.data(data));
    let mut response = match tokio::time::timeout(state.services.config.request_timeout, run).await
    {
        Ok(response) => response,
        Err(_) => BatchResponse::Single(error_response(
            codes::SERVICE_UNAVAILABLE,
            "the request took too long; please retry",
        )),
    };
    match &mut response {
        BatchResponse::Single(r) => assign_codes(r),
        BatchResponse::Batch(rs) => rs.iter_mut().for_each(assign_codes),
    }
    GraphQLResponse::from(response).into_response()
}

/// Whether the operation that `request` selects is a mutation. A document
/// that does not parse is not one: execution reports its syntax error.
fn is_mutation(request: &Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let selected = match &document.operations {
        DocumentOperations::Single(operation) => Some(operation),
        DocumentOperations::Multiple(operations) => request
            .operation_name
            .as_deref()
            .and_then(|name| operations.iter().find(|(n, _)| n.as_str() == name))
            .map(|(_, operation)| operation),
    };
    selected.is_some_and(|operation| operation.node.ty == OperationType::Mutation)
}

/// A body that is not a GraphQL request: 413 when too large, else 400.
fn reject_body(rejection: GraphQLRejection) -> Response {
    let message = rejection.0.to_string();
    let (status, text) = if message.contains("length limit") {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is too large".to_owned(),
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            format!("not a GraphQL request: {message}"),
        )
    };
    let body: GqlResponse = error_response(codes::BAD_REQUEST, text);
    (status, GraphQLResponse::from(body)).into_response()
}

/// A 400 answer with a `BAD_REQUEST` error.
fn bad_request(message: String) -> Response {
    let body = error_response(codes::BAD_REQUEST, message);
    (StatusCode::BAD_REQUEST, GraphQLResponse::from(body)).into_response()
}
