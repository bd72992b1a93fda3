//! A pack's install.py as a build step (issue 20): it runs against the ComfyUI being staged,
//! within a time limit, and what it leaves is a derived store entry reused by every environment
//! with the same inputs; verify, drift and rollback see the pack folder exactly as built.

use crate::support::{Run, TestContext, repos};
use std::fs;
use std::path::{Path, PathBuf};

/// An install.py that needs ComfyUI (`import folder_paths` from COMFYUI_PATH), counts its runs
/// in a file outside every environment, and fetches a "subpack" the pack imports.
const BUILDS_A_SUBPACK: &str = r#"import os, sys
sys.path.insert(0, os.environ["COMFYUI_PATH"])
import folder_paths
with open(os.environ["BUILD_COUNTER"], "a") as f:
    f.write("built\n")
os.makedirs("subpack", exist_ok=True)
with open("subpack/__init__.py", "w") as f:
    f.write("FETCHED = True\n")
print("ComfyUI models at", folder_paths.models_dir)
"#;

const NEEDS_THE_SUBPACK: &str = "from .subpack import FETCHED\nNODE_CLASS_MAPPINGS = {'BuildNode': object}\n";

fn build_pack(dir: &Path) -> PathBuf {
    let pack = repos::node_pack_with(dir, "BuildNode", &[("install.py", BUILDS_A_SUBPACK)]);
    fs::write(pack.join("__init__.py"), NEEDS_THE_SUBPACK).unwrap();
    repos::commit_all(&pack, "needs its subpack");
    pack
}

struct World {
    t: TestContext,
    counter: PathBuf,
}

impl World {
    fn new() -> World {
        let t = TestContext::new();
        let counter = t.path("build-counter.txt");
        World { t, counter }
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from(
            self.t
                .cmd()
                .env("BUILD_COUNTER", &self.counter)
                .args(args)
                .output()
                .unwrap(),
        )
    }

    fn builds(&self) -> usize {
        fs::read_to_string(&self.counter).map_or(0, |s| s.lines().count())
    }
}

