//! [`BroadcastWriter`], the sending half: segments are logged whole and taken by every reader
//! (cloned, but moved out of the log by the last reader to take each); byte writes are copied once
//! into a shared block.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use bytes::{Bytes, BytesMut};

use crate::broadcast::reader::BroadcastReader;
use crate::broadcast::shared::{Refusal, Shared, State};
use crate::coop::BudgetBatch;
use crate::loom::Arc;
use crate::pipe::TryWriteError;
use crate::stream::extend_in_pieces;
use crate::waker::WakeList;

/// The smallest block byte writes (`AsyncWrite`) copy into: consecutive small writes share one
/// allocation, each becoming a segment that views part of it.
const WRITE_BLOCK: usize = 16 * 1024;

/// The writing half of a [`broadcast`](crate::broadcast).
///
/// Every segment given to [`write_segment`](Self::write_segment),
/// [`try_write_segment`](Self::try_write_segment) or the [`Sink`](futures_sink::Sink) reaches
/// every reader as the very same buffer (each reader holds a refcount, not a copy). Byte writes
/// (`AsyncWrite`) are copied once into a shared block, then shared the same way.
///
/// A write finds room while the slowest live reader is fewer than `capacity` bytes behind; any
/// segment is accepted whole then, even one larger than `capacity`. With no reader left, writes
/// fail with [`io::ErrorKind::BrokenPipe`] (until [`subscribe`](Self::subscribe) adds one).
/// Dropping the writer closes the broadcast: each reader drains what was written, then sees end
/// of file.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut first) = streamview::broadcast(64 * 1024);
/// let mut second = writer.subscribe();
/// let frame = Bytes::from(vec![1u8; 1500]);
/// writer.write_segment(frame.clone()).await?;
/// assert_eq!(first.read_segment().await?.unwrap().as_ptr(), frame.as_ptr());
/// assert_eq!(second.read_segment().await?.unwrap().as_ptr(), frame.as_ptr());
/// # Ok(())
/// # }
/// ```
pub struct BroadcastWriter {
    shared: Arc<Shared>,
    /// The high-water mark in bytes (at least 1).
    capacity: usize,
    /// The block byte writes copy into; each write's bytes are split off it as one segment.
    block: BytesMut,
    /// Readers' wakers gathered under the lock, woken after it; kept to reuse its allocation.
    wakes: WakeList,
    /// Writes since this writer last spent a unit of Tokio's cooperative budget.
    budget: BudgetBatch,
}

impl BroadcastWriter {
    pub(crate) fn new(shared: Arc<Shared>, capacity: usize) -> BroadcastWriter {
        BroadcastWriter {
            shared,
            capacity,
            block: BytesMut::new(),
            wakes: WakeList::default(),
            budget: BudgetBatch::default(),
        }
    }

