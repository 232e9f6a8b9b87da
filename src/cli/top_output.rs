//! `tessera top` as text: one screen of workers (load, memory, tasks, time left), tasks by
//! state and progress per task prefix, from the scheduler's view. Must not do I/O.

use std::fmt::Write;
use std::time::Duration;

use crate::runtime::scheduler_view::SchedulerView;
use crate::units::{format_duration, ByteSize};

/// Most prefixes listed (the largest).
const PREFIXES_SHOWN: usize = 15;

/// One screen of `tessera top`.
pub fn render_top(view: &SchedulerView) -> String {
    let mut out = String::new();
    let info = &view.info;
    let threads: u32 = info.workers.iter().map(|w| w.nthreads).sum();
    let _ = writeln!(
        out,
        "tessera top  {}  up {}  workers {} ({} threads)  {:.1} tasks/s",
        info.scheduler_address,
        format_duration(Duration::from_secs(info.uptime_secs.max(0.0) as u64)),
        info.workers.len(),
        threads,
        view.tasks_per_second
    );
    let count = |k: &str| info.tasks.get(k).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "tasks  waiting {}  ready {}  processing {}  in memory {}  erred {}  completed {}   \
         memory {}  spilled {}",
        count("waiting"),
        count("ready"),
        count("processing"),
        count("memory"),
        count("erred"),
        count("completed"),
        ByteSize(view.memory_bytes),
        ByteSize(view.spilled_bytes)
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<16} {:<12} {:>5} {:>11} {:>11} {:>11} {:>11} {:>5} {:>6} {:>8} {:>9}  STATE",
        "WORKER",
        "HOST",
        "CPU%",
        "RSS",
        "LIMIT",
        "STORED",
        "SPILLED",
        "RUN",
        "QUEUED",
        "DONE",
        "LEFT"
    );
    for w in &info.workers {
        let m = &w.metrics;
        let load = view.loads.iter().find(|l| l.id == w.id);
        let state = if load.is_some_and(|l| l.retiring) {
            "retiring"
        } else if m.paused {
            "paused"
        } else if m.disk_full {
            "disk-full"
        } else {
            "running"
        };
        let left = w.remaining_lifetime_secs.map_or("-".to_string(), |s| {
            format_duration(Duration::from_secs(s.max(0.0) as u64))
        });
        let _ = writeln!(
            out,
            "{:<16} {:<12} {:>5.0} {:>11} {:>11} {:>11} {:>11} {:>5} {:>6} {:>8} {:>9}  {}",
            w.name,
            w.host,
            load.map_or(0.0, |l| l.cpu_percent),
            ByteSize(m.rss_bytes).to_string(),
            w.memory_limit
                .map_or("none".to_string(), |l| ByteSize(l).to_string()),
            ByteSize(m.memory_bytes).to_string(),
            ByteSize(m.spilled_bytes).to_string(),
            m.executing,
            m.ready,
            m.completed,
            left,
            state
        );
    }
    if !view.prefixes.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<24} {:>9} {:>10} {:>10} {:>9} {:>7}",
            "PREFIX", "DONE", "IN MEMORY", "PROCESSING", "WAITING", "ERRED"
        );
        for p in view.prefixes.iter().take(PREFIXES_SHOWN) {
            let _ = writeln!(
                out,
                "{:<24} {:>9} {:>10} {:>10} {:>9} {:>7}",
                p.prefix, p.done, p.in_memory, p.processing, p.waiting, p.erred
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClusterInfo, WorkerInfo, WorkerMetrics};
    use crate::runtime::scheduler_view::{PrefixProgress, WorkerLoad};

    #[test]
    fn a_screen_lists_workers_states_and_prefixes() {
        let worker = |id: u32, paused| WorkerInfo {
            id,
            name: format!("w{id}"),
            host: "node7".into(),
            pid: 1,
            address: String::new(),
            nthreads: 4,
            memory_limit: Some(4 << 30),
            memory_thresholds: Default::default(),
            metrics: WorkerMetrics {
                rss_bytes: 3 << 30,
                paused,
                ..Default::default()
            },
            remaining_lifetime_secs: Some(600.0),
        };
        let view = SchedulerView {
            now_ms: 0.0,
            info: ClusterInfo {
                scheduler_address: "tcp://node7:8786".into(),
                uptime_secs: 65.0,
                clients: 1,
                workers: vec![worker(1, false), worker(2, true)],
                tasks: [("processing".to_string(), 8)].into_iter().collect(),
                dashboard: None,
            },
            loads: vec![WorkerLoad {
                id: 1,
                cpu_percent: 390.0,
                retiring: true,
            }],
            prefixes: vec![PrefixProgress {
                prefix: "mean".into(),
                done: 12,
                waiting: 3,
                ..Default::default()
            }],
            tasks_per_second: 2.5,
            memory_bytes: 0,
            spilled_bytes: 0,
            task_events_next: 0,
            graph: None,
        };
        let text = render_top(&view);
        assert!(text.contains("workers 2 (8 threads)"), "{text}");
        assert!(text.contains("processing 8"), "{text}");
        let lines: Vec<&str> = text.lines().collect();
        let w1 = lines.iter().find(|l| l.starts_with("w1 ")).unwrap();
        assert!(w1.contains(" 390 ") && w1.ends_with("retiring"), "{w1}");
        assert!(w1.contains("10m"), "time left: {w1}");
        let w2 = lines.iter().find(|l| l.starts_with("w2 ")).unwrap();
        assert!(w2.ends_with("paused"), "{w2}");
        let mean = lines.iter().find(|l| l.starts_with("mean ")).unwrap();
        assert_eq!(
            mean.split_whitespace().collect::<Vec<_>>(),
            ["mean", "12", "0", "0", "3", "0"]
        );
    }
}
