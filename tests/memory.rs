//! Bounded memory, measured by a counting global allocator: moving a gigabyte through an
//! `AsyncStream` in 1 KiB writes, reading as it goes, never holds more than 1 MiB at once
//! (consumed segments are freed, write-tail blocks are not regrown without bound). Through
//! `pipe(64 KiB)`, a gigabyte in `AsyncWrite` writes of each size from 64 B to 1 MiB also makes
//! at most one allocation per 64 KiB moved: write-tail blocks are reused once read.
//!
//! The allocator counts every allocation of the process, so this binary has no test harness
//! (`harness = false` in Cargo.toml): libtest's own threads and result bookkeeping would land in
//! the measured window. `main` runs the checks one after another on the main thread, and buffers
//! a check itself needs are allocated before its window opens.
//! `STREAMVIEW_STRESS_BYTES` (a byte count) shortens the run, as for the other stress tests.

use std::io::{Read, Write};

use streamview::AsyncStream;

#[path = "common/counting_alloc.rs"]
#[allow(dead_code)]
mod counting_alloc;

#[cfg(feature = "tokio")]
use counting_alloc::MIB;
use counting_alloc::{measure, BOUND, KIB, LEFT_OVER_SLACK};

#[path = "common/stress_bytes.rs"]
mod stress_bytes;

use stress_bytes::total_bytes;

/// Byte `i` of the stream is `i % PERIOD`: a prime period, so a lost, repeated or reordered
/// 1 KiB block or segment shows as a mismatch.
const PERIOD: usize = 251;
const WRITE_SIZE: usize = KIB;
const READ_BUFFER: usize = 16 * KIB;

/// How many bytes the reader lets pile up before it drains, cycled so the stream is read after
/// every write, after a few, and after hundreds (segments and tail blocks freed at each scale).
const DRAIN_THRESHOLDS: [usize; 4] = [KIB, 7 * KIB, 64 * KIB, 320 * KIB];

/// The expected bytes at stream offset `offset`, as a slice of the repeating pattern; `len` is at
/// most `READ_BUFFER`.
fn expected(pattern: &[u8], offset: usize, len: usize) -> &[u8] {
    &pattern[offset % PERIOD..][..len]
}

/// Asserts `got` holds the stream's bytes from `offset` on, whatever its length.
fn assert_pattern(pattern: &[u8], offset: usize, got: &[u8]) {
    for (i, piece) in got.chunks(READ_BUFFER).enumerate() {
        let at = offset + i * READ_BUFFER;
        assert!(
            piece == expected(pattern, at, piece.len()),
            "bytes at stream offset {at}..{} are not the ones written there",
            at + piece.len()
        );
    }
}

/// Drains `stream`, alternating the three read paths: std `Read` into a caller buffer (copy),
/// `read_chunk` (zero-copy segment), `read_bytes` across segments (one fresh buffer each).
fn drain(
    stream: &mut AsyncStream,
    read_so_far: &mut usize,
    round: usize,
    pattern: &[u8],
    read_buffer: &mut [u8],
) {
    while !stream.is_empty() {
        let offset = *read_so_far;
        let n = match round % 3 {
            0 => {
                let n = stream.read(read_buffer).expect("the stream holds bytes");
                assert_pattern(pattern, offset, &read_buffer[..n]);
                n
            }
            1 => {
                let chunk = stream
                    .read_chunk(usize::MAX)
                    .expect("the stream holds bytes");
                assert_pattern(pattern, offset, &chunk);
                chunk.len()
            }
            _ => {
                let bytes = stream.read_bytes(3 * KIB + 7);
                assert_pattern(pattern, offset, &bytes);
                bytes.len()
            }
        };
        *read_so_far += n;
    }
}

fn one_gib_in_1_kib_std_writes_read_as_it_goes_never_holds_more_than_1_mib() {
    let total = total_bytes();
    let pattern: Vec<u8> = (0..PERIOD + READ_BUFFER)
        .map(|i| (i % PERIOD) as u8)
        .collect();
    let mut read_buffer = vec![0u8; READ_BUFFER];
    let mut written = 0;
    let mut read = 0;

    let measured = measure(|| {
        let mut stream = AsyncStream::new();
        let mut round = 0;
        while written < total {
            let n = WRITE_SIZE.min(total - written);
            let accepted = stream.write(expected(&pattern, written, n)).unwrap();
            assert_eq!(
                accepted, n,
                "a write to an open AsyncStream takes every byte"
            );
            written += n;
            if stream.len() >= DRAIN_THRESHOLDS[round % DRAIN_THRESHOLDS.len()] {
                drain(&mut stream, &mut read, round, &pattern, &mut read_buffer);
                round += 1;
            }
        }
        stream.close();
        drain(&mut stream, &mut read, round, &pattern, &mut read_buffer);
        assert_eq!(stream.read(&mut read_buffer).unwrap(), 0, "end of file");
    });

    eprintln!("moved {total} bytes: {measured:?}");
    assert_eq!(read, total, "every byte written was read back");
    assert!(
        measured.peak <= BOUND,
        "moving {total} bytes held up to {} bytes at once, more than the {BOUND}-byte bound",
        measured.peak
    );
    assert!(
        measured.left_over <= LEFT_OVER_SLACK,
        "{} bytes were still allocated after the stream was dropped",
        measured.left_over
    );
}

