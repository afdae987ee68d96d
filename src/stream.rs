//! The segment queue: [`AsyncStream`] and the operations every I/O trait adapter is built on.

use std::collections::{vec_deque, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::io;
use std::iter::FusedIterator;
use std::mem::{self, MaybeUninit};
#[cfg(feature = "tokio")]
use std::ops::Range;
use std::task::Waker;
#[cfg(any(feature = "tokio", feature = "futures-io"))]
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{closed_error, panic_advance, panic_advance_mut, panic_closed, panic_too_long};

/// The smallest block the write tail allocates. Byte-level writes share blocks of this size (or
/// of the write's own size when larger), so small writes never allocate one buffer each.
pub(crate) const TAIL_BLOCK: usize = 8 * 1024;

/// The largest write-tail block a stream may ask for ([`AsyncStream::set_tail_block`]).
#[cfg(feature = "tokio")]
pub(crate) const MAX_TAIL_BLOCK: usize = 64 * 1024;

/// The largest copy `copy_in_pieces` hands to `memcpy` in one call when it splits one.
///
/// glibc's `memcpy` copies 2,112 bytes or more with `rep movsb` on x86 CPUs that report fast
/// short `rep movsb` (FSRM). On this crate's AMD EPYC test machine that instruction runs about 30
/// times slower (under 3 GB/s against 50 to 90 GB/s, cache to cache) when the destination lies 1
/// to 31 bytes past the source modulo 4 KiB, and which case a copy hits depends only on where
/// the allocator put the two buffers: a `Framed` echo of 4 KiB frames over `tokio::io::duplex`
/// took 1.0 ms in one process and 2.4 to 2.9 ms in another. Copies of at most 2 KiB take glibc's
/// vector loop, which has no such case.
pub(crate) const COPY_PIECE: usize = 2 * 1024;

/// Hands `src` to `copy`, which copies it to `dst` onwards: in one piece, or in pieces of at most
/// [`COPY_PIECE`] bytes when one `memcpy` would be the slow `rep movsb` case above (more than
/// `COPY_PIECE` bytes, destination 1 to 63 bytes past the source modulo 4 KiB; pieces keep that
/// distance, so each takes the vector loop).
#[inline]
pub(crate) fn copy_in_pieces(src: &[u8], dst: *const u8, mut copy: impl FnMut(&[u8])) {
    let distance = (dst as usize).wrapping_sub(src.as_ptr() as usize) % 4096;
    if src.len() <= COPY_PIECE || !(1..64).contains(&distance) {
        copy(src);
    } else {
        src.chunks(COPY_PIECE).for_each(copy);
    }
}

/// `BytesMut::extend_from_slice` of `src` through [`copy_in_pieces`].
#[inline]
pub(crate) fn extend_in_pieces(buf: &mut BytesMut, src: &[u8]) {
    let end = buf.as_ptr_range().end;
    copy_in_pieces(src, end, |piece| buf.extend_from_slice(piece));
}

/// Copies `chunk` into `dst` at `*filled` through [`copy_in_pieces`] and advances `*filled`;
/// `dst` has room for it.
#[inline]
pub(crate) fn fill_in_pieces(dst: &mut [u8], filled: &mut usize, chunk: &[u8]) {
    let to = &mut dst[*filled..*filled + chunk.len()];
    let at = to.as_ptr();
    let mut done = 0;
    copy_in_pieces(chunk, at, |piece| {
        to[done..done + piece.len()].copy_from_slice(piece);
        done += piece.len();
    });
    *filled += chunk.len();
}

/// `ReadBuf::put_slice` of `src` through [`copy_in_pieces`].
#[cfg(feature = "tokio")]
#[inline]
pub(crate) fn put_in_pieces(buf: &mut tokio::io::ReadBuf<'_>, src: &[u8]) {
    let end = buf.filled().as_ptr_range().end;
    copy_in_pieces(src, end, |piece| buf.put_slice(piece));
}

/// The most bytes a stream holds: `isize::MAX`, the limit of one allocation, as for `Vec<u8>` and
/// `BytesMut`, so a count past it is refused before any byte moves instead of failing part-way.
const MAX_LEN: usize = isize::MAX as usize;

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

/// A zero-copy, non-blocking byte stream: a queue of [`Bytes`] segments plus a write tail.
///
/// It is the Rust form of `Stream` from the Python package streamview; each method's docs name
/// the Python method it stands for ("Python streamview's `readview`").
///
/// Segments handed over with [`write_segment`](Self::write_segment) are stored as they are and
/// read back as the very same buffers. Byte-level writes ([`std::io::Write`], [`BufMut`], Tokio's
/// `AsyncWrite`) are copied once into the *write tail*, a [`BytesMut`] block of at least 8 KiB that
/// many small writes share; the tail is logically the last segment and is frozen into a real
/// segment when it is full or when a `&mut self` operation needs it as [`Bytes`] (zero-copy).
///
/// # Invariants
///
/// - The queue never holds an empty segment, so [`Buf::chunk`] is empty exactly when
///   [`Buf::remaining`] is 0.
/// - [`len`](Self::len) is a running count, O(1), and never exceeds `isize::MAX`.
/// - Every write either completes or fails (an error or a panic) leaving the stream exactly as it
///   was: content, length, segment layout, the write tail and its spare room, closed flag.
/// - An empty stream that is not closed *would block*: std reads return
///   [`io::ErrorKind::WouldBlock`], async reads return `Poll::Pending` after storing the waker,
///   which the next write or [`close`](Self::close) wakes. Reads of an empty closed stream are end
///   of file.
///
/// # When bytes are copied
///
/// Never for segment operations ([`write_segment`](Self::write_segment),
/// [`read_segment`](Self::read_segment), [`read_chunk`](Self::read_chunk), `Clone`). Exactly once
/// when a caller asks for contiguity across segments ([`read_bytes`](Self::read_bytes),
/// [`to_bytes`](Self::to_bytes), [`Buf::copy_to_bytes`] over a boundary) and for byte-level
/// writes. Methods taking `&self` never mutate, so where they must hand out the unfrozen write
/// tail as [`Bytes`] ([`segment`](Self::segment), [`to_bytes`](Self::to_bytes), `Clone`) they copy
/// the tail's bytes, and only those.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use streamview::AsyncStream;
///
/// let mut stream = AsyncStream::new();
/// stream.write_segment("GET / HTTP/1.1\r\n");
/// stream.write_all(b"Host: example\r\n").unwrap();
/// assert_eq!(stream.read_line().unwrap(), "GET / HTTP/1.1\r\n");
/// assert_eq!(stream.read_line().unwrap(), "Host: example\r\n");
/// assert!(stream.read_line().is_none());
/// ```
// The fields are private to this file: the trait adapters, the socket and codec helpers and the
// pipe go through a few named operations (write into the tail, reserve spare room, commit
// written bytes, merge a run of segments), so these rules are kept in one place.
pub struct AsyncStream {
    /// Frozen segments, front first. None is empty.
    segments: VecDeque<Bytes>,
    /// Bytes written byte-wise and not yet frozen; logically after every segment.
    tail: BytesMut,
    /// Bytes held: the segments' lengths plus the tail's.
    len: usize,
    /// How many bytes at the front are known to hold no `\n`, so `read_line` never rescans them.
    newline_free: usize,
    closed: bool,
    read_waker: Option<Waker>,
    /// Blocks the write tail filled, kept for reuse once their segments are dropped.
    tail_blocks: TailBlocks,
}

impl AsyncStream {
    /// Creates an empty, open stream. It allocates nothing until written to.
    ///
    /// # Examples
    ///
    /// ```
    /// let stream = streamview::AsyncStream::new();
    /// assert!(stream.is_empty());
    /// assert!(!stream.is_closed());
    /// ```
    pub fn new() -> AsyncStream {
        AsyncStream {
            segments: VecDeque::new(),
            tail: BytesMut::new(),
            len: 0,
            newline_free: 0,
            closed: false,
            read_waker: None,
            tail_blocks: TailBlocks::new(),
        }
    }

    /// Returns how many bytes the stream holds (Python streamview's `nbytes`). O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segments(["ab", "cde"]);
    /// assert_eq!(stream.len(), 5);
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Returns `true` when the stream holds no bytes (Python streamview's `not bool(s)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// assert!(stream.is_empty());
    /// stream.write_segment("x");
    /// assert!(!stream.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Returns how many segments the stream holds (Python streamview's `len(s)`); a non-empty write tail
    /// counts as one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::Write;
    ///
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segment("frame");
    /// stream.write_all(b"a").unwrap();
    /// stream.write_all(b"b").unwrap(); // shares the tail with "a"
    /// assert_eq!(stream.num_segments(), 2);
    /// ```
    pub fn num_segments(&self) -> usize {
        self.segments.len() + usize::from(!self.tail.is_empty())
    }

    /// Iterates over the held segments front to back (the write tail last), without consuming
    /// or copying (Python streamview's `views`).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segments(["ab", "cd"]);
    /// let segments: Vec<&[u8]> = stream.segments().collect();
    /// assert_eq!(segments, [&b"ab"[..], &b"cd"[..]]);
    /// assert_eq!(stream.segments().rev().next(), Some(&b"cd"[..]));
    /// ```
    pub fn segments(&self) -> Segments<'_> {
        Segments {
            frozen: self.segments.iter(),
            tail: (!self.tail.is_empty()).then_some(&self.tail[..]),
        }
    }

    /// Returns segment `index` (front is 0) without consuming it (Python streamview's `s[i]`; for the
    /// back, pass `num_segments() - 1`).
    ///
    /// A frozen segment is returned as a refcount clone, no copy. The write tail cannot be frozen
    /// through `&self`, so when `index` names it its bytes are copied.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segments(["ab", "cd"]);
    /// assert_eq!(stream.segment(1).unwrap(), "cd");
    /// assert!(stream.segment(2).is_none());
    /// assert_eq!(stream.len(), 4); // nothing consumed
    /// ```
    pub fn segment(&self, index: usize) -> Option<Bytes> {
        match self.segments.get(index) {
            Some(segment) => Some(segment.clone()),
            None if index == self.segments.len() && !self.tail.is_empty() => {
                Some(Bytes::copy_from_slice(&self.tail))
            }
            None => None,
        }
    }

    /// Appends `segment` without copying it (Python streamview's `writeview`) and returns its length. An
    /// empty segment adds nothing.
    ///
    /// # Panics
    ///
    /// Panics when the stream is closed, an empty segment included: a segment handed over after
    /// `close()` would be lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    ///
    /// let frame = Bytes::from_static(b"frame");
    /// let mut stream = streamview::AsyncStream::new();
    /// assert_eq!(stream.write_segment(frame.clone()), 5);
    /// assert_eq!(stream.write_segment(""), 0);
    /// assert_eq!(stream.read_segment().unwrap().as_ptr(), frame.as_ptr());
    /// ```
    // Forced: a small body (a flag check and a deque push), but generic, and LLVM left it out of
    // line in the pipe writer's per-frame path, where the call cost about 8% (measured).
    #[inline(always)]
    #[track_caller]
    pub fn write_segment(&mut self, segment: impl Into<Bytes>) -> usize {
        if self.closed {
            panic_closed("write_segment", self.len);
        }
        let segment = segment.into();
        let added = segment.len();
        if added != 0 {
            self.seal_tail();
            self.segments.push_back(segment);
            self.len += added;
            self.wake_reader();
        }
        added
    }

    /// Appends every segment of `segments` without copying (Python streamview's `writeviews`) and returns
    /// how many bytes were added. Empty segments are ignored.
    ///
    /// # Panics
    ///
    /// Panics when the stream is closed and the iterator yields a segment. When the iterator (or a
    /// segment's `Into<Bytes>`) panics, the segments it yielded before are taken back out and the
    /// stream is exactly as it was before the call, as after any failed write.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// assert_eq!(stream.write_segments(["head", "", "body"]), 8);
    /// assert_eq!(stream.num_segments(), 2);
    /// ```
    #[track_caller]
    pub fn write_segments<I, B>(&mut self, segments: I) -> usize
    where
        I: IntoIterator<Item = B>,
        B: Into<Bytes>,
    {
        self.write_all_or_nothing(|stream| {
            segments
                .into_iter()
                .map(|segment| stream.write_segment(segment))
                .sum()
        })
    }

    /// Removes and returns the front segment whole, no copy (Python streamview's `readview`); `None` when
    /// the stream is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segments(["ab", "cd"]);
    /// assert_eq!(stream.read_segment().unwrap(), "ab");
    /// assert_eq!(stream.read_segment().unwrap(), "cd");
    /// assert!(stream.read_segment().is_none());
    /// ```
    #[inline]
    #[must_use = "the bytes are removed from the stream; use `skip` to drop them"]
    pub fn read_segment(&mut self) -> Option<Bytes> {
        let segment = match self.segments.pop_front() {
            Some(segment) => segment,
            None if !self.tail.is_empty() => self.tail.split().freeze(),
            None => return None,
        };
        self.consumed(segment.len());
        Some(segment)
    }

    /// Removes every segment, front to back, as a draining iterator (Python streamview's `readviews`).
    ///
    /// The stream is empty as soon as this returns; segments the iterator does not yield are
    /// dropped with it.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segments(["ab", "cd"]);
    /// let all: Vec<_> = stream.read_segments().collect();
    /// assert_eq!(all, ["ab", "cd"]);
    /// assert!(stream.is_empty());
    /// ```
    pub fn read_segments(&mut self) -> ReadSegments<'_> {
        self.seal_tail();
        let held = self.len;
        self.consumed(held);
        ReadSegments {
            drain: self.segments.drain(..),
        }
    }

    /// Pushes `segment` back to the front, no copy (Python streamview's `unreadview`), and returns its
    /// length. An empty segment is ignored. Allowed after [`close`](Self::close): it gives back
    /// bytes that were read, it does not write new ones.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segment("world");
    /// stream.close();
    /// assert_eq!(stream.unread_segment("hello "), 6);
    /// assert_eq!(stream.read_bytes(11), "hello world");
    /// ```
    pub fn unread_segment(&mut self, segment: impl Into<Bytes>) -> usize {
        let segment = segment.into();
        let added = segment.len();
        if added != 0 {
            self.segments.push_front(segment);
            self.len += added;
            self.newline_free = 0;
            self.wake_reader();
        }
        added
    }

    /// Removes and returns the back segment (the write tail when it holds bytes), no copy (Python
    /// streamview's `unwriteview`); `None` when the stream is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segments(["ab", "cd"]);
    /// assert_eq!(stream.unwrite_segment().unwrap(), "cd");
    /// assert_eq!(stream.len(), 2);
    /// ```
    #[must_use = "the segment is removed from the stream; use `truncate` to drop it"]
    pub fn unwrite_segment(&mut self) -> Option<Bytes> {
        let segment = if !self.tail.is_empty() {
            self.tail.split().freeze()
        } else {
            self.segments.pop_back()?
        };
        self.len -= segment.len();
        self.newline_free = self.newline_free.min(self.len);
        Some(segment)
    }

    /// Removes and returns at most `max` bytes from the front segment only, no copy (Python streamview's
    /// `read1`); `None` when the stream is empty or `max` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segments(["abcd", "ef"]);
    /// assert_eq!(stream.read_chunk(3).unwrap(), "abc");
    /// assert_eq!(stream.read_chunk(3).unwrap(), "d"); // never crosses a segment
    /// assert_eq!(stream.read_chunk(3).unwrap(), "ef");
    /// assert!(stream.read_chunk(3).is_none());
    /// ```
    #[must_use = "the bytes are removed from the stream; use `skip` to drop them"]
    pub fn read_chunk(&mut self, max: usize) -> Option<Bytes> {
        if max == 0 || self.len == 0 {
            return None;
        }
        let chunk = match self.segments.front_mut() {
            Some(front) if front.len() <= max => self.segments.pop_front()?,
            Some(front) => front.split_to(max),
            None => {
                let take = max.min(self.tail.len());
                self.tail.split_to(take).freeze()
            }
        };
        self.consumed(chunk.len());
        Some(chunk)
    }

    /// Removes and returns `min(n, len())` bytes from the front (Python streamview's `read(n)`).
    ///
    /// Zero-copy when they lie in one segment; otherwise they are copied exactly once into one
    /// new buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segments(["ab", "cd", "ef"]);
    /// assert_eq!(stream.read_bytes(3), "abc"); // spans two segments: one copy
    /// assert_eq!(stream.read_bytes(100), "def");
    /// assert!(stream.read_bytes(1).is_empty());
    /// ```
    #[must_use = "the bytes are removed from the stream; use `skip` to drop them"]
    pub fn read_bytes(&mut self, n: usize) -> Bytes {
        self.take_front(n.min(self.len))
    }

    /// Removes and returns the next line, `\n` included (Python streamview's `readline`).
    ///
    /// When no complete line is held yet it returns `None` and consumes nothing, unless the
    /// stream is closed: then it returns the rest as a last line, and `None` once empty. Bytes
    /// already searched are not searched again on the next call, so feeding a long line in small
    /// writes stays linear.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segments(["one\ntw", "o\nthr"]);
    /// assert_eq!(stream.read_line().unwrap(), "one\n");
    /// assert_eq!(stream.read_line().unwrap(), "two\n");
    /// assert!(stream.read_line().is_none()); // "thr" waits for its newline
    /// stream.close();
    /// assert_eq!(stream.read_line().unwrap(), "thr");
    /// assert!(stream.read_line().is_none());
    /// ```
    #[must_use = "the bytes are removed from the stream; use `skip` to drop them"]
    pub fn read_line(&mut self) -> Option<Bytes> {
        match self.find_newline() {
            Some(newline_at) => Some(self.take_front(newline_at + 1)),
            None if self.closed && self.len > 0 => Some(self.take_front(self.len)),
            None => None,
        }
    }

    /// Drops up to `n` bytes from the front without copying (Python streamview's `seek(n)`) and returns
    /// how many were dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segments(["ab", "cd"]);
    /// assert_eq!(stream.skip(3), 3);
    /// assert_eq!(stream.skip(3), 1);
    /// assert!(stream.is_empty());
    /// ```
    pub fn skip(&mut self, n: usize) -> usize {
        let n = n.min(self.len);
        self.advance(n);
        n
    }

    /// Keeps only the first `n` bytes, without copying (Python streamview's `truncate`). Does nothing when
    /// the stream holds `n` bytes or fewer.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segments(["ab", "cd", "ef"]);
    /// stream.truncate(3);
    /// assert_eq!(stream, b"abc");
    /// assert_eq!(stream.num_segments(), 2);
    /// ```
    pub fn truncate(&mut self, n: usize) {
        if n >= self.len {
            return;
        }
        let mut kept = 0;
        let mut keep_segments = self.segments.len();
        for (index, segment) in self.segments.iter_mut().enumerate() {
            if kept + segment.len() >= n {
                segment.truncate(n - kept);
                keep_segments = index + usize::from(n > kept);
                kept = n;
                break;
            }
            kept += segment.len();
        }
        self.segments.truncate(keep_segments);
        self.tail.truncate(n - kept);
        self.len = n;
        self.newline_free = self.newline_free.min(n);
    }

    /// Releases every segment and the write tail (Python streamview's `close()`, which in Rust is split in
    /// two: this empties, [`close`](Self::close) ends the writer side). The closed flag is kept.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segment("abc");
    /// stream.clear();
    /// assert!(stream.is_empty());
    /// assert!(!stream.is_closed());
    /// ```
    pub fn clear(&mut self) {
        self.segments.clear();
        self.tail = BytesMut::new();
        self.len = 0;
        self.newline_free = 0;
        self.tail_blocks = self.tail_blocks.fresh();
    }

    /// Returns every held byte as one contiguous [`Bytes`] without consuming (Python streamview's
    /// `toview`, which consumes: use [`read_bytes`](Self::read_bytes)`(len())` for that).
    ///
    /// A refcount clone when the stream holds exactly one frozen segment; otherwise one copy of
    /// every byte (the write tail cannot be frozen through `&self`).
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    ///
    /// let whole = Bytes::from_static(b"whole");
    /// let mut stream = streamview::AsyncStream::from(whole.clone());
    /// assert_eq!(stream.to_bytes().as_ptr(), whole.as_ptr());
    /// stream.write_segment("!");
    /// assert_eq!(stream.to_bytes(), "whole!");
    /// assert_eq!(stream.len(), 6);
    /// ```
    pub fn to_bytes(&self) -> Bytes {
        if self.segments.len() == 1 && self.tail.is_empty() {
            return self.segments[0].clone();
        }
        if self.len == 0 {
            return Bytes::new();
        }
        self.copy_all().freeze()
    }

    /// Every held byte copied into one fresh buffer of exactly `len()` bytes.
    fn copy_all(&self) -> BytesMut {
        self.copy_front(self.len)
    }

    /// The first `n` bytes held (`n <= len()`) copied into one fresh buffer of exactly `n` bytes,
    /// through [`extend_in_pieces`] as every other copy of the stream's bytes; nothing consumed.
    pub(crate) fn copy_front(&self, n: usize) -> BytesMut {
        let mut contiguous = BytesMut::with_capacity(n);
        for segment in self.segments() {
            let wanted = n - contiguous.len();
            if wanted == 0 {
                break;
            }
            extend_in_pieces(&mut contiguous, &segment[..wanted.min(segment.len())]);
        }
        contiguous
    }

    /// Returns an independent copy whose bytes live in exactly one fresh segment (none when
    /// empty); it carries the closed flag (Python streamview's `deepcopy`). Use `clone()` for the
    /// shallow copy that shares the buffers.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segments(["ab", "cd"]);
    /// let copy = stream.deep_clone();
    /// assert_eq!(copy.num_segments(), 1);
    /// assert_eq!(copy, stream);
    /// assert_ne!(copy.segment(0).unwrap().as_ptr(), stream.segment(0).unwrap().as_ptr());
    /// ```
    pub fn deep_clone(&self) -> AsyncStream {
        let mut copy = AsyncStream::new();
        if self.len > 0 {
            copy.segments.push_back(self.copy_all().freeze());
            copy.len = self.len;
        }
        copy.closed = self.closed;
        copy
    }

    /// Moves every byte of `other` to the back of this stream without copying, leaving `other`
    /// empty (its closed flag unchanged), and returns how many bytes moved. O(1) when this
    /// stream holds no segment, else O(segments of `other`).
    ///
    /// # Panics
    ///
    /// Panics when this stream is closed and `other` holds bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut front = streamview::AsyncStream::from("ab");
    /// let mut back = streamview::AsyncStream::from("cd");
    /// assert_eq!(front.append(&mut back), 2);
    /// assert_eq!(front, b"abcd");
    /// assert!(back.is_empty());
    /// ```
    #[track_caller]
    pub fn append(&mut self, other: &mut AsyncStream) -> usize {
        let moved = other.len;
        if moved == 0 {
            return 0;
        }
        if self.closed {
            panic_closed("append", self.len);
        }
        self.seal_tail();
        other.seal_tail();
        if self.segments.is_empty() {
            // O(1) whatever the segment count: the usual case of a reader taking a whole batch
            // once it ran dry; `other` keeps this stream's emptied deque and its allocation.
            std::mem::swap(&mut self.segments, &mut other.segments);
        } else {
            self.segments.append(&mut other.segments);
        }
        other.consumed(moved);
        self.len += moved;
        self.wake_reader();
        moved
    }

    /// Ends the writer side. Held bytes stay readable; once they are read, reads report end of
    /// file instead of *would block*. Byte-level writes then fail with
    /// [`io::ErrorKind::BrokenPipe`] and segment-level writes panic. Wakes a waiting reader.
    /// Idempotent.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{ErrorKind, Read, Write};
    ///
    /// let mut stream = streamview::AsyncStream::from("last");
    /// let mut buf = [0u8; 8];
    /// stream.close();
    /// assert_eq!(stream.write(b"more").unwrap_err().kind(), ErrorKind::BrokenPipe);
    /// assert_eq!(stream.read(&mut buf).unwrap(), 4);
    /// assert_eq!(stream.read(&mut buf).unwrap(), 0); // end of file
    /// ```
    pub fn close(&mut self) {
        self.closed = true;
        self.wake_reader();
    }

    /// Returns `true` once [`close`](Self::close) (or an async shutdown) ended the writer side.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// assert!(!stream.is_closed());
    /// stream.close();
    /// assert!(stream.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    // ---- the core operations the trait adapters share ----

    /// Freezes a non-empty write tail into the back segment (zero-copy: the frozen part keeps its
    /// place in the block, the tail keeps the block's spare capacity).
    #[inline]
    pub(crate) fn seal_tail(&mut self) {
        if !self.tail.is_empty() {
            self.freeze_tail();
        }
    }

    /// The sealing itself, kept out of line: inlined, `BytesMut::split` made every
    /// `write_segment` too large to inline and gave it a 168-byte stack frame to set up.
    #[inline(never)]
    fn freeze_tail(&mut self) {
        self.segments.push_back(self.tail.split().freeze());
    }

    /// Makes sure the write tail has spare capacity. When the current block is full it starts
    /// another of at least `max(block, wanted)` bytes (the block size is [`TAIL_BLOCK`] unless
    /// [`set_tail_block`](Self::set_tail_block) raised it), reusing a block this stream filled
    /// before once every segment cut from it has been dropped (see [`TailBlocks`]). The one place
    /// the tail grows.
    #[inline]
    pub(crate) fn reserve_tail(&mut self, wanted: usize) {
        if self.tail.capacity() == self.tail.len() {
            self.seal_tail();
            self.tail_blocks
                .renew(&mut self.tail, wanted.max(self.tail_blocks.block));
        }
    }

    /// Keeps up to `bytes` of filled write-tail blocks (at most 256 KiB) for reuse once their
    /// segments are dropped, instead of the default 32 KiB: the pipe's queue keeps about twice
    /// its capacity, so its byte path reuses blocks the reader released rather than allocating.
    #[cfg(feature = "tokio")]
    pub(crate) fn keep_tail_blocks(&mut self, bytes: usize) {
        self.tail_blocks.set_limit(bytes);
    }

    /// Starts new write-tail blocks of `bytes` (at least [`TAIL_BLOCK`], at most
    /// [`MAX_TAIL_BLOCK`]) from now on, and returns that size: the pipe's queue uses blocks the
    /// size of its capacity.
    #[cfg(feature = "tokio")]
    pub(crate) fn set_tail_block(&mut self, bytes: usize) -> usize {
        self.tail_blocks.block = bytes.clamp(TAIL_BLOCK, MAX_TAIL_BLOCK);
        self.tail_blocks.block
    }

    /// How many more bytes the stream may take: `isize::MAX - len()` while open, 0 once closed.
    #[inline]
    pub(crate) fn write_limit(&self) -> usize {
        if self.closed {
            0
        } else {
            MAX_LEN - self.len
        }
    }

    /// Panics, before anything changes, when the stream is closed or cannot take `count` more
    /// bytes; `operation` names the caller in the message.
    #[inline]
    #[track_caller]
    pub(crate) fn check_writable(&self, operation: &str, count: usize) {
        if self.closed {
            panic_closed(operation, self.len);
        }
        if count > MAX_LEN - self.len {
            panic_too_long(operation, count, MAX_LEN - self.len);
        }
    }

    /// Copies `src` into the write tail, filling the current block before starting another.
    ///
    /// The count is checked first (a panic naming it and the limit, nothing written), so the copy
    /// itself cannot fail part-way.
    #[inline]
    #[track_caller]
    pub(crate) fn write_tail(&mut self, src: &[u8]) {
        if src.is_empty() {
            return;
        }
        if src.len() > MAX_LEN - self.len {
            panic_too_long("write", src.len(), MAX_LEN - self.len);
        }
        if self.tail.is_empty() {
            self.tail_blocks.rewind(&mut self.tail, src.len());
        }
        // The usual small write: it fits in the current block.
        if src.len() <= self.tail.capacity() - self.tail.len() {
            self.len += src.len();
            extend_in_pieces(&mut self.tail, src);
            self.wake_reader();
        } else {
            self.write_tail_across_blocks(src);
        }
    }

    /// [`write_tail`](Self::write_tail) when `src` does not fit in the current block: fills it,
    /// then starts others. The count was checked.
    #[inline(never)]
    fn write_tail_across_blocks(&mut self, mut src: &[u8]) {
        self.len += src.len();
        // An empty tail was already started over where it could be (`TailBlocks::rewind`); the
        // loop goes on from whatever room the tail has now.
        while !src.is_empty() {
            self.reserve_tail(src.len());
            let room = self.tail.capacity() - self.tail.len();
            let (now, later) = src.split_at(room.min(src.len()));
            extend_in_pieces(&mut self.tail, now);
            src = later;
        }
        self.wake_reader();
    }

    /// Writes `count` copies of `byte` into the write tail (`BufMut::put_bytes`), the count
    /// checked first as in [`write_tail`](Self::write_tail).
    #[track_caller]
    pub(crate) fn fill_tail(&mut self, byte: u8, count: usize) {
        self.check_writable("BufMut::put_bytes", count);
        if count == 0 {
            return;
        }
        self.len += count;
        let mut left = count;
        while left > 0 {
            self.reserve_tail(left);
            let room = self.tail.capacity() - self.tail.len();
            let now = room.min(left);
            self.tail.put_bytes(byte, now);
            left -= now;
        }
        self.wake_reader();
    }

    /// The write tail's spare room, starting a new block when it is full (`BufMut::chunk_mut`).
    pub(crate) fn spare_room(&mut self) -> &mut [MaybeUninit<u8>] {
        self.reserve_tail(TAIL_BLOCK);
        self.tail.spare_capacity_mut()
    }

    /// Commits `count` bytes written into [`spare_room`](Self::spare_room) (`BufMut::advance_mut`):
    /// checks the count against the spare room (a panic naming both, nothing changed), then lets
    /// `commit` extend the tail by exactly `count` bytes.
    #[track_caller]
    pub(crate) fn commit_spare(&mut self, count: usize, commit: impl FnOnce(&mut BytesMut)) {
        // Closed first, even for a count of 0, as every other write (`put_slice(b"")` included).
        self.check_writable("BufMut::advance_mut", count);
        let spare = self.tail.capacity() - self.tail.len();
        if count > spare {
            panic_advance_mut(count, spare);
        }
        if count == 0 {
            return;
        }
        let before = self.tail.len();
        commit(&mut self.tail);
        debug_assert_eq!(self.tail.len(), before + count);
        self.len += count;
        self.wake_reader();
    }

    /// Runs `write` with the tail's spare room (at least `min_spare` bytes; a new block sized by
    /// [`reserve_tail`](Self::reserve_tail)`(wanted)` when less is left) as an empty `BytesMut`
    /// of its own, and commits what it appended when it returns `Ok`.
    ///
    /// On `Err`, on a panic, or when nothing was appended, the stream is left exactly as it was,
    /// spare room included: the bytes `write` appended are dropped, and a new block is only
    /// installed once it holds committed bytes. `write` never sees the bytes already held.
    #[cfg(feature = "codec")]
    pub(crate) fn write_with_spare<T, E>(
        &mut self,
        min_spare: usize,
        wanted: usize,
        write: impl FnOnce(&mut BytesMut) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut staged = SpareWrite::begin(self, min_spare.max(1), wanted);
        let value = write(&mut staged.frame)?;
        staged.commit();
        Ok(value)
    }

    /// Runs `fill` with the tail's spare room (at least `min_spare` bytes, a new block sized by
    /// [`reserve_tail`](Self::reserve_tail)`(wanted)` when less is left) as a `BufMut` limited
    /// to `max` bytes, and commits what it appended when it returns `Ok`.
    ///
    /// Cheaper than [`write_with_spare`](Self::write_with_spare) (no split of the block): the
    /// `BufMut` view can only append into the spare room, never see or change held bytes. On
    /// `Err`, on a panic, or when nothing was appended, the stream is left exactly as it was.
    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn fill_spare<T, E>(
        &mut self,
        min_spare: usize,
        wanted: usize,
        max: usize,
        fill: impl FnOnce(&mut bytes::buf::Limit<&mut BytesMut>) -> Result<T, E>,
    ) -> Result<T, E> {
        let staged = SpareFill::begin(self, min_spare.max(1), wanted);
        let value = fill(&mut (&mut staged.stream.tail).limit(max))?;
        staged.commit();
        Ok(value)
    }

    /// Moves the tail aside and starts a new block in its place (sized by `reserve_tail`), for a
    /// write that keeps the block only if it commits; returns the old tail.
    #[cfg(feature = "tokio")]
    #[cold]
    fn start_block_aside(&mut self, wanted: usize) -> BytesMut {
        let old = mem::take(&mut self.tail);
        // An empty, capacity-less tail: `reserve_tail` starts a block without sealing.
        self.reserve_tail(wanted);
        old
    }

    /// Runs `write` (a sequence of writes) and, if it panics, restores the stream to the state
    /// it had before, layout and spare room included. For writes whose parts come from a caller's
    /// code, such as a `Buf` handed to `BufMut::put`.
    pub(crate) fn write_all_or_nothing<R>(
        &mut self,
        write: impl FnOnce(&mut AsyncStream) -> R,
    ) -> R {
        match self.try_write_all_or_nothing(|stream| Ok::<R, Infallible>(write(stream))) {
            Ok(result) => result,
            Err(never) => match never {},
        }
    }

    /// [`write_all_or_nothing`](Self::write_all_or_nothing) for a write that can also fail by
    /// returning `Err`, such as formatting text whose `Display` fails part-way: restored then too.
    pub(crate) fn try_write_all_or_nothing<T, E>(
        &mut self,
        write: impl FnOnce(&mut AsyncStream) -> Result<T, E>,
    ) -> Result<T, E> {
        // A parked reader is woken once the whole write stands, never for a part rolled back.
        let parked_reader = self.read_waker.take();
        let mut rollback = Rollback {
            checkpoint: Checkpoint::of(self),
            stream: self,
            parked_reader,
            armed: true,
        };
        let result = write(&mut *rollback.stream);
        rollback.armed = result.is_err();
        result
    }

    #[cfg(feature = "tokio")]
    /// The frozen segments, read-only (the write tail is not among them): for helpers that plan
    /// a change and then make it through [`merge_segments`](Self::merge_segments).
    pub(crate) fn frozen_segments(&self) -> &VecDeque<Bytes> {
        &self.segments
    }

    #[cfg(feature = "tokio")]
    /// Replaces the run `range` of frozen segments with one segment holding their bytes (one
    /// copy). Content and length are unchanged; a run of fewer than two segments is left alone.
    pub(crate) fn merge_segments(&mut self, range: Range<usize>) {
        if range.len() < 2 {
            return;
        }
        let merged_len = self.segments.range(range.clone()).map(Bytes::len).sum();
        let mut merged = BytesMut::with_capacity(merged_len);
        for segment in self.segments.drain(range.clone()) {
            extend_in_pieces(&mut merged, &segment);
        }
        self.segments.insert(range.start, merged.freeze());
    }

    /// The byte-level write every `Write`-like trait uses: copies all of `src` into the tail.
    #[track_caller]
    pub(crate) fn write_bytes(&mut self, src: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Err(closed_error());
        }
        self.write_tail(src);
        Ok(src.len())
    }

    /// The vectored byte-level write: copies every slice, in order, after checking their total.
    #[track_caller]
    pub(crate) fn write_bytes_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        if self.closed {
            return Err(closed_error());
        }
        let total = bufs
            .iter()
            .fold(0usize, |total, buf| total.saturating_add(buf.len()));
        self.check_writable("write_vectored", total);
        for buf in bufs {
            self.write_tail(buf);
        }
        Ok(total)
    }

    /// The front segment (the write tail when no frozen segment is left): `Buf::chunk`.
    #[inline]
    pub(crate) fn front(&self) -> &[u8] {
        match self.segments.front() {
            Some(front) => front,
            None => &self.tail,
        }
    }

    /// Drops `cnt` front bytes (`Buf::advance`): panics, leaving the stream unchanged, when
    /// `cnt > len()`, naming both numbers.
    #[inline]
    #[track_caller]
    pub(crate) fn advance_front(&mut self, cnt: usize) {
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
        } else if cnt <= self.tail.len() {
            // No frozen segment: the front is the write tail (a pipe's byte-path read copies
            // straight out of it).
            self.tail.advance(cnt);
            self.consumed(cnt);
            return;
        }
        self.advance_across(cnt);
    }

    /// [`advance_front`](Self::advance_front) across segment boundaries, into the write tail,
    /// or past the end.
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

    /// Points `dst`'s slices at the held segments, front first (`Buf::chunks_vectored`); returns
    /// how many were filled.
    #[inline]
    pub(crate) fn front_io_slices<'a>(&'a self, dst: &mut [io::IoSlice<'a>]) -> usize {
        // The frozen segments straight from the deque (a tighter loop than `segments()`, which
        // checks for the tail at every step), then the tail if a slot is left.
        let mut filled = 0;
        for (slot, segment) in dst.iter_mut().zip(&self.segments) {
            *slot = io::IoSlice::new(segment);
            filled += 1;
        }
        if filled < dst.len() && !self.tail.is_empty() {
            dst[filled] = io::IoSlice::new(&self.tail);
            filled += 1;
        }
        filled
    }

    /// Hands up to `max` front bytes to `sink`, chunk by chunk, consuming them; returns how many.
    pub(crate) fn read_to(&mut self, max: usize, mut sink: impl FnMut(&[u8])) -> usize {
        let total = max.min(self.len);
        let mut left = total;
        while left > 0 {
            let chunk = self.chunk();
            let take = chunk.len().min(left);
            sink(&chunk[..take]);
            self.advance(take);
            left -= take;
        }
        total
    }

    /// The non-blocking read every `Read`-like trait uses: fills `dst` across segments until it
    /// is full or the stream is drained; *would block* when empty and open, `Ok(0)` at EOF.
    pub(crate) fn read_into(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        if dst.is_empty() || (self.len == 0 && self.closed) {
            return Ok(0);
        }
        if self.len == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut filled = 0;
        Ok(self.read_to(dst.len(), |chunk| fill_in_pieces(dst, &mut filled, chunk)))
    }

    /// The vectored form of [`read_into`](Self::read_into): fills every buffer in order, as
    /// `std::io::Cursor` does, until all are full or the stream is drained.
    pub(crate) fn read_into_vectored(
        &mut self,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> io::Result<usize> {
        if bufs.iter().all(|buf| buf.is_empty()) || (self.len == 0 && self.closed) {
            return Ok(0);
        }
        if self.len == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let mut total = 0;
        for buf in bufs.iter_mut() {
            if self.len == 0 {
                break;
            }
            total += self.read_into(buf)?;
        }
        Ok(total)
    }

    /// Ready when a read would not block (bytes held, or closed); otherwise stores the task's
    /// waker for the next write or close to wake.
    #[cfg(any(feature = "tokio", feature = "futures-io"))]
    pub(crate) fn poll_readable(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.len > 0 || self.closed {
            return Poll::Ready(());
        }
        match &mut self.read_waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Removes `n <= len` front bytes: zero-copy within one segment, one copy across several.
    #[inline]
    pub(crate) fn take_front(&mut self, n: usize) -> Bytes {
        debug_assert!(n <= self.len);
        if n == 0 {
            return Bytes::new();
        }
        let front_len = self.chunk().len();
        if n <= front_len {
            let taken = match self.segments.front_mut() {
                Some(_) if n == front_len => self.segments.pop_front().expect("front exists"),
                Some(front) => front.split_to(n),
                None => self.tail.split_to(n).freeze(),
            };
            self.consumed(n);
            return taken;
        }
        let mut contiguous = BytesMut::with_capacity(n);
        self.read_to(n, |chunk| extend_in_pieces(&mut contiguous, chunk));
        contiguous.freeze()
    }

    /// Bookkeeping after `n` bytes left the front.
    #[inline]
    pub(crate) fn consumed(&mut self, n: usize) {
        self.len -= n;
        self.newline_free = self.newline_free.saturating_sub(n);
    }

    /// Offset of the first `\n`, searching only past the bytes already known to hold none.
    pub(crate) fn find_newline(&mut self) -> Option<usize> {
        let mut offset = 0;
        for segment in self.segments() {
            let start = self.newline_free.saturating_sub(offset).min(segment.len());
            if let Some(at) = segment[start..].iter().position(|&b| b == b'\n') {
                return Some(offset + start + at);
            }
            offset += segment.len();
        }
        self.newline_free = self.len;
        None
    }

    /// Wakes a parked reader. The test is inline and the wake out of line: every write passes
    /// here, and with no reader parked it must cost one load, not a store of `None` as well.
    #[inline]
    fn wake_reader(&mut self) {
        if self.read_waker.is_some() {
            self.wake_parked_reader();
        }
    }

    #[cold]
    fn wake_parked_reader(&mut self) {
        if let Some(waker) = self.read_waker.take() {
            waker.wake();
        }
    }

    /// Content equality against a contiguous slice, segment by segment, without copying.
    fn content_eq(&self, other: &[u8]) -> bool {
        if self.len != other.len() {
            return false;
        }
        let mut rest = other;
        self.segments().all(|segment| {
            let (head, after) = rest.split_at(segment.len());
            rest = after;
            head == segment
        })
    }
}

/// Most bytes of filled tail blocks a stream keeps for reuse by default: four 8 KiB blocks. Kept
/// small because a kept block stays allocated while the stream lives, and a server may hold a
/// stream per connection; the pipe raises it for its queue (see
/// [`AsyncStream::keep_tail_blocks`]).
const RETIRED_TAIL_BYTES: usize = 4 * TAIL_BLOCK;

/// The most any stream keeps, whatever it asks for.
#[cfg(feature = "tokio")]
const MAX_RETIRED_TAIL_BYTES: usize = 256 * 1024;

/// The write tail's block recycling: byte writes copy into blocks that the stream cuts into
/// segments, and once a reader has dropped every segment of a block, the block can take new
/// writes without a new allocation ([`BytesMut::try_reclaim`]). Blocks filled by this stream are
/// kept, oldest first, up to `limit` bytes ([`RETIRED_TAIL_BYTES`] unless the owner asked for
/// more); a new tail reuses the oldest free one. [`AsyncStream::clear`] releases them.
#[derive(Debug)]
struct TailBlocks {
    /// Filled blocks (each an empty handle past its last byte) and their sizes, oldest first.
    retired: VecDeque<(BytesMut, usize)>,
    /// The sizes in `retired`, summed.
    retired_bytes: usize,
    /// The current tail block, as the address just past its end and its size, while the tail is
    /// a block `renew` made (other code may replace the tail with a block of its own).
    current: Option<(usize, usize)>,
    /// Most bytes of blocks kept in `retired`.
    limit: usize,
    /// The size of a new block: [`TAIL_BLOCK`] unless the owner asked for larger ones.
    block: usize,
}

impl TailBlocks {
    const fn new() -> TailBlocks {
        TailBlocks::with_limit(RETIRED_TAIL_BYTES)
    }

    const fn with_limit(limit: usize) -> TailBlocks {
        TailBlocks {
            retired: VecDeque::new(),
            retired_bytes: 0,
            current: None,
            limit,
            block: TAIL_BLOCK,
        }
    }

    /// No blocks yet, with the same limit and block size: for a cleared or cloned stream.
    fn fresh(&self) -> TailBlocks {
        TailBlocks {
            block: self.block,
            ..TailBlocks::with_limit(self.limit)
        }
    }

    /// Keeps at most `limit` bytes of blocks from now on, releasing the oldest beyond it.
    #[cfg(feature = "tokio")]
    fn set_limit(&mut self, limit: usize) {
        self.limit = limit.min(MAX_RETIRED_TAIL_BYTES);
        self.trim();
    }

    fn trim(&mut self) {
        while self.retired_bytes > self.limit {
            let (_, size) = self.retired.pop_front().expect("bytes are counted");
            self.retired_bytes -= size;
        }
    }

    /// Starts the current block over from its beginning when every byte written to it was read
    /// (`tail` is empty) and no segment cut from it is still held ([`BytesMut::try_reclaim`]
    /// finds it unique), as `tokio::io::duplex` writes its drained buffer again from the start:
    /// a writer and a reader taking turns then stay on the block's first few KiB, warm in the
    /// cache, instead of walking through all of it.
    ///
    /// A tail that is not a block made here is reclaimed only when a write of `wanted` bytes
    /// does not fit in its room.
    #[inline]
    fn rewind(&self, tail: &mut BytesMut, wanted: usize) {
        let whole = self.current.map_or(wanted, |(_, size)| size);
        if tail.capacity() < whole {
            // Not rewound when a segment cut from the block is still held: then the tail goes
            // on where it is.
            let _rewound = tail.try_reclaim(whole);
        }
    }

    /// Replaces the full, sealed (empty) `tail` with a block of room for at least `wanted`
    /// bytes, keeping the full one for later reuse.
    #[inline(never)]
    fn renew(&mut self, tail: &mut BytesMut, wanted: usize) {
        let full = std::mem::take(tail);
        if let Some((end, size)) = self.current.take() {
            // Only a block this keeps track of, filled to its end, is retired.
            if full.as_ptr() as usize == end && size <= self.limit {
                self.retired.push_back((full, size));
                self.retired_bytes += size;
                self.trim();
            }
        }
        // The block just filled is left out: a reader is usually still on it, and writing the
        // next block while it reads this one keeps the two from taking turns on one buffer.
        let older = self.retired.len().saturating_sub(1);
        let reclaimed = self
            .retired
            .iter_mut()
            .take(older)
            .position(|(block, _)| block.try_reclaim(wanted));
        *tail = match reclaimed {
            Some(index) => {
                let (block, size) = self.retired.remove(index).expect("found at index");
                self.retired_bytes -= size;
                block
            }
            None => BytesMut::with_capacity(wanted),
        };
        let size = tail.capacity();
        self.current = Some((tail.as_ptr() as usize + size, size));
    }
}

impl Default for AsyncStream {
    fn default() -> AsyncStream {
        AsyncStream::new()
    }
}

impl fmt::Debug for AsyncStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncStream")
            .field("segments", &self.num_segments())
            .field("len", &self.len)
            .field("closed", &self.closed)
            .finish()
    }
}

