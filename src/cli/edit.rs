//! The shape every manifest-editing command shares (`node`, `model`, `py`, `constraint`):
//! save the edit, lock, plan, apply; and on any failure put the desired state back.

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
    crate::ops::edit::edit_and_apply(session, manifest, update, reach, message, &mut |plan| {
        out!("{}", render_text(plan))
    })
    .map(|_| ())
}
