//! A real S3 API on 127.0.0.1: moto in server mode (`pip install "moto[server]"`), one process
//! per test, killed when the handle drops. A test that needs it fails when moto is missing,
//! never skips. Moto accepts unsigned requests, so the tests read, overwrite and delete objects
//! with plain HTTP, as another client of the bucket would. `CutProxy` stands between comfydock
//! and moto and stops, like a server going down, after a number of request bytes.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct S3Server {
    child: Child,
    pub port: u16,
    http: reqwest::blocking::Client,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(name).is_file()))
}

impl S3Server {
    /// Starts moto and waits until it answers; panics (the test fails) when moto is not installed.
    pub fn start() -> Self {
        let port = free_port();
        let mut cmd = if on_path("moto_server") {
            Command::new("moto_server")
        } else {
            let mut c = Command::new("python3");
            c.args(["-m", "moto.server"]);
            c
        };
        let child = cmd
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto is required: pip install \"moto[server]\" (see .ci/run)");
        let mut server = S3Server {
            child,
            port,
            http: reqwest::blocking::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = server.http.get(server.endpoint()).send()
                && r.status().is_success()
            {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("moto_server exited ({status}): pip install \"moto[server]\" (see .ci/run)");
            }
            assert!(Instant::now() < deadline, "moto_server did not answer within 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn url(&self, bucket: &str, key: &str) -> String {
        format!("{}/{bucket}/{key}", self.endpoint())
    }

    pub fn create_bucket(&self, bucket: &str) {
        let r = self.http.put(format!("{}/{bucket}", self.endpoint())).send().unwrap();
        assert!(r.status().is_success(), "create bucket: {}", r.status());
    }

    /// Overwrites (or creates) an object.
    pub fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        let r = self.http.put(self.url(bucket, key)).body(body.to_vec()).send().unwrap();
        assert!(r.status().is_success(), "put {key}: {}", r.status());
    }

    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let r = self.http.get(self.url(bucket, key)).send().unwrap();
        r.status().is_success().then(|| r.bytes().unwrap().to_vec())
    }

    pub fn delete(&self, bucket: &str, key: &str) {
        let r = self.http.delete(self.url(bucket, key)).send().unwrap();
        assert!(r.status().is_success(), "delete {key}: {}", r.status());
    }

    /// Keys under `prefix`, sorted.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let r = self
            .http
            .get(format!("{}/{bucket}?list-type=2&prefix={prefix}", self.endpoint()))
            .send()
            .unwrap()
            .text()
            .unwrap();
        let mut keys: Vec<String> = r
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect();
        keys.sort();
        keys
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP proxy to `upstream` that goes down for good once it has forwarded `budget` bytes of
/// requests: open connections are cut and new ones refused, as when a server stops mid-upload.
pub struct CutProxy {
    pub port: u16,
    stopped: Arc<AtomicBool>,
}

impl CutProxy {
    pub fn start(upstream: u16, budget: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stopped = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let flag = stopped.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break; // The listener drops: later connections are refused.
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                open.lock().unwrap().push(client.try_clone().unwrap());
                open.lock().unwrap().push(server.try_clone().unwrap());
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                // Answers flow back freely.
                std::thread::spawn(move || pipe(s2, c2, None));
                let (flag, sent, open) = (flag.clone(), sent.clone(), open.clone());
                std::thread::spawn(move || {
                    let cut = pipe(client, server, Some((sent, budget)));
                    if cut && !flag.swap(true, Ordering::SeqCst) {
                        for s in open.lock().unwrap().iter() {
                            let _ = s.shutdown(Shutdown::Both);
                        }
                        let _ = TcpStream::connect(("127.0.0.1", port));
                    }
                });
            }
        });
        CutProxy { port, stopped }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn went_down(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
}

/// Copies `from` to `to` until either side closes. With a budget: stops and returns true once
/// the shared count of bytes passes it (the caller then cuts everything).
fn pipe(mut from: TcpStream, mut to: TcpStream, budget: Option<(Arc<AtomicU64>, u64)>) -> bool {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = to.shutdown(Shutdown::Write);
                return false;
            }
            Ok(n) => n,
        };
        if let Some((sent, limit)) = &budget
            && sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64 > *limit
        {
            return true;
        }
        if to.write_all(&buf[..n]).is_err() {
            return false;
        }
    }
}
