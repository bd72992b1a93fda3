//! `registry cache build` against the real `registry serve` (through a counting, fault-injecting
//! proxy): the three phases, incremental refreshes that cost only the pack pages, never removing
//! data, checkpoints that survive kill -9, and faults retried or reported per pack.

use crate::support::registry::{Fault, FaultyServer, Mirror, run_with};
use crate::support::registry_data::{GeneratedRegistry, pack_id};
use crate::support::{Run, TestContext, on_a_terminal};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::{Duration, Instant};

fn build(t: &TestContext, url: &str, out: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["registry", "cache", "build", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_with(
        t,
        &[("COMFYDOCK_REGISTRY_URL", url), ("COMFYDOCK_HTTP_RETRIES", "2")],
        &args,
    )
}

fn cache(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("registry-snapshot.json")).unwrap()).unwrap()
}

fn pack<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["packs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["node"]["id"] == id)
        .unwrap_or_else(|| panic!("no pack {id}"))
}

fn version<'a>(pack: &'a Value, v: &str) -> &'a Value {
    pack["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node_version"]["version"] == v)
        .unwrap_or_else(|| panic!("no version {v}"))
}

#[test]
fn three_phases_fill_a_cache_that_the_mirror_serves() {
    let t = TestContext::new();
    let reg = GeneratedRegistry::new(12, 3, 2);
    let upstream = Mirror::start(&reg.save(&t.path("upstream")));
    let proxy = FaultyServer::start(Some(&upstream.url), vec![]);
    let out = t.path("cache");
    let history = t.path("history");
    build(
        &t,
        &proxy.url,
        &out,
        &["--history", history.to_str().unwrap(), "--concurrency", "3"],
    )
    .success()
    .stderr_has("12 packs (12 new");

    let doc = cache(&out);
    assert_eq!(doc["packs"].as_array().unwrap().len(), 12);
    let p0 = pack(&doc, "pack-000");
    assert!(p0["first_seen"].is_string() && p0["last_checked"].is_string());
    assert_eq!(p0["versions"].as_array().unwrap().len(), 3);
    // Node classes for the newest version only (--max-versions 1), with the explicit limit.
    let newest = version(p0, "1.2.0");
    assert_eq!(newest["comfy_nodes"].as_array().unwrap().len(), 3, "2 own + SharedNode");
    assert!(version(p0, "1.0.0").get("comfy_nodes").is_none());
    assert!(
        proxy
            .requests()
            .iter()
            .filter(|s| s.path.contains("/comfy-nodes"))
            .all(|s| s.path.contains("limit=100"))
    );
    // pack-003 has no metadata upstream: a 404, recorded as checked with none.
    let p3 = version(pack(&doc, "pack-003"), "1.2.0");
    assert!(
        p3["metadata_checked"].is_string() && p3.get("comfy_nodes").is_none(),
        "{p3}"
    );

    // metadata.json, the sha256 sidecar and the dated history copy.
    let meta: Value = serde_json::from_slice(&std::fs::read(out.join("metadata.json")).unwrap()).unwrap();
    assert_eq!(meta["counts"]["packs"], 12);
    assert_eq!(meta["counts"]["versions"], 36);
    assert_eq!(meta["source"], proxy.url.as_str());
    let bytes = std::fs::read(out.join("registry-snapshot.json")).unwrap();
    let sha = hex::encode(Sha256::digest(&bytes));
    let sidecar = std::fs::read_to_string(out.join("registry-snapshot.json.sha256")).unwrap();
    assert_eq!(sidecar, format!("{sha}  registry-snapshot.json\n"));
    let gz: Vec<_> = walkdir::WalkDir::new(&history)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.path().to_string_lossy().ends_with(".json.gz"))
        .collect();
    assert_eq!(gz.len(), 1, "{gz:?}");
    let rel = gz[0].path().strip_prefix(&history).unwrap();
    assert_eq!(rel.components().count(), 3, "YYYY/MM/file: {rel:?}");

    // The cache is a snapshot: `registry serve` serves it.
    let served = Mirror::start(&out);
    let resp = reqwest::blocking::get(format!(
        "{}/nodes/pack-000/versions/1.2.0/comfy-nodes?limit=100",
        served.url
    ))
    .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let page: Value = resp.json().unwrap();
    assert_eq!(page["comfy_nodes"].as_array().unwrap().len(), 3);
    let resp = reqwest::blocking::get(format!("{}/nodes/pack-003/versions/1.2.0/comfy-nodes", served.url)).unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

