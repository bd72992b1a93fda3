//! The registry client against the real `registry serve` over loopback: search, snapshots,
//! retries, timeouts, the offline cache, and getting packs into the store safely.

use crate::support::TestContext;
use crate::support::registry::{
    Fault, FaultyServer, FixtureVersion, Mirror, SnapshotFixture, escaping_zip, impact_1_10_zip, run_with,
    standard_snapshot, zip_archive,
};
use comfydock::python::node_requirements;
use comfydock::registry::{ClientOptions, RegistryClient, RegistryError, VersionSpec, fetch_and_extract};
use comfydock::store::{self, StoreError};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

fn url_env(url: &str) -> Vec<(&'static str, String)> {
    vec![("COMFYDOCK_REGISTRY_URL", url.to_string())]
}

fn run(t: &TestContext, envs: &[(&'static str, String)], args: &[&str]) -> crate::support::Run {
    let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run_with(t, &envs, args)
}

fn client(url: &str) -> RegistryClient {
    let mut o = ClientOptions::from_env(None);
    o.base_url = url.to_string();
    RegistryClient::new(o, None).unwrap()
}

fn line_of<'a>(stdout: &'a str, id: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(&format!("{id} ")))
        .unwrap_or_else(|| panic!("no line for {id} in:\n{stdout}"))
}

#[test]
fn node_find_shows_the_semver_latest_never_deprecated_or_banned() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let mirror = Mirror::start(&standard_snapshot(&t.path("snap")).save());
    let env = url_env(&mirror.url);

    let r = run(&t, &env, &["node", "find", "example"]);
    r.success();
    // 1.10.0 > 1.9.0 by semver; 2.0.0 is deprecated and 3.0.0 banned.
    let impact = line_of(&r.stdout, "example-impact");
    assert!(
        impact.contains("Example Impact Pack") && impact.contains(" 1.10.0 "),
        "{impact}"
    );
    assert!(impact.trim_end().ends_with("250000"), "{impact}");
    assert!(line_of(&r.stdout, "example-text").contains(" 2.0.0 "));
    assert!(line_of(&r.stdout, "example-banned").contains("(banned)"));

    let r = run(&t, &env, &["node", "find", "text", "--json"]);
    r.success();
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["total"], 1);
    assert_eq!(doc["nodes"][0]["id"], "example-text");
    assert_eq!(doc["nodes"][0]["latest_version"], "2.0.0");
    assert_eq!(doc["nodes"][0]["downloads"], 5000);

    run(&t, &env, &["node", "find", "no-such-thing"])
        .success()
        .stderr_has("No node packs match");
}

#[test]
fn snapshot_of_a_mirror_serves_the_same_answers_and_archives() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let original = t.path("snap-a");
    let mirror_a = Mirror::start(&standard_snapshot(&original).save());

    let copy = t.path("snap-b");
    run(
        &t,
        &url_env(&mirror_a.url),
        &[
            "registry",
            "snapshot",
            "--out",
            copy.to_str().unwrap(),
            "--nodes",
            "example-impact,example-text",
        ],
    )
    .success()
    .stderr_has("2 packs");
    let mirror_b = Mirror::start(&copy);

    // Same answers from the copy (each through its own cache-free first call).
    let find = |url: &str| {
        let r = run(
            &t,
            &[
                ("COMFYDOCK_REGISTRY_URL", url.to_string()),
                ("COMFYDOCK_REGISTRY_TTL", "0".into()),
            ],
            &["node", "find", "example", "--json"],
        );
        r.success();
        let mut doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        doc["registry"] = serde_json::Value::Null;
        doc
    };
    let a = find(&mirror_a.url);
    let b = find(&mirror_b.url);
    // The copy was asked for two packs only.
    let a_wanted: Vec<_> = a["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["id"] != "example-banned")
        .cloned()
        .collect();
    assert_eq!(b["nodes"].as_array().unwrap(), &a_wanted);

    // The copy took only the latest version; its archive is served by the copy, byte for byte.
    let c = client(&mirror_b.url);
    let versions = c.versions("example-impact").unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version.as_str()).collect::<Vec<_>>(),
        ["1.10.0"]
    );
    let url = &versions[0].download_url;
    assert!(url.starts_with(&format!("{}/files/", mirror_b.url)), "{url}");
    let got = reqwest::blocking::get(url).unwrap().bytes().unwrap();
    assert_eq!(Sha256::digest(&got), Sha256::digest(impact_1_10_zip()));
    // Node-class metadata came along, JSON strings and u64 maxima intact.
    let classes = c.comfy_nodes("example-impact", "1.10.0").unwrap().unwrap();
    let detailer = classes.iter().find(|n| n.comfy_node_name == "ExampleDetailer").unwrap();
    assert_eq!(
        detailer.inputs().unwrap()["required"]["seed"][1]["max"].as_u64(),
        Some(u64::MAX)
    );
    assert_eq!(
        c.pack_for_node_class("SAMLoader").unwrap().unwrap().id,
        "example-impact"
    );
}

