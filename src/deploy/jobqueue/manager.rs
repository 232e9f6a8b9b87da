//! The job-queue manager: the long-lived process that owns a cluster started from a login node.
//! It runs the scheduler, publishes the scheduler file (with its control address as the
//! `jobqueue` service), submits worker jobs, polls their state, feeds the
//! [`Autoscaler`](crate::core::autoscale::Autoscaler) and carries out its decisions, answers
//! control requests, and cancels every job it started when it stops — on `down`, on a signal,
//! or when its owner goes away (the owning connection closes, or `owner_pid` exits).
//!
//! Workers are named `jobqueue-<n>` after the job that started them (`--name`), so the manager
//! knows which job each connected worker belongs to. This module is a driver: decisions are the
//! autoscaler's; it must not parse batch-system output itself (the system modules do).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::control::{ControlError, ControlEvent, ControlServer, CONTROL_SERVICE};
use super::runner::{CommandRunner, RunnerError};
use super::spec::{JobSpec, JobSpecError};
use super::status::{JobId, JobState};
use super::system::BatchSystem;
use crate::core::autoscale::{
    AutoscaleAction, AutoscaleConfig, AutoscaleEvent, Autoscaler, BacklogSample, JobPhase, JobRef,
    Target,
};
use crate::deploy::schedfile::{SchedulerFile, SchedulerFileError};
use crate::protocol::{
    ClusterInfo, ClusterReply, ClusterRequest, ClusterStatus, JobLine, ScaleTarget, Secret,
};
use crate::runtime::{start_scheduler, Client, SchedulerHandle, SchedulerServerConfig};
use crate::transport::Address;

/// Worker names the manager gives: `jobqueue-<n>`.
pub const WORKER_NAME_PREFIX: &str = "jobqueue-";

/// Everything the manager needs; serialised to `<job_directory>/manager.json` when the manager
/// runs as its own process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ManagerConfig {
    /// The batch system.
    pub system: BatchSystem,
    /// The worker jobs (its `scheduler_file` is set to [`ManagerConfig::scheduler_file`]).
    pub spec: JobSpec,
    /// The scheduler file (on a filesystem the jobs see).
    pub scheduler_file: PathBuf,
    /// Job scripts and the manager's log go here.
    pub job_directory: PathBuf,
    /// Host or IP to listen on (default `0.0.0.0`).
    pub listen_host: String,
    /// Host or IP to publish in the scheduler file (default: this host's name).
    pub advertise_host: Option<String>,
    /// Listen on this network interface's address and publish it (wins over `listen_host`
    /// and, for the address published, over `advertise_host`).
    #[serde(default)]
    pub interface: Option<String>,
    /// The scheduler's TCP port (0: any free one); the control channel takes another.
    #[serde(default)]
    pub port: u16,
    /// Folder searched first for the batch system's commands.
    pub bin_dir: Option<PathBuf>,
    /// Longest a batch command may run.
    pub command_timeout: Duration,
    /// The target at start.
    pub initial: ScaleTarget,
    /// Jobs allowed in the queue at once.
    pub max_pending_jobs: u32,
    /// Time between adaptive decisions.
    pub interval: Duration,
    /// Adaptive scale-down after this many consecutive decisions agree.
    pub wait_count: u32,
    /// Adaptive: clear the backlog in about this long.
    pub target_duration: Duration,
    /// Time between batch status queries.
    pub poll_interval: Duration,
    /// First back-off delay after a failure.
    pub backoff_initial: Duration,
    /// Longest back-off delay.
    pub backoff_max: Duration,
    /// Stop submitting after this many consecutive failures.
    pub max_consecutive_failures: u32,
    /// Cancel a retiring job whose workers have not left after this long.
    pub retire_timeout: Duration,
    /// Shut down when this process exits (the owner on the same host).
    pub owner_pid: Option<u32>,
    /// Where the scheduler's web dashboard listens (or none).
    #[serde(default)]
    pub dashboard: crate::runtime::DashboardChoice,
}

