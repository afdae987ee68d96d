//! A scripted interleaving of one `BroadcastWriter` and up to four `BroadcastReader`s polled on
//! one thread, each with its own counting waker, checked after every step against a model: each
//! reader's bytes in order and unchanged, whole segments read back as the very buffer written,
//! `writer.len()` exactly the bytes the slowest reader has not read (a read parked with bytes
//! gathered counts them as read, as documented), `Full` exactly when that reaches the capacity,
//! end of file only after close and a full drain, no lost wakeup (a parked reader is woken by
//! the writer's progress; a parked writer by the read or the drop that made room, or by the last
//! reader leaving; the writer and every live reader are never parked at once), and the memory bound.
//! First run: `cargo +nightly fuzz run broadcast_ops -- -max_total_time=120`, 648,543 inputs in
//! about 65 s without a failure (the build took the rest of the time on the shared machine).

#![no_main]

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
use streamview::{broadcast, BroadcastReader, BroadcastWriter, TryWriteError};
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

const MAX_READERS: usize = 4;

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
enum ReadOp {
    PollRead(u16),
    PollFillBufConsume(u16),
    PollNext,
    ReadSegment,
    ReadChunk(u16),
    ReadBytes(u16),
    ReadLine,
    Clone,
    Drop,
}

#[derive(Arbitrary, Debug)]
enum Op {
    TryWriteSegment(Data),
    PollWriteSegment(Data),
    PollWriteReady,
    PollWrite(Data),
    PollWriteVectored(Vec<Data>),
    SinkSend(Data),
    Close,
    PollShutdown,
    DropWriter,
    Subscribe,
    Read(u8, ReadOp),
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

/// One task's waker and whether it is parked (last poll `Pending`, not woken since).
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

/// A live reader and its model.
struct ReaderModel {
    reader: BroadcastReader,
    /// Absolute offset of the next byte it reads.
    read: usize,
    /// The position the broadcast counts for it: `read`, or further when it parked with bytes
    /// gathered for a waiting request (those are documented as not counted).
    counted: usize,
    side: Side,
}

struct Harness {
    capacity: usize,
    writer: Option<BroadcastWriter>,
    writer_closed: bool,
    writer_side: Side,
    /// Every byte written, from offset 0.
    log: Vec<u8>,
    /// Segments handed over whole: `(offset, len, address)`.
    whole_segments: Vec<(usize, usize, usize)>,
    largest_write: usize,
    readers: Vec<ReaderModel>,
}

fn poll_once<F: Future>(future: F, waker: &Waker) -> Poll<F::Output> {
    let future = pin!(future);
    future.poll(&mut Context::from_waker(waker))
}

impl Harness {
    fn written(&self) -> usize {
        self.log.len()
    }

    fn writer_can_write(&self) -> bool {
        !self.writer_closed && !self.readers.is_empty()
    }

    /// Bytes held for the slowest reader, per the model.
    fn held(&self) -> usize {
        self.readers
            .iter()
            .map(|model| self.written() - model.counted.max(model.read))
            .max()
            .unwrap_or(0)
    }

    fn accept(&mut self, bytes: &[u8], whole: Option<&Bytes>) {
        if let Some(segment) = whole.filter(|segment| !segment.is_empty()) {
            self.whole_segments
                .push((self.written(), segment.len(), segment.as_ptr() as usize));
        }
        self.log.extend_from_slice(bytes);
        self.largest_write = self.largest_write.max(bytes.len());
    }

    fn writer_pending(&mut self) {
        assert!(
            self.writer_can_write(),
            "a write is Pending on a dead broadcast"
        );
        assert!(
            self.held() >= self.capacity,
            "a write is Pending with room left"
        );
        self.writer_side.parked = true;
    }

    fn writer_refused(&self, error: &io::Error) {
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
        assert!(
            !self.writer_can_write(),
            "refused a write with readers and open: {error}"
        );
    }

