//! `comfydock serve`: the web view over the same operations as the CLI, tested over real HTTP on
//! 127.0.0.1 and in a headless browser; and the CLI output of the operations both edges share,
//! pinned before they moved to `ops/`.

use crate::support::snap::filtered;
use crate::support::{TestContext, repos};

/// An environment with three generations: created, a node added, rolled back.
fn env_with_history(t: &TestContext) -> std::path::PathBuf {
    let env = t.create_env("demo");
    let alpha = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["node", "add", alpha.to_str().unwrap()]).success();
    env
}

#[test]
fn log_output_is_pinned() {
    let t = TestContext::new();
    env_with_history(&t);
    t.run(&["rollback", "1", "--yes"]).success();
    let text = t.run(&["log"]);
    text.success();
    let json = t.run(&["log", "--json"]);
    json.success();
    filtered(&t).bind(|| {
        insta::assert_snapshot!("log_text", text.stdout);
        insta::assert_snapshot!("log_json", json.stdout);
    });
}

/// `comfydock serve` running for one test, stopped (by its pid) when dropped.
struct Server {
    child: std::process::Child,
    port: u16,
    token: String,
}

impl Server {
    fn start(t: &TestContext) -> Server {
        use std::io::BufRead;
        let mut child = t
            .std_cmd()
            .args(["serve"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn comfydock serve");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line.trim();
        let rest = url
            .strip_prefix("http://127.0.0.1:")
            .unwrap_or_else(|| panic!("URL: {url:?}"));
        let (port, token) = rest.split_once("/?token=").unwrap();
        assert_eq!(token.len(), 32, "a 128-bit token as hex: {url}");
        Server {
            child,
            port: port.parse().unwrap(),
            token: token.to_string(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// One HTTP/1.1 request over a plain socket, headers exactly as given (plus Host unless
    /// given); returns the status and the body.
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let mut text = format!(
            "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        let host = format!("127.0.0.1:{}", self.port);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            text.push_str(&format!("Host: {host}\r\n"));
        }
        for (k, v) in headers {
            text.push_str(&format!("{k}: {v}\r\n"));
        }
        text.push_str("\r\n");
        text.push_str(body);
        stream.write_all(text.as_bytes()).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response[9..12].parse().unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            dechunk(body)
        } else {
            body.to_string()
        };
        (status, body)
    }

    fn get_json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.request("GET", path, &[("X-Comfydock-Token", &self.token)], "");
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

fn generation_count(s: &Server) -> usize {
    s.get_json("/api/envs/demo/log")["generations"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn the_api_needs_the_token_this_host_and_a_post_to_change_anything() {
    let t = TestContext::new();
    let env = env_with_history(&t);
    let s = Server::start(&t);
    let token = s.token.clone();

    // No token, a wrong one: refused. The token in the query, a header or the cookie: served.
    assert_eq!(s.request("GET", "/api/envs", &[], "").0, 401);
    assert_eq!(s.request("GET", "/api/envs?token=nope", &[], "").0, 401);
    assert_eq!(s.request("GET", &format!("/api/envs?token={token}"), &[], "").0, 200);
    let cookie = format!("comfydock_token={token}");
    assert_eq!(s.request("GET", "/api/envs", &[("Cookie", &cookie)], "").0, 200);
    let envs = s.get_json("/api/envs");
    assert_eq!(envs["format_version"], "1");
    assert_eq!(envs["environments"][0]["name"], "demo");

    // Another Host (DNS rebinding) or a cross-site Origin: refused even with the token.
    let auth = ("X-Comfydock-Token", token.as_str());
    assert_eq!(
        s.request("GET", "/api/envs", &[auth, ("Host", "evil.example:80")], "")
            .0,
        403
    );
    let other_port = format!("127.0.0.1:{}", s.port + 1);
    assert_eq!(s.request("GET", "/api/envs", &[auth, ("Host", &other_port)], "").0, 403);
    assert_eq!(
        s.request("GET", "/api/envs", &[auth, ("Origin", "http://evil.example")], "")
            .0,
        403
    );
    let localhost = format!("localhost:{}", s.port);
    assert_eq!(s.request("GET", "/api/envs", &[auth, ("Host", &localhost)], "").0, 200);
    let same_origin = format!("http://127.0.0.1:{}", s.port);
    assert_eq!(
        s.request("GET", "/api/envs", &[auth, ("Origin", &same_origin)], "").0,
        200
    );

    // The reports are the CLI's --json documents.
    let log = s.get_json("/api/envs/demo/log");
    let cli: serde_json::Value = serde_json::from_str(&t.run(&["log", "--json"]).stdout).unwrap();
    assert_eq!(log, cli);
    let plan = s.get_json("/api/envs/demo/plan");
    assert_eq!(plan["changes"], false, "{plan}");
    let workflows = s.get_json("/api/envs/demo/workflows");
    assert_eq!(workflows["environment"], "demo");
    assert!(s.get_json("/api/models?q=x")["models"].is_array());

    // GET cannot change anything: the rollback route only takes POST; a POST without the
    // token, or with it only in the cookie, changes nothing.
    let before = crate::support::tree(&env.join(".comfydock"));
    let (status, _) = s.request("GET", "/api/envs/demo/rollback?generation=1", &[auth], "");
    assert_eq!(status, 405);
    assert_eq!(
        s.request("POST", "/api/envs/demo/rollback?generation=1", &[], "").0,
        401
    );
    let (status, _) = s.request(
        "POST",
        "/api/envs/demo/rollback?generation=1",
        &[("Cookie", &cookie)],
        "",
    );
    assert_eq!(status, 401);
    let (status, _) = s.request(
        "POST",
        "/api/envs/demo/rollback?generation=1",
        &[auth, ("Origin", "http://evil.example")],
        "",
    );
    assert_eq!(status, 403);
    assert_eq!(generation_count(&s), 2);
    assert_eq!(crate::support::tree(&env.join(".comfydock")), before);
    // Pages are GETs too, and change nothing.
    for page in ["/", "/env/demo", "/env/demo/plan", "/env/demo/workflows", "/models?q=a"] {
        let (status, body) = s.request("GET", page, &[auth], "");
        assert_eq!(status, 200, "{page}: {body}");
    }
    assert_eq!(crate::support::tree(&env.join(".comfydock")), before);
}

#[test]
fn rollback_through_post_makes_a_new_generation() {
    let t = TestContext::new();
    let env = env_with_history(&t);
    let s = Server::start(&t);
    assert!(env.join("ComfyUI/custom_nodes/alpha").is_dir());

    // The page's form: first a confirmation showing the plan, changing nothing.
    let form = format!("token={}&generation=1", s.token);
    let (status, body) = s.request(
        "POST",
        "/env/demo/rollback",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Roll back demo to generation 1?"), "{body}");
    assert!(body.contains("- node alpha (moved to trash)"), "{body}");
    assert_eq!(generation_count(&s), 2);
    assert!(env.join("ComfyUI/custom_nodes/alpha").is_dir());

    // The API: the token in the header.
    let (status, body) = s.request(
        "POST",
        "/api/envs/demo/rollback?generation=1",
        &[("X-Comfydock-Token", &s.token)],
        "",
    );
    assert_eq!(status, 200, "{body}");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["format_version"], "1");
    assert_eq!(report["target"], 1);
    assert_eq!(report["generation"], 3);
    assert_eq!(report["applied"], true);
    assert_eq!(generation_count(&s), 3);
    assert_eq!(s.get_json("/api/envs/demo/log")["generations"][0]["current"], true);
    assert!(!env.join("ComfyUI/custom_nodes/alpha").exists());

    // And back through the confirmed form.
    let form = format!("token={}&generation=2&confirm=yes", s.token);
    let (status, _) = s.request(
        "POST",
        "/env/demo/rollback",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    );
    assert_eq!(status, 303);
    assert_eq!(generation_count(&s), 4);
    assert!(env.join("ComfyUI/custom_nodes/alpha").is_dir());
    t.run(&["plan", "--detailed-exitcode"]).success();
}

#[test]
fn apply_streams_its_progress_as_server_sent_events() {
    let t = TestContext::new();
    let env = env_with_history(&t);
    let beta = repos::node_pack(&t.path("packs/beta"), "BetaNode");
    t.run(&["node", "add", beta.to_str().unwrap(), "--no-apply"]).success();
    let s = Server::start(&t);
    let plan = s.get_json("/api/envs/demo/plan");
    assert_eq!(plan["changes"], true, "{plan}");
    let fingerprint = plan["fingerprint"].as_str().unwrap().to_string();

    let (status, body) = s.request(
        "POST",
        &format!("/api/envs/demo/apply?fingerprint={fingerprint}"),
        &[("X-Comfydock-Token", &s.token)],
        "",
    );
    assert_eq!(status, 202, "{body}");
    let started: serde_json::Value = serde_json::from_str(&body).unwrap();
    let events = started["events"].as_str().unwrap().to_string();
    let (status, stream) = s.request("GET", &events, &[("X-Comfydock-Token", &s.token)], "");
    assert_eq!(status, 200);
    assert!(stream.contains("event: line\ndata:   + node beta"), "{stream}");
    assert!(stream.contains("data: Switching to generation 3"), "{stream}");
    assert!(stream.contains("event: done\ndata: {"), "{stream}");
    assert!(stream.contains("\"generation\":3"), "{stream}");
    assert!(env.join("ComfyUI/custom_nodes/beta").is_dir());
    t.run(&["plan", "--detailed-exitcode"]).success();

    // A plan confirmed before something changed is not applied.
    let (_, body) = s.request(
        "POST",
        &format!("/api/envs/demo/apply?fingerprint={fingerprint}"),
        &[("X-Comfydock-Token", &s.token)],
        "",
    );
    let started: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (_, stream) = s.request(
        "GET",
        started["events"].as_str().unwrap(),
        &[("X-Comfydock-Token", &s.token)],
        "",
    );
    assert!(stream.contains("event: failed"), "{stream}");
    assert!(stream.contains("changed since the plan was shown"), "{stream}");
}

#[test]
fn a_browser_shows_the_generations_page() {
    let browser = crate::support::cdp::chromium();
    let t = TestContext::new();
    env_with_history(&t);
    t.run(&["rollback", "1", "--yes"]).success();
    let s = Server::start(&t);
    let url = s.url(&format!("/env/demo?token={}", s.token));
    let profile = t.path("chromium-profile");
    let headless = |extra: &[&str]| {
        let out = std::process::Command::new(browser)
            .args(crate::support::cdp::HEADLESS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .env("HOME", &t.home)
            .output()
            .expect("run chromium");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out
    };
    let dom = String::from_utf8_lossy(&headless(&["--dump-dom", &url]).stdout).into_owned();
    assert!(dom.contains("generations"), "{dom}");
    for text in [
        "Rollback to generation 1",
        "Add node alpha",
        "Create environment demo",
        "Roll back to 2",
        "+ node alpha",
    ] {
        assert!(dom.contains(text), "{text:?} not in\n{dom}");
    }
    let shot = t.path("serve-generations.png");
    headless(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1100,900",
        "--hide-scrollbars",
        &url,
    ]);
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    // The picture in docs/web.md, renewed on request (a test run leaves the checkout clean).
    if std::env::var_os("COMFYDOCK_UPDATE_SCREENSHOTS").is_some() {
        let docs = std::path::Path::new(crate::support::MANIFEST_DIR).join("docs/screenshots");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::write(docs.join("serve-generations.png"), png).unwrap();
    }
}
