//! [`duplex`] and [`DuplexStream`]: two [`pipe`](crate::pipe)s crossed, so each end reads what
//! the other writes. Every operation is the pipe half's own, reached through one field; this
//! file adds only the pairing and the delegation.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::ReadBuf;

use crate::pipe::{pipe, PipeReader, PipeWriter, TryWriteError};

/// Creates two connected ends of an in-memory, bidirectional byte transport.
///
/// What one end writes, the other reads, in order; each direction is its own
/// [`pipe`](crate::pipe) with `capacity` as its high-water mark in bytes. A segment written with
/// [`DuplexStream::write_segment`] is read on the other end as the very same buffer, with no
/// copy; byte writes (`AsyncWrite`) are copied once. It is the zero-copy counterpart of
/// [`tokio::io::duplex`]: a service and its client (hyper, tonic, TLS, `Framed` codecs) run over
/// it in one process, without a socket.
///
/// # Panics
///
/// Panics when `capacity` is 0: no write could ever find room. The message names the capacity.
///
/// # Examples
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut client, mut server) = streamview::duplex(64 * 1024);
/// let echo = tokio::spawn(async move {
///     let mut request = [0u8; 4];
///     server.read_exact(&mut request).await?;
///     server.write_all(b"pong").await
/// });
/// client.write_all(b"ping").await?;
/// let mut reply = [0u8; 4];
/// client.read_exact(&mut reply).await?;
/// assert_eq!(&reply, b"pong");
/// echo.await.unwrap()?;
/// # Ok(())
/// # }
/// ```
#[track_caller]
pub fn duplex(capacity: usize) -> (DuplexStream, DuplexStream) {
    if capacity == 0 {
        crate::error::panic_zero_capacity("duplex");
    }
    let (a_writer, b_reader) = pipe(capacity);
    let (b_writer, a_reader) = pipe(capacity);
    (
        DuplexStream {
            reader: a_reader,
            writer: a_writer,
        },
        DuplexStream {
            reader: b_reader,
            writer: b_writer,
        },
    )
}

/// One end of a [`duplex`] transport: reads what the other end writes, writes what it reads.
///
/// It owns this end's [`PipeReader`] (the direction the peer writes) and [`PipeWriter`] (the
/// direction the peer reads); every method is theirs, with the same meaning, errors and
/// cancellation rules, and [`into_split`](Self::into_split) hands them out for use from two
/// tasks.
///
/// - Shutting down (`AsyncWriteExt::shutdown`, futures-io `close`, `Sink::poll_close`) ends this
///   end's writing direction only: the peer drains what was written, then reads end of file;
///   this end can still read, and its own later writes fail with
///   [`io::ErrorKind::BrokenPipe`].
/// - Dropping an end ends both directions: the peer drains, then reads end of file; the peer's
///   writes fail with [`io::ErrorKind::BrokenPipe`]; a peer parked on either direction is woken.
/// - A byte write larger than the room left copies what fits and returns that count; zero-length
///   reads and writes complete at once (a zero-length write in a direction that was shut down,
///   or whose peer is gone, still fails with `BrokenPipe`, as with `tokio::io::duplex`); every
///   poll, zero-length ones included, takes part in Tokio's cooperative budget.
///
/// It is `Send + Sync + Unpin + 'static`.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut left, mut right) = streamview::duplex(1024);
/// let request = Bytes::from(vec![1u8; 100]);
/// left.write_segment(request.clone()).await?;
/// let received = right.read_segment().await?.unwrap();
/// assert_eq!(received.as_ptr(), request.as_ptr()); // the same buffer, both ways
/// right.write_segment(received).await?;
/// assert_eq!(left.read_segment().await?.unwrap().as_ptr(), request.as_ptr());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct DuplexStream {
    /// Reads what the peer's writer sends.
    reader: PipeReader,
    /// Sends to the peer's reader.
    writer: PipeWriter,
}

