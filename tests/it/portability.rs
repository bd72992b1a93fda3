//! export and import: an environment moved to another workspace (another machine) through a
//! bundle, a .cec folder or a git repository, rebuilt from its lock and verified.

use crate::support::http::HttpServer;
use crate::support::{Run, TestContext, placed_model, repos, tree};
use std::fs;
use std::path::{Path, PathBuf};

fn model_bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed))
        .collect()
}

/// A second workspace of the same test: another machine, with the same fixture sources.
struct Other<'a> {
    t: &'a TestContext,
    ws: PathBuf,
}

impl Other<'_> {
    fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["--workspace", self.ws.to_str().unwrap()];
        all.extend_from_slice(args);
        self.t.run(&all)
    }

    fn env(&self, name: &str) -> PathBuf {
        self.ws.join("environments").join(name)
    }
}

fn other(t: &TestContext) -> Other<'_> {
    let o = Other {
        t,
        ws: t.path("machine-b"),
    };
    o.run(&["init"]).success();
    o
}

/// An environment with a git node pack and a model downloaded from the test server.
fn populated(t: &TestContext, server: &HttpServer) -> PathBuf {
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/alpha-pack"), "AlphaNode");
    t.run(&["node", "add", pack.to_str().unwrap()]).success();
    server.serve("/files/lora-mini.safetensors", &model_bytes(3, 150_000));
    let url = server.url("/files/lora-mini.safetensors");
    t.run(&["model", "add", &url, "--category", "loras"]).success();
    fs::create_dir_all(env.join(".cec/workflows")).unwrap();
    fs::write(env.join(".cec/workflows/portrait.json"), "{\"nodes\": []}\n").unwrap();
    env
}

/// Every .cec file (not git's folder) with its bytes.
fn cec_files(env: &Path) -> Vec<(String, Vec<u8>)> {
    let cec = env.join(".cec");
    tree(&cec)
        .into_iter()
        .filter(|p| !p.starts_with(".git/") && p != ".git" && cec.join(p).is_file())
        .map(|p| {
            let bytes = fs::read(cec.join(&p)).unwrap();
            (p, bytes)
        })
        .collect()
}

