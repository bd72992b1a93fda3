//! `node adopt`: folders installed with `git clone` or ComfyUI-Manager become declared packs
//! where they are, and the plan is empty afterwards.

use crate::support::registry::{FixtureVersion, Mirror, SnapshotFixture, zip_archive};
use crate::support::{Run, TestContext, repos};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn inode(path: &Path) -> u64 {
    fs::metadata(path).unwrap().ino()
}

/// A pack repository made by code, then `git clone`d into `custom_nodes/` as a user would.
fn cloned_pack(t: &TestContext, env: &Path, name: &str) -> String {
    let origin = repos::node_pack(&t.path(&format!("origins/{name}")), &format!("{name}Node"));
    let dest = env.join("ComfyUI/custom_nodes").join(name);
    repos::git(
        &env.join("ComfyUI/custom_nodes"),
        &["clone", "--quiet", origin.to_str().unwrap(), name],
    );
    repos::git(&dest, &["rev-parse", "HEAD"])
}

const REG_PYPROJECT: &str = "[project]\nname = \"Manual-Reg\"\nversion = \"1.0.0\"\n";
const REG_INIT: &str = "NODE_CLASS_MAPPINGS = {}\n";

/// A registry snapshot holding `manual-reg` 1.0.0, served on 127.0.0.1.
fn registry(t: &TestContext) -> Mirror {
    let mut s = SnapshotFixture::new(&t.path("snapshot"));
    s.add_pack(
        "manual-reg",
        "Manual Reg",
        10,
        "NodeStatusActive",
        vec![FixtureVersion::active(
            "1.0.0",
            "node.zip",
            zip_archive(&[
                ("__init__.py", REG_INIT.as_bytes()),
                ("pyproject.toml", REG_PYPROJECT.as_bytes()),
            ]),
        )],
    );
    Mirror::start(&s.save())
}

/// The folder ComfyUI-Manager's `cnr_install` leaves: the archive extracted into
/// `custom_nodes/<id>`, and `.tracking` listing the extracted names.
fn manager_install(env: &Path) {
    let dir = env.join("ComfyUI/custom_nodes/manual-reg");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("__init__.py"), REG_INIT).unwrap();
    fs::write(dir.join("pyproject.toml"), REG_PYPROJECT).unwrap();
    fs::write(dir.join(".tracking"), "__init__.py\npyproject.toml").unwrap();
}

fn with_registry(t: &TestContext, url: &str, args: &[&str]) -> Run {
    Run::from(t.cmd().env("COMFYDOCK_REGISTRY_URL", url).args(args).output().unwrap())
}

#[test]
fn a_git_checkout_is_adopted_in_place_at_its_origin_and_commit() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let commit = cloned_pack(&t, &env, "manual-pack");
    let folder = env.join("ComfyUI/custom_nodes/manual-pack");
    let before = inode(&folder);

    // The plan says how to keep it.
    t.run(&["plan"]).code(0).stdout_has(
        "- custom_nodes/manual-pack (untracked; moved to trash; to keep it: comfydock node adopt manual-pack)",
    );

    let run = t.run(&["node", "adopt", "manual-pack", "--json"]);
    run.success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["format_version"], "1");
    assert_eq!(report["adopted"][0]["id"], "manual-pack");
    assert_eq!(report["adopted"][0]["source"], "git");
    assert_eq!(report["adopted"][0]["commit"], commit.as_str());

    // Declared at its origin and commit; the folder never moved and keeps its .git.
    let manifest = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(manifest.contains("[tool.comfydock.nodes.manual-pack]"), "{manifest}");
    assert!(manifest.contains(&format!("rev = \"{commit}\"")), "{manifest}");
    assert!(
        manifest.contains(t.path("origins/manual-pack").to_str().unwrap()),
        "{manifest}"
    );
    assert_eq!(inode(&folder), before);
    assert!(folder.join(".git").is_dir());
    let lock = fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap();
    assert!(lock.contains(&commit), "{lock}");

    t.run(&["plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.");
    // git's own bookkeeping is not drift.
    repos::git(&folder, &["status"]);
    repos::git(&folder, &["gc", "--quiet"]);
    t.run(&["plan", "--detailed-exitcode"]).success();
    t.run(&["node", "list"]).success().stdout_has("installed");
}