#[test]
fn server_errors_are_retried_then_succeed() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let mirror = Mirror::start(&standard_snapshot(&t.path("snap")).save());
    let flaky = FaultyServer::start(
        Some(&mirror.url),
        vec![Fault::Status(500, None), Fault::Status(503, None)],
    );

    let r = run(&t, &url_env(&flaky.url), &["node", "find", "text"]);
    r.success().stderr_has("HTTP 500").stderr_has("retrying");
    assert!(line_of(&r.stdout, "example-text").contains("2.0.0"));
    let search_hits = flaky
        .requests()
        .iter()
        .filter(|s| s.path.starts_with("/nodes/search"))
        .count();
    assert_eq!(search_hits, 3, "two failures, then the answer");
}

#[test]
fn too_many_requests_waits_as_long_as_retry_after_says() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let mirror = Mirror::start(&standard_snapshot(&t.path("snap")).save());
    let limited = FaultyServer::start(Some(&mirror.url), vec![Fault::Status(429, Some("1"))]);

    let start = Instant::now();
    let r = run(&t, &url_env(&limited.url), &["node", "find", "text"]);
    r.success().stderr_has("429").stderr_has("retrying in 1.0s");
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
}

#[test]
fn a_hanging_registry_fails_in_time_naming_the_url() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let hang = FaultyServer::start(None, vec![Fault::Hang, Fault::Hang]);
    let env = vec![
        ("COMFYDOCK_REGISTRY_URL", hang.url.clone()),
        ("COMFYDOCK_HTTP_TIMEOUT", "0.3".to_string()),
        ("COMFYDOCK_HTTP_RETRIES", "1".to_string()),
    ];
    let start = Instant::now();
    let r = run(&t, &env, &["node", "find", "text"]);
    r.failure()
        .stderr_has(&format!("{}/nodes/search?search=text", hang.url))
        .stderr_has("timed out")
        .stderr_has("after 2 attempts")
        .stderr_has("COMFYDOCK_REGISTRY_URL");
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    // A server that refuses connections fails the same clear way.
    drop(hang);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    run(
        &t,
        &[
            ("COMFYDOCK_REGISTRY_URL", closed.clone()),
            ("COMFYDOCK_HTTP_RETRIES", "0".into()),
        ],
        &["node", "find", "x"],
    )
    .failure()
    .stderr_has("could not connect")
    .stderr_has(&closed);
}

