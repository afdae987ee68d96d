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
//! # Which type do I need?
//!
//! - **One owner, bytes in and out in one place** (a parser's input buffer, frames queued before a
//!   write): [`AsyncStream`]. It is the Python package streamview's `Stream`; the example there
//!   reads the same in Rust:
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
//! - **Two tasks, bytes going one way**, with backpressure in bytes: `pipe(capacity)` (feature
//!   `tokio`) gives a `PipeWriter` and a `PipeReader`; a segment written is the very buffer read.
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let (mut writer, mut reader) = streamview::pipe(64 * 1024);
//! let producer = tokio::spawn(async move {
//!     writer.write_segment("frame one").await?;
//!     writer.write_segment("frame two").await // dropping the writer then ends the pipe
//! });
//! assert_eq!(reader.read_segment().await?.unwrap(), "frame one");
//! assert_eq!(reader.read_segment().await?.unwrap(), "frame two");
//! assert_eq!(reader.read_segment().await?, None);
//! producer.await.unwrap()?;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "tokio"))]
//! # fn main() {}
//! ```
//!
//! - **Flushing queued segments to a socket**: `AsyncStream::write_to` (feature `tokio`) sends
//!   them with vectored writes, up to [`MAX_WRITE_SLICES`] segments per call, without copying
//!   large ones; `FrameWriter` (feature `codec`) does the same for a tokio-util `Encoder`'s frames
//!   with payloads passed through whole.
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use streamview::AsyncStream;
//!
//! let mut stream = AsyncStream::new();
//! stream.write_segment("HTTP/1.1 200 OK\r\n\r\n");
//! stream.write_segment(vec![b'x'; 64 * 1024]); // sent from its own buffer
//! let mut socket = Vec::new(); // any tokio AsyncWrite: a TcpStream, a UnixStream...
//! let sent = stream.write_to(&mut socket).await?;
//! assert_eq!(sent, 19 + 64 * 1024);
//! assert!(stream.is_empty());
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "tokio"))]
//! # fn main() {}
//! ```
//!
//! # Examples
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
//! - `tokio` (default): Tokio I/O traits on [`AsyncStream`], the cross-task pipe and socket helpers,
//!   and `duplex`, a bidirectional in-memory transport (two pipes crossed, zero-copy both ways).
//! - `futures-io`: the `futures::io` traits on [`AsyncStream`] (and the pipe halves with `tokio`).
//! - `codec`: tokio-util `Encoder` integration.
//!
//! Without default features the crate depends on `bytes` alone and offers the segment queue with
//! `Buf`, `BufMut` and the std I/O traits.
//!
//! # License
//!
//! GPL-3.0-or-later, the license of the Python package streamview that this crate brings to Rust;
//! the full text is in the `LICENSE` file of the package.
//!
//! # MSRV
//!
//! Rust 1.70 (`rust-version` in `Cargo.toml`, Tokio's own minimum), checked in CI by building the
//! library with Rust 1.70 and by clippy's `incompatible_msrv` lint over every target. Recent
//! tokio and tokio-util releases need a newer Rust: on an older toolchain, let Cargo pick versions
//! that support it (`CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo update` with Cargo
//! 1.84 or later) or pin them.

#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod buf;
mod error;
mod std_io;
mod stream;

#[cfg(feature = "tokio")]
mod broadcast;
#[cfg(feature = "codec")]
mod codec;
#[cfg(feature = "tokio")]
mod coop;
#[cfg(feature = "tokio")]
mod duplex;
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
pub use duplex::{duplex, DuplexStream};
#[cfg(feature = "tokio")]
pub use pipe::{pipe, PipeReader, PipeWriter, TryWriteError};
pub use stream::{AsyncStream, IntoSegments, ReadSegments, Segments, MAX_WRITE_SLICES};
