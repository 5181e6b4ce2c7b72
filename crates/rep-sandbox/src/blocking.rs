//! Runs the crate's async database work behind its synchronous public API.

use std::future::Future;

use crate::error::{Result, SandboxError};

/// Builds a future with `make` and drives it to completion on a private current-thread
/// runtime in a scoped thread.
///
/// The extra thread is what makes the blocking API safe to call from inside a caller's own
/// tokio runtime (`#[tokio::test]`), where `Runtime::block_on` on the caller's thread would
/// panic. The future is created on that thread, so it need not be `Send` (sqlx's futures
/// often are not provably so). Nothing async outlives the call.
pub(crate) fn block_on<M, F>(make: M) -> Result<F::Output>
where
    M: FnOnce() -> F + Send,
    F: Future,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("rep-sandbox-sql".into())
            .spawn_scoped(scope, move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|source| SandboxError::Runtime {
                        what: "runtime",
                        source,
                    })?;
                Ok(runtime.block_on(make()))
            })
            .map_err(|source| SandboxError::Runtime {
                what: "worker thread",
                source,
            })?;
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
