//! [`PipeReader`], the receiving half: takes every queued segment per lock into a local stream
//! and serves reads from there.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use tokio::io::ReadBuf;

use crate::coop::{BatchedReader, BudgetBatch};
use crate::loom::{Arc, MutexGuard};
use crate::pipe::shared::{Shared, State};
#[cfg(feature = "futures-io")]
use crate::stream::fill_in_pieces;
use crate::stream::{put_in_pieces, AsyncStream};
use crate::waker::wake;

/// The reading half of a [`pipe`](crate::pipe).
///
/// Each time it runs out of bytes it takes *every* segment queued so far in one lock, without
/// copying, into a stream of its own; reads are then served from that local stream without
/// locking, and `poll_fill_buf` lends its front segment with no lock held across the borrow.
/// Segments come out as the very buffers the writer queued, unless a read asks for a split
/// ([`read_chunk`](Self::read_chunk), a short [`read_bytes`](Self::read_bytes)) or for a span
/// across segments (then those bytes are copied once).
///
/// Every read adds the bytes it consumed to a count the writer sees, with one atomic update and
/// no lock, so the writer's [`len`](crate::PipeWriter::len) is exact and a writer blocked on a
/// full pipe is woken by the very read that made room for it, whichever read it is. Dropping
/// the reader makes the writer's writes fail with
/// [`io::ErrorKind::BrokenPipe`] and releases the queued segments.
///
/// Every poll path takes part in Tokio's cooperative budget, so a reader that always finds bytes
/// still yields to the other tasks of its runtime: every read checks the budget and yields when
/// the task has none left; a read that fetched from the shared queue spends one unit once it
/// returns (a poll that parks spends nothing), and reads served from
/// the batch already fetched spend one unit per 64 reads (a 64 KiB `duplex` read spends one unit
/// for up to 64 KiB, so one per small frame would make a frame reader yield ~1,000x as often).
/// Zero-length reads (`read_chunk(0)`, an empty buffer) complete at once and count as reads
/// served from the batch, so a loop of them yields too.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut reader) = streamview::pipe(1024);
/// tokio::spawn(async move {
///     writer.write_segment("HELO a\r\n").await?;
///     writer.write_segment("QUIT\r\n").await
/// });
/// assert_eq!(reader.read_line().await?.unwrap(), "HELO a\r\n");
/// assert_eq!(reader.read_line().await?.unwrap(), "QUIT\r\n");
/// assert_eq!(reader.read_line().await?, None); // the writer was dropped: end of file
/// # Ok(())
/// # }
/// ```
pub struct PipeReader {
    shared: Arc<Shared>,
    /// The high-water mark in bytes (at least 1).
    capacity: usize,
    /// Segments taken from the shared queue, served without the lock. Closed once the writer
    /// closed and everything it wrote has been taken: reads then see end of file when it drains.
    local: AsyncStream,
    /// Bytes moved from the shared queue into `local` since the pipe was made (wrapping): minus
    /// `local.len()`, the bytes consumed.
    taken: usize,
    /// The consumed count as last added to the shared count. Ahead of the bytes truly consumed
    /// while bytes gathered by a waiting `read_line`/`read_bytes` are forgiven (see `poll_fetch`).
    published: usize,
    /// Reads since the last one that spent a unit of Tokio's budget.
    budget: BudgetBatch,
}

impl PipeReader {
    pub(crate) fn new(shared: Arc<Shared>, capacity: usize) -> PipeReader {
        PipeReader {
            shared,
            capacity,
            local: AsyncStream::new(),
            taken: 0,
            published: 0,
            budget: BudgetBatch::default(),
        }
    }

