//! The state the broadcast writer and every reader share, behind one lock: the log of written
//! segments, each reader's published position, and the parked wakers; and, outside the lock,
//! the position a parked writer waits for the slowest reader to reach.

use std::collections::VecDeque;
use std::io;
use std::task::Waker;

use bytes::Bytes;
use crossbeam_utils::CachePadded;

use crate::error::{broadcast_closed_error, no_readers_error};
use crate::loom::{fence, Arc, AtomicU64, Mutex, MutexGuard, Ordering};
use crate::stream::AsyncStream;
use crate::waker::{park, wake, WakeList};

/// What the writer and the readers share.
///
/// A writer that finds no room parks its waker under the lock and stores in
/// [`room_wanted`](Self::room_wanted) the position every reader must reach for it to have room
/// again (its `end` minus the capacity, plus one). Each read stores the reader's new position,
/// then loads `room_wanted`: the read that carries a reader from below that position to it or
/// past it takes the lock and wakes the writer if the slowest reader is now there. Readers
/// already past it never do, so with nobody waiting a read costs one store and one load, and
/// with several readers the last one to cross (the slowest) is the one that wakes the writer.
/// Both sides store, then a `SeqCst` fence, then load: either the writer's check after storing
/// `room_wanted` sees the reader's position, or the reader's load sees `room_wanted`. (Fences
/// rather than `SeqCst` accesses: loom models the fences exactly.)
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// The position the slowest reader must reach to make room for the parked writer; 0 while
    /// the writer is not parked (a real one is at least 1). Stored under the lock only.
    /// On a cache line of its own: the readers load it on every read, and the writer takes the
    /// lock next to it on every write.
    room_wanted: CachePadded<AtomicU64>,
}

/// Where a reader publishes its position (an absolute offset) for the writer: one per reader,
/// each on a cache line of its own, since every read stores to it.
pub(crate) type PositionCell = Arc<CachePadded<AtomicU64>>;

/// One written segment and the absolute offset of its first byte.
#[derive(Debug)]
struct LogSegment {
    start: u64,
    bytes: Bytes,
}

/// A live reader's entry: where it has read up to, and its waker while it waits for bytes.
#[derive(Debug)]
struct ReaderSlot {
    /// The reader's published position (absolute offset). Only the reader stores to it, outside
    /// the lock, and only ever forward; the writer reads it under the lock.
    position: PositionCell,
    /// The offset up to which the reader has taken segments from the log (a segment boundary,
    /// at or past `position`). Changed under the lock only, by the reader's fetch.
    fetched: u64,
    waker: Option<Waker>,
}

/// The locked part of [`Shared`].
///
/// Positions are absolute byte offsets since the broadcast was made. The log holds the written
/// segments some reader has yet to fetch, up to `end`, never an empty segment: the reader that
/// fetches a segment last takes it out of the log whole (a move, no refcount update), and the
/// others take clones. Bytes held for the slowest reader are `end - min(positions)`, counting
/// what readers have fetched but not read, and the writer is refused room while that is
/// `capacity` or more, so the log and the readers' batches together stay within `capacity` plus
/// one segment (plus the part of the front segment already read) whatever the reader count.
#[derive(Debug)]
pub(crate) struct State {
    log: VecDeque<LogSegment>,
    /// Offset one past the last byte written.
    end: u64,
    /// Never above any live reader's position (positions only move forward); exact after
    /// [`refresh_min`](Self::refresh_min).
    min_position: u64,
    /// Reader slots by id; `None` is a free slot (listed in `free_slots`).
    readers: Vec<Option<ReaderSlot>>,
    free_slots: Vec<usize>,
    live_readers: usize,
    /// Ids of the readers whose slot holds a waker.
    parked_readers: Vec<usize>,
    writer_waker: Option<Waker>,
    /// The writer closed (or was dropped): readers see end of file once they reach `end`.
    closed: bool,
}

/// Why a write found no room.
#[derive(Debug)]
pub(crate) enum Refusal {
    Full,
    NoReaders,
    Closed,
}

impl Refusal {
    /// The error a waiting write reports; `None` for `Full`, which waits instead.
    pub(crate) fn into_io_error(self) -> Option<io::Error> {
        match self {
            Refusal::Full => None,
            Refusal::NoReaders => Some(no_readers_error()),
            Refusal::Closed => Some(broadcast_closed_error()),
        }
    }
}

