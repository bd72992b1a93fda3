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
}

/// A reporter that drops everything (tests, `--quiet`).
pub struct Silent;

impl Reporter for Silent {
    fn step(&self, _message: &str) {}
}