#[test]
fn a_manager_registry_install_is_adopted_at_its_version() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let mirror = registry(&t);
    manager_install(&env);
    let folder = env.join("ComfyUI/custom_nodes/manual-reg");
    let before = inode(&folder);

    with_registry(&t, &mirror.url, &["node", "adopt", "manual-reg"])
        .success()
        .stderr_has("Adopted custom_nodes/manual-reg as `manual-reg` (registry manual-reg 1.0.0)");
    let manifest = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(manifest.contains("source = \"registry\""), "{manifest}");
    assert!(manifest.contains("registry_id = \"manual-reg\""), "{manifest}");
    assert!(manifest.contains("version = \"1.0.0\""), "{manifest}");
    assert_eq!(inode(&folder), before);
    assert!(folder.join(".tracking").is_file());
    with_registry(&t, &mirror.url, &["plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.");
}

#[test]
fn a_dirty_checkout_is_refused_naming_the_changed_files() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    cloned_pack(&t, &env, "manual-pack");
    let folder = env.join("ComfyUI/custom_nodes/manual-pack");
    fs::write(folder.join("__init__.py"), "# edited\n").unwrap();
    fs::write(folder.join("notes.txt"), "mine\n").unwrap();
    let manifest = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();

    t.run(&["node", "adopt", "manual-pack"])
        .failure()
        .stderr_has("has changes: __init__.py, notes.txt")
        .stderr_has("--dev");
    assert_eq!(fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap(), manifest);
    assert!(folder.join("notes.txt").is_file());
}

#[test]
fn a_plain_folder_is_refused_with_the_options_and_dev_keeps_it_in_place() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let folder = env.join("ComfyUI/custom_nodes/plain");
    fs::create_dir_all(&folder).unwrap();
    fs::write(folder.join("__init__.py"), "NODE_CLASS_MAPPINGS = {}\n").unwrap();
    let manifest = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();

    t.run(&["node", "adopt", "plain"])
        .failure()
        .stderr_has("neither a git checkout nor a registry pack")
        .stderr_has("comfydock node adopt plain --dev")
        .stderr_has("comfydock node add");
    assert_eq!(fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap(), manifest);

    let before = inode(&folder);
    t.run(&["node", "adopt", "plain", "--dev"])
        .success()
        .stderr_has("(dev, in place at");
    assert!(fs::symlink_metadata(&folder).unwrap().is_dir());
    assert_eq!(inode(&folder), before);
    let manifest = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(manifest.contains("source = \"local\""), "{manifest}");
    t.run(&["plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.");
}

#[test]
fn all_adopts_every_adoptable_folder_and_lists_the_rest() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let mirror = registry(&t);
    cloned_pack(&t, &env, "manual-pack");
    manager_install(&env);
    fs::create_dir_all(env.join("ComfyUI/custom_nodes/plain")).unwrap();
    fs::write(env.join("ComfyUI/custom_nodes/plain/__init__.py"), "").unwrap();

    let run = with_registry(&t, &mirror.url, &["node", "adopt", "--all", "--json"]);
    run.success();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let ids: Vec<&str> = report["adopted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["manual-pack", "manual-reg"]);
    assert_eq!(report["skipped"][0]["folder"], "plain");
    // Nothing but the records changed (the packs need no Python packages): no new generation.
    assert!(report["generation"].is_null(), "{report}");

    // The folder it could not adopt is left where it was, for the next apply to trash.
    assert!(env.join("ComfyUI/custom_nodes/plain/__init__.py").is_file());
    let plan = with_registry(&t, &mirror.url, &["plan", "--json"]);
    let plan: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let actions: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["untracked.plain"], "{plan}");
}
