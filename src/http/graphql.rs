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
//!   is not JSON, no `query` and no persisted query's hash in
//!   `extensions.persistedQuery`, a parameter of the wrong type), bad tokens,
//!   mutations over GET and oversized bodies are 4xx whatever the `Accept`:
//!   they are not GraphQL requests we could run. See [`Refusal`].
//! - A batch (a JSON array) answers with an array, one result per
//!   operation, even when the batch itself is refused (too many operations,
//!   or none), because batching clients match results to operations by
//!   position. It is 200, or 400 with `application/graphql-response+json`
//!   when not one of its operations ran.
//! - A persisted query's hash this instance does not know answers 200
//!   whatever the media type, so that an Apollo client sends its text
//!   (`graphql::persisted`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use async_graphql::futures_util::future::join_all;
use async_graphql::{
    BatchRequest, BatchResponse, Request, Response as GqlResponse, ServerError, Value, Variables,
};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody, QueryRejection};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::{
    ACCEPT, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, VARY, WWW_AUTHENTICATE,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower_http::timeout::TimeoutError;

use super::AppState;
use super::media_type::{JSON, MediaType};
use super::rate_limit::Caller;
use crate::config::Limits;
use crate::graphql::errors::{assign_codes, codes, error_response};
use crate::graphql::operation::{self, Prepared};
use crate::graphql::persisted;

/// The client's address, put on every request by [`super::server`].
type Client = Option<Extension<ConnectInfo<SocketAddr>>>;

/// `POST /graphql`: a JSON body holding one operation or a batch.
pub async fn post(
    State(state): State<AppState>,
    client: Client,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let media = MediaType::negotiate(&headers);
    let batch = require_json_body(&headers)
        .and_then(|()| body.map_err(reject_body))
        .and_then(|body| parse_body(&body))
        .and_then(require_queries);
    let call = Call {
        state: &state,
        headers: &headers,
        client,
        media,
        safe_only: false,
    };
    call.execute(batch).await
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
    client: Client,
    headers: HeaderMap,
    params: Result<Query<GetParams>, QueryRejection>,
) -> Response {
    let media = MediaType::negotiate(&headers);
    let request = params
        .map_err(|e| format!("not a GraphQL request: {}", e.body_text()))
        .and_then(|Query(params)| get_request(params))
        .map_err(bad_request);
    let call = Call {
        state: &state,
        headers: &headers,
        client,
        media,
        safe_only: true,
    };
    call.execute(request.map(BatchRequest::Single)).await
}

/// The request that GET parameters describe, or why they describe none. A
/// persisted query's hash in `extensions` may stand for the `query`.
fn get_request(params: GetParams) -> Result<Request, String> {
    let mut request = Request::new(params.query.unwrap_or_default());
    request.operation_name = params.operation_name;
    if let Some(text) = params.extensions {
        request.extensions = serde_json::from_str(&text)
            .map_err(|e| format!("extensions are not a JSON object: {e}"))?;
    }
    if request.query.trim().is_empty() && !persisted::is_persisted(&request) {
        return Err("the query parameter is missing".to_owned());
    }
    if let Some(text) = params.variables {
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("variables are not JSON: {e}"))?;
        request.variables = Variables::from_json(json);
    }
    Ok(request)
}

/// One `/graphql` request on its way through [`Call::execute`].
struct Call<'a> {
    state: &'a AppState,
    headers: &'a HeaderMap,
    client: Client,
    media: MediaType,
    /// GET: only operations that are safe to repeat (no mutation).
    safe_only: bool,
}

