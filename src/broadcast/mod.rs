//! The fan-out: [`broadcast`] makes a [`BroadcastWriter`] and a first [`BroadcastReader`]; every
//! reader receives every byte written after its start, as the very same
//! [`Bytes`](bytes::Bytes) buffers, each at its own pace, with backpressure set by the slowest.
//!
//! Layout: `shared.rs` holds the locked state (the log of written segments, the readers'
//! published positions, the parked wakers), `writer.rs` and `reader.rs` the halves and their
//! trait impls.

mod reader;
mod shared;
mod writer;

pub use reader::BroadcastReader;
pub use writer::BroadcastWriter;

/// Creates a fan-out whose writer waits while the slowest reader is `capacity` bytes behind;
/// returns the writer and a first reader.
///
/// More readers come from [`BroadcastReader::clone`] (at the same position as the reader
/// cloned) and [`BroadcastWriter::subscribe`] (at the current end). Each receives every byte
/// written after its start, in order, and a segment written comes back to every reader as the
/// very same buffer: a `Bytes` clone is a refcount, so a reader costs no copy. This is the
/// cross-task form of the Python package streamview's `copy()` ("stream copies with shared
/// underlying buffers"); unlike `tokio::sync::broadcast`, no reader is ever skipped ahead or
/// loses data: a lagging reader holds the writer back instead.
///
/// `capacity` is a high-water mark in bytes: a write that finds the slowest live reader
/// `capacity` bytes or more behind waits until it reads below that. A segment is always logged
/// whole, so memory held stays within `capacity` plus one segment (and the part of a segment
/// the slowest reader is in the middle of), however many readers there are. As with the
/// [`pipe`](crate::pipe), while a `read_line` or `read_bytes` waits for more, the bytes it has
/// already gathered are not counted, so a request larger than `capacity` can complete; they stay
/// uncounted until that reader reads them, also when the waiting call is cancelled.
///
/// The log lets go of a segment as soon as every reader has taken it: the last reader to take it
/// moves it out of the log rather than cloning it, so with one reader no segment is ever cloned,
/// and once every reader has read a segment nothing in the broadcast holds it. Dropping a reader
/// releases what only it still needed at once. A writer that keeps its own handle can then take
/// the buffer back (`Bytes::try_into_mut`).
///
/// Both halves are `Send + Sync + Unpin + 'static`. Every `Poll::Pending` leaves a waker that
/// the other side's next write, read, close or drop wakes, always after releasing the lock.
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
/// let (mut writer, reader) = streamview::broadcast(256 * 1024);
/// let frames: Vec<Bytes> = (0..100u8).map(|i| Bytes::from(vec![i; 4096])).collect();
/// // Each reader runs in its own task: read one after another here, the first would wait for
/// // frames the writer cannot send until the unread ones are within `capacity` of the end.
/// let readers: Vec<_> = (0..3)
///     .map(|_| {
///         let (mut reader, frames) = (reader.clone(), frames.clone());
///         tokio::spawn(async move {
///             let mut received = 0;
///             while let Some(frame) = reader.read_segment().await? {
///                 assert_eq!(frame.as_ptr(), frames[received].as_ptr()); // the same buffer
///                 received += 1;
///             }
///             std::io::Result::Ok(received)
///         })
///     })
///     .collect();
/// drop(reader);
/// for frame in frames {
///     writer.write_segment(frame).await?;
/// }
/// drop(writer); // closes the broadcast: each reader sees end of file after the last frame
/// for reader in readers {
///     assert_eq!(reader.await.unwrap()?, 100);
/// }
/// # Ok(())
/// # }
/// ```
#[track_caller]
pub fn broadcast(capacity: usize) -> (BroadcastWriter, BroadcastReader) {
    if capacity == 0 {
        crate::error::panic_zero_capacity("broadcast");
    }
    let shared = shared::Shared::new();
    let writer = BroadcastWriter::new(shared, capacity);
    let reader = writer.subscribe();
    (writer, reader)
}
