//! How many bytes the gigabyte tests move: the stress tests (`tests/common/stress.rs`) and the
//! memory tests (`tests/memory.rs`, `tests/memory_broadcast.rs`).

/// 1 GiB, or `STREAMVIEW_STRESS_BYTES` when set (for a quick local or valgrind run).
pub fn total_bytes() -> usize {
    std::env::var("STREAMVIEW_STRESS_BYTES")
        .ok()
        .map(|value| {
            value
                .parse()
                .expect("STREAMVIEW_STRESS_BYTES is a byte count")
        })
        .unwrap_or(1 << 30)
}
