//! Flushing segments to a Unix socket (TCP on loopback where there are no Unix sockets):
//! `AsyncStream::write_to` against the three usual ways.
//!
//! 256 MiB per iteration (set `STREAMVIEW_BENCH_MIB` to shrink it for a quick run), made of
//! segments of 64 B, 1 KiB and 16 KiB (`STREAMVIEW_BENCH_SIZES=512,2048,...` to sweep others),
//! written from a current-thread Tokio runtime to a `tokio::net::UnixStream` while a plain
//! thread drains the peer end:
//!
//! - `write_to`: the segments queued in an `AsyncStream`, flushed with `write_to`;
//! - `write_all_each`: one `write_all` per segment;
//! - `copy_first`: segments copied into a 64 KiB `BytesMut`, written whenever it is full;
//! - `writev_64`: `write_vectored` of 64 segments at a time, partial writes resumed.
//!
//! Building the inputs is outside the timed region. Each strategy writes through a wrapper that
//! counts the write calls that moved bytes; write calls per MiB are printed after each group.
//!
//! The clock is wall time by default. On a shared, busy machine the four strategies of a group
//! run seconds apart under different loads, so `STREAMVIEW_BENCH_CLOCK=cpu` times instead the
//! CPU time the sending thread used (user + system, from `/proc/thread-self/stat`, Linux only):
//! the work each strategy costs, whatever else the machine is doing. It has the kernel's
//! 10 ms tick as resolution, so give it a `--measurement-time` of several seconds.
//!
//! A second group, `read_from/<read size>`, reads 16 MiB from an in-memory `AsyncRead` that
//! hands out `<read size>` bytes per call: `read_from` (into the stream's write tail, consumed as
//! it goes) against its peer `bytesmut_read_buf` (tokio-util's `read_buf` into one `BytesMut`,
//! cleared as it goes), so the cost of the stream's bookkeeping around one read shows.
//!
//! Run: `cargo bench --bench write_to -- --warm-up-time 1 --measurement-time 3`.

use std::env;
use std::io::{self, IoSlice, Read};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use streamview::{AsyncStream, MAX_WRITE_SLICES};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::runtime::Runtime;

const COPY_BUFFER: usize = 64 * 1024;

/// Counts the write calls that returned bytes (pending polls are not system calls that moved
/// anything, so they are not counted).
struct CountingWriter<W> {
    inner: W,
    calls: u64,
}

impl<W: AsyncWrite + Unpin> AsyncWrite for CountingWriter<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(poll, Poll::Ready(Ok(_))) {
            self.calls += 1;
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(_))) {
            self.calls += 1;
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(unix)]
type Stream = tokio::net::UnixStream;
#[cfg(not(unix))]
type Stream = tokio::net::TcpStream;

type Socket = CountingWriter<Stream>;

/// A connected pair: a Unix socket pair, or a TCP connection on loopback without Unix sockets.
#[cfg(unix)]
async fn socket_pair() -> io::Result<(Stream, Stream)> {
    Stream::pair()
}

/// A connected pair: a Unix socket pair, or a TCP connection on loopback without Unix sockets.
#[cfg(not(unix))]
async fn socket_pair() -> io::Result<(Stream, Stream)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (connected, accepted) = tokio::join!(Stream::connect(address), listener.accept());
    Ok((connected?, accepted?.0))
}

/// A connected socket whose peer is drained by a plain thread until the socket is dropped.
fn drained_socket(runtime: &Runtime) -> Socket {
    let (ours, theirs) = runtime.block_on(socket_pair()).expect("socket pair");
    let mut theirs = theirs.into_std().expect("std socket");
    theirs.set_nonblocking(false).expect("blocking peer");
    thread::spawn(move || {
        let mut sink = vec![0u8; 256 * 1024];
        while matches!(theirs.read(&mut sink), Ok(n) if n > 0) {}
    });
    CountingWriter {
        inner: ours,
        calls: 0,
    }
}

