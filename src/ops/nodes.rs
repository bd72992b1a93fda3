//! The node packs of the desired state: `node add`, `remove`, `update` and `list`. Each edit is
//! one [`edit`](super::edit) transaction: the manifest is saved, locked and applied, or put back.

use super::edit::{Edited, Reach, edit_and_apply};
use super::typed;
use crate::manifest::{InstallScript, LockedNode, NodeSource, NodeSpec, PackSource};
use crate::observe::{InstalledNode, NodeState, observe};
use crate::plan::Plan;
use crate::reconcile::Session;
use crate::resolve::Update;
use crate::types::NodeId;
use crate::workspace::Workspace;
use miette::{Result, miette};
use serde::Serialize;
use std::path::Path;

/// What `node add` was given: sources as typed on the command line.
#[derive(Debug, Clone, Default)]
pub struct AddInput {
    /// Registry ids (`ID[@VERSION]`), git URLs or repository paths (`[@REV]`), or with `dev`
    /// folders to link.
    pub sources: Vec<String>,
    /// The manifest key, for a single source.
    pub name: Option<String>,
    pub dev: bool,
    /// Let the packs' `install.py` run when they are staged.
    pub run_install: bool,
}

/// A pack about to be declared: its manifest key and spec.
#[derive(Debug, Clone)]
pub struct NewNode {
    pub id: NodeId,
    pub spec: NodeSpec,
}

/// What a node edit did.
#[derive(Debug, Serialize)]
pub struct NodesEdited {
    /// The manifest keys the edit added, removed or updated.
    pub nodes: Vec<NodeId>,
    /// The generation the apply made (None: not applied, or nothing on disk had to change).
    pub generation: Option<u64>,
}

impl NodesEdited {
    fn new(nodes: Vec<NodeId>, edited: &Edited) -> Self {
        NodesEdited {
            nodes,
            generation: edited.generation.as_ref().map(|g| g.number),
        }
    }
}

/// Turns `node add`'s sources into manifest entries (before the environment is locked, so a
/// typo is refused without waiting for another comfydock).
pub fn parse_sources(ws: &Workspace, input: &AddInput) -> Result<Vec<NewNode>> {
    if input.name.is_some() && input.sources.len() > 1 {
        return Err(miette!(
            code = "comfydock::node::name",
            help = "add the nodes one at a time to name each",
            "--name needs a single SOURCE"
        ));
    }
    let mut parsed = input
        .sources
        .iter()
        .map(|s| parse_source(s, input.name.as_deref(), input.dev))
        .collect::<Result<Vec<_>>>()?;
    for node in &mut parsed {
        if input.run_install {
            node.spec.install = Some(InstallScript::Run);
        }
        // A pack that names itself (its pyproject's registry id) is known by that name.
        if input.name.is_none()
            && let Some(own) = id_from_pack(ws, &node.spec)
        {
            node.id = own;
        }
    }
    Ok(parsed)
}

/// Declares `nodes` and applies them (or only saves the manifest, as `reach` says).
pub fn add(
    session: &mut Session,
    nodes: &[NewNode],
    reach: Reach,
    on_plan: &mut dyn FnMut(&Plan),
) -> Result<NodesEdited> {
    let mut manifest = session.manifest()?;
    let mut ids: Vec<NodeId> = Vec::new();
    for NewNode { id, spec } in nodes {
        if manifest.config().nodes.contains_key(id) || ids.contains(id) {
            return Err(miette!(
                code = "comfydock::node::exists",
                help = format!("pick another id with --name, or `comfydock node remove {id}` first"),
                "node `{id}` is already in the manifest"
            ));
        }
        manifest.set_node(id, spec);
        ids.push(id.clone());
    }
    let names: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let message = format!("Add node {}", names.join(", "));
    let edited = edit_and_apply(session, &manifest, Update::Nodes(names), reach, &message, on_plan)?;
    Ok(NodesEdited::new(ids, &edited))
}

/// Removes node `id` from the manifest; the apply moves its folder to the trash.
pub fn remove(session: &mut Session, id: &str, reach: Reach, on_plan: &mut dyn FnMut(&Plan)) -> Result<NodesEdited> {
    let mut manifest = session.manifest()?;
    if !manifest.remove_node(id) {
        let known: Vec<&str> = manifest.config().nodes.keys().map(|k| k.as_str()).collect();
        return Err(miette!(
            code = "comfydock::node::unknown",
            help = format!("nodes in the manifest: {known:?}"),
            "no node `{id}` in the manifest"
        ));
    }
    let message = format!("Remove node {id}");
    let edited = edit_and_apply(session, &manifest, Update::Nothing, reach, &message, on_plan)?;
    Ok(NodesEdited::new(vec![typed(id)?], &edited))
}

