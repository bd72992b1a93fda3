//! Registry fixtures: a snapshot folder with small node-pack archives (zip and tar.gz), the real
//! `comfydock registry serve` on 127.0.0.1 in front of it, and a misbehaving HTTP server
//! (errors, `Retry-After`, hangs, cut-off bodies) that forwards to a mirror when it behaves.

use super::{Run, TestContext};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A zip archive of `files` (name, content), packed the way `comfy node pack` does: at the root.
pub fn zip_archive(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
    for (name, data) in files {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A tar.gz of `files` below one top-level folder, the way GitHub release tarballs are made.
pub fn tar_gz_archive(top: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let gz = flate2::write::GzEncoder::new(&mut out, flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, format!("{top}/{name}"), *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
    }
    out
}

/// A zip whose second entry climbs out of the extraction folder.
pub fn escaping_zip() -> Vec<u8> {
    zip_archive(&[
        ("__init__.py", b"NODE_CLASS_MAPPINGS = {}\n"),
        ("../escaped.py", b"print('owned')\n"),
    ])
}

fn comfy_node(name: &str, inputs: &str) -> Value {
    json!({
        "comfy_node_name": name, "category": "example", "description": "",
        "input_types": inputs, "return_types": "[\"IMAGE\"]", "return_names": "[\"image\"]",
        "output_is_list": [false], "function": "run", "deprecated": false,
        "experimental": false, "policy": "ComfyNodePolicyActive"
    })
}

fn node_json(id: &str, name: &str, downloads: u64, status: &str) -> Value {
    json!({
        "id": id, "name": name, "description": format!("{name} (test fixture)"),
        "author": "Example Publisher", "license": "{\"file\": \"LICENSE\"}",
        "repository": format!("https://github.com/example-pub/{id}.git"), "tags": ["example"],
        "rating": 0, "downloads": downloads, "github_stars": 3,
        "publisher": {"id": "example-pub", "name": "Example Publisher", "createdAt": "2024-05-01T10:00:00Z"},
        "status": status, "status_detail": "", "created_at": "2024-05-02T00:00:00Z",
        "preempted_comfy_node_names": [], "search_ranking": 5, "translations": {}
    })
}

/// The registry's own idea of where files live; the mirror rewrites it to itself.
fn version_json(id: &str, version: &str, status: &str, deprecated: bool, created: &str) -> Value {
    json!({
        "id": format!("uuid-{id}-{version}"), "node_id": id, "version": version,
        "createdAt": created, "changelog": "", "dependencies": ["numpy"],
        "deprecated": deprecated,
        "downloadUrl": format!("https://cdn.comfy.org/example-pub/{id}/{version}/node.zip"),
        "status": status, "comfy_node_extract_status": "success",
        "supported_os": [], "supported_accelerators": []
    })
}

/// A snapshot folder being written: packs go in through `add_pack`, `save` writes the JSON.
pub struct SnapshotFixture {
    pub dir: PathBuf,
    packs: Vec<Value>,
}

/// One version to put in a fixture snapshot.
pub struct FixtureVersion<'a> {
    pub version: &'a str,
    pub status: &'a str,
    pub deprecated: bool,
    pub archive: Option<(&'a str, Vec<u8>)>,
    pub comfy_nodes: Option<Value>,
}

impl<'a> FixtureVersion<'a> {
    pub fn active(version: &'a str, archive_name: &'a str, archive: Vec<u8>) -> Self {
        FixtureVersion {
            version,
            status: "NodeVersionStatusActive",
            deprecated: false,
            archive: Some((archive_name, archive)),
            comfy_nodes: None,
        }
    }
}

impl SnapshotFixture {
    pub fn new(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        SnapshotFixture {
            dir: dir.to_path_buf(),
            packs: Vec::new(),
        }
    }

    pub fn add_pack(&mut self, id: &str, name: &str, downloads: u64, status: &str, versions: Vec<FixtureVersion>) {
        let mut out = Vec::new();
        for (i, v) in versions.into_iter().enumerate() {
            let mut entry = json!({
                "node_version": version_json(id, v.version, v.status, v.deprecated, &format!("2025-0{}-01T00:00:00Z", i + 1)),
            });
            if let Some((file, bytes)) = v.archive {
                let rel = format!("archives/{id}/{}/{file}", v.version);
                let path = self.dir.join(&rel);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &bytes).unwrap();
                entry["archive"] = json!(rel);
            }
            if let Some(nodes) = v.comfy_nodes {
                entry["comfy_nodes"] = nodes;
            }
            out.push(entry);
        }
        self.packs
            .push(json!({ "node": node_json(id, name, downloads, status), "versions": out }));
    }

    pub fn save(&self) -> PathBuf {
        let doc = json!({
            "format": "comfydock-registry-snapshot",
            "format_version": 1,
            "source": "test fixture",
            "packs": self.packs,
        });
        std::fs::write(
            self.dir.join("registry-snapshot.json"),
            serde_json::to_vec_pretty(&doc).unwrap(),
        )
        .unwrap();
        self.dir.clone()
    }
}

/// The pack archive of `example-impact` 1.10.0: a zip with a requirements file.
pub fn impact_1_10_zip() -> Vec<u8> {
    zip_archive(&[
        ("__init__.py", b"NODE_CLASS_MAPPINGS = {'SAMLoader': object}\n"),
        ("requirements.txt", b"numpy>=1.0\nsegment-anything\n"),
        ("nodes/detailer.py", b"# detailer\n"),
    ])
}

/// The standard fixture: semver ordering (1.9.0 vs 1.10.0), a deprecated and a banned version
/// above them, a tar.gz pack, a banned pack.
pub fn standard_snapshot(dir: &Path) -> SnapshotFixture {
    let mut s = SnapshotFixture::new(dir);
    let seed = r#"{"required":{"image":["IMAGE"],"seed":["INT",{"default":0,"min":0,"max":18446744073709551615}]}}"#;
    s.add_pack(
        "example-impact",
        "Example Impact Pack",
        250_000,
        "NodeStatusActive",
        vec![
            FixtureVersion::active("1.9.0", "node.zip", zip_archive(&[("__init__.py", b"# 1.9.0\n")])),
            FixtureVersion {
                comfy_nodes: Some(json!([
                    comfy_node("SAMLoader", r#"{"required":{"model_name":[["sam_vit_b.pth"]]}}"#),
                    comfy_node("ExampleDetailer", seed),
                ])),
                ..FixtureVersion::active("1.10.0", "node.zip", impact_1_10_zip())
            },
            FixtureVersion {
                deprecated: true,
                ..FixtureVersion::active("2.0.0", "node.zip", zip_archive(&[("__init__.py", b"# 2.0.0\n")]))
            },
            FixtureVersion {
                status: "NodeVersionStatusBanned",
                ..FixtureVersion::active("3.0.0", "node.zip", zip_archive(&[("__init__.py", b"# 3.0.0\n")]))
            },
        ],
    );
    s.add_pack(
        "example-text",
        "Example Text Nodes",
        5_000,
        "NodeStatusActive",
        vec![FixtureVersion {
            comfy_nodes: Some(json!([comfy_node("ShowText", r#"{"required":{"text":["STRING"]}}"#)])),
            ..FixtureVersion::active(
                "2.0.0",
                "node.tar.gz",
                tar_gz_archive(
                    "example-text-2.0.0",
                    &[
                        ("__init__.py", b"NODE_CLASS_MAPPINGS = {}\n"),
                        (
                            "pyproject.toml",
                            b"[project]\nname = 'example-text'\ndependencies = ['piexif']\n",
                        ),
                    ],
                ),
            )
        }],
    );
    s.add_pack(
        "example-banned",
        "Example Banned",
        120,
        "NodeStatusBanned",
        vec![FixtureVersion::active(
            "1.0.0",
            "node.zip",
            zip_archive(&[("__init__.py", b"")]),
        )],
    );
    s
}

/// `comfydock registry serve` running on a free port; stopped when dropped.
pub struct Mirror {
    pub url: String,
    child: Child,
}

impl Mirror {
    pub fn start(snapshot: &Path) -> Mirror {
        Mirror::start_with(snapshot, &[])
    }

    /// `registry serve` with extra arguments (`--idle-timeout 1`).
    pub fn start_with(snapshot: &Path, extra: &[&str]) -> Mirror {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("comfydock"))
            .args(["registry", "serve", "--snapshot"])
            .arg(snapshot)
            .args(["--addr", "127.0.0.1:0"])
            .args(extra)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn comfydock registry serve");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first.trim().to_string();
        if !url.starts_with("http://127.0.0.1:") {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("registry serve did not start: stdout {first:?}, stderr {err}");
        }
        Mirror { url, child }
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs comfydock in `t`'s world with extra environment variables (the registry address,
/// short timeouts).
pub fn run_with(t: &TestContext, envs: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = t.cmd();
    for (k, v) in envs {
        cmd.env(k, v);
    }
    Run::from(cmd.args(args).output().expect("spawn comfydock"))
}

/// How the faulty server answers one request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This status, with an optional `Retry-After`, and an `ErrorResponse` body.
    Status(u16, Option<&'static str>),
    /// Read the request, never answer (until the server is dropped).
    Hang,
    /// Forward to the upstream, but cut the body off after this many bytes.
    CutBody(usize),
    /// Forward to the upstream, but answer with only this many bytes of its body, as a complete
    /// response: valid HTTP, broken JSON.
    TruncatedJson(usize),
}

/// What the faulty server saw of one request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub range: Option<String>,
}

/// A tiny HTTP/1.1 server that answers the first requests with scripted faults and forwards the
/// rest to `upstream` (a mirror), or answers 404 when there is none.
pub struct FaultyServer {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    rules: Arc<Mutex<Rules>>,
}

/// Standing behaviour, besides the one-shot faults.
#[derive(Default)]
struct Rules {
    /// Requests whose path starts with this always get this status.
    always: Vec<(String, u16)>,
    /// Every request waits this long before it is answered.
    delay: Duration,
}

impl FaultyServer {
    pub fn start(upstream: Option<&str>, faults: Vec<Fault>) -> FaultyServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let faults = Arc::new(Mutex::new(VecDeque::from(faults)));
        let upstream = upstream.map(str::to_string);
        let rules = Arc::new(Mutex::new(Rules::default()));
        let (seen2, stop2, rules2) = (seen.clone(), stop.clone(), rules.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let fault = faults.lock().unwrap().pop_front();
                let (seen, stop, upstream, rules) = (seen2.clone(), stop2.clone(), upstream.clone(), rules2.clone());
                std::thread::spawn(move || handle(stream, fault, upstream, seen, stop, rules));
            }
        });
        FaultyServer { url, seen, stop, rules }
    }

    /// From now on, requests whose path starts with `prefix` get `status`.
    pub fn fail_always(&self, prefix: &str, status: u16) {
        self.rules.lock().unwrap().always.push((prefix.to_string(), status));
    }

    /// From now on, every answer waits `delay` first.
    pub fn set_delay(&self, delay: Duration) {
        self.rules.lock().unwrap().delay = delay;
    }

    /// How many requests so far had a path starting with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path.starts_with(prefix))
            .count()
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for FaultyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

fn handle(
    mut stream: TcpStream,
    fault: Option<Fault>,
    upstream: Option<String>,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    rules: Arc<Mutex<Rules>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("range")
        {
            range = Some(v.trim().to_string());
        }
    }
    seen.lock().unwrap().push(Seen {
        path: path.clone(),
        range: range.clone(),
    });
    let (delay, always) = {
        let r = rules.lock().unwrap();
        let always = r
            .always
            .iter()
            .find(|(p, _)| path.starts_with(p.as_str()))
            .map(|(_, s)| *s);
        (r.delay, always)
    };
    std::thread::sleep(delay);
    let fault = match always {
        Some(status) => Some(Fault::Status(status, None)),
        None => fault,
    };
    match fault {
        Some(Fault::Status(code, retry_after)) => {
            let body = format!("{{\"error\":\"scripted\",\"message\":\"scripted {code}\"}}");
            let extra = retry_after.map(|r| format!("Retry-After: {r}\r\n")).unwrap_or_default();
            let _ = write!(
                stream,
                "HTTP/1.1 {code} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
        Some(Fault::Hang) => {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Some(Fault::CutBody(n)) => {
            let (status, headers, body) = forward(upstream.as_deref(), &path, range.as_deref());
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body[..n.min(body.len())]);
        }
        Some(Fault::TruncatedJson(n)) => {
            let (status, headers, body) = forward(upstream.as_deref(), &path, range.as_deref());
            let body = &body[..n.min(body.len())];
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
        None => {
            let (status, headers, body) = forward(upstream.as_deref(), &path, range.as_deref());
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    }
    let _ = stream.flush();
}

/// The upstream's answer: status, the headers worth passing on, body.
fn forward(upstream: Option<&str>, path: &str, range: Option<&str>) -> (u16, String, Vec<u8>) {
    let Some(base) = upstream else {
        return (
            404,
            String::new(),
            b"{\"error\":\"Not Found\",\"message\":\"no upstream\"}".to_vec(),
        );
    };
    let client = reqwest::blocking::Client::new();
    let mut req = client.get(format!("{base}{path}"));
    if let Some(r) = range {
        req = req.header("Range", r);
    }
    let resp = req.send().expect("upstream mirror answers");
    let status = resp.status().as_u16();
    let mut headers = String::new();
    for name in ["content-type", "content-range"] {
        if let Some(v) = resp.headers().get(name) {
            headers.push_str(&format!("{name}: {}\r\n", v.to_str().unwrap()));
        }
    }
    (status, headers, resp.bytes().unwrap().to_vec())
}

/// Wheels for what the standard snapshot's packs require (numpy, segment-anything, piexif), so
/// environments that install them resolve offline.
pub fn build_pack_requirement_wheels(dir: &Path) {
    use super::wheel::{WheelSpec, build_wheel};
    for (name, version) in [("numpy", "1.26.4"), ("segment-anything", "1.0"), ("piexif", "1.1.3")] {
        build_wheel(
            dir,
            &WheelSpec {
                name,
                version,
                requires: &[],
                body: "",
            },
        );
    }
}
