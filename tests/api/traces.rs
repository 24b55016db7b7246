//! Traces: a caller's `traceparent` goes on through the server's spans
//! (exported over OTLP/HTTP to a receiver of the test's own) and into the
//! event the payment publishes to NATS. The server runs as a process of its
//! own, since its tracing is process-wide.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::helpers::nats::{JetStream, NatsServer};
use crate::helpers::net::free_port;
use crate::helpers::process::{Spawned, wait_until_serving};
use crate::helpers::wait::{eventually, wait_until};
use crate::helpers::{TEST_SECRET, TestApp, postgres_base_url, spawn_app};

/// The caller's trace and span, as a gateway would send them.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

const PAY: &str = "mutation PayOrder($i: PayOrderInput!) { payOrder(input: $i) {
    order { status } userErrors { code } } }";

/// An OTLP/HTTP receiver: every span exported to it.
struct Receiver {
    url: String,
    spans: Arc<Mutex<Vec<Span>>>,
}

impl Receiver {
    async fn start() -> Self {
        async fn export(State(spans): State<Arc<Mutex<Vec<Span>>>>, body: Bytes) -> Vec<u8> {
            let request = ExportTraceServiceRequest::decode(body).expect("an OTLP export");
            let mut kept = spans.lock().unwrap();
            for resource in request.resource_spans {
                for scope in resource.scope_spans {
                    kept.extend(scope.spans);
                }
            }
            // An empty ExportTraceServiceResponse.
            Vec::new()
        }
        let spans = Arc::new(Mutex::new(Vec::new()));
        let router = Router::new()
            .route("/v1/traces", post(export))
            .with_state(spans.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, spans }
    }

    /// The spans received so far of trace `trace_id` (hex).
    fn of_trace(&self, trace_id: &str) -> Vec<Span> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| hex(&s.trace_id) == trace_id)
            .cloned()
            .collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every attribute value of a span, as text.
fn attribute_values(span: &Span) -> Vec<String> {
    span.attributes
        .iter()
        .filter_map(|kv| kv.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            AnyValue::StringValue(s) => s.clone(),
            other => format!("{other:?}"),
        })
        .collect()
}