    /// Waits for room, then logs `segment` whole for every reader, without copying it; returns
    /// its length.
    ///
    /// An empty segment returns `Ok(0)` at once, even when the broadcast is full (but still fails
    /// when it is closed or has no reader).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::BrokenPipe`] when the writer was closed or no reader is left.
    ///
    /// # Cancellation safety
    ///
    /// Not cancellation safe: if the future is dropped while it waits for room, the segment is
    /// dropped with it and was not written. To keep it, wait with
    /// [`poll_write_ready`](Self::poll_write_ready) and hand it over with
    /// [`try_write_segment`](Self::try_write_segment).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut reader) = streamview::broadcast(4);
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
        // The segment stays in the caller's slot until it is written, so a poll that yields for
        // the budget or waits for room loses nothing.
        let budget = ready!(self.budget.poll_proceed(cx));
        match self.write_with(Some(cx.waker()), |state, wakes, _room| {
            let segment = segment.take().expect("written once");
            let len = segment.len();
            state.push(segment, wakes);
            len
        }) {
            Ok(written) => {
                budget.made_progress();
                Poll::Ready(Ok(written))
            }
            Err(refusal) => match refusal.into_io_error() {
                Some(error) => Poll::Ready(Err(error)),
                None => Poll::Pending,
            },
        }
    }

    /// Logs `segment` whole for every reader, without copying it, if there is room now; never
    /// waits. Returns its length (`Ok(0)` for an empty segment, even when full).
    ///
    /// # Errors
    ///
    /// [`TryWriteError::Full`] when the slowest reader is `capacity` bytes or more behind,
    /// [`TryWriteError::Closed`] when the writer was closed or no reader is left. Either way the
    /// segment is handed back ([`TryWriteError::into_inner`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use streamview::TryWriteError;
    ///
    /// let (mut writer, reader) = streamview::broadcast(8);
    /// assert_eq!(writer.try_write_segment("12345678").unwrap(), 8);
    /// assert!(matches!(writer.try_write_segment("9"), Err(TryWriteError::Full(_))));
    /// drop(reader);
    /// assert!(matches!(writer.try_write_segment("9"), Err(TryWriteError::Closed(_))));
    /// ```
    pub fn try_write_segment(&mut self, segment: impl Into<Bytes>) -> Result<usize, TryWriteError> {
        let segment = segment.into();
        if segment.is_empty() {
            return self
                .write_nothing()
                .map_err(|_| TryWriteError::Closed(segment));
        }
        let mut unsent = Some(segment);
        let result = self.write_with(None, |state, wakes, _room| {
            let segment = unsent.take().expect("written once");
            let len = segment.len();
            state.push(segment, wakes);
            len
        });
        result.map_err(|refusal| {
            let segment = unsent.expect("a refused segment is not taken");
            match refusal {
                Refusal::Full => TryWriteError::Full(segment),
                Refusal::NoReaders | Refusal::Closed => TryWriteError::Closed(segment),
            }
        })
    }

    /// Ready when there is room for one more segment (the slowest live reader fewer than
    /// `capacity` bytes behind); otherwise stores the task's waker for the readers to wake once
    /// the slowest has made room, or the last one left.
    ///
    /// Room stays until this writer uses it: readers only ever make more (a reader added by
    /// [`subscribe`](Self::subscribe) starts at the end, one made by `clone` at its origin's
    /// position).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::BrokenPipe`] when the writer was closed or no reader is left.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, _reader) = streamview::broadcast(16);
    /// poll_fn(|cx| writer.poll_write_ready(cx)).await?;
    /// writer.try_write_segment("now certain to fit").unwrap();
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_write_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let budget = ready!(self.budget.poll_proceed(cx));
        match self.write_with(Some(cx.waker()), |_, _, _| ()) {
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

    /// Closes the writing side: every reader drains what was written, then sees end of file; a
    /// reader subscribed later sees end of file at once. Later writes fail with
    /// [`io::ErrorKind::BrokenPipe`]. Idempotent; dropping the writer does the same.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut reader) = streamview::broadcast(16);
    /// writer.write_segment("last words").await?;
    /// writer.close();
    /// writer.close();
    /// assert_eq!(reader.read_segment().await?.unwrap(), "last words");
    /// assert_eq!(reader.read_segment().await?, None);
    /// assert!(writer.write_segment("late").await.is_err());
    /// assert_eq!(writer.subscribe().read_segment().await?, None);
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&mut self) {
        let mut state = self.shared.lock();
        state.close(&mut self.wakes);
        drop(state);
        self.wakes.wake_all();
    }

    /// Adds a reader that starts at the current end: it receives every byte written from now
    /// on, and none before. After [`close`](Self::close) it sees end of file at once. Writes that
    /// failed with `BrokenPipe` because every reader was gone succeed again once a reader is
    /// subscribed, as with `tokio::sync::broadcast`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut early) = streamview::broadcast(1024);
    /// writer.write_segment("before ").await?;
    /// let mut late = writer.subscribe();
    /// writer.write_segment("after").await?;
    /// writer.close();
    /// assert_eq!(early.read_bytes(100).await?, "before after");
    /// assert_eq!(late.read_bytes(100).await?, "after");
    /// # Ok(())
    /// # }
    /// ```
    pub fn subscribe(&self) -> BroadcastReader {
        let mut state = self.shared.lock();
        let end = state.end();
        let (id, position) = state.add_reader(end, end);
        drop(state);
        BroadcastReader::new(self.shared.clone(), self.capacity, id, position, end)
    }

    /// Returns how many bytes are held for the slowest live reader: written, and not yet read by
    /// it. Exact as of the call (it reads every reader's position); 0 with no reader.
    ///
    /// One documented exception (see [`broadcast`](crate::broadcast)): bytes that a reader's
    /// `read_line` or `read_bytes` gathered while it waited count as read until that reader reads
    /// them, also after that call was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut fast) = streamview::broadcast(16);
    /// let slow = writer.subscribe();
    /// writer.try_write_segment("abcdef").unwrap();
    /// assert_eq!(fast.read_bytes(6).await?, "abcdef");
    /// assert_eq!(writer.len(), 6); // `slow` has read nothing
    /// drop(slow);
    /// assert_eq!(writer.len(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.shared.lock().held() as usize
    }

    /// Returns `true` when every live reader has read everything written (see [`len`](Self::len)).
    ///
    /// # Examples
    ///
    /// ```
    /// let (writer, _reader) = streamview::broadcast(16);
    /// assert!(writer.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the broadcast's capacity, the high-water mark in bytes given to
    /// [`broadcast`](crate::broadcast).
    ///
    /// # Examples
    ///
    /// ```
    /// let (writer, reader) = streamview::broadcast(4096);
    /// assert_eq!(writer.capacity(), 4096);
    /// assert_eq!(reader.capacity(), 4096);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Returns how many readers are live now.
    ///
    /// # Examples
    ///
    /// ```
    /// let (writer, reader) = streamview::broadcast(16);
    /// let copy = reader.clone();
    /// assert_eq!(writer.receiver_count(), 2);
    /// drop((reader, copy));
    /// assert_eq!(writer.receiver_count(), 0);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.lock().live_readers()
    }

    /// The one place bytes enter the log: under the lock, checks the broadcast is open, has a
    /// reader and has room, then lets `write` log segments given the room left (at least 1). On
    /// `Full` it parks `waker` when given. Readers waiting for bytes are woken after unlocking.
    fn write_with<T>(
        &mut self,
        waker: Option<&Waker>,
        write: impl FnOnce(&mut State, &mut WakeList, usize) -> T,
    ) -> Result<T, Refusal> {
        let mut state = self.shared.lock();
        if state.is_closed() {
            return Err(Refusal::Closed);
        }
        if state.live_readers() == 0 {
            return Err(Refusal::NoReaders);
        }
        let mut room = state.room(self.capacity);
        if room == 0 {
            let Some(waker) = waker else {
                return Err(Refusal::Full);
            };
            match self.shared.park_writer(&mut state, waker, self.capacity) {
                Ok(replaced) => {
                    drop(state);
                    drop(replaced);
                    return Err(Refusal::Full);
                }
                // A reader made room between the check and the park.
                Err(()) => room = state.room(self.capacity),
            }
        }
        let written = write(&mut state, &mut self.wakes, room);
        drop(state);
        self.wakes.wake_all();
        Ok(written)
    }

    /// A zero-length write: `Ok(0)` at once, even when full, but a closed broadcast (or one with
    /// no reader) still says so, as every other write would.
    fn write_nothing(&mut self) -> io::Result<usize> {
        let state = self.shared.lock();
        if state.is_closed() {
            Err(Refusal::Closed)
        } else if state.live_readers() == 0 {
            Err(Refusal::NoReaders)
        } else {
            Ok(0)
        }
        .map_err(|refusal| refusal.into_io_error().expect("not Full"))
    }

    /// Copies the slices in order, as many bytes as there is room for, into the shared block,
    /// and logs them as one segment; returns how many. Zero only for empty input.
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
        // Taken out for the closure; its spare capacity comes back for the next write.
        let mut block = std::mem::take(&mut self.block);
        let copied = self.write_with(Some(cx.waker()), |state, wakes, room| {
            let copied = wanted.min(room);
            if block.capacity() - block.len() < copied {
                block = BytesMut::with_capacity(copied.max(WRITE_BLOCK));
            }
            let mut left = copied;
            for slice in slices {
                let take = slice.len().min(left);
                extend_in_pieces(&mut block, &slice[..take]);
                left -= take;
                if left == 0 {
                    break;
                }
            }
            state.push(block.split().freeze(), wakes);
            copied
        });
        self.block = block;
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

    /// `Sink::start_send`: logs the segment without checking room (`poll_ready` did).
    fn send_segment(&mut self, segment: Bytes) -> io::Result<()> {
        let mut state = self.shared.lock();
        if state.is_closed() {
            return Err(Refusal::Closed.into_io_error().expect("not Full"));
        }
        if state.live_readers() == 0 {
            return Err(Refusal::NoReaders.into_io_error().expect("not Full"));
        }
        if !segment.is_empty() {
            state.push(segment, &mut self.wakes);
        }
        drop(state);
        self.wakes.wake_all();
        Ok(())
    }
}

