//! The cross-task pipe through its public API: hand-off, backpressure, wakers, EOF, the
//! cooperative budget, bounded memory and tokio-util composition.
#![cfg(feature = "tokio")]

use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, Stream, StreamExt};
use streamview::{pipe, PipeReader, PipeWriter, TryWriteError};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};

#[path = "common/coop.rs"]
mod coop;

use coop::flag_task_ran_during;

const MESSAGE: &[u8] = b"The quick brown fox\njumps over\nthe lazy dog\n";

/// The capacities every behaviour is checked at, for a message of `len` bytes.
fn capacities(len: usize) -> [usize; 5] {
    [1, len / 2, len - 1, len, len + 1]
}

/// Polls two futures until both finish, polling each only when it was woken. Panics when both
/// are pending and neither was woken: that is a lost wakeup.
fn drive<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = spawn(a);
    let mut b = spawn(b);
    let (mut out_a, mut out_b) = (None, None);
    let mut first = true;
    loop {
        if out_a.is_none() && (first || a.is_woken()) {
            if let Poll::Ready(out) = a.poll() {
                out_a = Some(out);
            }
        }
        if out_b.is_none() && (first || b.is_woken()) {
            if let Poll::Ready(out) = b.poll() {
                out_b = Some(out);
            }
        }
        first = false;
        if let (Some(_), Some(_)) = (&out_a, &out_b) {
            return (out_a.take().unwrap(), out_b.take().unwrap());
        }
        let a_can_run = out_a.is_none() && a.is_woken();
        let b_can_run = out_b.is_none() && b.is_woken();
        assert!(
            a_can_run || b_can_run,
            "lost wakeup: a pending side was never woken (a done: {}, b done: {})",
            out_a.is_some(),
            out_b.is_some()
        );
    }
}

fn one_byte_segments(message: &[u8]) -> Vec<Bytes> {
    let whole = Bytes::copy_from_slice(message);
    (0..whole.len()).map(|i| whole.slice(i..i + 1)).collect()
}

// ---- construction and the trait bounds ----

#[test]
#[should_panic(expected = "pipe capacity must be at least 1 byte, got 0")]
fn pipe_with_zero_capacity_panics_naming_it() {
    let _ = pipe(0);
}

#[test]
fn halves_are_send_sync_unpin_static() {
    fn assert_bounds<T: Send + Sync + Unpin + 'static>() {}
    assert_bounds::<PipeWriter>();
    assert_bounds::<PipeReader>();
    assert_bounds::<TryWriteError>();
}

#[test]
fn capacity_len_and_is_empty_report_both_sides() {
    let (mut writer, mut reader) = pipe(100);
    assert_eq!((writer.capacity(), reader.capacity()), (100, 100));
    assert!(writer.is_empty() && reader.is_empty());
    writer.try_write_segment("abcd").unwrap();
    writer.try_write_segment("ef").unwrap();
    assert_eq!((writer.len(), reader.len()), (6, 6));
    let mut read = spawn(reader.read_bytes(1));
    assert_eq!(assert_ready!(read.poll()).unwrap(), "a");
    drop(read);
    // "bcd" and "ef" are now held by the reader locally; its len counts them.
    assert_eq!(reader.len(), 5);
    drop(reader);
    assert_eq!(
        writer.len(),
        0,
        "the writer's len is 0 once the reader is gone"
    );
}

// ---- zero-copy hand-off ----

#[test]
fn every_read_of_a_whole_or_split_segment_returns_the_written_buffer() {
    let first = Bytes::from(b"line one\nrest".to_vec());
    let second = Bytes::from(vec![7u8; 64]);
    let third = Bytes::from(vec![8u8; 64]);
    let fourth = Bytes::from(vec![9u8; 64]);
    let (mut writer, mut reader) = pipe(1024);
    for segment in [&first, &second, &third, &fourth] {
        writer.try_write_segment(segment.clone()).unwrap();
    }
    drop(writer);

    let line = assert_ready!(spawn(reader.read_line()).poll())
        .unwrap()
        .unwrap();
    assert_eq!(
        line.as_ptr(),
        first.as_ptr(),
        "read_line within one segment"
    );
    let rest = assert_ready!(spawn(reader.read_chunk(100)).poll())
        .unwrap()
        .unwrap();
    assert_eq!(
        rest.as_ptr(),
        first[9..].as_ptr(),
        "read_chunk of the front segment"
    );
    let whole = assert_ready!(spawn(reader.read_segment()).poll())
        .unwrap()
        .unwrap();
    assert_eq!(whole.as_ptr(), second.as_ptr(), "read_segment");
    let split = assert_ready!(spawn(reader.read_bytes(10)).poll()).unwrap();
    assert_eq!(
        split.as_ptr(),
        third.as_ptr(),
        "read_bytes within one segment"
    );
    let borrowed = assert_ready!(spawn(poll_fn(|cx| {
        Pin::new(&mut reader)
            .poll_fill_buf(cx)
            .map_ok(|chunk| chunk.as_ptr())
    }))
    .poll())
    .unwrap();
    assert_eq!(
        borrowed,
        third[10..].as_ptr(),
        "poll_fill_buf lends the segment"
    );
    Pin::new(&mut reader).consume(54);
    let streamed = assert_ready!(spawn(reader.next()).poll()).unwrap().unwrap();
    assert_eq!(streamed.as_ptr(), fourth.as_ptr(), "Stream::next");
}

#[test]
fn read_bytes_across_segments_copies_once_into_one_buffer() {
    let (mut writer, mut reader) = pipe(1024);
    writer.try_write_segment("ab").unwrap();
    writer.try_write_segment("cd").unwrap();
    let joined = assert_ready!(spawn(reader.read_bytes(3)).poll()).unwrap();
    assert_eq!(joined, "abc");
    let rest = assert_ready!(spawn(reader.read_bytes(1)).poll()).unwrap();
    assert_eq!(rest, "d");
}

// ---- backpressure, swept over capacities ----

#[test]
fn write_waits_at_capacity_and_is_woken_by_the_first_read_that_makes_room() {
    for capacity in capacities(MESSAGE.len()) {
        let (mut writer, mut reader) = pipe(capacity);
        let segments = one_byte_segments(MESSAGE);
        let mut sent = 0;
        while sent < capacity.min(segments.len()) {
            assert_eq!(writer.try_write_segment(segments[sent].clone()), Ok(1));
            sent += 1;
        }
        if sent == segments.len() {
            continue; // capacity len + 1: everything fits, nothing to wait for
        }
        assert!(writer
            .try_write_segment(segments[sent].clone())
            .unwrap_err()
            .is_full());
        let mut blocked = spawn(writer.write_segment(segments[sent].clone()));
        assert_pending!(blocked.poll());
        assert!(
            !blocked.is_woken(),
            "woken before any room at capacity {capacity}"
        );
        let segment = assert_ready!(spawn(reader.read_segment()).poll()).unwrap();
        assert_eq!(segment.unwrap(), MESSAGE[..1]);
        assert!(
            blocked.is_woken(),
            "writer not woken by the read that made room at capacity {capacity}"
        );
        assert_eq!(assert_ready!(blocked.poll()).unwrap(), 1);
    }
}

#[test]
fn a_segment_larger_than_capacity_is_accepted_whole_when_there_is_room() {
    let (mut writer, mut reader) = pipe(4);
    let big = Bytes::from(vec![1u8; 100]);
    assert_eq!(writer.try_write_segment(big.clone()), Ok(100));
    assert!(writer.try_write_segment("x").unwrap_err().is_full());
    let back = assert_ready!(spawn(reader.read_segment()).poll())
        .unwrap()
        .unwrap();
    assert_eq!(back.as_ptr(), big.as_ptr());
}

