//! [`PipeWriter`], the sending half: segments queue whole, byte writes copy up to the room left.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use bytes::Bytes;

use crate::coop::BudgetBatch;
use crate::error::{reader_gone_error, writer_closed_error};
use crate::loom::{Arc, MutexGuard};
use crate::pipe::error::TryWriteError;
use crate::pipe::shared::{count_between, Shared, State, COUNT_MASK};
use crate::stream::AsyncStream;
use crate::waker::wake;

/// The writing half of a [`pipe`](crate::pipe).
///
/// Segments given to [`write_segment`](Self::write_segment),
/// [`try_write_segment`](Self::try_write_segment) or the [`Sink`](futures_sink::Sink) are queued
/// whole and reach the reader as the very same buffers. Byte writes (`AsyncWrite`) are copied once into a shared block, up to the room left.
///
/// A write finds room while fewer than `capacity` bytes are in flight (queued, or held by the
/// reader and not yet consumed); any segment is accepted whole then, even one larger than
/// `capacity`. Dropping the writer closes the pipe: the reader drains what is queued, then sees
/// end of file.
///
/// Every write takes part in Tokio's cooperative budget: it checks the budget and yields when the
/// task has none left. Segment writes spend one unit per 64, as the reader's reads do, and byte
/// writes (`AsyncWrite`, which copy) one per 32 or per 64 KiB copied, so a writer of small frames
/// can fill the pipe and park before it must yield (and hand its worker to the reader).
/// Zero-length writes complete at once and count as segment writes, so a loop of them yields too.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut reader) = streamview::pipe(64 * 1024);
/// let frame = Bytes::from(vec![1u8; 1500]);
/// let sent = frame.clone();
/// tokio::spawn(async move { writer.write_segment(sent).await });
/// let received = reader.read_segment().await?.unwrap();
/// assert_eq!(received.as_ptr(), frame.as_ptr()); // the same buffer, not a copy
/// # Ok(())
/// # }
/// ```
pub struct PipeWriter {
    shared: Arc<Shared>,
    /// The high-water mark in bytes (at least 1).
    capacity: usize,
    /// Bytes queued since the pipe was made, wrapping at `COUNT_MASK`; minus the reader's
    /// consumed count, the bytes in flight.
    written: usize,
    /// The reader's consumed count as this writer last loaded it. Bytes in flight are at most
    /// `written` minus this (the reader only ever consumes more), so a write that fits in that
    /// room needs no fresh load of the count, a cache line the reader's core keeps updating.
    consumed_seen: usize,
    /// Writes since this writer last spent a unit of Tokio's cooperative budget.
    budget: BudgetBatch,
    /// Where `read_from` reads before queueing, outside the lock: its write tail keeps the
    /// current read block between calls, so reads share large blocks instead of allocating each.
    pub(super) read_staging: AsyncStream,
}

/// Why a write found no room.
pub(crate) enum Refusal {
    Full,
    ReaderGone,
    WriterClosed,
}

impl Refusal {
    /// The error of a refusal that cannot be `Full` (the pipe's open check).
    fn into_closed_error(self) -> io::Error {
        self.into_io_error()
            .expect("the open check refuses only a gone reader or a closed writer")
    }

    pub(crate) fn into_io_error(self) -> Option<io::Error> {
        match self {
            Refusal::Full => None,
            Refusal::ReaderGone => Some(reader_gone_error()),
            Refusal::WriterClosed => Some(writer_closed_error()),
        }
    }
}

impl PipeWriter {
    pub(crate) fn new(shared: Arc<Shared>, capacity: usize) -> PipeWriter {
        PipeWriter {
            shared,
            capacity,
            written: 0,
            consumed_seen: 0,
            budget: BudgetBatch::default(),
            read_staging: AsyncStream::new(),
        }
    }

