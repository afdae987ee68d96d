//! `futures::io::{AsyncRead, AsyncBufRead, AsyncWrite}` for [`AsyncStream`] (feature
//! `futures-io`): the same core operations as the Tokio adapters.

use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Buf;
use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use crate::stream::AsyncStream;

/// Fills the buffer across segments; `Poll::Pending` (waker stored) when empty and open, `Ok(0)`
/// at EOF. `poll_read_vectored` fills every buffer in order.
///
/// # Examples
///
/// ```
/// use futures::io::AsyncReadExt;
///
/// futures::executor::block_on(async {
///     let mut stream = streamview::AsyncStream::from("abc");
///     stream.close();
///     let mut text = String::new();
///     stream.read_to_string(&mut text).await.unwrap();
///     assert_eq!(text, "abc");
/// });
/// ```
impl AsyncRead for AsyncStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        ready!(this.poll_readable(cx));
        Poll::Ready(this.read_into(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if bufs.iter().all(|buf| buf.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        ready!(this.poll_readable(cx));
        Poll::Ready(this.read_into_vectored(bufs))
    }
}

/// `poll_fill_buf` returns the front segment without copying; `consume` advances, clamped to
/// what is held.
///
/// # Examples
///
/// ```
/// use futures::io::AsyncBufReadExt;
///
/// futures::executor::block_on(async {
///     let mut stream = streamview::AsyncStream::from("line\n");
///     let mut line = String::new();
///     // The inherent `AsyncStream::read_line` takes precedence; name the trait to reach it.
///     AsyncBufReadExt::read_line(&mut stream, &mut line).await.unwrap();
///     assert_eq!(line, "line\n");
/// });
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

/// Never pending; `poll_close` closes the stream.
///
/// # Errors
///
/// [`io::ErrorKind::BrokenPipe`] after close.
///
/// # Examples
///
/// ```
/// use futures::io::AsyncWriteExt;
///
/// futures::executor::block_on(async {
///     let mut stream = streamview::AsyncStream::new();
///     stream.write_all(b"abc").await.unwrap();
///     AsyncWriteExt::close(&mut stream).await.unwrap(); // the trait's close, by name
///     assert!(stream.is_closed());
/// });
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

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncStream::close(self.get_mut());
        Poll::Ready(Ok(()))
    }
}
