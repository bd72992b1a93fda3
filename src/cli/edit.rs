//! The shape every manifest-editing command shares (`node`, `model`, `py`, `constraint`):
//! save the edit, lock, plan, apply; and on any failure put the desired state back.

use crate::manifest::Manifest;
use crate::plan::render_text;
use crate::reconcile::Session;
use crate::resolve::Update;
use miette::{Result, miette};

/// Saves the edited manifest, locks and applies. Any failure puts the manifest and the locks
/// back as they were, as `uv add` does: a command that fails changes nothing.
pub(super) fn edit_and_apply(
    session: &mut Session,
    manifest: &Manifest,
    update: Update,
    no_apply: bool,
    message: &str,
) -> Result<()> {
    let backup = session.backup_desired();
    let result = (|| -> Result<()> {
        manifest
            .save()
            .map_err(|e| miette!("could not write {}: {e}", manifest.path().display()))?;
        if no_apply {
            return Ok(());
        }
        let resolved = session.resolve(manifest, &update)?;
        let planned = session.plan(&resolved)?;
        out!("{}", render_text(&planned.plan));
        session.apply(&resolved, &planned, message)?;
        Ok(())
    })();
    if result.is_err() {
        backup.restore();
    }
    result
}