/// A shallow copy: a new queue over the same segment buffers (refcount clones), carrying the
/// closed flag. The unfrozen write tail's bytes are the only ones copied. A waiting reader's
/// waker is not carried over.
impl Clone for AsyncStream {
    fn clone(&self) -> AsyncStream {
        AsyncStream {
            segments: self.segments.clone(),
            tail: self.tail.clone(),
            len: self.len,
            newline_free: self.newline_free,
            closed: self.closed,
            read_waker: None,
            tail_blocks: self.tail_blocks.fresh(),
        }
    }
}

impl PartialEq for AsyncStream {
    fn eq(&self, other: &AsyncStream) -> bool {
        if self.len != other.len {
            return false;
        }
        let mut theirs = other.segments();
        let mut current: &[u8] = &[];
        for mut mine in self.segments() {
            while !mine.is_empty() {
                if current.is_empty() {
                    current = theirs.next().expect("equal lengths, so more segments");
                }
                let n = mine.len().min(current.len());
                if mine[..n] != current[..n] {
                    return false;
                }
                mine = &mine[n..];
                current = &current[n..];
            }
        }
        true
    }
}

impl Eq for AsyncStream {}

impl PartialEq<[u8]> for AsyncStream {
    fn eq(&self, other: &[u8]) -> bool {
        self.content_eq(other)
    }
}

