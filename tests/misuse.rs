//! Bad input gets a clear answer and loses nothing: out-of-bounds `Buf`/`BufMut` calls panic
//! with messages that name the numbers and leave the stream as it was; writes after close fail
//! (bytes) or panic (segments) while held bytes stay readable; an empty open stream never reads
//! as end of file.

use std::any::Any;
use std::io::{self, BufRead, Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::{Buf, BufMut, Bytes};
use streamview::AsyncStream;

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast::<&str>()
            .map(|message| message.to_string())
            .unwrap_or_default(),
    }
}

/// Runs `misuse` on `stream`, expects a panic, and returns its message.
fn expect_panic(stream: &mut AsyncStream, misuse: impl FnOnce(&mut AsyncStream)) -> String {
    let payload = catch_unwind(AssertUnwindSafe(|| misuse(stream)))
        .expect_err("the misuse should have panicked");
    panic_message(payload)
}

/// Two segments and a write tail: 3 + 4 + 5 bytes.
fn mixed_stream() -> AsyncStream {
    let mut stream = AsyncStream::new();
    stream.write_segments(["abc", "defg"]);
    stream.write_all(b"hijkl").unwrap();
    stream
}

fn assert_unchanged(stream: &AsyncStream) {
    assert_eq!(*stream, b"abcdefghijkl");
    assert_eq!(stream.len(), 12);
    assert_eq!(stream.num_segments(), 3);
    assert_eq!(stream.chunk(), b"abc");
}

#[test]
fn advance_past_remaining_panics_naming_both_numbers_and_changes_nothing() {
    let mut stream = mixed_stream();
    let message = expect_panic(&mut stream, |stream| stream.advance(13));
    assert!(
        message.contains("13") && message.contains("12"),
        "message: {message}"
    );
    assert_unchanged(&stream);
    stream.advance(12);
    assert!(stream.is_empty());
}

#[test]
fn advance_past_remaining_after_partial_reads_names_the_current_count() {
    let mut stream = mixed_stream();
    stream.advance(5);
    let message = expect_panic(&mut stream, |stream| stream.advance(100));
    assert!(
        message.contains("100") && message.contains('7'),
        "message: {message}"
    );
    assert_eq!(stream, b"fghijkl");
}

#[test]
fn advance_of_an_empty_stream_panics() {
    let mut stream = AsyncStream::new();
    let message = expect_panic(&mut stream, |stream| stream.advance(1));
    assert!(
        message.contains('1') && message.contains('0'),
        "message: {message}"
    );
    stream.advance(0);
}

#[test]
fn copy_to_bytes_past_remaining_panics_naming_both_numbers_and_changes_nothing() {
    let mut stream = mixed_stream();
    let message = expect_panic(&mut stream, |stream| {
        stream.copy_to_bytes(20);
    });
    assert!(
        message.contains("20") && message.contains("12"),
        "message: {message}"
    );
    assert_unchanged(&stream);
}

#[test]
fn bufread_consume_past_the_held_bytes_empties_the_stream_like_cursor() {
    let mut stream = mixed_stream();
    stream.consume(50);
    assert!(stream.is_empty());
    let mut cursor = io::Cursor::new(b"abcdefghijkl".to_vec());
    cursor.consume(50);
    assert!(cursor.fill_buf().unwrap().is_empty());
}

#[test]
fn a_panicking_advance_on_a_clone_leaves_the_original_alone() {
    let stream = mixed_stream();
    let mut copy = stream.clone();
    expect_panic(&mut copy, |copy| copy.advance(99));
    assert_unchanged(&copy);
    assert_unchanged(&stream);
}

#[test]
fn advance_mut_past_the_spare_capacity_panics_naming_both_numbers() {
    let mut stream = mixed_stream();
    let spare = stream.chunk_mut().len();
    let message = expect_panic(&mut stream, |stream| {
        // SAFETY: the call is expected to panic before committing anything; were it to return,
        // the test fails on the line after `catch_unwind` without reading the bytes.
        unsafe { stream.advance_mut(spare + 1) }
    });
    assert!(
        message.contains(&(spare + 1).to_string()) && message.contains(&spare.to_string()),
        "message: {message}"
    );
    assert_unchanged(&stream);
}

#[test]
fn byte_writes_after_close_fail_with_broken_pipe_and_keep_held_bytes() {
    let mut stream = mixed_stream();
    stream.close();
    let err = stream.write(b"late").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    assert_eq!(
        stream.write_all(b"late").unwrap_err().kind(),
        io::ErrorKind::BrokenPipe
    );
    assert_eq!(
        stream
            .write_vectored(&[io::IoSlice::new(b"late")])
            .unwrap_err()
            .kind(),
        io::ErrorKind::BrokenPipe
    );
    assert_unchanged(&stream);
    let mut all = Vec::new();
    stream.read_to_end(&mut all).unwrap();
    assert_eq!(all, b"abcdefghijkl");
}

