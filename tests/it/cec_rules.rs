//! What `.cec` may hold and what comfydock does with it (issue 23): a tracked workflow's file is
//! `workflows/NAME.json`, a regular file read without following links; a workflow name cannot
//! collide with the file comfydock puts beside an edited copy; every edit of the desired state
//! is committed; a dev node's lock entry must name the manifest's folder; gc works without an
//! environment.

use crate::support::{TestContext, repos};
use std::fs;

fn pyproject(env: &std::path::Path) -> std::path::PathBuf {
    env.join(".cec/pyproject.toml")
}

#[test]
fn a_tracked_file_outside_workflows_or_behind_a_link_is_refused() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let text = fs::read_to_string(pyproject(&env)).unwrap();
    // `file = ".git/config"` would publish the push URL (and its token) into ComfyUI.
    fs::write(
        pyproject(&env),
        format!("{text}\n[tool.comfydock.workflows.tracked.leak]\nfile = \".git/config\"\n"),
    )
    .unwrap();
    t.run(&["plan"])
        .failure()
        .stderr_has("tracked workflow `leak` has file = \".git/config\"")
        .stderr_has("\"workflows/leak.json\"");
    assert!(env.join(".cec/.git/config").is_file());

    // The right name, but a link to a file elsewhere: never read, never copied into ComfyUI.
    let secret = t.path("secret.json");
    fs::write(&secret, r#"{"nodes":[],"links":[],"version":0.4}"#).unwrap();
    fs::create_dir_all(env.join(".cec/workflows")).unwrap();
    std::os::unix::fs::symlink(&secret, env.join(".cec/workflows/leak.json")).unwrap();
    fs::write(
        pyproject(&env),
        format!("{text}\n[tool.comfydock.workflows.tracked.leak]\nfile = \"workflows/leak.json\"\n"),
    )
    .unwrap();
    t.run(&["apply", "--yes"]).failure().stderr_has("symbolic link");
    assert!(!env.join("ComfyUI/user/default/workflows/leak.json").exists());
}

#[test]
fn a_workflow_named_like_the_beside_file_is_refused() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let user = env.join("ComfyUI/user/default/workflows");
    fs::create_dir_all(&user).unwrap();
    fs::write(user.join("foo.cec.json"), r#"{"nodes":[],"links":[],"version":0.4}"#).unwrap();
    t.run(&["workflow", "track", "foo.cec"])
        .failure()
        .stderr_has("not ending in `.cec`");
}

#[test]
fn untrack_is_committed_so_the_next_pull_is_not_refused() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let user = env.join("ComfyUI/user/default/workflows");
    fs::create_dir_all(&user).unwrap();
    fs::write(user.join("flow.json"), r#"{"nodes":[],"links":[],"version":0.4}"#).unwrap();
    t.run(&["workflow", "track", "flow"]).success();
    t.run(&["workflow", "untrack", "flow"]).success();
    let status = repos::git(&env.join(".cec"), &["status", "--porcelain"]);
    assert!(status.trim().is_empty(), ".cec has uncommitted changes: {status}");
    let log = repos::git(&env.join(".cec"), &["log", "--format=%s", "-1"]);
    assert!(log.contains("Untrack workflow flow"), "{log}");
}

#[test]
fn a_dev_node_locked_at_another_folder_than_the_manifest_names_is_refused_under_locked() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let mine = t.path("dev/mine");
    let other = t.path("dev/other");
    for d in [&mine, &other] {
        fs::create_dir_all(d).unwrap();
        fs::write(d.join("__init__.py"), "NODE_CLASS_MAPPINGS = {}\n").unwrap();
    }
    t.run(&["node", "add", "--dev", mine.to_str().unwrap()]).success();
    let lock_path = env.join(".cec/comfydock.lock");
    let lock = fs::read_to_string(&lock_path).unwrap();
    let mine_canon = fs::canonicalize(&mine).unwrap();
    let other_canon = fs::canonicalize(&other).unwrap();
    fs::write(
        &lock_path,
        lock.replace(mine_canon.to_str().unwrap(), other_canon.to_str().unwrap()),
    )
    .unwrap();
    t.run(&["apply", "--locked", "--yes"])
        .failure()
        .stderr_has("not the one the manifest declares");
    let link = fs::read_link(env.join("ComfyUI/custom_nodes/mine")).unwrap();
    assert_eq!(link, mine_canon, "the dev link moved");
}

#[test]
fn gc_with_no_environment_clears_the_workspace_scratch() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let scratch = t.workspace.join("store/nodes/.tmp-999999-abandoned");
    fs::create_dir_all(&scratch).unwrap();
    fs::write(scratch.join("half.py"), "x").unwrap();
    t.run(&["gc"]).success().stdout_has("interrupted store write");
    assert!(!scratch.exists());
}

#[test]
fn suggested_commands_quote_names_a_shell_would_split() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let user = env.join("ComfyUI/user/default/workflows");
    fs::create_dir_all(&user).unwrap();
    fs::write(
        user.join("my flow.json"),
        r#"{"nodes":[{"id":1,"type":"NobodyHasThis","widgets_values":[]}],"links":[],"version":0.4}"#,
    )
    .unwrap();
    t.run(&["workflow", "track", "my flow"])
        .success()
        .stderr_has("`comfydock workflow resolve 'my flow'` adds them");
    t.run(&["workflow", "import", user.join("my flow.json").to_str().unwrap()])
        .failure()
        .stderr_has("`comfydock workflow untrack 'my flow'` first");
}
