//! The scheduler server: the thin driver around [`core::Scheduler`](crate::core::Scheduler).
//!
//! An accept thread authenticates connections; one reader thread per connection turns frames
//! into events on a single channel; the central thread feeds events to the core in batches,
//! drains its actions and sends one frame per destination per batch (message batching). This
//! module must not make scheduling decisions: the core decides, the server moves bytes.

mod jobs;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::core::{Action, ClientId, Event, Scheduler, SchedulerConfig, TaskKey, WorkerId};
use crate::protocol::{
    ClusterInfo, ComputeTask, Frame, Message, Secret, WorkerInfo, WorkerMetrics, WorkerRegistration,
};
use crate::runtime::accept_guard::{HandshakeGate, RefusalLog, MAX_PENDING_HANDSHAKES};
use crate::runtime::no_workers::{NoWorkersWatch, Notice, Observation};
use crate::transport::{Address, FrameSender, Listener, ListenerCloser, TransportError};

use super::scheduler_view::{SchedulerViewReader, TaskTimes, ViewRecorder};

/// How to start a scheduler server.
#[derive(Clone, Debug)]
pub struct SchedulerServerConfig {
    /// Where to listen (`tcp://0.0.0.0:8786`, `tcp://127.0.0.1:0`, `inproc://name`).
    pub listen: Address,
    pub secret: Secret,
    /// Host name or IP to advertise when listening on a wildcard address.
    pub advertise_host: Option<String>,
    pub policy: SchedulerConfig,
    /// How often the core gets a `Tick` (stealing, balancing).
    pub tick: Duration,
    /// A worker silent for this long is declared dead.
    pub worker_timeout: Duration,
    /// Stop the whole cluster when a worker is lost (connection closed or silent), instead
    /// of rescheduling its work: for MPI runs, where a dead rank ends the job anyway. The
    /// cause, naming the worker and the tasks it was running, is in
    /// [`SchedulerHandle::stop_cause`].
    pub exit_on_worker_loss: bool,
    /// Stop the cluster when the client registered under this name disconnects without
    /// having asked for a shutdown (the batch-mode client of an MPI program).
    pub stop_when_client_leaves: Option<String>,
    /// Record jobs of command tasks here and resume the unfinished ones found there at start
    /// (see `jobs::journal`).
    pub journal: Option<std::path::PathBuf>,
    /// Where the web dashboard listens (`None`: no dashboard). Defaults to the scheduler's
    /// IP with any free port (127.0.0.1 for an in-process scheduler). A dashboard that
    /// cannot listen is logged and left out; the scheduler runs without it.
    pub dashboard: Option<std::net::SocketAddr>,
    /// When every worker has gone while tasks wait, tell the clients after this long (no
    /// worker joined meanwhile); `None` (the default) never does (see
    /// `tessera scheduler --no-workers-grace`).
    pub no_workers_grace: Option<Duration>,
}

impl SchedulerServerConfig {
    /// Listen on `listen` with `secret` and default policy.
    pub fn new(listen: Address, secret: Secret) -> Self {
        SchedulerServerConfig {
            secret,
            advertise_host: None,
            policy: SchedulerConfig::default(),
            tick: Duration::from_millis(100),
            worker_timeout: Duration::from_secs(60),
            exit_on_worker_loss: false,
            stop_when_client_leaves: None,
            no_workers_grace: None,
            journal: None,
            dashboard: Some(default_dashboard_address(&listen)),
            listen,
        }
    }
}

/// The dashboard's default address for a scheduler listening on `listen`: the same IP, any
/// free port.
pub fn default_dashboard_address(listen: &Address) -> std::net::SocketAddr {
    DashboardChoice::Port(0)
        .resolve(listen)
        .unwrap_or_else(|| unreachable!())
}

/// Where a scheduler's dashboard goes, as users ask for it (`--dashboard-address`,
/// `--no-dashboard`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DashboardChoice {
    /// The scheduler's IP, any free port.
    #[default]
    Default,
    /// No dashboard.
    Off,
    /// The scheduler's IP, this port.
    Port(u16),
    /// This address.
    At(std::net::SocketAddr),
}

impl DashboardChoice {
    /// The address to listen on for a scheduler listening on `listen` (`None`: off).
    pub fn resolve(self, listen: &Address) -> Option<std::net::SocketAddr> {
        let ip = match listen {
            Address::Tcp(sa) => sa.ip(),
            _ => std::net::Ipv4Addr::LOCALHOST.into(),
        };
        match self {
            DashboardChoice::Default => Some(std::net::SocketAddr::new(ip, 0)),
            DashboardChoice::Off => None,
            DashboardChoice::Port(port) => Some(std::net::SocketAddr::new(ip, port)),
            DashboardChoice::At(address) => Some(address),
        }
    }
}

