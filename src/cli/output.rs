//! Human-readable rendering of cluster information. JSON output is the serde form of the same
//! structs. This module must not do I/O itself: it returns strings.

use std::fmt::Write;

use crate::protocol::ClusterInfo;
use crate::units::ByteSize;

/// A throughput such as `1.2 GiB/s` (`-` when nothing was measured).
fn rate(bytes_per_second: f64) -> String {
    if bytes_per_second > 0.0 && bytes_per_second.is_finite() {
        format!("{}/s", ByteSize(bytes_per_second as u64))
    } else {
        "-".to_string()
    }
}

/// An uptime for people: whole seconds (`1h2m3s`), whole milliseconds under a second.
fn uptime(secs: f64) -> String {
    let secs = if secs.is_finite() { secs.max(0.0) } else { 0.0 };
    let rounded = if secs < 1.0 {
        std::time::Duration::from_millis((secs * 1000.0).round() as u64)
    } else {
        std::time::Duration::from_secs(secs.round() as u64)
    };
    crate::units::format_duration(rounded)
}

/// `tessera info` as text.
pub fn render_info(info: &ClusterInfo) -> String {
    let mut out = String::new();
    let threads: u32 = info.workers.iter().map(|w| w.nthreads).sum();
    let _ = writeln!(
        out,
        "Scheduler  {}  up {}  clients {}",
        info.scheduler_address,
        uptime(info.uptime_secs),
        info.clients
    );
    if let Some(url) = &info.dashboard {
        let _ = writeln!(
            out,
            "Dashboard  {url}  (`tessera dashboard` prints it with its token)"
        );
    }
    let _ = writeln!(
        out,
        "Workers    {} ({} threads)",
        info.workers.len(),
        threads
    );
    if !info.workers.is_empty() {
        let _ = writeln!(
            out,
            "  {:>4}  {:<16} {:<24} {:>7} {:>11} {:>11} {:>11} {:>11} {:>9}  STATE",
            "ID", "NAME", "ADDRESS", "THREADS", "LIMIT", "IN MEMORY", "SPILLED", "RSS", "RUNNING",
        );
        for w in &info.workers {
            let limit = w
                .memory_limit
                .map(|m| ByteSize(m).to_string())
                .unwrap_or_else(|| "none".into());
            let m = &w.metrics;
            let state = match (m.paused, m.disk_full) {
                (false, false) => "running",
                (true, false) => "paused",
                (false, true) => "disk-full",
                (true, true) => "paused,disk-full",
            };
            let state = match w.remaining_lifetime_secs {
                Some(secs) => format!(
                    "{state}, ends in {}",
                    crate::units::format_duration(std::time::Duration::from_secs(secs as u64))
                ),
                None => state.to_string(),
            };
            let _ = writeln!(
                out,
                "  {:>4}  {:<16} {:<24} {:>7} {:>11} {:>11} {:>11} {:>11} {:>9}  {}",
                w.id,
                w.name,
                w.address,
                w.nthreads,
                limit,
                ByteSize(m.memory_bytes).to_string(),
                ByteSize(m.spilled_bytes).to_string(),
                ByteSize(m.rss_bytes).to_string(),
                m.executing,
                state
            );
        }
        let spilling: Vec<&crate::protocol::WorkerInfo> = info
            .workers
            .iter()
            .filter(|w| w.metrics.spill_written_bytes > 0 || w.metrics.spilled_chunks > 0)
            .collect();
        if !spilling.is_empty() {
            let _ = writeln!(
                out,
                "  {:>4}  {:>14} {:>11} {:>11} {:>14} {:>14} {:>11}",
                "ID",
                "SPILLED CHUNKS",
                "ON DISK",
                "WRITTEN",
                "SPILL RATE",
                "UNSPILL RATE",
                "PEAK RSS"
            );
            for w in spilling {
                let m = &w.metrics;
                let _ = writeln!(
                    out,
                    "  {:>4}  {:>14} {:>11} {:>11} {:>14} {:>14} {:>11}",
                    w.id,
                    m.spilled_chunks,
                    ByteSize(m.spill_disk_bytes).to_string(),
                    ByteSize(m.spill_written_bytes).to_string(),
                    rate(m.spill_bytes_per_second),
                    rate(m.unspill_bytes_per_second),
                    ByteSize(m.peak_rss_bytes).to_string()
                );
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{WorkerInfo, WorkerMetrics};

    fn worker(id: u32, metrics: WorkerMetrics) -> WorkerInfo {
        WorkerInfo {
            id,
            name: format!("w{id}"),
            host: "node".into(),
            pid: 1,
            address: format!("tcp://127.0.0.1:{id}"),
            nthreads: 1,
            memory_limit: Some(1 << 30),
            memory_thresholds: Default::default(),
            metrics,
            remaining_lifetime_secs: None,
        }
    }

    #[test]
    fn uptime_is_rounded_for_people() {
        assert_eq!(uptime(0.247805234), "248ms");
        assert_eq!(uptime(3725.4), "1h2m5s");
        assert_eq!(uptime(59.6), "1m");
        assert_eq!(uptime(f64::NAN), "0s");
        assert_eq!(uptime(-1.0), "0s");
    }

    #[test]
    fn info_shows_memory_state_and_spill_figures() {
        let info = ClusterInfo {
            scheduler_address: "tcp://127.0.0.1:1".into(),
            uptime_secs: 3.0,
            clients: 1,
            workers: vec![
                worker(1, WorkerMetrics::default()),
                worker(
                    2,
                    WorkerMetrics {
                        memory_bytes: 600 << 20,
                        spilled_bytes: 3 << 30,
                        spilled_chunks: 19,
                        spill_written_bytes: 3 << 30,
                        spill_bytes_per_second: (2u64 << 30) as f64,
                        paused: true,
                        disk_full: true,
                        ..WorkerMetrics::default()
                    },
                ),
                WorkerInfo {
                    remaining_lifetime_secs: Some(3_270.4),
                    ..worker(3, WorkerMetrics::default())
                },
            ],
            tasks: Default::default(),
            dashboard: Some("http://node1:8787/".into()),
        };
        let text = render_info(&info);
        let lines: Vec<&str> = text.lines().collect();
        let w1 = lines.iter().find(|l| l.contains("w1")).unwrap();
        let w2 = lines.iter().find(|l| l.contains("w2")).unwrap();
        assert!(
            text.contains("Dashboard  http://node1:8787/  (`tessera dashboard`"),
            "{text}"
        );
        assert!(w1.ends_with("running"), "{w1}");
        assert!(w2.contains("600 MiB") && w2.contains("3 GiB"), "{w2}");
        assert!(w2.ends_with("paused,disk-full"), "{w2}");
        let w3 = lines.iter().find(|l| l.contains("w3")).unwrap();
        let ends = crate::units::format_duration(std::time::Duration::from_secs(3_270));
        assert!(w3.ends_with(&format!("running, ends in {ends}")), "{w3}");
        let spill = lines
            .iter()
            .skip_while(|l| !l.contains("SPILL RATE"))
            .nth(1)
            .unwrap();
        assert!(spill.contains("19") && spill.contains("2 GiB/s"), "{spill}");
        assert_eq!(
            lines.iter().filter(|l| l.contains("SPILL RATE")).count(),
            1,
            "only spilling workers get a spill line"
        );
    }
}
