//! Hostile input (issue 9, DESIGN.md "Trust model"): a manifest, lock, store or server that
//! tries to steer comfydock outside the environment, or to make it panic or hang, gets a
//! diagnostic and changes nothing. One test per finding of the adversarial review.

use crate::support::http::HttpServer;
use crate::support::{Run, TestContext, repos, tree};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Everything in an environment except `.cec/` (which a failed command restores) and the
/// per-environment state comfydock keeps for itself.
fn env_files(env: &Path) -> Vec<String> {
    tree(env)
        .into_iter()
        .filter(|p| !p.starts_with(".cec") && !p.starts_with(".comfydock"))
        .collect()
}

fn append(path: &Path, text: &str) -> String {
    let before = fs::read_to_string(path).unwrap();
    fs::write(path, format!("{before}{text}")).unwrap();
    before
}

/// An environment with one git node pack `alpha` installed.
fn env_with_pack(t: &TestContext) -> (PathBuf, PathBuf) {
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["node", "add", pack.to_str().unwrap()]).success();
    (env, pack)
}

#[test]
fn node_ids_that_would_leave_custom_nodes_are_refused_and_change_nothing() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let model = env.join("ComfyUI/models/checkpoints/mine.safetensors");
    fs::create_dir_all(model.parent().unwrap()).unwrap();
    fs::write(&model, b"the user's model").unwrap();
    let pack = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    let manifest = env.join(".cec/pyproject.toml");
    let before = env_files(&env);
    for bad in ["../models", "../../../../../esc1", "/tmp/abs-node", "", "a/b"] {
        let original = append(
            &manifest,
            &format!(
                "\n[tool.comfydock.nodes.\"{bad}\"]\nsource = \"git\"\nrepository = \"{}\"\n",
                pack.display()
            ),
        );
        t.run(&["apply", "--yes"])
            .failure()
            .stderr_has("node id")
            .stderr_has("is not valid");
        t.run(&["plan"]).failure().stderr_has("node id");
        fs::write(&manifest, original).unwrap();
    }
    assert_eq!(env_files(&env), before, "nothing in the environment changed");
    assert_eq!(fs::read(&model).unwrap(), b"the user's model");
    assert!(!t.workspace.join("esc1").exists() && !Path::new("/tmp/abs-node").exists());
}

#[test]
fn a_hand_edited_lock_cannot_steer_apply() {
    let t = TestContext::new();
    let (env, _) = env_with_pack(&t);
    let lock_path = env.join(".cec/comfydock.lock");
    let good = fs::read_to_string(&lock_path).unwrap();
    let before = env_files(&env);

    // Through the lock, under --frozen: ids and categories are checked when the lock is read.
    let hostile_id = good.replace("[nodes.alpha]", "[nodes.\"../models\"]");
    assert_ne!(hostile_id, good);
    fs::write(&lock_path, &hostile_id).unwrap();
    t.run(&["apply", "--frozen", "--yes"])
        .failure()
        .stderr_has("comfydock.lock")
        .stderr_has("node id");
    let outside = format!(
        "{good}\n[models.evil]\nblake3 = \"blake3:{}\"\ncategory = \"../../../../outside\"\nfilename = \"x.bin\"\n",
        "ab".repeat(32)
    );
    fs::write(&lock_path, &outside).unwrap();
    t.run(&["apply", "--frozen", "--yes"])
        .failure()
        .stderr_has("relative path");

    // A lock-only entry with valid values is stale: no review of the manifest saw it.
    let extra = format!(
        "{good}\n[models.extra]\nblake3 = \"blake3:{}\"\ncategory = \"checkpoints\"\nfilename = \"x.bin\"\n",
        "ab".repeat(32)
    );
    fs::write(&lock_path, &extra).unwrap();
    t.run(&["lock", "--check"])
        .failure()
        .stderr_has("model `extra` that the manifest does not declare");
    t.run(&["apply", "--locked", "--yes"]).failure();

    fs::write(&lock_path, &good).unwrap();
    assert_eq!(env_files(&env), before);
    assert!(!t.dir.path().join("outside").exists());
    t.run(&["plan", "--detailed-exitcode"]).success();
}

