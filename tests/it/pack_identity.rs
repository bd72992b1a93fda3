//! Pack identity: tracked workflows credit the packs the environment really has (read
//! statically from their code, in the styles real packs use), resolution prefers them, a
//! workflow's registry stamp pins its version, and models in subfolders are placed and found.

use crate::support::packs::{schema_pack, styled_pack, styled_types, unstamped_workflow};
use crate::support::registry::{FixtureVersion, Mirror, SnapshotFixture, zip_archive};
use crate::support::{Run, TestContext, placed_model};
use std::fs;
use std::path::{Path, PathBuf};

fn user_workflow(env: &Path, name: &str, text: &str) -> PathBuf {
    let dir = env.join("ComfyUI/user/default/workflows");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.json"));
    fs::write(&path, text).unwrap();
    path
}

fn pyproject(env: &Path) -> String {
    fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap()
}

#[test]
fn a_declared_pack_is_credited_for_the_types_its_code_registers() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let fancy = styled_pack(&t.path("packs/ComfyUI-Fancy-Nodes"), "Fancy");
    let schema = schema_pack(&t.path("packs/Schema-Pack"), "Fancy");
    t.run(&["node", "add", fancy.to_str().unwrap(), schema.to_str().unwrap()])
        .success();
    let text = pyproject(&env);
    let fancy_id = if text.contains("[tool.comfydock.nodes.ComfyUI-Fancy-Nodes]") {
        "ComfyUI-Fancy-Nodes"
    } else {
        panic!("the pack's id: {text}")
    };

    let mut types = styled_types("Fancy");
    types.push("FancySchema".into());
    types.push("KSampler".into());
    user_workflow(&env, "fancy flow", &unstamped_workflow(&types));
    let analyzed = t.run(&[
        "analyze",
        "--json",
        env.join("ComfyUI/user/default/workflows/fancy flow.json")
            .to_str()
            .unwrap(),
    ]);
    let doc: serde_json::Value = serde_json::from_str(&analyzed.success().stdout).unwrap();
    let nodes = doc["files"][0]["resolution"]["nodes"].as_array().unwrap();
    for n in nodes.iter().filter(|n| n["node_type"] != "KSampler") {
        assert_eq!(n["rule"], "installed", "{n}");
    }

    let tracked = t.run(&["workflow", "track", "fancy flow"]);
    tracked.success();
    assert!(
        !tracked.stderr.contains("does not declare"),
        "every type is provided by a declared pack:\n{}",
        tracked.stderr
    );
    let text = pyproject(&env);
    assert!(
        text.contains(&format!("nodes = [\"Schema-Pack\", \"{fancy_id}\"]"))
            || text.contains(&format!("nodes = [\"{fancy_id}\", \"Schema-Pack\"]")),
        "requires names both packs:\n{text}"
    );

    // Removing a pack the workflow needs is marked, in text and JSON.
    t.run(&["node", "remove", fancy_id, "--no-apply"]).success();
    t.run(&["plan"]).success().stdout_has(&format!(
        "- node {fancy_id} (moved to trash)  (required by workflows fancy flow)"
    ));
    let json = t.run(&["plan", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.success().stdout).unwrap();
    let remove = doc["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == format!("node.{fancy_id}"))
        .expect("a remove action");
    assert_eq!(remove["details"]["required_by"], serde_json::json!(["fancy flow"]));
}

#[test]
fn resolve_takes_a_pack_another_environment_has_installed() {
    let t = TestContext::new();
    let first = t.create_env("first");
    let fancy = styled_pack(&t.path("packs/ComfyUI-Fancy-Nodes"), "Fancy");
    t.run(&["-e", "first", "node", "add", fancy.to_str().unwrap()])
        .success();
    assert!(first.join("ComfyUI/custom_nodes").is_dir());

    let repo = t.comfyui_repo.to_str().unwrap();
    t.run(&["create", "second", "--comfyui-repo", repo]).success();
    let second = t.workspace.join("environments/second");
    user_workflow(&second, "flow", &unstamped_workflow(&styled_types("Fancy")));
    t.run(&["-e", "second", "workflow", "track", "flow"])
        .success()
        .stderr_has("does not declare");
    let resolved = t.run(&["-e", "second", "workflow", "resolve", "flow", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&resolved.success().stdout).unwrap();
    let node = &doc["nodes"][0];
    assert_eq!(node["spec"]["source"], "git", "{doc:#}");
    assert_eq!(node["spec"]["repository"], fancy.to_str().unwrap(), "{doc:#}");
    assert!(
        node["reason"]
            .as_str()
            .unwrap()
            .contains("installed in environment `first`"),
        "{doc:#}"
    );
    t.run(&["-e", "second", "workflow", "resolve", "flow"]).success();
    let text = pyproject(&second);
    assert!(text.contains("nodes = [\"ComfyUI-Fancy-Nodes\"]"), "{text}");
}

#[test]
fn a_registry_stamp_with_a_version_pins_that_version() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let mut snapshot = SnapshotFixture::new(&t.path("snapshot"));
    let archive = |v: &str| {
        zip_archive(&[(
            "__init__.py",
            format!("NODE_CLASS_MAPPINGS = {{'Stamped': object}}\n# {v}\n").as_bytes(),
        )])
    };
    snapshot.add_pack(
        "stamped-pack",
        "Stamped pack",
        10,
        "NodeStatusActive",
        vec![
            FixtureVersion::active("1.0.0", "a.zip", archive("1.0.0")),
            FixtureVersion::active("1.1.0", "b.zip", archive("1.1.0")),
        ],
    );
    let mirror = Mirror::start(&snapshot.save());
    let registry = |args: &[&str]| {
        Run::from(
            t.cmd()
                .env("COMFYDOCK_REGISTRY_URL", &mirror.url)
                .args(args)
                .output()
                .unwrap(),
        )
    };
    user_workflow(
        &env,
        "stamped",
        r#"{"nodes":[{"id":1,"type":"Stamped","properties":{"cnr_id":"stamped-pack","ver":"1.0.0"},"widgets_values":[]}],"links":[],"version":0.4}"#,
    );
    registry(&["workflow", "track", "stamped"]).success();
    registry(&["workflow", "resolve", "stamped", "--auto"]).success();
    let text = pyproject(&env);
    assert!(
        text.contains("registry_id = \"stamped-pack\"") && text.contains("version = \"1.0.0\""),
        "{text}"
    );
    assert_eq!(
        fs::read_to_string(env.join("ComfyUI/custom_nodes/stamped-pack/__init__.py")).unwrap(),
        "NODE_CLASS_MAPPINGS = {'Stamped': object}\n# 1.0.0\n"
    );
}

#[test]
fn a_model_in_a_subfolder_is_placed_where_the_workflow_looks() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let content: Vec<u8> = (0..3000u32).map(|i| (i * 31 % 251) as u8).collect();
    let indexed = t.workspace.join("models/checkpoints/SD1.5/dream_v2.safetensors");
    fs::create_dir_all(indexed.parent().unwrap()).unwrap();
    fs::write(&indexed, &content).unwrap();
    t.run(&["model", "scan"]).success();
    user_workflow(
        &env,
        "sd15",
        r#"{"nodes":[{"id":1,"type":"CheckpointLoaderSimple","widgets_values":["SD1.5\\dream_v2.safetensors"]}],"links":[],"version":0.4}"#,
    );
    t.run(&["workflow", "track", "sd15"]).success();
    t.run(&["workflow", "resolve", "sd15"]).success();
    let text = pyproject(&env);
    assert!(text.contains("filename = \"SD1.5/dream_v2.safetensors\""), "{text}");
    assert!(text.contains("models = [\"dream_v2\"]"), "{text}");
    let placed = placed_model(&env, "checkpoints/SD1.5/dream_v2.safetensors");
    assert_eq!(fs::read(&placed).unwrap(), content);
    t.run(&["plan", "--detailed-exitcode"]).success();
    // Tracked again after an edit: the declared model is found by its path.
    t.run(&["workflow", "status"]).success().stdout_has("in sync");
}