/// The server as a process on `app`'s database, relaying to `nats` and
/// exporting its spans to `receiver`; its output lines.
async fn server(
    app: &TestApp,
    nats: &NatsServer,
    receiver: &Receiver,
) -> (Spawned, String, UnboundedReceiver<String>) {
    let port = free_port();
    let mut server = Spawned::spawn(
        Command::new(env!("CARGO_BIN_EXE_commerce"))
            .env(
                "DATABASE_URL",
                format!("{}/{}", postgres_base_url(), app.db_name),
            )
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("JWT_SECRET", TEST_SECRET)
            .env("SEED_DEMO_DATA", "false")
            .env("NATS_URL", nats.url())
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url)
            .env("OTEL_SERVICE_NAME", "commerce-under-test")
            // Export at once rather than every 5 s.
            .env("OTEL_BSP_SCHEDULE_DELAY", "50")
            // The request's own log line, to find its trace id in.
            .env("RUST_LOG", "warn,tower_http=debug,commerce::http=info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    );
    let lines = server.output_lines();
    let address = format!("http://127.0.0.1:{port}");
    wait_until_serving(&address).await;
    (server, address, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_continues_its_callers_trace_through_the_server_into_its_event() {
    let receiver = Receiver::start().await;
    let nats = NatsServer::start().await;
    let app = spawn_app().await;
    let tea = app.create_product("Tea", 100, 10).await;
    app.charge("ada", 1_000).await;
    let order = app.create_order("ada", &[(&tea, 1)]).await;
    let (_server, address, mut lines) = server(&app, &nats, &receiver).await;

    let response: Value = reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .bearer_auth(app.token("ada"))
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
        .json(&json!({ "query": PAY, "variables": { "i": { "orderId": order } } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        response["data"]["payOrder"]["order"]["status"], "PAID",
        "{response}"
    );

    // The event carries the trace on, from the relay's publish.
    nats.wait_for("ORDERS", 1).await;
    let event = nats
        .jetstream()
        .await
        .get_stream("ORDERS")
        .await
        .unwrap()
        .get_last_raw_message_by_subject("orders.paid")
        .await
        .unwrap();
    let header = event
        .headers
        .get("traceparent")
        .map(|v| v.as_str().to_owned())
        .expect("the event's traceparent");
    let fields: Vec<&str> = header.split('-').collect();
    assert_eq!(fields.len(), 4, "{header}");
    assert_eq!(fields[1], TRACE_ID, "the caller's trace: {header}");
    let published_by = fields[2].to_owned();

    // The spans of the trace: the request (the caller's child), the
    // operation, the wait for a batch, the batch, its transaction, and the
    // publish whose context the event carries.
    wait_until("the payment's spans", async || {
        let names: Vec<String> = receiver
            .of_trace(TRACE_ID)
            .iter()
            .map(|s| s.name.clone())
            .collect();
        ["publish orders.paid", "transaction payOrder"]
            .iter()
            .all(|n| names.iter().any(|m| m == n))
    })
    .await;
    let spans = receiver.of_trace(TRACE_ID);
    let named = |name: &str| -> &Span {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no span {name:?} in {:?}", names(&spans)))
    };
    let request = named("POST /graphql");
    assert_eq!(hex(&request.parent_span_id), CALLER_SPAN);
    let operation = named("mutation PayOrder");
    assert_eq!(operation.parent_span_id, request.span_id);
    let wait = named("wait for a payOrder batch");
    assert_eq!(wait.parent_span_id, operation.span_id);
    let batch = named("payOrder batch");
    assert_eq!(batch.parent_span_id, wait.span_id);
    let transaction = named("transaction payOrder");
    assert_eq!(transaction.parent_span_id, batch.span_id);
    let publish = named("publish orders.paid");
    assert_eq!(hex(&publish.span_id), published_by);
    // Published in the trace of the operation that wrote the event.
    assert_eq!(publish.parent_span_id, operation.span_id);

    // Never a variable nor a token in a span.
    for span in &spans {
        for value in attribute_values(span) {
            assert!(
                !value.contains(&order) && !value.contains("Bearer") && !value.contains("eyJ"),
                "{}: {value}",
                span.name
            );
        }
    }

    // The request's log line carries the trace id.
    let line = eventually("the request's log line", async {
        loop {
            match lines.recv().await {
                Some(line)
                    if line.contains("finished processing request")
                        && line.contains("/graphql") =>
                {
                    return line;
                }
                Some(_) => continue,
                None => panic!("the server's output ended"),
            }
        }
    })
    .await;
    assert!(line.contains(TRACE_ID), "{line}");
}

fn names(spans: &[Span]) -> Vec<&str> {
    spans.iter().map(|s| s.name.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_traceparent_starts_a_trace_of_the_servers_own() {
    let receiver = Receiver::start().await;
    let nats = NatsServer::start().await;
    let app = spawn_app().await;
    let (_server, address, _lines) = server(&app, &nats, &receiver).await;
    let response = reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .header("traceparent", format!("00-{TRACE_ID}-0000000000000000-01"))
        .json(&json!({ "query": "query Catalog { products { totalCount } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    wait_until("the query's spans", async || {
        receiver
            .spans
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.name == "query Catalog")
    })
    .await;
    let spans = receiver.spans.lock().unwrap().clone();
    let request = spans
        .iter()
        .find(|s| s.name == "GET /graphql" || s.name == "POST /graphql")
        .expect("the request's span");
    assert!(request.parent_span_id.is_empty(), "a root span");
    assert_ne!(hex(&request.trace_id), TRACE_ID);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_its_caller_did_not_sample_is_not_traced() {
    let receiver = Receiver::start().await;
    let nats = NatsServer::start().await;
    let app = spawn_app().await;
    let (_server, address, _lines) = server(&app, &nats, &receiver).await;
    let client = reqwest::Client::new();
    let ask = |flags: &'static str, name: &'static str| {
        client
            .post(format!("{address}/graphql"))
            .header(
                "traceparent",
                format!("00-{TRACE_ID}-{CALLER_SPAN}-{flags}"),
            )
            .json(&json!({ "query": format!("query {name} {{ products {{ totalCount }} }}") }))
            .send()
    };
    // Not sampled by its caller (flags 00), then sampled (01): spans are
    // exported in order, so once the second's are in, the first's would be.
    assert_eq!(ask("00", "Unsampled").await.unwrap().status(), 200);
    assert_eq!(ask("01", "Sampled").await.unwrap().status(), 200);
    wait_until("the sampled query's spans", async || {
        receiver
            .of_trace(TRACE_ID)
            .iter()
            .any(|s| s.name == "query Sampled")
    })
    .await;
    let names: Vec<String> = receiver
        .spans
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert!(
        !names.iter().any(|n| n == "query Unsampled"),
        "an unsampled request was traced: {names:?}"
    );
    assert_eq!(
        names.iter().filter(|n| *n == "POST /graphql").count(),
        1,
        "{names:?}"
    );
}
