//! The plan: a DAG of typed actions (petgraph for ordering), rendered for people in
//! Terraform's conventions and for machines as JSON (`schema/plan.schema.json`).

mod action;
mod diff;
pub mod impact;
mod render;
mod render_markdown;
mod saved;

pub use action::{Action, Kind, WorkflowChange, human_size, short};
pub use diff::{ModelTarget, PythonTarget, diff, venv_key, workflow_change};
pub use render::{render_json, render_text};
pub use render_markdown::render_markdown;
pub use saved::{SavedPlan, SavedPlanError, fingerprint};

use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

/// The JSON format of `plan --json` and saved plans; minor additions keep "1".
pub const FORMAT_VERSION: &str = "1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub environment: String,
    pub actions: Vec<Action>,
    /// (before, after): `after` may start only when `before` is done.
    pub edges: Vec<(usize, usize)>,
    /// Locked models this machine does not place (`import --models skip`): not actions, so a
    /// plan with only these is empty, but every rendering names them.
    pub skipped_models: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    pub fn new(environment: &str) -> Self {
        Plan {
            environment: environment.to_string(),
            actions: Vec::new(),
            edges: Vec::new(),
            skipped_models: Vec::new(),
        }
    }

    pub fn push(&mut self, action: Action) -> usize {
        self.actions.push(action);
        self.actions.len() - 1
    }

    pub fn edge(&mut self, before: usize, after: usize) {
        self.edges.push((before, after));
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Whether applying changes anything: some action is more than a drift notice.
    pub fn has_work(&self) -> bool {
        self.actions.iter().any(|a| !a.is_notice())
    }

    /// Tracked workflows the plan breaks (sorted, once each).
    pub fn broken_workflows(&self) -> Vec<String> {
        let mut names: Vec<String> = self.actions.iter().flat_map(|a| a.breaks().iter().cloned()).collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for a in &self.actions {
            match a.kind() {
                Kind::Create => s.add += 1,
                Kind::Update => s.change += 1,
                Kind::Delete => s.destroy += 1,
            }
        }
        s
    }

    pub fn graph(&self) -> DiGraph<usize, ()> {
        let mut g = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..self.actions.len()).map(|i| g.add_node(i)).collect();
        for &(a, b) in &self.edges {
            g.add_edge(nodes[a], nodes[b], ());
        }
        g
    }

    /// Actions grouped in waves: every action's prerequisites are in earlier waves, so the
    /// actions of one wave can run in parallel.
    pub fn waves(&self) -> Vec<Vec<usize>> {
        let g = self.graph();
        let order = petgraph::algo::toposort(&g, None).expect("plans are acyclic by construction");
        let mut depth = vec![0usize; self.actions.len()];
        for n in order {
            for m in g.neighbors(n) {
                depth[g[m]] = depth[g[m]].max(depth[g[n]] + 1);
            }
        }
        let mut waves: Vec<Vec<usize>> = vec![Vec::new(); depth.iter().max().map_or(0, |d| d + 1)];
        for (i, d) in depth.into_iter().enumerate() {
            waves[d].push(i);
        }
        waves
    }

    /// Drops the actions `leave_out` picks, with their edges (an edit that applies only part of
    /// what `apply` would: `node adopt` leaves the folders it was not asked about alone).
    pub fn leave_out(&mut self, leave_out: &dyn Fn(&Action) -> bool) {
        let mut index = Vec::with_capacity(self.actions.len());
        let mut kept = Vec::new();
        for action in self.actions.drain(..) {
            if leave_out(&action) {
                index.push(None);
            } else {
                index.push(Some(kept.len()));
                kept.push(action);
            }
        }
        self.actions = kept;
        self.edges = self
            .edges
            .iter()
            .filter_map(|&(a, b)| Some((index[a]?, index[b]?)))
            .collect();
    }

    pub fn depends_on(&self, i: usize) -> Vec<usize> {
        self.edges.iter().filter(|(_, b)| *b == i).map(|(a, _)| *a).collect()
    }
}