#[test]
fn snapshot_import_and_node_add_name_a_repository_alike() {
    let t = TestContext::new();
    let added = t.create_env("added");
    let with_meta = crate::support::repos::node_pack_with(
        &t.path("packs/Fancy-Repo"),
        "FancyNode",
        &[(
            "pyproject.toml",
            "[project]\nname = \"comfyui-fancy-repo\"\nversion = \"1.0.0\"\n",
        )],
    );
    let plain = crate::support::repos::node_pack(&t.path("packs/ComfyUI-Plain"), "PlainNode");
    t.run(&["node", "add", with_meta.to_str().unwrap(), plain.to_str().unwrap()])
        .success();

    let commit = |p: &Path| crate::support::repos::git(p, &["rev-parse", "HEAD"]);
    let comfyui = crate::support::repos::git(&t.comfyui_repo, &["rev-parse", "HEAD"]);
    let snapshot = serde_json::json!({
        "comfyui": comfyui,
        "git_custom_nodes": {
            with_meta.to_str().unwrap(): {"hash": commit(&with_meta), "disabled": false},
            plain.to_str().unwrap(): {"hash": commit(&plain), "disabled": false},
        },
        "cnr_custom_nodes": {},
        "pips": {},
    });
    let file = t.path("snapshot.json");
    fs::write(&file, serde_json::to_vec_pretty(&snapshot).unwrap()).unwrap();
    let repo = t.comfyui_repo.to_str().unwrap();
    t.run(&[
        "import",
        "--manager-snapshot",
        file.to_str().unwrap(),
        "--name",
        "imported",
        "--comfyui-repo",
        repo,
    ])
    .success();
    let imported = t.workspace.join("environments/imported");
    for env in [&added, &imported] {
        let text = pyproject(env);
        assert!(
            text.contains("[tool.comfydock.nodes.comfyui-fancy-repo]")
                && text.contains("[tool.comfydock.nodes.ComfyUI-Plain]"),
            "{}: {text}",
            env.display()
        );
        // Folders as `git clone` names them, whatever the key.
        assert!(env.join("ComfyUI/custom_nodes/Fancy-Repo/__init__.py").is_file());
        assert!(env.join("ComfyUI/custom_nodes/ComfyUI-Plain/__init__.py").is_file());
        assert!(!env.join("ComfyUI/custom_nodes/comfyui-fancy-repo").exists());
    }
    t.run(&["-e", "imported", "plan", "--detailed-exitcode"]).success();
    t.run(&["-e", "imported", "verify"]).success();
    let lock: toml::Value = toml::from_str(&fs::read_to_string(imported.join(".cec/comfydock.lock")).unwrap()).unwrap();
    assert_eq!(
        lock["nodes"]["comfyui-fancy-repo"]["folder"].as_str(),
        Some("Fancy-Repo")
    );
    crate::schemas::assert_valid(
        &crate::schemas::schema("lock.schema.json"),
        &serde_json::to_value(lock).unwrap(),
    );
}

