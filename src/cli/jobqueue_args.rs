//! Arguments of `tessera jobqueue …` and `tessera launch`: one subcommand per batch system
//! (`tessera jobqueue slurm script|up`), whose options a config file can set in a table per
//! system (`[jobqueue.slurm]`), and the control subcommands that talk to a running manager.
//! This module only describes arguments; `commands/jobqueue.rs` runs them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use crate::units::ByteSize;

use super::args::duration_arg;

fn size_arg(s: &str) -> Result<ByteSize, String> {
    s.parse::<ByteSize>().map_err(|e| e.to_string())
}

const JOBQUEUE_HELP: &str = "\
Examples:
    tessera jobqueue slurm script --cores 8 --memory 32GiB --walltime 2h
    tessera jobqueue slurm up --scheduler-file ~/s.json --workers 20 --cores 8 --memory 32GiB
    tessera jobqueue sge up --scheduler-file ~/s.json --adapt --minimum 0 --maximum 20
    tessera jobqueue status --scheduler-file ~/s.json
    tessera jobqueue scale 5 --scheduler-file ~/s.json
    tessera jobqueue scale --cores 64 --scheduler-file ~/s.json
    tessera jobqueue adapt --minimum 2 --maximum 40 --scheduler-file ~/s.json
    tessera jobqueue down --scheduler-file ~/s.json

