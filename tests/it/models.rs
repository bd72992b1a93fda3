//! Models at the workspace level: model folders, scanning (incremental, moves, missing files),
//! finding by name and hash, extra_model_paths.yaml, and downloads against a real HTTP server.

use crate::support::TestContext;
use crate::support::http::HttpServer;
use comfydock::models::sources::{Endpoints, Source, resolve};
use comfydock::models::{DownloadRequest, Expected, ModelError, Token, download};
use comfydock::progress::Silent;
use comfydock::store::{Http, HttpConfig};
use serde_json::Value;
use sha2::Digest;
use std::fs;
use std::path::{Path, PathBuf};

/// Deterministic, distinct content for each seed.
fn content(size: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn put(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

fn b3(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

fn json(t: &TestContext, args: &[&str]) -> Value {
    let run = t.run(args);
    run.success();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn scan(t: &TestContext) -> Value {
    json(t, &["model", "scan", "--json"])
}

fn models(t: &TestContext) -> Vec<Value> {
    json(t, &["model", "list", "--json"])["models"]
        .as_array()
        .unwrap()
        .clone()
}

fn counters(v: &Value, keys: &[&str]) -> Vec<u64> {
    keys.iter()
        .map(|k| v[k].as_u64().unwrap_or_else(|| panic!("no {k} in {v}")))
        .collect()
}

fn workspace(t: &TestContext) -> PathBuf {
    t.run(&["init"]).success();
    fs::canonicalize(&t.workspace).unwrap()
}

#[test]
fn scan_indexes_model_files_by_category_and_nothing_else() {
    let t = TestContext::new();
    let ws = workspace(&t);
    let m = ws.join("models");
    let ckpt = content(3 << 20, 1);
    let clip = content(1000, 2);
    let lora = content(70_000, 3);
    put(&m.join("checkpoints/sd15.safetensors"), &ckpt);
    put(&m.join("clip/t5.SAFETENSORS"), &clip);
    put(&m.join("loras/style/detail.pt"), &lora);
    put(&m.join("loras/readme.txt"), b"not a model");
    put(&m.join("loras/.trash/old.safetensors"), b"hidden");
    put(&m.join("checkpoints/put_checkpoints_here"), b"");

    let report = scan(&t);
    assert_eq!(
        counters(&report, &["files_seen", "files_hashed", "new", "missing"]),
        [3, 3, 3, 0]
    );
    assert_eq!(report["bytes_hashed"], (ckpt.len() + clip.len() + lora.len()) as u64);

    let list = models(&t);
    let by_name = |n: &str| {
        list.iter()
            .find(|m| m["name"] == n)
            .unwrap_or_else(|| panic!("{n} not in {list:?}"))
    };
    assert_eq!(list.len(), 3);
    assert_eq!(by_name("sd15.safetensors")["category"], "checkpoints");
    assert_eq!(by_name("sd15.safetensors")["hashes"]["blake3"], b3(&ckpt));
    assert_eq!(by_name("sd15.safetensors")["size"], ckpt.len() as u64);
    // Legacy folder names count as their category, as in ComfyUI.
    assert_eq!(by_name("t5.SAFETENSORS")["category"], "text_encoders");
    assert_eq!(by_name("detail.pt")["category"], "loras");
    assert_eq!(
        by_name("detail.pt")["local_path"],
        m.join("loras/style/detail.pt").to_str().unwrap()
    );
    assert!(ws.join(".metadata/model_index.db").is_file());
}

#[test]
fn rescan_reads_only_what_changed() {
    let t = TestContext::new();
    let ws = workspace(&t);
    let m = ws.join("models");
    for i in 0..5 {
        put(&m.join(format!("loras/l{i}.safetensors")), &content(40_000, i));
    }
    assert_eq!(counters(&scan(&t), &["new", "files_hashed"]), [5, 5]);

    let again = scan(&t);
    assert_eq!(
        counters(
            &again,
            &["files_seen", "unchanged", "files_hashed", "bytes_hashed", "new"]
        ),
        [5, 5, 0, 0, 0],
        "a rescan without changes must not read any file: {again}"
    );

    // New content at the same path is read again and replaces the old model there.
    let changed = content(50_000, 99);
    put(&m.join("loras/l0.safetensors"), &changed);
    let r = scan(&t);
    assert_eq!(
        counters(&r, &["files_hashed", "changed", "unchanged"]),
        [1, 1, 4],
        "{r}"
    );
    let found = json(
        &t,
        &["model", "find", &format!("blake3:{}", &b3(&changed)[..12]), "--json"],
    );
    assert_eq!(found["models"][0]["name"], "l0.safetensors");
    assert_eq!(counters(&scan(&t), &["files_hashed"]), [0]);
}

#[test]
fn moved_and_renamed_files_keep_their_model_row() {
    let t = TestContext::new();
    let ws = workspace(&t);
    let m = ws.join("models");
    let bytes = content(200_000, 7);
    put(&m.join("checkpoints/a.safetensors"), &bytes);
    put(&m.join("vae/other.safetensors"), &content(1000, 8));
    scan(&t);
    let id = |t: &TestContext| {
        let list = models(t);
        assert_eq!(list.len(), 2, "indexed twice? {list:?}");
        let row = list
            .iter()
            .find(|r| r["hashes"]["blake3"] == b3(&bytes))
            .unwrap()
            .clone();
        (row["id"].as_i64().unwrap(), row)
    };
    let (first_id, _) = id(&t);

    // A rename keeps the inode: recognised without reading the file.
    fs::create_dir_all(m.join("loras")).unwrap();
    fs::rename(m.join("checkpoints/a.safetensors"), m.join("loras/renamed.safetensors")).unwrap();
    let r = scan(&t);
    assert_eq!(
        counters(&r, &["moved", "new", "missing", "files_hashed"]),
        [1, 0, 0, 0],
        "{r}"
    );
    let (after_rename, row) = id(&t);
    assert_eq!(after_rename, first_id);
    assert_eq!(row["local_path"], m.join("loras/renamed.safetensors").to_str().unwrap());
    assert_eq!(row["category"], "loras");
    assert_eq!(row["original_name"], "a.safetensors");

    // A copy to a new file and removal of the old one: a new inode, found by its hash.
    fs::copy(
        m.join("loras/renamed.safetensors"),
        m.join("checkpoints/copy.safetensors"),
    )
    .unwrap();
    fs::remove_file(m.join("loras/renamed.safetensors")).unwrap();
    let r = scan(&t);
    assert_eq!(
        counters(&r, &["moved", "new", "missing", "files_hashed"]),
        [1, 0, 0, 1],
        "{r}"
    );
    let (after_copy, row) = id(&t);
    assert_eq!(after_copy, first_id);
    assert_eq!(
        row["local_path"],
        m.join("checkpoints/copy.safetensors").to_str().unwrap()
    );
    assert_eq!(row["missing"], false);

    // Gone from disk: kept, marked missing, still found by hash; back again: the same row.
    fs::remove_file(m.join("checkpoints/copy.safetensors")).unwrap();
    assert_eq!(counters(&scan(&t), &["missing"]), [1]);
    let (_, row) = id(&t);
    assert_eq!(row["missing"], true);
    t.run(&["model", "find", &b3(&bytes)[..8]])
        .success()
        .stdout_has("(missing)");
    put(&m.join("checkpoints/back.safetensors"), &bytes);
    assert_eq!(counters(&scan(&t), &["moved", "new"]), [1, 0]);
    let (back_id, row) = id(&t);
    assert_eq!(back_id, first_id);
    assert_eq!(row["missing"], false);
}

#[test]
fn find_by_name_and_by_each_hash_type() {
    let t = TestContext::new();
    let ws = workspace(&t);
    let bytes = content(100_000, 11);
    let path = ws.join("models/checkpoints/DreamShaper_8.safetensors");
    put(&path, &bytes);
    put(&ws.join("models/loras/other.safetensors"), &content(100, 12));
    // Without --sha256 only blake3 is known; a --sha256 rescan adds it without a blake3 pass.
    scan(&t);
    t.run(&["model", "find", &format!("sha256:{}", &sha256(&bytes)[..10])])
        .success()
        .stderr_has("No model matches");
    let r = json(&t, &["model", "scan", "--sha256", "--json"]);
    assert_eq!(counters(&r, &["files_hashed", "unchanged"]), [2, 2], "{r}");

    let names = |args: &[&str]| -> Vec<String> {
        let mut v = vec!["model", "find"];
        v.extend_from_slice(args);
        v.push("--json");
        json(&t, &v)["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_string())
            .collect()
    };
    let want = vec!["DreamShaper_8.safetensors".to_string()];
    assert_eq!(names(&["dreamshaper"]), want, "name, any case");
    assert_eq!(names(&[&b3(&bytes)[..8]]), want, "blake3 prefix, untyped");
    assert_eq!(names(&[&format!("blake3:{}", &b3(&bytes)[..8].to_uppercase())]), want);
    assert_eq!(names(&[&format!("sha256:{}", sha256(&bytes))]), want, "full sha256");
    assert_eq!(
        names(&[&sha256(&bytes)[..10]]),
        want,
        "Civitai's AutoV2 is a 10-digit sha256 prefix"
    );
    // The blake3 prefix is not a sha256 prefix.
    assert!(names(&[&format!("sha256:{}", &b3(&bytes)[..8])]).is_empty());

    t.run(&["model", "find", "sha256:abc1234"])
        .failure()
        .stderr_has("at least 8 hex digits");

    // show: by hash prefix and by path, both hashes and the file.
    for arg in [format!("blake3:{}", &b3(&bytes)[..10]), path.display().to_string()] {
        t.run(&["model", "show", &arg])
            .success()
            .stdout_has(&format!("blake3:{}", b3(&bytes)))
            .stdout_has(&format!("sha256:{}", sha256(&bytes)))
            .stdout_has("checkpoints")
            .stdout_has(path.to_str().unwrap());
    }
    t.run(&["model", "show", "nothing-like-this"])
        .failure()
        .stderr_has("no model in the index matches");
}

#[test]
fn model_dirs_add_scan_and_remove() {
    let t = TestContext::new();
    let ws = workspace(&t);
    let shared = t.path("shared models");
    let bytes = content(5000, 21);
    put(&shared.join("unet/flux.gguf"), &bytes);
    put(&shared.join("ipadapter/ip.bin"), &content(10, 22));

    t.run(&["model", "dirs", "add", shared.to_str().unwrap()]).success();
    t.run(&["model", "dirs", "add", shared.to_str().unwrap()])
        .success()
        .stderr_has("already");
    fs::create_dir_all(ws.join("models/loras")).unwrap();
    t.run(&["model", "dirs", "add", ws.join("models/loras").to_str().unwrap()])
        .failure()
        .stderr_has("overlaps");
    let config = fs::read_to_string(ws.join("workspace.toml")).unwrap();
    assert!(config.lines().any(|l| l.starts_with("model_dirs = [")), "{config}");
    assert!(
        config.contains("# comfydock workspace settings."),
        "comments kept: {config}"
    );
    let dirs = json(&t, &["model", "dirs", "list", "--json"]);
    assert_eq!(dirs["model_dirs"].as_array().unwrap().len(), 2);
    assert_eq!(dirs["model_dirs"][0]["builtin"], true);

    // A scan of one folder inside a model folder is fine; outside, the error says how to fix it.
    let r = json(&t, &["model", "scan", shared.join("unet").to_str().unwrap(), "--json"]);
    assert_eq!(counters(&r, &["files_seen", "new"]), [1, 1]);
    t.run(&["model", "scan", t.path("home").to_str().unwrap()])
        .failure()
        .stderr_has("not inside a model folder")
        .stderr_has("model dirs add");
    scan(&t);
    let list = models(&t);
    let flux = list.iter().find(|m| m["name"] == "flux.gguf").unwrap();
    assert_eq!(flux["category"], "diffusion_models");
    assert_eq!(
        list.iter().find(|m| m["name"] == "ip.bin").unwrap()["category"],
        "ipadapter"
    );

    t.run(&["model", "dirs", "remove", ws.join("models").to_str().unwrap()])
        .failure()
        .stderr_has("cannot be removed");
    t.run(&["model", "dirs", "remove", shared.to_str().unwrap()])
        .success()
        .stderr_has("the index forgot 2 models");
    assert!(
        shared.join("unet/flux.gguf").is_file(),
        "files of a removed folder stay"
    );
    assert!(models(&t).is_empty(), "{:?}", models(&t));
    let config = fs::read_to_string(ws.join("workspace.toml")).unwrap();
    assert!(!config.lines().any(|l| l.starts_with("model_dirs")), "{config}");
}

#[test]
fn removing_a_model_folder_forgets_its_models_but_not_copies_elsewhere() {
    let t = TestContext::new();
    let ws = workspace(&t);
    let shared = t.path("nas");
    let only_there = content(3000, 31);
    let copied = content(4000, 32);
    put(&shared.join("loras/only.safetensors"), &only_there);
    put(&shared.join("loras/copied.safetensors"), &copied);
    put(&ws.join("models/loras/copied.safetensors"), &copied);
    // A file already gone before the folder is removed: a missing model of that folder.
    put(&shared.join("vae/gone.safetensors"), &content(100, 33));
    t.run(&["model", "dirs", "add", shared.to_str().unwrap()]).success();
    scan(&t);
    fs::remove_file(shared.join("vae/gone.safetensors")).unwrap();
    scan(&t);
    assert_eq!(models(&t).len(), 3);

    t.run(&["model", "dirs", "remove", shared.to_str().unwrap()])
        .success()
        .stderr_has("the index forgot 2 models found nowhere else");
    // The model only that folder held is forgotten, hashes included: no listing, no hash lookup.
    let list = models(&t);
    assert_eq!(list.len(), 1, "{list:?}");
    let found = json(
        &t,
        &["model", "find", &format!("blake3:{}", &b3(&only_there)[..12]), "--json"],
    );
    assert_eq!(found["models"].as_array().unwrap().len(), 0, "{found}");
    // The model with a copy in another folder stays, found at that copy, not missing.
    let kept = &list[0];
    assert_eq!(kept["hashes"]["blake3"], b3(&copied));
    assert_eq!(kept["missing"], false);
    assert_eq!(kept["locations"].as_array().unwrap().len(), 1);
    assert!(
        kept["local_path"]
            .as_str()
            .unwrap()
            .ends_with("models/loras/copied.safetensors")
            && !kept["local_path"].as_str().unwrap().contains("/nas/"),
        "{kept}"
    );
    assert!(shared.join("loras/only.safetensors").is_file(), "the files stay");
    // Adding the folder again and scanning brings its models back.
    t.run(&["model", "dirs", "add", shared.to_str().unwrap()]).success();
    scan(&t);
    assert_eq!(models(&t).len(), 2);
}

#[test]
fn export_paths_writes_extra_model_paths_yaml_for_comfyui() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let ws = fs::canonicalize(&t.workspace).unwrap();
    let shared = t.path("nas: models");
    fs::create_dir_all(shared.join("sams")).unwrap();
    t.run(&["model", "dirs", "add", shared.to_str().unwrap()]).success();

    t.run(&["model", "export-paths"])
        .success()
        .stderr_has("2 model folders");
    let yaml_path = env.join("ComfyUI/extra_model_paths.yaml");
    let yaml = fs::read_to_string(&yaml_path).unwrap();
    assert!(yaml.starts_with("# Written by comfydock"), "{yaml}");
    assert!(
        yaml.contains(&format!(
            "comfydock_workspace:\n  base_path: \"{}\"\n",
            ws.join("models").display()
        )),
        "{yaml}"
    );
    let shared_abs = fs::canonicalize(&shared).unwrap();
    assert!(
        yaml.contains(&format!(
            "comfydock_dir_1:\n  base_path: \"{}\"\n",
            shared_abs.display()
        )),
        "{yaml}"
    );
    assert!(yaml.contains("  checkpoints: \"checkpoints\"\n"), "{yaml}");
    assert!(
        yaml.contains("  text_encoders: |\n    text_encoders\n    clip\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("  diffusion_models: |\n    unet\n    diffusion_models\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("  sams: \"sams\"\n"),
        "custom pack folders are exported: {yaml}"
    );

    // Running it again replaces our own file; a file the user wrote is refused, then kept aside.
    t.run(&["model", "export-paths"]).success();
    fs::write(&yaml_path, "mine:\n  base_path: /data\n").unwrap();
    t.run(&["model", "export-paths"])
        .failure()
        .stderr_has("not written by comfydock")
        .stderr_has("--force");
    assert_eq!(fs::read_to_string(&yaml_path).unwrap(), "mine:\n  base_path: /data\n");
    t.run(&["model", "export-paths", "--force"])
        .success()
        .stderr_has("Kept your previous file");
    let kept: Vec<_> = fs::read_dir(env.join(".comfydock/trash/export-paths"))
        .unwrap()
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        fs::read_to_string(kept[0].as_ref().unwrap().path()).unwrap(),
        "mine:\n  base_path: /data\n"
    );
    assert!(
        fs::read_to_string(&yaml_path)
            .unwrap()
            .starts_with("# Written by comfydock")
    );
}

/// A download's folders: destination and partial files.
struct Dl {
    _dir: tempfile::TempDir,
    dest: PathBuf,
    partials: PathBuf,
}

fn dl() -> Dl {
    let dir = tempfile::tempdir().unwrap();
    Dl {
        dest: dir.path().join("models/checkpoints/model.safetensors"),
        partials: dir.path().join("store/downloads"),
        _dir: dir,
    }
}

fn request<'a>(url: &'a str, d: &'a Dl, expected: &'a Expected, attempts: u32) -> DownloadRequest<'a> {
    DownloadRequest {
        url,
        downloads_dir: &d.partials,
        expected,
        token: None,
        dest: Some(&d.dest),
        attempts: Some(attempts),
    }
}

fn http() -> Http {
    Http::new(HttpConfig::default())
}

#[test]
fn download_resumes_an_interrupted_transfer() {
    let server = HttpServer::start();
    let body = content(1 << 20, 31);
    server.serve("/m.safetensors", &body);
    server.cut_next("/m.safetensors", 300_000);
    let d = dl();
    let expected = Expected {
        blake3: Some(format!("blake3:{}", b3(&body)).parse().unwrap()),
        sha256: Some(sha256(&body).parse().unwrap()),
        size: Some(body.len() as u64),
    };
    let url = server.url("/m.safetensors");

    // One attempt: the cut transfer fails, and its bytes stay for the next run.
    let err = download(&http(), &request(&url, &d, &expected, 1), &Silent).unwrap_err();
    assert!(
        matches!(err, ModelError::Interrupted { received: 300_000, .. }),
        "{err:?}"
    );
    assert!(!d.dest.exists());
    let partial = d.partials.join(format!("blake3-{}.part", b3(&body)));
    assert_eq!(fs::metadata(&partial).unwrap().len(), 300_000);

    // The next run asks only for the rest.
    let done = download(&http(), &request(&url, &d, &expected, 1), &Silent).unwrap();
    assert_eq!(done.resumed_from, 300_000);
    assert_eq!(done.blake3.map(|b| b.hex().to_string()), Some(b3(&body)));
    assert_eq!(done.sha256.as_ref().map(|s| s.hex()), Some(sha256(&body).as_str()));
    assert_eq!(fs::read(&d.dest).unwrap(), body);
    let log = server.log();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].range.as_deref(), Some("bytes=300000-"));
    assert_eq!(log[1].status, 206);
    assert_eq!(
        log[0].body_bytes + log[1].body_bytes,
        body.len(),
        "no byte fetched twice"
    );
    assert_eq!(
        fs::read_dir(&d.partials).unwrap().count(),
        0,
        "partial files cleaned up"
    );
}

