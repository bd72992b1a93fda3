//! What a new user meets with real node packs and a real machine (issue 12): install scripts,
//! pack ids from the pack's own metadata, packs needing a newer ComfyUI, torch backends,
//! `comfyui show/update`, a shared uv cache, `doctor`, completions and verbosity.

use crate::support::wheel::{WheelSpec, build_wheel};
use crate::support::{Run, TestContext, repos};
use std::fs;

const WRITES_A_FILE: &str = "import os, sys\nopen('installed.txt', 'w').write(sys.executable + '\\n' + os.getcwd())\nprint('install.py says hello')\n";

#[test]
fn install_scripts_run_only_when_the_manifest_says_so() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let logs = t.workspace.join("logs/demo.log");

    // Not asked for: the plan says the script exists and does not run; it does not run.
    let quiet = repos::node_pack_with(
        &t.path("packs/quiet-pack"),
        "QuietNode",
        &[("install.py", WRITES_A_FILE)],
    );
    t.run(&["node", "add", quiet.to_str().unwrap()])
        .success()
        .stdout_has("! has an install.py that does not run; `install = \"run\"`");
    assert!(env.join("ComfyUI/custom_nodes/quiet-pack/__init__.py").is_file());
    assert!(!env.join("ComfyUI/custom_nodes/quiet-pack/installed.txt").exists());

    // --run-install: it runs in the staged pack with the new venv's Python, output in the log.
    let loud = repos::node_pack_with(&t.path("packs/loud-pack"), "LoudNode", &[("install.py", WRITES_A_FILE)]);
    t.run(&["node", "add", "--run-install", loud.to_str().unwrap()])
        .success()
        .stdout_has("! install.py runs in stage with the new venv's Python");
    let manifest = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(manifest.contains("install = \"run\""), "{manifest}");
    let written = fs::read_to_string(env.join("ComfyUI/custom_nodes/loud-pack/installed.txt")).unwrap();
    assert!(
        written.contains(&env.join(".venv-gen-").display().to_string()),
        "{written}"
    );
    assert!(written.contains(".comfydock/staging/nodes/loud-pack"), "{written}");
    let log = fs::read_to_string(&logs).unwrap();
    assert!(
        log.contains("install.py of loud-pack") && log.contains("| install.py says hello"),
        "{log}"
    );
    // What the script wrote is part of the installed pack, not drift.
    t.run(&["plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.");

    // A failing script fails the apply and changes nothing.
    let broken = repos::node_pack_with(
        &t.path("packs/broken-pack"),
        "BrokenNode",
        &[(
            "install.py",
            "import sys\nprint('cannot download weights', file=sys.stderr)\nsys.exit(3)\n",
        )],
    );
    let before = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    t.run(&["node", "add", "--run-install", broken.to_str().unwrap()])
        .failure()
        .stderr_has("install.py of node `broken-pack` failed")
        .stderr_has("cannot download weights");
    assert!(!env.join("ComfyUI/custom_nodes/broken-pack").exists());
    assert_eq!(fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap(), before);
    t.run(&["plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.");

    // Only `run` is a valid value.
    fs::write(
        env.join(".cec/pyproject.toml"),
        before.replace("install = \"run\"", "install = \"yes\""),
    )
    .unwrap();
    t.run(&["plan"]).failure().stderr_has("install");
}

#[test]
fn a_pack_is_named_by_its_own_metadata_first() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let named = repos::node_pack_with(
        &t.path("generic/repo"),
        "FancyNode",
        &[(
            "pyproject.toml",
            "[project]\nname = \"comfyui-fancy\"\nversion = \"1.0.0\"\n",
        )],
    );
    let url = format!("file://{}", named.display());
    t.run(&["node", "add", &url])
        .success()
        .stdout_has("+ node comfyui-fancy");
    // The folder is the repository's own name, as `git clone` gives it.
    assert!(env.join("ComfyUI/custom_nodes/repo/__init__.py").is_file());
    let lock = fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap();
    assert!(lock.contains("folder = \"repo\""), "{lock}");
    // Without metadata the repository name stands.
    let plain = repos::node_pack(&t.path("packs/plain-pack"), "PlainNode");
    t.run(&["node", "add", plain.to_str().unwrap()])
        .success()
        .stdout_has("+ node plain-pack");
}

