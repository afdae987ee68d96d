//! Socket helpers for [`AsyncStream`]: vectored flushing into any Tokio `AsyncWrite`
//! ([`write_to`](AsyncStream::write_to)) and reads from any `AsyncRead` straight into segments
//! ([`read_from`](AsyncStream::read_from)).
//!
//! One flush step (`AsyncStream::poll_write_step`, crate-private) is the unit every writer
//! shares: the stream's own `write_to` and the codec's `FrameWriter` drive it, and so can the
//! pipe reader over its local stream.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Buf;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::io::poll_read_buf;

use crate::error::{closed_error, zero_max_error};
use crate::stream::{AsyncStream, MAX_WRITE_SLICES};

/// Most bytes of small segments merged into one buffer: one merged segment is then large enough
/// that the system call, not the copy, dominates its cost.
const COALESCE_BLOCK: usize = 64 * 1024;

/// Bytes one flush step prepares at most before it stops merging small segments. A socket's send
/// buffer takes a few hundred KiB per call at best, so merging further ahead only moves copies
/// earlier and holds memory twice for longer.
const FLUSH_BATCH_BYTES: usize = 256 * 1024;

/// The block `read_from` reads into: a reader gets up to this many bytes per system call, and
/// consecutive short reads share one allocation (and so one segment).
const READ_BLOCK: usize = 64 * 1024;

/// `read_from` starts a new block when the current one has less spare room than this (or than
/// the `max` asked for, when smaller), so a nearly full block never turns into a tiny read.
const READ_MIN_SPARE: usize = 4 * 1024;

impl AsyncStream {
    /// Segments shorter than this many bytes are merged with their small neighbours into one
    /// buffer when the stream is flushed by [`write_to`](Self::write_to); longer ones are handed
    /// to `writev` as their own slices, never copied.
    ///
    /// Below this size one copy costs less than an iovec of its own (the kernel's per-slice
    /// work and the short socket writes it causes); above it the copy costs more. Measured with
    /// `benches/write_to.rs` on a Unix socket (see the README's table).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(streamview::AsyncStream::COALESCE_THRESHOLD, 2048);
    /// ```
    pub const COALESCE_THRESHOLD: usize = 2 * 1024;