#[test]
fn download_retries_within_one_call_and_restarts_when_the_file_changed() {
    let server = HttpServer::start();
    let old = content(400_000, 41);
    server.serve("/f.bin", &old);
    server.cut_next("/f.bin", 100_000);
    server.cut_next("/f.bin", 50_000);
    let d = dl();
    let url = server.url("/f.bin");
    let none = Expected::default();
    let done = download(&http(), &request(&url, &d, &none, 3), &Silent).unwrap();
    assert_eq!(done.requests, 3);
    assert_eq!(done.blake3.map(|b| b.hex().to_string()), Some(b3(&old)));
    assert_eq!(
        server.log().iter().map(|l| l.range.clone()).collect::<Vec<_>>(),
        [None, Some("bytes=100000-".into()), Some("bytes=150000-".into())]
    );

    // The server's file changes between an interrupted run and its resume: If-Range makes the
    // server send the whole new file instead of splicing old and new bytes.
    let d = dl();
    server.cut_next("/f.bin", 100_000);
    download(&http(), &request(&url, &d, &none, 1), &Silent).unwrap_err();
    let new = content(300_000, 42);
    server.serve("/f.bin", &new);
    let done = download(&http(), &request(&url, &d, &none, 1), &Silent).unwrap();
    assert_eq!(done.blake3.map(|b| b.hex().to_string()), Some(b3(&new)));
    assert_eq!(fs::read(&d.dest).unwrap(), new);
    let last = server.log().pop().unwrap();
    assert!(last.if_range.is_some() && last.status == 200, "{last:?}");
}

