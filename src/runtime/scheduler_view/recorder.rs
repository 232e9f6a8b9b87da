//! The central thread's side of the view: notes task results, heartbeats and retirements as
//! the scheduler server sees them, and publishes a [`SchedulerView`] when one is due. Every
//! map is bounded (prefixes capped, workers removed when they leave); rings are appended
//! with `try_lock` so a reader copying items never makes the central thread wait (a batch
//! that finds the ring busy waits for the next publication, itself bounded).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::core::scheduler::task_prefix;
use crate::core::scheduler::StateCounts;
use crate::core::{Scheduler, TaskKey, WorkerId};
use crate::protocol::{ClusterInfo, WorkerMetrics};

use super::{
    lock, GraphNodeView, MemorySample, PrefixProgress, Ring, SchedulerView, SchedulerViewReader,
    TaskEvent, ViewShared, WorkerLoad, MAX_PREFIXES, MEMORY_SAMPLES_KEPT, OTHER_PREFIX,
    SMALL_GRAPH_TASKS, TASK_EVENTS_KEPT,
};

/// How often a view is published.
const PUBLISH_EVERY: Duration = Duration::from_millis(250);
/// How often a memory sample is taken.
const SAMPLE_EVERY: Duration = Duration::from_secs(1);
/// Prefix counts are computed while a view was read within this long.
const READER_ACTIVE: Duration = Duration::from_secs(10);
/// With more known tasks than this, tasks are counted per prefix at most once per
/// [`LARGE_SCAN_EVERY`] (a pass over them all); below, at every publication.
const LARGE_GRAPH: usize = 10_000;
const LARGE_SCAN_EVERY: Duration = Duration::from_secs(1);
/// Tasks per second are counted over this window.
const RATE_WINDOW: Duration = Duration::from_secs(5);

/// The group a key is shown under: its [`task_prefix`] up to the first segment that looks
/// like a hash (8 or more hex digits with a digit among them), so `mean-partial-f678b5c5-3`
/// and `std-combine-23f9c26a-l0-g1` show as `mean-partial` and `std-combine`, as dask does.
pub fn view_prefix(key: &str) -> &str {
    let prefix = task_prefix(key);
    let is_hash = |s: &str| {
        s.len() >= 8
            && s.bytes().all(|b| b.is_ascii_hexdigit())
            && s.bytes().any(|b| b.is_ascii_digit())
    };
    let mut end = 0;
    for (i, segment) in prefix.split('-').enumerate() {
        if i > 0 && is_hash(segment) {
            return &prefix[..end];
        }
        end += segment.len() + usize::from(i > 0);
    }
    prefix
}

/// What a worker reported about how one task ran.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TaskTimes {
    /// The executor thread that ran it.
    pub thread: u32,
    /// Time it ran, reading spilled inputs included.
    pub compute: Duration,
    /// Of which reading spilled inputs back from disk.
    pub input_read: Duration,
    /// Time spent fetching its inputs from peers before it could run, and the bytes.
    pub transfer: Duration,
    pub transfer_bytes: u64,
}

#[derive(Default)]
struct PrefixTotals {
    done: u64,
    compute_secs: f64,
    input_read_secs: f64,
    transfer_secs: f64,
}

#[derive(Default)]
struct CpuSample {
    at: Option<Instant>,
    cpu_seconds: f64,
    percent: f64,
}

/// Owned by the scheduler's central thread. See the module docs.
pub struct ViewRecorder {
    shared: Arc<ViewShared>,
    /// Interned prefix names with their totals (at most [`MAX_PREFIXES`] + 1).
    prefixes: HashMap<Arc<str>, PrefixTotals>,
    other: Arc<str>,
    /// Task events not yet in the shared ring (bounded like the ring).
    pending: VecDeque<TaskEvent>,
    /// Task events dropped from `pending` (full while the ring stayed busy): their numbers
    /// are used up when the ring is next reached, so the count of events stays true.
    dropped_events: u64,
    cpu: HashMap<WorkerId, CpuSample>,
    retiring: Vec<WorkerId>,
    /// `(when, results so far)`, over the rate window.
    completions: VecDeque<(Instant, u64)>,
    completed: u64,
    last_publish: Option<Instant>,
    /// The last count of known tasks per prefix and when it was taken.
    counts: Vec<(String, StateCounts)>,
    last_scan: Option<Instant>,
    /// Workers in the last published view.
    published_workers: usize,
    last_sample: Option<Instant>,
    pending_samples: VecDeque<Arc<MemorySample>>,
}

