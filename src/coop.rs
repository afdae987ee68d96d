//! Tokio's cooperative budget, spent one unit per few operations by the cross-task types.

use std::io;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::ReadBuf;
use tokio::task::coop::{self, RestoreOnPending};

use crate::stream::{put_in_pieces, AsyncStream};

/// How many reads or writes share one unit of Tokio's cooperative budget.
///
/// Spending a unit on every read made a reader of 64-byte frames yield every 128 frames, and on a
/// multi-thread runtime each yield moved work between workers: 35 ms per 16 MiB against 11 ms
/// for `tokio::io::duplex`, whose reader spends one unit per 64 KiB read. The same holds for a
/// writer of small frames: one unit per write made it yield every 128 writes (8 KiB of 64-byte
/// writes), and each yield handed the worker to the reader for a small read.
///
/// One unit per 8 still left the zero-copy path of 64-byte segments in a slow mode on two workers
/// in most runs (29 ms per 16 MiB through `pipe(256 KiB)` against 9.4 ms): a writer needs 4,096
/// writes, 512 units at 8, to fill that pipe, so it ran out of budget first and yielded; a yield
/// lets the idle worker steal a task, and then the writer and the reader ran at once on two
/// workers, each write followed by a fetch of one or two segments, the lock passing between the
/// two cores on every frame, and neither side ever filling or emptying the pipe to park and be
/// woken back onto one worker. Counted per iteration, the two tasks were on the same worker for
/// 95 % of the reads in fast iterations and 13 to 40 % in slow ones. With 64 per unit a writer
/// fills that pipe on half its budget and parks, and the slow mode did not show in 20 iterations
/// of a harness (8 per unit: 20 of 20 slow). A task's uninterrupted run stays bounded: at most
/// 8,192 of these operations, each a lock or less (no copy is counted here but within a fetched
/// batch, which the capacity bounds; byte-path writes have their own rule below).
pub(crate) const OPS_PER_BUDGET_UNIT: u32 = 64;

/// How many byte-path writes (`AsyncWrite`, which copy) share one unit, unless they copied
/// [`COPIED_PER_BUDGET_UNIT`] first.
///
/// With 8, a writer of 64-byte frames into `pipe(64 KiB)` spent its task's whole budget (128
/// units, 1,024 writes) filling the pipe once, so it often ran out just as the pipe filled and
/// yielded instead of parking; on a multi-thread runtime each such yield put a task in the run
/// queue and woke the idle worker to steal it. With 32 it fills the pipe on a quarter of the
/// budget and parks. Criterion's `pipe_bytes/64` over `duplex_64k/64`, 4 alternating runs:
/// 0.89–1.15 with 8, 0.84–0.97 with 32.
pub(crate) const WRITES_PER_BUDGET_UNIT: u32 = 32;

/// Bytes copied that spend a unit whatever the count of writes: a writer of 64 KiB writes spends
/// one per write, as every write to `tokio::io::duplex` does, rather than one per 2 MiB.
pub(crate) const COPIED_PER_BUDGET_UNIT: usize = 64 * 1024;

/// One side's share of the budget: counts the operations (and for a byte-path writer the bytes)
/// since it last spent a unit.
#[derive(Debug, Default)]
pub(crate) struct BudgetBatch {
    since_spent: u32,
    copied_since_spent: usize,
}

/// What an operation holds while it proceeds: nothing when it rides on a unit spent earlier, or
/// the unit it spent, which goes back to the task unless [`made_progress`](Self::made_progress).
pub(crate) struct Proceed(Option<RestoreOnPending>);

impl Proceed {
    /// The operation made progress: the unit it spent (if any) stays spent.
    #[inline(always)]
    pub(crate) fn made_progress(self) {
        if let Some(unit) = self.0 {
            unit.made_progress();
        }
    }
}

impl BudgetBatch {
    /// Whether the next operation may ride on the unit spent last: fewer than
    /// [`OPS_PER_BUDGET_UNIT`] operations since, and the task still has budget (a task without
    /// any yields at its next operation, as with every Tokio resource).
    #[inline(always)]
    pub(crate) fn ride(&mut self) -> bool {
        self.ride_up_to(OPS_PER_BUDGET_UNIT)
    }

