//! Zero-copy is asserted, not claimed: every read that promises no copy hands back a `Bytes`
//! whose `as_ptr()` lies inside the buffer that was written, and every read that must make a
//! contiguous copy makes exactly one fresh buffer.

use std::io::Write;
use std::ops::Range;

use bytes::{Buf, BufMut, Bytes};
use streamview::AsyncStream;

/// A heap buffer of `len` bytes whose content tells offsets apart.
fn buffer(len: usize, seed: u8) -> Bytes {
    Bytes::from(
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect::<Vec<u8>>(),
    )
}

fn address_range(bytes: &[u8]) -> Range<usize> {
    let range = bytes.as_ptr_range();
    range.start as usize..range.end as usize
}

/// `copy` lives in memory that none of `inputs` covers: it is a fresh buffer.
fn assert_fresh(copy: &[u8], inputs: &[&Bytes]) {
    let copy = address_range(copy);
    for input in inputs {
        let input = address_range(input);
        assert!(
            copy.end <= input.start || input.end <= copy.start,
            "the copy {copy:x?} overlaps an input buffer {input:x?}"
        );
    }
}

#[test]
fn read_segment_returns_the_written_buffer() {
    let first = buffer(100, 1);
    let second = buffer(50, 2);
    let mut stream = AsyncStream::new();
    stream.write_segment(first.clone());
    stream.write_segment(second.clone());
    assert_eq!(stream.read_segment().unwrap().as_ptr(), first.as_ptr());
    assert_eq!(stream.read_segment().unwrap().as_ptr(), second.as_ptr());
}

#[test]
fn read_chunk_splits_the_front_segment_without_copying() {
    let frame = buffer(100, 3);
    let mut stream = AsyncStream::from(frame.clone());
    let head = stream.read_chunk(30).unwrap();
    assert_eq!(head.as_ptr(), frame.as_ptr());
    let rest = stream.read_chunk(1000).unwrap();
    assert_eq!(rest.as_ptr(), frame[30..].as_ptr());
    assert_eq!(rest.len(), 70);
}

#[test]
fn read_bytes_within_a_segment_does_not_copy() {
    let first = buffer(100, 4);
    let second = buffer(100, 5);
    let mut stream = AsyncStream::new();
    stream.write_segments([first.clone(), second.clone()]);
    assert_eq!(stream.read_bytes(40).as_ptr(), first.as_ptr());
    // Exactly to the end of the first segment: still that buffer.
    assert_eq!(stream.read_bytes(60).as_ptr(), first[40..].as_ptr());
    assert_eq!(stream.read_bytes(10).as_ptr(), second.as_ptr());
}

#[test]
fn copy_to_bytes_within_a_segment_does_not_copy() {
    let first = buffer(64, 6);
    let second = buffer(64, 7);
    let mut stream = AsyncStream::new();
    stream.write_segments([first.clone(), second.clone()]);
    assert_eq!(stream.copy_to_bytes(10).as_ptr(), first.as_ptr());
    assert_eq!(stream.copy_to_bytes(54).as_ptr(), first[10..].as_ptr());
    assert_eq!(stream.copy_to_bytes(64).as_ptr(), second.as_ptr());
}

#[test]
fn read_line_within_a_segment_does_not_copy() {
    let text = Bytes::from(b"first line\nsecond line\n".to_vec());
    let mut stream = AsyncStream::from(text.clone());
    assert_eq!(stream.read_line().unwrap().as_ptr(), text.as_ptr());
    assert_eq!(stream.read_line().unwrap().as_ptr(), text[11..].as_ptr());
}

#[test]
fn clone_shares_every_written_buffer() {
    let segments = [buffer(10, 8), buffer(20, 9), buffer(30, 10)];
    let stream: AsyncStream = segments.iter().cloned().collect();
    let mut copy = stream.clone();
    for segment in &segments {
        assert_eq!(copy.read_segment().unwrap().as_ptr(), segment.as_ptr());
    }
    assert_eq!(
        stream.len(),
        60,
        "reading the clone leaves the original whole"
    );
}

#[test]
fn segment_i_returns_the_written_buffer() {
    let segments = [buffer(10, 11), buffer(20, 12)];
    let stream: AsyncStream = segments.iter().cloned().collect();
    assert_eq!(stream.segment(0).unwrap().as_ptr(), segments[0].as_ptr());
    assert_eq!(stream.segment(1).unwrap().as_ptr(), segments[1].as_ptr());
}

#[test]
fn segments_iterator_borrows_the_written_buffers() {
    let segments = [buffer(10, 13), buffer(20, 14)];
    let stream: AsyncStream = segments.iter().cloned().collect();
    let pointers: Vec<*const u8> = stream.segments().map(<[u8]>::as_ptr).collect();
    assert_eq!(pointers, [segments[0].as_ptr(), segments[1].as_ptr()]);
}