    /// Waits for room, then queues `segment` whole without copying it; returns its length.
    ///
    /// An empty segment returns `Ok(0)` at once, even when the pipe is full (but still fails on a
    /// closed pipe).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::BrokenPipe`] when the reader was dropped or the pipe was closed.
    ///
    /// # Cancellation safety
    ///
    /// Not cancellation safe: if the future is dropped while it waits for room, the segment is
    /// dropped with it and was not queued. To keep it, wait with
    /// [`poll_write_ready`](Self::poll_write_ready) and hand it over with
    /// [`try_write_segment`](Self::try_write_segment).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut reader) = streamview::pipe(4);
    /// assert_eq!(writer.write_segment("larger than capacity").await?, 20);
    /// assert_eq!(reader.read_segment().await?.unwrap(), "larger than capacity");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn write_segment(&mut self, segment: impl Into<Bytes>) -> io::Result<usize> {
        let mut segment = Some(segment.into());
        poll_fn(|cx| self.poll_write_segment(cx, &mut segment)).await
    }

    fn poll_write_segment(
        &mut self,
        cx: &mut Context<'_>,
        segment: &mut Option<Bytes>,
    ) -> Poll<io::Result<usize>> {
        if segment.as_ref().map_or(true, Bytes::is_empty) {
            ready!(self.budget.poll_nothing(cx));
            return Poll::Ready(self.write_nothing());
        }
        // The segment stays in the caller's slot until the write can happen, so a poll that
        // yields for the budget or waits for room loses nothing.
        let budget = ready!(self.budget.poll_proceed(cx));
        let mut unsent = segment.take();
        let written = self.write_with(Some(cx.waker()), 1, |queue, _room| {
            queue.write_segment(unsent.take().expect("written once"))
        });
        match written {
            Ok(written) => {
                budget.made_progress();
                Poll::Ready(Ok(written))
            }
            Err(refusal) => match refusal.into_io_error() {
                Some(error) => Poll::Ready(Err(error)),
                None => {
                    *segment = unsent;
                    Poll::Pending
                }
            },
        }
    }

    /// Queues `segment` whole without copying it if there is room now; never waits. Returns its
    /// length (`Ok(0)` for an empty segment, even when the pipe is full).
    ///
    /// # Errors
    ///
    /// [`TryWriteError::Full`] when `capacity` bytes or more are in flight,
    /// [`TryWriteError::Closed`] when the reader was dropped or the pipe was closed. Either way
    /// the segment is handed back ([`TryWriteError::into_inner`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use streamview::TryWriteError;
    ///
    /// let (mut writer, _reader) = streamview::pipe(8);
    /// assert_eq!(writer.try_write_segment("12345678").unwrap(), 8);
    /// assert!(matches!(writer.try_write_segment("9"), Err(TryWriteError::Full(_))));
    /// ```
    pub fn try_write_segment(&mut self, segment: impl Into<Bytes>) -> Result<usize, TryWriteError> {
        let segment = segment.into();
        if segment.is_empty() {
            return self
                .write_nothing()
                .map_err(|_| TryWriteError::Closed(segment));
        }
        let mut unsent = Some(segment);
        let result = self.write_with(None, 1, |queue, _room| {
            queue.write_segment(unsent.take().expect("written once"))
        });
        result.map_err(|refusal| {
            let segment = unsent.expect("a refused segment is not taken");
            match refusal {
                Refusal::Full => TryWriteError::Full(segment),
                Refusal::ReaderGone | Refusal::WriterClosed => TryWriteError::Closed(segment),
            }
        })
    }

    /// Ready when there is room for one more segment (fewer than `capacity` bytes in flight);
    /// otherwise stores the task's waker for the reader to wake once it has made room.
    ///
    /// Room stays until this writer uses it: the reader only ever makes more.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::BrokenPipe`] when the reader was dropped or the pipe was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, _reader) = streamview::pipe(16);
    /// poll_fn(|cx| writer.poll_write_ready(cx)).await?;
    /// writer.try_write_segment("now certain to fit").unwrap();
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_write_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let budget = ready!(self.budget.poll_proceed(cx));
        match self.write_with(Some(cx.waker()), 1, |_queue, _room| ()) {
            Ok(()) => {
                budget.made_progress();
                Poll::Ready(Ok(()))
            }
            Err(refusal) => match refusal.into_io_error() {
                Some(error) => Poll::Ready(Err(error)),
                None => Poll::Pending,
            },
        }
    }

    /// Closes the writing side: the reader drains what is queued, then sees end of file. Later
    /// writes fail with [`io::ErrorKind::BrokenPipe`]. Idempotent; dropping the writer does the
    /// same.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut reader) = streamview::pipe(16);
    /// writer.write_segment("last words").await?;
    /// writer.close();
    /// writer.close();
    /// assert_eq!(reader.read_segment().await?.unwrap(), "last words");
    /// assert_eq!(reader.read_segment().await?, None);
    /// assert!(writer.write_segment("late").await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&mut self) {
        let mut state = self.shared.lock();
        state.queue.close();
        let reader = state.take_reader_waker();
        drop(state);
        wake(reader);
    }

    /// Returns how many bytes are in flight: written and not yet consumed by the reader, exact
    /// as of every read that returned before this call. 0 once the reader is gone.
    ///
    /// One documented exception (see [`pipe`](crate::pipe)): bytes that a `read_line` or
    /// `read_bytes` gathered while it waited are not counted until they are read, also after that
    /// call was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut reader) = streamview::pipe(16);
    /// writer.write_segment("abc").await?;
    /// writer.write_segment("de").await?;
    /// assert_eq!(writer.len(), 5);
    /// assert_eq!(reader.read_segment().await?.unwrap(), "abc");
    /// assert_eq!((writer.len(), reader.len()), (2, 2));
    /// drop(reader);
    /// assert_eq!(writer.len(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        if self.shared.lock().reader_gone {
            0
        } else {
            self.shared.in_flight(self.written)
        }
    }

    /// Returns `true` when no bytes are in flight (see [`len`](Self::len)).
    ///
    /// # Examples
    ///
    /// ```
    /// let (writer, _reader) = streamview::pipe(16);
    /// assert!(writer.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the pipe's capacity, the high-water mark in bytes given to [`pipe`](crate::pipe).
    ///
    /// # Examples
    ///
    /// ```
    /// let (writer, reader) = streamview::pipe(4096);
    /// assert_eq!(writer.capacity(), 4096);
    /// assert_eq!(reader.capacity(), 4096);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The one place bytes enter the pipe: under the lock, checks the pipe is open and has room,
    /// then lets `write` add to the queue given the room left: at least 1, and the exact room or
    /// at least `wanted` bytes of it (the reader's count is loaded again only when the room last
    /// seen is short of `wanted`). On `Full` it parks
    /// `waker` when given, for the read that makes room to wake. A reader waiting for bytes is
    /// woken after the lock is released.
    ///
    /// A refusal changes nothing but the parked waker. The socket helpers' `read_from` builds on
    /// this too.
    pub(crate) fn write_with<T>(
        &mut self,
        waker: Option<&Waker>,
        wanted: usize,
        write: impl FnOnce(&mut AsyncStream, usize) -> T,
    ) -> Result<T, Refusal> {
        let capacity = self.capacity;
        let mut state = lock_open(&self.shared)?;
        let mut in_flight = count_between(self.consumed_seen, self.written);
        if in_flight >= capacity || capacity - in_flight < wanted {
            self.consumed_seen = self.shared.consumed();
            in_flight = count_between(self.consumed_seen, self.written);
        }
        let mut replaced = None;
        if in_flight >= capacity {
            let Some(waker) = waker else {
                return Err(Refusal::Full);
            };
            (self.consumed_seen, replaced) =
                self.shared
                    .park_writer(&mut state, waker, self.written, capacity);
            in_flight = count_between(self.consumed_seen, self.written);
            if in_flight >= capacity {
                drop(state);
                drop(replaced);
                return Err(Refusal::Full);
            }
        }
        let written = queue_and_wake(&mut self.written, state, |queue| {
            write(queue, capacity - in_flight)
        });
        drop(replaced);
        Ok(written)
    }

    /// A zero-length write: `Ok(0)` at once, even when the pipe is full, but a closed pipe (or a
    /// gone reader) still says so, as every other write would.
    fn write_nothing(&mut self) -> io::Result<usize> {
        self.write_with(None, 0, |_, _| 0)
            .or_else(|refusal| refusal.into_io_error().map_or(Ok(0), Err))
    }

    /// Copies the slices in order into the queue's write tail, as many bytes as there is room
    /// for; returns how many. Zero only for empty input.
    fn poll_write_slices(
        &mut self,
        cx: &mut Context<'_>,
        slices: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let wanted: usize = slices.iter().map(|slice| slice.len()).sum();
        if wanted == 0 {
            ready!(self.budget.poll_nothing(cx));
            return Poll::Ready(self.write_nothing());
        }
        let budget = ready!(self.budget.poll_proceed_copy(cx));
        let copied = self.write_with(Some(cx.waker()), wanted, |queue, room| {
            let mut copied = 0;
            for slice in slices {
                let take = slice.len().min(room - copied);
                queue.write_tail(&slice[..take]);
                copied += take;
                if copied == room {
                    break;
                }
            }
            copied
        });
        match copied {
            Ok(copied) => {
                budget.made_progress();
                self.budget.copied(copied);
                Poll::Ready(Ok(copied))
            }
            Err(refusal) => match refusal.into_io_error() {
                Some(error) => Poll::Ready(Err(error)),
                None => Poll::Pending,
            },
        }
    }
}

