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
