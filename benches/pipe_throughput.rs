//! Cross-task throughput: `streamview::pipe` against `tokio::io::duplex` and
//! `tokio::sync::mpsc::channel::<Bytes>`: a writer task and a reader task on a 2-worker
//! multi-thread runtime move 16 MiB per iteration in frames of one size (4,096 frames, up to
//! 256 MiB, for frames of 16 KiB and more: see `total`).
//!
//! The frames are slices of one pre-made buffer, cloned (a refcount bump each) in the untimed
//! setup so every writer owns them, as a producer would. The pipe and mpsc hand frames over
//! whole; duplex copies them in and out through a 64 KiB read buffer. The `pipe_read_64k` row is
//! the pipe read the way duplex is (`AsyncRead` into a 64 KiB buffer, one copy): it is not the
//! zero-copy path, it isolates what the per-frame `read_segment` costs. Each transport may hold the
//! same 256 KiB in flight (mpsc: that many bytes' worth of frames, at least one).
//!
//! Why the `pipe` and `mpsc` rows spread widely at 64 B: each of their reads and writes takes
//! one unit of Tokio's cooperative budget, so both tasks exhaust it every 128 frames and yield.
//! As we read Tokio's scheduler, a yield on a worker whose sibling is parked wakes that sibling
//! (a futex call) to steal a task, and a wake puts the woken task beside the waker (the LIFO
//! slot), so the two tasks keep migrating between the workers.
//! duplex's reader takes one unit per read of up to 64 KiB and rarely yields. Measured outside
//! this bench (interleaved runs of 10 on this shared 2-core machine), 64 B pipe: 8.6..48 ms with
//! the budget on both sides (which the pipe must keep), 10.5..16 ms with the writer task under
//! `tokio::task::coop::unconstrained`, 11.7..21 ms with the reader task under it.
//!
//! The `spawn_only` row moves nothing: its two tasks are spawned and joined and the producer
//! drops its frames. It is the floor every row pays per iteration. With 16 MiB per iteration it
//! was most of the `pipe` and `mpsc` rows' time from 16 KiB frames up (1,024, 256 and 16 frames),
//! hence the larger iterations there.
//!
//! The `pipe_bytes` and `duplex_64k` rows are the byte path the way code written for
//! `tokio::io::duplex` uses the pipe: `AsyncWrite::write_all` of each frame into `pipe(64 KiB)`,
//! read through `AsyncRead` into a 64 KiB buffer, against `tokio::io::duplex(64 KiB)` doing the
//! same in the same run.
//!
//! `cargo bench --bench pipe_throughput -- --warm-up-time 1 --measurement-time 3`
//! (add a filter such as `'pipe_bytes|duplex_64k'` for the byte-path rows alone)

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

mod common;

use common::read_all_64k;

/// Bytes moved per iteration: 16 MiB, or 4,096 frames up to 256 MiB (so 64 MiB of 16 KiB
/// frames, 256 MiB of 64 KiB and of 1 MiB frames). An iteration also spawns and joins two tasks,
/// which costs about as much as handing over a thousand large frames (the `spawn_only` row), so
/// large frames need many per iteration for the rows to measure the hand-off rather than that.
fn total(frame: usize) -> usize {
    (16 << 20).max((4096 * frame).min(256 << 20))
}
const IN_FLIGHT: usize = 256 << 10;
/// What the byte-path rows allow in flight: `pipe(64 KiB)` against `duplex(64 KiB)`.
const BYTE_PATH_IN_FLIGHT: usize = 64 << 10;
const FRAME_SIZES: [usize; 5] = [64, 1 << 10, 16 << 10, 64 << 10, 1 << 20];

#[derive(Clone, Copy)]
enum Transport {
    Pipe,
    /// The pipe's writer as in `Pipe`, its reader read as `duplex`'s is: through `AsyncRead`
    /// into a 64 KiB buffer (a copy, not the zero-copy segment path).
    PipeAsyncRead,
    Duplex,
    Mpsc,
    /// The pipe as a drop-in for `duplex(64 KiB)`: `AsyncWrite` in, `AsyncRead` out.
    PipeBytes,
    /// `duplex(64 KiB)`, the peer of `PipeBytes`.
    Duplex64k,
    /// No transport: the two tasks are spawned and joined, the producer drops its frames. What
    /// every row pays per iteration besides moving the frames.
    SpawnOnly,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Pipe => "pipe",
            Transport::PipeAsyncRead => "pipe_read_64k",
            Transport::Duplex => "duplex",
            Transport::Mpsc => "mpsc",
            Transport::PipeBytes => "pipe_bytes",
            Transport::Duplex64k => "duplex_64k",
            Transport::SpawnOnly => "spawn_only",
        }
    }

    /// Moves `frames` from a writer task to a reader task; returns the bytes received.
    async fn carry(self, frames: Vec<Bytes>) -> usize {
        match self {
            Transport::Pipe => through_pipe(frames).await,
            Transport::PipeAsyncRead => through_pipe_async_read(frames).await,
            Transport::Duplex => through_bytes(tokio::io::duplex(IN_FLIGHT), frames).await,
            Transport::Mpsc => through_mpsc(frames).await,
            Transport::PipeBytes => {
                through_bytes(streamview::pipe(BYTE_PATH_IN_FLIGHT), frames).await
            }
            Transport::Duplex64k => {
                through_bytes(tokio::io::duplex(BYTE_PATH_IN_FLIGHT), frames).await
            }
            Transport::SpawnOnly => spawn_only(frames).await,
        }
    }
}

