//! Every write either completes or fails leaving the stream exactly as it was: content, length,
//! segment layout, the write tail with its spare room (later writes lay out as if the failed call
//! never happened) and the closed flag. Each test runs a failing call on one stream and nothing
//! on an identical control, then compares the two, including how further writes lay out.

use std::any::Any;
use std::io::{self, IoSlice, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::{Buf, BufMut, Bytes};
use streamview::AsyncStream;

const LIMIT: usize = isize::MAX as usize;

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast::<&str>()
            .map(|message| message.to_string())
            .unwrap_or_default(),
    }
}

/// Runs `misuse`, expects a panic, and returns its message.
fn expect_panic<T>(stream: &mut AsyncStream, misuse: impl FnOnce(&mut AsyncStream) -> T) -> String {
    match catch_unwind(AssertUnwindSafe(|| misuse(stream))) {
        Ok(_) => panic!("the call should have panicked"),
        Err(payload) => panic_message(payload),
    }
}

/// Builds one shape of stream.
type Build = fn() -> AsyncStream;

/// The shapes a failing write may meet: empty, frozen segments only, a tail with spare room, a
/// tail whose block is exactly full, and a tail with less than 4 KiB of room left. Builders, so a
/// stream and its control are built by the same calls and share their exact layout (`Clone`
/// copies the tail without its spare room).
fn shapes() -> Vec<(&'static str, Build)> {
    vec![
        ("empty", AsyncStream::new),
        ("segments", || {
            let mut stream = AsyncStream::new();
            stream.write_segments(["abc", "defg"]);
            stream
        }),
        ("tail", || {
            let mut stream = AsyncStream::new();
            stream.write_segment("head ");
            stream.write_all(b"tail bytes").unwrap();
            stream
        }),
        ("full block", || {
            let mut stream = AsyncStream::new();
            stream.put_bytes(b'f', 8 * 1024);
            stream
        }),
        ("nearly full block", || {
            let mut stream = AsyncStream::new();
            stream.put_bytes(b'n', 8 * 1024 - 100);
            stream
        }),
    ]
}

fn segment_lens(stream: &AsyncStream) -> Vec<usize> {
    stream.segments().map(<[u8]>::len).collect()
}

/// Asserts `stream` equals `control` in every observable way, then writes the same bytes into
/// both and asserts they lay out identically (same spare room, same segment boundaries).
fn assert_same(what: &str, stream: &mut AsyncStream, control: &mut AsyncStream) {
    assert_eq!(*stream, *control, "{what}: content");
    assert_eq!(stream.len(), control.len(), "{what}: len");
    assert_eq!(
        segment_lens(stream),
        segment_lens(control),
        "{what}: segments"
    );
    assert_eq!(stream.is_closed(), control.is_closed(), "{what}: closed");
    assert!(
        stream.chunk().len() <= stream.remaining(),
        "{what}: chunk past remaining"
    );
    if stream.is_closed() {
        return;
    }
    for step in [1usize, 100, 5000, 9000, 3] {
        assert_eq!(
            stream.chunk_mut().len(),
            control.chunk_mut().len(),
            "{what}: spare room"
        );
        stream.put_bytes(b'+', step);
        control.put_bytes(b'+', step);
        assert_eq!(
            segment_lens(stream),
            segment_lens(control),
            "{what}: later layout"
        );
    }
    assert_eq!(*stream, *control, "{what}: content after later writes");
}

/// Runs `fail` on every shape and checks it left the stream as an untouched control.
fn for_every_shape(mut fail: impl FnMut(&mut AsyncStream)) {
    for (name, build) in shapes() {
        let mut stream = build();
        let mut control = build();
        fail(&mut stream);
        assert_same(name, &mut stream, &mut control);
    }
}

// ---- the regression from the issue ----

