//! GraphQL over WebSocket on `GET /graphql`: the `graphql-transport-ws`
//! protocol, and the legacy `graphql-ws` (subscriptions-transport-ws) that
//! older Apollo clients speak.
//!
//! The protocol is handled here rather than by async-graphql's socket,
//! which answers protocol errors with generic closes; clients branch on the
//! codes graphql-transport-ws defines, so each is sent as it says:
//!
//! | close | when |
//! | --- | --- |
//! | 4400 | a message that is not one of the protocol's (or binary) |
//! | 4401 | an operation before the connection was acknowledged |
//! | 4403 | `connection_init` without a valid token (missing, bad or expired), or the token expiring while the socket is open |
//! | 4408 | no `connection_init` within `WS_INIT_TIMEOUT_MS` |
//! | 4409 | an operation id that is already running |
//! | 4429 | a second `connection_init` |
//! | 1008 | the user already holds `WS_MAX_CONNECTIONS_PER_USER` sockets |
//! | 1009 | a message over `WS_MAX_MESSAGE_BYTES` |
//! | 1001 | the server shutting down, or a socket that stopped answering pings |
//!
//! An operation over a socket meets every rule it meets over HTTP: the
//! same preparation ([`crate::graphql::operation::Operations::admit`]),
//! a rate-limit token and one more per mutation field beyond the first
//! ([`super::rate_limit::Tab`]), the request timeout for a query or
//! mutation, and the response cap for every message. A socket runs at most
//! `WS_MAX_SUBSCRIPTIONS` operations at once (one more is refused with an
//! `error` message, `QUERY_TOO_COMPLEX`), and executes at most
//! `QUERY_MAX_BATCH` queries and mutations at once, as one HTTP request may.
//!
//! A client that does not read its socket must not hold anything else:
//! each operation runs in a task of its own, which lets go of its database
//! connection as soon as its answer is built, and then waits for room in
//! the socket's send queue (`WS_SEND_QUEUE` messages). One writer task
//! sends the queue; a write that stalls for `WS_WRITE_TIMEOUT_MS` closes
//! the socket, and every operation on it ends.
//!
//! An instance holds at most `WS_MAX_CONNECTIONS` sockets, at most
//! `WS_MAX_CONNECTIONS_PER_CLIENT` of one client address (one more is
//! refused with 503 or 429 before the upgrade) and at most
//! `WS_MAX_CONNECTIONS_PER_USER` of one user.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_graphql::futures_util::stream::{SplitSink, SplitStream};
use async_graphql::futures_util::{SinkExt, StreamExt};
use async_graphql::{Request, Response, ServerError};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::http::header::RETRY_AFTER;
use axum::response::{IntoResponse, Response as HttpResponse};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::{AbortHandle, JoinSet};

use super::AppState;
use super::capped;
use super::graphql::timed_out;
use super::per_client::{Held, PerClient};
use super::rate_limit::{Caller, Tab};
use crate::auth::Principal;
use crate::config::WebSocket as WebSocketLimits;
use crate::graphql::errors::{assign_codes, coded_error, codes, is_request_error};
use crate::graphql::gate::Admitted;

/// The sub-protocols a socket may speak, the server's preference first.
const PROTOCOLS: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];

/// The buffers of one socket: small, since GraphQL messages are, and an
/// instance holds thousands of mostly idle sockets.
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// This instance's sockets: how many more may open (in all, per client
/// address and per user), and the signal that closes them all on shutdown.
pub struct Sockets {
    slots: Arc<Semaphore>,
    max: usize,
    per_client: PerClient<IpAddr>,
    per_user: PerClient<String>,
    closing: watch::Receiver<bool>,
}

impl Sockets {
    /// Room for the sockets `limits` allow (in all, per client address and
    /// per user); all closed once `closing` turns true.
    pub fn new(limits: &WebSocketLimits, closing: watch::Receiver<bool>) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(limits.max_connections)),
            max: limits.max_connections,
            per_client: PerClient::new(limits.max_connections_per_client),
            per_user: PerClient::new(limits.max_connections_per_user),
            closing,
        }
    }

    /// Waits until every socket has closed, or `within` has passed.
    pub async fn closed(&self, within: Duration) {
        let all = u32::try_from(self.max).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(within, self.slots.acquire_many(all)).await;
    }
}

/// Which protocol a socket speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// `graphql-transport-ws`.
    Transport,
    /// The legacy `graphql-ws`.
    Legacy,
}

