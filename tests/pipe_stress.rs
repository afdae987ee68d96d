//! Stress: a writer task and a reader task on a 2-worker multi-thread runtime move at least
//! 1 GiB through a pipe in frames of random size 1 B..1 MiB, mixing every write and read path,
//! and the reader checks every byte against the sequence the writer was seeded with.
#![cfg(feature = "tokio")]

use std::io;

use bytes::Bytes;
use futures::StreamExt;
use streamview::{pipe, PipeReader, PipeWriter};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

const GIB: u64 = 1 << 30;
const MAX_FRAME: usize = 1 << 20;

/// A seeded xorshift: the writer and the checker draw the same frames from the same seed.
#[derive(Clone)]
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// A frame size in 1..=MAX_FRAME, log-uniform so small frames are as common as big ones.
    fn frame_size(&mut self) -> usize {
        let bits = 1 + self.below(20);
        1 + self.below(1 << bits).min(MAX_FRAME - 1)
    }
}

/// The frames of one run: slices of one random pattern at random offsets, so a frame's bytes
/// depend on where it lies in the pattern and a misplaced or reordered byte shows.
struct Frames {
    pattern: Bytes,
    random: Random,
}

impl Frames {
    fn new(seed: u64) -> Frames {
        let mut random = Random(seed);
        let pattern: Vec<u8> = (0..2 * MAX_FRAME).map(|_| random.next() as u8).collect();
        Frames {
            pattern: Bytes::from(pattern),
            random,
        }
    }

    fn next_frame(&mut self, max: usize) -> Bytes {
        let len = self.random.frame_size().min(max);
        let offset = self.random.below(MAX_FRAME);
        self.pattern.slice(offset..offset + len)
    }
}

/// Checks received bytes against the frames drawn from the writer's seed, in order.
struct Checker {
    frames: Frames,
    current: Bytes,
    checked: u64,
}

impl Checker {
    fn check(&mut self, mut got: &[u8]) {
        while !got.is_empty() {
            if self.current.is_empty() {
                self.current = self.frames.next_frame(MAX_FRAME);
            }
            let n = got.len().min(self.current.len());
            assert!(
                got[..n] == self.current[..n],
                "content differs within bytes {}..{}",
                self.checked,
                self.checked + n as u64
            );
            let _ = self.current.split_to(n);
            got = &got[n..];
            self.checked += n as u64;
        }
    }
}

async fn write_all_frames(mut writer: PipeWriter, seed: u64, total: u64) -> io::Result<u64> {
    let mut frames = Frames::new(seed);
    let mut choice = Random(seed ^ 0xA5A5);
    let mut sent = 0u64;
    while sent < total {
        let frame = frames.next_frame(MAX_FRAME);
        sent += frame.len() as u64;
        match choice.below(4) {
            0 | 1 => drop(writer.write_segment(frame).await?),
            2 => writer.write_all(&frame).await?,
            _ => {
                // try first, wait only when full: the segment comes back intact
                if let Err(refused) = writer.try_write_segment(frame) {
                    assert!(refused.is_full(), "{refused}");
                    writer.write_segment(refused.into_inner()).await?;
                }
            }
        }
    }
    writer.close();
    Ok(sent)
}

async fn read_and_check_all(mut reader: PipeReader, seed: u64) -> io::Result<u64> {
    let mut checker = Checker {
        frames: Frames::new(seed),
        current: Bytes::new(),
        checked: 0,
    };
    let mut choice = Random(seed ^ 0x5A5A);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let more = match choice.below(7) {
            0 | 1 => reader.read_segment().await?.map(|s| checker.check(&s)),
            2 => reader
                .read_chunk(1 + choice.below(MAX_FRAME))
                .await?
                .map(|s| checker.check(&s)),
            3 => {
                let bytes = reader.read_bytes(1 + choice.below(2 * MAX_FRAME)).await?;
                checker.check(&bytes);
                (!bytes.is_empty()).then_some(())
            }
            4 => {
                let n = reader.read(&mut buf).await?;
                checker.check(&buf[..n]);
                (n > 0).then_some(())
            }
            5 => {
                let chunk = reader.fill_buf().await?;
                let n = chunk.len().min(1 + choice.below(MAX_FRAME));
                checker.check(&chunk[..n]);
                reader.consume(n);
                (n > 0).then_some(())
            }
            _ => reader.next().await.transpose()?.map(|s| checker.check(&s)),
        };
        if more.is_none() {
            return Ok(checker.checked);
        }
    }
}

/// Bytes moved: 1 GiB, or `STREAMVIEW_STRESS_BYTES` when set (for a quick local run).
fn total_bytes() -> u64 {
    std::env::var("STREAMVIEW_STRESS_BYTES")
        .ok()
        .map(|value| {
            value
                .parse()
                .expect("STREAMVIEW_STRESS_BYTES is a byte count")
        })
        .unwrap_or(GIB)
}

async fn run(capacity: usize, seed: u64, total: u64) {
    let (writer, reader) = pipe(capacity);
    let writing = tokio::spawn(write_all_frames(writer, seed, total));
    let reading = tokio::spawn(read_and_check_all(reader, seed));
    let sent = writing.await.unwrap().unwrap();
    let received = reading.await.unwrap().unwrap();
    assert!(sent >= total);
    assert_eq!(
        received, sent,
        "capacity {capacity}: every byte sent arrives"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_in_random_frames_arrives_intact_through_a_256_kib_pipe() {
    run(256 * 1024, 0x0123_4567_89AB_CDEF, total_bytes()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_frames_arrive_intact_through_a_one_byte_pipe() {
    // Capacity 1 makes nearly every write wait, so a lost wakeup hangs here first. Byte writes
    // move one byte per hand-off at this capacity, hence the smaller total.
    run(1, 0xFEED_FACE_CAFE_BEEF, total_bytes() / 256).await;
}
