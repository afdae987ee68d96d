//! The sync types the pipe is built on: std's normally, loom's under `--cfg loom`, so the loom
//! model tests (`tests/loom_pipe.rs`) explore every interleaving of the real pipe code.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicUsize;
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use ::loom::sync::atomic::AtomicUsize;
#[cfg(loom)]
pub(crate) use ::loom::sync::{Arc, Mutex, MutexGuard};

/// The broadcast readers publish their read positions in these, outside the lock.
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicU64, Ordering};

#[cfg(loom)]
pub(crate) use ::loom::sync::atomic::{fence, AtomicU64, Ordering};