/// A worker lost while the scheduler ran with `exit_on_worker_loss`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostWorker {
    /// The name it registered with (`rank-3` under MPI).
    pub name: String,
    pub host: String,
    pub pid: u32,
    /// Why it counts as lost ("connection closed", "no heartbeat").
    pub why: String,
    /// Tasks it was running or had queued.
    pub running: Vec<TaskKey>,
}

impl fmt::Display for LostWorker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "worker {} (pid {} on {}) was lost ({})",
            self.name, self.pid, self.host, self.why
        )?;
        const SHOWN: usize = 5;
        match self.running.len() {
            0 => f.write_str(" while idle"),
            n => {
                let keys: Vec<String> = self
                    .running
                    .iter()
                    .take(SHOWN)
                    .map(|k| k.to_string())
                    .collect();
                write!(f, " while running {}", keys.join(", "))?;
                if n > SHOWN {
                    write!(f, " and {} more tasks", n - SHOWN)?;
                }
                Ok(())
            }
        }
    }
}

/// Why a scheduler stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopCause {
    /// A client (`ShutdownCluster`) or [`SchedulerHandle::shutdown`] asked; the reason given.
    Requested(String),
    /// A worker was lost and `exit_on_worker_loss` was set.
    WorkerLost(LostWorker),
    /// The client named in `stop_when_client_leaves` disconnected without asking to stop.
    ClientLost(String),
}

impl fmt::Display for StopCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopCause::Requested(reason) => f.write_str(reason),
            StopCause::WorkerLost(lost) => lost.fmt(f),
            StopCause::ClientLost(name) => write!(
                f,
                "client {name} disconnected without asking the cluster to shut down"
            ),
        }
    }
}

/// The scheduler server failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Listen(TransportError),
    #[error("cannot start scheduler thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("scheduler thread panicked")]
    Panicked,
    /// The job journal cannot be used (foreign, corrupt, unreadable).
    #[error("{0}")]
    Journal(String),
}

enum ServerEvent {
    WorkerConnected {
        id: WorkerId,
        registration: WorkerRegistration,
        sender: FrameSender,
    },
    FromWorker(WorkerId, Frame),
    WorkerDisconnected(WorkerId),
    ClientConnected {
        id: ClientId,
        name: String,
        sender: FrameSender,
    },
    FromClient(ClientId, Frame),
    ClientDisconnected(ClientId),
    Shutdown(String),
}

/// What the server thread shares with its handle.
#[derive(Default)]
struct SharedStatus {
    registered_workers: AtomicUsize,
    stop_cause: Mutex<Option<StopCause>>,
}

/// A running scheduler server.
pub struct SchedulerHandle {
    address: Address,
    events: Sender<ServerEvent>,
    thread: Option<JoinHandle<String>>,
    status: Arc<SharedStatus>,
    view: SchedulerViewReader,
    #[cfg(feature = "dashboard")]
    dashboard: Option<crate::dashboard::DashboardHandle>,
}

impl SchedulerHandle {
    /// The address clients and workers connect to.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Stop the scheduler and tell every worker and client to stop.
    pub fn shutdown(&self, reason: &str) {
        let _ = self.events.send(ServerEvent::Shutdown(reason.to_string()));
    }

    /// Wait until the scheduler has stopped; returns why it stopped.
    pub fn join(mut self) -> Result<String, ServerError> {
        match self.thread.take() {
            Some(h) => h.join().map_err(|_| ServerError::Panicked),
            None => Ok(String::new()),
        }
    }

