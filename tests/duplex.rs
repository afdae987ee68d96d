//! `duplex()` through its public API: zero-copy both ways, shutdown and drop semantics as
//! `tokio::io::duplex`, wakeups, the write-size limit, the cooperative budget, `into_split`.
#![cfg(feature = "tokio")]

use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use streamview::{duplex, DuplexStream, TryWriteError};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_test::task::spawn;
use tokio_test::{assert_pending, assert_ready};

#[path = "common/coop.rs"]
mod coop;

use coop::flag_task_ran_during;

/// Generous: a hang fails the test instead of blocking CI; nothing here measures time.
const TIMEOUT: Duration = Duration::from_secs(60);

async fn within_timeout<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(TIMEOUT, future).await {
        Ok(output) => output,
        Err(_) => panic!("{what} did not finish within {TIMEOUT:?}"),
    }
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

/// Bytes whose value depends on their position and on `salt`, so a byte in the wrong place or
/// from the wrong direction is caught.
fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt))
        .collect()
}

fn assert_broken_pipe<T: std::fmt::Debug>(result: io::Result<T>, what: &str) {
    let error = result.expect_err(what);
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe, "{what}: {error}");
}

#[test]
#[should_panic(expected = "duplex capacity must be at least 1 byte, got 0")]
fn duplex_with_zero_capacity_panics_naming_it() {
    let _ = duplex(0);
}

#[test]
fn ends_are_send_sync_unpin_static_and_debug() {
    fn assert_traits<T: Send + Sync + Unpin + std::fmt::Debug + 'static>() {}
    assert_traits::<DuplexStream>();
    let (left, _right) = duplex(16);
    let shown = format!("{left:?}");
    assert!(shown.starts_with("DuplexStream"), "{shown}");
    assert!(AsyncWrite::is_write_vectored(&left));
}

// ---- zero-copy both ways ----

#[tokio::test]
async fn segments_cross_as_the_same_buffer_in_both_directions() {
    let (mut left, mut right) = duplex(1 << 20);
    let to_right = Bytes::from(pattern(1500, 1));
    let to_left = Bytes::from(pattern(900, 2));

    left.write_segment(to_right.clone()).await.unwrap();
    right.try_write_segment(to_left.clone()).unwrap();
    let got = right.read_segment().await.unwrap().unwrap();
    assert_eq!(got.as_ptr(), to_right.as_ptr());
    assert_eq!(got, to_right);
    let got = left.read_segment().await.unwrap().unwrap();
    assert_eq!(got.as_ptr(), to_left.as_ptr());

    // read_chunk and read_bytes within one segment, Sink and Stream: the same buffers too.
    left.send(to_right.clone()).await.unwrap();
    let chunk = right.read_chunk(100).await.unwrap().unwrap();
    assert_eq!(chunk.as_ptr(), to_right.as_ptr());
    let rest = right.read_bytes(1400).await.unwrap();
    assert_eq!(rest.as_ptr(), to_right[100..].as_ptr());
    right.send(to_left.clone()).await.unwrap();
    let got = left.next().await.unwrap().unwrap();
    assert_eq!(got.as_ptr(), to_left.as_ptr());
}

#[tokio::test]
async fn read_line_and_read_bytes_span_segments_from_the_peer() {
    let (mut left, mut right) = duplex(1024);
    for part in ["one\ntw", "o\nth", "ree"] {
        left.write_segment(part).await.unwrap();
    }
    drop(left);
    assert_eq!(right.read_line().await.unwrap().unwrap(), "one\n");
    assert_eq!(right.read_bytes(4).await.unwrap(), "two\n");
    assert_eq!(right.read_line().await.unwrap().unwrap(), "three");
    assert_eq!(right.read_line().await.unwrap(), None);
}

// ---- shutdown: this end's writing direction only ----

