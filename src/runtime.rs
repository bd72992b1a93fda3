//! The one tokio runtime of the process, started on first use. comfydock is synchronous; the
//! few parts that are async (the web view and the registry mirror serving, the remote store's
//! object_store client) run on this runtime through `block_on`, never on runtimes of their own.
//! (reqwest's blocking client keeps its own internal thread; it is not one of ours to share.)

use std::sync::OnceLock;
use tokio::runtime::Runtime;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The process's runtime: two workers (the machines comfydock serves from are small, and the
/// work on it is I/O), every driver enabled.
pub fn runtime() -> std::io::Result<&'static Runtime> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("comfydock-async")
        .enable_all()
        .build()?;
    // Two first callers at once: one runtime wins, the other is dropped unused.
    Ok(RUNTIME.get_or_init(|| rt))
}