/// The byte-stream rows' producer: `write_all` of each frame.
async fn write_all_frames(mut writer: impl AsyncWrite + Unpin, frames: Vec<Bytes>) {
    for frame in frames {
        writer.write_all(&frame).await.unwrap();
    }
}

async fn through_pipe(frames: Vec<Bytes>) -> usize {
    let (mut writer, mut reader) = streamview::pipe(IN_FLIGHT);
    let producer = tokio::spawn(async move {
        for frame in frames {
            writer.write_segment(frame).await.unwrap();
        }
    });
    let consumer = tokio::spawn(async move {
        let mut received = 0;
        while let Some(segment) = reader.read_segment().await.unwrap() {
            received += black_box(segment).len();
        }
        received
    });
    producer.await.unwrap();
    consumer.await.unwrap()
}

async fn through_pipe_async_read(frames: Vec<Bytes>) -> usize {
    let (mut writer, reader) = streamview::pipe(IN_FLIGHT);
    let producer = tokio::spawn(async move {
        for frame in frames {
            writer.write_segment(frame).await.unwrap();
        }
    });
    let consumer = tokio::spawn(read_all_64k(reader));
    producer.await.unwrap();
    consumer.await.unwrap()
}

/// Moves `frames` through a byte stream, `write_all` in and `AsyncRead` into 64 KiB out: the
/// pipe as a drop-in for `duplex`, and `duplex` itself.
async fn through_bytes<W, R>((writer, reader): (W, R), frames: Vec<Bytes>) -> usize
where
    W: AsyncWrite + Unpin + Send + 'static,
    R: AsyncRead + Unpin + Send + 'static,
{
    let producer = tokio::spawn(write_all_frames(writer, frames));
    let consumer = tokio::spawn(read_all_64k(reader));
    producer.await.unwrap();
    consumer.await.unwrap()
}

async fn spawn_only(frames: Vec<Bytes>) -> usize {
    let total = frames.iter().map(Bytes::len).sum::<usize>();
    let producer = tokio::spawn(async move { drop(black_box(frames)) });
    let consumer = tokio::spawn(async move { black_box(total) });
    producer.await.unwrap();
    consumer.await.unwrap()
}

async fn through_mpsc(frames: Vec<Bytes>) -> usize {
    let frames_in_flight = (IN_FLIGHT / frames[0].len()).max(1);
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(frames_in_flight);
    let producer = tokio::spawn(async move {
        for frame in frames {
            sender.send(frame).await.unwrap();
        }
    });
    let consumer = tokio::spawn(async move {
        let mut received = 0;
        while let Some(frame) = receiver.recv().await {
            received += black_box(frame).len();
        }
        received
    });
    producer.await.unwrap();
    consumer.await.unwrap()
}

fn cross_task_throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let buffer = Bytes::from(vec![0xA5u8; total(FRAME_SIZES[FRAME_SIZES.len() - 1])]);
    let mut group = c.benchmark_group("cross_task");
    group.sample_size(20);
    for size in FRAME_SIZES {
        let total = total(size);
        group.throughput(Throughput::Bytes(total as u64));
        let frames: Vec<Bytes> = (0..total / size)
            .map(|i| buffer.slice(i * size..(i + 1) * size))
            .collect();
        for transport in [
            Transport::Pipe,
            Transport::PipeAsyncRead,
            Transport::Duplex,
            Transport::Mpsc,
            Transport::PipeBytes,
            Transport::Duplex64k,
            Transport::SpawnOnly,
        ] {
            group.bench_function(BenchmarkId::new(transport.name(), size), |b| {
                b.to_async(&runtime).iter_batched(
                    || frames.clone(),
                    |frames| async move {
                        assert_eq!(transport.carry(frames).await, total);
                    },
                    BatchSize::LargeInput,
                )
            });
        }
    }
    group.finish();
}

criterion_group!(benches, cross_task_throughput);
criterion_main!(benches);