#[test]
fn put_bytes_past_the_limit_panics_before_writing_and_later_writes_follow_the_old_bytes() {
    let mut s = AsyncStream::new();
    s.put_slice(b"world");
    let message = expect_panic(&mut s, |s| s.put_bytes(b'!', usize::MAX - 3));
    assert!(message.contains(&(usize::MAX - 3).to_string()), "{message}");
    assert!(message.contains(&(LIMIT - 5).to_string()), "{message}");
    s.put_slice(b"next");
    assert_eq!(s.len(), 9);
    assert!(s.chunk().len() <= s.remaining());
    assert_eq!(s.read_bytes(5), "world");
    assert_eq!(s.read_bytes(4), "next");
}

#[test]
fn remaining_mut_is_isize_max_minus_len_while_open_and_zero_once_closed() {
    let mut stream = AsyncStream::from("abc");
    assert_eq!(stream.remaining_mut(), LIMIT - 3);
    stream.close();
    assert_eq!(stream.remaining_mut(), 0);
}

#[test]
fn put_bytes_one_past_remaining_mut_names_the_count_and_the_limit() {
    for_every_shape(|stream| {
        let limit = stream.remaining_mut();
        let message = expect_panic(stream, |stream| stream.put_bytes(0, limit + 1));
        assert!(message.contains(&(limit + 1).to_string()), "{message}");
        assert!(message.contains(&limit.to_string()), "{message}");
    });
}

// ---- BufMut::put from a Buf that lies or panics ----

/// A `Buf` that claims `claimed` bytes remain but holds only `real` (its chunk is then empty),
/// or that panics in `advance` once `panic_after` bytes were taken.
struct LyingBuf {
    real: Bytes,
    claimed: usize,
    panic_after: Option<usize>,
    taken: usize,
}

impl LyingBuf {
    fn claiming(real: impl Into<Bytes>, claimed: usize) -> LyingBuf {
        LyingBuf {
            real: real.into(),
            claimed,
            panic_after: None,
            taken: 0,
        }
    }
}

impl Buf for LyingBuf {
    fn remaining(&self) -> usize {
        self.claimed - self.taken
    }

    fn chunk(&self) -> &[u8] {
        // Small chunks, so a put goes through several steps before the lie shows.
        &self.real[..self.real.len().min(100)]
    }

    fn advance(&mut self, cnt: usize) {
        if self
            .panic_after
            .is_some_and(|limit| self.taken + cnt > limit)
        {
            panic!("LyingBuf::advance: deliberate panic");
        }
        self.real.advance(cnt);
        self.taken += cnt;
    }
}

#[test]
fn put_of_a_buf_claiming_a_huge_remaining_panics_naming_it_and_writes_nothing() {
    for_every_shape(|stream| {
        let message = expect_panic(stream, |stream| {
            stream.put(LyingBuf::claiming(vec![7u8; 300], usize::MAX))
        });
        assert!(message.contains(&usize::MAX.to_string()), "{message}");
    });
}

#[test]
fn put_of_a_buf_whose_chunks_run_out_before_its_remaining_is_rolled_back() {
    for_every_shape(|stream| {
        let message = expect_panic(stream, |stream| {
            stream.put(LyingBuf::claiming(vec![7u8; 20_000], 50_000))
        });
        assert!(message.contains("30000"), "{message}");
    });
}

#[test]
fn put_of_a_buf_that_panics_part_way_is_rolled_back() {
    for_every_shape(|stream| {
        let mut source = LyingBuf::claiming(vec![7u8; 20_000], 20_000);
        source.panic_after = Some(15_000);
        expect_panic(stream, |stream| stream.put(source));
    });
}

#[test]
fn put_of_a_chain_with_large_chunks_that_panics_is_rolled_back_with_its_sealed_segments() {
    // Large chunks go in as their own segments (sealing the tail); the panic comes after.
    for_every_shape(|stream| {
        let mut tail = LyingBuf::claiming(vec![9u8; 500], 500);
        tail.panic_after = Some(200);
        let source = Bytes::from(vec![1u8; 10_000]).chain(tail);
        expect_panic(stream, |stream| stream.put(source));
    });
}

// ---- write_segments and Extend with a panicking iterator ----

