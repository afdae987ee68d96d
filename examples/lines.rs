//! A line protocol over `streamview::pipe`: a producer task writes segments that cut lines at
//! arbitrary places, and the consumer reads whole lines with tokio-util's `FramedRead` and
//! `LinesCodec`, as it would from a socket.
//!
//! ```sh
//! cargo run --example lines
//! ```

use std::io;

use futures::StreamExt;
use tokio_util::codec::{FramedRead, LinesCodec};

const COMMANDS: [&str; 5] = [
    "SET greeting hello",
    "GET greeting",
    "INCR counter",
    "DEL greeting",
    "QUIT",
];

#[tokio::main(flavor = "current_thread")]
async fn main() -> io::Result<()> {
    let (mut writer, reader) = streamview::pipe(64);

    // Join the commands into one text and send it in 7-byte segments, so most lines are split
    // across segments and some segments hold the end of one line and the start of the next.
    let text: String = COMMANDS
        .iter()
        .map(|command| format!("{command}\n"))
        .collect();
    let producer = tokio::spawn(async move {
        let mut segments = 0;
        for piece in text.as_bytes().chunks(7) {
            writer
                .write_segment(bytes::Bytes::copy_from_slice(piece))
                .await?;
            segments += 1;
        }
        writer.close();
        io::Result::Ok(segments)
    });

    let mut lines = FramedRead::new(reader, LinesCodec::new());
    let mut received = 0;
    while let Some(line) = lines.next().await {
        let line = line.map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        received += 1;
        println!("line {received}: {line}");
    }
    let segments = producer.await.expect("producer task")?;
    println!("{received} lines received from {segments} segments of at most 7 bytes");
    assert_eq!(received, COMMANDS.len());
    Ok(())
}
