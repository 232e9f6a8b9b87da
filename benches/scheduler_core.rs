//! Benchmark of the scheduler core alone: whole task lifecycles (submit → assign → finish →
//! report → release) of 1,000,000-task graphs over 1,000 simulated workers, plus the
//! scheduler's memory per task, measured with a counting global allocator.
//!
//! `cargo bench --bench scheduler_core -- --warm-up-time 1 --measurement-time 5` first prints
//! one measured run per graph shape (tasks per second, bytes per task), then the criterion
//! measurements (throughput in tasks per second).
//!
//! Knobs (environment variables) for profiling and for robust figures on a noisy machine:
//! - `SCHEDULER_CORE_TASKS=N`: graph size of the measured runs (default 1,000,000);
//! - `SCHEDULER_CORE_SHAPES=independent,tree,layered`: which shapes to run (default all);
//! - `SCHEDULER_CORE_RUNS=R`: measured runs per shape; the median is printed (default 1);
//! - `SCHEDULER_CORE_LIFETIMES=1`: every worker announces a lifetime of one hour (as under a
//!   batch system), so walltime-aware placement runs its checks on every placement and
//!   records compute durations on every completion;
//! - `SCHEDULER_CORE_FIGURES_ONLY=1`: print the measured runs, skip criterion. Runs with
//!   `--bench` or without (e.g. the bench binary started directly under
//!   `valgrind --tool=callgrind --toggle-collect='*Scheduler::handle*'`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput};
use tessera::core::{
    Action, ClientId, Event, KernelName, Scheduler, SchedulerConfig, TaskKey, TaskSpec, WorkerId,
};

/// The system allocator, counting live bytes and the peak.
struct CountingAllocator;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let now = LIVE.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const TASKS: usize = 1_000_000;
const WORKERS: u32 = 1_000;
const THREADS: u32 = 4;
const CLIENT: ClientId = ClientId(0);

/// Builds a graph of about the given number of tasks.
type GraphMaker = fn(usize) -> Graph;

/// A graph: its tasks and the keys the client wants.
struct Graph {
    tasks: Vec<TaskSpec>,
    wanted: Vec<TaskKey>,
}

fn task(kernel: &KernelName, key: TaskKey, deps: Vec<TaskKey>) -> TaskSpec {
    TaskSpec {
        key,
        kernel: kernel.clone(),
        args: Bytes::new(),
        deps,
        resources: Default::default(),
    }
}

/// `n` independent tasks, all wanted.
fn independent(n: usize) -> Graph {
    let kernel = KernelName::new("load");
    let tasks: Vec<TaskSpec> = (0..n)
        .map(|i| task(&kernel, TaskKey::new(format!("t{i}")), Vec::new()))
        .collect();
    let wanted = tasks.iter().map(|t| t.key.clone()).collect();
    Graph { tasks, wanted }
}

/// A binary tree reduction with about `n` tasks; only the root is wanted.
fn tree_reduction(n: usize) -> Graph {
    let kernel = KernelName::new("sum");
    let leaves = n.div_ceil(2);
    let mut tasks = Vec::with_capacity(n);
    let mut level: Vec<TaskKey> = (0..leaves)
        .map(|i| {
            let key = TaskKey::new(format!("leaf-{i}"));
            tasks.push(task(&kernel, key.clone(), Vec::new()));
            key
        })
        .collect();
    let mut depth = 0;
    while level.len() > 1 {
        depth += 1;
        level = level
            .chunks(2)
            .enumerate()
            .map(|(i, pair)| {
                let key = TaskKey::new(format!("sum-{depth}-{i}"));
                tasks.push(task(&kernel, key.clone(), pair.to_vec()));
                key
            })
            .collect();
    }
    Graph {
        tasks,
        wanted: level,
    }
}

