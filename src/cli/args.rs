//! Command-line arguments (clap). Every flag has help with an example and, where it makes
//! sense, a `TESSERA_*` environment variable. Precedence: flags > environment > config file >
//! defaults. This module only describes arguments; the commands live in `commands/`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::units::{parse_duration, MemoryLimit, SizeCap, Threshold};

/// A duration flag's value (`90s`, `10m`, `2h`): the one parser of every duration flag.
pub(super) fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// A duration or `none` (an alias: clap would take a plain `Option` as "flag may be absent").
type DurationOrNone = Option<Duration>;

/// A duration, or `none` for never.
fn optional_duration_arg(s: &str) -> Result<DurationOrNone, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    duration_arg(s).map(Some)
}

fn memory_limit_arg(s: &str) -> Result<MemoryLimit, String> {
    s.parse::<MemoryLimit>().map_err(|e| e.to_string())
}

fn threshold_arg(s: &str) -> Result<Threshold, String> {
    s.parse::<Threshold>().map_err(|e| e.to_string())
}

fn size_cap_arg(s: &str) -> Result<SizeCap, String> {
    s.parse::<SizeCap>().map_err(|e| e.to_string())
}

/// Most threads one worker may run (far above any node's cores; a typo such as
/// 99999999999 must not start threads until the system refuses).
pub const MAX_THREADS: usize = 4096;

pub(crate) fn thread_count(s: &str) -> Result<usize, String> {
    match positive_usize(s)? {
        n if n > MAX_THREADS => Err(format!(
            "{n} threads is more than the {MAX_THREADS} a worker may run (example: 8)"
        )),
        n => Ok(n),
    }
}

/// A duration longer than zero.
fn positive_duration_arg(s: &str) -> Result<Duration, String> {
    match duration_arg(s)? {
        d if d.is_zero() => Err("must be longer than 0 (example: 60s)".into()),
        d => Ok(d),
    }
}

fn positive_usize(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a whole number (example: 4)")),
    }
}

const AFTER_HELP: &str = "\
Configuration: flags > TESSERA_* environment variables > config file > defaults.
The config file is --config PATH, $TESSERA_CONFIG, or ~/.config/tessera/tessera.toml, with a
[global] table and one table per command, keys named like the long flags:
    [worker]
    nthreads = 4
    memory-limit = \"16GiB\"

Exit codes: 0 success; 1 failure; 2 bad command line or input; 3 cannot reach or authenticate
with the scheduler (or stale scheduler file); 4 a task of the computation failed; 130 interrupted.

Examples:
    tessera demo                                   # a local cluster runs an array analysis
    tessera eval 'x = random((1000, 1000), chunks=100, seed=1); std(x)'
    tessera local --workers 2 --scheduler-file ~/s.json
    tessera scheduler --scheduler-file ~/s.json --interface ib0
    tessera worker --scheduler-file ~/s.json --nthreads 8
    mpirun -np 4 tessera mpi --scheduler-file ~/s.json --interface ib0 --transport mpi
    tessera worker --scheduler-file ~/s.json --memory-limit 16GiB --local-directory /local/$USER
    tessera info --scheduler-file ~/s.json --output json
    tessera shutdown --scheduler-file ~/s.json
    tessera jobqueue slurm up --scheduler-file ~/s.json --workers 20 --cores 8 --memory 32GiB
    srun tessera launch --scheduler-file ~/s.json";