#[derive(Debug, Clone, Copy)]
enum Shutdown {
    Tokio,
    Sink,
    #[cfg(feature = "futures-io")]
    FuturesIo,
}

const SHUTDOWNS: &[Shutdown] = &[
    Shutdown::Tokio,
    Shutdown::Sink,
    #[cfg(feature = "futures-io")]
    Shutdown::FuturesIo,
];

async fn shut_down(end: &mut DuplexStream, how: Shutdown) {
    match how {
        Shutdown::Tokio => AsyncWriteExt::shutdown(end).await.unwrap(),
        Shutdown::Sink => SinkExt::<Bytes>::close(end).await.unwrap(),
        #[cfg(feature = "futures-io")]
        Shutdown::FuturesIo => futures::io::AsyncWriteExt::close(end).await.unwrap(),
    }
}

#[tokio::test]
async fn shutdown_lets_the_peer_drain_then_read_eof_while_this_end_still_reads() {
    for &how in SHUTDOWNS {
        let (mut left, mut right) = duplex(64);
        left.write_all(b"queued before shutdown").await.unwrap();
        shut_down(&mut left, how).await;

        let mut drained = Vec::new();
        right.read_to_end(&mut drained).await.unwrap();
        assert_eq!(drained, b"queued before shutdown", "{how:?}");
        assert_eq!(right.read_segment().await.unwrap(), None, "{how:?}");

        // The other direction is untouched.
        right.write_all(b"reply").await.unwrap();
        assert_eq!(left.read_bytes(5).await.unwrap(), "reply", "{how:?}");
        drop(right);
        assert_eq!(left.read_segment().await.unwrap(), None, "{how:?}");
    }
}

#[tokio::test]
async fn after_shutdown_every_write_of_this_end_fails_with_broken_pipe() {
    for &how in SHUTDOWNS {
        let (mut left, _right) = duplex(64);
        shut_down(&mut left, how).await;
        assert_broken_pipe(left.write(b"x").await, "AsyncWrite::write");
        assert_broken_pipe(left.write_segment("x").await, "write_segment");
        assert_broken_pipe(poll_fn(|cx| left.poll_write_ready(cx)).await, "ready");
        assert_broken_pipe(left.send(Bytes::from_static(b"x")).await, "Sink::send");
        assert!(matches!(
            left.try_write_segment("x"),
            Err(TryWriteError::Closed(_))
        ));
        // Shutting down twice is harmless.
        shut_down(&mut left, how).await;
    }
}

#[test]
fn shutdown_wakes_a_peer_parked_reading() {
    let (mut left, mut right) = duplex(64);
    let mut reading = spawn(right.read_segment());
    assert_pending!(reading.poll());
    let mut shutting = spawn(AsyncWriteExt::shutdown(&mut left));
    assert_ready!(shutting.poll()).unwrap();
    assert!(reading.is_woken());
    assert_eq!(assert_ready!(reading.poll()).unwrap(), None);
}

// ---- drop: both directions ----

#[tokio::test]
async fn dropping_an_end_lets_the_peer_drain_then_eof_and_fails_its_writes() {
    let (mut left, mut right) = duplex(64);
    left.write_all(b"last words").await.unwrap();
    right.write_all(b"never read").await.unwrap();
    drop(left);

    let mut drained = String::new();
    right.read_to_string(&mut drained).await.unwrap();
    assert_eq!(drained, "last words");
    assert_broken_pipe(right.write(b"x").await, "write after the peer dropped");
    assert_broken_pipe(right.write_segment("x").await, "write_segment");
    assert_broken_pipe(poll_fn(|cx| right.poll_write_ready(cx)).await, "ready");
    assert!(right.try_write_segment("x").unwrap_err().is_closed());
    // Zero-length writes complete at once, but still report the closed direction.
    assert_broken_pipe(right.write(b"").await, "empty write");
}

