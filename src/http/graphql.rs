//! `POST` and `GET /graphql`: authenticates the caller, enforces the batch
//! limit and the request timeout, runs the operations, makes sure every
//! error carries an `extensions.code`, and answers as the GraphQL over HTTP
//! spec asks (checked by the graphql-http audits that CI runs,
//! `.ci/graphql-http-audit`):
//!
//! - **Media type.** A client whose `Accept` prefers
//!   `application/graphql-response+json` gets that type; every other client
//!   (`application/json`, `*/*`, no `Accept`, or nothing we can produce) gets
//!   `application/json`. See [`MediaType::negotiate`].
//! - **Request errors**, those raised before execution begins (a document
//!   that does not parse or validate, variables that do not coerce, a limit
//!   exceeded, a batch refused), come back with `errors` and no `data` entry,
//!   as the GraphQL spec says. With `application/graphql-response+json` they
//!   are 400, so that every intermediary sees the failure; with
//!   `application/json` they are 200, because legacy clients only read a
//!   GraphQL body from a 200. See [`is_request_error`].
//! - **Malformed HTTP requests** (no or another `Content-Type`, a body that
//!   is not JSON, no `query`, a parameter of the wrong type), bad tokens,
//!   mutations over GET and oversized bodies are 4xx whatever the `Accept`:
//!   they are not GraphQL requests we could run. See [`Refusal`].
//! - A batch (a JSON array) answers 200 with one result per operation.

use std::collections::BTreeMap;

