//! ComfyUI's `extra_model_paths.yaml` for the workspace's model folders, so every environment's
//! ComfyUI sees the shared models without copying or linking them.
//!
//! One section per model folder, with `base_path` absolute and each category mapped to its
//! folders. `is_default` is not set: ComfyUI's own `models/` keeps precedence, and a model
//! downloaded from inside ComfyUI lands in the environment, where comfydock can see it.

use super::categories::CATEGORIES;
use super::{ModelError, Result};
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "extra_model_paths.yaml";

/// First line of every file comfydock writes; a file without it is the user's.
pub const MARKER: &str = "# Written by comfydock (`comfydock model export-paths`)";

/// The YAML text for `dirs` (absolute paths, in search order).
pub fn render(dirs: &[PathBuf]) -> String {
    let mut out = format!(
        "{MARKER}: the workspace's model folders.\n# Regenerate it with that command rather than editing it; comfydock replaces it.\n"
    );
    for (i, dir) in dirs.iter().enumerate() {
        let section = if i == 0 {
            "comfydock_workspace".to_string()
        } else {
            format!("comfydock_dir_{i}")
        };
        out.push_str(&format!(
            "\n{section}:\n  base_path: {}\n",
            yaml_string(&dir.to_string_lossy())
        ));
        for c in CATEGORIES {
            push_entry(&mut out, c.name, c.folders);
        }
        // Folders of custom packs' categories (ipadapter, sams, ...), as ComfyUI would read them.
        for extra in custom_folders(dir) {
            push_entry(&mut out, &extra, &[extra.as_str()]);
        }
    }
    out
}

fn push_entry(out: &mut String, key: &str, folders: &[&str]) {
    if let [one] = folders {
        out.push_str(&format!("  {key}: {}\n", yaml_string(one)));
    } else {
        // ComfyUI splits a value on newlines: one folder per line of a literal block.
        out.push_str(&format!("  {key}: |\n"));
        for f in folders {
            out.push_str(&format!("    {f}\n"));
        }
    }
}

/// Top-level folders of `dir` that are not builtin category folders, sorted.
fn custom_folders(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .filter(|n| !CATEGORIES.iter().any(|c| c.folders.contains(&n.as_str())))
        .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .collect();
    names.sort();
    names
}

/// A YAML double-quoted scalar: safe for any path (spaces, `:`, `#`, quotes).
fn yaml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// First and last lines of the section apply manages in ComfyUI's `extra_model_paths.yaml`: the
/// environment's placed models (its model tree). Whatever else the file holds is the user's (or
/// `model export-paths`'s) and is kept as it is, byte for byte.
pub const BLOCK_START: &str =
    "# >>> comfydock: the models this environment's lock places (rewritten by apply; edit outside this block) >>>";
pub const BLOCK_END: &str = "# <<< comfydock <<<";

/// The managed section: one YAML section reading each category from `tree` (the environment's
/// model tree link, absolute). No `is_default`: ComfyUI's own `models/` stays first, so what the
/// user puts there wins and what ComfyUI downloads goes there, never into the tree.
pub fn placed_block(tree: &Path, categories: &[String]) -> String {
    let mut out = format!(
        "{BLOCK_START}\ncomfydock_placed_models:\n  base_path: {}\n",
        yaml_string(&tree.to_string_lossy())
    );
    for c in categories {
        out.push_str(&format!("  {}: {}\n", yaml_string(c), yaml_string(c)));
    }
    out.push_str(BLOCK_END);
    out.push('\n');
    out
}

/// The managed section of `text`, if it has one (from its start line to its end line, included).
pub fn current_block(text: &str) -> Option<&str> {
    let start = text.find(BLOCK_START)?;
    let end = start + text[start..].find(BLOCK_END)? + BLOCK_END.len();
    let end = if text[end..].starts_with('\n') { end + 1 } else { end };
    Some(&text[start..end])
}