    /// True once the scheduler thread has finished.
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|h| h.is_finished())
    }

    /// Workers registered right now.
    pub fn registered_workers(&self) -> usize {
        self.status.registered_workers.load(Ordering::Acquire)
    }

    /// The dashboard's URL (`http://host:port/`, without its token), if it runs.
    pub fn dashboard_url(&self) -> Option<String> {
        #[cfg(feature = "dashboard")]
        return self.dashboard.as_ref().map(|d| d.url().to_string());
        #[cfg(not(feature = "dashboard"))]
        None
    }

    /// Services to publish in the scheduler file (`dashboard` when it runs).
    pub fn services(&self) -> std::collections::BTreeMap<String, String> {
        self.dashboard_url()
            .map(|url| ("dashboard".to_string(), url))
            .into_iter()
            .collect()
    }

    /// A reader of the scheduler's published view (dashboard, `tessera top`, reports).
    pub fn view(&self) -> SchedulerViewReader {
        self.view.clone()
    }

    /// Why the scheduler stopped (`None` while it runs).
    pub fn stop_cause(&self) -> Option<StopCause> {
        self.status
            .stop_cause
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for SchedulerHandle {
    fn drop(&mut self) {
        if let Some(h) = self.thread.take() {
            let _ = self
                .events
                .send(ServerEvent::Shutdown("scheduler handle dropped".into()));
            let _ = h.join();
        }
    }
}

/// Start a scheduler server.
pub fn start_scheduler(config: SchedulerServerConfig) -> Result<SchedulerHandle, ServerError> {
    let (jobs, resumed) = match &config.journal {
        Some(path) => jobs::JobsState::with_journal(path).map_err(ServerError::Journal)?,
        None => (jobs::JobsState::new(), Vec::new()),
    };
    let listener =
        Listener::bind(&config.listen, config.secret.clone()).map_err(ServerError::Listen)?;
    let address = advertise(listener.local_address(), config.advertise_host.as_deref());
    let (events_tx, events_rx) = mpsc::channel();
    let closer = listener.closer();
    {
        let events = events_tx.clone();
        std::thread::Builder::new()
            .name("tessera-sched-accept".into())
            .spawn(move || accept_loop(listener, events))?;
    }
    let status = Arc::new(SharedStatus::default());
    let view = ViewRecorder::new();
    let view_reader = view.reader();
    #[cfg(feature = "dashboard")]
    let dashboard = start_dashboard(&config, &view_reader);
    #[cfg(feature = "dashboard")]
    let dashboard_url = dashboard.as_ref().map(|d| d.url().to_string());
    #[cfg(not(feature = "dashboard"))]
    let dashboard_url = None;
    let server = Server {
        view,
        dashboard_url,
        status: status.clone(),
        core: Scheduler::new(config.policy.clone()),
        no_workers: NoWorkersWatch::new(config.no_workers_grace),
        address: address.clone(),
        workers: HashMap::new(),
        worker_by_address: HashMap::new(),
        clients: HashMap::new(),
        client_names: HashMap::new(),
        started: Instant::now(),
        config,
        closer,
        outbox_workers: HashMap::new(),
        outbox_clients: HashMap::new(),
        completed: 0,
        jobs,
    };
    let mut server = server;
    if !resumed.is_empty() {
        server.resume_jobs(resumed);
    }
    let thread = std::thread::Builder::new()
        .name("tessera-scheduler".into())
        .spawn(move || server.run(events_rx))?;
    tracing::info!(%address, "scheduler listening");
    Ok(SchedulerHandle {
        address,
        events: events_tx,
        thread: Some(thread),
        status,
        view: view_reader,
        #[cfg(feature = "dashboard")]
        dashboard,
    })
}

/// The scheduler's dashboard, if asked for; one that cannot start is logged and left out.
#[cfg(feature = "dashboard")]
fn start_dashboard(
    config: &SchedulerServerConfig,
    view: &SchedulerViewReader,
) -> Option<crate::dashboard::DashboardHandle> {
    let mut dashboard = crate::dashboard::DashboardConfig::new(config.dashboard?);
    dashboard.advertise_host = config.advertise_host.clone();
    match crate::dashboard::start_dashboard(dashboard, view.clone(), &config.secret) {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!("{e}; the scheduler runs without a dashboard");
            None
        }
    }
}

/// The address to publish for a listener bound to `bound`.
pub fn advertise(bound: Address, host: Option<&str>) -> Address {
    match (bound, host) {
        (Address::Tcp(sa), Some(h)) => {
            let text = if h.contains(':') {
                format!("tcp://[{h}]:{}", sa.port())
            } else {
                format!("tcp://{h}:{}", sa.port())
            };
            text.parse().unwrap_or(Address::Tcp(sa))
        }
        (a, _) => a,
    }
}

