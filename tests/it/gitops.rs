//! The `.cec` repository as a GitOps source of truth: two workspaces (two machines) sharing an
//! environment through a real bare repository, `commit` of hand edits, `run --locked`, the
//! Markdown plan for pull requests, and `config` with tokens that are never printed.

use crate::support::{Run, TestContext, http::HttpServer, placed_model, repos};
use std::fs;
use std::path::{Path, PathBuf};

/// A command in another workspace of the same test (the second machine).
fn in_ws(t: &TestContext, ws: &Path, args: &[&str]) -> Run {
    Run::from(t.cmd().env("COMFYDOCK_HOME", ws).args(args).output().unwrap())
}

fn head(cec: &Path) -> String {
    repos::git(cec, &["rev-parse", "HEAD"]).trim().to_string()
}

/// Machine A has `prod` and pushes it to a bare repository; machine B clones that `.cec` into
/// its own workspace and builds it with `apply --locked`. Returns (A's env, B's workspace, B's env).
fn two_machines(t: &TestContext) -> (PathBuf, PathBuf, PathBuf) {
    let env_a = t.create_env("prod");
    let bare = t.path("gitops.git");
    repos::git(t.dir.path(), &["init", "--quiet", "--bare", bare.to_str().unwrap()]);
    t.run(&["-e", "prod", "remote", "add", bare.to_str().unwrap()])
        .success();
    t.run(&["-e", "prod", "remote", "list"])
        .success()
        .stdout_has("origin\t");
    t.run(&["-e", "prod", "push"]).success();
    // Remote names and URLs are checked before git sees them.
    t.run(&["-e", "prod", "remote", "add", "ext::sh -c touch%20x"])
        .failure()
        .stderr_has("ext::");
    t.run(&["-e", "prod", "remote", "add", "--", "-x", "/tmp/r"])
        .failure()
        .stderr_has("not a valid remote name");
    t.run(&["-e", "prod", "pull", "--remote", "upstream"])
        .failure()
        .stderr_has("no remote named `upstream`")
        .stderr_has("origin");

    let ws_b = t.path("ws-b");
    in_ws(t, &ws_b, &["init"]).success();
    let env_b = ws_b.join("environments/prod");
    fs::create_dir_all(&env_b).unwrap();
    repos::git(
        &env_b,
        &[
            "clone",
            "--quiet",
            bare.to_str().unwrap(),
            env_b.join(".cec").to_str().unwrap(),
        ],
    );
    in_ws(t, &ws_b, &["-e", "prod", "apply", "--locked", "--yes"]).success();
    (env_a, ws_b, env_b)
}

#[test]
fn push_and_pull_between_two_workspaces_through_a_bare_repository() {
    let t = TestContext::new();
    let (env_a, ws_b, env_b) = two_machines(&t);
    assert_eq!(head(&env_a.join(".cec")), head(&env_b.join(".cec")));

    // A adds a node pack and pushes; B pulls and applies exactly that lock.
    let alpha = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["-e", "prod", "node", "add", alpha.to_str().unwrap()]).success();
    t.run(&["-e", "prod", "push"]).success();
    in_ws(&t, &ws_b, &["-e", "prod", "pull", "--apply"])
        .success()
        .stdout_has("Pulled origin")
        .stdout_has("Apply complete");
    assert!(env_b.join("ComfyUI/custom_nodes/alpha/__init__.py").is_file());
    assert_eq!(head(&env_a.join(".cec")), head(&env_b.join(".cec")));
    for file in ["pyproject.toml", "comfydock.lock", "uv.lock"] {
        assert_eq!(
            fs::read(env_a.join(".cec").join(file)).unwrap(),
            fs::read(env_b.join(".cec").join(file)).unwrap(),
            "{file} differs between the machines"
        );
    }
    in_ws(&t, &ws_b, &["-e", "prod", "plan", "--detailed-exitcode"]).success();
    // The generation B made records the pulled commit, and log shows it.
    let pulled = head(&env_b.join(".cec"));
    in_ws(&t, &ws_b, &["-e", "prod", "log"])
        .success()
        .stdout_has(&pulled[..10]);
    in_ws(&t, &ws_b, &["-e", "prod", "pull"])
        .success()
        .stderr_has("Already up to date");

    // A pull without --apply moves .cec only: log lists the commit as not applied, plan shows the work.
    t.run(&["-e", "prod", "node", "remove", "alpha"]).success();
    t.run(&["-e", "prod", "push"]).success();
    in_ws(&t, &ws_b, &["-e", "prod", "pull"]).success();
    let log = in_ws(&t, &ws_b, &["-e", "prod", "log"]);
    log.success().stdout_has("(.cec commit, not applied)");
    assert!(log.stdout.contains(&head(&env_b.join(".cec"))[..10]), "{}", log.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&in_ws(&t, &ws_b, &["-e", "prod", "log", "--json"]).stdout).unwrap();
    assert_eq!(json["unapplied_cec_commits"].as_array().unwrap().len(), 1);
    in_ws(&t, &ws_b, &["-e", "prod", "plan", "--detailed-exitcode"]).code(2);
    assert!(env_b.join("ComfyUI/custom_nodes/alpha").exists(), "nothing applied yet");
}

