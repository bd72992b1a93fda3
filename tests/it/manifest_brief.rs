//! The architecture brief's manifest example, every field of it, through the whole loop: parsed,
//! locked and applied offline, the model placed where `local_path` says, the user's workflow
//! labels kept through `workflow sync` and `node add`, and a contradiction refused.

use crate::support::brief::{self, BriefSources};
use crate::support::registry::{FixtureVersion, Mirror, SnapshotFixture, zip_archive};
use crate::support::{Run, TestContext, placed_model, repos};
use std::fs;

fn with_registry(t: &TestContext, url: &str, args: &[&str]) -> Run {
    Run::from(t.cmd().env("COMFYDOCK_REGISTRY_URL", url).args(args).output().unwrap())
}

/// A UI workflow using the impact pack's node and the brief's checkpoint; `steps` varies it.
fn workflow(steps: u32) -> String {
    format!(
        r#"{{"nodes":[
  {{"id":1,"type":"CheckpointLoaderSimple","widgets_values":["sd15_base.safetensors"]}},
  {{"id":2,"type":"KSampler","widgets_values":[1,"fixed",{steps},7.0,"euler","normal",1.0]}},
  {{"id":3,"type":"SAMLoader","properties":{{"cnr_id":"comfyui-impact-pack","ver":"8.8.1"}},"widgets_values":[]}}
],"links":[],"version":0.4}}"#
    )
}

/// The world of the brief: a mirror serving `comfyui-impact-pack` 8.8.1, a git pack on `main`,
/// a local pack, a model file indexed by content. Returns the environment and the mirror.
fn brief_world(t: &TestContext) -> (std::path::PathBuf, Mirror, Vec<u8>) {
    let env = t.create_env("brief");
    let mut snapshot = SnapshotFixture::new(&t.path("snapshot"));
    let archive = zip_archive(&[("__init__.py", b"NODE_CLASS_MAPPINGS = {'SAMLoader': object}\n")]);
    snapshot.add_pack(
        "comfyui-impact-pack",
        "ComfyUI Impact Pack",
        100,
        "NodeStatusActive",
        vec![FixtureVersion::active("8.8.1", "impact.zip", archive)],
    );
    let mirror = Mirror::start(&snapshot.save());

    let git_pack = repos::node_pack(&t.path("packs/my-git-node"), "GitNode");
    repos::git(&git_pack, &["branch", "-M", "main"]);
    let local = t.path("packs/my-dev-node");
    fs::create_dir_all(&local).unwrap();
    fs::write(local.join("__init__.py"), "NODE_CLASS_MAPPINGS = {'DevNode': object}\n").unwrap();

    let content: Vec<u8> = (0..8192u32).map(|i| (i * 13 % 251) as u8).collect();
    let indexed = t.workspace.join("models/checkpoints/v1-5-pruned.safetensors");
    fs::create_dir_all(indexed.parent().unwrap()).unwrap();
    fs::write(&indexed, &content).unwrap();
    t.run(&["model", "scan"]).success();

    let tables = brief::tables(&BriefSources {
        git_repository: &format!("file://{}", git_pack.display()),
        local_path: local.to_str().unwrap(),
        model_hash: &blake3::hash(&content).to_hex(),
        model_size: content.len() as u64,
    });
    let pyproject = env.join(".cec/pyproject.toml");
    let mut text = fs::read_to_string(&pyproject).unwrap();
    text.push_str(&tables);
    fs::write(&pyproject, text).unwrap();
    fs::create_dir_all(env.join(".cec/workflows")).unwrap();
    fs::write(env.join(".cec/workflows/my_workflow.json"), workflow(20)).unwrap();
    (env, mirror, content)
}

