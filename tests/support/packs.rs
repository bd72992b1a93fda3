//! Node packs written the way real ones register their nodes, for pack identity tests: mappings
//! merged with `.update()` from a submodule, a dict built from a list of classes, and the newer
//! schema style (`comfy_entrypoint`, `define_schema` with `node_id=`). Never run by the tests:
//! comfydock reads them statically.

use std::path::{Path, PathBuf};

/// A git pack repository at `dest` (its folder name is its repository name, capitals and all)
/// whose node types are `{prefix}Resize+`, `{prefix}Math+` (from `nodes/core.py` through
/// `.update()`) and `{prefix}Listed` (a list of classes).
pub fn styled_pack(dest: &Path, prefix: &str) -> PathBuf {
    write_pack(dest, &mapping_files(prefix))
}

/// A git pack in the newer schema style only: `comfy_entrypoint` returns an extension whose
/// node list holds a class with `node_id="{prefix}Schema"`.
pub fn schema_pack(dest: &Path, prefix: &str) -> PathBuf {
    write_pack(
        dest,
        &[
            ("__init__.py", "from .v3 import comfy_entrypoint\n".to_string()),
            ("v3.py", schema_file(prefix)),
        ],
    )
}

fn write_pack(dest: &Path, files: &[(&str, String)]) -> PathBuf {
    super::repos::init(dest);
    for (rel, text) in files {
        let path = dest.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    super::repos::commit_all(dest, "v1");
    super::repos::git(dest, &["tag", "v1"]);
    dest.to_path_buf()
}

fn mapping_files(prefix: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "__init__.py",
            format!(
                r#""""A pack in the styles real packs use."""
from .nodes.core import NODE_CLASS_MAPPINGS as CORE_MAPPINGS
from .listed import CLASSES

NODE_CLASS_MAPPINGS = {{}}
NODE_CLASS_MAPPINGS.update(CORE_MAPPINGS)
NODE_CLASS_MAPPINGS.update({{c.__name__: c for c in CLASSES}})
NODE_DISPLAY_NAME_MAPPINGS = {{"{prefix}Resize+": "Resize (plus)"}}
__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
"#
            ),
        ),
        ("nodes/__init__.py", String::new()),
        (
            "nodes/core.py",
            format!(
                r#"class Resize:
    CATEGORY = "{prefix}"

class Math:
    pass

NODE_CLASS_MAPPINGS = {{
    "{prefix}Resize+": Resize,  # the essentials' style of suffix
    '{prefix}Math+': Math,
}}
"#
            ),
        ),
        (
            "listed.py",
            format!("class {prefix}Listed:\n    pass\n\nCLASSES = [{prefix}Listed]\n"),
        ),
    ]
}

fn schema_file(prefix: &str) -> String {
    format!(
        r#"from comfy_api.latest import ComfyExtension, io

class SchemaNode(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="{prefix}Schema", display_name="Schema node", inputs=[], outputs=[])

class Extension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return [SchemaNode]

async def comfy_entrypoint() -> Extension:
    return Extension()
"#
    )
}

/// The node types `styled_pack(_, prefix)` registers.
pub fn styled_types(prefix: &str) -> Vec<String> {
    ["Resize+", "Math+", "Listed"]
        .iter()
        .map(|s| format!("{prefix}{s}"))
        .collect()
}

/// A UI workflow using `types`, with no pack stamps (no cnr_id, no aux_id): only what the
/// environment has can say which pack provides them.
pub fn unstamped_workflow(types: &[String]) -> String {
    let nodes: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!(r#"{{"id":{},"type":"{t}","widgets_values":[]}}"#, i + 1))
        .collect();
    format!(r#"{{"nodes":[{}],"links":[],"version":0.4}}"#, nodes.join(","))
}
