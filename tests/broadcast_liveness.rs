//! Liveness of the fan-out, the broadcast form of the pipe's rule: a writer waiting for room is
//! woken by the read that made the room, on every read path, without a further read and without
//! the reader parking; also when the reader holding it back is dropped.
//!
//! Shape of every test: `broadcast(32)`; a writer task writes 32 bytes, then tries to write
//! more; the slowest reader reads 4 bytes once through the path under test and is never polled
//! again; the writer must then complete. A 30 s timeout turns a stall into a failure.
#![cfg(feature = "tokio")]

use std::time::Duration;

use futures::StreamExt;
use streamview::{broadcast, BroadcastReader, BroadcastWriter};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

/// Generous: a stall fails the test instead of hanging it, and a loaded machine never does.
const STALL: Duration = Duration::from_secs(30);

/// How the writer fills the broadcast before its blocked write.
#[derive(Clone, Copy, Debug)]
enum Fill {
    /// Eight `write_segment("abc\n")`, four bytes each.
    Segments,
    /// One `AsyncWrite::write` of 64 bytes of `abc\n`, of which 32 fit.
    Bytes,
}

/// Fills the 32 bytes, then writes more: a whole segment after segments, through `AsyncWrite`
/// (which must return what fit, at least 1 byte) after a byte write.
fn spawn_writer(mut writer: BroadcastWriter, fill: Fill) -> JoinHandle<std::io::Result<()>> {
    tokio::spawn(async move {
        let lines = b"abc\n".repeat(16);
        match fill {
            Fill::Segments => {
                for _ in 0..8 {
                    writer.write_segment("abc\n").await?;
                }
            }
            Fill::Bytes => assert_eq!(writer.write(&lines).await?, 32),
        }
        // Full: this waits until the slowest reader has read something.
        match fill {
            Fill::Segments => assert_eq!(writer.write_segment("more").await?, 4),
            Fill::Bytes => {
                let more = writer.write(&lines[..4]).await?;
                assert!(more >= 1, "a write that found room wrote {more} bytes");
            }
        }
        Ok(())
    })
}

/// One read of at least one byte (4 where the path can ask for exactly 4) through each path.
#[derive(Clone, Copy, Debug)]
enum Path {
    ReadSegment,
    ReadChunk,
    ReadBytes,
    ReadLine,
    AsyncRead,
    AsyncBufReadConsume,
    Stream,
    #[cfg(feature = "futures-io")]
    FuturesRead,
    #[cfg(feature = "futures-io")]
    FuturesBufReadConsume,
}

const PATHS: &[Path] = &[
    Path::ReadSegment,
    Path::ReadChunk,
    Path::ReadBytes,
    Path::ReadLine,
    Path::AsyncRead,
    Path::AsyncBufReadConsume,
    Path::Stream,
    #[cfg(feature = "futures-io")]
    Path::FuturesRead,
    #[cfg(feature = "futures-io")]
    Path::FuturesBufReadConsume,
];

/// Reads once through `path`; returns what was read (its first bytes are `abc\n`).
async fn read_once(reader: &mut BroadcastReader, path: Path) -> Vec<u8> {
    match path {
        Path::ReadSegment => reader.read_segment().await.unwrap().unwrap().to_vec(),
        Path::ReadChunk => reader.read_chunk(4).await.unwrap().unwrap().to_vec(),
        Path::ReadBytes => reader.read_bytes(4).await.unwrap().to_vec(),
        Path::ReadLine => reader.read_line().await.unwrap().unwrap().to_vec(),
        Path::AsyncRead => {
            let mut head = [0; 4];
            reader.read_exact(&mut head).await.unwrap();
            head.to_vec()
        }
        Path::AsyncBufReadConsume => {
            let chunk = reader.fill_buf().await.unwrap()[..4].to_vec();
            reader.consume(4);
            chunk
        }
        Path::Stream => reader.next().await.unwrap().unwrap().to_vec(),
        #[cfg(feature = "futures-io")]
        Path::FuturesRead => {
            let mut head = [0; 4];
            futures::io::AsyncReadExt::read_exact(reader, &mut head)
                .await
                .unwrap();
            head.to_vec()
        }
        #[cfg(feature = "futures-io")]
        Path::FuturesBufReadConsume => {
            let chunk = futures::io::AsyncBufReadExt::fill_buf(reader)
                .await
                .unwrap()[..4]
                .to_vec();
            futures::io::AsyncBufRead::consume(std::pin::Pin::new(reader), 4);
            chunk
        }
    }
}

