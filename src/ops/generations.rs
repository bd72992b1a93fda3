//! The generations of an environment (`log`) and going back to one (`rollback`): what both the
//! CLI and the web view show and do.

use crate::apply::generations;
use crate::observe::Installed;
use crate::plan::Plan;
use crate::reconcile::Session;
use crate::workspace::EnvPaths;
use miette::{Result, miette};
use serde::Serialize;

/// How far back `log` reads the .cec history for commits no generation applied.
const CEC_HISTORY_LIMIT: usize = 200;

/// `log --json`: generations newest first, and the `.cec` commits no generation applied.
#[derive(Debug, Serialize)]
pub struct LogReport {
    pub generations: Vec<GenerationRow>,
    pub unapplied_cec_commits: Vec<CecCommit>,
    /// Generations and unapplied commits in history order, newest first (what `log` prints).
    #[serde(skip)]
    pub timeline: Vec<TimelineEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GenerationRow {
    pub number: u64,
    pub created: u64,
    pub cec_commit: Option<crate::types::GitCommit>,
    pub summary: String,
    /// The plan lines it applied (empty when compacted: only the count is kept).
    pub actions: Vec<String>,
    pub action_count: usize,
    pub compacted: bool,
    /// The live generation.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CecCommit {
    pub commit: String,
    pub time: i64,
    pub summary: String,
}

#[derive(Debug, Clone)]
pub enum TimelineEntry {
    Generation(GenerationRow),
    Commit(CecCommit),
}

pub fn log(env: &EnvPaths) -> Result<LogReport> {
    let read_err = |e| miette!("could not read generations: {e}");
    let gens = generations::index(&env.state).map_err(read_err)?.generations;
    let live = Installed::load(&env.state).map(|i| i.generation).unwrap_or(0);
    // .cec commits no generation applied (pulled, or committed by hand), in history order.
    let history = crate::git::cec::history(&env.cec, CEC_HISTORY_LIMIT).unwrap_or_default();
    let mut rows = std::collections::BTreeMap::new();
    for g in gens.iter().rev() {
        // The action lines are in the full record; a compacted generation has only its count.
        let actions = match g.compacted {
            true => Vec::new(),
            false => generations::read(&env.state, g.number)
                .map_err(read_err)?
                .map(|r| r.actions)
                .unwrap_or_default(),
        };
        rows.insert(
            g.number,
            GenerationRow {
                number: g.number,
                created: g.created,
                cec_commit: g.cec_commit.clone(),
                summary: g.summary.clone(),
                actions,
                action_count: g.actions,
                compacted: g.compacted,
                current: g.number == live,
            },
        );
    }
    let commit = |c: &crate::git::cec::CommitInfo| CecCommit {
        commit: c.id.to_string(),
        time: c.time,
        summary: c.summary.clone(),
    };
    let timeline: Vec<TimelineEntry> = crate::cec::timeline(&gens, &history)
        .iter()
        .filter_map(|e| match e {
            crate::cec::LogEntry::Generation(g) => rows.get(&g.number).cloned().map(TimelineEntry::Generation),
            crate::cec::LogEntry::Commit(c) => Some(TimelineEntry::Commit(commit(c))),
        })
        .collect();
    Ok(LogReport {
        generations: rows.into_values().rev().collect(),
        unapplied_cec_commits: timeline
            .iter()
            .filter_map(|e| match e {
                TimelineEntry::Commit(c) => Some(c.clone()),
                TimelineEntry::Generation(_) => None,
            })
            .collect(),
        timeline,
    })
}

/// What a rollback did.
#[derive(Debug, Serialize)]
pub struct RollbackReport {
    /// The generation gone back to.
    pub target: u64,
    /// The new generation recording it (None: the disk already was that generation).
    pub generation: Option<u64>,
    /// False when `confirm` said no: nothing was changed.
    pub applied: bool,
}

/// Makes generation `number` (None: the one before the live one) the desired state and applies
/// it. `confirm` sees the plan and the target first and may refuse (a non-empty plan only); any
/// failure or refusal puts the desired state back.
pub fn rollback(
    session: &mut Session,
    number: Option<u64>,
    confirm: &mut dyn FnMut(&Plan, u64) -> Result<bool>,
) -> Result<RollbackReport> {
    // The one rollback transaction (`ops::rollback`), with this edge's confirmation.
    let (mut refused, mut declined) = (None, None);
    let outcome = super::rollback::roll_back(
        session,
        number,
        "",
        &mut |target, plan| match confirm(plan, target.number) {
            Ok(go) if go || plan.is_empty() => true,
            Ok(_) => {
                declined = Some(target.number);
                false
            }
            Err(e) => {
                refused = Some(e);
                false
            }
        },
    );
    if let Some(e) = refused {
        return Err(e);
    }
    match (outcome, declined) {
        (Ok((target, new)), _) => Ok(RollbackReport {
            target: target.number,
            generation: new.map(|g| g.number),
            applied: true,
        }),
        (Err(_), Some(target)) => Ok(RollbackReport {
            target,
            generation: None,
            applied: false,
        }),
        (Err(e), None) => Err(e),
    }
}
