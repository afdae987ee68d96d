//! Bounded memory of the fan-out, measured by a counting global allocator: a gigabyte written
//! through `broadcast(64 KiB)` to 8 readers, each reading at its own pace, never holds more than
//! 1 MiB at once, whatever the reader count (the readers share the writer's buffers).
//!
//! No test harness (`harness = false` in Cargo.toml), as in tests/memory.rs: the allocator
//! counts the whole process, and everything runs on one current-thread runtime on the main
//! thread. `STREAMVIEW_STRESS_BYTES` (a byte count) shortens the run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Forwards to the system allocator and keeps the bytes currently allocated and their peak.
struct CountingAllocator;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn allocated(size: usize) {
    let now = ALLOCATED.fetch_add(size, Ordering::SeqCst) + size;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

fn freed(size: usize) {
    ALLOCATED.fetch_sub(size, Ordering::SeqCst);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees are ours; the counting only reads sizes and touches atomics, never the memory.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            allocated(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            allocated(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator, that is by `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        freed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`; our caller upholds the size rules.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            // Count the new block before releasing the old: a moving realloc holds both.
            allocated(new_size);
            freed(layout.size());
        }
        moved
    }
}

#[global_allocator]
static COUNTING_ALLOCATOR: CountingAllocator = CountingAllocator;

/// What a measured section allocated beyond the bytes allocated when it started.
#[derive(Debug)]
struct Measured {
    /// The most held at any moment.
    peak: usize,
    /// Still held when the section returned.
    left_over: usize,
}

/// Runs `section` and reports what it allocated; `main` runs one check at a time, so nothing
/// else allocates meanwhile.
fn measure(section: impl FnOnce()) -> Measured {
    let baseline = ALLOCATED.load(Ordering::SeqCst);
    PEAK.store(baseline, Ordering::SeqCst);
    section();
    Measured {
        peak: PEAK.load(Ordering::SeqCst).saturating_sub(baseline),
        left_over: ALLOCATED.load(Ordering::SeqCst).saturating_sub(baseline),
    }
}

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
const GIB: usize = 1024 * MIB;

/// The most a stream moving bytes through may hold at once, including the bytes in flight.
const BOUND: usize = MIB;

/// What may stay allocated after the stream is dropped: the counters see the whole process, and
/// the test harness's own threads allocate a few hundred bytes now and then (900 seen). Less than
/// one write-tail block (8 KiB), so a leaked block or segment still fails.
const LEFT_OVER_SLACK: usize = 4 * KIB;

/// Bytes moved: 1 GiB, or `STREAMVIEW_STRESS_BYTES` when set (for a quick local or valgrind run).
fn total_bytes() -> usize {
    std::env::var("STREAMVIEW_STRESS_BYTES")
        .ok()
        .map(|value| {
            value
                .parse()
                .expect("STREAMVIEW_STRESS_BYTES is a byte count")
        })
        .unwrap_or(GIB)
}

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