#[test]
fn byte_writes_share_one_block_as_large_as_the_capacity_up_to_64_kib() {
    // Three 4,100-byte writes (a 4 KiB frame and its header, say) fit one block of
    // `pipe(64 KiB)`, so the reader gets them as one segment; with blocks of 8 KiB every other
    // write straddled two. Larger pipes keep 64 KiB blocks.
    for capacity in [16 << 10, 64 << 10, 1 << 20] {
        let (mut writer, mut reader) = pipe(capacity);
        let writes = async {
            for byte in 1..=3u8 {
                writer.write_all(&[byte; 4100]).await.unwrap();
            }
            drop(writer);
        };
        let reads = async {
            let mut segments = Vec::new();
            while let Some(segment) = reader.read_segment().await.unwrap() {
                segments.push(segment);
            }
            segments
        };
        let ((), segments) = drive(writes, reads);
        assert_eq!(
            segments[0].len(),
            12_300,
            "pipe({capacity}): segments of {:?} bytes",
            segments.iter().map(Bytes::len).collect::<Vec<_>>()
        );
        let bytes: Vec<u8> = segments.concat();
        let expected: Vec<u8> = (1..=3u8).flat_map(|byte| [byte; 4100]).collect();
        assert_eq!(bytes, expected, "pipe({capacity})");
    }
}

#[test]
fn a_drained_block_is_written_again_from_its_start_once_no_segment_of_it_is_held() {
    // As tokio's duplex writes its drained buffer again from the start, a byte write into an
    // emptied pipe goes to the start of the block when nothing cut from it is still held, so a
    // writer and a reader taking turns stay on the block's first bytes.
    let (mut writer, mut reader) = pipe(64 << 10);
    let ((), first) = drive(async { writer.write_all(b"abc").await.unwrap() }, async {
        reader.read_segment().await.unwrap().unwrap()
    });
    let start = first.as_ptr();
    drop(first);
    let ((), second) = drive(async { writer.write_all(b"def").await.unwrap() }, async {
        reader.read_segment().await.unwrap().unwrap()
    });
    assert_eq!(second, "def");
    assert_eq!(
        second.as_ptr(),
        start,
        "written again from the block's start"
    );
    // A segment still held keeps its bytes: the next write goes on after it.
    let ((), third) = drive(async { writer.write_all(b"ghi").await.unwrap() }, async {
        reader.read_segment().await.unwrap().unwrap()
    });
    assert_eq!(third.as_ptr(), start.wrapping_add(3));
    assert_eq!((&second[..], &third[..]), (&b"def"[..], &b"ghi"[..]));
    // Bytes copied out by `AsyncRead` hold nothing of the block.
    drop((second, third));
    let mut copied = [0u8; 3];
    let ((), ()) = drive(async { writer.write_all(b"jkl").await.unwrap() }, async {
        reader.read_exact(&mut copied).await.unwrap();
    });
    assert_eq!(&copied, b"jkl");
    let ((), fifth) = drive(async { writer.write_all(b"mno").await.unwrap() }, async {
        reader.read_segment().await.unwrap().unwrap()
    });
    assert_eq!((&fifth[..], fifth.as_ptr()), (&b"mno"[..], start));
}

#[test]
fn byte_reads_of_any_size_return_mixed_writes_in_order() {
    // Reads through `AsyncRead` copy small queues straight out of the shared queue and take
    // larger ones as segments first; both must give the same bytes in the same order, across
    // segment writes and byte writes, and leave nothing counted in flight.
    let mut expected = Vec::new();
    let mut writes: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut seed = 7u64;
    for _ in 0..200 {
        let len = 1 + (next_random(&mut seed) % 9000) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next_random(&mut seed) as u8).collect();
        expected.extend_from_slice(&bytes);
        writes.push((next_random(&mut seed) % 2 == 0, bytes));
    }
    let sizes: Vec<usize> = (0..64)
        .map(|_| 1 + (next_random(&mut seed) % 40_000) as usize)
        .collect();
    for capacity in [100, 16 << 10, 64 << 10] {
        let (mut writer, mut reader) = pipe(capacity);
        let total = expected.len();
        let writes = async {
            for (as_segment, bytes) in &writes {
                if *as_segment {
                    writer.write_segment(bytes.clone()).await.unwrap();
                } else {
                    writer.write_all(bytes).await.unwrap();
                }
            }
            writer
        };
        let reads = async {
            let mut got = Vec::new();
            for size in sizes.iter().cycle() {
                let mut buf = vec![0u8; *size];
                let n = reader.read(&mut buf).await.unwrap();
                assert!(
                    n > 0,
                    "pipe({capacity}): no end of file while the writer lives"
                );
                got.extend_from_slice(&buf[..n]);
                if got.len() == total {
                    break;
                }
            }
            got
        };
        let (writer, got) = drive(writes, reads);
        assert!(got == expected, "pipe({capacity}): bytes differ");
        assert_eq!((writer.len(), reader.len()), (0, 0), "pipe({capacity})");
    }
}

#[test]
fn async_write_and_read_round_trip_at_every_capacity_without_lost_wakeups() {
    for capacity in capacities(MESSAGE.len()) {
        let (mut writer, mut reader) = pipe(capacity);
        let (written, read) = drive(
            async move {
                writer.write_all(MESSAGE).await?;
                writer.shutdown().await
            },
            async move {
                let mut buf = Vec::new();
                reader.read_to_end(&mut buf).await.map(|_| buf)
            },
        );
        written.unwrap();
        assert_eq!(read.unwrap(), MESSAGE, "capacity {capacity}");
    }
}

#[test]
fn segment_round_trip_at_every_capacity_keeps_order_and_buffers() {
    for capacity in capacities(MESSAGE.len()) {
        let segments = one_byte_segments(MESSAGE);
        let pointers: Vec<_> = segments.iter().map(|s| s.as_ptr()).collect();
        let (mut writer, mut reader) = pipe(capacity);
        let (written, read) = drive(
            async move {
                for segment in segments {
                    writer.write_segment(segment).await?;
                }
                io::Result::Ok(())
            },
            async move {
                let mut got = Vec::new();
                while let Some(segment) = reader.read_segment().await? {
                    got.push(segment);
                }
                io::Result::Ok(got)
            },
        );
        written.unwrap();
        let got = read.unwrap();
        assert_eq!(got.iter().map(|s| s.as_ptr()).collect::<Vec<_>>(), pointers);
    }
}

#[test]
fn sink_and_stream_round_trip_at_every_capacity() {
    for capacity in capacities(MESSAGE.len()) {
        let (mut writer, reader) = pipe(capacity);
        let segments = one_byte_segments(MESSAGE);
        let (sent, got) = drive(
            async move {
                let mut items = futures::stream::iter(segments.into_iter().map(Ok));
                writer.send_all(&mut items).await?;
                SinkExt::close(&mut writer).await
            },
            reader.collect::<Vec<_>>(),
        );
        sent.unwrap();
        let got: Vec<u8> = got.into_iter().flat_map(|s| s.unwrap().to_vec()).collect();
        assert_eq!(got, MESSAGE, "capacity {capacity}");
    }
}

#[test]
fn read_bytes_and_read_line_larger_than_capacity_complete_without_deadlock() {
    for capacity in capacities(MESSAGE.len()) {
        let (mut writer, mut reader) = pipe(capacity);
        let long_line = [&[b'x'; 40][..], b"\n"].concat();
        let sent = long_line.clone();
        let (written, (line, all)) = drive(
            async move {
                for segment in one_byte_segments(&sent) {
                    writer.write_segment(segment).await?;
                }
                for segment in one_byte_segments(MESSAGE) {
                    writer.write_segment(segment).await?;
                }
                io::Result::Ok(())
            },
            async move {
                let line = reader.read_line().await.unwrap().unwrap();
                let all = reader.read_bytes(MESSAGE.len()).await.unwrap();
                (line, all)
            },
        );
        written.unwrap();
        assert_eq!(line, long_line, "capacity {capacity}");
        assert_eq!(all, MESSAGE, "capacity {capacity}");
    }
}

// ---- end of file ----

