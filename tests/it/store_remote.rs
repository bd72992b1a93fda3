//! The shared store in S3-compatible object storage, against a real S3 API (moto) on 127.0.0.1:
//! push, a second machine applying from the remote with the original sources gone, status, a
//! corrupt object, an object deleted after it was listed, and the server stopping mid-upload.

use crate::support::http::HttpServer;
use crate::support::s3::{CutProxy, S3Server};
use crate::support::{Run, TestContext, on_a_terminal, placed_model, repos};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const BUCKET: &str = "fleet";

/// Bytes that look like nothing in particular, different per `seed`.
fn model_bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 13) as u8)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Runs comfydock with the AWS variables pointing at `endpoint` (and `--workspace ws` if given).
fn run_s3(t: &TestContext, endpoint: &str, ws: Option<&Path>, args: &[&str]) -> Run {
    let mut cmd = t.cmd();
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ALLOW_HTTP", "true");
    if let Some(ws) = ws {
        cmd.arg("--workspace").arg(ws);
    }
    Run::from(cmd.args(args).output().expect("spawn comfydock"))
}

/// The first machine: an environment with a git node pack (a subfolder, an executable file)
/// and models served over HTTP; the workspace's `[store] remote` set in workspace.toml.
struct Fleet {
    t: TestContext,
    s3: S3Server,
    http: Option<HttpServer>,
    pack: PathBuf,
    first: PathBuf,
    models: Vec<(String, Vec<u8>)>,
}