use async_graphql::futures_util::future::join_all;
use async_graphql::{
    BatchRequest, BatchResponse, Request, Response as GqlResponse, ServerError, Value, Variables,
};
use async_graphql_axum::{GraphQLBatchRequest, rejection::GraphQLRejection};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{
    ACCEPT, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, VARY, WWW_AUTHENTICATE,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::media_type::{JSON, MediaType};
use crate::graphql::MAX_BATCH;
use crate::graphql::errors::{assign_codes, codes, error_response};
use crate::graphql::operation;
use crate::startup::AppState;

/// `POST /graphql`: a JSON body holding one operation or a batch.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: Result<GraphQLBatchRequest, GraphQLRejection>,
) -> Response {
    let media = MediaType::negotiate(&headers);
    let batch = require_json_body(&headers)
        .and_then(|()| {
            request
                .map(GraphQLBatchRequest::into_inner)
                .map_err(reject_body)
        })
        .and_then(require_queries);
    execute(&state, &headers, media, batch).await
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
    let media = MediaType::negotiate(&headers);
    let request = params
        .map_err(|e| format!("not a GraphQL request: {}", e.body_text()))
        .and_then(|Query(params)| get_request(params))
        .map_err(bad_request)
        .and_then(|mut request| {
            if state.operations.selects_mutation(&mut request) {
                Err(Refusal::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    codes::BAD_REQUEST,
                    "mutations must be sent with POST",
                )
                .with_header(ALLOW, "POST"))
            } else {
                Ok(request)
            }
        });
    execute(&state, &headers, media, request.map(BatchRequest::Single)).await
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
/// timeout, runs the operations, gives every error a code, and answers in
/// `media`. `batch` is the request, or the refusal that answers it (sent
/// once the caller's credentials have been checked).
async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    media: MediaType,
    batch: Result<BatchRequest, Refusal>,
) -> Response {
    let header = headers
        .get(AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default());
    let caller = match state.auth.authenticate(header) {
        Ok(caller) => caller,
        Err(err) => {
            tracing::debug!(?err, "rejected credentials");
            return Refusal::new(
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHENTICATED,
                "invalid or expired bearer token",
            )
            .with_header(WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")
            .into_response(media);
        }
    };
    let batch = match batch {
        Ok(batch) => batch,
        Err(refusal) => return refusal.into_response(media),
    };
    // A refused batch is a request error like an invalid document: 400 or
    // 200 depending on the media type (see `status`).
    if let BatchRequest::Batch(operations) = &batch {
        if operations.len() > MAX_BATCH {
            let message = format!("a batch may hold at most {MAX_BATCH} operations");
            let response = error_response(codes::QUERY_TOO_COMPLEX, message);
            return answer(media, BatchResponse::Single(response));
        }
        if operations.is_empty() {
            let response = error_response(codes::BAD_REQUEST, "empty batch");
            return answer(media, BatchResponse::Single(response));
        }
    }

    // A batch that times out still answers one result per operation.
    let operations = match &batch {
        BatchRequest::Single(_) => None,
        BatchRequest::Batch(operations) => Some(operations.len()),
    };
    let run = async {
        let db = &state.services.db;
        let run_one = |request| state.operations.run(db, request, caller.clone());
        match batch {
            BatchRequest::Single(request) => BatchResponse::Single(run_one(request).await),
            // Side by side, in order, as async-graphql runs a batch.
            BatchRequest::Batch(requests) => {
                let runs = requests.into_iter().map(run_one);
                BatchResponse::Batch(join_all(runs).await)
            }
        }
    };
    let mut response = match tokio::time::timeout(state.services.config.request_timeout, run).await
    {
        Ok(response) => response,
        Err(_) => {
            let timed_out = || {
                error_response(
                    codes::SERVICE_UNAVAILABLE,
                    "the request took too long; please retry",
                )
            };
            match operations {
                None => BatchResponse::Single(timed_out()),
                Some(n) => BatchResponse::Batch((0..n).map(|_| timed_out()).collect()),
            }
        }
    };
    // Before `answer`: telling request errors apart relies on the codes.
    match &mut response {
        BatchResponse::Single(r) => assign_codes(r),
        BatchResponse::Batch(rs) => rs.iter_mut().for_each(assign_codes),
    }
    answer(media, response)
}

/// A POST body must be declared as JSON (`application/json`, with any
/// parameters, such as `charset=utf-8`). Without the check a body with no
/// `Content-Type` would be read as JSON all the same, which the spec asks
/// servers to refuse (4xx); 415 also tells the client what to send.
fn require_json_body(headers: &HeaderMap) -> Result<(), Refusal> {
    let essence = headers
        .get(CONTENT_TYPE)
        .map(|value| {
            value
                .to_str()
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|essence| !essence.is_empty());
    let message = match essence.as_deref() {
        Some(JSON) => return Ok(()),
        Some(other) => format!("a body of type {other} is not supported; send {JSON}"),
        None => format!("the Content-Type header is missing; send {JSON}"),
    };
    Err(Refusal::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        codes::BAD_REQUEST,
        message,
    )
    .with_header(ACCEPT, JSON))
}

/// Every operation needs a `query`. async-graphql reads a missing one as an
/// empty document, which would then fail as a syntax error (a GraphQL error,
/// 200 with `application/json`); the spec makes it a malformed request (400),
/// as it is for GET.
fn require_queries(batch: BatchRequest) -> Result<BatchRequest, Refusal> {
    let missing = match &batch {
        BatchRequest::Single(request) => request.query.trim().is_empty(),
        BatchRequest::Batch(requests) => requests.iter().any(|r| r.query.trim().is_empty()),
    };
    if missing {
        Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            codes::BAD_REQUEST,
            "the query parameter is missing",
        ))
    } else {
        Ok(batch)
    }
}

/// A body that is not a GraphQL request: 413 when too large, else 400.
fn reject_body(rejection: GraphQLRejection) -> Refusal {
    let message = rejection.0.to_string();
    if message.contains("length limit") {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::BAD_REQUEST,
            "the request body is too large",
        )
    } else {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            codes::BAD_REQUEST,
            format!("not a GraphQL request: {message}"),
        )
    }
}

/// A 400 refusal with a `BAD_REQUEST` error.
fn bad_request(message: String) -> Refusal {
    Refusal::new(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, message)
}