#[test]
fn read_line_returns_a_partial_last_line_at_eof_then_none() {
    let (mut writer, mut reader) = pipe(64);
    writer.try_write_segment("whole\npart").unwrap();
    let mut line = spawn(reader.read_line());
    assert_eq!(assert_ready!(line.poll()).unwrap().unwrap(), "whole\n");
    drop(line);
    let mut partial = spawn(reader.read_line());
    assert_pending!(
        partial.poll(),
        "a partial line waits while the writer is open"
    );
    writer.close();
    assert!(partial.is_woken());
    assert_eq!(assert_ready!(partial.poll()).unwrap().unwrap(), "part");
    drop(partial);
    assert_eq!(
        assert_ready!(spawn(reader.read_line()).poll()).unwrap(),
        None
    );
}

#[test]
fn read_bytes_is_short_only_at_eof() {
    let (mut writer, mut reader) = pipe(64);
    writer.try_write_segment("abc").unwrap();
    let mut read = spawn(reader.read_bytes(5));
    assert_pending!(read.poll());
    writer.try_write_segment("d").unwrap();
    assert!(read.is_woken());
    assert_pending!(read.poll());
    drop(writer);
    assert!(read.is_woken());
    assert_eq!(assert_ready!(read.poll()).unwrap(), "abcd");
    drop(read);
    assert_eq!(
        assert_ready!(spawn(reader.read_bytes(5)).poll()).unwrap(),
        ""
    );
}

#[test]
fn cancelled_read_bytes_keeps_the_gathered_bytes_for_the_next_read() {
    let (mut writer, mut reader) = pipe(64);
    writer.try_write_segment("ab").unwrap();
    let mut read = spawn(reader.read_bytes(4));
    assert_pending!(read.poll());
    drop(read);
    writer.try_write_segment("cd").unwrap();
    assert_eq!(
        assert_ready!(spawn(reader.read_bytes(4)).poll()).unwrap(),
        "abcd"
    );
}

// ---- the regression list ----

