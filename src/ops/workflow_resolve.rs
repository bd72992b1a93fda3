//! `workflow resolve`: what a workflow needs and the manifest does not declare, as manifest edits
//! (node packs, registry or git; models found in the index, with their download hints as
//! sources), then lock and apply through the one edit transaction. Several packs for one node
//! type are decided by the caller ([`Decide`]); anything left undecided or unresolvable changes
//! nothing.

use super::edit::{Edited, Reach};
use crate::manifest::{Manifest, ModelSource, ModelSpec, NodeSpec, TrackedWorkflow};
use crate::plan::Plan;
use crate::reconcile::Session;
use crate::resolve::Update;
use crate::types::{Blake3, ModelFile, ModelKey, NodeId, RelPath, WorkflowName};
use crate::workflow::requires::provides;
use crate::workflow::resolve::{ModelResolution, NodeRule, Resolution};
use miette::{Result, miette};
use serde::Serialize;
use std::path::Path;

/// What `workflow resolve --json` prints: the edits it would make, and what stops it.
#[derive(Debug, Serialize)]
pub struct Proposal {
    pub workflow: String,
    pub nodes: Vec<NodeEdit>,
    pub models: Vec<ModelEdit>,
    /// Node types with several candidate packs and no decision (no terminal, no --auto).
    pub choices: Vec<Choice>,
    pub unresolved: Vec<String>,
}

impl Proposal {
    /// Nothing stands in the way of applying it.
    pub fn is_decided(&self) -> bool {
        self.choices.is_empty() && self.unresolved.is_empty()
    }

    /// The manifest already declares everything the workflow needs.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.models.is_empty()
    }
}

#[derive(Debug, Serialize)]
pub struct NodeEdit {
    pub node_type: String,
    pub id: String,
    pub spec: NodeSpec,
    /// Why this pack: the rule that chose it.
    pub reason: String,
    /// The other packs that provide the node type, best first, each with why it ranks there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Candidate>,
}

#[derive(Debug, Serialize, Clone)]
pub struct Candidate {
    pub pack: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct ModelEdit {
    pub path: String,
    pub key: String,
    pub spec: ModelSpec,
}

#[derive(Debug, Serialize)]
pub struct Choice {
    pub node_type: String,
    pub packs: Vec<String>,
    pub candidates: Vec<Candidate>,
}

/// Which workflow is resolved: a tracked one (whose `requires` is also recorded), or a file
/// (the ComfyUI panel's open graph), whose needs are added without tracking it.
pub enum Target<'a> {
    Tracked(&'a WorkflowName),
    File(&'a Path),
}

/// How a node type that several packs provide is decided.
pub enum Decide<'a> {
    /// The best ranked pack (`--auto`).
    Best,
    /// The caller asks (a prompt on a terminal): given the node type and the packs, best first.
    Ask(&'a mut dyn FnMut(&str, &[String]) -> Result<String>),
    /// Left as a [`Choice`] in the proposal, and nothing changes.
    Leave,
}

/// A proposal with what applying it needs: the manifest it edits and the tracked entry it
/// records the workflow's `requires` in.
pub struct Resolve {
    pub proposal: Proposal,
    manifest: Manifest,
    resolution: Resolution,
    tracked: Option<(WorkflowName, TrackedWorkflow)>,
}

/// Reads the workflow, resolves it against the environment and proposes the edits.
pub fn propose(session: &Session, target: Target, decide: Decide) -> Result<Resolve> {
    let manifest = session.manifest()?;
    let (name, tracked, bytes, label) = match target {
        Target::Tracked(name) => {
            let (tracked, bytes) = super::workflow_files::read_tracked(&manifest, &session.env, name)?;
            let label = format!(".cec/{}", tracked.file);
            (name.to_string(), Some((name.clone(), tracked.clone())), bytes, label)
        }
        Target::File(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                miette!(
                    code = "comfydock::workflow::unreadable",
                    "cannot read {}: {e}",
                    path.display()
                )
            })?;
            let label = path.display().to_string();
            (label.clone(), None, bytes, label)
        }
    };
    let resolution = super::workflow_needs::resolution(session.ws, &session.env, &manifest, &bytes, &label)?;
    let proposal = proposal(&name, &resolution, &manifest, decide)?;
    Ok(Resolve {
        proposal,
        manifest,
        resolution,
        tracked,
    })
}

/// Applies a decided proposal: the manifest edits, the tracked workflow's `requires`, then
/// lock and apply through the one edit transaction (a failure puts `.cec` back).
pub fn apply(session: &mut Session, resolve: Resolve, on_plan: &mut dyn FnMut(&Plan)) -> Result<Edited> {
    let Resolve {
        proposal,
        mut manifest,
        resolution,
        tracked,
    } = resolve;
    for n in &proposal.nodes {
        manifest.set_node(&n.id, &n.spec);
    }
    for m in &proposal.models {
        manifest.set_model(&m.key, &m.spec);
    }
    if let Some((key, tracked)) = &tracked {
        let needs = crate::workflow::requires::needs(&resolution, manifest.config());
        manifest.set_workflow(
            key,
            &TrackedWorkflow {
                file: tracked.file.clone(),
                requires: needs.requires,
                version: None,
                description: None,
                test: None,
            },
        );
    }
    let message = format!("Resolve workflow {}", proposal.workflow);
    super::edit::edit_and_apply(session, &manifest, Update::Nothing, Reach::Apply, &message, on_plan)
}

