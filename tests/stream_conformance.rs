//! One conformance suite run over streams of every shape: a single segment, two segments, many
//! small segments, bytes that sit in the write tail, and mixes of segments and tail. Every shape
//! holds the same content, so every assertion is written once against `CONTENT`.

use std::io::{self, BufRead, IoSlice, Read, Write};

use bytes::{Buf, BufMut, Bytes};
use streamview::AsyncStream;

/// Five lines; the last has no newline, so `read_line` must wait for it until close.
const CONTENT: &[u8; 40] = b"alpha\nbeta gamma\n\ndelta epsilon zeta\neta";
const LINES: [&[u8]; 4] = [b"alpha\n", b"beta gamma\n", b"\n", b"delta epsilon zeta\n"];
const LAST_LINE: &[u8] = b"eta";

fn one_segment() -> AsyncStream {
    let mut stream = AsyncStream::new();
    stream.write_segment(Bytes::from_static(CONTENT));
    stream
}

fn two_segments() -> AsyncStream {
    let mut stream = AsyncStream::new();
    // The split falls inside the second line, so lines and copies cross the boundary.
    stream.write_segment(Bytes::from_static(&CONTENT[..8]));
    stream.write_segment(Bytes::from_static(&CONTENT[8..]));
    stream
}

fn many_small_segments() -> AsyncStream {
    CONTENT
        .chunks(3)
        .map(Bytes::from_static)
        .collect::<AsyncStream>()
}

fn single_byte_segments() -> AsyncStream {
    let mut stream = AsyncStream::new();
    stream.write_segments(CONTENT.chunks(1).map(Bytes::from_static));
    stream
}

fn tail_only() -> AsyncStream {
    let mut stream = AsyncStream::new();
    for piece in CONTENT[..30].chunks(7) {
        stream.write_all(piece).unwrap();
    }
    stream.put_slice(&CONTENT[30..39]);
    stream.put_u8(CONTENT[39]);
    stream
}

fn segments_then_tail() -> AsyncStream {
    let mut stream = AsyncStream::new();
    stream.write_segment(Bytes::from_static(&CONTENT[..6]));
    stream.write_segment(Bytes::from_static(&CONTENT[6..12]));
    stream.put_slice(&CONTENT[12..39]);
    stream.put_u8(CONTENT[39]);
    stream
}

fn tail_sealed_between_segments() -> AsyncStream {
    let mut stream = AsyncStream::new();
    stream.write_all(&CONTENT[..10]).unwrap();
    stream.write_segment(Bytes::from_static(&CONTENT[10..25]));
    stream.write_all(&CONTENT[25..]).unwrap();
    stream
}

/// Every shape, for the cross-shape tests outside the macro.
const SHAPES: [fn() -> AsyncStream; 7] = [
    one_segment,
    two_segments,
    many_small_segments,
    single_byte_segments,
    tail_only,
    segments_then_tail,
    tail_sealed_between_segments,
];

fn segment_list(stream: &AsyncStream) -> Vec<Vec<u8>> {
    stream.segments().map(<[u8]>::to_vec).collect()
}

fn drain_std_read(stream: &mut AsyncStream, buf_len: usize) -> (Vec<u8>, io::Error) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; buf_len];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => panic!("an open stream must never read as EOF"),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(err) => return (out, err),
        }
    }
}