impl PartialEq<&[u8]> for AsyncStream {
    fn eq(&self, other: &&[u8]) -> bool {
        self.content_eq(other)
    }
}

impl<const N: usize> PartialEq<[u8; N]> for AsyncStream {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.content_eq(other)
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for AsyncStream {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.content_eq(*other)
    }
}

impl PartialEq<Vec<u8>> for AsyncStream {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.content_eq(other)
    }
}

impl From<Bytes> for AsyncStream {
    fn from(segment: Bytes) -> AsyncStream {
        let mut stream = AsyncStream::new();
        stream.write_segment(segment);
        stream
    }
}

impl From<BytesMut> for AsyncStream {
    fn from(segment: BytesMut) -> AsyncStream {
        AsyncStream::from(segment.freeze())
    }
}

impl From<Vec<u8>> for AsyncStream {
    fn from(segment: Vec<u8>) -> AsyncStream {
        AsyncStream::from(Bytes::from(segment))
    }
}

impl From<&'static [u8]> for AsyncStream {
    fn from(segment: &'static [u8]) -> AsyncStream {
        AsyncStream::from(Bytes::from_static(segment))
    }
}

impl<const N: usize> From<&'static [u8; N]> for AsyncStream {
    fn from(segment: &'static [u8; N]) -> AsyncStream {
        AsyncStream::from(Bytes::from_static(segment))
    }
}