#[test]
fn download_with_a_wrong_hash_is_refused_and_leaves_nothing() {
    let server = HttpServer::start();
    let body = content(200_000, 51);
    server.serve("/m.safetensors", &body);
    let d = dl();
    let wrong = "0".repeat(64);
    let expected = Expected {
        blake3: Some(comfydock::types::Blake3::from_hex(&wrong).unwrap()),
        ..Default::default()
    };
    let url = server.url("/m.safetensors");
    let err = download(&http(), &request(&url, &d, &expected, 1), &Silent).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&wrong) && msg.contains(&b3(&body)),
        "both hashes in: {msg}"
    );
    assert!(!d.dest.exists());
    assert_eq!(fs::read_dir(&d.partials).unwrap().count(), 0, "nothing left behind");

    // An existing destination is never replaced.
    put(&d.dest, b"the user's file");
    let ok = Expected::default();
    let err = download(&http(), &request(&url, &d, &ok, 1), &Silent).unwrap_err();
    assert!(matches!(err, ModelError::DestinationExists { .. }), "{err:?}");
    assert_eq!(fs::read(&d.dest).unwrap(), b"the user's file");
}

#[test]
fn hugging_face_source_with_token_against_a_local_endpoint() {
    let server = HttpServer::start();
    let body = content(64_000, 61);
    let path = "/org/repo/resolve/main/sub/model%20v1.safetensors";
    server.serve(path, &body);
    server.require_token(path, "hf_s3cret");
    let endpoints = Endpoints {
        huggingface: server.url("/"),
        ..Endpoints::default()
    };
    let source = Source::HuggingFace {
        repo: "org/repo".into(),
        file: "sub/model v1.safetensors".into(),
        revision: None,
    };
    let resolved = resolve(&source, &endpoints).unwrap();
    assert_eq!(resolved.url, server.url(path));
    assert_eq!(resolved.token_var, Some("HF_TOKEN"));

    let d = dl();
    let none = Expected::default();
    let err = download(&http(), &request(&resolved.url, &d, &none, 2), &Silent).unwrap_err();
    assert!(matches!(err, ModelError::HttpStatus { status: 401, .. }), "{err:?}");
    assert_eq!(server.log().len(), 1, "a refusal is not retried");

    let token = Token::new("hf_s3cret");
    let mut req = request(&resolved.url, &d, &none, 1);
    req.token = Some(&token);
    download(&http(), &req, &Silent).unwrap();
    assert_eq!(fs::read(&d.dest).unwrap(), body);
    assert_eq!(server.log()[1].authorization.as_deref(), Some("Bearer hf_s3cret"));
    assert!(
        !format!("{req:?}").contains("s3cret"),
        "tokens stay out of debug output"
    );
    for f in walkdir::WalkDir::new(d._dir.path()).into_iter().filter_map(Result::ok) {
        if f.file_type().is_file() {
            let text = fs::read(f.path()).unwrap();
            assert!(
                !text.windows(9).any(|w| w == b"hf_s3cret"),
                "token written to {:?}",
                f.path()
            );
        }
    }
}