#[test]
fn a_diverged_or_dirty_pull_is_refused_and_changes_nothing() {
    let t = TestContext::new();
    let (env_a, ws_b, env_b) = two_machines(&t);
    let cec_b = env_b.join(".cec");

    // Uncommitted hand edits in B's .cec: refused.
    let alpha = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["-e", "prod", "node", "add", alpha.to_str().unwrap()]).success();
    t.run(&["-e", "prod", "push"]).success();
    let manifest = cec_b.join("pyproject.toml");
    let edited = format!("{}\n# a note by hand\n", fs::read_to_string(&manifest).unwrap());
    fs::write(&manifest, &edited).unwrap();
    let before = head(&cec_b);
    in_ws(&t, &ws_b, &["-e", "prod", "pull"])
        .failure()
        .stderr_has("not committed")
        .stderr_has("pyproject.toml");
    assert_eq!(head(&cec_b), before);

    // Committed: now both sides have commits the other lacks, and B's push is refused.
    in_ws(&t, &ws_b, &["-e", "prod", "commit", "-m", "a note"])
        .success()
        .stdout_has("Committed");
    in_ws(&t, &ws_b, &["-e", "prod", "push"])
        .failure()
        .stderr_has("refused the push")
        .stderr_has("comfydock pull");
    let local = head(&cec_b);
    let files_before = crate::support::tree(&env_b);
    let manifest_before = fs::read(&manifest).unwrap();
    let run = in_ws(&t, &ws_b, &["-e", "prod", "pull", "--apply"]);
    run.failure()
        .stderr_has("diverged")
        .stderr_has(&local[..10])
        .stderr_has("git -C");
    run.stderr_has(&head(&env_a.join(".cec"))[..10]);
    assert_eq!(head(&cec_b), local, "the branch did not move");
    assert_eq!(fs::read(&manifest).unwrap(), manifest_before);
    assert!(!env_b.join("ComfyUI/custom_nodes/alpha").exists(), "nothing applied");
    let mut files_after = crate::support::tree(&env_b);
    let ignore = |f: &String| f.starts_with(".cec/.git");
    files_after.retain(|f| !ignore(f));
    let mut files_before = files_before;
    files_before.retain(|f| !ignore(f));
    assert_eq!(files_before, files_after);
}

#[test]
fn commit_refuses_a_broken_manifest_and_commits_a_valid_edit() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let cec = env.join(".cec");
    let manifest = cec.join("pyproject.toml");
    let good = fs::read_to_string(&manifest).unwrap();
    let before = head(&cec);

    fs::write(&manifest, good.replace("[tool.comfydock]", "[tool.comfydock\n")).unwrap();
    t.run(&["commit", "-m", "broken"])
        .failure()
        .stderr_has("pyproject.toml");
    assert_eq!(head(&cec), before, "nothing committed");

    fs::write(&manifest, format!("{good}\n# reviewed by hand\n")).unwrap();
    t.run(&["commit", "-m", "a reviewed note"])
        .success()
        .stdout_has("Committed");
    assert_ne!(head(&cec), before);
    assert_eq!(
        repos::git(&cec, &["log", "-1", "--format=%s"]).trim(),
        "a reviewed note"
    );
    t.run(&["commit"]).success().stderr_has("Nothing to commit");
    t.run(&["log"])
        .success()
        .stdout_has("a reviewed note (.cec commit, not applied)");
}