#[test]
fn a_refresh_with_nothing_changed_costs_only_the_pack_pages() {
    let t = TestContext::new();
    let mut reg = GeneratedRegistry::new(150, 2, 1);
    let out = t.path("cache");
    {
        let upstream = Mirror::start(&reg.save(&t.path("up1")));
        build(&t, &upstream.url, &out, &[]).success();
    }
    let upstream = Mirror::start(&reg.save(&t.path("up2")));
    let proxy = FaultyServer::start(Some(&upstream.url), vec![]);
    build(&t, &proxy.url, &out, &[]).success();
    let paths: Vec<String> = proxy.requests().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths.len(),
        2,
        "150 packs are 2 pages of 100, and nothing else: {paths:?}"
    );
    assert!(paths.iter().all(|p| p.starts_with("/nodes?")), "{paths:?}");
    // A new folder seeded with --input from the existing cache costs the same.
    let proxy = FaultyServer::start(Some(&upstream.url), vec![]);
    build(
        &t,
        &proxy.url,
        &t.path("cache-copy"),
        &["--input", out.to_str().unwrap()],
    )
    .success();
    assert_eq!(proxy.requests().len(), 2, "{:?}", proxy.requests());
    assert_eq!(cache(&t.path("cache-copy"))["packs"].as_array().unwrap().len(), 150);

    // One pack publishes a version: only that pack costs more.
    reg.add_version(42, "2.0.0");
    let upstream = Mirror::start(&reg.save(&t.path("up3")));
    let proxy = FaultyServer::start(Some(&upstream.url), vec![]);
    build(&t, &proxy.url, &out, &[]).success();
    let other: Vec<String> = proxy
        .requests()
        .into_iter()
        .map(|s| s.path)
        .filter(|p| !p.starts_with("/nodes?"))
        .collect();
    assert_eq!(
        other,
        vec![
            "/nodes/pack-042/versions".to_string(),
            "/nodes/pack-042/versions/2.0.0/comfy-nodes?page=1&limit=100".to_string()
        ]
    );
    let doc = cache(&out);
    assert!(version(pack(&doc, "pack-042"), "2.0.0")["comfy_nodes"].is_array());
}

#[test]
fn nothing_is_removed_when_packs_and_versions_disappear_upstream() {
    let t = TestContext::new();
    let mut reg = GeneratedRegistry::new(6, 3, 1);
    let out = t.path("cache");
    {
        let upstream = Mirror::start(&reg.save(&t.path("up1")));
        build(&t, &upstream.url, &out, &["--max-versions", "0"]).success();
    }
    reg.remove_pack(4);
    reg.remove_version(1, "1.0.0");
    reg.set_version_field(1, "1.1.0", "deprecated", Value::Bool(true));
    reg.set_version_field(1, "1.2.0", "status", Value::String("NodeVersionStatusBanned".into()));
    reg.add_version(1, "1.3.0");
    let upstream = Mirror::start(&reg.save(&t.path("up2")));
    build(&t, &upstream.url, &out, &["--max-versions", "0"])
        .success()
        .stderr_has("1 vanished");

    let doc = cache(&out);
    let gone = pack(&doc, &pack_id(4));
    assert!(gone["vanished_at"].is_string(), "{}", gone["vanished_at"]);
    assert_eq!(gone["versions"].as_array().unwrap().len(), 3, "its versions are kept");
    let p1 = pack(&doc, &pack_id(1));
    assert!(version(p1, "1.0.0")["vanished_at"].is_string());
    assert!(version(p1, "1.0.0")["comfy_nodes"].is_array(), "node classes kept");
    assert_eq!(version(p1, "1.1.0")["node_version"]["deprecated"], true);
    assert_eq!(
        version(p1, "1.2.0")["node_version"]["status"],
        "NodeVersionStatusBanned"
    );
    assert!(version(p1, "1.3.0")["first_seen"].is_string());
    assert!(pack(&doc, &pack_id(0))["vanished_at"].is_null());

    // The pack comes back: no longer marked.
    let reg = GeneratedRegistry::new(6, 3, 1);
    let upstream = Mirror::start(&reg.save(&t.path("up3")));
    build(&t, &upstream.url, &out, &[]).success();
    assert!(pack(&cache(&out), &pack_id(4))["vanished_at"].is_null());
}

#[test]
fn faults_are_retried_and_a_pack_that_keeps_failing_is_reported() {
    let t = TestContext::new();
    let reg = GeneratedRegistry::new(8, 2, 1);
    let upstream = Mirror::start(&reg.save(&t.path("up")));
    let proxy = FaultyServer::start(
        Some(&upstream.url),
        vec![
            Fault::Status(429, Some("1")),
            Fault::Status(500, None),
            Fault::TruncatedJson(30),
        ],
    );
    proxy.fail_always("/nodes/pack-005/versions", 500);
    let out = t.path("cache");
    let start = Instant::now();
    let r = build(&t, &proxy.url, &out, &["--concurrency", "1"]);
    r.failure()
        .stderr_has("pack-005 (versions)")
        .stderr_has("HTTP 500")
        .stderr_has("1 pack(s) could not be fetched");
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    // The page answered 429 then 500 then cut-off JSON was asked again until it was whole.
    assert!(proxy.count("/nodes?") >= 4, "{:?}", proxy.requests());
    let doc = cache(&out);
    assert_eq!(doc["packs"].as_array().unwrap().len(), 8);
    assert!(pack(&doc, "pack-005")["synced"].is_null());
    assert!(pack(&doc, "pack-006")["synced"].is_string());

    // The next build retries only what failed, and succeeds.
    let proxy = FaultyServer::start(Some(&upstream.url), vec![]);
    build(&t, &proxy.url, &out, &[]).success();
    let versions: Vec<String> = proxy
        .requests()
        .into_iter()
        .map(|s| s.path)
        .filter(|p| p.ends_with("/versions"))
        .collect();
    assert_eq!(versions, vec!["/nodes/pack-005/versions".to_string()]);
}