impl ManagerConfig {
    /// Defaults for `system` and `spec`, with the scheduler file and job directory given.
    pub fn new(
        system: BatchSystem,
        spec: JobSpec,
        scheduler_file: PathBuf,
        job_directory: PathBuf,
    ) -> Self {
        let scale = AutoscaleConfig::default();
        ManagerConfig {
            system,
            spec,
            scheduler_file,
            job_directory,
            listen_host: "0.0.0.0".into(),
            advertise_host: None,
            interface: None,
            port: 0,
            bin_dir: None,
            command_timeout: Duration::from_secs(60),
            initial: ScaleTarget::Workers(0),
            max_pending_jobs: scale.max_pending_jobs,
            interval: scale.interval,
            wait_count: scale.wait_count,
            target_duration: scale.target_duration,
            poll_interval: Duration::from_secs(2),
            backoff_initial: scale.backoff_initial,
            backoff_max: scale.backoff_max,
            max_consecutive_failures: scale.max_consecutive_failures,
            retire_timeout: Duration::from_secs(60),
            owner_pid: None,
            dashboard: Default::default(),
        }
    }

    /// The spec as jobs get it: scheduler file filled in, name of the worker added.
    fn job_spec(&self, job: JobRef) -> JobSpec {
        let mut spec = self.spec.clone();
        spec.scheduler_file = Some(self.scheduler_file.to_string_lossy().into_owned());
        spec.extra_worker_args.extend([
            "--name".to_owned(),
            format!("{WORKER_NAME_PREFIX}{}", job.0),
        ]);
        spec
    }
}

/// The manager could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// The job spec cannot be rendered.
    #[error(transparent)]
    Spec(#[from] JobSpecError),
    /// The scheduler file is in use or cannot be written.
    #[error(transparent)]
    SchedulerFile(#[from] SchedulerFileError),
    /// Another scheduler owns the scheduler file.
    #[error(
        "scheduler file {path} belongs to a running scheduler (pid {pid} on {host}); stop it \
         with `tessera jobqueue down --scheduler-file {path}` or choose another file"
    )]
    InUse {
        /// The file.
        path: String,
        /// Its owner.
        pid: u32,
        /// Its host.
        host: String,
    },
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The listen address is not valid.
    #[error("cannot listen on {0:?}: not a valid host")]
    BadHost(String),
    /// The scheduler could not start.
    #[error("cannot start the scheduler: {0}")]
    Scheduler(String),
    /// No address the jobs could reach (an unresolvable `--advertise-host`, or only
    /// loopback for this host's name and several other addresses to choose from).
    #[error(transparent)]
    Address(#[from] crate::transport::TransportError),
    /// The control listener could not start.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The first submission failed: the configuration is broken (nothing is left queued).
    #[error(
        "{system}: the first job could not be submitted, so the cluster was not started: {source}"
    )]
    FirstSubmission {
        /// The batch system.
        system: BatchSystem,
        /// The batch system's own message.
        source: RunnerError,
    },
    /// The first submission printed no job id.
    #[error("{0}")]
    SubmitOutput(String),
}

/// One job the manager started.
struct ManagedJob {
    id: JobId,
    submitted: Instant,
    phase: JobPhase,
    leaving_since: Option<Instant>,
    workers: u32,
    absent_polls: u32,
}

/// A running manager (see the module docs). Build with [`Manager::start`], then [`Manager::run`].
pub struct Manager {
    config: ManagerConfig,
    runner: CommandRunner,
    scheduler: Option<SchedulerHandle>,
    scheduler_address: String,
    control: ControlServer,
    client: Client,
    scaler: Autoscaler,
    jobs: BTreeMap<JobRef, ManagedJob>,
    next_job: u64,
    submitted_total: u64,
    messages: Vec<String>,
    owners: u32,
    last_info: Option<ClusterInfo>,
    last_completed: Option<(Instant, u64)>,
    mean_task: Option<Duration>,
    startup: bool,
}

