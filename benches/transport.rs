//! Protocol stacks over `streamview::duplex` against the same stacks over `tokio::io::duplex`,
//! in the same run: hyper HTTP/1.1 keep-alive GETs, an 8 MiB HTTP/1.1 download, a
//! `Framed<_, LengthDelimitedCodec>` echo, and a segment echo (`write_segment`/`read_segment`
//! both ways, against `write_all`/`read_exact` of the same frames over tokio's duplex).
//!
//! Every row sets its connection up outside the timed part (`iter_custom`), with the server in
//! its own task and both transports with 64 KiB in flight per direction, on two runtimes: a
//! 2-worker multi-thread runtime (group `transport`), where the time is mostly the worker
//! threads waking each other, and a `current_thread` runtime (group `transport_current_thread`,
//! the one `#[tokio::test]` gives a test of a service), where it is the work each transport
//! does. hyper reads into its own buffer, so over either transport a byte is copied in and out
//! once; only the segment row uses streamview's zero-copy path.
//!
//! `cargo bench --bench transport -- --warm-up-time 1 --measurement-time 3`

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use futures::{SinkExt, StreamExt};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::runtime::Runtime;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

const CAPACITY: usize = 64 << 10;
const DOWNLOAD: usize = 8 << 20;
const BODY_CHUNK: usize = 64 << 10;
const ECHO_FRAME: usize = 4 << 10;
const ECHO_FRAMES: usize = 1024;
const SEGMENT_FRAME: usize = 16 << 10;
const SEGMENT_FRAMES: usize = 1024;

type Body = BoxBody<Bytes, Infallible>;

fn multi_thread_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn current_thread_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The two transports, each as its `duplex(capacity)` constructor.
trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    fn pair() -> (Self, Self)
    where
        Self: Sized;
}

impl Transport for streamview::DuplexStream {
    fn pair() -> (Self, Self) {
        streamview::duplex(CAPACITY)
    }
}

impl Transport for tokio::io::DuplexStream {
    fn pair() -> (Self, Self) {
        tokio::io::duplex(CAPACITY)
    }
}

/// The service: `/download` streams `DOWNLOAD` bytes in 64 KiB frames (clones of one buffer),
/// anything else answers a short text.
async fn service(request: Request<hyper::body::Incoming>) -> Result<Response<Body>, Infallible> {
    if request.uri().path() == "/download" {
        let chunk = Bytes::from(vec![0x5a; BODY_CHUNK]);
        let frames = futures::stream::iter(0..DOWNLOAD / BODY_CHUNK)
            .map(move |_| Ok::<_, Infallible>(Frame::data(chunk.clone())));
        return Ok(Response::new(BodyExt::boxed(StreamBody::new(frames))));
    }
    Ok(Response::new(BodyExt::boxed(Full::new(
        Bytes::from_static(b"hello, keep-alive"),
    ))))
}

/// An HTTP/1.1 connection over a fresh pair: the server task and the client's sender.
async fn http1_connection<T: Transport>() -> hyper::client::conn::http1::SendRequest<Empty<Bytes>> {
    let (client_end, server_end) = T::pair();
    tokio::spawn(async move {
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(
                TokioIo::new(server_end),
                hyper::service::service_fn(service),
            )
            .await;
    });
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(client_end))
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender
}

async fn get(
    sender: &mut hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    path: &str,
) -> usize {
    sender.ready().await.unwrap();
    let request = Request::get(format!("http://bench{path}"))
        .body(Empty::new())
        .unwrap();
    let mut body = sender.send_request(request).await.unwrap().into_body();
    let mut received = 0;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            received += black_box(data).len();
        }
    }
    received
}

async fn http1_gets<T: Transport>(iters: u64) -> Duration {
    let mut sender = http1_connection::<T>().await;
    let start = Instant::now();
    for _ in 0..iters {
        assert_eq!(get(&mut sender, "/hello").await, 17);
    }
    start.elapsed()
}

async fn http1_downloads<T: Transport>(iters: u64) -> Duration {
    let mut sender = http1_connection::<T>().await;
    let start = Instant::now();
    for _ in 0..iters {
        assert_eq!(get(&mut sender, "/download").await, DOWNLOAD);
    }
    start.elapsed()
}

/// `ECHO_FRAMES` frames of `ECHO_FRAME` bytes through a `Framed` echo server, the client
/// sending from one task and receiving in another.
async fn framed_echoes<T: Transport>(iters: u64) -> Duration {
    let (client_end, server_end) = T::pair();
    tokio::spawn(async move {
        let mut framed = Framed::new(server_end, LengthDelimitedCodec::new());
        while let Some(Ok(frame)) = framed.next().await {
            if framed.send(frame.freeze()).await.is_err() {
                break;
            }
        }
    });
    let (mut sink, mut stream) = Framed::new(client_end, LengthDelimitedCodec::new()).split();
    let frame = Bytes::from(vec![0xa5; ECHO_FRAME]);
    let start = Instant::now();
    for _ in 0..iters {
        let frames = frame.clone();
        let sending = tokio::spawn(async move {
            for _ in 0..ECHO_FRAMES {
                sink.feed(frames.clone()).await.unwrap();
            }
            sink.flush().await.unwrap();
            sink
        });
        for _ in 0..ECHO_FRAMES {
            black_box(stream.next().await.unwrap().unwrap());
        }
        sink = sending.await.unwrap();
    }
    start.elapsed()
}

