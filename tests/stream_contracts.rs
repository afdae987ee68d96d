//! std and ecosystem contracts checked against their reference types: vectored reads fill every
//! buffer in order (as `std::io::Cursor`), `consume` past the end clamps (as `Cursor`,
//! `BufReader` and Tokio's `BufReader`), `std::fmt::Write` writes text into the write tail, and
//! the owning iterator hands out the very segment buffers.

use std::io::{self, BufRead, IoSliceMut, Read, Write};

use bytes::{Buf, Bytes};
use streamview::AsyncStream;

const CONTENT: &[u8] = b"abcdefghijklmnopq";

/// The same 17 bytes in several layouts: one segment, many, and segments plus a write tail.
fn layouts() -> Vec<AsyncStream> {
    let one = AsyncStream::from(CONTENT);
    let mut many = AsyncStream::new();
    many.write_segments(CONTENT.chunks(3).map(Bytes::copy_from_slice));
    let mut with_tail = AsyncStream::new();
    with_tail.write_segments(["abc", "defg"]);
    with_tail.write_all(&CONTENT[7..]).unwrap();
    vec![one, many, with_tail]
}

/// Buffer sizes for a vectored read, including empty buffers in the middle and room to spare.
const SPLITS: &[&[usize]] = &[
    &[5, 5, 5, 5],
    &[1, 0, 2, 0, 30],
    &[17],
    &[0, 0],
    &[16, 1],
    &[2, 3],
];

/// Reads vectored into buffers of `sizes` and returns the count and the buffers' contents.
fn read_vectored_with(reader: &mut impl Read, sizes: &[usize]) -> (usize, Vec<Vec<u8>>) {
    let mut buffers: Vec<Vec<u8>> = sizes.iter().map(|&size| vec![0u8; size]).collect();
    let mut slices: Vec<IoSliceMut<'_>> = buffers.iter_mut().map(|b| IoSliceMut::new(b)).collect();
    let n = reader.read_vectored(&mut slices).unwrap();
    (n, buffers)
}

#[test]
fn read_vectored_fills_every_buffer_in_order_like_cursor() {
    for sizes in SPLITS {
        for mut stream in layouts() {
            let mut cursor = io::Cursor::new(CONTENT);
            let expected = read_vectored_with(&mut cursor, sizes);
            let got = read_vectored_with(&mut stream, sizes);
            assert_eq!(got, expected, "buffers of {sizes:?}");
            assert_eq!(stream.len(), CONTENT.len() - expected.0);
        }
    }
}

#[test]
fn read_vectored_of_an_empty_open_stream_would_block_and_at_eof_reads_zero() {
    let mut stream = AsyncStream::new();
    let mut buf = [0u8; 4];
    let error = stream
        .read_vectored(&mut [IoSliceMut::new(&mut buf)])
        .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
    stream.close();
    assert_eq!(
        stream
            .read_vectored(&mut [IoSliceMut::new(&mut buf)])
            .unwrap(),
        0
    );
}

#[cfg(feature = "futures-io")]
#[test]
fn futures_io_poll_read_vectored_fills_every_buffer_in_order_like_cursor() {
    use futures::io::AsyncReadExt;
    for sizes in SPLITS {
        for mut stream in layouts() {
            let mut cursor = io::Cursor::new(CONTENT);
            let expected = read_vectored_with(&mut cursor, sizes);
            let mut buffers: Vec<Vec<u8>> = sizes.iter().map(|&size| vec![0u8; size]).collect();
            let mut slices: Vec<IoSliceMut<'_>> =
                buffers.iter_mut().map(|b| IoSliceMut::new(b)).collect();
            let n =
                futures::executor::block_on(AsyncReadExt::read_vectored(&mut stream, &mut slices))
                    .unwrap();
            assert_eq!((n, buffers), expected, "buffers of {sizes:?}");
        }
    }
}