impl Shared {
    pub(crate) fn new() -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State {
                log: VecDeque::new(),
                end: 0,
                min_position: 0,
                readers: Vec::new(),
                free_slots: Vec::new(),
                live_readers: 0,
                parked_readers: Vec::new(),
                writer_waker: None,
                closed: false,
            }),
            room_wanted: CachePadded::new(AtomicU64::new(0)),
        })
    }

    /// A write found no room (`state.room(capacity) == 0`): parks `waker` for the read that
    /// makes room and publishes the position that read must reach. Returns `Err(())` when a
    /// reader made room meanwhile (nothing parked: write now), else the replaced waker to drop
    /// after unlocking.
    pub(crate) fn park_writer(
        &self,
        state: &mut State,
        waker: &Waker,
        capacity: usize,
    ) -> Result<Option<Waker>, ()> {
        // Full: end - min >= capacity, so end >= capacity and the position wanted is >= 1.
        let wanted = state.end + 1 - capacity as u64;
        self.room_wanted.store(wanted, Ordering::Relaxed);
        // Pairs with the fence in `reader_advanced`: positions stored before this fence are seen
        // below; a reader storing later sees `room_wanted`.
        fence(Ordering::SeqCst);
        state.refresh_min();
        if state.min_position >= wanted {
            self.room_wanted.store(0, Ordering::Relaxed);
            return Err(());
        }
        Ok(park(&mut state.writer_waker, waker))
    }

    /// A reader moved its published position from `before` to `after` (already stored).
    /// Wakes the parked writer when this move carried the reader across the position the
    /// writer waits for and the slowest reader is there now. No lock unless it crossed.
    #[inline]
    pub(crate) fn reader_advanced(&self, before: u64, after: u64, capacity: usize) {
        // Pairs with the fence in `park_writer`.
        fence(Ordering::SeqCst);
        let wanted = self.room_wanted.load(Ordering::Relaxed);
        if wanted != 0 && before < wanted && after >= wanted {
            self.wake_writer_if_ready(capacity);
        }
    }

    #[cold]
    #[inline(never)]
    fn wake_writer_if_ready(&self, capacity: usize) {
        let mut state = self.lock();
        let writer = self.take_writer_waker_if_ready(&mut state, capacity);
        drop(state);
        wake(writer);
    }

    /// The writer's waker when its wait is over (room, or no reader left), taken out to be woken
    /// after unlocking; clears [`room_wanted`](Self::room_wanted) with it.
    pub(crate) fn take_writer_waker_if_ready(
        &self,
        state: &mut State,
        capacity: usize,
    ) -> Option<Waker> {
        state.writer_waker.as_ref()?;
        if state.live_readers == 0 || state.room(capacity) > 0 {
            self.room_wanted.store(0, Ordering::Relaxed);
            state.writer_waker.take()
        } else {
            None
        }
    }

    /// Locks the state. Every mutation under the lock is a single consistent step, so a panic
    /// elsewhere while it was held would still leave valid state.
    #[inline]
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }
}

impl State {
    /// Offset one past the last byte written.
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    pub(crate) fn live_readers(&self) -> usize {
        self.live_readers
    }

    /// Registers a reader at `position` (at least the slowest live reader's, at most `end`) that
    /// has fetched up to `fetched` (between `position` and `end`: the log still holds what
    /// follows); returns its id and the cell it publishes its position in.
    pub(crate) fn add_reader(&mut self, position: u64, fetched: u64) -> (usize, PositionCell) {
        debug_assert!(position <= fetched && fetched <= self.end);
        if self.live_readers == 0 {
            // Nothing constrains the log any more: the new reader is the only one.
            self.min_position = position;
        }
        debug_assert!(position >= self.min_position);
        let cell = Arc::new(CachePadded::new(AtomicU64::new(position)));
        let slot = ReaderSlot {
            position: cell.clone(),
            fetched,
            waker: None,
        };
        let id = match self.free_slots.pop() {
            Some(id) => {
                self.readers[id] = Some(slot);
                id
            }
            None => {
                self.readers.push(Some(slot));
                self.readers.len() - 1
            }
        };
        self.live_readers += 1;
        (id, cell)
    }

    /// Removes reader `id`, releasing every segment only it still needed (those it had yet to
    /// fetch that every other reader has fetched); returns its waker for the caller to drop
    /// after unlocking.
    pub(crate) fn remove_reader(&mut self, id: usize) -> Option<Waker> {
        let slot = self.readers[id].take().expect("a live reader has a slot");
        self.free_slots.push(id);
        self.live_readers -= 1;
        if slot.waker.is_some() {
            self.parked_readers.retain(|&parked| parked != id);
        }
        let fetched_by_all = self.least_fetched(None);
        while self.pop_front_ending_by(fetched_by_all).is_some() {}
        self.refresh_min();
        slot.waker
    }

