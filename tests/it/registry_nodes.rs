//! Registry packs as nodes: node add/update/remove through plan and apply, against
//! `registry serve` on 127.0.0.1; the store shared between environments; refusals that leave
//! the environment as it was.

use crate::support::registry::{
    FixtureVersion, Mirror, SnapshotFixture, build_pack_requirement_wheels, escaping_zip, standard_snapshot,
    zip_archive,
};
use crate::support::{TestContext, tree};
use std::fs;
use std::path::Path;

fn with_registry(t: &TestContext, url: &str, args: &[&str]) -> crate::support::Run {
    crate::support::Run::from(t.cmd().env("COMFYDOCK_REGISTRY_URL", url).args(args).output().unwrap())
}

#[test]
fn registry_packs_are_added_updated_and_removed_through_plan_and_apply() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let mirror = Mirror::start(&standard_snapshot(&t.path("snapshot")).save());
    build_pack_requirement_wheels(&t.wheels);
    let nodes = env.join("ComfyUI/custom_nodes");

    with_registry(&t, &mirror.url, &["node", "add", "example-impact@1.9.0"])
        .success()
        .stdout_has("+ node example-impact 1.9.0 (registry)");
    assert_eq!(
        fs::read_to_string(nodes.join("example-impact/__init__.py")).unwrap(),
        "# 1.9.0\n"
    );
    let lock = fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap();
    for key in [
        "source = \"registry\"",
        "registry_id = \"example-impact\"",
        "version = \"1.9.0\"",
        "sha256 = \"sha256:",
        "url = \"http://127.0.0.1:",
    ] {
        assert!(lock.contains(key), "{key} not in\n{lock}");
    }
    with_registry(&t, &mirror.url, &["plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.");

    // Update picks the newest by semver (1.10.0 > 1.9.0), never the deprecated 2.0.0 or banned 3.0.0.
    with_registry(&t, &mirror.url, &["node", "update", "example-impact"])
        .success()
        .stderr_has("pinned to 1.9.0 in the manifest")
        .stdout_has("No changes.");
    with_registry(
        &t,
        &mirror.url,
        &["node", "update", "example-impact", "--version", "latest"],
    )
    .success()
    .stdout_has("~ node example-impact 1.9.0 -> 1.10.0 (registry)");
    assert!(
        fs::read_to_string(nodes.join("example-impact/__init__.py"))
            .unwrap()
            .contains("SAMLoader")
    );
    with_registry(&t, &mirror.url, &["node", "list"])
        .success()
        .stdout_has("example-impact")
        .stdout_has("1.10.0")
        .stdout_has("installed");

    // A tar.gz pack beside it, then removal to the trash.
    with_registry(&t, &mirror.url, &["node", "add", "example-text"]).success();
    assert!(nodes.join("example-text/pyproject.toml").is_file());
    with_registry(&t, &mirror.url, &["node", "remove", "example-impact"])
        .success()
        .stdout_has("- node example-impact (moved to trash)");
    assert!(!nodes.join("example-impact").exists());
    with_registry(&t, &mirror.url, &["plan", "--detailed-exitcode"]).success();
}

#[test]
fn a_second_environment_reuses_the_store_with_the_registry_gone() {
    let t = TestContext::new();
    let first = t.create_env("first");
    let mirror = Mirror::start(&standard_snapshot(&t.path("snapshot")).save());
    build_pack_requirement_wheels(&t.wheels);
    with_registry(&t, &mirror.url, &["node", "add", "example-impact@1.10.0"]).success();
    let repo = t.comfyui_repo.to_str().unwrap();
    t.run(&["create", "second", "--comfyui-repo", repo]).success();
    drop(mirror);

    // A teammate's .cec arrives: the same manifest and locks, applied as they are.
    let second = t.workspace.join("environments/second");
    for f in ["pyproject.toml", "comfydock.lock", "uv.lock"] {
        fs::copy(first.join(".cec").join(f), second.join(".cec").join(f)).unwrap();
    }
    let dead = "http://127.0.0.1:9";
    with_registry(&t, dead, &["-e", "second", "apply", "--yes", "--frozen"])
        .success()
        .stdout_has("+ node example-impact 1.10.0");
    assert!(
        second
            .join("ComfyUI/custom_nodes/example-impact/nodes/detailer.py")
            .is_file()
    );
    with_registry(&t, dead, &["-e", "second", "plan", "--detailed-exitcode"]).success();
}

