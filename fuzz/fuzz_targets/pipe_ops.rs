//! A scripted interleaving of `PipeWriter` and `PipeReader` polls on one thread, each half with
//! its own counting waker, checked after every step against a model of the bytes in flight:
//! delivery order and content, zero-copy hand-off of whole segments, end of file only after the
//! writer is gone and everything was read, no lost wakeup (a parked half is woken by the other
//! half's progress, a parked writer by the very read that made room, and both halves are never
//! parked at once), `len()` exact on both halves, cancellation safety of dropped
//! read futures, and the memory bound (in flight < capacity + the largest single write + what a
//! parked `read_line`/`read_bytes` holds, which the pipe documents as not counted).
//!
//! Needs the pipe (`streamview::pipe`), which lands on another branch: this target is built
//! only once fuzz/Cargo.toml lists it as a `[[bin]]` (named `pipe_ops`, like `stream_ops`'s
//! entry). It was run against the pipe branch merged with this one: 3.7 million inputs in 60 s
//! without a failure, and it found a planted lost wakeup (the reader parking without waking the
//! writer) within seconds.

#![no_main]

use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use arbitrary::{Arbitrary, Unstructured};
use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;
use libfuzzer_sys::fuzz_target;
use streamview::{pipe, PipeReader, PipeWriter, TryWriteError};
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

/// Bytes to write, one in eight turned into `\n` so `read_line` sees complete lines.
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
}

#[derive(Arbitrary, Debug)]
enum Op {
    // Writer.
    TryWriteSegment(Data),
    PollWriteSegment(Data),
    PollWriteReady,
    PollWrite(Data),
    PollWriteVectored(Vec<Data>),
    SinkSend(Data),
    Close,
    PollShutdown,
    DropWriter,
    // Reader.
    PollRead(u16),
    PollFillBufConsume(u16),
    PollNext,
    ReadSegment,
    ReadChunk(u16),
    ReadBytes(u16),
    ReadLine,
    DropReader,
}

#[derive(Arbitrary, Debug)]
struct Script {
    capacity: u16,
    ops: Vec<Op>,
}

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

/// One half's waker and whether that half is parked (its last poll was `Pending` and it has
/// not been woken since).
struct Side {
    waker: Arc<CountingWaker>,
    seen_wakes: usize,
    parked: bool,
}

impl Side {
    fn new() -> Side {
        Side {
            waker: Arc::new(CountingWaker::default()),
            seen_wakes: 0,
            parked: false,
        }
    }

    fn waker(&self) -> Waker {
        Waker::from(self.waker.clone())
    }

    /// Records wakes since the last call; returns whether there were any.
    fn take_wakes(&mut self) -> bool {
        let wakes = self.waker.wakes.load(Ordering::SeqCst);
        let woken = wakes > self.seen_wakes;
        self.seen_wakes = wakes;
        if woken {
            self.parked = false;
        }
        woken
    }
}

struct Harness {
    capacity: usize,
    writer: Option<PipeWriter>,
    reader: Option<PipeReader>,
    /// Accepted by the writer, not yet read.
    in_flight: VecDeque<u8>,
    /// Absolute stream offsets of bytes written and read so far.
    written: usize,
    read: usize,
    /// Segments handed over whole (`try_write_segment`, `write_segment`, `Sink`):
    /// `(offset, len, address)`; a read that returns one whole must return that very buffer.
    whole_segments: VecDeque<(usize, usize, usize)>,
    largest_write: usize,
    /// Bytes a parked read holds and the pipe does not count against the capacity (documented:
    /// a `read_line` or `read_bytes` waiting for more may exceed the capacity without deadlock).
    held_by_waiting_read: usize,
    writer_closed: bool,
    reader_side: Side,
    writer_side: Side,
}

fn poll_once<F: Future>(future: F, waker: &Waker) -> Poll<F::Output> {
    let future = pin!(future);
    future.poll(&mut Context::from_waker(waker))
}

impl Harness {
    fn writer_can_write(&self) -> bool {
        !self.writer_closed && self.reader.is_some()
    }