Config file: one table per batch system, keys named like the long flags:
    [jobqueue.slurm]
    queue = \"batch\"
    cores = 8
    memory = \"32GiB\"
    walltime = \"2h\"
    job-directive = [\"--gres=gpu:1\"]

Named profiles (--profile gpu reads [jobqueue.gpu] instead of [jobqueue.slurm]):
    [jobqueue.gpu]
    queue = \"gpu\"
    job-directive = [\"--gres=gpu:1\"]";

/// `tessera jobqueue`.
#[derive(Debug, Args)]
#[command(after_help = JOBQUEUE_HELP)]
pub struct JobqueueArgs {
    #[command(subcommand)]
    pub command: JobqueueCommand,
}

/// The batch systems and the control commands.
#[derive(Debug, Subcommand)]
pub enum JobqueueCommand {
    /// SLURM (sbatch, squeue, scancel).
    Slurm(SystemArgs),
    /// PBS Pro / OpenPBS / Torque (qsub, qstat, qdel).
    Pbs(SystemArgs),
    /// Grid Engine (qsub, qstat, qdel).
    Sge(SystemArgs),
    /// IBM LSF (bsub, bjobs, bkill).
    Lsf(SystemArgs),
    /// HTCondor (condor_submit, condor_q, condor_rm).
    Htcondor(SystemArgs),
    /// OAR (oarsub, oarstat, oardel).
    Oar(SystemArgs),
    /// Moab (msub, showq, canceljob).
    Moab(SystemArgs),
    /// Show the jobs, workers and target of a running job-queue cluster.
    Status(StatusArgs),
    /// Keep exactly N workers (or N jobs with --jobs).
    Scale(ScaleArgs),
    /// Scale with the scheduler's backlog between --minimum and --maximum workers.
    Adapt(AdaptArgs),
    /// Cancel every job of the cluster, stop its scheduler and manager.
    Down(ManagerArgs),
    /// Run a manager from a config written by `up` (internal).
    #[command(hide = true)]
    Serve(ServeArgs),
}

/// What to do with a batch system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SystemAction {
    /// Print the worker job script without submitting anything.
    Script,
    /// Start a scheduler and manager that submit worker jobs (in the background unless
    /// --foreground).
    Up,
}

/// `tessera jobqueue <system> script|up`.
#[derive(Debug, Args)]
pub struct SystemArgs {
    /// script: print the job script; up: start the cluster.
    #[arg(value_enum)]
    pub action: SystemAction,

    /// Take the config file's settings from the table [jobqueue.NAME] instead of
    /// [jobqueue.<system>] (dask-jobqueue's config_name; example: --profile gpu).
    #[arg(long, env = "TESSERA_JOBQUEUE_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,

    #[command(flatten)]
    pub job: JobOptions,

    #[command(flatten)]
    pub cluster: ClusterOptions,
}

/// What each worker job asks for and runs.
#[derive(Debug, Args)]
pub struct JobOptions {
    /// Cores per node of each job (example: --cores 8).
    #[arg(long, env = "TESSERA_JOB_CORES", default_value_t = 1)]
    pub cores: u32,

    /// Memory per node of each job (examples: 32GiB, 4000MB).
    #[arg(long, env = "TESSERA_JOB_MEMORY", default_value = "4GiB", value_parser = size_arg)]
    pub memory: ByteSize,

    /// Workers per node; each gets cores/processes threads (example: --processes 2).
    #[arg(long, env = "TESSERA_JOB_PROCESSES", default_value_t = 1)]
    pub processes: u32,

    /// Nodes per job (example: --nodes 2).
    #[arg(long, env = "TESSERA_JOB_NODES", default_value_t = 1)]
    pub nodes: u32,

    /// Queue or partition (example: --queue batch).
    #[arg(long, env = "TESSERA_JOB_QUEUE")]
    pub queue: Option<String>,

    /// Account or project charged (example: --account proj42).
    #[arg(long, env = "TESSERA_JOB_ACCOUNT")]
    pub account: Option<String>,

    /// Wall-clock limit of each job (examples: 2h, 30m, 1-00:00:00).
    #[arg(long, env = "TESSERA_JOB_WALLTIME", default_value = "1h", value_parser = duration_arg)]
    pub walltime: Duration,

    /// Workers leave this long before the walltime ends (capped at a tenth of it; example: 5m).
    #[arg(long, env = "TESSERA_JOB_LIFETIME_MARGIN", default_value = "5m", value_parser = duration_arg)]
    pub lifetime_margin: Duration,

    /// Job name (example: --job-name my-workers).
    #[arg(long, env = "TESSERA_JOB_NAME", default_value = "tessera-worker")]
    pub job_name: String,

    /// Directory for the jobs' stdout/stderr (default: the job directory).
    #[arg(long, env = "TESSERA_JOB_LOG_DIRECTORY", value_name = "DIR")]
    pub log_directory: Option<String>,

    /// Worker spill directory on the node (example: '$TMPDIR/tessera').
    #[arg(long, env = "TESSERA_JOB_LOCAL_DIRECTORY", value_name = "DIR")]
    pub local_directory: Option<String>,

    /// Network interface workers listen on (example: --interface ib0).
    #[arg(long = "worker-interface", env = "TESSERA_JOB_INTERFACE")]
    pub worker_interface: Option<String>,

    /// Extra directive line, repeatable (example: --job-directive=--gres=gpu:1).
    #[arg(long, value_name = "LINE")]
    pub job_directive: Vec<String>,

    /// Drop generated directive lines containing this text, repeatable (example: --directive-skip=--mem).
    #[arg(long, value_name = "TEXT")]
    pub directive_skip: Vec<String>,

    /// Shell line run before the workers, repeatable (example: --prologue 'module load foo').
    #[arg(long, value_name = "LINE")]
    pub prologue: Vec<String>,

    /// Environment variable for the job, repeatable (example: --env OMP_NUM_THREADS=1).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    pub environment: Vec<String>,

    /// The tessera program the jobs run (default: this program; example: /opt/tessera/bin/tessera).
    #[arg(long, env = "TESSERA_WORKER_PROGRAM", value_name = "PATH")]
    pub worker_program: Option<String>,

    /// Extra argument for every worker, repeatable (example: --worker-arg=--log=info).
    #[arg(long, value_name = "ARG")]
    pub worker_arg: Vec<String>,

    /// PBS dialect: pro, torque, or slurm-wrappers (SLURM's Torque compatibility commands).
    #[arg(long, env = "TESSERA_PBS_FLAVOUR", default_value = "pro")]
    pub pbs_flavour: String,

    /// SGE parallel environment for multi-slot jobs: `smp` (usually `$pe_slots`) keeps a job on
    /// one host; jobs of several --nodes need one that spans hosts (example: --pe mpi).
    #[arg(
        long,
        visible_alias = "pe",
        env = "TESSERA_SGE_PE",
        default_value = "smp"
    )]
    pub sge_parallel_environment: String,

    /// SGE `-S` shell of the job script (example: --sge-shell /bin/sh).
    #[arg(long, env = "TESSERA_SGE_SHELL", default_value = "/bin/bash")]
    pub sge_shell: String,

    /// SGE `-V`: export the submitting environment to the jobs.
    #[arg(long)]
    pub sge_export_environment: bool,

    /// LSF's LSF_UNIT_FOR_LIMITS, the unit of bare memory numbers: kb, mb, gb or tb.
    #[arg(long, env = "TESSERA_LSF_UNIT", default_value = "mb")]
    pub lsf_unit: String,

    /// LSF `rusage[mem=]` per slot (memory / cores) instead of per host.
    #[arg(long)]
    pub lsf_memory_per_slot: bool,

    /// Submit with `bsub < script` (LSF before 10.1 reads #BSUB lines only from stdin).
    #[arg(long)]
    pub lsf_submit_on_stdin: bool,

    /// The job script's first line; `#!/bin/bash -l` runs a login shell, so `module` works
    /// (example: --shebang '#!/bin/bash -l').
    #[arg(
        long,
        env = "TESSERA_JOB_SHEBANG",
        default_value = "#!/usr/bin/env bash"
    )]
    pub shebang: String,

    /// Shell line run after the workers exit, repeatable (example: --epilogue 'echo done').
    #[arg(long, value_name = "LINE")]
    pub epilogue: Vec<String>,

    /// Replace the worker command entirely: words separated by spaces (example:
    /// --worker-command '/opt/bin/my-worker --scheduler-file /home/me/s.json').
    #[arg(long, value_name = "COMMAND")]
    pub worker_command: Option<String>,

    /// Launcher of several workers across nodes outside SLURM: words separated by spaces,
    /// {np} = workers in the job, {ppn} = workers per node (example for MPICH:
    /// --mpirun 'mpiexec -n {np} -ppn {ppn}').
    #[arg(long, default_value = "mpirun -np {np} --map-by ppr:{ppn}:node")]
    pub mpirun: String,

    /// Argument added to the submit command before the script, repeatable (example:
    /// --submit-command-extra=--reservation=r1).
    #[arg(long, value_name = "ARG")]
    pub submit_command_extra: Vec<String>,

    /// Argument added to the cancel command before the job ids, repeatable (example:
    /// --cancel-command-extra=--signal=TERM).
    #[arg(long, value_name = "ARG")]
    pub cancel_command_extra: Vec<String>,

    /// SGE resource carrying the memory request (examples: h_vmem, mem_free).
    #[arg(long, env = "TESSERA_SGE_MEMORY_RESOURCE", default_value = "h_vmem")]
    pub sge_memory_resource: String,
}

