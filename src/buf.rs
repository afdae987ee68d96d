//! `bytes::Buf` and `bytes::BufMut` for [`AsyncStream`]: thin adapters over the stream's named
//! operations. The only module with `unsafe` code, because `BufMut` is an unsafe trait and
//! `advance_mut` an unsafe method.
#![allow(unsafe_code)]

use std::io::IoSlice;

use bytes::buf::UninitSlice;
use bytes::{Buf, BufMut, Bytes};

use crate::error::{panic_advance, panic_lying_buf};
use crate::stream::{AsyncStream, TAIL_BLOCK};

/// Reads from the front: [`chunk`](Buf::chunk) is the front segment, [`advance`](Buf::advance)
/// frees the segments it passes, [`copy_to_bytes`](Buf::copy_to_bytes) is zero-copy within one
/// segment and one copy across several, and [`chunks_vectored`](Buf::chunks_vectored) fills as
/// many slices as it is given, front first.
///
/// # Examples
///
/// ```
/// use std::io::IoSlice;
/// use bytes::Buf;
///
/// let mut stream = streamview::AsyncStream::new();
/// stream.write_segments(["ab", "cd", "ef"]);
/// let mut slices = [IoSlice::new(&[]); 8];
/// assert_eq!(stream.chunks_vectored(&mut slices), 3);
/// assert_eq!(stream.chunk(), b"ab");
/// stream.advance(3);
/// assert_eq!(stream.copy_to_bytes(3), "def");
/// ```
impl Buf for AsyncStream {
    #[inline]
    fn remaining(&self) -> usize {
        self.len()
    }

    #[inline]
    fn chunk(&self) -> &[u8] {
        self.front()
    }

    /// # Panics
    ///
    /// Panics, leaving the stream unchanged, when `cnt > self.remaining()`; the message names
    /// both numbers. (The I/O traits' `consume` clamps instead.)
    #[inline]
    #[track_caller]
    fn advance(&mut self, cnt: usize) {
        self.advance_front(cnt);
    }

    #[inline]
    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        self.front_io_slices(dst)
    }

    /// # Panics
    ///
    /// Panics, leaving the stream unchanged, when `len > self.remaining()`.
    #[inline]
    #[track_caller]
    fn copy_to_bytes(&mut self, len: usize) -> Bytes {
        if len > self.len() {
            panic_advance(len, self.len());
        }
        self.take_front(len)
    }
}

/// Writes at the back, into the shared write tail: many small puts fill one block, which becomes
/// a segment when it is full or when a reader needs it. `put` of a [`Buf`] whose chunks are at
/// least one tail block long takes them with `copy_to_bytes`, so putting a large [`Bytes`] is
/// zero-copy.
///
/// [`remaining_mut`](BufMut::remaining_mut) is `isize::MAX - len()` while the stream is open (as
/// for `BytesMut` and `Vec<u8>`) and 0 once it is closed.
///
/// # Panics
///
/// Every write method panics once the stream is [closed](AsyncStream::close), and when asked to
/// write more than `remaining_mut()` bytes (`put_bytes` with a huge count, `put` of a `Buf` that
/// claims a huge `remaining()`); the message names the count and the limit. Both checks come
/// before any byte is written or any block allocated, and a failing write leaves the stream
/// exactly as it was: `put` of a `Buf` that panics or lies part-way is rolled back. A count
/// within the limit that memory cannot hold (`put_bytes(b, remaining_mut())`) is not a panic:
/// as with `Vec<u8>` and `BytesMut`, the allocation failure aborts the process.
///
/// # Examples
///
/// ```
/// use bytes::BufMut;
///
/// let mut stream = streamview::AsyncStream::new();
/// stream.put_u16(0x0102);
/// stream.put_slice(b"payload");
/// assert_eq!(stream.num_segments(), 1); // one shared block
/// assert_eq!(stream, b"\x01\x02payload");
///
/// let huge = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
///     stream.put_bytes(b'!', usize::MAX)
/// }));
/// assert!(huge.is_err());
/// assert_eq!(stream, b"\x01\x02payload"); // unchanged
/// ```
unsafe impl BufMut for AsyncStream {
    #[inline]
    fn remaining_mut(&self) -> usize {
        self.write_limit()
    }

    #[track_caller]
    unsafe fn advance_mut(&mut self, cnt: usize) {
        self.commit_spare(cnt, |tail| {
            // SAFETY: `commit_spare` calls this only after checking that `cnt` fits the tail's
            // spare capacity, which is exactly the slice `chunk_mut` handed out, and our caller
            // promises those `cnt` bytes are initialised.
            unsafe { tail.advance_mut(cnt) }
        });
    }

    #[track_caller]
    fn chunk_mut(&mut self) -> &mut UninitSlice {
        self.check_writable("BufMut write", 0);
        self.spare_room().into()
    }

    #[track_caller]
    fn put_slice(&mut self, src: &[u8]) {
        // `put_u8`, `put_u32_le` and the other fixed-size puts come here by default: name them.
        self.check_writable("BufMut::put_slice (or a put_* built on it)", src.len());
        self.write_tail(src);
    }

    #[track_caller]
    fn put_bytes(&mut self, val: u8, cnt: usize) {
        self.fill_tail(val, cnt);
    }

    #[track_caller]
    fn put<T: Buf>(&mut self, mut src: T)
    where
        Self: Sized,
    {
        self.check_writable("BufMut::put", src.remaining());
        self.write_all_or_nothing(|stream| {
            while src.has_remaining() {
                let chunk_len = src.chunk().len();
                if chunk_len == 0 {
                    panic_lying_buf(src.remaining());
                }
                if chunk_len >= TAIL_BLOCK {
                    let segment = src.copy_to_bytes(chunk_len);
                    stream.check_writable("BufMut::put", segment.len());
                    stream.write_segment(segment);
                } else {
                    stream.write_tail(src.chunk());
                    src.advance(chunk_len);
                }
            }
        });
    }
}
