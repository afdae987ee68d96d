//! A zero-copy, non-blocking byte stream made of [`Bytes`](bytes::Bytes) segments, for Tokio.
//!
//! # Overview
//!
//! [`AsyncStream`] is a queue of [`Bytes`](bytes::Bytes) segments that behaves like a non-blocking pipe: what a
//! writer hands over as a segment is the very buffer a reader gets back, and an empty stream that
//! is still open *would block* instead of reporting end of file. It is the Rust form of the Python
//! package *streamview* (`Stream`: a deque of memoryviews with a `BufferedIOBase` API).
//!
//! One value speaks every I/O dialect of the ecosystem, each as a thin adapter over the same
//! segment queue:
//!
//! - [`bytes::Buf`] and [`bytes::BufMut`]: `chunk` is the front segment, `copy_to_bytes` within a
//!   segment is a refcount bump, `chunks_vectored` hands every segment to a `writev`.
//! - [`std::io::Read`], [`std::io::BufRead`], [`std::io::Write`]: an empty open stream returns
//!   [`std::io::ErrorKind::WouldBlock`]; end of file comes only after [`AsyncStream::close`].
//! - Tokio's `AsyncRead`, `AsyncBufRead` and `AsyncWrite` (feature `tokio`, on by default): an
//!   empty open stream returns `Poll::Pending` and the next write or close wakes the reader.
//! - `futures::io` traits (feature `futures-io`).
//!
//! Across tasks, `pipe` (feature `tokio`) gives a `PipeWriter` and a `PipeReader` that hand
//! segments over with backpressure in bytes; `write_to` and `read_from` move a stream or a pipe to
//! and from sockets with vectored writes. `broadcast` (feature `tokio`) fans one writer out to
//! many readers, each reading the very same buffers at its own pace.
//!
//! Bytes are copied only where a caller asks for contiguity across segments (for example
//! [`AsyncStream::read_bytes`] over a segment boundary), and then exactly once; byte-level writes
//! (`Write`, `BufMut`, `AsyncWrite`) are copied once into a shared write tail, never allocated
//! per write.
//!
//! # Examples
//!
//! The seed package's example, in Rust:
//!
//! ```
//! use streamview::AsyncStream;
//!
//! let mut stream = AsyncStream::new();
//! stream.write_segment("hello");
//! stream.write_segment("world");
//! assert_eq!(
//!     format!("{stream:?}"),
//!     "AsyncStream { segments: 2, len: 10, closed: false }"
//! );
//! assert_eq!(stream.read_bytes(10), "helloworld");
//! ```
//!
//! Zero-copy hand-off: the segment read back is the buffer that was written.
//!
//! ```
//! use bytes::Bytes;
//! use streamview::AsyncStream;
//!
//! let frame = Bytes::from(vec![7u8; 1024]);
//! let mut stream = AsyncStream::new();
//! stream.write_segment(frame.clone());
//! let back = stream.read_segment().unwrap();
//! assert_eq!(back.as_ptr(), frame.as_ptr());
//! ```
//!
//! # Features
//!
//! - `tokio` (default): Tokio I/O traits on [`AsyncStream`], the cross-task pipe and socket helpers.
//! - `futures-io`: the `futures::io` traits on [`AsyncStream`] (and the pipe halves with `tokio`).
//! - `codec`: tokio-util `Encoder` integration.
//!
//! Without default features the crate depends on `bytes` alone and offers the segment queue with
//! `Buf`, `BufMut` and the std I/O traits.
//!
//! # MSRV
//!
//! Built and tested with the stable toolchain of the CI machine (Rust 1.95); no older version is
//! promised yet.

#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod buf;
mod std_io;
mod stream;

#[cfg(feature = "tokio")]
mod broadcast;
#[cfg(feature = "codec")]
mod codec;
#[cfg(feature = "futures-io")]
mod futures_io;
#[cfg(feature = "tokio")]
mod loom;
#[cfg(feature = "tokio")]
mod pipe;
#[cfg(feature = "tokio")]
mod socket;
#[cfg(feature = "tokio")]
mod tokio_io;
#[cfg(feature = "tokio")]
mod waker;

#[cfg(feature = "tokio")]
pub use broadcast::{broadcast, BroadcastReader, BroadcastWriter};
#[cfg(feature = "codec")]
pub use codec::FrameWriter;
#[cfg(feature = "tokio")]
pub use pipe::{pipe, PipeReader, PipeWriter, TryWriteError};
pub use stream::{AsyncStream, ReadSegments, Segments};

/// How many [`std::io::IoSlice`]s one vectored write of the socket helpers passes at most.
///
/// Linux accepts up to 1024 slices per `writev`; 64 keeps the slice array on the stack and is
/// already enough to amortise the system call over many small segments.
///
/// # Examples
///
/// ```
/// assert_eq!(streamview::MAX_WRITE_SLICES, 64);
/// ```
pub const MAX_WRITE_SLICES: usize = 64;

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
