//! The workspace's model index, searched by name or hash (`model find`).

use crate::models::Model;
use crate::workspace::Workspace;
use miette::Result;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ModelsReport {
    pub query: String,
    pub models: Vec<Model>,
}

/// Models whose name matches `query`, or whose hash starts with it; an empty query lists none.
pub fn find(ws: &Workspace, query: &str) -> Result<ModelsReport> {
    let path = crate::models::index_path(ws);
    let models = if query.trim().is_empty() || !path.exists() {
        Vec::new()
    } else {
        let index = crate::models::ModelIndex::open(&path)?;
        crate::models::find::find(&index, query.trim())?
    };
    Ok(ModelsReport {
        query: query.to_string(),
        models,
    })
}
