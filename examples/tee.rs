//! A tee over `streamview::broadcast`: one producer writes a log in segments that cut lines at
//! arbitrary places; one reader checksums every byte while another counts lines, each at its
//! own pace, both reading the very buffers the producer wrote.
//!
//! ```sh
//! cargo run --example tee
//! ```

use std::io;

use bytes::Bytes;

/// FNV-1a, 64-bit: a checksum small enough to write here, so the example needs no other crate.
fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

#[tokio::main]
async fn main() -> io::Result<()> {
    let log: String = (0..10_000)
        .map(|i| format!("{i:05} GET /item/{} 200\n", i * 7 % 1000))
        .collect();
    let expected_checksum = fnv1a(FNV_OFFSET, log.as_bytes());
    let log = Bytes::from(log);

    let (mut writer, mut checksummer) = streamview::broadcast(16 * 1024);
    let mut line_counter = checksummer.clone();

    let checksum = tokio::spawn(async move {
        let (mut hash, mut bytes) = (FNV_OFFSET, 0);
        while let Some(segment) = checksummer.read_segment().await? {
            hash = fnv1a(hash, &segment);
            bytes += segment.len();
        }
        io::Result::Ok((hash, bytes))
    });
    let lines = tokio::spawn(async move {
        let mut lines = 0;
        while line_counter.read_line().await?.is_some() {
            lines += 1;
        }
        io::Result::Ok(lines)
    });

    // 1000-byte segments: zero-copy slices of the log, most cutting a line in two.
    for start in (0..log.len()).step_by(1000) {
        let end = (start + 1000).min(log.len());
        writer.write_segment(log.slice(start..end)).await?;
    }
    drop(writer); // end of file for both readers once they have read everything

    let (hash, bytes) = checksum.await.expect("checksum task")?;
    let lines = lines.await.expect("line task")?;
    println!("checksummer: {bytes} bytes, FNV-1a {hash:016x}");
    println!("line counter: {lines} lines");
    assert_eq!(bytes, log.len());
    assert_eq!(hash, expected_checksum);
    assert_eq!(lines, 10_000);
    Ok(())
}