/// Why [`Manager::run`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManagerExit {
    /// `down` was requested.
    Down,
    /// The caller's stop condition fired (a signal).
    Stopped,
    /// The owner went away.
    OwnerGone(String),
    /// The scheduler stopped (e.g. `tessera shutdown`).
    SchedulerStopped,
}

impl Manager {
    /// Validate the spec, start the scheduler and the control listener, publish the scheduler
    /// file, and submit the initial jobs. A refused first submission is an error, after which
    /// nothing is left in the queue and the scheduler file is removed.
    pub fn start(config: ManagerConfig) -> Result<Manager, ManagerError> {
        config.system.render_script(&config.job_spec(JobRef(0)))?;
        std::fs::create_dir_all(&config.job_directory).map_err(|source| ManagerError::Io {
            path: config.job_directory.display().to_string(),
            source,
        })?;
        if let Ok(existing) = SchedulerFile::read(&config.scheduler_file) {
            if existing.check_alive().is_ok() {
                return Err(ManagerError::InUse {
                    path: config.scheduler_file.display().to_string(),
                    pid: existing.pid,
                    host: existing.host,
                });
            }
            // Stale: workers must not find it before ours is written.
            let _ = std::fs::remove_file(&config.scheduler_file);
        }
        let (listen, advertise) = match &config.interface {
            Some(name) => {
                let unspecified = std::net::IpAddr::from([0, 0, 0, 0]);
                let endpoint = crate::transport::resolve_endpoint(
                    None,
                    Some(name),
                    config.advertise_host.as_deref(),
                    config.port,
                    unspecified,
                    None,
                )
                .map_err(|e| ManagerError::Scheduler(e.to_string()))?;
                (endpoint.listen, endpoint.advertise_host)
            }
            None => {
                let listen: Address =
                    format!("tcp://{}:{}", bracket(&config.listen_host), config.port)
                        .parse()
                        .map_err(|_| ManagerError::BadHost(config.listen_host.clone()))?;
                // The jobs run on other hosts: never this host's name when it resolves to
                // loopback (Debian's 127.0.1.1), and an explicit name must resolve.
                let advertise = match &config.advertise_host {
                    Some(host) => {
                        crate::transport::check_resolves("--advertise-host", host)?;
                        Some(host.clone())
                    }
                    None if wildcard(&config.listen_host) => Some(
                        crate::transport::publishable_host_name(&crate::deploy::hostname())?,
                    ),
                    None => None,
                };
                (listen, advertise)
            }
        };
        // The control channel listens beside the scheduler, on a port of its own.
        let control_listen = match &listen {
            Address::Tcp(at) => Address::Tcp(std::net::SocketAddr::new(at.ip(), 0)),
            other => other.clone(),
        };
        let secret = Secret::generate();
        let mut server = SchedulerServerConfig::new(listen.clone(), secret.clone());
        server.advertise_host = advertise.clone();
        server.dashboard = config.dashboard.resolve(&server.listen);
        let scheduler =
            start_scheduler(server).map_err(|e| ManagerError::Scheduler(e.to_string()))?;
        let control = ControlServer::bind(&control_listen, secret.clone())?;
        let control_address = crate::runtime::scheduler_server::advertise(
            control.address().clone(),
            advertise.as_deref(),
        );
        let mut file = SchedulerFile::new(scheduler.address().to_string(), secret.to_hex());
        file.services.extend(scheduler.services());
        file.services
            .insert(CONTROL_SERVICE.to_owned(), control_address.to_string());
        let client = Client::connect(scheduler.address(), &secret)
            .map_err(|e| ManagerError::Scheduler(e.to_string()))?;
        let mut runner = CommandRunner::new(config.system);
        runner.bin_dir = config.bin_dir.clone();
        runner.timeout = config.command_timeout;
        let spec = config.job_spec(JobRef(0));
        let scaler = Autoscaler::new(AutoscaleConfig {
            workers_per_job: spec.workers_per_job().max(1),
            threads_per_worker: spec.threads_per_worker().max(1),
            max_pending_jobs: config.max_pending_jobs,
            interval: config.interval,
            wait_count: config.wait_count,
            target_duration: config.target_duration,
            backoff_initial: config.backoff_initial,
            backoff_max: config.backoff_max,
            max_consecutive_failures: config.max_consecutive_failures,
            worker_lifetime: spec.worker_lifetime(),
            ..AutoscaleConfig::default()
        });
        let mut manager = Manager {
            scheduler_address: scheduler.address().to_string(),
            scheduler: Some(scheduler),
            runner,
            control,
            client,
            scaler,
            jobs: BTreeMap::new(),
            next_job: 0,
            submitted_total: 0,
            messages: Vec::new(),
            owners: 0,
            last_info: None,
            last_completed: None,
            mean_task: None,
            startup: true,
            config,
        };
        let initial = manager.config.initial;
        manager.sample();
        // The first submissions happen before the scheduler file is published, so whoever
        // waits for the file (`up`, `JobQueueCluster::start`) sees a refusal as an error.
        // Workers of jobs that start meanwhile wait for the file.
        if let Err(e) = manager.set_target(Instant::now(), initial) {
            manager.shut_down("the first submission failed");
            return Err(e);
        }
        manager.startup = false;
        if let Err(e) = file.write(&manager.config.scheduler_file) {
            manager.shut_down("the scheduler file could not be written");
            return Err(e.into());
        }
        Ok(manager)
    }