macro_rules! conformance {
    ($($shape:ident: segments = $segments:expr, tail_last = $tail_last:expr;)*) => {$(
        mod $shape {
            use super::*;

            fn build() -> AsyncStream {
                super::$shape()
            }

            /// Segments at the front that are frozen `Bytes` (the rest is the unfrozen tail).
            fn frozen_segments() -> usize {
                $segments - usize::from($tail_last)
            }

            #[test]
            fn len_counts_every_byte() {
                let stream = build();
                assert_eq!(stream.len(), CONTENT.len());
                assert_eq!(stream.remaining(), CONTENT.len());
                assert!(!stream.is_empty());
                assert!(!stream.is_closed());
            }

            #[test]
            fn segments_cover_the_content_front_to_back() {
                let stream = build();
                assert_eq!(stream.num_segments(), $segments);
                assert_eq!(stream.segments().len(), $segments);
                assert_eq!(stream.segments().collect::<Vec<_>>().concat(), CONTENT);
                assert!(stream.segments().all(|segment| !segment.is_empty()));
                let mut backwards: Vec<&[u8]> = stream.segments().rev().collect();
                backwards.reverse();
                assert_eq!(backwards, stream.segments().collect::<Vec<_>>());
            }

            #[test]
            fn segment_i_peeks_every_segment_including_the_tail() {
                let stream = build();
                for (index, expected) in stream.segments().enumerate() {
                    assert_eq!(stream.segment(index).unwrap(), expected, "segment {index}");
                }
                assert!(stream.segment(stream.num_segments()).is_none());
                assert!(stream.segment(usize::MAX).is_none());
                assert_eq!(stream, *CONTENT);
            }

            #[test]
            fn debug_shows_segments_len_and_closed_flag() {
                let mut stream = build();
                assert_eq!(
                    format!("{stream:?}"),
                    format!("AsyncStream {{ segments: {}, len: 40, closed: false }}", $segments)
                );
                stream.close();
                assert_eq!(
                    format!("{stream:?}"),
                    format!("AsyncStream {{ segments: {}, len: 40, closed: true }}", $segments)
                );
            }

            #[test]
            fn chunk_is_the_front_segment_and_advance_frees_it() {
                let mut stream = build();
                let expected = segment_list(&stream);
                for (index, segment) in expected.iter().enumerate() {
                    assert_eq!(stream.chunk(), &segment[..]);
                    stream.advance(segment.len());
                    assert_eq!(stream.num_segments(), expected.len() - index - 1);
                }
                assert!(stream.chunk().is_empty());
                assert_eq!(stream.remaining(), 0);
            }

            #[test]
            fn advance_one_byte_at_a_time_visits_every_byte() {
                let mut stream = build();
                for (offset, &byte) in CONTENT.iter().enumerate() {
                    assert_eq!(stream.chunk()[0], byte, "offset {offset}");
                    stream.advance(1);
                    assert_eq!(stream.remaining(), CONTENT.len() - offset - 1);
                }
                assert!(stream.chunk().is_empty());
            }

            #[test]
            fn advance_to_every_offset_leaves_the_suffix() {
                for offset in 0..=CONTENT.len() {
                    let mut stream = build();
                    stream.advance(offset);
                    assert_eq!(stream, CONTENT[offset..], "offset {offset}");
                    assert_eq!(stream.len(), CONTENT.len() - offset);
                    assert_eq!(stream.chunk().is_empty(), stream.remaining() == 0);
                }
            }

            #[test]
            fn chunks_vectored_fills_as_many_slices_as_given_front_first() {
                let stream = build();
                let expected = segment_list(&stream);
                for slots in 0..=expected.len() + 2 {
                    let mut slices = vec![IoSlice::new(&[]); slots];
                    let filled = stream.chunks_vectored(&mut slices);
                    assert_eq!(filled, slots.min(expected.len()), "{slots} slots");
                    for (index, slice) in slices.iter().enumerate() {
                        if index < filled {
                            assert_eq!(&slice[..], &expected[index][..]);
                        } else {
                            assert!(slice.is_empty(), "slot {index} past the filled ones was touched");
                        }
                    }
                }
                assert_eq!(stream.len(), CONTENT.len());
            }

            #[test]
            fn copy_to_bytes_at_every_length_within_and_across_segments() {
                for len in 0..=CONTENT.len() {
                    let mut stream = build();
                    let taken = stream.copy_to_bytes(len);
                    assert_eq!(taken, CONTENT[..len], "len {len}");
                    assert_eq!(stream, CONTENT[len..], "len {len}");
                }
            }

            #[test]
            fn get_integers_read_across_segment_boundaries() {
                let mut stream = build();
                let mut reference = &CONTENT[..];
                while reference.remaining() >= 4 {
                    assert_eq!(stream.get_u32(), reference.get_u32());
                    assert_eq!(stream.get_u8(), reference.get_u8());
                }
                assert_eq!(stream.remaining(), reference.remaining());
            }

            #[test]
            fn bufmut_puts_append_after_the_content() {
                let mut stream = build();
                stream.put_u8(b'!');
                stream.put_u16(0x4142);
                stream.put_slice(b"slice");
                stream.put_bytes(b'z', 3);
                stream.put(Bytes::from_static(b"small"));
                stream.put(&b"ref"[..]);
                let mut expected = CONTENT.to_vec();
                expected.extend_from_slice(b"!ABslicezzzsmallref");
                assert_eq!(stream, expected);
                assert_eq!(stream.len(), expected.len());
                assert_eq!(stream.remaining_mut(), isize::MAX as usize - stream.len());
            }

            #[test]
            fn bufmut_chunk_mut_then_advance_mut_commits_bytes() {
                let mut stream = build();
                let chunk = stream.chunk_mut();
                assert!(chunk.len() >= 3, "chunk_mut offered only {} bytes", chunk.len());
                chunk[..3].copy_from_slice(b"xyz");
                // SAFETY: the three bytes were initialised through `chunk_mut` just above.
                unsafe { stream.advance_mut(3) };
                let mut expected = CONTENT.to_vec();
                expected.extend_from_slice(b"xyz");
                assert_eq!(stream, expected);
            }

            #[test]
            fn std_read_fills_the_buffer_across_segments() {
                for buf_len in [1, 3, 7, CONTENT.len(), CONTENT.len() + 5] {
                    let mut stream = build();
                    let mut buf = vec![0u8; buf_len];
                    let first = stream.read(&mut buf).unwrap();
                    assert_eq!(first, buf_len.min(CONTENT.len()), "a read stops only when full or drained");
                    assert_eq!(buf[..first], CONTENT[..first]);
                    let (rest, err) = drain_std_read(&mut stream, buf_len);
                    assert_eq!(rest, CONTENT[first..]);
                    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
                }
            }

            #[test]
            fn std_read_into_an_empty_buffer_is_ok_zero_and_consumes_nothing() {
                let mut stream = build();
                assert_eq!(stream.read(&mut []).unwrap(), 0);
                assert_eq!(stream, *CONTENT);
                stream.clear();
                assert_eq!(stream.read(&mut []).unwrap(), 0);
            }

            #[test]
            fn std_read_of_drained_stream_would_block_until_closed_then_eof() {
                let mut stream = build();
                let (all, err) = drain_std_read(&mut stream, 16);
                assert_eq!(all, CONTENT);
                assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
                assert_eq!(stream.fill_buf().unwrap_err().kind(), io::ErrorKind::WouldBlock);
                stream.close();
                assert_eq!(stream.read(&mut [0u8; 4]).unwrap(), 0);
                assert!(stream.fill_buf().unwrap().is_empty());
            }

            #[test]
            fn std_read_to_end_after_close_returns_everything() {
                let mut stream = build();
                stream.close();
                let mut all = Vec::new();
                assert_eq!(stream.read_to_end(&mut all).unwrap(), CONTENT.len());
                assert_eq!(all, CONTENT);
            }

            #[test]
            fn std_read_to_end_of_open_stream_keeps_bytes_and_would_block() {
                let mut stream = build();
                let mut all = Vec::new();
                let err = stream.read_to_end(&mut all).unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
                assert_eq!(all, CONTENT);
            }

            #[test]
            fn bufread_fill_buf_is_the_front_segment_and_consume_advances() {
                let mut stream = build();
                let expected = segment_list(&stream);
                assert_eq!(stream.fill_buf().unwrap(), &expected[0][..]);
                stream.consume(1);
                let front_rest = if expected[0].len() > 1 { &expected[0][1..] } else { &expected[1][..] };
                assert_eq!(stream.fill_buf().unwrap(), front_rest);
                assert_eq!(stream.len(), CONTENT.len() - 1);
            }

            #[test]
            fn bufread_read_until_splits_lines_across_segments() {
                let mut stream = build();
                stream.close();
                let mut lines = Vec::new();
                loop {
                    let mut line = Vec::new();
                    if stream.read_until(b'\n', &mut line).unwrap() == 0 {
                        break;
                    }
                    lines.push(line);
                }
                let mut expected: Vec<Vec<u8>> = LINES.iter().map(|line| line.to_vec()).collect();
                expected.push(LAST_LINE.to_vec());
                assert_eq!(lines, expected);
            }

            #[test]
            fn std_write_appends_and_write_vectored_writes_every_slice() {
                let mut stream = build();
                assert_eq!(stream.write(b"one").unwrap(), 3);
                assert_eq!(stream.write(b"").unwrap(), 0);
                let slices = [IoSlice::new(b"two"), IoSlice::new(b""), IoSlice::new(b"three")];
                assert_eq!(stream.write_vectored(&slices).unwrap(), 8);
                stream.flush().unwrap();
                let mut expected = CONTENT.to_vec();
                expected.extend_from_slice(b"onetwothree");
                assert_eq!(stream, expected);
            }

            #[test]
            fn equals_every_comparable_type_by_content() {
                let stream = build();
                assert!(stream == CONTENT[..]);
                assert!(stream == &CONTENT[..]);
                assert!(stream == *CONTENT);
                assert!(stream == CONTENT);
                assert!(stream == CONTENT.to_vec());
                let same = AsyncStream::from(&CONTENT[..]);
                assert!(stream == same);
                assert!(stream == stream.clone());

                let mut changed = CONTENT.to_vec();
                changed[39] = b'A';
                assert!(stream != changed);
                let differs_in_last_byte = AsyncStream::from(changed.clone());
                assert!(stream != differs_in_last_byte);
                assert!(stream != CONTENT[..39]);
                let shorter = AsyncStream::from(&CONTENT[..39]);
                assert!(stream != shorter);
                assert!(stream != AsyncStream::new());
            }

            #[test]
            fn clone_shares_frozen_buffers_and_copies_only_the_tail() {
                let stream = build();
                let copy = stream.clone();
                assert_eq!(copy, stream);
                assert_eq!(copy.num_segments(), stream.num_segments());
                for (index, (mine, theirs)) in stream.segments().zip(copy.segments()).enumerate() {
                    assert_eq!(mine, theirs);
                    if index < frozen_segments() {
                        assert_eq!(mine.as_ptr(), theirs.as_ptr(), "frozen segment {index} was copied");
                    } else {
                        assert_ne!(mine.as_ptr(), theirs.as_ptr(), "the clone shares a mutable tail");
                    }
                }
            }

            #[test]
            fn clone_carries_the_closed_flag_and_is_independent() {
                let mut stream = build();
                assert!(!stream.clone().is_closed());
                stream.close();
                let mut copy = stream.clone();
                assert!(copy.is_closed());
                assert_eq!(copy.read_bytes(5), CONTENT[..5]);
                assert_eq!(stream, *CONTENT);
            }

            #[test]
            fn writes_to_a_clone_do_not_reach_the_original() {
                let mut stream = build();
                let mut copy = stream.clone();
                copy.write_all(b"more").unwrap();
                copy.put_u8(b'!');
                stream.write_all(b"other").unwrap();
                let mut expected = CONTENT.to_vec();
                expected.extend_from_slice(b"more!");
                assert_eq!(copy, expected);
                let mut expected = CONTENT.to_vec();
                expected.extend_from_slice(b"other");
                assert_eq!(stream, expected);
            }

            #[test]
            fn deep_clone_is_exactly_one_fresh_segment() {
                let mut stream = build();
                let copy = stream.deep_clone();
                assert_eq!(copy, stream);
                assert_eq!(copy.num_segments(), 1);
                assert!(!copy.is_closed());
                let fresh = copy.segments().next().unwrap().as_ptr_range();
                for segment in stream.segments() {
                    let original = segment.as_ptr_range();
                    assert!(fresh.end <= original.start || original.end <= fresh.start, "deep_clone shares a buffer");
                }
                stream.close();
                assert!(stream.deep_clone().is_closed());
            }

            #[test]
            fn read_segment_pops_segments_in_order() {
                let mut stream = build();
                let expected = segment_list(&stream);
                for segment in &expected {
                    assert_eq!(stream.read_segment().unwrap(), segment[..]);
                }
                assert!(stream.read_segment().is_none());
                assert!(stream.is_empty());
            }

            #[test]
            fn read_segments_drains_everything_front_to_back() {
                let mut stream = build();
                let expected = segment_list(&stream);
                let drained = stream.read_segments();
                assert_eq!(drained.len(), expected.len());
                let drained: Vec<Vec<u8>> = drained.map(|segment| segment.to_vec()).collect();
                assert_eq!(drained, expected);
                assert!(stream.is_empty());
                assert_eq!(stream.num_segments(), 0);
            }

            #[test]
            fn read_segments_dropped_early_still_empties_the_stream() {
                let mut stream = build();
                let expected_first = segment_list(&stream).remove(0);
                let first = stream.read_segments().next().unwrap();
                assert_eq!(first, expected_first);
                assert!(stream.is_empty());
                assert_eq!(stream.len(), 0);
                stream.write_segment("next");
                assert_eq!(stream, b"next");
            }

            #[test]
            fn unread_segment_pushes_to_the_front_even_after_close() {
                let mut stream = build();
                assert_eq!(stream.unread_segment("head:"), 5);
                assert_eq!(stream.unread_segment(""), 0);
                assert_eq!(stream.num_segments(), $segments + 1);
                stream.close();
                assert_eq!(stream.unread_segment(">"), 1);
                let mut expected = b">head:".to_vec();
                expected.extend_from_slice(CONTENT);
                assert_eq!(stream, expected);
                assert_eq!(stream.read_line().unwrap(), b">head:alpha\n"[..]);
            }

            #[test]
            fn unwrite_segment_pops_the_back_segment() {
                let mut stream = build();
                let mut expected = segment_list(&stream);
                while let Some(back) = expected.pop() {
                    assert_eq!(stream.unwrite_segment().unwrap(), back);
                    assert_eq!(stream.len(), expected.iter().map(Vec::len).sum::<usize>());
                    assert_eq!(stream.num_segments(), expected.len());
                }
                assert!(stream.unwrite_segment().is_none());
            }

            #[test]
            fn read_chunk_never_crosses_a_segment() {
                for max in [1, 2, 5, 64] {
                    let mut stream = build();
                    let mut all = Vec::new();
                    while !stream.is_empty() {
                        let front = stream.chunk().len();
                        let chunk = stream.read_chunk(max).unwrap();
                        assert_eq!(chunk.len(), max.min(front), "max {max}");
                        all.extend_from_slice(&chunk);
                    }
                    assert_eq!(all, CONTENT);
                    assert!(stream.read_chunk(max).is_none());
                }
            }

            #[test]
            fn read_chunk_of_zero_is_none_and_consumes_nothing() {
                let mut stream = build();
                assert!(stream.read_chunk(0).is_none());
                assert_eq!(stream, *CONTENT);
            }

            #[test]
            fn read_bytes_at_every_length() {
                for n in 0..=CONTENT.len() + 1 {
                    let mut stream = build();
                    let taken = stream.read_bytes(n);
                    let n = n.min(CONTENT.len());
                    assert_eq!(taken, CONTENT[..n]);
                    assert_eq!(stream, CONTENT[n..]);
                    assert_eq!(stream.len(), CONTENT.len() - n);
                }
            }

            #[test]
            fn read_line_includes_the_newline_and_waits_for_an_unfinished_line() {
                let mut stream = build();
                for line in LINES {
                    assert_eq!(stream.read_line().unwrap(), line);
                }
                assert!(stream.read_line().is_none(), "no newline held yet");
                assert_eq!(stream, LAST_LINE, "a missing newline consumes nothing");
                stream.write_all(b" and more").unwrap();
                assert!(stream.read_line().is_none());
                stream.write_segment("\nnext");
                assert_eq!(stream.read_line().unwrap(), b"eta and more\n"[..]);
                assert_eq!(stream, b"next");
            }

            #[test]
            fn read_line_after_close_returns_the_rest_then_none() {
                let mut stream = build();
                stream.close();
                for line in LINES {
                    assert_eq!(stream.read_line().unwrap(), line);
                }
                assert_eq!(stream.read_line().unwrap(), LAST_LINE);
                assert!(stream.read_line().is_none());
                assert!(stream.read_line().is_none());
            }

            #[test]
            fn skip_drops_up_to_n_bytes_at_every_length() {
                for n in 0..=CONTENT.len() + 1 {
                    let mut stream = build();
                    let dropped = stream.skip(n);
                    assert_eq!(dropped, n.min(CONTENT.len()));
                    assert_eq!(stream, CONTENT[dropped..]);
                }
            }

            #[test]
            fn truncate_keeps_the_first_n_bytes_and_later_writes_follow_them() {
                for n in 0..=CONTENT.len() + 1 {
                    let mut stream = build();
                    stream.truncate(n);
                    let kept = n.min(CONTENT.len());
                    assert_eq!(stream, CONTENT[..kept], "truncate({n})");
                    assert_eq!(stream.len(), kept);
                    assert_eq!(stream.segments().map(<[u8]>::len).sum::<usize>(), kept);
                    assert!(stream.segments().all(|segment| !segment.is_empty()));
                    stream.write_all(b"+w").unwrap();
                    stream.put_u8(b'+');
                    stream.write_segment("s");
                    let mut expected = CONTENT[..kept].to_vec();
                    expected.extend_from_slice(b"+w+s");
                    assert_eq!(stream, expected, "writes after truncate({n})");
                }
            }

            #[test]
            fn clear_releases_every_segment_and_keeps_the_closed_flag() {
                let mut stream = build();
                stream.clear();
                assert!(stream.is_empty());
                assert_eq!(stream.num_segments(), 0);
                assert!(!stream.is_closed());
                let mut closed = build();
                closed.close();
                closed.clear();
                assert!(closed.is_closed());
                assert_eq!(closed.read(&mut [0u8; 4]).unwrap(), 0);
            }

            #[test]
            fn to_bytes_is_the_whole_content_without_consuming() {
                let stream = build();
                assert_eq!(stream.to_bytes(), CONTENT[..]);
                assert_eq!(stream, *CONTENT);
                assert_eq!(stream.num_segments(), $segments);
            }

            #[test]
            fn close_keeps_bytes_readable_and_refuses_byte_writes() {
                let mut stream = build();
                stream.close();
                stream.close();
                assert!(stream.is_closed());
                assert_eq!(stream.write(b"x").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
                assert_eq!(
                    stream.write_vectored(&[IoSlice::new(b"x")]).unwrap_err().kind(),
                    io::ErrorKind::BrokenPipe
                );
                assert_eq!(stream, *CONTENT);
                assert_eq!(stream.read_bytes(100), CONTENT[..]);
                assert_eq!(stream.read(&mut [0u8; 4]).unwrap(), 0);
            }

            #[test]
            fn segment_writes_after_the_content_keep_write_order() {
                let mut stream = build();
                stream.write_segment("seg");
                stream.write_all(b"bytes").unwrap();
                stream.write_segments(["a", "", "b"]);
                let mut expected = CONTENT.to_vec();
                expected.extend_from_slice(b"segbytesab");
                assert_eq!(stream, expected);
            }

            #[test]
            fn extend_appends_segments_in_order() {
                let mut stream = build();
                stream.extend([Bytes::from_static(b"x"), Bytes::new(), Bytes::from_static(b"yz")]);
                let mut expected = CONTENT.to_vec();
                expected.extend_from_slice(b"xyz");
                assert_eq!(stream, expected);
                assert_eq!(stream.num_segments(), $segments + 2);
            }
        }
    )*};
}

conformance! {
    one_segment: segments = 1, tail_last = false;
    two_segments: segments = 2, tail_last = false;
    many_small_segments: segments = 14, tail_last = false;
    single_byte_segments: segments = 40, tail_last = false;
    tail_only: segments = 1, tail_last = true;
    segments_then_tail: segments = 3, tail_last = true;
    tail_sealed_between_segments: segments = 3, tail_last = true;
}

#[test]
fn every_shape_equals_every_other_shape() {
    for build_left in SHAPES {
        for build_right in SHAPES {
            assert!(build_left() == build_right());
            let mut shorter = build_right();
            shorter.truncate(39);
            assert!(build_left() != shorter);
            let mut changed = build_right();
            let _ = changed.unwrite_segment();
            changed.write_all(b"!").unwrap();
            assert!(build_left() != changed);
        }
    }
}

#[test]
fn empty_stream_holds_nothing_and_would_block() {
    let mut stream = AsyncStream::default();
    assert_eq!(
        format!("{stream:?}"),
        "AsyncStream { segments: 0, len: 0, closed: false }"
    );
    assert_eq!(stream.len(), 0);
    assert_eq!(stream.num_segments(), 0);
    assert_eq!(stream.segments().len(), 0);
    assert!(stream.segment(0).is_none());
    assert!(stream.chunk().is_empty());
    assert_eq!(stream.chunks_vectored(&mut [IoSlice::new(&[]); 4]), 0);
    assert!(stream.read_segment().is_none());
    assert_eq!(stream.read_segments().count(), 0);
    assert!(stream.unwrite_segment().is_none());
    assert!(stream.read_chunk(8).is_none());
    assert!(stream.read_bytes(8).is_empty());
    assert!(stream.read_line().is_none());
    assert_eq!(stream.skip(8), 0);
    stream.truncate(0);
    assert!(stream.to_bytes().is_empty());
    assert_eq!(stream.deep_clone().num_segments(), 0);
    assert_eq!(
        stream.read(&mut [0u8; 4]).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    assert_eq!(
        stream.fill_buf().unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    assert_eq!(stream, b"");
    assert_eq!(stream, AsyncStream::new());
}

#[test]
fn empty_closed_stream_reads_eof_everywhere() {
    let mut stream = AsyncStream::new();
    stream.close();
    assert_eq!(
        format!("{stream:?}"),
        "AsyncStream { segments: 0, len: 0, closed: true }"
    );
    assert_eq!(stream.read(&mut [0u8; 4]).unwrap(), 0);
    assert!(stream.fill_buf().unwrap().is_empty());
    assert!(stream.read_line().is_none());
    let copy = stream.deep_clone();
    assert_eq!(copy.num_segments(), 0);
    assert!(copy.is_closed());
    assert!(stream.clone().is_closed());
}

#[test]
fn from_impls_hold_their_input_as_one_segment() {
    let streams = [
        AsyncStream::from(Bytes::from_static(b"abc")),
        AsyncStream::from(bytes::BytesMut::from(&b"abc"[..])),
        AsyncStream::from(b"abc".to_vec()),
        AsyncStream::from(&b"abc"[..]),
        AsyncStream::from(b"abc"),
        AsyncStream::from("abc"),
        AsyncStream::from(String::from("abc")),
    ];
    for stream in streams {
        assert_eq!(stream, b"abc");
        assert_eq!(stream.num_segments(), 1);
        assert!(!stream.is_closed());
    }
    for empty in [AsyncStream::from(""), AsyncStream::from(Vec::new())] {
        assert_eq!(empty.num_segments(), 0, "an empty input adds no segment");
        assert!(empty.is_empty());
    }
}

#[test]
fn from_iterator_and_extend_skip_empty_segments() {
    let mut stream: AsyncStream = ["ab", "", "cd"].into_iter().map(Bytes::from).collect();
    assert_eq!(stream.num_segments(), 2);
    assert_eq!(stream, b"abcd");
    stream.extend(Vec::<Bytes>::new());
    stream.extend([Bytes::new(), Bytes::from_static(b"e")]);
    assert_eq!(stream.num_segments(), 3);
    assert_eq!(stream, b"abcde");
}

#[test]
fn write_segments_returns_the_bytes_added() {
    let mut stream = AsyncStream::new();
    assert_eq!(stream.write_segments(["ab", "", "cde"]), 5);
    assert_eq!(stream.write_segments(Vec::<Bytes>::new()), 0);
    assert_eq!(stream.write_segment(Bytes::from_static(b"f")), 1);
    assert_eq!(stream.num_segments(), 3);
}

#[test]
fn read_line_finds_a_newline_written_after_a_long_scan() {
    let mut stream = AsyncStream::new();
    for _ in 0..100 {
        stream.write_all(b"0123456789").unwrap();
        assert!(stream.read_line().is_none());
    }
    stream.unread_segment("\n");
    assert_eq!(
        stream.read_line().unwrap(),
        b"\n"[..],
        "unread bytes are searched again"
    );
    stream.write_segment("x\n");
    let line = stream.read_line().unwrap();
    assert_eq!(line.len(), 1002);
    assert!(line.ends_with(b"9x\n"));
}

#[test]
fn read_line_rescans_after_truncate_and_unwrite() {
    let mut stream = AsyncStream::from("abc");
    assert!(stream.read_line().is_none());
    stream.truncate(1);
    stream.write_segment("\n");
    assert_eq!(stream.read_line().unwrap(), b"a\n"[..]);
    stream.write_segment("def");
    assert!(stream.read_line().is_none());
    let _ = stream.unwrite_segment();
    stream.write_segment("g\nh");
    assert_eq!(stream.read_line().unwrap(), b"g\n"[..]);
}

#[test]
fn tail_write_of_many_blocks_keeps_every_byte_in_order() {
    let mut stream = AsyncStream::new();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    for piece in data.chunks(999) {
        stream.write_all(piece).unwrap();
    }
    stream.write_all(&data).unwrap();
    assert_eq!(stream.len(), 2 * data.len());
    assert!(stream.segments().all(|segment| !segment.is_empty()));
    let mut expected = data.clone();
    expected.extend_from_slice(&data);
    assert_eq!(stream, expected);
    assert_eq!(stream.to_bytes(), expected);
}

#[test]
fn many_small_puts_share_one_segment() {
    let mut stream = AsyncStream::new();
    for byte in 0..=255u8 {
        stream.put_u8(byte);
    }
    assert_eq!(stream.num_segments(), 1);
    assert_eq!(stream.len(), 256);
}
