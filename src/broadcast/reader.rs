//! [`BroadcastReader`], one receiving half: takes every segment logged past its position in one
//! lock (the ones no other reader has yet to take leave the log, the others are cloned), serves
//! reads from them locally, and publishes its position after each.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::ReadBuf;

use crate::broadcast::shared::{PositionCell, Shared};
use crate::coop::{BatchedReader, BudgetBatch};
use crate::loom::{Arc, Ordering};
use crate::stream::AsyncStream;
use crate::waker::wake;

/// One reading half of a [`broadcast`](crate::broadcast).
///
/// Each reader receives every byte written after its start, in order, at its own pace. When it
/// runs out of bytes it takes a clone (a refcount bump, no copy) of *every* segment written so
/// far in one lock; reads are then served from those without locking. Segments come out as the
/// very buffers the writer logged, unless a read asks for a split
/// ([`read_chunk`](Self::read_chunk), a short [`read_bytes`](Self::read_bytes)) or for a span
/// across segments (then those bytes are copied once, for this reader only).
///
/// After every read the reader publishes its position (an atomic store, no lock), so the
/// writer's [`len`](crate::BroadcastWriter::len) and its room are exact, and a writer waiting
/// for room is woken by the read that makes it, on every read path, without a further read
/// and without the reader parking. With nobody waiting, a read takes no lock.
///
/// `clone` makes a reader at the same position, with the same bytes still to read;
/// [`BroadcastWriter::subscribe`](crate::BroadcastWriter::subscribe) makes one at the end.
/// Dropping a reader releases the segments only it still needed, at once, and wakes a writer
/// that this made room for; once the last reader is gone, writes fail with
/// [`io::ErrorKind::BrokenPipe`].
///
/// Every poll path takes part in Tokio's cooperative budget, as the pipe's reader does: a read
/// that fetched spends one unit once it returns (a poll that parks spends nothing), reads served
/// from the batch already fetched one unit per 64 reads; zero-length reads count as the latter.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut parser) = streamview::broadcast(1024);
/// let mut recorder = parser.clone();
/// tokio::spawn(async move {
///     writer.write_segment("HELO a\r\n").await?;
///     writer.write_segment("QUIT\r\n").await
/// });
/// assert_eq!(parser.read_line().await?.unwrap(), "HELO a\r\n");
/// assert_eq!(parser.read_line().await?.unwrap(), "QUIT\r\n");
/// assert_eq!(parser.read_line().await?, None); // the writer was dropped: end of file
/// assert_eq!(recorder.read_bytes(1024).await?, "HELO a\r\nQUIT\r\n");
/// # Ok(())
/// # }
/// ```
pub struct BroadcastReader {
    shared: Arc<Shared>,
    /// The high-water mark in bytes (at least 1).
    capacity: usize,
    /// This reader's slot in the shared state.
    id: usize,
    /// Where this reader publishes its position for the writer.
    position: PositionCell,
    /// The last position stored in `position`.
    published: u64,
    /// The offset up to which segments were taken into `local` (a segment boundary).
    fetched: u64,
    /// Clones of the segments from this reader's position up to `fetched`. Closed once the
    /// writer closed and everything it wrote was taken: reads then see end of file when drained.
    local: AsyncStream,
    /// Reads since the last one that spent a unit of Tokio's budget.
    budget: BudgetBatch,
}

impl BroadcastReader {
    pub(crate) fn new(
        shared: Arc<Shared>,
        capacity: usize,
        id: usize,
        position: PositionCell,
        start: u64,
    ) -> BroadcastReader {
        BroadcastReader {
            shared,
            capacity,
            id,
            position,
            published: start,
            fetched: start,
            local: AsyncStream::new(),
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
    /// let (mut writer, mut reader) = streamview::broadcast(1024);
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
    /// let (mut writer, mut reader) = streamview::broadcast(1024);
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
    /// let (mut writer, mut reader) = streamview::broadcast(4);
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
    /// let (mut writer, mut reader) = streamview::broadcast(1024);
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

    /// Returns how many bytes this reader can read now: those it took already plus those
    /// written since.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut reader) = streamview::broadcast(1024);
    /// writer.write_segment("abcd").await?;
    /// assert_eq!(reader.read_bytes(1).await?, "a");
    /// writer.write_segment("ef").await?;
    /// assert_eq!(reader.len(), 5); // "bcd" taken already, "ef" written since
    /// # Ok(())
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        let end = self.shared.lock().end();
        self.local.len() + (end - self.fetched) as usize
    }

    /// Returns `true` when this reader has nothing to read now.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_writer, reader) = streamview::broadcast(16);
    /// assert!(reader.is_empty());
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
    /// let (_writer, reader) = streamview::broadcast(100);
    /// assert_eq!(reader.capacity(), 100);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Stores this reader's position for the writer after a read (no lock: an atomic store to
    /// a cell only this reader writes), and wakes a parked writer if this read made its room.
    #[inline]
    fn publish(&mut self) {
        let position = self.fetched - self.local.len() as u64;
        if position > self.published {
            let before = self.published;
            self.published = position;
            self.position.store(position, Ordering::Release);
            self.shared.reader_advanced(before, position, self.capacity);
        }
    }
}

impl BatchedReader for BroadcastReader {
    fn budget(&mut self) -> &mut BudgetBatch {
        &mut self.budget
    }

    fn local(&mut self) -> &mut AsyncStream {
        &mut self.local
    }

