//! `node add`, `node remove`, `node list`.

use super::args::NodeCommand;
use super::edit::edit_and_apply;
use super::reconcile::report_recovery;
use super::{ExitStatus, Globals};
use crate::manifest::{NodeSource, NodeSpec};
use crate::observe::{NodeState, observe};
use crate::plan::render_text;
use crate::resolve::Update;
use crate::types::NodeId;
use miette::{Result, miette};
use std::path::Path;

pub fn node(g: &Globals, cmd: &NodeCommand) -> Result<ExitStatus> {
    match cmd {
        NodeCommand::Find(a) => super::registry::find(g, a),
        NodeCommand::Add {
            sources,
            name,
            dev,
            run_install,
            no_apply,
        } => add(g, sources, name.as_deref(), *dev, *run_install, *no_apply),
        NodeCommand::Remove { name, no_apply } => remove(g, name, *no_apply),
        NodeCommand::Update {
            name,
            version,
            no_apply,
        } => update(g, name.as_deref(), version.as_deref(), *no_apply),
        NodeCommand::List { json } => list(g, *json),
        NodeCommand::Adopt { names, all, dev, json } => adopt(g, names, *all, *dev, *json),
    }
}

fn adopt(g: &Globals, names: &[String], all: bool, dev: bool, json: bool) -> Result<ExitStatus> {
    use crate::ops::adopt::{AdoptInput, AdoptedSource};
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "node adopt")?;
    report_recovery(&session.recovery);
    let input = AdoptInput {
        names: names.to_vec(),
        all,
        dev,
    };
    let report = crate::ops::adopt::adopt(&mut session, &input, &mut |plan| {
        if !json {
            out!("{}", render_text(plan))
        }
    })?;
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&crate::ops::Envelope::new(&report)).expect("serializable")
        );
        return Ok(ExitStatus::Success);
    }
    for a in &report.adopted {
        let what = match &a.source {
            AdoptedSource::Git { repository, commit } => format!("git {repository} at {}", crate::plan::short(commit)),
            AdoptedSource::Registry {
                registry_id, version, ..
            } => format!("registry {registry_id} {version}"),
            AdoptedSource::Local { path } => format!("dev, in place at {path}"),
        };
        errln!("Adopted custom_nodes/{} as `{}` ({what}).", a.folder, a.id);
    }
    for r in &report.skipped {
        errln!("Left {r}");
    }
    if report.adopted.is_empty() && report.skipped.is_empty() {
        errln!("No untracked folders in custom_nodes/: nothing to adopt.");
    }
    Ok(ExitStatus::Success)
}

fn add(
    g: &Globals,
    sources: &[String],
    name: Option<&str>,
    dev: bool,
    run_install: bool,
    no_apply: bool,
) -> Result<ExitStatus> {
    if name.is_some() && sources.len() > 1 {
        return Err(miette!(
            code = "comfydock::node::name",
            help = "add the nodes one at a time to name each",
            "--name needs a single SOURCE"
        ));
    }
    let (ws, env) = g.env()?;
    let mut parsed = sources
        .iter()
        .map(|s| parse_source(s, name, dev))
        .collect::<Result<Vec<_>>>()?;
    if name.is_none() {
        for (id, spec) in &mut parsed {
            if let Some(own) = id_from_pack(&ws, spec) {
                *id = own;
            }
        }
    }
    let mut session = g.writer(&ws, env, "node add")?;
    report_recovery(&session.recovery);
    let mut manifest = session.manifest()?;
    let mut ids: Vec<String> = Vec::new();
    for (id, spec) in &parsed {
        let mut spec = spec.clone();
        if run_install {
            spec.install = Some(crate::manifest::InstallScript::Run);
        }
        if manifest.config().nodes.contains_key(id) || ids.iter().any(|i| i == id.as_str()) {
            return Err(miette!(
                code = "comfydock::node::exists",
                help = format!("pick another id with --name, or `comfydock node remove {id}` first"),
                "node `{id}` is already in the manifest"
            ));
        }
        manifest.set_node(id, &spec);
        ids.push(id.to_string());
    }
    let message = format!("Add node {}", ids.join(", "));
    edit_and_apply(&mut session, &manifest, Update::Nodes(ids.clone()), no_apply, &message)?;
    errln!(
        "Added {}.",
        ids.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
    );
    Ok(ExitStatus::Success)
}

