//! The JSON Schemas in schema/ describe what comfydock really writes.

use crate::support::registry::{Mirror, build_pack_requirement_wheels, standard_snapshot};
use crate::support::{MANIFEST_DIR, TestContext, repos};
use std::fs;
use std::path::Path;

pub(crate) fn schema(name: &str) -> jsonschema::Validator {
    let text = fs::read_to_string(Path::new(MANIFEST_DIR).join("schema").join(name)).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

pub(crate) fn assert_valid(validator: &jsonschema::Validator, doc: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{doc:#}");
}

#[test]
fn plans_and_locks_match_their_schemas() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let mirror = Mirror::start(&standard_snapshot(&t.path("snapshot")).save());
    build_pack_requirement_wheels(&t.wheels);
    let pack = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    let dev = t.path("dev-node");
    fs::create_dir_all(&dev).unwrap();
    let url = ["COMFYDOCK_REGISTRY_URL", mirror.url.as_str()];
    let run = |args: &[&str]| crate::support::Run::from(t.cmd().env(url[0], url[1]).args(args).output().unwrap());
    run(&["node", "add", pack.to_str().unwrap(), "example-impact", "--no-apply"]).success();
    run(&["node", "add", dev.to_str().unwrap(), "--dev", "--no-apply"]).success();
    fs::create_dir_all(env.join("ComfyUI/custom_nodes/stray")).unwrap();
    let model = t.workspace.join("models/loras/tiny.safetensors");
    fs::create_dir_all(model.parent().unwrap()).unwrap();
    fs::write(&model, b"not really a lora").unwrap();
    run(&[
        "model",
        "add",
        model.to_str().unwrap(),
        "--source",
        "https://example.invalid/tiny.safetensors",
        "--no-apply",
    ])
    .success();

    let plan_schema = schema("plan.schema.json");
    let pending: serde_json::Value = serde_json::from_str(&run(&["plan", "--json"]).stdout).unwrap();
    assert_eq!(pending["lock"], "updated");
    // git node, registry node, dev node, stray folder, model, and the registry pack's Python requirements.
    assert_eq!(pending["actions"].as_array().unwrap().len(), 6, "{pending:#}");
    assert_valid(&plan_schema, &pending);

    run(&["apply", "--yes"]).success();
    let empty: serde_json::Value = serde_json::from_str(&run(&["plan", "--json"]).stdout).unwrap();
    assert_eq!(empty["changes"], false);
    assert_valid(&plan_schema, &empty);

    let lock: toml::Value = toml::from_str(&fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap()).unwrap();
    let lock = serde_json::to_value(lock).unwrap();
    assert_eq!(lock["nodes"].as_object().unwrap().len(), 3);
    assert_eq!(lock["models"]["tiny"]["category"], "loras");
    assert_valid(&schema("lock.schema.json"), &lock);
}

#[test]
fn registry_snapshots_match_their_schema() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let source = standard_snapshot(&t.path("snapshot")).save();
    let mirror = Mirror::start(&source);
    let copy = t.path("copy");
    crate::support::Run::from(
        t.cmd()
            .env("COMFYDOCK_REGISTRY_URL", &mirror.url)
            .args(["registry", "snapshot", "--out", copy.to_str().unwrap()])
            .output()
            .unwrap(),
    )
    .success();
    // The data pipeline's cache is the same format, with its bookkeeping.
    let cache = t.path("cache");
    crate::support::Run::from(
        t.cmd()
            .env("COMFYDOCK_REGISTRY_URL", &mirror.url)
            .args(["registry", "cache", "build", "--out", cache.to_str().unwrap()])
            .output()
            .unwrap(),
    )
    .success();
    let validator = schema("registry-snapshot.schema.json");
    for dir in [&source, &copy, &cache] {
        let doc: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join("registry-snapshot.json")).unwrap()).unwrap();
        assert_valid(&validator, &doc);
    }
}
