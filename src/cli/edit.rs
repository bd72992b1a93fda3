//! The shape every manifest-editing command shares (`node`, `model`, `py`, `constraint`,
//! `comfyui`, workflow tracking): save the edit, lock, plan, apply, showing the plan the same way;
//! and on any failure put the desired state back.

use crate::manifest::Manifest;
use crate::plan::render_text;
use crate::reconcile::Session;
use crate::resolve::Update;
use miette::Result;

/// `ops::edit::edit_and_apply`, showing the plan before it is applied.
pub(super) fn edit_and_apply(
    session: &mut Session,
    manifest: &Manifest,
    update: Update,
    no_apply: bool,
    message: &str,
) -> Result<()> {
    let reach = crate::ops::edit::Reach::unless(no_apply);
    crate::ops::edit::edit_and_apply(session, manifest, update, reach, message, &mut show_plan).map(|_| ())
}

/// How every edit command shows the plan it is about to apply: as `plan` prints it.
pub(super) fn show_plan(plan: &crate::plan::Plan) {
    out!("{}", render_text(plan))
}
