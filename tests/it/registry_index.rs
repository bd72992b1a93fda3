//! The consumer side: `registry update` installs published mappings (downloaded with their
//! sha256 sidecar from a real HTTP server) into `.metadata/node_index.db`; `registry status`
//! says what is loaded; `node find --provides` answers from the index, offline; a failed update
//! keeps the old index.

use crate::support::http::HttpServer;
use crate::support::registry::{Mirror, run_with};
use crate::support::registry_data::GeneratedRegistry;
use crate::support::{Run, TestContext};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Mappings of a generated registry of 21 packs, augmented with a small Manager map.
fn published_mappings(t: &TestContext) -> Vec<u8> {
    let upstream = Mirror::start(&GeneratedRegistry::new(21, 2, 1).save(&t.path("upstream")));
    let cache = t.path("cache");
    let m = t.path("node_mappings.json");
    run_with(
        t,
        &[("COMFYDOCK_REGISTRY_URL", upstream.url.as_str())],
        &["registry", "cache", "build", "--out", cache.to_str().unwrap()],
    )
    .success();
    run(
        t,
        &[
            "registry",
            "mappings",
            "build",
            "--cache",
            cache.to_str().unwrap(),
            "--out",
            m.to_str().unwrap(),
        ],
    )
    .success();
    let manager = t.path("extension-node-map.json");
    let map = json!({
        "https://github.com/comfyanonymous/ComfyUI": [["KSampler"], {}],
        "https://github.com/someone/manager-only": [["SharedNode", "OnlyInManager"], {"title_aux": "Manager Only"}],
    });
    std::fs::write(&manager, map.to_string()).unwrap();
    run(
        t,
        &[
            "registry",
            "mappings",
            "augment",
            "--mappings",
            m.to_str().unwrap(),
            "--manager",
            manager.to_str().unwrap(),
        ],
    )
    .success();
    std::fs::read(&m).unwrap()
}

fn run(t: &TestContext, args: &[&str]) -> Run {
    run_with(t, &[], args)
}

fn sidecar(bytes: &[u8]) -> String {
    format!("{}  node_mappings.json\n", hex::encode(Sha256::digest(bytes)))
}

fn status(t: &TestContext) -> Value {
    let r = run(t, &["registry", "status", "--json"]);
    r.success();
    serde_json::from_str(&r.stdout).unwrap()
}