#[test]
fn a_build_killed_mid_way_resumes_from_its_last_checkpoint() {
    let t = TestContext::new();
    let reg = GeneratedRegistry::new(40, 1, 1);
    let upstream = Mirror::start(&reg.save(&t.path("up")));
    let slow = FaultyServer::start(Some(&upstream.url), vec![]);
    slow.set_delay(Duration::from_millis(60));
    let out = t.path("cache");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("comfydock"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &t.home)
        .env("COMFYDOCK_HOME", &t.workspace)
        .env("COMFYDOCK_REGISTRY_URL", &slow.url)
        .args(["registry", "cache", "build", "--out", out.to_str().unwrap()])
        .args(["--concurrency", "1", "--checkpoint-interval", "5", "--no-metadata"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let synced = |doc: &Value| {
        doc["packs"]
            .as_array()
            .map_or(0, |ps| ps.iter().filter(|p| p["synced"].is_string()).count())
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let at_kill = loop {
        assert!(Instant::now() < deadline, "no checkpoint appeared");
        if let Ok(bytes) = std::fs::read(out.join("registry-snapshot.json"))
            && let Ok(doc) = serde_json::from_slice::<Value>(&bytes)
            && synced(&doc) >= 10
        {
            break synced(&doc);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // SIGKILL: no chance to save anything more.
    child.kill().unwrap();
    child.wait().unwrap();
    let doc = cache(&out);
    let kept = synced(&doc);
    assert!(kept >= at_kill && kept < 40, "killed too late to test anything: {kept}");
    assert_eq!(kept % 5, 0, "checkpoints hold whole batches of 5: {kept}");

    let proxy = FaultyServer::start(Some(&upstream.url), vec![]);
    build(&t, &proxy.url, &out, &["--no-metadata"]).success();
    assert_eq!(
        proxy.count("/nodes/pack-"),
        40 - kept,
        "only the packs after the checkpoint"
    );
    assert_eq!(synced(&cache(&out)), 40);
}

#[test]
fn archives_are_fetched_only_with_the_flag_and_hashed() {
    let t = TestContext::new();
    let upstream = Mirror::start(&crate::support::registry::standard_snapshot(&t.path("up")).save());
    let out = t.path("cache");
    build(&t, &upstream.url, &out, &[]).success();
    assert!(!out.join("archives").exists());
    build(&t, &upstream.url, &out, &["--archives"]).success();
    let doc = cache(&out);
    // The newest version by semver of example-impact is 3.0.0 (banned, still kept and marked).
    let v = version(pack(&doc, "example-impact"), "3.0.0");
    assert_eq!(v["node_version"]["status"], "NodeVersionStatusBanned");
    let rel = v["archive"].as_str().unwrap();
    let bytes = std::fs::read(out.join(rel)).unwrap();
    assert_eq!(v["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert!(version(pack(&doc, "example-impact"), "1.9.0").get("archive").is_none());
    // The cache serves its archives like any snapshot.
    let served = Mirror::start(&out);
    let resp = reqwest::blocking::get(format!("{}/files/example-impact/3.0.0/node.zip", served.url)).unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(&resp.bytes().unwrap()[..], &bytes[..]);
}

#[test]
fn progress_bars_on_a_terminal_and_milestone_lines_in_logs() {
    let t = TestContext::new();
    let reg = GeneratedRegistry::new(30, 2, 2);
    let upstream = Mirror::start(&reg.save(&t.path("upstream")));
    let url = upstream.url.as_str();
    let envs = [("COMFYDOCK_REGISTRY_URL", url)];

    let terminal = on_a_terminal(&t, &envs, &["registry", "cache", "build", "--out", "cache-tty"]);
    for bar in ["pack pages", "versions (packs)", "node classes (packs)"] {
        assert!(terminal.contains(bar), "no {bar:?} bar on the terminal:\n{terminal}");
    }

    let log = build(&t, url, &t.path("cache-log"), &[]);
    let stderr = &log.success().stderr;
    assert!(!stderr.contains('\u{1b}'), "escape codes in a log:\n{stderr}");
    assert!(!stderr.contains("versions (packs)"), "a bar in a log:\n{stderr}");
    assert!(stderr.contains("versions: 30/30 packs (checkpoint saved)"), "{stderr}");
}
