//! A snapshot of the memory manager's counters for `tessera info`, logs and dashboards.
//!
//! Plain data; this module must not compute decisions.

/// Memory figures of one worker at one moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryMetrics {
    /// The memory limit in bytes, if any.
    pub limit: Option<u64>,
    /// Bytes of chunks held in memory (including chunks being spilled).
    pub memory_bytes: u64,
    /// Chunks held in memory (including chunks being spilled).
    pub memory_chunks: usize,
    /// Bytes of chunks whose spill was requested but not yet confirmed.
    pub spilling_bytes: u64,
    /// In-memory size of the chunks on disk.
    pub spilled_bytes: u64,
    /// Bytes the spilled chunks take on disk.
    pub spilled_disk_bytes: u64,
    /// Chunks on disk.
    pub spilled_chunks: usize,
    /// The last RSS sample.
    pub rss_bytes: Option<u64>,
    /// RSS not explained by stored chunks (interpreter, buffers, fragmentation, leaks).
    pub unmanaged_bytes: Option<u64>,
    /// The worker is paused.
    pub paused: bool,
    /// Spilling is stopped because the disk or `max_spill` is full.
    pub disk_full: bool,
    /// Terminate was requested.
    pub terminated: bool,
    /// Chunks confirmed spilled since start.
    pub spill_count: u64,
    /// Chunks read back from disk since start.
    pub unspill_count: u64,
    /// Spill attempts that failed since start.
    pub spill_failures: u64,
    /// Times the worker paused since start.
    pub pause_count: u64,
}