impl Call<'_> {
    /// Authenticates the caller, enforces the batch limit, prepares each
    /// operation (its document parsed within the limits), draws on the
    /// caller's rate limit, runs the operations within the request timeout,
    /// gives every error a code, and answers in the negotiated media type.
    /// `batch` is the request, or the refusal that answers it (sent once
    /// the caller's credentials have been checked).
    async fn execute(self, batch: Result<BatchRequest, Refusal>) -> Response {
        let Self {
            state,
            headers,
            media,
            ..
        } = self;
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
                .with_header(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                )
                .into_response(media);
            }
        };
        let batch = match batch {
            Ok(batch) => batch,
            Err(refusal) => return refusal.into_response(media),
        };
        let limits = &state.services.config.limits;
        // A refused batch is a request error like an invalid document: 400
        // or 200 depending on the media type (see `status`). It is answered
        // as a batch, one result per operation, because batching clients
        // read an array and match its results to their operations.
        if let BatchRequest::Batch(operations) = &batch {
            let refusal = if operations.len() > limits.max_batch {
                let message = format!(
                    "the batch holds {} operations, at most {} are allowed",
                    operations.len(),
                    limits.max_batch
                );
                Some((codes::QUERY_TOO_COMPLEX, message))
            } else if operations.is_empty() {
                Some((codes::BAD_REQUEST, "the batch holds no operation".into()))
            } else {
                None
            };
            if let Some((code, message)) = refusal {
                let each = (0..operations.len().max(1))
                    .map(|_| error_response(code, message.clone()))
                    .collect();
                return answer(media, limits, BatchResponse::Batch(each));
            }
        }

        let operations = &state.operations;
        let (prepared, single) = match batch {
            BatchRequest::Single(request) => (vec![operations.prepare(request)], true),
            BatchRequest::Batch(requests) => (
                requests
                    .into_iter()
                    .map(|r| operations.prepare(r))
                    .collect(),
                false,
            ),
        };
        if self.safe_only && prepared.iter().flatten().any(Prepared::is_mutation) {
            return Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                codes::BAD_REQUEST,
                "mutations must be sent with POST",
            )
            .with_header(ALLOW, HeaderValue::from_static("POST"))
            .into_response(media);
        }
        if let Some(limiter) = &state.rate_limiter {
            let address = self.client.map(|Extension(ConnectInfo(a))| a.ip());
            let cost = prepared.iter().flatten().map(charge).sum();
            if let Some(who) = Caller::of(caller.as_ref(), address)
                && let Err(wait) = limiter.check(&who, cost)
            {
                return rate_limited(wait).into_response(media);
            }
        }

        let count = prepared.len();
        let run = async {
            let db = &state.services.db;
            let run_one = |prepared: Result<Prepared, ServerError>| {
                let caller = caller.clone();
                async move {
                    match prepared {
                        Ok(prepared) => operations.run(db, prepared, caller).await,
                        Err(error) => operations.refuse(error),
                    }
                }
            };
            let mut responses = join_all(prepared.into_iter().map(run_one)).await;
            match responses.pop() {
                Some(response) if single => BatchResponse::Single(response),
                last => {
                    responses.extend(last);
                    BatchResponse::Batch(responses)
                }
            }
        };
        // A batch that times out still answers one result per operation.
        let mut response =
            match tokio::time::timeout(state.services.config.request_timeout, run).await {
                Ok(response) => response,
                Err(_) => {
                    let timed_out = || {
                        error_response(
                            codes::SERVICE_UNAVAILABLE,
                            "the request took too long; please retry",
                        )
                    };
                    if single {
                        BatchResponse::Single(timed_out())
                    } else {
                        BatchResponse::Batch((0..count).map(|_| timed_out()).collect())
                    }
                }
            };
        // Before `answer`: telling request errors apart relies on the codes.
        match &mut response {
            BatchResponse::Single(r) => assign_codes(r),
            BatchResponse::Batch(rs) => rs.iter_mut().for_each(assign_codes),
        }
        answer(media, limits, response)
    }
}

/// What an operation draws from its caller's rate limit: one token for a
/// query, one per mutation field for a mutation (each is a transaction).
fn charge(prepared: &Prepared) -> u32 {
    let cost = prepared.cost();
    if cost.mutation {
        u32::try_from(cost.root_fields.max(1)).unwrap_or(u32::MAX)
    } else {
        1
    }
}