impl DuplexStream {
    /// Waits for room, then sends `segment` whole to the peer without copying it; returns its
    /// length in bytes. See [`PipeWriter::write_segment`].
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::BrokenPipe`] when the peer was dropped or this end shut down.
    ///
    /// # Cancellation safety
    ///
    /// Not cancellation safe: a segment whose future is dropped while it waits for room is
    /// dropped with it. Wait with [`poll_write_ready`](Self::poll_write_ready) and hand it over
    /// with [`try_write_segment`](Self::try_write_segment) to keep it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut left, mut right) = streamview::duplex(4);
    /// assert_eq!(left.write_segment("larger than capacity").await?, 20);
    /// assert_eq!(right.read_segment().await?.unwrap(), "larger than capacity");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn write_segment(&mut self, segment: impl Into<Bytes>) -> io::Result<usize> {
        self.writer.write_segment(segment).await
    }

    /// Sends `segment` whole to the peer if there is room now; never waits. Returns its length
    /// in bytes. See [`PipeWriter::try_write_segment`].
    ///
    /// # Errors
    ///
    /// [`TryWriteError::Full`] when `capacity` bytes or more are in flight towards the peer,
    /// [`TryWriteError::Closed`] when the peer was dropped or this end shut down; the segment is
    /// handed back either way.
    ///
    /// # Examples
    ///
    /// ```
    /// use streamview::TryWriteError;
    ///
    /// let (mut left, _right) = streamview::duplex(8);
    /// assert_eq!(left.try_write_segment("12345678").unwrap(), 8);
    /// assert!(matches!(left.try_write_segment("9"), Err(TryWriteError::Full(_))));
    /// ```
    pub fn try_write_segment(&mut self, segment: impl Into<Bytes>) -> Result<usize, TryWriteError> {
        self.writer.try_write_segment(segment)
    }

    /// Ready when the direction towards the peer has room for one more segment; otherwise
    /// stores the task's waker for the peer to wake once it has read. See
    /// [`PipeWriter::poll_write_ready`].
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::BrokenPipe`] when the peer was dropped or this end shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut left, _right) = streamview::duplex(16);
    /// poll_fn(|cx| left.poll_write_ready(cx)).await?;
    /// left.try_write_segment("now certain to fit").unwrap();
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_write_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.writer.poll_write_ready(cx)
    }

    /// Waits for bytes from the peer and returns the front segment whole (the very buffer the
    /// peer wrote); `None` once the peer shut down or was dropped and everything was read. See
    /// [`PipeReader::read_segment`].
    ///
    /// # Errors
    ///
    /// None today; the `io::Result` leaves room for errors of future transports.
    ///
    /// # Cancellation safety
    ///
    /// Cancellation safe: nothing is consumed until the future completes.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut left, mut right) = streamview::duplex(1024);
    /// left.write_segment("frame").await?;
    /// drop(left);
    /// assert_eq!(right.read_segment().await?.unwrap(), "frame");
    /// assert_eq!(right.read_segment().await?, None);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_segment(&mut self) -> io::Result<Option<Bytes>> {
        self.reader.read_segment().await
    }

    /// Waits for bytes from the peer and returns at most `max` of them from the front segment
    /// only, no copy; `None` at end of file, an empty chunk at once for `max == 0`. See
    /// [`PipeReader::read_chunk`].
    ///
    /// # Errors
    ///
    /// None today; the `io::Result` leaves room for errors of future transports.
    ///
    /// # Cancellation safety
    ///
    /// Cancellation safe: nothing is consumed until the future completes.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut left, mut right) = streamview::duplex(1024);
    /// left.write_segment("abcdef").await?;
    /// assert_eq!(right.read_chunk(4).await?.unwrap(), "abcd");
    /// assert_eq!(right.read_chunk(4).await?.unwrap(), "ef");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_chunk(&mut self, max: usize) -> io::Result<Option<Bytes>> {
        self.reader.read_chunk(max).await
    }

    /// Waits until `n` bytes from the peer are readable and returns them; fewer only at end of
    /// file (an empty `Bytes` once drained). Zero-copy within one segment, one copy across
    /// segments; `n` may exceed the capacity. See [`PipeReader::read_bytes`].
    ///
    /// # Errors
    ///
    /// None today; the `io::Result` leaves room for errors of future transports.
    ///
    /// # Cancellation safety
    ///
    /// Cancellation safe: bytes gathered before the future is dropped stay, in order, for the
    /// next read.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut left, mut right) = streamview::duplex(1024);
    /// left.write_segment("he").await?;
    /// left.write_segment("llo").await?;
    /// assert_eq!(right.read_bytes(5).await?, "hello");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_bytes(&mut self, n: usize) -> io::Result<Bytes> {
        self.reader.read_bytes(n).await
    }

    /// Waits for a whole line from the peer and returns it, `\n` included; at end of file a last
    /// line without `\n`, then `None`. See [`PipeReader::read_line`].
    ///
    /// # Errors
    ///
    /// None today; the `io::Result` leaves room for errors of future transports.
    ///
    /// # Cancellation safety
    ///
    /// Cancellation safe: the bytes of an unfinished line stay for the next read.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut client, mut server) = streamview::duplex(1024);
    /// client.write_segment("GET / HTTP/1.1\r\nHost: x\r\n").await?;
    /// assert_eq!(server.read_line().await?.unwrap(), "GET / HTTP/1.1\r\n");
    /// assert_eq!(server.read_line().await?.unwrap(), "Host: x\r\n");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_line(&mut self) -> io::Result<Option<Bytes>> {
        self.reader.read_line().await
    }

    /// Splits this end into its reading half and its writing half, owned, for use from two
    /// tasks. Nothing is lost: bytes already received stay in the reader.
    ///
    /// Dropping one half ends only its direction; [`PipeWriter::close`] is this end's shutdown.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let (left, mut right) = streamview::duplex(1024);
    /// let (mut reader, mut writer) = left.into_split();
    /// let sending = tokio::spawn(async move { writer.write_segment("from a task").await });
    /// assert_eq!(right.read_segment().await?.unwrap(), "from a task");
    /// sending.await.unwrap()?;
    /// right.write_segment("back").await?;
    /// assert_eq!(reader.read_segment().await?.unwrap(), "back");
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_split(self) -> (PipeReader, PipeWriter) {
        (self.reader, self.writer)
    }
}

/// Reads what the peer wrote, across segments; `Poll::Pending` (waker stored) while nothing is
/// readable and the peer's writing direction is open; end of file once it shut down or was
/// dropped and everything was read. An empty buffer completes at once.
///
/// # Examples
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut left, mut right) = streamview::duplex(1024);
/// left.write_all(b"0123456789").await?;
/// left.shutdown().await?;
/// let mut received = Vec::new();
/// right.read_to_end(&mut received).await?;
/// assert_eq!(received, b"0123456789");
/// # Ok(())
/// # }
/// ```
impl tokio::io::AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        tokio::io::AsyncRead::poll_read(Pin::new(&mut self.get_mut().reader), cx, buf)
    }
}

