//! Real protocol stacks over `duplex()`: hyper HTTP/1.1 and HTTP/2, tokio-rustls, and
//! `Framed<DuplexStream, LengthDelimitedCodec>`. Every byte that crosses is checked.
// Off in the AddressSanitizer build, which leaves these dev-dependencies out (see Cargo.toml).
#![cfg(all(feature = "tokio", not(streamview_sanitize)))]

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use streamview::{duplex, DuplexStream};

/// Generous: a hang fails the test instead of blocking CI; nothing here measures time.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Bytes in flight per direction, as a test of a service would pick.
const CAPACITY: usize = 64 * 1024;

const MIB: usize = 1 << 20;

async fn within_timeout<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(TIMEOUT, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within {TIMEOUT:?}"),
    }
}

/// The byte at `offset` of the stream salted with `salt`: a byte in the wrong place, lost or
/// doubled shows up.
fn pattern_byte(offset: usize, salt: u8) -> u8 {
    ((offset % 251) as u8).wrapping_add(salt) ^ ((offset >> 16) as u8)
}

fn pattern(offset: usize, len: usize, salt: u8) -> Bytes {
    (offset..offset + len)
        .map(|i| pattern_byte(i, salt))
        .collect()
}

/// Checks `chunk` against the pattern at `offset`, naming the first wrong byte.
fn check_pattern(offset: usize, chunk: &[u8], salt: u8) {
    if let Some(i) = (0..chunk.len()).find(|&i| chunk[i] != pattern_byte(offset + i, salt)) {
        panic!(
            "byte {} is {}, expected {}",
            offset + i,
            chunk[i],
            pattern_byte(offset + i, salt)
        );
    }
}

mod http {
    use super::*;

    use http_body_util::combinators::BoxBody;
    use http_body_util::{BodyExt, Full, StreamBody};
    use hyper::body::{Frame, Incoming};
    use hyper::{Request, Response};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use tokio::sync::mpsc;
    use tokio::task::JoinHandle;

    type BoxError = Box<dyn std::error::Error + Send + Sync>;
    type Body = BoxBody<Bytes, BoxError>;

    const SALT_UP: u8 = 11;
    const SALT_DOWN: u8 = 29;
    const CHUNK: usize = 64 * 1024;

    #[derive(Debug, Clone, Copy)]
    enum Protocol {
        Http1,
        Http2,
    }

    const PROTOCOLS: [Protocol; 2] = [Protocol::Http1, Protocol::Http2];

    fn full(body: impl Into<Bytes>) -> Body {
        Full::new(body.into())
            .map_err(|never: Infallible| match never {})
            .boxed()
    }

    /// A body of `total` pattern bytes in `CHUNK`-sized frames, produced as it is polled.
    fn pattern_body(total: usize, salt: u8) -> Body {
        let frames = futures::stream::iter((0..total).step_by(CHUNK)).map(move |offset| {
            let len = CHUNK.min(total - offset);
            Ok::<_, BoxError>(Frame::data(pattern(offset, len, salt)))
        });
        BodyExt::boxed(StreamBody::new(frames))
    }

