//! What the worker tells its memory manager: chunk bookkeeping from the store, RSS samples
//! from the process, and clock ticks.
//!
//! Events are plain data; this module must not interpret them.

use crate::core::task::TaskKey;

/// Why the store could not spill a chunk (the chunk stayed in memory).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpillFailure {
    /// The filesystem is full (`ENOSPC`/`EDQUOT`).
    NoSpace {
        /// The error as the store saw it, naming the spill directory.
        message: String,
    },
    /// Writing the chunk would take the spill directory above `max_spill` bytes.
    CapReached {
        /// The configured cap in bytes.
        max_spill: u64,
    },
    /// Any other I/O error.
    Io {
        /// The error as the store saw it, naming the file.
        message: String,
    },
}

impl std::fmt::Display for SpillFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpillFailure::NoSpace { message } => write!(f, "no space left: {message}"),
            SpillFailure::CapReached { max_spill } => {
                write!(f, "the spill cap max_spill={max_spill} bytes is reached")
            }
            SpillFailure::Io { message } => write!(f, "I/O error: {message}"),
        }
    }
}

/// One thing that happened to the worker's memory.
#[derive(Clone, Debug, PartialEq)]
pub enum MemoryEvent {
    /// A chunk of `nbytes` was stored in memory (replacing any earlier value of `key`).
    Stored {
        /// The chunk's key.
        key: TaskKey,
        /// Its size in memory.
        nbytes: u64,
    },
    /// A chunk was read (makes it the most recently used).
    Accessed {
        /// The chunk's key.
        key: TaskKey,
    },
    /// A chunk was deleted, wherever it was.
    Removed {
        /// The chunk's key.
        key: TaskKey,
    },
    /// The store confirms a chunk is on disk and its memory is released.
    Spilled {
        /// The chunk's key.
        key: TaskKey,
        /// Bytes it takes on disk (after optional compression).
        nbytes_on_disk: u64,
    },
    /// A spilled chunk was read back into memory (and is now the most recently used).
    Unspilled {
        /// The chunk's key.
        key: TaskKey,
    },
    /// The store could not spill a chunk; it stays in memory.
    SpillFailed {
        /// The chunk's key.
        key: TaskKey,
        /// Why.
        reason: SpillFailure,
    },
    /// The process's resident set size was measured.
    RssSample {
        /// Resident bytes of the whole worker process.
        rss_bytes: u64,
        /// Of these, bytes of spilled chunks that running tasks read for themselves without
        /// unspilling them (released when those tasks end). RSS-triggered spilling leaves them
        /// out: spilling other chunks to make room for buffers about to be freed would only
        /// write chunks that must be read back later. Pause and terminate see the whole RSS.
        transient_bytes: u64,
    },
    /// Bytes of chunks about to arrive (inputs being fetched from peers); replaces the previous
    /// figure. Target spilling makes room for them before they arrive.
    Incoming {
        /// Current total.
        nbytes: u64,
    },
    /// Bytes the running tasks are expected to produce (each task's expected output, e.g. the
    /// last result of its key prefix); replaces the previous figure. Pause and target spilling
    /// count them on top of memory, so several threads starting tasks at once pause and spill
    /// before their results land instead of crossing the terminate threshold together.
    Running {
        /// Current total.
        nbytes: u64,
    },
    /// Time passed (lets back-offs and retries expire without other events).
    Tick,
}
