//! The workspace's shared remote store (`store push`, `store status`): what the locks of one or
//! every environment need, where it is, and uploading what only this machine has.

use crate::progress::Reporter;
use crate::store::remote::inventory::{self, Needed};
use crate::store::remote::{Kind, PushReport, Remote, RemoteError};
use crate::workspace::{EnvPaths, Workspace};
use miette::Result;
use serde::Serialize;
use std::collections::BTreeSet;

/// The selected environment, or with `all` every environment of the workspace.
pub fn environments(ws: &Workspace, selected: Option<&str>, all: bool) -> Result<Vec<EnvPaths>> {
    if !all {
        return Ok(vec![ws.select_env(selected)?]);
    }
    ws.env_names()?
        .iter()
        .map(|name| ws.env(name).map_err(Into::into))
        .collect()
}

/// The remote store `workspace.toml` configures; an error when none is.
pub fn remote(ws: &Workspace) -> Result<Remote> {
    let config = ws.config()?;
    Ok(Remote::configured(config.store.remote.as_deref())?.ok_or(RemoteError::NotConfigured)?)
}

/// What `store push` did.
pub struct Pushed {
    pub remote: String,
    pub report: PushReport,
    /// Needed objects this machine does not have, so could not push.
    pub absent: Vec<Needed>,
    /// Models left out because `--models` was not given.
    pub skipped_models: usize,
}

/// Uploads what the locks of `envs` need and the remote lacks: node trees always, model files
/// with `models`. Then the records of install-script builds whose trees are now there, so a
/// fleet machine with the same inputs uses the build instead of running the script.
pub fn push(ws: &Workspace, envs: &[EnvPaths], models: bool, reporter: &dyn Reporter) -> Result<Pushed> {
    let remote = remote(ws)?;
    let needed = inventory::needed(ws, envs)?;
    let wanted: Vec<&Needed> = needed.iter().filter(|n| models || n.kind == Kind::Node).collect();
    let items = wanted.iter().filter_map(|n| n.push_item()).collect();
    let report = remote.push(items, &ws.store_dir(), reporter)?;
    let uploaded: BTreeSet<String> = needed
        .iter()
        .filter(|n| n.kind == Kind::Node && (n.remote.is_some() || n.local.is_some()))
        .map(|n| n.hash.to_string())
        .collect();
    for record in crate::store::derived::DerivedStore::new(&ws.store_dir()).records() {
        if uploaded.contains(&record.tree.to_string())
            && !report.failed.iter().any(|(label, _)| label.contains(record.tree.hex()))
        {
            remote.put_derived(&record)?;
        }
    }
    let absent = wanted
        .iter()
        .filter(|n| n.local.is_none())
        .map(|n| (*n).clone())
        .collect();
    let skipped_models = if models {
        0
    } else {
        needed.iter().filter(|n| n.kind == Kind::Model).count()
    };
    Ok(Pushed {
        remote: remote.url().to_string(),
        report,
        absent,
        skipped_models,
    })
}

/// `store status --json`.
#[derive(Debug, Serialize)]
pub struct StoreStatus {
    pub remote: String,
    pub objects: Vec<Needed>,
    /// Needed objects neither this machine nor the remote has.
    pub missing: usize,
}

pub fn status(ws: &Workspace, envs: &[EnvPaths]) -> Result<StoreStatus> {
    let remote = remote(ws)?;
    let mut objects = inventory::needed(ws, envs)?;
    inventory::mark_remote(&remote, &mut objects)?;
    let missing = objects
        .iter()
        .filter(|n| n.local.is_none() && n.remote != Some(true))
        .count();
    Ok(StoreStatus {
        remote: remote.url().to_string(),
        objects,
        missing,
    })
}
