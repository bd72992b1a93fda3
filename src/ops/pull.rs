//! `pull`: the `.cec` of a remote taken by fast-forward, under the writer lock (no apply may read
//! `.cec` while it moves). A pulled lock that is out of date with its manifest is marked, so
//! `plan` and `apply` will not resolve it (that would run the pulled commit's build scripts)
//! until the user has reviewed it and run `lock`.

use crate::cec::{self, PullOutcome};
use crate::reconcile::Session;
use crate::resolve::Freshness;
use miette::{IntoDiagnostic, Result};

pub struct Pulled {
    pub outcome: PullOutcome,
    /// The pulled lock is out of date with its manifest, and is now marked so.
    pub lock_stale: bool,
}

pub fn pull(session: &Session, remote: &str) -> Result<Pulled> {
    let outcome = cec::pull(&session.env.cec, remote)?;
    let mut lock_stale = false;
    if let PullOutcome::FastForwarded { to, .. } = &outcome {
        let manifest = session.manifest()?;
        let marker = session.env.state.join(crate::reconcile::PULLED_STALE);
        match session.freshness(&manifest)? {
            Freshness::Fresh => {
                let _ = fs_err::remove_file(&marker);
            }
            _ => {
                crate::fsx::write_atomic(&marker, to.as_str().as_bytes()).into_diagnostic()?;
                lock_stale = true;
            }
        }
    }
    Ok(Pulled { outcome, lock_stale })
}
