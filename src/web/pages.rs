//! Server-rendered pages: the same reports as the API, as HTML. Every value shown is escaped;
//! forms that change something POST the token and ask for a confirmation first.

use super::api::{error_text, run_rollback, start_apply};
use super::guard::form_field;
use super::{Shared, blocking};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::fmt::Write;

const STYLE: &str = include_str!("style.css");

pub async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

/// `&`, `<`, `>`, `"` and `'` as entities.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A path segment (an environment name is already a safe name; this keeps it so).
fn seg(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'+' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn page(title: &str, env: Option<&str>, body: &str) -> Response {
    let nav_env = env
        .map(|e| {
            let e2 = seg(e);
            format!(
                r#"<span class="sep">/</span><a href="/env/{e2}">{}</a>
<a href="/env/{e2}">generations</a> <a href="/env/{e2}/plan">plan</a> <a href="/env/{e2}/workflows">workflows</a>"#,
                esc(e)
            )
        })
        .unwrap_or_default();
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · comfydock</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/static/style.css"></head>
<body><header><a class="brand" href="/">comfydock</a> {nav_env} <span class="right"><a href="/models">models</a></span></header>
<main>{body}</main></body></html>"#,
        title = esc(title)
    ))
    .into_response()
}

fn error_page(title: &str, env: Option<&str>, e: &miette::Report) -> Response {
    let mut response = page(
        title,
        env,
        &format!(
            "<h1>{}</h1><pre class=\"error\">{}</pre>",
            esc(title),
            esc(&error_text(e))
        ),
    );
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response
}

/// Plan text (`render_text`) with each line classed by its symbol.
fn plan_pre(text: &str) -> String {
    let mut out = String::from("<pre class=\"plan\">");
    for line in text.lines() {
        let class = match line.trim_start().chars().next() {
            Some('+') => "add",
            Some('~') => "change",
            Some('-') => "destroy",
            Some('!') => "note",
            _ => "",
        };
        let _ = writeln!(out, "<span class=\"{class}\">{}</span>", esc(line));
    }
    out.push_str("</pre>");
    out
}

