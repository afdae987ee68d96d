//! `AsyncStream::encode` and `FrameWriter`: encoding straight into the write tail, zero-copy
//! payloads, threshold flushing, close and errors.
#![cfg(feature = "codec")]

mod common;

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use streamview::{AsyncStream, FrameWriter};
use tokio::io::{AsyncWrite, ReadBuf};
use tokio_util::codec::{Encoder, FramedRead, LengthDelimitedCodec, LinesCodec};

// ---- helpers ----

fn payload(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect::<Vec<u8>>()
        .into()
}

/// Appends each item and records where in the destination its bytes landed.
#[derive(Default)]
struct RecordingEncoder {
    landed_at: Vec<*const u8>,
}

impl Encoder<Bytes> for RecordingEncoder {
    type Error = io::Error;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> io::Result<()> {
        let start = dst.len();
        dst.extend_from_slice(&item);
        self.landed_at.push(dst[start..].as_ptr());
        Ok(())
    }
}

/// Writes the first half of the item, then fails: a frame that must never reach a reader.
struct HalfThenFailEncoder;

impl Encoder<Bytes> for HalfThenFailEncoder {
    type Error = io::Error;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> io::Result<()> {
        dst.extend_from_slice(&item[..item.len() / 2]);
        Err(io::Error::new(io::ErrorKind::InvalidInput, "item refused"))
    }
}

/// Encodes a body's length as a 4-byte big-endian header; the body follows with
/// `write_payload`, so the result is what `LengthDelimitedCodec` decodes.
struct LengthHeader;

impl Encoder<usize> for LengthHeader {
    type Error = io::Error;

    fn encode(&mut self, body_len: usize, dst: &mut BytesMut) -> io::Result<()> {
        dst.put_u32(
            u32::try_from(body_len).map_err(|error| io::Error::new(io::ErrorKind::Other, error))?,
        );
        Ok(())
    }
}

/// Records each write call's slices (pointer, length) and whether it was flushed or shut down.
#[derive(Default)]
struct RecordingWriter {
    written: Vec<u8>,
    calls: Vec<Vec<(*const u8, usize)>>,
    flushes: usize,
    shut_down: bool,
}

impl AsyncWrite for RecordingWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.calls
            .push(bufs.iter().map(|b| (b.as_ptr(), b.len())).collect());
        let before = this.written.len();
        for buf in bufs {
            this.written.extend_from_slice(buf);
        }
        Poll::Ready(Ok(this.written.len() - before))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().flushes += 1;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().shut_down = true;
        Poll::Ready(Ok(()))
    }
}

async fn decode_all(stream: AsyncStream) -> Vec<Bytes> {
    FramedRead::new(stream, LengthDelimitedCodec::new())
        .map(|frame| frame.expect("valid frame").freeze())
        .collect()
        .await
}

// ---- AsyncStream::encode ----

#[tokio::test]
async fn encoded_frames_decode_back_in_order() {
    let items: Vec<Bytes> = [0, 1, 100, 5000, 70_000, 3]
        .iter()
        .enumerate()
        .map(|(i, &len)| payload(len, i as u8))
        .collect();
    let mut stream = AsyncStream::new();
    let mut codec = LengthDelimitedCodec::new();
    for item in &items {
        stream.encode(&mut codec, item.clone()).unwrap();
    }
    let expected_len: usize = items.iter().map(|item| 4 + item.len()).sum();
    assert_eq!(stream.len(), expected_len);
    stream.close();

    assert_eq!(decode_all(stream).await, items);
}

#[test]
fn encode_writes_into_the_tail_with_no_intermediate_buffer() {
    let mut stream = AsyncStream::new();
    let mut encoder = RecordingEncoder::default();

    stream.encode(&mut encoder, payload(10, 1)).unwrap();
    stream.encode(&mut encoder, payload(20, 2)).unwrap();

    // The second frame landed right after the first, in the same block: one segment, and
    // reading it back returns the very bytes the encoder wrote.
    assert_eq!(encoder.landed_at[1], encoder.landed_at[0].wrapping_add(10));
    assert_eq!(stream.num_segments(), 1);
    let segment = stream.read_segment().unwrap();
    assert_eq!(segment.as_ptr(), encoder.landed_at[0]);
    assert_eq!(segment, [payload(10, 1), payload(20, 2)].concat());
}

