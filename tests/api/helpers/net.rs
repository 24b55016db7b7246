//! Plain TCP for the tests: free ports for the servers they start.

/// A free TCP port on the loopback interface (free when asked: a server
/// started on it a moment later gets it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
