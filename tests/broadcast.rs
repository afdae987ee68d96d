//! The fan-out through its public API: zero-copy hand-off to every reader, backpressure set by
//! the slowest reader, readers joining and leaving, close and drop from either side, the
//! cooperative budget, and a 1 GiB stress to 4 readers.
#![cfg(feature = "tokio")]

use std::future::poll_fn;
use std::io;
use std::pin::Pin;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use streamview::{broadcast, BroadcastReader, BroadcastWriter, TryWriteError};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};

// ---- construction and the trait bounds ----

#[test]
#[should_panic(expected = "broadcast capacity must be at least 1 byte, got 0")]
fn broadcast_with_zero_capacity_panics_naming_it() {
    let _ = broadcast(0);
}

#[test]
fn halves_are_send_sync_unpin_static_debug() {
    fn assert_bounds<T: Send + Sync + Unpin + 'static + std::fmt::Debug>() {}
    assert_bounds::<BroadcastWriter>();
    assert_bounds::<BroadcastReader>();
}

#[test]
fn debug_shows_capacity_len_and_reader_count() {
    let (mut writer, reader) = broadcast(16);
    writer.try_write_segment("abc").unwrap();
    assert_eq!(
        format!("{writer:?}"),
        "BroadcastWriter { capacity: 16, len: 3, receiver_count: 1, closed: false }"
    );
    assert_eq!(
        format!("{reader:?}"),
        "BroadcastReader { capacity: 16, len: 3, eof: false }"
    );
}

// ---- zero copy ----

/// Every reader gets every segment back as the very buffer written, for `readers` readers and
/// each way of writing a segment.
async fn every_reader_gets_the_same_buffers(readers: usize) {
    let frames: Vec<Bytes> = (0..30u8)
        .map(|i| Bytes::from(vec![i; 100 + i as usize]))
        .collect();
    let (mut writer, first) = broadcast(1 << 20);
    let mut all: Vec<BroadcastReader> = (1..readers).map(|_| first.clone()).collect();
    all.push(first);
    assert_eq!(writer.receiver_count(), readers);
    for (i, frame) in frames.iter().enumerate() {
        match i % 3 {
            0 => assert_eq!(
                writer.write_segment(frame.clone()).await.unwrap(),
                frame.len()
            ),
            1 => assert_eq!(
                writer.try_write_segment(frame.clone()).unwrap(),
                frame.len()
            ),
            _ => writer.send(frame.clone()).await.unwrap(),
        }
    }
    drop(writer);
    for (r, reader) in all.iter_mut().enumerate() {
        for (i, frame) in frames.iter().enumerate() {
            let got = if r % 2 == 0 {
                reader.read_segment().await.unwrap().unwrap()
            } else {
                reader.next().await.unwrap().unwrap()
            };
            assert_eq!(got.as_ptr(), frame.as_ptr(), "reader {r}, frame {i}");
            assert_eq!(got.len(), frame.len());
        }
        assert_eq!(reader.read_segment().await.unwrap(), None);
    }
}

#[tokio::test]
async fn one_reader_gets_the_very_buffers_written() {
    every_reader_gets_the_same_buffers(1).await;
}

#[tokio::test]
async fn two_readers_get_the_very_buffers_written() {
    every_reader_gets_the_same_buffers(2).await;
}

#[tokio::test]
async fn sixteen_readers_get_the_very_buffers_written() {
    every_reader_gets_the_same_buffers(16).await;
}

#[tokio::test]
async fn byte_writes_are_copied_once_and_shared_by_every_reader() {
    let (mut writer, mut first) = broadcast(1024);
    let mut second = writer.subscribe();
    writer.write_all(b"copied once").await.unwrap();
    let a = first.read_segment().await.unwrap().unwrap();
    let b = second.read_segment().await.unwrap().unwrap();
    assert_eq!(a, "copied once");
    assert_eq!(a.as_ptr(), b.as_ptr());
}

// ---- backpressure ----