impl Default for ViewRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl ViewRecorder {
    /// A recorder with an empty view, the scheduler starting now.
    pub fn new() -> Self {
        let empty = SchedulerView {
            now_ms: 0.0,
            info: ClusterInfo {
                scheduler_address: String::new(),
                uptime_secs: 0.0,
                clients: 0,
                workers: Vec::new(),
                tasks: Default::default(),
                dashboard: None,
            },
            loads: Vec::new(),
            prefixes: Vec::new(),
            tasks_per_second: 0.0,
            memory_bytes: 0,
            spilled_bytes: 0,
            task_events_next: 0,
            graph: None,
        };
        ViewRecorder {
            shared: Arc::new(ViewShared {
                started: Instant::now(),
                latest: Mutex::new(Arc::new(empty)),
                events: Mutex::new(Ring::new(TASK_EVENTS_KEPT)),
                memory: Mutex::new(Ring::new(MEMORY_SAMPLES_KEPT)),
                last_read_ms: AtomicU64::new(0),
                panels: Mutex::new(Default::default()),
            }),
            prefixes: HashMap::new(),
            other: Arc::from(OTHER_PREFIX),
            pending: VecDeque::new(),
            dropped_events: 0,
            cpu: HashMap::new(),
            retiring: Vec::new(),
            completions: VecDeque::new(),
            completed: 0,
            last_publish: None,
            counts: Vec::new(),
            last_scan: None,
            published_workers: 0,
            last_sample: None,
            pending_samples: VecDeque::new(),
        }
    }

    /// A handle for readers.
    pub fn reader(&self) -> SchedulerViewReader {
        SchedulerViewReader {
            shared: self.shared.clone(),
        }
    }