#[test]
fn segment_writes_after_close_panic_clearly_and_keep_held_bytes() {
    type Misuse = fn(&mut AsyncStream);
    let misuses: [(&str, Misuse); 9] = [
        ("write_segment", |s| {
            s.write_segment("late");
        }),
        ("write_segments", |s| {
            s.write_segments(["late"]);
        }),
        ("extend", |s| s.extend([Bytes::from_static(b"late")])),
        ("put_slice", |s| s.put_slice(b"late")),
        ("put_u8", |s| s.put_u8(b'!')),
        ("put_u32_le", |s| s.put_u32_le(7)),
        ("put_bytes", |s| s.put_bytes(b'!', 3)),
        ("put", |s| s.put(Bytes::from_static(b"late"))),
        ("chunk_mut", |s| {
            s.chunk_mut();
        }),
    ];
    for (name, misuse) in misuses {
        let mut stream = mixed_stream();
        stream.close();
        let message = expect_panic(&mut stream, misuse);
        assert!(message.contains("closed"), "{name}: {message}");
        if name.starts_with("put_u") {
            // It comes through put_slice; the message must not claim the caller called that.
            assert!(message.contains("put_*"), "{name}: {message}");
        }
        assert!(
            message.contains("12 bytes"),
            "{name} should say what is held: {message}"
        );
        assert_unchanged(&stream);
        assert!(stream.is_closed());
        assert_eq!(stream.read_bytes(100), b"abcdefghijkl"[..], "{name}");
    }
}

#[test]
fn append_to_a_closed_stream_panics_and_moves_nothing() {
    let mut stream = mixed_stream();
    stream.close();
    let mut other = AsyncStream::from("xyz");
    let message = expect_panic(&mut stream, |stream| {
        stream.append(&mut other);
    });
    assert!(message.contains("closed"), "message: {message}");
    assert_unchanged(&stream);
    assert_eq!(other, b"xyz");
}

#[test]
fn empty_segment_writes_to_an_open_stream_are_ignored() {
    let mut stream = mixed_stream();
    assert_eq!(stream.write_segment(""), 0);
    assert_eq!(stream.write_segment(Bytes::new()), 0);
    assert_eq!(stream.unread_segment(Vec::new()), 0);
    stream.extend([Bytes::new()]);
    assert_unchanged(&stream);
}

