//! A GraphQL WebSocket client for the tests (graphql-transport-ws, or the
//! legacy graphql-ws), reading the server's messages and closes.

use async_graphql::futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::app::TestApp;
use super::net::connect_from;
use super::wait::eventually;

/// What the server sent.
#[derive(Debug)]
pub enum Received {
    /// A protocol message (pings and keep-alives are skipped).
    Json(Value),
    /// A close frame's code and reason (1005 without a frame, 1006 when
    /// the connection ended without one).
    Closed(u16, String),
}

/// A GraphQL WebSocket client.
pub struct Ws {
    /// The socket, for what the helpers below do not cover.
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Ws {
    /// A socket upgraded with `protocol` (`graphql-transport-ws` or the
    /// legacy `graphql-ws`), not yet initialised.
    pub async fn open(app: &TestApp, protocol: &str) -> Self {
        let url = format!("{}/graphql", app.address.replacen("http", "ws", 1));
        let mut request = url.into_client_request().unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol.parse().unwrap());
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the upgrade succeeds");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            protocol,
            "the server speaks the protocol asked for"
        );
        Self { socket }
    }

    /// A socket speaking graphql-transport-ws from the local address
    /// `source` (any 127.x.y.z reaches the app), or why the upgrade failed.
    pub async fn open_from(
        app: &TestApp,
        source: &str,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let stream = connect_from(app, source).await;
        let address = app.address.trim_start_matches("http://");
        let mut request = format!("ws://{address}/graphql")
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (socket, _) =
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await?;
        Ok(Self { socket })
    }

    /// A socket acknowledged for `token`.
    pub async fn ready(app: &TestApp, token: &str) -> Self {
        let mut ws = Self::open(app, "graphql-transport-ws").await;
        ws.send(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } }))
            .await;
        match ws.recv().await {
            Received::Json(v) if v["type"] == "connection_ack" => ws,
            other => panic!("no ack: {other:?}"),
        }
    }

    /// Sends `message` as a text frame.
    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("sent");
    }

    /// Starts operation `id` (graphql-transport-ws `subscribe`).
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "type": "subscribe", "id": id, "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next message that is not a ping (or a keep-alive), or the close.
    pub async fn recv(&mut self) -> Received {
        loop {
            let message = eventually("a message on the socket", self.socket.next()).await;
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["type"] != "ping" && value["type"] != "ka" {
                        return Received::Json(value);
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    return Received::Closed(code, reason);
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Received::Closed(1006, String::new()),
            }
        }
    }

    /// The next message, failing the test if the socket closed instead.
    pub async fn json(&mut self) -> Value {
        match self.recv().await {
            Received::Json(v) => v,
            other => panic!("expected a message: {other:?}"),
        }
    }

    /// The code the server closed with, failing the test if a message
    /// came instead; a protocol close (4xxx) must say why.
    pub async fn closed_with(&mut self) -> u16 {
        match self.recv().await {
            Received::Closed(code, reason) => {
                assert!(
                    code < 4000 || !reason.is_empty(),
                    "a protocol close says why"
                );
                code
            }
            other => panic!("expected a close: {other:?}"),
        }
    }
}