/// Tessera: chunked n-dimensional array analyses on supercomputers.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Log filter: error, warn, info, debug, trace, or a tracing filter like
    /// `tessera=debug`. Logs go to stderr.
    #[arg(long, global = true, env = "TESSERA_LOG", default_value = "warn")]
    pub log: String,

    /// Read options from this TOML file (see below for the format).
    #[arg(long, global = true, env = "TESSERA_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scheduler that workers and clients find through a scheduler file.
    #[command(
        after_help = "Examples:\n    tessera scheduler --scheduler-file ~/s.json\n    tessera scheduler --scheduler-file ~/s.json --interface ib0 --port 8786\n\nThe file is written atomically with mode 0600 and removed on clean exit (Ctrl-C, SIGTERM,\n`tessera shutdown`). Exit code 0 after a clean shutdown."
    )]
    Scheduler(SchedulerArgs),
    /// Run a worker that connects to a scheduler.
    #[command(
        after_help = "Examples:\n    tessera worker --scheduler-file ~/s.json\n    srun tessera worker --scheduler-file ~/s.json --nthreads 8 --memory-limit auto --interface ib0\n\nThe worker waits up to --timeout for the scheduler file, then registers; it exits 0 when the\ncluster shuts down, non-zero if it loses the scheduler."
    )]
    Worker(WorkerArgs),
    /// Run a scheduler and workers on this machine until Ctrl-C or `tessera shutdown`.
    #[command(
        after_help = "Examples:\n    tessera local --workers 4 --nthreads 2 --scheduler-file ~/s.json\n    tessera info --scheduler-file ~/s.json      # from another shell\n    tessera shutdown --scheduler-file ~/s.json\n\nThe scheduler file appears once every worker has registered."
    )]
    Local(LocalArgs),
    /// Show workers, threads, memory and tasks of a running cluster.
    #[command(
        after_help = "Examples:\n    tessera info --scheduler-file ~/s.json\n    tessera info --scheduler-file ~/s.json --output json | jq '.workers | length'"
    )]
    Info(InfoArgs),
    /// Stop a running cluster: the scheduler and every worker exit with code 0.
    #[command(after_help = "Example:\n    tessera shutdown --scheduler-file ~/s.json")]
    Shutdown(ShutdownArgs),

    /// Print the URL of a cluster's web dashboard, with its access token.
    #[command(
        after_help = "Examples:\n    tessera dashboard --scheduler-file ~/s.json\n    tessera dashboard --scheduler-file ~/s.json --local-port 8787   # through an SSH tunnel\n\nThe token is derived from the cluster secret: treat the URL like the scheduler file. See\ndocs/dashboard.md for the SSH tunnel from a laptop."
    )]
    Dashboard(DashboardCommandArgs),

    /// A terminal view of a running cluster (workers, load, memory, tasks, rates),
    /// refreshed every second; usable over SSH. Reads the scheduler's dashboard.
    #[command(
        after_help = "Examples:\n    tessera top --scheduler-file ~/s.json\n    tessera top --scheduler-file ~/s.json --once    # one screen, then exit\n\nCtrl-C quits. Needs the scheduler's dashboard (not --no-dashboard)."
    )]
    Top(TopArgs),
    /// Evaluate a NumPy-like array program on a cluster and print or save the result.
    #[command(
        override_usage = "tessera eval [OPTIONS] <PROGRAM>\n       tessera eval [OPTIONS] -f <FILE>",
        after_help = "Examples:\n    tessera eval 'x = random((1000, 1000), chunks=(100, 100), seed=1); std(x)'\n    tessera eval 'mean(ones((4, 6), chunks=2) * 3, axis=0)' --output json\n    tessera eval --scheduler-file ~/s.json 'sum(arange(10**8, chunks=10**7))'\n    tessera eval 'random((4000, 4000), chunks=1000) + 1' -o big.npy\n    tessera eval 'mean(nc(\"in.nc\", \"t2m\"), \"time\")' -o out.nc:t2m_mean\n    tessera eval 't = h5(\"in.h5\", \"/t\"); t.mean(axis=0), t.std(axis=0)' -o stats.nc:mean -o stats.nc:std\n    tessera eval 'x = randn((1000, 100), seed=1); x.min(axis=0), x.max(axis=0)' -o lo.h5:/min -o hi.npy\n    tessera eval -f analysis.tsr -o out.nc:t2m_mean\n\nThe language is documented in docs/eval.md. Without --scheduler-file a local cluster of\n--local workers (default 2) runs in this process. Exit codes: 2 for a mistake in the program\n(syntax, names, shapes: one error with a caret on stderr), 4 when a task fails."
    )]
    Eval(EvalArgs),
    /// Start a local cluster, run an array analysis (or a task graph) with a progress bar,
    /// check the answer and print a summary.
    #[command(
        after_help = "Examples:\n    tessera demo\n    tessera demo --rows 40000 --cols 10000 --chunk 2000\n    tessera demo --workload tasks --workers 4 --tasks 1000000 --output json\n\nThe array workload: a seeded uniform random field, its column means, the anomalies from\nthem and the standard deviation of every column (tree reductions), checked against the\nclosed form (mean 1/2, standard deviation 1/sqrt(12)) and against a plain computation of a\nfew columns in this process."
    )]
    Demo(DemoArgs),
    /// Workers as batch jobs from a login node: print job scripts, start, scale, stop.
    Jobqueue(Box<crate::cli::jobqueue_args::JobqueueArgs>),
    /// Inside an allocation (`srun tessera launch`): rank 0 runs the scheduler, the others
    /// workers (rank 1 the client command, if given).
    Launch(crate::cli::jobqueue_args::LaunchArgs),
    /// Run a cluster inside `mpirun`: one rank runs the scheduler, the others are workers.
    Mpi(MpiArgs),
    /// Submit a job of command tasks (a program run once, or per array index, line or file).
    #[command(
        after_help = "Examples:\n    tessera submit --scheduler-file ~/s.json -- ./simulate --seed 1\n    tessera submit --scheduler-file ~/s.json --array 1-1000 --cpus 2 --time-limit 10m --max-fails 3 -- ./simulate --seed %{ARRAY_INDEX}\n    tessera submit --scheduler-file ~/s.json --each-file 'data/*.nc' -- python post.py %{ENTRY}\n\nPlaceholders: %{JOB_ID} %{TASK_ID} %{ARRAY_INDEX} %{ENTRY} %{WORKER}. Exit codes: 2 when the\njob is refused (nothing started), 4 with --wait when a task failed. See docs/commands.md."
    )]
    Submit(Box<crate::cli::job_args::SubmitArgs>),
    /// Jobs of command tasks: list, info, wait, cancel, output.
    Job(crate::cli::job_args::JobArgs),
}

