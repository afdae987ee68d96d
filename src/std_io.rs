//! `std::io::{Read, BufRead, Write}` for [`AsyncStream`]: thin adapters over the core reads and
//! writes, with the non-blocking contract (an empty open stream is `WouldBlock`, never EOF).

use std::fmt;
use std::io::{self, BufRead, IoSlice, IoSliceMut, Read, Write};

use bytes::Buf;

use crate::error::closed_error;
use crate::stream::AsyncStream;

/// Fills the caller's buffer across segments until it is full or the stream is drained (Python
/// streamview's `readinto`); `read_vectored` fills every buffer in order, as `std::io::Cursor` does.
///
/// # Errors
///
/// [`io::ErrorKind::WouldBlock`] when the stream is empty and still open. An empty closed stream
/// reads `Ok(0)`, and so does an empty buffer. `read_exact` is all or nothing: with fewer bytes
/// held than it wants it consumes none and fails with `WouldBlock` while the stream is open (call
/// it again once more is written), `UnexpectedEof` once it is closed.
///
/// # Examples
///
/// ```
/// use std::io::{ErrorKind, Read};
///
/// let mut stream = streamview::AsyncStream::new();
/// stream.write_segments(["ab", "cd"]);
/// let mut buf = [0u8; 3];
/// assert_eq!(stream.read(&mut buf).unwrap(), 3);
/// assert_eq!(&buf, b"abc");
/// assert_eq!(stream.read(&mut buf).unwrap(), 1);
/// assert_eq!(stream.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
///
/// stream.write_segment("abcde");
/// let (mut head, mut body) = ([0u8; 2], [0u8; 8]);
/// let mut bufs = [std::io::IoSliceMut::new(&mut head), std::io::IoSliceMut::new(&mut body)];
/// assert_eq!(stream.read_vectored(&mut bufs).unwrap(), 5);
/// assert_eq!((&head, &body[..3]), (b"ab", &b"cde"[..]));
/// ```
impl Read for AsyncStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_into(buf)
    }

    /// All or nothing: with fewer bytes held than `buf` wants, fails without consuming any
    /// ([`io::ErrorKind::WouldBlock`] while the stream is open, so the call can be made again
    /// once more is written; [`io::ErrorKind::UnexpectedEof`] once it is closed). std's default
    /// would consume what is held first and lose it with the error.
    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let held = self.len();
        if held < buf.len() {
            let (kind, state) = if self.is_closed() {
                (io::ErrorKind::UnexpectedEof, "closed")
            } else {
                (io::ErrorKind::WouldBlock, "open")
            };
            return Err(io::Error::new(
                kind,
                format!(
                    "read_exact: {} bytes wanted, {held} held by the {state} stream (none consumed)",
                    buf.len()
                ),
            ));
        }
        let read = self.read_into(buf)?;
        debug_assert_eq!(read, buf.len());
        Ok(())
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.read_into_vectored(bufs)
    }
}

/// `fill_buf` returns the front segment without copying; `consume` skips `amt` bytes, across
/// segments if `amt` is longer than the front one, clamped to what is held, as `std::io::Cursor`
/// does (whose `fill_buf` lends everything it holds).
///
/// # Errors
///
/// `fill_buf` returns [`io::ErrorKind::WouldBlock`] when the stream is empty and still open, and
/// an empty slice (EOF) when it is empty and closed.
///
/// # Examples
///
/// ```
/// use std::io::BufRead;
///
/// let mut stream = streamview::AsyncStream::new();
/// stream.write_segments(["ab", "cd"]);
/// assert_eq!(stream.fill_buf().unwrap(), b"ab");
/// stream.consume(1);
/// assert_eq!(stream.fill_buf().unwrap(), b"b");
/// stream.consume(100); // past the end: empties the stream
/// assert!(stream.is_empty());
/// ```
impl BufRead for AsyncStream {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.is_empty() && !self.is_closed() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(Buf::chunk(&*self))
    }

    fn consume(&mut self, amt: usize) {
        self.skip(amt);
    }
}

/// Copies the bytes into the shared write tail; `write_vectored` writes every slice.
///
/// # Errors
///
/// [`io::ErrorKind::BrokenPipe`] after [`AsyncStream::close`]; what the stream holds stays
/// readable.
///
/// # Panics
///
/// When the bytes would take the stream past `isize::MAX` bytes: the message names the count
/// and the limit, and nothing is written.
///
/// # Examples
///
/// ```
/// use std::io::{IoSlice, Write};
///
/// let mut stream = streamview::AsyncStream::new();
/// stream.write_all(b"head ").unwrap();
/// let n = stream.write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")]).unwrap();
/// assert_eq!(n, 2);
/// assert_eq!(stream, b"head ab");
/// ```
impl Write for AsyncStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_bytes(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.write_bytes_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Writes the whole text or nothing (the default writes piece by piece and keeps the pieces
    /// written before a `Display` fails or panics).
    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        if self.is_closed() {
            return Err(closed_error());
        }
        fmt::Write::write_fmt(self, args)
            .map_err(|fmt::Error| io::Error::new(io::ErrorKind::Other, "formatter error"))
    }
}