fn accept_loop(listener: Listener, events: Sender<ServerEvent>) {
    static NEXT_WORKER: AtomicU32 = AtomicU32::new(1);
    static NEXT_CLIENT: AtomicU32 = AtomicU32::new(1);
    let gate = HandshakeGate::default();
    let refusals = Arc::new(RefusalLog::default());
    loop {
        let incoming = match listener.accept_incoming() {
            Ok(c) => c,
            Err(TransportError::Closed) => return,
            Err(TransportError::Refused { peer, source }) => {
                log_refusal(&refusals, &peer, &source);
                continue;
            }
            Err(e) => {
                tracing::debug!(error = %e, "accept failed");
                continue;
            }
        };
        // A thread per connection in its handshake, but only so many: silent connections
        // (slowloris) must not pile up threads and descriptors.
        let Some(permit) = gate.enter() else {
            if let Some(left_out) = refusals.admit(Instant::now()) {
                tracing::warn!(
                    peer = %incoming.peer(),
                    waiting = MAX_PENDING_HANDSHAKES,
                    not_logged = left_out,
                    "closed a connection: too many connections are waiting for their handshake"
                );
            }
            continue;
        };
        let events = events.clone();
        let refusals = refusals.clone();
        let spawned = std::thread::Builder::new()
            .name("tessera-sched-conn".into())
            .spawn(move || {
                let peer = incoming.peer();
                let authenticated = incoming.authenticate();
                drop(permit);
                let conn = match authenticated {
                    Ok(c) => c,
                    Err(TransportError::Refused { peer, source }) => {
                        log_refusal(&refusals, &peer, &source);
                        return;
                    }
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "handshake failed");
                        return;
                    }
                };
                let (sender, mut receiver) = conn.split();
                let first = match receiver.recv() {
                    Ok(Some(f)) => f,
                    _ => return,
                };
                let mut messages = first.messages.into_iter();
                match messages.next() {
                    Some(Message::RegisterWorker(registration)) => {
                        let id = WorkerId(NEXT_WORKER.fetch_add(1, Ordering::Relaxed));
                        let _ = events.send(ServerEvent::WorkerConnected {
                            id,
                            registration,
                            sender,
                        });
                        let rest: Vec<Message> = messages.collect();
                        if !rest.is_empty() {
                            let f = Frame {
                                messages: rest,
                                payloads: first.payloads,
                            };
                            let _ = events.send(ServerEvent::FromWorker(id, f));
                        }
                        while let Ok(Some(frame)) = receiver.recv() {
                            if events.send(ServerEvent::FromWorker(id, frame)).is_err() {
                                return;
                            }
                        }
                        let _ = events.send(ServerEvent::WorkerDisconnected(id));
                    }
                    Some(Message::RegisterClient { name }) => {
                        let id = ClientId(NEXT_CLIENT.fetch_add(1, Ordering::Relaxed));
                        let _ = events.send(ServerEvent::ClientConnected { id, name, sender });
                        let rest: Vec<Message> = messages.collect();
                        if !rest.is_empty() {
                            let f = Frame {
                                messages: rest,
                                payloads: first.payloads,
                            };
                            let _ = events.send(ServerEvent::FromClient(id, f));
                        }
                        while let Ok(Some(frame)) = receiver.recv() {
                            if events.send(ServerEvent::FromClient(id, frame)).is_err() {
                                return;
                            }
                        }
                        let _ = events.send(ServerEvent::ClientDisconnected(id));
                    }
                    other => {
                        tracing::warn!(%peer, ?other, "connection did not register; closing it");
                        sender.close();
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start a connection thread");
        }
    }
}

/// A failed handshake is worth a warning (at most one line per `WARN_INTERVAL`, with the
/// count left out), unless the peer merely connected and left (a liveness probe, a port
/// scanner): that is only logged at debug level.
fn log_refusal(log: &RefusalLog, peer: &str, source: &crate::protocol::AuthError) {
    use crate::protocol::AuthError;
    match source {
        AuthError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            tracing::debug!(%peer, "connection closed before the handshake")
        }
        _ => match log.admit(Instant::now()) {
            Some(left_out) => tracing::warn!(
                %peer,
                reason = %source,
                not_logged = left_out,
                "refused a connection"
            ),
            None => tracing::debug!(%peer, reason = %source, "refused a connection"),
        },
    }
}

struct WorkerConn {
    sender: FrameSender,
    registration: WorkerRegistration,
    metrics: WorkerMetrics,
    /// The worker's last `WorkerStatus` said it is paused (heartbeats do not change this).
    status_paused: bool,
    last_seen: Instant,
    /// When the worker's job ends, on our clock (`--lifetime` or the batch system's end time).
    ends_at: Option<Instant>,
}

