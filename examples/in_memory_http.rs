//! A hyper service and its client in one process over `streamview::duplex`: how a service is
//! tested without a socket. The service greets by name and counts uploaded bytes; the client
//! sends a few requests on one keep-alive HTTP/1.1 connection and checks each answer.
//!
//! ```sh
//! cargo run --example in_memory_http
//! ```

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The service under test, as it would run behind a real listener.
async fn service(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let reply = match (request.method(), request.uri().path()) {
        (&Method::GET, path) if path.starts_with("/hello/") => {
            format!("hello, {}", &path["/hello/".len()..])
        }
        (&Method::POST, "/count") => {
            let body = request.into_body().collect().await?.to_bytes();
            format!("{} bytes", body.len())
        }
        _ => {
            let mut response = Response::new(Full::new(Bytes::from_static(b"no such page")));
            *response.status_mut() = StatusCode::NOT_FOUND;
            return Ok(response);
        }
    };
    Ok(Response::new(Full::new(Bytes::from(reply))))
}

/// Sends one request and returns the status and the body as text.
async fn fetch(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    method: Method,
    path: &str,
    body: &'static [u8],
) -> Result<(StatusCode, String), Error> {
    sender.ready().await?;
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "in-memory")
        .body(Full::new(Bytes::from_static(body)))?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8(body.to_vec())?))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // One end per side: what the server end reads, the client end wrote, and back.
    let (client_end, server_end) = streamview::duplex(64 * 1024);

    let server = tokio::spawn(async move {
        hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(server_end), service_fn(service))
            .await
    });

    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(client_end)).await?;
    let client_connection = tokio::spawn(connection);

    let exchanges: [(Method, &str, &'static [u8], StatusCode, &str); 3] = [
        (
            Method::GET,
            "/hello/world",
            b"",
            StatusCode::OK,
            "hello, world",
        ),
        (
            Method::POST,
            "/count",
            &[7; 100_000],
            StatusCode::OK,
            "100000 bytes",
        ),
        (
            Method::GET,
            "/missing",
            b"",
            StatusCode::NOT_FOUND,
            "no such page",
        ),
    ];
    for (method, path, body, expected_status, expected_body) in exchanges {
        let shown = format!("{method} {path}");
        let (status, text) = fetch(&mut sender, method, path, body).await?;
        println!("{shown} ({} bytes sent) -> {status} {text:?}", body.len());
        assert_eq!((status, text.as_str()), (expected_status, expected_body));
    }

    // Dropping the client ends the connection; the server then finishes cleanly.
    drop(sender);
    client_connection.await??;
    server.await??;
    println!("3 requests on one connection, no socket; the server closed cleanly");
    Ok(())
}