    fn apply_writer(&mut self, op: Op) {
        let waker = self.writer_side.waker();
        let mut cx = Context::from_waker(&waker);
        let Some(writer) = self.writer.as_mut() else {
            return;
        };
        match op {
            Op::TryWriteSegment(Data(data)) => {
                let segment = Bytes::from(data);
                match writer.try_write_segment(segment.clone()) {
                    Ok(n) => {
                        assert!(self.writer_can_write() || segment.is_empty());
                        assert!(self.held() < self.capacity || segment.is_empty());
                        assert_eq!(n, segment.len());
                        self.accept(&segment, Some(&segment));
                    }
                    Err(TryWriteError::Full(back)) => {
                        assert!(self.writer_can_write());
                        assert!(self.held() >= self.capacity, "Full with room left");
                        assert_eq!(back.as_ptr(), segment.as_ptr());
                    }
                    Err(TryWriteError::Closed(back)) => {
                        assert!(!self.writer_can_write());
                        assert_eq!(back.as_ptr(), segment.as_ptr());
                    }
                }
            }
            Op::PollWriteSegment(Data(data)) => {
                let segment = Bytes::from(data);
                match poll_once(writer.write_segment(segment.clone()), &waker) {
                    Poll::Ready(Ok(n)) => {
                        assert_eq!(n, segment.len());
                        self.accept(&segment, Some(&segment));
                    }
                    Poll::Ready(Err(error)) => self.writer_refused(&error),
                    Poll::Pending => self.writer_pending(),
                }
            }
            Op::PollWriteReady => match writer.poll_write_ready(&mut cx) {
                Poll::Ready(Ok(())) => {
                    assert!(self.writer_can_write() && self.held() < self.capacity)
                }
                Poll::Ready(Err(error)) => self.writer_refused(&error),
                Poll::Pending => self.writer_pending(),
            },
            Op::PollWrite(Data(data)) => match Pin::new(writer).poll_write(&mut cx, &data) {
                Poll::Ready(Ok(n)) => {
                    assert!(n <= data.len() && (n > 0 || data.is_empty()));
                    self.accept(&data[..n], None);
                }
                Poll::Ready(Err(error)) => self.writer_refused(&error),
                Poll::Pending => self.writer_pending(),
            },
            Op::PollWriteVectored(data) => {
                let slices: Vec<IoSlice<'_>> = data.iter().map(|d| IoSlice::new(&d.0)).collect();
                let joined: Vec<u8> = data.iter().flat_map(|d| d.0.iter().copied()).collect();
                match Pin::new(writer).poll_write_vectored(&mut cx, &slices) {
                    Poll::Ready(Ok(n)) => {
                        assert!(n > 0 || joined.is_empty());
                        self.accept(&joined[..n], None);
                    }
                    Poll::Ready(Err(error)) => self.writer_refused(&error),
                    Poll::Pending => self.writer_pending(),
                }
            }
            Op::SinkSend(Data(data)) => {
                let segment = Bytes::from(data);
                match Pin::new(&mut *writer).poll_ready(&mut cx) {
                    Poll::Ready(Ok(())) => {
                        Pin::new(writer).start_send(segment.clone()).unwrap();
                        self.accept(&segment, Some(&segment));
                    }
                    Poll::Ready(Err(error)) => self.writer_refused(&error),
                    Poll::Pending => self.writer_pending(),
                }
            }
            Op::Close => {
                writer.close();
                self.writer_closed = true;
            }
            Op::PollShutdown => {
                assert!(Pin::new(writer).poll_shutdown(&mut cx).is_ready());
                self.writer_closed = true;
            }
            Op::DropWriter => {
                self.writer = None;
                self.writer_closed = true;
            }
            Op::Subscribe => {
                if self.readers.len() < MAX_READERS {
                    let reader = writer.subscribe();
                    let at = self.written();
                    self.readers.push(ReaderModel {
                        reader,
                        read: at,
                        counted: at,
                        side: Side::new(),
                    });
                }
            }
            Op::Read(..) => unreachable!("reads are applied by apply_read"),
        }
    }

    /// Checks `got` is reader `index`'s next bytes and consumes them; a whole-segment read of a
    /// segment written whole must return that very buffer.
    fn delivered(&mut self, index: usize, got: &[u8], segment_read: bool) {
        let read = self.readers[index].read;
        assert!(
            read + got.len() <= self.written(),
            "read more than was written"
        );
        assert_eq!(
            got,
            &self.log[read..read + got.len()],
            "bytes out of order or changed"
        );
        if segment_read {
            if let Some(&(_, len, address)) = self
                .whole_segments
                .iter()
                .find(|&&(offset, _, _)| offset == read)
            {
                if len == got.len() {
                    assert_eq!(got.as_ptr() as usize, address, "a whole segment was copied");
                }
            }
        }
        self.readers[index].read += got.len();
    }