#[test]
fn a_failed_undo_is_reported_and_never_blocks_later_commands() {
    let t = TestContext::new();
    let (env, _) = env_with_pack(&t);
    // An interrupted switch whose first step can no longer be undone (its repository is gone)
    // and whose second can: recovery undoes what it can, names what it could not, and moves on.
    let moved = env.join("ComfyUI/custom_nodes/alpha-moved");
    fs::rename(env.join("ComfyUI/custom_nodes/alpha"), &moved).unwrap();
    let journal = serde_json::json!({
        "begin": {
            "generation": 9,
            "steps": [
                { "op": "checkout", "repo": t.path("no-such-repo"), "from": "0".repeat(40), "to": "1".repeat(40) },
                { "op": "rename", "from": env.join("ComfyUI/custom_nodes/alpha"), "to": moved },
            ],
            "cleanup": [],
            "discard": [],
        }
    });
    fs::write(
        env.join(".comfydock/journal.jsonl"),
        format!("{journal}\n{{\"started\":0}}\n{{\"started\":1}}\n"),
    )
    .unwrap();
    t.run(&["recover"])
        .success()
        .stderr_has("could not be undone")
        .stderr_has("no-such-repo");
    assert!(
        env.join("ComfyUI/custom_nodes/alpha").is_dir(),
        "the other step was undone"
    );
    assert!(env.join(".comfydock/journal.failed-9.jsonl").is_file());
    t.run(&["status"]).success();
    t.run(&["plan", "--detailed-exitcode"]).success();
}

/// A `uv` that hangs in `sync` (recording its pid) and runs the real uv otherwise.
fn hanging_uv(t: &TestContext) -> (PathBuf, PathBuf) {
    let pid_file = t.path("uv.pid");
    let script = t.path("bin/uv-hang");
    fs::create_dir_all(script.parent().unwrap()).unwrap();
    fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ \"$1\" = sync ]; then echo $$ > '{}'; exec sleep 120; fi\nexec uv \"$@\"\n",
            pid_file.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    (script, pid_file)
}

