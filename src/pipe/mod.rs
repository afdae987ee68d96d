//! The cross-task pipe: [`pipe`] makes a [`PipeWriter`] and a [`PipeReader`] that hand
//! [`Bytes`](bytes::Bytes) segments from one task (or thread) to another without copying them,
//! with backpressure.
//!
//! Layout: `shared.rs` holds the locked state both halves see (the queue, the two wakers, the
//! byte count against the capacity), `writer.rs` and `reader.rs` the halves and their trait
//! impls, `socket.rs` their socket forms (`write_to`, `read_from`), `error.rs` [`TryWriteError`].

mod error;
mod reader;
mod shared;
mod socket;
mod writer;

pub use error::TryWriteError;
pub use reader::PipeReader;
pub use writer::PipeWriter;

/// Creates a pipe whose writer waits once `capacity` bytes are in flight.
///
/// `capacity` is a high-water mark in bytes: a write that finds `capacity` or more bytes queued
/// (or held by the reader and not yet consumed) waits until the reader drains below it. A
/// segment is always queued whole, so one larger than `capacity` is accepted as soon as the
/// pipe has room, and bytes in flight never exceed `capacity` plus the largest single segment.
/// One exception keeps large requests from deadlocking: while a `read_line` or `read_bytes`
/// waits for more, the bytes it has already gathered are not counted, so a request larger than
/// `capacity` (a long line, say) can complete, as it would with std's `read_line`. Those bytes
/// stay uncounted until they are read, also when the waiting call is cancelled (its future
/// dropped) and the next read is of another kind; each such cancellation can let up to
/// `capacity` more bytes in.
///
/// Both halves are `Send + Sync + Unpin + 'static`. Every `Poll::Pending` leaves a waker that the
/// other half's next write, read, close or drop wakes, always after releasing the lock.
///
/// # Panics
///
/// Panics when `capacity` is 0: no write could ever find room.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
///
/// # #[tokio::main]
/// # async fn main() -> std::io::Result<()> {
/// let (mut writer, mut reader) = streamview::pipe(256 * 1024);
/// let frames: Vec<Bytes> = (0..100u8).map(|i| Bytes::from(vec![i; 4096])).collect();
/// let sent = frames.clone();
/// let producer = tokio::spawn(async move {
///     for frame in sent {
///         writer.write_segment(frame).await?;
///     }
///     std::io::Result::Ok(()) // dropping the writer closes the pipe
/// });
/// let mut received = 0;
/// while let Some(frame) = reader.read_segment().await? {
///     assert_eq!(frame.as_ptr(), frames[received].as_ptr()); // zero-copy hand-off
///     received += 1;
/// }
/// producer.await.unwrap()?;
/// assert_eq!(received, 100);
/// # Ok(())
/// # }
/// ```
#[track_caller]
pub fn pipe(capacity: usize) -> (PipeWriter, PipeReader) {
    if capacity == 0 {
        crate::error::panic_zero_capacity("pipe");
    }
    let shared = shared::Shared::new(capacity);
    (
        PipeWriter::new(shared.clone(), capacity),
        PipeReader::new(shared, capacity),
    )
}