    /// [`ride`](Self::ride) with `ops` operations per unit.
    #[inline(always)]
    fn ride_up_to(&mut self, ops: u32) -> bool {
        if self.since_spent < ops && coop::has_budget_remaining() {
            self.since_spent += 1;
            true
        } else {
            false
        }
    }

    /// Spends a unit of the task's budget; `Pending` (the task woken to run again) when it has
    /// none left.
    #[inline]
    pub(crate) fn poll_spend(&mut self, cx: &mut Context<'_>) -> Poll<Proceed> {
        let unit = ready!(coop::poll_proceed(cx));
        self.since_spent = 0;
        self.copied_since_spent = 0;
        Poll::Ready(Proceed(Some(unit)))
    }

    /// Ready when the task has budget left (so a following [`spend`](Self::spend) succeeds),
    /// else `Pending` with the task woken to run again, as [`poll_spend`](Self::poll_spend).
    /// For a poll that may park: it checks first, and spends only once it made progress.
    #[inline]
    pub(crate) fn poll_has_budget(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if coop::has_budget_remaining() {
            Poll::Ready(())
        } else {
            self.poll_spend(cx).map(|_| ())
        }
    }

    /// Spends a unit for progress already made, after [`poll_has_budget`](Self::poll_has_budget)
    /// found budget left on this task.
    #[inline]
    pub(crate) fn spend(&mut self, cx: &mut Context<'_>) {
        if let Poll::Ready(unit) = self.poll_spend(cx) {
            unit.made_progress();
        }
    }

    /// A byte-path write's [`poll_proceed`](Self::poll_proceed): one unit per
    /// [`WRITES_PER_BUDGET_UNIT`] writes or per [`COPIED_PER_BUDGET_UNIT`] bytes
    /// [`copied`](Self::copied), whichever comes first.
    #[inline(always)]
    pub(crate) fn poll_proceed_copy(&mut self, cx: &mut Context<'_>) -> Poll<Proceed> {
        if self.copied_since_spent < COPIED_PER_BUDGET_UNIT
            && self.ride_up_to(WRITES_PER_BUDGET_UNIT)
        {
            Poll::Ready(Proceed(None))
        } else {
            self.poll_spend(cx)
        }
    }

    /// A byte-path write copied `bytes`: counts them toward [`COPIED_PER_BUDGET_UNIT`].
    #[inline(always)]
    pub(crate) fn copied(&mut self, bytes: usize) {
        self.copied_since_spent = self.copied_since_spent.saturating_add(bytes);
    }

    /// A zero-length read or write: it does nothing and completes at once, but takes part in
    /// the budget as an operation of its own, riding on a unit or spending one (as each of
    /// `tokio::io::duplex`'s zero-length polls spends one), so a loop of them still yields;
    /// `Pending` (the task woken at once) when the task has no budget left.
    #[inline]
    pub(crate) fn poll_nothing(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_proceed(cx).map(Proceed::made_progress)
    }

    /// Rides on the unit spent last when it may, else spends one.
    #[inline(always)]
    pub(crate) fn poll_proceed(&mut self, cx: &mut Context<'_>) -> Poll<Proceed> {
        if self.ride() {
            Poll::Ready(Proceed(None))
        } else {
            self.poll_spend(cx)
        }
    }
}

/// A reader that serves reads from a local batch of segments and fetches more from shared
/// state when the batch runs dry: the pipe's and the broadcast's readers. Holds their one poll
/// loop, with the budget rule above, and the read operations both build on it (their trait
/// impls and read methods are one-line calls of these).
pub(crate) trait BatchedReader {
    /// The reader's share of the budget.
    fn budget(&mut self) -> &mut BudgetBatch;

    /// The segments fetched and not yet read.
    fn local(&mut self) -> &mut AsyncStream;

    /// Tells the writer what the last read consumed (room, exact lengths, wake-ups).
    fn report_consumed(&mut self);

