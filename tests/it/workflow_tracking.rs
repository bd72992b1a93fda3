//! Tracking workflows in the reconcile loop: `.cec/workflows/` is the tracked copy, ComfyUI's
//! `user/default/workflows/` the working copy, and an edit made in ComfyUI is never overwritten.

use crate::support::{TestContext, placed_model, repos};
use std::fs;
use std::path::{Path, PathBuf};

/// A small UI workflow: a checkpoint loader, a sampler with `steps`, and a custom node whose
/// nodes are stamped with the pack id `pack` (cnr_id), linked together.
fn ui_workflow(steps: u32, custom_type: &str, pack: &str) -> String {
    format!(
        r#"{{"last_node_id":3,"last_link_id":1,"nodes":[
  {{"id":1,"type":"CheckpointLoaderSimple","widgets_values":["sd15.safetensors"]}},
  {{"id":2,"type":"KSampler","title":"Main sampler","widgets_values":[1,"fixed",{steps},7.0,"euler","normal",1.0]}},
  {{"id":3,"type":"{custom_type}","properties":{{"cnr_id":"{pack}","ver":"1.0.0"}},"widgets_values":[]}}
],"links":[[1,1,0,2,0,"MODEL"]],"groups":[],"config":{{}},"extra":{{}},"version":0.4}}"#
    )
}

fn user_dir(env: &Path) -> PathBuf {
    env.join("ComfyUI/user/default/workflows")
}

fn write_user_workflow(env: &Path, name: &str, text: &str) -> PathBuf {
    let dir = user_dir(env);
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.json"));
    fs::write(&path, text).unwrap();
    path
}

fn generation_of(stdout: &str) -> u64 {
    stdout
        .split("generation ")
        .nth(1)
        .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no generation in {stdout}"))
}

#[test]
fn an_edit_in_comfyui_is_drift_kept_by_apply_and_taken_by_sync() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let original = ui_workflow(20, "MyNode", "beta");
    let copy = write_user_workflow(&env, "portrait flow", &original);

    let tracked = t.run(&["workflow", "track", "portrait flow"]);
    tracked.success();
    let first = generation_of(&tracked.stdout);
    let cec = env.join(".cec/workflows/portrait flow.json");
    assert_eq!(fs::read_to_string(&cec).unwrap(), original);
    let pyproject = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(
        pyproject.contains("[tool.comfydock.workflows.tracked.\"portrait flow\"]"),
        "{pyproject}"
    );
    let lock = fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap();
    assert!(
        lock.contains("[workflows.\"portrait flow\"]") && lock.contains("blake3 = \"blake3:"),
        "{lock}"
    );
    t.run(&["workflow", "status"]).success().stdout_has("in sync");
    t.run(&["plan", "--detailed-exitcode"]).success();

    // The user raises the steps in ComfyUI: drift, shown and kept.
    let edited = ui_workflow(30, "MyNode", "beta");
    fs::write(&copy, &edited).unwrap();
    t.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("~ workflow portrait flow (edited in ComfyUI)");
    t.run(&["workflow", "status"]).success().stdout_has("edited in ComfyUI");
    t.run(&["workflow", "diff", "portrait flow"])
        .success()
        .stdout_has("~ Main sampler #2: widget 2 20 -> 30");
    t.run(&["apply", "--yes"]).success();
    assert_eq!(
        fs::read_to_string(&copy).unwrap(),
        edited,
        "apply overwrote the user's edit"
    );
    assert_eq!(fs::read_to_string(&cec).unwrap(), original);

    // sync takes it into .cec, as a new generation.
    let synced = t.run(&["workflow", "sync"]);
    synced
        .success()
        .stdout_has("~ workflow portrait flow (ComfyUI's copy is the tracked version)");
    assert!(generation_of(&synced.stdout) > first);
    assert_eq!(fs::read_to_string(&cec).unwrap(), edited);
    t.run(&["workflow", "status"]).success().stdout_has("in sync");
    t.run(&["plan", "--detailed-exitcode"]).success();
    let log = t.run(&["log"]);
    log.success().stdout_has("Sync workflows from ComfyUI: portrait flow");

    // Rollback brings the tracked version back in .cec and in ComfyUI (the edit goes to the trash).
    t.run(&["rollback", "--yes"]).success();
    assert_eq!(fs::read_to_string(&cec).unwrap(), original);
    assert_eq!(fs::read_to_string(&copy).unwrap(), original);
    t.run(&["plan", "--detailed-exitcode"]).success();
}

