//! A list of weak task references with lazy deletion: what a worker holds, what a client wants.
//!
//! Adding is a push; removing only decrements the live count, and the stale entry is skipped
//! by whoever walks the list (they re-check against the task, which is the source of truth).
//! When stale entries outnumber live ones the list is compacted, so memory stays proportional
//! to the live entries and every operation is amortised O(1) — cheaper than a hash set on the
//! per-task hot path. The list must not be treated as authoritative.

use super::task_store::TaskRef;

/// Weak task references, possibly stale or repeated; see the module docs.
#[derive(Default)]
pub(super) struct TaskRefList {
    entries: Vec<TaskRef>,
    live: usize,
}

impl TaskRefList {
    /// Record a new live entry; compacts with `is_valid` when mostly stale.
    #[inline]
    pub(super) fn push(&mut self, r: TaskRef, is_valid: impl Fn(TaskRef) -> bool) {
        self.entries.push(r);
        self.live += 1;
        if self.entries.len() > 2 * self.live + 64 {
            self.compact(is_valid);
        }
    }

    #[cold]
    fn compact(&mut self, is_valid: impl Fn(TaskRef) -> bool) {
        self.entries.retain(|e| is_valid(*e));
        self.entries.sort_unstable_by_key(|e| (e.id, e.generation));
        self.entries.dedup();
        self.live = self.entries.len();
    }

    /// Make room for `additional` more entries.
    pub(super) fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
    }

    /// One live entry went stale.
    pub(super) fn note_removed(&mut self) {
        self.live = self.live.saturating_sub(1);
    }

    /// Every entry, stale ones and repeats included: callers re-check each.
    pub(super) fn iter(&self) -> impl Iterator<Item = TaskRef> + '_ {
        self.entries.iter().copied()
    }

    /// Every entry, stale ones and repeats included: callers re-check each.
    pub(super) fn into_entries(self) -> Vec<TaskRef> {
        self.entries
    }
}