#[test]
fn the_briefs_example_is_locked_applied_and_kept_through_edits() {
    let t = TestContext::new();
    let (env, mirror, content) = brief_world(&t);
    let pyproject = env.join(".cec/pyproject.toml");

    with_registry(&t, &mirror.url, &["lock"]).success();
    let lock = fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap();
    assert!(lock.contains("version = \"8.8.1\""), "{lock}");
    with_registry(&t, &mirror.url, &["plan"])
        .success()
        .stdout_has("+ node comfyui-impact-pack 8.8.1 (registry)")
        .stdout_has("models/checkpoints/sd15_base.safetensors");
    with_registry(&t, &mirror.url, &["apply", "--yes"]).success();

    // The model is where `local_path` says, with the declared content.
    let placed = placed_model(&env, "checkpoints/sd15_base.safetensors");
    assert_eq!(fs::read(&placed).unwrap(), content);
    assert!(env.join("ComfyUI/custom_nodes/my-git-node/__init__.py").is_file());
    with_registry(&t, &mirror.url, &["plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.");

    // The labels are shown, in text and JSON.
    t.run(&["workflow", "status"])
        .success()
        .stdout_has("my_workflow 1.0.0")
        .stdout_has("My production workflow");
    let json = t.run(&["workflow", "status", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.success().stdout).unwrap();
    assert_eq!(doc["workflows"][0]["version"], "1.0.0");
    assert_eq!(doc["workflows"][0]["description"], "My production workflow");

    // An edit in ComfyUI taken in by `sync`, then a `node add`: labels and `local_path` stay.
    let copy = env.join("ComfyUI/user/default/workflows/my_workflow.json");
    fs::write(&copy, workflow(30)).unwrap();
    with_registry(&t, &mirror.url, &["workflow", "sync"]).success();
    assert_eq!(
        fs::read_to_string(env.join(".cec/workflows/my_workflow.json")).unwrap(),
        workflow(30)
    );
    let other = repos::node_pack(&t.path("packs/other"), "OtherNode");
    with_registry(&t, &mirror.url, &["node", "add", other.to_str().unwrap()]).success();
    let text = fs::read_to_string(&pyproject).unwrap();
    for kept in [
        "version = \"1.0.0\"",
        "description = \"My production workflow\"",
        "local_path = \"models/checkpoints/sd15_base.safetensors\"",
        "source = \"registry\"                # registry | git | local",
    ] {
        assert!(text.contains(kept), "`{kept}` was lost:\n{text}");
    }
    assert!(
        !text.contains("filename = \"sd15_base.safetensors\""),
        "comfydock rewrote local_path as category + filename:\n{text}"
    );
    let tracked = text
        .split("[tool.comfydock.workflows.tracked.my_workflow]")
        .nth(1)
        .unwrap();
    assert!(
        tracked.contains("\"comfyui-impact-pack\"") && tracked.contains("\"sd15_base\""),
        "{tracked}"
    );
    with_registry(&t, &mirror.url, &["plan", "--detailed-exitcode"]).success();
}

#[test]
fn a_local_path_that_contradicts_category_is_refused_at_its_place() {
    let t = TestContext::new();
    let (env, mirror, _) = brief_world(&t);
    let pyproject = env.join(".cec/pyproject.toml");
    let text = fs::read_to_string(&pyproject).unwrap();
    let lock_before = fs::read(env.join(".cec/comfydock.lock")).unwrap();
    let bad = text.replace(
        "local_path = \"models/checkpoints/sd15_base.safetensors\"",
        "local_path = \"models/checkpoints/sd15_base.safetensors\"\ncategory = \"loras\"",
    );
    fs::write(&pyproject, &bad).unwrap();
    let run = with_registry(&t, &mirror.url, &["plan"]);
    run.failure()
        .stderr_has("category `checkpoints`")
        .stderr_has("`category` says `loras`")
        .stderr_has("pyproject.toml:");
    assert_eq!(fs::read_to_string(&pyproject).unwrap(), bad, "the file was changed");
    assert_eq!(fs::read(env.join(".cec/comfydock.lock")).unwrap(), lock_before);

    // A file name that disagrees, and a path outside `models/`, are refused the same way.
    for (wrong, says) in [
        (
            "filename = \"other.safetensors\"",
            "`filename` says `other.safetensors`",
        ),
        ("", ""),
    ] {
        let line = if wrong.is_empty() {
            "local_path = \"custom_nodes/evil/x.safetensors\"".to_string()
        } else {
            format!("local_path = \"models/checkpoints/sd15_base.safetensors\"\n{wrong}")
        };
        fs::write(
            &pyproject,
            text.replace("local_path = \"models/checkpoints/sd15_base.safetensors\"", &line),
        )
        .unwrap();
        let run = with_registry(&t, &mirror.url, &["plan"]);
        run.failure();
        let wanted = if says.is_empty() {
            "must be `models/<category>/<file>`"
        } else {
            says
        };
        assert!(run.stderr.contains(wanted), "wanted {wanted:?}:\n{}", run.stderr);
    }

    // A typo among the workflow's labels still gets its suggestion.
    fs::write(&pyproject, text.replace("description = ", "descripton = ")).unwrap();
    with_registry(&t, &mirror.url, &["plan"])
        .failure()
        .stderr_has("did you mean `description`?");
}