/// `SEGMENT_FRAMES` frames of `SEGMENT_FRAME` bytes sent, echoed and received: segments handed
/// over whole with streamview, `write_all`/`read_exact` (two copies per direction) with tokio.
async fn segment_echoes_streamview(iters: u64) -> Duration {
    let (client, mut server) = streamview::duplex(CAPACITY);
    tokio::spawn(async move {
        while let Some(segment) = server.read_segment().await.unwrap() {
            if server.write_segment(segment).await.is_err() {
                break;
            }
        }
    });
    let (mut reader, mut writer) = client.into_split();
    let frame = Bytes::from(vec![0x3c; SEGMENT_FRAME]);
    let start = Instant::now();
    for _ in 0..iters {
        let frames = frame.clone();
        let sending = tokio::spawn(async move {
            for _ in 0..SEGMENT_FRAMES {
                writer.write_segment(frames.clone()).await.unwrap();
            }
            writer
        });
        let mut received = 0;
        while received < SEGMENT_FRAMES * SEGMENT_FRAME {
            received += black_box(reader.read_segment().await.unwrap().unwrap()).len();
        }
        writer = sending.await.unwrap();
    }
    start.elapsed()
}

async fn segment_echoes_tokio(iters: u64) -> Duration {
    let (client, mut server) = tokio::io::duplex(CAPACITY);
    tokio::spawn(async move {
        let mut buf = vec![0u8; SEGMENT_FRAME];
        while server.read_exact(&mut buf).await.is_ok() {
            if server.write_all(&buf).await.is_err() {
                break;
            }
        }
    });
    let (mut reader, mut writer) = tokio::io::split(client);
    let frame = Bytes::from(vec![0x3c; SEGMENT_FRAME]);
    let mut buf = vec![0u8; SEGMENT_FRAME];
    let start = Instant::now();
    for _ in 0..iters {
        let frames = frame.clone();
        let sending = tokio::spawn(async move {
            for _ in 0..SEGMENT_FRAMES {
                writer.write_all(&frames).await.unwrap();
            }
            writer
        });
        for _ in 0..SEGMENT_FRAMES {
            reader.read_exact(&mut buf).await.unwrap();
            black_box(&buf);
        }
        writer = sending.await.unwrap();
    }
    start.elapsed()
}

/// One workload over both transports, rows `<workload>/streamview` then `<workload>/tokio`
/// back to back, so load that drifts on a shared machine hits both alike.
fn stack_rows(
    group: &mut BenchmarkGroup<'_, WallTime>,
    runtime: &Runtime,
    workload: &str,
    throughput: Throughput,
    over_streamview: fn(u64) -> Pin<Box<dyn Future<Output = Duration>>>,
    over_tokio: fn(u64) -> Pin<Box<dyn Future<Output = Duration>>>,
) {
    group.throughput(throughput);
    for (name, measure) in [("streamview", over_streamview), ("tokio", over_tokio)] {
        group.bench_function(BenchmarkId::new(workload, name), |b| {
            b.iter_custom(|iters| runtime.block_on(measure(iters)))
        });
    }
}

fn transport(c: &mut Criterion) {
    for (group, runtime) in [
        ("transport", multi_thread_runtime()),
        ("transport_current_thread", current_thread_runtime()),
    ] {
        transport_rows(c, group, &runtime);
    }
}

fn transport_rows(c: &mut Criterion, group: &str, runtime: &Runtime) {
    type Streamview = streamview::DuplexStream;
    type Tokio = tokio::io::DuplexStream;
    let mut group = c.benchmark_group(group);
    stack_rows(
        &mut group,
        runtime,
        "http1_get",
        Throughput::Elements(1),
        |iters| Box::pin(http1_gets::<Streamview>(iters)),
        |iters| Box::pin(http1_gets::<Tokio>(iters)),
    );
    stack_rows(
        &mut group,
        runtime,
        "http1_download_8mib",
        Throughput::Bytes(DOWNLOAD as u64),
        |iters| Box::pin(http1_downloads::<Streamview>(iters)),
        |iters| Box::pin(http1_downloads::<Tokio>(iters)),
    );
    stack_rows(
        &mut group,
        runtime,
        "framed_echo_4k",
        Throughput::Bytes((ECHO_FRAMES * ECHO_FRAME) as u64),
        |iters| Box::pin(framed_echoes::<Streamview>(iters)),
        |iters| Box::pin(framed_echoes::<Tokio>(iters)),
    );
    stack_rows(
        &mut group,
        runtime,
        "segment_echo_16k",
        Throughput::Bytes((SEGMENT_FRAMES * SEGMENT_FRAME) as u64),
        |iters| Box::pin(segment_echoes_streamview(iters)),
        |iters| Box::pin(segment_echoes_tokio(iters)),
    );
    group.finish();
}

criterion_group!(benches, transport);
criterion_main!(benches);