#[test]
fn a_changed_archive_is_refused_with_both_hashes_and_nothing_changes() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let snapshot = t.path("snapshot");
    let mirror = Mirror::start(&standard_snapshot(&snapshot).save());
    build_pack_requirement_wheels(&t.wheels);
    with_registry(&t, &mirror.url, &["node", "add", "example-impact@1.9.0"]).success();
    let lock_path = env.join(".cec/comfydock.lock");
    let lock = fs::read_to_string(&lock_path).unwrap();

    // The published archive changes under the same version, and this machine has nothing cached.
    let other = zip_archive(&[("__init__.py", b"# not what was locked\n")]);
    fs::write(snapshot.join("archives/example-impact/1.9.0/node.zip"), other).unwrap();
    for dir in ["store/nodes", "store/downloads"] {
        let _ = fs::remove_dir_all(t.workspace.join(dir));
    }
    let nodes = env.join("ComfyUI/custom_nodes");
    fs::remove_dir_all(nodes.join("example-impact")).unwrap();
    let before = tree(&env);
    let out = with_registry(&t, &mirror.url, &["apply", "--yes", "--frozen"]);
    out.failure().stderr_has("sha256");
    let locked_sha = lock
        .lines()
        .find(|l| l.starts_with("sha256 = "))
        .unwrap()
        .split("sha256:")
        .nth(1)
        .unwrap()
        .trim_end_matches('"');
    assert!(
        out.stderr.contains(locked_sha),
        "the expected hash is named:\n{}",
        out.stderr
    );
    assert_eq!(tree(&env), before, "nothing in the environment changed");
    assert_eq!(fs::read_to_string(&lock_path).unwrap(), lock);
}

#[test]
fn an_escaping_archive_is_refused_and_the_manifest_is_restored() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let mut snapshot = SnapshotFixture::new(&t.path("snapshot"));
    snapshot.add_pack(
        "example-evil",
        "Evil",
        1,
        "NodeStatusActive",
        vec![FixtureVersion::active("1.0.0", "node.zip", escaping_zip())],
    );
    let mirror = Mirror::start(&snapshot.save());
    let manifest = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    let before = tree(&env);
    with_registry(&t, &mirror.url, &["node", "add", "example-evil"]).failure();
    assert_eq!(fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap(), manifest);
    assert_eq!(tree(&env), before);
    assert!(!Path::new(&t.path("escaped.txt")).exists());
}

#[test]
fn several_packs_resolve_at_once_into_a_fresh_cache() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let mut snapshot = SnapshotFixture::new(&t.path("snapshot"));
    let ids: Vec<String> = (0..6).map(|i| format!("pack-{i}")).collect();
    for id in &ids {
        let init = format!("NODE_CLASS_MAPPINGS = {{'{id}': object}}\n");
        snapshot.add_pack(
            id,
            id,
            1,
            "NodeStatusActive",
            vec![FixtureVersion::active(
                "1.0.0",
                "node.zip",
                zip_archive(&[("__init__.py", init.as_bytes())]),
            )],
        );
    }
    let mirror = Mirror::start(&snapshot.save());
    // No registry answer is cached yet: every resolver thread opens the cache at the same time.
    assert!(!t.workspace.join(".metadata/api_cache.db").exists());
    let mut args = vec!["node", "add"];
    args.extend(ids.iter().map(String::as_str));
    with_registry(&t, &mirror.url, &args).success();
    for id in &ids {
        assert!(
            env.join("ComfyUI/custom_nodes").join(id).join("__init__.py").is_file(),
            "{id}"
        );
    }
}
