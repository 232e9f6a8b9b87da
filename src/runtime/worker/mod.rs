//! The worker: runs tasks the scheduler assigns, holds their results, serves them to peers and
//! clients, and reports results, failures and heartbeats.
//!
//! Threads: one control thread (scheduler messages), `nthreads` executors, fetchers (inputs
//! from peers), a data server, a heartbeat, a memory monitor and a spill writer. Results live
//! in a [`ChunkStore`] that spills the least recently used ones to a directory under
//! `--local-directory` when the memory manager says so (see docs/memory.md); the directory
//! is removed when the worker stops, and directories of dead workers are removed when one
//! starts. A worker started in-process (local cluster) and one started by `tessera worker`
//! are the same code. This module must not make scheduling decisions: it does what the
//! scheduler says and reports what happened.

mod data_server;
mod executor;
mod fetcher;
mod local_resources;
mod memory_monitor;
mod metrics;
mod residency;
mod retirement;
mod state;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::core::memory::{MemoryConfig, MemoryConfigError};
use crate::protocol::{ComputeTask, Frame, Message, Secret, WorkerRegistration};
use crate::runtime::peer_pool::PeerPool;
use crate::store::{clean_stale_spill_dirs, ChunkStore, StoreConfig, StoreError};
use crate::transport::{Address, Connection, FrameSender, Listener, TransportError};

use memory_monitor::{MemoryMonitor, MonitorError};
use state::{Phase, WorkerState};

pub use memory_monitor::SAMPLE_INTERVAL as MEMORY_SAMPLE_INTERVAL;
pub use metrics::{process_peak_rss_bytes, process_rss_bytes};

/// How to start a worker.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The scheduler to register with.
    pub scheduler: Address,
    pub secret: Secret,
    /// Tasks run at once.
    pub nthreads: usize,
    /// Bytes this worker may use; `None` for no limit.
    pub memory_limit: Option<u64>,
    /// Memory thresholds and timings (fractions of `memory_limit`). Its `limit` and
    /// `max_spill` are ignored: they come from `memory_limit` and `store.max_spill`.
    pub memory: MemoryConfig,
    /// Where and how results are spilled: `local_directory` (default `$TMPDIR` or `/tmp`),
    /// `max_spill`, compression, file layout.
    pub store: StoreConfig,
    /// Compare this process's RSS with the thresholds (true for a worker process; false for
    /// workers sharing a process, such as a threads-mode local cluster, whose RSS is not
    /// theirs alone: they then go by the bytes they store).
    pub sample_rss: bool,
    /// Where the data server listens (`tcp://0.0.0.0:0`, `inproc://w1`, ...).
    pub listen: Address,
    /// Host name or IP peers should use, when it differs from the bound address.
    pub advertise_host: Option<String>,
    /// More addresses the data server listens on (for example this rank's `mpi://` address
    /// for the MPI data transport). The worker's data address then lists every route
    /// (`tcp://…,mpi://…`) and each peer picks the one it prefers.
    pub also_listen: Vec<Address>,
    /// Name shown by `tessera info`.
    pub name: String,
    pub heartbeat_interval: Duration,
    /// How long to keep trying to reach the scheduler.
    pub connect_timeout: Duration,
    /// Retire gracefully this long after start (the job's walltime minus a margin): stop
    /// taking tasks, hand results to other workers, exit. `None`: live until told to stop.
    pub lifetime: Option<Duration>,
    /// How long a retiring worker waits for the scheduler to close it before stopping anyway.
    pub retire_timeout: Duration,
    /// When the batch job running this worker ends (see
    /// [`crate::deploy::job_end::batch_job_end`]); told to the scheduler with the lifetime,
    /// so tasks known to take longer go elsewhere. `None`: unknown.
    pub job_end: Option<std::time::SystemTime>,
    /// Named generic resources this worker offers to tasks (`gpus` → 2), handed out by index
    /// (`CUDA_VISIBLE_DEVICES`, `TESSERA_RESOURCE_GPUS`).
    pub resources: Vec<(String, u32)>,
}