#[test]
fn a_script_builds_once_against_the_staged_comfyui_and_every_environment_reuses_it() {
    let w = World::new();
    let t = &w.t;
    let first = t.create_env("first");
    let pack = build_pack(&t.path("packs/Build-Pack"));
    w.run(&["node", "add", "--run-install", pack.to_str().unwrap()])
        .success();
    assert_eq!(w.builds(), 1);
    assert!(
        first
            .join("ComfyUI/custom_nodes/Build-Pack/subpack/__init__.py")
            .is_file()
    );
    w.run(&["run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("BuildNode");
    w.run(&["verify"]).success();
    w.run(&["plan", "--detailed-exitcode"]).success();

    // A second environment with the same inputs: the build is reused, the script does not run.
    let repo = t.comfyui_repo.to_str().unwrap();
    w.run(&["create", "second", "--comfyui-repo", repo]).success();
    w.run(&["-e", "second", "node", "add", "--run-install", pack.to_str().unwrap()])
        .success();
    assert_eq!(w.builds(), 1, "the script ran again for the same inputs");
    let second = t.workspace.join("environments/second");
    assert!(
        second
            .join("ComfyUI/custom_nodes/Build-Pack/subpack/__init__.py")
            .is_file()
    );
    w.run(&["-e", "second", "verify"]).success();

    // Another machine (a fresh workspace): ComfyUI is still in the stage when the script runs,
    // and the script gets that one.
    let bundle = t.path("first.tar.gz");
    w.run(&["-e", "first", "export", "-o", bundle.to_str().unwrap()])
        .success();
    let other = t.path("other-ws");
    let o = other.to_str().unwrap();
    w.run(&["--workspace", o, "init"]).success();
    w.run(&["--workspace", o, "import", bundle.to_str().unwrap(), "--name", "copy"])
        .success();
    assert_eq!(w.builds(), 2);
    let copy = other.join("environments/copy");
    assert!(
        copy.join("ComfyUI/custom_nodes/Build-Pack/subpack/__init__.py")
            .is_file()
    );
    w.run(&["--workspace", o, "-e", "copy", "run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("BuildNode");
    w.run(&["--workspace", o, "-e", "copy", "verify"]).success();
    let log = fs::read_to_string(other.join("logs/copy.log")).unwrap();
    assert!(log.contains("| ComfyUI models at"), "{log}");
    assert!(
        !log.contains(&copy.join("ComfyUI/models").display().to_string()),
        "the script saw the live ComfyUI, not the staged one: {log}"
    );
    // A second import on that machine reuses the build made there.
    w.run(&["--workspace", o, "import", bundle.to_str().unwrap(), "--name", "again"])
        .success();
    assert_eq!(w.builds(), 2);

    // --rebuild runs it again, and only then.
    w.run(&["-e", "first", "apply", "--yes", "--rebuild", "Build-Pack"])
        .success()
        .stdout_has("rebuild: its install.py runs again");
    assert_eq!(w.builds(), 3);
    w.run(&["-e", "first", "apply", "--yes", "--rebuild", "nope"])
        .failure()
        .stderr_has("--rebuild nope: no such node");
}

#[test]
fn files_added_in_a_pack_folder_are_drift_and_verify_names_them() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/plain-pack"), "PlainNode");
    t.run(&["node", "add", pack.to_str().unwrap()]).success();
    let folder = env.join("ComfyUI/custom_nodes/plain-pack");
    // What the pack writes at run time: known for every pack, or declared.
    fs::create_dir_all(folder.join("cache")).unwrap();
    fs::write(folder.join("cache/weights.bin"), "w").unwrap();
    fs::write(folder.join("impact-pack.ini"), "[default]\n").unwrap();
    fs::create_dir_all(folder.join("__pycache__")).unwrap();
    fs::write(folder.join("__pycache__/x.pyc"), "c").unwrap();
    let plan = t.run(&["plan", "--detailed-exitcode"]);
    plan.code(2).stdout_has("added: cache/weights.bin");
    assert!(
        !plan.stdout.contains("impact-pack.ini") && !plan.stdout.contains("x.pyc"),
        "{}",
        plan.stdout
    );
    let pyproject = env.join(".cec/pyproject.toml");
    let text = fs::read_to_string(&pyproject).unwrap();
    fs::write(
        &pyproject,
        text.replace(
            "[tool.comfydock.nodes.plain-pack]",
            "[tool.comfydock.nodes.plain-pack]\nruntime_paths = [\"cache\"]",
        ),
    )
    .unwrap();
    t.run(&["apply", "--yes"]).success();
    assert_eq!(fs::read_to_string(folder.join("cache/weights.bin")).unwrap(), "w");
    t.run(&["plan", "--detailed-exitcode"]).success();
    t.run(&["verify"]).success();

    // A file added by hand is drift, named in status, plan and verify.
    fs::write(folder.join("notes.txt"), "mine").unwrap();
    t.run(&["status"]).stdout_has("added: notes.txt");
    t.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("~ node plain-pack")
        .stdout_has("added: notes.txt");
    t.run(&["verify"]).failure().stdout_has("`notes.txt` added");
    // Apply puts the pack back as locked: the user's file goes to the trash, the pack's own
    // run-time files stay.
    t.run(&["apply", "--yes"]).success();
    assert!(!folder.join("notes.txt").exists());
    assert_eq!(fs::read_to_string(folder.join("cache/weights.bin")).unwrap(), "w");
    let trash = crate::support::tree(&env.join(".comfydock/trash"));
    assert!(trash.iter().any(|p| p.ends_with("notes.txt")), "{trash:?}");
    t.run(&["plan", "--detailed-exitcode"]).success();
    t.run(&["verify"]).success();
}

#[test]
fn rollback_gives_back_the_pack_folder_each_generation_had() {
    let w = World::new();
    let t = &w.t;
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/Build-Pack"), "BuildNode");
    w.run(&["node", "add", "--run-install", pack.to_str().unwrap()])
        .success();
    assert_eq!(w.builds(), 0, "v1 has no install.py");
    let before = fs::read_to_string(env.join(".comfydock/installed.json")).unwrap();
    let gen_before: u64 = serde_json::from_str::<serde_json::Value>(&before).unwrap()["generation"]
        .as_u64()
        .unwrap();

    fs::write(pack.join("install.py"), BUILDS_A_SUBPACK).unwrap();
    fs::write(pack.join("__init__.py"), NEEDS_THE_SUBPACK).unwrap();
    repos::commit_all(&pack, "v2 fetches a subpack");
    w.run(&["node", "update", "Build-Pack"]).success();
    assert_eq!(w.builds(), 1);
    let folder = env.join("ComfyUI/custom_nodes/Build-Pack");
    assert!(folder.join("subpack/__init__.py").is_file());

    w.run(&["rollback", &gen_before.to_string(), "--yes"]).success();
    assert!(
        !folder.join("subpack").exists(),
        "a file of the later build survived the rollback"
    );
    w.run(&["verify"]).success();
    w.run(&["plan", "--detailed-exitcode"]).success();
    // Forward again: the later generation's build is reused, not run again.
    w.run(&["rollback", "--yes"]).success();
    assert!(folder.join("subpack/__init__.py").is_file());
    assert_eq!(w.builds(), 1);
    w.run(&["verify"]).success();
}

#[test]
fn a_script_past_its_time_limit_is_stopped_and_nothing_switches() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let slow = repos::node_pack_with(
        &t.path("packs/slow-pack"),
        "SlowNode",
        &[(
            "install.py",
            "import time\nprint('working', flush=True)\ntime.sleep(60)\n",
        )],
    );
    t.run(&["config", "set", "install_timeout", "2"]).success();
    let before = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    let started = std::time::Instant::now();
    t.run(&["node", "add", "--run-install", slow.to_str().unwrap()])
        .failure()
        .stderr_has("install.py of node `slow-pack` failed")
        .stderr_has("longer than its time limit of 2s");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(45),
        "the script was not stopped"
    );
    assert!(!env.join("ComfyUI/custom_nodes/slow-pack").exists());
    assert_eq!(fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap(), before);
    let log = fs::read_to_string(t.workspace.join("logs/demo.log")).unwrap();
    assert!(log.contains("stopped after 2s") && log.contains("| working"), "{log}");
    // A node's own limit wins over the workspace's.
    t.run(&["config", "set", "install_timeout", "0"])
        .failure()
        .stderr_has("not a whole number of seconds");
}

#[test]
fn a_traceback_with_exit_0_is_named_with_the_pack_and_the_log() {
    let t = TestContext::new();
    t.create_env("demo");
    let quiet_failure = repos::node_pack_with(
        &t.path("packs/sloppy-pack"),
        "SloppyNode",
        &[(
            "install.py",
            "import traceback\ntry:\n    import folder_paths_missing\nexcept ImportError:\n    traceback.print_exc()\n",
        )],
    );
    t.run(&["node", "add", "--run-install", quiet_failure.to_str().unwrap()])
        .success()
        .stderr_has("install.py of sloppy-pack printed a Python traceback but exited 0")
        .stderr_has("logs/demo.log");
}
