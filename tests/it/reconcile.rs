//! node add/remove, lock, plan, apply, saved plans, rollback, recovery: the reconcile loop on
//! real git and real uv.

use crate::support::{TestContext, repos, tree};
use std::fs;

#[test]
fn git_node_add_plan_apply_and_plan_again_is_empty() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/alpha-pack"), "AlphaNode");
    t.run(&["plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.");

    t.run(&["node", "add", pack.to_str().unwrap()])
        .success()
        .stdout_has("+ node alpha-pack");
    assert!(env.join("ComfyUI/custom_nodes/alpha-pack/__init__.py").is_file());
    t.run(&["run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("Loaded node types: AlphaNode");
    let lock = fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap();
    let commit = repos::git(&pack, &["rev-parse", "HEAD"]);
    assert!(lock.contains(&format!("commit = \"{commit}\"")), "{lock}");
    t.run(&["plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.");
    t.run(&["lock", "--check"]).success();

    // The lock keeps the pin when the branch moves; an edited rev moves it.
    let v2 = repos::node_pack_v2(&pack, "AlphaNode");
    t.run(&["plan", "--detailed-exitcode"]).success();
    let manifest = env.join(".cec/pyproject.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        text.replace(
            "[tool.comfydock.nodes.alpha-pack]\n",
            "[tool.comfydock.nodes.alpha-pack]\nrev = \"master\"\n",
        ),
    )
    .unwrap();
    t.run(&["lock", "--check"]).failure().stderr_has("out of date");
    t.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("~ node alpha-pack");
    t.run(&["apply", "--yes"]).success().stdout_has("generation 3");
    assert!(
        fs::read_to_string(env.join("ComfyUI/custom_nodes/alpha-pack/__init__.py"))
            .unwrap()
            .contains("VERSION = 2")
    );
    assert!(
        fs::read_to_string(env.join(".cec/comfydock.lock"))
            .unwrap()
            .contains(&v2)
    );
    t.run(&["plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.");

    // Removing moves the folder to the trash; nothing is deleted.
    t.run(&["node", "remove", "alpha-pack"])
        .success()
        .stdout_has("- node alpha-pack (moved to trash)");
    assert!(!env.join("ComfyUI/custom_nodes/alpha-pack").exists());
    assert!(
        tree(&env.join(".comfydock/trash"))
            .iter()
            .any(|p| p.ends_with("alpha-pack/__init__.py"))
    );
    t.run(&["plan", "--detailed-exitcode"]).success();
}

#[test]
fn dev_nodes_are_linked_and_never_touched() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let dev = t.path("my-dev-node");
    fs::create_dir_all(&dev).unwrap();
    fs::write(dev.join("__init__.py"), "NODE_CLASS_MAPPINGS = {'DevNode': object}\n").unwrap();
    t.run(&["node", "add", dev.to_str().unwrap(), "--dev"])
        .success()
        .stdout_has("(dev, linked)");
    let link = env.join("ComfyUI/custom_nodes/my-dev-node");
    assert_eq!(fs::read_link(&link).unwrap(), fs::canonicalize(&dev).unwrap());
    // Editing a dev node is development, not drift.
    fs::write(dev.join("extra.py"), "x = 1\n").unwrap();
    t.run(&["plan", "--detailed-exitcode"]).success();
    t.run(&["run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("DevNode");
    t.run(&["node", "remove", "my-dev-node"]).success();
    assert!(link.symlink_metadata().is_err());
    assert!(dev.join("extra.py").is_file(), "the developer's folder is untouched");
}

#[test]
fn drift_is_planned_and_repaired_without_losing_anything() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["node", "add", pack.to_str().unwrap()]).success();
    let nodes = env.join("ComfyUI/custom_nodes");

    // Files a pack writes at run time are not drift once it declares them; undeclared, they are.
    fs::write(nodes.join("alpha/settings.json"), "{}").unwrap();
    t.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("added: settings.json");
    let manifest = env.join(".cec/pyproject.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        text.replace(
            "[tool.comfydock.nodes.alpha]",
            "[tool.comfydock.nodes.alpha]\nruntime_paths = [\"settings.json\"]",
        ),
    )
    .unwrap();
    t.run(&["plan", "--detailed-exitcode"]).success();

    // An edited file, an untracked folder and a moved ComfyUI are.
    fs::write(nodes.join("alpha/__init__.py"), "raise SystemExit('edited')\n").unwrap();
    fs::create_dir_all(nodes.join("stray")).unwrap();
    fs::write(nodes.join("stray/__init__.py"), "").unwrap();
    repos::git(&env.join("ComfyUI"), &["checkout", "--quiet", "v0.1.0"]);
    let plan = t.run(&["plan", "--detailed-exitcode"]);
    plan.code(2)
        .stdout_has("~ comfyui")
        .stdout_has("~ node alpha")
        .stdout_has("edited on disk (modified: __init__.py)")
        .stdout_has("- custom_nodes/stray (untracked; moved to trash; to keep it: comfydock node adopt stray)");
    let json: serde_json::Value = serde_json::from_str(&t.run(&["plan", "--json"]).stdout).unwrap();
    assert_eq!(json["format_version"], "1");
    assert_eq!(json["summary"]["change"], 2);
    assert_eq!(json["summary"]["destroy"], 1);

    t.run(&["apply", "--yes"]).success();
    t.run(&["plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.");
    t.run(&["run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("ComfyUI version: 0.2.0");
    // The run-time file moved to the repaired pack; the edited file and the stray folder are in the trash.
    assert_eq!(fs::read_to_string(nodes.join("alpha/settings.json")).unwrap(), "{}");
    let trash = tree(&env.join(".comfydock/trash"));
    assert!(trash.iter().any(|p| p.ends_with("stray/__init__.py")), "{trash:?}");
    assert!(trash.iter().any(|p| p.ends_with("alpha/__init__.py")), "{trash:?}");
}

#[test]
fn apply_needs_yes_without_a_terminal_and_plan_files_go_stale() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["node", "add", pack.to_str().unwrap(), "--no-apply"]).success();
    assert!(!env.join("ComfyUI/custom_nodes/alpha").exists());
    t.run(&["apply"]).failure().stderr_has("--yes");
    assert!(!env.join("ComfyUI/custom_nodes/alpha").exists());

    let planfile = t.path("plan.json");
    t.run(&["plan", "--out", planfile.to_str().unwrap()])
        .success()
        .stdout_has("+ node alpha");
    // Drift after the plan was made: the saved plan is refused, nothing changes.
    fs::create_dir_all(env.join("ComfyUI/custom_nodes/late")).unwrap();
    t.run(&["apply", planfile.to_str().unwrap()])
        .failure()
        .stderr_has("stale");
    assert!(!env.join("ComfyUI/custom_nodes/alpha").exists());
    fs::remove_dir(env.join("ComfyUI/custom_nodes/late")).unwrap();
    t.run(&["apply", planfile.to_str().unwrap()]).success();
    assert!(env.join("ComfyUI/custom_nodes/alpha/__init__.py").is_file());

    // A malformed plan file and a malformed lock are refused with a diagnostic.
    fs::write(&planfile, "{ \"format_version\": 1,").unwrap();
    t.run(&["apply", planfile.to_str().unwrap()])
        .failure()
        .stderr_has("is not a comfydock plan file");
    let lock = env.join(".cec/comfydock.lock");
    let good = fs::read_to_string(&lock).unwrap();
    fs::write(&lock, good.replace("[comfyui]", "[comfyui\n")).unwrap();
    t.run(&["apply", "--yes", "--frozen"])
        .failure()
        .stderr_has("comfydock.lock")
        .stderr_has("is not valid");
}

#[test]
fn locked_and_frozen() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["node", "add", pack.to_str().unwrap(), "--no-apply"]).success();
    t.run(&["apply", "--yes", "--locked"])
        .failure()
        .stderr_has("out of date");
    // --frozen applies the old lock as it is: nothing to do.
    t.run(&["apply", "--yes", "--frozen"]).success();
    assert!(!env.join("ComfyUI/custom_nodes/alpha").exists());
    t.run(&["lock"]).success();
    t.run(&["apply", "--yes", "--locked"]).success();
    assert!(env.join("ComfyUI/custom_nodes/alpha").exists());
}

