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
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use async_graphql::futures_util::future::join_all;
use async_graphql::{
    BatchRequest, BatchResponse, Request, Response as GqlResponse, ServerError, Value, Variables,
};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::{
    ACCEPT, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONNECTION, CONTENT_TYPE, LOCATION, RETRY_AFTER,
    VARY, WWW_AUTHENTICATE,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::capped::{self, Overflow};
use super::media_type::{JSON, MediaType};
use super::rate_limit::{Caller, Tab, retry_after_secs};
use crate::auth::Principal;
use crate::config::{Http, QueryLimits};
use crate::graphql::errors::{assign_codes, code_of, codes, error_response, is_request_error};
use crate::graphql::gate::Admitted;
use crate::graphql::gate::persisted;

/// The client's address, put on every request by [`super::server`].
type Client = Option<Extension<ConnectInfo<SocketAddr>>>;

/// `POST /graphql`: a JSON body holding one operation or a batch.
pub async fn post(
    State(state): State<AppState>,
    client: Client,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let call = Call::new(&state, headers, client, false);
    let limits = &state.services.config.http;
    // Read only once the caller is admitted (`Call::execute`).
    let batch = async {
        require_json_body(headers)?;
        let body = read_body(body, limits).await?;
        parse_body(&body).and_then(require_queries)
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
    let request = params
        .map_err(|e| format!("not a GraphQL request: {}", e.body_text()))
        .and_then(|Query(params)| get_request(params))
        .map_err(bad_request)
        .map(BatchRequest::Single);
    let call = Call::new(&state, &headers, client, true);
    call.execute(std::future::ready(request)).await
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
    /// The client's address.
    address: Option<IpAddr>,
    media: MediaType,
    /// GET: only operations that are safe to repeat (no mutation).
    safe_only: bool,
}

impl<'a> Call<'a> {
    fn new(state: &'a AppState, headers: &'a HeaderMap, client: Client, safe_only: bool) -> Self {
        Self {
            state,
            headers,
            address: client.map(|Extension(ConnectInfo(a))| a.ip()),
            media: MediaType::negotiate(headers),
            safe_only,
        }
    }

    /// A request's steps: authenticate the caller, admit it (a token of its
    /// rate limit, before anything is read or parsed), read the request,
    /// check the batch, prepare each operation (its document within the
    /// limits), charge what the operations cost beyond that token, run them
    /// within the request timeout, and answer in the negotiated media type.
    /// A step that refuses answers at once; every refusal after the
    /// admission has cost its token.
    async fn execute(self, read: impl Future<Output = Result<BatchRequest, Refusal>>) -> Response {
        match self.steps(read).await {
            Ok(response) => response,
            Err(refusal) => refusal.into_response(self.media),
        }
    }

    async fn steps(
        &self,
        read: impl Future<Output = Result<BatchRequest, Refusal>>,
    ) -> Result<Response, Refusal> {
        let caller = self.authenticate()?;
        let tab = Tab::open(
            self.state.rate_limiter.as_deref(),
            Caller::of(caller.as_ref(), self.address),
        )
        .map_err(rate_limited)?;
        let batch = read.await?;
        let limits = &self.state.services.config.query;
        if let Some(refused) = refuse_batch(&batch, limits.max_batch) {
            return Ok(answer(self.media, limits, refused));
        }
        let (requests, single) = match batch {
            BatchRequest::Single(request) => (vec![request], true),
            BatchRequest::Batch(requests) => (requests, false),
        };
        // One token per operation, the first taken at the admission.
        tab.draw(requests.len().saturating_sub(1))
            .map_err(rate_limited)?;
        let operations = &self.state.operations;
        let admitted: Vec<_> = requests.into_iter().map(|r| operations.admit(r)).collect();
        if self.safe_only && admitted.iter().flatten().any(Admitted::is_mutation) {
            return Err(Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                codes::BAD_REQUEST,
                "mutations must be sent with POST",
            )
            .with_header(ALLOW, HeaderValue::from_static("POST")));
        }
        // A mutation costs one token per mutation field beyond its first.
        let extra = admitted.iter().flatten().map(Admitted::extra_tokens);
        tab.draw(extra.sum()).map_err(rate_limited)?;
        let response = self.run(admitted, single, caller).await;
        Ok(answer(self.media, limits, response))
    }

    /// The caller of the request's `Authorization`; a bad token is refused
    /// (401), and costs its client's address a token all the same.
    fn authenticate(&self) -> Result<Option<Principal>, Refusal> {
        let header = self
            .headers
            .get(AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or_default());
        self.state.auth.authenticate(header).map_err(|err| {
            tracing::debug!(?err, "rejected credentials");
            let anonymous = Caller::of(None, self.address);
            if let Err(wait) = Tab::open(self.state.rate_limiter.as_deref(), anonymous) {
                return rate_limited(wait);
            }
            Refusal::new(
                StatusCode::UNAUTHORIZED,
                codes::UNAUTHENTICATED,
                "invalid or expired bearer token",
            )
            .with_header(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            )
        })
    }

    /// Runs the admitted operations (or answers their refusals) within the
    /// request timeout, and gives every error its code.
    async fn run(
        &self,
        admitted: Vec<Result<Admitted, ServerError>>,
        single: bool,
        caller: Option<Principal>,
    ) -> BatchResponse {
        let state = self.state;
        let count = admitted.len();
        let operations = &state.operations;
        let run = async {
            let db = &state.services.db;
            let run_one = |admitted: Result<Admitted, ServerError>| {
                let caller = caller.clone();
                async move {
                    match admitted {
                        Ok(admitted) => operations.run(db, admitted, caller).await,
                        Err(error) => operations.refuse(error),
                    }
                }
            };
            join_all(admitted.into_iter().map(run_one)).await
        };
        // A batch that times out still answers one result per operation.
        let mut responses =
            match tokio::time::timeout(state.services.config.request_timeout, run).await {
                Ok(responses) => responses,
                Err(_) => (0..count).map(|_| timed_out()).collect(),
            };
        // Before `answer`: telling request errors apart relies on the codes.
        responses.iter_mut().for_each(assign_codes);
        match responses.pop() {
            Some(response) if single => BatchResponse::Single(response),
            last => {
                responses.extend(last);
                BatchResponse::Batch(responses)
            }
        }
    }
}

/// The answer of an operation that ran past the request timeout.
pub(crate) fn timed_out() -> GqlResponse {
    error_response(
        codes::SERVICE_UNAVAILABLE,
        "the request took too long; please retry",
    )
}

/// The answer to a batch refused whole: more operations than `max`, or
/// none. It is a request error like an invalid document (400 or 200
/// depending on the media type, see `status`), answered as a batch, one
/// result per operation, because batching clients read an array and match
/// its results to their operations.
fn refuse_batch(batch: &BatchRequest, max: usize) -> Option<BatchResponse> {
    let BatchRequest::Batch(operations) = batch else {
        return None;
    };
    let (code, message) = if operations.len() > max {
        let message = format!(
            "the batch holds {} operations, at most {max} are allowed",
            operations.len(),
        );
        (codes::QUERY_TOO_COMPLEX, message)
    } else if operations.is_empty() {
        (codes::BAD_REQUEST, "the batch holds no operation".into())
    } else {
        return None;
    };
    let each = (0..operations.len().max(1))
        .map(|_| error_response(code, message.clone()))
        .collect();
    Some(BatchResponse::Batch(each))
}

/// The refusal of a caller over its rate limit: 429, and `Retry-After` in
/// whole seconds (at least 1).
fn rate_limited(wait: Duration) -> Refusal {
    let seconds = retry_after_secs(wait);
    Refusal::new(
        StatusCode::TOO_MANY_REQUESTS,
        codes::RATE_LIMITED,
        format!("too many requests; retry in {seconds} s"),
    )
    .with_header(RETRY_AFTER, HeaderValue::from(seconds))
}

/// Reads a POST body within `HTTP_BODY_TIMEOUT_MS` in all (not between its
/// chunks: a client trickling a byte at a time would hold its connection
/// for days) and `HTTP_MAX_BODY_BYTES`.
async fn read_body(body: axum::body::Body, limits: &Http) -> Result<Bytes, Refusal> {
    let read = axum::body::to_bytes(body, limits.max_body_bytes);
    match tokio::time::timeout(limits.body_timeout, read).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => Err(reject_body(&error)),
        Err(_) => Err(Refusal::new(
            StatusCode::REQUEST_TIMEOUT,
            codes::BAD_REQUEST,
            "the request body did not arrive in time",
        )
        .with_header(CONNECTION, HeaderValue::from_static("close"))),
    }
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

/// A body that could not be read: 413 when larger than allowed (which
/// closes the connection: the rest of the body is never read), else 400.
fn reject_body(error: &axum::Error) -> Refusal {
    let too_large = {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
        std::iter::from_fn(|| {
            let error = cause?;
            cause = error.source();
            Some(error)
        })
        .any(|error| error.is::<http_body_util::LengthLimitError>())
    };
    if too_large {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::BAD_REQUEST,
            "the request body is too large",
        )
        .with_header(CONNECTION, HeaderValue::from_static("close"))
    } else {
        bad_request(format!("the request body could not be read: {error}"))
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
    /// `WWW-Authenticate` on 401, `Retry-After` on 429, `Connection: close`
    /// on 408 and 413).
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
fn answer(media: MediaType, limits: &QueryLimits, response: BatchResponse) -> Response {
    let max = limits.max_response_bytes;
    match serialize(&response, &is_request_error, max) {
        Ok(body) => reply(media, status(media, &response), &response, body),
        Err(Overflow) => {
            let response = match response {
                BatchResponse::Single(_) => BatchResponse::Single(capped::too_large(max)),
                BatchResponse::Batch(rs) => {
                    BatchResponse::Batch(rs.iter().map(|_| capped::too_large(max)).collect())
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

/// `response` as JSON bytes, leaving out the `data` entry of each result
/// for which `without_data` holds; `Overflow` past `max` bytes.
fn serialize(
    response: &BatchResponse,
    without_data: &impl Fn(&GqlResponse) -> bool,
    max: usize,
) -> Result<Vec<u8>, Overflow> {
    match response {
        BatchResponse::Single(r) => capped::to_json(&Wire::of(r, without_data), max),
        BatchResponse::Batch(rs) => {
            let wires: Vec<_> = rs.iter().map(|r| Wire::of(r, without_data)).collect();
            capped::to_json(&wires, max)
        }
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
    // `Location` names the order form of the one order a request created
    // (graphql::mutations::order); a batch, or an operation that created
    // several, has no one address.
    if matches!(response, BatchResponse::Batch(_)) || headers.get_all(LOCATION).iter().count() > 1 {
        headers.remove(LOCATION);
    }
    reply
}