#[test]
fn encode_a_frame_larger_than_the_room_left_keeps_the_encoders_buffer_without_copying() {
    let mut stream = AsyncStream::new();
    let mut encoder = RecordingEncoder::default();
    let big = payload(200_000, 7);

    stream
        .encode(&mut encoder, Bytes::from_static(b"head"))
        .unwrap();
    stream.encode(&mut encoder, big.clone()).unwrap();
    stream
        .encode(&mut encoder, Bytes::from_static(b"next"))
        .unwrap();

    assert_eq!(stream.len(), 4 + big.len() + 4);
    assert_eq!(stream.read_segment().unwrap(), "head");
    let moved = stream.read_segment().unwrap();
    assert_eq!(moved.as_ptr(), encoder.landed_at[1]);
    assert_eq!(moved, big);
    assert_eq!(stream.read_segment().unwrap(), "next");
    assert!(stream.is_empty());
}

#[test]
fn encode_error_mid_frame_leaves_the_stream_unchanged() {
    let mut stream = AsyncStream::new();
    stream.encode(&mut LinesCodec::new(), "kept").unwrap();
    stream.write_segment("segment");

    let error = stream
        .encode(&mut HalfThenFailEncoder, payload(100, 3))
        .unwrap_err();

    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(stream, b"kept\nsegment");
    assert_eq!(stream.len(), 12);
    stream.encode(&mut LinesCodec::new(), "after").unwrap();
    assert_eq!(stream, b"kept\nsegmentafter\n");
}

#[test]
fn encode_on_a_closed_stream_is_broken_pipe_and_appends_nothing() {
    let mut stream = AsyncStream::from("held");
    stream.close();

    let error = stream
        .encode(
            &mut LengthDelimitedCodec::new(),
            Bytes::from_static(b"late"),
        )
        .unwrap_err();

    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    assert_eq!(stream, b"held");
}

#[test]
fn encode_wakes_a_reader_waiting_on_the_stream() {
    let mut stream = AsyncStream::new();
    let mut waiting = tokio_test::task::spawn(());
    let mut buf = [0u8; 8];
    let mut read_buf = ReadBuf::new(&mut buf);
    let poll = waiting
        .enter(|cx, _| tokio::io::AsyncRead::poll_read(Pin::new(&mut stream), cx, &mut read_buf));
    assert!(poll.is_pending());

    stream.encode(&mut LinesCodec::new(), "line").unwrap();

    assert!(waiting.is_woken());
}

// ---- FrameWriter ----

#[tokio::test]
async fn frame_writer_round_trips_headers_and_payloads_over_a_socket() {
    let (ours, theirs) = common::socket_pair().await;
    let bodies: Vec<Bytes> = (0..2000)
        .map(|i| payload([0, 10, 3000, 100_000][i % 4], i as u8))
        .collect();
    let sent = bodies.clone();
    let writer = tokio::spawn(async move {
        let mut frames = FrameWriter::new(ours, LengthHeader);
        for body in sent {
            frames.feed(body.len()).await?;
            frames.write_payload(body);
        }
        frames.close().await
    });

    let received: Vec<Bytes> = FramedRead::new(theirs, LengthDelimitedCodec::new())
        .map(|frame| frame.expect("valid frame").freeze())
        .collect()
        .await;

    writer.await.unwrap().unwrap();
    assert_eq!(received.len(), bodies.len());
    assert!(received == bodies, "a frame differs");
}

#[tokio::test]
async fn write_payload_is_written_from_its_own_buffer_after_its_header() {
    let body = payload(64 * 1024, 9);
    let mut frames = FrameWriter::new(RecordingWriter::default(), LengthHeader);

    frames.feed(body.len()).await.unwrap();
    assert_eq!(frames.write_payload(body.clone()), body.len());
    SinkExt::<usize>::flush(&mut frames).await.unwrap();

    let writer = frames.get_ref();
    assert_eq!(writer.calls.len(), 1);
    assert_eq!(writer.calls[0].len(), 2);
    assert_eq!(writer.calls[0][0].1, 4);
    assert_eq!(writer.calls[0][1], (body.as_ptr(), body.len()));
    assert_eq!(
        writer.written,
        [&(body.len() as u32).to_be_bytes()[..], &body].concat()
    );
}

