//! What an analysis reports, and the collector the graph walkers fill in.

use super::embedded::Container;
use super::tables::{self, Builtins, LoaderInput, Table};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The litegraph graph the ComfyUI frontend saves.
    Ui,
    /// The prompt format (`Export (API)`, `POST /prompt`).
    Api,
}

/// Everything one workflow needs, as read from it.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub format: Format,
    /// The UI file's `version` (0.4 or 1); none for API workflows.
    pub schema_version: Option<f64>,
    /// Where the workflow was found: a JSON file, or a media file's metadata.
    pub container: Container,
    /// The metadata key it was read from in a media file (`workflow`, `prompt`, ...).
    pub embedded_key: Option<String>,
    /// Every node class used, in name order, with where it was found.
    pub node_types: Vec<NodeType>,
    /// Instantiated group-node types (`workflow>NAME`, legacy `workflow/NAME`).
    pub group_node_types: Vec<String>,
    /// Ids of subgraph definitions that are instantiated.
    pub subgraph_ids: Vec<String>,
    /// `extra.node_versions` as written (custom_nodes folder or `comfy-core` -> version).
    pub extra_node_versions: Option<serde_json::Value>,
    /// Model files named by loader inputs.
    pub models: Vec<ModelRef>,
    /// `models` lists embedded in the file (download hints).
    pub embedded_models: Vec<EmbeddedModel>,
    /// `embedding:NAME` references in prompt text.
    pub embeddings: Vec<EmbeddingRef>,
    /// Values that look like model files but no loader table explains.
    pub unmapped_model_like_values: Vec<Unmapped>,
    /// Ambiguities and oddities worth a look.
    pub notes: Vec<Note>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeType {
    pub name: String,
    pub builtin: bool,
    /// Why it counts as builtin: `list` (the builtin list) or `cnr_id` (stamped `comfy-core`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builtin_by: Option<&'static str>,
    /// How many nodes use it (inside definitions too).
    pub count: usize,
    /// Scopes it occurs in: `root`, `subgraph[NAME]`, `group-node[NAME]`.
    pub found_in: Vec<String>,
    /// Distinct pack stamps (`cnr_id`, `aux_id`, `ver`) on its nodes.
    pub packs: Vec<PackHint>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
pub struct PackHint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnr_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aux_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ver: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The loader node's own widget value (UI).
    Widget,
    /// The input of an API node.
    ApiInput,
    /// A subgraph instance's value for the subgraph input the loader is wired to.
    SubgraphInputWidget,
    /// A subgraph instance's promoted widget (`properties.proxyWidgets`).
    SubgraphProxyWidget,
    /// A group-node instance's value for the inner loader's widget.
    GroupNodeInstanceWidget,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelRef {
    /// As stored in the workflow.
    pub name: String,
    /// `name` with `\` turned into `/`: the path relative to the category folder.
    pub path: String,
    pub category: String,
    pub node_type: String,
    pub input: String,
    /// Which loader table explained it.
    pub table: Table,
    /// For custom loaders, the pack (`owner/repo`) that provides the loader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pack: Option<String>,
    pub sources: Vec<Source>,
    pub found_in: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmbeddedModel {
    pub name: String,
    pub directory: Option<String>,
    /// `directory` with legacy names mapped (`clip` -> `text_encoders`).
    pub category: Option<String>,
    pub url: Option<String>,
    pub hash: Option<String>,
    pub hash_type: Option<String>,
    /// `workflow`, `node:TYPE`, or `subgraph[NAME]`.
    pub scope: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct EmbeddingRef {
    pub name: String,
    pub node_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Unmapped {
    pub node_type: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    pub kind: NoteKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    Muted,
    Bypassed,
    WindowsPath,
    SubgraphInput,
    UndefinedSubgraph,
    UnusedSubgraph,
    UnusedGroupNode,
    EmptyGroupNodes,
    ManagerComponent,
    NodeVersions,
    EmbeddedModelMismatch,
    NoMeta,
    LinkedModelInput,
    Wrapper,
    NonFinite,
    Malformed,
    DepthLimit,
}

impl Analysis {
    pub fn node_type_names(&self) -> Vec<&str> {
        self.node_types.iter().map(|n| n.name.as_str()).collect()
    }

    pub fn custom_node_types(&self) -> Vec<&str> {
        self.node_types
            .iter()
            .filter(|n| !n.builtin)
            .map(|n| n.name.as_str())
            .collect()
    }
}

/// Filled by the UI and API walkers, then turned into an [`Analysis`].
pub(crate) struct Collector<'b> {
    builtins: &'b Builtins,
    types: BTreeMap<String, TypeAcc>,
    pub group_node_types: BTreeSet<String>,
    pub subgraph_ids: BTreeSet<String>,
    models: BTreeMap<(String, String, String), ModelRef>,
    pub embedded: Vec<EmbeddedModel>,
    embeddings: BTreeSet<EmbeddingRef>,
    unmapped: BTreeSet<Unmapped>,
    notes: Vec<Note>,
}

#[derive(Default)]
struct TypeAcc {
    count: usize,
    found_in: BTreeSet<String>,
    packs: BTreeSet<PackHint>,
}

/// Node types whose widgets hold prose, never file names (a URL in a note ends in
/// `.safetensors` too): the frontend's notes and packs' note variants (`Note Plus (mtb)`,
/// `CR Note`).
pub(crate) fn is_note(node_type: &str) -> bool {
    matches!(node_type, "Note" | "MarkdownNote") || node_type.starts_with("Note ") || node_type.ends_with("Note")
}

impl<'b> Collector<'b> {
    pub fn new(builtins: &'b Builtins) -> Self {
        Collector {
            builtins,
            types: BTreeMap::new(),
            group_node_types: BTreeSet::new(),
            subgraph_ids: BTreeSet::new(),
            models: BTreeMap::new(),
            embedded: Vec::new(),
            embeddings: BTreeSet::new(),
            unmapped: BTreeSet::new(),
            notes: Vec::new(),
        }
    }

    pub fn node(&mut self, node_type: &str, scope: &str, pack: Option<PackHint>) {
        let acc = self.types.entry(node_type.to_string()).or_default();
        acc.count += 1;
        acc.found_in.insert(scope.to_string());
        if let Some(p) = pack {
            acc.packs.insert(p);
        }
    }

    pub fn note(&mut self, kind: NoteKind, message: String) {
        let note = Note { kind, message };
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// A model file named by `row`'s input of a `node_type` node.
    pub fn model(&mut self, node_type: &str, input: &str, row: &LoaderInput, value: &str, source: Source, scope: &str) {
        if value.trim().is_empty() || is_no_file(value) {
            return;
        }
        if value.contains('\\') {
            self.note(
                NoteKind::WindowsPath,
                format!(
                    "{scope}: {node_type}.{input} value '{value}' uses Windows path separators; read as '{}'",
                    value.replace('\\', "/")
                ),
            );
        }
        let key = (value.to_string(), node_type.to_string(), input.to_string());
        let entry = self.models.entry(key).or_insert_with(|| ModelRef {
            name: value.to_string(),
            path: value.replace('\\', "/"),
            category: row.category.clone(),
            node_type: node_type.to_string(),
            input: input.to_string(),
            table: row.table,
            pack: row.pack.clone(),
            sources: Vec::new(),
            found_in: Vec::new(),
        });
        if !entry.sources.contains(&source) {
            entry.sources.push(source);
            entry.sources.sort();
        }
        if !entry.found_in.iter().any(|s| s == scope) {
            entry.found_in.push(scope.to_string());
        }
    }

    /// A string value no loader row claims: an unmapped model-like value and/or prompt text
    /// with embeddings.
    pub fn loose_string(&mut self, node_type: &str, value: &str) {
        if is_note(node_type) {
            return;
        }
        if tables::is_model_like(value) {
            self.unmapped.insert(Unmapped {
                node_type: node_type.to_string(),
                value: value.to_string(),
            });
        }
        for name in embeddings_in(value) {
            self.embeddings.insert(EmbeddingRef {
                name,
                node_type: node_type.to_string(),
            });
        }
    }

    /// Every string inside `value` (widget lists and objects), as loose strings.
    pub fn loose_value(&mut self, node_type: &str, value: &serde_json::Value, depth: usize) {
        if depth > 16 {
            return;
        }
        match value {
            serde_json::Value::String(s) => self.loose_string(node_type, s),
            serde_json::Value::Array(a) => a.iter().for_each(|v| self.loose_value(node_type, v, depth + 1)),
            serde_json::Value::Object(o) => o.values().for_each(|v| self.loose_value(node_type, v, depth + 1)),
            _ => {}
        }
    }

    /// Embedded `models` entries (top level, node properties, subgraph definitions).
    pub fn embedded_models(&mut self, list: &serde_json::Value, scope: &str) {
        let Some(items) = list.as_array() else { return };
        for item in items {
            let Some(name) = item.get("name").and_then(|v| v.as_str()) else {
                continue;
            };
            let text = |k: &str| item.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let directory = text("directory");
            self.embedded.push(EmbeddedModel {
                name: name.to_string(),
                category: directory.as_deref().map(tables::normalise_category),
                directory,
                url: text("url"),
                hash: text("hash").map(|h| h.to_ascii_lowercase()),
                hash_type: text("hash_type").map(|h| h.to_ascii_lowercase()),
                scope: scope.to_string(),
            });
        }
    }

    pub fn finish(mut self, format: Format, schema_version: Option<f64>, container: Container) -> Analysis {
        // An embedded list that names another folder than the loader: the widget is what
        // ComfyUI looks up, so the loader's category wins; say so.
        let mut mismatches = Vec::new();
        for e in &self.embedded {
            let Some(cat) = &e.category else { continue };
            let loader_cats: BTreeSet<&str> = self
                .models
                .values()
                .filter(|m| m.name == e.name || m.path == e.name)
                .map(|m| m.category.as_str())
                .collect();
            if !loader_cats.is_empty() && !loader_cats.contains(cat.as_str()) {
                mismatches.push(format!(
                    "embedded model '{}' says directory '{}' but its loader reads it from {}; the loader's folder is used",
                    e.name,
                    e.directory.as_deref().unwrap_or(cat),
                    loader_cats.into_iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
        for m in mismatches {
            self.note(NoteKind::EmbeddedModelMismatch, m);
        }
        let builtins = self.builtins;
        let node_types = self
            .types
            .into_iter()
            .map(|(name, acc)| {
                let stamped_core = acc.packs.iter().any(|p| p.cnr_id.as_deref() == Some("comfy-core"));
                let builtin_by = if builtins.contains(&name) {
                    Some("list")
                } else if stamped_core {
                    Some("cnr_id")
                } else {
                    None
                };
                NodeType {
                    builtin: builtin_by.is_some(),
                    builtin_by,
                    name,
                    count: acc.count,
                    found_in: acc.found_in.into_iter().collect(),
                    packs: acc.packs.into_iter().collect(),
                }
            })
            .collect();
        let mut models: Vec<ModelRef> = self.models.into_values().collect();
        models.sort_by(|a, b| {
            (a.table, &a.name, &a.node_type, &a.input).cmp(&(b.table, &b.name, &b.node_type, &b.input))
        });
        Analysis {
            format,
            schema_version,
            container,
            embedded_key: None,
            node_types,
            group_node_types: self.group_node_types.into_iter().collect(),
            subgraph_ids: self.subgraph_ids.into_iter().collect(),
            extra_node_versions: None,
            models,
            embedded_models: self.embedded,
            embeddings: self.embeddings.into_iter().collect(),
            unmapped_model_like_values: self.unmapped.into_iter().collect(),
            notes: self.notes,
        }
    }
}

/// Loader values that name no file (`None` in stackers, `Baked VAE`, VAELoader's pixel space).
fn is_no_file(value: &str) -> bool {
    matches!(value, "None" | "none" | "Baked VAE" | "[None]" | "pixel_space")
}

/// `embedding:NAME` references in prompt text, as ComfyUI's tokenizer finds them: at the start
/// of the text or of a weighted group, or after whitespace; NAME runs to the next whitespace,
/// a trailing comma and weight syntax (`(embedding:x:1.2)`) excluded.
pub fn embeddings_in(text: &str) -> Vec<String> {
    const MARK: &str = "embedding:";
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = text.get(from..).and_then(|t| t.find(MARK)) {
        let start = from + pos;
        from = start + MARK.len();
        let before = text.get(..start).and_then(|b| b.chars().next_back());
        if !matches!(
            before,
            None | Some('(') | Some(' ') | Some('\n') | Some('\t') | Some('\r')
        ) {
            continue;
        }
        let rest = text.get(from..).unwrap_or_default();
        let end = rest.find(|c: char| c.is_whitespace() || c == ')').unwrap_or(rest.len());
        let mut name = rest.get(..end).unwrap_or_default().trim_end_matches(',');
        if before == Some('(') {
            // `(embedding:NAME:1.2)`: the weight is not part of the name
            if let Some((n, w)) = name.rsplit_once(':')
                && w.parse::<f64>().is_ok()
            {
                name = n;
            }
        }
        if !name.is_empty() {
            out.push(name.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_in_prompts() {
        assert_eq!(embeddings_in("embedding:EasyNegative, worst"), ["EasyNegative"]);
        assert_eq!(embeddings_in("a (embedding:sub/bad.pt:1.2) b"), ["sub/bad.pt"]);
        assert_eq!(embeddings_in("x\nembedding:one embedding:two"), ["one", "two"]);
        assert!(embeddings_in("a,embedding:x").is_empty());
        assert!(embeddings_in("embedding:").is_empty());
    }
}