/// One reader: it reads once through `path` and is never polled again.
async fn one_reader_makes_room(path: Path, fill: Fill) {
    let (writer, mut reader) = broadcast(32);
    let task = spawn_writer(writer, fill);
    let read = read_once(&mut reader, path).await;
    assert!(
        read.starts_with(b"abc\n"),
        "{path:?}/{fill:?} read {read:?}"
    );
    tokio::time::timeout(STALL, task)
        .await
        .unwrap_or_else(|_| panic!("{path:?}/{fill:?}: the read made room, the writer stalled"))
        .unwrap()
        .unwrap();
    drop(reader);
}

/// Two readers: the fast one reads all 32 bytes first (no room: the slow one holds them), then
/// the slow one reads once through `path`; neither is polled again.
async fn slowest_of_two_makes_room(path: Path, fill: Fill) {
    let (writer, mut slow) = broadcast(32);
    let mut fast = slow.clone();
    let task = spawn_writer(writer, fill);
    let mut all = [0; 32];
    fast.read_exact(&mut all).await.unwrap();
    assert_eq!(all.as_slice(), b"abc\n".repeat(8));
    let read = read_once(&mut slow, path).await;
    assert!(
        read.starts_with(b"abc\n"),
        "{path:?}/{fill:?} read {read:?}"
    );
    tokio::time::timeout(STALL, task)
        .await
        .unwrap_or_else(|_| {
            panic!("{path:?}/{fill:?}: the slowest reader made room, the writer stalled")
        })
        .unwrap()
        .unwrap();
    drop((fast, slow));
}

#[tokio::test]
async fn every_read_path_of_a_single_reader_wakes_the_blocked_writer() {
    for &path in PATHS {
        for fill in [Fill::Segments, Fill::Bytes] {
            one_reader_makes_room(path, fill).await;
        }
    }
}

#[tokio::test]
async fn every_read_path_of_the_slowest_of_two_readers_wakes_the_blocked_writer() {
    for &path in PATHS {
        for fill in [Fill::Segments, Fill::Bytes] {
            slowest_of_two_makes_room(path, fill).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_on_a_multi_thread_runtime() {
    for &path in PATHS {
        for fill in [Fill::Segments, Fill::Bytes] {
            one_reader_makes_room(path, fill).await;
            slowest_of_two_makes_room(path, fill).await;
        }
    }
}

#[tokio::test]
async fn the_fast_reader_alone_does_not_wake_the_writer_the_slow_one_holds_back() {
    let (mut writer, mut slow) = broadcast(32);
    let mut fast = slow.clone();
    writer.write_segment(vec![0; 32]).await.unwrap();
    let mut blocked = tokio_test::task::spawn(writer.write_segment("more"));
    tokio_test::assert_pending!(blocked.poll());
    assert_eq!(fast.read_bytes(32).await.unwrap().len(), 32);
    assert!(
        !blocked.is_woken(),
        "woken with the slow reader still 32 behind"
    );
    tokio_test::assert_pending!(blocked.poll());
    assert_eq!(slow.read_bytes(1).await.unwrap().len(), 1);
    assert!(blocked.is_woken(), "the slowest reader's read made room");
    assert_eq!(tokio_test::assert_ready!(blocked.poll()).unwrap(), 4);
}

#[tokio::test]
async fn dropping_the_slowest_reader_wakes_the_blocked_writer() {
    let (writer, slow) = broadcast(32);
    let mut fast = slow.clone();
    let task = spawn_writer(writer, Fill::Bytes);
    let mut all = [0; 32];
    fast.read_exact(&mut all).await.unwrap();
    drop(slow);
    tokio::time::timeout(STALL, task)
        .await
        .expect("dropping the slow reader made room, the writer stalled")
        .unwrap()
        .unwrap();
}