#[test]
fn a_pack_needing_a_newer_comfyui_is_named_in_the_plan() {
    let t = TestContext::new();
    t.create_env("demo");
    let needy = repos::pack_requiring_comfyui(&t.path("packs/needy-pack"), "needy-pack", "NeedyNode", ">=0.3.0");
    t.run(&["node", "add", "--no-apply", needy.to_str().unwrap()]).success();
    t.run(&["plan"])
        .code(0)
        .stdout_has("! needs ComfyUI >=0.3.0, the locked ComfyUI has 0.2.0; `comfydock comfyui update` moves ComfyUI");
    let fine = repos::node_pack_with(
        &t.path("packs/fine-pack"),
        "FineNode",
        &[("requirements.txt", "comfyui>=0.1\n")],
    );
    t.run(&["node", "add", "--no-apply", fine.to_str().unwrap()]).success();
    let plan = t.run(&["plan"]);
    assert!(
        !plan.stdout.contains("fine-pack >") && !plan.stdout.contains("needs ComfyUI >=0.1"),
        "{}",
        plan.stdout
    );
}

#[test]
fn torch_backend_auto_says_what_it_chose_and_why() {
    let t = TestContext::new();
    let idx = t.path("idx");
    build_wheel(
        &idx,
        &WheelSpec {
            name: "torch",
            version: "2.5.1+cpu",
            requires: &[],
            body: "",
        },
    );
    t.run(&["init"]).success();
    let repo = t.comfyui_repo.to_str().unwrap();
    // A URL without {backend} is used as given: the folder itself, nothing appended.
    let out = Run::from(
        t.cmd()
            .env("COMFYDOCK_TORCH_INDEX_URL", idx.to_str().unwrap())
            .args(["create", "demo", "--comfyui-repo", repo, "--torch-backend", "auto"])
            .output()
            .unwrap(),
    );
    // This machine has no GPU: cpu, and the reason.
    out.success()
        .stderr_has("Torch backend: cpu (no NVIDIA driver (nvidia-smi did not answer) and no ROCm");
    let manifest = fs::read_to_string(t.workspace.join("environments/demo/.cec/pyproject.toml")).unwrap();
    assert!(manifest.contains(&format!("url = \"{}\"", idx.display())), "{manifest}");
}

#[test]
fn an_unreachable_index_is_named_with_the_way_out() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let repo = t.comfyui_repo.to_str().unwrap();
    let out = Run::from(
        t.cmd()
            .env_remove("UV_OFFLINE")
            .env("UV_HTTP_RETRIES", "0")
            .env("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")
            .env("COMFYDOCK_TORCH_INDEX_URL", "http://127.0.0.1:9/whl/{backend}")
            .args(["create", "demo", "--comfyui-repo", repo, "--torch-backend", "cpu"])
            .output()
            .unwrap(),
    );
    out.failure()
        .stderr_has("could not reach the package index http://127.0.0.1:9/")
        .stderr_has("`--torch-backend none`");
}

#[test]
fn workspaces_can_share_one_uv_cache() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let config = t.workspace.join("workspace.toml");
    let text = fs::read_to_string(&config).unwrap();
    fs::write(&config, format!("{text}\nuv_cache = \"../common-uv-cache\"\n")).unwrap();
    let repo = t.comfyui_repo.to_str().unwrap();
    t.run(&["create", "demo", "--comfyui-repo", repo]).success();
    assert!(t.path("common-uv-cache").read_dir().unwrap().next().is_some());
    let own = t.workspace.join("uv_cache");
    assert!(
        !own.exists() || own.read_dir().unwrap().next().is_none(),
        "the workspace's own cache was used"
    );
    // The environment variable wins over the file.
    let other = t.path("other-uv-cache");
    Run::from(
        t.cmd()
            .env("COMFYDOCK_UV_CACHE", &other)
            .args(["create", "second", "--comfyui-repo", repo])
            .output()
            .unwrap(),
    )
    .success();
    assert!(other.read_dir().unwrap().next().is_some());
}

#[test]
fn comfyui_show_names_version_commit_and_repository() {
    let t = TestContext::new();
    t.create_env("demo");
    let commit = repos::git(&t.comfyui_repo, &["rev-parse", "v0.2.0^{commit}"]);
    t.run(&["comfyui", "show"])
        .success()
        .stdout_has("version     0.2.0")
        .stdout_has(&format!("commit      {commit}"))
        .stdout_has(&format!("repository  {}", t.comfyui_repo.display()));
}