    fn report_consumed(&mut self) {
        self.publish();
    }

    /// Takes a clone of every segment written past `fetched` in one lock; `Pending` with the
    /// waker parked when there is none and the writer is open. Offers the writer a wake-up
    /// either way.
    fn poll_fetch(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.shared.lock();
        let mut replaced = None;
        let poll = if self.fetched < state.end() {
            self.fetched = state.fetch(self.id, self.fetched, &mut self.local);
            if state.is_closed() {
                self.local.close();
            }
            Poll::Ready(())
        } else if state.is_closed() {
            self.local.close();
            Poll::Ready(())
        } else {
            if !self.local.is_empty() && self.fetched > self.published {
                // What is held now belongs to the request that waits (a partial line or
                // `read_bytes`); counting it would let a request larger than the capacity
                // deadlock, so the position published moves past it.
                self.published = self.fetched;
                self.position.store(self.fetched, Ordering::Release);
            }
            replaced = state.park_reader(self.id, cx.waker());
            Poll::Pending
        };
        let writer = self
            .shared
            .take_writer_waker_if_ready(&mut state, self.capacity);
        drop(state);
        drop(replaced);
        wake(writer);
        poll
    }
}

/// A reader at the same position as this one: it receives the same bytes from here on,
/// including those this one has taken but not yet read (shared, not copied).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut reader) = streamview::broadcast(1024);
/// writer.write_segment("abcdef").await?;
/// assert_eq!(reader.read_bytes(2).await?, "ab");
/// let mut copy = reader.clone();
/// assert_eq!(copy.read_bytes(4).await?, "cdef");
/// assert_eq!(reader.read_bytes(4).await?, "cdef");
/// # Ok(())
/// # }
/// ```
impl Clone for BroadcastReader {
    fn clone(&self) -> BroadcastReader {
        let mut state = self.shared.lock();
        let (id, position) = state.add_reader(self.published, self.fetched);
        drop(state);
        BroadcastReader {
            shared: self.shared.clone(),
            capacity: self.capacity,
            id,
            position,
            published: self.published,
            fetched: self.fetched,
            local: self.local.clone(),
            budget: BudgetBatch::default(),
        }
    }
}

impl Drop for BroadcastReader {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        let own_waker = state.remove_reader(self.id);
        let writer = self
            .shared
            .take_writer_waker_if_ready(&mut state, self.capacity);
        drop(state);
        drop(own_waker);
        wake(writer);
    }
}

impl fmt::Debug for BroadcastReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BroadcastReader")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .field("eof", &(self.local.is_closed() && self.local.is_empty()))
            .finish()
    }
}

/// Fills the buffer from the bytes this reader has, across segments; `Poll::Pending` (waker
/// stored) when there are none and the writer is open; an empty buffer completes at once.
///
/// # Examples
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut reader) = streamview::broadcast(1024);
/// writer.write_all(b"0123456789").await?;
/// drop(writer);
/// let mut buf = Vec::new();
/// reader.read_to_end(&mut buf).await?;
/// assert_eq!(buf, b"0123456789");
/// # Ok(())
/// # }
/// ```
impl tokio::io::AsyncRead for BroadcastReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.get_mut().poll_read_buf(cx, buf)
    }
}

/// `poll_fill_buf` lends the front segment this reader holds (no lock is held across the
/// borrow); `consume` advances past it, clamped to that segment's length as Tokio's `BufReader`
/// clamps to its buffer, so it never drops bytes `poll_fill_buf` did not return.
///
/// # Examples
///
/// ```
/// use tokio::io::AsyncBufReadExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, reader) = streamview::broadcast(1024);
/// writer.write_segment("alpha\nbeta\n").await?;
/// drop(writer);
/// let mut lines = reader.lines();
/// assert_eq!(lines.next_line().await?.as_deref(), Some("alpha"));
/// assert_eq!(lines.next_line().await?.as_deref(), Some("beta"));
/// assert_eq!(lines.next_line().await?, None);
/// # Ok(())
/// # }
/// ```
impl tokio::io::AsyncBufRead for BroadcastReader {
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
/// let (mut writer, mut reader) = streamview::broadcast(1024);
/// writer.write_segment("a").await?;
/// writer.write_segment("b").await?;
/// drop(writer);
/// assert_eq!(reader.next().await.unwrap()?, "a");
/// assert_eq!(reader.next().await.unwrap()?, "b");
/// assert!(reader.next().await.is_none());
/// # Ok(())
/// # }
/// ```
impl futures_core::Stream for BroadcastReader {
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
/// let (mut writer, mut reader) = streamview::broadcast(1024);
/// writer.write_segment("xyz").await?;
/// drop(writer);
/// let mut text = String::new();
/// reader.read_to_string(&mut text).await?;
/// assert_eq!(text, "xyz");
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "futures-io")]
impl futures_io::AsyncRead for BroadcastReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_read_slice(cx, buf)
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
/// let (mut writer, mut reader) = streamview::broadcast(1024);
/// writer.write_segment("line\n").await?;
/// let mut line = String::new();
/// // The inherent `BroadcastReader::read_line` takes precedence; name the trait to reach it.
/// AsyncBufReadExt::read_line(&mut reader, &mut line).await?;
/// assert_eq!(line, "line\n");
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "futures-io")]
impl futures_io::AsyncBufRead for BroadcastReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().poll_fill_local(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().consume_local(amt);
    }
}
