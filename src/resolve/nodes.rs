//! Resolving one node spec to a pin.

use super::{ResolveError, Result};
use crate::git::GitError;
use crate::manifest::{LockedNode, NodeSource, NodeSpec};
use crate::progress::Reporter;
use crate::registry::{RegistryClient, VersionSpec, fetch_and_extract};
use crate::store::{GitCache, NodeStore};
use std::path::Path;

/// `registry` makes the registry client on first use (only registry nodes need it).
#[allow(clippy::too_many_arguments)]
pub(super) fn resolve_node<'c>(
    id: &str,
    spec: &NodeSpec,
    prior: Option<&LockedNode>,
    force: bool,
    git_cache: &GitCache,
    store: &NodeStore,
    registry: &dyn Fn() -> Result<&'c RegistryClient>,
    reporter: &dyn Reporter,
) -> Result<LockedNode> {
    let empty = LockedNode {
        source: NodeSource::Git,
        repository: None,
        rev: None,
        commit: None,
        registry_id: None,
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
        NodeSource::Registry => {
            let registry_id = spec.registry_id.clone().unwrap_or_else(|| id.to_string());
            if let Some(p) = prior
                && !force
                && p.source == NodeSource::Registry
                && p.registry_id.as_ref() == Some(&registry_id)
                && (spec.version.is_none() || spec.version == p.version)
                && p.tree.is_some()
            {
                return Ok(p.clone());
            }
            let client = registry()?;
            reporter.step(&format!("Resolving node {id} from the registry"));
            let want =
                VersionSpec::parse(spec.version.as_deref().unwrap_or("latest")).map_err(ResolveError::registry)?;
            let pinned = client.resolve(&registry_id, &want).map_err(ResolveError::registry)?;
            if let Some(warning) = pinned.warning() {
                reporter.warn(&warning);
            }
            // The same version fetched again must be the same archive.
            let expected = prior
                .filter(|p| p.version.as_ref() == Some(&pinned.version))
                .and_then(|p| p.sha256.clone());
            reporter.step(&format!("Fetching node {id} {}", pinned.version));
            let fetched = fetch_and_extract(
                client,
                store.dir().parent().unwrap_or(store.dir()),
                &pinned,
                expected.as_deref(),
            )
            .map_err(ResolveError::registry)?;
            Ok(LockedNode {
                source: NodeSource::Registry,
                registry_id: Some(registry_id),
                version: Some(pinned.version),
                url: Some(fetched.download_url),
                sha256: Some(format!("sha256:{}", fetched.archive.sha256)),
                tree: Some(format!("blake3:{}", fetched.tree_hash)),
                ..empty
            })
        }
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