/// How the cluster is run and scaled.
#[derive(Debug, Args)]
pub struct ClusterOptions {
    /// Scheduler file on a filesystem the jobs see (example: ~/s.json).
    #[arg(long, env = "TESSERA_SCHEDULER_FILE", value_name = "PATH")]
    pub scheduler_file: Option<PathBuf>,

    /// Where job scripts, job logs and manager.log go (default: tessera-jobs beside the
    /// scheduler file).
    #[arg(long, env = "TESSERA_JOB_DIRECTORY", value_name = "DIR")]
    pub job_directory: Option<PathBuf>,

    /// Workers to start (rounded up to whole jobs; example: --workers 20).
    #[arg(long, env = "TESSERA_JOBQUEUE_WORKERS", conflicts_with_all = ["jobs", "adapt"])]
    pub workers: Option<u32>,

    /// Jobs to start (example: --jobs 4).
    #[arg(long, conflicts_with = "adapt")]
    pub jobs: Option<u32>,

    /// Scale with the backlog between --minimum and --maximum workers.
    #[arg(long)]
    pub adapt: bool,

    /// Fewest workers in adaptive mode (example: --minimum 0).
    #[arg(long, default_value_t = 0)]
    pub minimum: u32,

    /// Most workers in adaptive mode (example: --maximum 20).
    #[arg(long, default_value_t = 10)]
    pub maximum: u32,

    /// Jobs allowed to wait in the queue at once (example: --max-pending-jobs 4).
    #[arg(long, env = "TESSERA_JOBQUEUE_MAX_PENDING", default_value_t = 4)]
    pub max_pending_jobs: u32,

    /// Time between adaptive decisions (example: 1s).
    #[arg(long, default_value = "1s", value_parser = duration_arg)]
    pub interval: Duration,

    /// Adaptive: scale down after this many consecutive decisions agree (example: 3).
    #[arg(long, default_value_t = 3)]
    pub wait_count: u32,

    /// Adaptive: ask for enough threads to clear the backlog in about this long (example: 5s).
    #[arg(long, default_value = "5s", value_parser = duration_arg)]
    pub target_duration: Duration,

    /// Time between batch status queries (example: 2s).
    #[arg(long, default_value = "2s", value_parser = duration_arg)]
    pub poll_interval: Duration,

    /// Stop submitting after this many consecutive failures (example: 5).
    #[arg(long, default_value_t = 5)]
    pub max_failures: u32,

    /// Cancel a retiring job whose workers have not left after this long (example: 60s).
    #[arg(long, default_value = "60s", value_parser = duration_arg)]
    pub retire_timeout: Duration,

    /// Listen on this host or IP (default 0.0.0.0; the scheduler file then names this host).
    #[arg(long, env = "TESSERA_HOST", default_value = "0.0.0.0")]
    pub host: String,

    /// Listen on this network interface's address and publish it (wins over --host;
    /// example: --interface ib0).
    #[arg(long, env = "TESSERA_INTERFACE")]
    pub interface: Option<String>,

    /// TCP port of the scheduler; 0 picks a free one (example: --port 8786).
    #[arg(long, env = "TESSERA_PORT", default_value_t = 0)]
    pub port: u16,

    /// Host or IP the jobs should connect to (default: this host's name).
    #[arg(long, env = "TESSERA_ADVERTISE_HOST")]
    pub advertise_host: Option<String>,