    fn at_eof(&self, index: usize) -> bool {
        self.writer_closed && self.readers[index].read == self.written()
    }

    fn reader_pending(&mut self, index: usize) {
        assert!(
            !self.writer_closed,
            "a read is Pending although the writer closed"
        );
        let written = self.written();
        let model = &mut self.readers[index];
        model.side.parked = true;
        // A reader parks only once it has taken everything written: what it holds belongs to
        // the waiting request and is not counted.
        model.counted = written;
    }

    fn apply_read(&mut self, index: usize, op: ReadOp) {
        let waker = self.readers[index].side.waker();
        let mut cx = Context::from_waker(&waker);
        let available = self.written() - self.readers[index].read;
        let at_eof = self.at_eof(index);
        let reader = &mut self.readers[index].reader;
        match op {
            ReadOp::PollRead(size) => {
                let mut storage = vec![0u8; usize::from(size)];
                let mut dst = ReadBuf::new(&mut storage);
                match Pin::new(reader).poll_read(&mut cx, &mut dst) {
                    Poll::Ready(Ok(())) => {
                        let got = dst.filled().to_vec();
                        assert!(!got.is_empty() || size == 0 || at_eof, "early EOF");
                        self.delivered(index, &got, false);
                    }
                    Poll::Ready(Err(error)) => panic!("read failed: {error}"),
                    Poll::Pending => {
                        assert!(size > 0 && available == 0);
                        self.reader_pending(index);
                    }
                }
            }
            ReadOp::PollFillBufConsume(amount) => {
                let mut reader = Pin::new(reader);
                match reader.as_mut().poll_fill_buf(&mut cx) {
                    Poll::Ready(Ok(chunk)) => {
                        assert!(!chunk.is_empty() || at_eof, "early EOF");
                        let take = usize::from(amount).min(chunk.len());
                        let got = chunk[..take].to_vec();
                        // Asks for `amount` even past the lent chunk: `consume` clamps to it.
                        reader.consume(usize::from(amount));
                        self.delivered(index, &got, false);
                    }
                    Poll::Ready(Err(error)) => panic!("read failed: {error}"),
                    Poll::Pending => {
                        assert_eq!(available, 0);
                        self.reader_pending(index);
                    }
                }
            }
            ReadOp::PollNext => match Pin::new(reader).poll_next(&mut cx) {
                Poll::Ready(Some(Ok(segment))) => {
                    assert!(!segment.is_empty());
                    self.delivered(index, &segment, true);
                }
                Poll::Ready(Some(Err(error))) => panic!("read failed: {error}"),
                Poll::Ready(None) => assert!(at_eof, "stream ended early"),
                Poll::Pending => {
                    assert_eq!(available, 0);
                    self.reader_pending(index);
                }
            },
            ReadOp::ReadSegment => match poll_once(reader.read_segment(), &waker) {
                Poll::Ready(Ok(Some(segment))) => {
                    assert!(!segment.is_empty());
                    self.delivered(index, &segment, true);
                }
                Poll::Ready(Ok(None)) => assert!(at_eof, "EOF before the end"),
                Poll::Ready(Err(error)) => panic!("read failed: {error}"),
                Poll::Pending => {
                    assert_eq!(available, 0);
                    self.reader_pending(index);
                }
            },
            ReadOp::ReadChunk(max) => {
                let max = usize::from(max).max(1);
                match poll_once(reader.read_chunk(max), &waker) {
                    Poll::Ready(Ok(Some(chunk))) => {
                        assert!(!chunk.is_empty() && chunk.len() <= max);
                        self.delivered(index, &chunk, false);
                    }
                    Poll::Ready(Ok(None)) => assert!(at_eof, "EOF before the end"),
                    Poll::Ready(Err(error)) => panic!("read failed: {error}"),
                    Poll::Pending => {
                        assert_eq!(available, 0);
                        self.reader_pending(index);
                    }
                }
            }
            ReadOp::ReadBytes(n) => {
                let n = usize::from(n);
                match poll_once(reader.read_bytes(n), &waker) {
                    Poll::Ready(Ok(bytes)) => {
                        if bytes.len() < n {
                            assert!(self.writer_closed, "read_bytes came back short while open");
                            assert_eq!(bytes.len(), available);
                        }
                        self.delivered(index, &bytes, false);
                    }
                    Poll::Ready(Err(error)) => panic!("read failed: {error}"),
                    // The dropped future consumed nothing: the next reads check it.
                    Poll::Pending => {
                        assert!(available < n);
                        self.reader_pending(index);
                    }
                }
            }
            ReadOp::ReadLine => {
                let read = self.readers[index].read;
                let newline = self.log[read..].iter().position(|&b| b == b'\n');
                let reader = &mut self.readers[index].reader;
                match poll_once(reader.read_line(), &waker) {
                    Poll::Ready(Ok(Some(line))) => {
                        match newline {
                            Some(at) => assert_eq!(line.len(), at + 1),
                            None => {
                                assert!(self.writer_closed);
                                assert_eq!(line.len(), available);
                            }
                        }
                        self.delivered(index, &line, false);
                    }
                    Poll::Ready(Ok(None)) => assert!(at_eof, "EOF before the end"),
                    Poll::Ready(Err(error)) => panic!("read failed: {error}"),
                    Poll::Pending => {
                        assert!(newline.is_none());
                        self.reader_pending(index);
                    }
                }
            }
            ReadOp::Clone => {
                if self.readers.len() < MAX_READERS {
                    let model = &self.readers[index];
                    let copy = ReaderModel {
                        reader: model.reader.clone(),
                        read: model.read,
                        counted: model.counted,
                        side: Side::new(),
                    };
                    self.readers.push(copy);
                }
            }
            ReadOp::Drop => {
                self.readers.swap_remove(index);
            }
        }
    }