#[test]
fn rollback_works_with_the_sources_gone() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["node", "add", pack.to_str().unwrap()]).success();
    t.run(&["node", "remove", "alpha"]).success();
    let log = t.run(&["log"]);
    log.success().stdout_has("*   3").stdout_has("Remove node alpha");

    // No network: the ComfyUI fixture and the pack repository are moved away.
    fs::rename(&t.comfyui_repo, t.path("moved-comfyui")).unwrap();
    fs::rename(&pack, t.path("moved-pack")).unwrap();
    t.run(&["rollback", "2", "--yes"]).success().stdout_has("+ node alpha");
    assert!(env.join("ComfyUI/custom_nodes/alpha/__init__.py").is_file());
    t.run(&["run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("AlphaNode");
    t.run(&["log"])
        .success()
        .stdout_has("*   4")
        .stdout_has("Rollback to generation 2");
    t.run(&["plan", "--detailed-exitcode"]).success();
    // Default: the generation before the current one.
    t.run(&["rollback", "--yes"]).success();
    assert!(!env.join("ComfyUI/custom_nodes/alpha").exists());
}

#[test]
fn a_crash_at_any_journal_step_recovers_to_old_or_new() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let alpha = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    let beta = repos::node_pack(&t.path("packs/beta"), "BetaNode");
    t.run(&["node", "add", alpha.to_str().unwrap()]).success();
    let nodes = env.join("ComfyUI/custom_nodes");
    fs::write(nodes.join("alpha/cache.txt"), "user data").unwrap();
    fs::create_dir_all(nodes.join("stray")).unwrap();
    fs::write(nodes.join("stray/keep.txt"), "mine").unwrap();
    // The change: alpha removed, beta added, a stray folder trashed.
    let manifest = env.join(".cec/pyproject.toml");
    let before_manifest = fs::read_to_string(&manifest).unwrap();
    t.run(&["node", "remove", "alpha", "--no-apply"]).success();
    t.run(&["node", "add", beta.to_str().unwrap(), "--no-apply"]).success();
    t.run(&["lock"]).success();
    let old_nodes = tree(&nodes);

    let mut crashed = 0;
    'steps: for step in 0.. {
        for point in [format!("switch-before-{step}"), format!("switch-after-{step}")] {
            let out = t
                .cmd()
                .env("COMFYDOCK_FAILPOINT", &point)
                .args(["apply", "--yes"])
                .output()
                .unwrap();
            if out.status.code().is_some() {
                // Fewer steps than this: the apply ran to the end.
                assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
                break 'steps;
            }
            crashed += 1;
            t.run(&["recover"]).success().stderr_has("Recovered");
            assert_eq!(tree(&nodes), old_nodes, "after crash at {point}");
            t.run(&["plan", "--detailed-exitcode"]).code(2);
        }
    }
    assert!(crashed >= 8, "expected a failpoint at every step, hit {crashed}");
    t.run(&["plan", "--detailed-exitcode"]).success();
    assert!(nodes.join("beta/__init__.py").is_file() && !nodes.join("alpha").exists() && !nodes.join("stray").exists());
    // Nothing lost: the user's files are in the trash.
    let trash = tree(&env.join(".comfydock/trash"));
    assert!(trash.iter().any(|p| p.ends_with("alpha/cache.txt")), "{trash:?}");
    assert!(trash.iter().any(|p| p.ends_with("stray/keep.txt")), "{trash:?}");
    assert_ne!(fs::read_to_string(&manifest).unwrap(), before_manifest);

    // Killed after the commit record: recovery keeps the new generation.
    let gamma = repos::node_pack(&t.path("packs/gamma"), "GammaNode");
    t.run(&["node", "add", gamma.to_str().unwrap(), "--no-apply"]).success();
    let out = t
        .cmd()
        .env("COMFYDOCK_FAILPOINT", "committed")
        .args(["apply", "--yes"])
        .output()
        .unwrap();
    assert!(out.status.code().is_none(), "the failpoint aborts");
    // status says so before anything recovers it (issue 23).
    t.run(&["status"])
        .success()
        .stdout_has("an apply was interrupted")
        .stdout_has("comfydock recover");
    t.run(&["recover"]).success().stderr_has("was complete");
    t.run(&["plan", "--detailed-exitcode"]).success();
    assert!(nodes.join("gamma/__init__.py").is_file());
}

