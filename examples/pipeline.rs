//! The main demo: a producer task hands length-delimited frames to a consumer task through
//! `streamview::pipe`, without copying them, and the same frames then go through
//! `tokio::io::duplex` with tokio-util's `LengthDelimitedCodec` for comparison, in the same run.
//! Both consumers read every byte (a checksum), so the comparison is of delivered, used data.
//!
//! ```sh
//! cargo run --release --example pipeline            # 1 GiB
//! cargo run --release --example pipeline -- 1024    # MiB to send
//! ```

use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

/// Frame payload sizes cycle through this pattern: small control frames and bulk data mixed.
const FRAME_SIZES: [usize; 8] = [64, 1024, 16 << 10, 64 << 10, 200, 4096, 32 << 10, 512];
const PIPE_CAPACITY: usize = 1 << 20;

/// The payloads live in one source buffer of this size, which the frames slice over and over: a
/// server sending from hot buffers, so the run measures the transport rather than DRAM.
const SOURCE_LEN: usize = 2 << 20;

/// The frames to send, all slices of one buffer, so the consumer can tell which arrived
/// without a copy (same address as the slice sent).
fn make_frames(total: usize) -> (Bytes, Vec<Bytes>) {
    let source = Bytes::from(
        (0..SOURCE_LEN)
            .map(|i| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    let mut frames = Vec::new();
    let (mut sent, mut offset) = (0, 0);
    for &size in FRAME_SIZES.iter().cycle() {
        if sent == total {
            break;
        }
        let size = size.min(total - sent);
        if offset + size > SOURCE_LEN {
            offset = 0;
        }
        frames.push(source.slice(offset..offset + size));
        offset += size;
        sent += size;
    }
    (source, frames)
}

/// What a consumer does with each payload: a checksum over every byte, so both transports
/// deliver bytes that are actually read, and the run proves they arrived intact.
/// (A byte sum per frame, which vectorises, folded in frame order.)
fn checksum(sum: u64, payload: &[u8]) -> u64 {
    let frame_sum: u64 = payload.iter().map(|&byte| u64::from(byte)).sum();
    sum.rotate_left(7) ^ frame_sum
}

struct Report {
    bytes: usize,
    checksum: u64,
    frames: usize,
    zero_copy_frames: usize,
    elapsed: Duration,
}

impl Report {
    fn mib_per_s(&self) -> f64 {
        self.bytes as f64 / (1 << 20) as f64 / self.elapsed.as_secs_f64()
    }
}

async fn through_pipe(source: &Bytes, frames: &[Bytes]) -> io::Result<Report> {
    let total: usize = frames.iter().map(Bytes::len).sum();
    let (mut writer, mut reader) = streamview::pipe(PIPE_CAPACITY);
    let start = Instant::now();
    let to_send = frames.to_vec();
    let producer = tokio::spawn(async move {
        for frame in to_send {
            let header = Bytes::copy_from_slice(&(frame.len() as u32).to_be_bytes());
            writer.write_segment(header).await?;
            writer.write_segment(frame).await?;
        }
        writer.close();
        io::Result::Ok(())
    });

    let source_range = source.as_ptr() as usize..source.as_ptr() as usize + source.len();
    let (mut bytes, mut count, mut zero_copy, mut sum) = (0, 0, 0, 0);
    let mut next_progress = total / 4;
    loop {
        let header = reader.read_bytes(4).await?;
        if header.is_empty() {
            break;
        }
        let len = u32::from_be_bytes(header[..].try_into().expect("4-byte header")) as usize;
        let payload = reader.read_bytes(len).await?;
        if payload.len() != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("frame {count} cut short: {} of {len} bytes", payload.len()),
            ));
        }
        if source_range.contains(&(payload.as_ptr() as usize)) {
            zero_copy += 1;
        }
        sum = checksum(sum, &payload);
        bytes += len;
        count += 1;
        if bytes >= next_progress && next_progress > 0 {
            println!(
                "  pipe: {:>5} MiB of {} MiB received",
                bytes >> 20,
                total >> 20
            );
            next_progress += total / 4;
        }
    }
    producer.await.expect("producer task")?;
    Ok(Report {
        bytes,
        checksum: sum,
        frames: count,
        zero_copy_frames: zero_copy,
        elapsed: start.elapsed(),
    })
}

async fn through_duplex(frames: &[Bytes]) -> io::Result<Report> {
    let (client, server) = tokio::io::duplex(PIPE_CAPACITY);
    let start = Instant::now();
    let to_send = frames.to_vec();
    let producer = tokio::spawn(async move {
        let mut sink = FramedWrite::new(client, LengthDelimitedCodec::new());
        for frame in to_send {
            sink.feed(frame).await?;
        }
        SinkExt::<Bytes>::close(&mut sink).await
    });
    let mut framed = FramedRead::new(server, LengthDelimitedCodec::new());
    let (mut bytes, mut count, mut sum) = (0, 0, 0);
    while let Some(frame) = framed.next().await {
        let frame = frame?;
        sum = checksum(sum, &frame);
        bytes += frame.len();
        count += 1;
    }
    producer.await.expect("producer task")?;
    Ok(Report {
        bytes,
        checksum: sum,
        frames: count,
        zero_copy_frames: 0,
        elapsed: start.elapsed(),
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> io::Result<()> {
    let mib: usize = match std::env::args().nth(1) {
        Some(arg) => arg.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("expected MiB to send, got {arg:?}"),
            )
        })?,
        None => 1024,
    };
    let (source, frames) = make_frames(mib << 20);
    println!(
        "sending {} MiB in {} length-delimited frames of {:?} bytes (cycled), pipe capacity {} KiB",
        mib,
        frames.len(),
        FRAME_SIZES,
        PIPE_CAPACITY >> 10
    );

    let pipe = through_pipe(&source, &frames).await?;
    println!(
        "streamview::pipe   : {} frames, {} MiB in {:.3} s = {:>8.0} MiB/s; {} of {} payloads zero-copy",
        pipe.frames,
        pipe.bytes >> 20,
        pipe.elapsed.as_secs_f64(),
        pipe.mib_per_s(),
        pipe.zero_copy_frames,
        pipe.frames
    );

    let duplex = through_duplex(&frames).await?;
    println!(
        "tokio::io::duplex  : {} frames, {} MiB in {:.3} s = {:>8.0} MiB/s (FramedWrite/FramedRead + LengthDelimitedCodec)",
        duplex.frames,
        duplex.bytes >> 20,
        duplex.elapsed.as_secs_f64(),
        duplex.mib_per_s()
    );
    let expected = frames.iter().fold(0, |sum, frame| checksum(sum, frame));
    assert_eq!(
        pipe.checksum, expected,
        "the pipe delivered other bytes than were sent"
    );
    assert_eq!(
        duplex.checksum, expected,
        "duplex delivered other bytes than were sent"
    );
    println!("checksums match: every byte arrived intact through both");
    println!(
        "pipe / duplex throughput: {:.1}x",
        pipe.mib_per_s() / duplex.mib_per_s()
    );
    Ok(())
}