#[test]
fn update_fills_the_index_and_node_find_answers_offline() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    run(&t, &["node", "find", "--provides", "SharedNode"])
        .success()
        .stderr_has("run `comfydock registry update`");

    let bytes = published_mappings(&t);
    let server = HttpServer::start();
    server.serve("/data/node_mappings.json", &bytes);
    server.serve("/data/node_mappings.json.sha256", sidecar(&bytes).as_bytes());
    let url = server.url("/data/node_mappings.json");
    // The default address comes from COMFYDOCK_MAPPINGS_URL.
    run_with(&t, &[("COMFYDOCK_MAPPINGS_URL", url.as_str())], &["registry", "update"])
        .success()
        .stderr_has("Node index updated");
    assert!(t.workspace.join(".metadata/node_index.db").is_file());
    let s = status(&t);
    assert_eq!(s["data"]["source"], url.as_str());
    assert_eq!(s["data"]["sha256"], hex::encode(Sha256::digest(&bytes)));
    assert_eq!(s["data"]["packages"], 22, "21 registry packs and one synthetic");
    assert_eq!(s["data"]["builtin"], 1);
    drop(server);

    // Offline from here on: the server is gone.
    let r = run(&t, &["node", "find", "--provides", "SharedNode", "--json"]);
    r.success();
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let providers: Vec<(&str, &str)> = doc["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["pack_id"].as_str().unwrap(), c["origin"].as_str().unwrap()))
        .collect();
    assert_eq!(providers.len(), 5, "{providers:?}");
    assert_eq!(
        providers[0],
        ("pack-020", "registry"),
        "most downloads and stars first: {providers:?}"
    );
    // A pack known only from ComfyUI-Manager is named by its repository, never by the internal
    // `manager_…` key, which no registry could answer for.
    assert_eq!(
        providers.last().unwrap(),
        &("https://github.com/someone/manager-only", "manager")
    );
    // With the signature, the exact match comes first.
    let r = run(
        &t,
        &[
            "node",
            "find",
            "--provides",
            "SharedNode",
            "--signature",
            "seed:INT|text:STRING",
            "--json",
        ],
    );
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["providers"][0]["pack_id"], "pack-015");
    assert_eq!(doc["providers"][0]["matched"], "signature");
    // The table, a builtin and an unknown type.
    let r = run(&t, &["node", "find", "--provides", "OnlyInManager"]);
    r.success();
    assert!(
        r.stdout.contains("https://github.com/someone/manager-only"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("manager_someone"), "{}", r.stdout);
    run(&t, &["node", "find", "--provides", "KSampler"])
        .success()
        .stderr_has("one of ComfyUI's own node types");
    run(&t, &["node", "find", "--provides", "NoSuchNode"])
        .success()
        .stderr_has("No known pack provides NoSuchNode.");

    // Workflow resolution asks the same index, through the one query interface.
    let workflow = t.path("wf.json");
    std::fs::write(
        &workflow,
        json!({
            "1": { "class_type": "OnlyInManager", "inputs": {} },
            "2": { "class_type": "SharedNode", "inputs": {} },
            "3": { "class_type": "KSampler", "inputs": {} },
        })
        .to_string(),
    )
    .unwrap();
    let r = run(&t, &["workflow", "analyze", workflow.to_str().unwrap(), "--json"]);
    r.success();
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let nodes = doc["files"][0]["resolution"]["nodes"].as_array().unwrap();
    let pack_of = |t: &str| {
        nodes
            .iter()
            .find(|n| n["node_type"] == t)
            .map(|n| n["pack"].as_str().unwrap_or("").to_string())
            .unwrap()
    };
    assert_eq!(
        pack_of("OnlyInManager"),
        "https://github.com/someone/manager-only",
        "{nodes:?}"
    );
    assert_eq!(pack_of("SharedNode"), "pack-020", "best ranked first: {nodes:?}");
}

#[test]
fn a_failed_update_keeps_the_old_index() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let bytes = published_mappings(&t);
    let server = HttpServer::start();
    server.serve("/m.json", &bytes);
    server.serve("/m.json.sha256", sidecar(&bytes).as_bytes());
    run(&t, &["registry", "update", "--from", &server.url("/m.json")]).success();
    let before = status(&t);

    // A file that does not match its sidecar.
    server.serve("/m.json", b"{\"mappings\": {}}");
    run(&t, &["registry", "update", "--from", &server.url("/m.json")]).failure();
    // No sidecar at all.
    server.serve("/other.json", &bytes);
    run(&t, &["registry", "update", "--from", &server.url("/other.json")])
        .failure()
        .stderr_has("sha256 sidecar");
    // A matching sidecar, but not node mappings.
    let junk = b"{\"mappings\": {\"broken\": []}}".to_vec();
    server.serve("/junk.json", &junk);
    server.serve("/junk.json.sha256", sidecar(&junk).as_bytes());
    run(&t, &["registry", "update", "--from", &server.url("/junk.json")])
        .failure()
        .stderr_has("is not `NodeType::signature`");
    // A local file whose sidecar disagrees.
    let local = t.path("local.json");
    std::fs::write(&local, &bytes).unwrap();
    std::fs::write(t.path("local.json.sha256"), sidecar(b"other")).unwrap();
    run(&t, &["registry", "update", "--from", local.to_str().unwrap()])
        .failure()
        .stderr_has("does not match its sha256 sidecar");
    // Without an address: ComfyUI-Manager's data, here at an address that has none.
    run_with(
        &t,
        &[("COMFYDOCK_MANAGER_DATA_URL", server.url("/nothing/").as_str())],
        &["registry", "update"],
    )
    .failure()
    .stderr_has("extension-node-map.json");

    assert_eq!(status(&t)["data"], before["data"], "the old index is untouched");
    run(&t, &["node", "find", "--provides", "SharedNode"]).success();
    // A local file without a sidecar is accepted, and replaces the index.
    std::fs::remove_file(t.path("local.json.sha256")).unwrap();
    run(&t, &["registry", "update", "--from", local.to_str().unwrap()]).success();
    assert_eq!(status(&t)["data"]["source"], local.to_str().unwrap());
}