#[test]
fn an_ambiguous_choice_names_every_candidate_and_why_the_first_won() {
    let t = TestContext::new();
    let repo = t.comfyui_repo.to_str().unwrap();
    t.run(&["init"]).success();
    for (env, pack) in [("alpha", "Alpha-Nodes"), ("beta", "Beta-Nodes")] {
        t.run(&["create", env, "--comfyui-repo", repo]).success();
        let path = styled_pack(&t.path(&format!("packs/{pack}")), "Shared");
        t.run(&["-e", env, "node", "add", path.to_str().unwrap()]).success();
    }
    t.run(&["create", "third", "--comfyui-repo", repo]).success();
    let third = t.workspace.join("environments/third");
    user_workflow(&third, "flow", &unstamped_workflow(&["SharedResize+".to_string()]));
    t.run(&["-e", "third", "workflow", "track", "flow"]).success();
    // No terminal, no --auto: the choice is listed with the reasons, and nothing changes.
    t.run(&["-e", "third", "workflow", "resolve", "flow"])
        .failure()
        .stderr_has("SharedResize+: provided by several packs:")
        .stderr_has("Alpha-Nodes (installed in environment `alpha` of this workspace)")
        .stderr_has("Beta-Nodes (installed in environment `beta` of this workspace)");
    let json = t.run(&["-e", "third", "workflow", "resolve", "flow", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["choices"][0]["candidates"].as_array().unwrap().len(), 2, "{doc:#}");
    // --auto takes the first and says why, naming the other.
    t.run(&["-e", "third", "workflow", "resolve", "flow", "--auto"])
        .success()
        .stderr_has("2 packs provide SharedResize+; chose Alpha-Nodes (installed in environment `alpha`")
        .stderr_has("over ");
    assert!(third.join("ComfyUI/custom_nodes/Alpha-Nodes/__init__.py").is_file());
}
