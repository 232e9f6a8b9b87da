//! Worker figures for heartbeats and `tessera info`: stored and spilled bytes, spill
//! throughput, RSS, CPU time, memory state, task counts. Reads `/proc/self/statm`,
//! `/proc/self/stat` and `/proc/self/status`; must not block on anything else.

use std::sync::atomic::Ordering;

use crate::protocol::WorkerMetrics;

use super::memory_monitor::MemoryMonitor;
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

/// Highest resident set size of this process so far (`VmHWM`), in bytes (0 where unknown).
pub fn process_peak_rss_bytes() -> u64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// CPU time (user + system) this process has used, in seconds (0 where `/proc` is
/// unavailable).
pub fn process_cpu_seconds() -> f64 {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let Some(after) = s.rfind(')').map(|i| &s[i + 1..]) else {
        return 0.0;
    };
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    ticks as f64 / hz.max(1) as f64
}

fn rate(bytes: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        bytes as f64 / seconds
    } else {
        0.0
    }
}

pub(super) fn collect(state: &WorkerState, monitor: &MemoryMonitor) -> WorkerMetrics {
    let stored_keys = state.data().len() as u64;
    let store = state.store.metrics();
    let (paused, disk_full) = monitor.reported_status();
    let (executing, ready) = {
        let t = state.tasks();
        (t.running, t.queued() as u32)
    };
    WorkerMetrics {
        memory_bytes: store.memory_bytes,
        rss_bytes: process_rss_bytes(),
        stored_keys,
        executing,
        ready,
        completed: state.completed.load(Ordering::Relaxed),
        memory_chunks: store.memory_chunks as u64,
        spilled_bytes: store.spilled_bytes,
        spilled_chunks: store.spilled_chunks as u64,
        spill_disk_bytes: store.disk_bytes,
        spill_written_bytes: store.bytes_written,
        spill_bytes_per_second: rate(store.bytes_written, store.write_seconds),
        unspill_read_bytes: store.bytes_read,
        unspill_bytes_per_second: rate(store.bytes_read, store.read_seconds),
        peak_rss_bytes: process_peak_rss_bytes(),
        paused,
        disk_full,
        cpu_seconds: process_cpu_seconds(),
    }
}
