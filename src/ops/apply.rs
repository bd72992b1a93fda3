//! Plan and apply the environment as its manifest says (`plan`, `apply --yes`), for the web
//! view; the CLI's own `plan`/`apply` in `cli/reconcile.rs` do the same through the session.

use crate::plan::{Plan, Summary, render_json};
use crate::reconcile::{LockMode, Session};
use miette::{Result, miette};
use serde::Serialize;

/// A plan with what it was made from: `plan --json` prints `json()`.
pub struct PlanView {
    pub plan: Plan,
    /// "fresh", "updated" or "frozen" (see `reconcile::Desired`).
    pub lock_status: &'static str,
    /// What the plan was made from; an apply confirmed on this plan refuses another.
    pub fingerprint: String,
}

impl PlanView {
    /// The document `plan --json` prints.
    pub fn json(&self) -> serde_json::Value {
        render_json(&self.plan, self.lock_status, &self.fingerprint)
    }
}

pub fn plan<A>(session: &mut Session<'_, A>) -> Result<PlanView> {
    let (desired, planned) = session.survey(LockMode::Resolve)?;
    Ok(PlanView {
        plan: planned.plan,
        lock_status: desired.status,
        fingerprint: planned.fingerprint,
    })
}

/// What an apply did.
#[derive(Debug, Serialize)]
pub struct ApplyReport {
    /// The new generation (None: nothing to do).
    pub generation: Option<u64>,
    pub summary: Summary,
    /// Tracked workflows the applied plan breaks.
    pub broken_workflows: Vec<String>,
}

/// The generation's message for an apply: `Apply: +node.a ~python`, the actions by id.
pub fn message(plan: &Plan) -> String {
    let ids: Vec<String> = plan
        .actions
        .iter()
        .map(|a| format!("{}{}", a.kind().symbol(), a.id()))
        .collect();
    format!("Apply: {}", ids.join(" "))
}

/// Plans and applies. With `expected`, the plan must have been made from the same state as the
/// one the user confirmed (its fingerprint), else nothing is done.
pub fn apply(session: &mut Session, expected: Option<&str>, on_plan: &mut dyn FnMut(&Plan)) -> Result<ApplyReport> {
    let (desired, planned) = session.survey(LockMode::Resolve)?;
    if let Some(expected) = expected
        && expected != planned.fingerprint
    {
        return Err(miette!(
            code = "comfydock::apply::stale",
            help = "look at the plan again and confirm that one",
            "the environment or its manifest changed since the plan was shown; nothing was applied"
        ));
    }
    on_plan(&planned.plan);
    let message = message(&planned.plan);
    let generation = session.apply(&desired.resolved, &planned, &message)?;
    Ok(ApplyReport {
        generation: generation.map(|g| g.number),
        summary: planned.plan.summary(),
        broken_workflows: planned.plan.broken_workflows(),
    })
}
