//! Models declared in an environment: linked by plan/apply from the index, downloaded from their
//! sources when no local file has their content, never deleted.

use crate::support::http::HttpServer;
use crate::support::{TestContext, placed_model, tree};
use std::fs;

/// Bytes that look like nothing in particular, different per `seed`.
fn model_bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn links_are_created_switched_and_removed_by_plan_and_apply() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let file = t.workspace.join("models/checkpoints/mini.safetensors");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, model_bytes(1, 200_000)).unwrap();
    t.run(&["model", "scan"]).success();

    t.run(&["model", "add", file.to_str().unwrap()])
        .success()
        .stdout_has("+ model mini 195.3 KiB -> models/checkpoints/mini.safetensors (symlink from ");
    let link = placed_model(&env, "checkpoints/mini.safetensors");
    assert_eq!(fs::read_link(&link).unwrap(), file);
    let manifest = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(
        manifest.contains("[tool.comfydock.models.mini]\nhash = \"blake3:"),
        "{manifest}"
    );
    t.run(&["plan", "--detailed-exitcode"])
        .success()
        .stdout_has("No changes.");
    t.run(&["-e", "demo", "model", "list"])
        .success()
        .stdout_has("mini")
        .stdout_has("present");

    // Another link mode is a change; the copy is then what is in place.
    t.run(&["plan", "--link-mode", "copy", "--detailed-exitcode"])
        .code(2)
        .stdout_has("~ model mini")
        .stdout_has("symlink -> copy");
    t.run(&["apply", "--yes", "--link-mode", "copy"]).success();
    assert!(!link.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(fs::read(&link).unwrap(), fs::read(&file).unwrap());
    t.run(&["plan", "--link-mode", "copy", "--detailed-exitcode"]).success();
    fs::remove_file(&link).unwrap();
    t.run(&["status"])
        .success()
        .stdout_has("drift: model mini is missing from its model folder");
    t.run(&["apply", "--yes", "--link-mode", "copy"])
        .success()
        .stdout_has("~ model mini");

    // Removing the declaration removes the entry in ComfyUI, never the model file.
    t.run(&["model", "remove", "mini", "--no-apply"]).success();
    t.run(&["apply", "--yes", "--link-mode", "copy"])
        .success()
        .stdout_has("- model mini (link models/checkpoints/mini.safetensors removed; the model file is kept)");
    assert!(link.symlink_metadata().is_err());
    assert!(file.is_file());
    t.run(&["plan", "--detailed-exitcode"]).success();
}

#[test]
fn a_declared_model_is_downloaded_in_a_fresh_workspace() {
    let t = TestContext::new();
    let first = t.create_env("first");
    let server = HttpServer::start();
    let body = model_bytes(7, 300_000);
    server.serve("/files/lora-mini.safetensors", &body);
    let url = server.url("/files/lora-mini.safetensors");
    t.run(&["model", "add", &url, "--category", "loras"])
        .success()
        .stdout_has("+ model lora-mini");
    assert_eq!(
        fs::read(placed_model(&first, "loras/lora-mini.safetensors")).unwrap(),
        body
    );

    // Another machine: a new workspace, the same .cec, nothing local.
    let other = t.path("other-ws");
    let ws = other.to_str().unwrap();
    t.run(&["--workspace", ws, "init"]).success();
    t.run(&[
        "--workspace",
        ws,
        "create",
        "second",
        "--comfyui-repo",
        t.comfyui_repo.to_str().unwrap(),
    ])
    .success();
    let second = other.join("environments/second");
    for f in ["pyproject.toml", "comfydock.lock", "uv.lock"] {
        fs::copy(first.join(".cec").join(f), second.join(".cec").join(f)).unwrap();
    }
    let before = server.log().len();
    t.run(&["--workspace", ws, "-e", "second", "plan"])
        .success()
        .stdout_has("(symlink from download: url)");
    t.run(&["--workspace", ws, "-e", "second", "apply", "--yes", "--frozen"])
        .success();
    assert!(server.log().len() > before, "the model came over HTTP");
    let placed = placed_model(&second, "loras/lora-mini.safetensors");
    assert_eq!(fs::read(&placed).unwrap(), body);
    assert!(fs::read_link(&placed).unwrap().starts_with(other.join("models/loras")));
    // Downloaded models are indexed: findable by hash at once.
    let hash = blake3::hash(&body).to_hex().to_string();
    t.run(&["--workspace", ws, "model", "find", &hash[..12]])
        .success()
        .stdout_has("lora-mini");
    t.run(&["--workspace", ws, "-e", "second", "plan", "--detailed-exitcode"])
        .success();
}

