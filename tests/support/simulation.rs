//! A deterministic cluster simulator driving the scheduler core.
//!
//! Virtual clock (microseconds), one event queue ordered by (time, sequence), FIFO links with
//! random latency between the scheduler, fake workers and fake clients. Fake workers queue
//! tasks by priority, run `nthreads` at a time for a simulated duration, fetch inputs from the
//! holders the scheduler named, and produce a value that is a hash of (key, input values), so
//! every delivered result can be compared with an eager evaluation of the graph. Faults:
//! workers killed mid-task (data gone, late messages still in flight), workers joining late,
//! failing kernels, steals racing with completion, clients releasing or cancelling keys.
//! Placement inputs: some workers announce a lifetime (walltime) and workers report compute
//! durations, so walltime-aware placement is exercised (it must never leave a task unplaced);
//! workers randomly report results as spilled to disk or read back. Resources: some tasks ask
//! for two CPUs or a GPU, workers have one or two GPUs; fake workers start a task only when its
//! CPUs and GPUs are free, and the scheduler must never book more GPUs on a worker than it has
//! nor more CPU units than its capacity.
//!
//! `run` returns `Err(description)` on the first broken invariant; every description starts
//! with the seed so a failure can be replayed. It never reads the real clock for decisions.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tessera::core::{
    Action, ClientId, DepLocation, Event, ResourceRequest, Scheduler, SchedulerConfig, TaskKey,
    TaskSpec, WorkerId,
};

/// SplitMix64: small, fast, good enough, reproducible.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < u64::from(percent)
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            None
        } else {
            Some(items[self.below(items.len() as u64) as usize])
        }
    }
}

/// The SplitMix64 finaliser.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of a string (FNV-1a, then mixed).
pub fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix64(h)
}

/// The value a task produces from its key and its inputs' values, in argument order.
pub fn task_value(key: &str, inputs: &[u64]) -> u64 {
    let mut h = hash_str(key);
    for &v in inputs {
        h = mix64(h.rotate_left(17) ^ v);
    }
    h
}

/// The value of scattered data.
pub fn scattered_value(key: &str) -> u64 {
    mix64(hash_str(key) ^ 0x5CA7_7E12)
}

fn nbytes_of(value: u64) -> u64 {
    value % 1000 + 1
}

/// The indices of `items` (to pick one with [`Rng::pick`]).
fn keys_index<T>(items: &[T]) -> Vec<usize> {
    (0..items.len()).collect()
}

/// Message of a failing kernel.
pub fn kernel_failure_message(key: &TaskKey) -> String {
    format!("kernel failed on {key}")
}

/// Parameters of one simulation.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub initial_workers: u32,
    pub late_workers: u32,
    pub max_threads: u32,
    pub clients: u32,
    pub graphs_per_client: u32,
    pub universe_tasks: u32,
    pub kills: u32,
    pub fail_percent: u32,
    pub release_percent: u32,
    pub scatter_keys: u32,
    pub allowed_failures: u32,
    pub saturation: f64,
    /// Adaptive queue depth (zero: fixed `saturation`).
    pub queue_horizon: std::time::Duration,
    pub max_saturation: f64,
    /// Percent of workers that announce a lifetime (a random few milliseconds of virtual
    /// time); they keep working past it (the simulator does not retire workers).
    pub lifetime_percent: u32,
    /// Percent chance, per finished task, that the worker reports one of its results moved
    /// to disk (and as often one moved back).
    pub spill_percent: u32,
    /// `SchedulerConfig::steal_transfer_limit`: results are 1–1,000 bytes, so a few hundred
    /// makes placement and stealing keep many tasks waiting for their inputs' holders.
    pub steal_transfer_limit: u64,
    /// Percent of tasks asking for more than the default (two CPUs and/or one GPU; workers
    /// then have at least two threads and one or two GPUs). Drawn from the key's hash, so the
    /// random stream of a seed is the same as without resources.
    pub resource_percent: u32,
}

/// What happened during a simulation (for coverage checks).
#[derive(Clone, Debug, Default)]
pub struct SimReport {
    pub events: u64,
    pub computes: u64,
    pub recomputes: u64,
    pub steals_requested: u64,
    pub steals_granted: u64,
    pub deps_missing: u64,
    pub kills: u64,
    pub key_ready: u64,
    pub key_erred: u64,
    pub killed_worker_errors: u64,
    pub late_messages: u64,
    pub releases: u64,
    pub locates: u64,
    pub end_time: u64,
    /// Workers that announced a lifetime.
    pub timed_workers: u64,
    /// `ResidencyChanged` reports sent.
    pub residency_reports: u64,
    /// Tasks started that asked for more than one CPU or for a GPU.
    pub resource_tasks: u64,
}

// ---------------------------------------------------------------- the task universe

struct Node {
    /// CPUs and GPUs it asks for.
    cpus: u32,
    gpus: u32,
    key: TaskKey,
    deps: Vec<usize>,
    fails: bool,
    duration: u64,
    scattered: bool,
    private_to: Option<u32>,
}

/// All tasks any client may submit, with their eager values.
struct Universe {
    nodes: Vec<Node>,
    index: HashMap<TaskKey, usize>,
    value: Vec<u64>,
    fails: Vec<bool>,
    /// Failing-kernel ancestors (or self) of each node.
    roots: Vec<BTreeSet<usize>>,
    has_scattered_ancestor: Vec<bool>,
    public: Vec<usize>,
    sinks: Vec<usize>,
    private_sinks: HashMap<u32, usize>,
    scattered_of: HashMap<u32, Vec<usize>>,
    resource_percent: u32,
    resource_salt: u64,
}

impl Universe {
    fn add(
        &mut self,
        rng: &mut Rng,
        key: String,
        deps: Vec<usize>,
        fail_percent: u32,
        private_to: Option<u32>,
    ) -> usize {
        let i = self.nodes.len();
        let key = TaskKey::new(key);
        let fails = rng.chance(fail_percent);
        let (cpus, gpus) = self.request_of(&key);
        self.nodes.push(Node {
            cpus,
            gpus,
            key: key.clone(),
            deps,
            fails,
            duration: rng.range(5, 200),
            scattered: false,
            private_to,
        });
        self.index.insert(key, i);
        if private_to.is_none() {
            self.public.push(i);
        }
        i
    }

