//! Single-thread segment-queue work for `AsyncStream` against its peers, in one run:
//! `buf_list::BufList`, `bytes_utils::SegmentedBuf<Bytes>`, a hand-rolled `VecDeque<Bytes>`
//! (`DequeBuf` below) and contiguous `BytesMut`.
//!
//! Each case holds 100,000 segments of 16 B, 256 B or 4 KiB, made as slices of one buffer so
//! making them costs no allocation. The operations:
//!
//! - `push`: append every segment (`BytesMut` copies it; the others store it).
//! - `drain_chunk_advance`: consume front to back, `chunk()` then `advance` by at most one
//!   segment's size, as a record parser would (so `BytesMut` also takes 100,000 steps).
//! - `drain_copy_to_bytes`: consume with `copy_to_bytes(3 * S / 2)`, so every other call spans
//!   a segment boundary and must copy.
//! - `drain_chunks_vectored`: consume as a `writev` loop would: fill 64 `IoSlice`s, advance by
//!   their total.
//! - `remaining`: one `remaining()` call on the full queue (O(1) or a sum over every segment).
//!
//! Run: `cargo bench --bench buf_peers -- --warm-up-time 1 --measurement-time 3`
//! (add a filter such as `push/` or `/4096B` to run part of it).

use std::collections::VecDeque;
use std::hint::black_box;
use std::io::IoSlice;

use buf_list::BufList;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use bytes_utils::SegmentedBuf;
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use streamview::AsyncStream;

const SEGMENTS: usize = 100_000;
const SEGMENT_SIZES: [usize; 3] = [16, 256, 4096];
const IOSLICES: usize = 64;

/// The least machinery a segment queue needs: a deque of `Bytes` and a running byte count,
/// zero-copy within the front segment, one copy across segments.
#[derive(Default)]
struct DequeBuf {
    segments: VecDeque<Bytes>,
    remaining: usize,
}

impl Buf for DequeBuf {
    fn remaining(&self) -> usize {
        self.remaining
    }

    fn chunk(&self) -> &[u8] {
        self.segments.front().map_or(&[], |front| front)
    }

    fn advance(&mut self, mut cnt: usize) {
        assert!(cnt <= self.remaining, "advance past the end");
        self.remaining -= cnt;
        while cnt > 0 {
            let front = self.segments.front_mut().expect("bytes remain");
            if cnt < front.len() {
                front.advance(cnt);
                return;
            }
            cnt -= front.len();
            self.segments.pop_front();
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut filled = 0;
        for (slot, segment) in dst.iter_mut().zip(&self.segments) {
            *slot = IoSlice::new(segment);
            filled += 1;
        }
        filled
    }

    fn copy_to_bytes(&mut self, len: usize) -> Bytes {
        assert!(len <= self.remaining, "copy_to_bytes past the end");
        match self.segments.front_mut() {
            Some(front) if len < front.len() => {
                self.remaining -= len;
                front.split_to(len)
            }
            Some(front) if len == front.len() => {
                self.remaining -= len;
                self.segments.pop_front().expect("front exists")
            }
            _ => {
                let mut contiguous = BytesMut::with_capacity(len);
                contiguous.put(self.take(len));
                contiguous.freeze()
            }
        }
    }
}

/// A segment queue under test: how to make an empty one and append one segment.
trait SegmentQueue: Buf + Sized {
    const NAME: &'static str;

    fn empty() -> Self;

    /// Every peer's is `#[inline]`, so none pays a call the others do not.
    fn push(&mut self, segment: Bytes);

    fn filled(segments: &[Bytes]) -> Self {
        let mut queue = Self::empty();
        for segment in segments {
            queue.push(segment.clone());
        }
        queue
    }
}

impl SegmentQueue for AsyncStream {
    const NAME: &'static str = "AsyncStream";

    fn empty() -> AsyncStream {
        AsyncStream::new()
    }

    #[inline]
    fn push(&mut self, segment: Bytes) {
        self.write_segment(segment);
    }
}

impl SegmentQueue for BufList {
    const NAME: &'static str = "BufList";

    fn empty() -> BufList {
        BufList::new()
    }

    #[inline]
    fn push(&mut self, segment: Bytes) {
        self.push_chunk(segment);
    }
}

impl SegmentQueue for SegmentedBuf<Bytes> {
    const NAME: &'static str = "SegmentedBuf";

    fn empty() -> SegmentedBuf<Bytes> {
        SegmentedBuf::new()
    }

    #[inline]
    fn push(&mut self, segment: Bytes) {
        SegmentedBuf::push(self, segment);
    }
}

impl SegmentQueue for DequeBuf {
    const NAME: &'static str = "VecDeque<Bytes>";

    fn empty() -> DequeBuf {
        DequeBuf::default()
    }

    #[inline]
    fn push(&mut self, segment: Bytes) {
        self.remaining += segment.len();
        self.segments.push_back(segment);
    }
}

impl SegmentQueue for BytesMut {
    const NAME: &'static str = "BytesMut (contiguous)";

    fn empty() -> BytesMut {
        BytesMut::new()
    }

