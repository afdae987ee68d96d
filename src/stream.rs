//! The segment queue: [`AsyncStream`] and the operations every I/O trait adapter is built on.

use std::collections::{vec_deque, VecDeque};
use std::fmt;
use std::io;
use std::iter::FusedIterator;
use std::task::Waker;
#[cfg(any(feature = "tokio", feature = "futures-io"))]
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::panic_closed;

/// The smallest block the write tail allocates. Byte-level writes share blocks of this size (or
/// of the write's own size when larger), so small writes never allocate one buffer each.
pub(crate) const TAIL_BLOCK: usize = 8 * 1024;

/// A zero-copy, non-blocking byte stream: a queue of [`Bytes`] segments plus a write tail.
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
/// - [`len`](Self::len) is a running count, O(1).
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
pub struct AsyncStream {
    /// Frozen segments, front first. None is empty.
    pub(crate) segments: VecDeque<Bytes>,
    /// Bytes written byte-wise and not yet frozen; logically after every segment.
    pub(crate) tail: BytesMut,
    /// Bytes held: the segments' lengths plus the tail's.
    pub(crate) len: usize,
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

    /// Returns how many bytes the stream holds (the seed's `nbytes`). O(1).
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

    /// Returns `true` when the stream holds no bytes (the seed's `not bool(s)`).
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

    /// Returns how many segments the stream holds (the seed's `len(s)`); a non-empty write tail
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
    /// or copying (the seed's `views`).
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

    /// Returns segment `index` (front is 0) without consuming it (the seed's `s[i]`; for the
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

    /// Appends `segment` without copying it (the seed's `writeview`) and returns its length. An
    /// empty segment is ignored.
    ///
    /// # Panics
    ///
    /// Panics when the stream is closed: a segment handed over after `close()` would be lost.
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

