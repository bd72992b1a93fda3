//! The data the analysis stands on, shipped in `data/`: ComfyUI's builtin node types and the
//! loader tables (which input of which node type holds a model file name, and in which folder
//! ComfyUI looks it up).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

const BUILTIN_NODES: &str = include_str!("data/builtin_nodes.txt");
const BUILTIN_LOADERS: &str = include_str!("data/builtin_loaders.tsv");
const CUSTOM_LOADERS: &str = include_str!("data/custom_loaders.tsv");

/// The node types ComfyUI itself provides, and where the list comes from.
#[derive(Debug, Clone)]
pub struct Builtins {
    names: HashSet<String>,
    /// e.g. "shipped list (ComfyUI a125cd84)" or "ComfyUI checkout at 1234abcd".
    pub source: String,
}

impl Builtins {
    /// The list shipped with comfydock (from a pinned ComfyUI commit).
    pub fn shipped() -> &'static Builtins {
        static SHIPPED: OnceLock<Builtins> = OnceLock::new();
        SHIPPED.get_or_init(|| {
            let commit = BUILTIN_NODES
                .lines()
                .next()
                .and_then(|l| l.split("commit ").nth(1))
                .and_then(|r| r.get(..8))
                .unwrap_or("unknown");
            Builtins::from_names(
                BUILTIN_NODES
                    .lines()
                    .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
                    .map(str::trim),
                format!("shipped list (ComfyUI {commit})"),
            )
        })
    }

    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>, source: String) -> Builtins {
        let mut names: HashSet<String> = names.into_iter().map(str::to_string).collect();
        // Frontend-only types are never in a backend's mapping but always exist.
        for virtual_type in ["Note", "MarkdownNote", "PrimitiveNode", "Reroute"] {
            names.insert(virtual_type.to_string());
        }
        Builtins { names, source }
    }

    pub fn contains(&self, node_type: &str) -> bool {
        self.names.contains(node_type)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Which table a loader row comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Table {
    /// ComfyUI's own loaders.
    Builtin,
    /// Loaders of popular custom packs.
    Custom,
}

/// Where a widget value sits in a UI node's `widgets_values`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WidgetIndex {
    At(usize),
    /// Every value ending in a weight extension (stackers with a varying widget count).
    Any,
}

#[derive(Debug, Clone)]
pub struct LoaderInput {
    pub input: String,
    pub index: WidgetIndex,
    pub category: String,
    pub table: Table,
    pub pack: Option<String>,
}

impl LoaderInput {
    /// Whether an API input name is this row's input (`lora_name_*` matches by prefix).
    pub fn matches_input(&self, name: &str) -> bool {
        match self.input.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => self.input == name,
        }
    }
}

/// Loader rows by node type, builtin rows first.
pub fn loaders() -> &'static HashMap<String, Vec<LoaderInput>> {
    static LOADERS: OnceLock<HashMap<String, Vec<LoaderInput>>> = OnceLock::new();
    LOADERS.get_or_init(|| {
        let mut map: HashMap<String, Vec<LoaderInput>> = HashMap::new();
        for (text, table) in [(BUILTIN_LOADERS, Table::Builtin), (CUSTOM_LOADERS, Table::Custom)] {
            for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
                let cols: Vec<&str> = line.split('\t').collect();
                let (Some(node), Some(input), Some(index), Some(category)) =
                    (cols.first(), cols.get(1), cols.get(2), cols.get(3))
                else {
                    continue;
                };
                let index = match *index {
                    "*" => WidgetIndex::Any,
                    n => match n.parse() {
                        Ok(i) => WidgetIndex::At(i),
                        Err(_) => continue,
                    },
                };
                map.entry(node.to_string()).or_default().push(LoaderInput {
                    input: input.to_string(),
                    index,
                    category: category.to_string(),
                    table,
                    pack: cols.get(4).map(|p| p.to_string()),
                });
            }
        }
        map
    })
}

/// Extensions of model weight files: ComfyUI's default set plus formats custom loaders read
/// (`.gguf`, `.onnx`, `.engine`, `.safetensors.index.json` is not one).
const WEIGHT_EXTENSIONS: &[&str] = &[
    "ckpt",
    "pt",
    "pt2",
    "bin",
    "pth",
    "safetensors",
    "pkl",
    "sft",
    "gguf",
    "onnx",
    "engine",
];

/// Whether `value` looks like a model file name: one line, not a URL, ending in a weight
/// extension (compared case-insensitively).
pub fn is_model_like(value: &str) -> bool {
    if value.len() > 512 || value.contains('\n') || value.contains("://") {
        return false;
    }
    let Some((stem, ext)) = value.rsplit_once('.') else {
        return false;
    };
    !stem.is_empty() && WEIGHT_EXTENSIONS.iter().any(|w| w.eq_ignore_ascii_case(ext))
}

/// Legacy category names ComfyUI still accepts, mapped to the current ones.
pub fn normalise_category(name: &str) -> String {
    match name {
        "clip" => "text_encoders".to_string(),
        "unet" => "diffusion_models".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_data_parses() {
        let b = Builtins::shipped();
        assert!(b.len() >= 500, "{}", b.len());
        assert!(b.contains("KSampler") && b.contains("Note"));
        assert!(b.source.contains("a125cd84"), "{}", b.source);
        let l = loaders();
        assert_eq!(l["CheckpointLoader"].len(), 2);
        assert!(matches!(l["TrainLoraNode"][0].index, WidgetIndex::At(13)));
        assert_eq!(l["LoRA Stacker"][0].table, Table::Custom);
        assert!(l["LoRA Stacker"][0].matches_input("lora_name_3"));
    }

    #[test]
    fn model_like_values() {
        assert!(is_model_like("sd15/x.SafeTensors"));
        assert!(is_model_like("face.onnx"));
        assert!(!is_model_like("https://x/y.safetensors"));
        assert!(!is_model_like(".pt"));
        assert!(!is_model_like("image.png"));
        assert!(!is_model_like("None"));
    }
}