/// Records what a download reports, for the assertions below.
#[derive(Default)]
struct Recorder {
    lines: std::sync::Mutex<Vec<String>>,
}

impl comfydock::progress::Reporter for Recorder {
    fn step(&self, message: &str) {
        self.lines.lock().unwrap().push(message.to_string());
    }
    fn transfer(&self, label: &str, done: u64, total: Option<u64>) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("transfer {label} {done}/{total:?}"));
    }
    fn transfer_end(&self, label: &str) {
        self.lines.lock().unwrap().push(format!("end {label}"));
    }
}

#[test]
fn a_model_download_waits_as_long_as_retry_after_says_and_reports_its_bytes() {
    use crate::support::registry::{Fault, FaultyServer};
    let server = HttpServer::start();
    let body = content(70_000, 71);
    server.serve("/busy.safetensors", &body);
    let busy = FaultyServer::start(Some(&server.url("")), vec![Fault::Status(503, Some("1"))]);
    let d = dl();
    let expected = Expected {
        blake3: Some(comfydock::types::Blake3::from_hex(&b3(&body)).unwrap()),
        sha256: Some(format!("sha256:{}", sha256(&body)).parse().unwrap()),
        size: Some(body.len() as u64),
    };
    let url = format!("{}/busy.safetensors", busy.url);
    let mut req = request(&url, &d, &expected, 1);
    req.attempts = None;
    let seen = Recorder::default();
    let start = std::time::Instant::now();
    let done = download(&http(), &req, &seen).unwrap();
    assert!(
        start.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert_eq!(done.requests, 2);
    assert_eq!(fs::read(&d.dest).unwrap(), body);
    let lines = seen.lines.lock().unwrap().clone();
    let label = comfydock::progress::transfer_label(&url);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("HTTP 503") && l.contains("retrying in 1.0s")),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!("transfer {label} {}/Some({})", body.len(), body.len())),
        "{lines:?}"
    );
    assert_eq!(lines.last(), Some(&format!("end {label}")), "{lines:?}");
}

