//! The node types a custom node pack registers, read statically from its Python source: no Python
//! is imported or run. Starting at the pack's `__init__.py`, relative imports are followed inside the
//! pack folder and the value of `NODE_CLASS_MAPPINGS` is evaluated (literal dicts, `update`, item
//! assignment, `|`, `**` merges, `dict(...)`, comprehensions over class lists, loops over literal
//! lists, `importlib.import_module` of literal names), plus the schema style's
//! `comfy_entrypoint()` → `get_node_list()` → `define_schema()` → `io.Schema(node_id=...)`.
//!
//! The source is untrusted: files, bytes, imports, loop items, calls and evaluation steps are all
//! bounded, symlinks are never followed and relative imports cannot leave the folder. What cannot be
//! followed statically is reported in `notes`, never guessed.

mod ast;
mod eval;
mod lexer;
mod parser;
mod value;

#[cfg(test)]
mod tests;

use fs_err as fs;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use eval::{Interp, Read, Source};
use value::Value;

/// Largest Python file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Most Python files followed in one pack.
pub const MAX_FILES: usize = 2_000;
/// Deepest chain of imports followed.
pub const MAX_IMPORT_DEPTH: usize = 32;
/// Most evaluation steps (statements and expressions) spent on one pack.
pub const MAX_STEPS: usize = 2_000_000;

/// What a pack registers, read statically.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackNodes {
    pub node_types: BTreeSet<String>,
    /// Python files read.
    pub files_read: usize,
    /// Human notes on what could not be followed (a dynamic expression, a file over the size cap), for diagnostics.
    pub notes: Vec<String>,
}

/// Scans the pack folder `dir` (its `__init__.py` and what it imports, relatively, inside the folder).
/// `dir` itself may be a symlink; nothing below it is followed through one.
pub fn scan_pack(dir: &Path) -> std::io::Result<PackNodes> {
    let meta = fs::metadata(dir)?;
    if !meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("{} is not a folder", dir.display()),
        ));
    }
    Ok(scan(&mut DiskSource {
        root: dir.to_path_buf(),
    }))
}

/// The same over an in-memory tree: relative path ("__init__.py", "nodes/a.py") -> file text.
pub fn scan_files(files: &BTreeMap<String, String>) -> PackNodes {
    scan(&mut MapSource { files })
}

fn scan(source: &mut dyn Source) -> PackNodes {
    let mut it = Interp::new(source);
    let mut node_types = BTreeSet::new();
    let mut notes = Vec::new();
    let Some(root) = it.load(&[]) else {
        let mut notes = it.notes.clone();
        notes.push("no readable __init__.py: nothing to scan".to_string());
        return PackNodes {
            node_types,
            files_read: it.files_read(),
            notes,
        };
    };
    let entry = it.global(root, "comfy_entrypoint");
    match it.global(root, "NODE_CLASS_MAPPINGS") {
        Some((Value::Dict(d), _)) => {
            node_types.extend(d.entries.keys().cloned());
            notes.extend(d.gaps.iter().map(|g| format!("NODE_CLASS_MAPPINGS: not followed: {g}")));
        }
        Some((_, origin)) => notes.push(format!(
            "NODE_CLASS_MAPPINGS: not followed: {}",
            origin.unwrap_or_else(|| "not a dict the scanner can evaluate".to_string())
        )),
        None if entry.is_none() => {
            notes.push("__init__.py defines neither NODE_CLASS_MAPPINGS nor comfy_entrypoint".into())
        }
        None => {}
    }
    if let Some((entry, _)) = entry {
        schema_nodes(&mut it, entry, &mut node_types, &mut notes);
    }
    let mut all = it.notes.clone();
    all.extend(notes);
    PackNodes {
        node_types,
        files_read: it.files_read(),
        notes: all,
    }
}

/// The schema style: `comfy_entrypoint()` returns an extension whose `get_node_list()` lists node
/// classes; each class's `define_schema()` returns `io.Schema(node_id=...)`.
fn schema_nodes(it: &mut Interp, entry: Value, out: &mut BTreeSet<String>, notes: &mut Vec<String>) {
    let extension = it.call_value(entry);
    let get_list = it.attr(extension, "get_node_list");
    let list = it.call_value(get_list);
    let Some(classes) = list.iter_items() else {
        notes.push("comfy_entrypoint: the node list of get_node_list() was not followed".into());
        return;
    };
    for class in classes {
        let name = match &class {
            Value::Class(c) => c.name.clone(),
            _ => {
                notes.push("comfy_entrypoint: an item of get_node_list() is not a class the scanner knows".into());
                continue;
            }
        };
        let define = it.attr(class, "define_schema");
        match it.call_value(define) {
            Value::Schema(Some(id)) => {
                out.insert(id);
            }
            _ => notes.push(format!(
                "comfy_entrypoint: no literal node_id in {name}.define_schema()"
            )),
        }
    }
}

struct MapSource<'a> {
    files: &'a BTreeMap<String, String>,
}

impl Source for MapSource<'_> {
    fn read(&mut self, rel: &str) -> Read {
        match self.files.get(rel) {
            Some(t) if t.len() as u64 > MAX_FILE_BYTES => Read::Skipped(too_big(rel, t.len() as u64)),
            Some(t) => Read::Text(t.clone()),
            None => Read::Missing,
        }
    }
}

struct DiskSource {
    root: PathBuf,
}

impl Source for DiskSource {
    fn read(&mut self, rel: &str) -> Read {
        let mut path = self.root.clone();
        for part in rel.split('/') {
            // Paths come from Python identifiers; refuse anything else all the same.
            if part.is_empty() || part == "." || part == ".." || part.contains(['\\', '\0']) {
                return Read::Missing;
            }
            path.push(part);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => return Read::Skipped(format!("{rel}: a symlink, not followed")),
                Ok(_) => {}
                Err(_) => return Read::Missing,
            }
        }
        let file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => return Read::Skipped(format!("{rel}: not read: {e}")),
        };
        match file.metadata() {
            Ok(m) if !m.is_file() => return Read::Missing,
            Ok(m) if m.len() > MAX_FILE_BYTES => return Read::Skipped(too_big(rel, m.len())),
            Ok(_) => {}
            Err(e) => return Read::Skipped(format!("{rel}: not read: {e}")),
        }
        let mut bytes = Vec::new();
        // The cap holds even if the file grows after the size check.
        if let Err(e) = file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes) {
            return Read::Skipped(format!("{rel}: not read: {e}"));
        }
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Read::Skipped(too_big(rel, bytes.len() as u64));
        }
        Read::Text(String::from_utf8_lossy(&bytes).into_owned())
    }
}

fn too_big(rel: &str, len: u64) -> String {
    format!("{rel}: {len} bytes, over the {MAX_FILE_BYTES}-byte cap: not read")
}
