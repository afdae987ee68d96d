//! tokio-util codec integration (feature `codec`): [`AsyncStream::encode`] runs an `Encoder`
//! straight into the write tail, and [`FrameWriter`] is a vectored, zero-copy `Sink` of frames
//! built on it and on the socket flush.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_sink::Sink;
use tokio::io::AsyncWrite;
use tokio_util::codec::Encoder;

use crate::error::closed_error;
use crate::stream::{AsyncStream, TAIL_BLOCK};

impl AsyncStream {
    /// Encodes `item` with `encoder` directly into the stream's write tail: no intermediate
    /// buffer, and consecutive small frames share one block (and one segment).
    ///
    /// The encoder writes into the spare room of the tail's current block; when it needs more
    /// than that room it allocates a block of its own, which becomes the new tail (still no
    /// copy). Bytes already in the stream are never handed to the encoder, so whatever it does
    /// it cannot change them.
    ///
    /// # Errors
    ///
    /// The encoder's error, or a [`io::ErrorKind::BrokenPipe`] error converted into it when
    /// the stream is closed. On error the stream is unchanged (content, segments, the write tail
    /// and its spare room): bytes the encoder wrote before failing are discarded, so a
    /// half-encoded frame never reaches a reader.
    ///
    /// # Panics
    ///
    /// When the encoder panics; the stream is then left unchanged too.
    ///
    /// # Examples
    ///
    /// ```
    /// use tokio_util::codec::LinesCodec;
    ///
    /// let mut stream = streamview::AsyncStream::new();
    /// let mut codec = LinesCodec::new();
    /// stream.encode(&mut codec, "hello").unwrap();
    /// stream.encode(&mut codec, "world").unwrap();
    /// assert_eq!(stream.num_segments(), 1); // both frames in one block
    /// assert_eq!(stream, b"hello\nworld\n");
    /// ```
    pub fn encode<I, E>(&mut self, encoder: &mut E, item: I) -> Result<(), E::Error>
    where
        E: Encoder<I>,
    {
        if self.is_closed() {
            return Err(closed_error().into());
        }
        // The encoder gets only the spare room, as its own `BytesMut` over the same block, so
        // the held bytes stay out of its reach and a failed (or panicking) encode is undone.
        self.write_with_spare(1, TAIL_BLOCK, |frame| encoder.encode(item, frame))
    }
}

/// A `Sink` of frames that encodes each item straight into an [`AsyncStream`] and flushes it to
/// `W` with vectored writes: the zero-copy alternative to tokio-util's `FramedWrite`.
///
/// Items given to the sink are encoded into the buffer's write tail (small frames share one
/// block); [`write_payload`](Self::write_payload) appends a body as its own segment without
/// copying it, so a header from the encoder followed by a large payload goes out in one
/// `writev` with the payload read from its own buffer. The buffer is written to `W` with the
/// machinery of [`AsyncStream::write_to`] once it holds more than the threshold (64 KiB by
/// default; `poll_ready` waits for that) and on `poll_flush`; `poll_close` flushes, then shuts
/// `W` down.
///
/// The `Sink` needs `W: Unpin` and `E: Unpin` (box-pin a writer that is not).
///
/// # Errors
///
/// The sink's error is the encoder's; errors of `W` are converted into it. After a write error
/// the bytes not written stay buffered, so a later flush resumes exactly where the failed one
/// stopped.
///
/// # Cancellation safety
///
/// Every byte lives in the `FrameWriter` itself, never in a future: dropping a `send` or
/// `flush` future part-way loses nothing and duplicates nothing. An item accepted by
/// `start_send` stays buffered and goes out with the next flush.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use futures::SinkExt;
/// use streamview::FrameWriter;
/// use tokio_util::codec::LengthDelimitedCodec;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mut frames = FrameWriter::new(Vec::new(), LengthDelimitedCodec::new());
/// frames.send(Bytes::from_static(b"hi")).await?;
/// assert_eq!(frames.get_ref(), b"\x00\x00\x00\x02hi");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct FrameWriter<W, E> {
    writer: W,
    encoder: E,
    buffer: AsyncStream,
    threshold: usize,
}