#[tokio::test]
async fn a_slow_reader_holds_the_writer_back_and_a_fast_one_is_not_starved() {
    const CAPACITY: usize = 100;
    let (mut writer, mut fast) = broadcast(CAPACITY);
    let mut slow = fast.clone();
    // Fill to the capacity in 10-byte frames.
    for i in 0..10u8 {
        writer.try_write_segment(vec![i; 10]).unwrap();
    }
    assert_eq!(writer.len(), CAPACITY);
    assert!(writer.try_write_segment("x").unwrap_err().is_full());

    // The fast reader reads everything written, without waiting for the slow one.
    let all = fast.read_bytes(CAPACITY).await.unwrap();
    assert_eq!(all.len(), CAPACITY);
    // ...but the slow reader still holds the writer back, and len() says so exactly.
    assert_eq!(writer.len(), CAPACITY);
    let mut blocked = spawn(writer.write_segment("next"));
    assert_pending!(blocked.poll());
    // The fast reader, having read everything, waits for more without being starved of it.
    let mut fast_waits = spawn(fast.read_segment());
    assert_pending!(fast_waits.poll());

    // The slow reader reads half the capacity: the writer is woken and finds room.
    assert_eq!(
        slow.read_bytes(CAPACITY / 2).await.unwrap().len(),
        CAPACITY / 2
    );
    assert_eq!(slow.len(), CAPACITY / 2);
    assert!(
        blocked.is_woken(),
        "the slowest reader made room: the writer must be woken"
    );
    assert_eq!(assert_ready!(blocked.poll()).unwrap(), 4);
    drop(blocked);
    assert!(fast_waits.is_woken());
    assert_eq!(assert_ready!(fast_waits.poll()).unwrap().unwrap(), "next");
    drop(fast_waits);
    assert_eq!(writer.len(), CAPACITY / 2 + 4);
}

#[tokio::test]
async fn len_is_exact_after_every_read_of_the_slowest_reader() {
    let (mut writer, mut reader) = broadcast(1 << 20);
    let other = writer.subscribe();
    writer.try_write_segment("0123456789").unwrap();
    for read in 1..=10 {
        assert_eq!(reader.read_chunk(1).await.unwrap().unwrap().len(), 1);
        // `other` has read nothing: it is the slowest.
        assert_eq!(writer.len(), 10);
        let _ = read;
    }
    drop(other);
    assert_eq!(writer.len(), 0, "the remaining reader has read everything");
    writer.try_write_segment("abcd").unwrap();
    let mut buf = [0u8; 3];
    reader.read_exact(&mut buf).await.unwrap();
    assert_eq!(writer.len(), 1);
}

