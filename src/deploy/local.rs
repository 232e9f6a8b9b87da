//! The local cluster: a scheduler and N workers on this machine — as threads in this process
//! (the embedded default; user kernels are available) or as child `tessera worker` processes.
//! No MPI and no batch system needed. This module must not make scheduling decisions.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
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
}

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

/// A running local cluster; stopped (cleanly) on [`LocalCluster::shutdown`] or drop.
pub struct LocalCluster {
    scheduler: Option<SchedulerHandle>,
    workers: Vec<WorkerHandle>,
    children: Vec<Child>,
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
        let scheduler = start_scheduler(server)?;
        let address = scheduler.address().clone();
        let mut cluster = LocalCluster {
            scheduler: Some(scheduler),
            workers: Vec::new(),
            children: Vec::new(),
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
                    let mut cmd = Command::new(program);
                    cmd.arg("worker")
                        .arg("--scheduler-file")
                        .arg(&file)
                        .arg("--nthreads")
                        .arg(config.nthreads.to_string())
                        .arg("--name")
                        .arg(format!("local-{index}"))
                        .stdin(Stdio::null());
                    // Own process group: a terminal's Ctrl-C reaches only the parent, which
                    // shuts the cluster down in order.
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
                    let child = cmd.spawn().map_err(|source| LocalClusterError::Spawn {
                        program: program.display().to_string(),
                        source,
                    })?;
                    cluster.children.push(child);
                }
                let client = cluster.client()?;
                let timeout = Duration::from_secs(30);
                let deadline = Instant::now() + timeout;
                loop {
                    if client.info()?.workers.len() >= config.workers {
                        break;
                    }
                    for (i, c) in cluster.children.iter_mut().enumerate() {
                        if let Ok(Some(status)) = c.try_wait() {
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
            }
        }
        if let Some(path) = &config.scheduler_file {
            SchedulerFile::new(address.to_string(), secret.to_hex()).write(path)?;
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
        self.workers.len() + self.children.len()
    }

    /// Pids of worker processes (processes placement only).
    pub fn worker_pids(&self) -> Vec<u32> {
        self.children.iter().map(|c| c.id()).collect()
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
        if let Some(s) = self.scheduler.take() {
            s.shutdown("local cluster closed");
            let _ = s.join();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        for mut c in self.children.drain(..) {
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
