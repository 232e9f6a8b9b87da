//! `JobQueueCluster`: a cluster of batch-job workers, from a program on a login node.
//!
//! Starting one spawns a detached manager process (`tessera jobqueue serve`, its own session,
//! logging to `<job_directory>/manager.log`) that runs the scheduler and owns the jobs (see
//! [`manager`](super::manager)). This handle attaches to it as the **owner** over the control
//! channel: when the handle is closed or dropped — or this process dies, even by SIGKILL, which
//! closes its socket — the manager cancels every job it started and exits. No orphaned jobs.
//!
//! This module starts and talks to the manager process; it must not submit jobs itself.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::control::{ControlClient, ControlError, CONTROL_SERVICE};
use super::manager::ManagerConfig;
use crate::deploy::schedfile::SchedulerFile;
use crate::protocol::{ClusterReply, ClusterRequest, ClusterStatus, ScaleTarget};
use crate::runtime::{Client, ClientError};

/// Starting or driving a job-queue cluster failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The manager program could not be started.
    #[error("cannot start the job-queue manager {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// The manager exited during start-up; `log` is the end of its log.
    #[error("the job-queue manager did not start: {log}")]
    ManagerFailed {
        /// The last lines of its log (its error message).
        log: String,
    },
    /// The manager did not publish the scheduler file in time.
    #[error("the job-queue manager did not publish {path} within {timeout:?} (log: {log})")]
    Timeout {
        /// The scheduler file.
        path: String,
        /// How long we waited.
        timeout: Duration,
        /// Its log file.
        log: String,
    },
    /// Talking to the manager failed.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// Connecting a client failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The manager answered something unexpected.
    #[error("unexpected answer from the job-queue manager: {0}")]
    Unexpected(String),
}

/// A running job-queue cluster owned by this process. See the module docs.
///
/// ```no_run
/// use std::time::Duration;
/// use tessera::deploy::jobqueue::{cluster::JobQueueCluster, manager::ManagerConfig, BatchSystem, JobSpec};
///
/// let spec = JobSpec { cores: 8, memory: 32 << 30, walltime: Some(Duration::from_secs(7200)),
///                      ..JobSpec::default() };
/// let config = ManagerConfig::new(BatchSystem::Slurm, spec, "/home/me/s.json".into(),
///                                 "/home/me/tessera-jobs".into());
/// let mut cluster = JobQueueCluster::start(config, "tessera".as_ref(), Duration::from_secs(60))?;
/// cluster.scale(20)?;
/// let client = cluster.client(Duration::from_secs(60))?;
/// // ... submit work with `client` ...
/// cluster.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct JobQueueCluster {
    scheduler_file: PathBuf,
    job_directory: PathBuf,
    control: Option<ControlClient>,
    manager: Option<Child>,
    manager_pid: u32,
}

impl JobQueueCluster {
    /// Spawn the manager (`program jobqueue serve`), wait up to `timeout` for its scheduler
    /// file, and attach as its owner. A configuration the batch system refuses fails here with
    /// the batch system's own message, and nothing is left in the queue.
    pub fn start(
        config: ManagerConfig,
        program: &Path,
        timeout: Duration,
    ) -> Result<JobQueueCluster, ClusterError> {
        let (child, _) = spawn_manager(&config, program, timeout)?;
        let mut control = ControlClient::from_scheduler_file(&config.scheduler_file, timeout)?;
        control.request(ClusterRequest::Attach)?;
        Ok(JobQueueCluster {
            scheduler_file: config.scheduler_file.clone(),
            job_directory: config.job_directory.clone(),
            control: Some(control),
            manager_pid: child.id(),
            manager: Some(child),
        })
    }

    /// The scheduler file workers and clients use.
    pub fn scheduler_file(&self) -> &Path {
        &self.scheduler_file
    }

    /// Where job scripts, job logs and `manager.log` are.
    pub fn job_directory(&self) -> &Path {
        &self.job_directory
    }

    /// The manager's process id.
    pub fn manager_pid(&self) -> u32 {
        self.manager_pid
    }

    fn request(&mut self, request: ClusterRequest) -> Result<ClusterReply, ClusterError> {
        match self.control.as_mut() {
            Some(control) => Ok(control.request(request)?),
            None => Err(ClusterError::Unexpected("the cluster is closed".into())),
        }
    }

    /// Keep exactly `workers` workers (rounded up to whole jobs).
    pub fn scale(&mut self, workers: u32) -> Result<(), ClusterError> {
        self.request(ClusterRequest::Scale(ScaleTarget::Workers(workers)))
            .map(drop)
    }

    /// Keep exactly `jobs` jobs.
    pub fn scale_jobs(&mut self, jobs: u32) -> Result<(), ClusterError> {
        self.request(ClusterRequest::Scale(ScaleTarget::Jobs(jobs)))
            .map(drop)
    }