    #[inline]
    fn push(&mut self, segment: Bytes) {
        self.extend_from_slice(&segment);
    }
}

/// `SEGMENTS` segments of `size` bytes, slices of one buffer.
fn make_segments(size: usize) -> Vec<Bytes> {
    let backing = Bytes::from((0..SEGMENTS * size).map(|i| i as u8).collect::<Vec<u8>>());
    (0..SEGMENTS)
        .map(|i| backing.slice(i * size..(i + 1) * size))
        .collect()
}

fn total(segments: &[Bytes]) -> usize {
    segments.iter().map(Bytes::len).sum()
}

fn push<Q: SegmentQueue>(segments: Vec<Bytes>) -> Q {
    let mut queue = Q::empty();
    for segment in segments {
        queue.push(segment);
    }
    queue
}

// The drains count the bytes left themselves instead of asking `remaining()` each step, so a
// peer whose `remaining()` is O(segments) is measured on the operation, not on that.

fn drain_chunk_advance<Q: SegmentQueue>(mut queue: Q, total: usize, segment_size: usize) -> Q {
    let mut left = total;
    while left > 0 {
        let chunk = black_box(queue.chunk());
        let step = chunk.len().min(segment_size);
        queue.advance(step);
        left -= step;
    }
    queue
}

fn drain_copy_to_bytes<Q: SegmentQueue>(mut queue: Q, total: usize, segment_size: usize) -> Q {
    let step = 3 * segment_size / 2;
    let mut left = total;
    while left > 0 {
        let len = step.min(left);
        black_box(queue.copy_to_bytes(len));
        left -= len;
    }
    queue
}

fn drain_chunks_vectored<Q: SegmentQueue>(mut queue: Q, total: usize) -> Q {
    let mut left = total;
    while left > 0 {
        let mut slices = [IoSlice::new(&[]); IOSLICES];
        let filled = queue.chunks_vectored(&mut slices);
        let written: usize = black_box(&slices[..filled]).iter().map(|s| s.len()).sum();
        queue.advance(written);
        left -= written;
    }
    queue
}

type Group<'a> = BenchmarkGroup<'a, WallTime>;

fn bench_push<Q: SegmentQueue>(group: &mut Group<'_>, segments: &[Bytes], _segment_size: usize) {
    group.bench_function(BenchmarkId::from_parameter(Q::NAME), |b| {
        b.iter_batched(|| segments.to_vec(), push::<Q>, BatchSize::PerIteration)
    });
}

fn bench_drain_chunk_advance<Q: SegmentQueue>(
    group: &mut Group<'_>,
    segments: &[Bytes],
    segment_size: usize,
) {
    group.bench_function(BenchmarkId::from_parameter(Q::NAME), |b| {
        b.iter_batched(
            || Q::filled(segments),
            |queue| drain_chunk_advance(queue, total(segments), segment_size),
            BatchSize::PerIteration,
        )
    });
}

fn bench_drain_copy_to_bytes<Q: SegmentQueue>(
    group: &mut Group<'_>,
    segments: &[Bytes],
    segment_size: usize,
) {
    group.bench_function(BenchmarkId::from_parameter(Q::NAME), |b| {
        b.iter_batched(
            || Q::filled(segments),
            |queue| drain_copy_to_bytes(queue, total(segments), segment_size),
            BatchSize::PerIteration,
        )
    });
}

fn bench_drain_chunks_vectored<Q: SegmentQueue>(
    group: &mut Group<'_>,
    segments: &[Bytes],
    _segment_size: usize,
) {
    group.bench_function(BenchmarkId::from_parameter(Q::NAME), |b| {
        b.iter_batched(
            || Q::filled(segments),
            |queue| drain_chunks_vectored(queue, total(segments)),
            BatchSize::PerIteration,
        )
    });
}

fn bench_remaining<Q: SegmentQueue>(
    group: &mut Group<'_>,
    segments: &[Bytes],
    _segment_size: usize,
) {
    let full = Q::filled(segments);
    group.bench_function(BenchmarkId::from_parameter(Q::NAME), |b| {
        b.iter(|| black_box(&full).remaining())
    });
}

/// Runs one operation for every peer back to back, so they share the machine's conditions.
macro_rules! every_peer {
    ($bench:ident, $group:expr, $segments:expr, $segment_size:expr) => {
        $bench::<AsyncStream>($group, $segments, $segment_size);
        $bench::<BufList>($group, $segments, $segment_size);
        $bench::<SegmentedBuf<Bytes>>($group, $segments, $segment_size);
        $bench::<DequeBuf>($group, $segments, $segment_size);
        $bench::<BytesMut>($group, $segments, $segment_size);
    };
}

fn buf_peers(c: &mut Criterion) {
    for segment_size in SEGMENT_SIZES {
        let segments = make_segments(segment_size);
        let bytes = Throughput::Bytes((SEGMENTS * segment_size) as u64);
        let mut group = c.benchmark_group(format!("push/{segment_size}B"));
        group.throughput(bytes.clone());
        every_peer!(bench_push, &mut group, &segments, segment_size);
        group.finish();

        let mut group = c.benchmark_group(format!("drain_chunk_advance/{segment_size}B"));
        group.throughput(bytes.clone());
        every_peer!(
            bench_drain_chunk_advance,
            &mut group,
            &segments,
            segment_size
        );
        group.finish();

        let mut group = c.benchmark_group(format!("drain_copy_to_bytes/{segment_size}B"));
        group.throughput(bytes.clone());
        // BufList's `copy_to_bytes` sums every segment (its O(n) `remaining()`) on each copy
        // that spans two, so its drain is quadratic in the segment count and takes seconds:
        // the fewest samples criterion allows.
        group.sample_size(10);
        every_peer!(
            bench_drain_copy_to_bytes,
            &mut group,
            &segments,
            segment_size
        );
        group.finish();

        let mut group = c.benchmark_group(format!("drain_chunks_vectored/{segment_size}B"));
        group.throughput(bytes);
        every_peer!(
            bench_drain_chunks_vectored,
            &mut group,
            &segments,
            segment_size
        );
        group.finish();

        let mut group = c.benchmark_group(format!("remaining/{segment_size}B"));
        every_peer!(bench_remaining, &mut group, &segments, segment_size);
        group.finish();
    }
}

criterion_group!(benches, buf_peers);
criterion_main!(benches);