/// A request refused before it reaches the schema: not a GraphQL request we
/// can run, so a 4xx status whatever the media type, and a body with one
/// coded error and no `data`.
struct Refusal {
    status: StatusCode,
    /// A header the status calls for (`Allow` on 405, `Accept` on 415,
    /// `WWW-Authenticate` on 401).
    header: Option<(HeaderName, &'static str)>,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            header: None,
            code,
            message: message.into(),
        }
    }

    fn with_header(mut self, name: HeaderName, value: &'static str) -> Self {
        self.header = Some((name, value));
        self
    }

    fn into_response(self, media: MediaType) -> Response {
        let body = error_response(self.code, self.message);
        let mut response = reply(media, self.status, &BatchResponse::Single(body), |_| true);
        if let Some((name, value)) = self.header {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        response
    }
}

/// Whether `response` reports a request error, one raised before execution
/// began. async-graphql marks none, so it is read from the response: no data
/// at all, and only errors that point at no field and whose codes (given by
/// [`assign_codes`]) are `BAD_REQUEST` or `QUERY_TOO_COMPLEX` — parse,
/// validation, variable and limit errors, and a refused batch. An error of
/// execution always carries the `path` of its field, even when it nulls the
/// whole `data`; a timeout is `SERVICE_UNAVAILABLE`: both answer 200 with
/// `data: null`, since execution did begin.
fn is_request_error(response: &GqlResponse) -> bool {
    operation::refused_before_execution(response)
        && response.errors.iter().all(|error| {
            let code = error.extensions.as_ref().and_then(|e| e.get("code"));
            matches!(code, Some(Value::String(code))
                if code == codes::BAD_REQUEST || code == codes::QUERY_TOO_COMPLEX)
        })
}

/// One result as sent: the fields of async-graphql's response, borrowed,
/// with `data` left out of a request error.
#[derive(Serialize)]
struct Wire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extensions: &'a BTreeMap<String, Value>,
}

impl<'a> Wire<'a> {
    fn of(response: &'a GqlResponse, without_data: &impl Fn(&GqlResponse) -> bool) -> Self {
        Self {
            data: (!without_data(response)).then_some(&response.data),
            errors: &response.errors,
            extensions: &response.extensions,
        }
    }
}

/// The answer to an executed request (or a refused batch): see [`status`].
fn answer(media: MediaType, response: BatchResponse) -> Response {
    reply(media, status(media, &response), &response, is_request_error)
}

/// 400 for a request error with `application/graphql-response+json`, else
/// 200: with `application/json` the body alone tells success from failure,
/// and a batch's operations each have their own outcome.
fn status(media: MediaType, response: &BatchResponse) -> StatusCode {
    match (media, response) {
        (MediaType::GraphQLResponse, BatchResponse::Single(r)) if is_request_error(r) => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    }
}

/// Writes `response` as `media` with `status`, leaving out the `data` entry
/// of each result for which `without_data` holds. As async-graphql-axum's
/// responder does, it sends the cache hint of an error-free response and the
/// headers resolvers set; `Vary: Accept` because the media type and the
/// status depend on it.
fn reply(
    media: MediaType,
    status: StatusCode,
    response: &BatchResponse,
    without_data: impl Fn(&GqlResponse) -> bool,
) -> Response {
    // Straight from async-graphql's values to bytes: no intermediate
    // `serde_json::Value` tree (it cost a nested read ~7 % of its CPU).
    let body = match response {
        BatchResponse::Single(r) => serde_json::to_vec(&Wire::of(r, &without_data)),
        BatchResponse::Batch(rs) => {
            let wires: Vec<_> = rs.iter().map(|r| Wire::of(r, &without_data)).collect();
            serde_json::to_vec(&wires)
        }
    };
    let body = match body {
        Ok(body) => body,
        Err(err) => {
            tracing::error!(error = %err, "a GraphQL response did not serialize");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(CONTENT_TYPE, media.content_type())],
                r#"{"errors":[{"message":"internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}"#,
            )
                .into_response();
        }
    };
    let mut reply = (status, [(CONTENT_TYPE, media.content_type())], body).into_response();
    let headers = reply.headers_mut();
    headers.append(VARY, HeaderValue::from_static("accept"));
    if response.is_ok()
        && let Some(cache_control) = response.cache_control().value()
        && let Ok(value) = HeaderValue::from_str(&cache_control)
    {
        headers.insert(CACHE_CONTROL, value);
    }
    headers.extend(response.http_headers());
    reply
}
