//! Headless chromium driven over the Chrome DevTools Protocol: a browser started for one test
//! (stopped by its pid when dropped), one page, and the few commands the browser tests use
//! (navigate, evaluate, screenshot) over a websocket (tungstenite).

use base64::Engine;
use serde_json::{Value, json};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// Chromium on PATH: the browser tests fail without it (`.ci/run` installs it).
pub fn chromium() -> &'static str {
    for name in ["chromium", "chromium-browser"] {
        if std::process::Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return name;
        }
    }
    panic!("this test needs chromium on PATH (`apt-get install -y chromium`; .ci/run installs it)");
}

pub struct Browser {
    child: std::process::Child,
    socket: tungstenite::WebSocket<TcpStream>,
    next_id: u64,
    /// Exceptions thrown in the page, for failure messages.
    pub exceptions: Vec<String>,
}

/// How every test runs chromium: headless, in a container (no sandbox, no GPU, no /dev/shm),
/// with no first-run screens.
pub const HEADLESS: [&str; 5] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-dev-shm-usage",
];

impl Browser {
    /// Starts headless chromium with its profile in `profile` and attaches to its first page.
    pub fn start(profile: &Path, home: &Path, width: u32, height: u32) -> Browser {
        let _ = std::fs::remove_file(profile.join("DevToolsActivePort"));
        let child = std::process::Command::new(chromium())
            .args(HEADLESS)
            .args([
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                &format!("--window-size={width},{height}"),
                &format!("--user-data-dir={}", profile.display()),
                "about:blank",
            ])
            .env("HOME", home)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start chromium");
        // Chromium writes the port it chose into the profile.
        let port = wait_for(Duration::from_secs(30), || {
            let text = std::fs::read_to_string(profile.join("DevToolsActivePort")).ok()?;
            text.lines().next()?.trim().parse::<u16>().ok()
        })
        .expect("chromium wrote DevToolsActivePort");
        let list: Value = wait_for(Duration::from_secs(15), || {
            let text = http_get(port, "/json/list")?;
            let v: Value = serde_json::from_str(&text).ok()?;
            v.as_array()?.iter().any(|t| t["type"] == "page").then_some(v)
        })
        .expect("chromium lists its page");
        let page = list.as_array().unwrap().iter().find(|t| t["type"] == "page").unwrap();
        let url = page["webSocketDebuggerUrl"].as_str().unwrap().to_string();
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (socket, _) = tungstenite::client(url.as_str(), stream).expect("CDP websocket");
        let mut browser = Browser {
            child,
            socket,
            next_id: 0,
            exceptions: Vec::new(),
        };
        browser.call("Runtime.enable", json!({}));
        browser.call("Page.enable", json!({}));
        browser
    }

    /// One CDP command; its `result`. Events received meanwhile are read (exceptions kept).
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({"id": id, "method": method, "params": params}).to_string();
        self.socket.send(tungstenite::Message::text(message)).expect("CDP send");
        loop {
            let msg = self.socket.read().expect("CDP read");
            let tungstenite::Message::Text(text) = msg else {
                continue;
            };
            let v: Value = serde_json::from_str(text.as_str()).expect("CDP JSON");
            if v["id"] == id {
                if let Some(e) = v.get("error") {
                    panic!("CDP {method}: {e}");
                }
                return v["result"].clone();
            }
            if v["method"] == "Runtime.exceptionThrown" {
                let details = &v["params"]["exceptionDetails"];
                self.exceptions.push(
                    details["exception"]["description"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
        }
    }

    pub fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url}));
    }

    /// Evaluates `expression` in the page (promises awaited); its value as JSON.
    pub fn eval(&mut self, expression: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expression}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Evaluates `expression` until it is true; panics with `what` (and the page's exceptions)
    /// after `timeout`.
    pub fn wait_until(&mut self, what: &str, timeout: Duration, expression: &str) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.eval(expression) == Value::Bool(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("timed out waiting for {what}; page exceptions: {:?}", self.exceptions);
    }

    pub fn screenshot(&mut self) -> Vec<u8> {
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}));
        base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `f` until it gives a value, or None after `timeout`.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// GET over plain HTTP/1.1 on 127.0.0.1: the body when the status is 200.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let (status, body) = http(port, "GET", path, &[], "").ok()?;
    (status == 200).then_some(body)
}

/// One HTTP/1.1 request to 127.0.0.1:`port` (Content-Length bodies only).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    http_to(std::net::Ipv4Addr::LOCALHOST.into(), port, method, path, headers, body)
}

/// The same request to any address of this machine.
pub fn http_to(
    ip: std::net::IpAddr,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect((ip, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(300)))?;
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nHost: {ip}:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    stream.write_all(text.as_bytes())?;
    // Read the head, then exactly Content-Length bytes: chromium keeps the connection open.
    let mut reader = std::io::BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut reader, &mut line)? == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {head:?}")))?;
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    });
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            reader.read_exact(&mut body)?;
        }
        None => {
            reader.read_to_end(&mut body)?;
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