    fn add_scattered(&mut self, key: String, owner: u32) -> usize {
        let i = self.nodes.len();
        let key = TaskKey::new(key);
        self.nodes.push(Node {
            cpus: 1,
            gpus: 0,
            key: key.clone(),
            deps: Vec::new(),
            fails: false,
            duration: 0,
            scattered: true,
            private_to: Some(owner),
        });
        self.index.insert(key, i);
        self.scattered_of.entry(owner).or_default().push(i);
        i
    }

    fn maybe_cross(&self, rng: &mut Rng) -> Vec<usize> {
        if !self.public.is_empty() && rng.chance(25) {
            vec![self.public[rng.below(self.public.len() as u64) as usize]]
        } else {
            Vec::new()
        }
    }

    fn build(config: &SimConfig, rng: &mut Rng) -> Universe {
        let mut u = Universe {
            nodes: Vec::new(),
            index: HashMap::new(),
            value: Vec::new(),
            fails: Vec::new(),
            roots: Vec::new(),
            has_scattered_ancestor: Vec::new(),
            public: Vec::new(),
            sinks: Vec::new(),
            private_sinks: HashMap::new(),
            scattered_of: HashMap::new(),
            resource_percent: config.resource_percent,
            resource_salt: mix64(config.seed),
        };
        let fp = config.fail_percent;
        let mut shape = 0;
        while (u.nodes.len() as u32) < config.universe_tasks {
            shape += 1;
            let kind = rng.below(5);
            let name = |i: usize| format!("s{shape}k{kind}-{i}");
            let sink = match kind {
                0 => {
                    // chain
                    let len = rng.range(2, 12) as usize;
                    let mut prev = u.maybe_cross(rng);
                    let mut last = 0;
                    for i in 0..len {
                        last = u.add(rng, name(i), prev, fp, None);
                        prev = vec![last];
                    }
                    last
                }
                1 => {
                    // tree reduction
                    let leaves = rng.range(2, 20) as usize;
                    let fanin = rng.range(2, 4) as usize;
                    let mut n = 0;
                    let mut level: Vec<usize> = (0..leaves)
                        .map(|_| {
                            let deps = u.maybe_cross(rng);
                            n += 1;
                            u.add(rng, name(n), deps, fp, None)
                        })
                        .collect();
                    while level.len() > 1 {
                        level = level
                            .chunks(fanin)
                            .map(|chunk| {
                                n += 1;
                                u.add(rng, name(n), chunk.to_vec(), fp, None)
                            })
                            .collect();
                    }
                    level[0]
                }
                2 => {
                    // wide fan-out then fan-in
                    let deps = u.maybe_cross(rng);
                    let root = u.add(rng, name(0), deps, fp, None);
                    let k = rng.range(2, 15) as usize;
                    let children: Vec<usize> = (0..k)
                        .map(|i| u.add(rng, name(i + 1), vec![root], fp, None))
                        .collect();
                    u.add(rng, name(k + 1), children, fp, None)
                }
                3 => {
                    // diamond, sometimes with a repeated input
                    let deps = u.maybe_cross(rng);
                    let a = u.add(rng, name(0), deps, fp, None);
                    let b = u.add(rng, name(1), vec![a], fp, None);
                    let c = u.add(rng, name(2), vec![a], fp, None);
                    let deps = if rng.chance(30) {
                        vec![b, c, b]
                    } else {
                        vec![b, c]
                    };
                    u.add(rng, name(3), deps, fp, None)
                }
                _ => {
                    // random layered DAG
                    let layers = rng.range(2, 5);
                    let mut n = 0;
                    let mut all: Vec<usize> = Vec::new();
                    let mut prev: Vec<usize> = Vec::new();
                    for _ in 0..layers {
                        let width = rng.range(1, 8);
                        let mut layer = Vec::new();
                        for _ in 0..width {
                            let deps = if prev.is_empty() {
                                u.maybe_cross(rng)
                            } else {
                                let k = rng.range(1, 3);
                                let mut deps: Vec<usize> =
                                    (0..k).filter_map(|_| rng.pick(&prev)).collect();
                                if rng.chance(20) {
                                    if let Some(d) = rng.pick(&all) {
                                        deps.push(d);
                                    }
                                }
                                deps
                            };
                            n += 1;
                            layer.push(u.add(rng, name(n), deps, fp, None));
                        }
                        all.extend(&layer);
                        prev = layer;
                    }
                    n += 1;
                    u.add(rng, name(n), prev, fp, None)
                }
            };
            u.sinks.push(sink);
        }
        // Private nodes built on each client's scattered data.
        for c in 0..config.clients {
            if config.scatter_keys == 0 {
                continue;
            }
            let mut privates = Vec::new();
            for j in 0..config.scatter_keys {
                let s = u.add_scattered(format!("c{c}-scatter-{j}"), c);
                let mut deps = vec![s];
                if let Some(p) = rng.pick(&u.public) {
                    if rng.chance(50) {
                        deps.push(p);
                    }
                }
                privates.push(u.add(rng, format!("c{c}-private-{j}"), deps, 0, Some(c)));
            }
            let sink = u.add(rng, format!("c{c}-private-sink"), privates, 0, Some(c));
            u.private_sinks.insert(c, sink);
        }
        // Eager evaluation (nodes are in topological order).
        for i in 0..u.nodes.len() {
            let node = &u.nodes[i];
            let value = if node.scattered {
                scattered_value(node.key.as_str())
            } else {
                let inputs: Vec<u64> = node.deps.iter().map(|&d| u.value[d]).collect();
                task_value(node.key.as_str(), &inputs)
            };
            let mut roots: BTreeSet<usize> = BTreeSet::new();
            if node.fails {
                roots.insert(i);
            }
            let mut scattered = node.scattered;
            for &d in &node.deps {
                roots.extend(u.roots[d].iter().copied());
                scattered |= u.has_scattered_ancestor[d];
            }
            u.value.push(value);
            u.fails.push(!roots.is_empty());
            u.roots.push(roots);
            u.has_scattered_ancestor.push(scattered);
        }
        u
    }

    /// CPUs and GPUs the task `key` asks for (from its hash; see `SimConfig::resource_percent`).
    fn request_of(&self, key: &TaskKey) -> (u32, u32) {
        let h = mix64(
            key.as_str()
                .bytes()
                .fold(self.resource_salt, |a, b| mix64(a ^ u64::from(b))),
        );
        if self.resource_percent == 0 || h % 100 >= u64::from(self.resource_percent) {
            return (1, 0);
        }
        match (h >> 8) % 3 {
            0 => (2, 0),
            1 => (1, 1),
            _ => (2, 1),
        }
    }