#[test]
fn std_reads_of_an_empty_open_stream_never_return_eof() {
    let mut stream = AsyncStream::new();
    let mut buf = [0u8; 8];
    for _ in 0..3 {
        assert_eq!(
            stream.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        assert_eq!(
            stream.fill_buf().unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        assert_eq!(
            stream.read_exact(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        let mut line = String::new();
        assert_eq!(
            BufRead::read_line(&mut stream, &mut line)
                .unwrap_err()
                .kind(),
            io::ErrorKind::WouldBlock
        );
        assert!(stream.read_line().is_none());
        assert!(stream.read_chunk(8).is_none());
    }
    // Drained to empty after holding bytes: still would block, not EOF.
    stream.write_segment("x");
    assert_eq!(stream.read(&mut buf).unwrap(), 1);
    assert_eq!(
        stream.read(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    stream.close();
    assert_eq!(stream.read(&mut buf).unwrap(), 0);
}

#[test]
fn std_read_to_end_of_an_open_stream_would_block_instead_of_ending() {
    let mut stream = AsyncStream::from("partial");
    let mut all = Vec::new();
    assert_eq!(
        stream.read_to_end(&mut all).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    assert_eq!(all, b"partial", "bytes read before WouldBlock are kept");
}

#[test]
fn std_copy_of_an_open_stream_would_block_and_of_a_closed_one_completes() {
    let mut stream = AsyncStream::from("abc");
    let mut sink = Vec::new();
    assert_eq!(
        io::copy(&mut stream, &mut sink).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    assert_eq!(sink, b"abc");
    stream.write_segment("def");
    stream.close();
    assert_eq!(io::copy(&mut stream, &mut sink).unwrap(), 3);
    assert_eq!(sink, b"abcdef");
}

#[cfg(feature = "tokio")]
mod tokio_reads {
    use std::pin::Pin;
    use std::task::Poll;

    use streamview::AsyncStream;
    use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};

    #[test]
    fn tokio_reads_of_an_empty_open_stream_are_pending_never_eof() {
        let mut stream = AsyncStream::new();
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let mut storage = [0u8; 8];
        let mut buf = ReadBuf::new(&mut storage);
        assert!(Pin::new(&mut stream)
            .poll_read(&mut cx, &mut buf)
            .is_pending());
        assert!(Pin::new(&mut stream).poll_fill_buf(&mut cx).is_pending());
        stream.close();
        assert!(matches!(
            Pin::new(&mut stream).poll_read(&mut cx, &mut buf),
            Poll::Ready(Ok(()))
        ));
        assert!(buf.filled().is_empty());
    }
}

#[cfg(feature = "futures-io")]
mod futures_reads {
    use std::pin::Pin;
    use std::task::Poll;

    use futures::io::{AsyncBufRead, AsyncRead};
    use streamview::AsyncStream;

    #[test]
    fn futures_reads_of_an_empty_open_stream_are_pending_never_eof() {
        let mut stream = AsyncStream::new();
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let mut buf = [0u8; 8];
        assert!(Pin::new(&mut stream)
            .poll_read(&mut cx, &mut buf)
            .is_pending());
        assert!(Pin::new(&mut stream).poll_fill_buf(&mut cx).is_pending());
        stream.close();
        assert!(matches!(
            Pin::new(&mut stream).poll_read(&mut cx, &mut buf),
            Poll::Ready(Ok(0))
        ));
    }
}

/// Found by a fresh-user trial: `advance_mut(0)` was the one write that did not panic on a
/// closed stream (its zero-count return came before the check); `put_slice(b"")` always did.
#[test]
fn advance_mut_of_zero_after_close_panics_like_every_other_write() {
    let mut stream = mixed_stream();
    stream.close();
    // SAFETY: a count of 0 initialises nothing; the call must panic before it commits anything.
    let message = expect_panic(&mut stream, |stream| unsafe { stream.advance_mut(0) });
    assert!(
        message.contains("advance_mut") && message.contains("closed"),
        "message: {message}"
    );
    assert!(stream.is_closed());
}

/// Found by the same trial: std's default `read_exact` consumed the bytes held, then failed
/// with `WouldBlock` and dropped them with its buffer. It is all or nothing now: the error names
/// both counts, and the stream keeps every byte, open or closed.
#[test]
fn read_exact_of_more_than_is_held_fails_and_consumes_nothing() {
    use std::io::ErrorKind;
    let mut stream = mixed_stream();
    let held = stream.len();
    let mut buf = vec![0u8; held + 1];
    let error = stream.read_exact(&mut buf).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::WouldBlock);
    assert!(
        error
            .to_string()
            .contains(&format!("{} bytes wanted, {held} held", held + 1)),
        "message: {error}"
    );
    assert_unchanged(&stream);

    stream.close();
    let error = stream.read_exact(&mut buf).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UnexpectedEof);
    assert_eq!(stream.len(), held);

    let mut exact = vec![0u8; held];
    stream.read_exact(&mut exact).unwrap();
    assert_eq!(exact, b"abcdefghijkl");
    assert!(stream.is_empty());
    stream.read_exact(&mut []).unwrap();
}

/// Found by a probe after the fresh-user trial: std's default `read_to_string` and
/// `BufRead::read_line` on an open stream whose bytes end inside a character (here the first
/// byte of "é") dropped every byte they had read with the `WouldBlock`. The held text is
/// appended now and the incomplete character stays held until the bytes that complete it come.
#[test]
fn text_reads_of_an_open_stream_keep_an_incomplete_character_held() {
    let mut stream = AsyncStream::new();
    stream.write_segment(&b"ab\xC3"[..]);
    let mut text = String::new();
    let error = stream.read_to_string(&mut text).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
    assert_eq!((text.as_str(), stream.len()), ("ab", 1));
    stream.write_segment(&b"\xA9"[..]);
    stream.close();
    assert_eq!(stream.read_to_string(&mut text).unwrap(), 2);
    assert_eq!(text, "abé");

    let mut stream = AsyncStream::new();
    stream.write_segments([&b"ab\xC3"[..]]);
    let mut line = String::new();
    let error = BufRead::read_line(&mut stream, &mut line).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
    assert_eq!((line.as_str(), stream.len()), ("ab", 1));
    stream.write_segments([&b"\xA9\nn"[..], &b"ext"[..]]);
    assert_eq!(BufRead::read_line(&mut stream, &mut line).unwrap(), 3);
    assert_eq!(line, "abé\n");
    stream.close();
    let lines: Vec<String> = stream.lines().map(Result::unwrap).collect();
    assert_eq!(lines, ["next"]);
}

/// Bytes that are not UTF-8 fail a text read with `InvalidData` and stay held, open or closed
/// (std's defaults consumed them).
#[test]
fn text_reads_of_bytes_that_are_not_utf8_fail_and_consume_nothing() {
    let mut stream = AsyncStream::new();
    stream.write_segments([&b"ok\n"[..], &b"b\xFFd\n"[..]]);
    let mut line = String::new();
    assert_eq!(BufRead::read_line(&mut stream, &mut line).unwrap(), 3);
    let error = BufRead::read_line(&mut stream, &mut line).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    assert!(
        error.to_string().contains("nothing was consumed"),
        "{error}"
    );
    assert_eq!(line, "ok\n");
    assert_eq!(stream, b"b\xFFd\n"[..]);
    assert_eq!(stream.num_segments(), 1);

    let mut text = String::new();
    assert_eq!(
        stream.read_to_string(&mut text).unwrap_err().kind(),
        io::ErrorKind::InvalidData
    );
    stream.close();
    assert_eq!(
        stream.read_to_string(&mut text).unwrap_err().kind(),
        io::ErrorKind::InvalidData
    );
    assert_eq!((text.as_str(), stream.len()), ("", 4));
    assert_eq!(stream.read_bytes(4), b"b\xFFd\n"[..]);
}
