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
//! | 1001 | the server shutting down, or a socket that stopped answering pings |
//!
//! An operation over the socket passes the same guards as over HTTP
//! ([`crate::graphql::operation::Operations::subscribe`]) and draws on the
//! caller's rate limit; a socket runs at most `WS_MAX_SUBSCRIPTIONS` at once
//! (one more is refused with an `error` message, `QUERY_TOO_COMPLEX`), and
//! an instance holds at most `WS_MAX_CONNECTIONS` sockets (one more is
//! refused with 503 before the upgrade).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_graphql::futures_util::stream::{AbortHandle, BoxStream, SelectAll, abortable};
use async_graphql::futures_util::{SinkExt, StreamExt, stream};
use async_graphql::{Request, Response};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::http::header::RETRY_AFTER;
use axum::response::{IntoResponse, Response as HttpResponse};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::AppState;
use super::rate_limit::Caller;
use crate::auth::Principal;
use crate::graphql::errors::{assign_codes, coded_error, codes};
use crate::graphql::operation::refused_before_execution;

/// The sub-protocols a socket may speak, the server's preference first.
const PROTOCOLS: [&str; 2] = ["graphql-transport-ws", "graphql-ws"];

/// The buffers of one socket: small, since GraphQL messages are, and an
/// instance holds thousands of mostly idle sockets.
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// This instance's sockets: how many more may open, and the signal that
/// closes them all on shutdown.
pub struct Sockets {
    slots: Arc<Semaphore>,
    max: usize,
    closing: watch::Receiver<bool>,
}

impl Sockets {
    /// Room for `max` sockets, closed once `closing` turns true.
    pub fn new(max: usize, closing: watch::Receiver<bool>) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max)),
            max,
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

/// Upgrades `GET /graphql` to a GraphQL socket.
pub async fn upgrade(state: AppState, upgrade: WebSocketUpgrade) -> HttpResponse {
    let requested: Vec<&str> = upgrade
        .requested_protocols()
        .filter_map(|p| p.to_str().ok())
        .flat_map(|p| p.split(','))
        .map(str::trim)
        .collect();
    let Some(name) = PROTOCOLS.into_iter().find(|p| requested.contains(p)) else {
        let body = json!({ "errors": [{ "message": "Sec-WebSocket-Protocol must offer graphql-transport-ws or graphql-ws", "extensions": { "code": codes::BAD_REQUEST } }] });
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    };
    let protocol = if name == PROTOCOLS[0] {
        Protocol::Transport
    } else {
        Protocol::Legacy
    };
    let Ok(slot) = state.sockets.slots.clone().try_acquire_owned() else {
        let body = json!({ "errors": [{ "message": "this instance holds as many sockets as it may; retry", "extensions": { "code": codes::SERVICE_UNAVAILABLE } }] });
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(RETRY_AFTER, "1")],
            axum::Json(body),
        )
            .into_response();
    };
    let limits = &state.services.config.limits;
    upgrade
        .protocols([name])
        .max_message_size(limits.ws_max_message_bytes)
        .max_frame_size(limits.ws_max_message_bytes)
        .read_buffer_size(READ_BUFFER_BYTES)
        // Each message goes out at once rather than waiting for more.
        .write_buffer_size(0)
        .on_upgrade(move |socket| Socket::new(state, protocol, slot).serve(socket))
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

/// An operation's next response, or its end (`None`).
type Item = (String, Option<Response>);

/// One open socket.
struct Socket {
    state: AppState,
    protocol: Protocol,
    /// Its slot among the instance's sockets, given back when it closes.
    _slot: OwnedSemaphorePermit,
    initialised: bool,
    /// Who is connected, and when their token expires.
    caller: Option<(Principal, Instant)>,
    /// The operations running, by id.
    running: HashMap<String, AbortHandle>,
    /// What the socket sends next: the running operations' responses.
    streams: SelectAll<BoxStream<'static, Item>>,
}

impl Socket {
    fn new(state: AppState, protocol: Protocol, slot: OwnedSemaphorePermit) -> Self {
        Self {
            state,
            protocol,
            _slot: slot,
            initialised: false,
            caller: None,
            running: HashMap::new(),
            streams: SelectAll::new(),
        }
    }