impl<W, E> FrameWriter<W, E> {
    /// The default buffer threshold: 64 KiB.
    const DEFAULT_THRESHOLD: usize = 64 * 1024;

    /// Creates a frame writer over `writer` that encodes items with `encoder` and writes once
    /// more than 64 KiB are buffered (and on flush).
    ///
    /// # Examples
    ///
    /// ```
    /// use tokio_util::codec::LinesCodec;
    ///
    /// let frames = streamview::FrameWriter::new(tokio::io::sink(), LinesCodec::new());
    /// assert_eq!(frames.buffered_len(), 0);
    /// ```
    pub fn new(writer: W, encoder: E) -> FrameWriter<W, E> {
        FrameWriter::with_threshold(writer, encoder, Self::DEFAULT_THRESHOLD)
    }

    /// Creates a frame writer that writes to `writer` once more than `threshold` bytes are
    /// buffered (and on flush). A threshold of 0 writes on every `poll_ready` that finds bytes
    /// buffered, which still batches everything fed between two `poll_ready` calls.
    ///
    /// # Examples
    ///
    /// ```
    /// use tokio_util::codec::LinesCodec;
    ///
    /// let frames = streamview::FrameWriter::with_threshold(Vec::<u8>::new(), LinesCodec::new(), 1024);
    /// assert_eq!(frames.threshold(), 1024);
    /// ```
    pub fn with_threshold(writer: W, encoder: E, threshold: usize) -> FrameWriter<W, E> {
        FrameWriter {
            writer,
            encoder,
            buffer: AsyncStream::new(),
            threshold,
        }
    }

    /// Appends `payload` to the buffer as its own segment, without copying it, and returns its
    /// length: typically a frame body after the header the encoder produced for it. It is
    /// written, in order, by the next flush.
    ///
    /// Payloads shorter than [`AsyncStream::COALESCE_THRESHOLD`] are merged with their
    /// neighbours at flush time (one copy of few bytes beats an iovec of their own); longer
    /// ones are written from their own buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures::SinkExt;
    /// use tokio_util::codec::LinesCodec;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), tokio_util::codec::LinesCodecError> {
    /// let mut frames = streamview::FrameWriter::new(Vec::<u8>::new(), LinesCodec::new());
    /// frames.feed("header").await?;
    /// frames.write_payload(Bytes::from_static(b"raw body"));
    /// frames.flush_buffer().await?;
    /// assert_eq!(frames.get_ref(), b"header\nraw body");
    /// # Ok(())
    /// # }
    /// ```
    pub fn write_payload(&mut self, payload: Bytes) -> usize {
        self.buffer.write_segment(payload)
    }

    /// Returns how many bytes are buffered, not yet written to the writer.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use tokio_util::codec::LinesCodec;
    ///
    /// let mut frames = streamview::FrameWriter::new(Vec::<u8>::new(), LinesCodec::new());
    /// frames.write_payload(Bytes::from_static(b"abc"));
    /// assert_eq!(frames.buffered_len(), 3);
    /// ```
    pub fn buffered_len(&self) -> usize {
        self.buffer.len()
    }

    /// Returns the threshold past which buffered bytes are written.
    ///
    /// # Examples
    ///
    /// ```
    /// use tokio_util::codec::LinesCodec;
    ///
    /// let frames = streamview::FrameWriter::new(Vec::<u8>::new(), LinesCodec::new());
    /// assert_eq!(frames.threshold(), 64 * 1024);
    /// ```
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// Returns a shared reference to the writer.
    ///
    /// # Examples
    ///
    /// ```
    /// use tokio_util::codec::LinesCodec;
    ///
    /// let frames = streamview::FrameWriter::new(Vec::<u8>::new(), LinesCodec::new());
    /// assert!(frames.get_ref().is_empty());
    /// ```
    pub fn get_ref(&self) -> &W {
        &self.writer
    }

