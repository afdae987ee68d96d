//! The pipe's socket forms: [`PipeReader::write_to`] (pipe to socket, the common server shape)
//! and [`PipeWriter::read_from`] (socket to pipe). Both reuse the single-owner stream's socket
//! steps (`AsyncStream::poll_write_step`, `AsyncStream::poll_read_from`) on a stream the half
//! owns, so no system call ever runs under the pipe's lock.

use std::future::poll_fn;
use std::io;
use std::mem;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::coop;

use crate::coop::BatchedReader;
use crate::error::zero_max_error;
use crate::pipe::reader::PipeReader;
use crate::pipe::writer::PipeWriter;

impl PipeReader {
    /// Writes everything the pipe delivers to `dst` until end of file, and returns how many bytes
    /// were written. Segments go out as `AsyncStream::write_to` sends them: vectored, up to
    /// [`MAX_WRITE_SLICES`](crate::MAX_WRITE_SLICES) per call, small ones coalesced, large ones
    /// from their own buffers.
    ///
    /// Whenever the pipe runs dry it flushes `dst` before waiting (as `tokio::io::copy` does),
    /// so a buffered `dst` never sits on bytes while the writer is idle. It does not flush at
    /// end of file: flush or shut down `dst` as the protocol needs.
    ///
    /// # Errors
    ///
    /// The first error of `dst`, as `AsyncStream::write_to` reports it (`WriteZero` when `dst`
    /// accepts 0 bytes). Bytes not written stay in the reader, in order, for the next read.
    ///
    /// # Cancellation safety
    ///
    /// Cancel safe: bytes written have left the pipe, the rest stay readable; only the returned
    /// count is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut reader) = streamview::pipe(64 * 1024);
    /// let producer = tokio::spawn(async move {
    ///     for frame in ["HTTP/1.1 200 OK\r\n", "\r\n", "hello"] {
    ///         writer.write_segment(frame).await?;
    ///     }
    ///     std::io::Result::Ok(()) // dropping the writer ends the pipe
    /// });
    /// let mut socket = Vec::new(); // a TcpStream in a server
    /// assert_eq!(reader.write_to(&mut socket).await?, 24);
    /// assert_eq!(socket, b"HTTP/1.1 200 OK\r\n\r\nhello");
    /// producer.await.unwrap()?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn write_to<W>(&mut self, dst: &mut W) -> io::Result<usize>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let mut written = 0;
        let mut unflushed = false;
        poll_fn(|cx| loop {
            let local = match self.poll_local_stream(cx) {
                Poll::Ready(local) => local,
                Poll::Pending => {
                    if unflushed {
                        ready!(Pin::new(&mut *dst).poll_flush(cx))?;
                        unflushed = false;
                    }
                    return Poll::Pending;
                }
            };
            if local.is_empty() {
                return Poll::Ready(Ok(written));
            }
            let step = ready!(local.poll_write_step(cx, Pin::new(&mut *dst)));
            self.report_consumed();
            written += step?;
            unflushed = true;
        })
        .await
    }
}

impl PipeWriter {
    /// Reads once from `src` into the pipe, at most `max` bytes and at most the room left, and
    /// returns how many were read; waits for room first. The bytes land in large blocks owned by
    /// the writer (see `AsyncStream::read_from`) and are queued as segments with no copy.
    /// `Ok(0)` means `src` is at end of file: the pipe is then closed, so the reader sees end of
    /// file after what is queued.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::InvalidInput`] when `max` is 0 (a zero-byte read could not be told
    /// apart from end of file); [`io::ErrorKind::BrokenPipe`] when the pipe is closed or the
    /// reader is gone (bytes read in the same call are dropped with it: nobody can receive
    /// them); any error of `src`.
    ///
    /// # Cancellation safety
    ///
    /// Cancel safe: a read either completes and is queued within one poll, or has not happened.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, mut reader) = streamview::pipe(64 * 1024);
    /// let mut socket: &[u8] = b"bytes from a socket"; // a TcpStream in a server
    /// while writer.read_from(&mut socket, 8 * 1024).await? > 0 {}
    /// assert_eq!(reader.read_bytes(100).await?, "bytes from a socket"); // shorter only at EOF
    /// # Ok(())
    /// # }
    /// ```
    pub async fn read_from<R>(&mut self, src: &mut R, max: usize) -> io::Result<usize>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        poll_fn(|cx| self.poll_read_from(cx, Pin::new(&mut *src), max)).await
    }

    /// The poll form of [`read_from`](Self::read_from): `Pending` while the pipe is full or `src`
    /// has nothing, with wakers left for both.
    ///
    /// # Errors
    ///
    /// As [`read_from`](Self::read_from).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    ///
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let (mut writer, reader) = streamview::pipe(1024);
    /// let mut src: &[u8] = b"abc";
    /// let n = poll_fn(|cx| writer.poll_read_from(cx, Pin::new(&mut src), 2)).await?;
    /// assert_eq!(n, 2);
    /// assert_eq!(reader.len(), 2);
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
        let budget = ready!(coop::poll_proceed(cx));
        // Room is checked before reading: bytes read from a socket must have somewhere to go.
        // Only the reader changes the room after this, and only by making more.
        let room = match self.write_with(Some(cx.waker()), max, |_queue, room| room) {
            Ok(room) => room,
            Err(refusal) => {
                return match refusal.into_io_error() {
                    Some(error) => Poll::Ready(Err(error)),
                    None => Poll::Pending,
                }
            }
        };
        let read = ready!(self.read_staging.poll_read_from(cx, src, max.min(room)))?;
        budget.made_progress();
        if read == 0 {
            self.close();
            return Poll::Ready(Ok(0));
        }
        let mut staged = mem::take(&mut self.read_staging);
        let queued = self.write_with(None, 1, |queue, _room| queue.append(&mut staged));
        // The staging stream keeps its read block (the tail's spare room) for the next call.
        self.read_staging = staged;
        match queued {
            Ok(_) => Poll::Ready(Ok(read)),
            Err(refusal) => {
                self.read_staging.clear();
                Poll::Ready(Err(refusal
                    .into_io_error()
                    .unwrap_or_else(|| unreachable!("room only grows for the writer"))))
            }
        }
    }
}