    /// Moves what the writer queued into the local batch (`Ready`), or parks the task's waker
    /// (`Pending`) when nothing is queued and the writer has not closed.
    fn poll_fetch(&mut self, cx: &mut Context<'_>) -> Poll<()>;

    /// Every read's poll: within the cooperative budget, applies `take` to the local batch,
    /// fetching more while it finds nothing; `Ready(None)` at end of file.
    ///
    /// Reads served from the batch already fetched ride on one budget unit per
    /// [`OPS_PER_BUDGET_UNIT`]; a read that had to fetch spends a unit of its own once it
    /// returns bytes or end of file (one that parks spends nothing). Every read checks the
    /// budget first, so a task with none left yields here at once.
    #[inline]
    fn poll_take<T>(
        &mut self,
        cx: &mut Context<'_>,
        mut take: impl FnMut(&mut AsyncStream) -> Option<T>,
    ) -> Poll<Option<T>> {
        if !self.local().is_empty() && self.budget().ride() {
            if let Some(taken) = take(self.local()) {
                self.report_consumed();
                return Poll::Ready(Some(taken));
            }
        }
        // The unit is spent once the read succeeds: a poll that parks spends nothing.
        ready!(self.budget().poll_has_budget(cx));
        loop {
            if let Some(taken) = take(self.local()) {
                self.budget().spend(cx);
                self.report_consumed();
                return Poll::Ready(Some(taken));
            }
            if self.local().is_closed() {
                self.budget().spend(cx);
                return Poll::Ready(None);
            }
            ready!(self.poll_fetch(cx));
        }
    }

    /// `read_bytes(n)` (`n > 0`): waits until `n` bytes are held or the writer closed; fewer
    /// only at end of file (an empty `Bytes` once drained).
    fn poll_read_bytes(&mut self, cx: &mut Context<'_>, n: usize) -> Poll<Bytes> {
        let taken = ready!(self.poll_take(cx, |local| {
            (local.len() >= n || local.is_closed()).then(|| local.read_bytes(n))
        }));
        Poll::Ready(taken.unwrap_or_default())
    }

    /// Ready once the local batch holds bytes or the reader is at end of file; returns it.
    fn poll_local_stream(&mut self, cx: &mut Context<'_>) -> Poll<&mut AsyncStream> {
        ready!(self.poll_take(cx, |local| (!local.is_empty()).then_some(())));
        Poll::Ready(self.local())
    }

    /// `poll_fill_buf` of both `AsyncBufRead` traits: the front segment of the local batch
    /// (empty at end of file), borrowed with no lock held.
    fn poll_fill_local(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let local: &AsyncStream = ready!(self.poll_local_stream(cx));
        Poll::Ready(Ok(local.chunk()))
    }

    /// `consume` of both `AsyncBufRead` traits: drops `amt` bytes of the front segment, the
    /// slice `poll_fill_buf` lent, clamped to its length as Tokio's `BufReader` clamps to its
    /// buffer. Not to the whole local batch: how many segments a fetch moved depends on timing,
    /// so an `amt` past the lent slice would drop bytes the caller never saw, more or fewer from
    /// run to run.
    fn consume_local(&mut self, amt: usize) {
        let local = self.local();
        let amt = amt.min(local.chunk().len());
        local.skip(amt);
        self.report_consumed();
    }

    /// Tokio `AsyncRead::poll_read`: fills `buf` from the local batch, across segments.
    fn poll_read_buf(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if buf.remaining() == 0 {
            ready!(self.budget().poll_nothing(cx));
            return Poll::Ready(Ok(()));
        }
        ready!(self.poll_take(cx, |local| {
            (!local.is_empty())
                .then(|| local.read_to(buf.remaining(), |chunk| put_in_pieces(buf, chunk)))
        }));
        Poll::Ready(Ok(()))
    }

    /// futures-io `AsyncRead::poll_read`: fills `buf` from the local batch, across segments.
    #[cfg(feature = "futures-io")]
    fn poll_read_slice(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            ready!(self.budget().poll_nothing(cx));
            return Poll::Ready(Ok(0));
        }
        let read = ready!(self.poll_take(cx, |local| {
            (!local.is_empty()).then(|| local.read_into(buf))
        }));
        Poll::Ready(read.unwrap_or(Ok(0)))
    }

    /// `Stream::poll_next`: the next segment whole; `None` at end of file.
    fn poll_next_segment(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        let segment = ready!(self.poll_take(cx, AsyncStream::read_segment));
        Poll::Ready(segment.map(Ok))
    }
}
