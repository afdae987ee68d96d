//! The sync types the pipe is built on: std's (and parking_lot's lock) normally, loom's under
//! `--cfg loom`, so the loom model tests (`tests/loom_pipe.rs`) explore every interleaving of the
//! real pipe code.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicUsize;
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

/// The lock of the pipe's and the broadcast's shared state: parking_lot's, which spins a little
/// before parking the thread and hands the lock over without a system call when it can. A pipe's
/// writer and reader on two workers take it in turns many times per 64 KiB moved; with std's
/// lock, 16 MiB of 1 KiB writes through `pipe(64 KiB)` took 3.0 to 3.5 ms, with this one 2.4 to
/// 2.9 ms (7 alternating rounds). Neither lock is fair (parking_lot's hands over fairly once per
/// half millisecond), so a busy side keeps the lock in its cache.
#[cfg(not(loom))]
pub(crate) use parking_lot::{Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use self::loom_lock::{Mutex, MutexGuard};

/// loom's lock with parking_lot's `lock`, so the same code runs in the models.
#[cfg(loom)]
mod loom_lock {
    pub(crate) use ::loom::sync::MutexGuard;

    #[derive(Debug)]
    pub(crate) struct Mutex<T>(::loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Mutex<T> {
            Mutex(::loom::sync::Mutex::new(value))
        }

        /// Locks; a poisoned lock is used as is, as parking_lot's has no poisoning (every
        /// mutation under the lock is one consistent step).
        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }
}

#[cfg(loom)]
pub(crate) use ::loom::sync::atomic::AtomicUsize;
#[cfg(loom)]
pub(crate) use ::loom::sync::Arc;

/// The broadcast readers publish their read positions in these, outside the lock.
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicU64, Ordering};

#[cfg(loom)]
pub(crate) use ::loom::sync::atomic::{fence, AtomicU64, Ordering};