    /// Folder with the batch system's commands, searched before PATH (example: /opt/pbs/bin).
    #[arg(long, env = "TESSERA_JOBQUEUE_BIN_DIR", value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,

    /// Run the manager in this process instead of in the background.
    #[arg(long)]
    pub foreground: bool,

    /// Start the manager in the background but stay attached as the cluster's owner: Ctrl-C,
    /// or this command being killed (even with SIGKILL), cancels every job of the cluster.
    #[arg(long, conflicts_with = "foreground")]
    pub attach: bool,

    /// Stop the cluster (cancel its jobs) when this process exits (example: --owner-pid $$).
    #[arg(long, value_name = "PID")]
    pub owner_pid: Option<u32>,

    #[command(flatten)]
    pub dashboard: crate::cli::args::DashboardArgs,

    /// How long `up` waits for the manager to start (example: 60s).
    #[arg(long, default_value = "60s", value_parser = duration_arg)]
    pub timeout: Duration,
}

/// The running cluster to talk to.
#[derive(Debug, Args)]
pub struct ManagerArgs {
    /// Scheduler file of the cluster (example: ~/s.json).
    #[arg(long, env = "TESSERA_SCHEDULER_FILE", value_name = "PATH")]
    pub scheduler_file: PathBuf,

    /// How long to wait for the manager (example: 30s).
    #[arg(long, default_value = "30s", value_parser = duration_arg)]
    pub timeout: Duration,
}

/// `tessera jobqueue status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub manager: ManagerArgs,

    /// Output format (example: --output json).
    #[arg(long, value_enum, default_value = "human")]
    pub output: crate::cli::args::OutputFormat,
}

/// `tessera jobqueue scale N`, `scale --cores N`, `scale --memory SIZE`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("amount").required(true).args(["count", "cores", "memory"])))]
pub struct ScaleArgs {
    /// Workers to keep (jobs with --jobs).
    pub count: Option<u32>,

    /// Count jobs rather than workers.
    #[arg(long, requires = "count")]
    pub jobs: bool,

    /// Keep enough workers for this many cores in all: ⌈N / threads per worker⌉ workers
    /// (example: --cores 64).
    #[arg(long, value_name = "N")]
    pub cores: Option<u32>,

    /// Keep enough workers for this much worker memory in all: ⌈SIZE / memory per worker⌉
    /// workers (example: --memory 512GiB).
    #[arg(long, value_name = "SIZE", value_parser = size_arg)]
    pub memory: Option<ByteSize>,

    #[command(flatten)]
    pub manager: ManagerArgs,
}

/// `tessera jobqueue adapt`.
#[derive(Debug, Args)]
pub struct AdaptArgs {
    /// Fewest workers (example: --minimum 0).
    #[arg(long, default_value_t = 0)]
    pub minimum: u32,

    /// Most workers (example: --maximum 20).
    #[arg(long)]
    pub maximum: u32,

    #[command(flatten)]
    pub manager: ManagerArgs,
}

/// `tessera jobqueue serve` (internal).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The manager config written by `up`.
    #[arg(long, value_name = "PATH")]
    pub manager_config: PathBuf,
}

/// `tessera launch`: one process of an allocation takes a role from its rank.
#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// Scheduler file rank 0 writes and the others read (example: ~/s.json).
    #[arg(long, env = "TESSERA_SCHEDULER_FILE", value_name = "PATH")]
    pub scheduler_file: PathBuf,

    /// Run this shell command as rank 1 (the client); the cluster stops when it exits, with
    /// its exit status (example: --client-command 'python analysis.py').
    #[arg(long, value_name = "COMMAND")]
    pub client_command: Option<String>,

    /// Threads per worker (default: the cores given to the task; example: --nthreads 8).
    #[arg(long, env = "TESSERA_NTHREADS", value_parser = super::args::thread_count)]
    pub nthreads: Option<usize>,

    /// Memory per worker: bytes (4GiB), a fraction of the node (0.25), auto, or none.
    #[arg(long, env = "TESSERA_MEMORY_LIMIT", default_value = "auto")]
    pub memory_limit: String,

    /// Workers retire gracefully after this long (example: 55m).
    #[arg(long, env = "TESSERA_LIFETIME", value_parser = duration_arg)]
    pub lifetime: Option<Duration>,

    /// Listen on this network interface (example: --interface ib0).
    #[arg(long, env = "TESSERA_INTERFACE")]
    pub interface: Option<String>,

    /// How long workers wait for the scheduler file (example: 120s).
    #[arg(long, default_value = "120s", value_parser = duration_arg)]
    pub timeout: Duration,

    #[command(flatten)]
    pub spill: crate::cli::args::SpillArgs,

    /// The scheduler's web dashboard (rank 0).
    #[command(flatten)]
    pub dashboard: crate::cli::args::DashboardArgs,
}