/// Where to listen.
#[derive(Debug, Clone, Args)]
pub struct NetworkArgs {
    /// Listen on this host name or IP (example: --host 10.1.2.3, --host 0.0.0.0).
    #[arg(long, env = "TESSERA_HOST", conflicts_with = "interface")]
    pub host: Option<String>,

    /// Listen on this network interface's address (example: --interface ib0 for
    /// IP-over-InfiniBand, --interface eth0).
    #[arg(long, env = "TESSERA_INTERFACE")]
    pub interface: Option<String>,

    /// Publish this host name or IP to peers instead of the chosen address (example:
    /// --advertise-host login1.cluster.org); it must resolve. Under `tessera mpi` it applies
    /// to the scheduler rank.
    #[arg(long, env = "TESSERA_ADVERTISE_HOST", value_name = "HOST")]
    pub advertise_host: Option<String>,
}

/// The scheduler's web dashboard.
#[derive(Debug, Clone, Args)]
pub struct DashboardArgs {
    /// Where the web dashboard listens: PORT or :PORT (on the scheduler's address), or
    /// HOST:PORT (default: the scheduler's address, any free port; the scheduler file and
    /// `tessera dashboard` tell which). Example: --dashboard-address 8787.
    #[arg(long, env = "TESSERA_DASHBOARD_ADDRESS", value_parser = dashboard_address_arg,
          value_name = "ADDRESS")]
    pub dashboard_address: Option<crate::runtime::DashboardChoice>,

    /// Run no web dashboard (wins over --dashboard-address and its environment variable).
    #[arg(long)]
    pub no_dashboard: bool,
}

impl DashboardArgs {
    /// What these flags ask for.
    pub fn choice(&self) -> crate::runtime::DashboardChoice {
        match (self.no_dashboard, self.dashboard_address) {
            (true, _) => crate::runtime::DashboardChoice::Off,
            (false, Some(c)) => c,
            (false, None) => crate::runtime::DashboardChoice::Default,
        }
    }
}

fn dashboard_address_arg(s: &str) -> Result<crate::runtime::DashboardChoice, String> {
    use crate::runtime::DashboardChoice;
    use std::net::ToSocketAddrs;
    let port_only = s.strip_prefix(':').unwrap_or(s);
    if let Ok(port) = port_only.parse::<u16>() {
        return Ok(DashboardChoice::Port(port));
    }
    let bad = || format!("{s:?} is not PORT, :PORT or HOST:PORT (example: 8787, 127.0.0.1:8787)");
    match s.to_socket_addrs() {
        Ok(mut addresses) => addresses.next().map(DashboardChoice::At).ok_or_else(bad),
        Err(_) => Err(bad()),
    }
}

