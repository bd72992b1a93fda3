//! Resolving one node spec to a pin.

use super::{ResolveError, Result};
use crate::manifest::{DevLink, GitPin, LockedNode, NodeSpec, PackSource, PanelPin, RegistryPin};
use crate::progress::Reporter;
use crate::registry::{RegistryClient, VersionSpec, fetch_and_extract};
use crate::store::{GitCache, NodeStore};
use crate::types::{Blake3, GitCommit, NodeId, PackVersion};
use std::path::Path;

/// `registry` makes the registry client on first use (only registry nodes need it).
#[allow(clippy::too_many_arguments)]
pub(super) fn resolve_node<'c>(
    id: &NodeId,
    spec: &NodeSpec,
    prior: Option<&LockedNode>,
    force: bool,
    git_cache: &GitCache,
    store: &NodeStore,
    registry: &dyn Fn() -> Result<&'c RegistryClient>,
    reporter: &dyn Reporter,
) -> Result<LockedNode> {
    match &spec.source {
        // The panel stays at the version that pinned it until `panel enable` pins this binary's.
        PackSource::Comfydock => match prior {
            Some(LockedNode::Panel(p)) if !force => Ok(LockedNode::Panel(p.clone())),
            _ => Ok(LockedNode::Panel(PanelPin {
                version: crate::panel::VERSION.parse().map_err(ResolveError::invalid_answer)?,
                tree: crate::panel::store_tree(store)?,
            })),
        },
        PackSource::Local { path: raw } => {
            let path = fs_err::canonicalize(raw).map_err(|_| ResolveError::MissingPath {
                id: id.to_string(),
                path: raw.clone(),
            })?;
            Ok(LockedNode::Dev(DevLink {
                path: path.display().to_string(),
            }))
        }
        PackSource::Registry {
            registry_id,
            version: wanted,
        } => {
            let registry_id = registry_id.clone().unwrap_or_else(|| id.clone());
            if let Some(LockedNode::Registry(p)) = prior
                && !force
                && p.registry_id == registry_id
                && (wanted.is_none() || wanted.as_ref() == Some(&p.version))
            {
                return Ok(LockedNode::Registry(p.clone()));
            }
            let client = registry()?;
            reporter.step(&format!("Resolving node {id} from the registry"));
            let want = VersionSpec::parse(wanted.as_deref().unwrap_or("latest")).map_err(ResolveError::registry)?;
            let pinned = client.resolve(&registry_id, &want).map_err(ResolveError::registry)?;
            if let Some(warning) = pinned.warning() {
                reporter.warn(&warning);
            }
            let version: PackVersion = pinned.version.parse().map_err(ResolveError::invalid_answer)?;
            // The same version fetched again must be the same archive.
            let expected = match prior {
                Some(LockedNode::Registry(p)) if p.version == version => Some(p.sha256.clone()),
                _ => None,
            };
            reporter.step(&format!("Fetching node {id} {}", pinned.version));
            let fetched = fetch_and_extract(
                client,
                store.dir().parent().unwrap_or(store.dir()),
                &pinned,
                expected.as_ref(),
            )
            .map_err(ResolveError::registry)?;
            let sha256 = fetched.archive.sha256.clone();
            Ok(LockedNode::Registry(RegistryPin {
                registry_id,
                version,
                url: fetched.download_url,
                sha256,
                tree: fetched.tree_hash,
                folder: None,
            }))
        }
        PackSource::Git { repository, rev, .. } => {
            let (repository, rev) = (repository.clone(), rev.clone());
            if let Some(LockedNode::Git(p)) = prior
                && !force
                && p.repository == repository
                && p.rev == rev
            {
                return Ok(LockedNode::Git(p.clone()));
            }
            reporter.step(&format!("Resolving node {id} from {repository}"));
            let mirror = git_cache.update(&repository)?;
            let commit = crate::git::resolve_rev(&mirror, rev.as_deref().unwrap_or("HEAD"))
                .map_err(|e| e.in_repo(&repository))?;
            let tree = store_commit(&mirror, &commit, store)?;
            Ok(LockedNode::Git(GitPin {
                repository,
                rev,
                commit,
                tree,
                folder: None,
            }))
        }
    }
}

/// Exports a commit's tree into the node store (if not already there) and returns its hash.
pub(crate) fn store_commit(mirror: &Path, commit: &GitCommit, store: &NodeStore) -> Result<Blake3> {
    let scratch = store.scratch()?;
    crate::git::export_tree(mirror, commit, scratch.path())?;
    Ok(store.insert(scratch)?)
}
