//! Drift a person would want named: which files of a node pack were edited or deleted, ComfyUI's
//! own files edited by hand, and where apply put the user's versions.

use crate::support::{TestContext, repos};
use std::fs;

#[test]
fn edited_and_deleted_node_files_are_named_and_kept_in_the_trash() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let pack = t.path("packs/beta");
    repos::init(&pack);
    fs::write(pack.join("__init__.py"), "NODE_CLASS_MAPPINGS = {}\n").unwrap();
    fs::write(pack.join("a.py"), "A = 1\n").unwrap();
    fs::write(pack.join("b.py"), "B = 1\n").unwrap();
    repos::commit_all(&pack, "beta");
    t.run(&["node", "add", pack.to_str().unwrap()]).success();

    let live = env.join("ComfyUI/custom_nodes/beta");
    fs::write(live.join("a.py"), "A = 2  # my fix\n").unwrap();
    fs::remove_file(live.join("b.py")).unwrap();
    // Written by the pack itself, and declared so: not drift.
    let manifest = env.join(".cec/pyproject.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        text.replace(
            "[tool.comfydock.nodes.beta]",
            "[tool.comfydock.nodes.beta]\nruntime_paths = [\"cache.json\"]",
        ),
    )
    .unwrap();
    fs::write(live.join("cache.json"), "{}").unwrap();
    t.run(&["plan"])
        .success()
        .stdout_has("edited on disk (modified: a.py; deleted: b.py)");
    t.run(&["status"])
        .success()
        .stdout_has("node beta: modified: a.py; deleted: b.py");
    let run = t.run(&["apply", "--yes"]);
    run.success();
    let generation = run
        .stdout
        .split("generation ")
        .nth(1)
        .and_then(|s| s.split('.').next())
        .unwrap()
        .to_string();
    run.stderr_has(&format!("Kept what was replaced: .comfydock/trash/{generation}/beta"));
    let kept = env.join(format!(".comfydock/trash/{generation}/beta/a.py"));
    assert_eq!(fs::read_to_string(kept).unwrap(), "A = 2  # my fix\n");
    assert_eq!(fs::read_to_string(live.join("a.py")).unwrap(), "A = 1\n");
    assert!(live.join("b.py").is_file() && live.join("cache.json").is_file());
    t.run(&["plan", "--detailed-exitcode"]).success();
}

#[test]
fn comfyuis_own_files_are_drift_and_an_edit_is_kept() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let main = env.join("ComfyUI/main.py");
    let original = fs::read_to_string(&main).unwrap();
    fs::write(&main, format!("{original}\n# tuned by hand\n")).unwrap();
    t.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("~ comfyui: restore files edited by hand (modified: main.py)");
    t.run(&["status"])
        .success()
        .stdout_has("ComfyUI's own files: modified: main.py");
    // verify sees what status sees (issue 23).
    t.run(&["verify"]).failure().stdout_has("comfyui: `main.py` changed");
    let run = t.run(&["apply", "--yes"]);
    run.success().stderr_has("Kept what was replaced: .comfydock/trash/");
    assert_eq!(fs::read_to_string(&main).unwrap(), original);
    let kept: Vec<_> = walkdir::WalkDir::new(env.join(".comfydock/trash"))
        .into_iter()
        .flatten()
        .filter(|e| e.file_name() == "main.py")
        .collect();
    assert_eq!(kept.len(), 1);
    assert!(fs::read_to_string(kept[0].path()).unwrap().contains("# tuned by hand"));
    t.run(&["plan", "--detailed-exitcode"]).success();
    t.run(&["verify"]).success();
}
