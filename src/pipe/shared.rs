//! The state both pipe halves share, behind one lock.

use std::io;
use std::task::Waker;

use crate::loom::{Arc, Mutex, MutexGuard};
use crate::stream::AsyncStream;

/// What the writer and the reader share: the queued segments and the two wakers.
///
/// The capacity is not here: each half keeps its own copy, so the reader's per-read checks never
/// touch the cache line the writer's lock lives on.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
}

/// The locked part of [`Shared`].
///
/// Bytes in flight are `queue.len()` (written, not yet taken by the reader) plus `reader_held`
/// (taken into the reader's local stream, not yet reported consumed). The writer is refused room
/// while that sum is `capacity` or more, which bounds memory by `capacity` plus one segment.
#[derive(Debug)]
pub(crate) struct State {
    /// Written segments the reader has not taken yet; its closed flag is the writer's close.
    pub(crate) queue: AsyncStream,
    /// Bytes the reader holds locally as of its last report. Never below the true count except
    /// while the reader waits for more bytes to complete a request: the bytes it holds then
    /// belong to that request and are not counted, so a request larger than `capacity` can finish.
    pub(crate) reader_held: usize,
    /// The reader was dropped: writes fail and the queue is released.
    pub(crate) reader_gone: bool,
    reader_waker: Option<Waker>,
    writer_waker: Option<Waker>,
}

impl Shared {
    pub(crate) fn new() -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State {
                queue: AsyncStream::new(),
                reader_held: 0,
                reader_gone: false,
                reader_waker: None,
                writer_waker: None,
            }),
        })
    }

    /// Locks the state. Nothing panics while holding the lock, but if a caller's code ever did,
    /// the state is still consistent (every mutation is a single step), so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    /// Bytes in flight, counted against the capacity.
    pub(crate) fn queued(&self) -> usize {
        self.queue.len() + self.reader_held
    }

    /// Stores the reader's waker; returns a replaced one for the caller to drop after unlocking.
    pub(crate) fn park_reader(&mut self, waker: &Waker) -> Option<Waker> {
        park(&mut self.reader_waker, waker)
    }

    /// Stores the writer's waker; returns a replaced one for the caller to drop after unlocking.
    pub(crate) fn park_writer(&mut self, waker: &Waker) -> Option<Waker> {
        park(&mut self.writer_waker, waker)
    }

    /// The reader's waker, taken out so it is woken after the guard is dropped.
    pub(crate) fn take_reader_waker(&mut self) -> Option<Waker> {
        self.reader_waker.take()
    }

    /// The writer's waker when there is room for it now, taken out to be woken after unlocking.
    pub(crate) fn take_writer_waker_if_room(&mut self, capacity: usize) -> Option<Waker> {
        if self.queued() < capacity || self.reader_gone {
            self.writer_waker.take()
        } else {
            None
        }
    }
}

/// Replaces the parked waker unless it already wakes the same task (`will_wake`), which spares a
/// clone per poll of a task that is polled again and again.
fn park(slot: &mut Option<Waker>, waker: &Waker) -> Option<Waker> {
    match slot {
        Some(parked) if parked.will_wake(waker) => None,
        _ => slot.replace(waker.clone()),
    }
}

/// Wakes `waker` if there is one. Called only after the state's guard is dropped, so the woken
/// task (perhaps run inline by its executor) never finds the lock held.
pub(crate) fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// The error a write gets once the reader is gone.
pub(crate) fn reader_gone_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "write to a pipe whose reader was dropped",
    )
}

/// The error a write gets after the writer closed the pipe.
pub(crate) fn writer_closed_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::BrokenPipe,
        "write to a closed pipe: close() ended the writer side",
    )
}
