//! How long-running operations report progress without knowing about terminals.

/// Receives progress from long operations. The CLI draws bars; tests and servers ignore it.
pub trait Progress: Send + Sync {
    /// A stage with `total` steps begins.
    fn begin(&self, label: &str, total: u64);
    /// One step of the current stage is done.
    fn advance(&self, message: &str);
    /// The current stage has done `done` of its `total` steps (for stages that count rows
    /// or bytes rather than steps). Default: nothing.
    fn set_position(&self, _done: u64) {}
    /// The current stage is over.
    fn end(&self);
    /// A line of information worth showing.
    fn note(&self, message: &str);
    /// Something the user should act on or know before trusting the result (a dropped or
    /// suspicious column, a capped setting, a failed candidate). Default: a note.
    fn warn(&self, message: &str) {
        self.note(message);
    }
}

/// Discards all progress.
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: &str) {}
    fn end(&self) {}
    fn note(&self, _: &str) {}
}