#[test]
fn to_bytes_of_one_segment_does_not_copy() {
    let whole = buffer(100, 15);
    let stream = AsyncStream::from(whole.clone());
    assert_eq!(stream.to_bytes().as_ptr(), whole.as_ptr());
}

#[test]
fn read_segments_returns_the_written_buffers() {
    let segments = [buffer(10, 16), buffer(20, 17), buffer(30, 18)];
    let mut stream: AsyncStream = segments.iter().cloned().collect();
    let pointers: Vec<*const u8> = stream.read_segments().map(|s| s.as_ptr()).collect();
    let written: Vec<*const u8> = segments.iter().map(|s| s.as_ptr()).collect();
    assert_eq!(pointers, written);
}

#[test]
fn unread_and_unwrite_move_buffers_without_copying() {
    let frame = buffer(40, 19);
    let mut stream = AsyncStream::from(buffer(5, 20));
    stream.unread_segment(frame.clone());
    assert_eq!(stream.chunk().as_ptr(), frame.as_ptr());
    let back = buffer(7, 21);
    stream.write_segment(back.clone());
    assert_eq!(stream.unwrite_segment().unwrap().as_ptr(), back.as_ptr());
}

#[test]
fn bufmut_put_of_a_large_bytes_does_not_copy() {
    let large = buffer(64 * 1024, 22);
    let mut stream = AsyncStream::new();
    stream.put_slice(b"header");
    stream.put(large.clone());
    assert_eq!(stream.read_segment().unwrap(), b"header"[..]);
    assert_eq!(stream.read_segment().unwrap().as_ptr(), large.as_ptr());
}

#[test]
fn buf_chunk_and_chunks_vectored_point_into_the_written_buffers() {
    let segments = [buffer(10, 23), buffer(20, 24)];
    let mut stream: AsyncStream = segments.iter().cloned().collect();
    let mut slices = [std::io::IoSlice::new(&[]); 2];
    assert_eq!(stream.chunks_vectored(&mut slices), 2);
    assert_eq!(slices[0].as_ptr(), segments[0].as_ptr());
    assert_eq!(slices[1].as_ptr(), segments[1].as_ptr());
    stream.advance(3);
    assert_eq!(stream.chunk().as_ptr(), segments[0][3..].as_ptr());
}

#[test]
fn many_small_byte_writes_share_one_buffer() {
    let mut stream = AsyncStream::new();
    for byte in 0..100u8 {
        stream.write_all(&[byte]).unwrap();
    }
    let segment = stream.read_segment().unwrap();
    assert_eq!(segment.len(), 100, "one tail block holds every small write");
    assert!(stream.is_empty());
}

#[test]
fn a_drained_tail_block_is_written_again_from_its_start() {
    // As `tokio::io::duplex` does with its buffer: once every byte of the block was read and
    // every segment cut from it dropped, a write that no longer fits in what is left of it
    // starts the block over instead of moving on to another (5,000 bytes twice > 8 KiB).
    let mut stream = AsyncStream::new();
    stream.write_all(&[1; 5000]).unwrap();
    let first = stream.read_segment().unwrap();
    let start = first.as_ptr();
    drop(first);
    stream.write_all(&[2; 5000]).unwrap();
    let second = stream.read_segment().unwrap();
    assert_eq!(
        second.as_ptr(),
        start,
        "the drained block is reused from its start"
    );
    assert_eq!(second, vec![2; 5000]);
    assert!(stream.is_empty());
}

#[test]
fn a_tail_block_with_a_segment_still_held_is_not_written_over() {
    let mut stream = AsyncStream::new();
    stream.write_all(&[1; 5000]).unwrap();
    let first = stream.read_segment().unwrap();
    stream.write_all(&[2; 5000]).unwrap();
    let mut rest = Vec::new();
    while let Some(segment) = stream.read_segment() {
        let (held, read) = (address_range(&first), address_range(&segment));
        assert!(
            read.end <= held.start || held.end <= read.start,
            "{read:x?} over {held:x?}"
        );
        rest.extend_from_slice(&segment);
    }
    assert_eq!(first, vec![1; 5000]);
    assert_eq!(rest, vec![2; 5000]);
}

#[test]
fn a_segment_written_after_byte_writes_stays_the_written_buffer() {
    let frame = buffer(30, 25);
    let mut stream = AsyncStream::new();
    stream.write_all(b"bytes").unwrap();
    stream.write_segment(frame.clone());
    stream.write_all(b"more").unwrap();
    assert_eq!(stream.read_segment().unwrap(), b"bytes"[..]);
    assert_eq!(stream.read_segment().unwrap().as_ptr(), frame.as_ptr());
    assert_eq!(stream.read_segment().unwrap(), b"more"[..]);
}

