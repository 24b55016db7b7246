//! Plain TCP for the tests: free ports for the servers they start, and
//! connections to the app from any local address.

use tokio::net::TcpStream;

use super::app::TestApp;

/// A free TCP port on the loopback interface (free when asked: a server
/// started on it a moment later gets it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
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