/// Locks the state of a pipe still open for writing: refused when the reader is gone or the
/// writer closed. The check every write makes first.
fn lock_open(shared: &Shared) -> Result<MutexGuard<'_, State>, Refusal> {
    let state = shared.lock();
    if state.reader_gone {
        return Err(Refusal::ReaderGone);
    }
    if state.queue.is_closed() {
        return Err(Refusal::WriterClosed);
    }
    Ok(state)
}

/// Lets `write` add to the queue of the locked `state`, adds what it added to the writer's count
/// `written`, and wakes a reader waiting for bytes once the lock is released. Every write ends
/// here.
fn queue_and_wake<T>(
    written: &mut usize,
    mut state: MutexGuard<'_, State>,
    write: impl FnOnce(&mut AsyncStream) -> T,
) -> T {
    let before = state.queue.len();
    let result = write(&mut state.queue);
    let added = state.queue.len() - before;
    let reader = if added > 0 {
        *written = written.wrapping_add(added) & COUNT_MASK;
        state.take_reader_waker()
    } else {
        None
    };
    drop(state);
    wake(reader);
    result
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.close();
    }
}

impl fmt::Debug for PipeWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeWriter")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

/// Copies up to the room left (at least 1 byte when the pipe is not full; `Poll::Pending` with
/// the waker stored when it is). `poll_write_vectored` copies every slice there is room for, in
/// order; `poll_flush` completes at once; `poll_shutdown` closes.
///
/// # Errors
///
/// [`io::ErrorKind::BrokenPipe`] when the reader was dropped or the pipe was closed.
///
/// # Examples
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut reader) = streamview::pipe(4);
/// let task = tokio::spawn(async move {
///     let mut text = String::new();
///     reader.read_to_string(&mut text).await.map(|_| text)
/// });
/// writer.write_all(b"more than four bytes").await?; // waits for the reader as it goes
/// writer.shutdown().await?;
/// assert_eq!(task.await.unwrap()?, "more than four bytes");
/// # Ok(())
/// # }
/// ```
impl tokio::io::AsyncWrite for PipeWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_slices(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_slices(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().close();
        Poll::Ready(Ok(()))
    }
}