#[test]
fn dropping_an_end_wakes_a_peer_parked_reading() {
    let (left, mut right) = duplex(64);
    let mut buf = [0u8; 8];
    let mut reading = spawn(right.read(&mut buf));
    assert_pending!(reading.poll());
    drop(left);
    assert!(reading.is_woken());
    assert_eq!(assert_ready!(reading.poll()).unwrap(), 0);
}

#[test]
fn dropping_an_end_wakes_a_peer_parked_writing() {
    let (left, mut right) = duplex(4);
    right.try_write_segment("full").unwrap();
    {
        let mut writing = spawn(right.write(b"more"));
        assert_pending!(writing.poll());
        drop(left);
        assert!(writing.is_woken());
        assert_broken_pipe(assert_ready!(writing.poll()), "woken write");
    }
    let (left, mut right) = duplex(4);
    right.try_write_segment("full").unwrap();
    let mut ready = spawn(poll_fn(|cx| right.poll_write_ready(cx)));
    assert_pending!(ready.poll());
    drop(left);
    assert!(ready.is_woken());
    assert_broken_pipe(assert_ready!(ready.poll()), "woken poll_write_ready");
}

#[test]
fn a_peer_parked_writing_is_woken_when_this_end_reads() {
    let (mut left, mut right) = duplex(4);
    right.try_write_segment("full").unwrap();
    let mut writing = spawn(right.write_segment("next"));
    assert_pending!(writing.poll());
    let mut reading = spawn(left.read_segment());
    assert_eq!(assert_ready!(reading.poll()).unwrap().unwrap(), "full");
    drop(reading);
    assert!(writing.is_woken());
    assert_eq!(assert_ready!(writing.poll()).unwrap(), 4);
}

#[tokio::test]
async fn disconnect_with_data_still_queued_delivers_it_all_then_eof() {
    let (mut left, mut right) = duplex(1 << 20);
    let sent = pattern(100_000, 7);
    left.write_all(&sent).await.unwrap();
    left.write_segment(Bytes::from(pattern(10, 8)))
        .await
        .unwrap();
    drop(left);
    let mut received = Vec::new();
    right.read_to_end(&mut received).await.unwrap();
    assert_eq!(received.len(), 100_010);
    assert_eq!(&received[..100_000], &sent[..]);
    assert_eq!(&received[100_000..], &pattern(10, 8)[..]);
}

#[tokio::test]
async fn dropping_a_reader_with_data_still_queued_breaks_the_writer() {
    let (mut left, right) = duplex(1 << 20);
    left.write_all(b"never read").await.unwrap();
    drop(right);
    assert_broken_pipe(left.write_all(b"more").await, "write to a dropped peer");
    // This end's reading direction ended with the peer: end of file.
    assert_eq!(left.read_segment().await.unwrap(), None);
}

// ---- write sizes ----

#[test]
fn a_write_larger_than_the_room_left_returns_what_fit() {
    let (mut left, mut right) = duplex(8);
    let mut writing = spawn(left.write(b"0123456789abcdef"));
    assert_eq!(assert_ready!(writing.poll()).unwrap(), 8);
    drop(writing);
    let mut full = spawn(left.write(b"x"));
    assert_pending!(full.poll());
    let mut reading = spawn(right.read_bytes(8));
    assert_eq!(assert_ready!(reading.poll()).unwrap(), "01234567");
    drop(reading);
    assert!(full.is_woken());
    assert_eq!(assert_ready!(full.poll()).unwrap(), 1);
}

#[test]
fn poll_write_vectored_writes_every_slice_there_is_room_for() {
    let (mut left, mut right) = duplex(8);
    let slices = [
        IoSlice::new(b"abc"),
        IoSlice::new(b""),
        IoSlice::new(b"def"),
        IoSlice::new(b"ghi"),
    ];
    let mut writing = spawn(poll_fn(|cx| {
        Pin::new(&mut left).poll_write_vectored(cx, &slices)
    }));
    assert_eq!(assert_ready!(writing.poll()).unwrap(), 8);
    drop(writing);
    let mut reading = spawn(right.read_bytes(8));
    assert_eq!(assert_ready!(reading.poll()).unwrap(), "abcdefgh");
}