/// Two segments, then a panic: the iterator a caller hands to `write_segments` or `extend`.
fn segments_then_panic() -> impl Iterator<Item = Bytes> {
    (0..3).map(|i| {
        assert!(i < 2, "the source of segment {i} failed");
        Bytes::from(vec![b'0' + i as u8; 3_000])
    })
}

#[test]
fn write_segments_whose_iterator_panics_part_way_takes_back_what_it_yielded() {
    for_every_shape(|stream| {
        let message = expect_panic(stream, |stream| {
            stream.write_segments(segments_then_panic())
        });
        assert!(message.contains("segment 2"), "{message}");
    });
}

#[test]
fn extend_whose_iterator_panics_part_way_takes_back_what_it_yielded() {
    for_every_shape(|stream| {
        expect_panic(stream, |stream| stream.extend(segments_then_panic()));
    });
}

#[test]
fn write_segments_whose_iterator_panics_keeps_the_very_buffers_held_before() {
    let held = Bytes::from_static(b"held");
    let mut stream = AsyncStream::new();
    stream.write_segment(held.clone());
    expect_panic(&mut stream, |stream| {
        stream.write_segments(segments_then_panic())
    });
    let segment = stream.read_segment().unwrap();
    assert_eq!(segment.as_ptr(), held.as_ptr());
    assert!(stream.is_empty());
}

// ---- formatted text (`write!`) whose `Display` fails or panics part-way ----

/// Text whose formatting writes 5,000 bytes, then fails (`Err`) or panics.
struct FailingDisplay {
    panics: bool,
}

impl std::fmt::Display for FailingDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&"x".repeat(5_000))?;
        if self.panics {
            panic!("formatting failed after 5000 bytes");
        }
        Err(std::fmt::Error)
    }
}

#[test]
fn fmt_write_whose_display_fails_part_way_writes_nothing() {
    for_every_shape(|stream| {
        let display = FailingDisplay { panics: false };
        assert!(std::fmt::Write::write_fmt(stream, format_args!("head {display}")).is_err());
    });
}

#[test]
fn fmt_write_whose_display_panics_part_way_writes_nothing() {
    for_every_shape(|stream| {
        let display = FailingDisplay { panics: true };
        let message = expect_panic(stream, |stream| {
            std::fmt::Write::write_fmt(stream, format_args!("head {display}"))
        });
        assert!(message.contains("5000"), "{message}");
    });
}

#[test]
fn io_write_fmt_whose_display_fails_part_way_writes_nothing() {
    for_every_shape(|stream| {
        let display = FailingDisplay { panics: false };
        let error = io::Write::write_fmt(stream, format_args!("head {display}")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::Other);
    });
}

#[test]
fn io_write_fmt_after_close_is_broken_pipe_and_writes_nothing() {
    let mut stream = AsyncStream::from("held");
    stream.close();
    let error = io::Write::write_fmt(&mut stream, format_args!("{}", 1)).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    assert_eq!(stream, b"held"[..]);
}

#[test]
fn write_macros_that_succeed_still_write_everything() {
    let mut stream = AsyncStream::new();
    std::fmt::Write::write_fmt(&mut stream, format_args!("{} + {}", 1, 2)).unwrap();
    io::Write::write_fmt(&mut stream, format_args!(" = {}", 3)).unwrap();
    assert_eq!(stream, b"1 + 2 = 3"[..]);
}

// ---- BufMut::chunk_mut / advance_mut ----

#[test]
fn advance_mut_past_the_offered_room_panics_and_changes_nothing() {
    for_every_shape(|stream| {
        let spare = stream.chunk_mut().len();
        // `chunk_mut` may have started a block; the control does the same in `assert_same`.
        let message = expect_panic(stream, |stream| {
            // SAFETY: never reached past the check: `advance_mut` panics on `spare + 1`.
            unsafe { stream.advance_mut(spare + 1) }
        });
        assert!(message.contains(&spare.to_string()), "{message}");
    });
}

// ---- writes after close ----

