//! The Tokio contract: an empty open stream is `Poll::Pending` with the waker stored, and the
//! next write or close wakes the reader; `AsyncBufRead` hands out the front segment;
//! `AsyncWrite` writes every vectored slice and `shutdown` closes.
#![cfg(feature = "tokio")]

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::{BufMut, Bytes};
use streamview::AsyncStream;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf,
};
use tokio_test::task;
use tokio_test::{assert_pending, assert_ready, assert_ready_ok};

/// Polls `stream`'s `poll_read` once inside `reader`'s task context.
fn poll_read_in(
    reader: &mut task::Spawn<()>,
    stream: &mut AsyncStream,
    storage: &mut [u8],
) -> Poll<io::Result<usize>> {
    reader.enter(|cx, _| {
        let mut buf = ReadBuf::new(storage);
        Pin::new(&mut *stream)
            .poll_read(cx, &mut buf)
            .map_ok(|()| buf.filled().len())
    })
}

#[test]
fn split_reader_is_pending_until_the_writer_writes() {
    let (mut reader, mut writer) = tokio::io::split(AsyncStream::new());
    let mut buf = [0u8; 16];
    let mut read = task::spawn(reader.read(&mut buf));
    assert_pending!(read.poll());
    assert_pending!(read.poll(), "polling again does not make bytes appear");
    assert!(!read.is_woken());

    let mut write = task::spawn(writer.write_all(b"hello"));
    assert_ready_ok!(write.poll());
    assert!(read.is_woken(), "the write must wake the pending reader");
    assert_eq!(assert_ready_ok!(read.poll()), 5);
    drop(read);
    assert_eq!(&buf[..5], b"hello");
}

#[test]
fn split_reader_is_woken_by_shutdown_and_then_reads_eof() {
    let (mut reader, mut writer) = tokio::io::split(AsyncStream::new());
    let mut buf = [0u8; 16];
    let mut read = task::spawn(reader.read(&mut buf));
    assert_pending!(read.poll());

    let mut shutdown = task::spawn(writer.shutdown());
    assert_ready_ok!(shutdown.poll());
    assert!(read.is_woken(), "close must wake the pending reader");
    assert_eq!(assert_ready_ok!(read.poll()), 0, "empty and closed is EOF");
}

