//! Every error constructor and `#[cold]` panic helper of the crate, in the lowest module: the
//! stream, the trait adapters, the socket helpers and the pipe import from here and nothing here
//! imports from them, so each message is written once and no module depends on one above it.

use std::io;

/// Panics for `Buf::advance`/`copy_to_bytes` past the end, naming both numbers.
#[cold]
#[track_caller]
pub(crate) fn panic_advance(requested: usize, available: usize) -> ! {
    panic!("advance out of bounds: cannot advance {requested} bytes, only {available} remaining")
}

/// Panics for `BufMut::advance_mut` past the write tail's spare capacity.
#[cold]
#[track_caller]
pub(crate) fn panic_advance_mut(requested: usize, spare: usize) -> ! {
    panic!(
        "advance_mut out of bounds: cannot commit {requested} bytes, chunk_mut offered only {spare}"
    )
}

/// Panics for a segment-level write after `close()`.
#[cold]
#[track_caller]
pub(crate) fn panic_closed(operation: &str, len: usize) -> ! {
    panic!(
        "{operation} on a closed AsyncStream: close() ended the writer side \
         ({len} bytes are still held and readable)"
    )
}

/// Panics for a write of more bytes than `BufMut::remaining_mut` allows, before any byte moved.
#[cold]
#[track_caller]
pub(crate) fn panic_too_long(operation: &str, requested: usize, limit: usize) -> ! {
    panic!(
        "{operation} of {requested} bytes exceeds the stream's limit: only {limit} more bytes fit \
         (isize::MAX in all); nothing was written"
    )
}

/// The error byte-level writes return after `AsyncStream::close`.
#[cold]
pub(crate) fn closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "write to a closed AsyncStream: close() ended the writer side",
    )
}

/// The error `read_from` gives for `max == 0`, for the stream and the pipe alike.
#[cfg(feature = "tokio")]
#[cold]
pub(crate) fn zero_max_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "read_from with max == 0: a zero-byte read cannot be told apart from end of file",
    )
}

/// Panics for `BufMut::put` of a `Buf` whose `chunk()` is empty while it claims bytes remain.
#[cold]
#[track_caller]
pub(crate) fn panic_lying_buf(remaining: usize) -> ! {
    panic!(
        "BufMut::put: the source Buf reports {remaining} bytes remaining but its chunk() is \
         empty; nothing was written"
    )
}

/// Panics for a zero capacity given to `pipe`, `duplex` or `broadcast` (`kind` names which).
#[cfg(feature = "tokio")]
#[cold]
#[track_caller]
pub(crate) fn panic_zero_capacity(kind: &str) -> ! {
    panic!("{kind} capacity must be at least 1 byte, got 0: no write could ever find room")
}

/// The error a pipe write gets once the reader is gone.
#[cfg(feature = "tokio")]
pub(crate) fn reader_gone_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "write to a pipe whose reader was dropped",
    )
}

/// The error a pipe write gets after the writer closed the pipe.
#[cfg(feature = "tokio")]
pub(crate) fn writer_closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "write to a closed pipe: close() ended the writer side",
    )
}

/// The error a broadcast write gets while no reader is left.
#[cfg(feature = "tokio")]
pub(crate) fn no_readers_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "write to a broadcast whose readers were all dropped",
    )
}

/// The error a broadcast write gets after the writer closed the broadcast.
#[cfg(feature = "tokio")]
pub(crate) fn broadcast_closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "write to a closed broadcast: close() ended the writer side",
    )
}
