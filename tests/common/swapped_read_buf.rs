//! A broken `AsyncRead` for the `read_from` panic tests (`tests/socket.rs`,
//! `tests/pipe_socket.rs`), and the text of a caught panic. Each test includes this file with
//! `#[path]`.

use std::any::Any;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};

/// Swaps the `ReadBuf` it is lent for a 10-byte buffer of its own and reports 5 bytes read
/// there. The buffer is leaked on purpose (a `ReadBuf`'s buffer must outlive the call); its
/// address is kept in a static so the leak checkers see it as reachable.
pub struct SwapsReadBuf;

static SWAPPED_IN: AtomicUsize = AtomicUsize::new(0);

impl AsyncRead for SwapsReadBuf {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let other: &'static mut [u8] = Box::leak(vec![1u8; 10].into_boxed_slice());
        SWAPPED_IN.store(other.as_ptr() as usize, Ordering::Relaxed);
        *buf = ReadBuf::new(other);
        buf.advance(5);
        Poll::Ready(Ok(()))
    }
}

/// The message of a caught panic (`String` or `&str` payloads).
pub fn panic_text(payload: Box<dyn Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .expect("a panic message")
}