    fn spec(&self, i: usize) -> TaskSpec {
        let node = &self.nodes[i];
        let mut resources = ResourceRequest::cpus(node.cpus);
        if node.gpus > 0 {
            resources = resources.with_generic("gpus", node.gpus);
        }
        TaskSpec::new(
            node.key.clone(),
            if node.fails { "fail" } else { "ok" },
            node.duration.to_le_bytes().to_vec(),
            node.deps
                .iter()
                .map(|&d| self.nodes[d].key.clone())
                .collect(),
        )
        .with_resources(resources)
    }
}

// ---------------------------------------------------------------- the event queue

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Endpoint {
    Scheduler,
    Worker(u32),
    Client(u32),
}

#[derive(Debug)]
enum Delivery {
    Scheduler(Event),
    Worker(WorkerId, Action),
    Client(u32, Action),
    TaskDone {
        worker: WorkerId,
        key: TaskKey,
        run: u64,
    },
    StartWorker(u32),
    KillWorker,
    ClientStart(u32),
    ClientScatter(u32),
    ClientSubmit(u32, u32),
    ClientRelease(u32),
    /// A client fetching a reported key some time after the report.
    ClientFetch(u32, TaskKey, Vec<WorkerId>),
    Tick,
}

struct QueuedTask {
    cpus: u32,
    gpus: u32,
    /// This worker reported this key finished before: the scheduler may already count that
    /// (older) report against this assignment (no run ids in the protocol), see `assigned`.
    rerun: bool,
    kernel: String,
    args: Bytes,
    deps: Vec<DepLocation>,
}

struct Running {
    cpus: u32,
    gpus: u32,
    rerun: bool,
    run: u64,
    /// Virtual microseconds it computes.
    duration: u64,
    cancelled: bool,
    outcome: Result<u64, String>,
}

struct FakeWorker {
    id: WorkerId,
    nthreads: u32,
    gpus: u32,
    capacity: usize,
    alive: bool,
    store: HashMap<TaskKey, u64>,
    queued: BTreeMap<(u64, TaskKey), QueuedTask>,
    queued_priority: HashMap<TaskKey, u64>,
    running: HashMap<TaskKey, Running>,
    /// Keys this worker ever reported finished.
    reported: HashSet<TaskKey>,
}

impl FakeWorker {
    /// Tasks assigned and not finished, except re-runs of keys it reported before: a result
    /// in flight while the scheduler cancels and re-sends the same key is indistinguishable,
    /// for the scheduler, from the result of the re-sent task (the protocol has no run ids).
    fn assigned(&self) -> usize {
        self.assigned_sum(|_| 1)
    }

    /// CPU units and GPUs of the tasks counted by `assigned`.
    fn assigned_cpus_gpus(&self) -> (usize, usize) {
        (
            self.assigned_sum(|(c, _)| c as usize),
            self.assigned_sum(|(_, g)| g as usize),
        )
    }

    fn assigned_sum(&self, of: impl Fn((u32, u32)) -> usize) -> usize {
        self.queued
            .values()
            .filter(|q| !q.rerun)
            .map(|q| of((q.cpus, q.gpus)))
            .sum::<usize>()
            + self
                .running
                .values()
                .filter(|r| !r.cancelled && !r.rerun)
                .map(|r| of((r.cpus, r.gpus)))
                .sum::<usize>()
    }

    /// CPUs and GPUs busy with running tasks (cancelled ones still run).
    fn busy(&self) -> (u32, u32) {
        self.running
            .values()
            .fold((0, 0), |(c, g), r| (c + r.cpus, g + r.gpus))
    }
}

#[derive(PartialEq, Eq, Clone, Copy, Debug)]
enum WantState {
    Pending,
    Resolved,
}

struct FakeClient {
    index: u32,
    id: ClientId,
    joined: bool,
    left: bool,
    submissions_sent: u32,
    scattered: bool,
    wants: HashMap<TaskKey, WantState>,
    released: HashSet<TaskKey>,
    reports: HashMap<TaskKey, u32>,
    locating: HashSet<TaskKey>,
    submitted_wanted: HashSet<TaskKey>,
}

const MAX_TIME: u64 = 50_000_000;
const MAX_EVENTS: u64 = 5_000_000;
const TICK_EVERY: u64 = 1_000;

struct Sim<'a> {
    config: &'a SimConfig,
    rng: Rng,
    now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Delivery>,
    links: HashMap<(Endpoint, Endpoint), u64>,
    scheduler: Scheduler,
    base: Instant,
    universe: Universe,
    workers: BTreeMap<u32, FakeWorker>,
    view_alive: HashSet<WorkerId>,
    clients: Vec<FakeClient>,
    report: SimReport,
    ever_finished: HashSet<TaskKey>,
    next_run: u64,
    kills_left: u32,
}

/// Run one simulation; `Err` names the broken invariant (and the seed).
pub fn run(config: &SimConfig) -> Result<SimReport, String> {
    let mut rng = Rng::new(config.seed);
    let universe = Universe::build(config, &mut rng);
    let mut sim = Sim {
        config,
        rng,
        now: 0,
        seq: 0,
        queue: BTreeMap::new(),
        links: HashMap::new(),
        scheduler: Scheduler::new(SchedulerConfig {
            saturation: config.saturation,
            allowed_failures: config.allowed_failures,
            queue_horizon: config.queue_horizon,
            max_saturation: config.max_saturation,
            // Virtual tasks take microseconds.
            walltime_margin: Duration::from_micros(20),
            steal_transfer_limit: config.steal_transfer_limit,
            ..SchedulerConfig::default()
        }),
        base: Instant::now(),
        universe,
        workers: BTreeMap::new(),
        view_alive: HashSet::new(),
        clients: Vec::new(),
        report: SimReport::default(),
        ever_finished: HashSet::new(),
        next_run: 0,
        kills_left: config.kills,
    };
    sim.run().map_err(|e| {
        format!(
            "simulation failed (seed = {:#x}) at t = {} µs: {e}\nconfig = {config:?}\nreport so far = {:?}",
            config.seed, sim.now, sim.report
        )
    })?;
    Ok(sim.report)
}