fn alive(pid: u32) -> bool {
    // A zombie has been killed; only its parent's wait is missing.
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

#[test]
fn killing_comfydock_kills_uv_and_a_half_built_venv_is_never_used() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    // Without its completion marker the live venv is not whole: plan builds a new one.
    let live = fs::read_link(env.join(".venv")).unwrap();
    fs::remove_file(env.join(&live).join(".comfydock-complete")).unwrap();
    t.run(&["plan"]).success().stdout_has("python: uv sync");

    let (uv, pid_file) = hanging_uv(&t);
    let mut child = t
        .std_cmd()
        .env("COMFYDOCK_UV", &uv)
        .args(["apply", "--yes"])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let uv_pid: u32 = loop {
        if let Some(pid) = fs::read_to_string(&pid_file).ok().and_then(|s| s.trim().parse().ok()) {
            break pid;
        }
        assert!(Instant::now() < deadline, "uv sync never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(uv_pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(uv_pid), "uv outlived comfydock");

    // The half-built venv is never taken for a whole one.
    t.run(&["plan"]).success().stdout_has("python: uv sync");
    t.run(&["apply", "--yes"]).success();
    let live = fs::read_link(env.join(".venv")).unwrap();
    assert!(env.join(&live).join(".comfydock-complete").is_file());
    t.run(&["plan", "--detailed-exitcode"]).success();
}

#[test]
fn gc_leaves_the_scratch_folders_of_running_applies_alone() {
    let t = TestContext::new();
    let _ = env_with_pack(&t);
    let nodes = t.workspace.join("store/nodes");
    let mut running = std::process::Command::new("sleep").arg("60").spawn().unwrap();
    let live = nodes.join(format!(".tmp-{}-abc", running.id()));
    let dead = nodes.join(".tmp-999999999-abc");
    // An import's staging folder in the workspace: the same rule.
    let importing = t.workspace.join(format!(".comfydock-tmp-import-{}-x", running.id()));
    let killed = t.workspace.join(".comfydock-tmp-import-999999999-x");
    for dir in [&live, &dead, &importing, &killed] {
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("sub/f.py"), b"x").unwrap();
    }
    t.run(&["gc", "--keep", "1"]).success().stdout_has("interrupted import");
    assert!(
        live.join("sub/f.py").is_file(),
        "a running apply's scratch folder was deleted"
    );
    assert!(!dead.exists(), "an abandoned scratch folder was kept");
    assert!(
        importing.join("sub/f.py").is_file(),
        "a running import's folder was deleted"
    );
    assert!(!killed.exists(), "a killed import's folder was kept");
    running.kill().unwrap();
    running.wait().unwrap();
}

#[test]
fn a_damaged_store_entry_is_never_installed_and_verify_finds_edits() {
    let t = TestContext::new();
    let (env, _) = env_with_pack(&t);
    t.run(&["verify"]).success().stderr_has("everything matches the lock");
    let nodes = t.workspace.join("store/nodes");
    let entry = fs::read_dir(&nodes)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir() && !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .unwrap();
    let marker = PathBuf::from(format!("{}.complete", entry.display()));
    assert!(marker.is_file());

    // A removal killed half-way: marker gone, a file gone. The entry must not be installed.
    fs::remove_file(&marker).unwrap();
    fs::remove_file(entry.join("__init__.py")).unwrap();
    fs::remove_dir_all(env.join("ComfyUI/custom_nodes/alpha")).unwrap();
    t.run(&["apply", "--yes"]).success();
    assert!(env.join("ComfyUI/custom_nodes/alpha/__init__.py").is_file());
    assert!(
        entry.join("__init__.py").is_file() && marker.is_file(),
        "the entry was rebuilt whole"
    );

    // Edits by hand, in the store and in the installed tree, are found by verify.
    fs::write(env.join("ComfyUI/custom_nodes/alpha/__init__.py"), b"edited").unwrap();
    t.run(&["verify"])
        .failure()
        .stdout_has("node alpha: `__init__.py` changed");
    fs::write(entry.join("__init__.py"), b"edited in the store").unwrap();
    let run = t.run(&["verify", "--json"]);
    run.failure();
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        report["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["subject"].as_str().unwrap().starts_with("store entry blake3:")),
        "{report}"
    );
}

#[test]
fn malformed_values_are_diagnostics_not_panics() {
    let t = TestContext::new();
    let (env, pack) = env_with_pack(&t);
    let lock_path = env.join(".cec/comfydock.lock");
    let good = fs::read_to_string(&lock_path).unwrap();
    let commit_line = good.lines().find(|l| l.starts_with("commit = ")).unwrap().to_string();
    fs::write(&lock_path, good.replacen(&commit_line, "commit = \"aéééééééé\"", 1)).unwrap();
    for args in [&["plan"][..], &["status"], &["apply", "--yes"], &["node", "list"]] {
        t.run(args).failure().stderr_has("git commit");
    }
    let model =
        format!("{good}\n[models.m]\nblake3 = \"blake3:ab\"\ncategory = \"checkpoints\"\nfilename = \"m.bin\"\n");
    fs::write(&lock_path, model).unwrap();
    t.run(&["apply", "--frozen", "--yes"]).failure().stderr_has("blake3");
    assert!(!env.join(".comfydock/staging").exists());
    fs::write(&lock_path, &good).unwrap();

    // An inline `nodes = { ... }` table is valid TOML: it is read and edited, not a panic.
    let manifest = env.join(".cec/pyproject.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    let header = "[tool.comfydock.nodes.alpha]";
    let start = text.find(header).unwrap();
    let table_end = text[start + header.len()..]
        .find("\n[")
        .map_or(text.len(), |i| start + header.len() + i);
    let inline = format!("{}{}", &text[..start], &text[table_end..]).replace(
        "[tool.comfydock]\n",
        &format!(
            "[tool.comfydock]\nnodes = {{ alpha = {{ source = \"git\", repository = \"{}\" }} }}\n",
            pack.display()
        ),
    );
    fs::write(&manifest, inline).unwrap();
    t.run(&["lock"]).success();
    let beta = repos::node_pack(&t.path("packs/beta"), "BetaNode");
    t.run(&["node", "add", beta.to_str().unwrap()]).success();
    let after = fs::read_to_string(&manifest).unwrap();
    assert!(after.contains("alpha") && after.contains("beta"), "{after}");
}

#[test]
fn a_closed_stdout_ends_quietly() {
    let t = TestContext::new();
    let _ = t.create_env("demo");
    for args in [&["log"][..], &["list"], &["log", "--json"]] {
        let mut child = t
            .std_cmd()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader is gone before anything is written
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

fn declare_model(env: &Path, url: &str, body: &[u8]) {
    append(
        &env.join(".cec/pyproject.toml"),
        &format!(
            "\n[tool.comfydock.models.m]\nhash = \"blake3:{}\"\ncategory = \"checkpoints\"\nfilename = \"m.safetensors\"\nsources = [{{ type = \"url\", url = \"{url}\" }}]\n",
            blake3::hash(body).to_hex()
        ),
    );
}

#[test]
fn downloads_from_misbehaving_servers_end() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let server = HttpServer::start();
    let body: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();

    // Content-Length twice the body, Range ignored: bounded attempts, the URL named.
    server.serve("/liar.safetensors", &body);
    server.lie_about_length("/liar.safetensors");
    let manifest = env.join(".cec/pyproject.toml");
    let original = fs::read_to_string(&manifest).unwrap();
    declare_model(&env, &server.url("/liar.safetensors"), &body);
    let started = Instant::now();
    let run = Run::from(
        t.cmd()
            .env("COMFYDOCK_HTTP_RETRIES", "2")
            .args(["apply", "--yes"])
            .output()
            .unwrap(),
    );
    run.failure().stderr_has("/liar.safetensors");
    assert!(server.log().len() <= 10, "{} requests", server.log().len());
    assert!(started.elapsed() < Duration::from_secs(60));

    // A byte at a time, far below the low-speed limit: given up on, not waited out.
    // (Other content: the liar's partial download would otherwise be resumed, correctly.)
    let body: Vec<u8> = body.iter().map(|b| b.wrapping_add(1)).collect();
    fs::write(&manifest, &original).unwrap();
    declare_model(&env, &server.url("/slow.safetensors"), &body);
    server.serve("/slow.safetensors", &body);
    server.trickle("/slow.safetensors", 100);
    let started = Instant::now();
    let run = Run::from(
        t.cmd()
            .env("COMFYDOCK_HTTP_RETRIES", "1")
            .env("COMFYDOCK_HTTP_LOW_SPEED_TIME", "1")
            .env("COMFYDOCK_HTTP_LOW_SPEED_LIMIT", "1000")
            .args(["apply", "--yes"])
            .output()
            .unwrap(),
    );
    run.failure().stderr_has("too slow").stderr_has("/slow.safetensors");
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
}

#[test]
fn unknown_keys_and_bad_values_in_the_manifest_are_refused() {
    let t = TestContext::new();
    let (env, pack) = env_with_pack(&t);
    let manifest = env.join(".cec/pyproject.toml");
    let good = fs::read_to_string(&manifest).unwrap();
    let typo = good.replacen("source = \"git\"", "source = \"git\"\nrevv = \"v1\"", 1);
    fs::write(&manifest, typo).unwrap();
    t.run(&["plan"])
        .failure()
        .stderr_has("unknown field `revv`")
        .stderr_has("did you mean `rev`?");
    let py = good.replace("python_version = \"", "python_version = \"--help\"\n#");
    fs::write(&manifest, py).unwrap();
    t.run(&["plan"]).failure().stderr_has("Python version");

    // git argument injection: nothing that reads as an option or a command transport.
    let repo_line = format!("repository = \"{}\"", pack.display());
    for replacement in [
        "repository = \"--upload-pack=touch /tmp/comfydock-pwned\"".to_string(),
        "repository = \"ext::sh -c touch% /tmp/comfydock-pwned\"".to_string(),
        format!("{repo_line}\nrev = \"--output=/tmp/comfydock-pwned\""),
    ] {
        fs::write(&manifest, good.replace(&repo_line, &replacement)).unwrap();
        t.run(&["node", "update"]).failure().stderr_has("is not valid");
    }
    assert!(!Path::new("/tmp/comfydock-pwned").exists());
    fs::write(&manifest, good).unwrap();
    t.run(&["plan", "--detailed-exitcode"]).success();
}

#[test]
fn a_tracked_workflows_requires_entries_are_checked_where_the_manifest_is_read() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let manifest = env.join(".cec/pyproject.toml");
    let good = fs::read_to_string(&manifest).unwrap();
    let before = env_files(&env);
    for (requires, what) in [
        ("nodes = [\"../escape\"]", "node id \"../escape\" is not valid"),
        ("models = [\"a/b\"]", "model key \"a/b\" is not valid"),
        ("python = [\"-e .\"]", "Python requirement \"-e .\" is not valid"),
        (
            "python = [\"numpy>=>1\"]",
            "Python requirement \"numpy>=>1\" is not valid",
        ),
    ] {
        let text = format!(
            "{good}\n[tool.comfydock.workflows.tracked.w]\nfile = \"workflows/w.json\"\nrequires = {{ {requires} }}\n"
        );
        fs::write(&manifest, &text).unwrap();
        t.run(&["plan"])
            .failure()
            .stderr_has("comfydock::manifest::invalid")
            .stderr_has(what);
        assert_eq!(
            fs::read_to_string(&manifest).unwrap(),
            text,
            "the manifest is left as written"
        );
    }
    assert_eq!(env_files(&env), before, "nothing in the environment changed");
    let fine = "nodes = [\"some-pack\"], models = [\"sd15\"], python = [\"numpy >= 1.26 ; python_version >= '3.10'\"]";
    fs::write(
        &manifest,
        format!("{good}\n[tool.comfydock.workflows.tracked.w]\nfile = \"workflows/w.json\"\nrequires = {{ {fine} }}\n"),
    )
    .unwrap();
    let status = t.run(&["status"]);
    assert!(!status.stderr.contains("is not valid"), "{}", status.stderr);
}

#[test]
fn a_node_table_with_fields_its_source_does_not_have_is_refused_where_it_is_read() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let manifest = env.join(".cec/pyproject.toml");
    let good = fs::read_to_string(&manifest).unwrap();
    let before = env_files(&env);
    for (table, what) in [
        (
            "source = \"registry\"\nrepository = \"https://example.com/x\"",
            "`repository` belongs to a git pack, but this pack has `source = \"registry\"`",
        ),
        (
            "source = \"git\"\nrev = \"main\"",
            "a git pack needs `repository = \"URL\"`",
        ),
        (
            "rev = \"main\"",
            "a git pack needs `repository = \"URL\"` (no `source` (a git pack))",
        ),
        (
            "path = \"../mine\"",
            "`path` belongs to a local pack, but this pack has no `source` (a git pack)",
        ),
        ("source = \"local\"", "a local pack needs `path = \"FOLDER\"`"),
        (
            "source = \"comfydock\"\nregistry_id = \"x\"\nversion = \"1.0\"",
            "`registry_id`, `version` belong to a registry pack",
        ),
    ] {
        let text = format!("{good}\n[tool.comfydock.nodes.x]\n{table}\n");
        fs::write(&manifest, &text).unwrap();
        t.run(&["plan"])
            .failure()
            .stderr_has("comfydock::manifest::invalid")
            .stderr_has(what);
        t.run(&["node", "list"]).failure().stderr_has(what);
        assert_eq!(
            fs::read_to_string(&manifest).unwrap(),
            text,
            "the manifest is left as written"
        );
    }
    assert_eq!(env_files(&env), before, "nothing in the environment changed");
}

#[test]
fn a_repository_path_with_quotes_makes_a_valid_manifest() {
    let t = TestContext::new();
    let odd = t.path("we\"ird\\repo");
    fs::create_dir_all(&odd).unwrap();
    repos::copy_dir(&t.comfyui_repo, &odd);
    t.run(&["init"]).success();
    t.run(&["create", "demo", "--comfyui-repo", odd.to_str().unwrap()])
        .success();
    let manifest = fs::read_to_string(t.workspace.join("environments/demo/.cec/pyproject.toml")).unwrap();
    let value: toml::Value = toml::from_str(&manifest).unwrap();
    assert_eq!(
        value["tool"]["comfydock"]["comfyui_repo"].as_str(),
        Some(odd.to_str().unwrap())
    );
    t.run(&["plan", "--detailed-exitcode"]).success();
}

/// Issue 23 row 1: a tar extension entry (GNU long name `L`, PAX `x`) claiming 2 GiB is refused
/// from its header, before any of it is read: the command ends with a short diagnostic naming
/// the bound, and nothing is created.
#[test]
fn a_bundle_claiming_a_huge_long_name_is_refused_from_its_header() {
    use std::io::Write;
    let t = TestContext::new();
    t.run(&["init"]).success();
    for ty in [tar::EntryType::GNULongName, tar::EntryType::XHeader] {
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        h.set_entry_type(ty);
        h.set_size(2 << 30);
        h.set_cksum();
        let mut raw = h.as_bytes().to_vec();
        raw.extend(std::iter::repeat_n(b'a', 1 << 20));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        let bundle = t.path("x.tar.gz");
        fs::write(&bundle, gz.finish().unwrap()).unwrap();
        let run = t.run(&["import", bundle.to_str().unwrap(), "--name", "n"]);
        run.failure().stderr_has("header").stderr_has("65536");
        assert!(run.stderr.len() < 4096, "a bounded message: {} bytes", run.stderr.len());
        assert!(!t.workspace.join("environments/n").exists());
    }
}

/// Issue 23 row 4: a model server that streams without `Content-Length` is cut off as soon as
/// it sends more than the recorded size, and the partial file (comfydock's, in
/// `store/downloads/`) is deleted; nothing is placed.
#[test]
fn a_server_that_streams_forever_is_cut_off_at_the_recorded_size() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let server = HttpServer::start();
    let chunk: Vec<u8> = (0..65_536u32).map(|i| (i % 253) as u8).collect();
    server.serve("/endless.safetensors", &chunk);
    let at_most = 256 << 20;
    server.stream_endlessly("/endless.safetensors", at_most);
    let url = server.url("/endless.safetensors");
    append(
        &env.join(".cec/pyproject.toml"),
        &format!(
            "\n[tool.comfydock.models.m]\nhash = \"blake3:{}\"\nsize = 100000\ncategory = \"checkpoints\"\nfilename = \"m.safetensors\"\nsources = [{{ type = \"url\", url = \"{url}\" }}]\n",
            blake3::hash(&chunk).to_hex()
        ),
    );
    let run = Run::from(
        t.cmd()
            .env("COMFYDOCK_HTTP_RETRIES", "1")
            .args(["apply", "--yes"])
            .output()
            .unwrap(),
    );
    run.failure()
        .stderr_has("/endless.safetensors")
        .stderr_has("more than 100000 bytes");
    let streamed = server.streamed("/endless.safetensors").expect("the response ended");
    assert!(
        streamed < 64 << 20,
        "the client hung up early: {streamed} bytes were sent"
    );
    let leftovers: Vec<String> = tree(&t.workspace.join("store/downloads"))
        .into_iter()
        .filter(|p| p.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "partial files were deleted: {leftovers:?}");
    assert!(!env.join("ComfyUI/models/checkpoints/m.safetensors").exists());
}