/// Lends the front segment received from the peer; `consume` advances past it, clamped to that
/// segment's length as Tokio's `BufReader` clamps to its buffer.
///
/// # Examples
///
/// ```
/// use tokio::io::AsyncBufReadExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut left, right) = streamview::duplex(1024);
/// left.write_segment("alpha\nbeta\n").await?;
/// drop(left);
/// let mut lines = right.lines();
/// assert_eq!(lines.next_line().await?.as_deref(), Some("alpha"));
/// assert_eq!(lines.next_line().await?.as_deref(), Some("beta"));
/// assert_eq!(lines.next_line().await?, None);
/// # Ok(())
/// # }
/// ```
impl tokio::io::AsyncBufRead for DuplexStream {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        tokio::io::AsyncBufRead::poll_fill_buf(Pin::new(&mut self.get_mut().reader), cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        tokio::io::AsyncBufRead::consume(Pin::new(&mut self.get_mut().reader), amt);
    }
}

/// Copies bytes towards the peer, up to the room left (at least 1 byte for non-empty input once
/// there is room; `Poll::Pending` with the waker stored while the direction is full).
/// `poll_write_vectored` copies every slice there is room for, in order; `poll_flush` completes
/// at once; `poll_shutdown` ends this end's writing direction (the peer drains, then reads end of
/// file; this end can still read).
///
/// # Errors
///
/// [`io::ErrorKind::BrokenPipe`] when the peer was dropped or this end shut down.
///
/// # Examples
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut left, mut right) = streamview::duplex(4);
/// assert_eq!(left.write(b"more than four bytes").await?, 4); // what fit
/// left.shutdown().await?;
/// assert_eq!(
///     left.write(b"late").await.unwrap_err().kind(),
///     std::io::ErrorKind::BrokenPipe
/// );
/// let mut text = String::new();
/// right.read_to_string(&mut text).await?;
/// assert_eq!(text, "more");
/// right.write_all(b"ok").await?; // the other direction stays open
/// let mut reply = [0u8; 2];
/// left.read_exact(&mut reply).await?;
/// assert_eq!(&reply, b"ok");
/// # Ok(())
/// # }
/// ```
impl tokio::io::AsyncWrite for DuplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(Pin::new(&mut self.get_mut().writer), cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write_vectored(Pin::new(&mut self.get_mut().writer), cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        tokio::io::AsyncWrite::is_write_vectored(&self.writer)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().writer), cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.get_mut().writer), cx)
    }
}