/// The scheduler to connect to.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Scheduler file written by the scheduler (example: --scheduler-file ~/s.json). It holds
    /// the address and the cluster secret; it must be on a filesystem both sides see.
    #[arg(long, env = "TESSERA_SCHEDULER_FILE", value_name = "PATH")]
    pub scheduler_file: PathBuf,

    /// How long to wait for the scheduler file to appear and the scheduler to answer
    /// (examples: 30s, 5m).
    #[arg(long, default_value = "60s", value_parser = duration_arg, value_name = "DURATION")]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Record jobs of command tasks in this file and, when it exists, resume its unfinished
    /// jobs without running finished tasks again. Example: --journal ~/tessera-journal
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,

    /// Write the scheduler file here (created atomically, mode 0600; removed on exit).
    /// Example: --scheduler-file ~/scheduler.json
    #[arg(long, env = "TESSERA_SCHEDULER_FILE", value_name = "PATH")]
    pub scheduler_file: PathBuf,

    #[command(flatten)]
    pub network: NetworkArgs,

    /// TCP port to listen on; 0 picks a free one (example: --port 8786).
    #[arg(long, env = "TESSERA_PORT", default_value_t = 0)]
    pub port: u16,

    /// Declare a worker dead after this long without a heartbeat (example: 60s).
    #[arg(long, default_value = "60s", value_parser = positive_duration_arg, value_name = "DURATION")]
    pub worker_timeout: Duration,

    /// When every worker has gone while tasks wait, tell the clients (`tessera eval` then
    /// exits 1) unless a worker joins within this long; `none` waits for ever. A cluster
    /// that never had a worker is not affected (example: 10m).
    #[arg(long, default_value = "60s", value_parser = optional_duration_arg, value_name = "DURATION")]
    pub no_workers_grace: DurationOrNone,

    /// Tasks given to a worker per thread before the rest wait at the scheduler (higher
    /// hides latency for tiny tasks; lower keeps memory down). Example: 2.
    #[arg(long, env = "TESSERA_SATURATION", default_value_t = 2.0)]
    pub saturation: f64,

    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Threads running tasks (default: the cores of this machine). Example: --nthreads 8.
    #[arg(long, env = "TESSERA_NTHREADS", value_parser = thread_count)]
    pub nthreads: Option<usize>,

    /// Memory this worker may use: bytes (4GiB, 4GB, 4e9), a fraction of the node (0.25),
    /// auto (the node's memory, capped by the cgroup limit, divided by the MPI ranks on the
    /// node) or none (never spill; 0 means the same, as in Dask). A number without a unit
    /// above 1 must be whole bytes (1.5 is refused). Example: --memory-limit 16GiB.
    #[arg(long, env = "TESSERA_MEMORY_LIMIT", default_value = "auto", value_parser = memory_limit_arg)]
    pub memory_limit: MemoryLimit,

    /// Name shown by `tessera info` (default: host:pid). Example: --name rank-3.
    #[arg(long)]
    pub name: Option<String>,

    /// A named resource this worker offers to tasks, handed out by index (tasks asking for
    /// `gpus` get `CUDA_VISIBLE_DEVICES`); repeat for several. Example: --resource gpus=4.
    #[arg(long = "resource", value_name = "NAME=AMOUNT", value_parser = crate::core::resources::parse_generic)]
    pub resources: Vec<(String, u32)>,

    /// Retire gracefully after this long: stop taking tasks, hand results to other workers,
    /// exit (job scripts set it to the walltime minus a margin). Example: --lifetime 55m.
    #[arg(long, env = "TESSERA_LIFETIME", value_parser = duration_arg, value_name = "DURATION")]
    pub lifetime: Option<Duration>,

    /// How long a retiring worker (lifetime reached, or SIGTERM) waits for its results to be
    /// handed over before it stops anyway. Example: 60s.
    #[arg(long, default_value = "60s", value_parser = duration_arg, value_name = "DURATION")]
    pub retire_timeout: Duration,

    #[command(flatten)]
    pub spill: SpillArgs,

    #[command(flatten)]
    pub network: NetworkArgs,
}

#[derive(Debug, Args)]
pub struct LocalArgs {
    /// Number of workers (example: --workers 4).
    #[arg(long, env = "TESSERA_WORKERS", default_value_t = 2, value_parser = positive_usize)]
    pub workers: usize,

