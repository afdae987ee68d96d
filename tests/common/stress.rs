//! The 1 GiB stress tests' shared parts (`tests/pipe_stress.rs`, `tests/broadcast.rs`): seeded
//! random frames, a checker that replays them, and a writer and a reader that drive every write
//! and read path of a pipe or a broadcast at random. Each test includes this file with `#[path]`.

use std::future::Future;
use std::io;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use streamview::{BroadcastReader, BroadcastWriter, PipeReader, PipeWriter, TryWriteError};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt,
};

pub const MAX_FRAME: usize = 1 << 20;

/// A seeded xorshift: the writer and the checkers draw the same frames from the same seed.
#[derive(Clone)]
pub struct Random(pub u64);

impl Random {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    /// A frame size in 1..=MAX_FRAME, log-uniform so small frames are as common as big ones.
    fn frame_size(&mut self) -> usize {
        let bits = 1 + self.below(20);
        1 + self.below(1 << bits).min(MAX_FRAME - 1)
    }
}

/// Frames are slices of one random pattern at random offsets, so a misplaced byte shows.
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

    fn next_frame(&mut self) -> Bytes {
        let len = self.random.frame_size();
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
                self.current = self.frames.next_frame();
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

/// The writing half of a pipe or a broadcast, as the stress writer uses it.
pub trait SegmentWriter: AsyncWrite + Unpin + Send {
    fn write_segment(&mut self, segment: Bytes) -> impl Future<Output = io::Result<usize>> + Send;
    fn try_write_segment(&mut self, segment: Bytes) -> Result<usize, TryWriteError>;
    fn close(&mut self);
}

/// The reading half of a pipe or a broadcast, as the stress reader uses it.
pub trait SegmentReader:
    AsyncRead + AsyncBufRead + Stream<Item = io::Result<Bytes>> + Unpin + Send
{
    fn read_segment(&mut self) -> impl Future<Output = io::Result<Option<Bytes>>> + Send;
    fn read_chunk(&mut self, max: usize) -> impl Future<Output = io::Result<Option<Bytes>>> + Send;
    fn read_bytes(&mut self, n: usize) -> impl Future<Output = io::Result<Bytes>> + Send;
}

macro_rules! segment_halves {
    ($writer:ty, $reader:ty) => {
        impl SegmentWriter for $writer {
            fn write_segment(
                &mut self,
                segment: Bytes,
            ) -> impl Future<Output = io::Result<usize>> + Send {
                <$writer>::write_segment(self, segment)
            }
            fn try_write_segment(&mut self, segment: Bytes) -> Result<usize, TryWriteError> {
                <$writer>::try_write_segment(self, segment)
            }
            fn close(&mut self) {
                <$writer>::close(self)
            }
        }

        impl SegmentReader for $reader {
            fn read_segment(&mut self) -> impl Future<Output = io::Result<Option<Bytes>>> + Send {
                <$reader>::read_segment(self)
            }
            fn read_chunk(
                &mut self,
                max: usize,
            ) -> impl Future<Output = io::Result<Option<Bytes>>> + Send {
                <$reader>::read_chunk(self, max)
            }
            fn read_bytes(&mut self, n: usize) -> impl Future<Output = io::Result<Bytes>> + Send {
                <$reader>::read_bytes(self, n)
            }
        }
    };
}

segment_halves!(PipeWriter, PipeReader);
segment_halves!(BroadcastWriter, BroadcastReader);

/// Writes at least `total` bytes of the seed's frames through a random mix of every write path,
/// then closes.
pub async fn write_all_frames<W: SegmentWriter>(
    mut writer: W,
    seed: u64,
    total: u64,
) -> io::Result<u64> {
    let mut frames = Frames::new(seed);
    let mut choice = Random(seed ^ 0xA5A5);
    let mut sent = 0u64;
    while sent < total {
        let frame = frames.next_frame();
        sent += frame.len() as u64;
        match choice.below(4) {
            0 | 1 => drop(writer.write_segment(frame).await?),
            2 => writer.write_all(&frame).await?,
            _ => {
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

/// Reads until end of file through a random mix of every read path, checking every byte.
pub async fn read_and_check_all<R: SegmentReader>(
    mut reader: R,
    seed: u64,
    path_seed: u64,
) -> io::Result<u64> {
    let mut checker = Checker {
        frames: Frames::new(seed),
        current: Bytes::new(),
        checked: 0,
    };
    let mut choice = Random(path_seed);
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

#[path = "stress_bytes.rs"]
mod stress_bytes;

/// Bytes moved: 1 GiB, or `STREAMVIEW_STRESS_BYTES` when set (for a quick local run).
pub fn total_bytes() -> u64 {
    stress_bytes::total_bytes() as u64
}