#[test]
fn run_locked_refuses_a_drifted_environment_and_a_stale_lock() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    t.run(&["run", "--locked", "--", "--quick-test-for-ci"]).success();

    let stray = env.join("ComfyUI/custom_nodes/stray");
    fs::create_dir_all(&stray).unwrap();
    t.run(&["run", "--locked", "--", "--quick-test-for-ci"])
        .failure()
        .stderr_has("refusing to start ComfyUI")
        .stderr_has("differs from its lock (0 to add, 0 to change, 1 to destroy)")
        .stderr_has("custom_nodes/stray")
        .stderr_has("comfydock apply --locked");
    assert!(stray.is_dir(), "run --locked changes nothing");
    fs::remove_dir(&stray).unwrap();

    t.run(&["constraint", "add", "numpy<3", "--no-apply"]).success();
    t.run(&["run", "--locked", "--", "--quick-test-for-ci"])
        .failure()
        .stderr_has("the lock is out of date");
    // Without --locked the same environment starts.
    t.run(&["run", "--", "--quick-test-for-ci"]).success();
}

#[test]
fn plan_as_markdown_for_pull_request_comments() {
    let t = TestContext::new();
    t.create_env("demo");
    let alpha = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["node", "add", alpha.to_str().unwrap(), "--no-apply"]).success();

    let md = t.run(&["plan", "--format", "markdown", "--detailed-exitcode"]);
    md.code(2)
        .stdout_has("### comfydock plan: `demo`")
        .stdout_has("apply will update `comfydock.lock`")
        .stdout_has("**Plan:** 1 to add, ")
        .stdout_has("`node.alpha`")
        .stdout_has("```diff\n")
        .stdout_has("+ node alpha ");
    assert!(md.stdout.trim_end().ends_with("```"), "{}", md.stdout);

    let a: serde_json::Value = serde_json::from_str(&t.run(&["plan", "--json"]).stdout).unwrap();
    let b: serde_json::Value = serde_json::from_str(&t.run(&["plan", "--format", "json"]).stdout).unwrap();
    assert_eq!(a, b, "--json is --format json");
    t.run(&["plan", "--format", "text"])
        .success()
        .stdout_has("comfydock will perform the following actions");
    t.run(&["plan", "--json", "--format", "markdown"]).failure();

    t.run(&["apply", "--yes"]).success();
    t.run(&["plan", "--format", "markdown", "--detailed-exitcode"])
        .success()
        .stdout_has("**No changes.**");
}

#[test]
fn config_round_trips_validates_and_keeps_comments() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let file = t.workspace.join("workspace.toml");
    t.run(&["config", "set", "store.remote", "s3://team-models/comfy/prod"])
        .success();
    t.run(&["config", "get", "store.remote"])
        .success()
        .stdout_has("s3://team-models/comfy/prod");
    t.run(&["config", "set", "torch_backend", "cu124"]).success();
    let text = fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("# comfydock workspace settings."),
        "comments kept:\n{text}"
    );
    assert!(
        text.contains("[store]\nremote = \"s3://team-models/comfy/prod\""),
        "{text}"
    );

    for (key, bad) in [
        ("store.remote", "s3://Bad_Bucket/x"),
        ("store.remote", "https://example.org/x"),
        ("torch_backend", "cuda"),
        ("registry_url", "ftp://mirror"),
    ] {
        t.run(&["config", "set", key, bad])
            .failure()
            .stderr_has("is not a valid value")
            .stderr_has("nothing was changed");
    }
    t.run(&["config", "set", "no_such_key", "x"])
        .failure()
        .stderr_has("store.remote");
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        text,
        "refused values change nothing"
    );

    let list = t.run(&["config", "list"]);
    list.success()
        .stdout_has("store.remote")
        .stdout_has("s3://team-models/comfy/prod")
        .stdout_has("registry_url");
    t.run(&["config", "unset", "store.remote"]).success();
    t.run(&["config", "get", "store.remote"])
        .failure()
        .stderr_has("not set");
    let text = fs::read_to_string(&file).unwrap();
    // The template's commented example (`# [store]`) stays; the table itself goes.
    assert!(
        !text.lines().any(|l| l.trim() == "[store]"),
        "an emptied table goes too:\n{text}"
    );
    assert!(text.contains("torch_backend = \"cu124\""));
    assert!(text.contains("# comfydock workspace settings."));
}

