//! `workflow resolve NAME [--auto] [--json]`: what a tracked workflow needs and the manifest does
//! not declare becomes manifest edits (node packs, registry or git; models found in the index,
//! with their download hints as sources), then lock and apply as `node add` does. Several packs
//! for one node type: a prompt on a terminal, the best ranked with `--auto`, else the choices
//! are listed and nothing changes. Anything that cannot be resolved also changes nothing.

use super::{ExitStatus, Globals};
use crate::manifest::{Manifest, ModelSource, ModelSpec, NodeSpec, TrackedWorkflow};
use crate::resolve::Update;
use crate::types::{Blake3, ModelFile, ModelKey, NodeId, RelPath};
use crate::workflow::requires::provides;
use crate::workflow::resolve::{ModelResolution, NodeRule, Resolution};
use miette::{Result, miette};
use std::io::IsTerminal;

#[derive(serde::Serialize)]
struct Proposal {
    workflow: String,
    nodes: Vec<NodeEdit>,
    models: Vec<ModelEdit>,
    /// Node types with several candidate packs and no decision (no terminal, no --auto).
    choices: Vec<Choice>,
    unresolved: Vec<String>,
}

#[derive(serde::Serialize)]
struct NodeEdit {
    node_type: String,
    id: String,
    spec: NodeSpec,
    /// Why this pack: the rule that chose it.
    reason: String,
    /// The other packs that provide the node type, best first, each with why it ranks there.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    candidates: Vec<Candidate>,
}

#[derive(serde::Serialize, Clone)]
struct Candidate {
    pack: String,
    reason: String,
}

#[derive(serde::Serialize)]
struct ModelEdit {
    path: String,
    key: String,
    spec: ModelSpec,
}

#[derive(serde::Serialize)]
struct Choice {
    node_type: String,
    packs: Vec<String>,
    candidates: Vec<Candidate>,
}

/// Which workflow `workflow resolve` reads: a tracked one (whose `requires` it also records), or
/// a file (the ComfyUI panel's open graph), whose needs are added without tracking it.
pub enum Target<'a> {
    Tracked(&'a str),
    File(&'a std::path::Path),
}

pub fn resolve(g: &Globals, target: Target, auto: bool, json: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "workflow resolve")?;
    super::reconcile::report_recovery(&session.recovery);
    let mut manifest = session.manifest()?;
    let (name, tracked, bytes, label) = match target {
        Target::Tracked(raw) => {
            let name = super::workflow_track::parse_name(raw)?;
            let tracked = manifest.config().workflows.tracked.get(&name).cloned().ok_or_else(|| {
                miette!(
                    code = "comfydock::workflow::not_tracked",
                    "workflow `{name}` is not tracked"
                )
            })?;
            let path = session.env.cec.join(tracked.file.as_str());
            let bytes =
                crate::workflow::read_tracked(&path).map_err(|e| miette!("cannot read {}: {e}", path.display()))?;
            let label = format!(".cec/{}", tracked.file);
            (name.to_string(), Some((name, tracked)), bytes, label)
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
    let resolution = super::workflow_track::resolution_of(g, &ws, &session.env, &manifest, &bytes, &label)?;
    let interactive = !auto && !json && std::io::stdin().is_terminal();
    let proposal = propose(&name, &resolution, &manifest, auto, interactive)?;
    if json {
        super::print_report(&proposal);
    }
    if !proposal.choices.is_empty() || !proposal.unresolved.is_empty() {
        if !json {
            for c in &proposal.choices {
                errln!("{}: provided by several packs:", c.node_type);
                for cand in &c.candidates {
                    errln!("  {} ({})", cand.pack, cand.reason);
                }
            }
            for u in &proposal.unresolved {
                errln!("cannot resolve {u}");
            }
        }
        errln!(
            "Nothing changed.{}",
            if proposal.choices.is_empty() {
                ""
            } else {
                " Pass --auto to take the best ranked pack, or run it on a terminal to choose."
            }
        );
        return Ok(ExitStatus::Failure);
    }
    if json {
        return Ok(ExitStatus::Success);
    }
    if proposal.nodes.is_empty() && proposal.models.is_empty() {
        errln!("`{name}` needs nothing the manifest does not declare.");
        return Ok(ExitStatus::Success);
    }
    for n in &proposal.nodes {
        manifest.set_node(&n.id, &n.spec);
        errln!("node {} for {}", n.id, n.node_type);
        if !n.candidates.is_empty() {
            let others: Vec<String> = n
                .candidates
                .iter()
                .map(|c| format!("{} ({})", c.pack, c.reason))
                .collect();
            errln!(
                "  {} packs provide {}; chose {} ({}) over {}",
                n.candidates.len() + 1,
                n.node_type,
                n.id,
                n.reason,
                others.join(", ")
            );
        }
    }
    for m in &proposal.models {
        manifest.set_model(&m.key, &m.spec);
        errln!("model {} for {}", m.key, m.path);
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
    super::edit::edit_and_apply(
        &mut session,
        &manifest,
        Update::Nothing,
        false,
        &format!("Resolve workflow {name}"),
    )?;
    errln!("Resolved what `{name}` needs.");
    Ok(ExitStatus::Success)
}

fn propose(name: &str, r: &Resolution, manifest: &Manifest, auto: bool, interactive: bool) -> Result<Proposal> {
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
        let chosen = match packs.len() {
            0 => {
                proposal
                    .unresolved
                    .push(format!("node type {} (no known pack provides it)", n.node_type));
                continue;
            }
            1 => packs.remove(0),
            _ if auto => packs.remove(0),
            _ if interactive => choose(&n.node_type, &packs)?,
            _ => {
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

fn choose(node_type: &str, packs: &[String]) -> Result<String> {
    use std::io::{BufRead, Write};
    errln!("{node_type} is provided by several packs:");
    for (i, p) in packs.iter().enumerate() {
        errln!("  {}) {p}", i + 1);
    }
    err!("Which one? [1-{}, default 1] ", packs.len());
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    let answer = answer.trim();
    if answer.is_empty() {
        return Ok(packs.first().cloned().unwrap_or_default());
    }
    answer
        .parse::<usize>()
        .ok()
        .and_then(|i| packs.get(i.checked_sub(1)?))
        .cloned()
        .ok_or_else(|| miette!("`{answer}` is not one of the choices; nothing changed"))
}