#[test]
fn when_both_sides_changed_the_tracked_version_goes_beside_the_copy() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let copy = write_user_workflow(&env, "flow", &ui_workflow(20, "MyNode", "beta"));
    t.run(&["workflow", "track", "flow"]).success();
    let mine = ui_workflow(25, "MyNode", "beta");
    fs::write(&copy, &mine).unwrap();
    let theirs = ui_workflow(40, "MyNode", "beta");
    fs::write(env.join(".cec/workflows/flow.json"), &theirs).unwrap();

    t.run(&["plan"])
        .success()
        .stdout_has("the tracked version is written beside it as flow.cec.json");
    t.run(&["apply", "--yes"]).success();
    assert_eq!(fs::read_to_string(&copy).unwrap(), mine);
    assert_eq!(
        fs::read_to_string(user_dir(&env).join("flow.cec.json")).unwrap(),
        theirs
    );
    // Written once: afterwards it is plain drift until the user syncs.
    t.run(&["plan"])
        .success()
        .stdout_has("~ workflow flow (edited in ComfyUI)");
}

#[test]
fn a_tracked_workflow_is_placed_and_untrack_keeps_the_users_file() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let source = t.path("shared.json");
    fs::write(&source, ui_workflow(12, "MyNode", "beta")).unwrap();
    t.run(&["workflow", "import", source.to_str().unwrap(), "--name", "shared"])
        .success()
        .stdout_has("+ workflow shared -> user/default/workflows/shared.json");
    let copy = user_dir(&env).join("shared.json");
    assert_eq!(fs::read(&copy).unwrap(), fs::read(&source).unwrap());

    // Deleted in ComfyUI: placed again.
    fs::remove_file(&copy).unwrap();
    t.run(&["plan"])
        .success()
        .stdout_has("workflow shared (deleted in ComfyUI; placed again)");
    t.run(&["apply", "--yes"]).success();
    assert!(copy.is_file());

    // A .cec copied without its workflows/ folder: the lock pins a file that is not there, and
    // the error names it and the ways out (not a bare "No such file or directory").
    let tracked = env.join(".cec/workflows/shared.json");
    let kept = t.path("shared.kept.json");
    fs::rename(&tracked, &kept).unwrap();
    fs::remove_file(&copy).unwrap();
    t.run(&["apply", "--yes", "--frozen"])
        .failure()
        .stderr_has("comfydock::apply::workflow_missing")
        .stderr_has("workflows/shared.json")
        .stderr_has("workflow untrack shared");
    assert!(!copy.exists(), "a failed apply placed something");
    fs::rename(&kept, &tracked).unwrap();
    t.run(&["apply", "--yes"]).success();
    assert!(copy.is_file());

    t.run(&["workflow", "untrack", "shared"]).success();
    assert!(copy.is_file(), "untrack deleted the user's file");
    assert!(!env.join(".cec/workflows/shared.json").exists());
    let pyproject = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(!pyproject.contains("tracked.shared"), "{pyproject}");
    t.run(&["workflow", "untrack", "shared"])
        .failure()
        .stderr_has("workflow `shared` is not tracked");
}

#[test]
fn hostile_workflow_names_are_refused_and_change_nothing() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let before = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    for bad in ["../../escape", "a/b", ".hidden", "x\u{1}y"] {
        t.run(&["workflow", "track", bad])
            .failure()
            .stderr_has("comfydock::workflow::invalid_name");
    }
    // A hand-written manifest entry that would escape is refused where it is read.
    let hostile =
        format!("{before}\n[tool.comfydock.workflows.tracked.\"../../../etc\"]\nfile = \"workflows/x.json\"\n");
    fs::write(env.join(".cec/pyproject.toml"), &hostile).unwrap();
    t.run(&["plan"]).failure().stderr_has("workflow name");
    fs::write(env.join(".cec/pyproject.toml"), &before).unwrap();
    assert!(!t.path("etc").exists());
}