struct Server {
    status: Arc<SharedStatus>,
    core: Scheduler,
    address: Address,
    config: SchedulerServerConfig,
    workers: HashMap<WorkerId, WorkerConn>,
    worker_by_address: HashMap<String, WorkerId>,
    clients: HashMap<ClientId, FrameSender>,
    client_names: HashMap<ClientId, String>,
    started: Instant,
    closer: ListenerCloser,
    outbox_workers: HashMap<WorkerId, Frame>,
    outbox_clients: HashMap<ClientId, Frame>,
    /// Task results reported since start (for progress displays).
    completed: u64,
    /// Jobs of command tasks (`jobs.rs`).
    jobs: jobs::JobsState,
    /// The published view (dashboard): fed here, read elsewhere without blocking us.
    view: ViewRecorder,
    /// The dashboard's URL, told to clients asking for `Info`.
    dashboard_url: Option<String>,
    no_workers: NoWorkersWatch,
}

const BATCH: usize = 4096;

impl Server {
    fn run(mut self, events: Receiver<ServerEvent>) -> String {
        let mut next_tick = Instant::now() + self.config.tick;
        let cause = loop {
            let timeout = next_tick.saturating_duration_since(Instant::now());
            let first = match events.recv_timeout(timeout) {
                Ok(e) => Some(e),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    break StopCause::Requested("all handles dropped".to_string())
                }
            };
            let mut stop = None;
            if let Some(e) = first {
                stop = self.on_event(e);
                let mut n = 1;
                while stop.is_none() && n < BATCH {
                    match events.try_recv() {
                        Ok(e) => {
                            stop = self.on_event(e);
                            n += 1;
                        }
                        Err(_) => break,
                    }
                }
            }
            let now = Instant::now();
            if now >= next_tick {
                if let Some(cause) = self.check_heartbeats(now) {
                    stop = stop.or(Some(cause));
                }
                self.core.handle(now, Event::Tick);
                self.watch_for_no_workers(now);
                next_tick = now + self.config.tick;
            }
            self.carry_out_actions();
            self.flush();
            self.sync_journal();
            if self.view.due(now, self.workers.len()) {
                let info = self.info();
                self.view.publish(now, &self.core, info);
            }
            if let Some(cause) = stop {
                break cause;
            }
        };
        let reason = cause.to_string();
        *self
            .status
            .stop_cause
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(cause);
        self.shut_down(&reason);
        reason
    }

    /// Apply one server event; `Some(cause)` asks the server to stop.
    fn on_event(&mut self, event: ServerEvent) -> Option<StopCause> {
        let now = Instant::now();
        match event {
            ServerEvent::WorkerConnected {
                id,
                registration,
                sender,
            } => {
                tracing::info!(worker = id.0, name = %registration.name, address = %registration.data_address, nthreads = registration.nthreads, "worker joined");
                let _ = sender.send(Frame::single(Message::Welcome { id: id.0 }));
                self.worker_by_address
                    .insert(registration.data_address.clone(), id);
                let (nthreads, memory_limit) = (registration.nthreads, registration.memory_limit);
                let generic = registration.resources.clone();
                // Remaining time, not a date: the worker's clock may differ from ours.
                let lifetime = registration
                    .remaining_lifetime_secs
                    .and_then(|secs| Duration::try_from_secs_f64(secs).ok());
                self.workers.insert(
                    id,
                    WorkerConn {
                        sender,
                        registration,
                        metrics: WorkerMetrics::default(),
                        status_paused: false,
                        last_seen: now,
                        ends_at: lifetime.and_then(|l| now.checked_add(l)),
                    },
                );
                self.status
                    .registered_workers
                    .store(self.workers.len(), Ordering::Release);
                self.core.handle(
                    now,
                    Event::WorkerJoined {
                        worker: id,
                        nthreads,
                        memory_limit,
                        lifetime,
                        generic,
                    },
                );
            }
            ServerEvent::FromWorker(id, frame) => {
                let w = self.workers.get_mut(&id)?;
                w.last_seen = now;
                for message in frame.messages {
                    let event = match message {
                        Message::TaskFinished {
                            key,
                            nbytes,
                            compute_micros,
                            thread,
                            input_read_micros,
                            transfer_micros,
                            transfer_bytes,
                        } => {
                            self.completed += 1;
                            self.view.task_done(
                                now,
                                id,
                                &key,
                                TaskTimes {
                                    thread,
                                    compute: Duration::from_micros(compute_micros),
                                    input_read: Duration::from_micros(input_read_micros),
                                    transfer: Duration::from_micros(transfer_micros),
                                    transfer_bytes,
                                },
                                false,
                            );
                            Event::TaskFinished {
                                worker: id,
                                key,
                                nbytes,
                                compute: Some(Duration::from_micros(compute_micros)),
                            }
                        }
                        Message::ResidencyChanged { to_disk, to_memory } => {
                            Event::ResidencyChanged {
                                worker: id,
                                to_disk,
                                to_memory,
                            }
                        }
                        Message::TaskFailed { key, error } => {
                            let times = TaskTimes::default();
                            self.view.task_done(now, id, &key, times, true);
                            Event::TaskFailed {
                                worker: id,
                                key,
                                message: error,
                            }
                        }
                        Message::DepsMissing { key, missing } => Event::DepsMissing {
                            worker: id,
                            key,
                            missing,
                        },
                        Message::StealReply { key, stolen } => Event::StealReply {
                            worker: id,
                            key,
                            stolen,
                        },
                        Message::Retiring { reason } => {
                            tracing::info!(worker = id.0, %reason, "worker retiring");
                            self.view.retiring(id);
                            Event::WorkerRetiring { worker: id }
                        }
                        Message::ReplicaStored { key, .. } => {
                            Event::ReplicaStored { worker: id, key }
                        }
                        Message::ReplicaFailed { key } => Event::ReplicaFailed { worker: id, key },
                        Message::Heartbeat(m) => {
                            self.view.heartbeat(now, id, &m);
                            if let Some(w) = self.workers.get_mut(&id) {
                                w.metrics = m;
                            }
                            continue;
                        }
                        Message::WorkerStatus { paused, disk_full } => {
                            let Some(w) = self.workers.get_mut(&id) else {
                                continue;
                            };
                            let was_paused = w.status_paused;
                            w.status_paused = paused;
                            w.metrics.paused = paused;
                            w.metrics.disk_full = disk_full;
                            tracing::info!(
                                worker = id.0,
                                paused,
                                disk_full,
                                "worker memory status"
                            );
                            if paused == was_paused {
                                continue;
                            }
                            if paused {
                                Event::WorkerPaused { worker: id }
                            } else {
                                Event::WorkerResumed { worker: id }
                            }
                        }
                        other => {
                            tracing::debug!(worker = id.0, ?other, "unexpected worker message");
                            continue;
                        }
                    };
                    self.core.handle(now, event);
                }
            }
            ServerEvent::WorkerDisconnected(id) => {
                return self.remove_worker(id, now, "connection closed")
            }
            ServerEvent::ClientConnected { id, name, sender } => {
                tracing::debug!(client = id.0, %name, "client connected");
                self.client_names.insert(id, name);
                let _ = sender.send(Frame::single(Message::Welcome { id: id.0 }));
                self.clients.insert(id, sender);
                self.core.handle(now, Event::ClientJoined { client: id });
            }
            ServerEvent::FromClient(id, frame) => {
                for message in frame.messages {
                    let event = match message {
                        Message::SubmitGraph { tasks, wanted } => Event::GraphSubmitted {
                            client: id,
                            tasks,
                            wanted,
                        },
                        Message::ReleaseKeys { keys } => Event::KeysReleased { client: id, keys },
                        Message::Cancel { keys } => Event::CancelRequested { client: id, keys },
                        Message::Locate { keys } => Event::LocateRequested { client: id, keys },
                        Message::Scattered { address, keys } => {
                            match self.worker_by_address.get(&address) {
                                Some(&worker) => Event::DataScattered {
                                    client: id,
                                    worker,
                                    keys,
                                },
                                None => {
                                    tracing::warn!(%address, "scatter to an unknown worker");
                                    continue;
                                }
                            }
                        }
                        Message::RetireWorkers { workers } => {
                            for worker in workers {
                                self.view.retiring(WorkerId(worker));
                                self.core.handle(
                                    now,
                                    Event::WorkerRetiring {
                                        worker: WorkerId(worker),
                                    },
                                );
                            }
                            continue;
                        }
                        Message::JobRequest(request) => {
                            self.on_job_request(id, request, now);
                            continue;
                        }
                        Message::InfoRequest => {
                            let info = self.info();
                            self.queue_for_client(id, Message::Info(info));
                            continue;
                        }
                        Message::ShutdownCluster => {
                            let who = self.client_names.get(&id).cloned().unwrap_or_default();
                            return Some(StopCause::Requested(format!(
                                "shutdown requested by client {} ({who})",
                                id.0
                            )));
                        }
                        other => {
                            tracing::debug!(client = id.0, ?other, "unexpected client message");
                            continue;
                        }
                    };
                    self.core.handle(now, event);
                }
            }
            ServerEvent::ClientDisconnected(id) => {
                tracing::debug!(client = id.0, "client disconnected");
                self.clients.remove(&id);
                self.outbox_clients.remove(&id);
                self.core.handle(now, Event::ClientLeft { client: id });
                let name = self.client_names.remove(&id).unwrap_or_default();
                if self.config.stop_when_client_leaves.as_deref() == Some(name.as_str()) {
                    return Some(StopCause::ClientLost(name));
                }
            }
            ServerEvent::Shutdown(reason) => return Some(StopCause::Requested(reason)),
        }
        None
    }

    /// Forget a worker; with `exit_on_worker_loss`, the cause that stops the cluster.
    fn remove_worker(&mut self, id: WorkerId, now: Instant, why: &str) -> Option<StopCause> {
        let w = self.workers.remove(&id)?;
        tracing::warn!(worker = id.0, name = %w.registration.name, reason = why, "worker left");
        self.status
            .registered_workers
            .store(self.workers.len(), Ordering::Release);
        let running = self.core.processing_keys(id);
        self.worker_by_address.remove(&w.registration.data_address);
        self.outbox_workers.remove(&id);
        self.view.worker_left(id);
        w.sender.close();
        // Fetches from it on other workers would wait for ever on a hung peer: cancel them.
        let others: Vec<WorkerId> = self.workers.keys().copied().collect();
        for other in others {
            self.queue_for_worker(
                other,
                Message::PeerGone {
                    address: w.registration.data_address.clone(),
                },
            );
        }
        self.core.handle(now, Event::WorkerLeft { worker: id });
        self.config.exit_on_worker_loss.then(|| {
            StopCause::WorkerLost(LostWorker {
                name: w.registration.name.clone(),
                host: w.registration.host.clone(),
                pid: w.registration.pid,
                why: why.to_string(),
                running,
            })
        })
    }

    /// Clients must not wait in silence on a cluster without workers (see `no_workers`).
    fn watch_for_no_workers(&mut self, now: Instant) {
        let pending = if self.workers.is_empty() {
            let snap = self.core.snapshot();
            snap.waiting + snap.ready + snap.processing
        } else {
            0
        };
        let seen = Observation {
            workers: self.workers.len(),
            pending,
        };
        let message = match self.no_workers.observe(now, seen) {
            None => return,
            Some(Notice::GraceStarted { pending, grace }) => {
                tracing::warn!(
                    pending,
                    "no workers left while tasks wait; clients are told in {}s unless a worker \
                     joins (--no-workers-grace)",
                    grace.as_secs_f64()
                );
                return;
            }
            Some(Notice::TellClients { reason }) => {
                tracing::warn!("{reason}");
                Message::NoWorkers { reason }
            }
            Some(Notice::WorkersBack) => Message::WorkersBack,
        };
        let clients: Vec<ClientId> = self.clients.keys().copied().collect();
        for client in clients {
            self.queue_for_client(client, message.clone());
        }
    }

    fn check_heartbeats(&mut self, now: Instant) -> Option<StopCause> {
        let timeout = self.config.worker_timeout;
        let silent: Vec<WorkerId> = self
            .workers
            .iter()
            .filter(|(_, w)| now.duration_since(w.last_seen) > timeout)
            .map(|(id, _)| *id)
            .collect();
        let mut cause = None;
        for id in silent {
            if let Some(c) = self.remove_worker(id, now, "no heartbeat") {
                cause = cause.or(Some(c));
            }
        }
        cause
    }

    fn address_of(&self, w: WorkerId) -> String {
        self.workers
            .get(&w)
            .map(|c| c.registration.data_address.clone())
            .unwrap_or_default()
    }

    fn addresses(&self, ws: &[WorkerId]) -> Vec<String> {
        ws.iter()
            .filter(|w| self.workers.contains_key(w))
            .map(|w| self.address_of(*w))
            .collect()
    }

    fn queue_for_worker(&mut self, w: WorkerId, m: Message) {
        if self.workers.contains_key(&w) {
            self.outbox_workers.entry(w).or_default().push(m);
        } else {
            tracing::error!(worker = w.0, "scheduler core addressed an unknown worker");
        }
    }

    fn queue_for_client(&mut self, c: ClientId, m: Message) {
        if self.clients.contains_key(&c) {
            self.outbox_clients.entry(c).or_default().push(m);
        }
    }

    fn carry_out_actions(&mut self) {
        loop {
            self.carry_out_drained_actions();
            // Job reports may have asked for more (retries, releases, jobs waiting `--after`).
            if !self.apply_job_effects(Instant::now()) {
                break;
            }
        }
    }

    fn carry_out_drained_actions(&mut self) {
        let actions: Vec<Action> = self.core.drain_actions().collect();
        for action in actions {
            if self.job_action(&action) {
                continue;
            }
            match action {
                Action::Compute {
                    worker,
                    key,
                    kernel,
                    args,
                    deps,
                    priority,
                    resources,
                } => {
                    let deps = deps
                        .into_iter()
                        .map(|d| {
                            let holders = self.addresses(&d.holders);
                            (d.key, d.nbytes, holders)
                        })
                        .collect();
                    self.queue_for_worker(
                        worker,
                        Message::Compute(ComputeTask {
                            key,
                            kernel,
                            args,
                            deps,
                            priority,
                            resources,
                        }),
                    );
                }
                Action::Free { worker, keys } => {
                    self.queue_for_worker(worker, Message::Free { keys })
                }
                Action::Replicate {
                    worker,
                    key,
                    nbytes,
                    from,
                } => {
                    let from = self.address_of(from);
                    self.queue_for_worker(worker, Message::Replicate { key, nbytes, from });
                }
                Action::CloseWorker { worker } => self.queue_for_worker(
                    worker,
                    Message::Shutdown {
                        reason: "retired: its results were handed to other workers".into(),
                    },
                ),
                Action::Steal { worker, key } => {
                    self.queue_for_worker(worker, Message::Steal { key })
                }
                Action::KeyReady {
                    client,
                    key,
                    nbytes,
                    holders,
                } => {
                    let holders = self.addresses(&holders);
                    self.queue_for_client(
                        client,
                        Message::KeyReady {
                            key,
                            nbytes,
                            holders,
                        },
                    );
                }
                Action::KeyErred {
                    client,
                    key,
                    root,
                    message,
                } => self.queue_for_client(
                    client,
                    Message::KeyErred {
                        key,
                        root,
                        error: message,
                    },
                ),
                Action::Located {
                    client,
                    key,
                    holders,
                } => {
                    let holders = self.addresses(&holders);
                    self.queue_for_client(client, Message::Located { key, holders });
                }
            }
        }
    }

    fn flush(&mut self) {
        for (w, frame) in self.outbox_workers.drain() {
            if let Some(conn) = self.workers.get(&w) {
                let _ = conn.sender.send(frame);
            }
        }
        for (c, frame) in self.outbox_clients.drain() {
            if let Some(sender) = self.clients.get(&c) {
                let _ = sender.send(frame);
            }
        }
    }

    fn info(&self) -> ClusterInfo {
        let snap = self.core.snapshot();
        let mut workers: Vec<WorkerInfo> = self
            .workers
            .iter()
            .map(|(id, w)| WorkerInfo {
                id: id.0,
                name: w.registration.name.clone(),
                host: w.registration.host.clone(),
                pid: w.registration.pid,
                address: w.registration.data_address.clone(),
                nthreads: w.registration.nthreads,
                memory_limit: w.registration.memory_limit,
                memory_thresholds: w.registration.memory_thresholds,
                metrics: w.metrics.clone(),
                remaining_lifetime_secs: w
                    .ends_at
                    .map(|end| end.saturating_duration_since(Instant::now()).as_secs_f64()),
            })
            .collect();
        workers.sort_by_key(|w| w.id);
        let tasks = [
            ("waiting", snap.waiting),
            ("ready", snap.ready),
            ("processing", snap.processing),
            ("memory", snap.memory),
            ("erred", snap.erred),
            ("completed", self.completed as usize),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v as u64))
        .chain([("requested_cpus".to_string(), self.core.requested_cpus())])
        .collect();
        ClusterInfo {
            scheduler_address: self.address.to_string(),
            uptime_secs: self.started.elapsed().as_secs_f64(),
            clients: self.clients.len() as u32,
            workers,
            tasks,
            dashboard: self.dashboard_url.clone(),
        }
    }

    fn shut_down(&mut self, reason: &str) {
        tracing::info!(reason, "scheduler shutting down");
        self.closer.close();
        let shutdown = Message::Shutdown {
            reason: reason.to_string(),
        };
        for w in self.workers.values() {
            let _ = w.sender.send(Frame::single(shutdown.clone()));
            w.sender.close();
        }
        for c in self.clients.values() {
            let _ = c.send(Frame::single(shutdown.clone()));
            c.close();
        }
        self.workers.clear();
        self.clients.clear();
    }
}