impl Drop for BroadcastWriter {
    fn drop(&mut self) {
        self.close();
    }
}

impl fmt::Debug for BroadcastWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut state = self.shared.lock();
        let (held, readers, closed) = (state.held(), state.live_readers(), state.is_closed());
        drop(state);
        f.debug_struct("BroadcastWriter")
            .field("capacity", &self.capacity)
            .field("len", &held)
            .field("receiver_count", &readers)
            .field("closed", &closed)
            .finish()
    }
}

/// Copies up to the room left into a shared block and logs it as one segment every reader
/// shares (`Poll::Pending` with the waker stored when full). `poll_write_vectored` copies every
/// slice there is room for, in order; `poll_flush` completes at once; `poll_shutdown` closes.
///
/// # Errors
///
/// [`io::ErrorKind::BrokenPipe`] when the writer was closed or no reader is left.
///
/// # Examples
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut reader) = streamview::broadcast(4);
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
impl tokio::io::AsyncWrite for BroadcastWriter {
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

/// A sink of segments: `poll_ready` waits for room, `start_send` logs the segment whole for
/// every reader (no copy), `poll_flush` completes at once, `poll_close` closes.
///
/// # Errors
///
/// [`io::ErrorKind::BrokenPipe`] when the writer was closed or no reader is left.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use futures::{SinkExt, StreamExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, first) = streamview::broadcast(1024);
/// let second = first.clone();
/// writer.send(Bytes::from_static(b"one")).await?;
/// writer.send(Bytes::from_static(b"two")).await?;
/// SinkExt::close(&mut writer).await?; // the inherent close() takes precedence: name the trait
/// for reader in [first, second] {
///     let segments: Vec<_> = reader.map(Result::unwrap).collect().await;
///     assert_eq!(segments, ["one", "two"]);
/// }
/// # Ok(())
/// # }
/// ```
impl futures_sink::Sink<Bytes> for BroadcastWriter {
    type Error = io::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_write_ready(cx)
    }

    /// Logs the segment whole. Call it after `poll_ready` returned ready: it does not check the
    /// room again, so a segment sent without that wait is still logged, never dropped.
    fn start_send(self: Pin<&mut Self>, segment: Bytes) -> io::Result<()> {
        self.get_mut().send_segment(segment)
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
/// [`io::ErrorKind::BrokenPipe`] when the writer was closed or no reader is left.
///
/// # Examples
///
/// ```
/// use futures::io::AsyncWriteExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut reader) = streamview::broadcast(64);
/// writer.write_all(b"abc").await?;
/// AsyncWriteExt::close(&mut writer).await?;
/// assert_eq!(reader.read_bytes(10).await?, "abc");
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "futures-io")]
impl futures_io::AsyncWrite for BroadcastWriter {
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