    /// Recomputes the slowest live reader's position (`end` when there is none).
    pub(crate) fn refresh_min(&mut self) {
        self.min_position = self
            .readers
            .iter()
            .flatten()
            .map(|slot| slot.position.load(Ordering::Acquire))
            .min()
            .unwrap_or(self.end);
    }

    /// Bytes held for the slowest live reader, exact as of now; 0 with no reader.
    pub(crate) fn held(&mut self) -> u64 {
        self.refresh_min();
        self.end - self.min_position
    }

    /// Room left for the writer (`capacity` minus the bytes held for the slowest reader), 0 when
    /// full. Refreshes the slowest position only when the one known says full.
    pub(crate) fn room(&mut self, capacity: usize) -> usize {
        let capacity = capacity as u64;
        if self.end - self.min_position >= capacity {
            self.refresh_min();
        }
        capacity.saturating_sub(self.end - self.min_position) as usize
    }

    /// Appends a non-empty segment to the log and gathers the wakers of the readers waiting for
    /// bytes.
    pub(crate) fn push(&mut self, bytes: Bytes, wakes: &mut WakeList) {
        debug_assert!(!bytes.is_empty());
        let start = self.end;
        self.end += bytes.len() as u64;
        self.log.push_back(LogSegment { start, bytes });
        self.take_reader_wakers(wakes);
    }

    /// Marks the writer closed and gathers the wakers of the readers waiting for bytes.
    pub(crate) fn close(&mut self, wakes: &mut WakeList) {
        self.closed = true;
        self.take_reader_wakers(wakes);
    }

    fn take_reader_wakers(&mut self, wakes: &mut WakeList) {
        if self.parked_readers.is_empty() {
            return; // the usual case while readers keep up: no drain to set up and tear down
        }
        for id in self.parked_readers.drain(..) {
            if let Some(waker) = self.readers[id].as_mut().and_then(|slot| slot.waker.take()) {
                wakes.push(waker);
            }
        }
    }

    /// Appends to reader `id`'s `local` every logged segment from offset `from` (the segment
    /// boundary it has fetched up to) to the end, and returns the new fetched offset, `end`. No
    /// byte is copied: the segments no other reader has yet to fetch leave the log and move to
    /// `local` as they are; the others are cloned (a refcount bump each). With one reader every
    /// segment moves, so the log's handle is never cloned and then dropped on the writer's side.
    pub(crate) fn fetch(&mut self, id: usize, mut from: u64, local: &mut AsyncStream) -> u64 {
        if self.log.front().is_some_and(|front| front.start == from) {
            let fetched_by_others = self.least_fetched(Some(id));
            while let Some(segment) = self.pop_front_ending_by(fetched_by_others) {
                from += local.write_segment(segment) as u64;
            }
        }
        let first = self.log.partition_point(|segment| segment.start < from);
        debug_assert!(first == self.log.len() || self.log[first].start == from);
        for segment in self.log.range(first..) {
            local.write_segment(segment.bytes.clone());
        }
        self.readers[id]
            .as_mut()
            .expect("a live reader has a slot")
            .fetched = self.end;
        self.end
    }

    /// Takes the log's front segment out if it ends at or before `offset`: every reader that
    /// offset stands for has fetched it.
    fn pop_front_ending_by(&mut self, offset: u64) -> Option<Bytes> {
        let front = self.log.front()?;
        if front.start + front.bytes.len() as u64 > offset {
            return None;
        }
        self.log.pop_front().map(|segment| segment.bytes)
    }

    /// The least offset a live reader other than `except` has fetched up to; `u64::MAX` when
    /// there is none.
    fn least_fetched(&self, except: Option<usize>) -> u64 {
        if except.is_some() && self.live_readers == 1 {
            return u64::MAX;
        }
        self.readers
            .iter()
            .enumerate()
            .filter(|&(id, _)| Some(id) != except)
            .filter_map(|(_, slot)| slot.as_ref().map(|slot| slot.fetched))
            .min()
            .unwrap_or(u64::MAX)
    }

    /// Stores reader `id`'s waker until the next write or close; returns a replaced waker for
    /// the caller to drop after unlocking.
    pub(crate) fn park_reader(&mut self, id: usize, waker: &Waker) -> Option<Waker> {
        let slot = self.readers[id].as_mut().expect("a live reader has a slot");
        if slot.waker.is_none() {
            self.parked_readers.push(id);
        }
        park(&mut slot.waker, waker)
    }
}