/// Locks node `id` (every node when None) at its newest version, or at `version` (which moves
/// the manifest's pin; `latest` lifts a registry pin). Resolving is the point of an update, so
/// even without the apply the new lock is written.
pub fn update(
    session: &mut Session,
    id: Option<&str>,
    version: Option<&str>,
    apply: bool,
    on_plan: &mut dyn FnMut(&Plan),
) -> Result<NodesEdited> {
    let mut manifest = session.manifest()?;
    let ids: Vec<NodeId> = match id {
        Some(id) => {
            let Some(spec) = manifest.config().nodes.get(id).cloned() else {
                return Err(miette!(
                    code = "comfydock::node::unknown",
                    help = "`comfydock node list` shows the nodes",
                    "no node `{id}` in the manifest"
                ));
            };
            if let Some(v) = version {
                manifest.set_node(id, &with_version(id, spec, v)?);
            }
            vec![typed(id)?]
        }
        None => manifest.config().nodes.keys().cloned().collect(),
    };
    if version.is_none() {
        for id in &ids {
            if let Some(v) = manifest.config().nodes.get(id.as_str()).and_then(|s| match &s.source {
                PackSource::Registry { version, .. } => version.as_ref(),
                _ => None,
            }) {
                session.reporter.note(&format!(
                    "`{id}` is pinned to {v} in the manifest; `--version V` (or `--version latest`) moves the pin"
                ));
            }
        }
    }
    let names: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let message = format!("Update {}", names.join(", "));
    let reach = if apply { Reach::Apply } else { Reach::Lock };
    let edited = edit_and_apply(session, &manifest, Update::Nodes(names), reach, &message, on_plan)?;
    Ok(NodesEdited::new(ids, &edited))
}

/// `spec` moved to version `v`: a registry version (`latest` lifts the pin) or a git rev.
fn with_version(id: &str, mut spec: NodeSpec, v: &str) -> Result<NodeSpec> {
    match &mut spec.source {
        PackSource::Registry { version, .. } => *version = if v == "latest" { None } else { Some(typed(v)?) },
        PackSource::Git { rev, .. } => *rev = Some(typed(v)?),
        PackSource::Comfydock => {
            return Err(miette!(
                code = "comfydock::node::panel_version",
                help = "`comfydock panel enable` pins this comfydock's panel",
                "`{id}` is comfydock's panel: its version is comfydock's"
            ));
        }
        PackSource::Local { .. } => {
            return Err(miette!(
                code = "comfydock::node::dev_version",
                help = "a dev node is whatever its folder holds",
                "`{id}` is a dev node: it has no version"
            ));
        }
    }
    Ok(spec)
}

/// `node list`: each declared pack with its locked version and what is on disk.
#[derive(Debug, Serialize)]
pub struct NodeList {
    pub nodes: Vec<NodeRow>,
}

#[derive(Debug, Serialize)]
pub struct NodeRow {
    pub id: NodeId,
    pub source: SourceKind,
    pub state: NodeListState,
    /// The locked version (a registry version, a short commit, or a dev node's path); the
    /// manifest's rev before the first lock; `-` when neither says.
    pub version: String,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Git,
    Dev,
    Registry,
    /// comfydock's own ComfyUI panel (`panel enable`).
    Comfydock,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Git => "git",
            SourceKind::Dev => "dev",
            SourceKind::Registry => "registry",
            SourceKind::Comfydock => "comfydock",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeListState {
    /// On disk as locked.
    Installed,
    /// On disk, intact, but not the locked version: the next apply updates it.
    Outdated,
    /// Files changed by hand.
    Modified,
    Missing,
    NotInstalled,
}

impl NodeListState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeListState::Installed => "installed",
            NodeListState::Outdated => "outdated",
            NodeListState::Modified => "modified",
            NodeListState::Missing => "missing",
            NodeListState::NotInstalled => "not installed",
        }
    }
}

pub fn list<A>(session: &Session<'_, A>) -> Result<NodeList> {
    let manifest = session.manifest()?;
    let lock = session.lock_on_disk()?;
    let observed = observe(&session.env).map_err(|e| miette!("could not read {}: {e}", session.env.root.display()))?;
    let mut nodes = Vec::new();
    for (id, spec) in &manifest.config().nodes {
        let locked = lock.as_ref().and_then(|l| l.nodes.get(id));
        let installed = observed.installed.nodes.get(id.as_str());
        let source = match spec.kind() {
            NodeSource::Git => SourceKind::Git,
            NodeSource::Local => SourceKind::Dev,
            NodeSource::Registry => SourceKind::Registry,
            NodeSource::Comfydock => SourceKind::Comfydock,
        };
        let rev = match &spec.source {
            PackSource::Git { rev, .. } => rev.as_ref(),
            _ => None,
        };
        let version = locked
            .map(|l| l.describe())
            .or_else(|| rev.map(ToString::to_string))
            .unwrap_or_else(|| "-".into());
        let state = match (observed.nodes.get(id.as_str()), installed) {
            (Some(NodeState::Intact), Some(inst)) if locked.is_some_and(|l| same_install(l, inst)) => {
                NodeListState::Installed
            }
            (Some(NodeState::Intact), Some(_)) => NodeListState::Outdated,
            (Some(NodeState::Modified { .. }), _) => NodeListState::Modified,
            (Some(NodeState::Missing), _) => NodeListState::Missing,
            _ => NodeListState::NotInstalled,
        };
        nodes.push(NodeRow {
            id: id.clone(),
            source,
            state,
            version,
        });
    }
    Ok(NodeList { nodes })
}