/// A refusal before the upgrade: `status` with one coded error.
fn refuse_upgrade(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut response = (status, axum::Json(body)).into_response();
    if status != StatusCode::BAD_REQUEST {
        response
            .headers_mut()
            .insert(RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
    }
    response
}

/// Upgrades `GET /graphql` from `address` to a GraphQL socket.
pub async fn upgrade(
    state: AppState,
    upgrade: WebSocketUpgrade,
    address: Option<IpAddr>,
) -> HttpResponse {
    let requested: Vec<&str> = upgrade
        .requested_protocols()
        .filter_map(|p| p.to_str().ok())
        .flat_map(|p| p.split(','))
        .map(str::trim)
        .collect();
    let Some(name) = PROTOCOLS.into_iter().find(|p| requested.contains(p)) else {
        return refuse_upgrade(
            StatusCode::BAD_REQUEST,
            codes::BAD_REQUEST,
            "Sec-WebSocket-Protocol must offer graphql-transport-ws or graphql-ws",
        );
    };
    let protocol = if name == PROTOCOLS[0] {
        Protocol::Transport
    } else {
        Protocol::Legacy
    };
    let sockets = &state.sockets;
    let client = match address.map(|a| sockets.per_client.take(a)) {
        Some(None) => {
            return refuse_upgrade(
                StatusCode::TOO_MANY_REQUESTS,
                codes::RATE_LIMITED,
                "this client address holds as many sockets as it may; close one first",
            );
        }
        Some(held) => held,
        None => None,
    };
    let Ok(slot) = sockets.slots.clone().try_acquire_owned() else {
        return refuse_upgrade(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::SERVICE_UNAVAILABLE,
            "this instance holds as many sockets as it may; retry",
        );
    };
    let limits = &state.services.config.websocket;
    upgrade
        .protocols([name])
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .read_buffer_size(READ_BUFFER_BYTES)
        // Each message goes out at once rather than waiting for more.
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            let holds = Holds {
                _slot: slot,
                _client: client,
                user: None,
            };
            let limits = &state.services.config.websocket;
            let (sink, incoming) = socket.split();
            let (outbox, queue) = mpsc::channel(limits.send_queue);
            let writer = tokio::spawn(write(sink, queue, limits.write_timeout));
            Socket::new(state, protocol, holds, outbox).serve(incoming, writer)
        })
}

/// A client message of either protocol.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Value>,
    },
    Pong {},
    /// graphql-transport-ws.
    Subscribe {
        id: String,
        payload: Request,
    },
    /// graphql-transport-ws: the client stops an operation.
    Complete {
        id: String,
    },
    /// Legacy.
    Start {
        id: String,
        payload: Request,
    },
    /// Legacy: the client stops an operation.
    Stop {
        id: String,
    },
    /// Legacy.
    ConnectionTerminate {},
}

/// Why a socket closes: a close code and its reason.
type Close = (u16, String);

fn close(code: u16, reason: impl Into<String>) -> Close {
    (code, reason.into())
}

/// What a socket holds of the instance's room, given back when it closes.
struct Holds {
    _slot: OwnedSemaphorePermit,
    _client: Option<Held<IpAddr>>,
    user: Option<Held<String>>,
}

/// One open socket: its reader and its operations. What it sends goes
/// through `outbox` to its writer ([`write`]).
struct Socket {
    state: AppState,
    protocol: Protocol,
    _holds: Holds,
    initialised: bool,
    /// Who is connected, and when their token expires.
    caller: Option<(Principal, Instant)>,
    /// The operations running, by id: the generation of the task that runs
    /// each (an id may be reused once its operation ended) and its handle.
    running: HashMap<String, (u64, AbortHandle)>,
    /// The tasks that run the operations; each ends with its id and
    /// generation.
    tasks: JoinSet<(String, u64)>,
    generation: u64,
    /// Queries and mutations executing at once.
    executing: Arc<Semaphore>,
    outbox: mpsc::Sender<Message>,
}

impl Socket {
    fn new(
        state: AppState,
        protocol: Protocol,
        holds: Holds,
        outbox: mpsc::Sender<Message>,
    ) -> Self {
        let executing = Arc::new(Semaphore::new(state.services.config.query.max_batch));
        Self {
            state,
            protocol,
            _holds: holds,
            initialised: false,
            caller: None,
            running: HashMap::new(),
            tasks: JoinSet::new(),
            generation: 0,
            executing,
            outbox,
        }
    }