fn fleet(models: &[(&str, usize)]) -> Fleet {
    let t = TestContext::new();
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let first = t.create_env("first");
    let ws_toml = t.workspace.join("workspace.toml");
    let mut text = fs::read_to_string(&ws_toml).unwrap();
    text.push_str(&format!("\n[store]\nremote = \"s3://{BUCKET}/comfy\"\n"));
    fs::write(&ws_toml, text).unwrap();

    let pack = repos::node_pack_with(&t.path("packs/alpha"), "AlphaNode", &[("README.md", "alpha\n")]);
    fs::create_dir_all(pack.join("tools")).unwrap();
    fs::write(pack.join("tools/run.sh"), "#!/bin/sh\necho alpha\n").unwrap();
    fs::set_permissions(pack.join("tools/run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    repos::commit_all(&pack, "tools");
    t.run(&["node", "add", pack.to_str().unwrap()]).success();

    let http = HttpServer::start();
    let mut served = Vec::new();
    for (i, (name, len)) in models.iter().enumerate() {
        let body = model_bytes(i as u8 + 1, *len);
        let path = format!("/files/{name}.safetensors");
        http.serve(&path, &body);
        t.run(&["model", "add", &http.url(&path), "--category", "checkpoints"])
            .success();
        served.push((name.to_string(), body));
    }
    Fleet {
        t,
        s3,
        http: Some(http),
        pack,
        first,
        models: served,
    }
}

impl Fleet {
    fn run(&self, args: &[&str]) -> Run {
        run_s3(&self.t, &self.s3.endpoint(), None, args)
    }

    /// Another machine: a new workspace whose remote comes from COMFYDOCK_STORE_REMOTE, an
    /// environment with the first one's .cec (manifest and locks).
    fn machine(&self, name: &str) -> (PathBuf, PathBuf) {
        let ws = self.t.path(name);
        let w = ws.to_str().unwrap();
        self.t.run(&["--workspace", w, "init"]).success();
        self.t
            .run(&[
                "--workspace",
                w,
                "create",
                "env",
                "--comfyui-repo",
                self.t.comfyui_repo.to_str().unwrap(),
            ])
            .success();
        let env = ws.join("environments/env");
        for f in ["pyproject.toml", "comfydock.lock", "uv.lock"] {
            fs::copy(self.first.join(".cec").join(f), env.join(".cec").join(f)).unwrap();
        }
        (ws, env)
    }

    fn run_on(&self, ws: &Path, args: &[&str]) -> Run {
        let mut cmd = self.t.cmd();
        cmd.env("AWS_ENDPOINT_URL", self.s3.endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ALLOW_HTTP", "true")
            .env("COMFYDOCK_STORE_REMOTE", format!("s3://{BUCKET}/comfy"))
            .arg("--workspace")
            .arg(ws)
            .args(["-e", "env"]);
        Run::from(cmd.args(args).output().expect("spawn comfydock"))
    }

    /// Makes the original sources unreachable: the HTTP server stops, the pack repository moves.
    fn cut_sources(&mut self) {
        self.http = None;
        fs::rename(&self.pack, self.t.path("packs/alpha-gone")).unwrap();
    }
}

#[test]
fn a_second_machine_applies_nodes_and_models_from_the_remote_with_the_sources_gone() {
    // 9 MiB goes up in two parts (parts are 8 MiB).
    let mut f = fleet(&[("big", 9 << 20), ("small", 300_000)]);
    f.run(&["store", "status"])
        .success()
        .stdout_has(&format!("Remote store: s3://{BUCKET}/comfy"))
        .stdout_has(
            "3 needed: 3 local, 0 remote, 3 local only (`comfydock store push --models` uploads them), 0 missing.",
        );

    f.run(&["store", "push"])
        .success()
        .stdout_has("Pushed 1 object")
        .stdout_has("2 models not pushed: add --models to upload model files.");
    f.run(&["store", "push", "--models"])
        .success()
        .stdout_has("Pushed 2 objects")
        .stdout_has("1 already there.");
    // Resumable: nothing left to send.
    f.run(&["store", "push", "--models", "--all"])
        .success()
        .stdout_has("Pushed 0 objects (0 B)")
        .stdout_has("3 already there.");
    let keys = f.s3.keys(BUCKET, "comfy/");
    for (_, body) in &f.models {
        assert!(keys.contains(&format!("comfy/models/{}", hex(body))), "{keys:?}");
        assert!(keys.contains(&format!("comfy/models/{}.json", hex(body))), "{keys:?}");
    }
    assert!(
        !keys.iter().any(|k| k.starts_with("comfy/tmp/")),
        "temporary keys are removed: {keys:?}"
    );
    let status = f.run(&["store", "status", "--json"]);
    status.success();
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        doc["format_version"], "1",
        "store status --json is in the envelope every JSON output has"
    );
    assert_eq!(doc["missing"], 0);
    let objects = doc["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 3);
    assert!(
        objects.iter().all(|o| o["remote"] == true && !o["local"].is_null()),
        "{doc}"
    );

    f.cut_sources();
    let (ws, env) = f.machine("second");
    f.run_on(&ws, &["store", "status"])
        .success()
        .stdout_has("3 needed: 0 local, 3 remote, 0 local only");
    let applied = f.run_on(&ws, &["apply", "--yes", "--frozen"]);
    applied.success();
    assert!(
        applied.stderr.contains("from the remote store s3://fleet/comfy"),
        "{}",
        applied.stderr
    );
    assert!(!applied.stderr.contains("not used"), "{}", applied.stderr);
    for (name, body) in &f.models {
        let placed = placed_model(&env, &format!("checkpoints/{name}.safetensors"));
        assert_eq!(&fs::read(&placed).unwrap(), body, "{name}");
    }
    let node = env.join("ComfyUI/custom_nodes/alpha");
    assert!(
        fs::read_to_string(node.join("__init__.py"))
            .unwrap()
            .contains("AlphaNode")
    );
    let script = node.join("tools/run.sh");
    assert_eq!(fs::metadata(&script).unwrap().permissions().mode() & 0o111, 0o111);
    f.run_on(&ws, &["plan", "--detailed-exitcode"]).success();
    f.run_on(&ws, &["verify"]).success();
    f.run_on(&ws, &["store", "status"])
        .success()
        .stdout_has("3 needed: 3 local, 3 remote, 0 local only");

    // On a terminal, what comes from the remote has a download bar like any other.
    let (ws, _) = f.machine("third");
    let endpoint = f.s3.endpoint();
    let envs = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
        ("COMFYDOCK_STORE_REMOTE", "s3://fleet/comfy"),
    ];
    let w = ws.to_str().unwrap();
    let terminal = on_a_terminal(
        &f.t,
        &envs,
        &["--workspace", w, "-e", "env", "apply", "--yes", "--frozen"],
    );
    // Which of the three objects gets drawn depends on timing (bars refresh at most 20 times a
    // second, and these downloads are quick): at least the first one is.
    assert!(
        terminal.contains(" (remote store) ") && terminal.contains("B/"),
        "no bar on the terminal:\n{terminal}"
    );
}

#[test]
fn a_corrupt_or_vanished_remote_object_is_reported_and_never_installed() {
    let mut f = fleet(&[("m", 200_000)]);
    f.run(&["store", "push", "--models"])
        .success()
        .stdout_has("Pushed 2 objects");
    let (_, body) = f.models[0].clone();
    let model_key = format!("comfy/models/{}", hex(&body));
    // Same size, other bytes: only the hash can tell.
    f.s3.put(BUCKET, &model_key, &model_bytes(99, body.len()));
    // The node's archive disappears after its record was listed.
    let archive =
        f.s3.keys(BUCKET, "comfy/nodes/")
            .into_iter()
            .find(|k| k.ends_with(".tar.gz"))
            .unwrap();
    f.s3.delete(BUCKET, &archive);

    // With the sources up, apply reports both and takes them from the sources.
    let (ws, env) = f.machine("second");
    let applied = f.run_on(&ws, &["apply", "--yes", "--frozen"]);
    applied.success();
    assert!(
        applied.stderr.contains("remote store: model m not used") && applied.stderr.contains("expected blake3:"),
        "{}",
        applied.stderr
    );
    assert!(
        applied.stderr.contains("remote store: node alpha not used") && applied.stderr.contains("gone"),
        "{}",
        applied.stderr
    );
    assert_eq!(fs::read(placed_model(&env, "checkpoints/m.safetensors")).unwrap(), body);
    assert!(env.join("ComfyUI/custom_nodes/alpha/__init__.py").is_file());

    // With the sources gone, the corrupt model is refused and nothing is placed.
    f.cut_sources();
    let (ws3, env3) = f.machine("third");
    let failed = f.run_on(&ws3, &["apply", "--yes", "--frozen"]);
    failed.failure();
    assert!(failed.stderr.contains("not used"), "{}", failed.stderr);
    assert!(
        placed_model(&env3, "checkpoints/m.safetensors")
            .symlink_metadata()
            .is_err()
    );
    let downloaded: Vec<_> = walkdir::WalkDir::new(ws3.join("models"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().to_path_buf())
        .collect();
    assert!(
        downloaded.is_empty(),
        "no file of the corrupt object is kept: {downloaded:?}"
    );
}

#[test]
fn a_push_cut_off_mid_upload_fails_and_a_later_push_resumes() {
    let f = fleet(&[("big", 9 << 20)]);
    f.run(&["store", "push"]).success().stdout_has("Pushed 1 object");
    let (_, body) = f.models[0].clone();

    // The server goes away after 2 MB of the model.
    let proxy = CutProxy::start(f.s3.port, 2 << 20);
    let cut = run_s3(&f.t, &proxy.endpoint(), None, &["store", "push", "--models"]);
    cut.failure();
    assert!(proxy.went_down());
    assert!(cut.stderr.contains("failed: big"), "{}", cut.stderr);
    assert!(
        cut.stdout.contains("run `comfydock store push` again to resume"),
        "{}",
        cut.stdout
    );
    // No torn object under the model's name, and no record.
    let keys = f.s3.keys(BUCKET, "comfy/models/");
    assert!(keys.is_empty(), "{keys:?}");

    // The server is back: the push resumes, skipping what is there.
    f.run(&["store", "push", "--models"])
        .success()
        .stdout_has("Pushed 1 object (9.0 MiB)")
        .stdout_has("1 already there.");
    assert_eq!(f.s3.get(BUCKET, &format!("comfy/models/{}", hex(&body))).unwrap(), body);
}

#[test]
fn a_missing_or_bad_remote_address_is_a_clear_error() {
    let t = TestContext::new();
    t.create_env("demo");
    t.run(&["store", "status"])
        .failure()
        .stderr_has("no remote store is configured");
    let mut cmd = t.cmd();
    cmd.env("COMFYDOCK_STORE_REMOTE", "https://example.org/bucket");
    Run::from(cmd.args(["store", "push"]).output().unwrap())
        .failure()
        .stderr_has("only s3:// addresses are supported");
}

/// Issue 20: a pack's install.py build pushed to the remote store is used by another machine
/// with the pack's source unreachable: the script does not run there, the pack folder is the
/// build, and verify is clean.
#[test]
fn an_install_script_build_from_the_remote_store_is_used_without_running_the_script() {
    let t = TestContext::new();
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let counter = t.path("build-counter.txt");
    let run = |ws: Option<&Path>, env: Option<&str>, args: &[&str]| -> Run {
        let mut cmd = t.cmd();
        cmd.env("AWS_ENDPOINT_URL", s3.endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ALLOW_HTTP", "true")
            .env("COMFYDOCK_STORE_REMOTE", format!("s3://{BUCKET}/comfy"))
            .env("BUILD_COUNTER", &counter);
        if let Some(ws) = ws {
            cmd.arg("--workspace").arg(ws);
        }
        if let Some(env) = env {
            cmd.args(["-e", env]);
        }
        Run::from(cmd.args(args).output().unwrap())
    };
    let builds = || fs::read_to_string(&counter).map_or(0, |s| s.lines().count());
    let first = t.create_env("first");
    let script = "import os\nwith open(os.environ['BUILD_COUNTER'], 'a') as f:\n    f.write('built\\n')\nos.makedirs('fetched', exist_ok=True)\nopen('fetched/weights.txt', 'w').write('from the network\\n')\n";
    let pack = repos::node_pack_with(&t.path("packs/built-pack"), "BuiltNode", &[("install.py", script)]);
    run(None, None, &["node", "add", "--run-install", pack.to_str().unwrap()]).success();
    assert_eq!(builds(), 1);
    run(None, None, &["store", "push"]).success();

    // Another machine: the first one's .cec, the pack's repository gone.
    fs::rename(&pack, t.path("packs/built-pack-gone")).unwrap();
    let ws = t.path("third");
    let w = ws.to_str().unwrap();
    t.run(&["--workspace", w, "init"]).success();
    t.run(&[
        "--workspace",
        w,
        "create",
        "env",
        "--comfyui-repo",
        t.comfyui_repo.to_str().unwrap(),
    ])
    .success();
    let env = ws.join("environments/env");
    for f in ["pyproject.toml", "comfydock.lock", "uv.lock"] {
        fs::copy(first.join(".cec").join(f), env.join(".cec").join(f)).unwrap();
    }
    run(Some(&ws), Some("env"), &["apply", "--locked", "--yes"])
        .success()
        .stderr_has("Build of install.py from the remote store");
    assert_eq!(builds(), 1, "the script ran on the machine that had its build");
    assert_eq!(
        fs::read_to_string(env.join("ComfyUI/custom_nodes/built-pack/fetched/weights.txt")).unwrap(),
        "from the network\n"
    );
    run(Some(&ws), Some("env"), &["verify"]).success();
}
