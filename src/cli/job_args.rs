//! Arguments of `tessera submit` and `tessera job …` (jobs of command tasks). This module only
//! describes arguments; the commands live in `commands/submit.rs` and `commands/job.rs`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::args::{ConnectArgs, OutputFormat};

use super::args::duration_arg;

fn env_arg(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?}: expected NAME=VALUE")),
    }
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// One task per index, both ends included, optional step (example: --array 1-1000,
    /// --array 0-99:10). `%{ARRAY_INDEX}` and TESSERA_ARRAY_INDEX hold the index.
    #[arg(long, conflicts_with_all = ["each_line", "each_file"])]
    pub array: Option<String>,

    /// One task per non-empty line of FILE; `%{ENTRY}` and TESSERA_ENTRY hold the line,
    /// `%{ARRAY_INDEX}` its number from 0 (example: --each-line params.txt).
    #[arg(long, value_name = "FILE", conflicts_with = "each_file")]
    pub each_line: Option<PathBuf>,

    /// One task per file matching the pattern (wildcards in the file name); `%{ENTRY}` holds
    /// the path (example: --each-file 'data/*.nc').
    #[arg(long, value_name = "GLOB")]
    pub each_file: Option<String>,

    /// CPUs each task uses (example: --cpus 4).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub cpus: u32,

    /// Memory each task needs; a worker runs tasks whose memory fits its --memory-limit
    /// (example: --memory 4GiB).
    #[arg(long)]
    pub memory: Option<String>,

    /// A named resource each task needs, offered by workers with --resource (example:
    /// --resource gpus=1); repeat for several.
    #[arg(long = "resource", value_name = "NAME=AMOUNT", value_parser = crate::core::resources::parse_generic)]
    pub resources: Vec<(String, u32)>,

    /// Pin each task's processes to the CPUs it was given.
    #[arg(long)]
    pub pin: bool,

    /// Kill a task's process group when it runs longer (example: --time-limit 10m).
    #[arg(long, value_parser = duration_arg, value_name = "DURATION")]
    pub time_limit: Option<Duration>,

    /// How long each task runs at most, as declared: tasks go to workers with at least this
    /// much walltime left while one exists (example: --time-request 30m).
    #[arg(long, value_parser = duration_arg, value_name = "DURATION")]
    pub time_request: Option<Duration>,

    /// Run a failing task again until it failed this many times (example: --max-fails 3).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_fails: u32,

    /// Start only after job JOB finished successfully; repeat for several.
    #[arg(long, value_name = "JOB")]
    pub after: Vec<u64>,

    /// Name shown by `tessera job list` (default: the program's name).
    #[arg(long)]
    pub name: Option<String>,

    /// Working directory of the tasks (default: the current directory).
    #[arg(long)]
    pub cwd: Option<PathBuf>,

    /// File each task's stdout goes to, relative to --cwd, with placeholders %{JOB_ID}
    /// %{TASK_ID} %{ARRAY_INDEX} %{ENTRY} %{WORKER}.
    #[arg(long, default_value = "tessera-jobs/%{JOB_ID}/%{TASK_ID}.stdout")]
    pub stdout: String,

    /// File each task's stderr goes to (placeholders as for --stdout).
    #[arg(long, default_value = "tessera-jobs/%{JOB_ID}/%{TASK_ID}.stderr")]
    pub stderr: String,

    /// File each task reads as stdin (default: none).
    #[arg(long)]
    pub stdin: Option<String>,

    /// An environment variable for the tasks (example: --env OMP_PROC_BIND=true); repeat.
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = env_arg)]
    pub env: Vec<(String, String)>,

    /// Wait for the job to end (progress on stderr); exit 4 when a task failed.
    #[arg(long)]
    pub wait: bool,

    /// Output format (example: --output json).
    #[arg(long, value_enum, default_value = "human")]
    pub output: OutputFormat,

    /// The program and its arguments, after `--` (placeholders allowed).
    #[arg(last = true, required = true, value_name = "PROGRAM")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct JobArgs {
    #[command(subcommand)]
    pub command: JobCommand,
}

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Jobs with their task counts by state.
    List(JobListArgs),
    /// One job: every task's state, exit code, worker, start and end.
    Info(JobOneArgs),
    /// Wait until jobs end (a progress bar on a terminal); exit 4 when a task failed.
    Wait(JobWaitArgs),
    /// Cancel a job's unfinished tasks.
    Cancel(JobOneArgs),
    /// Print the stdout (or stderr) files of a job's tasks, in task order.
    Output(JobOutputArgs),
    /// Submit a job's failed (and cancelled) tasks again as a new job, with the same command,
    /// resources and array indices.
    Resubmit(JobResubmitArgs),
}

#[derive(Debug, Args)]
pub struct JobResubmitArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The job id.
    pub job: u64,
    /// Take the failed and cancelled tasks (the only choice so far; required to say so).
    #[arg(long, required = true)]
    pub failed: bool,
    /// Wait for the new job to end (progress on stderr); exit 4 when a task failed.
    #[arg(long)]
    pub wait: bool,
    /// Output format (example: --output json).
    #[arg(long, value_enum, default_value = "human")]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct JobListArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Output format (example: --output json).
    #[arg(long, value_enum, default_value = "human")]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct JobOneArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The job id (`tessera job list`).
    pub job: u64,
    /// Output format (example: --output json).
    #[arg(long, value_enum, default_value = "human")]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct JobWaitArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The job ids.
    #[arg(required = true)]
    pub jobs: Vec<u64>,
    /// Output format (example: --output json).
    #[arg(long, value_enum, default_value = "human")]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct JobOutputArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The job id.
    pub job: u64,
    /// Only this task (its id from 0).
    #[arg(long)]
    pub task: Option<u64>,
    /// Print stderr instead of stdout.
    #[arg(long)]
    pub stderr: bool,
}
