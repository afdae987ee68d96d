//! `AsyncStream::write_to` / `read_from`: real sockets, call-counting writers and scripted mocks.
#![cfg(feature = "tokio")]

use std::collections::VecDeque;
use std::future::poll_fn;
use std::io::{self, IoSlice, Write};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use streamview::{AsyncStream, MAX_WRITE_SLICES};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
#[cfg(unix)]
use tokio::net::UnixStream;
use tokio::net::{TcpListener, TcpStream};

const SMALL: usize = AsyncStream::COALESCE_THRESHOLD / 2;
const LARGE: usize = AsyncStream::COALESCE_THRESHOLD * 2;

// ---- helpers ----

/// Test content: byte `i` is a hash of `i`, so a lost, repeated or reordered run shows.
fn content(len: usize) -> Bytes {
    (0..len as u64)
        .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// Segment sizes cycled through by the socket tests: around the coalescing threshold, tiny and
/// far larger than a socket buffer.
const MIXED_SIZES: [usize; 13] = [
    1,
    7,
    64,
    100,
    1000,
    AsyncStream::COALESCE_THRESHOLD - 1,
    AsyncStream::COALESCE_THRESHOLD,
    4096,
    9000,
    65536,
    200_000,
    3,
    31,
];

/// Streams `data` through `socket` as mixed-size segments (every fifth one a byte-level write
/// into the write tail), flushing with `write_to` each MiB, then shuts the socket down.
async fn send_mixed<W: AsyncWrite + Unpin>(mut socket: W, data: Bytes) -> io::Result<usize> {
    let mut stream = AsyncStream::new();
    let (mut at, mut sent) = (0, 0);
    for (k, size) in MIXED_SIZES.iter().cycle().enumerate() {
        if at == data.len() {
            break;
        }
        let end = (at + size).min(data.len());
        if k % 5 == 4 {
            Write::write_all(&mut stream, &data[at..end])?;
        } else {
            stream.write_segment(data.slice(at..end));
        }
        at = end;
        if stream.len() >= 1 << 20 {
            sent += stream.write_to(&mut socket).await?;
        }
    }
    sent += stream.write_to(&mut socket).await?;
    socket.shutdown().await?;
    Ok(sent)
}

/// Reads `socket` to EOF with `read_from`, checking every segment against `expected`.
async fn receive_checked<R: AsyncRead + Unpin>(mut socket: R, expected: Bytes) -> usize {
    let mut stream = AsyncStream::new();
    let mut checked = 0;
    loop {
        let n = stream.read_from(&mut socket, 1 << 20).await.expect("read");
        while let Some(segment) = stream.read_segment() {
            let end = checked + segment.len();
            assert!(
                end <= expected.len(),
                "received {end} bytes, sent {}",
                expected.len()
            );
            assert!(
                segment == expected[checked..end],
                "bytes {checked}..{end} differ"
            );
            checked = end;
        }
        if n == 0 {
            assert!(stream.is_closed());
            return checked;
        }
    }
}

/// A vectored (or not) writer that records every call's slices and accepts up to `limit` bytes
/// per call.
#[derive(Default)]
struct RecordingWriter {
    written: Vec<u8>,
    /// Per call: (pointer, length) of each slice offered.
    calls: Vec<Vec<(*const u8, usize)>>,
    vectored: bool,
    limit: Option<usize>,
}

impl RecordingWriter {
    fn vectored() -> RecordingWriter {
        RecordingWriter {
            vectored: true,
            ..RecordingWriter::default()
        }
    }

    fn accept(&mut self, bufs: &[IoSlice<'_>]) -> usize {
        self.calls
            .push(bufs.iter().map(|b| (b.as_ptr(), b.len())).collect());
        let mut budget = self.limit.unwrap_or(usize::MAX);
        let before = self.written.len();
        for buf in bufs {
            let take = buf.len().min(budget);
            self.written.extend_from_slice(&buf[..take]);
            budget -= take;
        }
        self.written.len() - before
    }
}

impl AsyncWrite for RecordingWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.get_mut().accept(&[IoSlice::new(buf)])))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(self.get_mut().accept(bufs)))
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A writer that reports a fixed answer for every write (for broken writers).
struct AnsweringWriter(fn(usize) -> io::Result<usize>);

