//! What a workflow needs, resolved: each node type to ComfyUI itself or a node pack, each model
//! reference to a file that exists or a place to download it. Pure: the environment's knowledge
//! comes in through two traits, [`NodeProviders`] (which packs provide a node type) and
//! [`ModelLookup`] (the model index). Every answer says which rule matched.

use super::analysis::{Analysis, ModelRef};
use serde::Serialize;

/// "Which packs provide this node type": installed packs' node lists, registry node lists,
/// node mappings. Implemented over `.metadata/node_index.db` by the registry-data layer.
pub trait NodeProviders {
    /// Packs this workspace has that provide `node_type`: declared in the environment first,
    /// then installed in another of its environments. They win over the workflow's own stamps,
    /// since they are what will really run.
    fn local(&self, _node_type: &str) -> Vec<Provider> {
        Vec::new()
    }
    /// Packs known from registry data and mappings that provide `node_type`, best first.
    fn providers(&self, node_type: &str) -> Vec<Provider>;
}

/// Knows no packs: resolution stops at builtins and the workflow's own pack hints.
pub struct NoProviders;

impl NodeProviders for NoProviders {
    fn providers(&self, _: &str) -> Vec<Provider> {
        Vec::new()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provider {
    /// Registry id, or a git URL / `owner/repo`.
    pub pack: String,
    pub version: Option<String>,
    /// Where the answer comes from: `installed`, `registry`, `mapping`.
    pub source: String,
    /// Why it is suggested, for the user.
    pub reason: String,
}

/// The model files an environment can see.
pub trait ModelLookup {
    /// The file whose content has this hash (`sha256` or `blake3`, lowercase hex).
    fn by_hash(&self, hash_type: &str, hash: &str) -> Option<FoundModel>;
    /// The file at `path` relative to one of `category`'s folders.
    fn by_relative_path(&self, category: &str, path: &str) -> Option<FoundModel>;
    /// Files with exactly this file name, anywhere.
    fn by_file_name(&self, file_name: &str) -> Vec<FoundModel>;
}

/// Knows no model files (a workspace without a model index): every model is resolved by its
/// download hint or not at all.
pub struct NoModels;

impl ModelLookup for NoModels {
    fn by_hash(&self, _: &str, _: &str) -> Option<FoundModel> {
        None
    }
    fn by_relative_path(&self, _: &str, _: &str) -> Option<FoundModel> {
        None
    }
    fn by_file_name(&self, _: &str) -> Vec<FoundModel> {
        Vec::new()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundModel {
    pub path: String,
    pub blake3: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeRule {
    Builtin,
    /// A pack the environment declares, or another environment of the workspace has installed.
    Installed,
    CnrId,
    AuxId,
    Provider,
    Unresolved,
}

#[derive(Debug, Clone, Serialize)]
pub struct NodeResolution {
    pub node_type: String,
    pub rule: NodeRule,
    pub pack: Option<String>,
    pub version: Option<String>,
    pub reason: String,
    /// Further packs that could provide it (from [`NodeProviders`]), best first.
    pub candidates: Vec<Provider>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelRule {
    Hash,
    RelativePath,
    FileName,
    DownloadHint,
    Unresolved,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelResolution {
    /// The path as the workflow names it (`\` normalised).
    pub path: String,
    pub category: String,
    pub rule: ModelRule,
    pub found: Option<FoundModel>,
    pub url: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Resolution {
    pub nodes: Vec<NodeResolution>,
    pub models: Vec<ModelResolution>,
}

impl Resolution {
    pub fn unresolved_nodes(&self) -> usize {
        self.nodes.iter().filter(|n| n.rule == NodeRule::Unresolved).count()
    }
    pub fn unresolved_models(&self) -> usize {
        self.models.iter().filter(|m| m.rule == ModelRule::Unresolved).count()
    }
}

pub fn resolve(a: &Analysis, providers: &dyn NodeProviders, models: &dyn ModelLookup) -> Resolution {
    let nodes = a.node_types.iter().map(|t| node(t, providers)).collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for m in &a.models {
        if seen.insert((m.path.clone(), m.category.clone())) {
            out.push(model(a, m, models));
        }
    }
    for e in &a.embeddings {
        let path = e.name.replace('\\', "/");
        if seen.insert((path.clone(), "embeddings".to_string())) {
            out.push(embedding(&path, models));
        }
    }
    Resolution { nodes, models: out }
}

fn node(t: &super::NodeType, providers: &dyn NodeProviders) -> NodeResolution {
    let base = |rule, pack: Option<String>, version: Option<String>, reason: String| NodeResolution {
        node_type: t.name.clone(),
        rule,
        pack,
        version,
        reason,
        candidates: Vec::new(),
    };
    if t.builtin {
        let why = match t.builtin_by {
            Some("cnr_id") => "its nodes are stamped cnr_id comfy-core",
            _ => "ComfyUI provides it",
        };
        return base(NodeRule::Builtin, None, None, why.to_string());
    }
    let local = providers.local(&t.name);
    if let Some(best) = local.first() {
        return NodeResolution {
            node_type: t.name.clone(),
            rule: NodeRule::Installed,
            pack: Some(best.pack.clone()),
            version: best.version.clone(),
            reason: best.reason.clone(),
            candidates: local.iter().skip(1).cloned().collect(),
        };
    }
    // Newest stamp wins: hints are sorted, so the last of a pack's versions is the highest.
    if let Some(h) = t
        .packs
        .iter()
        .rev()
        .find(|h| h.cnr_id.as_deref().is_some_and(|c| c != "comfy-core"))
    {
        return base(
            NodeRule::CnrId,
            h.cnr_id.clone(),
            h.ver.clone(),
            "the workflow's nodes carry this registry id (cnr_id)".to_string(),
        );
    }
    if let Some(h) = t.packs.iter().rev().find(|h| h.aux_id.is_some()) {
        return base(
            NodeRule::AuxId,
            h.aux_id.as_ref().map(|a| format!("https://github.com/{a}")),
            h.ver.clone(),
            "the workflow's nodes carry this GitHub repository (aux_id)".to_string(),
        );
    }
    let candidates = providers.providers(&t.name);
    match candidates.first() {
        Some(best) => NodeResolution {
            node_type: t.name.clone(),
            rule: NodeRule::Provider,
            pack: Some(best.pack.clone()),
            version: best.version.clone(),
            reason: best.reason.clone(),
            candidates: candidates.iter().skip(1).cloned().collect(),
        },
        None => base(
            NodeRule::Unresolved,
            None,
            None,
            "no known pack provides this node type".to_string(),
        ),
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn model(a: &Analysis, m: &ModelRef, models: &dyn ModelLookup) -> ModelResolution {
    let hints: Vec<&super::EmbeddedModel> = a
        .embedded_models
        .iter()
        .filter(|e| {
            let name = e.name.replace('\\', "/");
            name == m.path || file_name(&name) == file_name(&m.path)
        })
        .collect();
    let answer = |rule, found, url, reason: String| ModelResolution {
        path: m.path.clone(),
        category: m.category.clone(),
        rule,
        found,
        url,
        reason,
    };
    for h in &hints {
        if let (Some(hash), Some(kind)) = (&h.hash, &h.hash_type)
            && let Some(found) = models.by_hash(kind, hash)
        {
            return answer(
                ModelRule::Hash,
                Some(found),
                None,
                format!("the embedded {kind} hash matches an indexed file"),
            );
        }
    }
    if let Some(found) = models.by_relative_path(&m.category, &m.path) {
        return answer(
            ModelRule::RelativePath,
            Some(found),
            None,
            format!("found at {} in a {} folder", m.path, m.category),
        );
    }
    let by_name = models.by_file_name(file_name(&m.path));
    if let Some(found) = by_name.first() {
        let more = if by_name.len() > 1 {
            format!(" (and {} more with that name)", by_name.len() - 1)
        } else {
            String::new()
        };
        return answer(
            ModelRule::FileName,
            Some(found.clone()),
            None,
            format!(
                "an indexed file has the same name but is not in a {} folder{more}",
                m.category
            ),
        );
    }
    if let Some(url) = hints.iter().find_map(|h| h.url.clone()) {
        return answer(
            ModelRule::DownloadHint,
            None,
            Some(url),
            "the workflow embeds a download URL".to_string(),
        );
    }
    answer(
        ModelRule::Unresolved,
        None,
        None,
        "not in the model index and the workflow gives no download URL".to_string(),
    )
}

fn embedding(path: &str, models: &dyn ModelLookup) -> ModelResolution {
    let answer = |rule, found, reason: &str| ModelResolution {
        path: path.to_string(),
        category: "embeddings".to_string(),
        rule,
        found,
        url: None,
        reason: reason.to_string(),
    };
    // The extension is optional in prompts; ComfyUI tries these.
    let has_ext = super::is_model_like(path);
    let candidates: Vec<String> = if has_ext {
        vec![path.to_string()]
    } else {
        [".safetensors", ".pt", ".bin"]
            .iter()
            .map(|e| format!("{path}{e}"))
            .collect()
    };
    for c in &candidates {
        if let Some(found) = models.by_relative_path("embeddings", c) {
            return answer(ModelRule::RelativePath, Some(found), "found in an embeddings folder");
        }
    }
    for c in &candidates {
        if let Some(found) = models.by_file_name(file_name(c)).into_iter().next() {
            return answer(ModelRule::FileName, Some(found), "an indexed file has the same name");
        }
    }
    answer(ModelRule::Unresolved, None, "not in the model index")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{Builtins, analyze};

    struct Index;
    impl ModelLookup for Index {
        fn by_hash(&self, t: &str, h: &str) -> Option<FoundModel> {
            (t == "sha256" && h == "ab12").then(|| FoundModel {
                path: "/m/other/name.safetensors".into(),
                blake3: None,
            })
        }
        fn by_relative_path(&self, c: &str, p: &str) -> Option<FoundModel> {
            (c == "vae" && p == "sub/v.safetensors").then(|| FoundModel {
                path: "/m/vae/sub/v.safetensors".into(),
                blake3: None,
            })
        }
        fn by_file_name(&self, n: &str) -> Vec<FoundModel> {
            if n == "l.safetensors" {
                vec![FoundModel {
                    path: "/m/x/l.safetensors".into(),
                    blake3: None,
                }]
            } else {
                vec![]
            }
        }
    }

    #[test]
    fn each_rule_in_order() {
        let text = r#"{"nodes":[
          {"id":1,"type":"CheckpointLoaderSimple","widgets_values":["c.safetensors"],
           "properties":{"models":[{"name":"c.safetensors","hash":"AB12","hash_type":"sha256","url":"https://x/c"}]}},
          {"id":2,"type":"VAELoader","widgets_values":["sub\\v.safetensors"]},
          {"id":3,"type":"LoraLoader","widgets_values":["l.safetensors"]},
          {"id":4,"type":"UNETLoader","widgets_values":["u.safetensors"],"properties":{"models":[{"name":"u.safetensors","url":"https://x/u"}]}},
          {"id":5,"type":"UpscaleModelLoader","widgets_values":["gone.pth"]},
          {"id":6,"type":"FancyNode","properties":{"cnr_id":"fancy","ver":"1.0.0"}},
          {"id":7,"type":"RepoNode","properties":{"aux_id":"me/repo"}},
          {"id":8,"type":"LostNode"}]}"#;
        let a = analyze(text.as_bytes(), "t", Builtins::shipped()).unwrap();
        let r = resolve(&a, &NoProviders, &Index);
        let rule = |p: &str| r.models.iter().find(|m| m.path == p).map(|m| m.rule);
        assert_eq!(rule("c.safetensors"), Some(ModelRule::Hash));
        assert_eq!(rule("sub/v.safetensors"), Some(ModelRule::RelativePath));
        assert_eq!(rule("l.safetensors"), Some(ModelRule::FileName));
        assert_eq!(rule("u.safetensors"), Some(ModelRule::DownloadHint));
        assert_eq!(rule("gone.pth"), Some(ModelRule::Unresolved));
        let node = |t: &str| {
            r.nodes
                .iter()
                .find(|n| n.node_type == t)
                .map(|n| (n.rule, n.pack.clone()))
        };
        assert_eq!(node("VAELoader"), Some((NodeRule::Builtin, None)));
        assert_eq!(node("FancyNode"), Some((NodeRule::CnrId, Some("fancy".into()))));
        assert_eq!(
            node("RepoNode"),
            Some((NodeRule::AuxId, Some("https://github.com/me/repo".into())))
        );
        assert_eq!(node("LostNode").map(|n| n.0), Some(NodeRule::Unresolved));
    }
}
