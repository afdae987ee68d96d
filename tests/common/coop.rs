//! The cooperative-budget tests' probe (`tests/pipe.rs`, `tests/duplex.rs`,
//! `tests/broadcast.rs`): did another task run while a busy one worked? Each test includes this
//! file with `#[path]`.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Spawns `work` (within Tokio's budget when `constrained`, else `unconstrained`), then a task
/// that only sets a flag; returns `work`'s output and whether the flag task ran before `work`
/// finished. On a current-thread runtime it can run only if `work` yields.
pub async fn flag_task_ran_during<F>(work: F, constrained: bool) -> (F::Output, bool)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let other_ran = Arc::new(AtomicBool::new(false));
    let seen = other_ran.clone();
    let work = async move {
        let output = work.await;
        (output, seen.load(Ordering::SeqCst))
    };
    let working = if constrained {
        tokio::spawn(work)
    } else {
        tokio::spawn(tokio::task::coop::unconstrained(work))
    };
    tokio::spawn(async move { other_ran.store(true, Ordering::SeqCst) });
    working.await.unwrap()
}

/// Defines the test `a_loop_of_zero_length_calls_yields_to_other_tasks` for a transport whose
/// `$pair` expression makes `(writer, reader)` (for `duplex`, the two ends: one writes, the
/// other reads). Zero-length calls complete at once, yet take part in Tokio's cooperative budget
/// as every other poll does (as `tokio::io::duplex`'s do): a task looping on them still yields.
/// They used to return before the budget was consulted, so such a loop never yielded.
macro_rules! zero_length_calls_yield {
    ($pair:expr) => {
        /// The zero-length calls: each does nothing and completes at once.
        #[derive(Clone, Copy, Debug)]
        enum ZeroLength {
            TokioRead,
            ReadChunk,
            TokioWrite,
            WriteSegment,
            #[cfg(feature = "futures-io")]
            FuturesRead,
            #[cfg(feature = "futures-io")]
            FuturesWrite,
        }

        const ZERO_LENGTH_CALLS: &[ZeroLength] = &[
            ZeroLength::TokioRead,
            ZeroLength::ReadChunk,
            ZeroLength::TokioWrite,
            ZeroLength::WriteSegment,
            #[cfg(feature = "futures-io")]
            ZeroLength::FuturesRead,
            #[cfg(feature = "futures-io")]
            ZeroLength::FuturesWrite,
        ];

        /// 10,000 zero-length calls (more than the 8,192 operations Tokio's 128-unit budget
        /// covers at 64 per unit) in one task; whether another task ran meanwhile.
        async fn other_task_ran_during_zero_length_calls(
            call: ZeroLength,
            constrained: bool,
        ) -> bool {
            let (mut writer, mut reader) = $pair;
            let calls = async move {
                for _ in 0..10_000 {
                    match call {
                        ZeroLength::TokioRead => assert_eq!(
                            tokio::io::AsyncReadExt::read(&mut reader, &mut [])
                                .await
                                .unwrap(),
                            0
                        ),
                        ZeroLength::ReadChunk => {
                            assert!(reader.read_chunk(0).await.unwrap().unwrap().is_empty())
                        }
                        ZeroLength::TokioWrite => assert_eq!(
                            tokio::io::AsyncWriteExt::write(&mut writer, &[])
                                .await
                                .unwrap(),
                            0
                        ),
                        ZeroLength::WriteSegment => {
                            assert_eq!(writer.write_segment(bytes::Bytes::new()).await.unwrap(), 0)
                        }
                        #[cfg(feature = "futures-io")]
                        ZeroLength::FuturesRead => assert_eq!(
                            futures::io::AsyncReadExt::read(&mut reader, &mut [])
                                .await
                                .unwrap(),
                            0
                        ),
                        #[cfg(feature = "futures-io")]
                        ZeroLength::FuturesWrite => assert_eq!(
                            futures::io::AsyncWriteExt::write(&mut writer, &[])
                                .await
                                .unwrap(),
                            0
                        ),
                    }
                }
                (writer, reader)
            };
            crate::coop::flag_task_ran_during(calls, constrained)
                .await
                .1
        }

        #[tokio::test(flavor = "current_thread")]
        async fn a_loop_of_zero_length_calls_yields_to_other_tasks() {
            for &call in ZERO_LENGTH_CALLS {
                assert!(
                    !other_task_ran_during_zero_length_calls(call, false).await,
                    "control, {call:?}: no budget, no yield"
                );
                assert!(
                    other_task_ran_during_zero_length_calls(call, true).await,
                    "{call:?}: the loop never yielded"
                );
            }
        }
    };
}

pub(crate) use zero_length_calls_yield;