    /// Returns a mutable reference to the writer. Writing to it directly bypasses the buffer,
    /// so bytes still buffered would then follow what is written.
    ///
    /// # Examples
    ///
    /// ```
    /// use tokio_util::codec::LinesCodec;
    ///
    /// let mut frames = streamview::FrameWriter::new(Vec::<u8>::new(), LinesCodec::new());
    /// frames.get_mut().extend_from_slice(b"preamble\n");
    /// assert_eq!(frames.get_ref(), b"preamble\n");
    /// ```
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.writer
    }

    /// Returns a mutable reference to the encoder, for encoders with settings that change
    /// between frames.
    ///
    /// # Examples
    ///
    /// ```
    /// use tokio_util::codec::LengthDelimitedCodec;
    ///
    /// let mut frames = streamview::FrameWriter::new(Vec::<u8>::new(), LengthDelimitedCodec::new());
    /// frames.encoder_mut().set_max_frame_length(1024);
    /// assert_eq!(frames.encoder_mut().max_frame_length(), 1024);
    /// ```
    pub fn encoder_mut(&mut self) -> &mut E {
        &mut self.encoder
    }
}

impl<W, E> FrameWriter<W, E>
where
    W: AsyncWrite + Unpin,
{
    /// Writes buffered bytes until at most `keep` remain (or `W` is pending).
    fn poll_write_until(&mut self, cx: &mut Context<'_>, keep: usize) -> Poll<io::Result<()>> {
        while self.buffer.len() > keep {
            ready!(self.buffer.poll_write_step(cx, Pin::new(&mut self.writer)))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Writes every buffered byte to the writer and flushes it: `SinkExt::flush` without having
    /// to name the item type (an encoder such as `LinesCodec` accepts several).
    ///
    /// # Errors
    ///
    /// Any error of the writer; unwritten bytes stay buffered.
    ///
    /// # Cancellation safety
    ///
    /// Cancel safe: see the type's documentation.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    /// use tokio_util::codec::LinesCodec;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mut frames = streamview::FrameWriter::new(Vec::<u8>::new(), LinesCodec::new());
    /// frames.write_payload(Bytes::from_static(b"body"));
    /// frames.flush_buffer().await?;
    /// assert_eq!(frames.get_ref(), b"body");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn flush_buffer(&mut self) -> io::Result<()> {
        poll_fn(|cx| {
            ready!(self.poll_write_until(cx, 0))?;
            Pin::new(&mut self.writer).poll_flush(cx)
        })
        .await
    }
}

/// Encodes items into the buffer; see [`FrameWriter`].
///
/// # Examples
///
/// ```
/// use futures::SinkExt;
/// use tokio_util::codec::LinesCodec;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), tokio_util::codec::LinesCodecError> {
/// let (client, mut server) = tokio::io::duplex(1024);
/// let mut frames = streamview::FrameWriter::new(client, LinesCodec::new());
/// frames.send("one").await?;
/// SinkExt::<&str>::close(&mut frames).await?; // flushes, then shuts the writer down
/// let mut text = String::new();
/// tokio::io::AsyncReadExt::read_to_string(&mut server, &mut text).await?;
/// assert_eq!(text, "one\n");
/// # Ok(())
/// # }
/// ```
impl<I, W, E> Sink<I> for FrameWriter<W, E>
where
    W: AsyncWrite + Unpin,
    E: Encoder<I> + Unpin,
{
    type Error = E::Error;

    /// Ready once at most the threshold is buffered, writing down to it first.
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), E::Error>> {
        let this = self.get_mut();
        let threshold = this.threshold;
        Poll::Ready(Ok(ready!(this.poll_write_until(cx, threshold))?))
    }

    fn start_send(self: Pin<&mut Self>, item: I) -> Result<(), E::Error> {
        let this = self.get_mut();
        this.buffer.encode(&mut this.encoder, item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), E::Error>> {
        let this = self.get_mut();
        ready!(this.poll_write_until(cx, 0))?;
        Poll::Ready(Ok(ready!(Pin::new(&mut this.writer).poll_flush(cx))?))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), E::Error>> {
        let this = self.get_mut();
        ready!(this.poll_write_until(cx, 0))?;
        ready!(Pin::new(&mut this.writer).poll_flush(cx))?;
        Poll::Ready(Ok(ready!(Pin::new(&mut this.writer).poll_shutdown(cx))?))
    }
}