impl WorkerConfig {
    /// A worker of `nthreads` threads for the scheduler at `scheduler`, data server on an
    /// ephemeral loopback port.
    pub fn new(scheduler: Address, secret: Secret, nthreads: usize) -> Self {
        WorkerConfig {
            scheduler,
            secret,
            nthreads: nthreads.max(1),
            memory_limit: None,
            memory: MemoryConfig::default(),
            store: StoreConfig::default(),
            sample_rss: true,
            listen: Address::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
            advertise_host: None,
            also_listen: Vec::new(),
            name: format!("{}:{}", crate::deploy::hostname(), std::process::id()),
            heartbeat_interval: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(30),
            lifetime: None,
            retire_timeout: Duration::from_secs(60),
            job_end: None,
            resources: Vec::new(),
        }
    }
}

/// Why a worker stopped without error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerExit {
    /// The scheduler told it to stop.
    SchedulerShutdown(String),
    /// [`WorkerHandle::stop`] was called.
    Stopped,
}

/// A worker failed.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot reach the scheduler: {0}")]
    Connect(#[source] TransportError),
    #[error("cannot start the data server: {0}")]
    Listen(#[source] TransportError),
    #[error("the scheduler refused this worker: {0}")]
    Rejected(String),
    #[error("lost the connection to the scheduler at {address}: {reason}")]
    SchedulerLost { address: String, reason: String },
    #[error("cannot start worker thread: {0}")]
    Thread(#[from] std::io::Error),
    /// The memory thresholds are invalid.
    #[error("invalid memory settings: {0}")]
    Memory(#[from] MemoryConfigError),
    /// The spill directory cannot be created (or the spill writer cannot start).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The worker stopped itself: its memory went above the terminate threshold.
    #[error("{0}")]
    MemoryExceeded(String),
}

impl From<MonitorError> for WorkerError {
    fn from(e: MonitorError) -> Self {
        match e {
            MonitorError::Config(e) => WorkerError::Memory(e),
            MonitorError::Store(e) => WorkerError::Store(e),
        }
    }
}

/// A running worker.
pub struct WorkerHandle {
    control: Option<JoinHandle<Result<WorkerExit, WorkerError>>>,
    stop_requested: Arc<AtomicBool>,
    to_scheduler: FrameSender,
    /// The id the scheduler gave this worker.
    pub id: u32,
    /// Where peers fetch this worker's data.
    pub data_address: String,
}

impl WorkerHandle {
    /// Ask the worker to stop (it leaves the cluster; its data is lost to the cluster).
    pub fn stop(&self) {
        self.stop_requested.store(true, Ordering::SeqCst);
        self.to_scheduler.close();
    }

    /// Leave gracefully: ask the scheduler to take back queued tasks and move this worker's
    /// results to others; it then tells the worker to exit (see [`WorkerHandle::join`]).
    pub fn retire(&self, reason: &str) {
        let _ = self.to_scheduler.send(Frame::single(Message::Retiring {
            reason: reason.to_string(),
        }));
    }

    /// True once the worker has stopped.
    pub fn is_finished(&self) -> bool {
        self.control.as_ref().is_none_or(|h| h.is_finished())
    }

    /// Wait until the worker has stopped.
    pub fn join(mut self) -> Result<WorkerExit, WorkerError> {
        match self.control.take().map(|h| h.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(WorkerError::SchedulerLost {
                address: String::new(),
                reason: "worker control thread panicked".into(),
            }),
            None => Ok(WorkerExit::Stopped),
        }
    }
}

fn spawn<F, T>(name: &str, f: F) -> std::io::Result<JoinHandle<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    std::thread::Builder::new().name(name.to_string()).spawn(f)
}

/// The memory manager's configuration of a worker: `config.memory` with the worker's limit
/// and spill cap.
fn memory_config(config: &WorkerConfig) -> MemoryConfig {
    MemoryConfig {
        limit: config.memory_limit,
        max_spill: config.store.max_spill,
        ..config.memory.clone()
    }
}

/// Remove spill directories of dead workers, then create this worker's store.
fn open_store(config: &StoreConfig) -> Result<ChunkStore, StoreError> {
    match clean_stale_spill_dirs(&config.local_directory) {
        Ok(removed) => {
            for path in removed {
                tracing::info!(path = %path.display(), "removed the spill directory of a dead worker");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot look for stale spill directories"),
    }
    let store = ChunkStore::open(config.clone())?;
    if let Some(warning) = store.filesystem_warning() {
        tracing::warn!("{warning}");
    }
    Ok(store)
}

/// Start a worker: bind its data server, register with the scheduler, start its threads.
pub fn start_worker(config: WorkerConfig) -> Result<WorkerHandle, WorkerError> {
    // The lifetime counts from here.
    let started = std::time::Instant::now();
    let memory = memory_config(&config);
    memory.validate()?;
    let store = Arc::new(open_store(&config.store)?);
    let listener =
        Listener::bind(&config.listen, config.secret.clone()).map_err(WorkerError::Listen)?;
    let mut data_address = advertised(&listener.local_address(), config.advertise_host.as_deref());
    let mut extra_listeners = Vec::with_capacity(config.also_listen.len());
    for address in &config.also_listen {
        let extra = Listener::bind(address, config.secret.clone()).map_err(WorkerError::Listen)?;
        data_address.push(crate::transport::routes::ROUTE_SEPARATOR);
        data_address.push_str(&extra.local_address().to_string());
        extra_listeners.push(extra);
    }
    let conn = Connection::connect(&config.scheduler, &config.secret, config.connect_timeout)
        .map_err(WorkerError::Connect)?;
    let (to_scheduler, mut from_scheduler) = conn.split();
    let registration = WorkerRegistration {
        name: config.name.clone(),
        host: crate::deploy::hostname(),
        pid: std::process::id(),
        nthreads: config.nthreads as u32,
        memory_limit: config.memory_limit,
        data_address: data_address.clone(),
        remaining_lifetime_secs: retirement::remaining_lifetime(
            config.lifetime,
            started.elapsed(),
            config.job_end,
            std::time::SystemTime::now(),
        )
        .map(|left| left.as_secs_f64()),
        resources: config.resources.clone(),
        memory_thresholds: crate::protocol::MemoryThresholds {
            target: memory.target,
            spill: memory.spill,
            pause: memory.pause,
            terminate: memory.terminate,
        },
    };
    let lost = |reason: String| WorkerError::SchedulerLost {
        address: config.scheduler.to_string(),
        reason,
    };
    to_scheduler
        .send(Frame::single(Message::RegisterWorker(registration)))
        .map_err(|e| lost(e.to_string()))?;
    let id = match from_scheduler.recv() {
        Ok(Some(frame)) => match frame.messages.into_iter().next() {
            Some(Message::Welcome { id }) => id,
            Some(Message::Shutdown { reason }) => return Err(WorkerError::Rejected(reason)),
            other => return Err(WorkerError::Rejected(format!("unexpected reply {other:?}"))),
        },
        Ok(None) => return Err(lost("closed during registration".into())),
        Err(e) => return Err(lost(e.to_string())),
    };
    tracing::info!(worker = id, address = %data_address, nthreads = config.nthreads, "worker registered");

    tracing::info!(
        worker = id,
        directory = %store.directory().display(),
        limit = ?config.memory_limit,
        "spill directory"
    );

    let state = Arc::new(WorkerState::new(
        store.clone(),
        config.name.clone(),
        local_resources::LocalResources::new(
            config.nthreads as u32,
            config.memory_limit,
            &config.resources,
        ),
    ));
    let (monitor, monitor_wake) = MemoryMonitor::start(
        memory,
        config.sample_rss,
        state.clone(),
        to_scheduler.clone(),
    )?;
    {
        let monitor = monitor.clone();
        spawn("tessera-memory", move || monitor.run(monitor_wake))?;
    }
    let peers = Arc::new(PeerPool::new(
        config.secret.clone(),
        Duration::from_secs(10),
    ));
    let mut closers = Vec::new();
    for listener in std::iter::once(listener).chain(extra_listeners) {
        closers.push(listener.closer());
        let (state, monitor) = (state.clone(), monitor.clone());
        spawn("tessera-data-server", move || {
            data_server::run_data_server(listener, state, monitor)
        })?;
    }
    for i in 0..config.nthreads {
        let (state, monitor, tx) = (state.clone(), monitor.clone(), to_scheduler.clone());
        spawn(&format!("tessera-exec-{i}"), move || {
            executor::run_executor(i as u32, state, monitor, tx)
        })?;
    }
    let (fetch_tx, fetch_rx) = mpsc::channel();
    let fetch_rx = Arc::new(Mutex::new(fetch_rx));
    // Inputs are fetched for at most this many tasks ready ahead of the executors.
    let prefetch = 2 * config.nthreads.max(1);
    for i in 0..2 {
        let (state, rx, peers, tx, own, monitor) = (
            state.clone(),
            fetch_rx.clone(),
            peers.clone(),
            to_scheduler.clone(),
            data_address.clone(),
            monitor.clone(),
        );
        spawn(&format!("tessera-fetch-{i}"), move || {
            fetcher::run_fetcher(state, rx, peers, own, tx, prefetch, &monitor)
        })?;
    }
    let (hb_stop_tx, hb_stop_rx) = mpsc::channel::<()>();
    {
        let (state, monitor, tx, interval) = (
            state.clone(),
            monitor.clone(),
            to_scheduler.clone(),
            config.heartbeat_interval,
        );
        spawn("tessera-heartbeat", move || loop {
            match hb_stop_rx.recv_timeout(interval) {
                Err(RecvTimeoutError::Timeout) => {
                    let m = metrics::collect(&state, &monitor);
                    if tx.send(Frame::single(Message::Heartbeat(m))).is_err() {
                        return;
                    }
                }
                _ => return,
            }
        })?;
    }

    let stop_requested = Arc::new(AtomicBool::new(false));
    let (lifetime_stop_tx, lifetime_stop_rx) = mpsc::channel::<()>();
    if let Some(lifetime) = config.lifetime {
        let timer = retirement::LifetimeTimer {
            lifetime,
            retire_timeout: config.retire_timeout,
            stop_requested: stop_requested.clone(),
            to_scheduler: to_scheduler.clone(),
        };
        spawn("tessera-lifetime", move || {
            timer.run(started, lifetime_stop_rx)
        })?;
    }
    let control = {
        let (state, tx, stop_requested) =
            (state.clone(), to_scheduler.clone(), stop_requested.clone());
        let address = config.scheduler.to_string();
        let (replicate_tx, replicate_rx) = mpsc::channel::<(crate::core::TaskKey, String)>();
        {
            let (state, peers, tx) = (state.clone(), peers.clone(), tx.clone());
            spawn("tessera-replicator", move || {
                while let Ok((key, from)) = replicate_rx.recv() {
                    if state.tasks().stopping {
                        return;
                    }
                    retirement::replicate(&state, &peers, &tx, key, &from);
                }
            })?;
        }
        spawn("tessera-worker-control", move || {
            let result = control_loop(
                &state,
                &mut from_scheduler,
                &tx,
                &peers,
                fetch_tx,
                &replicate_tx,
            );
            drop(replicate_tx);
            drop(lifetime_stop_tx);
            // Stop everything, whatever the reason.
            {
                let mut tasks = state.tasks();
                tasks.stopping = true;
            }
            state.work_available.notify_all();
            for closer in &closers {
                closer.close();
            }
            drop(hb_stop_tx);
            peers.close();
            tx.close();
            monitor.shutdown();
            // Threads still holding the store (a kernel finishing, an idle peer connection)
            // must not keep the spill files alive.
            state.store.remove_spill_files();
            if let Some(reason) = monitor.termination() {
                return Err(WorkerError::MemoryExceeded(reason));
            }
            match result {
                Ok(Some(reason)) => Ok(WorkerExit::SchedulerShutdown(reason)),
                _ if stop_requested.load(Ordering::SeqCst) => Ok(WorkerExit::Stopped),
                Ok(None) => Err(WorkerError::SchedulerLost {
                    address,
                    reason: "the scheduler closed the connection without a shutdown message".into(),
                }),
                Err(e) => Err(WorkerError::SchedulerLost {
                    address,
                    reason: e.to_string(),
                }),
            }
        })?
    };
    Ok(WorkerHandle {
        control: Some(control),
        stop_requested,
        to_scheduler,
        id,
        data_address,
    })
}

fn advertised(bound: &Address, host: Option<&str>) -> String {
    match (bound, host) {
        (Address::Tcp(sa), Some(h)) => {
            if h.contains(':') {
                format!("tcp://[{h}]:{}", sa.port())
            } else {
                format!("tcp://{h}:{}", sa.port())
            }
        }
        _ => bound.to_string(),
    }
}

/// Apply scheduler messages until shutdown (`Ok(Some(reason))`) or the connection ends.
fn control_loop(
    state: &Arc<WorkerState>,
    from_scheduler: &mut crate::transport::FrameReceiver,
    to_scheduler: &FrameSender,
    peers: &PeerPool,
    fetch_tx: mpsc::Sender<crate::core::TaskKey>,
    replicate_tx: &mpsc::Sender<(crate::core::TaskKey, String)>,
) -> Result<Option<String>, TransportError> {
    while let Some(frame) = from_scheduler.recv()? {
        let mut replies = Frame::new();
        let mut woke = 0usize;
        for message in frame.messages {
            match message {
                Message::Compute(task) => {
                    for (_, _, holders) in &task.deps {
                        for holder in holders {
                            peers.revive(holder);
                        }
                    }
                    if accept_task(state, task, &fetch_tx) {
                        woke += 1;
                    }
                }
                Message::Free { keys } => {
                    let mut tasks = state.tasks();
                    let mut data = state.data();
                    for key in keys {
                        if let Some(entry) = tasks.remove_unstarted(&key) {
                            release_inputs(&mut data, &entry.task, entry.holds_inputs);
                        } else if let Some(entry) = tasks.entries.get_mut(&key) {
                            entry.released = true;
                            entry.cancel.store(true, Ordering::Relaxed);
                        }
                        data.free(&key);
                    }
                }
                Message::Steal { key } => {
                    let mut tasks = state.tasks();
                    let stolen = match tasks.remove_unstarted(&key) {
                        Some(entry) => {
                            release_inputs(&mut state.data(), &entry.task, entry.holds_inputs);
                            true
                        }
                        None => false,
                    };
                    replies.push(Message::StealReply { key, stolen });
                }
                Message::Replicate { key, from, .. } => {
                    // One replicator thread: copies queue up instead of piling up threads.
                    if replicate_tx.send((key, from)).is_err() {
                        tracing::debug!("replicator stopped");
                    }
                }
                Message::PeerGone { address } => {
                    tracing::debug!(%address, "the scheduler dropped a peer; cancelling fetches");
                    peers.forget(&address);
                }
                Message::Shutdown { reason } => return Ok(Some(reason)),
                other => tracing::debug!(?other, "worker ignores unexpected message"),
            }
        }
        match woke {
            0 => {}
            1 => state.work_available.notify_one(),
            _ => state.work_available.notify_all(),
        }
        if !replies.is_empty() {
            to_scheduler.send(replies)?;
        }
    }
    Ok(None)
}

fn release_inputs(data: &mut state::DataTable, task: &ComputeTask, holds: bool) {
    if holds {
        for (dep, _, _) in &task.deps {
            data.release_replica(dep);
        }
    }
}

/// Queue a task; returns true when it is ready to run now.
fn accept_task(
    state: &WorkerState,
    task: ComputeTask,
    fetch_tx: &mpsc::Sender<crate::core::TaskKey>,
) -> bool {
    let mut tasks = state.tasks();
    if let Some(entry) = tasks.entries.get_mut(&task.key) {
        // Sent again while an earlier run is still going (that run was freed, so its result
        // would be dropped): the running execution is the same task, so its result now
        // answers the new request instead of being lost.
        entry.released = false;
        entry.cancel.store(false, Ordering::Relaxed);
        return false;
    }
    let local = {
        let mut data = state.data();
        let all_local = task.deps.iter().all(|(k, _, _)| data.contains(k));
        if all_local {
            for (k, _, _) in &task.deps {
                data.retain_replica(k);
            }
        }
        all_local
    };
    if local {
        tasks.add(task, Phase::Ready);
        true
    } else {
        let key = task.key.clone();
        tasks.add(task, Phase::Fetching);
        let _ = fetch_tx.send(key);
        false
    }
}