#[tokio::test]
async fn frame_writer_buffers_until_the_threshold_is_passed() {
    let mut frames = FrameWriter::with_threshold(RecordingWriter::default(), LinesCodec::new(), 10);

    frames.feed("abcd").await.unwrap(); // 5 bytes buffered
    frames.feed("efgh").await.unwrap(); // 10: not past the threshold
    assert!(frames.get_ref().calls.is_empty());
    assert_eq!(frames.buffered_len(), 10);
    frames.feed("ij").await.unwrap(); // poll_ready still sees 10
    assert!(frames.get_ref().calls.is_empty());
    frames.feed("k").await.unwrap(); // poll_ready sees 13 > 10: one write of all three frames

    assert_eq!(frames.get_ref().calls.len(), 1);
    assert_eq!(frames.get_ref().written, b"abcd\nefgh\nij\n");
    assert_eq!(frames.buffered_len(), 2);
    assert_eq!(frames.get_ref().flushes, 0);
}

#[tokio::test(start_paused = true)]
async fn frame_writer_poll_ready_waits_while_the_writer_is_pending_past_the_threshold() {
    let slow = tokio_test::io::Builder::new()
        .wait(std::time::Duration::from_secs(1))
        .write(b"abcdefghij\nk\n")
        .build();
    let mut frames = FrameWriter::with_threshold(slow, LinesCodec::new(), 4);
    frames.feed("abcdefghij").await.unwrap(); // nothing buffered yet: accepted at once

    let mut feed = tokio_test::task::spawn(frames.feed("k"));
    assert!(feed.poll().is_pending()); // 11 bytes buffered > 4, and the writer is pending
    tokio::time::advance(std::time::Duration::from_secs(1)).await;
    assert!(feed.is_woken());
    assert!(matches!(feed.poll(), Poll::Ready(Ok(()))));
    drop(feed);

    assert_eq!(frames.buffered_len(), 2);
    frames.flush_buffer().await.unwrap();
    assert_eq!(frames.buffered_len(), 0);
}

#[tokio::test]
async fn frame_writer_flush_writes_everything_and_flushes_the_writer() {
    let mut frames = FrameWriter::new(RecordingWriter::default(), LinesCodec::new());
    frames.feed("one").await.unwrap();
    frames.feed("two").await.unwrap();

    SinkExt::<&str>::flush(&mut frames).await.unwrap();

    assert_eq!(frames.get_ref().written, b"one\ntwo\n");
    assert_eq!(frames.get_ref().calls.len(), 1);
    assert_eq!(frames.get_ref().flushes, 1);
    assert!(!frames.get_ref().shut_down);
    assert_eq!(frames.buffered_len(), 0);
}

#[tokio::test]
async fn frame_writer_close_flushes_then_shuts_the_writer_down() {
    let mut frames = FrameWriter::new(RecordingWriter::default(), LinesCodec::new());
    frames.feed("last").await.unwrap();

    SinkExt::<&str>::close(&mut frames).await.unwrap();

    assert_eq!(frames.get_ref().written, b"last\n");
    assert!(frames.get_ref().shut_down);
}

#[tokio::test]
async fn frame_writer_write_error_keeps_unwritten_bytes_for_the_next_flush() {
    let failing = tokio_test::io::Builder::new()
        .write(b"one\nt")
        .write_error(io::Error::new(io::ErrorKind::ConnectionReset, "reset"))
        .build();
    let mut frames = FrameWriter::new(failing, LinesCodec::new());
    frames.feed("one").await.unwrap();
    frames.feed("two").await.unwrap();

    let error = SinkExt::<&str>::flush(&mut frames).await.unwrap_err();

    assert!(
        matches!(error, tokio_util::codec::LinesCodecError::Io(ref e)
        if e.kind() == io::ErrorKind::ConnectionReset)
    );
    assert_eq!(frames.buffered_len(), 3);
    *frames.get_mut() = tokio_test::io::Builder::new().write(b"wo\n").build();
    frames.flush_buffer().await.unwrap();
    assert_eq!(frames.buffered_len(), 0);
}

#[tokio::test]
async fn frame_writer_encoder_error_is_returned_and_nothing_is_buffered() {
    let mut frames = FrameWriter::new(RecordingWriter::default(), HalfThenFailEncoder);

    let error = frames.feed(payload(10, 0)).await.unwrap_err();

    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(frames.buffered_len(), 0);
}