#[test]
fn concurrent_writers_wait_and_then_name_the_holder() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    // Hold the lock the way a running apply does.
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(env.join(".comfydock/lock"))
        .unwrap();
    file.try_lock().unwrap();
    fs::write(env.join(".comfydock/lock"), "pid 4242, `comfydock apply`").unwrap();
    let out = t
        .cmd()
        .env("COMFYDOCK_LOCK_TIMEOUT", "1")
        .args(["apply", "--yes"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("is locked by another comfydock") && stderr.contains("pid 4242"),
        "{stderr}"
    );
    drop(file);
    t.run(&["apply", "--yes"]).success();
}

#[test]
fn gc_frees_what_old_generations_alone_use() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["node", "add", pack.to_str().unwrap()]).success();
    t.run(&["node", "remove", "alpha"]).success();
    let store_entries = || {
        tree(&t.workspace.join("store/nodes"))
            .into_iter()
            .filter(|p| !p.contains('/') && !p.ends_with(".complete") && !p.ends_with(".nodes.json"))
            .count()
    };
    assert_eq!(store_entries(), 1);
    t.run(&["gc", "--keep", "1"])
        .success()
        .stdout_has("removed store entry")
        .stdout_has("removed trash");
    assert_eq!(store_entries(), 0);
    // What the entry provided (its node types, recorded beside it) goes with it.
    assert_eq!(tree(&t.workspace.join("store/nodes")), Vec::<String>::new());
    assert!(env.join("ComfyUI").is_dir());
    t.run(&["plan", "--detailed-exitcode"]).success();
}