/// `existing` (None: no file) with its managed section replaced by `block`, or `block` appended
/// after the user's text (on a line of its own).
pub fn with_block(existing: Option<&str>, block: &str) -> String {
    let text = existing.unwrap_or("");
    if let Some(old) = current_block(text) {
        let at = text.find(old).unwrap_or(0);
        return format!("{}{block}{}", &text[..at], &text[at + old.len()..]);
    }
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(block);
    out
}

/// `text` without the managed section.
fn without_block(text: &str) -> String {
    match current_block(text) {
        Some(block) => text.replacen(block, "", 1).trim_end_matches('\n').to_string() + "\n",
        None => text.to_string(),
    }
}

/// Writes the file into `comfyui_dir` atomically. A file there that comfydock did not write is
/// the user's: without `force` it is refused; with `force` it is first copied to `backup_dir`.
/// Apply's section for the placed models is kept. Returns the path written and the backup made,
/// if any.
pub fn export(
    comfyui_dir: &Path,
    dirs: &[PathBuf],
    force: bool,
    backup_dir: &Path,
) -> Result<(PathBuf, Option<PathBuf>)> {
    let path = comfyui_dir.join(FILE_NAME);
    let mut backup = None;
    let mut block = None;
    match fs_err::read_to_string(&path) {
        Ok(existing) => {
            block = current_block(&existing).map(str::to_string);
            let rest = without_block(&existing);
            if !rest.trim().is_empty() && !rest.starts_with(MARKER) {
                let target = backup_dir.join(format!("{FILE_NAME}.{}", super::now()));
                if !force {
                    return Err(ModelError::ForeignFile { path, backup: target });
                }
                crate::fsx::write_atomic(&target, existing.as_bytes()).map_err(ModelError::io(&target))?;
                backup = Some(target);
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ModelError::Io { path, source: e }),
    }
    let text = match &block {
        Some(block) => with_block(Some(&render(dirs)), block),
        None => render(dirs),
    };
    crate::fsx::write_atomic(&path, text.as_bytes()).map_err(ModelError::io(&path))?;
    Ok((path, backup))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sections_categories_and_quoted_paths() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("my models: \"x\"");
        fs_err::create_dir_all(shared.join("ipadapter")).unwrap();
        fs_err::create_dir_all(shared.join("checkpoints")).unwrap();
        let text = render(&[PathBuf::from("/ws/models"), shared.clone()]);
        assert!(text.starts_with(MARKER));
        assert!(text.contains("comfydock_workspace:\n  base_path: \"/ws/models\"\n"));
        assert!(text.contains("  text_encoders: |\n    text_encoders\n    clip\n"));
        assert!(text.contains("  ipadapter: \"ipadapter\"\n"));
        assert_eq!(
            text.matches("ipadapter").count(),
            2,
            "only the folder that has it: {text}"
        );
        assert!(text.contains(&format!("base_path: \"{}/my models: \\\"x\\\"\"", dir.path().display())));
        assert!(!text.contains("is_default"));
    }

    #[test]
    fn the_managed_section_is_appended_replaced_and_leaves_the_users_text_alone() {
        let user = "# mine\nmy_models:\n    base_path: /data\n    loras: loras";
        let block = placed_block(Path::new("/env/.comfydock/models"), &["checkpoints".into()]);
        let once = with_block(Some(user), &block);
        assert!(once.starts_with(&format!("{user}\n\n{BLOCK_START}\n")), "{once}");
        assert!(once.contains("  base_path: \"/env/.comfydock/models\"\n  \"checkpoints\": \"checkpoints\"\n"));
        assert_eq!(current_block(&once), Some(block.as_str()));
        let other = placed_block(Path::new("/env/.comfydock/models"), &["loras".into()]);
        let twice = with_block(Some(&once), &other);
        assert_eq!(twice, once.replace(&block, &other));
        assert_eq!(without_block(&twice), format!("{user}\n"));
        assert_eq!(with_block(None, &block), block);
    }
}
