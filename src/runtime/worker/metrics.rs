//! Worker figures for heartbeats and `tessera info`: stored bytes, RSS, task counts.
//! Reads `/proc/self/statm` (about 2 µs); must not block on anything else.

use std::sync::atomic::Ordering;

use crate::protocol::WorkerMetrics;

use super::state::WorkerState;

/// Resident set size of this process in bytes (0 where `/proc` is unavailable).
pub fn process_rss_bytes() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(1) as u64
}

pub(super) fn collect(state: &WorkerState) -> WorkerMetrics {
    let (memory_bytes, stored_keys) = {
        let d = state.data();
        (d.bytes(), d.len() as u64)
    };
    let (executing, ready) = {
        let t = state.tasks();
        (t.running, t.queued() as u32)
    };
    WorkerMetrics {
        memory_bytes,
        rss_bytes: process_rss_bytes(),
        stored_keys,
        executing,
        ready,
        completed: state.completed.load(Ordering::Relaxed),
    }
}