#[test]
fn split_reader_gets_bytes_written_before_shutdown_then_eof() {
    let (mut reader, mut writer) = tokio::io::split(AsyncStream::new());
    let mut text = String::new();
    let mut read = task::spawn(reader.read_to_string(&mut text));
    assert_pending!(read.poll());
    assert_ready_ok!(task::spawn(writer.write_all(b"one ")).poll());
    assert!(read.is_woken());
    assert_pending!(read.poll());
    assert_ready_ok!(task::spawn(writer.write_all(b"two")).poll());
    assert!(read.is_woken());
    assert_pending!(read.poll());
    assert_ready_ok!(task::spawn(writer.shutdown()).poll());
    assert!(read.is_woken());
    assert_eq!(assert_ready_ok!(read.poll()), 7);
    drop(read);
    assert_eq!(text, "one two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_task_and_writer_task_share_one_stream() {
    let (mut reader, mut writer) = tokio::io::split(AsyncStream::new());
    let expected: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
    let to_write = expected.clone();
    let writer_task = tokio::spawn(async move {
        for piece in to_write.chunks(997) {
            writer.write_all(piece).await?;
            tokio::task::yield_now().await;
        }
        writer.shutdown().await
    });
    let reader_task = tokio::spawn(async move {
        let mut all = Vec::new();
        reader.read_to_end(&mut all).await.map(|_| all)
    });
    // A lost wake-up would hang the reader: bound the wait so it fails instead.
    let both = async { (writer_task.await, reader_task.await) };
    let (written, read) = tokio::time::timeout(Duration::from_secs(20), both)
        .await
        .expect("the reader was never woken");
    written.unwrap().unwrap();
    assert_eq!(read.unwrap().unwrap(), expected);
}

#[test]
fn every_kind_of_write_wakes_a_pending_reader() {
    type WriteOp = fn(&mut AsyncStream);
    let writes: [(&str, WriteOp); 10] = [
        ("std write", |s| {
            std::io::Write::write_all(s, b"x").unwrap();
        }),
        ("put_u8", |s| s.put_u8(b'x')),
        ("put of a large Bytes", |s| {
            s.put(Bytes::from(vec![b'x'; 64 * 1024]))
        }),
        ("write_segment", |s| {
            s.write_segment("x");
        }),
        ("write_segments", |s| {
            s.write_segments(["x", "y"]);
        }),
        ("extend", |s| s.extend([Bytes::from_static(b"x")])),
        ("put_slice", |s| s.put_slice(b"x")),
        ("put_bytes", |s| s.put_bytes(b'x', 2)),
        ("unread_segment", |s| {
            s.unread_segment("x");
        }),
        ("append", |s| {
            s.append(&mut AsyncStream::from("x"));
        }),
    ];
    for (name, write) in writes {
        let mut stream = AsyncStream::new();
        let mut reader = task::spawn(());
        let mut storage = [0u8; 4];
        assert!(poll_read_in(&mut reader, &mut stream, &mut storage).is_pending());
        write(&mut stream);
        assert!(reader.is_woken(), "{name} did not wake the reader");
        assert!(matches!(
            poll_read_in(&mut reader, &mut stream, &mut storage),
            Poll::Ready(Ok(n)) if n > 0
        ));
    }
}

#[test]
fn empty_writes_do_not_wake_and_the_reader_stays_pending() {
    let mut stream = AsyncStream::new();
    let mut reader = task::spawn(());
    let mut storage = [0u8; 4];
    assert!(poll_read_in(&mut reader, &mut stream, &mut storage).is_pending());
    stream.write_segment("");
    assert_ready_ok!(task::spawn(stream.write_all(b"")).poll());
    assert!(poll_read_in(&mut reader, &mut stream, &mut storage).is_pending());
}

#[test]
fn the_latest_reader_waker_is_the_one_woken() {
    let mut stream = AsyncStream::new();
    let mut first = task::spawn(());
    let mut second = task::spawn(());
    let mut storage = [0u8; 4];
    assert!(poll_read_in(&mut first, &mut stream, &mut storage).is_pending());
    assert!(poll_read_in(&mut second, &mut stream, &mut storage).is_pending());
    stream.write_segment("x");
    assert!(second.is_woken());
}

#[test]
fn read_into_a_full_read_buf_is_ready_without_bytes() {
    let mut stream = AsyncStream::new();
    let mut reader = task::spawn(());
    assert_eq!(
        assert_ready_ok!(poll_read_in(&mut reader, &mut stream, &mut [])),
        0
    );
}

#[test]
fn async_buf_read_is_pending_when_empty_and_returns_the_front_segment() {
    let mut stream = AsyncStream::new();
    let mut reader = task::spawn(());
    let pending = reader.enter(|cx, _| Pin::new(&mut stream).poll_fill_buf(cx).is_pending());
    assert!(pending);
    let front = Bytes::from_static(b"front");
    stream.write_segment(front.clone());
    stream.write_segment("back");
    assert!(reader.is_woken());
    reader.enter(|cx, _| {
        let chunk = assert_ready_ok!(Pin::new(&mut stream).poll_fill_buf(cx));
        assert_eq!(chunk, b"front");
        assert_eq!(chunk.as_ptr(), front.as_ptr(), "fill_buf does not copy");
    });
    Pin::new(&mut stream).consume(5);
    assert_eq!(stream, b"back");
    stream.close();
    stream.clear();
    reader.enter(|cx, _| {
        let chunk = assert_ready_ok!(Pin::new(&mut stream).poll_fill_buf(cx));
        assert!(chunk.is_empty(), "empty and closed is EOF");
    });
}

#[tokio::test]
async fn async_buf_read_splits_lines_across_segments() {
    let mut stream = AsyncStream::new();
    stream.write_segments(["fir", "st\nsec", "ond\n", "last"]);
    stream.close();
    let mut line = Vec::new();
    assert_eq!(stream.read_until(b'\n', &mut line).await.unwrap(), 6);
    assert_eq!(line, b"first\n");
    let mut lines = stream.lines();
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("second"));
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("last"));
    assert_eq!(lines.next_line().await.unwrap(), None);
}

