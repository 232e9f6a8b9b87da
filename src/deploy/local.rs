//! The local cluster: a scheduler and N workers on this machine — as threads in this process
//! (the embedded default; user kernels are available) or as child `tessera worker` processes.
//! No MPI and no batch system needed. This module must not make scheduling decisions.
//!
//! Worker processes are watched like dask's nanny does: one that dies while the cluster runs
//! (killed, or stopped by its memory terminate threshold; not one that exits with status 0,
//! which it does when told to: shutdown, end of its lifetime) is started again, at most
//! [`LocalClusterConfig::max_restarts`] times per worker; the scheduler recomputes what was
//! lost with it. When a worker has used up its restarts and no worker process is left, the
//! scheduler is shut down with a message saying why, so clients get an error instead of
//! waiting forever.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::core::memory::MemoryConfig;
use crate::protocol::Secret;
use crate::runtime::{
    start_scheduler, start_worker, Client, ClientError, SchedulerHandle, SchedulerServerConfig,
    WorkerConfig, WorkerHandle,
};
use crate::store::StoreConfig;
use crate::transport::Address;
use crate::units::{SizeCap, Threshold};

use super::schedfile::SchedulerFile;

/// Where the workers of a local cluster run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkerPlacement {
    /// Threads of this process (kernels registered by this program are available).
    Threads,
    /// Child processes running this program file with `worker` arguments (the `tessera`
    /// binary by default; only built-in kernels).
    Processes { program: PathBuf },
}

/// How to start a local cluster.
#[derive(Clone, Debug)]
pub struct LocalClusterConfig {
    pub workers: usize,
    pub nthreads: usize,
    /// Memory limit of each worker in bytes; `None` for no limit.
    pub memory_limit: Option<u64>,
    /// Memory thresholds of each worker (fractions of `memory_limit`; see
    /// [`crate::runtime::WorkerConfig::memory`]). Worker processes get the four thresholds.
    pub memory: MemoryConfig,
    /// Spill settings of each worker: `local_directory` and `max_spill` (worker processes
    /// get these two; threads-mode workers the whole configuration).
    pub store: StoreConfig,
    pub placement: WorkerPlacement,
    /// Where the scheduler listens (default: TCP on an ephemeral loopback port).
    pub listen: Address,
    /// Write a scheduler file here so other processes can connect.
    pub scheduler_file: Option<PathBuf>,
    pub policy: crate::core::SchedulerConfig,
    /// How many times each worker process is started again after it died (processes
    /// placement only). Default [`DEFAULT_MAX_RESTARTS`].
    pub max_restarts: u32,
    /// Named resources every worker offers to tasks (`gpus` → 2; see
    /// [`WorkerConfig::resources`]).
    pub worker_resources: Vec<(String, u32)>,
    /// Where the scheduler's web dashboard listens (default: loopback, any free port).
    pub dashboard: crate::runtime::DashboardChoice,
}

/// Default of [`LocalClusterConfig::max_restarts`].
pub const DEFAULT_MAX_RESTARTS: u32 = 5;
/// How often the nanny looks at the worker processes.
const NANNY_INTERVAL: Duration = Duration::from_millis(20);

impl LocalClusterConfig {
    /// `workers` threads-mode workers of `nthreads` threads each.
    pub fn new(workers: usize, nthreads: usize) -> Self {
        LocalClusterConfig {
            workers,
            nthreads: nthreads.max(1),
            memory_limit: None,
            memory: MemoryConfig::default(),
            store: StoreConfig::default(),
            placement: WorkerPlacement::Threads,
            listen: Address::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
            scheduler_file: None,
            policy: Default::default(),
            max_restarts: DEFAULT_MAX_RESTARTS,
            worker_resources: Vec::new(),
            dashboard: Default::default(),
        }
    }

    /// Run workers as child processes of `program` (usually the `tessera` binary).
    pub fn processes(mut self, program: PathBuf) -> Self {
        self.placement = WorkerPlacement::Processes { program };
        self
    }
}

