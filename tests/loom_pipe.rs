//! loom models of the pipe: every interleaving of a writer thread and a reader thread (within
//! `LOOM_MAX_PREEMPTIONS`) completes, delivers every byte in order, and never loses a wakeup
//! (loom reports a deadlock when a blocked side is never woken). The hand-off of room is a
//! lock-free count the reader bumps after every read plus a "writer waiting" flag in the same
//! atomic word; the models below race the writer's parking against the reader's update, check
//! that a read that makes room wakes the writer with no further read, and that `len()` is exact.
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom cargo test --release --test loom_pipe`
#![cfg(loom)]
#![cfg(feature = "tokio")]

use std::io;

use bytes::Bytes;
use loom::future::block_on;
use loom::thread;
use streamview::pipe;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Reads segments until end of file and returns their bytes in order.
fn read_all_segments(reader: &mut streamview::PipeReader) -> Vec<u8> {
    let mut all = Vec::new();
    while let Some(segment) = block_on(reader.read_segment()).unwrap() {
        all.extend_from_slice(&segment);
    }
    all
}

#[test]
fn blocked_writer_and_waiting_reader_hand_off_every_segment_then_eof() {
    loom::model(|| {
        let (mut writer, mut reader) = pipe(1);
        let producer = thread::spawn(move || {
            block_on(writer.write_segment("a")).unwrap();
            block_on(writer.write_segment("bc")).unwrap();
            // dropping the writer closes the pipe
        });
        assert_eq!(read_all_segments(&mut reader), b"abc");
        producer.join().unwrap();
    });
}

#[test]
fn close_after_writes_delivers_everything_to_a_reader_waiting_for_more() {
    loom::model(|| {
        let (mut writer, mut reader) = pipe(2);
        let producer = thread::spawn(move || {
            block_on(writer.write_segment("ab")).unwrap();
            block_on(writer.write_segment("c")).unwrap();
            writer.close();
        });
        // Asks for more than will ever come: waits with bytes held, then EOF makes it short.
        let all = block_on(reader.read_bytes(10)).unwrap();
        assert_eq!(all, "abc");
        assert!(block_on(reader.read_segment()).unwrap().is_none());
        producer.join().unwrap();
    });
}

#[test]
fn reader_drop_wakes_a_blocked_writer_with_broken_pipe() {
    loom::model(|| {
        let (mut writer, reader) = pipe(1);
        writer.try_write_segment("x").unwrap();
        let consumer = thread::spawn(move || drop(reader));
        let error = block_on(writer.write_segment("y")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
        consumer.join().unwrap();
        assert!(writer.try_write_segment("z").unwrap_err().is_closed());
    });
}

#[test]
fn writer_drop_wakes_a_waiting_reader_with_eof() {
    loom::model(|| {
        let (writer, mut reader) = pipe(4);
        let producer = thread::spawn(move || drop(writer));
        assert!(block_on(reader.read_segment()).unwrap().is_none());
        producer.join().unwrap();
    });
}

#[test]
fn byte_writes_through_a_small_pipe_arrive_in_order() {
    loom::model(|| {
        let (mut writer, mut reader) = pipe(2);
        let producer = thread::spawn(move || {
            block_on(writer.write_all(b"wxyz")).unwrap();
            block_on(writer.shutdown()).unwrap();
        });
        let mut all = Vec::new();
        block_on(reader.read_to_end(&mut all)).unwrap();
        assert_eq!(all, b"wxyz");
        producer.join().unwrap();
    });
}

#[test]
fn one_byte_reads_against_a_blocked_writer_deliver_everything() {
    loom::model(|| {
        let (mut writer, mut reader) = pipe(2);
        let producer = thread::spawn(move || {
            block_on(writer.write_segment(Bytes::from_static(b"ab"))).unwrap();
            block_on(writer.write_segment(Bytes::from_static(b"cd"))).unwrap();
        });
        // One byte at a time: the writer is woken by a consumption report or by a fetch.
        let mut all = Vec::new();
        while let Some(chunk) = block_on(reader.read_chunk(1)).unwrap() {
            all.extend_from_slice(&chunk);
        }
        assert_eq!(all, b"abcd");
        producer.join().unwrap();
    });
}

#[test]
fn the_read_that_makes_room_wakes_a_blocked_writer_with_no_further_read() {
    loom::model(|| {
        let (mut writer, mut reader) = pipe(2);
        writer.try_write_segment("ab").unwrap();
        // The write races the read: it finds room, or parks and must be woken by that read.
        let producer = thread::spawn(move || {
            let written = block_on(writer.write(b"cd")).unwrap();
            (written, writer)
        });
        // One read, then the reader neither reads nor parks on the pipe again.
        assert_eq!(block_on(reader.read_chunk(1)).unwrap().unwrap(), "a");
        let (written, writer) = producer.join().unwrap();
        assert_eq!(written, 1);
        assert_eq!((writer.len(), reader.len()), (2, 2));
    });
}

#[test]
fn a_byte_read_racing_a_parking_writer_wakes_it() {
    loom::model(|| {
        let (mut writer, mut reader) = pipe(1);
        let producer = thread::spawn(move || {
            block_on(writer.write_all(b"xy")).unwrap();
            writer
        });
        let mut first = [0u8; 1];
        block_on(reader.read_exact(&mut first)).unwrap();
        assert_eq!(&first, b"x");
        let writer = producer.join().unwrap();
        assert_eq!(writer.len(), 1);
        let mut second = [0u8; 1];
        block_on(reader.read_exact(&mut second)).unwrap();
        assert_eq!(&second, b"y");
        assert_eq!(writer.len(), 0);
    });
}

#[test]
fn len_is_exact_as_of_every_read_that_returned() {
    loom::model(|| {
        let (mut writer, mut reader) = pipe(8);
        writer.try_write_segment("abc").unwrap();
        writer.try_write_segment("de").unwrap();
        let consumer = thread::spawn(move || {
            assert_eq!(block_on(reader.read_segment()).unwrap().unwrap(), "abc");
            reader
        });
        // Concurrently with the read: before it or after it, never anything else.
        let len = writer.len();
        assert!(len == 5 || len == 2, "writer.len() was {len}");
        let reader = consumer.join().unwrap();
        assert_eq!((writer.len(), reader.len()), (2, 2));
    });
}