    /// Threads per worker (example: --nthreads 1).
    #[arg(long, env = "TESSERA_NTHREADS", default_value_t = 1, value_parser = thread_count)]
    pub nthreads: usize,

    /// Run workers as threads of this process instead of separate processes.
    #[arg(long)]
    pub threads: bool,

    /// Also write a scheduler file so other processes can connect (example: ~/s.json).
    #[arg(long, env = "TESSERA_SCHEDULER_FILE", value_name = "PATH")]
    pub scheduler_file: Option<PathBuf>,

    /// Memory per worker: bytes (4GiB), a fraction of the node (0.25), auto (the node's
    /// memory, capped by the cgroup limit, divided by --workers), or none (never spill; 0
    /// means the same).
    #[arg(long, env = "TESSERA_MEMORY_LIMIT", default_value = "auto", value_parser = memory_limit_arg)]
    pub memory_limit: MemoryLimit,

    #[command(flatten)]
    pub spill: SpillArgs,

    /// Listen on this host (default 127.0.0.1: only this machine can connect).
    #[arg(long, env = "TESSERA_HOST", default_value = "127.0.0.1")]
    pub host: String,

    /// TCP port for the scheduler; 0 picks a free one.
    #[arg(long, env = "TESSERA_PORT", default_value_t = 0)]
    pub port: u16,

    #[command(flatten)]
    pub dashboard: DashboardArgs,
}

/// Memory thresholds and spilling of a worker (docs/memory.md). Thresholds are fractions of
/// --memory-limit; `none` disables one.
#[derive(Debug, Clone, Args)]
pub struct SpillArgs {
    /// Spill the least recently used chunks to disk when the worker's stored chunks exceed
    /// this fraction of --memory-limit. Example: --memory-target 0.5 (or none).
    #[arg(long, env = "TESSERA_MEMORY_TARGET", default_value = "0.6", value_parser = threshold_arg, value_name = "FRACTION")]
    pub memory_target: Threshold,

    /// Spill chunks when the worker process's memory (RSS) exceeds this fraction, until it is
    /// back under the target. Example: --memory-spill 0.7 (or none).
    #[arg(long, env = "TESSERA_MEMORY_SPILL", default_value = "0.7", value_parser = threshold_arg, value_name = "FRACTION")]
    pub memory_spill: Threshold,

    /// Start no new task (and get none from the scheduler) while the worker's memory exceeds
    /// this fraction. Example: --memory-pause 0.8 (or none).
    #[arg(long, env = "TESSERA_MEMORY_PAUSE", default_value = "0.8", value_parser = threshold_arg, value_name = "FRACTION")]
    pub memory_pause: Threshold,

    /// Stop the worker (its work is rescheduled elsewhere) when its memory exceeds this
    /// fraction. Example: --memory-terminate 0.95 (or none).
    #[arg(long, env = "TESSERA_MEMORY_TERMINATE", default_value = "0.95", value_parser = threshold_arg, value_name = "FRACTION")]
    pub memory_terminate: Threshold,

    /// Most bytes of spilled chunks the worker may keep on disk; beyond it chunks stay in
    /// memory. Example: --max-spill 200GiB (default none: the disk's size).
    #[arg(long, env = "TESSERA_MAX_SPILL", default_value = "none", value_parser = size_cap_arg, value_name = "SIZE")]
    pub max_spill: SizeCap,

    /// Stop the worker (its work moves to other workers) when it has been paused this long
    /// with spilling impossible (spill directory full, read-only or deleted) and no chunk
    /// freed. Example: --disk-full-timeout 5m (or none).
    #[arg(long, env = "TESSERA_DISK_FULL_TIMEOUT", default_value = "60s", value_parser = optional_duration_arg, value_name = "DURATION")]
    pub disk_full_timeout: DurationOrNone,

    /// Directory for spill files, on node-local disk, never a shared filesystem (default:
    /// $TMPDIR, else /tmp). Example: --local-directory /local/scratch/$USER.
    #[arg(long, env = "TESSERA_LOCAL_DIRECTORY", value_name = "PATH")]
    pub local_directory: Option<PathBuf>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Readable text.
    Human,
    /// One JSON document on stdout.
    Json,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Output format (example: --output json).
    #[arg(long, value_enum, default_value = "human")]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct DashboardCommandArgs {
    /// The cluster's scheduler file (example: --scheduler-file ~/s.json).
    #[arg(long, env = "TESSERA_SCHEDULER_FILE", value_name = "PATH")]
    pub scheduler_file: PathBuf,