fn hidden(name: &str, value: &str) -> String {
    format!(r#"<input type="hidden" name="{name}" value="{}">"#, esc(value))
}

pub async fn environments(State(s): State<Shared>) -> Response {
    let ws = s.ws.clone();
    let report = match blocking(move || crate::ops::environments(&ws)).await {
        Ok(r) => r,
        Err(e) => return error_page("Environments", None, &e),
    };
    let mut body = String::from("<h1>Environments</h1>");
    if report.environments.is_empty() {
        body.push_str("<p>No environments yet: <code>comfydock create NAME</code>.</p>");
    }
    body.push_str("<table><tr><th>name</th><th>ComfyUI</th><th>Python</th><th></th></tr>");
    for e in &report.environments {
        let _ = write!(
            body,
            r#"<tr><td><a href="/env/{}">{}</a>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            seg(&e.name),
            esc(&e.name),
            if e.active {
                " <span class=\"badge\">active</span>"
            } else {
                ""
            },
            esc(e.comfyui_version.as_deref().unwrap_or("?")),
            esc(e.python_version.as_deref().unwrap_or("")),
            if e.complete { "" } else { "incomplete" },
        );
    }
    body.push_str("</table>");
    page("Environments", None, &body)
}

pub async fn generations(State(s): State<Shared>, Path(name): Path<String>) -> Response {
    let ws = s.ws.clone();
    let n = name.clone();
    let report = match blocking(move || crate::ops::generations::log(&ws.env(&n)?)).await {
        Ok(r) => r,
        Err(e) => return error_page("Generations", Some(&name), &e),
    };
    let mut body = format!("<h1>{} <small>generations</small></h1>", esc(&name));
    if report.generations.is_empty() {
        body.push_str("<p>No generations yet.</p>");
    }
    body.push_str("<ol class=\"timeline\">");
    for entry in &report.timeline {
        match entry {
            crate::ops::generations::TimelineEntry::Generation(g) => {
                let when = crate::apply::generations::format_time(g.created);
                let mut actions = String::new();
                for a in &g.actions {
                    actions.push_str(a);
                    actions.push('\n');
                }
                let button = if g.current {
                    "<span class=\"badge\">live</span>".to_string()
                } else if g.compacted {
                    "<span class=\"muted\">compacted</span>".to_string()
                } else {
                    format!(
                        r#"<form method="post" action="/env/{}/rollback">{}{}<button>Roll back to {}</button></form>"#,
                        seg(&name),
                        hidden("token", &s.token),
                        hidden("generation", &g.number.to_string()),
                        g.number
                    )
                };
                let _ = write!(
                    body,
                    r#"<li class="generation{}" id="g{n}"><div class="head"><span class="number">{n}</span> <span class="summary">{}</span> <span class="muted">{} · {} change(s){}</span> {button}</div>{}</li>"#,
                    if g.current { " current" } else { "" },
                    esc(&g.summary),
                    esc(&when),
                    g.action_count,
                    g.cec_commit
                        .as_deref()
                        .map(|c| format!(" · .cec {}", esc(crate::plan::short(c))))
                        .unwrap_or_default(),
                    if actions.is_empty() {
                        String::new()
                    } else {
                        plan_pre(&actions)
                    },
                    n = g.number,
                );
            }
            crate::ops::generations::TimelineEntry::Commit(c) => {
                let _ = write!(
                    body,
                    r#"<li class="commit"><span class="muted">.cec commit {} not applied:</span> {}</li>"#,
                    esc(crate::plan::short(&c.commit)),
                    esc(&c.summary)
                );
            }
        }
    }
    body.push_str("</ol>");
    page(&format!("{name} generations"), Some(&name), &body)
}

/// Without `confirm=yes`: what the rollback would do, and the button that does it.
pub async fn rollback(State(s): State<Shared>, Path(name): Path<String>, form: String) -> Response {
    let generation = form_field(&form, "generation").and_then(|g| g.parse::<u64>().ok());
    if form_field(&form, "confirm") == Some("yes") {
        return match run_rollback(&s, name.clone(), generation).await {
            Ok(_) => Redirect::to(&format!("/env/{}", seg(&name))).into_response(),
            Err(e) => error_page("Rollback failed", Some(&name), &e),
        };
    }
    // The plan, made as the rollback would make it, and nothing applied.
    let ws = s.ws.clone();
    let n = name.clone();
    let shown = blocking(move || {
        let env = ws.env(&n)?;
        let mut session = crate::reconcile::Session::writer(&ws, env, &crate::progress::Silent, "serve rollback")?;
        let mut text = String::new();
        let report = crate::ops::generations::rollback(&mut session, generation, &mut |plan, _| {
            text = crate::plan::render_text(plan);
            Ok(false)
        })?;
        Ok((report.target, text))
    })
    .await;
    let (target, text) = match shown {
        Ok(v) => v,
        Err(e) => return error_page("Rollback", Some(&name), &e),
    };
    let body = format!(
        r#"<h1>Roll back {} to generation {target}?</h1>{}
<form method="post" action="/env/{}/rollback">{}{}{}<button class="danger">Yes, roll back</button> <a href="/env/{}">Cancel</a></form>"#,
        esc(&name),
        plan_pre(&text),
        seg(&name),
        hidden("token", &s.token),
        hidden("generation", &target.to_string()),
        hidden("confirm", "yes"),
        seg(&name),
    );
    page("Roll back", Some(&name), &body)
}

pub async fn plan(State(s): State<Shared>, Path(name): Path<String>) -> Response {
    let ws = s.ws.clone();
    let n = name.clone();
    let view = blocking(move || {
        let env = ws.env(&n)?;
        let mut session = crate::reconcile::Session::reader(&ws, env, &crate::progress::Silent);
        crate::ops::apply::plan(&mut session)
    })
    .await;
    let view = match view {
        Ok(v) => v,
        Err(e) => return error_page("Plan", Some(&name), &e),
    };
    let mut body = format!(
        "<h1>{} <small>plan</small></h1>{}",
        esc(&name),
        plan_pre(&crate::plan::render_text(&view.plan))
    );
    if view.plan.has_work() {
        let _ = write!(
            body,
            r#"<form method="post" action="/env/{}/apply">{}{}<button>Apply…</button></form>"#,
            seg(&name),
            hidden("token", &s.token),
            hidden("fingerprint", &view.fingerprint),
        );
    }
    page(&format!("{name} plan"), Some(&name), &body)
}

/// Without `confirm=yes`: a confirmation; with it, the apply starts and the page follows it.
pub async fn apply(State(s): State<Shared>, Path(name): Path<String>, form: String) -> Response {
    let fingerprint = form_field(&form, "fingerprint").map(|f| f.replace("%3A", ":"));
    if form_field(&form, "confirm") == Some("yes") {
        let job = start_apply(&s, name, fingerprint);
        return Redirect::to(&format!("/jobs/{job}")).into_response();
    }
    let body = format!(
        r#"<h1>Apply the plan to {}?</h1><p>The plan you saw is applied only if nothing changed since.</p>
<form method="post" action="/env/{}/apply">{}{}{}<button class="danger">Yes, apply</button> <a href="/env/{}/plan">Cancel</a></form>"#,
        esc(&name),
        seg(&name),
        hidden("token", &s.token),
        hidden("fingerprint", fingerprint.as_deref().unwrap_or("")),
        hidden("confirm", "yes"),
        seg(&name),
    );
    page("Apply", Some(&name), &body)
}

pub async fn job(State(s): State<Shared>, Path(id): Path<u64>) -> Response {
    let Some(job) = s.jobs.get(id) else {
        return (StatusCode::NOT_FOUND, "no such job\n").into_response();
    };
    let env = job.environment.clone();
    let body = format!(
        r#"<h1>Applying {env_html}</h1><pre id="log" class="plan"></pre><p id="status" class="muted">running…</p>
<script>
const log = document.getElementById('log'), status = document.getElementById('status');
const events = new EventSource('/api/jobs/{id}/events');
events.addEventListener('line', e => {{ log.textContent += e.data + '\n'; }});
events.addEventListener('done', e => {{ const r = JSON.parse(e.data);
  status.textContent = r.generation ? 'Applied: generation ' + r.generation : 'Nothing to do.'; events.close(); }});
events.addEventListener('failed', e => {{ status.textContent = e.data; status.className = 'error'; events.close(); }});
</script><p><a href="/env/{env_seg}">generations</a></p>"#,
        env_html = esc(&env),
        env_seg = seg(&env),
    );
    page("Apply", Some(&env), &body)
}

pub async fn workflows(State(s): State<Shared>, Path(name): Path<String>) -> Response {
    let ws = s.ws.clone();
    let n = name.clone();
    let report = match blocking(move || crate::ops::workflows::status(&ws.env(&n)?)).await {
        Ok(r) => r,
        Err(e) => return error_page("Workflows", Some(&name), &e),
    };
    let mut body = format!("<h1>{} <small>tracked workflows</small></h1>", esc(&name));
    if report.workflows.is_empty() {
        body.push_str("<p>No tracked workflows: <code>comfydock workflow track NAME</code>.</p>");
    }
    body.push_str("<table><tr><th>workflow</th><th>state</th><th>requires nodes</th><th>requires models</th></tr>");
    for w in &report.workflows {
        let requires = serde_json::to_value(&w.requires).unwrap_or_default();
        let list = |key: &str| {
            requires[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str())
                        .map(esc)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        let _ = write!(
            body,
            "<tr><td>{}{}<br><span class=\"muted\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&w.name),
            w.version.as_deref().map(|v| format!(" {}", esc(v))).unwrap_or_default(),
            esc(w.description.as_deref().unwrap_or("")),
            esc(w.state),
            list("nodes"),
            list("models"),
        );
    }
    body.push_str("</table>");
    page(&format!("{name} workflows"), Some(&name), &body)
}

#[derive(serde::Deserialize)]
pub struct ModelQuery {
    #[serde(default)]
    q: String,
}

pub async fn models(State(s): State<Shared>, Query(query): Query<ModelQuery>) -> Response {
    let ws = s.ws.clone();
    let q = query.q.clone();
    let report = match blocking(move || crate::ops::models::find(&ws, &q)).await {
        Ok(r) => r,
        Err(e) => return error_page("Models", None, &e),
    };
    let mut body = format!(
        r#"<h1>Model index</h1><form method="get" action="/models"><input name="q" value="{}" placeholder="name or hash prefix" autofocus> <button>Search</button></form>"#,
        esc(&query.q)
    );
    if !query.q.trim().is_empty() {
        let _ = write!(body, "<p class=\"muted\">{} found</p>", report.models.len());
        body.push_str("<table><tr><th>name</th><th>category</th><th>size</th><th>blake3</th><th>path</th></tr>");
        for m in &report.models {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                esc(&m.name),
                esc(m.category.as_deref().unwrap_or("")),
                esc(&crate::plan::human_size(m.size)),
                esc(m.hashes.get("blake3").map(|h| &h[..h.len().min(16)]).unwrap_or("")),
                esc(m.local_path.as_deref().unwrap_or("")),
            );
        }
        body.push_str("</table>");
    }
    page("Models", None, &body)
}
