//! `POST` and `GET /graphql`: authenticates the caller, enforces the batch
//! limit and the request timeout, runs the operations, and makes sure every
//! error carries an `extensions.code`.

use std::sync::Arc;

use async_graphql::{BatchRequest, BatchResponse, Response as GqlResponse};
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse, rejection::GraphQLRejection};
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::graphql::MAX_BATCH;
use crate::graphql::context::RequestData;
use crate::graphql::errors::{assign_codes, codes, error_response};
use crate::graphql::loaders::Loaders;
use crate::startup::AppState;

/// Handles one GraphQL-over-HTTP request (a single operation or a batch).
pub async fn handle(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<GraphQLBatchRequest, GraphQLRejection>,
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
    let batch = match request {
        Ok(request) => request.into_inner(),
        Err(rejection) => return reject_body(rejection),
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
