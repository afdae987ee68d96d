//! Waker helpers shared by the cross-task types: park a task's waker without cloning it again
//! for the same task, and wake only after the lock that guards the state is released.

use std::task::Waker;

/// Stores `waker` in `slot` unless the parked one already wakes the same task (`will_wake`),
/// which spares a clone per poll of a task that is polled again and again. Returns the replaced
/// waker, for the caller to drop after unlocking (dropping a waker may run arbitrary code).
pub(crate) fn park(slot: &mut Option<Waker>, waker: &Waker) -> Option<Waker> {
    match slot {
        Some(parked) if parked.will_wake(waker) => None,
        _ => slot.replace(waker.clone()),
    }
}

/// Wakes `waker` if there is one. Call it only after the state's guard is dropped, so the woken
/// task (perhaps run inline by its executor) never finds the lock held.
pub(crate) fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// Wakers gathered under a lock and woken after it is released. Kept by its owner between uses,
/// so waking many tasks per write allocates only while the list grows.
#[derive(Debug, Default)]
pub(crate) struct WakeList {
    wakers: Vec<Waker>,
}

impl WakeList {
    /// Adds a waker to wake later.
    pub(crate) fn push(&mut self, waker: Waker) {
        self.wakers.push(waker);
    }

    /// Wakes every gathered waker, keeping the list's allocation. Call it after unlocking.
    pub(crate) fn wake_all(&mut self) {
        if self.wakers.is_empty() {
            return;
        }
        for waker in self.wakers.drain(..) {
            waker.wake();
        }
    }
}