impl From<&'static str> for AsyncStream {
    fn from(segment: &'static str) -> AsyncStream {
        AsyncStream::from(Bytes::from_static(segment.as_bytes()))
    }
}

impl From<String> for AsyncStream {
    fn from(segment: String) -> AsyncStream {
        AsyncStream::from(Bytes::from(segment))
    }
}

impl FromIterator<Bytes> for AsyncStream {
    fn from_iter<I: IntoIterator<Item = Bytes>>(segments: I) -> AsyncStream {
        let mut stream = AsyncStream::new();
        stream.write_segments(segments);
        stream
    }
}

/// Appends each segment without copying, like [`AsyncStream::write_segments`].
///
/// # Panics
///
/// Panics when the stream is closed and the iterator yields a segment.
impl Extend<Bytes> for AsyncStream {
    fn extend<I: IntoIterator<Item = Bytes>>(&mut self, segments: I) {
        self.write_segments(segments);
    }
}

/// Iterator over an [`AsyncStream`]'s segments, front to back, returned by
/// [`AsyncStream::segments`]. Borrows, never copies.
///
/// # Examples
///
/// ```
/// let stream = streamview::AsyncStream::from("abc");
/// let mut segments = stream.segments();
/// assert_eq!(segments.len(), 1);
/// assert_eq!(segments.next(), Some(&b"abc"[..]));
/// ```
#[derive(Debug, Clone)]
pub struct Segments<'a> {
    frozen: vec_deque::Iter<'a, Bytes>,
    tail: Option<&'a [u8]>,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self.frozen.next() {
            Some(segment) => Some(segment),
            None => self.tail.take(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.len();
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Segments<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self.tail.take() {
            Some(tail) => Some(tail),
            None => self.frozen.next_back().map(|segment| &segment[..]),
        }
    }
}