fn remove(g: &Globals, id: &str, no_apply: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "node remove")?;
    report_recovery(&session.recovery);
    let mut manifest = session.manifest()?;
    if !manifest.remove_node(id) {
        let known: Vec<&str> = manifest.config().nodes.keys().map(|k| k.as_str()).collect();
        return Err(miette!(
            code = "comfydock::node::unknown",
            help = format!("nodes in the manifest: {known:?}"),
            "no node `{id}` in the manifest"
        ));
    }
    edit_and_apply(
        &mut session,
        &manifest,
        Update::Nothing,
        no_apply,
        &format!("Remove node {id}"),
    )?;
    errln!("Removed node `{id}`.");
    Ok(ExitStatus::Success)
}

fn update(g: &Globals, id: Option<&str>, version: Option<&str>, no_apply: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let mut session = g.writer(&ws, env, "node update")?;
    report_recovery(&session.recovery);
    let mut manifest = session.manifest()?;
    let ids: Vec<String> = match id {
        Some(id) => {
            let Some(spec) = manifest.config().nodes.get(id).cloned() else {
                return Err(miette!(
                    code = "comfydock::node::unknown",
                    help = "`comfydock node list` shows the nodes",
                    "no node `{id}` in the manifest"
                ));
            };
            if let Some(v) = version {
                let mut spec = spec;
                match spec.source.unwrap_or(NodeSource::Git) {
                    // `latest` lifts the pin: the manifest then follows the registry, the lock pins.
                    NodeSource::Registry => spec.version = if v == "latest" { None } else { Some(super::typed(v)?) },
                    NodeSource::Git => spec.rev = Some(super::typed(v)?),
                    NodeSource::Comfydock => {
                        return Err(miette!(
                            code = "comfydock::node::panel_version",
                            help = "`comfydock panel enable` pins this comfydock's panel",
                            "`{id}` is comfydock's panel: its version is comfydock's"
                        ));
                    }
                    NodeSource::Local => {
                        return Err(miette!(
                            code = "comfydock::node::dev_version",
                            help = "a dev node is whatever its folder holds",
                            "`{id}` is a dev node: it has no version"
                        ));
                    }
                }
                manifest.set_node(id, &spec);
            }
            vec![id.to_string()]
        }
        None => manifest.config().nodes.keys().map(ToString::to_string).collect(),
    };
    if version.is_none() {
        for id in &ids {
            if let Some(v) = manifest
                .config()
                .nodes
                .get(id.as_str())
                .and_then(|s| s.version.as_ref())
            {
                errln!(
                    "note: `{id}` is pinned to {v} in the manifest; `--version V` (or `--version latest`) moves the pin"
                );
            }
        }
    }
    // Resolving is the point of update: --no-apply still writes the new lock.
    let backup = session.backup_desired();
    let result = (|| -> Result<()> {
        manifest
            .save()
            .map_err(|e| miette!("could not write {}: {e}", manifest.path().display()))?;
        let resolved = session.resolve(&manifest, &Update::Nodes(ids.clone()))?;
        session.write_lock(&resolved)?;
        if !no_apply {
            let planned = session.plan(&resolved)?;
            out!("{}", render_text(&planned.plan));
            session.apply(&resolved, &planned, &format!("Update {}", ids.join(", ")))?;
        }
        Ok(())
    })();
    if result.is_err() {
        backup.restore();
    }
    result.map(|()| ExitStatus::Success)
}