    /// Reads `incoming` and runs its operations until the socket ends;
    /// then lets `writer` finish.
    async fn serve(
        mut self,
        mut incoming: SplitStream<WebSocket>,
        writer: tokio::task::JoinHandle<()>,
    ) {
        let metrics = self.state.metrics.clone();
        metrics.ws_connections.inc();
        let limits = self.state.services.config.websocket.clone();
        let init = tokio::time::sleep(limits.init_timeout);
        tokio::pin!(init);
        // Set once the token is known.
        let expiry = tokio::time::sleep(Duration::MAX / 4);
        tokio::pin!(expiry);
        let mut keepalive = tokio::time::interval(limits.keepalive);
        keepalive.tick().await;
        let mut heard = Instant::now();
        let mut closing = self.state.sockets.closing.clone();
        let ended: Option<Close> = loop {
            let out = tokio::select! {
                _ = closing.wait_for(|c| *c) => break Some(close(1001, "the server is shutting down")),
                () = &mut init, if !self.initialised => {
                    break Some(close(4408, "Connection initialisation timeout"));
                }
                () = &mut expiry, if self.caller.is_some() => break Some(close(4403, "the token has expired")),
                // The writer gave up: a stalled write, or the client went away.
                () = self.outbox.closed() => break None,
                _ = keepalive.tick() => {
                    if heard.elapsed() > 2 * limits.keepalive {
                        break Some(close(1001, "no answer to pings"));
                    }
                    let ping = match self.protocol {
                        Protocol::Transport => Message::Ping(Default::default()),
                        Protocol::Legacy => text(json!({ "type": "ka" })),
                    };
                    // A client whose queue is full is not reading: no ping.
                    let _ = self.outbox.try_send(ping);
                    Vec::new()
                }
                message = incoming.next() => {
                    heard = Instant::now();
                    match message {
                        None | Some(Ok(Message::Close(_))) => break None,
                        Some(Err(error)) => break too_big(error),
                        Some(Ok(Message::Text(message))) => match self.receive(message.as_str()) {
                            Ok(replies) => replies,
                            Err(why) => break Some(why),
                        },
                        Some(Ok(Message::Binary(_))) => break Some(close(4400, "binary messages are not part of the protocol")),
                        Some(Ok(_)) => Vec::new(),
                    }
                }
                Some(Ok((id, generation))) = self.tasks.join_next() => {
                    self.ended(&id, generation);
                    Vec::new()
                }
            };
            if let Some((_, until)) = &self.caller {
                expiry
                    .as_mut()
                    .reset(tokio::time::Instant::from_std(*until));
            }
            let mut sent = true;
            for message in out {
                sent = sent && self.outbox.send(message).await.is_ok();
            }
            if !sent {
                break None;
            }
        };
        // The operations end with the socket; the writer sends what is
        // queued, then the close, within its stall deadline.
        self.tasks.abort_all();
        metrics.ws_subscriptions.dec_by(self.running.len() as i64);
        self.running.clear();
        if let Some((code, reason)) = ended {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ = self.outbox.try_send(Message::Close(Some(frame)));
        }
        drop(self.outbox);
        let _ = writer.await;
        metrics.ws_connections.dec();
    }

    /// Handles one client message; what to send back, or why to close.
    fn receive(&mut self, message: &str) -> Result<Vec<Message>, Close> {
        let message: ClientMessage =
            serde_json::from_str(message).map_err(|_| close(4400, "Invalid message received"))?;
        let transport = self.protocol == Protocol::Transport;
        match message {
            ClientMessage::ConnectionInit { payload } => self.init(payload.as_ref()),
            ClientMessage::Ping { payload } if transport => {
                let mut pong = json!({ "type": "pong" });
                if let Some(payload) = payload {
                    pong["payload"] = payload;
                }
                Ok(vec![text(pong)])
            }
            ClientMessage::Pong {} if transport => Ok(Vec::new()),
            ClientMessage::Subscribe { id, payload } if transport => self.start(id, payload),
            ClientMessage::Start { id, payload } if !transport => self.start(id, payload),
            ClientMessage::Complete { id } if transport => {
                self.stop(&id);
                Ok(Vec::new())
            }
            ClientMessage::Stop { id } if !transport => Ok(if self.stop(&id) {
                vec![text(json!({ "type": "complete", "id": id }))]
            } else {
                Vec::new()
            }),
            ClientMessage::ConnectionTerminate {} if !transport => Err(close(1000, "terminated")),
            _ => Err(close(4400, "Invalid message received")),
        }
    }