#[test]
fn read_bytes_across_segments_copies_once_into_a_fresh_buffer() {
    let first = buffer(100, 26);
    let second = buffer(100, 27);
    let third = buffer(100, 28);
    let mut stream: AsyncStream = [first.clone(), second.clone(), third.clone()]
        .into_iter()
        .collect();
    stream.skip(50);
    let copy = stream.read_bytes(200);
    assert_eq!(copy.len(), 200);
    assert_eq!(copy[..50], first[50..]);
    assert_eq!(copy[50..150], second[..]);
    assert_eq!(copy[150..], third[..50]);
    assert_fresh(&copy, &[&first, &second, &third]);
    // What is left of the last segment is still that buffer.
    assert_eq!(
        stream.read_segment().unwrap().as_ptr(),
        third[50..].as_ptr()
    );
}

#[test]
fn copy_to_bytes_across_segments_copies_once_into_a_fresh_buffer() {
    let first = buffer(10, 29);
    let second = buffer(10, 30);
    let mut stream: AsyncStream = [first.clone(), second.clone()].into_iter().collect();
    let copy = stream.copy_to_bytes(15);
    assert_eq!(copy[..10], first[..]);
    assert_eq!(copy[10..], second[..5]);
    assert_fresh(&copy, &[&first, &second]);
}

#[test]
fn read_line_across_segments_copies_once_into_a_fresh_buffer() {
    let first = Bytes::from(b"a long li".to_vec());
    let second = Bytes::from(b"ne\nrest".to_vec());
    let mut stream: AsyncStream = [first.clone(), second.clone()].into_iter().collect();
    let line = stream.read_line().unwrap();
    assert_eq!(line, b"a long line\n"[..]);
    assert_fresh(&line, &[&first, &second]);
    assert_eq!(stream.chunk().as_ptr(), second[3..].as_ptr());
}

#[test]
fn to_bytes_and_deep_clone_of_many_segments_copy_into_one_fresh_buffer() {
    let first = buffer(10, 31);
    let second = buffer(10, 32);
    let stream: AsyncStream = [first.clone(), second.clone()].into_iter().collect();
    let whole = stream.to_bytes();
    assert_eq!(whole.len(), 20);
    assert_fresh(&whole, &[&first, &second]);
    let copy = stream.deep_clone();
    assert_eq!(copy.num_segments(), 1);
    let copied = copy.segment(0).unwrap();
    assert_fresh(&copied, &[&first, &second]);
    assert_eq!(stream.len(), 20, "neither consumes");
}

#[test]
fn the_write_tail_is_handed_out_without_copy_by_mut_reads() {
    let mut stream = AsyncStream::new();
    stream.write_all(b"0123456789").unwrap();
    let peeked = stream.chunk().as_ptr();
    let head = stream.read_chunk(4).unwrap();
    assert_eq!(head.as_ptr(), peeked, "read_chunk froze the tail in place");
    let rest = stream.read_bytes(6);
    assert_eq!(rest.as_ptr(), peeked.wrapping_add(4));
}

#[test]
fn peeking_the_tail_through_shared_references_copies_only_the_tail() {
    let frame = buffer(20, 33);
    let mut stream = AsyncStream::from(frame.clone());
    stream.write_all(b"tail bytes").unwrap();
    let in_place = stream.segments().nth(1).unwrap().as_ptr();
    let peeked = stream.segment(1).unwrap();
    assert_eq!(peeked, b"tail bytes"[..]);
    assert_ne!(
        peeked.as_ptr(),
        in_place,
        "segment(i) on the tail is a copy"
    );
    assert_eq!(stream.segment(0).unwrap().as_ptr(), frame.as_ptr());
    let copy = stream.clone();
    assert_eq!(copy.segments().next().unwrap().as_ptr(), frame.as_ptr());
}

#[test]
fn reads_whose_destination_sits_just_past_the_source_modulo_4_kib_copy_every_byte() {
    // Such copies go to `memcpy` in pieces (the slow `rep movsb` case); the bytes must not tell.
    let frame = buffer(10_000, 40);
    let mut out = vec![0u8; 10_000 + 8192];
    for distance in [0usize, 1, 16, 31, 63, 64, 2048] {
        let src = frame.as_ptr() as usize;
        let base = out.as_ptr() as usize;
        let offset = (src + distance).wrapping_sub(base) % 4096;
        let mut stream = AsyncStream::new();
        stream.write_segment(frame.clone());
        let dst = &mut out[offset..offset + 10_000];
        assert_eq!(std::io::Read::read(&mut stream, dst).unwrap(), 10_000);
        assert_eq!(&dst[..], &frame[..], "distance {distance}");
    }
}