    /// The scheduler's address.
    pub fn scheduler_address(&self) -> &str {
        &self.scheduler_address
    }

    /// Run until `down`, the owner leaving, the scheduler stopping, or `stop()` returning
    /// true; then cancel every job, stop the scheduler and remove the scheduler file.
    pub fn run(mut self, stop: &dyn Fn() -> bool) -> ManagerExit {
        let mut next_poll = Instant::now();
        let mut next_sample = Instant::now();
        let exit = loop {
            if stop() {
                break ManagerExit::Stopped;
            }
            if let Some(exit) = self.serve_control() {
                break exit;
            }
            if let Some(pid) = self.config.owner_pid {
                if !process_exists(pid) {
                    break ManagerExit::OwnerGone(format!("owner process {pid} exited"));
                }
            }
            if self.scheduler.as_ref().is_none_or(|s| s.is_finished()) {
                break ManagerExit::SchedulerStopped;
            }
            let now = Instant::now();
            if now >= next_sample {
                self.sample();
                next_sample = now + Duration::from_millis(250);
            }
            if now >= next_poll {
                self.poll_jobs();
                next_poll = Instant::now() + self.config.poll_interval;
                self.publish_to_dashboard(now);
            }
            self.expire_retirements(now);
            self.scaler.handle(now, AutoscaleEvent::Tick);
            let _ = self.carry_out(now);
            std::thread::sleep(Duration::from_millis(50));
        };
        let reason = match &exit {
            ManagerExit::Down => "down requested".to_owned(),
            ManagerExit::Stopped => "interrupted".to_owned(),
            ManagerExit::OwnerGone(why) => why.clone(),
            ManagerExit::SchedulerStopped => "the scheduler stopped".to_owned(),
        };
        self.shut_down(&reason);
        exit
    }

    /// Answer queued control requests; `Some` when the manager must stop.
    fn serve_control(&mut self) -> Option<ManagerExit> {
        while let Ok(event) = self.control.events.try_recv() {
            match event {
                ControlEvent::OwnerLeft => {
                    self.owners = self.owners.saturating_sub(1);
                    if self.owners == 0 {
                        return Some(ManagerExit::OwnerGone(
                            "the owning client disconnected".into(),
                        ));
                    }
                }
                ControlEvent::Request(pending) => {
                    let now = Instant::now();
                    let (reply, exit) = match pending.request {
                        ClusterRequest::Status => {
                            (ClusterReply::Status(Box::new(self.status(now))), None)
                        }
                        ClusterRequest::Scale(target) => match self.set_target(now, target) {
                            Ok(()) => (ClusterReply::Ok, None),
                            Err(e) => (ClusterReply::Error(e.to_string()), None),
                        },
                        ClusterRequest::Down => (ClusterReply::Ok, Some(ManagerExit::Down)),
                        ClusterRequest::Attach => {
                            self.owners += 1;
                            (ClusterReply::Ok, None)
                        }
                    };
                    let _ = pending.reply.send(reply);
                    if exit.is_some() {
                        return exit;
                    }
                }
            }
        }
        None
    }