/// Layers of 1,000 tasks, each reading two tasks of the layer before; the last layer is wanted.
fn layered(n: usize) -> Graph {
    let kernel = KernelName::new("stencil");
    let width = 1_000;
    let mut tasks = Vec::with_capacity(n);
    let mut prev: Vec<TaskKey> = Vec::new();
    for layer in 0..n / width {
        let current: Vec<TaskKey> = (0..width)
            .map(|i| {
                let key = TaskKey::new(format!("l{layer}-{i}"));
                let deps = if prev.is_empty() {
                    Vec::new()
                } else {
                    vec![prev[i].clone(), prev[(i + 1) % width].clone()]
                };
                tasks.push(task(&kernel, key.clone(), deps));
                key
            })
            .collect();
        prev = current;
    }
    Graph {
        tasks,
        wanted: prev,
    }
}

/// A scheduler with the workers and the client connected.
fn cluster() -> Scheduler {
    let mut scheduler = Scheduler::new(SchedulerConfig::default());
    let now = Instant::now();
    let lifetime = std::env::var_os("SCHEDULER_CORE_LIFETIMES")
        .is_some_and(|v| v == "1")
        .then_some(Duration::from_secs(3_600));
    for w in 0..WORKERS {
        scheduler.handle(
            now,
            Event::WorkerJoined {
                worker: WorkerId(w),
                nthreads: THREADS,
                memory_limit: None,
                lifetime,
                generic: Vec::new(),
            },
        );
    }
    scheduler.handle(now, Event::ClientJoined { client: CLIENT });
    scheduler.drain_actions().for_each(drop);
    scheduler
}

/// Figures of one lifecycle run.
struct Figures {
    tasks: usize,
    elapsed: Duration,
    /// Time spent handling the submission alone.
    submit: Duration,
    /// Allocated bytes right after the submission was handled.
    live_after_submit: usize,
    /// Most allocated bytes from then to the end.
    peak_live: usize,
}

/// Submit, run every task to completion on fake workers that finish instantly (in the order
/// tasks were sent), release results as they are reported, and disconnect the client.
fn lifecycle(mut scheduler: Scheduler, graph: Graph) -> (Scheduler, Figures) {
    let tasks = graph.tasks.len();
    let now = Instant::now();
    let start = Instant::now();
    scheduler.handle(
        now,
        Event::GraphSubmitted {
            client: CLIENT,
            tasks: graph.tasks,
            wanted: graph.wanted,
        },
    );
    let submit = start.elapsed();
    let live_after_submit = LIVE.load(Ordering::Relaxed);
    PEAK.store(live_after_submit, Ordering::Relaxed);
    let mut running: VecDeque<(WorkerId, TaskKey)> = VecDeque::new();
    let mut reported: Vec<TaskKey> = Vec::new();
    let sort = |actions: std::vec::Drain<'_, Action>,
                running: &mut VecDeque<(WorkerId, TaskKey)>,
                reported: &mut Vec<TaskKey>| {
        for action in actions {
            match action {
                Action::Compute { worker, key, .. } => running.push_back((worker, key)),
                Action::KeyReady { key, .. } => reported.push(key),
                _ => {}
            }
        }
    };
    sort(scheduler.drain_actions(), &mut running, &mut reported);
    while let Some((worker, key)) = running.pop_front() {
        scheduler.handle(
            now,
            Event::TaskFinished {
                worker,
                key,
                nbytes: 8,
                compute: Some(Duration::from_micros(100)),
            },
        );
        sort(scheduler.drain_actions(), &mut running, &mut reported);
        if reported.len() >= 4_096 {
            let keys = std::mem::take(&mut reported);
            scheduler.handle(
                now,
                Event::KeysReleased {
                    client: CLIENT,
                    keys,
                },
            );
            scheduler.drain_actions().for_each(drop);
        }
    }
    scheduler.handle(now, Event::ClientLeft { client: CLIENT });
    scheduler.drain_actions().for_each(drop);
    let elapsed = start.elapsed();
    assert_eq!(scheduler.snapshot().total_tasks, 0, "every task forgotten");
    let figures = Figures {
        tasks,
        elapsed,
        submit,
        live_after_submit,
        peak_live: PEAK.load(Ordering::Relaxed),
    };
    (scheduler, figures)
}

