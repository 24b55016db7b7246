//! Plain TCP for the tests: free ports for the servers they start, and
//! connections to the app from any local address.

use std::sync::atomic::{AtomicU32, Ordering};

use tokio::net::TcpStream;

use super::app::TestApp;

/// The ports [`free_port`] hands out: below the kernel's ephemeral range
/// (32768 and up), so that no outgoing connection of the machine takes one
/// between the test choosing it and its server binding it.
const PORTS: std::ops::Range<u32> = 10_000..30_000;

/// The next port [`free_port`] tries (0 until the first call).
static NEXT_PORT: AtomicU32 = AtomicU32::new(0);

/// A free TCP port on the loopback interface, for a server the test
/// starts on it. Each is handed out once per test process (from a random
/// start, so that test processes running side by side rarely try the same
/// ones), and only if nothing listens on it.
pub fn free_port() -> u16 {
    let start = fastrand::u32(PORTS);
    let _ = NEXT_PORT.compare_exchange(0, start, Ordering::SeqCst, Ordering::SeqCst);
    loop {
        let n = NEXT_PORT.fetch_add(1, Ordering::SeqCst);
        let port = PORTS.start + (n - PORTS.start) % PORTS.len() as u32;
        let port = u16::try_from(port).expect("a port");
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A TCP connection to `app`.
pub async fn connect(app: &TestApp) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    TcpStream::connect(address).await.expect("connects")
}

/// A TCP connection to `app` from the local address `source` (any
/// 127.x.y.z reaches the app on loopback), so that a test can play several
/// clients.
pub async fn connect_from(app: &TestApp, source: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind(format!("{source}:0").parse().expect("an address"))
        .expect("bound");
    let address = app.address.trim_start_matches("http://");
    socket
        .connect(address.parse().expect("an address"))
        .await
        .expect("connects")
}