    /// Waits for bytes and returns the front segment whole (the very buffer written, no copy);
    /// `None` at end of file.
    ///
    /// # Cancellation safety
    ///
    /// Cancellation safe: nothing is consumed until the future completes.
    ///
    /// # Errors
    ///
    /// None today; the `io::Result` leaves room for errors of future transports.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut reader) = streamview::pipe(1024);
    /// let frame = Bytes::from(vec![0u8; 100]);
    /// writer.write_segment(frame.clone()).await?;
    /// drop(writer);
    /// assert_eq!(reader.read_segment().await?.unwrap().as_ptr(), frame.as_ptr());
    /// assert_eq!(reader.read_segment().await?, None);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_segment(&mut self) -> io::Result<Option<Bytes>> {
        Ok(poll_fn(|cx| self.poll_take(cx, AsyncStream::read_segment)).await)
    }

    /// Waits for bytes and returns at most `max` of them from the front segment only, no copy;
    /// `None` at end of file. `max == 0` returns an empty chunk at once.
    ///
    /// # Cancellation safety
    ///
    /// Cancellation safe: nothing is consumed until the future completes.
    ///
    /// # Errors
    ///
    /// None today; the `io::Result` leaves room for errors of future transports.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut reader) = streamview::pipe(1024);
    /// writer.write_segment("abcdef").await?;
    /// writer.write_segment("gh").await?;
    /// assert_eq!(reader.read_chunk(4).await?.unwrap(), "abcd");
    /// assert_eq!(reader.read_chunk(4).await?.unwrap(), "ef"); // never crosses a segment
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_chunk(&mut self, max: usize) -> io::Result<Option<Bytes>> {
        if max == 0 {
            poll_fn(|cx| self.budget.poll_nothing(cx)).await;
            return Ok(Some(Bytes::new()));
        }
        Ok(poll_fn(|cx| self.poll_take(cx, |local| local.read_chunk(max))).await)
    }

    /// Waits until `n` bytes are readable and returns them; fewer only at end of file (an empty
    /// `Bytes` once drained). Zero-copy when they lie in one segment, one copy otherwise.
    ///
    /// While it waits, the bytes already gathered are held by the reader and are not counted
    /// against the capacity, so `n` may exceed the capacity without a deadlock.
    ///
    /// # Cancellation safety
    ///
    /// Cancellation safe: bytes gathered before the future is dropped stay in the reader, in
    /// order, for the next read.
    ///
    /// # Errors
    ///
    /// None today; the `io::Result` leaves room for errors of future transports.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut reader) = streamview::pipe(4);
    /// tokio::spawn(async move {
    ///     for part in ["he", "llo", " world"] {
    ///         writer.write_segment(part).await?;
    ///     }
    ///     std::io::Result::Ok(())
    /// });
    /// assert_eq!(reader.read_bytes(5).await?, "hello");
    /// assert_eq!(reader.read_bytes(100).await?, " world"); // short only at end of file
    /// assert!(reader.read_bytes(1).await?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_bytes(&mut self, n: usize) -> io::Result<Bytes> {
        if n == 0 {
            return Ok(Bytes::new());
        }
        Ok(poll_fn(|cx| self.poll_read_bytes(cx, n)).await)
    }

    /// Waits for a whole line and returns it, `\n` included; at end of file a last line without
    /// `\n`, then `None`. Zero-copy when the line lies in one segment.
    ///
    /// While it waits, the bytes of the unfinished line are not counted against the capacity,
    /// so a line longer than the capacity is still read.
    ///
    /// # Cancellation safety
    ///
    /// Cancellation safe: the bytes of an unfinished line stay in the reader.
    ///
    /// # Errors
    ///
    /// None today; the `io::Result` leaves room for errors of future transports.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut reader) = streamview::pipe(1024);
    /// writer.write_segment("one\ntw").await?;
    /// writer.write_segment("o\nlast").await?;
    /// writer.close();
    /// assert_eq!(reader.read_line().await?.unwrap(), "one\n");
    /// assert_eq!(reader.read_line().await?.unwrap(), "two\n");
    /// assert_eq!(reader.read_line().await?.unwrap(), "last");
    /// assert_eq!(reader.read_line().await?, None);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_line(&mut self) -> io::Result<Option<Bytes>> {
        Ok(poll_fn(|cx| self.poll_take(cx, AsyncStream::read_line)).await)
    }

    /// Returns how many bytes are readable now: those the reader holds locally plus those still
    /// queued.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut reader) = streamview::pipe(1024);
    /// writer.write_segment("abcd").await?;
    /// assert_eq!(reader.read_bytes(1).await?, "a");
    /// writer.write_segment("ef").await?;
    /// assert_eq!(reader.len(), 5); // "bcd" held locally, "ef" queued
    /// # Ok(())
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.local.len() + self.shared.lock().queue.len()
    }

    /// Returns `true` when no bytes are readable now.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_writer, reader) = streamview::pipe(16);
    /// assert!(reader.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the pipe's capacity, the high-water mark in bytes given to [`pipe`](crate::pipe).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_writer, reader) = streamview::pipe(100);
    /// assert_eq!(reader.capacity(), 100);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

impl BatchedReader for PipeReader {
    fn budget(&mut self) -> &mut BudgetBatch {
        &mut self.budget
    }