    fn ms(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.shared.started)
            .as_secs_f64()
            * 1e3
    }

    /// The interned name of `key`'s prefix (bounded: past the cap, the shared "other").
    fn prefix_of(&mut self, key: &TaskKey) -> Arc<str> {
        let name = view_prefix(key.as_str());
        if let Some((k, _)) = self.prefixes.get_key_value(name) {
            return k.clone();
        }
        if self.prefixes.len() >= MAX_PREFIXES {
            return self.other.clone();
        }
        let k: Arc<str> = Arc::from(name);
        self.prefixes.insert(k.clone(), PrefixTotals::default());
        k
    }

    /// A worker reported a result (`erred`: a failure) at `now`, with its `times`.
    pub fn task_done(
        &mut self,
        now: Instant,
        worker: WorkerId,
        key: &TaskKey,
        times: TaskTimes,
        erred: bool,
    ) {
        let TaskTimes {
            thread,
            compute,
            input_read,
            transfer,
            transfer_bytes,
        } = times;
        let prefix = self.prefix_of(key);
        if !erred {
            self.completed += 1;
            let totals = self.prefixes.entry(prefix.clone()).or_default();
            totals.done += 1;
            totals.compute_secs += compute.as_secs_f64();
            totals.input_read_secs += input_read.as_secs_f64();
            totals.transfer_secs += transfer.as_secs_f64();
        }
        let end_ms = self.ms(now);
        if self.pending.len() == TASK_EVENTS_KEPT {
            self.pending.pop_front();
            self.dropped_events += 1;
        }
        self.pending.push_back(TaskEvent {
            worker: worker.0,
            thread,
            prefix,
            key: Arc::from(key.as_str()),
            start_ms: (end_ms - compute.as_secs_f64() * 1e3).max(0.0),
            end_ms,
            input_read_ms: input_read.as_secs_f64() * 1e3,
            transfer_ms: transfer.as_secs_f64() * 1e3,
            transfer_bytes,
            erred,
        });
    }

    /// A heartbeat arrived from `worker` (its CPU load is the CPU time used since the last).
    pub fn heartbeat(&mut self, now: Instant, worker: WorkerId, metrics: &WorkerMetrics) {
        let s = self.cpu.entry(worker).or_default();
        if let Some(at) = s.at {
            let wall = now.saturating_duration_since(at).as_secs_f64();
            if wall > 0.0 {
                s.percent = ((metrics.cpu_seconds - s.cpu_seconds) / wall * 100.0).max(0.0);
            }
        }
        s.at = Some(now);
        s.cpu_seconds = metrics.cpu_seconds;
    }

    /// `worker` is retiring.
    pub fn retiring(&mut self, worker: WorkerId) {
        if !self.retiring.contains(&worker) {
            self.retiring.push(worker);
        }
    }

    /// `worker` left: forget what is kept about it.
    pub fn worker_left(&mut self, worker: WorkerId) {
        self.cpu.remove(&worker);
        self.retiring.retain(|w| *w != worker);
    }

    /// Whether a view is due at `now` with `workers` connected (at once when workers came
    /// or went, otherwise every [`PUBLISH_EVERY`]).
    pub fn due(&self, now: Instant, workers: usize) -> bool {
        workers != self.published_workers
            || self
                .last_publish
                .is_none_or(|at| now.saturating_duration_since(at) >= PUBLISH_EVERY)
    }

    /// Publish a view of `core` and `info` (what `tessera info` shows) taken at `now`.
    pub fn publish(&mut self, now: Instant, core: &Scheduler, info: ClusterInfo) {
        self.last_publish = Some(now);
        self.published_workers = info.workers.len();
        self.completions.push_back((now, self.completed));
        while self
            .completions
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > RATE_WINDOW)
        {
            self.completions.pop_front();
        }
        let tasks_per_second = match (self.completions.front(), self.completions.back()) {
            (Some((t0, n0)), Some((t1, n1))) if t1 > t0 => {
                (n1 - n0) as f64 / t1.saturating_duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        };
        let now_ms = self.ms(now);
        if self
            .last_sample
            .is_none_or(|at| now.saturating_duration_since(at) >= SAMPLE_EVERY)
        {
            self.last_sample = Some(now);
            if self.pending_samples.len() == MEMORY_SAMPLES_KEPT {
                self.pending_samples.pop_front();
            }
            self.pending_samples.push_back(Arc::new(MemorySample {
                t_ms: now_ms,
                workers: info
                    .workers
                    .iter()
                    .map(|w| {
                        let m = &w.metrics;
                        (w.id, m.rss_bytes, m.memory_bytes, m.spilled_bytes)
                    })
                    .collect(),
            }));
        }
        if let Ok(mut ring) = self.shared.memory.try_lock() {
            ring.extend(self.pending_samples.drain(..));
        }
        let task_events_next = match self.shared.events.try_lock() {
            Ok(mut ring) => {
                ring.skip(std::mem::take(&mut self.dropped_events));
                ring.extend(self.pending.drain(..));
                ring.next_seq()
            }
            Err(_) => lock(&self.shared.latest).task_events_next,
        };
        let last_read = self.shared.last_read_ms.load(Ordering::Relaxed);
        let reader_active =
            last_read > 0 && now_ms - last_read as f64 <= READER_ACTIVE.as_secs_f64() * 1e3;
        let prefixes = if reader_active {
            self.prefix_progress(now, core)
        } else {
            Vec::new()
        };
        let graph = if reader_active {
            core.small_graph(SMALL_GRAPH_TASKS).map(|nodes| {
                nodes
                    .into_iter()
                    .map(|n| GraphNodeView {
                        key: n.key,
                        state: n.state.to_string(),
                        deps: n.deps,
                    })
                    .collect()
            })
        } else {
            None
        };
        let loads = info
            .workers
            .iter()
            .map(|w| WorkerLoad {
                id: w.id,
                cpu_percent: self.cpu.get(&WorkerId(w.id)).map_or(0.0, |s| s.percent),
                retiring: self.retiring.contains(&WorkerId(w.id)),
            })
            .collect();
        let view = SchedulerView {
            now_ms,
            memory_bytes: info.workers.iter().map(|w| w.metrics.memory_bytes).sum(),
            spilled_bytes: info.workers.iter().map(|w| w.metrics.spilled_bytes).sum(),
            info,
            loads,
            prefixes,
            tasks_per_second,
            task_events_next,
            graph,
        };
        *lock(&self.shared.latest) = Arc::new(view);
    }

    fn prefix_progress(&mut self, now: Instant, core: &Scheduler) -> Vec<PrefixProgress> {
        let scan_due = core.snapshot().total_tasks <= LARGE_GRAPH
            || self
                .last_scan
                .is_none_or(|at| now.saturating_duration_since(at) >= LARGE_SCAN_EVERY);
        if scan_due {
            self.counts = core.counts_by_group(view_prefix, MAX_PREFIXES, OTHER_PREFIX);
            self.last_scan = Some(now);
        }
        let mut out: Vec<PrefixProgress> = self
            .counts
            .iter()
            .cloned()
            .map(|(prefix, c)| {
                let totals = self.prefixes.get(prefix.as_str());
                PrefixProgress {
                    done: totals.map_or(0, |t| t.done),
                    compute_secs: totals.map_or(0.0, |t| t.compute_secs),
                    input_read_secs: totals.map_or(0.0, |t| t.input_read_secs),
                    transfer_secs: totals.map_or(0.0, |t| t.transfer_secs),
                    waiting: c.waiting,
                    processing: c.processing,
                    in_memory: c.memory,
                    erred: c.erred,
                    prefix,
                }
            })
            .collect();
        // Prefixes done and forgotten by the core still show their totals.
        for (name, t) in &self.prefixes {
            if t.done > 0 && !out.iter().any(|p| p.prefix == **name) {
                out.push(PrefixProgress {
                    prefix: name.to_string(),
                    done: t.done,
                    compute_secs: t.compute_secs,
                    input_read_secs: t.input_read_secs,
                    transfer_secs: t.transfer_secs,
                    ..PrefixProgress::default()
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{ClientId, Event, TaskSpec};

    fn submit(core: &mut Scheduler, now: Instant, keys: impl Iterator<Item = String>) {
        let tasks: Vec<TaskSpec> = keys
            .map(|k| TaskSpec::new(k, "k", bytes::Bytes::new(), vec![]))
            .collect();
        let wanted = tasks.iter().map(|t| t.key.clone()).collect();
        core.handle(
            now,
            Event::GraphSubmitted {
                client: ClientId(1),
                tasks,
                wanted,
            },
        );
    }

    fn prefixes(recorder: &ViewRecorder) -> Vec<String> {
        let view = recorder.reader().latest();
        view.prefixes.iter().map(|p| p.prefix.clone()).collect()
    }

    #[test]
    fn large_graphs_are_counted_per_prefix_at_most_once_a_second() {
        let t0 = Instant::now();
        let mut core = Scheduler::new(Default::default());
        core.handle(
            t0,
            Event::ClientJoined {
                client: ClientId(1),
            },
        );
        submit(&mut core, t0, (0..=LARGE_GRAPH).map(|i| format!("big-{i}")));
        let mut recorder = ViewRecorder::new();
        let info = || ClusterInfo {
            scheduler_address: String::new(),
            uptime_secs: 0.0,
            clients: 1,
            workers: Vec::new(),
            tasks: Default::default(),
            dashboard: None,
        };
        assert!(prefixes(&recorder).is_empty(), "nobody looked yet");
        // A reader looked (`latest` above): counted at the next publication.
        let t1 = t0 + Duration::from_millis(1);
        recorder.publish(t1, &core, info());
        assert_eq!(prefixes(&recorder), ["big"]);
        submit(&mut core, t1, (0..3).map(|i| format!("late-{i}")));
        recorder.publish(t1 + PUBLISH_EVERY, &core, info());
        assert_eq!(
            prefixes(&recorder),
            ["big"],
            "not counted again within the second"
        );
        recorder.publish(t1 + LARGE_SCAN_EVERY, &core, info());
        assert_eq!(prefixes(&recorder), ["big", "late"]);
    }

    #[test]
    fn keys_are_grouped_without_hashes_and_indices() {
        assert_eq!(
            view_prefix("mean-partial-f678b5c5027cc15c-3-1"),
            "mean-partial"
        );
        assert_eq!(
            view_prefix("std-combine-23f9c26ad1321881-l0-g1"),
            "std-combine"
        );
        assert_eq!(view_prefix("tessera.inc-0a1b2c3d-17"), "tessera.inc");
        assert_eq!(view_prefix("nap-3"), "nap");
        assert_eq!(view_prefix("total-0"), "total");
        assert_eq!(
            view_prefix("deadbeefcafe"),
            "deadbeefcafe",
            "a hash alone stays"
        );
        assert_eq!(view_prefix("load-abcdefgh"), "load-abcdefgh", "not hex");
        assert_eq!(view_prefix("io-write-all-out"), "io-write-all-out");
    }
}