#[test]
fn blocked_writer_is_woken_when_the_reader_drops_and_sees_broken_pipe() {
    for capacity in capacities(MESSAGE.len()) {
        let (mut writer, reader) = pipe(capacity);
        writer
            .try_write_segment(Bytes::from(vec![0u8; capacity]))
            .unwrap();
        let mut blocked = spawn(writer.write_segment("more"));
        assert_pending!(blocked.poll());
        drop(reader);
        assert!(blocked.is_woken(), "capacity {capacity}");
        let error = assert_ready!(blocked.poll()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    }
}

#[test]
fn blocked_poll_write_ready_is_woken_when_the_reader_drops() {
    let (mut writer, reader) = pipe(1);
    writer.try_write_segment("x").unwrap();
    let mut ready = spawn(());
    assert_pending!(ready.enter(|cx, _| writer.poll_write_ready(cx)));
    drop(reader);
    assert!(ready.is_woken());
    let error = assert_ready!(ready.enter(|cx, _| writer.poll_write_ready(cx))).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
}

#[test]
fn try_write_after_the_reader_drops_hands_the_segment_back() {
    let (mut writer, reader) = pipe(16);
    drop(reader);
    let frame = Bytes::from(vec![3u8; 32]);
    match writer.try_write_segment(frame.clone()) {
        Err(TryWriteError::Closed(back)) => assert_eq!(back.as_ptr(), frame.as_ptr()),
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[test]
fn pending_reader_is_woken_when_the_writer_drops() {
    let (writer, mut reader) = pipe(16);
    let mut read = spawn(reader.read_segment());
    assert_pending!(read.poll());
    drop(writer);
    assert!(read.is_woken());
    assert_eq!(assert_ready!(read.poll()).unwrap(), None);
}

#[test]
fn pending_reader_is_woken_when_the_writer_closes() {
    let (mut writer, mut reader) = pipe(16);
    let mut read = spawn(async move {
        let mut buf = [0u8; 8];
        reader.read(&mut buf).await
    });
    assert_pending!(read.poll());
    writer.close();
    assert!(read.is_woken());
    assert_eq!(assert_ready!(read.poll()).unwrap(), 0);
}

#[test]
fn bytes_written_just_before_close_are_all_delivered() {
    let (mut writer, mut reader) = pipe(1 << 20);
    let segments: Vec<Bytes> = (0..1000u32)
        .map(|i| Bytes::from(i.to_be_bytes().to_vec()))
        .collect();
    let mut expected = Vec::new();
    let mut write = spawn(async {
        for segment in &segments {
            writer.write_segment(segment.clone()).await?;
            expected.extend_from_slice(segment);
            // Byte writes land in the shared write tail, which close must not lose.
            writer.write_all(b"+").await?;
            expected.push(b'+');
        }
        writer.close();
        io::Result::Ok(())
    });
    assert_ready!(write.poll()).unwrap();
    drop(write);
    let mut all = Vec::new();
    assert_ready!(spawn(reader.read_to_end(&mut all)).poll()).unwrap();
    assert_eq!(all, expected);
}

#[test]
fn writes_after_close_fail_with_broken_pipe() {
    let (mut writer, _reader) = pipe(16);
    writer.close();
    let error = assert_ready!(spawn(writer.write_segment("x")).poll()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    let error = assert_ready!(spawn(writer.write(b"x")).poll()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    let error = assert_ready!(spawn(writer.send(Bytes::from_static(b"x"))).poll()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    assert!(writer.try_write_segment("x").unwrap_err().is_closed());
}

/// A waker that, when woken, makes another thread take the pipe's lock (through `probe`) and
/// records whether that thread got it while `wake` was still running. A pipe that wakes under
/// its lock makes the probe wait for the lock until `wake` gives up.
struct LockProbeWaker {
    probe: Arc<dyn Fn() + Send + Sync>,
    woken: AtomicBool,
    lock_was_free: AtomicBool,
}

impl LockProbeWaker {
    fn new(probe: impl Fn() + Send + Sync + 'static) -> Arc<LockProbeWaker> {
        Arc::new(LockProbeWaker {
            probe: Arc::new(probe),
            woken: AtomicBool::new(false),
            lock_was_free: AtomicBool::new(false),
        })
    }

    fn assert_woken_outside_the_lock(&self, event: &str) {
        assert!(
            self.woken.swap(false, Ordering::SeqCst),
            "{event}: not woken"
        );
        assert!(
            self.lock_was_free.swap(false, Ordering::SeqCst),
            "{event}: woken while the pipe's lock was held"
        );
    }
}

impl Wake for LockProbeWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let (done, finished) = mpsc::channel();
        let probe = self.probe.clone();
        thread::spawn(move || {
            probe();
            let _ = done.send(());
        });
        let lock_was_free = finished.recv_timeout(Duration::from_secs(5)).is_ok();
        self.lock_was_free.store(lock_was_free, Ordering::SeqCst);
        self.woken.store(true, Ordering::SeqCst);
    }
}

#[test]
fn reader_wakers_are_woken_after_the_lock_is_released() {
    for event in ["write", "close", "drop"] {
        let (writer, reader) = pipe(16);
        let reader = Arc::new(Mutex::new(reader));
        let probed = reader.clone();
        let waker = LockProbeWaker::new(move || {
            let _ = probed.lock().unwrap().len();
        });
        let waker_handle = Waker::from(waker.clone());
        let mut cx = Context::from_waker(&waker_handle);
        let polled = Pin::new(&mut *reader.lock().unwrap()).poll_next(&mut cx);
        assert!(polled.is_pending());
        let mut writer = writer;
        match event {
            "write" => drop(writer.try_write_segment("x").unwrap()),
            "close" => writer.close(),
            _ => drop(writer),
        }
        waker.assert_woken_outside_the_lock(event);
    }
}

#[test]
fn writer_wakers_are_woken_after_the_lock_is_released() {
    for event in ["read", "drop"] {
        let (writer, mut reader) = pipe(2);
        let writer = Arc::new(Mutex::new(writer));
        writer.lock().unwrap().try_write_segment("ab").unwrap();
        let probed = writer.clone();
        let waker = LockProbeWaker::new(move || {
            let _ = probed.lock().unwrap().len();
        });
        let waker_handle = Waker::from(waker.clone());
        let mut cx = Context::from_waker(&waker_handle);
        assert!(writer
            .lock()
            .unwrap()
            .poll_write_ready(&mut cx)
            .is_pending());
        match event {
            "read" => {
                let segment = assert_ready!(spawn(reader.read_segment()).poll()).unwrap();
                assert_eq!(segment.unwrap(), "ab");
            }
            _ => drop(reader),
        }
        waker.assert_woken_outside_the_lock(event);
    }
}

#[test]
fn zero_length_reads_and_writes_complete_at_once() {
    let (mut writer, mut reader) = pipe(1);
    // Empty pipe: zero-length reads do not wait for bytes.
    assert_eq!(
        assert_ready!(spawn(reader.read_bytes(0)).poll()).unwrap(),
        ""
    );
    assert_eq!(
        assert_ready!(spawn(reader.read_chunk(0)).poll()).unwrap(),
        Some(Bytes::new())
    );
    assert_eq!(
        assert_ready!(spawn(reader.read(&mut [])).poll()).unwrap(),
        0
    );
    // Full pipe: zero-length writes do not wait for room.
    writer.try_write_segment("x").unwrap();
    assert_eq!(
        assert_ready!(spawn(writer.write_segment("")).poll()).unwrap(),
        0
    );
    assert_eq!(writer.try_write_segment(""), Ok(0));
    assert_eq!(assert_ready!(spawn(writer.write(b"")).poll()).unwrap(), 0);
    assert_eq!(
        assert_ready!(spawn(writer.write_vectored(&[])).poll()).unwrap(),
        0
    );
}

#[test]
fn zero_length_writes_to_a_closed_pipe_still_report_it() {
    let (mut writer, reader) = pipe(8);
    drop(reader);
    let error = assert_ready!(spawn(writer.write_segment("")).poll()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    assert!(writer.try_write_segment("").unwrap_err().is_closed());
    let error = assert_ready!(spawn(writer.write(b"")).poll()).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
}

#[test]
fn a_non_empty_write_never_returns_zero() {
    for capacity in capacities(MESSAGE.len()) {
        let (mut writer, mut reader) = pipe(capacity);
        let mut rest = MESSAGE;
        let mut task = spawn(());
        while !rest.is_empty() {
            match task.enter(|cx, _| Pin::new(&mut writer).poll_write(cx, rest)) {
                Poll::Ready(written) => {
                    let written = written.unwrap();
                    assert!(
                        written >= 1,
                        "Ok(0) for {} bytes at capacity {capacity}",
                        rest.len()
                    );
                    rest = &rest[written..];
                }
                Poll::Pending => {
                    assert!(
                        writer.len() >= capacity,
                        "pending with room at capacity {capacity}"
                    );
                    let mut drain = [0u8; 64];
                    assert_ready!(spawn(reader.read(&mut drain)).poll()).unwrap();
                    assert!(
                        task.is_woken(),
                        "not woken after a drain at capacity {capacity}"
                    );
                }
            }
        }
    }
}

#[test]
fn poll_write_vectored_writes_every_slice_it_has_room_for() {
    let (mut writer, mut reader) = pipe(1024);
    assert!(writer.is_write_vectored());
    let slices = [
        IoSlice::new(b"ab"),
        IoSlice::new(b"cd"),
        IoSlice::new(b"ef"),
    ];
    assert_eq!(
        assert_ready!(spawn(writer.write_vectored(&slices)).poll()).unwrap(),
        6
    );
    assert_eq!(
        assert_ready!(spawn(reader.read_bytes(6)).poll()).unwrap(),
        "abcdef"
    );

    let (mut writer, mut reader) = pipe(5);
    assert_eq!(
        assert_ready!(spawn(writer.write_vectored(&slices)).poll()).unwrap(),
        5
    );
    drop(writer);
    let mut all = Vec::new();
    assert_ready!(spawn(reader.read_to_end(&mut all)).poll()).unwrap();
    assert_eq!(all, b"abcde");
}

// ---- the cooperative budget ----

#[derive(Clone, Copy, Debug)]
enum ReadPath {
    Segment,
    Chunk,
    Bytes,
    Line,
    AsyncRead,
    FillBuf,
    Stream,
}

/// Reads one byte through `path`; `false` at EOF.
async fn read_one(reader: &mut PipeReader, path: ReadPath) -> bool {
    match path {
        ReadPath::Segment => reader.read_segment().await.unwrap().is_some(),
        ReadPath::Chunk => reader.read_chunk(1).await.unwrap().is_some(),
        ReadPath::Bytes => !reader.read_bytes(1).await.unwrap().is_empty(),
        ReadPath::Line => reader.read_line().await.unwrap().is_some(),
        ReadPath::AsyncRead => reader.read(&mut [0u8; 1]).await.unwrap() == 1,
        ReadPath::FillBuf => {
            let available = reader.fill_buf().await.unwrap().len();
            Pin::new(&mut *reader).consume(available.min(1));
            available > 0
        }
        ReadPath::Stream => reader.next().await.is_some(),
    }
}

/// Whether a task reading a pipe that always has bytes let another task run before it finished.
async fn other_task_ran_during_reads(path: ReadPath, constrained: bool) -> bool {
    // More than the 8,192 reads that Tokio's 128-unit budget covers at 64 reads per unit.
    const SEGMENTS: usize = 10_000;
    let (mut writer, mut reader) = pipe(1 << 20);
    for _ in 0..SEGMENTS {
        writer.try_write_segment("\n").unwrap();
    }
    drop(writer);
    let read_all = async move {
        let mut count = 0;
        while read_one(&mut reader, path).await {
            count += 1;
        }
        assert_eq!(count, SEGMENTS);
    };
    flag_task_ran_during(read_all, constrained).await.1
}

#[tokio::test(flavor = "current_thread")]
async fn a_busy_reader_yields_to_other_tasks_on_every_read_path() {
    for path in [
        ReadPath::Segment,
        ReadPath::Chunk,
        ReadPath::Bytes,
        ReadPath::Line,
        ReadPath::AsyncRead,
        ReadPath::FillBuf,
        ReadPath::Stream,
    ] {
        assert!(
            !other_task_ran_during_reads(path, false).await,
            "control: without a budget the reader must not yield ({path:?})"
        );
        assert!(
            other_task_ran_during_reads(path, true).await,
            "{path:?} never yielded"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_busy_writer_yields_to_other_tasks_and_loses_nothing_when_it_does() {
    // Segment writes spend a unit of the budget (128 units) per 64 writes, byte writes per 32
    // writes or per 64 KiB copied: every case below runs out of budget before it is done.
    for (byte_writes, writes, size) in [(false, 10_000, 1), (true, 5_000, 1), (true, 200, 64 << 10)]
    {
        let case = format!("byte writes: {byte_writes}, {writes} writes of {size} bytes");
        let (mut writer, mut reader) = pipe(writes * size);
        let write_all = async move {
            let frame = vec![b'x'; size];
            for _ in 0..writes {
                if byte_writes {
                    writer.write_all(&frame).await.unwrap();
                } else {
                    writer.write_segment(frame.clone()).await.unwrap();
                }
            }
        };
        let ((), other_ran) = flag_task_ran_during(write_all, true).await;
        assert!(other_ran, "never yielded, {case}");
        let mut all = Vec::new();
        reader.read_to_end(&mut all).await.unwrap();
        assert_eq!(all.len(), writes * size, "bytes lost, {case}");
        assert!(all.iter().all(|&byte| byte == b'x'), "{case}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn small_segments_fill_and_drain_a_256_kib_pipe_within_one_budget() {
    // 4,096 segments of 64 bytes fill `pipe(256 KiB)`. A writer that ran out of budget before
    // the pipe filled yielded instead of parking, and on two workers that let the writer and the
    // reader run at once, handing the lock between cores on every frame (a slow mode three times
    // slower). Both sides must get through a full pipe on one task budget.
    const FRAMES: usize = 4096;
    let (mut writer, mut reader) = pipe(FRAMES * 64);
    let frame = Bytes::from(vec![7u8; 64]);
    let write_all = async move {
        for _ in 0..FRAMES {
            writer.write_segment(frame.clone()).await.unwrap();
        }
        writer
    };
    let (mut writer, other_ran) = flag_task_ran_during(write_all, true).await;
    assert!(!other_ran, "the writer yielded before the pipe was full");
    assert!(writer.try_write_segment("x").unwrap_err().is_full());
    let read_all = async move {
        for _ in 0..FRAMES {
            assert_eq!(reader.read_segment().await.unwrap().unwrap().len(), 64);
        }
        reader
    };
    let (reader, other_ran) = flag_task_ran_during(read_all, true).await;
    assert!(!other_ran, "the reader yielded before the pipe was empty");
    assert!(reader.is_empty());
    drop(writer);
}

// ---- bounded memory ----

/// A deterministic xorshift, so failures reproduce.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_slow_reader_bytes_in_flight_never_exceed_capacity_plus_the_largest_segment(
) -> io::Result<()> {
    const CAPACITY: usize = 4096;
    const LARGEST: usize = 3000;
    const TOTAL: usize = 2 << 20;
    let (mut writer, mut reader) = pipe(CAPACITY);
    let producer = tokio::spawn(async move {
        let mut seed = 0x9E37_79B9_7F4A_7C15;
        let mut sent = 0;
        while sent < TOTAL {
            let size = 1 + (next_random(&mut seed) as usize) % LARGEST;
            if next_random(&mut seed).is_multiple_of(2) {
                writer.write_segment(vec![(sent % 251) as u8; size]).await?;
                sent += size;
            } else {
                sent += writer.write(&vec![(sent % 251) as u8; size]).await?;
            }
        }
        io::Result::Ok(sent)
    });
    let mut seed = 42;
    let mut received = 0;
    let mut most_in_flight = 0;
    loop {
        let in_flight = reader.len();
        most_in_flight = most_in_flight.max(in_flight);
        assert!(
            in_flight <= CAPACITY + LARGEST,
            "{in_flight} bytes in flight, capacity {CAPACITY} + largest segment {LARGEST}"
        );
        let want = 1 + (next_random(&mut seed) as usize) % 700;
        match reader.read_chunk(want).await? {
            Some(chunk) => received += chunk.len(),
            None => break,
        }
        if next_random(&mut seed).is_multiple_of(8) {
            tokio::task::yield_now().await; // let the writer refill while we dawdle
        }
    }
    let sent = producer.await.unwrap()?;
    assert_eq!(received, sent);
    assert!(
        most_in_flight > CAPACITY / 2,
        "the writer never filled the pipe ({most_in_flight})"
    );
    Ok(())
}

#[test]
fn byte_writes_never_put_more_than_capacity_in_flight() {
    for capacity in capacities(MESSAGE.len()) {
        let (mut writer, reader) = pipe(capacity);
        let mut task = spawn(());
        while let Poll::Ready(written) =
            task.enter(|cx, _| Pin::new(&mut writer).poll_write(cx, MESSAGE))
        {
            written.unwrap();
            assert!(
                reader.len() <= capacity,
                "capacity {capacity}: {}",
                reader.len()
            );
        }
        assert_eq!(reader.len(), capacity);
    }
}

// ---- tokio-util composition ----

#[cfg(feature = "codec")]
mod codec {
    use super::*;
    use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec, LinesCodec};
    use tokio_util::io::{ReaderStream, StreamReader};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn framed_lines_round_trip_through_a_small_pipe() {
        let (writer, reader) = pipe(7);
        let lines: Vec<String> = (0..200).map(|i| format!("line number {i}")).collect();
        let sent = lines.clone();
        let producer = tokio::spawn(async move {
            let mut framed = FramedWrite::new(writer, LinesCodec::new());
            for line in sent {
                framed.send(line).await.unwrap();
            }
            SinkExt::<String>::close(&mut framed).await.unwrap();
        });
        let got: Vec<String> = FramedRead::new(reader, LinesCodec::new())
            .map(Result::unwrap)
            .collect()
            .await;
        producer.await.unwrap();
        assert_eq!(got, lines);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn framed_length_delimited_round_trip_through_a_small_pipe() {
        let (writer, reader) = pipe(100);
        let frames: Vec<Bytes> = (0..100usize)
            .map(|i| Bytes::from(vec![i as u8; i * 7]))
            .collect();
        let sent = frames.clone();
        let producer = tokio::spawn(async move {
            let mut framed = FramedWrite::new(writer, LengthDelimitedCodec::new());
            for frame in sent {
                framed.send(frame).await.unwrap();
            }
        });
        let got: Vec<Bytes> = FramedRead::new(reader, LengthDelimitedCodec::new())
            .map(|frame| frame.unwrap().freeze())
            .collect()
            .await;
        producer.await.unwrap();
        assert_eq!(got, frames);
    }

    #[tokio::test]
    async fn stream_reader_reads_the_pipe_as_bytes() {
        let (mut writer, reader) = pipe(16);
        let producer = tokio::spawn(async move {
            for part in ["alpha ", "beta ", "gamma"] {
                writer.write_segment(part).await.unwrap();
            }
        });
        let mut text = String::new();
        StreamReader::new(reader)
            .read_to_string(&mut text)
            .await
            .unwrap();
        producer.await.unwrap();
        assert_eq!(text, "alpha beta gamma");
    }

    #[tokio::test]
    async fn reader_stream_yields_the_pipe_as_chunks() {
        let (mut writer, reader) = pipe(16);
        let producer = tokio::spawn(async move {
            writer.write_all(MESSAGE).await.unwrap();
        });
        let chunks: Vec<Bytes> = ReaderStream::new(reader)
            .map(Result::unwrap)
            .collect()
            .await;
        producer.await.unwrap();
        assert_eq!(chunks.concat(), MESSAGE);
    }

    #[tokio::test]
    async fn a_stream_of_segments_pours_into_the_writer_with_stream_reader() {
        let (mut writer, mut reader) = pipe(16);
        let source =
            futures::stream::iter(one_byte_segments(MESSAGE).into_iter().map(io::Result::Ok));
        let producer = tokio::spawn(async move {
            tokio::io::copy(&mut StreamReader::new(source), &mut writer)
                .await
                .unwrap();
        });
        let mut all = Vec::new();
        reader.read_to_end(&mut all).await.unwrap();
        producer.await.unwrap();
        assert_eq!(all, MESSAGE);
    }
}

// ---- futures-io ----

#[cfg(feature = "futures-io")]
#[test]
fn futures_io_traits_round_trip() {
    futures::executor::block_on(async {
        let (mut writer, mut reader) = pipe(4);
        let (written, read) = futures::join!(
            async move {
                futures::io::AsyncWriteExt::write_all(&mut writer, MESSAGE).await?;
                futures::io::AsyncWriteExt::close(&mut writer).await
            },
            async move {
                let mut all = Vec::new();
                futures::io::AsyncReadExt::read_to_end(&mut reader, &mut all)
                    .await
                    .map(|_| all)
            }
        );
        written.unwrap();
        assert_eq!(read.unwrap(), MESSAGE);
    });
}

// ---- cross-thread wake-ups ----

/// A waker for a plain thread: counts its wakes and unparks the thread that polls with it.
struct ThreadWaker {
    thread: thread::Thread,
    wakes: std::sync::atomic::AtomicUsize,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// What one side of a transfer saw: how often it was woken and how often it parked.
#[derive(Debug, Default, Clone, Copy)]
struct Wakes {
    woken: usize,
    parked: usize,
}

/// Runs `future` to completion on this thread, parking between polls; counts the wakes.
fn block_on_counting<F: Future>(future: F) -> (F::Output, Wakes) {
    let waker = Arc::new(ThreadWaker {
        thread: thread::current(),
        wakes: std::sync::atomic::AtomicUsize::new(0),
    });
    let task_waker = Waker::from(waker.clone());
    let mut cx = Context::from_waker(&task_waker);
    let mut future = std::pin::pin!(future);
    let mut parked = 0;
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            let woken = waker.wakes.load(Ordering::SeqCst);
            return (output, Wakes { woken, parked });
        }
        parked += 1;
        // A wake may come before the park: `park` then returns at once, so none is lost.
        thread::park_timeout(Duration::from_millis(100));
    }
}

/// Moves `total` bytes through `pipe(64 KiB)` from a writer thread (`write_all` of `frame`-byte
/// writes) to a reader thread (`AsyncRead` into 64 KiB); returns what each side saw.
fn byte_path_wakes(frame: usize, total: usize) -> (Wakes, Wakes) {
    let (mut writer, mut reader) = pipe(64 * 1024);
    let producer = thread::spawn(move || {
        let data = vec![0x5Au8; frame];
        block_on_counting(async move {
            for _ in 0..total / frame {
                writer.write_all(&data).await.unwrap();
            }
        })
        .1
    });
    let (received, reader_wakes) = block_on_counting(async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut received = 0;
        loop {
            match reader.read(&mut buf).await.unwrap() {
                0 => return received,
                n => received += n,
            }
        }
    });
    let writer_wakes = producer.join().unwrap();
    assert_eq!(received, total / frame * frame);
    (writer_wakes, reader_wakes)
}

/// Each side is woken at most once per time it parked (a wake answers a park, none is spent
/// on a side that is running), and the transfer completes. Run with `--nocapture` to see the
/// counts per MiB.
#[test]
fn cross_thread_wakes_answer_parks_on_the_byte_path() {
    const TOTAL: usize = 16 << 20;
    for frame in [64, 16 * 1024] {
        let (writer, reader) = byte_path_wakes(frame, TOTAL);
        report_wakes(&format!("{frame} B writes"), writer, reader, TOTAL);
    }
}

/// Prints how often each side was woken and parked per MiB of `total` bytes (`--nocapture`)
/// and checks that each was woken at most once per time it parked.
fn report_wakes(label: &str, writer: Wakes, reader: Wakes, total: usize) {
    let mib = (total >> 20) as f64;
    eprintln!(
        "{label}: writer woken {:.1}/MiB (parked {:.1}/MiB), reader woken {:.1}/MiB \
         (parked {:.1}/MiB)",
        writer.woken as f64 / mib,
        writer.parked as f64 / mib,
        reader.woken as f64 / mib,
        reader.parked as f64 / mib
    );
    assert!(writer.woken <= writer.parked, "{label}: writer {writer:?}");
    assert!(reader.woken <= reader.parked, "{label}: reader {reader:?}");
}

/// A task's waker wrapped to count how often the task is woken (by the other side, or by
/// itself when it yields for Tokio's budget).
struct CountingWaker {
    inner: Waker,
    wakes: Arc<std::sync::atomic::AtomicUsize>,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.inner.wake_by_ref();
    }
}

/// Runs `future` with its waker counted; returns its output, the wakes and the polls that
/// returned `Pending`.
async fn counting_wakes<F: Future>(future: F) -> (F::Output, Wakes) {
    let wakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut parked = 0;
    let mut future = std::pin::pin!(future);
    let output = poll_fn(|cx| {
        let waker = Waker::from(Arc::new(CountingWaker {
            inner: cx.waker().clone(),
            wakes: wakes.clone(),
        }));
        let polled = future.as_mut().poll(&mut Context::from_waker(&waker));
        if polled.is_pending() {
            parked += 1;
        }
        polled
    })
    .await;
    let woken = wakes.load(Ordering::SeqCst);
    (output, Wakes { woken, parked })
}

/// How a transfer on a Tokio runtime moves frames: the zero-copy segment path into
/// `pipe(256 KiB)`, or the byte path (`write_all`, `AsyncRead` into 64 KiB) into `pipe(64 KiB)`.
#[derive(Clone, Copy, Debug)]
enum Path {
    Segments,
    Bytes,
}

/// Moves `total` bytes in `frame`-byte frames from a writer task to a reader task on a
/// 2-worker runtime; returns how often each was woken and parked.
fn runtime_wakes(path: Path, frame: usize, total: usize) -> (Wakes, Wakes) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async move {
        let capacity = match path {
            Path::Segments => 256 * 1024,
            Path::Bytes => 64 * 1024,
        };
        let (mut writer, mut reader) = pipe(capacity);
        let data = Bytes::from(vec![0x5Au8; total]);
        let producer = tokio::spawn(counting_wakes(async move {
            for start in (0..total).step_by(frame) {
                let frame = data.slice(start..start + frame);
                match path {
                    Path::Segments => drop(writer.write_segment(frame).await.unwrap()),
                    Path::Bytes => writer.write_all(&frame).await.unwrap(),
                }
            }
        }));
        let consumer = tokio::spawn(counting_wakes(async move {
            let mut buf = vec![0u8; 64 * 1024];
            let mut received = 0;
            loop {
                let n = match path {
                    Path::Segments => reader.read_segment().await.unwrap().map_or(0, |s| s.len()),
                    Path::Bytes => reader.read(&mut buf).await.unwrap(),
                };
                if n == 0 {
                    return received;
                }
                received += n;
            }
        }));
        let ((), writer_wakes) = producer.await.unwrap();
        let (received, reader_wakes) = consumer.await.unwrap();
        assert_eq!(received, total);
        (writer_wakes, reader_wakes)
    })
}

/// The same counts on a Tokio runtime, where the cooperative budget adds wakes of its own: a
/// task that yields for the budget is woken by itself. Each side is woken at most once per
/// poll that returned `Pending`, and the transfer completes. Run with `--nocapture` to see the
/// counts per MiB (they vary with scheduling, so only the
/// bound is asserted).
#[test]
fn runtime_wakes_answer_parks_on_both_paths() {
    const TOTAL: usize = 16 << 20;
    for path in [Path::Segments, Path::Bytes] {
        for frame in [64, 16 * 1024] {
            let (writer, reader) = runtime_wakes(path, frame, TOTAL);
            report_wakes(
                &format!("{path:?}, {frame} B frames"),
                writer,
                reader,
                TOTAL,
            );
        }
    }
}

// ---- liveness: the read that makes room wakes the writer; len() is exact ----

/// The shape of code that runs on `tokio::io::duplex`: the reader takes a few bytes and never
/// reads or parks on the pipe again, so only the read that made room can wake the writer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_blocked_on_a_full_pipe_is_woken_by_a_reader_that_never_parks() {
    let (mut w, mut r) = pipe(32);
    let writer = tokio::spawn(async move {
        assert_eq!(w.write(&[0; 64]).await?, 32);
        w.write(&[0; 64]).await // Ok(4) once the reader took 4 bytes
    });
    let mut head = [0; 4];
    r.read_exact(&mut head).await.unwrap();
    let second = tokio::time::timeout(Duration::from_secs(60), writer)
        .await
        .expect("the blocked writer was never woken by the read that made room")
        .unwrap()
        .unwrap();
    assert_eq!(second, 4);
    drop(r);
}

/// The reader's ways of consuming bytes, each taking the first 4-byte line "abc\n".
#[derive(Clone, Copy, Debug)]
enum ConsumePath {
    ReadSegment,
    ReadChunk,
    ReadBytes,
    ReadLine,
    AsyncRead,
    AsyncBufReadConsume,
    Stream,
    #[cfg(feature = "futures-io")]
    FuturesRead,
    #[cfg(feature = "futures-io")]
    FuturesBufReadConsume,
    /// `write_to` a socket that takes 4 bytes, then stays pending.
    WriteTo,
}

const CONSUME_PATHS: &[ConsumePath] = &[
    ConsumePath::ReadSegment,
    ConsumePath::ReadChunk,
    ConsumePath::ReadBytes,
    ConsumePath::ReadLine,
    ConsumePath::AsyncRead,
    ConsumePath::AsyncBufReadConsume,
    ConsumePath::Stream,
    #[cfg(feature = "futures-io")]
    ConsumePath::FuturesRead,
    #[cfg(feature = "futures-io")]
    ConsumePath::FuturesBufReadConsume,
    ConsumePath::WriteTo,
];

/// A socket that accepts `budget` bytes in all, then stays pending without ever waking.
struct TakesSomeThenStalls {
    budget: usize,
    taken: Vec<u8>,
}

impl AsyncWrite for TakesSomeThenStalls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.budget == 0 {
            return Poll::Pending;
        }
        let n = buf.len().min(self.budget);
        self.budget -= n;
        self.taken.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Pending
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Pending
    }
}

/// Consumes the first line, "abc\n", through `path`, polling once; returns the bytes consumed.
fn consume_first_line(reader: &mut PipeReader, path: ConsumePath) -> Vec<u8> {
    match path {
        ConsumePath::ReadSegment => {
            let segment = assert_ready!(spawn(reader.read_segment()).poll()).unwrap();
            segment.unwrap().to_vec()
        }
        ConsumePath::ReadChunk => {
            let chunk = assert_ready!(spawn(reader.read_chunk(4)).poll()).unwrap();
            chunk.unwrap().to_vec()
        }
        ConsumePath::ReadBytes => {
            let bytes = assert_ready!(spawn(reader.read_bytes(4)).poll()).unwrap();
            bytes.to_vec()
        }
        ConsumePath::ReadLine => {
            let line = assert_ready!(spawn(reader.read_line()).poll()).unwrap();
            line.unwrap().to_vec()
        }
        ConsumePath::AsyncRead => {
            let mut buf = [0u8; 4];
            let n = assert_ready!(spawn(reader.read(&mut buf)).poll()).unwrap();
            buf[..n].to_vec()
        }
        ConsumePath::AsyncBufReadConsume => {
            let mut task = spawn(());
            let chunk = assert_ready!(task.enter(|cx, _| Pin::new(&mut *reader)
                .poll_fill_buf(cx)
                .map_ok(<[u8]>::to_vec)))
            .unwrap();
            Pin::new(&mut *reader).consume(4);
            chunk[..4].to_vec()
        }
        ConsumePath::Stream => {
            let segment = assert_ready!(spawn(reader.next()).poll()).unwrap();
            segment.unwrap().to_vec()
        }
        #[cfg(feature = "futures-io")]
        ConsumePath::FuturesRead => {
            let mut buf = [0u8; 4];
            let n = assert_ready!(spawn(futures::io::AsyncReadExt::read(reader, &mut buf)).poll())
                .unwrap();
            buf[..n].to_vec()
        }
        #[cfg(feature = "futures-io")]
        ConsumePath::FuturesBufReadConsume => {
            let mut task = spawn(());
            let chunk = assert_ready!(task.enter(|cx, _| {
                futures::io::AsyncBufRead::poll_fill_buf(Pin::new(&mut *reader), cx)
                    .map_ok(<[u8]>::to_vec)
            }))
            .unwrap();
            futures::io::AsyncBufRead::consume(Pin::new(&mut *reader), 4);
            chunk[..4].to_vec()
        }
        ConsumePath::WriteTo => {
            let mut socket = TakesSomeThenStalls {
                budget: 4,
                taken: Vec::new(),
            };
            assert_pending!(spawn(reader.write_to(&mut socket)).poll());
            socket.taken
        }
    }
}

#[test]
fn a_blocked_writer_is_woken_by_the_read_that_made_room_on_every_read_path() {
    for &path in CONSUME_PATHS {
        let (mut writer, mut reader) = pipe(32);
        for _ in 0..8 {
            writer.try_write_segment("abc\n").unwrap();
        }
        let mut blocked = spawn(writer.write(&[0; 64]));
        assert_pending!(blocked.poll());
        assert_eq!(consume_first_line(&mut reader, path), b"abc\n", "{path:?}");
        assert!(
            blocked.is_woken(),
            "{path:?}: the writer was not woken by the read that made room"
        );
        assert_eq!(
            assert_ready!(blocked.poll()).unwrap(),
            4,
            "{path:?}: the write takes the room made, as duplex's does"
        );
    }
}

#[test]
fn len_is_exact_on_both_halves_after_every_read_path() {
    for &path in CONSUME_PATHS {
        let (mut writer, mut reader) = pipe(64);
        writer.try_write_segment("abc\n").unwrap();
        writer.try_write_segment("de").unwrap();
        assert_eq!((writer.len(), reader.len()), (6, 6), "{path:?}");
        assert_eq!(consume_first_line(&mut reader, path), b"abc\n", "{path:?}");
        assert_eq!((writer.len(), reader.len()), (2, 2), "{path:?}");
    }
}

#[test]
fn len_after_two_segments_and_one_read_segment_is_the_second_segment_on_both_halves() {
    let (mut writer, mut reader) = pipe(16);
    assert_eq!(
        assert_ready!(spawn(writer.write_segment("abc")).poll()).unwrap(),
        3
    );
    assert_eq!(
        assert_ready!(spawn(writer.write_segment("de")).poll()).unwrap(),
        2
    );
    let first = assert_ready!(spawn(reader.read_segment()).poll()).unwrap();
    assert_eq!(first.unwrap(), "abc");
    assert_eq!(writer.len(), 2);
    assert_eq!(reader.len(), 2);
}

#[test]
fn bytes_gathered_by_a_waiting_read_line_are_not_counted_by_the_writer() {
    let (mut writer, mut reader) = pipe(4);
    writer.try_write_segment("abcd").unwrap();
    let mut line = spawn(reader.read_line());
    assert_pending!(line.poll());
    // The documented exception: the partial line is the request's, not in flight, so the
    // writer may send the rest of a line longer than the capacity.
    assert_eq!(writer.len(), 0);
    assert_eq!(writer.try_write_segment("ef\n"), Ok(3));
    assert!(line.is_woken());
    assert_eq!(assert_ready!(line.poll()).unwrap().unwrap(), "abcdef\n");
    drop(line);
    assert_eq!((writer.len(), reader.len()), (0, 0));
}

#[test]
fn a_byte_write_larger_than_the_room_returns_what_fit() {
    let (mut writer, mut reader) = pipe(10);
    assert_eq!(
        assert_ready!(spawn(writer.write(b"0123")).poll()).unwrap(),
        4
    );
    assert_eq!(
        assert_ready!(spawn(writer.write(b"456789abcdef")).poll()).unwrap(),
        6
    );
    assert_eq!(writer.len(), 10);
    let mut all = [0u8; 16];
    let n = assert_ready!(spawn(reader.read(&mut all)).poll()).unwrap();
    assert_eq!(&all[..n], b"0123456789");
}

/// The writer keeps the room it last saw and reloads the reader's count only when a write does
/// not fit in it: a write after the reader made room, without the writer ever waiting, still
/// gets all the room there is (not the room as of the writer's previous write).
#[test]
fn a_byte_write_gets_the_room_the_reader_made_since_the_last_write() {
    let (mut writer, mut reader) = pipe(32);
    assert_eq!(
        assert_ready!(spawn(writer.write(&[1; 20])).poll()).unwrap(),
        20
    );
    let mut all = [0u8; 64];
    assert_eq!(
        assert_ready!(spawn(reader.read(&mut all)).poll()).unwrap(),
        20
    );
    // The writer last saw 12 bytes of room; there are 32.
    assert_eq!(
        assert_ready!(spawn(writer.write(&[2; 64])).poll()).unwrap(),
        32
    );
    assert_eq!(writer.len(), 32);
    // And a segment is refused only when the pipe is full as of now.
    assert_eq!(
        assert_ready!(spawn(reader.read(&mut all[..1])).poll()).unwrap(),
        1
    );
    assert_eq!(writer.try_write_segment("fits"), Ok(4));
    assert!(matches!(
        writer.try_write_segment("full"),
        Err(TryWriteError::Full(_))
    ));
}

// ---- failure atomicity: a refused write leaves the pipe as it was ----

/// Every write form of the writer, each expected to fail with `BrokenPipe` on this pipe.
fn every_write_fails_with_broken_pipe(writer: &mut PipeWriter) {
    let kind = |result: io::Result<usize>| result.unwrap_err().kind();
    let broken = io::ErrorKind::BrokenPipe;
    assert_eq!(
        kind(assert_ready!(spawn(writer.write_segment("x")).poll())),
        broken
    );
    assert!(writer.try_write_segment("x").unwrap_err().is_closed());
    assert_eq!(
        kind(assert_ready!(spawn(writer.write(b"x")).poll())),
        broken
    );
    let slices = [IoSlice::new(b"x"), IoSlice::new(b"y")];
    assert_eq!(
        kind(assert_ready!(spawn(writer.write_vectored(&slices)).poll())),
        broken
    );
    let sent = assert_ready!(spawn(writer.send(Bytes::from_static(b"x"))).poll());
    assert_eq!(sent.unwrap_err().kind(), broken);
    let mut socket: &[u8] = b"from a socket";
    assert_eq!(
        kind(assert_ready!(
            spawn(writer.read_from(&mut socket, 64)).poll()
        )),
        broken
    );
    assert_eq!(
        socket.len(),
        13,
        "read_from read from the socket for a pipe it cannot write"
    );
}

#[test]
fn writes_after_close_fail_and_leave_the_pipe_unchanged() {
    let (mut writer, mut reader) = pipe(16);
    writer.try_write_segment("abc").unwrap();
    assert_eq!(assert_ready!(spawn(writer.write(b"de")).poll()).unwrap(), 2);
    writer.close();
    every_write_fails_with_broken_pipe(&mut writer);
    assert_eq!((writer.len(), reader.len()), (5, 5));
    let mut all = Vec::new();
    assert_ready!(spawn(reader.read_to_end(&mut all)).poll()).unwrap();
    assert_eq!(all, b"abcde");
}

#[test]
fn writes_after_the_reader_dropped_fail_and_leave_the_pipe_unchanged() {
    let (mut writer, reader) = pipe(16);
    writer.try_write_segment("abc").unwrap();
    drop(reader);
    every_write_fails_with_broken_pipe(&mut writer);
    assert_eq!(writer.len(), 0);
    assert!(writer.is_empty());
}

#[test]
fn a_refused_write_on_a_full_pipe_leaves_it_unchanged() {
    let (mut writer, mut reader) = pipe(4);
    writer.try_write_segment("abcd").unwrap();
    let frame = Bytes::from_static(b"efgh");
    let back = writer.try_write_segment(frame.clone()).unwrap_err();
    assert!(back.is_full());
    assert_eq!(back.into_inner().as_ptr(), frame.as_ptr());
    assert_pending!(spawn(writer.write(b"x")).poll());
    assert_pending!(spawn(writer.write_segment("y")).poll());
    assert_eq!((writer.len(), reader.len()), (4, 4));
    assert_eq!(
        assert_ready!(spawn(reader.read_bytes(4)).poll()).unwrap(),
        "abcd"
    );
}

/// `consume` past the lent segment clamps to it, as Tokio's `BufReader` clamps to its buffer:
/// the bytes lent are dropped, nothing queued behind them is touched, and nothing panics.
#[tokio::test]
async fn consume_past_what_the_reader_holds_clamps() {
    let (mut writer, mut reader) = pipe(64);
    writer.write_segment("abcd").await.unwrap();
    assert_eq!(reader.fill_buf().await.unwrap(), b"abcd");
    writer.write_segment("ef").await.unwrap(); // queued, not yet fetched by the reader
    Pin::new(&mut reader).consume(100);
    assert_eq!(reader.len(), 2);
    assert_eq!(writer.len(), 2);
    assert_eq!(reader.read_segment().await.unwrap().unwrap(), "ef");
    Pin::new(&mut reader).consume(7); // nothing held at all
    assert_eq!(reader.len(), 0);
}

/// A fetch moves every queued segment into the reader at once, so by the time `fill_buf` lends
/// "abc" the reader also holds "def". A `consume` past the lent slice used to drop both: bytes
/// `fill_buf` never returned were lost, more or fewer depending on how many segments the fetch
/// had found. It now clamps to the lent segment, through either trait.
#[tokio::test]
async fn consume_past_the_lent_segment_keeps_the_segments_behind_it() {
    let (mut writer, mut reader) = pipe(1024);
    writer.write_segment("abc").await.unwrap();
    writer.write_segment("def").await.unwrap();
    drop(writer);
    assert_eq!(reader.fill_buf().await.unwrap(), b"abc");
    Pin::new(&mut reader).consume(1000);
    assert_eq!(reader.len(), 3);
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, b"def");
}