    async fn serve(mut self, socket: WebSocket) {
        let metrics = self.state.metrics.clone();
        metrics.ws_connections.inc();
        let (mut sink, mut incoming) = socket.split();
        let limits = self.state.services.config.limits.clone();
        let init = tokio::time::sleep(limits.ws_init_timeout);
        tokio::pin!(init);
        // Set once the token is known.
        let expiry = tokio::time::sleep(Duration::MAX / 4);
        tokio::pin!(expiry);
        let mut keepalive = tokio::time::interval(limits.ws_keepalive);
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
                _ = keepalive.tick() => {
                    if heard.elapsed() > 2 * limits.ws_keepalive {
                        break Some(close(1001, "no answer to pings"));
                    }
                    match self.protocol {
                        Protocol::Transport => vec![Message::Ping(Default::default())],
                        Protocol::Legacy => vec![text(json!({ "type": "ka" }))],
                    }
                }
                message = incoming.next() => {
                    heard = Instant::now();
                    match message {
                        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break None,
                        Some(Ok(Message::Text(message))) => match self.receive(message.as_str()) {
                            Ok(replies) => replies,
                            Err(why) => break Some(why),
                        },
                        Some(Ok(Message::Binary(_))) => break Some(close(4400, "binary messages are not part of the protocol")),
                        Some(Ok(_)) => Vec::new(),
                    }
                }
                Some((id, response)) = self.streams.next() => self.send(id, response),
            };
            if let Some((_, until)) = &self.caller {
                expiry
                    .as_mut()
                    .reset(tokio::time::Instant::from_std(*until));
            }
            let mut failed = false;
            for message in out {
                if sink.send(message).await.is_err() {
                    failed = true;
                    break;
                }
            }
            if failed {
                break None;
            }
        };
        if let Some((code, reason)) = ended {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ = sink.send(Message::Close(Some(frame))).await;
        }
        let _ = sink.close().await;
        metrics.ws_subscriptions.dec_by(self.running.len() as i64);
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
        if self.running.contains_key(&id) {
            return Err(close(4409, format!("Subscriber for {id} already exists")));
        }
        let limits = &self.state.services.config.limits;
        if self.running.len() >= limits.ws_max_subscriptions {
            let why = coded_error(
                codes::QUERY_TOO_COMPLEX,
                format!(
                    "a socket runs at most {} operations at once",
                    limits.ws_max_subscriptions
                ),
            );
            return Ok(vec![self.error(&id, vec![why])]);
        }
        if let Some(limiter) = &self.state.rate_limiter
            && let Err(wait) = limiter.check(&Caller::User(principal.subject.clone()), 1)
        {
            let why = coded_error(
                codes::RATE_LIMITED,
                format!("too many requests; retry in {} s", wait.as_secs().max(1)),
            );
            return Ok(vec![self.error(&id, vec![why])]);
        }
        let responses = self.state.operations.subscribe(
            &self.state.services.db,
            request,
            Some(principal.clone()),
        );
        let tagged = responses
            .map({
                let id = id.clone();
                move |response| (id.clone(), Some(response))
            })
            .chain(stream::once(std::future::ready((id.clone(), None))));
        let (tagged, handle) = abortable(tagged);
        self.streams.push(tagged.boxed());
        self.running.insert(id, handle);
        self.state.metrics.ws_subscriptions.inc();
        Ok(Vec::new())
    }

    /// Stops operation `id`; whether it was running.
    fn stop(&mut self, id: &str) -> bool {
        let Some(handle) = self.running.remove(id) else {
            return false;
        };
        handle.abort();
        self.state.metrics.ws_subscriptions.dec();
        true
    }

    /// The message for operation `id`'s next response, or for its end.
    fn send(&mut self, id: String, response: Option<Response>) -> Vec<Message> {
        let Some(mut response) = response else {
            // Ended by itself (stopped ones end silently).
            return if self.stop(&id) {
                vec![text(json!({ "type": "complete", "id": id }))]
            } else {
                Vec::new()
            };
        };
        assign_codes(&mut response);
        if refused_before_execution(&response) {
            self.stop(&id);
            return vec![self.error(&id, response.errors)];
        }
        let kind = match self.protocol {
            Protocol::Transport => "next",
            Protocol::Legacy => "data",
        };
        match serde_json::to_value(&response) {
            Ok(payload) => vec![text(json!({ "type": kind, "id": id, "payload": payload }))],
            Err(error) => {
                tracing::error!(%error, "a subscription response did not serialize");
                Vec::new()
            }
        }
    }

    /// An `error` message that ends operation `id`.
    fn error(&self, id: &str, errors: Vec<async_graphql::ServerError>) -> Message {
        text(json!({ "type": "error", "id": id, "payload": errors }))
    }
}

fn text(value: Value) -> Message {
    Message::Text(value.to_string().into())
}
