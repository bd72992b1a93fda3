//! Git repositories made by code, with fixed dates so commits are stable.

use super::MANIFEST_DIR;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Fixture")
        .env("GIT_AUTHOR_EMAIL", "fixture@example.invalid")
        .env("GIT_COMMITTER_NAME", "Fixture")
        .env("GIT_COMMITTER_EMAIL", "fixture@example.invalid")
        .env("GIT_AUTHOR_DATE", "2025-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2025-01-01T00:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn init(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "--quiet", "--initial-branch=master"]);
}

pub fn commit_all(dir: &Path, message: &str) -> String {
    git(dir, &["add", "--all"]);
    git(dir, &["commit", "--quiet", "--allow-empty", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// The miniature ComfyUI of `fixtures/comfyui-mini` as a repository with history:
/// `v0.1.0`, then `v0.2.0` (the newest tag), then one untagged commit on master.
pub fn comfyui_fixture(dest: &Path) {
    init(dest);
    let source = PathBuf::from(MANIFEST_DIR).join("fixtures/comfyui-mini");
    copy_dir(&source, dest);
    for (version, tag) in [
        ("0.1.0", Some("v0.1.0")),
        ("0.2.0", Some("v0.2.0")),
        ("0.3.0.dev0", None),
    ] {
        std::fs::write(
            dest.join("comfyui_version.py"),
            format!("__version__ = \"{version}\"\n"),
        )
        .unwrap();
        commit_all(dest, &format!("ComfyUI {version}"));
        if let Some(tag) = tag {
            git(dest, &["tag", tag]);
        }
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).min_depth(1) {
        let entry = entry.unwrap();
        let dest = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// A node pack repository: `__init__.py` registering `node_type`, committed on master and
/// tagged `v1`; returns its path.
pub fn node_pack(dest: &Path, node_type: &str) -> PathBuf {
    init(dest);
    std::fs::write(
        dest.join("__init__.py"),
        format!("NODE_CLASS_MAPPINGS = {{'{node_type}': object}}\nVERSION = 1\n"),
    )
    .unwrap();
    commit_all(dest, "v1");
    git(dest, &["tag", "v1"]);
    dest.to_path_buf()
}

/// A second commit on the pack (VERSION = 2); returns its commit id.
pub fn node_pack_v2(dest: &Path, node_type: &str) -> String {
    std::fs::write(
        dest.join("__init__.py"),
        format!("NODE_CLASS_MAPPINGS = {{'{node_type}': object}}\nVERSION = 2\n"),
    )
    .unwrap();
    commit_all(dest, "v2")
}

/// A node pack named `name` (its pyproject says so) registering `node_type`, that asks for a
/// ComfyUI matching `spec` (`[tool.comfy] requires-comfyui`), in `dest`.
pub fn pack_requiring_comfyui(dest: &Path, name: &str, node_type: &str, spec: &str) -> PathBuf {
    let pyproject = format!("[project]\nname = \"{name}\"\n[tool.comfy]\nrequires-comfyui = \"{spec}\"\n");
    node_pack_with(dest, node_type, &[("pyproject.toml", &pyproject)])
}

/// A node pack like `node_pack` with more files (`install.py`, `pyproject.toml`, ...), committed
/// together and tagged `v1`; returns its path.
pub fn node_pack_with(dest: &Path, node_type: &str, files: &[(&str, &str)]) -> PathBuf {
    init(dest);
    std::fs::write(
        dest.join("__init__.py"),
        format!("NODE_CLASS_MAPPINGS = {{'{node_type}': object}}\nVERSION = 1\n"),
    )
    .unwrap();
    for (name, text) in files {
        std::fs::write(dest.join(name), text).unwrap();
    }
    commit_all(dest, "v1");
    git(dest, &["tag", "v1"]);
    dest.to_path_buf()
}