    fn accept(&mut self, bytes: &[u8], whole: Option<&Bytes>) {
        if let Some(segment) = whole {
            if !segment.is_empty() {
                self.whole_segments.push_back((
                    self.written,
                    segment.len(),
                    segment.as_ptr() as usize,
                ));
            }
        }
        self.in_flight.extend(bytes);
        self.written += bytes.len();
        self.largest_write = self.largest_write.max(bytes.len());
    }

    /// Checks `got` is the next bytes in flight, consumes them, and for a whole-segment read
    /// checks a segment handed over whole comes back as the same buffer.
    fn delivered(&mut self, got: &[u8], segment_read: bool) {
        assert!(
            got.len() <= self.in_flight.len(),
            "read more than was written"
        );
        let expected: Vec<u8> = self.in_flight.drain(..got.len()).collect();
        assert_eq!(got, &expected[..], "bytes out of order or changed");
        if segment_read {
            if let Some(&(offset, len, address)) = self.whole_segments.front() {
                if offset == self.read && len == got.len() {
                    assert_eq!(got.as_ptr() as usize, address, "a whole segment was copied");
                }
            }
        }
        self.read += got.len();
        self.held_by_waiting_read = self.held_by_waiting_read.saturating_sub(got.len());
        while matches!(self.whole_segments.front(), Some(&(offset, _, _)) if offset < self.read) {
            self.whole_segments.pop_front();
        }
    }

    fn at_eof(&self) -> bool {
        self.writer_closed && self.in_flight.is_empty()
    }

    fn reader_pending(&mut self) {
        assert!(
            !self.writer_closed,
            "a read is Pending although the writer is gone"
        );
        self.reader_side.parked = true;
        // A read parks only when nothing is queued, so every byte in flight is held locally.
        self.held_by_waiting_read = self.in_flight.len();
    }

    fn writer_pending(&mut self) {
        assert!(self.writer_can_write(), "a write is Pending on a dead pipe");
        assert!(
            !self.in_flight.is_empty(),
            "a write is Pending on an empty pipe"
        );
        self.writer_side.parked = true;
    }