    /// Appends every segment of `segments` without copying (the seed's `writeviews`) and returns
    /// how many bytes were added. Empty segments are ignored.
    ///
    /// # Panics
    ///
    /// Panics when the stream is closed and the iterator yields a segment.
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
        segments
            .into_iter()
            .map(|segment| self.write_segment(segment))
            .sum()
    }

    /// Removes and returns the front segment whole, no copy (the seed's `readview`); `None` when
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
    pub fn read_segment(&mut self) -> Option<Bytes> {
        let segment = match self.segments.pop_front() {
            Some(segment) => segment,
            None if !self.tail.is_empty() => self.tail.split().freeze(),
            None => return None,
        };
        self.consumed(segment.len());
        Some(segment)
    }

    /// Removes every segment, front to back, as a draining iterator (the seed's `readviews`).
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

    /// Pushes `segment` back to the front, no copy (the seed's `unreadview`), and returns its
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

    /// Removes and returns the back segment (the write tail when it holds bytes), no copy (the
    /// seed's `unwriteview`); `None` when the stream is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut stream = streamview::AsyncStream::new();
    /// stream.write_segments(["ab", "cd"]);
    /// assert_eq!(stream.unwrite_segment().unwrap(), "cd");
    /// assert_eq!(stream.len(), 2);
    /// ```
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

    /// Removes and returns at most `max` bytes from the front segment only, no copy (the seed's
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

    /// Removes and returns `min(n, len())` bytes from the front (the seed's `read(n)`).
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
    pub fn read_bytes(&mut self, n: usize) -> Bytes {
        self.take_front(n.min(self.len))
    }

    /// Removes and returns the next line, `\n` included (the seed's `readline`).
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
    pub fn read_line(&mut self) -> Option<Bytes> {
        match self.find_newline() {
            Some(newline_at) => Some(self.take_front(newline_at + 1)),
            None if self.closed && self.len > 0 => Some(self.take_front(self.len)),
            None => None,
        }
    }

    /// Drops up to `n` bytes from the front without copying (the seed's `seek(n)`) and returns
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

    /// Keeps only the first `n` bytes, without copying (the seed's `truncate`). Does nothing when
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

    /// Releases every segment and the write tail (the seed's `close()`, which in Rust is split in
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
    }

    /// Returns every held byte as one contiguous [`Bytes`] without consuming (the seed's
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
        let mut contiguous = BytesMut::with_capacity(self.len);
        for segment in self.segments() {
            contiguous.extend_from_slice(segment);
        }
        contiguous.freeze()
    }

    /// Returns an independent copy whose bytes live in exactly one fresh segment (none when
    /// empty); it carries the closed flag (the seed's `deepcopy`). Use `clone()` for the
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
            let mut contiguous = BytesMut::with_capacity(self.len);
            for segment in self.segments() {
                contiguous.extend_from_slice(segment);
            }
            copy.segments.push_back(contiguous.freeze());
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
    /// another of at least `max(TAIL_BLOCK, wanted)` bytes, reusing a block this stream filled
    /// before once every segment cut from it has been dropped (see [`TailBlocks`]).
    #[inline]
    pub(crate) fn reserve_tail(&mut self, wanted: usize) {
        if self.tail.capacity() == self.tail.len() {
            self.seal_tail();
            self.tail_blocks
                .renew(&mut self.tail, wanted.max(TAIL_BLOCK));
        }
    }

    /// Copies `src` into the write tail, filling the current block before starting another.
    pub(crate) fn write_tail(&mut self, mut src: &[u8]) {
        if src.is_empty() {
            return;
        }
        self.len += src.len();
        while !src.is_empty() {
            self.reserve_tail(src.len());
            let room = self.tail.capacity() - self.tail.len();
            let (now, later) = src.split_at(room.min(src.len()));
            self.tail.extend_from_slice(now);
            src = later;
        }
        self.wake_reader();
    }

    /// Records `added` bytes committed straight into the tail's spare capacity.
    pub(crate) fn committed_to_tail(&mut self, added: usize) {
        self.len += added;
        if added > 0 {
            self.wake_reader();
        }
    }

    /// The byte-level write every `Write`-like trait uses: copies all of `src` into the tail.
    pub(crate) fn write_bytes(&mut self, src: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Err(closed_error());
        }
        self.write_tail(src);
        Ok(src.len())
    }

    /// The vectored byte-level write: copies every slice, in order.
    pub(crate) fn write_bytes_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        if self.closed {
            return Err(closed_error());
        }
        Ok(bufs
            .iter()
            .map(|buf| {
                self.write_tail(buf);
                buf.len()
            })
            .sum())
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
        Ok(self.read_to(dst.len(), |chunk| {
            dst[filled..filled + chunk.len()].copy_from_slice(chunk);
            filled += chunk.len();
        }))
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
        contiguous.put((&mut *self).take(n));
        contiguous.freeze()
    }

    /// Bookkeeping after `n` bytes left the front.
    #[inline]
    pub(crate) fn consumed(&mut self, n: usize) {
        self.len -= n;
        self.newline_free = self.newline_free.saturating_sub(n);
    }

    /// Offset of the first `\n`, searching only past the bytes already known to hold none.
    fn find_newline(&mut self) -> Option<usize> {
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

/// Most bytes of filled tail blocks a stream keeps for reuse: enough for a pipe's 64 KiB in
/// flight in 8 KiB blocks, or two 64 KiB blocks, several times over.
const RETIRED_TAIL_BYTES: usize = 256 * 1024;

/// The write tail's block recycling: byte writes copy into blocks that the stream cuts into
/// segments, and once a reader has dropped every segment of a block, the block can take new
/// writes without a new allocation ([`BytesMut::try_reclaim`]). Blocks filled by this stream are
/// kept, oldest first, up to [`RETIRED_TAIL_BYTES`]; a new tail reuses the oldest free one.
#[derive(Debug)]
struct TailBlocks {
    /// Filled blocks (each an empty handle past its last byte) and their sizes, oldest first.
    retired: VecDeque<(BytesMut, usize)>,
    /// The sizes in `retired`, summed.
    retired_bytes: usize,
    /// The current tail block, as the address just past its end and its size, while the tail is
    /// a block `renew` made (other code may replace the tail with a block of its own).
    current: Option<(usize, usize)>,
}

impl TailBlocks {
    const fn new() -> TailBlocks {
        TailBlocks {
            retired: VecDeque::new(),
            retired_bytes: 0,
            current: None,
        }
    }

    /// Replaces the full, sealed (empty) `tail` with a block of room for at least `wanted`
    /// bytes, keeping the full one for later reuse.
    #[inline(never)]
    fn renew(&mut self, tail: &mut BytesMut, wanted: usize) {
        let full = std::mem::take(tail);
        if let Some((end, size)) = self.current.take() {
            // Only a block this keeps track of, filled to its end, is retired.
            if full.as_ptr() as usize == end && size <= RETIRED_TAIL_BYTES {
                self.retired.push_back((full, size));
                self.retired_bytes += size;
                while self.retired_bytes > RETIRED_TAIL_BYTES {
                    let (_, size) = self.retired.pop_front().expect("bytes are counted");
                    self.retired_bytes -= size;
                }
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

/// The error byte-level writes return after [`AsyncStream::close`].
pub(crate) fn closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "write to a closed AsyncStream: close() ended the writer side",
    )
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
            tail_blocks: TailBlocks::new(),
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