async fn write_all_each(socket: &mut Socket, segments: Vec<Bytes>) -> io::Result<()> {
    for segment in segments {
        socket.write_all(&segment).await?;
    }
    Ok(())
}

async fn copy_first(socket: &mut Socket, segments: Vec<Bytes>) -> io::Result<()> {
    let mut staging = BytesMut::with_capacity(COPY_BUFFER);
    for segment in segments {
        if staging.len() + segment.len() > COPY_BUFFER && !staging.is_empty() {
            socket.write_all(&staging).await?;
            staging.clear();
        }
        staging.extend_from_slice(&segment);
    }
    socket.write_all(&staging).await
}

async fn writev_64(socket: &mut Socket, segments: Vec<Bytes>) -> io::Result<()> {
    for batch in segments.chunks(MAX_WRITE_SLICES) {
        // A short write resumes at the first segment not wholly written, from its offset.
        let (mut first, mut offset) = (0, 0);
        while first < batch.len() {
            let mut slices = Vec::with_capacity(batch.len() - first);
            slices.push(IoSlice::new(&batch[first][offset..]));
            slices.extend(
                batch[first + 1..]
                    .iter()
                    .map(|segment| IoSlice::new(segment)),
            );
            let mut n = socket.write_vectored(&slices).await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            while n > 0 {
                let left = batch[first].len() - offset;
                if n >= left {
                    n -= left;
                    first += 1;
                    offset = 0;
                } else {
                    offset += n;
                    n = 0;
                }
            }
        }
    }
    Ok(())
}

/// What the timed region is measured with.
#[derive(Clone, Copy, PartialEq)]
enum Clock {
    Wall,
    SenderCpu,
}

/// A point on the chosen clock.
fn now(clock: Clock) -> Duration {
    match clock {
        Clock::Wall => EPOCH.with(|epoch| epoch.elapsed()),
        Clock::SenderCpu => thread_cpu_time(),
    }
}

thread_local! {
    static EPOCH: Instant = Instant::now();
}

/// User plus system CPU time of the calling thread, from `/proc/thread-self/stat` (fields 14
/// and 15, in ticks of 1/100 s: Linux's fixed `USER_HZ`).
fn thread_cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("/proc/thread-self/stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("stat format") + 2..]
        .split(' ')
        .collect();
    let ticks: u64 =
        fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    Duration::from_millis(ticks * 10)
}

fn env_usize_list(name: &str, default: &[usize]) -> Vec<usize> {
    match env::var(name) {
        Ok(list) => list
            .split(',')
            .map(|n| n.trim().parse().expect("a comma-separated list of numbers"))
            .collect(),
        Err(_) => default.to_vec(),
    }
}