    fn apply(&mut self, op: Op) {
        let writer_waker = self.writer_side.waker();
        let reader_waker = self.reader_side.waker();
        let mut wcx = Context::from_waker(&writer_waker);
        let mut rcx = Context::from_waker(&reader_waker);
        match op {
            Op::TryWriteSegment(Data(data)) => {
                let Some(writer) = self.writer.as_mut() else {
                    return;
                };
                let segment = Bytes::from(data);
                match writer.try_write_segment(segment.clone()) {
                    Ok(n) => {
                        assert!(self.writer_can_write() || segment.is_empty());
                        assert_eq!(n, segment.len());
                        self.accept(&segment, Some(&segment));
                    }
                    Err(TryWriteError::Full(back)) => {
                        assert!(self.writer_can_write());
                        assert!(!self.in_flight.is_empty(), "Full with nothing in flight");
                        assert_eq!(back.as_ptr(), segment.as_ptr(), "Full lost the segment");
                    }
                    Err(TryWriteError::Closed(back)) => {
                        assert!(!self.writer_can_write());
                        assert_eq!(back.as_ptr(), segment.as_ptr(), "Closed lost the segment");
                    }
                }
            }
            Op::PollWriteSegment(Data(data)) => {
                let Some(writer) = self.writer.as_mut() else {
                    return;
                };
                let segment = Bytes::from(data);
                match poll_once(writer.write_segment(segment.clone()), &writer_waker) {
                    Poll::Ready(Ok(n)) => {
                        assert_eq!(n, segment.len());
                        self.accept(&segment, Some(&segment));
                    }
                    Poll::Ready(Err(error)) => {
                        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
                        assert!(!self.writer_can_write());
                    }
                    // Dropping the future drops the segment unsent (documented).
                    Poll::Pending => self.writer_pending(),
                }
            }
            Op::PollWriteReady => {
                let Some(writer) = self.writer.as_mut() else {
                    return;
                };
                match writer.poll_write_ready(&mut wcx) {
                    Poll::Ready(Ok(())) => assert!(self.writer_can_write()),
                    Poll::Ready(Err(error)) => {
                        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
                        assert!(!self.writer_can_write());
                    }
                    Poll::Pending => self.writer_pending(),
                }
            }
            Op::PollWrite(Data(data)) => {
                let Some(writer) = self.writer.as_mut() else {
                    return;
                };
                match Pin::new(writer).poll_write(&mut wcx, &data) {
                    Poll::Ready(Ok(n)) => {
                        assert!(self.writer_can_write());
                        assert!(n <= data.len());
                        assert!(n > 0 || data.is_empty(), "a non-empty write returned Ok(0)");
                        self.accept(&data[..n], None);
                    }
                    Poll::Ready(Err(error)) => {
                        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
                        assert!(!self.writer_can_write());
                    }
                    Poll::Pending => {
                        assert!(!data.is_empty(), "a zero-length write is Pending");
                        self.writer_pending();
                    }
                }
            }
            Op::PollWriteVectored(data) => {
                let Some(writer) = self.writer.as_mut() else {
                    return;
                };
                let slices: Vec<IoSlice<'_>> = data.iter().map(|d| IoSlice::new(&d.0)).collect();
                let joined: Vec<u8> = data.iter().flat_map(|d| d.0.iter().copied()).collect();
                match Pin::new(writer).poll_write_vectored(&mut wcx, &slices) {
                    Poll::Ready(Ok(n)) => {
                        assert!(self.writer_can_write());
                        assert!(
                            n > 0 || joined.is_empty(),
                            "a non-empty write returned Ok(0)"
                        );
                        self.accept(&joined[..n], None);
                    }
                    Poll::Ready(Err(error)) => {
                        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
                        assert!(!self.writer_can_write());
                    }
                    Poll::Pending => {
                        assert!(!joined.is_empty(), "a zero-length write is Pending");
                        self.writer_pending();
                    }
                }
            }
            Op::SinkSend(Data(data)) => {
                let Some(writer) = self.writer.as_mut() else {
                    return;
                };
                let segment = Bytes::from(data);
                match Pin::new(&mut *writer).poll_ready(&mut wcx) {
                    Poll::Ready(Ok(())) => {
                        Pin::new(writer).start_send(segment.clone()).unwrap();
                        assert!(self.writer_can_write());
                        self.accept(&segment, Some(&segment));
                    }
                    Poll::Ready(Err(error)) => {
                        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
                        assert!(!self.writer_can_write());
                    }
                    Poll::Pending => self.writer_pending(),
                }
            }
            Op::Close => {
                let Some(writer) = self.writer.as_mut() else {
                    return;
                };
                writer.close();
                self.writer_closed = true;
            }
            Op::PollShutdown => {
                let Some(writer) = self.writer.as_mut() else {
                    return;
                };
                assert!(Pin::new(writer).poll_shutdown(&mut wcx).is_ready());
                self.writer_closed = true;
            }
            Op::DropWriter => {
                if self.writer.take().is_some() {
                    self.writer_closed = true;
                }
            }
            Op::PollRead(size) => {
                let Some(reader) = self.reader.as_mut() else {
                    return;
                };
                let mut storage = vec![0u8; usize::from(size)];
                let mut dst = ReadBuf::new(&mut storage);
                match Pin::new(reader).poll_read(&mut rcx, &mut dst) {
                    Poll::Ready(Ok(())) => {
                        let got = dst.filled().to_vec();
                        if got.is_empty() && size > 0 {
                            assert!(self.at_eof(), "end of file before the writer was gone");
                        }
                        self.delivered(&got, false);
                    }
                    Poll::Ready(Err(error)) => panic!("pipe read failed: {error}"),
                    Poll::Pending => {
                        assert!(size > 0 && self.in_flight.is_empty());
                        self.reader_pending();
                    }
                }
            }
            Op::PollFillBufConsume(amount) => {
                let at_eof = self.at_eof();
                let Some(reader) = self.reader.as_mut() else {
                    return;
                };
                let mut reader = Pin::new(reader);
                match reader.as_mut().poll_fill_buf(&mut rcx) {
                    Poll::Ready(Ok(chunk)) => {
                        let take = usize::from(amount).min(chunk.len());
                        let got = chunk[..take].to_vec();
                        if chunk.is_empty() {
                            assert!(at_eof, "end of file before the writer was gone");
                        }
                        // Asks for `amount` even past the lent chunk: `consume` clamps to it.
                        reader.consume(usize::from(amount));
                        self.delivered(&got, false);
                    }
                    Poll::Ready(Err(error)) => panic!("pipe read failed: {error}"),
                    Poll::Pending => {
                        assert!(self.in_flight.is_empty());
                        self.reader_pending();
                    }
                }
            }
            Op::PollNext => {
                let Some(reader) = self.reader.as_mut() else {
                    return;
                };
                match Pin::new(reader).poll_next(&mut rcx) {
                    Poll::Ready(Some(Ok(segment))) => {
                        assert!(!segment.is_empty(), "the stream yielded an empty segment");
                        self.delivered(&segment, true);
                    }
                    Poll::Ready(Some(Err(error))) => panic!("pipe read failed: {error}"),
                    Poll::Ready(None) => assert!(self.at_eof(), "stream ended early"),
                    Poll::Pending => {
                        assert!(self.in_flight.is_empty());
                        self.reader_pending();
                    }
                }
            }
            Op::ReadSegment => {
                let Some(reader) = self.reader.as_mut() else {
                    return;
                };
                match poll_once(reader.read_segment(), &reader_waker) {
                    Poll::Ready(Ok(Some(segment))) => {
                        assert!(!segment.is_empty());
                        self.delivered(&segment, true);
                    }
                    Poll::Ready(Ok(None)) => assert!(self.at_eof(), "EOF before the end"),
                    Poll::Ready(Err(error)) => panic!("pipe read failed: {error}"),
                    Poll::Pending => {
                        assert!(self.in_flight.is_empty());
                        self.reader_pending();
                    }
                }
            }
            Op::ReadChunk(max) => {
                let Some(reader) = self.reader.as_mut() else {
                    return;
                };
                let max = usize::from(max).max(1);
                match poll_once(reader.read_chunk(max), &reader_waker) {
                    Poll::Ready(Ok(Some(chunk))) => {
                        assert!(!chunk.is_empty() && chunk.len() <= max);
                        self.delivered(&chunk, false);
                    }
                    Poll::Ready(Ok(None)) => assert!(self.at_eof(), "EOF before the end"),
                    Poll::Ready(Err(error)) => panic!("pipe read failed: {error}"),
                    Poll::Pending => {
                        assert!(self.in_flight.is_empty());
                        self.reader_pending();
                    }
                }
            }
            Op::ReadBytes(n) => {
                let Some(reader) = self.reader.as_mut() else {
                    return;
                };
                let n = usize::from(n);
                match poll_once(reader.read_bytes(n), &reader_waker) {
                    Poll::Ready(Ok(bytes)) => {
                        if bytes.len() < n {
                            assert!(self.writer_closed, "read_bytes came back short while open");
                            assert_eq!(bytes.len(), self.in_flight.len());
                        }
                        self.delivered(&bytes, false);
                    }
                    Poll::Ready(Err(error)) => panic!("pipe read failed: {error}"),
                    // The dropped future must have consumed nothing: the next reads check it.
                    Poll::Pending => {
                        assert!(self.in_flight.len() < n);
                        self.reader_pending();
                    }
                }
            }
            Op::ReadLine => {
                let Some(reader) = self.reader.as_mut() else {
                    return;
                };
                let newline = self.in_flight.iter().position(|&b| b == b'\n');
                match poll_once(reader.read_line(), &reader_waker) {
                    Poll::Ready(Ok(Some(line))) => {
                        match newline {
                            Some(at) => assert_eq!(line.len(), at + 1),
                            None => {
                                assert!(self.writer_closed);
                                assert_eq!(line.len(), self.in_flight.len());
                            }
                        }
                        self.delivered(&line, false);
                    }
                    Poll::Ready(Ok(None)) => assert!(self.at_eof(), "EOF before the end"),
                    Poll::Ready(Err(error)) => panic!("pipe read failed: {error}"),
                    Poll::Pending => {
                        assert!(newline.is_none());
                        self.reader_pending();
                    }
                }
            }
            Op::DropReader => {
                if self.reader.take().is_some() {
                    self.in_flight.clear();
                    self.whole_segments.clear();
                    self.read = self.written;
                }
            }
        }
    }

