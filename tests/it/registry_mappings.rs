//! Node mappings from a cache built against the real `registry serve`: keys as published
//! (`Type::sha1[:8]` and `Type::_`), ranks, deterministic bytes, the output filter, the Manager
//! merge (core into `builtin`, synthetic packs, preemptions, patterns) and `registry validate`.

use crate::support::registry::{Mirror, run_with};
use crate::support::registry_data::GeneratedRegistry;
use crate::support::{Run, TestContext};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn run(t: &TestContext, args: &[&str]) -> Run {
    run_with(t, &[], args)
}

/// A cache of a generated registry of 12 packs, built through `registry serve`.
fn cache(t: &TestContext, reg: &GeneratedRegistry) -> PathBuf {
    let upstream = Mirror::start(&reg.save(&t.path("upstream")));
    let out = t.path("cache");
    run_with(
        t,
        &[("COMFYDOCK_REGISTRY_URL", upstream.url.as_str())],
        &["registry", "cache", "build", "--out", out.to_str().unwrap()],
    )
    .success();
    out
}

/// Every error of `doc` against schema/node-mappings.schema.json.
fn schema_errors(doc: &Value) -> Vec<String> {
    let path = Path::new(crate::support::MANIFEST_DIR).join("schema/node-mappings.schema.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn ids(entries: &Value) -> Vec<(String, u64)> {
    entries
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {entries}"))
        .iter()
        .map(|e| {
            (
                e["package_id"].as_str().unwrap().to_string(),
                e["rank"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn mappings_build_is_deterministic_with_published_keys_and_ranks() {
    let t = TestContext::new();
    let dir = cache(&t, &GeneratedRegistry::new(21, 3, 2));
    let (a, b) = (t.path("a.json"), t.path("b.json"));
    for out in [&a, &b] {
        run(
            &t,
            &[
                "registry",
                "mappings",
                "build",
                "--cache",
                dir.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        )
        .success();
    }
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "same cache, same bytes"
    );

    let m = read(&a);
    assert_eq!(schema_errors(&m), Vec::<String>::new());
    // `text:STRING` hashes to 692ec41a (the published test vector): packs 0 and 20 share it
    // (20 ranks first: more downloads and stars), packs 5 and 15 have another signature, pack
    // 10 has no metadata; the name-only key lists all four.
    assert_eq!(
        ids(&m["mappings"]["SharedNode::692ec41a"]),
        vec![("pack-020".into(), 1), ("pack-000".into(), 2)]
    );
    let shared = ids(&m["mappings"]["SharedNode::_"]);
    assert_eq!(shared.len(), 4, "{shared:?}");
    assert_eq!(m["mappings"]["SharedNode::_"][0]["versions"], json!(["1.2.0"]));
    assert!(m["mappings"]["Pack001Node0::_"].is_array());
    // pack-003 has no metadata: a package, but no keys.
    assert!(m["packages"]["pack-003"]["versions"]["1.0.0"].is_object());
    assert!(m["mappings"].get("Pack003Node0::_").is_none());
    assert_eq!(
        m["packages"]["pack-001"]["repository"],
        "https://github.com/gen-org/pack-001"
    );
    assert_eq!(m["stats"]["packages"], 21);

    // The output filter drops what it says and nothing else.
    let schema = t.path("schema.toml");
    std::fs::write(
        &schema,
        "[packages]\ndownloads = false\n[versions]\nchangelog = false\ndependencies = false\n[mappings]\n",
    )
    .unwrap();
    let filtered = t.path("filtered.json");
    run(
        &t,
        &[
            "registry",
            "mappings",
            "build",
            "--cache",
            dir.to_str().unwrap(),
            "--out",
            filtered.to_str().unwrap(),
            "--schema",
            schema.to_str().unwrap(),
        ],
    )
    .success();
    let f = read(&filtered);
    assert!(f["packages"]["pack-001"].get("downloads").is_none());
    assert!(f["packages"]["pack-001"]["github_stars"].is_number());
    assert!(
        f["packages"]["pack-001"]["versions"]["1.2.0"]
            .get("dependencies")
            .is_none()
    );
    assert_eq!(f["packages"]["pack-001"]["versions"]["1.2.0"]["version"], "1.2.0");
    assert_eq!(f["packages"]["pack-001"]["versions"]["1.2.0"]["deprecated"], false);
}

#[test]
fn augment_merges_manager_data_with_core_preemptions_and_patterns() {
    let t = TestContext::new();
    let dir = cache(&t, &GeneratedRegistry::new(12, 1, 1));
    let mappings = t.path("m.json");
    run(
        &t,
        &[
            "registry",
            "mappings",
            "build",
            "--cache",
            dir.to_str().unwrap(),
            "--out",
            mappings.to_str().unwrap(),
        ],
    )
    .success();
    let manager = t.path("extension-node-map.json");
    let map = json!({
        "https://github.com/comfyanonymous/ComfyUI": [["KSampler", "LoadImage", "SharedCore"], {"title_aux": "ComfyUI"}],
        "https://github.com/Gen-Org/pack-002.git": [["Pack002Node0", "ExtraNode"], {"title_aux": "Pack 2"}],
        "git@github.com:someone/Manager-Only.git": [["ManagerOnlyNode", "SharedNode"], {"title_aux": "Manager Only", "preemptions": ["SharedNode"]}],
        "https://github.com/other/patterned": [[], {"title_aux": "Patterned", "nodename_pattern": "^Pat[A-Z]\\w+$"}],
        "https://github.com/other/broken-pattern": [["Broken"], {"nodename_pattern": "(unclosed"}],
        "https://example.org/x/y": [["Ignored"], {}]
    });
    std::fs::write(&manager, serde_json::to_vec(&json!({"extensions": map})).unwrap()).unwrap();
    let out = t.path("augmented.json");
    run(
        &t,
        &[
            "registry",
            "mappings",
            "augment",
            "--mappings",
            mappings.to_str().unwrap(),
            "--manager",
            manager.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .success()
    .stderr_has("not a valid regular expression")
    .stderr_has("1 repositories on unsupported hosts skipped");
    let m = read(&out);
    assert_eq!(schema_errors(&m), Vec::<String>::new());

    // ComfyUI core is the builtin set, not a package.
    assert_eq!(m["builtin"], json!(["KSampler", "LoadImage", "SharedCore"]));
    assert!(m["packages"].get("manager_comfyanonymous_comfyui").is_none());
    assert!(m["mappings"].get("KSampler::_").is_none());
    // A Manager repo that is a registry pack (URL spelled differently) adds to that pack.
    assert_eq!(ids(&m["mappings"]["ExtraNode::_"]), vec![("pack-002".into(), 1)]);
    assert_eq!(m["mappings"]["ExtraNode::_"][0]["source"], "manager");
    // A Manager-only repo becomes a synthetic pack, and its preemption ranks it first.
    let synthetic = &m["packages"]["manager_someone_manager_only"];
    assert_eq!(synthetic["source"], "manager");
    assert_eq!(synthetic["display_name"], "Manager Only");
    assert_eq!(synthetic["repository"], "https://github.com/someone/manager-only");
    let shared = ids(&m["mappings"]["SharedNode::_"]);
    assert_eq!(shared[0], ("manager_someone_manager_only".to_string(), 1), "{shared:?}");
    assert_eq!(shared.len(), 3, "packs 0 and 5, and the Manager-only one: {shared:?}");
    // Patterns are kept (valid ones only); unsupported hosts are skipped.
    assert_eq!(
        m["patterns"],
        json!([{"package_id": "manager_other_patterned", "pattern": "^Pat[A-Z]\\w+$"}])
    );
    assert!(m["mappings"].get("Ignored::_").is_none());
    assert_eq!(m["stats"]["augmented"], true);

    run(
        &t,
        &[
            "registry",
            "validate",
            "--cache",
            dir.to_str().unwrap(),
            "--mappings",
            out.to_str().unwrap(),
        ],
    )
    .success()
    .stderr_has("Valid: 12 packs");
}

#[test]
fn validate_reports_every_problem_and_exits_1() {
    let t = TestContext::new();
    let dir = cache(&t, &GeneratedRegistry::new(6, 2, 1));
    let mappings = t.path("m.json");
    run(
        &t,
        &[
            "registry",
            "mappings",
            "build",
            "--cache",
            dir.to_str().unwrap(),
            "--out",
            mappings.to_str().unwrap(),
        ],
    )
    .success();
    run(
        &t,
        &[
            "registry",
            "validate",
            "--cache",
            dir.to_str().unwrap(),
            "--mappings",
            mappings.to_str().unwrap(),
        ],
    )
    .success();

    let mut m = read(&mappings);
    m["mappings"]["Ghost::_"] = json!([{"package_id": "no-such-pack", "versions": [], "rank": 1}]);
    m["mappings"]["Empty::_"] = json!([]);
    m["mappings"]["SharedNode::_"][0]["rank"] = json!(2);
    m["mappings"]["Pack001Node0::_"][0]["versions"] = json!(["9.9.9"]);
    std::fs::write(&mappings, serde_json::to_vec(&m).unwrap()).unwrap();
    // The cache changed after its checksum and counts were written.
    let snap = dir.join("registry-snapshot.json");
    let mut doc = read(&snap);
    doc["packs"].as_array_mut().unwrap().pop();
    std::fs::write(&snap, serde_json::to_vec(&doc).unwrap()).unwrap();

    let r = run(
        &t,
        &[
            "registry",
            "validate",
            "--cache",
            dir.to_str().unwrap(),
            "--mappings",
            mappings.to_str().unwrap(),
        ],
    );
    r.failure()
        .stderr_has("names package no-such-pack which is not in `packages`")
        .stderr_has("\"Empty::_\" lists no package")
        .stderr_has("has rank 2 at position 1")
        .stderr_has("pack-001 has no version 9.9.9")
        .stderr_has("stats.signatures is")
        .stderr_has("registry-snapshot.json.sha256 says")
        .stderr_has("counts packs = 6, the cache holds 5")
        .stderr_has("package pack-005 is in the mappings but not in the cache");
}

#[test]
fn augment_with_stats_and_no_mappings_ranks_manager_packs_by_stars_then_names() {
    use crate::support::manager_data::{self, ManagerData};
    let t = TestContext::new();
    let dir = t.path("manager");
    ManagerData::new().save(&dir);
    let out = t.path("from-manager.json");
    let file = |n: &str| dir.join(n).to_str().unwrap().to_string();
    run(
        &t,
        &[
            "registry",
            "mappings",
            "augment",
            "--manager",
            &file("extension-node-map.json"),
            "--stats",
            &file("github-stats.json"),
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .success();
    let doc = read(&out);
    assert!(schema_errors(&doc).is_empty(), "{:?}", schema_errors(&doc));
    let tidy = &doc["packages"]["manager_alice_tidy_nodes"];
    assert_eq!(tidy["github_stars"], 1234);
    assert_eq!(tidy["git_url"], manager_data::TIDY);
    assert_eq!(tidy["last_update"], "2026-10-01 10:00:00");
    assert_eq!(
        ids(&doc["mappings"]["ResizeImage+::_"]),
        vec![
            ("manager_alice_tidy_nodes".to_string(), 1),
            ("manager_aardvark_copycat_pack".to_string(), 2)
        ]
    );
    assert_eq!(
        ids(&doc["mappings"]["Knob (widgets)::_"])[0].0,
        "manager_bob_widget_suite",
        "no stars for either: the name decides"
    );
    // Without --stats every Manager pack has 0 stars and only the name separates them.
    run(
        &t,
        &[
            "registry",
            "mappings",
            "augment",
            "--manager",
            &file("extension-node-map.json"),
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .success();
    let doc = read(&out);
    assert_eq!(doc["packages"]["manager_alice_tidy_nodes"]["github_stars"], 0);
    assert_eq!(
        ids(&doc["mappings"]["ResizeImage+::_"])[0].0,
        "manager_alice_tidy_nodes"
    );
    // A stats file of another shape is refused.
    std::fs::write(
        t.path("bad-stats.json"),
        r#"{"https://github.com/a/b": {"stars": "lots"}}"#,
    )
    .unwrap();
    run(
        &t,
        &[
            "registry",
            "mappings",
            "augment",
            "--manager",
            &file("extension-node-map.json"),
            "--stats",
            t.path("bad-stats.json").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .failure()
    .stderr_has("github-stats.json");
}
