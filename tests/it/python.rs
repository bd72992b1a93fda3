//! Python environments: node packs' requirements as dependency groups, conflicts refused with
//! the packs named, torch backends from one uv.lock, the torch family protected, rollback of
//! the venv with no index reachable, `--locked` on Python-only changes. Real uv, offline.

use crate::support::wheel::{WheelSpec, build_wheel};
use crate::support::{Run, TestContext, repos, tree};
use std::fs;
use std::path::{Path, PathBuf};

/// A node pack repository with an `__init__.py` body and a requirements.txt.
fn pack(dest: &Path, node_type: &str, init: &str, requirements: &str) -> PathBuf {
    repos::init(dest);
    fs::write(
        dest.join("__init__.py"),
        format!("{init}\nNODE_CLASS_MAPPINGS = {{'{node_type}': object}}\n"),
    )
    .unwrap();
    fs::write(dest.join("requirements.txt"), requirements).unwrap();
    repos::commit_all(dest, "v1");
    dest.to_path_buf()
}

fn wheel(dir: &Path, name: &str, version: &str, body: &str) {
    build_wheel(
        dir,
        &WheelSpec {
            name,
            version,
            requires: &[],
            body,
        },
    );
}

fn python_says(env: &Path, code: &str) -> String {
    let out = std::process::Command::new(env.join(".venv/bin/python"))
        .args(["-c", code])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn snapshot(env: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = ["pyproject.toml", "comfydock.lock", "uv.lock"]
        .iter()
        .map(|f| (f.to_string(), fs::read(env.join(".cec").join(f)).unwrap()))
        .collect();
    out.push((
        "venv".into(),
        fs::read_link(env.join(".venv"))
            .unwrap()
            .into_os_string()
            .into_encoded_bytes(),
    ));
    out.push((
        "nodes".into(),
        tree(&env.join("ComfyUI/custom_nodes")).join("\n").into_bytes(),
    ));
    out
}

#[test]
fn a_node_packs_requirements_are_installed_and_imported() {
    let t = TestContext::new();
    wheel(&t.wheels, "pack-dep", "1.0.0", "VALUE = 42\n");
    let env = t.create_env("demo");
    let alpha = pack(
        &t.path("packs/alpha"),
        "AlphaNode",
        "import pack_dep\nassert pack_dep.VALUE == 42",
        "# alpha's requirements\npack-dep>=1.0\n-e git+https://example.invalid/x#egg=x\n",
    );
    t.run(&["node", "add", alpha.to_str().unwrap()])
        .success()
        .stdout_has("+ node alpha")
        .stdout_has("      + pack-dep 1.0.0")
        .stdout_has("! node alpha: requirements.txt line 3: `-e git+https://example.invalid/x#egg=x` skipped")
        .stderr_has("warning: node alpha: requirements.txt line 3");
    let manifest = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(
        manifest.contains("[dependency-groups]\nalpha = [\n    \"pack-dep>=1.0\",\n]"),
        "{manifest}"
    );
    t.run(&["run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("Loaded node types: AlphaNode");
    t.run(&["plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.");
    let json: serde_json::Value = serde_json::from_str(&t.run(&["py", "list", "--json"]).stdout).unwrap();
    let dep = json["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pack-dep")
        .unwrap();
    assert_eq!(dep["from"], "node alpha");
    assert_eq!(dep["locked"], "1.0.0");

    t.run(&["node", "remove", "alpha"]).success().stdout_has("- pack-dep\n");
    assert!(
        !fs::read_to_string(env.join(".cec/pyproject.toml"))
            .unwrap()
            .contains("dependency-groups")
    );
    assert!(python_says(&env, "import importlib.util as u; print(u.find_spec('pack_dep'))") == "None");
}

#[test]
fn packs_with_clashing_requirements_are_refused_by_name_and_nothing_changes() {
    let t = TestContext::new();
    wheel(&t.wheels, "shared-lib", "1.0.0", "");
    wheel(&t.wheels, "shared-lib", "2.0.0", "");
    let env = t.create_env("demo");
    // The environment's own requirement agrees with both packs: it is not a party.
    t.run(&["py", "add", "shared-lib>=1.0"]).success();
    let a = pack(&t.path("packs/pack-a"), "A", "import shared_lib", "shared-lib==1.0.0\n");
    let b = pack(&t.path("packs/pack-b"), "B", "import shared_lib", "shared_lib==2.0.0\n");
    t.run(&["node", "add", a.to_str().unwrap()]).success();
    let before = snapshot(&env);
    let fail = t.run(&["node", "add", b.to_str().unwrap()]);
    fail.failure()
        .stderr_has("comfydock::python::conflict")
        .stderr_has("node pack `pack-a` and node pack `pack-b` cannot be installed together")
        .stderr_has("shared-lib")
        .stderr_has("exclude each other");
    // Disjoint ranges: no constraint can help, so none is suggested.
    assert!(!fail.stderr.contains("constraint add"), "{}", fail.stderr);
    assert!(
        !fail.stderr.contains("the environment (`py add`) and"),
        "{}",
        fail.stderr
    );
    assert_eq!(snapshot(&env), before, "a refused resolution changes nothing");
    t.run(&["plan", "--detailed-exitcode"]).success();
    t.run(&["run", "--", "--quick-test-for-ci"]).success();
}

#[test]
fn py_add_constraints_and_locked_on_python_only_changes() {
    let t = TestContext::new();
    wheel(&t.wheels, "shared-lib", "1.0.0", "");
    wheel(&t.wheels, "shared-lib", "2.0.0", "");
    wheel(&t.wheels, "extra-tool", "3.1.0", "");
    let env = t.create_env("demo");
    t.run(&["py", "add", "shared-lib"])
        .success()
        .stdout_has("+ shared-lib 2.0.0");
    t.run(&["constraint", "add", "shared-lib<2"])
        .success()
        .stdout_has("~ shared-lib 2.0.0 -> 1.0.0");
    assert_eq!(
        python_says(&env, "import shared_lib; print(shared_lib.__version__)"),
        "1.0.0"
    );
    t.run(&["constraint", "list"]).success().stdout_has("shared-lib<2");
    t.run(&["py", "list"])
        .success()
        .stdout_has("shared-lib")
        .stdout_has("environment")
        .stdout_has("constraint");

    // A Python-only change makes the lock stale: --locked refuses, --frozen ignores it.
    t.run(&["py", "add", "extra-tool", "--no-apply"]).success();
    t.run(&["lock", "--check"]).failure();
    t.run(&["apply", "--yes", "--locked"])
        .failure()
        .stderr_has("out of date");
    t.run(&["apply", "--yes", "--frozen"]).success();
    assert_eq!(
        python_says(&env, "import importlib.util as u; print(u.find_spec('extra_tool'))"),
        "None"
    );
    t.run(&["apply", "--yes"]).success().stdout_has("+ extra-tool 3.1.0");
    t.run(&["apply", "--yes", "--locked"]).success();

    // uv keeps a locked version that still fits when a constraint goes.
    t.run(&["constraint", "remove", "shared-lib"]).success();
    assert!(
        !fs::read_to_string(env.join(".cec/pyproject.toml"))
            .unwrap()
            .contains("constraint-dependencies")
    );
    assert_eq!(
        python_says(&env, "import shared_lib; print(shared_lib.__version__)"),
        "1.0.0"
    );
    t.run(&["py", "remove", "extra-tool"])
        .success()
        .stdout_has("- extra-tool");
    t.run(&["py", "remove", "nothing-here"]).failure();
    t.run(&["py", "add", "--", "-e ./x"]).failure().stderr_has("editable");
    t.run(&["plan", "--detailed-exitcode"]).success();
}

fn torch_run(t: &TestContext, args: &[&str]) -> Run {
    let template = t.path("idx-{backend}");
    Run::from(
        t.cmd()
            .env("COMFYDOCK_TORCH_INDEX_URL", template.to_str().unwrap())
            .args(args)
            .output()
            .unwrap(),
    )
}

#[test]
fn one_uv_lock_serves_cpu_and_cuda_and_rollback_is_a_symlink_flip() {
    let t = TestContext::new();
    for backend in ["cpu", "cu124"] {
        let idx = t.path(&format!("idx-{backend}"));
        for version in ["2.5.1", "1.0.0"] {
            wheel(&idx, "torch", &format!("{version}+{backend}"), "");
        }
    }
    t.run(&["init"]).success();
    let repo = t.comfyui_repo.to_str().unwrap();
    torch_run(
        &t,
        &["create", "demo", "--comfyui-repo", repo, "--torch-backend", "cpu,cu124"],
    )
    .success();
    let env = t.workspace.join("environments/demo");
    let manifest = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(manifest.contains("torch_backends = [\"cpu\", \"cu124\"]"), "{manifest}");
    assert!(
        manifest.contains("conflicts = [[{ extra = \"cpu\" }, { extra = \"cu124\" }]]"),
        "{manifest}"
    );
    let uv_lock = fs::read_to_string(env.join(".cec/uv.lock")).unwrap();
    assert!(
        uv_lock.contains("2.5.1+cpu") && uv_lock.contains("2.5.1+cu124"),
        "{uv_lock}"
    );
    let torch = "import torch; print(torch.__version__)";
    assert_eq!(python_says(&env, torch), "2.5.1+cpu");

    // The same uv.lock, synced for CUDA.
    torch_run(&t, &["apply", "--yes", "--torch-backend", "cu124"])
        .success()
        .stdout_has("python: uv sync --extra cu124 (torch backend cpu -> cu124")
        .stdout_has("~ torch 2.5.1+cpu -> 2.5.1+cu124");
    assert_eq!(fs::read_to_string(env.join(".cec/uv.lock")).unwrap(), uv_lock);
    assert_eq!(python_says(&env, torch), "2.5.1+cu124");
    t.run(&["plan", "--detailed-exitcode"]).success();
    t.run(&["apply", "--yes", "--torch-backend", "rocm6.2"])
        .failure()
        .stderr_has("the lock covers: cpu, cu124");

    // A node pack asking for another torch does not get it.
    wheel(&t.wheels, "pack-dep", "1.0.0", "");
    let old = pack(
        &t.path("packs/old-torch"),
        "OldTorch",
        "import torch, pack_dep",
        "torch==1.0.0\npack-dep\n",
    );
    torch_run(&t, &["node", "add", old.to_str().unwrap()])
        .success()
        .stdout_has("+ pack-dep 1.0.0")
        .stdout_has("! node old-torch asks for `torch==1.0.0`: not applied");
    assert_eq!(python_says(&env, torch), "2.5.1+cu124");
    assert!(!fs::read_to_string(env.join(".cec/uv.lock")).unwrap().contains("1.0.0+"));
    t.run(&["run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("OldTorch");

    // Rollback with every index and wheel folder gone: the venvs are still there.
    for dir in ["idx-cpu", "idx-cu124", "wheels"] {
        fs::rename(t.path(dir), t.path(&format!("gone-{dir}"))).unwrap();
    }
    let venv_before = fs::read_link(env.join(".venv")).unwrap();
    t.run(&["rollback", "1", "--yes"])
        .success()
        .stdout_has("python: switch to .venv-gen-1")
        .stdout_has("- pack-dep");
    assert_eq!(fs::read_link(env.join(".venv")).unwrap(), PathBuf::from(".venv-gen-1"));
    assert_eq!(python_says(&env, torch), "2.5.1+cpu");
    t.run(&["plan", "--detailed-exitcode"]).success();
    t.run(&["rollback", "3", "--yes"]).success();
    assert_eq!(fs::read_link(env.join(".venv")).unwrap(), venv_before);
    assert_eq!(python_says(&env, torch), "2.5.1+cu124");
    t.run(&["run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("OldTorch");
}

#[test]
fn a_package_locked_at_two_versions_shows_each_with_its_markers() {
    let t = TestContext::new();
    wheel(&t.wheels, "fork-lib", "1.0.0", "");
    wheel(&t.wheels, "fork-lib", "2.0.0", "");
    build_wheel(
        &t.wheels,
        &WheelSpec {
            name: "fork-top",
            version: "1.0.0",
            requires: &[
                "fork-lib<2; sys_platform == 'win32'",
                "fork-lib>=2; sys_platform != 'win32'",
            ],
            body: "",
        },
    );
    let env = t.create_env("demo");
    t.run(&["py", "add", "fork-top", "--no-apply"]).success();
    t.run(&["lock"]).success();
    let uv_lock = fs::read_to_string(env.join(".cec/uv.lock")).unwrap();
    assert_eq!(
        uv_lock.matches("[[package]]\nname = \"fork-lib\"").count(),
        2,
        "{uv_lock}"
    );
    let run = t.run(&["plan", "--json"]);
    run.success();
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let python = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "python")
        .unwrap();
    let fork = python["details"]["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "fork-lib")
        .unwrap();
    assert_eq!(
        fork["version"], "2.0.0",
        "this platform (not win32) installs 2.0.0: {fork}"
    );
    let variants = fork["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2, "{fork}");
    assert!(
        variants
            .iter()
            .any(|v| v["version"] == "1.0.0" && v["markers"].as_str().unwrap().contains("win32"))
    );
    assert!(!run.stdout.contains(" | "), "no more `2.0 | 1.0` versions");
    t.run(&["plan"])
        .success()
        .stdout_has("+ fork-lib 2.0.0 (other platforms: 1.0.0 where");
}

#[test]
fn a_long_uv_sync_says_it_is_still_working_in_ci_logs() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let live = fs::read_link(env.join(".venv")).unwrap();
    fs::remove_file(env.join(&live).join(".comfydock-complete")).unwrap();
    let script = t.path("bin/uv-slow");
    fs::create_dir_all(script.parent().unwrap()).unwrap();
    fs::write(
        &script,
        "#!/bin/sh\nif [ \"$1\" = sync ]; then sleep 3; fi\nexec uv \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let run = Run::from(
        t.cmd()
            .env("COMFYDOCK_UV", &script)
            .env("COMFYDOCK_PROGRESS_INTERVAL", "1")
            .args(["apply", "--yes"])
            .output()
            .unwrap(),
    );
    run.success().stderr_has("uv is still installing (1 s)");
}

/// Issue 23 row 11: a locked package deleted from the venv by hand is found by `verify`, which
/// says how to repair it, and `apply --rebuild-venv` does.
#[test]
fn a_package_deleted_from_the_venv_is_found_by_verify_and_repaired() {
    let t = crate::support::TestContext::new();
    let env = t.create_env("demo");
    t.run(&["verify"]).success();
    let site = std::fs::read_dir(env.join(".venv/lib"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("site-packages"))
        .find(|p| p.is_dir())
        .unwrap();
    let package = site.join("comfy_mini_dep");
    assert!(
        package.exists(),
        "the fixture's requirement is installed as a package folder"
    );
    std::fs::remove_dir_all(&package).unwrap();
    t.run(&["verify"])
        .failure()
        .stdout_has("python: `comfy-mini-dep`: files deleted")
        .stdout_has("--rebuild-venv");
    t.run(&["apply", "--yes", "--rebuild-venv"])
        .success()
        .stdout_has("rebuild the venv (--rebuild-venv)");
    t.run(&["verify"]).success();
    t.run(&["run", "--", "--quick-test-for-ci"]).success();
    t.run(&["plan", "--detailed-exitcode"]).success();
}

/// `-q` on a terminal: uv's own progress and summary stay off the user's terminal too (uv drew
/// on it whenever stderr was a terminal, `-q` or not). Run under a pseudo-terminal (`script`).
#[test]
fn quiet_on_a_terminal_silences_uv_too() {
    let t = TestContext::new();
    wheel(&t.wheels, "loud-lib", "1.0.0", "");
    wheel(&t.wheels, "quiet-lib", "1.0.0", "");
    t.create_env("demo");
    let under_terminal = |args: &str| {
        let base = t.std_cmd();
        let bin = base.get_program().to_string_lossy().into_owned();
        let mut cmd = std::process::Command::new("script");
        cmd.env_clear();
        for (k, v) in base.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        let out = cmd
            .current_dir(t.dir.path())
            .args(["-qec", &format!("{bin} {args}"), "/dev/null"])
            .output()
            .expect("this test needs `script` (util-linux) on PATH");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let loud = under_terminal("py add loud-lib==1.0.0");
    let uv_said = |text: &str| {
        ["Using CPython", "Prepared", "Installed", "Uninstalled", "Audited"]
            .iter()
            .any(|w| text.contains(w))
    };
    assert!(uv_said(&loud), "uv shows its work on a terminal: {loud}");
    let quiet = under_terminal("-q py add quiet-lib==1.0.0");
    assert!(!uv_said(&quiet), "-q printed: {quiet}");
}