#[tokio::test]
async fn write_vectored_writes_every_slice() {
    let mut stream = AsyncStream::new();
    assert!(stream.is_write_vectored());
    let slices = [
        IoSlice::new(b"one"),
        IoSlice::new(b""),
        IoSlice::new(b"two"),
        IoSlice::new(&[b'3'; 10_000]),
    ];
    assert_eq!(stream.write_vectored(&slices).await.unwrap(), 10_006);
    let mut expected = b"onetwo".to_vec();
    expected.extend_from_slice(&[b'3'; 10_000]);
    assert_eq!(stream, expected);

    let (_, mut writer) = tokio::io::split(AsyncStream::new());
    assert!(
        writer.is_write_vectored(),
        "the split half reports the stream's choice"
    );
    assert_eq!(writer.write_vectored(&slices[..3]).await.unwrap(), 6);
}

#[tokio::test]
async fn shutdown_closes_and_later_writes_are_broken_pipe() {
    let mut stream = AsyncStream::from("held");
    stream.flush().await.unwrap();
    stream.shutdown().await.unwrap();
    assert!(stream.is_closed());
    let err = stream.write_all(b"late").await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    let err = stream
        .write_vectored(&[IoSlice::new(b"late")])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    let mut rest = String::new();
    stream.read_to_string(&mut rest).await.unwrap();
    assert_eq!(rest, "held");
}

#[tokio::test]
async fn tokio_copy_drains_a_closed_stream_into_a_vec() {
    let mut stream = AsyncStream::new();
    stream.write_segments(["a", "bc"]);
    stream.write_all(b"def").await.unwrap();
    stream.close();
    let mut sink = Vec::new();
    assert_eq!(tokio::io::copy(&mut stream, &mut sink).await.unwrap(), 6);
    assert_eq!(sink, b"abcdef");
    assert!(stream.is_empty());
}

#[tokio::test]
async fn tokio_copy_buf_drains_a_closed_stream_through_fill_buf() {
    let mut stream: AsyncStream = ["x", "yz"].into_iter().map(Bytes::from).collect();
    stream.close();
    let mut sink = Vec::new();
    assert_eq!(
        tokio::io::copy_buf(&mut stream, &mut sink).await.unwrap(),
        3
    );
    assert_eq!(sink, b"xyz");
}

#[tokio::test]
async fn read_buf_into_a_stream_commits_through_chunk_mut() {
    let mut source: &[u8] = b"from an AsyncRead";
    let mut stream = AsyncStream::from("head ");
    while source.read_buf(&mut stream).await.unwrap() > 0 {}
    assert_eq!(stream, b"head from an AsyncRead");
}

#[test]
fn a_pending_read_ends_when_the_stream_is_closed_directly() {
    let mut stream = AsyncStream::new();
    let mut reader = task::spawn(());
    let mut storage = [0u8; 4];
    assert!(poll_read_in(&mut reader, &mut stream, &mut storage).is_pending());
    stream.close();
    assert!(reader.is_woken());
    assert_eq!(
        assert_ready_ok!(poll_read_in(&mut reader, &mut stream, &mut storage)),
        0
    );
}

#[test]
fn poll_write_is_never_pending() {
    let mut stream = AsyncStream::new();
    let mut writer = task::spawn(());
    let big = vec![7u8; 1 << 20];
    let written = writer.enter(|cx, _| assert_ready!(Pin::new(&mut stream).poll_write(cx, &big)));
    assert_eq!(written.unwrap(), big.len());
    assert_eq!(stream.len(), big.len());
}