fn closed_shapes() -> Vec<(&'static str, AsyncStream, AsyncStream)> {
    shapes()
        .into_iter()
        .map(|(name, build)| {
            let mut stream = build();
            let mut control = build();
            stream.close();
            control.close();
            (name, stream, control)
        })
        .collect()
}

#[test]
fn every_write_after_close_fails_and_changes_nothing() {
    for (name, mut stream, mut control) in closed_shapes() {
        assert_eq!(
            stream.write(b"x").unwrap_err().kind(),
            io::ErrorKind::BrokenPipe
        );
        assert_eq!(
            stream
                .write_vectored(&[IoSlice::new(b"a"), IoSlice::new(b"b")])
                .unwrap_err()
                .kind(),
            io::ErrorKind::BrokenPipe
        );
        assert!(stream.write_all(b"abc").is_err());
        assert!(std::fmt::Write::write_str(&mut stream, "text").is_err());
        expect_panic(&mut stream, |s| s.put_slice(b"x"));
        expect_panic(&mut stream, |s| s.put_bytes(b'x', 3));
        expect_panic(&mut stream, |s| s.put(&b"x"[..]));
        expect_panic(&mut stream, |s| s.put_u32(1));
        expect_panic(&mut stream, |s| s.chunk_mut().len());
        expect_panic(&mut stream, |s| s.write_segment("x"));
        expect_panic(&mut stream, |s| s.write_segments(["x", "y"]));
        expect_panic(&mut stream, |s| s.extend([Bytes::from_static(b"x")]));
        expect_panic(&mut stream, |s| s.append(&mut AsyncStream::from("x")));
        assert_same(name, &mut stream, &mut control);
    }
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_async_write_after_close_fails_and_changes_nothing() {
    use tokio::io::AsyncWriteExt;
    for (name, mut stream, mut control) in closed_shapes() {
        let result = tokio_test::block_on(async {
            let one = AsyncWriteExt::write(&mut stream, b"x")
                .await
                .unwrap_err()
                .kind();
            let all = AsyncWriteExt::write_all(&mut stream, b"abc")
                .await
                .unwrap_err()
                .kind();
            let vectored = AsyncWriteExt::write_vectored(
                &mut stream,
                &[IoSlice::new(b"a"), IoSlice::new(b"b")],
            )
            .await
            .unwrap_err()
            .kind();
            (one, all, vectored)
        });
        assert_eq!(
            result,
            (
                io::ErrorKind::BrokenPipe,
                io::ErrorKind::BrokenPipe,
                io::ErrorKind::BrokenPipe
            )
        );
        assert_same(name, &mut stream, &mut control);
    }
}

#[cfg(feature = "futures-io")]
#[test]
fn futures_io_async_write_after_close_fails_and_changes_nothing() {
    use futures::io::AsyncWriteExt;
    for (name, mut stream, mut control) in closed_shapes() {
        futures::executor::block_on(async {
            assert!(AsyncWriteExt::write(&mut stream, b"x").await.is_err());
            assert!(AsyncWriteExt::write_all(&mut stream, b"abc").await.is_err());
            assert!(AsyncWriteExt::write_vectored(
                &mut stream,
                &[IoSlice::new(b"a"), IoSlice::new(b"b")]
            )
            .await
            .is_err());
        });
        assert_same(name, &mut stream, &mut control);
    }
}

// ---- encode with an encoder that fails or panics part-way ----

#[cfg(feature = "codec")]
mod encode {
    use super::*;
    use bytes::BytesMut;
    use tokio_util::codec::Encoder;

    /// Writes `before` bytes (reserving `reserve` first, which may move it to a new block), then
    /// fails with an error or a panic.
    struct HalfEncoder {
        before: usize,
        reserve: usize,
        panics: bool,
    }

    impl Encoder<()> for HalfEncoder {
        type Error = io::Error;

        fn encode(&mut self, _: (), dst: &mut BytesMut) -> io::Result<()> {
            dst.reserve(self.reserve);
            dst.put_bytes(b'e', self.before);
            if self.panics {
                panic!("HalfEncoder: deliberate panic");
            }
            Err(io::Error::new(
                io::ErrorKind::Other,
                "HalfEncoder: deliberate error",
            ))
        }
    }

    fn encoders() -> Vec<HalfEncoder> {
        let mut encoders = Vec::new();
        for panics in [false, true] {
            for (before, reserve) in [(0, 0), (10, 0), (5000, 0), (20, 100_000), (20_000, 0)] {
                encoders.push(HalfEncoder {
                    before,
                    reserve,
                    panics,
                });
            }
        }
        encoders
    }

    #[test]
    fn an_encoder_failing_half_way_leaves_the_stream_unchanged() {
        for mut encoder in encoders() {
            let panics = encoder.panics;
            for_every_shape(|stream| {
                if panics {
                    expect_panic(stream, |stream| stream.encode(&mut encoder, ()));
                } else {
                    assert!(stream.encode(&mut encoder, ()).is_err());
                }
            });
        }
    }

    #[test]
    fn encode_after_close_fails_with_broken_pipe_and_changes_nothing() {
        for (name, mut stream, mut control) in closed_shapes() {
            let mut encoder = HalfEncoder {
                before: 3,
                reserve: 0,
                panics: false,
            };
            let error = stream.encode(&mut encoder, ()).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
            assert_same(name, &mut stream, &mut control);
        }
    }
}

// ---- read_from when the source errors part-way ----

#[cfg(feature = "tokio")]
mod read_from {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, ReadBuf};

    /// Fills part of the buffer, then reports an error (or `Pending`).
    struct HalfReader {
        fill: usize,
        outcome: Poll<io::Result<()>>,
    }

    impl AsyncRead for HalfReader {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let fill = self.fill.min(buf.remaining());
            buf.put_slice(&vec![b'r'; fill]);
            match &self.outcome {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
                Poll::Ready(Err(error)) => Poll::Ready(Err(io::Error::new(error.kind(), "half"))),
            }
        }
    }

    #[test]
    fn a_source_erroring_after_filling_part_of_the_buffer_leaves_the_stream_unchanged() {
        for fill in [0, 10, 5000] {
            for_every_shape(|stream| {
                let mut source = HalfReader {
                    fill,
                    outcome: Poll::Ready(Err(io::ErrorKind::ConnectionReset.into())),
                };
                let error = tokio_test::block_on(stream.read_from(&mut source, 64 * 1024));
                assert_eq!(error.unwrap_err().kind(), io::ErrorKind::ConnectionReset);
            });
        }
    }

    #[test]
    fn a_pending_source_leaves_the_stream_unchanged() {
        for_every_shape(|stream| {
            let mut source = HalfReader {
                fill: 0,
                outcome: Poll::Pending,
            };
            let waker = futures::task::noop_waker();
            let mut cx = Context::from_waker(&waker);
            let poll = stream.poll_read_from(&mut cx, Pin::new(&mut source), 1000);
            assert!(poll.is_pending());
        });
    }

    #[test]
    fn end_of_file_closes_and_leaves_the_layout_alone() {
        for (name, build) in shapes() {
            let mut stream = build();
            let mut control = build();
            let mut source: &[u8] = b"";
            assert_eq!(
                tokio_test::block_on(stream.read_from(&mut source, 100)).unwrap(),
                0
            );
            assert!(stream.is_closed());
            control.close();
            assert_same(name, &mut stream, &mut control);
        }
    }

    #[test]
    fn read_from_with_max_zero_or_after_close_fails_and_changes_nothing() {
        for_every_shape(|stream| {
            let mut source: &[u8] = b"abc";
            let error = tokio_test::block_on(stream.read_from(&mut source, 0)).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        });
        for (name, mut stream, mut control) in closed_shapes() {
            let mut source: &[u8] = b"abc";
            let error = tokio_test::block_on(stream.read_from(&mut source, 10)).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
            assert_same(name, &mut stream, &mut control);
        }
    }
}
