//! Packs written inline, one per form the scanner recognises.

use std::collections::{BTreeMap, BTreeSet};

use super::{MAX_FILE_BYTES, scan_files, scan_pack};

fn pack(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect()
}

fn names(files: &[(&str, &str)]) -> Vec<String> {
    scan_files(&pack(files)).node_types.into_iter().collect()
}

fn set(items: &[&str]) -> Vec<String> {
    items
        .iter()
        .map(|s| s.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[test]
fn literal_dict_with_comments_quotes_and_trailing_comma() {
    let init = r#"
class A: pass
class B: pass
NODE_CLASS_MAPPINGS = {
    "A": A,   # a comment
    'B': B,
    """C""": B,
    r'D': A,
    # "Commented": A,
}
"#;
    assert_eq!(names(&[("__init__.py", init)]), set(&["A", "B", "C", "D"]));
}

#[test]
fn update_item_assignment_and_union_operators() {
    let init = r#"
from .nodes import X, Y
OTHER = {"O": X}
NODE_CLASS_MAPPINGS = {}
NODE_CLASS_MAPPINGS.update({"U": X})
NODE_CLASS_MAPPINGS.update(OTHER)
NODE_CLASS_MAPPINGS.update(K=Y)
NODE_CLASS_MAPPINGS["S"] = Y
NODE_CLASS_MAPPINGS |= {"P": X}
NODE_CLASS_MAPPINGS = NODE_CLASS_MAPPINGS | {"Q": Y}
"#;
    let nodes = "class X: pass\nclass Y: pass\n";
    assert_eq!(
        names(&[("__init__.py", init), ("nodes.py", nodes)]),
        set(&["K", "O", "P", "Q", "S", "U"])
    );
}

#[test]
fn merges_spread_and_dict_call() {
    let init = r#"
from .a import NODE_CLASS_MAPPINGS as A_MAP
from .b import MAPS as B_MAP
BASE = {"Base": 1}
M1 = {**A_MAP, **B_MAP, "C": 1}
M2 = dict(BASE, **M1)
NODE_CLASS_MAPPINGS = dict(M2, Extra=2)
"#;
    let a = "NODE_CLASS_MAPPINGS = {'A1': 1}\nNODE_CLASS_MAPPINGS['A2'] = 2\n";
    let b = "MAPS = {'B1': 1}\nMAPS.update({'B2': 2})\n";
    assert_eq!(
        names(&[("__init__.py", init), ("a.py", a), ("b/__init__.py", b)]),
        set(&["A1", "A2", "B1", "B2", "Base", "C", "Extra"])
    );
}

#[test]
fn package_module_wins_over_file_and_submodules_resolve() {
    let init = "from .nodes.sub import M as S\nfrom . import other\nNODE_CLASS_MAPPINGS = {**S, **other.M}\n";
    let files = [
        ("__init__.py", init),
        ("nodes/__init__.py", ""),
        ("nodes/sub.py", "M = {'Sub': 1}\n"),
        ("other.py", "M = {'Other': 1}\n"),
    ];
    assert_eq!(names(&files), set(&["Other", "Sub"]));
}

#[test]
fn star_import_respects_all() {
    let init = "from .nodes import *\nNODE_CLASS_MAPPINGS = {**PUBLIC, **HIDDEN}\n";
    let nodes = "__all__ = ['PUBLIC']\nPUBLIC = {'P': 1}\nHIDDEN = {'H': 1}\n";
    let r = scan_files(&pack(&[("__init__.py", init), ("nodes.py", nodes)]));
    assert_eq!(r.node_types.into_iter().collect::<Vec<_>>(), set(&["P"]));
    assert!(r.notes.iter().any(|n| n.contains("**HIDDEN")), "{:?}", r.notes);
}

#[test]
fn class_lists_comprehensions_and_loops() {
    let init = r#"
from .nodes import A, B, C, D
CLASSES = [A, B]
NODE_CLASS_MAPPINGS = {c.__name__: c for c in CLASSES}
NODE_CLASS_MAPPINGS.update({cls.__name__: cls for cls in [C]})
for name, cls in [("Dee", D), ("Eee", A)]:
    NODE_CLASS_MAPPINGS[name] = cls
for k, v in {"Eff": A}.items():
    NODE_CLASS_MAPPINGS[k] = v
"#;
    let nodes = "class A: pass\nclass B: pass\nclass C: pass\nclass D: pass\n";
    assert_eq!(
        names(&[("__init__.py", init), ("nodes.py", nodes)]),
        set(&["A", "B", "C", "Dee", "Eee", "Eff"])
    );
}

#[test]
fn try_except_and_if_branches_all_count() {
    let init = r#"
NODE_CLASS_MAPPINGS = {"Always": 1}
try:
    from .optional import M
    NODE_CLASS_MAPPINGS.update(M)
except ImportError:
    pass
if some_flag():
    NODE_CLASS_MAPPINGS = {"IfBranch": 1}
elif other:
    NODE_CLASS_MAPPINGS["Elif"] = 1
else:
    NODE_CLASS_MAPPINGS.update({"Else": 1})
"#;
    let files = [("__init__.py", init), ("optional.py", "M = {'Optional': 1}\n")];
    assert_eq!(names(&files), set(&["Always", "Elif", "Else", "IfBranch", "Optional"]));
}

#[test]
fn importlib_loop_over_literal_module_names() {
    let init = r#"
import importlib
NODE_CLASS_MAPPINGS = {}
for module in ["a", "b"]:
    m = importlib.import_module(f".{module}", __name__)
    NODE_CLASS_MAPPINGS.update(m.NODE_CLASS_MAPPINGS)
"#;
    let files = [
        ("__init__.py", init),
        ("a.py", "NODE_CLASS_MAPPINGS = {'FromA': 1}\n"),
        ("b.py", "NODE_CLASS_MAPPINGS = {'FromB': 1}\n"),
    ];
    assert_eq!(names(&files), set(&["FromA", "FromB"]));
}

#[test]
fn dynamic_registration_is_a_note_not_a_guess() {
    let init = r#"
import glob, importlib.util
NODE_CLASS_MAPPINGS = {"Known": 1}
for file in glob.glob("py/*.py"):
    module = load(file)
    NODE_CLASS_MAPPINGS.update(module.NODE_CLASS_MAPPINGS)
NODE_CLASS_MAPPINGS[compute_name()] = 1
NOT_A_NODE = "LooksLikeANode"
"#;
    let files = [
        ("__init__.py", init),
        ("py/x.py", "NODE_CLASS_MAPPINGS = {'Hidden': 1}\n"),
    ];
    let r = scan_files(&pack(&files));
    assert_eq!(r.node_types.into_iter().collect::<Vec<_>>(), set(&["Known"]));
    assert!(
        r.notes.iter().any(|n| n.contains("module.NODE_CLASS_MAPPINGS")),
        "{:?}",
        r.notes
    );
    assert!(r.notes.iter().any(|n| n.contains("compute_name()")), "{:?}", r.notes);
    assert_eq!(r.files_read, 1);
}

#[test]
fn class_attribute_names_and_helper_functions() {
    // Keys read from class attributes computed by small helper functions (rgthree's style), and a
    // mapping built by a function from a config dict (KJNodes' style).
    let constants = "NAMESPACE = 'ns'\ndef get_name(name):\n    return '{} ({})'.format(name, NAMESPACE)\n";
    let node = "from .constants import get_name\nclass Seed:\n    NAME = get_name('Seed')\nclass Other:\n    NAME = f'Other {get_name(\"x\")}'\n";
    let init = r#"
from .node import Seed, Other
CONFIG = {"FromConfig": {"class": Seed, "name": "Shown"}}
def generate(config):
    mappings = {}
    names = {}
    for node_name, node_info in config.items():
        mappings[node_name] = node_info["class"]
        names[node_name] = node_info.get("name")
    return mappings, names
A, B = generate(CONFIG)
NODE_CLASS_MAPPINGS = {Seed.NAME: Seed, Other.NAME: Other, **A}
"#;
    let files = [("__init__.py", init), ("node.py", node), ("constants.py", constants)];
    assert_eq!(names(&files), set(&["FromConfig", "Other x (ns)", "Seed (ns)"]));
}

#[test]
fn schema_style_entrypoint() {
    let init = r#"
from typing_extensions import override
from comfy_api.latest import ComfyExtension, io
from .nodes import Imported, LIST

class Local(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(
            node_id="LocalNode",
            category="x",
            inputs=[io.Image.Input("image")],
        )

class Ext(ComfyExtension):
    @override
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        nodes = [Local, Imported]
        if FLAG:
            nodes.extend(LIST)
        return nodes

async def comfy_entrypoint() -> Ext:
    return Ext()
"#;
    let nodes = r#"
from comfy_api.latest import io as comfy_io
NODE_ID = "ImportedNode"
class Imported(comfy_io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return comfy_io.Schema(node_id=NODE_ID)
class Base(comfy_io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return comfy_io.Schema(node_id=cls.ID)
class Derived(Base):
    ID = "DerivedNode"
LIST = [Derived]
"#;
    assert_eq!(
        names(&[("__init__.py", init), ("nodes.py", nodes)]),
        set(&["DerivedNode", "ImportedNode", "LocalNode"])
    );
}

#[test]
fn imports_cannot_leave_the_pack() {
    let init = "from .. import outside\nfrom ...x import M\nimport importlib\nm = importlib.import_module('./../etc', __name__)\nNODE_CLASS_MAPPINGS = {'A': 1}\n";
    let r = scan_files(&pack(&[("__init__.py", init), ("../x.py", "M = {'Escaped': 1}\n")]));
    assert_eq!(r.node_types.into_iter().collect::<Vec<_>>(), set(&["A"]));
    assert!(r.notes.iter().any(|n| n.contains("climbs above")), "{:?}", r.notes);
}

#[test]
fn cycles_recursion_and_big_files_are_bounded() {
    let init = "from .a import M\nNODE_CLASS_MAPPINGS = {**M, 'I': 1}\n";
    let a = "from . import b\nfrom .a import M\nM = {'A': 1}\n";
    let b = "from .a import M\ndef f(x):\n    return f(x)\nY = f(1)\n";
    let big = "x = 1\n".repeat((MAX_FILE_BYTES / 6 + 1) as usize);
    let files = [("__init__.py", init), ("a.py", a), ("b.py", b), ("c.py", big.as_str())];
    assert_eq!(names(&files), set(&["A", "I"]));
    let r = scan_files(&pack(&[
        ("__init__.py", "from .c import M\nNODE_CLASS_MAPPINGS = M\n"),
        ("c.py", big.as_str()),
    ]));
    assert!(r.notes.iter().any(|n| n.contains("byte cap")), "{:?}", r.notes);
}

#[test]
fn hostile_sources_do_not_panic_or_hang() {
    let deep = format!(
        "NODE_CLASS_MAPPINGS = {}{{}}{}\n",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let mut nested_ifs = String::new();
    for i in 0..2000 {
        nested_ifs.push_str(&" ".repeat(i));
        nested_ifs.push_str("if x:\n");
    }
    let blowup = "L = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']\n\
                  NODE_CLASS_MAPPINGS = {f'{a}{b}{c}{d}{e}': 1 for a in L for b in L for c in L for d in L for e in L}\n";
    let chains = format!(
        "a = x{}\nb = x{}\nc = x{}\nd = y{}\n",
        " + x".repeat(200_000),
        " or x".repeat(200_000),
        ".y".repeat(200_000),
        "()".repeat(200_000)
    );
    let deep_values =
        "L = []\nfor a in R:\n    for b in R:\n        L = [L]\n        L.append(L)\n        class C(C): pass\n";
    let deep_values = format!("R = [{}]\n{deep_values}", "1, ".repeat(2000));
    let calls = "def f(x):\n    return g(x) + g(x)\ndef g(x):\n    return h(x) + h(x)\ndef h(x):\n    return x\nfor i in range(10):\n    f(1)\n";
    for src in [
        deep.as_str(),
        nested_ifs.as_str(),
        chains.as_str(),
        deep_values.as_str(),
        blowup,
        calls,
        "'''",
        "def (:\n  )))\n\tx = {",
    ] {
        let _ = scan_files(&pack(&[("__init__.py", src)]));
    }
    assert_eq!(
        names(&[("__init__.py", "\u{feff}NODE_CLASS_MAPPINGS = {'Bom': 1}")]),
        set(&["Bom"])
    );
}

#[test]
fn disk_scan_reads_files_and_refuses_symlinks() {
    let dir = std::env::temp_dir().join(format!(
        "pack-scan-test-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = fs_err::remove_dir_all(&dir);
    fs_err::create_dir_all(dir.join("nodes")).expect("temp dir");
    fs_err::write(
        dir.join("__init__.py"),
        "from .nodes import M\nfrom .linked import L\nNODE_CLASS_MAPPINGS = {**M, **L}\n",
    )
    .expect("write");
    fs_err::write(dir.join("nodes/__init__.py"), "M = {'OnDisk': 1}\n").expect("write");
    let outside = dir.with_extension("outside.py");
    fs_err::write(&outside, "L = {'Outside': 1}\n").expect("write");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, dir.join("linked.py")).expect("symlink");
    let r = scan_pack(&dir).expect("scan");
    let _ = fs_err::remove_dir_all(&dir);
    let _ = fs_err::remove_file(&outside);
    assert_eq!(r.node_types.into_iter().collect::<Vec<_>>(), set(&["OnDisk"]));
    assert_eq!(r.files_read, 2);
    #[cfg(unix)]
    assert!(r.notes.iter().any(|n| n.contains("symlink")), "{:?}", r.notes);
}

#[test]
fn missing_init_is_a_note() {
    let r = scan_files(&pack(&[("nodes.py", "NODE_CLASS_MAPPINGS = {'A': 1}\n")]));
    assert!(r.node_types.is_empty());
    assert_eq!(r.files_read, 0);
    assert!(!r.notes.is_empty());
}
