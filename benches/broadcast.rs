//! Fan-out throughput: `streamview::broadcast` against a `tokio::sync::broadcast::<Bytes>`
//! channel and against N `tokio::io::duplex` pipes the writer copies every frame into, on a
//! 2-worker multi-thread runtime: one writer task, N reader tasks, and per iteration at least
//! 4 MiB and 4,096 frames delivered to each reader in frames of one size, so that an iteration
//! measures the hand-off rather than spawning the tasks (4 MiB at 64 B, 64 MiB at 16 KiB, 4 GiB
//! at 1 MiB). With 256 frames of 1 MiB (the earlier cap of 256 MiB per iteration) spawning and
//! joining the tasks was most of an iteration of the zero-copy rows: 35 to 55 µs, moving
//! nothing but 256 refcounts.
//!
//! Every reader gets every byte in each transport. The frames are slices of one pre-made buffer
//! of at most 256 MiB, taken in turn (at 1 MiB each slice is sent 16 times per iteration), and
//! cloned in the untimed setup. `broadcast` and tokio's channel hand the frames over whole (a
//! refcount per reader); the duplex fan-out copies each frame into every pipe and out again
//! through a 64 KiB read buffer. `broadcast` and each duplex may hold the same bytes in flight,
//! 256 KiB or 4 frames, whichever is more. Tokio's channel has no backpressure (a lagging
//! receiver loses messages), so it is given a slot for every frame of the iteration: it never
//! waits and never lags. `broadcast_no_wait` is `broadcast` given the same: room for every byte of
//! the iteration, so its writer never waits either; it is the row to hold against tokio's.
//! `broadcast_read` is `broadcast` whose readers consume as the duplex fan-out's do, through
//! `AsyncRead` into a 64 KiB buffer (`read_all_64k`, the same function): the row to hold against
//! the duplex fan-out, where only the transport differs.
//!
//! `cargo bench --bench broadcast -- --warm-up-time 1 --measurement-time 1`

use std::hint::black_box;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use tokio::io::AsyncWriteExt;

mod common;

use common::read_all_64k;

/// Bytes every reader receives per iteration: at least 4 MiB and 4,096 frames.
fn per_reader(frame: usize) -> usize {
    (4 << 20).max(4096 * frame)
}

/// Bytes `broadcast` and each duplex may hold: 256 KiB or 4 frames, whichever is more.
fn in_flight(frame: usize) -> usize {
    (256 << 10).max(4 * frame)
}
const FRAME_SIZES: [usize; 3] = [64, 16 << 10, 1 << 20];
const READER_COUNTS: [usize; 4] = [1, 2, 4, 8];

#[derive(Clone, Copy)]
enum Transport {
    Broadcast,
    BroadcastNoWait,
    BroadcastRead,
    TokioBroadcast,
    Duplex,
}

impl Transport {
    fn name(self, readers: usize) -> String {
        let name = match self {
            Transport::Broadcast => "broadcast",
            Transport::BroadcastNoWait => "broadcast_no_wait",
            Transport::BroadcastRead => "broadcast_read",
            Transport::TokioBroadcast => "tokio_broadcast",
            Transport::Duplex => "duplex",
        };
        format!("{name}/{readers}r")
    }

    /// Moves `frames` from a writer task to `readers` reader tasks; returns the bytes received
    /// in all.
    async fn carry(self, frames: Vec<Bytes>, readers: usize) -> usize {
        let in_flight = in_flight(frames[0].len());
        match self {
            Transport::Broadcast => {
                through_broadcast(frames, readers, in_flight, Consumer::Segments).await
            }
            Transport::BroadcastNoWait => {
                let whole = frames.iter().map(Bytes::len).sum();
                through_broadcast(frames, readers, whole, Consumer::Segments).await
            }
            Transport::BroadcastRead => {
                through_broadcast(frames, readers, in_flight, Consumer::Bytes64k).await
            }
            Transport::TokioBroadcast => through_tokio_broadcast(frames, readers).await,
            Transport::Duplex => through_duplexes(frames, readers, in_flight).await,
        }
    }
}