impl AsyncWrite for AnsweringWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready((self.0)(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A reader that yields one queued chunk per `poll_read` (then EOF) and records where in the
/// caller's buffer each chunk landed.
#[derive(Default)]
struct ChunkReader {
    chunks: VecDeque<Bytes>,
    landed_at: Vec<*const u8>,
}

impl ChunkReader {
    fn new<const N: usize>(chunks: [&'static [u8]; N]) -> ChunkReader {
        ChunkReader {
            chunks: chunks.into_iter().map(Bytes::from_static).collect(),
            landed_at: Vec::new(),
        }
    }
}

impl AsyncRead for ChunkReader {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(chunk) = this.chunks.front_mut() {
            let take = chunk.len().min(buf.remaining());
            let start = buf.filled().len();
            buf.put_slice(&chunk.split_to(take));
            this.landed_at.push(buf.filled()[start..].as_ptr());
            if chunk.is_empty() {
                this.chunks.pop_front();
            }
        }
        Poll::Ready(Ok(()))
    }
}

fn noop_context() -> Context<'static> {
    Context::from_waker(futures::task::noop_waker_ref())
}

// ---- real sockets ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_carries_64_mib_of_mixed_segments_intact() {
    let data = content(64 << 20);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let sender = tokio::spawn(send_mixed(
        TcpStream::connect(address).await.unwrap(),
        data.clone(),
    ));
    let (server, _) = listener.accept().await.unwrap();
    assert_eq!(receive_checked(server, data.clone()).await, data.len());
    assert_eq!(sender.await.unwrap().unwrap(), data.len());
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_socket_pair_carries_64_mib_of_mixed_segments_intact() {
    let data = content(64 << 20);
    let (ours, theirs) = UnixStream::pair().unwrap();
    let sender = tokio::spawn(send_mixed(ours, data.clone()));
    assert_eq!(receive_checked(theirs, data.clone()).await, data.len());
    assert_eq!(sender.await.unwrap().unwrap(), data.len());
}

// ---- one vectored call per batch ----

#[tokio::test]
async fn write_to_sends_large_segments_in_one_vectored_call_without_copying() {
    let segments: Vec<Bytes> = (0..40).map(|i| content(LARGE + i)).collect();
    let mut stream: AsyncStream = segments.iter().cloned().collect();
    let mut writer = RecordingWriter::vectored();
    let total: usize = segments.iter().map(Bytes::len).sum();

    assert_eq!(stream.write_to(&mut writer).await.unwrap(), total);

    assert_eq!(writer.calls.len(), 1);
    let offered: Vec<(*const u8, usize)> = segments.iter().map(|s| (s.as_ptr(), s.len())).collect();
    assert_eq!(writer.calls[0], offered);
    assert_eq!(writer.written, segments.concat());
    assert!(stream.is_empty());
}

#[tokio::test]
async fn write_to_batches_at_most_max_write_slices_per_call() {
    let count = 2 * MAX_WRITE_SLICES + 2;
    let segments: Vec<Bytes> = (0..count).map(|_| content(LARGE)).collect();
    let mut stream: AsyncStream = segments.iter().cloned().collect();
    let mut writer = RecordingWriter::vectored();

    stream.write_to(&mut writer).await.unwrap();

    let slices_per_call: Vec<usize> = writer.calls.iter().map(Vec::len).collect();
    assert_eq!(slices_per_call, [MAX_WRITE_SLICES, MAX_WRITE_SLICES, 2]);
    assert_eq!(writer.written, segments.concat());
}

#[tokio::test]
async fn write_to_offers_many_huge_segments_in_one_call() {
    let segments: Vec<Bytes> = (0..10).map(|i| content(1 << 20).slice(i..)).collect();
    let mut stream: AsyncStream = segments.iter().cloned().collect();
    let mut writer = RecordingWriter::vectored();

    stream.write_to(&mut writer).await.unwrap();

    assert_eq!(writer.calls.len(), 1);
    assert_eq!(writer.calls[0].len(), 10);
    assert_eq!(writer.written, segments.concat());
}

#[tokio::test]
async fn write_to_prepares_a_bounded_batch_of_small_segments_per_call() {
    // 4 MiB of 100-byte segments: each call offers a few merged blocks, not the whole stream
    // copied up front, and never a tiny unmerged segment as an iovec of its own.
    let segments: Vec<Bytes> = (0..40_000).map(|i| content(100).slice(i % 7..)).collect();
    let mut stream: AsyncStream = segments.iter().cloned().collect();
    let mut writer = RecordingWriter::vectored();

    stream.write_to(&mut writer).await.unwrap();

    assert!(writer.calls.len() > 4, "{} calls", writer.calls.len());
    for call in &writer.calls[..writer.calls.len() - 1] {
        let offered: usize = call.iter().map(|&(_, len)| len).sum();
        assert!(offered <= 1 << 20, "one call offered {offered} bytes");
        assert!(call
            .iter()
            .all(|&(_, len)| len >= AsyncStream::COALESCE_THRESHOLD));
    }
    assert_eq!(writer.written, segments.concat());
}

#[tokio::test]
async fn write_to_merges_a_run_of_small_segments_into_one_slice() {
    let segments: Vec<Bytes> = (0..1000).map(|i| content(1 + i % 20)).collect();
    let mut stream: AsyncStream = segments.iter().cloned().collect();
    let mut writer = RecordingWriter::vectored();
    let total: usize = segments.iter().map(Bytes::len).sum();

    assert_eq!(stream.write_to(&mut writer).await.unwrap(), total);

    assert_eq!(writer.calls.len(), 1);
    assert_eq!(writer.calls[0].len(), 1);
    assert_eq!(writer.calls[0][0].1, total);
    assert_eq!(writer.written, segments.concat());
}

#[tokio::test]
async fn write_to_merges_small_runs_but_passes_large_segments_and_the_tail_as_they_are() {
    let large = content(LARGE);
    let mut stream = AsyncStream::new();
    stream.write_segments([content(SMALL), content(3), content(SMALL)]);
    stream.write_segment(large.clone());
    stream.write_segments([content(5), content(7)]);
    let single_small = content(SMALL);
    stream.write_segment(single_small.clone());
    stream.write_segment(large.clone());
    Write::write_all(&mut stream, b"tail bytes").unwrap();
    let expected = stream.to_bytes();
    let mut writer = RecordingWriter::vectored();

    stream.write_to(&mut writer).await.unwrap();

    assert_eq!(writer.calls.len(), 1);
    let lengths: Vec<usize> = writer.calls[0].iter().map(|&(_, len)| len).collect();
    assert_eq!(
        lengths,
        [
            2 * SMALL + 3,
            LARGE,
            5 + 7 + SMALL,
            LARGE,
            b"tail bytes".len()
        ]
    );
    assert_eq!(writer.calls[0][1].0, large.as_ptr());
    assert_eq!(writer.calls[0][3].0, large.as_ptr());
    assert_eq!(writer.written, expected);
}

#[tokio::test]
async fn write_to_a_non_vectored_writer_writes_the_front_segment_per_call() {
    let segments: Vec<Bytes> = (0..3).map(|_| content(LARGE)).collect();
    let mut stream: AsyncStream = segments.iter().cloned().collect();
    stream.write_segments([content(1), content(2), content(3)]);
    let expected = stream.to_bytes();
    let mut writer = RecordingWriter::default();

    stream.write_to(&mut writer).await.unwrap();

    let offered: Vec<Vec<(*const u8, usize)>> = writer.calls.clone();
    assert_eq!(offered.len(), 4);
    for (call, segment) in offered.iter().zip(&segments) {
        assert_eq!(call, &[(segment.as_ptr(), LARGE)]);
    }
    assert_eq!(offered[3][0].1, 6); // the three small ones, merged
    assert_eq!(writer.written, expected);
}

#[tokio::test]
async fn write_to_resumes_short_writes_without_losing_or_repeating_bytes() {
    for limit in [1, 999, LARGE - 1, LARGE + 1] {
        let mut stream = AsyncStream::new();
        for i in 0..50 {
            stream.write_segment(content(if i % 3 == 0 { LARGE + i } else { 1 + i }));
        }
        let expected = stream.to_bytes();
        let mut writer = RecordingWriter {
            limit: Some(limit),
            ..RecordingWriter::vectored()
        };

        assert_eq!(stream.write_to(&mut writer).await.unwrap(), expected.len());

        assert_eq!(writer.written, expected, "limit {limit}");
        assert!(stream.is_empty());
    }
}

#[tokio::test]
async fn poll_write_to_on_an_empty_stream_is_ready_with_zero() {
    let mut stream = AsyncStream::new();
    let mut writer = RecordingWriter::vectored();
    let poll = stream.poll_write_to(&mut noop_context(), Pin::new(&mut writer));
    assert!(matches!(poll, Poll::Ready(Ok(0))));
    assert!(writer.calls.is_empty());
}

// ---- scripted mocks: partial writes, Pending, errors ----

#[tokio::test(start_paused = true)]
async fn poll_write_to_reports_what_was_written_before_pending_then_resumes() {
    let mut stream = AsyncStream::new();
    stream.write_segments(["hello ", "world"]);
    let mut mock = tokio_test::io::Builder::new()
        .write(b"hel")
        .wait(Duration::from_millis(10))
        .write(b"lo world")
        .build();
    let mut cx = noop_context();

    let first = stream.poll_write_to(&mut cx, Pin::new(&mut mock));
    assert!(matches!(first, Poll::Ready(Ok(3))), "{first:?}");
    assert_eq!(stream, b"lo world");
    assert!(stream
        .poll_write_to(&mut cx, Pin::new(&mut mock))
        .is_pending());
    assert_eq!(stream, b"lo world");

    tokio::time::advance(Duration::from_millis(10)).await;
    let rest = poll_fn(|cx| stream.poll_write_to(cx, Pin::new(&mut mock))).await;
    assert_eq!(rest.unwrap(), 8);
    assert!(stream.is_empty());
}

#[tokio::test]
async fn write_to_error_mid_flush_keeps_every_unwritten_byte_in_order() {
    let mut stream = AsyncStream::new();
    stream.write_segments(["hello ", "world"]);
    let mut mock = tokio_test::io::Builder::new()
        .write(b"hello ")
        .write_error(io::Error::new(io::ErrorKind::ConnectionReset, "reset"))
        .build();

    let error = stream.write_to(&mut mock).await.unwrap_err();

    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
    assert_eq!(stream, b"world");
    let mut retry = tokio_test::io::Builder::new().write(b"world").build();
    assert_eq!(stream.write_to(&mut retry).await.unwrap(), 5);
    assert!(stream.is_empty());
}

#[tokio::test]
async fn write_to_retries_interrupted_writes() {
    let mut stream = AsyncStream::from("data");
    let mut mock = tokio_test::io::Builder::new()
        .write_error(io::ErrorKind::Interrupted.into())
        .write(b"da")
        .write_error(io::ErrorKind::Interrupted.into())
        .write(b"ta")
        .build();

    assert_eq!(stream.write_to(&mut mock).await.unwrap(), 4);
    assert!(stream.is_empty());
}

#[tokio::test]
async fn write_to_a_writer_that_accepts_nothing_is_write_zero_and_keeps_the_bytes() {
    let mut stream = AsyncStream::from("kept");
    let mut writer = AnsweringWriter(|_| Ok(0));

    let error = stream.write_to(&mut writer).await.unwrap_err();

    assert_eq!(error.kind(), io::ErrorKind::WriteZero);
    assert!(error.to_string().contains("0 of 4"), "{error}");
    assert_eq!(stream, b"kept");
}

#[tokio::test]
async fn write_to_a_writer_claiming_more_than_offered_is_an_error_and_consumes_nothing() {
    let mut stream = AsyncStream::new();
    stream.write_segments(["ab", "cd"]);
    let mut writer = AnsweringWriter(|offered| Ok(offered + 1));

    let error = stream.write_to(&mut writer).await.unwrap_err();

    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    assert!(error.to_string().contains("5 bytes"), "{error}");
    assert_eq!(stream, b"abcd");
}

// ---- read_from ----

#[tokio::test]
async fn read_from_with_max_zero_is_invalid_input_and_reads_nothing() {
    let mut source: &[u8] = b"untouched";
    let mut stream = AsyncStream::new();

    let error = stream.read_from(&mut source, 0).await.unwrap_err();

    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(source, b"untouched");
    assert!(stream.is_empty() && !stream.is_closed());
}

#[tokio::test]
async fn read_from_reads_at_most_max_bytes() {
    let mut source: &[u8] = b"abcdef";
    let mut stream = AsyncStream::new();

    assert_eq!(stream.read_from(&mut source, 4).await.unwrap(), 4);

    assert_eq!(stream, b"abcd");
    assert_eq!(source, b"ef");
}

#[tokio::test]
async fn read_from_end_of_file_closes_the_stream_and_keeps_held_bytes() {
    let mut source = ChunkReader::new([b"last"]);
    let mut stream = AsyncStream::new();

    assert_eq!(stream.read_from(&mut source, 64).await.unwrap(), 4);
    assert!(!stream.is_closed());
    assert_eq!(stream.read_from(&mut source, 64).await.unwrap(), 0);

    assert!(stream.is_closed());
    assert_eq!(stream.read_bytes(64), "last");
}

#[tokio::test]
async fn read_from_a_closed_stream_is_broken_pipe_and_reads_nothing() {
    let mut source: &[u8] = b"untouched";
    let mut stream = AsyncStream::from("held");
    stream.close();

    let error = stream.read_from(&mut source, 64).await.unwrap_err();

    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    assert_eq!(source, b"untouched");
    assert_eq!(stream, b"held");
}

#[tokio::test]
async fn read_from_source_error_leaves_the_stream_unchanged() {
    let mut source = tokio_test::io::Builder::new()
        .read(b"ok")
        .read_error(io::Error::other("boom"))
        .build();
    let mut stream = AsyncStream::new();

    assert_eq!(stream.read_from(&mut source, 64).await.unwrap(), 2);
    let error = stream.read_from(&mut source, 64).await.unwrap_err();

    assert_eq!(error.to_string(), "boom");
    assert_eq!(stream, b"ok");
    assert!(!stream.is_closed());
}

#[tokio::test]
async fn read_from_lands_bytes_in_place_and_they_are_read_back_without_a_copy() {
    let mut source = ChunkReader::new([b"first", b"second"]);
    let mut stream = AsyncStream::new();

    stream.read_from(&mut source, 64).await.unwrap();
    stream.read_from(&mut source, 64).await.unwrap();

    // Short reads share one block: the second landed right after the first, one segment.
    assert_eq!(source.landed_at[1], source.landed_at[0].wrapping_add(5));
    assert_eq!(stream.num_segments(), 1);
    let segment = stream.read_segment().unwrap();
    assert_eq!(segment, "firstsecond");
    assert_eq!(segment.as_ptr(), source.landed_at[0]);
}

#[tokio::test]
async fn read_from_reads_into_64_kib_blocks_and_starts_a_new_one_when_nearly_full() {
    let block = 64 * 1024;
    let mut source: &[u8] = &vec![9u8; 4 * block];
    let mut stream = AsyncStream::new();

    // One read never goes past the block, however large `max` is.
    assert_eq!(
        stream.read_from(&mut source, 4 * block).await.unwrap(),
        block
    );
    let mut exact: &[u8] = &vec![1u8; block - 100];
    let mut stream = AsyncStream::new();
    stream.read_from(&mut exact, block - 100).await.unwrap();
    // 100 bytes of room left: a large read starts a new block rather than reading 100 bytes.
    assert_eq!(stream.read_from(&mut source, block).await.unwrap(), block);
    assert_eq!(stream.num_segments(), 2);
    // A read asking for no more than the room left still uses it.
    let mut nearly_full: &[u8] = &vec![1u8; block - 5];
    let mut small: &[u8] = b"0123456789";
    let mut stream = AsyncStream::new();
    stream.read_from(&mut nearly_full, block).await.unwrap();
    assert_eq!(stream.read_from(&mut small, 5).await.unwrap(), 5);
    assert_eq!(stream.num_segments(), 1);
    assert_eq!(stream.len(), block);
}

#[tokio::test]
async fn read_from_wakes_a_reader_waiting_on_the_stream() {
    let mut stream = AsyncStream::new();
    let mut waiting = tokio_test::task::spawn(());
    let mut buf = [0u8; 8];
    let mut read_buf = ReadBuf::new(&mut buf);
    let poll = waiting.enter(|cx, _| Pin::new(&mut stream).poll_read(cx, &mut read_buf));
    assert!(poll.is_pending());
    assert!(!waiting.is_woken());

    let mut source: &[u8] = b"wake";
    stream.read_from(&mut source, 64).await.unwrap();

    assert!(waiting.is_woken());
}

#[tokio::test(start_paused = true)]
async fn dropping_write_to_part_way_keeps_exactly_the_unwritten_bytes() {
    let mut stream = AsyncStream::new();
    stream.write_segments(["hello ", "world"]);
    let mut mock = tokio_test::io::Builder::new()
        .write(b"hello")
        .wait(Duration::from_secs(1))
        .write(b" world")
        .build();
    {
        let mut flush = tokio_test::task::spawn(stream.write_to(&mut mock));
        assert!(flush.poll().is_pending());
    } // cancelled: the future is dropped with "hello" written and the rest pending

    assert_eq!(stream, b" world");
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(stream.write_to(&mut mock).await.unwrap(), 6);
    assert!(stream.is_empty());
}

/// The trial's input: the panic the docs promise used to come from tokio-util's internal
/// assertion, naming two pointers and nothing else. It now names the call, the cause and the
/// sizes, and the stream is still as it was.
#[test]
fn read_from_a_source_that_swaps_its_read_buf_panics_clearly_and_changes_nothing() {
    let mut stream = AsyncStream::from("keep");
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        futures::executor::block_on(stream.read_from(&mut swapped_read_buf::SwapsReadBuf, 100))
    }))
    .expect_err("a swapped ReadBuf must panic");
    let message = swapped_read_buf::panic_text(panic);
    assert!(
        message.contains("read_from")
            && message.contains("replaced the ReadBuf")
            && message.contains("10 bytes")
            && message.contains("the 5 bytes"),
        "message: {message}"
    );
    assert_eq!(stream, b"keep"[..]);
    let mut more: &[u8] = b"!";
    assert_eq!(
        futures::executor::block_on(stream.read_from(&mut more, 100)).unwrap(),
        1
    );
    assert_eq!(stream, b"keep!"[..]);
}

#[path = "common/swapped_read_buf.rs"]
mod swapped_read_buf;