    fn set_target(&mut self, now: Instant, target: ScaleTarget) -> Result<(), ManagerError> {
        let spec = &self.config.spec;
        let target = match target {
            ScaleTarget::Workers(n) => Target::Workers(n),
            ScaleTarget::Jobs(n) => Target::Jobs(n),
            ScaleTarget::Cores(cores) => {
                Target::Workers(cores.div_ceil(spec.threads_per_worker().max(1)))
            }
            ScaleTarget::Memory(bytes) => {
                let workers = bytes.div_ceil(spec.worker_memory_limit().max(1));
                Target::Workers(u32::try_from(workers).unwrap_or(u32::MAX))
            }
            ScaleTarget::Adaptive { minimum, maximum } => Target::Adaptive { minimum, maximum },
        };
        tracing::info!(?target, "new target");
        // Fresh phases first: a job whose workers just connected must be retired, not cancelled.
        self.sample();
        self.scaler.handle(now, AutoscaleEvent::SetTarget(target));
        self.carry_out(now)
    }

    /// Carry out the autoscaler's actions. During startup a failed submission is an error.
    fn carry_out(&mut self, now: Instant) -> Result<(), ManagerError> {
        let actions: Vec<AutoscaleAction> = self.scaler.drain_actions().collect();
        for action in actions {
            match action {
                AutoscaleAction::Submit { jobs } => {
                    for _ in 0..jobs {
                        match self.submit_one(now) {
                            Ok(job) => self.scaler.handle(now, AutoscaleEvent::Submitted(job)),
                            Err(e) if self.startup && self.jobs.is_empty() => return Err(e),
                            Err(e) => {
                                let message = match &e {
                                    ManagerError::FirstSubmission { source, .. } => {
                                        source.to_string()
                                    }
                                    other => other.to_string(),
                                };
                                self.scaler
                                    .handle(now, AutoscaleEvent::SubmitFailed { message });
                                break;
                            }
                        }
                    }
                }
                AutoscaleAction::Cancel { jobs } => {
                    let mut ids = Vec::new();
                    let mut workers = Vec::new();
                    for job in &jobs {
                        if let Some(managed) = self.jobs.get_mut(job) {
                            managed.leaving_since = Some(now);
                            ids.push(managed.id.clone());
                        }
                        // Workers that connected since the last sample leave cleanly too.
                        workers.extend(worker_ids_of(self.last_info.as_ref(), *job));
                    }
                    if !workers.is_empty() {
                        self.client.retire_workers(workers);
                    }
                    self.cancel(&ids);
                }
                AutoscaleAction::Retire { jobs } => self.retire(now, &jobs),
                AutoscaleAction::Warn(message) => self.note(message),
                AutoscaleAction::GiveUp(message) => {
                    tracing::error!(%message, "job-queue manager stopped submitting");
                    self.note(message);
                }
            }
        }
        // Warnings and give-ups emitted while handling submission outcomes.
        let more: Vec<AutoscaleAction> = self.scaler.drain_actions().collect();
        for action in more {
            match action {
                AutoscaleAction::Warn(m) | AutoscaleAction::GiveUp(m) => self.note(m),
                other => tracing::debug!(?other, "deferred to the next round"),
            }
        }
        Ok(())
    }