#[test]
fn zero_length_reads_and_writes_complete_at_once() {
    let (mut left, _right) = duplex(4);
    left.try_write_segment("full").unwrap();
    // Full direction: an empty write still completes.
    assert_eq!(assert_ready!(spawn(left.write(b"")).poll()).unwrap(), 0);
    assert_eq!(
        assert_ready!(spawn(left.write_segment(Bytes::new())).poll()).unwrap(),
        0
    );
    // Nothing to read in this direction: an empty read still completes.
    assert_eq!(assert_ready!(spawn(left.read(&mut [])).poll()).unwrap(), 0);
    assert_eq!(
        assert_ready!(spawn(left.read_chunk(0)).poll())
            .unwrap()
            .unwrap(),
        ""
    );
    assert_eq!(assert_ready!(spawn(left.read_bytes(0)).poll()).unwrap(), "");
}

#[test]
fn a_non_empty_write_never_returns_zero() {
    for capacity in [1, 2, 3, 7, 64] {
        let (mut left, mut right) = duplex(capacity);
        let message = pattern(200, 3);
        let writer = async {
            let mut sent = 0;
            while sent < message.len() {
                let n = left.write(&message[sent..]).await.unwrap();
                assert_ne!(n, 0, "write returned Ok(0) at capacity {capacity}");
                sent += n;
            }
            left.shutdown().await.unwrap();
        };
        let reader = async {
            let mut received = Vec::new();
            right.read_to_end(&mut received).await.unwrap();
            received
        };
        let ((), received) = drive(writer, reader);
        assert_eq!(received, message, "capacity {capacity}");
    }
}

#[test]
fn both_directions_at_once_at_every_capacity_without_lost_wakeups() {
    let message_right = pattern(300, 4);
    let message_left = pattern(257, 5);
    for capacity in [1, 150, 299, 300, 301] {
        let (left, right) = duplex(capacity);
        let exchange = |mut end: DuplexStream, outgoing: Vec<u8>| async move {
            let (mut reader, mut writer) = tokio::io::split(&mut end);
            let send = async {
                writer.write_all(&outgoing).await.unwrap();
                writer.shutdown().await.unwrap();
            };
            let receive = async {
                let mut received = Vec::new();
                reader.read_to_end(&mut received).await.unwrap();
                received
            };
            futures::join!(send, receive).1
        };
        let (at_left, at_right) = drive(
            exchange(left, message_right.clone()),
            exchange(right, message_left.clone()),
        );
        assert_eq!(at_right, message_right, "capacity {capacity}");
        assert_eq!(at_left, message_left, "capacity {capacity}");
    }
}