impl ExactSizeIterator for Segments<'_> {
    fn len(&self) -> usize {
        self.frozen.len() + usize::from(self.tail.is_some())
    }
}

impl FusedIterator for Segments<'_> {}

/// Draining iterator over an [`AsyncStream`]'s segments, returned by
/// [`AsyncStream::read_segments`].
///
/// # Examples
///
/// ```
/// let mut stream = streamview::AsyncStream::from("abc");
/// let mut drained = stream.read_segments();
/// assert_eq!(drained.len(), 1);
/// assert_eq!(drained.next().unwrap(), "abc");
/// ```
#[derive(Debug)]
pub struct ReadSegments<'a> {
    drain: vec_deque::Drain<'a, Bytes>,
}

impl Iterator for ReadSegments<'_> {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        self.drain.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.drain.size_hint()
    }
}

impl DoubleEndedIterator for ReadSegments<'_> {
    fn next_back(&mut self) -> Option<Bytes> {
        self.drain.next_back()
    }
}

impl ExactSizeIterator for ReadSegments<'_> {}

impl FusedIterator for ReadSegments<'_> {}

/// Owning iterator over an [`AsyncStream`]'s segments, front to back, the write tail last;
/// returned by `into_iter()`. Hands out the buffers themselves, never copies.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
///
/// let frame = Bytes::from_static(b"frame");
/// let mut stream = streamview::AsyncStream::new();
/// stream.write_segments([frame.clone(), Bytes::from_static(b"next")]);
/// let segments: Vec<Bytes> = stream.into_iter().collect();
/// assert_eq!(segments, ["frame", "next"]);
/// assert_eq!(segments[0].as_ptr(), frame.as_ptr());
/// ```
#[derive(Debug)]
pub struct IntoSegments {
    segments: vec_deque::IntoIter<Bytes>,
}

