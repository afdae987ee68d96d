//! Bounded memory of the fan-out, measured by a counting global allocator: a gigabyte written
//! through `broadcast(64 KiB)` to 8 readers, each reading at its own pace, never holds more than
//! 1 MiB at once, whatever the reader count (the readers share the writer's buffers).
//!
//! No test harness (`harness = false` in Cargo.toml), as in tests/memory.rs: the allocator
//! counts the whole process, and everything runs on one current-thread runtime on the main
//! thread. `STREAMVIEW_STRESS_BYTES` (a byte count) shortens the run.

#[path = "common/counting_alloc.rs"]
#[allow(dead_code)]
mod counting_alloc;

use counting_alloc::{measure, BOUND, KIB, LEFT_OVER_SLACK, MIB};

#[path = "common/stress_bytes.rs"]
mod stress_bytes;

use stress_bytes::total_bytes;

/// Byte `i` of the stream is `i % PERIOD`: a prime period, so a lost, repeated or reordered
/// block shows as a mismatch.
const PERIOD: usize = 251;
const READ_BUFFER: usize = 16 * KIB;
const CAPACITY: usize = 64 * KIB;
const READERS: usize = 8;

/// Asserts `got` holds the stream's bytes from `offset` on.
fn assert_pattern(pattern: &[u8], offset: usize, got: &[u8]) {
    for (i, piece) in got.chunks(READ_BUFFER).enumerate() {
        let at = offset + i * READ_BUFFER;
        assert!(
            piece == &pattern[at % PERIOD..][..piece.len()],
            "bytes at stream offset {at}..{} are not the ones written there",
            at + piece.len()
        );
    }
}

/// Moves `total` bytes through a fresh `broadcast(CAPACITY)` to `READERS` readers; returns the
/// bytes each read back. The writer alternates zero-copy 4 KiB segments (slices of one shared
/// pattern, so they allocate nothing) and 1 KiB `AsyncWrite` copies; the readers take turns
/// over `read_segment`, `AsyncRead` into a buffer of their own and `read_line`.
fn transfer(
    runtime: &tokio::runtime::Runtime,
    pattern: &bytes::Bytes,
    buffers: &mut [Vec<u8>],
    total: usize,
) -> Vec<usize> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    runtime.block_on(async {
        let (mut writer, reader) = streamview::broadcast(CAPACITY);
        let readers: Vec<_> = (0..READERS).map(|_| reader.clone()).collect();
        drop(reader);
        let writing = async {
            let mut written = 0;
            let mut round = 0usize;
            while written < total {
                if round % 2 == 0 {
                    let n = (4 * KIB).min(total - written);
                    let start = written % PERIOD;
                    writer
                        .write_segment(pattern.slice(start..start + n))
                        .await
                        .unwrap();
                    written += n;
                } else {
                    let n = KIB.min(total - written);
                    let start = written % PERIOD;
                    writer.write_all(&pattern[start..start + n]).await.unwrap();
                    written += n;
                }
                round += 1;
            }
            writer.shutdown().await.unwrap();
        };
        let readings = readers.into_iter().zip(buffers.iter_mut()).enumerate().map(
            |(index, (mut reader, buffer))| async move {
                let (mut read, mut round) = (0, index);
                loop {
                    let n = match round % 3 {
                        0 => match reader.read_segment().await.unwrap() {
                            Some(segment) => {
                                assert_pattern(pattern, read, &segment);
                                segment.len()
                            }
                            None => 0,
                        },
                        1 => {
                            let n = reader.read(buffer).await.unwrap();
                            assert_pattern(pattern, read, &buffer[..n]);
                            n
                        }
                        _ => match reader.read_line().await.unwrap() {
                            Some(line) => {
                                assert_pattern(pattern, read, &line);
                                line.len()
                            }
                            None => 0,
                        },
                    };
                    if n == 0 {
                        return read;
                    }
                    read += n;
                    round += 1;
                }
            },
        );
        let (_, read) = tokio::join!(writing, futures::future::join_all(readings));
        read
    })
}

fn one_gib_to_8_readers_through_a_64_kib_broadcast_never_holds_more_than_1_mib() {
    let total = total_bytes();
    // Long enough for any read-buffer-sized slice (and so any 4 KiB write) starting anywhere
    // in one period.
    let pattern = bytes::Bytes::from(
        (0..PERIOD + READ_BUFFER)
            .map(|i| (i % PERIOD) as u8)
            .collect::<Vec<u8>>(),
    );
    let mut buffers = vec![vec![0u8; READ_BUFFER]; READERS];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // The runtime grows its queues lazily and keeps them: a small run outside the window lets
    // them reach their size first, so what is left over afterwards is the broadcast's alone.
    assert_eq!(
        transfer(&runtime, &pattern, &mut buffers, 4 * MIB),
        vec![4 * MIB; READERS]
    );
    let mut read = Vec::new();
    let measured = measure(|| read = transfer(&runtime, &pattern, &mut buffers, total));

    eprintln!(
        "moved {total} bytes to {READERS} readers through broadcast({CAPACITY}): {measured:?}"
    );
    assert_eq!(
        read,
        vec![total; READERS],
        "every reader read every byte written"
    );
    assert!(
        measured.peak <= BOUND,
        "moving {total} bytes to {READERS} readers held up to {} bytes at once, more than the \
         {BOUND}-byte bound",
        measured.peak
    );
    assert!(
        measured.left_over <= LEFT_OVER_SLACK,
        "{} bytes were still allocated after the broadcast was dropped",
        measured.left_over
    );
}

fn main() {
    one_gib_to_8_readers_through_a_64_kib_broadcast_never_holds_more_than_1_mib();
    println!(
        "test one_gib_to_8_readers_through_a_64_kib_broadcast_never_holds_more_than_1_mib ... ok"
    );
    println!("memory_broadcast: 1 passed, 0 failed");
}
