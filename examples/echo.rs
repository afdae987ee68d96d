//! A TCP echo server on 127.0.0.1 and its client, both moving bytes with `AsyncStream`:
//! the server receives with `read_from` (the bytes land in segments, no copy) and sends the
//! same segments back with `write_to`; the client queues many small line frames in an
//! `AsyncStream` and flushes them with `write_to` (one `writev` for many frames), then checks
//! every echoed line.
//!
//! ```sh
//! cargo run --example echo                        # server and client in one process, then exit
//! cargo run --example echo -- --server [ADDR]     # serve until killed (default 127.0.0.1:7878)
//! cargo run --example echo -- --client ADDR [N]   # send N frames (default 100000) to a server
//! ```

use std::env;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use streamview::AsyncStream;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

const DEFAULT_ADDR: &str = "127.0.0.1:7878";
const DEFAULT_FRAMES: usize = 100_000;
/// Frames queued before each `write_to`.
const FRAMES_PER_FLUSH: usize = 256;

#[tokio::main]
async fn main() -> io::Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            println!("echo server listening on {addr}");
            let server = tokio::spawn(async move {
                let (socket, peer) = listener.accept().await?;
                let echoed = echo(socket).await?;
                println!("server: echoed {echoed} bytes to {peer}");
                io::Result::Ok(())
            });
            run_client(addr, DEFAULT_FRAMES).await?;
            server.await.expect("server task")
        }
        Some("--server") => {
            let addr = args.get(1).map_or(DEFAULT_ADDR, String::as_str);
            let listener = TcpListener::bind(addr).await?;
            println!("echo server listening on {}", listener.local_addr()?);
            serve(listener).await
        }
        Some("--client") => {
            let addr: SocketAddr = args
                .get(1)
                .map_or(DEFAULT_ADDR, String::as_str)
                .parse()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let frames = match args.get(2) {
                Some(n) => n
                    .parse()
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?,
                None => DEFAULT_FRAMES,
            };
            run_client(addr, frames).await
        }
        Some(other) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown argument {other:?}: use --server [ADDR] or --client ADDR [N]"),
        )),
    }
}

/// Accepts connections forever, echoing each on its own task.
async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let (socket, peer) = listener.accept().await?;
        tokio::spawn(async move {
            match echo(socket).await {
                Ok(bytes) => println!("server: echoed {bytes} bytes to {peer}"),
                Err(error) => eprintln!("server: connection {peer} failed: {error}"),
            }
        });
    }
}

/// Reads into an `AsyncStream` and writes the same segments back until the peer is done.
async fn echo(mut socket: TcpStream) -> io::Result<usize> {
    let mut buffered = AsyncStream::new();
    let mut echoed = 0;
    while buffered.read_from(&mut socket, 256 * 1024).await? > 0 {
        echoed += buffered.write_to(&mut socket).await?;
    }
    socket.shutdown().await?;
    Ok(echoed)
}

/// The line the client sends as frame `i`: short and of varying length, like protocol messages.
fn frame(i: usize) -> Bytes {
    Bytes::from(format!("frame {i} {}\n", "x".repeat(i % 50)))
}

/// Sends `frames` line frames through `write_to` while a second task reads the echo back with
/// `read_from` and checks every line.
async fn run_client(addr: SocketAddr, frames: usize) -> io::Result<()> {
    let started = Instant::now();
    let (mut from_server, mut to_server) = TcpStream::connect(addr).await?.into_split();

    let sender = tokio::spawn(async move {
        let mut queued = AsyncStream::new();
        let (mut sent, mut flushes) = (0, 0);
        for i in 0..frames {
            queued.write_segment(frame(i));
            if queued.num_segments() == FRAMES_PER_FLUSH || i + 1 == frames {
                sent += queued.write_to(&mut to_server).await?;
                flushes += 1;
            }
        }
        to_server.shutdown().await?;
        io::Result::Ok((sent, flushes))
    });

    let mut received = AsyncStream::new();
    let (mut lines, mut bytes) = (0, 0);
    loop {
        let n = received.read_from(&mut from_server, 256 * 1024).await?;
        bytes += n;
        while let Some(line) = received.read_line() {
            if line != frame(lines) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "echoed line {lines} is {line:?}, expected {:?}",
                        frame(lines)
                    ),
                ));
            }
            lines += 1;
        }
        if n == 0 {
            break;
        }
    }
    let (sent, flushes) = sender.await.expect("sender task")?;
    let elapsed = started.elapsed();

    println!("client: sent {frames} frames ({sent} bytes) with {flushes} write_to calls");
    println!("client: received {bytes} bytes back, {lines} lines, every one as sent");
    println!(
        "client: round trip took {:.1} ms ({:.1} MiB/s each way)",
        elapsed.as_secs_f64() * 1e3,
        sent as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64()
    );
    if lines != frames || bytes != sent {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("sent {frames} frames ({sent} bytes), got {lines} back ({bytes} bytes)"),
        ));
    }
    Ok(())
}