/// The refusal of a caller over its rate limit: 429, and `Retry-After` in
/// whole seconds (at least 1).
fn rate_limited(wait: Duration) -> Refusal {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Refusal::new(
        StatusCode::TOO_MANY_REQUESTS,
        codes::RATE_LIMITED,
        format!("too many requests; retry in {} s", seconds.max(1)),
    )
    .with_header(RETRY_AFTER, HeaderValue::from(seconds.max(1)))
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
    .with_header(ACCEPT, HeaderValue::from_static(JSON)))
}

/// One operation (a JSON object) or a batch (a JSON array). Decided by the
/// first byte rather than by serde's untagged guess, which reads an array
/// as an operation's fields in order (`[]` would be an empty operation).
fn parse_body(body: &[u8]) -> Result<BatchRequest, Refusal> {
    let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let parsed = if is_array {
        serde_json::from_slice(body).map(BatchRequest::Batch)
    } else {
        serde_json::from_slice(body).map(BatchRequest::Single)
    };
    parsed.map_err(|e| bad_request(format!("not a GraphQL request: {e}")))
}

/// Every operation needs a `query`, or the hash of a persisted query in
/// its `extensions`. async-graphql reads a missing one as an empty
/// document, which would then fail as a syntax error (a GraphQL error, 200
/// with `application/json`); the spec makes it a malformed request (400),
/// as it is for GET.
fn require_queries(batch: BatchRequest) -> Result<BatchRequest, Refusal> {
    let lacks_query = |r: &Request| r.query.trim().is_empty() && !persisted::is_persisted(r);
    let missing = match &batch {
        BatchRequest::Single(request) => lacks_query(request),
        BatchRequest::Batch(requests) => requests.iter().any(lacks_query),
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

/// A body that could not be read: 413 when too large, 408 when it did not
/// arrive in time (`HTTP_BODY_TIMEOUT_MS`), else 400.
fn reject_body(rejection: BytesRejection) -> Refusal {
    let timed_out = {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&rejection);
        std::iter::from_fn(|| {
            let error = cause?;
            cause = error.source();
            Some(error)
        })
        .any(|error| error.is::<TimeoutError>())
    };
    match rejection {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
            Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                codes::BAD_REQUEST,
                "the request body is too large",
            )
        }
        _ if timed_out => Refusal::new(
            StatusCode::REQUEST_TIMEOUT,
            codes::BAD_REQUEST,
            "the request body did not arrive in time",
        ),
        other => bad_request(format!("the request body could not be read: {other}")),
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
    /// `WWW-Authenticate` on 401, `Retry-After` on 429).
    header: Option<(HeaderName, HeaderValue)>,
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

    fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.header = Some((name, value));
        self
    }

    fn into_response(self, media: MediaType) -> Response {
        let response = BatchResponse::Single(error_response(self.code, self.message));
        let body = serialize(&response, &|_| true, usize::MAX).unwrap_or_default();
        let mut response = reply(media, self.status, &response, body);
        if let Some((name, value)) = self.header {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// Whether `response` reports a request error, one raised before execution
/// began. async-graphql marks none, so it is read from the response: no data
/// at all, and only errors that point at no field and whose codes (given by
/// [`assign_codes`]) are `BAD_REQUEST` or `QUERY_TOO_COMPLEX` — parse,
/// validation, variable and limit errors, and a refused batch — or those of
/// a document named by a hash we do not know (`PERSISTED_QUERY_NOT_FOUND`)
/// or refused as untrusted (`FORBIDDEN`, `graphql::persisted`). An error of
/// execution always carries the `path` of its field, even when it nulls the
/// whole `data` (a `FORBIDDEN` admin field does); a timeout is
/// `SERVICE_UNAVAILABLE`: both answer 200 with `data: null`, since
/// execution did begin.
fn is_request_error(response: &GqlResponse) -> bool {
    operation::refused_before_execution(response)
        && response.errors.iter().all(|error| {
            matches!(
                code_of(error),
                Some(
                    codes::BAD_REQUEST
                        | codes::QUERY_TOO_COMPLEX
                        | codes::FORBIDDEN
                        | codes::PERSISTED_QUERY_NOT_FOUND
                )
            )
        })
}

/// The `extensions.code` of `error`.
fn code_of(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        Value::String(code) => Some(code),
        _ => None,
    }
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
/// A body over `RESPONSE_MAX_BYTES` is replaced by a `QUERY_TOO_COMPLEX`
/// error for each operation (which did run: a mutation took effect).
fn answer(media: MediaType, limits: &Limits, response: BatchResponse) -> Response {
    let max = limits.max_response_bytes;
    match serialize(&response, &is_request_error, max) {
        Ok(body) => reply(media, status(media, &response), &response, body),
        Err(Overflow) => {
            let too_large = || {
                error_response(
                    codes::QUERY_TOO_COMPLEX,
                    format!(
                        "the response is larger than {max} bytes, so it was not sent (the operations \
                         did run); ask for fewer fields or smaller pages"
                    ),
                )
            };
            let response = match response {
                BatchResponse::Single(_) => BatchResponse::Single(too_large()),
                BatchResponse::Batch(rs) => {
                    BatchResponse::Batch(rs.iter().map(|_| too_large()).collect())
                }
            };
            let body = serialize(&response, &is_request_error, usize::MAX);
            reply(
                media,
                status(media, &response),
                &response,
                body.unwrap_or_default(),
            )
        }
    }
}

/// 400 for a request error with `application/graphql-response+json`, else
/// 200: with `application/json` the body alone tells success from failure,
/// and a batch's operations each have their own outcome. An unknown
/// persisted query is 200 all the same: Apollo's `PersistedQueryLink` reads
/// it from the body of a 200 and sends the text.
fn status(media: MediaType, response: &BatchResponse) -> StatusCode {
    let refused = |r: &GqlResponse| is_request_error(r) && !asks_for_text(r);
    let nothing_ran = match response {
        BatchResponse::Single(r) => refused(r),
        BatchResponse::Batch(rs) => rs.iter().all(refused),
    };
    match media {
        MediaType::GraphQLResponse if nothing_ran => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

/// Whether `response` asks for the text of a persisted query it does not
/// know.
fn asks_for_text(response: &GqlResponse) -> bool {
    response
        .errors
        .iter()
        .any(|error| code_of(error) == Some(codes::PERSISTED_QUERY_NOT_FOUND))
}

/// A body that would be longer than allowed.
struct Overflow;

/// `response` as JSON bytes, leaving out the `data` entry of each result
/// for which `without_data` holds; `Overflow` past `max` bytes (it stops
/// writing there, so an oversized response never takes more memory). Straight
/// from async-graphql's values to bytes: no intermediate `serde_json::Value`
/// tree.
fn serialize(
    response: &BatchResponse,
    without_data: &impl Fn(&GqlResponse) -> bool,
    max: usize,
) -> Result<Vec<u8>, Overflow> {
    let mut body = Capped {
        bytes: Vec::new(),
        max,
    };
    let written = match response {
        BatchResponse::Single(r) => serde_json::to_writer(&mut body, &Wire::of(r, without_data)),
        BatchResponse::Batch(rs) => {
            let wires: Vec<_> = rs.iter().map(|r| Wire::of(r, without_data)).collect();
            serde_json::to_writer(&mut body, &wires)
        }
    };
    match written {
        Ok(()) => Ok(body.bytes),
        Err(err) if err.is_io() => Err(Overflow),
        // Our values always serialize; should one not, say so, once.
        Err(err) => {
            tracing::error!(error = %err, "a GraphQL response did not serialize");
            Ok(br#"{"errors":[{"message":"internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}"#.to_vec())
        }
    }
}

/// A byte buffer that refuses to grow past `max`.
struct Capped {
    bytes: Vec<u8>,
    max: usize,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len().saturating_add(buf.len()) > self.max {
            return Err(std::io::ErrorKind::FileTooLarge.into());
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends `body` (the serialized `response`) as `media` with `status`. As
/// async-graphql-axum's responder does, it sends the cache hint of an
/// error-free response and the headers resolvers set; `Vary: Accept`
/// because the media type and the status depend on it.
fn reply(
    media: MediaType,
    status: StatusCode,
    response: &BatchResponse,
    body: Vec<u8>,
) -> Response {
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
