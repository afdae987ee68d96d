//! loom models of the fan-out: one writer thread and two readers (write, read, drop, close) in
//! every interleaving within `LOOM_MAX_PREEMPTIONS`; each reader gets every byte in order, and
//! no wakeup is lost (loom reports a deadlock when a blocked side is never woken).
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom cargo test --release --test loom_broadcast`
#![cfg(loom)]
#![cfg(feature = "tokio")]

use std::io;

use loom::future::block_on;
use loom::thread;
use streamview::{broadcast, BroadcastReader};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Reads segments until end of file and returns their bytes in order.
fn read_all(reader: &mut BroadcastReader) -> Vec<u8> {
    let mut all = Vec::new();
    while let Some(segment) = block_on(reader.read_segment()).unwrap() {
        all.extend_from_slice(&segment);
    }
    all
}

#[test]
fn a_blocked_writer_and_two_waiting_readers_hand_off_everything_then_eof() {
    loom::model(|| {
        let (mut writer, mut first) = broadcast(1);
        let mut second = first.clone();
        let producer = thread::spawn(move || {
            block_on(writer.write_segment("a")).unwrap();
            block_on(writer.write_segment("bc")).unwrap();
            // dropping the writer closes the broadcast
        });
        let other = thread::spawn(move || read_all(&mut second));
        assert_eq!(read_all(&mut first), b"abc");
        assert_eq!(other.join().unwrap(), b"abc");
        producer.join().unwrap();
    });
}

#[test]
fn one_byte_reads_by_the_slowest_reader_wake_the_writer() {
    loom::model(|| {
        let (mut writer, mut first) = broadcast(2);
        let mut second = first.clone();
        let producer = thread::spawn(move || {
            block_on(writer.write_all(b"wxyz")).unwrap();
            block_on(writer.shutdown()).unwrap();
        });
        let other = thread::spawn(move || {
            let mut all = Vec::new();
            while let Some(chunk) = block_on(second.read_chunk(1)).unwrap() {
                all.extend_from_slice(&chunk);
            }
            all
        });
        let mut all = Vec::new();
        block_on(first.read_to_end(&mut all)).unwrap();
        assert_eq!(all, b"wxyz");
        assert_eq!(other.join().unwrap(), b"wxyz");
        producer.join().unwrap();
    });
}

#[test]
fn dropping_the_slow_reader_unblocks_the_writer_for_the_other() {
    loom::model(|| {
        let (mut writer, mut first) = broadcast(1);
        let second = first.clone();
        let producer = thread::spawn(move || {
            block_on(writer.write_segment("a")).unwrap();
            block_on(writer.write_segment("b")).unwrap();
            writer.close();
        });
        let dropper = thread::spawn(move || drop(second));
        assert_eq!(read_all(&mut first), b"ab");
        dropper.join().unwrap();
        producer.join().unwrap();
    });
}

#[test]
fn dropping_both_readers_wakes_a_blocked_writer_with_broken_pipe() {
    loom::model(|| {
        let (mut writer, first) = broadcast(1);
        let second = first.clone();
        writer.try_write_segment("x").unwrap();
        let a = thread::spawn(move || drop(first));
        let b = thread::spawn(move || drop(second));
        let error = block_on(writer.write_segment("y")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
        a.join().unwrap();
        b.join().unwrap();
        assert!(writer.try_write_segment("z").unwrap_err().is_closed());
    });
}

#[test]
fn close_wakes_two_waiting_readers_with_eof_after_they_drain() {
    loom::model(|| {
        let (mut writer, mut first) = broadcast(4);
        let mut second = first.clone();
        let producer = thread::spawn(move || {
            block_on(writer.write_segment("ab")).unwrap();
            writer.close();
        });
        // Asks for more than will ever come: waits with bytes held, then EOF makes it short.
        let other = thread::spawn(move || block_on(second.read_bytes(10)).unwrap());
        assert_eq!(block_on(first.read_bytes(10)).unwrap(), "ab");
        assert_eq!(other.join().unwrap(), "ab");
        producer.join().unwrap();
    });
}

#[test]
fn the_read_that_makes_room_wakes_the_parked_writer_without_the_reader_parking() {
    loom::model(|| {
        // Capacity 4, one byte read: less than half the capacity, so a reader that reported
        // its reads in batches (or only when parking) would leave the writer blocked.
        let (mut writer, mut reader) = broadcast(4);
        writer.try_write_segment("abcd").unwrap();
        let producer = thread::spawn(move || {
            // Full until the reader's read below; the reader never parks after it, so only
            // that read can wake this write.
            block_on(writer.write_segment("e")).unwrap();
            writer
        });
        assert_eq!(block_on(reader.read_chunk(1)).unwrap().unwrap(), "a");
        let writer = producer.join().unwrap();
        assert_eq!(writer.len(), 4); // exact: "bcd" and "e"
        drop(writer);
        assert_eq!(read_all(&mut reader), b"bcde");
    });
}

#[test]
fn the_slowest_of_two_readers_wakes_the_parked_writer_with_its_read() {
    loom::model(|| {
        let (mut writer, mut slow) = broadcast(4);
        let mut fast = slow.clone();
        writer.try_write_segment("abcd").unwrap();
        let producer = thread::spawn(move || {
            block_on(writer.write_segment("e")).unwrap();
        });
        let other = thread::spawn(move || {
            assert_eq!(block_on(fast.read_chunk(4)).unwrap().unwrap(), "abcd");
            fast
        });
        // Neither reader polls again after its one read: whichever of the two reads is the
        // last to leave the writer's wanted position behind must wake it.
        assert_eq!(block_on(slow.read_chunk(1)).unwrap().unwrap(), "a");
        let fast = other.join().unwrap();
        producer.join().unwrap();
        drop(fast);
        assert_eq!(read_all(&mut slow), b"bcde");
    });
}

#[test]
fn readers_at_end_of_file_leave_nothing_in_the_log() {
    loom::model(|| {
        let (mut writer, mut first) = broadcast(4);
        let mut second = first.clone();
        let frame = bytes::Bytes::from(vec![1u8, 2]);
        let sent = frame.clone();
        let producer = thread::spawn(move || {
            block_on(writer.write_segment(sent)).unwrap();
            writer.close();
        });
        let other = thread::spawn(move || {
            assert_eq!(read_all(&mut second), [1, 2]);
            second
        });
        assert_eq!(read_all(&mut first), [1, 2]);
        let second = other.join().unwrap();
        producer.join().unwrap();
        // Both readers are still alive, at end of file: whichever took the frame last moved it
        // out of the log.
        assert!(frame.is_unique());
        drop((first, second));
    });
}

#[test]
fn a_reader_dropped_while_the_other_reads_leaves_nothing_in_the_log() {
    loom::model(|| {
        let (mut writer, mut first) = broadcast(4);
        let second = first.clone();
        let frame = bytes::Bytes::from(vec![1u8, 2]);
        block_on(writer.write_segment(frame.clone())).unwrap();
        writer.close();
        let dropper = thread::spawn(move || drop(second));
        assert_eq!(read_all(&mut first), [1, 2]);
        dropper.join().unwrap();
        // Whether `first` took the frame before or after `second` was dropped, nothing holds it:
        // the last to take it moved it out of the log, or the drop released it.
        assert!(frame.is_unique());
        drop((writer, first));
    });
}
