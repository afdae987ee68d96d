//! Tokio's `AsyncRead`, `AsyncBufRead` and `AsyncWrite` for [`AsyncStream`]: the std semantics,
//! with `Poll::Pending` (waker stored) where std says `WouldBlock`.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Buf;
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, ReadBuf};

use crate::stream::{put_in_pieces, AsyncStream};

/// Fills the `ReadBuf` across segments. An empty open stream is `Poll::Pending` with the waker
/// stored; the next write or close wakes it. An empty closed stream is EOF.
///
/// # Examples
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (mut reader, mut writer) = tokio::io::split(streamview::AsyncStream::new());
/// let task = tokio::spawn(async move {
///     let mut text = String::new();
///     reader.read_to_string(&mut text).await.map(|_| text)
/// });
/// writer.write_all(b"hello ").await?;
/// writer.write_all(b"world").await?;
/// writer.shutdown().await?; // closes: the reader sees EOF after the bytes
/// assert_eq!(task.await.unwrap()?, "hello world");
/// # Ok(())
/// # }
/// ```
impl AsyncRead for AsyncStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        ready!(this.poll_readable(cx));
        this.read_to(buf.remaining(), |chunk| put_in_pieces(buf, chunk));
        Poll::Ready(Ok(()))
    }
}

/// `poll_fill_buf` returns the front segment without copying; `consume` skips `amt` bytes, across
/// segments if `amt` is longer than the front one, clamped to what is held, as `Buf::advance`
/// would without its panic. (Tokio's `BufReader` clamps to the buffer it lent, and so do the
/// pipe's and broadcast's readers, whose held bytes depend on timing.)
///
/// # Examples
///
/// ```
/// use tokio::io::AsyncBufReadExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mut stream = streamview::AsyncStream::from("one\ntwo");
/// stream.close();
/// let mut lines = stream.lines();
/// assert_eq!(lines.next_line().await?.as_deref(), Some("one"));
/// assert_eq!(lines.next_line().await?.as_deref(), Some("two"));
/// assert_eq!(lines.next_line().await?, None);
/// # Ok(())
/// # }
/// ```
impl AsyncBufRead for AsyncStream {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        ready!(this.poll_readable(cx));
        Poll::Ready(Ok(Buf::chunk(&*this)))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().skip(amt);
    }
}

/// Never pending: the stream is unbounded (use [`pipe`](crate::pipe) for backpressure). Writes copy
/// into the shared write tail; `poll_write_vectored` writes every slice; `poll_shutdown` closes.
///
/// # Errors
///
/// [`io::ErrorKind::BrokenPipe`] after close.
///
/// # Examples
///
/// ```
/// use tokio::io::AsyncWriteExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mut stream = streamview::AsyncStream::new();
/// stream.write_all(b"bytes").await?;
/// stream.shutdown().await?;
/// assert!(stream.is_closed());
/// assert_eq!(stream, b"bytes");
/// # Ok(())
/// # }
/// ```
impl AsyncWrite for AsyncStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.get_mut().write_bytes(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(self.get_mut().write_bytes_vectored(bufs))
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
