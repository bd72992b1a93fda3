//! How lower layers report progress without printing: they call a `Reporter`, and `cli`
//! decides what a person (or a CI log) sees.

/// Receives progress from long operations. Implementations live in `cli`.
pub trait Reporter: Sync {
    /// A step of a longer operation has started ("Cloning ComfyUI", "Syncing Python packages").
    fn step(&self, message: &str);
    /// Something worth a person's attention that does not stop the operation.
    fn warn(&self, message: &str) {
        self.step(message);
    }
    /// A remark that explains what the operation will do ("`x` is pinned to 1.2 in the
    /// manifest").
    fn note(&self, message: &str) {
        self.step(message);
    }
    /// Whether a tool comfydock runs (uv) may draw its own progress on the user's terminal:
    /// only a reporter that owns a terminal, and not under `-q`, says yes.
    fn terminal(&self) -> bool {
        false
    }
    /// A transfer (download) named `label` has `done` of `total` bytes (None: size unknown).
    /// Several may run at once; each label is one transfer.
    fn transfer(&self, _label: &str, _done: u64, _total: Option<u64>) {}
    /// The transfer named `label` is over (finished or failed).
    fn transfer_end(&self, _label: &str) {}
    /// Counted work named `label` ("versions", "pack pages") has `done` of `total` items done.
    /// A terminal shows a bar; logs show nothing (the operation reports its own milestones
    /// through `step`, which keeps CI output short).
    fn count(&self, _label: &str, _done: u64, _total: u64) {}
    /// The counted work named `label` is over.
    fn count_end(&self, _label: &str) {}
}

/// A short name for a download in progress output: the last two segments of its URL's path.
pub fn transfer_label(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let segments: Vec<&str> = path.rsplit('/').filter(|s| !s.is_empty()).take(2).collect();
    segments.into_iter().rev().collect::<Vec<_>>().join("/")
}

/// A reporter that drops everything (tests, `--quiet`).
pub struct Silent;

impl Reporter for Silent {
    fn step(&self, _message: &str) {}
}