#[test]
fn a_killed_scan_keeps_its_finished_batches_and_the_next_scan_completes() {
    let t = TestContext::new();
    let ws = workspace(&t);
    let total = 2000;
    for i in 0..total {
        put(
            &ws.join(format!("models/loras/set{}/f{i}.safetensors", i % 10)),
            &content(16 << 10, 1000 + i as u64),
        );
    }
    let db = ws.join(".metadata/model_index.db");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("comfydock"))
        .args(["model", "scan"])
        .env("COMFYDOCK_HOME", &ws)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it (SIGKILL: no chance to clean up) as soon as a first batch is committed.
    let committed = |db: &Path| -> Option<i64> {
        let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
        c.query_row("SELECT count(*) FROM model_locations", [], |r| r.get(0))
            .ok()
    };
    let started = std::time::Instant::now();
    while committed(&db).unwrap_or(0) == 0 && started.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = committed(&db).unwrap();
    eprintln!("killed with {at_kill} of {total} files committed");

    let c = rusqlite::Connection::open(&db).unwrap();
    let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    drop(c);
    let r = scan(&t);
    let [seen, unchanged, new, hashed] = counters(&r, &["files_seen", "unchanged", "new", "files_hashed"])[..] else {
        unreachable!()
    };
    assert_eq!(seen, total as u64);
    assert_eq!(unchanged + new, total as u64, "{r}");
    assert_eq!(hashed, new, "finished files are not read again: {r}");
    assert!(unchanged >= at_kill as u64, "{r}");
    assert_eq!(models(&t).len(), total, "nothing indexed twice");
}