/// A sink of segments: `poll_ready` waits for room, `start_send` queues the segment whole (no
/// copy), `poll_flush` completes at once, `poll_close` closes the pipe.
///
/// # Errors
///
/// [`io::ErrorKind::BrokenPipe`] when the reader was dropped or the pipe was closed.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use futures::{SinkExt, StreamExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, reader) = streamview::pipe(1024);
/// writer.send(Bytes::from_static(b"one")).await?;
/// writer.send(Bytes::from_static(b"two")).await?;
/// SinkExt::close(&mut writer).await?; // the inherent close() takes precedence: name the trait
/// let segments: Vec<_> = reader.map(Result::unwrap).collect().await;
/// assert_eq!(segments, ["one", "two"]);
/// # Ok(())
/// # }
/// ```
impl futures_sink::Sink<Bytes> for PipeWriter {
    type Error = io::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_write_ready(cx)
    }

    /// Queues the segment whole. Call it after `poll_ready` returned ready: it does not check the
    /// room again, so a segment sent without that wait is still queued, never dropped.
    fn start_send(self: Pin<&mut Self>, segment: Bytes) -> io::Result<()> {
        let this = self.get_mut();
        let state = lock_open(&this.shared).map_err(Refusal::into_closed_error)?;
        queue_and_wake(&mut this.written, state, |queue| {
            queue.write_segment(segment)
        });
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().close();
        Poll::Ready(Ok(()))
    }
}

/// The same writes as the Tokio `AsyncWrite` (feature `futures-io`); `poll_close` closes.
///
/// # Errors
///
/// [`io::ErrorKind::BrokenPipe`] when the reader was dropped or the pipe was closed.
///
/// # Examples
///
/// ```
/// use futures::io::AsyncWriteExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut reader) = streamview::pipe(64);
/// writer.write_all(b"abc").await?;
/// AsyncWriteExt::close(&mut writer).await?;
/// assert_eq!(reader.read_bytes(10).await?, "abc");
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "futures-io")]
impl futures_io::AsyncWrite for PipeWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_slices(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_write_slices(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().close();
        Poll::Ready(Ok(()))
    }
}