    fn local(&mut self) -> &mut AsyncStream {
        &mut self.local
    }

    /// Adds the bytes consumed from the local stream since the last call to the count the writer
    /// sees (one atomic update, no lock), waking a writer that waits for the room this made.
    /// Runs after every read.
    #[inline]
    fn report_consumed(&mut self) {
        let consumed = self.taken.wrapping_sub(self.local.len());
        let newly = consumed.wrapping_sub(self.published);
        // Negative while forgiven bytes are consumed: those were added already.
        if (newly as isize) > 0 {
            self.published = consumed;
            self.shared.add_consumed(newly, self.capacity);
        }
    }

    /// Moves every queued segment into the local stream in one lock (no copy), reporting the
    /// local byte count; `Pending` with the waker parked when nothing is queued and the writer
    /// has not closed.
    fn poll_fetch(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let state = self.shared.lock();
        let moved = take_queued(&mut self.local, state, cx);
        self.taken_or_parked(moved)
    }
}

/// The locked half of a fetch: moves every queued segment of the locked `state` into `local`
/// (no copy) and returns how many bytes moved, or parks the task's waker and returns `None`
/// when nothing is queued and the writer has not closed. Releases the lock.
fn take_queued(
    local: &mut AsyncStream,
    mut state: MutexGuard<'_, State>,
    cx: &mut Context<'_>,
) -> Option<usize> {
    if state.queue.is_empty() && !state.queue.is_closed() {
        let replaced = state.park_reader(cx.waker());
        drop(state);
        drop(replaced);
        return None;
    }
    let moved = local.append(&mut state.queue);
    if state.queue.is_closed() {
        local.close();
    }
    Some(moved)
}

impl PipeReader {
    /// The unlocked half of a fetch: counts the bytes [`take_queued`] moved, or when it parked,
    /// returns `Pending`.
    fn taken_or_parked(&mut self, moved: Option<usize>) -> Poll<()> {
        let Some(moved) = moved else {
            // Whatever is held locally now belongs to the request that waits (a partial line or
            // `read_bytes`); counting it would let a request larger than the capacity deadlock,
            // so it is counted as consumed now, and not again when the request takes it.
            let forgiven = self.taken.wrapping_sub(self.published);
            if (forgiven as isize) > 0 {
                self.published = self.taken;
                self.shared.add_consumed(forgiven, self.capacity);
            }
            return Poll::Pending;
        };
        self.taken = self.taken.wrapping_add(moved);
        Poll::Ready(())
    }

    /// A byte-path read (`AsyncRead` of either trait) of up to `max` bytes (`max > 0`), handed
    /// to `sink` chunk by chunk; `Ready` with nothing handed over at end of file.
    ///
    /// With bytes held locally, reads them as every read does. With none, and at most
    /// [`DIRECT_READ_MAX`] bytes queued, copies them straight out of the shared queue under the
    /// lock, as `tokio::io::duplex` copies out of its buffer: no segment is cut from the
    /// writer's block, queued, taken and dropped for bytes that are copied at once anyway. More
    /// queued than that are taken as segments and copied after the lock is released, so the
    /// writer is not held up for a long copy.
    fn poll_read_direct(
        &mut self,
        cx: &mut Context<'_>,
        max: usize,
        mut sink: impl FnMut(&[u8]),
    ) -> Poll<()> {
        if !self.local.is_empty() {
            ready!(self.poll_take(cx, |local| {
                (!local.is_empty()).then(|| local.read_to(max, &mut sink))
            }));
            return Poll::Ready(());
        }
        // A fetch spends a unit of the budget, as in `poll_take`, but only once it found bytes:
        // a poll that parks the waker spends nothing (there is nothing to give back), so the
        // budget is only checked before the lock and spent after.
        ready!(self.budget.poll_has_budget(cx));
        let mut state = self.shared.lock();
        let queued = state.queue.len();
        if queued > 0 && queued <= DIRECT_READ_MAX {
            let copied = state.queue.read_to(max, sink);
            drop(state);
            self.taken = self.taken.wrapping_add(copied);
            self.budget.spend(cx);
            self.report_consumed();
            return Poll::Ready(());
        }
        let moved = take_queued(&mut self.local, state, cx);
        ready!(self.taken_or_parked(moved));
        self.budget.spend(cx);
        self.local.read_to(max, sink);
        self.report_consumed();
        Poll::Ready(())
    }
}