/// `URL[@REV]` or a path; with `--dev` a folder. Returns the node id and its spec.
fn parse_source(source: &str, name: Option<&str>, dev: bool) -> Result<(NodeId, NodeSpec)> {
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
        let spec = NodeSpec {
            source: Some(NodeSource::Local),
            path: Some(path.display().to_string()),
            ..Default::default()
        };
        return Ok((id, spec));
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
        let spec = NodeSpec {
            source: Some(NodeSource::Registry),
            registry_id: Some(super::typed(url)?),
            version: rev.map(super::typed).transpose()?,
            ..Default::default()
        };
        return Ok((id, spec));
    }
    let repository = match std::fs::canonicalize(url) {
        Ok(p) if !url.contains("://") => p.display().to_string(),
        _ => url.to_string(),
    };
    let id = node_id(name, &base_name(url))?;
    let spec = NodeSpec {
        source: Some(NodeSource::Git),
        repository: Some(super::typed(&repository)?),
        rev: rev.map(super::typed).transpose()?,
        ..Default::default()
    };
    Ok((id, spec))
}

fn id_from_pack(ws: &crate::workspace::Workspace, spec: &NodeSpec) -> Option<NodeId> {
    crate::resolve::pack_meta::git_pack_id(&ws.store_dir(), spec.repository.as_ref()?, spec.rev.as_ref())
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
        Some(name) => super::typed(name),
        None => NodeId::sanitize(derived).ok_or_else(|| {
            miette!(
                code = "comfydock::node::invalid_id",
                help = "pass --name with letters, digits, `-`, `_` and `.`",
                "no node id can be made from `{derived}`"
            )
        }),
    }
}

fn list(g: &Globals, json: bool) -> Result<ExitStatus> {
    let (ws, env) = g.env()?;
    let session = g.reader(&ws, env);
    let manifest = session.manifest()?;
    let lock = session.lock_on_disk()?;
    let observed = observe(&session.env).map_err(|e| miette!("could not read {}: {e}", session.env.root.display()))?;
    let mut rows = Vec::new();
    for (id, spec) in &manifest.config().nodes {
        let locked = lock.as_ref().and_then(|l| l.nodes.get(id));
        let installed = observed.installed.nodes.get(id.as_str());
        let source = match spec.source.unwrap_or(NodeSource::Git) {
            NodeSource::Git => "git",
            NodeSource::Local => "dev",
            NodeSource::Registry => "registry",
            NodeSource::Comfydock => "comfydock",
        };
        let version = locked
            .map(|l| l.describe())
            .or_else(|| spec.rev.as_ref().map(ToString::to_string))
            .unwrap_or_else(|| "-".into());
        let state = match (observed.nodes.get(id.as_str()), installed) {
            (Some(NodeState::Intact), Some(inst)) if locked.is_some_and(|l| same_install(l, inst)) => "installed",
            (Some(NodeState::Intact), Some(_)) => "outdated",
            (Some(NodeState::Modified { .. }), _) => "modified",
            (Some(NodeState::Missing), _) => "missing",
            _ => "not installed",
        };
        rows.push(serde_json::json!({ "id": id, "source": source, "version": version, "state": state }));
    }
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "format_version": "1", "nodes": rows }))
                .expect("serializable")
        );
        return Ok(ExitStatus::Success);
    }
    if rows.is_empty() {
        errln!("No node packs. Add one with `comfydock node add URL`.");
    }
    for r in rows {
        outln!(
            "{:24} {:8} {:28} {}",
            r["id"].as_str().unwrap_or(""),
            r["source"].as_str().unwrap_or(""),
            r["version"].as_str().unwrap_or(""),
            r["state"].as_str().unwrap_or("")
        );
    }
    Ok(ExitStatus::Success)
}

/// Whether the installed record is the locked node: same tree, or the same dev link.
fn same_install(locked: &crate::manifest::LockedNode, inst: &crate::observe::InstalledNode) -> bool {
    match locked {
        crate::manifest::LockedNode::Dev(dev) => inst.link.as_deref() == Some(dev.path.as_str()),
        other => inst.link.is_none() && inst.tree.as_deref() == other.tree().map(ToString::to_string).as_deref(),
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