/// Whether the installed record is the locked node: same tree, or the same dev link.
fn same_install(locked: &LockedNode, inst: &InstalledNode) -> bool {
    match locked {
        LockedNode::Dev(dev) => inst.link() == Some(dev.path.as_str()),
        other => inst.placed().map(|p| &p.tree) == other.tree(),
    }
}

/// `URL[@REV]` or a path; with `dev` a folder. Returns the node id and its spec.
pub fn parse_source(source: &str, name: Option<&str>, dev: bool) -> Result<NewNode> {
    if dev {
        let path = std::fs::canonicalize(source).map_err(|e| {
            miette!(
                code = "comfydock::node::dev_path",
                help = "--dev takes a folder that exists",
                "{source}: {e}"
            )
        })?;
        if !path.is_dir() {
            return Err(miette!(
                code = "comfydock::node::dev_path",
                help = "--dev takes a folder",
                "{source} is not a folder"
            ));
        }
        let id = node_id(name, &base_name(&path.display().to_string()))?;
        let spec = NodeSpec::local(path.display().to_string());
        return Ok(NewNode { id, spec });
    }
    let (url, rev) = split_rev(source);
    let is_git = url.contains("://") || url.starts_with("git@") || Path::new(url).is_dir();
    if !is_git {
        let registry_id_ok = !url.is_empty()
            && url
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !registry_id_ok {
            return Err(miette!(
                code = "comfydock::node::source",
                help = "give a registry id (ID or ID@VERSION), a git URL (https://..., git@..., file://...) or a local repository path with optional @REV; `--dev PATH` links a folder you develop",
                "`{source}` is not a registry id, a git URL or a path"
            ));
        }
        let id = node_id(name, url)?;
        let spec = NodeSpec::registry(Some(typed(url)?), rev.map(typed).transpose()?);
        return Ok(NewNode { id, spec });
    }
    let repository = match fs_err::canonicalize(url) {
        Ok(p) if !url.contains("://") => p.display().to_string(),
        _ => url.to_string(),
    };
    let id = node_id(name, &base_name(url))?;
    let spec = NodeSpec::git(typed(&repository)?, rev.map(typed).transpose()?);
    Ok(NewNode { id, spec })
}

fn id_from_pack(ws: &Workspace, spec: &NodeSpec) -> Option<NodeId> {
    match &spec.source {
        PackSource::Git { repository, rev, .. } => {
            crate::resolve::pack_meta::git_pack_id(&ws.store_dir(), repository, rev.as_ref())
        }
        _ => None,
    }
}

/// `URL@REV`: the last `@` after the last `/` or `:` (so `git@host:x/y` has no REV).
fn split_rev(source: &str) -> (&str, Option<&str>) {
    let boundary = source.rfind(['/', ':']).map_or(0, |i| i + 1);
    match source[boundary..].rfind('@') {
        Some(at) if at > 0 => (&source[..boundary + at], Some(&source[boundary + at + 1..])),
        _ => (source, None),
    }
}

fn base_name(url: &str) -> String {
    url.trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit(['/', ':'])
        .next()
        .unwrap_or(url)
        .to_string()
}

/// `--name` as given, else an id made from the source's last path part.
fn node_id(name: Option<&str>, derived: &str) -> Result<NodeId> {
    match name {
        Some(name) => typed(name),
        None => NodeId::sanitize(derived).ok_or_else(|| {
            miette!(
                code = "comfydock::node::invalid_id",
                help = "pass --name with letters, digits, `-`, `_` and `.`",
                "no node id can be made from `{derived}`"
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::split_rev;

    #[test]
    fn rev_is_the_last_at_after_the_path() {
        assert_eq!(split_rev("https://h/u/repo@v1.0"), ("https://h/u/repo", Some("v1.0")));
        assert_eq!(
            split_rev("git@github.com:u/repo.git"),
            ("git@github.com:u/repo.git", None)
        );
        assert_eq!(
            split_rev("git@github.com:u/repo.git@main"),
            ("git@github.com:u/repo.git", Some("main"))
        );
        assert_eq!(split_rev("/tmp/pack"), ("/tmp/pack", None));
    }
}
