//! Properties over random input (proptest): untrusted text is parsed into valid values or
//! refused, never a panic; what parses round-trips; typed names and paths cannot leave the
//! folder they are joined to; archives never write outside their root.

use comfydock::manifest::{Lock, Manifest};
use comfydock::types::{ModelFile, ModelKey, NodeId, RelPath};
use proptest::prelude::*;
use std::path::{Component, Path};

const MANIFEST: &str = r#"[project]
name = "comfydock-env-demo"
version = "0.1.0"
requires-python = "==3.12.*"
dependencies = ["numpy>=1.25"]

[tool.uv]
package = false

[tool.comfydock]
version = "1"
comfyui_version = "v0.3.10"
comfyui_repo = "https://github.com/Comfy-Org/ComfyUI"
python_version = "3.12"
torch_backends = ["cpu"]

[tool.comfydock.nodes.impact]
source = "registry"
registry_id = "comfyui-impact-pack"
version = "8.8.1"

[tool.comfydock.nodes.my-git-node]
source = "git"
repository = "https://github.com/someone/my-node"
rev = "main"

[tool.comfydock.models.sd15]
hash = "blake3:7c497c497c497c497c497c497c497c497c497c497c497c497c497c497c497c49"
category = "checkpoints"
filename = "v1-5.safetensors"
sources = [{ type = "url", url = "https://example.com/sd15.safetensors" }]

[tool.comfydock.workflows.tracked.w]
file = "workflows/w.json"
requires = { nodes = ["impact"], models = ["sd15"] }
"#;

const LOCK: &str = r#"version = 1
inputs = "blake3:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

[comfyui]
repo = "https://github.com/Comfy-Org/ComfyUI"
rev = "v0.3.10"
commit = "0123456789abcdef0123456789abcdef01234567"

[python]
version = "3.12"
inputs = "blake3:1111111111111111111111111111111111111111111111111111111111111111"
uv_lock = "blake3:0000000000000000000000000000000000000000000000000000000000000000"
torch_backends = ["cpu"]

[nodes.impact]
source = "registry"
registry_id = "comfyui-impact-pack"
version = "8.8.1"
url = "https://x/impact.zip"
sha256 = "sha256:5555555555555555555555555555555555555555555555555555555555555555"
tree = "blake3:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

[nodes.my-git-node]
source = "git"
repository = "https://github.com/someone/my-node"
rev = "main"
commit = "89abcdef0123456789abcdef0123456789abcdef"
tree = "blake3:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

[models.sd15]
blake3 = "blake3:7c497c497c497c497c497c497c497c497c497c497c497c497c497c497c497c49"
category = "checkpoints"
filename = "v1-5.safetensors"
"#;

/// Pieces that make text interesting to a parser: quotes, separators, escapes, TOML syntax.
fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("..".to_string()),
        Just("/".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("\n".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("=".to_string()),
        Just("-".to_string()),
        Just("é".to_string()),
        Just("0".to_string()),
        Just("source = \"local\"".to_string()),
        Just("[tool.comfydock.nodes.\"../x\"]".to_string()),
        "[a-z\\.\\-_/ ]{0,8}",
    ]
}

/// `text` with up to 4 random spans replaced by tokens (at char boundaries).
fn mutated(text: &'static str) -> impl Strategy<Value = String> {
    let len = text.chars().count();
    prop::collection::vec((0..len, 0..6usize, token()), 1..5).prop_map(move |edits| {
        let mut chars: Vec<char> = text.chars().collect();
        for (at, cut, insert) in edits {
            let at = at.min(chars.len());
            let end = (at + cut).min(chars.len());
            chars.splice(at..end, insert.chars());
        }
        chars.into_iter().collect()
    })
}

fn stays_inside(rel: &str) -> bool {
    let root = Path::new("/root/folder");
    let joined = root.join(rel);
    joined.starts_with(root) && joined.components().skip(3).all(|c| matches!(c, Component::Normal(_)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn manifests_parse_and_round_trip_or_are_refused(text in mutated(MANIFEST)) {
        if let Ok(m) = Manifest::parse(Path::new("pyproject.toml"), &text) {
            let again = Manifest::parse(Path::new("pyproject.toml"), &m.render()).expect("rendered manifest parses");
            prop_assert_eq!(again.config(), m.config());
            let _ = comfydock::resolve::inputs_hash(&text);
            for id in m.config().nodes.keys() {
                prop_assert!(stays_inside(id.as_str()));
            }
        }
    }

    #[test]
    fn locks_parse_and_round_trip_or_are_refused(text in mutated(LOCK)) {
        if let Ok(lock) = Lock::parse(Path::new("comfydock.lock"), &text) {
            let rendered = lock.render();
            let again = Lock::parse(Path::new("comfydock.lock"), &rendered).expect("rendered lock parses");
            prop_assert_eq!(&again, &lock);
            prop_assert_eq!(again.render(), rendered);
            for (key, model) in &lock.models {
                prop_assert!(stays_inside(key.as_str()));
                prop_assert!(stays_inside(model.link_path().as_str()));
            }
            for node in lock.nodes.values() {
                let _ = node.describe();
            }
        }
    }

    #[test]
    fn typed_names_and_paths_cannot_leave_their_folder(s in "\\PC{0,24}|[a-z\\./\\\\]{0,12}") {
        if let Ok(id) = s.parse::<NodeId>() {
            prop_assert!(stays_inside(id.as_str()) && !id.contains('/'));
        }
        if let Ok(key) = s.parse::<ModelKey>() {
            prop_assert!(stays_inside(key.as_str()));
        }
        if let Ok(file) = s.parse::<ModelFile>() {
            prop_assert!(stays_inside(file.as_str()) && !file.split('/').any(|c| c.starts_with('.')));
        }
        if let Ok(path) = s.parse::<RelPath>() {
            prop_assert!(stays_inside(path.as_str()));
        }
        if let Some(id) = NodeId::sanitize(&s) {
            prop_assert!(stays_inside(id.as_str()));
        }
    }

    #[test]
    fn archives_never_write_outside_their_root(
        names in prop::collection::vec(
            prop::collection::vec(prop_oneof![Just(".."), Just("."), Just(""), Just("a"), Just("b"), Just("/")], 1..5),
            1..6,
        )
    ) {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("pack.tar.gz");
        let file = std::fs::File::create(&archive).unwrap();
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(file, flate2::Compression::fast()));
        for parts in &names {
            let name = parts.join("/");
            let mut header = tar::Header::new_old();
            // Raw bytes: the tar crate's own path setter would refuse `..`.
            let raw = &mut header.as_old_mut().name;
            let bytes = name.as_bytes();
            let n = bytes.len().min(raw.len() - 1);
            raw[..n].copy_from_slice(&bytes[..n]);
            header.set_size(1);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_cksum();
            tar.append(&header, &b"x"[..]).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
        let root = dir.path().join("root");
        let _ = comfydock::store::extract(&archive, &root, comfydock::store::Limits::default());
        let outside: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "pack.tar.gz" && n != "root")
            .collect();
        prop_assert!(outside.is_empty(), "{:?} written outside", outside);
        prop_assert!(!Path::new("/a").exists() && !Path::new("/b").exists());
    }
}