/// A local cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalClusterError {
    #[error("cannot start the scheduler: {0}")]
    Scheduler(#[from] crate::runtime::ServerError),
    #[error("cannot start worker {index}: {source}")]
    Worker {
        index: usize,
        #[source]
        source: crate::runtime::WorkerError,
    },
    #[error("cannot start worker process {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    SchedulerFile(#[from] super::schedfile::SchedulerFileError),
    #[error("workers did not all register within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// One worker process and how to start it again.
struct WorkerProcess {
    child: Child,
    command: WorkerCommand,
    restarts: u32,
    /// Used up its restarts and is gone.
    given_up: bool,
    /// Exited with status 0: it was told to (cluster shutdown, end of its lifetime). Never
    /// restarted.
    finished: bool,
}

/// Everything needed to start worker process `index`.
#[derive(Clone)]
struct WorkerCommand {
    program: PathBuf,
    scheduler_file: PathBuf,
    index: usize,
    config: LocalClusterConfig,
}

impl WorkerCommand {
    fn spawn(&self) -> Result<Child, LocalClusterError> {
        let config = &self.config;
        let mut cmd = Command::new(&self.program);
        cmd.arg("worker")
            .arg("--scheduler-file")
            .arg(&self.scheduler_file)
            .arg("--nthreads")
            .arg(config.nthreads.to_string())
            .arg("--name")
            .arg(format!("local-{}", self.index))
            .stdin(Stdio::null());
        // Own process group: a terminal's Ctrl-C reaches only the parent, which shuts the
        // cluster down in order.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let limit = config
            .memory_limit
            .map_or_else(|| "none".to_string(), |m| format!("{m}B"));
        cmd.arg("--memory-limit").arg(limit);
        let m = &config.memory;
        for (flag, value) in [
            ("--memory-target", m.target),
            ("--memory-spill", m.spill),
            ("--memory-pause", m.pause),
            ("--memory-terminate", m.terminate),
        ] {
            cmd.arg(flag).arg(Threshold(value).to_string());
        }
        cmd.arg("--max-spill")
            .arg(SizeCap(config.store.max_spill).to_string())
            .arg("--local-directory")
            .arg(&config.store.local_directory);
        for (name, amount) in &config.worker_resources {
            cmd.arg("--resource").arg(format!("{name}={amount}"));
        }
        cmd.spawn().map_err(|source| LocalClusterError::Spawn {
            program: self.program.display().to_string(),
            source,
        })
    }
}

/// The worker processes, shared with the nanny thread.
type Processes = Arc<Mutex<Vec<WorkerProcess>>>;

fn lock(processes: &Processes) -> MutexGuard<'_, Vec<WorkerProcess>> {
    processes.lock().unwrap_or_else(|e| e.into_inner())
}

/// Restart worker processes that die while the cluster runs (see the module docs).
fn run_nanny(processes: Processes, stopping: Arc<AtomicBool>, scheduler: Address, secret: Secret) {
    while !stopping.load(Ordering::SeqCst) {
        std::thread::sleep(NANNY_INTERVAL);
        let mut procs = lock(&processes);
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let max_restarts = procs.first().map_or(0, |p| p.command.config.max_restarts);
        for p in procs.iter_mut().filter(|p| !p.given_up && !p.finished) {
            let Ok(Some(status)) = p.child.try_wait() else {
                continue;
            };
            let index = p.command.index;
            if status.success() {
                // A clean exit is on purpose (shutdown, lifetime): a nanny restarts crashes only.
                tracing::debug!(worker = index, "worker process local-{index} finished");
                p.finished = true;
                continue;
            }
            if p.restarts >= max_restarts {
                tracing::error!(
                    worker = index,
                    %status,
                    "worker process local-{index} exited and has been restarted {max_restarts} times already; not restarting it"
                );
                p.given_up = true;
                continue;
            }
            p.restarts += 1;
            tracing::warn!(
                worker = index,
                %status,
                restart = p.restarts,
                max_restarts,
                "worker process local-{index} exited; starting it again"
            );
            match p.command.spawn() {
                Ok(child) => p.child = child,
                Err(e) => {
                    tracing::error!(worker = index, error = %e, "cannot restart a worker process");
                    p.given_up = true;
                }
            }
        }
        if procs.iter().all(|p| p.finished || p.given_up) && !procs.iter().any(|p| p.given_up) {
            return; // every worker finished on purpose: nothing left to watch
        }
        if !procs.is_empty() && procs.iter().all(|p| p.given_up || p.finished) {
            let reason = format!(
                "every worker process of the local cluster died and was restarted {max_restarts} \
                 times; giving up (see the workers' messages above: a memory limit too small for \
                 the chunks?)"
            );
            tracing::error!("{reason}");
            drop(procs);
            // Named after the reason: the scheduler's shutdown message quotes the name.
            let name = format!("local-cluster nanny: {reason}");
            if let Ok(client) =
                Client::connect_as(&scheduler, &secret, Duration::from_secs(5), &name)
            {
                client.shutdown_cluster();
                let deadline = Instant::now() + Duration::from_secs(5);
                while client.is_connected() && Instant::now() < deadline {
                    std::thread::sleep(NANNY_INTERVAL);
                }
            }
            return;
        }
    }
}