/// Yields each segment the peer sent, as written (no copy), until end of file.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut left, mut right) = streamview::duplex(1024);
/// left.write_segment("a").await?;
/// left.write_segment("b").await?;
/// drop(left);
/// assert_eq!(right.next().await.unwrap()?, "a");
/// assert_eq!(right.next().await.unwrap()?, "b");
/// assert!(right.next().await.is_none());
/// # Ok(())
/// # }
/// ```
impl futures_core::Stream for DuplexStream {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        futures_core::Stream::poll_next(Pin::new(&mut self.get_mut().reader), cx)
    }
}

/// A sink of segments towards the peer: `poll_ready` waits for room, `start_send` queues the
/// segment whole (no copy), `poll_flush` completes at once, `poll_close` ends this end's writing
/// direction, as `poll_shutdown` does.
///
/// # Errors
///
/// [`io::ErrorKind::BrokenPipe`] when the peer was dropped or this end shut down.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use futures::{SinkExt, StreamExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut left, right) = streamview::duplex(1024);
/// left.send(Bytes::from_static(b"one")).await?;
/// left.send(Bytes::from_static(b"two")).await?;
/// left.close().await?;
/// let segments: Vec<_> = right.map(Result::unwrap).collect().await;
/// assert_eq!(segments, ["one", "two"]);
/// # Ok(())
/// # }
/// ```
impl futures_sink::Sink<Bytes> for DuplexStream {
    type Error = io::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_sink::Sink::<Bytes>::poll_ready(Pin::new(&mut self.get_mut().writer), cx)
    }

    fn start_send(self: Pin<&mut Self>, segment: Bytes) -> io::Result<()> {
        futures_sink::Sink::<Bytes>::start_send(Pin::new(&mut self.get_mut().writer), segment)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_sink::Sink::<Bytes>::poll_flush(Pin::new(&mut self.get_mut().writer), cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_sink::Sink::<Bytes>::poll_close(Pin::new(&mut self.get_mut().writer), cx)
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
/// let (mut left, mut right) = streamview::duplex(1024);
/// left.write_segment("xyz").await?;
/// drop(left);
/// let mut text = String::new();
/// right.read_to_string(&mut text).await?;
/// assert_eq!(text, "xyz");
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "futures-io")]
impl futures_io::AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncRead::poll_read(Pin::new(&mut self.get_mut().reader), cx, buf)
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
/// let (mut left, mut right) = streamview::duplex(1024);
/// left.write_segment("line\n").await?;
/// let mut line = String::new();
/// // The inherent `DuplexStream::read_line` takes precedence; name the trait to reach it.
/// AsyncBufReadExt::read_line(&mut right, &mut line).await?;
/// assert_eq!(line, "line\n");
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "futures-io")]
impl futures_io::AsyncBufRead for DuplexStream {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        futures_io::AsyncBufRead::poll_fill_buf(Pin::new(&mut self.get_mut().reader), cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        futures_io::AsyncBufRead::consume(Pin::new(&mut self.get_mut().reader), amt);
    }
}

/// The same writes as the Tokio `AsyncWrite` (feature `futures-io`); `poll_close` ends this
/// end's writing direction, as `poll_shutdown` does.
///
/// # Errors
///
/// [`io::ErrorKind::BrokenPipe`] when the peer was dropped or this end shut down.
///
/// # Examples
///
/// ```
/// use futures::io::AsyncWriteExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut left, mut right) = streamview::duplex(64);
/// left.write_all(b"abc").await?;
/// left.close().await?;
/// assert_eq!(right.read_bytes(10).await?, "abc");
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "futures-io")]
impl futures_io::AsyncWrite for DuplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write(Pin::new(&mut self.get_mut().writer), cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        futures_io::AsyncWrite::poll_write_vectored(Pin::new(&mut self.get_mut().writer), cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_flush(Pin::new(&mut self.get_mut().writer), cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        futures_io::AsyncWrite::poll_close(Pin::new(&mut self.get_mut().writer), cx)
    }
}
