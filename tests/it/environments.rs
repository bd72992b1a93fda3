//! init, create, list, use, delete and run, on real git and real uv.

use crate::support::{TestContext, repos, tree};
use std::fs;

#[test]
fn init_makes_the_layout_and_is_harmless_twice() {
    let t = TestContext::new();
    t.run(&["init"]).success().stderr_has("Initialized workspace");
    for dir in [
        ".metadata",
        "store/nodes",
        "store/downloads",
        "environments",
        "uv_cache",
        "logs",
    ] {
        assert!(t.workspace.join(dir).is_dir(), "{dir} missing");
    }
    fs::write(t.workspace.join("workspace.toml"), "# mine\nversion = \"1\"\n").unwrap();
    t.run(&["init"]).success().stderr_has("already initialized");
    assert_eq!(
        fs::read_to_string(t.workspace.join("workspace.toml")).unwrap(),
        "# mine\nversion = \"1\"\n"
    );
}

#[test]
fn init_refuses_a_workspace_path_that_is_a_file() {
    let t = TestContext::new();
    let file = t.path("not-a-dir");
    fs::write(&file, "x").unwrap();
    t.run(&["--workspace", file.to_str().unwrap(), "init"])
        .failure()
        .stderr_has("is a file")
        .stderr_has("--workspace");
    assert_eq!(fs::read_to_string(&file).unwrap(), "x");
}

#[test]
fn create_then_run_quick_test() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    // The newest tag is the default, not the tip of master.
    t.run(&["run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("ComfyUI version: 0.2.0")
        .stdout_has("comfy_mini_dep 1.0.0");

    let pyproject = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(pyproject.contains("comfyui_version = \"v0.2.0\""), "{pyproject}");
    assert!(pyproject.contains("\"comfy-mini-dep>=1.0\""), "{pyproject}");
    assert!(env.join(".cec/uv.lock").is_file());
    // .cec is a git repository whose commit holds the desired state.
    let files = repos::git(&env.join(".cec"), &["ls-files"]);
    for f in ["pyproject.toml", "uv.lock", ".gitignore", "workflows/.gitkeep"] {
        assert!(files.lines().any(|l| l == f), "{f} not committed: {files}");
    }
    assert_eq!(repos::git(&env.join(".cec"), &["status", "--porcelain"]), "");
    // The uv project is valid as written: uv agrees the lock is current.
    let check = std::process::Command::new("uv")
        .args(["lock", "--check", "--offline", "--project"])
        .arg(env.join(".cec"))
        .env("UV_FIND_LINKS", &t.wheels)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
}

#[test]
fn create_at_a_tag_a_branch_or_a_commit() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let repo = t.comfyui_repo.to_str().unwrap();
    let first = repos::git(&t.comfyui_repo, &["rev-list", "--max-parents=0", "HEAD"]);
    for (name, rev, version) in [
        ("tagged", "v0.1.0", "0.1.0"),
        ("branch", "master", "0.3.0.dev0"),
        ("commit", &first[..10], "0.1.0"),
    ] {
        t.run(&["create", name, "--comfyui", rev, "--comfyui-repo", repo])
            .success();
        t.run(&["-e", name, "run", "--", "--quick-test-for-ci"])
            .success()
            .stdout_has(&format!("ComfyUI version: {version}"));
    }
}

#[test]
fn failed_create_leaves_nothing_behind() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let repo = t.comfyui_repo.to_str().unwrap();
    // uv may fill its cache; the environments folder and the settings must not change.
    let snapshot = || {
        (
            tree(&t.workspace.join("environments")),
            fs::read(t.workspace.join("workspace.toml")).unwrap(),
        )
    };
    let before = snapshot();

    t.run(&["create", "badref", "--comfyui", "v9.9.9", "--comfyui-repo", repo])
        .failure()
        .stderr_has("v9.9.9")
        .stderr_has("was not found");
    assert_eq!(snapshot(), before);

    let missing = t.path("nowhere");
    t.run(&["create", "norepo", "--comfyui-repo", missing.to_str().unwrap()])
        .failure()
        .stderr_has("git");
    assert_eq!(snapshot(), before);

    // uv cannot find the ComfyUI requirement: its own explanation reaches the user.
    let empty = t.path("empty-wheels");
    fs::create_dir_all(&empty).unwrap();
    let out = t
        .cmd()
        .env("UV_FIND_LINKS", &empty)
        .args(["create", "nouv", "--comfyui-repo", repo])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("uv lock") && stderr.contains("comfy-mini-dep"),
        "{stderr}"
    );
    assert_eq!(snapshot(), before);
}

