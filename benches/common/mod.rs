//! What the benches' byte-stream consumers share.

use std::hint::black_box;

use tokio::io::{AsyncRead, AsyncReadExt};

/// A byte-stream consumer: reads into a 64 KiB buffer until end of file; returns the bytes
/// received.
pub async fn read_all_64k(mut reader: impl AsyncRead + Unpin) -> usize {
    let mut buf = vec![0u8; 64 << 10];
    let mut received = 0;
    loop {
        match reader.read(&mut buf).await.unwrap() {
            0 => return received,
            n => received += black_box(&buf[..n]).len(),
        }
    }
}
