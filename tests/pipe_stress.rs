//! Stress: a writer task and a reader task on a 2-worker multi-thread runtime move at least
//! 1 GiB through a pipe in frames of random size 1 B..1 MiB, mixing every write and read path,
//! and the reader checks every byte against the sequence the writer was seeded with.
#![cfg(feature = "tokio")]

use streamview::pipe;

#[path = "common/stress.rs"]
mod stress;

use stress::{read_and_check_all, total_bytes, write_all_frames};

async fn run(capacity: usize, seed: u64, total: u64) {
    let (writer, reader) = pipe(capacity);
    let writing = tokio::spawn(write_all_frames(writer, seed, total));
    let reading = tokio::spawn(read_and_check_all(reader, seed, seed ^ 0x5A5A));
    let sent = writing.await.unwrap().unwrap();
    let received = reading.await.unwrap().unwrap();
    assert!(sent >= total);
    assert_eq!(
        received, sent,
        "capacity {capacity}: every byte sent arrives"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_in_random_frames_arrives_intact_through_a_256_kib_pipe() {
    run(256 * 1024, 0x0123_4567_89AB_CDEF, total_bytes()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_frames_arrive_intact_through_a_one_byte_pipe() {
    // Capacity 1 makes nearly every write wait, so a lost wakeup hangs here first. Byte writes
    // move one byte per hand-off at this capacity, hence the smaller total.
    run(1, 0xFEED_FACE_CAFE_BEEF, total_bytes() / 256).await;
}