impl Iterator for IntoSegments {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        self.segments.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.segments.size_hint()
    }
}

impl DoubleEndedIterator for IntoSegments {
    fn next_back(&mut self) -> Option<Bytes> {
        self.segments.next_back()
    }
}

impl ExactSizeIterator for IntoSegments {}

impl FusedIterator for IntoSegments {}

/// Consumes the stream into its segments, front to back, without copying; the write tail is
/// frozen in place and comes last. A waiting reader's waker is dropped, as when the stream is.
///
/// # Examples
///
/// ```
/// use std::io::Write;
///
/// let mut stream = streamview::AsyncStream::from("head ");
/// stream.write_all(b"tail").unwrap();
/// let mut joined = Vec::new();
/// for segment in stream {
///     joined.extend_from_slice(&segment);
/// }
/// assert_eq!(joined, b"head tail");
/// ```
impl IntoIterator for AsyncStream {
    type Item = Bytes;
    type IntoIter = IntoSegments;

    fn into_iter(mut self) -> IntoSegments {
        self.seal_tail();
        IntoSegments {
            segments: mem::take(&mut self.segments).into_iter(),
        }
    }
}

/// Text into the write tail, as `std::io::Write` does bytes, so `write!` formats straight into
/// the stream (small pieces share one block).
///
/// # Errors
///
/// [`fmt::Error`] when the stream is closed, or when a value's `Display` fails part-way; either
/// way nothing is written (`write!` takes back the text it wrote before the failure, and also
/// when a `Display` panics).
///
/// # Panics
///
/// As `BufMut` writes: a string that would take the stream past `isize::MAX` bytes.
///
/// # Examples
///
/// ```
/// use std::fmt::Write;
///
/// let mut stream = streamview::AsyncStream::new();
/// write!(stream, "{} + {} = {}", 1, 2, 1 + 2).unwrap();
/// assert_eq!(stream, b"1 + 2 = 3");
/// stream.close();
/// assert!(stream.write_str("more").is_err());
/// assert_eq!(stream.len(), 9);
/// ```
impl fmt::Write for AsyncStream {
    #[track_caller]
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if self.closed {
            return Err(fmt::Error);
        }
        self.write_tail(text.as_bytes());
        Ok(())
    }

    /// Writes the whole text or nothing: when a `Display` fails or panics part-way, the parts
    /// already written are taken back out.
    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> fmt::Result {
        self.try_write_all_or_nothing(|stream| fmt::write(stream, args))
    }
}

