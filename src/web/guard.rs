//! Every request passes here first: `Host` must be this server as the user reaches it
//! (127.0.0.1 or localhost with the bound port: a DNS-rebinding page has another host), an
//! `Origin`, when sent, the same; and the token must come with it. A GET may bring the token in
//! the query (the printed URL), the cookie set from it, or a header; a POST (the only way to
//! change anything) only in the `X-Comfydock-Token` header or a `token` form field, so that a
//! page elsewhere cannot make the browser send it.

use super::Shared;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub const TOKEN_HEADER: &str = "x-comfydock-token";
pub const COOKIE: &str = "comfydock_token";
/// Form bodies are a token and a number or two.
const MAX_FORM_BYTES: usize = 16 * 1024;

fn refuse(status: StatusCode, why: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{why}\n"),
    )
        .into_response()
}

/// Whether `host` (a `Host` value, or an origin's authority) names this server.
fn ours(host: &str, port: u16) -> bool {
    host == format!("127.0.0.1:{port}") || host == format!("localhost:{port}")
}

/// Compares without stopping at the first difference.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|kv| kv.strip_prefix("token="))
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(&format!("{COOKIE}=")).map(str::to_string))
}

/// A field of an `application/x-www-form-urlencoded` body (the fields this server reads are
/// tokens and numbers: no escapes to undo beyond `+`).
pub fn form_field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split('&')
        .find_map(|kv| kv.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

pub async fn check(State(state): State<Shared>, request: Request<Body>, next: Next) -> Response {
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !ours(host, state.port) {
        return refuse(StatusCode::FORBIDDEN, "unexpected Host header");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let authority = origin.strip_prefix("http://").unwrap_or("");
        if !ours(authority, state.port) {
            return refuse(StatusCode::FORBIDDEN, "cross-origin request refused");
        }
    }
    let header_token = headers
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if request.method() == Method::GET || request.method() == Method::HEAD {
        let from_query = query_token(request.uri().query()).map(str::to_string);
        let given = header_token
            .or_else(|| from_query.clone())
            .or_else(|| cookie_token(headers));
        if !given.is_some_and(|t| same(&t, &state.token)) {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "a token is needed: open the URL `comfydock serve` printed",
            );
        }
        let mut response = next.run(request).await;
        if from_query.is_some() {
            let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", state.token);
            if let Ok(v) = header::HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        return response;
    }
    if request.method() != Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "only GET and POST");
    }
    if header_token.as_deref().is_some_and(|t| same(t, &state.token)) {
        return next.run(request).await;
    }
    // A form: the token is a field; the body is read here and handed on unchanged.
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM_BYTES).await else {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "form too large");
    };
    let text = std::str::from_utf8(&bytes).unwrap_or("");
    if !form_field(text, "token").is_some_and(|t| same(t, &state.token)) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "changes need the token in the X-Comfydock-Token header or a `token` form field",
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
