//! The builtin node types of an environment's own ComfyUI, read statically from its checkout
//! (`nodes.py`, `comfy_extras/`, `comfy_api_nodes/`; nothing is imported) and cached per commit
//! in the workspace, so a ComfyUI newer or older than the shipped list is judged by its own
//! nodes.

use crate::workflow::Builtins;
use crate::workflow::builtin_scan::{SOURCE_DIRS, names_in_source};
use std::path::{Path, PathBuf};

/// Where the list for `commit` is cached.
pub fn cache_path(cache_dir: &Path, commit: &str) -> PathBuf {
    cache_dir.join(format!("builtin-nodes-{commit}.txt"))
}

/// The builtin node types of the checkout at `comfyui`, or `None` when there is no checkout
/// (or it registers no node at all, which is no ComfyUI). A failed cache write is not an error:
/// the list is simply read again next time.
pub fn of_checkout(comfyui: &Path, cache_dir: &Path) -> Option<Builtins> {
    let commit = crate::git::head_commit(comfyui).ok()??;
    let short = commit.get(..8).unwrap_or(&commit).to_string();
    let source = format!("ComfyUI checkout at {short}");
    let cached = cache_path(cache_dir, &commit);
    if let Ok(text) = fs_err::read_to_string(&cached) {
        return Some(Builtins::from_names(text.lines().filter(|l| !l.is_empty()), source));
    }
    let names = scan(comfyui);
    if names.is_empty() {
        return None;
    }
    let _ =
        fs_err::create_dir_all(cache_dir).and_then(|_| crate::fsx::write_atomic(&cached, names.join("\n").as_bytes()));
    Some(Builtins::from_names(names.iter().map(String::as_str), source))
}

fn scan(comfyui: &Path) -> Vec<String> {
    let mut files = vec![comfyui.join("nodes.py")];
    for dir in SOURCE_DIRS {
        files.extend(
            walkdir::WalkDir::new(comfyui.join(dir))
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "py"))
                .map(|e| e.into_path()),
        );
    }
    let mut names: Vec<String> = files
        .iter()
        .filter_map(|f| fs_err::read_to_string(f).ok())
        .flat_map(|text| names_in_source(&text))
        .collect();
    names.sort();
    names.dedup();
    names
}