#[test]
fn offline_answers_from_the_cache_and_names_what_is_missing() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let mirror = Mirror::start(&standard_snapshot(&t.path("snap")).save());
    let url = mirror.url.clone();
    let env = url_env(&url);
    let online = run(&t, &env, &["node", "find", "example"]);
    online.success();
    assert!(t.workspace.join(".metadata/api_cache.db").is_file());
    drop(mirror);

    let offline = run(&t, &env, &["--offline", "node", "find", "example"]);
    offline.success();
    assert_eq!(offline.stdout, online.stdout);

    run(&t, &env, &["--offline", "node", "find", "impact"])
        .failure()
        .stderr_has(&format!("no cached answer for {url}/nodes/search?search=impact"))
        .stderr_has("without --offline");

    // Online with everything stale and the registry gone: the cache still answers, with a warning.
    let stale = vec![
        ("COMFYDOCK_REGISTRY_URL", url.clone()),
        ("COMFYDOCK_REGISTRY_TTL", "0".to_string()),
        ("COMFYDOCK_HTTP_RETRIES", "0".to_string()),
    ];
    run(&t, &stale, &["node", "find", "example"])
        .success()
        .stdout_has("example-impact")
        .stderr_has("using the answer cached");
}

#[test]
fn resolve_pins_by_semver_and_refuses_what_is_not_there() {
    let t = TestContext::new();
    let mirror = Mirror::start(&standard_snapshot(&t.path("snap")).save());
    let c = client(&mirror.url);
    let latest = c.resolve("example-impact", &VersionSpec::Latest).unwrap();
    assert_eq!(latest.version, "1.10.0");
    assert!(latest.download_url.starts_with(&mirror.url));
    assert_eq!(
        c.resolve("example-impact", &VersionSpec::parse("<1.10").unwrap())
            .unwrap()
            .version,
        "1.9.0"
    );
    // Asked for exactly, a deprecated version is given, with a warning to show.
    let old = c
        .resolve("example-impact", &VersionSpec::parse("2.0.0").unwrap())
        .unwrap();
    assert!(old.warning().unwrap().contains("deprecated"));
    match c.resolve("example-impact", &VersionSpec::parse("9.9.9").unwrap()) {
        Err(e @ RegistryError::NoVersion { .. }) => {
            let help = miette::Diagnostic::help(&e).unwrap().to_string();
            assert!(
                help.contains("1.10.0") && help.contains("2.0.0 (deprecated)") && help.contains("3.0.0 (banned)"),
                "{help}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.resolve("nope", &VersionSpec::Latest),
        Err(RegistryError::UnknownNode { .. })
    ));
    assert!(matches!(
        c.resolve("example-banned", &VersionSpec::Latest),
        Err(RegistryError::BannedNode { .. })
    ));
}

#[test]
fn fetch_and_extract_stores_the_tree_by_hash_and_reads_requirements() {
    let t = TestContext::new();
    let mirror = Mirror::start(&standard_snapshot(&t.path("snap")).save());
    let c = client(&mirror.url);
    let store_dir = t.path("store");

    let zip = c.resolve("example-impact", &VersionSpec::Latest).unwrap();
    let got = fetch_and_extract(&c, &store_dir, &zip, None).unwrap();
    assert_eq!(got.path, store_dir.join("nodes").join(got.tree_hash.hex()));
    assert!(got.path.join("nodes/detailer.py").is_file());
    // The extracted pack is what resolution reads its requirements from.
    assert_eq!(
        node_requirements(&got.path).unwrap().requirements.accepted,
        ["numpy>=1.0", "segment-anything"]
    );
    assert_eq!(got.archive.sha256.hex(), hex::encode(Sha256::digest(impact_1_10_zip())));
    // Fetching again with the recorded hash finds everything in place.
    let again = fetch_and_extract(&c, &store_dir, &zip, Some(&got.archive.sha256)).unwrap();
    assert!(again.already_in_store);
    assert_eq!(again.tree_hash, got.tree_hash);

    // A tar.gz with one top-level folder: the pack is inside it; requirements from pyproject.
    let tgz = c.resolve("example-text", &VersionSpec::Latest).unwrap();
    let text = fetch_and_extract(&c, &store_dir, &tgz, None).unwrap();
    assert!(text.path.join("__init__.py").is_file());
    assert_eq!(node_requirements(&text.path).unwrap().requirements.accepted, ["piexif"]);
    // No staging leftovers.
    let leftovers: Vec<_> = std::fs::read_dir(&store_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".staging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn unsafe_truncated_or_substituted_archives_are_refused() {
    let t = TestContext::new();
    let mut snap = SnapshotFixture::new(&t.path("snap"));
    let good = zip_archive(&[("__init__.py", b"# good\n"), ("big.bin", &[7u8; 20_000])]);
    snap.add_pack(
        "evil",
        "Evil",
        1,
        "NodeStatusActive",
        vec![FixtureVersion::active("1.0.0", "node.zip", escaping_zip())],
    );
    snap.add_pack(
        "cut",
        "Cut",
        1,
        "NodeStatusActive",
        vec![FixtureVersion::active(
            "1.0.0",
            "node.zip",
            good[..good.len() / 2].to_vec(),
        )],
    );
    snap.add_pack(
        "good",
        "Good",
        1,
        "NodeStatusActive",
        vec![FixtureVersion::active("1.0.0", "node.zip", good.clone())],
    );
    let mirror = Mirror::start(&snap.save());
    let c = client(&mirror.url);
    let store_dir = t.path("store");

    let evil = c.resolve("evil", &VersionSpec::Latest).unwrap();
    match fetch_and_extract(&c, &store_dir, &evil, None) {
        Err(RegistryError::Store(StoreError::UnsafeEntry { entry, .. })) => assert_eq!(entry, "../escaped.py"),
        other => panic!("{other:?}"),
    }
    assert!(!t.path("escaped.py").exists() && !store_dir.join("escaped.py").exists());

    let cut = c.resolve("cut", &VersionSpec::Latest).unwrap();
    let err = fetch_and_extract(&c, &store_dir, &cut, None).unwrap_err();
    assert!(
        matches!(err, RegistryError::Store(StoreError::Corrupt { .. })),
        "{err:?}"
    );

    let good_pin = c.resolve("good", &VersionSpec::Latest).unwrap();
    let wrong: comfydock::types::Sha256 = "0".repeat(64).parse().unwrap();
    let err = fetch_and_extract(&c, &store_dir, &good_pin, Some(&wrong)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(wrong.hex()) && text.contains(&hex::encode(Sha256::digest(&good))),
        "{text}"
    );
    // Nothing of the refused archives reached the store's trees.
    assert_eq!(
        std::fs::read_dir(store_dir.join("nodes"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

#[test]
fn downloads_resume_where_the_connection_broke() {
    let t = TestContext::new();
    // Incompressible content, so the archive is as large as the data and the cut lands inside it.
    let mut x = 0x2545_f491u32;
    let noise: Vec<u8> = (0..200_000)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect();
    let bytes = zip_archive(&[("big.bin", &noise)]);
    let mut snap = SnapshotFixture::new(&t.path("snap"));
    snap.add_pack(
        "big",
        "Big",
        1,
        "NodeStatusActive",
        vec![FixtureVersion::active("1.0.0", "node.zip", bytes.clone())],
    );
    let mirror = Mirror::start(&snap.save());
    let flaky = FaultyServer::start(Some(&mirror.url), vec![Fault::CutBody(50_000)]);

    let http = store::Http::new(store::HttpConfig::default());
    let url = format!("{}/files/big/1.0.0/node.zip", flaky.url);
    let got = store::download(&http, &url, &t.path("downloads"), None, &comfydock::progress::Silent).unwrap();
    assert_eq!(got.sha256.hex(), hex::encode(Sha256::digest(&bytes)));
    assert_eq!(std::fs::read(&got.path).unwrap(), bytes);
    let seen = flaky.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        seen[1].range.as_deref(),
        Some("bytes=50000-"),
        "the second request resumes"
    );
}

#[test]
fn the_mirror_reads_nothing_outside_its_snapshot() {
    let t = TestContext::new();
    std::fs::write(t.path("secret.txt"), "secret").unwrap();
    let mirror = Mirror::start(&standard_snapshot(&t.path("snap")).save());
    for path in [
        "/files/example-impact/1.10.0/..%2F..%2F..%2Fsecret.txt",
        "/files/example-impact/1.10.0/../../../secret.txt",
        "/files/..%2F..%2Fsecret.txt/1.10.0/node.zip",
        "/registry-snapshot.json",
    ] {
        let resp = reqwest::blocking::get(format!("{}{path}", mirror.url)).unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().unwrap();
        assert!(status == 404 && !body.contains("secret"), "{path}: {status} {body}");
    }

    // A snapshot naming a file outside its folder does not start at all.
    let mut evil = SnapshotFixture::new(&t.path("evil"));
    evil.add_pack("x", "X", 1, "NodeStatusActive", vec![]);
    let dir = evil.save();
    let text = std::fs::read_to_string(dir.join("registry-snapshot.json")).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["packs"][0]["versions"] =
        serde_json::json!([{"node_version": {"version": "1.0.0"}, "archive": "../secret.txt"}]);
    std::fs::write(dir.join("registry-snapshot.json"), doc.to_string()).unwrap();
    t.run(&[
        "registry",
        "serve",
        "--snapshot",
        dir.to_str().unwrap(),
        "--addr",
        "127.0.0.1:0",
    ])
    .failure()
    .stderr_has("must not contain `..`");
}

#[test]
fn a_whole_registry_snapshot_fetches_packs_side_by_side_and_keeps_their_order() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let mut fixture = SnapshotFixture::new(&t.path("snap-a"));
    let packs = 24;
    let archives: Vec<Vec<u8>> = (0..packs)
        .map(|i| zip_archive(&[("__init__.py", format!("# pack {i}\n").as_bytes())]))
        .collect();
    for (i, archive) in archives.iter().enumerate() {
        fixture.add_pack(
            &format!("pack-{i:02}"),
            &format!("Pack {i}"),
            1000 - i as u64,
            "NodeStatusActive",
            vec![FixtureVersion::active("1.0.0", "node.zip", archive.clone())],
        );
    }
    let mirror = Mirror::start(&fixture.save());
    // Each answer takes 100 ms: one pack after another, the 3 requests of 24 packs take 7 s.
    let slow = FaultyServer::start(Some(&mirror.url), Vec::new());
    slow.set_delay(Duration::from_millis(100));
    let listed: Vec<String> = client(&mirror.url)
        .all_nodes()
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(listed.len(), packs);

    let copy = t.path("snap-b");
    let started = Instant::now();
    run(
        &t,
        &url_env(&slow.url),
        &["registry", "snapshot", "--out", copy.to_str().unwrap()],
    )
    .success()
    .stderr_has("24 archives downloaded");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "{took:?}: packs are fetched side by side"
    );

    // The packs in the order the registry lists them, each archive byte for byte.
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(copy.join("registry-snapshot.json")).unwrap()).unwrap();
    let ids: Vec<&str> = doc["packs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["node"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, listed);
    for p in doc["packs"].as_array().unwrap() {
        let i: usize = p["node"]["id"].as_str().unwrap()[5..].parse().unwrap();
        let v = &p["versions"][0];
        let bytes = std::fs::read(copy.join(v["archive"].as_str().unwrap())).unwrap();
        assert_eq!(bytes, archives[i]);
        assert_eq!(v["sha256"].as_str().unwrap(), hex::encode(Sha256::digest(&bytes)));
    }
    assert!(!copy.join(".partial").exists(), "no scratch left");

    // Again: every archive is reused.
    run(
        &t,
        &url_env(&mirror.url),
        &["registry", "snapshot", "--out", copy.to_str().unwrap()],
    )
    .success()
    .stderr_has("0 archives downloaded")
    .stderr_has("24 already present");
}
