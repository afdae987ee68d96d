//! The state both pipe halves share: the queue and the wakers behind one lock, and the reader's
//! consumption count in an atomic the reader bumps without the lock.

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::task::Waker;

use crossbeam_utils::CachePadded;

use crate::loom::{Arc, AtomicUsize, Mutex, MutexGuard};
use crate::stream::AsyncStream;
use crate::waker::{park, wake};

/// What the writer and the reader share.
///
/// Bytes in flight are the writer's count of bytes written (kept by the writer) minus
/// [`consumed`](Self::consumed), the reader's count of bytes consumed. The reader adds to its
/// count after every read without taking the lock, so the writer sees room, and
/// [`PipeWriter::len`](crate::PipeWriter::len) is exact, as soon as a read returns. A writer that
/// finds no room parks its waker under the lock and sets [`WRITER_WAITING`] in the same word;
/// the read that makes room sees the flag in its own update and wakes the writer, so there is no
/// wake-up traffic while nobody waits. The capacity is not here: each half keeps its own copy.
#[derive(Debug)]
pub(crate) struct Shared {
    state: CachePadded<Mutex<State>>,
    /// The reader's consumption count (wrapping at [`COUNT_MASK`]), shifted left by one, with
    /// [`WRITER_WAITING`] in the low bit. Counts and flag share one word so that the reader's
    /// update and the writer's "I wait" are ordered by the word itself: either the writer's
    /// update sees the reader's bytes, or the reader's update sees the flag. On a cache line of
    /// its own: the reader updates it on every read, the writer updates the state on every write.
    consumed: CachePadded<AtomicUsize>,
    /// The writer's count of bytes written when it last parked: with the capacity, what tells
    /// the reader whether a read made room for it.
    written_when_parked: AtomicUsize,
}

/// The low bit of [`Shared::consumed`]: the writer parked for room and wants the read that
/// makes room to wake it. Set and cleared only under the lock, next to the writer's waker.
const WRITER_WAITING: usize = 1;

/// Byte counts wrap at this mask (2^63 on 64-bit targets): the atomic spends a bit on the flag.
/// Bytes in flight are far fewer, so wrapping differences stay exact.
pub(crate) const COUNT_MASK: usize = usize::MAX >> 1;

/// Bytes from count `earlier` to count `later`, both wrapping at [`COUNT_MASK`].
#[inline]
pub(crate) fn count_between(earlier: usize, later: usize) -> usize {
    later.wrapping_sub(earlier) & COUNT_MASK
}

/// The locked part of [`Shared`].
#[derive(Debug)]
pub(crate) struct State {
    /// Written segments the reader has not taken yet; its closed flag is the writer's close.
    pub(crate) queue: AsyncStream,
    /// The reader was dropped: writes fail and the queue is released.
    pub(crate) reader_gone: bool,
    reader_waker: Option<Waker>,
    writer_waker: Option<Waker>,
}

impl Shared {
    /// The shared state of a pipe of `capacity` bytes.
    pub(crate) fn new(capacity: usize) -> Arc<Shared> {
        let mut queue = AsyncStream::new();
        // Byte writes go into blocks the size of the capacity (8 to 64 KiB), as
        // `tokio::io::duplex` keeps one buffer that large: a drained block is written again from
        // its start, and a write seldom straddles two blocks (with 8 KiB blocks, every other
        // 4 KiB frame did, and each block filled cost a segment cut and a block renewed).
        let block = queue.set_tail_block(capacity);
        // Blocks for the bytes in flight and as many again, so a block the reader released is
        // free by the time the writer needs one; beyond that a pipe allocates as it goes.
        queue.keep_tail_blocks(capacity.saturating_mul(2).saturating_add(2 * block));
        Arc::new(Shared {
            state: CachePadded::new(Mutex::new(State {
                queue,
                reader_gone: false,
                reader_waker: None,
                writer_waker: None,
            })),
            consumed: CachePadded::new(AtomicUsize::new(0)),
            written_when_parked: AtomicUsize::new(0),
        })
    }

    /// Locks the state. Nothing panics while holding the lock, but if a caller's code ever did,
    /// the state would still be consistent: every mutation is a single step.
    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Bytes in flight for a writer that has written `written` bytes: not yet consumed by the
    /// reader, as of the reader's last read.
    #[inline]
    pub(crate) fn in_flight(&self, written: usize) -> usize {
        count_between(self.consumed(), written)
    }

    /// The reader's consumed count as of its last read (wrapping at [`COUNT_MASK`]).
    #[inline]
    pub(crate) fn consumed(&self) -> usize {
        self.consumed.load(Acquire) >> 1
    }

    /// The writer parks: stores `waker` for the read that makes room, publishes `written` and
    /// sets [`WRITER_WAITING`]. Returns the consumed count as of the flag's setting (the reader
    /// may have made room meanwhile: then the flag is cleared again) and a replaced waker to
    /// drop after unlocking.
    pub(crate) fn park_writer(
        &self,
        state: &mut State,
        waker: &Waker,
        written: usize,
        capacity: usize,
    ) -> (usize, Option<Waker>) {
        let replaced = park(&mut state.writer_waker, waker);
        self.written_when_parked.store(written, Relaxed);
        // AcqRel: the reader's update that sees the flag also sees `written_when_parked`.
        let word = self.consumed.fetch_or(WRITER_WAITING, AcqRel);
        let consumed = word >> 1;
        if count_between(consumed, written) < capacity {
            self.consumed.fetch_and(!WRITER_WAITING, Relaxed);
        }
        (consumed, replaced)
    }

    /// The reader consumed `n` more bytes (`n > 0`), counting from the last call. Lock-free;
    /// when the writer waits for room and these bytes made it, wakes it after the lock is
    /// released.
    #[inline]
    pub(crate) fn add_consumed(&self, n: usize, capacity: usize) {
        let before = self.consumed.fetch_add(n << 1, AcqRel);
        if before & WRITER_WAITING != 0 {
            self.wake_writer_if_room((before >> 1).wrapping_add(n), capacity);
        }
    }

    #[cold]
    #[inline(never)]
    fn wake_writer_if_room(&self, consumed: usize, capacity: usize) {
        let written = self.written_when_parked.load(Relaxed);
        if count_between(consumed, written) >= capacity {
            return; // still full for the writer (a segment larger than the capacity, say)
        }
        let mut state = self.lock();
        // Cleared under the lock, where the writer sets it, so a newer park's flag survives.
        self.consumed.fetch_and(!WRITER_WAITING, Relaxed);
        let writer = state.writer_waker.take();
        drop(state);
        wake(writer);
    }
}

impl State {
    /// Stores the reader's waker; returns a replaced one for the caller to drop after unlocking.
    pub(crate) fn park_reader(&mut self, waker: &Waker) -> Option<Waker> {
        park(&mut self.reader_waker, waker)
    }

    /// The reader's waker, taken out so it is woken after the guard is dropped.
    pub(crate) fn take_reader_waker(&mut self) -> Option<Waker> {
        self.reader_waker.take()
    }

    /// The writer's waker, taken out so it is woken after the guard is dropped.
    pub(crate) fn take_writer_waker(&mut self) -> Option<Waker> {
        self.writer_waker.take()
    }
}
