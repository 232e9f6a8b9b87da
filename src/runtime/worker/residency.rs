//! Telling the scheduler which results moved between memory and the spill directory, so it
//! prefers workers holding a task's inputs in memory (see docs/runtime.md, placement).
//!
//! The memory monitor passes every chunk-store event it drains through [`ResidencyReport`];
//! after each batch it sends the net changes as one `ResidencyChanged` message (none when
//! nothing moved). A chunk that moved both ways within a batch is reported where it ended up;
//! one removed is not reported (the scheduler frees or drops it on its own). A report could in
//! principle overtake the `TaskFinished` of the result it names (spilled within the moment
//! between storing and reporting it); the scheduler then ignores it and counts that copy as in
//! memory, which only weakens a placement preference. This module only reports: it must not
//! spill or decide anything.

use std::collections::HashMap;

use crate::core::memory::MemoryEvent;
use crate::core::TaskKey;
use crate::protocol::{Frame, Message};
use crate::transport::FrameSender;

/// Net residency changes since the last report: `true` = on disk, `false` = back in memory.
#[derive(Debug, Default)]
pub struct ResidencyReport {
    moved: HashMap<TaskKey, bool>,
}

impl ResidencyReport {
    /// Account for one store event.
    pub fn observe(&mut self, event: &MemoryEvent) {
        match event {
            MemoryEvent::Spilled { key, .. } => {
                self.moved.insert(key.clone(), true);
            }
            MemoryEvent::Unspilled { key } => {
                self.moved.insert(key.clone(), false);
            }
            MemoryEvent::Stored { key, .. } => {
                // Stored again (a replica, a recomputation): in memory now.
                if let Some(on_disk) = self.moved.get_mut(key) {
                    *on_disk = false;
                }
            }
            MemoryEvent::Removed { key } => {
                self.moved.remove(key);
            }
            _ => {}
        }
    }

    /// The pending changes as one message (`None` when nothing moved); the report is empty
    /// afterwards.
    pub fn take_message(&mut self) -> Option<Message> {
        if self.moved.is_empty() {
            return None;
        }
        let (mut to_disk, mut to_memory) = (Vec::new(), Vec::new());
        for (key, on_disk) in self.moved.drain() {
            if on_disk {
                to_disk.push(key);
            } else {
                to_memory.push(key);
            }
        }
        Some(Message::ResidencyChanged { to_disk, to_memory })
    }

    /// Send the pending changes to the scheduler, if any.
    pub fn flush(&mut self, to_scheduler: &FrameSender) {
        if let Some(message) = self.take_message() {
            if let Err(e) = to_scheduler.send(Frame::single(message)) {
                tracing::debug!(error = %e, "cannot report spilled results to the scheduler");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> TaskKey {
        TaskKey::new(s)
    }

    fn sorted(mut keys: Vec<TaskKey>) -> Vec<TaskKey> {
        keys.sort();
        keys
    }

    #[test]
    fn reports_net_moves_once() {
        let mut report = ResidencyReport::default();
        assert_eq!(report.take_message(), None);
        for event in [
            MemoryEvent::Spilled {
                key: key("a"),
                nbytes_on_disk: 8,
            },
            MemoryEvent::Spilled {
                key: key("b"),
                nbytes_on_disk: 8,
            },
            MemoryEvent::Unspilled { key: key("b") },
            MemoryEvent::Spilled {
                key: key("c"),
                nbytes_on_disk: 8,
            },
            MemoryEvent::Removed { key: key("c") },
            MemoryEvent::Spilled {
                key: key("d"),
                nbytes_on_disk: 8,
            },
            MemoryEvent::Stored {
                key: key("d"),
                nbytes: 8,
            },
            MemoryEvent::Accessed { key: key("a") },
        ] {
            report.observe(&event);
        }
        let Some(Message::ResidencyChanged { to_disk, to_memory }) = report.take_message() else {
            panic!("expected a residency message");
        };
        assert_eq!(to_disk, vec![key("a")]);
        assert_eq!(sorted(to_memory), vec![key("b"), key("d")]);
        assert_eq!(report.take_message(), None);
    }
}