#[cfg(feature = "futures-io")]
#[tokio::test]
async fn futures_io_consume_past_the_lent_segment_keeps_the_segments_behind_it() {
    use futures::io::{AsyncBufReadExt, AsyncReadExt};
    let (mut writer, mut reader) = pipe(1024);
    writer.write_segment("abc").await.unwrap();
    writer.write_segment("def").await.unwrap();
    drop(writer);
    assert_eq!(
        AsyncBufReadExt::fill_buf(&mut reader).await.unwrap(),
        b"abc"
    );
    futures::io::AsyncBufRead::consume(Pin::new(&mut reader), 1000);
    let mut rest = Vec::new();
    AsyncReadExt::read_to_end(&mut reader, &mut rest)
        .await
        .unwrap();
    assert_eq!(rest, b"def");
}

/// The futures-io `consume` clamps the same way.
#[cfg(feature = "futures-io")]
#[tokio::test]
async fn futures_io_consume_past_what_the_reader_holds_clamps() {
    let (mut writer, mut reader) = pipe(64);
    writer.write_segment("abcd").await.unwrap();
    assert_eq!(
        futures::io::AsyncBufReadExt::fill_buf(&mut reader)
            .await
            .unwrap(),
        b"abcd"
    );
    futures::io::AsyncBufRead::consume(Pin::new(&mut reader), 100);
    assert!(reader.is_empty());
    writer.close();
    assert_eq!(reader.read_segment().await.unwrap(), None);
}