    /// Print the URL for a tunnel ending on this port of this machine instead
    /// (http://localhost:PORT/...; example: --local-port 8787 with `ssh -L 8787:NODE:PORT`).
    #[arg(long, value_name = "PORT")]
    pub local_port: Option<u16>,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    /// The cluster's scheduler file (example: --scheduler-file ~/s.json).
    #[arg(long, env = "TESSERA_SCHEDULER_FILE", value_name = "PATH")]
    pub scheduler_file: PathBuf,

    /// Time between two screens (example: 2s).
    #[arg(long, default_value = "1s", value_parser = duration_arg, value_name = "DURATION")]
    pub interval: Duration,

    /// Print one screen and exit (for scripts and logs).
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args)]
pub struct ShutdownArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The program: `;`- or newline-separated `name = expr` bindings, then the result
    /// expression (example: 'x = random((1000, 1000), chunks=100, seed=1); std(x)').
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub program: Option<String>,

    /// Read the program from this file instead (`-` for stdin): one statement per line or
    /// `;`-separated, `#` comments; errors name the file and line (example: -f analysis.tsr).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Evaluate on the running cluster of this scheduler file instead of a local one
    /// (example: --scheduler-file ~/s.json).
    #[arg(long, env = "TESSERA_SCHEDULER_FILE", value_name = "PATH")]
    pub scheduler_file: Option<PathBuf>,

    /// Start a local cluster of N workers (threads of this process) for this evaluation;
    /// the default when no scheduler file is given is 2 (example: --local 4). Wins over a
    /// scheduler file from the environment.
    #[arg(long, env = "TESSERA_EVAL_LOCAL", value_name = "N", value_parser = positive_usize)]
    pub local: Option<usize>,

    /// Threads per local worker (example: --nthreads 2).
    #[arg(long, env = "TESSERA_NTHREADS", default_value_t = 1, value_parser = thread_count)]
    pub nthreads: usize,

    /// Write the result to a file instead of printing it: FILE.npy (NumPy), FILE.nc:VAR
    /// (NetCDF-4 variable; in groups: FILE.nc:/grp/var) or FILE.h5:/DSET (HDF5 dataset).
    /// Repeatable: a program ending with several results (`m, s` or `[m, s]`) writes them to
    /// the -o targets in order, computed together (shared work runs once); targets in one
    /// file become variables of that file. Examples: -o result.npy; -o clim.nc:t2m;
    /// -o stats.nc:mean -o stats.nc:std; -o out.h5:/grp/mean -o std.npy.
    #[arg(short = 'o', long = "out", value_name = "FILE[:VAR]")]
    pub out: Vec<PathBuf>,

    /// Replace output files that exist already; without it, an existing -o file is an error
    /// and nothing is computed or written (example: --overwrite).
    #[arg(long)]
    pub overwrite: bool,

    /// How to print the result: human (shape, dtype, values) or json
    /// ({"shape":[...],"dtype":"f64","data":[...]}, NaN and infinities as "nan", "inf", "-inf")
    /// (example: --output json).
    #[arg(long, env = "TESSERA_OUTPUT", value_enum, default_value = "human")]
    pub output: OutputFormat,

    /// No progress bar (it is also hidden when stderr is not a terminal).
    #[arg(long, short = 'q', env = "TESSERA_QUIET")]
    pub quiet: bool,

    /// Also write a performance report here: one HTML file that opens offline (task stream,
    /// time per task prefix, workers, memory over time, the program). Example:
    /// --report report.html.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Largest result, in elements, printed to stdout; a larger one needs -o
    /// (example: --max-print 1000000).
    #[arg(long, env = "TESSERA_MAX_PRINT", default_value_t = 10_000)]
    pub max_print: usize,

    /// How long to wait for the scheduler file and the scheduler (examples: 30s, 5m).
    #[arg(long, default_value = "60s", value_parser = duration_arg, value_name = "DURATION")]
    pub timeout: Duration,
}

