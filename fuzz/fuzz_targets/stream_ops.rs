//! Arbitrary operation sequences on one `AsyncStream`, checked after every step against a
//! `VecDeque<u8>` model: content, length, segment shape, closed flag, the zero-copy rules that
//! the public API can observe (`as_ptr()` of what is read back), and the reader's wake count.
//!
//! Every trait path is driven: `Buf`, `BufMut` (including `chunk_mut` + `advance_mut`), std
//! `Read`/`BufRead`/`Write`, Tokio `AsyncRead`/`AsyncBufRead`/`AsyncWrite` polled with a counting
//! waker, and the segment operations, `Clone` and `deep_clone`.
//!
//! Writes that the API answers with a panic (segment writes and `BufMut` puts after `close()`,
//! `advance` past `remaining()`) are not generated: those panics are covered by the unit tests.
//! Byte-level writes after `close()` *are* generated and must fail with `BrokenPipe` without
//! touching the held bytes.
//!
//! Failing writes are generated too, open or closed: `put_bytes` past `remaining_mut()`, `put` of
//! a `Buf` that lies about its length, `encode` with an encoder that fails or panics half-way,
//! `read_from` a source that errors after filling part of the buffer. Their expected panics are
//! caught with libFuzzer's aborting panic hook swapped out for the call; afterwards the stream
//! must equal the untouched model, with the same segment lengths and spare room, and no reader
//! may have been woken.

#![no_main]

use std::collections::VecDeque;
use std::io::{self, BufRead, IoSlice, IoSliceMut, Read, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use arbitrary::{Arbitrary, Unstructured};
use bytes::{Buf, BufMut, Bytes};
use libfuzzer_sys::fuzz_target;
use streamview::AsyncStream;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::codec::{BytesCodec, Encoder};

/// Writes stop growing the stream past this many bytes, so the O(len) check after every step
/// keeps the fuzzer fast. Well above the 8 KiB write-tail block, so block turnover is covered.
const MAX_HELD: usize = 64 * 1024;

/// Repeated-byte writes are at most this long: enough to span two tail blocks in one call.
const MAX_REPEAT: u16 = 20_000;

/// Bytes to write, with one in eight turned into `\n` so that line reads see lines that end,
/// lines that do not, and newlines hidden in segments pushed back to the front.
#[derive(Debug)]
struct Data(Vec<u8>);

impl<'a> Arbitrary<'a> for Data {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Data> {
        let raw = Vec::<u8>::arbitrary(u)?;
        Ok(Data(
            raw.into_iter()
                .map(|b| if b % 8 == 0 { b'\n' } else { b })
                .collect(),
        ))
    }

    fn size_hint(depth: usize) -> (usize, Option<usize>) {
        Vec::<u8>::size_hint(depth)
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    // Segment writes: never copied.
    WriteSegment(Data),
    WriteSegments(Vec<Data>),
    ExtendSegments(Vec<Data>),
    Append {
        segments: Vec<Data>,
        tail: Data,
    },
    UnreadSegment(Data),
    // BufMut.
    PutSlice(Data),
    PutU8(u8),
    PutU32(u32),
    PutBytes {
        byte: u8,
        count: u16,
    },
    PutChain {
        head: Data,
        byte: u8,
        count: u16,
    },
    ChunkMut {
        byte: u8,
        count: u16,
    },
    // std Write.
    Write(Data),
    WriteVectored(Vec<Data>),
    WriteAllRepeated {
        byte: u8,
        count: u16,
    },
    // Tokio AsyncWrite.
    PollWrite(Data),
    PollWriteVectored(Vec<Data>),
    PollShutdown,
    // Buf reads.
    DrainByChunk(u16),
    Advance(u16),
    CopyToBytes(u16),
    CopyToSlice(u16),
    GetU8,
    GetU32,
    ChunksVectored(u8),
    // std Read / BufRead.
    Read(u16),
    ReadVectored(u16, u16),
    ReadExact(u16),
    FillBufConsume(u16),
    ReadUntilNewline,
    // Tokio AsyncRead / AsyncBufRead.
    PollRead(u16),
    PollFillBufConsume(u16),
    // Segment reads and edits.
    ReadSegment,
    ReadSegments {
        take: u8,
    },
    UnwriteSegment,
    ReadChunk(u16),
    ReadBytes(u16),
    ReadLine,
    Skip(u16),
    Truncate(u16),
    Clear,
    Close,
    // Views and copies.
    Segment(u8),
    ToBytes,
    Clone {
        continue_with_clone: bool,
    },
    DeepClone {
        continue_with_copy: bool,
    },
    // Writes that fail: the stream must be left exactly as it was.
    /// `put_bytes` of `remaining_mut() + excess` bytes (`excess == 0`: `usize::MAX`).
    PutBytesHuge {
        byte: u8,
        excess: u8,
    },
    /// `put` of a `Buf` claiming `held.len() + extra` bytes (`None`: `usize::MAX`), optionally
    /// after a first chunk large enough to go in as its own segment.
    PutLyingBuf {
        held: Data,
        large_first: bool,
        extra: Option<u8>,
    },
    /// `encode` with an encoder that writes `written` (after reserving `reserve * 4096` bytes)
    /// and then returns an error or panics.
    EncodeFailing {
        written: Data,
        reserve: u8,
        panics: bool,
    },
    /// `read_from` a source that fills part of the buffer, then errors.
    ReadFromErroring {
        filled: Data,
        max: u16,
    },
    // Writes through the newer paths that succeed.
    EncodeOk(Data),
    ReadFromOk {
        data: Data,
        max: u16,
    },
    FmtWrite(Data),
    /// `BufRead::consume` of any amount: past the end it empties the stream.
    ConsumeClamped(u16),
}

/// A `Buf` whose chunk runs out while it still claims bytes remain.
struct LyingBuf {
    held: Bytes,
    claimed: usize,
}

impl Buf for LyingBuf {
    fn remaining(&self) -> usize {
        self.claimed
    }

    fn chunk(&self) -> &[u8] {
        &self.held
    }

    fn advance(&mut self, cnt: usize) {
        self.held.advance(cnt);
        self.claimed -= cnt;
    }
}

/// Writes its bytes into the frame, then fails with an error or a panic.
struct FailingEncoder {
    written: Vec<u8>,
    reserve: usize,
    panics: bool,
}

impl Encoder<()> for FailingEncoder {
    type Error = io::Error;

    fn encode(&mut self, _: (), dst: &mut bytes::BytesMut) -> io::Result<()> {
        dst.reserve(self.reserve);
        dst.extend_from_slice(&self.written);
        if self.panics {
            panic!("FailingEncoder: deliberate panic");
        }
        Err(io::Error::other("FailingEncoder: deliberate error"))
    }
}

/// Fills part of the read buffer, then reports an error.
struct ErroringReader(Vec<u8>);

impl AsyncRead for ErroringReader {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.0.len().min(buf.remaining());
        buf.put_slice(&self.0[..n]);
        Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()))
    }
}