#[test]
fn gc_compacts_old_generation_records_and_log_still_lists_them() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["node", "add", pack.to_str().unwrap()]).success();
    t.run(&["rollback", "--yes"]).success();
    t.run(&["rollback", "2", "--yes"]).success();
    let records = || {
        let mut names: Vec<String> = fs::read_dir(env.join(".comfydock/generations"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(records(), ["1.json", "2.json", "3.json", "4.json"]);
    assert!(env.join(".comfydock/generations.index.json").is_file());

    t.run(&["gc", "--keep", "2"])
        .success()
        .stdout_has("removed 2 old generation records (compacted");
    assert_eq!(records(), ["3.json", "4.json"]);
    // History stays readable: every generation is listed, the compacted ones marked.
    let log = t.run(&["log"]);
    log.success()
        .stdout_has("*   4")
        .stdout_has("    2")
        .stdout_has("Add node alpha (1 change(s))  [compacted]")
        .stdout_has("    1");
    let json: serde_json::Value = serde_json::from_str(&t.run(&["log", "--json"]).stdout).unwrap();
    let compacted: Vec<bool> = json["generations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["compacted"].as_bool().unwrap())
        .collect();
    assert_eq!(compacted, [false, false, true, true]);
    // A compacted generation is history, not a state to return to; the kept ones still are.
    t.run(&["rollback", "2", "--yes"])
        .failure()
        .stderr_has("generation 2 was compacted by `gc`");
    assert!(
        env.join("ComfyUI/custom_nodes/alpha").exists(),
        "a refused rollback changes nothing"
    );
    t.run(&["plan", "--detailed-exitcode"]).success();
    t.run(&["status"]).success();
    t.run(&["rollback", "3", "--yes"]).success().stdout_has("- node alpha");
    assert!(!env.join("ComfyUI/custom_nodes/alpha").exists());
    t.run(&["log"]).success().stdout_has("*   5");
    t.run(&["plan", "--detailed-exitcode"]).success();
    // Compacting again is a no-op for the rows already compacted.
    t.run(&["gc", "--keep", "2"]).success();
    assert_eq!(records(), ["4.json", "5.json"]);
}

#[test]
fn two_applies_at_once_take_turns() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["node", "add", pack.to_str().unwrap(), "--no-apply"]).success();
    let spawn = || t.cmd().args(["apply", "--yes"]).output();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(spawn);
        let b = s.spawn(spawn);
        (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
    });
    assert!(a.status.success() && b.status.success(), "{a:?}\n{b:?}");
    // One of them applied; the other waited, then found nothing left to do.
    let outputs = [String::from_utf8_lossy(&a.stdout), String::from_utf8_lossy(&b.stdout)];
    assert_eq!(
        outputs.iter().filter(|o| o.contains("Apply complete")).count(),
        1,
        "{outputs:?}"
    );
    assert_eq!(
        outputs.iter().filter(|o| o.contains("No changes.")).count(),
        1,
        "{outputs:?}"
    );
    assert!(env.join("ComfyUI/custom_nodes/alpha/__init__.py").is_file());
    t.run(&["log"]).success().stdout_has("*   2");
}