    /// Reads a body to its end, checking every byte against the pattern; returns its length.
    async fn check_body(mut body: Incoming, salt: u8) -> Result<usize, hyper::Error> {
        let mut offset = 0;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                check_pattern(offset, &data, salt);
                offset += data.len();
            }
        }
        Ok(offset)
    }

    /// What the server saw of a request whose client hung up mid-body.
    #[derive(Debug)]
    enum Seen {
        FirstBytes,
        Ended(Result<usize, String>),
    }

    /// The service under test: what a user would route in a real application.
    async fn service(
        request: Request<Incoming>,
        seen: mpsc::UnboundedSender<Seen>,
    ) -> Result<Response<Body>, Infallible> {
        let path = request.uri().path().to_owned();
        let response = match path.as_str() {
            "/upload" => {
                let result = check_body(request.into_body(), SALT_UP).await;
                match result {
                    Ok(len) => Response::new(full(len.to_string())),
                    Err(error) => Response::builder()
                        .status(400)
                        .body(full(error.to_string()))
                        .unwrap(),
                }
            }
            "/download" => Response::new(pattern_body(8 * MIB, SALT_DOWN)),
            // The request body streams straight back as the response body.
            "/echo" => Response::new(request.into_body().map_err(BoxError::from).boxed()),
            "/hangup" => {
                let mut body = request.into_body();
                let mut received = 0;
                let ended = loop {
                    match body.frame().await {
                        None => break Ok(received),
                        Some(Err(error)) => break Err(error.to_string()),
                        Some(Ok(frame)) => {
                            if received == 0 {
                                let _ = seen.send(Seen::FirstBytes);
                            }
                            received += frame.data_ref().map_or(0, Bytes::len);
                        }
                    }
                };
                let _ = seen.send(Seen::Ended(ended));
                Response::new(full(""))
            }
            other => Response::new(full(format!("hello from {other}"))),
        };
        Ok(response)
    }

    /// Serves one connection over `end` until the client goes away.
    fn serve(
        end: DuplexStream,
        protocol: Protocol,
    ) -> (JoinHandle<()>, mpsc::UnboundedReceiver<Seen>) {
        let (seen_tx, seen_rx) = mpsc::unbounded_channel();
        let service = hyper::service::service_fn(move |request| service(request, seen_tx.clone()));
        let io = TokioIo::new(end);
        let task = tokio::spawn(async move {
            // The connection's own result is not the subject: hang-ups end it with an error.
            let _ = match protocol {
                Protocol::Http1 => {
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await
                }
                Protocol::Http2 => {
                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(io, service)
                        .await
                }
            };
        });
        (task, seen_rx)
    }

    enum Client {
        Http1(hyper::client::conn::http1::SendRequest<Body>),
        Http2(hyper::client::conn::http2::SendRequest<Body>),
    }

    impl Client {
        async fn send(&mut self, request: Request<Body>) -> Response<Incoming> {
            match self {
                Client::Http1(sender) => {
                    sender.ready().await.unwrap();
                    sender.send_request(request).await.unwrap()
                }
                Client::Http2(sender) => {
                    sender.ready().await.unwrap();
                    sender.send_request(request).await.unwrap()
                }
            }
        }
    }

    /// A client connection over `end`; the returned task drives it (abort it to hang up).
    async fn connect(end: DuplexStream, protocol: Protocol) -> (Client, JoinHandle<()>) {
        let io = TokioIo::new(end);
        match protocol {
            Protocol::Http1 => {
                let (sender, connection) = hyper::client::conn::http1::handshake(io).await.unwrap();
                let task = tokio::spawn(async move {
                    let _ = connection.await;
                });
                (Client::Http1(sender), task)
            }
            Protocol::Http2 => {
                let (sender, connection) =
                    hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                        .await
                        .unwrap();
                let task = tokio::spawn(async move {
                    let _ = connection.await;
                });
                (Client::Http2(sender), task)
            }
        }
    }

    fn request(method: &str, path: &str, body: Body) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri(format!("http://in-memory{path}"))
            .body(body)
            .unwrap()
    }

    async fn text(response: Response<Incoming>) -> String {
        let body = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_hundred_requests_share_one_keep_alive_connection() {
        for protocol in PROTOCOLS {
            within_timeout("200 requests", async {
                let (client_end, server_end) = duplex(CAPACITY);
                let (server, _seen) = serve(server_end, protocol);
                let (mut client, connection) = connect(client_end, protocol).await;
                for i in 0..200 {
                    let response = client
                        .send(request("GET", &format!("/item/{i}"), full("")))
                        .await;
                    assert_eq!(response.status(), 200, "{protocol:?}");
                    assert_eq!(text(response).await, format!("hello from /item/{i}"));
                }
                drop(client);
                connection.await.unwrap();
                server.await.unwrap();
            })
            .await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn eight_mib_chunked_upload_and_eight_mib_download() {
        for protocol in PROTOCOLS {
            within_timeout("upload and download", async {
                let (client_end, server_end) = duplex(CAPACITY);
                let (_server, _seen) = serve(server_end, protocol);
                let (mut client, _connection) = connect(client_end, protocol).await;

                // No content-length: HTTP/1.1 sends it chunked.
                let upload = request("POST", "/upload", pattern_body(8 * MIB, SALT_UP));
                let response = client.send(upload).await;
                assert_eq!(response.status(), 200, "{protocol:?}");
                assert_eq!(text(response).await, (8 * MIB).to_string());

                let response = client.send(request("GET", "/download", full(""))).await;
                assert_eq!(response.status(), 200);
                let len = check_body(response.into_body(), SALT_DOWN).await.unwrap();
                assert_eq!(len, 8 * MIB, "{protocol:?}");
            })
            .await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn full_duplex_echo_of_eight_mib() {
        // The client sends a chunk only once the echo of all but the last four came back, so
        // the exchange completes only if both directions flow at the same time.
        const TOTAL: usize = 8 * MIB;
        const IN_FLIGHT: usize = 4 * CHUNK;
        for protocol in PROTOCOLS {
            within_timeout("full-duplex echo", async {
                let (client_end, server_end) = duplex(CAPACITY);
                let (_server, _seen) = serve(server_end, protocol);
                let (mut client, _connection) = connect(client_end, protocol).await;

                let (chunks, chunk_rx) = futures::channel::mpsc::unbounded::<Bytes>();
                let body =
                    StreamBody::new(chunk_rx.map(|chunk| Ok::<_, BoxError>(Frame::data(chunk))));
                let mut sent = 0;
                while sent < IN_FLIGHT {
                    chunks
                        .unbounded_send(pattern(sent, CHUNK, SALT_UP))
                        .unwrap();
                    sent += CHUNK;
                }
                let response = client
                    .send(request("POST", "/echo", BodyExt::boxed(body)))
                    .await;
                assert_eq!(response.status(), 200);
                let mut echo = response.into_body();
                let mut received = 0;
                let mut chunks = Some(chunks);
                while let Some(frame) = echo.frame().await {
                    let Ok(data) = frame.unwrap().into_data() else {
                        continue;
                    };
                    check_pattern(received, &data, SALT_UP);
                    received += data.len();
                    while sent < TOTAL && sent - received < IN_FLIGHT {
                        let sender = chunks.as_ref().unwrap();
                        sender
                            .unbounded_send(pattern(sent, CHUNK, SALT_UP))
                            .unwrap();
                        sent += CHUNK;
                    }
                    if sent == TOTAL {
                        chunks = None; // ends the request body
                    }
                }
                assert_eq!(received, TOTAL, "{protocol:?}");
            })
            .await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_hanging_up_mid_body_fails_the_servers_body_read() {
        for protocol in PROTOCOLS {
            within_timeout("hang-up", async {
                let (client_end, server_end) = duplex(CAPACITY);
                let (_server, mut seen) = serve(server_end, protocol);
                let (mut client, connection) = connect(client_end, protocol).await;

                // A body announced as 8 MiB, of which 1 MiB is sent before the client vanishes.
                let (chunks, chunk_rx) = futures::channel::mpsc::unbounded::<Bytes>();
                let body =
                    StreamBody::new(chunk_rx.map(|chunk| Ok::<_, BoxError>(Frame::data(chunk))));
                for offset in (0..MIB).step_by(CHUNK) {
                    chunks
                        .unbounded_send(pattern(offset, CHUNK, SALT_UP))
                        .unwrap();
                }
                let upload = Request::builder()
                    .method("POST")
                    .uri("http://in-memory/hangup")
                    .header("content-length", (8 * MIB).to_string())
                    .body(BodyExt::boxed(body))
                    .unwrap();
                let pending_response = tokio::spawn(async move { client.send(upload).await });
                assert!(matches!(seen.recv().await, Some(Seen::FirstBytes)));

                // Hang up: the connection task and its end of the duplex are dropped.
                pending_response.abort();
                connection.abort();
                let _ = connection.await;
                drop(chunks);

                match seen.recv().await {
                    Some(Seen::Ended(Err(_))) => {}
                    other => panic!("{protocol:?}: the server's body read ended with {other:?}"),
                }
            })
            .await;
        }
    }
}

mod tls {
    use super::*;

    use std::io;
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
    use tokio_rustls::{TlsAcceptor, TlsConnector};

    const SALT_CLIENT: u8 = 3;
    const SALT_SERVER: u8 = 5;

    /// A connector and an acceptor sharing one self-signed certificate for `localhost`.
    fn configs() -> (TlsConnector, TlsAcceptor) {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = certified.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(cert).unwrap();
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        (
            TlsConnector::from(Arc::new(client)),
            TlsAcceptor::from(Arc::new(server)),
        )
    }

    /// Writes `total` pattern bytes, then `close_notify` (shutdown), while reading the peer's
    /// stream to its end; returns how many bytes were read, every one checked.
    async fn exchange<S>(stream: S, total: usize, send_salt: u8, receive_salt: u8) -> usize
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite,
    {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let send = async {
            for offset in (0..total).step_by(64 * 1024) {
                let len = (64 * 1024).min(total - offset);
                writer
                    .write_all(&pattern(offset, len, send_salt))
                    .await
                    .unwrap();
            }
            writer.shutdown().await.unwrap();
        };
        let receive = async {
            let mut buf = vec![0u8; 50_000];
            let mut received = 0;
            loop {
                let n = reader.read(&mut buf).await.unwrap();
                if n == 0 {
                    break received;
                }
                check_pattern(received, &buf[..n], receive_salt);
                received += n;
            }
        };
        futures::join!(send, receive).1
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn handshake_sixteen_mib_each_way_and_close_notify() {
        const TOTAL: usize = 16 * MIB;
        let (connector, acceptor) = configs();
        let (client_end, server_end) = duplex(CAPACITY);
        within_timeout("TLS exchange", async {
            let server = tokio::spawn(async move {
                let stream = acceptor.accept(server_end).await.unwrap();
                exchange(stream, TOTAL, SALT_SERVER, SALT_CLIENT).await
            });
            let name = ServerName::try_from("localhost").unwrap();
            let stream = connector.connect(name, client_end).await.unwrap();
            // read_to_end semantics: a clean end of file means close_notify arrived.
            let at_client = exchange(stream, TOTAL, SALT_CLIENT, SALT_SERVER).await;
            assert_eq!(at_client, TOTAL);
            assert_eq!(server.await.unwrap(), TOTAL);
        })
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_peer_closing_without_close_notify_gives_unexpected_eof() {
        let (connector, acceptor) = configs();
        let (client_end, server_end) = duplex(CAPACITY);
        within_timeout("TLS truncation", async {
            let (accepted_tx, accepted) = tokio::sync::oneshot::channel();
            let server = tokio::spawn(async move {
                let mut stream = acceptor.accept(server_end).await.unwrap();
                // The server's last handshake flight (TLS 1.3 session tickets) is written by
                // now; a client gone earlier would make that write fail instead.
                accepted_tx.send(()).unwrap();
                let mut received = Vec::new();
                let result = stream.read_to_end(&mut received).await;
                (result.map_err(|error| error.kind()), received)
            });
            let name = ServerName::try_from("localhost").unwrap();
            let mut stream = connector.connect(name, client_end).await.unwrap();
            accepted.await.unwrap();
            stream.write_all(b"cut short").await.unwrap();
            stream.flush().await.unwrap();
            drop(stream); // no shutdown: no close_notify
            let (result, received) = server.await.unwrap();
            assert_eq!(result, Err(io::ErrorKind::UnexpectedEof));
            assert_eq!(received, b"cut short");
        })
        .await;
    }
}

mod framed {
    use super::*;

    use tokio_util::codec::{Framed, LengthDelimitedCodec};

    /// Frame lengths from 1 B to 1 MiB: every power of two and its neighbours.
    fn frame_lengths() -> Vec<usize> {
        let mut lengths = vec![1, 2, 3];
        let mut power = 4;
        while power <= MIB {
            lengths.extend([power - 1, power, power + 1]);
            power *= 2;
        }
        lengths.retain(|&len| (1..=MIB).contains(&len));
        lengths
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn length_delimited_echo_of_frames_from_one_byte_to_one_mib() {
        let lengths = frame_lengths();
        let (client_end, server_end) = duplex(CAPACITY);
        within_timeout("Framed echo", async {
            let server = tokio::spawn(async move {
                let mut framed = Framed::new(server_end, LengthDelimitedCodec::new());
                let mut echoed = 0;
                while let Some(frame) = framed.next().await {
                    framed.send(frame.unwrap().freeze()).await.unwrap();
                    echoed += 1;
                }
                echoed
            });
            let (mut sink, mut stream) =
                Framed::new(client_end, LengthDelimitedCodec::new()).split();
            let sent_lengths = lengths.clone();
            let sender = tokio::spawn(async move {
                for (index, &len) in sent_lengths.iter().enumerate() {
                    sink.send(pattern(0, len, index as u8)).await.unwrap();
                }
                sink.close().await.unwrap();
            });
            for (index, &len) in lengths.iter().enumerate() {
                let frame = stream.next().await.expect("an echo per frame").unwrap();
                assert_eq!(frame.len(), len, "frame {index}");
                check_pattern(0, &frame, index as u8);
            }
            sender.await.unwrap();
            assert!(stream.next().await.is_none());
            assert_eq!(server.await.unwrap(), lengths.len());
        })
        .await;
    }

    /// A `Framed` echo over a `DuplexStream` split with `into_split`: what a proxy does.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn framed_halves_from_into_split() {
        use tokio_util::codec::{FramedRead, FramedWrite};
        let (client_end, server_end) = duplex(CAPACITY);
        let (server_reader, server_writer) = server_end.into_split();
        within_timeout("split Framed echo", async {
            let server = tokio::spawn(async move {
                let frames = FramedRead::new(server_reader, LengthDelimitedCodec::new())
                    .map(|frame| frame.map(|frame| frame.freeze()));
                frames
                    .forward(FramedWrite::new(server_writer, LengthDelimitedCodec::new()))
                    .await
            });
            let mut framed = Framed::new(client_end, LengthDelimitedCodec::new());
            for len in [1, 1000, 100_000] {
                framed.send(pattern(0, len, 1)).await.unwrap();
                let frame = framed.next().await.unwrap().unwrap();
                assert_eq!(frame.len(), len);
                check_pattern(0, &frame, 1);
            }
            drop(framed);
            server.await.unwrap().unwrap();
        })
        .await;
    }
}