/// Every row of `models` and `model_locations`, as text, in a stable order.
fn rows(db: &Path) -> Vec<String> {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut out = Vec::new();
    for sql in [
        "SELECT id, name, size, local_path, category, first_seen, last_seen, missing FROM models ORDER BY id",
        "SELECT path, model_id, size, mtime_ns, inode, last_seen FROM model_locations ORDER BY path",
    ] {
        let mut stmt = c.prepare(sql).unwrap();
        let n = stmt.column_count();
        let found = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap();
        out.extend(found);
    }
    out
}

fn scanned_at(db: &Path) -> i64 {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    c.query_row("SELECT max(scanned_at) FROM model_scans", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_rescan_with_nothing_changed_rewrites_no_row_and_last_seen_keeps_its_meaning() {
    let t = TestContext::new();
    let ws = workspace(&t);
    let m = ws.join("models");
    for i in 0..3 {
        put(&m.join(format!("loras/l{i}.safetensors")), &content(10_000, 500 + i));
    }
    let db = ws.join(".metadata/model_index.db");
    scan(&t);
    let first = scanned_at(&db);
    let before = rows(&db);
    // Timestamps are in seconds: let one pass so a rewrite would show.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let again = scan(&t);
    assert_eq!(counters(&again, &["unchanged", "files_hashed"]), [3, 0]);
    assert_eq!(rows(&db), before, "a rescan that finds nothing changed rewrites no row");
    let second = scanned_at(&db);
    assert!(
        second > first,
        "the scan of the folder is recorded: {first} -> {second}"
    );
    // "Last seen" of a present model is the last scan that saw it.
    for model in models(&t) {
        assert_eq!(model["last_seen"], second, "{model}");
    }

    // A changed file is still read again; a removed one leaves the index, and its model, now
    // missing, was last seen by the scan before.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    put(&m.join("loras/l1.safetensors"), &content(10_000, 999));
    fs::remove_file(m.join("loras/l2.safetensors")).unwrap();
    let r = scan(&t);
    assert_eq!(
        counters(&r, &["files_hashed", "changed", "unchanged", "missing"]),
        [1, 1, 1, 1],
        "{r}"
    );
    let third = scanned_at(&db);
    let list = models(&t);
    let by = |path: &str| {
        list.iter()
            .find(|m| m["local_path"].as_str().is_some_and(|p| p.ends_with(path)))
            .unwrap_or_else(|| panic!("{path} not in {list:?}"))
            .clone()
    };
    let gone = by("l2.safetensors");
    assert_eq!(gone["missing"], true);
    assert_eq!(
        gone["last_seen"], second,
        "missing since the scan after {second}: {gone}"
    );
    assert!(gone["locations"].as_array().unwrap().is_empty());
    let changed = list
        .iter()
        .find(|m| m["hashes"]["blake3"] == b3(&content(10_000, 999)))
        .unwrap();
    assert_eq!(changed["last_seen"], third);
    assert_eq!(by("l0.safetensors")["last_seen"], third);
}