#[test]
fn content_that_is_not_the_declared_hash_is_refused() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let server = HttpServer::start();
    server.serve("/m.safetensors", &model_bytes(3, 50_000));
    let declared = blake3::hash(&model_bytes(4, 50_000)).to_hex().to_string();
    let manifest = env.join(".cec/pyproject.toml");
    let mut text = fs::read_to_string(&manifest).unwrap();
    text.push_str(&format!(
        "\n[tool.comfydock.models.m]\nhash = \"blake3:{declared}\"\ncategory = \"checkpoints\"\nsources = [{{ type = \"url\", url = \"{}\" }}]\n",
        server.url("/m.safetensors")
    ));
    fs::write(&manifest, &text).unwrap();
    let before = tree(&env);
    let run = t.run(&["apply", "--yes"]);
    run.failure().stderr_has(&declared[..16]);
    let actual = blake3::hash(&model_bytes(3, 50_000)).to_hex().to_string();
    assert!(
        run.stderr.contains(&actual[..16]),
        "both hashes are named:\n{}",
        run.stderr
    );
    assert!(
        tree(&t.workspace.join("models"))
            .iter()
            .all(|p| !p.ends_with(".safetensors")),
        "the bad file was discarded"
    );
    let after: Vec<String> = tree(&env).into_iter().filter(|p| !p.starts_with(".cec")).collect();
    let before: Vec<String> = before.into_iter().filter(|p| !p.starts_with(".cec")).collect();
    assert_eq!(after, before, "nothing in the environment changed");
}

#[test]
fn a_users_file_in_the_way_is_never_replaced() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let file = t.workspace.join("models/vae/mini-vae.safetensors");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, model_bytes(9, 10_000)).unwrap();
    let theirs = env.join("ComfyUI/models/vae/mini-vae.safetensors");
    fs::create_dir_all(theirs.parent().unwrap()).unwrap();
    fs::write(&theirs, b"the user's own file").unwrap();
    t.run(&["model", "add", file.to_str().unwrap()])
        .failure()
        .stderr_has("comfydock did not put it there");
    assert_eq!(fs::read(&theirs).unwrap(), b"the user's own file");
    assert!(
        !fs::read_to_string(env.join(".cec/pyproject.toml"))
            .unwrap()
            .contains("mini-vae"),
        "the manifest was put back"
    );
}

#[test]
fn a_crash_while_switching_many_model_links_recovers_to_the_old_links() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let dir = t.workspace.join("models/loras");
    fs::create_dir_all(&dir).unwrap();
    for (i, name) in ["one", "two", "three"].iter().enumerate() {
        fs::write(dir.join(format!("{name}.safetensors")), model_bytes(10 + i as u8, 5000)).unwrap();
    }
    t.run(&["model", "scan"]).success();
    t.run(&["model", "add", dir.join("one.safetensors").to_str().unwrap()])
        .success();
    // The change: one link goes, two come; all of them one batch step of the journal.
    for name in ["two", "three"] {
        t.run(&[
            "model",
            "add",
            dir.join(format!("{name}.safetensors")).to_str().unwrap(),
            "--no-apply",
        ])
        .success();
    }
    t.run(&["model", "remove", "one", "--no-apply"]).success();
    t.run(&["lock"]).success();
    let models = env.join(".comfydock/models");
    let old_links = tree(&models);
    // Generation rows only: the crashed apply's .cec commit is listed as not applied, truly.
    let generations = |log: &str| -> Vec<String> {
        log.lines()
            .filter(|l| !l.ends_with("(.cec commit, not applied)"))
            .map(str::to_string)
            .collect()
    };
    let old_log = generations(&t.run(&["log"]).stdout);

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
                assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
                break 'steps;
            }
            crashed += 1;
            t.run(&["recover"]).success().stderr_has("Recovered");
            assert_eq!(tree(&models), old_links, "after a crash at {point}");
            assert_eq!(
                generations(&t.run(&["log"]).stdout),
                old_log,
                "no generation recorded after {point}"
            );
            t.run(&["plan", "--detailed-exitcode"]).code(2);
        }
    }
    assert!(crashed >= 4, "a failpoint at every step, hit {crashed}");
    t.run(&["plan", "--detailed-exitcode"]).success();
    let links = tree(&models);
    assert!(links.contains(&"loras/two.safetensors".to_string()), "{links:?}");
    assert!(links.contains(&"loras/three.safetensors".to_string()), "{links:?}");
    assert!(!links.contains(&"loras/one.safetensors".to_string()), "{links:?}");
    assert!(dir.join("one.safetensors").is_file(), "model files are never deleted");
}