/// The state a failed multi-part write is rolled back to: enough to rebuild the write tail with
/// its spare room whatever the write did to it (sealed it, started new blocks, pushed segments).
struct Checkpoint {
    segments: usize,
    tail_start: *const u8,
    tail_len: usize,
    tail_capacity: usize,
    len: usize,
    newline_free: usize,
}

impl Checkpoint {
    fn of(stream: &AsyncStream) -> Checkpoint {
        Checkpoint {
            segments: stream.segments.len(),
            tail_start: stream.tail.as_ptr(),
            tail_len: stream.tail.len(),
            tail_capacity: stream.tail.capacity(),
            len: stream.len,
            newline_free: stream.newline_free,
        }
    }

    /// Puts `stream` back as it was, assuming only writes (appends) happened since.
    fn restore(&self, stream: &mut AsyncStream) {
        let same_tail = stream.segments.len() == self.segments
            && stream.tail.as_ptr() == self.tail_start
            && stream.tail.capacity() == self.tail_capacity;
        if same_tail {
            stream.tail.truncate(self.tail_len);
        } else {
            // The old tail was sealed into the first segment pushed since (its bytes first), or
            // is still the tail; either way its bytes are rebuilt in a block of its old capacity,
            // so later writes lay out as if the failed one never happened.
            let old_bytes = match stream.segments.get(self.segments) {
                Some(sealed) if self.tail_len > 0 => &sealed[..self.tail_len],
                _ => &stream.tail[..self.tail_len.min(stream.tail.len())],
            };
            let mut tail = BytesMut::with_capacity(self.tail_capacity);
            tail.extend_from_slice(old_bytes);
            stream.tail = tail;
            stream.segments.truncate(self.segments);
        }
        stream.len = self.len;
        stream.newline_free = self.newline_free;
    }
}