    /// Keep enough workers for `cores` cores (threads) in all (dask's `scale(cores=…)`).
    pub fn scale_cores(&mut self, cores: u32) -> Result<(), ClusterError> {
        self.request(ClusterRequest::Scale(ScaleTarget::Cores(cores)))
            .map(drop)
    }

    /// Keep enough workers for `bytes` of worker memory in all (dask's `scale(memory=…)`).
    pub fn scale_memory(&mut self, bytes: u64) -> Result<(), ClusterError> {
        self.request(ClusterRequest::Scale(ScaleTarget::Memory(bytes)))
            .map(drop)
    }

    /// Follow the scheduler's backlog between `minimum` and `maximum` workers.
    pub fn adapt(&mut self, minimum: u32, maximum: u32) -> Result<(), ClusterError> {
        self.request(ClusterRequest::Scale(ScaleTarget::Adaptive {
            minimum,
            maximum,
        }))
        .map(drop)
    }

    /// Jobs, workers, target and recent warnings.
    pub fn status(&mut self) -> Result<ClusterStatus, ClusterError> {
        match self.request(ClusterRequest::Status)? {
            ClusterReply::Status(status) => Ok(*status),
            other => Err(ClusterError::Unexpected(format!("{other:?}"))),
        }
    }

    /// A client of the cluster's scheduler.
    pub fn client(&self, timeout: Duration) -> Result<Client, ClusterError> {
        Ok(Client::from_scheduler_file(&self.scheduler_file, timeout)?)
    }

    /// Cancel every job, stop the scheduler and the manager; waits for the manager to exit.
    pub fn close(mut self) -> Result<(), ClusterError> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<(), ClusterError> {
        let Some(mut control) = self.control.take() else {
            return Ok(());
        };
        let result = control.request(ClusterRequest::Down).map(drop);
        control.close();
        if let Some(mut child) = self.manager.take() {
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(result?)
    }
}

impl Drop for JobQueueCluster {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

/// Write `<job_directory>/manager.json`, spawn `program jobqueue serve --manager-config …` in
/// its own session with output to `<job_directory>/manager.log`, and wait until it has
/// published the scheduler file with its control address. Returns the child and the log path.
pub fn spawn_manager(
    config: &ManagerConfig,
    program: &Path,
    timeout: Duration,
) -> Result<(Child, PathBuf), ClusterError> {
    use std::os::unix::process::CommandExt;
    let dir = &config.job_directory;
    std::fs::create_dir_all(dir).map_err(|source| ClusterError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let config_path = dir.join("manager.json");
    let text = serde_json::to_string_pretty(config).map_err(|e| ClusterError::Io {
        path: config_path.display().to_string(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&config_path, text).map_err(|source| ClusterError::Io {
        path: config_path.display().to_string(),
        source,
    })?;
    let log_path = dir.join("manager.log");
    let open_log = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|source| ClusterError::Io {
                path: log_path.display().to_string(),
                source,
            })
    };
    let (out, err) = (open_log()?, open_log()?);
    let start_offset = std::fs::metadata(&log_path).map_or(0, |m| m.len());
    let mut command = Command::new(program);
    command
        .arg("jobqueue")
        .arg("serve")
        .arg("--manager-config")
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    if std::env::var_os("TESSERA_LOG").is_none() {
        command.env("TESSERA_LOG", "info");
    }
    // SAFETY: setsid is async-signal-safe; the child leaves our session and process group, so
    // a Ctrl-C in the terminal does not reach the manager (it is stopped by `down` instead).
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|source| ClusterError::Spawn {
        program: program.display().to_string(),
        source,
    })?;
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return Err(ClusterError::ManagerFailed {
                log: log_tail(&log_path, start_offset),
            });
        }
        if let Ok(file) = SchedulerFile::read(&config.scheduler_file) {
            if file.pid == child.id() && file.services.contains_key(CONTROL_SERVICE) {
                return Ok((child, log_path));
            }
        }
        if Instant::now() >= deadline {
            return Err(ClusterError::Timeout {
                path: config.scheduler_file.display().to_string(),
                timeout,
                log: log_path.display().to_string(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The error lines the manager wrote since `offset` (or its last lines).
fn log_tail(path: &Path, offset: u64) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        use std::io::Seek;
        let _ = f.seek(std::io::SeekFrom::Start(offset));
        let _ = f.read_to_string(&mut text);
    }
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("error")).collect();
    let lines: Vec<&str> = if errors.is_empty() {
        text.lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    } else {
        errors
    };
    let joined = lines.join("\n");
    if joined.trim().is_empty() {
        format!("no output; see {}", path.display())
    } else {
        joined
    }
}
