//! The same non-blocking contract through `futures::io`: an empty open stream is pending with
//! the waker stored, the next write or close wakes the reader, `poll_close` closes.
#![cfg(feature = "futures-io")]

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use futures::executor::block_on;
use futures::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt};
use streamview::AsyncStream;
use tokio_test::task;
use tokio_test::{assert_pending, assert_ready_ok};

#[test]
fn split_reader_is_pending_until_the_writer_writes() {
    let (mut reader, mut writer) = AsyncStream::new().split();
    let mut buf = [0u8; 16];
    let mut read = task::spawn(reader.read(&mut buf));
    assert_pending!(read.poll());
    assert!(!read.is_woken());

    let mut write = task::spawn(writer.write_all(b"hello"));
    assert_ready_ok!(write.poll());
    assert!(read.is_woken(), "the write must wake the pending reader");
    assert_eq!(assert_ready_ok!(read.poll()), 5);
    drop(read);
    assert_eq!(&buf[..5], b"hello");
}

#[test]
fn split_reader_is_woken_by_close_and_then_reads_eof() {
    let (mut reader, mut writer) = AsyncStream::new().split();
    let mut buf = [0u8; 16];
    let mut read = task::spawn(reader.read(&mut buf));
    assert_pending!(read.poll());
    assert_ready_ok!(task::spawn(AsyncWriteExt::close(&mut writer)).poll());
    assert!(read.is_woken(), "close must wake the pending reader");
    assert_eq!(assert_ready_ok!(read.poll()), 0, "empty and closed is EOF");
}

#[test]
fn reader_thread_and_writer_thread_share_one_stream() {
    let (mut reader, mut writer) = AsyncStream::new().split();
    let expected: Vec<u8> = (0..50_000u32).map(|i| (i % 241) as u8).collect();
    let to_write = expected.clone();
    let (done, result) = mpsc::channel();
    let reader_thread = std::thread::spawn(move || {
        let mut all = Vec::new();
        let outcome = block_on(reader.read_to_end(&mut all)).map(|_| all);
        done.send(outcome).unwrap();
    });
    let writer_thread = std::thread::spawn(move || {
        block_on(async {
            for piece in to_write.chunks(997) {
                writer.write_all(piece).await?;
            }
            AsyncWriteExt::close(&mut writer).await
        })
    });
    writer_thread.join().unwrap().unwrap();
    // A lost wake-up would hang the reader: bound the wait so it fails instead.
    let all = result
        .recv_timeout(Duration::from_secs(20))
        .expect("the reader was never woken")
        .unwrap();
    reader_thread.join().unwrap();
    assert_eq!(all, expected);
}

#[test]
fn buf_read_is_pending_when_empty_and_returns_the_front_segment() {
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
        assert_eq!(chunk.as_ptr(), front.as_ptr(), "fill_buf does not copy");
    });
    Pin::new(&mut stream).consume(5);
    assert_eq!(stream, b"back");
}

#[test]
fn a_pending_read_ends_when_the_stream_is_closed_directly() {
    let mut stream = AsyncStream::new();
    let mut reader = task::spawn(());
    let mut buf = [0u8; 4];
    let pending = reader.enter(|cx, _| Pin::new(&mut stream).poll_read(cx, &mut buf).is_pending());
    assert!(pending);
    stream.close();
    assert!(reader.is_woken());
    let n = reader.enter(|cx, _| assert_ready_ok!(Pin::new(&mut stream).poll_read(cx, &mut buf)));
    assert_eq!(n, 0);
}

#[test]
fn read_into_an_empty_buffer_is_ready_zero_even_when_empty_and_open() {
    let mut stream = AsyncStream::new();
    let mut reader = task::spawn(());
    let n = reader.enter(|cx, _| assert_ready_ok!(Pin::new(&mut stream).poll_read(cx, &mut [])));
    assert_eq!(n, 0);
}

#[test]
fn buf_read_splits_lines_across_segments() {
    block_on(async {
        let mut stream = AsyncStream::new();
        stream.write_segments(["fir", "st\nsec", "ond\n", "last"]);
        stream.close();
        let mut line = Vec::new();
        assert_eq!(stream.read_until(b'\n', &mut line).await.unwrap(), 6);
        assert_eq!(line, b"first\n");
        let mut text = String::new();
        AsyncBufReadExt::read_line(&mut stream, &mut text)
            .await
            .unwrap();
        assert_eq!(text, "second\n");
        text.clear();
        AsyncBufReadExt::read_line(&mut stream, &mut text)
            .await
            .unwrap();
        assert_eq!(text, "last");
        assert_eq!(stream.read_until(b'\n', &mut line).await.unwrap(), 0);
    });
}

#[test]
fn write_vectored_writes_every_slice() {
    block_on(async {
        let mut stream = AsyncStream::new();
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
    });
}

#[test]
fn close_ends_the_writer_and_later_writes_are_broken_pipe() {
    block_on(async {
        let mut stream = AsyncStream::from("held");
        stream.flush().await.unwrap();
        AsyncWriteExt::close(&mut stream).await.unwrap();
        assert!(stream.is_closed());
        let err = stream.write_all(b"late").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        let mut rest = String::new();
        stream.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "held");
    });
}

#[test]
fn futures_copy_drains_a_closed_stream_into_a_vec() {
    block_on(async {
        let mut stream = AsyncStream::new();
        stream.write_segments(["a", "bc"]);
        stream.write_all(b"def").await.unwrap();
        stream.close();
        let mut sink = Vec::new();
        assert_eq!(futures::io::copy(&mut stream, &mut sink).await.unwrap(), 6);
        assert_eq!(sink, b"abcdef");
        let mut again: AsyncStream = ["x", "yz"].into_iter().map(Bytes::from).collect();
        again.close();
        assert_eq!(
            futures::io::copy_buf(&mut again, &mut sink).await.unwrap(),
            3
        );
        assert_eq!(sink, b"abcdefxyz");
    });
}