    /// `connection_init`: the token in its payload, or a close.
    fn init(&mut self, payload: Option<&Value>) -> Result<Vec<Message>, Close> {
        if self.initialised {
            return Err(close(4429, "Too many initialisation requests"));
        }
        self.initialised = true;
        let header = payload
            .and_then(Value::as_object)
            .and_then(|p| {
                p.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            })
            .and_then(|(_, v)| v.as_str());
        let (principal, exp) = header
            .and_then(|h| self.state.auth.bearer(h).ok())
            .ok_or_else(|| close(4403, "Forbidden: a valid bearer token is required"))?;
        let held = self
            .state
            .sockets
            .per_user
            .take(principal.subject.clone())
            .ok_or_else(|| {
                close(
                    1008,
                    "this user holds as many sockets as it may; close one first",
                )
            })?;
        self._holds.user = Some(held);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let until = Instant::now() + Duration::from_secs(exp.saturating_sub(now));
        self.caller = Some((principal, until));
        Ok(vec![text(json!({ "type": "connection_ack" }))])
    }

    /// Starts operation `id`, or refuses it.
    fn start(&mut self, id: String, request: Request) -> Result<Vec<Message>, Close> {
        let Some((principal, _)) = &self.caller else {
            return Err(close(4401, "Unauthorized"));
        };
        let principal = principal.clone();
        if self.running.contains_key(&id) {
            return Err(close(4409, format!("Subscriber for {id} already exists")));
        }
        let limits = &self.state.services.config.websocket;
        if self.running.len() >= limits.max_subscriptions {
            let why = coded_error(
                codes::QUERY_TOO_COMPLEX,
                format!(
                    "a socket runs at most {} operations at once",
                    limits.max_subscriptions
                ),
            );
            return Ok(vec![self.error(&id, vec![why])]);
        }
        let admitted = match self.admit(&principal, request) {
            Ok(admitted) => admitted,
            Err(errors) => return Ok(vec![self.error(&id, errors)]),
        };
        self.generation += 1;
        let generation = self.generation;
        let task = Operation {
            id: id.clone(),
            state: self.state.clone(),
            kind: self.protocol,
            outbox: self.outbox.clone(),
        };
        let handle = if admitted.is_subscription() {
            self.tasks
                .spawn(task.subscription(admitted, principal, generation))
        } else {
            let executing = self.executing.clone();
            self.tasks
                .spawn(task.single(admitted, principal, executing, generation))
        };
        self.running.insert(id, (generation, handle));
        self.state.metrics.ws_subscriptions.inc();
        Ok(Vec::new())
    }

    /// Lets one operation of `principal`'s through the gate, drawing its
    /// tokens; or the errors that refuse it.
    fn admit(&self, principal: &Principal, request: Request) -> Result<Admitted, Vec<ServerError>> {
        let limited = |wait: Duration| {
            vec![coded_error(
                codes::RATE_LIMITED,
                format!(
                    "too many requests; retry in {} s",
                    super::rate_limit::retry_after_secs(wait)
                ),
            )]
        };
        let caller = Some(Caller::User(principal.subject.clone()));
        let tab = Tab::open(self.state.rate_limiter.as_deref(), caller).map_err(limited)?;
        let admitted = self.state.operations.admit(request).map_err(|error| {
            let mut response = Response::from_errors(vec![error]);
            assign_codes(&mut response);
            response.errors
        })?;
        tab.draw(admitted.extra_tokens()).map_err(limited)?;
        Ok(admitted)
    }

    /// Stops operation `id`; whether it was running.
    fn stop(&mut self, id: &str) -> bool {
        let Some((_, handle)) = self.running.remove(id) else {
            return false;
        };
        handle.abort();
        self.state.metrics.ws_subscriptions.dec();
        true
    }

    /// Forgets the task of operation `id` that ended (by itself, or
    /// stopped), unless the id now names a newer one.
    fn ended(&mut self, id: &str, generation: u64) {
        if self.running.get(id).is_some_and(|(g, _)| *g == generation) {
            self.running.remove(id);
            self.state.metrics.ws_subscriptions.dec();
        }
    }

    /// An `error` message that ends operation `id`.
    fn error(&self, id: &str, errors: Vec<ServerError>) -> Message {
        text(json!({ "type": "error", "id": id, "payload": errors }))
    }
}