/// Runs `call`, which must panic, with libFuzzer's aborting panic hook swapped for a silent one.
fn expect_panic<T>(call: impl FnOnce() -> T) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(call));
    std::panic::set_hook(hook);
    assert!(result.is_err(), "the failing write did not panic");
}

/// `true` for the writes generated to fail: checked against a snapshot of the layout.
fn fails(op: &Op) -> bool {
    matches!(
        op,
        Op::PutBytesHuge { .. }
            | Op::PutLyingBuf { .. }
            | Op::EncodeFailing { .. }
            | Op::ReadFromErroring { .. }
    )
}

/// The reference: the held bytes, the closed flag, and whether a reader task is parked on the
/// stream (its last poll returned `Pending`), so the next write or close must wake it once.
#[derive(Clone, Default)]
struct Model {
    bytes: VecDeque<u8>,
    closed: bool,
    reader_parked: bool,
}

impl Model {
    fn take_front(&mut self, n: usize) -> Vec<u8> {
        self.bytes.drain(..n).collect()
    }

    fn front(&self, n: usize) -> Vec<u8> {
        self.bytes.iter().take(n).copied().collect()
    }

    fn newline_at(&self) -> Option<usize> {
        self.bytes.iter().position(|&b| b == b'\n')
    }
}

/// A waker that counts how often it was woken.
#[derive(Default)]
struct CountingWaker {
    wakes: AtomicUsize,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// `(address, length)` of every held segment, front to back, to check what stays in place.
fn segment_spans(stream: &AsyncStream) -> Vec<(usize, usize)> {
    stream
        .segments()
        .map(|segment| (segment.as_ptr() as usize, segment.len()))
        .collect()
}

fn segment_lens(stream: &AsyncStream) -> Vec<usize> {
    stream.segments().map(<[u8]>::len).collect()
}

/// The invariants that must hold between any two operations.
fn check(stream: &AsyncStream, model: &Model) {
    let expected: Vec<u8> = model.bytes.iter().copied().collect();
    assert_eq!(stream.len(), expected.len());
    assert_eq!(Buf::remaining(stream), expected.len());
    assert_eq!(stream.is_empty(), expected.is_empty());
    assert_eq!(stream.is_closed(), model.closed);
    assert!(*stream == expected, "content differs from the model");
    assert!(
        Buf::chunk(stream).len() <= Buf::remaining(stream),
        "chunk() past remaining()"
    );

    let segments: Vec<&[u8]> = stream.segments().collect();
    assert_eq!(segments.len(), stream.num_segments());
    assert_eq!(stream.segments().len(), stream.num_segments());
    assert!(
        segments.iter().all(|segment| !segment.is_empty()),
        "an empty segment is held"
    );
    assert_eq!(segments.concat(), expected);
    let mut backwards: Vec<&[u8]> = stream.segments().rev().collect();
    backwards.reverse();
    assert_eq!(backwards, segments);

    let chunk = Buf::chunk(stream);
    match segments.first() {
        Some(front) => {
            assert_eq!(chunk.as_ptr(), front.as_ptr());
            assert_eq!(chunk.len(), front.len());
        }
        None => assert!(chunk.is_empty()),
    }

    assert_eq!(
        format!("{stream:?}"),
        format!(
            "AsyncStream {{ segments: {}, len: {}, closed: {} }}",
            stream.num_segments(),
            stream.len(),
            model.closed
        )
    );
}

/// Checks a read that lay within the front segment was handed out without a copy.
fn assert_zero_copy_if_within_front(read: &Bytes, front: Option<(usize, usize)>) {
    if let Some((front_ptr, front_len)) = front {
        if !read.is_empty() && read.len() <= front_len {
            assert_eq!(
                read.as_ptr() as usize,
                front_ptr,
                "a read within the front segment was copied"
            );
        }
    }
}

fn assert_broken_pipe<T: std::fmt::Debug>(result: io::Result<T>) {
    assert_eq!(result.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
}

fn assert_would_block<T: std::fmt::Debug>(result: io::Result<T>) {
    assert_eq!(result.unwrap_err().kind(), io::ErrorKind::WouldBlock);
}

fn unwrap_all(data: Vec<Data>) -> Vec<Vec<u8>> {
    data.into_iter().map(|Data(bytes)| bytes).collect()
}

fn repeated(byte: u8, count: u16) -> Vec<u8> {
    vec![byte; usize::from(count % (MAX_REPEAT + 1))]
}

/// True for operations that may add bytes (so they are skipped once the stream is large) and
/// that are refused with a panic on a closed stream (so they are skipped after close).
fn panics_when_closed(op: &Op) -> bool {
    matches!(
        op,
        Op::WriteSegment(_)
            | Op::WriteSegments(_)
            | Op::ExtendSegments(_)
            | Op::Append { .. }
            | Op::PutSlice(_)
            | Op::PutU8(_)
            | Op::PutU32(_)
            | Op::PutBytes { .. }
            | Op::PutChain { .. }
            | Op::ChunkMut { .. }
    )
}

fn grows(op: &Op) -> bool {
    panics_when_closed(op)
        || matches!(
            op,
            Op::UnreadSegment(_)
                | Op::Write(_)
                | Op::WriteVectored(_)
                | Op::WriteAllRepeated { .. }
                | Op::PollWrite(_)
                | Op::PollWriteVectored(_)
                | Op::EncodeOk(_)
                | Op::ReadFromOk { .. }
                | Op::FmtWrite(_)
        )
}

struct Harness {
    stream: AsyncStream,
    model: Model,
    /// A copy made by `Clone`/`deep_clone` and never touched again: later operations on the
    /// live stream must not change it.
    frozen_copy: Option<(AsyncStream, Vec<u8>)>,
    waker: Arc<CountingWaker>,
}

impl Harness {
    fn apply(&mut self, op: Op) {
        if self.model.closed && panics_when_closed(&op) {
            return;
        }
        if self.model.bytes.len() > MAX_HELD && grows(&op) {
            return;
        }
        let waker = Waker::from(self.waker.clone());
        let mut cx = Context::from_waker(&waker);
        // For a failing write: the segment lengths and the spare room before it (`chunk_mut`
        // first, so a full tail has started its next block in both snapshots).
        let layout_before = (fails(&op) && !self.model.closed).then(|| {
            let spare = self.stream.chunk_mut().len();
            (segment_lens(&self.stream), spare)
        });
        self.apply_op(op, &mut cx);
        if let Some(before) = layout_before {
            let spare = self.stream.chunk_mut().len();
            assert_eq!(
                (segment_lens(&self.stream), spare),
                before,
                "a failed write changed the layout"
            );
        }
    }

    fn apply_op(&mut self, op: Op, cx: &mut Context<'_>) {
        let mut cx = cx;
        let stream = &mut self.stream;
        let model = &mut self.model;
        let front = stream
            .segments()
            .next()
            .map(|segment| (segment.as_ptr() as usize, segment.len()));
        let back = stream
            .segments()
            .next_back()
            .map(|segment| (segment.as_ptr() as usize, segment.len()));

        match op {
            Op::WriteSegment(Data(data)) => {
                let segment = Bytes::from(data);
                assert_eq!(stream.write_segment(segment.clone()), segment.len());
                if !segment.is_empty() {
                    let back = stream.segments().next_back().unwrap();
                    assert_eq!(back.as_ptr(), segment.as_ptr(), "write_segment copied");
                }
                model.bytes.extend(&segment);
            }
            Op::WriteSegments(data) => {
                let data = unwrap_all(data);
                let segments: Vec<Bytes> = data.into_iter().map(Bytes::from).collect();
                let total: usize = segments.iter().map(Bytes::len).sum();
                let before = stream.num_segments();
                assert_eq!(stream.write_segments(segments.iter().cloned()), total);
                let stored: Vec<&[u8]> = stream.segments().skip(before).collect();
                let given: Vec<&Bytes> = segments.iter().filter(|s| !s.is_empty()).collect();
                // The old tail (if any) was sealed in place as one segment before them.
                let stored = &stored[stored.len() - given.len()..];
                for (stored, given) in stored.iter().zip(given) {
                    assert_eq!(stored.as_ptr(), given.as_ptr(), "write_segments copied");
                }
                for segment in &segments {
                    model.bytes.extend(segment);
                }
            }
            Op::ExtendSegments(data) => {
                let data = unwrap_all(data);
                for segment in &data {
                    model.bytes.extend(segment);
                }
                stream.extend(data.into_iter().map(Bytes::from));
            }
            Op::Append {
                segments,
                tail: Data(tail),
            } => {
                let segments = unwrap_all(segments);
                let mut other: AsyncStream = segments.iter().cloned().map(Bytes::from).collect();
                other.write_all(&tail).unwrap();
                let moved = other.len();
                assert_eq!(stream.append(&mut other), moved);
                assert!(other.is_empty());
                for segment in &segments {
                    model.bytes.extend(segment);
                }
                model.bytes.extend(&tail);
            }
            Op::UnreadSegment(Data(data)) => {
                let segment = Bytes::from(data);
                assert_eq!(stream.unread_segment(segment.clone()), segment.len());
                if !segment.is_empty() {
                    assert_eq!(
                        Buf::chunk(stream).as_ptr(),
                        segment.as_ptr(),
                        "unread copied"
                    );
                }
                for &byte in segment.iter().rev() {
                    model.bytes.push_front(byte);
                }
            }
            Op::PutSlice(Data(data)) => {
                stream.put_slice(&data);
                model.bytes.extend(&data);
            }
            Op::PutU8(byte) => {
                stream.put_u8(byte);
                model.bytes.push_back(byte);
            }
            Op::PutU32(word) => {
                stream.put_u32(word);
                model.bytes.extend(word.to_be_bytes());
            }
            Op::PutBytes { byte, count } => {
                let data = repeated(byte, count);
                stream.put_bytes(byte, data.len());
                model.bytes.extend(&data);
            }
            Op::PutChain {
                head: Data(head),
                byte,
                count,
            } => {
                let body = repeated(byte, count);
                stream.put(Bytes::from(head.clone()).chain(Bytes::from(body.clone())));
                model.bytes.extend(&head);
                model.bytes.extend(&body);
            }
            Op::ChunkMut { byte, count } => {
                let spare = stream.chunk_mut();
                assert!(spare.len() > 0, "chunk_mut offered no room");
                let n = usize::from(count).min(spare.len());
                for i in 0..n {
                    spare.write_byte(i, byte);
                }
                // SAFETY: the first `n` bytes of the slice `chunk_mut` just returned were
                // written by the loop above.
                unsafe { stream.advance_mut(n) };
                model.bytes.extend(std::iter::repeat_n(byte, n));
            }
            Op::Write(Data(data)) => {
                let result = stream.write(&data);
                if model.closed {
                    assert_broken_pipe(result);
                } else {
                    assert_eq!(result.unwrap(), data.len());
                    model.bytes.extend(&data);
                }
            }
            Op::WriteVectored(data) => {
                let data = unwrap_all(data);
                let slices: Vec<IoSlice<'_>> = data.iter().map(|d| IoSlice::new(d)).collect();
                let result = stream.write_vectored(&slices);
                if model.closed {
                    assert_broken_pipe(result);
                } else {
                    assert_eq!(result.unwrap(), data.iter().map(Vec::len).sum::<usize>());
                    data.iter().for_each(|d| model.bytes.extend(d));
                }
            }
            Op::WriteAllRepeated { byte, count } => {
                let data = repeated(byte, count);
                let result = stream.write_all(&data);
                if model.closed && !data.is_empty() {
                    assert_broken_pipe(result);
                } else {
                    result.unwrap();
                    model.bytes.extend(&data);
                }
            }
            Op::PollWrite(Data(data)) => {
                let result = match Pin::new(&mut *stream).poll_write(&mut cx, &data) {
                    Poll::Ready(result) => result,
                    Poll::Pending => panic!("AsyncWrite on an AsyncStream returned Pending"),
                };
                if model.closed {
                    assert_broken_pipe(result);
                } else {
                    assert_eq!(result.unwrap(), data.len());
                    model.bytes.extend(&data);
                }
            }
            Op::PollWriteVectored(data) => {
                let data = unwrap_all(data);
                assert!(AsyncWrite::is_write_vectored(&*stream));
                let slices: Vec<IoSlice<'_>> = data.iter().map(|d| IoSlice::new(d)).collect();
                let result = match Pin::new(&mut *stream).poll_write_vectored(&mut cx, &slices) {
                    Poll::Ready(result) => result,
                    Poll::Pending => panic!("AsyncWrite on an AsyncStream returned Pending"),
                };
                if model.closed {
                    assert_broken_pipe(result);
                } else {
                    assert_eq!(result.unwrap(), data.iter().map(Vec::len).sum::<usize>());
                    data.iter().for_each(|d| model.bytes.extend(d));
                }
            }
            Op::PollShutdown => {
                let result = Pin::new(&mut *stream).poll_shutdown(&mut cx);
                assert!(matches!(result, Poll::Ready(Ok(()))));
                model.closed = true;
            }
            Op::DrainByChunk(limit) => {
                let mut left = usize::from(limit).min(model.bytes.len());
                while left > 0 {
                    let chunk = Buf::chunk(stream);
                    assert!(!chunk.is_empty(), "chunk() empty while bytes remain");
                    let take = chunk.len().min(left);
                    assert_eq!(chunk[..take], model.take_front(take)[..]);
                    stream.advance(take);
                    left -= take;
                }
            }
            Op::Advance(n) => {
                let n = usize::from(n).min(model.bytes.len());
                stream.advance(n);
                model.take_front(n);
            }
            Op::CopyToBytes(n) => {
                let n = usize::from(n).min(model.bytes.len());
                let read = stream.copy_to_bytes(n);
                assert_eq!(read, model.take_front(n));
                assert_zero_copy_if_within_front(&read, front);
            }
            Op::CopyToSlice(n) => {
                let mut dst = vec![0u8; usize::from(n).min(model.bytes.len())];
                stream.copy_to_slice(&mut dst);
                assert_eq!(dst, model.take_front(dst.len()));
            }
            Op::GetU8 => {
                if !model.bytes.is_empty() {
                    assert_eq!(stream.get_u8(), model.bytes.pop_front().unwrap());
                }
            }
            Op::GetU32 => {
                if model.bytes.len() >= 4 {
                    let expected = model.take_front(4);
                    assert_eq!(stream.get_u32().to_be_bytes()[..], expected[..]);
                }
            }
            Op::ChunksVectored(slots) => {
                let mut slices = vec![IoSlice::new(&[]); usize::from(slots)];
                let filled = stream.chunks_vectored(&mut slices);
                assert_eq!(filled, slices.len().min(stream.num_segments()));
                for (slice, segment) in slices[..filled].iter().zip(stream.segments()) {
                    assert_eq!(slice.as_ptr(), segment.as_ptr(), "chunks_vectored copied");
                    assert_eq!(slice.len(), segment.len());
                }
            }
            Op::Read(size) => {
                let mut dst = vec![0u8; usize::from(size)];
                let result = stream.read(&mut dst);
                expect_std_read(model, result, &dst);
            }
            Op::ReadVectored(first, second) => {
                let mut first = vec![0u8; usize::from(first)];
                let mut second = vec![0u8; usize::from(second)];
                let result = stream.read_vectored(&mut [
                    IoSliceMut::new(&mut first),
                    IoSliceMut::new(&mut second),
                ]);
                // Every buffer is filled in order, as `std::io::Cursor` does.
                let mut both = first.clone();
                both.extend_from_slice(&second);
                let n = both.len().min(model.bytes.len());
                let taken = model.front(n);
                expect_std_read(model, result, &both);
                assert_eq!([&first[..], &second[..]].concat()[..n], taken[..]);
            }
            Op::ReadExact(size) => {
                let mut dst = vec![0u8; usize::from(size)];
                let result = stream.read_exact(&mut dst);
                let held = model.bytes.len();
                if dst.len() <= held {
                    result.unwrap();
                    assert_eq!(dst, model.take_front(dst.len()));
                } else {
                    // All or nothing: with too few bytes held, `read_exact` consumes none and
                    // leaves `dst` as it was.
                    let kind = result.unwrap_err().kind();
                    if model.closed {
                        assert_eq!(kind, io::ErrorKind::UnexpectedEof);
                    } else {
                        assert_eq!(kind, io::ErrorKind::WouldBlock);
                    }
                    assert!(dst.iter().all(|&byte| byte == 0), "read_exact wrote into dst");
                }
            }
            Op::FillBufConsume(amount) => {
                let front_segment = front;
                match stream.fill_buf() {
                    Ok(chunk) => {
                        assert!(model.closed || !model.bytes.is_empty());
                        match front_segment {
                            Some((ptr, len)) => {
                                assert_eq!((chunk.as_ptr() as usize, chunk.len()), (ptr, len))
                            }
                            None => assert!(chunk.is_empty()),
                        }
                        let take = usize::from(amount).min(chunk.len());
                        stream.consume(take);
                        model.take_front(take);
                    }
                    Err(error) => {
                        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
                        assert!(!model.closed && model.bytes.is_empty());
                    }
                }
            }
            Op::ReadUntilNewline => {
                let mut line = Vec::new();
                let result = stream.read_until(b'\n', &mut line);
                match model.newline_at() {
                    Some(at) => {
                        assert_eq!(result.unwrap(), at + 1);
                        assert_eq!(line, model.take_front(at + 1));
                    }
                    None if model.closed => {
                        assert_eq!(result.unwrap(), model.bytes.len());
                        assert_eq!(line, model.take_front(model.bytes.len()));
                    }
                    None => {
                        // No newline and more may come: it drains what is held into `line`
                        // and then reports that the next byte would block.
                        assert_would_block(result);
                        assert_eq!(line, model.take_front(model.bytes.len()));
                    }
                }
            }
            Op::PollRead(size) => {
                let mut storage = vec![0u8; usize::from(size)];
                let mut dst = ReadBuf::new(&mut storage);
                let poll = Pin::new(&mut *stream).poll_read(&mut cx, &mut dst);
                if size > 0 && model.bytes.is_empty() && !model.closed {
                    assert!(poll.is_pending(), "an empty open stream must be Pending");
                    model.reader_parked = true;
                } else {
                    assert!(matches!(poll, Poll::Ready(Ok(()))));
                    let n = usize::from(size).min(model.bytes.len());
                    assert_eq!(dst.filled(), &model.take_front(n)[..]);
                }
            }
            Op::PollFillBufConsume(amount) => {
                let poll = Pin::new(&mut *stream).poll_fill_buf(&mut cx);
                match poll {
                    Poll::Pending => {
                        assert!(model.bytes.is_empty() && !model.closed);
                        model.reader_parked = true;
                    }
                    Poll::Ready(result) => {
                        let chunk = result.unwrap();
                        assert!(model.closed || !model.bytes.is_empty());
                        assert_eq!(chunk.len(), front.map_or(0, |(_, len)| len));
                        let take = usize::from(amount).min(chunk.len());
                        Pin::new(&mut *stream).consume(take);
                        model.take_front(take);
                    }
                }
            }
            Op::ReadSegment => {
                let read = stream.read_segment();
                match front {
                    Some((ptr, len)) => {
                        let read = read.expect("read_segment of a non-empty stream");
                        assert_eq!((read.as_ptr() as usize, read.len()), (ptr, len));
                        assert_eq!(read, model.take_front(len));
                    }
                    None => assert!(read.is_none()),
                }
            }
            Op::ReadSegments { take } => {
                let spans = segment_spans(stream);
                let mut drained = stream.read_segments();
                assert_eq!(drained.len(), spans.len());
                for &(ptr, len) in spans.iter().take(usize::from(take)) {
                    let segment = drained.next().unwrap();
                    assert_eq!((segment.as_ptr() as usize, segment.len()), (ptr, len));
                    assert_eq!(segment, model.take_front(len));
                }
                drop(drained);
                // Segments the iterator did not yield are dropped with it.
                model.bytes.clear();
            }
            Op::UnwriteSegment => {
                let read = stream.unwrite_segment();
                match back {
                    Some((ptr, len)) => {
                        let read = read.expect("unwrite_segment of a non-empty stream");
                        assert_eq!((read.as_ptr() as usize, read.len()), (ptr, len));
                        let start = model.bytes.len() - len;
                        let expected: Vec<u8> = model.bytes.drain(start..).collect();
                        assert_eq!(read, expected);
                    }
                    None => assert!(read.is_none()),
                }
            }
            Op::ReadChunk(max) => {
                let read = stream.read_chunk(usize::from(max));
                match front {
                    Some((ptr, len)) if max > 0 => {
                        let read = read.expect("read_chunk of a non-empty stream");
                        assert_eq!(read.as_ptr() as usize, ptr, "read_chunk copied");
                        assert_eq!(read.len(), len.min(usize::from(max)));
                        assert_eq!(read, model.take_front(read.len()));
                    }
                    _ => assert!(read.is_none()),
                }
            }
            Op::ReadBytes(n) => {
                let read = stream.read_bytes(usize::from(n));
                let n = usize::from(n).min(model.bytes.len());
                assert_eq!(read, model.take_front(n));
                assert_zero_copy_if_within_front(&read, front);
            }
            Op::ReadLine => {
                let line = stream.read_line();
                match model.newline_at() {
                    Some(at) => {
                        let line = line.expect("a full line is held");
                        assert_eq!(line, model.take_front(at + 1));
                        assert_zero_copy_if_within_front(&line, front);
                    }
                    None if model.closed && !model.bytes.is_empty() => {
                        let line = line.expect("a closed stream returns its last line");
                        assert_eq!(line, model.take_front(model.bytes.len()));
                    }
                    None => assert!(line.is_none()),
                }
            }
            Op::Skip(n) => {
                let n = usize::from(n);
                let skipped = stream.skip(n);
                assert_eq!(skipped, n.min(model.bytes.len()));
                model.take_front(skipped);
            }
            Op::Truncate(n) => {
                let spans = segment_spans(stream);
                stream.truncate(usize::from(n));
                model.bytes.truncate(usize::from(n));
                // Truncation keeps a prefix of the same buffers; only the last kept one shrinks.
                let kept = segment_spans(stream);
                assert!(kept.len() <= spans.len());
                for (i, (&(ptr, len), &(old_ptr, old_len))) in kept.iter().zip(&spans).enumerate() {
                    assert_eq!(ptr, old_ptr, "truncate moved segment {i}");
                    assert!(len == old_len || (i + 1 == kept.len() && len < old_len));
                }
            }
            Op::Clear => {
                stream.clear();
                model.bytes.clear();
            }
            Op::Close => {
                stream.close();
                model.closed = true;
            }
            Op::Segment(index) => {
                let index = usize::from(index);
                let expected = stream.segments().nth(index);
                let peeked = stream.segment(index);
                assert_eq!(peeked.as_deref(), expected);
                // Every segment but the last is frozen, so it is handed out without a copy.
                if index + 1 < stream.num_segments() {
                    assert_eq!(peeked.unwrap().as_ptr(), expected.unwrap().as_ptr());
                }
            }
            Op::ToBytes => {
                let whole = stream.to_bytes();
                assert_eq!(whole, model.front(model.bytes.len()));
            }
            Op::Clone {
                continue_with_clone,
            } => {
                let copy = stream.clone();
                assert!(copy == *stream);
                assert_eq!(copy.is_closed(), model.closed);
                assert_eq!(copy.num_segments(), stream.num_segments());
                let original = segment_spans(stream);
                let cloned = segment_spans(&copy);
                // Frozen segments are shared; only an unfrozen tail (always last) is copied.
                let shared = original.len().saturating_sub(1);
                assert_eq!(
                    cloned[..shared],
                    original[..shared],
                    "Clone copied a segment"
                );
                let snapshot = model.front(model.bytes.len());
                if continue_with_clone {
                    let original = std::mem::replace(stream, copy);
                    self.frozen_copy = Some((original, snapshot));
                    // The clone does not carry the parked reader's waker.
                    model.reader_parked = false;
                } else {
                    self.frozen_copy = Some((copy, snapshot));
                }
            }
            Op::PutBytesHuge { byte, excess } => {
                let count = match excess {
                    0 => usize::MAX,
                    excess => stream.remaining_mut().saturating_add(usize::from(excess)),
                };
                expect_panic(|| stream.put_bytes(byte, count));
            }
            Op::PutLyingBuf {
                held: Data(held),
                large_first,
                extra,
            } => {
                let mut bytes = if large_first {
                    vec![7u8; 16 * 1024]
                } else {
                    Vec::new()
                };
                bytes.extend_from_slice(&held);
                let claimed = match extra {
                    Some(extra) => bytes.len() + usize::from(extra) + 1,
                    None => usize::MAX,
                };
                let source = LyingBuf {
                    held: Bytes::from(bytes),
                    claimed,
                };
                expect_panic(|| stream.put(source));
            }
            Op::EncodeFailing {
                written: Data(written),
                reserve,
                panics,
            } => {
                let mut encoder = FailingEncoder {
                    written,
                    reserve: usize::from(reserve) * 4096,
                    panics,
                };
                if panics && !model.closed {
                    expect_panic(|| stream.encode(&mut encoder, ()));
                } else {
                    let error = stream.encode(&mut encoder, ()).unwrap_err();
                    if model.closed {
                        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
                    }
                }
            }
            Op::ReadFromErroring {
                filled: Data(filled),
                max,
            } => {
                let mut source = ErroringReader(filled);
                let max = usize::from(max).max(1);
                match stream.poll_read_from(&mut cx, Pin::new(&mut source), max) {
                    Poll::Ready(Err(error)) if model.closed => {
                        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe)
                    }
                    Poll::Ready(Err(error)) => {
                        assert_eq!(error.kind(), io::ErrorKind::ConnectionReset)
                    }
                    other => panic!("read_from of an erroring source gave {other:?}"),
                }
            }
            Op::EncodeOk(Data(data)) => {
                let result = stream.encode(&mut BytesCodec::new(), Bytes::from(data.clone()));
                if model.closed {
                    assert_broken_pipe(result);
                } else {
                    result.unwrap();
                    model.bytes.extend(&data);
                }
            }
            Op::ReadFromOk {
                data: Data(data),
                max,
            } => {
                let mut source: &[u8] = &data;
                let max = usize::from(max).max(1);
                let result = match stream.poll_read_from(&mut cx, Pin::new(&mut source), max) {
                    Poll::Ready(result) => result,
                    Poll::Pending => panic!("read_from a slice was pending"),
                };
                if model.closed {
                    assert_broken_pipe(result);
                } else {
                    let n = data.len().min(max);
                    assert_eq!(result.unwrap(), n);
                    model.bytes.extend(&data[..n]);
                    model.closed |= n == 0;
                }
            }
            Op::FmtWrite(Data(data)) => {
                let text = String::from_utf8_lossy(&data).into_owned();
                let result = std::fmt::Write::write_str(stream, &text);
                if model.closed {
                    assert!(result.is_err());
                } else {
                    result.unwrap();
                    model.bytes.extend(text.as_bytes());
                }
            }
            Op::ConsumeClamped(amount) => {
                let amount = usize::from(amount);
                BufRead::consume(stream, amount);
                let n = amount.min(model.bytes.len());
                model.take_front(n);
            }
            Op::DeepClone { continue_with_copy } => {
                let copy = stream.deep_clone();
                assert!(copy == *stream);
                assert_eq!(copy.is_closed(), model.closed);
                assert_eq!(copy.num_segments(), usize::from(!model.bytes.is_empty()));
                let copy_spans = segment_spans(&copy);
                let original = segment_spans(stream);
                if let Some(&(ptr, len)) = copy_spans.first() {
                    assert!(
                        original
                            .iter()
                            .all(|&(p, l)| p + l <= ptr || ptr + len <= p),
                        "deep_clone shares memory with the original"
                    );
                }
                let snapshot = model.front(model.bytes.len());
                if continue_with_copy {
                    let original = std::mem::replace(stream, copy);
                    self.frozen_copy = Some((original, snapshot));
                    model.reader_parked = false;
                } else {
                    self.frozen_copy = Some((copy, snapshot));
                }
            }
        }
    }
}

/// The std `Read` contract of a non-blocking stream: an empty buffer reads 0, an empty open
/// stream would block, an empty closed one is end of file, otherwise it fills `dst` across
/// segments as far as the held bytes go.
fn expect_std_read(model: &mut Model, result: io::Result<usize>, dst: &[u8]) {
    if dst.is_empty() || (model.bytes.is_empty() && model.closed) {
        assert_eq!(result.unwrap(), 0);
    } else if model.bytes.is_empty() {
        assert_would_block(result);
    } else {
        let n = dst.len().min(model.bytes.len());
        assert_eq!(result.unwrap(), n);
        assert_eq!(dst[..n], model.take_front(n)[..]);
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut harness = Harness {
        stream: AsyncStream::new(),
        model: Model::default(),
        frozen_copy: None,
        waker: Arc::new(CountingWaker::default()),
    };
    for op in ops {
        let wakes_before = harness.waker.wakes.load(Ordering::SeqCst);
        let was_parked = harness.model.reader_parked;
        harness.apply(op);
        let wakes = harness.waker.wakes.load(Ordering::SeqCst) - wakes_before;

        // A parked reader is woken exactly once, by the first operation after which a read
        // would no longer block (bytes arrived or the stream was closed), and never otherwise.
        let model = &mut harness.model;
        let readable = !model.bytes.is_empty() || model.closed;
        if was_parked && model.reader_parked && readable {
            assert_eq!(wakes, 1, "the parked reader was not woken exactly once");
            model.reader_parked = false;
        } else {
            assert_eq!(wakes, 0, "a wake without a parked reader becoming readable");
        }

        check(&harness.stream, &harness.model);
        if let Some((copy, snapshot)) = &harness.frozen_copy {
            assert!(
                *copy == *snapshot,
                "a copy changed when the original was used"
            );
        }
    }
});