    /// The invariants between any two steps.
    fn check(
        &mut self,
        writer_progressed: bool,
        writer_was_parked: bool,
        reader_read_or_left: bool,
    ) {
        let writer_woken = self.writer_side.take_wakes();
        for model in &mut self.readers {
            let was_parked = model.side.parked;
            let woken = model.side.take_wakes();
            if was_parked && writer_progressed {
                assert!(
                    woken,
                    "a parked reader was not woken by the writer's progress"
                );
            }
            assert_eq!(model.reader.capacity(), self.capacity);
        }
        let held = self.held();
        if let Some(writer) = &self.writer {
            assert_eq!(writer.len(), held, "writer.len() is not exact");
            assert_eq!(writer.receiver_count(), self.readers.len());
            if writer_was_parked
                && reader_read_or_left
                && (self.readers.is_empty() || held < self.capacity)
            {
                assert!(
                    writer_woken,
                    "a reader read or left, making room, and the writer slept on"
                );
            }
            if self.writer_side.parked && !self.readers.is_empty() {
                assert!(
                    !self.readers.iter().all(|model| model.side.parked),
                    "the writer and every reader are parked: a lost wakeup"
                );
            }
        }
        assert!(
            held < self.capacity + self.largest_write.max(1),
            "{held} bytes held in a broadcast of capacity {} (largest write {})",
            self.capacity,
            self.largest_write
        );
    }
}

fuzz_target!(|script: Script| {
    let capacity = usize::from(script.capacity.max(1));
    let (writer, reader) = broadcast(capacity);
    let mut harness = Harness {
        capacity,
        writer: Some(writer),
        writer_closed: false,
        writer_side: Side::new(),
        log: Vec::new(),
        whole_segments: Vec::new(),
        largest_write: 0,
        readers: vec![ReaderModel {
            reader,
            read: 0,
            counted: 0,
            side: Side::new(),
        }],
    };
    for op in script.ops {
        let written_before = harness.written();
        let closed_before = harness.writer_closed;
        let writer_was_parked = harness.writer_side.parked;
        let readers_before = harness.readers.len();
        let is_read = matches!(op, Op::Read(..));
        match op {
            Op::Read(index, read_op) => {
                if harness.readers.is_empty() {
                    continue;
                }
                let index = usize::from(index) % harness.readers.len();
                harness.apply_read(index, read_op);
            }
            op => harness.apply_writer(op),
        }
        let writer_progressed =
            harness.written() > written_before || harness.writer_closed != closed_before;
        // A read or a reader leaving may make room: either way a parked writer must be woken
        // by that very step once there is room.
        let reader_read_or_left = is_read || harness.readers.len() < readers_before;
        harness.check(writer_progressed, writer_was_parked, reader_read_or_left);
    }
});
