//! What the memory manager asks the worker to do.
//!
//! Actions are plain data; this module must not carry them out.

use crate::core::task::TaskKey;

/// Why a spill batch was requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpillCause {
    /// Managed (stored chunk) bytes are above the `target` threshold.
    Target,
    /// Process RSS is above the `spill` threshold.
    Rss,
}

/// One thing the worker must do.
#[derive(Clone, Debug, PartialEq)]
pub enum MemoryAction {
    /// Write these chunks to disk, least recently used first, and release their memory.
    /// Answer each key with [`super::MemoryEvent::Spilled`] or
    /// [`super::MemoryEvent::SpillFailed`] (a key removed meanwhile needs no answer).
    Spill {
        /// Keys in least-recently-used order.
        keys: Vec<TaskKey>,
        /// Which threshold asked for it.
        cause: SpillCause,
    },
    /// Stop starting new tasks and tell the scheduler this worker is paused.
    Pause {
        /// The memory measure that crossed the threshold (max of RSS and managed bytes).
        memory_bytes: u64,
        /// The pause threshold in bytes.
        pause_bytes: u64,
    },
    /// Start tasks again and tell the scheduler this worker is running.
    Resume {
        /// The memory measure that fell below the resume level.
        memory_bytes: u64,
    },
    /// Stop the worker now; `reason` is the message to log and report.
    Terminate {
        /// A sentence naming the memory use, the limit and what to change.
        reason: String,
    },
    /// Spilling stopped (disk full or `max_spill` reached). Tell the scheduler the worker can
    /// take no more work beyond what fits in memory.
    DiskFull {
        /// A sentence naming the cause.
        reason: String,
    },
    /// Spilling works again after [`MemoryAction::DiskFull`].
    DiskAvailable,
    /// A rate-limited warning to log.
    Warn {
        /// The warning text.
        message: String,
    },
}