/// Restores a [`Checkpoint`] when dropped armed, that is when the write it guards unwinds, and
/// gives back the waker of a reader parked before the write, waking it if the write stood and
/// added bytes.
struct Rollback<'a> {
    stream: &'a mut AsyncStream,
    checkpoint: Checkpoint,
    parked_reader: Option<Waker>,
    armed: bool,
}

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.checkpoint.restore(self.stream);
        }
        if self.stream.read_waker.is_none() {
            self.stream.read_waker = self.parked_reader.take();
        }
        if !self.armed && self.stream.len > self.checkpoint.len {
            self.stream.wake_reader();
        }
    }
}

/// A write into the tail's spare room held apart from the stream until it is committed; see
/// [`AsyncStream::write_with_spare`]. Dropped uncommitted (an error or a panic), it puts the tail
/// back with its spare room.
#[cfg(feature = "codec")]
struct SpareWrite<'a> {
    stream: &'a mut AsyncStream,
    /// The spare room handed to the writer, as a `BytesMut` of its own.
    frame: BytesMut,
    /// The old tail, when a new block had to be started: it stays the tail unless bytes commit.
    set_aside: Option<BytesMut>,
    tail_len: usize,
    tail_capacity: usize,
    committed: bool,
}

#[cfg(feature = "codec")]
impl<'a> SpareWrite<'a> {
    fn begin(stream: &'a mut AsyncStream, min_spare: usize, wanted: usize) -> SpareWrite<'a> {
        let tail_len = stream.tail.len();
        let tail_capacity = stream.tail.capacity();
        let set_aside = if tail_capacity - tail_len < min_spare {
            Some(stream.start_block_aside(wanted.max(min_spare)))
        } else {
            None
        };
        let frame = stream.tail.split_off(stream.tail.len());
        SpareWrite {
            stream,
            frame,
            set_aside,
            tail_len,
            tail_capacity,
            committed: false,
        }
    }

    /// Makes the appended bytes part of the stream; with none appended, the drop undoes all.
    fn commit(mut self) {
        let added = self.frame.len();
        if added == 0 {
            return;
        }
        self.committed = true;
        let frame = mem::take(&mut self.frame);
        let stream = &mut *self.stream;
        if let Some(old) = self.set_aside.take() {
            if !old.is_empty() {
                stream.segments.push_back(old.freeze());
            }
            stream.tail = frame;
        } else if follows(&stream.tail, &frame) {
            // Same block, right after the tail: O(1), no copy.
            stream.tail.unsplit(frame);
        } else {
            // The writer outgrew the block and moved to a fresh one: that block is the tail now.
            stream.seal_tail();
            stream.tail = frame;
        }
        stream.len += added;
        stream.wake_reader();
    }
}

#[cfg(feature = "codec")]
impl Drop for SpareWrite<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let stream = &mut *self.stream;
        if let Some(old) = self.set_aside.take() {
            stream.tail = old;
            return;
        }
        let mut frame = mem::take(&mut self.frame);
        frame.clear();
        if follows(&stream.tail, &frame) {
            stream.tail.unsplit(frame);
        }
        if stream.tail.len() != self.tail_len || stream.tail.capacity() != self.tail_capacity {
            // The writer moved or cut its room: rebuild the tail with its old spare room.
            let mut tail = BytesMut::with_capacity(self.tail_capacity);
            tail.extend_from_slice(&stream.tail[..self.tail_len.min(stream.tail.len())]);
            stream.tail = tail;
        }
    }
}

#[cfg(feature = "tokio")]
/// An append into the tail's spare room in place (see [`AsyncStream::fill_spare`]); dropped
/// uncommitted it truncates the tail back and puts a set-aside tail back.
#[cfg(feature = "tokio")]
struct SpareFill<'a> {
    stream: &'a mut AsyncStream,
    /// The old tail, when a new block had to be started: it stays the tail unless bytes commit.
    set_aside: Option<BytesMut>,
    tail_len: usize,
    committed: bool,
}

#[cfg(feature = "tokio")]
impl<'a> SpareFill<'a> {
    #[inline]
    fn begin(stream: &'a mut AsyncStream, min_spare: usize, wanted: usize) -> SpareFill<'a> {
        let set_aside = if stream.tail.capacity() - stream.tail.len() < min_spare {
            Some(stream.start_block_aside(wanted.max(min_spare)))
        } else {
            None
        };
        SpareFill {
            tail_len: stream.tail.len(),
            stream,
            set_aside,
            committed: false,
        }
    }

    #[inline]
    fn commit(mut self) {
        let added = self.stream.tail.len() - self.tail_len;
        if added == 0 {
            return;
        }
        self.committed = true;
        let stream = &mut *self.stream;
        if let Some(old) = self.set_aside.take() {
            // The old tail's bytes come first: seal them, then the new block is the tail.
            let fresh = mem::replace(&mut stream.tail, old);
            stream.seal_tail();
            stream.tail = fresh;
        }
        stream.len += added;
        stream.wake_reader();
    }
}

#[cfg(feature = "tokio")]
impl Drop for SpareFill<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        match self.set_aside.take() {
            Some(old) => self.stream.tail = old,
            None => self.stream.tail.truncate(self.tail_len),
        }
    }
}

/// `true` when `next` starts where `tail`'s bytes end, so `unsplit` joins them without a copy.
#[cfg(feature = "codec")]
fn follows(tail: &BytesMut, next: &BytesMut) -> bool {
    tail.as_ptr().wrapping_add(tail.len()) == next.as_ptr()
}