    /// The invariants between any two steps.
    fn check(
        &mut self,
        writer_progressed: bool,
        reader_consumed: bool,
        reader_was_parked: bool,
        writer_was_parked: bool,
    ) {
        let reader_woken = self.reader_side.take_wakes();
        let writer_woken = self.writer_side.take_wakes();
        // The read that made room wakes a parked writer, with no further read (a parked
        // writer's written count is fixed, so there is room exactly when len() < capacity).
        if let (Some(writer), Some(_)) = (&self.writer, &self.reader) {
            if writer_was_parked && reader_consumed && writer.len() < self.capacity {
                assert!(
                    writer_woken,
                    "the parked writer was not woken by the read that made room"
                );
            }
        }
        // No lost wakeup: the writer's progress (bytes accepted, close, drop) wakes a parked
        // reader, and a dropped reader wakes a parked writer.
        if reader_was_parked && writer_progressed && self.reader.is_some() {
            assert!(
                reader_woken,
                "the parked reader was not woken by the writer's progress"
            );
        }
        if writer_was_parked && self.reader.is_none() && self.writer.is_some() {
            assert!(
                writer_woken,
                "the parked writer was not woken when the reader left"
            );
        }
        assert!(
            !(self.reader_side.parked && self.writer_side.parked),
            "both halves are parked: a lost wakeup"
        );
        if let Some(reader) = &self.reader {
            assert_eq!(reader.len(), self.in_flight.len(), "reader.len()");
            assert_eq!(reader.capacity(), self.capacity);
        }
        if let Some(writer) = &self.writer {
            if self.reader.is_none() {
                assert_eq!(writer.len(), 0, "writer.len() after the reader left");
            } else {
                // Exact, but for what a waiting read gathered (documented as not counted).
                let counted = self.in_flight.len() - self.held_by_waiting_read.min(self.in_flight.len());
                assert_eq!(writer.len(), counted, "writer.len()");
            }
        }
        assert!(
            self.in_flight.len()
                < self.held_by_waiting_read + self.capacity + self.largest_write.max(1),
            "{} bytes in flight in a pipe of capacity {} (largest write {}, {} held by a \
             waiting read)",
            self.in_flight.len(),
            self.capacity,
            self.largest_write,
            self.held_by_waiting_read
        );
    }
}

fuzz_target!(|script: Script| {
    let capacity = usize::from(script.capacity.max(1));
    let (writer, reader) = pipe(capacity);
    let mut harness = Harness {
        capacity,
        writer: Some(writer),
        reader: Some(reader),
        in_flight: VecDeque::new(),
        written: 0,
        read: 0,
        whole_segments: VecDeque::new(),
        largest_write: 0,
        held_by_waiting_read: 0,
        writer_closed: false,
        reader_side: Side::new(),
        writer_side: Side::new(),
    };
    for op in script.ops {
        let written_before = harness.written;
        let read_before = harness.read;
        let closed_before = harness.writer_closed;
        let reader_was_parked = harness.reader_side.parked;
        let writer_was_parked = harness.writer_side.parked;
        harness.apply(op);
        let writer_progressed =
            harness.written > written_before || harness.writer_closed != closed_before;
        let reader_consumed = harness.read > read_before;
        harness.check(
            writer_progressed,
            reader_consumed,
            reader_was_parked,
            writer_was_parked,
        );
    }
});