#[test]
fn removing_a_node_pack_a_tracked_workflow_needs_is_flagged() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/beta"), "MyNode");
    t.run(&["node", "add", pack.to_str().unwrap()]).success();
    write_user_workflow(&env, "uses beta", &ui_workflow(20, "MyNode", "beta"));
    t.run(&["workflow", "track", "uses beta"]).success();
    let pyproject = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(pyproject.contains("nodes = [\"beta\"]"), "{pyproject}");

    // Remove the pack from the manifest by hand (as a reviewer would see it in a pull request).
    let without = pyproject.replace("[tool.comfydock.nodes.beta]", "[tool.comfydock.removed-beta]");
    let without = without.replace("[tool.comfydock.removed-beta]", "[removed-beta]");
    fs::write(env.join(".cec/pyproject.toml"), without).unwrap();
    t.run(&["plan"])
        .success()
        .stdout_has("- node beta (moved to trash)  (required by workflows uses beta)");
    let json = t.run(&["plan", "--json"]);
    json.success();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let remove = doc["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "node.beta")
        .expect("a remove action");
    assert_eq!(remove["details"]["required_by"], serde_json::json!(["uses beta"]));
    assert_matches_schema("plan.schema.json", &doc);
    let lock: toml::Value = toml::from_str(&fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap()).unwrap();
    assert_matches_schema("lock.schema.json", &serde_json::to_value(lock).unwrap());
    // No terminal and no --yes: refused. With --yes: applied, and the summary says so.
    t.run(&["apply"]).failure();
    t.run(&["apply", "--yes"])
        .success()
        .stdout_has("Applied although it breaks tracked workflows: uses beta");
}

fn assert_matches_schema(name: &str, doc: &serde_json::Value) {
    crate::schemas::assert_valid(&crate::schemas::schema(name), doc);
}

#[test]
fn resolve_adds_a_git_pack_and_a_model_found_by_hash_offline() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    // The pack's GitHub URL is served from a local folder through git's `insteadOf`, as an
    // air-gapped mirror would be: everything stays offline.
    t.github_pack("someone/gamma-nodes", "GammaNode");
    // A model file the index knows by content; the workflow names it differently.
    let content: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
    let indexed = t.workspace.join("models/checkpoints/gamma-base.safetensors");
    fs::create_dir_all(indexed.parent().unwrap()).unwrap();
    fs::write(&indexed, &content).unwrap();
    t.run(&["model", "scan"]).success();
    let hex = blake3::hash(&content).to_hex().to_string();

    let workflow = format!(
        r#"{{"nodes":[
  {{"id":1,"type":"CheckpointLoaderSimple","widgets_values":["renamed.safetensors"],
    "properties":{{"models":[{{"name":"renamed.safetensors","directory":"checkpoints","hash":"{hex}","hash_type":"blake3","url":"https://example.invalid/renamed.safetensors"}}]}}}},
  {{"id":2,"type":"GammaNode","properties":{{"aux_id":"someone/gamma-nodes"}},"widgets_values":[]}}
],"links":[],"version":0.4}}"#
    );
    write_user_workflow(&env, "gamma", &workflow);
    t.run(&["workflow", "track", "gamma"])
        .success()
        .stderr_has("`comfydock workflow resolve gamma` adds them");
    let resolved = t.run(&["workflow", "resolve", "gamma"]);
    resolved.success();
    let pyproject = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(
        pyproject.contains("[tool.comfydock.nodes.gamma-nodes]")
            && pyproject.contains("repository = \"https://github.com/someone/gamma-nodes\""),
        "{pyproject}"
    );
    assert!(pyproject.contains(&format!("hash = \"blake3:{hex}\"")), "{pyproject}");
    assert!(
        pyproject.contains("nodes = [\"gamma-nodes\"]") && pyproject.contains("models = [\"renamed\"]"),
        "{pyproject}"
    );
    assert!(env.join("ComfyUI/custom_nodes/gamma-nodes/__init__.py").is_file());
    let link = placed_model(&env, "checkpoints/renamed.safetensors");
    assert_eq!(fs::read(&link).unwrap(), content);
    let lock = fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap();
    assert!(
        lock.contains(&format!("renamed = \"blake3:{hex}\"")),
        "the lock pins the workflow's model: {lock}"
    );
    t.run(&["plan", "--detailed-exitcode"]).success();

    // Exported with its dependencies: the pack and the model as the lock pins them.
    let out = t.path("gamma-deps.json");
    t.run(&[
        "workflow",
        "export",
        "gamma",
        "-o",
        out.to_str().unwrap(),
        "--with-deps",
    ])
    .success();
    let exported: serde_json::Value = serde_json::from_slice(&fs::read(&out).unwrap()).unwrap();
    let deps = &exported["extra"]["comfydock"];
    assert_eq!(
        deps["nodes"]["gamma-nodes"]["repository"], "https://github.com/someone/gamma-nodes",
        "{deps}"
    );
    assert_eq!(deps["models"]["renamed"]["blake3"], format!("blake3:{hex}"), "{deps}");
}