fn bench_write_to(c: &mut Criterion) {
    let mib = env_usize_list("STREAMVIEW_BENCH_MIB", &[256])[0];
    let sizes = env_usize_list("STREAMVIEW_BENCH_SIZES", &[64, 1024, 16 * 1024]);
    let total = mib * 1024 * 1024;
    let clock = match env::var("STREAMVIEW_BENCH_CLOCK").as_deref() {
        Ok("cpu") => Clock::SenderCpu,
        Ok("wall") | Err(_) => Clock::Wall,
        Ok(other) => panic!("STREAMVIEW_BENCH_CLOCK={other:?}: use wall or cpu"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let content = Bytes::from((0..total).map(|i| (i % 251) as u8).collect::<Vec<u8>>());

    for size in sizes {
        let segments: Vec<Bytes> = (0..total)
            .step_by(size)
            .map(|start| content.slice(start..(start + size).min(total)))
            .collect();
        let clock_name = if clock == Clock::Wall { "" } else { "/cpu" };
        let mut group = c.benchmark_group(format!("flush{clock_name}/{mib}MiB"));
        group.throughput(Throughput::Bytes(total as u64));
        group.sample_size(10);
        group.sampling_mode(SamplingMode::Flat);

        let mut report = Vec::new();
        for name in ["write_to", "write_all_each", "copy_first", "writev_64"] {
            let mut socket = drained_socket(&runtime);
            let mut bytes_sent = 0u64;
            group.bench_function(BenchmarkId::new(name, size), |b| {
                b.iter_custom(|iters| {
                    let mut elapsed = Duration::ZERO;
                    for _ in 0..iters {
                        // Every strategy owns its segments and releases them once sent, as a
                        // server does with its frames: the releases are timed for all four.
                        let (owned, mut stream) = if name == "write_to" {
                            (Vec::new(), segments.iter().cloned().collect())
                        } else {
                            (segments.clone(), AsyncStream::new())
                        };
                        elapsed += runtime.block_on(async {
                            let start = now(clock);
                            match name {
                                "write_to" => stream.write_to(&mut socket).await.map(drop),
                                "write_all_each" => write_all_each(&mut socket, owned).await,
                                "copy_first" => copy_first(&mut socket, owned).await,
                                _ => writev_64(&mut socket, owned).await,
                            }
                            .expect("write");
                            now(clock) - start
                        });
                        bytes_sent += total as u64;
                    }
                    elapsed
                })
            });
            if bytes_sent == 0 {
                continue; // filtered out on the command line
            }
            let calls_per_mib = socket.calls as f64 / (bytes_sent as f64 / (1024.0 * 1024.0));
            report.push(format!(
                "{name}/{size}: {calls_per_mib:.1} write calls per MiB"
            ));
        }
        group.finish();
        for line in report {
            println!("{line}");
        }
    }
}

/// An endless in-memory source that hands out `chunk` bytes per `poll_read`, like a socket whose
/// receive buffer holds that much each time.
struct ChunkedSource {
    pattern: Vec<u8>,
    chunk: usize,
}

impl tokio::io::AsyncRead for ChunkedSource {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.chunk.min(buf.remaining());
        buf.put_slice(&self.pattern[..n]);
        Poll::Ready(Ok(()))
    }
}

fn bench_read_from(c: &mut Criterion) {
    const TOTAL: usize = 16 * 1024 * 1024;
    let waker = futures::task::noop_waker();
    for chunk in env_usize_list("STREAMVIEW_BENCH_READ_SIZES", &[512, 16 * 1024]) {
        let mut group = c.benchmark_group(format!("read_from/{chunk}"));
        group.throughput(Throughput::Bytes(TOTAL as u64));
        let pattern: Vec<u8> = (0..chunk).map(|i| (i % 251) as u8).collect();
        group.bench_function("read_from", |b| {
            let mut source = ChunkedSource {
                pattern: pattern.clone(),
                chunk,
            };
            let mut cx = Context::from_waker(&waker);
            b.iter(|| {
                let mut stream = AsyncStream::new();
                let mut read = 0;
                while read < TOTAL {
                    let poll = stream.poll_read_from(&mut cx, Pin::new(&mut source), 64 * 1024);
                    let Poll::Ready(Ok(n)) = poll else {
                        panic!("the in-memory source is always ready")
                    };
                    read += n;
                    stream.skip(n);
                }
                read
            })
        });
        group.bench_function("bytesmut_read_buf", |b| {
            let mut source = ChunkedSource {
                pattern: pattern.clone(),
                chunk,
            };
            let mut cx = Context::from_waker(&waker);
            b.iter(|| {
                let mut buffer = BytesMut::with_capacity(64 * 1024);
                let mut read = 0;
                while read < TOTAL {
                    let poll =
                        tokio_util::io::poll_read_buf(Pin::new(&mut source), &mut cx, &mut buffer);
                    let Poll::Ready(Ok(n)) = poll else {
                        panic!("the in-memory source is always ready")
                    };
                    read += n;
                    buffer.clear();
                }
                read
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench_write_to, bench_read_from);
criterion_main!(benches);
