//! The pipe's socket forms: `PipeReader::write_to` (pipe to socket) and `PipeWriter::read_from`
//! (socket to pipe), on real sockets and on scripted mocks.
#![cfg(feature = "tokio")]

mod common;

use std::io;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio_test::{assert_pending, assert_ready_ok, task};

/// Deterministic content: byte `i` of the whole transfer is `i % 251`.
fn pattern(offset: usize, len: usize) -> Bytes {
    (offset..offset + len).map(|i| (i % 251) as u8).collect()
}

/// Mixed segment sizes: tiny, small, medium and large, so coalescing and plain slices both run.
fn mixed_segments(total: usize) -> Vec<Bytes> {
    let sizes = [1, 64, 700, 3000, 20_000, 150_000];
    let mut segments = Vec::new();
    let mut offset = 0;
    for &size in sizes.iter().cycle() {
        if offset == total {
            break;
        }
        let size = size.min(total - offset);
        segments.push(pattern(offset, size));
        offset += size;
    }
    segments
}

fn check_pattern(received: &[u8]) {
    for (i, &byte) in received.iter().enumerate() {
        assert_eq!(
            byte,
            (i % 251) as u8,
            "byte {i} of {} differs",
            received.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_to_sends_everything_the_pipe_delivers_over_a_unix_socket() {
    const TOTAL: usize = 16 << 20;
    let (mut writer, mut reader) = streamview::pipe(256 * 1024);
    let (mut near, mut far) = common::socket_pair().await;
    let producer = tokio::spawn(async move {
        for segment in mixed_segments(TOTAL) {
            writer.write_segment(segment).await?;
        }
        io::Result::Ok(())
    });
    let sender = tokio::spawn(async move {
        let sent = reader.write_to(&mut near).await?;
        near.shutdown().await?;
        io::Result::Ok(sent)
    });
    let mut received = Vec::with_capacity(TOTAL);
    far.read_to_end(&mut received).await.unwrap();
    producer.await.unwrap().unwrap();
    assert_eq!(sender.await.unwrap().unwrap(), TOTAL);
    assert_eq!(received.len(), TOTAL);
    check_pattern(&received);
}

#[tokio::test]
async fn write_to_returns_zero_at_once_for_a_closed_empty_pipe() {
    let (writer, mut reader) = streamview::pipe(16);
    drop(writer);
    let mut sink = Vec::new();
    assert_eq!(reader.write_to(&mut sink).await.unwrap(), 0);
    assert!(sink.is_empty());
}

#[tokio::test]
async fn write_to_flushes_a_buffered_destination_when_the_pipe_runs_dry() {
    let (mut writer, mut reader) = streamview::pipe(1024);
    let (client, mut server) = tokio::io::duplex(1024);
    let forwarder = tokio::spawn(async move {
        let mut buffered = BufWriter::new(client);
        reader.write_to(&mut buffered).await
    });
    writer.write_segment("request\n").await.unwrap();
    // The writer stays open, so write_to is waiting on the pipe: the bytes must not sit in
    // the BufWriter meanwhile.
    let mut got = [0u8; 8];
    tokio::time::timeout(Duration::from_secs(10), server.read_exact(&mut got))
        .await
        .expect("bytes stuck in the buffered destination while the pipe waits")
        .unwrap();
    assert_eq!(&got, b"request\n");
    drop(writer);
    assert_eq!(forwarder.await.unwrap().unwrap(), 8);
}

#[tokio::test]
async fn write_to_error_mid_flush_keeps_the_unwritten_bytes_readable() {
    let (mut writer, mut reader) = streamview::pipe(1024);
    writer.write_segment("hello ").await.unwrap();
    writer.write_segment("world").await.unwrap();
    drop(writer);
    let mut dst = tokio_test::io::Builder::new()
        .write(b"hel")
        .write_error(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "peer went away",
        ))
        .build();
    let error = reader.write_to(&mut dst).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
    assert_eq!(reader.read_bytes(100).await.unwrap(), "lo world");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_from_moves_a_socket_into_the_pipe_and_closes_it_at_eof() {
    const TOTAL: usize = 8 << 20;
    let (mut writer, mut reader) = streamview::pipe(128 * 1024);
    let (mut near, mut far) = common::socket_pair().await;
    let peer = tokio::spawn(async move {
        for segment in mixed_segments(TOTAL) {
            far.write_all(&segment).await?;
        }
        far.shutdown().await
    });
    let pump = tokio::spawn(async move {
        let mut total = 0;
        loop {
            match writer.read_from(&mut near, 64 * 1024).await? {
                0 => return io::Result::Ok(total),
                n => total += n,
            }
        }
    });
    let mut received = Vec::with_capacity(TOTAL);
    while let Some(segment) = reader.read_segment().await.unwrap() {
        received.extend_from_slice(&segment);
    }
    peer.await.unwrap().unwrap();
    assert_eq!(pump.await.unwrap().unwrap(), TOTAL);
    assert_eq!(received.len(), TOTAL);
    check_pattern(&received);
}

#[tokio::test]
async fn read_from_reads_no_more_than_the_room_left_and_waits_when_full() {
    let (mut writer, mut reader) = streamview::pipe(10);
    let mut src: &[u8] = &[7u8; 100];
    assert_eq!(writer.read_from(&mut src, 64).await.unwrap(), 10);
    assert_eq!(
        src.len(),
        90,
        "bytes beyond the room must stay in the source"
    );

    let mut blocked = task::spawn(writer.read_from(&mut src, 64));
    assert_pending!(blocked.poll());
    assert_eq!(reader.read_bytes(10).await.unwrap().len(), 10);
    assert!(
        blocked.is_woken(),
        "draining the pipe must wake a read_from waiting for room"
    );
    let n = assert_ready_ok!(blocked.poll());
    assert!((1..=10).contains(&n), "read {n} bytes into a 10-byte pipe");
}

#[tokio::test]
async fn read_from_rejects_max_zero_and_keeps_the_pipe_usable() {
    let (mut writer, mut reader) = streamview::pipe(10);
    let mut src: &[u8] = b"abc";
    let error = writer.read_from(&mut src, 0).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(src, b"abc");
    assert_eq!(writer.read_from(&mut src, 8).await.unwrap(), 3);
    drop(writer);
    assert_eq!(reader.read_bytes(8).await.unwrap(), "abc");
}

#[tokio::test]
async fn read_from_after_the_reader_is_dropped_is_broken_pipe() {
    let (mut writer, reader) = streamview::pipe(10);
    drop(reader);
    let mut src: &[u8] = b"abc";
    let error = writer.read_from(&mut src, 8).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
}

#[tokio::test]
async fn read_from_waiting_on_an_empty_source_leaves_the_reader_pending() {
    let (mut writer, reader) = streamview::pipe(10);
    let (mut near, mut far) = common::socket_pair().await;
    let mut reading = task::spawn(async move {
        let n = writer.read_from(&mut near, 8).await;
        (n, writer)
    });
    assert_pending!(reading.poll());
    far.write_all(b"late").await.unwrap();
    let (n, _writer) = tokio::time::timeout(Duration::from_secs(10), reading)
        .await
        .expect("read_from must complete once the socket has bytes");
    assert_eq!(n.unwrap(), 4);
    assert_eq!(reader.len(), 4);
}

/// `PipeWriter::read_from` over a source that swaps its `ReadBuf` panics naming the call and the
/// cause, and queues nothing: the reader still gets exactly what was written before.
#[tokio::test]
async fn read_from_a_source_that_swaps_its_read_buf_panics_clearly_and_queues_nothing() {
    let (mut writer, mut reader) = streamview::pipe(64);
    writer.write_segment("kept").await.unwrap();
    let task = tokio::spawn(async move {
        let _ = writer
            .read_from(&mut swapped_read_buf::SwapsReadBuf, 16)
            .await;
    });
    let panic = task
        .await
        .expect_err("a swapped ReadBuf must panic")
        .into_panic();
    let message = swapped_read_buf::panic_text(panic);
    assert!(
        message.contains("read_from") && message.contains("replaced the ReadBuf"),
        "message: {message}"
    );
    let mut all = Vec::new();
    reader.read_to_end(&mut all).await.unwrap();
    assert_eq!(all, b"kept");
}

#[path = "common/swapped_read_buf.rs"]
mod swapped_read_buf;
