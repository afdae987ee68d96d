//! The counting global allocator of the memory tests (`tests/memory.rs`,
//! `tests/memory_broadcast.rs`): every allocation of the process, the bytes held and their peak,
//! and the bounds both tests hold the crate to. Each includes this file with `#[path]`; not every
//! test reads every counter, hence `allow(dead_code)` where it is included.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Forwards to the system allocator and keeps the bytes currently allocated and their peak.
pub struct CountingAllocator;

pub static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
pub static PEAK: AtomicUsize = AtomicUsize::new(0);
pub static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

fn allocated(size: usize) {
    ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    let now = ALLOCATED.fetch_add(size, Ordering::SeqCst) + size;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

fn freed(size: usize) {
    ALLOCATED.fetch_sub(size, Ordering::SeqCst);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees are ours; the counting only reads sizes and touches atomics, never the memory.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: our caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            allocated(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            allocated(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator, that is by `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        freed(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`; our caller upholds the size rules.
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            // Count the new block before releasing the old: a moving realloc holds both.
            allocated(new_size);
            freed(layout.size());
        }
        moved
    }
}

#[global_allocator]
static COUNTING_ALLOCATOR: CountingAllocator = CountingAllocator;

/// What a measured section allocated beyond the bytes allocated when it started.
#[derive(Debug)]
pub struct Measured {
    /// The most held at any moment.
    pub peak: usize,
    /// Still held when the section returned.
    pub left_over: usize,
    /// How many allocations (and moving reallocations) it made (checked for the pipe only).
    pub allocations: usize,
}

/// Runs `section` and reports what it allocated; `main` runs one check at a time, so nothing
/// else allocates meanwhile.
pub fn measure(section: impl FnOnce()) -> Measured {
    let baseline = ALLOCATED.load(Ordering::SeqCst);
    PEAK.store(baseline, Ordering::SeqCst);
    let allocations_before = ALLOCATIONS.load(Ordering::SeqCst);
    section();
    Measured {
        peak: PEAK.load(Ordering::SeqCst).saturating_sub(baseline),
        left_over: ALLOCATED.load(Ordering::SeqCst).saturating_sub(baseline),
        allocations: ALLOCATIONS.load(Ordering::SeqCst) - allocations_before,
    }
}

pub const KIB: usize = 1024;
pub const MIB: usize = 1024 * KIB;
pub const GIB: usize = 1024 * MIB;

/// The most a stream moving bytes through may hold at once, including the bytes in flight.
pub const BOUND: usize = MIB;

/// What may stay allocated after the stream is dropped: the counters see the whole process, and
/// the test harness's own threads allocate a few hundred bytes now and then (900 seen). Less than
/// one write-tail block (8 KiB), so a leaked block or segment still fails.
pub const LEFT_OVER_SLACK: usize = 4 * KIB;