/// How a `broadcast` reader consumes.
#[derive(Clone, Copy)]
enum Consumer {
    /// `read_segment`: each frame as the very buffer written.
    Segments,
    /// `AsyncRead` into a 64 KiB buffer, as the duplex fan-out's readers do.
    Bytes64k,
}

async fn through_broadcast(
    frames: Vec<Bytes>,
    readers: usize,
    in_flight: usize,
    consumer: Consumer,
) -> usize {
    let (mut writer, reader) = streamview::broadcast(in_flight);
    let consumers: Vec<_> = (0..readers)
        .map(|_| {
            let mut reader = reader.clone();
            tokio::spawn(async move {
                match consumer {
                    Consumer::Segments => {
                        let mut received = 0;
                        while let Some(frame) = reader.read_segment().await.unwrap() {
                            received += black_box(frame).len();
                        }
                        received
                    }
                    Consumer::Bytes64k => read_all_64k(reader).await,
                }
            })
        })
        .collect();
    drop(reader);
    let producer = tokio::spawn(async move {
        for frame in frames {
            writer.write_segment(frame).await.unwrap();
        }
    });
    producer.await.unwrap();
    let mut received = 0;
    for consumer in consumers {
        received += consumer.await.unwrap();
    }
    received
}

async fn through_tokio_broadcast(frames: Vec<Bytes>, readers: usize) -> usize {
    let (sender, _) = tokio::sync::broadcast::channel::<Bytes>(frames.len());
    let consumers: Vec<_> = (0..readers)
        .map(|_| {
            let mut receiver = sender.subscribe();
            tokio::spawn(async move {
                let mut received = 0;
                loop {
                    match receiver.recv().await {
                        Ok(frame) => received += black_box(frame).len(),
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return received,
                        Err(lagged) => panic!("a receiver lost frames: {lagged}"),
                    }
                }
            })
        })
        .collect();
    let producer = tokio::spawn(async move {
        for frame in frames {
            sender.send(frame).unwrap();
        }
    });
    producer.await.unwrap();
    let mut received = 0;
    for consumer in consumers {
        received += consumer.await.unwrap();
    }
    received
}

async fn through_duplexes(frames: Vec<Bytes>, readers: usize, in_flight: usize) -> usize {
    let (mut writers, consumers): (Vec<_>, Vec<_>) = (0..readers)
        .map(|_| {
            let (writer, reader) = tokio::io::duplex(in_flight);
            (writer, tokio::spawn(read_all_64k(reader)))
        })
        .unzip();
    let producer = tokio::spawn(async move {
        for frame in frames {
            for writer in &mut writers {
                writer.write_all(&frame).await.unwrap();
            }
        }
    });
    producer.await.unwrap();
    let mut received = 0;
    for consumer in consumers {
        received += consumer.await.unwrap();
    }
    received
}

fn fan_out_throughput(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    for size in FRAME_SIZES {
        let per_reader = per_reader(size);
        let buffer = Bytes::from(vec![0xA5u8; per_reader.min(256 << 20)]);
        let buffer_frames = buffer.len() / size;
        let mut group = c.benchmark_group(format!("fan_out_{size}"));
        group.sample_size(10);
        let frames: Vec<Bytes> = (0..per_reader / size)
            .map(|i| i % buffer_frames)
            .map(|i| buffer.slice(i * size..(i + 1) * size))
            .collect();
        for readers in READER_COUNTS {
            group.throughput(Throughput::Bytes((per_reader * readers) as u64));
            for transport in [
                Transport::Broadcast,
                Transport::BroadcastNoWait,
                Transport::BroadcastRead,
                Transport::TokioBroadcast,
                Transport::Duplex,
            ] {
                group.bench_function(BenchmarkId::from_parameter(transport.name(readers)), |b| {
                    b.to_async(&runtime).iter_batched(
                        || frames.clone(),
                        |frames| async move {
                            assert_eq!(
                                transport.carry(frames, readers).await,
                                per_reader * readers
                            );
                        },
                        BatchSize::LargeInput,
                    )
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, fan_out_throughput);
criterion_main!(benches);