    fn note(&mut self, message: String) {
        tracing::warn!(%message, "job-queue manager");
        self.messages.push(message);
        if self.messages.len() > 20 {
            self.messages.remove(0);
        }
    }

    fn submit_one(&mut self, now: Instant) -> Result<JobRef, ManagerError> {
        self.next_job += 1;
        let job = JobRef(self.next_job);
        let spec = self.config.job_spec(job);
        let script = self.config.job_directory.join(format!("job-{}.sh", job.0));
        let rendered = self.config.system.render_job(&spec, &script)?;
        for file in &rendered.files {
            write_file(&file.path, &file.contents, file.executable)?;
        }
        let argv = self
            .config
            .system
            .submit_command(&rendered.submit_path, &spec.system_options);
        let first = |source| ManagerError::FirstSubmission {
            system: self.config.system,
            source,
        };
        let output = self.runner.run_checked(&argv).map_err(first)?;
        let id = self
            .config
            .system
            .parse_submit_output(&output.stdout)
            .map_err(|e| ManagerError::SubmitOutput(e.to_string()))?;
        tracing::info!(job = %id, script = %script.display(), "submitted");
        self.submitted_total += 1;
        self.jobs.insert(
            job,
            ManagedJob {
                id,
                submitted: now,
                phase: JobPhase::Pending,
                leaving_since: None,
                workers: 0,
                absent_polls: 0,
            },
        );
        Ok(job)
    }

    fn cancel(&mut self, ids: &[JobId]) {
        if ids.is_empty() {
            return;
        }
        let argv = self
            .config
            .system
            .cancel_command(ids, &self.config.spec.system_options);
        match self.runner.run_checked(&argv) {
            Ok(_) => tracing::info!(?ids, "cancelled"),
            // Jobs that ended meanwhile make some tools complain; the status poll settles it.
            Err(e) => tracing::info!(error = %e, "cancel reported an error"),
        }
    }

    fn retire(&mut self, now: Instant, jobs: &[JobRef]) {
        let mut workers = Vec::new();
        let mut cancel = Vec::new();
        for job in jobs {
            let Some(managed) = self.jobs.get_mut(job) else {
                continue;
            };
            managed.leaving_since = Some(now);
            let ids = worker_ids_of(self.last_info.as_ref(), *job);
            if ids.is_empty() {
                cancel.push(managed.id.clone());
            } else {
                workers.extend(ids);
            }
        }
        if !workers.is_empty() {
            tracing::info!(?workers, "retiring workers");
            self.client.retire_workers(workers);
        }
        self.cancel(&cancel);
    }

    /// Cancel retiring jobs whose workers did not leave in time.
    fn expire_retirements(&mut self, now: Instant) {
        let timeout = self.config.retire_timeout;
        let late: Vec<JobId> = self
            .jobs
            .values_mut()
            .filter(|j| j.leaving_since.is_some_and(|t| now >= t + timeout))
            .map(|j| {
                j.leaving_since = Some(now);
                j.id.clone()
            })
            .collect();
        if !late.is_empty() {
            tracing::warn!(?late, "retiring jobs did not end in time; cancelling them");
            self.cancel(&late);
        }
    }

