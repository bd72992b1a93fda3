//! `/api/...`: each operation's typed report as `--json` prints it, in `ops::Envelope`.

use super::jobs::JobReporter;
use super::{Shared, blocking};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// An error as JSON: `{"format_version": "1", "error": "...", "code": "..."}`.
pub struct ApiError(StatusCode, miette::Report);

impl From<miette::Report> for ApiError {
    fn from(e: miette::Report) -> Self {
        ApiError(StatusCode::UNPROCESSABLE_ENTITY, e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.1.code().map(|c| c.to_string());
        let help = self.1.help().map(|h| h.to_string());
        let body = serde_json::json!({
            "format_version": crate::ops::FORMAT_VERSION,
            "error": self.1.to_string(),
            "code": code,
            "help": help,
        });
        (self.0, Json(body)).into_response()
    }
}

pub fn envelope<T: Serialize>(report: &T) -> Response {
    Json(serde_json::to_value(crate::ops::Envelope::new(report)).unwrap_or_default()).into_response()
}

type ApiResult = Result<Response, ApiError>;

pub async fn environments(State(s): State<Shared>) -> ApiResult {
    let ws = s.ws.clone();
    let report = blocking(move || crate::ops::environments(&ws)).await?;
    Ok(envelope(&report))
}

pub async fn log(State(s): State<Shared>, Path(name): Path<String>) -> ApiResult {
    let ws = s.ws.clone();
    let report = blocking(move || crate::ops::generations::log(&ws.env(&name)?)).await?;
    Ok(envelope(&report))
}

pub async fn plan(State(s): State<Shared>, Path(name): Path<String>) -> ApiResult {
    let ws = s.ws.clone();
    let json = blocking(move || {
        let env = ws.env(&name)?;
        let mut session = crate::reconcile::Session::reader(&ws, env, &crate::progress::Silent);
        Ok(crate::ops::apply::plan(&mut session)?.json())
    })
    .await?;
    Ok(Json(json).into_response())
}

pub async fn workflows(State(s): State<Shared>, Path(name): Path<String>) -> ApiResult {
    let ws = s.ws.clone();
    let report = blocking(move || crate::ops::workflows::status(&ws.env(&name)?)).await?;
    Ok(envelope(&report))
}

#[derive(Deserialize)]
pub struct ModelQuery {
    #[serde(default)]
    q: String,
}

pub async fn models(State(s): State<Shared>, Query(query): Query<ModelQuery>) -> ApiResult {
    let ws = s.ws.clone();
    let report = blocking(move || crate::ops::models::find(&ws, &query.q)).await?;
    Ok(envelope(&report))
}

#[derive(Deserialize, Default)]
pub struct RollbackQuery {
    generation: Option<u64>,
}

/// `POST /api/envs/NAME/rollback[?generation=N]`: the caller confirmed by asking.
pub async fn rollback(
    State(s): State<Shared>,
    Path(name): Path<String>,
    Query(query): Query<RollbackQuery>,
) -> ApiResult {
    let report = run_rollback(&s, name, query.generation).await?;
    Ok(envelope(&report))
}

pub(super) async fn run_rollback(
    s: &Shared,
    name: String,
    generation: Option<u64>,
) -> miette::Result<crate::ops::generations::RollbackReport> {
    let ws = s.ws.clone();
    blocking(move || {
        let env = ws.env(&name)?;
        let mut session = crate::reconcile::Session::writer(&ws, env, &crate::progress::Silent, "serve rollback")?;
        crate::ops::generations::rollback(&mut session, generation, &mut |_, _| Ok(true))
    })
    .await
}

#[derive(Deserialize, Default)]
pub struct ApplyQuery {
    /// The fingerprint of the plan the user confirmed (`plan --json`'s `fingerprint`).
    fingerprint: Option<String>,
}

#[derive(Serialize)]
struct Started {
    job: u64,
    events: String,
}

/// `POST /api/envs/NAME/apply[?fingerprint=F]`: starts the apply; progress at `events`.
pub async fn apply(State(s): State<Shared>, Path(name): Path<String>, Query(query): Query<ApplyQuery>) -> ApiResult {
    let job = start_apply(&s, name, query.fingerprint);
    Ok((
        StatusCode::ACCEPTED,
        envelope(&Started {
            job,
            events: format!("/api/jobs/{job}/events"),
        }),
    )
        .into_response())
}

/// Starts an apply on its own thread and returns its job id.
pub(super) fn start_apply(s: &Shared, name: String, fingerprint: Option<String>) -> u64 {
    let (id, job) = s.jobs.start(&name);
    let ws = s.ws.clone();
    std::thread::spawn(move || {
        let reporter = JobReporter(job.clone());
        let result = (|| -> miette::Result<serde_json::Value> {
            let env = ws.env(&name)?;
            let mut session = crate::reconcile::Session::writer(&ws, env, &reporter, "serve apply")?
                .transfers(std::sync::Arc::new(JobReporter(job.clone())));
            let report = crate::ops::apply::apply(&mut session, fingerprint.as_deref(), &mut |plan| {
                for line in crate::plan::render_text(plan).lines() {
                    job.line(line);
                }
            })?;
            Ok(serde_json::to_value(crate::ops::Envelope::new(&report)).unwrap_or_default())
        })();
        job.finish(result.map_err(|e| error_text(&e)));
    });
    id
}

pub async fn job(State(s): State<Shared>, Path(id): Path<u64>) -> Response {
    match s.jobs.get(id) {
        Some(job) => Json(job.snapshot()).into_response(),
        None => (StatusCode::NOT_FOUND, "no such job\n").into_response(),
    }
}

/// The job's lines as `line` events, then one `done` event with the report (or `failed` with
/// the error).
pub async fn job_events(State(s): State<Shared>, Path(id): Path<u64>) -> Response {
    let Some(job) = s.jobs.get(id) else {
        return (StatusCode::NOT_FOUND, "no such job\n").into_response();
    };
    let stream = futures::stream::unfold((job, 0usize, false), |(job, sent, over)| async move {
        if over {
            return None;
        }
        loop {
            let state = job.snapshot();
            if state.lines.len() > sent {
                let event = Event::default().event("line").data(state.lines[sent].clone());
                return Some((Ok::<_, std::convert::Infallible>(event), (job, sent + 1, false)));
            }
            if let Some(result) = state.result {
                let event = match result {
                    Ok(report) => Event::default().event("done").data(report.to_string()),
                    Err(e) => Event::default().event("failed").data(e),
                };
                return Some((Ok(event), (job, sent, true)));
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

/// An error and its help line, as plain text.
pub(super) fn error_text(e: &miette::Report) -> String {
    match e.help() {
        Some(help) => format!("{e}\nhelp: {help}"),
        None => e.to_string(),
    }
}
