//! [`TryWriteError`]: why [`PipeWriter::try_write_segment`](crate::PipeWriter::try_write_segment)
//! refused a segment, with the segment handed back.

use std::error::Error;
use std::fmt;
use std::io;

use bytes::Bytes;

/// The error of [`PipeWriter::try_write_segment`](crate::PipeWriter::try_write_segment): the
/// segment was not queued, and is given back whole.
///
/// # Examples
///
/// ```
/// use streamview::TryWriteError;
///
/// let (mut writer, reader) = streamview::pipe(4);
/// writer.try_write_segment("full").unwrap();
/// match writer.try_write_segment("more") {
///     Err(TryWriteError::Full(segment)) => assert_eq!(segment, "more"),
///     other => panic!("expected Full, got {other:?}"),
/// }
/// drop(reader);
/// let error = writer.try_write_segment("more").unwrap_err();
/// assert!(error.is_closed());
/// assert_eq!(error.into_inner(), "more");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum TryWriteError {
    /// The pipe holds `capacity` bytes or more; the write would have to wait.
    Full(Bytes),
    /// The reader was dropped or the writer closed the pipe; no write will ever succeed.
    Closed(Bytes),
}

impl TryWriteError {
    /// Returns the refused segment, untouched.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::Bytes;
    ///
    /// let (mut writer, _reader) = streamview::pipe(1);
    /// writer.try_write_segment("x").unwrap();
    /// let frame = Bytes::from_static(b"frame");
    /// let back = writer.try_write_segment(frame.clone()).unwrap_err().into_inner();
    /// assert_eq!(back.as_ptr(), frame.as_ptr());
    /// ```
    pub fn into_inner(self) -> Bytes {
        match self {
            TryWriteError::Full(segment) | TryWriteError::Closed(segment) => segment,
        }
    }

    /// Returns `true` when the pipe was full: the same write may succeed later.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut writer, _reader) = streamview::pipe(1);
    /// writer.try_write_segment("x").unwrap();
    /// assert!(writer.try_write_segment("y").unwrap_err().is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TryWriteError::Full(_))
    }

    /// Returns `true` when the pipe is closed for writing: the reader is gone or the writer
    /// closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (mut writer, _reader) = streamview::pipe(8);
    /// writer.close();
    /// assert!(writer.try_write_segment("late").unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TryWriteError::Closed(_))
    }
}

/// Shows the variant and the segment's length, not its bytes (a segment may be megabytes).
impl fmt::Debug for TryWriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (variant, segment) = match self {
            TryWriteError::Full(segment) => ("Full", segment),
            TryWriteError::Closed(segment) => ("Closed", segment),
        };
        write!(f, "{variant}({} bytes)", segment.len())
    }
}

impl fmt::Display for TryWriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryWriteError::Full(segment) => write!(
                f,
                "pipe is full: a segment of {} bytes must wait for the reader",
                segment.len()
            ),
            TryWriteError::Closed(segment) => write!(
                f,
                "pipe is closed: a segment of {} bytes cannot be written",
                segment.len()
            ),
        }
    }
}

impl Error for TryWriteError {}

/// `Full` becomes [`io::ErrorKind::WouldBlock`], `Closed` [`io::ErrorKind::BrokenPipe`]; the
/// segment is dropped.
///
/// # Examples
///
/// ```
/// use std::io;
///
/// let (mut writer, reader) = streamview::pipe(8);
/// drop(reader);
/// let error: io::Error = writer.try_write_segment("x").unwrap_err().into();
/// assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
/// ```
impl From<TryWriteError> for io::Error {
    fn from(error: TryWriteError) -> io::Error {
        let kind = match error {
            TryWriteError::Full(_) => io::ErrorKind::WouldBlock,
            TryWriteError::Closed(_) => io::ErrorKind::BrokenPipe,
        };
        io::Error::new(kind, error.to_string())
    }
}