/// The workloads of `tessera demo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DemoWorkload {
    /// A chunked array analysis with tree reductions.
    Array,
    /// A task graph of `inc` leaves summed by a tree of `add` tasks.
    Tasks,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Worker processes (example: --workers 2).
    #[arg(long, default_value_t = 2, value_parser = positive_usize)]
    pub workers: usize,

    /// Threads per worker.
    #[arg(long, default_value_t = 1, value_parser = thread_count)]
    pub nthreads: usize,

    /// What to run: an array analysis, or a plain task graph (map + tree reduction).
    #[arg(long, value_enum, default_value = "array")]
    pub workload: DemoWorkload,

    /// Rows of the random field of the array workload (example: --rows 40000).
    #[arg(long, default_value_t = 20_000, value_parser = positive_usize)]
    pub rows: usize,

    /// Columns of the random field of the array workload (example: --cols 10000).
    #[arg(long, default_value_t = 5_000, value_parser = positive_usize)]
    pub cols: usize,

    /// Chunk edge of the array workload: chunks are CHUNK x CHUNK (example: --chunk 2000).
    #[arg(long, default_value_t = 1_000, value_parser = positive_usize)]
    pub chunk: usize,

    /// Seed of the random field (example: --seed 7).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Leaf tasks of the task workload (the whole graph has about 8/7 as many tasks).
    #[arg(long, default_value_t = 200_000, value_parser = positive_usize)]
    pub tasks: usize,

    /// Output format of the summary.
    #[arg(long, value_enum, default_value = "human")]
    pub output: OutputFormat,
}

/// Which transport carries chunk data between workers and clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportArg {
    /// TCP on the interface chosen with --interface/--host.
    Tcp,
    /// MPI point-to-point messages between the ranks (the fabric's RDMA path on InfiniBand,
    /// Omni-Path or Slingshot); clients outside the MPI job still use TCP.
    Mpi,
}

#[derive(Debug, Args)]
pub struct MpiArgs {
    /// Also publish the cluster in this scheduler file, once every worker rank has registered,
    /// for clients outside the MPI job (example: --scheduler-file ~/scheduler.json).
    #[arg(long, env = "TESSERA_SCHEDULER_FILE", value_name = "PATH")]
    pub scheduler_file: Option<PathBuf>,

    /// Threads running tasks per worker rank (default: the node's cores divided by the ranks
    /// on the node). Example: --nthreads 8.
    #[arg(long, env = "TESSERA_NTHREADS", value_parser = thread_count)]
    pub nthreads: Option<usize>,

    /// Memory per worker rank: bytes (4GiB), a fraction of the node (0.25), auto (the node's
    /// memory, capped by the job's cgroup limit, divided by the ranks on the node) or none
    /// (0 means the same).
    #[arg(long, env = "TESSERA_MEMORY_LIMIT", default_value = "auto", value_parser = memory_limit_arg)]
    pub memory_limit: MemoryLimit,

    /// Node-local directory for worker scratch and spill files; each rank uses
    /// DIR/tessera-rank-<r> (example: --local-directory $TMPDIR).
    #[arg(long, env = "TESSERA_LOCAL_DIRECTORY", value_name = "DIR")]
    pub local_directory: Option<PathBuf>,

    #[command(flatten)]
    pub network: NetworkArgs,

    /// The scheduler's TCP port; 0 picks a free one (example: --port 8786).
    #[arg(long, env = "TESSERA_PORT", default_value_t = 0)]
    pub port: u16,

    /// Transport of chunk data between workers and the client (example: --transport mpi).
    /// The scheduler always talks TCP.
    #[arg(long, env = "TESSERA_TRANSPORT", value_enum, default_value = "tcp")]
    pub transport: TransportArg,

    /// The rank that runs the scheduler; every other rank is a worker (example: 0).
    #[arg(long, env = "TESSERA_SCHEDULER_RANK", default_value_t = 0)]
    pub scheduler_rank: u32,

    /// Declare a worker dead after this long without a heartbeat (example: 60s). A dead
    /// worker rank ends the run.
    #[arg(long, default_value = "60s", value_parser = positive_duration_arg, value_name = "DURATION")]
    pub worker_timeout: Duration,

    /// How long the scheduler waits for every worker rank to register before publishing the
    /// scheduler file anyway (example: 2m).
    #[arg(long, default_value = "120s", value_parser = duration_arg, value_name = "DURATION")]
    pub startup_timeout: Duration,

    #[command(flatten)]
    pub dashboard: DashboardArgs,
}