/// One operation of a socket, run in a task of its own.
struct Operation {
    id: String,
    state: AppState,
    kind: Protocol,
    outbox: mpsc::Sender<Message>,
}

impl Operation {
    /// A query or mutation: runs it within the request timeout (at most
    /// `QUERY_MAX_BATCH` of the socket's at once), then queues its answer
    /// and its end. Its database connection is back in the pool before it
    /// waits for room in the queue.
    async fn single(
        self,
        admitted: Admitted,
        principal: Principal,
        executing: Arc<Semaphore>,
        generation: u64,
    ) -> (String, u64) {
        let Ok(_turn) = executing.acquire_owned().await else {
            return (self.id, generation);
        };
        let state = &self.state;
        let run = state
            .operations
            .run(&state.services.db, admitted, Some(principal));
        let response = tokio::time::timeout(state.services.config.request_timeout, run)
            .await
            .unwrap_or_else(|_| timed_out());
        if self.send(response).await {
            let _ = self.outbox.send(self.complete()).await;
        }
        (self.id, generation)
    }

    /// A subscription: queues each of its updates, then its end.
    async fn subscription(
        self,
        admitted: Admitted,
        principal: Principal,
        generation: u64,
    ) -> (String, u64) {
        let state = &self.state;
        let mut updates = state
            .operations
            .subscribe(&state.services.db, admitted, Some(principal));
        let mut ended_by_error = false;
        while let Some(response) = updates.next().await {
            if !self.send(response).await {
                ended_by_error = true;
                break;
            }
        }
        if !ended_by_error {
            let _ = self.outbox.send(self.complete()).await;
        }
        (self.id, generation)
    }

    /// Queues `response` for the client: an `error` message when it was
    /// refused before it ran (which ends the operation: `false`), else a
    /// `next` (`data` for the legacy protocol) within the response cap, as
    /// HTTP tells a request error from the rest.
    async fn send(&self, mut response: Response) -> bool {
        assign_codes(&mut response);
        if is_request_error(&response) {
            let message =
                text(json!({ "type": "error", "id": self.id, "payload": response.errors }));
            let _ = self.outbox.send(message).await;
            return false;
        }
        let kind = match self.kind {
            Protocol::Transport => "next",
            Protocol::Legacy => "data",
        };
        let max = self.state.services.config.query.max_response_bytes;
        let payload = capped::to_json(&response, max)
            .or_else(|_| capped::to_json(&capped::too_large(max), usize::MAX))
            .unwrap_or_default();
        let head = json!({ "type": kind, "id": self.id }).to_string();
        // `{"id":..,"type":..}` with the payload spliced in before its `}`,
        // so that the payload is written once, as it was capped.
        let mut message = String::with_capacity(head.len() + payload.len() + 12);
        message.push_str(&head[..head.len() - 1]);
        message.push_str(",\"payload\":");
        message.push_str(&String::from_utf8_lossy(&payload));
        message.push('}');
        self.outbox
            .send(Message::Text(message.into()))
            .await
            .is_ok()
    }

    fn complete(&self) -> Message {
        text(json!({ "type": "complete", "id": self.id }))
    }
}

/// The writer of a socket: sends each queued message, each within
/// `stall` (a client that does not read is cut off), until the queue is
/// closed and drained.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Message>,
    stall: Duration,
) {
    while let Some(message) = queue.recv().await {
        let closing = matches!(message, Message::Close(_));
        match tokio::time::timeout(stall, sink.send(message)).await {
            Ok(Ok(())) if !closing => {}
            Ok(Ok(())) => break,
            Ok(Err(error)) => {
                tracing::debug!(%error, "a socket write failed");
                return;
            }
            Err(_) => {
                tracing::debug!(?stall, "a socket's writes stalled; it is closed");
                return;
            }
        }
    }
    let _ = tokio::time::timeout(stall, sink.close()).await;
}

/// The close for a socket whose next message could not be read: 1009 when
/// it was over `WS_MAX_MESSAGE_BYTES`; none (the connection is gone) else.
fn too_big(error: axum::Error) -> Option<Close> {
    use tungstenite::error::{CapacityError, Error};
    match error.into_inner().downcast::<Error>() {
        Ok(error)
            if matches!(
                *error,
                Error::Capacity(CapacityError::MessageTooLong { .. })
            ) =>
        {
            Some(close(1009, "the message is larger than the server accepts"))
        }
        _ => None,
    }
}

fn text(value: Value) -> Message {
    Message::Text(value.to_string().into())
}