#[tokio::test]
async fn bytes_a_cancelled_read_line_gathered_stay_uncounted_until_read_as_documented() {
    // The documented exception to `len()` and the capacity: what a waiting `read_line` gathered
    // is not counted, and a cancelled one leaves it so until the bytes are read; then every
    // count is exact again and no byte is lost.
    let (mut writer, mut reader) = pipe(4);
    writer.write_segment("abc").await.unwrap();
    {
        let mut line = spawn(reader.read_line());
        assert_pending!(line.poll());
    } // cancelled
    assert_eq!((writer.len(), reader.len()), (0, 3));
    assert_eq!(writer.try_write_segment("defg").unwrap(), 4);
    assert_eq!((writer.len(), reader.len()), (4, 7));
    assert!(matches!(
        writer.try_write_segment("h"),
        Err(TryWriteError::Full(_))
    ));
    assert_eq!(reader.read_segment().await.unwrap().unwrap(), "abc");
    assert_eq!((writer.len(), reader.len()), (4, 4));
    assert_eq!(reader.read_segment().await.unwrap().unwrap(), "defg");
    assert_eq!((writer.len(), reader.len()), (0, 0));
    assert_eq!(writer.try_write_segment("h").unwrap(), 1);
    assert_eq!(writer.len(), 1);
}

// Zero-length calls take part in the cooperative budget: `coop::zero_length_calls_yield!`.
coop::zero_length_calls_yield!(pipe(16));