#[tokio::test]
async fn a_line_longer_than_the_capacity_is_still_read() {
    let (mut writer, mut reader) = broadcast(4);
    let mut copy = reader.clone();
    let producer = tokio::spawn(async move {
        for part in ["a lo", "ng l", "ine\n", "end"] {
            writer.write_segment(part).await?;
        }
        io::Result::Ok(())
    });
    // Both wait for the line at once: a reader that has not asked yet still holds the writer.
    let (line, copied_line) = tokio::join!(reader.read_line(), copy.read_line());
    assert_eq!(line.unwrap().unwrap(), "a long line\n");
    assert_eq!(copied_line.unwrap().unwrap(), "a long line\n");
    producer.await.unwrap().unwrap();
    assert_eq!(reader.read_line().await.unwrap().unwrap(), "end");
    assert_eq!(reader.read_line().await.unwrap(), None);
    assert_eq!(copy.read_bytes(100).await.unwrap(), "end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_held_stays_within_capacity_plus_one_segment_with_a_slow_reader() {
    const CAPACITY: usize = 4096;
    const FRAME: usize = 1000;
    let (mut writer, fast) = broadcast(CAPACITY);
    let mut slow = fast.clone();
    let fast_task = tokio::spawn(async move {
        let mut fast = fast;
        let mut n = 0;
        while let Some(segment) = fast.read_segment().await? {
            n += segment.len();
        }
        io::Result::Ok(n)
    });
    let slow_task = tokio::spawn(async move {
        let mut n = 0;
        while let Some(segment) = slow.read_chunk(7).await? {
            n += segment.len();
            tokio::task::yield_now().await;
        }
        io::Result::Ok(n)
    });
    for i in 0..500 {
        writer.write_segment(vec![i as u8; FRAME]).await.unwrap();
        let held = writer.len();
        assert!(held < CAPACITY + FRAME, "{held} bytes held after write {i}");
    }
    drop(writer);
    assert_eq!(fast_task.await.unwrap().unwrap(), 500 * FRAME);
    assert_eq!(slow_task.await.unwrap().unwrap(), 500 * FRAME);
}

// ---- readers joining and leaving ----

#[tokio::test]
async fn a_subscriber_sees_only_what_is_written_after_it_joins() {
    let (mut writer, mut early) = broadcast(1024);
    writer.write_segment("one ").await.unwrap();
    let mut late = writer.subscribe();
    assert!(late.is_empty());
    writer.write_segment("two").await.unwrap();
    assert_eq!(writer.receiver_count(), 2);
    writer.close();
    assert_eq!(early.read_bytes(100).await.unwrap(), "one two");
    assert_eq!(late.read_bytes(100).await.unwrap(), "two");
}

#[tokio::test]
async fn a_clone_starts_where_its_origin_is_even_mid_segment() {
    let (mut writer, mut reader) = broadcast(1024);
    writer.write_segment("abcdef").await.unwrap();
    writer.write_segment("ghi").await.unwrap();
    assert_eq!(reader.read_bytes(4).await.unwrap(), "abcd");
    let mut copy = reader.clone();
    writer.write_segment("jk").await.unwrap();
    drop(writer);
    assert_eq!(copy.read_bytes(100).await.unwrap(), "efghijk");
    assert_eq!(reader.read_bytes(100).await.unwrap(), "efghijk");
    // A clone of a reader at end of file is at end of file too.
    assert_eq!(reader.clone().read_segment().await.unwrap(), None);
}

#[tokio::test]
async fn dropping_the_slowest_reader_releases_its_bytes_and_wakes_the_writer() {
    let (mut writer, mut fast) = broadcast(10);
    let slow = fast.clone();
    let frame = Bytes::from(vec![1u8; 10]);
    writer.try_write_segment(frame.clone()).unwrap();
    assert_eq!(fast.read_bytes(10).await.unwrap().len(), 10);
    let mut blocked = spawn(writer.write_segment("more"));
    assert_pending!(blocked.poll());
    drop(slow);
    assert!(blocked.is_woken());
    assert_eq!(assert_ready!(blocked.poll()).unwrap(), 4);
    drop(blocked);
    assert_eq!(writer.receiver_count(), 1);
    assert_eq!(writer.len(), 4);
    drop(fast);
    // No reader holds the frame any more: only the test's handle is left.
    assert!(frame.is_unique());
}

/// A broadcast with room to spare, two readers, and a 100-byte frame written (the caller keeps a
/// handle to it).
async fn two_readers_and_a_frame_written() -> (BroadcastWriter, [BroadcastReader; 2], Bytes) {
    let (mut writer, first) = broadcast(1 << 20);
    let second = first.clone();
    let frame = Bytes::from(vec![7u8; 100]);
    writer.write_segment(frame.clone()).await.unwrap();
    (writer, [first, second], frame)
}

/// Found trying the crate as a user: with room to spare, the log kept a segment every reader had
/// read until the writer next ran short of room, so the writer could not take its buffer back
/// (`try_into_mut`) even with every reader idle. The last reader to take a segment now moves it
/// out of the log, so it is released as soon as every reader has read it.
#[tokio::test]
async fn a_segment_is_released_as_soon_as_every_reader_has_read_it() {
    let (mut writer, [mut first, mut second], frame) = two_readers_and_a_frame_written().await;
    writer.write_segment(vec![8u8; 50]).await.unwrap();
    assert_eq!(first.read_segment().await.unwrap().unwrap(), frame);
    // The second reader has yet to take the frame: the log still holds it.
    assert!(!frame.is_unique());
    let read = second.read_segment().await.unwrap().unwrap();
    assert_eq!(read.as_ptr(), frame.as_ptr());
    drop(read);
    // Both have read it and neither waits: nothing in the broadcast holds it any more.
    assert!(frame.is_unique());
    assert_eq!(writer.len(), 50);
    for reader in [&mut first, &mut second] {
        assert_eq!(reader.read_segment().await.unwrap().unwrap().len(), 50);
        let mut waiting = spawn(reader.read_segment());
        assert_pending!(waiting.poll());
    }
    assert_eq!(writer.len(), 0);
    assert_eq!(frame.try_into_mut().unwrap().len(), 100);
}

/// With one reader, a segment read is moved out of the log, never cloned: once the reader
/// drops what it read, the writer's handle is the only one left.
#[tokio::test]
async fn one_reader_takes_segments_out_of_the_log_without_cloning() {
    let (mut writer, mut reader) = broadcast(1 << 20);
    let frames: Vec<Bytes> = (0..3u8).map(|i| Bytes::from(vec![i; 64])).collect();
    for frame in &frames {
        writer.write_segment(frame.clone()).await.unwrap();
    }
    for frame in &frames {
        let read = reader.read_segment().await.unwrap().unwrap();
        assert_eq!(read.as_ptr(), frame.as_ptr());
        drop(read);
        assert!(
            frame.is_unique(),
            "the log or the reader still holds the frame"
        );
    }
}

/// A reader dropped before taking a segment the others have all taken releases it at once.
#[tokio::test]
async fn dropping_the_last_reader_to_take_a_segment_releases_it() {
    let (_writer, [first, mut second], frame) = two_readers_and_a_frame_written().await;
    // The second reader takes a clone: the first has yet to take the frame.
    let read = second.read_segment().await.unwrap().unwrap();
    drop(read);
    assert!(!frame.is_unique());
    drop(first);
    assert!(
        frame.is_unique(),
        "the log kept a segment no live reader needs"
    );
}

/// The same once the writer has closed: readers that reached end of file hold nothing.
#[tokio::test]
async fn a_segment_every_reader_has_read_is_released_at_end_of_file() {
    let (mut writer, [mut first, mut second], frame) = two_readers_and_a_frame_written().await;
    writer.close();
    for reader in [&mut first, &mut second] {
        assert_eq!(reader.read_segment().await.unwrap().unwrap(), frame);
        assert!(reader.read_segment().await.unwrap().is_none());
    }
    assert!(frame.is_unique());
    drop((writer, first, second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_joining_and_leaving_mid_stream_each_get_a_contiguous_run() {
    const FRAMES: u32 = 2_000;
    let (mut writer, first) = broadcast(512);
    let producer = tokio::spawn(async move {
        let mut joiners = Vec::new();
        for i in 0..FRAMES {
            writer.write_segment(i.to_be_bytes().to_vec()).await?;
            if i % 250 == 0 {
                let reader = writer.subscribe();
                // Each joiner leaves after reading a few frames; the writer must not stall.
                joiners.push(tokio::spawn(read_frames(reader, Some(40))));
            }
        }
        drop(writer);
        let mut runs = Vec::new();
        for joiner in joiners {
            runs.push(joiner.await.unwrap()?);
        }
        io::Result::Ok(runs)
    });
    let full = read_frames(first, None).await.unwrap();
    assert_eq!(full, (0..FRAMES).collect::<Vec<_>>());
    for run in producer.await.unwrap().unwrap() {
        // A joiner sees a contiguous run of frames, in order.
        assert!(run.windows(2).all(|pair| pair[1] == pair[0] + 1), "{run:?}");
    }
}

/// Reads 4-byte frames until end of file, or until `limit` frames (then drops the reader).
async fn read_frames(mut reader: BroadcastReader, limit: Option<usize>) -> io::Result<Vec<u32>> {
    let mut frames = Vec::new();
    while limit.map_or(true, |limit| frames.len() < limit) {
        let frame = reader.read_bytes(4).await?;
        if frame.is_empty() {
            break;
        }
        frames.push(u32::from_be_bytes(frame[..].try_into().unwrap()));
    }
    Ok(frames)
}

// ---- close and drop from either side ----

#[tokio::test]
async fn close_wakes_every_parked_reader_with_eof_after_it_drains() {
    let (mut writer, mut first) = broadcast(64);
    let mut second = first.clone();
    writer.write_segment("tail").await.unwrap();
    assert_eq!(second.read_bytes(4).await.unwrap(), "tail");
    let mut waiting = spawn(second.read_segment());
    assert_pending!(waiting.poll());
    writer.close();
    assert!(waiting.is_woken());
    assert_eq!(assert_ready!(waiting.poll()).unwrap(), None);
    assert_eq!(first.read_segment().await.unwrap().unwrap(), "tail");
    assert_eq!(first.read_segment().await.unwrap(), None);
    // Writes after close fail; a reader subscribed after close sees end of file at once.
    assert_eq!(
        writer.write_segment("late").await.unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
    assert!(matches!(
        writer.try_write_segment("late"),
        Err(TryWriteError::Closed(_))
    ));
    let mut late = writer.subscribe();
    assert_eq!(late.read_segment().await.unwrap(), None);
}

#[tokio::test]
async fn dropping_the_writer_wakes_parked_readers_with_eof() {
    let (writer, mut first) = broadcast(64);
    let mut second = first.clone();
    let mut a = spawn(first.read_line());
    let mut b = spawn(second.read_bytes(10));
    assert_pending!(a.poll());
    assert_pending!(b.poll());
    drop(writer);
    assert!(a.is_woken() && b.is_woken());
    assert_eq!(assert_ready!(a.poll()).unwrap(), None);
    assert!(assert_ready!(b.poll()).unwrap().is_empty());
}

#[tokio::test]
async fn shutdown_and_sink_close_end_the_stream_like_close() {
    for via_sink in [false, true] {
        let (mut writer, mut reader) = broadcast(64);
        writer.write_all(b"abc").await.unwrap();
        if via_sink {
            SinkExt::close(&mut writer).await.unwrap();
        } else {
            writer.shutdown().await.unwrap();
        }
        let mut all = Vec::new();
        reader.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, b"abc");
        assert_eq!(
            writer.write_all(b"x").await.unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
    }
}

#[tokio::test]
async fn dropping_every_reader_wakes_a_parked_writer_with_broken_pipe() {
    let (mut writer, first) = broadcast(4);
    let second = writer.subscribe();
    writer.try_write_segment("full").unwrap();
    let mut blocked = spawn(writer.write_segment("more"));
    assert_pending!(blocked.poll());
    drop(first);
    assert_pending!(blocked.poll()); // `second` still holds it back
    drop(second);
    assert!(blocked.is_woken());
    assert_eq!(
        assert_ready!(blocked.poll()).unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
    drop(blocked);
    assert_eq!(writer.receiver_count(), 0);
    assert_eq!(writer.len(), 0);
    assert!(writer.try_write_segment("x").unwrap_err().is_closed());
    assert_eq!(
        writer.write_all(b"x").await.unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
    // A new subscriber makes writes possible again.
    let mut reader = writer.subscribe();
    writer.try_write_segment("again").unwrap();
    drop(writer);
    assert_eq!(reader.read_bytes(10).await.unwrap(), "again");
}

#[tokio::test]
async fn a_parked_writer_is_woken_by_poll_write_ready_when_room_comes() {
    let (mut writer, mut reader) = broadcast(2);
    writer.try_write_segment("ab").unwrap();
    let mut ready = spawn(poll_fn(|cx| writer.poll_write_ready(cx)));
    assert_pending!(ready.poll());
    assert_eq!(reader.read_bytes(2).await.unwrap(), "ab");
    assert!(ready.is_woken());
    assert_ready!(ready.poll()).unwrap();
}

#[tokio::test]
async fn empty_writes_succeed_when_full_but_fail_when_closed() {
    let (mut writer, _reader) = broadcast(1);
    writer.try_write_segment("x").unwrap();
    assert_eq!(writer.try_write_segment("").unwrap(), 0);
    assert_eq!(writer.write_segment("").await.unwrap(), 0);
    assert_eq!(writer.write(b"").await.unwrap(), 0);
    writer.close();
    assert!(writer.try_write_segment("").unwrap_err().is_closed());
    assert!(writer.write_segment("").await.is_err());
}

// ---- read paths ----

#[tokio::test]
async fn every_read_path_sees_the_same_bytes() {
    let (mut writer, reader) = broadcast(1 << 16);
    let mut readers: Vec<BroadcastReader> = (0..4).map(|_| reader.clone()).collect();
    drop(reader);
    writer.write_segment("alpha\nbe").await.unwrap();
    writer.write_all(b"ta\ngamma").await.unwrap();
    drop(writer);
    let mut lines = Vec::new();
    while let Some(line) = readers[0].read_line().await.unwrap() {
        lines.push(line);
    }
    assert_eq!(lines, ["alpha\n", "beta\n", "gamma"]);
    let mut text = String::new();
    readers[1].read_to_string(&mut text).await.unwrap();
    assert_eq!(text, "alpha\nbeta\ngamma");
    let mut via_fill = Vec::new();
    loop {
        let chunk = readers[2].fill_buf().await.unwrap();
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len().min(3);
        via_fill.extend_from_slice(&chunk[..n]);
        Pin::new(&mut readers[2]).consume(n);
    }
    assert_eq!(via_fill, b"alpha\nbeta\ngamma");
    let mut chunks = Vec::new();
    while let Some(chunk) = readers[3].read_chunk(4).await.unwrap() {
        chunks.push(chunk);
    }
    assert_eq!(chunks, ["alph", "a\nbe", "ta\ng", "amma"]);
}

// ---- the cooperative budget ----

/// Whether a task reading a broadcast that always has bytes let another task run first.
async fn other_task_ran_during_reads(constrained: bool) -> bool {
    // More than the 8,192 reads that Tokio's 128-unit budget covers at 64 reads per unit.
    const SEGMENTS: usize = 10_000;
    let (mut writer, mut reader) = broadcast(1 << 20);
    let _other = writer.subscribe();
    for _ in 0..SEGMENTS {
        writer.try_write_segment("\n").unwrap();
    }
    drop(writer);
    let read_all = async move {
        let mut count = 0;
        while reader.read_segment().await.unwrap().is_some() {
            count += 1;
        }
        assert_eq!(count, SEGMENTS);
    };
    flag_task_ran_during(read_all, constrained).await.1
}

#[tokio::test(flavor = "current_thread")]
async fn a_busy_reader_yields_to_other_tasks() {
    assert!(
        !other_task_ran_during_reads(false).await,
        "control: no budget, no yield"
    );
    assert!(
        other_task_ran_during_reads(true).await,
        "the reader never yielded"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_busy_writer_yields_to_other_tasks() {
    let (mut writer, _reader) = broadcast(1 << 20);
    let write_all = async move {
        for _ in 0..10_000 {
            writer.write_segment("x").await.unwrap();
        }
    };
    let ((), other_ran) = flag_task_ran_during(write_all, true).await;
    assert!(other_ran);
}

// ---- stress: 1 GiB of random frames to 4 readers ----

#[path = "common/stress.rs"]
mod stress;

use stress::{read_and_check_all, total_bytes, write_all_frames};

#[path = "common/coop.rs"]
mod coop;

use coop::flag_task_ran_during;

async fn run_stress(capacity: usize, seed: u64, total: u64) {
    let (writer, reader) = broadcast(capacity);
    let readers: Vec<_> = (0..4u64)
        .map(|i| {
            tokio::spawn(read_and_check_all(
                reader.clone(),
                seed,
                seed ^ (0x5A5A + i),
            ))
        })
        .collect();
    drop(reader);
    let sent = tokio::spawn(write_all_frames(writer, seed, total))
        .await
        .unwrap()
        .unwrap();
    assert!(sent >= total);
    for (i, reading) in readers.into_iter().enumerate() {
        let received = reading.await.unwrap().unwrap();
        assert_eq!(received, sent, "reader {i}: every byte sent arrives");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_of_random_frames_reaches_four_readers_intact() {
    run_stress(256 * 1024, 0x0123_4567_89AB_CDEF, total_bytes()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_frames_reach_four_readers_intact_through_a_one_byte_broadcast() {
    // Capacity 1 makes nearly every write wait on the slowest of four readers, so a lost
    // wakeup hangs here first. Byte writes move one byte per hand-off, hence the smaller total.
    run_stress(1, 0xFEED_FACE_CAFE_BEEF, total_bytes() / 1024).await;
}

/// `consume` past the lent segment clamps to it, as the pipe's and Tokio's `BufReader`'s do, and
/// other readers keep their own bytes.
#[tokio::test]
async fn consume_past_what_a_reader_holds_clamps() {
    let (mut writer, mut reader) = broadcast(64);
    let mut other = reader.clone();
    writer.write_segment("abcd").await.unwrap();
    assert_eq!(reader.fill_buf().await.unwrap(), b"abcd");
    Pin::new(&mut reader).consume(100);
    Pin::new(&mut reader).consume(100);
    writer.write_segment("ef").await.unwrap();
    assert_eq!(reader.read_segment().await.unwrap().unwrap(), "ef");
    assert_eq!(other.read_bytes(6).await.unwrap(), "abcdef");
}

/// The reader holds "abc" and "def" after one fetch; a `consume` past the lent "abc" used to
/// drop "def" too.
#[tokio::test]
async fn consume_past_the_lent_segment_keeps_the_segments_behind_it() {
    let (mut writer, mut reader) = broadcast(1024);
    writer.write_segment("abc").await.unwrap();
    writer.write_segment("def").await.unwrap();
    drop(writer);
    assert_eq!(reader.fill_buf().await.unwrap(), b"abc");
    Pin::new(&mut reader).consume(1000);
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, b"def");
}

#[tokio::test]
async fn a_subscriber_after_every_reader_left_makes_writes_succeed_again() {
    let (mut writer, reader) = streamview::broadcast(16);
    drop(reader);
    let error = writer.write_segment("lost").await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    assert_eq!(writer.receiver_count(), 0);
    let mut late = writer.subscribe();
    assert_eq!(writer.write_segment("seen").await.unwrap(), 4);
    writer.close();
    assert_eq!(late.read_segment().await.unwrap().unwrap(), "seen");
    assert!(late.read_segment().await.unwrap().is_none());
}

// Zero-length calls take part in the cooperative budget: `coop::zero_length_calls_yield!`.
coop::zero_length_calls_yield!(broadcast(16));
