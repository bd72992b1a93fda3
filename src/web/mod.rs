//! `comfydock serve`: a local web view over the operations in `ops/`, the second edge beside
//! `cli/`. No domain logic lives here: handlers call `ops` (on blocking threads) and render
//! their reports as HTML, or return them as the JSON `--json` prints.
//!
//! Only for this machine's user: bound to 127.0.0.1, a random token in the URL (kept in a
//! `SameSite=Strict` cookie after the first visit), `Host` and `Origin` checked on every request
//! (DNS rebinding, other sites' pages), and changes only through POST with the token in a header
//! or a form field (a cookie alone never changes anything). See docs/web.md.

mod api;
mod guard;
mod jobs;
mod pages;

use crate::workspace::Workspace;
use axum::Router;
use axum::routing::{get, post};
use std::sync::Arc;

/// How `serve` starts.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// None: a free port.
    pub port: Option<u16>,
}

/// What every handler shares.
pub(crate) struct AppState {
    pub ws: Workspace,
    pub token: String,
    pub port: u16,
    pub jobs: jobs::Jobs,
}

pub(crate) type Shared = Arc<AppState>;

/// A token nobody can guess: 16 bytes from the kernel, as hex.
fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// Binds 127.0.0.1, hands the URL (with the token) to `ready`, then serves until the process is
/// interrupted.
pub fn serve(ws: Workspace, options: ServeOptions, ready: impl FnOnce(&str)) -> std::io::Result<()> {
    crate::runtime::runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port.unwrap_or(0))).await?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(AppState {
            ws,
            token: new_token()?,
            port,
            jobs: jobs::Jobs::default(),
        });
        ready(&format!("http://127.0.0.1:{port}/?token={}", state.token));
        let app = router(state);
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    })
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(pages::environments))
        .route("/static/style.css", get(pages::style))
        .route("/env/{name}", get(pages::generations))
        .route("/env/{name}/rollback", post(pages::rollback))
        .route("/env/{name}/plan", get(pages::plan))
        .route("/env/{name}/apply", post(pages::apply))
        .route("/env/{name}/workflows", get(pages::workflows))
        .route("/models", get(pages::models))
        .route("/jobs/{id}", get(pages::job))
        .route("/api/envs", get(api::environments))
        .route("/api/envs/{name}/log", get(api::log))
        .route("/api/envs/{name}/plan", get(api::plan))
        .route("/api/envs/{name}/workflows", get(api::workflows))
        .route("/api/envs/{name}/rollback", post(api::rollback))
        .route("/api/envs/{name}/apply", post(api::apply))
        .route("/api/jobs/{id}", get(api::job))
        .route("/api/jobs/{id}/events", get(api::job_events))
        .route("/api/models", get(api::models))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::check))
        .with_state(state)
}

/// Runs blocking work (sessions, git, uv) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> miette::Result<T> + Send + 'static,
) -> miette::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(miette::miette!("the operation stopped: {e}")))
}