// ---- across tasks ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_pong_between_tasks() {
    const ROUNDS: u32 = 1_000;
    let (mut client, mut server) = duplex(32);
    let server_task = tokio::spawn(async move {
        let mut ping = [0u8; 4];
        for round in 0..ROUNDS {
            server.read_exact(&mut ping).await.unwrap();
            assert_eq!(u32::from_be_bytes(ping), round);
            server.write_all(&(round + 1).to_be_bytes()).await.unwrap();
        }
    });
    within_timeout("ping-pong", async {
        let mut pong = [0u8; 4];
        for round in 0..ROUNDS {
            client.write_all(&round.to_be_bytes()).await.unwrap();
            client.read_exact(&mut pong).await.unwrap();
            assert_eq!(u32::from_be_bytes(pong), round + 1);
        }
        server_task.await.unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_end_reads_while_the_other_writes_across_tasks() {
    const LEN: usize = 4 << 20;
    let (mut left, mut right) = duplex(4096);
    let writing = tokio::spawn(async move {
        let data = pattern(LEN, 9);
        for piece in data.chunks(1000) {
            left.write_all(piece).await.unwrap();
        }
        // Keep the end alive until the peer confirms, so EOF comes from shutdown alone.
        left.shutdown().await.unwrap();
        let mut ack = [0u8; 2];
        left.read_exact(&mut ack).await.unwrap();
        ack
    });
    within_timeout("reading across tasks", async {
        let mut received = Vec::with_capacity(LEN);
        right.read_to_end(&mut received).await.unwrap();
        assert!(received == pattern(LEN, 9), "bytes differ");
        right.write_all(b"ok").await.unwrap();
        assert_eq!(&writing.await.unwrap(), b"ok");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_end_wakes_the_other_across_tasks() {
    let (left, mut right) = duplex(64);
    let reading = tokio::spawn(async move { right.read_segment().await });
    tokio::task::yield_now().await;
    drop(left);
    let read = within_timeout("woken reader", reading).await.unwrap();
    assert_eq!(read.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn into_split_halves_work_from_two_tasks() {
    let (left, mut right) = duplex(256);
    let (mut reader, mut writer) = left.into_split();
    let echo = tokio::spawn(async move {
        // Reads one direction in this task while the writer half is used in another.
        let mut lines = Vec::new();
        while let Some(line) = reader.read_line().await.unwrap() {
            lines.push(line);
        }
        lines
    });
    let send = tokio::spawn(async move {
        for i in 0..100 {
            right
                .write_all(format!("line {i}\n").as_bytes())
                .await
                .unwrap();
        }
        right.shutdown().await.unwrap();
        let mut reply = String::new();
        right.read_to_string(&mut reply).await.unwrap();
        reply
    });
    writer.write_segment("done").await.unwrap();
    drop(writer);
    let (lines, reply) = within_timeout("split halves", async {
        (echo.await.unwrap(), send.await.unwrap())
    })
    .await;
    assert_eq!(lines.len(), 100);
    assert_eq!(lines[99], "line 99\n");
    assert_eq!(reply, "done");
}

// ---- cooperative budget ----

#[derive(Debug, Clone, Copy)]
enum ReadPath {
    Segment,
    Chunk,
    Bytes,
    Line,
    AsyncRead,
    FillBuf,
    Stream,
}

async fn read_one(end: &mut DuplexStream, path: ReadPath) -> bool {
    match path {
        ReadPath::Segment => end.read_segment().await.unwrap().is_some(),
        ReadPath::Chunk => end.read_chunk(1).await.unwrap().is_some(),
        ReadPath::Bytes => !end.read_bytes(1).await.unwrap().is_empty(),
        ReadPath::Line => end.read_line().await.unwrap().is_some(),
        ReadPath::AsyncRead => end.read(&mut [0u8; 1]).await.unwrap() == 1,
        ReadPath::FillBuf => {
            let available = end.fill_buf().await.unwrap().len();
            tokio::io::AsyncBufRead::consume(Pin::new(&mut *end), available.min(1));
            available > 0
        }
        ReadPath::Stream => end.next().await.is_some(),
    }
}

/// Whether a task reading an end that always has bytes let another task run before it finished.
async fn other_task_ran_during_reads(path: ReadPath, constrained: bool) -> bool {
    // More than the 8,192 reads that Tokio's 128-unit budget covers at 64 reads per unit.
    const SEGMENTS: usize = 10_000;
    let (mut left, mut right) = duplex(1 << 20);
    for _ in 0..SEGMENTS {
        left.try_write_segment("\n").unwrap();
    }
    drop(left);
    let read_all = async move {
        let mut count = 0;
        while read_one(&mut right, path).await {
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

#[derive(Debug, Clone, Copy)]
enum WritePath {
    Segment,
    AsyncWrite,
    Sink,
}

#[tokio::test(flavor = "current_thread")]
async fn a_busy_writer_yields_to_other_tasks_on_every_write_path() {
    for path in [WritePath::Segment, WritePath::AsyncWrite, WritePath::Sink] {
        let (mut left, mut right) = duplex(1 << 20);
        // More than the 8,192 segment writes (or 4,096 byte writes) that share Tokio's
        // 128-unit budget.
        let write_all = async move {
            for _ in 0..10_000 {
                match path {
                    WritePath::Segment => drop(left.write_segment("x").await.unwrap()),
                    WritePath::AsyncWrite => left.write_all(b"x").await.unwrap(),
                    WritePath::Sink => left.send(Bytes::from_static(b"x")).await.unwrap(),
                }
            }
        };
        let ((), other_ran) = flag_task_ran_during(write_all, true).await;
        assert!(other_ran, "{path:?} never yielded");
        let mut all = Vec::new();
        right.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, vec![b'x'; 10_000], "{path:?} lost bytes");
    }
}

// ---- futures-io ----

#[cfg(feature = "futures-io")]
#[test]
fn futures_io_traits_round_trip_both_ways() {
    let (mut left, mut right) = duplex(5);
    let left_side = async {
        let message = b"hello world\n";
        let mut sent = 0;
        while sent < message.len() {
            // Two slices of what is left; each write takes at least one byte.
            let (first, second) = message[sent..].split_at((message.len() - sent) / 2);
            let slices = [IoSlice::new(first), IoSlice::new(second)];
            let n = futures::io::AsyncWriteExt::write_vectored(&mut left, &slices)
                .await
                .unwrap();
            assert!(n > 0);
            sent += n;
        }
        futures::io::AsyncWriteExt::close(&mut left).await.unwrap();
        let mut reply = String::new();
        futures::io::AsyncReadExt::read_to_string(&mut left, &mut reply)
            .await
            .unwrap();
        reply
    };
    let right_side = async {
        let mut line = String::new();
        futures::io::AsyncBufReadExt::read_line(&mut right, &mut line)
            .await
            .unwrap();
        futures::io::AsyncWriteExt::write_all(&mut right, line.to_uppercase().as_bytes())
            .await
            .unwrap();
        drop(right);
        line
    };
    let (reply, line) = drive(left_side, right_side);
    assert_eq!(line, "hello world\n");
    assert_eq!(reply, "HELLO WORLD\n");
}

/// `consume` past what an end holds clamps (it delegates to the pipe reader), even on an end
/// that holds nothing.
#[tokio::test]
async fn consume_past_what_an_end_holds_clamps() {
    use tokio::io::{AsyncBufRead, AsyncBufReadExt};
    let (mut near, mut far) = streamview::duplex(16);
    AsyncBufRead::consume(Pin::new(&mut far), 100);
    near.write_segment("abcd").await.unwrap();
    assert_eq!(far.fill_buf().await.unwrap(), b"abcd");
    AsyncBufRead::consume(Pin::new(&mut far), 100);
    near.write_segment("ef").await.unwrap();
    assert_eq!(far.read_segment().await.unwrap().unwrap(), "ef");
}

/// One end holds "abc" and "def" after one fetch; a `consume` past the lent "abc" used to drop
/// "def" too.
#[tokio::test]
async fn consume_past_the_lent_segment_keeps_the_segments_behind_it() {
    use tokio::io::AsyncBufRead;
    let (mut near, mut far) = streamview::duplex(1024);
    near.write_segment("abc").await.unwrap();
    near.write_segment("def").await.unwrap();
    drop(near);
    assert_eq!(far.fill_buf().await.unwrap(), b"abc");
    AsyncBufRead::consume(Pin::new(&mut far), 1000);
    let mut rest = Vec::new();
    far.read_to_end(&mut rest).await.unwrap();
    assert_eq!(rest, b"def");
}

// Zero-length calls take part in the cooperative budget: `coop::zero_length_calls_yield!`.
coop::zero_length_calls_yield!(duplex(16));