/// Issue 23 row 13: untrusted text reaches the terminal with its control characters shown, not
/// sent: a node type with ESC/BEL/CR in `analyze`'s output, and an archive entry name in a
/// diagnostic.
#[test]
fn terminal_escapes_in_untrusted_text_are_shown_not_sent() {
    use std::io::Write;
    let raw = |s: &str| s.contains(['\u{1b}', '\u{7}', '\r']);
    let t = TestContext::new();
    t.run(&["init"]).success();
    let wf = t.path("wf.json");
    fs::write(
        &wf,
        r#"{"nodes":[{"id":1,"type":"Evil\u001b[2K\u0007\rNode","widgets_values":[]}],"links":[]}"#,
    )
    .unwrap();
    let run = t.run(&["analyze", wf.to_str().unwrap()]);
    run.success().stdout_has(r"Evil\u{1b}[2K\u{7}\u{d}Node");
    assert!(!raw(&run.stdout) && !raw(&run.stderr), "{:?}", run.stdout);

    let mut h = tar::Header::new_old();
    let name = b"../\x1b]0;owned\x07\rx";
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(1);
    h.set_cksum();
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    b.append(&h, &b"x"[..]).unwrap();
    let mut gz = b.into_inner().unwrap();
    gz.flush().unwrap();
    let bundle = t.path("evil.tar.gz");
    fs::write(&bundle, gz.finish().unwrap()).unwrap();
    let run = t.run(&["import", bundle.to_str().unwrap(), "--name", "n"]);
    run.failure().stderr_has(r"\u{1b}]0;owned\u{7}\u{d}x");
    assert!(!raw(&run.stderr), "{:?}", run.stderr);
}

