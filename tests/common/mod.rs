//! Helpers shared by the integration tests that need a real socket.

/// A connected pair of sockets: a Unix socket pair where the platform has one, a TCP connection
/// on loopback elsewhere, so the socket tests compile and run on every platform.
#[cfg(unix)]
pub async fn socket_pair() -> (tokio::net::UnixStream, tokio::net::UnixStream) {
    tokio::net::UnixStream::pair().expect("a Unix socket pair")
}

/// A connected pair of sockets: a TCP connection on loopback (this platform has no Unix sockets).
#[cfg(not(unix))]
pub async fn socket_pair() -> (tokio::net::TcpStream, tokio::net::TcpStream) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let address = listener.local_addr().expect("local address");
    let (connected, accepted) =
        tokio::join!(tokio::net::TcpStream::connect(address), listener.accept());
    (connected.expect("connect"), accepted.expect("accept").0)
}