#[test]
fn bufread_consume_past_the_end_empties_the_stream_like_cursor_and_bufreader() {
    for amount in [0, 3, 17, 18, 1000, usize::MAX] {
        for mut stream in layouts() {
            let mut cursor = io::Cursor::new(CONTENT);
            let mut reader = io::BufReader::new(CONTENT);
            reader.fill_buf().unwrap();
            stream.consume(amount);
            cursor.consume(amount);
            reader.consume(amount);
            let mut rest = Vec::new();
            cursor.read_to_end(&mut rest).unwrap();
            let mut from_reader = Vec::new();
            reader.read_to_end(&mut from_reader).unwrap();
            assert_eq!(rest, from_reader);
            assert_eq!(stream, rest, "consume({amount})");
        }
    }
}

#[test]
fn buf_advance_past_the_end_still_panics() {
    let mut stream = AsyncStream::from(CONTENT);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stream.advance(18)));
    assert!(result.is_err());
    assert_eq!(stream, CONTENT);
}

#[cfg(feature = "tokio")]
#[test]
fn tokio_consume_past_the_end_empties_the_stream_like_tokio_bufreader() {
    use std::pin::Pin;
    use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};
    for amount in [3, 17, 18, usize::MAX] {
        for mut stream in layouts() {
            let mut reader = tokio::io::BufReader::new(CONTENT);
            let rest = tokio_test::block_on(async {
                reader.fill_buf().await.unwrap();
                Pin::new(&mut reader).consume(amount);
                let mut rest = Vec::new();
                reader.read_to_end(&mut rest).await.unwrap();
                rest
            });
            AsyncBufRead::consume(Pin::new(&mut stream), amount);
            assert_eq!(stream, rest, "consume({amount})");
        }
    }
}

#[cfg(feature = "futures-io")]
#[test]
fn futures_io_consume_past_the_end_empties_the_stream() {
    use std::pin::Pin;
    for mut stream in layouts() {
        futures::io::AsyncBufRead::consume(Pin::new(&mut stream), 1000);
        assert!(stream.is_empty());
    }
}

/// Only `std::fmt::Write` in scope here, so `write!` means text.
mod fmt_write {
    use std::fmt::Write;
    use std::io;

    use streamview::AsyncStream;

    #[test]
    fn fmt_write_puts_text_into_the_write_tail_shared_with_byte_writes() {
        let mut stream = AsyncStream::new();
        io::Write::write_all(&mut stream, b"GET ").unwrap();
        let path = "path";
        write!(stream, "/{path}?n={}", 42).unwrap();
        stream.write_str(" HTTP/1.1\r\n").unwrap();
        assert_eq!(stream, b"GET /path?n=42 HTTP/1.1\r\n");
        assert_eq!(
            stream.num_segments(),
            1,
            "text and bytes share one tail block"
        );
    }

    #[test]
    fn fmt_write_after_close_is_an_error_and_writes_nothing() {
        let mut stream = AsyncStream::from("held");
        stream.close();
        assert!(write!(stream, "{}", 1).is_err());
        assert_eq!(stream, b"held");
    }
}

#[test]
fn into_iter_yields_the_very_segment_buffers_then_the_tail() {
    let first = Bytes::from(vec![1u8; 100]);
    let second = Bytes::from(vec![2u8; 100]);
    let mut stream = AsyncStream::new();
    stream.write_segments([first.clone(), second.clone()]);
    stream.write_all(b"tail").unwrap();
    let mut segments = stream.into_iter();
    assert_eq!(segments.len(), 3);
    assert_eq!(segments.next().unwrap().as_ptr(), first.as_ptr());
    assert_eq!(segments.next().unwrap().as_ptr(), second.as_ptr());
    assert_eq!(segments.next().unwrap(), "tail");
    assert!(segments.next().is_none());
}

#[test]
fn into_iter_of_every_layout_concatenates_to_the_content() {
    for stream in layouts() {
        let joined: Vec<u8> = stream.into_iter().flatten().collect();
        assert_eq!(joined, CONTENT);
    }
    assert_eq!(AsyncStream::new().into_iter().count(), 0);
}