/// #23: a manifest pulled from others is shown in a parse error's snippet; the control
/// characters in it reach the terminal as visible characters, not as escapes.
#[test]
fn terminal_escapes_in_a_manifest_snippet_are_not_sent() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let manifest = env.join(".cec/pyproject.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(&manifest, format!("{text}\n# \u{1b}]0;owned\u{7}\n[tool.comfydock\n")).unwrap();
    let run = t.run(&["plan"]);
    run.failure().stderr_has("[tool.comfydock");
    assert!(!run.stderr.contains(['\u{1b}', '\u{7}']), "{:?}", run.stderr);
}

/// #23: a registry (or mappings) answer is read into memory whole, so its size is capped
/// (`store::download::MAX_BODY_BYTES`): a server that streams without end is cut there.
#[test]
fn a_registry_answer_that_never_ends_is_cut_off() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let server = HttpServer::start();
    let chunk = vec![b' '; 65_536];
    let path = "/nodes/search?search=endless&page=1&limit=20";
    server.serve(path, &chunk);
    server.stream_endlessly(path, 1 << 30);
    let run = Run::from(
        t.cmd()
            .env("COMFYDOCK_REGISTRY_URL", server.url(""))
            .env("COMFYDOCK_HTTP_RETRIES", "0")
            .args(["node", "find", "endless"])
            .output()
            .unwrap(),
    );
    run.failure().stderr_has("larger than 64 MiB");
    let streamed = server.streamed(path).expect("the response ended");
    assert!(
        streamed < 80 << 20,
        "the client hung up at the cap: {streamed} bytes were sent"
    );
}

/// #24: an I/O error while taking the environment's lock is that error, with its path, not
/// "locked by another comfydock".
#[test]
fn a_lock_that_cannot_be_opened_is_not_reported_as_held() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let lock = env.join(".comfydock/lock");
    let _ = fs::remove_file(&lock);
    fs::create_dir_all(lock.join("in-the-way")).unwrap();
    let run = t.run(&["apply", "--yes"]);
    run.failure()
        .stderr_has("could not take the writer lock")
        .stderr_has(".comfydock/lock");
    assert!(!run.stderr.contains("locked by another"), "{}", run.stderr);
}
