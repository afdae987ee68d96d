//! `bytes::Buf` and `bytes::BufMut` for [`AsyncStream`]: the only module with `unsafe` code,
//! because `BufMut::advance_mut` is an unsafe trait method.
#![allow(unsafe_code)]

use std::io::IoSlice;

use bytes::buf::UninitSlice;
use bytes::{Buf, BufMut, Bytes};

use crate::stream::{AsyncStream, TAIL_BLOCK};
use crate::{panic_advance, panic_advance_mut, panic_closed};

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
        self.len
    }

    #[inline]
    fn chunk(&self) -> &[u8] {
        match self.segments.front() {
            Some(front) => front,
            None => &self.tail,
        }
    }

    /// # Panics
    ///
    /// Panics, leaving the stream unchanged, when `cnt > self.remaining()`; the message names
    /// both numbers.
    #[inline]
    fn advance(&mut self, cnt: usize) {
        // The common case, consuming within or exactly the front segment, stays small enough to
        // inline into a caller's read loop; everything else takes the general path.
        if let Some(front) = self.segments.front_mut() {
            if cnt < front.len() {
                front.advance(cnt);
                self.consumed(cnt);
                return;
            }
            if cnt == front.len() {
                self.segments.pop_front();
                self.consumed(cnt);
                return;
            }
        }
        self.advance_across(cnt);
    }

    #[inline]
    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        // The frozen segments straight from the deque (a tighter loop than `segments()`, which
        // checks for the tail at every step), then the tail if a slot is left.
        let mut filled = 0;
        for (slot, segment) in dst.iter_mut().zip(&self.segments) {
            *slot = IoSlice::new(segment);
            filled += 1;
        }
        if filled < dst.len() && !self.tail.is_empty() {
            dst[filled] = IoSlice::new(&self.tail);
            filled += 1;
        }
        filled
    }

    /// # Panics
    ///
    /// Panics, leaving the stream unchanged, when `len > self.remaining()`.
    #[inline]
    fn copy_to_bytes(&mut self, len: usize) -> Bytes {
        if len > self.len {
            panic_advance(len, self.len);
        }
        self.take_front(len)
    }
}

impl AsyncStream {
    /// [`Buf::advance`] across segment boundaries, into the write tail, or past the end (a
    /// panic that names both numbers and leaves the stream unchanged).
    #[inline(never)]
    #[track_caller]
    fn advance_across(&mut self, cnt: usize) {
        if cnt > self.len {
            panic_advance(cnt, self.len);
        }
        let mut left = cnt;
        while left > 0 {
            match self.segments.front_mut() {
                Some(front) if front.len() <= left => {
                    left -= front.len();
                    self.segments.pop_front();
                }
                Some(front) => {
                    front.advance(left);
                    left = 0;
                }
                None => {
                    self.tail.advance(left);
                    left = 0;
                }
            }
        }
        self.consumed(cnt);
    }
}

/// Writes at the back, into the shared write tail: many small puts fill one block, which becomes
/// a segment when it is full or when a reader needs it. `put` of a [`Buf`] whose chunks are at
/// least one tail block long takes them with `copy_to_bytes`, so putting a large [`Bytes`] is
/// zero-copy.
///
/// # Panics
///
/// Every write method panics once the stream is [closed](AsyncStream::close).
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
/// ```
unsafe impl BufMut for AsyncStream {
    fn remaining_mut(&self) -> usize {
        usize::MAX - self.len
    }

    #[track_caller]
    unsafe fn advance_mut(&mut self, cnt: usize) {
        let spare = self.tail.capacity() - self.tail.len();
        if cnt > spare {
            panic_advance_mut(cnt, spare);
        }
        // SAFETY: `cnt` fits the tail's spare capacity (checked above), which is exactly the
        // slice `chunk_mut` handed out, and our caller promises those `cnt` bytes are initialised.
        unsafe { self.tail.advance_mut(cnt) };
        self.committed_to_tail(cnt);
    }

    #[track_caller]
    fn chunk_mut(&mut self) -> &mut UninitSlice {
        if self.is_closed() {
            panic_closed("BufMut write", self.len);
        }
        self.reserve_tail(TAIL_BLOCK);
        self.tail.spare_capacity_mut().into()
    }

    #[track_caller]
    fn put_slice(&mut self, src: &[u8]) {
        if self.is_closed() {
            panic_closed("BufMut write", self.len);
        }
        self.write_tail(src);
    }

    #[track_caller]
    fn put_bytes(&mut self, val: u8, cnt: usize) {
        if self.is_closed() {
            panic_closed("BufMut write", self.len);
        }
        let mut left = cnt;
        while left > 0 {
            self.reserve_tail(left);
            let room = self.tail.capacity() - self.tail.len();
            let now = room.min(left);
            self.tail.put_bytes(val, now);
            left -= now;
        }
        self.committed_to_tail(cnt);
    }

    #[track_caller]
    fn put<T: Buf>(&mut self, mut src: T)
    where
        Self: Sized,
    {
        if self.is_closed() {
            panic_closed("BufMut write", self.len);
        }
        while src.has_remaining() {
            let chunk_len = src.chunk().len();
            if chunk_len >= TAIL_BLOCK {
                let segment = src.copy_to_bytes(chunk_len);
                self.write_segment(segment);
            } else {
                self.write_tail(src.chunk());
                src.advance(chunk_len);
            }
        }
    }
}

/// One `poll_read` of at most `max` bytes from `src` straight into `tail`'s spare capacity
/// (uninitialised memory, so no zeroing pass), committing what was read; returns how many bytes.
/// Ok(0) with `max > 0` and spare room means end of file. The caller accounts the bytes.
///
/// # Panics
///
/// Panics when `src` swaps the `ReadBuf` for another buffer: the bytes it reports would not be
/// the ones in `tail`.
#[cfg(feature = "tokio")]
pub(crate) fn poll_read_into_spare<R>(
    tail: &mut bytes::BytesMut,
    cx: &mut std::task::Context<'_>,
    src: std::pin::Pin<&mut R>,
    max: usize,
) -> std::task::Poll<std::io::Result<usize>>
where
    R: tokio::io::AsyncRead + ?Sized,
{
    let spare = tail.spare_capacity_mut();
    let limit = spare.len().min(max);
    let mut read_buf = tokio::io::ReadBuf::uninit(&mut spare[..limit]);
    let start = read_buf.filled().as_ptr();
    std::task::ready!(src.poll_read(cx, &mut read_buf))?;
    let filled = read_buf.filled();
    assert!(
        std::ptr::eq(filled.as_ptr(), start),
        "AsyncRead::poll_read replaced the ReadBuf it was given by another buffer"
    );
    let n = filled.len();
    // SAFETY: `ReadBuf` only reports as filled bytes that were initialised (by `put_slice`, or
    // by an `assume_init` its writer vouched for), its filled part never exceeds the `limit`
    // bytes it was built on, and the pointer check above shows those bytes are the first `n` of
    // `tail`'s spare capacity, right after its `len`. So `len + n` bytes are initialised and
    // within capacity.
    unsafe { tail.set_len(tail.len() + n) };
    std::task::Poll::Ready(Ok(n))
}