/// One measured run: its figures and the bytes the submitted specs took.
fn measured_run(make: GraphMaker, tasks: usize) -> (Figures, usize, usize) {
    let scheduler = cluster();
    let before_specs = LIVE.load(Ordering::Relaxed);
    let graph = make(tasks);
    let with_specs = LIVE.load(Ordering::Relaxed);
    let (scheduler, figures) = lifecycle(scheduler, graph);
    drop(scheduler);
    (figures, before_specs, with_specs)
}

fn print_figures(name: &str, make: GraphMaker, tasks: usize, runs: usize) {
    let mut all: Vec<(Figures, usize, usize)> = (0..runs.max(1))
        .map(|_| measured_run(make, tasks))
        .collect();
    all.sort_by_key(|(figures, _, _)| figures.elapsed);
    let submits = {
        let mut s: Vec<Duration> = all.iter().map(|(f, _, _)| f.submit).collect();
        s.sort();
        s
    };
    let median_submit = submits[submits.len() / 2];
    let best = all[0].0.elapsed;
    let best_submit = submits[0];
    let (mut figures, before_specs, with_specs) = all.swap_remove(all.len() / 2);
    figures.submit = median_submit;
    // Memory held by the scheduler right after the submission (the specs' keys and arguments
    // now belong to it; everything else of the submission was freed).
    let held = figures.live_after_submit as isize - before_specs as isize;
    let peak = figures.peak_live as isize - before_specs as isize;
    let rate = figures.tasks as f64 / figures.elapsed.as_secs_f64();
    println!(
        "{name}: median of {runs} run(s): {} tasks on {WORKERS} workers in {:.3} s (submission {:.3} s) = {:.0} tasks/s \
         ({:.2} µs per task lifecycle; best run {:.2} µs, submission {:.2} µs); scheduler memory after submit {:.0} B/task, \
         peak during run {:.0} B/task (submitted specs were {:.0} B/task)",
        figures.tasks,
        figures.elapsed.as_secs_f64(),
        figures.submit.as_secs_f64(),
        rate,
        1e6 / rate,
        best.as_secs_f64() * 1e6 / figures.tasks as f64,
        best_submit.as_secs_f64() * 1e6 / figures.tasks as f64,
        held as f64 / figures.tasks as f64,
        peak as f64 / figures.tasks as f64,
        (with_specs - before_specs) as f64 / figures.tasks as f64,
    );
}

/// An environment knob, or its default when unset or unparsable.
fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn bench(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("scheduler_core");
    group.sample_size(10);
    group.throughput(Throughput::Elements(TASKS as u64));
    let shapes: [(&str, GraphMaker); 3] = [
        ("independent_1M", independent),
        ("tree_reduction_1M", tree_reduction),
        ("layered_1M", layered),
    ];
    for (name, make) in shapes {
        group.bench_function(name, |b| {
            b.iter_batched(
                || (cluster(), make(TASKS)),
                |(scheduler, graph)| black_box(lifecycle(scheduler, graph)),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn main() {
    let figures_only = std::env::var_os("SCHEDULER_CORE_FIGURES_ONLY").is_some();
    let benchmarking = std::env::args().any(|a| a == "--bench");
    if benchmarking || figures_only {
        let tasks = knob("SCHEDULER_CORE_TASKS", TASKS);
        let runs = knob("SCHEDULER_CORE_RUNS", 1);
        let shapes = std::env::var("SCHEDULER_CORE_SHAPES")
            .unwrap_or_else(|_| "independent,tree,layered".to_string());
        let all: [(&str, &str, GraphMaker); 3] = [
            ("independent", "independent", independent),
            ("tree", "tree reduction", tree_reduction),
            ("layered", "layered", layered),
        ];
        for (short, name, make) in all {
            if shapes.split(',').any(|s| s.trim() == short) {
                print_figures(name, make, tasks, runs);
            }
        }
    }
    if figures_only {
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
