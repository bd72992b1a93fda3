//! `registry serve` facing hostile clients and a snapshot folder changed under it: absurd page
//! numbers, archives swapped for symlinks after start, connections that never send anything.

use crate::support::TestContext;
use crate::support::registry::{Mirror, standard_snapshot};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn get(url: &str) -> (u16, String) {
    let resp = reqwest::blocking::get(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = resp.status().as_u16();
    (status, resp.text().unwrap())
}

#[test]
fn absurd_pages_get_400_and_the_mirror_keeps_serving() {
    let t = TestContext::new();
    let mirror = Mirror::start(&standard_snapshot(&t.path("snap")).save());
    let max = u64::MAX;
    for path in [
        format!("/nodes?page={max}&limit=100"),
        format!("/nodes/search?search=example&page={max}&limit=50"),
        format!("/nodes/example-impact/versions/1.10.0/comfy-nodes?page={max}&limit=100"),
        format!("/comfy-nodes?page={max}&pageSize=100"),
        "/nodes?page=abc".to_string(),
        "/nodes?limit=-5".to_string(),
        "/comfy-nodes?page=99999999999999999999999".to_string(),
    ] {
        let (status, body) = get(&format!("{}{path}", mirror.url));
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains("\"message\""), "{path}: {body}");
    }
    // Large but meaningful values are clamped or simply empty, as the API does.
    let (status, body) = get(&format!("{}/nodes?page=1&limit=100000", mirror.url));
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((doc["limit"].as_u64(), doc["total"].as_u64()), (Some(100), Some(3)));
    let (status, body) = get(&format!("{}/nodes?page=4000000000&limit=2", mirror.url));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"nodes\":[]"), "{body}");
    let (status, _) = get(&format!("{}/nodes/example-impact", mirror.url));
    assert_eq!(status, 200);
}

#[test]
fn an_archive_swapped_for_a_symlink_after_start_is_not_followed() {
    let t = TestContext::new();
    let snap = standard_snapshot(&t.path("snap")).save();
    let mirror = Mirror::start(&snap);
    let file_url = format!("{}/files/example-impact/1.10.0/node.zip", mirror.url);
    let resp = reqwest::blocking::get(&file_url).unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let served = resp.bytes().unwrap();
    assert_eq!(
        &served[..],
        &std::fs::read(snap.join("archives/example-impact/1.10.0/node.zip")).unwrap()[..]
    );

    // The file itself becomes a symlink to a secret outside the snapshot.
    std::fs::write(t.path("secret.txt"), "top secret").unwrap();
    let archive = snap.join("archives/example-impact/1.10.0/node.zip");
    std::fs::remove_file(&archive).unwrap();
    std::os::unix::fs::symlink(t.path("secret.txt"), &archive).unwrap();
    let (status, body) = get(&file_url);
    assert!(matches!(status, 403 | 404), "{status} {body}");
    assert!(!body.contains("top secret"), "{body}");

    // A folder on the way becomes a symlink to an outside folder with the same layout.
    let outside = t.path("outside/1.9.0");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("node.zip"), "top secret").unwrap();
    let pack_dir = snap.join("archives/example-impact");
    std::fs::rename(&pack_dir, t.path("moved-away")).unwrap();
    std::os::unix::fs::symlink(t.path("outside"), &pack_dir).unwrap();
    let (status, body) = get(&format!("{}/files/example-impact/1.9.0/node.zip", mirror.url));
    assert!(matches!(status, 403 | 404), "{status} {body}");
    assert!(!body.contains("top secret"), "{body}");

    // Files left alone are still served, ranges included.
    let resp = reqwest::blocking::Client::new()
        .get(format!("{}/files/example-banned/1.0.0/node.zip", mirror.url))
        .header("Range", "bytes=2-")
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 206);
    let whole = std::fs::read(snap.join("archives/example-banned/1.0.0/node.zip")).unwrap();
    assert_eq!(&resp.bytes().unwrap()[..], &whole[2..]);
}

#[test]
fn idle_connections_are_closed_after_the_timeout() {
    let t = TestContext::new();
    let mirror = Mirror::start_with(&standard_snapshot(&t.path("snap")).save(), &["--idle-timeout", "1"]);
    let addr = mirror.url.trim_start_matches("http://").to_string();

    // One connection that never sends a byte, one that goes quiet after a keep-alive request.
    let mut silent = TcpStream::connect(&addr).unwrap();
    let mut kept = TcpStream::connect(&addr).unwrap();
    write!(kept, "GET /nodes/example-text HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    for s in [&silent, &kept] {
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    }
    let start = Instant::now();
    let mut buf = Vec::new();
    let closed = silent.read_to_end(&mut buf);
    assert!(
        matches!(closed, Ok(0))
            || closed
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "{closed:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
    let mut answer = Vec::new();
    let _ = kept.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
}