#[test]
fn resolve_changes_nothing_when_a_need_cannot_be_met() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    write_user_workflow(&env, "odd", &ui_workflow(20, "NobodyProvidesThis", "comfy-core-not"));
    // The stamp names a registry pack this offline workspace cannot fetch: resolution fails.
    t.run(&["workflow", "track", "odd"]).success();
    let before = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    let lock_before = fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap();
    t.run(&["--offline", "workflow", "resolve", "odd"]).failure();
    assert_eq!(fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap(), before);
    assert_eq!(
        fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap(),
        lock_before
    );

    let unknown = r#"{"nodes":[{"id":1,"type":"NoStampNoProvider","widgets_values":[]}],"links":[],"version":0.4}"#;
    write_user_workflow(&env, "unknown", unknown);
    t.run(&["workflow", "track", "unknown"]).success();
    let before = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    t.run(&["workflow", "resolve", "unknown"])
        .failure()
        .stderr_has("cannot resolve node type NoStampNoProvider");
    assert_eq!(fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap(), before);
}

#[test]
fn sync_watch_takes_edits_while_comfyui_runs_and_stops_on_ctrl_c() {
    use std::io::{BufRead, BufReader};
    use std::time::{Duration, Instant};
    let t = TestContext::new();
    let env = t.create_env("demo");
    let copy = write_user_workflow(&env, "live", &ui_workflow(20, "MyNode", "beta"));
    t.run(&["workflow", "track", "live"]).success();

    let mut child = t
        .std_cmd()
        .args(["workflow", "sync", "--watch"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let started = Instant::now();
    loop {
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("watch did not start");
        if line.contains("Watching") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60));
    }
    let edited = ui_workflow(33, "MyNode", "beta");
    fs::write(&copy, &edited).unwrap();
    let cec = env.join(".cec/workflows/live.json");
    let deadline = Instant::now() + Duration::from_secs(90);
    while fs::read_to_string(&cec).unwrap() != edited {
        assert!(Instant::now() < deadline, "the edit never reached .cec");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Let the apply that follows finish, then Ctrl-C.
    let deadline = Instant::now() + Duration::from_secs(90);
    while !t.run(&["workflow", "status"]).stdout.contains("in sync") {
        assert!(Instant::now() < deadline, "the sync never completed");
        std::thread::sleep(Duration::from_millis(200));
    }
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let stderr = reader.join().unwrap();
    assert!(status.success(), "{status:?}\n{stderr}");
    assert!(stderr.contains("Took ComfyUI's version of live into .cec."), "{stderr}");
    assert!(stderr.contains("Stopped watching."), "{stderr}");
    t.run(&["plan", "--detailed-exitcode"]).success();
}

/// Runs comfydock with `args`; a run that has not ended after 60 s is killed and reported as
/// hung (a bound, so a regression fails the test instead of hanging the suite).
fn run_bounded(t: &TestContext, args: &[&str]) -> crate::support::Run {
    use std::process::Stdio;
    let mut child = t
        .std_cmd()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if child.try_wait().unwrap().is_some() {
            return crate::support::Run::from(child.wait_with_output().unwrap());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    panic!(
        "`comfydock {}` hung\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 23 row 14: a tracked workflow that is a FIFO (which blocks a reader forever) or a link
/// to `/dev/zero` (endless) is refused as not a regular file: status and plan end, naming it,
/// and the lock is not left held.
#[test]
fn a_fifo_or_device_in_place_of_a_tracked_workflow_is_refused() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    write_user_workflow(&env, "flow", &ui_workflow(20, "MyNode", "beta"));
    t.run(&["workflow", "track", "flow"]).success();
    let cec = env.join(".cec/workflows/flow.json");
    fs::remove_file(&cec).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&cec).status().unwrap();
    assert!(made.success());
    // status reports what it finds (exit 0), plan refuses.
    run_bounded(&t, &["status"])
        .success()
        .stdout_has("flow.json")
        .stdout_has("not a regular file");
    run_bounded(&t, &["plan"])
        .failure()
        .stderr_has("flow.json")
        .stderr_has("not a regular file");
    fs::remove_file(&cec).unwrap();
    // A link (to a device here) in `.cec` is not followed at all.
    std::os::unix::fs::symlink("/dev/zero", &cec).unwrap();
    run_bounded(&t, &["plan"]).failure().stderr_has("a symbolic link");
    // Nothing was left locked: with the file back, plan works.
    fs::remove_file(&cec).unwrap();
    fs::write(&cec, ui_workflow(20, "MyNode", "beta")).unwrap();
    t.run(&["plan"]).success();
}

/// Issue 23 row 16: `workflow track --all` skips a file that is not a workflow, with a warning
/// naming it, and tracks the others; named explicitly, the same file fails the command.
#[test]
fn track_all_skips_an_invalid_file_and_tracks_the_rest() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    write_user_workflow(&env, "a", &ui_workflow(20, "MyNode", "beta"));
    write_user_workflow(&env, "broken", "{not json");
    write_user_workflow(&env, "c", &ui_workflow(30, "MyNode", "beta"));
    t.run(&["workflow", "track", "--all"])
        .success()
        .stderr_has("skipped `broken`")
        .stderr_has("Tracking 2 workflow(s): a, c.");
    assert!(env.join(".cec/workflows/a.json").is_file() && env.join(".cec/workflows/c.json").is_file());
    assert!(!env.join(".cec/workflows/broken.json").exists());
    t.run(&["workflow", "track", "broken"]).failure().stderr_has("broken");
}

fn cec_status(env: &Path) -> String {
    repos::git(&env.join(".cec"), &["status", "--porcelain"])
}

/// #23 row 12: `workflow sync` killed after it wrote `.cec` but before its apply made a
/// generation leaves `.cec` changed; the next writer (here `recover`) puts it back. Killed after
/// the apply committed, the edit was complete and stays.
#[test]
fn a_sync_killed_half_way_is_put_back_by_recover() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let original = ui_workflow(20, "MyNode", "beta");
    let copy = write_user_workflow(&env, "flow", &original);
    t.run(&["workflow", "track", "flow"]).success();
    let edited = ui_workflow(30, "MyNode", "beta");
    fs::write(&copy, &edited).unwrap();
    let cec = env.join(".cec/workflows/flow.json");

    let killed = t
        .cmd()
        .env("COMFYDOCK_FAILPOINT", "edit-saved")
        .args(["workflow", "sync"])
        .output()
        .unwrap();
    assert!(!killed.status.success(), "the failpoint aborts the sync");
    assert_eq!(fs::read_to_string(&cec).unwrap(), edited, "the sync had written .cec");
    t.run(&["recover"])
        .success()
        .stderr_has("Recovered from an interrupted `workflow sync`");
    assert_eq!(fs::read_to_string(&cec).unwrap(), original);
    assert_eq!(cec_status(&env), "", ".cec is as it was");
    t.run(&["workflow", "status"]).success().stdout_has("edited in ComfyUI");
    t.run(&["recover"]).success().stderr_has("Nothing to recover.");

    // Killed once the apply's switch committed: the generation is made, the edit complete.
    let killed = t
        .cmd()
        .env("COMFYDOCK_FAILPOINT", "committed")
        .args(["workflow", "sync"])
        .output()
        .unwrap();
    assert!(!killed.status.success());
    t.run(&["recover"]).success().stderr_has("generation 3 was complete");
    assert_eq!(fs::read_to_string(&cec).unwrap(), edited);
    assert_eq!(cec_status(&env), "");
    t.run(&["workflow", "status"]).success().stdout_has("in sync");
    t.run(&["plan", "--detailed-exitcode"]).success();
}

/// #23: `rollback N` to a generation that differs only in what is tracked (an untracked
/// workflow stays in ComfyUI, so nothing on disk changes) is still a rollback: recorded as a
/// generation, `.cec` committed.
#[test]
fn a_rollback_that_changes_only_tracking_is_recorded() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    write_user_workflow(&env, "one", &ui_workflow(20, "MyNode", "beta"));
    write_user_workflow(&env, "two", &ui_workflow(10, "MyNode", "beta"));
    let tracked = t.run(&["workflow", "track", "one"]);
    tracked.success();
    let first = generation_of(&tracked.stdout);
    t.run(&["workflow", "track", "two"]).success();

    let rolled = t.run(&["rollback", &first.to_string(), "--yes"]);
    rolled.success().stdout_has("recorded as generation");
    assert_eq!(cec_status(&env), "", ".cec is committed");
    let pyproject = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(!pyproject.contains("tracked.two"), "{pyproject}");
    t.run(&["log"])
        .success()
        .stdout_has(&format!("Rollback to generation {first}"));
    assert!(user_dir(&env).join("two.json").is_file(), "ComfyUI's copy stays");
    t.run(&["plan", "--detailed-exitcode"]).success();
}