#[test]
fn tokens_live_in_a_private_file_are_never_printed_and_the_environment_wins() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestContext::new();
    t.run(&["init"]).success();
    let secret = "hf_fileSECRET42";
    let set = Run::from(
        t.cmd()
            .args(["config", "set", "HF_TOKEN"])
            .write_stdin(format!("{secret}\n"))
            .output()
            .unwrap(),
    );
    set.success();
    let file = t.home.join(".config/comfydock/credentials.toml");
    assert_eq!(fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(fs::read_to_string(&file).unwrap().contains(secret));
    assert!(
        !fs::read_to_string(t.workspace.join("workspace.toml"))
            .unwrap()
            .contains(secret)
    );

    let outputs = [
        t.run(&["config", "get", "HF_TOKEN"]),
        t.run(&["config", "list"]),
        t.run(&["config", "list", "--json"]),
    ];
    outputs[0].success().stdout_has("set (from file)");
    outputs[1].success().stdout_has("set (from file)");
    let doc: serde_json::Value = serde_json::from_str(&outputs[2].stdout).unwrap();
    assert_eq!(
        doc["format_version"], "1",
        "config list --json is in the envelope: {doc}"
    );
    for out in outputs.iter().chain([&set]) {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "token printed:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    let env_secret = "hf_envSECRET7";
    let get = Run::from(
        t.cmd()
            .env("HF_TOKEN", env_secret)
            .args(["config", "list"])
            .output()
            .unwrap(),
    );
    get.success().stdout_has("set (from environment)");
    assert!(!get.stdout.contains(env_secret) && !get.stdout.contains(secret));
    t.run(&["config", "get", "CIVITAI_API_KEY"]).failure();

    t.run(&["config", "unset", "HF_TOKEN"]).success();
    t.run(&["config", "get", "HF_TOKEN"]).failure();
    assert!(!fs::read_to_string(&file).unwrap().contains(secret));
}

#[test]
fn model_downloads_use_the_stored_token_unless_the_environment_has_one() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let server = HttpServer::start();
    let body: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    let path = "/org/repo/resolve/main/tiny.safetensors";
    server.serve(path, &body);
    server.require_token(path, "hf_fromFILE");
    let manifest = env.join(".cec/pyproject.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        format!(
            "{text}\n[tool.comfydock.models.tiny]\nhash = \"blake3:{}\"\nsize = {}\ncategory = \"checkpoints\"\nfilename = \"tiny.safetensors\"\nsources = [{{ type = \"huggingface\", repo = \"org/repo\", file = \"tiny.safetensors\" }}]\n",
            blake3::hash(&body).to_hex(),
            body.len()
        ),
    )
    .unwrap();
    Run::from(
        t.cmd()
            .args(["config", "set", "HF_TOKEN"])
            .write_stdin("hf_fromFILE\n")
            .output()
            .unwrap(),
    )
    .success();
    let apply = |token: Option<&str>| {
        let mut cmd = t.cmd();
        cmd.env("HF_ENDPOINT", server.url("/"));
        if let Some(token) = token {
            cmd.env("HF_TOKEN", token);
        }
        Run::from(cmd.args(["apply", "--yes"]).output().unwrap())
    };
    // The environment variable wins, even over a file with the right token.
    apply(Some("hf_wrongENV")).failure();
    assert_eq!(
        server.log().last().unwrap().authorization.as_deref(),
        Some("Bearer hf_wrongENV")
    );
    apply(None).success();
    assert_eq!(
        server.log().last().unwrap().authorization.as_deref(),
        Some("Bearer hf_fromFILE")
    );
    assert_eq!(
        fs::read(placed_model(&env, "checkpoints/tiny.safetensors")).unwrap(),
        body
    );
}