/// Most bytes a byte-path read copies out of the shared queue under the lock (see
/// [`PipeReader::poll_read_direct`]).
const DIRECT_READ_MAX: usize = 16 * 1024;

impl Drop for PipeReader {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.reader_gone = true;
        let released = std::mem::take(&mut state.queue);
        let own_waker = state.take_reader_waker();
        let writer = state.take_writer_waker();
        drop(state);
        drop((released, own_waker));
        wake(writer);
    }
}

impl fmt::Debug for PipeReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeReader")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .field("eof", &(self.local.is_closed() && self.local.is_empty()))
            .finish()
    }
}

/// Fills the buffer from the local stream, across segments; `Poll::Pending` (waker stored) when
/// nothing is readable and the writer is open; an empty buffer completes at once.
///
/// # Examples
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut reader) = streamview::pipe(1024);
/// writer.write_all(b"0123456789").await?;
/// drop(writer);
/// let mut buf = Vec::new();
/// reader.read_to_end(&mut buf).await?;
/// assert_eq!(buf, b"0123456789");
/// # Ok(())
/// # }
/// ```
impl tokio::io::AsyncRead for PipeReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            ready!(self.get_mut().budget.poll_nothing(cx));
            return Poll::Ready(Ok(()));
        }
        let max = buf.remaining();
        ready!(self
            .get_mut()
            .poll_read_direct(cx, max, |chunk| put_in_pieces(buf, chunk)));
        Poll::Ready(Ok(()))
    }
}

/// `poll_fill_buf` lends the front segment the reader holds locally (no lock is held across the
/// borrow); `consume` advances past it, clamped to that segment's length as Tokio's `BufReader`
/// clamps to its buffer, so a `consume` past the lent slice never drops bytes `poll_fill_buf`
/// did not return (an `AsyncStream`'s `consume` skips across its segments instead).
///
/// # Examples
///
/// ```
/// use tokio::io::AsyncBufReadExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, reader) = streamview::pipe(1024);
/// writer.write_segment("alpha\nbeta\n").await?;
/// drop(writer);
/// let mut lines = reader.lines();
/// assert_eq!(lines.next_line().await?.as_deref(), Some("alpha"));
/// assert_eq!(lines.next_line().await?.as_deref(), Some("beta"));
/// assert_eq!(lines.next_line().await?, None);
/// # Ok(())
/// # }
/// ```
impl tokio::io::AsyncBufRead for PipeReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().poll_fill_local(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().consume_local(amt);
    }
}

/// Yields each segment as written (no copy) until end of file.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut reader) = streamview::pipe(1024);
/// writer.write_segment("a").await?;
/// writer.write_segment("b").await?;
/// drop(writer);
/// assert_eq!(reader.next().await.unwrap()?, "a");
/// assert_eq!(reader.next().await.unwrap()?, "b");
/// assert!(reader.next().await.is_none());
/// # Ok(())
/// # }
/// ```
impl futures_core::Stream for PipeReader {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        self.get_mut().poll_next_segment(cx)
    }
}

/// The same reads as the Tokio `AsyncRead` (feature `futures-io`); `Ok(0)` at end of file.
///
/// # Examples
///
/// ```
/// use futures::io::AsyncReadExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut reader) = streamview::pipe(1024);
/// writer.write_segment("xyz").await?;
/// drop(writer);
/// let mut text = String::new();
/// reader.read_to_string(&mut text).await?;
/// assert_eq!(text, "xyz");
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "futures-io")]
impl futures_io::AsyncRead for PipeReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            ready!(self.get_mut().budget.poll_nothing(cx));
            return Poll::Ready(Ok(0));
        }
        let mut filled = 0;
        ready!(self
            .get_mut()
            .poll_read_direct(cx, buf.len(), |chunk| fill_in_pieces(
                buf,
                &mut filled,
                chunk
            )));
        Poll::Ready(Ok(filled))
    }
}

/// The same buffered reads as the Tokio `AsyncBufRead` (feature `futures-io`).
///
/// # Examples
///
/// ```
/// use futures::io::AsyncBufReadExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut reader) = streamview::pipe(1024);
/// writer.write_segment("line\n").await?;
/// let mut line = String::new();
/// // The inherent `PipeReader::read_line` takes precedence; name the trait to reach it.
/// AsyncBufReadExt::read_line(&mut reader, &mut line).await?;
/// assert_eq!(line, "line\n");
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "futures-io")]
impl futures_io::AsyncBufRead for PipeReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().poll_fill_local(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().consume_local(amt);
    }
}
