//! Resolving one node spec to a pin.

use super::{ResolveError, Result};
use crate::git::GitError;
use crate::manifest::{LockedNode, NodeSource, NodeSpec};
use crate::progress::Reporter;
use crate::store::{GitCache, NodeStore};
use std::path::Path;

pub(super) fn resolve_node(
    id: &str,
    spec: &NodeSpec,
    prior: Option<&LockedNode>,
    force: bool,
    git_cache: &GitCache,
    store: &NodeStore,
    reporter: &dyn Reporter,
) -> Result<LockedNode> {
    let empty = LockedNode {
        source: NodeSource::Git,
        repository: None,
        rev: None,
        commit: None,
        version: None,
        url: None,
        sha256: None,
        tree: None,
        path: None,
    };
    match spec.source.unwrap_or(NodeSource::Git) {
        NodeSource::Local => {
            let raw = spec.path.clone().unwrap_or_default();
            let path = std::fs::canonicalize(&raw).map_err(|_| ResolveError::MissingPath {
                id: id.into(),
                path: raw.clone(),
            })?;
            Ok(LockedNode {
                source: NodeSource::Local,
                path: Some(path.display().to_string()),
                ..empty
            })
        }
        NodeSource::Registry => Err(ResolveError::RegistryUnsupported { id: id.into() }),
        NodeSource::Git => {
            let repository = spec
                .repository
                .clone()
                .ok_or_else(|| ResolveError::NoRepository { id: id.into() })?;
            let rev = spec.rev.clone();
            if let Some(p) = prior
                && !force
                && p.source == NodeSource::Git
                && p.repository.as_ref() == Some(&repository)
                && p.rev == rev
                && p.commit.is_some()
            {
                return Ok(p.clone());
            }
            reporter.step(&format!("Resolving node {id} from {repository}"));
            let mirror = git_cache.update(&repository)?;
            let commit = crate::git::resolve_rev(&mirror, rev.as_deref().unwrap_or("HEAD"))
                .map_err(|e| name_repo(e, &repository))?;
            let tree = store_commit(&mirror, &commit, store)?;
            Ok(LockedNode {
                source: NodeSource::Git,
                repository: Some(repository),
                rev,
                commit: Some(commit),
                tree: Some(tree),
                ..empty
            })
        }
    }
}

/// Exports a commit's tree into the node store (if not already there) and returns its hash.
pub(crate) fn store_commit(mirror: &Path, commit: &str, store: &NodeStore) -> Result<String> {
    let scratch = store.scratch()?;
    crate::git::export_tree(mirror, commit, scratch.path())?;
    Ok(store.insert(scratch)?)
}

/// Errors about a mirror name the repository the user wrote, not the cache folder.
pub(super) fn name_repo(e: GitError, repo: &str) -> GitError {
    match e {
        GitError::RevNotFound { rev, .. } => GitError::RevNotFound {
            rev,
            repo: repo.to_string(),
        },
        other => other,
    }
}
