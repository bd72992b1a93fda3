//! comfydock's ComfyUI panel: a small custom node pack embedded in this binary (so its version is
//! the binary's), placed like any node. `panel enable` declares it in the manifest
//! (`source = "comfydock"`); resolving writes its files into the node store, where they get a
//! tree hash like any pack, and the lock pins that hash with the comfydock version. See
//! docs/panel.md.

use crate::store::NodeStore;
use crate::types::Blake3;

/// The panel's key in `[tool.comfydock.nodes]`, and its folder in `custom_nodes/`.
pub const KEY: &str = "comfydock-panel";

/// The comfydock version whose panel files this binary carries.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The pack's files, relative to its folder.
const FILES: &[(&str, &str)] = &[
    ("__init__.py", include_str!("pack/__init__.py")),
    ("web/comfydock.js", include_str!("pack/web/comfydock.js")),
];

/// Writes the embedded files into the store (once; the same content is the same entry) and
/// returns their tree hash.
pub fn store_tree(store: &NodeStore) -> std::io::Result<Blake3> {
    let scratch = store.scratch()?;
    for (rel, text) in FILES {
        let path = scratch.path().join(rel);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        fs_err::write(&path, text)?;
    }
    fs_err::write(scratch.path().join("VERSION"), VERSION)?;
    store.insert(scratch)
}

/// The manifest entry `panel enable` writes.
pub fn spec() -> crate::manifest::NodeSpec {
    crate::manifest::NodeSpec {
        name: Some("comfydock panel".into()),
        ..crate::manifest::NodeSpec::panel()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_same_files_are_the_same_store_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::NodeStore::new(dir.path());
        let a = super::store_tree(&store).unwrap();
        let b = super::store_tree(&store).unwrap();
        assert_eq!(a, b);
        assert!(store.path(&a).join("web/comfydock.js").is_file());
        assert!(store.path(&a).join("__init__.py").is_file());
    }
}
