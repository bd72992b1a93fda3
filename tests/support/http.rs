//! A small HTTP/1.1 file server on 127.0.0.1 for download tests: serves byte ranges, can cut a
//! transfer short, can demand a bearer token, and logs every request it answered.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct File {
    body: Vec<u8>,
    etag: String,
    /// The next responses stop after this many body bytes (one entry per response).
    cuts: Vec<usize>,
    token: Option<String>,
    /// Misbehaves: declares twice the body's length and ignores `Range`.
    liar: bool,
    /// Misbehaves: sends one body byte per this many milliseconds.
    trickle_ms: Option<u64>,
    /// Misbehaves: no `Content-Length`, and the body repeated until the client hangs up or
    /// this many bytes were sent (so the server always stops by itself).
    endless: Option<usize>,
}

/// One answered request.
#[derive(Debug, Clone)]
pub struct Logged {
    pub path: String,
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub authorization: Option<String>,
    pub status: u16,
    pub body_bytes: usize,
}

#[derive(Default)]
struct State {
    files: HashMap<String, File>,
    log: Vec<Logged>,
    /// Body bytes the endless responses of each path got into the socket before it closed.
    streamed: HashMap<String, usize>,
}

pub struct HttpServer {
    addr: std::net::SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl HttpServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    let s = s.clone();
                    std::thread::spawn(move || handle(stream, &s));
                }
            }
        });
        HttpServer { addr, state, stop }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Serves `body` at `path` (replacing what was there; a new ETag marks the change).
    pub fn serve(&self, path: &str, body: &[u8]) {
        let etag = format!("\"{}\"", &blake3::hash(body).to_hex()[..16]);
        let mut st = self.state.lock().unwrap();
        let f = st.files.entry(path.to_string()).or_default();
        f.body = body.to_vec();
        f.etag = etag;
    }

    fn file(&self, path: &str, change: impl FnOnce(&mut File)) {
        change(self.state.lock().unwrap().files.get_mut(path).expect("served path"));
    }

    /// The next response for `path` sends only `after` body bytes, then closes the connection.
    pub fn cut_next(&self, path: &str, after: usize) {
        self.file(path, |f| f.cuts.push(after));
    }

    /// Answers 401 unless the request carries `Authorization: Bearer <token>`.
    pub fn require_token(&self, path: &str, token: &str) {
        self.file(path, |f| f.token = Some(token.to_string()));
    }

    /// Every response for `path` declares a `Content-Length` twice the body and ignores `Range`.
    pub fn lie_about_length(&self, path: &str) {
        self.file(path, |f| f.liar = true);
    }

    /// Every response for `path` sends its body one byte per `ms` milliseconds.
    pub fn trickle(&self, path: &str, ms: u64) {
        self.file(path, |f| f.trickle_ms = Some(ms));
    }

    /// Every response for `path` has no `Content-Length` and repeats the body until the client
    /// closes the connection, or `at_most` bytes were sent.
    pub fn stream_endlessly(&self, path: &str, at_most: usize) {
        self.file(path, |f| f.endless = Some(at_most));
    }

    /// Body bytes the endless responses for `path` sent in all, once one has ended (waited for
    /// up to 30 s: the server notices a closed connection at its next write).
    pub fn streamed(&self, path: &str) -> Option<usize> {
        for _ in 0..300 {
            if let Some(n) = self.state.lock().unwrap().streamed.get(path) {
                return Some(*n);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        None
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn handle(mut stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut log = Logged {
        path: path.clone(),
        range: headers.get("range").cloned(),
        if_range: headers.get("if-range").cloned(),
        authorization: headers.get("authorization").cloned(),
        status: 0,
        body_bytes: 0,
    };
    let file = {
        let mut st = state.lock().unwrap();
        st.files.get_mut(&path).map(|f| {
            let cut = (!f.cuts.is_empty()).then(|| f.cuts.remove(0));
            (f.clone(), cut)
        })
    };
    let liar = file.as_ref().is_some_and(|(f, _)| f.liar);
    let trickle = file.as_ref().and_then(|(f, _)| f.trickle_ms);
    let endless = file.as_ref().and_then(|(f, _)| f.endless);
    if liar {
        log.range = None;
    }
    let (status, head, body, cut): (u16, String, Vec<u8>, Option<usize>) = match file {
        None => (404, String::new(), b"not found".to_vec(), None),
        Some((f, _))
            if f.token
                .as_ref()
                .is_some_and(|t| log.authorization != Some(format!("Bearer {t}"))) =>
        {
            (401, String::new(), b"unauthorized".to_vec(), None)
        }
        Some((f, cut)) => {
            let len = f.body.len();
            let range_ok = log.if_range.as_ref().is_none_or(|v| *v == f.etag);
            let start = log
                .range
                .as_deref()
                .filter(|_| range_ok && !f.liar)
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|n| n.parse::<usize>().ok());
            match start {
                Some(s) if s >= len => (416, format!("Content-Range: bytes */{len}\r\n"), Vec::new(), None),
                Some(s) => (
                    206,
                    format!("Content-Range: bytes {s}-{}/{len}\r\nETag: {}\r\n", len - 1, f.etag),
                    f.body[s..].to_vec(),
                    cut,
                ),
                None => (
                    200,
                    format!("ETag: {}\r\nAccept-Ranges: bytes\r\n", f.etag),
                    f.body,
                    cut,
                ),
            }
        }
    };
    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Range Not Satisfiable",
    };
    let send = cut.map_or(body.len(), |c| c.min(body.len()));
    log.status = status;
    log.body_bytes = send;
    // Logged before answering, so a client that has its answer always finds it in the log.
    state.lock().unwrap().log.push(log);
    if let Some(at_most) = endless.filter(|_| status == 200 && !body.is_empty()) {
        let _ = write!(stream, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        let mut sent = 0;
        while sent < at_most {
            let n = body.len().min(at_most - sent);
            if stream.write_all(&body[..n]).is_err() {
                break;
            }
            sent += n;
        }
        *state.lock().unwrap().streamed.entry(path).or_default() += sent;
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    let declared = if liar { body.len() * 2 } else { body.len() };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {declared}\r\nConnection: close\r\n{head}\r\n"
    );
    match trickle {
        Some(ms) => {
            for byte in &body[..send] {
                if stream.write_all(std::slice::from_ref(byte)).is_err() {
                    return;
                }
                let _ = stream.flush();
                std::thread::sleep(std::time::Duration::from_millis(ms));
            }
        }
        None => {
            let _ = stream.write_all(&body[..send]);
        }
    }
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}
