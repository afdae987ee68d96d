//! loom models of `duplex`: both directions flow between two threads, and dropping an end wakes
//! a peer parked on either direction (loom reports a deadlock when a parked side is never
//! woken).
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom cargo test --release --test loom_duplex`
#![cfg(loom)]
#![cfg(feature = "tokio")]

use std::io;

use loom::future::block_on;
use loom::thread;
use streamview::duplex;

#[test]
fn ping_pong_between_threads_over_capacity_one() {
    loom::model(|| {
        let (mut client, mut server) = duplex(1);
        let responder = thread::spawn(move || {
            let ping = block_on(server.read_bytes(2)).unwrap();
            assert_eq!(ping, "hi");
            block_on(server.write_segment("yo")).unwrap();
            // dropping the server ends both directions
        });
        block_on(client.write_segment("h")).unwrap();
        block_on(client.write_segment("i")).unwrap();
        assert_eq!(block_on(client.read_bytes(10)).unwrap(), "yo");
        assert!(block_on(client.read_segment()).unwrap().is_none());
        responder.join().unwrap();
    });
}

#[test]
fn dropping_an_end_wakes_a_peer_parked_reading_and_writing() {
    loom::model(|| {
        let (left, mut right) = duplex(1);
        right.try_write_segment("x").unwrap(); // right's writing direction is now full
        let dropper = thread::spawn(move || drop(left));
        let (mut reader, mut writer) = right.into_split();
        let (read, write) =
            block_on(async { tokio::join!(reader.read_segment(), writer.write_segment("y")) });
        assert!(read.unwrap().is_none());
        assert_eq!(write.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        dropper.join().unwrap();
    });
}