fn proposal(name: &str, r: &Resolution, manifest: &Manifest, mut decide: Decide) -> Result<Proposal> {
    let config = manifest.config();
    let mut proposal = Proposal {
        workflow: name.to_string(),
        nodes: Vec::new(),
        models: Vec::new(),
        choices: Vec::new(),
        unresolved: Vec::new(),
    };
    for n in r.nodes.iter().filter(|n| n.rule != NodeRule::Builtin) {
        let mut ranked: Vec<Candidate> = n
            .pack
            .iter()
            .map(|p| Candidate {
                pack: p.clone(),
                reason: n.reason.clone(),
            })
            .collect();
        for c in &n.candidates {
            if !ranked.iter().any(|r| r.pack == c.pack) {
                ranked.push(Candidate {
                    pack: c.pack.clone(),
                    reason: c.reason.clone(),
                });
            }
        }
        let mut packs: Vec<String> = ranked.iter().map(|c| c.pack.clone()).collect();
        let declared = |pack: &String| config.nodes.iter().any(|(id, spec)| provides(id, spec, pack));
        let planned = |pack: &String, p: &Proposal| p.nodes.iter().any(|e| provides(&e.id, &e.spec, pack));
        if packs.iter().any(|p| declared(p) || planned(p, &proposal)) {
            continue;
        }
        let chosen = match (packs.len(), &mut decide) {
            (0, _) => {
                proposal
                    .unresolved
                    .push(format!("node type {} (no known pack provides it)", n.node_type));
                continue;
            }
            (1, _) | (_, Decide::Best) => packs.remove(0),
            (_, Decide::Ask(ask)) => ask(&n.node_type, &packs)?,
            (_, Decide::Leave) => {
                proposal.choices.push(Choice {
                    node_type: n.node_type.clone(),
                    packs,
                    candidates: ranked,
                });
                continue;
            }
        };
        // A workflow node stamped with its registry id and version gets that version.
        let version = (n.rule == NodeRule::CnrId && n.pack.as_deref() == Some(chosen.as_str()))
            .then(|| n.version.clone())
            .flatten();
        match node_spec(&chosen, version.as_deref()) {
            Some((id, spec)) => proposal.nodes.push(NodeEdit {
                node_type: n.node_type.clone(),
                id: id.to_string(),
                spec,
                reason: ranked
                    .iter()
                    .find(|c| c.pack == chosen)
                    .map(|c| c.reason.clone())
                    .unwrap_or_default(),
                candidates: ranked.into_iter().filter(|c| c.pack != chosen).collect(),
            }),
            None => proposal.unresolved.push(format!(
                "node type {} (pack `{chosen}` is not a usable id or URL)",
                n.node_type
            )),
        }
    }
    for m in &r.models {
        // The path as the workflow writes it, subfolders included (`hyvid/vae.safetensors`).
        let file = m.path.replace('\\', "/");
        let file = file.as_str();
        let already = config.models.values().any(|spec| {
            spec.filename().as_deref() == Some(file)
                || m.found
                    .as_ref()
                    .and_then(|f| f.blake3.as_deref())
                    .is_some_and(|h| spec.hash.hex() == h.trim_start_matches("blake3:"))
        });
        if already || proposal.models.iter().any(|e| e.path == m.path) {
            continue;
        }
        match model_spec(m, file) {
            Some((key, spec)) => proposal.models.push(ModelEdit {
                path: m.path.clone(),
                key: key.to_string(),
                spec,
            }),
            None => proposal.unresolved.push(format!(
                "model {}/{} (no indexed file has it; put it in a model folder and run `comfydock model scan`)",
                m.category, m.path
            )),
        }
    }
    Ok(proposal)
}

/// A manifest node for a resolved pack: a registry id (at `version` when the workflow pins
/// one), or a git repository (a URL, or an `owner/repo` on GitHub) named as the repository is.
fn node_spec(pack: &str, version: Option<&str>) -> Option<(NodeId, NodeSpec)> {
    let identity = crate::types::PackIdentity::named(pack);
    if let Some(repo) = identity.repo() {
        let id = NodeId::sanitize(repo.name())?;
        let spec = NodeSpec::git(repo.as_str().parse().ok()?, None);
        return Some((id, spec));
    }
    let id: NodeId = pack.parse().ok()?;
    let spec = NodeSpec::registry(Some(id.clone()), version.and_then(|v| v.parse().ok()));
    Some((id, spec))
}

/// A declared model for a reference the index found (its content hash is known); the
/// workflow's download hint becomes its source.
fn model_spec(m: &ModelResolution, file: &str) -> Option<(ModelKey, ModelSpec)> {
    let hash = m.found.as_ref()?.blake3.as_deref()?;
    let hash = Blake3::from_hex(hash.trim_start_matches("blake3:")).ok()?;
    let name = file.rsplit('/').next().unwrap_or(file);
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let key = ModelKey::sanitize(stem)?;
    let spec = ModelSpec {
        name: None,
        hash,
        size: None,
        category: m.category.parse::<RelPath>().ok(),
        filename: file.parse::<ModelFile>().ok(),
        local_path: None,
        sources: m
            .url
            .iter()
            .map(|url| ModelSource::Url {
                url: url.clone(),
                sha256: None,
            })
            .collect(),
    };
    Some((key, spec))
}