#[test]
fn status_and_node_list_report_drift() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["node", "add", pack.to_str().unwrap()]).success();
    t.run(&["status"])
        .success()
        .stdout_has("Generation:  2")
        .stdout_has("in sync");
    t.run(&["node", "list"])
        .success()
        .stdout_has("alpha")
        .stdout_has("installed");

    fs::write(env.join("ComfyUI/custom_nodes/alpha/__init__.py"), "# edited\n").unwrap();
    let status: serde_json::Value = serde_json::from_str(&t.run(&["status", "--json"]).stdout).unwrap();
    assert_eq!(status["in_sync"], false);
    assert_eq!(status["drift"][0], "node alpha: modified: __init__.py");
    let list: serde_json::Value = serde_json::from_str(&t.run(&["node", "list", "--json"]).stdout).unwrap();
    assert_eq!(list["nodes"][0]["state"], "modified");
}

/// A git source that is someone's working clone: its own branch is what `master` means, not the
/// clone's (stale) `origin/master` (#23: `node update` said "No changes" after a new commit).
#[test]
fn a_working_clone_as_git_source_resolves_its_own_branch() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let upstream = repos::node_pack(&t.path("packs/upstream"), "CloneNode");
    let clone = t.path("packs/clone-pack");
    repos::git(
        t.dir.path(),
        &["clone", "--quiet", upstream.to_str().unwrap(), clone.to_str().unwrap()],
    );
    t.run(&["node", "add", &format!("{}@master", clone.display())])
        .success();
    let v2 = repos::node_pack_v2(&clone, "CloneNode");
    t.run(&["node", "update", "clone-pack"]).success();
    let lock = fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap();
    assert!(
        lock.contains(&v2),
        "the lock still pins the clone's origin/master:\n{lock}"
    );
    assert!(
        fs::read_to_string(env.join("ComfyUI/custom_nodes/clone-pack/__init__.py"))
            .unwrap()
            .contains("VERSION = 2")
    );
}

/// #24: an I/O error names the file it happened on (was: "file operation failed" and the OS's
/// words, no path).
#[test]
fn an_io_error_names_its_path() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let installed = env.join(".comfydock/installed.json");
    fs::remove_file(&installed).unwrap();
    fs::create_dir(&installed).unwrap();
    t.run(&["apply", "--yes"])
        .failure()
        .stderr_has(".comfydock/installed.json");
}