impl Sim<'_> {
    fn at(&mut self, time: u64, delivery: Delivery) {
        self.seq += 1;
        self.queue.insert((time, self.seq), delivery);
    }

    fn send(&mut self, from: Endpoint, to: Endpoint, delivery: Delivery) {
        let latency = self.rng.range(1, 50);
        let last = self.links.entry((from, to)).or_insert(0);
        let time = (self.now + latency).max(*last);
        *last = time;
        self.at(time, delivery);
    }

    fn run(&mut self) -> Result<(), String> {
        self.schedule_start();
        while let Some(((time, _), delivery)) = self.queue.pop_first() {
            self.now = time;
            self.report.events += 1;
            if time > MAX_TIME || self.report.events > MAX_EVENTS {
                return Err(self.stuck_description("did not finish in time"));
            }
            self.deliver(delivery)?;
        }
        self.report.end_time = self.now;
        self.final_checks()
    }

    fn schedule_start(&mut self) {
        let config = self.config;
        let total = config.initial_workers + config.late_workers;
        for w in 0..total {
            let time = if w < config.initial_workers {
                0
            } else {
                self.rng.range(1, 20_000)
            };
            self.at(time, Delivery::StartWorker(w));
        }
        for _ in 0..config.kills {
            let time = self.rng.range(100, 30_000);
            self.at(time, Delivery::KillWorker);
        }
        for c in 0..config.clients {
            self.clients.push(FakeClient {
                index: c,
                id: ClientId(c),
                joined: false,
                left: false,
                submissions_sent: 0,
                scattered: false,
                wants: HashMap::new(),
                released: HashSet::new(),
                reports: HashMap::new(),
                locating: HashSet::new(),
                submitted_wanted: HashSet::new(),
            });
            let time = self.rng.range(0, 5_000);
            self.at(time, Delivery::ClientStart(c));
        }
        self.at(TICK_EVERY, Delivery::Tick);
    }

    fn deliver(&mut self, delivery: Delivery) -> Result<(), String> {
        match delivery {
            Delivery::Scheduler(event) => self.deliver_to_scheduler(event),
            Delivery::Worker(worker, action) => self.deliver_to_worker(worker, action),
            Delivery::Client(c, action) => self.deliver_to_client(c, action),
            Delivery::TaskDone { worker, key, run } => {
                self.task_done(worker, key, run);
                Ok(())
            }
            Delivery::StartWorker(w) => {
                let mut nthreads = self.rng.range(1, u64::from(self.config.max_threads)) as u32;
                let gpus = if self.config.resource_percent > 0 {
                    nthreads = nthreads.max(2);
                    1 + w % 2
                } else {
                    0
                };
                let per_thread = if self.config.queue_horizon.is_zero() {
                    self.config.saturation
                } else {
                    self.config.saturation.max(self.config.max_saturation)
                };
                let capacity = ((f64::from(nthreads) * per_thread).ceil() as usize).max(1);
                let lifetime = (self.config.lifetime_percent > 0
                    && self.rng.chance(self.config.lifetime_percent))
                .then(|| Duration::from_micros(self.rng.range(200, 20_000)));
                if lifetime.is_some() {
                    self.report.timed_workers += 1;
                }
                self.workers.insert(
                    w,
                    FakeWorker {
                        id: WorkerId(w),
                        nthreads,
                        gpus,
                        capacity,
                        alive: true,
                        store: HashMap::new(),
                        queued: BTreeMap::new(),
                        queued_priority: HashMap::new(),
                        running: HashMap::new(),
                        reported: HashSet::new(),
                    },
                );
                self.send(
                    Endpoint::Worker(w),
                    Endpoint::Scheduler,
                    Delivery::Scheduler(Event::WorkerJoined {
                        worker: WorkerId(w),
                        nthreads,
                        memory_limit: None,
                        lifetime,
                        generic: if gpus > 0 {
                            vec![("gpus".to_string(), gpus)]
                        } else {
                            Vec::new()
                        },
                    }),
                );
                Ok(())
            }
            Delivery::KillWorker => {
                self.kill_worker();
                Ok(())
            }
            Delivery::ClientStart(c) => {
                self.clients[c as usize].joined = true;
                self.send(
                    Endpoint::Client(c),
                    Endpoint::Scheduler,
                    Delivery::Scheduler(Event::ClientJoined {
                        client: ClientId(c),
                    }),
                );
                let time = self.now + 1;
                if self.universe.scattered_of.contains_key(&c) {
                    self.at(time, Delivery::ClientScatter(c));
                } else {
                    self.schedule_submissions(c);
                }
                Ok(())
            }
            Delivery::ClientScatter(c) => {
                self.client_scatter(c);
                Ok(())
            }
            Delivery::ClientSubmit(c, i) => {
                self.client_submit(c, i);
                Ok(())
            }
            Delivery::ClientRelease(c) => {
                self.client_release(c);
                Ok(())
            }
            Delivery::ClientFetch(c, key, holders) => {
                if self.clients[c as usize].left {
                    return Ok(());
                }
                self.fetch(c, &key, &holders)?;
                self.maybe_leave(c);
                Ok(())
            }
            Delivery::Tick => {
                self.handle(Event::Tick)?;
                if self.clients.iter().any(|c| !c.left) {
                    let time = self.now + TICK_EVERY;
                    self.at(time, Delivery::Tick);
                }
                Ok(())
            }
        }
    }

    // ------------------------------------------------------------ scheduler side

    fn deliver_to_scheduler(&mut self, event: Event) -> Result<(), String> {
        match &event {
            Event::WorkerJoined { worker, .. } => {
                self.view_alive.insert(*worker);
            }
            Event::WorkerLeft { worker } => {
                self.view_alive.remove(worker);
            }
            Event::TaskFinished { worker, key, .. }
            | Event::TaskFailed { worker, key, .. }
            | Event::StealReply { worker, key, .. }
            | Event::DepsMissing { worker, key, .. } => {
                if !self.view_alive.contains(worker) {
                    self.report.late_messages += 1;
                } else if matches!(event, Event::TaskFinished { .. }) {
                    self.ever_finished.insert(key.clone());
                }
            }
            _ => {}
        }
        self.handle(event)
    }

    fn handle(&mut self, event: Event) -> Result<(), String> {
        let now = self.base + Duration::from_micros(self.now);
        self.scheduler.handle(now, event);
        let actions: Vec<Action> = self.scheduler.drain_actions().collect();
        for action in actions {
            self.check_action(&action)?;
            match action {
                Action::Compute { worker, .. }
                | Action::Free { worker, .. }
                | Action::Steal { worker, .. } => {
                    if let Action::Compute { key, .. } = &action {
                        self.report.computes += 1;
                        if self.ever_finished.contains(key) {
                            self.report.recomputes += 1;
                        }
                    }
                    if let Action::Steal { .. } = &action {
                        self.report.steals_requested += 1;
                    }
                    self.send(
                        Endpoint::Scheduler,
                        Endpoint::Worker(worker.0),
                        Delivery::Worker(worker, action),
                    );
                }
                Action::Replicate { .. } | Action::CloseWorker { .. } => {}
                Action::KeyReady { client, .. }
                | Action::KeyErred { client, .. }
                | Action::Located { client, .. } => {
                    self.send(
                        Endpoint::Scheduler,
                        Endpoint::Client(client.0),
                        Delivery::Client(client.0, action),
                    );
                }
            }
        }
        for &worker in &self.view_alive {
            if let Some((inflight, capacity)) = self.scheduler.worker_occupancy(worker) {
                if inflight > capacity {
                    return Err(format!(
                        "scheduler has {inflight} tasks in flight on {worker}, capacity {capacity}"
                    ));
                }
            } else {
                return Err(format!("scheduler does not know connected {worker}"));
            }
        }
        Ok(())
    }

    fn check_action(&self, action: &Action) -> Result<(), String> {
        let alive = |w: &WorkerId| self.view_alive.contains(w);
        match action {
            Action::Compute {
                worker, key, deps, ..
            } => {
                if !alive(worker) {
                    return Err(format!("Compute {key} sent to departed {worker}"));
                }
                let Some(&i) = self.universe.index.get(key) else {
                    return Err(format!("Compute for unknown key {key}"));
                };
                let expected: Vec<&TaskKey> = self.universe.nodes[i]
                    .deps
                    .iter()
                    .map(|&d| &self.universe.nodes[d].key)
                    .collect();
                let got: Vec<&TaskKey> = deps.iter().map(|d| &d.key).collect();
                if expected != got {
                    return Err(format!(
                        "Compute {key} with inputs {got:?}, expected {expected:?}"
                    ));
                }
                for dep in deps {
                    if dep.holders.is_empty() || !dep.holders.iter().all(alive) {
                        return Err(format!(
                            "Compute {key}: input {} has holders {:?} (must be connected, non-empty)",
                            dep.key, dep.holders
                        ));
                    }
                }
            }
            Action::Free { worker, keys } => {
                if !alive(worker) {
                    return Err(format!("Free {keys:?} sent to departed {worker}"));
                }
            }
            Action::Steal { worker, key } => {
                if !alive(worker) {
                    return Err(format!("Steal {key} sent to departed {worker}"));
                }
            }
            Action::KeyReady { key, holders, .. } | Action::Located { key, holders, .. } => {
                if holders.is_empty() || !holders.iter().all(alive) {
                    return Err(format!(
                        "{key} reported in memory with holders {holders:?} (must be connected, non-empty)"
                    ));
                }
            }
            Action::KeyErred { .. } => {}
            Action::Replicate { .. } | Action::CloseWorker { .. } => {
                return Err(format!(
                    "{action:?}: the simulation never retires workers, so this cannot happen"
                ));
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ workers

    fn kill_worker(&mut self) {
        let alive: Vec<u32> = self
            .workers
            .values()
            .filter(|w| w.alive)
            .map(|w| w.id.0)
            .collect();
        if alive.len() < 2 {
            return;
        }
        let Some(victim) = self.rng.pick(&alive) else {
            return;
        };
        self.report.kills += 1;
        let late_key = {
            let worker = self.workers.get_mut(&victim).expect("picked alive worker");
            worker.alive = false;
            let late = worker
                .running
                .keys()
                .chain(worker.store.keys())
                .min()
                .cloned();
            worker.store.clear();
            worker.queued.clear();
            worker.queued_priority.clear();
            worker.running.clear();
            late
        };
        let delay = self.rng.range(1, 300);
        // The departure is noticed on the worker's own connection, after everything it sent
        // (a real server sees the close after the registration): never overtake the link.
        let last = self
            .links
            .entry((Endpoint::Worker(victim), Endpoint::Scheduler))
            .or_insert(0);
        let time = (self.now + delay).max(*last + 1);
        *last = time;
        self.at(
            time,
            Delivery::Scheduler(Event::WorkerLeft {
                worker: WorkerId(victim),
            }),
        );
        if let Some(key) = late_key {
            if self.rng.chance(50) {
                // A message from the dead worker arriving after its departure.
                let time = self.now + delay + self.rng.range(1, 2_000);
                self.at(
                    time,
                    Delivery::Scheduler(Event::TaskFinished {
                        worker: WorkerId(victim),
                        key,
                        nbytes: 1,
                        compute: Some(Duration::from_micros(10)),
                    }),
                );
            }
        }
    }

    fn deliver_to_worker(&mut self, worker: WorkerId, action: Action) -> Result<(), String> {
        let Some(w) = self.workers.get_mut(&worker.0) else {
            return Err(format!("action for never-started {worker}"));
        };
        if !w.alive {
            return Ok(());
        }
        match action {
            Action::Compute {
                key,
                kernel,
                args,
                deps,
                priority,
                resources,
                ..
            } => {
                let gpus = resources
                    .generic
                    .iter()
                    .find(|(n, _)| n == "gpus")
                    .map_or(0, |(_, a)| *a);
                if resources.cpus > w.nthreads || gpus > w.gpus {
                    return Err(format!(
                        "Compute {key} asking for {} CPUs and {gpus} GPUs sent to {worker}, \
                         which has {} and {}",
                        resources.cpus, w.nthreads, w.gpus
                    ));
                }
                if w.queued_priority.contains_key(&key) {
                    return Err(format!(
                        "Compute {key} sent to {worker}, which already queues it"
                    ));
                }
                if let Some(running) = w.running.get_mut(&key) {
                    if !running.cancelled {
                        return Err(format!(
                            "Compute {key} sent to {worker}, which is running it"
                        ));
                    }
                    running.cancelled = false;
                } else if let Some(&value) = w.store.get(&key) {
                    self.send(
                        Endpoint::Worker(worker.0),
                        Endpoint::Scheduler,
                        Delivery::Scheduler(Event::TaskFinished {
                            worker,
                            key,
                            nbytes: nbytes_of(value),
                            compute: None,
                        }),
                    );
                    return Ok(());
                } else {
                    w.queued_priority.insert(key.clone(), priority);
                    w.queued.insert(
                        (priority, key.clone()),
                        QueuedTask {
                            cpus: resources.cpus,
                            gpus,
                            rerun: w.reported.contains(&key),
                            kernel: kernel.to_string(),
                            args,
                            deps,
                        },
                    );
                }
                let w = &self.workers[&worker.0];
                let (cpus, gpus) = w.assigned_cpus_gpus();
                if cpus > w.capacity.max(w.nthreads as usize) {
                    return Err(format!(
                        "{worker} has {cpus} CPU units assigned ({} tasks), capacity {}",
                        w.assigned(),
                        w.capacity
                    ));
                }
                if gpus > w.gpus as usize {
                    return Err(format!(
                        "{worker} has {gpus} GPUs booked, it has {}",
                        w.gpus
                    ));
                }
                self.start_tasks(worker);
                let w = &self.workers[&worker.0];
                let (cpus, gpus) = w.busy();
                if cpus > w.nthreads || gpus > w.gpus {
                    return Err(format!(
                        "{worker} runs tasks on {cpus} CPUs and {gpus} GPUs, it has {} and {}",
                        w.nthreads, w.gpus
                    ));
                }
            }
            Action::Free { keys, .. } => {
                for key in keys {
                    w.store.remove(&key);
                    if let Some(p) = w.queued_priority.remove(&key) {
                        w.queued.remove(&(p, key.clone()));
                    }
                    if let Some(r) = w.running.get_mut(&key) {
                        r.cancelled = true;
                    }
                }
                self.start_tasks(worker);
            }
            Action::Steal { key, .. } => {
                let stolen = match w.queued_priority.remove(&key) {
                    Some(p) => {
                        w.queued.remove(&(p, key.clone()));
                        true
                    }
                    None => false,
                };
                if stolen {
                    self.report.steals_granted += 1;
                }
                self.send(
                    Endpoint::Worker(worker.0),
                    Endpoint::Scheduler,
                    Delivery::Scheduler(Event::StealReply {
                        worker,
                        key,
                        stolen,
                    }),
                );
            }
            other => return Err(format!("client action {other:?} routed to a worker")),
        }
        Ok(())
    }

    fn start_tasks(&mut self, worker: WorkerId) {
        loop {
            let w = &self.workers[&worker.0];
            let (busy_cpus, busy_gpus) = w.busy();
            if !w.alive || busy_cpus >= w.nthreads {
                return;
            }
            // The best task whose CPUs and GPUs are free now (like the real worker).
            let Some(next) = w
                .queued
                .iter()
                .find(|(_, q)| busy_cpus + q.cpus <= w.nthreads && busy_gpus + q.gpus <= w.gpus)
                .map(|(k, _)| k.clone())
            else {
                return;
            };
            let w = self.workers.get_mut(&worker.0).expect("worker exists");
            let Some(task) = w.queued.remove(&next) else {
                return;
            };
            let (_, key) = next;
            if task.cpus > 1 || task.gpus > 0 {
                self.report.resource_tasks += 1;
            }

            w.queued_priority.remove(&key);
            let mut inputs = Vec::with_capacity(task.deps.len());
            let mut missing = Vec::new();
            for dep in &task.deps {
                let own = self.workers[&worker.0].store.get(&dep.key).copied();
                let fetched = own.or_else(|| {
                    dep.holders.iter().find_map(|h| {
                        self.workers
                            .get(&h.0)
                            .filter(|hw| hw.alive)
                            .and_then(|hw| hw.store.get(&dep.key).copied())
                    })
                });
                match fetched {
                    Some(v) => inputs.push(v),
                    None => missing.push(dep.key.clone()),
                }
            }
            if !missing.is_empty() {
                self.report.deps_missing += 1;
                self.send(
                    Endpoint::Worker(worker.0),
                    Endpoint::Scheduler,
                    Delivery::Scheduler(Event::DepsMissing {
                        worker,
                        key,
                        missing,
                    }),
                );
                continue;
            }
            let outcome = if task.kernel == "fail" {
                Err(kernel_failure_message(&key))
            } else {
                Ok(task_value(key.as_str(), &inputs))
            };
            let mut duration = [0u8; 8];
            duration.copy_from_slice(&task.args[..8]);
            let duration = u64::from_le_bytes(duration);
            self.next_run += 1;
            let run = self.next_run;
            let w = self.workers.get_mut(&worker.0).expect("worker exists");
            w.running.insert(
                key.clone(),
                Running {
                    cpus: task.cpus,
                    gpus: task.gpus,
                    rerun: task.rerun,
                    run,
                    duration,
                    cancelled: false,
                    outcome,
                },
            );
            let time = self.now + duration;
            self.at(time, Delivery::TaskDone { worker, key, run });
        }
    }

    fn task_done(&mut self, worker: WorkerId, key: TaskKey, run: u64) {
        let w = self.workers.get_mut(&worker.0).expect("worker exists");
        if !w.alive || w.running.get(&key).is_none_or(|r| r.run != run) {
            return;
        }
        let Some(running) = w.running.remove(&key) else {
            return;
        };
        if !running.cancelled {
            let event = match running.outcome {
                Ok(value) => {
                    w.store.insert(key.clone(), value);
                    w.reported.insert(key.clone());
                    Event::TaskFinished {
                        worker,
                        key,
                        nbytes: nbytes_of(value),
                        compute: Some(Duration::from_micros(running.duration)),
                    }
                }
                Err(message) => Event::TaskFailed {
                    worker,
                    key,
                    message,
                },
            };
            self.send(
                Endpoint::Worker(worker.0),
                Endpoint::Scheduler,
                Delivery::Scheduler(event),
            );
        }
        self.maybe_report_residency(worker);
        self.start_tasks(worker);
    }

    /// Now and then, report one stored result moved to disk and one moved back (the fake
    /// store keeps every value; residency only steers placement).
    fn maybe_report_residency(&mut self, worker: WorkerId) {
        let percent = self.config.spill_percent;
        if percent == 0 || !self.rng.chance(percent) {
            return;
        }
        let mut keys: Vec<TaskKey> = self.workers[&worker.0].store.keys().cloned().collect();
        keys.sort();
        let to_disk: Vec<TaskKey> = self
            .rng
            .pick(&keys_index(&keys))
            .map_or_else(Vec::new, |i| vec![keys[i].clone()]);
        let to_memory: Vec<TaskKey> = if self.rng.chance(50) {
            self.rng
                .pick(&keys_index(&keys))
                .map_or_else(Vec::new, |i| vec![keys[i].clone()])
        } else {
            Vec::new()
        };
        self.report.residency_reports += 1;
        self.send(
            Endpoint::Worker(worker.0),
            Endpoint::Scheduler,
            Delivery::Scheduler(Event::ResidencyChanged {
                worker,
                to_disk,
                to_memory,
            }),
        );
    }

    // ------------------------------------------------------------ clients

    fn schedule_submissions(&mut self, c: u32) {
        let mut time = self.now + 1;
        for i in 0..self.config.graphs_per_client {
            self.at(time, Delivery::ClientSubmit(c, i));
            time += self.rng.range(0, 3_000);
            if self.rng.chance(self.config.release_percent) {
                let at = time + self.rng.range(0, 3_000);
                self.at(at, Delivery::ClientRelease(c));
            }
        }
    }

    fn client_scatter(&mut self, c: u32) {
        let candidates: Vec<u32> = self
            .workers
            .values()
            .filter(|w| w.alive && self.view_alive.contains(&w.id))
            .map(|w| w.id.0)
            .collect();
        let Some(target) = self.rng.pick(&candidates) else {
            let time = self.now + 100;
            self.at(time, Delivery::ClientScatter(c));
            return;
        };
        let nodes = self.universe.scattered_of[&c].clone();
        let mut keys = Vec::new();
        for i in nodes {
            let key = self.universe.nodes[i].key.clone();
            let value = self.universe.value[i];
            self.workers
                .get_mut(&target)
                .expect("candidate exists")
                .store
                .insert(key.clone(), value);
            keys.push((key.clone(), nbytes_of(value)));
            self.clients[c as usize]
                .wants
                .insert(key.clone(), WantState::Pending);
        }
        self.clients[c as usize].scattered = true;
        self.send(
            Endpoint::Client(c),
            Endpoint::Scheduler,
            Delivery::Scheduler(Event::DataScattered {
                client: ClientId(c),
                worker: WorkerId(target),
                keys,
            }),
        );
        self.schedule_submissions(c);
    }

    fn client_submit(&mut self, c: u32, i: u32) {
        let client = &self.clients[c as usize];
        if client.left {
            return;
        }
        let mut targets: Vec<usize> = Vec::new();
        if i == 0 {
            if let Some(&sink) = self.universe.private_sinks.get(&c) {
                targets.push(sink);
            }
        }
        let n = self.rng.range(1, 4);
        for _ in 0..n {
            let pick = if self.rng.chance(50) {
                self.rng.pick(&self.universe.sinks)
            } else {
                self.rng.pick(&self.universe.public)
            };
            if let Some(t) = pick {
                if !client.released.contains(&self.universe.nodes[t].key) && !targets.contains(&t) {
                    targets.push(t);
                }
            }
        }
        // Dependencies this client still wants may be left out: the scheduler knows them.
        let omit_known = self.rng.chance(50);
        let mut seen: HashSet<usize> = HashSet::new();
        let mut stack: Vec<usize> = targets.clone();
        let mut specs = Vec::new();
        while let Some(node) = stack.pop() {
            if !seen.insert(node) {
                continue;
            }
            let n = &self.universe.nodes[node];
            if n.scattered {
                continue;
            }
            if omit_known
                && !targets.contains(&node)
                && client.submitted_wanted.contains(&n.key)
                && !client.released.contains(&n.key)
            {
                continue;
            }
            specs.push(self.universe.spec(node));
            stack.extend(n.deps.iter().copied());
        }
        // Order of the submitted list must not matter.
        for k in (1..specs.len()).rev() {
            let j = self.rng.below(k as u64 + 1) as usize;
            specs.swap(k, j);
        }
        let wanted: Vec<TaskKey> = targets
            .iter()
            .map(|&t| self.universe.nodes[t].key.clone())
            .collect();
        let client = &mut self.clients[c as usize];
        client.submissions_sent += 1;
        for key in &wanted {
            client
                .wants
                .entry(key.clone())
                .or_insert(WantState::Pending);
            client.submitted_wanted.insert(key.clone());
        }
        self.send(
            Endpoint::Client(c),
            Endpoint::Scheduler,
            Delivery::Scheduler(Event::GraphSubmitted {
                client: ClientId(c),
                tasks: specs,
                wanted,
            }),
        );
        self.maybe_leave(c);
    }

    fn client_release(&mut self, c: u32) {
        let client = &self.clients[c as usize];
        if client.left {
            return;
        }
        let mut candidates: Vec<TaskKey> = client
            .wants
            .keys()
            .filter(|k| {
                !client.released.contains(*k)
                    && !self
                        .universe
                        .index
                        .get(*k)
                        .is_some_and(|&i| self.universe.nodes[i].scattered)
            })
            .cloned()
            .collect();
        candidates.sort();
        if candidates.is_empty() {
            return;
        }
        let n = self.rng.range(1, 3) as usize;
        let mut keys = Vec::new();
        for _ in 0..n {
            let k = candidates[self.rng.below(candidates.len() as u64) as usize].clone();
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        let cancel = self.rng.chance(50);
        let client = &mut self.clients[c as usize];
        for k in &keys {
            client.released.insert(k.clone());
            client.locating.remove(k);
        }
        self.report.releases += 1;
        let event = if cancel {
            Event::CancelRequested {
                client: ClientId(c),
                keys,
            }
        } else {
            Event::KeysReleased {
                client: ClientId(c),
                keys,
            }
        };
        self.send(
            Endpoint::Client(c),
            Endpoint::Scheduler,
            Delivery::Scheduler(event),
        );
        self.maybe_leave(c);
    }

    fn maybe_leave(&mut self, c: u32) {
        let scatters = self.universe.scattered_of.contains_key(&c);
        let client = &mut self.clients[c as usize];
        if client.left
            || client.submissions_sent < self.config.graphs_per_client
            || (scatters && !client.scattered)
        {
            return;
        }
        let done = client
            .wants
            .iter()
            .all(|(k, s)| *s == WantState::Resolved || client.released.contains(k));
        if !done || !client.locating.is_empty() {
            return;
        }
        client.left = true;
        self.send(
            Endpoint::Client(c),
            Endpoint::Scheduler,
            Delivery::Scheduler(Event::ClientLeft {
                client: ClientId(c),
            }),
        );
    }

    fn fetch(&mut self, c: u32, key: &TaskKey, holders: &[WorkerId]) -> Result<(), String> {
        let value = holders.iter().find_map(|h| {
            self.workers
                .get(&h.0)
                .filter(|w| w.alive)
                .and_then(|w| w.store.get(key).copied())
        });
        let client = &mut self.clients[c as usize];
        match value {
            Some(v) => {
                let i = self.universe.index[key];
                if v != self.universe.value[i] {
                    return Err(format!(
                        "client {c} fetched {key} = {v:#x}, eager evaluation says {:#x}",
                        self.universe.value[i]
                    ));
                }
                client.wants.insert(key.clone(), WantState::Resolved);
                client.locating.remove(key);
            }
            None if client.released.contains(key) => {
                client.wants.insert(key.clone(), WantState::Resolved);
            }
            None => {
                // Every holder is gone or dropped it: ask again.
                client.locating.insert(key.clone());
                self.report.locates += 1;
                self.send(
                    Endpoint::Client(c),
                    Endpoint::Scheduler,
                    Delivery::Scheduler(Event::LocateRequested {
                        client: ClientId(c),
                        keys: vec![key.clone()],
                    }),
                );
            }
        }
        Ok(())
    }

    fn deliver_to_client(&mut self, c: u32, action: Action) -> Result<(), String> {
        if self.clients[c as usize].left {
            return Ok(());
        }
        match action {
            Action::KeyReady { key, holders, .. } => {
                self.report.key_ready += 1;
                let client = &mut self.clients[c as usize];
                if !client.wants.contains_key(&key) {
                    return Err(format!(
                        "KeyReady {key} for client {c}, which never wanted it"
                    ));
                }
                let count = client.reports.entry(key.clone()).or_insert(0);
                *count += 1;
                if *count > 1 {
                    return Err(format!("second report for {key} to client {c} (KeyReady)"));
                }
                let i = self.universe.index[&key];
                if self.universe.fails[i] {
                    return Err(format!(
                        "KeyReady {key}, whose graph contains a failing kernel"
                    ));
                }
                if self.rng.chance(30) {
                    // Fetch later: the holders may be gone by then (then it locates the key).
                    let time = self.now + self.rng.range(1, 5_000);
                    self.at(time, Delivery::ClientFetch(c, key, holders));
                } else {
                    self.fetch(c, &key, &holders)?;
                }
            }
            Action::Located { key, holders, .. } => {
                let client = &mut self.clients[c as usize];
                if client.released.contains(&key) || !client.locating.remove(&key) {
                    return Ok(());
                }
                self.fetch(c, &key, &holders)?;
            }
            Action::KeyErred {
                key, root, message, ..
            } => {
                self.report.key_erred += 1;
                if message.contains("KilledWorker") {
                    self.report.killed_worker_errors += 1;
                }
                let client = &mut self.clients[c as usize];
                let answers_locate = client.locating.remove(&key);
                if !answers_locate {
                    let count = client.reports.entry(key.clone()).or_insert(0);
                    *count += 1;
                    if *count > 1 {
                        return Err(format!(
                            "second report for {key} to client {c} (KeyErred {message})"
                        ));
                    }
                }
                if !client.wants.contains_key(&key) {
                    return Err(format!(
                        "KeyErred {key} for client {c}, which never wanted it"
                    ));
                }
                let released = client.released.contains(&key);
                client.wants.insert(key.clone(), WantState::Resolved);
                self.check_error(&key, &root, &message, released)?;
            }
            other => return Err(format!("worker action {other:?} routed to a client")),
        }
        self.maybe_leave(c);
        Ok(())
    }

    fn check_error(
        &self,
        key: &TaskKey,
        root: &TaskKey,
        message: &str,
        released: bool,
    ) -> Result<(), String> {
        let i = self.universe.index[key];
        let faults = self.report.kills > 0;
        if faults && (message.contains("KilledWorker") || message.contains("scattered")) {
            return Ok(());
        }
        if faults
            && self.universe.has_scattered_ancestor[i]
            && message.contains("neither in the submitted graph nor known")
        {
            return Ok(());
        }
        if released && message.contains("released") {
            return Ok(());
        }
        let root_ok = self
            .universe
            .index
            .get(root)
            .is_some_and(|r| self.universe.roots[i].contains(r));
        if self.universe.fails[i] && root_ok && message == kernel_failure_message(root) {
            return Ok(());
        }
        Err(format!(
            "unexpected KeyErred {key} (root {root}: {message}); expected to fail: {}, failing \
             roots {:?}, kills so far {}",
            self.universe.fails[i],
            self.universe.roots[i]
                .iter()
                .map(|&r| self.universe.nodes[r].key.as_str())
                .collect::<Vec<_>>(),
            self.report.kills
        ))
    }

    // ------------------------------------------------------------ the end

    fn stuck_description(&self, what: &str) -> String {
        let mut out = format!("{what}; scheduler {:?}", self.scheduler.snapshot());
        for client in &self.clients {
            if client.left {
                continue;
            }
            let pending: Vec<String> = client
                .wants
                .iter()
                .filter(|(k, s)| **s == WantState::Pending && !client.released.contains(*k))
                .map(|(k, _)| format!("{k} ({:?})", self.scheduler.task_status(k)))
                .take(10)
                .collect();
            out.push_str(&format!(
                "\n client {} (submitted {}/{}, locating {:?}) waits for {pending:?}",
                client.index,
                client.submissions_sent,
                self.config.graphs_per_client,
                client.locating
            ));
        }
        // Tasks the scheduler believes are running, and what their worker knows of them.
        for node in &self.universe.nodes {
            if let Some(tessera::core::scheduler::TaskStatus::Processing(w)) =
                self.scheduler.task_status(&node.key)
            {
                let seen = match self.workers.get(&w.0) {
                    Some(sw) => format!(
                        "alive {}, queued {}, running {:?}, stored {}, reported {}",
                        sw.alive,
                        sw.queued_priority.contains_key(&node.key),
                        sw.running.get(&node.key).map(|r| r.cancelled),
                        sw.store.contains_key(&node.key),
                        sw.reported.contains(&node.key)
                    ),
                    None => "unknown worker".into(),
                };
                out.push_str(&format!(
                    "\n {} processing on {w}: worker has {seen}",
                    node.key
                ));
            }
        }
        out
    }

    fn final_checks(&self) -> Result<(), String> {
        if self.clients.iter().any(|c| !c.left) {
            return Err(self.stuck_description("event queue ran dry with clients waiting"));
        }
        let snapshot = self.scheduler.snapshot();
        if snapshot.total_tasks != 0 {
            return Err(format!(
                "all clients left but the scheduler still holds tasks: {snapshot:?}"
            ));
        }
        for w in self.workers.values().filter(|w| w.alive) {
            if !w.store.is_empty() || !w.queued.is_empty() || !w.running.is_empty() {
                let mut keys: Vec<&TaskKey> = w.store.keys().collect();
                keys.sort();
                return Err(format!(
                    "all clients left but {} still holds {keys:?}, queues {} and runs {}",
                    w.id,
                    w.queued.len(),
                    w.running.len()
                ));
            }
        }
        Ok(())
    }
}
