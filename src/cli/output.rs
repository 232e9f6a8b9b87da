//! Human-readable rendering of cluster information. JSON output is the serde form of the same
//! structs. This module must not do I/O itself: it returns strings.

use std::fmt::Write;

use crate::protocol::ClusterInfo;
use crate::units::ByteSize;

/// `tessera info` as text.
pub fn render_info(info: &ClusterInfo) -> String {
    let mut out = String::new();
    let threads: u32 = info.workers.iter().map(|w| w.nthreads).sum();
    let _ = writeln!(
        out,
        "Scheduler  {}  up {}  clients {}",
        info.scheduler_address,
        crate::units::format_duration(std::time::Duration::from_secs_f64(
            info.uptime_secs.max(0.0)
        )),
        info.clients
    );
    let _ = writeln!(
        out,
        "Workers    {} ({} threads)",
        info.workers.len(),
        threads
    );
    if !info.workers.is_empty() {
        let _ = writeln!(
            out,
            "  {:>4}  {:<16} {:<24} {:>7} {:>11} {:>11} {:>11} {:>9}",
            "ID", "NAME", "ADDRESS", "THREADS", "LIMIT", "STORED", "RSS", "RUNNING"
        );
        for w in &info.workers {
            let limit = w
                .memory_limit
                .map(|m| ByteSize(m).to_string())
                .unwrap_or_else(|| "none".into());
            let _ = writeln!(
                out,
                "  {:>4}  {:<16} {:<24} {:>7} {:>11} {:>11} {:>11} {:>9}",
                w.id,
                w.name,
                w.address,
                w.nthreads,
                limit,
                ByteSize(w.metrics.memory_bytes).to_string(),
                ByteSize(w.metrics.rss_bytes).to_string(),
                w.metrics.executing
            );
        }
    }
    let order = [
        "waiting",
        "ready",
        "processing",
        "memory",
        "erred",
        "completed",
    ];
    let mut names: Vec<&String> = info.tasks.keys().collect();
    names.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(order.len()));
    let tasks: Vec<String> = names
        .into_iter()
        .map(|k| format!("{k} {}", info.tasks[k]))
        .collect();
    let _ = writeln!(out, "Tasks      {}", tasks.join("  "));
    out
}