#[test]
fn create_reports_a_missing_uv_and_how_to_install_it() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let out = t
        .cmd()
        .env("COMFYDOCK_UV", t.path("no-uv-here"))
        .args(["create", "x", "--comfyui-repo", t.comfyui_repo.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("uv was not found") && stderr.contains("pip install uv"),
        "{stderr}"
    );
    assert!(!t.workspace.join("environments/x").exists());
}

#[test]
fn invalid_environment_names_are_refused() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let repo = t.comfyui_repo.to_str().unwrap();
    for bad in ["../escape", "a/b", ".hidden"] {
        t.run(&["create", bad, "--comfyui-repo", repo])
            .failure()
            .stderr_has(&format!("environment name \"{bad}\" is not valid"));
    }
    t.run(&["create", "--comfyui-repo", repo, "--", "-rf"])
        .failure()
        .stderr_has("not starting with `.` or `-`");
    assert_eq!(tree(&t.workspace.join("environments")), Vec::<String>::new());
    assert!(!t.path("escape").exists());
}

#[test]
fn list_use_and_delete() {
    let t = TestContext::new();
    t.create_env("first");
    let repo = t.comfyui_repo.to_str().unwrap();
    t.run(&["create", "second", "--comfyui", "v0.1.0", "--comfyui-repo", repo])
        .success();

    // The first environment became active; the second did not ask to be.
    let list = t.run(&["list"]);
    list.success()
        .stdout_has("* first   ComfyUI v0.2.0")
        .stdout_has("  second  ComfyUI v0.1.0");
    t.run(&["use", "second"]).success();
    t.run(&["list"]).success().stdout_has("* second");
    t.run(&["run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("ComfyUI version: 0.1.0");

    let json: serde_json::Value = serde_json::from_str(&t.run(&["list", "--json"]).stdout).unwrap();
    assert_eq!(json["environments"].as_array().unwrap().len(), 2);
    assert_eq!(json["environments"][1]["active"], true);

    t.run(&["use", "nope"])
        .failure()
        .stderr_has("no environment named `nope`")
        .stderr_has("first, second");

    // Without a terminal and without --yes, delete refuses rather than hangs.
    t.run(&["delete", "second"]).failure().stderr_has("--yes");
    assert!(t.workspace.join("environments/second").is_dir());
    t.run(&["delete", "second", "--yes"]).success();
    assert!(!t.workspace.join("environments/second").exists());
    t.run(&["run", "--", "--quick-test-for-ci"])
        .failure()
        .stderr_has("no environment selected");
    t.run(&["-e", "first", "run", "--", "--quick-test-for-ci"]).success();
}

#[test]
fn run_returns_comfyuis_exit_code_and_loads_custom_nodes() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let nodes = env.join("ComfyUI/custom_nodes");
    fs::create_dir_all(nodes.join("good_pack")).unwrap();
    fs::write(
        nodes.join("good_pack/__init__.py"),
        "NODE_CLASS_MAPPINGS = {'GoodNode': object}\n",
    )
    .unwrap();
    t.run(&["run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("good_pack")
        .stdout_has("Loaded node types: GoodNode");

    fs::create_dir_all(nodes.join("broken_pack")).unwrap();
    fs::write(nodes.join("broken_pack/__init__.py"), "import not_installed_anywhere\n").unwrap();
    t.run(&["run", "--", "--quick-test-for-ci"])
        .failure()
        .stdout_has("(IMPORT FAILED): broken_pack");
}

#[test]
fn a_malformed_pyproject_is_reported_with_its_location() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let path = env.join(".cec/pyproject.toml");
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str("\n[tool.comfydock.nodes.x]\nsource = \n");
    fs::write(&path, &text).unwrap();
    let run = t.run(&["run", "--", "--quick-test-for-ci"]);
    run.failure().stderr_has("pyproject.toml").stderr_has("is not valid");
    let lines = text.lines().count();
    assert!(
        run.stderr.contains(&format!("pyproject.toml:{lines}:")),
        "no line:column in\n{}",
        run.stderr
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), text, "the file must not change");
}