fn node_trees(env: &Path) -> Vec<(String, String)> {
    let text = fs::read_to_string(env.join(".comfydock/installed.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["nodes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["tree"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn pip_freeze(t: &TestContext, env: &Path) -> String {
    let out = std::process::Command::new("uv")
        .args(["pip", "freeze", "--offline", "--python"])
        .arg(env.join(".venv/bin/python"))
        .env("UV_FIND_LINKS", &t.wheels)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn nothing_created(o: &Other) -> Vec<String> {
    tree(&o.ws.join("environments"))
}

#[test]
fn export_then_import_rebuilds_the_same_environment() {
    let t = TestContext::new();
    let server = HttpServer::start();
    let env = populated(&t, &server);
    let bundle = t.path("demo.comfydock.tar.gz");
    t.run(&["export", "-o", bundle.to_str().unwrap(), "--include-models-manifest"])
        .success()
        .stdout_has("1 model(s) listed");
    let models_json = fs::read_to_string(t.path("demo.comfydock.tar.gz.models.json")).unwrap();
    assert!(
        models_json.contains("lora-mini") && models_json.contains("blake3:"),
        "{models_json}"
    );
    // Never overwritten.
    t.run(&["export", "-o", bundle.to_str().unwrap()])
        .failure()
        .stderr_has("already exists");

    let o = other(&t);
    o.run(&["import", bundle.to_str().unwrap()])
        .success()
        .stdout_has("Imported `demo` from bundle")
        .stdout_has("`plan --detailed-exitcode` would exit 0");
    let copy = o.env("demo");
    assert_eq!(cec_files(&env), cec_files(&copy));
    assert_eq!(node_trees(&env), node_trees(&copy));
    assert_eq!(pip_freeze(&t, &env), pip_freeze(&t, &copy));
    assert_eq!(
        fs::read(placed_model(&copy, "loras/lora-mini.safetensors")).unwrap(),
        model_bytes(3, 150_000)
    );
    o.run(&["-e", "demo", "plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.");
    o.run(&["-e", "demo", "run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("Loaded node types: AlphaNode");
    // The name is taken; another one is fine.
    o.run(&["import", bundle.to_str().unwrap()])
        .failure()
        .stderr_has("already exists");
    o.run(&["import", bundle.to_str().unwrap(), "--name", "second"])
        .success();

    // `--models link` on a third machine: the model comes from its own model folder, and the
    // server is not asked.
    let c = Other {
        t: &t,
        ws: t.path("machine-c"),
    };
    c.run(&["init"]).success();
    let local = c.ws.join("models/loras/my-copy.safetensors");
    fs::create_dir_all(local.parent().unwrap()).unwrap();
    fs::write(&local, model_bytes(3, 150_000)).unwrap();
    c.run(&["model", "scan"]).success();
    let asked = server.log().len();
    c.run(&["import", bundle.to_str().unwrap(), "--models", "link"])
        .success();
    assert_eq!(
        fs::read_link(placed_model(&c.env("demo"), "loras/lora-mini.safetensors")).unwrap(),
        local
    );
    assert_eq!(server.log().len(), asked);
}

/// `--models skip`: a machine that gets everything but the models. They stay out of its plans
/// (named, not counted) until `apply --place-models`, which places them and stops skipping.
#[test]
fn models_skipped_at_import_are_left_out_until_placed() {
    let t = TestContext::new();
    let server = HttpServer::start();
    populated(&t, &server);
    let bundle = t.path("demo.comfydock.tar.gz");
    t.run(&["export", "-o", bundle.to_str().unwrap()]).success();
    let asked = server.log().len();

    let o = other(&t);
    o.run(&["import", bundle.to_str().unwrap(), "--models", "skip"])
        .success()
        .stdout_has("`plan --detailed-exitcode` would exit 0")
        .stdout_has("Models were skipped: 1 model(s)");
    let model = placed_model(&o.env("demo"), "loras/lora-mini.safetensors");
    assert!(fs::symlink_metadata(&model).is_err(), "the model was placed");
    assert_eq!(server.log().len(), asked, "the model was downloaded");
    o.run(&["-e", "demo", "plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.")
        .stdout_has("1 locked model(s) not placed on this machine");
    let json = o.run(&["-e", "demo", "plan", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.success().stdout).unwrap();
    assert_eq!(doc["changes"], false);
    assert_eq!(doc["skipped_models"], serde_json::json!(["lora-mini"]));
    o.run(&["-e", "demo", "status"])
        .success()
        .stdout_has("State:       in sync")
        .stdout_has("Models:      1 not placed on this machine");

    o.run(&["-e", "demo", "apply", "--place-models", "--yes"]).success();
    assert_eq!(fs::read(&model).unwrap(), model_bytes(3, 150_000));
    let after = o.run(&["-e", "demo", "plan", "--detailed-exitcode"]);
    after.success().stdout_has("No changes.");
    assert!(!after.stdout.contains("not placed"), "{}", after.stdout);
}

#[test]
fn import_from_a_cec_folder_and_from_git_repositories() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let pack = repos::node_pack(&t.path("packs/beta"), "BetaNode");
    t.run(&["node", "add", pack.to_str().unwrap()]).success();
    let o = other(&t);

    // A .cec folder as it is; the name comes from its [project] name.
    o.run(&["import", env.join(".cec").to_str().unwrap()])
        .success()
        .stdout_has("Imported `demo` from folder");
    assert_eq!(cec_files(&env), cec_files(&o.env("demo")));

    // A lock that does not match its manifest is refused; --update resolves it here.
    let edited = t.path("edited-cec");
    fs::create_dir_all(&edited).unwrap();
    repos::copy_dir(&env.join(".cec"), &edited);
    let manifest = edited.join("pyproject.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(&manifest, text.replace("comfy-mini-dep>=1.0", "comfy-mini-dep>=0.9")).unwrap();
    o.run(&["import", edited.to_str().unwrap(), "--name", "edited"])
        .failure()
        .stderr_has("the lock does not match its manifest")
        .stderr_has("--update");
    assert!(!o.env("edited").exists());
    o.run(&["import", edited.to_str().unwrap(), "--name", "edited", "--update"])
        .success();
    o.run(&["-e", "edited", "lock", "--check"]).success();

    // A bare repository whose root is a .cec.
    let bare = t.path("gitops-root.git");
    repos::git(
        &t.path(""),
        &[
            "clone",
            "--quiet",
            "--bare",
            env.join(".cec").to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    o.run(&["import", bare.to_str().unwrap(), "--name", "fromgit"])
        .success()
        .stdout_has("from git repository");
    o.run(&["-e", "fromgit", "run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("BetaNode");

    // A repository with the .cec in a sub-folder, by file:// URL.
    let work = t.path("gitops-work");
    repos::init(&work);
    fs::create_dir_all(work.join("envs/prod")).unwrap();
    repos::copy_dir(&env.join(".cec"), &work.join("envs/prod"));
    fs::remove_dir_all(work.join("envs/prod/.git")).unwrap();
    repos::commit_all(&work, "prod environment");
    let url = format!("file://{}", work.display());
    o.run(&["import", "./no-such-bundle.tar.gz"])
        .failure()
        .stderr_has("./no-such-bundle.tar.gz does not exist");
    o.run(&["import", &url, "--name", "nosub"])
        .failure()
        .stderr_has("no .cec found");
    o.run(&["import", &url, "--subdir", "envs/prod", "--name", "prod"])
        .success();
    assert_eq!(node_trees(&env), node_trees(&o.env("prod")));
    assert!(!o.env("nosub").exists());
}

#[test]
fn tampered_bundles_are_refused_and_nothing_is_created() {
    let t = TestContext::new();
    let server = HttpServer::start();
    populated(&t, &server);
    let bundle = t.path("demo.tar.gz");
    t.run(&["export", "-o", bundle.to_str().unwrap()]).success();
    let o = other(&t);
    let before = nothing_created(&o);

    // Unpack, change one thing, pack again.
    let repack = |name: &str, edit: &dyn Fn(&Path)| -> PathBuf {
        let dir = t.path(&format!("unpacked-{name}"));
        fs::create_dir_all(&dir).unwrap();
        let ok = std::process::Command::new("tar")
            .arg("xzf")
            .arg(&bundle)
            .current_dir(&dir)
            .status()
            .unwrap();
        assert!(ok.success());
        edit(&dir);
        let out = t.path(&format!("{name}.tar.gz"));
        let ok = std::process::Command::new("tar")
            .args(["czf", out.to_str().unwrap(), "bundle.json", "cec"])
            .current_dir(&dir)
            .status()
            .unwrap();
        assert!(ok.success());
        out
    };

    let changed_lock = repack("lock", &|dir| {
        let lock = dir.join("cec/comfydock.lock");
        let text = fs::read_to_string(&lock).unwrap();
        fs::write(&lock, text.replace("[nodes.alpha-pack]", "[nodes.alpha-pack]\n")).unwrap();
    });
    o.run(&["import", changed_lock.to_str().unwrap()])
        .failure()
        .stderr_has("cec/comfydock.lock has blake3");
    assert_eq!(nothing_created(&o), before);

    let extra_file = repack("extra", &|dir| {
        fs::write(dir.join("cec/workflows/evil.json"), "{}").unwrap();
    });
    o.run(&["import", extra_file.to_str().unwrap()])
        .failure()
        .stderr_has("is not listed in bundle.json");
    assert_eq!(nothing_created(&o), before);

    let wrong_model = repack("model", &|dir| {
        let json = dir.join("bundle.json");
        let text = fs::read_to_string(&json).unwrap();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let hash = doc["models"]["lora-mini"]["blake3"].as_str().unwrap().to_string();
        let wrong = format!("blake3:{}", "0".repeat(64));
        fs::write(&json, text.replace(&hash, &wrong)).unwrap();
    });
    o.run(&["import", wrong_model.to_str().unwrap()])
        .failure()
        .stderr_has("disagree about model `lora-mini`");
    assert_eq!(nothing_created(&o), before);

    // The model server now answers other bytes: the download is refused, nothing is kept.
    server.serve("/files/lora-mini.safetensors", &model_bytes(9, 150_000));
    o.run(&["import", bundle.to_str().unwrap()])
        .failure()
        .stderr_has("lora-mini");
    assert_eq!(nothing_created(&o), before);

    // A store entry changed on this machine after an earlier import: the new environment's
    // node files are re-hashed against the lock's tree, and refused.
    server.serve("/files/lora-mini.safetensors", &model_bytes(3, 150_000));
    o.run(&["import", bundle.to_str().unwrap(), "--name", "first"])
        .success();
    let before = nothing_created(&o);
    let tree_hash = node_trees(&o.env("first"))
        .into_iter()
        .find(|(id, _)| id == "alpha-pack")
        .unwrap()
        .1;
    let entry = o.ws.join("store/nodes").join(tree_hash.trim_start_matches("blake3:"));
    let init = entry.join("__init__.py");
    let mut perms = fs::metadata(&init).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(&init, perms).unwrap();
    fs::write(&init, "NODE_CLASS_MAPPINGS = {}\n# changed\n").unwrap();
    o.run(&["import", bundle.to_str().unwrap(), "--name", "second"])
        .failure()
        .stderr_has("does not match its lock")
        .stderr_has("store entry");
    assert_eq!(nothing_created(&o), before);

    // An entry that climbs out of the extraction folder.
    let climbing = t.path("climbing.tar.gz");
    let made = std::process::Command::new("python3")
        .args([
            "-c",
            "import io,sys,tarfile\nwith tarfile.open(sys.argv[1],'w:gz') as t:\n  d=b'x'\n  i=tarfile.TarInfo('../escaped.txt'); i.size=len(d); t.addfile(i,io.BytesIO(d))",
            climbing.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(made.success());
    o.run(&["import", climbing.to_str().unwrap()])
        .failure()
        .stderr_has("..");
    // The scratch folder bundles are checked in is gone too.
    let scratch: Vec<_> = fs::read_dir(&o.ws)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".comfydock-tmp-"))
        .collect();
    assert!(scratch.is_empty(), "{scratch:?}");
    assert_eq!(nothing_created(&o), before);

    // Not a bundle at all.
    let junk = t.path("junk.tar.gz");
    fs::write(&junk, b"not an archive").unwrap();
    o.run(&["import", junk.to_str().unwrap()])
        .failure()
        .stderr_has("junk.tar.gz");
    assert_eq!(nothing_created(&o), before);
}

#[test]
fn export_lists_what_another_machine_could_not_rebuild() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let dev = t.path("my-dev-node");
    fs::create_dir_all(&dev).unwrap();
    fs::write(dev.join("__init__.py"), "NODE_CLASS_MAPPINGS = {'DevNode': object}\n").unwrap();
    t.run(&["node", "add", dev.to_str().unwrap(), "--dev"]).success();
    let file = t.workspace.join("models/checkpoints/local-only.safetensors");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, model_bytes(5, 50_000)).unwrap();
    t.run(&["model", "scan"]).success();
    t.run(&["model", "add", file.to_str().unwrap()]).success();

    let out = t.path("demo.tar.gz");
    t.run(&["export", "-o", out.to_str().unwrap()])
        .failure()
        .stderr_has("node `my-dev-node` is a dev node")
        .stderr_has("(--allow dev-nodes)")
        .stderr_has("model `local-only`")
        .stderr_has("(--allow sourceless-models)");
    assert!(!out.exists());

    // Drift and a stale lock are refused too.
    fs::remove_file(placed_model(&env, "checkpoints/local-only.safetensors")).unwrap();
    let manifest = env.join(".cec/pyproject.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    t.run(&[
        "export",
        "-o",
        out.to_str().unwrap(),
        "--allow",
        "dev-nodes,sourceless-models",
    ])
    .failure()
    .stderr_has("differs from its lock")
    .stderr_has("(--allow drift)");
    fs::write(
        &manifest,
        text.replace("dependencies = [", "dependencies = [\"extra-thing\", "),
    )
    .unwrap();
    t.run(&[
        "export",
        "-o",
        out.to_str().unwrap(),
        "--allow",
        "dev-nodes,sourceless-models",
    ])
    .failure()
    .stderr_has("the lock is out of date")
    .stderr_has("(--allow stale-lock)");
    fs::write(&manifest, &text).unwrap();

    t.run(&[
        "export",
        "-o",
        out.to_str().unwrap(),
        "--allow",
        "dev-nodes,sourceless-models,drift",
    ])
    .success()
    .stderr_has("warning: node `my-dev-node` is a dev node");
    let listing = std::process::Command::new("tar")
        .args(["xzOf", out.to_str().unwrap(), "bundle.json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&listing.stdout).unwrap();
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains("allowed with --allow dev-nodes"), "{warnings}");
    assert!(warnings.contains("allowed with --allow drift"), "{warnings}");
    assert_eq!(doc["format_version"], 1);
    assert!(
        doc["files"]["comfydock.lock"]["blake3"]
            .as_str()
            .unwrap()
            .starts_with("blake3:")
    );
    assert!(doc["models"]["local-only"]["size"].as_u64() == Some(50_000));

    // On the other machine the dev node's folder is not there: refused before anything is made.
    let o = other(&t);
    fs::rename(&dev, t.path("moved-dev-node")).unwrap();
    o.run(&["import", out.to_str().unwrap()])
        .failure()
        .stderr_has("dev node `my-dev-node` is linked from");
    assert_eq!(nothing_created(&o), Vec::<String>::new());
    // `--models link` needs every model as a local file of this workspace.
    fs::rename(t.path("moved-dev-node"), &dev).unwrap();
    o.run(&["import", out.to_str().unwrap(), "--models", "link"])
        .failure()
        .stderr_has("missing: local-only");
    assert_eq!(nothing_created(&o), Vec::<String>::new());
}

/// A Manager snapshot as `cm-cli save-snapshot` writes it (JSON), written here from the format.
fn manager_snapshot_json(comfyui: &str, pack_url: &str, pack_commit: &str) -> String {
    serde_json::to_string_pretty(&serde_json::json!({
        "comfyui": comfyui,
        "git_custom_nodes": {
            pack_url: {"hash": pack_commit, "disabled": false},
            "https://example.invalid/someone/switched-off.git": {"hash": pack_commit, "disabled": true},
        },
        "cnr_custom_nodes": {"example-impact": "1.9.0"},
        "file_custom_nodes": [{"filename": "single_file_node.py", "disabled": false}],
        "pips": {
            "snap-lib==1.0.0": "",
            "torch": "https://example.invalid/torch-2.5.1-cp312-linux_x86_64.whl",
            "local-thing": "file:///opt/wheels/local_thing-0.1-py3-none-any.whl",
        },
    }))
    .unwrap()
}

#[test]
fn manager_snapshots_in_json_and_yaml_are_imported() {
    use crate::support::registry::{Mirror, standard_snapshot};
    use crate::support::wheel::{WheelSpec, build_wheel};
    let t = TestContext::new();
    t.run(&["init"]).success();
    let mirror = Mirror::start(&standard_snapshot(&t.path("registry-snapshot")).save());
    build_wheel(
        &t.wheels,
        &WheelSpec {
            name: "snap-lib",
            version: "1.0.0",
            requires: &[],
            body: "",
        },
    );
    let v01 = repos::git(&t.comfyui_repo, &["rev-parse", "v0.1.0"]);
    let pack = repos::node_pack(&t.path("packs/gamma-pack"), "GammaNode");
    let v1 = repos::git(&pack, &["rev-parse", "HEAD"]);
    repos::node_pack_v2(&pack, "GammaNode");
    let repo = t.comfyui_repo.to_str().unwrap();
    let with_registry = |args: &[&str]| -> Run {
        Run::from(
            t.cmd()
                .env("COMFYDOCK_REGISTRY_URL", &mirror.url)
                .args(args)
                .output()
                .unwrap(),
        )
    };

    let json = t.path("2025-01-01_00-00-00_snapshot.json");
    fs::write(&json, manager_snapshot_json(&v01, pack.to_str().unwrap(), &v1)).unwrap();
    with_registry(&[
        "import",
        "--manager-snapshot",
        json.to_str().unwrap(),
        "--name",
        "fromjson",
        "--comfyui-repo",
        repo,
    ])
    .success()
    .stdout_has("1 registry pack(s), 1 git pack(s), 1 Python package(s)")
    .stdout_has("Not imported:")
    .stdout_has("switched-off.git: disabled in Manager")
    .stdout_has("single-file node single_file_node.py")
    .stdout_has("Python package torch")
    .stdout_has("Python package local-thing");
    let env = t.workspace.join("environments/fromjson");
    let lock = fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap();
    assert!(lock.contains(&format!("commit = \"{v01}\"")), "{lock}");
    assert!(
        lock.contains(&format!("commit = \"{v1}\"")),
        "the snapshot's commit, not the tip: {lock}"
    );
    assert!(lock.contains("version = \"1.9.0\""), "{lock}");
    assert!(
        fs::read_to_string(env.join(".cec/pyproject.toml"))
            .unwrap()
            .contains("snap-lib==1.0.0")
    );
    assert!(
        fs::read_to_string(env.join("ComfyUI/custom_nodes/gamma-pack/__init__.py"))
            .unwrap()
            .contains("VERSION = 1")
    );
    with_registry(&["-e", "fromjson", "run", "--", "--quick-test-for-ci"])
        .success()
        .stdout_has("ComfyUI version: 0.1.0")
        .stdout_has("Loaded node types: GammaNode");
    assert!(pip_freeze(&t, &env).contains("snap-lib==1.0.0"));
    with_registry(&["-e", "fromjson", "plan", "--detailed-exitcode"]).success();

    // The YAML form nests the same object under `custom_nodes`; a bare version reads as a float.
    let yaml = t.path("snapshot.yaml");
    fs::write(
        &yaml,
        format!(
            "custom_nodes:\n  comfyui: {v01}\n  git_custom_nodes:\n    {}:\n      disabled: false\n      hash: {v1}\n  cnr_custom_nodes: {{}}\n  file_custom_nodes: []\n  pips: {{}}\n",
            pack.display()
        ),
    )
    .unwrap();
    with_registry(&[
        "import",
        "--manager-snapshot",
        yaml.to_str().unwrap(),
        "--comfyui-repo",
        repo,
    ])
    .success()
    .stdout_has("Imported `snapshot`")
    .stdout_has("0 registry pack(s), 1 git pack(s)");
    assert!(
        t.workspace
            .join("environments/snapshot/ComfyUI/custom_nodes/gamma-pack")
            .is_dir()
    );
}

#[test]
fn malformed_or_unresolvable_manager_snapshots_create_nothing() {
    let t = TestContext::new();
    t.run(&["init"]).success();
    let repo = t.comfyui_repo.to_str().unwrap();
    let before = tree(&t.workspace.join("environments"));
    let bad = t.path("bad.json");
    for (text, says) in [
        ("{\"comfyui\": \"not a commit\"}", "comfyui"),
        ("{\"cnr_custom_nodes\": {\"../../etc\": \"1.0\"}}", "cnr_custom_nodes"),
        (
            "{\"git_custom_nodes\": {\"ext::sh -c touch%20/tmp/x\": {\"hash\": \"unknown\"}}}",
            "repository",
        ),
        ("{\"pips\": {\"-r other.txt\": \"\"}}", "pip freeze"),
        ("a: &anchor [1]\nb: *anchor\n", "alias"),
        // Issue 23 row 6: 10,000 nested sequences in 20 KB overflowed the stack (exit 134).
        (&("- ".repeat(10_000) + "1"), "nested more than 64 levels"),
    ] {
        fs::write(&bad, text).unwrap();
        t.run(&[
            "import",
            "--manager-snapshot",
            bad.to_str().unwrap(),
            "--comfyui-repo",
            repo,
        ])
        .failure()
        .stderr_has("Manager snapshot")
        .stderr_has(says);
        assert_eq!(tree(&t.workspace.join("environments")), before);
    }
    // Valid, but its git pack cannot be fetched: the environment made for it is removed again.
    let v01 = repos::git(&t.comfyui_repo, &["rev-parse", "v0.1.0"]);
    fs::write(
        &bad,
        manager_snapshot_json(&v01, t.path("packs/missing").to_str().unwrap(), &v01)
            .replace("\"example-impact\": \"1.9.0\"", ""),
    )
    .unwrap();
    t.run(&[
        "import",
        "--manager-snapshot",
        bad.to_str().unwrap(),
        "--comfyui-repo",
        repo,
        "--name",
        "partial",
    ])
    .failure();
    assert_eq!(tree(&t.workspace.join("environments")), before);
}

#[test]
fn a_registry_archive_changed_at_its_source_is_refused_and_nothing_is_created() {
    use crate::support::registry::{Mirror, standard_snapshot, zip_archive};
    let t = TestContext::new();
    let snapshot = standard_snapshot(&t.path("registry-snapshot")).save();
    let mirror = Mirror::start(&snapshot);
    let with_registry = |args: &[&str]| -> Run {
        Run::from(
            t.cmd()
                .env("COMFYDOCK_REGISTRY_URL", &mirror.url)
                .args(args)
                .output()
                .unwrap(),
        )
    };
    t.create_env("demo");
    with_registry(&["node", "add", "example-impact@1.9.0"]).success();
    let bundle = t.path("demo.tar.gz");
    t.run(&["export", "-o", bundle.to_str().unwrap()]).success();

    // The mirror now serves other bytes under the same version and address.
    let archive = snapshot.join("archives/example-impact/1.9.0/node.zip");
    fs::write(&archive, zip_archive(&[("__init__.py", b"# swapped\n")])).unwrap();
    let o = other(&t);
    let before = nothing_created(&o);
    with_registry(&[
        "--workspace",
        o.ws.to_str().unwrap(),
        "import",
        bundle.to_str().unwrap(),
    ])
    .failure()
    .stderr_has("sha256");
    assert_eq!(nothing_created(&o), before);
}
