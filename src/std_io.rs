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
/// it again once more is written), `UnexpectedEof` once it is closed. `read_to_string` of an open
/// stream appends what is held, then fails with `WouldBlock` (an incomplete character at the end
/// stays held); bytes that are not UTF-8 give `InvalidData` and stay held.
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

    /// Appends every byte held as text: `Ok` once the stream is closed; while it is open, what
    /// is held and then `WouldBlock`, as std's `read_to_end` does here, except that an incomplete
    /// character at the end stays held for the bytes that complete it (std's default would drop
    /// every byte it had read). Bytes that are not UTF-8 give `InvalidData` and stay held.
    fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        let closed = self.is_closed();
        let taken = self.take_text(self.len(), buf, !closed)?;
        if closed {
            Ok(taken)
        } else {
            Err(io::ErrorKind::WouldBlock.into())
        }
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
/// an empty slice (EOF) when it is empty and closed. `read_line` (this trait's, which the
/// inherent [`AsyncStream::read_line`] shadows: call it as `BufRead::read_line`, or through
/// `lines()`) of an open stream holding no whole line appends what is held, then fails with
/// `WouldBlock`, keeping an incomplete character at the end held; a line that is not UTF-8 gives
/// `InvalidData` and stays held.
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

    /// Appends the next line, `\n` included, or once the stream is closed the rest; while it is
    /// open and holds no whole line, what is held and then `WouldBlock` (as std's default does
    /// here), except that an incomplete character at the end stays held. A line that is not
    /// UTF-8 gives `InvalidData` and stays held (std's default would drop it, and an incomplete
    /// character with it).
    fn read_line(&mut self, buf: &mut String) -> io::Result<usize> {
        match self.find_newline() {
            Some(newline_at) => self.take_text(newline_at + 1, buf, false),
            // No whole line: the rest once closed, else what is held and `WouldBlock`.
            None => self.read_to_string(buf),
        }
    }
}

impl AsyncStream {
    /// Appends the first `n` bytes held (`n <= len()`) to `buf` as text and consumes them. With
    /// `partial`, an incomplete character at their end is left held, for the bytes that complete
    /// it. Bytes that are not UTF-8 give `InvalidData`, and nothing is appended or consumed.
    fn take_text(&mut self, n: usize, buf: &mut String, partial: bool) -> io::Result<usize> {
        let bytes = self.copy_front(n);
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(error) if partial && error.error_len().is_none() => {
                std::str::from_utf8(&bytes[..error.valid_up_to()]).expect("valid up to there")
            }
            Err(error) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("stream did not contain valid UTF-8 ({error}); nothing was consumed"),
                ))
            }
        };
        buf.push_str(text);
        self.skip(text.len());
        Ok(text.len())
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