    /// Ask the scheduler for its load and workers; feed the autoscaler.
    fn sample(&mut self) {
        let Ok(info) = self.client.info() else {
            return;
        };
        let now = Instant::now();
        let count = |name: &str| info.tasks.get(name).copied().unwrap_or(0);
        let completed = count("completed");
        let processing = count("processing");
        let threads: u32 = info.workers.iter().map(|w| w.nthreads).sum();
        if let Some((then, before)) = self.last_completed {
            let done = completed.saturating_sub(before);
            let busy = processing.min(u64::from(threads)) as f64;
            if done > 0 && busy > 0.0 {
                let estimate = now.duration_since(then).as_secs_f64() * busy / done as f64;
                self.mean_task = Some(Duration::from_secs_f64(estimate));
            }
        }
        self.last_completed = Some((now, completed));
        self.scaler.handle(
            now,
            AutoscaleEvent::Backlog(BacklogSample {
                ready: count("ready"),
                processing,
                waiting: count("waiting"),
                workers: info.workers.len() as u32,
                threads,
                mean_task_duration: self.mean_task,
                requested_cpus: count("requested_cpus"),
            }),
        );
        let mut per_job: BTreeMap<JobRef, u32> = BTreeMap::new();
        for w in &info.workers {
            if let Some(job) = job_of_worker(&w.name) {
                *per_job.entry(job).or_default() += 1;
            }
        }
        for (job, managed) in self.jobs.iter_mut() {
            managed.workers = per_job.get(job).copied().unwrap_or(0);
            if managed.workers > 0 && managed.phase != JobPhase::Connected {
                managed.phase = JobPhase::Connected;
                self.scaler
                    .handle(now, AutoscaleEvent::JobPhase(*job, JobPhase::Connected));
            }
        }
        self.last_info = Some(info);
    }

    /// Query the batch system for the state of every job; report changes.
    fn poll_jobs(&mut self) {
        if self.jobs.is_empty() {
            return;
        }
        let ids: Vec<JobId> = self.jobs.values().map(|j| j.id.clone()).collect();
        let argv = self
            .config
            .system
            .status_command(&ids, &self.config.spec.system_options);
        let output = match self.runner.run(&argv) {
            Ok(o) => o,
            Err(e) => {
                self.note(format!("status query failed: {e}"));
                return;
            }
        };
        let states = self.config.system.parse_status(&output.stdout, &ids);
        let now = Instant::now();
        let mut gone = Vec::new();
        for (job, managed) in self.jobs.iter_mut() {
            let phase = match states.get(&managed.id) {
                Some(JobState::Pending) => Some(JobPhase::Pending),
                Some(JobState::Running) => Some(JobPhase::Running),
                Some(JobState::Finished | JobState::Cancelled) => Some(JobPhase::Gone),
                Some(JobState::Failed) => Some(JobPhase::Failed),
                Some(JobState::Unknown) => None,
                None => {
                    managed.absent_polls += 1;
                    let old = now.duration_since(managed.submitted) > Duration::from_secs(3);
                    (old && managed.absent_polls >= 2).then_some(JobPhase::Gone)
                }
            };
            if states.contains_key(&managed.id) {
                managed.absent_polls = 0;
            }
            let Some(phase) = phase else { continue };
            if matches!(phase, JobPhase::Gone | JobPhase::Failed) {
                gone.push((*job, phase));
                continue;
            }
            let upgrade = managed.phase == JobPhase::Pending && phase == JobPhase::Running;
            if upgrade {
                managed.phase = phase;
                self.scaler
                    .handle(now, AutoscaleEvent::JobPhase(*job, phase));
            }
        }
        for (job, phase) in gone {
            if let Some(managed) = self.jobs.remove(&job) {
                tracing::info!(job = %managed.id, ?phase, "job left the queue");
            }
            self.scaler
                .handle(now, AutoscaleEvent::JobPhase(job, phase));
        }
    }

    /// Show the jobs on the scheduler's dashboard (its `jobqueue` panel).
    fn publish_to_dashboard(&self, now: Instant) {
        if let (Some(scheduler), Ok(status)) =
            (&self.scheduler, serde_json::to_value(self.status(now)))
        {
            scheduler.view().publish_panel("jobqueue", status);
        }
    }