/// A running local cluster; stopped (cleanly) on [`LocalCluster::shutdown`] or drop.
pub struct LocalCluster {
    scheduler: Option<SchedulerHandle>,
    workers: Vec<WorkerHandle>,
    processes: Processes,
    nanny: Option<JoinHandle<()>>,
    nanny_stopping: Arc<AtomicBool>,
    secret: Secret,
    scheduler_file: Option<PathBuf>,
    private_dir: Option<tempfile_dir::PrivateDir>,
}

mod tempfile_dir {
    //! A private temporary directory removed on drop (for the children's scheduler file).
    use std::path::{Path, PathBuf};

    pub struct PrivateDir(PathBuf);

    impl PrivateDir {
        pub fn new() -> std::io::Result<Self> {
            use std::os::unix::fs::DirBuilderExt;
            let mut rnd = [0u8; 8];
            let _ = getrandom::fill(&mut rnd);
            let name: String = rnd.iter().map(|b| format!("{b:02x}")).collect();
            let path = std::env::temp_dir().join(format!("tessera-local-{name}"));
            std::fs::DirBuilder::new().mode(0o700).create(&path)?;
            Ok(PrivateDir(path))
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for PrivateDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl LocalCluster {
    /// Start the scheduler and the workers and wait until every worker has registered.
    pub fn start(config: LocalClusterConfig) -> Result<LocalCluster, LocalClusterError> {
        let secret = Secret::generate();
        let mut server = SchedulerServerConfig::new(config.listen.clone(), secret.clone());
        server.policy = config.policy.clone();
        server.dashboard = config.dashboard.resolve(&server.listen);
        let scheduler = start_scheduler(server)?;
        let address = scheduler.address().clone();
        let mut cluster = LocalCluster {
            scheduler: Some(scheduler),
            workers: Vec::new(),
            processes: Arc::new(Mutex::new(Vec::new())),
            nanny: None,
            nanny_stopping: Arc::new(AtomicBool::new(false)),
            secret: secret.clone(),
            scheduler_file: None,
            private_dir: None,
        };
        match &config.placement {
            WorkerPlacement::Threads => {
                for index in 0..config.workers {
                    let mut wc =
                        WorkerConfig::new(address.clone(), secret.clone(), config.nthreads);
                    wc.memory_limit = config.memory_limit;
                    wc.memory = config.memory.clone();
                    wc.store = config.store.clone();
                    // Workers sharing this process cannot tell their RSS apart.
                    wc.sample_rss = false;
                    wc.resources = config.worker_resources.clone();
                    wc.name = format!("local-{index}");
                    if let Address::InProc(name) = &config.listen {
                        wc.listen = Address::InProc(format!("{name}-worker-{index}"));
                    }
                    let handle = start_worker(wc)
                        .map_err(|source| LocalClusterError::Worker { index, source })?;
                    cluster.workers.push(handle);
                }
            }
            WorkerPlacement::Processes { program } => {
                // The children find the scheduler through a private file; the user's file is
                // written only once every worker is registered, so its appearance means ready.
                let dir =
                    tempfile_dir::PrivateDir::new().map_err(|source| LocalClusterError::Spawn {
                        program: program.display().to_string(),
                        source,
                    })?;
                let file = dir.path().join("scheduler.json");
                SchedulerFile::new(address.to_string(), secret.to_hex()).write(&file)?;
                cluster.private_dir = Some(dir);
                for index in 0..config.workers {
                    let command = WorkerCommand {
                        program: program.clone(),
                        scheduler_file: file.clone(),
                        index,
                        config: config.clone(),
                    };
                    let child = command.spawn()?;
                    lock(&cluster.processes).push(WorkerProcess {
                        child,
                        command,
                        restarts: 0,
                        given_up: false,
                        finished: false,
                    });
                }
                let client = cluster.client()?;
                let timeout = Duration::from_secs(30);
                let deadline = Instant::now() + timeout;
                loop {
                    if client.info()?.workers.len() >= config.workers {
                        break;
                    }
                    for (i, p) in lock(&cluster.processes).iter_mut().enumerate() {
                        if let Ok(Some(status)) = p.child.try_wait() {
                            return Err(LocalClusterError::Spawn {
                                program: program.display().to_string(),
                                source: std::io::Error::other(format!(
                                    "worker process {i} exited early with {status}"
                                )),
                            });
                        }
                    }
                    if Instant::now() >= deadline {
                        return Err(LocalClusterError::Timeout(timeout));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                client.close();
                let (processes, stopping) =
                    (cluster.processes.clone(), cluster.nanny_stopping.clone());
                let (scheduler, secret) = (address.clone(), secret.clone());
                let nanny = std::thread::Builder::new()
                    .name("tessera-nanny".into())
                    .spawn(move || run_nanny(processes, stopping, scheduler, secret))
                    .map_err(|source| LocalClusterError::Spawn {
                        program: "nanny thread".into(),
                        source,
                    })?;
                cluster.nanny = Some(nanny);
            }
        }
        if let Some(path) = &config.scheduler_file {
            let mut file = SchedulerFile::new(address.to_string(), secret.to_hex());
            if let Some(s) = &cluster.scheduler {
                file.services.extend(s.services());
            }
            file.write(path)?;
            cluster.scheduler_file = Some(path.clone());
        }
        Ok(cluster)
    }

    /// The scheduler's address.
    pub fn address(&self) -> Address {
        self.scheduler
            .as_ref()
            .map(|s| s.address().clone())
            .unwrap_or(Address::InProc(String::new()))
    }

    /// A reader of the scheduler's published view (what the dashboard shows); `None` once
    /// the cluster is shut down.
    pub fn view(&self) -> Option<crate::runtime::scheduler_view::SchedulerViewReader> {
        self.scheduler.as_ref().map(|s| s.view())
    }

    /// The dashboard's URL (`http://host:port/`, without its token), if it runs.
    pub fn dashboard_url(&self) -> Option<String> {
        self.scheduler.as_ref().and_then(|s| s.dashboard_url())
    }

    /// The cluster secret.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// A new client connected to this cluster.
    pub fn client(&self) -> Result<Client, ClientError> {
        Client::connect(&self.address(), &self.secret)
    }

    /// Number of workers started.
    pub fn worker_count(&self) -> usize {
        self.workers.len() + lock(&self.processes).len()
    }

    /// Pids of the current worker processes (processes placement only; a restarted worker
    /// has a new pid).
    pub fn worker_pids(&self) -> Vec<u32> {
        lock(&self.processes).iter().map(|p| p.child.id()).collect()
    }

    /// How many times worker processes were started again after dying.
    pub fn worker_restarts(&self) -> u32 {
        lock(&self.processes).iter().map(|p| p.restarts).sum()
    }

    /// True once the scheduler has stopped (for example after `tessera shutdown`).
    pub fn is_finished(&self) -> bool {
        self.scheduler.as_ref().is_none_or(|s| s.is_finished())
    }

    /// Stop workers and scheduler and wait for them.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        // No restarts while the cluster stops.
        self.nanny_stopping.store(true, Ordering::SeqCst);
        if let Some(nanny) = self.nanny.take() {
            let _ = nanny.join();
        }
        if let Some(s) = self.scheduler.take() {
            s.shutdown("local cluster closed");
            let _ = s.join();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        let processes: Vec<WorkerProcess> = lock(&self.processes).drain(..).collect();
        for mut c in processes.into_iter().map(|p| p.child) {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match c.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    _ => {
                        let _ = c.kill();
                        let _ = c.wait();
                        break;
                    }
                }
            }
        }
        if let Some(p) = self.scheduler_file.take() {
            let _ = SchedulerFile::remove(&p);
        }
        self.private_dir.take();
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.stop();
    }
}