/// The sizes of the `AsyncWrite` writes pushed through the pipe, a gigabyte each.
#[cfg(feature = "tokio")]
const PIPE_WRITE_SIZES: [usize; 5] = [64, KIB, 16 * KIB, 64 * KIB, MIB];

/// The same gigabyte through `pipe(64 KiB)`, once per write size: a writer and a reader on one
/// current-thread runtime (so the process-wide counters see only this), `AsyncWrite` writes of
/// `write_size` bytes, the reader alternating `AsyncRead` into a caller buffer and zero-copy
/// `read_segment`. Besides the memory bound, at most one allocation per 64 KiB moved.
#[cfg(feature = "tokio")]
fn one_gib_through_a_64_kib_pipe_never_holds_more_than_1_mib_and_allocates_once_per_64_kib(
    write_size: usize,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const CAPACITY: usize = 64 * KIB;
    let total = total_bytes();
    let pattern: Vec<u8> = (0..PERIOD + READ_BUFFER.max(write_size))
        .map(|i| (i % PERIOD) as u8)
        .collect();
    let mut read_buffer = vec![0u8; READ_BUFFER];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();

    // Moves `total` bytes through a fresh pipe and returns how many were read back.
    let mut transfer = |total: usize| -> usize {
        runtime.block_on(async {
            let (mut writer, mut reader) = streamview::pipe(CAPACITY);
            let writing = async {
                let mut written = 0;
                while written < total {
                    let n = write_size.min(total - written);
                    writer
                        .write_all(expected(&pattern, written, n))
                        .await
                        .unwrap();
                    written += n;
                }
                writer.shutdown().await.unwrap();
            };
            let reading = async {
                let (mut read, mut round) = (0, 0usize);
                loop {
                    let n = if round % 2 == 0 {
                        let n = reader.read(&mut read_buffer).await.unwrap();
                        assert_pattern(&pattern, read, &read_buffer[..n]);
                        n
                    } else {
                        match reader.read_segment().await.unwrap() {
                            Some(segment) => {
                                assert_pattern(&pattern, read, &segment);
                                segment.len()
                            }
                            None => 0,
                        }
                    };
                    if n == 0 {
                        return read;
                    }
                    read += n;
                    round += 1;
                }
            };
            tokio::join!(writing, reading).1
        })
    };
    // The runtime grows its own queues lazily (the cooperative budget's deferred wake-ups among
    // them) and keeps them: a small run of the same workload, outside the window, lets them
    // reach their size first, so what is left over afterwards is the pipe's alone.
    assert_eq!(transfer(4 * MIB), 4 * MIB);
    let mut read = 0;
    let measured = measure(|| read = transfer(total));

    eprintln!(
        "moved {total} bytes through pipe({CAPACITY}) in {write_size}-byte writes: {measured:?}"
    );
    assert_eq!(read, total, "every byte written was read back");
    assert!(
        measured.peak <= BOUND,
        "moving {total} bytes through pipe({CAPACITY}) held up to {} bytes at once, more than the \
         {BOUND}-byte bound",
        measured.peak
    );
    assert!(
        measured.left_over <= LEFT_OVER_SLACK,
        "{} bytes were still allocated after the pipe was dropped",
        measured.left_over
    );
    // The pipe's own setup (its shared state, the first blocks, the queues' first growth) is a
    // handful of allocations, so a short run gets that many more.
    let allowed = (total + CAPACITY - 1) / CAPACITY + 16;
    assert!(
        measured.allocations <= allowed,
        "moving {total} bytes through pipe({CAPACITY}) in {write_size}-byte writes made {} \
         allocations, more than one per {CAPACITY} bytes ({allowed} with setup)",
        measured.allocations
    );
}

fn main() {
    let checks: Vec<(&str, fn())> = vec![(
        "one_gib_in_1_kib_std_writes_read_as_it_goes_never_holds_more_than_1_mib",
        one_gib_in_1_kib_std_writes_read_as_it_goes_never_holds_more_than_1_mib,
    )];
    // A failing check panics, which ends the process with a non-zero status.
    for (name, check) in &checks {
        check();
        println!("test {name} ... ok");
    }
    #[cfg_attr(not(feature = "tokio"), allow(unused_mut))]
    let mut passed = checks.len();
    #[cfg(feature = "tokio")]
    for write_size in PIPE_WRITE_SIZES {
        one_gib_through_a_64_kib_pipe_never_holds_more_than_1_mib_and_allocates_once_per_64_kib(
            write_size,
        );
        println!(
            "test one_gib_through_a_64_kib_pipe_never_holds_more_than_1_mib_and_allocates_once_per_64_kib({write_size}) ... ok"
        );
        passed += 1;
    }
    println!("memory: {passed} passed, 0 failed");
}