    /// Writes every held byte to `dst` and returns how many were written. Does not flush `dst`.
    ///
    /// Segments go out with `poll_write_vectored`, up to [`MAX_WRITE_SLICES`] per call, when
    /// `dst.is_write_vectored()`, otherwise one `poll_write` of the front segment per call.
    /// Small segments (below [`COALESCE_THRESHOLD`](Self::COALESCE_THRESHOLD)) are first merged
    /// into one buffer, so many tiny frames cost one copy and one system call rather than an
    /// iovec each; large segments are written from their own buffers, zero-copy. The stream
    /// advances by exactly what `dst` accepted: a short write loses and repeats nothing.
    ///
    /// # Errors
    ///
    /// The first error of `dst` other than [`io::ErrorKind::Interrupted`] (which is retried);
    /// [`io::ErrorKind::WriteZero`] when `dst` accepts 0 bytes; [`io::ErrorKind::InvalidData`]
    /// when `dst` claims to have written more than it was offered. Bytes written before the
    /// error have left the stream; every byte not written is still in it, in order.
    ///
    /// # Cancellation safety
    ///
    /// Cancel safe: dropping the future loses no data. What was written has left the stream, the
    /// rest stays queued for the next call; only the returned count is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use streamview::AsyncStream;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut stream = AsyncStream::new();
    /// stream.write_segments(["HTTP/1.1 200 OK\r\n", "\r\n", "body"]);
    /// let mut socket = Vec::new(); // any tokio AsyncWrite: a TcpStream, a UnixStream...
    /// assert_eq!(stream.write_to(&mut socket).await?, 23);
    /// assert!(stream.is_empty());
    /// assert_eq!(socket, b"HTTP/1.1 200 OK\r\n\r\nbody");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn write_to<W>(&mut self, dst: &mut W) -> io::Result<usize>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let mut written = 0;
        poll_fn(|cx| {
            while !self.is_empty() {
                written += ready!(self.poll_write_step(cx, Pin::new(&mut *dst)))?;
            }
            Poll::Ready(Ok(written))
        })
        .await
    }

    /// Writes held bytes to `dst` until `dst` is pending or the stream is empty: the poll form
    /// of [`write_to`](Self::write_to), for hand-written futures and `AsyncWrite` adapters.
    ///
    /// Returns `Ready(Ok(n))` once anything was written (`n` bytes, in as many calls as `dst`
    /// took before it was pending) or when the stream is empty (`n == 0`). Returns `Pending`,
    /// with `cx`'s waker registered by `dst`, only when nothing could be written.
    ///
    /// # Errors
    ///
    /// As [`write_to`](Self::write_to): an error is returned as soon as `dst` reports it, even
    /// after some bytes were written in the same poll; those have left the stream, the rest
    /// stays in it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut stream = streamview::AsyncStream::from("ping\n");
    /// let mut socket = Vec::new();
    /// let n = poll_fn(|cx| stream.poll_write_to(cx, Pin::new(&mut socket))).await?;
    /// assert_eq!(n, 5);
    /// assert_eq!(socket, b"ping\n");
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_write_to<W>(
        &mut self,
        cx: &mut Context<'_>,
        mut dst: Pin<&mut W>,
    ) -> Poll<io::Result<usize>>
    where
        W: AsyncWrite + ?Sized,
    {
        let mut written = 0;
        while !self.is_empty() {
            match self.poll_write_step(cx, dst.as_mut()) {
                Poll::Ready(Ok(n)) => written += n,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending if written == 0 => return Poll::Pending,
                Poll::Pending => break,
            }
        }
        Poll::Ready(Ok(written))
    }

    /// One flush step: merges the small segments at the front of the next batch, offers the
    /// batch to `dst` in one call (retrying `Interrupted`) and advances by what `dst` took.
    ///
    /// The stream must not be empty. Shared by `write_to` and `FrameWriter` (and meant for the
    /// pipe reader), so every writer of the crate flushes the same way.
    pub(crate) fn poll_write_step<W>(
        &mut self,
        cx: &mut Context<'_>,
        mut dst: Pin<&mut W>,
    ) -> Poll<io::Result<usize>>
    where
        W: AsyncWrite + ?Sized,
    {
        debug_assert!(!self.is_empty(), "poll_write_step on an empty stream");
        let vectored = dst.is_write_vectored();
        let batch = self.coalesce_small_segments(if vectored { MAX_WRITE_SLICES } else { 1 });
        loop {
            let (offered, result) = if vectored {
                let mut slices = [IoSlice::new(&[]); MAX_WRITE_SLICES];
                let count = self.chunks_vectored(&mut slices[..batch]);
                let offered = slices[..count].iter().map(|slice| slice.len()).sum();
                (
                    offered,
                    dst.as_mut().poll_write_vectored(cx, &slices[..count]),
                )
            } else {
                let chunk = self.chunk();
                (chunk.len(), dst.as_mut().poll_write(cx, chunk))
            };
            return match ready!(result) {
                Ok(0) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("write_to: the writer accepted 0 of {offered} bytes offered"),
                ))),
                Ok(n) if n > offered => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "write_to: the writer reported {n} bytes written but was offered only \
                         {offered}; nothing was consumed"
                    ),
                ))),
                Ok(n) => {
                    self.advance(n);
                    Poll::Ready(Ok(n))
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => Poll::Ready(Err(error)),
            };
        }
    }

    /// Merges each run of adjacent segments shorter than `COALESCE_THRESHOLD` among the first
    /// `max_slices` (up to `COALESCE_BLOCK` bytes per merged segment) into one fresh segment, in
    /// place, and returns how many slices the next write should offer (at most `max_slices`).
    ///
    /// Merging stops once `FLUSH_BATCH_BYTES` are prepared: the batch then ends before the next
    /// run that would need merging, so unmerged small segments never ride along as iovecs of
    /// their own, while large segments (no copy to prepare) still fill the remaining slices.
    ///
    /// Works on the queue itself rather than a staging buffer: content, order and `len` are
    /// unchanged, so a short or failed write that follows simply advances the stream, with no
    /// second buffer to keep consistent across `Pending`. The write tail is left alone: it is
    /// already one contiguous slice.
    fn coalesce_small_segments(&mut self, max_slices: usize) -> usize {
        let mut index = 0;
        let mut batch_bytes = 0;
        while index < max_slices.min(self.frozen_segments().len()) {
            let mut run_end = index;
            let mut run_bytes = 0;
            for segment in self.frozen_segments().range(index..) {
                if segment.len() >= Self::COALESCE_THRESHOLD
                    || run_bytes + segment.len() > COALESCE_BLOCK
                {
                    break;
                }
                run_bytes += segment.len();
                run_end += 1;
            }
            if run_end - index >= 2 {
                if batch_bytes >= FLUSH_BATCH_BYTES {
                    return index;
                }
                self.merge_segments(index..run_end);
            }
            batch_bytes += self.frozen_segments()[index].len();
            index += 1;
        }
        // The write tail is the last slice when every frozen segment fits.
        let frozen = self.frozen_segments().len();
        if index == frozen && index < max_slices && self.num_segments() > frozen {
            index += 1;
        }
        index.max(1)
    }

    /// Reads at most `max` bytes from `src` with one `poll_read` into the write tail's spare
    /// capacity and returns how many were read; `Ok(0)` is end of file and closes the stream.
    ///
    /// The bytes land in place and are read back as segments with no copy. The tail is reserved
    /// in blocks of 64 KiB, not per call: consecutive short reads fill one block and come back
    /// as one segment, and a read never gets fewer than 4 KiB of room (or `max`, if smaller).
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] when `max == 0` (a zero-byte read cannot tell end of file
    /// apart), [`io::ErrorKind::BrokenPipe`] when the stream is closed, and any error of `src`.
    /// On error the stream is unchanged, tail and spare room included, even when `src` filled
    /// part of the buffer before failing: those bytes are dropped.
    ///
    /// # Panics
    ///
    /// Panics when `src` replaces the `ReadBuf` it was given by another buffer (a broken
    /// `AsyncRead`), since the bytes it reports would not be in the stream.
    ///
    /// # Cancellation safety
    ///
    /// Cancel safe: one `poll_read` either completes (the bytes are in the stream) or reads
    /// nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut socket: &[u8] = b"GET / HTTP/1.1\r\n"; // any tokio AsyncRead
    /// let mut stream = streamview::AsyncStream::new();
    /// assert_eq!(stream.read_from(&mut socket, 4).await?, 4);
    /// assert_eq!(stream.read_from(&mut socket, 1024).await?, 12);
    /// assert_eq!(stream.num_segments(), 1); // both reads share one block
    /// assert_eq!(stream.read_from(&mut socket, 1024).await?, 0); // end of file
    /// assert!(stream.is_closed());
    /// assert_eq!(stream.read_line().unwrap(), "GET / HTTP/1.1\r\n");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_from<R>(&mut self, src: &mut R, max: usize) -> io::Result<usize>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        poll_fn(|cx| self.poll_read_from(cx, Pin::new(&mut *src), max)).await
    }

    /// The poll form of [`read_from`](Self::read_from): one `poll_read` of at most `max` bytes
    /// from `src` into the write tail.
    ///
    /// # Errors
    ///
    /// As [`read_from`](Self::read_from).
    ///
    /// # Panics
    ///
    /// As [`read_from`](Self::read_from).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut socket: &[u8] = b"pong\n";
    /// let mut stream = streamview::AsyncStream::new();
    /// let n = poll_fn(|cx| stream.poll_read_from(cx, Pin::new(&mut socket), 64)).await?;
    /// assert_eq!(n, 5);
    /// assert_eq!(stream, b"pong\n");
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_read_from<R>(
        &mut self,
        cx: &mut Context<'_>,
        src: Pin<&mut R>,
        max: usize,
    ) -> Poll<io::Result<usize>>
    where
        R: AsyncRead + ?Sized,
    {
        if max == 0 {
            return Poll::Ready(Err(zero_max_error()));
        }
        if self.is_closed() {
            return Poll::Ready(Err(closed_error()));
        }
        // The bytes land in the tail's spare room only once the read succeeded: on `Pending` or
        // an error (even after `src` filled part of the buffer) the stream is as it was, and a
        // fresh block is only kept once it holds bytes.
        let read =
            self.fill_spare(
                max.min(READ_MIN_SPARE),
                READ_BLOCK,
                max,
                |room| match poll_read_buf(Pin::new(&mut KeepsReadBuf(src)), cx, room) {
                    Poll::Ready(Ok(n)) => Ok(Poll::Ready(n)),
                    Poll::Ready(Err(error)) => Err(error),
                    Poll::Pending => Ok(Poll::Pending),
                },
            );
        let n = ready!(read?);
        if n == 0 {
            self.close();
        }
        Poll::Ready(Ok(n))
    }
}

/// The source of a `read_from`, checked: a `poll_read` that replaces the `ReadBuf` it was lent
/// reports bytes that are not in the stream's spare room. tokio-util's `poll_read_buf` asserts
/// the same but names only two pointers; this panics first, naming the call and the cause.
struct KeepsReadBuf<'a, R: ?Sized>(Pin<&'a mut R>);

impl<R: AsyncRead + ?Sized> AsyncRead for KeepsReadBuf<'_, R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let lent = buf.filled().as_ptr();
        let capacity = buf.capacity();
        let result = self.0.as_mut().poll_read(cx, buf);
        let now = buf.filled().as_ptr();
        assert!(
            now == lent,
            "read_from: the source's poll_read replaced the ReadBuf it was lent ({capacity} bytes \
             at {lent:p}) by another buffer ({} bytes at {now:p}), a broken AsyncRead: the {} \
             bytes it reports are not in the stream",
            buf.capacity(),
            buf.filled().len(),
        );
        result
    }
}