    fn status(&self, now: Instant) -> ClusterStatus {
        let scaler = self.scaler.status(now);
        let info = self.last_info.as_ref();
        let jobs = self
            .jobs
            .values()
            .map(|j| JobLine {
                id: j.id.to_string(),
                state: if j.leaving_since.is_some() {
                    "leaving".into()
                } else {
                    match j.phase {
                        JobPhase::Pending => "pending",
                        JobPhase::Running => "running",
                        JobPhase::Connected => "connected",
                        JobPhase::Gone | JobPhase::Failed => "ended",
                    }
                    .into()
                },
                workers: j.workers,
                age_secs: now.duration_since(j.submitted).as_secs(),
            })
            .collect();
        let target = match scaler.target {
            Target::Workers(n) => ScaleTarget::Workers(n),
            Target::Jobs(n) => ScaleTarget::Jobs(n),
            Target::Adaptive { minimum, maximum } => ScaleTarget::Adaptive { minimum, maximum },
        };
        ClusterStatus {
            system: self.config.system.name().to_owned(),
            scheduler_address: self.scheduler_address.clone(),
            manager_pid: std::process::id(),
            manager_host: crate::deploy::hostname(),
            job_directory: self.config.job_directory.display().to_string(),
            target,
            desired_jobs: scaler.desired_jobs,
            jobs,
            workers: info.map_or(0, |i| i.workers.len() as u32),
            threads: info.map_or(0, |i| i.workers.iter().map(|w| w.nthreads).sum()),
            tasks: info.map_or_else(Vec::new, |i| {
                i.tasks.iter().map(|(k, v)| (k.clone(), *v)).collect()
            }),
            submitted_total: self.submitted_total,
            consecutive_failures: scaler.consecutive_failures,
            gave_up: scaler.gave_up,
            messages: self.messages.clone(),
        }
    }

    /// Cancel every job, stop the scheduler (its workers exit), remove the scheduler file.
    fn shut_down(&mut self, reason: &str) {
        tracing::info!(
            reason,
            jobs = self.jobs.len(),
            "job-queue manager shutting down"
        );
        if let Some(scheduler) = self.scheduler.take() {
            scheduler.shutdown(&format!("job-queue cluster stopped: {reason}"));
            let _ = scheduler.join();
        }
        let ids: Vec<JobId> = self.jobs.values().map(|j| j.id.clone()).collect();
        self.cancel(&ids);
        self.jobs.clear();
        self.client.close();
        let _ = SchedulerFile::remove(&self.config.scheduler_file);
    }
}

fn job_of_worker(name: &str) -> Option<JobRef> {
    name.strip_prefix(WORKER_NAME_PREFIX)?
        .parse::<u64>()
        .ok()
        .map(JobRef)
}

fn worker_ids_of(info: Option<&ClusterInfo>, job: JobRef) -> Vec<u32> {
    info.map_or_else(Vec::new, |info| {
        info.workers
            .iter()
            .filter(|w| job_of_worker(&w.name) == Some(job))
            .map(|w| w.id)
            .collect()
    })
}

fn write_file(path: &Path, contents: &str, executable: bool) -> Result<(), ManagerError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| ManagerError::Io {
        path: path.display().to_string(),
        source,
    };
    std::fs::write(path, contents).map_err(io)?;
    let mode = if executable { 0o755 } else { 0o644 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io)
}

fn wildcard(host: &str) -> bool {
    matches!(host, "0.0.0.0" | "::" | "[::]")
}

fn bracket(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// Whether a process with this id exists (on this host).
pub fn process_exists(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_names_map_to_jobs() {
        assert_eq!(job_of_worker("jobqueue-12"), Some(JobRef(12)));
        assert_eq!(job_of_worker("jobqueue-x"), None);
        assert_eq!(job_of_worker("node1:42"), None);
    }

    #[test]
    fn job_spec_names_workers_after_their_job() {
        let config = ManagerConfig::new(
            BatchSystem::Slurm,
            JobSpec::default(),
            "/shared/s.json".into(),
            "/shared/jobs".into(),
        );
        let spec = config.job_spec(JobRef(7));
        let script = BatchSystem::Slurm.render_script(&spec).unwrap();
        assert!(
            script.contains("--scheduler-file /shared/s.json"),
            "{script}"
        );
        assert!(script.contains("--name jobqueue-7"), "{script}");
    }

    #[test]
    fn own_process_exists_and_a_reaped_child_does_not() {
        assert!(process_exists(std::process::id()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_exists(pid));
    }
}