#[test]
fn a_pulled_commit_whose_manifest_does_not_parse_is_refused() {
    let t = TestContext::new();
    let (env_a, ws_b, env_b) = two_machines(&t);
    // A broken manifest committed with plain git (bypassing `comfydock commit`) and pushed.
    let cec_a = env_a.join(".cec");
    let manifest = cec_a.join("pyproject.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        text.replace("[tool.comfydock]", "[tool.comfydock]\ncomfyui_version = ["),
    )
    .unwrap();
    repos::git(&cec_a, &["commit", "--quiet", "-am", "broken"]);
    t.run(&["-e", "prod", "push"]).success();

    let cec_b = env_b.join(".cec");
    let before = head(&cec_b);
    let manifest_b = fs::read(cec_b.join("pyproject.toml")).unwrap();
    in_ws(&t, &ws_b, &["-e", "prod", "pull", "--apply"])
        .failure()
        .stderr_has("does not hold a valid environment")
        .stderr_has(&format!("{}:pyproject.toml", &head(&cec_a)[..10]))
        .stderr_has("comfyui_version = [");
    assert_eq!(head(&cec_b), before, "the branch did not move");
    assert_eq!(fs::read(cec_b.join("pyproject.toml")).unwrap(), manifest_b);
}

/// Issue 23 row 17: an existing world-writable `~/.config/comfydock` is made 0700 when a token
/// is stored in it, as the docs promise (another user could otherwise swap the file).
#[test]
fn an_existing_open_config_folder_is_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestContext::new();
    t.run(&["init"]).success();
    let dir = t.home.join(".config/comfydock");
    fs::create_dir_all(&dir).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    Run::from(
        t.cmd()
            .args(["config", "set", "HF_TOKEN"])
            .write_stdin("hf_x\n")
            .output()
            .unwrap(),
    )
    .success();
    assert_eq!(fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(
        fs::metadata(dir.join("credentials.toml")).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

/// Issue 23 row 2: a pulled commit that turns a `.cec` folder into a symlink is refused before
/// the branch moves; and a link already there is never written through.
#[test]
fn a_pulled_commit_holding_a_symlink_is_refused_and_links_are_never_written_through() {
    let t = TestContext::new();
    let (env_a, ws_b, env_b) = two_machines(&t);
    let outside = t.path("outside");
    fs::create_dir_all(&outside).unwrap();
    let cec_a = env_a.join(".cec");
    let _ = fs::remove_dir_all(cec_a.join("workflows"));
    std::os::unix::fs::symlink(&outside, cec_a.join("workflows")).unwrap();
    repos::git(&cec_a, &["add", "-A"]);
    repos::git(&cec_a, &["commit", "--quiet", "-m", "workflows elsewhere"]);
    t.run(&["-e", "prod", "push"]).success();

    let cec_b = env_b.join(".cec");
    let before = head(&cec_b);
    in_ws(&t, &ws_b, &["-e", "prod", "pull"])
        .failure()
        .stderr_has("symbolic links or submodules (workflows)");
    assert_eq!(head(&cec_b), before, "the branch did not move");

    // A link that is there anyway (made by hand): track and untrack never write through it.
    let _ = fs::remove_dir_all(cec_b.join("workflows"));
    std::os::unix::fs::symlink(&outside, cec_b.join("workflows")).unwrap();
    let user = env_b.join("ComfyUI/user/default/workflows");
    fs::create_dir_all(&user).unwrap();
    fs::write(user.join("flow.json"), r#"{"nodes":[],"links":[],"version":0.4}"#).unwrap();
    in_ws(&t, &ws_b, &["-e", "prod", "workflow", "track", "flow"])
        .failure()
        .stderr_has("is a symbolic link");
    assert!(
        crate::support::tree(&outside).is_empty(),
        "a file was written outside .cec"
    );
}

/// Issue 23 row 8: an environment imported from a git repository keeps its history and its
/// `origin`, so the documented flow `pull --apply` follows it.
#[test]
fn an_import_from_git_keeps_the_history_and_pull_follows_it() {
    let t = TestContext::new();
    let env_a = t.create_env("prod");
    let bare = t.path("gitops.git");
    repos::git(t.dir.path(), &["init", "--quiet", "--bare", bare.to_str().unwrap()]);
    t.run(&["-e", "prod", "remote", "add", bare.to_str().unwrap()])
        .success();
    t.run(&["-e", "prod", "push"]).success();

    let ws_b = t.path("ws-b");
    in_ws(&t, &ws_b, &["init"]).success();
    let url = format!("file://{}", bare.display());
    in_ws(&t, &ws_b, &["import", &url, "--name", "e5"]).success();
    let cec_b = ws_b.join("environments/e5/.cec");
    assert_eq!(head(&cec_b), head(&env_a.join(".cec")), "the history was not kept");
    let remotes = repos::git(&cec_b, &["remote", "-v"]);
    assert!(remotes.contains(&url), "{remotes}");

    let pack = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["-e", "prod", "node", "add", pack.to_str().unwrap()]).success();
    t.run(&["-e", "prod", "push"]).success();
    in_ws(&t, &ws_b, &["-e", "e5", "pull", "--apply"]).success();
    assert!(
        ws_b.join("environments/e5/ComfyUI/custom_nodes/alpha/__init__.py")
            .is_file()
    );
    assert_eq!(head(&cec_b), head(&env_a.join(".cec")));
}

/// Issue 23 row 9: a pulled lock out of date with its manifest is not resolved by `plan` or
/// `apply` (resolving runs the pulled commit's build scripts) until the user runs `lock`; a
/// `.python-version` that is not a version (a path to an executable) is refused at pull.
#[test]
fn a_stale_pulled_lock_waits_for_an_explicit_lock_and_python_version_is_checked() {
    let t = TestContext::new();
    let (env_a, ws_b, env_b) = two_machines(&t);
    let cec_a = env_a.join(".cec");
    t.run(&["-e", "prod", "py", "add", "comfy-mini-dep>=0.1", "--no-apply"])
        .success();
    repos::git(&cec_a, &["add", "-A"]);
    repos::git(&cec_a, &["commit", "--quiet", "-m", "a requirement, lock not updated"]);
    t.run(&["-e", "prod", "push"]).success();

    in_ws(&t, &ws_b, &["-e", "prod", "pull"])
        .success()
        .stderr_has("the pulled lock is out of date");
    in_ws(&t, &ws_b, &["-e", "prod", "plan"])
        .failure()
        .stderr_has("arrived out of date with its manifest from a pull")
        .stderr_has("comfydock lock");
    in_ws(&t, &ws_b, &["-e", "prod", "apply", "--yes"])
        .failure()
        .stderr_has("from a pull");
    in_ws(&t, &ws_b, &["-e", "prod", "lock"]).success();
    in_ws(&t, &ws_b, &["-e", "prod", "plan"]).success();

    fs::write(cec_a.join(".python-version"), "/tmp/evil/python\n").unwrap();
    repos::git(&cec_a, &["add", "-A"]);
    repos::git(&cec_a, &["commit", "--quiet", "-m", "an interpreter path"]);
    t.run(&["-e", "prod", "push"]).success();
    // B's own lock, not committed, goes: B is back at the pulled commit.
    repos::git(&env_b.join(".cec"), &["checkout", "--quiet", "--", "."]);
    let before = head(&env_b.join(".cec"));
    in_ws(&t, &ws_b, &["-e", "prod", "pull"])
        .failure()
        .stderr_has(".python-version holds `/tmp/evil/python`");
    assert_eq!(head(&env_b.join(".cec")), before);
}