#[test]
fn doctor_completions_and_verbosity() {
    let t = TestContext::new();
    t.run(&["completions", "bash"]).success().stdout_has("_comfydock()");
    t.run(&["completions", "fish"])
        .success()
        .stdout_has("complete -c comfydock");
    t.run(&["init"]).success();

    let doctor = |uv: &str| {
        Run::from(
            t.cmd()
                .env("COMFYDOCK_UV", uv)
                .env("COMFYDOCK_REGISTRY_URL", "http://127.0.0.1:9")
                .env("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")
                .env("COMFYDOCK_TORCH_INDEX_URL", t.path("no-such-wheels").to_str().unwrap())
                .arg("doctor")
                .output()
                .unwrap(),
        )
    };
    let ok = doctor("uv");
    ok.success()
        .stdout_has("ok    uv ")
        .stdout_has("ok    git ")
        .stdout_has("warn  registry     http://127.0.0.1:9: cannot connect")
        .stdout_has("fix: set COMFYDOCK_TORCH_INDEX_URL to a mirror, or use `--torch-backend none`");
    doctor("/nonexistent/uv")
        .failure()
        .stdout_has("FAIL  uv ")
        .stdout_has("fix: install uv");

    // -v shows the commands and the phases; -q only errors.
    let repo = t.comfyui_repo.to_str().unwrap();
    t.run(&["-v", "create", "demo", "--comfyui-repo", repo])
        .success()
        .stderr_has("running git ")
        .stderr_has("running uv ")
        .stderr_has("stage: ");
    let pack = repos::node_pack(&t.path("packs/quiet-pack"), "QuietNode");
    let quiet = t.run(&["-q", "node", "add", "--no-apply", pack.to_str().unwrap()]);
    quiet.success();
    assert_eq!(quiet.stderr, "", "-q printed messages");
    t.run(&["-q", "node", "remove", "nope"])
        .failure()
        .stderr_has("no node `nope`");

    // The Python the environment asks for, against the one its venv runs (issue 23).
    let running = doctor("uv");
    let line = running
        .stdout
        .lines()
        .find(|l| l.contains("env python"))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.starts_with("ok    env python") && line.contains("asks for Python 3.11; its venv runs 3.11."),
        "{}",
        running.stdout
    );
    let manifest = t.workspace.join("environments/demo/.cec/pyproject.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("python_version = \"3.11\"", "python_version = \"3.12\""),
    )
    .unwrap();
    doctor("uv")
        .stdout_has("warn  env python")
        .stdout_has("asks for Python 3.12; its venv runs 3.11.")
        .stdout_has("--rebuild-venv");
}

#[test]
fn comfyui_update_moves_to_the_newest_release_and_takes_its_requirements() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let old = repos::pack_requiring_comfyui(&t.path("packs/old-pack"), "old-pack", "OldNode", "<0.3");
    t.run(&["node", "add", old.to_str().unwrap()]).success();
    // A new release whose requirements changed.
    fs::write(t.comfyui_repo.join("requirements.txt"), "comfy-mini-dep>=1.0,<9\n").unwrap();
    fs::write(t.comfyui_repo.join("comfyui_version.py"), "__version__ = \"0.4.0\"\n").unwrap();
    let commit = repos::commit_all(&t.comfyui_repo, "ComfyUI 0.4.0");
    repos::git(&t.comfyui_repo, &["tag", "v0.4.0"]);

    t.run(&["comfyui", "update"])
        .success()
        .stdout_has("~ comfyui")
        .stderr_has("warning: node old-pack needs ComfyUI <0.3, the locked ComfyUI has 0.4.0")
        .stderr_has("ComfyUI is at v0.4.0");
    let manifest = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(manifest.contains("comfyui_version = \"v0.4.0\""), "{manifest}");
    assert!(manifest.contains("comfy-mini-dep>=1.0,<9"), "{manifest}");
    assert_eq!(repos::git(&env.join("ComfyUI"), &["rev-parse", "HEAD"]), commit);
    t.run(&["comfyui", "show"]).success().stdout_has("version     0.4.0");
    t.run(&["plan", "--detailed-exitcode"]).success();
}

#[test]
fn a_quick_test_failing_on_a_missing_module_says_how_to_add_it() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let pack = repos::node_pack_with(&t.path("packs/needs-requests"), "ReqNode", &[]);
    fs::write(
        pack.join("__init__.py"),
        "import requests_not_installed\nNODE_CLASS_MAPPINGS = {}\n",
    )
    .unwrap();
    repos::commit_all(&pack, "imports a module nothing installs");
    t.run(&["node", "add", pack.to_str().unwrap()]).success();
    assert!(env.join("ComfyUI/custom_nodes/needs-requests").is_dir());
    t.run(&["run", "--", "--quick-test-for-ci"])
        .failure()
        .stderr_has("No module named 'requests_not_installed'")
        .stderr_has("hint: ComfyUI (or a node pack) imports `requests_not_installed`")
        .stderr_has("`comfydock py add requests_not_installed`");
}
