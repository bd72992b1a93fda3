//! `registry serve`, `registry snapshot` and `node find`.

use super::args::{FindArgs, RegistryCommand, ServeArgs, SnapshotArgs};
use super::ui::StderrReporter;
use super::{ExitStatus, Globals};
use crate::registry::server::{ServeOptions, serve_blocking};
use crate::registry::snapshot::{SnapshotRequest, build_snapshot};
use crate::registry::types::{Node, NodeStatus};
use crate::registry::{ApiCache, ClientOptions, RegistryClient, RegistryError};
use crate::workspace::Workspace;
use miette::Result;
use std::io::Write;
use std::sync::Arc;

pub fn registry(g: &Globals, cmd: &RegistryCommand) -> Result<ExitStatus> {
    match cmd {
        RegistryCommand::Serve(a) => serve(a),
        RegistryCommand::Snapshot(a) => snapshot(g, a),
    }
}

/// A client for the workspace's registry, with its answer cache. Without a workspace the
/// client still works, uncached (and `--offline` then has nothing to offer).
fn client(g: &Globals, cached: bool) -> Result<RegistryClient> {
    let ws = Workspace::open(&Workspace::locate(g.workspace.as_deref())).ok();
    let configured = match &ws {
        Some(ws) => ws.config()?.registry_url,
        None => None,
    };
    let mut options = ClientOptions::from_env(configured.as_deref());
    options.offline = g.offline;
    let cache = match (&ws, cached) {
        (Some(ws), true) => Some(ApiCache::open(&crate::registry::cache_path(ws.root()))?),
        _ => None,
    };
    Ok(RegistryClient::new(options, cache)?.with_reporter(Arc::new(StderrReporter)))
}

fn serve(a: &ServeArgs) -> Result<ExitStatus> {
    let options = ServeOptions {
        snapshot: a.snapshot.clone(),
        addr: a.addr,
        base_url: a.base_url.clone(),
    };
    serve_blocking(&options, |url, packs| {
        // The URL first and alone on stdout: scripts and tests read it from there.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{url}");
        let _ = out.flush();
        errln!(
            "Serving {packs} node pack{} from {} at {url} (Ctrl-C stops)",
            if packs == 1 { "" } else { "s" },
            a.snapshot.display()
        );
    })?;
    Ok(ExitStatus::Success)
}

fn snapshot(g: &Globals, a: &SnapshotArgs) -> Result<ExitStatus> {
    // A snapshot is taken fresh from the registry, never from cached answers.
    let client = client(g, false)?;
    let nodes = a.nodes.as_ref().map(|list| {
        list.iter()
            .map(|item| item.trim())
            .filter(|item| !item.is_empty())
            .map(|item| match item.split_once('@') {
                Some((id, v)) => (id.to_string(), Some(v.to_string())),
                None => (item.to_string(), None),
            })
            .collect()
    });
    let request = SnapshotRequest {
        nodes,
        all_versions: a.all_versions,
    };
    let s = build_snapshot(&client, &a.out, &request)?;
    errln!(
        "Snapshot at {}: {} pack{}, {} version{}; {} archive{} downloaded ({}), {} already present",
        a.out.display(),
        s.packs,
        if s.packs == 1 { "" } else { "s" },
        s.versions,
        if s.versions == 1 { "" } else { "s" },
        s.archives_downloaded,
        if s.archives_downloaded == 1 { "" } else { "s" },
        crate::plan::human_size(s.bytes_downloaded),
        s.archives_reused
    );
    errln!("Serve it with: comfydock registry serve --snapshot {}", a.out.display());
    Ok(ExitStatus::Success)
}

struct Found {
    node: Node,
    latest: Option<String>,
}

pub fn find(g: &Globals, a: &FindArgs) -> Result<ExitStatus> {
    let client = client(g, true)?;
    let query = a.query.join(" ");
    let page = client.search_nodes(&query, 1, a.limit.clamp(1, 100))?;
    let total = page.total;
    let nodes: Vec<Node> = page.nodes.into_iter().take(a.limit as usize).collect();
    let latest = latest_versions(&client, &nodes)?;
    let found: Vec<Found> = nodes
        .into_iter()
        .zip(latest)
        .map(|(node, latest)| Found { node, latest })
        .collect();

    if a.json {
        let doc = serde_json::json!({
            "format_version": "1",
            "registry": client.base_url(),
            "query": query,
            "total": total,
            "nodes": found.iter().map(|f| serde_json::json!({
                "id": f.node.id,
                "name": f.node.name,
                "latest_version": f.latest,
                "downloads": f.node.downloads,
                "status": f.node.status.as_str(),
                "description": f.node.description,
                "repository": f.node.repository,
            })).collect::<Vec<_>>(),
        });
        outln!("{}", serde_json::to_string_pretty(&doc).expect("serializable"));
        return Ok(ExitStatus::Success);
    }
    if found.is_empty() {
        errln!("No node packs match `{query}` in {}.", client.base_url());
        return Ok(ExitStatus::Success);
    }
    let rows: Vec<[String; 4]> = found
        .iter()
        .map(|f| {
            let mut latest = f.latest.clone().unwrap_or_else(|| "-".into());
            if f.node.status == NodeStatus::Banned {
                latest.push_str(" (banned)");
            }
            [
                f.node.id.clone(),
                f.node.name.clone(),
                latest,
                f.node.downloads.to_string(),
            ]
        })
        .collect();
    let header = ["ID", "NAME", "LATEST", "DOWNLOADS"].map(String::from);
    let mut widths = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        outln!(
            "{:w0$}  {:w1$}  {:w2$}  {:>w3$}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
    }
    if total > found.len() as u64 {
        errln!("{} of {total} matches shown; --limit N shows more.", found.len());
    }
    Ok(ExitStatus::Success)
}

/// The newest choosable version of each pack by semver, from its version list (the
/// `latest_version` in search results compares strings). Fetched a few at a time; a banned pack
/// has none.
fn latest_versions(client: &RegistryClient, nodes: &[Node]) -> Result<Vec<Option<String>>, RegistryError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    type Slot = std::sync::Mutex<Option<Result<Option<String>, RegistryError>>>;
    let results: Vec<Slot> = nodes.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..nodes.len().min(4) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(node) = nodes.get(i) else { break };
                    let r = match client.latest_version(&node.id) {
                        Ok(v) => Ok(v.map(|v| v.version)),
                        Err(RegistryError::BannedNode { .. }) => Ok(None),
                        Err(e) => Err(e),
                    };
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()).unwrap_or(Ok(None)))
        .collect()
}
